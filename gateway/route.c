/*
 * route: parse an HTTP request target into an OCI Distribution API route.
 *
 * The target is checked for anything that a later decoder or path cleaner
 * could turn into a different path (see route.h), then the route is found
 * by its right-most structure, because a repository name may itself contain
 * components such as "manifests" or "blobs": in /v2/a/manifests/b/manifests/x
 * the name is "a/manifests/b". The name left over is then validated against
 * the distribution grammar. No allocation: every result is a slice of the
 * caller's buffer, and percent-decoding of query values uses small stack
 * buffers with a fixed ceiling.
 */
#include <stddef.h>
#include <string.h>

#include "regward/route.h"

#define ROUTE_N_MAX 100000 /* ceiling for the "n" pagination parameter */
#define ROUTE_KEY_MAX 16 /* decoded query keys longer than this are unknown */

/* Query parameters checked on a route, one bit each. */
#define ROUTE_Q_N 0x01u
#define ROUTE_Q_LAST_TAG 0x02u
#define ROUTE_Q_LAST_NAME 0x04u
#define ROUTE_Q_DIGEST 0x08u
#define ROUTE_Q_MOUNT 0x10u
#define ROUTE_Q_FROM 0x20u

/* One row per query parameter the spec defines. */
static const struct route_qparam {
	const char *key;
	unsigned int flag;
} route_qparams[] = {
    {"n", ROUTE_Q_N},
    {"last", ROUTE_Q_LAST_TAG},
    {"last", ROUTE_Q_LAST_NAME},
    {"digest", ROUTE_Q_DIGEST},
    {"mount", ROUTE_Q_MOUNT},
    {"from", ROUTE_Q_FROM},
};

static int
route_is_lalnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
route_is_alnum(unsigned char c)
{
	return route_is_lalnum(c) || (c >= 'A' && c <= 'Z');
}

static int
route_is_lhex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Value of the hex digit c (either case), or -1. */
static int
route_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 if s[0..len) is exactly the NUL-terminated word w. */
static int
route_eq(const char *s, size_t len, const char *w)
{
	size_t wlen = strlen(w);

	return len == wlen && memcmp(s, w, len) == 0;
}

/*
 * One path component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*. A separator
 * must be followed by an alphanumeric, so a component never starts or ends
 * with one and never holds two in a row ("._", "___", "-_").
 */
static int
route_component_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !route_is_lalnum((unsigned char)s[0]))
		return 0;
	while (i < len) {
		while (i < len && route_is_lalnum((unsigned char)s[i]))
			i++;
		if (i == len)
			break;
		/* A separator. */
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
		if (i == len || !route_is_lalnum((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

int
route_name_valid(const char *s, size_t len)
{
	size_t start = 0, i;

	if (s == NULL || len == 0 || len > ROUTE_NAME_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (!route_component_valid(s + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

int
route_tag_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0 || len > ROUTE_TAG_MAX)
		return 0;
	if (!route_is_alnum((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (i = 1; i < len; i++) {
		if (!route_is_alnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	}
	return 1;
}

int
route_digest_valid(const char *s, size_t len)
{
	size_t i, hexlen;

	if (s == NULL)
		return 0;
	if (len == 7 + 64 && memcmp(s, "sha256:", 7) == 0)
		hexlen = 64;
	else if (len == 7 + 128 && memcmp(s, "sha512:", 7) == 0)
		hexlen = 128;
	else
		return 0;
	for (i = 7; i < 7 + hexlen; i++) {
		if (!route_is_lhex((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* Upload session id: [A-Za-z0-9._=-]{1,256}, not "." or "..". */
static int
route_upload_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > ROUTE_UPLOAD_MAX)
		return 0;
	if (route_eq(s, len, ".") || route_eq(s, len, ".."))
		return 0;
	for (i = 0; i < len; i++) {
		if (!route_is_alnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '=' && s[i] != '-')
			return 0;
	}
	return 1;
}

/*
 * Path safety: the path must start with '/', hold only visible ASCII other
 * than '%', '\\' and '#', and have no empty, "." or ".." segment. Only the
 * last segment may be empty (a trailing slash).
 */
static int
route_path_safe(const char *p, size_t len)
{
	size_t i, start;
	unsigned char c;

	if (len == 0 || p[0] != '/')
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (c < 0x21 || c >= 0x7f || c == '%' || c == '\\' || c == '#')
			return 0;
	}
	start = 1;
	for (i = 1; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		if (i == start && i < len)
			return 0; /* "//" */
		if (route_eq(p + start, i - start, ".") ||
		    route_eq(p + start, i - start, ".."))
			return 0;
		start = i + 1;
	}
	return 1;
}

/* Query safety: visible ASCII other than '#'. */
static int
route_query_safe(const char *q, size_t len)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)q[i];
		if (c < 0x21 || c >= 0x7f || c == '#')
			return 0;
	}
	return 1;
}

/* 1 if every '%' in s[0..len) starts a well-formed "%XX" escape. */
static int
route_pct_valid(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != '%')
			continue;
		if (len - i < 3 || route_hexval((unsigned char)s[i + 1]) < 0 ||
		    route_hexval((unsigned char)s[i + 2]) < 0)
			return 0;
		i += 2;
	}
	return 1;
}

/*
 * Decode a query key or value the way a form decoder does ("%XX" escapes,
 * '+' is a space) into dst, at most dstsz bytes. Returns 0 and sets
 * *outlen, or -1 when an escape is malformed or the result does not fit.
 */
static int
route_pct_decode(
    const char *s, size_t len, char *dst, size_t dstsz, size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;
	char c;

	*outlen = 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (len - i < 3)
				return -1;
			hi = route_hexval((unsigned char)s[i + 1]);
			lo = route_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o == dstsz)
			return -1;
		dst[o++] = c;
	}
	*outlen = o;
	return 0;
}

/*
 * Next '&'-separated pair of q[0..qlen) from *pos. Returns 1 and sets key
 * and val (empty when there is no '='), 0 when q is exhausted.
 */
static int
route_query_next(const char *q, size_t qlen, size_t *pos,
    struct route_slice *key, struct route_slice *val)
{
	size_t i, end, eq;

	if (*pos > qlen || q == NULL)
		return 0;
	i = *pos;
	end = i;
	while (end < qlen && q[end] != '&')
		end++;
	eq = i;
	while (eq < end && q[eq] != '=')
		eq++;
	key->ptr = q + i;
	key->len = eq - i;
	if (eq < end) {
		val->ptr = q + eq + 1;
		val->len = end - eq - 1;
	} else {
		val->ptr = q + end;
		val->len = 0;
	}
	*pos = end + 1;
	return 1;
}

/* Bounded decimal parse of "n": digits only, value 0..ROUTE_N_MAX. */
static int
route_n_valid(const char *s, size_t len)
{
	size_t i;
	unsigned long v = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > ROUTE_N_MAX)
			return 0;
	}
	return 1;
}

/*
 * Check the query parameters selected by checks. Keys are compared after
 * decoding, as the registry behind us decodes them; a checked key that was
 * percent-encoded, or that appears twice, is refused, so that what
 * route_query_get() returns (first raw occurrence) is exactly what the
 * registry will act on.
 */
static enum route_status
route_query_check(const char *q, size_t qlen, unsigned int checks)
{
	struct route_slice key, val;
	char kbuf[ROUTE_KEY_MAX], vbuf[ROUTE_NAME_MAX];
	size_t pos = 0, klen, vlen, i;
	unsigned int seen = 0, flag;
	enum route_status st = ROUTE_OK;
	int ok;

	if (!route_pct_valid(q, qlen)) {
		st = ROUTE_ERR_QUERY;
		goto out;
	}
	while (route_query_next(q, qlen, &pos, &key, &val)) {
		if (route_pct_decode(
			key.ptr, key.len, kbuf, sizeof(kbuf), &klen) == -1)
			continue; /* too long to be a key we know */
		flag = 0;
		for (i = 0;
		     i < sizeof(route_qparams) / sizeof(route_qparams[0]);
		     i++) {
			if ((checks & route_qparams[i].flag) != 0 &&
			    route_eq(kbuf, klen, route_qparams[i].key)) {
				flag = route_qparams[i].flag;
				break;
			}
		}
		if (flag == 0)
			continue;
		if (klen != key.len || memcmp(kbuf, key.ptr, klen) != 0 ||
		    (seen & flag) != 0) {
			st = ROUTE_ERR_QUERY;
			goto out;
		}
		seen |= flag;
		/* A value too long for vbuf is too long for any check. */
		ok = route_pct_decode(
			 val.ptr, val.len, vbuf, sizeof(vbuf), &vlen) == 0;
		switch (flag) {
		case ROUTE_Q_N:
			if (!ok || !route_n_valid(vbuf, vlen))
				st = ROUTE_ERR_QUERY;
			break;
		case ROUTE_Q_LAST_TAG:
			if (!ok || !route_tag_valid(vbuf, vlen))
				st = ROUTE_ERR_QUERY;
			break;
		case ROUTE_Q_LAST_NAME:
			if (!ok || !route_name_valid(vbuf, vlen))
				st = ROUTE_ERR_QUERY;
			break;
		case ROUTE_Q_DIGEST:
		case ROUTE_Q_MOUNT:
			if (!ok || !route_digest_valid(vbuf, vlen))
				st = ROUTE_ERR_DIGEST;
			break;
		case ROUTE_Q_FROM:
			if (!ok || !route_name_valid(vbuf, vlen))
				st = ROUTE_ERR_NAME;
			break;
		default:
			break;
		}
		if (st != ROUTE_OK)
			goto out;
	}
out:
	return st;
}

/* Start of the segment of s that ends at end (exclusive). */
static size_t
route_seg_start(const char *s, size_t end)
{
	while (end > 0 && s[end - 1] != '/')
		end--;
	return end;
}

/*
 * Match the route under /v2/ by its right-most segments. rest is the path
 * after "/v2/". Sets kind, name and ref in r, or returns
 * ROUTE_ERR_NOT_FOUND. The name is whatever precedes the route's fixed
 * segments; it must be non-empty, it is validated by the caller.
 */
static enum route_status
route_match(const char *rest, size_t rlen, struct route *r)
{
	size_t s0, s1, s2 = 0, e1, e2;
	const char *last, *sec, *third = NULL;
	size_t lastlen, seclen, thirdlen = 0;
	enum route_status st = ROUTE_ERR_NOT_FOUND;

	if (route_eq(rest, rlen, "_catalog")) {
		r->kind = ROUTE_CATALOG;
		st = ROUTE_OK;
		goto out;
	}
	s0 = route_seg_start(rest, rlen);
	if (s0 == 0)
		goto out; /* a single segment */
	last = rest + s0;
	lastlen = rlen - s0;
	e1 = s0 - 1;
	s1 = route_seg_start(rest, e1);
	sec = rest + s1;
	seclen = e1 - s1;
	if (s1 > 0) {
		e2 = s1 - 1;
		s2 = route_seg_start(rest, e2);
		third = rest + s2;
		thirdlen = e2 - s2;
	}

	if (lastlen == 0) {
		/* Trailing slash: only /v2/<name>/blobs/uploads/. */
		if (route_eq(sec, seclen, "uploads") && third != NULL &&
		    route_eq(third, thirdlen, "blobs") && s2 > 0) {
			r->kind = ROUTE_UPLOAD_START;
			r->name.ptr = rest;
			r->name.len = s2 - 1;
			st = ROUTE_OK;
		}
		goto out;
	}
	if (s1 > 0) {
		/* name/<sec>/<last> */
		st = ROUTE_OK;
		if (route_eq(sec, seclen, "manifests"))
			r->kind = ROUTE_MANIFEST;
		else if (route_eq(sec, seclen, "blobs") &&
		    route_eq(last, lastlen, "uploads"))
			r->kind = ROUTE_UPLOAD_START;
		else if (route_eq(sec, seclen, "blobs"))
			r->kind = ROUTE_BLOB;
		else if (route_eq(sec, seclen, "referrers"))
			r->kind = ROUTE_REFERRERS;
		else if (route_eq(sec, seclen, "tags") &&
		    route_eq(last, lastlen, "list"))
			r->kind = ROUTE_TAGS_LIST;
		else
			st = ROUTE_ERR_NOT_FOUND;
		if (st == ROUTE_OK) {
			r->name.ptr = rest;
			r->name.len = s1 - 1;
			if (r->kind != ROUTE_UPLOAD_START &&
			    r->kind != ROUTE_TAGS_LIST) {
				r->ref.ptr = last;
				r->ref.len = lastlen;
			}
			goto out;
		}
	}
	if (s2 > 0 && route_eq(sec, seclen, "uploads") &&
	    route_eq(third, thirdlen, "blobs")) {
		/* name/blobs/uploads/<id> */
		r->kind = ROUTE_UPLOAD;
		r->name.ptr = rest;
		r->name.len = s2 - 1;
		r->ref.ptr = last;
		r->ref.len = lastlen;
		st = ROUTE_OK;
	}
out:
	return st;
}

/*
 * Parse target[0..len) into *rt; see route.h. On error only rt->kind is
 * set (to the route being parsed, when known); every other field is clear.
 */
enum route_status
route_parse(const char *target, size_t len, struct route *rt)
{
	struct route r;
	const char *q;
	size_t plen;
	unsigned int checks = 0;
	enum route_status st = ROUTE_ERR_TARGET;

	memset(&r, 0, sizeof(r));
	if (rt == NULL)
		return ROUTE_ERR_TARGET;
	memset(rt, 0, sizeof(*rt));
	if (target == NULL || len == 0 || len > ROUTE_TARGET_MAX)
		goto out;

	q = memchr(target, '?', len);
	plen = q != NULL ? (size_t)(q - target) : len;
	r.path.ptr = target;
	r.path.len = plen;
	if (q != NULL) {
		r.query.ptr = q + 1;
		r.query.len = len - plen - 1;
	}
	if (!route_path_safe(r.path.ptr, r.path.len) ||
	    !route_query_safe(r.query.ptr, r.query.len))
		goto out;

	/* Not under /v2: the caller routes it. */
	if (plen < 3 || memcmp(target, "/v2", 3) != 0 ||
	    (plen > 3 && target[3] != '/')) {
		r.kind = ROUTE_NONE;
		st = ROUTE_OK;
		goto out;
	}
	if (plen <= 4) {
		r.kind = ROUTE_BASE;
		st = ROUTE_OK;
		goto out;
	}

	st = route_match(target + 4, plen - 4, &r);
	if (st != ROUTE_OK)
		goto out;

	if (r.kind != ROUTE_CATALOG &&
	    !route_name_valid(r.name.ptr, r.name.len)) {
		st = ROUTE_ERR_NAME;
		goto out;
	}
	switch (r.kind) {
	case ROUTE_CATALOG:
		checks = ROUTE_Q_N | ROUTE_Q_LAST_NAME;
		break;
	case ROUTE_TAGS_LIST:
		checks = ROUTE_Q_N | ROUTE_Q_LAST_TAG;
		break;
	case ROUTE_MANIFEST:
		if (memchr(r.ref.ptr, ':', r.ref.len) != NULL) {
			r.ref_is_digest = 1;
			if (!route_digest_valid(r.ref.ptr, r.ref.len))
				st = ROUTE_ERR_DIGEST;
		} else if (!route_tag_valid(r.ref.ptr, r.ref.len)) {
			st = ROUTE_ERR_TAG;
		}
		break;
	case ROUTE_BLOB:
	case ROUTE_REFERRERS:
		r.ref_is_digest = 1;
		if (!route_digest_valid(r.ref.ptr, r.ref.len))
			st = ROUTE_ERR_DIGEST;
		break;
	case ROUTE_UPLOAD_START:
		checks = ROUTE_Q_DIGEST | ROUTE_Q_MOUNT | ROUTE_Q_FROM;
		break;
	case ROUTE_UPLOAD:
		if (!route_upload_valid(r.ref.ptr, r.ref.len))
			st = ROUTE_ERR_UPLOAD;
		checks = ROUTE_Q_DIGEST;
		break;
	default:
		break;
	}
	if (st != ROUTE_OK)
		goto out;
	st = route_query_check(r.query.ptr, r.query.len, checks);
out:
	if (st == ROUTE_OK) {
		*rt = r;
	} else {
		if (st != ROUTE_ERR_TARGET && st != ROUTE_ERR_NOT_FOUND)
			rt->kind = r.kind;
	}
	return st;
}

int
route_query_get(
    const struct route *rt, const char *key, struct route_slice *val)
{
	struct route_slice k, v;
	size_t pos = 0;
	int found = 0;

	if (val != NULL) {
		val->ptr = NULL;
		val->len = 0;
	}
	if (rt == NULL || key == NULL || val == NULL || rt->query.ptr == NULL)
		goto out;
	while (route_query_next(rt->query.ptr, rt->query.len, &pos, &k, &v)) {
		if (route_eq(k.ptr, k.len, key)) {
			*val = v;
			found = 1;
			break;
		}
	}
out:
	return found;
}

const char *
route_kind_name(enum route_kind kind)
{
	switch (kind) {
	case ROUTE_NONE:
		return "none";
	case ROUTE_BASE:
		return "base";
	case ROUTE_CATALOG:
		return "catalog";
	case ROUTE_TAGS_LIST:
		return "tags_list";
	case ROUTE_MANIFEST:
		return "manifest";
	case ROUTE_BLOB:
		return "blob";
	case ROUTE_UPLOAD_START:
		return "upload_start";
	case ROUTE_UPLOAD:
		return "upload";
	case ROUTE_REFERRERS:
		return "referrers";
	}
	return "unknown";
}
