/*
 * cmd_scan.c - lsm scan: the regular files of a store, or of a mounted
 * tree, in key order, within a range of keys.
 *
 * Keys are file paths (fs/keyspace.h); their order is the byte order of
 * the full paths, as if they were stored flat. The store keeps a tree of
 * dentries instead, so a scan is a depth-first walk that lists each
 * directory's children sorted as their keys sort (KEYSCHEMA.md, "lsm
 * scan"). The same walk runs over a live mount with readdir and lstat,
 * because the mount holds the store's lock.
 */
#include "config.h"
#include "tool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fs/filedata.h"
#include "../fs/inode.h"
#include "../fs/keyspace.h"
#include "buf.h"

/*
 * A scan lists the regular files whose key k is in [lo, hi) in the byte
 * order of the full paths; hi NULL is no upper bound. --from and the
 * prefix give lo (the larger of the two), --to and the prefix's successor
 * give hi (the smaller), so "starts with the prefix" is part of the range.
 * Both walks below visit a directory only when its subtree meets the
 * range, seek to lo within it, and stop the whole walk at the first key
 * >= hi: the cost is that of the keys listed, not of the tree before them.
 */
struct scan_range {
	const char *lo;
	size_t lolen;
	const char *hi;
	size_t hilen;
};

struct scan_opts {
	const char *prefix; /* --prefix; NULL when not given */
	const char *from, *to;
	bool values;
};

static int on_scan_opt(void *ctx, int opt, const char *arg)
{
	struct scan_opts *o = ctx;
	if (opt == 'P')
		o->prefix = arg;
	else if (opt == 'F')
		o->from = arg;
	else if (opt == 'T')
		o->to = arg;
	else if (opt == 'V')
		o->values = true;
	else
		return -1;
	return 0;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return (an > bn) - (an < bn);
}

/* p may be NULL when pn is 0 (an empty struct buf). */
static bool has_prefix(const char *s, size_t n, const char *p, size_t pn)
{
	return n >= pn && (pn == 0 || memcmp(s, p, pn) == 0);
}

/* Whether key (of a file), or every key below key (a directory's path with
 * its trailing '/'), sorts before lo. */
static bool before_lo(const struct scan_range *r, const char *key, size_t n,
		      bool dir)
{
	if (bytes_cmp(key, n, r->lo, r->lolen) >= 0)
		return false;
	return !(dir && has_prefix(r->lo, r->lolen, key, n));
}

/* Whether key and everything after it is at or past hi. A directory's
 * keys all sort after its path with the '/', so the same test serves. */
static bool past_hi(const struct scan_range *r, const char *key, size_t n)
{
	return r->hi && bytes_cmp(key, n, r->hi, r->hilen) >= 0;
}

/* One child of a directory being walked. */
struct scan_ent {
	char *name;
	size_t nlen;
	uint64_t ino; /* the store walk only */
	bool dir;
};

/* Orders children as their keys sort: a directory's name is followed by
 * '/' in every key below it (KEYSCHEMA.md, "lsm scan"). */
static int ent_cmp(const void *pa, const void *pb)
{
	const struct scan_ent *a = pa, *b = pb;
	size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
	int c = memcmp(a->name, b->name, n);
	if (c)
		return c;
	int ca = a->nlen > n ? (unsigned char)a->name[n] : (a->dir ? '/' : -1);
	int cb = b->nlen > n ? (unsigned char)b->name[n] : (b->dir ? '/' : -1);
	return (ca > cb) - (ca < cb);
}

struct scan_ents {
	struct scan_ent *v;
	size_t n, cap;
};

static int ents_add(struct scan_ents *es, const char *name, size_t nlen,
		    uint64_t ino, bool dir)
{
	if (es->n == es->cap) {
		size_t ncap = es->cap ? es->cap * 2 : 16;
		struct scan_ent *nv = realloc(es->v, ncap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		es->v = nv;
		es->cap = ncap;
	}
	char *copy = malloc(nlen ? nlen : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, nlen);
	es->v[es->n++] = (struct scan_ent){ copy, nlen, ino, dir };
	return 0;
}

static void ents_release(struct scan_ents *es)
{
	for (size_t i = 0; i < es->n; i++)
		free(es->v[i].name);
	free(es->v);
}

/*
 * Where to start and stop reading the children of the directory whose
 * keys start with path (plen bytes, ending in '/', or empty for the root),
 * in the byte order of the names, which is how dentries are stored and
 * how readdir output can be filtered:
 *  - *seek (empty: the first child): no child whose name sorts before
 *    seek[0..*seeklen) has a key >= lo. It is lo's next component cut at
 *    its first byte below '/': a directory "a" sorts as "a/", after "a-b"
 *    and "a.b", so with lo = "a-c" directory "a" is after lo although its
 *    name is before; only names that are such a prefix of the component
 *    can do that.
 *  - *stop (NULL: none): a child whose name differs from stop at a byte
 *    larger than stop's has all its keys >= hi, and so has every child
 *    after it by name.
 */
static void dir_bounds(const struct scan_range *r, const char *path,
		       size_t plen, const char **seek, size_t *seeklen,
		       const char **stop, size_t *stoplen)
{
	*seek = "";
	*seeklen = 0;
	if (r->lolen > plen && has_prefix(r->lo, r->lolen, path, plen)) {
		const char *c = r->lo + plen;
		size_t j = 0;
		while (j < r->lolen - plen && (unsigned char)c[j] > '/')
			j++;
		*seek = c;
		*seeklen = j;
	}
	*stop = NULL;
	*stoplen = 0;
	if (r->hi && r->hilen > plen &&
	    has_prefix(r->hi, r->hilen, path, plen)) {
		const char *t = r->hi + plen, *slash;
		slash = memchr(t, '/', r->hilen - plen);
		*stop = t;
		*stoplen = slash ? (size_t)(slash - t) : r->hilen - plen;
	}
}

/* Whether name is the stop name of dir_bounds() or after it. */
static bool name_past_stop(const char *name, size_t nlen, const char *stop,
			   size_t stoplen)
{
	size_t n = nlen < stoplen ? nlen : stoplen;
	return stop && memcmp(name, stop, n) > 0;
}

/* Prints the value bytes of a listed file, escaped like keys. */
static int print_value_bytes(const char *p, size_t n)
{
	print_escaped(stdout, p, n);
	return ferror(stdout) ? -EIO : 0;
}

/* --- the store: a depth-first walk of the dentries, read at one snapshot */

struct store_scan {
	struct lsm_db *db;
	const struct lsm_snapshot *snap;
	struct lsm_iter *it; /* reused by every directory listing */
	const struct scan_range *r;
	bool values;
	struct buf path; /* "dir/sub/" of the directory being listed */
	bool done;       /* a key >= hi was met */
	char chunk[KS_CHUNK_SIZE];
};

/* Collects the children of dir between the bounds of dir_bounds(). */
static int store_list(struct store_scan *w, uint64_t dir, struct scan_ents *es)
{
	const char *seek, *stop;
	size_t seeklen, stoplen;
	dir_bounds(w->r, w->path.data, w->path.len, &seek, &seeklen, &stop,
		   &stoplen);
	char pfx[KS_NAME_KEY_MAX];
	size_t plen = ks_prefix_key(pfx, KS_DENTRY, dir);
	/* no name is longer, so a longer seek name is cut: still no later */
	size_t klen = ks_dentry_key(
		pfx, dir, seek, seeklen < KS_NAME_MAX ? seeklen : KS_NAME_MAX);
	int rc = 0;
	for (lsm_iter_seek(w->it, pfx, klen); lsm_iter_valid(w->it);
	     lsm_iter_next(w->it)) {
		size_t kl, vlen;
		const char *k = lsm_iter_key(w->it, &kl);
		if (kl < plen || memcmp(k, pfx, plen) != 0)
			break;
		const char *name = k + plen;
		size_t nlen = kl - plen;
		if (name_past_stop(name, nlen, stop, stoplen))
			break;
		const char *val = lsm_iter_value(w->it, &vlen);
		uint64_t ino;
		uint8_t type;
		if (nlen == 0 || ks_dentry_decode(val, vlen, &ino, &type)) {
			tool_error("scan: corrupt dentry in directory %llu",
				   (unsigned long long)dir);
			return -EIO;
		}
		if (type != DT_DIR && type != DT_REG)
			continue;
		/* never stored, but never listed either (keyspace.h) */
		if (dir == KS_ROOT_INO && nlen == strlen(KS_RESERVED_NAME) &&
		    memcmp(name, KS_RESERVED_NAME, nlen) == 0)
			continue;
		rc = ents_add(es, name, nlen, ino, type == DT_DIR);
		if (rc)
			return rc;
	}
	return lsm_iter_status(w->it);
}

static int store_print_value(struct store_scan *w, uint64_t ino, uint64_t size)
{
	for (uint64_t off = 0; off < size;) {
		size_t n;
		int rc = fdata_read(w->db, w->snap, ino, size, off,
				    sizeof w->chunk, w->chunk, &n);
		if (rc)
			return rc;
		if (n == 0)
			break;
		rc = print_value_bytes(w->chunk, n);
		if (rc)
			return rc;
		off += n;
	}
	return 0;
}

static int store_print_file(struct store_scan *w, uint64_t ino)
{
	struct inode_rec rec;
	int rc = inode_load(w->db, w->snap, ino, &rec);
	if (rc)
		return rc;
	uint64_t size = rec.a.size;
	bool reg = S_ISREG(rec.a.mode);
	inode_rec_release(&rec);
	if (!reg)
		return 0;
	print_escaped(stdout, w->path.data, w->path.len);
	if (w->values) {
		fputc('\t', stdout);
		rc = store_print_value(w, ino, size);
		fputc('\n', stdout);
	} else {
		printf("\t%llu\n", (unsigned long long)size);
	}
	return rc ? rc : ferror(stdout) ? -EIO : 0;
}

static int store_walk_dir(struct store_scan *w, uint64_t dir)
{
	struct scan_ents es = { 0 };
	int rc = store_list(w, dir, &es);
	if (rc)
		goto out;
	if (es.n)
		qsort(es.v, es.n, sizeof *es.v, ent_cmp);
	size_t base = w->path.len;
	for (size_t i = 0; i < es.n && !rc && !w->done; i++) {
		const struct scan_ent *e = &es.v[i];
		rc = buf_append(&w->path, e->name, e->nlen);
		if (!rc && e->dir)
			rc = buf_append_byte(&w->path, '/');
		if (rc)
			break;
		if (past_hi(w->r, w->path.data, w->path.len))
			w->done = true;
		else if (before_lo(w->r, w->path.data, w->path.len, e->dir))
			;
		else if (e->dir)
			rc = store_walk_dir(w, e->ino);
		else
			rc = store_print_file(w, e->ino);
		w->path.len = base;
	}
out:
	ents_release(&es);
	return rc;
}

static int scan_store(struct lsm_db *db, const struct scan_range *r,
		      bool values)
{
	struct store_scan *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->db = db;
	w->r = r;
	w->values = values;
	struct lsm_snapshot *snap;
	int rc = lsm_snapshot_new(db, &snap);
	if (rc)
		goto out_free;
	w->snap = snap;
	rc = lsm_iter_new(db, snap, &w->it);
	if (rc)
		goto out_snap;
	rc = store_walk_dir(w, KS_ROOT_INO);
	lsm_iter_free(w->it);
out_snap:
	lsm_snapshot_free(db, snap);
out_free:
	buf_release(&w->path);
	free(w);
	return rc;
}

/* --- a mount: the same walk over the mounted tree, with readdir and
 * lstat. Not one snapshot: a file written meanwhile may be listed with its
 * old or new content, and one removed meanwhile is left out. */

struct mount_scan {
	int root; /* fd of the mount root */
	const char *mnt;
	const struct scan_range *r;
	bool values;
	struct buf path; /* as store_scan's, plus a NUL for openat() */
	bool done;
	char chunk[KS_CHUNK_SIZE];
};

/* w->path as a C string for the *at() calls ("." for the root). */
static const char *mount_path(struct mount_scan *w)
{
	if (w->path.len == 0)
		return ".";
	if (buf_reserve(&w->path, 1))
		return NULL;
	w->path.data[w->path.len] = '\0';
	return w->path.data;
}

/* Reports a failure on the file at w->path; returns -ECANCELED, which
 * tells run_scan() that it has been reported. */
static int mount_fail(struct mount_scan *w, const char *what, int err)
{
	tool_error("scan: cannot %s '%s/%.*s': %s", what, w->mnt,
		   (int)w->path.len, w->path.data ? w->path.data : "",
		   strerror(err));
	return -ECANCELED;
}

static int mount_list(struct mount_scan *w, struct scan_ents *es)
{
	const char *seek, *stop;
	size_t seeklen, stoplen;
	dir_bounds(w->r, w->path.data, w->path.len, &seek, &seeklen, &stop,
		   &stoplen);
	const char *p = mount_path(w);
	if (!p)
		return -ENOMEM;
	int fd = openat(w->root, p,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : mount_fail(w, "list", errno);
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return mount_fail(w, "list", e);
	}
	int rc = 0;
	struct dirent *de;
	for (errno = 0; (de = readdir(d)); errno = 0) {
		const char *name = de->d_name;
		size_t nlen = strlen(name);
		if (!strcmp(name, ".") || !strcmp(name, "..") ||
		    (w->path.len == 0 && !strcmp(name, KS_RESERVED_NAME)))
			continue;
		/* the filters of store_list(), done here on an unsorted list */
		if (bytes_cmp(name, nlen, seek, seeklen) < 0 ||
		    name_past_stop(name, nlen, stop, stoplen))
			continue;
		unsigned char type = de->d_type;
		if (type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW))
				continue; /* gone meanwhile */
			type = S_ISDIR(st.st_mode)   ? DT_DIR
			       : S_ISREG(st.st_mode) ? DT_REG
						     : DT_UNKNOWN;
		}
		if (type != DT_DIR && type != DT_REG)
			continue;
		rc = ents_add(es, name, nlen, 0, type == DT_DIR);
		if (rc)
			break;
	}
	if (!rc && errno)
		rc = mount_fail(w, "list", errno);
	closedir(d);
	return rc;
}

static int mount_print_value(struct mount_scan *w, const char *p)
{
	int fd = openat(w->root, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mount_fail(w, "open", errno);
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, w->chunk, sizeof w->chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? mount_fail(w, "read", errno) : 0;
			break;
		}
		rc = print_value_bytes(w->chunk, (size_t)n);
		if (rc)
			break;
	}
	close(fd);
	return rc;
}

static int mount_print_file(struct mount_scan *w)
{
	size_t klen = w->path.len;
	const char *p = mount_path(w);
	if (!p)
		return -ENOMEM;
	struct stat st;
	if (fstatat(w->root, p, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : mount_fail(w, "stat", errno);
	if (!S_ISREG(st.st_mode))
		return 0;
	print_escaped(stdout, p, klen);
	int rc = 0;
	if (w->values) {
		fputc('\t', stdout);
		rc = mount_print_value(w, p);
		fputc('\n', stdout);
	} else {
		printf("\t%llu\n", (unsigned long long)st.st_size);
	}
	return rc ? rc : ferror(stdout) ? -EIO : 0;
}

static int mount_walk_dir(struct mount_scan *w)
{
	struct scan_ents es = { 0 };
	int rc = mount_list(w, &es);
	if (rc)
		goto out;
	if (es.n)
		qsort(es.v, es.n, sizeof *es.v, ent_cmp);
	size_t base = w->path.len;
	for (size_t i = 0; i < es.n && !rc && !w->done; i++) {
		const struct scan_ent *e = &es.v[i];
		rc = buf_append(&w->path, e->name, e->nlen);
		if (!rc && e->dir)
			rc = buf_append_byte(&w->path, '/');
		if (rc)
			break;
		if (past_hi(w->r, w->path.data, w->path.len))
			w->done = true;
		else if (before_lo(w->r, w->path.data, w->path.len, e->dir))
			;
		else if (e->dir)
			rc = mount_walk_dir(w);
		else
			rc = mount_print_file(w);
		w->path.len = base;
	}
out:
	ents_release(&es);
	return rc;
}

static int scan_mount(const char *mnt, const struct scan_range *r, bool values)
{
	struct mount_scan *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->mnt = mnt;
	w->r = r;
	w->values = values;
	int rc = 0;
	w->root = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->root < 0)
		rc = mount_fail(w, "open", errno);
	else
		rc = mount_walk_dir(w);
	if (w->root >= 0)
		close(w->root);
	buf_release(&w->path);
	free(w);
	return rc;
}

/*
 * The least key after every key that starts with p (plen > 0 bytes): p
 * without its trailing 0xff bytes, the last byte plus one, in *out
 * (malloc()ed, *outlen bytes). *out is NULL when there is none (p is all
 * 0xff). Returns 0 or -ENOMEM.
 */
static int prefix_successor(const char *p, size_t plen, char **out,
			    size_t *outlen)
{
	*out = NULL;
	while (plen > 0 && (unsigned char)p[plen - 1] == 0xff)
		plen--;
	if (plen == 0)
		return 0;
	char *s = malloc(plen);
	if (!s)
		return -ENOMEM;
	memcpy(s, p, plen);
	s[plen - 1] = (char)((unsigned char)s[plen - 1] + 1);
	*out = s;
	*outlen = plen;
	return 0;
}

/* Whether arg is one of the options (--name or --name=value), which
 * parse_options() takes only before the first operand. */
static bool is_scan_option(const char *arg, const struct option *longopts)
{
	if (strncmp(arg, "--", 2) != 0)
		return false;
	arg += 2;
	if (!strcmp(arg, "help"))
		return true;
	for (const struct option *lo = longopts; lo->name; lo++) {
		size_t n = strlen(lo->name);
		if (!strncmp(arg, lo->name, n) &&
		    (arg[n] == '\0' || (arg[n] == '=' && lo->has_arg)))
			return true;
	}
	return false;
}

static int run_scan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prefix", required_argument, NULL, 'P' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "values", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct scan_opts o = { NULL, "", NULL, false };
	int i = parse_options(&cmd_scan, argc, argv, NULL, longopts,
			      on_scan_opt, &o);
	if (i < 0)
		return options_exit(i);
	if (argc - i < 1 || argc - i > 2) {
		command_usage(&cmd_scan, stderr);
		return EXIT_USAGE;
	}
	const char *dir = argv[i];
	const char *prefix = o.prefix ? o.prefix : "";
	if (argc - i == 2 && is_scan_option(argv[i + 1], longopts)) {
		/* not a PREFIX that happens to start with "--" */
		tool_error("scan: options come before DATADIR");
		command_usage(&cmd_scan, stderr);
		return EXIT_USAGE;
	}
	if (argc - i == 2) {
		/* PREFIX is --prefix under its older name */
		if (o.prefix && strcmp(o.prefix, argv[i + 1]) != 0) {
			tool_error("scan: --prefix '%s' and PREFIX '%s' differ",
				   o.prefix, argv[i + 1]);
			command_usage(&cmd_scan, stderr);
			return EXIT_USAGE;
		}
		prefix = argv[i + 1];
	}

	struct scan_range r = { o.from, strlen(o.from), NULL, 0 };
	size_t plen = strlen(prefix);
	if (bytes_cmp(prefix, plen, r.lo, r.lolen) > 0) {
		r.lo = prefix;
		r.lolen = plen;
	}
	char *succ = NULL;
	size_t slen = 0;
	int rc = plen ? prefix_successor(prefix, plen, &succ, &slen) : 0;
	if (rc) {
		tool_error("scan: %s", lsm_strerror(rc));
		return 1;
	}
	if (o.to) {
		r.hi = o.to;
		r.hilen = strlen(o.to);
	}
	if (succ && (!r.hi || bytes_cmp(succ, slen, r.hi, r.hilen) < 0)) {
		r.hi = succ;
		r.hilen = slen;
	}

	struct lsm_db *db = NULL;
	if (tool_is_mount(dir)) {
		rc = scan_mount(dir, &r, o.values);
	} else if (tool_open(dir, false, &db)) {
		db = NULL;
		rc = -ECANCELED; /* reported */
	} else {
		rc = scan_store(db, &r, o.values);
	}
	if (!rc && fflush(stdout))
		rc = -EIO;
	if (rc && rc != -ECANCELED)
		tool_error("scan: %s", lsm_strerror(rc));
	int cl = db ? tool_close(db) : 0;
	free(succ);
	return rc ? 1 : cl;
}

const struct lsm_command cmd_scan = {
	"scan",
	"[--prefix P] [--from K] [--to K] [--values] DATADIR [PREFIX]",
	"list files in key order as KEY<TAB>LENGTH (or VALUE) lines",
	"Lists regular files in the byte order of their keys. When DATADIR is\n"
	"the mount point of a mounted store, the mounted tree is listed the\n"
	"same way (the store itself is locked by the mount). Tabs, newlines,\n"
	"backslashes and other control bytes in keys and values are escaped\n"
	"as \\t, \\n, \\\\ and \\xHH, so that each file is one line.\n\n"
	"      --prefix=P   only keys that start with P; PREFIX is the same\n"
	"      --from=K     start at key K, included\n"
	"      --to=K       stop before key K: K and the keys after it are not\n"
	"                   listed, like an exclusive upper bound\n"
	"      --values     print KEY<TAB>VALUE lines: the content of the file,\n"
	"                   escaped as keys are, instead of its length\n",
	run_scan,
};
