/*
 * bench_rocksdb.c - lsm bench's driver for RocksDB, through rocksdb/c.h.
 *
 * Settings follow struct bench_config, including the LSM shape (L0
 * triggers, target file size, L1 size, level ratio) and zstd at the same
 * level, so RocksDB runs the same tree shape as ours; everything else is at
 * RocksDB's defaults (2 background jobs, full-filter bloom, format 5).
 *
 * Counters come from the "rocksdb.stats" property text (the C API of
 * RocksDB 7.8 has no ticker getter short of enabling statistics, which costs
 * every operation a few timers). Its counts past 10000 are rounded ("12K")
 * and its byte counts are GB with two decimals, so only the write, commit
 * group and WAL sync counts are taken from it.
 */
#include "config.h"
#include "bench_engine.h"

#ifdef HAVE_ROCKSDB

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "tool.h"

struct bench_db {
	rocksdb_t *db;
	rocksdb_options_t *opt;
	rocksdb_block_based_table_options_t *topt;
	rocksdb_cache_t *cache;
	rocksdb_readoptions_t *ropt;
	rocksdb_writeoptions_t *wopt, *wopt_sync;
};

struct bench_iter {
	rocksdb_iterator_t *it;
};

static int rdb_error(const char *what, char *err)
{
	if (!err)
		return 0;
	tool_error("bench: rocksdb: %s: %s", what, err);
	rocksdb_free(err);
	return -EIO;
}

static void rdb_describe(const struct bench_config *cfg, char *buf, size_t len)
{
	if (cfg->compression == 2)
		snprintf(buf, len, "lz4");
	else if (cfg->compression)
		snprintf(buf, len, "zstd level %d", cfg->compression_level);
	else
		snprintf(buf, len, "no compression");
}

static int rdb_close(struct bench_db *b)
{
	if (!b)
		return 0;
	if (b->db)
		rocksdb_close(b->db);
	if (b->opt)
		rocksdb_options_destroy(b->opt);
	if (b->topt)
		rocksdb_block_based_options_destroy(b->topt);
	if (b->cache)
		rocksdb_cache_destroy(b->cache);
	if (b->ropt)
		rocksdb_readoptions_destroy(b->ropt);
	if (b->wopt)
		rocksdb_writeoptions_destroy(b->wopt);
	if (b->wopt_sync)
		rocksdb_writeoptions_destroy(b->wopt_sync);
	free(b);
	return 0;
}

static int rdb_open(const struct bench_config *cfg, const char *dir,
		    struct bench_db **out)
{
	struct bench_db *b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	b->opt = rocksdb_options_create();
	b->topt = rocksdb_block_based_options_create();
	b->cache = rocksdb_cache_create_lru(cfg->cache_size);
	b->ropt = rocksdb_readoptions_create();
	b->wopt = rocksdb_writeoptions_create();
	b->wopt_sync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(b->wopt_sync, 1);

	rocksdb_block_based_options_set_block_size(b->topt, cfg->block_size);
	rocksdb_block_based_options_set_block_cache(b->topt, b->cache);
	if (cfg->bloom_bits > 0)
		/* the table options take ownership of the policy */
		rocksdb_block_based_options_set_filter_policy(
			b->topt, rocksdb_filterpolicy_create_bloom_full(
					 cfg->bloom_bits));
	rocksdb_options_set_block_based_table_factory(b->opt, b->topt);

	rocksdb_options_set_create_if_missing(b->opt, 1);
	rocksdb_options_set_write_buffer_size(b->opt, cfg->write_buffer_size);
	rocksdb_options_set_max_write_buffer_number(b->opt,
						    cfg->max_immutable + 1);
	rocksdb_options_set_max_open_files(b->opt, cfg->max_open_files);
	rocksdb_options_set_level0_file_num_compaction_trigger(
		b->opt, cfg->l0_compaction_trigger);
	rocksdb_options_set_level0_slowdown_writes_trigger(
		b->opt, cfg->l0_slowdown_trigger);
	rocksdb_options_set_level0_stop_writes_trigger(b->opt,
						       cfg->l0_stop_trigger);
	rocksdb_options_set_target_file_size_base(b->opt,
						  cfg->target_file_size);
	rocksdb_options_set_max_bytes_for_level_base(b->opt,
						     cfg->l1_target_size);
	rocksdb_options_set_max_bytes_for_level_multiplier(
		b->opt, cfg->level_size_ratio);
	if (cfg->compression == 2) {
		rocksdb_options_set_compression(b->opt,
						rocksdb_lz4_compression);
	} else if (cfg->compression) {
		rocksdb_options_set_compression(b->opt,
						rocksdb_zstd_compression);
		/* window bits, level, strategy, max dictionary bytes */
		rocksdb_options_set_compression_options(
			b->opt, -14, cfg->compression_level, 0, 0);
	} else {
		rocksdb_options_set_compression(b->opt, rocksdb_no_compression);
	}

	char *err = NULL;
	b->db = rocksdb_open(b->opt, dir, &err);
	int rc = rdb_error(dir, err);
	if (rc) {
		b->db = NULL;
		rdb_close(b);
		return rc;
	}
	*out = b;
	return 0;
}

static int rdb_put(struct bench_db *b, const char *key, size_t klen,
		   const char *val, size_t vlen, int sync)
{
	char *err = NULL;
	rocksdb_put(b->db, sync ? b->wopt_sync : b->wopt, key, klen, val, vlen,
		    &err);
	return rdb_error("put", err);
}

static int rdb_del(struct bench_db *b, const char *key, size_t klen, int sync)
{
	char *err = NULL;
	rocksdb_delete(b->db, sync ? b->wopt_sync : b->wopt, key, klen, &err);
	return rdb_error("delete", err);
}

/* rocksdb_get (a malloc()ed copy) rather than the pinnable variant: the same
 * work as lsm_get and leveldb_get */
static int rdb_get(struct bench_db *b, const char *key, size_t klen,
		   size_t *vlen)
{
	char *err = NULL;
	char *val = rocksdb_get(b->db, b->ropt, key, klen, vlen, &err);
	if (err)
		return rdb_error("get", err);
	if (!val)
		return -ENOENT;
	rocksdb_free(val);
	return 0;
}

/* kForce: rewrite the last level too, as lsm_compact does, so that
 * tombstones and shadowed versions are gone afterwards */
static int rdb_compact(struct bench_db *b)
{
	rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
	if (!co)
		return -ENOMEM;
	rocksdb_compactoptions_set_bottommost_level_compaction(co, 2);
	rocksdb_compact_range_opt(b->db, co, NULL, 0, NULL, 0);
	rocksdb_compactoptions_destroy(co);
	return 0;
}

static int rdb_iter_new(struct bench_db *b, struct bench_iter **out)
{
	struct bench_iter *it = malloc(sizeof *it);
	if (!it)
		return -ENOMEM;
	it->it = rocksdb_create_iterator(b->db, b->ropt);
	*out = it;
	return 0;
}

static void rdb_iter_seek(struct bench_iter *it, const char *key, size_t klen)
{
	rocksdb_iter_seek(it->it, key, klen);
}

static void rdb_iter_seek_first(struct bench_iter *it)
{
	rocksdb_iter_seek_to_first(it->it);
}

static void rdb_iter_next(struct bench_iter *it)
{
	rocksdb_iter_next(it->it);
}

static int rdb_iter_valid(struct bench_iter *it)
{
	return rocksdb_iter_valid(it->it);
}

static void rdb_iter_entry(struct bench_iter *it, size_t *klen, size_t *vlen)
{
	rocksdb_iter_key(it->it, klen);
	rocksdb_iter_value(it->it, vlen);
}

static int rdb_iter_status(struct bench_iter *it)
{
	char *err = NULL;
	rocksdb_iter_get_error(it->it, &err);
	return rdb_error("iterator", err);
}

static void rdb_iter_free(struct bench_iter *it)
{
	if (!it)
		return;
	rocksdb_iter_destroy(it->it);
	free(it);
}

/* "12", "12K", "12M", "12G" as RocksDB's NumberToHumanString prints them */
static int64_t human_number(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s)
		return -1;
	if (*end == 'K')
		v *= 1e3;
	else if (*end == 'M')
		v *= 1e6;
	else if (*end == 'G')
		v *= 1e9;
	return (int64_t)v;
}

/* The number that follows label on the line that starts with prefix. */
static const char *stats_field(const char *stats, const char *prefix,
			       const char *label)
{
	const char *line = strstr(stats, prefix);
	if (!line)
		return NULL;
	const char *eol = strchr(line, '\n');
	const char *f = strstr(line, label);
	if (!f || (eol && f > eol))
		return NULL;
	return f + strlen(label);
}

static int64_t stats_count(const char *stats, const char *prefix,
			   const char *label)
{
	const char *f = stats_field(stats, prefix, label);
	return f ? human_number(f) : -1;
}

static void rdb_counters(struct bench_db *b, struct bench_counters *c)
{
	*c = (struct bench_counters){ -1, -1, -1, -1, -1, -1, -1, -1 };
	char *stats = rocksdb_property_value(b->db, "rocksdb.stats");
	if (!stats)
		return;
	/* Cumulative writes: 1000 writes, 1000 keys, 520 commit groups, ...
	 * Cumulative WAL: 1000 writes, 1000 syncs, ...
	 * Its byte counts are in GB with two decimals: too coarse for a
	 * write amplification, so disk_bytes stays unknown. */
	c->writes =
		stats_count(stats, "Cumulative writes:", "Cumulative writes: ");
	c->write_groups = stats_count(stats, "Cumulative writes:", "keys, ");
	c->wal_syncs = stats_count(stats, "Cumulative WAL:", "writes, ");
	rocksdb_free(stats);
}

static const struct bench_engine rocksdb_engine = {
	.name = "rocksdb",
	.describe = rdb_describe,
	.open = rdb_open,
	.close = rdb_close,
	.put = rdb_put,
	.del = rdb_del,
	.get = rdb_get,
	.compact = rdb_compact,
	.iter_new = rdb_iter_new,
	.iter_seek = rdb_iter_seek,
	.iter_seek_first = rdb_iter_seek_first,
	.iter_next = rdb_iter_next,
	.iter_valid = rdb_iter_valid,
	.iter_entry = rdb_iter_entry,
	.iter_status = rdb_iter_status,
	.iter_free = rdb_iter_free,
	.counters = rdb_counters,
};

const struct bench_engine *bench_engine_rocksdb(void)
{
	return &rocksdb_engine;
}

#else /* !HAVE_ROCKSDB */

const struct bench_engine *bench_engine_rocksdb(void)
{
	return NULL;
}

#endif
