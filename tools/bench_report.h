/*
 * bench_report.h - what lsm bench prints on stdout: the settings of the run,
 * per engine one row per workload and a summary, and with more than one
 * engine a comparison table.
 *
 * The text is the interface (people and BENCHMARKS.md read it): the columns,
 * notes and labels stay as they are. Every function writes whole lines to
 * stdout; those that end an engine's block flush it, so that a child's
 * output precedes whatever the parent prints after it. Call from one thread.
 */
#ifndef LSM_BENCH_REPORT_H
#define LSM_BENCH_REPORT_H

#include <stdbool.h>

#include "bench_args.h"
#include "bench_result.h"
#include "bench_workload.h"

/* The opening lines: keys and values, the engine settings, and where the
 * stores are (base/ENGINE; removed: a temporary directory that goes). */
void bench_report_settings(const struct bench_args *a, const char *base,
			   bool removed);

/* An engine's title (res->name and res->describe) and the column header. */
void bench_report_engine_begin(const struct engine_result *res);

/* The row of one finished workload of kind kind; flushes stdout. */
void bench_report_workload(const struct wl_result *w, enum wl_kind kind);

/* After an engine's last workload: bytes on disk, write amplification and
 * peak RSS from res; flushes stdout. */
void bench_report_engine_end(const struct engine_result *res);

/* The table comparing the n (>= 1) engines of r, r[0] against each other,
 * by the workload labels of a: ops/s, syncs per write, cpu per operation,
 * disk, write amplification and peak RSS. A workload an engine did not
 * finish shows as n/a. */
void bench_report_comparison(const struct bench_args *a,
			     const struct engine_result *r, int n);

#endif
