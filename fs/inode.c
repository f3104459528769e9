/* inode.c - encode and decode inode attribute records; see inode.h. */
#include "config.h"
#include "inode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coding.h"
#include "keyspace.h"
#include "log.h"

static char *put32(char *p, uint32_t v)
{
	encode_fixed32(p, v);
	return p + 4;
}

static char *put64(char *p, uint64_t v)
{
	encode_fixed64(p, v);
	return p + 8;
}

static char *put_time(char *p, struct inode_time t)
{
	p = put64(p, (uint64_t)t.sec);
	return put32(p, t.nsec);
}

static struct inode_time get_time(const char *p)
{
	struct inode_time t;
	t.sec = (int64_t)decode_fixed64(p);
	t.nsec = decode_fixed32(p + 8);
	return t;
}

int inode_encode(const struct inode_attr *a, const char *target, size_t tlen,
		 struct buf *out)
{
	char hdr[INODE_HEADER_LEN];
	char *p = hdr;
	*p++ = INODE_VERSION;
	*p++ = INODE_HEADER_LEN;
	p = put32(p, a->mode);
	p = put32(p, a->uid);
	p = put32(p, a->gid);
	p = put32(p, a->nlink);
	p = put64(p, a->size);
	p = put64(p, a->stored);
	p = put_time(p, a->atime);
	p = put_time(p, a->mtime);
	p = put_time(p, a->ctime);
	p = put64(p, a->rdev);
	p = put64(p, a->parent);
	int rc = buf_reserve(out, sizeof hdr + tlen);
	if (rc)
		return rc;
	buf_append(out, hdr, sizeof hdr);
	if (tlen)
		buf_append(out, target, tlen);
	return 0;
}

int inode_decode(const char *val, size_t vlen, struct inode_attr *a,
		 const char **target, size_t *tlen)
{
	if (vlen < 2 || (uint8_t)val[0] != INODE_VERSION)
		return -EIO;
	size_t hlen = (uint8_t)val[1];
	if (hlen < INODE_HEADER_LEN || vlen < hlen)
		return -EIO;
	const char *p = val + 2;
	a->mode = decode_fixed32(p);
	a->uid = decode_fixed32(p + 4);
	a->gid = decode_fixed32(p + 8);
	a->nlink = decode_fixed32(p + 12);
	a->size = decode_fixed64(p + 16);
	a->stored = decode_fixed64(p + 24);
	a->atime = get_time(p + 32);
	a->mtime = get_time(p + 44);
	a->ctime = get_time(p + 56);
	a->rdev = decode_fixed64(p + 68);
	a->parent = decode_fixed64(p + 76);
	if (target)
		*target = val + hlen;
	if (tlen)
		*tlen = vlen - hlen;
	return 0;
}

struct inode_time inode_now(void)
{
	struct timespec ts;
	struct inode_time t;
	clock_gettime(CLOCK_REALTIME, &ts);
	t.sec = ts.tv_sec;
	t.nsec = (uint32_t)ts.tv_nsec;
	return t;
}

void inode_to_stat(const struct inode_attr *a, uint64_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = KS_CHUNK_SIZE;
	st->st_blocks = (a->stored + 511) / 512;
	st->st_atim.tv_sec = a->atime.sec;
	st->st_atim.tv_nsec = a->atime.nsec;
	st->st_mtim.tv_sec = a->mtime.sec;
	st->st_mtim.tv_nsec = a->mtime.nsec;
	st->st_ctim.tv_sec = a->ctime.sec;
	st->st_ctim.tv_nsec = a->ctime.nsec;
}

int inode_load(struct lsm_db *db, const struct lsm_snapshot *snap,
	       uint64_t ino, struct inode_rec *r)
{
	char key[KS_INO_KEY_LEN];
	char *v;
	size_t vlen;
	const char *t;
	memset(r, 0, sizeof *r);
	int rc = lsm_get(db, snap, key, ks_inode_key(key, ino), &v, &vlen);
	if (rc)
		return rc;
	rc = inode_decode(v, vlen, &r->a, &t, &r->tlen);
	if (rc) {
		lsm_log("corrupt inode record %llu: %zu bytes",
			(unsigned long long)ino, vlen);
	} else if (r->tlen) {
		r->target = malloc(r->tlen + 1);
		if (!r->target) {
			rc = -ENOMEM;
		} else {
			memcpy(r->target, t, r->tlen);
			r->target[r->tlen] = '\0';
		}
	}
	free(v);
	if (rc)
		memset(r, 0, sizeof *r);
	return rc;
}

int inode_store(struct lsm_batch *b, uint64_t ino, const struct inode_rec *r)
{
	char key[KS_INO_KEY_LEN];
	struct buf rec = BUF_INIT;
	int rc = inode_encode(&r->a, r->target, r->tlen, &rec);
	if (!rc)
		rc = lsm_batch_put(b, key, ks_inode_key(key, ino), rec.data,
				   rec.len);
	buf_release(&rec);
	return rc;
}

void inode_rec_release(struct inode_rec *r)
{
	free(r->target);
	r->target = NULL;
	r->tlen = 0;
}
