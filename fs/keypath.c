/* keypath.c - whole files addressed by path (the keys tools/lsm shows);
 * see keyspace.h for the contracts. */
#include "config.h"
#include "keyspace.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "filedata.h"
#include "inode.h"
#include "log.h"

int ks_path_validate(const char *key, size_t klen, const char **reason)
{
	const char *why = NULL;
	int rc = -EINVAL;

	if (klen == 0)
		why = "empty key";
	else if (klen >= KS_PATH_MAX)
		why = "key is 4096 bytes or longer", rc = -ENAMETOOLONG;
	else if (memchr(key, '\0', klen))
		why = "key contains a NUL byte";
	else if (key[0] == '/')
		why = "key starts with '/'";
	else if (key[klen - 1] == '/')
		why = "key ends with '/'";
	for (size_t s = 0; !why && s < klen;) {
		const char *slash = memchr(key + s, '/', klen - s);
		size_t e = slash ? (size_t)(slash - key) : klen;
		size_t n = e - s;
		if (n == 0)
			why = "empty path component";
		else if ((n == 1 && key[s] == '.') ||
			 (n == 2 && key[s] == '.' && key[s + 1] == '.'))
			why = "'.' or '..' path component";
		else if (n > KS_NAME_MAX)
			why = "path component longer than 255 bytes",
			rc = -ENAMETOOLONG;
		else if (s == 0 && n == strlen(KS_RESERVED_NAME) &&
			 memcmp(key, KS_RESERVED_NAME, n) == 0)
			why = "'.lsm' is reserved for the statistics directory";
		s = e + 1;
	}
	if (reason)
		*reason = why;
	return why ? rc : 0;
}

static int lookup(struct lsm_db *db, const struct lsm_snapshot *snap,
		  uint64_t parent, const char *name, size_t nlen,
		  uint64_t *ino, uint8_t *type)
{
	char key[KS_NAME_KEY_MAX];
	char *v;
	size_t vlen;
	int rc = lsm_get(db, snap, key, ks_dentry_key(key, parent, name, nlen),
			 &v, &vlen);
	if (rc)
		return rc;
	rc = ks_dentry_decode(v, vlen, ino, type);
	if (rc)
		lsm_log("corrupt dentry in directory %llu: %zu-byte value",
			(unsigned long long)parent, vlen);
	free(v);
	return rc;
}

static int attr_load(struct lsm_db *db, const struct lsm_snapshot *snap,
		     uint64_t ino, struct inode_attr *a)
{
	char key[KS_INO_KEY_LEN];
	char *v;
	size_t vlen;
	int rc = lsm_get(db, snap, key, ks_inode_key(key, ino), &v, &vlen);
	if (rc == -ENOENT) {
		lsm_log("dangling dentry: inode %llu has no record",
			(unsigned long long)ino);
		return -EIO;
	}
	if (rc)
		return rc;
	rc = inode_decode(v, vlen, a, NULL, NULL);
	if (rc)
		lsm_log("corrupt inode record %llu", (unsigned long long)ino);
	free(v);
	return rc;
}

static int attr_put(struct lsm_batch *b, uint64_t ino,
		    const struct inode_attr *a)
{
	char key[KS_INO_KEY_LEN];
	struct buf rec = BUF_INIT;
	int rc = inode_encode(a, NULL, 0, &rec);
	if (!rc)
		rc = lsm_batch_put(b, key, ks_inode_key(key, ino), rec.data,
				   rec.len);
	buf_release(&rec);
	return rc;
}

/*
 * Walks the components of a valid key but the last; on success *dir is the
 * directory holding the last component, which *name and
 * *nlen describe.
 */
static int resolve_dir(struct lsm_db *db, const struct lsm_snapshot *snap,
		       const char *key, size_t klen, uint64_t *dir,
		       const char **name, size_t *nlen)
{
	uint64_t cur = KS_ROOT_INO;
	size_t s = 0;
	for (;;) {
		const char *slash = memchr(key + s, '/', klen - s);
		if (!slash)
			break;
		size_t e = (size_t)(slash - key);
		uint64_t ino;
		uint8_t type;
		int rc = lookup(db, snap, cur, key + s, e - s, &ino, &type);
		if (rc)
			return rc;
		if (type != DT_DIR)
			return -ENOTDIR;
		cur = ino;
		s = e + 1;
	}
	*dir = cur;
	*name = key + s;
	*nlen = klen - s;
	return 0;
}

int ks_path_stat(struct lsm_db *db, const char *key, size_t klen,
		 struct ks_stat *st)
{
	const char *name;
	size_t nlen;
	uint64_t dir, ino;
	uint8_t type;
	struct inode_attr a;
	int rc = ks_path_validate(key, klen, NULL);
	if (!rc)
		rc = resolve_dir(db, NULL, key, klen, &dir, &name, &nlen);
	if (!rc)
		rc = lookup(db, NULL, dir, name, nlen, &ino, &type);
	if (!rc)
		rc = attr_load(db, NULL, ino, &a);
	if (rc)
		return rc;
	st->ino = ino;
	st->mode = a.mode;
	st->size = a.size;
	st->nlink = a.nlink;
	return 0;
}

int ks_file_read(struct lsm_db *db, const char *key, size_t klen,
		 char **val, size_t *vlen)
{
	struct ks_stat st;
	int rc = ks_path_stat(db, key, klen, &st);
	if (rc)
		return rc;
	if (S_ISDIR(st.mode))
		return -EISDIR;
	if (!S_ISREG(st.mode))
		return -EINVAL;
	if (st.size >= SIZE_MAX)
		return -ENOMEM;
	char *out = malloc((size_t)st.size + 1);
	if (!out)
		return -ENOMEM;
	size_t n;
	rc = fdata_read(db, NULL, st.ino, st.size, 0, (size_t)st.size, out, &n);
	if (rc) {
		free(out);
		return rc;
	}
	out[n] = '\0';
	*val = out;
	*vlen = n;
	return 0;
}

static void new_attr(struct inode_attr *a, uint32_t mode, uint64_t parent,
		     struct inode_time now)
{
	memset(a, 0, sizeof *a);
	a->mode = mode;
	a->uid = geteuid();
	a->gid = getegid();
	a->nlink = S_ISDIR(mode) ? 2 : 1;
	a->atime = a->mtime = a->ctime = now;
	a->parent = S_ISDIR(mode) ? parent : 0;
}

static int dentry_put(struct lsm_batch *b, uint64_t parent, const char *name,
		      size_t nlen, uint64_t ino, uint8_t type)
{
	char key[KS_NAME_KEY_MAX], val[KS_DENTRY_VAL_LEN];
	ks_dentry_encode(val, ino, type);
	return lsm_batch_put(b, key, ks_dentry_key(key, parent, name, nlen),
			     val, sizeof val);
}

/* Touches the existing directory dir: mtime/ctime = now, nlink += dlink. */
static int dir_touch(struct lsm_db *db, struct lsm_batch *b, uint64_t dir,
		     int dlink, struct inode_time now)
{
	struct inode_attr a;
	int rc = attr_load(db, NULL, dir, &a);
	if (rc)
		return rc;
	a.nlink += dlink;
	a.mtime = a.ctime = now;
	return attr_put(b, dir, &a);
}

/* Builds in b the writes of ks_file_write; *sb is advanced for new inodes. */
static int build_write(struct lsm_db *db, const char *key, size_t klen,
		       const void *val, size_t vlen, struct ks_super *sb,
		       struct lsm_batch *b)
{
	struct inode_time now = inode_now();
	struct inode_attr a;
	uint64_t cur = KS_ROOT_INO, ino;
	uint8_t type;
	int creating = 0, rc;
	size_t s = 0;

	for (;;) {
		const char *slash = memchr(key + s, '/', klen - s);
		size_t e = slash ? (size_t)(slash - key) : klen;
		const char *name = key + s;
		size_t nlen = e - s;
		int last = !slash;
		if (!creating) {
			rc = lookup(db, NULL, cur, name, nlen, &ino, &type);
			if (rc && rc != -ENOENT)
				return rc;
			if (rc == -ENOENT) {
				creating = 1;
				rc = dir_touch(db, b, cur, last ? 0 : 1, now);
				if (rc)
					return rc;
			}
		}
		if (!creating && !last) {
			if (type != DT_DIR)
				return -ENOTDIR;
			cur = ino;
			s = e + 1;
			continue;
		}
		if (!creating) {
			/* replace the content of an existing file */
			if (type == DT_DIR)
				return -EISDIR;
			rc = attr_load(db, NULL, ino, &a);
			if (rc)
				return rc;
			if (S_ISDIR(a.mode))
				return -EISDIR;
			if (!S_ISREG(a.mode))
				return -EINVAL;
			rc = fdata_replace(db, ino, &a, val, vlen, b);
			a.mtime = a.ctime = now;
			return rc ? rc : attr_put(b, ino, &a);
		}
		ino = sb->next_ino++;
		if (ino >= KS_VIRTUAL_INO_BASE)
			return -ENOSPC;
		if (!last) {
			new_attr(&a, S_IFDIR | 0755, cur, now);
			/* its only child is a directory unless that child is
			 * the last component */
			if (memchr(key + e + 1, '/', klen - e - 1))
				a.nlink++;
			rc = dentry_put(b, cur, name, nlen, ino, DT_DIR);
			if (!rc)
				rc = attr_put(b, ino, &a);
			if (rc)
				return rc;
			cur = ino;
			s = e + 1;
			continue;
		}
		new_attr(&a, S_IFREG | 0644, cur, now);
		rc = fdata_replace(db, ino, &a, val, vlen, b);
		if (!rc)
			rc = dentry_put(b, cur, name, nlen, ino, DT_REG);
		return rc ? rc : attr_put(b, ino, &a);
	}
}

int ks_file_write(struct lsm_db *db, const char *key, size_t klen,
		  const void *val, size_t vlen, int flags)
{
	struct ks_super sb;
	struct lsm_batch *b = NULL;
	char skey[1], sval[KS_SUPER_LEN];
	int rc = ks_path_validate(key, klen, NULL);
	if (!rc)
		rc = ks_format(db);
	if (!rc)
		rc = ks_super_load(db, &sb);
	if (!rc)
		rc = lsm_batch_new(&b);
	if (rc)
		return rc;
	uint64_t next = sb.next_ino;
	rc = build_write(db, key, klen, val, vlen, &sb, b);
	if (!rc && sb.next_ino != next) {
		ks_super_encode(sval, &sb);
		rc = lsm_batch_put(b, skey, ks_super_key(skey), sval,
				   sizeof sval);
	}
	if (!rc)
		rc = lsm_write(db, b, flags);
	lsm_batch_free(b);
	return rc;
}

int ks_file_delete(struct lsm_db *db, const char *key, size_t klen,
		   int flags)
{
	struct lsm_batch *b = NULL;
	struct inode_attr a;
	struct inode_time now = inode_now();
	const char *name;
	size_t nlen;
	uint64_t dir, ino;
	uint8_t type;
	char dkey[KS_NAME_KEY_MAX];
	int rc = ks_path_validate(key, klen, NULL);
	if (!rc)
		rc = resolve_dir(db, NULL, key, klen, &dir, &name, &nlen);
	if (!rc)
		rc = lookup(db, NULL, dir, name, nlen, &ino, &type);
	if (!rc && type == DT_DIR)
		rc = -EISDIR;
	if (!rc)
		rc = attr_load(db, NULL, ino, &a);
	if (!rc && S_ISDIR(a.mode))
		rc = -EISDIR;
	if (!rc)
		rc = lsm_batch_new(&b);
	if (rc)
		return rc;
	rc = lsm_batch_delete(b, dkey, ks_dentry_key(dkey, dir, name, nlen));
	if (!rc)
		rc = dir_touch(db, b, dir, 0, now);
	if (!rc && a.nlink <= 1) {
		rc = ks_purge_inode(db, ino, b);
	} else if (!rc) {
		a.nlink--;
		a.ctime = now;
		rc = attr_put(b, ino, &a);
	}
	if (!rc)
		rc = lsm_write(db, b, flags);
	lsm_batch_free(b);
	return rc;
}

/* ---- ks_walk ---- */

struct walk_ent {
	char *name;
	size_t nlen;
	uint64_t ino;
	uint8_t type;
};

struct walk {
	struct lsm_db *db;
	const struct lsm_snapshot *snap;
	struct buf path; /* "dir/sub/" of the directory being listed */
	ks_walk_fn fn;
	void *ctx;
};

/* Orders entries as their full keys sort: a directory's name is followed
 * by '/' in every key below it. */
static int ent_cmp(const void *pa, const void *pb)
{
	const struct walk_ent *a = pa, *b = pb;
	size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
	int c = memcmp(a->name, b->name, n);
	if (c)
		return c;
	int ca = a->nlen > n ? (unsigned char)a->name[n]
			     : (a->type == DT_DIR ? '/' : -1);
	int cb = b->nlen > n ? (unsigned char)b->name[n]
			     : (b->type == DT_DIR ? '/' : -1);
	return (ca > cb) - (ca < cb);
}

static void ents_free(struct walk_ent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Collects the children of dir whose names start with rest. */
static int list_dir(struct walk *w, uint64_t dir, const char *rest,
		    size_t rlen, struct walk_ent **out, size_t *count)
{
	struct lsm_iter *it;
	struct walk_ent *v = NULL;
	size_t n = 0, cap = 0;
	char pfx[KS_NAME_KEY_MAX];
	size_t plen = ks_dentry_key(pfx, dir, rest, rlen);
	int rc = lsm_iter_new(w->db, w->snap, &it);
	if (rc)
		return rc;
	for (lsm_iter_seek(it, pfx, plen); lsm_iter_valid(it);
	     lsm_iter_next(it)) {
		size_t klen, vlen;
		const char *k = lsm_iter_key(it, &klen);
		if (klen < plen || memcmp(k, pfx, plen) != 0)
			break;
		const char *val = lsm_iter_value(it, &vlen);
		struct walk_ent e;
		if (klen == 9 || ks_dentry_decode(val, vlen, &e.ino, &e.type)) {
			lsm_log("corrupt dentry in directory %llu",
				(unsigned long long)dir);
			rc = -EIO;
			break;
		}
		e.nlen = klen - 9;
		if (dir == KS_ROOT_INO && e.nlen == strlen(KS_RESERVED_NAME) &&
		    memcmp(k + 9, KS_RESERVED_NAME, e.nlen) == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct walk_ent *nv = realloc(v, ncap * sizeof *v);
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		e.name = malloc(e.nlen);
		if (!e.name) {
			rc = -ENOMEM;
			break;
		}
		memcpy(e.name, k + 9, e.nlen);
		v[n++] = e;
	}
	if (!rc)
		rc = lsm_iter_status(it);
	lsm_iter_free(it);
	if (rc) {
		ents_free(v, n);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof *v, ent_cmp);
	*out = v;
	*count = n;
	return 0;
}

static int walk_dir(struct walk *w, uint64_t dir, const char *rest,
		    size_t rlen)
{
	struct walk_ent *v;
	size_t n;
	int rc = list_dir(w, dir, rest, rlen, &v, &n);
	if (rc)
		return rc;
	size_t base = w->path.len;
	for (size_t i = 0; i < n && !rc; i++) {
		if (v[i].type != DT_DIR && v[i].type != DT_REG)
			continue;
		rc = buf_append(&w->path, v[i].name, v[i].nlen);
		if (rc)
			break;
		if (v[i].type == DT_DIR) {
			rc = buf_append_byte(&w->path, '/');
			if (!rc)
				rc = walk_dir(w, v[i].ino, "", 0);
		} else {
			struct inode_attr a;
			rc = attr_load(w->db, w->snap, v[i].ino, &a);
			if (!rc && S_ISREG(a.mode)) {
				size_t plen = w->path.len;
				rc = buf_append_byte(&w->path, '\0');
				if (!rc)
					rc = w->fn(w->ctx, w->path.data, plen,
						   a.size);
			}
		}
		w->path.len = base;
	}
	ents_free(v, n);
	return rc;
}

int ks_walk(struct lsm_db *db, const char *prefix, size_t plen,
	    ks_walk_fn fn, void *ctx)
{
	struct lsm_snapshot *snap;
	struct walk w = { db, NULL, BUF_INIT, fn, ctx };
	uint64_t dir;
	const char *rest;
	size_t rlen;
	int rc = lsm_snapshot_new(db, &snap);
	if (rc)
		return rc;
	w.snap = snap;
	/* the directory part of the prefix must name a valid directory */
	const char *slash = NULL;
	for (size_t i = plen; i > 0 && !slash; i--)
		if (prefix[i - 1] == '/')
			slash = prefix + i - 1;
	size_t dlen = slash ? (size_t)(slash - prefix) : 0;
	if (memchr(prefix, '\0', plen) || plen >= KS_PATH_MAX ||
	    plen - dlen - (slash ? 1 : 0) > KS_NAME_MAX ||
	    (dlen && ks_path_validate(prefix, dlen, NULL)) ||
	    (slash && dlen == 0))
		goto out;
	if (dlen) {
		const char *last;
		size_t llen;
		uint64_t ino;
		uint8_t type;
		rc = resolve_dir(db, snap, prefix, dlen, &dir, &last, &llen);
		if (!rc)
			rc = lookup(db, snap, dir, last, llen, &ino, &type);
		if (rc == -ENOENT || rc == -ENOTDIR || (!rc && type != DT_DIR)) {
			rc = 0;
			goto out;
		}
		if (rc)
			goto out;
		dir = ino;
		rc = buf_append(&w.path, prefix, dlen + 1);
		if (rc)
			goto out;
		rest = prefix + dlen + 1;
		rlen = plen - dlen - 1;
	} else {
		dir = KS_ROOT_INO;
		rest = prefix;
		rlen = plen;
	}
	rc = walk_dir(&w, dir, rest, rlen);
out:
	buf_release(&w.path);
	lsm_snapshot_free(db, snap);
	return rc;
}
