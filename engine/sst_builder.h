/*
 * sst_builder.h - writes one SSTable (grammar in sst_format.h) from entries
 * given in strictly increasing internal-key order, and the table properties
 * shared with sst_reader.h.
 *
 * The table is written to PATH.tmp; sst_builder_finish() appends the filter,
 * index and properties blocks and the footer, fsyncs, renames the file to
 * PATH and fsyncs the directory, so PATH either does not exist or is a
 * complete table. Errors are sticky: the first one is kept and every later
 * call (finish included) returns it. sst_builder_free() of an unfinished
 * builder deletes PATH.tmp.
 *
 * Not thread-safe: a builder belongs to one flush or compaction.
 */
#ifndef LSM_SST_BUILDER_H
#define LSM_SST_BUILDER_H

#include <stdint.h>

#include "buf.h"
#include "slice.h"

struct lsm_env;
struct lsm_options;
struct sst_builder;

/* What a table holds; stored in its properties block. */
struct sst_props {
	uint64_t entries, tombstones;
	uint64_t raw_key_bytes; /* internal keys, before prefix compression */
	uint64_t raw_value_bytes;
	uint64_t data_blocks;
	uint64_t raw_data_bytes;    /* data blocks before compression */
	uint64_t stored_data_bytes; /* data blocks on disk, trailers included */
	uint64_t file_size;         /* the whole file (not stored: measured) */
	uint64_t min_seq, max_seq;  /* 0, 0 for an empty table */
	uint64_t created_unix;
	uint32_t bloom_bits_per_key;  /* 0: the table has no filter */
	uint32_t compression;         /* enum lsm_compression of the writer */
	uint32_t reason;              /* enum sst_reason */
	struct buf smallest, largest; /* internal keys; empty when no entries */
};

/* Frees smallest/largest; the struct may be reused. */
void sst_props_release(struct sst_props *p);

/* Deep copy of src into dst (dst need not be initialized; release it).
 * Returns 0 or -ENOMEM (dst then holds nothing to release). */
int sst_props_copy(struct sst_props *dst, const struct sst_props *src);

/*
 * Starts a table at path (written as path.tmp until finished) with
 * opt->block_size, opt->compression, opt->compression_level and
 * opt->bloom_bits_per_key. reason is SST_REASON_FLUSH or
 * SST_REASON_COMPACTION. Returns 0 and *out, or -errno from creating
 * path.tmp, -ENOMEM, -EINVAL.
 */
int sst_builder_new(struct lsm_env *env, const struct lsm_options *opt,
		    const char *path, uint32_t reason,
		    struct sst_builder **out);

/* Adds an entry: ikey (a well-formed internal key) must sort strictly after
 * the previous one (ikey_cmp); value is empty for tombstones. Returns 0,
 * -EINVAL for a key out of order or malformed, or the I/O error of writing a
 * full block. Sticky. */
int sst_builder_add(struct sst_builder *b, struct slice ikey,
		    struct slice value);

uint64_t sst_builder_entries(const struct sst_builder *b);

/* Bytes written so far plus the open block: used to split compaction
 * output. */
uint64_t sst_builder_file_size(const struct sst_builder *b);

/* Keys plus values added so far, before prefix and block compression: also
 * used to split compaction output, so that highly compressible entries do
 * not pile up in one small file that every later compaction rewrites. */
uint64_t sst_builder_raw_size(const struct sst_builder *b);

/* Writes filter/index/props/footer, syncs, renames into place, syncs the
 * directory. On success fills *props when non-NULL (the caller releases it).
 * A table with no entries is valid. Returns 0 or the first error. */
int sst_builder_finish(struct sst_builder *b, struct sst_props *props);

/* Frees b; if not finished, deletes path.tmp. NULL is a no-op. */
void sst_builder_free(struct sst_builder *b);

#endif
