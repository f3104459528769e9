/* filedata.c - chunked file content; see filedata.h. */
#include "config.h"
#include "filedata.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace.h"
#include "log.h"

#define CS ((uint64_t)KS_CHUNK_SIZE)

/* Copies chunk value v (vlen bytes, chunk index idx) into dst, which holds
 * the file bytes [off, end). */
static void copy_chunk(uint64_t idx, const char *v, size_t vlen, uint64_t off,
		       uint64_t end, char *dst)
{
	uint64_t cstart = idx * CS;
	uint64_t from = cstart > off ? cstart : off;
	uint64_t to = cstart + vlen < end ? cstart + vlen : end;
	if (from < to)
		memcpy(dst + (from - off), v + (from - cstart), to - from);
}

static int read_one(struct lsm_db *db, const struct lsm_snapshot *snap,
		    uint64_t ino, uint64_t idx, uint64_t off, uint64_t end,
		    char *dst)
{
	char key[KS_CHUNK_KEY_LEN];
	char *v;
	size_t vlen;
	int rc = lsm_get(db, snap, key, ks_chunk_key(key, ino, idx), &v, &vlen);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (vlen > CS) {
		lsm_log("corrupt chunk %llu of inode %llu: %zu bytes",
			(unsigned long long)idx, (unsigned long long)ino, vlen);
		free(v);
		return -EIO;
	}
	copy_chunk(idx, v, vlen, off, end, dst);
	free(v);
	return 0;
}

/* Many chunks: one iterator seek and a walk, instead of a get per chunk. */
static int read_many(struct lsm_db *db, const struct lsm_snapshot *snap,
		     uint64_t ino, uint64_t first, uint64_t last, uint64_t off,
		     uint64_t end, char *dst)
{
	struct lsm_iter *it;
	char key[KS_CHUNK_KEY_LEN];
	int rc = lsm_iter_new(db, snap, &it);
	if (rc)
		return rc;
	for (lsm_iter_seek(it, key, ks_chunk_key(key, ino, first));
	     lsm_iter_valid(it); lsm_iter_next(it)) {
		size_t klen, vlen;
		const char *k = lsm_iter_key(it, &klen);
		if (klen != KS_CHUNK_KEY_LEN || k[0] != KS_CHUNK ||
		    ks_get_be64(k + 1) != ino)
			break;
		uint64_t idx = ks_get_be64(k + 9);
		if (idx > last)
			break;
		const char *v = lsm_iter_value(it, &vlen);
		if (vlen > CS) {
			lsm_log("corrupt chunk %llu of inode %llu: %zu bytes",
				(unsigned long long)idx,
				(unsigned long long)ino, vlen);
			rc = -EIO;
			break;
		}
		copy_chunk(idx, v, vlen, off, end, dst);
	}
	if (!rc)
		rc = lsm_iter_status(it);
	lsm_iter_free(it);
	return rc;
}

int fdata_read(struct lsm_db *db, const struct lsm_snapshot *snap,
	       uint64_t ino, uint64_t size, uint64_t off, size_t len,
	       char *dst, size_t *n)
{
	*n = 0;
	if (off >= size || len == 0)
		return 0;
	uint64_t end = size - off < len ? size : off + len;
	memset(dst, 0, end - off);
	uint64_t first = off / CS, last = (end - 1) / CS;
	int rc = first == last
			 ? read_one(db, snap, ino, first, off, end, dst)
			 : read_many(db, snap, ino, first, last, off, end, dst);
	if (!rc)
		*n = end - off;
	return rc;
}

int fdata_chunk_load(struct lsm_db *db, uint64_t ino, uint64_t idx,
		     uint64_t old_size, char **v, size_t *vlen)
{
	char key[KS_CHUNK_KEY_LEN];
	*v = NULL;
	*vlen = 0;
	if (idx * CS >= old_size)
		return 0;
	int rc = lsm_get(db, NULL, key, ks_chunk_key(key, ino, idx), v, vlen);
	if (rc == -ENOENT)
		return 0;
	if (!rc && *vlen > CS) {
		lsm_log("corrupt chunk %llu of inode %llu: %zu bytes",
			(unsigned long long)idx, (unsigned long long)ino,
			*vlen);
		free(*v);
		*v = NULL;
		return -EIO;
	}
	return rc;
}

int fdata_write(struct lsm_db *db, uint64_t ino, struct inode_attr *a,
		uint64_t off, const void *data, size_t len,
		struct lsm_batch *b)
{
	const char *src = data;
	char key[KS_CHUNK_KEY_LEN];
	char *merged = NULL;
	int rc = 0;

	if (len == 0)
		return 0;
	if (off > FDATA_MAX_SIZE || len > FDATA_MAX_SIZE - off)
		return -EFBIG;
	uint64_t end = off + len;
	for (uint64_t pos = off; pos < end;) {
		uint64_t idx = pos / CS, cstart = idx * CS;
		size_t in = (size_t)(pos - cstart);
		size_t n = (size_t)(end - pos < CS - in ? end - pos : CS - in);
		char *old;
		size_t olen;
		rc = fdata_chunk_load(db, ino, idx, a->size, &old, &olen);
		if (rc)
			goto out;
		size_t nlen = in + n > olen ? in + n : olen;
		const char *val = src;
		if (in != 0 || n != nlen) {
			if (!merged && !(merged = malloc(CS))) {
				free(old);
				rc = -ENOMEM;
				goto out;
			}
			if (olen)
				memcpy(merged, old, olen);
			if (in > olen)
				memset(merged + olen, 0, in - olen);
			memcpy(merged + in, src, n);
			val = merged;
		}
		free(old);
		rc = lsm_batch_put(b, key, ks_chunk_key(key, ino, idx), val,
				   nlen);
		if (rc)
			goto out;
		a->stored += nlen - olen;
		src += n;
		pos += n;
	}
	if (end > a->size)
		a->size = end;
out:
	free(merged);
	return rc;
}

/* Deletes every chunk with index >= first, subtracting their lengths. */
static int delete_from(struct lsm_db *db, uint64_t ino, uint64_t first,
		       struct inode_attr *a, struct lsm_batch *b)
{
	struct lsm_iter *it;
	char key[KS_CHUNK_KEY_LEN];
	int rc = lsm_iter_new(db, NULL, &it);
	if (rc)
		return rc;
	for (lsm_iter_seek(it, key, ks_chunk_key(key, ino, first));
	     lsm_iter_valid(it); lsm_iter_next(it)) {
		size_t klen, vlen;
		const char *k = lsm_iter_key(it, &klen);
		if (klen != KS_CHUNK_KEY_LEN || k[0] != KS_CHUNK ||
		    ks_get_be64(k + 1) != ino)
			break;
		lsm_iter_value(it, &vlen);
		rc = lsm_batch_delete(b, k, klen);
		if (rc)
			break;
		a->stored -= vlen < a->stored ? vlen : a->stored;
	}
	if (!rc)
		rc = lsm_iter_status(it);
	lsm_iter_free(it);
	return rc;
}

int fdata_truncate(struct lsm_db *db, uint64_t ino, struct inode_attr *a,
		   uint64_t size, struct lsm_batch *b)
{
	char key[KS_CHUNK_KEY_LEN];
	int rc;

	if (size > FDATA_MAX_SIZE)
		return -EFBIG;
	if (size >= a->size) {
		a->size = size;
		return 0;
	}
	uint64_t first_gone = (size + CS - 1) / CS;
	rc = delete_from(db, ino, first_gone, a, b);
	if (rc)
		return rc;
	if (size % CS) {
		uint64_t idx = size / CS;
		size_t keep = (size_t)(size % CS);
		char *old;
		size_t olen;
		rc = fdata_chunk_load(db, ino, idx, a->size, &old, &olen);
		if (rc)
			return rc;
		if (olen > keep) {
			rc = lsm_batch_put(b, key, ks_chunk_key(key, ino, idx),
					   old, keep);
			a->stored -= olen - keep;
		}
		free(old);
		if (rc)
			return rc;
	}
	a->size = size;
	return 0;
}

int fdata_replace(struct lsm_db *db, uint64_t ino, struct inode_attr *a,
		  const void *data, size_t len, struct lsm_batch *b)
{
	char key[KS_CHUNK_KEY_LEN];
	const char *src = data;
	uint64_t nchunks = (len + CS - 1) / CS;
	int rc = delete_from(db, ino, nchunks, a, b);
	if (rc)
		return rc;
	for (uint64_t idx = 0; idx < nchunks; idx++) {
		size_t n = len - idx * CS < CS ? len - idx * CS : CS;
		rc = lsm_batch_put(b, key, ks_chunk_key(key, ino, idx),
				   src + idx * CS, n);
		if (rc)
			return rc;
	}
	a->size = len;
	a->stored = len;
	return 0;
}
