/*
 * lsm.h - the public API of the lsmfs storage engine.
 *
 * An lsm_db is a persistent, ordered map from byte-string keys to byte-string
 * values, stored as a log-structured merge tree in one directory:
 * a write-ahead log (WAL), an in-memory skip list (the memtable), immutable
 * sorted tables (SSTables) arranged in levels, and a MANIFEST that records
 * which tables make up the current version of the store.
 *
 * Errors: every function that can fail returns 0 on success or a negative
 * errno: -ENOENT (key absent), -EIO (I/O error or corruption; a log line names
 * the file and offset), -ENOSPC, -ENOMEM, -EINVAL, -EBUSY (store locked by
 * another process), -EROFS (the store hit a background error and refuses
 * writes). lsm_strerror() turns any of them into text.
 *
 * Thread safety: an lsm_db may be used by many threads at once. A batch, an
 * iterator or a snapshot handle belongs to one thread at a time.
 *
 * Ownership: values returned through char ** are malloc()ed and owned by the
 * caller, who frees them with free().
 */
#ifndef LSM_H
#define LSM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LSM_NUM_LEVELS 7

struct lsm_db;
struct lsm_batch;
struct lsm_iter;
struct lsm_snapshot;
struct lsm_env;

enum lsm_sync_mode {
	LSM_SYNC_NONE = 0,   /* durable only after lsm_sync() or a sync write */
	LSM_SYNC_ALWAYS = 1, /* every write durable before it returns */
};

enum lsm_compression {
	LSM_COMPRESSION_NONE = 0,
	LSM_COMPRESSION_ZSTD = 1,
	LSM_COMPRESSION_LZ4 = 2,
};

enum lsm_wal_recovery {
	/* a torn tail is dropped; corruption before the tail fails lsm_open */
	LSM_WAL_RECOVERY_STRICT = 0,
	/* corrupt records are skipped (and logged); everything readable is kept */
	LSM_WAL_RECOVERY_SKIP = 1,
};

struct lsm_options {
	size_t write_buffer_size;     /* memtable size before it is frozen; 4 MiB */
	int max_immutable_memtables;  /* frozen memtables before writes stop; 2 */
	size_t block_size;            /* SSTable data block size; 4 KiB */
	int compression;              /* enum lsm_compression; ZSTD (of
				       * compaction outputs: flushes write
				       * L0 tables raw) */
	int compression_level;        /* zstd level; 3 */
	int bloom_bits_per_key;       /* 0 disables bloom filters; 10 */
	size_t block_cache_size;      /* bytes of uncompressed blocks; 8 MiB */
	int max_open_files;           /* SSTables kept open; 500 */
	int sync_mode;                /* enum lsm_sync_mode; NONE */
	int wal_recovery;             /* enum lsm_wal_recovery; STRICT */
	int l0_compaction_trigger;    /* 4 */
	int l0_slowdown_trigger;      /* 8 */
	int l0_stop_trigger;          /* 12 */
	uint64_t l1_target_size;      /* 10 MiB */
	int level_size_ratio;         /* 10 */
	uint64_t target_file_size;    /* 2 MiB */
	int mmap_reads;               /* read SSTables through mmap(2),
				       * a SIGBUS turned into EIO; 1 */
	int create_if_missing;        /* 1 */
	int disable_background_work;  /* tests only: no flush/compaction threads */
	struct lsm_env *env;          /* NULL: the POSIX environment */
};

/* Fills *opt with the defaults listed above. */
void lsm_options_init(struct lsm_options *opt);

/*
 * Opens (creating when allowed) the store in directory dir, replaying its
 * WAL. Takes an exclusive lock on dir/LOCK: a second open fails with -EBUSY.
 * opt may be NULL for defaults. On success *out owns the store.
 */
int lsm_open(const char *dir, const struct lsm_options *opt,
	     struct lsm_db **out);

/* Waits for background work, syncs the WAL, releases the lock, frees db.
 * Returns the first error seen while closing. lsm_close(NULL) is a no-op. */
int lsm_close(struct lsm_db *db);

/* Single-key writes; each is an atomic batch of one. */
int lsm_put(struct lsm_db *db, const void *key, size_t klen, const void *val,
	    size_t vlen);
int lsm_delete(struct lsm_db *db, const void *key, size_t klen);

/*
 * Reads the newest value of key visible at snap (NULL: the latest).
 * Returns 0 and a malloc()ed *val (NUL-terminated, *vlen excludes the NUL),
 * or -ENOENT when the key is absent or deleted.
 */
int lsm_get(struct lsm_db *db, const struct lsm_snapshot *snap,
	    const void *key, size_t klen, char **val, size_t *vlen);

/* Write batches: a batch is applied atomically, also across a crash. */
int lsm_batch_new(struct lsm_batch **out);
int lsm_batch_put(struct lsm_batch *b, const void *key, size_t klen,
		  const void *val, size_t vlen);
int lsm_batch_delete(struct lsm_batch *b, const void *key, size_t klen);
void lsm_batch_clear(struct lsm_batch *b);
uint32_t lsm_batch_count(const struct lsm_batch *b);
void lsm_batch_free(struct lsm_batch *b);

#define LSM_WRITE_SYNC 1 /* this write is durable before it returns */

/* Applies b atomically. flags: 0 or LSM_WRITE_SYNC. */
int lsm_write(struct lsm_db *db, const struct lsm_batch *b, int flags);

/* Makes every write that returned before this call durable. Concurrent
 * callers share one fdatasync (group commit). */
int lsm_sync(struct lsm_db *db);

/* Freezes the memtable (when it holds anything) and waits until every
 * frozen memtable is written to an L0 table. */
int lsm_flush(struct lsm_db *db);

/*
 * Progress of a long operation: level being worked on, bytes done of the
 * bytes it expects to process. Called from the caller's thread.
 */
typedef void (*lsm_progress_fn)(void *ctx, int level, uint64_t done,
				uint64_t total);

/*
 * Full manual compaction: flushes, then merges every level down into the
 * deepest one, dropping every shadowed version and tombstone that no live
 * snapshot needs. Background compaction waits meanwhile. progress may be
 * NULL.
 */
int lsm_compact(struct lsm_db *db, lsm_progress_fn progress, void *ctx);

/* Snapshots pin a sequence number; reads through them ignore later writes. */
int lsm_snapshot_new(struct lsm_db *db, struct lsm_snapshot **out);
void lsm_snapshot_free(struct lsm_db *db, struct lsm_snapshot *snap);
uint64_t lsm_snapshot_sequence(const struct lsm_snapshot *snap);

/*
 * Iterators walk live keys in byte order over a consistent view (snap, or
 * the latest state when NULL). Positioning calls never fail; a failure
 * makes the iterator invalid and lsm_iter_status() returns it.
 * key/value pointers stay valid until the iterator moves.
 */
int lsm_iter_new(struct lsm_db *db, const struct lsm_snapshot *snap,
		 struct lsm_iter **out);
void lsm_iter_seek_first(struct lsm_iter *it);
void lsm_iter_seek_last(struct lsm_iter *it);
void lsm_iter_seek(struct lsm_iter *it, const void *key, size_t klen);
void lsm_iter_next(struct lsm_iter *it);
void lsm_iter_prev(struct lsm_iter *it);
int lsm_iter_valid(const struct lsm_iter *it);
const char *lsm_iter_key(const struct lsm_iter *it, size_t *klen);
const char *lsm_iter_value(const struct lsm_iter *it, size_t *vlen);
int lsm_iter_status(const struct lsm_iter *it);
void lsm_iter_free(struct lsm_iter *it);

/* ---- statistics ---- */

enum lsm_stall_cause {
	LSM_STALL_L0_SLOWDOWN = 0, /* L0 files >= l0_slowdown_trigger: delayed */
	LSM_STALL_L0_STOP = 1,     /* L0 files >= l0_stop_trigger: stopped */
	LSM_STALL_MEMTABLE = 2,    /* max_immutable_memtables waiting: stopped */
	LSM_STALL_NCAUSES = 3
};

struct lsm_level_stats {
	uint64_t files;
	uint64_t bytes;
	uint64_t target;        /* compaction target in bytes (0 for L0) */
	double score;           /* >= 1 means the level wants compaction */
	uint64_t compactions;   /* compactions that wrote into this level */
	uint64_t bytes_read;    /* their input bytes */
	uint64_t bytes_written; /* their output bytes */
	uint64_t trivial_moves; /* tables moved here without a rewrite */
};

struct lsm_stall_stats {
	uint64_t count;  /* writes (groups) that were held */
	uint64_t micros; /* total time held */
	int active;      /* a writer is held right now */
};

/*
 * One live table. smallest/largest are user keys (malloc()ed). The fields
 * from has_props on come from the table's properties block, which
 * lsm_stats_get() does not read (that would open every table):
 * lsm_file_props() fills them in; until then they are 0.
 */
struct lsm_file_info {
	int level;
	uint64_t number, size, entries, tombstones, min_seq, max_seq;
	uint64_t created_unix;
	uint32_t reason; /* 1 flush, 2 compaction */
	char *smallest, *largest;
	size_t smallest_len, largest_len;
	int has_props;               /* the fields below are filled in */
	uint64_t data_blocks;
	uint64_t raw_key_bytes;      /* internal keys, before compression */
	uint64_t raw_value_bytes;
	uint64_t raw_data_bytes;     /* data blocks before compression */
	uint64_t stored_data_bytes;  /* data blocks on disk, trailers included */
	uint32_t bloom_bits_per_key; /* 0: the table has no bloom filter */
	uint32_t compression;        /* enum lsm_compression of its writer */
};

struct lsm_stats {
	struct lsm_level_stats levels[LSM_NUM_LEVELS];
	uint64_t flush_queue_depth;   /* frozen memtables waiting to flush */
	uint64_t memtable_bytes, memtable_entries, memtable_tombstones;
	uint64_t immutable_bytes;     /* bytes in frozen memtables */
	uint64_t wal_number;          /* current WAL segment */
	uint64_t wal_segment_bytes;   /* its size */
	uint64_t wal_records;         /* group commits since open */
	uint64_t wal_bytes;           /* bytes appended since open */
	uint64_t wal_syncs;           /* fdatasyncs of WAL segments */
	uint64_t writes;              /* write batches since open */
	uint64_t sync_requests;       /* sync writes and lsm_sync calls */
	double writes_per_group;      /* writes / wal_records */
	double syncs_per_request;     /* wal_syncs / sync_requests */
	struct lsm_stall_stats stalls[LSM_STALL_NCAUSES];
	int write_stalled;            /* any stall active now */
	uint64_t cache_capacity, cache_usage, cache_hits, cache_misses;
	uint64_t bloom_checks;        /* bloom filter probes */
	uint64_t bloom_useful;        /* probes that avoided a block read */
	uint64_t user_bytes_written;  /* keys + values written by the user */
	uint64_t disk_bytes_written;  /* WAL + flush + compaction output */
	double write_amplification;   /* disk / user */
	uint64_t pending_compaction_bytes; /* estimate, see lsm(3) */
	uint64_t running_flushes, running_compactions;
	uint64_t flushes, flush_bytes;
	uint64_t gets, get_hits;
	uint64_t last_sequence;
	uint64_t live_bytes;          /* bytes of all live tables */
	int background_error;         /* 0 or the sticky -errno */
	struct lsm_file_info *files;  /* live tables, by level then key */
	size_t nfiles;
};

/* Fills *out with a snapshot of the counters; release it with
 * lsm_stats_release(). Counters are read without stopping writers, so the
 * snapshot is not one instant, but each counter is exact. */
int lsm_stats_get(struct lsm_db *db, struct lsm_stats *out);
void lsm_stats_release(struct lsm_stats *s);
/* "l0_slowdown", "l0_stop", "memtable_limit" */
const char *lsm_stall_cause_name(int cause);

/*
 * Fills the property fields of *fi (has_props and those after it) from the
 * properties block of live table number, read through the table cache
 * (which may open the file); the other fields are left as they are, so fi
 * is typically an entry of lsm_stats.files. Returns 0, -ENOENT (no table of
 * the current version has that number) or the error of reading the table.
 */
int lsm_file_props(struct lsm_db *db, uint64_t number,
		   struct lsm_file_info *fi);

/* Text for an error returned by this API. */
const char *lsm_strerror(int err);

/*
 * Diagnostics (corruption, dropped WAL tails, background errors) go to the
 * log handler: by default one line on stderr. fn may be NULL to silence.
 */
typedef void (*lsm_log_fn)(void *ctx, const char *line);
void lsm_set_log_handler(lsm_log_fn fn, void *ctx);

/* ---- offline check and repair (check.c, repair.c) ---- */

/*
 * Verifies the store in dir without opening it, so that it also works on a
 * store lsm_open() refuses. Takes the store lock (-EBUSY while the store is
 * open elsewhere, e.g. mounted) and changes nothing in dir (beyond
 * creating LOCK when it is missing). Checks that
 * CURRENT names a MANIFEST that replays cleanly; that every table it names
 * exists with the recorded size and reads back (every block checksum, block
 * decoding, key order within and across blocks, index, filter and
 * properties) holding exactly the recorded key and sequence ranges; that
 * every level >= 1 is sorted and free of overlap; and that every WAL
 * segment at or after the log number reads without corruption before its
 * end.
 *
 * report (may be NULL) receives one line per finding and a summary line:
 *   'NAME' at offset OFF: WHAT            corruption
 *   warning: 'NAME' at offset OFF: WHAT   not corruption: tables the
 *                                         manifest does not name (orphans),
 *                                         torn WAL tails, leftovers that
 *                                         lsm_open removes
 * (" at offset OFF" is left out where no offset applies, e.g. a missing
 * file).
 * *problems (may be NULL) receives the number of corruption findings.
 * Returns 0 when the store is clean (warnings allowed), -EIO when it found
 * corruption, or, when it could not check: -ENOENT (no store in dir),
 * -EBUSY (locked), -EINVAL, -ENOMEM or the error of listing dir.
 */
int lsm_check(const char *dir, FILE *report, int *problems);

/*
 * Rebuilds the store in dir from whatever survives, as LevelDB's RepairDB
 * does, so that lsm_open() succeeds afterwards; never deletes data. Takes
 * the store lock (-EBUSY while the store is open elsewhere). Every WAL
 * segment is replayed (corrupt records skipped) into new tables; every
 * table that verifies is kept as it is; the readable blocks of every other
 * table are copied into a new one (found through its index, or by their
 * checksums when the index or footer is damaged). A new MANIFEST then names
 * them all and CURRENT is switched to it atomically.
 *
 * Levels: tables keep the level the newest MANIFEST that replays (even in
 * part) gives them; the others go to level 0. Wherever that could let an
 * older entry hide a newer one (overlapping key ranges whose sequence
 * ranges interleave, with no MANIFEST to vouch for their order), the tables
 * involved are merged into new tables, placed as deep as they provably fit.
 * The last sequence is the largest seen anywhere.
 *
 * Everything taken out of the store (damaged tables and WAL segments,
 * converted WAL segments, old MANIFESTs, temporary files, tables replaced
 * by a merge) is moved to dir/lost/, never deleted; a name already taken in
 * lost/ gets a ".N" suffix. WAL segments without a record are left for
 * lsm_open to remove.
 *
 * opt (may be NULL for defaults) supplies the env and how new tables are
 * written (block_size, compression, bloom_bits_per_key, target_file_size,
 * write_buffer_size for WAL replay). report (may be NULL) receives one line
 * per action and a summary: tables kept, rebuilt and merged, WAL records
 * recovered, files moved to lost/.
 * Returns 0, -ENOENT (no store in dir), -EBUSY, -EINVAL or an I/O error.
 * On failure CURRENT still names the old MANIFEST (if it did before), but
 * damaged files may already be in lost/: run the repair again.
 */
int lsm_repair(const char *dir, const struct lsm_options *opt, FILE *report);

#ifdef __cplusplus
}
#endif
#endif /* LSM_H */
