/* file.c - regular-file content through the chunk layer: open accounting,
 * read, write, sync, fallocate; see lsmfs.h and filedata.h. */
#include "config.h"
#include "lsmfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>

#include "filedata.h"
#include "inode.h"
#include "ns_internal.h"

int file_open(struct lsmfs *fs, uint64_t ino)
{
	struct inode_node *n = itable_get(&fs->itable, ino);
	if (!n)
		return -ENOMEM;
	itable_open(&fs->itable, n);
	itable_put(&fs->itable, n);
	return 0;
}

void file_release(struct lsmfs *fs, uint64_t ino)
{
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
	node_unlock(fs, node);
	return rc;
}

/* Writes data (len bytes at off) into ino, or, when data is NULL, extends
 * it as fallocate(mode, off, len) does; chunk changes and the inode record
 * go into one batch, under the node lock. */
static int file_update(struct lsmfs *fs, uint64_t ino, uint64_t off,
		       const void *data, size_t len, int mode)
{
	struct inode_rec r;
	struct lsm_batch *b = NULL;
	struct inode_node *n = node_lock(fs, ino, 1);
	int rc;
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
	if (data) {
		rc = fdata_write(fs->db, ino, &r.a, off, data, len, b);
		r.a.mtime = r.a.ctime = inode_now();
	} else {
		/* fallocate: only the size may grow, nothing is stored */
		if (off > FDATA_MAX_SIZE || len > FDATA_MAX_SIZE - off)
			rc = -EFBIG;
		else if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > r.a.size)
			rc = fdata_truncate(fs->db, ino, &r.a, off + len, b);
		else
			goto out;
		r.a.ctime = inode_now();
	}
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

int file_write(struct lsmfs *fs, uint64_t ino, uint64_t off,
	       const void *data, size_t len)
{
	if (len == 0)
		return 0;
	return file_update(fs, ino, off, data, len, 0);
}

int file_sync(struct lsmfs *fs)
{
	return lsm_sync(fs->db);
}

int file_fallocate(struct lsmfs *fs, uint64_t ino, int mode, uint64_t off,
		   uint64_t len)
{
	if (mode & ~FALLOC_FL_KEEP_SIZE)
		return -EOPNOTSUPP;
	if (len == 0)
		return -EINVAL;
	return file_update(fs, ino, off, NULL, len, mode);
}
