/*
 * check_faults.c - the store under injected I/O faults (issue 9, part 1).
 *
 * Two environments are stacked under the store: env_fault (engine/env_fault.h:
 * call counting, power loss) and, on top of it, a "pick" env defined here
 * that fails or tears calls on files whose path contains a pattern, so a
 * test can aim at the WAL, a table, the MANIFEST or CURRENT.
 *
 * Every case asserts
 *  - the error the failing call's writer gets (and, for -EIO, that it is
 *    sticky: later writes fail too; for -ENOSPC, that it is not: the store
 *    goes on once there is space again);
 *  - after env_fault_power_loss() and a reopen with the plain POSIX env,
 *    the store holds every batch acknowledged durable (a sync write, or
 *    any write followed by an lsm_sync that returned 0) and no partial
 *    batch (tests/model.h);
 *  - the reopen works.
 * The sweep case fails the Nth call of each kind (append, sync, file
 * creation, rename, directory sync, unlink) with EIO and with ENOSPC for N
 * along the whole of a workload of writes, flushes and compactions.
 * LSM_FAULT_SWEEP=full tries every N (slow); the default takes a growing
 * stride.
 *
 * Every test works in its own mkdtemp() directory and removes it.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "env_fault.h"
#include "lsm.h"
#include "model.h"
#include "testutil.h"

/* ---- the pick env: faults aimed by path ---- */

enum pick_op {
	PICK_NEW_WFILE = 0,
	PICK_APPEND,
	PICK_SYNC,
	PICK_RENAME, /* matches the source or the target */
	PICK_SYNC_DIR,
	PICK_NOPS
};

struct pick_rule {
	char pattern[32]; /* substring of the path; "" matches every path */
	uint64_t after;   /* matching calls still let through */
	int err;          /* positive errno; 0: no rule */
	bool once;
	size_t tear;      /* PICK_APPEND: write this many bytes, then EIO */
	bool tearing;
	uint64_t hits;    /* calls failed */
};

struct pick_env {
	struct lsm_env env; /* first: handed to the store */
	struct lsm_env *base;
	pthread_mutex_t mu;
	struct pick_rule rules[PICK_NOPS];
	/* after a rename onto a path containing this, the next sync_dir
	 * fails with after_rename_err ("" or 0: off) */
	char after_rename[32];
	int after_rename_err;
	bool sync_dir_armed;
};

struct pick_wfile {
	struct env_wfile base;
	struct env_wfile *inner;
	char *path;
};

static struct pick_env *pe_of(struct lsm_env *env)
{
	return (struct pick_env *)env;
}

/* Whether this call of op on path must fail: 0, or -errno; *tear is set
 * for a torn append. */
static int pick_check(struct pick_env *pe, enum pick_op op, const char *path,
		      const char *path2, size_t *tear)
{
	int rc = 0;
	pthread_mutex_lock(&pe->mu);
	struct pick_rule *r = &pe->rules[op];
	bool match = r->err && (strstr(path, r->pattern) ||
				(path2 && strstr(path2, r->pattern)));
	if (match && r->after > 0) {
		r->after--;
	} else if (match) {
		rc = -r->err;
		if (tear && r->tearing) {
			*tear = r->tear;
			rc = 0;
		}
		r->hits++;
		if (r->once)
			r->err = 0;
	}
	pthread_mutex_unlock(&pe->mu);
	return rc;
}

static int p_new_wfile(struct lsm_env *env, const char *path,
		       struct env_wfile **out)
{
	struct pick_env *pe = pe_of(env);
	int rc = pick_check(pe, PICK_NEW_WFILE, path, NULL, NULL);
	if (rc)
		return rc;
	struct pick_wfile *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return -ENOMEM;
	}
	rc = pe->base->new_wfile(pe->base, path, &f->inner);
	if (rc) {
		free(f->path);
		free(f);
		return rc;
	}
	f->base.env = env;
	*out = &f->base;
	return 0;
}

static int p_append(struct env_wfile *wf, const void *data, size_t n)
{
	struct pick_wfile *f = (struct pick_wfile *)wf;
	struct pick_env *pe = pe_of(wf->env);
	size_t tear = SIZE_MAX;
	int rc = pick_check(pe, PICK_APPEND, f->path, NULL, &tear);
	if (rc)
		return rc;
	if (tear != SIZE_MAX) {
		if (tear < n)
			n = tear;
		rc = pe->base->wfile_append(f->inner, data, n);
		return rc ? rc : -EIO;
	}
	return pe->base->wfile_append(f->inner, data, n);
}

static int p_sync(struct env_wfile *wf)
{
	struct pick_wfile *f = (struct pick_wfile *)wf;
	struct pick_env *pe = pe_of(wf->env);
	int rc = pick_check(pe, PICK_SYNC, f->path, NULL, NULL);
	return rc ? rc : pe->base->wfile_sync(f->inner);
}

static int p_wclose(struct env_wfile *wf)
{
	struct pick_wfile *f = (struct pick_wfile *)wf;
	struct pick_env *pe = pe_of(wf->env);
	int rc = pe->base->wfile_close(f->inner);
	free(f->path);
	free(f);
	return rc;
}

static int p_rename(struct lsm_env *env, const char *from, const char *to)
{
	struct pick_env *pe = pe_of(env);
	int rc = pick_check(pe, PICK_RENAME, from, to, NULL);
	if (!rc)
		rc = pe->base->rename(pe->base, from, to);
	pthread_mutex_lock(&pe->mu);
	if (!rc && pe->after_rename_err && strstr(to, pe->after_rename))
		pe->sync_dir_armed = true;
	pthread_mutex_unlock(&pe->mu);
	return rc;
}

static int p_sync_dir(struct lsm_env *env, const char *path)
{
	struct pick_env *pe = pe_of(env);
	int rc = pick_check(pe, PICK_SYNC_DIR, path, NULL, NULL);
	pthread_mutex_lock(&pe->mu);
	if (!rc && pe->sync_dir_armed) {
		pe->sync_dir_armed = false;
		rc = -pe->after_rename_err;
		pe->after_rename_err = 0;
	}
	pthread_mutex_unlock(&pe->mu);
	return rc ? rc : pe->base->sync_dir(pe->base, path);
}

/* The directory sync right after the next rename onto a path containing
 * pattern fails with err (once): the rename is done, not yet durable. */
static void pick_fail_sync_after_rename(struct pick_env *pe,
					const char *pattern, int err)
{
	pthread_mutex_lock(&pe->mu);
	snprintf(pe->after_rename, sizeof pe->after_rename, "%s", pattern);
	pe->after_rename_err = err;
	pe->sync_dir_armed = false;
	pthread_mutex_unlock(&pe->mu);
}

/* Read-side handles belong to the base env, which they name. */
static int p_new_rfile(struct lsm_env *env, const char *path,
		       struct env_rfile **out)
{
	struct lsm_env *b = pe_of(env)->base;
	return b->new_rfile(b, path, out);
}

static int p_read(struct env_rfile *f, uint64_t off, void *buf, size_t n,
		  size_t *got)
{
	return f->env->rfile_read(f, off, buf, n, got);
}

static int p_rsize(struct env_rfile *f, uint64_t *size)
{
	return f->env->rfile_size(f, size);
}

static void p_rclose(struct env_rfile *f)
{
	f->env->rfile_close(f);
}

static int p_file_size(struct lsm_env *env, const char *p, uint64_t *s)
{
	struct lsm_env *b = pe_of(env)->base;
	return b->file_size(b, p, s);
}

static int p_exists(struct lsm_env *env, const char *p)
{
	struct lsm_env *b = pe_of(env)->base;
	return b->exists(b, p);
}

static int p_unlink(struct lsm_env *env, const char *p)
{
	struct lsm_env *b = pe_of(env)->base;
	return b->unlink(b, p);
}

static int p_truncate(struct lsm_env *env, const char *p, uint64_t s)
{
	struct lsm_env *b = pe_of(env)->base;
	return b->truncate(b, p, s);
}

static int p_mkdir(struct lsm_env *env, const char *p)
{
	struct lsm_env *b = pe_of(env)->base;
	return b->mkdir(b, p);
}

static int p_list_dir(struct lsm_env *env, const char *p, char ***n,
		      size_t *c)
{
	struct lsm_env *b = pe_of(env)->base;
	return b->list_dir(b, p, n, c);
}

static int p_lock(struct lsm_env *env, const char *p, struct env_lock **l)
{
	struct lsm_env *b = pe_of(env)->base;
	return b->lock(b, p, l);
}

static void p_unlock(struct env_lock *l)
{
	l->env->unlock(l);
}

static uint64_t p_now(struct lsm_env *env)
{
	struct lsm_env *b = pe_of(env)->base;
	return b->now_micros(b);
}

static void p_sleep(struct lsm_env *env, uint64_t us)
{
	struct lsm_env *b = pe_of(env)->base;
	b->sleep_micros(b, us);
}

static void pick_init(struct pick_env *pe, struct lsm_env *base)
{
	memset(pe, 0, sizeof *pe);
	pe->base = base;
	pthread_mutex_init(&pe->mu, NULL);
	pe->env = (struct lsm_env){
		.new_wfile = p_new_wfile,
		.wfile_append = p_append,
		.wfile_sync = p_sync,
		.wfile_close = p_wclose,
		.new_rfile = p_new_rfile,
		.rfile_read = p_read,
		.rfile_size = p_rsize,
		.rfile_close = p_rclose,
		.file_size = p_file_size,
		.exists = p_exists,
		.rename = p_rename,
		.unlink = p_unlink,
		.truncate = p_truncate,
		.mkdir = p_mkdir,
		.sync_dir = p_sync_dir,
		.list_dir = p_list_dir,
		.lock = p_lock,
		.unlock = p_unlock,
		.now_micros = p_now,
		.sleep_micros = p_sleep,
	};
}

/* Calls of op on paths containing pattern fail with err after `after`
 * of them went through: once, or until pick_clear(). */
static void pick_fail(struct pick_env *pe, enum pick_op op,
		      const char *pattern, int err, uint64_t after, bool once)
{
	pthread_mutex_lock(&pe->mu);
	struct pick_rule *r = &pe->rules[op];
	memset(r, 0, sizeof *r);
	snprintf(r->pattern, sizeof r->pattern, "%s", pattern);
	r->err = err;
	r->after = after;
	r->once = once;
	pthread_mutex_unlock(&pe->mu);
}

/* The next append to a path containing pattern writes keep bytes, then
 * fails with EIO. */
static void pick_tear(struct pick_env *pe, const char *pattern, size_t keep)
{
	pick_fail(pe, PICK_APPEND, pattern, EIO, 0, true);
	pthread_mutex_lock(&pe->mu);
	pe->rules[PICK_APPEND].tearing = true;
	pe->rules[PICK_APPEND].tear = keep;
	pthread_mutex_unlock(&pe->mu);
}

static void pick_clear(struct pick_env *pe)
{
	pthread_mutex_lock(&pe->mu);
	for (int i = 0; i < PICK_NOPS; i++)
		pe->rules[i].err = 0;
	pthread_mutex_unlock(&pe->mu);
}

static uint64_t pick_hits(struct pick_env *pe, enum pick_op op)
{
	pthread_mutex_lock(&pe->mu);
	uint64_t n = pe->rules[op].hits;
	pthread_mutex_unlock(&pe->mu);
	return n;
}

/* ---- fixture: a directory, the envs, a model, captured log lines ---- */

static struct lsm_env *fenv; /* env_fault over POSIX */
static struct pick_env pick;
static struct model *model;
static struct lsm_batch *batch;

static void setup(void)
{
	tu_dir_setup(); /* no base directory: /tmp/check_faults.XXXXXX */
	tu_log_capture(getenv("LSM_TEST_VERBOSE") != NULL);
	ck_assert_int_eq(env_fault_new(env_posix(), &fenv), 0);
	pick_init(&pick, fenv);
	ck_assert_int_eq(model_new(200, 42, &model), 0);
	ck_assert_int_eq(lsm_batch_new(&batch), 0);
}

static void teardown(void)
{
	lsm_batch_free(batch);
	model_free(model);
	env_fault_free(fenv);
	pthread_mutex_destroy(&pick.mu);
	tu_dir_teardown();
}

/* ---- helpers ---- */

static struct lsm_options opts(struct lsm_env *env)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = 16 << 10;
	o.block_size = 1024;
	o.l0_compaction_trigger = 2;
	o.l1_target_size = 64 << 10;
	o.target_file_size = 16 << 10;
	o.env = env;
	return o;
}

static struct lsm_db *open_faulty(void)
{
	struct lsm_options o = opts(&pick.env);
	return tu_open_ok(&o);
}

static int bg_error(struct lsm_db *db)
{
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	int e = st.background_error;
	lsm_stats_release(&st);
	return e;
}

/*
 * Writes one model batch (sync or not) and tells the model the outcome.
 * A failure is MAYBE (it may have reached the WAL) when it made the error
 * sticky, ABSENT when the store goes on (nothing of it was logged) or the
 * error was sticky before (the write never reached the WAL).
 */
static int write_batch(struct lsm_db *db, bool sync)
{
	ck_assert_int_eq(model_gen(model, batch, 12), 0);
	bool sticky_before = bg_error(db) != 0;
	int rc = lsm_write(db, batch, sync ? LSM_WRITE_SYNC : 0);
	if (!rc)
		model_outcome(model, sync ? MODEL_DURABLE : MODEL_APPLIED);
	else if (!sticky_before && bg_error(db))
		model_outcome(model, MODEL_MAYBE);
	else
		model_outcome(model, MODEL_ABSENT);
	return rc;
}

/* n batches that must all succeed. */
static void write_ok(struct lsm_db *db, int n, bool sync)
{
	for (int i = 0; i < n; i++) {
		int rc = write_batch(db, sync);
		ck_assert_msg(rc == 0, "write: %s", lsm_strerror(rc));
	}
}

static void sync_ok(struct lsm_db *db)
{
	int rc = lsm_sync(db);
	ck_assert_msg(rc == 0, "lsm_sync: %s", lsm_strerror(rc));
	model_synced(model);
}

/* The store holds what the model says, right now (no crash): every
 * batch that returned 0 (a failed one is never inserted). */
static void check_live(struct lsm_db *db)
{
	int p;
	ck_assert_msg(model_check(model, db, "live", &p) == 0,
		      "the running store does not match the model");
	ck_assert_int_ge(p, model_durable(model));
}

/*
 * Power loss: unsynced data and unsynced directory entries vanish, the
 * store is closed (with errors: the disk is gone), then reopened with
 * the plain POSIX env and checked against the model. Returns the prefix
 * of batches found. The fault env is replaced by a fresh one.
 */
static int crash_and_verify(struct lsm_db *db)
{
	ck_assert_int_eq(env_fault_power_loss(fenv), 0);
	lsm_close(db); /* fails: the disk is gone */
	env_fault_free(fenv);
	ck_assert_int_eq(env_fault_new(env_posix(), &fenv), 0);
	pthread_mutex_destroy(&pick.mu);
	pick_init(&pick, fenv);

	struct lsm_options o = opts(NULL);
	db = tu_open_ok(&o);
	int p = -1;
	ck_assert_msg(model_verify(model, db, "after power loss", &p) == 0,
		      "the store lost an acknowledged write or holds a "
		      "partial batch");
	ck_assert_int_eq(lsm_close(db), 0);
	return p;
}

/* Number of directory entries whose name ends with suffix. */
static int count_files(const char *suffix)
{
	DIR *d = opendir(tu_dir);
	struct dirent *e;
	int n = 0;
	size_t sl = strlen(suffix);
	while (d && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l >= sl && !strcmp(e->d_name + l - sl, suffix))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static uint64_t manifest_number(void)
{
	DIR *d = opendir(tu_dir);
	struct dirent *e;
	uint64_t n = 0;
	int found = 0;
	while (d && (e = readdir(d))) {
		unsigned long long x;
		if (sscanf(e->d_name, "MANIFEST-%llu", &x) == 1) {
			n = x;
			found++;
		}
	}
	if (d)
		closedir(d);
	ck_assert_int_eq(found, 1);
	return n;
}

static uint64_t total_tables(struct lsm_db *db)
{
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t n = tu_level_files(&st, 0);
	lsm_stats_release(&st);
	return n;
}

/* ---- WAL append ---- */

START_TEST(test_wal_append_eio)
{
	struct lsm_db *db = open_faulty();
	write_ok(db, 20, true);
	pick_fail(&pick, PICK_APPEND, ".wal", EIO, 0, true);
	ck_assert_int_eq(write_batch(db, true), -EIO);
	ck_assert_int_eq(pick_hits(&pick, PICK_APPEND), 1);
	/* sticky: the fault is gone but every later write fails */
	ck_assert_int_eq(bg_error(db), -EIO);
	ck_assert_int_eq(write_batch(db, false), -EIO);
	ck_assert_int_eq(write_batch(db, true), -EIO);
	ck_assert_int_eq(lsm_sync(db), -EIO);
	ck_assert_int_eq(lsm_flush(db), -EIO);
	ck_assert(tu_logged("background error", "writing the WAL", NULL));
	/* reads go on */
	check_live(db);
	ck_assert_int_eq(crash_and_verify(db), 20);
}
END_TEST

START_TEST(test_wal_append_enospc)
{
	struct lsm_db *db = open_faulty();
	write_ok(db, 20, true);
	write_ok(db, 3, false); /* made durable by the salvage sync */
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t wal = st.wal_number;
	lsm_stats_release(&st);

	pick_fail(&pick, PICK_APPEND, ".wal", ENOSPC, 0, true);
	ck_assert_int_eq(write_batch(db, true), -ENOSPC);
	/* not sticky: the next write goes to a new segment */
	ck_assert_int_eq(bg_error(db), 0);
	ck_assert_int_eq(lsm_sync(db), 0);
	model_synced(model);
	write_ok(db, 5, true);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_gt(st.wal_number, wal);
	lsm_stats_release(&st);
	check_live(db);
	ck_assert_int_eq(crash_and_verify(db), 28);
}
END_TEST

START_TEST(test_wal_full_until_freed)
{
	struct lsm_db *db = open_faulty();
	write_ok(db, 10, true);
	write_ok(db, 4, false);
	/* the disk stays full: every WAL append and new segment fails */
	pick_fail(&pick, PICK_APPEND, ".wal", ENOSPC, 0, false);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(write_batch(db, i % 2), -ENOSPC);
	ck_assert_int_eq(bg_error(db), 0);
	/* what was written before is durable and readable */
	ck_assert_int_eq(lsm_sync(db), 0);
	model_synced(model);
	check_live(db);
	ck_assert_uint_ge(pick_hits(&pick, PICK_APPEND), 10);
	/* the files of failed segments were removed */
	ck_assert_int_le(count_files(".wal"), 3);

	pick_clear(&pick);
	write_ok(db, 10, true);
	check_live(db);
	ck_assert_int_eq(crash_and_verify(db), 24);
}
END_TEST

/* ---- WAL sync: never retried, always sticky ---- */

static void wal_sync_case(int err)
{
	struct lsm_db *db = open_faulty();
	write_ok(db, 15, true);
	write_ok(db, 2, false);
	pick_fail(&pick, PICK_SYNC, ".wal", err, 0, true);
	ck_assert_int_eq(write_batch(db, true), -err);
	ck_assert_int_eq(bg_error(db), -err);
	ck_assert_int_eq(write_batch(db, true), -err);
	ck_assert_int_eq(lsm_sync(db), -err);
	check_live(db);
	/* the failed sync made nothing durable: only the 15 survive */
	ck_assert_int_eq(crash_and_verify(db), 15);
}

START_TEST(test_wal_sync_eio)
{
	wal_sync_case(EIO);
}
END_TEST

START_TEST(test_wal_sync_enospc)
{
	wal_sync_case(ENOSPC);
}
END_TEST

/* ---- torn WAL append ---- */

START_TEST(test_wal_torn_append_reopen)
{
	struct lsm_db *db = open_faulty();
	write_ok(db, 12, true);
	pick_tear(&pick, ".wal", 13);
	ck_assert_int_eq(write_batch(db, true), -EIO);
	ck_assert_int_eq(write_batch(db, true), -EIO);
	/* no power loss: the torn record stays on disk */
	lsm_close(db);
	tu_log_clear();
	struct lsm_options o = opts(NULL);
	db = tu_open_ok(&o);
	ck_assert(tu_logged("dropped torn tail", ".wal", NULL));
	int p;
	ck_assert_int_eq(model_verify(model, db, "torn", &p), 0);
	ck_assert_int_eq(p, 12);
	write_ok(db, 3, true);
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

START_TEST(test_wal_torn_append_power_loss)
{
	struct lsm_db *db = open_faulty();
	write_ok(db, 12, true);
	write_ok(db, 3, false);
	pick_tear(&pick, ".wal", 100);
	ck_assert_int_eq(write_batch(db, true), -EIO);
	ck_assert_int_eq(lsm_sync(db), -EIO);
	ck_assert_int_eq(crash_and_verify(db), 12);
}
END_TEST

/* ---- flush: table appends, syncs and renames ---- */

/* Writes 30 batches made durable by lsm_sync, ready to flush. */
static struct lsm_db *store_to_flush(void)
{
	struct lsm_options o = opts(&pick.env);
	o.write_buffer_size = 1 << 20; /* no flush before the test asks */
	struct lsm_db *db = tu_open_ok(&o);
	write_ok(db, 30, false);
	sync_ok(db);
	return db;
}

static void flush_eio_case(enum pick_op op, const char *pattern)
{
	struct lsm_db *db = store_to_flush();
	pick_fail(&pick, op, pattern, EIO, 0, true);
	ck_assert_int_eq(lsm_flush(db), -EIO);
	ck_assert_uint_eq(pick_hits(&pick, op), 1);
	ck_assert_int_eq(bg_error(db), -EIO);
	ck_assert_int_eq(write_batch(db, true), -EIO);
	check_live(db);
	ck_assert_int_eq(crash_and_verify(db), 30);
}

static void flush_enospc_case(enum pick_op op, const char *pattern)
{
	struct lsm_db *db = store_to_flush();
	pick_fail(&pick, op, pattern, ENOSPC, 0, false);
	ck_assert_int_eq(lsm_flush(db), -ENOSPC);
	ck_assert_int_eq(lsm_flush(db), -ENOSPC); /* retried, failed again */
	ck_assert_uint_ge(pick_hits(&pick, op), 2);
	ck_assert_int_eq(bg_error(db), 0);
	ck_assert(tu_logged("flushing a memtable", "will retry", NULL));
	/* no partial table is left behind, and writes go on */
	ck_assert_int_eq(count_files(".tmp"), 0);
	ck_assert_int_eq(count_files(".sst"), 0);
	write_ok(db, 5, true);
	check_live(db);

	pick_clear(&pick);
	ck_assert_int_eq(lsm_flush(db), 0);
	ck_assert_uint_ge(total_tables(db), 1);
	ck_assert_int_eq(bg_error(db), 0);
	write_ok(db, 5, true);
	check_live(db);
	ck_assert_int_eq(crash_and_verify(db), 40);
}

START_TEST(test_flush_append_eio)
{
	flush_eio_case(PICK_APPEND, ".sst");
}
END_TEST

START_TEST(test_flush_append_enospc)
{
	flush_enospc_case(PICK_APPEND, ".sst");
}
END_TEST

START_TEST(test_flush_sync_eio)
{
	flush_eio_case(PICK_SYNC, ".sst");
}
END_TEST

START_TEST(test_flush_create_enospc)
{
	flush_enospc_case(PICK_NEW_WFILE, ".sst");
}
END_TEST

START_TEST(test_flush_rename_eio)
{
	flush_eio_case(PICK_RENAME, ".sst");
}
END_TEST

START_TEST(test_flush_rename_enospc)
{
	flush_enospc_case(PICK_RENAME, ".sst");
}
END_TEST

START_TEST(test_flush_sync_dir_eio)
{
	flush_eio_case(PICK_SYNC_DIR, "");
}
END_TEST

/* ---- MANIFEST ---- */

START_TEST(test_manifest_append_eio)
{
	flush_eio_case(PICK_APPEND, "MANIFEST");
}
END_TEST

START_TEST(test_manifest_sync_eio)
{
	flush_eio_case(PICK_SYNC, "MANIFEST");
}
END_TEST

START_TEST(test_manifest_sync_enospc)
{
	/* a failed fsync is never retried: sticky even for ENOSPC */
	struct lsm_db *db = store_to_flush();
	pick_fail(&pick, PICK_SYNC, "MANIFEST", ENOSPC, 0, true);
	ck_assert_int_eq(lsm_flush(db), -ENOSPC);
	ck_assert_int_eq(bg_error(db), -ENOSPC);
	ck_assert_int_eq(write_batch(db, true), -ENOSPC);
	ck_assert_int_eq(crash_and_verify(db), 30);
}
END_TEST

START_TEST(test_manifest_append_enospc)
{
	struct lsm_db *db = store_to_flush();
	uint64_t before = manifest_number();
	pick_fail(&pick, PICK_APPEND, "MANIFEST", ENOSPC, 0, true);
	ck_assert_int_eq(lsm_flush(db), -ENOSPC);
	ck_assert_int_eq(bg_error(db), 0);
	/* the next edit starts a new MANIFEST instead of appending after
	 * the failed record */
	ck_assert_int_eq(lsm_flush(db), 0);
	ck_assert_uint_gt(manifest_number(), before);
	ck_assert_uint_ge(total_tables(db), 1);
	write_ok(db, 10, true);
	ck_assert_int_eq(lsm_flush(db), 0);
	check_live(db);
	ck_assert_int_eq(crash_and_verify(db), 40);
}
END_TEST

START_TEST(test_manifest_roll_enospc)
{
	/* the new MANIFEST of the forced roll fails too, twice */
	struct lsm_db *db = store_to_flush();
	pick_fail(&pick, PICK_APPEND, "MANIFEST", ENOSPC, 0, false);
	ck_assert_int_eq(lsm_flush(db), -ENOSPC);
	ck_assert_int_eq(lsm_flush(db), -ENOSPC);
	ck_assert_int_eq(lsm_flush(db), -ENOSPC);
	ck_assert_int_eq(bg_error(db), 0);
	ck_assert_int_eq(count_files(".sst"), 0);
	pick_clear(&pick);
	ck_assert_int_eq(lsm_flush(db), 0);
	write_ok(db, 10, true);
	ck_assert_int_eq(crash_and_verify(db), 40);
}
END_TEST

START_TEST(test_current_rename_at_open)
{
	struct lsm_options o = opts(NULL);
	struct lsm_db *db = tu_open_ok(&o);
	write_ok(db, 10, true);
	ck_assert_int_eq(lsm_close(db), 0);

	/* every open starts a new MANIFEST and renames CURRENT to it */
	o = opts(&pick.env);
	pick_fail(&pick, PICK_RENAME, "CURRENT", EIO, 0, true);
	ck_assert_int_eq(lsm_open(tu_dir, &o, &db), -EIO);
	pick_fail(&pick, PICK_SYNC_DIR, "", EIO, 0, true);
	ck_assert_int_eq(lsm_open(tu_dir, &o, &db), -EIO);
	pick_fail(&pick, PICK_APPEND, "CURRENT", ENOSPC, 0, true);
	ck_assert_int_eq(lsm_open(tu_dir, &o, &db), -ENOSPC);
	pick_fail(&pick, PICK_APPEND, "MANIFEST", ENOSPC, 0, true);
	ck_assert_int_eq(lsm_open(tu_dir, &o, &db), -ENOSPC);
	pick_fail(&pick, PICK_APPEND, ".sst", EIO, 0, true);
	ck_assert_int_eq(lsm_open(tu_dir, &o, &db), -EIO); /* WAL replay */

	o = opts(NULL);
	db = tu_open_ok(&o);
	int p;
	ck_assert_int_eq(model_verify(model, db, "reopen", &p), 0);
	ck_assert_int_eq(p, 10);
	ck_assert_int_eq(lsm_close(db), 0);
}
END_TEST

/* ---- compaction ---- */

/* A store with four L0 tables and no automatic compaction. */
static struct lsm_db *store_to_compact(void)
{
	struct lsm_options o = opts(&pick.env);
	o.write_buffer_size = 1 << 20;
	o.l0_compaction_trigger = 8;
	o.l0_slowdown_trigger = 16;
	o.l0_stop_trigger = 24;
	struct lsm_db *db = tu_open_ok(&o);
	for (int i = 0; i < 4; i++) {
		write_ok(db, 10, false);
		ck_assert_int_eq(lsm_flush(db), 0);
	}
	sync_ok(db);
	ck_assert_uint_eq(total_tables(db), 4);
	return db;
}

START_TEST(test_compaction_enospc)
{
	struct lsm_db *db = store_to_compact();
	pick_fail(&pick, PICK_APPEND, ".sst", ENOSPC, 3, false);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), -ENOSPC);
	ck_assert_int_eq(bg_error(db), 0);
	ck_assert(tu_logged("compacting level 0", "will retry", NULL));
	/* the inputs stay; the outputs were removed */
	ck_assert_uint_eq(total_tables(db), 4);
	ck_assert_int_eq(count_files(".sst"), 4);
	ck_assert_int_eq(count_files(".tmp"), 0);
	write_ok(db, 5, true);
	check_live(db);

	pick_clear(&pick);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_eq(st.levels[0].files, 0);
	lsm_stats_release(&st);
	check_live(db);
	ck_assert_int_eq(crash_and_verify(db), 45);
}
END_TEST

START_TEST(test_compaction_eio)
{
	struct lsm_db *db = store_to_compact();
	pick_fail(&pick, PICK_APPEND, ".sst", EIO, 2, true);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), -EIO);
	ck_assert_int_eq(bg_error(db), -EIO);
	ck_assert_int_eq(write_batch(db, true), -EIO);
	check_live(db);
	ck_assert_int_eq(crash_and_verify(db), 40);
}
END_TEST

START_TEST(test_compaction_manifest_enospc)
{
	struct lsm_db *db = store_to_compact();
	pick_fail(&pick, PICK_APPEND, "MANIFEST", ENOSPC, 0, true);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), -ENOSPC);
	ck_assert_int_eq(bg_error(db), 0);
	/* the failed run's finished outputs are gone again */
	ck_assert_int_eq(count_files(".sst"), 4);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	check_live(db);
	ck_assert_int_eq(crash_and_verify(db), 40);
}
END_TEST

START_TEST(test_compaction_roll_unsynced_current)
{
	/*
	 * A compaction's MANIFEST append runs out of space, so the next edit
	 * starts a new MANIFEST. That roll renames CURRENT to it, and then
	 * the directory sync fails: the compaction fails (sticky EIO), but
	 * CURRENT may already name the new MANIFEST, whose snapshot holds
	 * the compaction's outputs. They must stay on disk (the store used
	 * to delete a failed compaction's outputs even then).
	 */
	struct lsm_db *db = store_to_compact();
	pick_fail(&pick, PICK_APPEND, "MANIFEST", ENOSPC, 0, true);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), -ENOSPC);
	ck_assert_int_eq(bg_error(db), 0);
	pick_fail_sync_after_rename(&pick, "CURRENT", EIO);
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), -EIO);
	ck_assert_int_eq(bg_error(db), -EIO);
	ck_assert(tu_logged("cannot switch", "CURRENT", NULL));
	/* power loss keeps the rename (env_fault.h): the new MANIFEST is in
	 * force after the reopen, and every table it names is there */
	ck_assert_int_eq(crash_and_verify(db), 40);
}
END_TEST

/* ---- running out of space under load: no hang, then recovery ---- */

START_TEST(test_nospace_stall)
{
	struct lsm_options o = opts(&pick.env);
	o.max_immutable_memtables = 2;
	struct lsm_db *db = tu_open_ok(&o);
	model_set_max_value(model, 2000);
	write_ok(db, 20, true);
	pick_fail(&pick, PICK_APPEND, ".sst", ENOSPC, 0, false);
	/* flushes fail; writers fill the memtables, then get ENOSPC
	 * instead of waiting forever for a flush */
	int rc = 0, n = 0;
	for (; n < 5000 && !rc; n++)
		rc = write_batch(db, n % 3 == 0);
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_int_eq(bg_error(db), 0);
	ck_assert_int_eq(lsm_sync(db), 0);
	model_synced(model);
	ck_assert_int_eq(write_batch(db, true), -ENOSPC);
	ck_assert_int_eq(lsm_flush(db), -ENOSPC);
	check_live(db);

	pick_clear(&pick);
	/* lsm_flush wakes the retrying flush; then writers get through */
	ck_assert_int_eq(lsm_flush(db), 0);
	write_ok(db, 20, true);
	ck_assert_int_eq(bg_error(db), 0);
	check_live(db);
	int want = model_batches(model);
	ck_assert_int_eq(crash_and_verify(db), want);
}
END_TEST

START_TEST(test_nospace_background_retry)
{
	/* nobody calls lsm_flush: the flush thread retries on its own */
	struct lsm_options o = opts(&pick.env);
	struct lsm_db *db = tu_open_ok(&o);
	model_set_max_value(model, 2000);
	pick_fail(&pick, PICK_APPEND, ".sst", ENOSPC, 0, false);
	int rc = 0;
	for (int n = 0; n < 5000 && !rc; n++)
		rc = write_batch(db, false);
	ck_assert_int_eq(rc, -ENOSPC);
	uint64_t hits = pick_hits(&pick, PICK_APPEND);
	pick_clear(&pick);
	/* within a few backoff periods every frozen memtable is flushed */
	struct lsm_stats st;
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(lsm_stats_get(db, &st), 0);
		uint64_t q = st.flush_queue_depth;
		lsm_stats_release(&st);
		if (q == 0)
			break;
		usleep(50000);
	}
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_eq(st.flush_queue_depth, 0);
	ck_assert_int_eq(st.background_error, 0);
	lsm_stats_release(&st);
	ck_assert_uint_ge(hits, 1);
	write_ok(db, 5, true);
	int want = model_batches(model);
	ck_assert_int_eq(crash_and_verify(db), want);
}
END_TEST

START_TEST(test_new_wal_segment_enospc)
{
	struct lsm_db *db = open_faulty();
	model_set_max_value(model, 2000);
	write_ok(db, 5, true);
	/* the next memtable switch cannot create its segment */
	pick_fail(&pick, PICK_NEW_WFILE, ".wal", ENOSPC, 0, true);
	int rc = 0;
	for (int n = 0; n < 2000 && !rc; n++)
		rc = write_batch(db, true);
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_int_eq(bg_error(db), 0);
	write_ok(db, 40, true);
	check_live(db);
	int want = model_batches(model);
	ck_assert_int_eq(crash_and_verify(db), want);
}
END_TEST

/* ---- power loss with no fault: unsynced writes may go, synced stay ---- */

START_TEST(test_power_loss_plain)
{
	struct lsm_db *db = open_faulty();
	write_ok(db, 10, true);
	write_ok(db, 10, false);
	sync_ok(db);
	write_ok(db, 10, false); /* may or may not survive */
	int p = crash_and_verify(db);
	ck_assert_int_ge(p, 20);
	ck_assert_int_le(p, 30);
}
END_TEST

/* ---- the sweep: the Nth call of a kind fails, for N along a workload ---- */

struct sweep_result {
	bool fault_hit;
	int errors;
	uint64_t calls; /* calls of the op in the run */
};

static bool sweep_full(void)
{
	const char *s = getenv("LSM_FAULT_SWEEP");
	return s && !strcmp(s, "full");
}

/*
 * One run: a store prepared without faults (20 durable batches) is opened
 * through the fault env with op failing (err) after k calls, and worked:
 * sync and plain writes, lsm_sync, flushes, a manual compaction. Every
 * error must be err (EIO may also come from a sticky EIO). For ENOSPC the
 * fault is then lifted and the store must take a durable write unless it
 * has a sticky error. Then power loss, reopen, check.
 */
static void sweep_run(enum fault_op op, int err, uint64_t k,
		      struct sweep_result *res)
{
	char tag[96];
	snprintf(tag, sizeof tag, "sweep op %d err %d k %llu", op, err,
		 (unsigned long long)k);
	tu_rm_rf(tu_dir);
	ck_assert_int_eq(mkdir(tu_dir, 0700), 0);
	model_free(model);
	ck_assert_int_eq(model_new(150, 1000, &model), 0);
	model_set_max_value(model, 600);

	struct lsm_options o = opts(NULL);
	struct lsm_db *db = tu_open_ok(&o);
	write_ok(db, 20, true);
	ck_assert_int_eq(lsm_close(db), 0);

	env_fault_free(fenv);
	ck_assert_int_eq(env_fault_new(env_posix(), &fenv), 0);
	env_fault_fail(fenv, op, k, err, 0);
	o = opts(fenv);
	o.max_immutable_memtables = 2;
	int rc = lsm_open(tu_dir, &o, &db);
	res->fault_hit = false;
	res->errors = 0;
	res->calls = 0;
	if (rc) {
		ck_assert_msg(rc == -err, "%s: lsm_open: %s", tag,
			      lsm_strerror(rc));
		res->fault_hit = true;
		res->errors++;
		env_fault_clear(fenv);
		o = opts(NULL);
		db = tu_open_ok(&o);
		int p;
		ck_assert_msg(model_verify(model, db, tag, &p) == 0, "%s", tag);
		ck_assert_int_eq(p, 20);
		ck_assert_int_eq(lsm_close(db), 0);
		return;
	}
	for (int i = 0; i < 60; i++) {
		if (i % 6 == 5) {
			rc = lsm_sync(db);
			if (!rc)
				model_synced(model);
		} else if (i == 20 || i == 45) {
			rc = lsm_flush(db);
		} else if (i == 35) {
			rc = lsm_compact(db, NULL, NULL);
		} else {
			rc = write_batch(db, i % 3 == 0);
		}
		if (rc) {
			res->errors++;
			ck_assert_msg(rc == -err || rc == -EIO,
				      "%s: step %d: %s", tag, i,
				      lsm_strerror(rc));
		}
	}
	res->calls = env_fault_count(fenv, op);
	res->fault_hit = res->calls > k;
	if (err == ENOSPC) {
		/* space again: lsm_flush wakes a flush waiting to retry
		 * (writers only get -ENOSPC until it has) */
		env_fault_clear(fenv);
		int sticky = bg_error(db);
		rc = lsm_flush(db);
		ck_assert_msg(rc == sticky, "%s: flush after ENOSPC: %s", tag,
			      lsm_strerror(rc));
		rc = write_batch(db, true);
		if (sticky)
			ck_assert_int_eq(rc, sticky);
		else
			ck_assert_msg(rc == 0,
				      "%s: no recovery after ENOSPC: %s", tag,
				      lsm_strerror(rc));
	}
	int p = -1;
	ck_assert_int_eq(env_fault_power_loss(fenv), 0);
	lsm_close(db);
	env_fault_free(fenv);
	ck_assert_int_eq(env_fault_new(env_posix(), &fenv), 0);
	o = opts(NULL);
	db = tu_open_ok(&o);
	ck_assert_msg(model_verify(model, db, tag, &p) == 0, "%s", tag);
	ck_assert_int_eq(lsm_close(db), 0);
}

static void sweep(enum fault_op op, int err)
{
	bool full = sweep_full();
	int runs = 0, hit = 0;
	/* a run without the fault counts the calls there are to fail (the
	 * workload is the same every run, up to thread timing) */
	struct sweep_result res;
	sweep_run(op, err, UINT64_MAX / 2, &res);
	uint64_t calls = res.calls;
	for (uint64_t k = 0; k <= calls + 2; k += full ? 1 : 1 + k / 3) {
		sweep_run(op, err, k, &res);
		runs++;
		hit += res.fault_hit;
	}
	printf("sweep op %d %s: %llu calls, %d runs, fault hit in %d\n", op,
	       err == EIO ? "EIO" : "ENOSPC", (unsigned long long)calls, runs,
	       hit);
	ck_assert_int_ge(hit, 1);
}

START_TEST(test_sweep_eio)
{
	static const enum fault_op ops[] = { FAULT_APPEND, FAULT_SYNC,
					     FAULT_NEW_WFILE, FAULT_RENAME,
					     FAULT_SYNC_DIR, FAULT_UNLINK };
	sweep(ops[_i], EIO);
}
END_TEST

START_TEST(test_sweep_enospc)
{
	static const enum fault_op ops[] = { FAULT_APPEND, FAULT_SYNC,
					     FAULT_NEW_WFILE, FAULT_RENAME,
					     FAULT_SYNC_DIR, FAULT_UNLINK };
	sweep(ops[_i], ENOSPC);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("wal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wal_append_eio);
	tcase_add_test(tc, test_wal_append_enospc);
	tcase_add_test(tc, test_wal_full_until_freed);
	tcase_add_test(tc, test_wal_sync_eio);
	tcase_add_test(tc, test_wal_sync_enospc);
	tcase_add_test(tc, test_wal_torn_append_reopen);
	tcase_add_test(tc, test_wal_torn_append_power_loss);
	tcase_add_test(tc, test_power_loss_plain);
	suite_add_tcase(s, tc);

	tc = tcase_create("flush");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_flush_append_eio);
	tcase_add_test(tc, test_flush_append_enospc);
	tcase_add_test(tc, test_flush_sync_eio);
	tcase_add_test(tc, test_flush_create_enospc);
	tcase_add_test(tc, test_flush_rename_eio);
	tcase_add_test(tc, test_flush_rename_enospc);
	tcase_add_test(tc, test_flush_sync_dir_eio);
	suite_add_tcase(s, tc);

	tc = tcase_create("manifest");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_manifest_append_eio);
	tcase_add_test(tc, test_manifest_sync_eio);
	tcase_add_test(tc, test_manifest_sync_enospc);
	tcase_add_test(tc, test_manifest_append_enospc);
	tcase_add_test(tc, test_manifest_roll_enospc);
	tcase_add_test(tc, test_current_rename_at_open);
	suite_add_tcase(s, tc);

	tc = tcase_create("compaction");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_compaction_enospc);
	tcase_add_test(tc, test_compaction_eio);
	tcase_add_test(tc, test_compaction_manifest_enospc);
	tcase_add_test(tc, test_compaction_roll_unsynced_current);
	suite_add_tcase(s, tc);

	tc = tcase_create("nospace");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_nospace_stall);
	tcase_add_test(tc, test_nospace_background_retry);
	tcase_add_test(tc, test_new_wal_segment_enospc);
	suite_add_tcase(s, tc);

	tc = tcase_create("sweep");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, sweep_full() ? 3600 : 120);
	tcase_add_loop_test(tc, test_sweep_eio, 0, 6);
	tcase_add_loop_test(tc, test_sweep_enospc, 0, 6);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run("check_faults", faults_suite());
}
