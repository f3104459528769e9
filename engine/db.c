/*
 * db.c - opening, recovering and closing a store; the background error;
 * deleting files nothing needs any more.
 *
 * Recovery: take the LOCK, replay the MANIFEST (version_set_recover), then
 * replay every WAL segment at or after the manifest's log number into
 * memtables, writing each full memtable (and the remainder) to an L0 table.
 * One version edit then records those tables and a fresh WAL segment, and
 * only after it is durable are the replayed segments deleted. A crash at any
 * point of this leaves either the old segments or the new tables in force.
 */
#include "config.h"
#include "db_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "batch.h"
#include "block_cache.h"
#include "env.h"
#include "filename.h"
#include "log.h"
#include "memtable.h"
#include "sst_builder.h"
#include "sst_format.h"
#include "table_cache.h"
#include "version.h"
#include "version_edit.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"

void lsm_options_init(struct lsm_options *opt)
{
	memset(opt, 0, sizeof *opt);
	opt->write_buffer_size = 4u << 20;
	opt->max_immutable_memtables = 2;
	opt->block_size = 4096;
	opt->compression = LSM_COMPRESSION_ZSTD;
	opt->compression_level = 3;
	opt->bloom_bits_per_key = 10;
	opt->mmap_reads = 1;
	opt->block_cache_size = 8u << 20;
	opt->max_open_files = 500;
	opt->sync_mode = LSM_SYNC_NONE;
	opt->wal_recovery = LSM_WAL_RECOVERY_STRICT;
	opt->l0_compaction_trigger = 4;
	opt->l0_slowdown_trigger = 8;
	opt->l0_stop_trigger = 12;
	opt->l1_target_size = 10u << 20;
	opt->level_size_ratio = 10;
	opt->target_file_size = 2u << 20;
	opt->create_if_missing = 1;
}

static int check_options(const struct lsm_options *o)
{
	if (o->write_buffer_size < 4096 || o->block_size < 256 ||
	    o->block_size > (64u << 20) || o->max_open_files < 16 ||
	    o->l0_compaction_trigger < 1 ||
	    o->l0_slowdown_trigger < o->l0_compaction_trigger ||
	    o->l0_stop_trigger < o->l0_slowdown_trigger ||
	    o->level_size_ratio < 2 || o->target_file_size < 4096 ||
	    o->l1_target_size < 4096 || o->bloom_bits_per_key < 0 ||
	    o->bloom_bits_per_key > 64 ||
	    (o->compression != LSM_COMPRESSION_NONE &&
	     o->compression != LSM_COMPRESSION_ZSTD &&
	     o->compression != LSM_COMPRESSION_LZ4) ||
	    (o->sync_mode != LSM_SYNC_NONE && o->sync_mode != LSM_SYNC_ALWAYS) ||
	    (o->wal_recovery != LSM_WAL_RECOVERY_STRICT &&
	     o->wal_recovery != LSM_WAL_RECOVERY_SKIP))
		return -EINVAL;
	return 0;
}

const char *lsm_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -ENOENT:
		return "not found";
	case -EIO:
		return "I/O error or corruption (see the log)";
	case -EBUSY:
		return "the store is in use by another process";
	case -EROFS:
		return "the store refuses writes after a background error";
	case -ESHUTDOWN:
		return "the store is closing";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

void db_set_bg_error(struct lsm_db *db, int err, const char *what)
{
	if (db->bg_error)
		return;
	db->bg_error = err;
	lsm_log("background error while %s: %s; writes now fail until the "
		"store is reopened",
		what, lsm_strerror(err));
	pthread_cond_broadcast(&db->bg_cv);
}

bool db_memtable_full(const struct lsm_options *opt, struct memtable *mem,
		      uint64_t data_bytes)
{
	if (memtable_entries(mem) == 0)
		return false;
	return memtable_bytes(mem) >=
		       opt->write_buffer_size + DB_MEMTABLE_EMPTY_BYTES ||
	       data_bytes >= opt->write_buffer_size;
}

void db_timed_wait(struct lsm_db *db, pthread_cond_t *cv, uint64_t micros)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts); /* the condvars' default clock */
	uint64_t ns = (uint64_t)ts.tv_nsec + (micros % 1000000) * 1000;
	ts.tv_sec += (time_t)(micros / 1000000 + ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	pthread_cond_timedwait(cv, &db->mu, &ts);
}

/* Whether CURRENT names MANIFEST-number. mu held (a small read under it,
 * on an error path only). */
static bool current_names(struct lsm_db *db, uint64_t number)
{
	char path[FILENAME_MAX_LEN], want[64];
	char *data = NULL;
	size_t n = 0;
	if (env_read_file(db->env, filename_current(path, db->dir), &data, &n))
		return false;
	int len = snprintf(want, sizeof want, "MANIFEST-%06" PRIu64 "\n",
			   number);
	bool same = n == (size_t)len && !memcmp(data, want, n);
	free(data);
	return same;
}

/*
 * version_set_log_and_apply makes every MANIFEST write error sticky (the
 * file may hold part of the edit). -ENOSPC is safe to get over in two
 * cases, and then the sticky error is cleared here and the next edit is
 * forced to start a new MANIFEST (a snapshot of the whole version):
 *  - the append failed for lack of space: the record before it is intact,
 *    the failed one is at most a torn tail, and no edit will ever follow
 *    it in that file;
 *  - a roll to a new MANIFEST failed while the old writer is healthy;
 * and in both cases only while CURRENT still names the old MANIFEST: a
 * failed roll may have renamed CURRENT to a new MANIFEST that holds the
 * failed edit (whose tables the caller is about to delete).
 * Everything else (a failed sync above all: a failed fsync is never
 * retried) becomes the sticky background error.
 * This reaches into the version set's fields (version.h): it belongs in
 * version_set.c, and is here only because that file has another owner.
 */
int db_log_and_apply(struct lsm_db *db, struct version_edit *e)
{
	struct version_set *vs = db->vs;
	int rc = version_set_log_and_apply(vs, e, &db->mu);
	if (!rc) {
		if (db->manifest_roll_saved &&
		    version_set_error(vs) == 0) {
			vs->manifest_roll_size = db->manifest_roll_saved;
			db->manifest_roll_saved = 0;
		}
		return 0;
	}
	int verr = version_set_error(vs);
	if (!verr)
		return rc; /* the edit did not fit: nothing was written */
	struct wal_writer *m = vs->manifest;
	bool recoverable =
		verr == -ENOSPC && m && !vs->manifest_busy &&
		(wal_writer_out_of_space(m) || wal_writer_error(m) == 0) &&
		current_names(db, vs->manifest_number);
	if (!recoverable) {
		db_set_bg_error(db, rc, "writing the manifest");
		return rc;
	}
	vs->error = 0;
	if (!db->manifest_roll_saved)
		db->manifest_roll_saved = vs->manifest_roll_size;
	vs->manifest_roll_size = 0;
	return rc;
}

void db_pending_add(struct lsm_db *db, uint64_t number)
{
	/* At most one flush, one background and one manual compaction run
	 * at a time; the array has room to spare. */
	if (db->npending < (int)(sizeof db->pending_outputs /
				 sizeof db->pending_outputs[0]))
		db->pending_outputs[db->npending++] = number;
}

void db_pending_remove(struct lsm_db *db, uint64_t number)
{
	for (int i = 0; i < db->npending; i++) {
		if (db->pending_outputs[i] == number) {
			db->pending_outputs[i] = db->pending_outputs[--db->npending];
			return;
		}
	}
}

static bool contains(const uint64_t *v, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

void db_delete_obsolete_files(struct lsm_db *db)
{
	char **names = NULL;
	size_t count = 0;
	uint64_t *live = NULL;
	size_t nlive = 0;

	/*
	 * After a sticky error the files may not be what the memory says: a
	 * MANIFEST write that failed may still have reached the disk (say,
	 * CURRENT renamed but the directory sync failed), naming tables the
	 * failed job would now delete. Leave everything to the next open.
	 */
	if (db->bg_error)
		return;
	pthread_mutex_unlock(&db->mu);
	int rc = db->env->list_dir(db->env, db->dir, &names, &count);
	pthread_mutex_lock(&db->mu);
	if (rc)
		return;
	rc = version_set_live_files(db->vs, &live, &nlive);
	if (rc) {
		env_free_names(names, count);
		return;
	}
	uint64_t log_number = version_set_log_number(db->vs);
	uint64_t manifest = version_set_manifest_number(db->vs);
	uint64_t floor = UINT64_MAX;
	for (int i = 0; i < db->npending; i++)
		if (db->pending_outputs[i] < floor)
			floor = db->pending_outputs[i];
	pthread_mutex_unlock(&db->mu);

	for (size_t i = 0; i < count; i++) {
		uint64_t number = 0;
		bool drop = false;
		switch (filename_parse(names[i], &number)) {
		case FILE_WAL:
			drop = number < log_number;
			break;
		case FILE_SST:
			drop = number < floor && !contains(live, nlive, number);
			if (drop)
				table_cache_evict(db->tc, number);
			break;
		case FILE_MANIFEST:
			drop = number < manifest;
			break;
		default:
			break;
		}
		if (drop) {
			char path[FILENAME_MAX_LEN];
			snprintf(path, sizeof path, "%s/%s", db->dir, names[i]);
			db->env->unlink(db->env, path);
		}
	}
	free(live);
	env_free_names(names, count);
	pthread_mutex_lock(&db->mu);
}

/* Removes files a crash left half-written. */
static int remove_temp_files(struct lsm_db *db)
{
	char **names;
	size_t count;
	int rc = db->env->list_dir(db->env, db->dir, &names, &count);
	if (rc)
		return rc;
	for (size_t i = 0; i < count; i++) {
		uint64_t number;
		if (filename_parse(names[i], &number) == FILE_TEMP) {
			char path[FILENAME_MAX_LEN];
			snprintf(path, sizeof path, "%s/%s", db->dir, names[i]);
			db->env->unlink(db->env, path);
		}
	}
	env_free_names(names, count);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* WAL segment numbers >= min in the store directory, ascending. */
static int list_wals(struct lsm_db *db, uint64_t min, uint64_t **out,
		     size_t *n)
{
	char **names;
	size_t count, k = 0;
	int rc = db->env->list_dir(db->env, db->dir, &names, &count);
	if (rc)
		return rc;
	uint64_t *v = malloc((count + 1) * sizeof *v);
	if (!v) {
		env_free_names(names, count);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		uint64_t number;
		if (filename_parse(names[i], &number) == FILE_WAL &&
		    number >= min)
			v[k++] = number;
	}
	env_free_names(names, count);
	qsort(v, k, sizeof *v, cmp_u64);
	*out = v;
	*n = k;
	return 0;
}

struct replay_ctx {
	struct memtable *mem;
	uint64_t max_seq;
	uint64_t mem_bytes; /* as db->mem_data_bytes counts them */
};

static int replay_one(void *arg, uint64_t seq, enum entry_type type,
		      struct slice key, struct slice value)
{
	struct replay_ctx *c = arg;
	if (seq > c->max_seq)
		c->max_seq = seq;
	c->mem_bytes += key.len + value.len + DB_MEMTABLE_ENTRY_OVERHEAD;
	int rc = memtable_add(c->mem, seq, type, key, value);
	/* A record replayed twice (e.g. a segment both flushed and kept by an
	 * interrupted recovery) inserts the same entries again: harmless. */
	return rc == -EEXIST ? 0 : rc;
}

/* Writes mem to an L0 table recorded in edit. Recovery only (no threads). */
static int recovery_flush(struct lsm_db *db, struct memtable *mem,
			  struct version_edit *edit)
{
	if (memtable_entries(mem) == 0)
		return 0;
	struct iter *it;
	struct file_meta *meta = NULL;
	uint64_t number = version_set_new_file_number(db->vs);
	int rc = memtable_iter_new(mem, &it);
	if (rc)
		return rc;
	if (db->npending == 0)
		db_pending_add(db, number); /* recovery's outputs are all above */
	rc = db_build_table(db, it, number, SST_REASON_FLUSH, &meta);
	iter_free(it);
	if (!rc && meta) {
		rc = version_edit_add_file(edit, 0, meta);
		stat_add(&db->stats.flushes, 1);
		stat_add(&db->stats.flush_bytes, meta->file_size);
	}
	file_meta_unref(meta);
	return rc;
}

static int replay_wal(struct lsm_db *db, uint64_t number,
		      struct replay_ctx *ctx, struct version_edit *edit)
{
	char path[FILENAME_MAX_LEN];
	struct wal_reader *r;
	struct lsm_batch *b;
	int rc = wal_reader_new(db->env, filename_wal(path, db->dir, number),
				WAL_MAGIC, db->opt.wal_recovery, &r);
	if (rc)
		return rc;
	rc = lsm_batch_new(&b);
	if (rc) {
		wal_reader_free(r);
		return rc;
	}
	for (;;) {
		uint8_t type;
		struct slice payload;
		rc = wal_reader_next(r, &type, &payload);
		if (rc <= 0)
			break;
		if (type != WAL_RECORD_BATCH) {
			lsm_log("corrupt record in '%06llu.wal' at offset %llu: "
				"unknown record type %u",
				(unsigned long long)number,
				(unsigned long long)wal_reader_offset(r), type);
			rc = -EIO;
			break;
		}
		rc = batch_set_rep(b, payload);
		if (!rc)
			rc = batch_iterate(b, replay_one, ctx);
		if (rc == -EIO)
			lsm_log("corrupt batch in '%06llu.wal' at offset %llu",
				(unsigned long long)number,
				(unsigned long long)wal_reader_offset(r));
		if (rc)
			break;
		if (db_memtable_full(&db->opt, ctx->mem, ctx->mem_bytes)) {
			rc = recovery_flush(db, ctx->mem, edit);
			if (rc)
				break;
			memtable_unref(ctx->mem);
			ctx->mem = NULL;
			ctx->mem_bytes = 0;
			rc = memtable_new(db->arena_pool, &ctx->mem);
			if (rc)
				break;
		}
	}
	lsm_batch_free(b);
	wal_reader_free(r);
	return rc;
}

/* Whether the directory holds tables or WAL segments (a store whose
 * CURRENT is gone, as opposed to a creation a crash interrupted, which
 * leaves at most a MANIFEST). */
static int has_store_files(struct lsm_db *db, bool *found)
{
	char **names;
	size_t count;
	*found = false;
	int rc = db->env->list_dir(db->env, db->dir, &names, &count);
	if (rc)
		return rc;
	for (size_t i = 0; i < count && !*found; i++) {
		uint64_t number;
		enum file_kind k = filename_parse(names[i], &number);
		*found = k == FILE_SST || k == FILE_WAL;
	}
	env_free_names(names, count);
	return 0;
}

static bool sorted_contains(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == x;
}

/*
 * Checks that the files the MANIFEST relies on exist: every table of the
 * current version (a missing one would otherwise read as absent keys) and
 * the WAL segment named by the log number (it is created, and its
 * directory entry synced, before any edit names it). A missing segment is
 * only logged in LSM_WAL_RECOVERY_SKIP mode. Returns 0 or -EIO (logged).
 */
static int check_live_files(struct lsm_db *db)
{
	char **names;
	size_t count, nsst = 0, nwal = 0;
	int rc = db->env->list_dir(db->env, db->dir, &names, &count);
	if (rc)
		return rc;
	uint64_t *sst = malloc((count + 1) * sizeof *sst);
	uint64_t *wal = malloc((count + 1) * sizeof *wal);
	if (!sst || !wal) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		uint64_t number;
		switch (filename_parse(names[i], &number)) {
		case FILE_SST:
			sst[nsst++] = number;
			break;
		case FILE_WAL:
			wal[nwal++] = number;
			break;
		default:
			break;
		}
	}
	qsort(sst, nsst, sizeof *sst, cmp_u64);
	qsort(wal, nwal, sizeof *wal, cmp_u64);
	struct version *v = version_set_current(db->vs);
	for (int level = 0; level < LSM_NUM_LEVELS && !rc; level++) {
		for (int i = 0; i < v->nfiles[level]; i++) {
			uint64_t number = v->files[level][i]->number;
			if (sorted_contains(sst, nsst, number))
				continue;
			lsm_log("missing table '%06llu.sst' in '%s': level %d of "
				"the manifest names it",
				(unsigned long long)number, db->dir, level);
			rc = -EIO;
			break;
		}
	}
	uint64_t log_number = version_set_log_number(db->vs);
	if (!rc && log_number && !sorted_contains(wal, nwal, log_number)) {
		lsm_log("missing WAL segment '%06llu.wal' in '%s': the "
			"manifest names it as the oldest one needed",
			(unsigned long long)log_number, db->dir);
		if (db->opt.wal_recovery != LSM_WAL_RECOVERY_SKIP)
			rc = -EIO;
	}
out:
	free(sst);
	free(wal);
	env_free_names(names, count);
	return rc;
}

static int recover(struct lsm_db *db)
{
	struct version_edit edit;
	struct replay_ctx ctx = { NULL, 0, 0 };
	uint64_t *wals = NULL;
	size_t nwals = 0;
	int rc;

	version_edit_init(&edit);
	rc = version_set_recover(db->vs);
	if (rc == -ENOENT) {
		bool found;
		rc = has_store_files(db, &found);
		if (!rc && found) {
			/* creating a store over its tables would lose them */
			lsm_log("missing 'CURRENT' in '%s', which holds tables "
				"or WAL segments",
				db->dir);
			rc = -EIO;
			goto out;
		}
		if (rc)
			goto out;
		if (!db->opt.create_if_missing) {
			lsm_log("no store in '%s'", db->dir);
			rc = -ENOENT;
			goto out;
		}
		rc = version_set_create(db->vs);
	} else if (!rc) {
		rc = check_live_files(db);
	}
	if (rc)
		goto out;
	rc = remove_temp_files(db);
	if (rc)
		goto out;

	rc = list_wals(db, version_set_log_number(db->vs), &wals, &nwals);
	if (rc)
		goto out;
	rc = memtable_new(db->arena_pool, &ctx.mem);
	if (rc)
		goto out;
	ctx.max_seq = version_set_last_sequence(db->vs);
	for (size_t i = 0; i < nwals && !rc; i++) {
		version_set_mark_file_number_used(db->vs, wals[i]);
		rc = replay_wal(db, wals[i], &ctx, &edit);
	}
	if (!rc)
		rc = recovery_flush(db, ctx.mem, &edit);
	if (rc)
		goto out;

	/* A fresh WAL segment, then one edit that makes it the log. */
	char path[FILENAME_MAX_LEN];
	db->wal_number = version_set_new_file_number(db->vs);
	rc = wal_writer_new(db->env, filename_wal(path, db->dir, db->wal_number),
			    WAL_MAGIC, &db->wal);
	if (!rc)
		rc = db->env->sync_dir(db->env, db->dir);
	if (rc)
		goto out;
	db->wal_synced_size = wal_writer_size(db->wal);
	db->last_seq = ctx.max_seq;
	version_set_set_last_sequence(db->vs, ctx.max_seq);
	version_edit_set_log_number(&edit, db->wal_number);
	pthread_mutex_lock(&db->mu);
	rc = version_set_log_and_apply(db->vs, &edit, &db->mu);
	db->npending = 0;
	if (!rc)
		db_delete_obsolete_files(db);
	pthread_mutex_unlock(&db->mu);
out:
	memtable_unref(ctx.mem);
	free(wals);
	version_edit_release(&edit);
	return rc;
}

static void db_free(struct lsm_db *db)
{
	if (db->wal)
		wal_writer_close(db->wal);
	memtable_unref(db->mem);
	for (int i = 0; i < db->nimm; i++)
		memtable_unref(db->imm[i].mem);
	arena_pool_free(db->arena_pool);
	version_set_free(db->vs);
	table_cache_free(db->tc);
	block_cache_free(db->bc);
	db_write_release(db);
	if (db->lock)
		db->env->unlock(db->lock);
	pthread_cond_destroy(&db->compact_cv);
	pthread_cond_destroy(&db->flush_cv);
	pthread_cond_destroy(&db->bg_cv);
	pthread_mutex_destroy(&db->mu);
	free(db->dir);
	free(db);
}

int lsm_open(const char *dir, const struct lsm_options *opt,
	     struct lsm_db **out)
{
	char path[FILENAME_MAX_LEN];
	struct lsm_db *db;
	int rc;

	if (!dir || !*dir || strlen(dir) > FILENAME_MAX_LEN - 32 || !out)
		return -EINVAL;
	db = calloc(1, sizeof *db);
	if (!db)
		return -ENOMEM;
	if (opt)
		db->opt = *opt;
	else
		lsm_options_init(&db->opt);
	db->env = db->opt.env ? db->opt.env : env_posix();
	db->opt.env = db->env;
	pthread_mutex_init(&db->mu, NULL);
	pthread_cond_init(&db->bg_cv, NULL);
	pthread_cond_init(&db->flush_cv, NULL);
	pthread_cond_init(&db->compact_cv, NULL);
	db->snapshots.next = db->snapshots.prev = &db->snapshots;
	db->dir = strdup(dir);
	if (!db->dir) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = check_options(&db->opt);
	if (rc) {
		lsm_log("invalid options for '%s'", dir);
		goto fail;
	}
	if (db->opt.create_if_missing) {
		rc = db->env->mkdir(db->env, dir);
		if (rc) {
			lsm_log("cannot create '%s': %s", dir, strerror(-rc));
			goto fail;
		}
	}
	rc = db->env->lock(db->env, filename_lock(path, dir), &db->lock);
	if (rc) {
		if (rc == -EBUSY)
			lsm_log("'%s' is locked: another process has the store "
				"open",
				dir);
		goto fail;
	}
	rc = db_write_init(db);
	if (!rc) /* a flushed memtable's blocks go to the next one */
		rc = arena_pool_new(db->opt.write_buffer_size +
					    db->opt.write_buffer_size / 4,
				    &db->arena_pool);
	if (!rc)
		rc = block_cache_new(db->opt.block_cache_size, &db->bc);
	if (!rc)
		rc = table_cache_new(db->env, dir, db->opt.max_open_files,
				     db->bc, &db->tc);
	if (!rc)
		table_cache_set_mmap(db->tc, db->opt.mmap_reads);
	if (!rc)
		rc = version_set_new(db->env, dir, &db->opt, db->tc, &db->vs);
	if (!rc)
		rc = memtable_new(db->arena_pool, &db->mem);
	if (!rc)
		rc = recover(db);
	if (rc)
		goto fail;

	/* Test hooks: slow background work down so that tests (and demos) can
	 * watch queues build and stalls happen. */
	const char *hook = getenv("LSM_TEST_FLUSH_DELAY_US");
	if (hook)
		db->stats.flush_delay_micros = strtoull(hook, NULL, 10);
	hook = getenv("LSM_TEST_COMPACTION_DELAY_US");
	if (hook)
		db->stats.compaction_delay_micros = strtoull(hook, NULL, 10);

	if (!db->opt.disable_background_work) {
		rc = pthread_create(&db->flush_thread, NULL, db_flush_main, db);
		if (rc) {
			rc = -rc;
			goto fail;
		}
		rc = pthread_create(&db->compact_thread, NULL, db_compact_main,
				    db);
		if (rc) {
			pthread_mutex_lock(&db->mu);
			db->shutting_down = true;
			pthread_cond_broadcast(&db->flush_cv);
			pthread_mutex_unlock(&db->mu);
			pthread_join(db->flush_thread, NULL);
			rc = -rc;
			goto fail;
		}
		db->threads_started = true;
		pthread_mutex_lock(&db->mu);
		db_maybe_schedule_compaction(db);
		pthread_mutex_unlock(&db->mu);
	}
	*out = db;
	return 0;
fail:
	db_free(db);
	return rc;
}

int lsm_close(struct lsm_db *db)
{
	if (!db)
		return 0;
	/* Let queued writers finish: take the lead once, as a sync. */
	int rc = lsm_sync(db);
	if (rc == -EROFS || rc == db->bg_error)
		rc = 0; /* already reported when it happened */

	pthread_mutex_lock(&db->mu);
	db->shutting_down = true;
	pthread_cond_broadcast(&db->flush_cv);
	pthread_cond_broadcast(&db->compact_cv);
	pthread_cond_broadcast(&db->bg_cv);
	pthread_mutex_unlock(&db->mu);
	if (db->threads_started) {
		pthread_join(db->flush_thread, NULL);
		pthread_join(db->compact_thread, NULL);
	}
	/* tables whose last reader just went away */
	pthread_mutex_lock(&db->mu);
	if (!db->bg_error)
		db_delete_obsolete_files(db);
	pthread_mutex_unlock(&db->mu);
	/* a segment given up for lack of space was salvaged (synced up to
	 * its last whole record) when it failed: nothing to report */
	bool salvaged = db->wal && wal_writer_out_of_space(db->wal);
	int crc = wal_writer_close(db->wal);
	db->wal = NULL;
	if (!rc && !salvaged)
		rc = crc;
	db_free(db);
	return rc;
}
