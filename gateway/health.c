/*
 * health: GET /healthz on a running gateway and turn the answer into an
 * exit status, for Docker's HEALTHCHECK, Kubernetes exec probes and
 * systemd. The address comes from the config's listen (a wildcard becomes
 * loopback) or from --url.
 *
 * TLS: the certificate is not verified. The check talks to its own
 * process over loopback and asks "are you alive", not "are you who the
 * certificate says"; the certificate names the public host, which the
 * probe does not dial.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "regward/config.h"

#include "health.h"

#define HEALTH_HOST_MAX 256
#define HEALTH_PATH_MAX 512
#define HEALTH_RESP_MAX 4096 /* bytes read of the answer */

struct health_target {
	char host[HEALTH_HOST_MAX]; /* without brackets */
	char port[8];
	char path[HEALTH_PATH_MAX];
	char authority[HEALTH_HOST_MAX + 8]; /* Host header */
	int tls;
	int live; /* --live: any HTTP answer is healthy */
	unsigned timeout; /* seconds */
};

void
health_usage(FILE *f)
{
	fprintf(f,
	    "       regward health -c FILE [--live] [--timeout SECONDS]\n"
	    "       regward health --url URL [--live] [--timeout SECONDS]\n");
}

/* Fill t from a config: its listen address, TLS when tls.cert is set. */
static int
health_from_config(const char *path, struct health_target *t)
{
	struct config *cfg = NULL;
	char err[CONFIG_ERR_MAX];
	const char *host;
	int v6;

	if (config_load(path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward health: %s\n", err);
		return -1;
	}
	if (cfg->listen_port == 0) {
		fprintf(stderr,
		    "regward health: %s: listen has port 0; use --url\n", path);
		config_free(cfg);
		return -1;
	}
	host = cfg->listen_host;
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	v6 = strchr(host, ':') != NULL;
	snprintf(t->host, sizeof(t->host), "%s", host);
	snprintf(t->port, sizeof(t->port), "%u", (unsigned)cfg->listen_port);
	snprintf(t->authority, sizeof(t->authority), "%s%s%s:%s", v6 ? "[" : "",
	    host, v6 ? "]" : "", t->port);
	snprintf(t->path, sizeof(t->path), "/healthz");
	t->tls = cfg->tls.cert != NULL;
	config_free(cfg);
	return 0;
}

/* http[s]://host[:port][/path], path defaulting to /healthz. */
static int
health_from_url(const char *url, struct health_target *t)
{
	const char *p, *slash, *a, *hend, *port = NULL;
	size_t alen;

	if (strncmp(url, "http://", 7) == 0) {
		t->tls = 0;
		p = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		t->tls = 1;
		p = url + 8;
	} else {
		goto bad;
	}
	slash = strchr(p, '/');
	alen = slash != NULL ? (size_t)(slash - p) : strlen(p);
	if (alen == 0 || alen >= sizeof(t->authority) ||
	    memchr(p, '@', alen) != NULL)
		goto bad;
	snprintf(t->authority, sizeof(t->authority), "%.*s", (int)alen, p);
	snprintf(t->path, sizeof(t->path), "%s",
	    slash != NULL && slash[1] != '\0' ? slash : "/healthz");
	a = t->authority; /* NUL-terminated from here on */
	if (*a == '[') {
		if ((hend = strchr(a, ']')) == NULL)
			goto bad;
		a++;
		if (hend[1] == ':')
			port = hend + 2;
		else if (hend[1] != '\0')
			goto bad;
	} else {
		hend = strchr(a, ':');
		if (hend != NULL)
			port = hend + 1;
		else
			hend = a + strlen(a);
	}
	if (hend == a || (size_t)(hend - a) >= sizeof(t->host))
		goto bad;
	snprintf(t->host, sizeof(t->host), "%.*s", (int)(hend - a), a);
	if (port != NULL) {
		if (*port == '\0' || strlen(port) >= sizeof(t->port) ||
		    strspn(port, "0123456789") != strlen(port))
			goto bad;
		snprintf(t->port, sizeof(t->port), "%s", port);
	} else {
		snprintf(t->port, sizeof(t->port), "%s", t->tls ? "443" : "80");
	}
	return 0;
bad:
	fprintf(stderr, "regward health: bad --url: %s\n", url);
	return -1;
}

/* Connect with the timeout applied to connect, send and receive. */
static int
health_connect(const struct health_target *t)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(t->host, t->port, &hints, &res)) != 0) {
		fprintf(stderr, "regward health: %s: %s\n", t->host,
		    gai_strerror(rc));
		return -1;
	}
	tv.tv_sec = (time_t)t->timeout;
	tv.tv_usec = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		/* Linux applies SO_SNDTIMEO to connect() too. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ==
			0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ==
			0 &&
		    connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		fprintf(stderr, "regward health: cannot connect to %s\n",
		    t->authority);
	return fd;
}

/* Send the request and read the status line; the status, or -1. */
static int
health_exchange(const struct health_target *t, int fd)
{
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	char req[HEALTH_PATH_MAX + HEALTH_HOST_MAX + 128];
	char resp[HEALTH_RESP_MAX + 1];
	size_t got = 0;
	int n, len, status = -1;

	len = snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: regward-health\r\n"
	    "Connection: close\r\n\r\n",
	    t->path, t->authority);
	if (len < 0 || (size_t)len >= sizeof(req))
		goto out;
	if (t->tls) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
		    (ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
		    SSL_connect(ssl) != 1 || SSL_write(ssl, req, len) != len) {
			fprintf(stderr, "regward health: TLS: %s\n",
			    ERR_reason_error_string(ERR_get_error()));
			goto out;
		}
	} else if (write(fd, req, (size_t)len) != len) {
		perror("regward health: write");
		goto out;
	}
	while (got < HEALTH_RESP_MAX && memchr(resp, '\n', got) == NULL) {
		if (ssl != NULL)
			n = SSL_read(
			    ssl, resp + got, (int)(HEALTH_RESP_MAX - got));
		else
			n = (int)read(fd, resp + got, HEALTH_RESP_MAX - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	resp[got] = '\0';
	if (got < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || resp[8] != ' ' ||
	    strspn(resp + 9, "0123456789") < 3) {
		fprintf(stderr, "regward health: no HTTP answer from %s\n",
		    t->authority);
		goto out;
	}
	status =
	    (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
out:
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	SSL_CTX_free(ctx);
	return status;
}

int
health_main(int argc, char **argv)
{
	struct health_target t;
	const char *cfg = NULL, *url = NULL;
	unsigned long v;
	char *end;
	int i, fd, status;

	memset(&t, 0, sizeof(t));
	t.timeout = 5;
	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
			strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			cfg = argv[++i];
		} else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
			url = argv[++i];
		} else if (strcmp(argv[i], "--live") == 0) {
			t.live = 1;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			v = strtoul(argv[++i], &end, 10);
			if (*argv[i] < '1' || *argv[i] > '9' || *end != '\0' ||
			    v > 300)
				goto usage;
			t.timeout = (unsigned)v;
		} else {
			goto usage;
		}
	}
	if ((cfg == NULL) == (url == NULL))
		goto usage;
	if (cfg != NULL ? health_from_config(cfg, &t) == -1
			: health_from_url(url, &t) == -1)
		return 1;
	if ((fd = health_connect(&t)) == -1)
		return 1;
	status = health_exchange(&t, fd);
	close(fd);
	if (status == -1)
		return 1;
	if (status == 200 || t.live) {
		printf("%s%s: %d\n", t.tls ? "https://" : "http://",
		    t.authority, status);
		return 0;
	}
	fprintf(stderr, "regward health: %s%s%s: status %d\n",
	    t.tls ? "https://" : "http://", t.authority, t.path, status);
	return 1;
usage:
	fprintf(stderr, "usage:\n");
	health_usage(stderr);
	return 2;
}
