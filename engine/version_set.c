/*
 * version_set.c - the version set: the MANIFEST and CURRENT, recovery,
 * log_and_apply, file numbers and live files; see version.h and
 * manifest_format.h.
 *
 * Every new version is made by a version_builder (version_builder.h) from
 * the current version and an edit, or, in recovery, from every edit of the
 * MANIFEST.
 */
#include "config.h"
#include "version.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbformat.h"
#include "env.h"
#include "filename.h"
#include "log.h"
#include "manifest_format.h"
#include "version_builder.h"
#include "wal_reader.h"
#include "wal_writer.h"

/* ---- the version set ---- */

int version_set_new(struct lsm_env *env, const char *dbdir,
		    const struct lsm_options *opt, struct table_cache *tc,
		    struct version_set **out)
{
	struct version_set *vs = calloc(1, sizeof *vs);
	struct version_builder empty = VERSION_BUILDER_INIT;
	char why[160];
	int rc = -ENOMEM;
	if (!vs)
		return -ENOMEM;
	vs->dbdir = strdup(dbdir);
	if (!vs->dbdir)
		goto fail_dir;
	vs->env = env;
	vs->opt = *opt;
	vs->tc = tc;
	vs->next_file_number = 1;
	vs->manifest_roll_size = MANIFEST_ROLL_SIZE;
	vs->live.prev = vs->live.next = &vs->live;
	pthread_mutex_init(&vs->list_mu, NULL);
	pthread_cond_init(&vs->manifest_cv, NULL);
	rc = version_builder_save(&empty, vs, &vs->current, why, sizeof why);
	if (rc)
		goto fail_current;
	*out = vs;
	return 0;
fail_current:
	pthread_cond_destroy(&vs->manifest_cv);
	pthread_mutex_destroy(&vs->list_mu);
	free(vs->dbdir);
fail_dir:
	free(vs);
	return rc;
}

void version_set_free(struct version_set *vs)
{
	if (!vs)
		return;
	wal_writer_close(vs->manifest);
	version_unref(vs->current);
	/* Versions still referenced are a caller bug; cut them loose so
	 * their last unref does not touch freed memory. */
	pthread_mutex_lock(&vs->list_mu);
	int leaked = 0;
	for (struct version *v = vs->live.next; v != &vs->live; v = v->next) {
		v->vs = NULL;
		leaked++;
	}
	pthread_mutex_unlock(&vs->list_mu);
	if (leaked)
		lsm_log("version set of '%s' freed with %d versions still "
			"referenced",
			vs->dbdir, leaked);
	for (int level = 0; level < LSM_NUM_LEVELS; level++)
		buf_release(&vs->compact_pointer[level]);
	pthread_cond_destroy(&vs->manifest_cv);
	pthread_mutex_destroy(&vs->list_mu);
	free(vs->dbdir);
	free(vs);
}

struct version *version_set_current(struct version_set *vs)
{
	return vs->current;
}

uint64_t version_set_new_file_number(struct version_set *vs)
{
	return vs->next_file_number++;
}

void version_set_mark_file_number_used(struct version_set *vs, uint64_t n)
{
	if (vs->next_file_number <= n)
		vs->next_file_number = n + 1;
}

uint64_t version_set_last_sequence(const struct version_set *vs)
{
	return __atomic_load_n(&vs->last_sequence, __ATOMIC_ACQUIRE);
}

void version_set_set_last_sequence(struct version_set *vs, uint64_t s)
{
	__atomic_store_n(&vs->last_sequence, s, __ATOMIC_RELEASE);
}

uint64_t version_set_log_number(const struct version_set *vs)
{
	return vs->log_number;
}

uint64_t version_set_manifest_number(const struct version_set *vs)
{
	return vs->manifest_number;
}

struct slice version_set_compact_pointer(const struct version_set *vs,
					 int level)
{
	return buf_slice(&vs->compact_pointer[level]);
}

int version_set_error(const struct version_set *vs)
{
	return vs->error;
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	return (a > b) - (a < b);
}

int version_set_live_files(struct version_set *vs, uint64_t **numbers,
			   size_t *count)
{
	size_t n = 0, cap = 0;
	uint64_t *out = NULL;
	int rc = 0;

	pthread_mutex_lock(&vs->list_mu);
	for (struct version *v = vs->live.next; v != &vs->live; v = v->next)
		for (int level = 0; level < LSM_NUM_LEVELS; level++)
			cap += (size_t)v->nfiles[level];
	if (cap) {
		out = malloc(cap * sizeof *out);
		if (!out)
			rc = -ENOMEM;
	}
	for (struct version *v = vs->live.next; out && v != &vs->live;
	     v = v->next)
		for (int level = 0; level < LSM_NUM_LEVELS; level++)
			for (int i = 0; i < v->nfiles[level]; i++)
				out[n++] = v->files[level][i]->number;
	pthread_mutex_unlock(&vs->list_mu);
	if (rc)
		return rc;

	if (n)
		qsort(out, n, sizeof *out, cmp_u64);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || out[m - 1] != out[i])
			out[m++] = out[i];
	if (m == 0) {
		free(out);
		out = NULL;
	}
	*numbers = out;
	*count = m;
	return 0;
}

/* ---- MANIFEST and CURRENT ---- */

/* An edit that recreates v and the set's counters from nothing: the first
 * record of every MANIFEST. cptrs are the compaction pointers to record. */
static int snapshot_edit(const struct version *v, uint64_t log_number,
			 uint64_t next_file, uint64_t last_seq,
			 const struct buf *cptrs, struct version_edit *snap)
{
	int rc = 0;
	version_edit_set_log_number(snap, log_number);
	version_edit_set_next_file_number(snap, next_file);
	version_edit_set_last_sequence(snap, last_seq);
	for (int level = 0; level < LSM_NUM_LEVELS && !rc; level++)
		if (cptrs[level].len)
			rc = version_edit_set_compact_pointer(
				snap, level, buf_slice(&cptrs[level]));
	for (int level = 0; level < LSM_NUM_LEVELS && !rc; level++)
		for (int i = 0; i < v->nfiles[level] && !rc; i++)
			rc = version_edit_add_file(snap, level,
						   v->files[level][i]);
	return rc;
}

/* Creates MANIFEST-number holding the record rec, synced. On failure the
 * file is removed. */
static int manifest_start(struct version_set *vs, uint64_t number,
			  struct slice rec, struct wal_writer **out)
{
	char path[FILENAME_MAX_LEN];
	struct wal_writer *w;
	filename_manifest(path, vs->dbdir, number);
	int rc = wal_writer_new(vs->env, path, MANIFEST_MAGIC, &w);
	if (!rc) {
		rc = wal_writer_add(w, MANIFEST_RECORD_EDIT, rec);
		if (!rc)
			rc = wal_writer_sync(w);
		if (rc)
			wal_writer_close(w);
	}
	if (rc) {
		lsm_log("cannot write manifest '%s': %s", path, strerror(-rc));
		vs->env->unlink(vs->env, path);
		return rc;
	}
	*out = w;
	return 0;
}

/*
 * Points CURRENT at MANIFEST-number: CURRENT.tmp is written and synced,
 * renamed over CURRENT, and the directory synced. *renamed says whether
 * CURRENT may now name the new manifest (which must then not be removed,
 * even if the directory sync failed).
 */
static int current_set(struct version_set *vs, uint64_t number, bool *renamed)
{
	char tmp[FILENAME_MAX_LEN], cur[FILENAME_MAX_LEN], line[64];
	struct lsm_env *env = vs->env;
	int n = snprintf(line, sizeof line, "MANIFEST-%06" PRIu64 "\n", number);
	*renamed = false;
	snprintf(tmp, sizeof tmp, "%s/CURRENT.tmp", vs->dbdir);
	filename_current(cur, vs->dbdir);
	int rc = env_write_file(env, tmp, line, (size_t)n);
	if (!rc) {
		rc = env->rename(env, tmp, cur);
		*renamed = rc == 0;
	}
	if (rc)
		env->unlink(env, tmp);
	if (*renamed)
		rc = env->sync_dir(env, vs->dbdir);
	if (rc)
		lsm_log("cannot switch '%s' to manifest %06" PRIu64 ": %s", cur,
			number, strerror(-rc));
	return rc;
}

/*
 * Starts MANIFEST-number with a snapshot of v (plus the set's counters
 * and compaction pointers) and makes CURRENT name it. Used by create and
 * recover, when no other thread can see vs. The old manifest, if any, is
 * closed and its file deleted.
 */
static int manifest_install_snapshot(struct version_set *vs, uint64_t number)
{
	struct version_edit snap;
	struct buf rec = BUF_INIT;
	struct wal_writer *w = NULL;
	bool renamed;
	char path[FILENAME_MAX_LEN];

	version_edit_init(&snap);
	int rc = snapshot_edit(
		vs->current, vs->log_number, vs->next_file_number,
		version_set_last_sequence(vs), vs->compact_pointer, &snap);
	if (!rc)
		rc = version_edit_encode(&snap, &rec);
	if (!rc)
		rc = manifest_start(vs, number, buf_slice(&rec), &w);
	if (!rc) {
		rc = current_set(vs, number, &renamed);
		if (rc) {
			wal_writer_close(w);
			if (!renamed)
				vs->env->unlink(vs->env,
						filename_manifest(path,
								  vs->dbdir,
								  number));
		}
	}
	version_edit_release(&snap);
	buf_release(&rec);
	if (rc) {
		vs->error = rc;
		return rc;
	}
	uint64_t old = vs->manifest_number;
	bool had_old = vs->manifest != NULL || old != 0;
	wal_writer_close(vs->manifest);
	vs->manifest = w;
	vs->manifest_number = number;
	if (had_old && old != number) {
		filename_manifest(path, vs->dbdir, old);
		int urc = vs->env->unlink(vs->env, path);
		if (urc && urc != -ENOENT)
			lsm_log("cannot remove old manifest '%s': %s", path,
				strerror(-urc));
	}
	return 0;
}

int version_set_create(struct version_set *vs)
{
	char path[FILENAME_MAX_LEN];
	if (vs->env->exists(vs->env, filename_current(path, vs->dbdir)) == 0)
		return -EEXIST;
	uint64_t number = version_set_new_file_number(vs);
	return manifest_install_snapshot(vs, number);
}

/* ---- recovery ---- */

/* The manifest number in CURRENT's contents "MANIFEST-NNNNNN\n". */
static int parse_current(const char *data, size_t n, uint64_t *number)
{
	char name[64];
	if (n < 2 || n >= sizeof name || data[n - 1] != '\n' ||
	    memchr(data, '\0', n) || memchr(data, '/', n))
		return -EIO;
	memcpy(name, data, n - 1);
	name[n - 1] = '\0';
	return filename_parse(name, number) == FILE_MANIFEST ? 0 : -EIO;
}

/* Marks every numbered file in the directory used, so that no new file
 * (the next manifest above all) takes the number of one a crash left
 * behind or that recovery has yet to read (WAL segments). */
static int mark_dir_numbers_used(struct version_set *vs)
{
	char **names;
	size_t count;
	int rc = vs->env->list_dir(vs->env, vs->dbdir, &names, &count);
	if (rc) {
		lsm_log("cannot list '%s': %s", vs->dbdir, strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < count; i++) {
		uint64_t number;
		switch (filename_parse(names[i], &number)) {
		case FILE_MANIFEST:
		case FILE_WAL:
		case FILE_SST:
			version_set_mark_file_number_used(vs, number);
			break;
		default:
			break;
		}
	}
	env_free_names(names, count);
	return 0;
}

/* The state replay accumulates. */
struct replay {
	struct version_builder b;
	bool has_log, has_next, has_seq;
	uint64_t log_number, next_file, last_seq;
	struct buf cptrs[LSM_NUM_LEVELS];
};

/*
 * File numbers count the files a store ever made, one at a time; nothing
 * real comes near 2^62. A bigger one in an edit is damage, and accepting it
 * would let next_file_number wrap to 0 and reuse numbers of live files.
 */
#define FILE_NUMBER_LIMIT (UINT64_C(1) << 62)

static int check_file_numbers(const struct version_edit *e, char *why,
			      size_t whylen)
{
	uint64_t bad = 0;
	if (e->has_log_number && e->log_number > FILE_NUMBER_LIMIT)
		bad = e->log_number;
	if (e->has_next_file_number && e->next_file_number > FILE_NUMBER_LIMIT)
		bad = e->next_file_number;
	for (size_t i = 0; i < e->nadded; i++)
		if (e->added[i].f->number > FILE_NUMBER_LIMIT)
			bad = e->added[i].f->number;
	if (!bad)
		return 0;
	snprintf(why, whylen, "file number %" PRIu64 " out of range", bad);
	return -EINVAL;
}

static int replay_edit(struct replay *rp, const struct version_edit *e,
		       char *why, size_t whylen)
{
	int rc = check_file_numbers(e, why, whylen);
	if (rc)
		return rc;
	rc = version_builder_apply(&rp->b, e, why, whylen);
	if (rc)
		return rc;
	if (e->has_log_number) {
		rp->has_log = true;
		rp->log_number = e->log_number;
	}
	if (e->has_next_file_number) {
		rp->has_next = true;
		rp->next_file = e->next_file_number;
	}
	if (e->has_last_sequence) {
		rp->has_seq = true;
		if (e->last_sequence > rp->last_seq)
			rp->last_seq = e->last_sequence;
	}
	for (size_t i = 0; i < e->ncptrs && !rc; i++)
		rc = buf_set(&rp->cptrs[e->cptrs[i].level],
			     e->cptrs[i].ikey.data, e->cptrs[i].ikey.len);
	return rc;
}

/* Replays the manifest named in CURRENT into rp; *number is its number. */
static int replay_manifest(struct version_set *vs, struct replay *rp,
			   uint64_t *number)
{
	char path[FILENAME_MAX_LEN], name[32], why[160];
	struct version_edit e;
	struct wal_reader *r = NULL;
	char *data = NULL;
	size_t n = 0;

	int rc = env_read_file(vs->env, filename_current(path, vs->dbdir),
			       &data, &n);
	if (rc == -ENOENT)
		return rc;
	if (rc) {
		lsm_log("cannot read '%s': %s", path, strerror(-rc));
		return rc;
	}
	rc = parse_current(data, n, number);
	free(data);
	if (rc) {
		lsm_log("corrupt '%s': it does not name a manifest", path);
		return -EIO;
	}
	snprintf(name, sizeof name, "MANIFEST-%06" PRIu64, *number);
	rc = wal_reader_new(vs->env,
			    filename_manifest(path, vs->dbdir, *number),
			    MANIFEST_MAGIC, LSM_WAL_RECOVERY_STRICT, &r);
	if (rc == -ENOENT) {
		lsm_log("'CURRENT' in '%s' names '%s', which does not exist",
			vs->dbdir, name);
		return -EIO;
	}
	if (rc) {
		if (rc != -EIO) /* the reader logs corruption itself */
			lsm_log("cannot open manifest '%s': %s", path,
				strerror(-rc));
		return rc;
	}

	version_edit_init(&e);
	for (;;) {
		uint8_t type;
		struct slice payload;
		rc = wal_reader_next(r, &type, &payload);
		if (rc < 0 && rc != -EIO)
			lsm_log("cannot read manifest '%s': %s", path,
				strerror(-rc));
		if (rc <= 0)
			break;
		unsigned long long off = wal_reader_offset(r);
		if (type != MANIFEST_RECORD_EDIT) {
			lsm_log("corrupt record in '%s' at offset %llu: "
				"unknown record type %u",
				name, off, type);
			rc = -EIO;
			break;
		}
		rc = version_edit_decode(&e, payload);
		if (rc == -EIO)
			lsm_log("corrupt version edit in '%s' at offset %llu",
				name, off);
		if (rc)
			break;
		rc = replay_edit(rp, &e, why, sizeof why);
		if (rc == -EINVAL) {
			lsm_log("corrupt version edit in '%s' at offset %llu: "
				"%s",
				name, off, why);
			rc = -EIO;
		}
		if (rc)
			break;
	}
	version_edit_release(&e);
	wal_reader_free(r);
	if (!rc && (!rp->has_log || !rp->has_next || !rp->has_seq)) {
		lsm_log("corrupt manifest '%s': no %s recorded", name,
			!rp->has_next  ? "next file number"
			: !rp->has_seq ? "last sequence"
				       : "log number");
		rc = -EIO;
	}
	return rc;
}

int version_set_recover(struct version_set *vs)
{
	struct replay rp;
	struct version *v = NULL;
	uint64_t number = 0;
	char why[160];

	memset(&rp, 0, sizeof rp);
	int rc = replay_manifest(vs, &rp, &number);
	if (rc)
		goto out;
	rc = version_builder_save(&rp.b, vs, &v, why, sizeof why);
	if (rc == -EINVAL) {
		lsm_log("corrupt manifest 'MANIFEST-%06" PRIu64 "': %s", number,
			why);
		rc = -EIO;
	}
	if (rc)
		goto out;

	version_unref(vs->current);
	vs->current = v;
	vs->manifest_number = number;
	vs->log_number = rp.log_number;
	vs->next_file_number = rp.next_file;
	version_set_set_last_sequence(vs, rp.last_seq);
	for (int level = 0; level < LSM_NUM_LEVELS; level++) {
		struct buf tmp = vs->compact_pointer[level];
		vs->compact_pointer[level] = rp.cptrs[level];
		rp.cptrs[level] = tmp;
	}
	version_set_mark_file_number_used(vs, number);
	version_set_mark_file_number_used(vs, rp.log_number);
	for (int level = 0; level < LSM_NUM_LEVELS; level++)
		for (int i = 0; i < v->nfiles[level]; i++)
			version_set_mark_file_number_used(
				vs, v->files[level][i]->number);
	rc = mark_dir_numbers_used(vs);
	if (!rc)
		rc = manifest_install_snapshot(vs,
					       version_set_new_file_number(vs));
out:
	version_builder_release(&rp.b);
	for (int level = 0; level < LSM_NUM_LEVELS; level++)
		buf_release(&rp.cptrs[level]);
	return rc;
}

/* ---- log_and_apply ---- */

/* What log_and_apply prepares under mu, writes without it and installs
 * under it again. */
struct apply_state {
	struct version *v;       /* the successor of vs->current */
	struct buf rec;          /* the encoded record to append */
	bool roll;               /* rec is the snapshot of a new MANIFEST */
	uint64_t new_number;     /* ... with this number */
	struct wal_writer *neww; /* ... once it is written */
	/* the new compaction pointers, swapped in on success so that
	 * installing a durable edit cannot fail */
	struct buf cptrs[LSM_NUM_LEVELS];
	bool set_cptr[LSM_NUM_LEVELS];
};

static void apply_state_release(struct apply_state *st)
{
	version_unref(st->v);
	wal_writer_close(st->neww);
	buf_release(&st->rec);
	for (int level = 0; level < LSM_NUM_LEVELS; level++)
		buf_release(&st->cptrs[level]);
}

/* Fills in e's counters, builds the new version and encodes the record.
 * mu held. */
static int apply_prepare(struct version_set *vs, struct version_edit *e,
			 struct apply_state *st)
{
	char why[160];
	struct version_builder b = VERSION_BUILDER_INIT;
	int rc;

	/* A big MANIFEST is replaced by a snapshot; its number is taken
	 * before the counters are recorded so the snapshot covers it. */
	st->roll = wal_writer_size(vs->manifest) >= vs->manifest_roll_size;
	if (st->roll)
		st->new_number = version_set_new_file_number(vs);
	if (!e->has_log_number)
		version_edit_set_log_number(e, vs->log_number);
	version_edit_set_next_file_number(e, vs->next_file_number);
	version_edit_set_last_sequence(e, version_set_last_sequence(vs));

	rc = version_builder_add_version(&b, vs->current);
	if (!rc)
		rc = version_builder_apply(&b, e, why, sizeof why);
	if (!rc)
		rc = version_builder_save(&b, vs, &st->v, why, sizeof why);
	version_builder_release(&b);
	if (rc == -EINVAL)
		lsm_log("version edit does not fit the current version: %s",
			why);

	for (size_t i = 0; i < e->ncptrs && !rc; i++) {
		int level = e->cptrs[i].level;
		st->set_cptr[level] = true;
		rc = buf_set(&st->cptrs[level], e->cptrs[i].ikey.data,
			     e->cptrs[i].ikey.len);
	}
	if (rc)
		return rc;
	if (!st->roll)
		return version_edit_encode(e, &st->rec);

	struct version_edit snap;
	struct buf cptrs[LSM_NUM_LEVELS];
	for (int level = 0; level < LSM_NUM_LEVELS; level++)
		cptrs[level] = st->set_cptr[level] ? st->cptrs[level]
						   : vs->compact_pointer[level];
	version_edit_init(&snap);
	rc = snapshot_edit(st->v, e->log_number, e->next_file_number,
			   e->last_sequence, cptrs, &snap);
	if (!rc)
		rc = version_edit_encode(&snap, &st->rec);
	version_edit_release(&snap);
	return rc;
}

/* Appends and syncs the record, or writes the new MANIFEST and switches
 * CURRENT to it. Called without mu, by the one thread that set
 * manifest_busy. */
static int apply_write(struct version_set *vs, struct apply_state *st)
{
	char path[FILENAME_MAX_LEN];
	bool renamed = false;
	int rc;

	if (!st->roll) {
		rc = wal_writer_add(vs->manifest, MANIFEST_RECORD_EDIT,
				    buf_slice(&st->rec));
		if (!rc)
			rc = wal_writer_sync(vs->manifest);
		if (rc)
			lsm_log("cannot write manifest 'MANIFEST-%06" PRIu64
				"': %s",
				vs->manifest_number, strerror(-rc));
		return rc;
	}
	rc = manifest_start(vs, st->new_number, buf_slice(&st->rec), &st->neww);
	if (rc)
		return rc;
	rc = current_set(vs, st->new_number, &renamed);
	if (rc) {
		wal_writer_close(st->neww);
		st->neww = NULL;
		/* once renamed, CURRENT may name the new file: keep it */
		if (!renamed)
			vs->env->unlink(vs->env,
					filename_manifest(path, vs->dbdir,
							  st->new_number));
	}
	return rc;
}

/* Makes the written edit current. mu held. Returns the MANIFEST writer
 * that a roll replaced (to close and delete without mu), or NULL. */
static struct wal_writer *apply_install(struct version_set *vs,
					const struct version_edit *e,
					struct apply_state *st)
{
	struct version *old = vs->current;
	vs->current = st->v;
	st->v = NULL;
	version_unref(old);
	vs->log_number = e->log_number;
	for (int level = 0; level < LSM_NUM_LEVELS; level++) {
		if (!st->set_cptr[level])
			continue;
		struct buf tmp = vs->compact_pointer[level];
		vs->compact_pointer[level] = st->cptrs[level];
		st->cptrs[level] = tmp;
	}
	if (!st->roll)
		return NULL;
	struct wal_writer *oldw = vs->manifest;
	vs->manifest = st->neww;
	st->neww = NULL;
	vs->manifest_number = st->new_number;
	return oldw;
}

int version_set_log_and_apply(struct version_set *vs, struct version_edit *e,
			      pthread_mutex_t *mu)
{
	struct apply_state st;
	int rc;

	while (vs->manifest_busy)
		pthread_cond_wait(&vs->manifest_cv, mu);
	if (vs->error)
		return vs->error;
	if (!vs->manifest)
		return -EINVAL; /* neither created nor recovered */
	if (e->has_log_number && (e->log_number < vs->log_number ||
				  e->log_number >= vs->next_file_number)) {
		lsm_log("version edit log number %" PRIu64 " outside [%" PRIu64
			", %" PRIu64 ")",
			e->log_number, vs->log_number, vs->next_file_number);
		return -EINVAL;
	}

	memset(&st, 0, sizeof st);
	rc = apply_prepare(vs, e, &st);
	if (rc)
		goto out;

	/* Only this thread touches the MANIFEST until manifest_busy is
	 * cleared, and vs->current cannot change meanwhile, so st.v stays
	 * the successor of the current version. */
	vs->manifest_busy = true;
	pthread_mutex_unlock(mu);
	rc = apply_write(vs, &st);
	pthread_mutex_lock(mu);
	if (rc) {
		/* the MANIFEST may hold part of e, or all of it unsynced:
		 * nothing may follow it */
		vs->error = rc;
	} else {
		uint64_t old_number = vs->manifest_number;
		struct wal_writer *oldw = apply_install(vs, e, &st);
		if (oldw) {
			char path[FILENAME_MAX_LEN];
			pthread_mutex_unlock(mu);
			wal_writer_close(oldw);
			vs->env->unlink(
				vs->env,
				filename_manifest(path, vs->dbdir, old_number));
			pthread_mutex_lock(mu);
		}
	}
	vs->manifest_busy = false;
	pthread_cond_broadcast(&vs->manifest_cv);
out:
	apply_state_release(&st);
	return rc;
}
