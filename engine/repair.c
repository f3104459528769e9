/*
 * repair.c - lsm_repair(): rebuilding a store from the files that survive
 * (`lsm repair`), in the spirit of LevelDB's RepairDB; see lsm.h for the
 * contract. This file is the driver; each step has its own file
 * (repair_impl.h lists them).
 *
 * Steps, each durable before the next:
 *  1. hints: the newest MANIFEST that replays (CURRENT's first) says which
 *     level each table it names was at; a prefix of a damaged one will do;
 *  2. every WAL segment is replayed in SKIP mode into memtables written as
 *     new tables;
 *  3. every table is opened and verified (sst_reader_verify): a clean one is
 *     kept as it is, a damaged one has the entries of its good blocks copied
 *     into a new table and moves to lost/;
 *  4. placement: see below;
 *  5. one new MANIFEST names every table, CURRENT is switched to it, and
 *     what the new store does not use (converted WAL segments, old
 *     MANIFESTs, tables replaced by merges) moves to lost/.
 * Until step 5 switches CURRENT the old store is unchanged, except for the
 * damaged files already moved to lost/ (it could not have opened with them
 * anyway) and new tables it does not name (lsm_open removes those).
 *
 * Placement. A lookup reads L0 newest first (highest max_seq) and takes the
 * first table that knows the key, then one table per deeper level. That is
 * right only if, for every two tables with overlapping key ranges, the one
 * read first holds the newer entries of every key they share. It holds when
 * the one read first has only newer sequence numbers, or when both sit where
 * one consistent version (the hint MANIFEST) put them: the LSM invariant.
 * Tables the hints do not place (WAL output, orphans) go to L0. When a
 * pair breaks the rule, the tables in conflict, grown until the run that
 * merging them makes would fit in L0, are merged into one new run (tables
 * that do not overlap), which then goes to the deepest level where it
 * provably fits. Every merge turns two runs or more into one, so this
 * ends. On a healthy store with a readable MANIFEST nothing is merged.
 */
#include "config.h"
#include "repair_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "filename.h"
#include "lsm.h"
#include "memtable.h"
#include "version.h"

/* ---- shared by the steps ---- */

void repair_say(struct repair *r, const char *fmt, ...)
{
	if (!r->report)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(r->report, fmt, ap);
	va_end(ap);
	fputc('\n', r->report);
}

void repair_use_number(struct repair *r, uint64_t n)
{
	if (r->next_number <= n)
		r->next_number = n + 1;
}

/* ---- the driver ---- */

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	return (a > b) - (a < b);
}

/* The numbers of files of kind among names, ascending, malloc()ed. */
static int numbers_of(char **names, size_t count, enum file_kind kind,
		      uint64_t **out, size_t *n)
{
	uint64_t *v = malloc((count + 1) * sizeof *v);
	size_t k = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		uint64_t number;
		if (filename_parse(names[i], &number) == kind)
			v[k++] = number;
	}
	qsort(v, k, sizeof *v, cmp_u64);
	*out = v;
	*n = k;
	return 0;
}

static bool store_file(const char *name, uint64_t *number)
{
	switch (filename_parse(name, number)) {
	case FILE_CURRENT:
	case FILE_MANIFEST:
	case FILE_WAL:
	case FILE_SST:
		return true;
	default:
		return false;
	}
}

static int run_repair(struct repair *r, char **names, size_t count)
{
	uint64_t *manifests = NULL, *wals = NULL, *ssts = NULL, number;
	size_t nmanifests = 0, nwals = 0, nssts = 0;
	char **lost = NULL;
	size_t nlost = 0;
	int rc;

	/* new numbers stay clear of every file here and in lost/ */
	for (size_t i = 0; i < count; i++)
		if (store_file(names[i], &number))
			repair_use_number(r, number);
	if (!r->env->list_dir(r->env, r->lost, &lost, &nlost)) {
		for (size_t i = 0; i < nlost; i++)
			if (store_file(lost[i], &number))
				repair_use_number(r, number);
		env_free_names(lost, nlost);
	}
	if ((rc = numbers_of(names, count, FILE_MANIFEST, &manifests,
			     &nmanifests)) ||
	    (rc = numbers_of(names, count, FILE_WAL, &wals, &nwals)) ||
	    (rc = numbers_of(names, count, FILE_SST, &ssts, &nssts)))
		goto out;
	if ((rc = repair_read_hints(r, manifests, nmanifests)))
		goto out;
	if (r->hint_manifest)
		repair_say(r, "table levels from 'MANIFEST-%06" PRIu64 "'",
			   r->hint_manifest);
	else
		repair_say(
			r,
			"no readable manifest: every table starts in level 0");
	if ((rc = memtable_new(NULL, &r->mem)))
		goto out;
	for (size_t i = 0; i < nwals && !rc; i++)
		rc = repair_convert_wal(r, wals[i]);
	for (size_t i = 0; i < nssts && !rc; i++)
		rc = repair_table(r, ssts[i]);
	for (size_t i = 0; i < count && !rc; i++)
		if (filename_parse(names[i], &number) == FILE_TEMP)
			rc = repair_move_to_lost(r, names[i]);
	if (!rc)
		rc = repair_place(r);
	if (!rc)
		rc = repair_write_manifest(r, &number);
	if (rc)
		goto out;
	/* the new MANIFEST is in force: what it does not use can go */
	for (size_t i = 0; i < nmanifests && !rc; i++) {
		char name[40];
		snprintf(name, sizeof name, "MANIFEST-%06" PRIu64,
			 manifests[i]);
		rc = repair_move_to_lost(r, name);
	}
	for (size_t i = 0; i < r->nlater && !rc; i++)
		rc = repair_move_to_lost(r, r->later[i]);
	if (!rc)
		rc = r->env->sync_dir(r->env, r->lost);
	if (!rc)
		rc = r->env->sync_dir(r->env, r->dir);
	if (rc)
		goto out;
	int ntables = 0;
	for (size_t i = 0; i < r->nt; i++)
		ntables += r->t[i].live;
	repair_say(
		r,
		"repaired: %d tables in 'MANIFEST-%06" PRIu64 "' (%d kept, %d "
		"rebuilt from damaged tables, %d merged into %d), %" PRIu64
		" WAL records recovered from %d segments, %" PRIu64
		" bad blocks and %" PRIu64 " WAL bytes skipped, %d files moved "
		"to %s/, last sequence %" PRIu64,
		ntables, number, r->kept, r->rebuilt, r->merged_in,
		r->merged_out, r->wal_records, r->wals, r->bad_blocks,
		r->wal_dropped, r->moved, LOST_DIR, r->last_seq);
out:
	free(manifests);
	free(wals);
	free(ssts);
	return rc;
}

int lsm_repair(const char *dir, const struct lsm_options *opt, FILE *report)
{
	char path[FILENAME_MAX_LEN];
	struct repair r = {
		.dir = dir, .report = report, .next_number = 1, .next_run = 1
	};
	struct env_lock *lock = NULL;
	char **names = NULL;
	size_t count = 0;
	uint64_t number;
	int rc;

	if (!dir || !*dir || strlen(dir) > FILENAME_MAX_LEN - 64)
		return -EINVAL;
	if (opt)
		r.opt = *opt;
	else
		lsm_options_init(&r.opt);
	if (r.opt.write_buffer_size < 4096 || r.opt.target_file_size < 4096 ||
	    r.opt.block_size < 256)
		return -EINVAL;
	r.env = r.opt.env ? r.opt.env : env_posix();
	r.opt.env = r.env;
	snprintf(r.lost, sizeof r.lost, "%s/%s", dir, LOST_DIR);

	/* look before locking: the lock would create LOCK in any directory */
	if ((rc = r.env->list_dir(r.env, dir, &names, &count)))
		return rc;
	bool store = false;
	for (size_t i = 0; i < count; i++)
		store |= store_file(names[i], &number);
	env_free_names(names, count);
	names = NULL;
	if (!store)
		return -ENOENT;
	if ((rc = r.env->lock(r.env, filename_lock(path, dir), &lock)))
		return rc;
	rc = r.env->mkdir(r.env, r.lost);
	if (!rc)
		rc = r.env->list_dir(r.env, dir, &names, &count);
	if (!rc)
		rc = run_repair(&r, names, count);
	env_free_names(names, count);
	memtable_unref(r.mem);
	for (size_t i = 0; i < r.nt; i++)
		file_meta_unref(r.t[i].f);
	free(r.t);
	for (size_t i = 0; i < r.nlater; i++)
		free(r.later[i]);
	free(r.later);
	free(r.hints);
	r.env->unlock(lock);
	return rc;
}
