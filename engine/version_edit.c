/* version_edit.c - building, encoding and decoding version edits; see
 * version_edit.h and manifest_format.h. */
#include "config.h"
#include "version_edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "dbformat.h"
#include "lsm.h"
#include "manifest_format.h"
#include "version.h"

void version_edit_init(struct version_edit *e)
{
	memset(e, 0, sizeof *e);
}

void version_edit_release(struct version_edit *e)
{
	for (size_t i = 0; i < e->nadded; i++)
		file_meta_unref(e->added[i].f);
	for (size_t i = 0; i < e->ncptrs; i++)
		buf_release(&e->cptrs[i].ikey);
	free(e->added);
	free(e->deleted);
	free(e->cptrs);
	version_edit_init(e);
}

void version_edit_set_log_number(struct version_edit *e, uint64_t n)
{
	e->has_log_number = true;
	e->log_number = n;
}

void version_edit_set_next_file_number(struct version_edit *e, uint64_t n)
{
	e->has_next_file_number = true;
	e->next_file_number = n;
}

void version_edit_set_last_sequence(struct version_edit *e, uint64_t s)
{
	e->has_last_sequence = true;
	e->last_sequence = s;
}

/* Makes room for one more element of size sz in *arr. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 4;
	void *p = realloc(*arr, ncap * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

int version_edit_add_file(struct version_edit *e, int level,
			  struct file_meta *f)
{
	if (level < 0 || level >= LSM_NUM_LEVELS)
		return -EINVAL;
	int rc = grow((void **)&e->added, &e->cap_added, e->nadded,
		      sizeof *e->added);
	if (rc)
		return rc;
	e->added[e->nadded].level = level;
	e->added[e->nadded].f = file_meta_ref(f);
	e->nadded++;
	return 0;
}

int version_edit_delete_file(struct version_edit *e, int level, uint64_t number)
{
	if (level < 0 || level >= LSM_NUM_LEVELS)
		return -EINVAL;
	int rc = grow((void **)&e->deleted, &e->cap_deleted, e->ndeleted,
		      sizeof *e->deleted);
	if (rc)
		return rc;
	e->deleted[e->ndeleted].level = level;
	e->deleted[e->ndeleted].number = number;
	e->ndeleted++;
	return 0;
}

int version_edit_set_compact_pointer(struct version_edit *e, int level,
				     struct slice ikey)
{
	if (level < 0 || level >= LSM_NUM_LEVELS)
		return -EINVAL;
	/* one pointer per level: a later setting replaces the earlier one */
	for (size_t i = 0; i < e->ncptrs; i++)
		if (e->cptrs[i].level == level)
			return buf_set(&e->cptrs[i].ikey, ikey.data, ikey.len);
	int rc = grow((void **)&e->cptrs, &e->cap_cptrs, e->ncptrs,
		      sizeof *e->cptrs);
	if (rc)
		return rc;
	struct edit_compact_ptr *c = &e->cptrs[e->ncptrs];
	memset(&c->ikey, 0, sizeof c->ikey);
	c->level = level;
	rc = buf_set(&c->ikey, ikey.data, ikey.len);
	if (rc)
		return rc;
	e->ncptrs++;
	return 0;
}

static int put_file(struct buf *out, int level, const struct file_meta *f)
{
	int rc = 0;
	rc = rc ? rc : buf_put_varint32(out, EDIT_TAG_ADD_FILE);
	rc = rc ? rc : buf_put_varint32(out, (uint32_t)level);
	rc = rc ? rc : buf_put_varint64(out, f->number);
	rc = rc ? rc : buf_put_varint64(out, f->file_size);
	rc = rc ? rc
		: buf_put_lenprefixed(out, f->smallest.data, f->smallest.len);
	rc = rc ? rc
		: buf_put_lenprefixed(out, f->largest.data, f->largest.len);
	rc = rc ? rc : buf_put_varint64(out, f->entries);
	rc = rc ? rc : buf_put_varint64(out, f->tombstones);
	rc = rc ? rc : buf_put_varint64(out, f->min_seq);
	rc = rc ? rc : buf_put_varint64(out, f->max_seq);
	rc = rc ? rc : buf_put_varint64(out, f->created_unix);
	rc = rc ? rc : buf_put_varint32(out, f->reason);
	return rc;
}

int version_edit_encode(const struct version_edit *e, struct buf *out)
{
	int rc = 0;
	if (e->has_log_number) {
		rc = rc ? rc : buf_put_varint32(out, EDIT_TAG_LOG_NUMBER);
		rc = rc ? rc : buf_put_varint64(out, e->log_number);
	}
	if (e->has_next_file_number) {
		rc = rc ? rc : buf_put_varint32(out, EDIT_TAG_NEXT_FILE);
		rc = rc ? rc : buf_put_varint64(out, e->next_file_number);
	}
	if (e->has_last_sequence) {
		rc = rc ? rc : buf_put_varint32(out, EDIT_TAG_LAST_SEQ);
		rc = rc ? rc : buf_put_varint64(out, e->last_sequence);
	}
	for (size_t i = 0; i < e->ncptrs && !rc; i++) {
		const struct edit_compact_ptr *c = &e->cptrs[i];
		rc = rc ? rc : buf_put_varint32(out, EDIT_TAG_COMPACT_PTR);
		rc = rc ? rc : buf_put_varint32(out, (uint32_t)c->level);
		rc = rc ? rc
			: buf_put_lenprefixed(out, c->ikey.data, c->ikey.len);
	}
	for (size_t i = 0; i < e->ndeleted && !rc; i++) {
		rc = rc ? rc : buf_put_varint32(out, EDIT_TAG_DELETE_FILE);
		rc = rc ? rc
			: buf_put_varint32(out, (uint32_t)e->deleted[i].level);
		rc = rc ? rc : buf_put_varint64(out, e->deleted[i].number);
	}
	for (size_t i = 0; i < e->nadded && !rc; i++)
		rc = put_file(out, e->added[i].level, e->added[i].f);
	return rc ? rc : buf_put_varint32(out, EDIT_TAG_END);
}

/* A cursor over the bytes being decoded; p becomes NULL at the first
 * malformed or truncated value and stays NULL. */
struct cursor {
	const char *p, *limit;
};

static uint64_t get_u64(struct cursor *c)
{
	uint64_t v = 0;
	if (c->p)
		c->p = decode_varint64(c->p, c->limit, &v);
	return v;
}

static uint32_t get_u32(struct cursor *c)
{
	uint32_t v = 0;
	if (c->p)
		c->p = decode_varint32(c->p, c->limit, &v);
	return v;
}

static int get_level(struct cursor *c)
{
	uint32_t level = get_u32(c);
	if (level >= LSM_NUM_LEVELS)
		c->p = NULL;
	return (int)level;
}

/* A length-prefixed internal key (at least the 8-byte trailer). */
static struct slice get_ikey(struct cursor *c)
{
	struct slice s = { NULL, 0 };
	if (c->p)
		c->p = decode_lenprefixed(c->p, c->limit, &s.data, &s.len);
	if (c->p && s.len < 8)
		c->p = NULL;
	return s;
}

static int get_file(struct cursor *c, struct version_edit *e)
{
	int level = get_level(c);
	struct file_meta *f;
	int rc = file_meta_new(&f);
	if (rc)
		return rc;
	f->number = get_u64(c);
	f->file_size = get_u64(c);
	struct slice smallest = get_ikey(c);
	struct slice largest = get_ikey(c);
	f->entries = get_u64(c);
	f->tombstones = get_u64(c);
	f->min_seq = get_u64(c);
	f->max_seq = get_u64(c);
	f->created_unix = get_u64(c);
	f->reason = get_u32(c);
	if (!c->p || ikey_cmp(smallest, largest) > 0) {
		rc = -EIO;
		goto out;
	}
	rc = buf_set(&f->smallest, smallest.data, smallest.len);
	if (!rc)
		rc = buf_set(&f->largest, largest.data, largest.len);
	if (!rc)
		rc = version_edit_add_file(e, level, f);
out:
	file_meta_unref(f);
	return rc;
}

int version_edit_decode(struct version_edit *e, struct slice in)
{
	struct cursor c = { in.data, in.data + in.len };
	int rc = 0;

	version_edit_release(e);
	while (!rc) {
		if (c.p == c.limit) {
			rc = -EIO; /* no end tag: truncated */
			break;
		}
		uint32_t tag = get_u32(&c);
		if (!c.p) {
			rc = -EIO;
			break;
		}
		if (tag == EDIT_TAG_END) {
			if (c.p != c.limit)
				rc = -EIO; /* bytes after the end */
			break;
		}
		switch (tag) {
		case EDIT_TAG_LOG_NUMBER:
			version_edit_set_log_number(e, get_u64(&c));
			break;
		case EDIT_TAG_NEXT_FILE:
			version_edit_set_next_file_number(e, get_u64(&c));
			break;
		case EDIT_TAG_LAST_SEQ:
			version_edit_set_last_sequence(e, get_u64(&c));
			break;
		case EDIT_TAG_COMPACT_PTR: {
			int level = get_level(&c);
			struct slice k = get_ikey(&c);
			if (c.p)
				rc = version_edit_set_compact_pointer(e, level,
								      k);
			break;
		}
		case EDIT_TAG_DELETE_FILE: {
			int level = get_level(&c);
			uint64_t number = get_u64(&c);
			if (c.p)
				rc = version_edit_delete_file(e, level, number);
			break;
		}
		case EDIT_TAG_ADD_FILE:
			rc = get_file(&c, e);
			break;
		default:
			rc = -EIO; /* unknown tag: written by a newer format */
			break;
		}
		if (!rc && !c.p)
			rc = -EIO;
	}
	if (rc)
		version_edit_release(e);
	return rc;
}
