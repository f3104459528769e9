/*
 * sst_dump.c - `lsm dump-sst`: prints every block and entry of an SSTable
 * with its checksum verdict (declared in sst_reader.h). Unlike
 * sst_reader_open() it keeps going past a corrupt block, so a damaged table
 * shows everything that can still be read.
 */
#include "config.h"
#include "sst_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>

#include "block_iter.h"
#include "dbformat.h"
#include "env.h"

static const char *compress_name(uint8_t t)
{
	switch (t) {
	case SST_COMPRESS_NONE: return "none";
	case SST_COMPRESS_ZSTD: return "zstd";
	default: return "unknown";
	}
}

/* Prints s quoted, with non-printable bytes, quotes and backslashes as
 * \xHH. */
static void put_escaped(FILE *out, struct slice s)
{
	fputc('\'', out);
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.data[i];
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			fputc(c, out);
		else
			fprintf(out, "\\x%02x", c);
	}
	fputc('\'', out);
}

static void put_ikey(FILE *out, struct slice k)
{
	if (k.len < 8) {
		fprintf(out, "(malformed key of %zu bytes)", k.len);
		return;
	}
	put_escaped(out, ikey_user(k));
	enum entry_type t = ikey_type(k);
	fprintf(out, " seq %" PRIu64 " %s", ikey_seq(k),
		t == TYPE_VALUE ? "put" : t == TYPE_DELETE ? "del" : "bad-type");
}

/* Reads and describes one block; false (after saying why) when corrupt. */
static int dump_block(struct lsm_env *env, struct env_rfile *f,
		      const char *name, const char *what, struct sst_handle h,
		      uint64_t limit, struct buf *out, FILE *fp)
{
	uint8_t type = 0;
	const char *why = NULL;
	fprintf(fp, "%s at offset %" PRIu64 ": stored %" PRIu64 " bytes", what,
		h.offset, h.size);
	int rc = sst_read_block(env, f, name, h, limit, out, &type, &why);
	if (rc == -EIO) {
		fprintf(fp, ", CORRUPT: %s\n", why);
		return rc;
	}
	if (rc) {
		fprintf(fp, ", read error %d\n", rc);
		return rc;
	}
	fprintf(fp, ", raw %zu bytes, %s, crc ok\n", out->len,
		compress_name(type));
	return 0;
}

static void dump_props(const struct sst_props *p, FILE *fp)
{
	fprintf(fp, "  entries %" PRIu64 "\n  tombstones %" PRIu64 "\n",
		p->entries, p->tombstones);
	fprintf(fp, "  raw_key_bytes %" PRIu64 "\n  raw_value_bytes %" PRIu64
		    "\n", p->raw_key_bytes, p->raw_value_bytes);
	fprintf(fp, "  data_blocks %" PRIu64 "\n  raw_data_bytes %" PRIu64
		    "\n  stored_data_bytes %" PRIu64 "\n", p->data_blocks,
		p->raw_data_bytes, p->stored_data_bytes);
	fprintf(fp, "  min_seq %" PRIu64 "\n  max_seq %" PRIu64 "\n",
		p->min_seq, p->max_seq);
	fprintf(fp, "  bloom_bits_per_key %u\n  compression %s\n",
		p->bloom_bits_per_key, compress_name((uint8_t)p->compression));
	fprintf(fp, "  reason %s\n  created_unix %" PRIu64 "\n",
		p->reason == SST_REASON_FLUSH	   ? "flush"
		: p->reason == SST_REASON_COMPACTION ? "compaction"
						     : "unknown",
		p->created_unix);
	fprintf(fp, "  smallest ");
	if (p->smallest.len)
		put_ikey(fp, buf_slice(&p->smallest));
	fprintf(fp, "\n  largest ");
	if (p->largest.len)
		put_ikey(fp, buf_slice(&p->largest));
	fputc('\n', fp);
}

/* Dumps the data blocks the index names; returns the number of problems. */
static int dump_data(struct lsm_env *env, struct env_rfile *f,
		     const char *name, struct slice index, uint64_t index_off,
		     uint64_t data_end, FILE *fp)
{
	struct block_iter ix, data;
	struct buf block = BUF_INIT;
	int problems = 0;
	uint64_t n = 0;
	block_iter_init_empty(&ix);
	block_iter_init_empty(&data);
	if (block_iter_init(&ix, index.data, index.len, name, index_off)) {
		fprintf(fp, "index block: CORRUPT: bad trailer\n");
		problems++;
		goto out;
	}
	for (iter_seek_first(&ix.base); iter_valid(&ix.base);
	     iter_next(&ix.base), n++) {
		struct sst_handle h;
		struct slice hv = iter_value(&ix.base);
		if (!sst_handle_decode(hv.data, hv.data + hv.len, &h)) {
			fprintf(fp, "data block %" PRIu64 ": CORRUPT: bad handle "
				    "in the index\n", n);
			problems++;
			continue;
		}
		char what[64];
		snprintf(what, sizeof what, "data block %" PRIu64, n);
		if (dump_block(env, f, name, what, h, data_end, &block, fp)) {
			problems++;
			continue;
		}
		if (block_iter_init(&data, block.data, block.len, name,
				    h.offset)) {
			fprintf(fp, "  CORRUPT: bad block trailer\n");
			problems++;
			continue;
		}
		for (iter_seek_first(&data.base); iter_valid(&data.base);
		     iter_next(&data.base)) {
			fprintf(fp, "  ");
			put_ikey(fp, iter_key(&data.base));
			fprintf(fp, " value_len %zu\n",
				iter_value(&data.base).len);
		}
		if (iter_status(&data.base)) {
			fprintf(fp, "  CORRUPT: undecodable entry\n");
			problems++;
		}
		fprintf(fp, "  separator ");
		put_ikey(fp, iter_key(&ix.base));
		fputc('\n', fp);
	}
	if (iter_status(&ix.base)) {
		fprintf(fp, "index block: CORRUPT: undecodable entry\n");
		problems++;
	}
out:
	block_iter_release(&ix);
	block_iter_release(&data);
	buf_release(&block);
	return problems;
}

int sst_dump(struct lsm_env *env, const char *path, FILE *fp)
{
	const char *name = sst_basename(path);
	struct env_rfile *f;
	struct sst_footer ft;
	struct buf index = BUF_INIT, block = BUF_INIT;
	uint64_t size;
	int problems = 0;
	int rc = env->new_rfile(env, path, &f);
	if (rc)
		return rc;
	if ((rc = env->rfile_size(f, &size)))
		goto out;
	fprintf(fp, "sstable '%s': %" PRIu64 " bytes\n", name, size);
	if ((rc = sst_read_footer(env, f, name, size, &ft))) {
		if (rc == -EIO)
			fprintf(fp, "footer: CORRUPT (bad magic, checksum, "
				    "version or size)\n");
		goto out;
	}
	uint64_t meta_end = size - SST_FOOTER_SIZE;
	bool has_filter = ft.filter.offset || ft.filter.size;
	fprintf(fp, "footer at offset %" PRIu64 ": version %u, crc ok\n",
		meta_end, ft.version);

	if (dump_block(env, f, name, "properties block", ft.props, meta_end,
		       &block, fp) == 0) {
		struct sst_props p;
		const char *why = NULL;
		rc = sst_props_decode(buf_slice(&block), &p, &why);
		if (rc == -EIO) {
			fprintf(fp, "  CORRUPT: %s\n", why);
			problems++;
		} else if (rc) {
			goto out;
		} else {
			dump_props(&p, fp);
			sst_props_release(&p);
		}
	} else {
		problems++;
	}
	if (!has_filter) {
		fprintf(fp, "filter block: none\n");
	} else if (dump_block(env, f, name, "filter block", ft.filter,
			      meta_end, &block, fp) == 0) {
		if (block.len >= 2)
			fprintf(fp, "  %zu bits, %u probes\n",
				(block.len - 1) * 8,
				(unsigned)(unsigned char)block.data[block.len - 1]);
	} else {
		problems++;
	}
	if (dump_block(env, f, name, "index block", ft.index, meta_end, &index,
		       fp) == 0)
		problems += dump_data(env, f, name, buf_slice(&index),
				      ft.index.offset,
				      has_filter ? ft.filter.offset
						 : ft.index.offset,
				      fp);
	else
		problems++;
	rc = 0;
out:
	env->rfile_close(f);
	buf_release(&index);
	buf_release(&block);
	if (rc)
		return rc;
	if (problems)
		fprintf(fp, "%d problem(s) found\n", problems);
	return problems ? -EIO : 0;
}
