/*
 * mc_log.c - the log writer shared by the three programs.
 *
 * Each record is formatted into one buffer and written with one write(2)
 * so that records from different threads never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mc_log.h"

static const char	*log_prog = "maestro";
static enum mc_log_level log_min = MC_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
mc_log_setup(const char *prog, enum mc_log_level min)
{
	log_prog = prog;
	log_min = min;
}

int
mc_log_level_parse(const char *s, enum mc_log_level *out)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum mc_log_level)i;
			return 0;
		}
	}
	return -1;
}

int
mc_log_enabled(enum mc_log_level l)
{
	return l >= log_min;
}

void
mc_log(enum mc_log_level l, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t off;
	int n;

	if (l < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + off, sizeof(line) - off, ".%03ldZ %s %s: ",
	    ts.tv_nsec / 1000000, log_prog, level_names[l]);
	if (n > 0)
		off += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(line + off, sizeof(line) - off - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		off += (size_t)n < sizeof(line) - off - 1 ?
		    (size_t)n : sizeof(line) - off - 2;
	line[off++] = '\n';
	if (write(STDERR_FILENO, line, off) < 0)
		return;
}
