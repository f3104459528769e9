/*
 * fuzz_keyspace.c - libFuzzer target: the file-tree schema's decoders
 * (fs/keyspace.h, fs/inode.h) over arbitrary bytes: record keys, paths,
 * dentry values, the superblock, inode records.
 *
 * Properties: no crash; whatever decodes re-encodes to the same bytes
 * (keys and dentries exactly, the superblock's first KS_SUPER_LEN bytes);
 * a path that validates has no empty, "." or ".." component, no NUL, and
 * fits the limits, and a path refused says why.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "buf.h"
#include "fuzz_util.h"
#include "inode.h"
#include "keyspace.h"

static void keyspace_fuzz_key(const char *k, size_t n)
{
	struct ks_key key;
	char buf[KS_NAME_KEY_MAX + KS_CHUNK_KEY_LEN];
	size_t len = 0;
	if (ks_key_decode(k, n, &key))
		return;
	switch (key.kind) {
	case KS_SUPER:
		len = ks_super_key(buf);
		break;
	case KS_INODE:
		len = ks_inode_key(buf, key.ino);
		break;
	case KS_ORPHAN:
		len = ks_orphan_key(buf, key.ino);
		break;
	case KS_CHUNK:
		len = ks_chunk_key(buf, key.ino, key.index);
		break;
	case KS_DENTRY:
		FUZZ_CHECK(key.nlen >= 1 && key.nlen <= KS_NAME_MAX);
		len = ks_dentry_key(buf, key.ino, key.name, key.nlen);
		break;
	case KS_XATTR:
		FUZZ_CHECK(key.nlen >= 1 && key.nlen <= KS_NAME_MAX);
		len = ks_xattr_key(buf, key.ino, key.name, key.nlen);
		break;
	default:
		FUZZ_CHECK(!"ks_key_decode accepted an unknown kind");
	}
	FUZZ_CHECK(len == n && !memcmp(buf, k, n));
}

static void keyspace_fuzz_path(const char *k, size_t n)
{
	const char *why = NULL;
	int rc = ks_path_validate(k, n, &why);
	if (rc) {
		FUZZ_CHECK(rc == -EINVAL || rc == -ENAMETOOLONG);
		FUZZ_CHECK(why && *why);
		return;
	}
	FUZZ_CHECK(n > 0 && n < KS_PATH_MAX);
	FUZZ_CHECK(!memchr(k, '\0', n));
	FUZZ_CHECK(k[0] != '/' && k[n - 1] != '/');
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && k[i] != '/')
			continue;
		size_t clen = i - start;
		FUZZ_CHECK(clen >= 1 && clen <= KS_NAME_MAX);
		FUZZ_CHECK(!(clen == 1 && k[start] == '.'));
		FUZZ_CHECK(!(clen == 2 && k[start] == '.' && k[start + 1] == '.'));
		start = i + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_scratch_dir(); /* silences the log */
	/* a private copy: ASan catches reads past the end */
	char *k = malloc(size ? size : 1);
	if (!k)
		return 0;
	memcpy(k, data, size);

	keyspace_fuzz_key(k, size);
	keyspace_fuzz_path(k, size);

	uint64_t ino;
	uint8_t type;
	if (ks_dentry_decode(k, size, &ino, &type) == 0) {
		char buf[KS_DENTRY_VAL_LEN];
		ks_dentry_encode(buf, ino, type);
		FUZZ_CHECK(size == KS_DENTRY_VAL_LEN && !memcmp(buf, k, size));
	}

	struct ks_super sb;
	if (ks_super_decode(k, size, &sb) == 0) {
		char buf[KS_SUPER_LEN];
		ks_super_encode(buf, &sb);
		FUZZ_CHECK(size >= KS_SUPER_LEN && !memcmp(buf, k, KS_SUPER_LEN));
	}

	struct inode_attr a;
	const char *target = NULL;
	size_t tlen = 0;
	if (inode_decode(k, size, &a, &target, &tlen) == 0 && target) {
		FUZZ_CHECK(target >= k && tlen <= size &&
			   (size_t)(target - k) <= size - tlen);
		struct buf out = BUF_INIT;
		if (inode_encode(&a, target, tlen, &out) == 0) {
			/* what was decoded decodes again the same way */
			struct inode_attr a2;
			const char *t2 = NULL;
			size_t tl2 = 0;
			FUZZ_CHECK(inode_decode(out.data, out.len, &a2, &t2,
						&tl2) == 0);
			FUZZ_CHECK(tl2 == tlen && !memcmp(t2, target, tlen));
		}
		buf_release(&out);
	}
	free(k);
	return 0;
}
