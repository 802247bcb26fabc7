/*
 * log: one JSON object per line, on stdout or in log.file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

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
	/*
	 * Request lines are buffered and written once per event-loop pass
	 * (log_line()), so a busy gateway makes one write(2) for many
	 * requests; other messages, and anything left, go out at once or
	 * within LOG_TICK_MS (log_start()). Readers see whole lines.
	 */
	setvbuf(srv->log, NULL, _IOFBF, 64 * 1024);
}

#define LOG_TICK_MS 200

static void
log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	srv->log_dirty = 0;
	fflush(srv->log);
}

int
log_start(struct server *srv)
{
	struct timeval tv = {0, LOG_TICK_MS * 1000};

	srv->log_flush = event_new(srv->base, -1, 0, log_flush_cb, srv);
	srv->log_tick = event_new(srv->base, -1, EV_PERSIST, log_flush_cb, srv);
	if (srv->log_flush == NULL || srv->log_tick == NULL ||
	    event_add(srv->log_tick, &tv) == -1)
		return -1;
	return 0;
}

void
log_line(struct server *srv)
{
	if (srv->log_dirty || srv->log_flush == NULL) {
		if (srv->log_flush == NULL)
			fflush(srv->log);
		return;
	}
	srv->log_dirty = 1;
	event_active(srv->log_flush, EV_TIMEOUT, 1);
}

void
log_stop(struct server *srv)
{
	if (srv->log != NULL)
		fflush(srv->log);
	if (srv->log_flush != NULL)
		event_free(srv->log_flush);
	if (srv->log_tick != NULL)
		event_free(srv->log_tick);
	srv->log_flush = srv->log_tick = NULL;
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
	fflush(srv->log);
}
