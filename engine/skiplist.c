/* skiplist.c - a lock-free-read skip list; see skiplist.h. */
#include "config.h"
#include "skiplist.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct skiplist_node {
	const char *entry;
	/* next[0..height): level 0 is the full list. Written with release
	 * stores once the node is reachable, read with acquire loads. */
	struct skiplist_node *next[];
};

struct skiplist {
	struct arena *arena;
	skiplist_cmp_fn cmp;
	void *ctx;
	struct skiplist_node *head; /* height SKIPLIST_MAX_HEIGHT, no entry */
	/* Levels in use. Written by the writer, read by anyone with relaxed
	 * loads: a reader that sees a new height before the head's new links
	 * finds NULL there and simply drops a level. */
	int height;
	uint64_t rnd; /* writer only */
};

static struct skiplist_node *node_next(const struct skiplist_node *n, int level)
{
	return __atomic_load_n(&n->next[level], __ATOMIC_ACQUIRE);
}

static void node_set_next(struct skiplist_node *n, int level,
			  struct skiplist_node *x)
{
	__atomic_store_n(&n->next[level], x, __ATOMIC_RELEASE);
}

static int list_height(const struct skiplist *s)
{
	return __atomic_load_n(&s->height, __ATOMIC_RELAXED);
}

static struct skiplist_node *node_new(struct arena *a, const char *entry,
				      int height)
{
	struct skiplist_node *n = arena_alloc_aligned(
		a, sizeof *n + (size_t)height * sizeof n->next[0]);
	if (!n)
		return NULL;
	n->entry = entry;
	for (int i = 0; i < height; i++)
		n->next[i] = NULL;
	return n;
}

/* 1 with probability 3/4, 2 with 3/16, ...: xorshift64* per list, fixed seed
 * so that runs are reproducible. */
static int random_height(struct skiplist *s)
{
	int h = 1;
	for (;;) {
		s->rnd ^= s->rnd >> 12;
		s->rnd ^= s->rnd << 25;
		s->rnd ^= s->rnd >> 27;
		uint64_t r = (s->rnd * UINT64_C(0x2545f4914f6cdd1d)) >> 32;
		if (h >= SKIPLIST_MAX_HEIGHT || r % SKIPLIST_BRANCHING)
			return h;
		h++;
	}
}

int skiplist_new(struct arena *a, skiplist_cmp_fn cmp, void *ctx,
		 struct skiplist **out)
{
	struct skiplist *s = arena_alloc_aligned(a, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->head = node_new(a, NULL, SKIPLIST_MAX_HEIGHT);
	if (!s->head)
		return -ENOMEM;
	s->arena = a;
	s->cmp = cmp;
	s->ctx = ctx;
	s->height = 1;
	s->rnd = UINT64_C(0xdeadbeefcafef00d);
	*out = s;
	return 0;
}

/* The first node >= entry, or NULL. Fills prev[level] with the last node
 * < entry at each level in use, when prev is not NULL. */
static struct skiplist_node *find_ge(const struct skiplist *s,
				     const char *entry,
				     struct skiplist_node **prev)
{
	struct skiplist_node *x = s->head;
	int level = list_height(s) - 1;
	for (;;) {
		struct skiplist_node *next = node_next(x, level);
		if (next && s->cmp(s->ctx, next->entry, entry) < 0) {
			x = next;
			continue;
		}
		if (prev)
			prev[level] = x;
		if (level == 0)
			return next;
		level--;
	}
}

/* The last node < entry, or the head. */
static struct skiplist_node *find_lt(const struct skiplist *s, const char *entry)
{
	struct skiplist_node *x = s->head;
	int level = list_height(s) - 1;
	for (;;) {
		struct skiplist_node *next = node_next(x, level);
		if (next && s->cmp(s->ctx, next->entry, entry) < 0) {
			x = next;
		} else if (level == 0) {
			return x;
		} else {
			level--;
		}
	}
}

/* The last node, or the head when empty. */
static struct skiplist_node *find_last(const struct skiplist *s)
{
	struct skiplist_node *x = s->head;
	int level = list_height(s) - 1;
	for (;;) {
		struct skiplist_node *next = node_next(x, level);
		if (next)
			x = next;
		else if (level == 0)
			return x;
		else
			level--;
	}
}

int skiplist_insert(struct skiplist *s, const char *entry)
{
	struct skiplist_node *prev[SKIPLIST_MAX_HEIGHT];
	struct skiplist_node *x = find_ge(s, entry, prev);
	if (x && s->cmp(s->ctx, x->entry, entry) == 0)
		return -EEXIST;

	int height = random_height(s);
	x = node_new(s->arena, entry, height);
	if (!x)
		return -ENOMEM;
	int cur = list_height(s);
	for (int i = cur; i < height; i++)
		prev[i] = s->head;
	if (height > cur)
		__atomic_store_n(&s->height, height, __ATOMIC_RELAXED);

	/* x is unreachable until the release store at level 0 publishes it,
	 * so its own links need no ordering; each level is published bottom
	 * up so a reader reaching x at level i finds it at levels < i too. */
	for (int i = 0; i < height; i++) {
		x->next[i] = __atomic_load_n(&prev[i]->next[i], __ATOMIC_RELAXED);
		node_set_next(prev[i], i, x);
	}
	return 0;
}

bool skiplist_contains(const struct skiplist *s, const char *entry)
{
	struct skiplist_node *x = find_ge(s, entry, NULL);
	return x && s->cmp(s->ctx, x->entry, entry) == 0;
}

void skiplist_iter_init(struct skiplist_iter *it, const struct skiplist *s)
{
	it->list = s;
	it->node = NULL;
}

bool skiplist_iter_valid(const struct skiplist_iter *it)
{
	return it->node != NULL;
}

const char *skiplist_iter_entry(const struct skiplist_iter *it)
{
	assert(it->node);
	return it->node->entry;
}

void skiplist_iter_next(struct skiplist_iter *it)
{
	assert(it->node);
	it->node = node_next(it->node, 0);
}

/* No back links: search for the last node before the current one. */
void skiplist_iter_prev(struct skiplist_iter *it)
{
	assert(it->node);
	const struct skiplist_node *x = find_lt(it->list, it->node->entry);
	it->node = x == it->list->head ? NULL : x;
}

void skiplist_iter_seek(struct skiplist_iter *it, const char *target)
{
	it->node = find_ge(it->list, target, NULL);
}

void skiplist_iter_seek_first(struct skiplist_iter *it)
{
	it->node = node_next(it->list->head, 0);
}

void skiplist_iter_seek_last(struct skiplist_iter *it)
{
	const struct skiplist_node *x = find_last(it->list);
	it->node = x == it->list->head ? NULL : x;
}
