/*
 * itable.h - the daemon's in-memory inode table: what the daemon knows of
 * each inode the kernel holds (lookup count > 0), has open, or an operation
 * is using.
 *
 * Two parts, so that the inodes the kernel merely caches cost little (a
 * mount with a million cached dentries keeps a million entries):
 *
 *  - an entry (32 bytes, private to itable.c): the inode number, the
 *    kernel's lookup count and a pointer to the node, or NULL. It lives
 *    while the kernel holds a reference or the node exists.
 *  - a node (struct inode_node below): the inode's lock, open handles, pins
 *    and file.c's write-behind chunk. It exists while the inode is in use:
 *    pinned, open, holding a buffered chunk (wb_data), or unlinked; an idle
 *    node is freed and made again by the next itable_get().
 *
 * The node lock serializes every read-modify-write of the inode's records:
 * writers of its chunks and attribute record (write, truncate, setattr,
 * link count changes) hold it exclusively; readers of several records that
 * must agree (read: size + chunks) hold it shared. Nothing of the store is
 * cached in a node except the write-behind chunk, which file.c writes back
 * (or logs as lost) before it lets go of it.
 *
 * Lock order: directory nodes before the nodes of entries in them; two
 * directories (rename) in ascending inode order, then the entries in
 * ascending inode order. The table mutex is a leaf lock held only inside
 * itable_* calls, never across an engine call.
 *
 * Lifetime: itable_get() pins a node; itable_put() unpins. A node may be
 * used only while pinned (or, with itable_for_each(), when no request
 * runs); its fields, lock included, are gone once it is unpinned. An
 * unpinned node is freed when it has no opens and either no lookups are
 * left (the entry goes too; a buffered chunk that is still dirty then was
 * already logged as lost at close) or it is idle: not unlinked (the purge
 * waits for the last lookup) and no chunk buffered. The table reads wb_data
 * of unpinned nodes only, so it needs no node lock for that. Thread-safe.
 *
 * Write-behind list: the table also lists the nodes whose write-behind
 * chunk may be dirty, so that fsync can write back every buffered chunk
 * without visiting every node. Invariant: a node with wb_dirty set is on
 * the list (file.c marks it, under its node lock, before the write that
 * dirtied it returns); a listed node may be clean (it is taken off by the
 * fsync that wrote it back, at its last close, or when it is freed).
 */
#ifndef LSMFS_ITABLE_H
#define LSMFS_ITABLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "inode.h"

struct itable_entry;
struct itable_slab;

struct inode_node {
	uint64_t ino;
	pthread_rwlock_t lock;
	/*
	 * file.c's write-behind chunk, protected by lock: the current content
	 * of chunk wb_idx (wb_len bytes in wb_data, a KS_CHUNK_SIZE buffer)
	 * when wb_data is not NULL; wb_dirty (only with wb_data) when the
	 * store does not have it yet. While dirty, wb_size .. wb_ctime are the
	 * file's attributes with the buffered writes (the stored inode record
	 * has older ones, see file_wb_attr()). file.c frees it at the last
	 * close once written back; otherwise it is freed with the node.
	 */
	char *wb_data;
	uint64_t wb_idx;
	size_t wb_len;
	int wb_dirty;
	uint64_t wb_size, wb_stored;
	struct inode_time wb_mtime, wb_ctime;
	/* the fields below are private to itable.c, protected by its mutex */
	struct itable_entry *entry; /* holds ino's lookup count */
	uint32_t nopen;             /* open file handles */
	uint32_t pins;              /* itable_get() references not yet put */
	int unlinked;               /* no name left: purge when unused */
	int wb_listed;              /* on the write-behind list */
	struct inode_node *wb_next, *wb_prev; /* write-behind list */
};

struct itable {
	pthread_mutex_t mu;
	struct itable_entry **buckets; /* hash chains; protected by mu */
	size_t nbuckets;               /* protected by mu */
	size_t count;                  /* entries; protected by mu */
	size_t nodes;                  /* nodes; protected by mu */
	struct itable_entry *free;     /* unused entries; protected by mu */
	struct itable_slab *slabs;     /* entry memory; protected by mu */
	struct inode_node *wb_head;    /* write-behind list; protected by mu */
	size_t wb_count;               /* nodes on it; protected by mu */
};

/* Returns 0 or -ENOMEM. */
int itable_init(struct itable *t);
/* Frees every node and entry; no node may be in use. */
void itable_release(struct itable *t);

/* Finds or creates the node of ino, pinned. Returns NULL when out of memory. */
struct inode_node *itable_get(struct itable *t, uint64_t ino);

/*
 * Unpins n (which may be freed now: see Lifetime). Returns 1 when n was
 * marked unlinked and is now unused (no lookups, opens or pins): the caller
 * must then purge the inode's records.
 */
int itable_put(struct itable *t, struct inode_node *n);

/* The kernel now holds one more reference (a successful lookup/create). */
void itable_ref(struct itable *t, struct inode_node *n);

/*
 * The kernel dropped nlookup references to ino (FUSE forget). Returns 1 when
 * the inode is unlinked and now unused, so its records must be purged.
 */
int itable_forget(struct itable *t, uint64_t ino, uint64_t nlookup);

/* Open handle accounting on a pinned node. itable_close() returns the
 * number of handles still open. */
void itable_open(struct itable *t, struct inode_node *n);
uint32_t itable_close(struct itable *t, struct inode_node *n);

/* Marks a pinned node as having lost its last name. */
void itable_set_unlinked(struct itable *t, struct inode_node *n);

/* Puts n (pinned, n->lock held exclusively, its chunk now dirty) on the
 * write-behind list / takes it off (n->lock held, its chunk clean). Both
 * are no-ops when n already is / is not listed. */
void itable_wb_mark(struct itable *t, struct inode_node *n);
void itable_wb_unmark(struct itable *t, struct inode_node *n);

/*
 * The inode numbers of the nodes on the write-behind list, as *inos
 * (malloc()ed, *count entries; NULL when there are none). Nothing is pinned:
 * the caller locks each by number (a node freed meanwhile had nothing
 * buffered, or lost it with a logged error). Returns 0 or -ENOMEM.
 */
int itable_wb_list(struct itable *t, uint64_t **inos, size_t *count);

/* Calls fn on every node (not on entries without one), holding the table
 * mutex: fn must not call other itable functions. For shutdown, when no
 * request runs. */
void itable_for_each(struct itable *t,
		     void (*fn)(struct inode_node *n, void *ctx), void *ctx);

/* Number of entries (inodes the table knows) / of nodes (inodes in use),
 * for tests and statistics. */
size_t itable_count(struct itable *t);
size_t itable_nodes(struct itable *t);

#endif /* LSMFS_ITABLE_H */
