/*
 * cmd_bench.c - lsm bench: db_bench-style workloads against our engine and,
 * in the same run, LevelDB and RocksDB (see bench_engine.h).
 *
 * Structure: the parent parses the options, makes the data directory and
 * forks one child per engine, one after another, so that each engine's peak
 * RSS and write(2) bytes are its own. A child runs the workloads in order on
 * worker threads, each thread timing every operation into its own
 * histogram; it prints its report and sends a struct engine_result back
 * through a pipe. With more than one engine the parent then prints one
 * comparison table.
 *
 * Keys are db_bench's: the decimal key number, zero-padded to --key-size.
 * Values are slices of a 1 MiB source made of 100-byte chunks that are 50
 * random printable bytes written twice, so each value compresses to about
 * half, as db_bench's --compression_ratio=0.5.
 */
#include "config.h"
#include "tool.h"

#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_engine.h"
#include "histogram.h"

#define BENCH_MAX_WORKLOADS 32
#define BENCH_MAX_THREADS 64
#define BENCH_MAX_ENGINES 3
#define BENCH_KEY_MAX 1024
#define BENCH_SEEK_NEXTS 10
#define BENCH_VALUE_SOURCE (1u << 20)
#define BENCH_CHUNK 100
/* keep in step with the help text */
#define BENCH_DEFAULT_LIST                                              \
	"fillseq,fillsync,fillsync:2,fillrandom,overwrite,readrandom,"  \
	"readmissing,readseq,seekrandom,readwhilewriting,deleterandom," \
	"compact"

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

static const struct wl_info {
	const char *name;
	bool fresh;  /* starts from an empty store */
	bool writes; /* its operations are writes */
} wl_info[WL_NKINDS] = {
	[WL_FILLSEQ] = { "fillseq", true, true },
	[WL_FILLRANDOM] = { "fillrandom", true, true },
	[WL_OVERWRITE] = { "overwrite", false, true },
	[WL_FILLSYNC] = { "fillsync", true, true },
	[WL_READRANDOM] = { "readrandom", false, false },
	[WL_READMISSING] = { "readmissing", false, false },
	[WL_READSEQ] = { "readseq", false, false },
	[WL_SEEKRANDOM] = { "seekrandom", false, false },
	[WL_DELETERANDOM] = { "deleterandom", false, true },
	[WL_READWHILEWRITING] = { "readwhilewriting", false, false },
	[WL_COMPACT] = { "compact", false, false },
};

struct wl_spec {
	enum wl_kind kind;
	int threads; /* 0: --threads */
	char label[24];
};

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

/* One workload's outcome in one engine; plain data, sent through a pipe. */
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

/* ---- small helpers ---- */

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

/*
 * Walks path without following links, children before their directory:
 * returns the bytes allocated (as du counts them) and, when remove is set,
 * removes everything. Files that compaction deletes during the walk are
 * skipped.
 */
static uint64_t walk_tree(const char *path, bool remove)
{
	struct stat st;
	if (lstat(path, &st))
		return 0;
	uint64_t total = (uint64_t)st.st_blocks * 512;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			char child[PATH_MAX];
			if ((size_t)snprintf(child, sizeof child, "%s/%s", path,
					     de->d_name) >= sizeof child)
				continue;
			total += walk_tree(child, remove);
		}
		if (d)
			closedir(d);
	}
	if (remove && (S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) &&
	    errno != ENOENT)
		tool_error("bench: cannot remove '%s': %s", path,
			   strerror(errno));
	return total;
}

static uint64_t disk_usage(const char *dir)
{
	return walk_tree(dir, false);
}

static void remove_tree(const char *dir)
{
	walk_tree(dir, true);
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

/* ---- one engine, in a child process ---- */

static void print_header(void)
{
	printf("%-18s %10s %9s %9s %9s %9s %8s %9s %5s  %s\n", "workload",
	       "ops/s", "mean us", "p50 us", "p99 us", "p99.9 us", "MiB/s",
	       "disk MiB", "cpu", "notes");
}

static void print_result(const struct wl_result *w, enum wl_kind kind)
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

static int reopen(struct engine_run *r, bool fresh)
{
	int rc = r->e->close(r->db);
	r->db = NULL;
	if (rc)
		return rc;
	if (fresh) {
		remove_tree(r->dir);
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

static int run_engine(const struct bench_args *a, const struct bench_engine *e,
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

	printf("\n== %s: %s ==\n", e->name, res->describe);
	print_header();
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
		w->disk_bytes = disk_usage(r.dir);
		print_result(w, spec->kind);
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
	res->disk_bytes = disk_usage(r.dir);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	res->maxrss_kb = ru.ru_maxrss;
	res->status = rc ? 1 : 0;

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
	free(r.values);
	return rc;
}

/* ---- the parent: engines in children, then the comparison ---- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* Runs e in a child; fills *res (status 1 when the child failed). Returns
 * -EINTR when the user interrupted the run. */
static int fork_engine(const struct bench_args *a, const struct bench_engine *e,
		       const char *dir, struct engine_result *res)
{
	int fd[2];
	memset(res, 0, sizeof *res);
	snprintf(res->name, sizeof res->name, "%s", e->name);
	res->status = 1;
	if (pipe(fd)) {
		tool_error("bench: pipe: %s", strerror(errno));
		return 0;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		tool_error("bench: fork: %s", strerror(errno));
		close(fd[0]);
		close(fd[1]);
		return 0;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(fd[0]);
		struct engine_result *out = malloc(sizeof *out);
		int rc = out ? run_engine(a, e, dir, out) : -ENOMEM;
		const char *p = (const char *)out;
		size_t left = out ? sizeof *out : 0;
		while (left) {
			ssize_t n = write(fd[1], p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
		fflush(stdout);
		_exit(rc ? 1 : 0);
	}
	close(fd[1]);
	char *p = (char *)res;
	size_t got = 0;
	while (got < sizeof *res && !interrupted) {
		ssize_t n = read(fd[0], p + got, sizeof *res - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd[0]);
	if (interrupted)
		kill(pid, SIGTERM);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (interrupted)
		return -EINTR;
	if (got < sizeof *res) {
		memset(res, 0, sizeof *res);
		snprintf(res->name, sizeof res->name, "%s", e->name);
		if (WIFSIGNALED(st))
			tool_error("bench: the %s run died of signal %d",
				   e->name, WTERMSIG(st));
		else
			tool_error("bench: the %s run failed", e->name);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		res->status = 1;
	return 0;
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

static void print_comparison(const struct bench_args *a,
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

/* ---- options ---- */

static int parse_count(const char *s, uint64_t *out, bool size)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	if (size && *end) {
		int shift = *end == 'k' || *end == 'K'   ? 10
			    : *end == 'm' || *end == 'M' ? 20
			    : *end == 'g' || *end == 'G' ? 30
							 : -1;
		if (shift < 0 || v > (ULLONG_MAX >> shift))
			return -1;
		v <<= shift;
		end++;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int parse_benchmarks(struct bench_args *a, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return -1;
	a->nwl = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (a->nwl == BENCH_MAX_WORKLOADS) {
			tool_error("bench: more than %d workloads",
				   BENCH_MAX_WORKLOADS);
			goto fail;
		}
		struct wl_spec *w = &a->wl[a->nwl];
		char *colon = strchr(tok, ':');
		uint64_t threads = 0;
		if (colon) {
			*colon = '\0';
			if (parse_count(colon + 1, &threads, false) ||
			    !threads || threads > BENCH_MAX_THREADS) {
				tool_error("bench: bad thread count in '%s:%s'",
					   tok, colon + 1);
				goto fail;
			}
			*colon = ':';
		}
		size_t len = colon ? (size_t)(colon - tok) : strlen(tok);
		int k = 0;
		while (k < WL_NKINDS && (strlen(wl_info[k].name) != len ||
					 strncmp(wl_info[k].name, tok, len)))
			k++;
		if (k == WL_NKINDS || strlen(tok) >= sizeof w->label) {
			tool_error("bench: unknown workload '%s'", tok);
			goto fail;
		}
		w->kind = (enum wl_kind)k;
		w->threads = (int)threads;
		snprintf(w->label, sizeof w->label, "%s", tok);
		a->nwl++;
	}
	free(copy);
	if (!a->nwl) {
		tool_error("bench: no workloads");
		return -1;
	}
	return 0;
fail:
	free(copy);
	return -1;
}

enum {
	OPT_KEY_SIZE = 256,
	OPT_VALUE_SIZE,
	OPT_COMPRESSION,
	OPT_WRITE_BUFFER,
	OPT_CACHE,
	OPT_BLOOM,
	OPT_SYNC,
	OPT_DB,
	OPT_KEEP,
	OPT_SEED,
};

static int on_bench_opt(void *ctx, int opt, const char *arg)
{
	struct bench_args *a = ctx;
	uint64_t v = 0;
	switch (opt) {
	case 'b':
		return parse_benchmarks(a, arg);
	case 'e':
		a->engines = arg;
		return 0;
	case OPT_SYNC:
		a->sync = true;
		return 0;
	case OPT_KEEP:
		a->keep = true;
		return 0;
	case OPT_DB:
		a->db = arg;
		return 0;
	case OPT_COMPRESSION:
		if (!strcmp(arg, "zstd"))
			a->cfg.compression = 1;
		else if (!strcmp(arg, "lz4"))
			a->cfg.compression = 2;
		else if (!strcmp(arg, "none"))
			a->cfg.compression = 0;
		else
			goto bad;
		return 0;
	}
	bool size = opt == OPT_WRITE_BUFFER || opt == OPT_CACHE;
	if (parse_count(arg, &v, size))
		goto bad;
	switch (opt) {
	case 'n':
		if (!v || v > UINT32_MAX)
			goto bad;
		a->num = v;
		return 0;
	case 'r':
		a->reads = v;
		return 0;
	case 't':
		if (!v || v > BENCH_MAX_THREADS)
			goto bad;
		a->threads = (int)v;
		return 0;
	case OPT_KEY_SIZE:
		if (!v || v > BENCH_KEY_MAX)
			goto bad;
		a->key_size = (int)v;
		return 0;
	case OPT_VALUE_SIZE:
		if (v > BENCH_VALUE_SOURCE)
			goto bad;
		a->value_size = (int)v;
		return 0;
	case OPT_WRITE_BUFFER:
		if (v < 64 * 1024)
			goto bad;
		a->cfg.write_buffer_size = v;
		return 0;
	case OPT_CACHE:
		a->cfg.cache_size = v;
		return 0;
	case OPT_BLOOM:
		if (v > 64)
			goto bad;
		a->cfg.bloom_bits = (int)v;
		return 0;
	case OPT_SEED:
		a->seed = v;
		return 0;
	}
bad:
	tool_error("bench: bad value '%s'", arg);
	return -1;
}

static void args_init(struct bench_args *a)
{
	struct lsm_options o;
	lsm_options_init(&o);
	memset(a, 0, sizeof *a);
	a->num = 1000000;
	a->key_size = 16;
	a->value_size = 100;
	a->threads = 1;
	a->seed = 301; /* db_bench's */
	a->engines = "lsm";
	/* every engine gets our engine's defaults */
	a->cfg = (struct bench_config){
		.write_buffer_size = o.write_buffer_size,
		.block_size = 4096,
		.cache_size = o.block_cache_size,
		.bloom_bits = o.bloom_bits_per_key,
		.compression = 1,
		.compression_level = o.compression_level,
		.max_open_files = o.max_open_files,
		.max_immutable = o.max_immutable_memtables,
		.l0_compaction_trigger = o.l0_compaction_trigger,
		.l0_slowdown_trigger = o.l0_slowdown_trigger,
		.l0_stop_trigger = o.l0_stop_trigger,
		.target_file_size = o.target_file_size,
		.l1_target_size = o.l1_target_size,
		.level_size_ratio = o.level_size_ratio,
	};
}

/* Fills out[] from the --engine text, in its order; 0, or -1 after
 * saying what is wrong. */
static int pick_engines(const char *spec, const struct bench_engine **out,
			int *n)
{
	static const struct {
		const char *name;
		const struct bench_engine *(*get)(void);
	} known[BENCH_MAX_ENGINES] = {
		{ "lsm", bench_engine_lsm },
		{ "leveldb", bench_engine_leveldb },
		{ "rocksdb", bench_engine_rocksdb },
	};
	bool all = !strcmp(spec, "all");
	const char *p = all ? "lsm,leveldb,rocksdb" : spec;
	*n = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		int i = 0;
		while (i < BENCH_MAX_ENGINES &&
		       (strlen(known[i].name) != len ||
			strncmp(known[i].name, p, len)))
			i++;
		if (i == BENCH_MAX_ENGINES || *n == BENCH_MAX_ENGINES) {
			tool_error("bench: bad engine list '%s' (lsm, "
				   "leveldb, rocksdb, a comma list, or all)",
				   spec);
			return -1;
		}
		const struct bench_engine *e = known[i].get();
		if (e) {
			out[(*n)++] = e;
		} else {
			tool_error("bench: lsm was built without %s%s",
				   known[i].name,
				   all ? "; running the others" : "");
			if (!all)
				return -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (!*n) {
		tool_error("bench: no engine to run");
		return -1;
	}
	return 0;
}

static int check_args(const struct bench_args *a)
{
	uint64_t max = a->num - 1;
	int digits = 1;
	while (max >= 10) {
		max /= 10;
		digits++;
	}
	if (digits > a->key_size) {
		tool_error("bench: --key-size %d cannot hold %llu keys",
			   a->key_size, (unsigned long long)a->num);
		return -1;
	}
	for (int i = 0; i < a->nwl; i++)
		if (a->wl[i].kind == WL_FILLRANDOM && a->num > UINT32_MAX) {
			tool_error("bench: fillrandom: too many keys");
			return -1;
		}
	return 0;
}

static int run_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "benchmarks", required_argument, NULL, 'b' },
		{ "num", required_argument, NULL, 'n' },
		{ "reads", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "engine", required_argument, NULL, 'e' },
		{ "key-size", required_argument, NULL, OPT_KEY_SIZE },
		{ "value-size", required_argument, NULL, OPT_VALUE_SIZE },
		{ "compression", required_argument, NULL, OPT_COMPRESSION },
		{ "write-buffer-size", required_argument, NULL,
		  OPT_WRITE_BUFFER },
		{ "cache-size", required_argument, NULL, OPT_CACHE },
		{ "bloom-bits", required_argument, NULL, OPT_BLOOM },
		{ "sync", no_argument, NULL, OPT_SYNC },
		{ "db", required_argument, NULL, OPT_DB },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ 0 },
	};
	struct bench_args a;
	args_init(&a);
	if (parse_benchmarks(&a, BENCH_DEFAULT_LIST))
		return 1;
	int i = parse_options(&cmd_bench, argc, argv, "b:n:r:t:e:", longopts,
			      on_bench_opt, &a);
	if (i < 0)
		return options_exit(i);
	if (i != argc) {
		command_usage(&cmd_bench, stderr);
		return EXIT_USAGE;
	}
	const struct bench_engine *engines[BENCH_MAX_ENGINES];
	int nengines;
	if (check_args(&a) || pick_engines(a.engines, engines, &nengines))
		return 1;

	char base[PATH_MAX - 16];
	bool temp = !a.db;
	if (temp) {
		const char *tmp = getenv("TMPDIR");
		snprintf(base, sizeof base, "%s/lsm-bench-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(base)) {
			tool_error("bench: cannot make a directory in '%s': %s",
				   tmp && *tmp ? tmp : "/tmp", strerror(errno));
			return 1;
		}
	} else {
		snprintf(base, sizeof base, "%s", a.db);
		if (mkdir(base, 0755) && errno != EEXIST) {
			tool_error("bench: cannot create '%s': %s", base,
				   strerror(errno));
			return 1;
		}
	}

	printf("lsm bench: %llu keys of %d bytes, %d-byte values (half "
	       "compressible), %d thread%s%s\n",
	       (unsigned long long)a.num, a.key_size, a.value_size, a.threads,
	       a.threads > 1 ? "s" : "", a.sync ? ", every write synced" : "");
	printf("settings for every engine: write buffer %zu KiB, block %zu, "
	       "cache %zu KiB, bloom %d bits/key, compression %s, max open "
	       "files %d, L0 triggers %d/%d/%d, target file %llu KiB, L1 "
	       "%llu KiB x%d\n",
	       a.cfg.write_buffer_size >> 10, a.cfg.block_size,
	       a.cfg.cache_size >> 10, a.cfg.bloom_bits,
	       a.cfg.compression == 2 ? "lz4"
	       : a.cfg.compression    ? "zstd"
				      : "off",
	       a.cfg.max_open_files,
	       a.cfg.l0_compaction_trigger, a.cfg.l0_slowdown_trigger,
	       a.cfg.l0_stop_trigger,
	       (unsigned long long)a.cfg.target_file_size >> 10,
	       (unsigned long long)a.cfg.l1_target_size >> 10,
	       a.cfg.level_size_ratio);
	printf("data in %s/ENGINE%s\n", base,
	       temp && !a.keep ? " (removed afterwards)" : "");

	struct sigaction sa = { .sa_handler = on_signal };
	struct sigaction old_int, old_term, old_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	struct engine_result *res = calloc(BENCH_MAX_ENGINES, sizeof *res);
	int status = res ? 0 : 1;
	for (int k = 0; res && k < nengines; k++) {
		char dir[PATH_MAX];
		if ((size_t)snprintf(dir, sizeof dir, "%s/%s", base,
				     engines[k]->name) >= sizeof dir) {
			tool_error("bench: '%s': path too long", base);
			status = 1;
			break;
		}
		if (fork_engine(&a, engines[k], dir, &res[k]) == -EINTR) {
			tool_error("bench: interrupted");
			status = 130;
			break;
		}
		if (res[k].status)
			status = 1;
	}
	if (res && status != 130 && nengines > 1)
		print_comparison(&a, res, nengines);
	fflush(stdout);
	free(res);

	if (temp && !a.keep)
		remove_tree(base);
	else if (temp)
		printf("kept the data in %s\n", base);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return status;
}

const struct lsm_command cmd_bench = {
	"bench", "[OPTIONS]",
	"db_bench-style benchmark of the engine, LevelDB and RocksDB",
	"Runs workloads against a fresh store and prints, per workload, ops/s,\n"
	"micros/op (mean, p50, p99, p99.9), MiB/s, the store's size and CPU\n"
	"use (all threads, so above 100% with background work); at the end,\n"
	"bytes on disk, write amplification and peak RSS. Each engine runs in\n"
	"its own child process.\n\n"
	"  -b, --benchmarks=LIST   workloads, in order; by default\n"
	"                          fillseq,fillsync,fillsync:2,fillrandom,\n"
	"                          overwrite,readrandom,readmissing,readseq,\n"
	"                          seekrandom,readwhilewriting,deleterandom,\n"
	"                          compact\n"
	"                          fillseq, fillrandom, overwrite, fillsync\n"
	"                          (num/1000 synced writes), readrandom,\n"
	"                          readmissing, readseq, seekrandom (seek + 10\n"
	"                          next), deleterandom, readwhilewriting (one\n"
	"                          writer + THREADS readers), compact (full\n"
	"                          manual compaction); NAME:N runs NAME\n"
	"                          on N threads; fill* start from an empty store\n"
	"  -n, --num=N             keys (default 1000000)\n"
	"  -r, --reads=N           reads of the read workloads (default: num)\n"
	"  -t, --threads=N         threads per workload (default 1)\n"
	"  -e, --engine=E          lsm, leveldb, rocksdb, a comma list, or all\n"
	"                          (default lsm); all prints a comparison\n"
	"      --key-size=N        key bytes (default 16)\n"
	"      --value-size=N      value bytes (default 100)\n"
	"      --compression=C     zstd, lz4 or none (default zstd; LevelDB\n"
	"                          uses snappy, having neither)\n"
	"      --write-buffer-size=BYTES  memtable size (default 4M)\n"
	"      --cache-size=BYTES  block cache size (default 8M)\n"
	"      --bloom-bits=N      bloom filter bits per key, 0 for none\n"
	"                          (default 10)\n"
	"      --sync              make every write durable\n"
	"      --db=DIR            keep the stores in DIR/ENGINE (default: a\n"
	"                          temporary directory, removed afterwards)\n"
	"      --keep              keep the temporary directory\n"
	"      --seed=N            random seed (default 301)\n\n"
	"Sizes take a K, M or G suffix (powers of 1024). A progress line goes\n"
	"to stderr when it is a terminal.\n",
	run_bench,
};
