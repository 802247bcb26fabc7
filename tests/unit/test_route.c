/*
 * Unit tests for gateway/route.c.
 *
 * The cases live in REGWARD_TEST_DATA/route/{valid,invalid}.txt, one per
 * line (see the header of each file), so that they also seed fuzz_route.
 * Each target is handed to route_parse() in a heap buffer of exactly its
 * length, so that a read past the end shows up under ASan. A few cases that
 * do not fit a line (empty target, 8 KiB targets, buffers that are not
 * NUL-terminated) and route_query_get() are tested in C below.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "regward/route.h"

#ifndef REGWARD_TEST_DATA
#error "REGWARD_TEST_DATA must name the tests/data directory"
#endif

#define TEST_LINE_MAX (4 * ROUTE_TARGET_MAX)
#define TEST_FIELDS 4

static const struct {
	const char *name;
	enum route_kind kind;
} test_kinds[] = {
    {"none", ROUTE_NONE},
    {"base", ROUTE_BASE},
    {"catalog", ROUTE_CATALOG},
    {"tags_list", ROUTE_TAGS_LIST},
    {"manifest", ROUTE_MANIFEST},
    {"blob", ROUTE_BLOB},
    {"upload_start", ROUTE_UPLOAD_START},
    {"upload", ROUTE_UPLOAD},
    {"referrers", ROUTE_REFERRERS},
};

static const struct {
	const char *name;
	enum route_status st;
} test_statuses[] = {
    {"ok", ROUTE_OK},
    {"target", ROUTE_ERR_TARGET},
    {"not_found", ROUTE_ERR_NOT_FOUND},
    {"name", ROUTE_ERR_NAME},
    {"tag", ROUTE_ERR_TAG},
    {"digest", ROUTE_ERR_DIGEST},
    {"upload", ROUTE_ERR_UPLOAD},
    {"query", ROUTE_ERR_QUERY},
};

static char test_line[TEST_LINE_MAX];

static int
test_kind_lookup(const char *s, enum route_kind *kind)
{
	size_t i;

	for (i = 0; i < sizeof(test_kinds) / sizeof(test_kinds[0]); i++) {
		if (strcmp(s, test_kinds[i].name) == 0) {
			*kind = test_kinds[i].kind;
			return 0;
		}
	}
	return -1;
}

static int
test_status_lookup(const char *s, enum route_status *st)
{
	size_t i;

	for (i = 0; i < sizeof(test_statuses) / sizeof(test_statuses[0]); i++) {
		if (strcmp(s, test_statuses[i].name) == 0) {
			*st = test_statuses[i].st;
			return 0;
		}
	}
	return -1;
}

static int
test_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the target column ("\xNN", "\\") into a fresh heap buffer of
 * exactly the decoded length. Returns NULL on a malformed escape.
 */
static char *
test_unescape(const char *s, size_t *outlen)
{
	size_t len = strlen(s), i, o = 0;
	char *buf;
	int hi, lo;

	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] != '\\') {
			buf[o++] = s[i];
			continue;
		}
		if (i + 1 < len && s[i + 1] == '\\') {
			buf[o++] = '\\';
			i++;
		} else if (i + 3 < len && s[i + 1] == 'x' &&
		    (hi = test_hexval(s[i + 2])) >= 0 &&
		    (lo = test_hexval(s[i + 3])) >= 0) {
			buf[o++] = (char)(hi * 16 + lo);
			i += 3;
		} else {
			free(buf);
			return NULL;
		}
	}
	/* Shrink to the exact size so that ASan sees any over-read. */
	{
		char *exact = malloc(o > 0 ? o : 1);

		if (exact != NULL)
			memcpy(exact, buf, o);
		free(buf);
		buf = exact;
	}
	*outlen = o;
	return buf;
}

/* Split line in place at tabs. Returns the number of fields. */
static int
test_split(char *line, char **fields, int max)
{
	int n = 0;
	char *p = line;

	fields[n++] = p;
	while (*p != '\0') {
		if (*p == '\t') {
			*p = '\0';
			if (n == max)
				return -1;
			fields[n++] = p + 1;
		}
		p++;
	}
	return n;
}

/* 1 if slice lies inside buf[0..len), or is empty. */
static int
test_within(const struct route_slice *sl, const char *buf, size_t len)
{
	if (sl->len == 0)
		return 1;
	return sl->ptr >= buf && sl->ptr <= buf + len &&
	    sl->len <= (size_t)(buf + len - sl->ptr);
}

/* 1 if slice equals the expected column ("-" for empty). */
static int
test_slice_is(const struct route_slice *sl, const char *want)
{
	if (strcmp(want, "-") == 0)
		return sl->len == 0;
	return sl->len == strlen(want) && memcmp(sl->ptr, want, sl->len) == 0;
}

/* Check one valid.txt case; returns 0 or -1 after printing why. */
static int
test_one_valid(int lineno, char **f)
{
	struct route rt;
	enum route_kind kind;
	enum route_status st;
	const char *qm;
	size_t len, plen;
	char *t;
	int want_dgst, rc = -1;

	t = test_unescape(f[0], &len);
	if (t == NULL || test_kind_lookup(f[1], &kind) == -1) {
		print_error("valid.txt:%d: bad case\n", lineno);
		goto out;
	}
	st = route_parse(t, len, &rt);
	if (st != ROUTE_OK) {
		print_error("valid.txt:%d: %s: status %d, want ok\n", lineno,
		    f[0], (int)st);
		goto out;
	}
	if (rt.kind != kind) {
		print_error("valid.txt:%d: %s: kind %s, want %s\n", lineno,
		    f[0], route_kind_name(rt.kind), f[1]);
		goto out;
	}
	if (!test_slice_is(&rt.name, f[2]) || !test_slice_is(&rt.ref, f[3]) ||
	    !test_within(&rt.name, t, len) || !test_within(&rt.ref, t, len)) {
		print_error("valid.txt:%d: %s: name '%.*s' ref '%.*s', "
			    "want '%s' '%s'\n",
		    lineno, f[0], (int)rt.name.len,
		    rt.name.ptr ? rt.name.ptr : "", (int)rt.ref.len,
		    rt.ref.ptr ? rt.ref.ptr : "", f[2], f[3]);
		goto out;
	}
	qm = memchr(t, '?', len);
	plen = qm != NULL ? (size_t)(qm - t) : len;
	if (rt.path.ptr != t || rt.path.len != plen ||
	    (qm != NULL &&
		(rt.query.ptr != qm + 1 || rt.query.len != len - plen - 1)) ||
	    (qm == NULL && rt.query.len != 0)) {
		print_error("valid.txt:%d: %s: path/query slices wrong\n",
		    lineno, f[0]);
		goto out;
	}
	want_dgst = kind == ROUTE_BLOB || kind == ROUTE_REFERRERS ||
	    (kind == ROUTE_MANIFEST && strchr(f[3], ':') != NULL);
	if (rt.ref_is_digest != want_dgst) {
		print_error("valid.txt:%d: %s: ref_is_digest %d\n", lineno,
		    f[0], rt.ref_is_digest);
		goto out;
	}
	rc = 0;
out:
	free(t);
	return rc;
}

/* Check one invalid.txt case; returns 0 or -1 after printing why. */
static int
test_one_invalid(int lineno, char **f)
{
	struct route rt;
	enum route_kind kind;
	enum route_status st, want;
	size_t len;
	char *t;
	int rc = -1;

	t = test_unescape(f[0], &len);
	if (t == NULL || test_status_lookup(f[1], &want) == -1 ||
	    want == ROUTE_OK || test_kind_lookup(f[2], &kind) == -1) {
		print_error("invalid.txt:%d: bad case\n", lineno);
		goto out;
	}
	st = route_parse(t, len, &rt);
	if (st != want) {
		print_error("invalid.txt:%d: %s: status %d, want %s (%d)\n",
		    lineno, f[0], (int)st, f[1], (int)want);
		goto out;
	}
	if (rt.kind != kind) {
		print_error("invalid.txt:%d: %s: kind %s, want %s\n", lineno,
		    f[0], route_kind_name(rt.kind), f[2]);
		goto out;
	}
	if (rt.name.len != 0 || rt.ref.len != 0 || rt.path.len != 0 ||
	    rt.query.len != 0 || rt.ref_is_digest != 0) {
		print_error(
		    "invalid.txt:%d: %s: fields not cleared\n", lineno, f[0]);
		goto out;
	}
	rc = 0;
out:
	free(t);
	return rc;
}

/*
 * Run every case of one data file. nfields is the column count; valid
 * selects the checker. Returns the number of cases, fails on any failure.
 */
static int
test_run_file(const char *file, int nfields, int valid)
{
	char path[1024], *f[TEST_FIELDS];
	FILE *fp;
	size_t n;
	int lineno = 0, cases = 0, failures = 0;

	snprintf(path, sizeof(path), "%s/route/%s", REGWARD_TEST_DATA, file);
	fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	while (fgets(test_line, sizeof(test_line), fp) != NULL) {
		lineno++;
		n = strlen(test_line);
		if (n > 0 && test_line[n - 1] == '\n')
			test_line[--n] = '\0';
		else if (!feof(fp))
			fail_msg("%s:%d: line too long", file, lineno);
		if (n == 0 || test_line[0] == '#')
			continue;
		if (test_split(test_line, f, TEST_FIELDS) != nfields)
			fail_msg(
			    "%s:%d: want %d fields", file, lineno, nfields);
		cases++;
		if ((valid ? test_one_valid(lineno, f)
			   : test_one_invalid(lineno, f)) == -1)
			failures++;
	}
	fclose(fp);
	if (failures != 0)
		fail_msg("%s: %d of %d cases failed", file, failures, cases);
	return cases;
}

static void
test_valid_file(void **state)
{
	(void)state;
	assert_true(test_run_file("valid.txt", 4, 1) >= 50);
}

static void
test_invalid_file(void **state)
{
	(void)state;
	assert_true(test_run_file("invalid.txt", 3, 0) >= 90);
}

/* Parse s (a literal) from an exact-size heap copy. */
static enum route_status
test_parse(const char *s, size_t len, struct route *rt, char **copy)
{
	*copy = malloc(len > 0 ? len : 1);
	assert_non_null(*copy);
	memcpy(*copy, s, len);
	return route_parse(*copy, len, rt);
}

static void
test_empty_and_null(void **state)
{
	struct route rt;

	(void)state;
	memset(&rt, 0xa5, sizeof(rt));
	assert_int_equal(route_parse(NULL, 0, &rt), ROUTE_ERR_TARGET);
	assert_int_equal(rt.kind, ROUTE_NONE);
	assert_null(rt.path.ptr);
	assert_int_equal(route_parse("", 0, &rt), ROUTE_ERR_TARGET);
	assert_int_equal(route_parse("/v2/", 4, NULL), ROUTE_ERR_TARGET);
	assert_int_equal(route_name_valid(NULL, 3), 0);
	assert_int_equal(route_tag_valid(NULL, 3), 0);
	assert_int_equal(route_digest_valid(NULL, 71), 0);
}

/* Exactly ROUTE_TARGET_MAX bytes is fine, one more is refused. */
static void
test_target_max(void **state)
{
	static const char head[] = "/v2/a/manifests/x?pad=";
	struct route rt;
	char *buf;

	(void)state;
	buf = malloc(ROUTE_TARGET_MAX + 1);
	assert_non_null(buf);
	memset(buf, 'p', ROUTE_TARGET_MAX + 1);
	memcpy(buf, head, sizeof(head) - 1);
	assert_int_equal(route_parse(buf, ROUTE_TARGET_MAX, &rt), ROUTE_OK);
	assert_int_equal(rt.kind, ROUTE_MANIFEST);
	assert_int_equal(rt.query.len,
	    ROUTE_TARGET_MAX - (sizeof("/v2/a/manifests/x?") - 1));
	assert_int_equal(
	    route_parse(buf, ROUTE_TARGET_MAX + 1, &rt), ROUTE_ERR_TARGET);
	/* A long path made of valid segments is refused as well. */
	memset(buf, 'a', ROUTE_TARGET_MAX + 1);
	buf[0] = '/';
	assert_int_equal(
	    route_parse(buf, ROUTE_TARGET_MAX + 1, &rt), ROUTE_ERR_TARGET);
	free(buf);
}

/* Only len bytes count: what follows in the buffer is never looked at. */
static void
test_not_terminated(void **state)
{
	static const char s[] = "/v2/a/manifests/latest/../../b?n=x";
	struct route rt;
	char *copy;

	(void)state;
	assert_int_equal(
	    test_parse(s, sizeof("/v2/a/manifests/latest") - 1, &rt, &copy),
	    ROUTE_OK);
	assert_int_equal(rt.kind, ROUTE_MANIFEST);
	assert_int_equal(rt.ref.len, 6);
	assert_memory_equal(rt.ref.ptr, "latest", 6);
	assert_int_equal(rt.query.len, 0);
	free(copy);
	/* The same, straight from the literal that goes on. */
	assert_int_equal(
	    route_parse(s, sizeof("/v2/a/manifests/latest") - 1, &rt),
	    ROUTE_OK);
	assert_ptr_equal(rt.ref.ptr, s + sizeof("/v2/a/manifests/") - 1);
	assert_int_equal(rt.ref.len, 6);
	/* Cut inside the tag: "lat". */
	assert_int_equal(
	    test_parse(s, sizeof("/v2/a/manifests/lat") - 1, &rt, &copy),
	    ROUTE_OK);
	assert_int_equal(rt.ref.len, 3);
	free(copy);
	/* Cut right after "manifests/": a trailing slash, no route. */
	assert_int_equal(
	    test_parse(s, sizeof("/v2/a/manifests/") - 1, &rt, &copy),
	    ROUTE_ERR_NOT_FOUND);
	free(copy);
}

static void
test_query_get(void **state)
{
	static const char s[] = "/v2/a/tags/list?x&n=5&last=v%2E1&n=7&nn=9&="
				"&e=";
	struct route rt;
	struct route_slice v;
	char *copy;

	(void)state;
	assert_int_equal(test_parse(s, sizeof(s) - 1, &rt, &copy),
	    ROUTE_ERR_QUERY); /* "n" twice */
	free(copy);

	static const char t[] = "/v2/a/tags/list?x&n=5&last=v%2E1&nn=9&=&e=";
	assert_int_equal(test_parse(t, sizeof(t) - 1, &rt, &copy), ROUTE_OK);
	assert_int_equal(route_query_get(&rt, "n", &v), 1);
	assert_int_equal(v.len, 1);
	assert_memory_equal(v.ptr, "5", 1);
	assert_true(v.ptr > copy && v.ptr < copy + sizeof(t) - 1);
	assert_int_equal(route_query_get(&rt, "last", &v), 1);
	assert_int_equal(v.len, 5); /* still encoded */
	assert_memory_equal(v.ptr, "v%2E1", 5);
	assert_int_equal(route_query_get(&rt, "nn", &v), 1);
	assert_memory_equal(v.ptr, "9", 1);
	assert_int_equal(route_query_get(&rt, "x", &v), 1);
	assert_int_equal(v.len, 0);
	assert_int_equal(route_query_get(&rt, "e", &v), 1);
	assert_int_equal(v.len, 0);
	v.ptr = copy;
	v.len = 3;
	assert_int_equal(route_query_get(&rt, "digest", &v), 0);
	assert_null(v.ptr);
	assert_int_equal(v.len, 0);
	assert_int_equal(route_query_get(&rt, "las", &v), 0);
	assert_int_equal(route_query_get(NULL, "n", &v), 0);
	assert_int_equal(route_query_get(&rt, NULL, &v), 0);
	free(copy);

	/* First occurrence wins for parameters that are not checked. */
	static const char u[] = "/v2/a/manifests/x?foo=1&foo=2";
	assert_int_equal(test_parse(u, sizeof(u) - 1, &rt, &copy), ROUTE_OK);
	assert_int_equal(route_query_get(&rt, "foo", &v), 1);
	assert_memory_equal(v.ptr, "1", 1);
	free(copy);

	/* No query at all. */
	assert_int_equal(test_parse("/v2/", 4, &rt, &copy), ROUTE_OK);
	assert_int_equal(route_query_get(&rt, "n", &v), 0);
	free(copy);
}

static void
test_kind_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(test_kinds) / sizeof(test_kinds[0]); i++)
		assert_string_equal(
		    route_kind_name(test_kinds[i].kind), test_kinds[i].name);
}

static void
test_validators(void **state)
{
	static const char h64[] = "0123456789abcdef0123456789abcdef"
				  "0123456789abcdef0123456789abcdef";
	char d[200];

	(void)state;
	assert_int_equal(route_name_valid("a", 1), 1);
	assert_int_equal(route_name_valid("a/b", 3), 1);
	assert_int_equal(route_name_valid("a/b/", 4), 0);
	assert_int_equal(route_name_valid("/a", 2), 0);
	assert_int_equal(route_name_valid("a", 0), 0);
	assert_int_equal(route_name_valid("a__b", 4), 1);
	assert_int_equal(route_name_valid("a___b", 5), 0);
	assert_int_equal(route_name_valid("a_-b", 4), 0);
	assert_int_equal(route_name_valid("a----b", 6), 1);
	assert_int_equal(route_name_valid("a.", 2), 0);
	assert_int_equal(route_tag_valid("_", 1), 1);
	assert_int_equal(route_tag_valid("a", 0), 0);
	assert_int_equal(route_tag_valid(".", 1), 0);
	assert_int_equal(route_tag_valid("A-", 2), 1);

	snprintf(d, sizeof(d), "sha256:%s", h64);
	assert_int_equal(route_digest_valid(d, 71), 1);
	assert_int_equal(route_digest_valid(d, 70), 0);
	d[70] = 'A';
	assert_int_equal(route_digest_valid(d, 71), 0);
	snprintf(d, sizeof(d), "sha512:%s%s", h64, h64);
	assert_int_equal(route_digest_valid(d, 135), 1);
	d[3] = '2'; /* "sha212:" */
	assert_int_equal(route_digest_valid(d, 135), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_file),
	    cmocka_unit_test(test_invalid_file),
	    cmocka_unit_test(test_empty_and_null),
	    cmocka_unit_test(test_target_max),
	    cmocka_unit_test(test_not_terminated),
	    cmocka_unit_test(test_query_get),
	    cmocka_unit_test(test_kind_names),
	    cmocka_unit_test(test_validators),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
