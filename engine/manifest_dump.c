/* manifest_dump.c - prints every version edit of a MANIFEST for humans
 * (`lsm dump-manifest`); see manifest_dump() in version.h. */
#include "config.h"
#include "version.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "dbformat.h"
#include "lsm.h"
#include "manifest_format.h"
#include "wal_reader.h"

/* Longest key prefix printed; longer keys end in "...". */
#define DUMP_KEY_MAX 64

static void put_user_key(FILE *out, struct slice k)
{
	size_t n = k.len < DUMP_KEY_MAX ? k.len : DUMP_KEY_MAX;
	fputc('\'', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k.data[i];
		if (c == '\'' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, out);
		else
			fprintf(out, "\\x%02x", c);
	}
	fputc('\'', out);
	if (n < k.len)
		fputs("...", out);
}

/* 'user key' @ seq type */
static void put_ikey(FILE *out, struct slice ik)
{
	if (ik.len < 8) {
		fputs("(malformed key)", out);
		return;
	}
	put_user_key(out, ikey_user(ik));
	fprintf(out, " @ %" PRIu64 " %s", ikey_seq(ik),
		ikey_type(ik) == TYPE_VALUE    ? "value"
		: ikey_type(ik) == TYPE_DELETE ? "delete"
					       : "?");
}

static const char *reason_name(uint32_t reason)
{
	switch (reason) {
	case 1:
		return "flush";
	case 2:
		return "compaction";
	default:
		return "unknown";
	}
}

static void put_edit(FILE *out, const struct version_edit *e)
{
	if (e->has_log_number)
		fprintf(out, "  log_number %06" PRIu64 "\n", e->log_number);
	if (e->has_next_file_number)
		fprintf(out, "  next_file_number %" PRIu64 "\n",
			e->next_file_number);
	if (e->has_last_sequence)
		fprintf(out, "  last_sequence %" PRIu64 "\n", e->last_sequence);
	for (size_t i = 0; i < e->ncptrs; i++) {
		fprintf(out, "  compact_pointer L%d ", e->cptrs[i].level);
		put_ikey(out, buf_slice(&e->cptrs[i].ikey));
		fputc('\n', out);
	}
	for (size_t i = 0; i < e->ndeleted; i++)
		fprintf(out, "  delete L%d %06" PRIu64 ".sst\n",
			e->deleted[i].level, e->deleted[i].number);
	for (size_t i = 0; i < e->nadded; i++) {
		const struct file_meta *f = e->added[i].f;
		char when[32] = "?";
		time_t t = (time_t)f->created_unix;
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(out, "  add L%d %06" PRIu64 ".sst size %" PRIu64 "\n",
			e->added[i].level, f->number, f->file_size);
		fputs("    smallest ", out);
		put_ikey(out, buf_slice(&f->smallest));
		fputs("\n    largest ", out);
		put_ikey(out, buf_slice(&f->largest));
		fprintf(out,
			"\n    entries %" PRIu64 " tombstones %" PRIu64
			" seq %" PRIu64 "..%" PRIu64 " created %" PRIu64
			" (%s) reason %s\n",
			f->entries, f->tombstones, f->min_seq, f->max_seq,
			f->created_unix, when, reason_name(f->reason));
	}
}

int manifest_dump(struct lsm_env *env, const char *path, FILE *out)
{
	struct wal_reader *r;
	struct version_edit e;
	uint64_t records = 0;
	int rc = wal_reader_new(env, path, MANIFEST_MAGIC,
				LSM_WAL_RECOVERY_STRICT, &r);
	if (rc)
		return rc;
	version_edit_init(&e);
	fprintf(out, "%s\n", path);
	for (;;) {
		uint8_t type;
		struct slice payload;
		rc = wal_reader_next(r, &type, &payload);
		if (rc <= 0)
			break;
		uint64_t off = wal_reader_offset(r);
		records++;
		fprintf(out,
			"record %" PRIu64 " at offset %" PRIu64
			" (%zu bytes)%s\n",
			records, off, payload.len,
			records == 1 ? " snapshot" : "");
		if (type != MANIFEST_RECORD_EDIT) {
			fprintf(out, "  error: unknown record type %u\n", type);
			rc = -EIO;
			break;
		}
		rc = version_edit_decode(&e, payload);
		if (rc) {
			fprintf(out, "  error: malformed version edit\n");
			break;
		}
		put_edit(out, &e);
	}
	if (rc < 0)
		fprintf(out, "error after %" PRIu64 " records: %s\n", records,
			strerror(-rc));
	else
		fprintf(out, "%" PRIu64 " records, %" PRIu64 " bytes dropped\n",
			records, wal_reader_dropped_bytes(r));
	version_edit_release(&e);
	wal_reader_free(r);
	return rc < 0 ? rc : 0;
}
