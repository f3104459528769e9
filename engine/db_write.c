/*
 * db_write.c - the write path: a queue of writers, group commit, and the
 * decision to freeze the memtable or stall.
 *
 * Every lsm_write() (and lsm_sync()) enqueues a batch_writer and waits. The
 * writer at the head of the queue is the leader: it makes room (maybe
 * freezing the memtable or stalling), gathers the batches queued behind it
 * into one group, gives it consecutive sequence numbers, and then, without
 * db->mu, appends the group as ONE WAL record, calls fdatasync once when any
 * member asked for durability, and inserts the group into the memtable.
 * Then it publishes the new last sequence and wakes the members. While a
 * leader syncs, new writers pile up behind it and become the next group, so
 * N concurrent durable writers cost far fewer than N fdatasyncs.
 */
#include "config.h"
#include "db_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "env.h"
#include "filename.h"
#include "log.h"
#include "memtable.h"
#include "version.h"
#include "wal_format.h"
#include "wal_writer.h"

/* A group stops growing at this many bytes (a little more for a big head). */
#define GROUP_MAX_BYTES (1u << 20)

struct batch_writer {
	const struct lsm_batch *batch; /* NULL: a sync or flush request */
	bool sync;
	bool flush; /* freeze the memtable even though it is not full */
	bool done;
	int status;
	pthread_cond_t cv;
	struct batch_writer *next;
};

int db_write_init(struct lsm_db *db)
{
	return lsm_batch_new(&db->group);
}

void db_write_release(struct lsm_db *db)
{
	lsm_batch_free(db->group);
	db->group = NULL;
}

static uint64_t now_micros(struct lsm_db *db)
{
	return db->env->now_micros(db->env);
}

static void stall_begin(struct lsm_db *db, enum lsm_stall_cause cause)
{
	stat_add(&db->stats.stalls[cause].count, 1);
	stat_set(&db->stats.stalls[cause].active, 1);
}

static void stall_end(struct lsm_db *db, enum lsm_stall_cause cause,
		      uint64_t started)
{
	stat_add(&db->stats.stalls[cause].micros, now_micros(db) - started);
	stat_set(&db->stats.stalls[cause].active, 0);
}

/* Whether db->mem has reached write_buffer_size (db_memtable_full). */
static bool memtable_full(struct lsm_db *db)
{
	return db_memtable_full(&db->opt, db->mem, db->mem_data_bytes);
}

static int l0_files(struct lsm_db *db)
{
	return version_set_current(db->vs)->nfiles[0];
}

/*
 * Freezes the memtable: the current WAL segment is synced and closed (so an
 * lsm_sync() after this covers the frozen data too), a new segment and a new
 * memtable take over, and the flush thread is woken. Leader only, mu held;
 * mu is released around the file work.
 *
 * Failing to create the new segment for lack of space is not sticky: the
 * half-made file is removed, nothing changed, and -ENOSPC goes to this
 * group only. A failed sync (of the directory or the old segment) is.
 */
static int switch_memtable(struct lsm_db *db)
{
	struct memtable *fresh;
	struct wal_writer *wal = NULL;
	char path[FILENAME_MAX_LEN];
	uint64_t number = version_set_new_file_number(db->vs);
	int rc = memtable_new(db->arena_pool, &fresh);
	if (rc)
		return rc;

	pthread_mutex_unlock(&db->mu);
	filename_wal(path, db->dir, number);
	rc = wal_writer_new(db->env, path, WAL_MAGIC, &wal);
	if (rc) {
		db->env->unlink(db->env, path);
		pthread_mutex_lock(&db->mu);
		memtable_unref(fresh);
		if (rc != -ENOSPC)
			db_set_bg_error(db, rc, "creating a WAL segment");
		return rc;
	}
	rc = db->env->sync_dir(db->env, db->dir);
	if (!rc && wal_writer_size(db->wal) > db->wal_synced_size) {
		rc = wal_writer_sync(db->wal);
		if (!rc)
			stat_add(&db->stats.wal_syncs, 1);
	}
	pthread_mutex_lock(&db->mu);
	if (rc) {
		wal_writer_close(wal);
		memtable_unref(fresh);
		db_set_bg_error(db, rc, "switching to a new WAL segment");
		return rc;
	}

	/* a segment given up for lack of space fails its close with that
	 * error, but it was salvaged (synced whole) already */
	bool salvaged = wal_writer_out_of_space(db->wal);
	int crc = wal_writer_close(db->wal);
	if (crc && !salvaged)
		lsm_log("closing WAL segment %llu: %s",
			(unsigned long long)db->wal_number, lsm_strerror(crc));
	db->imm[db->nimm].mem = db->mem;
	db->imm[db->nimm].wal_number = db->wal_number;
	db->nimm++;
	db->mem = fresh;
	db->mem_data_bytes = 0;
	db->wal = wal;
	db->wal_number = number;
	db->wal_synced_size = wal_writer_size(wal);
	__atomic_store_n(&db->wal_size, db->wal_synced_size, __ATOMIC_RELAXED);
	pthread_cond_signal(&db->flush_cv);
	return 0;
}

/*
 * Makes sure the memtable can take a write, stalling as the L0 and
 * immutable-memtable triggers say. Leader only, mu held.
 * has_batch: the leader brings data (a sync request alone needs no room,
 * and must not fail for want of a new WAL segment).
 * A WAL segment given up for lack of space (wal_writer_out_of_space) is
 * replaced like a full memtable. A writer that would wait for a flush or a
 * compaction that is failing for lack of space gets -ENOSPC instead.
 */
static int make_room(struct lsm_db *db, bool force, bool has_batch)
{
	bool allow_delay = true;
	int max_imm = db->opt.max_immutable_memtables;
	if (max_imm < 1)
		max_imm = 1;
	if (max_imm > DB_MAX_IMM)
		max_imm = DB_MAX_IMM;

	for (;;) {
		if (db->bg_error)
			return db->bg_error;
		if (db->shutting_down)
			return -ESHUTDOWN;
		int l0 = l0_files(db);
		if (allow_delay && l0 >= db->opt.l0_slowdown_trigger) {
			/*
			 * Delay this group by 1 ms rather than stopping: the
			 * writers slow down while compaction catches up, and no
			 * single write waits long.
			 */
			uint64_t t = now_micros(db);
			stall_begin(db, LSM_STALL_L0_SLOWDOWN);
			pthread_mutex_unlock(&db->mu);
			db->env->sleep_micros(db->env, 1000);
			pthread_mutex_lock(&db->mu);
			stall_end(db, LSM_STALL_L0_SLOWDOWN, t);
			allow_delay = false;
			continue;
		}
		bool wal_dead = wal_writer_error(db->wal) != 0;
		if (!wal_dead || (!has_batch && !force)) {
			if (force ? memtable_entries(db->mem) == 0
				  : !has_batch || !memtable_full(db))
				return 0;
		}
		if (db->nimm >= max_imm) {
			/* a writer does not wait for a flush that keeps
			 * running out of space; lsm_flush (force) wakes it
			 * for one more try and waits for that */
			if (db->flush_nospace && !force)
				return -ENOSPC;
			if (db->flush_nospace)
				pthread_cond_signal(&db->flush_cv);
			uint64_t t = now_micros(db);
			uint64_t failures = db->nospace_failures;
			stall_begin(db, LSM_STALL_MEMTABLE);
			while (db->nimm >= max_imm && !db->bg_error &&
			       !db->shutting_down &&
			       db->nospace_failures == failures)
				pthread_cond_wait(&db->bg_cv, &db->mu);
			stall_end(db, LSM_STALL_MEMTABLE, t);
			if (db->nimm >= max_imm &&
			    db->nospace_failures != failures)
				return -ENOSPC;
			continue;
		}
		if (l0 >= db->opt.l0_stop_trigger) {
			if (db->compact_nospace && !force)
				return -ENOSPC;
			uint64_t t = now_micros(db);
			uint64_t failures = db->nospace_failures;
			stall_begin(db, LSM_STALL_L0_STOP);
			db_maybe_schedule_compaction(db);
			while (l0_files(db) >= db->opt.l0_stop_trigger &&
			       !db->bg_error && !db->shutting_down &&
			       db->nospace_failures == failures)
				pthread_cond_wait(&db->bg_cv, &db->mu);
			stall_end(db, LSM_STALL_L0_STOP, t);
			if (l0_files(db) >= db->opt.l0_stop_trigger &&
			    db->nospace_failures != failures)
				return -ENOSPC;
			continue;
		}
		int rc = switch_memtable(db);
		if (rc)
			return rc;
		force = false;
	}
}

struct insert_ctx {
	struct memtable *mem;
	uint64_t bytes;     /* user bytes (keys and values) */
	uint64_t mem_bytes; /* their cost in the memtable */
};

static int insert_one(void *arg, uint64_t seq, enum entry_type type,
		      struct slice key, struct slice value)
{
	struct insert_ctx *c = arg;
	c->bytes += key.len + value.len;
	c->mem_bytes += key.len + value.len + DB_MEMTABLE_ENTRY_OVERHEAD;
	return memtable_add(c->mem, seq, type, key, value);
}

/*
 * Builds the group led by head into db->group (or uses head's own batch when
 * it is alone). Returns the last member; sets *sync when any member wants
 * durability. A non-sync leader never takes a sync writer along, so a sync
 * writer's wait is not hidden behind a leader that would skip the sync.
 */
static struct batch_writer *build_group(struct lsm_db *db,
					struct batch_writer *head,
					const struct lsm_batch **out,
					bool *sync)
{
	struct batch_writer *last = head;
	size_t bytes = head->batch ? batch_size(head->batch) : 0;
	size_t limit = bytes > GROUP_MAX_BYTES / 8 ? bytes + GROUP_MAX_BYTES
						   : GROUP_MAX_BYTES;
	*sync = head->sync;
	*out = head->batch;
	for (struct batch_writer *w = head->next; w; w = w->next) {
		if ((w->sync && !head->sync) || w->flush)
			break;
		if (w->batch) {
			bytes += batch_size(w->batch);
			if (bytes > limit)
				break;
			if (*out != db->group) {
				lsm_batch_clear(db->group);
				if (*out && batch_append(db->group, *out))
					break;
				*out = db->group;
			}
			if (batch_append(db->group, w->batch))
				break;
		}
		last = w;
	}
	return last;
}

/*
 * Writes the group: WAL record, optional sync, memtable insert. Leader only,
 * called WITHOUT mu (the leader alone touches db->wal and db->mem's writer
 * side; the pointers cannot change while it leads).
 */
static int commit_group(struct lsm_db *db, const struct lsm_batch *group,
			bool sync)
{
	int rc = 0;
	if (group && lsm_batch_count(group) > 0) {
		rc = wal_writer_add(db->wal, WAL_RECORD_BATCH,
				    buf_slice(&group->rep));
		if (rc)
			return rc;
		stat_add(&db->stats.wal_records, 1);
		__atomic_store_n(&db->wal_size, wal_writer_size(db->wal),
				 __ATOMIC_RELAXED);
		stat_add(&db->stats.wal_bytes, batch_size(group));
	}
	if (sync && wal_writer_size(db->wal) > db->wal_synced_size) {
		rc = wal_writer_sync(db->wal);
		if (rc)
			return rc;
		db->wal_synced_size = wal_writer_size(db->wal);
		stat_add(&db->stats.wal_syncs, 1);
	}
	if (group && lsm_batch_count(group) > 0) {
		struct insert_ctx c = { db->mem, 0, 0 };
		rc = batch_iterate(group, insert_one, &c);
		db->mem_data_bytes += c.mem_bytes;
		if (rc)
			return rc;
		stat_add(&db->stats.user_bytes_written, c.bytes);
	}
	return 0;
}

static int write_internal(struct lsm_db *db, const struct lsm_batch *b,
			  bool sync, bool flush)
{
	struct batch_writer w = { .batch = b, .sync = sync, .flush = flush };
	pthread_cond_init(&w.cv, NULL);

	pthread_mutex_lock(&db->mu);
	if (db->writers_tail)
		db->writers_tail->next = &w;
	else
		db->writers_head = &w;
	db->writers_tail = &w;
	while (!w.done && db->writers_head != &w)
		pthread_cond_wait(&w.cv, &db->mu);
	if (w.done) {
		pthread_mutex_unlock(&db->mu);
		pthread_cond_destroy(&w.cv);
		return w.status;
	}

	/* We lead. */
	int rc = make_room(db, flush, b != NULL);
	struct batch_writer *last = &w;
	if (!rc) {
		const struct lsm_batch *group = w.batch;
		bool group_sync = w.sync;
		/* a dead WAL (out of space, salvaged) can still serve a lone
		 * sync request, but takes no batches along with it */
		if (!wal_writer_error(db->wal))
			last = build_group(db, &w, &group, &group_sync);
		uint32_t count = group ? lsm_batch_count(group) : 0;
		if (count)
			batch_set_sequence((struct lsm_batch *)group,
					   db->last_seq + 1);
		pthread_mutex_unlock(&db->mu);
		rc = commit_group(db, group, group_sync);
		if (rc == -ENOSPC && wal_writer_out_of_space(db->wal)) {
			/*
			 * Out of space: the group is not logged, so it fails
			 * (and is not inserted), but the store goes on. Make
			 * every earlier record of the segment durable (an
			 * lsm_sync() after this must cover them) and let the
			 * next leader move to a new segment (make_room). If
			 * even that fails, the error is sticky.
			 */
			int src = wal_writer_salvage(db->wal);
			if (src)
				rc = src;
			else
				db->wal_synced_size = wal_writer_size(db->wal);
		}
		pthread_mutex_lock(&db->mu);
		if (rc == -ENOSPC && wal_writer_out_of_space(db->wal))
			; /* salvaged above: not sticky */
		else if (rc)
			db_set_bg_error(db, rc, "writing the WAL");
		else
			db->last_seq += count;
	}

	/* Hand results to the members and the lead to the next writer. */
	for (;;) {
		struct batch_writer *m = db->writers_head;
		db->writers_head = m->next;
		if (!db->writers_head)
			db->writers_tail = NULL;
		if (m != &w) {
			m->status = rc;
			m->done = true;
			pthread_cond_signal(&m->cv);
		}
		if (m == last)
			break;
	}
	if (db->writers_head)
		pthread_cond_signal(&db->writers_head->cv);
	pthread_mutex_unlock(&db->mu);
	pthread_cond_destroy(&w.cv);
	return rc;
}

int lsm_write(struct lsm_db *db, const struct lsm_batch *b, int flags)
{
	if (!db || !b || (flags & ~LSM_WRITE_SYNC))
		return -EINVAL;
	bool sync = (flags & LSM_WRITE_SYNC) ||
		    db->opt.sync_mode == LSM_SYNC_ALWAYS;
	stat_add(&db->stats.user_writes, 1);
	if (sync)
		stat_add(&db->stats.sync_requests, 1);
	if (lsm_batch_count(b) == 0)
		return sync ? write_internal(db, NULL, true, false) : 0;
	return write_internal(db, b, sync, false);
}

int lsm_sync(struct lsm_db *db)
{
	if (!db)
		return -EINVAL;
	stat_add(&db->stats.sync_requests, 1);
	return write_internal(db, NULL, true, false);
}

int lsm_flush(struct lsm_db *db)
{
	if (!db)
		return -EINVAL;
	int rc = write_internal(db, NULL, false, true);
	if (rc)
		return rc;
	pthread_mutex_lock(&db->mu);
	if (!db->threads_started) {
		rc = db_flush_all(db);
	} else {
		/* a flush retrying after running out of space is woken to
		 * try again now; if that try fails too, so does this call */
		uint64_t failures = db->nospace_failures;
		while (db->nimm > 0 && !db->bg_error && !db->shutting_down &&
		       db->nospace_failures == failures) {
			pthread_cond_signal(&db->flush_cv);
			pthread_cond_wait(&db->bg_cv, &db->mu);
		}
		rc = db->bg_error;
		if (!rc && db->nimm > 0 && db->nospace_failures != failures)
			rc = -ENOSPC;
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

/* Bytes a batch of one entry of these lengths takes, at most. */
static size_t one_entry_size(size_t klen, size_t vlen)
{
	return BATCH_HEADER_LEN + 1 + 5 + klen + 5 + vlen;
}

static int write_one(struct lsm_db *db, enum entry_type type, const void *key,
		     size_t klen, const void *val, size_t vlen)
{
	/*
	 * The usual small entry is built in a batch on the stack: a malloc, a
	 * realloc and a free per put cost more than the memtable insert. The
	 * buffer is never grown (it has room for the entry), so no buf call
	 * reallocates it, and it is not released.
	 */
	char stack[512];
	struct lsm_batch on_stack = { .rep = { stack, 0, sizeof stack } };
	struct lsm_batch *b = &on_stack;
	int rc;
	if (klen > sizeof stack || vlen > sizeof stack ||
	    one_entry_size(klen, vlen) > sizeof stack) {
		if ((rc = lsm_batch_new(&b)))
			return rc;
	} else {
		memset(stack, 0, BATCH_HEADER_LEN);
		on_stack.rep.len = BATCH_HEADER_LEN;
	}
	rc = type == TYPE_VALUE ? lsm_batch_put(b, key, klen, val, vlen)
				: lsm_batch_delete(b, key, klen);
	if (!rc)
		rc = lsm_write(db, b, 0);
	if (b != &on_stack)
		lsm_batch_free(b);
	return rc;
}

int lsm_put(struct lsm_db *db, const void *key, size_t klen, const void *val,
	    size_t vlen)
{
	return write_one(db, TYPE_VALUE, key, klen, val, vlen);
}

int lsm_delete(struct lsm_db *db, const void *key, size_t klen)
{
	return write_one(db, TYPE_DELETE, key, klen, NULL, 0);
}
