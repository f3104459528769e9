/*
 * lsmdir.h - the read-only virtual directory .lsm/ in the mount root, where
 * the store shows itself: one file per group of engine statistics, one
 * directory per level listing its live tables. .lsm/README (written by
 * lsmdir_render.c) documents the tree for its readers.
 *
 * Inode numbers are from LSMDIR_INO_BASE (the top bit set), a range the
 * store never allocates (keyspace.h: KS_VIRTUAL_INO_BASE), and are stable:
 *  - LSMDIR_INO_BASE + 1 + i for the i-th fixed entry (directories, the
 *    statistics files), LSMDIR_ROOT_INO being .lsm itself;
 *  - LSMDIR_TABLE_INO + number * 8 + level for levels/L<level>/NNNNNN.sst,
 *    so a table moved to another level is another inode.
 * Every FUSE callback in fs/ops.c starts with
 *     if (lsmdir_owns(ino)) return <the lsmdir_* call or -EROFS>;
 * and the name ".lsm" in the root never reaches the store: lookups go to
 * lsmdir_lookup(), creating, removing or renaming it fails.
 *
 * Nothing here is stored: content is generated from the live lsm_db when a
 * file is opened, and its attributes when they are asked for. The kernel
 * must not cache either: fs/ops.c replies with attribute and entry
 * timeouts of 0 for these inodes and opens their files with direct_io, so
 * a read is never cut short at a stale size. st_size of a statistics file
 * is the length of its text at getattr time; of a table entry it is the
 * table's size on disk (`ls -l` shows the real table sizes), while reading
 * it gives the table's metadata text.
 *
 * Every write operation on a virtual inode fails with -EROFS (done by
 * fs/ops.c, and by lsmdir_open() for write access). Lookups of virtual
 * inodes are not counted: the kernel may forget them freely. Thread-safe:
 * no shared mutable state besides what lsm_stats_get() reads; an open
 * file's content belongs to its handle.
 */
#ifndef LSMFS_LSMDIR_H
#define LSMFS_LSMDIR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "keyspace.h"
#include "lsm.h"

struct lsmfs;
struct dirlist;

#define LSMDIR_INO_BASE KS_VIRTUAL_INO_BASE
#define LSMDIR_ROOT_INO (LSMDIR_INO_BASE + 1) /* the .lsm directory itself */
/* table entries; numbers below belong to fixed entries */
#define LSMDIR_TABLE_INO (LSMDIR_INO_BASE + (1ULL << 32))

static inline int lsmdir_owns(uint64_t ino)
{
	return ino >= LSMDIR_INO_BASE;
}

/* Sets up fs->lsmdir. Called by lsmfs_init(). Returns 0 or -ENOMEM. */
int lsmdir_init(struct lsmfs *fs);
void lsmdir_release(struct lsmfs *fs);


/*
 * Looks up name in the virtual directory parent, or ".lsm" itself when
 * parent is the root (KS_ROOT_INO). Returns 0 and fills *st, -ENOENT, or
 * the error of reading the statistics (-ENOMEM).
 */
int lsmdir_lookup(struct lsmfs *fs, uint64_t parent, const char *name,
		  struct stat *st);

/* Attributes of a virtual inode. Returns 0, -ENOENT (also a table that is
 * gone) or -ENOMEM. */
int lsmdir_getattr(struct lsmfs *fs, uint64_t ino, struct stat *st);

/* Lists a virtual directory, "." and ".." included. -ENOTDIR, -ENOENT,
 * -ENOMEM. */
int lsmdir_readdir(struct lsmfs *fs, uint64_t ino, struct dirlist *dl);

/*
 * Opens a virtual file for reading (flags as open(2); write access or
 * O_TRUNC gives -EROFS, a directory -EISDIR). The content is generated now
 * and fixed for the handle, so a reader sees one consistent text; *fh
 * identifies it until lsmdir_release_file(). Returns 0, -EROFS, -EISDIR,
 * -ENOENT (also a table compacted away meanwhile), -ENOMEM, or the error
 * of reading a table's properties.
 */
int lsmdir_open(struct lsmfs *fs, uint64_t ino, int flags, uint64_t *fh);
/* Copies up to size bytes at off of the opened content into buf; *n is
 * the count, 0 at the end. Returns 0 or -EBADF (fh is no open handle). */
int lsmdir_read(struct lsmfs *fs, uint64_t ino, uint64_t fh, uint64_t off,
		size_t size, char *buf, size_t *n);
/* Frees the content of fh. */
void lsmdir_release_file(struct lsmfs *fs, uint64_t ino, uint64_t fh);

/* ---- the content of each file (lsmdir_render.c), for lsmdir.c ---- */

/* Writes the text of one file to f; s is the current statistics (NULL for
 * lsmdir_render_readme, which needs none). The caller checks ferror(f). */
typedef void lsmdir_render_fn(FILE *f, const struct lsm_stats *s);

lsmdir_render_fn lsmdir_render_readme, lsmdir_render_flush_queue_depth,
	lsmdir_render_l0_files, lsmdir_render_pending_compaction_bytes,
	lsmdir_render_write_stalled, lsmdir_render_stalls,
	lsmdir_render_memtable, lsmdir_render_wal, lsmdir_render_compaction,
	lsmdir_render_cache, lsmdir_render_stats, lsmdir_render_json,
	lsmdir_render_prometheus, lsmdir_render_summary;

#endif /* LSMFS_LSMDIR_H */
