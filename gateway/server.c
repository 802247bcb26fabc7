/*
 * server: the listener, TLS context, signals and the drain on SIGTERM.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "regward/db.h"

#include "admit.h"
#include "auth.h"
#include "gateway.h"
#include "ledger.h"

#define SERVER_ACCEPT_PAUSE_MS 250

static void
server_ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s: %s", file, what, buf);
}

/*
 * A TLS server context from PEM files: TLS 1.2 and later, the chain and
 * key checked against each other. Returns NULL with a message naming the
 * file at fault.
 */
SSL_CTX *
server_tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		server_ssl_err(err, errlen, "cannot create TLS context", cert);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
		SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		server_ssl_err(
		    err, errlen, "cannot load certificate chain", cert);
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		server_ssl_err(err, errlen, "cannot load private key", key);
		goto bad;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		server_ssl_err(err, errlen,
		    "private key does not match the certificate", key);
		goto bad;
	}
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server *srv = arg;

	(void)l;
	if (srv->draining) {
		close(fd);
		return;
	}
	if (session_new(srv, fd, sa, salen) == -1) {
		log_msg(srv, "error", "cannot set up a session", NULL);
		return;
	}
	if (srv->nsessions >= srv->cfg->limits.max_connections &&
	    !srv->accept_paused) {
		srv->accept_paused = 1;
		evconnlistener_disable(srv->listener);
		log_msg(srv, "warn", "connection limit reached, accept paused",
		    "\"limit\":%u", srv->cfg->limits.max_connections);
	}
}

static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->draining)
		return;
	if (srv->nsessions < srv->cfg->limits.max_connections) {
		srv->accept_paused = 0;
		evconnlistener_enable(srv->listener);
	}
}

/*
 * accept() failed. Out of descriptors (EMFILE/ENFILE) or memory, pause
 * accepting for a moment instead of spinning on a readable listener.
 */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = {0, SERVER_ACCEPT_PAUSE_MS * 1000};
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
		return;
	log_msg(srv, "warn", "accept failed, pausing", "\"error\":\"%s\"",
	    strerror(e));
	srv->accept_paused = 1;
	evconnlistener_disable(srv->listener);
	evtimer_add(srv->accept_timer, &tv);
}

void
server_session_gone(struct server *srv)
{
	if (srv->draining) {
		if (srv->nsessions == 0)
			event_base_loopexit(srv->base, NULL);
		return;
	}
	if (srv->accept_paused && !evtimer_pending(srv->accept_timer, NULL) &&
	    srv->nsessions < srv->cfg->limits.max_connections) {
		srv->accept_paused = 0;
		evconnlistener_enable(srv->listener);
	}
}

static void
server_drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	log_msg(srv, "warn", "drain timeout, closing the remaining connections",
	    "\"open\":%u", srv->nsessions);
	event_base_loopexit(srv->base, NULL);
}

static void
server_term_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv;

	(void)what;
	if (srv->draining)
		return;
	srv->draining = 1;
	log_msg(srv, "info", "draining", "\"signal\":%d,\"open\":%u", (int)sig,
	    srv->nsessions);
	if (srv->listener != NULL) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
	}
	session_drain_all(srv);
	if (srv->nsessions == 0) {
		event_base_loopexit(srv->base, NULL);
		return;
	}
	tv.tv_sec = srv->cfg->timeouts.drain / 1000;
	tv.tv_usec = (srv->cfg->timeouts.drain % 1000) * 1000;
	evtimer_add(srv->drain_timer, &tv);
}

/*
 * SIGHUP: re-read the config and the TLS files. A config that fails to
 * load or changes a key that needs a restart is refused as a whole; the
 * running one stays.
 */
static void
server_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct config *ncfg = NULL;
	SSL_CTX *ntls = NULL;
	struct admit_conf *nac = NULL;
	char err[CONFIG_ERR_MAX], esc[2 * CONFIG_ERR_MAX], rev[17] = "";

	(void)sig;
	(void)what;
	if (config_load(srv->cfg->path, &ncfg, err, sizeof(err)) == -1 ||
	    config_reload_check(srv->cfg, ncfg, err, sizeof(err)) == -1)
		goto refused;
	if (ncfg->tls.cert != NULL &&
	    (ntls = server_tls_ctx_new(
		 ncfg->tls.cert, ncfg->tls.key, err, sizeof(err))) == NULL)
		goto refused;
	/* The key files are read again: a rotated key takes effect now. */
	if (srv->admit != NULL &&
	    admit_conf_load(
		ncfg, auth_policies(srv->auth), &nac, err, sizeof(err)) == -1) {
		if (ntls != NULL)
			SSL_CTX_free(ntls);
		goto refused;
	}
	/* Sessions read the config at use; none keeps a pointer into it. */
	config_free(srv->cfg);
	srv->cfg = ncfg;
	if (srv->tls != NULL)
		SSL_CTX_free(srv->tls); /* live connections hold references */
	srv->tls = ntls;
	if (nac != NULL) {
		snprintf(rev, sizeof(rev), "%s", nac->revision);
		admit_reload(srv->admit, nac);
	}
	log_msg(srv, "info", "reloaded", "\"tls\":%s,\"admission\":\"%s\"",
	    ntls != NULL ? "true" : "false", rev);
	return;
refused:
	config_free(ncfg);
	log_msg(srv, "error", "reload refused, keeping the running config",
	    "\"error\":\"%s\"", log_escape(esc, sizeof(esc), err));
}

/*
 * The event base. With epoll's changelist, the interest changes a pass
 * makes to one socket (a bufferevent turning writing on as its read side
 * turns off) go to the kernel as one epoll_ctl() before the next wait,
 * not one each. libevent's caveat is for dup()ed descriptors sharing one
 * file; the gateway dups none.
 */
static struct event_base *
server_base_new(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *base;

	if (ec == NULL)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}

struct server *
server_new(struct config *cfg)
{
	struct server *srv;
	char err[CONFIG_ERR_MAX];

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->cfg = cfg;
	TAILQ_INIT(&srv->sessions);
	log_open(srv);
	if (RAND_bytes((unsigned char *)&srv->reqsalt, sizeof(srv->reqsalt)) !=
	    1)
		srv->reqsalt = (uint32_t)getpid();
	if ((srv->base = server_base_new()) == NULL || log_start(srv) == -1) {
		fprintf(stderr, "regward: cannot create the event base\n");
		goto bad;
	}
	if (cfg->tls.cert != NULL &&
	    (srv->tls = server_tls_ctx_new(
		 cfg->tls.cert, cfg->tls.key, err, sizeof(err))) == NULL) {
		fprintf(stderr, "regward: %s\n", err);
		goto bad;
	}
	if ((srv->pool = upstr_pool_new(srv)) == NULL)
		goto bad;
	if ((srv->db = db_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "regward: %s: database: %s\n", cfg->path, err);
		goto bad;
	}
	if ((cfg->auth != NULL || cfg->policies != NULL) &&
	    (srv->auth = auth_new(cfg, srv->base, srv->db, err, sizeof(err))) ==
		NULL) {
		fprintf(stderr, "regward: %s\n", err);
		goto bad;
	}
	if (srv->auth != NULL &&
	    (srv->ledger = ledger_new(cfg->database, err, sizeof(err))) ==
		NULL) {
		fprintf(stderr, "regward: %s: database: %s\n", cfg->path, err);
		goto bad;
	}
	/* Admission, and the upstream lookups immutable tags need. */
	if (srv->auth != NULL) {
		struct admit_conf *ac;

		if (admit_conf_load(cfg, auth_policies(srv->auth), &ac, err,
			sizeof(err)) == -1 ||
		    (srv->admit = admit_new(srv->base, ac, cfg->database, err,
			 sizeof(err))) == NULL) {
			fprintf(stderr, "regward: %s\n", err);
			goto bad;
		}
	}
	srv->accept_timer =
	    evtimer_new(srv->base, server_accept_resume_cb, srv);
	srv->drain_timer = evtimer_new(srv->base, server_drain_timeout_cb, srv);
	srv->sig_term = evsignal_new(srv->base, SIGTERM, server_term_cb, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, server_term_cb, srv);
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, server_hup_cb, srv);
	if (srv->accept_timer == NULL || srv->drain_timer == NULL ||
	    srv->sig_term == NULL || srv->sig_int == NULL ||
	    srv->sig_hup == NULL || event_add(srv->sig_term, NULL) == -1 ||
	    event_add(srv->sig_int, NULL) == -1 ||
	    event_add(srv->sig_hup, NULL) == -1) {
		fprintf(stderr, "regward: cannot set up signal handling\n");
		goto bad;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Our own ceilings are lower; the parser's must not fire first. */
	http_parser_set_max_header_size(
	    (uint32_t)(cfg->limits.header_bytes >
			cfg->limits.upstream_header_bytes
		    ? cfg->limits.header_bytes
		    : cfg->limits.upstream_header_bytes) +
	    1024);
	return srv;
bad:
	srv->cfg = NULL; /* the caller still owns it */
	server_free(srv);
	return NULL;
}

int
server_listen(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char port[8], host[INET6_ADDRSTRLEN];
	int rc, fd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)cfg->listen_port);
	if ((rc = getaddrinfo(cfg->listen_host, port, &hints, &res)) != 0) {
		fprintf(stderr, "regward: %s: listen: cannot resolve %s: %s\n",
		    cfg->path, cfg->listen_host, gai_strerror(rc));
		return -1;
	}
	srv->listener = evconnlistener_new_bind(srv->base, server_accept_cb,
	    srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (srv->listener == NULL) {
		fprintf(stderr,
		    "regward: %s: listen: cannot listen on %s: %s\n", cfg->path,
		    cfg->listen, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->listener, server_accept_error_cb);
	fd = evconnlistener_get_fd(srv->listener);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(
			    AF_INET6, &in6->sin6_addr, host, sizeof(host));
			snprintf(srv->bound, sizeof(srv->bound), "[%s]:%u",
			    host, (unsigned)ntohs(in6->sin6_port));
		} else {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			snprintf(srv->bound, sizeof(srv->bound), "%s:%u", host,
			    (unsigned)ntohs(in->sin_port));
		}
	}
	log_msg(srv, "info", "listening",
	    "\"addr\":\"%s\",\"tls\":%s,\"upstream\":\"%s\",\"version\":\"%s\"",
	    srv->bound, srv->tls != NULL ? "true" : "false", cfg->upstream.url,
	    REGWARD_VERSION);
	return 0;
}

int
server_run(struct server *srv)
{
	if (event_base_dispatch(srv->base) == -1)
		return -1;
	log_msg(srv, "info", "stopped", "\"open\":%u", srv->nsessions);
	return 0;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	session_free_all(srv);
	admit_free(srv->admit); /* joins its workers; borrows auth's policies */
	auth_free(srv->auth); /* joins the hasher threads */
	ledger_free(srv->ledger); /* commits what is queued, joins */
	db_close(srv->db);
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	upstr_pool_free(srv->pool);
	if (srv->accept_timer != NULL)
		event_free(srv->accept_timer);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
	if (srv->sig_term != NULL)
		event_free(srv->sig_term);
	if (srv->sig_int != NULL)
		event_free(srv->sig_int);
	if (srv->sig_hup != NULL)
		event_free(srv->sig_hup);
	if (srv->tls != NULL)
		SSL_CTX_free(srv->tls);
	log_stop(srv);
	if (srv->base != NULL)
		event_base_free(srv->base);
	if (srv->log != NULL && srv->log != stdout)
		fclose(srv->log);
	config_free(srv->cfg);
	free(srv);
}
