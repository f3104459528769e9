/*
 * ops.h - the FUSE low-level callbacks of lsmfs (fs/ops.c): thin adapters
 * from FUSE requests to the functions of lsmfs.h and lsmdir.h, replying
 * with their -errno.
 *
 * The session's userdata is a struct ops_ctx owned by main.c. Inode numbers
 * with the top bit set go to fs/lsmdir.c; write operations on them fail
 * with EROFS. Regular files keep the kernel page cache (keep_cache, no
 * direct_io), which stays correct because every change goes through this
 * daemon; attribute and entry timeouts come from the mount options.
 */
#ifndef LSMFS_OPS_H
#define LSMFS_OPS_H

#define FUSE_USE_VERSION 31
#include <fuse_lowlevel.h>

#include "lsmfs.h"

#define OPS_MAX_WRITE (1u << 20)

struct ops_ctx {
	struct lsmfs *fs;     /* set up by main.c before the session starts */
	double attr_timeout;  /* seconds the kernel may cache attributes */
	double entry_timeout; /* seconds the kernel may cache names */
	int writeback_cache;  /* ask for the kernel writeback cache */
	/* destroy: releases fs and closes the store; main.c reads these */
	int closed;
	int close_rc;
};

extern const struct fuse_lowlevel_ops lsmfs_ops;

/* Releases ctx->fs and closes its store once (destroy, or main.c when the
 * session never started). Returns the lsm_close() result. */
int ops_shutdown(struct ops_ctx *ctx);

#endif /* LSMFS_OPS_H */
