/*
 * filename.h - the files of a store directory and how they are named.
 *
 *   LOCK              held (flock) while a process has the store open
 *   CURRENT           one line: the name of the live MANIFEST, replaced by
 *                     atomic rename
 *   MANIFEST-NNNNNN   the version edit log (manifest_format.h)
 *   NNNNNN.wal        a write-ahead log segment (wal_format.h)
 *   NNNNNN.sst        a sorted table (sst_format.h)
 *   *.tmp             a file being written; removed on open
 *
 * File numbers come from one counter in the version set and are never reused.
 */
#ifndef LSM_FILENAME_H
#define LSM_FILENAME_H

#include <stdint.h>

enum file_kind {
	FILE_UNKNOWN = 0,
	FILE_LOCK,
	FILE_CURRENT,
	FILE_MANIFEST,
	FILE_WAL,
	FILE_SST,
	FILE_TEMP,
};

#define FILENAME_MAX_LEN 4096

/* Each writes "dir/NAME" into out (FILENAME_MAX_LEN bytes) and returns out. */
char *filename_sst(char *out, const char *dir, uint64_t number);
char *filename_wal(char *out, const char *dir, uint64_t number);
char *filename_manifest(char *out, const char *dir, uint64_t number);
char *filename_current(char *out, const char *dir);
char *filename_lock(char *out, const char *dir);

/* Classifies a bare file name; fills *number for numbered kinds. */
enum file_kind filename_parse(const char *name, uint64_t *number);

#endif
