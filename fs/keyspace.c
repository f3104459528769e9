/* keyspace.c - record keys and values of the file-tree schema; see
 * keyspace.h. The path-level functions live in keypath.c. */
#include "config.h"
#include "keyspace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coding.h"
#include "inode.h"
#include "log.h"

size_t ks_super_key(char *buf)
{
	buf[0] = KS_SUPER;
	return 1;
}

static size_t tag_ino(char *buf, enum ks_kind kind, uint64_t ino)
{
	buf[0] = (char)kind;
	ks_put_be64(buf + 1, ino);
	return 9;
}

size_t ks_inode_key(char *buf, uint64_t ino)
{
	return tag_ino(buf, KS_INODE, ino);
}

size_t ks_orphan_key(char *buf, uint64_t ino)
{
	return tag_ino(buf, KS_ORPHAN, ino);
}

size_t ks_prefix_key(char *buf, enum ks_kind kind, uint64_t ino)
{
	return tag_ino(buf, kind, ino);
}

size_t ks_chunk_key(char *buf, uint64_t ino, uint64_t index)
{
	tag_ino(buf, KS_CHUNK, ino);
	ks_put_be64(buf + 9, index);
	return KS_CHUNK_KEY_LEN;
}

static size_t tag_ino_name(char *buf, enum ks_kind kind, uint64_t ino,
			   const char *name, size_t nlen)
{
	tag_ino(buf, kind, ino);
	memcpy(buf + 9, name, nlen);
	return 9 + nlen;
}

size_t ks_dentry_key(char *buf, uint64_t parent, const char *name,
		     size_t nlen)
{
	return tag_ino_name(buf, KS_DENTRY, parent, name, nlen);
}

size_t ks_xattr_key(char *buf, uint64_t ino, const char *name, size_t nlen)
{
	return tag_ino_name(buf, KS_XATTR, ino, name, nlen);
}

int ks_key_decode(const char *key, size_t klen, struct ks_key *out)
{
	memset(out, 0, sizeof *out);
	if (klen == 0)
		return -EINVAL;
	out->kind = (enum ks_kind)(unsigned char)key[0];
	switch (out->kind) {
	case KS_SUPER:
		return klen == 1 ? 0 : -EINVAL;
	case KS_INODE:
	case KS_ORPHAN:
		if (klen != 9)
			return -EINVAL;
		out->ino = ks_get_be64(key + 1);
		return 0;
	case KS_CHUNK:
		if (klen != KS_CHUNK_KEY_LEN)
			return -EINVAL;
		out->ino = ks_get_be64(key + 1);
		out->index = ks_get_be64(key + 9);
		return 0;
	case KS_DENTRY:
	case KS_XATTR:
		if (klen <= 9 || klen > KS_NAME_KEY_MAX)
			return -EINVAL;
		out->ino = ks_get_be64(key + 1);
		out->name = key + 9;
		out->nlen = klen - 9;
		return 0;
	}
	return -EINVAL;
}

void ks_dentry_encode(char *buf, uint64_t ino, uint8_t type)
{
	ks_put_be64(buf, ino);
	buf[8] = (char)type;
}

int ks_dentry_decode(const char *val, size_t vlen, uint64_t *ino,
		     uint8_t *type)
{
	if (vlen != KS_DENTRY_VAL_LEN)
		return -EIO;
	*ino = ks_get_be64(val);
	*type = (uint8_t)val[8];
	if (*ino == 0 || *ino >= KS_VIRTUAL_INO_BASE)
		return -EIO;
	return 0;
}

void ks_super_encode(char *buf, const struct ks_super *sb)
{
	encode_fixed32(buf, sb->version);
	encode_fixed64(buf + 4, sb->next_ino);
}

int ks_super_decode(const char *val, size_t vlen, struct ks_super *sb)
{
	if (vlen < KS_SUPER_LEN)
		return -EIO;
	sb->version = decode_fixed32(val);
	sb->next_ino = decode_fixed64(val + 4);
	if (sb->next_ino <= KS_ROOT_INO || sb->next_ino >= KS_VIRTUAL_INO_BASE)
		return -EIO;
	return 0;
}

int ks_super_load(struct lsm_db *db, struct ks_super *sb)
{
	char key[1];
	char *v;
	size_t vlen;
	int rc = lsm_get(db, NULL, key, ks_super_key(key), &v, &vlen);
	if (rc)
		return rc;
	rc = ks_super_decode(v, vlen, sb);
	if (rc)
		lsm_log("corrupt superblock record: %zu bytes", vlen);
	free(v);
	return rc;
}

int ks_format(struct lsm_db *db)
{
	struct ks_super sb;
	struct lsm_batch *b = NULL;
	struct buf rec = BUF_INIT;
	char key[KS_INO_KEY_LEN], sval[KS_SUPER_LEN];
	int rc = ks_super_load(db, &sb);

	if (rc == 0) {
		if (sb.version > KS_FORMAT_VERSION) {
			lsm_log("store has file-tree format version %u; this "
				"program knows up to %u",
				sb.version, KS_FORMAT_VERSION);
			return -EPROTONOSUPPORT;
		}
		return 0;
	}
	if (rc != -ENOENT)
		return rc;

	struct inode_attr a;
	memset(&a, 0, sizeof a);
	a.mode = S_IFDIR | 0755;
	a.uid = geteuid();
	a.gid = getegid();
	a.nlink = 2;
	a.atime = a.mtime = a.ctime = inode_now();
	a.parent = KS_ROOT_INO;
	sb.version = KS_FORMAT_VERSION;
	sb.next_ino = KS_ROOT_INO + 1;
	ks_super_encode(sval, &sb);
	rc = inode_encode(&a, NULL, 0, &rec);
	if (!rc)
		rc = lsm_batch_new(&b);
	if (!rc)
		rc = lsm_batch_put(b, key, ks_inode_key(key, KS_ROOT_INO),
				   rec.data, rec.len);
	if (!rc)
		rc = lsm_batch_put(b, key, ks_super_key(key), sval, sizeof sval);
	if (!rc)
		rc = lsm_write(db, b, LSM_WRITE_SYNC);
	lsm_batch_free(b);
	buf_release(&rec);
	return rc;
}

/* Deletes every key starting with the 9-byte prefix kind|be64(ino). */
static int delete_prefix(struct lsm_db *db, enum ks_kind kind, uint64_t ino,
			 struct lsm_batch *b)
{
	struct lsm_iter *it;
	char pfx[9];
	size_t plen = ks_prefix_key(pfx, kind, ino);
	int rc = lsm_iter_new(db, NULL, &it);
	if (rc)
		return rc;
	for (lsm_iter_seek(it, pfx, plen); lsm_iter_valid(it);
	     lsm_iter_next(it)) {
		size_t klen;
		const char *k = lsm_iter_key(it, &klen);
		if (klen < plen || memcmp(k, pfx, plen) != 0)
			break;
		rc = lsm_batch_delete(b, k, klen);
		if (rc)
			break;
	}
	if (!rc)
		rc = lsm_iter_status(it);
	lsm_iter_free(it);
	return rc;
}

int ks_purge_inode(struct lsm_db *db, uint64_t ino, struct lsm_batch *b)
{
	char key[KS_INO_KEY_LEN];
	int rc = delete_prefix(db, KS_CHUNK, ino, b);
	if (!rc)
		rc = delete_prefix(db, KS_XATTR, ino, b);
	if (!rc)
		rc = delete_prefix(db, KS_DENTRY, ino, b);
	if (!rc)
		rc = lsm_batch_delete(b, key, ks_inode_key(key, ino));
	if (!rc)
		rc = lsm_batch_delete(b, key, ks_orphan_key(key, ino));
	return rc;
}
