/*
 * slice.h - a borrowed view of bytes: a pointer and a length.
 * A slice owns nothing; whoever hands one out says how long it stays valid.
 */
#ifndef LSM_SLICE_H
#define LSM_SLICE_H

#include <stddef.h>
#include <string.h>

struct slice {
	const char *data;
	size_t len;
};

static inline struct slice slice_make(const void *data, size_t len)
{
	struct slice s = { (const char *)data, len };
	return s;
}

/* memcmp order; a proper prefix sorts first. */
static inline int slice_cmp(struct slice a, struct slice b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.data, b.data, n) : 0;
	if (c)
		return c;
	return (a.len > b.len) - (a.len < b.len);
}

static inline int slice_eq(struct slice a, struct slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

#endif
