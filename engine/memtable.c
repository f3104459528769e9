/* memtable.c - the skip-list write buffer; see memtable.h. */
#include "config.h"
#include "memtable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "coding.h"
#include "skiplist.h"

struct memtable {
	struct arena *arena;
	struct skiplist *list;
	int refs;            /* atomic */
	uint64_t entries;    /* atomic: written by the writer only */
	uint64_t tombstones; /* atomic: written by the writer only */
};

/* The length-prefixed slice at p. Entries were encoded by us, so the varint
 * is well formed; the one-byte case is by far the most common. */
static const char *get_lenprefixed(const char *p, struct slice *out)
{
	uint32_t n = 0;
	if ((unsigned char)*p < 0x80) {
		n = (unsigned char)*p++;
	} else {
		p = decode_varint32(p, p + 5, &n);
	}
	*out = slice_make(p, n);
	return p + n;
}

static struct slice entry_ikey_slow(const char *e)
{
	struct slice k;
	get_lenprefixed(e, &k);
	return k;
}

/* The internal key of entry e. Inline with the one-byte length in line:
 * the skip list calls this twice per comparison, about 20 comparisons per
 * insert. */
static inline struct slice entry_ikey(const char *e)
{
	unsigned char c = (unsigned char)*e;
	if (c < 0x80)
		return slice_make(e + 1, c);
	return entry_ikey_slow(e);
}

static struct slice entry_value(const char *e)
{
	struct slice k, v;
	get_lenprefixed(get_lenprefixed(e, &k), &v);
	return v;
}

static int entry_cmp(void *ctx, const char *a, const char *b)
{
	(void)ctx;
	return ikey_cmp(entry_ikey(a), entry_ikey(b));
}

int memtable_new(struct arena_pool *pool, struct memtable **out)
{
	struct memtable *m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	int rc = arena_new(pool, &m->arena);
	if (rc)
		goto fail_m;
	rc = skiplist_new(m->arena, entry_cmp, NULL, &m->list);
	if (rc)
		goto fail_arena;
	m->refs = 1;
	*out = m;
	return 0;

fail_arena:
	arena_free(m->arena);
fail_m:
	free(m);
	return rc;
}

void memtable_ref(struct memtable *m)
{
	__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
}

void memtable_unref(struct memtable *m)
{
	if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	arena_free(m->arena);
	free(m);
}

int memtable_add(struct memtable *m, uint64_t seq, enum entry_type type,
		 struct slice key, struct slice value)
{
	if (seq > SEQ_MAX || key.len > UINT32_MAX - 8 || value.len > UINT32_MAX)
		return -EINVAL;
	uint32_t klen = (uint32_t)key.len + 8;
	size_t n = (size_t)varint_length(klen) + klen +
		   (size_t)varint_length(value.len) + value.len;
	char *e = arena_alloc(m->arena, n);
	if (!e)
		return -ENOMEM;
	char *p = encode_varint32(e, klen);
	if (key.len)
		memcpy(p, key.data, key.len);
	p += key.len;
	encode_fixed64(p, ikey_pack(seq, type));
	p = encode_varint32(p + 8, (uint32_t)value.len);
	if (value.len)
		memcpy(p, value.data, value.len);

	int rc = skiplist_insert(m->list, e);
	if (rc)
		return rc;
	__atomic_store_n(&m->entries, m->entries + 1, __ATOMIC_RELAXED);
	if (type == TYPE_DELETE)
		__atomic_store_n(&m->tombstones, m->tombstones + 1,
				 __ATOMIC_RELAXED);
	return 0;
}

int memtable_get(struct memtable *m, struct slice ukey, uint64_t seq,
		 char **val, size_t *vlen)
{
	if (ukey.len > UINT32_MAX - 8)
		return LOOKUP_NOT_FOUND;
	if (seq > SEQ_MAX)
		seq = SEQ_MAX;

	/* The lookup entry: the newest possible version of ukey at seq. */
	char stack[128];
	uint32_t klen = (uint32_t)ukey.len + 8;
	size_t n = (size_t)varint_length(klen) + klen;
	char *lk = n <= sizeof stack ? stack : malloc(n);
	if (!lk)
		return -ENOMEM;
	char *p = encode_varint32(lk, klen);
	if (ukey.len)
		memcpy(p, ukey.data, ukey.len);
	encode_fixed64(p + ukey.len, ikey_pack(seq, TYPE_SEEK));

	struct skiplist_iter it;
	skiplist_iter_init(&it, m->list);
	skiplist_iter_seek(&it, lk);
	if (lk != stack)
		free(lk);
	if (!skiplist_iter_valid(&it))
		return LOOKUP_NOT_FOUND;

	const char *e = skiplist_iter_entry(&it);
	struct slice ik = entry_ikey(e);
	if (!slice_eq(ikey_user(ik), ukey))
		return LOOKUP_NOT_FOUND;
	if (ikey_type(ik) == TYPE_DELETE)
		return LOOKUP_DELETED;
	struct slice v = entry_value(e);
	char *copy = malloc(v.len + 1);
	if (!copy)
		return -ENOMEM;
	if (v.len)
		memcpy(copy, v.data, v.len);
	copy[v.len] = '\0';
	*val = copy;
	*vlen = v.len;
	return LOOKUP_FOUND;
}

size_t memtable_bytes(const struct memtable *m)
{
	return arena_memory_usage(m->arena);
}

uint64_t memtable_entries(const struct memtable *m)
{
	return __atomic_load_n(&m->entries, __ATOMIC_RELAXED);
}

uint64_t memtable_tombstones(const struct memtable *m)
{
	return __atomic_load_n(&m->tombstones, __ATOMIC_RELAXED);
}

/* The internal iterator. */

struct memtable_iter {
	struct iter base;
	struct memtable *m; /* referenced */
	struct skiplist_iter it;
	struct buf target; /* seek target, length-prefixed like an entry */
	int status;
};

#define MI(it) ((struct memtable_iter *)(it))

static bool mi_valid(struct iter *it)
{
	return skiplist_iter_valid(&MI(it)->it);
}

static void mi_seek_first(struct iter *it)
{
	skiplist_iter_seek_first(&MI(it)->it);
}

static void mi_seek_last(struct iter *it)
{
	skiplist_iter_seek_last(&MI(it)->it);
}

static void mi_seek(struct iter *it, struct slice target)
{
	struct memtable_iter *mi = MI(it);
	buf_clear(&mi->target);
	int rc = buf_put_lenprefixed(&mi->target, target.data, target.len);
	if (rc) {
		mi->status = rc;
		skiplist_iter_init(&mi->it, mi->m->list);
		return;
	}
	skiplist_iter_seek(&mi->it, mi->target.data);
}

static void mi_next(struct iter *it)
{
	skiplist_iter_next(&MI(it)->it);
}

static void mi_prev(struct iter *it)
{
	skiplist_iter_prev(&MI(it)->it);
}

static struct slice mi_key(struct iter *it)
{
	return entry_ikey(skiplist_iter_entry(&MI(it)->it));
}

static struct slice mi_value(struct iter *it)
{
	return entry_value(skiplist_iter_entry(&MI(it)->it));
}

static int mi_status(struct iter *it)
{
	return MI(it)->status;
}

static void mi_free(struct iter *it)
{
	struct memtable_iter *mi = MI(it);
	buf_release(&mi->target);
	memtable_unref(mi->m);
	free(mi);
}

static const struct iter_ops memtable_iter_ops = {
	.valid = mi_valid,
	.seek_first = mi_seek_first,
	.seek_last = mi_seek_last,
	.seek = mi_seek,
	.next = mi_next,
	.prev = mi_prev,
	.key = mi_key,
	.value = mi_value,
	.status = mi_status,
	.free = mi_free,
};

int memtable_iter_new(struct memtable *m, struct iter **out)
{
	struct memtable_iter *mi = calloc(1, sizeof *mi);
	if (!mi)
		return -ENOMEM;
	mi->base.ops = &memtable_iter_ops;
	memtable_ref(m);
	mi->m = m;
	skiplist_iter_init(&mi->it, m->list);
	*out = &mi->base;
	return 0;
}
