/*
 * block_cache.h - a sharded LRU cache of uncompressed SSTable blocks, shared
 * by every table of a store and bounded in bytes.
 *
 * Entries are keyed by (id, offset): id is a table's file number (unique for
 * the life of a store) or a value from block_cache_new_id() for a reader with
 * no file number; offset is the block's offset in its file. Each entry has a
 * charge (its bytes); the cache evicts least recently used entries that no
 * one holds until usage <= capacity.
 *
 * Handles are reference counted: lookup and insert return a handle that the
 * caller must give back with block_cache_release(). An entry that is evicted,
 * erased or replaced while handles to it exist stays valid until the last
 * handle is released, and only then is its deleter called. Held entries are
 * never evicted, so usage may exceed capacity while more than capacity bytes
 * are held. Capacity 0 disables caching: inserts return a handle to an entry
 * that lives only as long as that handle.
 *
 * The key space is split into shards (16 by default), each with its own
 * mutex, LRU list and capacity/nshards bytes. All functions are thread-safe.
 */
#ifndef LSM_BLOCK_CACHE_H
#define LSM_BLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct block_cache;
struct block_cache_handle;

#define BLOCK_CACHE_SHARDS 16

struct block_cache_stats {
	uint64_t capacity, usage, hits, misses, inserts, evictions;
};

/* A cache of capacity bytes in BLOCK_CACHE_SHARDS shards. */
int block_cache_new(size_t capacity, struct block_cache **out);

/* Like block_cache_new() with nshards (a power of two, 1..256) shards; tests
 * use 1 to observe exact LRU order. */
int block_cache_new_sharded(size_t capacity, int nshards,
			    struct block_cache **out);

/* Frees the cache and calls the deleter of every entry. No handle may be
 * outstanding. NULL is a no-op. */
void block_cache_free(struct block_cache *c);

/* A fresh id (never a file number: the top bit is set) for a reader that has
 * no file number of its own. */
uint64_t block_cache_new_id(struct block_cache *c);

/* The entry for (id, offset), marked most recently used, or NULL (a miss).
 * Counts a hit or a miss. */
struct block_cache_handle *block_cache_lookup(struct block_cache *c,
					      uint64_t id, uint64_t offset);

/*
 * Inserts value under (id, offset), replacing any entry there, and returns a
 * handle to the new entry in *out. The cache owns value from now on and calls
 * deleter(value) when the entry is gone and unheld. Returns 0 or -ENOMEM (in
 * which case deleter(value) has already been called).
 */
int block_cache_insert(struct block_cache *c, uint64_t id, uint64_t offset,
		       void *value, size_t charge, void (*deleter)(void *value),
		       struct block_cache_handle **out);

/* The value of a held entry. */
void *block_cache_value(const struct block_cache_handle *h);

/* Gives back a handle from lookup or insert. NULL is a no-op. */
void block_cache_release(struct block_cache *c, struct block_cache_handle *h);

/* Drops (id, offset) from the cache (it lives on while held). */
void block_cache_erase(struct block_cache *c, uint64_t id, uint64_t offset);

void block_cache_stats(struct block_cache *c, struct block_cache_stats *out);

#endif
