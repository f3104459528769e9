/* batch.c - write batches in their WAL form; see batch.h. */
#include "config.h"
#include "batch.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"

static uint32_t rep_count(const struct buf *rep)
{
	return decode_fixed32(rep->data + 8);
}

static void rep_set_count(struct buf *rep, uint32_t n)
{
	encode_fixed32(rep->data + 8, n);
}

int lsm_batch_new(struct lsm_batch **out)
{
	struct lsm_batch *b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	static const char zero[BATCH_HEADER_LEN];
	if (buf_append(&b->rep, zero, sizeof zero)) {
		free(b);
		return -ENOMEM;
	}
	*out = b;
	return 0;
}

static int batch_add(struct lsm_batch *b, enum entry_type type,
		     const void *key, size_t klen, const void *val, size_t vlen)
{
	if ((uint64_t)klen > UINT32_MAX || (uint64_t)vlen > UINT32_MAX)
		return -EINVAL;
	uint32_t count = rep_count(&b->rep);
	if (count == UINT32_MAX)
		return -EINVAL;
	uint64_t need = 1 + (uint64_t)varint_length(klen) + klen;
	if (type == TYPE_VALUE)
		need += (uint64_t)varint_length(vlen) + vlen;
	if (b->rep.len > BATCH_MAX_SIZE || need > BATCH_MAX_SIZE - b->rep.len)
		return -EINVAL;
	int rc = buf_reserve(&b->rep, (size_t)need);
	if (rc)
		return rc;
	/* cannot fail now: the room is reserved */
	buf_append_byte(&b->rep, (uint8_t)type);
	buf_put_lenprefixed(&b->rep, key, klen);
	if (type == TYPE_VALUE)
		buf_put_lenprefixed(&b->rep, val, vlen);
	rep_set_count(&b->rep, count + 1);
	return 0;
}

int lsm_batch_put(struct lsm_batch *b, const void *key, size_t klen,
		  const void *val, size_t vlen)
{
	return batch_add(b, TYPE_VALUE, key, klen, val, vlen);
}

int lsm_batch_delete(struct lsm_batch *b, const void *key, size_t klen)
{
	return batch_add(b, TYPE_DELETE, key, klen, NULL, 0);
}

void lsm_batch_clear(struct lsm_batch *b)
{
	b->rep.len = BATCH_HEADER_LEN;
	memset(b->rep.data, 0, BATCH_HEADER_LEN);
}

uint32_t lsm_batch_count(const struct lsm_batch *b)
{
	return rep_count(&b->rep);
}

void lsm_batch_free(struct lsm_batch *b)
{
	if (!b)
		return;
	buf_release(&b->rep);
	free(b);
}

void batch_set_sequence(struct lsm_batch *b, uint64_t seq)
{
	encode_fixed64(b->rep.data, seq);
}

uint64_t batch_sequence(const struct lsm_batch *b)
{
	return decode_fixed64(b->rep.data);
}

int batch_append(struct lsm_batch *dst, const struct lsm_batch *src)
{
	assert(src->rep.len >= BATCH_HEADER_LEN);
	uint32_t dn = rep_count(&dst->rep), sn = rep_count(&src->rep);
	size_t n = src->rep.len - BATCH_HEADER_LEN;
	if (sn > UINT32_MAX - dn || dst->rep.len > BATCH_MAX_SIZE ||
	    n > BATCH_MAX_SIZE - dst->rep.len)
		return -EINVAL;
	int rc = buf_reserve(&dst->rep, n);
	if (rc)
		return rc;
	/* src->rep.data is read after the reserve: src may be dst */
	buf_append(&dst->rep, src->rep.data + BATCH_HEADER_LEN, n);
	rep_set_count(&dst->rep, dn + sn);
	return 0;
}

int batch_set_rep(struct lsm_batch *b, struct slice rep)
{
	if (rep.len < BATCH_HEADER_LEN)
		return -EIO;
	return buf_set(&b->rep, rep.data, rep.len);
}

int batch_iterate(const struct lsm_batch *b, batch_visit_fn fn, void *ctx)
{
	if (b->rep.len < BATCH_HEADER_LEN)
		return -EIO;
	const char *p = b->rep.data + BATCH_HEADER_LEN;
	const char *end = b->rep.data + b->rep.len;
	uint64_t seq = batch_sequence(b);
	uint32_t count = rep_count(&b->rep);
	if (count > 0 && (seq > SEQ_MAX || count - 1 > SEQ_MAX - seq))
		return -EIO;

	for (uint32_t i = 0; i < count; i++) {
		struct slice key = { "", 0 }, value = { "", 0 };
		if (p == end)
			return -EIO; /* fewer entries than count */
		uint8_t t = (uint8_t)*p++;
		if (t != TYPE_VALUE && t != TYPE_DELETE)
			return -EIO;
		p = decode_lenprefixed(p, end, &key.data, &key.len);
		if (p && t == TYPE_VALUE)
			p = decode_lenprefixed(p, end, &value.data, &value.len);
		if (!p)
			return -EIO;
		if (fn) {
			int rc = fn(ctx, seq + i, (enum entry_type)t, key, value);
			if (rc)
				return rc;
		}
	}
	return p == end ? 0 : -EIO; /* more entries than count */
}

size_t batch_size(const struct lsm_batch *b)
{
	return b->rep.len;
}
