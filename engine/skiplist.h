/*
 * skiplist.h - a sorted set of entries (LevelDB's skip list), the index of
 * the memtable.
 *
 * An entry is a `const char *` the caller allocated in the same arena (or
 * anywhere that outlives the list); the list orders entries with the
 * caller's comparator and never looks inside them. Nodes, and the list
 * itself, live in the arena: there is no skiplist_free(), the list goes away
 * with arena_free(). Entries are never removed.
 *
 * Concurrency contract:
 *  - Writers: one skiplist_insert() at a time; the caller serializes writers
 *    (in lsmfs, the memtable's writer holds the db write lock). Inserting also
 *    allocates from the arena, so the arena has the same single writer.
 *  - Readers: any number of threads may call skiplist_contains() and use
 *    their own iterators concurrently with the writer and each other, with no
 *    lock. A node is fully built before it is published: its next pointers are
 *    set first, then linked in bottom level first with release stores; readers
 *    follow links with acquire loads. A reader therefore sees every entry whose
 *    insert happened before its current positioning call (ordered through a
 *    lock or an atomic, as usual), may or may not see an insert running
 *    concurrently, and always sees a correctly ordered list.
 *  - The list (and arena) must outlive every reader and iterator.
 */
#ifndef LSM_SKIPLIST_H
#define LSM_SKIPLIST_H

#include <stdbool.h>

#include "arena.h"

#define SKIPLIST_MAX_HEIGHT 12
#define SKIPLIST_BRANCHING 4

/* <0, 0, >0 as a sorts before, equal to, after b. Must be a total order and
 * safe to call from several threads at once. */
typedef int (*skiplist_cmp_fn)(void *ctx, const char *a, const char *b);

struct skiplist;
struct skiplist_node;

/* An iterator is a plain struct owned by the caller; it needs no release.
 * Used by one thread at a time. */
struct skiplist_iter {
	const struct skiplist *list;
	const struct skiplist_node *node; /* NULL: not valid */
};

/* Creates an empty list in arena a. Returns 0 or -ENOMEM. */
int skiplist_new(struct arena *a, skiplist_cmp_fn cmp, void *ctx,
		 struct skiplist **out);

/* Adds entry, which the list then points to (it must not move or change).
 * Returns 0, -EEXIST if an equal entry is present, or -ENOMEM (the list is
 * unchanged). Single writer: see the contract above. */
int skiplist_insert(struct skiplist *s, const char *entry);

/* Whether an entry equal to entry is in the list. */
bool skiplist_contains(const struct skiplist *s, const char *entry);

/* Binds it to s, not yet valid. Re-initializing invalidates it. */
void skiplist_iter_init(struct skiplist_iter *it, const struct skiplist *s);
bool skiplist_iter_valid(const struct skiplist_iter *it);
/* The entry at the position; requires valid. */
const char *skiplist_iter_entry(const struct skiplist_iter *it);
/* Require valid; become invalid past either end. */
void skiplist_iter_next(struct skiplist_iter *it);
void skiplist_iter_prev(struct skiplist_iter *it);
/* To the first entry >= target. */
void skiplist_iter_seek(struct skiplist_iter *it, const char *target);
void skiplist_iter_seek_first(struct skiplist_iter *it);
void skiplist_iter_seek_last(struct skiplist_iter *it);

#endif
