/* ops.c - FUSE low-level callbacks; see ops.h. */
#include "config.h"
#include "ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace.h"
#include "lsmdir.h"

static struct ops_ctx *ctx_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct lsmfs *fs_of(fuse_req_t req)
{
	return ctx_of(req)->fs;
}

/* The generated .lsm/ entries change on every read: the kernel must not
 * cache their names or attributes. */
static double attr_timeout_of(struct ops_ctx *c, fuse_ino_t ino)
{
	return lsmdir_owns(ino) ? 0 : c->attr_timeout;
}

static double entry_timeout_of(struct ops_ctx *c, fuse_ino_t ino)
{
	return lsmdir_owns(ino) ? 0 : c->entry_timeout;
}

static void reply_entry(fuse_req_t req, const struct stat *st)
{
	struct ops_ctx *c = ctx_of(req);
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	e.ino = st->st_ino;
	e.attr = *st;
	e.attr_timeout = attr_timeout_of(c, e.ino);
	e.entry_timeout = entry_timeout_of(c, e.ino);
	if (fuse_reply_entry(req, &e) == -ENOENT && !lsmdir_owns(e.ino))
		ns_forget(c->fs, e.ino, 1); /* the request was interrupted */
}

static void reply_attr(fuse_req_t req, int rc, const struct stat *st)
{
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, st, attr_timeout_of(ctx_of(req),
							 st->st_ino));
}

static int is_reserved(fuse_ino_t parent, const char *name)
{
	return parent == KS_ROOT_INO && strcmp(name, KS_RESERVED_NAME) == 0;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ops_ctx *c = userdata;
	conn->max_write = OPS_MAX_WRITE;
	/* the kernel clears set-user-ID bits itself (via setattr) */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* open(O_TRUNC) becomes a setattr of the size before the open, as
	 * for any file system: the kernel then clears set-user-ID bits of a
	 * file truncated by a caller without CAP_FSETID, which an atomic
	 * O_TRUNC would leave to us without telling us the caller's
	 * capabilities */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (c->writeback_cache && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void op_destroy(void *userdata)
{
	ops_shutdown(userdata);
}

int ops_shutdown(struct ops_ctx *ctx)
{
	if (ctx->closed)
		return ctx->close_rc;
	struct lsm_db *db = ctx->fs->db;
	lsmfs_release(ctx->fs);
	ctx->close_rc = lsm_close(db);
	ctx->closed = 1;
	return ctx->close_rc;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct stat st;
	int rc;
	if (lsmdir_owns(parent) || is_reserved(parent, name))
		rc = lsmdir_lookup(fs_of(req), parent, name, &st);
	else
		rc = ns_lookup(fs_of(req), parent, name, &st);
	if (rc == -ENOENT) {
		/* a negative entry the kernel may cache: names only appear
		 * through this daemon, which invalidates it */
		struct fuse_entry_param e;
		memset(&e, 0, sizeof e);
		e.entry_timeout = entry_timeout_of(ctx_of(req), parent);
		fuse_reply_entry(req, &e);
	} else if (rc) {
		fuse_reply_err(req, -rc);
	} else {
		reply_entry(req, &st);
	}
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (!lsmdir_owns(ino))
		ns_forget(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		if (!lsmdir_owns(forgets[i].ino))
			ns_forget(fs_of(req), forgets[i].ino,
				  forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	int rc = lsmdir_owns(ino) ? lsmdir_getattr(fs_of(req), ino, &st)
				  : attr_get(fs_of(req), ino, &st);
	reply_attr(req, rc, &st);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	int rc = lsmdir_owns(ino) ? -EROFS
				  : attr_set(fs_of(req), ino, attr, to_set, &st);
	reply_attr(req, rc, &st);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char *target;
	int rc = lsmdir_owns(ino) ? -EINVAL
				  : attr_readlink(fs_of(req), ino, &target);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_readlink(req, target);
	free(target);
}

static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, dev_t rdev, const char *target)
{
	const struct fuse_ctx *fc = fuse_req_ctx(req);
	struct stat st;
	int rc;
	if (lsmdir_owns(parent))
		rc = -EROFS;
	else
		rc = ns_make(fs_of(req), parent, name, mode, rdev, target,
			     fc->uid, fc->gid, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, &st);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) &&
	    !S_ISCHR(mode) && !S_ISBLK(mode)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	make_entry(req, parent, name, mode, rdev, NULL);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make_entry(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make_entry(req, parent, name, S_IFLNK | 0777, 0, link);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int rc = lsmdir_owns(parent) ? -EROFS
				     : ns_unlink(fs_of(req), parent, name);
	fuse_reply_err(req, -rc);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int rc = lsmdir_owns(parent) ? -EROFS
				     : ns_rmdir(fs_of(req), parent, name);
	fuse_reply_err(req, -rc);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	int rc;
	if (lsmdir_owns(parent) || lsmdir_owns(newparent))
		rc = -EROFS;
	else
		rc = ns_rename(fs_of(req), parent, name, newparent, newname,
			       flags);
	fuse_reply_err(req, -rc);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct stat st;
	int rc;
	if (lsmdir_owns(ino) || lsmdir_owns(newparent))
		rc = -EROFS;
	else
		rc = ns_link(fs_of(req), ino, newparent, newname, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, &st);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc;
	if (lsmdir_owns(ino)) {
		uint64_t fh;
		rc = lsmdir_open(fs_of(req), ino, fi->flags, &fh);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		fi->fh = fh;
		fi->direct_io = 1; /* generated content: no page cache */
		fuse_reply_open(req, fi);
		return;
	}
	/* no O_TRUNC here: without FUSE_CAP_ATOMIC_O_TRUNC the kernel
	 * truncates through setattr first */
	rc = file_open(fs_of(req), ino);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) == -ENOENT)
		file_release(fs_of(req), ino);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	const struct fuse_ctx *fc = fuse_req_ctx(req);
	struct lsmfs *fs = fs_of(req);
	struct ops_ctx *c = ctx_of(req);
	struct fuse_entry_param e;
	int rc;
	if (lsmdir_owns(parent)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	memset(&e, 0, sizeof e);
	rc = ns_make(fs, parent, name, S_IFREG | (mode & 07777), 0, NULL,
		     fc->uid, fc->gid, &e.attr);
	if (!rc) {
		rc = file_open(fs, e.attr.st_ino);
		if (rc)
			ns_forget(fs, e.attr.st_ino, 1);
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = e.attr.st_ino;
	e.attr_timeout = c->attr_timeout;
	e.entry_timeout = c->entry_timeout;
	fi->fh = 0;
	fi->keep_cache = 1;
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		file_release(fs, e.ino);
		ns_forget(fs, e.ino, 1);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	size_t n = 0;
	int rc;
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (lsmdir_owns(ino))
		rc = lsmdir_read(fs_of(req), ino, fi->fh, (uint64_t)off, size,
				 buf, &n);
	else
		rc = file_read(fs_of(req), ino, (uint64_t)off, size, buf, &n);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	int rc = lsmdir_owns(ino)
			 ? -EROFS
			 : file_write(fs_of(req), ino, (uint64_t)off, buf, size);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	int rc = lsmdir_owns(ino) ? 0 : file_flush(fs_of(req), ino);
	fuse_reply_err(req, -rc);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	if (lsmdir_owns(ino))
		lsmdir_release_file(fs_of(req), ino, fi->fh);
	else
		file_release(fs_of(req), ino);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	int rc = lsmdir_owns(ino) ? 0 : file_sync(fs_of(req), ino);
	fuse_reply_err(req, -rc);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, -file_sync(fs_of(req), 0));
}

/* An open directory: its listing, read at offset 0 and served from here
 * for the following offsets, so a listing is one consistent view. */
struct dirhandle {
	pthread_mutex_t mu;
	struct dirlist dl; /* protected by mu */
	int loaded;        /* protected by mu */
};

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	struct dirhandle *dh = calloc(1, sizeof *dh);
	if (!dh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&dh->mu, NULL);
	fi->fh = (uintptr_t)dh;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		pthread_mutex_destroy(&dh->mu);
		free(dh);
	}
}

/* Fills one entry for readdirplus; returns its size (0: skip it). */
static size_t add_plus(fuse_req_t req, char *buf, size_t room,
		       const struct dirlist_ent *ent, off_t next, int *err)
{
	struct ops_ctx *c = ctx_of(req);
	struct fuse_entry_param e;
	int rc = 0;
	memset(&e, 0, sizeof e);
	if (strcmp(ent->name, ".") == 0 || strcmp(ent->name, "..") == 0) {
		e.attr.st_ino = ent->ino;
		e.attr.st_mode = DTTOIF(ent->type);
	} else {
		rc = lsmdir_owns(ent->ino)
			     ? lsmdir_getattr(c->fs, ent->ino, &e.attr)
			     : ns_get_ref(c->fs, ent->ino, &e.attr);
		if (rc == -ENOENT)
			return 0; /* removed since the listing was read */
		if (rc) {
			*err = rc;
			return 0;
		}
		e.ino = ent->ino;
		e.attr_timeout = attr_timeout_of(c, e.ino);
		e.entry_timeout = entry_timeout_of(c, e.ino);
	}
	size_t n = fuse_add_direntry_plus(req, buf, room, ent->name, &e, next);
	if (n > room && e.ino && !lsmdir_owns(e.ino))
		ns_forget(c->fs, e.ino, 1); /* did not fit: not handed out */
	return n;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi, int plus)
{
	struct dirhandle *dh = (struct dirhandle *)(uintptr_t)fi->fh;
	struct lsmfs *fs = fs_of(req);
	char *buf = NULL;
	size_t pos = 0;
	int rc = 0;

	pthread_mutex_lock(&dh->mu);
	if (off == 0 || !dh->loaded) {
		dirlist_release(&dh->dl);
		dh->loaded = 0;
		rc = lsmdir_owns(ino) ? lsmdir_readdir(fs, ino, &dh->dl)
				      : ns_readdir(fs, ino, &dh->dl);
		if (rc)
			goto out;
		dh->loaded = 1;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = (size_t)off; i < dh->dl.n && pos < size; i++) {
		const struct dirlist_ent *ent = &dh->dl.v[i];
		size_t n;
		if (plus) {
			n = add_plus(req, buf + pos, size - pos, ent,
				     (off_t)i + 1, &rc);
			if (rc)
				break;
		} else {
			struct stat st;
			memset(&st, 0, sizeof st);
			st.st_ino = ent->ino;
			st.st_mode = DTTOIF(ent->type);
			n = fuse_add_direntry(req, buf + pos, size - pos,
					      ent->name, &st, (off_t)i + 1);
		}
		if (n > size - pos)
			break;
		pos += n;
	}
	/* an error after some entries: return what fits, as the kernel
	 * will ask again from the next offset */
	if (rc && pos)
		rc = 0;
out:
	pthread_mutex_unlock(&dh->mu);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, pos);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	struct dirhandle *dh = (struct dirhandle *)(uintptr_t)fi->fh;
	dirlist_release(&dh->dl);
	pthread_mutex_destroy(&dh->mu);
	free(dh);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	(void)ino;
	int rc = attr_statfs(fs_of(req), &sv);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_statfs(req, &sv);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	int rc = lsmdir_owns(ino)
			 ? -EROFS
			 : xattr_set(fs_of(req), ino, name, value, size, flags);
	fuse_reply_err(req, -rc);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	char *v = NULL;
	size_t n = 0;
	int rc = lsmdir_owns(ino) ? -ENODATA
				  : xattr_get(fs_of(req), ino, name, &v, &n);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, n);
	else if (n > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v, n);
	free(v);
}

/* Removes the trusted.* names from the NUL-separated list v of *n bytes:
 * local file systems list them only to CAP_SYS_ADMIN, which the kernel
 * leaves to us (we take uid 0 for it). */
static void drop_trusted(char *v, size_t *n)
{
	size_t in = 0, out = 0;
	while (in < *n) {
		size_t len = strnlen(v + in, *n - in) + 1;
		if (strncmp(v + in, "trusted.", 8) != 0) {
			memmove(v + out, v + in, len);
			out += len;
		}
		in += len;
	}
	*n = out;
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *v = NULL;
	size_t n = 0;
	int rc = lsmdir_owns(ino) ? 0 : xattr_list(fs_of(req), ino, &v, &n);
	if (!rc && fuse_req_ctx(req)->uid != 0)
		drop_trusted(v, &n);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, n);
	else if (n > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v, n);
	free(v);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	int rc = lsmdir_owns(ino) ? -EROFS
				  : xattr_remove(fs_of(req), ino, name);
	fuse_reply_err(req, -rc);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t offset, off_t length, struct fuse_file_info *fi)
{
	(void)fi;
	int rc;
	if (lsmdir_owns(ino))
		rc = -EROFS;
	else if (offset < 0 || length <= 0)
		rc = -EINVAL;
	else
		rc = file_fallocate(fs_of(req), ino, mode, (uint64_t)offset,
				    (uint64_t)length);
	fuse_reply_err(req, -rc);
}

const struct fuse_lowlevel_ops lsmfs_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.symlink = op_symlink,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};
