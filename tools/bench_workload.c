/*
 * bench_workload.c - the table of lsm bench's workload kinds (see
 * bench_workload.h).
 */
#include "config.h"
#include "bench_workload.h"

#include <string.h>

const struct wl_info wl_info[WL_NKINDS] = {
	[WL_FILLSEQ] = { "fillseq", true, true },
	[WL_FILLRANDOM] = { "fillrandom", true, true },
	[WL_OVERWRITE] = { "overwrite", false, true },
	[WL_FILLSYNC] = { "fillsync", true, true },
	[WL_READRANDOM] = { "readrandom", false, false },
	[WL_READMISSING] = { "readmissing", false, false },
	[WL_READSEQ] = { "readseq", false, false },
	[WL_SEEKRANDOM] = { "seekrandom", false, false },
	[WL_DELETERANDOM] = { "deleterandom", false, true },
	[WL_READWHILEWRITING] = { "readwhilewriting", false, false },
	[WL_COMPACT] = { "compact", false, false },
};

int wl_kind_find(const char *name, size_t len)
{
	for (int k = 0; k < WL_NKINDS; k++)
		if (strlen(wl_info[k].name) == len &&
		    !strncmp(wl_info[k].name, name, len))
			return k;
	return -1;
}
