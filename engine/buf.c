/* buf.c - a growable byte buffer; see buf.h. */
#include "config.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"

int buf_grow(struct buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return 0;
	size_t want = b->len + n;
	if (want < b->len)
		return -ENOMEM;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap * 2 > cap ? cap * 2 : want;
	char *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	int rc = buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	return 0;
}

int buf_append_byte(struct buf *b, uint8_t c)
{
	return buf_append(b, &c, 1);
}

int buf_put_fixed32(struct buf *b, uint32_t v)
{
	char tmp[4];
	encode_fixed32(tmp, v);
	return buf_append(b, tmp, sizeof tmp);
}

int buf_put_fixed64(struct buf *b, uint64_t v)
{
	char tmp[8];
	encode_fixed64(tmp, v);
	return buf_append(b, tmp, sizeof tmp);
}

int buf_put_varint32(struct buf *b, uint32_t v)
{
	char tmp[5];
	return buf_append(b, tmp, (size_t)(encode_varint32(tmp, v) - tmp));
}

int buf_put_varint64(struct buf *b, uint64_t v)
{
	char tmp[10];
	return buf_append(b, tmp, (size_t)(encode_varint64(tmp, v) - tmp));
}

int buf_put_lenprefixed(struct buf *b, const void *data, size_t n)
{
	if (n > UINT32_MAX)
		return -EINVAL;
	int rc = buf_reserve(b, n + 5);
	if (rc)
		return rc;
	buf_put_varint32(b, (uint32_t)n);
	return buf_append(b, data, n);
}

int buf_set(struct buf *b, const void *data, size_t n)
{
	int rc = buf_reserve(b, n > b->len ? n - b->len : 0);
	if (rc)
		return rc;
	if (n)
		memmove(b->data, data, n);
	b->len = n;
	return 0;
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
