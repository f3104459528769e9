/*
 * fuzz_manifest.c - libFuzzer target: version edits and MANIFEST recovery.
 *
 * The first input byte picks the mode:
 *   even  the rest is one encoded version edit: version_edit_decode; a
 *         decoded edit must encode to bytes that decode to the same
 *         encoding again (a fixed point), and is applied to an empty
 *         version (version_builder: deletes of absent files, duplicate
 *         adds and overlapping levels must be refused, not crash)
 *   odd   the rest is cut into chunks written as well-formed MANIFEST
 *         records (checksums right, so the edits reach replay) into
 *         MANIFEST-000001, CURRENT names it, and version_set_recover
 *         replays it as lsm_open would (it also writes a new MANIFEST)
 * Properties: no crash, no leak, and every failure is -EIO (or -ENOMEM).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>

#include "buf.h"
#include "env.h"
#include "fuzz_util.h"
#include "manifest_format.h"
#include "version.h"
#include "version_builder.h"
#include "version_edit.h"
#include "wal_writer.h"

static void manifest_fuzz_clean(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%.255s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

static void manifest_fuzz_edit(const char *data, size_t n)
{
	struct version_edit e, e2;
	struct buf enc = BUF_INIT, enc2 = BUF_INIT;
	version_edit_init(&e);
	version_edit_init(&e2);
	int rc = version_edit_decode(&e, slice_make(data, n));
	FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -ENOMEM);
	if (rc == 0 && version_edit_encode(&e, &enc) == 0) {
		FUZZ_CHECK(version_edit_decode(&e2, buf_slice(&enc)) == 0);
		FUZZ_CHECK(version_edit_encode(&e2, &enc2) == 0);
		FUZZ_CHECK(enc.len == enc2.len &&
			   memcmp(enc.data, enc2.data, enc.len) == 0);

		/* apply it to an empty version */
		struct lsm_options opt;
		struct version_set *vs;
		lsm_options_init(&opt);
		if (version_set_new(env_posix(), fuzz_scratch_dir(), &opt, NULL,
				    &vs) == 0) {
			struct version_builder b = VERSION_BUILDER_INIT;
			struct version *v = NULL;
			char why[160];
			if (version_builder_apply(&b, &e, why, sizeof why) == 0 &&
			    version_builder_save(&b, vs, &v, why, sizeof why) == 0)
				version_unref(v);
			version_builder_release(&b);
			version_set_free(vs);
		}
	}
	buf_release(&enc);
	buf_release(&enc2);
	version_edit_release(&e);
	version_edit_release(&e2);
}

static void manifest_fuzz_recover(struct fuzz_in *in)
{
	char dir[256], path[512];
	snprintf(dir, sizeof dir, "%s/manifest", fuzz_scratch_dir());
	mkdir(dir, 0700);
	manifest_fuzz_clean(dir);
	snprintf(path, sizeof path, "%s/MANIFEST-000001", dir);
	struct wal_writer *w;
	if (wal_writer_new(env_posix(), path, MANIFEST_MAGIC, &w))
		return;
	while (in->n > 0) {
		const void *chunk;
		size_t len = fuzz_chunk(in, 255, &chunk);
		if (wal_writer_add(w, MANIFEST_RECORD_EDIT,
				   slice_make(chunk, len)))
			break;
	}
	wal_writer_close(w);
	snprintf(path, sizeof path, "%s/CURRENT", dir);
	if (fuzz_write_file(path, "MANIFEST-000001\n", 16))
		return;

	struct lsm_options opt;
	struct version_set *vs;
	lsm_options_init(&opt);
	if (version_set_new(env_posix(), dir, &opt, NULL, &vs))
		return;
	int rc = version_set_recover(vs);
	FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -ENOMEM);
	if (rc == 0) {
		/* what was recovered can be written and recovered again */
		struct version_set *vs2;
		if (version_set_new(env_posix(), dir, &opt, NULL, &vs2) == 0) {
			FUZZ_CHECK(version_set_recover(vs2) == 0);
			version_set_free(vs2);
		}
	}
	version_set_free(vs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_scratch_dir(); /* silences the log */
	struct fuzz_in in = { data, size };
	unsigned mode = fuzz_byte(&in);
	if (mode & 1) {
		manifest_fuzz_recover(&in);
	} else {
		char *copy = malloc(in.n ? in.n : 1);
		if (!copy)
			return 0;
		memcpy(copy, in.p, in.n);
		manifest_fuzz_edit(copy, in.n);
		free(copy);
	}
	return 0;
}
