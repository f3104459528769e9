/*
 * stats.c - lsm_stats_get(): one snapshot of every counter an operator
 * needs, gathered from db_stats (atomics), the current version, the caches
 * and the memtables. The .lsm/ directory of a mount and `lsm stats` print
 * this and nothing else, so they always agree. lsm_file_props() adds one
 * table's properties block, which costs a read when the table is not open.
 */
#include "config.h"
#include "db_impl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "block_cache.h"
#include "dbformat.h"
#include "memtable.h"
#include "sst_builder.h"
#include "table_cache.h"
#include "sst_reader.h"
#include "version.h"
#include "wal_writer.h"

const char *lsm_stall_cause_name(int cause)
{
	static const char *const names[] = { "l0_slowdown", "l0_stop",
					     "memtable_limit" };
	return cause >= 0 && cause < LSM_STALL_NCAUSES ? names[cause] : "?";
}

static char *dup_bytes(struct slice s)
{
	char *p = malloc(s.len + 1);
	if (p) {
		memcpy(p, s.data, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static int fill_files(struct lsm_stats *out, struct version *v)
{
	size_t n = 0;
	for (int l = 0; l < LSM_NUM_LEVELS; l++)
		n += (size_t)v->nfiles[l];
	out->files = calloc(n ? n : 1, sizeof *out->files);
	if (!out->files)
		return -ENOMEM;
	for (int l = 0; l < LSM_NUM_LEVELS; l++) {
		for (int i = 0; i < v->nfiles[l]; i++) {
			const struct file_meta *f = v->files[l][i];
			struct lsm_file_info *fi = &out->files[out->nfiles++];
			struct slice lo = ikey_user(buf_slice(&f->smallest));
			struct slice hi = ikey_user(buf_slice(&f->largest));
			fi->level = l;
			fi->number = f->number;
			fi->size = f->file_size;
			fi->entries = f->entries;
			fi->tombstones = f->tombstones;
			fi->min_seq = f->min_seq;
			fi->max_seq = f->max_seq;
			fi->created_unix = f->created_unix;
			fi->reason = f->reason;
			fi->smallest = dup_bytes(lo);
			fi->largest = dup_bytes(hi);
			fi->smallest_len = lo.len;
			fi->largest_len = hi.len;
			if (!fi->smallest || !fi->largest)
				return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Bytes compaction still has to read to bring every level under its
 * target: all of L0 plus the L1 bytes it overlaps (taken as all of L1) when
 * L0 is at its trigger, and for each deeper level over target the excess
 * times (1 + ratio), the expected rewrite of the next level per byte moved.
 */
static uint64_t pending_compaction_bytes(const struct lsm_options *opt,
					 struct version *v)
{
	uint64_t total = 0;
	if (v->nfiles[0] >= opt->l0_compaction_trigger)
		total += v->level_bytes[0] + v->level_bytes[1];
	for (int l = 1; l < LSM_NUM_LEVELS - 1; l++) {
		uint64_t target = version_level_target(opt, l);
		if (v->level_bytes[l] > target)
			total += (v->level_bytes[l] - target) *
				 (uint64_t)(1 + opt->level_size_ratio);
	}
	return total;
}

int lsm_stats_get(struct lsm_db *db, struct lsm_stats *out)
{
	struct db_stats *s = &db->stats;
	memset(out, 0, sizeof *out);

	pthread_mutex_lock(&db->mu);
	struct version *v = version_ref(version_set_current(db->vs));
	out->flush_queue_depth = (uint64_t)db->nimm;
	out->memtable_bytes = memtable_bytes(db->mem);
	out->memtable_entries = memtable_entries(db->mem);
	out->memtable_tombstones = memtable_tombstones(db->mem);
	for (int i = 0; i < db->nimm; i++)
		out->immutable_bytes += memtable_bytes(db->imm[i].mem);
	out->wal_number = db->wal_number;
	out->last_sequence = db->last_seq;
	out->background_error = db->bg_error;
	pthread_mutex_unlock(&db->mu);

	/* the WAL size is written by the leader alone; a stale read is fine */
	out->wal_segment_bytes = __atomic_load_n(&db->wal_size, __ATOMIC_RELAXED);
	out->wal_records = stat_get(&s->wal_records);
	out->wal_bytes = stat_get(&s->wal_bytes);
	out->wal_syncs = stat_get(&s->wal_syncs);
	out->writes = stat_get(&s->user_writes);
	out->sync_requests = stat_get(&s->sync_requests);
	out->writes_per_group = out->wal_records
		? (double)out->writes / (double)out->wal_records : 0;
	out->syncs_per_request = out->sync_requests
		? (double)out->wal_syncs / (double)out->sync_requests : 0;
	for (int c = 0; c < LSM_STALL_NCAUSES; c++) {
		out->stalls[c].count = stat_get(&s->stalls[c].count);
		out->stalls[c].micros = stat_get(&s->stalls[c].micros);
		out->stalls[c].active = (int)stat_get(&s->stalls[c].active);
		out->write_stalled |= out->stalls[c].active;
	}

	struct block_cache_stats bs;
	block_cache_stats(db->bc, &bs);
	out->cache_capacity = bs.capacity;
	out->cache_usage = bs.usage;
	out->cache_hits = bs.hits;
	out->cache_misses = bs.misses;
	struct sst_counters sc;
	table_cache_counters(db->tc, &sc);
	out->bloom_checks = sc.bloom_checks;
	out->bloom_useful = sc.bloom_useful;

	out->flushes = stat_get(&s->flushes);
	out->flush_bytes = stat_get(&s->flush_bytes);
	out->running_flushes = stat_get(&s->running_flushes);
	out->running_compactions = stat_get(&s->running_compactions);
	out->gets = stat_get(&s->gets);
	out->get_hits = stat_get(&s->get_hits);
	out->user_bytes_written = stat_get(&s->user_bytes_written);
	out->disk_bytes_written = out->wal_bytes + out->flush_bytes;

	for (int l = 0; l < LSM_NUM_LEVELS; l++) {
		struct lsm_level_stats *ls = &out->levels[l];
		ls->files = (uint64_t)v->nfiles[l];
		ls->bytes = v->level_bytes[l];
		ls->target = version_level_target(&db->opt, l);
		ls->score = v->score[l];
		ls->compactions = stat_get(&s->levels[l].compactions);
		ls->bytes_read = stat_get(&s->levels[l].bytes_read);
		ls->bytes_written = stat_get(&s->levels[l].bytes_written);
		ls->trivial_moves = stat_get(&s->levels[l].trivial_moves);
		out->disk_bytes_written += ls->bytes_written;
		out->live_bytes += ls->bytes;
	}
	out->write_amplification = out->user_bytes_written
		? (double)out->disk_bytes_written / (double)out->user_bytes_written
		: 0;
	out->pending_compaction_bytes = pending_compaction_bytes(&db->opt, v);
	int rc = fill_files(out, v);
	version_unref(v);
	if (rc)
		lsm_stats_release(out);
	return rc;
}

int lsm_file_props(struct lsm_db *db, uint64_t number,
		   struct lsm_file_info *fi)
{
	pthread_mutex_lock(&db->mu);
	struct version *v = version_ref(version_set_current(db->vs));
	pthread_mutex_unlock(&db->mu);

	/* only tables of the current version: our reference keeps the file
	 * on disk while it is read, and a table already deleted is not
	 * reopened into the table cache */
	bool live = false;
	for (int l = 0; l < LSM_NUM_LEVELS && !live; l++)
		for (int i = 0; i < v->nfiles[l] && !live; i++)
			live = v->files[l][i]->number == number;
	int rc = -ENOENT;
	if (live) {
		struct sst_props p;
		rc = table_cache_props(db->tc, number, &p);
		if (!rc) {
			fi->has_props = 1;
			fi->data_blocks = p.data_blocks;
			fi->raw_key_bytes = p.raw_key_bytes;
			fi->raw_value_bytes = p.raw_value_bytes;
			fi->raw_data_bytes = p.raw_data_bytes;
			fi->stored_data_bytes = p.stored_data_bytes;
			fi->bloom_bits_per_key = p.bloom_bits_per_key;
			fi->compression = p.compression;
			sst_props_release(&p);
		}
	}
	version_unref(v);
	return rc;
}

void lsm_stats_release(struct lsm_stats *s)
{
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].smallest);
		free(s->files[i].largest);
	}
	free(s->files);
	s->files = NULL;
	s->nfiles = 0;
}
