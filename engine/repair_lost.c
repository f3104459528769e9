/*
 * repair_lost.c - moving the files a repair does not keep to lost/: at
 * once (damaged files, which the old store could not have used anyway) or
 * once the new MANIFEST is in force (files the old store still needs).
 */
#include "config.h"
#include "repair_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

/* Moves dir/name to lost/name, or lost/name.N when that is taken. */
int repair_move_to_lost(struct repair *r, const char *name)
{
	/* dir is at most FILENAME_MAX_LEN - 64 bytes, names short */
	char from[2 * FILENAME_MAX_LEN], to[2 * FILENAME_MAX_LEN];
	snprintf(from, sizeof from, "%s/%s", r->dir, name);
	snprintf(to, sizeof to, "%s/%s", r->lost, name);
	for (int i = 1; r->env->exists(r->env, to) == 0; i++) {
		if (i > 9999)
			return -EEXIST;
		snprintf(to, sizeof to, "%s/%s.%d", r->lost, name, i);
	}
	int rc = r->env->rename(r->env, from, to);
	if (rc) {
		repair_say(r, "cannot move '%s' to %s/: %s", name, LOST_DIR,
			   strerror(-rc));
		return rc;
	}
	r->moved++;
	return 0;
}

/* Remembers name to move to lost/ once the new MANIFEST is in force. */
int repair_move_later(struct repair *r, const char *name)
{
	if (r->nlater == r->cap_later) {
		size_t cap = r->cap_later ? 2 * r->cap_later : 16;
		char **p = realloc(r->later, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		r->later = p;
		r->cap_later = cap;
	}
	if (!(r->later[r->nlater] = strdup(name)))
		return -ENOMEM;
	r->nlater++;
	return 0;
}
