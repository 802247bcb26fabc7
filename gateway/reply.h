/*
 * reply: the answers the gateway gives itself. One table maps each
 * request-path outcome to its HTTP status, OCI error code and message.
 */
#ifndef REGWARD_REPLY_H
#define REGWARD_REPLY_H

#include <stddef.h>

struct evbuffer;

enum reply_code {
	REPLY_BAD_TARGET = 0, /* 400 NAME_INVALID: tricky request target */
	REPLY_NAME_INVALID, /* 400 */
	REPLY_TAG_INVALID, /* 400 */
	REPLY_DIGEST_INVALID, /* 400 */
	REPLY_UPLOAD_INVALID, /* 404 BLOB_UPLOAD_UNKNOWN */
	REPLY_QUERY_INVALID, /* 400 UNSUPPORTED */
	REPLY_NOT_FOUND, /* 404 NAME_UNKNOWN: no such endpoint */
	REPLY_METHOD, /* 405 UNSUPPORTED */
	REPLY_BAD_REQUEST, /* 400 UNSUPPORTED: malformed HTTP */
	REPLY_HEAD_TOO_LARGE, /* 431 */
	REPLY_TIMEOUT, /* 408 */
	REPLY_UPSTREAM_DOWN, /* 503 UNAVAILABLE */
	REPLY_UPSTREAM_TIMEOUT, /* 504 UNAVAILABLE */
	REPLY_UPSTREAM_BAD, /* 502 UNAVAILABLE: broken upstream reply */
	REPLY_SHUTTING_DOWN, /* 503 UNAVAILABLE */
	REPLY_INTERNAL, /* 500 UNKNOWN */
	REPLY_UNAUTHORIZED, /* 401 UNAUTHORIZED (with a challenge) */
	REPLY_DENIED, /* 403 DENIED */
	REPLY_THROTTLED, /* 429 TOOMANYREQUESTS: failed logins */
	REPLY_BUSY, /* 503 TOOMANYREQUESTS: login queue full */
	REPLY_MANIFEST_INVALID, /* 400: e.g. larger than manifest_bytes */
	REPLY__COUNT
};

struct reply_info {
	int status;
	const char *reason; /* HTTP reason phrase */
	const char *code; /* OCI error code */
	const char *message;
};

/* The row for code. */
const struct reply_info *reply_info(enum reply_code code);

/* Reason phrase for an HTTP status, "Unknown" if none is known. */
const char *reply_reason(int status);

/*
 * Append to out an OCI error body for code with an optional detail string
 * (NULL for none; JSON-escaped here). Returns 0 or -1.
 */
int reply_oci_body(
    struct evbuffer *out, enum reply_code code, const char *detail);

/* Append s JSON-escaped (without quotes) to out. Returns 0 or -1. */
int reply_json_escape(struct evbuffer *out, const char *s, size_t len);

#endif /* REGWARD_REPLY_H */
