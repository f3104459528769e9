/*
 * bench_workload.h - the workloads lsm bench knows: their kinds, the facts
 * the runner and the report need about each, and one workload as the
 * command line asked for it.
 *
 * wl_info[] is indexed by enum wl_kind and is constant; a kind's name is the
 * word used in --benchmarks and its default label. Nothing here changes
 * after the options are parsed, so any thread may read it.
 */
#ifndef LSM_BENCH_WORKLOAD_H
#define LSM_BENCH_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>

enum wl_kind {
	WL_FILLSEQ,
	WL_FILLRANDOM,
	WL_OVERWRITE,
	WL_FILLSYNC,
	WL_READRANDOM,
	WL_READMISSING,
	WL_READSEQ,
	WL_SEEKRANDOM,
	WL_DELETERANDOM,
	WL_READWHILEWRITING,
	WL_COMPACT,
	WL_NKINDS
};

struct wl_info {
	const char *name;
	bool fresh;  /* starts from an empty store */
	bool writes; /* its operations are writes */
};

extern const struct wl_info wl_info[WL_NKINDS];

/* One entry of --benchmarks, e.g. "fillsync:2". */
struct wl_spec {
	enum wl_kind kind;
	int threads; /* 0: --threads */
	char label[24];
};

/* The kind whose name is the len bytes at name (not NUL-terminated), or -1
 * when there is none. */
int wl_kind_find(const char *name, size_t len);

#endif
