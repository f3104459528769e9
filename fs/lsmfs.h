/*
 * lsmfs.h - the filesystem behind the FUSE callbacks: namespace operations
 * (ns.c), attributes (attr.c), file content (file.c) and extended
 * attributes (xattr.c) over one lsm_db, in the schema of keyspace.h.
 *
 * These functions know nothing of FUSE: they take inode numbers and names,
 * return 0 or a negative errno, and fill a struct stat. fs/ops.c adapts them
 * to the FUSE low-level API, so they can also be tested without a mount.
 *
 * Consistency: each operation is one lsm_write() batch (atomic, also across
 * a crash) and is visible to every later operation once it returns.
 * Read-modify-write of an inode's records happens under that inode's
 * itable node lock (see itable.h for the lock order). Functions that hand
 * the kernel a new reference (ns_lookup, ns_make, ns_link) count it in the
 * inode table; ns_forget() drops it and purges unlinked inodes when unused.
 *
 * Thread safety: all functions may be called from many threads at once.
 */
#ifndef LSMFS_LSMFS_H
#define LSMFS_LSMFS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "itable.h"
#include "lsm.h"

struct lsmfs {
	struct lsm_db *db;
	struct itable itable;
	char *datadir;          /* for statfs; owned */
	int write_flags;        /* passed to every lsm_write() */
	int write_behind;       /* buffer partial chunks (file.c); 0 with
				 * sync=always */
	pthread_mutex_t ialloc_mu;
	uint64_t next_ino;      /* protected by ialloc_mu */
	uint64_t ino_limit;     /* persisted next_ino; protected by ialloc_mu */
	void *lsmdir;           /* state of fs/lsmdir.c */
};

/* Inode numbers reserved per superblock write: allocation persists the
 * counter ahead of use, so numbers are never reused even after a crash. */
#define LSMFS_IALLOC_BATCH 1024

/*
 * Sets up fs over an open db (which stays the caller's): formats an empty
 * store, checks the format, and purges the orphans a crash left behind.
 * Returns 0 or an error (logged).
 */
int lsmfs_init(struct lsmfs *fs, struct lsm_db *db, const char *datadir);

/* Purges the inodes unlinked while open, frees fs's memory. Does not close
 * the db. */
void lsmfs_release(struct lsmfs *fs);

/* ---- directory listings ---- */

struct dirlist_ent {
	char *name;
	uint64_t ino;
	uint8_t type; /* DT_* */
};

struct dirlist {
	struct dirlist_ent *v;
	size_t n, cap;
};

int dirlist_add(struct dirlist *dl, const char *name, size_t nlen,
		uint64_t ino, uint8_t type);
void dirlist_release(struct dirlist *dl);

/* ---- namespace (ns.c) ---- */

/* Finds name in directory parent and takes a kernel reference. Returns 0,
 * -ENOENT, -ENOTDIR, -ENAMETOOLONG, -EIO. */
int ns_lookup(struct lsmfs *fs, uint64_t parent, const char *name,
	      struct stat *st);

/*
 * Creates name in parent: a regular file, directory, symlink (target not
 * NULL), FIFO, socket or device (mode's type bits, rdev), owned by uid and
 * gid (gid and S_ISGID follow a set-group-ID parent). Takes a kernel
 * reference. Returns 0, -EEXIST, -ENOENT (parent removed), -ENOTDIR,
 * -ENAMETOOLONG, -ENOSPC (inode numbers exhausted), engine errors.
 */
int ns_make(struct lsmfs *fs, uint64_t parent, const char *name,
	    uint32_t mode, uint64_t rdev, const char *target, uint32_t uid,
	    uint32_t gid, struct stat *st);

/* Adds the name newname in newparent for inode ino. Returns 0, -EEXIST,
 * -EPERM (a directory), -ENOENT, -EMLINK, engine errors. */
int ns_link(struct lsmfs *fs, uint64_t ino, uint64_t newparent,
	    const char *newname, struct stat *st);

/* Removes a non-directory name (-EISDIR) / an empty directory (-ENOTDIR,
 * -ENOTEMPTY). The inode is purged once nothing references it. */
int ns_unlink(struct lsmfs *fs, uint64_t parent, const char *name);
int ns_rmdir(struct lsmfs *fs, uint64_t parent, const char *name);

/*
 * rename(2)/renameat2(2): flags 0, RENAME_NOREPLACE or RENAME_EXCHANGE.
 * One batch: never copies data; a moved directory's parent and the link
 * counts follow. Returns 0, -ENOENT, -EEXIST, -EISDIR, -ENOTDIR,
 * -ENOTEMPTY, -EINVAL (into its own subtree, unknown flags), engine errors.
 */
int ns_rename(struct lsmfs *fs, uint64_t parent, const char *name,
	      uint64_t newparent, const char *newname, unsigned flags);

/* The entries of directory ino: ".", "..", then children in name order
 * (plus the virtual .lsm in the root). Returns 0, -ENOTDIR, -ENOENT. */
int ns_readdir(struct lsmfs *fs, uint64_t ino, struct dirlist *dl);

/* attr_get() that also takes a kernel reference (readdirplus entries). */
int ns_get_ref(struct lsmfs *fs, uint64_t ino, struct stat *st);

/* The kernel dropped nlookup references to ino. */
void ns_forget(struct lsmfs *fs, uint64_t ino, uint64_t nlookup);

/* Deletes every record of an unlinked inode (logged on failure). */
void ns_purge(struct lsmfs *fs, uint64_t ino);

/* ---- attributes (attr.c) ---- */

int attr_get(struct lsmfs *fs, uint64_t ino, struct stat *st);

/* Which fields attr_set changes (values as FUSE_SET_ATTR_*). */
#define ATTR_SET_MODE (1 << 0)
#define ATTR_SET_UID (1 << 1)
#define ATTR_SET_GID (1 << 2)
#define ATTR_SET_SIZE (1 << 3)
#define ATTR_SET_ATIME (1 << 4)
#define ATTR_SET_MTIME (1 << 5)
#define ATTR_SET_ATIME_NOW (1 << 7)
#define ATTR_SET_MTIME_NOW (1 << 8)
#define ATTR_SET_CTIME (1 << 10)

/* Applies the fields of in selected by to_set; ctime becomes now unless
 * given. A size change needs a regular file (-EISDIR, -EINVAL). */
int attr_set(struct lsmfs *fs, uint64_t ino, const struct stat *in,
	     int to_set, struct stat *out);

/* The target of symlink ino, malloc()ed and NUL-terminated. -EINVAL when
 * ino is no symlink. */
int attr_readlink(struct lsmfs *fs, uint64_t ino, char **target);

/* statvfs of the store's file system, with our name limit. */
int attr_statfs(struct lsmfs *fs, struct statvfs *sv);

/* ---- file content (file.c) ---- */

/* Open-handle accounting: an unlinked inode lives while it is open.
 * file_release() also writes back the file's buffered chunk. */
int file_open(struct lsmfs *fs, uint64_t ino);
void file_release(struct lsmfs *fs, uint64_t ino);

/* close(2): writes the file's buffered chunk (see file.c) to the store. */
int file_flush(struct lsmfs *fs, uint64_t ino);

/* Reads up to size bytes at off into buf; *n is the count (0 at EOF). */
int file_read(struct lsmfs *fs, uint64_t ino, uint64_t off, size_t size,
	      char *buf, size_t *n);

/* Writes len bytes at off; mtime/ctime become now. Returns 0, -EFBIG,
 * -EISDIR/-EINVAL (not a regular file), engine errors. */
int file_write(struct lsmfs *fs, uint64_t ino, uint64_t off,
	       const void *data, size_t len);

/* fsync/fdatasync (ino) and fsyncdir (ino 0): everything written so far
 * through the mount becomes durable, the buffered chunks of every file
 * (not only ino's) included. */
int file_sync(struct lsmfs *fs, uint64_t ino);

/* fallocate mode 0 and FALLOC_FL_KEEP_SIZE: extends the size (holes read as
 * zeros, nothing is stored); other modes -EOPNOTSUPP. */
int file_fallocate(struct lsmfs *fs, uint64_t ino, int mode, uint64_t off,
		   uint64_t len);

/* ---- extended attributes (xattr.c) ---- */

/* flags: 0, XATTR_CREATE (-EEXIST) or XATTR_REPLACE (-ENODATA). */
int xattr_set(struct lsmfs *fs, uint64_t ino, const char *name,
	      const void *value, size_t size, int flags);
/* *value is malloc()ed. -ENODATA when absent. */
int xattr_get(struct lsmfs *fs, uint64_t ino, const char *name,
	      char **value, size_t *size);
/* NUL-separated names, malloc()ed. */
int xattr_list(struct lsmfs *fs, uint64_t ino, char **names, size_t *size);
int xattr_remove(struct lsmfs *fs, uint64_t ino, const char *name);

#endif /* LSMFS_LSMFS_H */
