/* block_builder.c - prefix-compressed blocks with restarts; see
 * block_builder.h and the grammar in sst_format.h. */
#include "config.h"
#include "block_builder.h"

#include <errno.h>
#include <string.h>

#include "coding.h"

void block_builder_init(struct block_builder *b, int restart_interval)
{
	memset(b, 0, sizeof *b);
	b->restart_interval = restart_interval > 0 ? restart_interval : 1;
}

static int push_restart(struct block_builder *b, uint32_t off)
{
	return buf_append(&b->restarts, &off, sizeof off);
}

int block_builder_add(struct block_builder *b, struct slice key,
		      struct slice value)
{
	if (b->finished || key.len > UINT32_MAX || value.len > UINT32_MAX ||
	    b->data.len > UINT32_MAX - 64 - key.len - value.len)
		return -EINVAL;
	size_t shared = 0;
	if (b->counter < b->restart_interval && b->nentries > 0) {
		size_t n =
			b->last_key.len < key.len ? b->last_key.len : key.len;
		while (shared < n &&
		       b->last_key.data[shared] == key.data[shared])
			shared++;
	}
	size_t non_shared = key.len - shared;
	/* reserve everything first so a failure leaves the block unchanged */
	int rc = buf_reserve(&b->data, 15 + non_shared + value.len);
	if (!rc)
		rc = buf_reserve(&b->restarts, sizeof(uint32_t));
	if (!rc)
		rc = buf_reserve(&b->last_key, key.len);
	if (rc)
		return rc;
	if (b->nentries == 0 || b->counter >= b->restart_interval) {
		push_restart(b, (uint32_t)b->data.len);
		b->counter = 0;
	}
	buf_put_varint32(&b->data, (uint32_t)shared);
	buf_put_varint32(&b->data, (uint32_t)non_shared);
	buf_put_varint32(&b->data, (uint32_t)value.len);
	buf_append(&b->data, key.data + shared, non_shared);
	buf_append(&b->data, value.data, value.len);
	buf_set(&b->last_key, key.data, key.len);
	b->counter++;
	b->nentries++;
	return 0;
}

size_t block_builder_size_estimate(const struct block_builder *b)
{
	if (b->finished)
		return b->data.len;
	size_t nrestarts = b->restarts.len / sizeof(uint32_t);
	if (nrestarts == 0)
		nrestarts = 1; /* an empty block still has one restart */
	return b->data.len + (nrestarts + 1) * sizeof(uint32_t);
}

int block_builder_finish(struct block_builder *b, struct slice *out)
{
	if (!b->finished) {
		size_t nrestarts = b->restarts.len / sizeof(uint32_t);
		int rc = buf_reserve(&b->data, (nrestarts + 2) * 4);
		if (rc)
			return rc;
		if (nrestarts == 0) {
			buf_put_fixed32(&b->data, 0);
			nrestarts = 1;
		}
		const uint32_t *r = (const uint32_t *)(void *)b->restarts.data;
		for (size_t i = 0; i < b->restarts.len / sizeof(uint32_t); i++)
			buf_put_fixed32(&b->data, r[i]);
		buf_put_fixed32(&b->data, (uint32_t)nrestarts);
		b->finished = true;
	}
	*out = buf_slice(&b->data);
	return 0;
}

void block_builder_reset(struct block_builder *b)
{
	buf_clear(&b->data);
	buf_clear(&b->last_key);
	buf_clear(&b->restarts);
	b->counter = 0;
	b->nentries = 0;
	b->finished = false;
}

void block_builder_release(struct block_builder *b)
{
	buf_release(&b->data);
	buf_release(&b->last_key);
	buf_release(&b->restarts);
	block_builder_reset(b);
}
