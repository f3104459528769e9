/*
 * bench_leveldb.c - lsm bench's driver for LevelDB, through leveldb/c.h.
 *
 * LevelDB has no zstd: with compression on it uses snappy. Its level shape
 * (L0 triggers 4/8/12, 10 MiB L1, ratio 10) and one frozen memtable are
 * compiled in; those match our defaults, other values of ours do not carry
 * over. It exposes no write or sync counters through the C API.
 */
#include "config.h"
#include "bench_engine.h"

#ifdef HAVE_LEVELDB

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <leveldb/c.h>

#include "tool.h"

struct bench_db {
	leveldb_t *db;
	leveldb_options_t *opt;
	leveldb_cache_t *cache;
	leveldb_filterpolicy_t *filter;
	leveldb_readoptions_t *ropt;
	leveldb_writeoptions_t *wopt, *wopt_sync;
};

struct bench_iter {
	leveldb_iterator_t *it;
};

/* Reports and frees a LevelDB error; returns -EIO, or 0 when there is none. */
static int ldb_error(const char *what, char *err)
{
	if (!err)
		return 0;
	tool_error("bench: leveldb: %s: %s", what, err);
	leveldb_free(err);
	return -EIO;
}

static void ldb_describe(const struct bench_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%s, fixed L0 triggers 4/8/12, 1 frozen memtable",
		 cfg->compression ? "snappy (LevelDB has no zstd or lz4)"
				  : "no compression");
}

static int ldb_close(struct bench_db *b)
{
	if (!b)
		return 0;
	if (b->db)
		leveldb_close(b->db);
	if (b->opt)
		leveldb_options_destroy(b->opt);
	if (b->filter)
		leveldb_filterpolicy_destroy(b->filter);
	if (b->cache)
		leveldb_cache_destroy(b->cache);
	if (b->ropt)
		leveldb_readoptions_destroy(b->ropt);
	if (b->wopt)
		leveldb_writeoptions_destroy(b->wopt);
	if (b->wopt_sync)
		leveldb_writeoptions_destroy(b->wopt_sync);
	free(b);
	return 0;
}

static int ldb_open(const struct bench_config *cfg, const char *dir,
		    struct bench_db **out)
{
	struct bench_db *b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	b->opt = leveldb_options_create();
	b->cache = leveldb_cache_create_lru(cfg->cache_size);
	b->ropt = leveldb_readoptions_create();
	b->wopt = leveldb_writeoptions_create();
	b->wopt_sync = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(b->wopt_sync, 1);
	leveldb_options_set_create_if_missing(b->opt, 1);
	leveldb_options_set_write_buffer_size(b->opt, cfg->write_buffer_size);
	leveldb_options_set_block_size(b->opt, cfg->block_size);
	leveldb_options_set_cache(b->opt, b->cache);
	leveldb_options_set_max_open_files(b->opt, cfg->max_open_files);
	leveldb_options_set_max_file_size(b->opt, cfg->target_file_size);
	leveldb_options_set_compression(
		b->opt, cfg->compression ? leveldb_snappy_compression
					 : leveldb_no_compression);
	if (cfg->bloom_bits > 0) {
		b->filter = leveldb_filterpolicy_create_bloom(cfg->bloom_bits);
		leveldb_options_set_filter_policy(b->opt, b->filter);
	}
	char *err = NULL;
	b->db = leveldb_open(b->opt, dir, &err);
	int rc = ldb_error(dir, err);
	if (rc) {
		b->db = NULL;
		ldb_close(b);
		return rc;
	}
	*out = b;
	return 0;
}

static int ldb_put(struct bench_db *b, const char *key, size_t klen,
		   const char *val, size_t vlen, int sync)
{
	char *err = NULL;
	leveldb_put(b->db, sync ? b->wopt_sync : b->wopt, key, klen, val, vlen,
		    &err);
	return ldb_error("put", err);
}

static int ldb_del(struct bench_db *b, const char *key, size_t klen, int sync)
{
	char *err = NULL;
	leveldb_delete(b->db, sync ? b->wopt_sync : b->wopt, key, klen, &err);
	return ldb_error("delete", err);
}

static int ldb_get(struct bench_db *b, const char *key, size_t klen,
		   size_t *vlen)
{
	char *err = NULL;
	char *val = leveldb_get(b->db, b->ropt, key, klen, vlen, &err);
	if (err)
		return ldb_error("get", err);
	if (!val)
		return -ENOENT;
	leveldb_free(val);
	return 0;
}

static int ldb_compact(struct bench_db *b)
{
	leveldb_compact_range(b->db, NULL, 0, NULL, 0);
	return 0;
}

static int ldb_iter_new(struct bench_db *b, struct bench_iter **out)
{
	struct bench_iter *it = malloc(sizeof *it);
	if (!it)
		return -ENOMEM;
	it->it = leveldb_create_iterator(b->db, b->ropt);
	*out = it;
	return 0;
}

static void ldb_iter_seek(struct bench_iter *it, const char *key, size_t klen)
{
	leveldb_iter_seek(it->it, key, klen);
}

static void ldb_iter_seek_first(struct bench_iter *it)
{
	leveldb_iter_seek_to_first(it->it);
}

static void ldb_iter_next(struct bench_iter *it)
{
	leveldb_iter_next(it->it);
}

static int ldb_iter_valid(struct bench_iter *it)
{
	return leveldb_iter_valid(it->it);
}

static void ldb_iter_entry(struct bench_iter *it, size_t *klen, size_t *vlen)
{
	leveldb_iter_key(it->it, klen);
	leveldb_iter_value(it->it, vlen);
}

static int ldb_iter_status(struct bench_iter *it)
{
	char *err = NULL;
	leveldb_iter_get_error(it->it, &err);
	return ldb_error("iterator", err);
}

static void ldb_iter_free(struct bench_iter *it)
{
	if (!it)
		return;
	leveldb_iter_destroy(it->it);
	free(it);
}

static void ldb_counters(struct bench_db *b, struct bench_counters *c)
{
	(void)b;
	*c = (struct bench_counters){ -1, -1, -1, -1, -1, -1, -1, -1 };
}

static const struct bench_engine leveldb_engine = {
	.name = "leveldb",
	.describe = ldb_describe,
	.open = ldb_open,
	.close = ldb_close,
	.put = ldb_put,
	.del = ldb_del,
	.get = ldb_get,
	.compact = ldb_compact,
	.iter_new = ldb_iter_new,
	.iter_seek = ldb_iter_seek,
	.iter_seek_first = ldb_iter_seek_first,
	.iter_next = ldb_iter_next,
	.iter_valid = ldb_iter_valid,
	.iter_entry = ldb_iter_entry,
	.iter_status = ldb_iter_status,
	.iter_free = ldb_iter_free,
	.counters = ldb_counters,
};

const struct bench_engine *bench_engine_leveldb(void)
{
	return &leveldb_engine;
}

#else /* !HAVE_LEVELDB */

const struct bench_engine *bench_engine_leveldb(void)
{
	return NULL;
}

#endif
