/*
 * check_limits.c - hostile sizes through the public API (issue 9, part 7,
 * engine side): empty keys and values, 64 KiB keys, 16 MiB values, keys
 * of only 0x00 or 0xff bytes (no shorter separator exists), a batch of
 * 100,000 entries, and sizes past the limits. Each works, across a flush,
 * a full compaction and a reopen, or fails cleanly with -EINVAL. Also the
 * smallest write_buffer_size.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsm.h"
#include "testutil.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_limits.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	tu_rm_rf(dir);
}

static struct lsm_db *open_ok(void)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = 256 << 10;
	o.block_size = 1024;
	o.target_file_size = 256 << 10;
	struct lsm_db *db;
	int rc = lsm_open(dir, &o, &db);
	ck_assert_msg(rc == 0, "open: %s", lsm_strerror(rc));
	return db;
}

static void reopen(struct lsm_db **db)
{
	ck_assert_int_eq(lsm_close(*db), 0);
	*db = open_ok();
}

static void fill(char *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (char)x;
	}
}

static void expect(struct lsm_db *db, const void *k, size_t kl, const void *v,
		   size_t vl)
{
	char *got = NULL;
	size_t gl = 0;
	int rc = lsm_get(db, NULL, k, kl, &got, &gl);
	if (!v) {
		ck_assert_int_eq(rc, -ENOENT);
		return;
	}
	ck_assert_msg(rc == 0, "get (%zu-byte key): %s", kl, lsm_strerror(rc));
	ck_assert_uint_eq(gl, vl);
	ck_assert(memcmp(got, v, vl) == 0);
	ck_assert_int_eq(got[gl], '\0');
	free(got);
}

/* Runs check(db) now, after a flush, after a full compaction and after a
 * reopen. */
static void through_everything(struct lsm_db **db,
			       void (*check)(struct lsm_db *))
{
	check(*db);
	ck_assert_int_eq(lsm_flush(*db), 0);
	check(*db);
	ck_assert_int_eq(lsm_compact(*db, NULL, NULL), 0);
	check(*db);
	reopen(db);
	check(*db);
}

/* ---- empty keys and values ---- */

static void check_empty(struct lsm_db *db)
{
	expect(db, "", 0, "empty key", 9);
	expect(db, "k", 1, "", 0);
	expect(db, NULL, 0, "empty key", 9);
	/* the empty key sorts first */
	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	lsm_iter_seek_first(it);
	ck_assert(lsm_iter_valid(it));
	size_t kl, vl;
	lsm_iter_key(it, &kl);
	lsm_iter_value(it, &vl);
	ck_assert_uint_eq(kl, 0);
	ck_assert_uint_eq(vl, 9);
	lsm_iter_next(it);
	ck_assert(lsm_iter_valid(it));
	const char *k = lsm_iter_key(it, &kl);
	ck_assert_uint_eq(kl, 1);
	ck_assert_int_eq(k[0], 'k');
	lsm_iter_value(it, &vl);
	ck_assert_uint_eq(vl, 0);
	lsm_iter_seek(it, "", 0);
	ck_assert(lsm_iter_valid(it));
	lsm_iter_key(it, &kl);
	ck_assert_uint_eq(kl, 0);
	ck_assert_int_eq(lsm_iter_status(it), 0);
	lsm_iter_free(it);
}

START_TEST(test_empty_key_and_value)
{
	struct lsm_db *db = open_ok();
	ck_assert_int_eq(lsm_put(db, "", 0, "empty key", 9), 0);
	ck_assert_int_eq(lsm_put(db, "k", 1, "", 0), 0);
	ck_assert_int_eq(lsm_put(db, "k", 1, NULL, 0), 0);
	through_everything(&db, check_empty);
	ck_assert_int_eq(lsm_delete(db, "", 0), 0);
	expect(db, "", 0, NULL, 0);
	reopen(&db);
	expect(db, "", 0, NULL, 0);
	expect(db, "k", 1, "", 0);
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

/* ---- big keys ---- */

#define BIG_KEY (64u << 10)
#define NBIG 40

static char *big_key(unsigned i)
{
	static char k[BIG_KEY];
	/* a shared 60 KiB prefix: separators cannot shorten much */
	memset(k, 'p', BIG_KEY);
	snprintf(k + BIG_KEY - 16, 16, "%015u", i);
	return k;
}

static void check_big_keys(struct lsm_db *db)
{
	char v[32];
	for (unsigned i = 0; i < NBIG; i++) {
		int n = snprintf(v, sizeof v, "value %u", i);
		expect(db, big_key(i), BIG_KEY, v, (size_t)n);
	}
	/* a key one byte shorter or longer is another key */
	expect(db, big_key(3), BIG_KEY - 1, NULL, 0);
	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	unsigned n = 0;
	for (lsm_iter_seek_first(it); lsm_iter_valid(it); lsm_iter_next(it)) {
		size_t kl;
		const char *k = lsm_iter_key(it, &kl);
		ck_assert_uint_eq(kl, BIG_KEY);
		ck_assert(memcmp(k, big_key(n), BIG_KEY) == 0);
		n++;
	}
	ck_assert_int_eq(lsm_iter_status(it), 0);
	ck_assert_uint_eq(n, NBIG);
	lsm_iter_free(it);
}

START_TEST(test_big_keys)
{
	struct lsm_db *db = open_ok();
	char v[32];
	for (unsigned i = 0; i < NBIG; i++) {
		int n = snprintf(v, sizeof v, "value %u", i);
		ck_assert_int_eq(lsm_put(db, big_key(i), BIG_KEY, v, (size_t)n),
				 0);
	}
	through_everything(&db, check_big_keys);
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

/* ---- 0x00 and 0xff keys: no separator shorter than the key ---- */

static void edge_key(char *k, int i)
{
	/* lengths 1..64 of all 0x00, then of all 0xff */
	memset(k, i < 64 ? 0x00 : 0xff, 64);
}

static size_t edge_len(int i)
{
	return (size_t)(i % 64) + 1;
}

static void check_edge_keys(struct lsm_db *db)
{
	char k[64], v[300];
	for (int i = 0; i < 128; i++) {
		edge_key(k, i);
		fill(v, 300, (unsigned)i);
		expect(db, k, edge_len(i), v, 300);
	}
	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	int n = 0;
	for (lsm_iter_seek_first(it); lsm_iter_valid(it); lsm_iter_next(it)) {
		size_t kl;
		const char *kp = lsm_iter_key(it, &kl);
		edge_key(k, n);
		ck_assert_uint_eq(kl, edge_len(n));
		ck_assert(memcmp(kp, k, kl) == 0);
		n++;
	}
	ck_assert_int_eq(n, 128);
	ck_assert_int_eq(lsm_iter_status(it), 0);
	/* backwards too */
	for (lsm_iter_seek_last(it); lsm_iter_valid(it); lsm_iter_prev(it))
		n--;
	ck_assert_int_eq(n, 0);
	lsm_iter_free(it);
}

START_TEST(test_edge_byte_keys)
{
	struct lsm_db *db = open_ok();
	char k[64], v[300];
	for (int i = 127; i >= 0; i--) {
		edge_key(k, i);
		fill(v, 300, (unsigned)i);
		ck_assert_int_eq(lsm_put(db, k, edge_len(i), v, 300), 0);
	}
	through_everything(&db, check_edge_keys);
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

/* ---- big values ---- */

#define BIG_VALUE (16u << 20)

static char *big_value;

static void check_big_values(struct lsm_db *db)
{
	expect(db, "big", 3, big_value, BIG_VALUE);
	expect(db, "big2", 4, big_value + 1, BIG_VALUE - 1);
	expect(db, "small", 5, "s", 1);
}

START_TEST(test_big_values)
{
	big_value = malloc(BIG_VALUE);
	ck_assert_ptr_nonnull(big_value);
	fill(big_value, BIG_VALUE, 7);
	struct lsm_db *db = open_ok();
	ck_assert_int_eq(lsm_put(db, "big", 3, big_value, BIG_VALUE), 0);
	ck_assert_int_eq(lsm_put(db, "small", 5, "s", 1), 0);
	struct lsm_batch *b;
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	ck_assert_int_eq(lsm_batch_put(b, "big2", 4, big_value + 1,
				       BIG_VALUE - 1), 0);
	ck_assert_int_eq(lsm_write(db, b, LSM_WRITE_SYNC), 0);
	lsm_batch_free(b);
	through_everything(&db, check_big_values);
	/* overwritten and deleted: the space goes in a compaction */
	ck_assert_int_eq(lsm_put(db, "big", 3, "x", 1), 0);
	ck_assert_int_eq(lsm_delete(db, "big2", 4), 0);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_lt(st.live_bytes, 1u << 20);
	lsm_stats_release(&st);
	expect(db, "big", 3, "x", 1);
	expect(db, "big2", 4, NULL, 0);
	ck_assert_int_eq(lsm_close(db), 0);
	free(big_value);
}
END_TEST

/* ---- a batch of 100,000 entries ---- */

#define BATCH_N 100000

static void check_big_batch(struct lsm_db *db)
{
	char k[16], v[16];
	for (int i = 0; i < BATCH_N; i += 997) {
		int kl = snprintf(k, sizeof k, "b%06d", i);
		int vl = snprintf(v, sizeof v, "v%d", i);
		expect(db, k, (size_t)kl, i % 10 == 3 ? NULL : v,
		       (size_t)vl);
	}
	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	int n = 0;
	for (lsm_iter_seek_first(it); lsm_iter_valid(it); lsm_iter_next(it))
		n++;
	ck_assert_int_eq(lsm_iter_status(it), 0);
	lsm_iter_free(it);
	ck_assert_int_eq(n, BATCH_N - BATCH_N / 10);
}

START_TEST(test_big_batch)
{
	struct lsm_db *db = open_ok();
	struct lsm_batch *b;
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	char k[16], v[16];
	for (int i = 0; i < BATCH_N; i++) {
		int kl = snprintf(k, sizeof k, "b%06d", i);
		int vl = snprintf(v, sizeof v, "v%d", i);
		ck_assert_int_eq(lsm_batch_put(b, k, (size_t)kl, v, (size_t)vl),
				 0);
	}
	/* deletes in the same batch, after the puts: they win */
	for (int i = 3; i < BATCH_N; i += 10) {
		int kl = snprintf(k, sizeof k, "b%06d", i);
		ck_assert_int_eq(lsm_batch_delete(b, k, (size_t)kl), 0);
	}
	ck_assert_uint_eq(lsm_batch_count(b), BATCH_N + BATCH_N / 10);
	ck_assert_int_eq(lsm_write(db, b, LSM_WRITE_SYNC), 0);
	lsm_batch_free(b);
	/* the WAL alone brings it back whole */
	reopen(&db);
	through_everything(&db, check_big_batch);
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

/* ---- the smallest write buffer ---- */

START_TEST(test_tiny_write_buffer)
{
	/*
	 * write_buffer_size 4096 (the minimum) is below what an empty
	 * memtable already counts (one 64 KiB arena block): every write used
	 * to freeze the fresh memtable again and again, never returning.
	 * Now memtables hold about 4 KiB each and flush.
	 */
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = 4096;
	struct lsm_db *db;
	ck_assert_int_eq(lsm_open(dir, &o, &db), 0);
	char k[16], v[100];
	for (int i = 0; i < 500; i++) {
		int kl = snprintf(k, sizeof k, "t%05d", i);
		fill(v, sizeof v, (unsigned)i);
		ck_assert_int_eq(lsm_put(db, k, (size_t)kl, v, sizeof v), 0);
	}
	struct lsm_stats st;
	ck_assert_int_eq(lsm_flush(db), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_ge(st.flushes, 5);
	ck_assert_uint_le(st.flushes, 60);
	lsm_stats_release(&st);
	ck_assert_int_eq(lsm_close(db), 0);
	ck_assert_int_eq(lsm_open(dir, &o, &db), 0);
	for (int i = 0; i < 500; i++) {
		int kl = snprintf(k, sizeof k, "t%05d", i);
		fill(v, sizeof v, (unsigned)i);
		expect(db, k, (size_t)kl, v, sizeof v);
	}
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

/* ---- past the limits ---- */

START_TEST(test_past_limits)
{
	struct lsm_db *db = open_ok();
	struct lsm_batch *b;
	static const char small[16];
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	/* the lengths are checked before the bytes are touched */
	ck_assert_int_eq(lsm_batch_put(b, "k", 1, small, (size_t)1 << 32),
			 -EINVAL);
	ck_assert_int_eq(lsm_batch_put(b, small, (size_t)1 << 32, "v", 1),
			 -EINVAL);
	ck_assert_int_eq(lsm_batch_put(b, "k", 1, small, 300u << 20), -EINVAL);
	ck_assert_int_eq(lsm_batch_delete(b, small, 300u << 20), -EINVAL);
	ck_assert_int_eq(lsm_put(db, "k", 1, small, 300u << 20), -EINVAL);
	ck_assert_int_eq(lsm_batch_count(b), 0);
	/* the batch and the store are unharmed */
	ck_assert_int_eq(lsm_batch_put(b, "k", 1, "v", 1), 0);
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	lsm_batch_free(b);
	expect(db, "k", 1, "v", 1);
	ck_assert_int_eq(lsm_get(db, NULL, NULL, 5, &(char *){ NULL },
				 &(size_t){ 0 }),
			 -EINVAL);
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("sizes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_empty_key_and_value);
	tcase_add_test(tc, test_big_keys);
	tcase_add_test(tc, test_edge_byte_keys);
	tcase_add_test(tc, test_big_values);
	tcase_add_test(tc, test_big_batch);
	tcase_add_test(tc, test_past_limits);
	tcase_add_test(tc, test_tiny_write_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run("check_limits", limits_suite());
}
