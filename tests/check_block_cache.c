/* check_block_cache.c - tests for engine/block_cache.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block_cache.h"
#include "testutil.h"

/* Values are heap ints; the deleter counts how many died. */
static int deleted; /* only touched with __atomic */

static void del(void *v)
{
	__atomic_add_fetch(&deleted, 1, __ATOMIC_RELAXED);
	free(v);
}

static int *val(int x)
{
	int *p = malloc(sizeof *p);
	ck_assert_ptr_nonnull(p);
	*p = x;
	return p;
}

/* Inserts (1, key) -> key with the given charge and releases the handle. */
static void put(struct block_cache *c, uint64_t key, size_t charge)
{
	struct block_cache_handle *h;
	ck_assert_int_eq(
		block_cache_insert(c, 1, key, val((int)key), charge, del, &h),
		0);
	ck_assert_int_eq(*(int *)block_cache_value(h), (int)key);
	block_cache_release(c, h);
}

/* The value cached under (1, key), or -1. */
static int get(struct block_cache *c, uint64_t key)
{
	struct block_cache_handle *h = block_cache_lookup(c, 1, key);
	if (!h)
		return -1;
	int v = *(int *)block_cache_value(h);
	block_cache_release(c, h);
	return v;
}

static void setup(void)
{
	deleted = 0;
}

START_TEST(test_hit_miss)
{
	struct block_cache *c;
	struct block_cache_stats st;
	ck_assert_int_eq(block_cache_new(1 << 20, &c), 0);
	ck_assert_int_eq(get(c, 100), -1);
	put(c, 100, 10);
	ck_assert_int_eq(get(c, 100), 100);
	ck_assert_int_eq(get(c, 200), -1);
	put(c, 200, 10);
	ck_assert_int_eq(get(c, 200), 200);
	/* ids separate namespaces */
	ck_assert_ptr_null(block_cache_lookup(c, 2, 100));
	block_cache_stats(c, &st);
	ck_assert_uint_eq(st.capacity, 1 << 20);
	ck_assert_uint_eq(st.usage, 20);
	ck_assert_uint_eq(st.hits, 2);
	ck_assert_uint_eq(st.misses, 3);
	ck_assert_uint_eq(st.inserts, 2);
	ck_assert_uint_eq(st.evictions, 0);
	/* replacing an entry frees the old value and keeps one charge */
	put(c, 100, 30);
	ck_assert_int_eq(deleted, 1);
	block_cache_stats(c, &st);
	ck_assert_uint_eq(st.usage, 40);
	block_cache_free(c);
	ck_assert_int_eq(deleted, 3);
}
END_TEST

START_TEST(test_lru_order)
{
	struct block_cache *c;
	struct block_cache_stats st;
	ck_assert_int_eq(block_cache_new_sharded(3, 1, &c), 0);
	put(c, 1, 1);
	put(c, 2, 1);
	put(c, 3, 1);
	ck_assert_int_eq(get(c, 1), 1); /* 1 is now the newest: 2 3 1 */
	put(c, 4, 1);                   /* evicts 2 */
	ck_assert_int_eq(get(c, 2), -1);
	ck_assert_int_eq(get(c, 3), 3); /* 1 4 3 */
	put(c, 5, 1);                   /* evicts 1 */
	ck_assert_int_eq(get(c, 1), -1);
	ck_assert_int_eq(get(c, 4), 4);
	ck_assert_int_eq(get(c, 3), 3);
	ck_assert_int_eq(get(c, 5), 5);
	put(c, 6, 2); /* order 4 3 5: evicts 4 and 3 */
	ck_assert_int_eq(get(c, 4), -1);
	ck_assert_int_eq(get(c, 3), -1);
	ck_assert_int_eq(get(c, 5), 5);
	ck_assert_int_eq(get(c, 6), 6);
	block_cache_stats(c, &st);
	ck_assert_uint_eq(st.evictions, 4);
	ck_assert_uint_eq(st.usage, 3);
	ck_assert_int_eq(deleted, 4);
	block_cache_free(c);
	ck_assert_int_eq(deleted, 6);
}
END_TEST

START_TEST(test_capacity_respected)
{
	struct block_cache *c;
	struct block_cache_stats st;
	const size_t cap = 16 * 1000;
	ck_assert_int_eq(block_cache_new(cap, &c), 0);
	for (uint64_t i = 0; i < 5000; i++) {
		put(c, i * 4096, 1 + i % 97);
		block_cache_stats(c, &st);
		ck_assert_uint_le(st.usage, cap);
	}
	ck_assert_uint_gt(st.usage, cap / 2); /* and it is actually used */
	ck_assert_uint_gt(st.evictions, 0);
	ck_assert_uint_eq(st.inserts, 5000);
	ck_assert_uint_eq((uint64_t)deleted, st.evictions);
	/* recent entries survive, the oldest are gone */
	ck_assert_int_eq(get(c, 0), -1);
	int recent = 0;
	for (uint64_t i = 4990; i < 5000; i++)
		recent += get(c, i * 4096) == (int)(i * 4096);
	ck_assert_int_ge(recent, 8);
	block_cache_free(c);
	ck_assert_int_eq(deleted, 5000);
}
END_TEST

START_TEST(test_handle_survives_eviction)
{
	struct block_cache *c;
	struct block_cache_handle *h, *h2;
	struct block_cache_stats st;
	ck_assert_int_eq(block_cache_new_sharded(10, 1, &c), 0);
	ck_assert_int_eq(block_cache_insert(c, 1, 7, val(7), 5, del, &h), 0);
	for (uint64_t i = 100; i < 120; i++)
		put(c, i, 5);
	/* 7 is held, so it was never evicted: the others make room */
	ck_assert_int_eq(deleted, 19);
	ck_assert_int_eq(get(c, 119), 119);
	/* erase it while held: gone from the cache, value intact */
	block_cache_erase(c, 1, 7);
	ck_assert_int_eq(get(c, 7), -1);
	ck_assert_int_eq(*(int *)block_cache_value(h), 7);
	ck_assert_int_eq(deleted, 19);
	block_cache_release(c, h);
	ck_assert_int_eq(deleted, 20);

	/* replace while held: the holder keeps the old value */
	ck_assert_int_eq(block_cache_insert(c, 1, 8, val(8), 5, del, &h), 0);
	ck_assert_int_eq(block_cache_insert(c, 1, 8, val(80), 5, del, &h2), 0);
	ck_assert_int_eq(*(int *)block_cache_value(h), 8);
	ck_assert_int_eq(*(int *)block_cache_value(h2), 80);
	block_cache_release(c, h2);
	ck_assert_int_eq(get(c, 8), 80);
	ck_assert_int_eq(deleted, 20); /* the replaced 8 is still held */
	block_cache_release(c, h);
	ck_assert_int_eq(deleted, 21);

	/* entries held past capacity: usage goes over, then back under */
	struct block_cache_handle *held[4];
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(block_cache_insert(c, 2, (uint64_t)i, val(i),
						    5, del, &held[i]),
				 0);
	block_cache_stats(c, &st);
	ck_assert_uint_eq(st.usage, 20);
	for (int i = 0; i < 4; i++)
		block_cache_release(c, held[i]);
	block_cache_stats(c, &st);
	ck_assert_uint_eq(st.usage, 10);
	ck_assert_int_eq(deleted, 25); /* 119, the new 8, and 2:0, 2:1 */
	ck_assert_ptr_null(block_cache_lookup(c, 2, 0));
	ck_assert_ptr_nonnull(h = block_cache_lookup(c, 2, 3));
	block_cache_release(c, h);
	block_cache_free(c);
}
END_TEST

START_TEST(test_capacity_zero)
{
	struct block_cache *c;
	struct block_cache_handle *h;
	struct block_cache_stats st;
	ck_assert_int_eq(block_cache_new(0, &c), 0);
	ck_assert_int_eq(block_cache_insert(c, 1, 1, val(1), 100, del, &h), 0);
	ck_assert_int_eq(*(int *)block_cache_value(h), 1);
	ck_assert_int_eq(get(c, 1), -1);
	ck_assert_int_eq(deleted, 0);
	block_cache_release(c, h);
	ck_assert_int_eq(deleted, 1);
	block_cache_stats(c, &st);
	ck_assert_uint_eq(st.usage, 0);
	block_cache_free(c);
}
END_TEST

START_TEST(test_ids_and_args)
{
	struct block_cache *c;
	ck_assert_int_eq(block_cache_new_sharded(10, 3, &c), -EINVAL);
	ck_assert_int_eq(block_cache_new_sharded(10, 0, &c), -EINVAL);
	ck_assert_int_eq(block_cache_new_sharded(10, 512, &c), -EINVAL);
	ck_assert_int_eq(block_cache_new(10, &c), 0);
	uint64_t a = block_cache_new_id(c), b = block_cache_new_id(c);
	ck_assert(a != b);
	ck_assert(a >> 63 && b >> 63);
	block_cache_release(c, NULL);
	block_cache_free(c);
	block_cache_free(NULL);
}
END_TEST

struct worker {
	struct block_cache *c;
	uint64_t seed;
	uint64_t lookups, bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t s = w->seed;
	for (int i = 0; i < 200000; i++) {
		s = s * UINT64_C(6364136223846793005) + 1442695040888963407u;
		uint64_t key = (s >> 33) % 2000;
		struct block_cache_handle *h = block_cache_lookup(w->c, 9, key);
		w->lookups++;
		if (!h) {
			int *v = malloc(sizeof *v);
			if (!v)
				abort();
			*v = (int)key;
			if (block_cache_insert(w->c, 9, key, v, 64, del, &h))
				abort();
		}
		if (*(int *)block_cache_value(h) != (int)key)
			w->bad++;
		block_cache_release(w->c, h);
	}
	return NULL;
}

START_TEST(test_concurrent)
{
	struct block_cache *c;
	struct block_cache_stats st;
	ck_assert_int_eq(block_cache_new(64 * 1000, &c), 0);
	struct worker w[2] = { { c, 1, 0, 0 }, { c, 2, 0, 0 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(
			pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(w[0].bad + w[1].bad, 0);
	block_cache_stats(c, &st);
	ck_assert_uint_eq(st.hits + st.misses, w[0].lookups + w[1].lookups);
	ck_assert_uint_eq(st.inserts, st.misses);
	ck_assert_uint_gt(st.hits, 0);
	ck_assert_uint_gt(st.evictions, 0);
	ck_assert_uint_le(st.usage, 64 * 1000);
	block_cache_free(c);
	ck_assert_uint_eq((uint64_t)deleted, st.inserts);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("block_cache");
	TCase *tc = tcase_create("single");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_hit_miss);
	tcase_add_test(tc, test_lru_order);
	tcase_add_test(tc, test_capacity_respected);
	tcase_add_test(tc, test_handle_survives_eviction);
	tcase_add_test(tc, test_capacity_zero);
	tcase_add_test(tc, test_ids_and_args);
	suite_add_tcase(s, tc);
	tc = tcase_create("concurrent");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_concurrent);
	suite_add_tcase(s, tc);
	return tu_run("check_block_cache", s);
}
