/*
 * repair_salvage.c - step 3 of lsm_repair(): every table is opened and
 * verified (sst_reader_verify). A clean one is kept as it is; a damaged one
 * has the entries of its good blocks copied into a new table (through the
 * index when the footer and index read, else by scanning for block
 * trailers) and moves to lost/.
 */
#include "config.h"
#include "repair_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "block_iter.h"
#include "buf.h"
#include "coding.h"
#include "crc32c.h"
#include "db_impl.h"
#include "env.h"
#include "sst_format.h"
#include "sst_reader.h"
#include "version.h"

/*
 * Adds the entries of one data block to r->mem, all or none: a block that
 * does not decode, has an unknown entry type or (strict) a key not after
 * *prev or a sequence of SEQ_MAX (index separators have it: a scan that ran
 * into the index block) is refused with -EIO.
 */
static int load_block(struct repair *r, struct slice data, const char *name,
		      uint64_t off, bool strict, struct buf *prev)
{
	struct block_iter it;
	int rc = 0, pass;
	block_iter_init_empty(&it);
	if (block_iter_init(&it, data.data, data.len, name, off)) {
		rc = -EIO;
		goto out;
	}
	/* pass 0 checks the whole block, pass 1 loads it */
	for (pass = 0; pass < 2 && !rc; pass++) {
		struct buf last = BUF_INIT;
		if (prev->len)
			rc = buf_set(&last, prev->data, prev->len);
		for (iter_seek_first(&it.base); iter_valid(&it.base) && !rc;
		     iter_next(&it.base)) {
			struct slice k = iter_key(&it.base);
			enum entry_type type = ikey_type(k);
			if (pass == 0 &&
			    ((type != TYPE_VALUE && type != TYPE_DELETE) ||
			     (strict && ikey_seq(k) == SEQ_MAX) ||
			     (strict && last.len &&
			      ikey_cmp(k, buf_slice(&last)) <= 0)))
				rc = -EIO;
			else if (pass == 1)
				rc = repair_mem_add(r, ikey_seq(k), type,
						    ikey_user(k),
						    iter_value(&it.base));
			if (!rc)
				rc = buf_set(&last, k.data, k.len);
		}
		if (!rc && iter_status(&it.base))
			rc = -EIO;
		if (!rc && pass == 1 && last.len)
			rc = buf_set(prev, last.data, last.len);
		buf_release(&last);
	}
out:
	block_iter_release(&it);
	return rc;
}

/*
 * With a readable footer and index: every data block the index names. Bad
 * blocks are counted in *bad and skipped. Returns 0, -EIO when the index
 * cannot be used (the caller scans instead), or another error.
 */
static int salvage_by_index(struct repair *r, struct env_rfile *f,
			    const char *name, const struct sst_footer *ft,
			    uint64_t meta_end, uint64_t data_end, uint64_t *bad)
{
	struct buf index = BUF_INIT, block = BUF_INIT, prev = BUF_INIT;
	struct block_iter ix;
	block_iter_init_empty(&ix);
	int rc = sst_read_block(r->env, f, name, ft->index, meta_end, &index,
				NULL, NULL);
	if (!rc &&
	    block_iter_init(&ix, index.data, index.len, name, ft->index.offset))
		rc = -EIO;
	if (!rc)
		iter_seek_first(&ix.base);
	for (; !rc && iter_valid(&ix.base); iter_next(&ix.base)) {
		struct sst_handle h;
		struct slice hv = iter_value(&ix.base);
		if (!sst_handle_decode(hv.data, hv.data + hv.len, &h)) {
			(*bad)++;
			continue;
		}
		rc = sst_read_block(r->env, f, name, h, data_end, &block, NULL,
				    NULL);
		if (!rc)
			rc = load_block(r, buf_slice(&block), name, h.offset,
					false, &prev);
		if (rc == -EIO) {
			(*bad)++;
			rc = 0;
		}
	}
	if (!rc && iter_status(&ix.base))
		(*bad)++;
	block_iter_release(&ix);
	buf_release(&index);
	buf_release(&block);
	buf_release(&prev);
	return rc;
}

/*
 * Without an index: data blocks lie back to back from offset 0, each
 * followed by its type byte and masked CRC. The end of each block is found
 * as the first offset where a trailer matches the bytes before it (the CRC
 * runs along, so this is linear). Stops at the first block that does not
 * verify or decode in order: the end of the data, or damage there is no
 * way past without the index.
 */
static int salvage_by_scan(struct repair *r, struct env_rfile *f,
			   const char *name, uint64_t limit, uint64_t *bad)
{
	struct buf data = BUF_INIT, block = BUF_INIT, prev = BUF_INIT;
	size_t got = 0;
	if (buf_reserve(&data, (size_t)limit + 1)) {
		/* a huge garbage file must not stop the repair */
		(*bad)++;
		return 0;
	}
	int rc = r->env->rfile_read(f, 0, data.data, (size_t)limit, &got);
	const unsigned char *p = (const unsigned char *)data.data;
	uint64_t off = 0;
	while (!rc && off + SST_BLOCK_TRAILER_SIZE <= got) {
		uint32_t crc = 0;
		uint64_t end = off, found = UINT64_MAX;
		for (; end + SST_BLOCK_TRAILER_SIZE <= got; end++) {
			if (p[end] <= SST_COMPRESS_LZ4 &&
			    crc32c_extend(crc, p + end, 1) ==
				    crc32c_unmask(decode_fixed32(
					    (const char *)p + end + 1))) {
				found = end;
				break;
			}
			crc = crc32c_extend(crc, p + end, 1);
		}
		if (found == UINT64_MAX) {
			(*bad)++;
			break;
		}
		struct sst_handle h = { off, found - off };
		rc = sst_read_block(r->env, f, name, h, got, &block, NULL,
				    NULL);
		if (!rc)
			rc = load_block(r, buf_slice(&block), name, off, true,
					&prev);
		if (rc == -EIO) {
			rc = 0;
			break;
		}
		off = found + SST_BLOCK_TRAILER_SIZE;
	}
	buf_release(&data);
	buf_release(&block);
	buf_release(&prev);
	return rc;
}

/* Copies the readable entries of a damaged table into r->mem. */
static int salvage(struct repair *r, const char *path, const char *name,
		   uint64_t *bad)
{
	struct env_rfile *f;
	struct sst_footer ft;
	uint64_t size;
	int rc = r->env->new_rfile(r->env, path, &f);
	if (rc)
		return rc;
	if ((rc = r->env->rfile_size(f, &size)))
		goto out;
	uint64_t limit = size < SST_FOOTER_SIZE ? size : size - SST_FOOTER_SIZE;
	rc = sst_read_footer(r->env, f, name, size, &ft);
	if (!rc) {
		bool has_filter = ft.filter.offset || ft.filter.size;
		uint64_t data_end =
			has_filter ? ft.filter.offset : ft.index.offset;
		if (data_end <= limit) {
			rc = salvage_by_index(r, f, name, &ft, limit, data_end,
					      bad);
			if (rc != -EIO)
				goto out;
			limit = data_end;
		}
	}
	if (rc && rc != -EIO)
		goto out;
	rc = salvage_by_scan(r, f, name, limit, bad);
out:
	r->env->rfile_close(f);
	return rc;
}

/* Keeps table number if it verifies, else salvages what it can and moves
 * it to lost/. */
int repair_table(struct repair *r, uint64_t number)
{
	char path[FILENAME_MAX_LEN], name[32];
	struct sst_reader *rd = NULL;
	struct file_meta *f = NULL;
	snprintf(name, sizeof name, "%06" PRIu64 ".sst", number);
	filename_sst(path, r->dir, number);
	int rc = sst_reader_open(r->env, path, number, NULL, NULL, &rd);
	if (!rc)
		rc = sst_reader_verify(rd, r->report);
	if (!rc) {
		const struct sst_props *p = sst_reader_props(rd);
		if (p->entries == 0) {
			sst_reader_free(rd);
			repair_say(r, "'%s': empty table; moved to %s/", name,
				   LOST_DIR);
			return repair_move_later(r, name);
		}
		rc = db_table_meta(number, p, p->reason, &f);
		sst_reader_free(rd);
		if (!rc)
			rc = repair_add_table(r, f, number, false,
					      r->next_run++);
		r->kept += !rc;
		return rc;
	}
	sst_reader_free(rd);
	if (rc != -EIO)
		return rc;

	uint64_t bad = 0, before = r->nt;
	rc = salvage(r, path, name, &bad);
	if (!rc)
		rc = repair_flush_mem(r, SST_REASON_COMPACTION, number, NULL);
	if (rc)
		return rc;
	r->bad_blocks += bad;
	if (r->nt > before) {
		r->rebuilt++;
		repair_say(r,
			   "'%s': damaged; %" PRIu64
			   " entries copied to '%06" PRIu64 ".sst' (%" PRIu64
			   " bad blocks skipped); moved to %s/",
			   name, r->t[r->nt - 1].f->entries,
			   r->t[r->nt - 1].f->number, bad, LOST_DIR);
	} else {
		repair_say(r,
			   "'%s': unreadable, nothing salvaged; moved to %s/",
			   name, LOST_DIR);
	}
	return repair_move_to_lost(r, name);
}
