/* version_builder.c - building versions from a base and edits; see
 * version_builder.h. */
#include "config.h"
#include "version_builder.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbformat.h"
#include "version.h"

static size_t slot_hash(uint64_t number, size_t cap)
{
	return (size_t)((number * UINT64_C(0x9e3779b97f4a7c15)) >> 17) &
	       (cap - 1);
}

/* The slot holding number, or the empty slot where it would go. */
static size_t builder_find(const struct version_builder *b, uint64_t number)
{
	size_t i = slot_hash(number, b->cap);
	while (b->slots[i].number && b->slots[i].number != number)
		i = (i + 1) & (b->cap - 1);
	return i;
}

static int builder_grow(struct version_builder *b)
{
	size_t cap = b->cap ? b->cap * 2 : 64;
	struct builder_slot *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return -ENOMEM;
	struct version_builder old = *b;
	b->slots = slots;
	b->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].number)
			b->slots[builder_find(b, old.slots[i].number)] =
				old.slots[i];
	free(old.slots);
	return 0;
}

void version_builder_release(struct version_builder *b)
{
	for (size_t i = 0; i < b->cap; i++)
		if (b->slots[i].number)
			file_meta_unref(b->slots[i].f);
	free(b->slots);
	memset(b, 0, sizeof *b);
}

/* Adds f at level (taking a reference). -EINVAL (why filled) when its
 * number is 0 or already present. */
static int builder_add(struct version_builder *b, int level,
		       struct file_meta *f, char *why, size_t whylen)
{
	if (f->number == 0) {
		snprintf(why, whylen, "file number 0 added to level %d", level);
		return -EINVAL;
	}
	if ((b->n + 1) * 2 > b->cap) {
		int rc = builder_grow(b);
		if (rc)
			return rc;
	}
	size_t i = builder_find(b, f->number);
	if (b->slots[i].number) {
		snprintf(why, whylen,
			 "file %06" PRIu64 " added to level %d "
			 "is already in level %d",
			 f->number, level, b->slots[i].level);
		return -EINVAL;
	}
	b->slots[i].number = f->number;
	b->slots[i].level = level;
	b->slots[i].f = file_meta_ref(f);
	b->n++;
	return 0;
}

/* Removes number from level. -EINVAL (why filled) when it is not there. */
static int builder_delete(struct version_builder *b, int level, uint64_t number,
			  char *why, size_t whylen)
{
	size_t i = b->cap ? builder_find(b, number) : 0;
	if (!b->cap || !b->slots[i].number || b->slots[i].level != level) {
		snprintf(why, whylen,
			 "deleted file %06" PRIu64 " is not in level %d",
			 number, level);
		return -EINVAL;
	}
	file_meta_unref(b->slots[i].f);
	b->slots[i].number = 0;
	b->n--;
	/* linear probing: pull later members of the cluster back over the
	 * hole so that every lookup still finds them */
	size_t mask = b->cap - 1;
	for (size_t j = (i + 1) & mask; b->slots[j].number;
	     j = (j + 1) & mask) {
		size_t home = slot_hash(b->slots[j].number, b->cap);
		/* slot j may move to the hole i when i lies cyclically in
		 * [home, j) */
		bool movable = i <= j ? (home <= i || home > j)
				      : (home <= i && home > j);
		if (movable) {
			b->slots[i] = b->slots[j];
			b->slots[j].number = 0;
			i = j;
		}
	}
	return 0;
}

int version_builder_add_version(struct version_builder *b,
				const struct version *v)
{
	char why[160];
	for (int level = 0; level < LSM_NUM_LEVELS; level++)
		for (int i = 0; i < v->nfiles[level]; i++) {
			int rc = builder_add(b, level, v->files[level][i], why,
					     sizeof why);
			if (rc)
				return rc;
		}
	return 0;
}

int version_builder_apply(struct version_builder *b,
			  const struct version_edit *e, char *why,
			  size_t whylen)
{
	for (size_t i = 0; i < e->ndeleted; i++) {
		int rc = builder_delete(b, e->deleted[i].level,
					e->deleted[i].number, why, whylen);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < e->nadded; i++) {
		int rc = builder_add(b, e->added[i].level, e->added[i].f, why,
				     whylen);
		if (rc)
			return rc;
	}
	return 0;
}

/* L0: newest first (highest max_seq, then highest number). */
static int cmp_l0(const void *pa, const void *pb)
{
	const struct file_meta *a = *(struct file_meta *const *)pa;
	const struct file_meta *b = *(struct file_meta *const *)pb;
	if (a->max_seq != b->max_seq)
		return a->max_seq > b->max_seq ? -1 : 1;
	return (a->number < b->number) - (a->number > b->number);
}

/* Levels >= 1: by smallest key. */
static int cmp_level(const void *pa, const void *pb)
{
	const struct file_meta *a = *(struct file_meta *const *)pa;
	const struct file_meta *b = *(struct file_meta *const *)pb;
	int c = ikey_cmp(buf_slice(&a->smallest), buf_slice(&b->smallest));
	if (c)
		return c;
	return (a->number > b->number) - (a->number < b->number);
}

static struct version *version_alloc(struct version_set *vs)
{
	struct version *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->vs = vs;
	v->refs = 1;
	return v;
}

/* Links v into vs's list of live versions, after which
 * version_set_live_files sees it and version_unref unlinks it. */
static void version_register(struct version_set *vs, struct version *v)
{
	pthread_mutex_lock(&vs->list_mu);
	v->next = &vs->live;
	v->prev = vs->live.prev;
	v->prev->next = v;
	vs->live.prev = v;
	pthread_mutex_unlock(&vs->list_mu);
}

/* Frees a version that was never registered. */
static void version_discard(struct version *v)
{
	v->vs = NULL;
	version_unref(v);
}

/* Lays the builder's files out as a new version with one reference.
 * -EINVAL (why filled) when a level >= 1 would overlap. */
int version_builder_save(struct version_builder *b, struct version_set *vs,
			 struct version **out, char *why, size_t whylen)
{
	struct version *v = version_alloc(vs);
	int counts[LSM_NUM_LEVELS] = { 0 };
	int rc = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < b->cap; i++)
		if (b->slots[i].number)
			counts[b->slots[i].level]++;
	for (int level = 0; level < LSM_NUM_LEVELS; level++) {
		if (!counts[level])
			continue;
		v->files[level] =
			malloc((size_t)counts[level] * sizeof *v->files[level]);
		if (!v->files[level]) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	/* each file placed takes its reference right away, so a failure
	 * below frees the version cleanly */
	for (size_t i = 0; i < b->cap; i++) {
		struct builder_slot *s = &b->slots[i];
		if (s->number)
			v->files[s->level][v->nfiles[s->level]++] =
				file_meta_ref(s->f);
	}
	for (int level = 0; level < LSM_NUM_LEVELS; level++) {
		int n = v->nfiles[level];
		struct file_meta **files = v->files[level];
		if (n < 2)
			continue;
		qsort(files, (size_t)n, sizeof *files,
		      level == 0 ? cmp_l0 : cmp_level);
		for (int i = 1; i < n && level > 0; i++) {
			if (ikey_cmp(buf_slice(&files[i - 1]->largest),
				     buf_slice(&files[i]->smallest)) >= 0) {
				snprintf(why, whylen,
					 "files %06" PRIu64 " and %06" PRIu64
					 " overlap in level %d",
					 files[i - 1]->number, files[i]->number,
					 level);
				rc = -EINVAL;
				goto fail;
			}
		}
	}
	version_finalize(v, &vs->opt);
	version_register(vs, v);
	*out = v;
	return 0;
fail:
	version_discard(v);
	return rc;
}
