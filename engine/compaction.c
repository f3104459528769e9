/*
 * compaction.c - leveled compaction: picking, running, and the manual
 * full compaction behind lsm_compact().
 *
 * Picking: the level with the highest score (version.h) goes first when its
 * score is >= 1. From L0 every table is taken (they overlap each other, and
 * taking them all keeps the newest version of a key from being left
 * behind); from a deeper level one table, round-robin through the key range
 * from the level's compaction pointer. The inputs' user-key range then
 * decides the overlapping tables of the next level. One input and nothing
 * overlapping below is a trivial move: the table changes level in the
 * MANIFEST and is not rewritten.
 *
 * Running: a merging iterator over the inputs feeds new tables of the next
 * level, cut at target_file_size (or at 8x that of uncompressed keys and
 * values, see output_full()) but never between two entries of one user key
 * (so a key never spans two tables of a level). An entry is dropped
 * when a newer entry of the same key is visible to every live snapshot,
 * and a tombstone is dropped when, in addition, no deeper level can hold an
 * older value of its key. One version edit swaps inputs for outputs.
 *
 * Only the compaction thread and lsm_compact() compact; they take turns
 * through db->compact_running.
 *
 * A compaction that runs out of space (-ENOSPC) is not fatal: its outputs
 * are deleted, its inputs stay, db->compact_nospace is set (writers that
 * would wait for L0 to shrink get -ENOSPC) and the compaction thread tries
 * again after a backoff, as the flush thread does. Other errors are sticky.
 */
#include "config.h"
#include "db_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dbformat.h"
#include "env.h"
#include "filename.h"
#include "log.h"
#include "sst_builder.h"
#include "sst_format.h"
#include "table_cache.h"
#include "version.h"
#include "version_edit.h"

struct compaction {
	int level; /* inputs[0] come from here, outputs go to level + 1 */
	struct version *v; /* referenced */
	struct file_list inputs[2];
	bool trivial_move;
};

static void compaction_release(struct compaction *c)
{
	file_list_release(&c->inputs[0]);
	file_list_release(&c->inputs[1]);
	version_unref(c->v);
	memset(c, 0, sizeof *c);
}

/* The user-key range [lo, hi] covered by list l (pointing into its files). */
static void list_range(const struct file_list *l, struct slice *lo,
		       struct slice *hi)
{
	for (int i = 0; i < l->n; i++) {
		struct slice s = ikey_user(buf_slice(&l->files[i]->smallest));
		struct slice g = ikey_user(buf_slice(&l->files[i]->largest));
		if (i == 0 || slice_cmp(s, *lo) < 0)
			*lo = s;
		if (i == 0 || slice_cmp(g, *hi) > 0)
			*hi = g;
	}
}

/* Fills c->inputs[1] from the next level and decides on a trivial move.
 * mu held. */
static int setup_other_inputs(struct compaction *c)
{
	struct slice lo, hi;
	list_range(&c->inputs[0], &lo, &hi);
	int rc = version_overlapping_files(c->v, c->level + 1, &lo, &hi,
					   &c->inputs[1]);
	if (rc)
		return rc;
	c->trivial_move = c->inputs[0].n == 1 && c->inputs[1].n == 0;
	return 0;
}

/* Picks the next compaction by score. Returns 1 with *c filled, 0 when
 * nothing needs work, or -errno. mu held. */
static int pick_compaction(struct lsm_db *db, struct compaction *c)
{
	struct version *v = version_set_current(db->vs);
	if (v->compaction_score < 1.0)
		return 0;
	memset(c, 0, sizeof *c);
	c->level = v->compaction_level;
	c->v = version_ref(v);
	int rc = 0;
	if (c->level == 0) {
		for (int i = 0; i < v->nfiles[0] && !rc; i++)
			rc = file_list_push(&c->inputs[0], v->files[0][i]);
	} else {
		struct slice ptr = version_set_compact_pointer(db->vs, c->level);
		int i = ptr.len ? version_find_file(v, c->level, ptr) : 0;
		/* the pointer is the largest key of the last table compacted:
		 * start after it, wrapping around to the beginning */
		if (i < v->nfiles[c->level] && ptr.len &&
		    ikey_cmp(buf_slice(&v->files[c->level][i]->largest), ptr) <= 0)
			i++;
		if (i >= v->nfiles[c->level])
			i = 0;
		rc = file_list_push(&c->inputs[0], v->files[c->level][i]);
	}
	if (!rc)
		rc = setup_other_inputs(c);
	if (rc) {
		compaction_release(c);
		return rc;
	}
	return 1;
}

/* Whether no level below output_level can hold an entry for ukey. */
static bool is_base_level_for_key(struct version *v, int output_level,
				  struct slice ukey)
{
	for (int l = output_level + 1; l < LSM_NUM_LEVELS; l++)
		if (version_overlap_in_level(v, l, &ukey, &ukey))
			return false;
	return true;
}

static int open_input_iter(struct lsm_db *db, struct compaction *c,
			   struct iter **out)
{
	int cap = c->inputs[0].n + 1, n = 0, rc = 0;
	struct iter **its = calloc((size_t)cap, sizeof *its);
	if (!its)
		return -ENOMEM;
	if (c->level == 0) {
		for (int i = 0; i < c->inputs[0].n && !rc; i++) {
			rc = table_cache_iter(db->tc, c->inputs[0].files[i]->number,
					      &its[n]);
			if (!rc)
				n++;
		}
	} else if (c->inputs[0].n) {
		rc = level_iter_new(db->tc, c->inputs[0].files, c->inputs[0].n,
				    &its[n]);
		if (!rc)
			n++;
	}
	if (!rc && c->inputs[1].n) {
		rc = level_iter_new(db->tc, c->inputs[1].files, c->inputs[1].n,
				    &its[n]);
		if (!rc)
			n++;
	}
	if (rc) {
		for (int i = 0; i < n; i++)
			iter_free(its[i]);
		free(its);
		return rc;
	}
	*out = merge_iter_new(its, n);
	free(its);
	return *out ? 0 : -ENOMEM;
}

struct outputs {
	struct file_meta **files;
	int n, cap;
	uint64_t bytes;
};

static void outputs_release(struct outputs *o)
{
	for (int i = 0; i < o->n; i++)
		file_meta_unref(o->files[i]);
	free(o->files);
	memset(o, 0, sizeof *o);
}

/* Finishes the open output table into out. */
static int finish_output(struct sst_builder **b, uint64_t number,
			 struct outputs *out)
{
	struct sst_props p = { 0 };
	int rc = sst_builder_finish(*b, &p);
	sst_builder_free(*b);
	*b = NULL;
	if (!rc)
		rc = db_table_meta(number, &p, SST_REASON_COMPACTION,
				   &out->files[out->n]);
	if (!rc)
		out->bytes += out->files[out->n++]->file_size;
	sst_props_release(&p);
	return rc;
}

/* Starts a new output table. Its number is above the job's pending floor,
 * so obsolete-file deletion leaves it alone until it is in a version. */
static int start_output(struct lsm_db *db, struct outputs *out,
			struct sst_builder **b, uint64_t *number)
{
	char path[FILENAME_MAX_LEN];
	if (out->n == out->cap) {
		int ncap = out->cap ? out->cap * 2 : 8;
		void *p = realloc(out->files, (size_t)ncap * sizeof *out->files);
		if (!p)
			return -ENOMEM;
		out->files = p;
		out->cap = ncap;
	}
	pthread_mutex_lock(&db->mu);
	*number = version_set_new_file_number(db->vs);
	pthread_mutex_unlock(&db->mu);
	return sst_builder_new(db->env, &db->opt,
			       filename_sst(path, db->dir, *number),
			       SST_REASON_COMPACTION, b);
}

/*
 * An output table is full at target_file_size on disk or at
 * OUTPUT_RAW_FACTOR times that in keys plus values. The raw bound is for
 * highly compressible data (a file of zeros compresses ~800x): cut by
 * compressed size alone, one tiny table of a level would hold all of it,
 * overlap every new L0 table and be decompressed and rewritten whole by
 * every compaction, which is quadratic in the data written. 8x stays clear
 * of what ordinary data compresses to (2-4x), so those tables are still cut
 * by their size on disk, and bounds what one overlapped table costs to
 * rewrite at 8 target sizes of raw data.
 */
#define OUTPUT_RAW_FACTOR 8

static bool output_full(const struct sst_builder *b,
			const struct lsm_options *opt)
{
	return sst_builder_file_size(b) >= opt->target_file_size ||
	       sst_builder_raw_size(b) / OUTPUT_RAW_FACTOR >=
		       opt->target_file_size;
}

/* Writes the merged inputs as tables of level + 1. Called without mu. */
static int run_merge(struct lsm_db *db, struct compaction *c,
		     uint64_t smallest_snapshot, struct outputs *out)
{
	struct iter *in;
	struct sst_builder *b = NULL;
	struct buf cur_key = BUF_INIT;
	bool have_cur = false;
	uint64_t last_seq_for_key = 0, number = 0;
	int rc = open_input_iter(db, c, &in);
	if (rc)
		return rc;

	for (iter_seek_first(in); iter_valid(in) && !rc; iter_next(in)) {
		struct slice ik = iter_key(in);
		if (ik.len < 8) {
			rc = -EIO;
			break;
		}
		struct slice uk = ikey_user(ik);
		if (!have_cur || !slice_eq(uk, buf_slice(&cur_key))) {
			/* a table may end only between two user keys */
			if (b && output_full(b, &db->opt) &&
			    (rc = finish_output(&b, number, out)))
				break;
			if ((rc = buf_set(&cur_key, uk.data, uk.len)))
				break;
			have_cur = true;
			last_seq_for_key = SEQ_MAX + 1;
		}
		uint64_t seq = ikey_seq(ik);
		bool drop = false;
		if (last_seq_for_key <= smallest_snapshot)
			drop = true; /* shadowed for every reader */
		else if (ikey_type(ik) == TYPE_DELETE &&
			 seq <= smallest_snapshot &&
			 is_base_level_for_key(c->v, c->level + 1, uk))
			drop = true; /* nothing older is left to hide */
		last_seq_for_key = seq;
		if (drop)
			continue;
		if (!b && (rc = start_output(db, out, &b, &number)))
			break;
		rc = sst_builder_add(b, ik, iter_value(in));
	}
	if (!rc)
		rc = iter_status(in);
	if (!rc && b)
		rc = finish_output(&b, number, out);
	sst_builder_free(b);
	iter_free(in);
	buf_release(&cur_key);
	return rc;
}

static uint64_t inputs_bytes(const struct compaction *c)
{
	return file_list_bytes(&c->inputs[0]) + file_list_bytes(&c->inputs[1]);
}

static void set_being_compacted(struct compaction *c, bool on)
{
	for (int w = 0; w < 2; w++)
		for (int i = 0; i < c->inputs[w].n; i++)
			c->inputs[w].files[i]->being_compacted = on;
}

/*
 * Runs compaction c and installs its result. mu held on entry and exit,
 * released for the I/O. The caller has set db->compact_running.
 */
static int run_compaction(struct lsm_db *db, struct compaction *c)
{
	struct version_edit edit;
	struct outputs out = { 0 };
	int out_level = c->level + 1;
	int rc = 0;

	version_edit_init(&edit);
	set_being_compacted(c, true);
	/* counted until the inputs are deleted too: a store that lsm_stats
	 * shows idle then holds no obsolete tables (check_compaction's
	 * expect_no_obsolete_tables relies on it) */
	stat_add(&db->stats.running_compactions, 1);
	if (c->trivial_move) {
		struct file_meta *f = c->inputs[0].files[0];
		rc = version_edit_delete_file(&edit, c->level, f->number);
		if (!rc)
			rc = version_edit_add_file(&edit, out_level, f);
		if (!rc)
			rc = version_edit_set_compact_pointer(
				&edit, c->level, buf_slice(&f->largest));
		if (!rc)
			rc = db_log_and_apply(db, &edit);
		if (!rc)
			stat_add(&db->stats.levels[out_level].trivial_moves, 1);
		goto out;
	}

	uint64_t smallest_snapshot = db_oldest_snapshot(db);
	/* every output number is above this floor until installed */
	uint64_t floor = version_set_new_file_number(db->vs);
	db_pending_add(db, floor);
	pthread_mutex_unlock(&db->mu);

	uint64_t delay = stat_get(&db->stats.compaction_delay_micros);
	if (delay)
		db->env->sleep_micros(db->env, delay);
	rc = run_merge(db, c, smallest_snapshot, &out);

	pthread_mutex_lock(&db->mu);
	if (!rc) {
		for (int w = 0; w < 2 && !rc; w++)
			for (int i = 0; i < c->inputs[w].n && !rc; i++)
				rc = version_edit_delete_file(
					&edit, c->level + w,
					c->inputs[w].files[i]->number);
		for (int i = 0; i < out.n && !rc; i++)
			rc = version_edit_add_file(&edit, out_level, out.files[i]);
		struct slice lo, hi;
		list_range(&c->inputs[0], &lo, &hi);
		if (!rc && c->level > 0)
			rc = version_edit_set_compact_pointer(
				&edit, c->level,
				buf_slice(&c->inputs[0].files[c->inputs[0].n - 1]->largest));
		if (!rc)
			rc = db_log_and_apply(db, &edit);
	}
	db_pending_remove(db, floor);
	if (!rc) {
		struct level_counters *lc = &db->stats.levels[out_level];
		stat_add(&lc->compactions, 1);
		stat_add(&lc->bytes_read, inputs_bytes(c));
		stat_add(&lc->bytes_written, out.bytes);
	}
out:
	set_being_compacted(c, false);
	outputs_release(&out);
	version_edit_release(&edit);
	if (!rc) {
		db->compact_nospace = false;
	} else if (rc == -ENOSPC && !db->bg_error) {
		if (!db->compact_nospace)
			lsm_log("compacting level %d of '%s': %s; will retry",
				c->level, db->dir, lsm_strerror(rc));
		db->compact_nospace = true;
		db->nospace_failures++;
	} else {
		db_set_bg_error(db, rc, "compacting");
	}
	/* also the outputs of a failed run (not after a sticky error) */
	db_delete_obsolete_files(db);
	stat_add(&db->stats.running_compactions, (uint64_t)-1);
	pthread_cond_broadcast(&db->bg_cv);
	return rc;
}

void db_maybe_schedule_compaction(struct lsm_db *db)
{
	if (version_set_current(db->vs)->compaction_score >= 1.0)
		pthread_cond_signal(&db->compact_cv);
}

void *db_compact_main(void *arg)
{
	struct lsm_db *db = arg;
	uint64_t backoff = DB_NOSPACE_RETRY_MIN_US;
	pthread_mutex_lock(&db->mu);
	for (;;) {
		struct compaction c;
		int picked = 0;
		while (!db->shutting_down) {
			if (!db->bg_error && !db->compact_running &&
			    !db->manual_compactions) {
				picked = pick_compaction(db, &c);
				if (picked)
					break;
			}
			pthread_cond_wait(&db->compact_cv, &db->mu);
		}
		if (db->shutting_down)
			break;
		if (picked < 0) {
			db_set_bg_error(db, picked, "picking a compaction");
			continue;
		}
		db->compact_running = true;
		int rc = run_compaction(db, &c);
		compaction_release(&c);
		db->compact_running = false;
		pthread_cond_broadcast(&db->bg_cv);
		if (!rc) {
			backoff = DB_NOSPACE_RETRY_MIN_US;
		} else if (rc == -ENOSPC && !db->bg_error &&
			   !db->shutting_down) {
			/* out of space: give the disk time before the same
			 * compaction is picked again */
			db_timed_wait(db, &db->compact_cv, backoff);
			backoff = backoff * 2 > DB_NOSPACE_RETRY_MAX_US
					  ? DB_NOSPACE_RETRY_MAX_US
					  : backoff * 2;
		}
	}
	pthread_mutex_unlock(&db->mu);
	return NULL;
}

/* The deepest level holding any table, or -1. */
static int deepest_level(struct version *v)
{
	for (int l = LSM_NUM_LEVELS - 1; l >= 0; l--)
		if (v->nfiles[l])
			return l;
	return -1;
}

/* Whether level is the only one holding tables. */
static bool only_level(struct version *v, int level)
{
	for (int l = 0; l < LSM_NUM_LEVELS; l++)
		if (l != level && v->nfiles[l])
			return false;
	return v->nfiles[level] > 0;
}

int lsm_compact(struct lsm_db *db, lsm_progress_fn progress, void *ctx)
{
	int rc = lsm_flush(db);
	if (rc)
		return rc;

	pthread_mutex_lock(&db->mu);
	db->manual_compactions++;
	while (db->compact_running && !db->bg_error)
		pthread_cond_wait(&db->bg_cv, &db->mu);
	db->compact_running = true;

	struct version *v = version_set_current(db->vs);
	int bottom = deepest_level(v);
	/* Everything moves down level by level into the deepest level (at
	 * least L1), merging every version of every key on the way. */
	if (bottom == 0)
		bottom = 1;
	else if (bottom < LSM_NUM_LEVELS - 1 && only_level(v, bottom))
		/* nothing above to merge, but the shadowed versions and
		 * tombstones in it must still go: rewrite it one level
		 * down (a full compaction used to do nothing here) */
		bottom++;
	uint64_t total = 0, done = 0;
	for (int l = 0; l < bottom; l++)
		total += version_level_bytes(v, l) * (uint64_t)(bottom - l);
	for (int l = 0; l < bottom && !rc && !db->bg_error; l++) {
		struct compaction c = { 0 };
		v = version_set_current(db->vs);
		if (v->nfiles[l] == 0)
			continue;
		c.level = l;
		c.v = version_ref(v);
		for (int i = 0; i < v->nfiles[l] && !rc; i++)
			rc = file_list_push(&c.inputs[0], v->files[l][i]);
		if (!rc)
			rc = setup_other_inputs(&c);
		/* at the bottom, rewrite even a lone table so that shadowed
		 * versions and tombstones go away */
		if (!rc && l + 1 == bottom)
			c.trivial_move = false;
		uint64_t bytes = file_list_bytes(&c.inputs[0]);
		if (!rc)
			rc = run_compaction(db, &c);
		compaction_release(&c);
		db_delete_obsolete_files(db);
		done += bytes * (uint64_t)(bottom - l);
		if (progress) {
			pthread_mutex_unlock(&db->mu);
			progress(ctx, l + 1, done > total ? total : done, total);
			pthread_mutex_lock(&db->mu);
		}
	}
	if (!rc)
		rc = db->bg_error;
	db->compact_running = false;
	db->manual_compactions--;
	pthread_cond_broadcast(&db->bg_cv);
	pthread_cond_signal(&db->compact_cv);
	pthread_mutex_unlock(&db->mu);
	return rc;
}
