/* filename.c - names of the files in a store directory; see filename.h. */
#include "config.h"
#include "filename.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *filename_sst(char *out, const char *dir, uint64_t number)
{
	snprintf(out, FILENAME_MAX_LEN, "%s/%06" PRIu64 ".sst", dir, number);
	return out;
}

char *filename_wal(char *out, const char *dir, uint64_t number)
{
	snprintf(out, FILENAME_MAX_LEN, "%s/%06" PRIu64 ".wal", dir, number);
	return out;
}

char *filename_manifest(char *out, const char *dir, uint64_t number)
{
	snprintf(out, FILENAME_MAX_LEN, "%s/MANIFEST-%06" PRIu64, dir, number);
	return out;
}

char *filename_current(char *out, const char *dir)
{
	snprintf(out, FILENAME_MAX_LEN, "%s/CURRENT", dir);
	return out;
}

char *filename_lock(char *out, const char *dir)
{
	snprintf(out, FILENAME_MAX_LEN, "%s/LOCK", dir);
	return out;
}

/* Parses a run of decimal digits that fills [p, end). */
static int parse_number(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

enum file_kind filename_parse(const char *name, uint64_t *number)
{
	size_t n = strlen(name);
	if (strcmp(name, "LOCK") == 0)
		return FILE_LOCK;
	if (strcmp(name, "CURRENT") == 0)
		return FILE_CURRENT;
	if (n > 4 && strcmp(name + n - 4, ".tmp") == 0)
		return FILE_TEMP;
	if (strncmp(name, "MANIFEST-", 9) == 0)
		return parse_number(name + 9, name + n, number) ? FILE_UNKNOWN
								 : FILE_MANIFEST;
	if (n > 4 && strcmp(name + n - 4, ".wal") == 0)
		return parse_number(name, name + n - 4, number) ? FILE_UNKNOWN
								: FILE_WAL;
	if (n > 4 && strcmp(name + n - 4, ".sst") == 0)
		return parse_number(name, name + n - 4, number) ? FILE_UNKNOWN
								: FILE_SST;
	return FILE_UNKNOWN;
}
