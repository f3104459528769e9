/*
 * buf.h - a growable, owned byte buffer.
 *
 * Invariant: data is NULL or a malloc()ed block of cap bytes, len <= cap.
 * A zeroed struct buf is a valid empty buffer. Functions that grow the buffer
 * return 0 or -ENOMEM; on failure the contents are unchanged.
 * Not thread-safe.
 */
#ifndef LSM_BUF_H
#define LSM_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "slice.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* buf_reserve() when the room is not there yet: grows the storage. */
int buf_grow(struct buf *b, size_t n);

/* Makes room for at least n more bytes. Inline because nearly every call
 * (several per key added to a block or a batch) finds the room there. */
static inline int buf_reserve(struct buf *b, size_t n)
{
	return b->cap - b->len >= n ? 0 : buf_grow(b, n);
}

int buf_append(struct buf *b, const void *data, size_t n);

int buf_append_byte(struct buf *b, uint8_t c);
int buf_put_fixed32(struct buf *b, uint32_t v);
int buf_put_fixed64(struct buf *b, uint64_t v);
int buf_put_varint32(struct buf *b, uint32_t v);
int buf_put_varint64(struct buf *b, uint64_t v);
/* varint32 length followed by the bytes */
int buf_put_lenprefixed(struct buf *b, const void *data, size_t n);
/* Replaces the contents with a copy of data. */
int buf_set(struct buf *b, const void *data, size_t n);
static inline void buf_clear(struct buf *b) { b->len = 0; }
static inline struct slice buf_slice(const struct buf *b)
{
	return slice_make(b->data, b->len);
}
/* Frees the storage; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);

#endif
