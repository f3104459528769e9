/* itable.c - the in-memory inode table; see itable.h. */
#include "config.h"
#include "itable.h"

#include <errno.h>
#include <stdlib.h>

#include <xxhash.h>

#define ITABLE_MIN_BUCKETS 1024
/* entries per hash chain, on average, before the bucket array doubles */
#define ITABLE_LOAD 2
/* entries per slab: 32 KiB, well below malloc's mmap threshold */
#define ITABLE_SLAB_ENTRIES 1023

/*
 * What the table keeps of an inode while the kernel holds it: 32 bytes, so
 * that a million cached inodes cost 32 MB (plus 4-8 MB of buckets).
 */
struct itable_entry {
	uint64_t ino;
	uint64_t nlookup;          /* the kernel's reference count */
	struct itable_entry *next; /* hash chain, or the free list */
	struct inode_node *node;   /* NULL when idle */
};

/*
 * Entries come from slabs, not one malloc() each (which would round 32
 * bytes up to a 48-byte chunk). A free entry goes on t->free for reuse;
 * slabs are freed by itable_release() only, so the table keeps the memory
 * of the most entries it ever held.
 */
struct itable_slab {
	struct itable_slab *next;
	struct itable_entry e[ITABLE_SLAB_ENTRIES];
};

static size_t bucket_of(const struct itable *t, uint64_t ino)
{
	return (size_t)(XXH3_64bits(&ino, sizeof ino) & (t->nbuckets - 1));
}

int itable_init(struct itable *t)
{
	t->buckets = calloc(ITABLE_MIN_BUCKETS, sizeof *t->buckets);
	if (!t->buckets)
		return -ENOMEM;
	t->nbuckets = ITABLE_MIN_BUCKETS;
	t->count = 0;
	t->nodes = 0;
	t->free = NULL;
	t->slabs = NULL;
	t->wb_head = NULL;
	t->wb_count = 0;
	pthread_mutex_init(&t->mu, NULL);
	return 0;
}

static void node_free(struct inode_node *n)
{
	free(n->wb_data);
	pthread_rwlock_destroy(&n->lock);
	free(n);
}

void itable_release(struct itable *t)
{
	if (!t->buckets)
		return;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct itable_entry *e = t->buckets[i]; e; e = e->next)
			if (e->node)
				node_free(e->node);
	free(t->buckets);
	t->buckets = NULL;
	while (t->slabs) {
		struct itable_slab *s = t->slabs;
		t->slabs = s->next;
		free(s);
	}
	t->free = NULL;
	pthread_mutex_destroy(&t->mu);
}

/* An unused entry, or NULL when out of memory. Requires t->mu. */
static struct itable_entry *entry_alloc(struct itable *t)
{
	if (!t->free) {
		struct itable_slab *s = malloc(sizeof *s);
		if (!s)
			return NULL;
		s->next = t->slabs;
		t->slabs = s;
		for (size_t i = 0; i < ITABLE_SLAB_ENTRIES; i++) {
			s->e[i].next = t->free;
			t->free = &s->e[i];
		}
	}
	struct itable_entry *e = t->free;
	t->free = e->next;
	return e;
}

/* Doubles the bucket array when the load passes ITABLE_LOAD; failure is
 * harmless (longer chains). Requires t->mu. */
static void maybe_grow(struct itable *t)
{
	if (t->count < t->nbuckets * ITABLE_LOAD)
		return;
	size_t nb = t->nbuckets * 2;
	struct itable_entry **b = calloc(nb, sizeof *b);
	if (!b)
		return;
	struct itable_entry **old = t->buckets;
	size_t oldn = t->nbuckets;
	t->buckets = b;
	t->nbuckets = nb;
	for (size_t i = 0; i < oldn; i++) {
		struct itable_entry *e = old[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t h = bucket_of(t, e->ino);
			e->next = b[h];
			b[h] = e;
		}
	}
	free(old);
}

static struct itable_entry *find(struct itable *t, uint64_t ino)
{
	struct itable_entry *e = t->buckets[bucket_of(t, ino)];
	while (e && e->ino != ino)
		e = e->next;
	return e;
}

static void wb_unlist(struct itable *t, struct inode_node *n)
{
	if (!n->wb_listed)
		return;
	if (n->wb_prev)
		n->wb_prev->wb_next = n->wb_next;
	else
		t->wb_head = n->wb_next;
	if (n->wb_next)
		n->wb_next->wb_prev = n->wb_prev;
	n->wb_next = n->wb_prev = NULL;
	n->wb_listed = 0;
	t->wb_count--;
}

/*
 * Frees what e no longer needs (itable.h, Lifetime): its node when unused
 * and idle, or unused with no lookups left; then e itself when it has no
 * node and no lookups. Returns 1 when the freed node was unlinked (purge
 * needed). Requires t->mu.
 */
static int settle(struct itable *t, struct itable_entry *e)
{
	struct inode_node *n = e->node;
	int purge = 0;
	if (n) {
		if (n->pins || n->nopen)
			return 0;
		/* unpinned: nobody holds n->lock, wb_data is stable */
		if (e->nlookup && (n->unlinked || n->wb_data))
			return 0;
		purge = n->unlinked;
		wb_unlist(t, n);
		node_free(n);
		e->node = NULL;
		t->nodes--;
	}
	if (e->nlookup)
		return purge;
	struct itable_entry **pp = &t->buckets[bucket_of(t, e->ino)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	t->count--;
	e->next = t->free;
	t->free = e;
	return purge;
}

struct inode_node *itable_get(struct itable *t, uint64_t ino)
{
	struct inode_node *n = NULL;
	pthread_mutex_lock(&t->mu);
	struct itable_entry *e = find(t, ino);
	if (!e) {
		e = entry_alloc(t);
		if (!e)
			goto out;
		e->ino = ino;
		e->nlookup = 0;
		e->node = NULL;
		maybe_grow(t);
		size_t h = bucket_of(t, ino);
		e->next = t->buckets[h];
		t->buckets[h] = e;
		t->count++;
	}
	if (!e->node) {
		n = calloc(1, sizeof *n);
		if (!n) {
			settle(t, e); /* drops e if it was just made */
			goto out;
		}
		n->ino = ino;
		n->entry = e;
		pthread_rwlock_init(&n->lock, NULL);
		e->node = n;
		t->nodes++;
	}
	n = e->node;
	n->pins++;
out:
	pthread_mutex_unlock(&t->mu);
	return n;
}

int itable_put(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	n->pins--;
	int purge = settle(t, n->entry);
	pthread_mutex_unlock(&t->mu);
	return purge;
}

void itable_ref(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	n->entry->nlookup++;
	pthread_mutex_unlock(&t->mu);
}

int itable_forget(struct itable *t, uint64_t ino, uint64_t nlookup)
{
	int purge = 0;
	pthread_mutex_lock(&t->mu);
	struct itable_entry *e = find(t, ino);
	if (e) {
		e->nlookup = e->nlookup > nlookup ? e->nlookup - nlookup : 0;
		purge = settle(t, e);
	}
	pthread_mutex_unlock(&t->mu);
	return purge;
}

void itable_open(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	n->nopen++;
	pthread_mutex_unlock(&t->mu);
}

uint32_t itable_close(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	if (n->nopen)
		n->nopen--;
	uint32_t left = n->nopen;
	pthread_mutex_unlock(&t->mu);
	return left;
}

void itable_set_unlinked(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	n->unlinked = 1;
	pthread_mutex_unlock(&t->mu);
}

void itable_wb_mark(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	if (!n->wb_listed) {
		n->wb_prev = NULL;
		n->wb_next = t->wb_head;
		if (t->wb_head)
			t->wb_head->wb_prev = n;
		t->wb_head = n;
		n->wb_listed = 1;
		t->wb_count++;
	}
	pthread_mutex_unlock(&t->mu);
}

void itable_wb_unmark(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	wb_unlist(t, n);
	pthread_mutex_unlock(&t->mu);
}

int itable_wb_list(struct itable *t, uint64_t **inos, size_t *count)
{
	uint64_t *v = NULL;
	size_t i = 0;
	int rc = 0;
	pthread_mutex_lock(&t->mu);
	if (t->wb_count && !(v = malloc(t->wb_count * sizeof *v))) {
		rc = -ENOMEM;
		goto out;
	}
	for (struct inode_node *n = t->wb_head; n; n = n->wb_next)
		v[i++] = n->ino;
out:
	pthread_mutex_unlock(&t->mu);
	*inos = v;
	*count = i;
	return rc;
}

void itable_for_each(struct itable *t,
		     void (*fn)(struct inode_node *n, void *ctx), void *ctx)
{
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct itable_entry *e = t->buckets[i]; e; e = e->next)
			if (e->node)
				fn(e->node, ctx);
	pthread_mutex_unlock(&t->mu);
}

size_t itable_count(struct itable *t)
{
	pthread_mutex_lock(&t->mu);
	size_t c = t->count;
	pthread_mutex_unlock(&t->mu);
	return c;
}

size_t itable_nodes(struct itable *t)
{
	pthread_mutex_lock(&t->mu);
	size_t c = t->nodes;
	pthread_mutex_unlock(&t->mu);
	return c;
}
