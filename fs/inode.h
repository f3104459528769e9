/*
 * inode.h - the inode attribute record: the value of key 'I' be64(ino)
 * (see keyspace.h and docs/KEYSCHEMA.md).
 *
 * Layout, little-endian, version 1 (header length 86 bytes):
 *   u8  version (1)        u8  header length (85; the target starts here)
 *   u32 mode               u32 uid           u32 gid        u32 nlink
 *   u64 size               u64 stored bytes (sum of chunk value lengths)
 *   i64 atime sec  u32 atime nsec
 *   i64 mtime sec  u32 mtime nsec
 *   i64 ctime sec  u32 ctime nsec
 *   u64 rdev               u64 parent (directories: the parent's inode)
 *   ... symlink target (the rest of the value; empty for other types)
 * A decoder accepts a longer header from a newer minor revision (fields it
 * does not know are skipped) but refuses a newer version.
 *
 * The codec functions are pure; inode_load/inode_store read and write the
 * store and are thread-safe as lsm_db is (callers serialize read-modify-write
 * of one inode, see itable.h).
 */
#ifndef LSMFS_INODE_H
#define LSMFS_INODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "buf.h"
#include "lsm.h"

#define INODE_VERSION 1
#define INODE_HEADER_LEN 86
#define INODE_TARGET_MAX 4095 /* symlink target bytes, as PATH_MAX - 1 */

struct inode_time {
	int64_t sec;
	uint32_t nsec;
};

struct inode_attr {
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint32_t nlink;
	uint64_t size;
	uint64_t stored; /* bytes held in chunk values: drives st_blocks */
	struct inode_time atime, mtime, ctime;
	uint64_t rdev;
	uint64_t parent;
};

/*
 * Appends the record for a (and, for symlinks, the tlen-byte target) to out.
 * Returns 0 or -ENOMEM.
 */
int inode_encode(const struct inode_attr *a, const char *target, size_t tlen,
		 struct buf *out);

/*
 * Parses a record. *target and *tlen (either pointer may be NULL)
 * describe the symlink target, which points into val.
 * Returns 0, or -EIO for a truncated record or unknown version.
 */
int inode_decode(const char *val, size_t vlen, struct inode_attr *a,
		 const char **target, size_t *tlen);

/* The current time as an inode_time (CLOCK_REALTIME). */
struct inode_time inode_now(void);

/* Fills *st from a: st_ino = ino, st_blocks from stored bytes (512-byte
 * units, rounded up), st_blksize = the chunk size. */
void inode_to_stat(const struct inode_attr *a, uint64_t ino, struct stat *st);

/* An inode record as loaded from the store; target is malloc()ed or NULL. */
struct inode_rec {
	struct inode_attr a;
	char *target;
	size_t tlen;
};

/*
 * Loads inode ino at snap (NULL: latest) into *r, which the caller releases
 * with inode_rec_release(). Returns 0, -ENOENT (no such inode), -EIO
 * (corrupt record, logged) or an engine error; on error *r is empty.
 */
int inode_load(struct lsm_db *db, const struct lsm_snapshot *snap,
	       uint64_t ino, struct inode_rec *r);

/* Adds the put of r as inode ino to b. Returns 0 or -ENOMEM. */
int inode_store(struct lsm_batch *b, uint64_t ino, const struct inode_rec *r);

void inode_rec_release(struct inode_rec *r);

#endif /* LSMFS_INODE_H */
