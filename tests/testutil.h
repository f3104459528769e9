/*
 * testutil.h - fixtures and helpers shared by the Check programs that drive
 * a whole store (check_db, check_db_iter, check_compaction, check_stress,
 * check_faults): a private directory per test, the test case and runner
 * boilerplate, opening and closing a store, captured log lines, and a few
 * small generators and comparisons.
 *
 * Directories. tu_run() names the program and runs its suite. Every test
 * then works in tu_dir, a fresh mkdtemp() directory made by tu_dir_setup()
 * and removed by tu_dir_teardown(). In a test case made by tu_tcase(), that
 * directory lives inside one base directory per test case, made and removed
 * by the runner process (an unchecked fixture), so that a test that fails
 * or times out (its process ends without the checked teardown) leaves
 * nothing behind. A program that installs tu_dir_setup() in fixtures of its
 * own, outside tu_tcase(), gets /tmp/<program>.XXXXXX instead.
 *
 * Failures. The fixtures and the helpers named _ok fail the running test
 * through ck_assert; the base fixture, which runs outside any test, prints
 * the error and exits the program.
 *
 * Threads. The log capture may be fed from any thread (the store logs from
 * its background threads). tu_sleep_ms, tu_rnd, tu_key_cmp and
 * tu_level_files touch only their arguments. Everything else belongs to the
 * test's main thread.
 */
#ifndef LSM_TEST_TESTUTIL_H
#define LSM_TEST_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lsm_db;
struct lsm_options;
struct lsm_stats;

/*
 * The memtable size of the small-store tests. Tests build with the value
 * the brief asks for; -DTEST_WRITE_BUFFER=... overrides it when chasing an
 * engine problem that depends on it.
 */
#ifndef TEST_WRITE_BUFFER
#define TEST_WRITE_BUFFER (64u << 10)
#endif

/* ---- the runner and the test directory ---- */

/* The running test's store directory (valid between tu_dir_setup and
 * tu_dir_teardown). */
extern char tu_dir[128];

/*
 * Runs every test of s (CK_NORMAL output) and frees the runner. prog names
 * the temporary directories ("check_db": /tmp/check_db.XXXXXX); it must
 * outlive the run. Returns EXIT_SUCCESS or EXIT_FAILURE, for main().
 */
int tu_run(const char *prog, Suite *s);

/*
 * Creates a test case named name, adds it to s (which owns it) and returns
 * it. Its tests each run in a fresh tu_dir inside the case's base
 * directory. setup and teardown (NULL: none) are further checked fixtures:
 * setup runs after tu_dir is made, teardown before it is removed. timeout
 * is in seconds; 0 keeps Check's default.
 */
TCase *tu_tcase(Suite *s, const char *name, int timeout, void (*setup)(void),
		void (*teardown)(void));

/* The checked fixture of the directory: make tu_dir, remove it with all
 * it holds. */
void tu_dir_setup(void);
void tu_dir_teardown(void);

/* Makes a fresh directory name.XXXXXX next to tu_dir (in the base
 * directory, or /tmp) into out (size bytes), for a second store. The test
 * removes it (tu_rm_rf) unless the base directory's removal does. */
void tu_mkdtemp(char *out, size_t size, const char *name);

/* Removes path and everything under it (best effort: errors are
 * ignored). */
void tu_rm_rf(const char *path);

/* ---- the store in tu_dir ---- */

/* Opens the store in tu_dir with o (NULL: defaults). Returns the open
 * store (owned by the caller). */
struct lsm_db *tu_open_ok(const struct lsm_options *o);

/* Closes db, which must close without error. */
void tu_close_ok(struct lsm_db *db);

/* Closes *db and opens tu_dir again with o, into *db. */
void tu_reopen_ok(struct lsm_db **db, const struct lsm_options *o);

/* Number of tables in levels from .. LSM_NUM_LEVELS-1 of s. */
uint64_t tu_level_files(const struct lsm_stats *s, int from);

/* ---- captured log lines ---- */

/*
 * Routes the store's diagnostic lines (lsm_set_log_handler) into a buffer
 * that keeps the first 256 lines of at most 511 bytes, and forgets the
 * lines captured so far. echo: also write each line to stderr.
 */
void tu_log_capture(bool echo);

/* Forgets the lines captured so far. */
void tu_log_clear(void);

/* Lines captured since the last clear (also those past the buffer). */
int tu_log_count(void);

/* Whether one captured line contains every one of the words; the list
 * ends with NULL. */
bool tu_logged(const char *word, ...) __attribute__((sentinel));

/* ---- small things ---- */

/* Sleeps ms milliseconds (through EINTR). */
void tu_sleep_ms(long ms);

/* The next number of the xorshift64* generator whose state is *s
 * (nonzero). */
uint64_t tu_rnd(uint64_t *s);

/* Orders keys as the store does: unsigned bytes, a prefix first. a or b
 * may be NULL when its length is 0. */
int tu_key_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
