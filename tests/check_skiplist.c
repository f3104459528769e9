/* check_skiplist.c - tests for engine/skiplist.c and engine/arena.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "skiplist.h"
#include "testutil.h"

/* Entries are 8-byte big-endian integers, so memcmp order is numeric. */
static int u64_cmp(void *ctx, const char *a, const char *b)
{
	(void)ctx;
	return memcmp(a, b, 8);
}

static uint64_t get_u64(const char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

static void put_u64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

static const char *arena_u64(struct arena *a, uint64_t v)
{
	char *p = arena_alloc(a, 8);
	ck_assert_ptr_nonnull(p);
	put_u64(p, v);
	return p;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

struct fixture {
	struct arena *arena;
	struct skiplist *list;
};

static void fixture_init(struct fixture *f)
{
	ck_assert_int_eq(arena_new(NULL, &f->arena), 0);
	ck_assert_int_eq(skiplist_new(f->arena, u64_cmp, NULL, &f->list), 0);
}

START_TEST(test_arena_basic)
{
	struct arena *a;
	ck_assert_int_eq(arena_new(NULL, &a), 0);
	ck_assert_uint_eq(arena_memory_usage(a), 0);

	char *p = arena_alloc(a, 3);
	ck_assert_ptr_nonnull(p);
	size_t one_block = arena_memory_usage(a);
	ck_assert_uint_gt(one_block, ARENA_BLOCK_SIZE);
	memset(p, 1, 3);
	for (int i = 0; i < 100; i++) {
		void *q = arena_alloc_aligned(a, (size_t)i + 1);
		ck_assert_ptr_nonnull(q);
		ck_assert_uint_eq((uintptr_t)q % 8, 0);
		memset(q, 2, (size_t)i + 1);
	}
	ck_assert_uint_eq(arena_memory_usage(a), one_block);
	ck_assert_ptr_nonnull(arena_alloc(a, 0));

	/* A big allocation that does not fit gets its own block; small ones
	 * keep filling the current block. */
	size_t big = ARENA_BLOCK_SIZE;
	char *b = arena_alloc(a, big);
	ck_assert_ptr_nonnull(b);
	memset(b, 3, big);
	size_t after_big = arena_memory_usage(a);
	ck_assert_uint_ge(after_big, one_block + big);
	ck_assert_uint_lt(after_big, one_block + big + 64);
	ck_assert_ptr_nonnull(arena_alloc(a, 10));
	ck_assert_uint_eq(arena_memory_usage(a), after_big);

	/* Filling up the current block starts a new one. */
	for (int i = 0; i < 100; i++)
		ck_assert_ptr_nonnull(arena_alloc(a, 1000));
	ck_assert_uint_gt(arena_memory_usage(a), after_big + ARENA_BLOCK_SIZE);
	arena_free(a);
	arena_free(NULL);
}
END_TEST

START_TEST(test_arena_oom)
{
	struct arena *a;
	ck_assert_int_eq(arena_new(NULL, &a), 0);
	ck_assert_ptr_null(arena_alloc(a, SIZE_MAX));
	ck_assert_ptr_null(arena_alloc_aligned(a, SIZE_MAX - 4));
	ck_assert_uint_eq(arena_memory_usage(a), 0);

	/* Under a limit the current block is still used up, then every
	 * allocation that needs a new block fails without using memory. */
	ck_assert_ptr_nonnull(arena_alloc(a, 100));
	size_t used = arena_memory_usage(a);
	arena_set_limit(a, used + 1000);
	ck_assert_ptr_null(arena_alloc(a, ARENA_BLOCK_SIZE)); /* big */
	int fit = 0;
	while (arena_alloc_aligned(a, 1000))
		fit++;
	ck_assert_int_eq(fit, (ARENA_BLOCK_SIZE - 100) / 1000);
	ck_assert_ptr_null(arena_alloc(a, 1000));
	ck_assert_uint_eq(arena_memory_usage(a), used);
	arena_set_limit(a, SIZE_MAX);
	ck_assert_ptr_nonnull(arena_alloc(a, 1000));
	ck_assert_uint_gt(arena_memory_usage(a), used);
	arena_free(a);
}
END_TEST

/*
 * A pooled arena's blocks go back to the pool when it is freed and are the
 * next arena's, big ones included; the pool keeps no more than it was
 * told to, and a pooled block never takes an arena past its limit.
 */
START_TEST(test_arena_pool)
{
	struct arena_pool *pool;
	struct arena *a;
	size_t keep = 4 * (ARENA_BLOCK_SIZE + 64);
	ck_assert_int_eq(arena_pool_new(keep, &pool), 0);
	ck_assert_int_eq(arena_new(pool, &a), 0);
	char *small = arena_alloc(a, 100);
	char *big = arena_alloc(a, ARENA_BLOCK_SIZE + 100);
	ck_assert_ptr_nonnull(small);
	ck_assert_ptr_nonnull(big);
	for (int i = 0; i < 10; i++) /* ten more blocks: more than keep */
		ck_assert_ptr_nonnull(arena_alloc(a, ARENA_BLOCK_SIZE / 2));
	size_t usage = arena_memory_usage(a);
	arena_free(a);
	ck_assert_uint_gt(arena_pool_bytes(pool), 0);
	ck_assert_uint_le(arena_pool_bytes(pool), keep);
	ck_assert_uint_lt(arena_pool_bytes(pool), usage);

	/* Only the newest blocks were kept (the pool is full before the
	 * oldest come back); empty it and refill it with two known ones. */
	ck_assert_int_eq(arena_new(pool, &a), 0);
	while (arena_pool_bytes(pool) > 0)
		ck_assert_ptr_nonnull(arena_alloc(a, 100));
	arena_free(a);
	arena_pool_free(pool);

	ck_assert_int_eq(arena_pool_new(keep, &pool), 0);
	ck_assert_int_eq(arena_new(pool, &a), 0);
	small = arena_alloc(a, 100);
	big = arena_alloc(a, ARENA_BLOCK_SIZE + 100);
	size_t two = arena_memory_usage(a);
	arena_free(a);
	ck_assert_uint_eq(arena_pool_bytes(pool), two);

	/* A big request takes the big block (50 bytes left in it), a small
	 * one that does not fit there the other. */
	ck_assert_int_eq(arena_new(pool, &a), 0);
	ck_assert_ptr_eq(arena_alloc(a, ARENA_BLOCK_SIZE + 50), big);
	ck_assert_ptr_eq(arena_alloc(a, 60), small);
	ck_assert_uint_eq(arena_memory_usage(a), two);
	ck_assert_uint_eq(arena_pool_bytes(pool), 0);
	arena_free(a);

	/* Under a limit too small for the big block, a small request takes
	 * the small block, and the big one stays in the pool. */
	ck_assert_int_eq(arena_new(pool, &a), 0);
	arena_set_limit(a, ARENA_BLOCK_SIZE + 64);
	ck_assert_ptr_eq(arena_alloc(a, 10), small);
	ck_assert_ptr_null(arena_alloc(a, ARENA_BLOCK_SIZE + 50));
	ck_assert_uint_le(arena_memory_usage(a), ARENA_BLOCK_SIZE + 64);
	ck_assert_uint_eq(arena_pool_bytes(pool), two - arena_memory_usage(a));
	arena_free(a);
	ck_assert_uint_eq(arena_pool_bytes(pool), two);
	arena_pool_free(pool);
	arena_pool_free(NULL);

	/* More pooled blocks than a request looks at, none big enough: the
	 * request gets fresh memory and the pool keeps every block. */
	enum { NBLOCKS = 10, SMALL_BIG = ARENA_BLOCK_SIZE / 4 + 1000 };
	char *seen[NBLOCKS];
	ck_assert_int_eq(arena_pool_new(keep, &pool), 0);
	ck_assert_int_eq(arena_new(pool, &a), 0);
	for (int i = 0; i < NBLOCKS; i++)
		ck_assert_ptr_nonnull(seen[i] = arena_alloc(a, SMALL_BIG));
	arena_free(a);
	size_t pooled = arena_pool_bytes(pool);
	ck_assert_uint_ge(pooled, NBLOCKS * SMALL_BIG);
	ck_assert_int_eq(arena_new(pool, &a), 0);
	char *fresh = arena_alloc(a, 2 * SMALL_BIG);
	ck_assert_ptr_nonnull(fresh);
	memset(fresh, 5, 2 * SMALL_BIG);
	for (int i = 0; i < NBLOCKS; i++)
		ck_assert_ptr_ne(fresh, seen[i]);
	ck_assert_uint_eq(arena_pool_bytes(pool), pooled);
	arena_free(a);
	arena_pool_free(pool);
}
END_TEST

START_TEST(test_empty)
{
	struct fixture f;
	fixture_init(&f);
	struct skiplist_iter it;
	skiplist_iter_init(&it, f.list);
	ck_assert(!skiplist_iter_valid(&it));
	skiplist_iter_seek_first(&it);
	ck_assert(!skiplist_iter_valid(&it));
	skiplist_iter_seek_last(&it);
	ck_assert(!skiplist_iter_valid(&it));
	skiplist_iter_seek(&it, arena_u64(f.arena, 42));
	ck_assert(!skiplist_iter_valid(&it));
	ck_assert(!skiplist_contains(f.list, arena_u64(f.arena, 42)));
	arena_free(f.arena);
}
END_TEST

/* Index of the first ref[i] >= v, n if none. */
static size_t lower_bound(const uint64_t *ref, size_t n, uint64_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ref[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

START_TEST(test_random_inserts)
{
	enum { N = 5000 };
	struct fixture f;
	fixture_init(&f);
	uint64_t *ref = malloc(N * sizeof *ref);
	ck_assert_ptr_nonnull(ref);
	uint64_t seed = 301;
	size_t n = 0;
	for (int i = 0; i < N; i++) {
		uint64_t v = rng_next(&seed) % 20000; /* some duplicates */
		int rc = skiplist_insert(f.list, arena_u64(f.arena, v));
		bool dup = false;
		for (size_t j = 0; j < n && !dup; j++)
			dup = ref[j] == v;
		ck_assert_int_eq(rc, dup ? -EEXIST : 0);
		if (!dup)
			ref[n++] = v;
	}
	qsort(ref, n, sizeof *ref, cmp_u64);
	ck_assert_uint_gt(n, N / 2);

	struct skiplist_iter it;
	skiplist_iter_init(&it, f.list);
	size_t i = 0;
	for (skiplist_iter_seek_first(&it); skiplist_iter_valid(&it);
	     skiplist_iter_next(&it))
		ck_assert_uint_eq(get_u64(skiplist_iter_entry(&it)), ref[i++]);
	ck_assert_uint_eq(i, n);

	for (skiplist_iter_seek_last(&it); skiplist_iter_valid(&it);
	     skiplist_iter_prev(&it))
		ck_assert_uint_eq(get_u64(skiplist_iter_entry(&it)), ref[--i]);
	ck_assert_uint_eq(i, 0);

	for (int k = 0; k < 2000; k++) {
		uint64_t v = rng_next(&seed) % 20100;
		const char *t = arena_u64(f.arena, v);
		size_t lb = lower_bound(ref, n, v);
		ck_assert(skiplist_contains(f.list, t) == (lb < n && ref[lb] == v));
		skiplist_iter_seek(&it, t);
		if (lb == n) {
			ck_assert(!skiplist_iter_valid(&it));
			continue;
		}
		ck_assert(skiplist_iter_valid(&it));
		ck_assert_uint_eq(get_u64(skiplist_iter_entry(&it)), ref[lb]);
		skiplist_iter_prev(&it);
		if (lb == 0) {
			ck_assert(!skiplist_iter_valid(&it));
		} else {
			ck_assert(skiplist_iter_valid(&it));
			ck_assert_uint_eq(get_u64(skiplist_iter_entry(&it)),
					  ref[lb - 1]);
			skiplist_iter_next(&it);
			skiplist_iter_next(&it);
			ck_assert(skiplist_iter_valid(&it) == (lb + 1 < n));
		}
	}
	free(ref);
	arena_free(f.arena);
}
END_TEST

START_TEST(test_insert_enomem)
{
	struct fixture f;
	fixture_init(&f);
	uint64_t seed = 7;
	uint64_t vals[64];
	for (int i = 0; i < 64; i++) {
		vals[i] = rng_next(&seed);
		ck_assert_int_eq(skiplist_insert(f.list, arena_u64(f.arena, vals[i])), 0);
	}
	/* Forbid new blocks and use up the current one: inserts fail and the
	 * list keeps exactly what it had. */
	arena_set_limit(f.arena, arena_memory_usage(f.arena));
	while (arena_alloc(f.arena, 1))
		;
	static char probe[8];
	put_u64(probe, 12345);
	ck_assert_int_eq(skiplist_insert(f.list, probe), -ENOMEM);
	ck_assert(!skiplist_contains(f.list, probe));

	qsort(vals, 64, sizeof vals[0], cmp_u64);
	struct skiplist_iter it;
	skiplist_iter_init(&it, f.list);
	int i = 0;
	for (skiplist_iter_seek_first(&it); skiplist_iter_valid(&it);
	     skiplist_iter_next(&it))
		ck_assert_uint_eq(get_u64(skiplist_iter_entry(&it)), vals[i++]);
	ck_assert_int_eq(i, 64);

	arena_set_limit(f.arena, SIZE_MAX);
	ck_assert_int_eq(skiplist_insert(f.list, probe), 0);
	ck_assert(skiplist_contains(f.list, probe));
	arena_free(f.arena);
}
END_TEST

/*
 * One writer inserts random keys and publishes, after each insert, how many
 * it has finished. Readers repeatedly note that count, then walk or seek the
 * list: keys must strictly increase and every key finished before the
 * reader started must be there.
 */
enum { CONC_KEYS = 20000, CONC_READERS = 3 };

struct conc {
	struct fixture f;
	uint64_t keys[CONC_KEYS]; /* keys[0..done) are inserted */
	size_t done;              /* atomic */
	int writer_finished;      /* atomic */
	int passes[CONC_READERS];
};

struct reader_arg {
	struct conc *c;
	int id;
};

static void *writer_main(void *arg)
{
	struct conc *c = arg;
	for (size_t i = 0; i < CONC_KEYS; i++) {
		const char *e = arena_u64(c->f.arena, c->keys[i]);
		ck_assert_int_eq(skiplist_insert(c->f.list, e), 0);
		__atomic_store_n(&c->done, i + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&c->writer_finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void reader_pass(struct conc *c, uint64_t *seen, uint64_t *rng)
{
	size_t done = __atomic_load_n(&c->done, __ATOMIC_ACQUIRE);
	struct skiplist_iter it;
	skiplist_iter_init(&it, c->f.list);
	size_t n = 0;
	for (skiplist_iter_seek_first(&it); skiplist_iter_valid(&it);
	     skiplist_iter_next(&it)) {
		uint64_t v = get_u64(skiplist_iter_entry(&it));
		ck_assert(n == 0 || v > seen[n - 1]);
		ck_assert_uint_lt(n, CONC_KEYS);
		seen[n++] = v;
	}
	ck_assert_uint_ge(n, done);
	for (size_t i = 0; i < done; i++) {
		size_t lb = lower_bound(seen, n, c->keys[i]);
		ck_assert(lb < n && seen[lb] == c->keys[i]);
	}

	/* Seeks land exactly on finished keys; short walks both ways stay
	 * ordered. */
	char target[8];
	for (int k = 0; done && k < 200; k++) {
		uint64_t v = c->keys[rng_next(rng) % done];
		put_u64(target, v);
		skiplist_iter_seek(&it, target);
		ck_assert(skiplist_iter_valid(&it));
		ck_assert_uint_eq(get_u64(skiplist_iter_entry(&it)), v);
		uint64_t last = v;
		for (int s = 0; s < 5 && skiplist_iter_valid(&it); s++) {
			skiplist_iter_next(&it);
			if (!skiplist_iter_valid(&it))
				break;
			uint64_t w = get_u64(skiplist_iter_entry(&it));
			ck_assert_uint_gt(w, last);
			last = w;
		}
		skiplist_iter_seek(&it, target);
		skiplist_iter_prev(&it);
		if (skiplist_iter_valid(&it))
			ck_assert_uint_lt(get_u64(skiplist_iter_entry(&it)), v);
		ck_assert(skiplist_contains(c->f.list, target));
	}
}

static void *reader_main(void *arg)
{
	struct reader_arg *ra = arg;
	struct conc *c = ra->c;
	uint64_t *seen = malloc(CONC_KEYS * sizeof *seen);
	ck_assert_ptr_nonnull(seen);
	uint64_t rng = (uint64_t)ra->id;
	int finished;
	do {
		finished = __atomic_load_n(&c->writer_finished, __ATOMIC_ACQUIRE);
		reader_pass(c, seen, &rng);
		c->passes[ra->id]++;
	} while (!finished);
	free(seen);
	return NULL;
}

START_TEST(test_concurrent_readers)
{
	struct conc *c = calloc(1, sizeof *c);
	ck_assert_ptr_nonnull(c);
	fixture_init(&c->f);
	uint64_t seed = 99;
	for (size_t i = 0; i < CONC_KEYS; i++)
		c->keys[i] = rng_next(&seed) >> 1 | 1; /* distinct w.h.p. */
	uint64_t *sorted = malloc(sizeof c->keys);
	ck_assert_ptr_nonnull(sorted);
	memcpy(sorted, c->keys, sizeof c->keys);
	qsort(sorted, CONC_KEYS, sizeof *sorted, cmp_u64);
	for (size_t i = 1; i < CONC_KEYS; i++)
		ck_assert_uint_ne(sorted[i], sorted[i - 1]);
	free(sorted);

	pthread_t w, r[CONC_READERS];
	struct reader_arg ra[CONC_READERS];
	for (int i = 0; i < CONC_READERS; i++) {
		ra[i] = (struct reader_arg){ c, i };
		ck_assert_int_eq(pthread_create(&r[i], NULL, reader_main, &ra[i]), 0);
	}
	ck_assert_int_eq(pthread_create(&w, NULL, writer_main, c), 0);
	pthread_join(w, NULL);
	for (int i = 0; i < CONC_READERS; i++) {
		pthread_join(r[i], NULL);
		ck_assert_int_gt(c->passes[i], 0);
	}
	arena_free(c->f.arena);
	free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("skiplist");
	TCase *tc = tcase_create("arena");
	tcase_add_test(tc, test_arena_basic);
	tcase_add_test(tc, test_arena_oom);
	tcase_add_test(tc, test_arena_pool);
	suite_add_tcase(s, tc);

	tc = tcase_create("single");
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_random_inserts);
	tcase_add_test(tc, test_insert_enomem);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrent");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_concurrent_readers);
	suite_add_tcase(s, tc);

	return tu_run("check_skiplist", s);
}
