/* arena.c - a bump allocator; see arena.h. */
#include "config.h"
#include "arena.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define ARENA_ALIGN (sizeof(void *) > 8 ? sizeof(void *) : 8)
#define ARENA_BIG (ARENA_BLOCK_SIZE / 4)

/* A pooled block that cannot hold the request is passed over; this many
 * are looked at before the request goes to malloc() instead. */
#define POOL_SCAN 8

struct arena_block {
	struct arena_block *next;
	size_t cap;         /* usable bytes in data */
	max_align_t data[]; /* malloc() alignment for the first allocation */
};

struct arena_pool {
	pthread_mutex_t mu;
	struct arena_block *free; /* protected by mu */
	size_t bytes;             /* protected by mu: header + cap of each */
	size_t keep;
};

struct arena {
	struct arena_pool *pool;    /* NULL: blocks come from malloc() */
	char *ptr;                  /* next free byte of the current block */
	size_t remaining;           /* bytes left after ptr */
	struct arena_block *blocks; /* newest first */
	size_t usage;               /* atomic: written by the allocator only */
	size_t limit;
};

_Static_assert((ARENA_ALIGN & (ARENA_ALIGN - 1)) == 0, "alignment is a power of 2");

int arena_pool_new(size_t keep, struct arena_pool **out)
{
	struct arena_pool *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	p->keep = keep;
	*out = p;
	return 0;
}

size_t arena_pool_bytes(struct arena_pool *p)
{
	pthread_mutex_lock(&p->mu);
	size_t n = p->bytes;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void arena_pool_free(struct arena_pool *p)
{
	if (!p)
		return;
	struct arena_block *b = p->free;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* A pooled block of at least n usable bytes whose whole size (header
 * included) is at most room, unlinked from the pool; NULL if none of the
 * first POOL_SCAN is one. */
static struct arena_block *pool_take(struct arena_pool *p, size_t n,
				     size_t room)
{
	struct arena_block **link = &p->free, *found = NULL;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; *link && i < POOL_SCAN; i++, link = &(*link)->next) {
		struct arena_block *b = *link;
		size_t total = sizeof *b + b->cap;
		if (b->cap >= n && total <= room) {
			*link = b->next;
			p->bytes -= total;
			found = b;
			break;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return found;
}

/* Gives b back to the pool, or frees it when the pool is full. */
static void pool_put(struct arena_pool *p, struct arena_block *b)
{
	size_t total = sizeof *b + b->cap;
	pthread_mutex_lock(&p->mu);
	if (p->bytes <= p->keep && total <= p->keep - p->bytes) {
		b->next = p->free;
		p->free = b;
		p->bytes += total;
		b = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	free(b);
}

int arena_new(struct arena_pool *pool, struct arena **out)
{
	struct arena *a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	a->pool = pool;
	a->limit = SIZE_MAX;
	*out = a;
	return 0;
}

/* A block for a request of n bytes, linked into the arena: one from the
 * pool that holds at least n, or else want (>= n) bytes from malloc();
 * NULL on failure. */
static struct arena_block *arena_new_block(struct arena *a, size_t n,
					   size_t want)
{
	size_t usage = __atomic_load_n(&a->usage, __ATOMIC_RELAXED);
	size_t room = a->limit > usage ? a->limit - usage : 0;
	struct arena_block *b = a->pool ? pool_take(a->pool, n, room) : NULL;
	size_t total;
	if (b) {
		total = sizeof *b + b->cap;
	} else {
		total = sizeof *b + want;
		if (total < want || total > room || !(b = malloc(total)))
			return NULL;
		b->cap = want;
	}
	b->next = a->blocks;
	a->blocks = b;
	__atomic_store_n(&a->usage, usage + total, __ATOMIC_RELAXED);
	return b;
}

/* The current block cannot hold n bytes: start a new one, or give a big
 * allocation its own block and keep filling the current one (unless the
 * new block, a bigger one from the pool, has more room left). The result
 * is malloc()-aligned either way. */
static void *arena_alloc_fallback(struct arena *a, size_t n)
{
	bool big = n > ARENA_BIG;
	struct arena_block *b =
		arena_new_block(a, n, big ? n : ARENA_BLOCK_SIZE);
	if (!b)
		return NULL;
	char *p = (char *)b->data;
	if (!big || b->cap - n > a->remaining) {
		a->ptr = p + n;
		a->remaining = b->cap - n;
	}
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n <= a->remaining) {
		char *p = a->ptr;
		a->ptr += n;
		a->remaining -= n;
		return p;
	}
	return arena_alloc_fallback(a, n);
}

void *arena_alloc_aligned(struct arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	size_t mod = (uintptr_t)a->ptr & (ARENA_ALIGN - 1);
	size_t slop = mod ? ARENA_ALIGN - mod : 0;
	if (n <= a->remaining && slop <= a->remaining - n) {
		char *p = a->ptr + slop;
		a->ptr = p + n;
		a->remaining -= n + slop;
		return p;
	}
	return arena_alloc_fallback(a, n);
}

size_t arena_memory_usage(const struct arena *a)
{
	return __atomic_load_n(&a->usage, __ATOMIC_RELAXED);
}

void arena_set_limit(struct arena *a, size_t limit)
{
	a->limit = limit;
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	struct arena_block *b = a->blocks;
	while (b) {
		struct arena_block *next = b->next;
		if (a->pool)
			pool_put(a->pool, b);
		else
			free(b);
		b = next;
	}
	free(a);
}
