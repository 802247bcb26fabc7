/*
 * http_fetch: one plain GET over libcurl, for documents that are not
 * registry API calls: an OIDC issuer's JWK Set (the gateway's jwks_url).
 * No credentials are ever sent. https only, except http to a loopback
 * host (tests); redirects are followed (a few, https only); the body and
 * the time are capped; TLS peers are verified against the system's CAs
 * or the caller's ca_file. Cache-Control is reported (and parsed by
 * registry_cache_max_age(), a pure function) so the caller can schedule
 * its next fetch.
 *
 * registry_http_get() is safe to call from any thread once
 * registry_http_global_init() has returned (libcurl's global set-up is
 * not thread-safe in every build, so that runs on the main thread).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "regward/registry.h"

#ifndef REGWARD_VERSION
#define REGWARD_VERSION "0"
#endif

#define HTTP_FETCH_REDIRS_MAX 3
#define HTTP_FETCH_HDR_MAX (64 * 1024)
#define HTTP_FETCH_CONNECT_MS 5000
#define HTTP_FETCH_TOTAL_MS 10000

/* What the callbacks fill. */
struct http_fetch_ctx {
	struct registry_http_resp *resp;
	size_t max;
	size_t cap;
	size_t hdr_bytes;
	int too_large;
	int (*cancel)(void *);
	void *cancel_arg;
};

int
registry_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
registry_http_global_cleanup(void)
{
	curl_global_cleanup();
}

/* 1 when host[0..len) names the loopback interface. */
static int
http_fetch_loopback(const char *host, size_t len)
{
	return (len == 9 && strncasecmp(host, "127.0.0.1", 9) == 0) ||
	    (len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (len == 5 && strncmp(host, "[::1]", 5) == 0);
}

int
registry_http_url_ok(const char *url, int *loopback_http)
{
	const char *host, *end, *port;
	size_t i, n;

	if (loopback_http != NULL)
		*loopback_http = 0;
	if (url == NULL || (n = strlen(url)) == 0 || n > REGISTRY_URL_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f)
			return 0;
	if (strchr(url, '#') != NULL)
		return 0;
	if (strncmp(url, "https://", 8) == 0) {
		host = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		host = url + 7;
	} else {
		return 0;
	}
	end = host + strcspn(host, "/?");
	if (end == host || memchr(host, '@', (size_t)(end - host)) != NULL)
		return 0;
	if (host == url + 8)
		return 1;
	/* http: the host, without its port, must be the loopback. */
	if (*host == '[')
		port = memchr(host, ']', (size_t)(end - host));
	else
		port = memchr(host, ':', (size_t)(end - host));
	if (port == NULL)
		port = end;
	else if (*host == '[')
		port++;
	if (!http_fetch_loopback(host, (size_t)(port - host)))
		return 0;
	if (port != end) {
		if (*port != ':' || port + 1 == end)
			return 0;
		for (port++; port < end; port++)
			if (!isdigit((unsigned char)*port))
				return 0;
	}
	if (loopback_http != NULL)
		*loopback_http = 1;
	return 1;
}

/* Directive name d[0..n) equals lower-case want, case-insensitively. */
static int
http_fetch_token_is(const char *d, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(d, want, n) == 0;
}

long
registry_cache_max_age(const char *cc)
{
	const char *p, *name, *val;
	size_t nlen, vlen, i;
	long age = -1, v;
	int nocache = 0;

	if (cc == NULL)
		return -1;
	for (p = cc; *p != '\0';) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		name = p;
		while (*p != '\0' && *p != '=' && *p != ',' && *p != ' ' &&
		    *p != '\t')
			p++;
		nlen = (size_t)(p - name);
		while (*p == ' ' || *p == '\t')
			p++;
		val = NULL;
		vlen = 0;
		if (*p == '=') {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '"') {
				val = ++p;
				while (*p != '\0' && *p != '"')
					p++;
				vlen = (size_t)(p - val);
				if (*p == '"')
					p++;
			} else {
				val = p;
				while (*p != '\0' && *p != ',' && *p != ' ' &&
				    *p != '\t')
					p++;
				vlen = (size_t)(p - val);
			}
		}
		/* Skip whatever follows up to the next directive. */
		while (*p != '\0' && *p != ',')
			p++;
		if (http_fetch_token_is(name, nlen, "no-store") ||
		    http_fetch_token_is(name, nlen, "no-cache")) {
			nocache = 1;
			continue;
		}
		if (!http_fetch_token_is(name, nlen, "max-age") || age != -1)
			continue;
		if (val == NULL || vlen == 0)
			continue;
		/* RFC 9111 §1.2.2: delta-seconds, saturating. */
		v = 0;
		for (i = 0; i < vlen; i++) {
			if (!isdigit((unsigned char)val[i])) {
				v = -1;
				break;
			}
			if (v < REGISTRY_MAX_AGE_CAP)
				v = v * 10 + (val[i] - '0');
		}
		if (v > REGISTRY_MAX_AGE_CAP)
			v = REGISTRY_MAX_AGE_CAP;
		if (v >= 0)
			age = v;
	}
	return nocache ? 0 : age;
}

void
registry_http_resp_clear(struct registry_http_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

static size_t
http_fetch_header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct http_fetch_ctx *ctx = arg;
	struct registry_http_resp *resp = ctx->resp;
	size_t len = size * nitems, vlen;
	const char *v, *end;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new response (redirect): forget the last one's. */
		resp->cache_control[0] = '\0';
		resp->len = 0;
		ctx->too_large = 0;
	}
	ctx->hdr_bytes += len;
	if (ctx->hdr_bytes > HTTP_FETCH_HDR_MAX)
		return 0;
	if (len < 14 || strncasecmp(buf, "Cache-Control:", 14) != 0)
		return len;
	v = buf + 14;
	end = buf + len;
	while (end > v &&
	    (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' ||
		end[-1] == '\t'))
		end--;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	vlen = (size_t)(end - v);
	if (vlen < sizeof(resp->cache_control)) {
		memcpy(resp->cache_control, v, vlen);
		resp->cache_control[vlen] = '\0';
	}
	return len;
}

static size_t
http_fetch_write_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct http_fetch_ctx *ctx = arg;
	struct registry_http_resp *resp = ctx->resp;
	size_t len = size * nitems, ncap;
	char *nb;

	if (len > ctx->max || resp->len > ctx->max - len) {
		ctx->too_large = 1;
		return 0;
	}
	if (resp->len + len + 1 > ctx->cap) {
		ncap = ctx->cap == 0 ? 16384 : ctx->cap;
		while (ncap < resp->len + len + 1)
			ncap *= 2;
		if (ncap > ctx->max + 1)
			ncap = ctx->max + 1;
		if ((nb = realloc(resp->body, ncap)) == NULL)
			return 0;
		resp->body = nb;
		ctx->cap = ncap;
	}
	memcpy(resp->body + resp->len, buf, len);
	resp->len += len;
	resp->body[resp->len] = '\0';
	return len;
}

static int
http_fetch_progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_fetch_ctx *ctx = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return ctx->cancel != NULL && ctx->cancel(ctx->cancel_arg) ? 1 : 0;
}

/* url without query for messages. */
static void
http_fetch_url_for_msg(const char *url, char *out, size_t outlen)
{
	size_t n = strcspn(url, "?#");

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, url, n);
	out[n] = '\0';
}

static enum registry_status
http_fetch_fail(struct registry_err *err, enum registry_status st,
    const char *url, const char *why)
{
	char u[256];

	if (err != NULL) {
		http_fetch_url_for_msg(url, u, sizeof(u));
		snprintf(err->msg, sizeof(err->msg), "GET %s: %s", u, why);
	}
	return st;
}

enum registry_status
registry_http_get(const char *url, const struct registry_http_opts *opts,
    struct registry_http_resp *resp, struct registry_err *err)
{
	struct http_fetch_ctx ctx;
	char cerr[CURL_ERROR_SIZE], ua[64], num[48];
	const char *protos;
	enum registry_status st;
	CURL *c = NULL;
	CURLcode rc;
	int loop = 0;
	long status = 0;

	memset(resp, 0, sizeof(*resp));
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	memset(&ctx, 0, sizeof(ctx));
	cerr[0] = '\0';
	if (opts == NULL || opts->max_bytes == 0 ||
	    opts->max_bytes > SIZE_MAX / 2)
		return http_fetch_fail(err, REGISTRY_INVALID,
		    url != NULL ? url : "", "no body limit given");
	if (!registry_http_url_ok(url, &loop))
		return http_fetch_fail(err, REGISTRY_INVALID, url,
		    "not an https URL (http only to 127.0.0.1, "
		    "localhost or [::1])");
	ctx.resp = resp;
	ctx.max = opts->max_bytes;
	ctx.cancel = opts->cancel;
	ctx.cancel_arg = opts->cancel_arg;
	protos = loop ? "http,https" : "https";
	snprintf(ua, sizeof(ua), "%s",
	    opts->user_agent != NULL ? opts->user_agent
				     : "regward/" REGWARD_VERSION);
	if ((c = curl_easy_init()) == NULL) {
		st = http_fetch_fail(
		    err, REGISTRY_NOMEM, url, "curl_easy_init failed");
		goto out;
	}
	if (curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protos) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXREDIRS,
		(long)HTTP_FETCH_REDIRS_MAX) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, ua) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		opts->connect_timeout_ms > 0
		    ? opts->connect_timeout_ms
		    : (long)HTTP_FETCH_CONNECT_MS) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
		opts->timeout_ms > 0 ? opts->timeout_ms
				     : (long)HTTP_FETCH_TOTAL_MS) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_fetch_header_cb) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, &ctx) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_fetch_write_cb) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION,
		http_fetch_progress_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ctx) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    (loop && curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK) ||
	    (opts->ca_file != NULL &&
		curl_easy_setopt(c, CURLOPT_CAINFO, opts->ca_file) !=
		    CURLE_OK)) {
		st = http_fetch_fail(
		    err, REGISTRY_INVALID, url, "libcurl refused an option");
		goto out;
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	resp->status = status;
	if (err != NULL)
		err->http_status = (int)status;
	if (ctx.too_large) {
		snprintf(num, sizeof(num), "body larger than %zu bytes",
		    opts->max_bytes);
		st = http_fetch_fail(err, REGISTRY_TOO_LARGE, url, num);
		goto out;
	}
	if (rc != CURLE_OK) {
		st = http_fetch_fail(err, REGISTRY_NETWORK, url,
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
		goto out;
	}
	if (status >= 200 && status < 300) {
		if (resp->body == NULL && (resp->body = calloc(1, 1)) == NULL) {
			st = http_fetch_fail(
			    err, REGISTRY_NOMEM, url, "out of memory");
			goto out;
		}
		st = REGISTRY_OK;
		goto out;
	}
	snprintf(num, sizeof(num), "HTTP %ld", status);
	st = status == 404		     ? REGISTRY_NOT_FOUND
	    : status == 429 || status >= 500 ? REGISTRY_UNAVAILABLE
					     : REGISTRY_PROTOCOL;
	http_fetch_fail(err, st, url, num);
out:
	if (c != NULL)
		curl_easy_cleanup(c);
	if (st != REGISTRY_OK) {
		free(resp->body);
		resp->body = NULL;
		resp->len = 0;
	}
	return st;
}
