/* arena.c - a bump allocator; see arena.h. */
#include "config.h"
#include "arena.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define ARENA_ALIGN (sizeof(void *) > 8 ? sizeof(void *) : 8)
#define ARENA_BIG (ARENA_BLOCK_SIZE / 4)

struct arena_block {
	struct arena_block *next;
	max_align_t data[]; /* malloc() alignment for the first allocation */
};

struct arena {
	char *ptr;                  /* next free byte of the current block */
	size_t remaining;           /* bytes left after ptr */
	struct arena_block *blocks; /* newest first */
	size_t usage;               /* atomic: written by the allocator only */
	size_t limit;
};

_Static_assert((ARENA_ALIGN & (ARENA_ALIGN - 1)) == 0, "alignment is a power of 2");

int arena_new(struct arena **out)
{
	struct arena *a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	a->limit = SIZE_MAX;
	*out = a;
	return 0;
}

/* A fresh block of n usable bytes, linked into the arena; NULL on failure. */
static char *arena_new_block(struct arena *a, size_t n)
{
	size_t usage = __atomic_load_n(&a->usage, __ATOMIC_RELAXED);
	size_t total = sizeof(struct arena_block) + n;
	if (total < n || total > a->limit || usage > a->limit - total)
		return NULL;
	struct arena_block *b = malloc(total);
	if (!b)
		return NULL;
	b->next = a->blocks;
	a->blocks = b;
	__atomic_store_n(&a->usage, usage + total, __ATOMIC_RELAXED);
	return (char *)b->data;
}

/* The current block cannot hold n bytes: start a new one, or give a big
 * allocation its own block and keep filling the current one. The result is
 * malloc()-aligned either way. */
static void *arena_alloc_fallback(struct arena *a, size_t n)
{
	if (n > ARENA_BIG)
		return arena_new_block(a, n);
	char *p = arena_new_block(a, ARENA_BLOCK_SIZE);
	if (!p)
		return NULL;
	a->ptr = p + n;
	a->remaining = ARENA_BLOCK_SIZE - n;
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
		free(b);
		b = next;
	}
	free(a);
}
