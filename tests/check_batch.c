/*
 * check_batch.c - tests for engine/batch.c: building batches, iterating,
 * group-commit appends, and rejection of every malformed rep.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "coding.h"
#include "testutil.h"

/* What batch_iterate reported, entry by entry. */
#define MAX_SEEN 64
struct seen {
	int n;
	int stop_at; /* return 42 from this entry (1-based); 0: never */
	uint64_t seq[MAX_SEEN];
	enum entry_type type[MAX_SEEN];
	struct buf key[MAX_SEEN], value[MAX_SEEN];
};

static int record(void *ctx, uint64_t seq, enum entry_type type,
		  struct slice key, struct slice value)
{
	struct seen *s = ctx;
	ck_assert_int_lt(s->n, MAX_SEEN);
	s->seq[s->n] = seq;
	s->type[s->n] = type;
	ck_assert_int_eq(buf_set(&s->key[s->n], key.data, key.len), 0);
	ck_assert_int_eq(buf_set(&s->value[s->n], value.data, value.len), 0);
	s->n++;
	return s->n == s->stop_at ? 42 : 0;
}

static void seen_release(struct seen *s)
{
	for (int i = 0; i < MAX_SEEN; i++) {
		buf_release(&s->key[i]);
		buf_release(&s->value[i]);
	}
	memset(s, 0, sizeof *s);
}

static void expect_entry(const struct seen *s, int i, uint64_t seq,
			 enum entry_type type, const void *key, size_t klen,
			 const void *val, size_t vlen)
{
	ck_assert_int_gt(s->n, i);
	ck_assert_uint_eq(s->seq[i], seq);
	ck_assert_int_eq(s->type[i], type);
	ck_assert(slice_eq(buf_slice(&s->key[i]), slice_make(key, klen)));
	ck_assert(slice_eq(buf_slice(&s->value[i]), slice_make(val, vlen)));
}

static struct lsm_batch *new_batch(void)
{
	struct lsm_batch *b;
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	return b;
}

/* The three-entry batch most tests start from. */
static struct lsm_batch *sample_batch(void)
{
	struct lsm_batch *b = new_batch();
	ck_assert_int_eq(lsm_batch_put(b, "k\0ey", 4, "v\0al", 4), 0);
	ck_assert_int_eq(lsm_batch_delete(b, "gone", 4), 0);
	ck_assert_int_eq(lsm_batch_put(b, "", 0, "", 0), 0);
	batch_set_sequence(b, 1000);
	return b;
}

static void expect_sample(const struct seen *s, uint64_t seq)
{
	ck_assert_int_eq(s->n, 3);
	expect_entry(s, 0, seq, TYPE_VALUE, "k\0ey", 4, "v\0al", 4);
	expect_entry(s, 1, seq + 1, TYPE_DELETE, "gone", 4, "", 0);
	expect_entry(s, 2, seq + 2, TYPE_VALUE, "", 0, "", 0);
}

START_TEST(test_new_empty)
{
	struct lsm_batch *b = new_batch();
	ck_assert_uint_eq(lsm_batch_count(b), 0);
	ck_assert_uint_eq(batch_size(b), BATCH_HEADER_LEN);
	ck_assert_uint_eq(batch_sequence(b), 0);
	struct seen s = { 0 };
	ck_assert_int_eq(batch_iterate(b, record, &s), 0);
	ck_assert_int_eq(s.n, 0);
	lsm_batch_free(b);
	lsm_batch_free(NULL);
}
END_TEST

START_TEST(test_round_trip)
{
	struct lsm_batch *b = sample_batch();
	ck_assert_uint_eq(lsm_batch_count(b), 3);
	ck_assert_uint_eq(batch_sequence(b), 1000);
	/* header + (1+1+4+1+4) + (1+1+4) + (1+1+1) */
	ck_assert_uint_eq(batch_size(b), 12 + 11 + 6 + 3);
	/* the exact bytes of the format */
	static const char want[] =
		"\xe8\x03\0\0\0\0\0\0" "\x03\0\0\0"
		"\x01\x04k\0ey\x04v\0al" "\x00\x04gone" "\x01\x00\x00";
	ck_assert_uint_eq(batch_size(b), sizeof want - 1);
	ck_assert(memcmp(b->rep.data, want, sizeof want - 1) == 0);

	struct seen s = { 0 };
	ck_assert_int_eq(batch_iterate(b, record, &s), 0);
	expect_sample(&s, 1000);
	seen_release(&s);
	ck_assert_int_eq(batch_iterate(b, NULL, NULL), 0);

	/* a large value and a large key */
	size_t big = 300000;
	char *v = malloc(big);
	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < big; i++)
		v[i] = (char)(i * 31);
	ck_assert_int_eq(lsm_batch_put(b, v, 200, v, big), 0);
	ck_assert_int_eq(lsm_batch_delete(b, v, 70000), 0);
	batch_set_sequence(b, SEQ_MAX - 4);
	ck_assert_int_eq(batch_iterate(b, record, &s), 0);
	ck_assert_int_eq(s.n, 5);
	expect_entry(&s, 3, SEQ_MAX - 1, TYPE_VALUE, v, 200, v, big);
	expect_entry(&s, 4, SEQ_MAX, TYPE_DELETE, v, 70000, "", 0);
	seen_release(&s);
	free(v);
	lsm_batch_free(b);
}
END_TEST

START_TEST(test_clear)
{
	struct lsm_batch *b = sample_batch();
	lsm_batch_clear(b);
	ck_assert_uint_eq(lsm_batch_count(b), 0);
	ck_assert_uint_eq(batch_size(b), BATCH_HEADER_LEN);
	ck_assert_uint_eq(batch_sequence(b), 0);
	ck_assert_int_eq(lsm_batch_put(b, "a", 1, "b", 1), 0);
	struct seen s = { 0 };
	ck_assert_int_eq(batch_iterate(b, record, &s), 0);
	ck_assert_int_eq(s.n, 1);
	expect_entry(&s, 0, 0, TYPE_VALUE, "a", 1, "b", 1);
	seen_release(&s);
	lsm_batch_free(b);
}
END_TEST

START_TEST(test_append)
{
	struct lsm_batch *dst = new_batch(), *src = sample_batch();
	ck_assert_int_eq(lsm_batch_put(dst, "first", 5, "1", 1), 0);
	batch_set_sequence(dst, 7);
	size_t before = batch_size(dst);
	ck_assert_int_eq(batch_append(dst, src), 0);
	ck_assert_uint_eq(lsm_batch_count(dst), 4);
	ck_assert_uint_eq(batch_sequence(dst), 7);
	ck_assert_uint_eq(batch_size(dst),
			  before + batch_size(src) - BATCH_HEADER_LEN);

	struct seen s = { 0 };
	ck_assert_int_eq(batch_iterate(dst, record, &s), 0);
	ck_assert_int_eq(s.n, 4);
	expect_entry(&s, 0, 7, TYPE_VALUE, "first", 5, "1", 1);
	expect_entry(&s, 1, 8, TYPE_VALUE, "k\0ey", 4, "v\0al", 4);
	expect_entry(&s, 2, 9, TYPE_DELETE, "gone", 4, "", 0);
	expect_entry(&s, 3, 10, TYPE_VALUE, "", 0, "", 0);
	seen_release(&s);

	/* src is untouched; appending an empty batch changes nothing */
	ck_assert_uint_eq(lsm_batch_count(src), 3);
	lsm_batch_clear(src);
	before = batch_size(dst);
	ck_assert_int_eq(batch_append(dst, src), 0);
	ck_assert_uint_eq(batch_size(dst), before);
	ck_assert_uint_eq(lsm_batch_count(dst), 4);

	/* appending a batch to itself doubles it */
	ck_assert_int_eq(batch_append(dst, dst), 0);
	ck_assert_uint_eq(lsm_batch_count(dst), 8);
	ck_assert_int_eq(batch_iterate(dst, record, &s), 0);
	expect_entry(&s, 4, 11, TYPE_VALUE, "first", 5, "1", 1);
	expect_entry(&s, 7, 14, TYPE_VALUE, "", 0, "", 0);
	seen_release(&s);
	lsm_batch_free(dst);
	lsm_batch_free(src);
}
END_TEST

START_TEST(test_set_rep)
{
	struct lsm_batch *a = sample_batch(), *b = new_batch();
	ck_assert_int_eq(batch_set_rep(b, buf_slice(&a->rep)), 0);
	ck_assert_uint_eq(batch_size(b), batch_size(a));
	ck_assert_uint_eq(lsm_batch_count(b), 3);
	struct seen s = { 0 };
	ck_assert_int_eq(batch_iterate(b, record, &s), 0);
	expect_sample(&s, 1000);
	seen_release(&s);

	/* shorter than the header: refused, b unchanged */
	for (size_t n = 0; n < BATCH_HEADER_LEN; n++) {
		ck_assert_int_eq(batch_set_rep(b, slice_make(a->rep.data, n)),
				 -EIO);
		ck_assert_uint_eq(batch_size(b), batch_size(a));
	}
	/* exactly a header with count 0 is an empty batch */
	ck_assert_int_eq(batch_set_rep(b, slice_make("\x05\0\0\0\0\0\0\0"
						     "\0\0\0\0", 12)), 0);
	ck_assert_uint_eq(batch_sequence(b), 5);
	ck_assert_int_eq(batch_iterate(b, record, &s), 0);
	ck_assert_int_eq(s.n, 0);
	lsm_batch_free(a);
	lsm_batch_free(b);
}
END_TEST

/* Every truncation of a valid rep is rejected, whether it cuts an entry
 * or falls between entries (then the count is wrong). */
START_TEST(test_truncated_rep)
{
	struct lsm_batch *a = sample_batch(), *b = new_batch();
	ck_assert_int_eq(lsm_batch_put(a, "key", 3, "a value", 7), 0);
	for (size_t n = BATCH_HEADER_LEN; n < batch_size(a); n++) {
		ck_assert_int_eq(batch_set_rep(b, slice_make(a->rep.data, n)),
				 0);
		ck_assert_msg(batch_iterate(b, NULL, NULL) == -EIO,
			      "truncation at %zu accepted", n);
		struct seen s = { 0 };
		ck_assert_int_eq(batch_iterate(b, record, &s), -EIO);
		ck_assert_int_lt(s.n, 4);
		seen_release(&s);
	}
	lsm_batch_free(a);
	lsm_batch_free(b);
}
END_TEST

static int iterate_with_count(const struct lsm_batch *a, uint32_t count)
{
	struct lsm_batch *b = new_batch();
	ck_assert_int_eq(batch_set_rep(b, buf_slice(&a->rep)), 0);
	encode_fixed32(b->rep.data + 8, count);
	int rc = batch_iterate(b, NULL, NULL);
	lsm_batch_free(b);
	return rc;
}

START_TEST(test_count_mismatch)
{
	struct lsm_batch *a = sample_batch();
	ck_assert_int_eq(iterate_with_count(a, 3), 0);
	ck_assert_int_eq(iterate_with_count(a, 4), -EIO);   /* too few */
	ck_assert_int_eq(iterate_with_count(a, 2), -EIO);   /* trailing */
	ck_assert_int_eq(iterate_with_count(a, 0), -EIO);
	ck_assert_int_eq(iterate_with_count(a, UINT32_MAX), -EIO);

	/* a count of 0 with no entries is fine, with one byte after it not */
	struct lsm_batch *b = new_batch();
	ck_assert_int_eq(batch_iterate(b, NULL, NULL), 0);
	ck_assert_int_eq(buf_append_byte(&b->rep, 0), 0);
	ck_assert_int_eq(batch_iterate(b, NULL, NULL), -EIO);
	lsm_batch_free(b);
	lsm_batch_free(a);
}
END_TEST

START_TEST(test_bad_entries)
{
	struct lsm_batch *a = sample_batch(), *b = new_batch();
	/* unknown entry types */
	static const unsigned char types[] = { 2, 3, 0x7f, 0x80, 0xff };
	for (size_t i = 0; i < sizeof types; i++) {
		ck_assert_int_eq(batch_set_rep(b, buf_slice(&a->rep)), 0);
		b->rep.data[BATCH_HEADER_LEN + 11] = (char)types[i];
		struct seen s = { 0 };
		ck_assert_int_eq(batch_iterate(b, record, &s), -EIO);
		ck_assert_int_eq(s.n, 1); /* the entry before it */
		seen_release(&s);
	}
	/* a key length running past the end */
	ck_assert_int_eq(batch_set_rep(b, buf_slice(&a->rep)), 0);
	b->rep.data[BATCH_HEADER_LEN + 1] = 100;
	ck_assert_int_eq(batch_iterate(b, NULL, NULL), -EIO);
	/* an overlong varint */
	lsm_batch_clear(b);
	encode_fixed32(b->rep.data + 8, 1);
	ck_assert_int_eq(buf_append(&b->rep, "\x01\xff\xff\xff\xff\xff\x01", 7),
			 0);
	ck_assert_int_eq(batch_iterate(b, NULL, NULL), -EIO);
	lsm_batch_free(a);
	lsm_batch_free(b);
}
END_TEST

START_TEST(test_sequence_overflow)
{
	struct lsm_batch *b = sample_batch();
	batch_set_sequence(b, SEQ_MAX - 2);
	ck_assert_int_eq(batch_iterate(b, NULL, NULL), 0);
	batch_set_sequence(b, SEQ_MAX - 1);
	ck_assert_int_eq(batch_iterate(b, NULL, NULL), -EIO);
	batch_set_sequence(b, UINT64_MAX);
	ck_assert_int_eq(batch_iterate(b, NULL, NULL), -EIO);
	lsm_batch_clear(b);
	batch_set_sequence(b, UINT64_MAX); /* no entries: nothing to number */
	ck_assert_int_eq(batch_iterate(b, NULL, NULL), 0);
	lsm_batch_free(b);
}
END_TEST

START_TEST(test_visit_stops)
{
	struct lsm_batch *b = sample_batch();
	struct seen s = { .stop_at = 2 };
	ck_assert_int_eq(batch_iterate(b, record, &s), 42);
	ck_assert_int_eq(s.n, 2);
	seen_release(&s);
	lsm_batch_free(b);
}
END_TEST

START_TEST(test_einval)
{
	struct lsm_batch *b = sample_batch();
	size_t size = batch_size(b);
	char c = 'x';
	/* lengths are checked before the bytes are touched */
	if (SIZE_MAX > UINT32_MAX) {
		size_t huge = (size_t)UINT32_MAX + 1;
		ck_assert_int_eq(lsm_batch_put(b, &c, huge, &c, 1), -EINVAL);
		ck_assert_int_eq(lsm_batch_put(b, &c, 1, &c, huge), -EINVAL);
		ck_assert_int_eq(lsm_batch_delete(b, &c, huge), -EINVAL);
	}
	/* a batch never outgrows one WAL record */
	ck_assert_int_eq(lsm_batch_put(b, &c, 1, &c, BATCH_MAX_SIZE), -EINVAL);
	ck_assert_int_eq(lsm_batch_delete(b, &c, BATCH_MAX_SIZE), -EINVAL);
	ck_assert_uint_eq(batch_size(b), size);
	ck_assert_uint_eq(lsm_batch_count(b), 3);

	/* the count cannot wrap, in put or in append */
	encode_fixed32(b->rep.data + 8, UINT32_MAX);
	ck_assert_int_eq(lsm_batch_put(b, "a", 1, "b", 1), -EINVAL);
	ck_assert_int_eq(lsm_batch_delete(b, "a", 1), -EINVAL);
	struct lsm_batch *one = new_batch();
	ck_assert_int_eq(lsm_batch_delete(one, "a", 1), 0);
	ck_assert_int_eq(batch_append(b, one), -EINVAL);
	ck_assert_int_eq(batch_append(one, b), -EINVAL);
	ck_assert_uint_eq(batch_size(b), size);
	ck_assert_uint_eq(lsm_batch_count(one), 1);
	lsm_batch_free(one);
	lsm_batch_free(b);
}
END_TEST

static Suite *batch_suite(void)
{
	Suite *s = suite_create("batch");
	TCase *tc = tcase_create("batch");
	tcase_add_test(tc, test_new_empty);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_set_rep);
	tcase_add_test(tc, test_truncated_rep);
	tcase_add_test(tc, test_count_mismatch);
	tcase_add_test(tc, test_bad_entries);
	tcase_add_test(tc, test_sequence_overflow);
	tcase_add_test(tc, test_visit_stops);
	tcase_add_test(tc, test_einval);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run("check_batch", batch_suite());
}
