/*
 * arena.h - a bump allocator for the memtable.
 *
 * Memory comes from 64 KiB blocks carved front to back; an allocation bigger
 * than a quarter block gets a block of its own so the current block is not
 * wasted. Nothing is freed until arena_free() releases every block at once,
 * so pointers returned by the arena stay valid for the arena's lifetime.
 *
 * Thread safety: allocation is single-threaded (the memtable's writer, whom
 * the caller serializes). arena_memory_usage() may be called from any thread
 * at any time without a lock: the counter is atomic.
 */
#ifndef LSM_ARENA_H
#define LSM_ARENA_H

#include <stddef.h>

#define ARENA_BLOCK_SIZE 65536

struct arena;

/* Creates an empty arena. Returns 0 or -ENOMEM. */
int arena_new(struct arena **out);

/* Returns n bytes with no alignment guarantee (n == 0 is treated as 1), or
 * NULL when memory runs out or the limit would be passed. */
void *arena_alloc(struct arena *a, size_t n);

/* Like arena_alloc(), aligned for pointers and 64-bit integers. */
void *arena_alloc_aligned(struct arena *a, size_t n);

/* Bytes obtained from malloc() so far (blocks plus their headers). Safe from
 * any thread; it only grows. */
size_t arena_memory_usage(const struct arena *a);

/* Makes allocations fail (return NULL) once they would need a block that
 * takes arena_memory_usage() past limit. For fault-injection tests; the
 * default is no limit. */
void arena_set_limit(struct arena *a, size_t limit);

/* Frees every block and the arena. NULL is a no-op. */
void arena_free(struct arena *a);

#endif
