/*
 * check_compaction.c - leveled compaction, write stalls and the statistics
 * that describe them, through the public API (engine/lsm.h):
 *  - a tombstone never resurrects a deleted value (delete, compact
 *    partially, reopen, compact fully, reopen);
 *  - the tables of every level >= 1 have disjoint, sorted key ranges;
 *  - deleting everything and compacting gives the space back, and after an
 *    overwrite of every key a full compaction leaves < 1.5x one copy;
 *  - snapshot reads are stable across compactions;
 *  - stall counters move when compaction or flush is slowed down through
 *    the LSM_TEST_COMPACTION_DELAY_US / LSM_TEST_FLUSH_DELAY_US hooks.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lsm.h"
#include "testutil.h"

/* ---- helpers ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sum of the sizes of the files in the store directory. */
static uint64_t dir_bytes(void)
{
	DIR *d = opendir(tu_dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	uint64_t total = 0;
	while ((e = readdir(d))) {
		char p[512];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", tu_dir, e->d_name);
		if (!stat(p, &st) && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

static int make_key(char *k, uint32_t i)
{
	return snprintf(k, 16, "key%06u", i);
}

/* The value of key i at version ver: len bytes that name both. */
static size_t make_value(char *out, size_t len, uint32_t i, uint32_t ver)
{
	uint64_t x = ((uint64_t)i << 32 | ver) * 0x9E3779B97F4A7C15ull + 1;
	int n = snprintf(out, len, "%u:%u:", i, ver);
	for (size_t j = (size_t)n; j < len; j++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out[j] = (char)(x >> 24);
	}
	return len;
}

static void put_kv(struct lsm_db *db, uint32_t i, uint32_t ver, size_t len)
{
	char k[16], v[4096];
	int klen = make_key(k, i);
	make_value(v, len, i, ver);
	int rc = lsm_put(db, k, (size_t)klen, v, len);
	ck_assert_msg(rc == 0, "put %s: %s", k, lsm_strerror(rc));
}

static void del_k(struct lsm_db *db, uint32_t i)
{
	char k[16];
	int klen = make_key(k, i);
	ck_assert_int_eq(lsm_delete(db, k, (size_t)klen), 0);
}

/* Asserts key i holds version ver (len bytes) at snap, or is absent
 * (ver == UINT32_MAX). */
static void expect_kv(struct lsm_db *db, const struct lsm_snapshot *snap,
		      uint32_t i, uint32_t ver, size_t len)
{
	char k[16], want[4096], *got = NULL;
	size_t glen = 0;
	int klen = make_key(k, i);
	int rc = lsm_get(db, snap, k, (size_t)klen, &got, &glen);
	if (ver == UINT32_MAX) {
		ck_assert_msg(rc == -ENOENT, "%s: deleted, but get says %d%s",
			      k, rc, rc ? "" : " (resurrected)");
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", k, lsm_strerror(rc));
	make_value(want, len, i, ver);
	ck_assert_msg(glen == len && !memcmp(got, want, len),
		      "%s: wrong value (want version %u)", k, ver);
	free(got);
}

static int deepest_level(const struct lsm_stats *s)
{
	int d = -1;
	for (int l = 0; l < LSM_NUM_LEVELS; l++)
		if (s->levels[l].files)
			d = l;
	return d;
}

/* Waits (at most 30 s) until no flush or compaction runs or is wanted. */
static void wait_idle(struct lsm_db *db)
{
	double end = now_s() + 30;
	for (;;) {
		struct lsm_stats st;
		ck_assert_int_eq(lsm_stats_get(db, &st), 0);
		bool busy = st.running_flushes || st.running_compactions ||
			    st.flush_queue_depth;
		for (int l = 0; l < LSM_NUM_LEVELS - 1; l++)
			if (st.levels[l].score >= 1.0)
				busy = true;
		lsm_stats_release(&st);
		if (!busy)
			return;
		ck_assert_msg(now_s() < end, "background work never settles");
		tu_sleep_ms(20);
	}
}

/*
 * Checks the live-file list: level order, sane metadata, per-level file
 * counts and bytes that match the level table, and, for every level >= 1,
 * key ranges that are sorted and disjoint.
 */
static void check_files(const struct lsm_stats *st)
{
	uint64_t files[LSM_NUM_LEVELS] = { 0 }, bytes[LSM_NUM_LEVELS] = { 0 };
	for (size_t i = 0; i < st->nfiles; i++) {
		const struct lsm_file_info *f = &st->files[i];
		ck_assert_int_ge(f->level, 0);
		ck_assert_int_lt(f->level, LSM_NUM_LEVELS);
		if (i)
			ck_assert_int_ge(f->level, st->files[i - 1].level);
		ck_assert_msg(tu_key_cmp(f->smallest, f->smallest_len,
					 f->largest, f->largest_len) <= 0,
			      "table %llu: smallest > largest",
			      (unsigned long long)f->number);
		ck_assert_uint_gt(f->entries, 0);
		ck_assert_uint_le(f->tombstones, f->entries);
		ck_assert_uint_gt(f->size, 0);
		ck_assert_uint_le(f->min_seq, f->max_seq);
		ck_assert(f->reason == 1 || f->reason == 2);
		files[f->level]++;
		bytes[f->level] += f->size;
		if (f->level == 0 || i == 0 ||
		    st->files[i - 1].level != f->level)
			continue;
		const struct lsm_file_info *p = &st->files[i - 1];
		ck_assert_msg(tu_key_cmp(p->largest, p->largest_len,
					 f->smallest, f->smallest_len) < 0,
			      "L%d: tables %llu [%.*s..%.*s] and %llu "
			      "[%.*s..%.*s] overlap or are out of order",
			      f->level, (unsigned long long)p->number,
			      (int)p->smallest_len, p->smallest,
			      (int)p->largest_len, p->largest,
			      (unsigned long long)f->number,
			      (int)f->smallest_len, f->smallest,
			      (int)f->largest_len, f->largest);
	}
	uint64_t live = 0;
	for (int l = 0; l < LSM_NUM_LEVELS; l++) {
		ck_assert_uint_eq(files[l], st->levels[l].files);
		ck_assert_uint_eq(bytes[l], st->levels[l].bytes);
		live += bytes[l];
	}
	ck_assert_uint_eq(live, st->live_bytes);
}

/*
 * Asserts that every NNNNNN.sst in the store directory is a live table:
 * once no version (no iterator, no running job) references a table, it is
 * deleted. Call with the store idle.
 */
static void expect_no_obsolete_tables(struct lsm_db *db)
{
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	DIR *d = opendir(tu_dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	size_t ntables = 0;
	while ((e = readdir(d))) {
		char *end;
		unsigned long long n = strtoull(e->d_name, &end, 10);
		if (end == e->d_name || strcmp(end, ".sst"))
			continue;
		bool live = false;
		for (size_t i = 0; i < st.nfiles; i++)
			live |= st.files[i].number == n;
		ck_assert_msg(live, "%s is obsolete but still on disk",
			      e->d_name);
		ntables++;
	}
	closedir(d);
	ck_assert_uint_eq(ntables, st.nfiles);
	lsm_stats_release(&st);
}

/* Small levels: a megabyte of data reaches L2 or L3. */
static struct lsm_options level_opts(void)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = TEST_WRITE_BUFFER;
	o.l0_compaction_trigger = 2;
	o.l1_target_size = 128 << 10;
	o.level_size_ratio = 4;
	o.target_file_size = 32 << 10;
	o.compression = LSM_COMPRESSION_NONE;
	return o;
}

/* ---- tombstones ---- */

START_TEST(test_tombstone_never_resurrects)
{
	enum { N = 4000, LEN = 200 };
	struct lsm_options o = level_opts();
	struct lsm_db *db = tu_open_ok(&o);
	struct lsm_stats st;

	/* every key, pushed to the bottom */
	for (uint32_t i = 0; i < N; i++)
		put_kv(db, i, 0, LEN);
	wait_idle(db); /* automatic compaction takes it below L1 */
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	int bottom = deepest_level(&st);
	printf("tombstones: data at L%d after the first full compaction\n",
	       bottom);
	ck_assert_int_ge(bottom, 2);
	ck_assert_uint_eq(st.levels[0].files, 0);
	lsm_stats_release(&st);

	/* tombstones for the even keys, then more flushes so that they are
	 * compacted into the upper levels, above the values they hide */
	for (uint32_t i = 0; i < N; i += 2)
		del_k(db, i);
	ck_assert_int_eq(lsm_flush(db), 0);
	for (uint32_t i = N; i < N + 1000; i++)
		put_kv(db, i, 0, LEN);
	ck_assert_int_eq(lsm_flush(db), 0);
	wait_idle(db);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	check_files(&st);
	uint64_t tombs = 0;
	for (size_t i = 0; i < st.nfiles; i++)
		tombs += st.files[i].tombstones;
	printf("tombstones: %llu in tables after the partial compactions, "
	       "L0..L3 files %llu %llu %llu %llu\n",
	       (unsigned long long)tombs,
	       (unsigned long long)st.levels[0].files,
	       (unsigned long long)st.levels[1].files,
	       (unsigned long long)st.levels[2].files,
	       (unsigned long long)st.levels[3].files);
	lsm_stats_release(&st);
	for (uint32_t i = 0; i < N + 1000; i++)
		expect_kv(db, NULL, i, i < N && i % 2 == 0 ? UINT32_MAX : 0,
			  LEN);
	tu_close_ok(db);

	db = tu_open_ok(&o);
	for (uint32_t i = 0; i < N + 1000; i++)
		expect_kv(db, NULL, i, i < N && i % 2 == 0 ? UINT32_MAX : 0,
			  LEN);
	/* a full compaction drops tombstones and the values they hide */
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	check_files(&st);
	tombs = 0;
	uint64_t entries = 0;
	for (size_t i = 0; i < st.nfiles; i++) {
		tombs += st.files[i].tombstones;
		entries += st.files[i].entries;
	}
	ck_assert_uint_eq(tombs, 0);
	ck_assert_uint_eq(entries, N / 2 + 1000);
	lsm_stats_release(&st);
	for (uint32_t i = 0; i < N + 1000; i++)
		expect_kv(db, NULL, i, i < N && i % 2 == 0 ? UINT32_MAX : 0,
			  LEN);
	/* deleted keys written again come back with the new value only */
	for (uint32_t i = 0; i < N; i += 10)
		put_kv(db, i, 7, LEN);
	tu_close_ok(db);

	db = tu_open_ok(&o);
	for (uint32_t i = 0; i < N + 1000; i++) {
		uint32_t ver = i < N && i % 2 == 0 ? UINT32_MAX : 0;
		if (i < N && i % 10 == 0)
			ver = 7;
		expect_kv(db, NULL, i, ver, LEN);
	}
	tu_close_ok(db);
}
END_TEST

/* ---- level shape ---- */

static void progress_cb(void *ctx, int level, uint64_t done, uint64_t total)
{
	uint64_t *last = ctx;
	ck_assert_int_ge(level, 1);
	ck_assert_int_lt(level, LSM_NUM_LEVELS);
	ck_assert_uint_le(done, total);
	ck_assert_uint_ge(done, last[0]);
	last[0] = done;
	last[1]++;
	last[2] = total;
}

START_TEST(test_levels_disjoint)
{
	enum { N = 8000, LEN = 100 };
	struct lsm_options o = level_opts();
	struct lsm_db *db = tu_open_ok(&o);
	struct lsm_stats st;
	int checks = 0;

	/* keys in a scrambled order so that every flush spans the range */
	for (uint32_t n = 0; n < N; n++) {
		uint32_t i = (n * 7919u) % N;
		put_kv(db, i, 0, LEN);
		if (n % 500 == 499) {
			ck_assert_int_eq(lsm_stats_get(db, &st), 0);
			check_files(&st);
			checks++;
			lsm_stats_release(&st);
		}
	}
	wait_idle(db);
	expect_no_obsolete_tables(db);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	check_files(&st);
	printf("levels: files per level");
	for (int l = 0; l < LSM_NUM_LEVELS; l++)
		printf(" %llu", (unsigned long long)st.levels[l].files);
	printf("; write amplification %.2f, pending compaction %llu\n",
	       st.write_amplification,
	       (unsigned long long)st.pending_compaction_bytes);
	ck_assert_uint_ge(tu_level_files(&st, 1), 2);
	ck_assert_int_ge(deepest_level(&st), 2);
	uint64_t compactions = 0, written = 0;
	for (int l = 1; l < LSM_NUM_LEVELS; l++) {
		compactions += st.levels[l].compactions;
		written += st.levels[l].bytes_written;
		if (st.levels[l].compactions)
			ck_assert_uint_gt(st.levels[l].bytes_read, 0);
		ck_assert_uint_gt(st.levels[l].target, 0);
		if (l > 1)
			ck_assert_uint_eq(st.levels[l].target,
					  st.levels[l - 1].target *
						  (uint64_t)o.level_size_ratio);
	}
	ck_assert_uint_eq(st.levels[1].target, o.l1_target_size);
	ck_assert_uint_ge(compactions, 2);
	ck_assert_uint_gt(written, 0);
	ck_assert_uint_gt(st.user_bytes_written, (uint64_t)N * LEN);
	ck_assert_uint_gt(st.disk_bytes_written, st.user_bytes_written);
	ck_assert(st.write_amplification > 1.0);
	/* after settling, no level is over its target */
	for (int l = 0; l < LSM_NUM_LEVELS - 1; l++)
		ck_assert_msg(st.levels[l].score < 1.0, "L%d score %.2f", l,
			      st.levels[l].score);
	lsm_stats_release(&st);

	/* a full compaction leaves one level, still disjoint, with
	 * progress reported */
	uint64_t prog[3] = { 0, 0, 0 };
	ck_assert_int_eq(lsm_compact(db, progress_cb, prog), 0);
	expect_no_obsolete_tables(db);
	ck_assert_uint_ge(prog[1], 1);
	ck_assert_uint_gt(prog[0], 0);
	ck_assert_uint_le(prog[0], prog[2]);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	check_files(&st);
	int levels_used = 0;
	for (int l = 0; l < LSM_NUM_LEVELS; l++)
		levels_used += st.levels[l].files > 0;
	ck_assert_int_eq(levels_used, 1);
	ck_assert_uint_eq(st.levels[0].files, 0);
	/* split at target_file_size: several tables */
	ck_assert_uint_ge(st.nfiles,
			  (uint64_t)N * LEN / o.target_file_size / 2);
	lsm_stats_release(&st);
	for (uint32_t i = 0; i < N; i++)
		expect_kv(db, NULL, i, 0, LEN);
	tu_reopen_ok(&db, &o);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	check_files(&st);
	lsm_stats_release(&st);
	for (uint32_t i = 0; i < N; i += 3)
		expect_kv(db, NULL, i, 0, LEN);
	tu_close_ok(db);
	ck_assert_int_ge(checks, 10);
}
END_TEST

/* ---- space ---- */

START_TEST(test_space_reclaimed)
{
	enum { N = 2000, LEN = 1024 };
	struct lsm_options o = level_opts();
	struct lsm_db *db = tu_open_ok(&o);
	struct lsm_stats st;

	for (uint32_t i = 0; i < N; i++)
		put_kv(db, i, 0, LEN);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t live1 = st.live_bytes, du1 = dir_bytes();
	lsm_stats_release(&st);
	ck_assert_uint_ge(live1, (uint64_t)N * LEN * 9 / 10);

	for (uint32_t i = 0; i < N; i++)
		del_k(db, i);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t live2 = st.live_bytes, du2 = dir_bytes();
	check_files(&st);
	lsm_stats_release(&st);
	printf("space: live %llu -> %llu bytes, directory %llu -> %llu "
	       "bytes\n",
	       (unsigned long long)live1, (unsigned long long)live2,
	       (unsigned long long)du1, (unsigned long long)du2);
	ck_assert_uint_lt(live2, live1 / 100);
	expect_no_obsolete_tables(db);
	/* left: the MANIFEST, an empty WAL segment, CURRENT, LOCK */
	ck_assert_uint_lt(du2, du1 / 20);

	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	lsm_iter_seek_first(it);
	ck_assert(!lsm_iter_valid(it));
	ck_assert_int_eq(lsm_iter_status(it), 0);
	lsm_iter_free(it);
	tu_close_ok(db);

	db = tu_open_ok(&o);
	for (uint32_t i = 0; i < N; i += 7)
		expect_kv(db, NULL, i, UINT32_MAX, LEN);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_lt(st.live_bytes, live1 / 100);
	lsm_stats_release(&st);
	tu_close_ok(db);
}
END_TEST

START_TEST(test_overwrite_space)
{
	enum { N = 2000, LEN = 1000 };
	struct lsm_options o = level_opts();
	o.compression = LSM_COMPRESSION_ZSTD;
	struct lsm_db *db = tu_open_ok(&o);
	struct lsm_stats st;

	for (uint32_t i = 0; i < N; i++)
		put_kv(db, i, 0, LEN);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t one = st.live_bytes;
	lsm_stats_release(&st);

	for (uint32_t n = 0; n < N; n++)
		put_kv(db, (n * 7919u) % N, 1, LEN);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t before = st.live_bytes;
	lsm_stats_release(&st);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t after = st.live_bytes, du = dir_bytes();
	check_files(&st);
	lsm_stats_release(&st);
	printf("overwrite: one copy %llu, before compact %llu, after %llu "
	       "bytes live, %llu bytes in the directory\n",
	       (unsigned long long)one, (unsigned long long)before,
	       (unsigned long long)after, (unsigned long long)du);
	ck_assert_uint_lt(after, one * 3 / 2);
	ck_assert_uint_lt(du, after * 3 / 2);
	for (uint32_t i = 0; i < N; i++)
		expect_kv(db, NULL, i, 1, LEN);
	tu_reopen_ok(&db, &o);
	for (uint32_t i = 0; i < N; i++)
		expect_kv(db, NULL, i, 1, LEN);
	tu_close_ok(db);
}
END_TEST

/*
 * Values of zeros compress ~100x or more: a table cut only by its size on
 * disk would hold all of them, and every later compaction would rewrite it
 * whole. Output tables are also cut by raw (uncompressed) size.
 */
START_TEST(test_compressible_split)
{
	enum { N = 1024, LEN = 4096 };
	static const char zeros[LEN];
	struct lsm_options o = level_opts();
	o.compression = LSM_COMPRESSION_ZSTD;
	struct lsm_db *db = tu_open_ok(&o);
	struct lsm_stats st;
	char k[16];

	for (uint32_t i = 0; i < N; i++) {
		int klen = make_key(k, i);
		ck_assert_int_eq(lsm_put(db, k, (size_t)klen, zeros, LEN), 0);
	}
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	check_files(&st);
	printf("compressible: %llu raw bytes in %llu tables, %llu bytes "
	       "live\n",
	       (unsigned long long)N * LEN, (unsigned long long)st.nfiles,
	       (unsigned long long)st.live_bytes);
	/* cut by size on disk alone, it would fill a few tables ... */
	ck_assert_uint_gt(st.nfiles,
			  2 * (st.live_bytes / o.target_file_size + 1));
	/* ... but it is split at 8 target sizes of raw data: at least 4 MiB
	 * of values / 256 KiB = 16 tables (more where a compaction's inputs
	 * end first) */
	ck_assert_uint_ge(st.nfiles,
			  (uint64_t)N * LEN / (8 * o.target_file_size));
	lsm_stats_release(&st);
	tu_reopen_ok(&db, &o);
	for (uint32_t i = 0; i < N; i += 5) {
		char *got = NULL;
		size_t glen = 0;
		int klen = make_key(k, i);
		ck_assert_int_eq(lsm_get(db, NULL, k, (size_t)klen, &got,
					 &glen), 0);
		ck_assert(glen == LEN && !memcmp(got, zeros, LEN));
		free(got);
	}
	tu_close_ok(db);
}
END_TEST

/* ---- snapshots across compactions ---- */

START_TEST(test_snapshot_across_compactions)
{
	enum { N = 3000, LEN = 150 };
	struct lsm_options o = level_opts();
	struct lsm_db *db = tu_open_ok(&o);
	struct lsm_snapshot *s0, *s1;
	struct lsm_stats st;

	for (uint32_t i = 0; i < N; i++)
		put_kv(db, i, 0, LEN);
	ck_assert_int_eq(lsm_snapshot_new(db, &s0), 0);
	/* version 1 of the first half, deletes of every third key */
	for (uint32_t i = 0; i < N / 2; i++)
		put_kv(db, i, 1, LEN);
	for (uint32_t i = 0; i < N; i += 3)
		del_k(db, i);
	ck_assert_int_eq(lsm_snapshot_new(db, &s1), 0);
	/* and a state after both snapshots */
	for (uint32_t i = 0; i < N; i += 2)
		put_kv(db, i, 2, LEN);

	for (int round = 0; round < 3; round++) {
		if (round == 0)
			wait_idle(db);
		else
			ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
		for (uint32_t i = 0; i < N; i++) {
			expect_kv(db, s0, i, 0, LEN);
			uint32_t v1 = i % 3 == 0  ? UINT32_MAX
				      : i < N / 2 ? 1
						  : 0;
			expect_kv(db, s1, i, v1, LEN);
			expect_kv(db, NULL, i, i % 2 == 0 ? 2 : v1, LEN);
		}
		/* the snapshot iterator sees exactly the old state */
		struct lsm_iter *it;
		ck_assert_int_eq(lsm_iter_new(db, s0, &it), 0);
		uint32_t n = 0;
		for (lsm_iter_seek_first(it); lsm_iter_valid(it);
		     lsm_iter_next(it), n++) {
			char k[16], want[LEN];
			size_t klen, vlen;
			int wk = make_key(k, n);
			const char *key = lsm_iter_key(it, &klen);
			const char *val = lsm_iter_value(it, &vlen);
			ck_assert_uint_eq(klen, (size_t)wk);
			ck_assert_mem_eq(key, k, klen);
			make_value(want, LEN, n, 0);
			ck_assert_uint_eq(vlen, LEN);
			ck_assert_mem_eq(val, want, LEN);
		}
		ck_assert_int_eq(lsm_iter_status(it), 0);
		ck_assert_uint_eq(n, N);
		lsm_iter_free(it);
	}
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t with_snaps = st.live_bytes;
	lsm_stats_release(&st);

	/* released: the next full compaction drops the old versions */
	lsm_snapshot_free(db, s0);
	lsm_snapshot_free(db, s1);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	printf("snapshots: %llu live bytes while held, %llu after release\n",
	       (unsigned long long)with_snaps,
	       (unsigned long long)st.live_bytes);
	ck_assert_uint_lt(st.live_bytes, with_snaps * 3 / 4);
	lsm_stats_release(&st);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t v = i % 2 == 0   ? 2
			     : i % 3 == 0 ? UINT32_MAX
			     : i < N / 2  ? 1
					  : 0;
		expect_kv(db, NULL, i, v, LEN);
	}
	tu_close_ok(db);
}
END_TEST

/* ---- stalls ---- */

struct stall_run {
	struct lsm_db *db;
	int t, nthreads;
	uint32_t n;
	int errors;
};

static void *stall_writer(void *p)
{
	struct stall_run *r = p;
	char k[16], v[256];
	for (uint32_t i = (uint32_t)r->t; i < r->n;
	     i += (uint32_t)r->nthreads) {
		int klen = make_key(k, i);
		make_value(v, 200, i, 0);
		if (lsm_put(r->db, k, (size_t)klen, v, 200))
			r->errors++;
	}
	return NULL;
}

struct monitor {
	struct lsm_db *db;
	int stop; /* atomic */
	uint64_t max_l0, max_queue, max_imm_bytes, max_pending;
	int saw_stalled, saw_flush, saw_compaction;
};

static void *monitor_main(void *p)
{
	struct monitor *m = p;
	while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
		struct lsm_stats st;
		if (lsm_stats_get(m->db, &st) == 0) {
			if (st.levels[0].files > m->max_l0)
				m->max_l0 = st.levels[0].files;
			if (st.flush_queue_depth > m->max_queue)
				m->max_queue = st.flush_queue_depth;
			if (st.immutable_bytes > m->max_imm_bytes)
				m->max_imm_bytes = st.immutable_bytes;
			if (st.pending_compaction_bytes > m->max_pending)
				m->max_pending = st.pending_compaction_bytes;
			m->saw_stalled |= st.write_stalled;
			m->saw_flush |= st.running_flushes > 0;
			m->saw_compaction |= st.running_compactions > 0;
			lsm_stats_release(&st);
		}
		tu_sleep_ms(2);
	}
	return NULL;
}

/* Writes n keys of 200 bytes from nthreads threads with a monitor. */
static void stall_load(struct lsm_db *db, uint32_t n, int nthreads,
		       struct monitor *m)
{
	pthread_t th[4], mt;
	struct stall_run r[4];
	*m = (struct monitor){ .db = db };
	ck_assert_int_eq(pthread_create(&mt, NULL, monitor_main, m), 0);
	for (int t = 0; t < nthreads; t++) {
		r[t] = (struct stall_run){ db, t, nthreads, n, 0 };
		ck_assert_int_eq(
			pthread_create(&th[t], NULL, stall_writer, &r[t]), 0);
	}
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		ck_assert_int_eq(r[t].errors, 0);
	}
	__atomic_store_n(&m->stop, 1, __ATOMIC_RELAXED);
	pthread_join(mt, NULL);
}

static void print_stalls(const char *what, const struct lsm_stats *st,
			 const struct monitor *m, double secs)
{
	printf("%s: %.1f s;", what, secs);
	for (int c = 0; c < LSM_STALL_NCAUSES; c++)
		printf(" %s %llu x %llu us;", lsm_stall_cause_name(c),
		       (unsigned long long)st->stalls[c].count,
		       (unsigned long long)st->stalls[c].micros);
	printf(" max L0 %llu, max flush queue %llu, max pending compaction "
	       "%llu\n",
	       (unsigned long long)m->max_l0, (unsigned long long)m->max_queue,
	       (unsigned long long)m->max_pending);
}

START_TEST(test_stall_l0)
{
	enum { N = 8000 };
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = TEST_WRITE_BUFFER;
	o.l0_compaction_trigger = 2;
	o.l0_slowdown_trigger = 3;
	o.l0_stop_trigger = 5;
	o.l1_target_size = 1 << 20;
	ck_assert_int_eq(setenv("LSM_TEST_COMPACTION_DELAY_US", "300000", 1),
			 0);
	struct lsm_db *db = tu_open_ok(&o);
	unsetenv("LSM_TEST_COMPACTION_DELAY_US");

	struct monitor m;
	double t0 = now_s();
	stall_load(db, N, 2, &m);
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	print_stalls("l0 stalls", &st, &m, now_s() - t0);
	const struct lsm_stall_stats *slow = &st.stalls[LSM_STALL_L0_SLOWDOWN];
	const struct lsm_stall_stats *stop = &st.stalls[LSM_STALL_L0_STOP];
	ck_assert_uint_gt(slow->count, 0);
	ck_assert_uint_gt(slow->micros, 0);
	/* a slowdown is a short delay per write group, not a stop */
	ck_assert_uint_ge(slow->micros, slow->count * 500);
	if (stop->count)
		ck_assert_uint_gt(stop->micros, 0);
	ck_assert_uint_ge(m.max_l0, (uint64_t)o.l0_slowdown_trigger);
	/* at the stop trigger only memtables frozen before it still flush */
	ck_assert_uint_le(m.max_l0, (uint64_t)(o.l0_stop_trigger +
					       o.max_immutable_memtables));
	ck_assert_uint_gt(m.max_pending, 0);
	ck_assert(m.saw_compaction);
	ck_assert_int_eq(st.background_error, 0);
	lsm_stats_release(&st);

	wait_idle(db);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_int_eq(st.write_stalled, 0);
	for (int c = 0; c < LSM_STALL_NCAUSES; c++)
		ck_assert_int_eq(st.stalls[c].active, 0);
	lsm_stats_release(&st);
	for (uint32_t i = 0; i < N; i++)
		expect_kv(db, NULL, i, 0, 200);
	tu_close_ok(db);
}
END_TEST

START_TEST(test_stall_memtable)
{
	enum { N = 5000 };
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = TEST_WRITE_BUFFER;
	o.max_immutable_memtables = 2;
	ck_assert_int_eq(setenv("LSM_TEST_FLUSH_DELAY_US", "200000", 1), 0);
	struct lsm_db *db = tu_open_ok(&o);
	unsetenv("LSM_TEST_FLUSH_DELAY_US");

	struct monitor m;
	double t0 = now_s();
	stall_load(db, N, 1, &m);
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	print_stalls("memtable stalls", &st, &m, now_s() - t0);
	ck_assert_uint_gt(m.max_queue, 0);
	ck_assert_uint_le(m.max_queue, (uint64_t)o.max_immutable_memtables);
	ck_assert_uint_gt(m.max_imm_bytes, 0);
	ck_assert(m.saw_flush);
	ck_assert_uint_gt(st.stalls[LSM_STALL_MEMTABLE].count, 0);
	ck_assert_uint_gt(st.stalls[LSM_STALL_MEMTABLE].micros, 0);
	ck_assert_uint_ge(st.flushes, 3);
	lsm_stats_release(&st);

	/* lsm_flush drains the queue */
	ck_assert_int_eq(lsm_flush(db), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_eq(st.flush_queue_depth, 0);
	ck_assert_uint_eq(st.immutable_bytes, 0);
	ck_assert_uint_eq(st.memtable_entries, 0);
	ck_assert_int_eq(st.stalls[LSM_STALL_MEMTABLE].active, 0);
	lsm_stats_release(&st);
	for (uint32_t i = 0; i < N; i++)
		expect_kv(db, NULL, i, 0, 200);
	tu_reopen_ok(&db, &o);
	for (uint32_t i = 0; i < N; i += 3)
		expect_kv(db, NULL, i, 0, 200);
	tu_close_ok(db);
}
END_TEST

/* The memtable counters follow the writes. */
START_TEST(test_memtable_stats)
{
	struct lsm_db *db = tu_open_ok(NULL);
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_eq(st.memtable_entries, 0);
	ck_assert_uint_eq(st.cache_capacity, 8u << 20);
	uint64_t seq0 = st.last_sequence;
	lsm_stats_release(&st);
	for (uint32_t i = 0; i < 100; i++)
		put_kv(db, i, 0, 100);
	for (uint32_t i = 0; i < 10; i++)
		del_k(db, i);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_eq(st.memtable_entries, 110);
	ck_assert_uint_eq(st.memtable_tombstones, 10);
	ck_assert_uint_ge(st.memtable_bytes, 100 * 100);
	ck_assert_uint_eq(st.last_sequence, seq0 + 110);
	ck_assert_uint_eq(st.writes, 110);
	ck_assert_uint_ge(st.wal_bytes, 100 * 100);
	ck_assert_uint_gt(st.wal_number, 0);
	ck_assert_uint_ge(st.wal_segment_bytes, 100 * 100);
	ck_assert_uint_eq(st.user_bytes_written, 100 * (100 + 9) + 10 * 9);
	lsm_stats_release(&st);
	ck_assert_int_eq(lsm_flush(db), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_eq(st.memtable_entries, 0);
	ck_assert_uint_eq(st.levels[0].files, 1);
	ck_assert_uint_eq(st.flushes, 1);
	ck_assert_uint_eq(st.flush_bytes, st.levels[0].bytes);
	ck_assert_uint_eq(st.nfiles, 1);
	ck_assert_uint_eq(st.files[0].entries, 110);
	ck_assert_uint_eq(st.files[0].tombstones, 10);
	ck_assert_uint_eq(st.files[0].reason, 1);
	ck_assert_uint_eq(st.files[0].max_seq, seq0 + 110);
	ck_assert_uint_eq(st.files[0].smallest_len, 9);
	ck_assert_mem_eq(st.files[0].smallest, "key000000", 9);
	ck_assert_mem_eq(st.files[0].largest, "key000099", 9);
	lsm_stats_release(&st);
	/* reads of flushed keys go through the bloom filter and the cache */
	for (uint32_t i = 10; i < 100; i++)
		expect_kv(db, NULL, i, 0, 100);
	for (uint32_t i = 1000; i < 1100; i++)
		expect_kv(db, NULL, i, UINT32_MAX, 100);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_gt(st.cache_hits + st.cache_misses, 0);
	ck_assert_uint_gt(st.cache_usage, 0);
	ck_assert_uint_le(st.cache_usage, st.cache_capacity);
	ck_assert_uint_ge(st.gets, 190);
	ck_assert_uint_eq(st.get_hits, 90);
	uint64_t checks = st.bloom_checks, useful = st.bloom_useful;
	lsm_stats_release(&st);
	/* absent keys inside the table's range: the bloom filter answers */
	for (uint32_t i = 10; i < 99; i++) {
		char k[16], *v;
		size_t vlen;
		snprintf(k, sizeof k, "key0000%02ux", i);
		ck_assert_int_eq(lsm_get(db, NULL, k, strlen(k), &v, &vlen),
				 -ENOENT);
	}
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_ge(st.bloom_checks - checks, 89);
	ck_assert_uint_ge(st.bloom_useful - useful, 80);
	ck_assert_uint_le(st.bloom_useful, st.bloom_checks);
	lsm_stats_release(&st);
	tu_close_ok(db);
}
END_TEST

static Suite *compaction_suite(void)
{
	Suite *s = suite_create("compaction");
	TCase *tc = tu_tcase(s, "levels", 120, NULL, NULL);
	tcase_add_test(tc, test_tombstone_never_resurrects);
	tcase_add_test(tc, test_levels_disjoint);
	tcase_add_test(tc, test_space_reclaimed);
	tcase_add_test(tc, test_overwrite_space);
	tcase_add_test(tc, test_compressible_split);
	tcase_add_test(tc, test_snapshot_across_compactions);

	tc = tu_tcase(s, "stalls", 120, NULL, NULL);
	tcase_add_test(tc, test_stall_l0);
	tcase_add_test(tc, test_stall_memtable);
	tcase_add_test(tc, test_memtable_stats);
	return s;
}

int main(void)
{
	return tu_run("check_compaction", compaction_suite());
}
