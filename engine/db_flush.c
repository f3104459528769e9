/*
 * db_flush.c - the flush thread: frozen memtables become L0 tables.
 *
 * The oldest frozen memtable is written to a new table without db->mu; then
 * one version edit adds the table to L0 and advances the log number past the
 * memtable's WAL segment. Only after that edit is durable in the MANIFEST is
 * the segment deleted, so every acknowledged write is always in a WAL
 * segment or in a table the MANIFEST names.
 *
 * Running out of space is not fatal: a flush that fails with -ENOSPC
 * removes its partial table (db_build_table, db_delete_obsolete_files),
 * keeps the memtable and its WAL segment, and is tried again after a
 * backoff that grows from DB_NOSPACE_RETRY_MIN_US to DB_NOSPACE_RETRY_MAX_US
 * (lsm_flush() wakes it at once). Meanwhile db->flush_nospace tells
 * writers that would wait for it to fail with -ENOSPC instead. Every other
 * error is sticky.
 */
#include "config.h"
#include "db_impl.h"

#include <errno.h>
#include <stdlib.h>

#include "env.h"
#include "filename.h"
#include "iterator.h"
#include "log.h"
#include "memtable.h"
#include "sst_builder.h"
#include "sst_format.h"
#include "version.h"
#include "version_edit.h"

int db_table_meta(uint64_t number, const struct sst_props *p, uint32_t reason,
		  struct file_meta **out)
{
	struct file_meta *meta;
	int rc = file_meta_new(&meta);
	if (rc)
		return rc;
	meta->number = number;
	meta->file_size = p->file_size;
	meta->entries = p->entries;
	meta->tombstones = p->tombstones;
	meta->min_seq = p->min_seq;
	meta->max_seq = p->max_seq;
	meta->created_unix = p->created_unix;
	meta->reason = reason;
	rc = buf_set(&meta->smallest, p->smallest.data, p->smallest.len);
	if (!rc)
		rc = buf_set(&meta->largest, p->largest.data, p->largest.len);
	if (rc) {
		file_meta_unref(meta);
		return rc;
	}
	*out = meta;
	return 0;
}

int db_build_table(struct lsm_db *db, struct iter *it, uint64_t number,
		   uint32_t reason, struct file_meta **meta_out)
{
	char path[FILENAME_MAX_LEN];
	struct sst_builder *b = NULL;
	struct sst_props props = { 0 };
	int rc;

	*meta_out = NULL;
	iter_seek_first(it);
	if (!iter_valid(it))
		return iter_status(it);

	/*
	 * L0 tables are written uncompressed (RocksDB's usual
	 * compression_per_level does the same): they are short-lived, read
	 * whole by the next L0->L1 compaction and searched by every point
	 * read, while compressing them costs the flush most of its CPU and
	 * holds up writers waiting for a frozen memtable to go. Compaction
	 * outputs, which hold nearly all the bytes, are compressed.
	 */
	struct lsm_options o = db->opt;
	o.compression = LSM_COMPRESSION_NONE;
	rc = sst_builder_new(db->env, &o, filename_sst(path, db->dir, number),
			     reason, &b);
	if (rc)
		return rc;
	for (; iter_valid(it) && !rc; iter_next(it))
		rc = sst_builder_add(b, iter_key(it), iter_value(it));
	if (!rc)
		rc = iter_status(it);
	if (!rc)
		rc = sst_builder_finish(b, &props);
	sst_builder_free(b);
	if (!rc)
		rc = db_table_meta(number, &props, reason, meta_out);
	sst_props_release(&props);
	if (rc)
		db->env->unlink(db->env, path);
	return rc;
}

/* Flushes db->imm[0]. mu held on entry and exit; released for the I/O. */
static int flush_oldest(struct lsm_db *db)
{
	struct memtable *m = db->imm[0].mem;
	struct file_meta *meta = NULL;
	struct iter *it = NULL;
	uint64_t number = version_set_new_file_number(db->vs);
	int rc;

	memtable_ref(m);
	db_pending_add(db, number);
	db->flush_running = true;
	stat_set(&db->stats.running_flushes, 1);
	pthread_mutex_unlock(&db->mu);

	uint64_t delay = stat_get(&db->stats.flush_delay_micros);
	if (delay)
		db->env->sleep_micros(db->env, delay);
	rc = memtable_iter_new(m, &it);
	if (!rc)
		rc = db_build_table(db, it, number, SST_REASON_FLUSH, &meta);
	iter_free(it);

	pthread_mutex_lock(&db->mu);
	if (!rc) {
		struct version_edit edit;
		version_edit_init(&edit);
		if (meta)
			rc = version_edit_add_file(&edit, 0, meta);
		/* the oldest WAL segment still needed after this flush */
		uint64_t log_number = db->nimm > 1 ? db->imm[1].wal_number
						   : db->wal_number;
		version_edit_set_log_number(&edit, log_number);
		version_set_set_last_sequence(db->vs, db->last_seq);
		if (!rc)
			rc = db_log_and_apply(db, &edit);
		version_edit_release(&edit);
	}
	db_pending_remove(db, number);
	if (!rc) {
		memtable_unref(db->imm[0].mem);
		for (int i = 1; i < db->nimm; i++)
			db->imm[i - 1] = db->imm[i];
		db->nimm--;
		stat_add(&db->stats.flushes, 1);
		if (meta)
			stat_add(&db->stats.flush_bytes, meta->file_size);
	}
	file_meta_unref(meta);
	memtable_unref(m);
	db->flush_running = false;
	stat_set(&db->stats.running_flushes, 0);
	return rc;
}

/* Whether a failed flush or compaction is to be retried: it ran out of
 * space, and that did not leave a sticky error behind. mu held. */
static bool retryable(struct lsm_db *db, int rc)
{
	return rc == -ENOSPC && !db->bg_error;
}

/* Records the outcome of a flush. mu held. */
static void flush_done(struct lsm_db *db, int rc)
{
	if (!rc) {
		db->flush_nospace = false;
		db_delete_obsolete_files(db);
	} else if (retryable(db, rc)) {
		if (!db->flush_nospace)
			lsm_log("flushing a memtable of '%s': %s; will retry",
				db->dir, lsm_strerror(rc));
		db->flush_nospace = true;
		db->nospace_failures++;
		db_delete_obsolete_files(db); /* a finished, unused table */
	} else {
		db_set_bg_error(db, rc, "flushing a memtable");
	}
}

int db_flush_all(struct lsm_db *db)
{
	int rc = 0;
	while (db->nimm > 0 && !rc) {
		rc = flush_oldest(db);
		flush_done(db, rc);
	}
	pthread_cond_broadcast(&db->bg_cv);
	return rc;
}

void *db_flush_main(void *arg)
{
	struct lsm_db *db = arg;
	uint64_t backoff = DB_NOSPACE_RETRY_MIN_US;
	pthread_mutex_lock(&db->mu);
	for (;;) {
		while (!db->shutting_down && (db->nimm == 0 || db->bg_error))
			pthread_cond_wait(&db->flush_cv, &db->mu);
		if (db->shutting_down)
			break;
		int rc = flush_oldest(db);
		flush_done(db, rc);
		if (!rc)
			db_maybe_schedule_compaction(db);
		pthread_cond_broadcast(&db->bg_cv);
		if (!rc) {
			backoff = DB_NOSPACE_RETRY_MIN_US;
		} else if (retryable(db, rc) && !db->shutting_down) {
			/* woken early by lsm_flush() or lsm_close() */
			db_timed_wait(db, &db->flush_cv, backoff);
			backoff = backoff * 2 > DB_NOSPACE_RETRY_MAX_US
					  ? DB_NOSPACE_RETRY_MAX_US
					  : backoff * 2;
		}
	}
	pthread_mutex_unlock(&db->mu);
	return NULL;
}
