/*
 * lsmdir_render.c - the text of every file of .lsm/ (see lsmdir.h): the
 * README, which documents the tree, and thin wrappers over fs/report.c so
 * that .lsm/ and `lsm stats` print the same tables.
 */
#include "config.h"
#include "lsmdir.h"

#include <inttypes.h>

#include "report.h"

static const char readme_head[] =
"This directory shows the storage engine of this lsmfs mount while it runs.\n"
"\n"
"Every file is generated when it is opened, from the engine's counters at\n"
"that moment, so `cat` shows the present and `watch cat .lsm/FILE` shows it\n"
"move. Nothing here is stored and nothing can be changed: writing,\n"
"creating, removing, renaming, chmod, chown, truncate and setting extended\n"
"attributes fail with EROFS (read-only file system). The name .lsm is\n"
"reserved: no file of the mount can take it, and `lsm scan` never shows it.\n"
"\n"
"The tree\n"
"  README                     this text\n"
"  flush_queue_depth          one integer each, see \"Single values\"\n"
"  l0_files\n"
"  pending_compaction_bytes\n"
"  write_stalled\n"
"  stalls                     write stalls by cause\n"
"  memtable, wal, compaction, cache   counters by subsystem\n"
"  stats                      every counter, name value\n"
"  stats.json                 every counter, one JSON object\n"
"  metrics.prom               every counter, Prometheus text format\n"
"  levels/summary             the level table\n"
"  levels/L0 .. levels/L6     the live tables of each level (NNNNNN.sst)\n"
"\n"
"Formats\n"
"  single value  one decimal integer and a newline (sysfs style):\n"
"                  watch cat .lsm/flush_queue_depth\n"
"  name value    one counter per line, the name, one space, the value:\n"
"                  awk '$1 == \"wal_syncs\" { print $2 }' .lsm/wal\n"
"                Integers are decimal; ratios have three decimals.\n"
"Units: sizes are bytes, durations microseconds (the Prometheus file uses\n"
"seconds). \"since open\" counters start at 0 when the store is opened\n"
"(at mount) and only grow; the others are the state right now.\n"
"\n"
"Single values\n"
"  flush_queue_depth         frozen memtables waiting to be written to L0\n"
"                            (count). Above 0 while flushes lag behind\n"
"                            writes; when it reaches the limit (2 by\n"
"                            default) writes stop: a memtable_limit stall.\n"
"  l0_files                  tables in level 0 (count). From the mount\n"
"                            option l0_slowdown_trigger (default 8) on, each\n"
"                            write group is delayed 1 ms; from\n"
"                            l0_stop_trigger (default 12) on, writes wait\n"
"                            for compaction.\n"
"  pending_compaction_bytes  estimate of the bytes compaction must read to\n"
"                            bring every level under its target (bytes).\n"
"  write_stalled             1 while any write is delayed or stopped, else 0.\n"
"\n"
"stalls (name value): for each cause, l0_slowdown (L0 at the slowdown\n"
"trigger: writes delayed), l0_stop (L0 at the stop trigger: writes wait)\n"
"and memtable_limit (too many frozen memtables: writes wait):\n"
"  CAUSE_count   write groups held (count, since open)\n"
"  CAUSE_micros  total time they were held (microseconds, since open)\n"
"  CAUSE_active  1 while a writer is held by this cause now, else 0\n"
"and write_stalled as above.\n"
"\n";

static const char readme_compaction_levels[] =
"  and for each level n from 0 to 6 (counts or bytes, since open):\n"
"  Ln_compactions              compactions that wrote into the level\n"
"  Ln_compaction_read_bytes    their input bytes\n"
"  Ln_compaction_write_bytes   their output bytes\n"
"  Ln_trivial_moves            tables moved into the level unchanged\n";

static const char readme_tail[] =
"stats (name value): every counter above, in the sections memtable, wal,\n"
"stalls, compaction, cache, preceded by Ln_files, Ln_bytes and Ln_score\n"
"for each level (score: L0 files / compaction trigger, deeper levels bytes\n"
"/ target; 1 or more means the level wants compaction).\n"
"\n"
"stats.json: the same counters as one JSON object, plus \"stalls\" (by\n"
"cause), \"levels\" (the summary table as a list) and \"files\" (every live\n"
"table with its key range and sequence range).\n"
"\n"
"metrics.prom: the same counters in the Prometheus text exposition format\n"
"0.0.4, for node_exporter's textfile collector (copy or link it into the\n"
"collector's directory) or any scraper. Names are lsmfs_*, counters end\n"
"in _total, units are bytes and seconds, per-level metrics have the label\n"
"level=\"L0\"..\"L6\", per-stall metrics the label cause=\"...\".\n"
"\n"
"levels/\n"
"  summary     the level table: level, files, bytes, target (compaction\n"
"              target in bytes; 0 for L0, whose trigger is a file count),\n"
"              score, comp_read and comp_write (compaction input and output\n"
"              bytes since open), comps (compactions into the level) and\n"
"              moves (trivial moves into it).\n"
"  L0 .. L6    one directory per level listing its live tables by file\n"
"              name (NNNNNN.sst, as in the data directory). L0 tables may\n"
"              overlap; in deeper levels they are sorted and disjoint.\n"
"              `ls -l` shows each table's size on disk and its creation\n"
"              time. Reading one gives its metadata, name value:\n"
"    name, number, level\n"
"    size                 bytes on disk\n"
"    entries, tombstones  entries stored, of which deletions\n"
"    smallest_key, largest_key  its user key range; bytes outside\n"
"                         printable ASCII, space, '\"' and '\\' are escaped\n"
"                         as \\xHH, a backslash as \\\\\n"
"    min_sequence, max_sequence  its range of sequence numbers\n"
"    created_unix         creation time, seconds since 1970\n"
"    reason               flush (from a memtable) or compaction\n"
"    data_blocks          data blocks in the table\n"
"    raw_key_bytes, raw_value_bytes  keys and values before compression\n"
"    raw_data_bytes       data blocks before compression\n"
"    stored_data_bytes    data blocks on disk, block trailers included\n"
"    compression          zstd, lz4 or none\n"
"    compression_ratio    raw_data_bytes / stored_data_bytes\n"
"    bloom_bits_per_key   bloom filter size per key; 0: no filter\n"
"              A table's size is its size on disk, not the length of this\n"
"              text: read it with cat, less or grep (tools that seek to the\n"
"              end, such as tail, see nothing). A table compacted away\n"
"              disappears from its directory.\n"
"\n"
"The same tables, offline: `lsm stats DATADIR` (the store must not be\n"
"mounted), `lsm stats --json`, `lsm stats --prometheus`.\n";

void lsmdir_render_readme(FILE *f, const struct lsm_stats *s)
{
	(void)s;
	fputs(".lsm/ - the lsmfs engine, live\n\n", f);
	fputs(readme_head, f);
	fputs("memtable (name value): the write buffer and flushes.\n", f);
	report_glossary(f, REPORT_MEMTABLE);
	fputs("\nwal (name value): the write-ahead log and group commit. A\n"
	      "writes_per_group_commit above 1 means concurrent writers share\n"
	      "WAL records (group commit); a syncs_per_sync_request below 1\n"
	      "means durable writers share fdatasync calls.\n", f);
	report_glossary(f, REPORT_WAL);
	fputs("\ncompaction (name value): the levels' upkeep.\n", f);
	report_glossary(f, REPORT_COMPACTION);
	fputs(readme_compaction_levels, f);
	fputs("\ncache (name value): the block cache, bloom filters and point "
	      "reads.\n", f);
	report_glossary(f, REPORT_CACHE);
	fputc('\n', f);
	fputs(readme_tail, f);
}

void lsmdir_render_flush_queue_depth(FILE *f, const struct lsm_stats *s)
{
	fprintf(f, "%" PRIu64 "\n", s->flush_queue_depth);
}

void lsmdir_render_l0_files(FILE *f, const struct lsm_stats *s)
{
	fprintf(f, "%" PRIu64 "\n", s->levels[0].files);
}

void lsmdir_render_pending_compaction_bytes(FILE *f, const struct lsm_stats *s)
{
	fprintf(f, "%" PRIu64 "\n", s->pending_compaction_bytes);
}

void lsmdir_render_write_stalled(FILE *f, const struct lsm_stats *s)
{
	fprintf(f, "%d\n", s->write_stalled ? 1 : 0);
}

void lsmdir_render_stalls(FILE *f, const struct lsm_stats *s)
{
	report_stalls(f, s);
}

void lsmdir_render_memtable(FILE *f, const struct lsm_stats *s)
{
	report_memtable(f, s);
}

void lsmdir_render_wal(FILE *f, const struct lsm_stats *s)
{
	report_wal(f, s);
}

void lsmdir_render_compaction(FILE *f, const struct lsm_stats *s)
{
	report_compaction(f, s);
}

void lsmdir_render_cache(FILE *f, const struct lsm_stats *s)
{
	report_cache(f, s);
}

void lsmdir_render_stats(FILE *f, const struct lsm_stats *s)
{
	report_all(f, s);
}

void lsmdir_render_json(FILE *f, const struct lsm_stats *s)
{
	report_json(f, s);
}

void lsmdir_render_prometheus(FILE *f, const struct lsm_stats *s)
{
	report_prometheus(f, s);
}

void lsmdir_render_summary(FILE *f, const struct lsm_stats *s)
{
	report_levels(f, s);
}
