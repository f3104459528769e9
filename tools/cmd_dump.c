/*
 * cmd_dump.c - dump-wal, dump-sst, dump-manifest: print a store file's
 * records, verifying every checksum on the way. They read the file only, so
 * they also work on a copy, or while the store is mounted.
 */
#include "config.h"
#include "tool.h"

#include <stdio.h>

#include "../engine/env.h"
#include "../engine/sst_reader.h"
#include "../engine/version.h"
#include "../engine/wal_reader.h"

static int run_dump(const struct lsm_command *c, int argc, char **argv,
		    int (*dump)(struct lsm_env *, const char *, FILE *))
{
	int i = parse_options(c, argc, argv, NULL, NULL, NULL, NULL);
	if (i < 0)
		return options_exit(i);
	if (argc - i != 1) {
		command_usage(c, stderr);
		return EXIT_USAGE;
	}
	int rc = dump(env_posix(), argv[i], stdout);
	fflush(stdout);
	if (rc) {
		tool_error("%s: %s", argv[i], lsm_strerror(rc));
		return 1;
	}
	return 0;
}

static int run_dump_wal(int argc, char **argv)
{
	return run_dump(&cmd_dump_wal, argc, argv, wal_dump);
}

static int run_dump_sst(int argc, char **argv)
{
	return run_dump(&cmd_dump_sst, argc, argv, sst_dump);
}

static int run_dump_manifest(int argc, char **argv)
{
	return run_dump(&cmd_dump_manifest, argc, argv, manifest_dump);
}

const struct lsm_command cmd_dump_wal = {
	"dump-wal", "FILE", "print every record of a WAL segment",
	"Prints each record's offset, length and type, and for write batches\n"
	"every entry's sequence, type, key and value length. A torn tail is\n"
	"reported and ignored; corruption before it ends the dump with exit\n"
	"status 1 after a message naming the offset.\n",
	run_dump_wal,
};

const struct lsm_command cmd_dump_sst = {
	"dump-sst", "FILE", "print every block and entry of an SSTable",
	"Verifies each block's checksum while printing its offset, sizes and\n"
	"compression, then every entry (key, sequence, type, value length) and\n"
	"the table's properties. Exit status 1 on corruption.\n",
	run_dump_sst,
};

const struct lsm_command cmd_dump_manifest = {
	"dump-manifest", "FILE", "print every version edit of a MANIFEST",
	"Prints each edit: log number, next file number, last sequence, the\n"
	"files added (level, number, size, key range) and removed.\n",
	run_dump_manifest,
};
