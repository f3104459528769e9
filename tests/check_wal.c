/*
 * check_wal.c - tests for engine/wal_writer.c, engine/wal_reader.c and
 * engine/wal_dump.c: round trips, torn tails at every offset, byte-flip
 * corruption in STRICT and SKIP mode, wrong magic, and sticky writer errors
 * injected through a wrapping env.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "env.h"
#include "lsm.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"
#include "testutil.h"

#define WAL_NAME "000007.wal"

/* ---- fixture: a private directory and captured log lines ---- */

static char dir[64];
static char path[128];

#define MAX_LINES 64
static char lines[MAX_LINES][1024];
static int nlines;

static void capture(void *ctx, const char *line)
{
	(void)ctx;
	if (nlines < MAX_LINES)
		snprintf(lines[nlines], sizeof lines[0], "%s", line);
	nlines++;
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_wal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/%s", dir, WAL_NAME);
	nlines = 0;
	lsm_set_log_handler(capture, NULL);
}

static void teardown(void)
{
	lsm_set_log_handler(NULL, NULL);
	unlink(path);
	rmdir(dir);
}

static void clear_log(void)
{
	nlines = 0;
}

/* Asserts that exactly one line was logged and that it equals fmt... */
static void expect_one_line(const char *fmt, ...)
{
	char want[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(nlines, 1);
	ck_assert_str_eq(lines[0], want);
}

/* ... or starts with it. */
static void expect_line_prefix(int i, const char *fmt, ...)
{
	char want[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	ck_assert_int_gt(nlines, i);
	ck_assert_msg(strncmp(lines[i], want, strlen(want)) == 0,
		      "log line '%s' does not start with '%s'", lines[i], want);
}

/* ---- deterministic data ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static void fill(char *p, size_t n, uint64_t seed)
{
	uint64_t s = seed * 7919 + 1;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng_next(&s);
		size_t k = n - i < 8 ? n - i : 8;
		memcpy(p + i, &v, k);
	}
}

/* A small log kept in memory: record i has type types[i], payload of
 * lens[i] bytes made by fill(.., i), at file offset offs[i]. */
#define MAX_RECS 64
struct log_spec {
	int n;
	uint8_t types[MAX_RECS];
	size_t lens[MAX_RECS];
	uint64_t offs[MAX_RECS + 1]; /* offs[n] is the file size */
};

static void write_log(const struct log_spec *ls)
{
	struct wal_writer *w;
	char *p = malloc(1 << 20);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(wal_writer_new(env_posix(), path, WAL_MAGIC, &w), 0);
	for (int i = 0; i < ls->n; i++) {
		ck_assert_uint_eq(wal_writer_size(w), ls->offs[i]);
		fill(p, ls->lens[i], (uint64_t)i);
		ck_assert_int_eq(wal_writer_add(w, ls->types[i],
						slice_make(p, ls->lens[i])), 0);
	}
	ck_assert_uint_eq(wal_writer_size(w), ls->offs[ls->n]);
	ck_assert_int_eq(wal_writer_close(w), 0);
	free(p);
}

/* n records of random small sizes (record 1 is empty), the last one of
 * last_len bytes. */
static void make_spec(struct log_spec *ls, int n, size_t last_len)
{
	uint64_t s = 99;
	ls->n = n;
	ls->offs[0] = WAL_HEADER_LEN;
	for (int i = 0; i < n; i++) {
		ls->types[i] = (uint8_t)(1 + rng_next(&s) % 255);
		ls->lens[i] = i == 1 ? 0 : 20 + rng_next(&s) % 150;
		if (i == n - 1)
			ls->lens[i] = last_len;
		ls->offs[i + 1] = ls->offs[i] + WAL_RECORD_HEADER_LEN +
				  ls->lens[i];
	}
}

/* Checks that the next record is spec record i. */
static void expect_record(struct wal_reader *r, const struct log_spec *ls,
			  int i)
{
	static char want[1 << 20];
	uint8_t type;
	struct slice pl;
	int rc = wal_reader_next(r, &type, &pl);
	ck_assert_msg(rc == 1, "record %d: wal_reader_next returned %d", i, rc);
	ck_assert_uint_eq(type, ls->types[i]);
	ck_assert_uint_eq(pl.len, ls->lens[i]);
	fill(want, ls->lens[i], (uint64_t)i);
	ck_assert_msg(pl.len == 0 || memcmp(pl.data, want, pl.len) == 0,
		      "record %d: wrong payload", i);
	ck_assert_uint_eq(wal_reader_offset(r), ls->offs[i]);
}

static struct wal_reader *open_reader(int mode)
{
	struct wal_reader *r;
	ck_assert_int_eq(wal_reader_new(env_posix(), path, WAL_MAGIC, mode, &r),
			 0);
	return r;
}

static int next_rc(struct wal_reader *r)
{
	uint8_t type;
	struct slice pl;
	return wal_reader_next(r, &type, &pl);
}

/* ---- raw file manipulation (outside the env, as damage would be) ---- */

static char *slurp(size_t *n)
{
	char *data;
	ck_assert_int_eq(env_read_file(env_posix(), path, &data, n), 0);
	return data;
}

static void spit(const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

/* ---- round trip ---- */

START_TEST(test_round_trip)
{
	enum { N = 3000 };
	size_t *lens = malloc(N * sizeof *lens);
	uint8_t *types = malloc(N);
	char *p = malloc((1 << 20) + 1), *want = malloc((1 << 20) + 1);
	ck_assert_ptr_nonnull(lens);
	ck_assert_ptr_nonnull(types);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(want);

	/* mostly small records, some empty, one in 100 up to 1 MiB, and the
	 * extremes once each */
	uint64_t s = 42;
	for (int i = 0; i < N; i++) {
		uint64_t x = rng_next(&s);
		types[i] = (uint8_t)(1 + x % 255);
		if (i == 3)
			lens[i] = 1 << 20;
		else if (i % 13 == 0)
			lens[i] = 0;
		else if (i % 100 == 50)
			lens[i] = (size_t)(rng_next(&s) % ((1 << 20) + 1));
		else
			lens[i] = (size_t)(rng_next(&s) % 2000);
	}

	struct wal_writer *w;
	ck_assert_int_eq(wal_writer_new(env_posix(), path, WAL_MAGIC, &w), 0);
	ck_assert_uint_eq(wal_writer_size(w), WAL_HEADER_LEN);
	ck_assert_uint_eq(wal_writer_syncs(w), 0);
	uint64_t size = WAL_HEADER_LEN;
	for (int i = 0; i < N; i++) {
		fill(p, lens[i], (uint64_t)i);
		ck_assert_int_eq(wal_writer_add(w, types[i],
						slice_make(p, lens[i])), 0);
		size += WAL_RECORD_HEADER_LEN + lens[i];
		ck_assert_uint_eq(wal_writer_size(w), size);
		if (i % 500 == 0)
			ck_assert_int_eq(wal_writer_sync(w), 0);
	}
	ck_assert_uint_eq(wal_writer_syncs(w), N / 500);
	ck_assert_int_eq(wal_writer_close(w), 0);
	uint64_t fsize;
	ck_assert_int_eq(env_posix()->file_size(env_posix(), path, &fsize), 0);
	ck_assert_uint_eq(fsize, size);

	struct wal_reader *r = open_reader(LSM_WAL_RECOVERY_STRICT);
	uint64_t off = WAL_HEADER_LEN;
	for (int i = 0; i < N; i++) {
		uint8_t type;
		struct slice pl;
		ck_assert_int_eq(wal_reader_next(r, &type, &pl), 1);
		ck_assert_uint_eq(type, types[i]);
		ck_assert_uint_eq(pl.len, lens[i]);
		ck_assert_uint_eq(wal_reader_offset(r), off);
		fill(want, lens[i], (uint64_t)i);
		ck_assert(pl.len == 0 || memcmp(pl.data, want, pl.len) == 0);
		off += WAL_RECORD_HEADER_LEN + lens[i];
	}
	ck_assert_int_eq(next_rc(r), 0);
	ck_assert_int_eq(next_rc(r), 0);
	ck_assert_uint_eq(wal_reader_dropped_bytes(r), 0);
	ck_assert_int_eq(nlines, 0);
	wal_reader_free(r);
	free(lens);
	free(types);
	free(p);
	free(want);
}
END_TEST

/* The reader is generic: a MANIFEST-magic log reads back the same way. */
START_TEST(test_manifest_magic)
{
	struct wal_writer *w;
	ck_assert_int_eq(wal_writer_new(env_posix(), path, "LSMMAN01", &w), 0);
	ck_assert_int_eq(wal_writer_add(w, 1, slice_make("edit", 4)), 0);
	ck_assert_int_eq(wal_writer_close(w), 0);

	struct wal_reader *r;
	ck_assert_int_eq(wal_reader_new(env_posix(), path, "LSMMAN01",
					LSM_WAL_RECOVERY_STRICT, &r), 0);
	uint8_t type;
	struct slice pl;
	ck_assert_int_eq(wal_reader_next(r, &type, &pl), 1);
	ck_assert_uint_eq(type, 1);
	ck_assert(slice_eq(pl, slice_make("edit", 4)));
	ck_assert_int_eq(wal_reader_next(r, &type, &pl), 0);
	wal_reader_free(r);

	/* and a WAL reader refuses it */
	ck_assert_int_eq(wal_reader_new(env_posix(), path, WAL_MAGIC,
					LSM_WAL_RECOVERY_SKIP, &r), -EIO);
	expect_one_line("lsm: corrupt header in '" WAL_NAME "' at offset 0: "
			"bad magic, expected 'LSMWAL01'");
}
END_TEST

/* ---- empty and short files ---- */

START_TEST(test_empty_log)
{
	struct wal_writer *w;
	ck_assert_int_eq(wal_writer_new(env_posix(), path, WAL_MAGIC, &w), 0);
	ck_assert_int_eq(wal_writer_close(w), 0);
	struct wal_reader *r = open_reader(LSM_WAL_RECOVERY_STRICT);
	ck_assert_int_eq(next_rc(r), 0);
	ck_assert_uint_eq(wal_reader_dropped_bytes(r), 0);
	wal_reader_free(r);
	ck_assert_int_eq(nlines, 0);

	/* crash right after creation: an empty file */
	spit("", 0);
	r = open_reader(LSM_WAL_RECOVERY_STRICT);
	ck_assert_int_eq(next_rc(r), 0);
	wal_reader_free(r);
	ck_assert_int_eq(nlines, 0);

	/* ... or a partial magic, or garbage shorter than the magic */
	for (int k = 1; k < WAL_HEADER_LEN; k++) {
		for (int garbage = 0; garbage < 2; garbage++) {
			spit(garbage ? "\xff\x00\x01\x02zzzz" : WAL_MAGIC,
			     (size_t)k);
			clear_log();
			r = open_reader(LSM_WAL_RECOVERY_STRICT);
			ck_assert_int_eq(next_rc(r), 0);
			ck_assert_uint_eq(wal_reader_dropped_bytes(r),
					  (uint64_t)k);
			wal_reader_free(r);
			expect_one_line("lsm: dropped torn tail of '" WAL_NAME
					"' at offset 0 (%d bytes)", k);
		}
	}
}
END_TEST

START_TEST(test_missing_file)
{
	struct wal_reader *r = NULL;
	ck_assert_int_eq(wal_reader_new(env_posix(), path, WAL_MAGIC,
					LSM_WAL_RECOVERY_STRICT, &r), -ENOENT);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(nlines, 0);
}
END_TEST

START_TEST(test_wrong_magic)
{
	struct log_spec ls;
	make_spec(&ls, 3, 10);
	write_log(&ls);
	size_t n;
	char *data = slurp(&n);
	for (int i = 0; i < WAL_MAGIC_LEN; i++) {
		data[i] ^= 0x20;
		spit(data, n);
		data[i] ^= 0x20;
		clear_log();
		struct wal_reader *r = NULL;
		ck_assert_int_eq(wal_reader_new(env_posix(), path, WAL_MAGIC,
						LSM_WAL_RECOVERY_SKIP, &r),
				 -EIO);
		ck_assert_ptr_null(r);
		expect_one_line("lsm: corrupt header in '" WAL_NAME
				"' at offset 0: bad magic, expected 'LSMWAL01'");
	}
	/* exactly the header's length, wrong */
	spit("LSMWAL02", 8);
	struct wal_reader *r;
	ck_assert_int_eq(wal_reader_new(env_posix(), path, WAL_MAGIC,
					LSM_WAL_RECOVERY_STRICT, &r), -EIO);
	free(data);
}
END_TEST

/* ---- torn tails ---- */

/* Truncating at every offset of the file: every complete record survives,
 * the rest is one dropped tail, never an error. */
START_TEST(test_torn_tail_every_offset)
{
	struct log_spec ls;
	make_spec(&ls, 12, 200);
	write_log(&ls);
	size_t n;
	char *data = slurp(&n);
	ck_assert_uint_eq(n, ls.offs[ls.n]);

	for (int mode = 0; mode < 2; mode++) {
		for (size_t t = 0; t < n; t++) {
			spit(data, t);
			clear_log();
			struct wal_reader *r = open_reader(mode);
			int i = 0;
			while (i < ls.n && ls.offs[i + 1] <= t)
				expect_record(r, &ls, i++);
			ck_assert_int_eq(next_rc(r), 0);
			ck_assert_int_eq(next_rc(r), 0);
			uint64_t good = t < WAL_HEADER_LEN ? 0 : ls.offs[i];
			ck_assert_uint_eq(wal_reader_dropped_bytes(r), t - good);
			wal_reader_free(r);
			if (t == good)
				ck_assert_int_eq(nlines, 0);
			else
				expect_one_line("lsm: dropped torn tail of '"
						WAL_NAME "' at offset %llu "
						"(%llu bytes)",
						(unsigned long long)good,
						(unsigned long long)(t - good));
		}
	}
	free(data);
}
END_TEST

START_TEST(test_zero_tail)
{
	struct log_spec ls;
	make_spec(&ls, 8, 100);
	write_log(&ls);
	size_t n;
	char *data = slurp(&n);
	char *z = calloc(1, n + 4096);
	ck_assert_ptr_nonnull(z);

	/* a zero-filled tail (preallocated blocks after a crash) of any
	 * length, after a whole log or after part of the last record */
	static const size_t zeros[] = { 1, 8, 9, 10, 100, 4096 };
	uint64_t last = ls.offs[ls.n - 1];
	static const size_t cuts[] = { 0, 1, 9, 50 };
	for (size_t zi = 0; zi < sizeof zeros / sizeof zeros[0]; zi++) {
		for (size_t ci = 0; ci < sizeof cuts / sizeof cuts[0]; ci++) {
			size_t keep = cuts[ci] ? last + cuts[ci] : n;
			memcpy(z, data, keep);
			memset(z + keep, 0, zeros[zi]);
			spit(z, keep + zeros[zi]);
			clear_log();
			for (int mode = 0; mode < 2; mode++) {
				struct wal_reader *r = open_reader(mode);
				int good = cuts[ci] ? ls.n - 1 : ls.n;
				for (int i = 0; i < good; i++)
					expect_record(r, &ls, i);
				ck_assert_int_eq(next_rc(r), 0);
				uint64_t drop = keep + zeros[zi] - ls.offs[good];
				ck_assert_uint_eq(wal_reader_dropped_bytes(r),
						  drop);
				wal_reader_free(r);
			}
			ck_assert_int_eq(nlines, 2);
			uint64_t at = ls.offs[cuts[ci] ? ls.n - 1 : ls.n];
			char want[256];
			snprintf(want, sizeof want,
				 "lsm: dropped torn tail of '" WAL_NAME
				 "' at offset %llu (%llu bytes)",
				 (unsigned long long)at,
				 (unsigned long long)(keep + zeros[zi] - at));
			ck_assert_str_eq(lines[0], want);
			ck_assert_str_eq(lines[1], want);
		}
	}
	free(z);
	free(data);
}
END_TEST

/* Any single damaged byte in the last record makes it a torn tail: the
 * records before it survive and the damaged one is never returned. */
START_TEST(test_last_record_flip)
{
	struct log_spec ls;
	make_spec(&ls, 6, 120);
	write_log(&ls);
	size_t n;
	char *data = slurp(&n);
	uint64_t last = ls.offs[ls.n - 1];
	static const unsigned char masks[] = { 0xff, 0x01, 0x80 };
	for (uint64_t pos = last; pos < n; pos++) {
		for (size_t m = 0; m < sizeof masks; m++) {
			data[pos] ^= (char)masks[m];
			spit(data, n);
			data[pos] ^= (char)masks[m];
			for (int mode = 0; mode < 2; mode++) {
				clear_log();
				struct wal_reader *r = open_reader(mode);
				for (int i = 0; i < ls.n - 1; i++)
					expect_record(r, &ls, i);
				ck_assert_int_eq(next_rc(r), 0);
				ck_assert_uint_eq(wal_reader_dropped_bytes(r),
						  n - last);
				wal_reader_free(r);
				expect_one_line("lsm: dropped torn tail of '"
						WAL_NAME "' at offset %llu "
						"(%llu bytes)",
						(unsigned long long)last,
						(unsigned long long)(n - last));
			}
		}
	}
	free(data);
}
END_TEST

/* ---- corruption before the tail ---- */

START_TEST(test_mid_corruption_strict)
{
	struct log_spec ls;
	make_spec(&ls, 10, 60);
	write_log(&ls);
	size_t n;
	char *data = slurp(&n);
	const int bad = 5;
	static const unsigned char masks[] = { 0xff, 0x01 };
	for (uint64_t pos = ls.offs[bad]; pos < ls.offs[bad + 1]; pos++) {
		for (size_t m = 0; m < sizeof masks; m++) {
			data[pos] ^= (char)masks[m];
			spit(data, n);
			data[pos] ^= (char)masks[m];
			clear_log();
			struct wal_reader *r =
				open_reader(LSM_WAL_RECOVERY_STRICT);
			for (int i = 0; i < bad; i++)
				expect_record(r, &ls, i);
			ck_assert_int_eq(nlines, 0);
			ck_assert_int_eq(next_rc(r), -EIO);
			ck_assert_uint_eq(wal_reader_offset(r), ls.offs[bad]);
			/* sticky, and logged once */
			ck_assert_int_eq(next_rc(r), -EIO);
			wal_reader_free(r);
			ck_assert_int_eq(nlines, 1);
			expect_line_prefix(0, "lsm: corrupt record in '"
					   WAL_NAME "' at offset %llu: ",
					   (unsigned long long)ls.offs[bad]);
		}
	}
	free(data);
}
END_TEST

START_TEST(test_mid_corruption_skip)
{
	struct log_spec ls;
	make_spec(&ls, 10, 60);
	write_log(&ls);
	size_t n;
	char *data = slurp(&n);
	const int bad = 5;
	uint64_t skipped = ls.offs[bad + 1] - ls.offs[bad];
	for (uint64_t pos = ls.offs[bad]; pos < ls.offs[bad + 1]; pos++) {
		data[pos] ^= (char)0xff;
		spit(data, n);
		data[pos] ^= (char)0xff;
		clear_log();
		struct wal_reader *r = open_reader(LSM_WAL_RECOVERY_SKIP);
		for (int i = 0; i < ls.n; i++)
			if (i != bad)
				expect_record(r, &ls, i);
		ck_assert_int_eq(next_rc(r), 0);
		ck_assert_uint_eq(wal_reader_dropped_bytes(r), skipped);
		wal_reader_free(r);
		ck_assert_int_eq(nlines, 1);
		expect_line_prefix(0, "lsm: corrupt record in '" WAL_NAME
				   "' at offset %llu: ",
				   (unsigned long long)ls.offs[bad]);
		char tail[64];
		snprintf(tail, sizeof tail, "; skipped %llu bytes",
			 (unsigned long long)skipped);
		ck_assert_str_eq(lines[0] + strlen(lines[0]) - strlen(tail),
				 tail);
	}
	free(data);
}
END_TEST

/* The reason names what is wrong. */
START_TEST(test_corruption_reasons)
{
	struct log_spec ls;
	make_spec(&ls, 4, 30);
	write_log(&ls);
	size_t n;
	char *data = slurp(&n);
	uint64_t off = ls.offs[2]; /* a middle record */
	static const struct {
		int pos;            /* byte of the record header */
		unsigned char mask;
		const char *why;
	} cases[] = {
		{ 0, 0x01, "checksum mismatch" },
		{ 7, 0xff, "bad record length" },   /* > WAL_MAX_PAYLOAD */
		{ 6, 0x01, "record runs past end of file" },
		{ 4, 0x01, "checksum mismatch" },   /* shorter by one */
		{ 8, 0x00, "bad record type 0" },   /* set below */
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char saved = data[off + cases[c].pos];
		if (cases[c].pos == 8)
			data[off + 8] = 0;
		else
			data[off + cases[c].pos] ^= (char)cases[c].mask;
		spit(data, n);
		data[off + cases[c].pos] = saved;
		clear_log();
		struct wal_reader *r = open_reader(LSM_WAL_RECOVERY_STRICT);
		expect_record(r, &ls, 0);
		expect_record(r, &ls, 1);
		ck_assert_int_eq(next_rc(r), -EIO);
		wal_reader_free(r);
		expect_one_line("lsm: corrupt record in '" WAL_NAME
				"' at offset %llu: %s",
				(unsigned long long)off, cases[c].why);
	}
	free(data);
}
END_TEST

/* SKIP mode over several damaged records and a torn tail. */
START_TEST(test_skip_many)
{
	struct log_spec ls;
	make_spec(&ls, 12, 80);
	write_log(&ls);
	size_t n;
	char *data = slurp(&n);
	/* damage records 0, 3, 4 (adjacent) and 9; tear the last one */
	data[ls.offs[0] + 20] ^= 0x10;
	data[ls.offs[3] + 2] ^= 0x10;
	data[ls.offs[4] + 12] ^= 0x10;
	data[ls.offs[9] + 5] ^= 0x10;
	spit(data, n - 7);

	struct wal_reader *r = open_reader(LSM_WAL_RECOVERY_SKIP);
	static const int good[] = { 1, 2, 5, 6, 7, 8, 10 };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		expect_record(r, &ls, good[i]);
	ck_assert_int_eq(next_rc(r), 0);
	uint64_t dropped = (ls.offs[1] - ls.offs[0]) +
			   (ls.offs[5] - ls.offs[3]) +
			   (ls.offs[10] - ls.offs[9]) +
			   (n - 7 - ls.offs[11]);
	ck_assert_uint_eq(wal_reader_dropped_bytes(r), dropped);
	wal_reader_free(r);
	ck_assert_int_eq(nlines, 4);
	expect_line_prefix(0, "lsm: corrupt record in '" WAL_NAME
			   "' at offset %llu: ", (unsigned long long)ls.offs[0]);
	expect_line_prefix(1, "lsm: corrupt record in '" WAL_NAME
			   "' at offset %llu: ", (unsigned long long)ls.offs[3]);
	expect_line_prefix(2, "lsm: corrupt record in '" WAL_NAME
			   "' at offset %llu: ", (unsigned long long)ls.offs[9]);
	expect_line_prefix(3, "lsm: dropped torn tail of '" WAL_NAME
			   "' at offset %llu (%llu bytes)",
			   (unsigned long long)ls.offs[11],
			   (unsigned long long)(n - 7 - ls.offs[11]));

	/* STRICT stops at the first one */
	clear_log();
	r = open_reader(LSM_WAL_RECOVERY_STRICT);
	ck_assert_int_eq(next_rc(r), -EIO);
	ck_assert_uint_eq(wal_reader_offset(r), ls.offs[0]);
	wal_reader_free(r);
	free(data);
}
END_TEST

/* Records larger than the read chunk: damage and tears inside them. */
START_TEST(test_big_record_damage)
{
	struct log_spec ls = { .n = 4 };
	static const size_t lens[] = { 100, 1 << 20, 700000, 50 };
	ls.offs[0] = WAL_HEADER_LEN;
	for (int i = 0; i < ls.n; i++) {
		ls.types[i] = WAL_RECORD_BATCH;
		ls.lens[i] = lens[i];
		ls.offs[i + 1] = ls.offs[i] + WAL_RECORD_HEADER_LEN + lens[i];
	}
	write_log(&ls);
	size_t n;
	char *data = slurp(&n);

	/* a flipped byte deep inside record 1 */
	data[ls.offs[1] + 600000] ^= 0x04;
	spit(data, n);
	struct wal_reader *r = open_reader(LSM_WAL_RECOVERY_STRICT);
	expect_record(r, &ls, 0);
	ck_assert_int_eq(next_rc(r), -EIO);
	ck_assert_uint_eq(wal_reader_offset(r), ls.offs[1]);
	wal_reader_free(r);
	clear_log();
	r = open_reader(LSM_WAL_RECOVERY_SKIP);
	expect_record(r, &ls, 0);
	expect_record(r, &ls, 2);
	expect_record(r, &ls, 3);
	ck_assert_int_eq(next_rc(r), 0);
	ck_assert_uint_eq(wal_reader_dropped_bytes(r),
			  ls.offs[2] - ls.offs[1]);
	wal_reader_free(r);
	data[ls.offs[1] + 600000] ^= 0x04;

	/* torn inside the 700000-byte record */
	spit(data, ls.offs[2] + 400000);
	clear_log();
	r = open_reader(LSM_WAL_RECOVERY_STRICT);
	expect_record(r, &ls, 0);
	expect_record(r, &ls, 1);
	ck_assert_int_eq(next_rc(r), 0);
	wal_reader_free(r);
	expect_one_line("lsm: dropped torn tail of '" WAL_NAME
			"' at offset %llu (400000 bytes)",
			(unsigned long long)ls.offs[2]);
	free(data);
}
END_TEST

/* ---- writer ---- */

START_TEST(test_writer_rejects)
{
	struct wal_writer *w;
	ck_assert_int_eq(wal_writer_new(env_posix(), path, WAL_MAGIC, &w), 0);
	ck_assert_int_eq(wal_writer_add(w, 0, slice_make("x", 1)), -EINVAL);
	char one = 'x';
	/* the length is checked before the bytes are touched */
	ck_assert_int_eq(wal_writer_add(w, 1, slice_make(&one,
				WAL_MAX_PAYLOAD + (size_t)1)), -EINVAL);
	/* argument errors leave the file alone and the writer usable */
	ck_assert_uint_eq(wal_writer_size(w), WAL_HEADER_LEN);
	ck_assert_int_eq(wal_writer_add(w, 255, slice_make(NULL, 0)), 0);
	ck_assert_int_eq(wal_writer_sync(w), 0);
	ck_assert_int_eq(wal_writer_close(w), 0);
	ck_assert_int_eq(wal_writer_close(NULL), 0);

	struct wal_reader *r = open_reader(LSM_WAL_RECOVERY_STRICT);
	uint8_t type;
	struct slice pl;
	ck_assert_int_eq(wal_reader_next(r, &type, &pl), 1);
	ck_assert_uint_eq(type, 255);
	ck_assert_uint_eq(pl.len, 0);
	ck_assert_int_eq(wal_reader_next(r, &type, &pl), 0);
	wal_reader_free(r);
	wal_reader_free(NULL);
}
END_TEST

/* A wrapping env whose Nth append (or sync) fails. */
struct fault_env {
	struct lsm_env base;
	struct lsm_env *inner;
	int appends, fail_append_at; /* 1-based; 0: never */
	int syncs, fail_sync_at;
	int torn;                    /* write half of the failing append */
	int err;
};

struct fault_wfile {
	struct env_wfile base;
	struct env_wfile *inner;
};

static int fault_new_wfile(struct lsm_env *env, const char *p,
			   struct env_wfile **out)
{
	struct fault_env *fe = (struct fault_env *)env;
	struct fault_wfile *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	int rc = fe->inner->new_wfile(fe->inner, p, &f->inner);
	if (rc) {
		free(f);
		return rc;
	}
	f->base.env = env;
	*out = &f->base;
	return 0;
}

static int fault_append(struct env_wfile *wf, const void *data, size_t n)
{
	struct fault_wfile *f = (struct fault_wfile *)wf;
	struct fault_env *fe = (struct fault_env *)wf->env;
	if (++fe->appends == fe->fail_append_at) {
		if (fe->torn)
			fe->inner->wfile_append(f->inner, data, n / 2);
		return fe->err;
	}
	return fe->inner->wfile_append(f->inner, data, n);
}

static int fault_sync(struct env_wfile *wf)
{
	struct fault_wfile *f = (struct fault_wfile *)wf;
	struct fault_env *fe = (struct fault_env *)wf->env;
	if (++fe->syncs == fe->fail_sync_at)
		return fe->err;
	return fe->inner->wfile_sync(f->inner);
}

static int fault_close(struct env_wfile *wf)
{
	struct fault_wfile *f = (struct fault_wfile *)wf;
	struct fault_env *fe = (struct fault_env *)wf->env;
	int rc = fe->inner->wfile_close(f->inner);
	free(f);
	return rc;
}

static void fault_env_init(struct fault_env *fe)
{
	memset(fe, 0, sizeof *fe);
	fe->inner = env_posix();
	fe->base = *fe->inner;
	fe->base.new_wfile = fault_new_wfile;
	fe->base.wfile_append = fault_append;
	fe->base.wfile_sync = fault_sync;
	fe->base.wfile_close = fault_close;
}

START_TEST(test_writer_header_fails)
{
	struct fault_env fe;
	fault_env_init(&fe);
	fe.fail_append_at = 1;
	fe.err = -ENOSPC;
	struct wal_writer *w = NULL;
	ck_assert_int_eq(wal_writer_new(&fe.base, path, WAL_MAGIC, &w),
			 -ENOSPC);
	ck_assert_ptr_null(w);
	/* the empty file reads as an empty log */
	struct wal_reader *r = open_reader(LSM_WAL_RECOVERY_STRICT);
	ck_assert_int_eq(next_rc(r), 0);
	wal_reader_free(r);
	ck_assert_int_eq(nlines, 0);

	char missing[160];
	snprintf(missing, sizeof missing, "%s/no/such/dir.wal", dir);
	ck_assert_int_eq(wal_writer_new(&fe.base, missing, WAL_MAGIC, &w),
			 -ENOENT);
}
END_TEST

static void sticky_append_case(int torn)
{
	struct fault_env fe;
	fault_env_init(&fe);
	fe.fail_append_at = 5; /* the header, three records, then fail */
	fe.torn = torn;
	fe.err = -ENOSPC;
	struct log_spec ls;
	make_spec(&ls, 3, 40);
	char p[256];

	struct wal_writer *w;
	ck_assert_int_eq(wal_writer_new(&fe.base, path, WAL_MAGIC, &w), 0);
	for (int i = 0; i < 3; i++) {
		fill(p, ls.lens[i], (uint64_t)i);
		ck_assert_int_eq(wal_writer_add(w, ls.types[i],
						slice_make(p, ls.lens[i])), 0);
	}
	ck_assert_int_eq(wal_writer_sync(w), 0);
	ck_assert_uint_eq(wal_writer_syncs(w), 1);
	ck_assert_int_eq(wal_writer_add(w, 1, slice_make(p, 200)), -ENOSPC);
	ck_assert_uint_eq(wal_writer_size(w), ls.offs[3]);
	/* sticky: nothing more reaches the env */
	ck_assert_int_eq(wal_writer_add(w, 1, slice_make(p, 10)), -ENOSPC);
	ck_assert_int_eq(wal_writer_add(w, 1, slice_make(p, 0)), -ENOSPC);
	ck_assert_int_eq(wal_writer_sync(w), -ENOSPC);
	ck_assert_int_eq(fe.appends, 5);
	ck_assert_int_eq(fe.syncs, 1);
	ck_assert_uint_eq(wal_writer_syncs(w), 1);
	ck_assert_uint_eq(wal_writer_size(w), ls.offs[3]);
	ck_assert_int_eq(wal_writer_close(w), -ENOSPC);

	/* what was written before the failure survives; a torn append is
	 * a torn tail */
	struct wal_reader *r = open_reader(LSM_WAL_RECOVERY_STRICT);
	for (int i = 0; i < 3; i++)
		expect_record(r, &ls, i);
	ck_assert_int_eq(next_rc(r), 0);
	ck_assert_uint_eq(wal_reader_dropped_bytes(r),
			  torn ? (WAL_RECORD_HEADER_LEN + 200) / 2 : 0);
	wal_reader_free(r);
	if (torn)
		expect_one_line("lsm: dropped torn tail of '" WAL_NAME
				"' at offset %llu (%d bytes)",
				(unsigned long long)ls.offs[3],
				(WAL_RECORD_HEADER_LEN + 200) / 2);
	else
		ck_assert_int_eq(nlines, 0);
}

START_TEST(test_writer_sticky_append)
{
	sticky_append_case(0);
}
END_TEST

START_TEST(test_writer_sticky_torn_append)
{
	sticky_append_case(1);
}
END_TEST

START_TEST(test_writer_sticky_sync)
{
	struct fault_env fe;
	fault_env_init(&fe);
	fe.fail_sync_at = 2;
	fe.err = -EIO;
	struct wal_writer *w;
	ck_assert_int_eq(wal_writer_new(&fe.base, path, WAL_MAGIC, &w), 0);
	ck_assert_int_eq(wal_writer_add(w, 1, slice_make("a", 1)), 0);
	ck_assert_int_eq(wal_writer_sync(w), 0);
	ck_assert_int_eq(wal_writer_add(w, 1, slice_make("b", 1)), 0);
	ck_assert_int_eq(wal_writer_sync(w), -EIO);
	/* a failed fsync is never retried, and later writes fail too */
	ck_assert_int_eq(wal_writer_sync(w), -EIO);
	ck_assert_int_eq(wal_writer_add(w, 1, slice_make("c", 1)), -EIO);
	ck_assert_int_eq(fe.syncs, 2);
	ck_assert_int_eq(fe.appends, 3);
	ck_assert_uint_eq(wal_writer_syncs(w), 1);
	ck_assert_uint_eq(wal_writer_size(w),
			  WAL_HEADER_LEN + 2 * (WAL_RECORD_HEADER_LEN + 1));
	ck_assert_int_eq(wal_writer_close(w), -EIO);
}
END_TEST

/* ---- wal_dump ---- */

static char *dump_to_string(int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	*rc = wal_dump(env_posix(), path, out);
	fclose(out);
	return text;
}

START_TEST(test_dump)
{
	struct lsm_batch *b;
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	ck_assert_int_eq(lsm_batch_put(b, "a\0b", 3, "hello", 5), 0);
	ck_assert_int_eq(lsm_batch_delete(b, "it's\\\n", 6), 0);
	ck_assert_int_eq(lsm_batch_put(b, "", 0, "", 0), 0);
	batch_set_sequence(b, 100);

	struct wal_writer *w;
	ck_assert_int_eq(wal_writer_new(env_posix(), path, WAL_MAGIC, &w), 0);
	ck_assert_int_eq(wal_writer_add(w, WAL_RECORD_BATCH,
					buf_slice(&b->rep)), 0);
	uint64_t off1 = wal_writer_size(w);
	ck_assert_int_eq(wal_writer_add(w, 7, slice_make("xyz", 3)), 0);
	uint64_t off2 = wal_writer_size(w);
	lsm_batch_clear(b);
	ck_assert_int_eq(lsm_batch_delete(b, "k", 1), 0);
	batch_set_sequence(b, 103);
	ck_assert_int_eq(wal_writer_add(w, WAL_RECORD_BATCH,
					buf_slice(&b->rep)), 0);
	uint64_t off3 = wal_writer_size(w);
	/* a record whose checksum is fine but whose batch is not */
	ck_assert_int_eq(wal_writer_add(w, WAL_RECORD_BATCH,
					slice_make("short", 5)), 0);
	ck_assert_int_eq(wal_writer_close(w), 0);

	char want[1024];
	snprintf(want, sizeof want,
		 "'%s': magic LSMWAL01\n"
		 "offset 8 length %llu type 1 (batch) seq 100 count 3\n"
		 "  seq 100 put key 'a\\x00b' value 5 bytes\n"
		 "  seq 101 delete key 'it\\x27s\\x5c\\x0a'\n"
		 "  seq 102 put key '' value 0 bytes\n"
		 "offset %llu length 3 type 7 (unknown)\n"
		 "offset %llu length %llu type 1 (batch) seq 103 count 1\n"
		 "  seq 103 delete key 'k'\n"
		 "offset %llu length 5 type 1 (batch)\n"
		 "  malformed batch: 5 bytes, shorter than its header\n"
		 "end: 4 records, 0 bytes dropped\n",
		 path,
		 (unsigned long long)(off1 - 8 - WAL_RECORD_HEADER_LEN),
		 (unsigned long long)off1, (unsigned long long)off2,
		 (unsigned long long)(off3 - off2 - WAL_RECORD_HEADER_LEN),
		 (unsigned long long)off3);
	int rc;
	char *text = dump_to_string(&rc);
	ck_assert_str_eq(text, want);
	ck_assert_int_eq(rc, -EIO);
	free(text);

	/* damage in the middle: what comes before is printed */
	size_t n;
	char *data = slurp(&n);
	data[off1 + 10] ^= 1;
	spit(data, n);
	text = dump_to_string(&rc);
	ck_assert_int_eq(rc, -EIO);
	ck_assert_ptr_nonnull(strstr(text, "  seq 102 put key '' value 0 "
					   "bytes\n"));
	snprintf(want, sizeof want,
		 "error: reading stopped at offset %llu: ",
		 (unsigned long long)off1);
	ck_assert_ptr_nonnull(strstr(text, want));
	ck_assert_ptr_null(strstr(text, "type 7"));
	free(text);
	expect_line_prefix(0, "lsm: corrupt record in '" WAL_NAME
			   "' at offset %llu: ", (unsigned long long)off1);

	/* a clean log with a torn tail dumps fine */
	spit(data, off1 + 4);
	text = dump_to_string(&rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(text, "end: 1 records, 4 bytes "
					   "dropped\n"));
	free(text);

	unlink(path);
	text = dump_to_string(&rc);
	ck_assert_int_eq(rc, -ENOENT);
	free(text);
	free(data);
	lsm_batch_free(b);
}
END_TEST

static Suite *wal_suite(void)
{
	Suite *s = suite_create("wal");
	TCase *tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_manifest_magic);
	tcase_add_test(tc, test_empty_log);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_wrong_magic);
	suite_add_tcase(s, tc);

	tc = tcase_create("recovery");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_torn_tail_every_offset);
	tcase_add_test(tc, test_zero_tail);
	tcase_add_test(tc, test_last_record_flip);
	tcase_add_test(tc, test_mid_corruption_strict);
	tcase_add_test(tc, test_mid_corruption_skip);
	tcase_add_test(tc, test_corruption_reasons);
	tcase_add_test(tc, test_skip_many);
	tcase_add_test(tc, test_big_record_damage);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_writer_rejects);
	tcase_add_test(tc, test_writer_header_fails);
	tcase_add_test(tc, test_writer_sticky_append);
	tcase_add_test(tc, test_writer_sticky_torn_append);
	tcase_add_test(tc, test_writer_sticky_sync);
	suite_add_tcase(s, tc);

	tc = tcase_create("dump");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_dump);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run("check_wal", wal_suite());
}
