/*
 * reply: status, OCI error code and message for every answer the gateway
 * makes itself.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "reply.h"

static const struct reply_info reply_table[REPLY__COUNT] = {
    [REPLY_BAD_TARGET] = {400, "Bad Request", "NAME_INVALID",
	"invalid request target"},
    [REPLY_NAME_INVALID] = {400, "Bad Request", "NAME_INVALID",
	"invalid repository name"},
    [REPLY_TAG_INVALID] = {400, "Bad Request", "TAG_INVALID", "invalid tag"},
    [REPLY_DIGEST_INVALID] = {400, "Bad Request", "DIGEST_INVALID",
	"invalid digest"},
    [REPLY_UPLOAD_INVALID] = {404, "Not Found", "BLOB_UPLOAD_UNKNOWN",
	"invalid upload session id"},
    [REPLY_QUERY_INVALID] = {400, "Bad Request", "UNSUPPORTED",
	"invalid query parameter"},
    [REPLY_NOT_FOUND] = {404, "Not Found", "NAME_UNKNOWN", "no such endpoint"},
    [REPLY_METHOD] = {405, "Method Not Allowed", "UNSUPPORTED",
	"method not allowed on this endpoint"},
    [REPLY_BAD_REQUEST] = {400, "Bad Request", "UNSUPPORTED",
	"malformed HTTP request"},
    [REPLY_HEAD_TOO_LARGE] = {431, "Request Header Fields Too Large",
	"UNSUPPORTED", "request header block too large"},
    [REPLY_TIMEOUT] = {408, "Request Timeout", "UNSUPPORTED",
	"request head not received in time"},
    [REPLY_UPSTREAM_DOWN] = {503, "Service Unavailable", "UNAVAILABLE",
	"upstream registry unavailable"},
    [REPLY_UPSTREAM_TIMEOUT] = {504, "Gateway Timeout", "UNAVAILABLE",
	"upstream registry did not answer in time"},
    [REPLY_UPSTREAM_BAD] = {502, "Bad Gateway", "UNAVAILABLE",
	"upstream registry sent a malformed response"},
    [REPLY_SHUTTING_DOWN] = {503, "Service Unavailable", "UNAVAILABLE",
	"gateway is shutting down"},
    [REPLY_INTERNAL] = {500, "Internal Server Error", "UNKNOWN",
	"internal error"},
    [REPLY_UNAUTHORIZED] = {401, "Unauthorized", "UNAUTHORIZED",
	"authentication required"},
    [REPLY_DENIED] = {403, "Forbidden", "DENIED",
	"requested access to the resource is denied"},
    [REPLY_THROTTLED] = {429, "Too Many Requests", "TOOMANYREQUESTS",
	"too many failed logins; retry later"},
    [REPLY_BUSY] = {503, "Service Unavailable", "TOOMANYREQUESTS",
	"too many logins being checked; retry"},
    [REPLY_MANIFEST_INVALID] = {400, "Bad Request", "MANIFEST_INVALID",
	"manifest invalid"},
};

const struct reply_info *
reply_info(enum reply_code code)
{
	if ((unsigned)code >= REPLY__COUNT)
		code = REPLY_INTERNAL;
	return &reply_table[code];
}

const char *
reply_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} r[] = {{100, "Continue"}, {200, "OK"}, {201, "Created"},
	    {202, "Accepted"}, {204, "No Content"}, {206, "Partial Content"},
	    {301, "Moved Permanently"}, {302, "Found"}, {304, "Not Modified"},
	    {307, "Temporary Redirect"}, {400, "Bad Request"},
	    {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
	    {405, "Method Not Allowed"}, {408, "Request Timeout"},
	    {413, "Content Too Large"}, {416, "Range Not Satisfiable"},
	    {429, "Too Many Requests"},
	    {431, "Request Header Fields Too Large"},
	    {500, "Internal Server Error"}, {502, "Bad Gateway"},
	    {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (r[i].status == status)
			return r[i].reason;
	return "Unknown";
}

int
reply_json_escape(struct evbuffer *out, const char *s, size_t len)
{
	size_t i, run = 0;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f)
			continue;
		if (evbuffer_add(out, s + run, i - run) == -1)
			return -1;
		run = i + 1;
		if (c == '"' || c == '\\') {
			if (evbuffer_add_printf(out, "\\%c", c) == -1)
				return -1;
		} else if (evbuffer_add_printf(out, "\\u%04x", c) == -1) {
			return -1;
		}
	}
	return evbuffer_add(out, s + run, len - run);
}

int
reply_oci_body(struct evbuffer *out, enum reply_code code, const char *detail)
{
	const struct reply_info *ri = reply_info(code);

	/*
	 * docker and skopeo print only "message": a refusal says its reason
	 * there too, not only in "detail".
	 */
	if (detail != NULL && code == REPLY_DENIED) {
		if (evbuffer_add_printf(out,
			"{\"errors\":[{\"code\":\"%s\",\"message\":\"",
			ri->code) == -1 ||
		    reply_json_escape(out, detail, strlen(detail)) == -1 ||
		    evbuffer_add(out, "\"", 1) == -1)
			return -1;
	} else if (evbuffer_add_printf(out,
		       "{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\"",
		       ri->code, ri->message) == -1)
		return -1;
	if (detail != NULL) {
		if (evbuffer_add(out, ",\"detail\":\"", 11) == -1 ||
		    reply_json_escape(out, detail, strlen(detail)) == -1 ||
		    evbuffer_add(out, "\"", 1) == -1)
			return -1;
	}
	return evbuffer_add(out, "}]}\n", 4);
}
