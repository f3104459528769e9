/*
 * repair_manifest.c - step 5 of lsm_repair(): one new MANIFEST names every
 * live table at its level, checked to make a valid version before it is
 * written, and CURRENT is switched to it. Until then the old store is in
 * force.
 */
#include "config.h"
#include "repair_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "buf.h"
#include "env.h"
#include "manifest_format.h"
#include "version.h"
#include "version_builder.h"
#include "version_edit.h"
#include "wal_format.h"
#include "wal_writer.h"

int repair_write_manifest(struct repair *r, uint64_t *number_out)
{
	char path[FILENAME_MAX_LEN], tmp[FILENAME_MAX_LEN], line[64], why[160];
	struct version_edit e;
	struct version_builder check = VERSION_BUILDER_INIT;
	struct version_set *vs = NULL;
	struct version *v = NULL;
	struct wal_writer *w = NULL;
	struct buf rec = BUF_INIT;
	uint64_t number = r->next_number++;
	uint64_t log_number = r->next_number++;
	int rc = 0;

	/* lsm_open wants the segment the log number names to exist: an
	 * empty one, created before the MANIFEST names it */
	rc = wal_writer_new(r->env, filename_wal(path, r->dir, log_number),
			    WAL_MAGIC, &w);
	if (!rc)
		rc = wal_writer_sync(w);
	if (w) {
		int crc = wal_writer_close(w);
		rc = rc ? rc : crc;
		w = NULL;
	}

	version_edit_init(&e);
	version_edit_set_log_number(&e, log_number);
	version_edit_set_next_file_number(&e, r->next_number);
	version_edit_set_last_sequence(&e, r->last_seq);
	for (size_t i = 0; i < r->nt && !rc; i++)
		if (r->t[i].live)
			rc = version_edit_add_file(&e, r->t[i].level,
						   r->t[i].f);
	/* the edit must make a valid version before anything depends on it */
	if (!rc)
		rc = version_set_new(r->env, r->dir, &r->opt, NULL, &vs);
	if (!rc)
		rc = version_builder_apply(&check, &e, why, sizeof why);
	if (!rc)
		rc = version_builder_save(&check, vs, &v, why, sizeof why);
	if (rc == -EINVAL) {
		repair_say(r, "internal error: the new version is invalid: %s",
			   why);
		rc = -EIO;
	}
	if (!rc)
		rc = version_edit_encode(&e, &rec);
	if (!rc)
		rc = wal_writer_new(r->env,
				    filename_manifest(path, r->dir, number),
				    MANIFEST_MAGIC, &w);
	if (!rc)
		rc = wal_writer_add(w, MANIFEST_RECORD_EDIT, buf_slice(&rec));
	if (!rc)
		rc = wal_writer_sync(w);
	if (w) {
		int crc = wal_writer_close(w);
		rc = rc ? rc : crc;
	}
	int n = snprintf(line, sizeof line, "MANIFEST-%06" PRIu64 "\n", number);
	snprintf(tmp, sizeof tmp, "%s/CURRENT.tmp", r->dir);
	if (!rc)
		rc = env_write_file(r->env, tmp, line, (size_t)n);
	if (!rc)
		rc = r->env->rename(r->env, tmp,
				    filename_current(path, r->dir));
	if (!rc)
		rc = r->env->sync_dir(r->env, r->dir);
	if (rc)
		repair_say(r, "cannot write the new manifest: %s",
			   strerror(-rc));
	*number_out = number;
	version_unref(v);
	version_set_free(vs);
	version_builder_release(&check);
	version_edit_release(&e);
	buf_release(&rec);
	return rc;
}
