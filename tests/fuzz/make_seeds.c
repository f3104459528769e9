/*
 * make_seeds.c - writes the seed corpora of the fuzz targets: a few small,
 * valid inputs per target, made with the engine's own writers so that they
 * follow docs/FORMAT.md exactly. Run by tests/fuzz/gen_corpus.sh:
 *
 *   make_seeds OUTDIR     (writes OUTDIR/{wal,sst,manifest,batch,keyspace}/)
 *
 * Each seed starts with the mode byte its target reads first (see the
 * targets' headers).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "buf.h"
#include "coding.h"
#include "env.h"
#include "inode.h"
#include "keyspace.h"
#include "lsm.h"
#include "manifest_format.h"
#include "sst_builder.h"
#include "sst_format.h"
#include "version.h"
#include "version_edit.h"
#include "wal_format.h"
#include "wal_writer.h"

static const char *out_dir;

static void die(const char *what, int rc)
{
	fprintf(stderr, "make_seeds: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

/* Writes OUT/target/name: the mode byte, then n bytes of data. */
static void seed(const char *target, const char *name, int mode,
		 const void *data, size_t n)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", out_dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		die(path, errno);
	if (mode >= 0)
		fputc(mode, f);
	if (n && fwrite(data, 1, n, f) != n)
		die(path, EIO);
	if (fclose(f))
		die(path, errno);
}

static char *slurp(const char *path, size_t *n)
{
	char *data;
	int rc = env_read_file(env_posix(), path, &data, n);
	if (rc)
		die(path, rc);
	return data;
}

/* A batch: put a=1, put ""="", delete b, put k=<200 bytes>. */
static struct lsm_batch *sample_batch(uint64_t seq)
{
	struct lsm_batch *b;
	char big[200];
	memset(big, 'v', sizeof big);
	if (lsm_batch_new(&b) || lsm_batch_put(b, "a", 1, "1", 1) ||
	    lsm_batch_put(b, "", 0, "", 0) || lsm_batch_delete(b, "b", 1) ||
	    lsm_batch_put(b, "k", 1, big, sizeof big))
		die("batch", ENOMEM);
	batch_set_sequence(b, seq);
	return b;
}

static void batch_seeds(void)
{
	struct lsm_batch *b = sample_batch(100);
	seed("batch", "four-entries", -1, b->rep.data, b->rep.len);
	lsm_batch_clear(b);
	lsm_batch_put(b, "key", 3, "value", 5);
	batch_set_sequence(b, 1);
	seed("batch", "one-put", -1, b->rep.data, b->rep.len);
	lsm_batch_clear(b);
	batch_set_sequence(b, 7);
	seed("batch", "empty", -1, b->rep.data, b->rep.len);
	lsm_batch_free(b);
}

static void wal_seeds(const char *tmp)
{
	char path[1024];
	struct wal_writer *w;
	snprintf(path, sizeof path, "%s/000001.wal", tmp);
	int rc = wal_writer_new(env_posix(), path, WAL_MAGIC, &w);
	if (rc)
		die(path, rc);
	for (uint64_t seq = 1; seq < 12; seq += 4) {
		struct lsm_batch *b = sample_batch(seq);
		if ((rc = wal_writer_add(w, WAL_RECORD_BATCH, buf_slice(&b->rep))))
			die("wal add", rc);
		lsm_batch_free(b);
	}
	wal_writer_close(w);
	size_t n;
	char *data = slurp(path, &n);
	seed("wal", "wal-three-batches", 0, data, n);
	seed("wal", "wal-three-batches-skip", 2, data, n);
	/* a torn tail */
	seed("wal", "wal-torn-tail", 0, data, n - 7);
	free(data);

	/* framed mode: type byte, length byte, payload */
	struct lsm_batch *b = sample_batch(40);
	struct buf framed = BUF_INIT;
	for (int i = 0; i < 2; i++) {
		char hdr[2] = { 1, (char)b->rep.len };
		buf_append(&framed, hdr, 2);
		buf_append(&framed, b->rep.data, b->rep.len);
	}
	seed("wal", "framed-two-batches", 4, framed.data, framed.len);
	buf_release(&framed);
	lsm_batch_free(b);
}

static struct lsm_options table_opts(int compression)
{
	struct lsm_options o;
	lsm_options_init(&o);
	o.block_size = 256;
	o.compression = compression;
	return o;
}

/* A table of 40 entries (values and tombstones, a few blocks). */
static void build_table(const char *path, int compression)
{
	struct lsm_options o = table_opts(compression);
	struct sst_builder *b;
	int rc = sst_builder_new(env_posix(), &o, path, 1, &b);
	if (rc)
		die(path, rc);
	for (int i = 0; i < 40; i++) {
		char key[32], ik[48], val[64];
		int kl = snprintf(key, sizeof key, "key%03d", i);
		memcpy(ik, key, (size_t)kl);
		uint64_t seq = 1000 - (uint64_t)i;
		int type = i % 7 == 3 ? 0 : 1;
		encode_fixed64(ik + kl, seq << 8 | (uint64_t)type);
		int vl = type ? snprintf(val, sizeof val,
					 "value of %s, value of %s", key, key)
			      : 0;
		rc = sst_builder_add(b, slice_make(ik, (size_t)kl + 8),
				     slice_make(val, (size_t)vl));
		if (rc)
			die("sst add", rc);
	}
	struct sst_props p;
	memset(&p, 0, sizeof p);
	if ((rc = sst_builder_finish(b, &p)))
		die("sst finish", rc);
	sst_props_release(&p);
	sst_builder_free(b);
}

static void sst_seeds(const char *tmp)
{
	char path[1024];
	size_t n;
	snprintf(path, sizeof path, "%s/000002.sst", tmp);
	build_table(path, LSM_COMPRESSION_ZSTD);
	char *data = slurp(path, &n);
	seed("sst", "table-zstd", 0, data, n);
	seed("sst", "table-zstd-fixup", 64, data, n);
	free(data);

	snprintf(path, sizeof path, "%s/000003.sst", tmp);
	build_table(path, LSM_COMPRESSION_NONE);
	data = slurp(path, &n);
	seed("sst", "table-raw", 0, data, n);
	seed("sst", "table-raw-fixup", 64, data, n);
	/* the first data block, the index block and the properties */
	const char *f = data + n - SST_FOOTER_SIZE;
	uint64_t ioff = decode_fixed64(f + 16), ilen = decode_fixed64(f + 24);
	uint64_t poff = decode_fixed64(f + 32), plen = decode_fixed64(f + 40);
	uint64_t first = decode_fixed64(f) ? decode_fixed64(f) : ioff;
	seed("sst", "block-index", 128, data + ioff, (size_t)ilen);
	seed("sst", "props", 192, data + poff, (size_t)plen);
	(void)first;
	/* data block 0 ends where the index says; take its handle */
	const char *p = data + ioff;
	uint32_t shared, nonshared, vlen;
	p = decode_varint32(p, data + ioff + ilen, &shared);
	p = p ? decode_varint32(p, data + ioff + ilen, &nonshared) : NULL;
	p = p ? decode_varint32(p, data + ioff + ilen, &vlen) : NULL;
	if (p) {
		uint64_t doff, dlen;
		const char *v = p + nonshared;
		v = decode_varint64(v, v + vlen, &doff);
		if (v && decode_varint64(v, p + nonshared + vlen, &dlen))
			seed("sst", "block-data", 128, data + doff, (size_t)dlen);
	}
	free(data);
}

static void manifest_seeds(void)
{
	struct version_edit e;
	struct buf enc = BUF_INIT;
	struct file_meta *f;
	version_edit_init(&e);
	version_edit_set_log_number(&e, 4);
	version_edit_set_next_file_number(&e, 7);
	version_edit_set_last_sequence(&e, 100);
	if (file_meta_new(&f))
		die("file_meta", ENOMEM);
	f->number = 5;
	f->file_size = 1000;
	char sm[9] = "a", lg[9] = "z";
	encode_fixed64(sm + 1, 90u << 8 | 1);
	encode_fixed64(lg + 1, 99u << 8 | 0);
	buf_set(&f->smallest, sm, 9);
	buf_set(&f->largest, lg, 9);
	f->entries = 10;
	f->tombstones = 1;
	f->min_seq = 90;
	f->max_seq = 99;
	f->created_unix = 1700000000;
	f->reason = 1;
	version_edit_add_file(&e, 1, f);
	version_edit_set_compact_pointer(&e, 1, slice_make(lg, 9));
	if (version_edit_encode(&e, &enc))
		die("edit", ENOMEM);
	seed("manifest", "edit-add", 0, enc.data, enc.len);

	/* a MANIFEST: a snapshot edit, then an edit moving the table down
	 * (chunks: length byte, edit) */
	struct buf file = BUF_INIT;
	char len = (char)enc.len;
	buf_append(&file, &len, 1);
	buf_append(&file, enc.data, enc.len);
	struct version_edit m;
	struct buf menc = BUF_INIT;
	version_edit_init(&m);
	version_edit_delete_file(&m, 1, 5);
	version_edit_add_file(&m, 2, f);
	version_edit_set_last_sequence(&m, 120);
	if (version_edit_encode(&m, &menc))
		die("edit", ENOMEM);
	seed("manifest", "edit-move", 0, menc.data, menc.len);
	len = (char)menc.len;
	buf_append(&file, &len, 1);
	buf_append(&file, menc.data, menc.len);
	seed("manifest", "manifest-two-edits", 1, file.data, file.len);

	buf_release(&file);
	buf_release(&menc);
	buf_release(&enc);
	version_edit_release(&m);
	version_edit_release(&e);
	file_meta_unref(f);
}

static void keyspace_seeds(void)
{
	char buf[KS_NAME_KEY_MAX];
	size_t n = ks_super_key(buf);
	seed("keyspace", "key-super", -1, buf, n);
	n = ks_inode_key(buf, 42);
	seed("keyspace", "key-inode", -1, buf, n);
	n = ks_chunk_key(buf, 42, 3);
	seed("keyspace", "key-chunk", -1, buf, n);
	n = ks_dentry_key(buf, 1, "hello.txt", 9);
	seed("keyspace", "key-dentry", -1, buf, n);
	n = ks_xattr_key(buf, 7, "user.x", 6);
	seed("keyspace", "key-xattr", -1, buf, n);
	seed("keyspace", "path", -1, "dir/sub/file name", 17);
	char dv[KS_DENTRY_VAL_LEN];
	ks_dentry_encode(dv, 42, 8);
	seed("keyspace", "dentry-value", -1, dv, sizeof dv);
	struct ks_super sb = { KS_FORMAT_VERSION, 100 };
	char sv[KS_SUPER_LEN];
	ks_super_encode(sv, &sb);
	seed("keyspace", "super-value", -1, sv, sizeof sv);
	struct inode_attr a;
	memset(&a, 0, sizeof a);
	a.mode = 0120777;
	a.nlink = 1;
	a.size = 6;
	struct buf rec = BUF_INIT;
	if (inode_encode(&a, "target", 6, &rec))
		die("inode", ENOMEM);
	seed("keyspace", "inode-symlink", -1, rec.data, rec.len);
	buf_release(&rec);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_seeds OUTDIR\n");
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0755);
	char tmp[] = "/tmp/make_seeds.XXXXXX";
	if (!mkdtemp(tmp))
		die("mkdtemp", errno);
	lsm_set_log_handler(NULL, NULL);
	batch_seeds();
	wal_seeds(tmp);
	sst_seeds(tmp);
	manifest_seeds();
	keyspace_seeds();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : 1;
}
