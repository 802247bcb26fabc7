/*
 * registry: the OCI Distribution API client. One libcurl easy handle per
 * client (connections are reused), reset before every request. Each
 * request goes through registry_do(), which adds the Authorization the
 * client holds for the request's scope, and on a 401 reads the challenge,
 * obtains Basic or Bearer authorization and retries once.
 *
 * Security rules, enforced here and nowhere else:
 * - credentials and tokens go only to the registry's origin (scheme, host,
 *   port) and, for the token request, to the challenge's realm;
 * - without `insecure`, libcurl may speak https only (requests and
 *   redirects), so nothing is ever sent in clear;
 * - only blob GET/HEAD follow redirects, and libcurl does not forward the
 *   Authorization it builds from CURLOPT_USERNAME/XOAUTH2_BEARER to
 *   another host (CURLOPT_UNRESTRICTED_AUTH stays off);
 * - messages carry the method, the path (never the query), the status and
 *   the OCI error from the body, never a header value we sent.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "regward/registry.h"

#include "registry_priv.h"

#ifndef REGWARD_VERSION
#define REGWARD_VERSION "0"
#endif

#define REGISTRY_TOK_CACHE 8
#define REGISTRY_HDR_MAX (64 * 1024) /* header bytes per response */
#define REGISTRY_WWW_AUTH_MAX (16 * 1024) /* joined WWW-Authenticate */
#define REGISTRY_SCOPES_MAX 16
#define REGISTRY_REDIRS_MAX 5

/* A cached Bearer token for one scope string. */
struct registry_tok {
	char *scope; /* the operation's scope; "" for none */
	char *tok; /* wiped before free */
	time_t expires;
};

struct registry {
	CURL *curl;
	char *base; /* "https://host:port", no trailing slash */
	int insecure;
	char *ca_cert;
	struct registry_cred *cred;
	char *user_agent;
	long connect_timeout_ms;
	long timeout_ms;
	size_t manifest_max;
	int basic; /* the registry challenged Basic: send it up front */
	char *realm; /* last Bearer realm, to fetch tokens up front */
	char *service; /* its service param, or NULL */
	struct registry_tok toks[REGISTRY_TOK_CACHE];
	char curl_err[CURL_ERROR_SIZE];
};

struct registry_req {
	const char *method; /* GET HEAD POST PUT */
	const char *url; /* absolute */
	const char *scope; /* "repository:NAME:pull[,push]", NULL for none */
	const char *accept;
	const char *content_type;
	const void *body;
	size_t body_len;
	size_t max; /* 2xx body cap; 0 for HEAD */
	int follow; /* follow redirects (blob GET/HEAD only) */
};

struct registry_resp {
	long status; /* from the last status line */
	unsigned char *body;
	size_t len;
	size_t cap;
	size_t max;
	int too_large;
	int hdr_too_large;
	size_t hdr_bytes;
	char ctype[REGISTRY_MEDIA_TYPE_MAX];
	char dgst[REGISTRY_DIGEST_MAX];
	char *location;
	char *link; /* Link header (paging), or NULL */
	char *www_auth;
	uint64_t clen;
	int has_clen;
};

static const char *const registry_status_names[] = {
    [REGISTRY_OK] = "ok",
    [REGISTRY_NOT_FOUND] = "not_found",
    [REGISTRY_UNAUTHORIZED] = "unauthorized",
    [REGISTRY_DENIED] = "denied",
    [REGISTRY_NETWORK] = "network",
    [REGISTRY_PROTOCOL] = "protocol",
    [REGISTRY_TOO_LARGE] = "too_large",
    [REGISTRY_DIGEST_MISMATCH] = "digest_mismatch",
    [REGISTRY_UNAVAILABLE] = "unavailable",
    [REGISTRY_INVALID] = "invalid",
    [REGISTRY_INSECURE] = "insecure",
    [REGISTRY_NOMEM] = "nomem",
    [REGISTRY_UNSUPPORTED] = "unsupported",
};

const char *
registry_status_str(enum registry_status st)
{
	if ((size_t)st >= sizeof(registry_status_names) /
		    sizeof(registry_status_names[0]) ||
	    registry_status_names[st] == NULL)
		return "unknown";
	return registry_status_names[st];
}

static void registry_errf(struct registry_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
registry_errf(struct registry_err *err, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	for (p = err->msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
}

static void
registry_err_clear(struct registry_err *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
}

static void
registry_wipe_str(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static time_t
registry_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return ts.tv_sec;
}

/* ---------------------------------------------------------- validation */

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static int
registry_component_valid(const char *s, size_t len)
{
	size_t i = 0, run;

	for (;;) {
		run = 0;
		while (i < len &&
		    ((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9'))) {
			i++;
			run++;
		}
		if (run == 0)
			return 0;
		if (i == len)
			return 1;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < len && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < len && s[i] == '-')
				i++;
		} else {
			return 0;
		}
	}
}

int
registry_repo_valid(const char *s)
{
	size_t len, i, start = 0;

	if (s == NULL || (len = strlen(s)) == 0 || len > 255)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '/') {
			if (!registry_component_valid(s + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

int
registry_tag_valid(const char *s)
{
	size_t i, len;

	if (s == NULL || (len = strlen(s)) == 0 || len > 128)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_')
			continue;
		if (i > 0 && (c == '.' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

static int
registry_hex_valid(const char *s, size_t want)
{
	size_t i;

	for (i = 0; i < want; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[want] == '\0';
}

int
registry_digest_valid(const char *s)
{
	if (s == NULL)
		return 0;
	if (strncmp(s, "sha256:", 7) == 0)
		return registry_hex_valid(s + 7, 64);
	if (strncmp(s, "sha512:", 7) == 0)
		return registry_hex_valid(s + 7, 128);
	return 0;
}

/* -------------------------------------------------------------- digests */

/*
 * Digest of data[0..len) with the algorithm of algo_of ("sha256:..." or
 * "sha512:..."; NULL means sha256) as "algo:hex" into out. 0 or -1.
 */
static int
registry_digest(const char *algo_of, const void *data, size_t len,
    char out[REGISTRY_DIGEST_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	const EVP_MD *type = EVP_sha256();
	const char *name = "sha256";
	unsigned int mdlen = 0, i;
	char *p;

	out[0] = '\0';
	if (algo_of != NULL && strncmp(algo_of, "sha512:", 7) == 0) {
		type = EVP_sha512();
		name = "sha512";
	}
	if (EVP_Digest(data, len, md, &mdlen, type, NULL) != 1) {
		ERR_clear_error();
		return -1;
	}
	p = out + strlen(name) + 1;
	snprintf(out, REGISTRY_DIGEST_MAX, "%s:", name);
	for (i = 0; i < mdlen; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 0xf];
	}
	*p = '\0';
	return 0;
}

/* -------------------------------------------------------- client object */

static int
registry_host_valid(const char *h)
{
	size_t i, len;

	if (h == NULL || (len = strlen(h)) == 0 || len > 261)
		return 0;
	for (i = 0; i < len; i++) {
		char c = h[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '-' ||
			c == ':' || c == '[' || c == ']'))
			return 0;
	}
	return 1;
}

struct registry *
registry_new(const struct registry_opts *opts, char *err, size_t errlen)
{
	struct registry *reg = NULL;
	const char *host;
	size_t len;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (opts == NULL || !registry_host_valid(opts->host)) {
		if (err != NULL)
			snprintf(err, errlen,
			    "registry host must be host[:port] or [v6]:port");
		goto fail;
	}
	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		goto nomem;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		if (err != NULL)
			snprintf(err, errlen, "libcurl initialisation failed");
		goto fail;
	}
	if ((reg->curl = curl_easy_init()) == NULL) {
		curl_global_cleanup();
		if (err != NULL)
			snprintf(err, errlen, "libcurl: curl_easy_init failed");
		goto fail;
	}
	host = opts->host;
	if (strcasecmp(host, "docker.io") == 0 ||
	    strcasecmp(host, "index.docker.io") == 0)
		host = "registry-1.docker.io";
	len = strlen(host) + sizeof("https://");
	if ((reg->base = malloc(len)) == NULL)
		goto nomem;
	snprintf(
	    reg->base, len, "%s://%s", opts->insecure ? "http" : "https", host);
	reg->insecure = opts->insecure != 0;
	if (opts->ca_cert != NULL &&
	    (reg->ca_cert = strdup(opts->ca_cert)) == NULL)
		goto nomem;
	if (opts->cred != NULL &&
	    (reg->cred = registry_cred_dup(opts->cred)) == NULL) {
		if (err != NULL)
			snprintf(err, errlen,
			    "credentials: empty user name or password, or "
			    "control characters in them");
		goto fail;
	}
	reg->user_agent =
	    strdup(opts->user_agent != NULL ? opts->user_agent
					    : "regward-sign/" REGWARD_VERSION);
	if (reg->user_agent == NULL)
		goto nomem;
	reg->connect_timeout_ms =
	    opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
	reg->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 120000;
	reg->manifest_max =
	    opts->manifest_max > 0 ? opts->manifest_max : REGISTRY_MANIFEST_MAX;
	return reg;
nomem:
	if (err != NULL)
		snprintf(err, errlen, "out of memory");
fail:
	registry_free(reg);
	return NULL;
}

static void
registry_tok_clear(struct registry_tok *t)
{
	free(t->scope);
	registry_wipe_str(t->tok);
	memset(t, 0, sizeof(*t));
}

void
registry_free(struct registry *reg)
{
	size_t i;

	if (reg == NULL)
		return;
	if (reg->curl != NULL) {
		curl_easy_cleanup(reg->curl);
		reg->curl = NULL;
		curl_global_cleanup();
	}
	free(reg->base);
	free(reg->ca_cert);
	registry_cred_free(reg->cred);
	free(reg->user_agent);
	free(reg->realm);
	free(reg->service);
	for (i = 0; i < REGISTRY_TOK_CACHE; i++)
		registry_tok_clear(&reg->toks[i]);
	OPENSSL_cleanse(reg, sizeof(*reg));
	free(reg);
}

const char *
registry_base_url(const struct registry *reg)
{
	return reg->base;
}

/* --------------------------------------------------------- token cache */

static const char *
registry_tok_get(struct registry *reg, const char *scope)
{
	time_t now = registry_now();
	size_t i;

	if (scope == NULL)
		scope = "";
	for (i = 0; i < REGISTRY_TOK_CACHE; i++) {
		struct registry_tok *t = &reg->toks[i];

		if (t->scope == NULL || strcmp(t->scope, scope) != 0)
			continue;
		if (now >= t->expires) {
			registry_tok_clear(t);
			return NULL;
		}
		return t->tok;
	}
	return NULL;
}

/* Cache tok (ownership taken, even on failure) for scope. */
static const char *
registry_tok_put(
    struct registry *reg, const char *scope, char *tok, long expires_in)
{
	struct registry_tok *slot = NULL;
	size_t i;

	if (scope == NULL)
		scope = "";
	for (i = 0; i < REGISTRY_TOK_CACHE; i++) {
		struct registry_tok *t = &reg->toks[i];

		if (t->scope != NULL && strcmp(t->scope, scope) == 0) {
			slot = t;
			break;
		}
		if (slot == NULL && t->scope == NULL)
			slot = t;
	}
	if (slot == NULL) {
		/* Full: evict the one that expires first. */
		slot = &reg->toks[0];
		for (i = 1; i < REGISTRY_TOK_CACHE; i++) {
			if (reg->toks[i].expires < slot->expires)
				slot = &reg->toks[i];
		}
	}
	registry_tok_clear(slot);
	if ((slot->scope = strdup(scope)) == NULL) {
		registry_wipe_str(tok);
		return NULL;
	}
	slot->tok = tok;
	/* Renew 10 s early when the lifetime allows it. */
	slot->expires =
	    registry_now() + expires_in - (expires_in > 30 ? 10 : 0);
	return slot->tok;
}

/* ---------------------------------------------------- libcurl callbacks */

static void
registry_resp_reset_headers(struct registry_resp *resp)
{
	resp->hdr_bytes = 0;
	resp->ctype[0] = '\0';
	resp->dgst[0] = '\0';
	free(resp->location);
	resp->location = NULL;
	free(resp->link);
	resp->link = NULL;
	free(resp->www_auth);
	resp->www_auth = NULL;
	resp->clen = 0;
	resp->has_clen = 0;
	resp->status = 0;
}

static void
registry_resp_clear(struct registry_resp *resp)
{
	registry_resp_reset_headers(resp);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

/* Bounded decimal parse of v[0..len); 0 or -1. */
static int
registry_parse_u64(const char *v, size_t len, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n;
	return 0;
}

static void
registry_copy_value(char *dst, size_t dstlen, const char *v, size_t len)
{
	if (len >= dstlen) {
		dst[0] = '\0';
		return;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
}

/*
 * One header line (or status line) of a response. Every response of a
 * redirect chain or a 100 Continue starts with a status line, which resets
 * what we kept. Returns size, or 0 to abort (header block too large).
 */
static size_t
registry_header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct registry_resp *resp = arg;
	size_t len = size * nitems, nlen, vlen;
	const char *v, *colon, *end;
	char *joined;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new response (redirect, 100 Continue): forget the last. */
		registry_resp_reset_headers(resp);
		resp->len = 0;
		resp->too_large = 0;
		v = memchr(buf, ' ', len);
		if (v != NULL && (size_t)(buf + len - v) >= 4) {
			uint64_t st;

			if (registry_parse_u64(v + 1, 3, &st) == 0)
				resp->status = (long)st;
		}
	}
	resp->hdr_bytes += len;
	if (resp->hdr_bytes > REGISTRY_HDR_MAX) {
		resp->hdr_too_large = 1;
		return 0;
	}
	end = buf + len;
	while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if ((colon = memchr(buf, ':', (size_t)(end - buf))) == NULL)
		return len;
	nlen = (size_t)(colon - buf);
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vlen = (size_t)(end - v);
#define REGISTRY_HDR_IS(n)                                                     \
	(nlen == sizeof(n) - 1 && strncasecmp(buf, n, nlen) == 0)
	if (REGISTRY_HDR_IS("Content-Type")) {
		size_t mlen = 0;

		while (mlen < vlen && v[mlen] != ';')
			mlen++;
		while (mlen > 0 && (v[mlen - 1] == ' ' || v[mlen - 1] == '\t'))
			mlen--;
		registry_copy_value(resp->ctype, sizeof(resp->ctype), v, mlen);
	} else if (REGISTRY_HDR_IS("Docker-Content-Digest")) {
		registry_copy_value(resp->dgst, sizeof(resp->dgst), v, vlen);
		if (!registry_digest_valid(resp->dgst))
			resp->dgst[0] = '\0';
	} else if (REGISTRY_HDR_IS("Content-Length")) {
		resp->has_clen = registry_parse_u64(v, vlen, &resp->clen) == 0;
	} else if (REGISTRY_HDR_IS("Location")) {
		free(resp->location);
		resp->location = NULL;
		if (vlen > 0 && vlen <= REGISTRY_URL_MAX &&
		    (resp->location = malloc(vlen + 1)) != NULL) {
			memcpy(resp->location, v, vlen);
			resp->location[vlen] = '\0';
		}
	} else if (REGISTRY_HDR_IS("Link")) {
		free(resp->link);
		resp->link = NULL;
		if (vlen > 0 && vlen <= REGISTRY_URL_MAX &&
		    (resp->link = malloc(vlen + 1)) != NULL) {
			memcpy(resp->link, v, vlen);
			resp->link[vlen] = '\0';
		}
	} else if (REGISTRY_HDR_IS("WWW-Authenticate") && vlen > 0) {
		size_t old =
		    resp->www_auth != NULL ? strlen(resp->www_auth) : 0;

		if (old + 2 + vlen > REGISTRY_WWW_AUTH_MAX)
			return len;
		if ((joined = realloc(resp->www_auth, old + 2 + vlen + 1)) ==
		    NULL)
			return len;
		if (old > 0) {
			memcpy(joined + old, ", ", 2);
			old += 2;
		}
		memcpy(joined + old, v, vlen);
		joined[old + vlen] = '\0';
		resp->www_auth = joined;
	}
#undef REGISTRY_HDR_IS
	return len;
}

/*
 * Body bytes. 2xx bodies are kept up to resp->max (more aborts the
 * transfer: too_large); other bodies are kept up to
 * REGISTRY_ERROR_BODY_MAX for their OCI error and the rest dropped.
 */
static size_t
registry_write_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct registry_resp *resp = arg;
	size_t len = size * nitems, max, ncap;
	int ok = resp->status >= 200 && resp->status < 300;
	unsigned char *nb;

	max = ok ? resp->max : REGISTRY_ERROR_BODY_MAX;
	if (len > max - resp->len || resp->len > max) {
		if (ok) {
			resp->too_large = 1;
			return 0;
		}
		len = resp->len < max ? max - resp->len : 0;
		if (len == 0)
			return size * nitems;
	}
	if (resp->len + len + 1 > resp->cap) {
		ncap = resp->cap == 0 ? 16384 : resp->cap;
		while (ncap < resp->len + len + 1)
			ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
		if (ncap > max + 1)
			ncap = max + 1;
		if ((nb = realloc(resp->body, ncap)) == NULL)
			return 0;
		resp->body = nb;
		resp->cap = ncap;
	}
	memcpy(resp->body + resp->len, buf, len);
	resp->len += len;
	resp->body[resp->len] = '\0';
	return size * nitems;
}

/* ------------------------------------------------------------ requests */

/* For messages: the path of url on the registry, else url; no query. */
static void
registry_url_for_msg(
    const struct registry *reg, const char *url, char *out, size_t outlen)
{
	const char *p = url, *s;
	size_t n;

	if (registry_url_same_origin(url, reg->base) &&
	    (s = strstr(url, "://")) != NULL) {
		s += 3;
		s += strcspn(s, "/?#");
		p = *s == '/' ? s : "/";
	}
	n = strcspn(p, "?#");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/*
 * Perform one request with the given authorization (NULL, or a Bearer
 * token when bearer, else Basic from reg->cred). Fills *resp (cleared by
 * the caller). Returns REGISTRY_OK when an HTTP response arrived, whatever
 * its status; else the transport error, with the message in err.
 */
static enum registry_status
registry_perform(struct registry *reg, const struct registry_req *req,
    const char *bearer, int basic, struct registry_resp *resp,
    struct registry_err *err)
{
	struct curl_slist *hdrs = NULL, *tmp;
	char line[REGISTRY_MEDIA_TYPE_MAX + 512], where[256];
	const char *protos = reg->insecure ? "http,https" : "https";
	enum registry_status st = REGISTRY_NOMEM;
	CURL *c = reg->curl;
	CURLcode rc;
	long code = 0;

	registry_url_for_msg(reg, req->url, where, sizeof(where));
	curl_easy_reset(c);
	reg->curl_err[0] = '\0';
	resp->max = req->max;

	/* Header lines: Accept and Content-Type were checked by callers. */
	if (req->accept != NULL) {
		snprintf(line, sizeof(line), "Accept: %s", req->accept);
		if ((tmp = curl_slist_append(hdrs, line)) == NULL)
			goto out;
		hdrs = tmp;
	}
	if (req->content_type != NULL) {
		snprintf(
		    line, sizeof(line), "Content-Type: %s", req->content_type);
		if ((tmp = curl_slist_append(hdrs, line)) == NULL)
			goto out;
		hdrs = tmp;
	}
	/* No "Expect: 100-continue"; no form Content-Type on a bare POST. */
	if ((tmp = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto out;
	hdrs = tmp;
	if (req->content_type == NULL && strcmp(req->method, "POST") == 0) {
		if ((tmp = curl_slist_append(hdrs, "Content-Type:")) == NULL)
			goto out;
		hdrs = tmp;
	}

	st = REGISTRY_PROTOCOL;
	if (curl_easy_setopt(c, CURLOPT_ERRORBUFFER, reg->curl_err) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_URL, req->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protos) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protos) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, reg->user_agent) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		reg->connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, reg->timeout_ms) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, registry_header_cb) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, registry_write_cb) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp) != CURLE_OK ||
	    curl_easy_setopt(
		c, CURLOPT_FOLLOWLOCATION, req->follow ? 1L : 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)REGISTRY_REDIRS_MAX) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L) != CURLE_OK) {
		registry_errf(err, "%s %s: libcurl refused an option: %s",
		    req->method, where, reg->curl_err);
		goto out;
	}
	if (reg->ca_cert != NULL &&
	    curl_easy_setopt(c, CURLOPT_CAINFO, reg->ca_cert) != CURLE_OK) {
		registry_errf(
		    err, "%s %s: libcurl refused CAINFO", req->method, where);
		goto out;
	}
	if (bearer != NULL) {
		if (curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER) !=
			CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, bearer) !=
			CURLE_OK) {
			registry_errf(err, "%s %s: libcurl refused Bearer auth",
			    req->method, where);
			goto out;
		}
	} else if (basic && reg->cred != NULL) {
		if (curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC) !=
			CURLE_OK ||
		    curl_easy_setopt(
			c, CURLOPT_USERNAME, reg->cred->username) != CURLE_OK ||
		    curl_easy_setopt(
			c, CURLOPT_PASSWORD, reg->cred->password) != CURLE_OK) {
			registry_errf(err, "%s %s: libcurl refused Basic auth",
			    req->method, where);
			goto out;
		}
	}
	if (strcmp(req->method, "HEAD") == 0) {
		rc = curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET") == 0) {
		rc = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "DELETE") == 0) {
		rc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	} else {
		/* POST or PUT with a body from memory (possibly empty). */
		rc = curl_easy_setopt(
		    c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS,
			    req->body != NULL ? req->body : "");
		if (rc == CURLE_OK && strcmp(req->method, "POST") != 0)
			rc = curl_easy_setopt(
			    c, CURLOPT_CUSTOMREQUEST, req->method);
	}
	if (rc != CURLE_OK) {
		registry_errf(err, "%s %s: libcurl refused the method",
		    req->method, where);
		goto out;
	}

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 0)
		resp->status = code;
	if (resp->too_large) {
		st = REGISTRY_TOO_LARGE;
		registry_errf(err, "%s %s: response body larger than %zu bytes",
		    req->method, where, req->max);
		goto out;
	}
	if (resp->hdr_too_large) {
		st = REGISTRY_PROTOCOL;
		registry_errf(err,
		    "%s %s: response headers larger than %d bytes", req->method,
		    where, REGISTRY_HDR_MAX);
		goto out;
	}
	if (rc != CURLE_OK) {
		if (rc == CURLE_UNSUPPORTED_PROTOCOL && !reg->insecure) {
			st = REGISTRY_INSECURE;
			registry_errf(err,
			    "%s %s: refused to follow a redirect to plain "
			    "http (not insecure)",
			    req->method, where);
		} else if (rc == CURLE_OUT_OF_MEMORY) {
			st = REGISTRY_NOMEM;
			registry_errf(
			    err, "%s %s: out of memory", req->method, where);
		} else {
			st = REGISTRY_NETWORK;
			registry_errf(err, "%s %s: %s", req->method, where,
			    reg->curl_err[0] != '\0' ? reg->curl_err
						     : curl_easy_strerror(rc));
		}
		goto out;
	}
	st = REGISTRY_OK;
out:
	/* Forget the credentials curl copied. */
	curl_easy_reset(c);
	curl_slist_free_all(hdrs);
	if (err != NULL)
		err->http_status = (int)resp->status;
	return st;
}

/*
 * 1 if a 401's Bearer challenge says error="insufficient_scope": we are
 * authenticated, but not allowed (distribution answers 401, not 403).
 */
static int
registry_insufficient_scope(const struct registry_resp *resp)
{
	struct registry_auth_chal chal[REGISTRY_AUTH_CHAL_MAX];
	const char *e;
	size_t n = 0, i;
	char *buf;
	int yes = 0;

	if (resp->www_auth == NULL || (buf = strdup(resp->www_auth)) == NULL)
		return 0;
	(void)registry_auth_parse(buf, chal, REGISTRY_AUTH_CHAL_MAX, &n);
	for (i = 0; i < n; i++) {
		if (strcasecmp(chal[i].scheme, "Bearer") == 0 &&
		    (e = registry_auth_param(&chal[i], "error")) != NULL &&
		    strcmp(e, "insufficient_scope") == 0)
			yes = 1;
	}
	free(buf);
	return yes;
}

/*
 * Map a finished response to a status and, when it is not 2xx, a message
 * with the OCI error from its body.
 */
static enum registry_status
registry_check_status(struct registry *reg, const struct registry_req *req,
    const struct registry_resp *resp, struct registry_err *err)
{
	char code[REGISTRY_CODE_MAX], msg[REGISTRY_ERR_MAX / 2];
	char where[256];
	enum registry_status st;

	if (resp->status >= 200 && resp->status < 300)
		return REGISTRY_OK;
	if (resp->status == 401)
		st = registry_insufficient_scope(resp) ? REGISTRY_DENIED
						       : REGISTRY_UNAUTHORIZED;
	else if (resp->status == 403)
		st = REGISTRY_DENIED;
	else if (resp->status == 404)
		st = REGISTRY_NOT_FOUND;
	else if (resp->status == 429 || resp->status >= 500)
		st = REGISTRY_UNAVAILABLE;
	else if (resp->status == 405)
		st = REGISTRY_UNSUPPORTED;
	else
		st = REGISTRY_PROTOCOL;
	registry_url_for_msg(reg, req->url, where, sizeof(where));
	if (resp->body != NULL &&
	    registry_error_parse((const char *)resp->body, resp->len, code,
		sizeof(code), msg, sizeof(msg)) == 0) {
		registry_errf(err, "%s %s: HTTP %ld %s", req->method, where,
		    resp->status, msg);
		if (err != NULL)
			snprintf(
			    err->oci_code, sizeof(err->oci_code), "%s", code);
	} else {
		registry_errf(
		    err, "%s %s: HTTP %ld", req->method, where, resp->status);
	}
	if (err != NULL && st == REGISTRY_UNAUTHORIZED) {
		size_t n = strlen(err->msg);

		snprintf(err->msg + n, sizeof(err->msg) - n, " (%s%s)",
		    reg->cred != NULL ? "credentials from " : "anonymous",
		    reg->cred == NULL		    ? ""
			: reg->cred->source != NULL ? reg->cred->source
						    : "the caller");
	}
	if (err != NULL)
		err->http_status = (int)resp->status;
	return st;
}

int
registry_error_parse(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	json_t *root = NULL, *errs, *e0, *v;
	const char *c, *m = NULL;
	char *detail = NULL, *p;
	size_t nerr;
	int rc = -1;

	if (codelen > 0)
		code[0] = '\0';
	if (msglen > 0)
		msg[0] = '\0';
	if (len > REGISTRY_ERROR_BODY_MAX)
		goto out;
	if ((root = json_loadb(body, len, 0, NULL)) == NULL)
		goto out;
	errs = json_object_get(root, "errors");
	if (!json_is_array(errs) || (nerr = json_array_size(errs)) == 0)
		goto out;
	e0 = json_array_get(errs, 0);
	if (!json_is_string(v = json_object_get(e0, "code")))
		goto out;
	c = json_string_value(v);
	if (json_is_string(v = json_object_get(e0, "message")))
		m = json_string_value(v);
	v = json_object_get(e0, "detail");
	if (json_is_string(v)) {
		if (json_string_length(v) > 0)
			detail = strdup(json_string_value(v));
	} else if (v != NULL && !json_is_null(v)) {
		detail = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	if (codelen > 0)
		snprintf(code, codelen, "%s", c);
	if (msglen > 0) {
		int n;

		n = snprintf(msg, msglen, "%s%s%s", c, m != NULL ? ": " : "",
		    m != NULL ? m : "");
		if (n >= 0 && (size_t)n < msglen && detail != NULL)
			n += snprintf(
			    msg + n, msglen - (size_t)n, " (%.200s)", detail);
		if (n >= 0 && (size_t)n < msglen && nerr > 1)
			snprintf(msg + n, msglen - (size_t)n, " (+%zu more)",
			    nerr - 1);
		for (p = msg; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		}
	}
	for (p = code; codelen > 0 && *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	rc = 0;
out:
	free(detail);
	json_decref(root);
	return rc;
}

/*
 * Fetch a Bearer token for req's scope from the challenge's realm and
 * cache it. chal_scope is the challenge's own scope param (may be NULL;
 * several scopes separated by spaces). Returns the token (borrowed from
 * the cache) or NULL with a status in *st and a message in err.
 */
static const char *
registry_token_fetch(struct registry *reg, const struct registry_req *req,
    const char *chal_scope, enum registry_status *st, struct registry_err *err)
{
	const char *scopes[REGISTRY_SCOPES_MAX];
	struct registry_resp resp;
	struct registry_req treq;
	char where[256], code[REGISTRY_CODE_MAX], msg[REGISTRY_ERR_MAX / 2];
	char *scopebuf = NULL, *url = NULL, *tok = NULL, *s, *save = NULL;
	const char *ret = NULL;
	size_t n = 0;
	long exp = 0;

	memset(&resp, 0, sizeof(resp));
	*st = REGISTRY_NOMEM;
	snprintf(where, sizeof(where), "token server %.*s",
	    (int)strcspn(reg->realm, "?#"), reg->realm);
	if (!reg->insecure && strncasecmp(reg->realm, "https://", 8) != 0) {
		*st = REGISTRY_INSECURE;
		registry_errf(err,
		    "%s: token realm is not https; refusing to use it "
		    "(only with insecure)",
		    where);
		goto out;
	}
	if (chal_scope != NULL) {
		if ((scopebuf = strdup(chal_scope)) == NULL)
			goto nomem;
		for (s = strtok_r(scopebuf, " ", &save);
		     s != NULL && n < REGISTRY_SCOPES_MAX - 1;
		     s = strtok_r(NULL, " ", &save))
			scopes[n++] = s;
	}
	if (req->scope != NULL)
		scopes[n++] = req->scope;
	url = registry_auth_token_url(reg->realm, reg->service, scopes, n);
	if (url == NULL) {
		*st = REGISTRY_PROTOCOL;
		registry_errf(
		    err, "%s: cannot build a token URL from the realm", where);
		goto out;
	}
	memset(&treq, 0, sizeof(treq));
	treq.method = "GET";
	treq.url = url;
	treq.accept = "application/json";
	treq.max = REGISTRY_TOKEN_BODY_MAX;
	/* Basic credentials to the realm when we have them; never sent in
	   clear without insecure (the protocol list forbids http). */
	*st = registry_perform(reg, &treq, NULL, reg->cred != NULL, &resp, err);
	if (*st != REGISTRY_OK) {
		if (err != NULL) {
			char tail[REGISTRY_ERR_MAX];

			snprintf(tail, sizeof(tail), "%s", err->msg);
			registry_errf(err, "token server: %s", tail);
		}
		goto out;
	}
	if (resp.status != 200) {
		*st = resp.status == 401 ? REGISTRY_UNAUTHORIZED
		    : resp.status == 403 ? REGISTRY_DENIED
		    : resp.status == 429 || resp.status >= 500
		    ? REGISTRY_UNAVAILABLE
		    : REGISTRY_PROTOCOL;
		if (resp.body != NULL &&
		    registry_error_parse((const char *)resp.body, resp.len,
			code, sizeof(code), msg, sizeof(msg)) == 0)
			registry_errf(err, "%s: HTTP %ld %s%s%s", where,
			    resp.status, msg,
			    reg->cred != NULL ? "; credentials from " : "",
			    reg->cred != NULL && reg->cred->source != NULL
				? reg->cred->source
				: "");
		else
			registry_errf(err, "%s: HTTP %ld%s%s", where,
			    resp.status,
			    reg->cred != NULL ? "; credentials from " : "",
			    reg->cred != NULL && reg->cred->source != NULL
				? reg->cred->source
				: "");
		goto out;
	}
	if (resp.body == NULL ||
	    registry_auth_token_parse(
		(const char *)resp.body, resp.len, &tok, &exp) == -1) {
		*st = REGISTRY_PROTOCOL;
		registry_errf(err,
		    "%s: reply is not {\"token\": \"...\"} with a token of "
		    "visible ASCII",
		    where);
		goto out;
	}
	if ((ret = registry_tok_put(reg, req->scope, tok, exp)) == NULL)
		goto nomem;
	tok = NULL;
	*st = REGISTRY_OK;
	goto out;
nomem:
	*st = REGISTRY_NOMEM;
	registry_errf(err, "%s: out of memory", where);
out:
	if (resp.body != NULL)
		OPENSSL_cleanse(resp.body, resp.len);
	registry_resp_clear(&resp);
	registry_wipe_str(tok);
	free(scopebuf);
	free(url);
	return ret;
}

/*
 * A 401 arrived for req: read its challenge and prepare what the retry
 * sends (reg->basic, or a Bearer token in *bearer). REGISTRY_OK to retry.
 */
static enum registry_status
registry_challenge(struct registry *reg, const struct registry_req *req,
    const struct registry_resp *resp, const char **bearer,
    struct registry_err *err)
{
	struct registry_auth_chal chal[REGISTRY_AUTH_CHAL_MAX];
	const struct registry_auth_chal *basic = NULL, *bear = NULL;
	enum registry_status st = REGISTRY_UNAUTHORIZED;
	const char *realm, *service;
	char where[256], *buf = NULL;
	size_t n = 0, i;

	*bearer = NULL;
	registry_url_for_msg(reg, req->url, where, sizeof(where));
	if (resp->www_auth == NULL) {
		registry_errf(err, "%s %s: HTTP 401 without WWW-Authenticate",
		    req->method, where);
		goto out;
	}
	if ((buf = strdup(resp->www_auth)) == NULL) {
		st = REGISTRY_NOMEM;
		goto out;
	}
	/* Use what parsed before a syntax error, if anything. */
	(void)registry_auth_parse(buf, chal, REGISTRY_AUTH_CHAL_MAX, &n);
	for (i = 0; i < n; i++) {
		if (bear == NULL && strcasecmp(chal[i].scheme, "Bearer") == 0)
			bear = &chal[i];
		if (basic == NULL && strcasecmp(chal[i].scheme, "Basic") == 0)
			basic = &chal[i];
	}
	if (bear != NULL) {
		realm = registry_auth_param(bear, "realm");
		service = registry_auth_param(bear, "service");
		if (realm == NULL || realm[0] == '\0') {
			st = REGISTRY_PROTOCOL;
			registry_errf(err,
			    "%s %s: Bearer challenge without a realm",
			    req->method, where);
			goto out;
		}
		free(reg->realm);
		free(reg->service);
		reg->service = NULL;
		if ((reg->realm = strdup(realm)) == NULL ||
		    (service != NULL &&
			(reg->service = strdup(service)) == NULL)) {
			st = REGISTRY_NOMEM;
			goto out;
		}
		*bearer = registry_token_fetch(
		    reg, req, registry_auth_param(bear, "scope"), &st, err);
		goto out;
	}
	if (basic != NULL) {
		if (reg->cred == NULL) {
			registry_errf(err,
			    "%s %s: HTTP 401: the registry wants Basic "
			    "credentials and none were given",
			    req->method, where);
			goto out;
		}
		if (reg->basic) {
			/* We sent them already: refused. */
			registry_errf(err,
			    "%s %s: HTTP 401: credentials from %s refused",
			    req->method, where,
			    reg->cred->source != NULL ? reg->cred->source
						      : "the caller");
			goto out;
		}
		reg->basic = 1;
		st = REGISTRY_OK;
		goto out;
	}
	registry_errf(err,
	    "%s %s: HTTP 401 with no Basic or Bearer challenge we can answer",
	    req->method, where);
out:
	if (st == REGISTRY_NOMEM)
		registry_errf(err, "%s %s: out of memory", req->method, where);
	free(buf);
	return st;
}

/*
 * Perform req with the authorization we hold, answering one 401
 * challenge. On REGISTRY_OK resp holds the final response, whatever its
 * status (the caller maps it); otherwise resp may hold a partial one.
 */
static enum registry_status
registry_do(struct registry *reg, const struct registry_req *req,
    struct registry_resp *resp, struct registry_err *err)
{
	enum registry_status st;
	const char *bearer = NULL;
	int ours, tries;

	/* Authorization goes only to the registry's own origin. */
	ours = registry_url_same_origin(req->url, reg->base);
	if (ours) {
		bearer = registry_tok_get(reg, req->scope);
		if (bearer == NULL && reg->realm != NULL && !reg->basic) {
			/* We know the realm: fetch up front, saving a 401
			   round trip (and a resent body). */
			bearer = registry_token_fetch(reg, req, NULL, &st, err);
			if (bearer == NULL)
				return st;
		}
	}
	for (tries = 0;; tries++) {
		registry_resp_clear(resp);
		st = registry_perform(reg, req, ours ? bearer : NULL,
		    ours && reg->basic, resp, err);
		if (st != REGISTRY_OK || resp->status != 401 || !ours ||
		    tries > 0)
			return st;
		st = registry_challenge(reg, req, resp, &bearer, err);
		if (st != REGISTRY_OK)
			return st;
	}
}

/* ----------------------------------------------------------- operations */

static char *
registry_url(const struct registry *reg, const char *repo, const char *kind,
    const char *ref)
{
	size_t len;
	char *u;

	len = strlen(reg->base) + strlen("/v2/") + strlen(repo) + 1 +
	    strlen(kind) + 1 + strlen(ref) + 1;
	if (len > REGISTRY_URL_MAX || (u = malloc(len)) == NULL)
		return NULL;
	snprintf(u, len, "%s/v2/%s/%s/%s", reg->base, repo, kind, ref);
	return u;
}

static char *
registry_scope(const char *repo, const char *actions)
{
	size_t len =
	    strlen("repository:") + strlen(repo) + 1 + strlen(actions) + 1;
	char *s;

	if ((s = malloc(len)) != NULL)
		snprintf(s, len, "repository:%s:%s", repo, actions);
	return s;
}

/* A header value we put on the wire: 1..255 visible ASCII and spaces. */
static int
registry_hdr_value_ok(const char *s, size_t max)
{
	size_t i, len;

	if (s == NULL || (len = strlen(s)) == 0 || len >= max)
		return 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Common checks and URL for an operation on repo/kind/ref. Returns
 * REGISTRY_OK with *url and *scope set (free() both).
 */
static enum registry_status
registry_prepare(struct registry *reg, const char *op, const char *repo,
    const char *kind, const char *ref, int ref_digest_only, const char *actions,
    char **url, char **scope, struct registry_err *err)
{
	*url = NULL;
	*scope = NULL;
	if (reg == NULL || !registry_repo_valid(repo)) {
		registry_errf(err, "%s: invalid repository name", op);
		return REGISTRY_INVALID;
	}
	if (ref != NULL && !registry_digest_valid(ref) &&
	    (ref_digest_only || !registry_tag_valid(ref))) {
		registry_errf(err, "%s %s: invalid %s", op, repo,
		    ref_digest_only ? "digest" : "tag or digest");
		return REGISTRY_INVALID;
	}
	if ((*url = registry_url(reg, repo, kind, ref != NULL ? ref : "")) ==
		NULL ||
	    (*scope = registry_scope(repo, actions)) == NULL) {
		free(*url);
		*url = NULL;
		registry_errf(
		    err, "%s %s: out of memory or URL too long", op, repo);
		return REGISTRY_NOMEM;
	}
	return REGISTRY_OK;
}

enum registry_status
registry_check(struct registry *reg, struct registry_err *err)
{
	struct registry_resp resp;
	struct registry_req req;
	enum registry_status st;
	char *url = NULL;
	size_t len;

	registry_err_clear(err);
	memset(&resp, 0, sizeof(resp));
	len = strlen(reg->base) + sizeof("/v2/");
	if ((url = malloc(len)) == NULL) {
		st = REGISTRY_NOMEM;
		goto out;
	}
	snprintf(url, len, "%s/v2/", reg->base);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.max = REGISTRY_ERROR_BODY_MAX;
	if ((st = registry_do(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	st = registry_check_status(reg, &req, &resp, err);
out:
	registry_resp_clear(&resp);
	free(url);
	return st;
}

enum registry_status
registry_request(struct registry *reg, const char *method, const char *path,
    const char *scope, const char *accept, size_t max, struct registry_raw *out,
    struct registry_err *err)
{
	struct registry_resp resp;
	struct registry_req req;
	enum registry_status st;
	char *url = NULL;
	size_t len;

	memset(out, 0, sizeof(*out));
	registry_err_clear(err);
	memset(&resp, 0, sizeof(resp));
	len = strlen(reg->base) + strlen(path) + 1;
	if (path[0] != '/' || len > REGISTRY_URL_MAX ||
	    (url = malloc(len)) == NULL) {
		registry_errf(err, "%s %s: bad path or out of memory", method,
		    path[0] == '/' ? "(path)" : "");
		st = REGISTRY_INVALID;
		goto out;
	}
	memcpy(url, reg->base, strlen(reg->base));
	memcpy(url + strlen(reg->base), path, strlen(path) + 1);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.scope = scope;
	req.accept = accept;
	req.max = strcmp(method, "HEAD") == 0 ? 0 : max;
	if ((st = registry_do(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	out->status = resp.status;
	if ((st = registry_check_status(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	snprintf(out->dgst, sizeof(out->dgst), "%s", resp.dgst);
	out->body = resp.body;
	out->len = resp.len;
	out->link = resp.link;
	resp.body = NULL;
	resp.link = NULL;
out:
	registry_resp_clear(&resp);
	free(url);
	return st;
}

void
registry_raw_clear(struct registry_raw *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->link);
	memset(r, 0, sizeof(*r));
}

void
registry_mfst_clear(struct registry_mfst *m)
{
	if (m == NULL)
		return;
	free(m->body);
	memset(m, 0, sizeof(*m));
}

enum registry_status
registry_manifest_get(struct registry *reg, const char *repo, const char *ref,
    const char *accept, struct registry_mfst *out, struct registry_err *err)
{
	struct registry_resp resp;
	struct registry_req req;
	enum registry_status st;
	char *url = NULL, *scope = NULL, where[256];
	char want[REGISTRY_DIGEST_MAX];

	memset(out, 0, sizeof(*out));
	registry_err_clear(err);
	memset(&resp, 0, sizeof(resp));
	if (accept != NULL && !registry_hdr_value_ok(accept, 1024)) {
		registry_errf(err, "GET manifest: invalid Accept value");
		st = REGISTRY_INVALID;
		goto out;
	}
	st = registry_prepare(reg, "GET manifest", repo, "manifests", ref, 0,
	    "pull", &url, &scope, err);
	if (st != REGISTRY_OK)
		goto out;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.scope = scope;
	req.accept = accept != NULL ? accept : REGISTRY_ACCEPT_MANIFESTS;
	req.max = reg->manifest_max;
	if ((st = registry_do(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	if ((st = registry_check_status(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	registry_url_for_msg(reg, url, where, sizeof(where));
	if (resp.status != 200) {
		st = REGISTRY_PROTOCOL;
		registry_errf(
		    err, "GET %s: HTTP %ld, expected 200", where, resp.status);
		goto out;
	}
	if (registry_digest(NULL, resp.body != NULL ? resp.body : (void *)"",
		resp.len, out->dgst) == -1) {
		st = REGISTRY_NOMEM;
		registry_errf(err, "GET %s: sha256 failed", where);
		goto out;
	}
	if (registry_digest_valid(ref)) {
		if (registry_digest(ref,
			resp.body != NULL ? resp.body : (void *)"", resp.len,
			want) == -1 ||
		    strcmp(want, ref) != 0) {
			st = REGISTRY_DIGEST_MISMATCH;
			registry_errf(err,
			    "GET %s: the manifest served hashes to %s", where,
			    want);
			goto out;
		}
	}
	if (resp.dgst[0] != '\0') {
		snprintf(out->hdr_dgst, sizeof(out->hdr_dgst), "%s", resp.dgst);
		if (registry_digest(resp.dgst,
			resp.body != NULL ? resp.body : (void *)"", resp.len,
			want) == -1 ||
		    strcmp(want, resp.dgst) != 0)
			out->hdr_mismatch = 1;
	}
	snprintf(out->media_type, sizeof(out->media_type), "%s", resp.ctype);
	if (resp.body == NULL) {
		if ((resp.body = calloc(1, 1)) == NULL) {
			st = REGISTRY_NOMEM;
			goto out;
		}
	}
	out->body = resp.body;
	out->len = resp.len;
	resp.body = NULL;
	st = REGISTRY_OK;
out:
	if (st != REGISTRY_OK)
		memset(out, 0, sizeof(*out));
	registry_resp_clear(&resp);
	free(url);
	free(scope);
	return st;
}

/* HEAD of a manifest or blob. */
static enum registry_status
registry_head(struct registry *reg, const char *op, const char *repo,
    const char *kind, const char *ref, int digest_only, const char *accept,
    struct registry_desc *out, struct registry_err *err)
{
	struct registry_resp resp;
	struct registry_req req;
	enum registry_status st;
	char *url = NULL, *scope = NULL;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	registry_err_clear(err);
	memset(&resp, 0, sizeof(resp));
	if (accept != NULL && !registry_hdr_value_ok(accept, 1024)) {
		registry_errf(err, "%s: invalid Accept value", op);
		st = REGISTRY_INVALID;
		goto out;
	}
	st = registry_prepare(
	    reg, op, repo, kind, ref, digest_only, "pull", &url, &scope, err);
	if (st != REGISTRY_OK)
		goto out;
	memset(&req, 0, sizeof(req));
	req.method = "HEAD";
	req.url = url;
	req.scope = scope;
	req.accept = accept;
	req.follow = digest_only; /* blobs: storage redirects */
	if ((st = registry_do(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	if ((st = registry_check_status(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	if (out != NULL) {
		snprintf(
		    out->media_type, sizeof(out->media_type), "%s", resp.ctype);
		snprintf(out->dgst, sizeof(out->dgst), "%s", resp.dgst);
		out->size = resp.clen;
		out->has_size = resp.has_clen;
	}
out:
	registry_resp_clear(&resp);
	free(url);
	free(scope);
	return st;
}

enum registry_status
registry_manifest_head(struct registry *reg, const char *repo, const char *ref,
    const char *accept, struct registry_desc *out, struct registry_err *err)
{
	return registry_head(reg, "HEAD manifest", repo, "manifests", ref, 0,
	    accept != NULL ? accept : REGISTRY_ACCEPT_MANIFESTS, out, err);
}

enum registry_status
registry_blob_head(struct registry *reg, const char *repo, const char *dgst,
    struct registry_desc *out, struct registry_err *err)
{
	return registry_head(
	    reg, "HEAD blob", repo, "blobs", dgst, 1, NULL, out, err);
}

enum registry_status
registry_manifest_put(struct registry *reg, const char *repo, const char *ref,
    const char *media_type, const void *body, size_t len,
    char dgst_out[REGISTRY_DIGEST_MAX], struct registry_err *err)
{
	struct registry_resp resp;
	struct registry_req req;
	enum registry_status st;
	char *url = NULL, *scope = NULL, where[256];
	char mine[REGISTRY_DIGEST_MAX];

	if (dgst_out != NULL)
		dgst_out[0] = '\0';
	registry_err_clear(err);
	memset(&resp, 0, sizeof(resp));
	if (!registry_hdr_value_ok(media_type, REGISTRY_MEDIA_TYPE_MAX) ||
	    body == NULL || len == 0) {
		registry_errf(
		    err, "PUT manifest: a media type and a body are required");
		st = REGISTRY_INVALID;
		goto out;
	}
	st = registry_prepare(reg, "PUT manifest", repo, "manifests", ref, 0,
	    "pull,push", &url, &scope, err);
	if (st != REGISTRY_OK)
		goto out;
	registry_url_for_msg(reg, url, where, sizeof(where));
	if (registry_digest(NULL, body, len, mine) == -1) {
		st = REGISTRY_NOMEM;
		registry_errf(err, "PUT %s: sha256 failed", where);
		goto out;
	}
	if (registry_digest_valid(ref) && strncmp(ref, "sha256:", 7) == 0 &&
	    strcmp(ref, mine) != 0) {
		st = REGISTRY_DIGEST_MISMATCH;
		registry_errf(
		    err, "PUT %s: the body hashes to %s", where, mine);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.url = url;
	req.scope = scope;
	req.content_type = media_type;
	req.body = body;
	req.body_len = len;
	req.max = REGISTRY_ERROR_BODY_MAX;
	if ((st = registry_do(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	if ((st = registry_check_status(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	if (dgst_out != NULL)
		snprintf(dgst_out, REGISTRY_DIGEST_MAX, "%s",
		    resp.dgst[0] != '\0' ? resp.dgst : mine);
	if (resp.dgst[0] != '\0' && strncmp(resp.dgst, "sha256:", 7) == 0 &&
	    strcmp(resp.dgst, mine) != 0) {
		st = REGISTRY_DIGEST_MISMATCH;
		registry_errf(err,
		    "PUT %s: the registry says %s, the body hashes to %s",
		    where, resp.dgst, mine);
		goto out;
	}
	st = REGISTRY_OK;
out:
	registry_resp_clear(&resp);
	free(url);
	free(scope);
	return st;
}

enum registry_status
registry_blob_get(struct registry *reg, const char *repo, const char *dgst,
    size_t max, unsigned char **out, size_t *outlen, struct registry_err *err)
{
	struct registry_resp resp;
	struct registry_req req;
	enum registry_status st;
	char *url = NULL, *scope = NULL, where[256];
	char got[REGISTRY_DIGEST_MAX];

	*out = NULL;
	*outlen = 0;
	registry_err_clear(err);
	memset(&resp, 0, sizeof(resp));
	if (max == 0 || max >= SIZE_MAX / 2) {
		registry_errf(err, "GET blob: a size cap is required");
		st = REGISTRY_INVALID;
		goto out;
	}
	st = registry_prepare(
	    reg, "GET blob", repo, "blobs", dgst, 1, "pull", &url, &scope, err);
	if (st != REGISTRY_OK)
		goto out;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.scope = scope;
	req.max = max;
	req.follow = 1;
	if ((st = registry_do(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	if ((st = registry_check_status(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	registry_url_for_msg(reg, url, where, sizeof(where));
	if (resp.status != 200) {
		st = REGISTRY_PROTOCOL;
		registry_errf(
		    err, "GET %s: HTTP %ld, expected 200", where, resp.status);
		goto out;
	}
	if (resp.body == NULL && (resp.body = calloc(1, 1)) == NULL) {
		st = REGISTRY_NOMEM;
		goto out;
	}
	if (registry_digest(dgst, resp.body, resp.len, got) == -1 ||
	    strcmp(got, dgst) != 0) {
		st = REGISTRY_DIGEST_MISMATCH;
		registry_errf(
		    err, "GET %s: the blob served hashes to %s", where, got);
		goto out;
	}
	*out = resp.body;
	*outlen = resp.len;
	resp.body = NULL;
	st = REGISTRY_OK;
out:
	registry_resp_clear(&resp);
	free(url);
	free(scope);
	return st;
}

enum registry_status
registry_blob_put(struct registry *reg, const char *repo, const void *data,
    size_t len, char dgst_out[REGISTRY_DIGEST_MAX], int *skipped,
    struct registry_err *err)
{
	struct registry_resp resp;
	struct registry_req req;
	enum registry_status st;
	char *url = NULL, *scope = NULL, *loc = NULL, *put = NULL;
	char dgst[REGISTRY_DIGEST_MAX], where[256];

	if (dgst_out != NULL)
		dgst_out[0] = '\0';
	if (skipped != NULL)
		*skipped = 0;
	registry_err_clear(err);
	memset(&resp, 0, sizeof(resp));
	if (data == NULL && len > 0) {
		registry_errf(err, "upload blob: no data");
		st = REGISTRY_INVALID;
		goto out;
	}
	if (registry_digest(NULL, data != NULL ? data : (const void *)"", len,
		dgst) == -1) {
		registry_errf(err, "upload blob: sha256 failed");
		st = REGISTRY_NOMEM;
		goto out;
	}
	/* Cheap existence check first; the same scope keeps one token. */
	st = registry_prepare(reg, "upload blob", repo, "blobs", dgst, 1,
	    "pull,push", &url, &scope, err);
	if (st != REGISTRY_OK)
		goto out;
	memset(&req, 0, sizeof(req));
	req.method = "HEAD";
	req.url = url;
	req.scope = scope;
	req.follow = 1;
	if ((st = registry_do(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	if (resp.status == 200) {
		if (skipped != NULL)
			*skipped = 1;
		goto done;
	}
	if (resp.status != 404) {
		st = registry_check_status(reg, &req, &resp, err);
		if (st == REGISTRY_OK) {
			st = REGISTRY_PROTOCOL;
			registry_errf(
			    err, "HEAD blob %s: HTTP %ld", dgst, resp.status);
		}
		goto out;
	}

	/* POST /v2/<repo>/blobs/uploads/ */
	free(url);
	if ((url = registry_url(reg, repo, "blobs", "uploads/")) == NULL) {
		st = REGISTRY_NOMEM;
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.scope = scope;
	req.max = REGISTRY_ERROR_BODY_MAX;
	if ((st = registry_do(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	if ((st = registry_check_status(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	registry_url_for_msg(reg, url, where, sizeof(where));
	if (resp.status != 202 || resp.location == NULL) {
		st = REGISTRY_PROTOCOL;
		registry_errf(err,
		    "POST %s: HTTP %ld%s, expected 202 with a "
		    "Location",
		    where, resp.status,
		    resp.location == NULL ? " without Location" : "");
		goto out;
	}
	if ((loc = registry_url_resolve(url, resp.location)) == NULL) {
		st = REGISTRY_PROTOCOL;
		registry_errf(err, "POST %s: unusable Location", where);
		goto out;
	}
	if (!reg->insecure && strncasecmp(loc, "https://", 8) != 0) {
		st = REGISTRY_INSECURE;
		registry_errf(err,
		    "POST %s: upload Location is plain http (not insecure)",
		    where);
		goto out;
	}

	/* PUT <location>&digest=<dgst> with the bytes. */
	if ((put = registry_url_add_query(loc, "digest", dgst)) == NULL) {
		st = REGISTRY_NOMEM;
		registry_errf(err, "POST %s: upload URL too long", where);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.url = put;
	req.scope = scope;
	req.content_type = "application/octet-stream";
	req.body = data;
	req.body_len = len;
	req.max = REGISTRY_ERROR_BODY_MAX;
	if ((st = registry_do(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	if ((st = registry_check_status(reg, &req, &resp, err)) != REGISTRY_OK)
		goto out;
	registry_url_for_msg(reg, put, where, sizeof(where));
	if (resp.status != 201) {
		st = REGISTRY_PROTOCOL;
		registry_errf(
		    err, "PUT %s: HTTP %ld, expected 201", where, resp.status);
		goto out;
	}
	if (resp.dgst[0] != '\0' && strcmp(resp.dgst, dgst) != 0) {
		st = REGISTRY_DIGEST_MISMATCH;
		registry_errf(err, "PUT %s: the registry says %s, we sent %s",
		    where, resp.dgst, dgst);
		goto out;
	}
done:
	if (dgst_out != NULL)
		snprintf(dgst_out, REGISTRY_DIGEST_MAX, "%s", dgst);
	st = REGISTRY_OK;
out:
	registry_resp_clear(&resp);
	free(url);
	free(scope);
	free(loc);
	free(put);
	return st;
}
