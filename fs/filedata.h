/*
 * filedata.h - regular-file content stored as chunks: key 'C' be64(ino)
 * be64(index) holds bytes [index * KS_CHUNK_SIZE, ...) of the file, at most
 * KS_CHUNK_SIZE of them.
 *
 * Invariants (see keyspace.h): no chunk holds bytes at or past the file
 * size; absent chunks and bytes past a short chunk's end read as zeros; a
 * write or truncate touches only the chunks in its range and never rewrites
 * the file; inode_attr.stored is the sum of the chunk value lengths.
 *
 * The mutating functions only add operations to a caller's batch and update
 * the caller's copy of the inode attributes; the caller puts the inode record
 * into the same batch and writes it. They read chunks from the latest state,
 * so the caller must exclude other writers of the same inode until the batch
 * is written (fs/ops: the inode's node lock), and must not put two mutations
 * of one inode into one batch.
 */
#ifndef LSMFS_FILEDATA_H
#define LSMFS_FILEDATA_H

#include <stddef.h>
#include <stdint.h>

#include "inode.h"
#include "lsm.h"

/*
 * Copies the bytes [off, off + len) of the file, clipped to its size, into
 * dst, zeros for holes. Reads at snap (NULL: latest). Sets *n to the number
 * of bytes produced (0 at or past EOF). Returns 0, -EIO or an engine error.
 */
int fdata_read(struct lsm_db *db, const struct lsm_snapshot *snap,
	       uint64_t ino, uint64_t size, uint64_t off, size_t len,
	       char *dst, size_t *n);

/*
 * Adds to b the chunk puts that write len bytes of data at off; grows
 * a->size to off + len when that is larger and keeps a->stored exact.
 * Does not touch the times. Returns 0, -EFBIG (end beyond the 63-bit file
 * size limit), -ENOMEM or an engine error.
 */
int fdata_write(struct lsm_db *db, uint64_t ino, struct inode_attr *a,
		uint64_t off, const void *data, size_t len,
		struct lsm_batch *b);

/*
 * Adds to b what sets the file size to size: deletes chunks past it and
 * trims the chunk it falls into; growing stores nothing (a hole).
 * Updates a->size and a->stored. Returns 0, -EFBIG or an engine error.
 */
int fdata_truncate(struct lsm_db *db, uint64_t ino, struct inode_attr *a,
		   uint64_t size, struct lsm_batch *b);

/*
 * Adds to b what replaces the whole content with data (len bytes): puts
 * every chunk of the new content and deletes old chunks past it, without
 * reading old chunk values. Sets a->size = a->stored = len.
 */
int fdata_replace(struct lsm_db *db, uint64_t ino, struct inode_attr *a,
		  const void *data, size_t len, struct lsm_batch *b);

/*
 * Loads chunk idx into *v (malloc()ed, NULL when absent) and *vlen. Chunks
 * starting at or past size are absent by the invariant and not read.
 * Returns 0, -EIO (oversized chunk, logged) or an engine error.
 */
int fdata_chunk_load(struct lsm_db *db, uint64_t ino, uint64_t idx,
		     uint64_t size, char **v, size_t *vlen);

#define FDATA_MAX_SIZE ((uint64_t)INT64_MAX)

#endif /* LSMFS_FILEDATA_H */
