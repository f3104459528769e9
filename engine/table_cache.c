/* table_cache.c - a bounded LRU of open SSTable readers; see table_cache.h. */
#include "config.h"
#include "table_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "filename.h"
#include "log.h"

struct tc_entry {
	uint64_t number;
	struct sst_reader *r; /* NULL while opening */
	int pins;             /* users right now */
	bool in_table;        /* findable by number */
	bool opening;
	struct tc_entry *hnext;
	/* on the LRU list exactly when in_table && !opening && pins == 0 */
	struct tc_entry *prev, *next;
};

struct table_cache {
	struct lsm_env *env;
	char *dbdir;
	int capacity;
	struct block_cache *bc;
	bool mmap; /* set before tc is shared */
	struct sst_counters counters; /* shared by every reader; atomic */
	pthread_mutex_t mu;
	pthread_cond_t opened; /* an open finished; protected by mu */
	/* below: protected by mu */
	int open; /* readers open or being opened, pinned evictees included */
	struct tc_entry lru; /* head: lru.next is the oldest */
	struct tc_entry **table;
	size_t nbuckets; /* a power of two */
};

int table_cache_new(struct lsm_env *env, const char *dbdir, int capacity,
		    struct block_cache *bc, struct table_cache **out)
{
	struct table_cache *tc = calloc(1, sizeof *tc);
	if (!tc)
		return -ENOMEM;
	tc->env = env;
	tc->capacity = capacity < 1 ? 1 : capacity;
	tc->bc = bc;
	tc->nbuckets = 16;
	while (tc->nbuckets < (size_t)tc->capacity * 2 && tc->nbuckets < 65536)
		tc->nbuckets *= 2;
	tc->table = calloc(tc->nbuckets, sizeof *tc->table);
	tc->dbdir = strdup(dbdir);
	if (!tc->table || !tc->dbdir) {
		free(tc->table);
		free(tc->dbdir);
		free(tc);
		return -ENOMEM;
	}
	tc->lru.next = tc->lru.prev = &tc->lru;
	pthread_mutex_init(&tc->mu, NULL);
	pthread_cond_init(&tc->opened, NULL);
	*out = tc;
	return 0;
}

void table_cache_set_mmap(struct table_cache *tc, bool on)
{
	tc->mmap = on;
}

static struct tc_entry **bucket(struct table_cache *tc, uint64_t number)
{
	uint64_t h = number * UINT64_C(0x9e3779b97f4a7c15);
	return &tc->table[(h >> 32) & (tc->nbuckets - 1)];
}

static struct tc_entry *find(struct table_cache *tc, uint64_t number)
{
	struct tc_entry *e = *bucket(tc, number);
	while (e && e->number != number)
		e = e->hnext;
	return e;
}

static void unhash(struct table_cache *tc, struct tc_entry *e)
{
	struct tc_entry **p = bucket(tc, e->number);
	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	e->in_table = false;
}

static void lru_remove(struct tc_entry *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	e->prev = e->next = NULL;
}

static void lru_append(struct table_cache *tc, struct tc_entry *e)
{
	e->next = &tc->lru;
	e->prev = tc->lru.prev;
	e->prev->next = e;
	e->next->prev = e;
}

/* Frees a reader taken out of the cache; called without mu (closing is
 * I/O). */
static void entry_close(struct tc_entry *e)
{
	sst_reader_free(e->r);
	free(e);
}

/* Unlinks unpinned readers, oldest first, until one more fits; they are
 * put on *victims to be closed after mu is dropped. Caller holds mu. */
static void make_room(struct table_cache *tc, struct tc_entry **victims)
{
	while (tc->open >= tc->capacity && tc->lru.next != &tc->lru) {
		struct tc_entry *e = tc->lru.next;
		lru_remove(e);
		unhash(tc, e);
		tc->open--;
		e->hnext = *victims;
		*victims = e;
	}
}

static void close_all(struct tc_entry *victims)
{
	while (victims) {
		struct tc_entry *next = victims->hnext;
		entry_close(victims);
		victims = next;
	}
}

/* Pins the reader of table number, opening it when needed. */
static int pin(struct table_cache *tc, uint64_t number, struct tc_entry **out)
{
	struct tc_entry *victims = NULL, *e;
	pthread_mutex_lock(&tc->mu);
	for (;;) {
		e = find(tc, number);
		if (!e || !e->opening)
			break;
		/* someone else is opening it: share their result */
		pthread_cond_wait(&tc->opened, &tc->mu);
	}
	if (e) {
		if (e->pins++ == 0)
			lru_remove(e);
		pthread_mutex_unlock(&tc->mu);
		*out = e;
		return 0;
	}
	if (!(e = calloc(1, sizeof *e))) {
		pthread_mutex_unlock(&tc->mu);
		return -ENOMEM;
	}
	make_room(tc, &victims);
	e->number = number;
	e->pins = 1;
	e->opening = true;
	e->in_table = true;
	struct tc_entry **b = bucket(tc, number);
	e->hnext = *b;
	*b = e;
	tc->open++;
	pthread_mutex_unlock(&tc->mu);

	close_all(victims);
	char path[FILENAME_MAX_LEN];
	filename_sst(path, tc->dbdir, number);
	struct sst_reader *r = NULL;
	int rc = sst_reader_open(tc->env, path, number, tc->bc, &tc->counters,
				 &r);
	if (!rc && tc->mmap)
		sst_reader_map(r);
	if (rc == -ENOENT) {
		/* every table asked for is named by a version: one that is
		 * gone is damage to the store, not an absent key */
		lsm_log("missing table '%s': a live table vanished", path);
		rc = -EIO;
	}

	pthread_mutex_lock(&tc->mu);
	e->opening = false;
	e->r = r;
	if (rc) {
		if (e->in_table)
			unhash(tc, e);
		tc->open--;
	}
	pthread_cond_broadcast(&tc->opened);
	pthread_mutex_unlock(&tc->mu);
	if (rc) {
		free(e);
		return rc;
	}
	*out = e;
	return 0;
}

static void unpin(struct table_cache *tc, struct tc_entry *e)
{
	bool close = false;
	pthread_mutex_lock(&tc->mu);
	if (--e->pins == 0) {
		if (!e->in_table || tc->open > tc->capacity) {
			/* evicted while in use, or opened past the bound */
			if (e->in_table)
				unhash(tc, e);
			tc->open--;
			close = true;
		} else {
			lru_append(tc, e);
		}
	}
	pthread_mutex_unlock(&tc->mu);
	if (close)
		entry_close(e);
}

void table_cache_free(struct table_cache *tc)
{
	if (!tc)
		return;
	/* every entry is unpinned, so each is on the LRU list */
	while (tc->lru.next != &tc->lru) {
		struct tc_entry *e = tc->lru.next;
		lru_remove(e);
		entry_close(e);
	}
	pthread_cond_destroy(&tc->opened);
	pthread_mutex_destroy(&tc->mu);
	free(tc->table);
	free(tc->dbdir);
	free(tc);
}

int table_cache_get(struct table_cache *tc, uint64_t number, struct slice ukey,
		    uint64_t seq, char **val, size_t *vlen)
{
	struct tc_entry *e;
	int rc = pin(tc, number, &e);
	if (rc)
		return rc;
	rc = sst_reader_get(e->r, ukey, seq, val, vlen);
	unpin(tc, e);
	return rc;
}

int table_cache_props(struct table_cache *tc, uint64_t number,
		      struct sst_props *out)
{
	struct tc_entry *e;
	int rc = pin(tc, number, &e);
	if (rc)
		return rc;
	rc = sst_props_copy(out, sst_reader_props(e->r));
	unpin(tc, e);
	return rc;
}

/* An sst_reader iterator that unpins its reader when freed. */
struct tc_iter {
	struct iter base;
	struct iter *inner;
	struct table_cache *tc;
	struct tc_entry *e;
};

#define INNER(it) (((struct tc_iter *)(it))->inner)

static bool ti_valid(struct iter *it)
{
	return iter_valid(INNER(it));
}

static void ti_seek_first(struct iter *it)
{
	iter_seek_first(INNER(it));
}

static void ti_seek_last(struct iter *it)
{
	iter_seek_last(INNER(it));
}

static void ti_seek(struct iter *it, struct slice t)
{
	iter_seek(INNER(it), t);
}

static void ti_next(struct iter *it)
{
	iter_next(INNER(it));
}

static void ti_prev(struct iter *it)
{
	iter_prev(INNER(it));
}

static struct slice ti_key(struct iter *it)
{
	return iter_key(INNER(it));
}

static struct slice ti_value(struct iter *it)
{
	return iter_value(INNER(it));
}

static int ti_status(struct iter *it)
{
	return iter_status(INNER(it));
}

static void ti_free(struct iter *base)
{
	struct tc_iter *it = (struct tc_iter *)base;
	iter_free(it->inner);
	unpin(it->tc, it->e);
	free(it);
}

static const struct iter_ops tc_iter_ops = {
	.valid = ti_valid,
	.seek_first = ti_seek_first,
	.seek_last = ti_seek_last,
	.seek = ti_seek,
	.next = ti_next,
	.prev = ti_prev,
	.key = ti_key,
	.value = ti_value,
	.status = ti_status,
	.free = ti_free,
};

int table_cache_iter(struct table_cache *tc, uint64_t number, struct iter **out)
{
	struct tc_entry *e;
	int rc = pin(tc, number, &e);
	if (rc)
		return rc;
	struct tc_iter *it = calloc(1, sizeof *it);
	if (!it) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = sst_reader_iter_new(e->r, &it->inner)))
		goto fail;
	it->base.ops = &tc_iter_ops;
	it->tc = tc;
	it->e = e;
	*out = &it->base;
	return 0;
fail:
	free(it);
	unpin(tc, e);
	return rc;
}

void table_cache_evict(struct table_cache *tc, uint64_t number)
{
	struct tc_entry *victim = NULL;
	pthread_mutex_lock(&tc->mu);
	struct tc_entry *e = find(tc, number);
	if (e) {
		unhash(tc, e);
		if (e->pins == 0) {
			lru_remove(e);
			tc->open--;
			victim = e;
		}
		/* else: the last unpin (or the opener's) closes it */
	}
	pthread_mutex_unlock(&tc->mu);
	if (victim)
		entry_close(victim);
}

void table_cache_counters(struct table_cache *tc, struct sst_counters *out)
{
	out->bloom_checks =
		__atomic_load_n(&tc->counters.bloom_checks, __ATOMIC_RELAXED);
	out->bloom_useful =
		__atomic_load_n(&tc->counters.bloom_useful, __ATOMIC_RELAXED);
	out->blocks_read =
		__atomic_load_n(&tc->counters.blocks_read, __ATOMIC_RELAXED);
	out->bytes_read =
		__atomic_load_n(&tc->counters.bytes_read, __ATOMIC_RELAXED);
}

int table_cache_open_count(struct table_cache *tc)
{
	pthread_mutex_lock(&tc->mu);
	int n = tc->open;
	pthread_mutex_unlock(&tc->mu);
	return n;
}
