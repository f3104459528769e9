/* check_keyspace.c - tests for fs/keyspace.c, fs/keypath.c, fs/inode.c and
 * fs/filedata.c: key and record encodings, path validation, the path-level
 * API and chunked file content, against a real store in a temp directory. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filedata.h"
#include "inode.h"
#include "keyspace.h"
#include "lsm.h"
#include "testutil.h"

static char tmpdir[64];
static struct lsm_db *db;

static void store_setup(void)
{
	strcpy(tmpdir, "/tmp/check_keyspace.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(lsm_open(tmpdir, NULL, &db), 0);
}

static void store_teardown(void)
{
	char cmd[128];
	ck_assert_int_eq(lsm_close(db), 0);
	db = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void reopen(void)
{
	ck_assert_int_eq(lsm_close(db), 0);
	ck_assert_int_eq(lsm_open(tmpdir, NULL, &db), 0);
}

static int put(const char *k, const char *v)
{
	return ks_file_write(db, k, strlen(k), v, strlen(v), 0);
}

static char *get(const char *k)
{
	char *v = NULL;
	size_t n;
	int rc = ks_file_read(db, k, strlen(k), &v, &n);
	if (rc)
		return NULL;
	ck_assert_uint_eq(strlen(v), n);
	return v;
}

START_TEST(keys_sort_numerically)
{
	char a[KS_CHUNK_KEY_LEN], b[KS_CHUNK_KEY_LEN];
	ks_chunk_key(a, 255, 7);
	ks_chunk_key(b, 256, 0);
	ck_assert_int_lt(memcmp(a, b, KS_CHUNK_KEY_LEN), 0);
	ks_chunk_key(a, 5, 255);
	ks_chunk_key(b, 5, 256);
	ck_assert_int_lt(memcmp(a, b, KS_CHUNK_KEY_LEN), 0);
	ks_inode_key(a, 0x0102030405060708ULL);
	ck_assert_int_eq(a[0], 'I');
	ck_assert_int_eq(a[1], 1);
	ck_assert_int_eq(a[8], 8);
}
END_TEST

START_TEST(key_decode_roundtrip)
{
	char k[KS_NAME_KEY_MAX];
	struct ks_key d;
	size_t n = ks_dentry_key(k, 42, "hello", 5);
	ck_assert_int_eq(ks_key_decode(k, n, &d), 0);
	ck_assert_int_eq(d.kind, KS_DENTRY);
	ck_assert_uint_eq(d.ino, 42);
	ck_assert_uint_eq(d.nlen, 5);
	ck_assert(memcmp(d.name, "hello", 5) == 0);
	n = ks_chunk_key(k, 9, 1234);
	ck_assert_int_eq(ks_key_decode(k, n, &d), 0);
	ck_assert_int_eq(d.kind, KS_CHUNK);
	ck_assert_uint_eq(d.index, 1234);
	n = ks_xattr_key(k, 3, "user.a", 6);
	ck_assert_int_eq(ks_key_decode(k, n, &d), 0);
	ck_assert_int_eq(d.kind, KS_XATTR);
	n = ks_orphan_key(k, 77);
	ck_assert_int_eq(ks_key_decode(k, n, &d), 0);
	ck_assert_int_eq(d.kind, KS_ORPHAN);
	ck_assert_uint_eq(d.ino, 77);
	ck_assert_int_eq(ks_key_decode(k, ks_super_key(k), &d), 0);
	ck_assert_int_eq(d.kind, KS_SUPER);
	/* failure paths */
	ck_assert_int_eq(ks_key_decode(k, 0, &d), -EINVAL);
	ck_assert_int_eq(ks_key_decode("Z12345678", 9, &d), -EINVAL);
	ck_assert_int_eq(ks_key_decode("I1234", 5, &d), -EINVAL);
	n = ks_dentry_key(k, 1, "", 0);
	ck_assert_int_eq(ks_key_decode(k, n, &d), -EINVAL);
	ck_assert_int_eq(ks_key_decode("C12345678", 9, &d), -EINVAL);
}
END_TEST

START_TEST(dentry_and_super_values)
{
	char v[KS_DENTRY_VAL_LEN], s[KS_SUPER_LEN];
	uint64_t ino;
	uint8_t type;
	ks_dentry_encode(v, 12345, 4);
	ck_assert_int_eq(ks_dentry_decode(v, sizeof v, &ino, &type), 0);
	ck_assert_uint_eq(ino, 12345);
	ck_assert_uint_eq(type, 4);
	ck_assert_int_eq(ks_dentry_decode(v, 8, &ino, &type), -EIO);
	ks_dentry_encode(v, 0, 4);
	ck_assert_int_eq(ks_dentry_decode(v, sizeof v, &ino, &type), -EIO);
	ks_dentry_encode(v, KS_VIRTUAL_INO_BASE + 1, 4);
	ck_assert_int_eq(ks_dentry_decode(v, sizeof v, &ino, &type), -EIO);

	struct ks_super sb = { 1, 99 }, out;
	ks_super_encode(s, &sb);
	ck_assert_int_eq(ks_super_decode(s, sizeof s, &out), 0);
	ck_assert_uint_eq(out.version, 1);
	ck_assert_uint_eq(out.next_ino, 99);
	ck_assert_int_eq(ks_super_decode(s, 11, &out), -EIO);
	sb.next_ino = 0;
	ks_super_encode(s, &sb);
	ck_assert_int_eq(ks_super_decode(s, sizeof s, &out), -EIO);
}
END_TEST

START_TEST(inode_roundtrip)
{
	struct inode_attr a = { 0 }, b;
	struct buf rec = BUF_INIT;
	const char *t;
	size_t tlen;
	a.mode = 0120777;
	a.uid = 1000;
	a.gid = 100;
	a.nlink = 1;
	a.size = 11;
	a.stored = 0;
	a.atime.sec = -5;
	a.atime.nsec = 999999999;
	a.mtime.sec = 1LL << 40;
	a.ctime.nsec = 7;
	a.rdev = 0x0801;
	a.parent = 0;
	ck_assert_int_eq(inode_encode(&a, "target/path", 11, &rec), 0);
	ck_assert_uint_eq(rec.len, INODE_HEADER_LEN + 11);
	ck_assert_int_eq(inode_decode(rec.data, rec.len, &b, &t, &tlen), 0);
	ck_assert(memcmp(&a, &b, sizeof a) == 0);
	ck_assert_uint_eq(tlen, 11);
	ck_assert(memcmp(t, "target/path", 11) == 0);

	struct stat st;
	inode_to_stat(&b, 5, &st);
	ck_assert_uint_eq(st.st_ino, 5);
	ck_assert_int_eq(st.st_atim.tv_sec, -5);
	ck_assert_int_eq(st.st_atim.tv_nsec, 999999999);
	ck_assert_int_eq(st.st_blocks, 0);

	/* failure paths: truncated, wrong version, short header */
	ck_assert_int_eq(inode_decode(rec.data, INODE_HEADER_LEN - 1, &b, &t,
				      &tlen), -EIO);
	rec.data[0] = 2;
	ck_assert_int_eq(inode_decode(rec.data, rec.len, &b, &t, &tlen), -EIO);
	rec.data[0] = 1;
	rec.data[1] = 10;
	ck_assert_int_eq(inode_decode(rec.data, rec.len, &b, &t, &tlen), -EIO);
	/* a longer header from a newer minor revision is skipped over */
	rec.data[1] = INODE_HEADER_LEN + 3;
	ck_assert_int_eq(inode_decode(rec.data, rec.len, &b, &t, &tlen), 0);
	ck_assert_uint_eq(tlen, 8);
	buf_release(&rec);
}
END_TEST

static int bad(const char *k, int want, const char *reason_part)
{
	const char *why = NULL;
	int rc = ks_path_validate(k, strlen(k), &why);
	ck_assert_msg(rc == want, "'%s': got %d want %d", k, rc, want);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, reason_part), "'%s': reason '%s'", k, why);
	return 0;
}

START_TEST(path_validation)
{
	const char *why = "x";
	ck_assert_int_eq(ks_path_validate("a", 1, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(ks_path_validate("user:123", 8, NULL), 0);
	ck_assert_int_eq(ks_path_validate("a/b/c", 5, NULL), 0);
	ck_assert_int_eq(ks_path_validate("x/.lsm", 6, NULL), 0);
	ck_assert_int_eq(ks_path_validate(".lsmx", 5, NULL), 0);
	ck_assert_int_eq(ks_path_validate("...", 3, NULL), 0);
	bad("", -EINVAL, "empty key");
	bad("/a", -EINVAL, "starts with '/'");
	bad("a/", -EINVAL, "ends with '/'");
	bad("a//b", -EINVAL, "empty path component");
	bad("a/./b", -EINVAL, "'.'");
	bad("..", -EINVAL, "'..'");
	bad("a/..", -EINVAL, "'..'");
	bad(".lsm", -EINVAL, "reserved");
	bad(".lsm/stats", -EINVAL, "reserved");
	ck_assert_int_eq(ks_path_validate("a\0b", 3, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));

	char name[300];
	memset(name, 'n', 256);
	name[256] = '\0';
	bad(name, -ENAMETOOLONG, "255");
	name[255] = '\0';
	ck_assert_int_eq(ks_path_validate(name, 255, NULL), 0);
	char *path = malloc(5000);
	for (int i = 0; i < 4096; i += 2) {
		path[i] = 'p';
		path[i + 1] = '/';
	}
	path[4095] = '\0'; /* 4095 bytes, ends in 'p' */
	ck_assert_int_eq(ks_path_validate(path, 4095, NULL), 0);
	path[4095] = 'q';
	path[4096] = '\0';
	bad(path, -ENAMETOOLONG, "4096");
	free(path);
}
END_TEST

START_TEST(format_is_idempotent)
{
	struct ks_super sb;
	struct ks_stat st;
	ck_assert_int_eq(ks_super_load(db, &sb), -ENOENT);
	ck_assert_int_eq(ks_format(db), 0);
	ck_assert_int_eq(ks_super_load(db, &sb), 0);
	ck_assert_uint_eq(sb.version, KS_FORMAT_VERSION);
	ck_assert_uint_eq(sb.next_ino, 2);
	ck_assert_int_eq(ks_format(db), 0);
	ck_assert_int_eq(ks_super_load(db, &sb), 0);
	ck_assert_uint_eq(sb.next_ino, 2);
	/* a newer format is refused */
	char k[1], v[KS_SUPER_LEN];
	struct ks_super nb = { KS_FORMAT_VERSION + 1, 2 };
	ks_super_encode(v, &nb);
	ck_assert_int_eq(lsm_put(db, k, ks_super_key(k), v, sizeof v), 0);
	ck_assert_int_eq(ks_format(db), -EPROTONOSUPPORT);
	ck_assert_int_eq(ks_path_stat(db, "x", 1, &st), -ENOENT);
}
END_TEST

START_TEST(write_read_replace)
{
	struct ks_stat st, st2;
	char *v;
	ck_assert_int_eq(put("user:123", "hello"), 0);
	ck_assert_str_eq(v = get("user:123"), "hello");
	free(v);
	ck_assert_int_eq(put("a/b/c", "deep"), 0);
	ck_assert_str_eq(v = get("a/b/c"), "deep");
	free(v);
	ck_assert_int_eq(ks_path_stat(db, "a/b/c", 5, &st), 0);
	ck_assert(S_ISREG(st.mode));
	ck_assert_uint_eq(st.size, 4);
	ck_assert_uint_eq(st.nlink, 1);
	ck_assert_int_eq(ks_path_stat(db, "a", 1, &st2), 0);
	ck_assert(S_ISDIR(st2.mode));
	ck_assert_uint_eq(st2.nlink, 3); /* ., a/b's .. */
	ck_assert_int_eq(ks_path_stat(db, "a/b", 3, &st2), 0);
	ck_assert_uint_eq(st2.nlink, 2);
	/* replacing keeps the inode */
	ck_assert_int_eq(put("a/b/c", "a longer value"), 0);
	ck_assert_int_eq(ks_path_stat(db, "a/b/c", 5, &st2), 0);
	ck_assert_uint_eq(st2.ino, st.ino);
	ck_assert_str_eq(v = get("a/b/c"), "a longer value");
	free(v);
	ck_assert_int_eq(put("a/b/c", ""), 0);
	ck_assert_str_eq(v = get("a/b/c"), "");
	free(v);
	/* a second file in an existing directory gets a new inode */
	ck_assert_int_eq(put("a/b/d", "x"), 0);
	ck_assert_int_eq(ks_path_stat(db, "a/b/d", 5, &st2), 0);
	ck_assert_uint_ne(st2.ino, st.ino);
	reopen();
	ck_assert_str_eq(v = get("a/b/d"), "x");
	free(v);
}
END_TEST

START_TEST(write_errors)
{
	char *v;
	size_t n;
	ck_assert_int_eq(put("f", "file"), 0);
	ck_assert_int_eq(put("f/x", "y"), -ENOTDIR);
	ck_assert_int_eq(put("d/x", "y"), 0);
	ck_assert_int_eq(put("d", "y"), -EISDIR);
	ck_assert_int_eq(put("a//b", "y"), -EINVAL);
	ck_assert_int_eq(put(".lsm/x", "y"), -EINVAL);
	ck_assert_int_eq(ks_file_read(db, "d", 1, &v, &n), -EISDIR);
	ck_assert_int_eq(ks_file_read(db, "nope", 4, &v, &n), -ENOENT);
	ck_assert_int_eq(ks_file_read(db, "f/x", 3, &v, &n), -ENOTDIR);
	ck_assert_int_eq(ks_file_delete(db, "d", 1, 0), -EISDIR);
	ck_assert_int_eq(ks_file_delete(db, "nope", 4, 0), -ENOENT);
	/* nothing was half-written by the failures */
	ck_assert_str_eq(v = get("f"), "file");
	free(v);
	ck_assert_str_eq(v = get("d/x"), "y");
	free(v);
}
END_TEST

START_TEST(big_value_chunks)
{
	size_t len = 3 * KS_CHUNK_SIZE + 1234;
	char *big = malloc(len), *v;
	size_t n;
	for (size_t i = 0; i < len; i++)
		big[i] = (char)(i * 7 + i / 1000);
	ck_assert_int_eq(ks_file_write(db, "big", 3, big, len, LSM_WRITE_SYNC),
			 0);
	ck_assert_int_eq(ks_file_read(db, "big", 3, &v, &n), 0);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(v, big, len) == 0);
	free(v);
	/* shrinking deletes the chunks past the end */
	ck_assert_int_eq(ks_file_write(db, "big", 3, big, 10, 0), 0);
	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	int chunks = 0;
	for (lsm_iter_seek_first(it); lsm_iter_valid(it); lsm_iter_next(it)) {
		size_t kl;
		const char *k = lsm_iter_key(it, &kl);
		chunks += k[0] == KS_CHUNK;
	}
	lsm_iter_free(it);
	ck_assert_int_eq(chunks, 1);
	ck_assert_int_eq(ks_file_read(db, "big", 3, &v, &n), 0);
	ck_assert_uint_eq(n, 10);
	ck_assert(memcmp(v, big, 10) == 0);
	free(v);
	free(big);
}
END_TEST

START_TEST(delete_file)
{
	struct ks_stat st;
	ck_assert_int_eq(put("dir/f", "data"), 0);
	ck_assert_int_eq(ks_file_delete(db, "dir/f", 5, LSM_WRITE_SYNC), 0);
	ck_assert_int_eq(ks_path_stat(db, "dir/f", 5, &st), -ENOENT);
	ck_assert_int_eq(ks_path_stat(db, "dir", 3, &st), 0);
	ck_assert(S_ISDIR(st.mode));
	/* no record of the file is left */
	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	int n = 0;
	for (lsm_iter_seek_first(it); lsm_iter_valid(it); lsm_iter_next(it)) {
		size_t kl;
		const char *k = lsm_iter_key(it, &kl);
		ck_assert(k[0] != KS_CHUNK);
		n += k[0] == KS_INODE;
	}
	lsm_iter_free(it);
	ck_assert_int_eq(n, 2); /* root and dir */
}
END_TEST

struct listing {
	char out[4096];
	size_t len;
	int stop_after;
	int calls;
};

static int collect(void *ctx, const char *path, size_t plen, uint64_t len)
{
	struct listing *l = ctx;
	ck_assert_uint_eq(strlen(path), plen);
	l->len += (size_t)snprintf(l->out + l->len, sizeof l->out - l->len,
				   "%s=%llu ", path, (unsigned long long)len);
	if (++l->calls == l->stop_after)
		return 42;
	return 0;
}

static const char *walk(const char *prefix)
{
	static struct listing l;
	memset(&l, 0, sizeof l);
	ck_assert_int_eq(ks_walk(db, prefix, strlen(prefix), collect, &l), 0);
	return l.out;
}

START_TEST(walk_in_key_order)
{
	/* byte order of the full keys: '-' < '.' < '/' < '0' */
	const char *keys[] = { "a/b", "a", "a.b", "a-c/x", "a/c/d", "ab",
			       "a0", "b/x/y", "b/x.z", "B" };
	char dummy[8];
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		if (strcmp(keys[i], "a") == 0)
			continue; /* "a" is a directory here */
		memset(dummy, 'v', sizeof dummy);
		ck_assert_int_eq(ks_file_write(db, keys[i], strlen(keys[i]),
					       dummy, strlen(keys[i]), 0), 0);
	}
	ck_assert_str_eq(walk(""), "B=1 a-c/x=5 a.b=3 a/b=3 a/c/d=5 a0=2 "
				   "ab=2 b/x.z=5 b/x/y=5 ");
	ck_assert_str_eq(walk("a"), "a-c/x=5 a.b=3 a/b=3 a/c/d=5 a0=2 ab=2 ");
	ck_assert_str_eq(walk("a/"), "a/b=3 a/c/d=5 ");
	ck_assert_str_eq(walk("a/c"), "a/c/d=5 ");
	ck_assert_str_eq(walk("b/x"), "b/x.z=5 b/x/y=5 ");
	ck_assert_str_eq(walk("nope/"), "");
	ck_assert_str_eq(walk("a.b/"), "");
	ck_assert_str_eq(walk("zz"), "");
	ck_assert_str_eq(walk("/a"), "");
	/* the callback can stop the walk */
	struct listing l;
	memset(&l, 0, sizeof l);
	l.stop_after = 2;
	ck_assert_int_eq(ks_walk(db, "", 0, collect, &l), 42);
	ck_assert_int_eq(l.calls, 2);
}
END_TEST

START_TEST(fdata_holes_and_truncate)
{
	const uint64_t ino = 500, CS = KS_CHUNK_SIZE;
	struct inode_attr a = { 0 };
	struct lsm_batch *b;
	char buf[300000];
	size_t n;
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	/* write 10 bytes at 2 chunks + 5: chunks 0 and 1 stay holes */
	ck_assert_int_eq(fdata_write(db, ino, &a, 2 * CS + 5, "0123456789",
				     10, b), 0);
	ck_assert_int_eq(lsm_batch_count(b), 1);
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	ck_assert_uint_eq(a.size, 2 * CS + 15);
	ck_assert_uint_eq(a.stored, 15);
	memset(buf, 'x', sizeof buf);
	ck_assert_int_eq(fdata_read(db, NULL, ino, a.size, 0, sizeof buf, buf,
				    &n), 0);
	ck_assert_uint_eq(n, 2 * CS + 15);
	for (size_t i = 0; i < 2 * CS + 5; i++)
		ck_assert_int_eq(buf[i], 0);
	ck_assert(memcmp(buf + 2 * CS + 5, "0123456789", 10) == 0);
	/* reading past EOF yields nothing */
	ck_assert_int_eq(fdata_read(db, NULL, ino, a.size, a.size, 10, buf,
				    &n), 0);
	ck_assert_uint_eq(n, 0);

	/* a write spanning a chunk boundary merges with the old bytes */
	lsm_batch_clear(b);
	ck_assert_int_eq(fdata_write(db, ino, &a, 2 * CS - 2, "ABCD", 4, b),
			 0);
	ck_assert_int_eq(lsm_batch_count(b), 2);
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	ck_assert_uint_eq(a.stored, CS + 15);
	ck_assert_int_eq(fdata_read(db, NULL, ino, a.size, 2 * CS - 2, 10, buf,
				    &n), 0);
	ck_assert_uint_eq(n, 10);
	ck_assert(memcmp(buf, "ABCD\0\0\0" "012", 10) == 0);

	/* truncate into chunk 2, then grow: the cut bytes read as zeros */
	lsm_batch_clear(b);
	ck_assert_int_eq(fdata_truncate(db, ino, &a, 2 * CS + 7, b), 0);
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	ck_assert_uint_eq(a.stored, CS + 7);
	lsm_batch_clear(b);
	ck_assert_int_eq(fdata_truncate(db, ino, &a, 3 * CS, b), 0);
	ck_assert_int_eq(lsm_batch_count(b), 0);
	ck_assert_int_eq(fdata_read(db, NULL, ino, a.size, 2 * CS, 20, buf,
				    &n), 0);
	ck_assert(memcmp(buf, "CD\0\0\0" "01\0\0\0\0", 11) == 0);
	/* truncate to a chunk boundary deletes that chunk whole */
	lsm_batch_clear(b);
	ck_assert_int_eq(fdata_truncate(db, ino, &a, 2 * CS, b), 0);
	ck_assert_int_eq(lsm_batch_count(b), 1);
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	ck_assert_uint_eq(a.stored, CS);
	lsm_batch_clear(b);
	ck_assert_int_eq(fdata_truncate(db, ino, &a, 0, b), 0);
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	ck_assert_uint_eq(a.stored, 0);
	ck_assert_uint_eq(a.size, 0);
	/* failure path: a write past the size limit */
	lsm_batch_clear(b);
	ck_assert_int_eq(fdata_write(db, ino, &a, FDATA_MAX_SIZE, "x", 1, b),
			 -EFBIG);
	ck_assert_int_eq(fdata_truncate(db, ino, &a, FDATA_MAX_SIZE + 1, b),
			 -EFBIG);
	lsm_batch_free(b);
}
END_TEST

START_TEST(purge_inode_removes_everything)
{
	const uint64_t ino = 77;
	struct inode_attr a = { 0 };
	struct lsm_batch *b;
	char k[KS_NAME_KEY_MAX];
	static char data[200000];
	ck_assert_int_eq(lsm_batch_new(&b), 0);
	ck_assert_int_eq(fdata_write(db, ino, &a, 0, data, sizeof data, b), 0);
	ck_assert_int_eq(lsm_batch_put(b, k, ks_xattr_key(k, ino, "user.a", 6),
				       "v", 1), 0);
	ck_assert_int_eq(lsm_batch_put(b, k, ks_inode_key(k, ino), "i", 1), 0);
	ck_assert_int_eq(lsm_batch_put(b, k, ks_orphan_key(k, ino), "", 0), 0);
	ck_assert_int_eq(lsm_batch_put(b, k, ks_inode_key(k, ino + 1), "i", 1),
			 0);
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	lsm_batch_clear(b);
	ck_assert_int_eq(ks_purge_inode(db, ino, b), 0);
	ck_assert_int_eq(lsm_write(db, b, 0), 0);
	lsm_batch_free(b);
	struct lsm_iter *it;
	ck_assert_int_eq(lsm_iter_new(db, NULL, &it), 0);
	lsm_iter_seek_first(it);
	ck_assert(lsm_iter_valid(it));
	size_t kl;
	const char *key = lsm_iter_key(it, &kl);
	ck_assert_uint_eq(kl, 9);
	ck_assert_uint_eq(ks_get_be64(key + 1), ino + 1);
	lsm_iter_next(it);
	ck_assert(!lsm_iter_valid(it));
	lsm_iter_free(it);
}
END_TEST

static Suite *keyspace_suite(void)
{
	Suite *s = suite_create("keyspace");
	TCase *tc = tcase_create("encoding");
	tcase_add_test(tc, keys_sort_numerically);
	tcase_add_test(tc, key_decode_roundtrip);
	tcase_add_test(tc, dentry_and_super_values);
	tcase_add_test(tc, inode_roundtrip);
	tcase_add_test(tc, path_validation);
	suite_add_tcase(s, tc);
	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, format_is_idempotent);
	tcase_add_test(tc, write_read_replace);
	tcase_add_test(tc, write_errors);
	tcase_add_test(tc, big_value_chunks);
	tcase_add_test(tc, delete_file);
	tcase_add_test(tc, walk_in_key_order);
	tcase_add_test(tc, fdata_holes_and_truncate);
	tcase_add_test(tc, purge_inode_removes_everything);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run("check_keyspace", keyspace_suite());
}
