/*
 * bench_tree.c - du and rm -r for lsm bench's stores (see bench_tree.h).
 */
#include "config.h"
#include "bench_tree.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

/*
 * Walks path without following links, children before their directory:
 * returns the bytes allocated (as du counts them) and, when remove is set,
 * removes everything. Files that compaction deletes during the walk are
 * skipped.
 */
static uint64_t walk_tree(const char *path, bool remove)
{
	struct stat st;
	if (lstat(path, &st))
		return 0;
	uint64_t total = (uint64_t)st.st_blocks * 512;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			char child[PATH_MAX];
			if ((size_t)snprintf(child, sizeof child, "%s/%s", path,
					     de->d_name) >= sizeof child)
				continue;
			total += walk_tree(child, remove);
		}
		if (d)
			closedir(d);
	}
	if (remove && (S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) &&
	    errno != ENOENT)
		tool_error("bench: cannot remove '%s': %s", path,
			   strerror(errno));
	return total;
}

uint64_t bench_tree_usage(const char *dir)
{
	return walk_tree(dir, false);
}

void bench_tree_remove(const char *dir)
{
	walk_tree(dir, true);
}
