/*
 * check_version.c - tests for engine/version_edit.c, engine/version.c,
 * engine/version_set.c and engine/manifest_dump.c: edit encoding, the
 * MANIFEST and CURRENT (recovery, torn tails, corruption, sticky write
 * errors, rolling), version reference counting, overlap queries and scores,
 * and the read path across levels over real SSTables.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block_cache.h"
#include "dbformat.h"
#include "env.h"
#include "filename.h"
#include "iterator.h"
#include "lsm.h"
#include "manifest_format.h"
#include "sst_builder.h"
#include "table_cache.h"
#include "version.h"
#include "version_edit.h"
#include "wal_format.h"
#include "wal_writer.h"
#include "testutil.h"

/* ---- helpers ---- */

static char dir[256];
static struct lsm_options opt;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Log lines are captured so that tests can check what was said. */
static char logbuf[16384];
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void capture_log(void *ctx, const char *line)
{
	(void)ctx;
	pthread_mutex_lock(&log_mu);
	size_t n = strlen(logbuf);
	snprintf(logbuf + n, sizeof logbuf - n, "%s\n", line);
	pthread_mutex_unlock(&log_mu);
}

static void options_for_tests(struct lsm_options *o)
{
	memset(o, 0, sizeof *o);
	o->write_buffer_size = 4 << 20;
	o->max_immutable_memtables = 2;
	o->block_size = 256; /* small: tables span several blocks */
	o->compression = LSM_COMPRESSION_NONE;
	o->compression_level = 3;
	o->bloom_bits_per_key = 10;
	o->block_cache_size = 1 << 20;
	o->max_open_files = 100;
	o->l0_compaction_trigger = 4;
	o->l0_slowdown_trigger = 8;
	o->l0_stop_trigger = 12;
	o->l1_target_size = 10000;
	o->level_size_ratio = 10;
	o->target_file_size = 2 << 20;
	o->create_if_missing = 1;
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_version.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	options_for_tests(&opt);
	logbuf[0] = '\0';
	lsm_set_log_handler(capture_log, NULL);
}

static void teardown(void)
{
	char **names;
	size_t count;
	struct lsm_env *env = env_posix();
	if (env->list_dir(env, dir, &names, &count) == 0) {
		for (size_t i = 0; i < count; i++) {
			char path[FILENAME_MAX_LEN];
			snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			unlink(path);
		}
		env_free_names(names, count);
	}
	rmdir(dir);
	lsm_set_log_handler(NULL, NULL);
}

static bool log_has(const char *needle)
{
	pthread_mutex_lock(&log_mu);
	bool r = strstr(logbuf, needle) != NULL;
	pthread_mutex_unlock(&log_mu);
	return r;
}

static struct slice ikey(struct buf *b, const char *ukey, uint64_t seq,
			 enum entry_type t)
{
	buf_clear(b);
	ck_assert_int_eq(ikey_append(b, ukey, strlen(ukey), seq, t), 0);
	return buf_slice(b);
}

/* A file_meta for tests (no table on disk): range [lo, hi] of user keys,
 * sequence numbers [seq, seq + 9]. */
static struct file_meta *fm(uint64_t number, const char *lo, const char *hi,
			    uint64_t size, uint64_t seq)
{
	struct file_meta *f;
	ck_assert_int_eq(file_meta_new(&f), 0);
	f->number = number;
	f->file_size = size;
	ck_assert_int_eq(
		ikey_append(&f->smallest, lo, strlen(lo), seq + 9, TYPE_VALUE),
		0);
	ck_assert_int_eq(
		ikey_append(&f->largest, hi, strlen(hi), seq, TYPE_DELETE), 0);
	f->entries = 10 + number;
	f->tombstones = number % 3;
	f->min_seq = seq;
	f->max_seq = seq + 9;
	f->created_unix = 1700000000 + number;
	f->reason = (uint32_t)(1 + number % 2);
	return f;
}

static void edit_add(struct version_edit *e, int level, struct file_meta *f)
{
	ck_assert_int_eq(version_edit_add_file(e, level, f), 0);
	file_meta_unref(f);
}

static void assert_meta_eq(const struct file_meta *a, const struct file_meta *b)
{
	ck_assert_uint_eq(a->number, b->number);
	ck_assert_uint_eq(a->file_size, b->file_size);
	ck_assert(slice_eq(buf_slice(&a->smallest), buf_slice(&b->smallest)));
	ck_assert(slice_eq(buf_slice(&a->largest), buf_slice(&b->largest)));
	ck_assert_uint_eq(a->entries, b->entries);
	ck_assert_uint_eq(a->tombstones, b->tombstones);
	ck_assert_uint_eq(a->min_seq, b->min_seq);
	ck_assert_uint_eq(a->max_seq, b->max_seq);
	ck_assert_uint_eq(a->created_unix, b->created_unix);
	ck_assert_uint_eq(a->reason, b->reason);
}

static void assert_versions_eq(const struct version *a, const struct version *b)
{
	for (int level = 0; level < LSM_NUM_LEVELS; level++) {
		ck_assert_int_eq(a->nfiles[level], b->nfiles[level]);
		for (int i = 0; i < a->nfiles[level]; i++)
			assert_meta_eq(a->files[level][i], b->files[level][i]);
	}
}

/* The file numbers of a level, "1,2,3". */
static const char *level_numbers(const struct version *v, int level)
{
	static char s[512];
	s[0] = '\0';
	for (int i = 0; i < v->nfiles[level]; i++) {
		size_t n = strlen(s);
		snprintf(s + n, sizeof s - n, "%s%" PRIu64, i ? "," : "",
			 v->files[level][i]->number);
	}
	return s;
}

static struct version_set *vs_open(struct lsm_env *env)
{
	struct version_set *vs;
	ck_assert_int_eq(
		version_set_new(env ? env : env_posix(), dir, &opt, NULL, &vs),
		0);
	return vs;
}

static struct version_set *vs_create(void)
{
	struct version_set *vs = vs_open(NULL);
	ck_assert_int_eq(version_set_create(vs), 0);
	return vs;
}

static struct version_set *vs_recover(void)
{
	struct version_set *vs = vs_open(NULL);
	ck_assert_int_eq(version_set_recover(vs), 0);
	return vs;
}

static int apply(struct version_set *vs, struct version_edit *e)
{
	pthread_mutex_lock(&mu);
	int rc = version_set_log_and_apply(vs, e, &mu);
	pthread_mutex_unlock(&mu);
	version_edit_release(e);
	return rc;
}

static uint64_t new_number(struct version_set *vs)
{
	pthread_mutex_lock(&mu);
	uint64_t n = version_set_new_file_number(vs);
	pthread_mutex_unlock(&mu);
	return n;
}

static char *path_in_dir(char *out, const char *name)
{
	snprintf(out, FILENAME_MAX_LEN, "%s/%s", dir, name);
	return out;
}

static void read_current(char *out, size_t n)
{
	char path[FILENAME_MAX_LEN];
	FILE *f = fopen(path_in_dir(path, "CURRENT"), "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(out, (int)n, f));
	fclose(f);
}

static bool manifest_exists(uint64_t number)
{
	char path[FILENAME_MAX_LEN];
	return access(filename_manifest(path, dir, number), F_OK) == 0;
}

/* ---- edits ---- */

static void full_edit(struct version_edit *e)
{
	struct buf k = BUF_INIT;
	version_edit_init(e);
	version_edit_set_log_number(e, 7);
	version_edit_set_next_file_number(e, 300);
	version_edit_set_last_sequence(e, UINT64_C(1) << 50);
	ck_assert_int_eq(version_edit_set_compact_pointer(
				 e, 1, ikey(&k, "pointer", 5, TYPE_VALUE)),
			 0);
	ck_assert_int_eq(version_edit_set_compact_pointer(
				 e, 6, ikey(&k, "", 0, TYPE_DELETE)),
			 0);
	ck_assert_int_eq(version_edit_delete_file(e, 0, 12), 0);
	ck_assert_int_eq(version_edit_delete_file(e, 3, 200000), 0);
	edit_add(e, 0, fm(21, "a", "m", 4096, 100));
	edit_add(e, 2, fm(22, "b\x00\xff", "b\x01", 1, 1));
	edit_add(e, 6, fm(23, "zz", "zz", UINT64_MAX, SEQ_MAX - 9));
	buf_release(&k);
}

START_TEST(test_edit_roundtrip)
{
	struct version_edit e, d;
	struct buf enc = BUF_INIT, enc2 = BUF_INIT;
	full_edit(&e);
	version_edit_init(&d);
	ck_assert_int_eq(version_edit_encode(&e, &enc), 0);
	ck_assert_int_eq(version_edit_decode(&d, buf_slice(&enc)), 0);

	ck_assert(d.has_log_number && d.has_next_file_number &&
		  d.has_last_sequence);
	ck_assert_uint_eq(d.log_number, 7);
	ck_assert_uint_eq(d.next_file_number, 300);
	ck_assert_uint_eq(d.last_sequence, UINT64_C(1) << 50);
	ck_assert_uint_eq(d.ncptrs, 2);
	ck_assert_int_eq(d.cptrs[0].level, 1);
	ck_assert(slice_eq(buf_slice(&d.cptrs[0].ikey),
			   buf_slice(&e.cptrs[0].ikey)));
	ck_assert_int_eq(d.cptrs[1].level, 6);
	ck_assert_uint_eq(d.ndeleted, 2);
	ck_assert_int_eq(d.deleted[1].level, 3);
	ck_assert_uint_eq(d.deleted[1].number, 200000);
	ck_assert_uint_eq(d.nadded, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(d.added[i].level, e.added[i].level);
		assert_meta_eq(d.added[i].f, e.added[i].f);
		ck_assert_int_eq(d.added[i].f->refs, 1);
	}
	/* re-encoding gives the same bytes */
	ck_assert_int_eq(version_edit_encode(&d, &enc2), 0);
	ck_assert(slice_eq(buf_slice(&enc), buf_slice(&enc2)));

	/* an empty edit is the end tag alone */
	struct version_edit empty;
	version_edit_init(&empty);
	buf_clear(&enc);
	ck_assert_int_eq(version_edit_encode(&empty, &enc), 0);
	ck_assert_uint_eq(enc.len, 1);
	ck_assert_int_eq(version_edit_decode(&d, buf_slice(&enc)), 0);
	ck_assert(!d.has_log_number && d.nadded == 0 && d.ndeleted == 0);

	/* decoding replaces what the edit held */
	ck_assert_int_eq(version_edit_decode(&d, buf_slice(&enc2)), 0);
	ck_assert_uint_eq(d.nadded, 3);

	version_edit_release(&e);
	version_edit_release(&d);
	buf_release(&enc);
	buf_release(&enc2);
}
END_TEST

START_TEST(test_edit_truncation)
{
	struct version_edit e, d;
	struct buf enc = BUF_INIT;
	full_edit(&e);
	version_edit_init(&d);
	ck_assert_int_eq(version_edit_encode(&e, &enc), 0);
	for (size_t n = 0; n < enc.len; n++) {
		int rc = version_edit_decode(&d, slice_make(enc.data, n));
		ck_assert_msg(rc == -EIO, "prefix of %zu/%zu bytes gave %d", n,
			      enc.len, rc);
		ck_assert(!d.has_log_number && d.nadded == 0);
	}
	/* one byte too many */
	ck_assert_int_eq(buf_append_byte(&enc, 0), 0);
	ck_assert_int_eq(version_edit_decode(&d, buf_slice(&enc)), -EIO);
	version_edit_release(&e);
	buf_release(&enc);
}
END_TEST

/* Decodes the bytes of a hand-made edit. */
static int decode_raw(struct buf *raw)
{
	struct version_edit d;
	version_edit_init(&d);
	int rc = version_edit_decode(&d, buf_slice(raw));
	version_edit_release(&d);
	buf_clear(raw);
	return rc;
}

START_TEST(test_edit_malformed)
{
	struct buf raw = BUF_INIT, k = BUF_INIT;

	/* unknown tag */
	buf_put_varint32(&raw, 99);
	buf_put_varint64(&raw, 1);
	buf_put_varint32(&raw, EDIT_TAG_END);
	ck_assert_int_eq(decode_raw(&raw), -EIO);

	/* a level past the last one */
	buf_put_varint32(&raw, EDIT_TAG_DELETE_FILE);
	buf_put_varint32(&raw, LSM_NUM_LEVELS);
	buf_put_varint64(&raw, 5);
	buf_put_varint32(&raw, EDIT_TAG_END);
	ck_assert_int_eq(decode_raw(&raw), -EIO);

	/* a compaction pointer shorter than an internal key */
	buf_put_varint32(&raw, EDIT_TAG_COMPACT_PTR);
	buf_put_varint32(&raw, 1);
	buf_put_lenprefixed(&raw, "short", 5);
	buf_put_varint32(&raw, EDIT_TAG_END);
	ck_assert_int_eq(decode_raw(&raw), -EIO);

	/* a file whose smallest key sorts after its largest */
	struct file_meta *f = fm(9, "z", "a", 10, 1);
	struct version_edit e;
	version_edit_init(&e);
	edit_add(&e, 1, f);
	ck_assert_int_eq(version_edit_encode(&e, &raw), 0);
	ck_assert_int_eq(decode_raw(&raw), -EIO);
	version_edit_release(&e);

	/* a varint that never ends */
	buf_put_varint32(&raw, EDIT_TAG_LOG_NUMBER);
	for (int i = 0; i < 11; i++)
		buf_append_byte(&raw, 0xff);
	buf_put_varint32(&raw, EDIT_TAG_END);
	ck_assert_int_eq(decode_raw(&raw), -EIO);

	/* well-formed by hand, for contrast */
	buf_put_varint32(&raw, EDIT_TAG_COMPACT_PTR);
	buf_put_varint32(&raw, 2);
	ikey(&k, "ok", 1, TYPE_VALUE);
	buf_put_lenprefixed(&raw, k.data, k.len);
	buf_put_varint32(&raw, EDIT_TAG_END);
	ck_assert_int_eq(decode_raw(&raw), 0);

	/* bad arguments to the builders */
	version_edit_init(&e);
	f = fm(9, "a", "b", 10, 1);
	ck_assert_int_eq(version_edit_add_file(&e, LSM_NUM_LEVELS, f), -EINVAL);
	ck_assert_int_eq(version_edit_delete_file(&e, -1, 3), -EINVAL);
	ck_assert_int_eq(version_edit_set_compact_pointer(&e, 7, buf_slice(&k)),
			 -EINVAL);
	ck_assert_int_eq(f->refs, 1);
	file_meta_unref(f);
	version_edit_release(&e);
	buf_release(&raw);
	buf_release(&k);
}
END_TEST

/* ---- MANIFEST, CURRENT and recovery ---- */

START_TEST(test_create_apply_recover)
{
	struct version_set *vs = vs_create();
	struct version_edit e;
	struct buf k = BUF_INIT;
	uint64_t first_manifest = version_set_manifest_number(vs);
	char cur[64];

	ck_assert_uint_eq(first_manifest, 1);
	read_current(cur, sizeof cur);
	ck_assert_str_eq(cur, "MANIFEST-000001\n");

	/* three flushes into L0 */
	uint64_t n[10];
	for (int i = 0; i < 3; i++) {
		n[i] = new_number(vs);
		version_edit_init(&e);
		edit_add(&e, 0, fm(n[i], "a", "z", 1000 + i, 100 * (i + 1)));
		version_edit_set_log_number(&e, n[i]);
		version_set_set_last_sequence(vs, 100 * (i + 1) + 9);
		ck_assert_int_eq(apply(vs, &e), 0);
	}
	struct version *v = version_set_current(vs);
	ck_assert_int_eq(v->nfiles[0], 3);
	/* newest (highest max_seq) first */
	ck_assert_uint_eq(v->files[0][0]->number, n[2]);
	ck_assert_uint_eq(v->files[0][2]->number, n[0]);
	ck_assert_uint_eq(version_set_log_number(vs), n[2]);

	/* a compaction: L0 -> three disjoint L1 tables, one moved to L2 */
	for (int i = 3; i < 6; i++)
		n[i] = new_number(vs);
	version_edit_init(&e);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(version_edit_delete_file(&e, 0, n[i]), 0);
	edit_add(&e, 1, fm(n[5], "q", "z", 30, 10));
	edit_add(&e, 1, fm(n[3], "a", "h", 10, 10));
	edit_add(&e, 1, fm(n[4], "i", "p", 20, 10));
	ck_assert_int_eq(version_edit_set_compact_pointer(
				 &e, 0, ikey(&k, "z", 300, TYPE_VALUE)),
			 0);
	ck_assert_int_eq(apply(vs, &e), 0);
	version_edit_init(&e);
	ck_assert_int_eq(version_edit_delete_file(&e, 1, n[4]), 0);
	edit_add(&e, 2, file_meta_ref(version_set_current(vs)->files[1][1]));
	ck_assert_int_eq(version_edit_set_compact_pointer(
				 &e, 1, ikey(&k, "p", 10, TYPE_DELETE)),
			 0);
	ck_assert_int_eq(apply(vs, &e), 0);
	version_set_set_last_sequence(vs, 777);

	v = version_set_current(vs);
	ck_assert_int_eq(v->nfiles[0], 0);
	ck_assert_int_eq(v->nfiles[1], 2);
	ck_assert_uint_eq(v->files[1][0]->number, n[3]);
	ck_assert_uint_eq(v->files[1][1]->number, n[5]);
	ck_assert_int_eq(v->nfiles[2], 1);
	ck_assert_uint_eq(v->files[2][0]->number, n[4]);
	ck_assert_uint_eq(version_level_bytes(v, 1), 40);
	ck_assert_uint_eq(version_level_bytes(v, 2), 20);
	uint64_t next = new_number(vs);
	uint64_t log_number = version_set_log_number(vs);

	/* recover in a new set: same files, counters and pointers */
	struct version_set *vs2 = vs_recover();
	assert_versions_eq(version_set_current(vs2), v);
	ck_assert_uint_eq(version_set_log_number(vs2), log_number);
	/* the last sequence is what the last edit recorded (777 was never
	 * logged) */
	ck_assert_uint_eq(version_set_last_sequence(vs2), 309);
	ck_assert_uint_ge(version_set_new_file_number(vs2), next);
	ck_assert(slice_eq(version_set_compact_pointer(vs2, 0),
			   ikey(&k, "z", 300, TYPE_VALUE)));
	ck_assert(slice_eq(version_set_compact_pointer(vs2, 1),
			   ikey(&k, "p", 10, TYPE_DELETE)));
	ck_assert_uint_eq(version_set_compact_pointer(vs2, 2).len, 0);

	/* recovery started a new manifest and retired the old one */
	uint64_t m2 = version_set_manifest_number(vs2);
	ck_assert_uint_ge(m2, next);
	ck_assert(manifest_exists(m2));
	ck_assert(!manifest_exists(first_manifest));
	read_current(cur, sizeof cur);
	char want[64];
	snprintf(want, sizeof want, "MANIFEST-%06" PRIu64 "\n", m2);
	ck_assert_str_eq(cur, want);
	version_set_free(vs);

	/* edits after recovery land in the new manifest; recover again */
	version_edit_init(&e);
	edit_add(&e, 0, fm(new_number(vs2), "c", "d", 5, 900));
	ck_assert_int_eq(apply(vs2, &e), 0);
	struct version_set *vs3 = vs_recover();
	assert_versions_eq(version_set_current(vs3), version_set_current(vs2));
	ck_assert(!manifest_exists(m2));

	/* manifest_dump prints every edit */
	char mpath[FILENAME_MAX_LEN], *text = NULL;
	size_t textlen = 0;
	FILE *out = open_memstream(&text, &textlen);
	ck_assert_int_eq(
		manifest_dump(
			env_posix(),
			filename_manifest(mpath, dir,
					  version_set_manifest_number(vs3)),
			out),
		0);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(text, "record 1 at offset 8"));
	ck_assert_ptr_nonnull(strstr(text, "snapshot"));
	ck_assert_ptr_nonnull(
		strstr(text, "compact_pointer L1 'p' @ 10 delete"));
	ck_assert_ptr_nonnull(strstr(text, "smallest 'c' @ 909 value"));
	ck_assert_ptr_nonnull(strstr(text, "reason"));
	free(text);
	ck_assert_int_eq(
		manifest_dump(env_posix(), "/nonexistent/MANIFEST-1", stdout),
		-ENOENT);

	version_set_free(vs2);
	version_set_free(vs3);
	buf_release(&k);
}
END_TEST

START_TEST(test_no_current)
{
	struct version_set *vs = vs_open(NULL);
	ck_assert_int_eq(version_set_recover(vs), -ENOENT);
	version_set_free(vs);

	/* a set neither created nor recovered refuses edits */
	vs = vs_open(NULL);
	struct version_edit e;
	version_edit_init(&e);
	ck_assert_int_eq(apply(vs, &e), -EINVAL);
	version_set_free(vs);

	/* create refuses to overwrite a store */
	vs = vs_create();
	version_set_free(vs);
	vs = vs_open(NULL);
	ck_assert_int_eq(version_set_create(vs), -EEXIST);
	version_set_free(vs);
}
END_TEST

/* Applies three edits, each adding one L0 table; returns the manifest's
 * size before each record (= the record's offset) in off[0..3]. */
static uint64_t three_edits(struct version_set *vs, uint64_t off[3],
			    uint64_t numbers[3])
{
	for (int i = 0; i < 3; i++) {
		struct version_edit e;
		version_edit_init(&e);
		numbers[i] = new_number(vs);
		edit_add(&e, 0, fm(numbers[i], "a", "b", 10, 10 * (i + 1)));
		off[i] = wal_writer_size(vs->manifest);
		ck_assert_int_eq(apply(vs, &e), 0);
	}
	return wal_writer_size(vs->manifest);
}

START_TEST(test_torn_tail)
{
	struct version_set *vs = vs_create();
	uint64_t off[3], num[3], size;
	char path[FILENAME_MAX_LEN];
	size = three_edits(vs, off, num);
	filename_manifest(path, dir, version_set_manifest_number(vs));
	version_set_free(vs);

	/* cut the last record in half: it is dropped, the rest recovers */
	ck_assert_int_eq(truncate(path, (off_t)(off[2] + (size - off[2]) / 2)),
			 0);
	vs = vs_recover();
	struct version *v = version_set_current(vs);
	ck_assert_str_eq(level_numbers(v, 0), "3,2");
	ck_assert(log_has("torn"));
	/* a number in the torn record may be handed out again: the table
	 * was never in any version */
	ck_assert_uint_gt(version_set_new_file_number(vs), num[1]);
	version_set_free(vs);
}
END_TEST

START_TEST(test_corrupt_middle_record)
{
	struct version_set *vs = vs_create();
	uint64_t off[3], num[3];
	char path[FILENAME_MAX_LEN], name[80], at[64], bare[64];
	three_edits(vs, off, num);
	uint64_t m = version_set_manifest_number(vs);
	filename_manifest(path, dir, m);
	version_set_free(vs);

	/* flip a payload byte of the second edit record */
	FILE *f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	long pos = (long)(off[1] + WAL_RECORD_HEADER_LEN + 2);
	ck_assert_int_eq(fseek(f, pos, SEEK_SET), 0);
	int c = fgetc(f);
	ck_assert_int_eq(fseek(f, pos, SEEK_SET), 0);
	fputc(c ^ 0x40, f);
	fclose(f);

	vs = vs_open(NULL);
	ck_assert_int_eq(version_set_recover(vs), -EIO);
	snprintf(bare, sizeof bare, "MANIFEST-%06" PRIu64, m);
	snprintf(name, sizeof name, "'%s'", bare);
	snprintf(at, sizeof at, "at offset %" PRIu64, off[1]);
	ck_assert_msg(log_has(name) && log_has(at), "log: %s", logbuf);
	version_set_free(vs);
	/* nothing was rewritten: CURRENT still names the damaged manifest */
	char cur[64];
	read_current(cur, sizeof cur);
	ck_assert_ptr_nonnull(strstr(cur, bare));
}
END_TEST

/* Writes MANIFEST-000001 holding the given raw edit payloads, and CURRENT. */
static void write_manifest(struct buf *records, int n)
{
	char path[FILENAME_MAX_LEN];
	struct wal_writer *w;
	ck_assert_int_eq(wal_writer_new(env_posix(),
					filename_manifest(path, dir, 1),
					MANIFEST_MAGIC, &w),
			 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(wal_writer_add(w, MANIFEST_RECORD_EDIT,
						buf_slice(&records[i])),
				 0);
	ck_assert_int_eq(wal_writer_close(w), 0);
	ck_assert_int_eq(env_write_file(env_posix(),
					path_in_dir(path, "CURRENT"),
					"MANIFEST-000001\n", 16),
			 0);
}

/* A good snapshot edit: counters and one L1 table numbered 5. */
static void snapshot_record(struct buf *out)
{
	struct version_edit e;
	version_edit_init(&e);
	version_edit_set_log_number(&e, 2);
	version_edit_set_next_file_number(&e, 10);
	version_edit_set_last_sequence(&e, 50);
	edit_add(&e, 1, fm(5, "a", "f", 100, 1));
	ck_assert_int_eq(version_edit_encode(&e, out), 0);
	version_edit_release(&e);
}

START_TEST(test_corrupt_edit_contents)
{
	struct buf rec[2] = { BUF_INIT, BUF_INIT };
	struct version_set *vs;
	struct version_edit e;

	/* a record whose checksum is fine but whose edit is not */
	snapshot_record(&rec[0]);
	buf_put_varint32(&rec[1], 42);
	buf_put_varint32(&rec[1], EDIT_TAG_END);
	write_manifest(rec, 2);
	vs = vs_open(NULL);
	ck_assert_int_eq(version_set_recover(vs), -EIO);
	char want[128];
	snprintf(want, sizeof want,
		 "corrupt version edit in 'MANIFEST-000001' "
		 "at offset %zu",
		 WAL_HEADER_LEN + WAL_RECORD_HEADER_LEN + rec[0].len);
	ck_assert_msg(log_has(want), "log: %s", logbuf);
	version_set_free(vs);

	/* an edit that deletes a table the version does not have */
	logbuf[0] = '\0';
	buf_clear(&rec[1]);
	version_edit_init(&e);
	ck_assert_int_eq(version_edit_delete_file(&e, 2, 5), 0);
	ck_assert_int_eq(version_edit_encode(&e, &rec[1]), 0);
	version_edit_release(&e);
	write_manifest(rec, 2);
	vs = vs_open(NULL);
	ck_assert_int_eq(version_set_recover(vs), -EIO);
	ck_assert_msg(log_has("000005 is not in level 2"), "log: %s", logbuf);
	version_set_free(vs);

	/* an edit that makes L1 overlap */
	logbuf[0] = '\0';
	buf_clear(&rec[1]);
	version_edit_init(&e);
	edit_add(&e, 1, fm(6, "c", "k", 100, 1));
	ck_assert_int_eq(version_edit_encode(&e, &rec[1]), 0);
	version_edit_release(&e);
	write_manifest(rec, 2);
	vs = vs_open(NULL);
	ck_assert_int_eq(version_set_recover(vs), -EIO);
	ck_assert_msg(log_has("overlap in level 1"), "log: %s", logbuf);
	version_set_free(vs);

	/* a manifest without counters */
	logbuf[0] = '\0';
	buf_clear(&rec[1]);
	version_edit_init(&e);
	ck_assert_int_eq(version_edit_encode(&e, &rec[1]), 0);
	write_manifest(&rec[1], 1);
	vs = vs_open(NULL);
	ck_assert_int_eq(version_set_recover(vs), -EIO);
	ck_assert_msg(log_has("no next file number"), "log: %s", logbuf);
	version_set_free(vs);

	/* and the good one alone recovers */
	write_manifest(rec, 1);
	vs = vs_recover();
	ck_assert_str_eq(level_numbers(version_set_current(vs), 1), "5");
	ck_assert_uint_eq(version_set_log_number(vs), 2);
	ck_assert_uint_eq(version_set_last_sequence(vs), 50);
	ck_assert_uint_ge(version_set_new_file_number(vs), 10);
	version_set_free(vs);
	buf_release(&rec[0]);
	buf_release(&rec[1]);
}
END_TEST

START_TEST(test_current_problems)
{
	char path[FILENAME_MAX_LEN];
	struct version_set *vs = vs_create();
	uint64_t m = version_set_manifest_number(vs);
	version_set_free(vs);

	/* CURRENT names a manifest that is gone */
	ck_assert_int_eq(unlink(filename_manifest(path, dir, m)), 0);
	vs = vs_open(NULL);
	ck_assert_int_eq(version_set_recover(vs), -EIO);
	ck_assert_msg(log_has("names 'MANIFEST-000001', which does not exist"),
		      "log: %s", logbuf);
	version_set_free(vs);

	/* CURRENT holds something else */
	const char *bad[] = { "hello\n", "MANIFEST-000001", "MANIFEST-\n",
			      "000001.sst\n", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		logbuf[0] = '\0';
		ck_assert_int_eq(env_write_file(env_posix(),
						path_in_dir(path, "CURRENT"),
						bad[i], strlen(bad[i])),
				 0);
		vs = vs_open(NULL);
		ck_assert_int_eq(version_set_recover(vs), -EIO);
		ck_assert_msg(log_has("CURRENT': it does not name a manifest"),
			      "log: %s", logbuf);
		version_set_free(vs);
	}

	/* a manifest with another magic */
	logbuf[0] = '\0';
	ck_assert_int_eq(env_write_file(env_posix(),
					filename_manifest(path, dir, 1),
					"LSMWAL01", 8),
			 0);
	ck_assert_int_eq(env_write_file(env_posix(),
					path_in_dir(path, "CURRENT"),
					"MANIFEST-000001\n", 16),
			 0);
	vs = vs_open(NULL);
	ck_assert_int_eq(version_set_recover(vs), -EIO);
	ck_assert_msg(log_has("MANIFEST-000001"), "log: %s", logbuf);
	version_set_free(vs);
}
END_TEST

START_TEST(test_apply_rejects_misfits)
{
	struct version_set *vs = vs_create();
	struct version_edit e;
	uint64_t a = new_number(vs), b = new_number(vs);

	version_edit_init(&e);
	edit_add(&e, 1, fm(a, "a", "f", 10, 1));
	ck_assert_int_eq(apply(vs, &e), 0);
	struct version *before = version_set_current(vs);
	uint64_t msize = wal_writer_size(vs->manifest);

	/* delete a table that is not there */
	version_edit_init(&e);
	ck_assert_int_eq(version_edit_delete_file(&e, 1, b), 0);
	ck_assert_int_eq(apply(vs, &e), -EINVAL);
	/* delete from the wrong level */
	version_edit_init(&e);
	ck_assert_int_eq(version_edit_delete_file(&e, 2, a), 0);
	ck_assert_int_eq(apply(vs, &e), -EINVAL);
	/* overlap in L1 */
	version_edit_init(&e);
	edit_add(&e, 1, fm(b, "e", "k", 10, 1));
	ck_assert_int_eq(apply(vs, &e), -EINVAL);
	ck_assert(log_has("overlap in level 1"));
	/* add a table twice */
	version_edit_init(&e);
	edit_add(&e, 3, fm(a, "x", "y", 10, 1));
	ck_assert_int_eq(apply(vs, &e), -EINVAL);
	/* a log number from the future */
	version_edit_init(&e);
	version_edit_set_log_number(&e, 1000);
	ck_assert_int_eq(apply(vs, &e), -EINVAL);

	/* nothing was written or installed, and the set still works */
	ck_assert_ptr_eq(version_set_current(vs), before);
	ck_assert_uint_eq(wal_writer_size(vs->manifest), msize);
	ck_assert_int_eq(version_set_error(vs), 0);
	version_edit_init(&e);
	edit_add(&e, 1, fm(b, "g", "k", 10, 1));
	ck_assert_int_eq(apply(vs, &e), 0);
	ck_assert_str_eq(level_numbers(version_set_current(vs), 1), "2,3");
	version_set_free(vs);
}
END_TEST

/* An env that fails appends or syncs on request. */
static struct lsm_env fault_env;
static int fail_append, fail_sync; /* -errno to return, or 0 */

static int fault_append(struct env_wfile *f, const void *data, size_t n)
{
	if (fail_append)
		return fail_append;
	return env_posix()->wfile_append(f, data, n);
}

static int fault_sync(struct env_wfile *f)
{
	if (fail_sync)
		return fail_sync;
	return env_posix()->wfile_sync(f);
}

static struct lsm_env *make_fault_env(void)
{
	fault_env = *env_posix();
	fault_env.wfile_append = fault_append;
	fault_env.wfile_sync = fault_sync;
	fail_append = fail_sync = 0;
	return &fault_env;
}

START_TEST(test_sticky_write_error)
{
	struct version_set *vs = vs_open(make_fault_env());
	struct version_edit e;
	ck_assert_int_eq(version_set_create(vs), 0);
	uint64_t a = new_number(vs), b = new_number(vs);
	version_edit_init(&e);
	edit_add(&e, 0, fm(a, "a", "f", 10, 1));
	ck_assert_int_eq(apply(vs, &e), 0);
	struct version *before = version_set_current(vs);

	fail_append = -ENOSPC;
	version_edit_init(&e);
	edit_add(&e, 0, fm(b, "a", "f", 10, 20));
	ck_assert_int_eq(apply(vs, &e), -ENOSPC);
	ck_assert_ptr_eq(version_set_current(vs), before);
	ck_assert(log_has("cannot write manifest"));

	/* the error sticks even after the disk recovers */
	fail_append = 0;
	version_edit_init(&e);
	edit_add(&e, 0, fm(b, "a", "f", 10, 20));
	ck_assert_int_eq(apply(vs, &e), -ENOSPC);
	ck_assert_int_eq(version_set_error(vs), -ENOSPC);
	version_set_free(vs);

	/* the failed edit is not in the store */
	vs = vs_recover();
	ck_assert_str_eq(level_numbers(version_set_current(vs), 0), "2");
	version_set_free(vs);

	/* a failed sync is sticky too */
	vs = vs_open(make_fault_env());
	ck_assert_int_eq(version_set_recover(vs), 0);
	fail_sync = -EIO;
	version_edit_init(&e);
	edit_add(&e, 0, fm(new_number(vs), "a", "f", 10, 30));
	ck_assert_int_eq(apply(vs, &e), -EIO);
	fail_sync = 0;
	version_edit_init(&e);
	ck_assert_int_eq(apply(vs, &e), -EIO);
	version_set_free(vs);

	/* recovery that cannot write its new manifest fails cleanly and
	 * leaves the store as it was */
	vs = vs_open(make_fault_env());
	fail_sync = -EIO;
	ck_assert_int_eq(version_set_recover(vs), -EIO);
	fail_sync = 0;
	version_set_free(vs);
	vs = vs_recover();
	ck_assert_int_ge(version_set_current(vs)->nfiles[0], 1);
	version_set_free(vs);
}
END_TEST

START_TEST(test_manifest_roll)
{
	struct version_set *vs = vs_create();
	struct version_edit e;
	struct buf k = BUF_INIT;
	vs->manifest_roll_size = 1; /* every edit starts a new manifest */
	uint64_t prev = version_set_manifest_number(vs);
	for (int i = 0; i < 4; i++) {
		version_edit_init(&e);
		edit_add(&e, 1,
			 fm(new_number(vs), (char[]){ (char)('a' + 2 * i), 0 },
			    (char[]){ (char)('b' + 2 * i), 0 }, 10, 1));
		ck_assert_int_eq(
			version_edit_set_compact_pointer(
				&e, 1,
				ikey(&k, "ptr", (uint64_t)i, TYPE_VALUE)),
			0);
		ck_assert_int_eq(apply(vs, &e), 0);
		uint64_t m = version_set_manifest_number(vs);
		ck_assert_uint_gt(m, prev);
		ck_assert(manifest_exists(m));
		ck_assert(!manifest_exists(prev));
		prev = m;
	}
	struct version_set *vs2 = vs_recover();
	assert_versions_eq(version_set_current(vs2), version_set_current(vs));
	ck_assert(slice_eq(version_set_compact_pointer(vs2, 1),
			   ikey(&k, "ptr", 3, TYPE_VALUE)));
	version_set_free(vs);
	version_set_free(vs2);
	buf_release(&k);
}
END_TEST

struct applier {
	struct version_set *vs;
	int edits;
};

static void *applier_main(void *arg)
{
	struct applier *a = arg;
	for (int i = 0; i < a->edits; i++) {
		struct version_edit e;
		version_edit_init(&e);
		pthread_mutex_lock(&mu);
		uint64_t n = version_set_new_file_number(a->vs);
		/* readers take references concurrently */
		struct version *v = version_ref(version_set_current(a->vs));
		pthread_mutex_unlock(&mu);
		edit_add(&e, 0, fm(n, "a", "z", 1, n * 10));
		pthread_mutex_lock(&mu);
		int rc = version_set_log_and_apply(a->vs, &e, &mu);
		pthread_mutex_unlock(&mu);
		version_unref(v);
		version_edit_release(&e);
		if (rc)
			return (void *)(intptr_t)rc;
	}
	return NULL;
}

START_TEST(test_concurrent_apply)
{
	struct version_set *vs = vs_create();
	pthread_t t[4];
	struct applier a = { vs, 25 };
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, applier_main, &a),
				 0);
	for (int i = 0; i < 4; i++) {
		void *res;
		pthread_join(t[i], &res);
		ck_assert_ptr_null(res);
	}
	struct version *v = version_set_current(vs);
	ck_assert_int_eq(v->nfiles[0], 100);
	for (int i = 1; i < 100; i++)
		ck_assert_uint_gt(v->files[0][i - 1]->max_seq,
				  v->files[0][i]->max_seq);
	struct version_set *vs2 = vs_recover();
	assert_versions_eq(version_set_current(vs2), v);
	version_set_free(vs2);
	version_set_free(vs);
}
END_TEST

/* Thousands of tables: the builder's hash map grows, and deletions in the
 * middle of probe clusters must keep every other table findable. */
START_TEST(test_many_files)
{
	struct version_set *vs = vs_create();
	struct version_edit e;
	enum { N = 3000 };
	char lo[16], hi[16];
	version_edit_init(&e);
	version_set_mark_file_number_used(vs, 10 + N);
	for (int i = 0; i < N; i++) {
		snprintf(lo, sizeof lo, "k%05d", i * 2);
		snprintf(hi, sizeof hi, "k%05d", i * 2 + 1);
		edit_add(&e, 1, fm(10 + (uint64_t)i, lo, hi, 1, 1));
	}
	ck_assert_int_eq(apply(vs, &e), 0);
	/* drop every third table, move every fifth of the rest to L2 */
	int want1 = 0, want2 = 0;
	version_edit_init(&e);
	for (int i = 0; i < N; i++) {
		uint64_t number = 10 + (uint64_t)((i * 7919) % N);
		int j = (int)(number - 10);
		if (j % 3 == 0) {
			ck_assert_int_eq(
				version_edit_delete_file(&e, 1, number), 0);
		} else if (j % 5 == 0) {
			ck_assert_int_eq(
				version_edit_delete_file(&e, 1, number), 0);
			struct version *v = version_set_current(vs);
			edit_add(&e, 2, file_meta_ref(v->files[1][j]));
			want2++;
		} else {
			want1++;
		}
	}
	ck_assert_int_eq(apply(vs, &e), 0);
	struct version *v = version_set_current(vs);
	ck_assert_int_eq(v->nfiles[1], want1);
	ck_assert_int_eq(v->nfiles[2], want2);
	for (int i = 0; i < v->nfiles[1]; i++) {
		uint64_t j = v->files[1][i]->number - 10;
		ck_assert(j % 3 != 0 && j % 5 != 0);
		if (i)
			ck_assert_uint_lt(v->files[1][i - 1]->number,
					  v->files[1][i]->number);
	}
	struct version_set *vs2 = vs_recover();
	assert_versions_eq(version_set_current(vs2), v);
	version_set_free(vs2);
	version_set_free(vs);
}
END_TEST

/* ---- versions: references, overlaps, scores ---- */

static const char *live_numbers(struct version_set *vs)
{
	static char s[256];
	uint64_t *live;
	size_t n;
	pthread_mutex_lock(&mu);
	ck_assert_int_eq(version_set_live_files(vs, &live, &n), 0);
	pthread_mutex_unlock(&mu);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(s);
		snprintf(s + len, sizeof s - len, "%s%" PRIu64, i ? "," : "",
			 live[i]);
	}
	free(live);
	return s;
}

START_TEST(test_refcounted_versions)
{
	struct version_set *vs = vs_create();
	struct version_edit e;
	ck_assert_str_eq(live_numbers(vs), "");
	version_edit_init(&e);
	edit_add(&e, 0, fm(new_number(vs), "a", "c", 1, 10)); /* 2 */
	edit_add(&e, 0, fm(new_number(vs), "b", "d", 1, 20)); /* 3 */
	ck_assert_int_eq(apply(vs, &e), 0);
	ck_assert_str_eq(live_numbers(vs), "2,3");

	/* a reader holds the version with 2 and 3 */
	struct version *old = version_ref(version_set_current(vs));
	struct file_meta *f2 = old->files[0][1];
	ck_assert_uint_eq(f2->number, 2);

	version_edit_init(&e);
	ck_assert_int_eq(version_edit_delete_file(&e, 0, 2), 0);
	ck_assert_int_eq(version_edit_delete_file(&e, 0, 3), 0);
	edit_add(&e, 1, fm(new_number(vs), "a", "d", 2, 10)); /* 4 */
	ck_assert_int_eq(apply(vs, &e), 0);
	ck_assert_str_eq(level_numbers(version_set_current(vs), 1), "4");
	/* 2 and 3 stay live while the old version is referenced */
	ck_assert_str_eq(live_numbers(vs), "2,3,4");
	ck_assert_int_eq(f2->refs, 1); /* only the old version holds it */

	/* a second reader of the old version */
	version_ref(old);
	version_unref(old);
	ck_assert_str_eq(live_numbers(vs), "2,3,4");
	version_unref(old);
	ck_assert_str_eq(live_numbers(vs), "4");

	/* the current version survives its successor being installed
	 * while referenced from another thread */
	struct version *cur = version_ref(version_set_current(vs));
	version_edit_init(&e);
	ck_assert_int_eq(version_edit_delete_file(&e, 1, 4), 0);
	ck_assert_int_eq(apply(vs, &e), 0);
	ck_assert_str_eq(live_numbers(vs), "4");
	ck_assert_int_eq(version_set_current(vs)->nfiles[1], 0);
	ck_assert_uint_eq(cur->files[1][0]->number, 4);
	version_unref(cur);
	ck_assert_str_eq(live_numbers(vs), "");
	version_set_free(vs);
}
END_TEST

/* Builds a version by applying one edit with the given files. */
struct spec {
	int level;
	uint64_t number;
	const char *lo, *hi;
	uint64_t size, seq;
};

static struct version_set *vs_with(const struct spec *s, int n)
{
	struct version_set *vs = vs_create();
	struct version_edit e;
	version_edit_init(&e);
	for (int i = 0; i < n; i++) {
		version_set_mark_file_number_used(vs, s[i].number);
		edit_add(
			&e, s[i].level,
			fm(s[i].number, s[i].lo, s[i].hi, s[i].size, s[i].seq));
	}
	ck_assert_int_eq(apply(vs, &e), 0);
	return vs;
}

static const char *overlapping(const struct version *v, int level,
			       const char *lo, const char *hi)
{
	static char s[256];
	struct file_list l = FILE_LIST_INIT;
	struct slice b = slice_make(lo, lo ? strlen(lo) : 0);
	struct slice e = slice_make(hi, hi ? strlen(hi) : 0);
	ck_assert_int_eq(version_overlapping_files(v, level, lo ? &b : NULL,
						   hi ? &e : NULL, &l),
			 0);
	s[0] = '\0';
	for (int i = 0; i < l.n; i++) {
		size_t len = strlen(s);
		snprintf(s + len, sizeof s - len, "%s%" PRIu64, i ? "," : "",
			 l.files[i]->number);
	}
	file_list_release(&l);
	return s;
}

static bool overlap_in(const struct version *v, int level, const char *lo,
		       const char *hi)
{
	struct slice b = slice_make(lo, lo ? strlen(lo) : 0);
	struct slice e = slice_make(hi, hi ? strlen(hi) : 0);
	return version_overlap_in_level(v, level, lo ? &b : NULL,
					hi ? &e : NULL);
}

START_TEST(test_overlapping_files)
{
	static const struct spec s[] = {
		{ 0, 10, "a", "c", 100, 400 }, { 0, 11, "b", "e", 100, 300 },
		{ 0, 12, "d", "f", 100, 200 }, { 0, 13, "x", "z", 100, 100 },
		{ 1, 20, "a", "c", 100, 1 },   { 1, 21, "e", "g", 100, 1 },
		{ 1, 22, "i", "k", 100, 1 },   { 1, 23, "k0", "k9", 100, 1 },
	};
	struct version_set *vs = vs_with(s, 8);
	struct version *v = version_set_current(vs);
	ck_assert_str_eq(level_numbers(v, 0), "10,11,12,13");
	ck_assert_str_eq(level_numbers(v, 1), "20,21,22,23");

	/* L1: plain intersection, bounds inclusive */
	ck_assert_str_eq(overlapping(v, 1, "d", "f"), "21");
	ck_assert_str_eq(overlapping(v, 1, "c", "e"), "20,21");
	ck_assert_str_eq(overlapping(v, 1, "h", "h"), "");
	ck_assert_str_eq(overlapping(v, 1, "k", "k"), "22");
	ck_assert_str_eq(overlapping(v, 1, "k", "k1"), "22,23");
	ck_assert_str_eq(overlapping(v, 1, NULL, "b"), "20");
	ck_assert_str_eq(overlapping(v, 1, "j", NULL), "22,23");
	ck_assert_str_eq(overlapping(v, 1, NULL, NULL), "20,21,22,23");
	ck_assert_str_eq(overlapping(v, 2, NULL, NULL), "");

	/* L0: [a, a] touches 10 (a..c), which reaches 11 (b..e), which
	 * reaches 12 (d..f); 13 stays out */
	ck_assert_str_eq(overlapping(v, 0, "a", "a"), "10,11,12");
	ck_assert_str_eq(overlapping(v, 0, "f", "f"), "10,11,12");
	ck_assert_str_eq(overlapping(v, 0, "g", "w"), "");
	ck_assert_str_eq(overlapping(v, 0, "y", NULL), "13");

	ck_assert(overlap_in(v, 1, "c", "d"));
	ck_assert(!overlap_in(v, 1, "h", "h"));
	ck_assert(!overlap_in(v, 1, "l", "z"));
	ck_assert(overlap_in(v, 1, NULL, "a"));
	ck_assert(overlap_in(v, 0, "g", "x"));
	ck_assert(!overlap_in(v, 0, "g", "w"));
	ck_assert(!overlap_in(v, 3, NULL, NULL));

	/* find_file and level ranges */
	struct buf k = BUF_INIT;
	ck_assert_int_eq(version_find_file(v, 1, ikey(&k, "a", 5, TYPE_VALUE)),
			 0);
	ck_assert_int_eq(version_find_file(v, 1, ikey(&k, "d", 5, TYPE_VALUE)),
			 1);
	ck_assert_int_eq(version_find_file(v, 1, ikey(&k, "z", 5, TYPE_VALUE)),
			 4);
	struct slice lo, hi;
	ck_assert(version_level_range(v, 0, &lo, &hi));
	ck_assert(slice_eq(ikey_user(lo), slice_make("a", 1)));
	ck_assert(slice_eq(ikey_user(hi), slice_make("z", 1)));
	ck_assert(!version_level_range(v, 4, &lo, &hi));
	buf_release(&k);
	version_set_free(vs);
}
END_TEST

START_TEST(test_scores)
{
	static const struct spec s[] = {
		{ 0, 10, "a", "c", 100, 400 },   { 0, 11, "b", "e", 100, 300 },
		{ 1, 20, "a", "c", 15000, 1 },   /* L1 target 10000: 1.5 */
		{ 2, 30, "a", "c", 50000, 1 },   /* L2 target 100000: 0.5 */
		{ 6, 60, "a", "c", 1 << 30, 1 }, /* last level: never */
	};
	struct version_set *vs = vs_with(s, 5);
	struct version *v = version_set_current(vs);
	ck_assert_uint_eq(version_level_target(&opt, 0), 0);
	ck_assert_uint_eq(version_level_target(&opt, 1), 10000);
	ck_assert_uint_eq(version_level_target(&opt, 3), 1000000);
	ck_assert(version_level_score(v, 0) == 0.5);
	ck_assert(version_level_score(v, 1) == 1.5);
	ck_assert(version_level_score(v, 2) == 0.5);
	ck_assert(version_level_score(v, 6) == 0);
	ck_assert_int_eq(v->compaction_level, 1);
	ck_assert(v->compaction_score == 1.5);
	ck_assert_uint_eq(version_level_bytes(v, 6), 1u << 30);
	version_set_free(vs);

	/* L0 wins at the trigger */
	static const struct spec s0[] = {
		{ 0, 11, "a", "b", 1, 10 }, { 0, 12, "a", "b", 1, 20 },
		{ 0, 13, "a", "b", 1, 30 }, { 0, 14, "a", "b", 1, 40 },
		{ 0, 15, "a", "b", 1, 50 }, { 1, 16, "a", "b", 10000, 1 },
	};
	teardown();
	setup();
	vs = vs_with(s0, 6);
	v = version_set_current(vs);
	ck_assert_int_eq(v->compaction_level, 0);
	ck_assert(v->compaction_score == 1.25);
	version_set_free(vs);
}
END_TEST

/* ---- the read path over real tables ---- */

struct kv {
	const char *key;
	uint64_t seq;
	enum entry_type type;
	const char *value;
};

/* Writes table number from entries (sorted in internal key order) and
 * returns its file_meta. */
static struct file_meta *make_table(uint64_t number, const struct kv *kv, int n)
{
	char path[FILENAME_MAX_LEN];
	struct sst_builder *b;
	struct sst_props props;
	struct buf k = BUF_INIT;
	memset(&props, 0, sizeof props);
	ck_assert_int_eq(sst_builder_new(env_posix(), &opt,
					 filename_sst(path, dir, number), 1,
					 &b),
			 0);
	for (int i = 0; i < n; i++) {
		const char *v = kv[i].value ? kv[i].value : "";
		ck_assert_int_eq(sst_builder_add(b,
						 ikey(&k, kv[i].key, kv[i].seq,
						      kv[i].type),
						 slice_make(v, strlen(v))),
				 0);
	}
	ck_assert_int_eq(sst_builder_finish(b, &props), 0);
	sst_builder_free(b);
	struct file_meta *f;
	ck_assert_int_eq(file_meta_new(&f), 0);
	f->number = number;
	f->file_size = props.file_size;
	f->entries = props.entries;
	f->tombstones = props.tombstones;
	f->min_seq = props.min_seq;
	f->max_seq = props.max_seq;
	f->created_unix = props.created_unix;
	f->reason = props.reason;
	/* the key range from what was added (this test is about levels, not
	 * about the table's properties block) */
	ikey(&f->smallest, kv[0].key, kv[0].seq, kv[0].type);
	ikey(&f->largest, kv[n - 1].key, kv[n - 1].seq, kv[n - 1].type);
	sst_props_release(&props);
	buf_release(&k);
	return f;
}

/* Fills a run of keys "kNN" from lo to hi (inclusive) at seq, value
 * "<tag>NN". Returns the count. */
static int run(struct kv *out, char names[][8], char values[][16], int lo,
	       int hi, uint64_t seq, const char *tag)
{
	int n = 0;
	for (int i = lo; i <= hi; i++, n++) {
		snprintf(names[n], 8, "k%02d", i);
		snprintf(values[n], 16, "%s%02d", tag, i);
		out[n] = (struct kv){ names[n], seq, TYPE_VALUE, values[n] };
	}
	return n;
}

struct read_fixture {
	struct version_set *vs;
	struct block_cache *bc;
	struct table_cache *tc;
	int total; /* entries in all tables */
};

/*
 * L0: table 10 (newest): k05 = "A05" @ 500, k10 deleted @ 501
 *     table 11:          k05 = "B05" @ 400, k06 = "B06" @ 401
 * L1: table 20: k00..k09 "C" @ 100; table 21: k10..k19 "D" @ 150;
 *     table 22: k19 "E19" @ 120 (the same user key continues from 21, older
 *     entry), k20..k29 "E" @ 120
 * L2: table 30: k00..k39 "F" @ 10
 */
static void read_setup(struct read_fixture *rf)
{
	struct version_edit e;
	struct kv kv[64];
	char names[64][8], values[64][16];
	int n;

	rf->vs = vs_create();
	ck_assert_int_eq(block_cache_new(1 << 20, &rf->bc), 0);
	ck_assert_int_eq(
		table_cache_new(env_posix(), dir, 100, rf->bc, &rf->tc), 0);
	version_set_mark_file_number_used(rf->vs, 30);
	version_edit_init(&e);
	rf->total = 0;

	kv[0] = (struct kv){ "k05", 500, TYPE_VALUE, "A05" };
	kv[1] = (struct kv){ "k10", 501, TYPE_DELETE, NULL };
	edit_add(&e, 0, make_table(10, kv, 2));
	kv[0] = (struct kv){ "k05", 400, TYPE_VALUE, "B05" };
	kv[1] = (struct kv){ "k06", 401, TYPE_VALUE, "B06" };
	edit_add(&e, 0, make_table(11, kv, 2));
	rf->total += 4;

	n = run(kv, names, values, 0, 9, 100, "C");
	edit_add(&e, 1, make_table(20, kv, n));
	rf->total += n;
	n = run(kv, names, values, 10, 19, 150, "D");
	edit_add(&e, 1, make_table(21, kv, n));
	rf->total += n;
	n = run(kv, names, values, 19, 29, 120, "E");
	edit_add(&e, 1, make_table(22, kv, n));
	rf->total += n;
	n = run(kv, names, values, 0, 39, 10, "F");
	edit_add(&e, 2, make_table(30, kv, n));
	rf->total += n;
	ck_assert_int_eq(apply(rf->vs, &e), 0);
}

static void read_teardown(struct read_fixture *rf)
{
	version_set_free(rf->vs);
	table_cache_free(rf->tc);
	block_cache_free(rf->bc);
}

static void assert_get(struct version *v, struct table_cache *tc,
		       const char *key, uint64_t seq, int want,
		       const char *want_val)
{
	char *val = NULL;
	size_t vlen = 0;
	int rc = version_get(v, tc, slice_make(key, strlen(key)), seq, &val,
			     &vlen);
	ck_assert_msg(rc == want, "get %s @ %" PRIu64 ": %d, want %d", key, seq,
		      rc, want);
	if (want == LOOKUP_FOUND) {
		ck_assert_uint_eq(vlen, strlen(want_val));
		ck_assert_str_eq(val, want_val);
	}
	free(val);
}

START_TEST(test_version_get)
{
	struct read_fixture rf;
	read_setup(&rf);
	struct version *v = version_set_current(rf.vs);
	struct table_cache *tc = rf.tc;
	ck_assert_str_eq(level_numbers(v, 0), "10,11");
	ck_assert_str_eq(level_numbers(v, 1), "20,21,22");

	assert_get(v, tc, "k05", SEQ_MAX, LOOKUP_FOUND, "A05"); /* newest L0 */
	assert_get(v, tc, "k05", 499, LOOKUP_FOUND, "B05");     /* older L0 */
	assert_get(v, tc, "k05", 399, LOOKUP_FOUND, "C05");     /* L1 */
	assert_get(v, tc, "k05", 99, LOOKUP_FOUND, "F05");      /* L2 */
	assert_get(v, tc, "k05", 9, LOOKUP_NOT_FOUND, NULL);
	assert_get(v, tc, "k06", SEQ_MAX, LOOKUP_FOUND, "B06");
	assert_get(v, tc, "k10", SEQ_MAX, LOOKUP_DELETED, NULL); /* L0 tomb */
	assert_get(v, tc, "k10", 500, LOOKUP_FOUND, "D10");
	assert_get(v, tc, "k15", SEQ_MAX, LOOKUP_FOUND, "D15");
	/* k19 spans tables 21 (@150) and 22 (@120) */
	assert_get(v, tc, "k19", SEQ_MAX, LOOKUP_FOUND, "D19");
	assert_get(v, tc, "k19", 149, LOOKUP_FOUND, "E19");
	assert_get(v, tc, "k19", 119, LOOKUP_FOUND, "F19");
	assert_get(v, tc, "k25", SEQ_MAX, LOOKUP_FOUND, "E25");
	assert_get(v, tc, "k35", SEQ_MAX, LOOKUP_FOUND, "F35");
	assert_get(v, tc, "k40", SEQ_MAX, LOOKUP_NOT_FOUND, NULL);
	assert_get(v, tc, "a", SEQ_MAX, LOOKUP_NOT_FOUND, NULL);
	assert_get(v, tc, "k055", SEQ_MAX, LOOKUP_NOT_FOUND, NULL);
	read_teardown(&rf);
}
END_TEST

/* Walks it forward from the start and checks strict internal key order;
 * returns the count. */
static int walk_forward(struct iter *it)
{
	struct buf prev = BUF_INIT;
	int n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it), n++) {
		if (n)
			ck_assert_int_lt(
				ikey_cmp(buf_slice(&prev), iter_key(it)), 0);
		buf_set(&prev, iter_key(it).data, iter_key(it).len);
	}
	ck_assert_int_eq(iter_status(it), 0);
	buf_release(&prev);
	return n;
}

static int walk_backward(struct iter *it)
{
	struct buf prev = BUF_INIT;
	int n = 0;
	for (iter_seek_last(it); iter_valid(it); iter_prev(it), n++) {
		if (n)
			ck_assert_int_gt(
				ikey_cmp(buf_slice(&prev), iter_key(it)), 0);
		buf_set(&prev, iter_key(it).data, iter_key(it).len);
	}
	ck_assert_int_eq(iter_status(it), 0);
	buf_release(&prev);
	return n;
}

static bool at(struct iter *it, const char *ukey, uint64_t seq)
{
	return iter_valid(it) &&
	       slice_eq(ikey_user(iter_key(it)),
			slice_make(ukey, strlen(ukey))) &&
	       ikey_seq(iter_key(it)) == seq;
}

START_TEST(test_level_iterator)
{
	struct read_fixture rf;
	struct buf k = BUF_INIT;
	read_setup(&rf);
	struct version *v = version_set_current(rf.vs);
	struct iter *it;
	ck_assert_int_eq(level_iter_new(rf.tc, v->files[1], v->nfiles[1], &it),
			 0);
	ck_assert_int_eq(walk_forward(it), 31);
	ck_assert_int_eq(walk_backward(it), 31);

	/* seeks land in the right table, across boundaries */
	iter_seek(it, ikey(&k, "k10", SEQ_MAX, TYPE_SEEK));
	ck_assert(at(it, "k10", 150));
	iter_prev(it);
	ck_assert(at(it, "k09", 100)); /* back into table 20 */
	iter_next(it);
	iter_next(it);
	ck_assert(at(it, "k11", 150));
	iter_seek(it, ikey(&k, "k19", 149, TYPE_SEEK));
	ck_assert(at(it, "k19", 120)); /* past 21's k19 into 22 */
	iter_prev(it);
	ck_assert(at(it, "k19", 150));
	iter_seek(it, ikey(&k, "k095", SEQ_MAX, TYPE_SEEK));
	ck_assert(at(it, "k10", 150)); /* a gap between tables */
	iter_seek(it, ikey(&k, "k30", SEQ_MAX, TYPE_SEEK));
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), 0);
	iter_seek(it, ikey(&k, "a", SEQ_MAX, TYPE_SEEK));
	ck_assert(at(it, "k00", 100));
	iter_free(it);

	/* an empty level iterator */
	ck_assert_int_eq(level_iter_new(rf.tc, NULL, 0, &it), 0);
	ck_assert_int_eq(walk_forward(it), 0);
	iter_seek(it, ikey(&k, "k", 1, TYPE_SEEK));
	ck_assert(!iter_valid(it));
	iter_free(it);
	read_teardown(&rf);
	buf_release(&k);
}
END_TEST

START_TEST(test_version_iterators)
{
	struct read_fixture rf;
	struct iter **iters = NULL;
	int n = 0;
	read_setup(&rf);
	struct version *v = version_ref(version_set_current(rf.vs));
	ck_assert_int_eq(version_add_iterators(v, rf.tc, &iters, &n), 0);
	ck_assert_int_eq(n, 4); /* two L0 tables, L1, L2 */
	struct iter *m = merge_iter_new(iters, n);
	free(iters);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(walk_forward(m), rf.total);
	ck_assert_int_eq(walk_backward(m), rf.total);

	/* every version of k05, newest first, from all four sources */
	struct buf k = BUF_INIT;
	iter_seek(m, ikey(&k, "k05", SEQ_MAX, TYPE_SEEK));
	ck_assert(at(m, "k05", 500));
	iter_next(m);
	ck_assert(at(m, "k05", 400));
	iter_next(m);
	ck_assert(at(m, "k05", 100));
	iter_next(m);
	ck_assert(at(m, "k05", 10));
	iter_next(m);
	ck_assert(at(m, "k06", 401));
	iter_free(m);
	version_unref(v);
	buf_release(&k);
	read_teardown(&rf);
}
END_TEST

START_TEST(test_lazy_open_and_errors)
{
	struct read_fixture rf;
	struct buf k = BUF_INIT;
	char path[FILENAME_MAX_LEN];
	read_setup(&rf);
	/* a fresh table cache that has opened nothing, and table 22 gone */
	table_cache_free(rf.tc);
	ck_assert_int_eq(table_cache_new(env_posix(), dir, 100, rf.bc, &rf.tc),
			 0);
	ck_assert_int_eq(unlink(filename_sst(path, dir, 22)), 0);
	struct version *v = version_set_current(rf.vs);

	struct iter *it;
	ck_assert_int_eq(level_iter_new(rf.tc, v->files[1], v->nfiles[1], &it),
			 0);
	/* tables 20 and 21 read fine: 22 is not opened before it is needed */
	iter_seek(it, ikey(&k, "k03", SEQ_MAX, TYPE_SEEK));
	ck_assert(at(it, "k03", 100));
	int n = 0;
	while (iter_valid(it) && n < 100) {
		iter_next(it);
		n++;
	}
	ck_assert_int_eq(n, 17); /* k03..k19 of 20 and 21 */
	ck_assert_int_lt(iter_status(it), 0);
	/* the error sticks */
	iter_seek_first(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_lt(iter_status(it), 0);
	iter_free(it);

	/* lookups: those that need 22 fail, the rest work */
	char *val = NULL;
	size_t vlen;
	ck_assert_int_lt(version_get(v, rf.tc, slice_make("k25", 3), SEQ_MAX,
				     &val, &vlen),
			 0);
	assert_get(v, rf.tc, "k15", SEQ_MAX, LOOKUP_FOUND, "D15");
	assert_get(v, rf.tc, "k35", SEQ_MAX, LOOKUP_FOUND, "F35");
	buf_release(&k);
	read_teardown(&rf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("version");
	TCase *tc = tcase_create("edit");
	tcase_add_test(tc, test_edit_roundtrip);
	tcase_add_test(tc, test_edit_truncation);
	tcase_add_test(tc, test_edit_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("manifest");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_create_apply_recover);
	tcase_add_test(tc, test_no_current);
	tcase_add_test(tc, test_torn_tail);
	tcase_add_test(tc, test_corrupt_middle_record);
	tcase_add_test(tc, test_corrupt_edit_contents);
	tcase_add_test(tc, test_current_problems);
	tcase_add_test(tc, test_apply_rejects_misfits);
	tcase_add_test(tc, test_sticky_write_error);
	tcase_add_test(tc, test_manifest_roll);
	tcase_add_test(tc, test_concurrent_apply);
	tcase_add_test(tc, test_many_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("versions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_refcounted_versions);
	tcase_add_test(tc, test_overlapping_files);
	tcase_add_test(tc, test_scores);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_version_get);
	tcase_add_test(tc, test_level_iterator);
	tcase_add_test(tc, test_version_iterators);
	tcase_add_test(tc, test_lazy_open_and_errors);
	suite_add_tcase(s, tc);

	return tu_run("check_version", s);
}
