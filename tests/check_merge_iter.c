/* check_merge_iter.c - tests for engine/merge_iter.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dbformat.h"
#include "iterator.h"
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

/* A model entry; the model is sorted by (ikey, child), the merge order. */
struct ment {
	struct buf ikey;
	char val[32];
	int child;
};

static int ment_cmp(const void *a, const void *b)
{
	const struct ment *x = a, *y = b;
	int c = ikey_cmp(buf_slice(&x->ikey), buf_slice(&y->ikey));
	return c ? c : x->child - y->child;
}

static void ment_set(struct ment *e, const char *ukey, uint64_t seq,
		     enum entry_type t, int child, const char *val)
{
	buf_clear(&e->ikey);
	ck_assert_int_eq(ikey_append(&e->ikey, ukey, strlen(ukey), seq, t), 0);
	snprintf(e->val, sizeof e->val, "%s", val);
	e->child = child;
}

static void expect_at(struct iter *it, const struct ment *model, int n, int pos)
{
	if (pos < 0 || pos >= n) {
		ck_assert(!iter_valid(it));
		return;
	}
	ck_assert_msg(iter_valid(it), "invalid, want model[%d]", pos);
	ck_assert(slice_eq(iter_key(it), buf_slice(&model[pos].ikey)));
	ck_assert_msg(slice_eq(iter_value(it), S(model[pos].val)),
		      "value '%.*s', want '%s'", (int)iter_value(it).len,
		      iter_value(it).data, model[pos].val);
}

/*
 * vec_iter: an iterator over a sorted array of model entries that, once it
 * is positioned at index fail_at, turns invalid for good with status err,
 * like a table whose block read failed.
 */
struct vec_iter {
	struct iter base;
	const struct ment *e;
	int n;
	int pos;
	int fail_at; /* -1: never */
	int err;
	int status;
};

#define VEC(it) ((struct vec_iter *)(it))

static void vec_settle(struct vec_iter *v)
{
	if (v->pos == v->fail_at)
		v->status = v->err;
	if (v->status)
		v->pos = -1;
	if (v->pos >= v->n)
		v->pos = -1;
}

static bool vec_valid(struct iter *it) { return VEC(it)->pos >= 0; }

static void vec_seek_first(struct iter *it)
{
	VEC(it)->pos = 0;
	vec_settle(VEC(it));
}

static void vec_seek_last(struct iter *it)
{
	VEC(it)->pos = VEC(it)->n - 1;
	vec_settle(VEC(it));
}

static void vec_seek(struct iter *it, struct slice t)
{
	struct vec_iter *v = VEC(it);
	v->pos = 0;
	while (v->pos < v->n && ikey_cmp(buf_slice(&v->e[v->pos].ikey), t) < 0)
		v->pos++;
	vec_settle(v);
}

static void vec_next(struct iter *it)
{
	VEC(it)->pos++;
	vec_settle(VEC(it));
}

static void vec_prev(struct iter *it)
{
	VEC(it)->pos--;
	vec_settle(VEC(it));
}

static struct slice vec_key(struct iter *it)
{
	return buf_slice(&VEC(it)->e[VEC(it)->pos].ikey);
}

static struct slice vec_value(struct iter *it)
{
	return S(VEC(it)->e[VEC(it)->pos].val);
}

static int vec_status(struct iter *it) { return VEC(it)->status; }
static void vec_free(struct iter *it) { free(it); }

static const struct iter_ops vec_ops = {
	.valid = vec_valid,
	.seek_first = vec_seek_first,
	.seek_last = vec_seek_last,
	.seek = vec_seek,
	.next = vec_next,
	.prev = vec_prev,
	.key = vec_key,
	.value = vec_value,
	.status = vec_status,
	.free = vec_free,
};

/* fail_at: the index where it fails with err, or -1 */
static struct iter *vec_new(const struct ment *e, int n, int fail_at, int err)
{
	struct vec_iter *v = calloc(1, sizeof *v);
	ck_assert_ptr_nonnull(v);
	v->base.ops = &vec_ops;
	v->e = e;
	v->n = n;
	v->pos = -1;
	v->fail_at = fail_at;
	v->err = err;
	return &v->base;
}

/* Random walk: every step checks the merged position against the model. */
static void random_walk(struct iter *it, const struct ment *model, int n,
			const char *(*ukey_of)(uint64_t), int steps, uint64_t seed)
{
	int pos = -1;
	struct buf target = BUF_INIT;
	for (int s = 0; s < steps; s++) {
		uint64_t r = rng_next(&seed) % 10;
		if (r == 0) {
			iter_seek_first(it);
			pos = 0;
		} else if (r == 1) {
			iter_seek_last(it);
			pos = n - 1;
		} else if (r == 2 || pos < 0 || pos >= n) {
			/* half the time an exact key, else a random one */
			if (n && rng_next(&seed) % 2) {
				const struct ment *e = &model[rng_next(&seed) % (uint64_t)n];
				buf_set(&target, e->ikey.data, e->ikey.len);
			} else {
				const char *u = ukey_of(rng_next(&seed));
				buf_clear(&target);
				ck_assert_int_eq(ikey_append(&target, u, strlen(u),
							     rng_next(&seed) % 5000,
							     TYPE_SEEK), 0);
			}
			iter_seek(it, buf_slice(&target));
			pos = 0;
			while (pos < n && ikey_cmp(buf_slice(&model[pos].ikey),
						   buf_slice(&target)) < 0)
				pos++;
		} else if (r < 6) {
			iter_next(it);
			pos++;
		} else {
			iter_prev(it);
			pos--;
		}
		expect_at(it, model, n, pos);
	}
	buf_release(&target);
}

static const char *ukey_of(uint64_t r)
{
	static char k[16];
	snprintf(k, sizeof k, "user%03d", (int)(r % 300));
	return k;
}

START_TEST(test_memtables_against_model)
{
	enum { KIDS = 4, N = 4000 };
	struct memtable *mt[KIDS];
	for (int i = 0; i < KIDS; i++)
		ck_assert_int_eq(memtable_new(NULL, &mt[i]), 0);
	struct ment *model = calloc(N, sizeof *model);
	ck_assert_ptr_nonnull(model);
	uint64_t rng = 11;
	int n = 0;
	while (n < N) {
		struct ment *e = &model[n];
		int child = (int)(rng_next(&rng) % KIDS);
		char val[32];
		snprintf(val, sizeof val, "v%d", n);
		if (n && rng_next(&rng) % 10 == 0) {
			/* the very same internal key in another child */
			const struct ment *o = &model[rng_next(&rng) % (uint64_t)n];
			buf_set(&e->ikey, o->ikey.data, o->ikey.len);
			snprintf(e->val, sizeof e->val, "%s", val);
			e->child = child;
		} else {
			enum entry_type t = rng_next(&rng) % 5 ? TYPE_VALUE : TYPE_DELETE;
			ment_set(e, ukey_of(rng_next(&rng)), (uint64_t)n + 1, t,
				 child, val);
		}
		struct slice ik = buf_slice(&e->ikey);
		int rc = memtable_add(mt[child], ikey_seq(ik), ikey_type(ik),
				      ikey_user(ik), S(e->val));
		if (rc == -EEXIST)
			continue; /* copied into the child it came from */
		ck_assert_int_eq(rc, 0);
		n++;
	}
	qsort(model, N, sizeof *model, ment_cmp);

	struct iter *kids[KIDS];
	for (int i = 0; i < KIDS; i++) {
		ck_assert_int_eq(memtable_iter_new(mt[i], &kids[i]), 0);
		memtable_unref(mt[i]); /* the iterators keep them alive */
	}
	struct iter *it = merge_iter_new(kids, KIDS);
	ck_assert_ptr_nonnull(it);
	ck_assert(!iter_valid(it));

	int pos = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		expect_at(it, model, N, pos++);
	ck_assert_int_eq(pos, N);
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		expect_at(it, model, N, --pos);
	ck_assert_int_eq(pos, 0);

	random_walk(it, model, N, ukey_of, 30000, 42);
	ck_assert_int_eq(iter_status(it), 0);
	iter_free(it);
	for (int i = 0; i < N; i++)
		buf_release(&model[i].ikey);
	free(model);
}
END_TEST

/* Children that hold the same internal keys: lower index first, in both
 * directions and across switches at a tie. */
START_TEST(test_ties)
{
	struct ment a[3] = { 0 }, b[2] = { 0 }, c[2] = { 0 };
	ment_set(&a[0], "k1", 5, TYPE_VALUE, 0, "a1");
	ment_set(&a[1], "k2", 5, TYPE_VALUE, 0, "a2");
	ment_set(&a[2], "k3", 5, TYPE_VALUE, 0, "a3");
	ment_set(&b[0], "k2", 5, TYPE_VALUE, 1, "b2");
	ment_set(&b[1], "k3", 5, TYPE_VALUE, 1, "b3");
	ment_set(&c[0], "k2", 5, TYPE_VALUE, 2, "c2");
	ment_set(&c[1], "k4", 5, TYPE_VALUE, 2, "c4");
	const char *order[] = { "a1", "a2", "b2", "c2", "a3", "b3", "c4" };
	enum { N = 7 };
	struct ment model[N] = { 0 };
	struct ment *all[] = { &a[0], &a[1], &b[0], &c[0], &a[2], &b[1], &c[1] };
	for (int i = 0; i < N; i++) {
		model[i] = *all[i];
		ck_assert_str_eq(model[i].val, order[i]);
	}

	struct iter *kids[] = { vec_new(a, 3, -1, 0), vec_new(b, 2, -1, 0), vec_new(c, 2, -1, 0) };
	struct iter *it = merge_iter_new(kids, 3);
	ck_assert_ptr_nonnull(it);
	int pos = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		expect_at(it, model, N, pos++);
	ck_assert_int_eq(pos, N);
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		expect_at(it, model, N, --pos);

	/* switch direction on each member of the k2 tie */
	for (int at = 1; at <= 3; at++) {
		iter_seek(it, buf_slice(&a[1].ikey));
		for (int i = 1; i < at; i++)
			iter_next(it);
		expect_at(it, model, N, at);
		iter_prev(it);
		expect_at(it, model, N, at - 1);
		iter_next(it);
		expect_at(it, model, N, at);
		iter_next(it);
		expect_at(it, model, N, at + 1);
		iter_prev(it);
		expect_at(it, model, N, at);
		iter_prev(it);
		expect_at(it, model, N, at - 1);
	}
	random_walk(it, model, N, ukey_of, 3000, 7);
	iter_free(it);
	for (int i = 0; i < 3; i++)
		buf_release(&a[i].ikey);
	for (int i = 0; i < 2; i++) {
		buf_release(&b[i].ikey);
		buf_release(&c[i].ikey);
	}
}
END_TEST

START_TEST(test_small_n_and_empty)
{
	struct iter *e = merge_iter_new(NULL, 0);
	ck_assert_ptr_nonnull(e);
	iter_seek_first(e);
	ck_assert(!iter_valid(e));
	iter_seek_last(e);
	iter_seek(e, S("whatever"));
	ck_assert(!iter_valid(e));
	ck_assert_int_eq(iter_status(e), 0);
	iter_free(e);

	e = iter_new_empty(-EIO);
	ck_assert_ptr_nonnull(e);
	iter_seek_first(e);
	ck_assert(!iter_valid(e));
	ck_assert_int_eq(iter_status(e), -EIO);
	iter_free(e);
	iter_free(NULL);

	struct ment m = { 0 };
	ment_set(&m, "k", 1, TYPE_VALUE, 0, "v");
	struct iter *one = vec_new(&m, 1, -1, 0);
	ck_assert_ptr_eq(merge_iter_new(&one, 1), one);
	iter_seek_first(one);
	expect_at(one, &m, 1, 0);
	iter_free(one);
	buf_release(&m.ikey);
}
END_TEST

/* A child that fails ends the merge: the merged iterator goes invalid and
 * status() reports the error, so entries the failed child would have
 * shadowed (an older value, a deleted key) never show up in its place. */
START_TEST(test_child_error)
{
	enum { N = 10 };
	struct ment good[N] = { 0 }, bad[N] = { 0 };
	for (int i = 0; i < N; i++) {
		char k[16], v[16];
		snprintf(k, sizeof k, "g%d", i);
		snprintf(v, sizeof v, "gv%d", i);
		ment_set(&good[i], k, 1, TYPE_VALUE, 0, v);
		snprintf(k, sizeof k, "b%d", i);
		snprintf(v, sizeof v, "bv%d", i);
		ment_set(&bad[i], k, 1, TYPE_VALUE, 1, v);
	}

	/* fails at once: nothing comes out, status is -EIO */
	struct iter *kids[] = { vec_new(good, N, -1, 0), vec_new(bad, N, 0, -EIO) };
	struct iter *it = merge_iter_new(kids, 2);
	ck_assert_int_eq(iter_status(it), 0);
	iter_seek_first(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), -EIO);
	iter_seek_last(it);
	ck_assert(!iter_valid(it));
	iter_free(it);

	/* fails at its fifth entry: b0..b3 come out, then the merge ends
	 * with -EIO instead of going on with the good child alone */
	kids[0] = vec_new(bad, N, 4, -EIO);
	kids[1] = vec_new(good, N, -1, 0);
	it = merge_iter_new(kids, 2);
	int pos = 0;
	iter_seek_first(it);
	for (; pos < 4; pos++, iter_next(it)) {
		ck_assert_int_eq(iter_status(it), 0);
		expect_at(it, bad, N, pos);
	}
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), -EIO);
	iter_free(it);

	/* several errors: the first child's in index order */
	struct iter *three[] = { vec_new(good, N, -1, 0),
				 vec_new(bad, N, 0, -ENOSPC),
				 vec_new(bad, N, 0, -EIO) };
	it = merge_iter_new(three, 3);
	iter_seek_first(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), -ENOSPC);
	iter_free(it);

	for (int i = 0; i < N; i++) {
		buf_release(&good[i].ikey);
		buf_release(&bad[i].ikey);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("merge_iter");
	TCase *tc = tcase_create("merge_iter");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_memtables_against_model);
	tcase_add_test(tc, test_ties);
	tcase_add_test(tc, test_small_n_and_empty);
	tcase_add_test(tc, test_child_error);
	suite_add_tcase(s, tc);

	return tu_run("check_merge_iter", s);
}
