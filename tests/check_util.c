/*
 * check_util.c - tests for the engine's utility modules: crc32c.c (known
 * vectors, hardware vs portable path, masking), coding.h (fixed and varint
 * encodings, truncation), buf.c, filename.c and log.c.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "coding.h"
#include "crc32c.h"
#include "filename.h"
#include "log.h"
#include "lsm.h"

/* Exported by engine/crc32c.c for this test: always the table walk. */
uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t n);

/*
 * buf_reserve's -ENOMEM path asks malloc for ~2^63 bytes; under ASan or TSan
 * (--enable-sanitizers, --enable-tsan) the allocator must return NULL as
 * libc's does instead of aborting. The sanitizer runtimes call these hooks
 * when present; without a sanitizer they are unused.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* Deterministic pseudo-random bytes (xorshift64). */
static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* Bit-at-a-time CRC-32C: slow, obviously right, shares no code with
 * crc32c.c. */
static uint32_t crc_reference(uint32_t crc, const void *data, size_t n)
{
	const unsigned char *p = data;
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

/*
 * crc32c
 */

START_TEST(test_crc_check_value)
{
	ck_assert_uint_eq(crc32c("123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(crc32c_extend_portable(0, "123456789", 9),
			  0xe3069283u);
	ck_assert_uint_eq(crc32c("", 0), 0);
	ck_assert_uint_eq(crc32c(NULL, 0), 0);
}
END_TEST

/* RFC 3720 (iSCSI) appendix B.4 test vectors. */
START_TEST(test_crc_iscsi_vectors)
{
	unsigned char buf[32];
	static const unsigned char read_pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
		0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};

	memset(buf, 0, sizeof buf);
	ck_assert_uint_eq(crc32c(buf, sizeof buf), 0x8a9136aau);
	ck_assert_uint_eq(crc32c_extend_portable(0, buf, sizeof buf),
			  0x8a9136aau);

	memset(buf, 0xff, sizeof buf);
	ck_assert_uint_eq(crc32c(buf, sizeof buf), 0x62a8ab43u);
	ck_assert_uint_eq(crc32c_extend_portable(0, buf, sizeof buf),
			  0x62a8ab43u);

	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	ck_assert_uint_eq(crc32c(buf, sizeof buf), 0x46dd794eu);
	ck_assert_uint_eq(crc32c_extend_portable(0, buf, sizeof buf),
			  0x46dd794eu);

	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	ck_assert_uint_eq(crc32c(buf, sizeof buf), 0x113fdb5cu);
	ck_assert_uint_eq(crc32c_extend_portable(0, buf, sizeof buf),
			  0x113fdb5cu);

	ck_assert_uint_eq(crc32c(read_pdu, sizeof read_pdu), 0xd9963a56u);
	ck_assert_uint_eq(crc32c_extend_portable(0, read_pdu, sizeof read_pdu),
			  0xd9963a56u);
}
END_TEST

START_TEST(test_crc_values_differ)
{
	ck_assert_uint_ne(crc32c("a", 1), crc32c("foo", 3));
	ck_assert_uint_ne(crc32c("a", 1), crc32c("b", 1));
}
END_TEST

START_TEST(test_crc_extend)
{
	ck_assert_uint_eq(crc32c("hello world", 11),
			  crc32c_extend(crc32c("hello ", 6), "world", 5));
	ck_assert_uint_eq(crc32c_extend(crc32c("hello", 5), "", 0),
			  crc32c("hello", 5));
}
END_TEST

/*
 * Every length 0..1024 at every misalignment 0..7: the dispatched path (SSE4.2
 * when the CPU has it), the portable path and the bitwise reference agree,
 * also when continuing from a non-zero crc.
 */
START_TEST(test_crc_hw_vs_portable)
{
	enum { MAXLEN = 1024, MAXOFF = 8 };
	unsigned char *mem = malloc(MAXLEN + MAXOFF);
	ck_assert_ptr_nonnull(mem);
	fill_random(mem, MAXLEN + MAXOFF, 0x1234567);

	for (size_t off = 0; off < MAXOFF; off++) {
		for (size_t n = 0; n <= MAXLEN; n++) {
			const unsigned char *p = mem + off;
			uint32_t seed = (uint32_t)(n * 2654435761u);
			uint32_t hw = crc32c_extend(seed, p, n);
			uint32_t sw = crc32c_extend_portable(seed, p, n);
			ck_assert_msg(hw == sw,
				      "len %zu off %zu: dispatched %08x, "
				      "portable %08x",
				      n, off, hw, sw);
			if (off == 0 || n < 64)
				ck_assert_uint_eq(sw,
						  crc_reference(seed, p, n));
		}
	}
	free(mem);
}
END_TEST

/*
 * Lengths around the three-way split's run sizes (3 * 256 and 3 * 8192
 * bytes, and sums of them) and long random ones, at odd offsets and from
 * a non-zero crc: the dispatched path agrees with the portable one.
 */
START_TEST(test_crc_long_inputs)
{
	enum { MAXLEN = 200000 };
	unsigned char *mem = malloc(MAXLEN + 8);
	ck_assert_ptr_nonnull(mem);
	fill_random(mem, MAXLEN + 8, 77);
	static const size_t runs[] = { 768, 24576, 24576 + 768, 2 * 24576,
				       65536 + 17, 3 * 65536 };
	for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
		for (size_t d = 0; d <= 16; d++) {
			for (size_t off = 0; off < 8; off += 3) {
				size_t n = runs[r] + d - 8;
				uint32_t seed = (uint32_t)(n * 40503u + off);
				ck_assert_uint_eq(
					crc32c_extend(seed, mem + off, n),
					crc32c_extend_portable(seed, mem + off,
							       n));
			}
		}
	}
	uint64_t x = 12345;
	for (int i = 0; i < 200; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		size_t n = (size_t)(x >> 33) % MAXLEN, off = (size_t)(x >> 20) & 7;
		ck_assert_uint_eq(crc32c_extend(0, mem + off, n),
				  crc32c_extend_portable(0, mem + off, n));
	}
	free(mem);
}
END_TEST

/* Splitting the input anywhere gives the same crc on both paths. */
START_TEST(test_crc_split)
{
	unsigned char buf[300];
	fill_random(buf, sizeof buf, 99);
	uint32_t whole = crc32c(buf, sizeof buf);
	for (size_t cut = 0; cut <= sizeof buf; cut++) {
		uint32_t a = crc32c_extend(crc32c(buf, cut), buf + cut,
					   sizeof buf - cut);
		uint32_t b = crc32c_extend_portable(
			crc32c_extend_portable(0, buf, cut), buf + cut,
			sizeof buf - cut);
		ck_assert_uint_eq(a, whole);
		ck_assert_uint_eq(b, whole);
	}
}
END_TEST

START_TEST(test_crc_mask)
{
	uint32_t crcs[] = { 0,
			    1,
			    0xffffffffu,
			    0x8a9136aau,
			    crc32c("foo", 3),
			    CRC32C_MASK_DELTA };
	for (size_t i = 0; i < sizeof crcs / sizeof crcs[0]; i++) {
		uint32_t c = crcs[i];
		ck_assert_uint_ne(crc32c_mask(c), c);
		ck_assert_uint_ne(crc32c_mask(crc32c_mask(c)), c);
		ck_assert_uint_eq(crc32c_unmask(crc32c_mask(c)), c);
		ck_assert_uint_eq(crc32c_unmask(crc32c_unmask(
					  crc32c_mask(crc32c_mask(c)))),
				  c);
	}
	uint64_t x = 7;
	for (int i = 0; i < 100000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t c = (uint32_t)(x >> 32);
		ck_assert_uint_eq(crc32c_unmask(crc32c_mask(c)), c);
	}
}
END_TEST

/*
 * coding.h
 */

START_TEST(test_fixed_byte_order)
{
	char b[8];
	encode_fixed32(b, 0x04030201u);
	ck_assert_mem_eq(b, "\x01\x02\x03\x04", 4);
	ck_assert_uint_eq(decode_fixed32(b), 0x04030201u);

	encode_fixed64(b, 0x0807060504030201ull);
	ck_assert_mem_eq(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	ck_assert_uint_eq(decode_fixed64(b), 0x0807060504030201ull);

	encode_fixed32(b, 0xffffffffu);
	ck_assert_uint_eq(decode_fixed32(b), 0xffffffffu);
	encode_fixed64(b, UINT64_MAX);
	ck_assert_uint_eq(decode_fixed64(b), UINT64_MAX);
	encode_fixed64(b, 0x80000000ull);
	ck_assert_uint_eq(decode_fixed64(b), 0x80000000ull);
}
END_TEST

/* Round-trips v; checks the encoded length and that every strict prefix of
 * the encoding is rejected as truncated. */
static void varint64_roundtrip(uint64_t v)
{
	char b[16];
	char *end = encode_varint64(b, v);
	int len = (int)(end - b);
	ck_assert_int_eq(len, varint_length(v));
	ck_assert_int_ge(len, 1);
	ck_assert_int_le(len, 10);

	uint64_t got = ~v;
	const char *p = decode_varint64(b, end, &got);
	ck_assert_ptr_eq(p, end);
	ck_assert_uint_eq(got, v);

	/* trailing bytes are not consumed */
	memset(end, 0x7f, 4);
	p = decode_varint64(b, end + 4, &got);
	ck_assert_ptr_eq(p, end);
	ck_assert_uint_eq(got, v);

	for (int cut = 0; cut < len; cut++)
		ck_assert_ptr_null(decode_varint64(b, b + cut, &got));
}

START_TEST(test_varint64_boundaries)
{
	for (int bits = 0; bits <= 64; bits++) {
		uint64_t v =
			bits == 64 ? UINT64_MAX : (bits ? (1ull << bits) : 0);
		varint64_roundtrip(v);
		if (v > 0)
			varint64_roundtrip(v - 1);
		if (v < UINT64_MAX)
			varint64_roundtrip(v + 1);
	}
	/* one byte per 7 bits */
	ck_assert_int_eq(varint_length(0), 1);
	ck_assert_int_eq(varint_length(127), 1);
	ck_assert_int_eq(varint_length(128), 2);
	ck_assert_int_eq(varint_length(16383), 2);
	ck_assert_int_eq(varint_length(16384), 3);
	ck_assert_int_eq(varint_length(UINT32_MAX), 5);
	ck_assert_int_eq(varint_length(UINT64_MAX), 10);
}
END_TEST

START_TEST(test_varint_encoding_bytes)
{
	char b[10];
	ck_assert_int_eq(encode_varint32(b, 300) - b, 2);
	ck_assert_mem_eq(b, "\xac\x02", 2);
	ck_assert_int_eq(encode_varint64(b, 0) - b, 1);
	ck_assert_int_eq(b[0], 0);
}
END_TEST

START_TEST(test_varint32)
{
	uint32_t vals[] = { 0,
			    1,
			    127,
			    128,
			    16383,
			    16384,
			    (1u << 21) - 1,
			    1u << 21,
			    (1u << 28) - 1,
			    1u << 28,
			    UINT32_MAX };
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		char b[8];
		char *end = encode_varint32(b, vals[i]);
		uint32_t got = 0;
		ck_assert_ptr_eq(decode_varint32(b, end, &got), end);
		ck_assert_uint_eq(got, vals[i]);
		for (char *cut = b; cut < end; cut++)
			ck_assert_ptr_null(decode_varint32(b, cut, &got));
	}
}
END_TEST

START_TEST(test_varint32_rejects_large)
{
	char b[16];
	uint32_t got = 7;
	char *end = encode_varint64(b, (uint64_t)UINT32_MAX + 1);
	ck_assert_ptr_null(decode_varint32(b, end, &got));
	ck_assert_uint_eq(got, 7); /* untouched on failure */
	end = encode_varint64(b, UINT64_MAX);
	ck_assert_ptr_null(decode_varint32(b, end, &got));
}
END_TEST

START_TEST(test_varint_too_long)
{
	/* eleven continuation bytes: longer than any 64-bit varint */
	char b[16];
	uint64_t got = 5;
	memset(b, 0x80, sizeof b);
	ck_assert_ptr_null(decode_varint64(b, b + sizeof b, &got));
	ck_assert_uint_eq(got, 5);
	/* an empty input is truncated too */
	ck_assert_ptr_null(decode_varint64(b, b, &got));
}
END_TEST

START_TEST(test_lenprefixed)
{
	struct buf b = BUF_INIT;
	const char *data;
	size_t len;

	ck_assert_int_eq(buf_put_lenprefixed(&b, "hello", 5), 0);
	ck_assert_int_eq(buf_put_lenprefixed(&b, "", 0), 0);
	ck_assert_uint_eq(b.len, 6 + 1);

	const char *p = b.data, *limit = b.data + b.len;
	p = decode_lenprefixed(p, limit, &data, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(data, "hello", 5);
	p = decode_lenprefixed(p, limit, &data, &len);
	ck_assert_ptr_eq(p, limit);
	ck_assert_uint_eq(len, 0);

	/* the length promises more bytes than there are */
	for (size_t cut = 0; cut < 6; cut++)
		ck_assert_ptr_null(
			decode_lenprefixed(b.data, b.data + cut, &data, &len));
	buf_release(&b);
}
END_TEST

/*
 * buf.c
 */

START_TEST(test_buf_empty)
{
	struct buf b = BUF_INIT;
	struct buf z;
	memset(&z, 0, sizeof z);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(buf_slice(&b).len, 0);
	ck_assert_int_eq(buf_append(&z, "x", 1), 0);
	ck_assert_uint_eq(z.len, 1);
	ck_assert_int_eq(buf_append(&z, NULL, 0), 0);
	ck_assert_uint_eq(z.len, 1);
	buf_release(&z);
	buf_release(&b); /* releasing an empty buffer is fine */
	ck_assert_ptr_null(z.data);
	ck_assert_uint_eq(z.len, 0);
	ck_assert_uint_eq(z.cap, 0);
}
END_TEST

START_TEST(test_buf_append_grows)
{
	struct buf b = BUF_INIT;
	unsigned char src[5000];
	fill_random(src, sizeof src, 5);
	size_t total = 0;
	for (size_t n = 0; total + n <= sizeof src; n++) {
		ck_assert_int_eq(buf_append(&b, src + total, n), 0);
		total += n;
		ck_assert_uint_eq(b.len, total);
		ck_assert_uint_ge(b.cap, b.len);
	}
	ck_assert_mem_eq(b.data, src, total);

	size_t cap = b.cap;
	buf_clear(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_int_eq(buf_append_byte(&b, 0xab), 0);
	ck_assert_uint_eq((unsigned char)b.data[0], 0xab);
	buf_release(&b);
	ck_assert_int_eq(buf_append(&b, "again", 5), 0);
	ck_assert_mem_eq(b.data, "again", 5);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_reserve)
{
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_reserve(&b, 1000), 0);
	ck_assert_uint_ge(b.cap, 1000);
	ck_assert_uint_eq(b.len, 0);
	char *before = b.data;
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_append_byte(&b, (uint8_t)i), 0);
	ck_assert_ptr_eq(b.data, before); /* reserved room is used in place */
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_reserve_overflow)
{
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_append(&b, "0123456789", 10), 0);
	size_t cap = b.cap;
	char *data = b.data;

	/* len + n wraps around */
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX - 5), -ENOMEM);
	/* no wrap, but no such memory */
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX / 2), -ENOMEM);
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 2), -ENOMEM);

	/* contents unchanged on failure */
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_mem_eq(b.data, "0123456789", 10);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_put_encodings)
{
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_put_fixed32(&b, 0x04030201u), 0);
	ck_assert_int_eq(buf_put_fixed64(&b, 0x0c0b0a0908070605ull), 0);
	ck_assert_int_eq(buf_put_varint32(&b, 300), 0);
	ck_assert_int_eq(buf_put_varint64(&b, UINT64_MAX), 0);
	ck_assert_int_eq(buf_put_varint32(&b, 0), 0);
	ck_assert_uint_eq(b.len, 4 + 8 + 2 + 10 + 1);
	ck_assert_mem_eq(b.data,
			 "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
			 "\x0b\x0c\xac\x02",
			 14);

	const char *p = b.data + 12, *limit = b.data + b.len;
	uint32_t v32;
	uint64_t v64;
	p = decode_varint32(p, limit, &v32);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(v32, 300);
	p = decode_varint64(p, limit, &v64);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(v64, UINT64_MAX);
	p = decode_varint32(p, limit, &v32);
	ck_assert_ptr_eq(p, limit);
	ck_assert_uint_eq(v32, 0);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_lenprefixed_too_long)
{
	struct buf b = BUF_INIT;
	char c = 'x';
	/* the length is checked before the data is touched */
	ck_assert_int_eq(buf_put_lenprefixed(&b, &c, (size_t)UINT32_MAX + 1),
			 -EINVAL);
	ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_set)
{
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_set(&b, "hello", 5), 0);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_mem_eq(b.data, "hello", 5);
	ck_assert_int_eq(buf_set(&b, "a much longer string", 20), 0);
	ck_assert_uint_eq(b.len, 20);
	ck_assert_mem_eq(b.data, "a much longer string", 20);
	/* from inside itself: keep a suffix */
	ck_assert_int_eq(buf_set(&b, b.data + 7, 13), 0);
	ck_assert_uint_eq(b.len, 13);
	ck_assert_mem_eq(b.data, "longer string", 13);
	ck_assert_int_eq(buf_set(&b, NULL, 0), 0);
	ck_assert_uint_eq(b.len, 0);

	struct slice s = buf_slice(&b);
	ck_assert_uint_eq(s.len, 0);
	ck_assert_int_eq(buf_set(&b, "xyz", 3), 0);
	s = buf_slice(&b);
	ck_assert(slice_eq(s, slice_make("xyz", 3)));
	buf_release(&b);
}
END_TEST

/*
 * filename.c
 */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

START_TEST(test_filename_format)
{
	char out[FILENAME_MAX_LEN];
	ck_assert_str_eq(filename_sst(out, "/d", 7), "/d/000007.sst");
	ck_assert_str_eq(filename_wal(out, "/d", 123), "/d/000123.wal");
	ck_assert_str_eq(filename_manifest(out, "/d", 1), "/d/MANIFEST-000001");
	ck_assert_str_eq(filename_current(out, "/d"), "/d/CURRENT");
	ck_assert_str_eq(filename_lock(out, "/d"), "/d/LOCK");
	ck_assert_ptr_eq(filename_lock(out, "x"), out);
	/* numbers wider than six digits are not truncated */
	ck_assert_str_eq(filename_sst(out, ".", 12345678), "./12345678.sst");
}
END_TEST

START_TEST(test_filename_roundtrip)
{
	static const uint64_t nums[] = { 0,          1,
					 99999,      999999,
					 1000000,    UINT32_MAX,
					 1ull << 40, 10000000000000000000ull };
	char out[FILENAME_MAX_LEN];
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		uint64_t n = nums[i], got;

		got = ~n;
		filename_sst(out, "dir", n);
		ck_assert_int_eq(filename_parse(base_name(out), &got),
				 FILE_SST);
		ck_assert_uint_eq(got, n);

		got = ~n;
		filename_wal(out, "dir", n);
		ck_assert_int_eq(filename_parse(base_name(out), &got),
				 FILE_WAL);
		ck_assert_uint_eq(got, n);

		got = ~n;
		filename_manifest(out, "dir", n);
		ck_assert_int_eq(filename_parse(base_name(out), &got),
				 FILE_MANIFEST);
		ck_assert_uint_eq(got, n);
	}
	uint64_t got;
	filename_current(out, "dir");
	ck_assert_int_eq(filename_parse(base_name(out), &got), FILE_CURRENT);
	filename_lock(out, "dir");
	ck_assert_int_eq(filename_parse(base_name(out), &got), FILE_LOCK);
}
END_TEST

START_TEST(test_filename_parse_accepts)
{
	uint64_t n = 0;
	ck_assert_int_eq(filename_parse("7.wal", &n), FILE_WAL);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(filename_parse("0000000000042.sst", &n), FILE_SST);
	ck_assert_uint_eq(n, 42);
	ck_assert_int_eq(filename_parse("MANIFEST-5", &n), FILE_MANIFEST);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(filename_parse("000001.sst.tmp", &n), FILE_TEMP);
	ck_assert_int_eq(filename_parse("CURRENT.tmp", &n), FILE_TEMP);
	ck_assert_int_eq(filename_parse("x.tmp", &n), FILE_TEMP);
}
END_TEST

START_TEST(test_filename_parse_rejects)
{
	static const char *bad[] = {
		"",
		"LOCK2",
		"lock",
		"current",
		"CURRENT.",
		"MANIFEST",
		"MANIFEST-",
		"MANIFEST-12a",
		"MANIFEST-+1",
		"MANIFEST--1",
		"MANIFEST- 1",
		"manifest-000001",
		".sst",
		"x.sst",
		"-1.sst",
		"+1.sst",
		" 1.sst",
		"1 .wal",
		"0x10.sst",
		"000001.SST",
		"000001.log",
		"000001.sst.bak",
		"000001.wal~",
		"000001",
		"sst",
		"99999999999999999999.sst", /* does not fit in 64 bits */
		"MANIFEST-184467440737095516150",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t n = 0;
		ck_assert_msg(filename_parse(bad[i], &n) == FILE_UNKNOWN,
			      "'%s' should not parse", bad[i]);
	}
}
END_TEST

START_TEST(test_filename_long_dir)
{
	/* a directory name longer than the buffer is truncated, never
	 * overflowed */
	size_t dlen = FILENAME_MAX_LEN + 100;
	char *dir = malloc(dlen + 1);
	char out[FILENAME_MAX_LEN];
	ck_assert_ptr_nonnull(dir);
	memset(dir, 'd', dlen);
	dir[dlen] = '\0';
	filename_sst(out, dir, 1);
	ck_assert_uint_eq(strlen(out), FILENAME_MAX_LEN - 1);
	free(dir);
}
END_TEST

/*
 * log.c
 */

struct captured {
	int calls;
	char line[2048];
};

static void capture(void *ctx, const char *line)
{
	struct captured *c = ctx;
	c->calls++;
	snprintf(c->line, sizeof c->line, "%s", line);
}

START_TEST(test_log_handler)
{
	struct captured c = { 0, "" };
	lsm_set_log_handler(capture, &c);
	lsm_log("corrupt block in '%s' at offset %d: %s", "000123.sst", 40960,
		"checksum mismatch");
	ck_assert_int_eq(c.calls, 1);
	ck_assert_str_eq(c.line, "lsm: corrupt block in '000123.sst' at "
				 "offset 40960: checksum mismatch");

	/* overlong lines are cut, not overflowed */
	char big[3000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	lsm_log("%s", big);
	ck_assert_int_eq(c.calls, 2);
	ck_assert_uint_lt(strlen(c.line), sizeof big);
	ck_assert_int_eq(strncmp(c.line, "lsm: xxx", 8), 0);

	/* NULL silences */
	lsm_set_log_handler(NULL, NULL);
	lsm_log("nobody hears this");
	ck_assert_int_eq(c.calls, 2);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc;

	tc = tcase_create("crc32c");
	tcase_add_test(tc, test_crc_check_value);
	tcase_add_test(tc, test_crc_iscsi_vectors);
	tcase_add_test(tc, test_crc_values_differ);
	tcase_add_test(tc, test_crc_extend);
	tcase_add_test(tc, test_crc_hw_vs_portable);
	tcase_add_test(tc, test_crc_long_inputs);
	tcase_add_test(tc, test_crc_split);
	tcase_add_test(tc, test_crc_mask);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("coding");
	tcase_add_test(tc, test_fixed_byte_order);
	tcase_add_test(tc, test_varint64_boundaries);
	tcase_add_test(tc, test_varint_encoding_bytes);
	tcase_add_test(tc, test_varint32);
	tcase_add_test(tc, test_varint32_rejects_large);
	tcase_add_test(tc, test_varint_too_long);
	tcase_add_test(tc, test_lenprefixed);
	suite_add_tcase(s, tc);

	tc = tcase_create("buf");
	tcase_add_test(tc, test_buf_empty);
	tcase_add_test(tc, test_buf_append_grows);
	tcase_add_test(tc, test_buf_reserve);
	tcase_add_test(tc, test_buf_reserve_overflow);
	tcase_add_test(tc, test_buf_put_encodings);
	tcase_add_test(tc, test_buf_lenprefixed_too_long);
	tcase_add_test(tc, test_buf_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("filename");
	tcase_add_test(tc, test_filename_format);
	tcase_add_test(tc, test_filename_roundtrip);
	tcase_add_test(tc, test_filename_parse_accepts);
	tcase_add_test(tc, test_filename_parse_rejects);
	tcase_add_test(tc, test_filename_long_dir);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, test_log_handler);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(util_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
