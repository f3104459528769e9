/* check_memtable.c - tests for engine/memtable.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dbformat.h"
#include "memtable.h"
#include "testutil.h"

static struct slice S(const char *s)
{
	return slice_make(s, strlen(s));
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Asserts that get(key, seq) finds want (NULL: expect result instead). */
static void expect_get(struct memtable *m, const char *key, uint64_t seq,
		       int result, const char *want)
{
	char *val = NULL;
	size_t vlen = 0;
	int rc = memtable_get(m, S(key), seq, &val, &vlen);
	ck_assert_msg(rc == result, "get('%s', %llu) = %d, want %d", key,
		      (unsigned long long)seq, rc, result);
	if (rc == LOOKUP_FOUND) {
		ck_assert_uint_eq(vlen, strlen(want));
		ck_assert_str_eq(val, want);
		free(val);
	} else {
		ck_assert_ptr_null(val);
	}
}

START_TEST(test_versions)
{
	struct memtable *m;
	ck_assert_int_eq(memtable_new(NULL, &m), 0);
	expect_get(m, "k", SEQ_MAX, LOOKUP_NOT_FOUND, NULL);
	ck_assert_int_eq(memtable_add(m, 20, TYPE_VALUE, S("k"), S("v20")), 0);
	ck_assert_int_eq(memtable_add(m, 5, TYPE_VALUE, S("k"), S("v5")), 0);
	ck_assert_int_eq(memtable_add(m, 15, TYPE_DELETE, S("k"), S("")), 0);
	ck_assert_int_eq(memtable_add(m, 10, TYPE_VALUE, S("k"), S("v10")), 0);
	/* neighbours that share a prefix must not answer for "k" */
	ck_assert_int_eq(memtable_add(m, 1, TYPE_VALUE, S("j"), S("j1")), 0);
	ck_assert_int_eq(memtable_add(m, 2, TYPE_VALUE, S("kk"), S("kk2")), 0);
	ck_assert_int_eq(memtable_add(m, 3, TYPE_DELETE, S("k\x01"), S("")), 0);

	for (uint64_t s = 0; s < 5; s++)
		expect_get(m, "k", s, LOOKUP_NOT_FOUND, NULL);
	for (uint64_t s = 5; s < 10; s++)
		expect_get(m, "k", s, LOOKUP_FOUND, "v5");
	for (uint64_t s = 10; s < 15; s++)
		expect_get(m, "k", s, LOOKUP_FOUND, "v10");
	for (uint64_t s = 15; s < 20; s++)
		expect_get(m, "k", s, LOOKUP_DELETED, NULL);
	expect_get(m, "k", 20, LOOKUP_FOUND, "v20");
	expect_get(m, "k", SEQ_MAX, LOOKUP_FOUND, "v20");
	expect_get(m, "k", UINT64_MAX, LOOKUP_FOUND, "v20");
	expect_get(m, "kk", 1, LOOKUP_NOT_FOUND, NULL);
	expect_get(m, "kk", 2, LOOKUP_FOUND, "kk2");
	expect_get(m, "k\x01", 3, LOOKUP_DELETED, NULL);
	expect_get(m, "", SEQ_MAX, LOOKUP_NOT_FOUND, NULL);
	expect_get(m, "l", SEQ_MAX, LOOKUP_NOT_FOUND, NULL);
	ck_assert_uint_eq(memtable_entries(m), 7);
	ck_assert_uint_eq(memtable_tombstones(m), 2);
	memtable_unref(m);
}
END_TEST

START_TEST(test_empty_key_and_value)
{
	struct memtable *m;
	ck_assert_int_eq(memtable_new(NULL, &m), 0);
	ck_assert_int_eq(memtable_add(m, 1, TYPE_VALUE, S(""), S("")), 0);
	ck_assert_int_eq(memtable_add(m, 2, TYPE_VALUE, S("a"), S("")), 0);
	ck_assert_int_eq(memtable_add(m, 3, TYPE_VALUE, S(""), S("x")), 0);
	expect_get(m, "", 1, LOOKUP_FOUND, "");
	expect_get(m, "", 2, LOOKUP_FOUND, "");
	expect_get(m, "", 3, LOOKUP_FOUND, "x");
	expect_get(m, "a", 3, LOOKUP_FOUND, "");
	expect_get(m, "a", 1, LOOKUP_NOT_FOUND, NULL);

	struct iter *it;
	ck_assert_int_eq(memtable_iter_new(m, &it), 0);
	iter_seek_first(it);
	ck_assert(iter_valid(it));
	ck_assert_uint_eq(iter_key(it).len, 8);
	ck_assert_uint_eq(ikey_seq(iter_key(it)), 3);
	ck_assert(slice_eq(iter_value(it), S("x")));
	iter_next(it);
	ck_assert_uint_eq(ikey_seq(iter_key(it)), 1);
	ck_assert_uint_eq(iter_value(it).len, 0);
	iter_next(it);
	ck_assert(slice_eq(ikey_user(iter_key(it)), S("a")));
	iter_next(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), 0);
	iter_free(it);
	memtable_unref(m);
}
END_TEST

START_TEST(test_big_values_and_keys)
{
	enum { MIB = 1 << 20 };
	struct memtable *m;
	ck_assert_int_eq(memtable_new(NULL, &m), 0);
	char *big = malloc(MIB + 1);
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < MIB; i++)
		big[i] = (char)('a' + i % 26);
	big[MIB] = '\0';
	char longkey[300];
	memset(longkey, 'q', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';

	size_t before = memtable_bytes(m);
	ck_assert_int_eq(memtable_add(m, 1, TYPE_VALUE, S("big"), slice_make(big, MIB)), 0);
	ck_assert_uint_ge(memtable_bytes(m), before + MIB);
	ck_assert_int_eq(memtable_add(m, 2, TYPE_VALUE, S(longkey), slice_make(big, MIB)), 0);
	ck_assert_uint_ge(memtable_bytes(m), before + 2 * MIB);
	ck_assert_int_eq(memtable_add(m, 3, TYPE_VALUE, S("small"), S("s")), 0);
	expect_get(m, "big", 1, LOOKUP_FOUND, big);
	expect_get(m, longkey, 2, LOOKUP_FOUND, big);
	expect_get(m, longkey, 1, LOOKUP_NOT_FOUND, NULL);
	expect_get(m, "small", 3, LOOKUP_FOUND, "s");

	struct iter *it;
	ck_assert_int_eq(memtable_iter_new(m, &it), 0);
	iter_seek_first(it);
	ck_assert(slice_eq(iter_value(it), slice_make(big, MIB)));
	iter_free(it);
	free(big);
	memtable_unref(m);
}
END_TEST

START_TEST(test_invalid_adds)
{
	struct memtable *m;
	ck_assert_int_eq(memtable_new(NULL, &m), 0);
	ck_assert_int_eq(memtable_add(m, 7, TYPE_VALUE, S("k"), S("v")), 0);
	size_t bytes = memtable_bytes(m);

	ck_assert_int_eq(memtable_add(m, SEQ_MAX + 1, TYPE_VALUE, S("k"), S("v")), -EINVAL);
	/* lengths are checked before the bytes are touched */
	struct slice huge = slice_make("x", (size_t)UINT32_MAX);
	ck_assert_int_eq(memtable_add(m, 8, TYPE_VALUE, huge, S("v")), -EINVAL);
	huge.len = (size_t)UINT32_MAX + 1;
	ck_assert_int_eq(memtable_add(m, 8, TYPE_VALUE, S("k"), huge), -EINVAL);
	ck_assert_uint_eq(memtable_bytes(m), bytes);

	ck_assert_int_eq(memtable_add(m, 7, TYPE_VALUE, S("k"), S("other")), -EEXIST);
	ck_assert_uint_eq(memtable_entries(m), 1);
	ck_assert_uint_eq(memtable_tombstones(m), 0);
	expect_get(m, "k", 7, LOOKUP_FOUND, "v");
	char *val = NULL;
	size_t vlen;
	ck_assert_int_eq(memtable_get(m, huge, SEQ_MAX, &val, &vlen), LOOKUP_NOT_FOUND);

	ck_assert_int_eq(memtable_add(m, SEQ_MAX, TYPE_DELETE, S("k"), S("")), 0);
	expect_get(m, "k", SEQ_MAX, LOOKUP_DELETED, NULL);
	expect_get(m, "k", SEQ_MAX - 1, LOOKUP_FOUND, "v");
	memtable_unref(m);
	memtable_unref(NULL);
}
END_TEST

START_TEST(test_accounting_and_refs)
{
	struct memtable *m;
	ck_assert_int_eq(memtable_new(NULL, &m), 0);
	size_t last = memtable_bytes(m);
	ck_assert_uint_gt(last, 0); /* the skip list's head lives in the arena */
	size_t payload = 0;
	uint64_t tombs = 0;
	char key[32], val[200];
	memset(val, 'v', sizeof val);
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof key, "key%06d", i);
		enum entry_type t = i % 3 ? TYPE_VALUE : TYPE_DELETE;
		size_t vlen = t == TYPE_VALUE ? (size_t)i % sizeof val : 0;
		ck_assert_int_eq(memtable_add(m, (uint64_t)i + 1, t, S(key),
					      slice_make(val, vlen)), 0);
		payload += strlen(key) + 8 + vlen + 2;
		tombs += t == TYPE_DELETE;
		ck_assert_uint_ge(memtable_bytes(m), last);
		last = memtable_bytes(m);
		ck_assert_uint_eq(memtable_entries(m), (uint64_t)i + 1);
		ck_assert_uint_eq(memtable_tombstones(m), tombs);
	}
	/* payload plus skip list nodes, in whole 64 KiB blocks */
	ck_assert_uint_ge(last, payload);
	ck_assert_uint_le(last, payload + 2000 * 64 + 2 * 65536);

	/* An iterator keeps the table alive past its creator's reference. */
	struct iter *it;
	memtable_ref(m);
	ck_assert_int_eq(memtable_iter_new(m, &it), 0);
	memtable_unref(m);
	memtable_unref(m);
	int n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		n++;
	ck_assert_int_eq(n, 2000);
	iter_free(it);
}
END_TEST

/* A model entry: the internal key as bytes, and the value. */
struct ment {
	struct buf ikey;
	char val[24];
};

static int ment_cmp(const void *a, const void *b)
{
	return ikey_cmp(buf_slice(&((const struct ment *)a)->ikey),
			buf_slice(&((const struct ment *)b)->ikey));
}

static void expect_at(struct iter *it, const struct ment *model, int n, int pos)
{
	if (pos < 0 || pos >= n) {
		ck_assert(!iter_valid(it));
		return;
	}
	ck_assert(iter_valid(it));
	ck_assert(slice_eq(iter_key(it), buf_slice(&model[pos].ikey)));
	ck_assert(slice_eq(iter_value(it), S(model[pos].val)));
}

START_TEST(test_iter_against_model)
{
	enum { N = 3000 };
	struct memtable *m;
	ck_assert_int_eq(memtable_new(NULL, &m), 0);
	struct ment *model = calloc(N, sizeof *model);
	ck_assert_ptr_nonnull(model);
	uint64_t rng = 5;
	char key[16];
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof key, "u%03d", (int)(rng_next(&rng) % 400));
		enum entry_type t = rng_next(&rng) % 4 ? TYPE_VALUE : TYPE_DELETE;
		uint64_t seq = (uint64_t)i * 7 + 1;
		snprintf(model[i].val, sizeof model[i].val, "v%d", i);
		ck_assert_int_eq(ikey_append(&model[i].ikey, key, strlen(key), seq, t), 0);
		ck_assert_int_eq(memtable_add(m, seq, t, S(key), S(model[i].val)), 0);
	}
	qsort(model, N, sizeof *model, ment_cmp);

	struct iter *it;
	ck_assert_int_eq(memtable_iter_new(m, &it), 0);
	ck_assert(!iter_valid(it));
	int pos = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		expect_at(it, model, N, pos++);
	ck_assert_int_eq(pos, N);
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		expect_at(it, model, N, --pos);
	ck_assert_int_eq(pos, 0);

	/* Seek to random (user key, seq) targets, then step around. */
	struct buf target = BUF_INIT;
	for (int k = 0; k < 1000; k++) {
		snprintf(key, sizeof key, "u%03d", (int)(rng_next(&rng) % 410));
		uint64_t seq = rng_next(&rng) % (N * 7 + 10);
		buf_clear(&target);
		ck_assert_int_eq(ikey_append(&target, key, strlen(key), seq, TYPE_SEEK), 0);
		struct ment probe = { .ikey = target };
		pos = 0;
		while (pos < N && ment_cmp(&model[pos], &probe) < 0)
			pos++;
		iter_seek(it, buf_slice(&target));
		expect_at(it, model, N, pos);
		if (pos < N) {
			iter_prev(it);
			expect_at(it, model, N, pos - 1);
		}
		if (pos > 0 && pos < N) {
			iter_next(it);
			expect_at(it, model, N, pos);
		}
	}
	ck_assert_int_eq(iter_status(it), 0);
	buf_release(&target);
	iter_free(it);
	for (int i = 0; i < N; i++)
		buf_release(&model[i].ikey);
	free(model);
	memtable_unref(m);
}
END_TEST

/* Readers call memtable_get() and the counters while one writer adds. */
enum { CONC_KEYS = 20000, CONC_READERS = 2 };

struct conc {
	struct memtable *m;
	uint64_t done; /* atomic: keys [0, done) are added */
};

static void conc_key(char *key, size_t n, uint64_t i)
{
	snprintf(key, n, "key%08llu", (unsigned long long)(i * 7919 % CONC_KEYS));
}

static void *conc_writer(void *arg)
{
	struct conc *c = arg;
	char key[32];
	for (uint64_t i = 0; i < CONC_KEYS; i++) {
		conc_key(key, sizeof key, i);
		ck_assert_int_eq(memtable_add(c->m, i + 1, TYPE_VALUE, S(key), S(key)), 0);
		__atomic_store_n(&c->done, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *conc_reader(void *arg)
{
	struct conc *c = arg;
	uint64_t rng = (uint64_t)(uintptr_t)&rng;
	size_t last_bytes = 0;
	char key[32];
	for (;;) {
		uint64_t done = __atomic_load_n(&c->done, __ATOMIC_ACQUIRE);
		ck_assert_uint_ge(memtable_entries(c->m), done);
		size_t bytes = memtable_bytes(c->m);
		ck_assert_uint_ge(bytes, last_bytes);
		last_bytes = bytes;
		if (done) {
			uint64_t i = rng_next(&rng) % done;
			conc_key(key, sizeof key, i);
			expect_get(c->m, key, SEQ_MAX, LOOKUP_FOUND, key);
			expect_get(c->m, key, i, LOOKUP_NOT_FOUND, NULL);
		}
		if (done == CONC_KEYS)
			return NULL;
	}
}

START_TEST(test_concurrent_get)
{
	struct conc c = { 0 };
	ck_assert_int_eq(memtable_new(NULL, &c.m), 0);
	pthread_t w, r[CONC_READERS];
	for (int i = 0; i < CONC_READERS; i++)
		ck_assert_int_eq(pthread_create(&r[i], NULL, conc_reader, &c), 0);
	ck_assert_int_eq(pthread_create(&w, NULL, conc_writer, &c), 0);
	pthread_join(w, NULL);
	for (int i = 0; i < CONC_READERS; i++)
		pthread_join(r[i], NULL);
	memtable_unref(c.m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("memtable");
	TCase *tc = tcase_create("memtable");
	tcase_add_test(tc, test_versions);
	tcase_add_test(tc, test_empty_key_and_value);
	tcase_add_test(tc, test_big_values_and_keys);
	tcase_add_test(tc, test_invalid_adds);
	tcase_add_test(tc, test_accounting_and_refs);
	tcase_add_test(tc, test_iter_against_model);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrent");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_concurrent_get);
	suite_add_tcase(s, tc);

	return tu_run("check_memtable", s);
}
