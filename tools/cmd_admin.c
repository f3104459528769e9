/*
 * cmd_admin.c - stats and compact: looking at and maintaining a store.
 */
#include "config.h"
#include "tool.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "../fs/report.h"

enum stats_format { FMT_TEXT, FMT_JSON, FMT_PROM };

static int on_stats_opt(void *ctx, int opt, const char *arg)
{
	enum stats_format *fmt = ctx;
	if (opt == 'j')
		*fmt = FMT_JSON;
	else if (opt == 'p')
		*fmt = FMT_PROM;
	else
		return -1;
	(void)arg;
	return 0;
}

static int run_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ 0 },
	};
	enum stats_format fmt = FMT_TEXT;
	int i = parse_options(&cmd_stats, argc, argv, "jp", longopts,
			      on_stats_opt, &fmt);
	if (i < 0)
		return options_exit(i);
	if (argc - i != 1) {
		command_usage(&cmd_stats, stderr);
		return EXIT_USAGE;
	}
	struct lsm_db *db;
	if (tool_open(argv[i], false, &db))
		return 1;
	struct lsm_stats s;
	int rc = lsm_stats_get(db, &s);
	if (rc) {
		tool_error("stats: %s", lsm_strerror(rc));
		tool_close(db);
		return 1;
	}
	if (fmt == FMT_JSON) {
		report_json(stdout, &s);
	} else if (fmt == FMT_PROM) {
		report_prometheus(stdout, &s);
	} else {
		report_levels(stdout, &s);
		fputc('\n', stdout);
		report_all(stdout, &s);
	}
	lsm_stats_release(&s);
	int cl = tool_close(db);
	if (fflush(stdout)) {
		tool_error("writing stats: %s", strerror(ferror(stdout)));
		return 1;
	}
	return cl;
}

static void show_progress(void *ctx, int level, uint64_t done, uint64_t total)
{
	(void)ctx;
	fprintf(stderr, "\rlsm: compacting into L%d: %llu of %llu MiB", level,
		(unsigned long long)(done >> 20),
		(unsigned long long)(total >> 20));
	fflush(stderr);
}

static int run_compact(int argc, char **argv)
{
	int i = parse_options(&cmd_compact, argc, argv, NULL, NULL, NULL, NULL);
	if (i < 0)
		return options_exit(i);
	if (argc - i != 1) {
		command_usage(&cmd_compact, stderr);
		return EXIT_USAGE;
	}
	struct lsm_db *db;
	if (tool_open(argv[i], false, &db))
		return 1;
	bool tty = isatty(STDERR_FILENO);
	int rc = lsm_compact(db, tty ? show_progress : NULL, NULL);
	if (tty)
		fputc('\n', stderr);
	if (rc)
		tool_error("compact: %s", lsm_strerror(rc));
	int cl = tool_close(db);
	return rc ? 1 : cl;
}

const struct lsm_command cmd_stats = {
	"stats", "[--json | --prometheus] DATADIR",
	"print the level table and every engine counter",
	"The same counters a mount shows under .lsm/ (see lsmfs(1)).\n\n"
	"  -j, --json         one JSON object, as .lsm/stats.json\n"
	"  -p, --prometheus   Prometheus text format, as .lsm/metrics.prom\n",
	run_stats,
};

const struct lsm_command cmd_compact = {
	"compact", "DATADIR",
	"merge every level into the deepest, dropping dead data",
	"Flushes the memtable, then compacts level by level until all data\n"
	"is in one level, without shadowed versions or tombstones. Progress\n"
	"goes to stderr when it is a terminal.\n",
	run_compact,
};
