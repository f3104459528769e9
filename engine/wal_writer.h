/*
 * wal_writer.h - appends checksummed records to a framed-record log: a WAL
 * segment or a MANIFEST (the grammar is in wal_format.h).
 *
 * Each wal_writer_add() is one env append of the record header and payload,
 * so a crash leaves at most one torn record, at the end, which the reader
 * drops. Nothing is durable until wal_writer_sync() returns 0.
 *
 * Errors are sticky: after the env fails an append or a sync, every later
 * add and sync returns that first error without touching the file (a
 * failed fdatasync is never retried: the page cache may already have
 * dropped the dirty pages). Argument errors (-EINVAL) and -ENOMEM leave the
 * file unchanged and are returned without poisoning the writer.
 *
 * Out of space: an append that fails with -ENOSPC is sticky like any other
 * error, but the file is still good up to wal_writer_size() (followed by at
 * most part of the failed record), so wal_writer_salvage() can cut it back
 * and make those records durable; the caller then moves on to a new file.
 *
 * The writer neither syncs the directory after creating the file nor syncs
 * the file on close: the caller decides (sync_dir, wal_writer_sync).
 *
 * Not thread-safe: one thread at a time (the WAL belongs to the write
 * leader, the MANIFEST to whoever holds the version set lock).
 */
#ifndef LSM_WAL_WRITER_H
#define LSM_WAL_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "slice.h"

struct lsm_env;
struct wal_writer;

/*
 * Creates (truncating) path through env and writes the 8-byte magic.
 * On success *out owns the open file; free it with wal_writer_close().
 * On failure nothing is allocated (the file may exist, empty or partial).
 */
int wal_writer_new(struct lsm_env *env, const char *path, const char magic[8],
		   struct wal_writer **out);

/*
 * Appends one record. type must be 1..255 and payload.len at most
 * WAL_MAX_PAYLOAD (-EINVAL otherwise). The payload is copied; the caller
 * keeps ownership. Returns 0, the sticky error, or the env's error.
 */
int wal_writer_add(struct wal_writer *w, uint8_t type, struct slice payload);

/* fdatasync through the env. Returns 0 or the (sticky) error. */
int wal_writer_sync(struct wal_writer *w);

/* Bytes in the file: header plus every record appended successfully. */
uint64_t wal_writer_size(const struct wal_writer *w);

/* Number of successful wal_writer_sync() calls. */
uint64_t wal_writer_syncs(const struct wal_writer *w);

/* The sticky error, or 0 while the writer is healthy. */
int wal_writer_error(const struct wal_writer *w);

/* Whether the sticky error is -ENOSPC from an append (not from a sync):
 * every record before the failed one is intact in the file. */
bool wal_writer_out_of_space(const struct wal_writer *w);

/*
 * For a writer that ran out of space (wal_writer_out_of_space): cuts the
 * file back to wal_writer_size(), dropping whatever part of the failed
 * record reached it, and fdatasyncs it, so that every record added before
 * the failure is durable. The writer still refuses new records (the caller
 * switches to a new file). Returns 0, -EINVAL when the writer did not run
 * out of space, or the truncate/sync error (which becomes the sticky error:
 * the file's state is then unknown).
 */
int wal_writer_salvage(struct wal_writer *w);

/* Closes the file (without syncing) and frees w. Returns the first error
 * the writer saw, else the close error, else 0. NULL is a no-op (0). */
int wal_writer_close(struct wal_writer *w);

#endif
