/*
 * gateway: the daemon's shared types. The listener (server.c) accepts
 * client connections into sessions (session.c); a session proxies each
 * request over a connection from the upstream pool (upstream.c).
 */
#ifndef REGWARD_GATEWAY_H
#define REGWARD_GATEWAY_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <stdint.h>
#include <time.h>

#include <http_parser.h>
#include <openssl/ssl.h>

#include "regward/config.h"
#include "regward/route.h"

#include "head.h"

struct event_base;
struct evconnlistener;
struct bufferevent;
struct evbuffer;
struct event;

struct upstr;
struct upstr_pool;
struct session;

TAILQ_HEAD(session_list, session);

struct server {
	struct event_base *base;
	struct config *cfg; /* owned; replaced on SIGHUP */
	struct evconnlistener *listener;
	SSL_CTX *tls; /* client side; NULL without TLS; refcounted */
	struct upstr_pool *pool;
	struct auth *auth; /* NULL: no "auth" section, every request passes */
	struct db *db;
	struct ledger *ledger; /* pushes and refusals, with auth; else NULL */
	struct admit *admit; /* pull admission, when a policy requires it */
	struct session_list sessions;
	unsigned nsessions;
	int accept_paused; /* by EMFILE or the connection limit */
	int draining; /* SIGTERM: no new work, exit when idle */
	struct event *accept_timer; /* resumes accept after EMFILE */
	struct event *drain_timer;
	struct event *sig_term, *sig_int, *sig_hup;
	FILE *log;
	struct event
	    *log_flush; /* writes buffered request lines, once a pass */
	struct event *log_tick; /* and every LOG_TICK_MS, for other writers */
	int log_dirty;
	uint64_t reqseq;
	uint32_t reqsalt;
	char bound[64]; /* "127.0.0.1:5000" as bound, for logs */
};

/* server.c */
struct server *server_new(struct config *cfg);
int server_listen(struct server *srv);
int server_run(struct server *srv);
void server_free(struct server *srv);
/* A session ended: resume accepting if it was paused by the limit. */
void server_session_gone(struct server *srv);
SSL_CTX *server_tls_ctx_new(
    const char *cert, const char *key, char *err, size_t errlen);

/* session.c */
int session_new(
    struct server *srv, int fd, const struct sockaddr *sa, int salen);
/* SIGTERM: close idle sessions now, finish the others, then close. */
void session_drain_all(struct server *srv);
void session_free_all(struct server *srv);

/* upstream.c: a pool of keep-alive connections to the one upstream. */
enum upstr_event {
	UPSTR_CONNECTED, /* ready to write */
	UPSTR_READ, /* bytes arrived in upstr_input() */
	UPSTR_WRITTEN, /* output drained below the low-water mark */
	UPSTR_EOF, /* peer closed */
	UPSTR_ERROR, /* connect failed, reset, TLS error */
	UPSTR_TIMEOUT, /* connect, read or write timeout */
};
typedef void (*upstr_cb)(struct upstr *up, enum upstr_event ev, void *arg);

struct upstr_pool *upstr_pool_new(struct server *srv);
void upstr_pool_free(struct upstr_pool *pool);
/*
 * Take a connection: an idle one from the pool (upstr_connected() is then
 * true and the caller may write at once) or a new one, which reports
 * UPSTR_CONNECTED or a failure later. cb(arg) gets its events until
 * upstr_release() or upstr_close(); callbacks are deferred, so they never
 * run inside a call into this module. NULL on resource failure.
 */
struct upstr *upstr_acquire(struct upstr_pool *pool, upstr_cb cb, void *arg);
/* Give a connection back for reuse; it must sit between messages. */
void upstr_release(struct upstr *up);
/* Close and free a connection that is in use. */
void upstr_close(struct upstr *up);
int upstr_connected(const struct upstr *up);
int upstr_reused(const struct upstr *up);
/* The socket of a plain TCP connection; -1 for TLS. */
int upstr_fd(const struct upstr *up);
struct evbuffer *upstr_input(struct upstr *up);
struct evbuffer *upstr_output(struct upstr *up);
/* Read timeout while waiting for the response, write timeout for bodies. */
void upstr_set_timeouts(struct upstr *up, unsigned read_ms, unsigned write_ms);
void upstr_enable_read(struct upstr *up, int on);

/* log.c: one JSON object per line. */
/* Copy src into dst[len] escaped for a JSON string; returns dst. */
const char *log_escape(char *dst, size_t len, const char *src);
void log_open(struct server *srv);
/* Once the event base exists: the flush events. Returns 0 or -1. */
int log_start(struct server *srv);
/* A request line was written to srv->log: flush it this pass. */
void log_line(struct server *srv);
/* Flush and free the events (before the base goes). */
void log_stop(struct server *srv);
void log_msg(struct server *srv, const char *level, const char *msg,
    const char *fmt_extra, ...) __attribute__((format(printf, 4, 5)));

#endif /* REGWARD_GATEWAY_H */
