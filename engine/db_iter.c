/*
 * db_iter.c - the user-facing iterator.
 *
 * It merges every source (memtable, frozen memtables, every table of the
 * pinned version) into one stream of internal keys and shows, for each user
 * key, only the newest version with a sequence <= the iterator's snapshot,
 * hiding keys whose newest visible version is a tombstone.
 *
 * Direction invariant (as in LevelDB's DBIter):
 *  - forward: the inner iterator is at the entry that yields key()/value();
 *  - reverse: the inner iterator is just before every entry of the current
 *    user key, whose key and value are copied into saved_key/saved_value.
 * The iterator pins the version it started with, so compaction never deletes
 * a file it may still read.
 */
#include "config.h"
#include "db_impl.h"

#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "dbformat.h"
#include "iterator.h"
#include "memtable.h"
#include "version.h"

enum direction { FORWARD, REVERSE };

struct lsm_iter {
	struct iter *in;
	struct version *v;
	uint64_t seq;
	enum direction dir;
	bool valid;
	int status;
	struct buf saved_key;   /* reverse: current key; forward: key to skip */
	struct buf saved_value; /* reverse only */
	struct buf seek_key;
};

static int save(struct lsm_iter *it, struct buf *b, struct slice s)
{
	int rc = buf_set(b, s.data, s.len);
	if (rc && !it->status)
		it->status = rc;
	return rc;
}

static bool well_formed(struct lsm_iter *it, struct slice ik)
{
	if (ik.len >= 8)
		return true;
	if (!it->status)
		it->status = -EIO;
	return false;
}

/* Forward: from the inner position, find the next visible live entry.
 * With skipping, entries whose user key is <= saved_key are passed over. */
static void find_next_user_entry(struct lsm_iter *it, bool skipping)
{
	for (; iter_valid(it->in); iter_next(it->in)) {
		struct slice ik = iter_key(it->in);
		if (!well_formed(it, ik))
			break;
		if (ikey_seq(ik) > it->seq)
			continue;
		struct slice uk = ikey_user(ik);
		if (ikey_type(ik) == TYPE_DELETE) {
			if (save(it, &it->saved_key, uk))
				break;
			skipping = true;
		} else if (!skipping ||
			   slice_cmp(uk, buf_slice(&it->saved_key)) > 0) {
			it->valid = true;
			buf_clear(&it->saved_key);
			return;
		}
	}
	it->valid = false;
	buf_clear(&it->saved_key);
}

/* Reverse: step back over the entries of the previous user key, keeping the
 * newest visible one in saved_key/saved_value. */
static void find_prev_user_entry(struct lsm_iter *it)
{
	enum entry_type last_type = TYPE_DELETE;
	for (; iter_valid(it->in); iter_prev(it->in)) {
		struct slice ik = iter_key(it->in);
		if (!well_formed(it, ik))
			break;
		if (ikey_seq(ik) > it->seq)
			continue;
		struct slice uk = ikey_user(ik);
		if (last_type != TYPE_DELETE &&
		    slice_cmp(uk, buf_slice(&it->saved_key)) < 0)
			break; /* the previous key's newest entry is saved */
		last_type = ikey_type(ik);
		if (last_type == TYPE_DELETE) {
			buf_clear(&it->saved_key);
			buf_clear(&it->saved_value);
		} else if (save(it, &it->saved_key, uk) ||
			   save(it, &it->saved_value, iter_value(it->in))) {
			last_type = TYPE_DELETE;
			break;
		}
	}
	if (last_type == TYPE_DELETE || it->status) {
		it->valid = false;
		buf_clear(&it->saved_key);
		buf_clear(&it->saved_value);
		it->dir = FORWARD;
	} else {
		it->valid = true;
	}
}

void lsm_iter_seek_first(struct lsm_iter *it)
{
	it->dir = FORWARD;
	buf_clear(&it->saved_value);
	iter_seek_first(it->in);
	find_next_user_entry(it, false);
}

void lsm_iter_seek_last(struct lsm_iter *it)
{
	it->dir = REVERSE;
	buf_clear(&it->saved_value);
	iter_seek_last(it->in);
	find_prev_user_entry(it);
}

void lsm_iter_seek(struct lsm_iter *it, const void *key, size_t klen)
{
	it->dir = FORWARD;
	buf_clear(&it->saved_value);
	buf_clear(&it->seek_key);
	if (ikey_append(&it->seek_key, key, klen, it->seq, TYPE_SEEK)) {
		it->status = -ENOMEM;
		it->valid = false;
		return;
	}
	iter_seek(it->in, buf_slice(&it->seek_key));
	find_next_user_entry(it, false);
}

void lsm_iter_next(struct lsm_iter *it)
{
	if (!it->valid)
		return;
	if (it->dir == REVERSE) {
		/* inner is before the current key's entries: step onto them;
		 * saved_key (the current key) is then skipped below */
		it->dir = FORWARD;
		if (!iter_valid(it->in))
			iter_seek_first(it->in);
		else
			iter_next(it->in);
	} else {
		if (save(it, &it->saved_key, ikey_user(iter_key(it->in)))) {
			it->valid = false;
			return;
		}
		iter_next(it->in);
	}
	find_next_user_entry(it, true);
}

void lsm_iter_prev(struct lsm_iter *it)
{
	if (!it->valid)
		return;
	if (it->dir == FORWARD) {
		/* inner is at the current entry: back up past every entry of
		 * this user key */
		if (save(it, &it->saved_key, ikey_user(iter_key(it->in)))) {
			it->valid = false;
			return;
		}
		for (;;) {
			iter_prev(it->in);
			if (!iter_valid(it->in)) {
				it->valid = false;
				buf_clear(&it->saved_key);
				buf_clear(&it->saved_value);
				return;
			}
			struct slice ik = iter_key(it->in);
			if (!well_formed(it, ik)) {
				it->valid = false;
				return;
			}
			if (slice_cmp(ikey_user(ik), buf_slice(&it->saved_key)) < 0)
				break;
		}
		it->dir = REVERSE;
	}
	find_prev_user_entry(it);
}

int lsm_iter_valid(const struct lsm_iter *it)
{
	return it->valid && !it->status;
}

const char *lsm_iter_key(const struct lsm_iter *it, size_t *klen)
{
	struct slice k = it->dir == FORWARD ? ikey_user(iter_key(it->in))
					    : buf_slice(&it->saved_key);
	*klen = k.len;
	return k.data;
}

const char *lsm_iter_value(const struct lsm_iter *it, size_t *vlen)
{
	struct slice v = it->dir == FORWARD ? iter_value(it->in)
					    : buf_slice(&it->saved_value);
	*vlen = v.len;
	return v.data;
}

int lsm_iter_status(const struct lsm_iter *it)
{
	if (it->status)
		return it->status;
	return iter_status(it->in);
}

int lsm_iter_new(struct lsm_db *db, const struct lsm_snapshot *snap,
		 struct lsm_iter **out)
{
	struct iter **children = NULL;
	int n = 0, rc = 0;
	struct lsm_iter *it = calloc(1, sizeof *it);
	if (!it)
		return -ENOMEM;

	pthread_mutex_lock(&db->mu);
	it->seq = snap ? snap->seq : db->last_seq;
	struct memtable *mems[DB_MAX_IMM + 1];
	int nmem = 0;
	mems[nmem++] = db->mem;
	for (int i = db->nimm - 1; i >= 0; i--)
		mems[nmem++] = db->imm[i].mem;
	it->v = version_set_current(db->vs);
	version_ref(it->v);
	/* memtable iterators take their own references, under mu so the
	 * tables cannot be swapped out in between */
	children = calloc((size_t)nmem, sizeof *children);
	if (!children)
		rc = -ENOMEM;
	for (int i = 0; i < nmem && !rc; i++) {
		rc = memtable_iter_new(mems[i], &children[i]);
		if (!rc)
			n++;
	}
	pthread_mutex_unlock(&db->mu);

	if (!rc)
		rc = version_add_iterators(it->v, db->tc, &children, &n);
	if (rc) {
		for (int i = 0; i < n; i++)
			iter_free(children[i]);
		free(children);
		version_unref(it->v);
		free(it);
		return rc;
	}
	it->in = merge_iter_new(children, n);
	free(children);
	if (!it->in) {
		version_unref(it->v);
		free(it);
		return -ENOMEM;
	}
	*out = it;
	return 0;
}

void lsm_iter_free(struct lsm_iter *it)
{
	if (!it)
		return;
	iter_free(it->in);
	version_unref(it->v);
	buf_release(&it->saved_key);
	buf_release(&it->saved_value);
	buf_release(&it->seek_key);
	free(it);
}
