/*
 * histogram.h - a latency histogram for lsm bench: fixed log-linear buckets,
 * cheap enough to record every operation.
 *
 * Values are unsigned 64-bit (the bench records nanoseconds). Values below
 * HISTOGRAM_SUB are counted exactly; above, every power of two is split into
 * HISTOGRAM_SUB equal buckets, so a bucket is at most 1/HISTOGRAM_SUB
 * (6.25%) of its value wide and a percentile read back is within that of the
 * true one. min, max, count and sum are exact.
 *
 * Thread safety: none. Each thread records into its own histogram; the
 * results are merged afterwards with histogram_merge().
 */
#ifndef LSM_HISTOGRAM_H
#define LSM_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_SUB_BITS 4
#define HISTOGRAM_SUB (1u << HISTOGRAM_SUB_BITS)
/* exact buckets, then HISTOGRAM_SUB per power of two up to 2^63 */
#define HISTOGRAM_BUCKETS (HISTOGRAM_SUB * (64 - HISTOGRAM_SUB_BITS + 1))

struct histogram {
	uint64_t count;
	uint64_t sum;
	uint64_t min; /* UINT64_MAX while empty */
	uint64_t max;
	uint64_t buckets[HISTOGRAM_BUCKETS];
};

/* Empties h. */
void histogram_init(struct histogram *h);

/* Records one value. */
void histogram_add(struct histogram *h, uint64_t v);

/* Adds every value recorded in src to dst. */
void histogram_merge(struct histogram *dst, const struct histogram *src);

/* Mean of the recorded values; 0 when empty. */
double histogram_mean(const struct histogram *h);

/*
 * The p-th percentile (0 <= p <= 100) by linear interpolation inside the
 * bucket that holds it, clamped to [min, max]; 0 when empty.
 */
double histogram_percentile(const struct histogram *h, double p);

#endif
