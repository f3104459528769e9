/*
 * env.h - every byte the engine reads or writes goes through a struct
 * lsm_env, so tests can wrap it to inject EIO/ENOSPC, torn writes and power
 * loss (see env_fault.c). The default is env_posix.c.
 *
 * Contract for implementations:
 *  - every call returns 0 or a negative errno; short writes and EINTR are
 *    handled inside (append writes everything or fails);
 *  - wfile_sync() makes the file's data durable (fdatasync); sync_dir() makes
 *    the directory's entries durable (creations, renames, unlinks);
 *  - rename() is atomic (POSIX rename);
 *  - lock() takes an exclusive, process-wide advisory lock; -EBUSY when
 *    another process (or another open in this process) holds it.
 * All functions are thread-safe; one file handle is used by one thread at a
 * time, except env_rfile which may be read by many threads at once.
 */
#ifndef LSM_ENV_H
#define LSM_ENV_H

#include <stddef.h>
#include <stdint.h>

struct lsm_env;

/* A file opened for appending. */
struct env_wfile {
	struct lsm_env *env;
};

/* A file opened for positional reads. */
struct env_rfile {
	struct lsm_env *env;
};

struct env_lock {
	struct lsm_env *env;
};

struct lsm_env {
	/* Creates path (truncating it) for appending. */
	int (*new_wfile)(struct lsm_env *env, const char *path,
			 struct env_wfile **out);
	int (*wfile_append)(struct env_wfile *f, const void *data, size_t n);
	int (*wfile_sync)(struct env_wfile *f);
	/* Closes without syncing; returns the first deferred error. */
	int (*wfile_close)(struct env_wfile *f);

	int (*new_rfile)(struct lsm_env *env, const char *path,
			 struct env_rfile **out);
	/* Reads up to n bytes at off; *got < n only at end of file. */
	int (*rfile_read)(struct env_rfile *f, uint64_t off, void *buf,
			  size_t n, size_t *got);
	int (*rfile_size)(struct env_rfile *f, uint64_t *size);
	/* Optional (NULL when the env has none): maps the bytes the file has
	 * now, read-only, into *data (*len bytes), until rfile_close(). Every
	 * load from the mapping must go through map_guard_copy(), which turns
	 * the SIGBUS of a page that cannot be read into -EIO. At most once per
	 * file, before it is shared between threads. */
	int (*rfile_map)(struct env_rfile *f, const char **data, size_t *len);
	void (*rfile_close)(struct env_rfile *f);

	int (*file_size)(struct lsm_env *env, const char *path, uint64_t *size);
	/* 0 when path exists, -ENOENT when not */
	int (*exists)(struct lsm_env *env, const char *path);
	int (*rename)(struct lsm_env *env, const char *from, const char *to);
	int (*unlink)(struct lsm_env *env, const char *path);
	int (*truncate)(struct lsm_env *env, const char *path, uint64_t size);
	/* Creates dir; 0 when it already exists. */
	int (*mkdir)(struct lsm_env *env, const char *path);
	int (*sync_dir)(struct lsm_env *env, const char *path);
	/* Lists entry names (not . or ..) as a malloc()ed array of malloc()ed
	 * strings; free with env_free_names(). */
	int (*list_dir)(struct lsm_env *env, const char *path, char ***names,
			size_t *count);
	int (*lock)(struct lsm_env *env, const char *path,
		    struct env_lock **out);
	void (*unlock)(struct env_lock *l);
	uint64_t (*now_micros)(struct lsm_env *env);
	void (*sleep_micros)(struct lsm_env *env, uint64_t micros);
};

/* The process-wide POSIX environment. Never freed. */
struct lsm_env *env_posix(void);

void env_free_names(char **names, size_t count);

/* Writes data to path (replacing it), syncs the file, then syncs the
 * directory it lives in. */
int env_write_file(struct lsm_env *env, const char *path, const void *data,
		   size_t n);
/* Reads a whole (small) file into a malloc()ed, NUL-terminated buffer. */
int env_read_file(struct lsm_env *env, const char *path, char **data,
		  size_t *n);

#endif
