/*
 * check_fuzz_corpus.c - replays the committed fuzz corpora (seeds and the
 * regress-* inputs of crashes that fuzzing found) through the fuzz targets
 * of tests/fuzz/, built here without libFuzzer, so `make check` (under ASan
 * in CI) keeps every crash fixed. tests/fuzz/run.sh does the fuzzing.
 *
 * The corpora are found under $top_srcdir/tests/fuzz/corpus (or
 * ./tests/fuzz/corpus). Each target's entry point is renamed on inclusion.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define LLVMFuzzerTestOneInput fuzz_wal_one
#include "fuzz/fuzz_wal.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_sst_one
#include "fuzz/fuzz_sst.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_manifest_one
#include "fuzz/fuzz_manifest.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_batch_one
#include "fuzz/fuzz_batch.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_keyspace_one
#include "fuzz/fuzz_keyspace.c"
#undef LLVMFuzzerTestOneInput

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static const struct {
	const char *name;
	fuzz_fn fn;
} targets[] = {
	{ "wal", fuzz_wal_one },
	{ "sst", fuzz_sst_one },
	{ "manifest", fuzz_manifest_one },
	{ "batch", fuzz_batch_one },
	{ "keyspace", fuzz_keyspace_one },
};

static void corpus_dir(char *out, size_t n, const char *target)
{
	const char *top = getenv("top_srcdir");
	snprintf(out, n, "%s/tests/fuzz/corpus/%s", top ? top : ".", target);
}

/* Feeds every file of the target's corpus to it; returns how many. */
static int replay(int t)
{
	char dir[1024];
	corpus_dir(dir, sizeof dir, targets[t].name);
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "no corpus at '%s' (set top_srcdir)", dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1400];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		ck_assert_ptr_nonnull(f);
		fseek(f, 0, SEEK_END);
		long len = ftell(f);
		fseek(f, 0, SEEK_SET);
		uint8_t *data = malloc((size_t)len + 1);
		ck_assert_ptr_nonnull(data);
		ck_assert_uint_eq(fread(data, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		targets[t].fn(data, (size_t)len);
		free(data);
		n++;
	}
	closedir(d);
	return n;
}

START_TEST(test_corpus)
{
	int n = replay(_i);
	printf("%s: %d inputs replayed\n", targets[_i].name, n);
	ck_assert_int_ge(n, 3);
}
END_TEST

/* Random bytes and mutations of the seeds, a few hundred per target: a
 * little fuzzing even without clang. */
START_TEST(test_mutations)
{
	char dir[1024];
	corpus_dir(dir, sizeof dir, targets[_i].name);
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(_i + 1);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1400];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		ck_assert_ptr_nonnull(f);
		uint8_t buf[8192];
		size_t len = fread(buf, 1, sizeof buf, f);
		fclose(f);
		for (int round = 0; round < 60; round++) {
			uint8_t *m = malloc(len + 16);
			ck_assert_ptr_nonnull(m);
			memcpy(m, buf, len);
			size_t mlen = len;
			for (int k = 0; k < 1 + round % 4 && mlen; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				size_t at = 1 + (size_t)(x % (mlen > 1 ? mlen - 1 : 1));
				if (at >= mlen)
					at = mlen - 1;
				switch ((x >> 32) % 3) {
				case 0:
					m[at] ^= (uint8_t)(1u << ((x >> 40) % 8));
					break;
				case 1:
					m[at] = (uint8_t)(x >> 48);
					break;
				default:
					mlen = at + 1; /* truncate */
					break;
				}
			}
			targets[_i].fn(m, mlen);
			free(m);
		}
	}
	closedir(d);
}
END_TEST

static Suite *corpus_suite(void)
{
	Suite *s = suite_create("fuzz_corpus");
	TCase *tc = tcase_create("replay");
	tcase_set_timeout(tc, 120);
	int n = (int)(sizeof targets / sizeof targets[0]);
	tcase_add_loop_test(tc, test_corpus, 0, n);
	tcase_add_loop_test(tc, test_mutations, 0, n);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run("check_fuzz_corpus", corpus_suite());
}
