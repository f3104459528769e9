/* ns.c - namespace operations: lookup, create, link, unlink, rmdir, rename,
 * readdir; see lsmfs.h. Each change is one engine batch. */
#include "config.h"
#include "lsmfs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "keyspace.h"
#include "log.h"
#include "lsmdir.h"
#include "ns_internal.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

struct inode_node *node_lock(struct lsmfs *fs, uint64_t ino, int exclusive)
{
	struct inode_node *n = itable_get(&fs->itable, ino);
	if (!n)
		return NULL;
	if (exclusive)
		pthread_rwlock_wrlock(&n->lock);
	else
		pthread_rwlock_rdlock(&n->lock);
	return n;
}

void node_unlock(struct lsmfs *fs, struct inode_node *n)
{
	uint64_t ino;
	if (!n)
		return;
	ino = n->ino;
	pthread_rwlock_unlock(&n->lock);
	if (itable_put(&fs->itable, n))
		ns_purge(fs, ino);
}

static int is_reserved(uint64_t parent, const char *name)
{
	return parent == KS_ROOT_INO && strcmp(name, KS_RESERVED_NAME) == 0;
}

static int dentry_get(struct lsmfs *fs, uint64_t parent, const char *name,
		      uint64_t *ino, uint8_t *type)
{
	char key[KS_NAME_KEY_MAX];
	char *v;
	size_t vlen;
	size_t klen = ks_dentry_key(key, parent, name, strlen(name));
	int rc = lsm_get(fs->db, NULL, key, klen, &v, &vlen);
	if (rc)
		return rc;
	rc = ks_dentry_decode(v, vlen, ino, type);
	if (rc)
		lsm_log("corrupt dentry '%s' in directory %llu", name,
			(unsigned long long)parent);
	free(v);
	return rc;
}

static int dentry_put(struct lsm_batch *b, uint64_t parent, const char *name,
		      uint64_t ino, uint8_t type)
{
	char key[KS_NAME_KEY_MAX], val[KS_DENTRY_VAL_LEN];
	ks_dentry_encode(val, ino, type);
	return lsm_batch_put(b, key,
			     ks_dentry_key(key, parent, name, strlen(name)),
			     val, sizeof val);
}

static int dentry_del(struct lsm_batch *b, uint64_t parent, const char *name)
{
	char key[KS_NAME_KEY_MAX];
	return lsm_batch_delete(b, key,
				ks_dentry_key(key, parent, name, strlen(name)));
}

static int orphan_put(struct lsm_batch *b, uint64_t ino)
{
	char key[KS_INO_KEY_LEN];
	return lsm_batch_put(b, key, ks_orphan_key(key, ino), "", 0);
}

/* Loads a live directory: -ENOTDIR for anything else, -ENOENT once it has
 * been removed (the kernel may still hold it). */
static int load_dir(struct lsmfs *fs, uint64_t ino, struct inode_rec *r)
{
	int rc = inode_load(fs->db, NULL, ino, r);
	if (rc)
		return rc;
	if (!S_ISDIR(r->a.mode))
		rc = -ENOTDIR;
	else if (r->a.nlink == 0)
		rc = -ENOENT;
	if (rc)
		inode_rec_release(r);
	return rc;
}

/* 1 when directory ino has no entries, 0 when it has, or an error. */
static int dir_empty(struct lsmfs *fs, uint64_t ino)
{
	struct lsm_iter *it;
	char pfx[9];
	size_t plen = ks_prefix_key(pfx, KS_DENTRY, ino);
	int rc = lsm_iter_new(fs->db, NULL, &it);
	if (rc)
		return rc;
	lsm_iter_seek(it, pfx, plen);
	if (lsm_iter_valid(it)) {
		size_t klen;
		const char *k = lsm_iter_key(it, &klen);
		rc = klen > plen && memcmp(k, pfx, plen) == 0 ? 0 : 1;
	} else {
		rc = lsm_iter_status(it);
		if (!rc)
			rc = 1;
	}
	lsm_iter_free(it);
	return rc;
}

static int name_check(const char *name)
{
	return strlen(name) > KS_NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Counts a reference the kernel now holds on ino. */
static void kernel_ref(struct lsmfs *fs, uint64_t ino)
{
	struct inode_node *n = itable_get(&fs->itable, ino);
	if (n) {
		itable_ref(&fs->itable, n);
		itable_put(&fs->itable, n);
	}
}

int ns_lookup(struct lsmfs *fs, uint64_t parent, const char *name,
	      struct stat *st)
{
	struct inode_rec r;
	uint64_t ino = parent;
	uint8_t type;
	int rc = name_check(name);
	if (rc)
		return rc;
	if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0) {
		/* asked only for NFS-style reconnection */
		rc = load_dir(fs, parent, &r);
		if (rc)
			return rc;
		if (name[1] == '.')
			ino = r.a.parent;
		inode_rec_release(&r);
	} else {
		rc = dentry_get(fs, parent, name, &ino, &type);
		if (rc)
			return rc;
	}
	rc = attr_get(fs, ino, st); /* with buffered writes (file.c) */
	if (rc)
		return rc; /* -ENOENT: unlinked and purged meanwhile */
	kernel_ref(fs, ino);
	return 0;
}

static void touch_dir(struct inode_rec *dir, int dlink, struct inode_time now)
{
	dir->a.nlink += dlink;
	dir->a.mtime = dir->a.ctime = now;
}

int ns_make(struct lsmfs *fs, uint64_t parent, const char *name,
	    uint32_t mode, uint64_t rdev, const char *target, uint32_t uid,
	    uint32_t gid, struct stat *st)
{
	struct inode_rec pr = { 0 }, r = { 0 };
	struct lsm_batch *b = NULL;
	struct inode_node *pn;
	struct inode_time now;
	uint64_t ino, existing;
	uint8_t type;
	int rc = name_check(name);
	if (rc)
		return rc;
	if (is_reserved(parent, name))
		return -EEXIST;
	if (target && strlen(target) > INODE_TARGET_MAX)
		return -ENAMETOOLONG;
	pn = node_lock(fs, parent, 1);
	if (!pn)
		return -ENOMEM;
	rc = load_dir(fs, parent, &pr);
	if (rc)
		goto out;
	rc = dentry_get(fs, parent, name, &existing, &type);
	if (rc == 0)
		rc = -EEXIST;
	if (rc != -ENOENT)
		goto out;
	rc = ns_ialloc(fs, &ino);
	if (rc)
		goto out;

	now = inode_now();
	r.a.mode = mode;
	r.a.uid = uid;
	r.a.gid = gid;
	if (pr.a.mode & S_ISGID) {
		/* BSD group semantics in a set-group-ID directory */
		r.a.gid = pr.a.gid;
		if (S_ISDIR(mode))
			r.a.mode |= S_ISGID;
	}
	r.a.nlink = S_ISDIR(mode) ? 2 : 1;
	r.a.atime = r.a.mtime = r.a.ctime = now;
	r.a.rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;
	r.a.parent = S_ISDIR(mode) ? parent : 0;
	if (target) {
		r.tlen = strlen(target);
		r.a.size = r.tlen;
		r.target = strdup(target);
		if (!r.target) {
			rc = -ENOMEM;
			goto out;
		}
	}
	touch_dir(&pr, S_ISDIR(mode) ? 1 : 0, now);

	rc = lsm_batch_new(&b);
	if (!rc)
		rc = dentry_put(b, parent, name, ino, IFTODT(mode));
	if (!rc)
		rc = inode_store(b, ino, &r);
	if (!rc)
		rc = inode_store(b, parent, &pr);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
	if (rc)
		goto out;
	inode_to_stat(&r.a, ino, st);
	kernel_ref(fs, ino);
out:
	lsm_batch_free(b);
	inode_rec_release(&r);
	inode_rec_release(&pr);
	node_unlock(fs, pn);
	return rc;
}

int ns_link(struct lsmfs *fs, uint64_t ino, uint64_t newparent,
	    const char *newname, struct stat *st)
{
	struct inode_rec pr = { 0 }, r = { 0 };
	struct lsm_batch *b = NULL;
	struct inode_node *pn = NULL, *n = NULL;
	struct inode_time now = inode_now();
	uint64_t existing;
	uint8_t type;
	int rc = name_check(newname);
	if (rc)
		return rc;
	if (is_reserved(newparent, newname))
		return -EEXIST;
	if (ino == newparent)
		return -EPERM; /* a directory */
	pn = node_lock(fs, newparent, 1);
	n = pn ? node_lock(fs, ino, 1) : NULL;
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	rc = load_dir(fs, newparent, &pr);
	if (rc)
		goto out;
	rc = dentry_get(fs, newparent, newname, &existing, &type);
	if (rc == 0)
		rc = -EEXIST;
	if (rc != -ENOENT)
		goto out;
	rc = inode_load(fs->db, NULL, ino, &r);
	if (rc)
		goto out;
	if (S_ISDIR(r.a.mode))
		rc = -EPERM;
	else if (r.a.nlink == 0)
		rc = -ENOENT;
	else if (r.a.nlink >= UINT32_MAX - 1)
		rc = -EMLINK;
	if (rc)
		goto out;
	r.a.nlink++;
	r.a.ctime = now;
	touch_dir(&pr, 0, now);
	rc = lsm_batch_new(&b);
	if (!rc)
		rc = dentry_put(b, newparent, newname, ino, IFTODT(r.a.mode));
	if (!rc)
		rc = inode_store(b, ino, &r);
	if (!rc)
		rc = inode_store(b, newparent, &pr);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
	if (rc)
		goto out;
	file_wb_attr(n, &r.a); /* the size of buffered writes (file.c) */
	inode_to_stat(&r.a, ino, st);
	kernel_ref(fs, ino);
out:
	lsm_batch_free(b);
	inode_rec_release(&r);
	inode_rec_release(&pr);
	node_unlock(fs, n);
	node_unlock(fs, pn);
	return rc;
}

/* Drops one name of the inode in r (a replaced rename target or an
 * unlinked name): adds its record, and an orphan record when it was the
 * last name, to b. Returns 1 when the inode is now unlinked, or an error. */
static int drop_name(struct lsm_batch *b, uint64_t ino, struct inode_rec *r,
		     struct inode_time now)
{
	int rc;
	if (S_ISDIR(r->a.mode) || r->a.nlink <= 1)
		r->a.nlink = 0;
	else
		r->a.nlink--;
	r->a.ctime = now;
	rc = inode_store(b, ino, r);
	if (!rc && r->a.nlink == 0) {
		rc = orphan_put(b, ino);
		if (!rc)
			rc = 1;
	}
	return rc;
}

static int ns_remove(struct lsmfs *fs, uint64_t parent, const char *name,
		     int dir)
{
	struct inode_rec pr = { 0 }, r = { 0 };
	struct lsm_batch *b = NULL;
	struct inode_node *pn, *n = NULL;
	struct inode_time now = inode_now();
	uint64_t ino;
	uint8_t type;
	int rc = name_check(name), unlinked;
	if (rc)
		return rc;
	if (is_reserved(parent, name))
		return -EROFS;
	pn = node_lock(fs, parent, 1);
	if (!pn)
		return -ENOMEM;
	rc = load_dir(fs, parent, &pr);
	if (!rc)
		rc = dentry_get(fs, parent, name, &ino, &type);
	if (rc)
		goto out;
	n = node_lock(fs, ino, 1);
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	rc = inode_load(fs->db, NULL, ino, &r);
	if (rc)
		goto out;
	if (dir && !S_ISDIR(r.a.mode))
		rc = -ENOTDIR;
	else if (!dir && S_ISDIR(r.a.mode))
		rc = -EISDIR;
	else if (dir)
		rc = dir_empty(fs, ino) == 1 ? 0 : -ENOTEMPTY;
	if (rc)
		goto out;
	touch_dir(&pr, dir ? -1 : 0, now);
	rc = lsm_batch_new(&b);
	if (!rc)
		rc = dentry_del(b, parent, name);
	if (!rc)
		rc = inode_store(b, parent, &pr);
	unlinked = rc ? rc : drop_name(b, ino, &r, now);
	rc = unlinked < 0 ? unlinked : 0;
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
	if (!rc && unlinked == 1)
		itable_set_unlinked(&fs->itable, n);
out:
	lsm_batch_free(b);
	inode_rec_release(&r);
	inode_rec_release(&pr);
	node_unlock(fs, n);
	node_unlock(fs, pn);
	return rc;
}

int ns_unlink(struct lsmfs *fs, uint64_t parent, const char *name)
{
	return ns_remove(fs, parent, name, 0);
}

int ns_rmdir(struct lsmfs *fs, uint64_t parent, const char *name)
{
	if (strcmp(name, ".") == 0)
		return -EINVAL;
	if (strcmp(name, "..") == 0)
		return -ENOTEMPTY;
	return ns_remove(fs, parent, name, 1);
}

/*
 * -EINVAL when directory anc is start or one of its ancestors. The walk to
 * the root has no depth limit, as a local file system has none (a tree
 * deeper than PATH_MAX is made with relative paths); a loop in the parent
 * chain, which only a corrupt store holds, is caught by Brent's cycle
 * detection (mark moves to cur after 1, 2, 4, ... steps) and gives -EIO.
 */
static int check_not_ancestor(struct lsmfs *fs, uint64_t anc, uint64_t start)
{
	uint64_t cur = start, mark = start, steps = 0, power = 1;
	for (;;) {
		struct inode_rec r;
		if (cur == anc)
			return -EINVAL;
		if (cur == KS_ROOT_INO)
			return 0;
		int rc = inode_load(fs->db, NULL, cur, &r);
		if (rc)
			return rc;
		cur = r.a.parent;
		inode_rec_release(&r);
		if (cur == mark) {
			lsm_log("directory %llu: parent chain loops at %llu",
				(unsigned long long)start,
				(unsigned long long)cur);
			return -EIO;
		}
		if (++steps == power) {
			mark = cur;
			power *= 2;
			steps = 0;
		}
	}
}

struct rename_ctx {
	uint64_t sino, dino; /* dino 0: no target */
	uint8_t stype, dtype;
	struct inode_rec pr, npr, sr, dr;
	struct inode_node *pn[2], *cn[2];
};

/* Adds the rename to b. Returns 1 when the target lost its last name. */
static int rename_build(struct lsmfs *fs, struct rename_ctx *c,
			uint64_t parent, const char *name, uint64_t newparent,
			const char *newname, unsigned flags,
			struct lsm_batch *b)
{
	struct inode_time now = inode_now();
	int same = parent == newparent;
	struct inode_rec *p = &c->pr, *np = same ? &c->pr : &c->npr;
	int sdir = c->stype == DT_DIR, ddir = c->dino && c->dtype == DT_DIR;
	int rc, unlinked = 0;

	(void)fs;
	c->sr.a.ctime = now;
	if (flags & RENAME_EXCHANGE) {
		c->dr.a.ctime = now;
		rc = dentry_put(b, parent, name, c->dino, c->dtype);
		if (!rc)
			rc = dentry_put(b, newparent, newname, c->sino,
					c->stype);
		if (!same && sdir) {
			c->sr.a.parent = newparent;
			p->a.nlink--;
			np->a.nlink++;
		}
		if (!same && ddir) {
			c->dr.a.parent = parent;
			np->a.nlink--;
			p->a.nlink++;
		}
		if (!rc)
			rc = inode_store(b, c->dino, &c->dr);
	} else {
		rc = dentry_del(b, parent, name);
		if (!rc)
			rc = dentry_put(b, newparent, newname, c->sino,
					c->stype);
		if (!same && sdir) {
			c->sr.a.parent = newparent;
			p->a.nlink--;
			np->a.nlink++;
		}
		if (!rc && c->dino) {
			if (ddir)
				np->a.nlink--;
			unlinked = drop_name(b, c->dino, &c->dr, now);
			rc = unlinked < 0 ? unlinked : 0;
		}
	}
	if (!rc)
		rc = inode_store(b, c->sino, &c->sr);
	touch_dir(p, 0, now);
	touch_dir(np, 0, now);
	if (!rc)
		rc = inode_store(b, parent, p);
	if (!rc && !same)
		rc = inode_store(b, newparent, np);
	return rc ? rc : unlinked;
}

/* Checks names and the rename's legality before the entries are locked. */
static int rename_check(struct lsmfs *fs, struct rename_ctx *c,
			uint64_t parent, const char *name, uint64_t newparent,
			const char *newname, unsigned flags)
{
	int rc = dentry_get(fs, parent, name, &c->sino, &c->stype);
	if (rc)
		return rc;
	rc = dentry_get(fs, newparent, newname, &c->dino, &c->dtype);
	if (rc == -ENOENT)
		c->dino = 0;
	else if (rc)
		return rc;
	if (c->dino == c->sino)
		return 1; /* two names of one inode: nothing to do */
	if ((flags & RENAME_EXCHANGE) && !c->dino)
		return -ENOENT;
	if ((flags & RENAME_NOREPLACE) && c->dino)
		return -EEXIST;
	int sdir = c->stype == DT_DIR, ddir = c->dino && c->dtype == DT_DIR;
	if (!(flags & RENAME_EXCHANGE) && c->dino) {
		if (sdir && !ddir)
			return -ENOTDIR;
		if (!sdir && ddir)
			return -EISDIR;
	}
	if (c->dino && c->dino == parent)
		return (flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
	if (c->sino == newparent)
		return -EINVAL;
	if (parent != newparent && sdir) {
		rc = check_not_ancestor(fs, c->sino, newparent);
		if (rc)
			return rc;
	}
	if (parent != newparent && ddir && (flags & RENAME_EXCHANGE))
		return check_not_ancestor(fs, c->dino, parent);
	return 0;
}

int ns_rename(struct lsmfs *fs, uint64_t parent, const char *name,
	      uint64_t newparent, const char *newname, unsigned flags)
{
	struct rename_ctx c;
	struct lsm_batch *b = NULL;
	int rc, unlinked = 0;

	if ((flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)))
		return -EINVAL;
	if ((rc = name_check(name)) || (rc = name_check(newname)))
		return rc;
	if (is_reserved(parent, name) || is_reserved(newparent, newname))
		return -EBUSY;
	memset(&c, 0, sizeof c);
	/* directories first, in inode order */
	uint64_t lo = parent < newparent ? parent : newparent;
	uint64_t hi = parent < newparent ? newparent : parent;
	c.pn[0] = node_lock(fs, lo, 1);
	c.pn[1] = lo != hi && c.pn[0] ? node_lock(fs, hi, 1) : NULL;
	if (!c.pn[0] || (lo != hi && !c.pn[1])) {
		rc = -ENOMEM;
		goto out;
	}
	rc = load_dir(fs, parent, &c.pr);
	if (!rc && parent != newparent)
		rc = load_dir(fs, newparent, &c.npr);
	if (!rc)
		rc = rename_check(fs, &c, parent, name, newparent, newname,
				  flags);
	if (rc)
		goto out;
	/* then the entries, in inode order */
	lo = c.dino && c.dino < c.sino ? c.dino : c.sino;
	hi = c.dino && c.dino > c.sino ? c.dino : c.sino;
	c.cn[0] = node_lock(fs, lo, 1);
	c.cn[1] = lo != hi && c.cn[0] ? node_lock(fs, hi, 1) : NULL;
	if (!c.cn[0] || (lo != hi && !c.cn[1])) {
		rc = -ENOMEM;
		goto out;
	}
	rc = inode_load(fs->db, NULL, c.sino, &c.sr);
	if (!rc && c.dino)
		rc = inode_load(fs->db, NULL, c.dino, &c.dr);
	if (rc)
		goto out;
	if (c.dino && !(flags & RENAME_EXCHANGE) && S_ISDIR(c.dr.a.mode) &&
	    dir_empty(fs, c.dino) != 1) {
		rc = -ENOTEMPTY;
		goto out;
	}
	rc = lsm_batch_new(&b);
	if (!rc)
		rc = unlinked = rename_build(fs, &c, parent, name, newparent,
					     newname, flags, b);
	if (rc >= 0)
		rc = lsm_write(fs->db, b, fs->write_flags);
	if (!rc && unlinked == 1) {
		struct inode_node *dn = c.cn[0]->ino == c.dino ? c.cn[0]
							       : c.cn[1];
		itable_set_unlinked(&fs->itable, dn);
	}
out:
	if (rc == 1)
		rc = 0;
	lsm_batch_free(b);
	inode_rec_release(&c.pr);
	inode_rec_release(&c.npr);
	inode_rec_release(&c.sr);
	inode_rec_release(&c.dr);
	node_unlock(fs, c.cn[1]);
	node_unlock(fs, c.cn[0]);
	node_unlock(fs, c.pn[1]);
	node_unlock(fs, c.pn[0]);
	return rc;
}

int ns_readdir(struct lsmfs *fs, uint64_t ino, struct dirlist *dl)
{
	struct inode_rec r;
	struct lsm_iter *it;
	char pfx[9];
	size_t plen = ks_prefix_key(pfx, KS_DENTRY, ino);
	int rc = load_dir(fs, ino, &r);
	if (rc)
		return rc;
	rc = dirlist_add(dl, ".", 1, ino, DT_DIR);
	if (!rc)
		rc = dirlist_add(dl, "..", 2, r.a.parent, DT_DIR);
	inode_rec_release(&r);
	/* .lsm is reachable by name but not listed (like ZFS's hidden
	 * .zfs): cp -r, tar, rsync and find of the mount copy the files,
	 * not a second view of the engine's tables */
	if (rc)
		return rc;
	rc = lsm_iter_new(fs->db, NULL, &it);
	if (rc)
		return rc;
	for (lsm_iter_seek(it, pfx, plen); lsm_iter_valid(it);
	     lsm_iter_next(it)) {
		size_t klen, vlen;
		const char *k = lsm_iter_key(it, &klen);
		if (klen < plen || memcmp(k, pfx, plen) != 0)
			break;
		const char *v = lsm_iter_value(it, &vlen);
		uint64_t child;
		uint8_t type;
		if (klen == plen || ks_dentry_decode(v, vlen, &child, &type)) {
			lsm_log("corrupt dentry in directory %llu",
				(unsigned long long)ino);
			rc = -EIO;
			break;
		}
		rc = dirlist_add(dl, k + plen, klen - plen, child, type);
		if (rc)
			break;
	}
	if (!rc)
		rc = lsm_iter_status(it);
	lsm_iter_free(it);
	return rc;
}

int ns_get_ref(struct lsmfs *fs, uint64_t ino, struct stat *st)
{
	int rc = attr_get(fs, ino, st);
	if (!rc)
		kernel_ref(fs, ino);
	return rc;
}

void ns_forget(struct lsmfs *fs, uint64_t ino, uint64_t nlookup)
{
	if (itable_forget(&fs->itable, ino, nlookup))
		ns_purge(fs, ino);
}
