/*
 * db_read.c - point reads and snapshots.
 *
 * A read pins what it needs under db->mu (the memtable, the frozen
 * memtables, the current version, the visible sequence), then searches
 * without any lock: memtable, frozen memtables newest first, then the
 * levels (version_get: L0 newest first, then one table per deeper level).
 * The first source that knows the key answers; a tombstone answers "absent".
 */
#include "config.h"
#include "db_impl.h"

#include <errno.h>
#include <stdlib.h>

#include "dbformat.h"
#include "memtable.h"
#include "version.h"

int lsm_get(struct lsm_db *db, const struct lsm_snapshot *snap,
	    const void *key, size_t klen, char **val, size_t *vlen)
{
	struct memtable *mems[DB_MAX_IMM + 1];
	int nmem = 0;
	if (!db || (!key && klen) || !val || !vlen)
		return -EINVAL;

	pthread_mutex_lock(&db->mu);
	uint64_t seq = snap ? snap->seq : db->last_seq;
	mems[nmem++] = db->mem;
	for (int i = db->nimm - 1; i >= 0; i--)
		mems[nmem++] = db->imm[i].mem;
	for (int i = 0; i < nmem; i++)
		memtable_ref(mems[i]);
	struct version *v = version_set_current(db->vs);
	version_ref(v);
	pthread_mutex_unlock(&db->mu);

	struct slice ukey = slice_make(key, klen);
	int rc = LOOKUP_NOT_FOUND;
	for (int i = 0; i < nmem && rc == LOOKUP_NOT_FOUND; i++)
		rc = memtable_get(mems[i], ukey, seq, val, vlen);
	if (rc == LOOKUP_NOT_FOUND)
		rc = version_get(v, db->tc, ukey, seq, val, vlen);

	for (int i = 0; i < nmem; i++)
		memtable_unref(mems[i]);
	version_unref(v);

	stat_add(&db->stats.gets, 1);
	if (rc == LOOKUP_FOUND) {
		stat_add(&db->stats.get_hits, 1);
		return 0;
	}
	return rc < 0 ? rc : -ENOENT;
}

int lsm_snapshot_new(struct lsm_db *db, struct lsm_snapshot **out)
{
	struct lsm_snapshot *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&db->mu);
	s->seq = db->last_seq;
	/* append: the list stays ordered oldest first */
	s->next = &db->snapshots;
	s->prev = db->snapshots.prev;
	s->prev->next = s;
	db->snapshots.prev = s;
	pthread_mutex_unlock(&db->mu);
	*out = s;
	return 0;
}

void lsm_snapshot_free(struct lsm_db *db, struct lsm_snapshot *snap)
{
	if (!snap)
		return;
	pthread_mutex_lock(&db->mu);
	snap->prev->next = snap->next;
	snap->next->prev = snap->prev;
	pthread_mutex_unlock(&db->mu);
	free(snap);
}

uint64_t lsm_snapshot_sequence(const struct lsm_snapshot *snap)
{
	return snap->seq;
}

uint64_t db_oldest_snapshot(struct lsm_db *db)
{
	if (db->snapshots.next != &db->snapshots)
		return db->snapshots.next->seq;
	return db->last_seq;
}
