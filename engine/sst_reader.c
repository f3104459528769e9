/* sst_reader.c - reading SSTables; see sst_reader.h and sst_format.h. */
#include "config.h"
#include "sst_reader.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <lz4.h>
#include <string.h>
#include <zstd.h>

#include "block_cache.h"
#include "block_iter.h"
#include "bloom.h"
#include "crc32c.h"
#include "dbformat.h"
#include "env.h"
#include "log.h"
#include "map_guard.h"

struct sst_reader {
	struct lsm_env *env;
	struct env_rfile *file;
	char *name; /* basename, for log lines */
	uint64_t cache_id;
	struct block_cache *cache;     /* borrowed; may be NULL */
	struct sst_counters *counters; /* borrowed; may be NULL */
	uint64_t file_size;
	uint64_t
		data_end; /* data blocks (with trailers) lie in [0, data_end) */
	struct sst_footer footer;
	struct sst_props props;
	struct buf index;  /* raw index block */
	struct buf filter; /* empty: no filter */
	/* NULL, or the file mapped (sst_reader_map): point reads and seeks
	 * copy their blocks from here, scans still read them with pread */
	const char *map;
	size_t map_len;
};

/* A decoded data block, owned by the cache or by one block_ref: one
 * allocation, the contents right after the length. */
struct sst_block {
	size_t len;
	char data[];
};

/* A data block in use: pinned in the cache, or owned when there is none. */
struct block_ref {
	struct block_cache_handle *handle;
	struct sst_block *owned;
	const char *data;
	size_t size;
};

const char *sst_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static int corrupt(const char *name, uint64_t off, const char *why)
{
	lsm_log("corrupt block in '%s' at offset %llu: %s", name,
		(unsigned long long)off, why);
	return -EIO;
}

static void count(uint64_t *ctr, uint64_t n)
{
	__atomic_add_fetch(ctr, n, __ATOMIC_RELAXED);
}

int sst_read_footer(struct lsm_env *env, struct env_rfile *f, const char *name,
		    uint64_t file_size, struct sst_footer *out)
{
	char p[SST_FOOTER_SIZE];
	size_t got;
	if (file_size < SST_FOOTER_SIZE) {
		lsm_log("corrupt table '%s' at offset 0: %llu bytes is too short "
			"for a footer",
			name, (unsigned long long)file_size);
		return -EIO;
	}
	uint64_t off = file_size - SST_FOOTER_SIZE;
	int rc = env->rfile_read(f, off, p, sizeof p, &got);
	if (rc)
		return rc;
	if (got != sizeof p) {
		lsm_log("corrupt table '%s' at offset %llu: truncated footer",
			name, (unsigned long long)off);
		return -EIO;
	}
	const char *why = NULL;
	if (decode_fixed64(p + 56) != SST_MAGIC)
		why = "bad magic number (not an sstable, or truncated)";
	else if (crc32c_unmask(decode_fixed32(p + 52)) != crc32c(p, 52))
		why = "footer checksum mismatch";
	else if (decode_fixed32(p + 48) != SST_FORMAT_VERSION)
		why = "unsupported format version";
	if (why) {
		lsm_log("corrupt footer in '%s' at offset %llu: %s", name,
			(unsigned long long)off, why);
		return -EIO;
	}
	out->filter.offset = decode_fixed64(p);
	out->filter.size = decode_fixed64(p + 8);
	out->index.offset = decode_fixed64(p + 16);
	out->index.size = decode_fixed64(p + 24);
	out->props.offset = decode_fixed64(p + 32);
	out->props.size = decode_fixed64(p + 40);
	out->version = decode_fixed32(p + 48);
	return 0;
}

/*
 * Per-thread read state. Creating a zstd context per block costs more than
 * decompressing a 4 KiB block, and so did the mallocs of the old read path
 * (a buffer for the stored bytes, a decompressed copy, the lookup key and
 * the key buffers of two block iterators, per block read). A thread keeps
 * them here and reuses them; they are freed when it exits.
 */
struct read_ctx {
	ZSTD_DCtx *dctx;
	struct buf raw;    /* stored bytes of the block being read */
	struct buf target; /* sst_reader_get's lookup key */
	/* sst_reader_get's iterators: only their key buffers live on
	 * between calls (block_iter_init resets everything else) */
	struct block_iter index, data;
};

/* Stored bytes above this are not kept in raw after a read. */
#define READ_CTX_KEEP (256u << 10)

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static bool ctx_key_ok;

static void ctx_free(void *v)
{
	struct read_ctx *c = v;
	ZSTD_freeDCtx(c->dctx);
	buf_release(&c->raw);
	buf_release(&c->target);
	block_iter_release(&c->index);
	block_iter_release(&c->data);
	free(c);
}

static void ctx_key_init(void)
{
	ctx_key_ok = pthread_key_create(&ctx_key, ctx_free) == 0;
}

/* The calling thread's read state, or NULL when out of memory. */
static struct read_ctx *thread_ctx(void)
{
	pthread_once(&ctx_once, ctx_key_init);
	if (!ctx_key_ok)
		return NULL;
	struct read_ctx *c = pthread_getspecific(ctx_key);
	if (c)
		return c;
	if (!(c = calloc(1, sizeof *c)))
		return NULL;
	block_iter_init_empty(&c->index);
	block_iter_init_empty(&c->data);
	if (!(c->dctx = ZSTD_createDCtx()) || pthread_setspecific(ctx_key, c)) {
		ctx_free(c);
		return NULL;
	}
	return c;
}

/* Checks the stored block at p (h.size bytes of contents, then the
 * trailer): its crc, its compression type (into *type) and, compressed,
 * the size it decompresses to (into *raw; h.size otherwise). */
static int check_block(const char *p, struct sst_handle h, uint8_t *type,
		       size_t *raw, const char **why)
{
	uint32_t want = crc32c_unmask(decode_fixed32(p + h.size + 1));
	if (crc32c(p, (size_t)h.size + 1) != want) {
		*why = "checksum mismatch";
		return -EIO;
	}
	*type = (uint8_t)p[h.size];
	if (*type == SST_COMPRESS_NONE) {
		*raw = (size_t)h.size;
		return 0;
	}
	if (*type == SST_COMPRESS_LZ4) {
		uint32_t n;
		if (!decode_varint32(p, p + h.size, &n) ||
		    n > LZ4_MAX_INPUT_SIZE) {
			*why = "bad lz4 block header";
			return -EIO;
		}
		*raw = n;
		return 0;
	}
	if (*type != SST_COMPRESS_ZSTD) {
		*why = "unknown compression type";
		return -EIO;
	}
	unsigned long long n = ZSTD_getFrameContentSize(p, (size_t)h.size);
	if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN ||
	    n > SST_MAX_BLOCK_SIZE) {
		*why = "bad zstd frame header";
		return -EIO;
	}
	*raw = (size_t)n;
	return 0;
}

/* Decompresses the block at p (size stored bytes, of a type check_block()
 * accepted) into exactly raw bytes at dst; d may be NULL (a one-off zstd
 * context). */
static int decompress(uint8_t type, ZSTD_DCtx *d, char *dst, size_t raw,
		      const char *p, size_t size, const char **why)
{
	if (type == SST_COMPRESS_LZ4) {
		uint32_t n;
		const char *q = decode_varint32(p, p + size, &n);
		int r = LZ4_decompress_safe(q, dst, (int)(size - (size_t)(q - p)),
					    (int)raw);
		if (r < 0 || (size_t)r != raw) {
			*why = "lz4 decompression failed";
			return -EIO;
		}
		return 0;
	}
	size_t r = d ? ZSTD_decompressDCtx(d, dst, raw, p, size)
		     : ZSTD_decompress(dst, raw, p, size);
	if (ZSTD_isError(r) || r != raw) {
		*why = "zstd decompression failed";
		return -EIO;
	}
	return 0;
}

/* Checks that block h (contents and trailer) ends at or before limit and
 * makes room for it in out; *n is its stored size. */
static int stored_span(struct sst_handle h, uint64_t limit, struct buf *out,
		       size_t *n, const char **why)
{
	if (h.size > SST_MAX_BLOCK_SIZE || h.offset > limit ||
	    limit - h.offset < h.size + SST_BLOCK_TRAILER_SIZE) {
		*why = "block handle out of range";
		return -EIO;
	}
	*n = (size_t)h.size + SST_BLOCK_TRAILER_SIZE;
	buf_clear(out);
	return buf_reserve(out, *n);
}

/* Reads the stored bytes of block h (contents and trailer) into out. */
static int read_stored(struct lsm_env *env, struct env_rfile *f,
		       struct sst_handle h, uint64_t limit, struct buf *out,
		       const char **why)
{
	size_t n, got;
	int rc = stored_span(h, limit, out, &n, why);
	if (rc)
		return rc;
	if ((rc = env->rfile_read(f, h.offset, out->data, n, &got)))
		return rc;
	if (got != n) {
		*why = "truncated block";
		return -EIO;
	}
	out->len = n;
	return 0;
}

/* read_stored() from r's mapping: no system call, and a page that cannot
 * be read is -EIO (map_guard.h) rather than the end of the process. */
static int read_mapped(const struct sst_reader *r, struct sst_handle h,
		       struct buf *out, const char **why)
{
	size_t n;
	uint64_t limit = r->data_end < r->map_len ? r->data_end : r->map_len;
	int rc = stored_span(h, limit, out, &n, why);
	if (rc)
		return rc;
	if ((rc = map_guard_copy(out->data, r->map + h.offset, n))) {
		*why = "mapped page unreadable (file truncated or I/O error)";
		return rc;
	}
	out->len = n;
	return 0;
}

/* sst_read_block() without the log line. */
static int read_block(struct lsm_env *env, struct env_rfile *f,
		      struct sst_handle h, uint64_t limit, struct buf *out,
		      uint8_t *type, const char **why)
{
	uint8_t t;
	size_t raw;
	int rc = read_stored(env, f, h, limit, out, why);
	if (rc || (rc = check_block(out->data, h, &t, &raw, why)))
		return rc;
	if (type)
		*type = t;
	if (t == SST_COMPRESS_NONE) {
		out->len = (size_t)h.size;
		return 0;
	}
	char *dst = malloc(raw ? raw : 1);
	if (!dst)
		return -ENOMEM;
	struct read_ctx *c = thread_ctx();
	if ((rc = decompress(t, c ? c->dctx : NULL, dst, raw, out->data,
			     (size_t)h.size, why))) {
		free(dst);
		return rc;
	}
	free(out->data);
	out->data = dst;
	out->len = out->cap = raw;
	return 0;
}

int sst_read_block(struct lsm_env *env, struct env_rfile *f, const char *name,
		   struct sst_handle h, uint64_t limit, struct buf *out,
		   uint8_t *type, const char **why)
{
	const char *w = NULL;
	int rc = read_block(env, f, h, limit, out, type, &w);
	if (rc == -EIO)
		corrupt(name, h.offset, w);
	if (why)
		*why = w;
	return rc;
}

static int get_u64(const char *p, size_t len, uint64_t *v)
{
	const char *end = decode_varint64(p, p + len, v);
	return end == p + len ? 0 : -EIO;
}

int sst_props_decode(struct slice data, struct sst_props *out, const char **why)
{
	memset(out, 0, sizeof *out);
	const char *p = data.data, *limit = data.data + data.len;
	uint32_t seen = 0; /* bit per known tag */
	while (p < limit) {
		uint32_t tag;
		const char *v;
		size_t len;
		if (!(p = decode_varint32(p, limit, &tag)) ||
		    !(p = decode_lenprefixed(p, limit, &v, &len))) {
			*why = "malformed properties record";
			goto bad;
		}
		uint64_t x = 0;
		int rc = 0;
		bool is_key =
			tag == SST_PROP_SMALLEST || tag == SST_PROP_LARGEST;
		if (tag >= SST_PROP_ENTRIES && tag <= SST_PROP_CREATED_UNIX &&
		    !is_key)
			rc = get_u64(v, len, &x);
		if (rc) {
			*why = "malformed properties value";
			goto bad;
		}
		if (tag < 32)
			seen |= UINT32_C(1) << tag;
		switch (tag) {
		case SST_PROP_ENTRIES:
			out->entries = x;
			break;
		case SST_PROP_TOMBSTONES:
			out->tombstones = x;
			break;
		case SST_PROP_RAW_KEY_BYTES:
			out->raw_key_bytes = x;
			break;
		case SST_PROP_RAW_VALUE_BYTES:
			out->raw_value_bytes = x;
			break;
		case SST_PROP_DATA_BLOCKS:
			out->data_blocks = x;
			break;
		case SST_PROP_RAW_DATA_BYTES:
			out->raw_data_bytes = x;
			break;
		case SST_PROP_STORED_DATA_BYTES:
			out->stored_data_bytes = x;
			break;
		case SST_PROP_MIN_SEQ:
			out->min_seq = x;
			break;
		case SST_PROP_MAX_SEQ:
			out->max_seq = x;
			break;
		case SST_PROP_BLOOM_BITS:
			out->bloom_bits_per_key = (uint32_t)x;
			break;
		case SST_PROP_COMPRESSION:
			out->compression = (uint32_t)x;
			break;
		case SST_PROP_REASON:
			out->reason = (uint32_t)x;
			break;
		case SST_PROP_CREATED_UNIX:
			out->created_unix = x;
			break;
		case SST_PROP_SMALLEST:
			rc = buf_set(&out->smallest, v, len);
			break;
		case SST_PROP_LARGEST:
			rc = buf_set(&out->largest, v, len);
			break;
		default:
			break; /* a newer writer's property */
		}
		if (rc) {
			sst_props_release(out);
			return rc;
		}
	}
	uint32_t need = 0;
	for (int t = SST_PROP_ENTRIES; t <= SST_PROP_CREATED_UNIX; t++)
		need |= UINT32_C(1) << t;
	if ((seen & need) != need) {
		*why = "missing property";
		goto bad;
	}
	bool empty = out->entries == 0;
	if ((empty && (out->smallest.len || out->largest.len)) ||
	    (!empty && (out->smallest.len < 8 || out->largest.len < 8))) {
		*why = "bad smallest/largest key";
		goto bad;
	}
	return 0;
bad:
	sst_props_release(out);
	return -EIO;
}

int sst_reader_open(struct lsm_env *env, const char *path, uint64_t number,
		    struct block_cache *cache, struct sst_counters *counters,
		    struct sst_reader **out)
{
	struct sst_reader *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	int rc = -ENOMEM;
	r->env = env;
	r->cache = cache;
	r->counters = counters;
	if (!(r->name = strdup(sst_basename(path))))
		goto fail;
	if ((rc = env->new_rfile(env, path, &r->file)))
		goto fail;
	if ((rc = env->rfile_size(r->file, &r->file_size)) ||
	    (rc = sst_read_footer(env, r->file, r->name, r->file_size,
				  &r->footer)))
		goto fail;
	const struct sst_footer *f = &r->footer;
	uint64_t meta_end = r->file_size - SST_FOOTER_SIZE;
	bool has_filter = f->filter.offset || f->filter.size;
	r->data_end = has_filter ? f->filter.offset : f->index.offset;
	struct buf props = BUF_INIT;
	const char *why = NULL;
	rc = sst_read_block(env, r->file, r->name, f->props, meta_end, &props,
			    NULL, NULL);
	if (!rc &&
	    (rc = sst_props_decode(buf_slice(&props), &r->props, &why)) == -EIO)
		corrupt(r->name, f->props.offset, why);
	buf_release(&props);
	if (rc)
		goto fail;
	r->props.file_size = r->file_size;
	if ((rc = sst_read_block(env, r->file, r->name, f->index, meta_end,
				 &r->index, NULL, NULL)))
		goto fail;
	if (has_filter &&
	    (rc = sst_read_block(env, r->file, r->name, f->filter, meta_end,
				 &r->filter, NULL, NULL)))
		goto fail;
	if (has_filter && r->filter.len < 2) {
		rc = corrupt(r->name, f->filter.offset, "filter too short");
		goto fail;
	}
	struct block_iter check;
	block_iter_init_empty(&check);
	rc = block_iter_init(&check, r->index.data, r->index.len, r->name,
			     f->index.offset);
	block_iter_release(&check);
	if (rc)
		goto fail;
	if (counters) {
		uint64_t n = f->props.size + f->index.size + f->filter.size;
		count(&counters->blocks_read, has_filter ? 3 : 2);
		count(&counters->bytes_read,
		      n + (has_filter ? 3 : 2) * SST_BLOCK_TRAILER_SIZE);
	}
	if (cache)
		r->cache_id = number ? number : block_cache_new_id(cache);
	*out = r;
	return 0;
fail:
	sst_reader_free(r);
	return rc;
}

void sst_reader_map(struct sst_reader *r)
{
	if (r->env->rfile_map && !r->map &&
	    r->env->rfile_map(r->file, &r->map, &r->map_len))
		r->map = NULL; /* point reads stay preads */
}

void sst_reader_free(struct sst_reader *r)
{
	if (!r)
		return;
	if (r->file)
		r->env->rfile_close(r->file);
	sst_props_release(&r->props);
	buf_release(&r->index);
	buf_release(&r->filter);
	free(r->name);
	free(r);
}

const struct sst_props *sst_reader_props(const struct sst_reader *r)
{
	return &r->props;
}

static void block_delete(void *v)
{
	free(v);
}

static void block_ref_release(struct sst_reader *r, struct block_ref *ref)
{
	if (ref->handle)
		block_cache_release(r->cache, ref->handle);
	if (ref->owned)
		block_delete(ref->owned);
	memset(ref, 0, sizeof *ref);
}

/*
 * Reads data block h, through the cache when there is one. A miss reads the
 * stored bytes into the thread's scratch buffer (from the mapping for a
 * random access, when there is one: sst_reader_map) and decompresses (or
 * copies) them straight into the one allocation the cache keeps.
 */
static int read_data_block(struct sst_reader *r, struct sst_handle h,
			   bool random, struct block_ref *ref)
{
	memset(ref, 0, sizeof *ref);
	struct sst_block *b;
	if (r->cache) {
		ref->handle =
			block_cache_lookup(r->cache, r->cache_id, h.offset);
		if (ref->handle) {
			b = block_cache_value(ref->handle);
			ref->data = b->data;
			ref->size = b->len;
			return 0;
		}
	}
	struct read_ctx *c = thread_ctx();
	if (!c)
		return -ENOMEM;
	const char *why = NULL;
	uint8_t type;
	size_t raw;
	int rc = random && r->map
			 ? read_mapped(r, h, &c->raw, &why)
			 : read_stored(r->env, r->file, h, r->data_end, &c->raw,
				       &why);
	if (!rc)
		rc = check_block(c->raw.data, h, &type, &raw, &why);
	if (!rc) {
		if (!(b = malloc(sizeof *b + raw)))
			rc = -ENOMEM;
		else if (type == SST_COMPRESS_NONE)
			memcpy(b->data, c->raw.data, raw);
		else if ((rc = decompress(type, c->dctx, b->data, raw,
					  c->raw.data,
					  (size_t)h.size, &why)))
			free(b);
	}
	if (c->raw.cap > READ_CTX_KEEP)
		buf_release(&c->raw);
	if (rc)
		return rc == -EIO ? corrupt(r->name, h.offset, why) : rc;
	b->len = raw;
	if (r->counters) {
		count(&r->counters->blocks_read, 1);
		count(&r->counters->bytes_read,
		      h.size + SST_BLOCK_TRAILER_SIZE);
	}
	ref->data = b->data;
	ref->size = b->len;
	if (!r->cache) {
		ref->owned = b;
		return 0;
	}
	return block_cache_insert(r->cache, r->cache_id, h.offset, b,
				  b->len + sizeof *b, block_delete,
				  &ref->handle);
}

/* The data block handle stored as the index iterator's current value. */
static int index_handle(struct sst_reader *r, struct block_iter *index,
			struct sst_handle *h)
{
	struct slice v = iter_value(&index->base);
	if (!sst_handle_decode(v.data, v.data + v.len, h))
		return corrupt(r->name, r->footer.index.offset,
			       "bad block handle in index");
	return 0;
}

int sst_reader_get(struct sst_reader *r, struct slice ukey, uint64_t seq,
		   char **val, size_t *vlen)
{
	if (r->filter.len) {
		bool may = bloom_may_contain(buf_slice(&r->filter), ukey);
		if (r->counters) {
			count(&r->counters->bloom_checks, 1);
			if (!may)
				count(&r->counters->bloom_useful, 1);
		}
		if (!may)
			return LOOKUP_NOT_FOUND;
	}
	struct read_ctx *c = thread_ctx();
	if (!c)
		return -ENOMEM;
	struct buf *target = &c->target;
	buf_clear(target);
	int rc = ikey_append(target, ukey.data, ukey.len,
			     seq > SEQ_MAX ? SEQ_MAX : seq, TYPE_SEEK);
	if (rc)
		return rc;
	/* the thread's iterators: sst_reader_get does not nest */
	struct block_iter *index = &c->index, *data = &c->data;
	struct block_ref ref = { 0 };
	rc = block_iter_init(index, r->index.data, r->index.len, r->name,
			     r->footer.index.offset);
	if (rc)
		goto out;
	iter_seek(&index->base, buf_slice(target));
	if (!iter_valid(&index->base)) {
		rc = iter_status(&index->base);
		goto out; /* past the last key (or corrupt) */
	}
	struct sst_handle h;
	if ((rc = index_handle(r, index, &h)) ||
	    (rc = read_data_block(r, h, true, &ref)) ||
	    (rc = block_iter_init(data, ref.data, ref.size, r->name,
				  h.offset)))
		goto out;
	/*
	 * The separator of this block is >= target, so if no entry here is, the
	 * next block starts after a separator whose user key is past ukey:
	 * one block is enough.
	 */
	iter_seek(&data->base, buf_slice(target));
	if (!iter_valid(&data->base)) {
		rc = iter_status(&data->base);
		goto out;
	}
	struct slice k = iter_key(&data->base);
	if (!slice_eq(ikey_user(k), ukey)) {
		rc = LOOKUP_NOT_FOUND;
		goto out;
	}
	if (ikey_type(k) == TYPE_DELETE) {
		rc = LOOKUP_DELETED;
		goto out;
	}
	if (ikey_type(k) != TYPE_VALUE) {
		rc = corrupt(r->name, h.offset, "unknown entry type");
		goto out;
	}
	struct slice v = iter_value(&data->base);
	rc = LOOKUP_FOUND;
	if (!val)
		goto out;
	char *copy = malloc(v.len + 1);
	if (!copy) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(copy, v.data, v.len);
	copy[v.len] = '\0';
	*val = copy;
	if (vlen)
		*vlen = v.len;
out:
	block_ref_release(r, &ref);
	return rc;
}

/* ---- two-level iterator ---- */

struct sst_iter {
	struct iter base;
	struct sst_reader *r;
	struct block_iter index;
	struct block_iter data; /* valid only while have_block */
	struct block_ref ref;   /* the block data points into */
	bool have_block;
	uint64_t block_off;
	int status; /* first error of loading a block; sticky */
};

static void drop_block(struct sst_iter *it)
{
	if (it->have_block) {
		block_ref_release(it->r, &it->ref);
		it->have_block = false;
	}
}

static void fail(struct sst_iter *it, int err)
{
	if (!it->status)
		it->status = err;
	drop_block(it);
}

/* Loads the block the index iterator is at, keeping it if current. A
 * seek's block is a random access, read like a point read's (through the
 * mapping, when there is one); the blocks a scan or a compaction walks
 * into come by pread (sst_reader_map() says why). */
static bool load_block(struct sst_iter *it, bool random)
{
	struct sst_handle h;
	if (!iter_valid(&it->index.base)) {
		if (iter_status(&it->index.base))
			fail(it, iter_status(&it->index.base));
		drop_block(it);
		return false;
	}
	int rc = index_handle(it->r, &it->index, &h);
	if (rc) {
		fail(it, rc);
		return false;
	}
	if (it->have_block && it->block_off == h.offset)
		return true;
	drop_block(it);
	if ((rc = read_data_block(it->r, h, random, &it->ref))) {
		fail(it, rc);
		return false;
	}
	it->have_block = true;
	it->block_off = h.offset;
	if ((rc = block_iter_init(&it->data, it->ref.data, it->ref.size,
				  it->r->name, h.offset))) {
		fail(it, rc);
		return false;
	}
	return true;
}

/* Checks the data iterator after a move: a decode error fails the whole
 * iterator; true while it is positioned on an entry. */
static bool data_ok(struct sst_iter *it)
{
	if (!it->have_block)
		return false;
	if (iter_status(&it->data.base)) {
		fail(it, iter_status(&it->data.base));
		return false;
	}
	return iter_valid(&it->data.base);
}

static void skip_forward(struct sst_iter *it)
{
	while (!it->status && !data_ok(it)) {
		if (it->status)
			return;
		if (it->have_block)
			iter_next(&it->index.base);
		if (!load_block(it, false))
			return;
		iter_seek_first(&it->data.base);
	}
}

static void skip_backward(struct sst_iter *it)
{
	while (!it->status && !data_ok(it)) {
		if (it->status)
			return;
		if (it->have_block)
			iter_prev(&it->index.base);
		if (!load_block(it, false))
			return;
		iter_seek_last(&it->data.base);
	}
}

static bool si_valid(struct iter *base)
{
	struct sst_iter *it = (struct sst_iter *)base;
	return !it->status && it->have_block && iter_valid(&it->data.base);
}

static void si_seek_first(struct iter *base)
{
	struct sst_iter *it = (struct sst_iter *)base;
	if (it->status)
		return;
	iter_seek_first(&it->index.base);
	if (load_block(it, false))
		iter_seek_first(&it->data.base);
	skip_forward(it);
}

static void si_seek_last(struct iter *base)
{
	struct sst_iter *it = (struct sst_iter *)base;
	if (it->status)
		return;
	iter_seek_last(&it->index.base);
	if (load_block(it, false))
		iter_seek_last(&it->data.base);
	skip_backward(it);
}

static void si_seek(struct iter *base, struct slice target)
{
	struct sst_iter *it = (struct sst_iter *)base;
	if (it->status)
		return;
	iter_seek(&it->index.base, target);
	if (load_block(it, true))
		iter_seek(&it->data.base, target);
	skip_forward(it);
}

static void si_next(struct iter *base)
{
	struct sst_iter *it = (struct sst_iter *)base;
	if (!si_valid(base))
		return;
	iter_next(&it->data.base);
	skip_forward(it);
}

static void si_prev(struct iter *base)
{
	struct sst_iter *it = (struct sst_iter *)base;
	if (!si_valid(base))
		return;
	iter_prev(&it->data.base);
	skip_backward(it);
}

static struct slice si_key(struct iter *base)
{
	return iter_key(&((struct sst_iter *)base)->data.base);
}

static struct slice si_value(struct iter *base)
{
	return iter_value(&((struct sst_iter *)base)->data.base);
}

static int si_status(struct iter *base)
{
	struct sst_iter *it = (struct sst_iter *)base;
	return it->status;
}

static void si_free(struct iter *base)
{
	struct sst_iter *it = (struct sst_iter *)base;
	drop_block(it);
	block_iter_release(&it->data);
	block_iter_release(&it->index);
	free(it);
}

static const struct iter_ops sst_iter_ops = {
	.valid = si_valid,
	.seek_first = si_seek_first,
	.seek_last = si_seek_last,
	.seek = si_seek,
	.next = si_next,
	.prev = si_prev,
	.key = si_key,
	.value = si_value,
	.status = si_status,
	.free = si_free,
};

int sst_reader_iter_new(struct sst_reader *r, struct iter **out)
{
	struct sst_iter *it = calloc(1, sizeof *it);
	if (!it)
		return -ENOMEM;
	it->base.ops = &sst_iter_ops;
	it->r = r;
	block_iter_init_empty(&it->index);
	block_iter_init_empty(&it->data);
	/* the trailer was checked at open: this cannot fail */
	it->status = block_iter_init(&it->index, r->index.data, r->index.len,
				     r->name, r->footer.index.offset);
	*out = &it->base;
	return 0;
}

void sst_reader_parts(const struct sst_reader *r, struct sst_reader_parts *out)
{
	out->env = r->env;
	out->file = r->file;
	out->name = r->name;
	out->footer = r->footer;
	out->data_end = r->data_end;
	out->index = buf_slice(&r->index);
	out->filter = buf_slice(&r->filter);
	out->props = &r->props;
}
