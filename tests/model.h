/*
 * model.h - a model of what a store must hold after a crash, for the
 * reliability tests (check_faults, check_crashloop).
 *
 * A model drives one writer: it generates random batches over a fixed key
 * space ("key00042"), puts and deletes, each value a pure function of the
 * batch id and the key (so a child process and its parent agree on every
 * byte without talking about values). The test applies each batch to the
 * store and tells the model the outcome:
 *
 *   MODEL_APPLIED  lsm_write returned 0 (durable only after a sync)
 *   MODEL_DURABLE  lsm_write with LSM_WRITE_SYNC returned 0
 *   MODEL_MAYBE    it failed, but may be in the store (e.g. a failed sync)
 *   MODEL_ABSENT   it failed and must not be in the store
 *
 * and model_synced() after an lsm_sync() that returned 0.
 *
 * The promise checked by model_verify(), after a crash and a reopen: the
 * store holds exactly the state after some prefix of the batches of this
 * cycle (those not ABSENT), no shorter than the last one known durable.
 * So every acknowledged durable batch is there, no batch is partial, and
 * every value is exactly the one written. The prefix found becomes the base
 * of the next cycle.
 *
 * Not thread-safe: one writer thread.
 */
#ifndef LSM_TEST_MODEL_H
#define LSM_TEST_MODEL_H

#include <stdint.h>

struct lsm_batch;
struct lsm_db;
struct model;

enum model_outcome {
	MODEL_APPLIED = 0,
	MODEL_DURABLE,
	MODEL_MAYBE,
	MODEL_ABSENT,
};

/* A model of an empty store with nkeys keys. Returns 0 or -ENOMEM. */
int model_new(int nkeys, uint64_t seed, struct model **out);
void model_free(struct model *m);

/* Values are 0..max_value bytes (about one in 16 near the top, the
 * rest short). Default 300. */
void model_set_max_value(struct model *m, int max_value);

/* Clears b and fills it with the next batch of 1..max_ops operations
 * (the model's own random choice). Returns 0 or the batch's error. The
 * outcome must be reported before the next model_gen. */
int model_gen(struct model *m, struct lsm_batch *b, int max_ops);

/* The outcome of the batch model_gen made last. */
void model_outcome(struct model *m, enum model_outcome o);

/* Every batch applied so far is durable (an lsm_sync returned 0). */
void model_synced(struct model *m);

/* Batches of this cycle so far (not counting ABSENT ones) and how many of
 * them must survive. */
int model_batches(const struct model *m);
int model_durable(const struct model *m);

/*
 * Reads the whole store (lsm_get of every key and one iterator scan) and
 * finds the prefix it holds. Returns 0 (and *prefix, when not NULL) after
 * folding that prefix into the base state, or -1 after printing to stderr
 * what is wrong (a read error, a stray key, a value that no prefix
 * explains). tag labels the messages.
 */
int model_verify(struct model *m, struct lsm_db *db, const char *tag,
		 int *prefix);

/* The same check without folding anything: the model stays as it was
 * (for a look at a store that is still running). */
int model_check(struct model *m, struct lsm_db *db, const char *tag,
		int *prefix);

#endif
