/*
 * main.c - lsmfs [-f] [-d] [-o OPT[,OPT...]] DATADIR MOUNTPOINT
 *
 * Parses the options (one fuse_opt table: ours, then the standard FUSE
 * ones passed through), opens the store, mounts it and runs the
 * multithreaded FUSE loop. Unless -f, the process forks before opening the
 * store (the engine's threads must live in the daemon) and the parent exits
 * only once the mount is up, with the child's status: errors such as a store
 * already in use reach the terminal and the exit code.
 */
#include "config.h"
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "lsm.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0"
#endif

struct options {
	char *sync;
	char *write_buffer_size;
	char *block_cache_size;
	char *compression;
	int compression_level;
	int bloom_bits;
	int l0_slowdown_trigger;
	int l0_stop_trigger;
	int writeback_cache;
	double attr_timeout;
	double entry_timeout;
	int show_help;
	int show_version;
	char *datadir;
};

enum { KEY_HELP, KEY_VERSION };

#define OPT(t, p) { t, offsetof(struct options, p), 1 }
static const struct fuse_opt option_spec[] = {
	OPT("sync=%s", sync),
	OPT("write_buffer_size=%s", write_buffer_size),
	OPT("block_cache_size=%s", block_cache_size),
	OPT("compression=%s", compression),
	OPT("compression_level=%d", compression_level),
	OPT("bloom_bits=%d", bloom_bits),
	OPT("l0_slowdown_trigger=%d", l0_slowdown_trigger),
	OPT("l0_stop_trigger=%d", l0_stop_trigger),
	OPT("writeback_cache", writeback_cache),
	OPT("attr_timeout=%lf", attr_timeout),
	OPT("entry_timeout=%lf", entry_timeout),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

/* libfuse 3.14's fuse_session_loop_mt_31() never frees the loop config
 * it creates; keep sanitizer builds quiet about it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:fuse_loop_cfg_create\n";
}

static void usage(const char *prog)
{
	printf("usage: %s [options] DATADIR MOUNTPOINT\n\n"
	       "Mounts the lsmfs store in DATADIR (created when absent) at "
	       "MOUNTPOINT.\nUnmount with 'fusermount3 -u MOUNTPOINT'.\n\n"
	       "lsmfs options:\n"
	       "    -o sync=always|none       make every write durable "
	       "before it returns (none)\n"
	       "    -o write_buffer_size=N    memtable size, K/M/G suffix "
	       "(32M)\n"
	       "    -o block_cache_size=N     block cache size (8M)\n"
	       "    -o compression=zstd|lz4|none  SSTable block "
	       "compression (zstd)\n"
	       "    -o compression_level=N    zstd level (3)\n"
	       "    -o bloom_bits=N           bloom filter bits per key, 0 "
	       "disables (10)\n"
	       "    -o l0_slowdown_trigger=N  level-0 tables that slow "
	       "writes (8)\n"
	       "    -o l0_stop_trigger=N      level-0 tables that stop "
	       "writes (12)\n"
	       "    -o writeback_cache        use the kernel writeback "
	       "cache\n"
	       "    -o attr_timeout=SECONDS   attribute cache timeout (1)\n"
	       "    -o entry_timeout=SECONDS  name cache timeout (1)\n\n",
	       prog);
}

static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct options *o = data;
	(void)outargs;
	switch (key) {
	case KEY_HELP:
		o->show_help = 1;
		return 0;
	case KEY_VERSION:
		o->show_version = 1;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (!o->datadir) {
			o->datadir = strdup(arg);
			return 0;
		}
		return 1; /* the mountpoint, for fuse_parse_cmdline */
	}
	return 1;
}

/* "64M" -> bytes. Returns 0 or -EINVAL. */
static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || v > (SIZE_MAX >> shift))
		return -EINVAL;
	*out = (size_t)(v << shift);
	return 0;
}

/*
 * A mount's memtable is bigger than the engine's 4 MiB default: file data
 * arrives in 1 MiB writes, and with 4 MiB memtables a sequential write
 * flushes every four of them and stalls on level-0 compactions (about 2.5x
 * the daemon CPU per GiB, BENCHMARKS.md). Up to three memtables (one active,
 * two frozen) may be in memory at once.
 */
#define LSMFS_WRITE_BUFFER_SIZE (32u << 20)

static int engine_options(const struct options *o, struct lsm_options *lo)
{
	lsm_options_init(lo);
	lo->write_buffer_size = LSMFS_WRITE_BUFFER_SIZE;
	if (o->sync && strcmp(o->sync, "always") == 0)
		lo->sync_mode = LSM_SYNC_ALWAYS;
	else if (o->sync && strcmp(o->sync, "none") != 0)
		goto bad_sync;
	if (o->write_buffer_size &&
	    (parse_size(o->write_buffer_size, &lo->write_buffer_size) ||
	     lo->write_buffer_size == 0)) {
		fprintf(stderr, "lsmfs: bad write_buffer_size '%s'\n",
			o->write_buffer_size);
		return -EINVAL;
	}
	if (o->block_cache_size &&
	    parse_size(o->block_cache_size, &lo->block_cache_size)) {
		fprintf(stderr, "lsmfs: bad block_cache_size '%s'\n",
			o->block_cache_size);
		return -EINVAL;
	}
	if (o->compression && strcmp(o->compression, "none") == 0)
		lo->compression = LSM_COMPRESSION_NONE;
	else if (o->compression && strcmp(o->compression, "zstd") == 0)
		lo->compression = LSM_COMPRESSION_ZSTD;
	else if (o->compression && strcmp(o->compression, "lz4") == 0)
		lo->compression = LSM_COMPRESSION_LZ4;
	else if (o->compression) {
		fprintf(stderr,
			"lsmfs: bad compression '%s' (zstd, lz4 or none)\n",
			o->compression);
		return -EINVAL;
	}
	if (o->compression_level != INT_MIN)
		lo->compression_level = o->compression_level;
	if (o->bloom_bits != INT_MIN) {
		if (o->bloom_bits < 0) {
			fprintf(stderr, "lsmfs: bad bloom_bits %d\n",
				o->bloom_bits);
			return -EINVAL;
		}
		lo->bloom_bits_per_key = o->bloom_bits;
	}
	if (o->l0_slowdown_trigger != INT_MIN)
		lo->l0_slowdown_trigger = o->l0_slowdown_trigger;
	if (o->l0_stop_trigger != INT_MIN)
		lo->l0_stop_trigger = o->l0_stop_trigger;
	if (lo->l0_slowdown_trigger < 1 ||
	    lo->l0_stop_trigger < lo->l0_slowdown_trigger) {
		fprintf(stderr, "lsmfs: need 1 <= l0_slowdown_trigger <= "
				"l0_stop_trigger\n");
		return -EINVAL;
	}
	return 0;
bad_sync:
	fprintf(stderr, "lsmfs: bad sync '%s' (always or none)\n", o->sync);
	return -EINVAL;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf)
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Forks; the parent waits for the child's report and exits with it. */
static int daemon_start(int *report_fd)
{
	int p[2];
	if (pipe(p))
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		char status = 1;
		close(p[1]);
		if (read(p[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(p[0]);
	setsid();
	*report_fd = p[1];
	return 0;
}

static void log_syslog(void *ctx, const char *line)
{
	(void)ctx;
	syslog(LOG_ERR, "%s", line);
}

/* Tells the waiting parent how the start went; detaches on success. */
static void daemon_report(int *report_fd, char status)
{
	if (*report_fd < 0)
		return;
	if (status == 0) {
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		openlog("lsmfs", LOG_PID, LOG_DAEMON);
		lsm_set_log_handler(log_syslog, NULL);
		if (chdir("/")) {
			/* nothing depends on the cwd any more */
		}
	}
	if (write(*report_fd, &status, 1) != 1) {
		/* the parent is gone: nobody to tell */
	}
	close(*report_fd);
	*report_fd = -1;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd;
	struct options o;
	struct lsm_options lo;
	struct lsm_db *db = NULL;
	struct lsmfs fs;
	struct ops_ctx ctx;
	struct fuse_session *se = NULL;
	char *datadir = NULL;
	int report_fd = -1, rc, ret = 1;

	memset(&o, 0, sizeof o);
	memset(&cmd, 0, sizeof cmd);
	o.compression_level = o.bloom_bits = INT_MIN;
	o.l0_slowdown_trigger = o.l0_stop_trigger = INT_MIN;
	o.attr_timeout = o.entry_timeout = 1.0;
	if (fuse_opt_parse(&args, &o, option_spec, opt_proc) == -1)
		goto out_args;
	if (o.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_args;
	}
	if (o.show_version) {
		printf("lsmfs version %s\n", PACKAGE_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (fuse_parse_cmdline(&args, &cmd) != 0)
		goto out_args;
	if (!o.datadir || !cmd.mountpoint) {
		fprintf(stderr, "lsmfs: missing %s\nusage: %s [options] DATADIR "
				"MOUNTPOINT (see %s --help)\n",
			o.datadir ? "MOUNTPOINT" : "DATADIR and MOUNTPOINT",
			argv[0], argv[0]);
		goto out_args;
	}
	if (engine_options(&o, &lo))
		goto out_args;
	if (o.attr_timeout < 0 || o.entry_timeout < 0) {
		fprintf(stderr, "lsmfs: timeouts must not be negative\n");
		goto out_args;
	}
	rc = make_dirs(o.datadir);
	if (!rc && !(datadir = realpath(o.datadir, NULL)))
		rc = -errno;
	if (rc) {
		fprintf(stderr, "lsmfs: cannot create '%s': %s\n", o.datadir,
			strerror(-rc));
		goto out_args;
	}

	if (!cmd.foreground && (rc = daemon_start(&report_fd))) {
		fprintf(stderr, "lsmfs: cannot start the daemon: %s\n",
			strerror(-rc));
		goto out_args;
	}
	rc = lsm_open(datadir, &lo, &db);
	if (rc == -EBUSY) {
		fprintf(stderr, "lsmfs: store '%s' is in use by another lsmfs "
				"or lsm process\n", datadir);
		goto out_report;
	} else if (rc) {
		fprintf(stderr, "lsmfs: cannot open store '%s': %s\n", datadir,
			lsm_strerror(rc));
		goto out_report;
	}
	rc = lsmfs_init(&fs, db, datadir);
	if (rc) {
		fprintf(stderr, "lsmfs: cannot use store '%s': %s\n", datadir,
			lsm_strerror(rc));
		lsm_close(db);
		goto out_report;
	}
	/* every write durable before it returns: nothing may wait in memory */
	fs.write_behind = lo.sync_mode != LSM_SYNC_ALWAYS;
	memset(&ctx, 0, sizeof ctx);
	ctx.fs = &fs;
	ctx.attr_timeout = o.attr_timeout;
	ctx.entry_timeout = o.entry_timeout;
	ctx.writeback_cache = o.writeback_cache;

	se = fuse_session_new(&args, &lsmfs_ops, sizeof lsmfs_ops, &ctx);
	if (!se)
		goto out_close;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, cmd.mountpoint) != 0)
		goto out_signals;
	daemon_report(&report_fd, 0);
	if (cmd.singlethread)
		ret = fuse_session_loop(se);
	else
		ret = fuse_session_loop_mt(se, cmd.clone_fd);
	ret = ret < 0 ? 1 : 0; /* a signal is a normal stop */
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se); /* runs op_destroy if the kernel met us */
out_close:
	if (ops_shutdown(&ctx) && ret == 0) {
		/* a failed close may have lost data: say so */
		ret = 1;
	}
out_report:
	daemon_report(&report_fd, (char)(ret ? ret : 0));
out_args:
	free(datadir);
	free(cmd.mountpoint);
	free(o.datadir);
	free(o.sync);
	free(o.write_buffer_size);
	free(o.block_cache_size);
	free(o.compression);
	fuse_opt_free_args(&args);
	return ret;
}
