/*
 * cmd_bench.c - lsm bench: db_bench-style workloads against our engine and,
 * in the same run, LevelDB and RocksDB (see bench_engine.h).
 *
 * Structure: the parent parses the options, makes the data directory and
 * forks one child per engine, one after another, so that each engine's peak
 * RSS and write(2) bytes are its own. A child runs the workloads in order
 * (bench_run.h), prints its report and sends a struct engine_result
 * (bench_result.h) back through a pipe. With more than one engine the
 * parent then prints one comparison table (bench_report.h).
 */
#include "config.h"
#include "tool.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_args.h"
#include "bench_engine.h"
#include "bench_report.h"
#include "bench_result.h"
#include "bench_run.h"
#include "bench_tree.h"
#include "bench_workload.h"

/* keep in step with the help text */
#define BENCH_DEFAULT_LIST                                              \
	"fillseq,fillsync,fillsync:2,fillrandom,overwrite,readrandom,"  \
	"readmissing,readseq,seekrandom,readwhilewriting,deleterandom," \
	"compact"

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
		int k = wl_kind_find(tok, len);
		if (k < 0 || strlen(tok) >= sizeof w->label) {
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

/* ---- one child per engine ---- */

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
		int rc = out ? bench_run_engine(a, e, dir, out) : -ENOMEM;
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

/* ---- the command ---- */

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

	bench_report_settings(&a, base, temp && !a.keep);

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
		bench_report_comparison(&a, res, nengines);
	fflush(stdout);
	free(res);

	if (temp && !a.keep)
		bench_tree_remove(base);
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
