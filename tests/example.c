/*
 * example.c - the example program of lsm(3): opens a store, puts, gets,
 * applies a batch, iterates, closes. Build it against the installed library:
 *
 *     cc example.c $(pkg-config --cflags --libs lsm) -o example
 *     ./example /tmp/example-store
 *
 * It prints:
 *     apple: red
 *     banana: not found
 *     apple = red
 *     cherry = dark red
 *
 * tests/t0051-install.sh builds and runs it; man/lsm.3 shows it verbatim
 * (keep the two in step).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <lsm.h>

static void check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "example: %s: %s\n", what, lsm_strerror(rc));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct lsm_options opt;
	struct lsm_db *db;
	struct lsm_batch *b;
	struct lsm_iter *it;
	const char *k, *v;
	char *val;
	size_t klen, vlen;
	int rc;

	lsm_options_init(&opt);
	opt.write_buffer_size = 1 << 20; /* a 1 MiB memtable */
	check(lsm_open(argc > 1 ? argv[1] : "example-store", &opt, &db),
	      "open");

	check(lsm_put(db, "apple", 5, "red", 3), "put");
	check(lsm_put(db, "banana", 6, "yellow", 6), "put");
	check(lsm_get(db, NULL, "apple", 5, &val, &vlen), "get");
	printf("apple: %s\n", val); /* values are NUL-terminated */
	free(val);

	/* a batch is applied whole or not at all, also across a crash */
	check(lsm_batch_new(&b), "batch");
	check(lsm_batch_put(b, "cherry", 6, "dark red", 8), "batch put");
	check(lsm_batch_delete(b, "banana", 6), "batch delete");
	check(lsm_write(db, b, LSM_WRITE_SYNC), "write"); /* durable */
	lsm_batch_free(b);

	rc = lsm_get(db, NULL, "banana", 6, &val, &vlen);
	if (rc == 0)
		free(val);
	else if (rc != -ENOENT)
		check(rc, "get");
	printf("banana: %s\n", rc == -ENOENT ? "not found" : "still there");

	/* every live key, in byte order */
	check(lsm_iter_new(db, NULL, &it), "iterator");
	for (lsm_iter_seek_first(it); lsm_iter_valid(it); lsm_iter_next(it)) {
		k = lsm_iter_key(it, &klen);
		v = lsm_iter_value(it, &vlen);
		printf("%.*s = %.*s\n", (int)klen, k, (int)vlen, v);
	}
	check(lsm_iter_status(it), "iterate");
	lsm_iter_free(it);

	check(lsm_close(db), "close");
	return 0;
}
