/*
 * lsmdir.h - the read-only virtual directory .lsm/ in the mount root, where
 * the store shows itself (statistics, options, levels).
 *
 * Its inodes are numbered from LSMDIR_INO_BASE (the top bit set), a range
 * the store never allocates (keyspace.h: KS_VIRTUAL_INO_BASE), so every
 * FUSE callback in fs/ops.c starts with
 *     if (lsmdir_owns(ino)) return <the lsmdir_* call or -EROFS>;
 * and the name ".lsm" in the root never reaches the store: lookups go to
 * lsmdir_lookup(), creating, removing or renaming it fails.
 *
 * Nothing here is stored: content is generated from the live lsm_db. Every
 * write operation on a virtual inode fails with -EROFS (done by fs/ops.c).
 * Lookups of virtual inodes are not counted: the kernel may forget them
 * freely. Thread-safe: callbacks run on many FUSE threads.
 */
#ifndef LSMFS_LSMDIR_H
#define LSMFS_LSMDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "keyspace.h"

struct lsmfs;
struct dirlist;

#define LSMDIR_INO_BASE KS_VIRTUAL_INO_BASE
#define LSMDIR_ROOT_INO (LSMDIR_INO_BASE + 1) /* the .lsm directory itself */

static inline int lsmdir_owns(uint64_t ino)
{
	return ino >= LSMDIR_INO_BASE;
}

/* Sets up fs->lsmdir. Called by lsmfs_init(). Returns 0 or -ENOMEM. */
int lsmdir_init(struct lsmfs *fs);
void lsmdir_release(struct lsmfs *fs);

/* Adds the ".lsm" entry to a listing of the mount root. */
int lsmdir_root_entry(struct lsmfs *fs, struct dirlist *dl);

/*
 * Looks up name in the virtual directory parent, or ".lsm" itself when
 * parent is the root (KS_ROOT_INO). Returns 0 and fills *st, or -ENOENT.
 */
int lsmdir_lookup(struct lsmfs *fs, uint64_t parent, const char *name,
		  struct stat *st);

/* Attributes of a virtual inode. Returns 0 or -ENOENT. */
int lsmdir_getattr(struct lsmfs *fs, uint64_t ino, struct stat *st);

/* Lists a virtual directory, "." and ".." included. -ENOTDIR, -ENOENT. */
int lsmdir_readdir(struct lsmfs *fs, uint64_t ino, struct dirlist *dl);

/*
 * Opens a virtual file for reading (flags as open(2); write access gives
 * -EROFS, a directory -EISDIR). The content is fixed at open time, so a
 * reader sees one consistent text; *fh identifies it until
 * lsmdir_release_file(). Returns 0, -EROFS, -EISDIR, -ENOENT, -ENOMEM.
 */
int lsmdir_open(struct lsmfs *fs, uint64_t ino, int flags, uint64_t *fh);
/* Copies up to size bytes at off of the opened content into buf. */
int lsmdir_read(struct lsmfs *fs, uint64_t ino, uint64_t fh, uint64_t off,
		size_t size, char *buf, size_t *n);
void lsmdir_release_file(struct lsmfs *fs, uint64_t ino, uint64_t fh);

#endif /* LSMFS_LSMDIR_H */
