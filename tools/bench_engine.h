/*
 * bench_engine.h - the small vtable lsm bench drives: one implementation per
 * key-value engine (our engine through lsm.h, LevelDB and RocksDB through
 * their C APIs), so that every workload runs the same code against each.
 *
 * Every engine is configured from one struct bench_config, so the settings
 * that shape performance (memtable size, block size, bloom bits, block cache,
 * compression, max open files, LSM shape) match across engines; the
 * describe() text says where an engine cannot match.
 *
 * Errors: functions return 0 or a negative errno; get() returns -ENOENT for
 * an absent key. An implementation reports the engine's own error text on
 * stderr (tool_error) where it arises and returns -EIO for it.
 *
 * Thread safety: a bench_db may be used by many threads at once (all three
 * engines allow it); a bench_iter belongs to one thread.
 */
#ifndef LSM_BENCH_ENGINE_H
#define LSM_BENCH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct bench_config {
	size_t write_buffer_size;
	size_t block_size;
	size_t cache_size;
	int bloom_bits;        /* 0: no bloom filters */
	int compression;       /* 0 none, 1 zstd, 2 lz4 (LevelDB: snappy) */
	int compression_level; /* zstd level where the engine has zstd */
	int max_open_files;
	int max_immutable; /* frozen memtables before writes stop */
	int l0_compaction_trigger, l0_slowdown_trigger, l0_stop_trigger;
	uint64_t target_file_size, l1_target_size;
	int level_size_ratio;
};

/* Counters an engine may expose; a field it cannot report is -1. They count
 * since the store was opened. */
struct bench_counters {
	int64_t writes;        /* write calls */
	int64_t write_groups;  /* group commits (WAL records) */
	int64_t sync_requests; /* writes or syncs that asked for durability */
	int64_t wal_syncs;     /* fdatasyncs of the WAL */
	int64_t user_bytes;    /* key+value bytes written by the user */
	int64_t disk_bytes;    /* WAL + flush + compaction bytes written */
	int64_t cache_hits, cache_misses;
};

struct bench_db;
struct bench_iter;

struct bench_engine {
	const char *name;
	/* One line on the settings it uses, e.g. which compression. */
	void (*describe)(const struct bench_config *cfg, char *buf, size_t len);
	/* Opens (creating) the store in dir. */
	int (*open)(const struct bench_config *cfg, const char *dir,
		    struct bench_db **out);
	/* Closes the store, waiting for what it must; NULL is a no-op. */
	int (*close)(struct bench_db *db);
	/* sync: durable before it returns */
	int (*put)(struct bench_db *db, const char *key, size_t klen,
		   const char *val, size_t vlen, int sync);
	int (*del)(struct bench_db *db, const char *key, size_t klen, int sync);
	/* Looks key up; on 0 stores the value's length in *vlen. */
	int (*get)(struct bench_db *db, const char *key, size_t klen,
		   size_t *vlen);
	/* Full manual compaction: flush, then merge everything into the
	 * deepest level, dropping shadowed versions and tombstones. */
	int (*compact)(struct bench_db *db);
	/* An iterator over the latest state. */
	int (*iter_new)(struct bench_db *db, struct bench_iter **out);
	void (*iter_seek)(struct bench_iter *it, const char *key, size_t klen);
	void (*iter_seek_first)(struct bench_iter *it);
	void (*iter_next)(struct bench_iter *it);
	int (*iter_valid)(struct bench_iter *it);
	/* key and value lengths of the current entry (valid iterator) */
	void (*iter_entry)(struct bench_iter *it, size_t *klen, size_t *vlen);
	/* 0, or the error that ended the iteration */
	int (*iter_status)(struct bench_iter *it);
	void (*iter_free)(struct bench_iter *it);
	/* Fills *c; fields the engine does not expose are -1. */
	void (*counters)(struct bench_db *db, struct bench_counters *c);
};

/* Each returns the engine's vtable, or NULL when lsm was built without it. */
const struct bench_engine *bench_engine_lsm(void);
const struct bench_engine *bench_engine_leveldb(void);
const struct bench_engine *bench_engine_rocksdb(void);

#endif
