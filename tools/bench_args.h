/*
 * bench_args.h - what one lsm bench run was asked to do: the workloads in
 * order, the key space, the sizes and the engine settings.
 *
 * cmd_bench.c fills a struct bench_args from the command line and checks it
 * (every key number below num fits in key_size digits; key_size and
 * value_size within the limits below); afterwards it is read-only, and the
 * runner's threads share it without locks.
 */
#ifndef LSM_BENCH_ARGS_H
#define LSM_BENCH_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_engine.h"
#include "bench_workload.h"

#define BENCH_MAX_WORKLOADS 32
#define BENCH_MAX_THREADS 64
#define BENCH_MAX_ENGINES 3
#define BENCH_KEY_MAX 1024

struct bench_args {
	struct wl_spec wl[BENCH_MAX_WORKLOADS];
	int nwl;
	uint64_t num, reads; /* reads 0: num */
	int key_size, value_size, threads;
	bool sync, keep;
	const char *db;
	uint64_t seed;
	const char *engines; /* the --engine text */
	struct bench_config cfg;
};

#endif
