/*
 * fuzz_wal.c - libFuzzer target: the framed-record reader (wal_reader) and
 * WAL replay's batch decoding over arbitrary bytes.
 *
 * The first input byte picks the mode:
 *   bit 0  magic: WAL or MANIFEST
 *   bit 1  recovery: STRICT or SKIP
 *   bit 2  raw: the rest is the file as is (the framing parser, torn tails,
 *          resynchronisation); framed: the rest is cut into chunks that are
 *          written as well-formed records (so payloads reach the batch
 *          decoder past the checksums), with an optional raw tail
 * Properties: no crash, the reader stops, every record it returns is
 * inside the file, and a payload that decodes as a batch iterates exactly
 * its count of entries.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "batch.h"
#include "env.h"
#include "fuzz_util.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"

static int wal_fuzz_visit(void *ctx, uint64_t seq, enum entry_type type,
			  struct slice key, struct slice value)
{
	uint32_t *n = ctx;
	(void)seq;
	FUZZ_CHECK(type == TYPE_VALUE || type == TYPE_DELETE);
	FUZZ_CHECK(type == TYPE_VALUE || value.len == 0);
	/* touch the bytes: ASan checks they are inside the batch */
	volatile char sink = 0;
	if (key.len)
		sink ^= key.data[key.len - 1];
	if (value.len)
		sink ^= value.data[value.len - 1];
	(void)sink;
	(*n)++;
	return 0;
}

static void wal_fuzz_replay(struct slice payload)
{
	struct lsm_batch *b;
	if (lsm_batch_new(&b))
		return;
	if (batch_set_rep(b, payload) == 0 && batch_iterate(b, NULL, NULL) == 0) {
		uint32_t n = 0;
		FUZZ_CHECK(batch_iterate(b, wal_fuzz_visit, &n) == 0);
		FUZZ_CHECK(n == lsm_batch_count(b));
	}
	lsm_batch_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_scratch_dir(); /* silences the log */
	char path[256];
	struct fuzz_in in = { data, size };
	unsigned mode = fuzz_byte(&in);
	const char *magic = mode & 1 ? "LSMMAN01" : WAL_MAGIC;
	int recovery = mode & 2 ? LSM_WAL_RECOVERY_SKIP
				: LSM_WAL_RECOVERY_STRICT;
	fuzz_path(path, sizeof path, "000001.wal");

	if (mode & 4) {
		struct wal_writer *w;
		if (wal_writer_new(env_posix(), path, magic, &w))
			return 0;
		while (in.n > 1) {
			const void *chunk;
			unsigned type = fuzz_byte(&in);
			size_t len = fuzz_chunk(&in, 255, &chunk);
			if (type == 255)
				break; /* the rest is a raw tail */
			wal_writer_add(w, (uint8_t)(type % 3 ? 1 : type),
				       slice_make(chunk, len));
		}
		wal_writer_close(w);
		if (in.n) {
			FILE *f = fopen(path, "ab");
			if (f) {
				fwrite(in.p, 1, in.n, f);
				fclose(f);
			}
		}
	} else if (fuzz_write_file(path, in.p, in.n)) {
		return 0;
	}

	struct wal_reader *r;
	if (wal_reader_new(env_posix(), path, magic, recovery, &r))
		return 0;
	struct stat st;
	FUZZ_CHECK(stat(path, &st) == 0);
	uint64_t records = 0;
	for (;;) {
		uint8_t type;
		struct slice payload;
		int rc = wal_reader_next(r, &type, &payload);
		if (rc <= 0) {
			FUZZ_CHECK(rc == 0 || rc == -EIO);
			break;
		}
		records++;
		FUZZ_CHECK(type != 0);
		FUZZ_CHECK(wal_reader_offset(r) + WAL_RECORD_HEADER_LEN +
				   payload.len <=
			   (uint64_t)st.st_size);
		FUZZ_CHECK(records <= (uint64_t)st.st_size);
		if (type == WAL_RECORD_BATCH)
			wal_fuzz_replay(payload);
	}
	FUZZ_CHECK(wal_reader_dropped_bytes(r) <= (uint64_t)st.st_size);
	wal_reader_free(r);
	return 0;
}
