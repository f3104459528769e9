/*
 * ns_internal.h - helpers shared by the files behind lsmfs.h (lsmfs.c, ns.c,
 * attr.c, file.c, xattr.c). Not for use outside fs/.
 */
#ifndef LSMFS_NS_INTERNAL_H
#define LSMFS_NS_INTERNAL_H

#include <stdint.h>

#include "lsmfs.h"

/* Hands out a never-used inode number. Returns 0 or -ENOSPC, engine
 * errors. */
int ns_ialloc(struct lsmfs *fs, uint64_t *ino);

/*
 * Pins ino's node and takes its lock (exclusive or shared). Returns NULL
 * when out of memory. node_unlock() releases both and purges the inode if
 * it was unlinked and this was its last user.
 */
struct inode_node *node_lock(struct lsmfs *fs, uint64_t ino, int exclusive);
void node_unlock(struct lsmfs *fs, struct inode_node *n);

/* file.c's write-behind chunk of node n (n->lock held exclusively): write
 * it to the store with the inode attributes that cover it, in one batch /
 * forget it (after it was flushed or is obsolete). */
int file_wb_flush(struct lsmfs *fs, struct inode_node *n);
void file_wb_drop(struct inode_node *n);

/* Puts into a (loaded from the store) the size, stored bytes and times of
 * the writes still buffered in n, if any: what getattr, lookup and read
 * must see. Requires n->lock (shared suffices). */
void file_wb_attr(const struct inode_node *n, struct inode_attr *a);

#endif /* LSMFS_NS_INTERNAL_H */
