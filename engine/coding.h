/*
 * coding.h - little-endian fixed-width integers and LEB128 varints, the
 * building blocks of every on-disk format (see wal_format.h, sst_format.h,
 * manifest_format.h).
 *
 * encode_* write into a caller-provided buffer and return the end pointer.
 * decode_varint* read from [p, limit) and return the pointer after the
 * varint, or NULL when it is truncated or too long. All functions are pure.
 */
#ifndef LSM_CODING_H
#define LSM_CODING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void encode_fixed32(char *p, uint32_t v)
{
	unsigned char *u = (unsigned char *)p;
	u[0] = (unsigned char)v;
	u[1] = (unsigned char)(v >> 8);
	u[2] = (unsigned char)(v >> 16);
	u[3] = (unsigned char)(v >> 24);
}

static inline void encode_fixed64(char *p, uint64_t v)
{
	encode_fixed32(p, (uint32_t)v);
	encode_fixed32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t decode_fixed32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] | ((uint32_t)u[1] << 8) | ((uint32_t)u[2] << 16) |
	       ((uint32_t)u[3] << 24);
}

static inline uint64_t decode_fixed64(const char *p)
{
	return (uint64_t)decode_fixed32(p) |
	       ((uint64_t)decode_fixed32(p + 4) << 32);
}

static inline char *encode_varint64(char *p, uint64_t v)
{
	unsigned char *u = (unsigned char *)p;
	while (v >= 0x80) {
		*u++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*u++ = (unsigned char)v;
	return (char *)u;
}

static inline char *encode_varint32(char *p, uint32_t v)
{
	return encode_varint64(p, v);
}

static inline int varint_length(uint64_t v)
{
	int n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline const char *decode_varint64(const char *p, const char *limit,
					  uint64_t *out)
{
	uint64_t result = 0;
	for (unsigned shift = 0; shift <= 63 && p < limit; shift += 7) {
		uint64_t byte = *(const unsigned char *)p++;
		result |= (byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*out = result;
			return p;
		}
	}
	return NULL;
}

static inline const char *decode_varint32(const char *p, const char *limit,
					  uint32_t *out)
{
	uint64_t v;
	p = decode_varint64(p, limit, &v);
	if (!p || v > UINT32_MAX)
		return NULL;
	*out = (uint32_t)v;
	return p;
}

/* Reads a varint32 length and that many bytes into (*data, *len). */
static inline const char *decode_lenprefixed(const char *p, const char *limit,
					     const char **data, size_t *len)
{
	uint32_t n;
	p = decode_varint32(p, limit, &n);
	if (!p || (size_t)(limit - p) < n)
		return NULL;
	*data = p;
	*len = n;
	return p + n;
}

#endif
