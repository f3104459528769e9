/*
 * fuzz_batch.c - libFuzzer target: write batches decoded from arbitrary
 * bytes (batch_set_rep + batch_iterate, as WAL replay does), then applied
 * to a memtable and read back.
 *
 * Properties: no crash; a batch that validates iterates exactly count
 * entries with consecutive sequence numbers; after inserting it into a
 * memtable, every key's newest entry reads back as the batch says (the
 * last entry for a key in the batch wins); appending the batch to another
 * batch keeps every entry.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "batch.h"
#include "dbformat.h"
#include "fuzz_util.h"
#include "memtable.h"

struct batch_fuzz_ctx {
	struct memtable *mem;
	uint64_t next_seq;
	uint32_t n;
	int failed;
};

static int batch_fuzz_insert(void *arg, uint64_t seq, enum entry_type type,
			     struct slice key, struct slice value)
{
	struct batch_fuzz_ctx *c = arg;
	FUZZ_CHECK(seq == c->next_seq);
	c->next_seq++;
	c->n++;
	int rc = memtable_add(c->mem, seq, type, key, value);
	FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
	return 0;
}

static int batch_fuzz_check(void *arg, uint64_t seq, enum entry_type type,
			    struct slice key, struct slice value)
{
	struct batch_fuzz_ctx *c = arg;
	char *val = NULL;
	size_t vlen = 0;
	/* at this entry's own sequence, it is the newest */
	int rc = memtable_get(c->mem, key, seq, &val, &vlen);
	if (type == TYPE_VALUE) {
		FUZZ_CHECK(rc == LOOKUP_FOUND);
		FUZZ_CHECK(vlen == value.len && !memcmp(val, value.data, vlen));
	} else {
		FUZZ_CHECK(rc == LOOKUP_DELETED);
	}
	free(val);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lsm_batch *b, *b2;
	fuzz_scratch_dir(); /* silences the log */
	if (lsm_batch_new(&b))
		return 0;
	if (lsm_batch_new(&b2)) {
		lsm_batch_free(b);
		return 0;
	}
	int rc = batch_set_rep(b, slice_make(data, size));
	if (rc == 0 && batch_iterate(b, NULL, NULL) == 0) {
		struct batch_fuzz_ctx c = { NULL, batch_sequence(b), 0, 0 };
		if (memtable_new(NULL, &c.mem) == 0) {
			FUZZ_CHECK(batch_iterate(b, batch_fuzz_insert, &c) == 0);
			FUZZ_CHECK(c.n == lsm_batch_count(b));
			FUZZ_CHECK(batch_iterate(b, batch_fuzz_check, &c) == 0);
			memtable_unref(c.mem);
		}
		if (batch_append(b2, b) == 0) {
			FUZZ_CHECK(lsm_batch_count(b2) == lsm_batch_count(b));
			FUZZ_CHECK(batch_append(b2, b2) != 0 ||
				   lsm_batch_count(b2) ==
					   2 * lsm_batch_count(b));
		}
	} else {
		FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -ENOMEM);
	}
	lsm_batch_free(b);
	lsm_batch_free(b2);
	return 0;
}
