/*
 * check_db_iter.c - iterators and snapshots of the whole store, checked
 * against an in-memory model.
 *
 * Thousands of random puts, deletes, overwrites and batches over a small key
 * space (so versions shadow each other in the memtable, in L0 and in deeper
 * levels), interleaved with lsm_flush(), lsm_compact() and reopens at random
 * points, with fixed seeds. After each phase the store must equal the
 * model: forward and backward full scans, random seeks followed by mixed
 * next/prev steps, and point reads. Snapshots and long-lived iterators taken
 * along the way must keep showing exactly the state they started with.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm.h"
#include "testutil.h"

/* ---- a deterministic generator (tu_rnd: xorshift64*) ---- */

static uint32_t rnd_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(tu_rnd(s) % n);
}

/* ---- the model: a sorted key space and the value of each key ---- */

struct entry {
	bool present;
	char *val;
	size_t vlen;
};

struct model {
	size_t n;
	char **keys; /* sorted, distinct */
	size_t *klens;
	struct entry *e; /* e[i] is the state of keys[i] */
};

static const struct model *sort_model;

static int idx_cmp(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	return tu_key_cmp(sort_model->keys[i], sort_model->klens[i],
			  sort_model->keys[j], sort_model->klens[j]);
}

/*
 * Random keys of 0..10 bytes over a small alphabet that includes 0x00 and
 * 0xff, so that keys are prefixes of each other, the empty key exists, and
 * byte order must be unsigned.
 */
static void model_init(struct model *m, size_t want, uint64_t *seed)
{
	static const char alpha[] = { 'a', 'b',  'c',        'm',
				      'z', '\0', (char)0xff, '/' };
	char **keys = calloc(want + 1, sizeof *keys);
	size_t *klens = calloc(want + 1, sizeof *klens);
	size_t n = 0;
	ck_assert(keys && klens);
	keys[n] = strdup("");
	klens[n++] = 0;
	while (n < want) {
		char k[16];
		size_t len = 1 + rnd_below(seed, 10);
		for (size_t i = 0; i < len; i++)
			k[i] = alpha[rnd_below(seed, sizeof alpha)];
		bool dup = false;
		for (size_t i = 0; i < n && !dup; i++)
			dup = !tu_key_cmp(keys[i], klens[i], k, len);
		if (dup)
			continue;
		keys[n] = malloc(len);
		memcpy(keys[n], k, len);
		klens[n++] = len;
	}
	/* sort by key */
	struct model tmp = { n, keys, klens, NULL };
	size_t *order = malloc(n * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	sort_model = &tmp;
	qsort(order, n, sizeof *order, idx_cmp);
	m->n = n;
	m->keys = malloc(n * sizeof *m->keys);
	m->klens = malloc(n * sizeof *m->klens);
	m->e = calloc(n, sizeof *m->e);
	for (size_t i = 0; i < n; i++) {
		m->keys[i] = keys[order[i]];
		m->klens[i] = klens[order[i]];
	}
	for (size_t i = 1; i < n; i++)
		ck_assert(tu_key_cmp(m->keys[i - 1], m->klens[i - 1],
				     m->keys[i], m->klens[i]) < 0);
	free(order);
	free(keys);
	free(klens);
}

static void model_set(struct model *m, size_t i, const char *val, size_t vlen)
{
	free(m->e[i].val);
	m->e[i].present = val != NULL;
	m->e[i].val = NULL;
	m->e[i].vlen = 0;
	if (val) {
		m->e[i].val = malloc(vlen ? vlen : 1);
		memcpy(m->e[i].val, val, vlen);
		m->e[i].vlen = vlen;
	}
}

/* A copy of the values (the keys are shared). */
static struct entry *model_save(const struct model *m)
{
	struct entry *e = calloc(m->n, sizeof *e);
	for (size_t i = 0; i < m->n; i++) {
		e[i] = m->e[i];
		if (e[i].present) {
			e[i].val = malloc(e[i].vlen ? e[i].vlen : 1);
			memcpy(e[i].val, m->e[i].val, e[i].vlen);
		}
	}
	return e;
}

static void entries_free(struct entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].val);
	free(e);
}

static void model_free(struct model *m)
{
	entries_free(m->e, m->n);
	for (size_t i = 0; i < m->n; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->klens);
}

/* ---- checking a view of the store against a model state ---- */

struct view {
	const struct model *m;
	const struct entry *e; /* the expected state of each key */
	const char *what;      /* for messages */
};

/* Index of the first present key >= k, or n. */
static size_t lower_bound(const struct view *v, const char *k, size_t klen)
{
	size_t i = 0;
	while (i < v->m->n &&
	       (!v->e[i].present ||
		tu_key_cmp(v->m->keys[i], v->m->klens[i], k, klen) < 0))
		i++;
	return i;
}

static size_t next_present(const struct view *v, size_t i)
{
	for (i++; i < v->m->n && !v->e[i].present; i++)
		;
	return i;
}

/* (size_t)-1 when there is none */
static size_t prev_present(const struct view *v, size_t i)
{
	while (i-- > 0)
		if (v->e[i].present)
			return i;
	return (size_t)-1;
}

/* Asserts that the iterator is at model position i (n or -1: invalid). */
static void expect_at(const struct view *v, struct lsm_iter *it, size_t i,
		      const char *step)
{
	if (i >= v->m->n) {
		ck_assert_msg(!lsm_iter_valid(it), "%s: %s: valid past the end",
			      v->what, step);
		ck_assert_int_eq(lsm_iter_status(it), 0);
		return;
	}
	ck_assert_msg(lsm_iter_valid(it), "%s: %s: invalid, want key #%zu",
		      v->what, step, i);
	size_t klen, vlen;
	const char *k = lsm_iter_key(it, &klen);
	const char *val = lsm_iter_value(it, &vlen);
	ck_assert_msg(!tu_key_cmp(k, klen, v->m->keys[i], v->m->klens[i]),
		      "%s: %s: wrong key (want #%zu)", v->what, step, i);
	ck_assert_msg(vlen == v->e[i].vlen && !memcmp(val, v->e[i].val, vlen),
		      "%s: %s: wrong value of key #%zu", v->what, step, i);
}

static void check_scans(const struct view *v, struct lsm_iter *it)
{
	size_t i = next_present(v, (size_t)-1);
	lsm_iter_seek_first(it);
	for (; i < v->m->n; i = next_present(v, i)) {
		expect_at(v, it, i, "forward scan");
		lsm_iter_next(it);
	}
	expect_at(v, it, v->m->n, "forward scan end");

	i = prev_present(v, v->m->n);
	lsm_iter_seek_last(it);
	for (; i != (size_t)-1; i = prev_present(v, i)) {
		expect_at(v, it, i, "backward scan");
		lsm_iter_prev(it);
	}
	expect_at(v, it, (size_t)-1, "backward scan end");
	ck_assert_int_eq(lsm_iter_status(it), 0);
}

static void check_seeks(const struct view *v, struct lsm_iter *it,
			uint64_t *seed, int nseeks)
{
	for (int s = 0; s < nseeks; s++) {
		/* a key of the model, or a key between them */
		char k[16];
		size_t klen;
		size_t pick = rnd_below(seed, (uint32_t)v->m->n);
		klen = v->m->klens[pick];
		memcpy(k, v->m->keys[pick], klen);
		if (rnd_below(seed, 3) == 0 && klen < sizeof k)
			k[klen++] = (char)rnd_below(seed, 256);
		size_t i = lower_bound(v, k, klen);
		lsm_iter_seek(it, k, klen);
		expect_at(v, it, i, "seek");
		for (int step = 0; step < 10 && i < v->m->n; step++) {
			if (rnd_below(seed, 2)) {
				lsm_iter_next(it);
				i = next_present(v, i);
				expect_at(v, it, i, "next after seek");
			} else {
				lsm_iter_prev(it);
				i = prev_present(v, i);
				expect_at(v, it, i, "prev after seek");
			}
		}
	}
	/* the ends: prev from the first and next from the last fall off */
	size_t first = next_present(v, (size_t)-1);
	lsm_iter_seek_first(it);
	expect_at(v, it, first, "seek_first");
	if (first < v->m->n) {
		lsm_iter_prev(it);
		expect_at(v, it, (size_t)-1, "prev from first");
	}
	size_t last = prev_present(v, v->m->n);
	lsm_iter_seek_last(it);
	expect_at(v, it, last, "seek_last");
	if (last != (size_t)-1) {
		lsm_iter_next(it);
		expect_at(v, it, v->m->n, "next from last");
	}
}

static void check_gets(const struct view *v, struct lsm_db *db,
		       const struct lsm_snapshot *snap)
{
	for (size_t i = 0; i < v->m->n; i++) {
		char *val = NULL;
		size_t vlen = 0;
		int rc = lsm_get(db, snap, v->m->keys[i], v->m->klens[i], &val,
				 &vlen);
		if (!v->e[i].present) {
			ck_assert_msg(rc == -ENOENT,
				      "%s: get key #%zu: want absent, got %d",
				      v->what, i, rc);
			continue;
		}
		ck_assert_msg(rc == 0, "%s: get key #%zu: %s", v->what, i,
			      lsm_strerror(rc));
		ck_assert_msg(vlen == v->e[i].vlen &&
				      !memcmp(val, v->e[i].val, vlen),
			      "%s: get key #%zu: wrong value", v->what, i);
		free(val);
	}
}

/* Everything at once: gets, scans and seeks through snap (NULL: latest). */
static void check_view(const struct view *v, struct lsm_db *db,
		       const struct lsm_snapshot *snap, uint64_t *seed)
{
	struct lsm_iter *it;
	check_gets(v, db, snap);
	ck_assert_int_eq(lsm_iter_new(db, snap, &it), 0);
	check_scans(v, it);
	check_seeks(v, it, seed, 150);
	lsm_iter_free(it);
}

/* ---- the random workload ---- */

struct run {
	struct lsm_db *db;
	struct lsm_options opt;
	struct model m;
	uint64_t seed;
	int flushes, compactions, reopens;
};

static size_t random_value(uint64_t *seed, char *buf, size_t cap)
{
	size_t len = rnd_below(seed, 40) == 0 ? 1000 + rnd_below(seed, 4000)
					      : rnd_below(seed, 120);
	if (len > cap)
		len = cap;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('A' + rnd_below(seed, 4)); /* compressible */
	if (len && rnd_below(seed, 4) == 0)
		buf[0] = '\0';
	return len;
}

static void do_op(struct run *r)
{
	static char val[8192];
	uint32_t dice = rnd_below(&r->seed, 100);
	size_t i = rnd_below(&r->seed, (uint32_t)r->m.n);
	if (dice < 55) {
		size_t vlen = random_value(&r->seed, val, sizeof val);
		ck_assert_int_eq(
			lsm_put(r->db, r->m.keys[i], r->m.klens[i], val, vlen),
			0);
		model_set(&r->m, i, val, vlen);
	} else if (dice < 85) {
		ck_assert_int_eq(lsm_delete(r->db, r->m.keys[i], r->m.klens[i]),
				 0);
		model_set(&r->m, i, NULL, 0);
	} else {
		/* a batch; ops on one key in it apply in order */
		struct lsm_batch *b;
		ck_assert_int_eq(lsm_batch_new(&b), 0);
		int nops = 2 + (int)rnd_below(&r->seed, 12);
		struct model *m = &r->m;
		for (int k = 0; k < nops; k++) {
			i = rnd_below(&r->seed, (uint32_t)m->n);
			if (rnd_below(&r->seed, 3)) {
				size_t vlen = random_value(&r->seed, val, 300);
				ck_assert_int_eq(lsm_batch_put(b, m->keys[i],
							       m->klens[i], val,
							       vlen),
						 0);
				model_set(m, i, val, vlen);
			} else {
				ck_assert_int_eq(lsm_batch_delete(b, m->keys[i],
								  m->klens[i]),
						 0);
				model_set(m, i, NULL, 0);
			}
		}
		ck_assert_int_eq(lsm_write(r->db, b, 0), 0);
		lsm_batch_free(b);
	}

	dice = rnd_below(&r->seed, 1000);
	if (dice < 5) {
		ck_assert_int_eq(lsm_flush(r->db), 0);
		r->flushes++;
	} else if (dice < 7) {
		ck_assert_int_eq(lsm_compact(r->db, NULL, NULL), 0);
		r->compactions++;
	}
}

static void reopen(struct run *r)
{
	tu_reopen_ok(&r->db, &r->opt);
	r->reopens++;
}

/* Small tables and levels, so that a few thousand ops reach L2. */
static void run_opts(struct lsm_options *o, int variant)
{
	lsm_options_init(o);
	o->write_buffer_size = TEST_WRITE_BUFFER / 4;
	o->l0_compaction_trigger = 2;
	o->l0_slowdown_trigger = 6;
	o->l0_stop_trigger = 10;
	o->l1_target_size = 32 << 10;
	o->level_size_ratio = 3;
	o->target_file_size = 8 << 10;
	o->block_cache_size = 64 << 10;
	switch (variant % 3) {
	case 0:
		o->block_size = 512;
		o->compression = LSM_COMPRESSION_ZSTD;
		break;
	case 1:
		o->block_size = 256;
		o->compression = LSM_COMPRESSION_NONE;
		o->bloom_bits_per_key = 0;
		break;
	default:
		o->compression = LSM_COMPRESSION_ZSTD;
		o->compression_level = 1;
		break;
	}
}

#define OPS 5000
#define PHASE 500

static void model_run(uint64_t seed)
{
	struct run r = { .seed = seed * 0x9E3779B97F4A7C15ull + 7 };
	run_opts(&r.opt, (int)seed);
	model_init(&r.m, 300, &r.seed);
	r.db = tu_open_ok(&r.opt);

	struct view latest = { &r.m, NULL, "latest" };
	/* a snapshot and a plain iterator kept across later phases */
	struct lsm_snapshot *snap = NULL;
	struct entry *snap_e = NULL, *iter_e = NULL;
	struct lsm_iter *old_it = NULL;
	int snap_phase = -1;

	for (int op = 1; op <= OPS; op++) {
		do_op(&r);
		if (op % PHASE)
			continue;
		int phase = op / PHASE;
		latest.e = r.m.e;
		check_view(&latest, r.db, NULL, &r.seed);

		if (snap) {
			struct view sv = { &r.m, snap_e, "snapshot" };
			check_view(&sv, r.db, snap, &r.seed);
			struct view iv = { &r.m, iter_e, "old iterator" };
			check_scans(&iv, old_it);
			check_seeks(&iv, old_it, &r.seed, 50);
		}
		/* snapshots live for two phases, across flushes and
		 * compactions (which must keep what they need) */
		if (snap && phase - snap_phase >= 2) {
			lsm_snapshot_free(r.db, snap);
			lsm_iter_free(old_it);
			entries_free(snap_e, r.m.n);
			entries_free(iter_e, r.m.n);
			snap = NULL;
			old_it = NULL;
			snap_e = iter_e = NULL;
		}
		if (phase % 4 == 3 && !snap) {
			/* a reopen (snapshots do not survive one) */
			reopen(&r);
			check_view(&latest, r.db, NULL, &r.seed);
		}
		if (!snap && phase % 4 == 1) {
			ck_assert_int_eq(lsm_snapshot_new(r.db, &snap), 0);
			struct lsm_stats st;
			ck_assert_int_eq(lsm_stats_get(r.db, &st), 0);
			ck_assert_uint_eq(lsm_snapshot_sequence(snap),
					  st.last_sequence);
			lsm_stats_release(&st);
			ck_assert_int_eq(lsm_iter_new(r.db, NULL, &old_it), 0);
			snap_e = model_save(&r.m);
			iter_e = model_save(&r.m);
			snap_phase = phase;
		}
	}

	/* finally: everything compacted into one level, then reopened */
	if (snap) {
		ck_assert_int_eq(lsm_compact(r.db, NULL, NULL), 0);
		struct view sv = { &r.m, snap_e, "snapshot after compact" };
		check_view(&sv, r.db, snap, &r.seed);
		struct view iv = { &r.m, iter_e, "old iterator after compact" };
		check_scans(&iv, old_it);
		lsm_snapshot_free(r.db, snap);
		lsm_iter_free(old_it);
		entries_free(snap_e, r.m.n);
		entries_free(iter_e, r.m.n);
	}
	ck_assert_int_eq(lsm_compact(r.db, NULL, NULL), 0);
	latest.e = r.m.e;
	check_view(&latest, r.db, NULL, &r.seed);
	reopen(&r);
	check_view(&latest, r.db, NULL, &r.seed);

	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(r.db, &st), 0);
	int deepest = 0;
	for (int l = 0; l < LSM_NUM_LEVELS; l++)
		if (st.levels[l].files)
			deepest = l;
	printf("iterator model seed %llu: %d ops, %d lsm_flush, %d "
	       "lsm_compact, %d reopens, deepest level L%d\n",
	       (unsigned long long)seed, OPS, r.flushes, r.compactions,
	       r.reopens, deepest);
	lsm_stats_release(&st);
	ck_assert_int_eq(lsm_close(r.db), 0);
	model_free(&r.m);
}

START_TEST(test_model_seed)
{
	model_run((uint64_t)_i + 1);
}
END_TEST

/* ---- smaller cases ---- */

START_TEST(test_empty_store)
{
	struct lsm_db *db;
	struct lsm_iter *it;
	db = tu_open_ok(NULL);
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
		lsm_iter_seek_first(it);
		ck_assert(!lsm_iter_valid(it));
		lsm_iter_seek_last(it);
		ck_assert(!lsm_iter_valid(it));
		lsm_iter_seek(it, "x", 1);
		ck_assert(!lsm_iter_valid(it));
		lsm_iter_seek(it, "", 0);
		ck_assert(!lsm_iter_valid(it));
		ck_assert_int_eq(lsm_iter_status(it), 0);
		lsm_iter_free(it);
		/* round 1: only tombstones; round 2: flushed tombstones */
		ck_assert_int_eq(lsm_put(db, "a", 1, "1", 1), 0);
		ck_assert_int_eq(lsm_delete(db, "a", 1), 0);
		ck_assert_int_eq(lsm_delete(db, "b", 1), 0);
		if (round == 1)
			ck_assert_int_eq(lsm_flush(db), 0);
	}
	lsm_iter_free(NULL);
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

/* Many versions of one key in every layer at once: memtable, frozen
 * memtable, several L0 tables and a deeper level. */
START_TEST(test_versions_across_layers)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.l0_compaction_trigger = 8;
	o.l0_slowdown_trigger = 20;
	o.l0_stop_trigger = 30;
	struct lsm_db *db;
	struct lsm_snapshot *snaps[6];
	char val[16];
	db = tu_open_ok(&o);
	for (int v = 0; v < 6; v++) {
		snprintf(val, sizeof val, "v%d", v);
		ck_assert_int_eq(lsm_put(db, "key", 3, val, strlen(val)), 0);
		ck_assert_int_eq(lsm_put(db, "other", 5, val, strlen(val)), 0);
		if (v == 2)
			ck_assert_int_eq(lsm_delete(db, "other", 5), 0);
		ck_assert_int_eq(lsm_snapshot_new(db, &snaps[v]), 0);
		if (v == 0)
			ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
		else if (v < 5)
			ck_assert_int_eq(lsm_flush(db), 0);
	}
	for (int v = 0; v < 6; v++) {
		char *got;
		size_t len;
		snprintf(val, sizeof val, "v%d", v);
		ck_assert_int_eq(lsm_get(db, snaps[v], "key", 3, &got, &len),
				 0);
		ck_assert_str_eq(got, val);
		free(got);
		int rc = lsm_get(db, snaps[v], "other", 5, &got, &len);
		if (v == 2) {
			ck_assert_int_eq(rc, -ENOENT);
		} else {
			ck_assert_int_eq(rc, 0);
			ck_assert_str_eq(got, val);
			free(got);
		}
		struct lsm_iter *it;
		ck_assert_int_eq(lsm_iter_new(db, snaps[v], &it), 0);
		lsm_iter_seek_first(it);
		ck_assert(lsm_iter_valid(it));
		size_t klen, vlen;
		const char *k = lsm_iter_key(it, &klen);
		ck_assert_uint_eq(klen, 3);
		ck_assert_mem_eq(k, "key", 3);
		const char *vv = lsm_iter_value(it, &vlen);
		ck_assert_uint_eq(vlen, strlen(val));
		ck_assert_mem_eq(vv, val, vlen);
		lsm_iter_next(it);
		ck_assert_int_eq(lsm_iter_valid(it), v != 2);
		lsm_iter_seek_last(it);
		k = lsm_iter_key(it, &klen);
		ck_assert_mem_eq(k, v == 2 ? "key" : "other", klen);
		lsm_iter_free(it);
	}
	/* snapshots are ordered by sequence */
	for (int v = 1; v < 6; v++)
		ck_assert_uint_gt(lsm_snapshot_sequence(snaps[v]),
				  lsm_snapshot_sequence(snaps[v - 1]));
	/* compaction keeps every version a snapshot needs */
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	for (int v = 0; v < 6; v++) {
		char *got;
		size_t len;
		snprintf(val, sizeof val, "v%d", v);
		ck_assert_int_eq(lsm_get(db, snaps[v], "key", 3, &got, &len),
				 0);
		ck_assert_str_eq(got, val);
		free(got);
		lsm_snapshot_free(db, snaps[v]);
	}
	lsm_snapshot_free(db, NULL);
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

static Suite *iter_suite(void)
{
	Suite *s = suite_create("db_iter");
	TCase *tc = tu_tcase(s, "model", 120, NULL, NULL);
	tcase_add_loop_test(tc, test_model_seed, 0, 3);

	tc = tu_tcase(s, "cases", 30, NULL, NULL);
	tcase_add_test(tc, test_empty_store);
	tcase_add_test(tc, test_versions_across_layers);
	return s;
}

int main(void)
{
	return tu_run("check_db_iter", iter_suite());
}
