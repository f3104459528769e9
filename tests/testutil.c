/*
 * testutil.c - fixtures and helpers shared by the store's Check programs;
 * see testutil.h.
 */
#include "config.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lsm.h"

/* ---- the runner and the test directory ---- */

char tu_dir[128];

static const char *prog_name = "check";
/* The base directory of the running test case; "" outside tu_tcase().
 * Set by the runner process before it forks a test. */
static char base[64];

int tu_run(const char *prog, Suite *s)
{
	prog_name = prog;
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void base_setup(void)
{
	snprintf(base, sizeof base, "/tmp/%s.XXXXXX", prog_name);
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}

static void base_teardown(void)
{
	tu_rm_rf(base);
	base[0] = '\0';
}

TCase *tu_tcase(Suite *s, const char *name, int timeout, void (*setup)(void),
		void (*teardown)(void))
{
	TCase *tc = tcase_create(name);
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

void tu_mkdtemp(char *out, size_t size, const char *name)
{
	if (base[0])
		snprintf(out, size, "%s/%s.XXXXXX", base, name);
	else
		snprintf(out, size, "/tmp/%s.XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

void tu_dir_setup(void)
{
	tu_mkdtemp(tu_dir, sizeof tu_dir, base[0] ? "t" : prog_name);
}

void tu_dir_teardown(void)
{
	tu_rm_rf(tu_dir);
}

void tu_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st))
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[512];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			tu_rm_rf(sub);
		}
		if (d)
			closedir(d);
	}
	remove(path);
}

/* ---- the store in tu_dir ---- */

struct lsm_db *tu_open_ok(const struct lsm_options *o)
{
	struct lsm_db *db = NULL;
	int rc = lsm_open(tu_dir, o, &db);
	ck_assert_msg(rc == 0, "lsm_open('%s'): %s", tu_dir, lsm_strerror(rc));
	ck_assert_ptr_nonnull(db);
	return db;
}

void tu_close_ok(struct lsm_db *db)
{
	int rc = lsm_close(db);
	ck_assert_msg(rc == 0, "lsm_close: %s", lsm_strerror(rc));
}

void tu_reopen_ok(struct lsm_db **db, const struct lsm_options *o)
{
	tu_close_ok(*db);
	*db = tu_open_ok(o);
}

uint64_t tu_level_files(const struct lsm_stats *s, int from)
{
	uint64_t n = 0;
	for (int l = from; l < LSM_NUM_LEVELS; l++)
		n += s->levels[l].files;
	return n;
}

/* ---- captured log lines ---- */

#define LOG_LINES 256

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char lines[LOG_LINES][512]; /* log_mu */
static int nlines;                 /* log_mu */
static bool log_echo;              /* set before the handler is */

static void capture(void *ctx, const char *line)
{
	(void)ctx;
	if (log_echo)
		fprintf(stderr, "%s\n", line);
	pthread_mutex_lock(&log_mu);
	if (nlines < LOG_LINES)
		snprintf(lines[nlines], sizeof lines[0], "%s", line);
	nlines++;
	pthread_mutex_unlock(&log_mu);
}

void tu_log_capture(bool echo)
{
	log_echo = echo;
	tu_log_clear();
	lsm_set_log_handler(capture, NULL);
}

void tu_log_clear(void)
{
	pthread_mutex_lock(&log_mu);
	nlines = 0;
	pthread_mutex_unlock(&log_mu);
}

int tu_log_count(void)
{
	pthread_mutex_lock(&log_mu);
	int n = nlines;
	pthread_mutex_unlock(&log_mu);
	return n;
}

bool tu_logged(const char *word, ...)
{
	bool found = false;
	pthread_mutex_lock(&log_mu);
	for (int i = 0; i < nlines && i < LOG_LINES && !found; i++) {
		va_list ap;
		const char *w = word;
		found = true;
		va_start(ap, word);
		for (; w; w = va_arg(ap, const char *))
			if (!strstr(lines[i], w))
				found = false;
		va_end(ap);
	}
	pthread_mutex_unlock(&log_mu);
	return found;
}

/* ---- small things ---- */

void tu_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

uint64_t tu_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

int tu_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	return c ? c : (alen > blen) - (alen < blen);
}
