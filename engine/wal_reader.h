/*
 * wal_reader.h - reads back the records of a framed-record log (a WAL
 * segment or a MANIFEST; grammar and recovery rules in wal_format.h).
 *
 * The file is read through the env in chunks (WAL_READ_CHUNK, or one
 * record when a record is larger), so memory stays near the largest record
 * whatever the file size. The file is assumed not to shrink while it is
 * read; bytes appended after wal_reader_new() are not seen.
 *
 * Damage handling:
 *   - a torn tail (partial or damaged last record, trailing zeros) ends the
 *     log normally; one line is logged:
 *       lsm: dropped torn tail of 'NAME' at offset N (K bytes)
 *   - a damaged record followed by a good one is corruption:
 *       lsm: corrupt record in 'NAME' at offset N: WHY
 *     STRICT mode: wal_reader_next() returns -EIO, and keeps returning it;
 *     wal_reader_offset() is N. SKIP mode: the line ends with
 *     "; skipped K bytes", the reader resumes at the next good record.
 * NAME is the file's base name. Because resynchronisation looks for any
 * offset where a complete record verifies, a payload that itself contains a
 * well-formed record (say, a WAL stored as a value) can in rare cases be
 * taken for one after damage; callers that can should check records for
 * sanity (WAL replay: batch sequence numbers must increase).
 *
 * Not thread-safe: one thread at a time.
 */
#ifndef LSM_WAL_READER_H
#define LSM_WAL_READER_H

#include <stdint.h>
#include <stdio.h>

#include "slice.h"

struct lsm_env;
struct wal_reader;

/* Bytes read from the file at a time. */
#define WAL_READ_CHUNK (256u << 10)

/*
 * Opens path through env and checks its 8-byte magic. recovery_mode is an
 * enum lsm_wal_recovery (lsm.h). Returns -ENOENT when path is missing,
 * -EIO (logged) when a file of at least 8 bytes has another magic, another
 * env error, or 0 with *out owning the reader. A file shorter than the magic
 * is an empty log (a non-empty one is logged as a dropped torn tail).
 */
int wal_reader_new(struct lsm_env *env, const char *path, const char magic[8],
		   int recovery_mode, struct wal_reader **out);

/*
 * Reads the next good record. Returns 1 with *type and *payload set (the
 * payload points into the reader and stays valid until the next call), 0 at
 * the end of the log (including after a dropped torn tail), or a negative
 * errno: -EIO for corruption in STRICT mode or a read error. Errors are
 * sticky.
 */
int wal_reader_next(struct wal_reader *r, uint8_t *type, struct slice *payload);

/* File offset of the record last returned by wal_reader_next(); after it
 * returned -EIO for corruption, the offset of the damaged record. */
uint64_t wal_reader_offset(const struct wal_reader *r);

/* Bytes dropped so far: a torn tail plus everything skipped in SKIP mode. */
uint64_t wal_reader_dropped_bytes(const struct wal_reader *r);

/* Closes the file and frees r. NULL is a no-op. */
void wal_reader_free(struct wal_reader *r);

/*
 * Prints every record of the WAL segment at path (magic WAL_MAGIC) to out:
 * offset, length and type of each record and, for batch records, each
 * entry's sequence number, type, key (non-printable bytes as \xNN) and
 * value length. Damage is reported in the output (and logged). Returns 0,
 * -EIO on corruption (after printing everything before it, STRICT mode), or
 * the error of opening the file (-ENOENT when missing). Implemented in
 * wal_dump.c for tools/lsm-dump-wal.
 */
int wal_dump(struct lsm_env *env, const char *path, FILE *out);

#endif
