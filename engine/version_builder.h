/*
 * version_builder.h - builds a new version from a base version and edits
 * (internal to the version set: version_set.c).
 *
 * A builder is a hash map from file number to (level, file). It starts from
 * a version (version_builder_add_version) or from nothing (recovery), takes
 * edits (version_builder_apply: each edit's deletions first, then its
 * additions, so an edit may move a file between levels) and finally lays
 * the files out per level (version_builder_save): level 0 newest first
 * (max_seq descending, then number descending), levels >= 1 by smallest
 * key, checked not to overlap. Recovery feeds every edit of a MANIFEST into
 * one builder, so replay costs O(edits + files) rather than O(edits x files).
 *
 * Errors that describe a bad edit are -EINVAL with a reason written to
 * why[whylen] ("deleted file 000012 is not in level 1"); the caller decides
 * whether that is a bug (log_and_apply) or corruption (recovery).
 * The builder holds one reference on every file in it. Not thread-safe.
 */
#ifndef LSM_VERSION_BUILDER_H
#define LSM_VERSION_BUILDER_H

#include <stddef.h>
#include <stdint.h>

struct file_meta;
struct version;
struct version_edit;
struct version_set;

struct builder_slot {
	uint64_t number; /* 0: empty (file numbers start at 1) */
	int level;
	struct file_meta *f; /* one reference */
};

struct version_builder {
	struct builder_slot *slots; /* open addressing, linear probing */
	size_t cap;                 /* a power of two, or 0 */
	size_t n;
};

#define VERSION_BUILDER_INIT { NULL, 0, 0 }

/* Drops every reference; b is empty and reusable afterwards. */
void version_builder_release(struct version_builder *b);

/* Adds every file of v. Returns 0 or -ENOMEM. */
int version_builder_add_version(struct version_builder *b,
				const struct version *v);

/* Applies e. Returns 0, -ENOMEM, or -EINVAL (why filled) when e deletes a
 * file that is not in that level or adds a number already present or 0.
 * On -EINVAL b holds part of e: release it. */
int version_builder_apply(struct version_builder *b,
			  const struct version_edit *e, char *why,
			  size_t whylen);

/* Lays the files out as a new version of vs with one reference, scores
 * computed and registered in vs's list of live versions. Returns 0,
 * -ENOMEM, or -EINVAL (why filled) when a level >= 1 would overlap. b is
 * unchanged. */
int version_builder_save(struct version_builder *b, struct version_set *vs,
			 struct version **out, char *why, size_t whylen);

#endif
