/*
 * fuzz_sst.c - libFuzzer target: the SSTable reader over arbitrary bytes.
 *
 * The first input byte picks the mode:
 *   0..63    the rest is a table file as is: open, iterate both ways, seek,
 *            get every key seen, verify
 *   64..127  the same after "fixing" the checksums: the footer's, and the
 *            trailer of every block the footer and the index name, so the
 *            fuzzer gets past the CRCs into the block, index, filter,
 *            properties and zstd decoders
 *   128..191 the rest is one block's contents: a block iterator walks it
 *   192..255 the rest is a properties block: sst_props_decode
 * Properties: no crash, and a table that sst_reader_verify() passes
 * iterates its keys in strictly increasing order (the reader itself
 * trusts the order: only a writer bug, not damage, can break it, since the
 * checksums hold).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "block_iter.h"
#include "buf.h"
#include "coding.h"
#include "crc32c.h"
#include "dbformat.h"
#include "env.h"
#include "fuzz_util.h"
#include "sst_format.h"
#include "sst_reader.h"

/* Rewrites the trailer crc of block h (contents + type byte) in data. */
static void sst_fuzz_fix_block(char *data, size_t size, uint64_t off,
			       uint64_t len)
{
	if (off > size || len > size - off ||
	    SST_BLOCK_TRAILER_SIZE > size - off - len)
		return;
	uint32_t crc = crc32c(data + off, (size_t)len + 1);
	encode_fixed32(data + off + len + 1, crc32c_mask(crc));
}

static void sst_fuzz_fix(char *data, size_t size)
{
	if (size < SST_FOOTER_SIZE)
		return;
	char *f = data + size - SST_FOOTER_SIZE;
	encode_fixed32(f + 52, crc32c_mask(crc32c(f, 52)));
	for (int h = 0; h < 3; h++)
		sst_fuzz_fix_block(data, size, decode_fixed64(f + 16 * h),
				   decode_fixed64(f + 16 * h + 8));
	/* the data blocks the (raw) index names */
	uint64_t ioff = decode_fixed64(f + 16), ilen = decode_fixed64(f + 24);
	if (ioff > size || ilen > size - ioff || ilen + 5 > size - ioff ||
	    data[ioff + ilen] != SST_COMPRESS_NONE)
		return;
	struct iter *it;
	if (block_iter_new(data + ioff, (size_t)ilen, "fuzz", ioff, &it))
		return;
	int n = 0;
	for (iter_seek_first(it); iter_valid(it) && n < 4096; iter_next(it), n++) {
		struct slice v = iter_value(it);
		uint64_t off, len;
		const char *p = decode_varint64(v.data, v.data + v.len, &off);
		if (p && decode_varint64(p, v.data + v.len, &len))
			sst_fuzz_fix_block(data, size, off, len);
	}
	iter_free(it);
	/* the index block's own crc changes nothing we just touched */
}

static void sst_fuzz_table(const char *path)
{
	struct sst_reader *r;
	if (sst_reader_open(env_posix(), path, 0, NULL, NULL, &r))
		return;
	const struct sst_props *props = sst_reader_props(r);
	(void)props;
	struct iter *it;
	if (sst_reader_iter_new(r, &it)) {
		sst_reader_free(r);
		return;
	}
	struct buf prev = BUF_INIT, keys = BUF_INIT;
	bool ordered = true;
	int n = 0;
	for (iter_seek_first(it); iter_valid(it) && n < 20000; iter_next(it), n++) {
		struct slice k = iter_key(it);
		struct slice v = iter_value(it);
		volatile char sink = v.len ? v.data[v.len - 1] : 0;
		(void)sink;
		if (n > 0 && (prev.len < 8 || k.len < 8 ||
			      ikey_cmp(buf_slice(&prev), k) >= 0))
			ordered = false;
		buf_set(&prev, k.data, k.len);
		/* remember a few keys for gets */
		if (n < 64 && k.len >= 8) {
			char len[4];
			encode_fixed32(len, (uint32_t)k.len);
			buf_append(&keys, len, 4);
			buf_append(&keys, k.data, k.len);
		}
	}
	bool clean = iter_status(it) == 0 && n < 20000;
	for (iter_seek_last(it); iter_valid(it) && n > 0; iter_prev(it), n--)
		;
	iter_free(it);

	for (size_t off = 0; off + 4 <= keys.len;) {
		uint32_t len = decode_fixed32(keys.data + off);
		struct slice ik = slice_make(keys.data + off + 4, len);
		off += 4 + len;
		char *val = NULL;
		size_t vlen = 0;
		int rc = sst_reader_get(r, ikey_user(ik), ikey_seq(ik), &val,
					&vlen);
		/* a key the iterator saw in a clean table is found (or an
		 * earlier entry of it answers, or a block failed) */
		if (clean)
			FUZZ_CHECK(rc == LOOKUP_FOUND || rc == LOOKUP_DELETED ||
				   rc == LOOKUP_NOT_FOUND || rc < 0);
		free(val);
		if (sst_reader_iter_new(r, &it) == 0) {
			iter_seek(it, ik);
			if (iter_valid(it))
				iter_next(it);
			iter_free(it);
		}
	}
	if (sst_reader_verify(r, NULL) == 0 && clean)
		FUZZ_CHECK(ordered);
	buf_release(&prev);
	buf_release(&keys);
	sst_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_scratch_dir(); /* silences the log */
	char path[256];
	struct fuzz_in in = { data, size };
	unsigned mode = fuzz_byte(&in);
	if (mode < 128) {
		char *copy = malloc(in.n + 1);
		if (!copy)
			return 0;
		memcpy(copy, in.p, in.n);
		if (mode >= 64)
			sst_fuzz_fix(copy, in.n);
		fuzz_path(path, sizeof path, "000007.sst");
		if (fuzz_write_file(path, copy, in.n) == 0)
			sst_fuzz_table(path);
		free(copy);
	} else if (mode < 192) {
		/* a private copy: ASan catches reads past the block */
		char *copy = malloc(in.n ? in.n : 1);
		struct iter *it;
		if (!copy)
			return 0;
		memcpy(copy, in.p, in.n);
		if (block_iter_new(copy, in.n, "fuzz", 0, &it) == 0) {
			int n = 0;
			for (iter_seek_first(it); iter_valid(it) && n < 10000;
			     iter_next(it), n++)
				;
			for (iter_seek_last(it); iter_valid(it) && n > 0;
			     iter_prev(it), n--)
				;
			iter_seek(it, slice_make("m\0\0\0\0\0\0\0\1", 9));
			if (iter_valid(it))
				iter_prev(it);
			iter_free(it);
		}
		free(copy);
	} else {
		char *copy = malloc(in.n ? in.n : 1);
		if (!copy)
			return 0;
		memcpy(copy, in.p, in.n);
		struct sst_props p;
		const char *why = NULL;
		if (sst_props_decode(slice_make(copy, in.n), &p, &why))
			FUZZ_CHECK(why != NULL);
		sst_props_release(&p); /* also a partly decoded one */
		free(copy);
	}
	return 0;
}
