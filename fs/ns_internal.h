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
 * it to the store / forget it (after it was flushed or is obsolete). */
int file_wb_flush(struct lsmfs *fs, struct inode_node *n);
void file_wb_drop(struct inode_node *n);

#endif /* LSMFS_NS_INTERNAL_H */
