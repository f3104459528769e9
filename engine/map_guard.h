/*
 * map_guard.h - copying out of a file mapping without dying of SIGBUS.
 *
 * A read(2) of a file that fails or was cut short returns an error; a load
 * from a mapping of it raises SIGBUS instead (a page past the end of a
 * truncated file, an I/O error behind a page not in memory), which kills
 * the process. The engine promises EIO and a log line naming the file and
 * offset for a bad table, never a crash, so every load from a table
 * mapping goes through map_guard_copy(): its SIGBUS, and only its, becomes
 * -EIO.
 *
 * How: a process-wide SIGBUS handler (installed by map_guard_init(), once)
 * checks a thread-local pointer that map_guard_copy() sets around its
 * memcpy; when it is set, the handler siglongjmp()s back out of the copy.
 * Any other SIGBUS goes to the handler the process had before (the default
 * one, which ends the process, if there was none). A program that replaces
 * the SIGBUS handler after opening a store loses the guard: a truncated
 * table then ends it as it would with mmap and no guard.
 *
 * Thread safety: all of it; the guard is per thread.
 */
#ifndef LSM_MAP_GUARD_H
#define LSM_MAP_GUARD_H

#include <stddef.h>

/* Installs the SIGBUS handler (once per process; later calls are no-ops).
 * Returns 0, or a negative errno from sigaction() (mappings must not be
 * used then). */
int map_guard_init(void);

/* Copies n bytes from the mapped src to dst. Returns 0, or -EIO when a
 * page of src could not be read (dst then holds part of the bytes). */
int map_guard_copy(void *dst, const void *src, size_t n);

#endif
