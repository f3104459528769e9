/*
 * report.c - text renderings of struct lsm_stats; see report.h.
 *
 * Every counter appears once in report_all(), report_json() and
 * report_prometheus(); the three are generated from one table of counters
 * (struct counter below) so they cannot drift apart.
 */
#include "config.h"
#include "report.h"

#include <inttypes.h>
#include <stddef.h>

enum unit { U_COUNT, U_BYTES, U_MICROS, U_RATIO, U_FLAG, U_NUMBER };

/* A scalar counter: its name in name/value and JSON output, its metric
 * name in Prometheus output, its help text, and where to find it. */
struct counter {
	const char *name;
	const char *metric; /* without lsmfs_; NULL: not exported */
	const char *help;
	enum unit unit;
	int is_total; /* monotonic since open: a Prometheus counter */
	size_t off;
	int is_double;
};

#define C(n, m, h, u, t, field) \
	{ n, m, h, u, t, offsetof(struct lsm_stats, field), 0 }
#define D(n, m, h, u, field) \
	{ n, m, h, u, 0, offsetof(struct lsm_stats, field), 1 }

static const struct counter memtable_counters[] = {
	C("memtable_bytes", "memtable_bytes", "Bytes in the active memtable", U_BYTES, 0, memtable_bytes),
	C("memtable_entries", "memtable_entries", "Entries in the active memtable", U_COUNT, 0, memtable_entries),
	C("memtable_tombstones", "memtable_tombstones", "Tombstones in the active memtable", U_COUNT, 0, memtable_tombstones),
	C("immutable_bytes", "immutable_memtable_bytes", "Bytes in frozen memtables waiting to flush", U_BYTES, 0, immutable_bytes),
	C("flush_queue_depth", "flush_queue_depth", "Frozen memtables waiting to flush", U_COUNT, 0, flush_queue_depth),
	C("flushes", "flushes_total", "Memtables flushed to L0 tables", U_COUNT, 1, flushes),
	C("flush_bytes", "flush_bytes_total", "Table bytes written by flushes", U_BYTES, 1, flush_bytes),
	C("running_flushes", "running_flushes", "Flushes running now", U_COUNT, 0, running_flushes),
};

static const struct counter wal_counters[] = {
	C("wal_number", "wal_segment_number", "Number of the current WAL segment", U_NUMBER, 0, wal_number),
	C("wal_segment_bytes", "wal_segment_bytes", "Size of the current WAL segment", U_BYTES, 0, wal_segment_bytes),
	C("wal_records", "wal_records_total", "WAL records written (one per group commit)", U_COUNT, 1, wal_records),
	C("wal_bytes", "wal_bytes_total", "Bytes appended to the WAL", U_BYTES, 1, wal_bytes),
	C("wal_syncs", "wal_syncs_total", "fdatasync calls on WAL segments", U_COUNT, 1, wal_syncs),
	C("writes", "writes_total", "Write batches", U_COUNT, 1, writes),
	C("sync_requests", "sync_requests_total", "Durable writes and explicit syncs requested", U_COUNT, 1, sync_requests),
	D("writes_per_group_commit", "writes_per_group_commit", "Write batches per WAL record", U_RATIO, writes_per_group),
	D("syncs_per_sync_request", "syncs_per_sync_request", "fdatasync calls per durable request (below 1: group commit at work)", U_RATIO, syncs_per_request),
	C("last_sequence", "last_sequence", "Newest sequence number", U_NUMBER, 0, last_sequence),
};

static const struct counter compaction_counters[] = {
	C("pending_compaction_bytes", "pending_compaction_bytes", "Estimated bytes compaction must read to bring every level under target", U_BYTES, 0, pending_compaction_bytes),
	C("running_compactions", "running_compactions", "Compactions running now", U_COUNT, 0, running_compactions),
	C("live_bytes", "live_table_bytes", "Bytes of all live tables", U_BYTES, 0, live_bytes),
	C("user_bytes_written", "user_bytes_written_total", "Key and value bytes written by users", U_BYTES, 1, user_bytes_written),
	C("disk_bytes_written", "disk_bytes_written_total", "Bytes written to WAL, flushes and compactions", U_BYTES, 1, disk_bytes_written),
	D("write_amplification", "write_amplification", "disk_bytes_written / user_bytes_written", U_RATIO, write_amplification),
	C("background_error", "background_error", "Sticky background error (negative errno) or 0", U_NUMBER, 0, background_error),
};

static const struct counter cache_counters[] = {
	C("block_cache_capacity", "block_cache_capacity_bytes", "Block cache capacity", U_BYTES, 0, cache_capacity),
	C("block_cache_usage", "block_cache_usage_bytes", "Bytes in the block cache", U_BYTES, 0, cache_usage),
	C("block_cache_hits", "block_cache_hits_total", "Block cache hits", U_COUNT, 1, cache_hits),
	C("block_cache_misses", "block_cache_misses_total", "Block cache misses", U_COUNT, 1, cache_misses),
	C("bloom_checks", "bloom_checks_total", "Bloom filter probes", U_COUNT, 1, bloom_checks),
	C("bloom_useful", "bloom_useful_total", "Bloom probes that saved a block read", U_COUNT, 1, bloom_useful),
	C("gets", "gets_total", "Point reads", U_COUNT, 1, gets),
	C("get_hits", "get_hits_total", "Point reads that found a value", U_COUNT, 1, get_hits),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const struct counter *c;
	size_t n;
} sections[] = {
	[REPORT_MEMTABLE] = { memtable_counters, N(memtable_counters) },
	[REPORT_WAL] = { wal_counters, N(wal_counters) },
	[REPORT_COMPACTION] = { compaction_counters, N(compaction_counters) },
	[REPORT_CACHE] = { cache_counters, N(cache_counters) },
};

static const char *unit_name(enum unit u)
{
	switch (u) {
	case U_COUNT: return "count";
	case U_BYTES: return "bytes";
	case U_MICROS: return "microseconds";
	case U_RATIO: return "ratio";
	case U_FLAG: return "0 or 1";
	case U_NUMBER: return "number";
	}
	return "?";
}

void report_glossary(FILE *f, enum report_section sec)
{
	if ((size_t)sec >= N(sections))
		return;
	for (size_t i = 0; i < sections[sec].n; i++) {
		const struct counter *c = &sections[sec].c[i];
		fprintf(f, "  %s (%s%s)\n      %s\n", c->name,
			unit_name(c->unit), c->is_total ? ", since open" : "",
			c->help);
	}
}

static double value_of(const struct lsm_stats *s, const struct counter *c)
{
	const char *p = (const char *)s + c->off;
	if (c->is_double)
		return *(const double *)p;
	if (c->off == offsetof(struct lsm_stats, background_error))
		return *(const int *)p;
	return (double)*(const uint64_t *)p;
}

static void print_value(FILE *f, const struct lsm_stats *s,
			const struct counter *c)
{
	const char *p = (const char *)s + c->off;
	if (c->is_double)
		fprintf(f, "%.3f", *(const double *)p);
	else if (c->off == offsetof(struct lsm_stats, background_error))
		fprintf(f, "%d", *(const int *)p);
	else
		fprintf(f, "%" PRIu64, *(const uint64_t *)p);
}

static void print_section(FILE *f, const struct lsm_stats *s,
			  const struct counter *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s ", c[i].name);
		print_value(f, s, &c[i]);
		fputc('\n', f);
	}
}

void report_memtable(FILE *f, const struct lsm_stats *s)
{
	print_section(f, s, memtable_counters, N(memtable_counters));
}

void report_wal(FILE *f, const struct lsm_stats *s)
{
	print_section(f, s, wal_counters, N(wal_counters));
}

void report_compaction(FILE *f, const struct lsm_stats *s)
{
	print_section(f, s, compaction_counters, N(compaction_counters));
	for (int l = 0; l < LSM_NUM_LEVELS; l++) {
		const struct lsm_level_stats *ls = &s->levels[l];
		fprintf(f,
			"L%d_compactions %" PRIu64 "\nL%d_compaction_read_bytes %" PRIu64
			"\nL%d_compaction_write_bytes %" PRIu64
			"\nL%d_trivial_moves %" PRIu64 "\n",
			l, ls->compactions, l, ls->bytes_read, l,
			ls->bytes_written, l, ls->trivial_moves);
	}
}

void report_cache(FILE *f, const struct lsm_stats *s)
{
	print_section(f, s, cache_counters, N(cache_counters));
}

void report_stalls(FILE *f, const struct lsm_stats *s)
{
	for (int c = 0; c < LSM_STALL_NCAUSES; c++) {
		const char *n = lsm_stall_cause_name(c);
		fprintf(f, "%s_count %" PRIu64 "\n%s_micros %" PRIu64
			   "\n%s_active %d\n",
			n, s->stalls[c].count, n, s->stalls[c].micros, n,
			s->stalls[c].active);
	}
	fprintf(f, "write_stalled %d\n", s->write_stalled);
}

void report_all(FILE *f, const struct lsm_stats *s)
{
	for (int l = 0; l < LSM_NUM_LEVELS; l++)
		fprintf(f, "L%d_files %" PRIu64 "\nL%d_bytes %" PRIu64
			   "\nL%d_score %.3f\n",
			l, s->levels[l].files, l, s->levels[l].bytes, l,
			s->levels[l].score);
	report_memtable(f, s);
	report_wal(f, s);
	report_stalls(f, s);
	report_compaction(f, s);
	report_cache(f, s);
}

void report_levels(FILE *f, const struct lsm_stats *s)
{
	fprintf(f, "%-5s %6s %12s %12s %7s %13s %13s %6s %6s\n", "level",
		"files", "bytes", "target", "score", "comp_read", "comp_write",
		"comps", "moves");
	for (int l = 0; l < LSM_NUM_LEVELS; l++) {
		const struct lsm_level_stats *ls = &s->levels[l];
		fprintf(f,
			"L%-4d %6" PRIu64 " %12" PRIu64 " %12" PRIu64
			" %7.2f %13" PRIu64 " %13" PRIu64 " %6" PRIu64
			" %6" PRIu64 "\n",
			l, ls->files, ls->bytes, ls->target, ls->score,
			ls->bytes_read, ls->bytes_written, ls->compactions,
			ls->trivial_moves);
	}
}

void report_escaped(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\\')
			fputs("\\\\", f);
		else if (c <= 0x20 || c >= 0x7f || c == '"')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static const char *reason_name(uint32_t reason)
{
	return reason == 1 ? "flush" : reason == 2 ? "compaction" : "unknown";
}

void report_file(FILE *f, const struct lsm_file_info *fi)
{
	fprintf(f, "name %06" PRIu64 ".sst\nnumber %" PRIu64 "\nlevel %d\n"
		   "size %" PRIu64 "\nentries %" PRIu64 "\ntombstones %" PRIu64
		   "\n",
		fi->number, fi->number, fi->level, fi->size, fi->entries,
		fi->tombstones);
	fputs("smallest_key ", f);
	report_escaped(f, fi->smallest, fi->smallest_len);
	fputs("\nlargest_key ", f);
	report_escaped(f, fi->largest, fi->largest_len);
	fprintf(f, "\nmin_sequence %" PRIu64 "\nmax_sequence %" PRIu64
		   "\ncreated_unix %" PRIu64 "\nreason %s\n",
		fi->min_seq, fi->max_seq, fi->created_unix,
		reason_name(fi->reason));
	if (!fi->has_props)
		return;
	/* stored bytes include block trailers; 0 only for an empty table */
	double ratio = fi->stored_data_bytes
		? (double)fi->raw_data_bytes / (double)fi->stored_data_bytes : 0;
	fprintf(f, "data_blocks %" PRIu64 "\nraw_key_bytes %" PRIu64
		   "\nraw_value_bytes %" PRIu64 "\nraw_data_bytes %" PRIu64
		   "\nstored_data_bytes %" PRIu64 "\ncompression %s\n"
		   "compression_ratio %.3f\nbloom_bits_per_key %" PRIu32 "\n",
		fi->data_blocks, fi->raw_key_bytes, fi->raw_value_bytes,
		fi->raw_data_bytes, fi->stored_data_bytes,
		fi->compression == LSM_COMPRESSION_ZSTD ? "zstd"
		: fi->compression == LSM_COMPRESSION_LZ4 ? "lz4"
		: fi->compression == LSM_COMPRESSION_NONE ? "none" : "unknown",
		ratio, fi->bloom_bits_per_key);
}

/* JSON string: escapes quotes, backslashes and control bytes; other
 * non-ASCII bytes as \u00XX so the output is valid whatever the key. */
static void json_string(FILE *f, const char *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void report_json(FILE *f, const struct lsm_stats *s)
{
	fputs("{\n", f);
	for (size_t k = 0; k < N(sections); k++) {
		for (size_t i = 0; i < sections[k].n; i++) {
			const struct counter *c = &sections[k].c[i];
			fprintf(f, "  \"%s\": ", c->name);
			print_value(f, s, c);
			fputs(",\n", f);
		}
	}
	fputs("  \"stalls\": {", f);
	for (int c = 0; c < LSM_STALL_NCAUSES; c++)
		fprintf(f, "%s\n    \"%s\": {\"count\": %" PRIu64
			   ", \"micros\": %" PRIu64 ", \"active\": %d}",
			c ? "," : "", lsm_stall_cause_name(c), s->stalls[c].count,
			s->stalls[c].micros, s->stalls[c].active);
	fprintf(f, "\n  },\n  \"write_stalled\": %d,\n  \"levels\": [",
		s->write_stalled);
	for (int l = 0; l < LSM_NUM_LEVELS; l++) {
		const struct lsm_level_stats *ls = &s->levels[l];
		fprintf(f,
			"%s\n    {\"level\": %d, \"files\": %" PRIu64
			", \"bytes\": %" PRIu64 ", \"target\": %" PRIu64
			", \"score\": %.3f, \"compactions\": %" PRIu64
			", \"compaction_read_bytes\": %" PRIu64
			", \"compaction_write_bytes\": %" PRIu64
			", \"trivial_moves\": %" PRIu64 "}",
			l ? "," : "", l, ls->files, ls->bytes, ls->target,
			ls->score, ls->compactions, ls->bytes_read,
			ls->bytes_written, ls->trivial_moves);
	}
	fputs("\n  ],\n  \"files\": [", f);
	for (size_t i = 0; i < s->nfiles; i++) {
		const struct lsm_file_info *fi = &s->files[i];
		fprintf(f,
			"%s\n    {\"number\": %" PRIu64 ", \"level\": %d"
			", \"size\": %" PRIu64 ", \"entries\": %" PRIu64
			", \"tombstones\": %" PRIu64 ", \"smallest_key\": ",
			i ? "," : "", fi->number, fi->level, fi->size,
			fi->entries, fi->tombstones);
		json_string(f, fi->smallest, fi->smallest_len);
		fputs(", \"largest_key\": ", f);
		json_string(f, fi->largest, fi->largest_len);
		fprintf(f, ", \"min_sequence\": %" PRIu64
			   ", \"max_sequence\": %" PRIu64 ", \"reason\": \"%s\"}",
			fi->min_seq, fi->max_seq, reason_name(fi->reason));
	}
	fputs("\n  ]\n}\n", f);
}

static void prom_header(FILE *f, const char *metric, const char *help,
			int is_total)
{
	fprintf(f, "# HELP lsmfs_%s %s\n# TYPE lsmfs_%s %s\n", metric, help,
		metric, is_total ? "counter" : "gauge");
}

void report_prometheus(FILE *f, const struct lsm_stats *s)
{
	for (size_t k = 0; k < N(sections); k++) {
		for (size_t i = 0; i < sections[k].n; i++) {
			const struct counter *c = &sections[k].c[i];
			prom_header(f, c->metric, c->help, c->is_total);
			fprintf(f, "lsmfs_%s %.17g\n", c->metric,
				value_of(s, c));
		}
	}
	static const struct {
		const char *metric, *help;
		int total;
		size_t off;
	} lv[] = {
		{ "level_files", "Tables in the level", 0,
		  offsetof(struct lsm_level_stats, files) },
		{ "level_bytes", "Bytes of the tables in the level", 0,
		  offsetof(struct lsm_level_stats, bytes) },
		{ "level_target_bytes", "Compaction target of the level (0 for L0)", 0,
		  offsetof(struct lsm_level_stats, target) },
		{ "level_compactions_total", "Compactions that wrote into the level", 1,
		  offsetof(struct lsm_level_stats, compactions) },
		{ "level_compaction_read_bytes_total", "Input bytes of compactions into the level", 1,
		  offsetof(struct lsm_level_stats, bytes_read) },
		{ "level_compaction_write_bytes_total", "Output bytes of compactions into the level", 1,
		  offsetof(struct lsm_level_stats, bytes_written) },
		{ "level_trivial_moves_total", "Tables moved into the level without a rewrite", 1,
		  offsetof(struct lsm_level_stats, trivial_moves) },
	};
	for (size_t i = 0; i < N(lv); i++) {
		prom_header(f, lv[i].metric, lv[i].help, lv[i].total);
		for (int l = 0; l < LSM_NUM_LEVELS; l++)
			fprintf(f, "lsmfs_%s{level=\"L%d\"} %" PRIu64 "\n",
				lv[i].metric, l,
				*(const uint64_t *)((const char *)&s->levels[l] +
						    lv[i].off));
	}
	prom_header(f, "level_score", "Compaction score of the level (>= 1 wants compaction)", 0);
	for (int l = 0; l < LSM_NUM_LEVELS; l++)
		fprintf(f, "lsmfs_level_score{level=\"L%d\"} %.6f\n", l,
			s->levels[l].score);

	prom_header(f, "stalls_total", "Write groups held by a stall, by cause", 1);
	for (int c = 0; c < LSM_STALL_NCAUSES; c++)
		fprintf(f, "lsmfs_stalls_total{cause=\"%s\"} %" PRIu64 "\n",
			lsm_stall_cause_name(c), s->stalls[c].count);
	prom_header(f, "stall_seconds_total", "Time writes were held, by cause", 1);
	for (int c = 0; c < LSM_STALL_NCAUSES; c++)
		fprintf(f, "lsmfs_stall_seconds_total{cause=\"%s\"} %.6f\n",
			lsm_stall_cause_name(c), (double)s->stalls[c].micros / 1e6);
	prom_header(f, "stall_active", "1 while a stall of this cause holds a writer", 0);
	for (int c = 0; c < LSM_STALL_NCAUSES; c++)
		fprintf(f, "lsmfs_stall_active{cause=\"%s\"} %d\n",
			lsm_stall_cause_name(c), s->stalls[c].active);
	prom_header(f, "write_stalled", "1 while any write is delayed or stopped", 0);
	fprintf(f, "lsmfs_write_stalled %d\n", s->write_stalled);
}
