/*
 * env_posix.c - the real environment: POSIX file I/O with EINTR and short
 * writes handled, fdatasync for file data, fsync of the directory after
 * entries change, and flock() for the store lock.
 */
#include "config.h"
#include "env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "map_guard.h"



struct posix_wfile {
	struct env_wfile base;
	int fd;
};

struct posix_rfile {
	struct env_rfile base;
	int fd;
	void *map; /* NULL, or the first map_len bytes (rfile_map) */
	size_t map_len;
};

struct posix_lock {
	struct env_lock base;
	int fd;
	char *path;
};

/*
 * flock() locks belong to the open file description, so a second open in the
 * same process would succeed; keep the set of locked paths to refuse that too.
 */
static pthread_mutex_t locks_mu = PTHREAD_MUTEX_INITIALIZER;
static char **locked_paths; /* protected by locks_mu */
static size_t nlocked;      /* protected by locks_mu */

static int posix_new_wfile(struct lsm_env *env, const char *path,
			   struct env_wfile **out)
{
	struct posix_wfile *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->fd < 0) {
		int err = -errno;
		free(f);
		return err;
	}
	f->base.env = env;
	*out = &f->base;
	return 0;
}

static int posix_wfile_append(struct env_wfile *wf, const void *data, size_t n)
{
	struct posix_wfile *f = (struct posix_wfile *)wf;
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(f->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int posix_wfile_sync(struct env_wfile *wf)
{
	struct posix_wfile *f = (struct posix_wfile *)wf;
	return fdatasync(f->fd) ? -errno : 0;
}

static int posix_wfile_close(struct env_wfile *wf)
{
	struct posix_wfile *f = (struct posix_wfile *)wf;
	int rc = close(f->fd) ? -errno : 0;
	free(f);
	return rc;
}

static int posix_new_rfile(struct lsm_env *env, const char *path,
			   struct env_rfile **out)
{
	struct posix_rfile *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		int err = -errno;
		free(f);
		return err;
	}
	f->base.env = env;
	*out = &f->base;
	return 0;
}

static int posix_rfile_read(struct env_rfile *rf, uint64_t off, void *buf,
			    size_t n, size_t *got)
{
	struct posix_rfile *f = (struct posix_rfile *)rf;
	char *p = buf;
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(f->fd, p + done, n - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return 0;
}

static int posix_rfile_map(struct env_rfile *rf, const char **data,
			   size_t *len)
{
	struct posix_rfile *f = (struct posix_rfile *)rf;
	struct stat st;
	int rc = map_guard_init();
	if (rc)
		return rc;
	if (fstat(f->fd, &st))
		return -errno;
	if (st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX)
		return -EINVAL;
	size_t n = (size_t)st.st_size;
	void *m = mmap(NULL, n, PROT_READ, MAP_SHARED, f->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	f->map = m;
	f->map_len = *len = n;
	*data = m;
	return 0;
}

static int posix_rfile_size(struct env_rfile *rf, uint64_t *size)
{
	struct posix_rfile *f = (struct posix_rfile *)rf;
	struct stat st;
	if (fstat(f->fd, &st))
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

static void posix_rfile_close(struct env_rfile *rf)
{
	struct posix_rfile *f = (struct posix_rfile *)rf;
	if (f->map)
		munmap(f->map, f->map_len);
	close(f->fd);
	free(f);
}

static int posix_file_size(struct lsm_env *env, const char *path,
			   uint64_t *size)
{
	(void)env;
	struct stat st;
	if (stat(path, &st))
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int posix_exists(struct lsm_env *env, const char *path)
{
	(void)env;
	return access(path, F_OK) ? -errno : 0;
}

static int posix_rename(struct lsm_env *env, const char *from, const char *to)
{
	(void)env;
	return rename(from, to) ? -errno : 0;
}

static int posix_unlink(struct lsm_env *env, const char *path)
{
	(void)env;
	return unlink(path) ? -errno : 0;
}

static int posix_truncate(struct lsm_env *env, const char *path, uint64_t size)
{
	(void)env;
	return truncate(path, (off_t)size) ? -errno : 0;
}

static int posix_mkdir(struct lsm_env *env, const char *path)
{
	(void)env;
	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(path, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int posix_sync_dir(struct lsm_env *env, const char *path)
{
	(void)env;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

static int posix_list_dir(struct lsm_env *env, const char *path,
			  char ***names, size_t *count)
{
	(void)env;
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		if (!(v[n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		n++;
		errno = 0;
	}
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	if (rc) {
		env_free_names(v, n);
		return rc;
	}
	*names = v;
	*count = n;
	return 0;
}

static int posix_lock(struct lsm_env *env, const char *path,
		      struct env_lock **out)
{
	struct posix_lock *l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->base.env = env;
	l->fd = -1;
	int rc = -ENOMEM;
	if (!(l->path = realpath(path, NULL))) {
		/* the lock file may not exist yet: create it, then resolve */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			rc = -errno;
			goto fail;
		}
		close(fd);
		if (!(l->path = realpath(path, NULL))) {
			rc = -errno;
			goto fail;
		}
	}
	pthread_mutex_lock(&locks_mu);
	for (size_t i = 0; i < nlocked; i++) {
		if (!strcmp(locked_paths[i], l->path)) {
			pthread_mutex_unlock(&locks_mu);
			rc = -EBUSY;
			goto fail;
		}
	}
	char **nv = realloc(locked_paths, (nlocked + 1) * sizeof *nv);
	if (!nv) {
		pthread_mutex_unlock(&locks_mu);
		goto fail;
	}
	locked_paths = nv;
	locked_paths[nlocked++] = l->path;
	pthread_mutex_unlock(&locks_mu);

	l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (l->fd < 0) {
		rc = -errno;
		goto unregister;
	}
	if (flock(l->fd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto unregister;
	}
	*out = &l->base;
	return 0;

unregister:
	pthread_mutex_lock(&locks_mu);
	for (size_t i = 0; i < nlocked; i++) {
		if (locked_paths[i] == l->path) {
			locked_paths[i] = locked_paths[--nlocked];
			break;
		}
	}
	pthread_mutex_unlock(&locks_mu);
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l);
	return rc;
}

static void posix_unlock(struct env_lock *el)
{
	struct posix_lock *l = (struct posix_lock *)el;
	pthread_mutex_lock(&locks_mu);
	for (size_t i = 0; i < nlocked; i++) {
		if (locked_paths[i] == l->path) {
			locked_paths[i] = locked_paths[--nlocked];
			break;
		}
	}
	pthread_mutex_unlock(&locks_mu);
	flock(l->fd, LOCK_UN);
	close(l->fd);
	free(l->path);
	free(l);
}

static uint64_t posix_now_micros(struct lsm_env *env)
{
	(void)env;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void posix_sleep_micros(struct lsm_env *env, uint64_t micros)
{
	(void)env;
	struct timespec ts = { (time_t)(micros / 1000000u),
			       (long)(micros % 1000000u) * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static struct lsm_env posix_env = {
	.new_wfile = posix_new_wfile,
	.wfile_append = posix_wfile_append,
	.wfile_sync = posix_wfile_sync,
	.wfile_close = posix_wfile_close,
	.new_rfile = posix_new_rfile,
	.rfile_read = posix_rfile_read,
	.rfile_size = posix_rfile_size,
	.rfile_map = posix_rfile_map,
	.rfile_close = posix_rfile_close,
	.file_size = posix_file_size,
	.exists = posix_exists,
	.rename = posix_rename,
	.unlink = posix_unlink,
	.truncate = posix_truncate,
	.mkdir = posix_mkdir,
	.sync_dir = posix_sync_dir,
	.list_dir = posix_list_dir,
	.lock = posix_lock,
	.unlock = posix_unlock,
	.now_micros = posix_now_micros,
	.sleep_micros = posix_sleep_micros,
};

struct lsm_env *env_posix(void)
{
	return &posix_env;
}

void env_free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* The directory part of path ("." when there is none), into out. */
static void dir_of(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(out, outlen, ".");
		return;
	}
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/name" lives in "/" */
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

int env_write_file(struct lsm_env *env, const char *path, const void *data,
		   size_t n)
{
	struct env_wfile *f;
	int rc = env->new_wfile(env, path, &f);
	if (rc)
		return rc;
	rc = env->wfile_append(f, data, n);
	if (!rc)
		rc = env->wfile_sync(f);
	int crc = env->wfile_close(f);
	if (!rc)
		rc = crc;
	if (!rc) {
		char dir[4096];
		dir_of(path, dir, sizeof dir);
		rc = env->sync_dir(env, dir);
	}
	return rc;
}

int env_read_file(struct lsm_env *env, const char *path, char **data,
		  size_t *n)
{
	struct env_rfile *f;
	uint64_t size;
	int rc = env->new_rfile(env, path, &f);
	if (rc)
		return rc;
	rc = env->rfile_size(f, &size);
	if (rc)
		goto out;
	char *p = malloc(size + 1);
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	size_t got;
	rc = env->rfile_read(f, 0, p, size, &got);
	if (rc) {
		free(p);
		goto out;
	}
	p[got] = '\0';
	*data = p;
	*n = got;
out:
	env->rfile_close(f);
	return rc;
}
