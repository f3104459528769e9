/*
 * bench_run.h - lsm bench's runner: the workloads of one run against one
 * engine, on worker threads that time every operation.
 *
 * Keys are db_bench's: the decimal key number, zero-padded to --key-size.
 * Values are slices of a BENCH_VALUE_SOURCE-byte source made of 100-byte
 * chunks that are 50 random printable bytes written twice, so each value
 * compresses to about half, as db_bench's --compression_ratio=0.5. The
 * random key choices and the values follow from --seed, so every engine of
 * a run gets the same operations.
 *
 * The runner measures the whole process (getrusage, /proc/self/io), so a
 * process runs one engine and nothing else meanwhile: lsm bench calls it in
 * a child per engine (cmd_bench.c). Call it from one thread.
 */
#ifndef LSM_BENCH_RUN_H
#define LSM_BENCH_RUN_H

#include "bench_args.h"
#include "bench_engine.h"
#include "bench_result.h"

/* Bytes of the value source; --value-size is at most this. */
#define BENCH_VALUE_SOURCE (1u << 20)

/*
 * Runs a's workloads in order against engine e with its store in dir
 * (created; emptied before each workload that starts from an empty store),
 * printing the engine's block of the report as it goes (bench_report.h),
 * and fills *res (owned by the caller). A workload that fails is reported
 * on stderr, marked FAILED in its row and ends the run. Returns 0, or the
 * first -errno; res->status is 1 when a workload or the store failed. A
 * progress line goes to stderr when it is a terminal.
 */
int bench_run_engine(const struct bench_args *a, const struct bench_engine *e,
		     const char *dir, struct engine_result *res);

#endif
