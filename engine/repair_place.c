/*
 * repair_place.c - step 4 of lsm_repair(): a level for every table, such
 * that a lookup reads, of two tables with overlapping key ranges, the one
 * with the newer entries first; tables that break that are merged into a
 * new run, placed as deep as it fits. repair.c explains why this is right
 * and why it ends.
 */
#include "config.h"
#include "repair_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "buf.h"
#include "env.h"
#include "iterator.h"
#include "sst_format.h"
#include "table_cache.h"
#include "version.h"

/* runs merged at once: bounds the files a merge keeps open */
#define MERGE_MAX_RUNS 64

/* Where a table (or a run about to be written) sits, as lookups see it. */
struct span {
	struct slice lo, hi; /* user keys */
	uint64_t min_seq, max_seq, number;
	int level;
	bool hinted;
};

static struct span span_of(const struct rtable *t)
{
	return (struct span){
		.lo = ikey_user(buf_slice(&t->f->smallest)),
		.hi = ikey_user(buf_slice(&t->f->largest)),
		.min_seq = t->f->min_seq,
		.max_seq = t->f->max_seq,
		.number = t->f->number,
		.level = t->level,
		.hinted = t->hinted,
	};
}

/* Whether a lookup reads a before b (version_builder's L0 order). */
static bool read_before(const struct span *a, const struct span *b)
{
	if (a->level != b->level)
		return a->level < b->level;
	if (a->max_seq != b->max_seq)
		return a->max_seq > b->max_seq;
	return a->number > b->number;
}

/* Whether a, read before b, holds the newer entry of every shared key. */
static bool ordered(const struct span *a, const struct span *b)
{
	if (a->min_seq > b->max_seq)
		return true;
	return a->hinted && b->hinted &&
	       (a->level < b->level || (a->level == b->level && a->level > 0));
}

/* Whether a and b may stay where they are. */
static bool compatible(const struct span *a, const struct span *b)
{
	if (slice_cmp(a->hi, b->lo) < 0 || slice_cmp(b->hi, a->lo) < 0)
		return true;
	if (a->level == b->level && a->level > 0)
		return a->hinted && b->hinted; /* only a shared boundary key */
	return read_before(a, b) ? ordered(a, b) : ordered(b, a);
}

/* Adds every live table of run to the set. */
static void set_add_run(struct repair *r, bool *set, uint64_t run)
{
	for (size_t i = 0; i < r->nt; i++)
		if (r->t[i].live && r->t[i].run == run)
			set[i] = true;
}

/*
 * Grows the set (tables in conflict) until the run that merging it would
 * make, put in L0, fits with every table outside it; so one merge settles
 * a whole cluster instead of one neighbour per round.
 */
static void close_set(struct repair *r, bool *set)
{
	bool changed = true;
	while (changed) {
		struct span m = { .level = 0,
				  .hinted = false,
				  .min_seq = UINT64_MAX,
				  .number = r->next_number };
		bool first = true;
		for (size_t i = 0; i < r->nt; i++) {
			if (!set[i])
				continue;
			struct span t = span_of(&r->t[i]);
			if (first || slice_cmp(t.lo, m.lo) < 0)
				m.lo = t.lo;
			if (first || slice_cmp(t.hi, m.hi) > 0)
				m.hi = t.hi;
			if (t.min_seq < m.min_seq)
				m.min_seq = t.min_seq;
			if (t.max_seq > m.max_seq)
				m.max_seq = t.max_seq;
			first = false;
		}
		changed = false;
		for (size_t i = 0; i < r->nt; i++) {
			if (set[i] || !r->t[i].live)
				continue;
			struct span t = span_of(&r->t[i]);
			if (!compatible(&m, &t)) {
				set_add_run(r, set, r->t[i].run);
				changed = true;
			}
		}
	}
}

static int cmp_smallest(const void *pa, const void *pb)
{
	const struct file_meta *a = *(struct file_meta *const *)pa;
	const struct file_meta *b = *(struct file_meta *const *)pb;
	return ikey_cmp(buf_slice(&a->smallest), buf_slice(&b->smallest));
}

/* One child iterator over the set's tables that belong together: a level
 * of hinted tables, or one run. Returns 0 or -errno. */
static int child_iter(struct repair *r, struct table_cache *tc, const bool *set,
		      bool *taken, size_t first, struct file_meta **files,
		      struct iter **out)
{
	const struct rtable *f0 = &r->t[first];
	bool by_level = f0->hinted && f0->level > 0;
	int m = 0;
	for (size_t i = first; i < r->nt; i++) {
		const struct rtable *t = &r->t[i];
		if (!set[i] || taken[i])
			continue;
		if (by_level ? t->hinted && t->level == f0->level
			     : !(t->hinted && t->level > 0) &&
				       t->run == f0->run) {
			files[m++] = t->f;
			taken[i] = true;
		}
	}
	qsort(files, (size_t)m, sizeof *files, cmp_smallest);
	return m == 1 ? table_cache_iter(tc, files[0]->number, out)
		      : level_iter_new(tc, files, m, out);
}

/* The deepest level where the new run fits (0 when none does). */
static void place_run(struct repair *r, uint64_t run)
{
	for (int level = LSM_NUM_LEVELS - 1; level > 0; level--) {
		bool ok = true;
		for (size_t i = 0; i < r->nt && ok; i++) {
			if (!r->t[i].live || r->t[i].run != run)
				continue;
			struct span o = span_of(&r->t[i]);
			o.level = level;
			for (size_t j = 0; j < r->nt && ok; j++) {
				if (!r->t[j].live || r->t[j].run == run)
					continue;
				struct span t = span_of(&r->t[j]);
				ok = compatible(&o, &t);
			}
		}
		if (!ok)
			continue;
		for (size_t i = 0; i < r->nt; i++)
			if (r->t[i].live && r->t[i].run == run)
				r->t[i].level = level;
		return;
	}
}

/*
 * Merges the tables of the set (at most MERGE_MAX_RUNS child iterators;
 * the rest wait for the next round) into one new run, placed as deep as
 * it fits. Originals merged away move to lost/ later.
 */
static int merge_set(struct repair *r, struct table_cache *tc, bool *set)
{
	struct iter **children = calloc(MERGE_MAX_RUNS, sizeof *children);
	struct file_meta **files = malloc((r->nt + 1) * sizeof *files);
	bool *taken = calloc(r->nt + 1, sizeof *taken);
	struct iter *it = NULL;
	int rc = children && files && taken ? 0 : -ENOMEM, n = 0, in = 0;
	int out = 0;
	uint64_t run = r->next_run; /* the one repair_write_tables() takes */
	for (size_t i = 0; i < r->nt && !rc && n < MERGE_MAX_RUNS; i++)
		if (set[i] && !taken[i])
			rc = child_iter(r, tc, set, taken, i, files,
					&children[n++]);
	if (rc)
		n--; /* the failed slot holds nothing */
	if (!rc) {
		/* the merging iterator owns the children now, or freed them */
		if (!(it = merge_iter_new(children, n)))
			rc = -ENOMEM;
		n = 0;
	}
	for (int k = 0; k < n; k++)
		iter_free(children[k]);
	free(children);
	free(files);
	if (!rc)
		rc = repair_write_tables(r, it, SST_REASON_COMPACTION, true, 0,
					 &out);
	iter_free(it);
	for (size_t i = 0; i < r->nt && !rc; i++) {
		struct rtable *t = &r->t[i];
		if (i >= r->nt - (size_t)out || !taken[i])
			continue;
		char name[32], path[FILENAME_MAX_LEN];
		t->live = false;
		in++;
		table_cache_evict(tc, t->f->number);
		snprintf(name, sizeof name, "%06" PRIu64 ".sst", t->f->number);
		if (!t->created) {
			r->kept--;
			rc = repair_move_later(r, name);
		} else {
			/* our own intermediate: its entries are in the
			 * merge output, its sources in lost/ */
			snprintf(path, sizeof path, "%s/%s", r->dir, name);
			r->env->unlink(r->env, path);
		}
	}
	free(taken);
	if (rc)
		return rc;
	place_run(r, run);
	r->merged_in += in;
	r->merged_out += out;
	repair_say(r, "merged %d tables whose order was unknown into %d", in,
		   out);
	return 0;
}

/* One round: finds a pair of tables a lookup could read in the wrong
 * order and merges its closure. *merged says whether it found one. */
static int place_round(struct repair *r, struct table_cache *tc, bool *merged)
{
	size_t n = r->nt;
	*merged = false;
	for (size_t i = 0; i < n; i++) {
		if (!r->t[i].live)
			continue;
		struct span a = span_of(&r->t[i]);
		for (size_t j = i + 1; j < n; j++) {
			if (!r->t[j].live || r->t[j].run == r->t[i].run)
				continue;
			struct span b = span_of(&r->t[j]);
			if (compatible(&a, &b))
				continue;
			bool *set = calloc(n + 1, sizeof *set);
			if (!set)
				return -ENOMEM;
			set_add_run(r, set, r->t[i].run);
			set_add_run(r, set, r->t[j].run);
			close_set(r, set);
			int rc = merge_set(r, tc, set);
			free(set);
			*merged = true;
			return rc;
		}
	}
	return 0;
}

int repair_place(struct repair *r)
{
	struct table_cache *tc;
	int rc = table_cache_new(r->env, r->dir, 64, NULL, &tc);
	bool merged = true;
	while (!rc && merged)
		rc = place_round(r, tc, &merged);
	table_cache_free(tc);
	return rc;
}
