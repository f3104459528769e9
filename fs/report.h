/*
 * report.h - renders engine statistics (struct lsm_stats, engine/lsm.h) as
 * text, for the .lsm/ directory of a mount (fs/lsmdir.c) and for
 * `lsm stats` (tools/), so the two always print the same thing.
 *
 * Formats:
 *  - "name value" lines, one counter per line (sysfs/procfs style);
 *  - a level table for humans;
 *  - one JSON object;
 *  - Prometheus text exposition format 0.0.4 (metric names lsmfs_*).
 * Every function writes to f and returns nothing; the caller checks
 * ferror(f). Pure functions of their inputs; thread-safe.
 */
#ifndef LSMFS_REPORT_H
#define LSMFS_REPORT_H

#include <stdio.h>

#include "lsm.h"

/* Sections of the "name value" report; report_all prints every one. */
void report_memtable(FILE *f, const struct lsm_stats *s);
void report_wal(FILE *f, const struct lsm_stats *s);
void report_stalls(FILE *f, const struct lsm_stats *s);
void report_compaction(FILE *f, const struct lsm_stats *s);
void report_cache(FILE *f, const struct lsm_stats *s);
void report_all(FILE *f, const struct lsm_stats *s);

/* The level table: level, files, bytes, target, score, compaction
 * read/write bytes, compactions, trivial moves. */
void report_levels(FILE *f, const struct lsm_stats *s);

/* One table's metadata as "name value" lines: name, number, level, size,
 * entries, tombstones, smallest_key and largest_key (report_escaped),
 * min_sequence, max_sequence, created_unix, reason; when fi->has_props
 * also data_blocks, raw_key_bytes, raw_value_bytes, raw_data_bytes,
 * stored_data_bytes, compression, compression_ratio (raw / stored data
 * bytes) and bloom_bits_per_key. */
void report_file(FILE *f, const struct lsm_file_info *fi);

/* The counter groups of the name/value report, one per report_* section
 * above (stalls and levels have their own layout). */
enum report_section {
	REPORT_MEMTABLE,
	REPORT_WAL,
	REPORT_COMPACTION,
	REPORT_CACHE,
};

/* Documents every counter of section sec, two lines each:
 *   "  NAME (UNIT[, since open])" then "      HELP". */
void report_glossary(FILE *f, enum report_section sec);

void report_json(FILE *f, const struct lsm_stats *s);
void report_prometheus(FILE *f, const struct lsm_stats *s);

/* Writes bytes with non-printable bytes, backslash and space escaped
 * (\xHH, \\, \x20), so a key is one word. */
void report_escaped(FILE *f, const char *p, size_t n);

#endif
