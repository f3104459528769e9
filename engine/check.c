/*
 * check.c - lsm_check(): offline verification of a store directory (`lsm
 * check`); see lsm.h for the contract.
 *
 * The check reads the files directly, never through lsm_open(): a store
 * that recovery refuses must still be diagnosable, and recovery writes (a
 * new MANIFEST, L0 tables from the WAL) where a check must change nothing.
 * So the MANIFEST is replayed here into a version builder, read-only, and
 * every table and WAL segment is opened with the readers the engine uses.
 *
 * Findings are one line each on the report stream, naming the file and,
 * where there is one, the byte offset:
 *   'NAME' at offset OFF: WHAT            corruption (counted)
 *   warning: 'NAME': WHAT                 harmless, or fixed by lsm_open
 * The engine's own log lines (sst_reader, wal_reader) still go to the log
 * handler; the report repeats what they say with the offset.
 */
#include "config.h"
#include "lsm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "block_iter.h"
#include "dbformat.h"
#include "env.h"
#include "filename.h"
#include "manifest_format.h"
#include "sst_reader.h"
#include "version.h"
#include "version_builder.h"
#include "version_edit.h"
#include "wal_format.h"
#include "wal_reader.h"

#define NO_OFFSET UINT64_MAX

/* Where the MANIFEST added a table: lets a finding name the record. */
struct add_record {
	uint64_t number;
	uint64_t offset;
};

struct check {
	struct lsm_env *env;
	const char *dir;
	FILE *report;
	int problems, warnings;
	int tables, wals;

	char **names; /* the directory listing, after the lock was taken */
	size_t nnames;

	/* the MANIFEST checked (mnumber 0: none) */
	uint64_t mnumber;
	char mname[40];
	struct version_builder b;
	bool has_log, has_next, has_seq;
	uint64_t log_number, next_file, last_seq;
	struct add_record *adds;
	size_t nadds, cap_adds;

	uint64_t wal_seq; /* the last sequence seen in the WAL segments */
};

__attribute__((format(printf, 5, 6))) static void
finding(struct check *c, bool warn, const char *name, uint64_t off,
	const char *fmt, ...)
{
	if (warn)
		c->warnings++;
	else
		c->problems++;
	if (!c->report)
		return;
	va_list ap;
	fprintf(c->report, "%s'%s'", warn ? "warning: " : "", name);
	if (off != NO_OFFSET)
		fprintf(c->report, " at offset %" PRIu64, off);
	fputs(": ", c->report);
	va_start(ap, fmt);
	vfprintf(c->report, fmt, ap);
	va_end(ap);
	fputc('\n', c->report);
}

#define problem(c, ...) finding(c, false, __VA_ARGS__)
#define warning(c, ...) finding(c, true, __VA_ARGS__)

static char *path_of(char *out, const struct check *c, const char *name)
{
	snprintf(out, FILENAME_MAX_LEN, "%s/%s", c->dir, name);
	return out;
}

/* The record that added table number (the last one), or NO_OFFSET. */
static uint64_t add_offset(const struct check *c, uint64_t number)
{
	for (size_t i = c->nadds; i-- > 0;)
		if (c->adds[i].number == number)
			return c->adds[i].offset;
	return NO_OFFSET;
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	return (a > b) - (a < b);
}

/* The numbers of the files of kind in the listing, ascending; a malloc()ed
 * array (NULL when *n is 0). */
static int list_kind(const struct check *c, enum file_kind kind, uint64_t **out,
		     size_t *n)
{
	uint64_t *v = malloc((c->nnames + 1) * sizeof *v);
	size_t k = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->nnames; i++) {
		uint64_t number;
		if (filename_parse(c->names[i], &number) == kind)
			v[k++] = number;
	}
	qsort(v, k, sizeof *v, cmp_u64);
	*out = v;
	*n = k;
	return 0;
}

/* ---- CURRENT and the MANIFEST ---- */

/* The manifest CURRENT names, or 0 after reporting why there is none. */
static uint64_t read_current(struct check *c)
{
	char path[FILENAME_MAX_LEN], name[64];
	char *data = NULL;
	size_t n = 0;
	uint64_t number = 0;
	int rc = env_read_file(c->env, filename_current(path, c->dir), &data,
			       &n);
	if (rc == -ENOENT) {
		problem(c, "CURRENT", NO_OFFSET, "missing");
		return 0;
	}
	if (rc) {
		problem(c, "CURRENT", NO_OFFSET, "cannot read: %s",
			strerror(-rc));
		return 0;
	}
	bool ok = n >= 2 && n < sizeof name && data[n - 1] == '\n' &&
		  !memchr(data, '\0', n) && !memchr(data, '/', n);
	if (ok) {
		memcpy(name, data, n - 1);
		name[n - 1] = '\0';
		ok = filename_parse(name, &number) == FILE_MANIFEST;
	}
	free(data);
	if (!ok) {
		problem(c, "CURRENT", 0,
			"does not hold the name of a manifest and a newline");
		return 0;
	}
	if (c->env->exists(c->env, filename_manifest(path, c->dir, number))) {
		problem(c, "CURRENT", 0,
			"names 'MANIFEST-%06" PRIu64 "', which does not exist",
			number);
		return 0;
	}
	return number;
}

/* Applies one edit record found at off. Returns 0, -EIO after reporting a
 * bad edit (replay stops there), or -ENOMEM. */
static int replay_edit(struct check *c, const struct version_edit *e,
		       uint64_t off)
{
	char why[160];
	int rc = version_builder_apply(&c->b, e, why, sizeof why);
	if (rc == -EINVAL) {
		problem(c, c->mname, off, "version edit does not apply: %s",
			why);
		return -EIO;
	}
	if (rc)
		return rc;
	for (size_t i = 0; i < e->nadded; i++) {
		if (c->nadds == c->cap_adds) {
			size_t cap = c->cap_adds ? 2 * c->cap_adds : 64;
			void *p = realloc(c->adds, cap * sizeof *c->adds);
			if (!p)
				return -ENOMEM;
			c->adds = p;
			c->cap_adds = cap;
		}
		c->adds[c->nadds++] =
			(struct add_record){ e->added[i].f->number, off };
	}
	if (e->has_log_number) {
		c->has_log = true;
		c->log_number = e->log_number;
	}
	if (e->has_next_file_number) {
		c->has_next = true;
		c->next_file = e->next_file_number;
	}
	if (e->has_last_sequence) {
		c->has_seq = true;
		if (e->last_sequence > c->last_seq)
			c->last_seq = e->last_sequence;
	}
	return 0;
}

/* Replays MANIFEST-mnumber into c->b, reporting every problem. Returns 0
 * (also after corruption, which is counted) or -ENOMEM. */
static int replay_manifest(struct check *c)
{
	char path[FILENAME_MAX_LEN];
	struct wal_reader *r = NULL;
	struct version_edit e;
	uint64_t size = 0;
	int before = c->problems;
	filename_manifest(path, c->dir, c->mnumber);
	int rc = wal_reader_new(c->env, path, MANIFEST_MAGIC,
				LSM_WAL_RECOVERY_STRICT, &r);
	if (rc == -EIO) {
		problem(c, c->mname, 0, "not a manifest (bad magic)");
		return 0;
	}
	if (rc) {
		problem(c, c->mname, NO_OFFSET, "cannot read: %s",
			strerror(-rc));
		return 0;
	}
	c->env->file_size(c->env, path, &size);
	version_edit_init(&e);
	for (;;) {
		uint8_t type;
		struct slice payload;
		rc = wal_reader_next(r, &type, &payload);
		if (rc == -EIO) {
			problem(c, c->mname, wal_reader_offset(r),
				"corrupt record followed by good ones");
			break;
		}
		if (rc < 0) {
			problem(c, c->mname, NO_OFFSET, "cannot read: %s",
				strerror(-rc));
			rc = -EIO;
			break;
		}
		if (rc == 0) {
			uint64_t dropped = wal_reader_dropped_bytes(r);
			if (dropped)
				warning(c, c->mname, size - dropped,
					"torn last record (%" PRIu64
					" bytes, dropped on open)",
					dropped);
			break;
		}
		uint64_t off = wal_reader_offset(r);
		if (type != MANIFEST_RECORD_EDIT) {
			problem(c, c->mname, off, "unknown record type %u",
				type);
			rc = -EIO;
			break;
		}
		rc = version_edit_decode(&e, payload);
		if (rc == -EIO)
			problem(c, c->mname, off, "malformed version edit");
		else if (!rc)
			rc = replay_edit(c, &e, off);
		if (rc)
			break;
	}
	bool broken = rc == -EIO || c->problems > before;
	if (rc == -EIO)
		rc = 0;
	version_edit_release(&e);
	wal_reader_free(r);
	if (rc)
		return rc;
	if (!broken && (!c->has_next || !c->has_seq || !c->has_log))
		problem(c, c->mname, NO_OFFSET, "never records the %s",
			!c->has_next  ? "next file number"
			: !c->has_seq ? "last sequence"
				      : "log number");
	return 0;
}

/* ---- tables ---- */

/* Says which part of a table sst_reader_open() refused, and where. */
static void diagnose_table(struct check *c, const char *path, const char *name,
			   uint64_t size)
{
	struct env_rfile *f;
	struct sst_footer ft;
	struct buf block = BUF_INIT;
	const char *why = NULL;
	int before = c->problems;
	int rc = c->env->new_rfile(c->env, path, &f);
	if (rc) {
		problem(c, name, NO_OFFSET, "cannot open: %s", strerror(-rc));
		return;
	}
	rc = sst_read_footer(c->env, f, name, size, &ft);
	if (rc) {
		if (rc == -EIO)
			problem(c, name,
				size < SST_FOOTER_SIZE ? 0
						       : size - SST_FOOTER_SIZE,
				"corrupt footer (magic, checksum, version or "
				"size)");
		else
			problem(c, name, NO_OFFSET, "cannot read: %s",
				strerror(-rc));
		goto out;
	}
	uint64_t meta_end = size - SST_FOOTER_SIZE;
	rc = sst_read_block(c->env, f, name, ft.props, meta_end, &block, NULL,
			    &why);
	if (rc == -EIO) {
		problem(c, name, ft.props.offset, "properties block: %s", why);
	} else if (!rc) {
		struct sst_props p;
		if (sst_props_decode(buf_slice(&block), &p, &why) == -EIO)
			problem(c, name, ft.props.offset,
				"properties block: %s", why);
		else
			sst_props_release(&p);
	}
	rc = sst_read_block(c->env, f, name, ft.index, meta_end, &block, NULL,
			    &why);
	if (rc == -EIO) {
		problem(c, name, ft.index.offset, "index block: %s", why);
	} else if (!rc) {
		struct block_iter it;
		block_iter_init_empty(&it);
		if (block_iter_init(&it, block.data, block.len, name,
				    ft.index.offset))
			problem(c, name, ft.index.offset,
				"index block: bad restart array");
		block_iter_release(&it);
	}
	if (ft.filter.offset || ft.filter.size) {
		rc = sst_read_block(c->env, f, name, ft.filter, meta_end,
				    &block, NULL, &why);
		if (rc == -EIO)
			problem(c, name, ft.filter.offset, "filter block: %s",
				why);
		else if (!rc && block.len < 2)
			problem(c, name, ft.filter.offset,
				"filter block: too short");
	}
out:
	if (c->problems == before)
		problem(c, name, NO_OFFSET, "cannot open the table");
	buf_release(&block);
	c->env->rfile_close(f);
}

/* Runs sst_reader_verify(), counting the lines it reports as problems. */
static int verify_table(struct check *c, struct sst_reader *r, const char *name)
{
	char *text = NULL;
	size_t len = 0;
	FILE *ms = open_memstream(&text, &len);
	if (!ms)
		return -ENOMEM;
	int rc = sst_reader_verify(r, ms);
	fclose(ms);
	int lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	if (c->report && len)
		fwrite(text, 1, len, c->report);
	free(text);
	c->problems += lines;
	if (rc == -EIO && lines == 0)
		problem(c, name, NO_OFFSET, "verification failed");
	else if (rc && rc != -EIO)
		problem(c, name, NO_OFFSET, "cannot read: %s", strerror(-rc));
	return rc == -ENOMEM ? rc : 0;
}

static void compare_key(struct check *c, const char *name, uint64_t props_off,
			const char *which, struct slice actual,
			struct slice recorded, uint64_t add_off)
{
	if (!slice_eq(actual, recorded))
		problem(c, name, props_off,
			"%s key differs from the one '%s' records at offset "
			"%" PRIu64,
			which, c->mname, add_off);
}

/* Checks one table the manifest names at level. Returns 0 or -ENOMEM. */
static int check_table(struct check *c, int level, const struct file_meta *f)
{
	char path[FILENAME_MAX_LEN], name[32];
	struct sst_reader *r = NULL;
	uint64_t size = 0, add_off = add_offset(c, f->number);
	snprintf(name, sizeof name, "%06" PRIu64 ".sst", f->number);
	path_of(path, c, name);
	c->tables++;
	int rc = c->env->file_size(c->env, path, &size);
	if (rc == -ENOENT) {
		problem(c, c->mname, add_off,
			"names table '%s' (level %d), which does not exist",
			name, level);
		return 0;
	}
	if (rc) {
		problem(c, name, NO_OFFSET, "cannot stat: %s", strerror(-rc));
		return 0;
	}
	if (size != f->file_size)
		problem(c, name, size < f->file_size ? size : f->file_size,
			"the file has %" PRIu64 " bytes, '%s' records %" PRIu64
			" at offset %" PRIu64,
			size, c->mname, f->file_size, add_off);
	if (f->max_seq > c->last_seq && c->has_seq)
		problem(c, c->mname, add_off,
			"last sequence %" PRIu64 " is below the newest entry "
			"of '%s' (%" PRIu64 ")",
			c->last_seq, name, f->max_seq);
	if (c->has_next && f->number >= c->next_file)
		warning(c, c->mname, NO_OFFSET,
			"table '%s' is numbered at or above the next file "
			"number %" PRIu64,
			name, c->next_file);

	rc = sst_reader_open(c->env, path, f->number, NULL, NULL, &r);
	if (rc == -EIO) {
		diagnose_table(c, path, name, size);
		return 0;
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		problem(c, name, NO_OFFSET, "cannot open: %s", strerror(-rc));
		return 0;
	}
	rc = verify_table(c, r, name);
	struct sst_reader_parts parts;
	sst_reader_parts(r, &parts);
	const struct sst_props *p = parts.props;
	uint64_t poff = parts.footer.props.offset;
	compare_key(c, name, poff, "smallest", buf_slice(&p->smallest),
		    buf_slice(&f->smallest), add_off);
	compare_key(c, name, poff, "largest", buf_slice(&p->largest),
		    buf_slice(&f->largest), add_off);
	if (p->min_seq != f->min_seq || p->max_seq != f->max_seq)
		problem(c, name, poff,
			"sequence range %" PRIu64 "..%" PRIu64
			" differs from %" PRIu64 "..%" PRIu64
			" that '%s' records at offset %" PRIu64,
			p->min_seq, p->max_seq, f->min_seq, f->max_seq,
			c->mname, add_off);
	if (p->entries != f->entries)
		problem(c, name, poff,
			"%" PRIu64 " entries, '%s' records %" PRIu64
			" at offset %" PRIu64,
			p->entries, c->mname, f->entries, add_off);
	sst_reader_free(r);
	return rc;
}

struct placed {
	int level;
	const struct file_meta *f;
};

static int cmp_placed(const void *pa, const void *pb)
{
	const struct placed *a = pa, *b = pb;
	if (a->level != b->level)
		return a->level - b->level;
	if (a->level > 0) {
		int k = ikey_cmp(buf_slice(&a->f->smallest),
				 buf_slice(&b->f->smallest));
		if (k)
			return k;
	}
	return (a->f->number > b->f->number) - (a->f->number < b->f->number);
}

static bool in_sorted(const uint64_t *v, size_t n, uint64_t x)
{
	return bsearch(&x, v, n, sizeof *v, cmp_u64) != NULL;
}

/* Checks every table of the replayed version, the levels' order, and
 * reports tables on disk the manifest does not name. */
static int check_tables(struct check *c)
{
	struct placed *v = malloc((c->b.n + 1) * sizeof *v);
	uint64_t *named = malloc((c->b.n + 1) * sizeof *named);
	uint64_t *ssts = NULL;
	size_t n = 0, nssts = 0;
	int rc = -ENOMEM;
	if (!v || !named)
		goto out;
	for (size_t i = 0; i < c->b.cap; i++) {
		const struct builder_slot *s = &c->b.slots[i];
		if (s->number) {
			named[n] = s->number;
			v[n++] = (struct placed){ s->level, s->f };
		}
	}
	qsort(v, n, sizeof *v, cmp_placed);
	qsort(named, n, sizeof *named, cmp_u64);
	rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		rc = check_table(c, v[i].level, v[i].f);
		if (i == 0 || v[i].level == 0 || v[i].level != v[i - 1].level)
			continue;
		const struct file_meta *a = v[i - 1].f, *b = v[i].f;
		if (ikey_cmp(buf_slice(&a->largest), buf_slice(&b->smallest)) >=
		    0)
			problem(c, c->mname, add_offset(c, b->number),
				"level %d tables '%06" PRIu64
				".sst' and '%06" PRIu64 ".sst' overlap",
				v[i].level, a->number, b->number);
	}
	if (!rc)
		rc = list_kind(c, FILE_SST, &ssts, &nssts);
	for (size_t i = 0; i < nssts && !rc; i++) {
		char name[32];
		if (in_sorted(named, n, ssts[i]))
			continue;
		snprintf(name, sizeof name, "%06" PRIu64 ".sst", ssts[i]);
		warning(c, name, NO_OFFSET,
			"table not named by the manifest (an orphan; lsm_open "
			"removes it)");
	}
out:
	free(v);
	free(named);
	free(ssts);
	return rc;
}

/* ---- WAL segments ---- */

static void check_wal(struct check *c, uint64_t number)
{
	char path[FILENAME_MAX_LEN], name[32];
	struct wal_reader *r = NULL;
	struct lsm_batch *b = NULL;
	uint64_t size = 0, records = 0;
	snprintf(name, sizeof name, "%06" PRIu64 ".wal", number);
	path_of(path, c, name);
	c->wals++;
	c->env->file_size(c->env, path, &size);
	int rc = wal_reader_new(c->env, path, WAL_MAGIC,
				LSM_WAL_RECOVERY_STRICT, &r);
	if (rc == -EIO) {
		problem(c, name, 0, "not a WAL segment (bad magic)");
		return;
	}
	if (!rc)
		rc = lsm_batch_new(&b);
	if (rc) {
		problem(c, name, NO_OFFSET, "cannot read: %s", strerror(-rc));
		wal_reader_free(r);
		return;
	}
	for (;;) {
		uint8_t type;
		struct slice payload;
		rc = wal_reader_next(r, &type, &payload);
		if (rc == -EIO) {
			problem(c, name, wal_reader_offset(r),
				"corrupt record followed by good ones");
			break;
		}
		if (rc < 0) {
			problem(c, name, NO_OFFSET, "cannot read: %s",
				strerror(-rc));
			break;
		}
		if (rc == 0) {
			uint64_t dropped = wal_reader_dropped_bytes(r);
			if (dropped)
				warning(c, name, size - dropped,
					"torn tail (%" PRIu64
					" bytes, dropped on open)",
					dropped);
			break;
		}
		uint64_t off = wal_reader_offset(r);
		records++;
		if (type != WAL_RECORD_BATCH) {
			problem(c, name, off, "unknown record type %u", type);
			continue;
		}
		if (batch_set_rep(b, payload) || batch_iterate(b, NULL, NULL) ||
		    lsm_batch_count(b) == 0) {
			problem(c, name, off, "malformed write batch");
			continue;
		}
		uint64_t first = batch_sequence(b);
		if (c->wal_seq && first <= c->wal_seq)
			problem(c, name, off,
				"sequence %" PRIu64 " does not follow %" PRIu64,
				first, c->wal_seq);
		c->wal_seq = first + lsm_batch_count(b) - 1;
	}
	lsm_batch_free(b);
	wal_reader_free(r);
}

static int check_wals(struct check *c)
{
	uint64_t *wals;
	size_t n;
	int rc = list_kind(c, FILE_WAL, &wals, &n);
	if (rc)
		return rc;
	if (c->has_log && c->log_number &&
	    !bsearch(&c->log_number, wals, n, sizeof *wals, cmp_u64))
		problem(c, c->mname, NO_OFFSET,
			"names '%06" PRIu64 ".wal' as the oldest WAL segment "
			"needed, which does not exist",
			c->log_number);
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "%06" PRIu64 ".wal", wals[i]);
		if (wals[i] < c->log_number)
			warning(c, name, NO_OFFSET,
				"obsolete WAL segment, below the log number "
				"%" PRIu64 " (lsm_open removes it)",
				c->log_number);
		else
			check_wal(c, wals[i]);
	}
	free(wals);
	return 0;
}

/* ---- leftovers and the driver ---- */

static void check_leftovers(struct check *c)
{
	for (size_t i = 0; i < c->nnames; i++) {
		uint64_t number;
		switch (filename_parse(c->names[i], &number)) {
		case FILE_MANIFEST:
			if (number != c->mnumber)
				warning(c, c->names[i], NO_OFFSET,
					"manifest not named by CURRENT "
					"(lsm_open removes older ones)");
			break;
		case FILE_TEMP:
			warning(c, c->names[i], NO_OFFSET,
				"temporary file (lsm_open removes it)");
			break;
		default:
			break;
		}
	}
}

/* Whether the listing holds any file of a store. */
static bool looks_like_store(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t number;
		switch (filename_parse(names[i], &number)) {
		case FILE_CURRENT:
		case FILE_MANIFEST:
		case FILE_WAL:
		case FILE_SST:
			return true;
		default:
			break;
		}
	}
	return false;
}

static int run_check(struct check *c)
{
	int rc;
	c->mnumber = read_current(c);
	if (!c->mnumber) {
		/* check the newest manifest instead, so that the tables and
		 * WAL segments still get looked at */
		uint64_t *m;
		size_t n;
		if ((rc = list_kind(c, FILE_MANIFEST, &m, &n)))
			return rc;
		if (n) {
			c->mnumber = m[n - 1];
			snprintf(c->mname, sizeof c->mname,
				 "MANIFEST-%06" PRIu64, c->mnumber);
			warning(c, c->mname, NO_OFFSET,
				"checked instead, as the newest manifest");
		}
		free(m);
	}
	if (c->mnumber) {
		snprintf(c->mname, sizeof c->mname, "MANIFEST-%06" PRIu64,
			 c->mnumber);
		if ((rc = replay_manifest(c)))
			return rc;
	} else {
		problem(c, "CURRENT", NO_OFFSET,
			"no manifest in the directory at all");
	}
	if ((rc = check_tables(c)))
		return rc;
	if ((rc = check_wals(c)))
		return rc;
	check_leftovers(c);
	return 0;
}

int lsm_check(const char *dir, FILE *report, int *problems)
{
	char path[FILENAME_MAX_LEN];
	struct check c = { .report = report };
	struct env_lock *lock = NULL;
	int rc;

	if (problems)
		*problems = 0;
	if (!dir || !*dir || strlen(dir) > FILENAME_MAX_LEN - 64)
		return -EINVAL;
	c.env = env_posix();
	c.dir = dir;
	/* look before locking: the lock would create LOCK in any directory */
	rc = c.env->list_dir(c.env, dir, &c.names, &c.nnames);
	if (rc)
		return rc;
	bool store = looks_like_store(c.names, c.nnames);
	env_free_names(c.names, c.nnames);
	c.names = NULL;
	if (!store)
		return -ENOENT;
	rc = c.env->lock(c.env, filename_lock(path, dir), &lock);
	if (rc)
		return rc;
	rc = c.env->list_dir(c.env, dir, &c.names, &c.nnames);
	if (!rc)
		rc = run_check(&c);
	if (!rc && report)
		fprintf(report,
			"checked %d table%s and %d WAL segment%s: %d "
			"problem%s, %d warning%s\n",
			c.tables, c.tables == 1 ? "" : "s", c.wals,
			c.wals == 1 ? "" : "s", c.problems,
			c.problems == 1 ? "" : "s", c.warnings,
			c.warnings == 1 ? "" : "s");
	if (problems)
		*problems = c.problems;
	version_builder_release(&c.b);
	free(c.adds);
	env_free_names(c.names, c.nnames);
	c.env->unlock(lock);
	if (rc)
		return rc;
	return c.problems ? -EIO : 0;
}
