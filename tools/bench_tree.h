/*
 * bench_tree.h - the directory trees lsm bench leaves behind: how much disk
 * a store takes, as du counts it, and removing it.
 *
 * Both walk without following symbolic links and tolerate files that vanish
 * during the walk (a running compaction deletes them). Not for trees that
 * other processes change in other ways.
 */
#ifndef LSM_BENCH_TREE_H
#define LSM_BENCH_TREE_H

#include <stdint.h>

/* Bytes allocated to dir and everything under it (st_blocks * 512); 0 when
 * dir does not exist. */
uint64_t bench_tree_usage(const char *dir);

/* Removes dir and everything under it, children first; a failure other
 * than ENOENT is reported on stderr (tool_error) and the walk goes on. */
void bench_tree_remove(const char *dir);

#endif
