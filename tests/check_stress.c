/*
 * check_stress.c - many threads on one store at once: writers (puts,
 * deletes, batches), point readers, iterators, snapshot readers, a thread
 * calling lsm_flush(), one calling lsm_compact() and one reading the
 * statistics, all for LSM_STRESS_SECONDS (default 10) seconds with a small
 * memtable, a small block cache and few open files, so that flushes,
 * compactions, cache evictions and table-cache evictions run all the time.
 *
 * Meant to run under ThreadSanitizer as well as ASan (see the build notes
 * in the report / Makefile.am). Checked while running: every value read
 * belongs to its key and is intact, a reader never sees an acknowledged
 * write undone, iterators return keys in strictly increasing order, and a
 * batch is seen whole through a snapshot. Checked at the end: the store
 * holds exactly the last acknowledged state of every key, before and after
 * a reopen.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm.h"
#include "testutil.h"

#define NKEYS 4000
#define NWRITERS 2
#define NREADERS 2

/* ---- shared state ---- */

/*
 * Every operation on key k gets the next op number of k (op numbers of a
 * key only grow; each key has one writer). acked[k] is the op number of
 * the newest acknowledged operation and present[k] whether it was a put.
 */
struct shared {
	struct lsm_db *db;
	uint32_t acked[NKEYS];  /* atomic */
	uint8_t present[NKEYS]; /* atomic */
	int stop;               /* atomic */
	int errors;             /* atomic */
	pthread_mutex_t mu;
	char first_error[512]; /* mu */
	uint64_t counts[16];   /* atomic: operations done, by kind */
};

enum {
	C_PUT,
	C_DEL,
	C_BATCH,
	C_GET,
	C_SCAN,
	C_SEEK,
	C_SNAP,
	C_FLUSH,
	C_COMPACT,
	C_STATS
};
static const char *const count_names[] = {
	"puts",  "deletes",         "batches", "gets",        "scans",
	"seeks", "snapshot checks", "flushes", "compactions", "stats"
};

static struct shared S;

__attribute__((format(printf, 1, 2))) static void
record_failure(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&S.mu);
	if (!S.errors) {
		va_start(ap, fmt);
		vsnprintf(S.first_error, sizeof S.first_error, fmt, ap);
		va_end(ap);
	}
	__atomic_add_fetch(&S.errors, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&S.mu);
	__atomic_store_n(&S.stop, 1, __ATOMIC_RELAXED);
}

static bool stopping(void)
{
	return __atomic_load_n(&S.stop, __ATOMIC_RELAXED);
}

static void count(int kind)
{
	__atomic_add_fetch(&S.counts[kind], 1, __ATOMIC_RELAXED);
}

/* ---- keys and self-describing values ---- */

static int make_key(char *k, uint32_t i)
{
	return snprintf(k, 16, "k%05u", i);
}

/* "k00042 o00000017 " then filler that depends on both numbers */
static size_t make_value(char *v, uint32_t k, uint32_t op)
{
	size_t len = 20 + (k * 13u + op * 7u) % 300;
	int n = snprintf(v, len + 1, "k%05u o%08u ", k, op);
	for (size_t i = (size_t)n; i < len; i++)
		v[i] = (char)('a' + (k + op + i) % 26);
	return len;
}

/* Checks that v is an intact value of key k; returns its op number, or
 * UINT32_MAX (and records a failure) when it is not. */
static uint32_t check_value(uint32_t k, const char *v, size_t vlen,
			    const char *who)
{
	char want[400];
	unsigned kk, op;
	if (vlen < 17 || sscanf(v, "k%5u o%8u ", &kk, &op) != 2 || kk != k) {
		record_failure("%s: key %u has a foreign value '%.16s'", who, k,
			       v);
		return UINT32_MAX;
	}
	size_t len = make_value(want, k, op);
	if (len != vlen || memcmp(want, v, len)) {
		record_failure("%s: key %u op %u: damaged value", who, k, op);
		return UINT32_MAX;
	}
	return op;
}

/* ---- threads ---- */

struct targ {
	int id;
};

static void *writer_main(void *p)
{
	int w = ((struct targ *)p)->id;
	uint64_t seed = 0x1234567ull + (uint64_t)w * 77;
	uint32_t *next_op = calloc(NKEYS, sizeof *next_op);
	struct lsm_batch *b;
	char key[16], val[400];
	if (!next_op || lsm_batch_new(&b)) {
		record_failure("writer %d: out of memory", w);
		free(next_op);
		return NULL;
	}
	for (uint32_t k = 0; k < NKEYS; k++)
		next_op[k] = __atomic_load_n(&S.acked[k], __ATOMIC_RELAXED) + 1;

	while (!stopping()) {
		uint32_t dice = (uint32_t)(tu_rnd(&seed) % 100);
		uint32_t nops =
			dice < 85 ? 1 : 2 + (uint32_t)(tu_rnd(&seed) % 6);
		uint32_t keys[8], ops[8];
		uint8_t puts[8];
		lsm_batch_clear(b);
		for (uint32_t i = 0; i < nops; i++) {
			/* keys of this writer: k % NWRITERS == w */
			uint32_t k =
				(uint32_t)(tu_rnd(&seed) % (NKEYS / NWRITERS)) *
					NWRITERS +
				(uint32_t)w;
			bool put =
				dice < 85 ? dice < 70 : tu_rnd(&seed) % 4 != 0;
			int klen = make_key(key, k);
			uint32_t op = next_op[k]++;
			int rc = put ? lsm_batch_put(b, key, (size_t)klen, val,
						     make_value(val, k, op))
				     : lsm_batch_delete(b, key, (size_t)klen);
			if (rc) {
				record_failure("writer %d: batch: %s", w,
					       lsm_strerror(rc));
				goto out;
			}
			keys[i] = k;
			ops[i] = op;
			puts[i] = put;
		}
		int rc = lsm_write(S.db, b, 0);
		if (rc) {
			record_failure("writer %d: write: %s", w,
				       lsm_strerror(rc));
			break;
		}
		for (uint32_t i = 0; i < nops; i++) {
			/* a key may repeat in a batch: ops only grow */
			__atomic_store_n(&S.present[keys[i]], puts[i],
					 __ATOMIC_RELAXED);
			__atomic_store_n(&S.acked[keys[i]], ops[i],
					 __ATOMIC_RELEASE);
		}
		count(nops > 1 ? C_BATCH : puts[0] ? C_PUT : C_DEL);
	}
out:
	lsm_batch_free(b);
	free(next_op);
	return NULL;
}

static void *reader_main(void *p)
{
	int id = ((struct targ *)p)->id;
	uint64_t seed = 0xabcdefull + (uint64_t)id;
	uint32_t *seen = calloc(NKEYS, sizeof *seen);
	char key[16];
	while (seen && !stopping()) {
		uint32_t k = (uint32_t)(tu_rnd(&seed) % NKEYS);
		uint32_t acked = __atomic_load_n(&S.acked[k], __ATOMIC_ACQUIRE);
		int klen = make_key(key, k);
		char *v = NULL;
		size_t vlen;
		int rc = lsm_get(S.db, NULL, key, (size_t)klen, &v, &vlen);
		count(C_GET);
		if (rc == -ENOENT)
			continue;
		if (rc) {
			record_failure("reader: get %s: %s", key,
				       lsm_strerror(rc));
			break;
		}
		uint32_t op = check_value(k, v, vlen, "reader");
		free(v);
		if (op == UINT32_MAX)
			break;
		/* the newest op is at least the acked one; a value found
		 * after an acked delete must be a later put */
		if (op < acked || op < seen[k]) {
			record_failure(
				"reader: %s: op %u, but op %u was acked and %u "
				"seen",
				key, op, acked, seen[k]);
			break;
		}
		seen[k] = op;
	}
	free(seen);
	return NULL;
}

static int key_index(const char *k, size_t klen)
{
	if (klen != 6 || k[0] != 'k')
		return -1;
	int n = 0;
	for (int i = 1; i < 6; i++) {
		if (k[i] < '0' || k[i] > '9')
			return -1;
		n = n * 10 + (k[i] - '0');
	}
	return n < NKEYS ? n : -1;
}

/* Checks the entry under it (a k..... key) and returns its index. */
static int check_entry(struct lsm_iter *it, const char *who)
{
	size_t klen, vlen;
	const char *k = lsm_iter_key(it, &klen);
	const char *v = lsm_iter_value(it, &vlen);
	int idx = key_index(k, klen);
	if (idx < 0) {
		record_failure("%s: unexpected key '%.*s'", who, (int)klen, k);
		return -1;
	}
	if (check_value((uint32_t)idx, v, vlen, who) == UINT32_MAX)
		return -1;
	return idx;
}

static void *iter_main(void *p)
{
	(void)p;
	uint64_t seed = 99;
	char key[16];
	while (!stopping()) {
		struct lsm_iter *it;
		int rc = lsm_iter_new(S.db, NULL, &it);
		if (rc) {
			record_failure("iterator: new: %s", lsm_strerror(rc));
			break;
		}
		if (tu_rnd(&seed) % 4 == 0) {
			/* a full scan, in one direction or the other */
			bool back = tu_rnd(&seed) % 2;
			int prev = back ? NKEYS : -1;
			if (back) {
				/* the last k..... key is just before "l" */
				lsm_iter_seek(it, "l", 1);
				if (lsm_iter_valid(it))
					lsm_iter_prev(it);
				else
					lsm_iter_seek_last(it);
			} else
				lsm_iter_seek(it, "k", 1);
			for (; lsm_iter_valid(it) && !stopping();
			     back ? lsm_iter_prev(it) : lsm_iter_next(it)) {
				size_t klen;
				const char *k = lsm_iter_key(it, &klen);
				if (klen && k[0] != 'k')
					break; /* the pair/ keys */
				int idx = check_entry(it, "scan");
				if (idx < 0)
					break;
				if (back ? idx >= prev : idx <= prev) {
					record_failure("scan: key %d after %d",
						       idx, prev);
					break;
				}
				prev = idx;
			}
			count(C_SCAN);
		} else {
			/* seeks with a few steps either way */
			for (int s = 0; s < 20 && !stopping(); s++) {
				uint32_t k = (uint32_t)(tu_rnd(&seed) % NKEYS);
				int klen = make_key(key, k);
				lsm_iter_seek(it, key, (size_t)klen);
				int prev = -1;
				if (lsm_iter_valid(it)) {
					size_t l;
					const char *kk = lsm_iter_key(it, &l);
					if (l && kk[0] == 'k') {
						prev = check_entry(it, "seek");
						if (prev >= 0 && prev < (int)k)
							record_failure(
								"seek k%05u landed "
								"on k%05d",
								k, prev);
					}
				}
				for (int st = 0; st < 5 && prev >= 0; st++) {
					bool fwd = tu_rnd(&seed) % 2;
					fwd ? lsm_iter_next(it)
					    : lsm_iter_prev(it);
					if (!lsm_iter_valid(it))
						break;
					size_t l;
					const char *kk = lsm_iter_key(it, &l);
					if (!l || kk[0] != 'k')
						break;
					int idx = check_entry(it, "step");
					if (idx < 0)
						break;
					if (fwd ? idx <= prev : idx >= prev) {
						record_failure(
							"%s from %d gave %d",
							fwd ? "next" : "prev",
							prev, idx);
						break;
					}
					prev = idx;
				}
				count(C_SEEK);
			}
		}
		rc = lsm_iter_status(it);
		if (rc)
			record_failure("iterator: status %s", lsm_strerror(rc));
		lsm_iter_free(it);
	}
	return NULL;
}

/* Writes "pair/a", "pair/b" (and "pair/c", put or deleted) in one batch
 * with one counter; snapshot reads must see them equal. */
static void *pair_main(void *p)
{
	(void)p;
	struct lsm_batch *b;
	if (lsm_batch_new(&b)) {
		record_failure("pair: out of memory");
		return NULL;
	}
	for (uint32_t n = 1; !stopping(); n++) {
		char v[16];
		int vl = snprintf(v, sizeof v, "%u", n);
		lsm_batch_clear(b);
		lsm_batch_put(b, "pair/a", 6, v, (size_t)vl);
		lsm_batch_put(b, "pair/b", 6, v, (size_t)vl);
		if (n % 2)
			lsm_batch_put(b, "pair/c", 6, v, (size_t)vl);
		else
			lsm_batch_delete(b, "pair/c", 6);
		int rc = lsm_write(S.db, b, n % 16 ? 0 : LSM_WRITE_SYNC);
		if (rc) {
			record_failure("pair: write: %s", lsm_strerror(rc));
			break;
		}

		struct lsm_snapshot *snap;
		if ((rc = lsm_snapshot_new(S.db, &snap))) {
			record_failure("pair: snapshot: %s", lsm_strerror(rc));
			break;
		}
		char *a = NULL, *bv = NULL, *c = NULL;
		size_t al, bl, cl;
		int ra = lsm_get(S.db, snap, "pair/a", 6, &a, &al);
		int rb = lsm_get(S.db, snap, "pair/b", 6, &bv, &bl);
		int rcc = lsm_get(S.db, snap, "pair/c", 6, &c, &cl);
		if (ra || rb || (rcc && rcc != -ENOENT)) {
			record_failure("pair: get: %d %d %d", ra, rb, rcc);
		} else {
			unsigned x = (unsigned)strtoul(a, NULL, 10);
			if (x < n || strcmp(a, bv) ||
			    (x % 2 ? rcc || strcmp(a, c) : rcc != -ENOENT))
				record_failure(
					"pair: torn batch: a=%s b=%s c=%s (n %u)",
					a, bv, rcc ? "-" : c, n);
		}
		free(a);
		free(bv);
		free(c);

		/* the snapshot's iterator agrees, also after more writes */
		if (n % 8 == 0) {
			struct lsm_iter *it;
			if (!lsm_iter_new(S.db, snap, &it)) {
				char want_a[16] = "";
				int seen = 0;
				for (lsm_iter_seek(it, "pair/", 5);
				     lsm_iter_valid(it); lsm_iter_next(it)) {
					size_t kl, vlen;
					const char *k = lsm_iter_key(it, &kl);
					const char *val =
						lsm_iter_value(it, &vlen);
					if (kl != 6 || memcmp(k, "pair/", 5))
						break;
					if (!seen)
						snprintf(want_a, sizeof want_a,
							 "%.*s", (int)vlen,
							 val);
					else if (strlen(want_a) != vlen ||
						 memcmp(want_a, val, vlen))
						record_failure(
							"pair: iterator saw a torn "
							"batch");
					seen++;
				}
				unsigned x =
					(unsigned)strtoul(want_a, NULL, 10);
				if (seen != (x % 2 ? 3 : 2))
					record_failure(
						"pair: iterator saw %d keys of "
						"batch %u",
						seen, x);
				lsm_iter_free(it);
			}
		}
		lsm_snapshot_free(S.db, snap);
		count(C_SNAP);
	}
	lsm_batch_free(b);
	return NULL;
}

static void *flusher_main(void *p)
{
	(void)p;
	while (!stopping()) {
		tu_sleep_ms(50);
		int rc = lsm_flush(S.db);
		if (rc) {
			record_failure("flush: %s", lsm_strerror(rc));
			break;
		}
		count(C_FLUSH);
	}
	return NULL;
}

static void *compactor_main(void *p)
{
	(void)p;
	while (!stopping()) {
		for (int i = 0; i < 15 && !stopping(); i++)
			tu_sleep_ms(100);
		int rc = lsm_compact(S.db, NULL, NULL);
		if (rc) {
			record_failure("compact: %s", lsm_strerror(rc));
			break;
		}
		count(C_COMPACT);
	}
	return NULL;
}

static void *stats_main(void *p)
{
	(void)p;
	while (!stopping()) {
		struct lsm_stats st;
		int rc = lsm_stats_get(S.db, &st);
		if (rc) {
			record_failure("stats: %s", lsm_strerror(rc));
			break;
		}
		if (st.background_error)
			record_failure("stats: background error %d",
				       st.background_error);
		for (size_t i = 1; i < st.nfiles; i++) {
			const struct lsm_file_info *a = &st.files[i - 1],
						   *b = &st.files[i];
			if (a->level == b->level && b->level > 0 &&
			    tu_key_cmp(a->largest, a->largest_len, b->smallest,
				       b->smallest_len) >= 0)
				record_failure(
					"stats: L%d tables %llu and %llu overlap",
					b->level, (unsigned long long)a->number,
					(unsigned long long)b->number);
		}
		lsm_stats_release(&st);
		count(C_STATS);
		tu_sleep_ms(10);
	}
	return NULL;
}

/* ---- the test ---- */

static void check_final(void)
{
	char key[16], want[400];
	for (uint32_t k = 0; k < NKEYS; k++) {
		int klen = make_key(key, k);
		char *v = NULL;
		size_t vlen;
		int rc = lsm_get(S.db, NULL, key, (size_t)klen, &v, &vlen);
		if (!S.present[k]) {
			ck_assert_msg(rc == -ENOENT, "%s: want absent, got %d",
				      key, rc);
			continue;
		}
		ck_assert_msg(rc == 0, "%s: %s", key, lsm_strerror(rc));
		size_t len = make_value(want, k, S.acked[k]);
		ck_assert_msg(vlen == len && !memcmp(v, want, len),
			      "%s: not the last acknowledged value (op %u)",
			      key, S.acked[k]);
		free(v);
	}
	/* a full scan gives exactly the present keys */
	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(S.db, NULL, &it), 0);
	uint32_t k = 0;
	for (lsm_iter_seek(it, "k", 1); lsm_iter_valid(it); lsm_iter_next(it)) {
		size_t klen;
		const char *kk = lsm_iter_key(it, &klen);
		int idx = key_index(kk, klen);
		if (idx < 0)
			break;
		while (k < (uint32_t)idx) {
			ck_assert_msg(!S.present[k], "scan skipped k%05u", k);
			k++;
		}
		ck_assert_msg(S.present[k], "scan shows deleted k%05u", k);
		k++;
	}
	for (; k < NKEYS; k++)
		ck_assert_msg(!S.present[k], "scan misses k%05u", k);
	ck_assert_int_eq(lsm_iter_status(it), 0);
	lsm_iter_free(it);
}

START_TEST(test_stress)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = TEST_WRITE_BUFFER;
	o.l0_compaction_trigger = 2;
	o.l0_slowdown_trigger = 4;
	o.l0_stop_trigger = 8;
	o.l1_target_size = 256 << 10;
	o.level_size_ratio = 4;
	o.target_file_size = 64 << 10;
	o.block_size = 1024;
	o.block_cache_size = 128 << 10;
	o.max_open_files = 16;

	const char *env = getenv("LSM_STRESS_SECONDS");
	int seconds = env ? atoi(env) : 10;
	if (seconds < 1)
		seconds = 1;

	memset(&S, 0, sizeof S);
	pthread_mutex_init(&S.mu, NULL);
	S.db = tu_open_ok(&o);

	void *(*mains[])(void *) = { writer_main,  writer_main,    reader_main,
				     reader_main,  iter_main,      pair_main,
				     flusher_main, compactor_main, stats_main };
	enum { NT = sizeof mains / sizeof mains[0] };
	pthread_t th[NT];
	struct targ args[NT];
	for (int i = 0; i < NT; i++) {
		args[i].id = i < NWRITERS ? i : i - NWRITERS;
		ck_assert_int_eq(
			pthread_create(&th[i], NULL, mains[i], &args[i]), 0);
	}
	for (int t = 0; t < seconds * 10 && !stopping(); t++)
		tu_sleep_ms(100);
	__atomic_store_n(&S.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	ck_assert_msg(S.errors == 0, "%d errors; first: %s", S.errors,
		      S.first_error);

	struct lsm_stats st;
	ck_assert_int_eq(lsm_stats_get(S.db, &st), 0);
	printf("stress: %d s;", seconds);
	for (int c = 0; c <= C_STATS; c++)
		printf(" %llu %s;", (unsigned long long)S.counts[c],
		       count_names[c]);
	printf(" %llu background flushes, %zu tables, cache hits %llu "
	       "misses %llu\n",
	       (unsigned long long)st.flushes, st.nfiles,
	       (unsigned long long)st.cache_hits,
	       (unsigned long long)st.cache_misses);
	ck_assert_int_eq(st.background_error, 0);
	lsm_stats_release(&st);
	ck_assert_uint_gt(S.counts[C_PUT], 100);
	ck_assert_uint_gt(S.counts[C_GET], 100);
	ck_assert_uint_gt(S.counts[C_SNAP], 10);

	check_final();
	tu_reopen_ok(&S.db, &o);
	check_final();
	ck_assert_int_eq(lsm_compact(S.db, NULL, NULL), 0);
	check_final();
	ck_assert_int_eq(lsm_close(S.db), 0);
	pthread_mutex_destroy(&S.mu);
}
END_TEST

static Suite *stress_suite(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tu_tcase(s, "all", 300, NULL, NULL);
	tcase_add_test(tc, test_stress);
	return s;
}

int main(void)
{
	return tu_run("check_stress", stress_suite());
}
