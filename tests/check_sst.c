/*
 * check_sst.c - tests for the SSTable modules: engine/block_builder.c,
 * block_iter.c, sst_builder.c, sst_reader.c, sst_dump.c and table_cache.c
 * (bloom.c and block_cache.c have their own programs).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "block_builder.h"
#include "block_cache.h"
#include "block_iter.h"
#include "dbformat.h"
#include "env.h"
#include "filename.h"
#include "log.h"
#include "map_guard.h"
#include "lsm.h"
#include "sst_builder.h"
#include "sst_format.h"
#include "sst_reader.h"
#include "table_cache.h"
#include "testutil.h"

/*
 * Check's ck_assert_*() write a checkpoint to the test log on every call;
 * in loops of thousands that dominates the run time. These report exactly
 * like them but only touch Check when they fail.
 */
#define REQUIRE(c)                                                 \
	do {                                                       \
		if (!(c))                                          \
			ck_abort_msg("Assertion '%s' failed", #c); \
	} while (0)
#define REQUIRE_OP(T, fmt, a, op, b)                                     \
	do {                                                             \
		T a_ = (T)(a), b_ = (T)(b);                              \
		if (!(a_ op b_))                                         \
			ck_abort_msg("Assertion '%s %s %s' failed: " fmt \
				     " vs " fmt,                         \
				     #a, #op, #b, a_, b_);               \
	} while (0)
#define REQUIRE_INT(a, op, b) REQUIRE_OP(long long, "%lld", a, op, b)
#define REQUIRE_UINT(a, op, b) REQUIRE_OP(unsigned long long, "%llu", a, op, b)

/* ---- a wrapping env: counts open read files, injects failures ---- */

struct test_env {
	struct lsm_env base;
	int open_rfiles, max_open_rfiles; /* __atomic */
	int appends_left;                 /* -1: unlimited */
	int fail_sync, fail_rename, fail_reads;
	/* syncs are counted, not done: these tests check formats, not
	 * durability, and fsync on a busy disk takes long */
	int syncs, dir_syncs;
	char synced_dir[FILENAME_MAX_LEN];
	/* reads of mem_path are served from mem_data (corruption tests try
	 * thousands of variants of one small file) */
	const char *mem_path;
	const char *mem_data;
	size_t mem_len;
	struct env_rfile *mem_open[8]; /* open memory files */
};

static struct test_env tenv;

static int mem_slot(struct test_env *t, struct env_rfile *f)
{
	for (int i = 0; i < 8; i++)
		if (t->mem_open[i] == f)
			return i;
	return -1;
}

static int t_new_rfile(struct lsm_env *env, const char *path,
		       struct env_rfile **out)
{
	struct test_env *t = (struct test_env *)env;
	int rc, slot = -1;
	if (t->mem_path && !strcmp(path, t->mem_path)) {
		REQUIRE((slot = mem_slot(t, NULL)) >= 0);
		REQUIRE((*out = calloc(1, sizeof **out)) != NULL);
		(*out)->env = env;
		t->mem_open[slot] = *out;
	} else if ((rc = env_posix()->new_rfile(env, path, out))) {
		return rc;
	}
	int n = __atomic_add_fetch(&t->open_rfiles, 1, __ATOMIC_SEQ_CST);
	int m = __atomic_load_n(&t->max_open_rfiles, __ATOMIC_SEQ_CST);
	while (n > m &&
	       !__atomic_compare_exchange_n(&t->max_open_rfiles, &m, n, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	return 0;
}

static void t_rfile_close(struct env_rfile *f)
{
	struct test_env *t = (struct test_env *)f->env;
	__atomic_sub_fetch(&t->open_rfiles, 1, __ATOMIC_SEQ_CST);
	int slot = mem_slot(t, f);
	if (slot < 0) {
		env_posix()->rfile_close(f);
		return;
	}
	t->mem_open[slot] = NULL;
	free(f);
}

static int t_rfile_size(struct env_rfile *f, uint64_t *size)
{
	struct test_env *t = (struct test_env *)f->env;
	if (mem_slot(t, f) < 0)
		return env_posix()->rfile_size(f, size);
	*size = t->mem_len;
	return 0;
}

static int t_rfile_read(struct env_rfile *f, uint64_t off, void *buf, size_t n,
			size_t *got)
{
	struct test_env *t = (struct test_env *)f->env;
	if (t->fail_reads)
		return -EIO;
	if (mem_slot(t, f) < 0)
		return env_posix()->rfile_read(f, off, buf, n, got);
	*got = off >= t->mem_len      ? 0
	       : t->mem_len - off < n ? t->mem_len - off
				      : n;
	memcpy(buf, t->mem_data + (off < t->mem_len ? off : 0), *got);
	return 0;
}

static int t_wfile_append(struct env_wfile *f, const void *data, size_t n)
{
	struct test_env *t = (struct test_env *)f->env;
	if (t->appends_left == 0)
		return -ENOSPC;
	if (t->appends_left > 0)
		t->appends_left--;
	return env_posix()->wfile_append(f, data, n);
}

static int t_wfile_sync(struct env_wfile *f)
{
	struct test_env *t = (struct test_env *)f->env;
	if (t->fail_sync)
		return -EIO;
	t->syncs++;
	return 0;
}

static int t_sync_dir(struct lsm_env *env, const char *path)
{
	struct test_env *t = (struct test_env *)env;
	t->dir_syncs++;
	snprintf(t->synced_dir, sizeof t->synced_dir, "%s", path);
	return 0;
}

static int t_rename(struct lsm_env *env, const char *from, const char *to)
{
	struct test_env *t = (struct test_env *)env;
	return t->fail_rename ? -EIO : env_posix()->rename(env, from, to);
}

static struct lsm_env *test_env_reset(void)
{
	memset(&tenv, 0, sizeof tenv);
	tenv.base = *env_posix();
	tenv.base.new_rfile = t_new_rfile;
	tenv.base.rfile_close = t_rfile_close;
	tenv.base.rfile_read = t_rfile_read;
	tenv.base.rfile_size = t_rfile_size;
	tenv.base.rfile_map = NULL; /* its files are not posix ones */
	tenv.base.wfile_append = t_wfile_append;
	tenv.base.wfile_sync = t_wfile_sync;
	tenv.base.rename = t_rename;
	tenv.base.sync_dir = t_sync_dir;
	tenv.appends_left = -1;
	return &tenv.base;
}

/* ---- log capture ---- */

static int log_lines; /* __atomic */
static char last_log[1024];

static void capture_log(void *ctx, const char *line)
{
	(void)ctx;
	__atomic_add_fetch(&log_lines, 1, __ATOMIC_RELAXED);
	snprintf(last_log, sizeof last_log, "%s", line);
}

/* ---- fixture: a private directory ---- */

static char dir[64];
static struct lsm_env *env;

static void setup(void)
{
	strcpy(dir, "/tmp/check_sst.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	env = test_env_reset();
	log_lines = 0;
	last_log[0] = '\0';
	lsm_set_log_handler(capture_log, NULL);
}

static void teardown(void)
{
	char **names;
	size_t n;
	if (env_posix()->list_dir(env_posix(), dir, &names, &n) == 0) {
		char path[FILENAME_MAX_LEN];
		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			unlink(path);
		}
		env_free_names(names, n);
	}
	rmdir(dir);
	lsm_set_log_handler(NULL, NULL);
}

static char *path_of(uint64_t number)
{
	static char path[FILENAME_MAX_LEN];
	return filename_sst(path, dir, number);
}

/* ---- the model: entries in ikey order ---- */

struct entry {
	struct buf ikey, value;
};

struct model {
	struct entry *e;
	size_t n;
	size_t nkeys; /* distinct user keys: "b%06u" with even numbers */
};

static uint64_t rng(uint64_t *s)
{
	uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

enum values {
	COMPRESSIBLE = 0, /* text */
	RANDOM = 1,       /* random bytes */
	SMALL = 2,        /* flag: values of at most 40 bytes */
};

static void model_add(struct model *m, struct slice ukey, uint64_t seq,
		      enum entry_type t, struct slice value)
{
	m->e = realloc(m->e, (m->n + 1) * sizeof *m->e);
	ck_assert_ptr_nonnull(m->e);
	struct entry *e = &m->e[m->n++];
	memset(e, 0, sizeof *e);
	REQUIRE_INT(ikey_append(&e->ikey, ukey.data, ukey.len, seq, t), ==, 0);
	REQUIRE_INT(buf_set(&e->value, value.data, value.len), ==, 0);
}

/*
 * nkeys user keys "b" + 6 digits (2*i) + a random suffix of 0..20 bytes
 * (any byte values), each with 1..3 versions (seqs 10i+6, 10i+3, 10i+1,
 * newest first), about 15% of them tombstones, values of 0..200 bytes with
 * an occasional 1..5 KB one (0..40 bytes with SMALL).
 */
static struct model model_gen(uint64_t seed, size_t nkeys, int vmode)
{
	struct model m = { NULL, 0, nkeys };
	char ukey[64], val[5200];
	uint64_t s = seed;
	for (size_t i = 0; i < nkeys; i++) {
		int n = snprintf(ukey, sizeof ukey, "b%06zu", 2 * i);
		size_t suffix = rng(&s) % 21;
		for (size_t j = 0; j < suffix; j++)
			ukey[n + j] = (char)rng(&s);
		int versions = 1 + (int)(rng(&s) % 3);
		static const int seq_off[3] = { 5, 2, 0 };
		for (int v = 0; v < versions; v++) {
			size_t vlen = rng(&s) % 201;
			if (rng(&s) % 50 == 0)
				vlen = 1000 + rng(&s) % 4001;
			if (vmode & SMALL)
				vlen %= 41;
			for (size_t j = 0; j < vlen; j++)
				val[j] = (vmode & RANDOM)
						 ? (char)rng(&s)
						 : "the quick brown fox "[(j +
									   i) %
									  20];
			bool del = rng(&s) % 100 < 15;
			model_add(&m, slice_make(ukey, (size_t)n + suffix),
				  10 * i + (uint64_t)seq_off[3 - versions + v] +
					  1,
				  del ? TYPE_DELETE : TYPE_VALUE,
				  slice_make(val, del ? 0 : vlen));
		}
	}
	return m;
}

static void model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		buf_release(&m->e[i].ikey);
		buf_release(&m->e[i].value);
	}
	free(m->e);
	memset(m, 0, sizeof *m);
}

/* Index of the first entry >= target, or m->n. */
static size_t model_lower_bound(const struct model *m, struct slice target)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ikey_cmp(buf_slice(&m->e[mid].ikey), target) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* What a get of (ukey, seq) must return; *e is the entry found. */
static int model_get(const struct model *m, struct slice ukey, uint64_t seq,
		     const struct entry **e)
{
	struct buf t = BUF_INIT;
	ikey_append(&t, ukey.data, ukey.len, seq, TYPE_SEEK);
	size_t i = model_lower_bound(m, buf_slice(&t));
	buf_release(&t);
	if (i == m->n || !slice_eq(ikey_user(buf_slice(&m->e[i].ikey)), ukey))
		return LOOKUP_NOT_FOUND;
	*e = &m->e[i];
	return ikey_type(buf_slice(&m->e[i].ikey)) == TYPE_DELETE
		       ? LOOKUP_DELETED
		       : LOOKUP_FOUND;
}

static struct lsm_options make_opt(size_t block_size, int compression,
				   int bloom)
{
	struct lsm_options o;
	memset(&o, 0, sizeof o);
	o.block_size = block_size;
	o.compression = compression;
	o.compression_level = 3;
	o.bloom_bits_per_key = bloom;
	return o;
}

static void build(const struct model *m, const struct lsm_options *o,
		  const char *path, struct sst_props *props)
{
	struct sst_builder *b;
	REQUIRE_INT(sst_builder_new(env, o, path, SST_REASON_FLUSH, &b), ==, 0);
	uint64_t raw = 0;
	for (size_t i = 0; i < m->n; i++) {
		REQUIRE_INT(sst_builder_add(b, buf_slice(&m->e[i].ikey),
					    buf_slice(&m->e[i].value)),
			    ==, 0);
		raw += m->e[i].ikey.len + m->e[i].value.len;
		/* not monotonic (a full block shrinks when compressed), but
		 * bounded by what was added plus per-entry overhead */
		REQUIRE_UINT(sst_builder_file_size(b), <=, 2 * raw + 64);
	}
	REQUIRE_UINT(sst_builder_entries(b), ==, m->n);
	uint64_t before = sst_builder_file_size(b);
	REQUIRE_INT(sst_builder_finish(b, props), ==, 0);
	if (props)
		REQUIRE_UINT(props->file_size, >=, before);
	sst_builder_free(b);
}

static void assert_entry(struct iter *it, const struct entry *e)
{
	REQUIRE(iter_valid(it));
	REQUIRE(slice_eq(iter_key(it), buf_slice(&e->ikey)));
	REQUIRE(slice_eq(iter_value(it), buf_slice(&e->value)));
}

static void check_get(struct sst_reader *r, const struct model *m,
		      struct slice ukey, uint64_t seq)
{
	const struct entry *e = NULL;
	char *val = NULL;
	size_t vlen = 0;
	int want = model_get(m, ukey, seq, &e);
	int got = sst_reader_get(r, ukey, seq, &val, &vlen);
	REQUIRE_INT(got, ==, want);
	if (want == LOOKUP_FOUND) {
		REQUIRE(slice_eq(slice_make(val, vlen), buf_slice(&e->value)));
		REQUIRE_INT(val[vlen], ==, '\0');
		free(val);
	}
}

/* ---- blocks ---- */

static void ikey_of(struct buf *b, unsigned i, uint64_t seq)
{
	char k[32];
	int n = snprintf(k, sizeof k, "key%05u", i);
	buf_clear(b);
	ikey_append(b, k, (size_t)n, seq, TYPE_VALUE);
}

START_TEST(test_block_roundtrip)
{
	struct block_builder bb;
	struct buf k = BUF_INIT;
	char v[16];
	block_builder_init(&bb, SST_RESTART_INTERVAL);
	for (unsigned i = 0; i < 100; i++) {
		ikey_of(&k, 2 * i, 7);
		snprintf(v, sizeof v, "v%u", i);
		REQUIRE_INT(block_builder_add(&bb, buf_slice(&k),
					      slice_make(v, strlen(v))),
			    ==, 0);
	}
	size_t est = block_builder_size_estimate(&bb);
	struct slice blk;
	REQUIRE_INT(block_builder_finish(&bb, &blk), ==, 0);
	REQUIRE_UINT(blk.len, ==, est);
	/* 100 entries, a restart every 16: 7 restarts */
	REQUIRE_UINT(decode_fixed32(blk.data + blk.len - 4), ==, 7);
	REQUIRE_INT(block_builder_add(&bb, buf_slice(&k), buf_slice(&k)), ==,
		    -EINVAL);

	struct iter *it;
	REQUIRE_INT(block_iter_new(blk.data, blk.len, "t", 0, &it), ==, 0);
	unsigned n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it), n++) {
		ikey_of(&k, 2 * n, 7);
		REQUIRE(slice_eq(iter_key(it), buf_slice(&k)));
	}
	REQUIRE_UINT(n, ==, 100);
	for (iter_seek_last(it); iter_valid(it); iter_prev(it)) {
		n--;
		ikey_of(&k, 2 * n, 7);
		REQUIRE(slice_eq(iter_key(it), buf_slice(&k)));
		snprintf(v, sizeof v, "v%u", n);
		REQUIRE(slice_eq(iter_value(it), slice_make(v, strlen(v))));
	}
	REQUIRE_UINT(n, ==, 0);
	for (unsigned i = 0; i < 201; i++) {
		/* present (even), between (odd), past the end (200) */
		ikey_of(&k, i, 7);
		iter_seek(it, buf_slice(&k));
		if (i >= 199) {
			REQUIRE(!iter_valid(it));
			continue;
		}
		struct buf want = BUF_INIT;
		ikey_of(&want, (i + 1) / 2 * 2, 7);
		REQUIRE(slice_eq(iter_key(it), buf_slice(&want)));
		/* a newer seq of the same key sorts first: lands on it too */
		ikey_of(&k, i, 8);
		iter_seek(it, buf_slice(&k));
		REQUIRE(slice_eq(iter_key(it), buf_slice(&want)));
		/* an older one sorts after it */
		if (i % 2 == 0 && i < 198) {
			ikey_of(&k, i, 6);
			iter_seek(it, buf_slice(&k));
			ikey_of(&want, i + 2, 7);
			REQUIRE(slice_eq(iter_key(it), buf_slice(&want)));
		}
		buf_release(&want);
	}
	REQUIRE_INT(iter_status(it), ==, 0);
	iter_free(it);

	/* an empty block */
	block_builder_reset(&bb);
	REQUIRE(block_builder_empty(&bb));
	REQUIRE_INT(block_builder_finish(&bb, &blk), ==, 0);
	REQUIRE_UINT(blk.len, ==, 8);
	REQUIRE_INT(block_iter_new(blk.data, blk.len, "t", 0, &it), ==, 0);
	iter_seek_first(it);
	REQUIRE(!iter_valid(it));
	iter_seek_last(it);
	REQUIRE(!iter_valid(it));
	ikey_of(&k, 1, 1);
	iter_seek(it, buf_slice(&k));
	REQUIRE(!iter_valid(it));
	REQUIRE_INT(iter_status(it), ==, 0);
	iter_free(it);
	block_builder_release(&bb);
	buf_release(&k);
}
END_TEST

START_TEST(test_block_corrupt)
{
	struct block_builder bb;
	struct buf k = BUF_INIT;
	struct iter *it;
	struct slice blk;
	block_builder_init(&bb, 4);
	for (unsigned i = 0; i < 10; i++) {
		ikey_of(&k, i, 1);
		REQUIRE_INT(block_builder_add(&bb, buf_slice(&k),
					      slice_make("val", 3)),
			    ==, 0);
	}
	REQUIRE_INT(block_builder_finish(&bb, &blk), ==, 0);
	char *copy = malloc(blk.len);
	memcpy(copy, blk.data, blk.len);

	/* restart count larger than the block */
	encode_fixed32(copy + blk.len - 4, 1000);
	REQUIRE_INT(block_iter_new(copy, blk.len, "x.sst", 4096, &it), ==,
		    -EIO);
	REQUIRE_INT(log_lines, ==, 1);
	ck_assert_str_eq(last_log, "lsm: corrupt block in 'x.sst' at offset "
				   "4096: bad restart count");
	REQUIRE_INT(block_iter_new(copy, 3, "x.sst", 0, &it), ==, -EIO);

	/* the first entry's value length runs past the entries */
	memcpy(copy, blk.data, blk.len);
	copy[1] = 0x7f; /* non_shared */
	copy[2] = 0x7f; /* value_len */
	REQUIRE_INT(block_iter_new(copy, blk.len, "x.sst", 0, &it), ==, 0);
	iter_seek_first(it);
	REQUIRE(!iter_valid(it));
	REQUIRE_INT(iter_status(it), ==, -EIO);
	iter_next(it); /* positioning after an error stays harmless */
	iter_seek_last(it);
	REQUIRE(!iter_valid(it));
	iter_free(it);

	/* a restart point past the entries */
	memcpy(copy, blk.data, blk.len);
	uint32_t nr = decode_fixed32(copy + blk.len - 4);
	encode_fixed32(copy + blk.len - 4 - 4 * nr, 60000);
	REQUIRE_INT(block_iter_new(copy, blk.len, "x.sst", 0, &it), ==, 0);
	iter_seek_first(it);
	REQUIRE_INT(iter_status(it), ==, -EIO);
	iter_free(it);
	free(copy);
	block_builder_release(&bb);
	buf_release(&k);
}
END_TEST

/* ---- tables ---- */

/* _i: bit 0 compressed (zstd; lz4 from 4 up), bit 1 random values and a
 * block cache */
START_TEST(test_roundtrip)
{
	int compress = _i & 1;
	enum values vm = (_i & 2) ? RANDOM : COMPRESSIBLE;
	struct model m = model_gen(100 + (uint64_t)_i, 1500, vm);
	struct lsm_options o =
		make_opt(1024,
			 !compress   ? LSM_COMPRESSION_NONE
			 : _i >= 4 ? LSM_COMPRESSION_LZ4
				   : LSM_COMPRESSION_ZSTD,
			 10);
	struct sst_props p;
	build(&m, &o, path_of(1), &p);
	/* synced, renamed into place, then the directory synced */
	REQUIRE_INT(tenv.syncs, ==, 1);
	REQUIRE_INT(tenv.dir_syncs, ==, 1);
	ck_assert_str_eq(tenv.synced_dir, dir);
	REQUIRE_INT(env->exists(env, path_of(1)), ==, 0);
	char tmp[FILENAME_MAX_LEN + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", path_of(1));
	REQUIRE_INT(env->exists(env, tmp), ==, -ENOENT);

	struct sst_reader *r;
	/* half the configurations read through a block cache */
	struct block_cache *bc = NULL;
	if (_i & 2)
		REQUIRE_INT(block_cache_new(1 << 20, &bc), ==, 0);
	REQUIRE_INT(sst_reader_open(env, path_of(1), 1, bc, NULL, &r), ==, 0);
	const struct sst_props *rp = sst_reader_props(r);
	uint64_t tomb = 0, kb = 0, vb = 0;
	for (size_t i = 0; i < m.n; i++) {
		tomb += ikey_type(buf_slice(&m.e[i].ikey)) == TYPE_DELETE;
		kb += m.e[i].ikey.len;
		vb += m.e[i].value.len;
	}
	REQUIRE_UINT(rp->entries, ==, m.n);
	REQUIRE_UINT(p.entries, ==, m.n);
	REQUIRE_UINT(rp->tombstones, ==, tomb);
	REQUIRE_UINT(rp->raw_key_bytes, ==, kb);
	REQUIRE_UINT(rp->raw_value_bytes, ==, vb);
	REQUIRE_UINT(rp->data_blocks, >, 100);
	REQUIRE_UINT(rp->data_blocks, ==, p.data_blocks);
	REQUIRE_UINT(rp->file_size, ==, p.file_size);
	uint64_t fsize;
	REQUIRE_INT(env->file_size(env, path_of(1), &fsize), ==, 0);
	REQUIRE_UINT(fsize, ==, p.file_size);
	REQUIRE(slice_eq(buf_slice(&rp->smallest), buf_slice(&m.e[0].ikey)));
	REQUIRE(slice_eq(buf_slice(&rp->largest),
			 buf_slice(&m.e[m.n - 1].ikey)));
	uint64_t min_seq = SEQ_MAX, max_seq = 0;
	for (size_t k = 0; k < m.n; k++) {
		uint64_t seq = ikey_seq(buf_slice(&m.e[k].ikey));
		min_seq = seq < min_seq ? seq : min_seq;
		max_seq = seq > max_seq ? seq : max_seq;
	}
	REQUIRE_UINT(rp->min_seq, ==, min_seq);
	REQUIRE_UINT(rp->max_seq, ==, max_seq);
	REQUIRE_UINT(rp->bloom_bits_per_key, ==, 10);
	REQUIRE_UINT(rp->compression, ==, (uint32_t)o.compression);
	REQUIRE_UINT(rp->reason, ==, SST_REASON_FLUSH);
	REQUIRE_UINT(rp->created_unix, >, 1600000000);
	uint64_t trailers = rp->data_blocks * SST_BLOCK_TRAILER_SIZE;
	if (compress && vm == COMPRESSIBLE)
		REQUIRE_UINT(rp->stored_data_bytes, <, rp->raw_data_bytes / 2);
	else
		REQUIRE_UINT(rp->stored_data_bytes, ==,
			     rp->raw_data_bytes + trailers);

	/* every entry, forward and backward */
	struct iter *it;
	REQUIRE_INT(sst_reader_iter_new(r, &it), ==, 0);
	size_t i = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		assert_entry(it, &m.e[i++]);
	REQUIRE_UINT(i, ==, m.n);
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		assert_entry(it, &m.e[--i]);
	REQUIRE_UINT(i, ==, 0);
	REQUIRE_INT(iter_status(it), ==, 0);
	iter_free(it);

	/* gets: every key at several snapshots, and keys that are absent */
	char ukey[64];
	for (size_t k = 0; k < m.n; k++) {
		struct slice u = ikey_user(buf_slice(&m.e[k].ikey));
		uint64_t seq = ikey_seq(buf_slice(&m.e[k].ikey));
		check_get(r, &m, u, SEQ_MAX);
		check_get(r, &m, u, seq);
		check_get(r, &m, u, seq - 1);
		check_get(r, &m, u, seq + 1);
		memcpy(ukey, u.data, u.len);
		ukey[u.len] = '\0'; /* just after u, before the next key */
		check_get(r, &m, slice_make(ukey, u.len + 1), SEQ_MAX);
		check_get(r, &m, slice_make(ukey, u.len > 7 ? 7 : u.len - 1),
			  SEQ_MAX);
	}
	for (size_t k = 0; k < m.nkeys + 2; k++) {
		int n = snprintf(ukey, sizeof ukey, "b%06zu", 2 * k + 1);
		REQUIRE_INT(sst_reader_get(r, slice_make(ukey, (size_t)n),
					   SEQ_MAX, NULL, NULL),
			    ==, LOOKUP_NOT_FOUND);
	}
	static const char *outside[] = {
		"", "a", "azzzz", "b", "c", "\xff\xff"
	};
	for (size_t k = 0; k < 6; k++)
		REQUIRE_INT(sst_reader_get(
				    r,
				    slice_make(outside[k], strlen(outside[k])),
				    SEQ_MAX, NULL, NULL),
			    ==, LOOKUP_NOT_FOUND);

	REQUIRE_INT(sst_reader_verify(r, stderr), ==, 0);
	FILE *out = tmpfile();
	REQUIRE_INT(sst_dump(env, path_of(1), out), ==, 0);
	rewind(out);
	char line[8192];
	size_t entries = 0, blocks = 0;
	while (fgets(line, sizeof line, out)) {
		entries += strstr(line, " value_len ") != NULL;
		blocks += strncmp(line, "data block ", 11) == 0;
		ck_assert_ptr_null(strstr(line, "CORRUPT"));
	}
	fclose(out);
	REQUIRE_UINT(entries, ==, m.n);
	REQUIRE_UINT(blocks, ==, rp->data_blocks);
	REQUIRE_INT(log_lines, ==, 0);
	sst_reader_free(r);
	block_cache_free(bc);
	sst_props_release(&p);
	model_free(&m);
}
END_TEST

/* Seeks, nexts and prevs at random, checked against the model. */
START_TEST(test_iter_model)
{
	struct model m = model_gen(7, 1500, COMPRESSIBLE);
	struct lsm_options o = make_opt(512, LSM_COMPRESSION_ZSTD, 10);
	build(&m, &o, path_of(2), NULL);
	struct sst_reader *r;
	struct block_cache *bc;
	REQUIRE_INT(block_cache_new(64 << 10, &bc), ==, 0);
	REQUIRE_INT(sst_reader_open(env, path_of(2), 2, bc, NULL, &r), ==, 0);
	struct iter *it;
	REQUIRE_INT(sst_reader_iter_new(r, &it), ==, 0);
	uint64_t s = 99;
	size_t pos = m.n; /* m.n: invalid */
	struct buf target = BUF_INIT;
	for (int op = 0; op < 20000; op++) {
		switch (rng(&s) % 6) {
		case 0:
			iter_seek_first(it);
			pos = 0;
			break;
		case 1:
			iter_seek_last(it);
			pos = m.n - 1;
			break;
		case 2: {
			/* a random key in or around the table */
			char k[16];
			int n = snprintf(
				k, sizeof k, "b%06llu",
				(unsigned long long)(rng(&s) %
						     (2 * m.nkeys + 4)));
			buf_clear(&target);
			ikey_append(&target, k, (size_t)n,
				    rng(&s) % (10 * m.nkeys), TYPE_SEEK);
			iter_seek(it, buf_slice(&target));
			pos = model_lower_bound(&m, buf_slice(&target));
			break;
		}
		case 3: {
			size_t j = rng(&s) % m.n;
			iter_seek(it, buf_slice(&m.e[j].ikey));
			pos = j;
			break;
		}
		case 4:
			if (pos < m.n) {
				iter_next(it);
				pos++;
			}
			break;
		default:
			if (pos < m.n) {
				iter_prev(it);
				pos = pos == 0 ? m.n : pos - 1;
			}
			break;
		}
		if (pos == m.n)
			REQUIRE(!iter_valid(it));
		else
			assert_entry(it, &m.e[pos]);
	}
	REQUIRE_INT(iter_status(it), ==, 0);
	iter_free(it);
	struct block_cache_stats st;
	block_cache_stats(bc, &st);
	REQUIRE_UINT(st.hits, >, st.misses);
	sst_reader_free(r);
	block_cache_free(bc);
	buf_release(&target);
	model_free(&m);
}
END_TEST

START_TEST(test_get_versions)
{
	/* block_size 1: every entry is a block of its own, so the versions of
	 * one key span blocks */
	for (size_t bs = 1; bs <= 4096; bs *= 4096) {
		struct model m = { NULL, 0, 0 };
		model_add(&m, slice_make("a", 1), 10, TYPE_VALUE,
			  slice_make("v10", 3));
		model_add(&m, slice_make("a", 1), 7, TYPE_DELETE,
			  slice_make("", 0));
		model_add(&m, slice_make("a", 1), 5, TYPE_VALUE,
			  slice_make("v5", 2));
		model_add(&m, slice_make("ab", 2), 4, TYPE_VALUE,
			  slice_make("", 0));
		model_add(&m, slice_make("b", 1), 3, TYPE_VALUE,
			  slice_make("vb", 2));
		struct lsm_options o = make_opt(bs, LSM_COMPRESSION_ZSTD, 10);
		build(&m, &o, path_of(3), NULL);
		struct sst_counters c = { 0 };
		struct sst_reader *r;
		REQUIRE_INT(sst_reader_open(env, path_of(3), 3, NULL, &c, &r),
			    ==, 0);
		REQUIRE_UINT(sst_reader_props(r)->data_blocks, ==,
			     bs == 1 ? 5 : 1);
		char *v;
		size_t n;
		REQUIRE_INT(
			sst_reader_get(r, slice_make("a", 1), SEQ_MAX, &v, &n),
			==, LOOKUP_FOUND);
		ck_assert_str_eq(v, "v10");
		REQUIRE_UINT(n, ==, 3);
		free(v);
		REQUIRE_INT(sst_reader_get(r, slice_make("a", 1), 10, &v, &n),
			    ==, LOOKUP_FOUND);
		free(v);
		REQUIRE_INT(sst_reader_get(r, slice_make("a", 1), 9, &v, &n),
			    ==, LOOKUP_DELETED);
		REQUIRE_INT(sst_reader_get(r, slice_make("a", 1), 7, &v, &n),
			    ==, LOOKUP_DELETED);
		REQUIRE_INT(sst_reader_get(r, slice_make("a", 1), 6, &v, &n),
			    ==, LOOKUP_FOUND);
		ck_assert_str_eq(v, "v5");
		free(v);
		REQUIRE_INT(sst_reader_get(r, slice_make("a", 1), 4, &v, &n),
			    ==, LOOKUP_NOT_FOUND);
		REQUIRE_INT(sst_reader_get(r, slice_make("ab", 2), 4, &v, &n),
			    ==, LOOKUP_FOUND);
		REQUIRE_UINT(n, ==, 0);
		ck_assert_str_eq(v, "");
		free(v);
		REQUIRE_INT(sst_reader_get(r, slice_make("b", 1), 2, &v, &n),
			    ==, LOOKUP_NOT_FOUND);
		REQUIRE_INT(sst_reader_get(r, slice_make("aa", 2), 100, &v, &n),
			    ==, LOOKUP_NOT_FOUND);
		REQUIRE_UINT(c.bloom_checks, ==, 9);
		/* absent keys are mostly answered by the filter */
		uint64_t blocks = c.blocks_read;
		char k[16];
		for (int i = 0; i < 1000; i++) {
			int kl = snprintf(k, sizeof k, "zz%d", i);
			REQUIRE_INT(sst_reader_get(r, slice_make(k, (size_t)kl),
						   SEQ_MAX, &v, &n),
				    ==, LOOKUP_NOT_FOUND);
		}
		REQUIRE_UINT(c.bloom_checks, ==, 1009);
		REQUIRE_UINT(c.bloom_useful, >=, 980);
		REQUIRE_UINT(c.blocks_read - blocks, <=, 20);
		REQUIRE_INT(sst_reader_verify(r, stderr), ==, 0);
		sst_reader_free(r);
		model_free(&m);
	}
}
END_TEST

START_TEST(test_no_filter_no_cache_counters)
{
	struct model m = model_gen(3, 300, RANDOM);
	struct lsm_options o = make_opt(4096, LSM_COMPRESSION_NONE, 0);
	build(&m, &o, path_of(4), NULL);
	struct sst_counters c = { 0 };
	struct sst_reader *r;
	REQUIRE_INT(sst_reader_open(env, path_of(4), 4, NULL, &c, &r), ==, 0);
	REQUIRE_UINT(sst_reader_props(r)->bloom_bits_per_key, ==, 0);
	REQUIRE_UINT(c.blocks_read, ==, 2); /* props + index, no filter */
	for (size_t k = 0; k < m.n; k++)
		check_get(r, &m, ikey_user(buf_slice(&m.e[k].ikey)), SEQ_MAX);
	REQUIRE_UINT(c.bloom_checks, ==, 0);
	/* without a cache, every get reads its block */
	REQUIRE_UINT(c.blocks_read, ==, 2 + m.n);
	REQUIRE_INT(sst_reader_verify(r, NULL), ==, 0);
	sst_reader_free(r);
	model_free(&m);
}
END_TEST

START_TEST(test_block_cache_use)
{
	struct model m = model_gen(5, 800, COMPRESSIBLE);
	struct lsm_options o = make_opt(1024, LSM_COMPRESSION_ZSTD, 10);
	build(&m, &o, path_of(5), NULL);
	struct block_cache *bc;
	struct block_cache_stats st;
	struct sst_counters c = { 0 };
	REQUIRE_INT(block_cache_new(8 << 20, &bc), ==, 0);
	struct sst_reader *r, *r2;
	REQUIRE_INT(sst_reader_open(env, path_of(5), 5, bc, &c, &r), ==, 0);
	uint64_t blocks = sst_reader_props(r)->data_blocks;
	struct iter *it;
	for (int pass = 0; pass < 2; pass++) {
		REQUIRE_INT(sst_reader_iter_new(r, &it), ==, 0);
		size_t n = 0;
		for (iter_seek_first(it); iter_valid(it); iter_next(it))
			assert_entry(it, &m.e[n++]);
		REQUIRE_UINT(n, ==, m.n);
		iter_free(it);
		/* the second pass reads nothing from disk */
		REQUIRE_UINT(c.blocks_read, ==, 3 + blocks);
	}
	block_cache_stats(bc, &st);
	REQUIRE_UINT(st.misses, ==, blocks);
	REQUIRE_UINT(st.hits, ==, blocks);
	REQUIRE_UINT(st.usage, >, sst_reader_props(r)->raw_data_bytes);
	/* a second reader of the same file number shares the blocks */
	REQUIRE_INT(sst_reader_open(env, path_of(5), 5, bc, &c, &r2), ==, 0);
	for (size_t k = 0; k < m.n; k += 7)
		check_get(r2, &m, ikey_user(buf_slice(&m.e[k].ikey)), SEQ_MAX);
	REQUIRE_UINT(c.blocks_read, ==, 6 + blocks);
	sst_reader_free(r2);
	/* a reader with no number gets its own cache id */
	REQUIRE_INT(sst_reader_open(env, path_of(5), 0, bc, &c, &r2), ==, 0);
	check_get(r2, &m, ikey_user(buf_slice(&m.e[0].ikey)), SEQ_MAX);
	REQUIRE_UINT(c.blocks_read, ==, 10 + blocks);
	sst_reader_free(r2);
	sst_reader_free(r);
	block_cache_free(bc);
	model_free(&m);
}
END_TEST

START_TEST(test_empty_table)
{
	struct model m = { NULL, 0, 0 };
	struct lsm_options o = make_opt(4096, LSM_COMPRESSION_ZSTD, 10);
	struct sst_props p;
	build(&m, &o, path_of(6), &p);
	REQUIRE_UINT(p.entries, ==, 0);
	sst_props_release(&p);
	struct sst_reader *r;
	REQUIRE_INT(sst_reader_open(env, path_of(6), 6, NULL, NULL, &r), ==, 0);
	const struct sst_props *rp = sst_reader_props(r);
	REQUIRE_UINT(rp->entries, ==, 0);
	REQUIRE_UINT(rp->data_blocks, ==, 0);
	REQUIRE_UINT(rp->smallest.len, ==, 0);
	REQUIRE_INT(sst_reader_get(r, slice_make("a", 1), SEQ_MAX, NULL, NULL),
		    ==, LOOKUP_NOT_FOUND);
	struct iter *it;
	REQUIRE_INT(sst_reader_iter_new(r, &it), ==, 0);
	iter_seek_first(it);
	REQUIRE(!iter_valid(it));
	iter_seek_last(it);
	REQUIRE(!iter_valid(it));
	struct buf t = BUF_INIT;
	ikey_append(&t, "a", 1, 1, TYPE_SEEK);
	iter_seek(it, buf_slice(&t));
	REQUIRE(!iter_valid(it));
	REQUIRE_INT(iter_status(it), ==, 0);
	buf_release(&t);
	iter_free(it);
	REQUIRE_INT(sst_reader_verify(r, stderr), ==, 0);
	sst_reader_free(r);
}
END_TEST

static bool tmp_exists(uint64_t number)
{
	char tmp[FILENAME_MAX_LEN + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", path_of(number));
	return env->exists(env, tmp) == 0;
}

START_TEST(test_builder_errors)
{
	struct lsm_options o = make_opt(4096, LSM_COMPRESSION_ZSTD, 10);
	struct sst_builder *b;
	struct buf k1 = BUF_INIT, k2 = BUF_INIT;
	ikey_append(&k1, "b", 1, 5, TYPE_VALUE);
	ikey_append(&k2, "a", 1, 5, TYPE_VALUE);

	REQUIRE_INT(sst_builder_new(env, &o, path_of(7), 0, &b), ==, -EINVAL);
	REQUIRE_INT(sst_builder_new(env, &o, "/nonexistent/dir/1.sst",
				    SST_REASON_FLUSH, &b),
		    ==, -ENOENT);

	/* out of order: sticky, nothing installed, the temp file removed */
	REQUIRE_INT(
		sst_builder_new(env, &o, path_of(7), SST_REASON_COMPACTION, &b),
		==, 0);
	REQUIRE(tmp_exists(7));
	REQUIRE_INT(sst_builder_add(b, buf_slice(&k1), slice_make("x", 1)), ==,
		    0);
	REQUIRE_INT(sst_builder_add(b, buf_slice(&k2), slice_make("x", 1)), ==,
		    -EINVAL);
	REQUIRE_INT(sst_builder_add(b, buf_slice(&k1), slice_make("x", 1)), ==,
		    -EINVAL);
	REQUIRE_INT(sst_builder_finish(b, NULL), ==, -EINVAL);
	sst_builder_free(b);
	REQUIRE(!tmp_exists(7));
	REQUIRE_INT(env->exists(env, path_of(7)), ==, -ENOENT);

	/* the same key twice, a short key, an unknown type */
	REQUIRE_INT(sst_builder_new(env, &o, path_of(7), SST_REASON_FLUSH, &b),
		    ==, 0);
	REQUIRE_INT(sst_builder_add(b, buf_slice(&k1), slice_make("", 0)), ==,
		    0);
	REQUIRE_INT(sst_builder_add(b, buf_slice(&k1), slice_make("", 0)), ==,
		    -EINVAL);
	sst_builder_free(b);
	REQUIRE_INT(sst_builder_new(env, &o, path_of(7), SST_REASON_FLUSH, &b),
		    ==, 0);
	REQUIRE_INT(
		sst_builder_add(b, slice_make("short", 5), slice_make("", 0)),
		==, -EINVAL);
	sst_builder_free(b);
	REQUIRE_INT(sst_builder_new(env, &o, path_of(7), SST_REASON_FLUSH, &b),
		    ==, 0);
	buf_clear(&k2);
	ikey_append(&k2, "a", 1, 5, (enum entry_type)7);
	REQUIRE_INT(sst_builder_add(b, buf_slice(&k2), slice_make("", 0)), ==,
		    -EINVAL);
	sst_builder_free(b);
	REQUIRE(!tmp_exists(7));

	/* finishing twice */
	REQUIRE_INT(sst_builder_new(env, &o, path_of(7), SST_REASON_FLUSH, &b),
		    ==, 0);
	REQUIRE_INT(sst_builder_add(b, buf_slice(&k1), slice_make("", 0)), ==,
		    0);
	REQUIRE_INT(sst_builder_finish(b, NULL), ==, 0);
	REQUIRE_INT(sst_builder_finish(b, NULL), ==, -EINVAL);
	sst_builder_free(b);
	REQUIRE_INT(env->exists(env, path_of(7)), ==, 0); /* kept */
	sst_builder_free(NULL);
	buf_release(&k1);
	buf_release(&k2);
}
END_TEST

/* _i: 0 append fails mid-table, 1 append fails in the tail, 2 sync fails,
 * 3 rename fails */
START_TEST(test_builder_io_errors)
{
	struct model m = model_gen(11, 400, RANDOM);
	struct lsm_options o = make_opt(1024, LSM_COMPRESSION_ZSTD, 10);
	struct sst_builder *b;
	int want = _i < 2 ? -ENOSPC : -EIO;
	if (_i == 0)
		tenv.appends_left = 20;
	REQUIRE_INT(sst_builder_new(env, &o, path_of(8), SST_REASON_FLUSH, &b),
		    ==, 0);
	int first = 0;
	for (size_t i = 0; i < m.n; i++) {
		int rc = sst_builder_add(b, buf_slice(&m.e[i].ikey),
					 buf_slice(&m.e[i].value));
		if (rc && !first)
			first = rc;
		if (first)
			REQUIRE_INT(rc, ==, first); /* sticky */
	}
	REQUIRE_INT(first, ==, _i == 0 ? want : 0);
	if (_i == 1)
		tenv.appends_left = 2; /* two more blocks' worth of appends */
	tenv.fail_sync = _i == 2;
	tenv.fail_rename = _i == 3;
	REQUIRE_INT(sst_builder_finish(b, NULL), ==, want);
	REQUIRE_INT(sst_builder_finish(b, NULL), ==, want);
	sst_builder_free(b);
	REQUIRE(!tmp_exists(8));
	REQUIRE_INT(env->exists(env, path_of(8)), ==, -ENOENT);
	model_free(&m);
}
END_TEST

START_TEST(test_read_errors)
{
	struct model m = model_gen(12, 200, RANDOM);
	struct lsm_options o = make_opt(1024, LSM_COMPRESSION_NONE, 10);
	build(&m, &o, path_of(9), NULL);
	struct sst_reader *r;
	REQUIRE_INT(sst_reader_open(env, path_of(10), 10, NULL, NULL, &r), ==,
		    -ENOENT);
	tenv.fail_reads = 1;
	REQUIRE_INT(sst_reader_open(env, path_of(9), 9, NULL, NULL, &r), ==,
		    -EIO);
	tenv.fail_reads = 0;
	REQUIRE_INT(sst_reader_open(env, path_of(9), 9, NULL, NULL, &r), ==, 0);
	REQUIRE_INT(tenv.open_rfiles, ==, 1);
	tenv.fail_reads = 1;
	char *v;
	size_t n;
	struct slice u = ikey_user(buf_slice(&m.e[0].ikey));
	REQUIRE_INT(sst_reader_get(r, u, SEQ_MAX, &v, &n), ==, -EIO);
	struct iter *it;
	REQUIRE_INT(sst_reader_iter_new(r, &it), ==, 0);
	iter_seek_first(it);
	REQUIRE(!iter_valid(it));
	REQUIRE_INT(iter_status(it), ==, -EIO);
	iter_free(it);
	tenv.fail_reads = 0;
	check_get(r, &m, u, SEQ_MAX);
	sst_reader_free(r);
	REQUIRE_INT(tenv.open_rfiles, ==, 0);
	model_free(&m);
}
END_TEST

static void write_bytes(const char *path, const char *data, size_t n)
{
	/* a new file, not a truncated one: ext4 flushes a file that was
	 * truncated and rewritten when it is closed, which is slow */
	unlink(path);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	REQUIRE_UINT(fwrite(data, 1, n, f), ==, n);
	fclose(f);
}

/* Reads everything through r: entries must match the model or the read
 * must fail with -EIO. Returns true when some read failed. */
static bool read_all(struct sst_reader *r, const struct model *m)
{
	bool failed = false;
	struct iter *it;
	REQUIRE_INT(sst_reader_iter_new(r, &it), ==, 0);
	size_t i = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		REQUIRE_UINT(i, <, m->n);
		assert_entry(it, &m->e[i++]);
	}
	if (iter_status(it)) {
		REQUIRE_INT(iter_status(it), ==, -EIO);
		failed = true;
	} else {
		REQUIRE_UINT(i, ==, m->n);
	}
	iter_free(it);
	for (size_t k = 0; k < m->n; k++) {
		struct slice u = ikey_user(buf_slice(&m->e[k].ikey));
		const struct entry *e = NULL;
		char *v = NULL;
		size_t n;
		int want = model_get(m, u, SEQ_MAX, &e);
		int got = sst_reader_get(r, u, SEQ_MAX, &v, &n);
		if (got == -EIO) {
			failed = true;
			continue;
		}
		REQUIRE_INT(got, ==, want);
		if (got == LOOKUP_FOUND) {
			REQUIRE(slice_eq(slice_make(v, n),
					 buf_slice(&e->value)));
			free(v);
		}
	}
	return failed;
}

/* Flip every byte of a small table in turn: each flip is caught (_i: bit 0
 * random values, from 2 up lz4 instead of zstd). */
START_TEST(test_flip_every_byte)
{
	struct model m =
		model_gen(21, 40, SMALL | ((_i & 1) ? RANDOM : COMPRESSIBLE));
	struct lsm_options o = make_opt(
		256, _i >= 2 ? LSM_COMPRESSION_LZ4 : LSM_COMPRESSION_ZSTD, 10);
	struct sst_props p;
	build(&m, &o, path_of(11), &p);
	REQUIRE_UINT(p.data_blocks, >, 4);
	char *orig, *copy;
	size_t size;
	REQUIRE_INT(env_read_file(env, path_of(11), &orig, &size), ==, 0);
	REQUIRE_UINT(size, ==, p.file_size);
	copy = malloc(size);
	int open_fail = 0, read_fail = 0;
	for (size_t off = 0; off < size; off++) {
		memcpy(copy, orig, size);
		copy[off] ^= (char)(1 + off % 255);
		tenv.mem_path = path_of(12);
		tenv.mem_data = copy;
		tenv.mem_len = size;
		struct sst_reader *r;
		int before = log_lines;
		int rc = sst_reader_open(env, path_of(12), 0, NULL, NULL, &r);
		if (rc) {
			REQUIRE_INT(rc, ==, -EIO);
			REQUIRE_INT(log_lines, >, before);
			ck_assert_ptr_nonnull(strstr(last_log, "'000012.sst'"));
			ck_assert_ptr_nonnull(strstr(last_log, "at offset "));
			open_fail++;
			continue;
		}
		bool failed = read_all(r, &m);
		FILE *devnull = fopen("/dev/null", "w");
		REQUIRE_INT(sst_reader_verify(r, devnull), ==, -EIO);
		fclose(devnull);
		ck_assert_msg(failed, "flip at offset %zu not detected", off);
		ck_assert_ptr_nonnull(strstr(last_log,
					     "corrupt block in "
					     "'000012.sst' at offset"));
		read_fail++;
		sst_reader_free(r);
	}
	/* data blocks come first and are most of the file */
	REQUIRE_UINT((size_t)read_fail, >=, p.stored_data_bytes);
	REQUIRE_UINT((size_t)open_fail, >=, size - p.stored_data_bytes);
	REQUIRE_INT(tenv.open_rfiles, ==, 0);
	free(copy);
	free(orig);
	sst_props_release(&p);
	model_free(&m);
}
END_TEST

/* Whether /proc/self/maps lists a mapping of path. */
static bool is_mapped(const char *path)
{
	FILE *f = fopen("/proc/self/maps", "r");
	REQUIRE(f != NULL);
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, path) != NULL;
	fclose(f);
	return found;
}

/*
 * A table read through a mapping (sst_reader_map) and then cut short under
 * the reader, as a failing disk or a stray truncate would: loads past the
 * new end raise SIGBUS, which must come back as -EIO with a log line naming
 * the file and offset (engine/map_guard.c), never kill the process; the
 * reads before the failure were right. Without the guard this test dies.
 */
START_TEST(test_mapped_truncated)
{
	struct model m = model_gen(23, 600, SMALL | RANDOM);
	struct lsm_options o = make_opt(512, LSM_COMPRESSION_NONE, 10);
	struct sst_props p;
	build(&m, &o, path_of(15), &p);
	REQUIRE_UINT(p.file_size, >, 4 * 4096);
	struct sst_reader *r;
	REQUIRE_INT(sst_reader_open(env_posix(), path_of(15), 15, NULL, NULL,
				    &r),
		    ==, 0);
	REQUIRE(!is_mapped(path_of(15)));
	sst_reader_map(r);
	REQUIRE(is_mapped(path_of(15)));
	REQUIRE(!read_all(r, &m));
	REQUIRE_INT(log_lines, ==, 0);

	REQUIRE_INT(truncate(path_of(15), 4096), ==, 0);
	REQUIRE(read_all(r, &m)); /* the iterator's preads fail too */
	REQUIRE_INT(log_lines, >, 0);
	/* a point read of the last key loads from the mapping past the end */
	char *v = NULL;
	size_t vlen;
	REQUIRE_INT(sst_reader_get(r, ikey_user(buf_slice(&m.e[m.n - 1].ikey)),
				   SEQ_MAX, &v, &vlen),
		    ==, -EIO);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(strstr(last_log, "'000015.sst'"));
	ck_assert_ptr_nonnull(strstr(last_log, "at offset "));
	ck_assert_ptr_nonnull(strstr(last_log, "mapped page unreadable"));
	sst_reader_free(r);
	REQUIRE(!is_mapped(path_of(15)));
	sst_props_release(&p);
	model_free(&m);
}
END_TEST

static void exit_42(int sig)
{
	(void)sig;
	_exit(42);
}

/* Runs fn in a child process; returns its wait status. */
static int in_child(void (*fn)(void))
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		fn();
		_exit(0);
	}
	int status;
	REQUIRE_INT(waitpid(pid, &status, 0), ==, pid);
	return status;
}

static void sigbus_default(void)
{
	REQUIRE_INT(map_guard_init(), ==, 0);
	raise(SIGBUS);
}

static void sigbus_chained(void)
{
	signal(SIGBUS, exit_42);
	REQUIRE_INT(map_guard_init(), ==, 0);
	raise(SIGBUS);
}

/* A SIGBUS that is not a guarded copy's still does what it did without
 * the guard: ends the process (by the signal; under a sanitizer, whose
 * handler was there first, by its report and exit status), or reaches the
 * handler the process had. */
START_TEST(test_sigbus_not_ours)
{
	int status = in_child(sigbus_default);
	REQUIRE(!WIFEXITED(status) || WEXITSTATUS(status) != 0);
	if (WIFSIGNALED(status))
		REQUIRE_INT(WTERMSIG(status), ==, SIGBUS);
	status = in_child(sigbus_chained);
	REQUIRE(WIFEXITED(status));
	REQUIRE_INT(WEXITSTATUS(status), ==, 42);
}
END_TEST

START_TEST(test_truncated)
{
	struct model m = model_gen(22, 60, SMALL | RANDOM);
	struct lsm_options o = make_opt(512, LSM_COMPRESSION_NONE, 10);
	build(&m, &o, path_of(13), NULL);
	char *orig;
	size_t size;
	REQUIRE_INT(env_read_file(env, path_of(13), &orig, &size), ==, 0);
	for (size_t len = 0; len < size; len++) {
		tenv.mem_path = path_of(14);
		tenv.mem_data = orig;
		tenv.mem_len = len;
		struct sst_reader *r;
		REQUIRE_INT(
			sst_reader_open(env, path_of(14), 0, NULL, NULL, &r),
			==, -EIO);
		ck_assert_ptr_nonnull(strstr(last_log, "'000014.sst'"));
		FILE *out = fopen("/dev/null", "w");
		REQUIRE_INT(sst_dump(env, path_of(14), out), ==, -EIO);
		fclose(out);
	}
	/* zeroed data blocks (lost pages) are caught when read */
	memset(orig + 10, 0, 100);
	tenv.mem_len = size;
	struct sst_reader *r;
	REQUIRE_INT(sst_reader_open(env, path_of(14), 0, NULL, NULL, &r), ==,
		    0);
	REQUIRE(read_all(r, &m));
	sst_reader_free(r);
	free(orig);
	model_free(&m);
}
END_TEST

START_TEST(test_dump)
{
	struct model m = { NULL, 0, 0 };
	model_add(&m, slice_make("hello", 5), 9, TYPE_VALUE,
		  slice_make("world", 5));
	model_add(&m, slice_make("it's\n", 5), 8, TYPE_DELETE,
		  slice_make("", 0));
	char big[3000];
	memset(big, 'z', sizeof big);
	model_add(&m, slice_make("zzz", 3), 7, TYPE_VALUE,
		  slice_make(big, sizeof big));
	struct lsm_options o = make_opt(1, LSM_COMPRESSION_ZSTD, 10);
	build(&m, &o, path_of(15), NULL);
	char *text;
	size_t n;
	FILE *out = tmpfile();
	REQUIRE_INT(sst_dump(env, path_of(15), out), ==, 0);
	fflush(out);
	n = (size_t)ftell(out);
	rewind(out);
	text = calloc(1, n + 1);
	REQUIRE_UINT(fread(text, 1, n, out), ==, n);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(text, "sstable '000015.sst'"));
	ck_assert_ptr_nonnull(strstr(text, "data block 0 at offset 0: stored"));
	ck_assert_ptr_nonnull(strstr(text, "'hello' seq 9 put value_len 5"));
	ck_assert_ptr_nonnull(
		strstr(text, "'it\\x27s\\x0a' seq 8 del value_len 0"));
	ck_assert_ptr_nonnull(strstr(text, "'zzz' seq 7 put value_len 3000"));
	ck_assert_ptr_nonnull(strstr(text, ", zstd, crc ok"));
	ck_assert_ptr_nonnull(strstr(text, ", none, crc ok"));
	ck_assert_ptr_nonnull(strstr(text, "  entries 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "  tombstones 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "  reason flush\n"));
	ck_assert_ptr_nonnull(strstr(text, "  smallest 'hello' seq 9 put\n"));
	ck_assert_ptr_nonnull(strstr(text, "probes"));
	ck_assert_ptr_null(strstr(text, "CORRUPT"));
	free(text);

	/* damage data block 1: the dump says so and still shows block 2 */
	char *orig;
	REQUIRE_INT(env_read_file(env, path_of(15), &orig, &n), ==, 0);
	struct sst_reader *r;
	REQUIRE_INT(sst_reader_open(env, path_of(15), 0, NULL, NULL, &r), ==,
		    0);
	struct iter *it;
	REQUIRE_INT(sst_reader_iter_new(r, &it), ==, 0);
	iter_seek_first(it);
	iter_next(it);
	iter_free(it);
	sst_reader_free(r);
	/* block 0 holds "hello": stored raw, entry header + keys < 40 bytes */
	size_t off = 0;
	while (off < n && memcmp(orig + off, "it's", 4))
		off++;
	REQUIRE_UINT(off, <, n);
	orig[off] = 'I';
	write_bytes(path_of(15), orig, n);
	free(orig);
	out = tmpfile();
	REQUIRE_INT(sst_dump(env, path_of(15), out), ==, -EIO);
	fflush(out);
	n = (size_t)ftell(out);
	rewind(out);
	text = calloc(1, n + 1);
	REQUIRE_UINT(fread(text, 1, n, out), ==, n);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(text, "data block 1 at offset"));
	ck_assert_ptr_nonnull(strstr(text, "CORRUPT: checksum mismatch"));
	ck_assert_ptr_nonnull(strstr(text, "'hello' seq 9 put"));
	ck_assert_ptr_nonnull(strstr(text, "'zzz' seq 7 put"));
	ck_assert_ptr_nonnull(strstr(text, "1 problem(s) found"));
	free(text);
	REQUIRE_INT(sst_dump(env, path_of(16), stdout), ==, -ENOENT);
	model_free(&m);
}
END_TEST

/* ---- table cache ---- */

#define NTABLES 12

/* Table t (1..NTABLES) holds keys "t%02d-%04d" for 0..99, value = key. */
static void build_tables(void)
{
	struct lsm_options o = make_opt(512, LSM_COMPRESSION_ZSTD, 10);
	for (int t = 1; t <= NTABLES; t++) {
		struct model m = { NULL, 0, 0 };
		char k[32];
		for (int i = 0; i < 100; i++) {
			int n = snprintf(k, sizeof k, "t%02d-%04d", t, i);
			model_add(&m, slice_make(k, (size_t)n), (uint64_t)i + 1,
				  TYPE_VALUE, slice_make(k, (size_t)n));
		}
		build(&m, &o, path_of((uint64_t)t), NULL);
		model_free(&m);
	}
}

static void tc_check(struct table_cache *tc, int t, int i)
{
	char k[32], *v;
	size_t n;
	int kl = snprintf(k, sizeof k, "t%02d-%04d", t, i);
	REQUIRE_INT(table_cache_get(tc, (uint64_t)t, slice_make(k, (size_t)kl),
				    SEQ_MAX, &v, &n),
		    ==, LOOKUP_FOUND);
	REQUIRE(slice_eq(slice_make(v, n), slice_make(k, (size_t)kl)));
	free(v);
}

START_TEST(test_table_cache_bound)
{
	build_tables();
	struct block_cache *bc;
	struct table_cache *tc;
	REQUIRE_INT(block_cache_new(1 << 20, &bc), ==, 0);
	REQUIRE_INT(table_cache_new(env, dir, 4, bc, &tc), ==, 0);
	uint64_t s = 5;
	for (int i = 0; i < 2000; i++)
		tc_check(tc, 1 + (int)(rng(&s) % NTABLES),
			 (int)(rng(&s) % 100));
	REQUIRE_INT(tenv.max_open_rfiles, <=, 4);
	REQUIRE_INT(tenv.open_rfiles, ==, 4);
	REQUIRE_INT(table_cache_open_count(tc), ==, 4);

	/* absent keys and tables */
	char *v;
	size_t n;
	REQUIRE_INT(table_cache_get(tc, 3, slice_make("t03-9999", 8), SEQ_MAX,
				    &v, &n),
		    ==, LOOKUP_NOT_FOUND);
	/* a table asked for is live: its file missing is corruption */
	REQUIRE_INT(
		table_cache_get(tc, 99, slice_make("x", 1), SEQ_MAX, &v, &n),
		==, -EIO);
	REQUIRE_INT(table_cache_open_count(tc), <=, 4);

	/* iterators pin their readers; others keep cycling under the bound */
	struct iter *its[3];
	for (int t = 0; t < 3; t++)
		REQUIRE_INT(table_cache_iter(tc, (uint64_t)t + 1, &its[t]), ==,
			    0);
	for (int i = 0; i < 500; i++)
		tc_check(tc, 1 + (int)(rng(&s) % NTABLES),
			 (int)(rng(&s) % 100));
	REQUIRE_INT(tenv.max_open_rfiles, <=, 4);
	for (int t = 0; t < 3; t++) {
		int i = 0;
		char k[32];
		for (iter_seek_first(its[t]); iter_valid(its[t]);
		     iter_next(its[t]), i++) {
			int kl = snprintf(k, sizeof k, "t%02d-%04d", t + 1, i);
			REQUIRE(slice_eq(ikey_user(iter_key(its[t])),
					 slice_make(k, (size_t)kl)));
		}
		REQUIRE_INT(i, ==, 100);
	}

	/* evicting a pinned table: the iterator goes on, then it is closed */
	table_cache_evict(tc, 2);
	REQUIRE_INT(unlink(path_of(2)), ==, 0);
	iter_seek_last(its[1]);
	REQUIRE(iter_valid(its[1]));
	for (int t = 0; t < 3; t++)
		iter_free(its[t]);
	REQUIRE_INT(table_cache_open_count(tc), <=, 3);
	REQUIRE_INT(table_cache_get(tc, 2, slice_make("t02-0001", 8), SEQ_MAX,
				    &v, &n),
		    ==, -EIO);
	table_cache_evict(tc, 2);  /* not cached: no-op */
	table_cache_evict(tc, 77); /* never cached */

	struct sst_props p;
	REQUIRE_INT(table_cache_props(tc, 5, &p), ==, 0);
	REQUIRE_UINT(p.entries, ==, 100);
	REQUIRE_INT(memcmp(p.smallest.data, "t05-0000", 8), ==, 0);
	sst_props_release(&p);

	struct sst_counters c;
	table_cache_counters(tc, &c);
	REQUIRE_UINT(c.bloom_checks, >=, 2500);
	REQUIRE_UINT(c.bloom_useful, >=, 1); /* t03-9999 most likely */
	REQUIRE_UINT(c.blocks_read, >, 0);
	REQUIRE_UINT(c.bytes_read, >, 0);
	table_cache_free(tc);
	REQUIRE_INT(tenv.open_rfiles, ==, 0);
	block_cache_free(bc);
	table_cache_free(NULL);
}
END_TEST

START_TEST(test_table_cache_all_pinned)
{
	build_tables();
	struct table_cache *tc;
	REQUIRE_INT(table_cache_new(env, dir, 2, NULL, &tc), ==, 0);
	struct iter *its[3];
	for (int t = 0; t < 3; t++)
		REQUIRE_INT(table_cache_iter(tc, (uint64_t)t + 1, &its[t]), ==,
			    0);
	/* all pinned: the third is opened past the bound rather than wait */
	REQUIRE_INT(table_cache_open_count(tc), ==, 3);
	iter_free(its[2]);
	REQUIRE_INT(table_cache_open_count(tc), ==, 2);
	REQUIRE_INT(tenv.open_rfiles, ==, 2);
	/* two iterators on one table share one reader */
	struct iter *again;
	REQUIRE_INT(table_cache_iter(tc, 1, &again), ==, 0);
	REQUIRE_INT(tenv.open_rfiles, ==, 2);
	iter_seek_first(again);
	REQUIRE(iter_valid(again));
	iter_free(again);
	iter_free(its[0]);
	iter_free(its[1]);
	tc_check(tc, 7, 7);
	REQUIRE_INT(tenv.open_rfiles, ==, 2);
	table_cache_free(tc);
	REQUIRE_INT(tenv.open_rfiles, ==, 0);
}
END_TEST

struct tc_worker {
	struct table_cache *tc;
	uint64_t seed;
};

static void *tc_worker_main(void *arg)
{
	struct tc_worker *w = arg;
	for (int i = 0; i < 3000; i++) {
		int t = 1 + (int)(rng(&w->seed) % NTABLES);
		int k = (int)(rng(&w->seed) % 100);
		char key[32], *v;
		size_t n;
		int kl = snprintf(key, sizeof key, "t%02d-%04d", t, k);
		if (table_cache_get(w->tc, (uint64_t)t,
				    slice_make(key, (size_t)kl), SEQ_MAX, &v,
				    &n) != LOOKUP_FOUND)
			return (void *)1;
		bool ok = n == (size_t)kl && memcmp(v, key, n) == 0;
		free(v);
		if (!ok)
			return (void *)1;
		if (i % 500 == 0)
			table_cache_evict(w->tc, (uint64_t)t);
	}
	return NULL;
}

START_TEST(test_table_cache_concurrent)
{
	build_tables();
	struct block_cache *bc;
	struct table_cache *tc;
	REQUIRE_INT(block_cache_new(256 << 10, &bc), ==, 0);
	REQUIRE_INT(table_cache_new(env, dir, 3, bc, &tc), ==, 0);
	struct tc_worker w[2] = { { tc, 1 }, { tc, 2 } };
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		REQUIRE_INT(pthread_create(&th[i], NULL, tc_worker_main, &w[i]),
			    ==, 0);
	for (int i = 0; i < 2; i++) {
		void *res;
		pthread_join(th[i], &res);
		ck_assert_ptr_null(res);
	}
	/* two threads pin at most two readers: the bound always holds */
	REQUIRE_INT(tenv.max_open_rfiles, <=, 3);
	table_cache_free(tc);
	REQUIRE_INT(tenv.open_rfiles, ==, 0);
	block_cache_free(bc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sst");
	TCase *tc = tcase_create("block");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_block_roundtrip);
	tcase_add_test(tc, test_block_corrupt);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_roundtrip, 0, 8);
	tcase_add_test(tc, test_iter_model);
	tcase_add_test(tc, test_get_versions);
	tcase_add_test(tc, test_no_filter_no_cache_counters);
	tcase_add_test(tc, test_block_cache_use);
	tcase_add_test(tc, test_empty_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_builder_errors);
	tcase_add_loop_test(tc, test_builder_io_errors, 0, 4);
	tcase_add_test(tc, test_read_errors);
	tcase_add_loop_test(tc, test_flip_every_byte, 0, 4);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_mapped_truncated);
	tcase_add_test(tc, test_sigbus_not_ours);
	tcase_add_test(tc, test_dump);
	suite_add_tcase(s, tc);

	tc = tcase_create("table_cache");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_table_cache_bound);
	tcase_add_test(tc, test_table_cache_all_pinned);
	tcase_add_test(tc, test_table_cache_concurrent);
	suite_add_tcase(s, tc);

	return tu_run("check_sst", s);
}
