/*
 * tool.h - what the subcommands of the lsm tool share: one table entry per
 * command, the store opener and the output helpers.
 *
 * Conventions every command follows: -h/--help prints its usage to stdout
 * and exits 0; a usage error prints the usage to stderr and exits 2;
 * failures print "lsm: what happened: why" on stderr and exit 1.
 */
#ifndef LSM_TOOL_H
#define LSM_TOOL_H

#include <stdbool.h>
#include <stdio.h>

#include "lsm.h"

#define EXIT_USAGE 2

struct lsm_command {
	const char *name;
	const char *args;    /* synopsis of the arguments */
	const char *summary; /* one line for `lsm help` */
	const char *help;    /* the rest of `lsm help CMD`: options, notes */
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

extern const struct lsm_command cmd_put, cmd_get, cmd_del, cmd_scan, cmd_load,
	cmd_stats, cmd_compact, cmd_dump_wal, cmd_dump_sst, cmd_dump_manifest,
	cmd_check, cmd_repair;
extern const struct lsm_command cmd_bench;

/* Prints "usage: lsm NAME ARGS" and the help text to f. */
void command_usage(const struct lsm_command *c, FILE *f);

/*
 * Parses the options of command c (getopt_long with shortopts/longopts; "h"
 * and "help" are added by this function). For each option other than help
 * it calls on_opt(ctx, opt, optarg), which returns 0 or -1 for a bad value.
 * Returns the index of the first operand, or -1 after printing help (exit
 * 0) or -2 after a usage error (exit 2).
 */
struct option;
int parse_options(const struct lsm_command *c, int argc, char **argv,
		  const char *shortopts, const struct option *longopts,
		  int (*on_opt)(void *ctx, int opt, const char *arg), void *ctx);
/* Maps parse_options' negative results to an exit status. */
static inline int options_exit(int r) { return r == -1 ? 0 : EXIT_USAGE; }

/* Opens the store in dir, reporting failures as "lsm: DIR: why". When
 * writable, an unformatted store is formatted as an lsmfs tree; when not,
 * a missing store is an error. */
int tool_open(const char *dir, bool writable, struct lsm_db **db);
/*
 * Whether dir is the root of a live lsmfs mount: dir/.lsm/stats is a
 * regular file (.lsm is hidden from the root listing but found by name; a
 * store directory never has one). stats and scan then read the mount
 * instead of opening the store, which the mount holds locked.
 */
bool tool_is_mount(const char *dir);
/* Closes the store, reporting a failure; returns 0 or 1 (an exit status). */
int tool_close(struct lsm_db *db);
/* "lsm: " + message + newline on stderr. */
__attribute__((format(printf, 1, 2))) void tool_error(const char *fmt, ...);
/* Writes bytes with \\, \t, \n and other non-printable bytes escaped
 * (\xHH), so that one key is always one field of one line. */
void print_escaped(FILE *f, const char *s, size_t n);

#endif
