/*
 * check_crashloop.c - crash loops over one store (issue 9, part 2).
 *
 * kill loop: a child process writes random batches (most with
 * LSM_WRITE_SYNC, some plain and then lsm_sync) and tells the parent over
 * a pipe, before each write, which batch it attempts and, after each
 * durable acknowledgement, how many batches are durable. The parent
 * SIGKILLs it at a random moment (during open and recovery too), reopens
 * the store and checks that it holds a prefix of the attempted batches no
 * shorter than the durable ones (tests/model.h): every acknowledged batch,
 * no partial batch, every value exact. Small memtables and L0 triggers
 * keep flushes and compactions running when the kill comes, and some
 * cycles slow them down (LSM_TEST_FLUSH_DELAY_US and
 * LSM_TEST_COMPACTION_DELAY_US, read at lsm_open) so kills land inside.
 *
 * power loop: the same in one process through env_fault: at a random point
 * (after N operations of the writer, or from a timer thread while the
 * writer runs) env_fault_power_loss() drops every unsynced byte and every
 * directory entry not synced; the store is closed (with errors), reopened
 * with the POSIX env and checked. A write acknowledged while the timer
 * thread had already begun the power loss counts as not durable (the
 * fault env cannot undo an fdatasync in flight).
 *
 * Cycle counts: LSM_CRASH_CYCLES=N (each loop), or `check_crashloop --long`
 * (2000 each). The default is a short run for `make check`. Each loop
 * prints the cycles run and how many crashes hit a running flush or
 * compaction.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "env_fault.h"
#include "lsm.h"
#include "model.h"
#include "testutil.h"

static int kill_cycles = 25;
static int power_cycles = 40;

static char dir[64];

static void quiet(void *ctx, const char *line)
{
	(void)ctx;
	if (getenv("LSM_TEST_VERBOSE"))
		fprintf(stderr, "%s\n", line);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_crashloop.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	lsm_set_log_handler(quiet, NULL);
}

static void teardown(void)
{
	tu_rm_rf(dir);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static struct lsm_options crash_opts(struct lsm_env *env)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = 32 << 10;
	o.block_size = 1024;
	o.l0_compaction_trigger = 2;
	o.l0_slowdown_trigger = 4;
	o.l0_stop_trigger = 6;
	o.l1_target_size = 128 << 10;
	o.target_file_size = 32 << 10;
	o.env = env;
	return o;
}

/* Sets (or clears) the background delay hooks read by lsm_open. */
static void set_delays(uint64_t *rng)
{
	char v[32];
	switch (rnd(rng) % 4) {
	case 0:
		snprintf(v, sizeof v, "%llu",
			 (unsigned long long)(1000 + rnd(rng) % 20000));
		setenv("LSM_TEST_FLUSH_DELAY_US", v, 1);
		unsetenv("LSM_TEST_COMPACTION_DELAY_US");
		break;
	case 1:
		snprintf(v, sizeof v, "%llu",
			 (unsigned long long)(1000 + rnd(rng) % 20000));
		setenv("LSM_TEST_COMPACTION_DELAY_US", v, 1);
		unsetenv("LSM_TEST_FLUSH_DELAY_US");
		break;
	default:
		unsetenv("LSM_TEST_FLUSH_DELAY_US");
		unsetenv("LSM_TEST_COMPACTION_DELAY_US");
		break;
	}
}

static void clear_delays(void)
{
	unsetenv("LSM_TEST_FLUSH_DELAY_US");
	unsetenv("LSM_TEST_COMPACTION_DELAY_US");
}

/* Reopens with the POSIX env and checks the model; returns the prefix. */
static int reopen_verify(struct model *m, const char *tag)
{
	struct lsm_options o = crash_opts(NULL);
	struct lsm_db *db = NULL;
	int rc = lsm_open(dir, &o, &db);
	ck_assert_msg(rc == 0, "%s: reopen: %s", tag, lsm_strerror(rc));
	int p = -1;
	ck_assert_msg(model_verify(m, db, tag, &p) == 0,
		      "%s: an acknowledged batch is missing or a batch is "
		      "partial",
		      tag);
	ck_assert_int_eq(lsm_close(db), 0);
	return p;
}

/* ---- kill loop ---- */

struct msg {
	uint32_t kind; /* 1: attempting batch index; 2: durable count */
	uint32_t n;
};

static void send_msg(int fd, uint32_t kind, uint32_t n)
{
	struct msg mm = { kind, n };
	if (write(fd, &mm, sizeof mm) != (ssize_t)sizeof mm)
		_exit(4);
}

/* The child: writes until killed. Never returns. */
static void child_main(struct model *m, int fd, uint64_t seed)
{
	struct lsm_options o = crash_opts(NULL);
	struct lsm_db *db;
	struct lsm_batch *b;
	if (lsm_open(dir, &o, &db) || lsm_batch_new(&b))
		_exit(2);
	uint64_t rng = seed | 1;
	for (uint32_t i = 0;; i++) {
		if (model_gen(m, b, 16))
			_exit(3);
		send_msg(fd, 1, i);
		uint64_t r = rnd(&rng) % 8;
		int rc = lsm_write(db, b, r < 5 ? LSM_WRITE_SYNC : 0);
		if (rc)
			_exit(5);
		if (r < 5) {
			send_msg(fd, 2, i + 1);
		} else if (r == 7) {
			if (lsm_sync(db))
				_exit(6);
			send_msg(fd, 2, i + 1);
		}
		model_outcome(m, MODEL_APPLIED);
	}
}

START_TEST(test_kill_loop)
{
	struct model *m;
	ck_assert_int_eq(model_new(400, 7, &m), 0);
	model_set_max_value(m, 1500);
	struct lsm_batch *b;
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	uint64_t rng = 0x1234567;
	long total_batches = 0, total_durable = 0;

	for (int cycle = 0; cycle < kill_cycles; cycle++) {
		int fds[2];
		ck_assert_int_eq(pipe(fds), 0);
		set_delays(&rng);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			child_main(m, fds[1], rnd(&rng));
		}
		close(fds[1]);
		clear_delays();
		/* now and then during open and recovery; mostly after a
		 * random number of acknowledgements, plus a little */
		uint32_t attempted = 0, durable = 0;
		uint32_t target = rnd(&rng) % 10 == 0
					  ? 0
					  : 1 + (uint32_t)(rnd(&rng) % 400);
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		struct msg mm;
		while (durable < target && poll(&pfd, 1, 5000) == 1 &&
		       read(fds[0], &mm, sizeof mm) == (ssize_t)sizeof mm) {
			if (mm.kind == 1 && mm.n + 1 > attempted)
				attempted = mm.n + 1;
			if (mm.kind == 2 && mm.n > durable)
				durable = mm.n;
		}
		sleep_us((long)(rnd(&rng) % (target ? 5000 : 3000)));
		kill(pid, SIGKILL);
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status),
			      "cycle %d: the child failed (status %d)", cycle,
			      WEXITSTATUS(status));
		while (read(fds[0], &mm, sizeof mm) == (ssize_t)sizeof mm) {
			if (mm.kind == 1 && mm.n + 1 > attempted)
				attempted = mm.n + 1;
			if (mm.kind == 2 && mm.n > durable)
				durable = mm.n;
		}
		close(fds[0]);

		/* replay the child's choices into the model */
		for (uint32_t i = 0; i < attempted; i++) {
			ck_assert_int_eq(model_gen(m, b, 16), 0);
			model_outcome(m, MODEL_APPLIED);
			if (i + 1 == durable)
				model_synced(m);
		}
		char tag[64];
		snprintf(tag, sizeof tag, "kill cycle %d", cycle);
		int p = reopen_verify(m, tag);
		ck_assert_int_ge(p, (int)durable);
		total_batches += attempted;
		total_durable += durable;
	}
	printf("kill loop: %d cycles, %ld batches attempted, %ld acknowledged "
	       "durable, 0 failures\n",
	       kill_cycles, total_batches, total_durable);
	lsm_batch_free(b);
	model_free(m);
}
END_TEST

/* ---- power-loss loop ---- */

struct timer {
	struct lsm_env *env;
	long delay_us;
	int started; /* atomic: the power loss has begun */
	int done;    /* atomic */
};

static void *timer_main(void *arg)
{
	struct timer *t = arg;
	sleep_us(t->delay_us);
	__atomic_store_n(&t->started, 1, __ATOMIC_SEQ_CST);
	env_fault_power_loss(t->env);
	__atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

START_TEST(test_power_loop)
{
	struct model *m;
	ck_assert_int_eq(model_new(400, 11, &m), 0);
	model_set_max_value(m, 1500);
	struct lsm_batch *b;
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	uint64_t rng = 0xfeedbeef;
	int in_flush = 0, in_compaction = 0, by_timer = 0;
	long total_batches = 0;

	for (int cycle = 0; cycle < power_cycles; cycle++) {
		struct lsm_env *fe;
		ck_assert_int_eq(env_fault_new(env_posix(), &fe), 0);
		set_delays(&rng);
		struct lsm_options o = crash_opts(fe);
		struct lsm_db *db = NULL;
		int rc = lsm_open(dir, &o, &db);
		clear_delays();
		ck_assert_msg(rc == 0, "cycle %d: open: %s", cycle,
			      lsm_strerror(rc));

		bool timed = rnd(&rng) % 2;
		int nops = 10 + (int)(rnd(&rng) % 300);
		struct timer t = { fe, 1000 + (long)(rnd(&rng) % 80000), 0, 0 };
		pthread_t th;
		if (timed) {
			nops = 1 << 30; /* until the power goes */
			ck_assert_int_eq(pthread_create(&th, NULL, timer_main, &t),
					 0);
		}
		bool dead = false;
		for (int i = 0; i < nops && !dead; i++) {
			uint64_t r = rnd(&rng) % 16;
			if (r == 15) {
				rc = lsm_sync(db);
				bool before = !__atomic_load_n(&t.started,
							       __ATOMIC_SEQ_CST);
				if (!rc && before)
					model_synced(m);
			} else if (r == 14 && rnd(&rng) % 4 == 0) {
				rc = lsm_flush(db);
			} else {
				bool sync = r < 8;
				ck_assert_int_eq(model_gen(m, b, 16), 0);
				rc = lsm_write(db, b, sync ? LSM_WRITE_SYNC : 0);
				bool before = !__atomic_load_n(&t.started,
							       __ATOMIC_SEQ_CST);
				if (!rc)
					model_outcome(m, sync && before
							    ? MODEL_DURABLE
							    : MODEL_APPLIED);
				else
					model_outcome(m, MODEL_MAYBE);
			}
			if (rc) {
				/* only the power loss may fail a call */
				ck_assert_msg(__atomic_load_n(&t.started,
							      __ATOMIC_SEQ_CST),
					      "cycle %d: %s before the power "
					      "loss",
					      cycle, lsm_strerror(rc));
				dead = true;
			}
		}
		struct lsm_stats st;
		ck_assert_int_eq(lsm_stats_get(db, &st), 0);
		in_flush += st.running_flushes > 0 || st.flush_queue_depth > 0;
		in_compaction += st.running_compactions > 0;
		lsm_stats_release(&st);
		if (timed) {
			pthread_join(th, NULL);
			by_timer++;
		} else {
			ck_assert_int_eq(env_fault_power_loss(fe), 0);
		}
		lsm_close(db); /* errors expected: the disk is gone */
		env_fault_free(fe);

		char tag[64];
		snprintf(tag, sizeof tag, "power cycle %d", cycle);
		total_batches += model_batches(m);
		reopen_verify(m, tag);
	}
	printf("power loop: %d cycles (%d by a timer thread), %ld batches, "
	       "%d with a flush pending or running, %d with a compaction "
	       "running, 0 failures\n",
	       power_cycles, by_timer, total_batches, in_flush, in_compaction);
	lsm_batch_free(b);
	model_free(m);
}
END_TEST

static Suite *crashloop_suite(void)
{
	Suite *s = suite_create("crashloop");
	TCase *tc = tcase_create("kill");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60 + kill_cycles * 3);
	tcase_add_test(tc, test_kill_loop);
	suite_add_tcase(s, tc);

	tc = tcase_create("power");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60 + power_cycles * 3);
	tcase_add_test(tc, test_power_loop);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	const char *n = getenv("LSM_CRASH_CYCLES");
	if (argc > 1 && !strcmp(argv[1], "--long"))
		kill_cycles = power_cycles = 2000;
	if (n && atoi(n) > 0)
		kill_cycles = power_cycles = atoi(n);
	return tu_run("check_crashloop", crashloop_suite());
}
