/*
 * arena.h - a bump allocator for the memtable.
 *
 * Memory comes from 64 KiB blocks carved front to back; an allocation bigger
 * than a quarter block gets a block of its own so the current block is not
 * wasted. Nothing is freed until arena_free() releases every block at once,
 * so pointers returned by the arena stay valid for the arena's lifetime.
 *
 * An arena may draw its blocks from a pool, to which arena_free() gives them
 * back: the blocks of a flushed memtable then become the next memtable's,
 * already mapped and touched. Without a pool every memtable's memory came
 * fresh from the kernel, because malloc() returns a freed memtable's worth
 * of memory to it: a page fault per 4 KiB written, which was 13% of the
 * daemon's CPU in a sequential write through lsmfs (BENCHMARKS.md).
 *
 * Thread safety: allocation is single-threaded (the memtable's writer, whom
 * the caller serializes). arena_memory_usage() may be called from any thread
 * at any time without a lock: the counter is atomic. A pool may be shared by
 * arenas in any threads.
 */
#ifndef LSM_ARENA_H
#define LSM_ARENA_H

#include <stddef.h>

#define ARENA_BLOCK_SIZE 65536

struct arena;
struct arena_pool;

/* Creates an empty pool that keeps at most keep bytes of freed blocks (the
 * rest go back to free()). Returns 0 or -ENOMEM. */
int arena_pool_new(size_t keep, struct arena_pool **out);

/* Bytes of blocks the pool holds now. */
size_t arena_pool_bytes(struct arena_pool *p);

/* Frees the pool and the blocks it holds. Every arena using it must have
 * been freed. NULL is a no-op. */
void arena_pool_free(struct arena_pool *p);

/* Creates an empty arena drawing blocks from pool (NULL: from malloc()
 * alone). Returns 0 or -ENOMEM. */
int arena_new(struct arena_pool *pool, struct arena **out);

/* Returns n bytes with no alignment guarantee (n == 0 is treated as 1), or
 * NULL when memory runs out or the limit would be passed. */
void *arena_alloc(struct arena *a, size_t n);

/* Like arena_alloc(), aligned for pointers and 64-bit integers. */
void *arena_alloc_aligned(struct arena *a, size_t n);

/* Bytes of the blocks taken so far (from malloc() or the pool, headers
 * included). Safe from any thread; it only grows. */
size_t arena_memory_usage(const struct arena *a);

/* Makes allocations fail (return NULL) once they would need a block that
 * takes arena_memory_usage() past limit. For fault-injection tests; the
 * default is no limit. */
void arena_set_limit(struct arena *a, size_t limit);

/* Gives every block back to the arena's pool (or frees it) and frees the
 * arena. NULL is a no-op. */
void arena_free(struct arena *a);

#endif
