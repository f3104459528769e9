/*
 * merge_iter.c - the merging iterator and the empty iterator; see
 * iterator.h.
 *
 * As in LevelDB's MergingIterator, in the forward direction every child is
 * positioned at its first entry that comes after the previous result, so
 * the current child is the smallest; in the reverse direction every
 * non-current child is at its last entry that comes before current, so the
 * current child is the largest. Switching direction re-seeks the other
 * children around key().
 *
 * Equal keys in different children form one order: lower child index first.
 * So among equals, forward picks the lowest index and reverse the highest,
 * and a direction switch keeps an equal key on the side of current that its
 * index puts it on (LevelDB skips every equal key, which loses entries when
 * children overlap exactly).
 */
#include "config.h"
#include "iterator.h"

#include <assert.h>
#include <stdlib.h>

#include "dbformat.h"

/* The empty iterator. */

struct empty_iter {
	struct iter base;
	int status;
};

static bool empty_valid(struct iter *it) { (void)it; return false; }
static void empty_pos(struct iter *it) { (void)it; }
static void empty_seek(struct iter *it, struct slice t) { (void)it; (void)t; }
static struct slice empty_kv(struct iter *it)
{
	(void)it;
	assert(!"key() or value() on an empty iterator");
	return slice_make(NULL, 0);
}
static int empty_status(struct iter *it)
{
	return ((struct empty_iter *)it)->status;
}
static void empty_free(struct iter *it) { free(it); }

static const struct iter_ops empty_iter_ops = {
	.valid = empty_valid,
	.seek_first = empty_pos,
	.seek_last = empty_pos,
	.seek = empty_seek,
	.next = empty_pos,
	.prev = empty_pos,
	.key = empty_kv,
	.value = empty_kv,
	.status = empty_status,
	.free = empty_free,
};

struct iter *iter_new_empty(int status)
{
	struct empty_iter *e = malloc(sizeof *e);
	if (!e)
		return NULL;
	e->base.ops = &empty_iter_ops;
	e->status = status;
	return &e->base;
}

/* The merging iterator. */

enum merge_dir { MERGE_FORWARD, MERGE_REVERSE };

struct merge_iter {
	struct iter base;
	int n;
	int cur; /* index of the child at the current entry; -1: not valid */
	enum merge_dir dir;
	struct iter *child[]; /* owned */
};

#define MERGE(it) ((struct merge_iter *)(it))

/*
 * A child that failed (a corrupt block, a read error) ends the merge: the
 * merged iterator becomes invalid and merge_status() reports the error.
 * Merging on without it would show older entries of the other children in
 * place of the ones it lost: a deleted key coming back, an old value for a
 * new one.
 */
static bool any_child_failed(struct merge_iter *m)
{
	for (int i = 0; i < m->n; i++)
		if (iter_status(m->child[i]))
			return true;
	return false;
}

static void find_smallest(struct merge_iter *m)
{
	int best = -1;
	if (any_child_failed(m)) {
		m->cur = -1;
		return;
	}
	for (int i = 0; i < m->n; i++) {
		if (iter_valid(m->child[i]) &&
		    (best < 0 || ikey_cmp(iter_key(m->child[i]),
					  iter_key(m->child[best])) < 0))
			best = i;
	}
	m->cur = best;
}

static void find_largest(struct merge_iter *m)
{
	int best = -1;
	if (any_child_failed(m)) {
		m->cur = -1;
		return;
	}
	for (int i = m->n - 1; i >= 0; i--) {
		if (iter_valid(m->child[i]) &&
		    (best < 0 || ikey_cmp(iter_key(m->child[i]),
					  iter_key(m->child[best])) > 0))
			best = i;
	}
	m->cur = best;
}

static bool merge_valid(struct iter *it)
{
	return MERGE(it)->cur >= 0;
}

static void merge_seek_first(struct iter *it)
{
	struct merge_iter *m = MERGE(it);
	for (int i = 0; i < m->n; i++)
		iter_seek_first(m->child[i]);
	m->dir = MERGE_FORWARD;
	find_smallest(m);
}

static void merge_seek_last(struct iter *it)
{
	struct merge_iter *m = MERGE(it);
	for (int i = 0; i < m->n; i++)
		iter_seek_last(m->child[i]);
	m->dir = MERGE_REVERSE;
	find_largest(m);
}

static void merge_seek(struct iter *it, struct slice target)
{
	struct merge_iter *m = MERGE(it);
	for (int i = 0; i < m->n; i++)
		iter_seek(m->child[i], target);
	m->dir = MERGE_FORWARD;
	find_smallest(m);
}

static void merge_next(struct iter *it)
{
	struct merge_iter *m = MERGE(it);
	assert(m->cur >= 0);
	if (m->dir != MERGE_FORWARD) {
		/* Move every other child to its first entry after key(): an
		 * equal key there comes after current only from a higher
		 * index. */
		struct slice k = iter_key(m->child[m->cur]);
		for (int i = 0; i < m->n; i++) {
			struct iter *c = m->child[i];
			if (i == m->cur)
				continue;
			iter_seek(c, k);
			if (i < m->cur && iter_valid(c) &&
			    ikey_cmp(iter_key(c), k) == 0)
				iter_next(c);
		}
		m->dir = MERGE_FORWARD;
	}
	iter_next(m->child[m->cur]);
	find_smallest(m);
}

static void merge_prev(struct iter *it)
{
	struct merge_iter *m = MERGE(it);
	assert(m->cur >= 0);
	if (m->dir != MERGE_REVERSE) {
		/* Move every other child to its last entry before key(): an
		 * equal key there comes before current only from a lower
		 * index. */
		struct slice k = iter_key(m->child[m->cur]);
		for (int i = 0; i < m->n; i++) {
			struct iter *c = m->child[i];
			if (i == m->cur)
				continue;
			iter_seek(c, k);
			if (!iter_valid(c))
				iter_seek_last(c);
			else if (i > m->cur || ikey_cmp(iter_key(c), k) != 0)
				iter_prev(c);
		}
		m->dir = MERGE_REVERSE;
	}
	iter_prev(m->child[m->cur]);
	find_largest(m);
}

static struct slice merge_key(struct iter *it)
{
	struct merge_iter *m = MERGE(it);
	assert(m->cur >= 0);
	return iter_key(m->child[m->cur]);
}

static struct slice merge_value(struct iter *it)
{
	struct merge_iter *m = MERGE(it);
	assert(m->cur >= 0);
	return iter_value(m->child[m->cur]);
}

static int merge_status(struct iter *it)
{
	struct merge_iter *m = MERGE(it);
	for (int i = 0; i < m->n; i++) {
		int rc = iter_status(m->child[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static void merge_free(struct iter *it)
{
	struct merge_iter *m = MERGE(it);
	for (int i = 0; i < m->n; i++)
		iter_free(m->child[i]);
	free(m);
}

static const struct iter_ops merge_iter_ops = {
	.valid = merge_valid,
	.seek_first = merge_seek_first,
	.seek_last = merge_seek_last,
	.seek = merge_seek,
	.next = merge_next,
	.prev = merge_prev,
	.key = merge_key,
	.value = merge_value,
	.status = merge_status,
	.free = merge_free,
};

struct iter *merge_iter_new(struct iter **children, int n)
{
	if (n <= 0)
		return iter_new_empty(0);
	if (n == 1)
		return children[0];
	struct merge_iter *m = malloc(sizeof *m + (size_t)n * sizeof m->child[0]);
	if (!m) {
		for (int i = 0; i < n; i++)
			iter_free(children[i]);
		return NULL;
	}
	m->base.ops = &merge_iter_ops;
	m->n = n;
	m->cur = -1;
	m->dir = MERGE_FORWARD;
	for (int i = 0; i < n; i++)
		m->child[i] = children[i];
	return &m->base;
}
