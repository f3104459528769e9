/* lsmdir.c - the virtual .lsm/ directory; see lsmdir.h. For now it is an
 * empty read-only directory: the statistics files are still to come. */
#include "config.h"
#include "lsmdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lsmfs.h"

/* mount time: the times of every virtual inode */
static struct timespec lsmdir_time;

int lsmdir_init(struct lsmfs *fs)
{
	(void)fs;
	clock_gettime(CLOCK_REALTIME, &lsmdir_time);
	return 0;
}

void lsmdir_release(struct lsmfs *fs)
{
	(void)fs;
}

int lsmdir_root_entry(struct lsmfs *fs, struct dirlist *dl)
{
	(void)fs;
	return dirlist_add(dl, KS_RESERVED_NAME, strlen(KS_RESERVED_NAME),
			   LSMDIR_ROOT_INO, DT_DIR);
}

int lsmdir_getattr(struct lsmfs *fs, uint64_t ino, struct stat *st)
{
	(void)fs;
	if (ino != LSMDIR_ROOT_INO)
		return -ENOENT;
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atim = st->st_mtim = st->st_ctim = lsmdir_time;
	st->st_blksize = 4096;
	return 0;
}

int lsmdir_lookup(struct lsmfs *fs, uint64_t parent, const char *name,
		  struct stat *st)
{
	if (parent == KS_ROOT_INO && strcmp(name, KS_RESERVED_NAME) == 0)
		return lsmdir_getattr(fs, LSMDIR_ROOT_INO, st);
	if (parent == LSMDIR_ROOT_INO && strcmp(name, ".") == 0)
		return lsmdir_getattr(fs, LSMDIR_ROOT_INO, st);
	return -ENOENT;
}

int lsmdir_readdir(struct lsmfs *fs, uint64_t ino, struct dirlist *dl)
{
	(void)fs;
	if (ino != LSMDIR_ROOT_INO)
		return lsmdir_owns(ino) ? -ENOTDIR : -ENOENT;
	int rc = dirlist_add(dl, ".", 1, LSMDIR_ROOT_INO, DT_DIR);
	if (!rc)
		rc = dirlist_add(dl, "..", 2, KS_ROOT_INO, DT_DIR);
	return rc;
}

int lsmdir_open(struct lsmfs *fs, uint64_t ino, int flags, uint64_t *fh)
{
	(void)fs;
	(void)fh;
	if ((flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	return ino == LSMDIR_ROOT_INO ? -EISDIR : -ENOENT;
}

int lsmdir_read(struct lsmfs *fs, uint64_t ino, uint64_t fh, uint64_t off,
		size_t size, char *buf, size_t *n)
{
	(void)fs;
	(void)ino;
	(void)fh;
	(void)off;
	(void)size;
	(void)buf;
	*n = 0;
	return -EBADF;
}

void lsmdir_release_file(struct lsmfs *fs, uint64_t ino, uint64_t fh)
{
	(void)fs;
	(void)ino;
	(void)fh;
}
