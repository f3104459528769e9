/*
 * batch.h - write batches: the lsm_batch_* functions of lsm.h and the
 * engine's internal view of a batch.
 *
 * A batch is kept in its on-disk form, the payload of a WAL_RECORD_BATCH
 * record (grammar in wal_format.h):
 *
 *   rep := fixed64 first_seq  fixed32 count  entry{count}
 *
 * so the write path appends rep to the WAL as is and replay copies a record
 * back with batch_set_rep(). Entry i gets sequence number first_seq + i.
 * A batch built through lsm_batch_put/delete always has a well-formed rep;
 * one set with batch_set_rep() is validated by batch_iterate().
 *
 * Invariants: rep.len >= BATCH_HEADER_LEN and rep.len <= BATCH_MAX_SIZE for
 * batches built here (a batch always fits in one WAL record). Every function
 * that fails leaves the batch unchanged.
 *
 * Not thread-safe: a batch belongs to one thread at a time.
 */
#ifndef LSM_BATCH_H
#define LSM_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dbformat.h"
#include "lsm.h"
#include "slice.h"
#include "wal_format.h"

/* lsm_batch_put/delete and batch_append refuse (-EINVAL) to grow a batch
 * past this: the WAL writer could not log it. */
#define BATCH_MAX_SIZE WAL_MAX_PAYLOAD

struct lsm_batch {
	struct buf rep; /* see the top of this file */
};

/* Sets / reads first_seq. The engine sets it when it commits the batch. */
void batch_set_sequence(struct lsm_batch *b, uint64_t seq);
uint64_t batch_sequence(const struct lsm_batch *b);

/*
 * Appends src's entries after dst's (for group commit): count becomes the
 * sum, dst's first_seq is kept. Returns 0, -ENOMEM, or -EINVAL when the
 * count would overflow or dst would exceed BATCH_MAX_SIZE. src may be dst.
 */
int batch_append(struct lsm_batch *dst, const struct lsm_batch *src);

/*
 * Replaces b's rep with a copy of rep (a WAL record payload). Returns -EIO
 * when rep is shorter than the 12-byte header, -ENOMEM, or 0. The entries
 * are checked later, by batch_iterate().
 */
int batch_set_rep(struct lsm_batch *b, struct slice rep);

/* Called once per entry in order. key and value point into the batch (value
 * is empty for TYPE_DELETE). A nonzero return stops the iteration. */
typedef int (*batch_visit_fn)(void *ctx, uint64_t seq, enum entry_type type,
			      struct slice key, struct slice value);

/*
 * Calls fn (which may be NULL: validate only) for every entry. Returns 0,
 * fn's first nonzero return, or -EIO when rep is malformed: fewer or more
 * entries than count, a truncated entry, an unknown entry type, or sequence
 * numbers past SEQ_MAX. Validation happens as it goes, so fn may have seen
 * the entries before the damage; callers that must not apply part of a
 * batch validate first (fn NULL). Logs nothing: the caller knows the file.
 */
int batch_iterate(const struct lsm_batch *b, batch_visit_fn fn, void *ctx);

/* Bytes of rep, header included. */
size_t batch_size(const struct lsm_batch *b);

#endif
