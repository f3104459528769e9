/*
 * sst_reader.h - reads one SSTable (grammar in sst_format.h): point lookups
 * through the bloom filter and index, two-level iterators, verification and
 * a human-readable dump.
 *
 * Opening reads and checks the footer, the properties, the index and the
 * filter, and keeps them in memory; data blocks are read on demand, through
 * the block cache when there is one. Every block's CRC is checked before its
 * bytes are used: a corrupt block fails with -EIO and one log line
 *   corrupt block in 'NNNNNN.sst' at offset OFF: WHY
 * and never yields data.
 *
 * Thread safety: after sst_reader_open() a reader is immutable; any number of
 * threads may call get, iter_new, props and verify at once. Each iterator
 * belongs to one thread at a time. The reader must outlive its iterators.
 */
#ifndef LSM_SST_READER_H
#define LSM_SST_READER_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "iterator.h"
#include "slice.h"
#include "sst_builder.h"
#include "sst_format.h"

struct lsm_env;
struct env_rfile;
struct block_cache;
struct sst_reader;

/* Read-path counters, shared by the readers of a table cache; updated with
 * __atomic adds (read them with __atomic loads). */
struct sst_counters {
	uint64_t bloom_checks; /* lookups that consulted a filter */
	uint64_t bloom_useful; /* ... and were answered "absent" by it */
	uint64_t blocks_read;  /* blocks read from disk (cache misses) */
	uint64_t bytes_read;   /* their stored bytes, trailers included */
};

/*
 * Opens the table at path. number is its file number (the block cache key;
 * 0 for a reader outside a store, which then gets a fresh cache id). cache
 * and counters may be NULL and are borrowed: they must outlive the reader.
 * Returns 0 and *out, -errno from opening or reading the file, -ENOMEM, or
 * -EIO (with a log line naming the file and offset) on any corruption of the
 * footer, properties, index or filter, or a truncated file.
 */
int sst_reader_open(struct lsm_env *env, const char *path, uint64_t number,
		    struct block_cache *cache, struct sst_counters *counters,
		    struct sst_reader **out);

/*
 * From now on random accesses, sst_reader_get() and the block an iterator's
 * seek lands in, copy their data blocks out of a mapping of the file, when
 * the env can map (env.h, rfile_map): a pread(2) per block was the largest
 * cost of a point read after decompression here (a system call costs
 * microseconds in a VM). The blocks an iterator walks into from there,
 * and compaction's, keep coming by pread: a scan of a whole table through
 * the mapping would count every page of it in the process's resident
 * memory (it doubled the peak RSS of a mount creating 1M files,
 * BENCHMARKS.md). Without a mapping (none in the env, or mmap failed) all
 * reads stay preads. Call before r is shared between threads.
 */
void sst_reader_map(struct sst_reader *r);

/* Closes the file and frees r. NULL is a no-op. */
void sst_reader_free(struct sst_reader *r);

/* The table's properties (file_size measured at open); valid while r is. */
const struct sst_props *sst_reader_props(const struct sst_reader *r);

/*
 * Looks up the newest entry for ukey with sequence <= seq. Consults the bloom
 * filter first, then the index, then reads one data block (through the cache).
 * Returns LOOKUP_FOUND with a malloc()ed, NUL-terminated copy in *val (*vlen
 * excludes the NUL), LOOKUP_DELETED for a tombstone, LOOKUP_NOT_FOUND, or
 * -EIO / -ENOMEM / the read's -errno. val may be NULL to learn only the
 * result (then nothing is copied).
 */
int sst_reader_get(struct sst_reader *r, struct slice ukey, uint64_t seq,
		   char **val, size_t *vlen);

/* A two-level iterator (index -> data block) over every entry; it holds a
 * cache handle only for its current block. Returns 0 or -ENOMEM. */
int sst_reader_iter_new(struct sst_reader *r, struct iter **out);

/*
 * sst_dump.c: reads every block straight from the file (not the cache) and
 * checks checksums, decoding, key order inside and across blocks, index
 * separators, block layout, the filter (no false negatives) and that the
 * properties match the entries. Writes one line per problem, naming the file
 * and offset, to report (may be NULL); corrupt blocks are also logged.
 * Returns 0 when clean, -EIO when not, or another -errno when it could not
 * read.
 */
int sst_reader_verify(struct sst_reader *r, FILE *report);

/*
 * sst_dump.c: prints the table at path to out: the footer, every block
 * (offset, stored and raw size, compression, crc ok), every entry (escaped
 * user key, seq, type, value length) and the properties. Goes on past
 * corrupt blocks where it can. Returns 0, or -EIO on corruption after
 * printing what it could, or the -errno of opening the file.
 */
int sst_dump(struct lsm_env *env, const char *path, FILE *out);

/* ---- internals shared by sst_reader.c, sst_dump.c and tests ---- */

/* Reads and checks the footer of a file of file_size bytes; name labels log
 * lines. Returns 0 or -EIO (logged) or the read's -errno. */
int sst_read_footer(struct lsm_env *env, struct env_rfile *f, const char *name,
		    uint64_t file_size, struct sst_footer *out);

/* Reads block h (contents and trailer; h must end before limit), checks its
 * crc and decompresses it: out receives the raw contents, *type (may be NULL)
 * the stored compression type. Returns 0, -EIO (logged, and *why, when why
 * is not NULL, set to a static description) or the read's -errno. */
int sst_read_block(struct lsm_env *env, struct env_rfile *f, const char *name,
		   struct sst_handle h, uint64_t limit, struct buf *out,
		   uint8_t *type, const char **why);

/* Decodes a properties block into *out (zeroed first; release it). Returns 0
 * or -EIO with *why set to a static description. */
int sst_props_decode(struct slice data, struct sst_props *out,
		     const char **why);

/* The last path component, for log lines. */
const char *sst_basename(const char *path);

/* What an open reader holds, for the verifier in sst_dump.c; every pointer
 * is valid while the reader is. */
struct sst_reader_parts {
	struct lsm_env *env;
	struct env_rfile *file;
	const char *name; /* basename */
	struct sst_footer footer;
	uint64_t data_end;   /* data blocks, trailers included, end here */
	struct slice index;  /* raw index block */
	struct slice filter; /* raw filter block; empty when none */
	const struct sst_props *props;
};

void sst_reader_parts(const struct sst_reader *r, struct sst_reader_parts *out);

#endif
