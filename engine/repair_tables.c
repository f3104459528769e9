/*
 * repair_tables.c - the tables of the store lsm_repair() rebuilds: the
 * list of them (struct rtable), and new tables written from r->mem (WAL
 * replay, salvage) or from a merging iterator (placement).
 */
#include "config.h"
#include "repair_impl.h"

#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "db_impl.h"
#include "iterator.h"
#include "memtable.h"
#include "sst_builder.h"
#include "version.h"

/* Entries of a WAL batch or a salvaged block: a duplicate (the same key
 * and sequence seen before) is no error. */
int repair_mem_add(void *ctx, uint64_t seq, enum entry_type type,
		   struct slice key, struct slice value)
{
	struct repair *r = ctx;
	if (seq > r->last_seq)
		r->last_seq = seq;
	int rc = memtable_add(r->mem, seq, type, key, value);
	return rc == -EEXIST ? 0 : rc;
}

/* Adds f (taking over the caller's reference) at the hint level of
 * hint_number (0: none). */
int repair_add_table(struct repair *r, struct file_meta *f,
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
	int level = hint_number ? repair_hint_level(r, hint_number) : -1;
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
		rc = repair_add_table(r, f, hint, true, run);
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
int repair_write_tables(struct repair *r, struct iter *it, uint32_t reason,
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
int repair_flush_mem(struct repair *r, uint32_t reason, uint64_t hint,
		     int *count)
{
	struct iter *it;
	if (memtable_entries(r->mem) == 0)
		return 0;
	int rc = memtable_iter_new(r->mem, &it);
	if (rc)
		return rc;
	rc = repair_write_tables(r, it, reason, false, hint, count);
	iter_free(it);
	memtable_unref(r->mem);
	r->mem = NULL;
	return rc ? rc : memtable_new(NULL, &r->mem);
}
