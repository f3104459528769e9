/*
 * block_builder.h - builds one data or index block of an SSTable: entries
 * with prefix-compressed keys and a restart array (grammar in sst_format.h).
 *
 * Invariant: keys are added in strictly increasing order (the caller checks;
 * the builder only compresses). Between block_builder_finish() and
 * block_builder_reset() the builder accepts no entries.
 * Not thread-safe: a builder belongs to one sst_builder.
 */
#ifndef LSM_BLOCK_BUILDER_H
#define LSM_BLOCK_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "slice.h"

struct block_builder {
	struct buf data; /* entries so far (then the trailer once finished) */
	struct buf last_key; /* the previous key, for prefix compression */
	struct buf restarts; /* u32 offsets of restart points, host order */
	int restart_interval;
	int counter; /* entries since the last restart point */
	uint32_t nentries;
	bool finished;
};

/* Starts an empty block; restart_interval >= 1 (SST_RESTART_INTERVAL). */
void block_builder_init(struct block_builder *b, int restart_interval);

/* Adds an entry. Returns 0, -ENOMEM, or -EINVAL when the key or value does
 * not fit a varint32 length or the block is finished. */
int block_builder_add(struct block_builder *b, struct slice key,
		      struct slice value);

/* Appends the restart array and returns the whole block in *out, valid
 * until the next reset/release. Returns 0 or -ENOMEM. */
int block_builder_finish(struct block_builder *b, struct slice *out);

/* The size the block would have if finished now. */
size_t block_builder_size_estimate(const struct block_builder *b);

static inline bool block_builder_empty(const struct block_builder *b)
{
	return b->nentries == 0;
}

/* Empties the block, keeping allocations for the next one. */
void block_builder_reset(struct block_builder *b);

/* Frees the buffers. */
void block_builder_release(struct block_builder *b);

#endif
