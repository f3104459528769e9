/*
 * env_fault.c - the fault-injecting environment; see env_fault.h.
 */
#include "config.h"
#include "env_fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

/* A file written through the env, for power-loss simulation. */
struct tracked {
	char *path;
	uint64_t size;        /* bytes appended */
	uint64_t synced_size; /* bytes durable at the last successful sync */
	bool dir_unsynced;    /* created since its directory was last synced */
	struct tracked *next;
};

struct fault_rule {
	uint64_t after; /* successful calls still allowed */
	int err;        /* 0: no rule */
	bool once;
};

struct fault_env {
	struct lsm_env env; /* first: the vtable handed out */
	struct lsm_env *base;
	pthread_mutex_t mu;
	struct fault_rule rules[FAULT_NOPS];
	uint64_t counts[FAULT_NOPS];
	size_t tear_keep;
	bool tear_armed;
	bool dead;
	struct tracked *files;
	/* entries forgotten (unlinked, replaced) while a handle may still
	 * point at them; freed with the env */
	struct tracked *graveyard;
};

struct fault_wfile {
	struct env_wfile base;
	struct env_wfile *inner;
	struct tracked *t; /* NULL once unlinked */
};

static struct fault_env *fe_of(struct lsm_env *env)
{
	return (struct fault_env *)env;
}

/* Counts a call of op and says whether it must fail (returns -errno). */
static int check(struct fault_env *fe, enum fault_op op)
{
	int rc = 0;
	pthread_mutex_lock(&fe->mu);
	fe->counts[op]++;
	struct fault_rule *r = &fe->rules[op];
	if (fe->dead && op != FAULT_READ && op != FAULT_NEW_WFILE)
		rc = -EIO;
	else if (r->err && r->after > 0)
		r->after--;
	else if (r->err) {
		rc = -r->err;
		if (r->once)
			r->err = 0;
	}
	pthread_mutex_unlock(&fe->mu);
	return rc;
}

static struct tracked *find(struct fault_env *fe, const char *path)
{
	for (struct tracked *t = fe->files; t; t = t->next)
		if (!strcmp(t->path, path))
			return t;
	return NULL;
}

static void forget(struct fault_env *fe, const char *path)
{
	for (struct tracked **p = &fe->files; *p; p = &(*p)->next) {
		if (!strcmp((*p)->path, path)) {
			struct tracked *t = *p;
			*p = t->next;
			t->next = fe->graveyard;
			fe->graveyard = t;
			return;
		}
	}
}

static int f_new_wfile(struct lsm_env *env, const char *path,
		       struct env_wfile **out)
{
	struct fault_env *fe = fe_of(env);
	int rc = check(fe, FAULT_NEW_WFILE);
	if (rc)
		return rc;
	if (fe->dead)
		return -EIO;
	struct fault_wfile *f = calloc(1, sizeof *f);
	struct tracked *t = calloc(1, sizeof *t);
	if (!f || !t || !(t->path = strdup(path))) {
		free(f);
		free(t);
		return -ENOMEM;
	}
	bool existed = fe->base->exists(fe->base, path) == 0;
	rc = fe->base->new_wfile(fe->base, path, &f->inner);
	if (rc) {
		free(t->path);
		free(t);
		free(f);
		return rc;
	}
	t->dir_unsynced = !existed;
	pthread_mutex_lock(&fe->mu);
	forget(fe, path);
	t->next = fe->files;
	fe->files = t;
	pthread_mutex_unlock(&fe->mu);
	f->base.env = env;
	f->t = t;
	*out = &f->base;
	return 0;
}

static int f_append(struct env_wfile *wf, const void *data, size_t n)
{
	struct fault_wfile *f = (struct fault_wfile *)wf;
	struct fault_env *fe = fe_of(wf->env);
	int rc = check(fe, FAULT_APPEND);
	if (rc)
		return rc;
	pthread_mutex_lock(&fe->mu);
	bool tear = fe->tear_armed && n > fe->tear_keep;
	size_t keep = fe->tear_keep;
	if (tear)
		fe->tear_armed = false;
	pthread_mutex_unlock(&fe->mu);
	size_t len = tear ? keep : n;
	rc = fe->base->wfile_append(f->inner, data, len);
	pthread_mutex_lock(&fe->mu);
	if (!rc && f->t)
		f->t->size += len;
	pthread_mutex_unlock(&fe->mu);
	if (!rc && tear)
		rc = -EIO;
	return rc;
}

static int f_sync(struct env_wfile *wf)
{
	struct fault_wfile *f = (struct fault_wfile *)wf;
	struct fault_env *fe = fe_of(wf->env);
	int rc = check(fe, FAULT_SYNC);
	if (rc)
		return rc;
	rc = fe->base->wfile_sync(f->inner);
	pthread_mutex_lock(&fe->mu);
	if (!rc && f->t && !fe->dead)
		f->t->synced_size = f->t->size;
	pthread_mutex_unlock(&fe->mu);
	return rc;
}

static int f_wclose(struct env_wfile *wf)
{
	struct fault_wfile *f = (struct fault_wfile *)wf;
	int rc = f->inner->env->wfile_close(f->inner);
	free(f);
	return rc;
}

static int f_new_rfile(struct lsm_env *env, const char *path,
		       struct env_rfile **out)
{
	struct fault_env *fe = fe_of(env);
	return fe->base->new_rfile(fe->base, path, out);
}

static int f_rename(struct lsm_env *env, const char *from, const char *to)
{
	struct fault_env *fe = fe_of(env);
	int rc = check(fe, FAULT_RENAME);
	if (rc)
		return rc;
	rc = fe->base->rename(fe->base, from, to);
	if (rc)
		return rc;
	pthread_mutex_lock(&fe->mu);
	struct tracked *t = find(fe, from);
	if (t) {
		char *p = strdup(to);
		if (p) {
			forget(fe, to);
			free(t->path);
			t->path = p;
		}
	}
	pthread_mutex_unlock(&fe->mu);
	return 0;
}

static int f_unlink(struct lsm_env *env, const char *path)
{
	struct fault_env *fe = fe_of(env);
	int rc = check(fe, FAULT_UNLINK);
	if (rc)
		return rc;
	rc = fe->base->unlink(fe->base, path);
	if (!rc) {
		pthread_mutex_lock(&fe->mu);
		forget(fe, path);
		pthread_mutex_unlock(&fe->mu);
	}
	return rc;
}

static int f_sync_dir(struct lsm_env *env, const char *dir)
{
	struct fault_env *fe = fe_of(env);
	int rc = check(fe, FAULT_SYNC_DIR);
	if (rc)
		return rc;
	rc = fe->base->sync_dir(fe->base, dir);
	if (rc)
		return rc;
	size_t n = strlen(dir);
	pthread_mutex_lock(&fe->mu);
	for (struct tracked *t = fe->files; t; t = t->next) {
		const char *slash = strrchr(t->path, '/');
		size_t dlen = slash ? (size_t)(slash - t->path) : 0;
		if (dlen == n && !strncmp(t->path, dir, n))
			t->dir_unsynced = false;
	}
	pthread_mutex_unlock(&fe->mu);
	return 0;
}

/* Reads go straight to the base env, except that they count and can fail. */
static int f_read(struct env_rfile *f, uint64_t off, void *buf, size_t n,
		  size_t *got);

struct fault_rfile {
	struct env_rfile base;
	struct env_rfile *inner;
};

static int f_new_rfile_wrapped(struct lsm_env *env, const char *path,
			       struct env_rfile **out)
{
	struct fault_rfile *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	int rc = f_new_rfile(env, path, &f->inner);
	if (rc) {
		free(f);
		return rc;
	}
	f->base.env = env;
	*out = &f->base;
	return 0;
}

static int f_read(struct env_rfile *rf, uint64_t off, void *buf, size_t n,
		  size_t *got)
{
	struct fault_rfile *f = (struct fault_rfile *)rf;
	int rc = check(fe_of(rf->env), FAULT_READ);
	if (rc)
		return rc;
	return f->inner->env->rfile_read(f->inner, off, buf, n, got);
}

static int f_rsize(struct env_rfile *rf, uint64_t *size)
{
	struct fault_rfile *f = (struct fault_rfile *)rf;
	return f->inner->env->rfile_size(f->inner, size);
}

static void f_rclose(struct env_rfile *rf)
{
	struct fault_rfile *f = (struct fault_rfile *)rf;
	f->inner->env->rfile_close(f->inner);
	free(f);
}

#define PASS(name, sig, args)                       \
	static int f_##name sig                     \
	{                                           \
		struct lsm_env *b = fe_of(env)->base; \
		return b->name args;                \
	}

PASS(file_size, (struct lsm_env * env, const char *p, uint64_t *s), (b, p, s))
PASS(exists, (struct lsm_env * env, const char *p), (b, p))
PASS(truncate, (struct lsm_env * env, const char *p, uint64_t s), (b, p, s))
PASS(mkdir, (struct lsm_env * env, const char *p), (b, p))
PASS(list_dir, (struct lsm_env * env, const char *p, char ***n, size_t *c),
     (b, p, n, c))
PASS(lock, (struct lsm_env * env, const char *p, struct env_lock **l),
     (b, p, l))

static void f_unlock(struct env_lock *l)
{
	/* the lock was made by the base env and carries it */
	l->env->unlock(l);
}

static uint64_t f_now(struct lsm_env *env)
{
	struct lsm_env *b = fe_of(env)->base;
	return b->now_micros(b);
}

static void f_sleep(struct lsm_env *env, uint64_t us)
{
	struct lsm_env *b = fe_of(env)->base;
	b->sleep_micros(b, us);
}

int env_fault_new(struct lsm_env *base, struct lsm_env **out)
{
	struct fault_env *fe = calloc(1, sizeof *fe);
	if (!fe)
		return -ENOMEM;
	fe->base = base;
	pthread_mutex_init(&fe->mu, NULL);
	fe->env = (struct lsm_env){
		.new_wfile = f_new_wfile,
		.wfile_append = f_append,
		.wfile_sync = f_sync,
		.wfile_close = f_wclose,
		.new_rfile = f_new_rfile_wrapped,
		.rfile_read = f_read,
		.rfile_size = f_rsize,
		.rfile_close = f_rclose,
		.file_size = f_file_size,
		.exists = f_exists,
		.rename = f_rename,
		.unlink = f_unlink,
		.truncate = f_truncate,
		.mkdir = f_mkdir,
		.sync_dir = f_sync_dir,
		.list_dir = f_list_dir,
		.lock = f_lock,
		.unlock = f_unlock,
		.now_micros = f_now,
		.sleep_micros = f_sleep,
	};
	*out = &fe->env;
	return 0;
}

void env_fault_free(struct lsm_env *env)
{
	if (!env)
		return;
	struct fault_env *fe = fe_of(env);
	struct tracked *lists[2] = { fe->files, fe->graveyard };
	for (int i = 0; i < 2; i++) {
		while (lists[i]) {
			struct tracked *t = lists[i];
			lists[i] = t->next;
			free(t->path);
			free(t);
		}
	}
	pthread_mutex_destroy(&fe->mu);
	free(fe);
}

void env_fault_fail(struct lsm_env *env, enum fault_op op, uint64_t after,
		    int err, int once)
{
	struct fault_env *fe = fe_of(env);
	pthread_mutex_lock(&fe->mu);
	fe->rules[op] = (struct fault_rule){ after, err, once != 0 };
	pthread_mutex_unlock(&fe->mu);
}

void env_fault_clear(struct lsm_env *env)
{
	struct fault_env *fe = fe_of(env);
	pthread_mutex_lock(&fe->mu);
	memset(fe->rules, 0, sizeof fe->rules);
	fe->tear_armed = false;
	pthread_mutex_unlock(&fe->mu);
}

void env_fault_tear_next_append(struct lsm_env *env, size_t keep)
{
	struct fault_env *fe = fe_of(env);
	pthread_mutex_lock(&fe->mu);
	fe->tear_armed = true;
	fe->tear_keep = keep;
	pthread_mutex_unlock(&fe->mu);
}

int env_fault_power_loss(struct lsm_env *env)
{
	struct fault_env *fe = fe_of(env);
	int rc = 0;
	pthread_mutex_lock(&fe->mu);
	fe->dead = true;
	struct tracked **p = &fe->files;
	while (*p) {
		struct tracked *t = *p;
		int r = 0;
		if (t->dir_unsynced) {
			r = fe->base->unlink(fe->base, t->path);
			if (r == -ENOENT)
				r = 0;
			*p = t->next;
			t->next = fe->graveyard;
			fe->graveyard = t;
		} else {
			if (t->size > t->synced_size)
				r = fe->base->truncate(fe->base, t->path,
						       t->synced_size);
			if (r == -ENOENT)
				r = 0;
			t->size = t->synced_size;
			p = &t->next;
		}
		if (r && !rc)
			rc = r;
	}
	pthread_mutex_unlock(&fe->mu);
	return rc;
}

void env_fault_revive(struct lsm_env *env)
{
	struct fault_env *fe = fe_of(env);
	pthread_mutex_lock(&fe->mu);
	fe->dead = false;
	pthread_mutex_unlock(&fe->mu);
}

uint64_t env_fault_count(struct lsm_env *env, enum fault_op op)
{
	struct fault_env *fe = fe_of(env);
	pthread_mutex_lock(&fe->mu);
	uint64_t n = fe->counts[op];
	pthread_mutex_unlock(&fe->mu);
	return n;
}
