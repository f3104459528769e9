/*
 * bench_report.c - lsm bench's tables (see bench_report.h).
 */
#include "config.h"
#include "bench_report.h"

#include <stdio.h>
#include <string.h>

void bench_report_settings(const struct bench_args *a, const char *base,
			   bool removed)
{
	printf("lsm bench: %llu keys of %d bytes, %d-byte values (half "
	       "compressible), %d thread%s%s\n",
	       (unsigned long long)a->num, a->key_size, a->value_size,
	       a->threads, a->threads > 1 ? "s" : "",
	       a->sync ? ", every write synced" : "");
	printf("settings for every engine: write buffer %zu KiB, block %zu, "
	       "cache %zu KiB, bloom %d bits/key, compression %s, max open "
	       "files %d, L0 triggers %d/%d/%d, target file %llu KiB, L1 "
	       "%llu KiB x%d\n",
	       a->cfg.write_buffer_size >> 10, a->cfg.block_size,
	       a->cfg.cache_size >> 10, a->cfg.bloom_bits,
	       a->cfg.compression == 2 ? "lz4"
	       : a->cfg.compression    ? "zstd"
				       : "off",
	       a->cfg.max_open_files, a->cfg.l0_compaction_trigger,
	       a->cfg.l0_slowdown_trigger, a->cfg.l0_stop_trigger,
	       (unsigned long long)a->cfg.target_file_size >> 10,
	       (unsigned long long)a->cfg.l1_target_size >> 10,
	       a->cfg.level_size_ratio);
	printf("data in %s/ENGINE%s\n", base,
	       removed ? " (removed afterwards)" : "");
}

void bench_report_engine_begin(const struct engine_result *res)
{
	printf("\n== %s: %s ==\n", res->name, res->describe);
	printf("%-18s %10s %9s %9s %9s %9s %8s %9s %5s  %s\n", "workload",
	       "ops/s", "mean us", "p50 us", "p99 us", "p99.9 us", "MiB/s",
	       "disk MiB", "cpu", "notes");
}

void bench_report_workload(const struct wl_result *w, enum wl_kind kind)
{
	double secs = w->secs > 0 ? w->secs : 1e-9;
	char notes[160] = "";
	size_t n = 0;
	if (kind == WL_READRANDOM || kind == WL_READMISSING ||
	    kind == WL_READWHILEWRITING || kind == WL_SEEKRANDOM)
		n += (size_t)snprintf(notes, sizeof notes, "%llu of %llu found",
				      (unsigned long long)w->found,
				      (unsigned long long)w->ops);
	if (kind == WL_READWHILEWRITING)
		n += (size_t)snprintf(notes + n, sizeof notes - n,
				      "; writer %.0f ops/s",
				      (double)w->writer_ops / secs);
	if (w->sync_requests > 0 && w->wal_syncs >= 0)
		n += (size_t)snprintf(notes + n, sizeof notes - n,
				      "%s%lld fdatasyncs for %lld sync writes",
				      n ? "; " : "", (long long)w->wal_syncs,
				      (long long)w->sync_requests);
	else if (kind == WL_FILLSYNC && w->wal_syncs >= 0)
		n += (size_t)snprintf(notes + n, sizeof notes - n,
				      "%s%lld WAL syncs for %llu sync writes",
				      n ? "; " : "", (long long)w->wal_syncs,
				      (unsigned long long)w->ops);
	if (!wl_info[kind].writes && kind != WL_COMPACT && w->cache_hits >= 0 &&
	    w->cache_hits + w->cache_misses > 0)
		n += (size_t)snprintf(
			notes + n, sizeof notes - n,
			"%sblock cache hits %.0f%%", n ? "; " : "",
			100.0 * (double)w->cache_hits /
				(double)(w->cache_hits + w->cache_misses));
	if (w->threads > 1 && kind != WL_READWHILEWRITING)
		snprintf(notes + n, sizeof notes - n, "%s%d threads",
			 n ? "; " : "", w->threads);
	if (w->err)
		snprintf(notes, sizeof notes, "FAILED: %s", strerror(-w->err));
	printf("%-18s %10.*f %9.3f %9.3f %9.3f %9.3f %8.1f %9.1f %4.0f%%  %s\n",
	       w->label, (double)w->ops / secs < 100 ? 2 : 0,
	       (double)w->ops / secs, w->mean_us, w->p50_us, w->p99_us,
	       w->p999_us, (double)w->bytes / secs / 1048576.0,
	       (double)w->disk_bytes / 1048576.0, 100.0 * w->cpu_secs / secs,
	       notes);
	fflush(stdout);
}

void bench_report_engine_end(const struct engine_result *res)
{
	printf("bytes on disk after close: %.1f MiB\n",
	       (double)res->disk_bytes / 1048576.0);
	if (res->user_bytes) {
		printf("write amplification since the last fill: ");
		if (res->engine_disk_bytes >= 0)
			printf("%.2f (engine counters), ",
			       (double)res->engine_disk_bytes /
				       (double)res->user_bytes);
		else
			printf("n/a (engine counters), ");
		printf("%.2f (write(2) bytes / user bytes)\n",
		       (double)res->syscall_bytes / (double)res->user_bytes);
	}
	printf("peak RSS: %.1f MiB\n", (double)res->maxrss_kb / 1024.0);
	fflush(stdout);
}

static const struct wl_result *find_wl(const struct engine_result *r,
				       const char *label)
{
	for (int i = 0; i < r->nwl; i++)
		if (!strcmp(r->wl[i].label, label) && !r->wl[i].err)
			return &r->wl[i];
	return NULL;
}

static void print_row(const char *label, const double *v, int n,
		      const char *fmt)
{
	printf("%-28s", label);
	for (int i = 0; i < n; i++) {
		if (v[i] >= 0 && v[i] < 100 && !strcmp(fmt, "%12.0f"))
			printf("%12.2f", v[i]); /* compact: a fraction per s */
		else if (v[i] >= 0)
			printf(fmt, v[i]);
		else
			printf("%12s", "n/a");
	}
	for (int i = 1; i < n; i++) {
		if (v[0] > 0 && v[i] > 0)
			printf("%11.2fx", v[0] / v[i]);
		else
			printf("%12s", "n/a");
	}
	putchar('\n');
}

void bench_report_comparison(const struct bench_args *a,
			     const struct engine_result *r, int n)
{
	double v[BENCH_MAX_ENGINES];
	printf("\n== comparison: ops/s (readwhilewriting: reader ops/s); "
	       "a ratio > 1 means %s is faster ==\n",
	       r[0].name);
	for (int i = 0; i < n; i++)
		printf("%s: %s\n", r[i].name,
		       r[i].describe[0] ? r[i].describe : "did not run");
	printf("%-28s", "workload");
	for (int i = 0; i < n; i++)
		printf("%12s", r[i].name);
	for (int i = 1; i < n; i++) {
		char h[40];
		snprintf(h, sizeof h, "%s/%s", r[0].name, r[i].name);
		printf("%12s", h);
	}
	putchar('\n');
	for (int k = 0; k < a->nwl; k++) {
		for (int i = 0; i < n; i++) {
			const struct wl_result *w =
				find_wl(&r[i], a->wl[k].label);
			v[i] = w && w->secs > 0 ? (double)w->ops / w->secs : -1;
		}
		print_row(a->wl[k].label, v, n, "%12.0f");
	}
	printf("-- lower is better below; the ratio is still %s/peer; cpu is "
	       "all threads (background work included) per operation, less "
	       "sensitive than ops/s to other load on the machine --\n",
	       r[0].name);
	for (int k = 0; k < a->nwl; k++) {
		enum wl_kind kind = a->wl[k].kind;
		if (kind != WL_FILLSYNC && !a->sync)
			continue;
		char label[48];
		snprintf(label, sizeof label, "syncs/write %s", a->wl[k].label);
		for (int i = 0; i < n; i++) {
			const struct wl_result *w =
				find_wl(&r[i], a->wl[k].label);
			v[i] = w && w->wal_syncs >= 0 && w->ops
				       ? (double)w->wal_syncs / (double)w->ops
				       : -1;
		}
		print_row(label, v, n, "%12.3f");
	}
	for (int k = 0; k < a->nwl; k++) {
		char label[48];
		snprintf(label, sizeof label, "cpu us/op %s", a->wl[k].label);
		for (int i = 0; i < n; i++) {
			const struct wl_result *w =
				find_wl(&r[i], a->wl[k].label);
			v[i] = w && w->ops ? w->cpu_secs * 1e6 / (double)w->ops
					   : -1;
		}
		print_row(label, v, n, "%12.2f");
	}
	for (int i = 0; i < n; i++)
		v[i] = r[i].nwl ? (double)r[i].disk_bytes / 1048576.0 : -1;
	print_row("disk MiB at the end", v, n, "%12.1f");
	for (int i = 0; i < n; i++)
		v[i] = r[i].user_bytes && r[i].engine_disk_bytes >= 0
			       ? (double)r[i].engine_disk_bytes /
					 (double)r[i].user_bytes
			       : -1;
	print_row("write amp (engine)", v, n, "%12.2f");
	for (int i = 0; i < n; i++)
		v[i] = r[i].user_bytes ? (double)r[i].syscall_bytes /
						 (double)r[i].user_bytes
				       : -1;
	print_row("write amp (write(2))", v, n, "%12.2f");
	for (int i = 0; i < n; i++)
		v[i] = r[i].maxrss_kb ? (double)r[i].maxrss_kb / 1024.0 : -1;
	print_row("peak RSS MiB", v, n, "%12.1f");
}
