/*
 * registry: a small OCI Distribution API client over libcurl, for
 * regward-sign (and later the purge job). libcurl appears only here.
 *
 * A client talks to one registry (host[:port]) with one set of credentials
 * and handles the auth dance itself: on a 401 it reads WWW-Authenticate and
 * either sends Basic credentials or fetches a Bearer token from the realm
 * (one token cached per scope string), then retries once. Credentials go
 * only to the registry's own origin and to its token realm, and never over
 * plain http unless `insecure` was requested. Every response body is capped.
 * Messages name the request path, the HTTP status and the registry's OCI
 * error code and message; they never contain credentials or tokens.
 *
 * A struct registry is not thread-safe: use one per thread.
 *
 * Files: registry.c (client and operations), registry_auth.c (challenges,
 * tokens), registry_cred.c (credential sources), registry_url.c (URLs).
 */
#ifndef REGWARD_REGISTRY_H
#define REGWARD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REGISTRY_MANIFEST_MAX (4 * 1024 * 1024) /* default manifest cap */
#define REGISTRY_TOKEN_BODY_MAX (64 * 1024) /* token server reply cap */
#define REGISTRY_ERROR_BODY_MAX (64 * 1024) /* error body kept for parse */
#define REGISTRY_URL_MAX 8192 /* any URL we build or follow */
#define REGISTRY_PASSWORD_MAX (64 * 1024) /* password / ID token */
#define REGISTRY_DIGEST_MAX 160 /* "sha512:" + 128 hex + NUL, with room */
#define REGISTRY_MEDIA_TYPE_MAX 256 /* Content-Type without parameters */
#define REGISTRY_CODE_MAX 64 /* OCI error code, e.g. "MANIFEST_UNKNOWN" */
#define REGISTRY_ERR_MAX 512 /* one-line message */
#define REGISTRY_AUTH_CHAL_MAX 8 /* challenges kept from WWW-Authenticate */
#define REGISTRY_AUTH_PARAM_MAX 16 /* auth-params kept per challenge */

/* Accept list sent with manifest GET/HEAD when the caller gives none. */
#define REGISTRY_ACCEPT_MANIFESTS                                              \
	"application/vnd.oci.image.manifest.v1+json, "                         \
	"application/vnd.oci.image.index.v1+json, "                            \
	"application/vnd.docker.distribution.manifest.v2+json, "               \
	"application/vnd.docker.distribution.manifest.list.v2+json"

enum registry_status {
	REGISTRY_OK = 0,
	/* 404; err->oci_code has MANIFEST_UNKNOWN, BLOB_UNKNOWN, ... if sent */
	REGISTRY_NOT_FOUND,
	/* 401 with the credentials we have, or the token server refused */
	REGISTRY_UNAUTHORIZED,
	/* 403, or 401 with error="insufficient_scope" (token lacks the action)
	 */
	REGISTRY_DENIED,
	/* DNS, connect, TLS, timeout, reset */
	REGISTRY_NETWORK,
	/* unexpected status or malformed reply */
	REGISTRY_PROTOCOL,
	/* a body exceeded its cap */
	REGISTRY_TOO_LARGE,
	/* content does not hash to the digest requested, or the registry
	   named another digest than that of the bytes we sent */
	REGISTRY_DIGEST_MISMATCH,
	/* 429 or 5xx */
	REGISTRY_UNAVAILABLE,
	/* bad argument: repo, ref, digest, host */
	REGISTRY_INVALID,
	/* refused to send credentials over plain http (token realm or
	   Location downgraded from https, without `insecure`) */
	REGISTRY_INSECURE,
	REGISTRY_NOMEM,
	/* 405: the registry does not allow the method (e.g. deletes off) */
	REGISTRY_UNSUPPORTED,
};

/*
 * What went wrong, filled by every operation (cleared on entry; every
 * operation accepts NULL). msg is one line, e.g.
 *   GET /v2/app/manifests/v1: HTTP 404 MANIFEST_UNKNOWN: manifest unknown
 *   token server https://auth.example.com/token: HTTP 401: ...
 *   PUT /v2/app/blobs/uploads/3f2c...: Failed to connect to ... refused
 * The query string of a URL is never included.
 */
struct registry_err {
	int http_status; /* last HTTP status, 0 if none */
	char oci_code[REGISTRY_CODE_MAX]; /* errors[0].code, "" if none */
	char msg[REGISTRY_ERR_MAX]; /* "" on success */
};

/* Short lower-case name of st: "ok", "not_found", "unauthorized", ... */
const char *registry_status_str(enum registry_status st);

/* ------------------------------------------------------------ credentials */

/*
 * Credentials for one registry. password is a password, or an identity
 * token (docker's "identitytoken", an OIDC ID token) sent as the password;
 * username is then the config's user name or "<token>". Both are wiped by
 * registry_cred_free(). source names where they came from, for messages
 * ("REGWARD_USERNAME", "/home/ci/.docker/config.json", "stdin"); never the
 * secret itself.
 */
struct registry_cred {
	char *username;
	char *password;
	int identity_token; /* 1 when password came from "identitytoken" */
	char *source;
};

/*
 * New credentials from copies of username and password (both required,
 * non-empty, no control bytes in username; the password may not contain
 * CR or LF). source may be NULL. Free with registry_cred_free(). NULL on
 * invalid input or allocation failure.
 */
struct registry_cred *registry_cred_new(
    const char *username, const char *password, const char *source);

/* Deep copy (free with registry_cred_free()); NULL in, NULL out. */
struct registry_cred *registry_cred_dup(const struct registry_cred *c);

/* Wipe (OPENSSL_cleanse) and free. registry_cred_free(NULL) is a no-op. */
void registry_cred_free(struct registry_cred *c);

/*
 * Credentials from REGWARD_USERNAME / REGWARD_PASSWORD. Returns 0 with
 * *out set (free with registry_cred_free()), or 0 with *out NULL when
 * neither is set; -1 with a message in err when only one is set or a value
 * is invalid. *out is cleared on entry.
 */
int registry_cred_from_env(
    struct registry_cred **out, char *err, size_t errlen);

/*
 * Credentials for host (as in an image reference: "host[:port]") from
 * docker's config.json: $DOCKER_CONFIG/config.json, else
 * $HOME/.docker/config.json. Looks in "auths" as docker does: the exact
 * key first, then any key whose host part (after stripping "http://" or
 * "https://" and anything from the first '/') equals host, case-
 * insensitively; docker.io, index.docker.io and registry-1.docker.io also
 * match "https://index.docker.io/v1/". An entry's "auth" is base64
 * "user:pass" (or legacy "username"/"password" fields); "identitytoken",
 * when present, becomes the password with identity_token set.
 *
 * Returns 0 with *out set, or 0 with *out NULL when the file does not exist
 * or has no entry for host (anonymous); -1 with a message in err when the
 * file cannot be read or parsed, an entry is malformed, or the credentials
 * live in a credential helper: "credHelpers" names one for host, or
 * "credsStore" is set and host's "auths" entry holds no inline credentials
 * (what `docker login` writes with a store). Helpers are not run; the
 * message says so and names REGWARD_USERNAME/REGWARD_PASSWORD and
 * --password-stdin instead.
 * *out is cleared on entry. The file may be at most 1 MiB.
 */
int registry_cred_from_docker_config(
    const char *host, struct registry_cred **out, char *err, size_t errlen);

/*
 * The same lookup over a config.json text in memory; name is the file
 * name used as source and in messages. Pure: for tests.
 */
int registry_cred_from_docker_json(const char *name, const char *text,
    size_t len, const char *host, struct registry_cred **out, char *err,
    size_t errlen);

/*
 * --password-stdin: read one line (at most REGISTRY_PASSWORD_MAX bytes)
 * from fp, strip one trailing "\n" and then one "\r", and pair it with
 * username (required). An empty password is an error. The bytes read are
 * wiped from our buffers. Returns 0 with *out set (free with
 * registry_cred_free()), or -1 with a message in err. *out is cleared on
 * entry. fp is borrowed and not closed.
 */
int registry_cred_from_file(FILE *fp, const char *username,
    struct registry_cred **out, char *err, size_t errlen);

/*
 * The usual order for a CLI without --password-stdin: environment, then
 * docker's config.json for host. Same return convention as above;
 * anonymous when both give nothing (*out NULL, 0 returned).
 */
int registry_cred_default(
    const char *host, struct registry_cred **out, char *err, size_t errlen);

/* ----------------------------------------------------------------- client */

struct registry;

struct registry_opts {
	const char *host; /* "host[:port]" or "[v6]:port", required;
			     "docker.io" means registry-1.docker.io */
	int insecure; /* 1: plain http:// (and http token realms) */
	const char *ca_cert; /* https: PEM CA bundle path, NULL = system */
	const struct registry_cred *cred; /* copied; NULL = anonymous */
	const char *user_agent; /* NULL = "regward-sign/" REGWARD_VERSION */
	long connect_timeout_ms; /* 0 = 10 s */
	long timeout_ms; /* per request, whole transfer; 0 = 120 s */
	size_t manifest_max; /* 0 = REGISTRY_MANIFEST_MAX */
};

/*
 * New client for opts->host. opts and everything it points to are
 * borrowed for this call only (the credentials are copied). Returns the
 * client (free with registry_free()) or NULL with a one-line message in
 * err (bad host, libcurl initialisation failure). No request is made.
 */
struct registry *registry_new(
    const struct registry_opts *opts, char *err, size_t errlen);

/* Free the client, wiping its credentials and cached tokens. NULL: no-op. */
void registry_free(struct registry *reg);

/* Base URL, e.g. "https://registry.example.com:5000"; borrowed from reg. */
const char *registry_base_url(const struct registry *reg);

/*
 * GET /v2/: checks that the registry answers and that our credentials are
 * accepted (a Bearer token without scope is fetched when challenged).
 */
enum registry_status registry_check(
    struct registry *reg, struct registry_err *err);

/*
 * A manifest as fetched. Fill with registry_manifest_get(), release with
 * registry_mfst_clear(). The caller owns the struct; body is owned by it.
 */
struct registry_mfst {
	unsigned char *body; /* exact bytes served (also NUL-terminated) */
	size_t len;
	char media_type[REGISTRY_MEDIA_TYPE_MAX]; /* Content-Type, no params */
	char dgst[REGISTRY_DIGEST_MAX]; /* "sha256:<hex>" of body, ours */
	char hdr_dgst[REGISTRY_DIGEST_MAX]; /* Docker-Content-Digest, "" if
					       absent or malformed */
	int hdr_mismatch; /* 1: hdr_dgst present and not the digest of body
			     (computed with hdr_dgst's algorithm) */
};

/* Free m->body and zero *m. NULL is a no-op. */
void registry_mfst_clear(struct registry_mfst *m);

/*
 * GET /v2/<repo>/manifests/<ref>. ref is a tag or a digest. accept is the
 * Accept header value (NULL = REGISTRY_ACCEPT_MANIFESTS). *out is zeroed on
 * entry (so it must not hold a body; clear it first) and filled on
 * REGISTRY_OK only. When ref is a digest, the body must hash to it
 * (sha256 or sha512), else REGISTRY_DIGEST_MISMATCH. By tag, a
 * Docker-Content-Digest that disagrees only sets out->hdr_mismatch: the
 * caller decides, and must use out->dgst, never hdr_dgst. Bodies over the
 * client's manifest_max give REGISTRY_TOO_LARGE. 404: REGISTRY_NOT_FOUND.
 */
enum registry_status registry_manifest_get(struct registry *reg,
    const char *repo, const char *ref, const char *accept,
    struct registry_mfst *out, struct registry_err *err);

/* What a HEAD tells about a manifest or blob. */
struct registry_desc {
	char media_type[REGISTRY_MEDIA_TYPE_MAX]; /* "" if none */
	char dgst[REGISTRY_DIGEST_MAX]; /* Docker-Content-Digest, "" if none */
	uint64_t size; /* Content-Length */
	int has_size; /* 1 when Content-Length was sent */
};

/*
 * HEAD /v2/<repo>/manifests/<ref>. *out is cleared on entry and filled on
 * REGISTRY_OK. out may be NULL (existence check). 404: REGISTRY_NOT_FOUND
 * (a HEAD has no body, so err->oci_code stays "").
 */
enum registry_status registry_manifest_head(struct registry *reg,
    const char *repo, const char *ref, const char *accept,
    struct registry_desc *out, struct registry_err *err);

/*
 * PUT /v2/<repo>/manifests/<ref> with body[0..len) as media_type (both
 * required; ref a tag or digest). Needs push. On REGISTRY_OK, dgst_out
 * holds the registry's Docker-Content-Digest, or the sha256 we computed
 * when it sent none. If the registry names a sha256 digest that is not
 * the sha256 of body, dgst_out still holds what it said and the result is
 * REGISTRY_DIGEST_MISMATCH. dgst_out is set to "" on entry; may be NULL.
 * body is borrowed for the call.
 */
enum registry_status registry_manifest_put(struct registry *reg,
    const char *repo, const char *ref, const char *media_type, const void *body,
    size_t len, char dgst_out[REGISTRY_DIGEST_MAX], struct registry_err *err);

/*
 * HEAD /v2/<repo>/blobs/<dgst>: REGISTRY_OK when present (size and digest
 * in *out if out is not NULL; cleared on entry), REGISTRY_NOT_FOUND when
 * absent. Redirects are followed (without Authorization to other hosts).
 */
enum registry_status registry_blob_head(struct registry *reg, const char *repo,
    const char *dgst, struct registry_desc *out, struct registry_err *err);

/*
 * GET /v2/<repo>/blobs/<dgst> into memory, at most max bytes (required,
 * > 0; more gives REGISTRY_TOO_LARGE). Redirects to storage are followed;
 * libcurl does not forward our Authorization header to another host. The
 * bytes must hash to dgst (sha256 or sha512), else
 * REGISTRY_DIGEST_MISMATCH. On REGISTRY_OK *out (free() it; NUL-terminated
 * past *outlen) and *outlen are set; both are cleared on entry.
 */
enum registry_status registry_blob_get(struct registry *reg, const char *repo,
    const char *dgst, size_t max, unsigned char **out, size_t *outlen,
    struct registry_err *err);

/*
 * Upload data[0..len) as a blob of repo: computes its sha256, skips the
 * upload when HEAD says the blob is there (*skipped = 1), else POST
 * /v2/<repo>/blobs/uploads/, follows the Location (absolute or relative,
 * keeping its query) and PUTs the bytes with ?digest=; expects 201. Needs
 * pull and push. dgst_out ("sha256:<hex>", set on REGISTRY_OK) and
 * skipped may be NULL; both are cleared on entry. data is borrowed.
 */
enum registry_status registry_blob_put(struct registry *reg, const char *repo,
    const void *data, size_t len, char dgst_out[REGISTRY_DIGEST_MAX],
    int *skipped, struct registry_err *err);

/* ------------------------------------ listing and deleting (purge, sync) */

#define REGISTRY_LIST_PAGE 1000 /* default page size (n=) */
#define REGISTRY_LIST_BODY_MAX (4 * 1024 * 1024) /* one page's body cap */
#define REGISTRY_LIST_PAGES_MAX 100000 /* pages followed at most */

/*
 * Called once per name by the listing functions, name borrowed for the
 * call. Return 0 to go on, -1 to stop (the listing then returns
 * REGISTRY_OK).
 */
typedef int (*registry_name_cb)(const char *name, void *arg);

/*
 * GET /v2/_catalog?n=PAGE, then every page the Link rel="next" header
 * names (registry_list.c), calling cb for each repository name. page 0:
 * REGISTRY_LIST_PAGE. Scope "registry:catalog:*". Names that are not
 * valid repository names are skipped. A Link to another origin is
 * REGISTRY_PROTOCOL.
 */
enum registry_status registry_catalog(struct registry *reg, size_t page,
    registry_name_cb cb, void *arg, struct registry_err *err);

/*
 * GET /v2/<repo>/tags/list?n=PAGE and the pages after it, calling cb for
 * each tag. A repository the registry does not know (404) or whose tags
 * are null has no tags: REGISTRY_OK without a call.
 */
enum registry_status registry_tags_list(struct registry *reg, const char *repo,
    size_t page, registry_name_cb cb, void *arg, struct registry_err *err);

/*
 * DELETE /v2/<repo>/manifests/<dgst> (a digest, never a tag). REGISTRY_OK
 * on 202 (deleted); REGISTRY_NOT_FOUND when the manifest is not there (404:
 * already gone); REGISTRY_UNSUPPORTED when the registry answers 405
 * (distribution with storage.delete.enabled false), with a message that
 * says so: "deletes are disabled on the registry: set
 * storage.delete.enabled: true". Scope "repository:<repo>:delete".
 */
enum registry_status registry_manifest_delete(struct registry *reg,
    const char *repo, const char *dgst, struct registry_err *err);

/*
 * The target of the rel="next" link in a Link header value, as a path
 * with its query ("/v2/_catalog?last=a&n=2"). An absolute target must
 * have base's origin (base: registry_base_url()). Returns a string to
 * free(), or NULL when there is no next link or it is unusable.
 */
char *registry_link_next(const char *base, const char *link);

/* -------------------------------------------- pure helpers (and tests) */

/* 1 if s is a repository name per the distribution grammar (<= 255). */
int registry_repo_valid(const char *s);
/* 1 if s is a tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
int registry_tag_valid(const char *s);
/* 1 if s is "sha256:<64 lower hex>" or "sha512:<128 lower hex>". */
int registry_digest_valid(const char *s);

/*
 * Parse an OCI error body {"errors":[{"code","message","detail"}]}. Returns
 * 0 with errors[0].code in code (truncated to codelen) and a one-line
 * summary in msg: "CODE: message (detail)" plus " (+N more)" for further
 * errors; control bytes become spaces, detail (any JSON) is compacted.
 * Returns -1 (code and msg "") when body is not such a document.
 */
int registry_error_parse(const char *body, size_t len, char *code,
    size_t codelen, char *msg, size_t msglen);

/* One auth-param of a challenge; strings point into the parsed buffer. */
struct registry_auth_param {
	const char *name; /* as sent; compare case-insensitively */
	const char *value; /* unquoted, backslash escapes removed */
};

/* One challenge: "Bearer realm=..., service=...", "Basic realm=...". */
struct registry_auth_chal {
	const char *scheme; /* as sent; compare case-insensitively */
	const char *token68; /* "Negotiate abc==" form, else NULL */
	struct registry_auth_param params[REGISTRY_AUTH_PARAM_MAX];
	size_t nparams;
};

/*
 * Parse a WWW-Authenticate value (RFC 7235: one or more comma-separated
 * challenges, each a scheme with a token68 or auth-params whose values are
 * tokens or quoted-strings, commas inside quotes included). buf is
 * NUL-terminated and is modified in place: the strings in chal[] point
 * into it and live as long as it. Several header lines may be joined with
 * ", " first. At most max challenges are stored (*n is their count; more
 * are parsed and dropped), and at most REGISTRY_AUTH_PARAM_MAX params each.
 * Returns 0, or -1 on a syntax error (*n then counts the challenges that
 * were complete before it). *n is cleared on entry.
 */
int registry_auth_parse(
    char *buf, struct registry_auth_chal *chal, size_t max, size_t *n);

/* Value of param name (case-insensitive) in c, or NULL. */
const char *registry_auth_param(
    const struct registry_auth_chal *c, const char *name);

/*
 * Token request URL: realm + "?service=..&scope=..&scope=.." (or "&" when
 * realm already has a query), each value percent-encoded; service may be
 * NULL (omitted), scopes[0..nscopes) are sent as one parameter each, empty
 * ones and duplicates skipped. realm must be an absolute http(s) URL.
 * Returns a string to free() or NULL (bad realm, too long, no memory).
 */
char *registry_auth_token_url(const char *realm, const char *service,
    const char *const *scopes, size_t nscopes);

/*
 * Parse a token server reply {"token"|"access_token": "...", "expires_in":
 * N}: "token" wins when both are present. The token must be 1..16 KiB of
 * visible ASCII. *expires_in is the value given, clamped to 1..86400, or
 * 60 when absent (the spec's default). Returns 0 with *tok set (wipe and
 * free it: the caller owns it), or -1. *tok is cleared on entry.
 */
int registry_auth_token_parse(
    const char *body, size_t len, char **tok, long *expires_in);

/*
 * Percent-encode s for a query component: everything but RFC 3986
 * unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX. Returns a
 * string to free() or NULL.
 */
char *registry_url_escape(const char *s);

/*
 * url with "key=value" appended to its query (key and value
 * percent-encoded; '?' or '&' as needed; a '#fragment' is dropped).
 * Returns a string to free() or NULL (too long, no memory).
 */
char *registry_url_add_query(
    const char *url, const char *key, const char *value);

/*
 * Resolve ref (a Location header value) against base (the absolute URL of
 * the request that returned it): "http(s)://..." as is, "//authority/..."
 * with base's scheme, "/path?query" on base's origin, any other relative
 * reference against base's directory. The query is kept, a fragment
 * dropped; dot segments are not removed. Returns a string to free(), or
 * NULL for an empty ref, another scheme, control bytes or spaces, or a
 * result over REGISTRY_URL_MAX.
 */
char *registry_url_resolve(const char *base, const char *ref);

/*
 * 1 if a and b (absolute URLs) have the same scheme, host and port (the
 * default port counts as given), case-insensitively; else 0.
 */
int registry_url_same_origin(const char *a, const char *b);

/* ------------------------------------------------------------ plain GET */

/*
 * http_fetch.c: one GET of a public document that is not a registry API
 * call (an OIDC issuer's JWK Set). No credentials are sent; redirects are
 * followed (at most 3, https only); TLS peers are always verified.
 */

#define REGISTRY_CC_MAX 256 /* Cache-Control value kept */
#define REGISTRY_MAX_AGE_CAP 31536000L /* a year: larger max-age saturates */

struct registry_http_opts {
	size_t max_bytes; /* body cap, required: a larger body is an error */
	long connect_timeout_ms; /* 0: 5 s */
	long timeout_ms; /* whole transfer; 0: 10 s */
	const char *ca_file; /* PEM CA bundle; NULL: the system's */
	const char *user_agent; /* NULL: "regward/VERSION" */
	/*
	 * Polled during the transfer (from the calling thread); returning
	 * non-zero aborts it (REGISTRY_NETWORK). NULL: never.
	 */
	int (*cancel)(void *arg);
	void *cancel_arg;
};

struct registry_http_resp {
	long status; /* last HTTP status, 0 if none arrived */
	char *body; /* 2xx: malloc'd, NUL-terminated; else NULL */
	size_t len;
	char cache_control[REGISTRY_CC_MAX]; /* last response's, "" if none */
};

/*
 * libcurl's global set-up and tear-down, for programs that call
 * registry_http_get() from threads: call init on the main thread before
 * starting them (0 or -1), cleanup once after they are done.
 */
int registry_http_global_init(void);
void registry_http_global_cleanup(void);

/*
 * 1 when url may be fetched: https://host[:port][/path][?query] without
 * user info, fragment, spaces or control bytes, at most REGISTRY_URL_MAX
 * bytes; or http:// to 127.0.0.1, localhost or [::1] only (tests), which
 * sets *loopback_http (may be NULL). Else 0.
 */
int registry_http_url_ok(const char *url, int *loopback_http);

/*
 * GET url (registry_http_url_ok()) with opts (required). REGISTRY_OK with
 * a 2xx status and the body in resp; else REGISTRY_INVALID (bad URL or
 * options), _NETWORK (DNS, connect, TLS, timeout, cancelled), _TOO_LARGE,
 * _NOT_FOUND (404), _UNAVAILABLE (429, 5xx), _PROTOCOL (other status),
 * _NOMEM, with err->msg "GET URL: reason" (URL without its query). resp
 * is cleared on entry; free with registry_http_resp_clear(). Thread-safe
 * (one easy handle per call) after registry_http_global_init().
 */
enum registry_status registry_http_get(const char *url,
    const struct registry_http_opts *opts, struct registry_http_resp *resp,
    struct registry_err *err);

/* Free resp's body and clear it. NULL is a no-op. */
void registry_http_resp_clear(struct registry_http_resp *resp);

/*
 * The freshness lifetime a Cache-Control value cc gives, in seconds:
 * max-age's delta-seconds (the first valid one; quoted accepted; capped
 * at REGISTRY_MAX_AGE_CAP); 0 when no-store or no-cache is present; -1
 * when cc is NULL or says neither. Directive names are case-insensitive;
 * unknown directives are ignored. Pure.
 */
long registry_cache_max_age(const char *cc);

#endif /* REGWARD_REGISTRY_H */
