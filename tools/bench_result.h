/*
 * bench_result.h - what lsm bench measured: one workload in one engine, and
 * one engine's whole run.
 *
 * Plain data without pointers: the child that ran an engine fills a struct
 * engine_result (bench_run.h) and writes it whole through a pipe to the
 * parent, which prints the comparison from it (bench_report.h). Parent and
 * child are the same binary, so the layout is the same on both sides.
 */
#ifndef LSM_BENCH_RESULT_H
#define LSM_BENCH_RESULT_H

#include <stdint.h>

#include "bench_args.h"

/* One workload's outcome in one engine. */
struct wl_result {
	char label[24];
	int threads;
	int err; /* 0 or the -errno that stopped it */
	uint64_t ops, bytes, found;
	double secs, cpu_secs;
	double mean_us, p50_us, p99_us, p999_us;
	uint64_t writer_ops; /* readwhilewriting's writer */
	int64_t writes, groups, sync_requests, wal_syncs; /* deltas or -1 */
	int64_t cache_hits, cache_misses;                 /* deltas or -1 */
	uint64_t disk_bytes; /* du of the store right after */
};

struct engine_result {
	char name[16];
	char describe[160];
	int status; /* 0, or 1 when a workload failed or the child died */
	int nwl;
	struct wl_result wl[BENCH_MAX_WORKLOADS];
	uint64_t disk_bytes;       /* du after close */
	uint64_t user_bytes;       /* key+value bytes written since the last
				      fresh store */
	int64_t engine_disk_bytes; /* the engine's own count, or -1 */
	uint64_t syscall_bytes;    /* write(2) bytes since the fresh store,
				      close included */
	long maxrss_kb;
};

#endif
