/*
 * model.c - the crash-consistency model of the reliability tests; see
 * model.h.
 */
#include "config.h"
#include "model.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"

#define KEY_FMT "key%05d"

struct mop {
	int32_t key;
	bool del;
	int64_t id; /* the batch that wrote it: names the value */
};

struct model {
	int nkeys;
	int max_value;
	uint64_t rng;
	int64_t next_id;
	int64_t *base; /* per key: id of its value at the cycle start, -1 */

	/* the batches of this cycle: ops[bend[i-1] .. bend[i]) */
	struct mop *ops;
	size_t nops, cap_ops;
	size_t *bend;
	int nb, cap_b;
	int durable;
	size_t pending_start; /* ops of the batch awaiting its outcome */
	bool pending;
};

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* The value batch id wrote to key: *len bytes into out (max_value + 1). */
static void make_value(const struct model *m, int64_t id, int key, char *out,
		       size_t *len)
{
	uint64_t h = mix((uint64_t)id * 1000003u + (uint64_t)key);
	size_t n = h % 16 == 0 ? (size_t)m->max_value / 2 +
					 (h >> 8) % ((size_t)m->max_value / 2 + 1)
			       : (h >> 8) % 41;
	if (n > (size_t)m->max_value)
		n = (size_t)m->max_value;
	char head[48];
	int hn = snprintf(head, sizeof head, "%lld:%d:", (long long)id, key);
	size_t i = 0;
	for (; i < n && i < (size_t)hn; i++)
		out[i] = head[i];
	uint64_t x = h | 1;
	for (; i < n; i++)
		out[i] = (char)('a' + next_rand(&x) % 26);
	*len = n;
}

int model_new(int nkeys, uint64_t seed, struct model **out)
{
	struct model *m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	m->nkeys = nkeys;
	m->max_value = 300;
	m->rng = seed * 2 + 1;
	m->next_id = 1;
	m->base = malloc((size_t)nkeys * sizeof *m->base);
	if (!m->base) {
		free(m);
		return -ENOMEM;
	}
	for (int i = 0; i < nkeys; i++)
		m->base[i] = -1;
	*out = m;
	return 0;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	free(m->base);
	free(m->ops);
	free(m->bend);
	free(m);
}

void model_set_max_value(struct model *m, int max_value)
{
	m->max_value = max_value < 1 ? 1 : max_value;
}

int model_gen(struct model *m, struct lsm_batch *b, int max_ops)
{
	char key[32];
	char *val = malloc((size_t)m->max_value + 1);
	if (!val)
		return -ENOMEM;
	lsm_batch_clear(b);
	int n = 1 + (int)(next_rand(&m->rng) % (uint64_t)(max_ops < 1 ? 1 : max_ops));
	int64_t id = m->next_id++;
	m->pending_start = m->nops;
	m->pending = true;
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		if (m->nops == m->cap_ops) {
			size_t cap = m->cap_ops ? m->cap_ops * 2 : 256;
			struct mop *p = realloc(m->ops, cap * sizeof *p);
			if (!p) {
				rc = -ENOMEM;
				break;
			}
			m->ops = p;
			m->cap_ops = cap;
		}
		struct mop *op = &m->ops[m->nops++];
		op->key = (int32_t)(next_rand(&m->rng) % (uint64_t)m->nkeys);
		op->del = next_rand(&m->rng) % 5 == 0;
		op->id = id;
		int klen = snprintf(key, sizeof key, KEY_FMT, op->key);
		if (op->del) {
			rc = lsm_batch_delete(b, key, (size_t)klen);
		} else {
			size_t vlen;
			make_value(m, id, op->key, val, &vlen);
			rc = lsm_batch_put(b, key, (size_t)klen, val, vlen);
		}
	}
	free(val);
	return rc;
}

void model_outcome(struct model *m, enum model_outcome o)
{
	if (!m->pending)
		return;
	m->pending = false;
	if (o == MODEL_ABSENT) {
		m->nops = m->pending_start;
		return;
	}
	if (m->nb == m->cap_b) {
		int cap = m->cap_b ? m->cap_b * 2 : 64;
		size_t *p = realloc(m->bend, (size_t)cap * sizeof *p);
		if (!p)
			abort(); /* a test helper: no way to go on */
		m->bend = p;
		m->cap_b = cap;
	}
	m->bend[m->nb++] = m->nops;
	if (o == MODEL_DURABLE)
		m->durable = m->nb;
}

void model_synced(struct model *m)
{
	m->durable = m->nb;
}

int model_batches(const struct model *m)
{
	return m->nb;
}

int model_durable(const struct model *m)
{
	return m->durable;
}

/* What the store holds for one key. */
struct actual {
	char *val; /* NULL: absent */
	size_t len;
};

static bool matches(const struct model *m, int key, int64_t id,
		    const struct actual *a, char *scratch)
{
	if (id < 0)
		return a->val == NULL;
	if (!a->val)
		return false;
	size_t len;
	make_value(m, id, key, scratch, &len);
	return len == a->len && memcmp(scratch, a->val, len) == 0;
}

/* Applies the ops of batch i to state, keeping *bad (the number of keys
 * whose state does not match the store) up to date. */
static void apply_batch(const struct model *m, int i, int64_t *state,
			const struct actual *act, int *bad, char *scratch)
{
	size_t from = i ? m->bend[i - 1] : 0;
	for (size_t j = from; j < m->bend[i]; j++) {
		const struct mop *op = &m->ops[j];
		int k = op->key;
		bool was = matches(m, k, state[k], &act[k], scratch);
		state[k] = op->del ? -1 : op->id;
		bool now = matches(m, k, state[k], &act[k], scratch);
		*bad += (int)was - (int)now;
	}
}

static void describe(const struct model *m, const char *tag, int prefix,
		     const int64_t *state, const struct actual *act,
		     char *scratch)
{
	int shown = 0;
	for (int k = 0; k < m->nkeys && shown < 8; k++) {
		if (matches(m, k, state[k], &act[k], scratch))
			continue;
		shown++;
		fprintf(stderr,
			"%s: prefix %d: " KEY_FMT " holds %s%.*s%s (%zu bytes), "
			"want batch %lld\n",
			tag, prefix, k, act[k].val ? "'" : "",
			act[k].val ? (int)(act[k].len < 24 ? act[k].len : 24) : 6,
			act[k].val ? act[k].val : "absent",
			act[k].val ? "...'" : "", act[k].len,
			(long long)state[k]);
	}
}

/* Reads every key with lsm_get, and checks one iterator scan agrees. */
static int read_store(const struct model *m, struct lsm_db *db,
		      const char *tag, struct actual *act)
{
	char key[32];
	int present = 0;
	for (int k = 0; k < m->nkeys; k++) {
		int klen = snprintf(key, sizeof key, KEY_FMT, k);
		int rc = lsm_get(db, NULL, key, (size_t)klen, &act[k].val,
				 &act[k].len);
		if (rc == -ENOENT) {
			act[k].val = NULL;
			act[k].len = 0;
			continue;
		}
		if (rc) {
			act[k].val = NULL;
			fprintf(stderr, "%s: get %s: %s\n", tag, key,
				lsm_strerror(rc));
			return -1;
		}
		present++;
	}

	struct lsm_iter *it;
	int rc = lsm_iter_new(db, NULL, &it);
	if (rc) {
		fprintf(stderr, "%s: iter_new: %s\n", tag, lsm_strerror(rc));
		return -1;
	}
	int seen = 0, last = -1, ret = 0;
	for (lsm_iter_seek_first(it); lsm_iter_valid(it) && !ret;
	     lsm_iter_next(it)) {
		size_t klen, vlen;
		const char *kp = lsm_iter_key(it, &klen);
		const char *vp = lsm_iter_value(it, &vlen);
		int k = -1;
		char kbuf[32];
		if (klen < sizeof kbuf) {
			memcpy(kbuf, kp, klen);
			kbuf[klen] = '\0';
			if (sscanf(kbuf, "key%d", &k) != 1 ||
			    (size_t)snprintf(key, sizeof key, KEY_FMT, k) != klen ||
			    memcmp(key, kp, klen))
				k = -1;
		}
		if (k < 0 || k >= m->nkeys || k <= last) {
			fprintf(stderr, "%s: iterator: stray or unordered key "
					"'%.*s'\n",
				tag, (int)klen, kp);
			ret = -1;
			break;
		}
		if (!act[k].val || act[k].len != vlen ||
		    memcmp(act[k].val, vp, vlen)) {
			fprintf(stderr, "%s: iterator and get disagree on %s\n",
				tag, kbuf);
			ret = -1;
		}
		last = k;
		seen++;
	}
	if (!ret && (rc = lsm_iter_status(it))) {
		fprintf(stderr, "%s: iterator: %s\n", tag, lsm_strerror(rc));
		ret = -1;
	}
	if (!ret && seen != present) {
		fprintf(stderr, "%s: iterator saw %d keys, get %d\n", tag, seen,
			present);
		ret = -1;
	}
	lsm_iter_free(it);
	return ret;
}

static int verify(struct model *m, struct lsm_db *db, const char *tag,
		  int *prefix, bool fold)
{
	struct actual *act = calloc((size_t)m->nkeys, sizeof *act);
	int64_t *state = malloc((size_t)m->nkeys * sizeof *state);
	char *scratch = malloc((size_t)m->max_value + 1);
	int ret = -1;
	if (!act || !state || !scratch) {
		fprintf(stderr, "%s: out of memory\n", tag);
		goto out;
	}
	if (read_store(m, db, tag, act))
		goto out;

	memcpy(state, m->base, (size_t)m->nkeys * sizeof *state);
	int bad = 0;
	for (int k = 0; k < m->nkeys; k++)
		bad += !matches(m, k, state[k], &act[k], scratch);
	for (int i = 0; i < m->durable; i++)
		apply_batch(m, i, state, act, &bad, scratch);
	int p = m->durable;
	while (bad && p < m->nb)
		apply_batch(m, p++, state, act, &bad, scratch);
	if (bad) {
		fprintf(stderr,
			"%s: the store matches no prefix of the %d batches "
			"(%d durable)\n",
			tag, m->nb, m->durable);
		memcpy(state, m->base, (size_t)m->nkeys * sizeof *state);
		int dummy = 0;
		for (int i = 0; i < m->durable; i++)
			apply_batch(m, i, state, act, &dummy, scratch);
		describe(m, tag, m->durable, state, act, scratch);
		goto out;
	}
	if (fold) {
		/* the prefix found is the base of the next cycle */
		memcpy(m->base, state, (size_t)m->nkeys * sizeof *state);
		m->nops = 0;
		m->nb = 0;
		m->durable = 0;
		m->pending = false;
	}
	if (prefix)
		*prefix = p;
	ret = 0;
out:
	if (act)
		for (int k = 0; k < m->nkeys; k++)
			free(act[k].val);
	free(act);
	free(state);
	free(scratch);
	return ret;
}

int model_verify(struct model *m, struct lsm_db *db, const char *tag,
		 int *prefix)
{
	return verify(m, db, tag, prefix, true);
}

int model_check(struct model *m, struct lsm_db *db, const char *tag,
		int *prefix)
{
	return verify(m, db, tag, prefix, false);
}
