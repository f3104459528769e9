/*
 * cmd_admin.c - stats and compact: looking at and maintaining a store.
 * Also tool_is_mount(): stats (and scan) read a mounted store through its
 * mount point, since the mount holds the store's lock.
 */
#include "config.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
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

bool tool_is_mount(const char *dir)
{
	char path[4096];
	struct stat st;
	int n = snprintf(path, sizeof path, "%s/.lsm/stats", dir);
	return n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

/* Copies MNT/.lsm/NAME to stdout. Returns 0, or 1 after a message. */
static int cat_lsmdir(const char *mnt, const char *name)
{
	char path[4096], buf[65536];
	snprintf(path, sizeof path, "%s/.lsm/%s", mnt, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tool_error("cannot open '%s': %s", path, strerror(errno));
		return 1;
	}
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tool_error("reading '%s': %s", path, strerror(errno));
			rc = 1;
		}
		if (n <= 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			tool_error("writing stats: %s", strerror(errno));
			rc = 1;
			break;
		}
	}
	close(fd);
	return rc;
}

/*
 * The stats of a mounted store, from the files of its .lsm/ that hold the
 * same text as the offline formats: levels/summary and stats for the text,
 * stats.json, metrics.prom. The text's two files are generated one after
 * the other, so they are two instants of a live store.
 */
static int mount_stats(const char *mnt, enum stats_format fmt)
{
	int rc;
	if (fmt == FMT_JSON) {
		rc = cat_lsmdir(mnt, "stats.json");
	} else if (fmt == FMT_PROM) {
		rc = cat_lsmdir(mnt, "metrics.prom");
	} else {
		rc = cat_lsmdir(mnt, "levels/summary");
		if (!rc) {
			fputc('\n', stdout);
			rc = cat_lsmdir(mnt, "stats");
		}
	}
	if (fflush(stdout) && !rc) {
		tool_error("writing stats: %s", strerror(errno));
		rc = 1;
	}
	return rc;
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
	if (tool_is_mount(argv[i]))
		return mount_stats(argv[i], fmt);
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
		tool_error("writing stats: %s", strerror(errno));
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
	"The same counters a mount shows under .lsm/ (see lsmfs(1)). When\n"
	"DATADIR is the mount point of a mounted store, they are read from its\n"
	".lsm/ (the store itself is locked by the mount).\n\n"
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
