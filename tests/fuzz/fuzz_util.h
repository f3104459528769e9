/*
 * fuzz_util.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * The readers under test read files through the env, so a target writes its
 * input to a scratch file (on /dev/shm when there is one: no disk I/O) named
 * after the process, and reuses it for every input. Log lines are silenced:
 * damaged input makes the readers log a lot.
 *
 * Every function here is static: check_fuzz_corpus.c includes several
 * targets into one program, each with its own copy.
 */
#ifndef LSM_FUZZ_UTIL_H
#define LSM_FUZZ_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsm.h"

static char fuzz_dir[128];
static pid_t fuzz_dir_owner;

static inline void fuzz_rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[1024];
		snprintf(sub, sizeof sub, "%.700s/%.255s", path, e->d_name);
		if (e->d_type == DT_DIR)
			fuzz_rm_rf(sub);
		else
			unlink(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* Removes the scratch directory when the process that made it exits (not
 * when a forked child does). */
static inline void fuzz_cleanup(void)
{
	if (fuzz_dir[0] && getpid() == fuzz_dir_owner)
		fuzz_rm_rf(fuzz_dir);
}

/* A scratch directory for this process (created on first use). */
static inline const char *fuzz_scratch_dir(void)
{
	char *dir = fuzz_dir;
	if (!dir[0] || fuzz_dir_owner != getpid()) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
								 : "/tmp";
		snprintf(dir, sizeof fuzz_dir, "%s/lsm-fuzz.%ld", base,
			 (long)getpid());
		mkdir(dir, 0700);
		if (!fuzz_dir_owner)
			atexit(fuzz_cleanup);
		fuzz_dir_owner = getpid();
		lsm_set_log_handler(NULL, NULL);
	}
	return dir;
}

/* dir/name, in a static buffer per call site's choice of buf. */
static inline char *fuzz_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", fuzz_scratch_dir(), name);
	return buf;
}

/* Replaces the file at path with data. Returns 0 or -1. */
static inline int fuzz_write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = n ? fwrite(data, 1, n, f) : 0;
	int rc = fclose(f);
	return w == n && rc == 0 ? 0 : -1;
}

/* Reading input: a cursor over the fuzzer's bytes. */
struct fuzz_in {
	const unsigned char *p;
	size_t n;
};

static inline unsigned fuzz_byte(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* Takes up to max bytes (length from the next input byte). */
static inline size_t fuzz_chunk(struct fuzz_in *in, size_t max, const void **out)
{
	size_t len = fuzz_byte(in);
	if (len > max)
		len = max;
	if (len > in->n)
		len = in->n;
	*out = in->p;
	in->p += len;
	in->n -= len;
	return len;
}

/* Aborts (a crash for libFuzzer) when a property does not hold. */
#define FUZZ_CHECK(cond)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: property failed: %s\n",   \
				__FILE__, __LINE__, #cond);               \
			abort();                                          \
		}                                                         \
	} while (0)

#endif
