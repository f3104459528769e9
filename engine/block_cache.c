/*
 * block_cache.c - a sharded LRU cache with reference-counted handles; see
 * block_cache.h. The design is LevelDB's LRUCache: an entry's refs count
 * the cache's own reference (while in_cache) plus one per handle; only
 * entries held by nothing but the cache sit on the shard's LRU list, so
 * eviction never has to skip held entries.
 */
#include "config.h"
#include "block_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct cache_entry {
	uint64_t id, offset, hash;
	void *value;
	void (*deleter)(void *value);
	size_t charge;
	uint32_t refs; /* handles + 1 while in_cache */
	bool in_cache; /* reachable from the hash table */
	struct cache_entry *next_hash;
	/* on the LRU list exactly when in_cache && refs == 1 */
	struct cache_entry *prev, *next;
};

struct cache_shard {
	pthread_mutex_t mu;
	/* everything below is protected by mu */
	size_t capacity, usage;
	struct cache_entry
		lru; /* list head: lru.next oldest, lru.prev newest */
	struct cache_entry **table;
	size_t table_len; /* a power of two */
	size_t elems;
	uint64_t hits, misses, inserts, evictions;
};

struct block_cache {
	size_t capacity;
	int nshards;
	int shard_shift;  /* 64 - log2(nshards); shard = hash >> shift */
	uint64_t next_id; /* atomic */
	struct cache_shard shards[];
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static uint64_t key_hash(uint64_t id, uint64_t offset)
{
	return mix64(id ^ mix64(offset + UINT64_C(0x9e3779b97f4a7c15)));
}

static struct cache_shard *shard_of(struct block_cache *c, uint64_t hash)
{
	return &c->shards[c->nshards == 1 ? 0 : hash >> c->shard_shift];
}

static void lru_remove(struct cache_entry *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	e->prev = e->next = NULL;
}

static void lru_append(struct cache_shard *s, struct cache_entry *e)
{
	e->next = &s->lru;
	e->prev = s->lru.prev;
	e->prev->next = e;
	e->next->prev = e;
}

static struct cache_entry **table_find(struct cache_shard *s, uint64_t id,
				       uint64_t offset, uint64_t hash)
{
	struct cache_entry **p = &s->table[hash & (s->table_len - 1)];
	while (*p && ((*p)->id != id || (*p)->offset != offset))
		p = &(*p)->next_hash;
	return p;
}

/* Doubles the table; on allocation failure the old one keeps working. */
static void table_grow(struct cache_shard *s)
{
	size_t len = s->table_len * 2;
	struct cache_entry **t = calloc(len, sizeof *t);
	if (!t)
		return;
	for (size_t i = 0; i < s->table_len; i++) {
		struct cache_entry *e = s->table[i];
		while (e) {
			struct cache_entry *next = e->next_hash;
			struct cache_entry **slot = &t[e->hash & (len - 1)];
			e->next_hash = *slot;
			*slot = e;
			e = next;
		}
	}
	free(s->table);
	s->table = t;
	s->table_len = len;
}

static void entry_ref(struct cache_shard *s, struct cache_entry *e)
{
	(void)s;
	if (e->in_cache && e->refs == 1)
		lru_remove(e);
	e->refs++;
}

static void entry_unref(struct cache_shard *s, struct cache_entry *e)
{
	if (--e->refs == 0) {
		e->deleter(e->value);
		free(e);
	} else if (e->in_cache && e->refs == 1) {
		lru_append(s, e);
	}
}

/* Takes e, already unlinked from the table, out of the cache. */
static void finish_erase(struct cache_shard *s, struct cache_entry *e)
{
	s->elems--;
	s->usage -= e->charge;
	if (e->refs == 1)
		lru_remove(e);
	e->in_cache = false;
	entry_unref(s, e);
}

/* Drops unheld entries, oldest first, until usage fits the capacity. */
static void evict(struct cache_shard *s)
{
	while (s->usage > s->capacity && s->lru.next != &s->lru) {
		struct cache_entry *victim = s->lru.next;
		*table_find(s, victim->id, victim->offset, victim->hash) =
			victim->next_hash;
		finish_erase(s, victim);
		s->evictions++;
	}
}

int block_cache_new_sharded(size_t capacity, int nshards,
			    struct block_cache **out)
{
	if (nshards < 1 || nshards > 256 || (nshards & (nshards - 1)))
		return -EINVAL;
	struct block_cache *c =
		calloc(1, sizeof *c + (size_t)nshards * sizeof c->shards[0]);
	if (!c)
		return -ENOMEM;
	c->capacity = capacity;
	c->nshards = nshards;
	int bits = 0;
	while ((1 << bits) < nshards)
		bits++;
	c->shard_shift = 64 - bits;
	size_t per = (capacity + (size_t)nshards - 1) / (size_t)nshards;
	for (int i = 0; i < nshards; i++) {
		struct cache_shard *s = &c->shards[i];
		s->capacity = per;
		s->lru.next = s->lru.prev = &s->lru;
		s->table_len = 16;
		if (!(s->table = calloc(s->table_len, sizeof *s->table))) {
			for (int j = 0; j < i; j++) {
				pthread_mutex_destroy(&c->shards[j].mu);
				free(c->shards[j].table);
			}
			free(c);
			return -ENOMEM;
		}
		pthread_mutex_init(&s->mu, NULL);
	}
	*out = c;
	return 0;
}

int block_cache_new(size_t capacity, struct block_cache **out)
{
	return block_cache_new_sharded(capacity, BLOCK_CACHE_SHARDS, out);
}

void block_cache_free(struct block_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nshards; i++) {
		struct cache_shard *s = &c->shards[i];
		for (size_t b = 0; b < s->table_len; b++) {
			struct cache_entry *e = s->table[b];
			while (e) {
				struct cache_entry *next = e->next_hash;
				/* no handle may be outstanding: refs == 1 */
				e->deleter(e->value);
				free(e);
				e = next;
			}
		}
		free(s->table);
		pthread_mutex_destroy(&s->mu);
	}
	free(c);
}

uint64_t block_cache_new_id(struct block_cache *c)
{
	uint64_t n = __atomic_add_fetch(&c->next_id, 1, __ATOMIC_RELAXED);
	return (UINT64_C(1) << 63) | n;
}

struct block_cache_handle *block_cache_lookup(struct block_cache *c,
					      uint64_t id, uint64_t offset)
{
	uint64_t hash = key_hash(id, offset);
	struct cache_shard *s = shard_of(c, hash);
	pthread_mutex_lock(&s->mu);
	struct cache_entry *e = *table_find(s, id, offset, hash);
	if (e) {
		entry_ref(s, e);
		s->hits++;
	} else {
		s->misses++;
	}
	pthread_mutex_unlock(&s->mu);
	return (struct block_cache_handle *)e;
}

int block_cache_insert(struct block_cache *c, uint64_t id, uint64_t offset,
		       void *value, size_t charge, void (*deleter)(void *value),
		       struct block_cache_handle **out)
{
	struct cache_entry *e = calloc(1, sizeof *e);
	if (!e) {
		deleter(value);
		return -ENOMEM;
	}
	uint64_t hash = key_hash(id, offset);
	struct cache_shard *s = shard_of(c, hash);
	e->id = id;
	e->offset = offset;
	e->hash = hash;
	e->value = value;
	e->deleter = deleter;
	e->charge = charge;
	e->refs = 1; /* the caller's handle */

	pthread_mutex_lock(&s->mu);
	s->inserts++;
	if (s->capacity > 0) {
		e->refs++;
		e->in_cache = true;
		s->usage += charge;
		s->elems++;
		struct cache_entry **slot = table_find(s, id, offset, hash);
		struct cache_entry *old = *slot;
		e->next_hash = old ? old->next_hash : NULL;
		*slot = e;
		if (old)
			finish_erase(s, old);
		else if (s->elems > s->table_len)
			table_grow(s);
		evict(s);
	}
	pthread_mutex_unlock(&s->mu);
	*out = (struct block_cache_handle *)e;
	return 0;
}

void *block_cache_value(const struct block_cache_handle *h)
{
	return ((const struct cache_entry *)h)->value;
}

void block_cache_release(struct block_cache *c, struct block_cache_handle *h)
{
	if (!h)
		return;
	struct cache_entry *e = (struct cache_entry *)h;
	struct cache_shard *s = shard_of(c, e->hash);
	pthread_mutex_lock(&s->mu);
	entry_unref(s, e);
	/* an entry held past capacity becomes evictable now */
	evict(s);
	pthread_mutex_unlock(&s->mu);
}

void block_cache_erase(struct block_cache *c, uint64_t id, uint64_t offset)
{
	uint64_t hash = key_hash(id, offset);
	struct cache_shard *s = shard_of(c, hash);
	pthread_mutex_lock(&s->mu);
	struct cache_entry **slot = table_find(s, id, offset, hash);
	struct cache_entry *e = *slot;
	if (e) {
		*slot = e->next_hash;
		finish_erase(s, e);
	}
	pthread_mutex_unlock(&s->mu);
}

void block_cache_stats(struct block_cache *c, struct block_cache_stats *out)
{
	*out = (struct block_cache_stats){ .capacity = c->capacity };
	for (int i = 0; i < c->nshards; i++) {
		struct cache_shard *s = &c->shards[i];
		pthread_mutex_lock(&s->mu);
		out->usage += s->usage;
		out->hits += s->hits;
		out->misses += s->misses;
		out->inserts += s->inserts;
		out->evictions += s->evictions;
		pthread_mutex_unlock(&s->mu);
	}
}
