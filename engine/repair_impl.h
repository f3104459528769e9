/*
 * repair_impl.h - the inside of lsm_repair(), shared by the files that make
 * it up (lsm.h has the contract; repair.c the steps and why they are safe):
 *
 *   repair.c           the driver: lists the store, runs the steps in
 *                      order, reports the summary
 *   repair_hints.c     step 1: table levels from the newest MANIFEST that
 *                      replays
 *   repair_wal.c       step 2: WAL segments replayed into new tables
 *   repair_salvage.c   step 3: tables verified, damaged ones salvaged
 *   repair_tables.c    the tables of the new store: the list, and writing
 *                      new ones from a memtable or an iterator
 *   repair_place.c     step 4: levels for every table, merging tables a
 *                      lookup could read in the wrong order
 *   repair_manifest.c  step 5: the new MANIFEST and CURRENT
 *   repair_lost.c      moving files to lost/, now or once CURRENT is
 *                      switched
 *
 * One struct repair lives for one lsm_repair() call, which holds the
 * store's lock throughout; nothing here is thread-safe. Every function
 * returns 0 or a negative errno unless it says otherwise; -EIO from a file
 * being read means damage the caller works around, other errors stop the
 * repair.
 */
#ifndef LSM_REPAIR_IMPL_H
#define LSM_REPAIR_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dbformat.h"
#include "filename.h"
#include "lsm.h"

struct file_meta;
struct iter;
struct memtable;

#define LOST_DIR "lost"

/* A table of the repaired store. */
struct rtable {
	struct file_meta *f; /* one reference */
	int level;           /* the hint's level, else 0 */
	bool hinted;         /* level comes from the hint MANIFEST */
	bool created;        /* written by this repair (else kept as is) */
	bool live;           /* false once merged into a new run */
	uint64_t run;        /* tables of one run never overlap */
};

struct hint {
	uint64_t number;
	int level;
};

struct repair {
	struct lsm_env *env;
	const char *dir;
	struct lsm_options opt;
	FILE *report;
	char lost[FILENAME_MAX_LEN];

	uint64_t next_number; /* the next file number to allocate */
	uint64_t last_seq;    /* the largest sequence seen */
	uint64_t next_run;

	struct rtable *t;
	size_t nt, cap_t;

	char **later; /* names to move to lost/ once CURRENT is switched */
	size_t nlater, cap_later;

	struct hint *hints; /* sorted by number */
	size_t nhints;
	uint64_t hint_manifest;

	struct memtable *mem; /* WAL replay and salvage */

	/* for the summary */
	int kept, rebuilt, merged_in, merged_out, moved, wals;
	uint64_t wal_records, wal_dropped, bad_blocks;
};

/* ---- repair.c ---- */

/* Writes one line to the report (nothing without one). */
__attribute__((format(printf, 2, 3))) void repair_say(struct repair *r,
						      const char *fmt, ...);

/* Makes later allocations of file numbers skip n. */
void repair_use_number(struct repair *r, uint64_t n);

/* ---- repair_hints.c ---- */

/*
 * Fills r->hints from CURRENT's manifest, else the newest of manifests[n]
 * (ascending) that replays to a valid version, or a good prefix of it;
 * sets r->hint_manifest (0: none found, not an error) and raises
 * r->last_seq and r->next_number to what it says.
 */
int repair_read_hints(struct repair *r, const uint64_t *manifests, size_t n);

/* The level the hints give table number, or -1. */
int repair_hint_level(const struct repair *r, uint64_t number);

/* ---- repair_wal.c ---- */

/* Replays WAL segment number into new L0 tables. The segment moves to
 * lost/ at once when damaged, once CURRENT is switched when not; an empty
 * one stays (lsm_open removes it). */
int repair_convert_wal(struct repair *r, uint64_t number);

/* ---- repair_salvage.c ---- */

/* Keeps table number if it verifies, else salvages what it can into new
 * tables and moves it to lost/. */
int repair_table(struct repair *r, uint64_t number);

/* ---- repair_tables.c ---- */

/* Adds one entry to r->mem and raises r->last_seq; an entry already there
 * is no error. A batch_visit_fn (ctx is the struct repair). */
int repair_mem_add(void *ctx, uint64_t seq, enum entry_type type,
		   struct slice key, struct slice value);

/* Adds f (taking over the caller's reference) at the hint level of
 * hint_number (0: none), as run run; created: written by this repair. */
int repair_add_table(struct repair *r, struct file_meta *f,
		     uint64_t hint_number, bool created, uint64_t run);

/*
 * Writes the entries of it into new tables of one run, skipping exact
 * duplicates of an internal key. With split, a table is cut once it
 * reaches target_file_size, between two user keys. hint is the number of
 * the table whose level the output takes (0: L0). *count (may be NULL)
 * grows by the tables written.
 */
int repair_write_tables(struct repair *r, struct iter *it, uint32_t reason,
			bool split, uint64_t hint, int *count);

/* Writes r->mem (if it holds anything) as new tables and starts a fresh
 * memtable. */
int repair_flush_mem(struct repair *r, uint32_t reason, uint64_t hint,
		     int *count);

/* ---- repair_place.c ---- */

/* Gives every live table a level where lookups read tables with shared
 * keys newest first, merging the tables that break that into new runs. */
int repair_place(struct repair *r);

/* ---- repair_manifest.c ---- */

/* Writes a MANIFEST naming every live table (and an empty WAL segment for
 * its log number) and switches CURRENT to it; *number_out is its number
 * (set also on failure). */
int repair_write_manifest(struct repair *r, uint64_t *number_out);

/* ---- repair_lost.c ---- */

/* Moves dir/name to lost/name, or lost/name.N when that is taken. */
int repair_move_to_lost(struct repair *r, const char *name);

/* Remembers name to move to lost/ once the new MANIFEST is in force. */
int repair_move_later(struct repair *r, const char *name);

#endif
