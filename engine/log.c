/* log.c - the diagnostic line sink; see log.h. */
#include "config.h"
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "lsm.h"

static void log_stderr(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static lsm_log_fn log_fn = log_stderr; /* protected by log_mu */
static void *log_ctx;                   /* protected by log_mu */

void lsm_set_log_handler(lsm_log_fn fn, void *ctx)
{
	pthread_mutex_lock(&log_mu);
	log_fn = fn;
	log_ctx = ctx;
	pthread_mutex_unlock(&log_mu);
}

void lsm_log(const char *fmt, ...)
{
	char line[1024] = "lsm: ";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + 5, sizeof line - 5, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_mu);
	if (log_fn)
		log_fn(log_ctx, line);
	pthread_mutex_unlock(&log_mu);
}
