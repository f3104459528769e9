/*
 * cmd_kv.c - the key-value subcommands: put, get, del, load (scan is in
 * cmd_scan.c).
 *
 * Keys are file paths of the store's tree (fs/keyspace.h), so what these
 * commands write is what a mount shows, and the other way round.
 */
#include "config.h"
#include "tool.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../fs/keyspace.h"

/* Checks a key given on the command line; prints why it is refused. */
static int check_key(const char *key, size_t klen)
{
	const char *why = NULL;
	int rc = ks_path_validate(key, klen, &why);
	if (rc) {
		fprintf(stderr, "lsm: invalid key '");
		print_escaped(stderr, key, klen);
		fprintf(stderr, "': %s\n", why ? why : lsm_strerror(rc));
	}
	return rc;
}

struct sync_flag {
	int flags;
};

static int on_sync_opt(void *ctx, int opt, const char *arg)
{
	(void)arg;
	struct sync_flag *s = ctx;
	if (opt != 's')
		return -1;
	s->flags = LSM_WRITE_SYNC;
	return 0;
}

static const struct option sync_longopts[] = {
	{ "sync", no_argument, NULL, 's' },
	{ 0 },
};

static int run_put(int argc, char **argv)
{
	struct sync_flag s = { 0 };
	int i = parse_options(&cmd_put, argc, argv, "s", sync_longopts,
			      on_sync_opt, &s);
	if (i < 0)
		return options_exit(i);
	if (argc - i != 3) {
		command_usage(&cmd_put, stderr);
		return EXIT_USAGE;
	}
	const char *key = argv[i + 1], *val = argv[i + 2];
	if (check_key(key, strlen(key)))
		return 1;
	struct lsm_db *db;
	if (tool_open(argv[i], true, &db))
		return 1;
	int rc = ks_file_write(db, key, strlen(key), val, strlen(val), s.flags);
	if (rc)
		tool_error("put '%s': %s", key, lsm_strerror(rc));
	int cl = tool_close(db);
	return rc ? 1 : cl;
}

static int run_get(int argc, char **argv)
{
	int i = parse_options(&cmd_get, argc, argv, NULL, NULL, NULL, NULL);
	if (i < 0)
		return options_exit(i);
	if (argc - i != 2) {
		command_usage(&cmd_get, stderr);
		return EXIT_USAGE;
	}
	const char *key = argv[i + 1];
	if (check_key(key, strlen(key)))
		return 1;
	struct lsm_db *db;
	if (tool_open(argv[i], false, &db))
		return 1;
	char *val = NULL;
	size_t vlen = 0;
	int rc = ks_file_read(db, key, strlen(key), &val, &vlen);
	if (rc == -ENOENT)
		tool_error("'%s': not found", key);
	else if (rc == -EISDIR)
		tool_error("'%s': is a directory", key);
	else if (rc)
		tool_error("get '%s': %s", key, lsm_strerror(rc));
	else if (fwrite(val, 1, vlen, stdout) != vlen || fflush(stdout)) {
		tool_error("writing the value: %s", strerror(errno));
		rc = -EIO;
	}
	free(val);
	int cl = tool_close(db);
	return rc ? 1 : cl;
}

static int run_del(int argc, char **argv)
{
	struct sync_flag s = { 0 };
	int i = parse_options(&cmd_del, argc, argv, "s", sync_longopts,
			      on_sync_opt, &s);
	if (i < 0)
		return options_exit(i);
	if (argc - i != 2) {
		command_usage(&cmd_del, stderr);
		return EXIT_USAGE;
	}
	const char *key = argv[i + 1];
	if (check_key(key, strlen(key)))
		return 1;
	struct lsm_db *db;
	if (tool_open(argv[i], true, &db))
		return 1;
	int rc = ks_file_delete(db, key, strlen(key), s.flags);
	if (rc == -ENOENT)
		tool_error("'%s': not found", key);
	else if (rc)
		tool_error("del '%s': %s", key, lsm_strerror(rc));
	int cl = tool_close(db);
	return rc ? 1 : cl;
}

struct load_opts {
	int flags;
	bool echo;
};

static int on_load_opt(void *ctx, int opt, const char *arg)
{
	(void)arg;
	struct load_opts *o = ctx;
	if (opt == 's')
		o->flags = LSM_WRITE_SYNC;
	else if (opt == 'e')
		o->echo = true;
	else
		return -1;
	return 0;
}

static int run_load(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sync", no_argument, NULL, 's' },
		{ "echo", no_argument, NULL, 'e' },
		{ 0 },
	};
	struct load_opts o = { 0, false };
	int i = parse_options(&cmd_load, argc, argv, "se", longopts,
			      on_load_opt, &o);
	if (i < 0)
		return options_exit(i);
	if (argc - i != 1) {
		command_usage(&cmd_load, stderr);
		return EXIT_USAGE;
	}
	struct lsm_db *db;
	if (tool_open(argv[i], true, &db))
		return 1;

	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long long count = 0, lineno = 0;
	int rc = 0;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		char *tab = memchr(line, '\t', (size_t)n);
		if (!tab) {
			tool_error("stdin:%llu: no TAB between key and value",
				   lineno);
			rc = -EINVAL;
			break;
		}
		size_t klen = (size_t)(tab - line);
		if (check_key(line, klen)) {
			fprintf(stderr, "lsm: at stdin:%llu\n", lineno);
			rc = -EINVAL;
			break;
		}
		rc = ks_file_write(db, line, klen, tab + 1,
				   (size_t)(n - (ssize_t)klen - 1), o.flags);
		if (rc) {
			tool_error("stdin:%llu: put: %s", lineno,
				   lsm_strerror(rc));
			break;
		}
		count++;
		if (o.echo) {
			/* the line is stored (and durable with --sync) */
			fwrite(line, 1, klen, stdout);
			fputc('\n', stdout);
			fflush(stdout);
		}
	}
	free(line);
	if (!o.echo)
		printf("%llu\n", count);
	else
		fprintf(stderr, "lsm: loaded %llu keys\n", count);
	int cl = tool_close(db);
	return rc ? 1 : cl;
}

const struct lsm_command cmd_put = {
	"put", "[--sync] DATADIR KEY VALUE",
	"store VALUE as the content of file KEY",
	"Parent directories of KEY are created. An existing file keeps its\n"
	"inode and owner and gets the new content.\n\n"
	"  -s, --sync   make the write durable before exiting\n",
	run_put,
};

const struct lsm_command cmd_get = {
	"get", "DATADIR KEY", "print the content of file KEY",
	"The content goes to stdout exactly as stored. Exit status 1 and a\n"
	"message on stderr when KEY does not exist.\n",
	run_get,
};

const struct lsm_command cmd_del = {
	"del", "[--sync] DATADIR KEY", "delete file KEY (a tombstone)",
	"  -s, --sync   make the delete durable before exiting\n",
	run_del,
};

const struct lsm_command cmd_load = {
	"load", "[--sync] [--echo] DATADIR",
	"store KEY<TAB>VALUE lines read from stdin",
	"One put per line; the value is the rest of the line after the first\n"
	"TAB. Prints the number of keys stored.\n\n"
	"  -s, --sync   each line is durable before the next is read\n"
	"  -e, --echo   print each key once it is stored (and durable, with\n"
	"               --sync) instead of the final count\n",
	run_load,
};
