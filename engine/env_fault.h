/*
 * env_fault.h - a wrapping environment that injects faults, for tests.
 *
 * It passes every call to a base environment (normally env_posix()) and can:
 *  - fail calls of one kind with a chosen errno, starting after the next n
 *    successful calls of that kind, once or until cleared (EIO, ENOSPC...);
 *  - tear the next append: write only its first k bytes, then fail with
 *    EIO, as a crash in the middle of write() would leave the file;
 *  - simulate power loss: every file written through it is cut back to the
 *    size it had at its last successful sync, and files created since the
 *    last sync of their directory disappear; afterwards every write and
 *    sync fails with EIO, as on a dead machine, until env_fault_revive().
 * It counts calls of each kind, so tests can assert how many fdatasyncs a
 * workload issued.
 *
 * Renames are not undone by a power loss (a rename after a synced file is
 * durable once its directory is synced; the engine always syncs the
 * directory right after renaming, and a test that wants the other case
 * fails the sync_dir).
 *
 * Thread-safe: one mutex guards the fault settings and the file table.
 */
#ifndef LSM_ENV_FAULT_H
#define LSM_ENV_FAULT_H

#include <stddef.h>
#include <stdint.h>

struct lsm_env;

enum fault_op {
	FAULT_NEW_WFILE = 0,
	FAULT_APPEND,
	FAULT_SYNC,
	FAULT_READ,
	FAULT_RENAME,
	FAULT_UNLINK,
	FAULT_SYNC_DIR,
	FAULT_NOPS
};

/* Creates a fault env over base (which must outlive it). Returns 0 or
 * -ENOMEM. */
int env_fault_new(struct lsm_env *base, struct lsm_env **out);
/* Frees the env; every file opened through it must be closed. NULL ok. */
void env_fault_free(struct lsm_env *env);

/*
 * After the next `after` successful calls of op, calls of op fail with err
 * (a positive errno value, e.g. ENOSPC): the first failing call only when
 * once is nonzero, every call until env_fault_clear() otherwise.
 */
void env_fault_fail(struct lsm_env *env, enum fault_op op, uint64_t after,
		    int err, int once);
/* Removes every injected failure (not a power loss: see revive). */
void env_fault_clear(struct lsm_env *env);

/* The next append writes only its first keep bytes (if it is longer), then
 * fails with EIO. */
void env_fault_tear_next_append(struct lsm_env *env, size_t keep);

/*
 * Power loss: cuts every file written through env back to its last synced
 * size and deletes the files created since their directory was last synced.
 * From then on appends, syncs, renames and unlinks fail with EIO until
 * env_fault_revive(). Returns 0 or the first error of the base env.
 */
int env_fault_power_loss(struct lsm_env *env);
void env_fault_revive(struct lsm_env *env);

/* Calls of op made so far (failed ones included). */
uint64_t env_fault_count(struct lsm_env *env, enum fault_op op);

#endif
