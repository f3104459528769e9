/*
 * cmd_check.c - check and repair: verifying a store offline and rebuilding
 * a damaged one (lsm_check and lsm_repair in the engine). Both take the
 * store lock, so they refuse to run while the store is mounted.
 */
#include "config.h"
#include "tool.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

struct verbose {
	bool on;
};

static int on_verbose_opt(void *ctx, int opt, const char *arg)
{
	(void)arg;
	struct verbose *v = ctx;
	if (opt != 'v')
		return -1;
	v->on = true;
	return 0;
}

static const struct option verbose_longopts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ 0 },
};

/* Explains an error that kept an offline command from running at all. */
static void why_not(const char *what, const char *dir, int rc)
{
	if (rc == -EBUSY)
		tool_error("cannot %s '%s': the store is in use (is it "
			   "mounted?)",
			   what, dir);
	else if (rc == -ENOENT)
		tool_error("cannot %s '%s': no store there", what, dir);
	else
		tool_error("cannot %s '%s': %s", what, dir, lsm_strerror(rc));
}

static int run_check(int argc, char **argv)
{
	struct verbose v = { false };
	int i = parse_options(&cmd_check, argc, argv, "v", verbose_longopts,
			      on_verbose_opt, &v);
	if (i < 0)
		return options_exit(i);
	if (argc - i != 1) {
		command_usage(&cmd_check, stderr);
		return EXIT_USAGE;
	}
	/* every finding is in the report; the engine's log lines would say
	 * the same things again */
	if (!v.on)
		lsm_set_log_handler(NULL, NULL);
	int problems = 0;
	int rc = lsm_check(argv[i], stdout, &problems);
	if (fflush(stdout)) {
		tool_error("writing the report: %s", strerror(errno));
		return 1;
	}
	if (rc == -EIO) {
		tool_error("%s: %d problem%s found", argv[i], problems,
			   problems == 1 ? "" : "s");
		return 1;
	}
	if (rc) {
		why_not("check", argv[i], rc);
		return 1;
	}
	return 0;
}

static int run_repair(int argc, char **argv)
{
	struct verbose v = { false };
	int i = parse_options(&cmd_repair, argc, argv, "v", verbose_longopts,
			      on_verbose_opt, &v);
	if (i < 0)
		return options_exit(i);
	if (argc - i != 1) {
		command_usage(&cmd_repair, stderr);
		return EXIT_USAGE;
	}
	if (!v.on)
		lsm_set_log_handler(NULL, NULL);
	int rc = lsm_repair(argv[i], NULL, stdout);
	if (fflush(stdout)) {
		tool_error("writing the report: %s", strerror(errno));
		return 1;
	}
	if (rc) {
		why_not("repair", argv[i], rc);
		return 1;
	}
	return 0;
}

const struct lsm_command cmd_check = {
	"check", "[--verbose] DATADIR",
	"verify every file of a store offline",
	"Reads CURRENT, replays the MANIFEST, verifies every table it names\n"
	"(size, every block checksum, key order within and across blocks, the\n"
	"index, filter and properties, and the key range the MANIFEST\n"
	"records), checks that levels 1 and up do not overlap, and reads every\n"
	"WAL segment still needed. Each problem is one line on stdout naming\n"
	"the file and byte offset; harmless findings (tables the MANIFEST does\n"
	"not name, a torn WAL tail) are lines starting with 'warning:'.\n"
	"Nothing is changed. Refuses to run while the store is in use.\n\n"
	"  -v, --verbose   also show the engine's diagnostics on stderr\n\n"
	"Exit status: 0 clean (warnings allowed), 1 corruption found or the\n"
	"check could not run, 2 usage error.\n",
	run_check,
};

const struct lsm_command cmd_repair = {
	"repair", "[--verbose] DATADIR",
	"rebuild a damaged store from the files that survive",
	"Converts every WAL segment into tables (skipping damaged records),\n"
	"keeps every table that verifies, copies the readable blocks of every\n"
	"damaged table into a new one, and writes a new MANIFEST naming them\n"
	"all. Never deletes data: damaged files, converted WAL segments and\n"
	"old MANIFESTs are moved to DATADIR/lost/. Prints what it did and a\n"
	"summary on stdout. Refuses to run while the store is in use. Keys in\n"
	"damaged blocks are lost, and an older version of such a key may\n"
	"reappear: check the result.\n\n"
	"  -v, --verbose   also show the engine's diagnostics on stderr\n\n"
	"Exit status: 0 repaired, 1 failure, 2 usage error.\n",
	run_repair,
};
