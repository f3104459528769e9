/*
 * check_repair.c - tests of lsm_check() (engine/check.c) and lsm_repair()
 * (engine/repair.c): a clean store checks clean; damage planted in a data
 * block, the filter, index and properties blocks and the footer of a table,
 * a deleted CURRENT, a truncated MANIFEST, WAL damage, orphan and garbage
 * files is reported with its file and offset; repair then leaves a store
 * that opens, checks clean and reads back every key the damage did not
 * touch (and, for keys it did touch, nothing that was never written).
 *
 * One base store (several levels, overwrites, deletions, unflushed WAL
 * records) is built once in main(); every test works on a copy of it in
 * its own directory. Random choices come from fixed seeds.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block_iter.h"
#include "dbformat.h"
#include "env.h"
#include "lsm.h"
#include "sst_builder.h"
#include "sst_reader.h"
#include "testutil.h"

#define NKEYS 3000
#define ROUNDS 3      /* rounds of writes that end up in tables */
#define TAIL_KEYS 100 /* written last, left in the WAL */

static char base[64]; /* the pristine store */
static char dir[64];  /* this test's copy */

/* ---- the data: key i, written in round r when i % (r + 1) == 0 ---- */

static void key_of(char *out, size_t n, int i)
{
	snprintf(out, n, "key%05d", i);
}

/* Round ROUNDS is the WAL tail; rounds 0..ROUNDS-1 go to tables. */
static bool written(int i, int r)
{
	if (r == ROUNDS)
		return i < TAIL_KEYS;
	return i % (r + 1) == 0;
}

/* Round 1 deletes every key divisible by 10 instead of writing it. */
static bool deleted_in(int i, int r)
{
	return r == 1 && i % 10 == 0;
}

static size_t value_of(char *out, size_t cap, int i, int r)
{
	uint64_t x =
		((uint64_t)i << 20 | (uint64_t)r) * 0x9E3779B97F4A7C15ull + 1;
	size_t len = 40 + (size_t)(i * 7919 + r * 13) % 200;
	int n = snprintf(out, cap, "v%d-%d-", i, r);
	for (size_t k = (size_t)n; k < len && k < cap; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out[k] = (char)('a' + x % 26);
	}
	return len;
}

/* The newest round that touched key i, or -1. */
static int newest_round(int i)
{
	for (int r = ROUNDS; r >= 0; r--)
		if (written(i, r))
			return r;
	return -1;
}

/* ---- files ---- */

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ck_assert_int_ge(in, 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(out, 0);
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* Copies the regular files of base into dir. */
static void copy_store(void)
{
	DIR *d = opendir(base);
	struct dirent *e;
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char from[512], to[512];
		struct stat st;
		snprintf(from, sizeof from, "%s/%s", base, e->d_name);
		snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
		if (!stat(from, &st) && S_ISREG(st.st_mode))
			copy_file(from, to);
	}
	closedir(d);
}

static bool exists(const char *d, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", d, name);
	return access(path, F_OK) == 0;
}

static off_t file_size(const char *name)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* XORs the byte at off of dir/name with 0x55. */
static void flip(const char *name, off_t off)
{
	char path[256];
	unsigned char c;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, off), 1);
	c ^= 0x55;
	ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void write_file(const char *name, const void *data, size_t n)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void append_file(const char *name, const void *data, size_t n)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

enum pick { BIGGEST, HIGHEST, LOWEST };

/* The name of the file of dir whose name ends in affix (or starts with it,
 * with prefix) that is the biggest, or sorts highest or lowest. */
static void pick_file(const char *affix, bool prefix, enum pick how, char *out,
		      size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	off_t best = -1;
	out[0] = '\0';
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), al = strlen(affix);
		bool match = prefix ? !strncmp(e->d_name, affix, al)
				    : len > al && !strcmp(e->d_name + len - al,
							  affix);
		if (!match)
			continue;
		off_t size = file_size(e->d_name);
		bool better = !out[0] ||
			      (how == BIGGEST   ? size > best
			       : how == HIGHEST ? strcmp(e->d_name, out) > 0
						: strcmp(e->d_name, out) < 0);
		if (better) {
			best = size;
			snprintf(out, n, "%s", e->d_name);
		}
	}
	closedir(d);
	ck_assert_msg(out[0], "no file like '%s' in %s", affix, dir);
}

/* ---- table layout (through the engine's reader) ---- */

struct layout {
	struct sst_handle data[4096];
	int ndata;
	struct sst_footer footer;
	uint64_t footer_off;
};

static void table_layout(const char *name, struct layout *l)
{
	char path[256];
	struct sst_reader *r;
	struct sst_reader_parts p;
	struct block_iter ix;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_int_eq(sst_reader_open(env_posix(), path, 0, NULL, NULL, &r),
			 0);
	sst_reader_parts(r, &p);
	l->footer = p.footer;
	l->footer_off = (uint64_t)file_size(name) - SST_FOOTER_SIZE;
	l->ndata = 0;
	block_iter_init_empty(&ix);
	ck_assert_int_eq(
		block_iter_init(&ix, p.index.data, p.index.len, name, 0), 0);
	for (iter_seek_first(&ix.base); iter_valid(&ix.base);
	     iter_next(&ix.base)) {
		struct slice v = iter_value(&ix.base);
		ck_assert_int_lt(l->ndata, 4096);
		ck_assert_ptr_nonnull(sst_handle_decode(v.data, v.data + v.len,
							&l->data[l->ndata++]));
	}
	block_iter_release(&ix);
	sst_reader_free(r);
}

/* Marks in damaged[] every key with an entry in data block h of name. */
static void mark_block_keys(const char *name, struct sst_handle h,
			    bool *damaged)
{
	char path[256];
	struct env_rfile *f;
	struct buf b = BUF_INIT;
	struct block_iter it;
	struct lsm_env *env = env_posix();
	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_int_eq(env->new_rfile(env, path, &f), 0);
	ck_assert_int_eq(
		sst_read_block(env, f, name, h, UINT64_MAX, &b, NULL, NULL), 0);
	block_iter_init_empty(&it);
	ck_assert_int_eq(block_iter_init(&it, b.data, b.len, name, h.offset),
			 0);
	for (iter_seek_first(&it.base); iter_valid(&it.base);
	     iter_next(&it.base)) {
		struct slice u = ikey_user(iter_key(&it.base));
		char k[16];
		snprintf(k, sizeof k, "%.*s", (int)u.len, u.data);
		damaged[atoi(k + 3)] = true;
	}
	block_iter_release(&it);
	buf_release(&b);
	env->rfile_close(f);
}

/* ---- store-level helpers ---- */

static struct lsm_options store_opts(void)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.write_buffer_size = 128u << 10;
	o.target_file_size = 32u << 10;
	o.l1_target_size = 64u << 10;
	o.level_size_ratio = 4;
	o.l0_compaction_trigger = 2;
	o.block_size = 1024;
	return o;
}

/* Outside any test, so failures exit rather than assert. */
#define REQUIRE(x)                                                            \
	do {                                                                  \
		if (!(x)) {                                                   \
			fprintf(stderr, "building the base store: %s\n", #x); \
			exit(1);                                              \
		}                                                             \
	} while (0)

static void write_round(struct lsm_db *db, int r)
{
	char k[16], v[512];
	for (int i = 0; i < NKEYS; i++) {
		if (!written(i, r))
			continue;
		key_of(k, sizeof k, i);
		if (deleted_in(i, r)) {
			REQUIRE(lsm_delete(db, k, strlen(k)) == 0);
			continue;
		}
		size_t n = value_of(v, sizeof v, i, r);
		REQUIRE(lsm_put(db, k, strlen(k), v, n) == 0);
	}
}

/*
 * Round 0 is compacted into the deepest level, rounds 1.. are flushed and
 * compacted by the background thread; the store is then reopened without
 * background work (which removes the tables compactions left behind) and
 * the last round stays in the WAL.
 */
static void build_base(void)
{
	struct lsm_options o = store_opts();
	struct lsm_db *db;
	REQUIRE(lsm_open(base, &o, &db) == 0);
	for (int r = 0; r < ROUNDS; r++) {
		write_round(db, r);
		if (r == 0)
			REQUIRE(lsm_compact(db, NULL, NULL) == 0);
		else
			REQUIRE(lsm_flush(db) == 0);
	}
	REQUIRE(lsm_close(db) == 0);
	o.disable_background_work = 1;
	REQUIRE(lsm_open(base, &o, &db) == 0);
	write_round(db, ROUNDS);
	/* several levels, or the test proves less than it says */
	struct lsm_stats s;
	int levels = 0;
	REQUIRE(lsm_stats_get(db, &s) == 0);
	for (int l = 0; l < LSM_NUM_LEVELS; l++)
		levels += s.levels[l].files > 0;
	lsm_stats_release(&s);
	REQUIRE(levels >= 2);
	REQUIRE(lsm_close(db) == 0);
}

/*
 * Opens dir and checks every key: a key not marked in damaged reads back
 * its newest value (or is absent when deleted); a damaged one is absent
 * or holds a value it once had. Also walks the store with an iterator.
 */
static void verify_store(const bool *damaged)
{
	struct lsm_options o = store_opts();
	struct lsm_db *db;
	char k[16], want[512];
	int rc = lsm_open(dir, &o, &db);
	ck_assert_msg(rc == 0, "lsm_open after repair: %s", lsm_strerror(rc));
	for (int i = 0; i < NKEYS; i++) {
		char *got = NULL;
		size_t len = 0;
		key_of(k, sizeof k, i);
		rc = lsm_get(db, NULL, k, strlen(k), &got, &len);
		ck_assert_msg(rc == 0 || rc == -ENOENT, "get %s: %s", k,
			      lsm_strerror(rc));
		int newest = newest_round(i);
		if (!damaged || !damaged[i]) {
			if (deleted_in(i, newest)) {
				ck_assert_msg(rc == -ENOENT,
					      "%s: deleted key is back", k);
			} else {
				ck_assert_msg(rc == 0, "%s: lost", k);
				size_t n =
					value_of(want, sizeof want, i, newest);
				ck_assert_msg(len == n && !memcmp(got, want, n),
					      "%s: wrong value", k);
			}
		} else if (rc == 0) {
			bool known = false;
			for (int r = 0; r <= ROUNDS && !known; r++) {
				if (!written(i, r) || deleted_in(i, r))
					continue;
				size_t n = value_of(want, sizeof want, i, r);
				known = len == n && !memcmp(got, want, n);
			}
			ck_assert_msg(known, "%s: a value never written", k);
		}
		free(got);
	}
	struct lsm_iter *it;
	int n = 0;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	for (lsm_iter_seek_first(it); lsm_iter_valid(it); lsm_iter_next(it))
		n++;
	ck_assert_int_eq(lsm_iter_status(it), 0);
	lsm_iter_free(it);
	ck_assert_int_gt(n, NKEYS / 2);
	ck_assert_int_eq(lsm_close(db), 0);
}

/* Runs lsm_check into a buffer; returns its result. */
static int check_into(char *out, size_t cap, int *problems)
{
	FILE *f = fmemopen(out, cap, "w");
	ck_assert_ptr_nonnull(f);
	int rc = lsm_check(dir, f, problems);
	fclose(f);
	out[cap - 1] = '\0';
	return rc;
}

static void check_clean(void)
{
	static char report[65536];
	int problems = -1;
	int rc = check_into(report, sizeof report, &problems);
	ck_assert_msg(rc == 0 && problems == 0, "check: %d, %d problems:\n%s",
		      rc, problems, report);
}

/* Asserts that check finds corruption and names every word in a line. */
static void check_finds(const char *w1, const char *w2)
{
	static char report[65536];
	int problems = 0;
	int rc = check_into(report, sizeof report, &problems);
	ck_assert_msg(rc == -EIO, "check returned %d:\n%s", rc, report);
	ck_assert_int_gt(problems, 0);
	bool found = false;
	for (char *line = report; line && *line && !found;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		found = strncmp(line, "warning:", 8) && strstr(line, w1) &&
			(!w2 || strstr(line, w2));
		if (nl)
			*nl = '\n';
		line = nl ? nl + 1 : NULL;
	}
	ck_assert_msg(found, "no problem line with '%s' '%s':\n%s", w1,
		      w2 ? w2 : "", report);
}

static void repair_ok(void)
{
	static char report[65536];
	FILE *f = fmemopen(report, sizeof report, "w");
	struct lsm_options o = store_opts();
	int rc = lsm_repair(dir, &o, f);
	fclose(f);
	report[sizeof report - 1] = '\0';
	if (getenv("CHECK_REPAIR_VERBOSE"))
		fprintf(stderr, "repair of %s:\n%s", dir, report);
	ck_assert_msg(rc == 0, "repair: %s\n%s", lsm_strerror(rc), report);
	ck_assert_msg(strstr(report, "repaired:"), "no summary:\n%s", report);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_repair.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	copy_store();
}

static void teardown(void)
{
	tu_rm_rf(dir);
}

/* ---- tests ---- */

START_TEST(test_check_clean)
{
	char report[8192];
	int problems = -1;
	ck_assert_int_eq(check_into(report, sizeof report, &problems), 0);
	ck_assert_int_eq(problems, 0);
	ck_assert_ptr_nonnull(strstr(report, "0 problems"));
	ck_assert_int_eq(lsm_check(dir, NULL, NULL), 0);
	/* nothing changed: the same copy still checks and opens */
	check_clean();
	verify_store(NULL);
}
END_TEST

START_TEST(test_locked_and_missing)
{
	struct lsm_options o = store_opts();
	struct lsm_db *db;
	ck_assert_int_eq(lsm_open(dir, &o, &db), 0);
	ck_assert_int_eq(lsm_check(dir, NULL, NULL), -EBUSY);
	ck_assert_int_eq(lsm_repair(dir, &o, NULL), -EBUSY);
	ck_assert_int_eq(lsm_close(db), 0);
	ck_assert_int_eq(lsm_check("/nonexistent/lsm-store", NULL, NULL),
			 -ENOENT);
	ck_assert_int_eq(lsm_repair("/nonexistent/lsm-store", NULL, NULL),
			 -ENOENT);
	ck_assert_int_eq(lsm_check(NULL, NULL, NULL), -EINVAL);
	tu_rm_rf(dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(lsm_check(dir, NULL, NULL), -ENOENT);
	ck_assert_int_eq(lsm_repair(dir, NULL, NULL), -ENOENT);
	ck_assert(!exists(dir, "LOCK"));
}
END_TEST

START_TEST(test_data_block)
{
	static bool damaged[NKEYS];
	static struct layout l;
	char sst[64], off[32];
	pick_file(".sst", false, BIGGEST, sst, sizeof sst);
	table_layout(sst, &l);
	ck_assert_int_ge(l.ndata, 3);
	/* offset 100 of the first block, and the middle of another */
	struct sst_handle h0 = l.data[0], h1 = l.data[l.ndata / 2];
	ck_assert_uint_gt(h0.size, 100);
	memset(damaged, 0, sizeof damaged);
	mark_block_keys(sst, h0, damaged);
	mark_block_keys(sst, h1, damaged);
	flip(sst, 100);
	flip(sst, (off_t)(h1.offset + h1.size / 2));

	check_finds(sst, "at offset 0:");
	snprintf(off, sizeof off,
		 "at offset %llu:", (unsigned long long)h1.offset);
	check_finds(sst, off);
	repair_ok();
	ck_assert(exists(dir, "lost") && !exists(dir, sst));
	char lost[128];
	snprintf(lost, sizeof lost, "%s/lost", dir);
	ck_assert(exists(lost, sst));
	check_clean();
	verify_store(damaged);
}
END_TEST

/* Damage outside the data blocks loses nothing: the blocks are found
 * through the index, or by their checksums when the index is gone. */
static void meta_case(int which)
{
	static struct layout l;
	char sst[64], off[32];
	pick_file(".sst", false, BIGGEST, sst, sizeof sst);
	table_layout(sst, &l);
	uint64_t at;
	switch (which) {
	case 0:
		ck_assert_uint_gt(l.footer.filter.size, 0);
		at = l.footer.filter.offset + l.footer.filter.size / 2;
		break;
	case 1:
		at = l.footer.index.offset + l.footer.index.size / 2;
		break;
	case 2:
		at = l.footer.props.offset + l.footer.props.size / 2;
		break;
	default:
		at = l.footer_off + 20; /* the index handle */
		break;
	}
	flip(sst, (off_t)at);
	check_finds(sst, NULL);
	if (which == 3) {
		snprintf(off, sizeof off,
			 "at offset %llu:", (unsigned long long)l.footer_off);
		check_finds(sst, off);
	}
	repair_ok();
	check_clean();
	verify_store(NULL);
}

START_TEST(test_filter_block)
{
	meta_case(0);
}
END_TEST
START_TEST(test_index_block)
{
	meta_case(1);
}
END_TEST
START_TEST(test_props_block)
{
	meta_case(2);
}
END_TEST
START_TEST(test_footer)
{
	meta_case(3);
}
END_TEST

START_TEST(test_missing_current)
{
	char path[128];
	struct lsm_db *db;
	struct lsm_options o = store_opts();
	snprintf(path, sizeof path, "%s/CURRENT", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(lsm_open(dir, &o, &db), -EIO);
	check_finds("'CURRENT'", "missing");
	repair_ok();
	ck_assert(exists(dir, "CURRENT"));
	check_clean();
	verify_store(NULL);
}
END_TEST

START_TEST(test_truncated_manifest)
{
	char m[64], path[128];
	pick_file("MANIFEST-", true, HIGHEST, m, sizeof m);
	snprintf(path, sizeof path, "%s/%s", dir, m);
	/* inside the first record, the snapshot: nothing replays */
	ck_assert_int_eq(truncate(path, 30), 0);
	check_finds(m, NULL);
	repair_ok();
	check_clean();
	verify_store(NULL);
}
END_TEST

START_TEST(test_no_manifest)
{
	/* every table's level is unknown: repair must still order them so
	 * that no old entry hides a newer one */
	char m[64], path[128];
	pick_file("MANIFEST-", true, HIGHEST, m, sizeof m);
	snprintf(path, sizeof path, "%s/%s", dir, m);
	ck_assert_int_eq(unlink(path), 0);
	snprintf(path, sizeof path, "%s/CURRENT", dir);
	ck_assert_int_eq(unlink(path), 0);
	check_finds("'CURRENT'", NULL);
	repair_ok();
	check_clean();
	verify_store(NULL);
}
END_TEST

struct entry {
	const char *key;
	uint64_t seq;
	const char *value; /* NULL: a tombstone */
};

/* Writes dir/NNNNNN.sst holding es (in internal-key order). */
static void write_table(uint64_t number, const struct entry *es, int n)
{
	char path[128];
	struct lsm_options o = store_opts();
	struct sst_builder *b;
	struct buf k = BUF_INIT;
	snprintf(path, sizeof path, "%s/%06llu.sst", dir,
		 (unsigned long long)number);
	ck_assert_int_eq(sst_builder_new(env_posix(), &o, path,
					 SST_REASON_COMPACTION, &b),
			 0);
	for (int i = 0; i < n; i++) {
		const char *v = es[i].value ? es[i].value : "";
		buf_clear(&k);
		ck_assert_int_eq(
			ikey_append(&k, es[i].key, strlen(es[i].key), es[i].seq,
				    es[i].value ? TYPE_VALUE : TYPE_DELETE),
			0);
		ck_assert_int_eq(sst_builder_add(b, buf_slice(&k),
						 slice_make(v, strlen(v))),
				 0);
	}
	ck_assert_int_eq(sst_builder_finish(b, NULL), 0);
	sst_builder_free(b);
	buf_release(&k);
}

/*
 * Two tables from different levels of a lost MANIFEST: the deeper one has
 * the higher max_seq, so reading level 0 by max_seq would let its old
 * entries of 'a' and 'c' hide the newer ones. Repair must merge them.
 */
START_TEST(test_interleaved_tables)
{
	static const struct entry deep[] = {
		{ "a", 1, "a-old" },
		{ "b", 100, "b-new" },
		{ "c", 2, "c-old" },
		{ "d", 3, "d-old" },
	};
	static const struct entry up[] = {
		{ "a", 50, "a-new" },
		{ "c", 60, "c-new" },
		{ "d", 70, NULL },
	};
	static const struct entry apart[] = {
		{ "x", 5, "x-old" },
		{ "y", 6, "y-old" },
	};
	tu_rm_rf(dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	write_table(7, deep, 4);
	write_table(8, up, 3);
	write_table(9, apart, 2); /* overlaps nothing: stays as it is */
	repair_ok();
	check_clean();
	struct lsm_options o = store_opts();
	struct lsm_db *db;
	ck_assert_int_eq(lsm_open(dir, &o, &db), 0);
	static const char *want[][2] = {
		{ "a", "a-new" }, { "b", "b-new" }, { "c", "c-new" },
		{ "d", NULL },    { "x", "x-old" }, { "y", "y-old" },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char *v = NULL;
		size_t len;
		int rc = lsm_get(db, NULL, want[i][0], 1, &v, &len);
		if (!want[i][1]) {
			ck_assert_msg(rc == -ENOENT, "%s is back", want[i][0]);
			continue;
		}
		ck_assert_msg(rc == 0 && !strcmp(v, want[i][1]), "%s: got %s",
			      want[i][0], rc ? "nothing" : v);
		free(v);
	}
	struct lsm_stats s;
	ck_assert_int_eq(lsm_stats_get(db, &s), 0);
	ck_assert_uint_ge(s.last_sequence, 100);
	lsm_stats_release(&s);
	ck_assert_int_eq(lsm_close(db), 0);
	char lost[128];
	snprintf(lost, sizeof lost, "%s/lost", dir);
	ck_assert(exists(lost, "000007.sst") && exists(lost, "000008.sst"));
	ck_assert(exists(dir, "000009.sst"));
}
END_TEST

START_TEST(test_wal_garbage_tail)
{
	char wal[64], report[8192], junk[1000];
	int problems = -1;
	pick_file(".wal", false, BIGGEST, wal, sizeof wal);
	ck_assert_int_gt(file_size(wal), 1000);
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 37 + 11);
	append_file(wal, junk, sizeof junk);
	/* a torn tail is a warning, not corruption */
	ck_assert_int_eq(check_into(report, sizeof report, &problems), 0);
	ck_assert_int_eq(problems, 0);
	ck_assert_ptr_nonnull(strstr(report, "warning:"));
	ck_assert_ptr_nonnull(strstr(report, wal));
	repair_ok();
	check_clean();
	verify_store(NULL);
}
END_TEST

START_TEST(test_wal_corrupt_middle)
{
	static bool damaged[NKEYS];
	char wal[64];
	pick_file(".wal", false, BIGGEST, wal, sizeof wal);
	off_t size = file_size(wal);
	/* one record in the middle: the keys of the tail round (each record
	 * is one put) near the middle may be lost, nothing else */
	flip(wal, size / 2);
	check_finds(wal, "at offset");
	for (int i = 0; i < TAIL_KEYS; i++)
		damaged[i] = true;
	repair_ok();
	char lost[128];
	snprintf(lost, sizeof lost, "%s/lost", dir);
	ck_assert(exists(lost, wal));
	check_clean();
	verify_store(damaged);
	/* only about one record was lost */
	struct lsm_options o = store_opts();
	struct lsm_db *db;
	int present = 0;
	ck_assert_int_eq(lsm_open(dir, &o, &db), 0);
	for (int i = 0; i < TAIL_KEYS; i++) {
		char k[16], *v = NULL, want[512];
		size_t len;
		key_of(k, sizeof k, i);
		size_t n = value_of(want, sizeof want, i, ROUNDS);
		if (lsm_get(db, NULL, k, strlen(k), &v, &len) == 0 &&
		    len == n && !memcmp(v, want, n))
			present++;
		free(v);
	}
	ck_assert_int_eq(lsm_close(db), 0);
	ck_assert_int_ge(present, TAIL_KEYS - 2);
}
END_TEST

START_TEST(test_orphan)
{
	char sst[64], from[128], to[128], report[8192];
	int problems = -1;
	/* a copy of the oldest table under a new number: old entries at an
	 * unknown level; repair has to merge it rather than let it shadow
	 * newer entries from level 0 */
	pick_file(".sst", false, LOWEST, sst, sizeof sst);
	snprintf(from, sizeof from, "%s/%s", dir, sst);
	snprintf(to, sizeof to, "%s/009999.sst", dir);
	copy_file(from, to);
	ck_assert_int_eq(check_into(report, sizeof report, &problems), 0);
	ck_assert_int_eq(problems, 0);
	ck_assert_ptr_nonnull(strstr(report, "warning: '009999.sst'"));
	repair_ok();
	check_clean();
	verify_store(NULL);
}
END_TEST

START_TEST(test_garbage_files)
{
	char junk[9000];
	uint64_t x = 42;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		junk[i] = (char)(x >> 56);
	}
	write_file("000777.sst", junk, sizeof junk);
	write_file("000001.wal", junk, 100); /* below the log number */
	write_file("000779.sst", "", 0);
	write_file("000780.sst.tmp", junk, 10);
	/* garbage that passes for a table footer's magic but not its crc */
	memcpy(junk + sizeof junk - 8, "lsmfsst1", 8);
	write_file("000781.sst", junk, sizeof junk);
	check_clean(); /* orphans and a stray WAL are only warnings... */
	/* ...but a garbage WAL at or after the log number is not */
	write_file("999999.wal", junk, sizeof junk);
	check_finds("999999.wal", NULL);
	repair_ok();
	check_clean();
	verify_store(NULL);
	char lost[128];
	snprintf(lost, sizeof lost, "%s/lost", dir);
	ck_assert(exists(lost, "000777.sst") && exists(lost, "999999.wal"));
	ck_assert(exists(lost, "000001.wal") && exists(lost, "000781.sst"));
	ck_assert(exists(lost, "000780.sst.tmp"));
}
END_TEST

START_TEST(test_garbage_current_and_manifest)
{
	char m[64], junk[3000];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 131 + 7);
	pick_file("MANIFEST-", true, HIGHEST, m, sizeof m);
	write_file("CURRENT", "MANIFEST-12x\n", 13);
	check_finds("'CURRENT'", NULL);
	write_file(m, junk, sizeof junk);
	check_finds(m, NULL);
	memcpy(junk, "LSMMAN01", 8); /* right magic, garbage records */
	write_file(m, junk, sizeof junk);
	write_file("CURRENT", m, strlen(m));
	append_file("CURRENT", "\n", 1);
	check_finds(m, NULL);
	repair_ok();
	check_clean();
	verify_store(NULL);
}
END_TEST

START_TEST(test_repair_twice)
{
	/* repairing a healthy store keeps every table and loses nothing */
	repair_ok();
	check_clean();
	repair_ok();
	check_clean();
	verify_store(NULL);
}
END_TEST

/* Random byte flips anywhere: check and repair must never crash or hang,
 * repair must leave a store that opens, and nothing read back may be a
 * value that was never written. */
START_TEST(test_random_damage)
{
	static bool damaged[NKEYS];
	const char *kinds[] = { ".sst", ".wal", "MANIFEST-" };
	uint64_t x = 12345 + (uint64_t)_i;
	for (int i = 0; i < NKEYS; i++)
		damaged[i] = true;
	for (int n = 0; n < 6; n++) {
		char name[64];
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		int kind = (int)((x >> 33) % 3);
		pick_file(kinds[kind], kind == 2, (enum pick)((x >> 40) % 3),
			  name, sizeof name);
		off_t size = file_size(name);
		if (size > 0)
			flip(name, (off_t)((x >> 20) % (uint64_t)size));
	}
	char report[65536];
	int problems;
	int rc = check_into(report, sizeof report, &problems);
	ck_assert(rc == 0 || rc == -EIO);
	repair_ok();
	check_clean();
	verify_store(damaged);
}
END_TEST

static Suite *repair_suite(void)
{
	Suite *s = suite_create("check_repair");
	TCase *tc = tcase_create("check");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_check_clean);
	tcase_add_test(tc, test_locked_and_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("tables");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_data_block);
	tcase_add_test(tc, test_filter_block);
	tcase_add_test(tc, test_index_block);
	tcase_add_test(tc, test_props_block);
	tcase_add_test(tc, test_footer);
	tcase_add_test(tc, test_orphan);
	tcase_add_test(tc, test_repair_twice);
	suite_add_tcase(s, tc);

	tc = tcase_create("manifest");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_missing_current);
	tcase_add_test(tc, test_truncated_manifest);
	tcase_add_test(tc, test_no_manifest);
	tcase_add_test(tc, test_interleaved_tables);
	tcase_add_test(tc, test_garbage_current_and_manifest);
	suite_add_tcase(s, tc);

	tc = tcase_create("wal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wal_garbage_tail);
	tcase_add_test(tc, test_wal_corrupt_middle);
	tcase_add_test(tc, test_garbage_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_random_damage, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* the engine's diagnostics are expected here; the reports say it all
	 * (CHECK_REPAIR_LOG=1 shows them, CHECK_REPAIR_VERBOSE=1 the repair
	 * reports) */
	if (!getenv("CHECK_REPAIR_LOG"))
		lsm_set_log_handler(NULL, NULL);
	snprintf(base, sizeof base, "/tmp/check_repair_base.XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	build_base();
	int rc = tu_run("check_repair", repair_suite());
	tu_rm_rf(base);
	return rc;
}
