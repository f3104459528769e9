/* check_bloom.c - tests for engine/bloom.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
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

/* Key i as 12 bytes: "k" + 11 decimal digits (or "x" for probe keys). */
static struct slice make_key(char *tmp, char prefix, uint64_t i)
{
	snprintf(tmp, 16, "%c%011llu", prefix,
		 (unsigned long long)(i % UINT64_C(100000000000)));
	return slice_make(tmp, 12);
}

static struct buf build_n(size_t n, int bits)
{
	struct buf f = BUF_INIT;
	uint64_t *h = malloc((n ? n : 1) * sizeof *h);
	ck_assert_ptr_nonnull(h);
	char tmp[16];
	for (size_t i = 0; i < n; i++)
		h[i] = bloom_hash(make_key(tmp, 'k', i));
	REQUIRE_INT(bloom_build_hashes(h, n, bits, &f), ==, 0);
	free(h);
	return f;
}

static double theory(int bits)
{
	int k = bloom_probes(bits);
	return pow(1.0 - exp(-(double)k / bits), k);
}

static double measure_fp(struct slice filter, size_t probes)
{
	char tmp[16];
	size_t fp = 0;
	for (size_t i = 0; i < probes; i++)
		fp += bloom_may_contain(filter, make_key(tmp, 'x', i));
	return (double)fp / (double)probes;
}

START_TEST(test_probes)
{
	REQUIRE_INT(bloom_probes(0), ==, 1);
	REQUIRE_INT(bloom_probes(1), ==, 1);
	REQUIRE_INT(bloom_probes(10), ==, 7);
	REQUIRE_INT(bloom_probes(20), ==, 14);
	REQUIRE_INT(bloom_probes(100), ==, BLOOM_MAX_PROBES);
}
END_TEST

START_TEST(test_no_false_negatives)
{
	static const size_t sizes[] = { 0, 1, 2, 7, 100, 1000, 20000 };
	char tmp[16];
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		for (int bits = 1; bits <= 20; bits += 3) {
			struct buf f = build_n(sizes[s], bits);
			REQUIRE_UINT(f.len, >=, 9); /* 64-bit floor + k */
			for (size_t i = 0; i < sizes[s]; i++)
				REQUIRE(bloom_may_contain(
					buf_slice(&f), make_key(tmp, 'k', i)));
			buf_release(&f);
		}
	}
}
END_TEST

/* The headline number: 10 bits/key over 100k keys. */
START_TEST(test_fp_rate_10_bits)
{
	const size_t n = 100000;
	struct buf f = build_n(n, 10);
	REQUIRE_UINT(f.len, ==, n * 10 / 8 + 1);
	REQUIRE_INT((unsigned char)f.data[f.len - 1], ==, 7);
	char tmp[16];
	for (size_t i = 0; i < n; i++)
		REQUIRE(bloom_may_contain(buf_slice(&f),
					  make_key(tmp, 'k', i)));
	double rate = measure_fp(buf_slice(&f), n);
	double want = theory(10);
	fprintf(stderr,
		"bloom fp rate at 10 bits/key: %.4f%% (theory %.4f%%)\n",
		rate * 100, want * 100);
	REQUIRE(want > 0.0075 && want < 0.0090);
	REQUIRE(rate <= 2 * want);
	REQUIRE(rate >= want / 2);
	buf_release(&f);
}
END_TEST

START_TEST(test_fp_rate_other_bits)
{
	static const int bits[] = { 4, 6, 16 };
	for (size_t b = 0; b < 3; b++) {
		struct buf f = build_n(20000, bits[b]);
		double rate = measure_fp(buf_slice(&f), 50000);
		double want = theory(bits[b]);
		ck_assert_msg(rate <= 2 * want + 0.0005,
			      "bits %d: rate %f theory %f", bits[b], rate,
			      want);
		buf_release(&f);
	}
}
END_TEST

START_TEST(test_build_from_keys_appends)
{
	struct buf f = BUF_INIT;
	REQUIRE_INT(buf_append(&f, "prefix", 6), ==, 0);
	struct slice keys[3] = { slice_make("apple", 5), slice_make("", 0),
				 slice_make("cherry", 6) };
	REQUIRE_INT(bloom_build(keys, 3, 10, &f), ==, 0);
	REQUIRE_INT(memcmp(f.data, "prefix", 6), ==, 0);
	struct slice filter = slice_make(f.data + 6, f.len - 6);
	for (int i = 0; i < 3; i++)
		REQUIRE(bloom_may_contain(filter, keys[i]));
	/* the same hashes through the hash entry point */
	REQUIRE(bloom_may_contain_hash(filter, bloom_hash(keys[2])));
	buf_release(&f);
}
END_TEST

START_TEST(test_invalid_and_malformed)
{
	struct buf f = BUF_INIT;
	uint64_t h = 1;
	REQUIRE_INT(bloom_build_hashes(&h, 1, 0, &f), ==, -EINVAL);
	REQUIRE_INT(bloom_build_hashes(&h, 1, -3, &f), ==, -EINVAL);
	REQUIRE_UINT(f.len, ==, 0);
	struct slice key = slice_make("k", 1);
	/* too short to be a filter: everything may be there */
	REQUIRE(bloom_may_contain(slice_make("", 0), key));
	REQUIRE(bloom_may_contain(slice_make("\x05", 1), key));
	/* an all-zero filter says no, unless its k is not one we know */
	char zero[9] = { 0 };
	zero[8] = 7;
	REQUIRE(!bloom_may_contain(slice_make(zero, 9), key));
	zero[8] = 0;
	REQUIRE(bloom_may_contain(slice_make(zero, 9), key));
	zero[8] = BLOOM_MAX_PROBES + 1;
	REQUIRE(bloom_may_contain(slice_make(zero, 9), key));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bloom");
	TCase *tc = tcase_create("bloom");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_probes);
	tcase_add_test(tc, test_no_false_negatives);
	tcase_add_test(tc, test_fp_rate_10_bits);
	tcase_add_test(tc, test_fp_rate_other_bits);
	tcase_add_test(tc, test_build_from_keys_appends);
	tcase_add_test(tc, test_invalid_and_malformed);
	suite_add_tcase(s, tc);
	return tu_run("check_bloom", s);
}
