/*
 * db_impl.h - the inside of struct lsm_db, shared by the files that make up
 * the store: db.c (open, recovery, close), db_write.c (the write queue and
 * group commit), db_read.c (point reads and snapshots), db_flush.c (the flush
 * thread), compaction.c (the compaction thread), db_iter.c and stats.c.
 *
 * Threads:
 *  - user threads call the public API; writers queue up and one of them, the
 *    leader, writes the whole group's WAL record, syncs once, and inserts
 *    the group into the memtable;
 *  - one flush thread turns frozen memtables into L0 tables;
 *  - one compaction thread merges tables down the levels.
 *
 * Locking: db->mu guards every field marked "mu" below. It is never held
 * across file I/O except the short CURRENT/manifest writes done inside
 * version_set_log_and_apply, which releases it itself. The memtable is
 * written only by the write-queue leader, without db->mu, and read without
 * any lock (the skip list allows one writer and many readers).
 */
#ifndef LSM_DB_IMPL_H
#define LSM_DB_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lsm.h"
#include "stats.h"

struct batch_writer;
struct memtable;
struct wal_writer;
struct version_set;
struct table_cache;
struct block_cache;
struct env_lock;
struct iter;

/* The most memtables that can wait to be flushed, whatever the options say. */
#define DB_MAX_IMM 16

struct lsm_snapshot {
	uint64_t seq;
	struct lsm_snapshot *prev, *next; /* mu: db->snapshots list */
};

/* A frozen memtable waiting for the flush thread, with the WAL segment
 * that holds its contents (deleted once the flush is in the manifest). */
struct imm_slot {
	struct memtable *mem;
	uint64_t wal_number;
};

struct lsm_db {
	char *dir;
	struct lsm_options opt;
	struct lsm_env *env;
	struct env_lock *lock;

	pthread_mutex_t mu;
	pthread_cond_t bg_cv; /* background work finished or state changed */
	pthread_cond_t flush_cv;   /* wakes the flush thread */
	pthread_cond_t compact_cv; /* wakes the compaction thread */

	/* the write queue: the head is the leader (mu) */
	struct batch_writer *writers_head, *writers_tail;
	struct lsm_batch *group; /* the leader's scratch batch (leader only) */

	struct arena_pool *arena_pool;  /* thread-safe; memtable memory */
	struct memtable *mem;           /* mu to swap; leader writes it */
	struct imm_slot imm[DB_MAX_IMM]; /* mu; oldest first */
	int nimm;                        /* mu */
	struct wal_writer *wal;          /* leader only (swapped under mu) */
	uint64_t wal_number;             /* mu */
	uint64_t wal_synced_size;        /* leader only */
	uint64_t wal_size; /* written by the leader with __atomic stores */
	/* Bytes the leader inserted into mem (keys, values, entry headers):
	 * memtable_bytes() counts whole arena blocks, 64 KiB even for an empty
	 * memtable, too coarse for a small write_buffer_size (leader only) */
	uint64_t mem_data_bytes;

	/* The newest sequence visible to readers (mu). Set after the group's
	 * memtable insert, so a reader never sees half a batch. */
	uint64_t last_seq;

	struct lsm_snapshot snapshots; /* mu; list head, oldest first */

	struct version_set *vs;   /* mu */
	struct table_cache *tc;   /* thread-safe */
	struct block_cache *bc;   /* thread-safe */

	/* One entry per running flush or compaction: the first file number
	 * it allocated. Every table numbered at or above the smallest entry
	 * may be a finished output not yet in a version, so obsolete-file
	 * deletion leaves it alone (mu). */
	uint64_t pending_outputs[8];
	int npending;

	int bg_error;        /* mu; sticky: fails every later write */
	/*
	 * Running out of space is not sticky (db_flush.c, compaction.c): a
	 * flush or compaction that fails with -ENOSPC removes its partial
	 * output, keeps its inputs and is retried with backoff. While one is
	 * failing, writers that would wait for it get -ENOSPC instead (mu).
	 */
	bool flush_nospace, compact_nospace;
	uint64_t nospace_failures; /* mu; ENOSPC failures of background work */
	/* mu; the MANIFEST roll size to restore once a roll forced by an
	 * ENOSPC MANIFEST append succeeded (0: not forced); db_log_and_apply */
	uint64_t manifest_roll_saved;
	bool shutting_down;  /* mu */
	bool flush_running;  /* mu */
	bool compact_running; /* mu */
	int manual_compactions; /* mu; > 0 while lsm_compact runs */
	pthread_t flush_thread, compact_thread;
	bool threads_started;

	struct db_stats stats; /* counters; see stats.h for their locking */
};

/* --- db.c --- */

/*
 * Whether a memtable holding data_bytes (keys, values and
 * DB_MEMTABLE_ENTRY_OVERHEAD per entry, as counted by whoever inserts)
 * has reached opt->write_buffer_size. memtable_bytes() counts whole arena
 * blocks, DB_MEMTABLE_EMPTY_BYTES already for an empty memtable, which
 * alone used to make every memtable "full" under a write_buffer_size of
 * 64 KiB or less (a loop freezing fresh memtables, one table per WAL
 * record in recovery). An empty memtable is never full.
 */
#define DB_MEMTABLE_EMPTY_BYTES (64u << 10)
#define DB_MEMTABLE_ENTRY_OVERHEAD 40u
struct memtable;
bool db_memtable_full(const struct lsm_options *opt, struct memtable *mem,
		      uint64_t data_bytes);

/* Sets the sticky background error (first one wins) and logs it. mu held. */
void db_set_bg_error(struct lsm_db *db, int err, const char *what);

/*
 * version_set_log_and_apply, plus recovery from a full disk: when the
 * MANIFEST append failed with -ENOSPC and nothing half-done can remain
 * in force, the version set's sticky error is cleared and the next edit
 * starts a new MANIFEST (a snapshot) instead of appending to the old one.
 * Any other failure becomes the background error. mu held (released
 * during the write, as by version_set_log_and_apply).
 */
struct version_edit;
int db_log_and_apply(struct lsm_db *db, struct version_edit *e);

/* The first and the longest wait between retries of background work that
 * ran out of space. */
#define DB_NOSPACE_RETRY_MIN_US 100000u
#define DB_NOSPACE_RETRY_MAX_US 5000000u

/* Waits on cv (with mu) for at most micros. */
void db_timed_wait(struct lsm_db *db, pthread_cond_t *cv, uint64_t micros);

/* Deletes WAL segments and SSTables that nothing references any more.
 * mu held; releases it while unlinking. */
void db_delete_obsolete_files(struct lsm_db *db);

/* Wakes the compaction thread if the current version needs work. mu held. */
void db_maybe_schedule_compaction(struct lsm_db *db);

/* Registers / retires a job's first output number (mu held). */
void db_pending_add(struct lsm_db *db, uint64_t number);
void db_pending_remove(struct lsm_db *db, uint64_t number);

/* The oldest sequence a live snapshot can read (last_seq if none). mu held. */
uint64_t db_oldest_snapshot(struct lsm_db *db);

/* --- db_write.c --- */
int db_write_init(struct lsm_db *db);
void db_write_release(struct lsm_db *db);

/* --- db_flush.c --- */
void *db_flush_main(void *arg);
/* Flushes every frozen memtable in the calling thread (when there are no
 * background threads). mu held; released for the I/O. */
int db_flush_all(struct lsm_db *db);

struct sst_props;
struct file_meta;
/* A new file_meta (refs = 1) for table number described by p. */
int db_table_meta(uint64_t number, const struct sst_props *p, uint32_t reason,
		  struct file_meta **out);

/*
 * Writes the entries of it (internal keys, in order) into a new L0 table
 * numbered number. *written is 0 when it was empty (no file is left).
 * Called without mu. Fills *meta_out (a new struct file_meta, refs = 1)
 * when a file was written.
 */
int db_build_table(struct lsm_db *db, struct iter *it, uint64_t number,
		   uint32_t reason, struct file_meta **meta_out);

/* --- compaction.c --- */
void *db_compact_main(void *arg);

#endif
