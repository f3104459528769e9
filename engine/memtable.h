/*
 * memtable.h - the in-memory, sorted write buffer of the store.
 *
 * A memtable holds (internal key, value) entries in a skip list whose nodes
 * and entries live in one arena. Each entry is encoded in the arena as
 *
 *   varint32 ikey_len | ikey | varint32 value_len | value
 *
 * where ikey = user_key || fixed64(seq << 8 | type) (dbformat.h), and entries
 * are ordered by ikey_cmp(). Entries are never removed or changed; the whole
 * table is freed when its last reference goes.
 *
 * Thread safety: writers (memtable_add) are serialized by the caller; any
 * number of readers (memtable_get, iterators, the counters) run concurrently
 * with the writer and each other without locks (see skiplist.h). References
 * are atomic: the last memtable_unref() frees the table, so every reader must
 * hold a reference.
 */
#ifndef LSM_MEMTABLE_H
#define LSM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "dbformat.h"
#include "iterator.h"
#include "slice.h"

struct arena_pool;
struct memtable;

/* Creates an empty memtable with one reference, its memory drawn from pool
 * (arena.h; NULL for none). Returns 0 or -ENOMEM. */
int memtable_new(struct arena_pool *pool, struct memtable **out);
void memtable_ref(struct memtable *m);
/* Drops a reference; frees the table at zero. NULL is a no-op. */
void memtable_unref(struct memtable *m);

/*
 * Adds (key, seq, type) -> value, copying both into the arena; a
 * TYPE_DELETE tombstone normally has an empty value. seq must be <= SEQ_MAX
 * and is meant to be unique (dbformat.h). Returns 0, -EINVAL
 * (seq too big, key or value longer than 4 GiB), -EEXIST (this exact
 * internal key is present) or -ENOMEM (the table is unchanged, though some
 * arena bytes may be used). Caller serializes writers.
 */
int memtable_add(struct memtable *m, uint64_t seq, enum entry_type type,
		 struct slice key, struct slice value);

/*
 * Finds the newest entry for ukey with sequence <= seq (seq above SEQ_MAX
 * means SEQ_MAX). Returns LOOKUP_FOUND with a malloc()ed, NUL-terminated
 * copy in *val (the caller frees it) and its length, not counting the NUL,
 * in *vlen; LOOKUP_DELETED for a tombstone; LOOKUP_NOT_FOUND; or -ENOMEM.
 * *val and *vlen are only written on LOOKUP_FOUND.
 */
int memtable_get(struct memtable *m, struct slice ukey, uint64_t seq,
		 char **val, size_t *vlen);

/*
 * An internal iterator (iterator.h) over every entry in ikey order; key() is
 * the internal key. It holds a reference on m until iter_free(), so it may
 * outlive the caller's reference. Sees entries added while it is in use as
 * the skip list allows. Returns 0 or -ENOMEM.
 */
int memtable_iter_new(struct memtable *m, struct iter **out);

/* Bytes allocated by the arena: what the memtable costs. Any thread. */
size_t memtable_bytes(const struct memtable *m);
/* Entries added, and how many of them are tombstones. Any thread. */
uint64_t memtable_entries(const struct memtable *m);
uint64_t memtable_tombstones(const struct memtable *m);

#endif
