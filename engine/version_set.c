/*
 * version_set.c - the version set: building versions from edits, the
 * MANIFEST and CURRENT, recovery and log_and_apply; see version.h and
 * manifest_format.h.
 *
 * Every new version is built by a builder: a hash map from file number to
 * (level, file) that starts from a version (or from nothing, in recovery),
 * takes edits (deletions first, then additions, so an edit may move a file
 * between levels), and finally lays the files out per level, sorted, and
 * checks that levels >= 1 do not overlap. Recovery feeds every edit of the
 * MANIFEST into one builder, so replay costs O(edits + files).
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
#include "wal_reader.h"
#include "wal_writer.h"

/* ---- the builder ---- */

struct builder_slot {
	uint64_t number; /* 0: empty (file numbers start at 1) */
	int level;
	struct file_meta *f; /* one reference */
};

struct builder {
	struct builder_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

static size_t slot_hash(uint64_t number, size_t cap)
{
	return (size_t)((number * UINT64_C(0x9e3779b97f4a7c15)) >> 17) &
	       (cap - 1);
}

/* The slot holding number, or the empty slot where it would go. */
static size_t builder_find(const struct builder *b, uint64_t number)
{
	size_t i = slot_hash(number, b->cap);
	while (b->slots[i].number && b->slots[i].number != number)
		i = (i + 1) & (b->cap - 1);
	return i;
}

static int builder_grow(struct builder *b)
{
	size_t cap = b->cap ? b->cap * 2 : 64;
	struct builder_slot *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return -ENOMEM;
	struct builder old = *b;
	b->slots = slots;
	b->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].number)
			b->slots[builder_find(b, old.slots[i].number)] =
				old.slots[i];
	free(old.slots);
	return 0;
}

static void builder_release(struct builder *b)
{
	for (size_t i = 0; i < b->cap; i++)
		if (b->slots[i].number)
			file_meta_unref(b->slots[i].f);
	free(b->slots);
	memset(b, 0, sizeof *b);
}

/* Adds f at level (taking a reference). -EINVAL (why filled) when its
 * number is 0 or already present. */
static int builder_add(struct builder *b, int level, struct file_meta *f,
		       char *why, size_t whylen)
{
	if (f->number == 0) {
		snprintf(why, whylen, "file number 0 added to level %d", level);
		return -EINVAL;
	}
	if ((b->n + 1) * 2 > b->cap) {
		int rc = builder_grow(b);
		if (rc)
			return rc;
	}
	size_t i = builder_find(b, f->number);
	if (b->slots[i].number) {
		snprintf(why, whylen, "file %06" PRIu64 " added to level %d "
			 "is already in level %d", f->number, level,
			 b->slots[i].level);
		return -EINVAL;
	}
	b->slots[i].number = f->number;
	b->slots[i].level = level;
	b->slots[i].f = file_meta_ref(f);
	b->n++;
	return 0;
}

/* Removes number from level. -EINVAL (why filled) when it is not there. */
static int builder_delete(struct builder *b, int level, uint64_t number,
			  char *why, size_t whylen)
{
	size_t i = b->cap ? builder_find(b, number) : 0;
	if (!b->cap || !b->slots[i].number || b->slots[i].level != level) {
		snprintf(why, whylen, "deleted file %06" PRIu64
			 " is not in level %d", number, level);
		return -EINVAL;
	}
	file_meta_unref(b->slots[i].f);
	b->slots[i].number = 0;
	b->n--;
	/* linear probing: pull later members of the cluster back over the
	 * hole so that every lookup still finds them */
	size_t mask = b->cap - 1;
	for (size_t j = (i + 1) & mask; b->slots[j].number; j = (j + 1) & mask) {
		size_t home = slot_hash(b->slots[j].number, b->cap);
		/* slot j may move to the hole i when i lies cyclically in
		 * [home, j) */
		bool movable = i <= j ? (home <= i || home > j)
				      : (home <= i && home > j);
		if (movable) {
			b->slots[i] = b->slots[j];
			b->slots[j].number = 0;
			i = j;
		}
	}
	return 0;
}

static int builder_add_version(struct builder *b, const struct version *v)
{
	char why[160];
	for (int level = 0; level < LSM_NUM_LEVELS; level++)
		for (int i = 0; i < v->nfiles[level]; i++) {
			int rc = builder_add(b, level, v->files[level][i], why,
					     sizeof why);
			if (rc)
				return rc;
		}
	return 0;
}

static int builder_apply(struct builder *b, const struct version_edit *e,
			 char *why, size_t whylen)
{
	for (size_t i = 0; i < e->ndeleted; i++) {
		int rc = builder_delete(b, e->deleted[i].level,
					e->deleted[i].number, why, whylen);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < e->nadded; i++) {
		int rc = builder_add(b, e->added[i].level, e->added[i].f, why,
				     whylen);
		if (rc)
			return rc;
	}
	return 0;
}

/* L0: newest first (highest max_seq, then highest number). */
static int cmp_l0(const void *pa, const void *pb)
{
	const struct file_meta *a = *(struct file_meta *const *)pa;
	const struct file_meta *b = *(struct file_meta *const *)pb;
	if (a->max_seq != b->max_seq)
		return a->max_seq > b->max_seq ? -1 : 1;
	return (a->number < b->number) - (a->number > b->number);
}

/* Levels >= 1: by smallest key. */
static int cmp_level(const void *pa, const void *pb)
{
	const struct file_meta *a = *(struct file_meta *const *)pa;
	const struct file_meta *b = *(struct file_meta *const *)pb;
	int c = ikey_cmp(buf_slice(&a->smallest), buf_slice(&b->smallest));
	if (c)
		return c;
	return (a->number > b->number) - (a->number < b->number);
}

static struct version *version_alloc(struct version_set *vs)
{
	struct version *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->vs = vs;
	v->refs = 1;
	return v;
}

/* Links v into vs's list of live versions, after which
 * version_set_live_files sees it and version_unref unlinks it. */
static void version_register(struct version_set *vs, struct version *v)
{
	pthread_mutex_lock(&vs->list_mu);
	v->next = &vs->live;
	v->prev = vs->live.prev;
	v->prev->next = v;
	vs->live.prev = v;
	pthread_mutex_unlock(&vs->list_mu);
}

/* Frees a version that was never registered. */
static void version_discard(struct version *v)
{
	v->vs = NULL;
	version_unref(v);
}

/* Lays the builder's files out as a new version with one reference.
 * -EINVAL (why filled) when a level >= 1 would overlap. */
static int builder_save(struct builder *b, struct version_set *vs,
			struct version **out, char *why, size_t whylen)
{
	struct version *v = version_alloc(vs);
	int counts[LSM_NUM_LEVELS] = { 0 };
	int rc = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < b->cap; i++)
		if (b->slots[i].number)
			counts[b->slots[i].level]++;
	for (int level = 0; level < LSM_NUM_LEVELS; level++) {
		if (!counts[level])
			continue;
		v->files[level] = malloc((size_t)counts[level] *
					 sizeof *v->files[level]);
		if (!v->files[level]) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	/* each file placed takes its reference right away, so a failure
	 * below frees the version cleanly */
	for (size_t i = 0; i < b->cap; i++) {
		struct builder_slot *s = &b->slots[i];
		if (s->number)
			v->files[s->level][v->nfiles[s->level]++] =
				file_meta_ref(s->f);
	}
	for (int level = 0; level < LSM_NUM_LEVELS; level++) {
		int n = v->nfiles[level];
		struct file_meta **files = v->files[level];
		if (n < 2)
			continue;
		qsort(files, (size_t)n, sizeof *files,
		      level == 0 ? cmp_l0 : cmp_level);
		for (int i = 1; i < n && level > 0; i++) {
			if (ikey_cmp(buf_slice(&files[i - 1]->largest),
				     buf_slice(&files[i]->smallest)) >= 0) {
				snprintf(why, whylen, "files %06" PRIu64
					 " and %06" PRIu64
					 " overlap in level %d",
					 files[i - 1]->number, files[i]->number,
					 level);
				rc = -EINVAL;
				goto fail;
			}
		}
	}
	version_finalize(v, &vs->opt);
	version_register(vs, v);
	*out = v;
	return 0;
fail:
	version_discard(v);
	return rc;
}

/* ---- the version set ---- */

int version_set_new(struct lsm_env *env, const char *dbdir,
		    const struct lsm_options *opt, struct table_cache *tc,
		    struct version_set **out)
{
	struct version_set *vs = calloc(1, sizeof *vs);
	struct builder empty = { NULL, 0, 0 };
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
	rc = builder_save(&empty, vs, &vs->current, why, sizeof why);
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
			"referenced", vs->dbdir, leaked);
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
	int rc = snapshot_edit(vs->current, vs->log_number, vs->next_file_number,
			       version_set_last_sequence(vs), vs->compact_pointer,
			       &snap);
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
					filename_manifest(path, vs->dbdir,
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
	struct builder b;
	bool has_log, has_next, has_seq;
	uint64_t log_number, next_file, last_seq;
	struct buf cptrs[LSM_NUM_LEVELS];
};

static int replay_edit(struct replay *rp, const struct version_edit *e,
		       char *why, size_t whylen)
{
	int rc = builder_apply(&rp->b, e, why, whylen);
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
	rc = wal_reader_new(vs->env, filename_manifest(path, vs->dbdir, *number),
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
				"unknown record type %u", name, off, type);
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
				"%s", name, off, why);
			rc = -EIO;
		}
		if (rc)
			break;
	}
	version_edit_release(&e);
	wal_reader_free(r);
	if (!rc && (!rp->has_log || !rp->has_next || !rp->has_seq)) {
		lsm_log("corrupt manifest '%s': no %s recorded", name,
			!rp->has_next ? "next file number"
			: !rp->has_seq ? "last sequence" : "log number");
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
	rc = builder_save(&rp.b, vs, &v, why, sizeof why);
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
		rc = manifest_install_snapshot(vs, version_set_new_file_number(vs));
out:
	builder_release(&rp.b);
	for (int level = 0; level < LSM_NUM_LEVELS; level++)
		buf_release(&rp.cptrs[level]);
	return rc;
}

/* ---- log_and_apply ---- */

int version_set_log_and_apply(struct version_set *vs, struct version_edit *e,
			      pthread_mutex_t *mu)
{
	struct builder b = { NULL, 0, 0 };
	struct version_edit snap;
	struct buf rec = BUF_INIT;
	struct version *v = NULL;
	struct wal_writer *neww = NULL;
	uint64_t new_number = 0;
	char why[160];
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
			", %" PRIu64 ")", e->log_number, vs->log_number,
			vs->next_file_number);
		return -EINVAL;
	}

	/* A big MANIFEST is replaced by a snapshot; its number is taken
	 * before the counters are recorded so the snapshot covers it. */
	bool roll = wal_writer_size(vs->manifest) >= vs->manifest_roll_size;
	if (roll)
		new_number = version_set_new_file_number(vs);
	if (!e->has_log_number)
		version_edit_set_log_number(e, vs->log_number);
	version_edit_set_next_file_number(e, vs->next_file_number);
	version_edit_set_last_sequence(e, version_set_last_sequence(vs));

	rc = builder_add_version(&b, vs->current);
	if (!rc)
		rc = builder_apply(&b, e, why, sizeof why);
	if (!rc)
		rc = builder_save(&b, vs, &v, why, sizeof why);
	builder_release(&b);
	if (rc == -EINVAL)
		lsm_log("version edit does not fit the current version: %s",
			why);
	if (rc)
		return rc;

	version_edit_init(&snap);
	if (roll) {
		struct buf cptrs[LSM_NUM_LEVELS];
		memcpy(cptrs, vs->compact_pointer, sizeof cptrs);
		for (size_t i = 0; i < e->ncptrs; i++)
			cptrs[e->cptrs[i].level] = e->cptrs[i].ikey;
		rc = snapshot_edit(v, e->log_number, e->next_file_number,
				   e->last_sequence, cptrs, &snap);
		if (!rc)
			rc = version_edit_encode(&snap, &rec);
	} else {
		rc = version_edit_encode(e, &rec);
	}
	version_edit_release(&snap);
	/* copies of the new compaction pointers, swapped in on success, so
	 * that installing a durable edit cannot fail */
	struct buf newcp[LSM_NUM_LEVELS];
	bool setcp[LSM_NUM_LEVELS] = { false };
	memset(newcp, 0, sizeof newcp);
	for (size_t i = 0; i < e->ncptrs && !rc; i++) {
		int level = e->cptrs[i].level;
		setcp[level] = true;
		rc = buf_set(&newcp[level], e->cptrs[i].ikey.data,
			     e->cptrs[i].ikey.len);
	}
	if (rc) {
		version_unref(v);
		goto out;
	}

	/* Only this thread touches the manifest until manifest_busy is
	 * cleared; vs->current cannot change meanwhile, so v stays the
	 * successor of the current version. */
	vs->manifest_busy = true;
	pthread_mutex_unlock(mu);
	if (roll) {
		bool renamed = false;
		rc = manifest_start(vs, new_number, buf_slice(&rec), &neww);
		if (!rc) {
			rc = current_set(vs, new_number, &renamed);
			if (rc) {
				char path[FILENAME_MAX_LEN];
				wal_writer_close(neww);
				neww = NULL;
				if (!renamed)
					vs->env->unlink(vs->env,
						filename_manifest(path,
							vs->dbdir, new_number));
			}
		}
	} else {
		rc = wal_writer_add(vs->manifest, MANIFEST_RECORD_EDIT,
				    buf_slice(&rec));
		if (!rc)
			rc = wal_writer_sync(vs->manifest);
		if (rc)
			lsm_log("cannot write manifest 'MANIFEST-%06" PRIu64
				"': %s", vs->manifest_number, strerror(-rc));
	}

	struct wal_writer *oldw = NULL;
	uint64_t old_number = 0;
	pthread_mutex_lock(mu);
	if (rc) {
		/* the MANIFEST may hold part of e, or all of it unsynced:
		 * nothing more may follow it */
		vs->error = rc;
		version_unref(v);
	} else {
		struct version *old = vs->current;
		vs->current = v;
		version_unref(old);
		vs->log_number = e->log_number;
		for (int level = 0; level < LSM_NUM_LEVELS; level++) {
			if (!setcp[level])
				continue;
			struct buf tmp = vs->compact_pointer[level];
			vs->compact_pointer[level] = newcp[level];
			newcp[level] = tmp;
		}
		if (roll) {
			oldw = vs->manifest;
			old_number = vs->manifest_number;
			vs->manifest = neww;
			vs->manifest_number = new_number;
		}
	}
	if (oldw) {
		char path[FILENAME_MAX_LEN];
		pthread_mutex_unlock(mu);
		wal_writer_close(oldw);
		vs->env->unlink(vs->env,
				filename_manifest(path, vs->dbdir, old_number));
		pthread_mutex_lock(mu);
	}
	vs->manifest_busy = false;
	pthread_cond_broadcast(&vs->manifest_cv);
out:
	buf_release(&rec);
	for (int level = 0; level < LSM_NUM_LEVELS; level++)
		buf_release(&newcp[level]);
	return rc;
}
