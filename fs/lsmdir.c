/*
 * lsmdir.c - the virtual .lsm/ directory: its tree, inode numbers,
 * attributes and the generated content of open files; see lsmdir.h. What
 * each file says is in lsmdir_render.c.
 *
 * The tree is fixed (struct node below) except the level directories,
 * whose entries are the tables of the current version, read through
 * lsm_stats_get() whenever they are listed or looked up.
 */
#include "config.h"
#include "lsmdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lsmfs.h"
#include "report.h"

enum {
	N_ROOT,
	N_README,
	N_FLUSH_QUEUE_DEPTH,
	N_L0_FILES,
	N_PENDING_COMPACTION_BYTES,
	N_WRITE_STALLED,
	N_STALLS,
	N_MEMTABLE,
	N_WAL,
	N_COMPACTION,
	N_CACHE,
	N_STATS,
	N_STATS_JSON,
	N_METRICS_PROM,
	N_LEVELS,
	N_SUMMARY,
	N_L0, /* N_L0 + level for each level directory */
	N_COUNT = N_L0 + LSM_NUM_LEVELS
};

/* One fixed entry; its inode number is LSMDIR_ROOT_INO + its index. */
struct node {
	const char *name;
	int parent;               /* index; -1: the mount root */
	lsmdir_render_fn *render; /* NULL: a directory */
};

static const struct node nodes[N_COUNT] = {
	[N_ROOT] = { KS_RESERVED_NAME, -1, NULL },
	[N_README] = { "README", N_ROOT, lsmdir_render_readme },
	[N_FLUSH_QUEUE_DEPTH] = { "flush_queue_depth", N_ROOT,
				  lsmdir_render_flush_queue_depth },
	[N_L0_FILES] = { "l0_files", N_ROOT, lsmdir_render_l0_files },
	[N_PENDING_COMPACTION_BYTES] = {
		"pending_compaction_bytes", N_ROOT,
		lsmdir_render_pending_compaction_bytes },
	[N_WRITE_STALLED] = { "write_stalled", N_ROOT,
			      lsmdir_render_write_stalled },
	[N_STALLS] = { "stalls", N_ROOT, lsmdir_render_stalls },
	[N_MEMTABLE] = { "memtable", N_ROOT, lsmdir_render_memtable },
	[N_WAL] = { "wal", N_ROOT, lsmdir_render_wal },
	[N_COMPACTION] = { "compaction", N_ROOT, lsmdir_render_compaction },
	[N_CACHE] = { "cache", N_ROOT, lsmdir_render_cache },
	[N_STATS] = { "stats", N_ROOT, lsmdir_render_stats },
	[N_STATS_JSON] = { "stats.json", N_ROOT, lsmdir_render_json },
	[N_METRICS_PROM] = { "metrics.prom", N_ROOT, lsmdir_render_prometheus },
	[N_LEVELS] = { "levels", N_ROOT, NULL },
	[N_SUMMARY] = { "summary", N_LEVELS, lsmdir_render_summary },
	[N_L0 + 0] = { "L0", N_LEVELS, NULL },
	[N_L0 + 1] = { "L1", N_LEVELS, NULL },
	[N_L0 + 2] = { "L2", N_LEVELS, NULL },
	[N_L0 + 3] = { "L3", N_LEVELS, NULL },
	[N_L0 + 4] = { "L4", N_LEVELS, NULL },
	[N_L0 + 5] = { "L5", N_LEVELS, NULL },
	[N_L0 + 6] = { "L6", N_LEVELS, NULL },
};
_Static_assert(LSM_NUM_LEVELS == 7, "one node per level above");

/* Table numbers whose inode number fits (all of them in practice). */
#define TABLE_NUMBER_MAX ((UINT64_MAX - LSMDIR_TABLE_INO) >> 3)

/* The generated text of one open file. */
struct content {
	char *data;
	size_t len;
};

static uint64_t node_ino(int i)
{
	return LSMDIR_ROOT_INO + (uint64_t)i;
}

/* The index of ino's fixed entry, or -1. */
static int node_of(uint64_t ino)
{
	if (ino < LSMDIR_ROOT_INO || ino >= LSMDIR_ROOT_INO + N_COUNT)
		return -1;
	return (int)(ino - LSMDIR_ROOT_INO);
}

static int is_dir(int i)
{
	return nodes[i].render == NULL;
}

/* The level whose directory node i is, or -1. */
static int level_of_node(int i)
{
	return i >= N_L0 && i < N_L0 + LSM_NUM_LEVELS ? i - N_L0 : -1;
}

static uint64_t table_ino(int level, uint64_t number)
{
	return LSMDIR_TABLE_INO + (number << 3) + (uint64_t)level;
}

/* Decodes a table entry's inode number. Returns 1 when ino is one. */
static int table_of(uint64_t ino, int *level, uint64_t *number)
{
	if (ino < LSMDIR_TABLE_INO)
		return 0;
	*level = (int)((ino - LSMDIR_TABLE_INO) & 7);
	*number = (ino - LSMDIR_TABLE_INO) >> 3;
	return *level < LSM_NUM_LEVELS;
}

static struct lsm_file_info *find_table(struct lsm_stats *s, int level,
					uint64_t number)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (s->files[i].level == level && s->files[i].number == number)
			return &s->files[i];
	return NULL;
}

/* Fills what every virtual inode shares; times are now. */
static void attr_common(struct stat *st, uint64_t ino, mode_t mode,
			nlink_t nlink)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = nlink;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atim = st->st_mtim = st->st_ctim = now;
	st->st_blksize = 4096;
}

static void set_size(struct stat *st, uint64_t size)
{
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
}

/* ---- content ---- */

static void content_free(struct content *c)
{
	if (c) {
		free(c->data);
		free(c);
	}
}

static int content_open(struct content *c, FILE **f)
{
	c->data = NULL;
	c->len = 0;
	*f = open_memstream(&c->data, &c->len);
	return *f ? 0 : -ENOMEM;
}

/* Closes f; on failure (out of memory) c holds nothing. */
static int content_close(struct content *c, FILE *f)
{
	int bad = ferror(f);
	if (fclose(f) || bad) {
		free(c->data);
		c->data = NULL;
		c->len = 0;
		return -ENOMEM;
	}
	return 0;
}

/* The text of fixed file node i, from the statistics of now. */
static int render_node(struct lsmfs *fs, int i, struct content *c)
{
	struct lsm_stats s;
	int with_stats = nodes[i].render != lsmdir_render_readme;
	FILE *f;
	int rc;
	if (with_stats && (rc = lsm_stats_get(fs->db, &s)))
		return rc;
	rc = content_open(c, &f);
	if (!rc) {
		nodes[i].render(f, with_stats ? &s : NULL);
		rc = content_close(c, f);
	}
	if (with_stats)
		lsm_stats_release(&s);
	return rc;
}

/* The metadata text of table number in level, properties included. */
static int render_table(struct lsmfs *fs, int level, uint64_t number,
			struct content *c)
{
	struct lsm_stats s;
	FILE *f;
	int rc = lsm_stats_get(fs->db, &s);
	if (rc)
		return rc;
	struct lsm_file_info *fi = find_table(&s, level, number);
	if (!fi) {
		rc = -ENOENT;
		goto out;
	}
	/* -ENOENT when it was compacted away since lsm_stats_get() */
	rc = lsm_file_props(fs->db, number, fi);
	if (rc)
		goto out;
	rc = content_open(c, &f);
	if (!rc) {
		report_file(f, fi);
		rc = content_close(c, f);
	}
out:
	lsm_stats_release(&s);
	return rc;
}

/* ---- attributes ---- */

static int node_getattr(struct lsmfs *fs, int i, struct stat *st)
{
	if (is_dir(i)) {
		nlink_t nlink = 2; /* its name and "." */
		for (int j = 0; j < N_COUNT; j++)
			if (nodes[j].parent == i && is_dir(j))
				nlink++; /* the child's ".." */
		attr_common(st, node_ino(i), S_IFDIR | 0555, nlink);
		return 0;
	}
	/* the size of the text as it would be read now */
	struct content c;
	int rc = render_node(fs, i, &c);
	if (rc)
		return rc;
	attr_common(st, node_ino(i), S_IFREG | 0444, 1);
	set_size(st, c.len);
	free(c.data);
	return 0;
}

static void table_attr(const struct lsm_file_info *fi, struct stat *st)
{
	attr_common(st, table_ino(fi->level, fi->number), S_IFREG | 0444, 1);
	set_size(st, fi->size);
	st->st_mtim.tv_sec = st->st_ctim.tv_sec = (time_t)fi->created_unix;
	st->st_mtim.tv_nsec = st->st_ctim.tv_nsec = 0;
}

static int table_getattr(struct lsmfs *fs, int level, uint64_t number,
			 struct stat *st)
{
	struct lsm_stats s;
	int rc = lsm_stats_get(fs->db, &s);
	if (rc)
		return rc;
	const struct lsm_file_info *fi = find_table(&s, level, number);
	if (fi)
		table_attr(fi, st);
	lsm_stats_release(&s);
	return fi ? 0 : -ENOENT;
}

int lsmdir_getattr(struct lsmfs *fs, uint64_t ino, struct stat *st)
{
	int i = node_of(ino), level;
	uint64_t number;
	if (i >= 0)
		return node_getattr(fs, i, st);
	if (table_of(ino, &level, &number))
		return table_getattr(fs, level, number, st);
	return -ENOENT;
}

/* ---- the tree ---- */

int lsmdir_init(struct lsmfs *fs)
{
	fs->lsmdir = NULL; /* no state: everything comes from fs->db */
	return 0;
}

void lsmdir_release(struct lsmfs *fs)
{
	(void)fs;
}

/* Parses the canonical table name ("%06" PRIu64 ".sst"): one name per
 * table. Returns 1 and *number, or 0. */
static int parse_table_name(const char *name, uint64_t *number)
{
	char canon[32];
	char *end;
	if (name[0] < '0' || name[0] > '9')
		return 0;
	errno = 0;
	unsigned long long v = strtoull(name, &end, 10);
	if (errno || strcmp(end, ".sst") != 0 || v > TABLE_NUMBER_MAX)
		return 0;
	snprintf(canon, sizeof canon, "%06llu.sst", v);
	if (strcmp(canon, name) != 0)
		return 0;
	*number = v;
	return 1;
}

int lsmdir_lookup(struct lsmfs *fs, uint64_t parent, const char *name,
		  struct stat *st)
{
	int p = -1;
	if (parent != KS_ROOT_INO) {
		p = node_of(parent);
		if (p < 0)
			return -ENOENT;
		if (!is_dir(p))
			return -ENOTDIR;
		if (strcmp(name, ".") == 0)
			return node_getattr(fs, p, st);
	}
	for (int i = 0; i < N_COUNT; i++)
		if (nodes[i].parent == p && strcmp(nodes[i].name, name) == 0)
			return node_getattr(fs, i, st);
	uint64_t number;
	int level = p >= 0 ? level_of_node(p) : -1;
	if (level >= 0 && parse_table_name(name, &number))
		return table_getattr(fs, level, number, st);
	return -ENOENT;
}

int lsmdir_readdir(struct lsmfs *fs, uint64_t ino, struct dirlist *dl)
{
	int i = node_of(ino), rc;
	if (i < 0)
		return lsmdir_owns(ino) ? -ENOTDIR : -ENOENT;
	if (!is_dir(i))
		return -ENOTDIR;
	uint64_t up = i == N_ROOT ? KS_ROOT_INO : node_ino(nodes[i].parent);
	rc = dirlist_add(dl, ".", 1, ino, DT_DIR);
	if (!rc)
		rc = dirlist_add(dl, "..", 2, up, DT_DIR);
	for (int j = 0; j < N_COUNT && !rc; j++)
		if (nodes[j].parent == i)
			rc = dirlist_add(dl, nodes[j].name,
					 strlen(nodes[j].name), node_ino(j),
					 is_dir(j) ? DT_DIR : DT_REG);
	int level = level_of_node(i);
	if (rc || level < 0)
		return rc;

	struct lsm_stats s;
	rc = lsm_stats_get(fs->db, &s);
	if (rc)
		return rc;
	for (size_t k = 0; k < s.nfiles && !rc; k++) {
		const struct lsm_file_info *fi = &s.files[k];
		char name[32];
		if (fi->level != level || fi->number > TABLE_NUMBER_MAX)
			continue;
		int n = snprintf(name, sizeof name, "%06" PRIu64 ".sst",
				 fi->number);
		rc = dirlist_add(dl, name, (size_t)n,
				 table_ino(level, fi->number), DT_REG);
	}
	lsm_stats_release(&s);
	return rc;
}

/* ---- open files ---- */

int lsmdir_open(struct lsmfs *fs, uint64_t ino, int flags, uint64_t *fh)
{
	int i = node_of(ino), level, rc;
	uint64_t number;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EROFS;
	if (i >= 0 && is_dir(i))
		return -EISDIR;
	struct content *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	if (i >= 0)
		rc = render_node(fs, i, c);
	else if (table_of(ino, &level, &number))
		rc = render_table(fs, level, number, c);
	else
		rc = -ENOENT;
	if (rc) {
		free(c);
		return rc;
	}
	*fh = (uint64_t)(uintptr_t)c;
	return 0;
}

int lsmdir_read(struct lsmfs *fs, uint64_t ino, uint64_t fh, uint64_t off,
		size_t size, char *buf, size_t *n)
{
	const struct content *c = (const struct content *)(uintptr_t)fh;
	(void)fs;
	(void)ino;
	*n = 0;
	if (!c)
		return -EBADF;
	if (off < c->len) {
		*n = c->len - (size_t)off < size ? c->len - (size_t)off : size;
		memcpy(buf, c->data + off, *n);
	}
	return 0;
}

void lsmdir_release_file(struct lsmfs *fs, uint64_t ino, uint64_t fh)
{
	(void)fs;
	(void)ino;
	content_free((struct content *)(uintptr_t)fh);
}
