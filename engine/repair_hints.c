/*
 * repair_hints.c - step 1 of lsm_repair(): the level of each table, from
 * the newest MANIFEST that replays (CURRENT's first); a prefix of a
 * damaged one will do, but not one whose edits make no valid version.
 */
#include "config.h"
#include "repair_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "manifest_format.h"
#include "version.h"
#include "version_builder.h"
#include "version_edit.h"
#include "wal_reader.h"

static int cmp_hint(const void *pa, const void *pb)
{
	const struct hint *a = pa, *b = pb;
	return (a->number > b->number) - (a->number < b->number);
}

int repair_hint_level(const struct repair *r, uint64_t number)
{
	size_t lo = 0, hi = r->nhints;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->hints[mid].number == number)
			return r->hints[mid].level;
		if (r->hints[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The manifest CURRENT names, or 0. */
static uint64_t current_manifest(struct repair *r)
{
	char path[FILENAME_MAX_LEN], name[64];
	char *data = NULL;
	size_t n = 0;
	uint64_t number = 0;
	if (env_read_file(r->env, filename_current(path, r->dir), &data, &n))
		return 0;
	if (n >= 2 && n < sizeof name && data[n - 1] == '\n' &&
	    !memchr(data, '\0', n)) {
		memcpy(name, data, n - 1);
		name[n - 1] = '\0';
		if (filename_parse(name, &number) != FILE_MANIFEST)
			number = 0;
	}
	free(data);
	return number;
}

/*
 * Replays the longest good prefix of MANIFEST-number into b. Returns the
 * number of edits applied (0: useless), or -ENOMEM. An edit that does not
 * apply makes the whole manifest useless: b would hold half of it.
 */
static int replay_hints(struct repair *r, uint64_t number,
			struct version_builder *b, uint64_t *last_seq,
			uint64_t *next_file)
{
	char path[FILENAME_MAX_LEN], why[160];
	struct wal_reader *rd;
	struct version_edit e;
	int edits = 0, rc;
	rc = wal_reader_new(r->env, filename_manifest(path, r->dir, number),
			    MANIFEST_MAGIC, LSM_WAL_RECOVERY_STRICT, &rd);
	if (rc)
		return rc == -ENOMEM ? rc : 0;
	version_edit_init(&e);
	for (;;) {
		uint8_t type;
		struct slice payload;
		if (wal_reader_next(rd, &type, &payload) <= 0 ||
		    type != MANIFEST_RECORD_EDIT)
			break;
		if ((rc = version_edit_decode(&e, payload))) {
			if (rc == -ENOMEM)
				edits = rc;
			break;
		}
		rc = version_builder_apply(b, &e, why, sizeof why);
		if (rc) {
			edits = rc == -ENOMEM ? rc : 0;
			break;
		}
		if (e.has_last_sequence && e.last_sequence > *last_seq)
			*last_seq = e.last_sequence;
		if (e.has_next_file_number && e.next_file_number > *next_file)
			*next_file = e.next_file_number;
		edits++;
	}
	version_edit_release(&e);
	wal_reader_free(rd);
	return edits;
}

/* Whether the files in b make a valid version (no overlap in a level). */
static bool hints_consistent(struct repair *r, struct version_builder *b)
{
	struct version_set *vs;
	struct version *v = NULL;
	char why[160];
	if (version_set_new(r->env, r->dir, &r->opt, NULL, &vs))
		return false;
	int rc = version_builder_save(b, vs, &v, why, sizeof why);
	version_unref(v);
	version_set_free(vs);
	return rc == 0;
}

int repair_read_hints(struct repair *r, const uint64_t *manifests, size_t n)
{
	uint64_t cur = current_manifest(r);
	for (size_t i = 0; i <= n; i++) {
		/* CURRENT's manifest first, then the others, newest first */
		uint64_t number = i == 0 ? cur : manifests[n - i];
		if (!number || (i > 0 && number == cur))
			continue;
		struct version_builder b = VERSION_BUILDER_INIT;
		uint64_t seq = 0, next = 0;
		int edits = replay_hints(r, number, &b, &seq, &next);
		if (edits > 0 && !hints_consistent(r, &b))
			edits = 0;
		if (edits > 0 &&
		    !(r->hints = malloc((b.n + 1) * sizeof *r->hints)))
			edits = -ENOMEM;
		if (edits > 0) {
			for (size_t s = 0; s < b.cap; s++)
				if (b.slots[s].number)
					r->hints[r->nhints++] = (struct hint){
						b.slots[s].number,
						b.slots[s].level
					};
			qsort(r->hints, r->nhints, sizeof *r->hints, cmp_hint);
			r->hint_manifest = number;
			if (seq > r->last_seq)
				r->last_seq = seq;
			repair_use_number(r, next);
		}
		version_builder_release(&b);
		if (edits)
			return edits < 0 ? edits : 0;
	}
	return 0;
}
