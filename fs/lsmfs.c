/* lsmfs.c - filesystem setup and teardown, inode number allocation, orphan
 * purging and directory listings; see lsmfs.h. */
#include "config.h"
#include "lsmfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace.h"
#include "log.h"
#include "lsmdir.h"
#include "ns_internal.h"

/* Collects the inode numbers of all orphan records. */
static int orphans_list(struct lsm_db *db, uint64_t **out, size_t *count)
{
	struct lsm_iter *it;
	uint64_t *v = NULL;
	size_t n = 0, cap = 0;
	char pfx[1] = { KS_ORPHAN };
	int rc = lsm_iter_new(db, NULL, &it);
	if (rc)
		return rc;
	for (lsm_iter_seek(it, pfx, 1); lsm_iter_valid(it);
	     lsm_iter_next(it)) {
		size_t klen;
		const char *k = lsm_iter_key(it, &klen);
		if (k[0] != KS_ORPHAN)
			break;
		if (klen != KS_INO_KEY_LEN)
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			uint64_t *nv = realloc(v, ncap * sizeof *v);
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = ks_get_be64(k + 1);
	}
	if (!rc)
		rc = lsm_iter_status(it);
	lsm_iter_free(it);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*count = n;
	return 0;
}

/* Purges every orphan: called when no file can be open (mount, unmount). */
static int orphans_purge(struct lsmfs *fs)
{
	uint64_t *v;
	size_t n;
	int rc = orphans_list(fs->db, &v, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		ns_purge(fs, v[i]);
	free(v);
	return 0;
}

int lsmfs_init(struct lsmfs *fs, struct lsm_db *db, const char *datadir)
{
	struct ks_super sb;
	int rc;

	memset(fs, 0, sizeof *fs);
	fs->db = db;
	fs->write_behind = 1;
	pthread_mutex_init(&fs->ialloc_mu, NULL);
	fs->datadir = strdup(datadir);
	if (!fs->datadir)
		return -ENOMEM;
	rc = itable_init(&fs->itable);
	if (rc)
		goto fail;
	rc = ks_format(db);
	if (!rc)
		rc = ks_super_load(db, &sb);
	if (rc) {
		lsm_log("cannot set up the file tree in '%s': %s", datadir,
			lsm_strerror(rc));
		goto fail;
	}
	fs->next_ino = fs->ino_limit = sb.next_ino;
	rc = orphans_purge(fs);
	if (!rc)
		rc = lsmdir_init(fs);
	if (rc)
		goto fail;
	return 0;
fail:
	itable_release(&fs->itable);
	free(fs->datadir);
	fs->datadir = NULL;
	return rc;
}

/* Writes back a node's buffered chunk at shutdown (no request runs). */
static void flush_node(struct inode_node *n, void *ctx)
{
	int rc = file_wb_flush(ctx, n);
	if (rc)
		lsm_log("inode %llu: buffered data lost at unmount: %s",
			(unsigned long long)n->ino, lsm_strerror(rc));
}

void lsmfs_release(struct lsmfs *fs)
{
	if (!fs->datadir)
		return;
	itable_for_each(&fs->itable, flush_node, fs);
	lsmdir_release(fs);
	orphans_purge(fs);
	itable_release(&fs->itable);
	pthread_mutex_destroy(&fs->ialloc_mu);
	free(fs->datadir);
	fs->datadir = NULL;
}

int ns_ialloc(struct lsmfs *fs, uint64_t *ino)
{
	int rc = 0;
	pthread_mutex_lock(&fs->ialloc_mu);
	if (fs->next_ino >= fs->ino_limit) {
		/* persist the new limit before any number below it is used:
		 * the WAL orders this put before the batches that use it */
		struct ks_super sb = { KS_FORMAT_VERSION,
				       fs->next_ino + LSMFS_IALLOC_BATCH };
		char k[1], v[KS_SUPER_LEN];
		if (sb.next_ino >= KS_VIRTUAL_INO_BASE) {
			rc = -ENOSPC;
			goto out;
		}
		ks_super_encode(v, &sb);
		rc = lsm_put(fs->db, k, ks_super_key(k), v, sizeof v);
		if (rc)
			goto out;
		fs->ino_limit = sb.next_ino;
	}
	*ino = fs->next_ino++;
out:
	pthread_mutex_unlock(&fs->ialloc_mu);
	return rc;
}

void ns_purge(struct lsmfs *fs, uint64_t ino)
{
	struct lsm_batch *b;
	int rc = lsm_batch_new(&b);
	if (!rc)
		rc = ks_purge_inode(fs->db, ino, b);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
	lsm_batch_free(b);
	if (rc)
		lsm_log("cannot delete unlinked inode %llu: %s (it is retried "
			"at the next mount)",
			(unsigned long long)ino, lsm_strerror(rc));
}

int dirlist_add(struct dirlist *dl, const char *name, size_t nlen,
		uint64_t ino, uint8_t type)
{
	if (dl->n == dl->cap) {
		size_t ncap = dl->cap ? 2 * dl->cap : 32;
		struct dirlist_ent *nv = realloc(dl->v, ncap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		dl->v = nv;
		dl->cap = ncap;
	}
	char *s = malloc(nlen + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, name, nlen);
	s[nlen] = '\0';
	dl->v[dl->n].name = s;
	dl->v[dl->n].ino = ino;
	dl->v[dl->n].type = type;
	dl->n++;
	return 0;
}

void dirlist_release(struct dirlist *dl)
{
	for (size_t i = 0; i < dl->n; i++)
		free(dl->v[i].name);
	free(dl->v);
	dl->v = NULL;
	dl->n = dl->cap = 0;
}
