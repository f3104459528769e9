/* file.c - regular-file content through the chunk layer: open accounting,
 * read, write with a write-behind chunk, flush, sync, fallocate; see
 * lsmfs.h and filedata.h.
 *
 * Write-behind: a write that covers part of one chunk does not rewrite the
 * whole chunk in the store each time. The chunk is kept in the inode's node
 * (itable.h: wb_*) and later writes to it are merged there; it goes to the
 * store when a write moves to another chunk or spans chunks, on flush
 * (close), release, fsync of any file (file_sync() writes back every
 * buffered chunk: itable.h's write-behind list), setattr, fallocate and at
 * unmount; the last release frees the buffer. Readers and getattr see the
 * buffered bytes and attributes (file_wb_attr()).
 *
 * Invariant: the inode record in the store never covers bytes the store
 * does not have. While the chunk is dirty, the file's new size, stored
 * bytes and times live only in the node (wb_size, ...); they are stored in
 * the same batch as the chunk. So after a crash without fsync a file holds
 * an older size with the data of that size, never a new size with zeros
 * where buffered data was. With sync=always (fs->write_behind == 0) every
 * write goes straight to the store.
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

/*
 * Each thread keeps one write batch between requests, cleared for reuse:
 * a 1 MiB write then fills a buffer that already has the room, instead of
 * growing a new one by doubling (realloc copies and page faults, about 5%
 * of the daemon's CPU on sequential writes). Freed when the thread exits;
 * batches for writes above FILE_BATCH_KEEP bytes are not kept.
 */
#define FILE_BATCH_KEEP ((size_t)2 << 20)

static pthread_key_t batch_key;
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;
static int batch_key_ok; /* set once by batch_key_init */

static void batch_key_free(void *b)
{
	lsm_batch_free(b);
}

static void batch_key_init(void)
{
	batch_key_ok = pthread_key_create(&batch_key, batch_key_free) == 0;
}

/* An empty batch: this thread's kept one, or a new one. Returns 0 or
 * -ENOMEM. Give it back with batch_done(). */
static int batch_get(struct lsm_batch **out)
{
	pthread_once(&batch_once, batch_key_init);
	struct lsm_batch *b = batch_key_ok ? pthread_getspecific(batch_key)
					   : NULL;
	if (!b)
		return lsm_batch_new(out);
	pthread_setspecific(batch_key, NULL);
	lsm_batch_clear(b);
	*out = b;
	return 0;
}

/* Keeps b (NULL is fine) for this thread's next write of up to
 * FILE_BATCH_KEEP bytes, or frees it; bytes is what this one carried. */
static void batch_done(struct lsm_batch *b, size_t bytes)
{
	if (b && batch_key_ok && bytes <= FILE_BATCH_KEEP &&
	    !pthread_getspecific(batch_key) &&
	    pthread_setspecific(batch_key, b) == 0)
		return;
	lsm_batch_free(b);
}

static int time_before(struct inode_time a, struct inode_time b)
{
	return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec);
}

void file_wb_attr(const struct inode_node *n, struct inode_attr *a)
{
	if (!n->wb_dirty)
		return;
	a->size = n->wb_size;
	a->stored = n->wb_stored;
	a->mtime = n->wb_mtime;
	/* link, rename and xattr changes store a later ctime meanwhile */
	if (time_before(a->ctime, n->wb_ctime))
		a->ctime = n->wb_ctime;
}

/* Remembers a (the attributes with the buffered write) in n: dirty, and
 * listed for fsync (itable.h). */
static void wb_keep_attr(struct lsmfs *fs, struct inode_node *n,
			 const struct inode_attr *a)
{
	if (!n->wb_dirty)
		itable_wb_mark(&fs->itable, n);
	n->wb_size = a->size;
	n->wb_stored = a->stored;
	n->wb_mtime = a->mtime;
	n->wb_ctime = a->ctime;
	n->wb_dirty = 1;
}

int file_wb_flush(struct lsmfs *fs, struct inode_node *n)
{
	struct lsm_batch *b = NULL;
	struct inode_rec r;
	char key[KS_CHUNK_KEY_LEN];
	if (!n->wb_dirty)
		return 0;
	int rc = inode_load(fs->db, NULL, n->ino, &r);
	if (rc == -ENOENT) {
		file_wb_drop(n); /* purged: nothing left to write to */
		return 0;
	}
	if (rc)
		return rc;
	/* the chunk and the size that covers it, in one batch */
	file_wb_attr(n, &r.a);
	rc = lsm_batch_new(&b);
	if (!rc)
		rc = lsm_batch_put(b, key, ks_chunk_key(key, n->ino, n->wb_idx),
				   n->wb_data, n->wb_len);
	if (!rc)
		rc = inode_store(b, n->ino, &r);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
	lsm_batch_free(b);
	inode_rec_release(&r);
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

/*
 * At the last close the written-back chunk buffer is freed (KS_CHUNK_SIZE
 * bytes), so that the files a mount has written and the kernel still
 * caches do not each keep one; the node itself can then go (itable.h). A
 * chunk that could not be written back stays in the node, dirty.
 */
void file_release(struct lsmfs *fs, uint64_t ino)
{
	/* cannot fail: an open handle keeps the node */
	struct inode_node *n = node_lock(fs, ino, 1);
	if (!n)
		return;
	int rc = file_wb_flush(fs, n);
	if (rc)
		lsm_log("inode %llu: data lost at close: %s",
			(unsigned long long)ino, lsm_strerror(rc));
	if (itable_close(&fs->itable, n) == 0 && !n->wb_dirty) {
		file_wb_drop(n);
		itable_wb_unmark(&fs->itable, n);
	}
	node_unlock(fs, n); /* purges ino if unlinked and now unused */
}

/* Copies the buffered chunk's bytes that fall in [off, off + n) over dst,
 * which holds those file bytes as the store has them. */
static void wb_overlay(const struct inode_node *node, uint64_t off, size_t n,
		       char *dst)
{
	uint64_t cstart = node->wb_idx * CS, cend = cstart + node->wb_len;
	uint64_t from = cstart > off ? cstart : off;
	uint64_t to = cend < off + n ? cend : off + n;
	if (from < to)
		memcpy(dst + (from - off), node->wb_data + (from - cstart),
		       to - from);
}

int file_read(struct lsmfs *fs, uint64_t ino, uint64_t off, size_t size,
	      char *buf, size_t *n)
{
	struct inode_rec r;
	/* shared: the size, the chunks and the buffer must agree */
	struct inode_node *node = node_lock(fs, ino, 0);
	int rc;
	if (!node)
		return -ENOMEM;
	rc = inode_load(fs->db, NULL, ino, &r);
	if (rc)
		goto out;
	if (S_ISDIR(r.a.mode)) {
		rc = -EISDIR;
	} else if (!S_ISREG(r.a.mode)) {
		rc = -EINVAL;
	} else {
		file_wb_attr(node, &r.a);
		rc = fdata_read(fs->db, NULL, ino, r.a.size, off, size, buf,
				n);
		if (!rc && node->wb_dirty)
			wb_overlay(node, off, *n, buf);
	}
	inode_rec_release(&r);
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
}

/* Makes chunk idx the buffered one, clean. Requires a clean buffer (the
 * store has it) and a = the file's current attributes. */
static int wb_load(struct lsmfs *fs, struct inode_node *node,
		   const struct inode_attr *a, uint64_t idx)
{
	char *old;
	size_t olen;
	int rc = fdata_chunk_load(fs->db, node->ino, idx, a->size, &old,
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
	return 0;
}

/*
 * A write that spans chunks or fills one: one batch with every chunk it
 * touches, the buffered chunk if dirty, and the inode record. The buffered
 * chunk's part is merged into a copy, so nothing in memory changes unless
 * the batch is stored. Requires node->lock exclusively; a holds the file's
 * current attributes (buffered ones included) and is updated.
 */
static int write_through(struct lsmfs *fs, struct inode_node *node,
			 struct inode_rec *r, uint64_t off, const char *src,
			 size_t len)
{
	struct inode_attr *a = &r->a;
	struct lsm_batch *b = NULL;
	char key[KS_CHUNK_KEY_LEN];
	char *copy = NULL; /* the buffered chunk with this write merged */
	size_t copy_len = 0;
	uint64_t end = off + len;
	int rc = batch_get(&b);
	for (uint64_t pos = off; pos < end && !rc;) {
		uint64_t idx = pos / CS;
		size_t in = (size_t)(pos - idx * CS);
		size_t n = (size_t)(end - pos < CS - in ? end - pos : CS - in);
		if (node->wb_data && node->wb_idx == idx) {
			if (!(copy = malloc(CS))) {
				rc = -ENOMEM;
				break;
			}
			memcpy(copy, node->wb_data, node->wb_len);
			if (in > node->wb_len)
				memset(copy + node->wb_len, 0,
				       in - node->wb_len);
			memcpy(copy + in, src, n);
			copy_len = in + n > node->wb_len ? in + n
							 : node->wb_len;
			a->stored += copy_len - node->wb_len;
			rc = lsm_batch_put(b, key, ks_chunk_key(key, node->ino,
								idx),
					   copy, copy_len);
		} else {
			rc = fdata_write(fs->db, node->ino, a, pos, src, n, b);
		}
		src += n;
		pos += n;
	}
	if (!rc && !copy && node->wb_dirty)
		rc = lsm_batch_put(b, key, ks_chunk_key(key, node->ino,
							node->wb_idx),
				   node->wb_data, node->wb_len);
	if (end > a->size)
		a->size = end;
	a->mtime = a->ctime = inode_now();
	if (!rc)
		rc = inode_store(b, node->ino, r);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
	batch_done(b, len);
	if (rc) {
		free(copy);
		return rc;
	}
	/* the store now has everything: the buffer is clean */
	if (copy) {
		free(node->wb_data);
		node->wb_data = copy;
		node->wb_len = copy_len;
	}
	node->wb_dirty = 0;
	return 0;
}

/* A write through the write-behind chunk. Requires node->lock
 * exclusively; r holds the file's current attributes and is updated. */
static int write_behind(struct lsmfs *fs, struct inode_node *node,
			struct inode_rec *r, uint64_t off, const char *src,
			size_t len)
{
	uint64_t idx = off / CS;
	size_t in = (size_t)(off - idx * CS);
	int rc;
	if (in + len > CS || len == CS)
		return write_through(fs, node, r, off, src, len);
	if (!node->wb_data || node->wb_idx != idx) {
		/* the old chunk and the attributes that cover it go first */
		rc = file_wb_flush(fs, node);
		if (!rc)
			rc = wb_load(fs, node, &r->a, idx);
		if (rc)
			return rc;
	}
	wb_merge(node, &r->a, in, src, len);
	if (off + len > r->a.size)
		r->a.size = off + len;
	r->a.mtime = r->a.ctime = inode_now();
	wb_keep_attr(fs, node, &r->a);
	return 0;
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
	if (rc)
		goto out;
	if (fs->write_behind) {
		file_wb_attr(n, &r.a);
		rc = write_behind(fs, n, &r, off, data, len);
		goto out;
	}
	rc = batch_get(&b);
	if (!rc)
		rc = fdata_write(fs->db, ino, &r.a, off, data, len, b);
	r.a.mtime = r.a.ctime = inode_now();
	if (!rc)
		rc = inode_store(b, ino, &r);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
out:
	batch_done(b, len);
	inode_rec_release(&r);
out_unlock:
	node_unlock(fs, n);
	return rc;
}

/*
 * Writes back every buffered chunk: those of the nodes on the write-behind
 * list (itable.h), which holds every dirty one. One node lock at a time and
 * nothing else held, so this cannot deadlock with writers, and the table
 * mutex is not held across the engine writes. Returns the first error; the
 * other chunks are still written.
 */
static int wb_flush_all(struct lsmfs *fs)
{
	uint64_t *inos;
	size_t count;
	int rc = itable_wb_list(&fs->itable, &inos, &count);
	for (size_t i = 0; i < count; i++) {
		struct inode_node *n = node_lock(fs, inos[i], 1);
		if (!n) {
			rc = rc ? rc : -ENOMEM;
			continue;
		}
		int frc = file_wb_flush(fs, n);
		if (!n->wb_dirty)
			itable_wb_unmark(&fs->itable, n);
		else if (frc)
			lsm_log("inode %llu: cannot write back buffered data: "
				"%s", (unsigned long long)n->ino,
				lsm_strerror(frc));
		node_unlock(fs, n);
		if (frc && !rc)
			rc = frc;
	}
	free(inos);
	return rc;
}

int file_sync(struct lsmfs *fs, uint64_t ino)
{
	/* "everything written so far": every file's buffered chunk, not
	 * only ino's, then one WAL sync (shared by concurrent callers) */
	(void)ino;
	int rc = wb_flush_all(fs);
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
	/* the record stored below must not cover unstored bytes */
	rc = file_wb_flush(fs, n);
	if (!rc)
		rc = inode_load(fs->db, NULL, ino, &r);
	if (rc)
		goto out_unlock;
	if (S_ISDIR(r.a.mode))
		rc = -EISDIR;
	else if (!S_ISREG(r.a.mode))
		rc = -ENODEV;
	if (rc)
		goto out;
	/* only the size may grow: holes cost nothing, nothing is stored; the
	 * times change as for a write, as on tmpfs and ext4 */
	rc = lsm_batch_new(&b);
	if (!rc && !(mode & FALLOC_FL_KEEP_SIZE) && off + len > r.a.size)
		rc = fdata_truncate(fs->db, ino, &r.a, off + len, b);
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
