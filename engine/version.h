/*
 * version.h - which tables make up the store: file metadata, versions and
 * the version set (LevelDB's version_set, our own).
 *
 * A file_meta describes one SSTable: its number, size, key range (internal
 * keys) and the counters from its properties block. It is immutable once it
 * is in an edit or a version, except being_compacted (db->mu), and it is
 * shared by reference counting.
 *
 * A version is an immutable snapshot of the levels:
 *  - level 0 holds tables flushed from memtables; their key ranges may
 *    overlap. They are ordered newest first (max_seq descending, then file
 *    number descending), so the first L0 table that knows a key knows its
 *    newest value.
 *  - every level >= 1 is sorted by smallest key and its tables' ranges do
 *    not overlap: files[i]->largest < files[i+1]->smallest (internal key
 *    order; one user key may still span two neighbouring tables, with the
 *    newer entries in the earlier table).
 * Readers take a reference (version_ref) on the current version and use it
 * without any lock; the tables of a version referenced by anyone stay on disk
 * (version_set_live_files). version_ref/version_unref are atomic and may be
 * called from any thread without a lock; the last unref frees the version
 * and drops its references on its files.
 *
 * The version set owns the current version, the MANIFEST being appended to,
 * the file number counter, the last sequence, the log number and the
 * per-level compaction pointers. Unless a function says otherwise the caller
 * holds the store's mutex (db->mu), the same one for every call.
 * version_set_log_and_apply releases it during the MANIFEST write.
 *
 * Implemented in version.c (file metadata, versions, lookups, iterators,
 * overlap queries, scores), version_builder.c (making a version from a
 * base and edits), version_set.c (the set, the MANIFEST, recovery) and
 * manifest_dump.c.
 */
#ifndef LSM_VERSION_H
#define LSM_VERSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "iterator.h"
#include "lsm.h"
#include "slice.h"
#include "version_edit.h"

struct lsm_env;
struct table_cache;
struct version_set;
struct wal_writer;

/* ---- file metadata ---- */

struct file_meta {
	uint64_t number;
	uint64_t file_size;
	struct buf smallest; /* internal key */
	struct buf largest;  /* internal key */
	uint64_t entries;
	uint64_t tombstones;
	uint64_t min_seq;
	uint64_t max_seq;
	uint64_t created_unix;
	uint32_t reason;      /* SST_REASON_* (sst_format.h) */
	int refs;             /* atomic */
	bool being_compacted; /* db->mu; never written to disk */
};

/* A zeroed file_meta with one reference. Returns 0 or -ENOMEM. */
int file_meta_new(struct file_meta **out);
/* Takes a reference (atomic, no lock needed); returns f. */
struct file_meta *file_meta_ref(struct file_meta *f);
/* Drops a reference (atomic); the last one frees f. NULL is a no-op. */
void file_meta_unref(struct file_meta *f);

/* A growable list of borrowed file_meta pointers (no references held:
 * whoever fills it keeps a version alive for as long as it is used). */
struct file_list {
	struct file_meta **files;
	int n, cap;
};

#define FILE_LIST_INIT { NULL, 0, 0 }

/* Returns 0 or -ENOMEM. */
int file_list_push(struct file_list *l, struct file_meta *f);
/* Sum of file_size over the list. */
uint64_t file_list_bytes(const struct file_list *l);
/* Frees the array; the list is empty and reusable afterwards. */
void file_list_release(struct file_list *l);

/* ---- versions ---- */

struct version {
	struct version_set *vs;
	/* files[level][0..nfiles[level]), each holding one reference */
	struct file_meta **files[LSM_NUM_LEVELS];
	int nfiles[LSM_NUM_LEVELS];
	uint64_t level_bytes[LSM_NUM_LEVELS];

	/*
	 * Compaction scores, computed when the version is built: L0 is
	 * nfiles / l0_compaction_trigger, level L >= 1 is level_bytes /
	 * version_level_target(L); the last level is never compacted (0).
	 * A score >= 1 means the level needs compaction. compaction_level is
	 * the level with the highest score, compaction_score that score.
	 */
	double score[LSM_NUM_LEVELS];
	int compaction_level;
	double compaction_score;

	int refs; /* atomic */
	/* in vs's list of live versions; protected by vs->list_mu */
	struct version *prev, *next;
};

/* Takes a reference (atomic, no lock needed); returns v. */
struct version *version_ref(struct version *v);
/* Drops a reference (atomic, no lock needed); the last one frees v. NULL
 * is a no-op. */
void version_unref(struct version *v);

/*
 * Point lookup of ukey as of sequence seq: the L0 tables newest first whose
 * user-key range holds ukey, then at most one table per deeper level, found
 * by binary search. Returns LOOKUP_FOUND (and a malloc()ed *val, as
 * table_cache_get gives it), LOOKUP_DELETED, LOOKUP_NOT_FOUND, or the
 * table's -errno. The caller holds a reference on v; no lock is needed.
 */
int version_get(struct version *v, struct table_cache *tc, struct slice ukey,
		uint64_t seq, char **val, size_t *vlen);

/*
 * Appends to the malloc()ed array *iters (NULL with *n == 0 to start; it
 * is grown with realloc) one table iterator per L0 file, newest first, and
 * one level iterator (level_iter_new) per non-empty level >= 1. The caller
 * owns the iterators and the array, and keeps a reference on v until every
 * iterator is freed (the level iterators also hold their own references on
 * their file_metas). On error (-ENOMEM, or the table cache's error) the
 * iterators already appended stay in *iters for the caller to free.
 */
int version_add_iterators(struct version *v, struct table_cache *tc,
			  struct iter ***iters, int *n);

/*
 * A concatenating iterator over files[0..n), which must be sorted and not
 * overlap (a level >= 1, or a slice of one). Each table is opened lazily
 * through table_cache_iter when the iterator crosses into it. The iterator
 * copies the array and takes a reference on every file_meta; the caller
 * keeps the tables on disk (a version reference). Returns 0 or -ENOMEM.
 */
int level_iter_new(struct table_cache *tc, struct file_meta *const *files,
		   int n, struct iter **out);

/* Bytes of all tables in level. */
uint64_t version_level_bytes(const struct version *v, int level);

/* The compaction target size of level >= 1: l1_target_size times
 * level_size_ratio^(level-1). 0 for level 0 (it is judged by file count). */
uint64_t version_level_target(const struct lsm_options *opt, int level);

/* Sums level_bytes and computes the scores of a version being built
 * (version_set.c calls it; a version is immutable once published). */
void version_finalize(struct version *v, const struct lsm_options *opt);

/* v->score[level]. */
double version_level_score(const struct version *v, int level);

/*
 * Appends to out every file of level whose user-key range intersects
 * [smallest_ukey, largest_ukey] (NULL bounds are open ended). For level 0
 * the range grows to cover each file found, and the search restarts, until
 * no file outside the range overlaps it (LevelDB's transitive expansion),
 * so that the newest version of a key never stays behind. Returns 0 or
 * -ENOMEM. No lock needed; the caller holds a reference on v.
 */
int version_overlapping_files(const struct version *v, int level,
			      const struct slice *smallest_ukey,
			      const struct slice *largest_ukey,
			      struct file_list *out);

/* Whether any file of level intersects [smallest_ukey, largest_ukey]
 * (NULL bounds are open ended). */
bool version_overlap_in_level(const struct version *v, int level,
			      const struct slice *smallest_ukey,
			      const struct slice *largest_ukey);

/* The internal-key range covered by level: smallest of all smallest keys,
 * largest of all largest. Returns false (and leaves the slices alone) when
 * the level is empty. The slices point into v. */
bool version_level_range(const struct version *v, int level,
			 struct slice *smallest, struct slice *largest);

/* Index of the first file of level >= 1 whose largest key is >= ikey
 * (internal key), or nfiles[level] when there is none. */
int version_find_file(const struct version *v, int level, struct slice ikey);

/* ---- the version set ---- */

struct version_set {
	struct lsm_env *env;
	char *dbdir;
	struct lsm_options opt; /* a copy */
	struct table_cache *tc;

	uint64_t next_file_number; /* mu */
	uint64_t manifest_number;  /* mu */
	uint64_t log_number;       /* mu */
	uint64_t last_sequence;    /* atomic: written under mu, read anywhere */
	struct version *current;   /* mu; holds one reference */
	/* where the next round-robin compaction of each level starts
	 * (internal key; empty: from the beginning) (mu) */
	struct buf compact_pointer[LSM_NUM_LEVELS];

	/* The open MANIFEST. Written only by the thread that set
	 * manifest_busy, without mu. */
	struct wal_writer *manifest;
	bool manifest_busy;         /* mu: a log_and_apply is writing */
	pthread_cond_t manifest_cv; /* with mu: manifest_busy cleared */
	int error;                  /* mu; sticky MANIFEST write error */
	/* a MANIFEST this big is replaced by a snapshot at the next edit;
	 * MANIFEST_ROLL_SIZE (tests lower it) (mu) */
	uint64_t manifest_roll_size;

	pthread_mutex_t list_mu; /* guards the list of live versions */
	struct version live;     /* list head (not a real version) */
};

/*
 * Creates an empty version set for the store in dbdir (no I/O). opt is
 * copied; env, tc (which may be NULL when no lookups are made) must
 * outlive the set. Returns 0 or -ENOMEM.
 */
int version_set_new(struct lsm_env *env, const char *dbdir,
		    const struct lsm_options *opt, struct table_cache *tc,
		    struct version_set **out);

/* Closes the MANIFEST and frees vs and its current version. Every other
 * version must already be unreferenced. NULL is a no-op. */
void version_set_free(struct version_set *vs);

/*
 * Reads CURRENT and replays the MANIFEST it names. Returns -ENOENT when
 * there is no CURRENT (a new store), -EIO (with a log line naming the file
 * and offset) on corruption, including a CURRENT that names a missing
 * MANIFEST. A torn last record is dropped. Every numbered file in dbdir is
 * marked used, then a NEW manifest is started with a snapshot of the
 * recovered version, CURRENT is switched to it and the old manifest is
 * deleted. Call once, before any other use; no lock needed (no other thread
 * can see vs yet).
 */
int version_set_recover(struct version_set *vs);

/* Initializes a brand-new store: a MANIFEST holding an empty version and
 * CURRENT naming it. -EEXIST when dbdir already has a CURRENT. No lock
 * needed (as for recover). */
int version_set_create(struct version_set *vs);

/*
 * Applies e to the current version, appends e to the MANIFEST, syncs it and
 * installs the new version as current. Called with *mu held; releases *mu
 * during the write and sync and re-acquires it. Concurrent callers are
 * serialized: one MANIFEST writer at a time.
 * Fills in e's next_file_number and last_sequence from the set (and its log
 * number if e has none). Returns:
 *  - -EINVAL when e does not fit the current version (deletes a file that
 *    is not there, adds a file already present, or makes a level >= 1
 *    overlap); nothing is written and the set stays usable;
 *  - a write or sync error: e is not applied and the set refuses every
 *    later edit with the same error (sticky).
 * When the MANIFEST has grown to vs->manifest_roll_size, a new one is
 * started with a snapshot instead of e, CURRENT is switched to it and the
 * old one deleted.
 */
int version_set_log_and_apply(struct version_set *vs, struct version_edit *e,
			      pthread_mutex_t *mu);

/* The current version; no reference is taken (take one to use it after
 * releasing mu). */
struct version *version_set_current(struct version_set *vs);

/* Allocates a file number; never returns the same one twice. */
uint64_t version_set_new_file_number(struct version_set *vs);
/* Makes sure n is never allocated again. */
void version_set_mark_file_number_used(struct version_set *vs, uint64_t n);

/* The last sequence number used. Reading needs no lock. */
uint64_t version_set_last_sequence(const struct version_set *vs);
void version_set_set_last_sequence(struct version_set *vs, uint64_t s);

/* WAL segments numbered below this are no longer needed. */
uint64_t version_set_log_number(const struct version_set *vs);
/* The number of the MANIFEST being appended to. */
uint64_t version_set_manifest_number(const struct version_set *vs);

/* Where the next compaction of level starts (internal key), or an empty
 * slice; valid until the next log_and_apply. */
struct slice version_set_compact_pointer(const struct version_set *vs,
					 int level);

/* The sticky MANIFEST error, or 0. */
int version_set_error(const struct version_set *vs);

/*
 * The numbers of every SST referenced by any live version (the current one
 * or one still referenced by a reader), sorted ascending without
 * duplicates, in a malloc()ed array the caller frees (NULL when *count is
 * 0). Files being written but not yet in a version are the caller's to
 * protect. Returns 0 or -ENOMEM.
 */
int version_set_live_files(struct version_set *vs, uint64_t **numbers,
			   size_t *count);

/*
 * Prints every edit of the MANIFEST at path to out, one field per line,
 * each record headed by its offset. Returns 0, -EIO on corruption (after
 * printing what came before; the reader logs where), or the error of
 * opening the file. Implemented in manifest_dump.c.
 */
int manifest_dump(struct lsm_env *env, const char *path, FILE *out);

#endif
