/*
 * dbformat.h - internal keys: how a user key, a sequence number and an entry
 * type are packed into the byte strings that memtables and SSTables sort.
 *
 *   internal key = user_key || fixed64_le(seq << 8 | type)
 *
 * Order: user key ascending (memcmp), then sequence descending, then type
 * descending, so the newest version of a key comes first. A lookup for
 * (key, snapshot seq) seeks to user_key || (seq << 8 | TYPE_SEEK) and finds
 * the newest entry whose sequence is <= seq.
 *
 * Sequence numbers are 56 bits, assigned one per entry in write order and
 * never reused. Type values are on disk: never renumber them.
 */
#ifndef LSM_DBFORMAT_H
#define LSM_DBFORMAT_H

#include <stdint.h>

#include "buf.h"
#include "coding.h"
#include "slice.h"

enum entry_type {
	TYPE_DELETE = 0,
	TYPE_VALUE = 1,
};
#define TYPE_SEEK TYPE_VALUE /* the highest type: sorts first for a seq */

#define SEQ_MAX ((UINT64_C(1) << 56) - 1)

/* Results of point lookups in a memtable, table or version (positive so
 * they never collide with negative errnos). */
enum lookup_result {
	LOOKUP_NOT_FOUND = 0, /* nothing about this key here: look deeper */
	LOOKUP_FOUND = 1,     /* a value; the caller got a malloc()ed copy */
	LOOKUP_DELETED = 2,   /* a tombstone: the key is absent, stop */
};

static inline uint64_t ikey_pack(uint64_t seq, enum entry_type t)
{
	return (seq << 8) | (uint64_t)t;
}

/* Appends user_key || trailer to b. */
static inline int ikey_append(struct buf *b, const void *ukey, size_t n,
			      uint64_t seq, enum entry_type t)
{
	int rc = buf_reserve(b, n + 8);
	if (rc)
		return rc;
	buf_append(b, ukey, n);
	return buf_put_fixed64(b, ikey_pack(seq, t));
}

/* The parts of a well-formed internal key (len >= 8; callers check). */
static inline struct slice ikey_user(struct slice ik)
{
	return slice_make(ik.data, ik.len - 8);
}

static inline uint64_t ikey_seq(struct slice ik)
{
	return decode_fixed64(ik.data + ik.len - 8) >> 8;
}

static inline enum entry_type ikey_type(struct slice ik)
{
	return (enum entry_type)(decode_fixed64(ik.data + ik.len - 8) & 0xff);
}

/* Internal key order; see the top of this file. */
static inline int ikey_cmp(struct slice a, struct slice b)
{
	int c = slice_cmp(ikey_user(a), ikey_user(b));
	if (c)
		return c;
	uint64_t ta = decode_fixed64(a.data + a.len - 8);
	uint64_t tb = decode_fixed64(b.data + b.len - 8);
	return (ta < tb) - (ta > tb);
}

#endif
