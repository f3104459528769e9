/*
 * bench_run.c - lsm bench's workloads on worker threads (see bench_run.h).
 *
 * A workload's operations are split into contiguous ranges, one per worker
 * thread; each worker times every operation into its own histogram, merged
 * when all have finished. readwhilewriting adds one writer thread that puts
 * random keys until the readers are done.
 */
#include "config.h"
#include "bench_run.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "bench_tree.h"
#include "histogram.h"
#include "tool.h"

#define BENCH_SEEK_NEXTS 10
#define BENCH_CHUNK 100

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Zero-padded decimal k in exactly width bytes (width holds every key:
 * checked when the options are parsed). */
static void make_key(char *buf, int width, uint64_t k)
{
	for (int i = width - 1; i >= 0; i--) {
		buf[i] = (char)('0' + k % 10);
		k /= 10;
	}
}

/* "wchar" of /proc/self/io: bytes this process passed to write(2) and
 * friends, all threads included; 0 when unreadable. */
static uint64_t write_syscall_bytes(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	if (!f)
		return 0;
	char line[128];
	unsigned long long v = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "wchar: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* ---- one workload on worker threads ---- */

struct engine_run {
	const struct bench_args *a;
	const struct bench_engine *e;
	struct bench_db *db;
	char dir[PATH_MAX];
	char *values; /* the value source, BENCH_VALUE_SOURCE + value_size */
	uint64_t user_bytes;
	uint64_t wchar_base;
	bool tty;
};

struct workload {
	struct engine_run *run;
	const struct wl_spec *spec;
	uint64_t total; /* operations, split between the workers */
	uint64_t keys;  /* keys are drawn from [0, keys) */
	uint32_t *perm; /* fillrandom: every key once, in random order */
	bool sync;
	atomic_uint_fast64_t done; /* progress, in steps of 1024 */
	atomic_bool stop;          /* readwhilewriting: readers finished */
	atomic_int finished;       /* workers that returned */
};

struct worker {
	struct workload *w;
	bool writer; /* readwhilewriting's writer: runs until stop */
	pthread_t tid;
	uint64_t begin, end; /* operation numbers of this worker */
	uint64_t rng;
	size_t vpos;
	struct bench_iter *it; /* readseq */
	struct histogram hist;
	uint64_t ops, bytes, found;
	uint64_t end_ns;
	int err;
	const char *what;
};

static const char *next_value(struct worker *wk)
{
	const struct bench_args *a = wk->w->run->a;
	if (wk->vpos + (size_t)a->value_size > BENCH_VALUE_SOURCE)
		wk->vpos = 0;
	const char *v = wk->w->run->values + wk->vpos;
	wk->vpos += (size_t)a->value_size;
	return v;
}

static int op_put(struct worker *wk, char *key, uint64_t k)
{
	struct engine_run *r = wk->w->run;
	size_t ks = (size_t)r->a->key_size, vs = (size_t)r->a->value_size;
	make_key(key, r->a->key_size, k);
	wk->what = "put";
	wk->bytes += ks + vs;
	return r->e->put(r->db, key, ks, next_value(wk), vs, wk->w->sync);
}

static int op_get(struct worker *wk, char *key, uint64_t k, bool missing)
{
	struct engine_run *r = wk->w->run;
	size_t ks = (size_t)r->a->key_size, vlen;
	make_key(key, r->a->key_size, k);
	if (missing)
		key[ks++] = '.'; /* sorts between two keys; never written */
	wk->what = "get";
	int rc = r->e->get(r->db, key, ks, &vlen);
	if (rc == -ENOENT)
		return 0;
	if (!rc) {
		wk->found++;
		wk->bytes += ks + vlen;
	}
	return rc;
}

static int op_seek(struct worker *wk, char *key, uint64_t k)
{
	struct engine_run *r = wk->w->run;
	struct bench_iter *it;
	make_key(key, r->a->key_size, k);
	wk->what = "seek";
	int rc = r->e->iter_new(r->db, &it);
	if (rc)
		return rc;
	r->e->iter_seek(it, key, (size_t)r->a->key_size);
	if (r->e->iter_valid(it))
		wk->found++;
	for (int j = 0; j < BENCH_SEEK_NEXTS && r->e->iter_valid(it); j++) {
		size_t kl, vl;
		r->e->iter_entry(it, &kl, &vl);
		wk->bytes += kl + vl;
		r->e->iter_next(it);
	}
	rc = r->e->iter_status(it);
	r->e->iter_free(it);
	return rc;
}

/* One step of readseq; 1 at the end of the data. */
static int op_next(struct worker *wk)
{
	const struct bench_engine *e = wk->w->run->e;
	wk->what = "iterate";
	if (!e->iter_valid(wk->it)) {
		int rc = e->iter_status(wk->it);
		return rc ? rc : 1;
	}
	size_t kl, vl;
	e->iter_entry(wk->it, &kl, &vl);
	wk->found++;
	wk->bytes += kl + vl;
	e->iter_next(wk->it);
	return 0;
}

/* Operation number i of this worker: 0, 1 to stop early, or -errno. */
static int one_op(struct worker *wk, uint64_t i, char *key)
{
	struct workload *w = wk->w;
	struct engine_run *r = w->run;
	if (wk->writer)
		return op_put(wk, key, splitmix64(&wk->rng) % w->keys);
	switch (w->spec->kind) {
	case WL_FILLSEQ:
		return op_put(wk, key, i);
	case WL_FILLRANDOM:
		return op_put(wk, key, w->perm[i]);
	case WL_OVERWRITE:
	case WL_FILLSYNC:
		return op_put(wk, key, splitmix64(&wk->rng) % w->keys);
	case WL_DELETERANDOM:
		make_key(key, r->a->key_size, splitmix64(&wk->rng) % w->keys);
		wk->what = "delete";
		wk->bytes += (uint64_t)r->a->key_size;
		return r->e->del(r->db, key, (size_t)r->a->key_size, w->sync);
	case WL_READRANDOM:
	case WL_READWHILEWRITING:
		return op_get(wk, key, splitmix64(&wk->rng) % w->keys, false);
	case WL_READMISSING:
		return op_get(wk, key, splitmix64(&wk->rng) % w->keys, true);
	case WL_SEEKRANDOM:
		return op_seek(wk, key, splitmix64(&wk->rng) % w->keys);
	case WL_READSEQ:
		return op_next(wk);
	case WL_COMPACT:
		wk->what = "compact";
		return r->e->compact(r->db);
	case WL_NKINDS:
		break;
	}
	return -EINVAL;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct workload *w = wk->w;
	struct engine_run *r = w->run;
	char key[BENCH_KEY_MAX + 2];

	if (w->spec->kind == WL_READSEQ && !wk->writer) {
		wk->what = "iterator";
		wk->err = r->e->iter_new(r->db, &wk->it);
		if (wk->err) {
			atomic_fetch_add(&w->finished, 1);
			return NULL;
		}
		make_key(key, r->a->key_size, wk->begin);
		r->e->iter_seek(wk->it, key, (size_t)r->a->key_size);
	}
	/* one clock read per operation: each latency runs from the end of
	 * the previous operation to the end of this one */
	uint64_t t = now_ns();
	for (uint64_t i = wk->begin; wk->writer || i < wk->end; i++) {
		if (wk->writer &&
		    atomic_load_explicit(&w->stop, memory_order_relaxed))
			break;
		int rc = one_op(wk, i, key);
		if (rc) {
			if (rc < 0)
				wk->err = rc;
			break;
		}
		uint64_t t2 = now_ns();
		histogram_add(&wk->hist, t2 - t);
		t = t2;
		if ((++wk->ops & 1023) == 0 && !wk->writer)
			atomic_fetch_add_explicit(&w->done, 1024,
						  memory_order_relaxed);
	}
	wk->end_ns = t;
	if (wk->it)
		r->e->iter_free(wk->it);
	atomic_fetch_add(&w->finished, 1);
	return NULL;
}

static void show_progress(struct workload *w)
{
	fprintf(stderr, "\rlsm bench: %s %s: %llu of %llu ops\033[K",
		w->run->e->name, w->spec->label,
		(unsigned long long)atomic_load(&w->done),
		(unsigned long long)w->total);
	fflush(stderr);
}

/* Waits for the readers (workers [0, n)), showing progress on a tty. A
 * readwhilewriting writer finishes only after them. */
static void join_readers(struct workload *w, struct worker *wk, int n)
{
	if (w->run->tty) {
		while (atomic_load(&w->finished) < n) {
			show_progress(w);
			nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
		}
		fputs("\r\033[K", stderr);
	}
	for (int t = 0; t < n; t++)
		pthread_join(wk[t].tid, NULL);
}

static uint32_t *make_permutation(uint64_t n, uint64_t seed)
{
	uint32_t *p = malloc(n * sizeof *p);
	if (!p)
		return NULL;
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = splitmix64(&seed) % i;
		uint32_t x = p[i - 1];
		p[i - 1] = p[j];
		p[j] = x;
	}
	return p;
}

/* Runs one workload on the open store and fills *res (not disk_bytes). */
static int run_workload(struct engine_run *r, const struct wl_spec *spec,
			int index, struct wl_result *res)
{
	const struct bench_args *a = r->a;
	struct workload w = { .run = r, .spec = spec };
	int nthreads = spec->threads ? spec->threads : a->threads;
	uint64_t reads = a->reads ? a->reads : a->num;
	w.keys = a->num;
	w.sync = a->sync || spec->kind == WL_FILLSYNC;
	switch (spec->kind) {
	case WL_FILLSYNC:
		/* as db_bench: a thousandth of the keys, every one synced */
		w.total = w.keys = a->num / 1000 ? a->num / 1000 : 1;
		break;
	case WL_READRANDOM:
	case WL_READMISSING:
	case WL_SEEKRANDOM:
	case WL_READWHILEWRITING:
		w.total = reads;
		break;
	case WL_READSEQ:
		w.total = reads < a->num ? reads : a->num;
		break;
	case WL_COMPACT:
		w.total = 1;
		nthreads = 1;
		break;
	default:
		w.total = a->num;
	}
	if (spec->kind == WL_FILLRANDOM) {
		w.perm = make_permutation(a->num, a->seed ^ 0xf111);
		if (!w.perm)
			return -ENOMEM;
	}
	int nworkers = nthreads + (spec->kind == WL_READWHILEWRITING);
	struct worker *wk = calloc((size_t)nworkers, sizeof *wk);
	if (!wk) {
		free(w.perm);
		return -ENOMEM;
	}

	memset(res, 0, sizeof *res);
	snprintf(res->label, sizeof res->label, "%s", spec->label);
	res->threads = nthreads;
	double cpu0 = cpu_seconds();
	uint64_t t0 = now_ns();
	int started = 0, rc = 0;
	for (int t = 0; t < nworkers; t++) {
		wk[t].w = &w;
		wk[t].writer = t == nthreads;
		wk[t].begin = wk[t].writer ? 0
					   : w.total * (uint64_t)t /
						     (uint64_t)nthreads;
		wk[t].end = wk[t].writer ? 0
					 : w.total * (uint64_t)(t + 1) /
						   (uint64_t)nthreads;
		wk[t].rng = a->seed ^ ((uint64_t)index << 32) ^
			    ((uint64_t)t * 0x9e3779b97f4a7c15ull);
		wk[t].vpos =
			(size_t)t * 4096 * BENCH_CHUNK % BENCH_VALUE_SOURCE;
		histogram_init(&wk[t].hist);
		rc = -pthread_create(&wk[t].tid, NULL, worker_main, &wk[t]);
		if (rc) {
			tool_error("bench: cannot start a thread: %s",
				   strerror(-rc));
			break;
		}
		started++;
	}
	join_readers(&w, wk, started < nthreads ? started : nthreads);
	atomic_store(&w.stop, true);
	for (int t = nthreads; t < started; t++)
		pthread_join(wk[t].tid, NULL);

	struct histogram h;
	histogram_init(&h);
	uint64_t t_end = t0;
	for (int t = 0; t < started; t++) {
		if (wk[t].err && !res->err) {
			res->err = wk[t].err;
			tool_error("bench: %s %s: %s: %s", r->e->name,
				   spec->label, wk[t].what,
				   strerror(-wk[t].err));
		}
		if (wl_info[spec->kind].writes || wk[t].writer)
			r->user_bytes += wk[t].bytes;
		if (wk[t].writer) {
			res->writer_ops = wk[t].ops;
			continue;
		}
		histogram_merge(&h, &wk[t].hist);
		res->ops += wk[t].ops;
		res->bytes += wk[t].bytes;
		res->found += wk[t].found;
		if (wk[t].end_ns > t_end)
			t_end = wk[t].end_ns;
	}
	res->secs = (double)(t_end - t0) / 1e9;
	res->cpu_secs = cpu_seconds() - cpu0;
	res->mean_us = histogram_mean(&h) / 1e3;
	res->p50_us = histogram_percentile(&h, 50) / 1e3;
	res->p99_us = histogram_percentile(&h, 99) / 1e3;
	res->p999_us = histogram_percentile(&h, 99.9) / 1e3;
	if (!res->err && rc)
		res->err = rc;
	free(wk);
	free(w.perm);
	return res->err;
}

/* ---- one engine: its workloads in order ---- */

static int reopen(struct engine_run *r, bool fresh)
{
	int rc = r->e->close(r->db);
	r->db = NULL;
	if (rc)
		return rc;
	if (fresh) {
		bench_tree_remove(r->dir);
		r->user_bytes = 0;
		r->wchar_base = write_syscall_bytes();
	}
	if (mkdir(r->dir, 0755) && errno != EEXIST) {
		rc = -errno;
		tool_error("bench: cannot create '%s': %s", r->dir,
			   strerror(errno));
		return rc;
	}
	return r->e->open(&r->a->cfg, r->dir, &r->db);
}

static char *make_values(uint64_t seed, int value_size)
{
	size_t len = BENCH_VALUE_SOURCE + (size_t)value_size;
	char *v = malloc(len + BENCH_CHUNK);
	if (!v)
		return NULL;
	for (size_t pos = 0; pos < len; pos += BENCH_CHUNK) {
		for (int i = 0; i < BENCH_CHUNK / 2; i++)
			v[pos + (size_t)i] =
				(char)(' ' + splitmix64(&seed) % 95);
		memcpy(v + pos + BENCH_CHUNK / 2, v + pos, BENCH_CHUNK / 2);
	}
	return v;
}

int bench_run_engine(const struct bench_args *a, const struct bench_engine *e,
		     const char *dir, struct engine_result *res)
{
	struct engine_run r = { .a = a, .e = e };
	memset(res, 0, sizeof *res);
	res->engine_disk_bytes = -1;
	snprintf(res->name, sizeof res->name, "%s", e->name);
	e->describe(&a->cfg, res->describe, sizeof res->describe);
	snprintf(r.dir, sizeof r.dir, "%s", dir);
	r.tty = isatty(STDERR_FILENO);
	r.values = make_values(a->seed, a->value_size);
	if (!r.values)
		return -ENOMEM;
	r.wchar_base = write_syscall_bytes();

	bench_report_engine_begin(res);
	int rc = 0;
	for (int i = 0; i < a->nwl && !rc; i++) {
		const struct wl_spec *spec = &a->wl[i];
		if (!r.db || wl_info[spec->kind].fresh) {
			rc = reopen(&r, wl_info[spec->kind].fresh);
			if (rc)
				break;
		}
		struct bench_counters c0, c1;
		e->counters(r.db, &c0);
		struct wl_result *w = &res->wl[res->nwl++];
		rc = run_workload(&r, spec, i, w);
		e->counters(r.db, &c1);
		w->writes = c0.writes >= 0 ? c1.writes - c0.writes : -1;
		w->groups = c0.write_groups >= 0
				    ? c1.write_groups - c0.write_groups
				    : -1;
		w->sync_requests = c0.sync_requests >= 0
					   ? c1.sync_requests - c0.sync_requests
					   : -1;
		w->wal_syncs =
			c0.wal_syncs >= 0 ? c1.wal_syncs - c0.wal_syncs : -1;
		w->cache_hits =
			c0.cache_hits >= 0 ? c1.cache_hits - c0.cache_hits : -1;
		w->cache_misses = c0.cache_misses >= 0
					  ? c1.cache_misses - c0.cache_misses
					  : -1;
		w->disk_bytes = bench_tree_usage(r.dir);
		bench_report_workload(w, spec->kind);
	}
	if (r.db) {
		struct bench_counters c;
		e->counters(r.db, &c);
		res->engine_disk_bytes = c.disk_bytes;
		int cl = e->close(r.db);
		if (!rc)
			rc = cl;
	}
	res->user_bytes = r.user_bytes;
	res->syscall_bytes = write_syscall_bytes() - r.wchar_base;
	res->disk_bytes = bench_tree_usage(r.dir);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	res->maxrss_kb = ru.ru_maxrss;
	res->status = rc ? 1 : 0;

	bench_report_engine_end(res);
	free(r.values);
	return rc;
}
