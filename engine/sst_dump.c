/*
 * sst_dump.c - offline inspection of SSTables, declared in sst_reader.h:
 * sst_dump() (`lsm dump-sst`) prints every block and entry with its checksum
 * verdict and, unlike sst_reader_open(), keeps going past a corrupt block so
 * a damaged table shows everything that can still be read;
 * sst_reader_verify() re-reads an open table from disk and checks every
 * invariant of sst_format.h.
 */
#include "config.h"
#include "sst_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>

#include "block_iter.h"
#include "bloom.h"
#include "dbformat.h"
#include "env.h"

static const char *compress_name(uint8_t t)
{
	switch (t) {
	case SST_COMPRESS_NONE:
		return "none";
	case SST_COMPRESS_ZSTD:
		return "zstd";
	case SST_COMPRESS_LZ4:
		return "lz4";
	default:
		return "unknown";
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
		t == TYPE_VALUE    ? "put"
		: t == TYPE_DELETE ? "del"
				   : "bad-type");
}

/* Reads and describes one block into out. Returns 0, or -EIO (corrupt) or
 * the read's -errno after saying so on fp. */
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
	fprintf(fp,
		"  raw_key_bytes %" PRIu64 "\n  raw_value_bytes %" PRIu64 "\n",
		p->raw_key_bytes, p->raw_value_bytes);
	fprintf(fp,
		"  data_blocks %" PRIu64 "\n  raw_data_bytes %" PRIu64
		"\n  stored_data_bytes %" PRIu64 "\n",
		p->data_blocks, p->raw_data_bytes, p->stored_data_bytes);
	fprintf(fp, "  min_seq %" PRIu64 "\n  max_seq %" PRIu64 "\n",
		p->min_seq, p->max_seq);
	fprintf(fp, "  bloom_bits_per_key %u\n  compression %s\n",
		p->bloom_bits_per_key, compress_name((uint8_t)p->compression));
	fprintf(fp, "  reason %s\n  created_unix %" PRIu64 "\n",
		p->reason == SST_REASON_FLUSH        ? "flush"
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
static int dump_data(struct lsm_env *env, struct env_rfile *f, const char *name,
		     struct slice index, uint64_t index_off, uint64_t data_end,
		     FILE *fp)
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
			fprintf(fp,
				"data block %" PRIu64 ": CORRUPT: bad handle "
				"in the index\n",
				n);
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
	} else if (dump_block(env, f, name, "filter block", ft.filter, meta_end,
			      &block, fp) == 0) {
		if (block.len >= 2)
			fprintf(fp, "  %zu bits, %u probes\n",
				(block.len - 1) * 8,
				(unsigned)(unsigned char)
					block.data[block.len - 1]);
	} else {
		problems++;
	}
	if (dump_block(env, f, name, "index block", ft.index, meta_end, &index,
		       fp) == 0)
		problems += dump_data(
			env, f, name, buf_slice(&index), ft.index.offset,
			has_filter ? ft.filter.offset : ft.index.offset, fp);
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

/* ---- verification ---- */

struct verify {
	struct sst_reader_parts r;
	FILE *report;
	int problems;
};

__attribute__((format(printf, 3, 4))) static void
problem(struct verify *v, uint64_t off, const char *fmt, ...)
{
	v->problems++;
	if (!v->report)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(v->report, "'%s' at offset %llu: ", v->r.name,
		(unsigned long long)off);
	vfprintf(v->report, fmt, ap);
	fputc('\n', v->report);
	va_end(ap);
}

static void check_prop(struct verify *v, const char *what, uint64_t stored,
		       uint64_t actual)
{
	if (stored != actual)
		problem(v, v->r.footer.props.offset,
			"property %s is %llu but the table has %llu", what,
			(unsigned long long)stored, (unsigned long long)actual);
}

/* Checks every entry of one decoded data block against its neighbours, its
 * separator and the filter; accumulates totals into *t. */
static void verify_block(struct verify *v, struct sst_handle h,
			 struct slice data, struct slice sep,
			 const struct buf *prev_sep, struct buf *prev_key,
			 struct sst_props *t)
{
	const struct sst_reader_parts *r = &v->r;
	struct block_iter it;
	block_iter_init_empty(&it);
	if (block_iter_init(&it, data.data, data.len, r->name, h.offset)) {
		problem(v, h.offset, "bad block trailer");
		goto out;
	}
	long n = 0;
	for (iter_seek_first(&it.base); iter_valid(&it.base);
	     iter_next(&it.base), n++) {
		struct slice k = iter_key(&it.base), val = iter_value(&it.base);
		if (prev_key->len && ikey_cmp(buf_slice(prev_key), k) >= 0)
			problem(v, h.offset, "key out of order (entry %ld)", n);
		if (prev_sep->len && ikey_cmp(k, buf_slice(prev_sep)) <= 0)
			problem(v, h.offset,
				"key not after the previous index separator");
		if (ikey_cmp(k, sep) > 0)
			problem(v, h.offset, "key past its index separator");
		enum entry_type type = ikey_type(k);
		if (type != TYPE_VALUE && type != TYPE_DELETE)
			problem(v, h.offset, "unknown entry type %d",
				(int)type);
		if (r->filter.len &&
		    !bloom_may_contain(r->filter, ikey_user(k)))
			problem(v, r->footer.filter.offset,
				"filter does not match a key of the table");
		uint64_t seq = ikey_seq(k);
		if (t->entries == 0 || seq < t->min_seq)
			t->min_seq = seq;
		if (t->entries == 0 || seq > t->max_seq)
			t->max_seq = seq;
		if (t->entries == 0)
			buf_set(&t->smallest, k.data, k.len);
		t->entries++;
		t->tombstones += type == TYPE_DELETE;
		t->raw_key_bytes += k.len;
		t->raw_value_bytes += val.len;
		buf_set(prev_key, k.data, k.len);
	}
	if (iter_status(&it.base))
		problem(v, h.offset, "undecodable entry after %ld entries", n);
	else if (n == 0)
		problem(v, h.offset, "empty data block");
out:
	block_iter_release(&it);
}

int sst_reader_verify(struct sst_reader *reader, FILE *report)
{
	struct verify v = { .report = report };
	sst_reader_parts(reader, &v.r);
	const struct sst_reader_parts *r = &v.r;
	struct sst_props t = { 0 };
	struct buf data = BUF_INIT, prev_key = BUF_INIT, prev_sep = BUF_INIT;
	struct block_iter index;
	uint64_t expect = 0;
	int rc = 0;
	block_iter_init_empty(&index);
	if (block_iter_init(&index, r->index.data, r->index.len, r->name,
			    r->footer.index.offset)) {
		problem(&v, r->footer.index.offset, "bad index block trailer");
		goto props;
	}
	for (iter_seek_first(&index.base); iter_valid(&index.base);
	     iter_next(&index.base)) {
		struct slice sep = iter_key(&index.base);
		struct sst_handle h;
		if (prev_sep.len && ikey_cmp(buf_slice(&prev_sep), sep) >= 0)
			problem(&v, r->footer.index.offset,
				"index keys out of order");
		struct slice hv = iter_value(&index.base);
		if (!sst_handle_decode(hv.data, hv.data + hv.len, &h)) {
			problem(&v, r->footer.index.offset, "bad block handle");
			break;
		}
		if (h.offset != expect)
			problem(&v, h.offset,
				"data block should start at offset %llu",
				(unsigned long long)expect);
		expect = h.offset + h.size + SST_BLOCK_TRAILER_SIZE;
		const char *why = NULL;
		rc = sst_read_block(r->env, r->file, r->name, h, r->data_end,
				    &data, NULL, &why);
		if (rc == -EIO) {
			problem(&v, h.offset, "%s", why);
			rc = 0;
		} else if (rc) {
			goto out;
		} else {
			t.raw_data_bytes += data.len;
			verify_block(&v, h, buf_slice(&data), sep, &prev_sep,
				     &prev_key, &t);
		}
		t.data_blocks++;
		t.stored_data_bytes += h.size + SST_BLOCK_TRAILER_SIZE;
		if (buf_set(&prev_sep, sep.data, sep.len)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (iter_status(&index.base))
		problem(&v, r->footer.index.offset, "undecodable index entry");
	if (expect != r->data_end)
		problem(&v, expect,
			"data blocks end here, meta blocks start at "
			"offset %llu",
			(unsigned long long)r->data_end);
props:
	if (prev_key.len)
		buf_set(&t.largest, prev_key.data, prev_key.len);
	const struct sst_props *p = r->props;
	check_prop(&v, "entries", p->entries, t.entries);
	check_prop(&v, "tombstones", p->tombstones, t.tombstones);
	check_prop(&v, "raw_key_bytes", p->raw_key_bytes, t.raw_key_bytes);
	check_prop(&v, "raw_value_bytes", p->raw_value_bytes,
		   t.raw_value_bytes);
	check_prop(&v, "data_blocks", p->data_blocks, t.data_blocks);
	check_prop(&v, "raw_data_bytes", p->raw_data_bytes, t.raw_data_bytes);
	check_prop(&v, "stored_data_bytes", p->stored_data_bytes,
		   t.stored_data_bytes);
	check_prop(&v, "min_seq", p->min_seq, t.min_seq);
	check_prop(&v, "max_seq", p->max_seq, t.max_seq);
	if (!slice_eq(buf_slice(&p->smallest), buf_slice(&t.smallest)))
		problem(&v, r->footer.props.offset,
			"property smallest is not the first key");
	if (!slice_eq(buf_slice(&p->largest), buf_slice(&t.largest)))
		problem(&v, r->footer.props.offset,
			"property largest is not the last key");
	if (p->bloom_bits_per_key && !r->filter.len)
		problem(&v, r->footer.props.offset,
			"bloom_bits_per_key is %u but there is no filter",
			p->bloom_bits_per_key);
out:
	block_iter_release(&index);
	buf_release(&data);
	buf_release(&prev_key);
	buf_release(&prev_sep);
	sst_props_release(&t);
	if (rc)
		return rc;
	return v.problems ? -EIO : 0;
}
