/*
 * lsm.c - the lsm command: git-style subcommands over a store directory.
 * This file holds the dispatcher, `lsm help`, and the helpers every
 * subcommand shares (tool.h); the subcommands live in cmd_*.c.
 */
#include "config.h"
#include "tool.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../fs/keyspace.h"

static const struct lsm_command *const commands[] = {
	&cmd_put, &cmd_get, &cmd_del, &cmd_scan, &cmd_load, &cmd_stats,
	&cmd_compact, &cmd_check, &cmd_repair,
	&cmd_dump_wal, &cmd_dump_sst, &cmd_dump_manifest,
	&cmd_bench,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

void tool_error(const char *fmt, ...)
{
	va_list ap;
	fputs("lsm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void print_escaped(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

void command_usage(const struct lsm_command *c, FILE *f)
{
	fprintf(f, "usage: lsm %s %s\n%s\n", c->name, c->args, c->summary);
	if (c->help && *c->help)
		fprintf(f, "\n%s", c->help);
}

int parse_options(const struct lsm_command *c, int argc, char **argv,
		  const char *shortopts, const struct option *longopts,
		  int (*on_opt)(void *ctx, int opt, const char *arg), void *ctx)
{
	char shorts[64];
	struct option longs[32];
	size_t n = 0;
	snprintf(shorts, sizeof shorts, "+h%s", shortopts ? shortopts : "");
	for (; longopts && longopts[n].name && n < 30; n++)
		longs[n] = longopts[n];
	longs[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longs[n] = (struct option){ 0 };

	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (opt == 'h') {
			command_usage(c, stdout);
			return -1;
		}
		if (opt == '?' || opt == ':') {
			if (optopt)
				tool_error("%s: unknown option '-%c'", c->name,
					   optopt);
			else
				tool_error("%s: unknown option '%s'", c->name,
					   argv[optind - 1]);
			command_usage(c, stderr);
			return -2;
		}
		if (!on_opt || on_opt(ctx, opt, optarg)) {
			command_usage(c, stderr);
			return -2;
		}
	}
	return optind;
}

int tool_open(const char *dir, bool writable, struct lsm_db **db)
{
	struct lsm_options opt;
	lsm_options_init(&opt);
	opt.create_if_missing = writable;
	int rc = lsm_open(dir, &opt, db);
	if (rc == -EBUSY) {
		tool_error("cannot open '%s': the store is in use (is it "
			   "mounted?)",
			   dir);
		return rc;
	}
	if (rc == -ENOENT) {
		tool_error("cannot open '%s': no store there", dir);
		return rc;
	}
	if (rc) {
		tool_error("cannot open '%s': %s", dir, lsm_strerror(rc));
		return rc;
	}
	if (writable) {
		rc = ks_format(*db);
		if (rc) {
			tool_error("cannot prepare '%s': %s", dir,
				   lsm_strerror(rc));
			lsm_close(*db);
			*db = NULL;
		}
	}
	return rc;
}

int tool_close(struct lsm_db *db)
{
	int rc = lsm_close(db);
	if (rc) {
		tool_error("closing the store: %s", lsm_strerror(rc));
		return 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lsm [--version] [--help] COMMAND [ARGS]\n\n"
		   "Reads and writes an lsmfs store offline. Keys are paths "
		   "of files in the\nstore's file tree, as lsmfs shows them "
		   "when the store is mounted.\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-14s %s\n", commands[i]->name,
			commands[i]->summary);
	fprintf(f, "\n'lsm help COMMAND' or 'lsm COMMAND --help' shows a "
		   "command's options.\nExit status: 0 success, 1 failure "
		   "(or key not found), 2 usage error.\n");
}

static const struct lsm_command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("lsm (lsmfs) %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (!strcmp(name, "help")) {
		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		const struct lsm_command *c = find(argv[2]);
		if (!c) {
			tool_error("no command '%s'", argv[2]);
			return EXIT_USAGE;
		}
		command_usage(c, stdout);
		return 0;
	}
	const struct lsm_command *c = find(name);
	if (!c) {
		tool_error("no command '%s' (see 'lsm --help')", name);
		return EXIT_USAGE;
	}
	return c->run(argc - 1, argv + 1);
}
