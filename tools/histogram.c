/*
 * histogram.c - log-linear latency buckets (see histogram.h).
 *
 * Bucket layout: values v < HISTOGRAM_SUB have bucket v. Otherwise, with
 * e = floor(log2 v) (e >= HISTOGRAM_SUB_BITS), the bucket is
 * (e - HISTOGRAM_SUB_BITS + 1) * HISTOGRAM_SUB + the HISTOGRAM_SUB_BITS bits
 * of v just below its top bit. Bucket order is value order.
 */
#include "config.h"
#include "histogram.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
	if (v < HISTOGRAM_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	unsigned sub =
		(unsigned)(v >> (e - HISTOGRAM_SUB_BITS)) & (HISTOGRAM_SUB - 1);
	return (e - HISTOGRAM_SUB_BITS + 1) * HISTOGRAM_SUB + sub;
}

/* The smallest value of bucket b and the width of the bucket. */
static void bucket_range(unsigned b, double *lo, double *width)
{
	if (b < HISTOGRAM_SUB) {
		*lo = b;
		*width = 1;
		return;
	}
	unsigned e = b / HISTOGRAM_SUB + HISTOGRAM_SUB_BITS - 1;
	unsigned sub = b % HISTOGRAM_SUB;
	double step = (double)(1ull << (e - HISTOGRAM_SUB_BITS));
	*lo = (double)(1ull << e) + sub * step;
	*width = step;
}

void histogram_init(struct histogram *h)
{
	memset(h, 0, sizeof *h);
	h->min = UINT64_MAX;
}

void histogram_add(struct histogram *h, uint64_t v)
{
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->buckets[bucket_of(v)]++;
}

void histogram_merge(struct histogram *dst, const struct histogram *src)
{
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++)
		dst->buckets[b] += src->buckets[b];
}

double histogram_mean(const struct histogram *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0;
}

double histogram_percentile(const struct histogram *h, double p)
{
	if (!h->count)
		return 0;
	if (p < 0)
		p = 0;
	if (p > 100)
		p = 100;
	double rank = p / 100.0 * (double)h->count;
	double seen = 0;
	for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
		if (!h->buckets[b])
			continue;
		double n = (double)h->buckets[b];
		if (seen + n >= rank) {
			double lo, width;
			bucket_range(b, &lo, &width);
			double v = lo + width * ((rank - seen) / n);
			if (v < (double)h->min)
				v = (double)h->min;
			if (v > (double)h->max)
				v = (double)h->max;
			return v;
		}
		seen += n;
	}
	return (double)h->max;
}
