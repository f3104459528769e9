/* wal_reader.c - reads framed records, dropping torn tails; see wal_reader.h. */
#include "config.h"
#include "wal_reader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "env.h"
#include "log.h"
#include "lsm.h"
#include "wal_format.h"

/* A window grown past this for one big record shrinks back afterwards. */
#define WAL_READ_SHRINK (4 * WAL_READ_CHUNK)

struct wal_reader {
	struct lsm_env *env;
	struct env_rfile *file;
	char *path;       /* owned copy */
	const char *name; /* base name inside path, for messages */
	int mode;         /* enum lsm_wal_recovery */
	uint64_t size;    /* file size at open; nothing past it is read */
	uint64_t pos;     /* offset of the next record to parse */
	uint64_t last;    /* see wal_reader_offset() */
	uint64_t dropped;
	bool done;
	int err; /* sticky */

	/* Invariant: win[0..win_len) holds the file bytes at
	 * [win_off, win_off + win_len); win_len <= win_cap. */
	char *win;
	size_t win_len, win_cap;
	uint64_t win_off;
};

/*
 * Points *p at file bytes [off, off + n), reading them into the window when
 * they are not all there. Requires off + n <= r->size. When the window
 * moves, bytes before off are discarded and the buffer may be reallocated:
 * a pointer from an earlier call is invalid after this one.
 */
static int window_get(struct wal_reader *r, uint64_t off, size_t n,
		      const char **p)
{
	if (off >= r->win_off && off - r->win_off <= r->win_len &&
	    n <= r->win_len - (off - r->win_off)) {
		*p = r->win + (off - r->win_off);
		return 0;
	}

	size_t keep = 0;
	if (off >= r->win_off && off - r->win_off < r->win_len) {
		keep = r->win_len - (size_t)(off - r->win_off);
		memmove(r->win, r->win + (off - r->win_off), keep);
	}
	r->win_off = off;
	r->win_len = keep;

	/* keep < n <= want: the kept bytes always fit */
	size_t want = n > WAL_READ_CHUNK ? n : WAL_READ_CHUNK;
	if (want > r->size - off)
		want = (size_t)(r->size - off);
	if (want > r->win_cap) {
		char *nw = realloc(r->win, want);
		if (!nw)
			return -ENOMEM;
		r->win = nw;
		r->win_cap = want;
	} else if (r->win_cap > WAL_READ_SHRINK && want <= WAL_READ_CHUNK) {
		char *nw = realloc(r->win, WAL_READ_CHUNK);
		if (nw) {
			r->win = nw;
			r->win_cap = WAL_READ_CHUNK;
		}
	}

	size_t got;
	int rc = r->env->rfile_read(r->file, off + keep, r->win + keep,
				    want - keep, &got);
	if (rc)
		return rc;
	if (got != want - keep) {
		lsm_log("short read of '%s' at offset %llu: file shrank",
			r->name, (unsigned long long)(off + keep + got));
		return -EIO;
	}
	r->win_len = want;
	*p = r->win;
	return 0;
}

/*
 * Checks the record at off. Returns 1 when it is good (*type and *payload
 * set, the payload in the window), 0 when it is damaged (*why says how), or
 * a negative errno when reading failed.
 */
static int check_record(struct wal_reader *r, uint64_t off, uint8_t *type,
			struct slice *payload, const char **why)
{
	uint64_t avail = r->size - off;
	const char *h;
	if (avail < WAL_RECORD_HEADER_LEN) {
		*why = "truncated record header";
		return 0;
	}
	int rc = window_get(r, off, WAL_RECORD_HEADER_LEN, &h);
	if (rc)
		return rc;
	uint32_t len = decode_fixed32(h + 4);
	uint8_t t = (uint8_t)h[8];
	if (len > WAL_MAX_PAYLOAD) {
		*why = "bad record length";
		return 0;
	}
	if (len > avail - WAL_RECORD_HEADER_LEN) {
		*why = "record runs past end of file";
		return 0;
	}
	if (t == WAL_RECORD_RESERVED) {
		*why = "bad record type 0";
		return 0;
	}
	rc = window_get(r, off, WAL_RECORD_HEADER_LEN + (size_t)len, &h);
	if (rc)
		return rc;
	/* the crc covers the type byte and the payload, which follow it */
	uint32_t crc = crc32c(h + 8, 1 + (size_t)len);
	if (crc32c_mask(crc) != decode_fixed32(h)) {
		*why = "checksum mismatch";
		return 0;
	}
	*type = t;
	*payload = slice_make(h + WAL_RECORD_HEADER_LEN, len);
	return 1;
}

/* Finds the first offset >= from where a good record starts; *next is
 * r->size when there is none. */
static int resync(struct wal_reader *r, uint64_t from, uint64_t *next)
{
	uint8_t t;
	struct slice pl;
	const char *why;
	for (uint64_t off = from; r->size - off >= WAL_RECORD_HEADER_LEN; off++) {
		int rc = check_record(r, off, &t, &pl, &why);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			*next = off;
			return 0;
		}
	}
	*next = r->size;
	return 0;
}

static void drop_tail(struct wal_reader *r, uint64_t off)
{
	uint64_t n = r->size - off;
	if (n > 0)
		lsm_log("dropped torn tail of '%s' at offset %llu (%llu bytes)",
			r->name, (unsigned long long)off,
			(unsigned long long)n);
	r->dropped += n;
	r->pos = r->size;
	r->done = true;
}

int wal_reader_new(struct lsm_env *env, const char *path, const char magic[8],
		   int recovery_mode, struct wal_reader **out)
{
	struct wal_reader *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	int rc = -ENOMEM;
	r->env = env;
	r->mode = recovery_mode;
	if (!(r->path = strdup(path)))
		goto fail;
	const char *slash = strrchr(r->path, '/');
	r->name = slash ? slash + 1 : r->path;

	rc = env->new_rfile(env, path, &r->file);
	if (rc)
		goto fail;
	rc = env->rfile_size(r->file, &r->size);
	if (rc)
		goto fail;
	if (r->size < WAL_HEADER_LEN) {
		/* a crash right after creation */
		drop_tail(r, 0);
		*out = r;
		return 0;
	}
	const char *h;
	rc = window_get(r, 0, WAL_HEADER_LEN, &h);
	if (rc)
		goto fail;
	if (memcmp(h, magic, WAL_MAGIC_LEN) != 0) {
		lsm_log("corrupt header in '%s' at offset 0: bad magic, "
			"expected '%.8s'", r->name, magic);
		rc = -EIO;
		goto fail;
	}
	r->pos = WAL_HEADER_LEN;
	*out = r;
	return 0;

fail:
	wal_reader_free(r);
	return rc;
}

int wal_reader_next(struct wal_reader *r, uint8_t *type, struct slice *payload)
{
	if (r->err)
		return r->err;
	while (!r->done) {
		uint64_t off = r->pos;
		if (off == r->size) {
			r->done = true;
			break;
		}
		const char *why = "";
		int rc = check_record(r, off, type, payload, &why);
		if (rc == 1) {
			r->last = off;
			r->pos = off + WAL_RECORD_HEADER_LEN + payload->len;
			return 1;
		}
		uint64_t next = 0;
		if (rc == 0)
			rc = resync(r, off + 1, &next);
		if (rc < 0) {
			r->err = rc;
			return rc;
		}
		if (next == r->size) {
			drop_tail(r, off);
			break;
		}
		if (r->mode != LSM_WAL_RECOVERY_SKIP) {
			lsm_log("corrupt record in '%s' at offset %llu: %s",
				r->name, (unsigned long long)off, why);
			r->last = off;
			r->err = -EIO;
			return -EIO;
		}
		lsm_log("corrupt record in '%s' at offset %llu: %s; "
			"skipped %llu bytes", r->name, (unsigned long long)off,
			why, (unsigned long long)(next - off));
		r->dropped += next - off;
		r->pos = next;
	}
	return 0;
}

uint64_t wal_reader_offset(const struct wal_reader *r)
{
	return r->last;
}

uint64_t wal_reader_dropped_bytes(const struct wal_reader *r)
{
	return r->dropped;
}

void wal_reader_free(struct wal_reader *r)
{
	if (!r)
		return;
	if (r->file)
		r->env->rfile_close(r->file);
	free(r->win);
	free(r->path);
	free(r);
}
