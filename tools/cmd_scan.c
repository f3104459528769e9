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
 * The walk below visits a directory only when its subtree meets the
 * range, seeks to lo within it, and stops at the first key >= hi: the cost
 * is that of the keys listed, not of the tree before them.
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
 *  - seek (empty: the first child): no child whose name sorts before
 *    seek[0..seeklen) has a key >= lo. It is lo's next component cut at
 *    its first byte below '/': a directory "a" sorts as "a/", after "a-b"
 *    and "a.b", so with lo = "a-c" directory "a" is after lo although its
 *    name is before; only names that are such a prefix of the component
 *    can do that.
 *  - stop (NULL: none): a child whose name differs from stop at a byte
 *    larger than stop's has all its keys >= hi, and so has every child
 *    after it by name.
 * Both point into the range's keys.
 */
struct dir_bounds {
	const char *seek;
	size_t seeklen;
	const char *stop;
	size_t stoplen;
};

static void dir_bounds_init(struct dir_bounds *b, const struct scan_range *r,
			    const char *path, size_t plen)
{
	b->seek = "";
	b->seeklen = 0;
	if (r->lolen > plen && has_prefix(r->lo, r->lolen, path, plen)) {
		const char *c = r->lo + plen;
		size_t j = 0;
		while (j < r->lolen - plen && (unsigned char)c[j] > '/')
			j++;
		b->seek = c;
		b->seeklen = j;
	}
	b->stop = NULL;
	b->stoplen = 0;
	if (r->hi && r->hilen > plen &&
	    has_prefix(r->hi, r->hilen, path, plen)) {
		const char *t = r->hi + plen, *slash;
		slash = memchr(t, '/', r->hilen - plen);
		b->stop = t;
		b->stoplen = slash ? (size_t)(slash - t) : r->hilen - plen;
	}
}

/* Whether name is the stop name of b or after it. */
static bool name_past_stop(const struct dir_bounds *b, const char *name,
			   size_t nlen)
{
	size_t n = nlen < b->stoplen ? nlen : b->stoplen;
	return b->stop && memcmp(name, b->stop, n) > 0;
}

/* --- the walk, over a store or over a mount */

struct scan_walk {
	const struct scan_source *src;
	const struct scan_range *r;
	bool values;
	struct buf path; /* the key of the entry in hand ("d/e/" for a
			  * directory, "" the root), then a NUL if not "" */
	bool done;       /* a key >= hi was met */
	char chunk[KS_CHUNK_SIZE];
	/* the store's */
	struct lsm_db *db;
	struct lsm_snapshot *snap;
	struct lsm_iter *it; /* reused by every directory listing */
	/* the mount's */
	int root; /* fd of the mount root */
	const char *mnt;
};

/*
 * What the walk reads: a store at one snapshot, or a mounted tree. The
 * directory or file in hand is at w->path; dir and ino are its inode
 * number in the store (0 on a mount, which goes by path). Errors are a
 * negative errno, -ECANCELED when the source has reported them.
 */
struct scan_source {
	/* Adds to es, in any order, the directories and regular files in
	 * directory dir, leaving out those named past b's stop and (all or
	 * some of) those named before its seek. Returns 0 or an error. */
	int (*list)(struct scan_walk *w, uint64_t dir,
		    const struct dir_bounds *b, struct scan_ents *es);
	/* Returns 1 with *size set to its length when file ino is (still) a
	 * regular file, else 0 or a negative errno. */
	int (*stat)(struct scan_walk *w, uint64_t ino, uint64_t *size);
	/* Prints the content of file ino with print_value_bytes(), through
	 * w->chunk; size is its length at the stat. Returns 0 or an error. */
	int (*print_value)(struct scan_walk *w, uint64_t ino, uint64_t size);
};

/* Prints the value bytes of a listed file, escaped like keys. */
static int print_value_bytes(const char *p, size_t n)
{
	print_escaped(stdout, p, n);
	return ferror(stdout) ? -EIO : 0;
}

static int walk_print_file(struct scan_walk *w, uint64_t ino)
{
	uint64_t size;
	int reg = w->src->stat(w, ino, &size);
	if (reg <= 0)
		return reg;
	int rc = 0;
	print_escaped(stdout, w->path.data, w->path.len);
	if (w->values) {
		fputc('\t', stdout);
		rc = w->src->print_value(w, ino, size);
		fputc('\n', stdout);
	} else {
		printf("\t%llu\n", (unsigned long long)size);
	}
	return rc ? rc : ferror(stdout) ? -EIO : 0;
}

/* Lists directory dir, at w->path, and visits the children whose keys
 * meet the range in key order; sets w->done at the first key >= hi. */
static int walk_dir(struct scan_walk *w, uint64_t dir)
{
	struct dir_bounds b;
	dir_bounds_init(&b, w->r, w->path.data, w->path.len);
	struct scan_ents es = { 0 };
	int rc = w->src->list(w, dir, &b, &es);
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
		if (!rc)
			rc = buf_append_byte(&w->path, '\0');
		if (rc)
			break;
		w->path.len--; /* the NUL stays, for the mount's *at() calls */
		if (past_hi(w->r, w->path.data, w->path.len))
			w->done = true;
		else if (before_lo(w->r, w->path.data, w->path.len, e->dir))
			;
		else if (e->dir)
			rc = walk_dir(w, e->ino);
		else
			rc = walk_print_file(w, e->ino);
		w->path.len = base;
	}
out:
	ents_release(&es);
	return rc;
}

/* --- the store: the dentries, read at one snapshot */

static int store_list(struct scan_walk *w, uint64_t dir,
		      const struct dir_bounds *b, struct scan_ents *es)
{
	char pfx[KS_NAME_KEY_MAX];
	size_t plen = ks_prefix_key(pfx, KS_DENTRY, dir);
	/* no name is longer, so a longer seek name is cut: still no later */
	size_t seeklen = b->seeklen < KS_NAME_MAX ? b->seeklen : KS_NAME_MAX;
	size_t klen = ks_dentry_key(pfx, dir, b->seek, seeklen);
	int rc = 0;
	for (lsm_iter_seek(w->it, pfx, klen); lsm_iter_valid(w->it);
	     lsm_iter_next(w->it)) {
		size_t kl, vlen;
		const char *k = lsm_iter_key(w->it, &kl);
		if (kl < plen || memcmp(k, pfx, plen) != 0)
			break;
		const char *name = k + plen;
		size_t nlen = kl - plen;
		if (name_past_stop(b, name, nlen))
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

static int store_stat(struct scan_walk *w, uint64_t ino, uint64_t *size)
{
	struct inode_rec rec;
	int rc = inode_load(w->db, w->snap, ino, &rec);
	if (rc)
		return rc;
	*size = rec.a.size;
	rc = S_ISREG(rec.a.mode);
	inode_rec_release(&rec);
	return rc;
}

static int store_print_value(struct scan_walk *w, uint64_t ino, uint64_t size)
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

static const struct scan_source store_source = {
	.list = store_list,
	.stat = store_stat,
	.print_value = store_print_value,
};

static int scan_store(struct scan_walk *w, struct lsm_db *db)
{
	w->src = &store_source;
	w->db = db;
	int rc = lsm_snapshot_new(db, &w->snap);
	if (rc)
		return rc;
	rc = lsm_iter_new(db, w->snap, &w->it);
	if (rc)
		goto out_snap;
	rc = walk_dir(w, KS_ROOT_INO);
	lsm_iter_free(w->it);
out_snap:
	lsm_snapshot_free(db, w->snap);
	return rc;
}

/* --- a mount: the mounted tree, with readdir and lstat. Not one snapshot:
 * a file written meanwhile may be listed with its old or new content, and
 * one removed meanwhile is left out. */

/* w->path as a C string for the *at() calls ("." for the root). */
static const char *mount_path(const struct scan_walk *w)
{
	return w->path.len ? w->path.data : ".";
}

/* Reports a failure on the file at w->path; returns -ECANCELED, which
 * tells run_scan() that it has been reported. */
static int mount_fail(struct scan_walk *w, const char *what, int err)
{
	tool_error("scan: cannot %s '%s/%.*s': %s", what, w->mnt,
		   (int)w->path.len, w->path.data ? w->path.data : "",
		   strerror(err));
	return -ECANCELED;
}

static int mount_list(struct scan_walk *w, uint64_t dir,
		      const struct dir_bounds *b, struct scan_ents *es)
{
	(void)dir;
	const char *p = mount_path(w);
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
		if (bytes_cmp(name, nlen, b->seek, b->seeklen) < 0 ||
		    name_past_stop(b, name, nlen))
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

static int mount_stat(struct scan_walk *w, uint64_t ino, uint64_t *size)
{
	(void)ino;
	const char *p = mount_path(w);
	struct stat st;
	if (fstatat(w->root, p, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : mount_fail(w, "stat", errno);
	*size = (uint64_t)st.st_size;
	return S_ISREG(st.st_mode);
}

/* Reads to the end of the file, which may have grown since the stat. */
static int mount_print_value(struct scan_walk *w, uint64_t ino, uint64_t size)
{
	(void)ino;
	(void)size;
	const char *p = mount_path(w);
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

static const struct scan_source mount_source = {
	.list = mount_list,
	.stat = mount_stat,
	.print_value = mount_print_value,
};

static int scan_mount(struct scan_walk *w, const char *mnt)
{
	w->src = &mount_source;
	w->mnt = mnt;
	w->root = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->root < 0)
		return mount_fail(w, "open", errno);
	int rc = walk_dir(w, 0);
	close(w->root);
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
	struct scan_walk w = { .r = &r, .values = o.values };
	if (tool_is_mount(dir)) {
		rc = scan_mount(&w, dir);
	} else if (tool_open(dir, false, &db)) {
		db = NULL;
		rc = -ECANCELED; /* reported */
	} else {
		rc = scan_store(&w, db);
	}
	buf_release(&w.path);
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
