/* sst_builder.c - writes an SSTable; see sst_builder.h and sst_format.h. */
#include "config.h"
#include "sst_builder.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <lz4.h>
#include <zstd.h>

#include "block_builder.h"
#include "bloom.h"
#include "coding.h"
#include "crc32c.h"
#include "dbformat.h"
#include "env.h"
#include "lsm.h"
#include "sst_format.h"

struct sst_builder {
	struct lsm_env *env;
	char *path, *tmp_path;
	struct env_wfile *file; /* NULL once closed */
	size_t block_size;
	int compression; /* enum lsm_compression */
	int level;
	int bloom_bits;
	ZSTD_CCtx *zc; /* NULL without compression */
	struct block_builder data, index;
	struct buf last_key;
	bool pending_index; /* a data block was written; its index entry waits
			     * for the next key to choose a short separator */
	struct sst_handle pending_handle;
	struct buf hashes;  /* uint64_t bloom hashes of distinct user keys */
	struct buf scratch; /* compression output, separators */
	uint64_t offset;    /* bytes written to the file */
	struct sst_props props;
	int err;
	bool finished;
};

void sst_props_release(struct sst_props *p)
{
	buf_release(&p->smallest);
	buf_release(&p->largest);
}

int sst_props_copy(struct sst_props *dst, const struct sst_props *src)
{
	*dst = *src;
	dst->smallest = (struct buf)BUF_INIT;
	dst->largest = (struct buf)BUF_INIT;
	if (buf_set(&dst->smallest, src->smallest.data, src->smallest.len) ||
	    buf_set(&dst->largest, src->largest.data, src->largest.len)) {
		sst_props_release(dst);
		return -ENOMEM;
	}
	return 0;
}

static int set_err(struct sst_builder *b, int err)
{
	if (!b->err)
		b->err = err;
	return b->err;
}

int sst_builder_new(struct lsm_env *env, const struct lsm_options *opt,
		    const char *path, uint32_t reason, struct sst_builder **out)
{
	if (!env || !opt || !path ||
	    (reason != SST_REASON_FLUSH && reason != SST_REASON_COMPACTION))
		return -EINVAL;
	struct sst_builder *b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	int rc = -ENOMEM;
	b->env = env;
	b->block_size = opt->block_size ? opt->block_size : 4096;
	b->compression = opt->compression == LSM_COMPRESSION_ZSTD ||
					 opt->compression == LSM_COMPRESSION_LZ4
				 ? opt->compression
				 : LSM_COMPRESSION_NONE;
	b->level = opt->compression_level;
	b->bloom_bits =
		opt->bloom_bits_per_key > 0 ? opt->bloom_bits_per_key : 0;
	block_builder_init(&b->data, SST_RESTART_INTERVAL);
	/* index entries are few and searched by binary search: restart often */
	block_builder_init(&b->index, 1);
	b->props.bloom_bits_per_key = (uint32_t)b->bloom_bits;
	b->props.compression = (uint32_t)b->compression;
	b->props.reason = reason;
	size_t n = strlen(path);
	if (!(b->path = strdup(path)) || !(b->tmp_path = malloc(n + 5)))
		goto fail;
	memcpy(b->tmp_path, path, n);
	memcpy(b->tmp_path + n, ".tmp", 5);
	if (b->compression == LSM_COMPRESSION_ZSTD &&
	    !(b->zc = ZSTD_createCCtx()))
		goto fail;
	rc = env->new_wfile(env, b->tmp_path, &b->file);
	if (rc)
		goto fail;
	*out = b;
	return 0;
fail:
	ZSTD_freeCCtx(b->zc);
	free(b->tmp_path);
	free(b->path);
	free(b);
	return rc;
}

/* lz4-compresses contents into b->scratch (sst_format.h: the raw size,
 * then one LZ4 block); its size, or 0 when lz4 cannot. */
static size_t compress_lz4(struct sst_builder *b, struct slice contents)
{
	if (contents.len > (size_t)LZ4_MAX_INPUT_SIZE)
		return 0;
	int bound = LZ4_compressBound((int)contents.len);
	char *p = encode_varint32(b->scratch.data, (uint32_t)contents.len);
	size_t head = (size_t)(p - b->scratch.data);
	int n = LZ4_compress_default(contents.data, p, (int)contents.len,
				     bound);
	return n > 0 ? head + (size_t)n : 0;
}

/* Writes contents plus its trailer, compressing when allowed and useful. */
static int write_block(struct sst_builder *b, struct slice contents,
		       bool may_compress, struct sst_handle *h)
{
	uint8_t type = SST_COMPRESS_NONE;
	struct slice stored = contents;
	if (may_compress && b->compression != LSM_COMPRESSION_NONE) {
		bool zstd = b->compression == LSM_COMPRESSION_ZSTD;
		size_t bound = zstd ? ZSTD_compressBound(contents.len)
				    : (size_t)LZ4_COMPRESSBOUND(contents.len) + 5;
		buf_clear(&b->scratch);
		if (buf_reserve(&b->scratch, bound))
			return set_err(b, -ENOMEM);
		size_t n = zstd ? ZSTD_compressCCtx(b->zc, b->scratch.data,
						    bound, contents.data,
						    contents.len, b->level)
				: compress_lz4(b, contents);
		/* keep it raw unless compression saves at least 1/8 */
		if (!(zstd && ZSTD_isError(n)) && n > 0 &&
		    n < contents.len - contents.len / 8) {
			stored = slice_make(b->scratch.data, n);
			type = zstd ? SST_COMPRESS_ZSTD : SST_COMPRESS_LZ4;
		}
	}
	char trailer[SST_BLOCK_TRAILER_SIZE];
	trailer[0] = (char)type;
	uint32_t crc =
		crc32c_extend(crc32c(stored.data, stored.len), trailer, 1);
	encode_fixed32(trailer + 1, crc32c_mask(crc));
	int rc = b->env->wfile_append(b->file, stored.data, stored.len);
	if (!rc)
		rc = b->env->wfile_append(b->file, trailer, sizeof trailer);
	if (rc)
		return set_err(b, rc);
	h->offset = b->offset;
	h->size = stored.len;
	b->offset += stored.len + SST_BLOCK_TRAILER_SIZE;
	return 0;
}

static int flush_data_block(struct sst_builder *b)
{
	struct slice raw;
	int rc = block_builder_finish(&b->data, &raw);
	if (rc)
		return set_err(b, rc);
	rc = write_block(b, raw, true, &b->pending_handle);
	if (rc)
		return rc;
	b->props.data_blocks++;
	b->props.raw_data_bytes += raw.len;
	b->props.stored_data_bytes +=
		b->pending_handle.size + SST_BLOCK_TRAILER_SIZE;
	b->pending_index = true;
	block_builder_reset(&b->data);
	return 0;
}

/* Adds the index entry of the pending block with separator key sep. */
static int add_index_entry(struct sst_builder *b, struct slice sep)
{
	char hv[20];
	char *end = sst_handle_encode(hv, b->pending_handle);
	int rc = block_builder_add(&b->index, sep,
				   slice_make(hv, (size_t)(end - hv)));
	if (rc)
		return set_err(b, rc);
	b->pending_index = false;
	return 0;
}

/*
 * A short internal key k with last <= k < next (LevelDB's
 * FindShortestSeparator on user keys): the common prefix plus one
 * incremented byte, at the highest sequence so it sorts before every real
 * entry of that user key. Falls back to last itself.
 */
static struct slice separator(struct sst_builder *b, struct slice last,
			      struct slice next)
{
	struct slice su = ikey_user(last), nu = ikey_user(next);
	size_t n = su.len < nu.len ? su.len : nu.len, i = 0;
	while (i < n && su.data[i] == nu.data[i])
		i++;
	if (i < n) {
		unsigned char c = (unsigned char)su.data[i];
		if (c < 0xff && c + 1 < (unsigned char)nu.data[i] &&
		    i + 1 < su.len) {
			buf_clear(&b->scratch);
			if (buf_append(&b->scratch, su.data, i + 1))
				return last;
			b->scratch.data[i] = (char)(c + 1);
			if (buf_put_fixed64(&b->scratch,
					    ikey_pack(SEQ_MAX, TYPE_SEEK)))
				return last;
			return buf_slice(&b->scratch);
		}
	}
	return last;
}

/* A short internal key >= last (LevelDB's FindShortSuccessor). */
static struct slice successor(struct sst_builder *b, struct slice last)
{
	struct slice u = ikey_user(last);
	for (size_t i = 0; i + 1 < u.len; i++) {
		unsigned char c = (unsigned char)u.data[i];
		if (c == 0xff)
			continue;
		buf_clear(&b->scratch);
		if (buf_append(&b->scratch, u.data, i + 1) ||
		    buf_put_fixed64(&b->scratch, ikey_pack(SEQ_MAX, TYPE_SEEK)))
			return last;
		b->scratch.data[i] = (char)(c + 1);
		return buf_slice(&b->scratch);
	}
	return last;
}

int sst_builder_add(struct sst_builder *b, struct slice ikey,
		    struct slice value)
{
	if (b->err)
		return b->err;
	if (b->finished || ikey.len < 8 || ikey.len > UINT32_MAX / 2)
		return set_err(b, -EINVAL);
	enum entry_type t = ikey_type(ikey);
	if ((t != TYPE_VALUE && t != TYPE_DELETE) || ikey_seq(ikey) > SEQ_MAX)
		return set_err(b, -EINVAL);
	bool first = b->props.entries == 0;
	if (!first && ikey_cmp(buf_slice(&b->last_key), ikey) >= 0)
		return set_err(b, -EINVAL);
	if (b->pending_index &&
	    add_index_entry(b, separator(b, buf_slice(&b->last_key), ikey)))
		return b->err;
	if (b->bloom_bits &&
	    (first ||
	     !slice_eq(ikey_user(buf_slice(&b->last_key)), ikey_user(ikey)))) {
		uint64_t h = bloom_hash(ikey_user(ikey));
		if (buf_append(&b->hashes, &h, sizeof h))
			return set_err(b, -ENOMEM);
	}
	int rc = block_builder_add(&b->data, ikey, value);
	if (!rc)
		rc = buf_set(&b->last_key, ikey.data, ikey.len);
	if (!rc && first)
		rc = buf_set(&b->props.smallest, ikey.data, ikey.len);
	if (rc)
		return set_err(b, rc);

	uint64_t seq = ikey_seq(ikey);
	if (first || seq < b->props.min_seq)
		b->props.min_seq = seq;
	if (first || seq > b->props.max_seq)
		b->props.max_seq = seq;
	b->props.entries++;
	if (t == TYPE_DELETE)
		b->props.tombstones++;
	b->props.raw_key_bytes += ikey.len;
	b->props.raw_value_bytes += value.len;

	if (block_builder_size_estimate(&b->data) >= b->block_size)
		return flush_data_block(b);
	return 0;
}

uint64_t sst_builder_entries(const struct sst_builder *b)
{
	return b->props.entries;
}

uint64_t sst_builder_file_size(const struct sst_builder *b)
{
	uint64_t open = block_builder_empty(&b->data)
				? 0
				: block_builder_size_estimate(&b->data);
	return b->offset + open;
}

uint64_t sst_builder_raw_size(const struct sst_builder *b)
{
	return b->props.raw_key_bytes + b->props.raw_value_bytes;
}

static int put_prop_u64(struct buf *out, uint32_t tag, uint64_t v)
{
	int rc = buf_put_varint32(out, tag);
	if (!rc)
		rc = buf_put_varint32(out, (uint32_t)varint_length(v));
	if (!rc)
		rc = buf_put_varint64(out, v);
	return rc;
}

static int put_prop_bytes(struct buf *out, uint32_t tag, struct slice v)
{
	int rc = buf_put_varint32(out, tag);
	if (!rc)
		rc = buf_put_lenprefixed(out, v.data, v.len);
	return rc;
}

static int encode_props(const struct sst_props *p, struct buf *out)
{
	int rc = 0;
	rc = rc ?: put_prop_u64(out, SST_PROP_ENTRIES, p->entries);
	rc = rc ?: put_prop_u64(out, SST_PROP_TOMBSTONES, p->tombstones);
	rc = rc ?: put_prop_u64(out, SST_PROP_RAW_KEY_BYTES, p->raw_key_bytes);
	rc = rc
		     ?: put_prop_u64(out, SST_PROP_RAW_VALUE_BYTES,
				     p->raw_value_bytes);
	rc = rc ?: put_prop_u64(out, SST_PROP_DATA_BLOCKS, p->data_blocks);
	rc = rc
		     ?: put_prop_u64(out, SST_PROP_RAW_DATA_BYTES,
				     p->raw_data_bytes);
	rc = rc
		     ?: put_prop_u64(out, SST_PROP_STORED_DATA_BYTES,
				     p->stored_data_bytes);
	rc = rc
		     ?: put_prop_bytes(out, SST_PROP_SMALLEST,
				       buf_slice(&p->smallest));
	rc = rc
		     ?: put_prop_bytes(out, SST_PROP_LARGEST,
				       buf_slice(&p->largest));
	rc = rc ?: put_prop_u64(out, SST_PROP_MIN_SEQ, p->min_seq);
	rc = rc ?: put_prop_u64(out, SST_PROP_MAX_SEQ, p->max_seq);
	rc = rc
		     ?: put_prop_u64(out, SST_PROP_BLOOM_BITS,
				     p->bloom_bits_per_key);
	rc = rc ?: put_prop_u64(out, SST_PROP_COMPRESSION, p->compression);
	rc = rc ?: put_prop_u64(out, SST_PROP_REASON, p->reason);
	rc = rc ?: put_prop_u64(out, SST_PROP_CREATED_UNIX, p->created_unix);
	return rc;
}

static void encode_footer(char *p, const struct sst_footer *f)
{
	encode_fixed64(p, f->filter.offset);
	encode_fixed64(p + 8, f->filter.size);
	encode_fixed64(p + 16, f->index.offset);
	encode_fixed64(p + 24, f->index.size);
	encode_fixed64(p + 32, f->props.offset);
	encode_fixed64(p + 40, f->props.size);
	encode_fixed32(p + 48, f->version);
	encode_fixed32(p + 52, crc32c_mask(crc32c(p, 52)));
	encode_fixed64(p + 56, SST_MAGIC);
}

/* The directory holding path, for sync_dir. */
static int sync_parent(struct lsm_env *env, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return env->sync_dir(env, ".");
	if (slash == path)
		return env->sync_dir(env, "/");
	char *dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	int rc = env->sync_dir(env, dir);
	free(dir);
	return rc;
}

/* Writes everything after the data blocks. */
static int write_tail(struct sst_builder *b)
{
	struct sst_footer f = { .version = SST_FORMAT_VERSION };
	struct buf tmp = BUF_INIT;
	int rc = 0;
	if (!block_builder_empty(&b->data) && (rc = flush_data_block(b)))
		goto out;
	if (b->pending_index &&
	    (rc = add_index_entry(b, successor(b, buf_slice(&b->last_key)))))
		goto out;
	if (b->bloom_bits) {
		rc = bloom_build_hashes(
			(const uint64_t *)(void *)b->hashes.data,
			b->hashes.len / sizeof(uint64_t), b->bloom_bits, &tmp);
		if (rc ||
		    (rc = write_block(b, buf_slice(&tmp), false, &f.filter)))
			goto out;
	}
	struct slice index;
	if ((rc = block_builder_finish(&b->index, &index)) ||
	    (rc = write_block(b, index, false, &f.index)))
		goto out;
	b->props.created_unix = (uint64_t)time(NULL);
	if ((rc = buf_set(&b->props.largest, b->last_key.data,
			  b->last_key.len)))
		goto out;
	buf_clear(&tmp);
	if ((rc = encode_props(&b->props, &tmp)) ||
	    (rc = write_block(b, buf_slice(&tmp), false, &f.props)))
		goto out;
	char footer[SST_FOOTER_SIZE];
	encode_footer(footer, &f);
	if ((rc = b->env->wfile_append(b->file, footer, sizeof footer)))
		goto out;
	b->offset += SST_FOOTER_SIZE;
	b->props.file_size = b->offset;
out:
	buf_release(&tmp);
	return rc ? set_err(b, rc) : 0;
}

int sst_builder_finish(struct sst_builder *b, struct sst_props *props)
{
	if (b->err)
		return b->err;
	if (b->finished)
		return set_err(b, -EINVAL);
	int rc = write_tail(b);
	if (rc)
		return rc;
	rc = b->env->wfile_sync(b->file);
	int crc = b->env->wfile_close(b->file);
	b->file = NULL;
	if (!rc)
		rc = crc;
	if (!rc)
		rc = b->env->rename(b->env, b->tmp_path, b->path);
	if (rc)
		return set_err(b, rc);
	/* renamed: from now on PATH is ours, PATH.tmp is gone */
	b->finished = true;
	if ((rc = sync_parent(b->env, b->path)))
		return set_err(b, rc);
	if (props && (rc = sst_props_copy(props, &b->props)))
		return set_err(b, rc);
	return 0;
}

void sst_builder_free(struct sst_builder *b)
{
	if (!b)
		return;
	if (b->file)
		b->env->wfile_close(b->file);
	if (!b->finished)
		b->env->unlink(b->env, b->tmp_path);
	ZSTD_freeCCtx(b->zc);
	block_builder_release(&b->data);
	block_builder_release(&b->index);
	buf_release(&b->last_key);
	buf_release(&b->hashes);
	buf_release(&b->scratch);
	sst_props_release(&b->props);
	free(b->tmp_path);
	free(b->path);
	free(b);
}
