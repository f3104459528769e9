/*
 * bloom.h - bloom filters over user keys, one per SSTable (the filter block
 * of sst_format.h).
 *
 * A filter answers "may this table hold key K?" with no false negatives and a
 * false-positive rate near (1 - e^(-k/b))^k for b bits per key and k probes;
 * at b = 10, k = 7 that is about 0.82%. Keys are hashed once with XXH3_64bits
 * and the k probe positions come from double hashing of the two 32-bit
 * halves, so a builder only needs to keep 8 bytes per key.
 *
 *   filter := bits[nbytes] | k u8        (m = 8 * nbytes >= 64 bits)
 *
 * A filter whose k byte is 0 or above BLOOM_MAX_PROBES (a future encoding)
 * matches everything, so old readers stay correct.
 *
 * All functions are pure and thread-safe.
 */
#ifndef LSM_BLOOM_H
#define LSM_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "slice.h"

#define BLOOM_MAX_PROBES 30

/* The one hash a filter is built from. */
uint64_t bloom_hash(struct slice key);

/* Probes per key for bits_per_key: round(bits * ln 2) clamped to 1..30. */
int bloom_probes(int bits_per_key);

/*
 * Appends a filter over n keys, given by their bloom_hash() values, to out.
 * Duplicate hashes are harmless. bits_per_key must be >= 1.
 * Returns 0 or -ENOMEM (out unchanged), -EINVAL for bits_per_key < 1.
 */
int bloom_build_hashes(const uint64_t *hashes, size_t n, int bits_per_key,
		       struct buf *out);

/* Like bloom_build_hashes(), hashing the n keys first. */
int bloom_build(const struct slice *keys, size_t n, int bits_per_key,
		struct buf *out);

/* False only when key was certainly not among the keys filter was built
 * from. A malformed (empty) filter matches everything. */
bool bloom_may_contain(struct slice filter, struct slice key);

/* bloom_may_contain() for a key already hashed with bloom_hash(). */
bool bloom_may_contain_hash(struct slice filter, uint64_t h);

#endif
