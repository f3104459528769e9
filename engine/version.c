/*
 * version.c - file metadata, immutable versions and their read path: point
 * lookups across levels, level iterators, overlap queries and compaction
 * scores; see version.h. The version set (MANIFEST, recovery,
 * log_and_apply) is in version_set.c.
 */
#include "config.h"
#include "version.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dbformat.h"
#include "table_cache.h"

/* ---- file metadata ---- */

int file_meta_new(struct file_meta **out)
{
	struct file_meta *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->refs = 1;
	*out = f;
	return 0;
}

struct file_meta *file_meta_ref(struct file_meta *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
	return f;
}

void file_meta_unref(struct file_meta *f)
{
	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	buf_release(&f->smallest);
	buf_release(&f->largest);
	free(f);
}

int file_list_push(struct file_list *l, struct file_meta *f)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		struct file_meta **p =
			realloc(l->files, (size_t)cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		l->files = p;
		l->cap = cap;
	}
	l->files[l->n++] = f;
	return 0;
}

uint64_t file_list_bytes(const struct file_list *l)
{
	uint64_t sum = 0;
	for (int i = 0; i < l->n; i++)
		sum += l->files[i]->file_size;
	return sum;
}

void file_list_release(struct file_list *l)
{
	free(l->files);
	l->files = NULL;
	l->n = l->cap = 0;
}

/* ---- versions ---- */

struct version *version_ref(struct version *v)
{
	__atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
	return v;
}

void version_unref(struct version *v)
{
	if (!v || __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	/* Nobody can find v any more except version_set_live_files, which
	 * walks the list under list_mu and only reads file numbers: leave the
	 * list before the files go. */
	if (v->vs) {
		pthread_mutex_lock(&v->vs->list_mu);
		v->prev->next = v->next;
		v->next->prev = v->prev;
		pthread_mutex_unlock(&v->vs->list_mu);
	}
	for (int level = 0; level < LSM_NUM_LEVELS; level++) {
		for (int i = 0; i < v->nfiles[level]; i++)
			file_meta_unref(v->files[level][i]);
		free(v->files[level]);
	}
	free(v);
}

uint64_t version_level_target(const struct lsm_options *opt, int level)
{
	if (level <= 0)
		return 0;
	uint64_t target = opt->l1_target_size;
	uint64_t ratio =
		opt->level_size_ratio > 1 ? (uint64_t)opt->level_size_ratio : 2;
	for (int l = 1; l < level; l++)
		target = target > UINT64_MAX / ratio ? UINT64_MAX
						     : target * ratio;
	return target;
}

void version_finalize(struct version *v, const struct lsm_options *opt)
{
	v->compaction_level = 0;
	v->compaction_score = -1;
	for (int level = 0; level < LSM_NUM_LEVELS; level++) {
		uint64_t bytes = 0;
		for (int i = 0; i < v->nfiles[level]; i++)
			bytes += v->files[level][i]->file_size;
		v->level_bytes[level] = bytes;

		double score = 0;
		if (level == LSM_NUM_LEVELS - 1)
			score = 0; /* nowhere to compact to */
		else if (level == 0)
			score = (double)v->nfiles[0] /
				(opt->l0_compaction_trigger > 0
					 ? opt->l0_compaction_trigger
					 : 1);
		else
			score = (double)bytes /
				(double)(version_level_target(opt, level) ?: 1);
		v->score[level] = score;
		if (score > v->compaction_score) {
			v->compaction_score = score;
			v->compaction_level = level;
		}
	}
}

uint64_t version_level_bytes(const struct version *v, int level)
{
	return v->level_bytes[level];
}

double version_level_score(const struct version *v, int level)
{
	return v->score[level];
}

static struct slice file_smallest(const struct file_meta *f)
{
	return buf_slice(&f->smallest);
}

static struct slice file_largest(const struct file_meta *f)
{
	return buf_slice(&f->largest);
}

/* First index in files[0..n) whose largest internal key is >= ikey. */
static int find_file(struct file_meta *const *files, int n, struct slice ikey)
{
	int lo = 0, hi = n;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (ikey_cmp(file_largest(files[mid]), ikey) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int version_find_file(const struct version *v, int level, struct slice ikey)
{
	return find_file(v->files[level], v->nfiles[level], ikey);
}

int version_get(struct version *v, struct table_cache *tc, struct slice ukey,
		uint64_t seq, char **val, size_t *vlen)
{
	/* L0: every table whose range holds ukey, newest first; the first
	 * that knows the key has its newest visible entry, as L0 tables hold
	 * disjoint sequence ranges. */
	for (int i = 0; i < v->nfiles[0]; i++) {
		struct file_meta *f = v->files[0][i];
		if (slice_cmp(ukey, ikey_user(file_smallest(f))) < 0 ||
		    slice_cmp(ukey, ikey_user(file_largest(f))) > 0)
			continue;
		int rc = table_cache_get(tc, f->number, ukey, seq, val, vlen);
		if (rc != LOOKUP_NOT_FOUND)
			return rc;
	}

	/* the lookup key (ukey, seq); on the stack for the usual short keys */
	char stack[128];
	size_t tlen = ukey.len + 8;
	char *t = tlen <= sizeof stack ? stack : malloc(tlen);
	if (!t)
		return -ENOMEM;
	if (ukey.len)
		memcpy(t, ukey.data, ukey.len);
	encode_fixed64(t + ukey.len, ikey_pack(seq, TYPE_SEEK));
	struct slice target = slice_make(t, tlen);
	int rc = LOOKUP_NOT_FOUND;
	for (int level = 1; level < LSM_NUM_LEVELS; level++) {
		int n = v->nfiles[level];
		if (n == 0)
			continue;
		/* The only table of the level that can hold an entry of ukey
		 * with a sequence <= seq: the first whose largest key is at or
		 * after (ukey, seq). */
		int i = find_file(v->files[level], n, target);
		if (i == n)
			continue;
		struct file_meta *f = v->files[level][i];
		if (slice_cmp(ukey, ikey_user(file_smallest(f))) < 0)
			continue;
		rc = table_cache_get(tc, f->number, ukey, seq, val, vlen);
		if (rc != LOOKUP_NOT_FOUND)
			break;
	}
	if (t != stack)
		free(t);
	return rc;
}

/* ---- overlap queries ---- */

/* Whether f's user-key range misses [*b, *e] (NULL: open ended). */
static bool file_outside(const struct file_meta *f, const struct slice *b,
			 const struct slice *e)
{
	return (b && slice_cmp(ikey_user(file_largest(f)), *b) < 0) ||
	       (e && slice_cmp(ikey_user(file_smallest(f)), *e) > 0);
}

int version_overlapping_files(const struct version *v, int level,
			      const struct slice *smallest_ukey,
			      const struct slice *largest_ukey,
			      struct file_list *out)
{
	struct slice b, e;
	const struct slice *pb = NULL, *pe = NULL;
	int start = out->n;

	if (smallest_ukey) {
		b = *smallest_ukey;
		pb = &b;
	}
	if (largest_ukey) {
		e = *largest_ukey;
		pe = &e;
	}
	for (int i = 0; i < v->nfiles[level];) {
		struct file_meta *f = v->files[level][i++];
		if (file_outside(f, pb, pe))
			continue;
		int rc = file_list_push(out, f);
		if (rc)
			return rc;
		if (level != 0)
			continue;
		/* L0 tables overlap each other: a table that sticks out of
		 * the range widens it, and the search starts over so that
		 * every table overlapping the wider range comes along. */
		struct slice fs = ikey_user(file_smallest(f));
		struct slice fl = ikey_user(file_largest(f));
		if (pb && slice_cmp(fs, b) < 0) {
			b = fs;
			out->n = start;
			i = 0;
		} else if (pe && slice_cmp(fl, e) > 0) {
			e = fl;
			out->n = start;
			i = 0;
		}
	}
	return 0;
}

bool version_overlap_in_level(const struct version *v, int level,
			      const struct slice *smallest_ukey,
			      const struct slice *largest_ukey)
{
	int n = v->nfiles[level];
	struct file_meta *const *files = v->files[level];
	if (level == 0) {
		for (int i = 0; i < n; i++)
			if (!file_outside(files[i], smallest_ukey,
					  largest_ukey))
				return true;
		return false;
	}
	/* sorted and disjoint: only the first table ending at or after
	 * smallest_ukey can overlap */
	int lo = 0, hi = n;
	while (smallest_ukey && lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (slice_cmp(ikey_user(file_largest(files[mid])),
			      *smallest_ukey) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !file_outside(files[lo], smallest_ukey, largest_ukey);
}

bool version_level_range(const struct version *v, int level,
			 struct slice *smallest, struct slice *largest)
{
	int n = v->nfiles[level];
	if (n == 0)
		return false;
	struct slice s = file_smallest(v->files[level][0]);
	struct slice l = file_largest(v->files[level][0]);
	for (int i = 1; i < n; i++) {
		struct file_meta *f = v->files[level][i];
		if (ikey_cmp(file_smallest(f), s) < 0)
			s = file_smallest(f);
		if (ikey_cmp(file_largest(f), l) > 0)
			l = file_largest(f);
	}
	*smallest = s;
	*largest = l;
	return true;
}

/* ---- iterators ---- */

/*
 * A level iterator concatenates the tables of a sorted, disjoint file list.
 * It has at most one table iterator open (cur, for files[idx]); crossing a
 * table boundary frees it and opens the neighbour through the table cache.
 * Errors are sticky: after one the iterator stays invalid.
 */
struct level_iter {
	struct iter base;
	struct table_cache *tc;
	struct file_meta **files; /* each holding a reference */
	int n;
	int idx; /* the table cur reads; -1 when cur is NULL */
	struct iter *cur;
	int status;
};

/* Makes cur read files[idx] (idx in range), opening it if needed.
 * Returns false on error (status set, cur NULL). */
static bool li_open(struct level_iter *li, int idx)
{
	if (li->cur && li->idx == idx)
		return true;
	iter_free(li->cur);
	li->cur = NULL;
	li->idx = -1;
	int rc = table_cache_iter(li->tc, li->files[idx]->number, &li->cur);
	if (rc) {
		li->cur = NULL;
		li->status = rc;
		return false;
	}
	li->idx = idx;
	return true;
}

static void li_close(struct level_iter *li)
{
	iter_free(li->cur);
	li->cur = NULL;
	li->idx = -1;
}

/* Settles on a valid entry at or after the current position, moving into
 * later tables while the current one is exhausted. */
static void li_skip_forward(struct level_iter *li)
{
	while (li->cur && !iter_valid(li->cur)) {
		int rc = iter_status(li->cur);
		if (rc) {
			li->status = rc;
			li_close(li);
			return;
		}
		int next = li->idx + 1;
		if (next >= li->n) {
			li_close(li);
			return;
		}
		if (!li_open(li, next))
			return;
		iter_seek_first(li->cur);
	}
}

static void li_skip_backward(struct level_iter *li)
{
	while (li->cur && !iter_valid(li->cur)) {
		int rc = iter_status(li->cur);
		if (rc) {
			li->status = rc;
			li_close(li);
			return;
		}
		int prev = li->idx - 1;
		if (prev < 0) {
			li_close(li);
			return;
		}
		if (!li_open(li, prev))
			return;
		iter_seek_last(li->cur);
	}
}

static bool li_valid(struct iter *it)
{
	struct level_iter *li = (struct level_iter *)it;
	return !li->status && li->cur && iter_valid(li->cur);
}

static void li_seek_first(struct iter *it)
{
	struct level_iter *li = (struct level_iter *)it;
	if (li->status || li->n == 0 || !li_open(li, 0))
		return;
	iter_seek_first(li->cur);
	li_skip_forward(li);
}

static void li_seek_last(struct iter *it)
{
	struct level_iter *li = (struct level_iter *)it;
	if (li->status || li->n == 0 || !li_open(li, li->n - 1))
		return;
	iter_seek_last(li->cur);
	li_skip_backward(li);
}

static void li_seek(struct iter *it, struct slice target)
{
	struct level_iter *li = (struct level_iter *)it;
	if (li->status)
		return;
	int idx = find_file(li->files, li->n, target);
	if (idx >= li->n) {
		li_close(li);
		return;
	}
	if (!li_open(li, idx))
		return;
	iter_seek(li->cur, target);
	li_skip_forward(li);
}

static void li_next(struct iter *it)
{
	struct level_iter *li = (struct level_iter *)it;
	iter_next(li->cur);
	li_skip_forward(li);
}

static void li_prev(struct iter *it)
{
	struct level_iter *li = (struct level_iter *)it;
	iter_prev(li->cur);
	li_skip_backward(li);
}

static struct slice li_key(struct iter *it)
{
	return iter_key(((struct level_iter *)it)->cur);
}

static struct slice li_value(struct iter *it)
{
	return iter_value(((struct level_iter *)it)->cur);
}

static int li_status(struct iter *it)
{
	struct level_iter *li = (struct level_iter *)it;
	if (li->status)
		return li->status;
	return li->cur ? iter_status(li->cur) : 0;
}

static void li_free(struct iter *it)
{
	struct level_iter *li = (struct level_iter *)it;
	iter_free(li->cur);
	for (int i = 0; i < li->n; i++)
		file_meta_unref(li->files[i]);
	free(li->files);
	free(li);
}

static const struct iter_ops level_iter_ops = {
	.valid = li_valid,
	.seek_first = li_seek_first,
	.seek_last = li_seek_last,
	.seek = li_seek,
	.next = li_next,
	.prev = li_prev,
	.key = li_key,
	.value = li_value,
	.status = li_status,
	.free = li_free,
};

int level_iter_new(struct table_cache *tc, struct file_meta *const *files,
		   int n, struct iter **out)
{
	struct level_iter *li = calloc(1, sizeof *li);
	if (!li)
		return -ENOMEM;
	if (n > 0) {
		li->files = malloc((size_t)n * sizeof *li->files);
		if (!li->files) {
			free(li);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < n; i++)
		li->files[i] = file_meta_ref(files[i]);
	li->base.ops = &level_iter_ops;
	li->tc = tc;
	li->n = n;
	li->idx = -1;
	*out = &li->base;
	return 0;
}

static int iters_push(struct iter ***iters, int *n, struct iter *it)
{
	struct iter **p = realloc(*iters, (size_t)(*n + 1) * sizeof *p);
	if (!p) {
		iter_free(it);
		return -ENOMEM;
	}
	p[(*n)++] = it;
	*iters = p;
	return 0;
}

int version_add_iterators(struct version *v, struct table_cache *tc,
			  struct iter ***iters, int *n)
{
	for (int i = 0; i < v->nfiles[0]; i++) {
		struct iter *it;
		int rc = table_cache_iter(tc, v->files[0][i]->number, &it);
		if (!rc)
			rc = iters_push(iters, n, it);
		if (rc)
			return rc;
	}
	for (int level = 1; level < LSM_NUM_LEVELS; level++) {
		if (v->nfiles[level] == 0)
			continue;
		struct iter *it;
		int rc = level_iter_new(tc, v->files[level], v->nfiles[level],
					&it);
		if (!rc)
			rc = iters_push(iters, n, it);
		if (rc)
			return rc;
	}
	return 0;
}
