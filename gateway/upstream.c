/*
 * upstream: connections to the registry behind the gateway, kept alive and
 * reused. A connection in use belongs to one session and reports its
 * events to that session's callback; an idle one sits in the pool, where
 * any byte or close from the peer retires it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bev.h"
#include "gateway.h"
#include "metrics.h"

struct upstr {
	struct upstr_pool *pool;
	struct bufferevent *bev;
	SSL *ssl; /* owned by bev when TLS */
	upstr_cb cb;
	void *arg;
	int connected;
	int reused;
	TAILQ_ENTRY(upstr) entry; /* idle list */
};

TAILQ_HEAD(upstr_list, upstr);

struct upstr_pool {
	struct server *srv;
	struct upstr_list idle;
	unsigned nidle;
	SSL_CTX *tls; /* for https upstreams */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

static void upstr_read_cb(struct bufferevent *bev, void *arg);
static void upstr_write_cb(struct bufferevent *bev, void *arg);
static void upstr_event_cb(struct bufferevent *bev, short what, void *arg);
static void upstr_idle_read_cb(struct bufferevent *bev, void *arg);
static void upstr_idle_event_cb(struct bufferevent *bev, short what, void *arg);

static void
upstr_tv(struct timeval *tv, unsigned ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* Log OpenSSL's queued errors and clear the queue. */
static void
upstr_log_ssl(struct server *srv, const char *what)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_msg(srv, "error", what, "\"ssl\":\"%s\"", buf);
	}
}

struct upstr_pool *
upstr_pool_new(struct server *srv)
{
	const struct config_upstream *u = &srv->cfg->upstream;
	struct upstr_pool *pool;
	struct addrinfo hints, *res = NULL;
	char port[8];
	int rc;

	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return NULL;
	pool->srv = srv;
	TAILQ_INIT(&pool->idle);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", (unsigned)u->port);
	if ((rc = getaddrinfo(u->host, port, &hints, &res)) != 0) {
		fprintf(stderr,
		    "regward: %s: upstream.url: cannot resolve %s: %s\n",
		    srv->cfg->path, u->host, gai_strerror(rc));
		goto bad;
	}
	memcpy(&pool->addr, res->ai_addr, res->ai_addrlen);
	pool->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	if (u->tls) {
		if ((pool->tls = SSL_CTX_new(TLS_client_method())) == NULL)
			goto bad_ssl;
		SSL_CTX_set_min_proto_version(pool->tls, TLS1_2_VERSION);
		SSL_CTX_set_verify(pool->tls, SSL_VERIFY_PEER, NULL);
		if (u->ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(
				pool->tls, u->ca_file, NULL) != 1) {
				fprintf(stderr,
				    "regward: %s: upstream.ca: cannot load "
				    "%s\n",
				    srv->cfg->path, u->ca_file);
				goto bad_ssl;
			}
		} else if (SSL_CTX_set_default_verify_paths(pool->tls) != 1) {
			goto bad_ssl;
		}
	}
	return pool;
bad_ssl:
	upstr_log_ssl(srv, "upstream TLS setup failed");
bad:
	upstr_pool_free(pool);
	return NULL;
}

static void
upstr_free(struct upstr *up)
{
	if (up == NULL)
		return;
	if (up->bev != NULL)
		bufferevent_free(up->bev); /* frees ssl and the socket */
	free(up);
}

void
upstr_pool_free(struct upstr_pool *pool)
{
	struct upstr *up;

	if (pool == NULL)
		return;
	while ((up = TAILQ_FIRST(&pool->idle)) != NULL) {
		TAILQ_REMOVE(&pool->idle, up, entry);
		upstr_free(up);
	}
	if (pool->tls != NULL)
		SSL_CTX_free(pool->tls);
	free(pool);
}

static struct upstr *
upstr_connect(struct upstr_pool *pool)
{
	struct server *srv = pool->srv;
	const struct config *cfg = srv->cfg;
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	struct upstr *up;
	struct timeval tv;

	if ((up = calloc(1, sizeof(*up))) == NULL)
		return NULL;
	up->pool = pool;
	if (pool->tls != NULL) {
		if ((up->ssl = SSL_new(pool->tls)) == NULL)
			goto bad;
		SSL_set_tlsext_host_name(up->ssl, cfg->upstream.host);
		SSL_set1_host(up->ssl, cfg->upstream.host);
		up->bev = bufferevent_openssl_socket_new(
		    srv->base, -1, up->ssl, BUFFEREVENT_SSL_CONNECTING, opts);
		if (up->bev == NULL) {
			SSL_free(up->ssl);
			goto bad;
		}
	} else if ((up->bev = bufferevent_socket_new(srv->base, -1, opts)) ==
	    NULL) {
		goto bad;
	}
	bufferevent_setcb(
	    up->bev, upstr_read_cb, upstr_write_cb, upstr_event_cb, up);
	bufferevent_setwatermark(up->bev, EV_READ, 0, cfg->limits.high_water);
	bufferevent_setwatermark(
	    up->bev, EV_WRITE, cfg->limits.high_water / 2, 0);
	bufferevent_set_max_single_read(up->bev, 256 * 1024);
	bufferevent_set_max_single_write(up->bev, 256 * 1024);
	upstr_tv(&tv, cfg->timeouts.upstream_connect);
	bufferevent_set_timeouts(up->bev, &tv, &tv);
	if (bufferevent_socket_connect(up->bev, (struct sockaddr *)&pool->addr,
		(int)pool->addrlen) == -1) {
		/* The event callback is not called: report it ourselves. */
		metrics_upstream_error(METRICS_UP_CONNECT);
		goto bad;
	}
	bufferevent_enable(up->bev, EV_READ | EV_WRITE);
	return up;
bad:
	upstr_free(up);
	return NULL;
}

struct upstr *
upstr_acquire(struct upstr_pool *pool, upstr_cb cb, void *arg)
{
	struct upstr *up;

	if ((up = TAILQ_FIRST(&pool->idle)) != NULL) {
		TAILQ_REMOVE(&pool->idle, up, entry);
		pool->nidle--;
		up->reused = 1;
		bufferevent_setcb(
		    up->bev, upstr_read_cb, upstr_write_cb, upstr_event_cb, up);
	} else if ((up = upstr_connect(pool)) == NULL) {
		return NULL;
	}
	up->cb = cb;
	up->arg = arg;
	metrics_upstream_conn(up->reused);
	return up;
}

void
upstr_release(struct upstr *up)
{
	struct upstr_pool *pool = up->pool;
	struct timeval tv;

	if (!up->connected ||
	    pool->nidle >= pool->srv->cfg->upstream.pool_idle ||
	    pool->srv->draining ||
	    evbuffer_get_length(bufferevent_get_input(up->bev)) != 0 ||
	    evbuffer_get_length(bufferevent_get_output(up->bev)) != 0) {
		upstr_free(up);
		return;
	}
	up->cb = NULL;
	up->arg = NULL;
	bufferevent_setcb(
	    up->bev, upstr_idle_read_cb, NULL, upstr_idle_event_cb, up);
	upstr_tv(&tv, pool->srv->cfg->timeouts.idle);
	bufferevent_set_timeouts(up->bev, &tv, NULL);
	bufferevent_enable(up->bev, EV_READ);
	/* LIFO: the warmest connection is the least likely to be closed. */
	TAILQ_INSERT_HEAD(&pool->idle, up, entry);
	pool->nidle++;
}

void
upstr_close(struct upstr *up)
{
	upstr_free(up);
}

int
upstr_connected(const struct upstr *up)
{
	return up->connected;
}

int
upstr_fd(const struct upstr *up)
{
	return up->ssl != NULL ? -1 : bufferevent_getfd(up->bev);
}

int
upstr_reused(const struct upstr *up)
{
	return up->reused;
}

struct evbuffer *
upstr_input(struct upstr *up)
{
	return bufferevent_get_input(up->bev);
}

struct evbuffer *
upstr_output(struct upstr *up)
{
	return bufferevent_get_output(up->bev);
}

void
upstr_set_timeouts(struct upstr *up, unsigned read_ms, unsigned write_ms)
{
	struct timeval r, w;

	upstr_tv(&r, read_ms);
	upstr_tv(&w, write_ms);
	bufferevent_set_timeouts(up->bev, &r, &w);
}

void
upstr_enable_read(struct upstr *up, int on)
{
	if (on)
		bufferevent_enable(up->bev, EV_READ);
	else
		bufferevent_disable(up->bev, EV_READ);
}

static void
upstr_read_cb(struct bufferevent *bev, void *arg)
{
	struct upstr *up = arg;

	if (up->ssl == NULL)
		bev_read_more(bev, up->pool->srv->cfg->limits.high_water);
	up->cb(up, UPSTR_READ, up->arg);
}

static void
upstr_write_cb(struct bufferevent *bev, void *arg)
{
	struct upstr *up = arg;

	(void)bev;
	up->cb(up, UPSTR_WRITTEN, up->arg);
}

static void
upstr_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct upstr *up = arg;
	enum upstr_event ev;
	int fd, one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		up->connected = 1;
		if ((fd = bufferevent_getfd(bev)) != -1)
			setsockopt(
			    fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev = UPSTR_CONNECTED;
	} else if (what & BEV_EVENT_TIMEOUT) {
		metrics_upstream_error(
		    up->connected ? METRICS_UP_TIMEOUT : METRICS_UP_CONNECT);
		ev = UPSTR_TIMEOUT;
	} else if (what & BEV_EVENT_EOF) {
		ev = UPSTR_EOF;
	} else {
		if (up->pool->tls != NULL)
			upstr_log_ssl(up->pool->srv, "upstream TLS error");
		metrics_upstream_error(
		    up->connected ? METRICS_UP_RESET : METRICS_UP_CONNECT);
		ev = UPSTR_ERROR;
	}
	up->cb(up, ev, up->arg);
}

/* An idle connection must stay silent; anything from the peer retires it. */
static void
upstr_idle_retire(struct upstr *up)
{
	struct upstr_pool *pool = up->pool;

	TAILQ_REMOVE(&pool->idle, up, entry);
	pool->nidle--;
	upstr_free(up);
}

static void
upstr_idle_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	upstr_idle_retire(arg);
}

static void
upstr_idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	upstr_idle_retire(arg);
}
