/*
 * repair_wal.c - step 2 of lsm_repair(): every WAL segment is replayed in
 * SKIP mode (past damaged records) into memtables written as new L0
 * tables, durable before the segment moves.
 */
#include "config.h"
#include "repair_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "batch.h"
#include "memtable.h"
#include "sst_format.h"
#include "wal_format.h"
#include "wal_reader.h"

int repair_convert_wal(struct repair *r, uint64_t number)
{
	char path[FILENAME_MAX_LEN], name[32];
	struct wal_reader *rd;
	struct lsm_batch *b = NULL;
	uint64_t records = 0, bad = 0;
	snprintf(name, sizeof name, "%06" PRIu64 ".wal", number);
	int rc = wal_reader_new(r->env, filename_wal(path, r->dir, number),
				WAL_MAGIC, LSM_WAL_RECOVERY_SKIP, &rd);
	if (rc == -EIO) {
		repair_say(r, "'%s': not a WAL segment; moved to %s/", name,
			   LOST_DIR);
		return repair_move_to_lost(r, name);
	}
	if (rc)
		return rc;
	if ((rc = lsm_batch_new(&b)))
		goto out;
	for (;;) {
		uint8_t type;
		struct slice payload;
		rc = wal_reader_next(rd, &type, &payload);
		if (rc <= 0)
			break;
		if (type != WAL_RECORD_BATCH || batch_set_rep(b, payload) ||
		    batch_iterate(b, NULL, NULL)) {
			bad++;
			continue;
		}
		if ((rc = batch_iterate(b, repair_mem_add, r)))
			break;
		records++;
		if (memtable_bytes(r->mem) >= r->opt.write_buffer_size &&
		    (rc = repair_flush_mem(r, SST_REASON_FLUSH, 0, NULL)))
			break;
	}
	if (rc < 0)
		goto out;
	/* the records are in r->mem or in tables: make them durable before
	 * the segment moves */
	if ((rc = repair_flush_mem(r, SST_REASON_FLUSH, 0, NULL)))
		goto out;
	uint64_t dropped = wal_reader_dropped_bytes(rd);
	r->wals++;
	r->wal_records += records;
	r->wal_dropped += dropped;
	if (!dropped && !bad && !records) {
		/* nothing in it: lsm_open removes it as obsolete */
	} else if (dropped || bad) {
		repair_say(r,
			   "'%s': %" PRIu64 " records recovered, %" PRIu64
			   " bytes and %" PRIu64
			   " bad records skipped; moved to %s/",
			   name, records, dropped, bad, LOST_DIR);
		rc = repair_move_to_lost(r, name);
	} else {
		repair_say(r, "'%s': %" PRIu64 " records recovered", name,
			   records);
		rc = repair_move_later(r, name);
	}
out:
	lsm_batch_free(b);
	wal_reader_free(rd);
	return rc;
}
