/*
 * route: parse an HTTP request target into an OCI Distribution API route.
 *
 * Pure functions over bytes; no allocation. The parser refuses, it never
 * normalises: a target that would mean something else after decoding or
 * path clean-up ("..", ".", "//", any '%' escape, a backslash, a control
 * byte, an absolute-form URI) is rejected so that one repository name can
 * never be made to reach another.
 */
#ifndef REGWARD_ROUTE_H
#define REGWARD_ROUTE_H

#include <stddef.h>

/* Limits from the OCI distribution spec and distribution's reference code. */
#define ROUTE_NAME_MAX 255 /* repository name, bytes */
#define ROUTE_TAG_MAX 128 /* tag, bytes */
#define ROUTE_DIGEST_MAX 150 /* "sha512:" + 128 hex, with room */
#define ROUTE_UPLOAD_MAX 256 /* upload session id, bytes */
#define ROUTE_TARGET_MAX 8192

enum route_kind {
	ROUTE_NONE = 0, /* not under /v2 (e.g. /healthz); see path */
	ROUTE_BASE, /* /v2/ */
	ROUTE_CATALOG, /* /v2/_catalog */
	ROUTE_TAGS_LIST, /* /v2/<name>/tags/list */
	ROUTE_MANIFEST, /* /v2/<name>/manifests/<tag|digest> */
	ROUTE_BLOB, /* /v2/<name>/blobs/<digest> */
	ROUTE_UPLOAD_START, /* /v2/<name>/blobs/uploads/ */
	ROUTE_UPLOAD, /* /v2/<name>/blobs/uploads/<id> */
	ROUTE_REFERRERS, /* /v2/<name>/referrers/<digest> */
};

enum route_status {
	ROUTE_OK = 0,
	ROUTE_ERR_TARGET, /* malformed or tricky request target: 400 */
	ROUTE_ERR_NOT_FOUND, /* well formed, but no such endpoint: 404 */
	ROUTE_ERR_NAME, /* NAME_INVALID */
	ROUTE_ERR_TAG, /* MANIFEST_INVALID is wrong here: TAG_INVALID */
	ROUTE_ERR_DIGEST, /* DIGEST_INVALID */
	ROUTE_ERR_UPLOAD, /* BLOB_UPLOAD_INVALID (bad session id) */
	ROUTE_ERR_QUERY, /* malformed query parameter (n, last, digest) */
};

/*
 * A parsed target. Every string is a (pointer, length) slice borrowed from
 * the target passed to route_parse(); it is not NUL-terminated and lives as
 * long as that buffer.
 */
struct route_slice {
	const char *ptr;
	size_t len;
};

struct route {
	enum route_kind kind;
	struct route_slice path; /* target before '?' */
	struct route_slice query; /* after '?', without it; may be empty */
	struct route_slice name; /* repository, when the route has one */
	struct route_slice ref; /* tag or digest (manifests), digest (blobs,
				   referrers), upload id (uploads) */
	int ref_is_digest; /* manifests: ref is a digest, not a tag */
};

/*
 * Parse target (the raw request-target, length len, not necessarily
 * NUL-terminated) into *rt. rt is cleared on entry. Returns ROUTE_OK and
 * fills rt, or an error status; on error rt->kind tells which route was
 * being parsed where known. Query parameters that the spec defines are
 * checked: "n" (catalog, tags list) must be a decimal integer 0..100000,
 * "last" a tag or name, "digest" (upload PUT, POST) and "mount" a digest,
 * "from" a name. Unknown parameters are allowed.
 */
enum route_status route_parse(const char *target, size_t len, struct route *rt);

/* 1 if s[0..len) is a repository name per the distribution grammar. */
int route_name_valid(const char *s, size_t len);
/* 1 if s[0..len) is a tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
int route_tag_valid(const char *s, size_t len);
/*
 * 1 if s[0..len) is a digest the gateway accepts: "sha256:" + 64 lower hex
 * or "sha512:" + 128 lower hex. Other well-formed algorithms are refused.
 */
int route_digest_valid(const char *s, size_t len);

/*
 * Find query parameter key in rt->query. Returns 1 and sets *val (borrowed,
 * still percent-encoded) when present, 0 when absent. With several
 * occurrences, the first wins.
 */
int route_query_get(
    const struct route *rt, const char *key, struct route_slice *val);

/* A short name for kind, for logs: "manifest", "blob", ... */
const char *route_kind_name(enum route_kind kind);

#endif /* REGWARD_ROUTE_H */
