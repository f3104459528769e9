/*
 * block_iter.h - an iterator over one decoded data or index block (grammar in
 * sst_format.h): entries in ikey_cmp order, binary search over restart points
 * for seek, a rescan from the previous restart point for prev.
 *
 * The block's bytes are borrowed: they must stay unchanged and alive while
 * the iterator points into them. A malformed block (bad trailer, entry running
 * past the restart array, key shorter than an internal key) makes the
 * iterator invalid with status -EIO and logs
 *   corrupt block in 'FILE' at offset OFF: WHY
 * once, naming the label and block offset given at init.
 *
 * A struct block_iter is usually embedded (in a table iterator): its
 * struct iter base is then released with block_iter_release(), and iter_free()
 * on it only releases. block_iter_new() makes a heap one that iter_free()
 * frees. One thread at a time.
 */
#ifndef LSM_BLOCK_ITER_H
#define LSM_BLOCK_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "iterator.h"
#include "slice.h"

struct block_iter {
	struct iter base;
	const char *data;
	uint32_t restarts; /* offset of the restart array: end of entries */
	uint32_t nrestarts;
	uint32_t current;  /* offset of the current entry; restarts = invalid */
	uint32_t next_off; /* offset just past the current entry */
	uint32_t restart_index; /* restart block holding current */
	struct buf key;
	struct slice value;
	int status;
	bool owned;         /* iter_free() frees the struct too */
	const char *file;   /* label for log lines; borrowed */
	uint64_t block_off; /* offset of the block in its file, for log lines */
};

/*
 * Points it at the block data[0..size). file (borrowed, may be NULL) and
 * block_off only label log lines. Returns 0, or -EIO when the trailer is
 * malformed (the iterator is then invalid with that status). The iterator
 * starts unpositioned (invalid). May be called again on an initialized
 * iterator to move it to another block (reusing its key buffer).
 */
int block_iter_init(struct block_iter *it, const char *data, size_t size,
		    const char *file, uint64_t block_off);

/* A zeroed, invalid iterator with no block; init before use. */
void block_iter_init_empty(struct block_iter *it);

/* Frees the key buffer of an embedded iterator. */
void block_iter_release(struct block_iter *it);

/* A heap iterator over data[0..size) (borrowed). Returns 0, -ENOMEM, or -EIO
 * (nothing allocated) for a malformed trailer. */
int block_iter_new(const char *data, size_t size, const char *file,
		   uint64_t block_off, struct iter **out);

#endif
