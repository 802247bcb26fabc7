/*
 * session: one client connection, and the proxying of its requests.
 *
 * The request and the response are each a small state machine driven by
 * http_parser. Heads are collected into bounded buffers and re-serialised;
 * bodies are never collected: the parser only tracks their framing, and
 * the bytes it has consumed are moved as they are (chunked framing
 * included) from one side's input to the other side's output. Moving stops
 * while the destination holds more than limits.high_water bytes and
 * resumes from its write callback, so memory per connection is bounded
 * whatever the size of a blob.
 *
 * Every bufferevent is created with deferred callbacks: no callback runs
 * inside a call into libevent, so a function that frees the session only
 * has to say so to its caller (SESS_GONE).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <http_parser.h>
#include <openssl/ssl.h>

#include "regward/policy.h"
#include "regward/route.h"
#include "regward/sig.h"

#include "admit.h"
#include "auth.h"
#include "bev.h"
#include "gateway.h"
#include "hasher.h"
#include "head.h"
#include "ledger.h"
#include "metrics.h"
#include "reply.h"
#include "rewrite.h"
#include "splice.h"

#define SESS_GONE (-1)
#define SESS_FORM_MAX 65536 /* POST /token body */
#define SESS_METHOD_UNKNOWN 255u /* before the request line is parsed */
#define SESS_LINGER_MS 2000
/* Bodies at least this long between plain sockets go through splice(2). */
#define SESS_SPLICE_MIN (256 * 1024)
#define SESS_SPLICE_REQ 1 /* s->splicing: client to upstream */
#define SESS_SPLICE_RESP 2 /* upstream to client */

/* What the client side is doing. */
enum sess_rstate {
	RS_HEAD = 0, /* waiting for, or reading, a request head */
	RS_BODY, /* relaying the request body to the upstream */
	RS_DONE, /* request complete; waiting for the response to end */
};

/* What the response side is doing. */
enum sess_wstate {
	WS_NONE = 0, /* no response for this request yet */
	WS_CONNECT, /* waiting for an upstream connection */
	WS_HEAD, /* request sent, waiting for the response head */
	WS_BODY, /* relaying the response body */
	WS_AUTH, /* a login is being checked by the hasher */
	WS_ADMIT, /* a held manifest waits for its admission verdict */
	WS_LOCAL, /* the gateway answered itself */
	WS_DONE, /* response complete */
};

/* What the parser reported during one http_parser_execute() call. */
#define PEV_HEAD_DONE 0x1
#define PEV_MSG_DONE 0x2
#define PEV_HEAD_ERROR 0x4 /* head ceiling hit */

enum sess_pump {
	PUMP_AGAIN, /* source empty: wait for more bytes */
	PUMP_BLOCKED, /* destination above the high-water mark */
	PUMP_HEAD, /* a head was completed (maybe the message too) */
	PUMP_MSG, /* the message was completed */
	PUMP_ERROR, /* malformed message */
};

struct session {
	struct server *srv;
	struct bufferevent *bev;
	int fd;
	int tls;
	TAILQ_ENTRY(session) entry;
	char client[INET6_ADDRSTRLEN + 8]; /* "addr:port" */
	char client_ip[INET6_ADDRSTRLEN];
	struct event *hdr_timer; /* header deadline; also lingering close */

	enum sess_rstate rstate;
	enum sess_wstate wstate;
	http_parser req_parser;
	http_parser resp_parser;
	struct head req;
	struct head resp;
	int pev; /* PEV_* from the last parser call */
	int head_started;
	int keepalive; /* client wants the connection kept */
	int closing; /* close once the output is flushed */
	int lingering; /* output flushed, discarding input until EOF */
	int probe; /* GET /healthz: checking the upstream */
	int head_sent; /* response head written to the client */
	unsigned method; /* request method (http_parser numbering) */
	struct route route;
	char reqid[20];
	struct timespec t0;

	struct upstr *up;
	struct evbuffer *fwd; /* serialised request head, kept for a retry */
	uint64_t body_sent; /* request body bytes moved upstream */
	uint64_t resp_bytes; /* response bytes received from upstream */
	int upstream_status;
	struct auth_principal who; /* valid once authenticated */
	int authed; /* who is set */
	struct auth_pending pend; /* a login the hasher checks */
	struct hasher_job *hjob; /* that check, until it reports */
	int is_token; /* 1: GET /token, 2: POST /token */
	int collect_req; /* POST /token, immutable tag: request body held */
	int hold_req; /* immutable tag: the manifest is held, then checked */
	int no_mount; /* forward without the mount query */
	int collect; /* catalog: body held for filtering */
	int hold; /* admission: manifest response held, then judged */
	int admit_pidx; /* the policy whose require block applies */
	struct admit_wait *await; /* that verdict, until it reports */
	unsigned up_method; /* method sent upstream (HEAD goes as GET) */
	char dgst[SIG_DIGEST_SIZE]; /* digest of the held manifest */
	struct evbuffer *held; /* that body, decoded */
	char reason[AUTH_REASON_MAX]; /* why a request was refused */
	int status; /* status answered to the client */
	uint64_t bytes_in, bytes_out;
	struct splice *sp; /* lazily made, kept for the next body */
	int splicing; /* 1: request body, 2: response body */
	int write_off; /* EV_WRITE off: the last answer went out directly */
	const char *error; /* why the request ended badly, for the log */
};

static void sess_read_cb(struct bufferevent *bev, void *arg);
static void sess_write_cb(struct bufferevent *bev, void *arg);
static void sess_event_cb(struct bufferevent *bev, short what, void *arg);
static void sess_timer_cb(evutil_socket_t fd, short what, void *arg);
static void sess_upstr_cb(struct upstr *up, enum upstr_event ev, void *arg);
static int sess_pump_request(struct session *s);
static void sess_log(struct server *srv, struct session *s);
static int sess_splice_try(struct session *s, int dir);
static int sess_response_complete(struct session *s);
static int sess_upstream_failed(
    struct session *s, enum reply_code code, const char *why);
static int sess_pump_response(struct session *s);
static int sess_reply(struct session *s, enum reply_code code,
    const char *detail, const char *extra);
static int sess_auth_start(struct session *s);

static const http_parser_settings sess_req_settings;
static const http_parser_settings sess_resp_settings;

static void
sess_tv(struct timeval *tv, unsigned ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static const struct config *
sess_cfg(const struct session *s)
{
	return s->srv->cfg;
}

/* Client timeouts: read is idle/header or body, write is always body. */
static void
sess_set_timeouts(struct session *s, unsigned read_ms)
{
	struct timeval r, w;

	sess_tv(&r, read_ms);
	sess_tv(&w, sess_cfg(s)->timeouts.body);
	bufferevent_set_timeouts(s->bev, &r, &w);
}

/*
 * The single teardown path: frees the session and everything it holds,
 * and logs the request that was in flight, if any.
 */
static void
sess_close(struct session *s, const char *why)
{
	struct server *srv = s->srv;

	if (s->head_started && s->wstate != WS_DONE) {
		/* A request was cut short: it still gets its log line. */
		s->error = why;
		if (s->status == 0)
			s->status = 499;
		metrics_request(
		    s->method, s->status, s->bytes_in, s->bytes_out, 0);
		sess_log(srv, s);
	}
	if (s->up != NULL) {
		upstr_close(s->up);
		s->up = NULL;
	}
	splice_free(s->sp);
	if (s->hjob != NULL)
		hasher_cancel(s->hjob);
	admit_cancel(s->await);
	auth_pending_clear(&s->pend);
	if (s->held != NULL)
		evbuffer_free(s->held);
	TAILQ_REMOVE(&srv->sessions, s, entry);
	srv->nsessions--;
	if (s->hdr_timer != NULL)
		event_free(s->hdr_timer);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->fwd != NULL)
		evbuffer_free(s->fwd);
	head_clear(&s->req);
	head_clear(&s->resp);
	free(s);
	metrics_conn_close();
	server_session_gone(srv);
}

/* ---- parser callbacks ------------------------------------------------- */

static int
sess_head_result(struct session *s, enum head_status st)
{
	if (st == HEAD_OK)
		return 0;
	s->pev |= PEV_HEAD_ERROR;
	return -1;
}

static int
sess_on_url(http_parser *p, const char *at, size_t len)
{
	struct session *s = p->data;

	return sess_head_result(s, head_add_url(&s->req, at, len));
}

static int
sess_on_req_field(http_parser *p, const char *at, size_t len)
{
	struct session *s = p->data;

	return sess_head_result(s, head_add_name(&s->req, at, len));
}

static int
sess_on_req_value(http_parser *p, const char *at, size_t len)
{
	struct session *s = p->data;

	return sess_head_result(s, head_add_value(&s->req, at, len));
}

static int
sess_on_status(http_parser *p, const char *at, size_t len)
{
	struct session *s = p->data;

	return sess_head_result(s, head_add_reason(&s->resp, at, len));
}

static int
sess_on_resp_field(http_parser *p, const char *at, size_t len)
{
	struct session *s = p->data;

	return sess_head_result(s, head_add_name(&s->resp, at, len));
}

static int
sess_on_resp_value(http_parser *p, const char *at, size_t len)
{
	struct session *s = p->data;

	return sess_head_result(s, head_add_value(&s->resp, at, len));
}

static int
sess_on_headers_complete(http_parser *p)
{
	struct session *s = p->data;

	s->pev |= PEV_HEAD_DONE;
	http_parser_pause(p, 1);
	/* A response to HEAD has no body whatever its framing says. */
	if (p->type == HTTP_RESPONSE && s->up_method == HTTP_HEAD)
		return 1;
	return 0;
}

static int
sess_on_message_complete(http_parser *p)
{
	struct session *s = p->data;

	s->pev |= PEV_MSG_DONE;
	http_parser_pause(p, 1);
	return 0;
}

/* POST /token keeps its (small) form body. */
static int
sess_on_req_body(http_parser *p, const char *at, size_t len)
{
	struct session *s = p->data;

	if (!s->collect_req)
		return 0;
	if (evbuffer_get_length(s->held) + len >
	    (s->hold_req ? sess_cfg(s)->limits.manifest_bytes
			 : SESS_FORM_MAX)) {
		s->pev |= PEV_HEAD_ERROR;
		return -1;
	}
	return evbuffer_add(s->held, at, len);
}

static const http_parser_settings sess_req_settings = {
    .on_url = sess_on_url,
    .on_body = sess_on_req_body,
    .on_header_field = sess_on_req_field,
    .on_header_value = sess_on_req_value,
    .on_headers_complete = sess_on_headers_complete,
    .on_message_complete = sess_on_message_complete,
};

/* Catalog filtering and admission keep the decoded body (bounded). */
static int
sess_on_resp_body(http_parser *p, const char *at, size_t len)
{
	struct session *s = p->data;

	if (!s->collect && !s->hold)
		return 0;
	if (evbuffer_get_length(s->held) + len >
	    sess_cfg(s)->limits.manifest_bytes) {
		s->pev |= PEV_HEAD_ERROR;
		return -1;
	}
	return evbuffer_add(s->held, at, len);
}

static const http_parser_settings sess_resp_settings = {
    .on_status = sess_on_status,
    .on_header_field = sess_on_resp_field,
    .on_header_value = sess_on_resp_value,
    .on_body = sess_on_resp_body,
    .on_headers_complete = sess_on_headers_complete,
    .on_message_complete = sess_on_message_complete,
};

/*
 * Feed the parser from src. While a head is being read (dst NULL) the
 * consumed bytes are dropped (the callbacks copied them); in a body they
 * move to dst as they are, as long as dst holds less than the high-water
 * mark. *moved counts the bytes consumed.
 *
 * http_parser paused in on_headers_complete stops just before the head's
 * final LF, which it consumes on the next call: that byte is fed on its
 * own here so that it is dropped with the head and never relayed.
 */
static enum sess_pump
sess_parse(struct session *s, http_parser *p,
    const http_parser_settings *settings, struct evbuffer *src,
    struct evbuffer *dst, uint64_t *moved)
{
	struct evbuffer_iovec v;
	size_t n, hw = sess_cfg(s)->limits.high_water;
	enum http_errno err;

	while (evbuffer_get_length(src) > 0) {
		if (dst != NULL && evbuffer_get_length(dst) >= hw)
			return PUMP_BLOCKED;
		if (evbuffer_peek(src, -1, NULL, &v, 1) < 1)
			break;
		s->pev = 0;
		n = http_parser_execute(p, settings, v.iov_base, v.iov_len);
		err = HTTP_PARSER_ERRNO(p);
		if (err == HPE_PAUSED)
			http_parser_pause(p, 0);
		else if (err != HPE_OK)
			return PUMP_ERROR;
		if (s->pev & PEV_HEAD_DONE) {
			if (n >= v.iov_len)
				return PUMP_ERROR; /* no final LF: impossible */
			s->pev &= ~PEV_HEAD_DONE;
			if (http_parser_execute(p, settings,
				(const char *)v.iov_base + n, 1) != 1)
				return PUMP_ERROR;
			err = HTTP_PARSER_ERRNO(p);
			if (err == HPE_PAUSED)
				http_parser_pause(p, 0);
			else if (err != HPE_OK)
				return PUMP_ERROR;
			evbuffer_drain(src, n + 1);
			*moved += n + 1;
			s->pev |= PEV_HEAD_DONE;
			return PUMP_HEAD;
		}
		if (dst == NULL)
			evbuffer_drain(src, n);
		else if (evbuffer_remove_buffer(src, dst, n) != (int)n)
			return PUMP_ERROR;
		*moved += n;
		if (s->pev & PEV_MSG_DONE)
			return PUMP_MSG;
		if (n < v.iov_len)
			return PUMP_ERROR; /* parser stopped: upgrade */
	}
	return PUMP_AGAIN;
}

/* ---- request log ------------------------------------------------------ */

static double
sess_elapsed(const struct session *s)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - s->t0.tv_sec) +
	    (double)(t1.tv_nsec - s->t0.tv_nsec) / 1e9;
}

/* Request target without the query, which may carry upload state. */
static size_t
sess_path_len(const struct session *s)
{
	const char *u, *q;

	if (s->req.url.len == 0)
		return 0; /* garbage before any request line */
	u = head_ptr(&s->req, s->req.url);
	q = memchr(u, '?', s->req.url.len);
	return q != NULL ? (size_t)(q - u) : s->req.url.len;
}

/* Append the string str. */
static void
sess_log_str(struct evbuffer *b, const char *str)
{
	evbuffer_add(b, str, strlen(str));
}

/* Append v in decimal, at least width digits (zero-padded). */
static void
sess_log_num(struct evbuffer *b, unsigned long long v, size_t width)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 || sizeof(d) - i < width);
	evbuffer_add(b, d + i, sizeof(d) - i);
}

static void
sess_log_int(struct evbuffer *b, int v)
{
	if (v < 0)
		evbuffer_add(b, "-", 1);
	sess_log_num(
	    b, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, 1);
}

/*
 * The request's log line. Built with appends, not printf (it runs once
 * per request); the UTC second is formatted once per second.
 */
static void
sess_log(struct server *srv, struct session *s)
{
	static time_t ts_sec = (time_t)-1;
	static char ts[32];
	struct evbuffer *b;
	struct timespec now, t1;
	struct tm tm;
	long long us;
	size_t len;

	if (srv->log == NULL || (b = evbuffer_new()) == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != ts_sec) {
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = now.tv_sec;
	}
	sess_log_str(b, "{\"time\":\"");
	sess_log_str(b, ts);
	evbuffer_add(b, ".", 1);
	sess_log_num(b, (unsigned long long)(now.tv_nsec / 1000000), 3);
	sess_log_str(b, "Z\",\"level\":\"info\",\"msg\":\"request\",\"id\":\"");
	sess_log_str(b, s->reqid);
	sess_log_str(b, "\",\"client\":\"");
	sess_log_str(b, s->client);
	sess_log_str(b,
	    s->tls ? "\",\"tls\":true,\"method\":\""
		   : "\",\"tls\":false,\"method\":\"");
	sess_log_str(b, http_method_str(s->method));
	sess_log_str(b, "\",\"path\":\"");
	if (s->req.url.len > 0)
		reply_json_escape(
		    b, head_ptr(&s->req, s->req.url), sess_path_len(s));
	sess_log_str(b, "\",\"route\":\"");
	sess_log_str(b, route_kind_name(s->route.kind));
	evbuffer_add(b, "\"", 1);
	if (s->route.name.len > 0) {
		evbuffer_add(b, ",\"repo\":\"", 9);
		reply_json_escape(b, s->route.name.ptr, s->route.name.len);
		evbuffer_add(b, "\"", 1);
	}
	if (s->route.ref.len > 0) {
		evbuffer_add(b, ",\"ref\":\"", 8);
		reply_json_escape(b, s->route.ref.ptr, s->route.ref.len);
		evbuffer_add(b, "\"", 1);
	}
	if (s->authed) {
		char who[AUTH_NAME_MAX + 16];

		evbuffer_add(b, ",\"principal\":\"", 14);
		auth_principal_str(&s->who, who, sizeof(who));
		reply_json_escape(b, who, strlen(who));
		evbuffer_add(b, "\"", 1);
	}
	if (s->reason[0] != '\0') {
		evbuffer_add(b, ",\"reason\":\"", 11);
		reply_json_escape(b, s->reason, strlen(s->reason));
		evbuffer_add(b, "\"", 1);
	}
	/* ms with three decimals: the elapsed time rounded to a microsecond */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((long long)(t1.tv_sec - s->t0.tv_sec) * 1000000000LL +
		 (t1.tv_nsec - s->t0.tv_nsec) + 500) /
	    1000;
	if (us < 0)
		us = 0;
	sess_log_str(b, ",\"status\":");
	sess_log_int(b, s->status);
	sess_log_str(b, ",\"bytes_in\":");
	sess_log_num(b, (unsigned long long)s->bytes_in, 1);
	sess_log_str(b, ",\"bytes_out\":");
	sess_log_num(b, (unsigned long long)s->bytes_out, 1);
	sess_log_str(b, ",\"ms\":");
	sess_log_num(b, (unsigned long long)(us / 1000), 1);
	evbuffer_add(b, ".", 1);
	sess_log_num(b, (unsigned long long)(us % 1000), 3);
	sess_log_str(b, ",\"upstream_status\":");
	sess_log_int(b, s->upstream_status);
	if (s->error != NULL) {
		sess_log_str(b, ",\"error\":\"");
		sess_log_str(b, s->error);
		evbuffer_add(b, "\"", 1);
	}
	evbuffer_add(b, "}\n", 2);
	len = evbuffer_get_length(b);
	fwrite(evbuffer_pullup(b, -1), 1, len, srv->log);
	log_line(srv);
	evbuffer_free(b);
}

/* ---- request lifecycle ------------------------------------------------ */

static void
sess_request_reset(struct session *s)
{
	http_parser_init(&s->req_parser, HTTP_REQUEST);
	s->req_parser.data = s;
	head_reset(&s->req);
	head_reset(&s->resp);
	memset(&s->route, 0, sizeof(s->route));
	s->method = SESS_METHOD_UNKNOWN;
	s->rstate = RS_HEAD;
	s->wstate = WS_NONE;
	s->head_started = 0;
	s->probe = 0;
	s->head_sent = 0;
	s->body_sent = 0;
	s->resp_bytes = 0;
	s->upstream_status = 0;
	s->status = 0;
	s->bytes_in = s->bytes_out = 0;
	s->error = NULL;
	s->authed = 0;
	s->is_token = 0;
	s->collect_req = 0;
	s->hold_req = 0;
	s->no_mount = 0;
	s->collect = 0;
	s->hold = 0;
	s->admit_pidx = -1;
	s->await = NULL;
	s->dgst[0] = '\0';
	s->reason[0] = '\0';
	auth_pending_clear(&s->pend);
	if (s->held != NULL)
		evbuffer_drain(s->held, evbuffer_get_length(s->held));
	if (s->fwd != NULL)
		evbuffer_drain(s->fwd, evbuffer_get_length(s->fwd));
	sess_set_timeouts(s, sess_cfg(s)->timeouts.idle);
}

/* Start the close: stop reading, flush what is queued, then free. */
static int
sess_close_after_flush(struct session *s)
{
	s->closing = 1;
	bufferevent_disable(s->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
		sess_close(s, "closed");
		return SESS_GONE;
	}
	return 0;
}

/*
 * Writing without the round trip. A bufferevent writes only once epoll
 * says the socket is writable: two epoll_ctl() calls and a wakeup per
 * answer. On a plain kept-alive connection a complete answer (or request
 * head) is written here at once; what the socket does not take stays in
 * the bufferevent, which goes on as usual. sess_write_on() must run
 * before anything else is added to the client's output.
 */
static void
sess_write_now(struct session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (s->tls || s->fd < 0 || s->splicing ||
	    evbuffer_get_length(out) == 0 || evbuffer_write(out, s->fd) < 0 ||
	    evbuffer_get_length(out) > 0)
		return; /* errors show on the bufferevent's own write */
	/* Drops the write event this pass added: no epoll_ctl() at all. */
	bufferevent_disable(s->bev, EV_WRITE);
	s->write_off = 1;
}

static void
sess_write_on(struct session *s)
{
	if (s->write_off) {
		s->write_off = 0;
		bufferevent_enable(s->bev, EV_WRITE);
	}
}

/*
 * The response is complete and the request too: log it, then either wait
 * for the next request on this connection or close.
 */
static int
sess_request_done(struct session *s)
{
	struct server *srv = s->srv;

	s->wstate = WS_DONE;
	metrics_request(
	    s->method, s->status, s->bytes_in, s->bytes_out, sess_elapsed(s));
	sess_log(srv, s);
	if (!s->keepalive || srv->draining || s->closing)
		return sess_close_after_flush(s);
	sess_write_now(s);
	sess_request_reset(s);
	bufferevent_enable(s->bev, EV_READ);
	/* A pipelined request may be waiting in the input already. */
	return sess_pump_request(s);
}

/* The response ended: hand back or drop the upstream connection. */
static int
sess_response_done(struct session *s)
{
	int reuse =
	    s->rstate == RS_DONE && http_should_keep_alive(&s->resp_parser);

	if (s->splicing) {
		/* Answered while the request body was still moving. */
		splice_stop(s->sp);
		splice_free(s->sp);
		s->sp = NULL;
		s->splicing = 0;
	}
	if (s->up != NULL) {
		if (reuse)
			upstr_release(s->up);
		else
			upstr_close(s->up);
		s->up = NULL;
	}
	if (s->rstate != RS_DONE) {
		/* Answered before the whole body came: the rest is unread. */
		s->closing = 1;
	}
	return sess_request_done(s);
}

/*
 * Write a reply the gateway makes itself. When the request body has not
 * been read the connection closes after the reply.
 */
static int
sess_reply_raw(struct session *s, int status, const char *ctype,
    struct evbuffer *body, const char *extra)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	size_t blen = body != NULL ? evbuffer_get_length(body) : 0;
	size_t before = evbuffer_get_length(out);

	sess_write_on(s);
	s->status = status;
	s->wstate = WS_LOCAL;
	if (s->rstate != RS_DONE)
		s->closing = 1; /* the rest of the request is unread */
	if (s->up != NULL) {
		upstr_close(s->up);
		s->up = NULL;
	}
	evbuffer_add_printf(out,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Docker-Distribution-Api-Version: registry/2.0\r\n%s%s\r\n",
	    status, reply_reason(status), ctype, blen, extra ? extra : "",
	    s->closing || !s->keepalive || s->srv->draining
		? "Connection: close\r\n"
		: "");
	if (body != NULL && s->method != HTTP_HEAD)
		evbuffer_add_buffer(out, body);
	s->bytes_out += evbuffer_get_length(out) - before;
	return sess_request_done(s);
}

static int
sess_reply(struct session *s, enum reply_code code, const char *detail,
    const char *extra)
{
	struct evbuffer *body;
	int rc;

	if ((body = evbuffer_new()) == NULL) {
		sess_close(s, "out of memory");
		return SESS_GONE;
	}
	reply_oci_body(body, code, detail);
	rc = sess_reply_raw(s, reply_info(code)->status,
	    "application/json; charset=utf-8", body, extra);
	evbuffer_free(body);
	return rc;
}

/* ---- routing ---------------------------------------------------------- */

/* Methods each route accepts; the upstream never sees the others. */
static const char *
sess_allowed(enum route_kind kind)
{
	switch (kind) {
	case ROUTE_BASE:
	case ROUTE_CATALOG:
	case ROUTE_TAGS_LIST:
	case ROUTE_REFERRERS:
		return "GET, HEAD";
	case ROUTE_MANIFEST:
		return "GET, HEAD, PUT, DELETE";
	case ROUTE_BLOB:
		return "GET, HEAD, DELETE";
	case ROUTE_UPLOAD_START:
		return "POST";
	case ROUTE_UPLOAD:
		return "GET, PATCH, PUT, DELETE";
	case ROUTE_NONE:
		break;
	}
	return "";
}

static int
sess_method_ok(enum route_kind kind, unsigned method)
{
	const char *allowed = sess_allowed(kind), *m = http_method_str(method);
	size_t ml = strlen(m);
	const char *p = allowed;

	while ((p = strstr(p, m)) != NULL) {
		if ((p == allowed || p[-1] == ' ') &&
		    (p[ml] == ',' || p[ml] == '\0'))
			return 1;
		p += ml;
	}
	return 0;
}

static enum reply_code
sess_route_error(enum route_status st)
{
	switch (st) {
	case ROUTE_ERR_TARGET:
		return REPLY_BAD_TARGET;
	case ROUTE_ERR_NOT_FOUND:
		return REPLY_NOT_FOUND;
	case ROUTE_ERR_NAME:
		return REPLY_NAME_INVALID;
	case ROUTE_ERR_TAG:
		return REPLY_TAG_INVALID;
	case ROUTE_ERR_DIGEST:
		return REPLY_DIGEST_INVALID;
	case ROUTE_ERR_UPLOAD:
		return REPLY_UPLOAD_INVALID;
	case ROUTE_ERR_QUERY:
		return REPLY_QUERY_INVALID;
	case ROUTE_OK:
		break;
	}
	return REPLY_INTERNAL;
}

static int
sess_local_metrics(struct session *s)
{
	struct evbuffer *body;
	int rc;

	if ((body = evbuffer_new()) == NULL || metrics_render(body) == -1) {
		if (body != NULL)
			evbuffer_free(body);
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	}
	if (s->srv->admit != NULL) {
		struct admit_stats st;

		admit_get_stats(s->srv->admit, &st);
		evbuffer_add_printf(body,
		    "# HELP regward_admission_cache_total Admission verdicts "
		    "looked up in memory.\n"
		    "# TYPE regward_admission_cache_total counter\n"
		    "regward_admission_cache_total{result=\"hit\"} %llu\n"
		    "regward_admission_cache_total{result=\"miss\"} %llu\n"
		    "# HELP regward_admission_checks_total Manifests checked "
		    "by the admission workers.\n"
		    "# TYPE regward_admission_checks_total counter\n"
		    "regward_admission_checks_total{verdict=\"admit\"} %llu\n"
		    "regward_admission_checks_total{verdict=\"refuse\"} "
		    "%llu\n"
		    "# HELP regward_admission_cached Verdicts in memory.\n"
		    "# TYPE regward_admission_cached gauge\n"
		    "regward_admission_cached %zu\n",
		    st.hits, st.misses, st.admitted, st.refused, st.cached);
	}
	rc = sess_reply_raw(s, 200, "text/plain; version=0.0.4", body, NULL);
	evbuffer_free(body);
	return rc;
}

/* ---- proxying: request side ------------------------------------------- */

static int
sess_add_field(struct evbuffer *out, const struct head *h, size_t i)
{
	const struct head_field *f = &h->fields[i];

	/* Four appends cost a tenth of one evbuffer_add_printf(). */
	if (evbuffer_add(out, head_ptr(h, f->name), f->name.len) == -1 ||
	    evbuffer_add(out, ": ", 2) == -1 ||
	    evbuffer_add(out, head_ptr(h, f->value), f->value.len) == -1 ||
	    evbuffer_add(out, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/*
 * Fields that say where a request came from and how: the gateway sets
 * them; a client's own would let it choose the URLs the registry builds.
 */
static int
sess_forwarding_field(const struct head *h, size_t i)
{
	static const char *const names[] = {"Host", "X-Forwarded-Proto",
	    "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Prefix",
	    "Forwarded", "X-Real-Ip"};
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (head_name_is(h, i, names[k]))
			return 1;
	return 0;
}

/*
 * Serialise the request head for the upstream into s->fwd: the target as
 * received (it was validated, never rewritten), end-to-end fields as they
 * are, Host set to the upstream, X-Forwarded-For/-Proto set, the client's
 * other forwarding fields dropped.
 */
static int
sess_build_forward(struct session *s)
{
	const struct config *cfg = sess_cfg(s);
	const struct head *h = &s->req;
	struct evbuffer *out = s->fwd;
	size_t i;
	int xff = -1;

	/* The probe sends GET; a held manifest is fetched whole, also for a
	 * HEAD. */
	s->up_method = s->probe || (s->hold && s->method == HTTP_HEAD)
	    ? HTTP_GET
	    : s->method;
	if (s->probe)
		return evbuffer_add_printf(out,
			   "GET /v2/ HTTP/1.1\r\nHost: %s\r\n"
			   "User-Agent: regward-healthz\r\n\r\n",
			   cfg->upstream.authority) < 0
		    ? -1
		    : 0;
	evbuffer_add_printf(out, "%s %.*s HTTP/1.1\r\nHost: %s\r\n",
	    http_method_str(s->up_method),
	    (int)(s->no_mount ? s->route.path.len : h->url.len),
	    head_ptr(h, h->url), cfg->upstream.authority);
	for (i = 0; i < h->nfields; i++) {
		if (head_is_hop_by_hop(h, i) || sess_forwarding_field(h, i))
			continue;
		/* A held body goes with its own framing, and at once. */
		if (s->hold_req &&
		    (head_name_is(h, i, "Content-Length") ||
			head_name_is(h, i, "Transfer-Encoding") ||
			head_name_is(h, i, "Expect")))
			continue;
		if (head_name_is(h, i, "X-Forwarded-For")) {
			xff = (int)i; /* appended to below */
			continue;
		}
		sess_add_field(out, h, i);
	}
	if (xff >= 0)
		evbuffer_add_printf(out, "X-Forwarded-For: %.*s, %s\r\n",
		    (int)h->fields[xff].value.len,
		    head_ptr(h, h->fields[xff].value), s->client_ip);
	else
		evbuffer_add_printf(
		    out, "X-Forwarded-For: %s\r\n", s->client_ip);
	if (s->hold_req)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n",
		    evbuffer_get_length(s->held));
	return evbuffer_add_printf(out, "X-Forwarded-Proto: %s\r\n\r\n",
		   s->tls ? "https" : "http") < 0
	    ? -1
	    : 0;
}

/* An upstream connection is ready: send the head, then the body. */
static int
sess_upstream_ready(struct session *s)
{
	const struct config *cfg = sess_cfg(s);
	const unsigned char *head;
	size_t len;
	ssize_t n;

	s->wstate = WS_HEAD;
	http_parser_init(&s->resp_parser, HTTP_RESPONSE);
	s->resp_parser.data = s;
	head_reset(&s->resp);
	upstr_set_timeouts(
	    s->up, cfg->timeouts.upstream_response, cfg->timeouts.body);
	upstr_enable_read(s->up, 1);
	head = evbuffer_pullup(s->fwd, -1);
	len = evbuffer_get_length(s->fwd);
	/* A bodiless request goes out at once (see sess_write_now()). */
	if (s->rstate == RS_DONE && !s->hold_req && upstr_fd(s->up) >= 0 &&
	    evbuffer_get_length(upstr_output(s->up)) == 0 &&
	    (n = write(upstr_fd(s->up), head, len)) > 0) {
		head += n;
		len -= (size_t)n;
	}
	if (len > 0 && evbuffer_add(upstr_output(s->up), head, len) == -1)
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	if (s->hold_req) {
		s->body_sent = evbuffer_get_length(s->held);
		evbuffer_add_buffer(upstr_output(s->up), s->held);
	}
	return sess_pump_request(s);
}

static int
sess_upstream_start(struct session *s)
{
	if ((s->up = upstr_acquire(s->srv->pool, sess_upstr_cb, s)) == NULL) {
		s->error = "upstream connect failed";
		return sess_reply(s, REPLY_UPSTREAM_DOWN, NULL, NULL);
	}
	s->wstate = WS_CONNECT;
	if (upstr_connected(s->up))
		return sess_upstream_ready(s);
	return 0;
}

static int
sess_proxy(struct session *s)
{
	if (sess_build_forward(s) == -1)
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	return sess_upstream_start(s);
}

/* ---- authentication and authorization --------------------------------- */

/* Record a refusal or a failed login in the ledger (never blocks). */
static void
sess_ledger_event(struct session *s, enum db_ledger_kind kind, int status)
{
	struct ledger_event e;
	char who[AUTH_NAME_MAX + 16], repo[ROUTE_NAME_MAX + 1];
	char ref[ROUTE_DIGEST_MAX + ROUTE_TAG_MAX + 1];

	if (s->srv->ledger == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.principal =
	    s->authed ? auth_principal_str(&s->who, who, sizeof(who)) : NULL;
	e.client = s->client;
	if (s->route.name.len > 0) {
		snprintf(repo, sizeof(repo), "%.*s", (int)s->route.name.len,
		    s->route.name.ptr);
		e.repository = repo;
	}
	if (s->route.ref.len > 0 && s->route.ref.len < sizeof(ref)) {
		snprintf(ref, sizeof(ref), "%.*s", (int)s->route.ref.len,
		    s->route.ref.ptr);
		e.ref = ref;
	}
	e.method = http_method_str(s->method);
	e.status = status;
	e.reason = s->reason[0] ? s->reason : NULL;
	ledger_event(s->srv->ledger, &e);
}

/*
 * A manifest stored (201) or deleted (202) through the gateway: the
 * ledger says who did it. The digest is the registry's answer.
 */
static void
sess_ledger_response(struct session *s, int status)
{
	const struct head *h = &s->resp;
	struct ledger_push p;
	char who[AUTH_NAME_MAX + 16], repo[ROUTE_NAME_MAX + 1];
	char tag[ROUTE_TAG_MAX + 1], dgst[ROUTE_DIGEST_MAX + 1];
	char mt[128] = "";
	int i;

	if (s->srv->ledger == NULL || !s->authed ||
	    s->route.kind != ROUTE_MANIFEST)
		return;
	snprintf(repo, sizeof(repo), "%.*s", (int)s->route.name.len,
	    s->route.name.ptr);
	if (s->method == HTTP_DELETE && status == 202) {
		sess_ledger_event(s, DB_LEDGER_DELETE, status);
		return;
	}
	if (s->method != HTTP_PUT || status != 201 ||
	    (i = head_find(h, "Docker-Content-Digest", 0)) < 0 ||
	    h->fields[i].value.len >= sizeof(dgst))
		return;
	/* A new signature: what admission knew of its image is stale. */
	if (s->srv->admit != NULL && !s->route.ref_is_digest &&
	    s->route.ref.len == SIG_REF_SIG_TAG_SIZE - 1 &&
	    memcmp(s->route.ref.ptr, "sha256-", 7) == 0 &&
	    memcmp(s->route.ref.ptr + 71, ".sig", 4) == 0) {
		char subj[SIG_DIGEST_SIZE];

		snprintf(
		    subj, sizeof(subj), "sha256:%.64s", s->route.ref.ptr + 7);
		if (sig_digest_valid(subj, strlen(subj)))
			admit_invalidate(s->srv->admit, repo, subj);
	}
	snprintf(dgst, sizeof(dgst), "%.*s", (int)h->fields[i].value.len,
	    head_ptr(h, h->fields[i].value));
	memset(&p, 0, sizeof(p));
	p.repository = repo;
	if (!s->route.ref_is_digest && s->route.ref.len < sizeof(tag)) {
		snprintf(tag, sizeof(tag), "%.*s", (int)s->route.ref.len,
		    s->route.ref.ptr);
		p.tag = tag;
	}
	p.digest = dgst;
	if ((i = head_find(&s->req, "Content-Type", 0)) >= 0 &&
	    s->req.fields[i].value.len < sizeof(mt)) {
		snprintf(mt, sizeof(mt), "%.*s",
		    (int)s->req.fields[i].value.len,
		    head_ptr(&s->req, s->req.fields[i].value));
		p.media_type = mt;
	}
	p.size = (long long)s->body_sent;
	p.principal = auth_principal_str(&s->who, who, sizeof(who));
	p.client = s->client;
	p.claims = s->who.claims[0] != '\0' ? s->who.claims : NULL;
	ledger_push(s->srv->ledger, &p);
}

/* An upload session started: it belongs to whoever started it. */
static void
sess_bind_upload(struct session *s)
{
	const struct head *h = &s->resp;
	int i;

	if ((i = head_find(h, "Docker-Upload-UUID", 0)) < 0)
		return;
	auth_upload_bind(s->srv->auth, head_ptr(h, h->fields[i].value),
	    h->fields[i].value.len, &s->who, time(NULL));
}

/* 401 with the challenge that sends clients to /token. */
static int
sess_challenge(struct session *s, const char *scope, int insufficient)
{
	char ch[1024], extra[1100];

	if (s->is_token) /* the token endpoint itself wants a login */
		snprintf(ch, sizeof(ch), "Basic realm=\"regward\"");
	else
		auth_challenge(s->srv->auth, sess_cfg(s)->public_url, scope,
		    insufficient, ch, sizeof(ch));
	snprintf(extra, sizeof(extra), "WWW-Authenticate: %s\r\n", ch);
	return sess_reply(
	    s, REPLY_UNAUTHORIZED, s->reason[0] ? s->reason : NULL, extra);
}

/* A NUL-terminated copy of a route slice; "" when it does not fit. */
static void
sess_slice_str(const struct route_slice *sl, char *buf, size_t len)
{
	if (sl->len >= len)
		sl = NULL;
	snprintf(buf, len, "%.*s", sl ? (int)sl->len : 0, sl ? sl->ptr : "");
}

/* The token endpoint: a local answer. */
static int
sess_token(struct session *s)
{
	struct evbuffer *body = evbuffer_new();
	char why[256] = "";
	int status, rc;

	if (body == NULL)
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	if (s->is_token == 2)
		status = auth_token(s->srv->auth, &s->who,
		    (const char *)evbuffer_pullup(s->held, -1),
		    evbuffer_get_length(s->held), 1, time(NULL), body, why,
		    sizeof(why));
	else
		status = auth_token(s->srv->auth, &s->who, s->route.query.ptr,
		    s->route.query.len, 0, time(NULL), body, why, sizeof(why));
	if (status != 200) {
		evbuffer_free(body);
		snprintf(s->reason, sizeof(s->reason), "%s", why);
		return sess_reply(s,
		    status == 400 ? REPLY_QUERY_INVALID : REPLY_INTERNAL, why,
		    NULL);
	}
	rc = sess_reply_raw(
	    s, 200, "application/json", body, "Cache-Control: no-store\r\n");
	evbuffer_free(body);
	return rc;
}

/* ---- immutable tags ----------------------------------------------------- */

static void
sess_tag_cb(int found, const char *dgst, const char *why, void *arg)
{
	struct session *s = arg;
	char tag[ROUTE_TAG_MAX + 1];

	s->await = NULL;
	sess_slice_str(&s->route.ref, tag, sizeof(tag));
	if (found == -1) {
		snprintf(s->reason, sizeof(s->reason),
		    "cannot check immutable tag %s: %.300s", tag, why);
		sess_reply(
		    s, REPLY_UPSTREAM_DOWN, s->reason, "Retry-After: 1\r\n");
		return;
	}
	if (found == 1 && strcmp(dgst, s->dgst) != 0) {
		snprintf(s->reason, sizeof(s->reason),
		    "tag %s is immutable here and points to %.80s; push %.80s "
		    "under a new tag",
		    tag, dgst, s->dgst);
		sess_ledger_event(s, DB_LEDGER_DENY, 403);
		sess_reply(s, REPLY_DENIED, s->reason, NULL);
		return;
	}
	sess_proxy(s); /* a new tag, or the same digest again */
}

/* The whole manifest is here: what does the tag point to now? */
static int
sess_immutable_lookup(struct session *s)
{
	const unsigned char *body = evbuffer_pullup(s->held, -1);
	char repo[ROUTE_NAME_MAX + 1], tag[ROUTE_TAG_MAX + 1];

	s->collect_req = 0;
	if (sig_digest_sha256(body != NULL ? body : (const unsigned char *)"",
		evbuffer_get_length(s->held), s->dgst) == -1)
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	sess_slice_str(&s->route.name, repo, sizeof(repo));
	sess_slice_str(&s->route.ref, tag, sizeof(tag));
	if (admit_tag_lookup(
		s->srv->admit, repo, tag, sess_tag_cb, s, &s->await) == -1)
		return sess_reply(
		    s, REPLY_BUSY, "lookup queue full", "Retry-After: 1\r\n");
	s->wstate = WS_ADMIT;
	return 0;
}

/* A push to an immutable tag: read the manifest first. */
static int
sess_immutable_start(struct session *s)
{
	const struct head *h = &s->req;
	int i;

	if (s->held == NULL && (s->held = evbuffer_new()) == NULL)
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	s->hold_req = 1;
	if (s->rstate == RS_DONE)
		return sess_immutable_lookup(s);
	if ((i = head_find(h, "Expect", 0)) >= 0 &&
	    h->fields[i].value.len == 12 &&
	    strncasecmp(head_ptr(h, h->fields[i].value), "100-continue", 12) ==
		0) {
		sess_write_on(s);
		evbuffer_add(bufferevent_get_output(s->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
	s->collect_req = 1;
	bufferevent_enable(s->bev, EV_READ);
	return sess_pump_request(s);
}

/* Authenticated: answer /token, or decide on the request. */
static int
sess_auth_done(struct session *s)
{
	char repo[ROUTE_NAME_MAX + 1], from[ROUTE_NAME_MAX + 1], scope[600];
	struct route_slice mount, src;
	const char *mount_from = NULL;
	enum auth_verdict v;

	s->authed = 1;
	if (s->is_token)
		return sess_token(s);
	sess_slice_str(&s->route.name, repo, sizeof(repo));
	if (s->route.kind == ROUTE_UPLOAD_START &&
	    route_query_get(&s->route, "mount", &mount) &&
	    route_query_get(&s->route, "from", &src)) {
		sess_slice_str(&src, from, sizeof(from));
		if (strchr(from, '%') != NULL)
			from[0] = '\0'; /* route.c checked it; be strict */
		mount_from = from;
	}
	v = auth_authorize(s->srv->auth, &s->who, s->route.kind, s->method,
	    repo, mount_from, scope, sizeof(scope), s->reason,
	    sizeof(s->reason));
	if ((v == AUTH_ALLOW || v == AUTH_ALLOW_NO_MOUNT) &&
	    s->route.kind == ROUTE_UPLOAD &&
	    auth_upload_check(s->srv->auth, s->route.ref.ptr, s->route.ref.len,
		&s->who, time(NULL)) == -1) {
		snprintf(s->reason, sizeof(s->reason),
		    "upload session %.*s belongs to another principal",
		    (int)(s->route.ref.len > 64 ? 64 : s->route.ref.len),
		    s->route.ref.ptr);
		sess_ledger_event(s, DB_LEDGER_DENY, 403);
		return sess_reply(s, REPLY_DENIED, s->reason, NULL);
	}
	switch (v) {
	case AUTH_ALLOW:
		break;
	case AUTH_ALLOW_NO_MOUNT:
		s->no_mount = 1;
		break;
	case AUTH_CHALLENGE:
		return sess_challenge(s, scope, s->who.bearer);
	case AUTH_DENY:
		sess_ledger_event(s, DB_LEDGER_DENY, 403);
		return sess_reply(s, REPLY_DENIED, s->reason, NULL);
	}
	if (s->route.kind == ROUTE_CATALOG && s->method == HTTP_GET) {
		if (s->held == NULL && (s->held = evbuffer_new()) == NULL)
			return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
		s->collect = 1;
	}
	if (s->srv->admit != NULL && s->route.kind == ROUTE_MANIFEST &&
	    s->method == HTTP_PUT && !s->route.ref_is_digest) {
		char tag[ROUTE_TAG_MAX + 1];

		sess_slice_str(&s->route.ref, tag, sizeof(tag));
		if (policy_tag_immutable(
			auth_policies(s->srv->auth), repo, tag))
			return sess_immutable_start(s);
	}
	if (s->srv->admit != NULL && s->route.kind == ROUTE_MANIFEST &&
	    (s->method == HTTP_GET || s->method == HTTP_HEAD)) {
		const struct policy_set *ps = auth_policies(s->srv->auth);
		int pidx = policy_match(ps, repo);

		if (pidx >= 0 && policy_require(ps, pidx) != NULL) {
			if (s->held == NULL &&
			    (s->held = evbuffer_new()) == NULL)
				return sess_reply(
				    s, REPLY_INTERNAL, NULL, NULL);
			s->hold = 1;
			s->admit_pidx = pidx;
		}
	}
	return sess_proxy(s);
}

static void
sess_hasher_cb(const struct hasher_result *res, void *arg)
{
	struct session *s = arg;
	int ok = res->verdict == DB_PRINCIPAL_VERIFY_OK;

	s->hjob = NULL;
	if (auth_finish_login(s->srv->auth, &s->pend, ok, res->roles,
		res->nroles, time(NULL), &s->who) != AUTH_OK) {
		char user[AUTH_NAME_MAX + 8];

		/* The name as the client typed it, as the throttle saw it. */
		snprintf(user, sizeof(user), "%s%s",
		    s->pend.kind == DB_PRINCIPAL_ROBOT ? "robot$" : "",
		    s->pend.name);
		auth_login_failed(s->srv->auth, s->client_ip, user, time(NULL));
		sess_ledger_event(s, DB_LEDGER_LOGIN_FAILED, 401);
		snprintf(s->reason, sizeof(s->reason), "login failed: %s",
		    res->verdict == DB_PRINCIPAL_VERIFY_DISABLED ? "disabled"
			: res->verdict == DB_PRINCIPAL_VERIFY_ERROR
			? "error"
			: "bad credentials");
		auth_pending_clear(&s->pend);
		sess_challenge(s, NULL, 0);
		return;
	}
	auth_pending_clear(&s->pend);
	sess_auth_done(s);
}

/*
 * Authenticate with the Authorization value val[0..len) (NULL: none).
 * Bearer, OIDC and cached logins answer at once; other logins wait for
 * the hasher.
 */
static int
sess_auth_with(struct session *s, const char *val, size_t len)
{
	struct auth *a = s->srv->auth;
	char extra[64];
	unsigned retry = 0;

	switch (auth_authenticate(a, val, len, s->client_ip, time(NULL),
	    &s->who, &s->pend, &retry, s->reason, sizeof(s->reason))) {
	case AUTH_OK:
		return sess_auth_done(s);
	case AUTH_FAILED:
		return sess_challenge(s, NULL, 0);
	case AUTH_THROTTLED:
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", retry);
		return sess_reply(s, REPLY_THROTTLED, NULL, extra);
	case AUTH_PENDING:
		break;
	}
	metrics_password_check();
	s->hjob = hasher_submit(auth_hasher(a), s->pend.kind, s->pend.name,
	    s->pend.pass, s->pend.passlen, sess_hasher_cb, s);
	if (s->hjob == NULL) {
		auth_pending_clear(&s->pend);
		return sess_reply(s, REPLY_BUSY, NULL, "Retry-After: 1\r\n");
	}
	s->wstate = WS_AUTH;
	return 0;
}

/* Who is asking? The Authorization field says. */
static int
sess_auth_start(struct session *s)
{
	const struct head *h = &s->req;
	int i;

	if ((i = head_find(h, "Authorization", 0)) >= 0)
		return sess_auth_with(
		    s, head_ptr(h, h->fields[i].value), h->fields[i].value.len);
	return sess_auth_with(s, NULL, 0);
}

/*
 * POST /token, the OAuth2 grants docker and containerd use: password (the
 * credentials go through the same checks, cache and throttle as Basic)
 * and refresh_token.
 */
static int
sess_token_form(struct session *s)
{
	const char *form = (const char *)evbuffer_pullup(s->held, -1);
	size_t len = evbuffer_get_length(s->held), ulen, plen, hlen = 0;
	char grant[32], user[AUTH_NAME_MAX + 1], *pass, *pair = NULL;
	char *hdr = NULL;
	int rc, n;

	s->collect_req = 0;
	if (auth_form_get(form, len, "grant_type", grant, sizeof(grant)) != 1)
		return sess_reply(
		    s, REPLY_QUERY_INVALID, "grant_type missing", NULL);
	if (strcmp(grant, "refresh_token") == 0) {
		char *rt = malloc(TOKEN_MAX + 1);

		if (rt == NULL)
			return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
		if (auth_form_get(
			form, len, "refresh_token", rt, TOKEN_MAX + 1) != 1 ||
		    auth_refresh(s->srv->auth, rt, strlen(rt), time(NULL),
			&s->who, s->reason, sizeof(s->reason)) != AUTH_OK) {
			free(rt);
			if (s->reason[0] == '\0')
				snprintf(s->reason, sizeof(s->reason),
				    "refresh_token missing");
			return sess_challenge(s, NULL, 0);
		}
		free(rt);
		return sess_auth_done(s);
	}
	if (strcmp(grant, "password") != 0)
		return sess_reply(s, REPLY_QUERY_INVALID,
		    "grant_type must be password or refresh_token", NULL);
	if ((pass = malloc(AUTH_PASS_MAX + 1)) == NULL)
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	if (auth_form_get(form, len, "username", user, sizeof(user)) != 1 ||
	    auth_form_get(form, len, "password", pass, AUTH_PASS_MAX + 1) !=
		1) {
		free(pass);
		return sess_reply(s, REPLY_QUERY_INVALID,
		    "username and password required", NULL);
	}
	/* Hand the pair to the Basic path: one set of checks for both. */
	ulen = strlen(user);
	plen = strlen(pass);
	rc = -1;
	if ((pair = malloc(ulen + plen + 1)) != NULL &&
	    (hdr = malloc(6 + (ulen + plen + 3) / 3 * 4 + 1)) != NULL) {
		memcpy(pair, user, ulen);
		pair[ulen] = ':';
		memcpy(pair + ulen + 1, pass, plen);
		memcpy(hdr, "Basic ", 6);
		n = EVP_EncodeBlock((unsigned char *)hdr + 6,
		    (const unsigned char *)pair, (int)(ulen + plen + 1));
		if (n > 0) {
			hlen = 6 + (size_t)n;
			rc = 0;
		}
	}
	if (pair != NULL) {
		OPENSSL_cleanse(pair, ulen + plen + 1);
		free(pair);
	}
	OPENSSL_cleanse(pass, AUTH_PASS_MAX + 1);
	free(pass);
	if (rc == -1) {
		free(hdr);
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	}
	rc = sess_auth_with(s, hdr, hlen);
	OPENSSL_cleanse(hdr, hlen);
	free(hdr);
	return rc;
}

/* The request head is complete: decide what to do with the request. */
static int
sess_dispatch(struct session *s, int msg_done)
{
	const struct config *cfg = sess_cfg(s);
	http_parser *p = &s->req_parser;
	enum route_status st;
	char allow[64];

	event_del(s->hdr_timer);
	s->method = p->method;
	s->keepalive = http_should_keep_alive(p);
	s->rstate = msg_done ? RS_DONE : RS_BODY;
	sess_set_timeouts(s, cfg->timeouts.body);
	if (msg_done) /* a pipelined request waits in the socket */
		bufferevent_disable(s->bev, EV_READ);
	if (p->upgrade || p->http_major != 1) {
		s->keepalive = 0;
		return sess_reply(s, REPLY_BAD_REQUEST,
		    "upgrades and HTTP versions other than 1.x are not served",
		    NULL);
	}
	st = route_parse(
	    head_ptr(&s->req, s->req.url), s->req.url.len, &s->route);
	if (st != ROUTE_OK)
		return sess_reply(s, sess_route_error(st), NULL, NULL);
	if (s->route.kind == ROUTE_NONE) {
		if (s->route.path.len == 8 &&
		    memcmp(s->route.path.ptr, "/healthz", 8) == 0 &&
		    (s->method == HTTP_GET || s->method == HTTP_HEAD)) {
			s->probe = 1;
			if (sess_build_forward(s) == -1)
				return sess_reply(
				    s, REPLY_INTERNAL, NULL, NULL);
			return sess_upstream_start(s);
		}
		if (s->route.path.len == 8 &&
		    memcmp(s->route.path.ptr, "/metrics", 8) == 0 &&
		    (s->method == HTTP_GET || s->method == HTTP_HEAD))
			return sess_local_metrics(s);
		if (s->route.path.len == 6 &&
		    memcmp(s->route.path.ptr, "/token", 6) == 0 &&
		    s->srv->auth != NULL && s->method == HTTP_GET) {
			s->is_token = 1;
			return sess_auth_start(s);
		}
		if (s->route.path.len == 6 &&
		    memcmp(s->route.path.ptr, "/token", 6) == 0 &&
		    s->srv->auth != NULL && s->method == HTTP_POST) {
			s->is_token = 2;
			if (s->held == NULL &&
			    (s->held = evbuffer_new()) == NULL)
				return sess_reply(
				    s, REPLY_INTERNAL, NULL, NULL);
			if (msg_done)
				return sess_token_form(s);
			s->collect_req = 1;
			bufferevent_enable(s->bev, EV_READ);
			return sess_pump_request(s);
		}
		return sess_reply(s, REPLY_NOT_FOUND, NULL, NULL);
	}
	if (!sess_method_ok(s->route.kind, s->method)) {
		snprintf(allow, sizeof(allow), "Allow: %s\r\n",
		    sess_allowed(s->route.kind));
		return sess_reply(s, REPLY_METHOD, NULL, allow);
	}
	if (s->srv->auth != NULL)
		return sess_auth_start(s);
	return sess_proxy(s);
}

static void
sess_request_begins(struct session *s)
{
	struct timeval tv;
	struct server *srv = s->srv;

	s->head_started = 1;
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	snprintf(s->reqid, sizeof(s->reqid), "%08x%08llx",
	    (unsigned)srv->reqsalt, (unsigned long long)++srv->reqseq);
	sess_tv(&tv, sess_cfg(s)->timeouts.header);
	evtimer_add(s->hdr_timer, &tv);
}

/*
 * Read what the client sent: a head, then the body towards the upstream.
 * Returns 0 or SESS_GONE.
 */
static int
sess_pump_request(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer *dst;
	enum sess_pump r;
	uint64_t n;

	if (s->closing)
		return 0;
	if (s->rstate == RS_HEAD) {
		if (evbuffer_get_length(in) == 0)
			return 0;
		if (!s->head_started)
			sess_request_begins(s);
		n = 0;
		r = sess_parse(
		    s, &s->req_parser, &sess_req_settings, in, NULL, &n);
		s->bytes_in += n;
		if (s->pev & PEV_HEAD_ERROR ||
		    HTTP_PARSER_ERRNO(&s->req_parser) == HPE_HEADER_OVERFLOW) {
			s->keepalive = 0;
			return sess_reply(s, REPLY_HEAD_TOO_LARGE, NULL, NULL);
		}
		if (r == PUMP_ERROR) {
			s->keepalive = 0;
			return sess_reply(s, REPLY_BAD_REQUEST,
			    http_errno_description(
				HTTP_PARSER_ERRNO(&s->req_parser)),
			    NULL);
		}
		if (r != PUMP_HEAD)
			return 0;
		if (sess_dispatch(s, (s->pev & PEV_MSG_DONE) != 0) == SESS_GONE)
			return SESS_GONE;
		return 0; /* the body moves once the upstream is ready */
	}
	if (s->rstate == RS_BODY && s->collect_req) {
		/* POST /token: the form is read here, then answered. */
		n = 0;
		r = sess_parse(
		    s, &s->req_parser, &sess_req_settings, in, NULL, &n);
		s->bytes_in += n;
		if (s->pev & PEV_HEAD_ERROR || r == PUMP_ERROR) {
			s->keepalive = 0;
			if (s->hold_req)
				return sess_reply(s, REPLY_MANIFEST_INVALID,
				    "manifest larger than "
				    "limits.manifest_bytes "
				    "or malformed",
				    NULL);
			return sess_reply(s, REPLY_QUERY_INVALID,
			    "form body too large or malformed", NULL);
		}
		if (r != PUMP_MSG)
			return 0;
		s->rstate = RS_DONE;
		bufferevent_disable(s->bev, EV_READ);
		if (s->hold_req)
			return sess_immutable_lookup(s);
		return sess_token_form(s);
	}
	if (s->rstate != RS_BODY || s->up == NULL || s->wstate == WS_CONNECT ||
	    s->splicing)
		return 0;
	dst = upstr_output(s->up);
	n = 0;
	r = sess_parse(s, &s->req_parser, &sess_req_settings, in, dst, &n);
	s->bytes_in += n;
	s->body_sent += n;
	switch (r) {
	case PUMP_AGAIN:
		return sess_splice_try(s, SESS_SPLICE_REQ);
	case PUMP_BLOCKED: /* resumed by UPSTR_WRITTEN */
		return 0;
	case PUMP_MSG:
		s->rstate = RS_DONE;
		bufferevent_disable(s->bev, EV_READ);
		return 0;
	case PUMP_HEAD:
	case PUMP_ERROR:
		break;
	}
	/* A malformed body: the upstream saw part of it; drop both ends. */
	sess_close(s, "malformed request body");
	return SESS_GONE;
}

/* ---- proxying: response side ------------------------------------------ */

/*
 * Write the response head to the client: status line, end-to-end fields,
 * Location and Link rewritten to public_url.
 */
static int
sess_send_head(struct session *s, long long body_len, const char *extra)
{
	const struct config *cfg = sess_cfg(s);
	const struct head *h = &s->resp;
	struct evbuffer *out = bufferevent_get_output(s->bev);
	size_t i, before = evbuffer_get_length(out);
	const struct head_field *f;
	int status = (int)s->resp_parser.status_code;

	sess_write_on(s);

	evbuffer_add_printf(out, "HTTP/1.1 %d %.*s\r\n", status,
	    (int)h->reason.len, head_ptr(h, h->reason));
	for (i = 0; i < h->nfields; i++) {
		f = &h->fields[i];
		if (head_is_hop_by_hop(h, i))
			continue;
		/* A body the gateway rewrote gets its own framing. */
		if (body_len >= 0 &&
		    (head_name_is(h, i, "Content-Length") ||
			head_name_is(h, i, "Transfer-Encoding")))
			continue;
		if (head_name_is(h, i, "Location")) {
			evbuffer_add(out, "Location: ", 10);
			rewrite_location(out, head_ptr(h, f->value),
			    f->value.len, cfg->upstream.authority,
			    cfg->public_url);
			evbuffer_add(out, "\r\n", 2);
		} else if (head_name_is(h, i, "Link")) {
			evbuffer_add(out, "Link: ", 6);
			rewrite_link(out, head_ptr(h, f->value), f->value.len,
			    cfg->upstream.authority, cfg->public_url);
			evbuffer_add(out, "\r\n", 2);
		} else {
			sess_add_field(out, h, i);
		}
	}
	if (body_len >= 0)
		evbuffer_add_printf(out, "Content-Length: %lld\r\n", body_len);
	if (extra != NULL)
		evbuffer_add(out, extra, strlen(extra));
	if (status >= 200) {
		if (!s->keepalive || s->srv->draining)
			evbuffer_add(out, "Connection: close\r\n", 19);
		else if (s->req_parser.http_minor == 0)
			evbuffer_add(out, "Connection: keep-alive\r\n", 24);
	}
	evbuffer_add(out, "\r\n", 2);
	s->bytes_out += evbuffer_get_length(out) - before;
	return 0;
}

/* The upstream is gone or broken. Answer if we still can, else cut. */
static int
sess_upstream_failed(struct session *s, enum reply_code code, const char *why)
{
	s->error = why;
	if (s->up != NULL) {
		upstr_close(s->up);
		s->up = NULL;
	}
	if (!s->head_sent)
		return sess_reply(s, code, NULL, NULL);
	/*
	 * Part of the response went out. Closing is the only honest end: a
	 * client must never take a short body for a complete one.
	 */
	sess_close(s, why);
	return SESS_GONE;
}

static int
sess_probe_done(struct session *s)
{
	struct evbuffer *body = evbuffer_new();
	int ok = s->upstream_status == 200 || s->upstream_status == 401;
	int rc;

	if (body == NULL)
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	evbuffer_add_printf(body,
	    "{\"status\":\"%s\",\"upstream_status\":%d}\n",
	    ok ? "ok" : "unavailable", s->upstream_status);
	rc = sess_reply_raw(
	    s, ok ? 200 : 503, "application/json; charset=utf-8", body, NULL);
	evbuffer_free(body);
	return rc;
}

/* The catalog, filtered down to what the caller may pull. */
static int
sess_catalog_done(struct session *s)
{
	struct evbuffer *body = evbuffer_new(), *out;
	size_t len;

	if (body == NULL ||
	    auth_catalog(s->srv->auth, &s->who,
		(const char *)evbuffer_pullup(s->held, -1),
		evbuffer_get_length(s->held), body) == -1) {
		if (body != NULL)
			evbuffer_free(body);
		return sess_upstream_failed(
		    s, REPLY_UPSTREAM_BAD, "catalog response is not a catalog");
	}
	out = bufferevent_get_output(s->bev);
	len = evbuffer_get_length(body);
	s->status = 200;
	sess_send_head(s, (long long)len, NULL);
	s->head_sent = 1;
	evbuffer_add_buffer(out, body);
	s->bytes_out += len;
	evbuffer_free(body);
	return sess_response_done(s);
}

/* ---- admission --------------------------------------------------------- */

/* Record a manifest served (GET or HEAD); dgst NULL: the registry's header. */
static void
sess_ledger_pull(struct session *s, const char *dgst)
{
	const struct head *h = &s->resp;
	struct ledger_pull p;
	char repo[ROUTE_NAME_MAX + 1], tag[ROUTE_TAG_MAX + 1];
	char hd[ROUTE_DIGEST_MAX + 1];
	int i;

	if (s->srv->ledger == NULL)
		return;
	if (dgst == NULL) {
		if ((i = head_find(h, "Docker-Content-Digest", 0)) < 0 ||
		    h->fields[i].value.len >= sizeof(hd))
			return;
		snprintf(hd, sizeof(hd), "%.*s", (int)h->fields[i].value.len,
		    head_ptr(h, h->fields[i].value));
		dgst = hd;
	}
	memset(&p, 0, sizeof(p));
	sess_slice_str(&s->route.name, repo, sizeof(repo));
	p.repository = repo;
	p.digest = dgst;
	if (!s->route.ref_is_digest) {
		sess_slice_str(&s->route.ref, tag, sizeof(tag));
		p.tag = tag;
	}
	ledger_pull(s->srv->ledger, &p);
}

/* Serve the held response (head, and the body unless HEAD). */
static int
sess_send_held(struct session *s, const char *extra)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	size_t len = evbuffer_get_length(s->held);

	s->status = s->upstream_status;
	sess_send_head(s, (long long)len, extra);
	s->head_sent = 1;
	if (s->method != HTTP_HEAD) {
		evbuffer_add_buffer(out, s->held);
		s->bytes_out += len;
	} else {
		evbuffer_drain(s->held, len);
	}
	/* A HEAD by tag is how containerd resolves what it pulls. */
	if (s->status == 200)
		sess_ledger_pull(s, s->dgst);
	return sess_request_done(s);
}

/* What fixes a refusal, for the client's message. */
static const char *
sess_admit_fix(enum admit_reason r)
{
	switch (r) {
	case ADMIT_UNSIGNED:
		return "sign it with a trusted key (regward-sign sign --key "
		       "KEY IMAGE) after its scan";
	case ADMIT_BAD_SIGNATURE:
		return "its signature is broken or was tampered with; sign the "
		       "image again";
	case ADMIT_UNTRUSTED_KEY:
		return "sign it with a key this policy trusts";
	case ADMIT_IDENTITY_MISMATCH:
		return "sign it under the name clients pull it by";
	case ADMIT_SCAN_MISSING:
		return "scan it and sign with the report (regward-sign sign "
		       "--scan REPORT)";
	case ADMIT_SCAN_FAILED:
		return "fix the findings, scan again and sign";
	case ADMIT_SCAN_EXPIRED:
		return "scan it again and sign with the new report";
	default:
		return "try again later";
	}
}

/* 403 DENIED (or 503) with the reason, digest and policy in detail. */
static int
sess_admit_refuse(struct session *s, const struct admit_result *r)
{
	const struct policy_set *ps = auth_policies(s->srv->auth);
	const char *glob = policy_repository(ps, s->admit_pidx);
	enum reply_code code =
	    r->reason == ADMIT_UNAVAILABLE ? REPLY_UPSTREAM_DOWN : REPLY_DENIED;
	struct evbuffer *b = evbuffer_new();
	char msg[ADMIT_DETAIL_MAX + 256];
	int rc;

	if (b == NULL) {
		sess_close(s, "out of memory");
		return SESS_GONE;
	}
	snprintf(s->reason, sizeof(s->reason), "admission: %s: %.440s",
	    admit_reason_name(r->reason), r->detail);
	sess_ledger_event(s, DB_LEDGER_DENY, reply_info(code)->status);
	snprintf(msg, sizeof(msg), "manifest %s refused: %s: %s; %s", s->dgst,
	    admit_reason_name(r->reason), r->detail, sess_admit_fix(r->reason));
	evbuffer_add_printf(b, "{\"errors\":[{\"code\":\"%s\",\"message\":\"",
	    reply_info(code)->code);
	reply_json_escape(b, msg, strlen(msg));
	evbuffer_add_printf(b, "\",\"detail\":{\"reason\":\"%s\",\"digest\":\"",
	    admit_reason_name(r->reason));
	reply_json_escape(b, s->dgst, strlen(s->dgst));
	evbuffer_add(b, "\",\"repository\":\"", 16);
	reply_json_escape(b, s->route.name.ptr, s->route.name.len);
	evbuffer_add(b, "\",\"policy\":\"", 12);
	if (glob != NULL)
		reply_json_escape(b, glob, strlen(glob));
	evbuffer_add(b, "\",\"why\":\"", 9);
	reply_json_escape(b, r->detail, strlen(r->detail));
	evbuffer_add(b, "\"}}]}\n", 6);
	rc = sess_reply_raw(s, reply_info(code)->status,
	    "application/json; charset=utf-8", b,
	    code == REPLY_UPSTREAM_DOWN ? "Retry-After: 1\r\n" : NULL);
	evbuffer_free(b);
	return rc;
}

/* The verdict is in: serve, serve with a warning, or refuse. */
static int
sess_admit_decide(struct session *s, const struct admit_result *r)
{
	const struct policy_require *req =
	    policy_require(auth_policies(s->srv->auth), s->admit_pidx);
	char repo[ROUTE_NAME_MAX + 1], extra[ADMIT_DETAIL_MAX + 160];
	const char *how;

	if (r->admit) {
		snprintf(extra, sizeof(extra),
		    "X-Regward-Admission: %s%s%s\r\n",
		    admit_reason_name(r->reason), r->key[0] ? "; key=" : "",
		    r->key);
		return sess_send_held(s, extra);
	}
	sess_slice_str(&s->route.name, repo, sizeof(repo));
	how = r->reason != ADMIT_UNAVAILABLE &&
		auth_may_bypass(s->srv->auth, &s->who, repo)
	    ? "bypass"
	    : req != NULL && req->mode == POLICY_MODE_WARN ? "warn"
							   : NULL;
	if (how == NULL)
		return sess_admit_refuse(s, r);
	snprintf(s->reason, sizeof(s->reason), "admission %s: %s: %.440s", how,
	    admit_reason_name(r->reason), r->detail);
	snprintf(extra, sizeof(extra),
	    "X-Regward-Admission: %s; reason=%s\r\n"
	    "Warning: 299 regward \"manifest %s: %s\"\r\n",
	    how, admit_reason_name(r->reason), admit_reason_name(r->reason),
	    strcmp(how, "warn") == 0 ? "served in warn mode"
				     : "served to a bypass principal");
	return sess_send_held(s, extra);
}

static void
sess_admit_cb(const struct admit_result *r, void *arg)
{
	struct session *s = arg;

	s->await = NULL;
	sess_admit_decide(s, r);
}

/*
 * The manifest is held whole: hash it, then ask admission about exactly
 * these bytes. Other statuses are relayed as they came.
 */
static int
sess_admit_held(struct session *s)
{
	const struct head *h = &s->resp;
	struct admit_result r;
	char repo[ROUTE_NAME_MAX + 1];
	const unsigned char *body;
	size_t len = evbuffer_get_length(s->held);
	int i, rc;

	if (s->up != NULL) {
		if (http_should_keep_alive(&s->resp_parser))
			upstr_release(s->up);
		else
			upstr_close(s->up);
		s->up = NULL;
	}
	if (s->upstream_status != 200)
		return sess_send_held(s, NULL);
	body = evbuffer_pullup(s->held, -1);
	if (sig_digest_sha256(body != NULL ? body : (const unsigned char *)"",
		len, s->dgst) == -1)
		return sess_reply(s, REPLY_INTERNAL, NULL, NULL);
	if ((s->route.ref_is_digest &&
		(s->route.ref.len != strlen(s->dgst) ||
		    memcmp(s->route.ref.ptr, s->dgst, s->route.ref.len) !=
			0)) ||
	    ((i = head_find(h, "Docker-Content-Digest", 0)) >= 0 &&
		(h->fields[i].value.len != strlen(s->dgst) ||
		    memcmp(head_ptr(h, h->fields[i].value), s->dgst,
			h->fields[i].value.len) != 0))) {
		s->error = "upstream manifest digest mismatch";
		return sess_reply(s, REPLY_UPSTREAM_BAD,
		    "the registry served a manifest whose digest is not the "
		    "one it named",
		    NULL);
	}
	sess_slice_str(&s->route.name, repo, sizeof(repo));
	rc = admit_check(s->srv->admit, s->admit_pidx, repo, s->dgst, body, len,
	    sess_admit_cb, s, &r, &s->await);
	if (rc == 1)
		return sess_admit_decide(s, &r);
	if (rc == -1)
		return sess_reply(s, REPLY_BUSY, "admission queue full",
		    "Retry-After: 1\r\n");
	s->wstate = WS_ADMIT;
	return 0;
}

static int
sess_response_complete(struct session *s)
{
	if (s->collect)
		return sess_catalog_done(s);
	if (s->hold)
		return sess_admit_held(s);
	if (s->probe) {
		if (http_should_keep_alive(&s->resp_parser))
			upstr_release(s->up);
		else
			upstr_close(s->up);
		s->up = NULL;
		return sess_probe_done(s);
	}
	return sess_response_done(s);
}

static int
sess_pump_response(struct session *s)
{
	struct evbuffer *in, *dst;
	enum sess_pump r;
	uint64_t n;
	int status;

	while (s->up != NULL && s->splicing != SESS_SPLICE_RESP &&
	    (s->wstate == WS_HEAD || s->wstate == WS_BODY)) {
		in = upstr_input(s->up);
		if (evbuffer_get_length(in) == 0)
			return 0;
		n = 0;
		if (s->wstate == WS_HEAD) {
			r = sess_parse(s, &s->resp_parser, &sess_resp_settings,
			    in, NULL, &n);
			s->resp_bytes += n;
			if (s->pev & PEV_HEAD_ERROR) {
				metrics_upstream_error(METRICS_UP_PROTOCOL);
				return sess_upstream_failed(s,
				    REPLY_UPSTREAM_BAD,
				    "upstream response head too large");
			}
			if (r == PUMP_ERROR) {
				metrics_upstream_error(METRICS_UP_PROTOCOL);
				return sess_upstream_failed(s,
				    REPLY_UPSTREAM_BAD,
				    "malformed upstream response");
			}
			if (r != PUMP_HEAD)
				return 0;
			status = (int)s->resp_parser.status_code;
			if (status < 200 && status != 100) {
				metrics_upstream_error(METRICS_UP_PROTOCOL);
				return sess_upstream_failed(s,
				    REPLY_UPSTREAM_BAD,
				    "unexpected 1xx from upstream");
			}
			if (status == 100) {
				/* Interim: relay it, then wait for the next. */
				if (!s->probe)
					sess_send_head(s, -1, NULL);
				http_parser_init(
				    &s->resp_parser, HTTP_RESPONSE);
				s->resp_parser.data = s;
				head_reset(&s->resp);
				continue;
			}
			s->upstream_status = status;
			if (s->collect && status != 200)
				s->collect = 0;
			if (!s->hold && status == 200 &&
			    s->route.kind == ROUTE_MANIFEST &&
			    (s->method == HTTP_GET || s->method == HTTP_HEAD))
				sess_ledger_pull(s, NULL);
			if (s->authed && status == 202 &&
			    s->route.kind == ROUTE_UPLOAD_START)
				sess_bind_upload(s);
			sess_ledger_response(s, status);
			if (!s->probe && !s->collect && !s->hold) {
				s->status = status;
				sess_send_head(s, -1, NULL);
				s->head_sent = 1;
			}
			s->wstate = WS_BODY;
			if (s->pev & PEV_MSG_DONE)
				return sess_response_complete(s);
			continue;
		}
		dst = s->probe || s->collect || s->hold
		    ? NULL
		    : bufferevent_get_output(s->bev);
		r = sess_parse(
		    s, &s->resp_parser, &sess_resp_settings, in, dst, &n);
		s->resp_bytes += n;
		if (dst != NULL)
			s->bytes_out += n;
		if (s->pev & PEV_HEAD_ERROR) /* a held body over its ceiling */
			return sess_upstream_failed(s, REPLY_UPSTREAM_BAD,
			    s->hold
				? "manifest larger than limits.manifest_bytes"
				: "catalog response too large to filter");
		switch (r) {
		case PUMP_AGAIN:
			return sess_splice_try(s, SESS_SPLICE_RESP);
		case PUMP_BLOCKED: /* resumed by the client's write callback */
			return 0;
		case PUMP_MSG:
			return sess_response_complete(s);
		case PUMP_HEAD:
		case PUMP_ERROR:
			metrics_upstream_error(METRICS_UP_PROTOCOL);
			return sess_upstream_failed(s, REPLY_UPSTREAM_BAD,
			    "malformed upstream response body");
		}
	}
	return 0;
}

/* A reused connection the upstream had closed: try once on a fresh one. */
static int
sess_upstream_retry(struct session *s)
{
	upstr_close(s->up);
	s->up = NULL;
	return sess_upstream_start(s);
}

static void
sess_upstr_cb(struct upstr *up, enum upstr_event ev, void *arg)
{
	struct session *s = arg;
	int fresh;

	(void)up;
	switch (ev) {
	case UPSTR_CONNECTED:
		if (s->wstate == WS_CONNECT)
			sess_upstream_ready(s);
		return;
	case UPSTR_READ:
		sess_pump_response(s);
		return;
	case UPSTR_WRITTEN:
		if (s->splicing == SESS_SPLICE_REQ) {
			if (evbuffer_get_length(upstr_output(up)) == 0)
				splice_out_ready(s->sp);
			return;
		}
		sess_pump_request(s);
		return;
	case UPSTR_EOF:
	case UPSTR_ERROR:
	case UPSTR_TIMEOUT:
		break;
	}
	fresh = s->wstate == WS_CONNECT;
	if (s->wstate == WS_BODY && ev == UPSTR_EOF) {
		/*
		 * Tell the parser: a body delimited by the close is now
		 * complete; any other body is cut short.
		 */
		s->pev = 0;
		http_parser_execute(
		    &s->resp_parser, &sess_resp_settings, NULL, 0);
		s->closing = 1;
		if (s->pev & PEV_MSG_DONE) {
			sess_response_complete(s);
			return;
		}
	}
	if (ev != UPSTR_TIMEOUT && upstr_reused(up) && s->resp_bytes == 0 &&
	    s->body_sent == 0 && s->wstate == WS_HEAD) {
		metrics_upstream_error(METRICS_UP_RESET);
		sess_upstream_retry(s);
		return;
	}
	if (ev == UPSTR_TIMEOUT)
		sess_upstream_failed(s,
		    fresh ? REPLY_UPSTREAM_DOWN : REPLY_UPSTREAM_TIMEOUT,
		    fresh ? "upstream connect timeout" : "upstream timeout");
	else if (fresh)
		sess_upstream_failed(
		    s, REPLY_UPSTREAM_DOWN, "upstream connect failed");
	else
		sess_upstream_failed(s, REPLY_UPSTREAM_BAD,
		    ev == UPSTR_EOF ? "upstream closed" : "upstream error");
}

/* ---- zero-copy bodies ------------------------------------------------- */

static void
sess_splice_cb(struct splice *sp, enum splice_event ev, void *arg)
{
	struct session *s = arg;
	int dir = s->splicing;
	uint64_t moved = splice_moved(sp);

	s->splicing = 0;
	if (dir == SESS_SPLICE_REQ) {
		s->bytes_in += moved;
		s->body_sent += moved;
	} else {
		s->bytes_out += moved;
		s->resp_bytes += moved;
	}
	switch (ev) {
	case SPLICE_DONE:
		break;
	case SPLICE_IN_CLOSED:
	case SPLICE_IN_TIMEOUT:
		if (dir == SESS_SPLICE_REQ) {
			sess_close(s,
			    ev == SPLICE_IN_CLOSED ? "client closed mid-body"
						   : "client body timeout");
			return;
		}
		metrics_upstream_error(ev == SPLICE_IN_CLOSED
			? METRICS_UP_RESET
			: METRICS_UP_TIMEOUT);
		sess_upstream_failed(s, REPLY_UPSTREAM_BAD,
		    ev == SPLICE_IN_CLOSED ? "upstream closed mid-body"
					   : "upstream timeout");
		return;
	case SPLICE_OUT_CLOSED:
	case SPLICE_OUT_TIMEOUT:
		if (dir == SESS_SPLICE_RESP) {
			sess_close(s,
			    ev == SPLICE_OUT_CLOSED ? "client closed"
						    : "client write timeout");
			return;
		}
		metrics_upstream_error(ev == SPLICE_OUT_CLOSED
			? METRICS_UP_RESET
			: METRICS_UP_TIMEOUT);
		sess_upstream_failed(
		    s, REPLY_UPSTREAM_BAD, "upstream failed mid-request");
		return;
	}
	/* The whole body moved: the parser is told it has no more. */
	if (dir == SESS_SPLICE_REQ) {
		s->req_parser.content_length = 0;
		s->rstate = RS_DONE;
		return; /* the response comes through the bufferevent */
	}
	s->resp_parser.content_length = 0;
	sess_response_complete(s);
}

/*
 * Switch the rest of a Content-Length body to splice(2) when both ends are
 * plain TCP and the body is long enough to be worth a pipe: dir is
 * SESS_SPLICE_REQ (client to upstream) or SESS_SPLICE_RESP. Bytes already
 * buffered on the way out leave first. Returns 0 whether or not it
 * switched; the bufferevent path simply continues when it did not.
 */
static int
sess_splice_try(struct session *s, int dir)
{
	const struct config *cfg = sess_cfg(s);
	http_parser *p =
	    dir == SESS_SPLICE_REQ ? &s->req_parser : &s->resp_parser;
	struct evbuffer *src, *dst;
	int in, out, upfd;

	if (s->splicing || s->probe || s->collect || s->tls || s->up == NULL ||
	    (upfd = upstr_fd(s->up)) == -1 || (p->flags & F_CHUNKED) ||
	    p->content_length == ULLONG_MAX ||
	    p->content_length < SESS_SPLICE_MIN)
		return 0;
	if (dir == SESS_SPLICE_REQ) {
		src = bufferevent_get_input(s->bev);
		dst = upstr_output(s->up);
		in = s->fd;
		out = upfd;
	} else {
		if (s->rstate != RS_DONE)
			return 0;
		src = upstr_input(s->up);
		dst = bufferevent_get_output(s->bev);
		in = upfd;
		out = s->fd;
	}
	if (evbuffer_get_length(src) != 0)
		return 0;
	if (s->sp != NULL && !splice_reusable(s->sp)) {
		splice_free(s->sp);
		s->sp = NULL;
	}
	if (s->sp == NULL && (s->sp = splice_new(s->srv->base)) == NULL)
		return 0;
	if (dir == SESS_SPLICE_REQ)
		bufferevent_disable(s->bev, EV_READ);
	else
		upstr_enable_read(s->up, 0);
	if (splice_start(s->sp, in, out, p->content_length,
		dir == SESS_SPLICE_REQ ? cfg->timeouts.body
				       : cfg->timeouts.upstream_response,
		cfg->timeouts.body, evbuffer_get_length(dst) == 0,
		sess_splice_cb, s) == -1) {
		if (dir == SESS_SPLICE_REQ)
			bufferevent_enable(s->bev, EV_READ);
		else
			upstr_enable_read(s->up, 1);
		return 0;
	}
	s->splicing = dir;
	return 0;
}

/* ---- client callbacks ------------------------------------------------- */

static void
sess_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (s->lingering) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!s->tls)
		bev_read_more(bev, sess_cfg(s)->limits.high_water);
	sess_pump_request(s);
}

/* Output flushed below the low-water mark (or entirely). */
static void
sess_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct timeval tv;

	if (s->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		/*
		 * Lingering close on plain TCP: stop sending, then read and
		 * discard what the client is still sending for a moment, so
		 * that it reads our answer instead of a reset.
		 */
		if (!s->tls && !s->lingering && s->fd != -1 &&
		    shutdown(s->fd, SHUT_WR) == 0) {
			s->lingering = 1;
			bufferevent_enable(bev, EV_READ);
			sess_tv(&tv, SESS_LINGER_MS);
			evtimer_add(s->hdr_timer, &tv);
			return;
		}
		if (!s->lingering)
			sess_close(s, "closed");
		return;
	}
	if (s->splicing == SESS_SPLICE_RESP) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			splice_out_ready(s->sp);
		return;
	}
	if (s->wstate == WS_BODY || s->wstate == WS_HEAD)
		sess_pump_response(s);
}

static void
sess_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	const char *why;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return; /* TLS handshake done */
	if (s->lingering) {
		sess_close(s, "closed");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		why = what & BEV_EVENT_WRITING ? "client write timeout"
		    : s->rstate == RS_BODY     ? "client body timeout"
					       : "idle timeout";
	else if (what & BEV_EVENT_EOF)
		why = "client closed";
	else
		why = "client connection error";
	sess_close(s, why);
}

static void
sess_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->lingering) {
		sess_close(s, "closed");
		return;
	}
	/* Header deadline: the head did not arrive in time. */
	if (s->rstate == RS_HEAD) {
		s->keepalive = 0;
		sess_reply(s, REPLY_TIMEOUT, NULL, NULL);
	}
}

/* ---- accept, drain ---------------------------------------------------- */

int
session_new(struct server *srv, int fd, const struct sockaddr *sa, int salen)
{
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	const struct config *cfg = srv->cfg;
	struct session *s;
	SSL *ssl = NULL;
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0, one = 1;

	(void)salen;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto bad;
	s->srv = srv;
	s->fd = fd;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(s->client, sizeof(s->client), "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(s->client, sizeof(s->client), "[%s]:%d", host, port);
	}
	snprintf(s->client_ip, sizeof(s->client_ip), "%s", host);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (srv->tls != NULL) {
		if ((ssl = SSL_new(srv->tls)) == NULL)
			goto bad;
		s->tls = 1;
		s->bev = bufferevent_openssl_socket_new(
		    srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, opts);
		if (s->bev == NULL) {
			SSL_free(ssl);
			goto bad;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	} else if ((s->bev = bufferevent_socket_new(srv->base, fd, opts)) ==
	    NULL) {
		goto bad;
	}
	fd = -1; /* the bufferevent owns it now */
	if ((s->hdr_timer = evtimer_new(srv->base, sess_timer_cb, s)) == NULL ||
	    (s->fwd = evbuffer_new()) == NULL)
		goto bad_bev;
	head_init(&s->req, cfg->limits.header_bytes);
	head_init(&s->resp, cfg->limits.upstream_header_bytes);
	bufferevent_setcb(
	    s->bev, sess_read_cb, sess_write_cb, sess_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, cfg->limits.high_water);
	bufferevent_setwatermark(
	    s->bev, EV_WRITE, cfg->limits.high_water / 2, 0);
	bufferevent_set_max_single_read(s->bev, 256 * 1024);
	bufferevent_set_max_single_write(s->bev, 256 * 1024);
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	metrics_conn_open();
	sess_request_reset(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	return 0;
bad_bev:
	if (s->hdr_timer != NULL)
		event_free(s->hdr_timer);
	if (s->fwd != NULL)
		evbuffer_free(s->fwd);
	bufferevent_free(s->bev);
bad:
	if (fd != -1)
		close(fd);
	free(s);
	return -1;
}

void
session_drain_all(struct server *srv)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		/* Idle keep-alive connections go now; the rest finish. */
		if (s->rstate == RS_HEAD && !s->head_started && !s->closing)
			sess_close(s, "shutting down");
	}
}

void
session_free_all(struct server *srv)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		sess_close(s, "shutting down");
}
