/*
 * version_edit.h - a change to the set of tables that make up the store: the
 * unit the MANIFEST records (see manifest_format.h for the bytes).
 *
 * An edit carries optional counters (oldest live WAL segment, next file
 * number, last sequence), the files it adds per level, the files it removes
 * per level, and per-level compaction pointers (the internal key where the
 * next round-robin compaction of that level starts).
 *
 * Ownership: an edit owns one reference on every file_meta it adds (see
 * version.h) and copies of every key; version_edit_release() drops them.
 * A zeroed edit (or version_edit_init()) is empty and valid.
 * Not thread-safe: an edit belongs to one thread at a time.
 */
#ifndef LSM_VERSION_EDIT_H
#define LSM_VERSION_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "slice.h"

struct file_meta;

struct edit_added_file {
	int level;
	struct file_meta *f; /* one reference owned by the edit */
};

struct edit_deleted_file {
	int level;
	uint64_t number;
};

struct edit_compact_ptr {
	int level;
	struct buf ikey; /* internal key */
};

struct version_edit {
	bool has_log_number;
	bool has_next_file_number;
	bool has_last_sequence;
	uint64_t log_number; /* WAL segments below this are obsolete */
	uint64_t next_file_number;
	uint64_t last_sequence;

	struct edit_added_file *added;
	size_t nadded, cap_added;
	struct edit_deleted_file *deleted;
	size_t ndeleted, cap_deleted;
	struct edit_compact_ptr *cptrs;
	size_t ncptrs, cap_cptrs;
};

void version_edit_init(struct version_edit *e);
/* Drops every reference and buffer; e is empty and reusable afterwards. */
void version_edit_release(struct version_edit *e);

void version_edit_set_log_number(struct version_edit *e, uint64_t n);
void version_edit_set_next_file_number(struct version_edit *e, uint64_t n);
void version_edit_set_last_sequence(struct version_edit *e, uint64_t s);

/* Records that f is added to level; the edit takes its own reference on f.
 * Returns 0, -EINVAL (bad level) or -ENOMEM. */
int version_edit_add_file(struct version_edit *e, int level,
			  struct file_meta *f);
/* Records that file number leaves level. Returns 0, -EINVAL or -ENOMEM. */
int version_edit_delete_file(struct version_edit *e, int level,
			     uint64_t number);
/* Sets level's compaction pointer to the internal key ikey (copied). */
int version_edit_set_compact_pointer(struct version_edit *e, int level,
				     struct slice ikey);

/* Appends the encoding of e to out. Returns 0 or -ENOMEM (out may then
 * hold a partial encoding). */
int version_edit_encode(const struct version_edit *e, struct buf *out);

/*
 * Replaces the contents of e (which must be initialized) with the edit
 * encoded in in. Returns 0, -EIO when in is not a well-formed edit (e is
 * then empty), or -ENOMEM. Logs nothing: the caller knows the file and
 * offset and says so.
 */
int version_edit_decode(struct version_edit *e, struct slice in);

#endif
