/*
 * table_cache.h - a bounded LRU cache of open sst_readers, so that lookups
 * and iterators do not reopen (and re-read the index and filter of) a table
 * on every use, and so that the number of open SSTable file descriptors is
 * bounded.
 *
 * Readers are keyed by file number (dbdir/NNNNNN.sst, filename_sst()) and
 * reference counted: a reader pinned by a lookup in progress or by a live
 * iterator is never closed; table_cache_evict() of a pinned reader only
 * unlinks it from the cache and the last unpin closes it.
 *
 * Bound: at most `capacity` readers are open, counting readers being opened
 * and evicted readers still pinned, with one exception: when every open
 * reader is pinned, a request for another table opens it anyway rather than
 * wait (a thread holding `capacity` iterators would otherwise wait for
 * itself forever), and the excess is closed as soon as it is unpinned. So
 * more than capacity files are open only while more than capacity readers
 * are in use at the same moment; size max_open_files above the number of
 * tables one merge or compaction keeps open.
 *
 * Two threads asking for the same unopened table share one open: the second
 * waits for the first. Opening happens outside the cache lock.
 *
 * Thread-safe.
 */
#ifndef LSM_TABLE_CACHE_H
#define LSM_TABLE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iterator.h"
#include "slice.h"
#include "sst_reader.h"

struct lsm_env;
struct block_cache;
struct table_cache;

/* A cache of up to capacity (>= 1; smaller values mean 1) readers of tables
 * in dbdir (copied), reading data blocks through bc (borrowed, may be NULL;
 * it must outlive the table cache). Returns 0 or -ENOMEM. */
int table_cache_new(struct lsm_env *env, const char *dbdir, int capacity,
		    struct block_cache *bc, struct table_cache **out);

/* Whether tables opened from now on read their data blocks through a
 * mapping (sst_reader_map()); off at first. Call before tc is shared. */
void table_cache_set_mmap(struct table_cache *tc, bool on);

/* Closes every reader and frees tc. No reader may be pinned (no live
 * iterator). NULL is a no-op. */
void table_cache_free(struct table_cache *tc);

/* sst_reader_get() on table number: a lookup_result or -errno (including
 * the errors of opening the table). Every table asked for is live, so a
 * table file that does not exist is corruption: -EIO with a log line
 * "missing table 'PATH'", never -ENOENT, here and in table_cache_iter() and
 * table_cache_props(). */
int table_cache_get(struct table_cache *tc, uint64_t number, struct slice ukey,
		    uint64_t seq, char **val, size_t *vlen);

/* An iterator over table number; it pins the reader until iter_free().
 * Returns 0 or -errno. */
int table_cache_iter(struct table_cache *tc, uint64_t number,
		     struct iter **out);

/* A copy of table number's properties; the caller releases it with
 * sst_props_release(). Returns 0 or -errno. */
int table_cache_props(struct table_cache *tc, uint64_t number,
		      struct sst_props *out);

/* Forgets table number (its file is being deleted): closed now, or when its
 * last user unpins it. No-op when not cached. */
void table_cache_evict(struct table_cache *tc, uint64_t number);

/* Totals of the read-path counters of every reader the cache opened. */
void table_cache_counters(struct table_cache *tc, struct sst_counters *out);

/* Readers open right now (for tests and stats). */
int table_cache_open_count(struct table_cache *tc);

#endif
