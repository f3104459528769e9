/*
 * keyspace.h - the file-tree schema of lsmfs: how a directory tree of files
 * is stored in one lsm_db key space, shared by the FUSE daemon (fs/) and the
 * command-line tool (tools/lsm). docs/KEYSCHEMA.md is the byte-exact grammar.
 *
 * Records (the first key byte is the record kind; integers in keys are
 * big-endian so that they sort numerically):
 *   'S'                          -> superblock: format version, next inode
 *   'I' be64(ino)                -> inode attributes (fs/inode.h)
 *   'D' be64(parent) name        -> dentry: be64(ino) u8(DT_* file type)
 *   'C' be64(ino) be64(index)    -> bytes [index*KS_CHUNK_SIZE, ...) of a
 *                                   regular file, at most KS_CHUNK_SIZE long
 *   'X' be64(ino) name           -> extended attribute value
 *   'O' be64(ino)                -> orphan: inode with no names left, to be
 *                                   purged once nothing holds it open
 *
 * Invariants kept by every writer (fs/ and the path functions below):
 *  - the root directory is inode KS_ROOT_INO; inode numbers come from the
 *    superblock counter, are never reused, and are below KS_VIRTUAL_INO_BASE
 *    (numbers with the top bit set belong to the virtual .lsm/ directory);
 *  - a directory has exactly one dentry; its inode record names its parent;
 *    st_nlink of a directory is 2 + its subdirectories, of anything else the
 *    number of dentries naming it;
 *  - a chunk never holds bytes at or past the file size: truncation trims
 *    and deletes chunks, so growing a file later reads zeros there. Missing
 *    chunks (holes) and bytes missing at a chunk's end read as zeros;
 *  - every change of the tree is one lsm_write() batch, so a crash leaves
 *    either the old or the new state (rename included);
 *  - the root never contains a stored entry named KS_RESERVED_NAME.
 *
 * Thread safety: the encoding functions are pure. The path functions (ks_path_*,
 * ks_file_*, ks_walk) read and write the store without locking: they are for
 * a process that owns the store alone (tools/lsm; lsm_open's lock keeps a
 * mounted daemon out), not for use while lsmfs serves the same lsm_db.
 *
 * Errors are 0 or a negative errno; lsm_db errors pass through unchanged.
 */
#ifndef LSMFS_KEYSPACE_H
#define LSMFS_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"

#define KS_FORMAT_VERSION 1
#define KS_ROOT_INO 1ULL
/* inode numbers >= this are virtual (fs/lsmdir.c) and never stored */
#define KS_VIRTUAL_INO_BASE (1ULL << 63)
#define KS_CHUNK_SIZE 65536u
#define KS_NAME_MAX 255        /* bytes in one path component or xattr name */
#define KS_PATH_MAX 4096       /* a path (key) must be shorter than this */
#define KS_RESERVED_NAME ".lsm" /* top-level name owned by fs/lsmdir.c */

enum ks_kind {
	KS_SUPER = 'S',
	KS_INODE = 'I',
	KS_DENTRY = 'D',
	KS_CHUNK = 'C',
	KS_XATTR = 'X',
	KS_ORPHAN = 'O',
};

/* Buffer sizes that always suffice for the key encoders below. */
#define KS_INO_KEY_LEN 9                        /* 'I'/'O' + be64 */
#define KS_CHUNK_KEY_LEN 17                     /* 'C' + be64 + be64 */
#define KS_NAME_KEY_MAX (9 + KS_NAME_MAX)       /* 'D'/'X' + be64 + name */
#define KS_DENTRY_VAL_LEN 9                     /* be64(ino) + u8 type */

/* ---- key encoding (pure) ---- */

/* Each writes a key into buf and returns its length. The name variants
 * require nlen <= KS_NAME_MAX and buf of KS_NAME_KEY_MAX bytes. */
size_t ks_super_key(char *buf);
size_t ks_inode_key(char *buf, uint64_t ino);
size_t ks_orphan_key(char *buf, uint64_t ino);
size_t ks_chunk_key(char *buf, uint64_t ino, uint64_t index);
size_t ks_dentry_key(char *buf, uint64_t parent, const char *name,
		     size_t nlen);
size_t ks_xattr_key(char *buf, uint64_t ino, const char *name, size_t nlen);
/* Prefix shared by every key of kind ('D', 'C', 'X') that belongs to ino:
 * tag + be64(ino); 9 bytes. */
size_t ks_prefix_key(char *buf, enum ks_kind kind, uint64_t ino);

/* A decoded key. name points into the decoded key (not NUL-terminated). */
struct ks_key {
	enum ks_kind kind;
	uint64_t ino;      /* the owner (the parent for a dentry); 0 for 'S' */
	uint64_t index;    /* chunk index ('C' only) */
	const char *name;  /* 'D' and 'X' only */
	size_t nlen;
};

/* Parses any record key. Returns 0, or -EINVAL for a key that is no record
 * of this schema (wrong tag or length, empty or oversized name). */
int ks_key_decode(const char *key, size_t klen, struct ks_key *out);

static inline void ks_put_be64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		((unsigned char *)p)[i] = (unsigned char)v;
}

static inline uint64_t ks_get_be64(const char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | ((const unsigned char *)p)[i];
	return v;
}

/* ---- record values (pure) ---- */

/* Dentry value: be64(ino) u8(type), type a DT_* constant of <dirent.h>. */
void ks_dentry_encode(char *buf, uint64_t ino, uint8_t type);
/* Returns 0, or -EIO when val is not a valid dentry value. */
int ks_dentry_decode(const char *val, size_t vlen, uint64_t *ino,
		     uint8_t *type);

struct ks_super {
	uint32_t version;  /* KS_FORMAT_VERSION */
	uint64_t next_ino; /* no inode number >= next_ino is in use */
};

#define KS_SUPER_LEN 12
void ks_super_encode(char *buf, const struct ks_super *sb);
/* Returns 0, or -EIO for a malformed record. */
int ks_super_decode(const char *val, size_t vlen, struct ks_super *sb);

/* ---- store-level helpers ---- */

/*
 * Makes db a valid lsmfs store: on an empty store, writes the superblock and
 * a root directory (mode 0755, owned by the calling process's effective
 * uid/gid) in one sync batch. On an existing store checks the version.
 * Returns 0, -EPROTONOSUPPORT for a newer format (logged), -EIO for a
 * malformed superblock, or an engine error. Not for concurrent use.
 */
int ks_format(struct lsm_db *db);

/* Reads the superblock. Returns 0, -ENOENT (unformatted store), -EIO. */
int ks_super_load(struct lsm_db *db, struct ks_super *sb);

/*
 * Adds to b the deletion of every record of inode ino: chunks, xattrs,
 * dentries it owns as a directory, its inode record and its orphan record.
 * Reads through the store's latest state. Returns 0 or an error. The batch
 * may grow large (one delete per chunk).
 */
int ks_purge_inode(struct lsm_db *db, uint64_t ino, struct lsm_batch *b);

/* ---- path-level API (tools/lsm; see the thread-safety note above) ---- */

/*
 * Checks that key can name a file under the mount root. Accepts a non-empty
 * string of '/'-separated components. Rejects: empty key, leading or trailing
 * '/', empty component ("a//b"), "." or ".." components, a first component
 * equal to KS_RESERVED_NAME, a NUL byte, a component longer than KS_NAME_MAX
 * bytes (-ENAMETOOLONG), a key of KS_PATH_MAX bytes or more (-ENAMETOOLONG).
 * Returns 0, -EINVAL or -ENAMETOOLONG; *reason (if reason is not NULL) then
 * points to a static, lowercase, human-readable explanation such as
 * "empty path component".
 */
int ks_path_validate(const char *key, size_t klen, const char **reason);

/* What a path resolves to. */
struct ks_stat {
	uint64_t ino;
	uint32_t mode;  /* st_mode: type and permission bits */
	uint64_t size;  /* content length of a regular file */
	uint32_t nlink;
};

/*
 * Resolves key (validated as by ks_path_validate) component by component
 * from the root, without following symlinks. Returns 0 and fills *st,
 * -ENOENT when a component is missing, -ENOTDIR when a non-final component
 * is not a directory, or a validation error.
 */
int ks_path_stat(struct lsm_db *db, const char *key, size_t klen,
		 struct ks_stat *st);

/*
 * Reads the whole content of the regular file at key into a malloc()ed,
 * NUL-terminated *val (the NUL not counted in *vlen); holes read as zeros.
 * Returns 0, -ENOENT, -ENOTDIR, -EISDIR (a directory), -EINVAL (a symlink or
 * other non-regular file, or an invalid key), -ENOMEM, -EIO.
 */
int ks_file_read(struct lsm_db *db, const char *key, size_t klen,
		 char **val, size_t *vlen);

/*
 * Makes key a regular file holding exactly val, in one atomic batch written
 * with lsm_write(db, batch, flags) (flags: 0 or LSM_WRITE_SYNC). Missing
 * parent directories are created (mode 0755), a new file gets mode 0644;
 * both are owned by the process's effective uid/gid. An existing regular file
 * keeps its inode, mode, owner and other names (hard links) and gets new
 * content, size, mtime and ctime. Formats an empty store first.
 * Returns 0, -EISDIR (key is a directory), -EINVAL (key is a symlink or
 * special file, or invalid), -ENOTDIR (a parent component is not a
 * directory), -ENAMETOOLONG, or an engine error.
 */
int ks_file_write(struct lsm_db *db, const char *key, size_t klen,
		  const void *val, size_t vlen, int flags);

/*
 * Removes the name key of a regular file, symlink or special file in one
 * atomic batch (flags as for ks_file_write). When it was the last name, the
 * inode, its chunks and its xattrs are deleted in the same batch. Parent
 * directories stay (they are explicit directories, see KEYSCHEMA.md).
 * Returns 0, -ENOENT, -ENOTDIR, -EISDIR (a directory), -EINVAL, or an
 * engine error.
 */
int ks_file_delete(struct lsm_db *db, const char *key, size_t klen,
		   int flags);

/*
 * Called once per regular file: path is its full key (NUL-terminated, plen
 * bytes, valid only during the call), len its content length. A nonzero
 * return stops the walk and is returned by ks_walk.
 */
typedef int (*ks_walk_fn)(void *ctx, const char *path, size_t plen,
			  uint64_t len);

/*
 * Calls fn for every regular file whose key starts with prefix (plen bytes;
 * plen 0 for all files), in key order: the byte order of the full path
 * strings, as if the keys were stored flat. Each name of a hard-linked file
 * is reported. Directories, symlinks, special files and all internal records
 * are never reported. Reads one snapshot, so concurrent writers (there
 * should be none) cannot produce a torn listing. A prefix that names no
 * existing directory yields no calls and returns 0.
 * Returns 0, fn's nonzero value, -ENOMEM, or an engine error.
 */
int ks_walk(struct lsm_db *db, const char *prefix, size_t plen,
	    ks_walk_fn fn, void *ctx);

#endif /* LSMFS_KEYSPACE_H */
