/*
 * Fuzz target for gateway/route.c: route_parse() and route_query_get() on
 * arbitrary bytes. Seeds: the targets in tests/data/route/{valid,invalid}.txt
 * (one per line). Checks, with abort() so that NDEBUG builds check too:
 * every slice lies inside the input, a successful parse only ever yields
 * names, tags, digests and paths that the validators accept, errors leave
 * the other fields clear, and parsing is deterministic.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regward/route.h"

#define FUZZ_ROUTE_CHECK(cond)                                                 \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if sl is empty or lies inside buf[0..len). */
static int
fuzz_route_within(const struct route_slice *sl, const char *buf, size_t len)
{
	if (sl->len == 0)
		return 1;
	return sl->ptr >= buf && sl->ptr <= buf + len &&
	    sl->len <= (size_t)(buf + len - sl->ptr);
}

static int
fuzz_route_same(const struct route_slice *a, const struct route_slice *b)
{
	return a->ptr == b->ptr && a->len == b->len;
}

static void
fuzz_route_check_ok(const struct route *rt, const char *s, size_t len)
{
	static const char *const keys[] = {
	    "n", "last", "digest", "mount", "from", "_state", "", "x"};
	struct route_slice v;
	size_t i;

	FUZZ_ROUTE_CHECK(rt->path.ptr == s);
	FUZZ_ROUTE_CHECK(rt->path.len >= 1 && rt->path.len <= len);
	FUZZ_ROUTE_CHECK(len <= ROUTE_TARGET_MAX);
	FUZZ_ROUTE_CHECK(s[0] == '/');
	FUZZ_ROUTE_CHECK(memchr(s, '%', rt->path.len) == NULL);
	FUZZ_ROUTE_CHECK(memchr(s, '\\', rt->path.len) == NULL);
	FUZZ_ROUTE_CHECK(memchr(s, '#', len) == NULL);
	for (i = 0; i < len; i++)
		FUZZ_ROUTE_CHECK(
		    (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
	if (rt->path.len < len) {
		FUZZ_ROUTE_CHECK(s[rt->path.len] == '?');
		FUZZ_ROUTE_CHECK(rt->query.ptr == s + rt->path.len + 1);
		FUZZ_ROUTE_CHECK(rt->query.len == len - rt->path.len - 1);
	} else {
		FUZZ_ROUTE_CHECK(rt->query.len == 0);
	}
	FUZZ_ROUTE_CHECK(fuzz_route_within(&rt->name, s, len));
	FUZZ_ROUTE_CHECK(fuzz_route_within(&rt->ref, s, len));
	FUZZ_ROUTE_CHECK(fuzz_route_within(&rt->name, s, rt->path.len));
	FUZZ_ROUTE_CHECK(fuzz_route_within(&rt->ref, s, rt->path.len));

	switch (rt->kind) {
	case ROUTE_NONE:
	case ROUTE_BASE:
	case ROUTE_CATALOG:
		FUZZ_ROUTE_CHECK(rt->name.len == 0 && rt->ref.len == 0);
		break;
	case ROUTE_TAGS_LIST:
	case ROUTE_UPLOAD_START:
		FUZZ_ROUTE_CHECK(route_name_valid(rt->name.ptr, rt->name.len));
		FUZZ_ROUTE_CHECK(rt->ref.len == 0);
		break;
	case ROUTE_MANIFEST:
		FUZZ_ROUTE_CHECK(route_name_valid(rt->name.ptr, rt->name.len));
		if (rt->ref_is_digest)
			FUZZ_ROUTE_CHECK(
			    route_digest_valid(rt->ref.ptr, rt->ref.len));
		else
			FUZZ_ROUTE_CHECK(
			    route_tag_valid(rt->ref.ptr, rt->ref.len));
		break;
	case ROUTE_BLOB:
	case ROUTE_REFERRERS:
		FUZZ_ROUTE_CHECK(route_name_valid(rt->name.ptr, rt->name.len));
		FUZZ_ROUTE_CHECK(rt->ref_is_digest);
		FUZZ_ROUTE_CHECK(route_digest_valid(rt->ref.ptr, rt->ref.len));
		break;
	case ROUTE_UPLOAD:
		FUZZ_ROUTE_CHECK(route_name_valid(rt->name.ptr, rt->name.len));
		FUZZ_ROUTE_CHECK(
		    rt->ref.len >= 1 && rt->ref.len <= ROUTE_UPLOAD_MAX);
		FUZZ_ROUTE_CHECK(memchr(rt->ref.ptr, '/', rt->ref.len) == NULL);
		break;
	default:
		abort();
	}
	/* The name always starts right after "/v2/". */
	if (rt->name.len > 0)
		FUZZ_ROUTE_CHECK(rt->name.ptr == s + 4);

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		memset(&v, 0xa5, sizeof(v));
		if (route_query_get(rt, keys[i], &v)) {
			FUZZ_ROUTE_CHECK(v.ptr != NULL);
			FUZZ_ROUTE_CHECK(v.ptr >= rt->query.ptr);
			FUZZ_ROUTE_CHECK(v.len <=
			    (size_t)(rt->query.ptr + rt->query.len - v.ptr));
			FUZZ_ROUTE_CHECK(memchr(v.ptr, '&', v.len) == NULL);
		} else {
			FUZZ_ROUTE_CHECK(v.ptr == NULL && v.len == 0);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct route rt, rt2;
	enum route_status st, st2;

	st = route_parse(s, size, &rt);
	FUZZ_ROUTE_CHECK(route_kind_name(rt.kind) != NULL);
	FUZZ_ROUTE_CHECK((unsigned int)rt.kind <= ROUTE_REFERRERS);
	if (st == ROUTE_OK) {
		fuzz_route_check_ok(&rt, s, size);
	} else {
		FUZZ_ROUTE_CHECK((unsigned int)st >= ROUTE_ERR_TARGET &&
		    (unsigned int)st <= ROUTE_ERR_QUERY);
		FUZZ_ROUTE_CHECK(rt.path.len == 0 && rt.query.len == 0 &&
		    rt.name.len == 0 && rt.ref.len == 0 &&
		    rt.ref_is_digest == 0);
	}
	st2 = route_parse(s, size, &rt2);
	FUZZ_ROUTE_CHECK(st2 == st && rt2.kind == rt.kind &&
	    fuzz_route_same(&rt.path, &rt2.path) &&
	    fuzz_route_same(&rt.query, &rt2.query) &&
	    fuzz_route_same(&rt.name, &rt2.name) &&
	    fuzz_route_same(&rt.ref, &rt2.ref) &&
	    rt2.ref_is_digest == rt.ref_is_digest);

	/* The validators on the raw bytes. */
	if (route_digest_valid(s, size))
		FUZZ_ROUTE_CHECK(size == 71 || size == 135);
	if (route_tag_valid(s, size))
		FUZZ_ROUTE_CHECK(size >= 1 && size <= ROUTE_TAG_MAX);
	if (route_name_valid(s, size))
		FUZZ_ROUTE_CHECK(size >= 1 && size <= ROUTE_NAME_MAX &&
		    s[0] != '/' && s[size - 1] != '/');
	return 0;
}
