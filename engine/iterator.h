/*
 * iterator.h - the internal iterator interface shared by memtables, blocks,
 * SSTables, levels and the merging iterator.
 *
 * An iterator walks (internal key, value) pairs in ikey_cmp order. Positioning
 * never fails: on an error the iterator becomes invalid and status() returns
 * the negative errno. key()/value() are valid only while valid() and until the
 * next positioning call. An iterator is used by one thread at a time and is
 * freed with iter_free(), which is a no-op for NULL.
 */
#ifndef LSM_ITERATOR_H
#define LSM_ITERATOR_H

#include <stdbool.h>

#include "slice.h"

struct iter;

struct iter_ops {
	bool (*valid)(struct iter *it);
	void (*seek_first)(struct iter *it);
	void (*seek_last)(struct iter *it);
	/* to the first entry >= target (an internal key) */
	void (*seek)(struct iter *it, struct slice target);
	void (*next)(struct iter *it);
	void (*prev)(struct iter *it);
	struct slice (*key)(struct iter *it);
	struct slice (*value)(struct iter *it);
	int (*status)(struct iter *it);
	void (*free)(struct iter *it);
};

/* Implementations embed this as their first member. */
struct iter {
	const struct iter_ops *ops;
};

static inline bool iter_valid(struct iter *it) { return it->ops->valid(it); }
static inline void iter_seek_first(struct iter *it) { it->ops->seek_first(it); }
static inline void iter_seek_last(struct iter *it) { it->ops->seek_last(it); }
static inline void iter_seek(struct iter *it, struct slice t) { it->ops->seek(it, t); }
static inline void iter_next(struct iter *it) { it->ops->next(it); }
static inline void iter_prev(struct iter *it) { it->ops->prev(it); }
static inline struct slice iter_key(struct iter *it) { return it->ops->key(it); }
static inline struct slice iter_value(struct iter *it) { return it->ops->value(it); }
static inline int iter_status(struct iter *it) { return it->ops->status(it); }
static inline void iter_free(struct iter *it)
{
	if (it)
		it->ops->free(it);
}

/* An iterator that is always invalid with the given status (0 or -errno).
 * Returns NULL only on allocation failure. */
struct iter *iter_new_empty(int status);

/*
 * Merges n child iterators (taking ownership of them) into one ordered
 * stream. Equal keys from different children are all returned, the child
 * with the lower index first. Returns NULL on allocation failure (children
 * are freed).
 */
struct iter *merge_iter_new(struct iter **children, int n);

#endif
