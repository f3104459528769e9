/* wal_writer.c - appends framed records to a log; see wal_writer.h. */
#include "config.h"
#include "wal_writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "coding.h"
#include "crc32c.h"
#include "env.h"
#include "wal_format.h"

/* The record buffer is kept between adds to avoid a malloc per record, but
 * not when one huge record blew it up past this. The bound sits well above
 * the batches of lsmfs's largest writes (OPS_MAX_WRITE, 1 MiB of chunk data
 * plus keys): a buffer freed after each of those came back as a fresh mmap
 * whose pages were faulted in again by every record. It caps what an idle
 * writer holds at 4 MiB. */
#define WAL_WRITER_KEEP_BUF (4u << 20)

struct wal_writer {
	struct lsm_env *env;
	struct env_wfile *file;
	char *path;       /* for wal_writer_salvage */
	struct buf rec;   /* header + payload of the record being written */
	uint64_t size;    /* bytes appended successfully */
	uint64_t syncs;
	int err;          /* first env error; sticky */
	bool append_failed; /* err came from an append */
	bool salvaged;      /* wal_writer_salvage() succeeded */
};

int wal_writer_new(struct lsm_env *env, const char *path, const char magic[8],
		   struct wal_writer **out)
{
	struct wal_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->env = env;
	int rc = -ENOMEM;
	if (!(w->path = strdup(path)))
		goto fail_free;
	rc = env->new_wfile(env, path, &w->file);
	if (rc)
		goto fail_free;
	rc = env->wfile_append(w->file, magic, WAL_MAGIC_LEN);
	if (rc)
		goto fail_close;
	w->size = WAL_MAGIC_LEN;
	*out = w;
	return 0;

fail_close:
	env->wfile_close(w->file);
fail_free:
	free(w->path);
	free(w);
	return rc;
}

int wal_writer_add(struct wal_writer *w, uint8_t type, struct slice payload)
{
	if (w->err)
		return w->err;
	if (type == WAL_RECORD_RESERVED || payload.len > WAL_MAX_PAYLOAD)
		return -EINVAL;

	buf_clear(&w->rec);
	int rc = buf_reserve(&w->rec, WAL_RECORD_HEADER_LEN + payload.len);
	if (rc)
		return rc;
	char *h = w->rec.data;
	char t = (char)type;
	uint32_t crc = crc32c_extend(crc32c(&t, 1), payload.data, payload.len);
	encode_fixed32(h, crc32c_mask(crc));
	encode_fixed32(h + 4, (uint32_t)payload.len);
	h[8] = t;
	w->rec.len = WAL_RECORD_HEADER_LEN;
	buf_append(&w->rec, payload.data, payload.len); /* reserved above */

	rc = w->env->wfile_append(w->file, w->rec.data, w->rec.len);
	if (rc) {
		w->err = rc;
		w->append_failed = true;
	} else
		w->size += w->rec.len;
	if (w->rec.cap > WAL_WRITER_KEEP_BUF)
		buf_release(&w->rec);
	return rc;
}

int wal_writer_sync(struct wal_writer *w)
{
	if (w->err)
		return w->err;
	int rc = w->env->wfile_sync(w->file);
	if (rc)
		w->err = rc;
	else
		w->syncs++;
	return rc;
}

uint64_t wal_writer_size(const struct wal_writer *w)
{
	return w->size;
}

uint64_t wal_writer_syncs(const struct wal_writer *w)
{
	return w->syncs;
}

int wal_writer_error(const struct wal_writer *w)
{
	return w->err;
}

bool wal_writer_out_of_space(const struct wal_writer *w)
{
	return w->err == -ENOSPC && w->append_failed;
}

int wal_writer_salvage(struct wal_writer *w)
{
	if (!wal_writer_out_of_space(w))
		return -EINVAL;
	if (w->salvaged)
		return 0;
	/*
	 * The env's file offset may now lie past w->size, so nothing may be
	 * appended after the cut; the sticky -ENOSPC sees to that. The cut
	 * matters because a partial record could hold (in its payload) bytes
	 * that look like a good record, which recovery would then take for
	 * damage in the middle of the log.
	 */
	int rc = w->env->truncate(w->env, w->path, w->size);
	if (!rc)
		rc = w->env->wfile_sync(w->file);
	if (rc) {
		w->err = rc;
		w->append_failed = false;
		return rc;
	}
	w->syncs++;
	w->salvaged = true;
	return 0;
}

int wal_writer_close(struct wal_writer *w)
{
	if (!w)
		return 0;
	int rc = w->env->wfile_close(w->file);
	if (w->err)
		rc = w->err;
	buf_release(&w->rec);
	free(w->path);
	free(w);
	return rc;
}
