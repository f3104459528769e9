/*
 * bench_lsm.c - lsm bench's driver for our engine, through lsm.h only.
 */
#include "config.h"
#include "bench_engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lsm.h"
#include "tool.h"

struct bench_db {
	struct lsm_db *db;
};

struct bench_iter {
	struct lsm_iter *it;
};

static void lsm_describe(const struct bench_config *cfg, char *buf, size_t len)
{
	if (cfg->compression == 2)
		snprintf(buf, len, "lz4");
	else if (cfg->compression)
		snprintf(buf, len, "zstd level %d", cfg->compression_level);
	else
		snprintf(buf, len, "no compression");
}

static int lsm_bench_open(const struct bench_config *cfg, const char *dir,
			  struct bench_db **out)
{
	struct lsm_options opt;
	lsm_options_init(&opt);
	opt.write_buffer_size = cfg->write_buffer_size;
	opt.max_immutable_memtables = cfg->max_immutable;
	opt.block_size = cfg->block_size;
	opt.compression = cfg->compression == 2 ? LSM_COMPRESSION_LZ4
			  : cfg->compression	? LSM_COMPRESSION_ZSTD
						: LSM_COMPRESSION_NONE;
	opt.compression_level = cfg->compression_level;
	opt.bloom_bits_per_key = cfg->bloom_bits;
	opt.block_cache_size = cfg->cache_size;
	opt.max_open_files = cfg->max_open_files;
	opt.l0_compaction_trigger = cfg->l0_compaction_trigger;
	opt.l0_slowdown_trigger = cfg->l0_slowdown_trigger;
	opt.l0_stop_trigger = cfg->l0_stop_trigger;
	opt.l1_target_size = cfg->l1_target_size;
	opt.level_size_ratio = cfg->level_size_ratio;
	opt.target_file_size = cfg->target_file_size;
	opt.create_if_missing = 1;

	struct bench_db *b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	int rc = lsm_open(dir, &opt, &b->db);
	if (rc) {
		tool_error("bench: cannot open '%s': %s", dir,
			   lsm_strerror(rc));
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

static int lsm_bench_close(struct bench_db *b)
{
	if (!b)
		return 0;
	int rc = lsm_close(b->db);
	if (rc)
		tool_error("bench: closing the store: %s", lsm_strerror(rc));
	free(b);
	return rc;
}

static int lsm_bench_put(struct bench_db *b, const char *key, size_t klen,
			 const char *val, size_t vlen, int sync)
{
	if (!sync)
		return lsm_put(b->db, key, klen, val, vlen);
	/* a sync single put goes through a batch of one: lsm_put has no
	 * flags, and lsm_put + lsm_sync would be two steps, not one */
	struct lsm_batch *batch;
	int rc = lsm_batch_new(&batch);
	if (rc)
		return rc;
	rc = lsm_batch_put(batch, key, klen, val, vlen);
	if (!rc)
		rc = lsm_write(b->db, batch, LSM_WRITE_SYNC);
	lsm_batch_free(batch);
	return rc;
}

static int lsm_bench_del(struct bench_db *b, const char *key, size_t klen,
			 int sync)
{
	if (!sync)
		return lsm_delete(b->db, key, klen);
	struct lsm_batch *batch;
	int rc = lsm_batch_new(&batch);
	if (rc)
		return rc;
	rc = lsm_batch_delete(batch, key, klen);
	if (!rc)
		rc = lsm_write(b->db, batch, LSM_WRITE_SYNC);
	lsm_batch_free(batch);
	return rc;
}

static int lsm_bench_get(struct bench_db *b, const char *key, size_t klen,
			 size_t *vlen)
{
	char *val;
	int rc = lsm_get(b->db, NULL, key, klen, &val, vlen);
	if (!rc)
		free(val);
	return rc;
}

static int lsm_bench_compact(struct bench_db *b)
{
	return lsm_compact(b->db, NULL, NULL);
}

static int lsm_bench_iter_new(struct bench_db *b, struct bench_iter **out)
{
	struct bench_iter *it = malloc(sizeof *it);
	if (!it)
		return -ENOMEM;
	int rc = lsm_iter_new(b->db, NULL, &it->it);
	if (rc) {
		free(it);
		return rc;
	}
	*out = it;
	return 0;
}

static void lsm_bench_iter_seek(struct bench_iter *it, const char *key,
				size_t klen)
{
	lsm_iter_seek(it->it, key, klen);
}

static void lsm_bench_iter_seek_first(struct bench_iter *it)
{
	lsm_iter_seek_first(it->it);
}

static void lsm_bench_iter_next(struct bench_iter *it)
{
	lsm_iter_next(it->it);
}

static int lsm_bench_iter_valid(struct bench_iter *it)
{
	return lsm_iter_valid(it->it);
}

static void lsm_bench_iter_entry(struct bench_iter *it, size_t *klen,
				 size_t *vlen)
{
	lsm_iter_key(it->it, klen);
	lsm_iter_value(it->it, vlen);
}

static int lsm_bench_iter_status(struct bench_iter *it)
{
	return lsm_iter_status(it->it);
}

static void lsm_bench_iter_free(struct bench_iter *it)
{
	if (!it)
		return;
	lsm_iter_free(it->it);
	free(it);
}

static void lsm_bench_counters(struct bench_db *b, struct bench_counters *c)
{
	struct lsm_stats s;
	*c = (struct bench_counters){ -1, -1, -1, -1, -1, -1, -1, -1 };
	if (lsm_stats_get(b->db, &s))
		return;
	c->writes = (int64_t)s.writes;
	c->write_groups = (int64_t)s.wal_records;
	c->sync_requests = (int64_t)s.sync_requests;
	c->wal_syncs = (int64_t)s.wal_syncs;
	c->user_bytes = (int64_t)s.user_bytes_written;
	c->disk_bytes = (int64_t)s.disk_bytes_written;
	c->cache_hits = (int64_t)s.cache_hits;
	c->cache_misses = (int64_t)s.cache_misses;
	lsm_stats_release(&s);
}

static const struct bench_engine lsm_engine = {
	.name = "lsm",
	.describe = lsm_describe,
	.open = lsm_bench_open,
	.close = lsm_bench_close,
	.put = lsm_bench_put,
	.del = lsm_bench_del,
	.get = lsm_bench_get,
	.compact = lsm_bench_compact,
	.iter_new = lsm_bench_iter_new,
	.iter_seek = lsm_bench_iter_seek,
	.iter_seek_first = lsm_bench_iter_seek_first,
	.iter_next = lsm_bench_iter_next,
	.iter_valid = lsm_bench_iter_valid,
	.iter_entry = lsm_bench_iter_entry,
	.iter_status = lsm_bench_iter_status,
	.iter_free = lsm_bench_iter_free,
	.counters = lsm_bench_counters,
};

const struct bench_engine *bench_engine_lsm(void)
{
	return &lsm_engine;
}
