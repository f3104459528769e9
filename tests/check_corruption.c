/*
 * check_corruption.c - damaged store files (issue 9, part 3).
 *
 * A golden store is built once: tables in L1 and deeper (a full
 * compaction), L0 tables (a flush), and synced writes that are only in the
 * WAL, over 1500 keys with up to three versions and some deletions. Each
 * case copies it, damages one file and opens the copy:
 *
 *   flipped bytes at many offsets, truncations, zero-filled tails and a
 *   missing file, for every file type: WAL, SSTable, MANIFEST, CURRENT.
 *
 * What must hold, always:
 *  - no crash (the tests run under ASan in CI);
 *  - lsm_open, lsm_get and the iterator fail only with -EIO, and every
 *    -EIO comes with a log line naming the file (and, for damaged bytes,
 *    the offset);
 *  - never wrong data: every value returned is one that was written for
 *    that key, and it is the newest one unless the store logged that it
 *    lost something (a dropped torn tail, or skipped records);
 * and damage the formats can see (every damaged byte of a table, a
 * flipped or zeroed byte of a log, a missing file) is detected: -EIO
 * somewhere, or a log line saying what was dropped. What the formats
 * cannot see (a log cut exactly at a record boundary) is not asserted.
 *
 * LSM_CORRUPTION_FULL=1 flips many more offsets per file (slow).
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsm.h"
#include "testutil.h"

#define NKEYS 1500
#define NVERS 3

static char golden[64]; /* built once, before the cases run */
static char work[80];

/* Per key: the versions written (bit v set: version v was written) and
 * the final state (a version, or -1: deleted). */
static unsigned written[NKEYS];
static int final_ver[NKEYS];

/* ---- captured log lines ---- */

#define MAX_LINES 512
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char lines[MAX_LINES][512];
static int nlines;

static void capture(void *ctx, const char *line)
{
	(void)ctx;
	pthread_mutex_lock(&log_mu);
	if (getenv("LSM_TEST_VERBOSE"))
		fprintf(stderr, "%s\n", line);
	if (nlines < MAX_LINES)
		snprintf(lines[nlines], sizeof lines[0], "%s", line);
	nlines++;
	pthread_mutex_unlock(&log_mu);
}

static bool logged(const char *w1, const char *w2)
{
	bool found = false;
	pthread_mutex_lock(&log_mu);
	for (int i = 0; i < nlines && i < MAX_LINES && !found; i++)
		found = strstr(lines[i], w1) && (!w2 || strstr(lines[i], w2));
	pthread_mutex_unlock(&log_mu);
	return found;
}

static void dump_log(void)
{
	pthread_mutex_lock(&log_mu);
	for (int i = 0; i < nlines && i < MAX_LINES; i++)
		fprintf(stderr, "  log: %s\n", lines[i]);
	pthread_mutex_unlock(&log_mu);
}

/* ---- files ---- */

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *data = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return data;
}

static void spit(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* Copies the golden store into work (a fresh directory). */
static void copy_golden(void)
{
	tu_rm_rf(work);
	ck_assert_int_eq(mkdir(work, 0700), 0);
	DIR *d = opendir(golden);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "LOCK"))
			continue;
		char from[384], to[384];
		size_t n;
		snprintf(from, sizeof from, "%s/%.255s", golden, e->d_name);
		snprintf(to, sizeof to, "%s/%.255s", work, e->d_name);
		char *data = slurp(from, &n);
		spit(to, data, n);
		free(data);
	}
	closedir(d);
}

/* The golden store's file names with the given suffix or prefix, sorted. */
static int golden_files(const char *prefix, const char *suffix,
			char names[][32], int max)
{
	DIR *d = opendir(golden);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) && n < max) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);
		if (strncmp(e->d_name, prefix, strlen(prefix)) || l < sl ||
		    strcmp(e->d_name + l - sl, suffix) || l >= 32)
			continue;
		memcpy(names[n++], e->d_name, l + 1);
	}
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char t[32];
			memcpy(t, names[j], 32);
			memcpy(names[j], names[j - 1], 32);
			memcpy(names[j - 1], t, 32);
		}
	return n;
}

static size_t golden_size(const char *name)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", golden, name);
	ck_assert_int_eq(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* ---- keys and values ---- */

static int make_key(char *out, int k)
{
	return snprintf(out, 16, "k%05d", k);
}

static size_t make_value(char *out, int k, int ver)
{
	uint64_t x = (uint64_t)(k * 31 + ver) * 0x9E3779B97F4A7C15ull | 1;
	size_t len = 12 + (size_t)((x >> 20) % 300);
	if ((x >> 40) % 50 == 0)
		len = 3000;
	int n = snprintf(out, 32, "%05d:%d:", k, ver);
	for (size_t i = (size_t)n; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out[i] = (char)('a' + x % 26);
	}
	return len;
}

/* Whether val is a value written for key k: returns its version, or -1
 * (wrong data). */
static int value_version(int k, const char *val, size_t len)
{
	int kk, ver;
	char want[4096];
	if (len < 9 || sscanf(val, "%05d:%d:", &kk, &ver) != 2 || kk != k ||
	    ver < 0 || ver >= NVERS || !(written[k] & (1u << ver)))
		return -1;
	size_t wl = make_value(want, k, ver);
	return wl == len && !memcmp(want, val, len) ? ver : -1;
}

/* The golden store is built outside any test: a failure ends the run. */
static void must(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "building the golden store: %s: %s\n", what,
			lsm_strerror(rc));
		exit(1);
	}
}

static void put_kv(struct lsm_db *db, int k, int ver, int flags)
{
	char key[16], val[4096];
	struct lsm_batch *b;
	int kl = make_key(key, k);
	size_t vl = make_value(val, k, ver);
	must(lsm_batch_new(&b), "batch");
	must(lsm_batch_put(b, key, (size_t)kl, val, vl), "batch put");
	must(lsm_write(db, b, flags), "write");
	lsm_batch_free(b);
	written[k] |= 1u << ver;
	final_ver[k] = ver;
}

static void del_k(struct lsm_db *db, int k)
{
	char key[16];
	int kl = make_key(key, k);
	must(lsm_delete(db, key, (size_t)kl), "delete");
	final_ver[k] = -1;
}

static struct lsm_options golden_opts(void)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = 128 << 10;
	o.block_size = 1024;
	o.l0_compaction_trigger = 4;
	o.l1_target_size = 64 << 10;
	o.target_file_size = 32 << 10;
	return o;
}

static void build_golden(void)
{
	snprintf(golden, sizeof golden, "/tmp/check_corruption.XXXXXX");
	if (!mkdtemp(golden)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(work, sizeof work, "%s.work", golden);
	struct lsm_options o = golden_opts();
	struct lsm_db *db;
	if (lsm_open(golden, &o, &db)) {
		fprintf(stderr, "cannot create the golden store\n");
		exit(1);
	}
	for (int k = 0; k < NKEYS; k++)
		put_kv(db, k, 0, 0);
	if (lsm_compact(db, NULL, NULL))
		exit(1);
	for (int k = 0; k < NKEYS; k += 3)
		put_kv(db, k, 1, 0);
	for (int k = 0; k < NKEYS; k += 7)
		del_k(db, k);
	if (lsm_flush(db))
		exit(1);
	/* only in the WAL: synced, never flushed */
	for (int k = 1; k < NKEYS; k += 5)
		put_kv(db, k, 2, LSM_WRITE_SYNC);
	if (lsm_close(db))
		exit(1);
}

/* ---- the check ---- */

enum expect {
	MAY_PASS = 0,  /* damage the format cannot always see */
	MUST_DETECT,   /* -EIO somewhere, or a logged loss */
};

/* Set by a case whose loss was logged by an earlier open of the copy. */
static bool loss_known;

/* Damaged copies checked, and how each ended (for the summary lines). */
static int ncases, nopen_eio, nread_eio, nloss_logged;

static bool full_mode(void)
{
	const char *s = getenv("LSM_CORRUPTION_FULL");
	return s && *s && strcmp(s, "0");
}

/*
 * Opens the damaged copy and reads everything. name is the damaged file
 * (for the log check), what describes the damage.
 */
static void check_copy(const char *name, const char *what, enum expect ex)
{
	struct lsm_options o = golden_opts();
	o.disable_background_work = 1; /* no compaction: deterministic */
	struct lsm_db *db = NULL;
	nlines = 0;
	ncases++;
	int rc = lsm_open(work, &o, &db);
	if (rc) {
		nopen_eio++;
		if (rc != -EIO || !logged(name, NULL))
			dump_log();
		ck_assert_msg(rc == -EIO, "%s: lsm_open: %s", what,
			      lsm_strerror(rc));
		ck_assert_msg(logged(name, NULL),
			      "%s: lsm_open failed without naming '%s'", what,
			      name);
		return;
	}
	/* did the store say it dropped or skipped something? (or a previous
	 * open of the copy did, or the damage is one no format can see) */
	bool logged_loss = logged("dropped", NULL) || logged("skipped", NULL) ||
			   loss_known;
	bool loss = logged_loss || ex == MAY_PASS;
	int eio = 0, stale = 0, lost = 0;
	for (int k = 0; k < NKEYS; k++) {
		char key[16], *val = NULL;
		size_t vl = 0;
		int kl = make_key(key, k);
		rc = lsm_get(db, NULL, key, (size_t)kl, &val, &vl);
		if (rc == -EIO) {
			eio++;
			continue;
		}
		if (rc == -ENOENT) {
			if (final_ver[k] >= 0)
				lost++;
			continue;
		}
		ck_assert_msg(rc == 0, "%s: get %s: %s", what, key,
			      lsm_strerror(rc));
		int ver = value_version(k, val, vl);
		free(val);
		ck_assert_msg(ver >= 0, "%s: get %s returned wrong data", what,
			      key);
		if (ver != final_ver[k])
			stale++;
	}

	struct lsm_iter *it = NULL;
	rc = lsm_iter_new(db, NULL, &it);
	ck_assert_msg(rc == 0 || rc == -EIO, "%s: iter_new: %s", what,
		      lsm_strerror(rc));
	if (rc)
		eio++;
	int last = -1;
	for (it ? lsm_iter_seek_first(it) : (void)0; it && lsm_iter_valid(it);
	     lsm_iter_next(it)) {
		size_t kl, vl;
		const char *kp = lsm_iter_key(it, &kl);
		const char *vp = lsm_iter_value(it, &vl);
		int k = -1;
		char kb[16];
		if (kl == 6) {
			memcpy(kb, kp, 6);
			kb[6] = '\0';
			if (sscanf(kb, "k%05d", &k) != 1)
				k = -1;
		}
		ck_assert_msg(k >= 0 && k < NKEYS && k > last,
			      "%s: iterator returned a stray key", what);
		int ver = value_version(k, vp, vl);
		ck_assert_msg(ver >= 0, "%s: iterator: wrong data for k%05d",
			      what, k);
		if (ver != final_ver[k])
			stale++;
		last = k;
	}
	int ist = it ? lsm_iter_status(it) : 0;
	lsm_iter_free(it);
	ck_assert_msg(ist == 0 || ist == -EIO, "%s: iterator: %s", what,
		      lsm_strerror(ist));
	if (ist)
		eio++;
	rc = lsm_close(db);
	ck_assert_msg(rc == 0 || rc == -EIO, "%s: close: %s", what,
		      lsm_strerror(rc));

	nread_eio += eio > 0;
	nloss_logged += logged_loss && !eio;
	if (eio)
		ck_assert_msg(logged("offset", NULL) || logged("missing", NULL),
			      "%s: -EIO without a log line saying where", what);
	if ((stale || lost) && !loss) {
		dump_log();
		ck_assert_msg(0,
			      "%s: %d stale and %d lost keys, and the store "
			      "did not log a loss",
			      what, stale, lost);
	}
	if (ex == MUST_DETECT && !eio && !loss) {
		dump_log();
		ck_assert_msg(0, "%s: the damage went unnoticed", what);
	}
}

static char *work_path(char *out, const char *name)
{
	snprintf(out, 256, "%s/%s", work, name);
	return out;
}

/* XORs the byte at off of name (in the copy). */
static void flip(const char *name, size_t off, unsigned char mask)
{
	char path[256];
	size_t n;
	char *data = slurp(work_path(path, name), &n);
	ck_assert_uint_lt(off, n);
	data[off] ^= (char)mask;
	spit(path, data, n);
	free(data);
}

static void cut(const char *name, size_t len)
{
	char path[256];
	ck_assert_int_eq(truncate(work_path(path, name), (off_t)len), 0);
}

/* Zeroes the last n bytes; returns whether that changed anything (the
 * last byte of a MANIFEST record, its end tag, is a zero already). */
static bool zero_tail(const char *name, size_t n)
{
	char path[256];
	size_t size;
	bool changed = false;
	char *data = slurp(work_path(path, name), &size);
	if (n > size)
		n = size;
	for (size_t i = size - n; i < size; i++)
		changed |= data[i] != 0;
	memset(data + size - n, 0, n);
	spit(path, data, size);
	free(data);
	return changed;
}

/* Offsets to flip in a file of size bytes: spread over the file, plus its
 * first and last bytes (headers, footers). */
static int pick_offsets(size_t size, size_t *offs, int spread)
{
	int n = 0;
	if (full_mode())
		spread *= 8;
	for (int i = 0; i < spread; i++)
		offs[n++] = size * (size_t)i / (size_t)spread;
	for (size_t i = 0; i < 4 && i < size; i++) {
		offs[n++] = i;
		offs[n++] = size - 1 - i;
	}
	if (size > 70) {
		offs[n++] = size - 64; /* a table's footer starts here */
		offs[n++] = size - 12;
		offs[n++] = size - 30;
	}
	return n;
}

static void flip_file(const char *name, int spread, enum expect ex)
{
	size_t offs[600], size = golden_size(name);
	int n = pick_offsets(size, offs, spread);
	for (int i = 0; i < n; i++) {
		char what[96];
		snprintf(what, sizeof what, "'%s' flipped at %zu", name,
			 offs[i]);
		copy_golden();
		flip(name, offs[i], (unsigned char)(1u << (i % 8)) | 0x10);
		check_copy(name, what, ex);
	}
}

static void damage_file(const char *name, enum expect cut_ex)
{
	size_t size = golden_size(name);
	size_t cuts[] = { 0, 5, size / 3, size / 2 + 7, size - 1 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		char what[96];
		snprintf(what, sizeof what, "'%s' cut to %zu bytes", name,
			 cuts[i]);
		copy_golden();
		cut(name, cuts[i]);
		check_copy(name, what, cut_ex);
	}
	size_t zeros[] = { 1, 9, 200, size / 2 };
	for (size_t i = 0; i < sizeof zeros / sizeof zeros[0]; i++) {
		char what[96];
		snprintf(what, sizeof what, "'%s' with %zu zero bytes at the end",
			 name, zeros[i]);
		copy_golden();
		bool changed = zero_tail(name, zeros[i]);
		check_copy(name, what, changed ? MUST_DETECT : MAY_PASS);
	}
	char what[96], path[256];
	snprintf(what, sizeof what, "'%s' missing", name);
	copy_golden();
	ck_assert_int_eq(unlink(work_path(path, name)), 0);
	check_copy(name, what, MUST_DETECT);
}

static void setup(void)
{
	lsm_set_log_handler(capture, NULL);
	nlines = 0;
	ncases = nopen_eio = nread_eio = nloss_logged = 0;
}

static void teardown(void)
{
	tu_rm_rf(work);
}

/* One summary line per file type. */
static void report(const char *type)
{
	printf("%s: %d damaged copies: lsm_open -EIO %d, reads -EIO %d, "
	       "loss logged %d, nothing noticed %d (only where allowed)\n",
	       type, ncases, nopen_eio, nread_eio, nloss_logged,
	       ncases - nopen_eio - nread_eio - nloss_logged);
}

/* ---- the cases ---- */

START_TEST(test_pristine)
{
	copy_golden();
	check_copy("(none)", "pristine copy", MAY_PASS);
	ck_assert_int_eq(nlines, 0);
}
END_TEST

START_TEST(test_sst)
{
	char names[64][32];
	int n = golden_files("", ".sst", names, 64);
	ck_assert_int_ge(n, 3);
	/* every table: flips; a sample of them: cuts, zeros, removal */
	for (int i = 0; i < n; i++) {
		flip_file(names[i], 6, MUST_DETECT);
		if (i == 0 || i == n / 2 || i == n - 1)
			damage_file(names[i], MUST_DETECT);
	}
	printf("sst: %d tables\n", n);
	report("sst");
}
END_TEST

START_TEST(test_wal)
{
	char names[8][32];
	int n = golden_files("", ".wal", names, 8);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_gt(golden_size(names[0]), 10000);
	flip_file(names[0], 24, MUST_DETECT);
	/* a cut may fall on a record boundary, which a log cannot tell from
	 * its end (and a cut to under 8 bytes reads as a new, empty log) */
	damage_file(names[0], MAY_PASS);
	report("wal");
}
END_TEST

START_TEST(test_wal_skip_mode)
{
	/* with LSM_WAL_RECOVERY_SKIP a damaged record is skipped (logged),
	 * the rest is kept */
	char names[8][32];
	ck_assert_int_eq(golden_files("", ".wal", names, 8), 1);
	size_t size = golden_size(names[0]);
	copy_golden();
	flip(names[0], size / 2, 0x20);
	struct lsm_options o = golden_opts();
	o.wal_recovery = LSM_WAL_RECOVERY_SKIP;
	o.disable_background_work = 1;
	struct lsm_db *db;
	nlines = 0;
	ck_assert_int_eq(lsm_open(work, &o, &db), 0);
	ck_assert(logged("skipped", names[0]));
	ck_assert_int_eq(lsm_close(db), 0);
	loss_known = true;
	check_copy(names[0], "skip mode, reopened", MUST_DETECT);
	loss_known = false;
}
END_TEST

START_TEST(test_manifest)
{
	char names[8][32];
	int n = golden_files("MANIFEST-", "", names, 8);
	ck_assert_int_eq(n, 1);
	flip_file(names[0], 24, MUST_DETECT);
	damage_file(names[0], MAY_PASS);
	report("manifest");
}
END_TEST

START_TEST(test_current)
{
	size_t size = golden_size("CURRENT");
	for (size_t off = 0; off < size; off++) {
		for (int bit = 0; bit < 8; bit += 3) {
			char what[64];
			snprintf(what, sizeof what, "CURRENT flipped at %zu",
				 off);
			copy_golden();
			flip("CURRENT", off, (unsigned char)(1u << bit));
			check_copy("CURRENT", what, MUST_DETECT);
		}
	}
	damage_file("CURRENT", MUST_DETECT);
	report("current");
}
END_TEST

START_TEST(test_sst_vanishes_while_open)
{
	/* tables removed behind an open store's back: a live table that is
	 * gone is corruption, so reads that need one fail with -EIO (never
	 * -ENOENT, which would read as an absent key) and say which file */
	char names[64][32], path[256];
	int n = golden_files("", ".sst", names, 64);
	ck_assert_int_ge(n, 3);
	copy_golden();
	struct lsm_options o = golden_opts();
	o.disable_background_work = 1;
	struct lsm_db *db;
	nlines = 0;
	ck_assert_int_eq(lsm_open(work, &o, &db), 0);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%.31s", work, names[i]);
		ck_assert_int_eq(unlink(path), 0);
	}
	int eio = 0;
	for (int k = 0; k < NKEYS; k++) {
		char key[16], *val = NULL;
		size_t vl = 0;
		int kl = make_key(key, k);
		int rc = lsm_get(db, NULL, key, (size_t)kl, &val, &vl);
		if (rc == 0) {
			/* only what the WAL held is still readable */
			ck_assert_int_eq(value_version(k, val, vl), final_ver[k]);
			free(val);
			continue;
		}
		ck_assert_msg(rc == -EIO || (rc == -ENOENT && final_ver[k] < 0),
			      "get k%05d: %s", k, lsm_strerror(rc));
		eio += rc == -EIO;
	}
	ck_assert_int_gt(eio, 0);
	ck_assert(logged("missing table", ".sst"));
	struct lsm_iter *it = NULL;
	int rc = lsm_iter_new(db, NULL, &it);
	if (!rc) {
		for (lsm_iter_seek_first(it); lsm_iter_valid(it);
		     lsm_iter_next(it))
			;
		rc = lsm_iter_status(it);
		lsm_iter_free(it);
	}
	ck_assert_int_eq(rc, -EIO);
	lsm_close(db);
}
END_TEST

START_TEST(test_stray_and_extra_files)
{
	/* a stray MANIFEST without CURRENT (a store creation a crash cut
	 * short) is not a store: opening creates one */
	char path[256];
	tu_rm_rf(work);
	ck_assert_int_eq(mkdir(work, 0700), 0);
	spit(work_path(path, "MANIFEST-000001"), "LSMMAN01", 8);
	struct lsm_options o = golden_opts();
	struct lsm_db *db;
	ck_assert_int_eq(lsm_open(work, &o, &db), 0);
	ck_assert_int_eq(lsm_put(db, "a", 1, "b", 1), 0);
	ck_assert_int_eq(lsm_close(db), 0);

	/* but tables without CURRENT are a store that lost it */
	copy_golden();
	ck_assert_int_eq(unlink(work_path(path, "CURRENT")), 0);
	nlines = 0;
	ck_assert_int_eq(lsm_open(work, &o, &db), -EIO);
	ck_assert(logged("missing 'CURRENT'", NULL));
}
END_TEST

static Suite *corruption_suite(void)
{
	Suite *s = suite_create("corruption");
	TCase *tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, full_mode() ? 3600 : 120);
	tcase_add_test(tc, test_pristine);
	tcase_add_test(tc, test_sst);
	tcase_add_test(tc, test_wal);
	tcase_add_test(tc, test_wal_skip_mode);
	tcase_add_test(tc, test_manifest);
	tcase_add_test(tc, test_current);
	tcase_add_test(tc, test_sst_vanishes_while_open);
	tcase_add_test(tc, test_stray_and_extra_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	lsm_set_log_handler(capture, NULL);
	build_golden();
	int rc = tu_run("check_corruption", corruption_suite());
	tu_rm_rf(golden);
	tu_rm_rf(work);
	return rc;
}
