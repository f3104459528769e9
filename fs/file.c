/* file.c - regular-file content through the chunk layer: open accounting,
 * read, write with a write-behind chunk, flush, sync, fallocate; see
 * lsmfs.h and filedata.h.
 *
 * Write-behind: a write that covers part of a chunk does not rewrite the
 * whole chunk in the store each time. The chunk is kept in the inode's node
 * (itable.h: wb_*) and later writes to it are merged there; it goes to the
 * store when a partial write moves to another chunk, on flush (close),
 * release, fsync, before a read or truncate of the file, and at unmount.
 * The inode record (size, mtime, stored bytes) is still written with every
 * write, so attributes are always current; after a crash without fsync the
 * bytes of a chunk not yet written back read as zeros. With sync=always
 * (fs->write_behind == 0) every write goes straight to the store.
 */
#include "config.h"
#include "lsmfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#include "filedata.h"
#include "inode.h"
#include "keyspace.h"
#include "log.h"
#include "ns_internal.h"

#define CS ((uint64_t)KS_CHUNK_SIZE)

int file_wb_flush(struct lsmfs *fs, struct inode_node *n)
{
	struct lsm_batch *b;
	char key[KS_CHUNK_KEY_LEN];
	if (!n->wb_dirty)
		return 0;
	int rc = lsm_batch_new(&b);
	if (!rc)
		rc = lsm_batch_put(b, key, ks_chunk_key(key, n->ino, n->wb_idx),
				   n->wb_data, n->wb_len);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
	lsm_batch_free(b);
	if (!rc)
		n->wb_dirty = 0;
	return rc;
}

void file_wb_drop(struct inode_node *n)
{
	free(n->wb_data);
	n->wb_data = NULL;
	n->wb_len = 0;
	n->wb_dirty = 0;
}

int file_open(struct lsmfs *fs, uint64_t ino)
{
	struct inode_node *n = itable_get(&fs->itable, ino);
	if (!n)
		return -ENOMEM;
	itable_open(&fs->itable, n);
	itable_put(&fs->itable, n);
	return 0;
}

int file_flush(struct lsmfs *fs, uint64_t ino)
{
	struct inode_node *n = node_lock(fs, ino, 1);
	if (!n)
		return -ENOMEM;
	int rc = file_wb_flush(fs, n);
	node_unlock(fs, n);
	return rc;
}

void file_release(struct lsmfs *fs, uint64_t ino)
{
	int rc = file_flush(fs, ino);
	if (rc)
		lsm_log("inode %llu: data lost at close: %s",
			(unsigned long long)ino, lsm_strerror(rc));
	struct inode_node *n = itable_get(&fs->itable, ino);
	if (!n)
		return; /* cannot happen: an open handle keeps the node */
	itable_close(&fs->itable, n);
	if (itable_put(&fs->itable, n))
		ns_purge(fs, ino);
}

int file_read(struct lsmfs *fs, uint64_t ino, uint64_t off, size_t size,
	      char *buf, size_t *n)
{
	struct inode_rec r;
	/* shared: the size and the chunks must come from one state */
	struct inode_node *node = node_lock(fs, ino, 0);
	int rc;
	if (!node)
		return -ENOMEM;
	if (node->wb_dirty) {
		/* the store must hold every chunk before we read it */
		pthread_rwlock_unlock(&node->lock);
		pthread_rwlock_wrlock(&node->lock);
		rc = file_wb_flush(fs, node);
		if (rc)
			goto out;
	}
	rc = inode_load(fs->db, NULL, ino, &r);
	if (!rc) {
		if (S_ISDIR(r.a.mode))
			rc = -EISDIR;
		else if (!S_ISREG(r.a.mode))
			rc = -EINVAL;
		else
			rc = fdata_read(fs->db, NULL, ino, r.a.size, off, size,
					buf, n);
		inode_rec_release(&r);
	}
out:
	node_unlock(fs, node);
	return rc;
}

/* Merges n bytes at offset in of the buffered chunk. */
static void wb_merge(struct inode_node *node, struct inode_attr *a,
		     size_t in, const char *src, size_t n)
{
	if (in > node->wb_len)
		memset(node->wb_data + node->wb_len, 0, in - node->wb_len);
	memcpy(node->wb_data + in, src, n);
	size_t nlen = in + n > node->wb_len ? in + n : node->wb_len;
	a->stored += nlen - node->wb_len;
	node->wb_len = nlen;
	node->wb_dirty = 1;
}

/* Makes chunk idx the buffered one, putting the old one into b. */
static int wb_take(struct lsmfs *fs, struct inode_node *node,
		   struct inode_attr *a, uint64_t idx, struct lsm_batch *b)
{
	char key[KS_CHUNK_KEY_LEN];
	char *old;
	size_t olen;
	int rc = 0;
	if (node->wb_dirty)
		rc = lsm_batch_put(b, key, ks_chunk_key(key, node->ino,
							node->wb_idx),
				   node->wb_data, node->wb_len);
	if (!rc)
		rc = fdata_chunk_load(fs->db, node->ino, idx, a->size, &old,
				      &olen);
	if (rc)
		return rc;
	if (!node->wb_data && !(node->wb_data = malloc(CS))) {
		free(old);
		return -ENOMEM;
	}
	if (olen)
		memcpy(node->wb_data, old, olen);
	free(old);
	node->wb_idx = idx;
	node->wb_len = olen;
	node->wb_dirty = 0;
	return 0;
}

/* fdata_write() through the write-behind chunk. Requires node->lock. */
static int write_behind(struct lsmfs *fs, struct inode_node *node,
			struct inode_attr *a, uint64_t off, const char *src,
			size_t len, struct lsm_batch *b)
{
	uint64_t end = off + len, first = off / CS, last = (end - 1) / CS;
	/* the buffer holds a chunk of this write: no other chunk may take it
	 * over, or the store would be read for a chunk only b has */
	int busy = node->wb_data && node->wb_idx >= first &&
		   node->wb_idx <= last;
	int rc = 0;
	for (uint64_t pos = off; pos < end && !rc;) {
		uint64_t idx = pos / CS;
		size_t in = (size_t)(pos - idx * CS);
		size_t n = (size_t)(end - pos < CS - in ? end - pos : CS - in);
		if (node->wb_data && node->wb_idx == idx) {
			wb_merge(node, a, in, src, n);
		} else if ((in == 0 && n == CS) || busy) {
			rc = fdata_write(fs->db, node->ino, a, pos, src, n, b);
		} else {
			rc = wb_take(fs, node, a, idx, b);
			if (!rc)
				wb_merge(node, a, in, src, n);
		}
		src += n;
		pos += n;
	}
	if (!rc && end > a->size)
		a->size = end;
	return rc;
}

int file_write(struct lsmfs *fs, uint64_t ino, uint64_t off,
	       const void *data, size_t len)
{
	struct inode_rec r;
	struct lsm_batch *b = NULL;
	struct inode_node *n;
	int rc;

	if (len == 0)
		return 0;
	if (off > FDATA_MAX_SIZE || len > FDATA_MAX_SIZE - off)
		return -EFBIG;
	n = node_lock(fs, ino, 1);
	if (!n)
		return -ENOMEM;
	rc = inode_load(fs->db, NULL, ino, &r);
	if (rc)
		goto out_unlock;
	if (S_ISDIR(r.a.mode))
		rc = -EISDIR;
	else if (!S_ISREG(r.a.mode))
		rc = -EINVAL;
	if (!rc)
		rc = lsm_batch_new(&b);
	if (rc)
		goto out;
	if (fs->write_behind)
		rc = write_behind(fs, n, &r.a, off, data, len, b);
	else
		rc = fdata_write(fs->db, ino, &r.a, off, data, len, b);
	r.a.mtime = r.a.ctime = inode_now();
	if (!rc)
		rc = inode_store(b, ino, &r);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
out:
	lsm_batch_free(b);
	inode_rec_release(&r);
out_unlock:
	node_unlock(fs, n);
	return rc;
}

int file_sync(struct lsmfs *fs, uint64_t ino)
{
	int rc = ino ? file_flush(fs, ino) : 0;
	return rc ? rc : lsm_sync(fs->db);
}

int file_fallocate(struct lsmfs *fs, uint64_t ino, int mode, uint64_t off,
		   uint64_t len)
{
	struct inode_rec r;
	struct lsm_batch *b = NULL;
	struct inode_node *n;
	int rc;

	if (mode & ~FALLOC_FL_KEEP_SIZE)
		return -EOPNOTSUPP;
	if (len == 0)
		return -EINVAL;
	if (off > FDATA_MAX_SIZE || len > FDATA_MAX_SIZE - off)
		return -EFBIG;
	n = node_lock(fs, ino, 1);
	if (!n)
		return -ENOMEM;
	rc = inode_load(fs->db, NULL, ino, &r);
	if (rc)
		goto out_unlock;
	if (S_ISDIR(r.a.mode))
		rc = -EISDIR;
	else if (!S_ISREG(r.a.mode))
		rc = -ENODEV;
	/* only the size may grow: holes cost nothing, nothing is stored */
	if (rc || (mode & FALLOC_FL_KEEP_SIZE) || off + len <= r.a.size)
		goto out;
	rc = lsm_batch_new(&b);
	if (!rc)
		rc = fdata_truncate(fs->db, ino, &r.a, off + len, b);
	r.a.ctime = inode_now();
	if (!rc)
		rc = inode_store(b, ino, &r);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
out:
	lsm_batch_free(b);
	inode_rec_release(&r);
out_unlock:
	node_unlock(fs, n);
	return rc;
}
