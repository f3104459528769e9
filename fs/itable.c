/* itable.c - the in-memory inode table; see itable.h. */
#include "config.h"
#include "itable.h"

#include <errno.h>
#include <stdlib.h>

#include <xxhash.h>

#define ITABLE_MIN_BUCKETS 1024

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
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct inode_node *n = t->buckets[i], *next;
		for (; n; n = next) {
			next = n->next;
			node_free(n);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	pthread_mutex_destroy(&t->mu);
}

/* Doubles the bucket array when the load passes 1; failure is harmless. */
static void maybe_grow(struct itable *t)
{
	if (t->count < t->nbuckets)
		return;
	size_t nb = t->nbuckets * 2;
	struct inode_node **b = calloc(nb, sizeof *b);
	if (!b)
		return;
	struct inode_node **old = t->buckets;
	size_t oldn = t->nbuckets;
	t->buckets = b;
	t->nbuckets = nb;
	for (size_t i = 0; i < oldn; i++) {
		struct inode_node *n = old[i], *next;
		for (; n; n = next) {
			next = n->next;
			size_t h = bucket_of(t, n->ino);
			n->next = b[h];
			b[h] = n;
		}
	}
	free(old);
}

static struct inode_node *find(struct itable *t, uint64_t ino)
{
	struct inode_node *n = t->buckets[bucket_of(t, ino)];
	while (n && n->ino != ino)
		n = n->next;
	return n;
}

struct inode_node *itable_get(struct itable *t, uint64_t ino)
{
	pthread_mutex_lock(&t->mu);
	struct inode_node *n = find(t, ino);
	if (!n) {
		n = calloc(1, sizeof *n);
		if (!n)
			goto out;
		n->ino = ino;
		pthread_rwlock_init(&n->lock, NULL);
		maybe_grow(t);
		size_t h = bucket_of(t, ino);
		n->next = t->buckets[h];
		t->buckets[h] = n;
		t->count++;
	}
	n->pins++;
out:
	pthread_mutex_unlock(&t->mu);
	return n;
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

/* Unlinks n from the table and frees it if nothing uses it. Returns 1 when
 * it was unlinked from the namespace too (purge needed). Requires t->mu. */
static int maybe_drop(struct itable *t, struct inode_node *n)
{
	if (n->pins || n->nlookup || n->nopen)
		return 0;
	struct inode_node **pp = &t->buckets[bucket_of(t, n->ino)];
	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	t->count--;
	wb_unlist(t, n);
	int purge = n->unlinked;
	node_free(n);
	return purge;
}

int itable_put(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	n->pins--;
	int purge = maybe_drop(t, n);
	pthread_mutex_unlock(&t->mu);
	return purge;
}

void itable_ref(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	n->nlookup++;
	pthread_mutex_unlock(&t->mu);
}

int itable_forget(struct itable *t, uint64_t ino, uint64_t nlookup)
{
	int purge = 0;
	pthread_mutex_lock(&t->mu);
	struct inode_node *n = find(t, ino);
	if (n) {
		n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
		purge = maybe_drop(t, n);
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

void itable_close(struct itable *t, struct inode_node *n)
{
	pthread_mutex_lock(&t->mu);
	if (n->nopen)
		n->nopen--;
	pthread_mutex_unlock(&t->mu);
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
		for (struct inode_node *n = t->buckets[i]; n; n = n->next)
			fn(n, ctx);
	pthread_mutex_unlock(&t->mu);
}

size_t itable_count(struct itable *t)
{
	pthread_mutex_lock(&t->mu);
	size_t c = t->count;
	pthread_mutex_unlock(&t->mu);
	return c;
}
