/*
 * log: one JSON object per line, on stdout or in log.file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway.h"

void
log_open(struct server *srv)
{
	const char *f = srv->cfg->log_file;

	srv->log = stdout;
	if (f != NULL && strcmp(f, "-") != 0) {
		if ((srv->log = fopen(f, "a")) == NULL) {
			fprintf(stderr,
			    "regward: %s: log.file: cannot open %s\n",
			    srv->cfg->path, f);
			srv->log = stdout;
		}
	}
	/* A line per write: tests and log shippers read lines as they come. */
	setvbuf(srv->log, NULL, _IOLBF, 0);
}

const char *
log_escape(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	unsigned char c;

	for (; *src != '\0' && o + 7 < len; src++) {
		c = (unsigned char)*src;
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(dst + o, len - o, "\\u%04x", c);
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	return dst;
}

/*
 * Log msg at level. fmt_extra, when not NULL, formats further members
 * (already JSON: the caller escapes what it puts in strings).
 */
void
log_msg(struct server *srv, const char *level, const char *msg,
    const char *fmt_extra, ...)
{
	char ts[32], extra[1024] = "";
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (srv->log == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (fmt_extra != NULL) {
		extra[0] = ',';
		va_start(ap, fmt_extra);
		vsnprintf(extra + 1, sizeof(extra) - 1, fmt_extra, ap);
		va_end(ap);
	}
	fprintf(srv->log,
	    "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":\"%s\"%s}\n", ts,
	    now.tv_nsec / 1000000, level, msg, extra);
}
