/*
 * wal_dump.c - a human-readable listing of a WAL segment, for
 * tools/lsm-dump-wal; see wal_dump() in wal_reader.h. Output:
 *
 *   'PATH': magic LSMWAL01
 *   offset 8 length 33 type 1 (batch) seq 100 count 2
 *     seq 100 put key 'a\x00b' value 5 bytes
 *     seq 101 delete key 'c'
 *   end: 1 records, 0 bytes dropped
 */
#include "config.h"
#include "wal_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "batch.h"
#include "env.h"
#include "lsm.h"
#include "wal_format.h"

/* Prints s in single quotes, bytes outside printable ASCII (and the quote
 * and backslash) as \xNN. */
static void print_escaped(FILE *out, struct slice s)
{
	fputc('\'', out);
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.data[i];
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			fputc(c, out);
		else
			fprintf(out, "\\x%02x", c);
	}
	fputc('\'', out);
}

static int print_entry(void *ctx, uint64_t seq, enum entry_type type,
		       struct slice key, struct slice value)
{
	FILE *out = ctx;
	fprintf(out, "  seq %" PRIu64 " %s key ", seq,
		type == TYPE_VALUE ? "put" : "delete");
	print_escaped(out, key);
	if (type == TYPE_VALUE)
		fprintf(out, " value %zu bytes", value.len);
	fputc('\n', out);
	return 0;
}

static int dump_batch(FILE *out, struct lsm_batch *b, struct slice payload)
{
	int rc = batch_set_rep(b, payload);
	if (rc == -EIO)
		fprintf(out, "\n  malformed batch: %zu bytes, shorter than "
			"its header\n", payload.len);
	if (rc)
		return rc;
	fprintf(out, " seq %" PRIu64 " count %" PRIu32 "\n", batch_sequence(b),
		lsm_batch_count(b));
	rc = batch_iterate(b, print_entry, out);
	if (rc == -EIO)
		fprintf(out, "  malformed batch: entries do not match the "
			"count\n");
	return rc;
}

int wal_dump(struct lsm_env *env, const char *path, FILE *out)
{
	struct wal_reader *r;
	struct lsm_batch *b;
	int rc = lsm_batch_new(&b);
	if (rc)
		return rc;
	rc = wal_reader_new(env, path, WAL_MAGIC, LSM_WAL_RECOVERY_STRICT, &r);
	if (rc)
		goto out_batch;
	fprintf(out, "'%s': magic %s\n", path, WAL_MAGIC);

	uint64_t records = 0;
	int bad = 0;
	uint8_t type;
	struct slice payload;
	while ((rc = wal_reader_next(r, &type, &payload)) == 1) {
		records++;
		fprintf(out, "offset %" PRIu64 " length %zu type %u",
			wal_reader_offset(r), payload.len, type);
		if (type == WAL_RECORD_BATCH) {
			fputs(" (batch)", out);
			int brc = dump_batch(out, b, payload);
			if (brc && !bad)
				bad = brc;
		} else {
			fputs(" (unknown)\n", out);
		}
	}
	if (rc < 0) {
		fprintf(out, "error: reading stopped at offset %" PRIu64
			": %s\n", wal_reader_offset(r), strerror(-rc));
	} else {
		fprintf(out, "end: %" PRIu64 " records, %" PRIu64
			" bytes dropped\n", records,
			wal_reader_dropped_bytes(r));
		rc = bad;
	}
	wal_reader_free(r);
out_batch:
	lsm_batch_free(b);
	return rc;
}
