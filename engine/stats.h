/*
 * stats.h - the engine's running counters.
 *
 * Counters are 64-bit and updated with relaxed __atomic adds from any thread,
 * so reading them never takes db->mu; a snapshot of all of them is therefore
 * not one instant, but each counter is exact. "active" stall flags are set
 * and cleared by the write leader.
 */
#ifndef LSM_STATS_H
#define LSM_STATS_H

#include <stdint.h>

#include "lsm.h"

struct stall_counter {
	uint64_t count;
	uint64_t micros;
	uint64_t active; /* 1 while a writer is held by this cause */
};

struct level_counters {
	uint64_t compactions;   /* compactions whose output went to this level */
	uint64_t bytes_read;    /* input bytes of those compactions */
	uint64_t bytes_written; /* output bytes of those compactions */
	uint64_t trivial_moves; /* files moved here without a rewrite */
};

struct db_stats {
	struct stall_counter stalls[LSM_STALL_NCAUSES]; /* by enum lsm_stall_cause */
	struct level_counters levels[LSM_NUM_LEVELS];
	uint64_t user_bytes_written; /* keys + values handed to writes */
	uint64_t user_writes;        /* batches written */
	uint64_t wal_records;        /* group commits: one WAL record each */
	uint64_t wal_bytes;
	uint64_t wal_syncs;
	uint64_t sync_requests;      /* sync writes and lsm_sync calls */
	uint64_t flushes;
	uint64_t flush_bytes;        /* table bytes written by flushes */
	uint64_t gets;
	uint64_t get_hits;
	uint64_t running_flushes;
	uint64_t running_compactions;
	uint64_t flush_delay_micros; /* test hook: sleep before each flush */
	uint64_t compaction_delay_micros; /* test hook: sleep before each compaction */
};

static inline void stat_add(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static inline uint64_t stat_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static inline void stat_set(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

#endif
