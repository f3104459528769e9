/* attr.c - inode attributes: getattr, setattr (chmod, chown, truncate,
 * utimens), readlink, statfs; see lsmfs.h. */
#include "config.h"
#include "lsmfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filedata.h"
#include "inode.h"
#include "keyspace.h"
#include "ns_internal.h"

int attr_get(struct lsmfs *fs, uint64_t ino, struct stat *st)
{
	struct inode_rec r;
	/* shared: the record and the buffered writes (file.c) must agree */
	struct inode_node *n = node_lock(fs, ino, 0);
	if (!n)
		return -ENOMEM;
	int rc = inode_load(fs->db, NULL, ino, &r);
	if (!rc) {
		file_wb_attr(n, &r.a);
		inode_to_stat(&r.a, ino, st);
		inode_rec_release(&r);
	}
	node_unlock(fs, n);
	return rc;
}

static struct inode_time from_timespec(struct timespec ts)
{
	struct inode_time t = { ts.tv_sec, (uint32_t)ts.tv_nsec };
	return t;
}

int attr_set(struct lsmfs *fs, uint64_t ino, const struct stat *in,
	     int to_set, struct stat *out)
{
	struct inode_rec r;
	struct lsm_batch *b = NULL;
	struct inode_time now = inode_now();
	struct inode_node *n = node_lock(fs, ino, 1);
	int rc;

	if (!n)
		return -ENOMEM;
	/* the record stored below must carry the buffered writes' size */
	rc = file_wb_flush(fs, n);
	if (!rc)
		rc = inode_load(fs->db, NULL, ino, &r);
	if (rc)
		goto out_unlock;
	rc = lsm_batch_new(&b);
	if (rc)
		goto out;
	if (to_set & ATTR_SET_SIZE) {
		if (S_ISDIR(r.a.mode))
			rc = -EISDIR;
		else if (!S_ISREG(r.a.mode))
			rc = -EINVAL;
		else if (in->st_size < 0)
			rc = -EINVAL;
		if (!rc) {
			/* the buffered chunk may be cut: reload it later */
			file_wb_drop(n);
			rc = fdata_truncate(fs->db, ino, &r.a,
					    (uint64_t)in->st_size, b);
		}
		if (rc)
			goto out;
		if (!(to_set & (ATTR_SET_MTIME | ATTR_SET_MTIME_NOW)))
			r.a.mtime = now;
	}
	if (to_set & ATTR_SET_MODE)
		r.a.mode = (r.a.mode & S_IFMT) | (in->st_mode & 07777);
	if (to_set & ATTR_SET_UID)
		r.a.uid = in->st_uid;
	if (to_set & ATTR_SET_GID)
		r.a.gid = in->st_gid;
	if (to_set & ATTR_SET_ATIME_NOW)
		r.a.atime = now;
	else if (to_set & ATTR_SET_ATIME)
		r.a.atime = from_timespec(in->st_atim);
	if (to_set & ATTR_SET_MTIME_NOW)
		r.a.mtime = now;
	else if (to_set & ATTR_SET_MTIME)
		r.a.mtime = from_timespec(in->st_mtim);
	r.a.ctime = (to_set & ATTR_SET_CTIME) ? from_timespec(in->st_ctim)
					      : now;
	rc = inode_store(b, ino, &r);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
	if (!rc)
		inode_to_stat(&r.a, ino, out);
out:
	lsm_batch_free(b);
	inode_rec_release(&r);
out_unlock:
	node_unlock(fs, n);
	return rc;
}

int attr_readlink(struct lsmfs *fs, uint64_t ino, char **target)
{
	struct inode_rec r;
	int rc = inode_load(fs->db, NULL, ino, &r);
	if (rc)
		return rc;
	if (!S_ISLNK(r.a.mode)) {
		inode_rec_release(&r);
		return -EINVAL;
	}
	if (!r.target) {
		r.target = strdup("");
		if (!r.target)
			return -ENOMEM;
	}
	*target = r.target; /* ownership moves to the caller */
	return 0;
}

int attr_statfs(struct lsmfs *fs, struct statvfs *sv)
{
	if (statvfs(fs->datadir, sv))
		return -errno;
	sv->f_namemax = KS_NAME_MAX;
	sv->f_fsid = 0;
	sv->f_flag &= ~(unsigned long)ST_RDONLY;
	return 0;
}
