/* bloom.c - bloom filters over user keys; see bloom.h. */
#include "config.h"
#include "bloom.h"

#include <errno.h>
#include <string.h>
#include <xxhash.h>

uint64_t bloom_hash(struct slice key)
{
	return XXH3_64bits(key.data, key.len);
}

int bloom_probes(int bits_per_key)
{
	/* ln 2 ~= 0.693; k = m/n * ln 2 minimizes the false-positive rate */
	int k = (int)(bits_per_key * 0.6931 + 0.5);
	if (k < 1)
		k = 1;
	if (k > BLOOM_MAX_PROBES)
		k = BLOOM_MAX_PROBES;
	return k;
}

int bloom_build_hashes(const uint64_t *hashes, size_t n, int bits_per_key,
		       struct buf *out)
{
	if (bits_per_key < 1)
		return -EINVAL;
	/* tiny filters have a poor rate: enforce a floor of 64 bits */
	uint64_t bits = (uint64_t)n * (uint64_t)bits_per_key;
	if (bits < 64)
		bits = 64;
	uint64_t nbytes = (bits + 7) / 8;
	bits = nbytes * 8;
	if (nbytes + 1 > SIZE_MAX / 2)
		return -ENOMEM;
	int rc = buf_reserve(out, (size_t)nbytes + 1);
	if (rc)
		return rc;
	int k = bloom_probes(bits_per_key);
	unsigned char *array = (unsigned char *)out->data + out->len;
	memset(array, 0, (size_t)nbytes);
	for (size_t i = 0; i < n; i++) {
		uint64_t h1 = hashes[i] & 0xffffffffu, h2 = hashes[i] >> 32;
		for (int j = 0; j < k; j++) {
			uint64_t pos = (h1 + (uint64_t)j * h2) % bits;
			array[pos / 8] |= (unsigned char)(1u << (pos % 8));
		}
	}
	array[nbytes] = (unsigned char)k;
	out->len += (size_t)nbytes + 1;
	return 0;
}

int bloom_build(const struct slice *keys, size_t n, int bits_per_key,
		struct buf *out)
{
	struct buf hashes = BUF_INIT;
	int rc = buf_reserve(&hashes, n * sizeof(uint64_t) + 1);
	if (rc)
		return rc;
	uint64_t *h = (uint64_t *)(void *)hashes.data;
	for (size_t i = 0; i < n; i++)
		h[i] = bloom_hash(keys[i]);
	rc = bloom_build_hashes(h, n, bits_per_key, out);
	buf_release(&hashes);
	return rc;
}

bool bloom_may_contain_hash(struct slice filter, uint64_t h)
{
	if (filter.len < 2)
		return true;
	const unsigned char *array = (const unsigned char *)filter.data;
	uint64_t bits = (uint64_t)(filter.len - 1) * 8;
	int k = array[filter.len - 1];
	if (k < 1 || k > BLOOM_MAX_PROBES)
		return true; /* an encoding we do not know: never say no */
	uint64_t h1 = h & 0xffffffffu, h2 = h >> 32;
	for (int j = 0; j < k; j++) {
		uint64_t pos = (h1 + (uint64_t)j * h2) % bits;
		if (!(array[pos / 8] & (1u << (pos % 8))))
			return false;
	}
	return true;
}

bool bloom_may_contain(struct slice filter, struct slice key)
{
	return bloom_may_contain_hash(filter, bloom_hash(key));
}
