/*
 * check_db.c - end-to-end tests of the store through its public API
 * (engine/lsm.h): basic reads and writes, argument checking, reopen after
 * many flushes, crash recovery of sync writes, sync batches and lsm_sync()
 * under SIGKILL (with lsm_check() finding no corruption after each kill),
 * group commit, the store lock, WAL recovery modes, tables a crash left
 * outside the manifest, and reads during concurrent flushes.
 *
 * The crash tests fork a writer that acknowledges through a pipe what the
 * API reported durable, SIGKILL it at a random moment (fixed seed), and
 * check the reopened store against the acknowledgements.
 *
 * Iterators and snapshots are in check_db_iter.c, compaction and stalls in
 * check_compaction.c, the multi-threaded stress test in check_stress.c.
 *
 * Every test works in its own mkdtemp() directory under /tmp and removes it.
 * Random choices come from fixed seeds, so a failure repeats.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lsm.h"
#include "testutil.h"

/* ---- fixture: captured log lines (testutil.h makes the directory) ---- */

static char other_dir[128]; /* a second store, for test_stray_tables_removed */

static void log_setup(void)
{
	tu_log_capture(true);
}

/* ---- helpers ---- */

static struct lsm_options small_opts(void)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = TEST_WRITE_BUFFER;
	return o;
}

static void put_s(struct lsm_db *db, const char *k, const char *v)
{
	int rc = lsm_put(db, k, strlen(k), v, strlen(v));
	ck_assert_msg(rc == 0, "put '%s': %s", k, lsm_strerror(rc));
}

/* Asserts that k reads back as exactly v (NULL: absent). */
static void expect_s(struct lsm_db *db, const char *k, const char *v)
{
	char *got = NULL;
	size_t len = 0;
	int rc = lsm_get(db, NULL, k, strlen(k), &got, &len);
	if (!v) {
		ck_assert_msg(rc == -ENOENT, "get '%s': want absent, got %d", k,
			      rc);
		return;
	}
	ck_assert_msg(rc == 0, "get '%s': %s", k, lsm_strerror(rc));
	ck_assert_uint_eq(len, strlen(v));
	ck_assert_msg(memcmp(got, v, len) == 0, "get '%s': wrong value", k);
	ck_assert_int_eq(got[len], '\0');
	free(got);
}

/* Deterministic value of key number id at version ver: len bytes. */
static void make_value(char *out, size_t len, uint32_t id, uint32_t ver)
{
	uint64_t x = ((uint64_t)id << 32 | ver) * 0x9E3779B97F4A7C15ull + 1;
	int n = snprintf(out, len, "%u:%u:", id, ver);
	for (size_t i = n > 0 && (size_t)n < len ? (size_t)n : 0; i < len;
	     i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out[i] = (char)('a' + x % 26);
	}
}

static size_t value_len(uint32_t id)
{
	return 20 + (id * 7919u) % 180;
}

/* Asserts that key k (klen bytes) holds make_value(id, ver). */
static void expect_value(struct lsm_db *db, const char *k, size_t klen,
			 uint32_t id, uint32_t ver)
{
	char want[1024], *got = NULL;
	size_t len = value_len(id), glen = 0;
	make_value(want, len, id, ver);
	int rc = lsm_get(db, NULL, k, klen, &got, &glen);
	ck_assert_msg(rc == 0, "get '%.*s': %s", (int)klen, k,
		      lsm_strerror(rc));
	ck_assert_msg(glen == len && memcmp(got, want, len) == 0,
		      "get '%.*s': wrong value (len %zu, want %zu)", (int)klen,
		      k, glen, len);
	free(got);
}

/* ---- basics ---- */

START_TEST(test_basics)
{
	struct lsm_db *db = tu_open_ok(NULL);

	expect_s(db, "absent", NULL);
	put_s(db, "apple", "red");
	put_s(db, "banana", "yellow");
	expect_s(db, "apple", "red");
	expect_s(db, "banana", "yellow");
	expect_s(db, "appl", NULL);
	expect_s(db, "apples", NULL);

	/* overwrite, then delete, then write again */
	put_s(db, "apple", "green");
	expect_s(db, "apple", "green");
	ck_assert_int_eq(lsm_delete(db, "apple", 5), 0);
	expect_s(db, "apple", NULL);
	/* deleting an absent key is a tombstone like any other */
	ck_assert_int_eq(lsm_delete(db, "never", 5), 0);
	expect_s(db, "never", NULL);
	put_s(db, "apple", "again");
	expect_s(db, "apple", "again");

	/* empty key, empty value, binary bytes */
	ck_assert_int_eq(lsm_put(db, "", 0, "empty-key", 9), 0);
	ck_assert_int_eq(lsm_put(db, "ev", 2, "", 0), 0);
	ck_assert_int_eq(lsm_put(db, "b\0in", 4, "v\0\xff", 3), 0);
	char *v = NULL;
	size_t vlen = 99;
	ck_assert_int_eq(lsm_get(db, NULL, "", 0, &v, &vlen), 0);
	ck_assert_uint_eq(vlen, 9);
	ck_assert_mem_eq(v, "empty-key", 9);
	free(v);
	ck_assert_int_eq(lsm_get(db, NULL, "ev", 2, &v, &vlen), 0);
	ck_assert_uint_eq(vlen, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v[0], '\0');
	free(v);
	ck_assert_int_eq(lsm_get(db, NULL, "b\0in", 4, &v, &vlen), 0);
	ck_assert_uint_eq(vlen, 3);
	ck_assert_mem_eq(v, "v\0\xff", 3);
	free(v);
	ck_assert_int_eq(lsm_get(db, NULL, "b", 1, &v, &vlen), -ENOENT);

	/* a 1 MiB value, from the memtable, from a table, after reopen */
	size_t big = 1u << 20;
	char *bv = malloc(big);
	ck_assert_ptr_nonnull(bv);
	make_value(bv, big, 42, 1);
	ck_assert_int_eq(lsm_put(db, "big", 3, bv, big), 0);
	ck_assert_int_eq(lsm_get(db, NULL, "big", 3, &v, &vlen), 0);
	ck_assert_uint_eq(vlen, big);
	ck_assert(memcmp(v, bv, big) == 0);
	free(v);
	ck_assert_int_eq(lsm_flush(db), 0);
	ck_assert_int_eq(lsm_get(db, NULL, "big", 3, &v, &vlen), 0);
	ck_assert_uint_eq(vlen, big);
	ck_assert(memcmp(v, bv, big) == 0);
	free(v);
	expect_s(db, "apple", "again");
	expect_s(db, "never", NULL);
	tu_close_ok(db);

	db = tu_open_ok(NULL);
	ck_assert_int_eq(lsm_get(db, NULL, "big", 3, &v, &vlen), 0);
	ck_assert_uint_eq(vlen, big);
	ck_assert(memcmp(v, bv, big) == 0);
	free(v);
	expect_s(db, "apple", "again");
	expect_s(db, "banana", "yellow");
	expect_s(db, "never", NULL);
	ck_assert_int_eq(lsm_get(db, NULL, "", 0, &v, &vlen), 0);
	ck_assert_uint_eq(vlen, 9);
	free(v);
	ck_assert_int_eq(lsm_get(db, NULL, "ev", 2, &v, &vlen), 0);
	ck_assert_uint_eq(vlen, 0);
	free(v);

	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_ge(st.gets, 5);
	ck_assert_uint_ge(st.get_hits, 5);
	ck_assert_int_eq(st.background_error, 0);
	lsm_stats_release(&st);
	tu_close_ok(db);
	free(bv);
}
END_TEST

START_TEST(test_batch)
{
	struct lsm_db *db = tu_open_ok(NULL);
	struct lsm_batch *b;
	put_s(db, "gone", "soon");
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	ck_assert_uint_eq(lsm_batch_count(b), 0);
	/* an empty batch is a no-op, also as a sync write */
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	ck_assert_int_eq(lsm_write(db, b, LSM_WRITE_SYNC), 0);
	ck_assert_int_eq(lsm_batch_put(b, "x", 1, "1", 1), 0);
	ck_assert_int_eq(lsm_batch_put(b, "y", 1, "2", 1), 0);
	ck_assert_int_eq(lsm_batch_put(b, "x", 1, "3", 1), 0); /* later wins */
	ck_assert_int_eq(lsm_batch_delete(b, "gone", 4), 0);
	ck_assert_uint_eq(lsm_batch_count(b), 4);
	ck_assert_int_eq(lsm_write(db, b, LSM_WRITE_SYNC), 0);
	expect_s(db, "x", "3");
	expect_s(db, "y", "2");
	expect_s(db, "gone", NULL);

	/* put then delete of one key in one batch: deleted */
	lsm_batch_clear(b);
	ck_assert_uint_eq(lsm_batch_count(b), 0);
	ck_assert_int_eq(lsm_batch_put(b, "z", 1, "9", 1), 0);
	ck_assert_int_eq(lsm_batch_delete(b, "z", 1), 0);
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	expect_s(db, "z", NULL);
	lsm_batch_free(b);
	lsm_batch_free(NULL);
	tu_close_ok(db);

	db = tu_open_ok(NULL);
	expect_s(db, "x", "3");
	expect_s(db, "y", "2");
	expect_s(db, "z", NULL);
	expect_s(db, "gone", NULL);
	tu_close_ok(db);
}
END_TEST

START_TEST(test_strerror)
{
	ck_assert_str_eq(lsm_strerror(0), "success");
	ck_assert_str_eq(lsm_strerror(-ENOENT), "not found");
	ck_assert_ptr_nonnull(strstr(lsm_strerror(-EIO), "corruption"));
	ck_assert_ptr_nonnull(strstr(lsm_strerror(-EBUSY), "in use"));
	ck_assert_ptr_nonnull(strstr(lsm_strerror(-EROFS), "background"));
	ck_assert_str_eq(lsm_strerror(-ENOSPC), strerror(ENOSPC));
	ck_assert_str_eq(lsm_strerror(-EINVAL), strerror(EINVAL));
	ck_assert_str_eq(lsm_strerror(-ENOMEM), strerror(ENOMEM));
	ck_assert_str_eq(lsm_stall_cause_name(LSM_STALL_L0_SLOWDOWN),
			 "l0_slowdown");
	ck_assert_str_eq(lsm_stall_cause_name(LSM_STALL_L0_STOP), "l0_stop");
	ck_assert_str_eq(lsm_stall_cause_name(LSM_STALL_MEMTABLE),
			 "memtable_limit");
}
END_TEST

START_TEST(test_invalid_args)
{
	struct lsm_db *db = NULL;
	struct lsm_options o;
	char sub[192];

	tu_log_clear();
	ck_assert_int_eq(lsm_open(NULL, NULL, &db), -EINVAL);
	ck_assert_int_eq(lsm_open("", NULL, &db), -EINVAL);
	ck_assert_int_eq(lsm_open(tu_dir, NULL, NULL), -EINVAL);

	/* each bad option alone is refused, and nothing is created */
	snprintf(sub, sizeof sub, "%s/bad", tu_dir);
	lsm_options_init(&o);
	o.write_buffer_size = 0;
	ck_assert_int_eq(lsm_open(sub, &o, &db), -EINVAL);
	lsm_options_init(&o);
	o.compression = 7;
	ck_assert_int_eq(lsm_open(sub, &o, &db), -EINVAL);
	lsm_options_init(&o);
	o.sync_mode = 3;
	ck_assert_int_eq(lsm_open(sub, &o, &db), -EINVAL);
	lsm_options_init(&o);
	o.wal_recovery = 9;
	ck_assert_int_eq(lsm_open(sub, &o, &db), -EINVAL);
	lsm_options_init(&o);
	o.l0_stop_trigger = 2; /* below the slowdown trigger */
	ck_assert_int_eq(lsm_open(sub, &o, &db), -EINVAL);
	lsm_options_init(&o);
	o.bloom_bits_per_key = -1;
	ck_assert_int_eq(lsm_open(sub, &o, &db), -EINVAL);
	ck_assert_int_eq(access(sub, F_OK), -1);
	ck_assert(tu_logged("invalid options", NULL));

	/* no store there and not allowed to create one */
	lsm_options_init(&o);
	o.create_if_missing = 0;
	ck_assert_int_eq(lsm_open(sub, &o, &db), -ENOENT);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(lsm_open(sub, &o, &db), -ENOENT);

	db = tu_open_ok(NULL);
	char *v = NULL;
	size_t vlen;
	struct lsm_batch *b;
	ck_assert_int_eq(lsm_put(NULL, "k", 1, "v", 1), -EINVAL);
	ck_assert_int_eq(lsm_delete(NULL, "k", 1), -EINVAL);
	ck_assert_int_eq(lsm_get(NULL, NULL, "k", 1, &v, &vlen), -EINVAL);
	ck_assert_int_eq(lsm_get(db, NULL, NULL, 1, &v, &vlen), -EINVAL);
	ck_assert_int_eq(lsm_get(db, NULL, "k", 1, NULL, &vlen), -EINVAL);
	ck_assert_int_eq(lsm_get(db, NULL, "k", 1, &v, NULL), -EINVAL);
	ck_assert_int_eq(lsm_sync(NULL), -EINVAL);
	ck_assert_int_eq(lsm_flush(NULL), -EINVAL);
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	ck_assert_int_eq(lsm_write(NULL, b, 0), -EINVAL);
	ck_assert_int_eq(lsm_write(db, NULL, 0), -EINVAL);
	ck_assert_int_eq(lsm_write(db, b, 0x100), -EINVAL);
	lsm_batch_free(b);
	ck_assert_int_eq(lsm_close(NULL), 0);
	/* the store still works after all that */
	put_s(db, "k", "v");
	expect_s(db, "k", "v");
	tu_close_ok(db);
}
END_TEST

/* ---- reopen after many flushes ---- */

START_TEST(test_reopen_many_tables)
{
	enum { N = 8000 };
	struct lsm_options o = small_opts();
	struct lsm_db *db = tu_open_ok(&o);
	char key[32], val[256];

	for (uint32_t i = 0; i < N; i++) {
		int klen = snprintf(key, sizeof key, "key%07u", i * 7 % N);
		make_value(val, value_len(i * 7 % N), i * 7 % N, 0);
		ck_assert_int_eq(lsm_put(db, key, (size_t)klen, val,
					 value_len(i * 7 % N)),
				 0);
	}
	/* second versions of every third key, deletes of every fifth */
	for (uint32_t i = 0; i < N; i += 3) {
		int klen = snprintf(key, sizeof key, "key%07u", i);
		make_value(val, value_len(i), i, 1);
		ck_assert_int_eq(
			lsm_put(db, key, (size_t)klen, val, value_len(i)), 0);
	}
	for (uint32_t i = 0; i < N; i += 5) {
		int klen = snprintf(key, sizeof key, "key%07u", i);
		ck_assert_int_eq(lsm_delete(db, key, (size_t)klen), 0);
	}

	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	printf("reopen: %llu flushes, %llu tables before close\n",
	       (unsigned long long)st.flushes,
	       (unsigned long long)tu_level_files(&st, 0));
	ck_assert_uint_ge(st.flushes, 5);
	ck_assert_uint_ge(tu_level_files(&st, 0), 1);
	ck_assert_uint_eq(st.writes, N + (N + 2) / 3 + (N + 4) / 5);
	lsm_stats_release(&st);
	tu_close_ok(db);

	for (int round = 0; round < 2; round++) {
		db = tu_open_ok(&o);
		ck_assert_int_eq(lsm_stats_get(db, &st), 0);
		ck_assert_uint_ge(tu_level_files(&st, 0), 1);
		ck_assert_uint_gt(st.last_sequence, N);
		lsm_stats_release(&st);
		for (uint32_t i = 0; i < N; i++) {
			int klen = snprintf(key, sizeof key, "key%07u", i);
			if (i % 5 == 0) {
				expect_s(db, key, NULL);
				continue;
			}
			expect_value(db, key, (size_t)klen, i,
				     i % 3 == 0 ? 1 : 0);
		}
		tu_close_ok(db);
	}
}
END_TEST

/* ---- crash recovery: a child writes, the parent SIGKILLs it ---- */

enum crash_kind {
	CRASH_SYNC_PUTS,  /* every put LSM_WRITE_SYNC, acked one by one */
	CRASH_SYNC_BATCH, /* batches of BATCH_KEYS keys, sync, acked */
	CRASH_NONE_SYNC,  /* LSM_SYNC_NONE puts, acked after lsm_sync() */
};

#define BATCH_KEYS 50
#define SYNC_EVERY 37

static struct lsm_options crash_opts(void)
{
	struct lsm_options o = small_opts();
	o.l0_compaction_trigger = 2; /* compactions run when the kill hits */
	o.l1_target_size = 256 << 10;
	o.target_file_size = 64 << 10;
	return o;
}

/* The child: writes until killed, acking on fd. Never returns. */
static void crash_child(enum crash_kind kind, int cycle, int fd)
{
	struct lsm_options o = crash_opts();
	struct lsm_db *db;
	struct lsm_batch *b;
	char key[48], val[256];

	if (lsm_open(tu_dir, &o, &db) || lsm_batch_new(&b))
		_exit(3);
	for (uint32_t i = 0;; i++) {
		int rc = 0;
		uint32_t ack = i;
		if (kind == CRASH_SYNC_BATCH) {
			lsm_batch_clear(b);
			for (uint32_t j = 0; j < BATCH_KEYS && !rc; j++) {
				int klen =
					snprintf(key, sizeof key,
						 "c%d/b%06u/%02u", cycle, i, j);
				uint32_t id = i * BATCH_KEYS + j;
				make_value(val, value_len(id), id,
					   (uint32_t)cycle);
				rc = lsm_batch_put(b, key, (size_t)klen, val,
						   value_len(id));
			}
			/* the newest complete batch, written with it */
			int klen = snprintf(key, sizeof key, "c%d/last", cycle);
			int vl = snprintf(val, sizeof val, "%u", i);
			if (!rc)
				rc = lsm_batch_put(b, key, (size_t)klen, val,
						   (size_t)vl);
			if (!rc)
				rc = lsm_write(db, b, LSM_WRITE_SYNC);
		} else {
			int klen = snprintf(key, sizeof key, "c%d/k%07u", cycle,
					    i);
			make_value(val, value_len(i), i, (uint32_t)cycle);
			lsm_batch_clear(b);
			rc = lsm_batch_put(b, key, (size_t)klen, val,
					   value_len(i));
			if (!rc)
				rc = lsm_write(db, b,
					       kind == CRASH_SYNC_PUTS
						       ? LSM_WRITE_SYNC
						       : 0);
			if (!rc && kind == CRASH_NONE_SYNC) {
				if ((i + 1) % SYNC_EVERY)
					continue;
				rc = lsm_sync(db);
			}
		}
		if (rc)
			_exit(4);
		/* for CRASH_NONE_SYNC: keys 0..ack are durable */
		if (write(fd, &ack, sizeof ack) != sizeof ack)
			_exit(5);
	}
}

/*
 * Runs one cycle: forks the writer, waits for min_acks acks and then a
 * random 20..250 ms, SIGKILLs it, and returns the number of acks
 * (acknowledged units are 0..acks-1; for CRASH_NONE_SYNC the last ack
 * value + 1 keys).
 */
static uint32_t crash_cycle(enum crash_kind kind, int cycle, uint32_t min_acks,
			    unsigned *seed)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		crash_child(kind, cycle, p[1]);
	}
	close(p[1]);

	uint32_t acks = 0, last = UINT32_MAX, id;
	while (acks < min_acks) {
		ssize_t n = read(p[0], &id, sizeof id);
		if (n != sizeof id)
			break;
		/* acks come in order: one by one, or one per lsm_sync() */
		ck_assert(last == UINT32_MAX || id > last);
		ck_assert(kind == CRASH_NONE_SYNC || id == acks);
		last = id;
		acks++;
	}
	ck_assert_msg(acks >= min_acks, "the writer died early (%u acks)",
		      acks);
	tu_sleep_ms(20 + (long)(rand_r(seed) % 230));
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "the writer exited by itself (status 0x%x)", status);
	/* everything the child acked before dying is in the pipe */
	while (read(p[0], &id, sizeof id) == sizeof id) {
		last = id;
		acks++;
	}
	close(p[0]);
	return kind == CRASH_NONE_SYNC ? last + 1 : acks;
}

/* A SIGKILL leaves no corruption: lsm_check() may warn (a torn WAL tail,
 * an unfinished table), but finds nothing wrong. */
static void expect_clean_after_crash(void)
{
	char *text = NULL;
	size_t len = 0;
	int problems = -1;
	FILE *report = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(report);
	int rc = lsm_check(tu_dir, report, &problems);
	fclose(report);
	ck_assert_msg(rc == 0 && problems == 0,
		      "lsm_check after a kill: %s, %d problems:\n%s",
		      lsm_strerror(rc), problems, text);
	free(text);
}

/* Keys of a cycle present after recovery must be exactly 0..m-1 (writes
 * reach the log in order); returns m after checking every value. */
static uint32_t check_put_prefix(struct lsm_db *db, int cycle, uint32_t acked)
{
	char key[48];
	uint32_t m = 0;
	for (;; m++) {
		int klen = snprintf(key, sizeof key, "c%d/k%07u", cycle, m);
		char *v;
		size_t vlen;
		int rc = lsm_get(db, NULL, key, (size_t)klen, &v, &vlen);
		if (rc == -ENOENT)
			break;
		ck_assert_msg(rc == 0, "get '%s': %s", key, lsm_strerror(rc));
		free(v);
		expect_value(db, key, (size_t)klen, m, (uint32_t)cycle);
	}
	ck_assert_msg(m >= acked,
		      "cycle %d: %u writes acknowledged but only %u recovered",
		      cycle, acked, m);
	/* nothing after the hole */
	for (uint32_t i = m + 1; i < m + 50; i++) {
		int klen = snprintf(key, sizeof key, "c%d/k%07u", cycle, i);
		char *v;
		size_t vlen;
		ck_assert_msg(lsm_get(db, NULL, key, (size_t)klen, &v, &vlen) ==
				      -ENOENT,
			      "cycle %d: key %u present after a hole at %u",
			      cycle, i, m);
	}
	return m;
}

static void crash_puts(enum crash_kind kind)
{
	enum { CYCLES = 4 };
	unsigned seed = kind == CRASH_SYNC_PUTS ? 11 : 12;
	uint32_t recovered[CYCLES];
	for (int c = 0; c < CYCLES; c++) {
		uint32_t acked = crash_cycle(kind, c, 40, &seed);
		expect_clean_after_crash();
		struct lsm_options o = crash_opts();
		struct lsm_db *db = tu_open_ok(&o);
		recovered[c] = check_put_prefix(db, c, acked);
		printf("crash %s cycle %d: %u acked, %u recovered\n",
		       kind == CRASH_SYNC_PUTS ? "sync" : "none+lsm_sync", c,
		       acked, recovered[c]);
		if (kind == CRASH_SYNC_PUTS)
			ck_assert_uint_le(recovered[c], acked + 1);
		/* earlier cycles are intact */
		for (int e = 0; e < c; e++)
			ck_assert_uint_eq(check_put_prefix(db, e, recovered[e]),
					  recovered[e]);
		tu_close_ok(db);
	}
}

START_TEST(test_crash_sync_puts)
{
	crash_puts(CRASH_SYNC_PUTS);
}
END_TEST

START_TEST(test_crash_sync_none)
{
	crash_puts(CRASH_NONE_SYNC);
}
END_TEST

/* Counts the present keys of batch i of a cycle, checking their values. */
static uint32_t batch_present(struct lsm_db *db, int cycle, uint32_t i)
{
	char key[48];
	uint32_t n = 0;
	for (uint32_t j = 0; j < BATCH_KEYS; j++) {
		int klen = snprintf(key, sizeof key, "c%d/b%06u/%02u", cycle, i,
				    j);
		char *v;
		size_t vlen;
		int rc = lsm_get(db, NULL, key, (size_t)klen, &v, &vlen);
		if (rc == -ENOENT)
			continue;
		ck_assert_msg(rc == 0, "get '%s': %s", key, lsm_strerror(rc));
		free(v);
		expect_value(db, key, (size_t)klen, i * BATCH_KEYS + j,
			     (uint32_t)cycle);
		n++;
	}
	return n;
}

static uint32_t check_batches(struct lsm_db *db, int cycle, uint32_t acked)
{
	uint32_t complete = 0;
	for (uint32_t i = 0;; i++) {
		uint32_t n = batch_present(db, cycle, i);
		ck_assert_msg(n == 0 || n == BATCH_KEYS,
			      "cycle %d: batch %u is torn: %u of %u keys",
			      cycle, i, n, BATCH_KEYS);
		if (n == 0) {
			complete = i;
			break;
		}
	}
	ck_assert_msg(complete >= acked,
		      "cycle %d: %u batches acknowledged, %u recovered", cycle,
		      acked, complete);
	ck_assert_uint_le(complete, acked + 1);
	for (uint32_t i = complete + 1; i < complete + 5; i++)
		ck_assert_uint_eq(batch_present(db, cycle, i), 0);
	/* the marker key came in the same batches */
	char key[48], want[16];
	snprintf(key, sizeof key, "c%d/last", cycle);
	snprintf(want, sizeof want, "%u", complete - 1);
	expect_s(db, key, complete ? want : NULL);
	return complete;
}

START_TEST(test_crash_sync_batches)
{
	enum { CYCLES = 4 };
	unsigned seed = 13;
	uint32_t complete[CYCLES];
	for (int c = 0; c < CYCLES; c++) {
		uint32_t acked = crash_cycle(CRASH_SYNC_BATCH, c, 10, &seed);
		expect_clean_after_crash();
		struct lsm_options o = crash_opts();
		struct lsm_db *db = tu_open_ok(&o);
		complete[c] = check_batches(db, c, acked);
		printf("crash batches cycle %d: %u acked, %u recovered\n", c,
		       acked, complete[c]);
		for (int e = 0; e < c; e++)
			ck_assert_uint_eq(check_batches(db, e, complete[e]),
					  complete[e]);
		tu_close_ok(db);
	}
}
END_TEST

/* ---- group commit and lsm_sync ---- */

#define GC_THREADS 8
#define GC_WRITES 200

struct gc_arg {
	struct lsm_db *db;
	int t;
	int errors;
	int mode; /* 0: sync puts; 1: plain puts and lsm_sync() */
};

static void *gc_thread(void *p)
{
	struct gc_arg *a = p;
	char key[32], val[256];
	struct lsm_batch *b;
	if (lsm_batch_new(&b)) {
		a->errors++;
		return NULL;
	}
	for (uint32_t i = 0; i < GC_WRITES; i++) {
		uint32_t id = (uint32_t)a->t * GC_WRITES + i;
		int klen = snprintf(key, sizeof key, "t%d/%05u", a->t, i);
		make_value(val, value_len(id), id, 0);
		lsm_batch_clear(b);
		if (lsm_batch_put(b, key, (size_t)klen, val, value_len(id)))
			a->errors++;
		if (a->mode == 0) {
			if (lsm_write(a->db, b, LSM_WRITE_SYNC))
				a->errors++;
		} else {
			if (lsm_write(a->db, b, 0))
				a->errors++;
			if (i % 10 == 9 && lsm_sync(a->db))
				a->errors++;
		}
	}
	lsm_batch_free(b);
	return NULL;
}

static void run_gc_threads(struct lsm_db *db, int mode)
{
	pthread_t th[GC_THREADS];
	struct gc_arg a[GC_THREADS];
	for (int t = 0; t < GC_THREADS; t++) {
		a[t] = (struct gc_arg){ db, t, 0, mode };
		ck_assert_int_eq(pthread_create(&th[t], NULL, gc_thread, &a[t]),
				 0);
	}
	for (int t = 0; t < GC_THREADS; t++) {
		pthread_join(th[t], NULL);
		ck_assert_int_eq(a[t].errors, 0);
	}
}

static void check_gc_keys(struct lsm_db *db)
{
	char key[32];
	for (int t = 0; t < GC_THREADS; t++) {
		for (uint32_t i = 0; i < GC_WRITES; i++) {
			int klen = snprintf(key, sizeof key, "t%d/%05u", t, i);
			expect_value(db, key, (size_t)klen,
				     (uint32_t)t * GC_WRITES + i, 0);
		}
	}
}

START_TEST(test_group_commit)
{
	struct lsm_db *db = tu_open_ok(NULL);
	struct lsm_stats st;
	run_gc_threads(db, 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t writes = GC_THREADS * GC_WRITES;
	printf("group commit: %llu sync writes, %llu WAL records, %llu "
	       "fdatasyncs (%.2f writes per sync, %.2f writes per group)\n",
	       (unsigned long long)st.writes,
	       (unsigned long long)st.wal_records,
	       (unsigned long long)st.wal_syncs,
	       st.wal_syncs ? (double)writes / (double)st.wal_syncs : 0.0,
	       st.writes_per_group);
	ck_assert_uint_eq(st.writes, writes);
	ck_assert_uint_eq(st.sync_requests, writes);
	ck_assert_uint_ge(st.wal_syncs, 1);
	ck_assert_uint_lt(st.wal_syncs, writes);
	ck_assert_uint_le(st.wal_records, writes);
	ck_assert(st.writes_per_group >= 1.0);
	ck_assert(st.syncs_per_request > 0 && st.syncs_per_request < 1.0);
	lsm_stats_release(&st);
	check_gc_keys(db);
	tu_reopen_ok(&db, NULL);
	check_gc_keys(db);
	tu_close_ok(db);
}
END_TEST

START_TEST(test_group_commit_sync_always)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.sync_mode = LSM_SYNC_ALWAYS;
	struct lsm_db *db = tu_open_ok(&o);
	put_s(db, "one", "1"); /* a plain put syncs in this mode */
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_eq(st.sync_requests, 1);
	ck_assert_uint_eq(st.wal_syncs, 1);
	lsm_stats_release(&st);
	tu_close_ok(db);
}
END_TEST

START_TEST(test_sync_concurrent)
{
	struct lsm_db *db = tu_open_ok(NULL);
	struct lsm_stats st;
	/* nothing written yet: a sync has nothing to do but succeeds */
	ck_assert_int_eq(lsm_sync(db), 0);
	run_gc_threads(db, 1);
	ck_assert_int_eq(lsm_sync(db), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	uint64_t calls = GC_THREADS * (GC_WRITES / 10) + 2;
	printf("lsm_sync: %llu calls, %llu fdatasyncs\n",
	       (unsigned long long)calls, (unsigned long long)st.wal_syncs);
	ck_assert_uint_eq(st.sync_requests, calls);
	ck_assert_uint_le(st.wal_syncs, calls);
	ck_assert_uint_ge(st.wal_syncs, 1);
	/* a sync with nothing new to sync costs no fdatasync */
	uint64_t before = st.wal_syncs;
	lsm_stats_release(&st);
	ck_assert_int_eq(lsm_sync(db), 0);
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_uint_eq(st.wal_syncs, before);
	lsm_stats_release(&st);
	check_gc_keys(db);
	tu_close_ok(db);
}
END_TEST

/* ---- the store lock ---- */

START_TEST(test_lock)
{
	struct lsm_db *db = tu_open_ok(NULL), *db2 = NULL;
	put_s(db, "k", "v");
	tu_log_clear();
	ck_assert_int_eq(lsm_open(tu_dir, NULL, &db2), -EBUSY);
	ck_assert_ptr_null(db2);
	ck_assert(tu_logged("locked", NULL));
	/* the same directory spelled differently is the same store */
	char alias[192];
	snprintf(alias, sizeof alias, "%s/.", tu_dir);
	ck_assert_int_eq(lsm_open(alias, NULL, &db2), -EBUSY);
	/* the failed opens did not disturb the open store */
	expect_s(db, "k", "v");

	/* another process */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lsm_db *c = NULL;
		_exit(lsm_open(tu_dir, NULL, &c) == -EBUSY ? 0 : 1);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "a second process could open the store");
	tu_close_ok(db);

	/* after close: open works, here and in another process */
	db = tu_open_ok(NULL);
	expect_s(db, "k", "v");
	tu_close_ok(db);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lsm_db *c = NULL;
		if (lsm_open(tu_dir, NULL, &c))
			_exit(1);
		char *v;
		size_t vlen;
		int rc = lsm_get(c, NULL, "k", 1, &v, &vlen);
		_exit(rc == 0 && lsm_close(c) == 0 ? 0 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* A process that dies holding the store frees the lock. */
START_TEST(test_lock_released_by_kill)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lsm_db *c = NULL;
		close(p[0]);
		if (lsm_open(tu_dir, NULL, &c))
			_exit(1);
		char ok = 1;
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char ok;
	ck_assert_int_eq(read(p[0], &ok, 1), 1);
	close(p[0]);
	struct lsm_db *db = NULL;
	tu_log_clear();
	ck_assert_int_eq(lsm_open(tu_dir, NULL, &db), -EBUSY);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	db = tu_open_ok(NULL);
	tu_close_ok(db);
}
END_TEST

/* ---- WAL recovery modes ---- */

#define WAL_KEYS 200

/* Writes WAL_KEYS single-key records that all stay in one WAL segment,
 * closes the store, and returns the path of that segment. */
static void write_wal_store(char *wal_path, size_t len, off_t *size)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = 64 << 20;
	struct lsm_db *db = tu_open_ok(&o);
	char key[32], val[256];
	for (uint32_t i = 0; i < WAL_KEYS; i++) {
		int klen = snprintf(key, sizeof key, "w%04u", i);
		make_value(val, value_len(i), i, 0);
		ck_assert_int_eq(
			lsm_put(db, key, (size_t)klen, val, value_len(i)), 0);
	}
	tu_close_ok(db);

	/* the biggest .wal file holds the records */
	DIR *d = opendir(tu_dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	*size = 0;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".wal"))
			continue;
		char p[512];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", tu_dir, e->d_name);
		ck_assert_int_eq(stat(p, &st), 0);
		if (st.st_size > *size) {
			*size = st.st_size;
			snprintf(wal_path, len, "%s", p);
		}
	}
	closedir(d);
	ck_assert_int_gt(*size, WAL_KEYS * 20);
}

static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	unsigned char c;
	ck_assert_int_eq(pread(fd, &c, 1, off), 1);
	c ^= 0x5a;
	ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* Counts the WAL_KEYS keys present, checking every present value. */
static uint32_t count_wal_keys(struct lsm_db *db, uint32_t *first_missing)
{
	char key[32];
	uint32_t n = 0;
	*first_missing = UINT32_MAX;
	for (uint32_t i = 0; i < WAL_KEYS; i++) {
		int klen = snprintf(key, sizeof key, "w%04u", i);
		char *v;
		size_t vlen;
		int rc = lsm_get(db, NULL, key, (size_t)klen, &v, &vlen);
		if (rc == -ENOENT) {
			if (*first_missing == UINT32_MAX)
				*first_missing = i;
			continue;
		}
		ck_assert_int_eq(rc, 0);
		free(v);
		expect_value(db, key, (size_t)klen, i, 0);
		n++;
	}
	return n;
}

START_TEST(test_wal_corrupt_middle)
{
	char wal[512];
	off_t size;
	write_wal_store(wal, sizeof wal, &size);
	flip_byte(wal, size / 2);

	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = 64 << 20;
	struct lsm_db *db = NULL;
	tu_log_clear();
	ck_assert_int_eq(lsm_open(tu_dir, &o, &db), -EIO);
	ck_assert_ptr_null(db);
	const char *base = strrchr(wal, '/') + 1;
	ck_assert_msg(tu_logged(base, "offset", NULL),
		      "no log line names '%s' and an offset", base);
	/* a failed open leaves the store as it was: it fails again */
	ck_assert_int_eq(lsm_open(tu_dir, &o, &db), -EIO);

	tu_log_clear();
	o.wal_recovery = LSM_WAL_RECOVERY_SKIP;
	db = tu_open_ok(&o);
	ck_assert_msg(tu_log_count() > 0,
		      "skipping a corrupt record was not logged");
	uint32_t missing;
	uint32_t n = count_wal_keys(db, &missing);
	/* one record (one key) was damaged: only it is lost */
	ck_assert_uint_eq(n, WAL_KEYS - 1);
	ck_assert_uint_gt(missing, 0);
	ck_assert_uint_lt(missing, WAL_KEYS - 1);
	put_s(db, "after", "skip");
	tu_close_ok(db);

	/* what SKIP recovered is now safe for a STRICT open */
	o.wal_recovery = LSM_WAL_RECOVERY_STRICT;
	db = tu_open_ok(&o);
	ck_assert_uint_eq(count_wal_keys(db, &missing), WAL_KEYS - 1);
	expect_s(db, "after", "skip");
	tu_close_ok(db);
}
END_TEST

START_TEST(test_wal_torn_tail)
{
	char wal[512];
	off_t size;
	write_wal_store(wal, sizeof wal, &size);
	/* cut the last record in half */
	ck_assert_int_eq(truncate(wal, size - 40), 0);

	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = 64 << 20;
	tu_log_clear();
	struct lsm_db *db = tu_open_ok(&o);
	ck_assert_msg(tu_log_count() > 0, "a dropped tail was not logged");
	uint32_t missing;
	ck_assert_uint_eq(count_wal_keys(db, &missing), WAL_KEYS - 1);
	ck_assert_uint_eq(missing, WAL_KEYS - 1);
	/* new writes after the dropped tail are kept */
	put_s(db, "after", "tail");
	tu_reopen_ok(&db, &o);
	expect_s(db, "after", "tail");
	ck_assert_uint_eq(count_wal_keys(db, &missing), WAL_KEYS - 1);
	ck_assert_uint_eq(missing, WAL_KEYS - 1);
	tu_close_ok(db);
}
END_TEST

/* A tail of zeros (a crash after the file grew but before data landed). */
START_TEST(test_wal_zero_tail)
{
	char wal[512];
	off_t size;
	write_wal_store(wal, sizeof wal, &size);
	ck_assert_int_eq(truncate(wal, size + 4096), 0);
	struct lsm_options o;
	lsm_options_init(&o);
	tu_log_clear();
	struct lsm_db *db = tu_open_ok(&o);
	uint32_t missing;
	ck_assert_uint_eq(count_wal_keys(db, &missing), WAL_KEYS);
	tu_close_ok(db);
}
END_TEST

/* ---- tables left outside the manifest by a crash ---- */

static bool exists_in(const char *d, const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", d, name);
	return access(p, F_OK) == 0;
}

/* Copies the first .sst of src to dst/name. */
static void copy_some_sst(const char *src, const char *dst, const char *name)
{
	DIR *d = opendir(src);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	char from[512] = "", to[512];
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n > 4 && !strcmp(e->d_name + n - 4, ".sst")) {
			snprintf(from, sizeof from, "%s/%s", src, e->d_name);
			break;
		}
	}
	closedir(d);
	ck_assert_msg(from[0], "no .sst in '%s'", src);
	snprintf(to, sizeof to, "%s/%s", dst, name);
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

static void write_file(const char *d, const char *name, size_t len)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", d, name);
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < len; i++)
		fputc((int)((i * 131) & 0xff), f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The numbers of the NNNNNN.sst files in d (at most max); returns the
 * count and sets *highest to the highest number of any numbered file. */
static size_t list_tables(const char *d, uint64_t *nums, size_t max,
			  uint64_t *highest)
{
	DIR *dd = opendir(d);
	ck_assert_ptr_nonnull(dd);
	struct dirent *e;
	size_t n = 0;
	*highest = 0;
	while ((e = readdir(dd))) {
		char *end;
		const char *name = e->d_name;
		if (!strncmp(name, "MANIFEST-", 9))
			name += 9;
		if (*name < '0' || *name > '9')
			continue;
		uint64_t x = strtoull(name, &end, 10);
		if (x > *highest && x < 900000)
			*highest = x;
		if (!strcmp(end, ".sst") && n < max)
			nums[n++] = x;
	}
	closedir(dd);
	return n;
}

/* Asserts that every table in the directory is a live table of db. */
static void expect_only_live_tables(struct lsm_db *db)
{
	static uint64_t nums[4096];
	uint64_t highest;
	size_t n = list_tables(tu_dir, nums, 4096, &highest);
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	for (size_t i = 0; i < n; i++) {
		bool live = false;
		for (size_t j = 0; j < st.nfiles; j++)
			if (st.files[j].number == nums[i])
				live = true;
		ck_assert_msg(live,
			      "%06llu.sst is not in the manifest but "
			      "was not removed",
			      (unsigned long long)nums[i]);
	}
	ck_assert_uint_eq(n, st.nfiles);
	lsm_stats_release(&st);
}

START_TEST(test_stray_tables_removed)
{
	char *other = other_dir, key[32], val[256], name[32];
	tu_mkdtemp(other_dir, sizeof other_dir, "other");

	/* a valid table full of keys this store never had */
	struct lsm_options o = small_opts();
	struct lsm_db *db;
	ck_assert_int_eq(lsm_open(other, &o, &db), 0);
	for (uint32_t i = 0; i < 500; i++) {
		int klen = snprintf(key, sizeof key, "ghost%04u", i);
		ck_assert_int_eq(lsm_put(db, key, (size_t)klen, "boo", 3), 0);
	}
	ck_assert_int_eq(lsm_flush(db), 0);
	tu_close_ok(db);

	/* the store: some keys in tables, some only in the WAL */
	db = tu_open_ok(&o);
	for (uint32_t i = 0; i < 3000; i++) {
		int klen = snprintf(key, sizeof key, "k%05u", i);
		make_value(val, value_len(i), i, 0);
		ck_assert_int_eq(
			lsm_put(db, key, (size_t)klen, val, value_len(i)), 0);
		if (i == 2000)
			ck_assert_int_eq(lsm_flush(db), 0);
	}
	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	size_t tables_before = st.nfiles;
	lsm_stats_release(&st);
	tu_close_ok(db);

	/*
	 * What a crash between writing a table and logging its version edit
	 * leaves: a finished table no manifest names (numbered just past the
	 * newest file, the number the next table would get, and far past
	 * it), a table with garbage in it, and half-written temporaries.
	 */
	static uint64_t nums[4096];
	uint64_t highest;
	list_tables(tu_dir, nums, 4096, &highest);
	snprintf(name, sizeof name, "%06llu.sst",
		 (unsigned long long)highest + 1);
	copy_some_sst(other, tu_dir, name);
	copy_some_sst(other, tu_dir, "900000.sst");
	write_file(tu_dir, "900001.sst", 5000);
	write_file(tu_dir, "900002.sst.tmp", 3000);
	write_file(tu_dir, "000123.tmp", 10);

	/* without background threads nothing but recovery touches files */
	o.disable_background_work = 1;
	db = tu_open_ok(&o);
	ck_assert(!exists_in(tu_dir, "900000.sst"));
	ck_assert(!exists_in(tu_dir, "900001.sst"));
	ck_assert(!exists_in(tu_dir, "900002.sst.tmp"));
	ck_assert(!exists_in(tu_dir, "000123.tmp"));
	expect_only_live_tables(db);
	/* replaying what the WAL held (less than a memtable, plus at most
	 * max_immutable_memtables frozen ones) takes a few tables, not one
	 * per record */
	ck_assert_int_eq(lsm_stats_get(db, &st), 0);
	ck_assert_msg(st.nfiles <= tables_before + 4,
		      "%zu tables before close, %zu after replaying the WAL",
		      tables_before, st.nfiles);
	lsm_stats_release(&st);

	for (uint32_t i = 0; i < 3000; i++) {
		int klen = snprintf(key, sizeof key, "k%05u", i);
		expect_value(db, key, (size_t)klen, i, 0);
	}
	for (uint32_t i = 0; i < 500; i += 7) {
		snprintf(key, sizeof key, "ghost%04u", i);
		expect_s(db, key, NULL);
	}
	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	lsm_iter_seek(it, "ghost", 5);
	ck_assert(lsm_iter_valid(it));
	size_t klen;
	const char *k = lsm_iter_key(it, &klen);
	ck_assert_msg(k[0] == 'k', "a stray table's key '%.*s' is visible",
		      (int)klen, k);
	lsm_iter_free(it);
	tu_close_ok(db);

	/* and the store keeps working: new tables get fresh numbers */
	o.disable_background_work = 0;
	db = tu_open_ok(&o);
	put_s(db, "after", "crash");
	ck_assert_int_eq(lsm_compact(db, NULL, NULL), 0);
	expect_s(db, "after", "crash");
	tu_close_ok(db);
	o.disable_background_work = 1;
	db = tu_open_ok(&o);
	expect_only_live_tables(db);
	expect_s(db, "after", "crash");
	expect_s(db, "ghost0000", NULL);
	for (uint32_t i = 0; i < 3000; i++) {
		int klen = snprintf(key, sizeof key, "k%05u", i);
		expect_value(db, key, (size_t)klen, i, 0);
	}
	tu_close_ok(db);
	tu_rm_rf(other_dir);
}
END_TEST

/* ---- reads during concurrent flushes ---- */

#define RF_KEYS 2000
#define RF_WRITERS 2
#define RF_READERS 2

struct rf_shared {
	struct lsm_db *db;
	uint32_t acked[RF_KEYS]; /* newest acknowledged version (atomic) */
	int stop;                /* atomic */
	int errors;              /* atomic */
	char first_error[256];
	pthread_mutex_t mu;
};

struct rf_arg {
	struct rf_shared *s;
	int id;
	uint64_t ops;
};

static void rf_fail(struct rf_shared *s, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&s->mu);
	if (!s->errors) {
		va_start(ap, fmt);
		vsnprintf(s->first_error, sizeof s->first_error, fmt, ap);
		va_end(ap);
	}
	s->errors++;
	pthread_mutex_unlock(&s->mu);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
}

static size_t rf_value(char *out, uint32_t key, uint32_t ver)
{
	/* "kKKKK vVVVVVVVV " then filler: version is parseable */
	size_t len = 60 + (key % 7) * 10;
	int n = snprintf(out, len + 1, "k%04u v%08u ", key, ver);
	memset(out + n, 'a' + (int)(key % 26), len - (size_t)n);
	return len;
}

static void *rf_writer(void *p)
{
	struct rf_arg *a = p;
	struct rf_shared *s = a->s;
	char key[16], val[160];
	for (uint32_t ver = 1; !__atomic_load_n(&s->stop, __ATOMIC_RELAXED);
	     ver++) {
		for (uint32_t k = (uint32_t)a->id; k < RF_KEYS;
		     k += RF_WRITERS) {
			int klen = snprintf(key, sizeof key, "k%04u", k);
			size_t vlen = rf_value(val, k, ver);
			int rc = lsm_put(s->db, key, (size_t)klen, val, vlen);
			if (rc) {
				rf_fail(s, "put %s: %s", key, lsm_strerror(rc));
				return NULL;
			}
			__atomic_store_n(&s->acked[k], ver, __ATOMIC_RELEASE);
			a->ops++;
		}
	}
	return NULL;
}

static void *rf_reader(void *p)
{
	struct rf_arg *a = p;
	struct rf_shared *s = a->s;
	uint32_t *seen = calloc(RF_KEYS, sizeof *seen);
	unsigned seed = 100u + (unsigned)a->id;
	char key[16], want[160];
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		uint32_t k = (uint32_t)rand_r(&seed) % RF_KEYS;
		uint32_t acked =
			__atomic_load_n(&s->acked[k], __ATOMIC_ACQUIRE);
		int klen = snprintf(key, sizeof key, "k%04u", k);
		char *v = NULL;
		size_t vlen;
		int rc = lsm_get(s->db, NULL, key, (size_t)klen, &v, &vlen);
		if (rc) {
			rf_fail(s, "get %s: %s", key, lsm_strerror(rc));
			break;
		}
		unsigned kk = 0, ver = 0;
		if (sscanf(v, "k%4u v%8u ", &kk, &ver) != 2 || kk != k) {
			rf_fail(s, "get %s: foreign value '%.20s'", key, v);
			free(v);
			break;
		}
		size_t wlen = rf_value(want, k, ver);
		if (wlen != vlen || memcmp(want, v, vlen)) {
			rf_fail(s, "get %s: damaged value of version %u", key,
				ver);
			free(v);
			break;
		}
		free(v);
		if (ver < acked) {
			rf_fail(s, "get %s: version %u older than acked %u",
				key, ver, acked);
			break;
		}
		if (ver < seen[k]) {
			rf_fail(s, "get %s: version %u after seeing %u", key,
				ver, seen[k]);
			break;
		}
		seen[k] = ver;
		a->ops++;
	}
	free(seen);
	return NULL;
}

START_TEST(test_reads_during_flushes)
{
	struct lsm_options o = small_opts();
	o.l0_compaction_trigger = 2;
	o.l1_target_size = 512 << 10;
	o.target_file_size = 128 << 10;
	static struct rf_shared s;
	memset(&s, 0, sizeof s);
	pthread_mutex_init(&s.mu, NULL);
	s.db = tu_open_ok(&o);

	char key[16], val[160];
	for (uint32_t k = 0; k < RF_KEYS; k++) {
		int klen = snprintf(key, sizeof key, "k%04u", k);
		size_t vlen = rf_value(val, k, 0);
		ck_assert_int_eq(lsm_put(s.db, key, (size_t)klen, val, vlen),
				 0);
	}

	pthread_t w[RF_WRITERS], r[RF_READERS];
	struct rf_arg wa[RF_WRITERS], ra[RF_READERS];
	for (int i = 0; i < RF_WRITERS; i++) {
		wa[i] = (struct rf_arg){ &s, i, 0 };
		ck_assert_int_eq(pthread_create(&w[i], NULL, rf_writer, &wa[i]),
				 0);
	}
	for (int i = 0; i < RF_READERS; i++) {
		ra[i] = (struct rf_arg){ &s, i, 0 };
		ck_assert_int_eq(pthread_create(&r[i], NULL, rf_reader, &ra[i]),
				 0);
	}
	for (int i = 0; i < 30 && !__atomic_load_n(&s.stop, __ATOMIC_RELAXED);
	     i++)
		tu_sleep_ms(100);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	uint64_t writes = 0, reads = 0;
	for (int i = 0; i < RF_WRITERS; i++) {
		pthread_join(w[i], NULL);
		writes += wa[i].ops;
	}
	for (int i = 0; i < RF_READERS; i++) {
		pthread_join(r[i], NULL);
		reads += ra[i].ops;
	}
	ck_assert_msg(s.errors == 0, "%d errors, first: %s", s.errors,
		      s.first_error);

	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(s.db, &st), 0);
	printf("reads during flushes: %llu writes, %llu reads, %llu flushes, "
	       "%llu tables\n",
	       (unsigned long long)writes, (unsigned long long)reads,
	       (unsigned long long)st.flushes,
	       (unsigned long long)tu_level_files(&st, 0));
	ck_assert_uint_ge(st.flushes, 3);
	ck_assert_uint_gt(reads, 1000);
	lsm_stats_release(&st);

	/* the final state is the newest version of every key */
	for (int round = 0; round < 2; round++) {
		for (uint32_t k = 0; k < RF_KEYS; k++) {
			int klen = snprintf(key, sizeof key, "k%04u", k);
			size_t vlen = rf_value(val, k, s.acked[k]);
			char *v;
			size_t glen;
			ck_assert_int_eq(lsm_get(s.db, NULL, key, (size_t)klen,
						 &v, &glen),
					 0);
			ck_assert_uint_eq(glen, vlen);
			ck_assert_msg(memcmp(v, val, vlen) == 0,
				      "%s: not the newest value", key);
			free(v);
		}
		tu_close_ok(s.db);
		if (round == 0)
			s.db = tu_open_ok(&o);
	}
	pthread_mutex_destroy(&s.mu);
}
END_TEST

static Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tu_tcase(s, "basics", 60, log_setup, NULL);
	tcase_add_test(tc, test_basics);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_invalid_args);
	tcase_add_test(tc, test_reopen_many_tables);

	tc = tu_tcase(s, "crash", 60, log_setup, NULL);
	tcase_add_test(tc, test_crash_sync_puts);
	tcase_add_test(tc, test_crash_sync_batches);
	tcase_add_test(tc, test_crash_sync_none);

	tc = tu_tcase(s, "sync", 60, log_setup, NULL);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_group_commit_sync_always);
	tcase_add_test(tc, test_sync_concurrent);

	tc = tu_tcase(s, "lock", 0, log_setup, NULL);
	tcase_add_test(tc, test_lock);
	tcase_add_test(tc, test_lock_released_by_kill);

	tc = tu_tcase(s, "recovery", 60, log_setup, NULL);
	tcase_add_test(tc, test_wal_corrupt_middle);
	tcase_add_test(tc, test_wal_torn_tail);
	tcase_add_test(tc, test_wal_zero_tail);
	tcase_add_test(tc, test_stray_tables_removed);

	tc = tu_tcase(s, "concurrency", 60, log_setup, NULL);
	tcase_add_test(tc, test_reads_during_flushes);
	return s;
}

int main(void)
{
	return tu_run("check_db", db_suite());
}
