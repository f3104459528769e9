/* block_iter.c - iteration over one block; see block_iter.h. */
#include "config.h"
#include "block_iter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "dbformat.h"
#include "log.h"

static void corrupt(struct block_iter *it, const char *why)
{
	if (!it->status)
		lsm_log("corrupt block in '%s' at offset %llu: %s",
			it->file ? it->file : "?",
			(unsigned long long)it->block_off, why);
	it->status = -EIO;
	it->current = it->next_off = it->restarts;
	buf_clear(&it->key);
	it->value = slice_make(NULL, 0);
}

static uint32_t restart_point(const struct block_iter *it, uint32_t i)
{
	return decode_fixed32(it->data + it->restarts + 4 * (size_t)i);
}

/* Decodes the entry at it->next_off; false at the end or on corruption. */
static bool parse_next(struct block_iter *it)
{
	if (it->status)
		return false;
	it->current = it->next_off;
	if (it->current >= it->restarts) {
		it->current = it->next_off = it->restarts;
		return false;
	}
	const char *p = it->data + it->current;
	const char *limit = it->data + it->restarts;
	uint32_t shared, non_shared, vlen;
	if (!(p = decode_varint32(p, limit, &shared)) ||
	    !(p = decode_varint32(p, limit, &non_shared)) ||
	    !(p = decode_varint32(p, limit, &vlen))) {
		corrupt(it, "bad entry header");
		return false;
	}
	if (shared > it->key.len ||
	    (uint64_t)non_shared + vlen > (uint64_t)(limit - p)) {
		corrupt(it, "entry out of bounds");
		return false;
	}
	it->key.len = shared;
	if (buf_append(&it->key, p, non_shared)) {
		/* out of memory is not corruption, but the entry is unusable */
		it->status = -ENOMEM;
		it->current = it->next_off = it->restarts;
		return false;
	}
	if (it->key.len < 8) {
		corrupt(it, "key shorter than an internal key");
		return false;
	}
	it->value = slice_make(p + non_shared, vlen);
	it->next_off = (uint32_t)(p + non_shared + vlen - it->data);
	while (it->restart_index + 1 < it->nrestarts &&
	       restart_point(it, it->restart_index + 1) <= it->current)
		it->restart_index++;
	return true;
}

/* Prepares to parse the first entry of restart block i. */
static bool seek_restart(struct block_iter *it, uint32_t i)
{
	uint32_t off = restart_point(it, i);
	if (off > it->restarts) {
		corrupt(it, "restart point out of bounds");
		return false;
	}
	buf_clear(&it->key);
	it->restart_index = i;
	it->next_off = off;
	return true;
}

static bool bi_valid(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	return !it->status && it->current < it->restarts;
}

static void bi_seek_first(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	if (!it->status && seek_restart(it, 0))
		parse_next(it);
}

static void bi_seek_last(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	if (it->status || !seek_restart(it, it->nrestarts - 1))
		return;
	while (parse_next(it) && it->next_off < it->restarts)
		;
}

static void bi_seek(struct iter *base, struct slice target)
{
	struct block_iter *it = (struct block_iter *)base;
	if (it->status)
		return;
	/* the last restart point whose key is < target */
	uint32_t left = 0, right = it->nrestarts - 1;
	while (left < right) {
		uint32_t mid = left + (right - left + 1) / 2;
		if (!seek_restart(it, mid))
			return;
		if (!parse_next(it)) {
			if (!it->status)
				corrupt(it, "empty restart block");
			return;
		}
		if (ikey_cmp(buf_slice(&it->key), target) < 0)
			left = mid;
		else
			right = mid - 1;
	}
	if (!seek_restart(it, left))
		return;
	while (parse_next(it))
		if (ikey_cmp(buf_slice(&it->key), target) >= 0)
			return;
}

static void bi_next(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	if (bi_valid(base))
		parse_next(it);
}

static void bi_prev(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	if (!bi_valid(base))
		return;
	uint32_t original = it->current;
	while (restart_point(it, it->restart_index) >= original) {
		if (it->restart_index == 0) {
			it->current = it->next_off = it->restarts;
			return;
		}
		it->restart_index--;
	}
	if (!seek_restart(it, it->restart_index))
		return;
	while (parse_next(it) && it->next_off < original)
		;
	if (!it->status && it->current >= it->restarts)
		corrupt(it, "entry boundaries disagree with restart points");
}

static struct slice bi_key(struct iter *base)
{
	return buf_slice(&((struct block_iter *)base)->key);
}

static struct slice bi_value(struct iter *base)
{
	return ((struct block_iter *)base)->value;
}

static int bi_status(struct iter *base)
{
	return ((struct block_iter *)base)->status;
}

static void bi_free(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	bool owned = it->owned;
	block_iter_release(it);
	if (owned)
		free(it);
}

static const struct iter_ops block_iter_ops = {
	.valid = bi_valid,
	.seek_first = bi_seek_first,
	.seek_last = bi_seek_last,
	.seek = bi_seek,
	.next = bi_next,
	.prev = bi_prev,
	.key = bi_key,
	.value = bi_value,
	.status = bi_status,
	.free = bi_free,
};

void block_iter_init_empty(struct block_iter *it)
{
	memset(it, 0, sizeof *it);
	it->base.ops = &block_iter_ops;
}

int block_iter_init(struct block_iter *it, const char *data, size_t size,
		    const char *file, uint64_t block_off)
{
	it->base.ops = &block_iter_ops;
	it->data = data;
	it->file = file;
	it->block_off = block_off;
	it->status = 0;
	it->restarts = it->nrestarts = it->current = it->next_off = 0;
	it->restart_index = 0;
	buf_clear(&it->key);
	it->value = slice_make(NULL, 0);
	if (size < 8 || size > UINT32_MAX) {
		corrupt(it, "block too small for its trailer");
		return -EIO;
	}
	uint32_t n = decode_fixed32(data + size - 4);
	if (n == 0 || n > (size - 4) / 4) {
		corrupt(it, "bad restart count");
		return -EIO;
	}
	it->nrestarts = n;
	it->restarts = (uint32_t)(size - 4 - 4 * (size_t)n);
	it->current = it->next_off = it->restarts;
	return 0;
}

void block_iter_release(struct block_iter *it)
{
	buf_release(&it->key);
}

int block_iter_new(const char *data, size_t size, const char *file,
		   uint64_t block_off, struct iter **out)
{
	struct block_iter *it = malloc(sizeof *it);
	if (!it)
		return -ENOMEM;
	block_iter_init_empty(it);
	int rc = block_iter_init(it, data, size, file, block_off);
	if (rc) {
		block_iter_release(it);
		free(it);
		return rc;
	}
	it->owned = true;
	*out = &it->base;
	return 0;
}
