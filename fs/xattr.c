/* xattr.c - extended attributes, stored as 'X' be64(ino) name -> value;
 * see lsmfs.h. Namespaces user.*, trusted.* and security.*; system.*
 * (POSIX ACLs) and others are not supported. */
#include "config.h"
#include "lsmfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "inode.h"
#include "keyspace.h"
#include "ns_internal.h"

#define XATTR_VALUE_MAX 65536

/* The namespaces tmpfs and ext4 give ordinary files. The kernel has
 * already checked that the caller may use them (trusted.* needs
 * CAP_SYS_ADMIN; user.* is for files and directories only) but, FUSE
 * having one handler for every prefix, not that they exist. */
static const char *const xattr_prefixes[] = { "user.", "trusted.",
					      "security." };

/* 0, -EINVAL (nothing after the prefix), -ERANGE (too long), -EOPNOTSUPP
 * (system.*, i.e. POSIX ACLs, and unknown namespaces). */
static int name_check(const char *name, size_t *nlen)
{
	*nlen = strlen(name);
	if (*nlen > KS_NAME_MAX)
		return -ERANGE;
	for (size_t i = 0; i < sizeof xattr_prefixes / sizeof *xattr_prefixes;
	     i++) {
		size_t plen = strlen(xattr_prefixes[i]);
		if (strncmp(name, xattr_prefixes[i], plen) == 0)
			return *nlen > plen ? 0 : -EINVAL;
	}
	return -EOPNOTSUPP;
}

/* Applies a put (value not NULL) or delete of one xattr with the inode's
 * ctime update, honouring XATTR_CREATE/XATTR_REPLACE. */
static int xattr_change(struct lsmfs *fs, uint64_t ino, const char *name,
			const void *value, size_t size, int flags)
{
	struct inode_rec r;
	struct lsm_batch *b = NULL;
	char key[KS_NAME_KEY_MAX];
	char *old = NULL;
	size_t olen, nlen, klen;
	int rc = name_check(name, &nlen);
	if (rc)
		return rc;
	klen = ks_xattr_key(key, ino, name, nlen);
	struct inode_node *n = node_lock(fs, ino, 1);
	if (!n)
		return -ENOMEM;
	rc = inode_load(fs->db, NULL, ino, &r);
	if (rc)
		goto out_unlock;
	rc = lsm_get(fs->db, NULL, key, klen, &old, &olen);
	if (rc == 0 && value && (flags & XATTR_CREATE))
		rc = -EEXIST;
	else if (rc == -ENOENT && (!value || (flags & XATTR_REPLACE)))
		rc = -ENODATA;
	else if (rc == -ENOENT)
		rc = 0;
	if (!rc)
		rc = lsm_batch_new(&b);
	if (rc)
		goto out;
	rc = value ? lsm_batch_put(b, key, klen, value, size)
		   : lsm_batch_delete(b, key, klen);
	r.a.ctime = inode_now();
	if (!rc)
		rc = inode_store(b, ino, &r);
	if (!rc)
		rc = lsm_write(fs->db, b, fs->write_flags);
out:
	free(old);
	lsm_batch_free(b);
	inode_rec_release(&r);
out_unlock:
	node_unlock(fs, n);
	return rc;
}

int xattr_set(struct lsmfs *fs, uint64_t ino, const char *name,
	      const void *value, size_t size, int flags)
{
	if (size > XATTR_VALUE_MAX)
		return -E2BIG;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	return xattr_change(fs, ino, name, value ? value : "", size, flags);
}

int xattr_remove(struct lsmfs *fs, uint64_t ino, const char *name)
{
	return xattr_change(fs, ino, name, NULL, 0, 0);
}

int xattr_get(struct lsmfs *fs, uint64_t ino, const char *name,
	      char **value, size_t *size)
{
	char key[KS_NAME_KEY_MAX];
	size_t nlen;
	int rc = name_check(name, &nlen);
	/* no ACL is ever set (as ext4 without one) */
	if (rc == -EOPNOTSUPP && strncmp(name, "system.", 7) == 0)
		return -ENODATA;
	if (rc)
		return rc;
	rc = lsm_get(fs->db, NULL, key, ks_xattr_key(key, ino, name, nlen),
		     value, size);
	return rc == -ENOENT ? -ENODATA : rc;
}

int xattr_list(struct lsmfs *fs, uint64_t ino, char **names, size_t *size)
{
	struct lsm_iter *it;
	struct buf out = BUF_INIT;
	char pfx[9];
	size_t plen = ks_prefix_key(pfx, KS_XATTR, ino);
	int rc = lsm_iter_new(fs->db, NULL, &it);
	if (rc)
		return rc;
	for (lsm_iter_seek(it, pfx, plen); lsm_iter_valid(it);
	     lsm_iter_next(it)) {
		size_t klen;
		const char *k = lsm_iter_key(it, &klen);
		if (klen <= plen || memcmp(k, pfx, plen) != 0)
			break;
		rc = buf_append(&out, k + plen, klen - plen);
		if (!rc)
			rc = buf_append_byte(&out, '\0');
		if (rc)
			break;
	}
	if (!rc)
		rc = lsm_iter_status(it);
	lsm_iter_free(it);
	if (rc) {
		buf_release(&out);
		return rc;
	}
	*names = out.data;
	*size = out.len;
	return 0;
}
