/*
 * repair.c - lsm_repair(): rebuilding a store from the files that survive
 * (`lsm repair`), in the spirit of LevelDB's RepairDB; see lsm.h for the
 * contract.
 *
 * Steps, each durable before the next:
 *  1. hints: the newest MANIFEST that replays (CURRENT's first) says which
 *     level each table it names was at; a prefix of a damaged one will do;
 *  2. every WAL segment is replayed in SKIP mode into memtables written as
 *     new tables;
 *  3. every table is opened and verified (sst_reader_verify): a clean one is
 *     kept as it is, a damaged one has the entries of its good blocks copied
 *     into a new table and moves to lost/;
 *  4. placement: see below;
 *  5. one new MANIFEST names every table, CURRENT is switched to it, and
 *     what the new store does not use (converted WAL segments, old
 *     MANIFESTs, tables replaced by merges) moves to lost/.
 * Until step 5 switches CURRENT the old store is unchanged, except for the
 * damaged files already moved to lost/ (it could not have opened with them
 * anyway) and new tables it does not name (lsm_open removes those).
 *
 * Placement. A lookup reads L0 newest first (highest max_seq) and takes the
 * first table that knows the key, then one table per deeper level. That is
 * right only if, for every two tables with overlapping key ranges, the one
 * read first holds the newer entries of every key they share. It holds when
 * the one read first has only newer sequence numbers, or when both sit where
 * one consistent version (the hint MANIFEST) put them: the LSM invariant.
 * Tables the hints do not place (WAL output, orphans) go to L0. When a
 * pair breaks the rule, the tables in conflict, grown until the run that
 * merging them makes would fit in L0, are merged into one new run (tables
 * that do not overlap), which then goes to the deepest level where it
 * provably fits. Every merge turns two runs or more into one, so this
 * ends. On a healthy store with a readable MANIFEST nothing is merged.
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
#include "crc32c.h"
#include "db_impl.h"
#include "dbformat.h"
#include "env.h"
#include "filename.h"
#include "manifest_format.h"
#include "memtable.h"
#include "sst_builder.h"
#include "sst_format.h"
#include "sst_reader.h"
#include "table_cache.h"
#include "version.h"
#include "version_builder.h"
#include "version_edit.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"

#define LOST_DIR "lost"
/* runs merged at once: bounds the files a merge keeps open */
#define MERGE_MAX_RUNS 64

/* A table of the repaired store. */
struct rtable {
	struct file_meta *f; /* one reference */
	int level;           /* the hint's level, else 0 */
	bool hinted;         /* level comes from the hint MANIFEST */
	bool created;        /* written by this repair (else kept as is) */
	bool live;           /* false once merged into a new run */
	uint64_t run;        /* tables of one run never overlap */
};

struct hint {
	uint64_t number;
	int level;
};

struct repair {
	struct lsm_env *env;
	const char *dir;
	struct lsm_options opt;
	FILE *report;
	char lost[FILENAME_MAX_LEN];

	uint64_t next_number; /* the next file number to allocate */
	uint64_t last_seq;    /* the largest sequence seen */
	uint64_t next_run;

	struct rtable *t;
	size_t nt, cap_t;

	char **later; /* names to move to lost/ once CURRENT is switched */
	size_t nlater, cap_later;

	struct hint *hints; /* sorted by number */
	size_t nhints;
	uint64_t hint_manifest;

	struct memtable *mem; /* WAL replay and salvage */

	/* for the summary */
	int kept, rebuilt, merged_in, merged_out, moved, wals;
	uint64_t wal_records, wal_dropped, bad_blocks;
};

__attribute__((format(printf, 2, 3))) static void say(struct repair *r,
						      const char *fmt, ...)
{
	if (!r->report)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(r->report, fmt, ap);
	va_end(ap);
	fputc('\n', r->report);
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	return (a > b) - (a < b);
}

static void use_number(struct repair *r, uint64_t n)
{
	if (r->next_number <= n)
		r->next_number = n + 1;
}

static int cmp_hint(const void *pa, const void *pb)
{
	const struct hint *a = pa, *b = pb;
	return (a->number > b->number) - (a->number < b->number);
}

/* ---- moving files to lost/ ---- */

/* Moves dir/name to lost/name, or lost/name.N when that is taken. */
static int move_to_lost(struct repair *r, const char *name)
{
	/* dir is at most FILENAME_MAX_LEN - 64 bytes, names short */
	char from[2 * FILENAME_MAX_LEN], to[2 * FILENAME_MAX_LEN];
	snprintf(from, sizeof from, "%s/%s", r->dir, name);
	snprintf(to, sizeof to, "%s/%s", r->lost, name);
	for (int i = 1; r->env->exists(r->env, to) == 0; i++) {
		if (i > 9999)
			return -EEXIST;
		snprintf(to, sizeof to, "%s/%s.%d", r->lost, name, i);
	}
	int rc = r->env->rename(r->env, from, to);
	if (rc) {
		say(r, "cannot move '%s' to %s/: %s", name, LOST_DIR,
		    strerror(-rc));
		return rc;
	}
	r->moved++;
	return 0;
}

/* Remembers name to move to lost/ once the new MANIFEST is in force. */
static int move_later(struct repair *r, const char *name)
{
	if (r->nlater == r->cap_later) {
		size_t cap = r->cap_later ? 2 * r->cap_later : 16;
		char **p = realloc(r->later, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		r->later = p;
		r->cap_later = cap;
	}
	if (!(r->later[r->nlater] = strdup(name)))
		return -ENOMEM;
	r->nlater++;
	return 0;
}

/* ---- the tables of the new store ---- */

static int hint_level(const struct repair *r, uint64_t number)
{
	size_t lo = 0, hi = r->nhints;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->hints[mid].number == number)
			return r->hints[mid].level;
		if (r->hints[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Adds f (taking over the caller's reference) at the hint level of
 * hint_number (0: none). */
static int add_table(struct repair *r, struct file_meta *f,
		     uint64_t hint_number, bool created, uint64_t run)
{
	if (r->nt == r->cap_t) {
		size_t cap = r->cap_t ? 2 * r->cap_t : 64;
		struct rtable *p = realloc(r->t, cap * sizeof *p);
		if (!p) {
			file_meta_unref(f);
			return -ENOMEM;
		}
		r->t = p;
		r->cap_t = cap;
	}
	int level = hint_number ? hint_level(r, hint_number) : -1;
	r->t[r->nt++] = (struct rtable){
		.f = f,
		.level = level < 0 ? 0 : level,
		.hinted = level >= 0,
		.created = created,
		.live = true,
		.run = run,
	};
	if (f->max_seq > r->last_seq)
		r->last_seq = f->max_seq;
	return 0;
}

static int finish_table(struct repair *r, struct sst_builder **b,
			uint64_t number, uint32_t reason, uint64_t hint,
			uint64_t run, int *count)
{
	struct sst_props props = { 0 };
	struct file_meta *f = NULL;
	int rc = sst_builder_finish(*b, &props);
	sst_builder_free(*b);
	*b = NULL;
	if (!rc)
		rc = db_table_meta(number, &props, reason, &f);
	sst_props_release(&props);
	if (!rc)
		rc = add_table(r, f, hint, true, run);
	if (!rc && count)
		(*count)++;
	return rc;
}

/*
 * Writes the entries of it into new tables of one run, skipping exact
 * duplicates of an internal key. With split, a table is cut once it
 * reaches target_file_size, between two user keys. hint is the number of
 * the table whose level the output takes (0: L0). *count (may be NULL)
 * grows by the tables written.
 */
static int write_tables(struct repair *r, struct iter *it, uint32_t reason,
			bool split, uint64_t hint, int *count)
{
	char path[FILENAME_MAX_LEN];
	struct sst_builder *b = NULL;
	struct buf prev = BUF_INIT;
	uint64_t number = 0, run = r->next_run++;
	int rc = 0;
	for (iter_seek_first(it); iter_valid(it) && !rc; iter_next(it)) {
		struct slice k = iter_key(it);
		if (k.len < 8) {
			rc = -EIO;
			break;
		}
		if (prev.len && ikey_cmp(k, buf_slice(&prev)) == 0)
			continue;
		bool cut =
			b && split &&
			sst_builder_file_size(b) >= r->opt.target_file_size &&
			!slice_eq(ikey_user(k), ikey_user(buf_slice(&prev)));
		if (cut && (rc = finish_table(r, &b, number, reason, hint, run,
					      count)))
			break;
		if (!b) {
			number = r->next_number++;
			rc = sst_builder_new(r->env, &r->opt,
					     filename_sst(path, r->dir, number),
					     reason, &b);
			if (rc)
				break;
		}
		rc = sst_builder_add(b, k, iter_value(it));
		if (!rc)
			rc = buf_set(&prev, k.data, k.len);
	}
	if (!rc)
		rc = iter_status(it);
	if (!rc && b)
		rc = finish_table(r, &b, number, reason, hint, run, count);
	sst_builder_free(b);
	buf_release(&prev);
	return rc;
}

/* Writes r->mem (if it holds anything) as new tables and starts a fresh
 * memtable. */
static int flush_mem(struct repair *r, uint32_t reason, uint64_t hint,
		     int *count)
{
	struct iter *it;
	if (memtable_entries(r->mem) == 0)
		return 0;
	int rc = memtable_iter_new(r->mem, &it);
	if (rc)
		return rc;
	rc = write_tables(r, it, reason, false, hint, count);
	iter_free(it);
	memtable_unref(r->mem);
	r->mem = NULL;
	return rc ? rc : memtable_new(&r->mem);
}

/* ---- step 1: hints from the newest MANIFEST that replays ---- */

/* The manifest CURRENT names, or 0. */
static uint64_t current_manifest(struct repair *r)
{
	char path[FILENAME_MAX_LEN], name[64];
	char *data = NULL;
	size_t n = 0;
	uint64_t number = 0;
	if (env_read_file(r->env, filename_current(path, r->dir), &data, &n))
		return 0;
	if (n >= 2 && n < sizeof name && data[n - 1] == '\n' &&
	    !memchr(data, '\0', n)) {
		memcpy(name, data, n - 1);
		name[n - 1] = '\0';
		if (filename_parse(name, &number) != FILE_MANIFEST)
			number = 0;
	}
	free(data);
	return number;
}

/*
 * Replays the longest good prefix of MANIFEST-number into b. Returns the
 * number of edits applied (0: useless), or -ENOMEM. An edit that does not
 * apply makes the whole manifest useless: b would hold half of it.
 */
static int replay_hints(struct repair *r, uint64_t number,
			struct version_builder *b, uint64_t *last_seq,
			uint64_t *next_file)
{
	char path[FILENAME_MAX_LEN], why[160];
	struct wal_reader *rd;
	struct version_edit e;
	int edits = 0, rc;
	rc = wal_reader_new(r->env, filename_manifest(path, r->dir, number),
			    MANIFEST_MAGIC, LSM_WAL_RECOVERY_STRICT, &rd);
	if (rc)
		return rc == -ENOMEM ? rc : 0;
	version_edit_init(&e);
	for (;;) {
		uint8_t type;
		struct slice payload;
		if (wal_reader_next(rd, &type, &payload) <= 0 ||
		    type != MANIFEST_RECORD_EDIT)
			break;
		if ((rc = version_edit_decode(&e, payload))) {
			if (rc == -ENOMEM)
				edits = rc;
			break;
		}
		rc = version_builder_apply(b, &e, why, sizeof why);
		if (rc) {
			edits = rc == -ENOMEM ? rc : 0;
			break;
		}
		if (e.has_last_sequence && e.last_sequence > *last_seq)
			*last_seq = e.last_sequence;
		if (e.has_next_file_number && e.next_file_number > *next_file)
			*next_file = e.next_file_number;
		edits++;
	}
	version_edit_release(&e);
	wal_reader_free(rd);
	return edits;
}

/* Whether the files in b make a valid version (no overlap in a level). */
static bool hints_consistent(struct repair *r, struct version_builder *b)
{
	struct version_set *vs;
	struct version *v = NULL;
	char why[160];
	if (version_set_new(r->env, r->dir, &r->opt, NULL, &vs))
		return false;
	int rc = version_builder_save(b, vs, &v, why, sizeof why);
	version_unref(v);
	version_set_free(vs);
	return rc == 0;
}

static int read_hints(struct repair *r, const uint64_t *manifests, size_t n)
{
	uint64_t cur = current_manifest(r);
	for (size_t i = 0; i <= n; i++) {
		/* CURRENT's manifest first, then the others, newest first */
		uint64_t number = i == 0 ? cur : manifests[n - i];
		if (!number || (i > 0 && number == cur))
			continue;
		struct version_builder b = VERSION_BUILDER_INIT;
		uint64_t seq = 0, next = 0;
		int edits = replay_hints(r, number, &b, &seq, &next);
		if (edits > 0 && !hints_consistent(r, &b))
			edits = 0;
		if (edits > 0 &&
		    !(r->hints = malloc((b.n + 1) * sizeof *r->hints)))
			edits = -ENOMEM;
		if (edits > 0) {
			for (size_t s = 0; s < b.cap; s++)
				if (b.slots[s].number)
					r->hints[r->nhints++] = (struct hint){
						b.slots[s].number,
						b.slots[s].level
					};
			qsort(r->hints, r->nhints, sizeof *r->hints, cmp_hint);
			r->hint_manifest = number;
			if (seq > r->last_seq)
				r->last_seq = seq;
			use_number(r, next);
		}
		version_builder_release(&b);
		if (edits)
			return edits < 0 ? edits : 0;
	}
	return 0;
}

/* ---- step 2: WAL segments ---- */

static int replay_entry(void *ctx, uint64_t seq, enum entry_type type,
			struct slice key, struct slice value)
{
	struct repair *r = ctx;
	if (seq > r->last_seq)
		r->last_seq = seq;
	int rc = memtable_add(r->mem, seq, type, key, value);
	return rc == -EEXIST ? 0 : rc;
}

static int convert_wal(struct repair *r, uint64_t number)
{
	char path[FILENAME_MAX_LEN], name[32];
	struct wal_reader *rd;
	struct lsm_batch *b = NULL;
	uint64_t records = 0, bad = 0;
	snprintf(name, sizeof name, "%06" PRIu64 ".wal", number);
	int rc = wal_reader_new(r->env, filename_wal(path, r->dir, number),
				WAL_MAGIC, LSM_WAL_RECOVERY_SKIP, &rd);
	if (rc == -EIO) {
		say(r, "'%s': not a WAL segment; moved to %s/", name, LOST_DIR);
		return move_to_lost(r, name);
	}
	if (rc)
		return rc;
	if ((rc = lsm_batch_new(&b)))
		goto out;
	for (;;) {
		uint8_t type;
		struct slice payload;
		rc = wal_reader_next(rd, &type, &payload);
		if (rc <= 0)
			break;
		if (type != WAL_RECORD_BATCH || batch_set_rep(b, payload) ||
		    batch_iterate(b, NULL, NULL)) {
			bad++;
			continue;
		}
		if ((rc = batch_iterate(b, replay_entry, r)))
			break;
		records++;
		if (memtable_bytes(r->mem) >= r->opt.write_buffer_size &&
		    (rc = flush_mem(r, SST_REASON_FLUSH, 0, NULL)))
			break;
	}
	if (rc < 0)
		goto out;
	/* the records are in r->mem or in tables: make them durable before
	 * the segment moves */
	if ((rc = flush_mem(r, SST_REASON_FLUSH, 0, NULL)))
		goto out;
	uint64_t dropped = wal_reader_dropped_bytes(rd);
	r->wals++;
	r->wal_records += records;
	r->wal_dropped += dropped;
	if (!dropped && !bad && !records) {
		/* nothing in it: lsm_open removes it as obsolete */
	} else if (dropped || bad) {
		say(r,
		    "'%s': %" PRIu64 " records recovered, %" PRIu64
		    " bytes and %" PRIu64 " bad records skipped; moved to %s/",
		    name, records, dropped, bad, LOST_DIR);
		rc = move_to_lost(r, name);
	} else {
		say(r, "'%s': %" PRIu64 " records recovered", name, records);
		rc = move_later(r, name);
	}
out:
	lsm_batch_free(b);
	wal_reader_free(rd);
	return rc;
}

/* ---- step 3: tables ---- */

/*
 * Adds the entries of one data block to r->mem, all or none: a block that
 * does not decode, has an unknown entry type or (strict) a key not after
 * *prev or a sequence of SEQ_MAX (index separators have it: a scan that ran
 * into the index block) is refused with -EIO.
 */
static int load_block(struct repair *r, struct slice data, const char *name,
		      uint64_t off, bool strict, struct buf *prev)
{
	struct block_iter it;
	int rc = 0, pass;
	block_iter_init_empty(&it);
	if (block_iter_init(&it, data.data, data.len, name, off)) {
		rc = -EIO;
		goto out;
	}
	/* pass 0 checks the whole block, pass 1 loads it */
	for (pass = 0; pass < 2 && !rc; pass++) {
		struct buf last = BUF_INIT;
		if (prev->len)
			rc = buf_set(&last, prev->data, prev->len);
		for (iter_seek_first(&it.base); iter_valid(&it.base) && !rc;
		     iter_next(&it.base)) {
			struct slice k = iter_key(&it.base);
			enum entry_type type = ikey_type(k);
			if (pass == 0 &&
			    ((type != TYPE_VALUE && type != TYPE_DELETE) ||
			     (strict && ikey_seq(k) == SEQ_MAX) ||
			     (strict && last.len &&
			      ikey_cmp(k, buf_slice(&last)) <= 0)))
				rc = -EIO;
			else if (pass == 1)
				rc = replay_entry(r, ikey_seq(k), type,
						  ikey_user(k),
						  iter_value(&it.base));
			if (!rc)
				rc = buf_set(&last, k.data, k.len);
		}
		if (!rc && iter_status(&it.base))
			rc = -EIO;
		if (!rc && pass == 1 && last.len)
			rc = buf_set(prev, last.data, last.len);
		buf_release(&last);
	}
out:
	block_iter_release(&it);
	return rc;
}

/*
 * With a readable footer and index: every data block the index names. Bad
 * blocks are counted in *bad and skipped. Returns 0, -EIO when the index
 * cannot be used (the caller scans instead), or another error.
 */
static int salvage_by_index(struct repair *r, struct env_rfile *f,
			    const char *name, const struct sst_footer *ft,
			    uint64_t meta_end, uint64_t data_end, uint64_t *bad)
{
	struct buf index = BUF_INIT, block = BUF_INIT, prev = BUF_INIT;
	struct block_iter ix;
	block_iter_init_empty(&ix);
	int rc = sst_read_block(r->env, f, name, ft->index, meta_end, &index,
				NULL, NULL);
	if (!rc &&
	    block_iter_init(&ix, index.data, index.len, name, ft->index.offset))
		rc = -EIO;
	if (!rc)
		iter_seek_first(&ix.base);
	for (; !rc && iter_valid(&ix.base); iter_next(&ix.base)) {
		struct sst_handle h;
		struct slice hv = iter_value(&ix.base);
		if (!sst_handle_decode(hv.data, hv.data + hv.len, &h)) {
			(*bad)++;
			continue;
		}
		rc = sst_read_block(r->env, f, name, h, data_end, &block, NULL,
				    NULL);
		if (!rc)
			rc = load_block(r, buf_slice(&block), name, h.offset,
					false, &prev);
		if (rc == -EIO) {
			(*bad)++;
			rc = 0;
		}
	}
	if (!rc && iter_status(&ix.base))
		(*bad)++;
	block_iter_release(&ix);
	buf_release(&index);
	buf_release(&block);
	buf_release(&prev);
	return rc;
}

/*
 * Without an index: data blocks lie back to back from offset 0, each
 * followed by its type byte and masked CRC. The end of each block is found
 * as the first offset where a trailer matches the bytes before it (the CRC
 * runs along, so this is linear). Stops at the first block that does not
 * verify or decode in order: the end of the data, or damage there is no
 * way past without the index.
 */
static int salvage_by_scan(struct repair *r, struct env_rfile *f,
			   const char *name, uint64_t limit, uint64_t *bad)
{
	struct buf data = BUF_INIT, block = BUF_INIT, prev = BUF_INIT;
	size_t got = 0;
	if (buf_reserve(&data, (size_t)limit + 1)) {
		/* a huge garbage file must not stop the repair */
		(*bad)++;
		return 0;
	}
	int rc = r->env->rfile_read(f, 0, data.data, (size_t)limit, &got);
	const unsigned char *p = (const unsigned char *)data.data;
	uint64_t off = 0;
	while (!rc && off + SST_BLOCK_TRAILER_SIZE <= got) {
		uint32_t crc = 0;
		uint64_t end = off, found = UINT64_MAX;
		for (; end + SST_BLOCK_TRAILER_SIZE <= got; end++) {
			if (p[end] <= SST_COMPRESS_ZSTD &&
			    crc32c_extend(crc, p + end, 1) ==
				    crc32c_unmask(decode_fixed32(
					    (const char *)p + end + 1))) {
				found = end;
				break;
			}
			crc = crc32c_extend(crc, p + end, 1);
		}
		if (found == UINT64_MAX) {
			(*bad)++;
			break;
		}
		struct sst_handle h = { off, found - off };
		rc = sst_read_block(r->env, f, name, h, got, &block, NULL,
				    NULL);
		if (!rc)
			rc = load_block(r, buf_slice(&block), name, off, true,
					&prev);
		if (rc == -EIO) {
			rc = 0;
			break;
		}
		off = found + SST_BLOCK_TRAILER_SIZE;
	}
	buf_release(&data);
	buf_release(&block);
	buf_release(&prev);
	return rc;
}

/* Copies the readable entries of a damaged table into r->mem. */
static int salvage(struct repair *r, const char *path, const char *name,
		   uint64_t *bad)
{
	struct env_rfile *f;
	struct sst_footer ft;
	uint64_t size;
	int rc = r->env->new_rfile(r->env, path, &f);
	if (rc)
		return rc;
	if ((rc = r->env->rfile_size(f, &size)))
		goto out;
	uint64_t limit = size < SST_FOOTER_SIZE ? size : size - SST_FOOTER_SIZE;
	rc = sst_read_footer(r->env, f, name, size, &ft);
	if (!rc) {
		bool has_filter = ft.filter.offset || ft.filter.size;
		uint64_t data_end =
			has_filter ? ft.filter.offset : ft.index.offset;
		if (data_end <= limit) {
			rc = salvage_by_index(r, f, name, &ft, limit, data_end,
					      bad);
			if (rc != -EIO)
				goto out;
			limit = data_end;
		}
	}
	if (rc && rc != -EIO)
		goto out;
	rc = salvage_by_scan(r, f, name, limit, bad);
out:
	r->env->rfile_close(f);
	return rc;
}

/* Keeps table number if it verifies, else salvages what it can and moves
 * it to lost/. */
static int repair_table(struct repair *r, uint64_t number)
{
	char path[FILENAME_MAX_LEN], name[32];
	struct sst_reader *rd = NULL;
	struct file_meta *f = NULL;
	snprintf(name, sizeof name, "%06" PRIu64 ".sst", number);
	filename_sst(path, r->dir, number);
	int rc = sst_reader_open(r->env, path, number, NULL, NULL, &rd);
	if (!rc)
		rc = sst_reader_verify(rd, r->report);
	if (!rc) {
		const struct sst_props *p = sst_reader_props(rd);
		if (p->entries == 0) {
			sst_reader_free(rd);
			say(r, "'%s': empty table; moved to %s/", name,
			    LOST_DIR);
			return move_later(r, name);
		}
		rc = db_table_meta(number, p, p->reason, &f);
		sst_reader_free(rd);
		if (!rc)
			rc = add_table(r, f, number, false, r->next_run++);
		r->kept += !rc;
		return rc;
	}
	sst_reader_free(rd);
	if (rc != -EIO)
		return rc;

	uint64_t bad = 0, before = r->nt;
	rc = salvage(r, path, name, &bad);
	if (!rc)
		rc = flush_mem(r, SST_REASON_COMPACTION, number, NULL);
	if (rc)
		return rc;
	r->bad_blocks += bad;
	if (r->nt > before) {
		r->rebuilt++;
		say(r,
		    "'%s': damaged; %" PRIu64 " entries copied to '%06" PRIu64
		    ".sst' (%" PRIu64 " bad blocks skipped); moved to %s/",
		    name, r->t[r->nt - 1].f->entries, r->t[r->nt - 1].f->number,
		    bad, LOST_DIR);
	} else {
		say(r, "'%s': unreadable, nothing salvaged; moved to %s/", name,
		    LOST_DIR);
	}
	return move_to_lost(r, name);
}

/* ---- step 4: placement ---- */

/* Where a table (or a run about to be written) sits, as lookups see it. */
struct span {
	struct slice lo, hi; /* user keys */
	uint64_t min_seq, max_seq, number;
	int level;
	bool hinted;
};

static struct span span_of(const struct rtable *t)
{
	return (struct span){
		.lo = ikey_user(buf_slice(&t->f->smallest)),
		.hi = ikey_user(buf_slice(&t->f->largest)),
		.min_seq = t->f->min_seq,
		.max_seq = t->f->max_seq,
		.number = t->f->number,
		.level = t->level,
		.hinted = t->hinted,
	};
}

/* Whether a lookup reads a before b (version_builder's L0 order). */
static bool read_before(const struct span *a, const struct span *b)
{
	if (a->level != b->level)
		return a->level < b->level;
	if (a->max_seq != b->max_seq)
		return a->max_seq > b->max_seq;
	return a->number > b->number;
}

/* Whether a, read before b, holds the newer entry of every shared key. */
static bool ordered(const struct span *a, const struct span *b)
{
	if (a->min_seq > b->max_seq)
		return true;
	return a->hinted && b->hinted &&
	       (a->level < b->level || (a->level == b->level && a->level > 0));
}

/* Whether a and b may stay where they are. */
static bool compatible(const struct span *a, const struct span *b)
{
	if (slice_cmp(a->hi, b->lo) < 0 || slice_cmp(b->hi, a->lo) < 0)
		return true;
	if (a->level == b->level && a->level > 0)
		return a->hinted && b->hinted; /* only a shared boundary key */
	return read_before(a, b) ? ordered(a, b) : ordered(b, a);
}

/* Adds every live table of run to the set. */
static void set_add_run(struct repair *r, bool *set, uint64_t run)
{
	for (size_t i = 0; i < r->nt; i++)
		if (r->t[i].live && r->t[i].run == run)
			set[i] = true;
}

/*
 * Grows the set (tables in conflict) until the run that merging it would
 * make, put in L0, fits with every table outside it; so one merge settles
 * a whole cluster instead of one neighbour per round.
 */
static void close_set(struct repair *r, bool *set)
{
	bool changed = true;
	while (changed) {
		struct span m = { .level = 0,
				  .hinted = false,
				  .min_seq = UINT64_MAX,
				  .number = r->next_number };
		bool first = true;
		for (size_t i = 0; i < r->nt; i++) {
			if (!set[i])
				continue;
			struct span t = span_of(&r->t[i]);
			if (first || slice_cmp(t.lo, m.lo) < 0)
				m.lo = t.lo;
			if (first || slice_cmp(t.hi, m.hi) > 0)
				m.hi = t.hi;
			if (t.min_seq < m.min_seq)
				m.min_seq = t.min_seq;
			if (t.max_seq > m.max_seq)
				m.max_seq = t.max_seq;
			first = false;
		}
		changed = false;
		for (size_t i = 0; i < r->nt; i++) {
			if (set[i] || !r->t[i].live)
				continue;
			struct span t = span_of(&r->t[i]);
			if (!compatible(&m, &t)) {
				set_add_run(r, set, r->t[i].run);
				changed = true;
			}
		}
	}
}

static int cmp_smallest(const void *pa, const void *pb)
{
	const struct file_meta *a = *(struct file_meta *const *)pa;
	const struct file_meta *b = *(struct file_meta *const *)pb;
	return ikey_cmp(buf_slice(&a->smallest), buf_slice(&b->smallest));
}

/* One child iterator over the set's tables that belong together: a level
 * of hinted tables, or one run. Returns 0 or -errno. */
static int child_iter(struct repair *r, struct table_cache *tc, const bool *set,
		      bool *taken, size_t first, struct file_meta **files,
		      struct iter **out)
{
	const struct rtable *f0 = &r->t[first];
	bool by_level = f0->hinted && f0->level > 0;
	int m = 0;
	for (size_t i = first; i < r->nt; i++) {
		const struct rtable *t = &r->t[i];
		if (!set[i] || taken[i])
			continue;
		if (by_level ? t->hinted && t->level == f0->level
			     : !(t->hinted && t->level > 0) &&
				       t->run == f0->run) {
			files[m++] = t->f;
			taken[i] = true;
		}
	}
	qsort(files, (size_t)m, sizeof *files, cmp_smallest);
	return m == 1 ? table_cache_iter(tc, files[0]->number, out)
		      : level_iter_new(tc, files, m, out);
}

/* The deepest level where the new run fits (0 when none does). */
static void place_run(struct repair *r, uint64_t run)
{
	for (int level = LSM_NUM_LEVELS - 1; level > 0; level--) {
		bool ok = true;
		for (size_t i = 0; i < r->nt && ok; i++) {
			if (!r->t[i].live || r->t[i].run != run)
				continue;
			struct span o = span_of(&r->t[i]);
			o.level = level;
			for (size_t j = 0; j < r->nt && ok; j++) {
				if (!r->t[j].live || r->t[j].run == run)
					continue;
				struct span t = span_of(&r->t[j]);
				ok = compatible(&o, &t);
			}
		}
		if (!ok)
			continue;
		for (size_t i = 0; i < r->nt; i++)
			if (r->t[i].live && r->t[i].run == run)
				r->t[i].level = level;
		return;
	}
}

/*
 * Merges the tables of the set (at most MERGE_MAX_RUNS child iterators;
 * the rest wait for the next round) into one new run, placed as deep as
 * it fits. Originals merged away move to lost/ later.
 */
static int merge_set(struct repair *r, struct table_cache *tc, bool *set)
{
	struct iter **children = calloc(MERGE_MAX_RUNS, sizeof *children);
	struct file_meta **files = malloc((r->nt + 1) * sizeof *files);
	bool *taken = calloc(r->nt + 1, sizeof *taken);
	struct iter *it = NULL;
	int rc = children && files && taken ? 0 : -ENOMEM, n = 0, in = 0;
	int out = 0;
	uint64_t run = r->next_run; /* the one write_tables() takes */
	for (size_t i = 0; i < r->nt && !rc && n < MERGE_MAX_RUNS; i++)
		if (set[i] && !taken[i])
			rc = child_iter(r, tc, set, taken, i, files,
					&children[n++]);
	if (rc)
		n--; /* the failed slot holds nothing */
	if (!rc) {
		/* the merging iterator owns the children now, or freed them */
		if (!(it = merge_iter_new(children, n)))
			rc = -ENOMEM;
		n = 0;
	}
	for (int k = 0; k < n; k++)
		iter_free(children[k]);
	free(children);
	free(files);
	if (!rc)
		rc = write_tables(r, it, SST_REASON_COMPACTION, true, 0, &out);
	iter_free(it);
	for (size_t i = 0; i < r->nt && !rc; i++) {
		struct rtable *t = &r->t[i];
		if (i >= r->nt - (size_t)out || !taken[i])
			continue;
		char name[32], path[FILENAME_MAX_LEN];
		t->live = false;
		in++;
		table_cache_evict(tc, t->f->number);
		snprintf(name, sizeof name, "%06" PRIu64 ".sst", t->f->number);
		if (!t->created) {
			r->kept--;
			rc = move_later(r, name);
		} else {
			/* our own intermediate: its entries are in the
			 * merge output, its sources in lost/ */
			snprintf(path, sizeof path, "%s/%s", r->dir, name);
			r->env->unlink(r->env, path);
		}
	}
	free(taken);
	if (rc)
		return rc;
	place_run(r, run);
	r->merged_in += in;
	r->merged_out += out;
	say(r, "merged %d tables whose order was unknown into %d", in, out);
	return 0;
}

/* One round: finds a pair of tables a lookup could read in the wrong
 * order and merges its closure. *merged says whether it found one. */
static int place_round(struct repair *r, struct table_cache *tc, bool *merged)
{
	size_t n = r->nt;
	*merged = false;
	for (size_t i = 0; i < n; i++) {
		if (!r->t[i].live)
			continue;
		struct span a = span_of(&r->t[i]);
		for (size_t j = i + 1; j < n; j++) {
			if (!r->t[j].live || r->t[j].run == r->t[i].run)
				continue;
			struct span b = span_of(&r->t[j]);
			if (compatible(&a, &b))
				continue;
			bool *set = calloc(n + 1, sizeof *set);
			if (!set)
				return -ENOMEM;
			set_add_run(r, set, r->t[i].run);
			set_add_run(r, set, r->t[j].run);
			close_set(r, set);
			int rc = merge_set(r, tc, set);
			free(set);
			*merged = true;
			return rc;
		}
	}
	return 0;
}

static int place(struct repair *r)
{
	struct table_cache *tc;
	int rc = table_cache_new(r->env, r->dir, 64, NULL, &tc);
	bool merged = true;
	while (!rc && merged)
		rc = place_round(r, tc, &merged);
	table_cache_free(tc);
	return rc;
}

/* ---- step 5: the new MANIFEST ---- */

static int write_manifest(struct repair *r, uint64_t *number_out)
{
	char path[FILENAME_MAX_LEN], tmp[FILENAME_MAX_LEN], line[64], why[160];
	struct version_edit e;
	struct version_builder check = VERSION_BUILDER_INIT;
	struct version_set *vs = NULL;
	struct version *v = NULL;
	struct wal_writer *w = NULL;
	struct buf rec = BUF_INIT;
	uint64_t number = r->next_number++;
	uint64_t log_number = r->next_number++;
	int rc = 0;

	/* lsm_open wants the segment the log number names to exist: an
	 * empty one, created before the MANIFEST names it */
	rc = wal_writer_new(r->env, filename_wal(path, r->dir, log_number),
			    WAL_MAGIC, &w);
	if (!rc)
		rc = wal_writer_sync(w);
	if (w) {
		int crc = wal_writer_close(w);
		rc = rc ? rc : crc;
		w = NULL;
	}

	version_edit_init(&e);
	version_edit_set_log_number(&e, log_number);
	version_edit_set_next_file_number(&e, r->next_number);
	version_edit_set_last_sequence(&e, r->last_seq);
	for (size_t i = 0; i < r->nt && !rc; i++)
		if (r->t[i].live)
			rc = version_edit_add_file(&e, r->t[i].level,
						   r->t[i].f);
	/* the edit must make a valid version before anything depends on it */
	if (!rc)
		rc = version_set_new(r->env, r->dir, &r->opt, NULL, &vs);
	if (!rc)
		rc = version_builder_apply(&check, &e, why, sizeof why);
	if (!rc)
		rc = version_builder_save(&check, vs, &v, why, sizeof why);
	if (rc == -EINVAL) {
		say(r, "internal error: the new version is invalid: %s", why);
		rc = -EIO;
	}
	if (!rc)
		rc = version_edit_encode(&e, &rec);
	if (!rc)
		rc = wal_writer_new(r->env,
				    filename_manifest(path, r->dir, number),
				    MANIFEST_MAGIC, &w);
	if (!rc)
		rc = wal_writer_add(w, MANIFEST_RECORD_EDIT, buf_slice(&rec));
	if (!rc)
		rc = wal_writer_sync(w);
	if (w) {
		int crc = wal_writer_close(w);
		rc = rc ? rc : crc;
	}
	int n = snprintf(line, sizeof line, "MANIFEST-%06" PRIu64 "\n", number);
	snprintf(tmp, sizeof tmp, "%s/CURRENT.tmp", r->dir);
	if (!rc)
		rc = env_write_file(r->env, tmp, line, (size_t)n);
	if (!rc)
		rc = r->env->rename(r->env, tmp,
				    filename_current(path, r->dir));
	if (!rc)
		rc = r->env->sync_dir(r->env, r->dir);
	if (rc)
		say(r, "cannot write the new manifest: %s", strerror(-rc));
	*number_out = number;
	version_unref(v);
	version_set_free(vs);
	version_builder_release(&check);
	version_edit_release(&e);
	buf_release(&rec);
	return rc;
}

/* ---- the driver ---- */

/* The numbers of files of kind among names, ascending, malloc()ed. */
static int numbers_of(char **names, size_t count, enum file_kind kind,
		      uint64_t **out, size_t *n)
{
	uint64_t *v = malloc((count + 1) * sizeof *v);
	size_t k = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		uint64_t number;
		if (filename_parse(names[i], &number) == kind)
			v[k++] = number;
	}
	qsort(v, k, sizeof *v, cmp_u64);
	*out = v;
	*n = k;
	return 0;
}

static bool store_file(const char *name, uint64_t *number)
{
	switch (filename_parse(name, number)) {
	case FILE_CURRENT:
	case FILE_MANIFEST:
	case FILE_WAL:
	case FILE_SST:
		return true;
	default:
		return false;
	}
}

static int run_repair(struct repair *r, char **names, size_t count)
{
	uint64_t *manifests = NULL, *wals = NULL, *ssts = NULL, number;
	size_t nmanifests = 0, nwals = 0, nssts = 0;
	char **lost = NULL;
	size_t nlost = 0;
	int rc;

	/* new numbers stay clear of every file here and in lost/ */
	for (size_t i = 0; i < count; i++)
		if (store_file(names[i], &number))
			use_number(r, number);
	if (!r->env->list_dir(r->env, r->lost, &lost, &nlost)) {
		for (size_t i = 0; i < nlost; i++)
			if (store_file(lost[i], &number))
				use_number(r, number);
		env_free_names(lost, nlost);
	}
	if ((rc = numbers_of(names, count, FILE_MANIFEST, &manifests,
			     &nmanifests)) ||
	    (rc = numbers_of(names, count, FILE_WAL, &wals, &nwals)) ||
	    (rc = numbers_of(names, count, FILE_SST, &ssts, &nssts)))
		goto out;
	if ((rc = read_hints(r, manifests, nmanifests)))
		goto out;
	if (r->hint_manifest)
		say(r, "table levels from 'MANIFEST-%06" PRIu64 "'",
		    r->hint_manifest);
	else
		say(r, "no readable manifest: every table starts in level 0");
	if ((rc = memtable_new(&r->mem)))
		goto out;
	for (size_t i = 0; i < nwals && !rc; i++)
		rc = convert_wal(r, wals[i]);
	for (size_t i = 0; i < nssts && !rc; i++)
		rc = repair_table(r, ssts[i]);
	for (size_t i = 0; i < count && !rc; i++)
		if (filename_parse(names[i], &number) == FILE_TEMP)
			rc = move_to_lost(r, names[i]);
	if (!rc)
		rc = place(r);
	if (!rc)
		rc = write_manifest(r, &number);
	if (rc)
		goto out;
	/* the new MANIFEST is in force: what it does not use can go */
	for (size_t i = 0; i < nmanifests && !rc; i++) {
		char name[40];
		snprintf(name, sizeof name, "MANIFEST-%06" PRIu64,
			 manifests[i]);
		rc = move_to_lost(r, name);
	}
	for (size_t i = 0; i < r->nlater && !rc; i++)
		rc = move_to_lost(r, r->later[i]);
	if (!rc)
		rc = r->env->sync_dir(r->env, r->lost);
	if (!rc)
		rc = r->env->sync_dir(r->env, r->dir);
	if (rc)
		goto out;
	int ntables = 0;
	for (size_t i = 0; i < r->nt; i++)
		ntables += r->t[i].live;
	say(r,
	    "repaired: %d tables in 'MANIFEST-%06" PRIu64 "' (%d kept, %d "
	    "rebuilt from damaged tables, %d merged into %d), %" PRIu64
	    " WAL records recovered from %d segments, %" PRIu64
	    " bad blocks and %" PRIu64 " WAL bytes skipped, %d files moved "
	    "to %s/, last sequence %" PRIu64,
	    ntables, number, r->kept, r->rebuilt, r->merged_in, r->merged_out,
	    r->wal_records, r->wals, r->bad_blocks, r->wal_dropped, r->moved,
	    LOST_DIR, r->last_seq);
out:
	free(manifests);
	free(wals);
	free(ssts);
	return rc;
}

int lsm_repair(const char *dir, const struct lsm_options *opt, FILE *report)
{
	char path[FILENAME_MAX_LEN];
	struct repair r = {
		.dir = dir, .report = report, .next_number = 1, .next_run = 1
	};
	struct env_lock *lock = NULL;
	char **names = NULL;
	size_t count = 0;
	uint64_t number;
	int rc;

	if (!dir || !*dir || strlen(dir) > FILENAME_MAX_LEN - 64)
		return -EINVAL;
	if (opt)
		r.opt = *opt;
	else
		lsm_options_init(&r.opt);
	if (r.opt.write_buffer_size < 4096 || r.opt.target_file_size < 4096 ||
	    r.opt.block_size < 256)
		return -EINVAL;
	r.env = r.opt.env ? r.opt.env : env_posix();
	r.opt.env = r.env;
	snprintf(r.lost, sizeof r.lost, "%s/%s", dir, LOST_DIR);

	/* look before locking: the lock would create LOCK in any directory */
	if ((rc = r.env->list_dir(r.env, dir, &names, &count)))
		return rc;
	bool store = false;
	for (size_t i = 0; i < count; i++)
		store |= store_file(names[i], &number);
	env_free_names(names, count);
	names = NULL;
	if (!store)
		return -ENOENT;
	if ((rc = r.env->lock(r.env, filename_lock(path, dir), &lock)))
		return rc;
	rc = r.env->mkdir(r.env, r.lost);
	if (!rc)
		rc = r.env->list_dir(r.env, dir, &names, &count);
	if (!rc)
		rc = run_repair(&r, names, count);
	env_free_names(names, count);
	memtable_unref(r.mem);
	for (size_t i = 0; i < r.nt; i++)
		file_meta_unref(r.t[i].f);
	free(r.t);
	for (size_t i = 0; i < r.nlater; i++)
		free(r.later[i]);
	free(r.later);
	free(r.hints);
	r.env->unlock(lock);
	return rc;
}
