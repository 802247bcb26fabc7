/*
 * Unit tests for the pure parts of the registry client (signer/registry*.c):
 * WWW-Authenticate parsing (cases in REGWARD_TEST_DATA/registry/
 * www-authenticate.txt), docker config.json lookup (fixtures and cases in
 * registry/docker-config/), the token URL and token reply, OCI error
 * bodies, Location resolution, query escaping, names and digests, and the
 * credential sources. No test touches the network.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "regward/registry.h"

#ifndef REGWARD_TEST_DATA
#error "REGWARD_TEST_DATA must name the tests/data directory"
#endif

#define TEST_DIR REGWARD_TEST_DATA "/registry"
#define TEST_LINE_MAX 4096

/* ------------------------------------------------------------ helpers */

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

/* Decode "\t", "\\", "\xNN" in place; other backslashes stay. */
static void
test_unescape(char *s)
{
	char *d = s;
	int hi, lo;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] == 't') {
			*d++ = '\t';
			s += 2;
		} else if (s[0] == '\\' && s[1] == '\\') {
			*d++ = '\\';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'x' &&
		    (hi = test_hexval(s[2])) >= 0 &&
		    (lo = test_hexval(s[3])) >= 0) {
			*d++ = (char)(hi * 16 + lo);
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

static char *
test_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, fp);
		buf[*len] = '\0';
	}
	fclose(fp);
	return buf;
}

/* Copy src into dst[n], failing the test when it does not fit. */
static void
test_copy(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);

	assert_true(len < n);
	memcpy(dst, src, len + 1);
}

/* --------------------------------------------------- WWW-Authenticate */

struct test_expect_chal {
	char scheme[64];
	char tok68[256];
	char names[REGISTRY_AUTH_PARAM_MAX][64];
	char values[REGISTRY_AUTH_PARAM_MAX][512];
	size_t nparams;
};

static int
test_auth_case(int lineno, char *input, struct test_expect_chal *want,
    size_t nwant, int want_ok)
{
	struct registry_auth_chal chal[REGISTRY_AUTH_CHAL_MAX];
	size_t n = 99, i, j;
	char *buf;
	int rc, fail = 0;

	/* Exactly sized heap copy: ASan catches reads past the NUL. */
	buf = strdup(input);
	assert_non_null(buf);
	rc = registry_auth_parse(buf, chal, REGISTRY_AUTH_CHAL_MAX, &n);
	if ((rc == 0) != want_ok) {
		print_error("www-authenticate.txt:%d: [%s] returned %d\n",
		    lineno, input, rc);
		fail = 1;
		goto out;
	}
	if (n != nwant) {
		print_error("www-authenticate.txt:%d: [%s] %zu challenges, "
			    "expected %zu\n",
		    lineno, input, n, nwant);
		fail = 1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *t = chal[i].token68 != NULL ? chal[i].token68 : "";

		if (strcmp(chal[i].scheme, want[i].scheme) != 0 ||
		    strcmp(t, want[i].tok68) != 0 ||
		    chal[i].nparams != want[i].nparams) {
			print_error("www-authenticate.txt:%d: challenge %zu: "
				    "got %s/%s/%zu params\n",
			    lineno, i, chal[i].scheme, t, chal[i].nparams);
			fail = 1;
			goto out;
		}
		for (j = 0; j < chal[i].nparams; j++) {
			if (strcmp(chal[i].params[j].name, want[i].names[j]) !=
				0 ||
			    strcmp(chal[i].params[j].value,
				want[i].values[j]) != 0) {
				print_error("www-authenticate.txt:%d: "
					    "challenge %zu param %zu: got "
					    "%s=[%s]\n",
				    lineno, i, j, chal[i].params[j].name,
				    chal[i].params[j].value);
				fail = 1;
				goto out;
			}
		}
	}
out:
	free(buf);
	return fail;
}

static void
test_auth_parse_cases(void **state)
{
	static struct test_expect_chal want[REGISTRY_AUTH_CHAL_MAX];
	char line[TEST_LINE_MAX], input[TEST_LINE_MAX];
	size_t nwant = 0;
	int lineno = 0, start = 0, cases = 0, failures = 0, have_in = 0;
	FILE *fp;

	(void)state;
	fp = fopen(TEST_DIR "/www-authenticate.txt", "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *nl = strchr(line, '\n'), *sp;

		lineno++;
		if (nl != NULL)
			*nl = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "in ", 3) == 0) {
			assert_false(have_in);
			snprintf(input, sizeof(input), "%s", line + 3);
			test_unescape(input);
			have_in = 1;
			start = lineno;
			nwant = 0;
			memset(want, 0, sizeof(want));
		} else if (strncmp(line, "chal ", 5) == 0) {
			assert_true(have_in && nwant < REGISTRY_AUTH_CHAL_MAX);
			test_copy(want[nwant].scheme,
			    sizeof(want[nwant].scheme), line + 5);
			nwant++;
		} else if (strncmp(line, "tok68 ", 6) == 0) {
			assert_true(nwant > 0);
			test_copy(want[nwant - 1].tok68,
			    sizeof(want[nwant - 1].tok68), line + 6);
		} else if (strncmp(line, "param ", 6) == 0) {
			struct test_expect_chal *w = &want[nwant - 1];

			assert_true(
			    nwant > 0 && w->nparams < REGISTRY_AUTH_PARAM_MAX);
			sp = strchr(line + 6, ' ');
			assert_non_null(sp);
			*sp = '\0';
			test_copy(w->names[w->nparams], sizeof(w->names[0]),
			    line + 6);
			test_copy(w->values[w->nparams], sizeof(w->values[0]),
			    sp + 1);
			test_unescape(w->values[w->nparams]);
			w->nparams++;
		} else if (strncmp(line, "result ", 7) == 0) {
			assert_true(have_in);
			failures += test_auth_case(start, input, want, nwant,
			    strcmp(line + 7, "ok") == 0);
			cases++;
			have_in = 0;
		} else {
			fail_msg("www-authenticate.txt:%d: bad line", lineno);
		}
	}
	fclose(fp);
	assert_false(have_in);
	assert_true(cases >= 20);
	assert_int_equal(failures, 0);
}

static void
test_auth_parse_limits(void **state)
{
	struct registry_auth_chal chal[2];
	char buf[8192];
	size_t n, i, off = 0;

	(void)state;
	/* More challenges than room: the first max are kept, no error. */
	snprintf(buf, sizeof(buf),
	    "Basic realm=a, Bearer realm=b, "
	    "Digest realm=c, Basic realm=d");
	assert_int_equal(registry_auth_parse(buf, chal, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(chal[1].scheme, "Bearer");
	assert_string_equal(registry_auth_param(&chal[1], "REALM"), "b");
	assert_null(registry_auth_param(&chal[1], "service"));

	/* More params than room: extra ones dropped. */
	off = (size_t)snprintf(buf, sizeof(buf), "Bearer ");
	for (i = 0; i < REGISTRY_AUTH_PARAM_MAX + 5; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "%sp%zu=\"v%zu\"", i > 0 ? "," : "", i, i);
	assert_int_equal(registry_auth_parse(buf, chal, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(chal[0].nparams, REGISTRY_AUTH_PARAM_MAX);
	assert_string_equal(registry_auth_param(&chal[0], "p0"), "v0");

	/* max 0: parses, stores nothing. */
	snprintf(buf, sizeof(buf), "Basic realm=x");
	assert_int_equal(registry_auth_parse(buf, chal, 0, &n), 0);
	assert_int_equal(n, 0);
}

/* A Bearer challenge turned into the token request a push would send. */
static void
test_auth_token_url(void **state)
{
	struct registry_auth_chal chal[REGISTRY_AUTH_CHAL_MAX];
	const char *scopes[3];
	char buf[512];
	char *u;
	size_t n;

	(void)state;
	snprintf(buf, sizeof(buf),
	    "Bearer realm=\"https://auth.example.com/token\","
	    "service=\"registry.example.com\","
	    "scope=\"repository:team/app:pull\"");
	assert_int_equal(registry_auth_parse(buf, chal, 8, &n), 0);
	assert_int_equal(n, 1);
	scopes[0] = registry_auth_param(&chal[0], "scope");
	scopes[1] = "repository:team/app:pull,push";
	u = registry_auth_token_url(registry_auth_param(&chal[0], "realm"),
	    registry_auth_param(&chal[0], "service"), scopes, 2);
	assert_non_null(u);
	assert_string_equal(u,
	    "https://auth.example.com/token?service=registry.example.com"
	    "&scope=repository%3Ateam%2Fapp%3Apull"
	    "&scope=repository%3Ateam%2Fapp%3Apull%2Cpush");
	free(u);

	/* realm with a query already; duplicates and empty scopes skipped;
	   no service; a space and '&' are escaped. */
	scopes[0] = "repository:a:pull";
	scopes[1] = "";
	scopes[2] = "repository:a:pull";
	u = registry_auth_token_url("https://a.example/t?x=1", NULL, scopes, 3);
	assert_non_null(u);
	assert_string_equal(
	    u, "https://a.example/t?x=1&scope=repository%3Aa%3Apull");
	free(u);
	scopes[0] = "a b&c=d";
	u = registry_auth_token_url(
	    "http://127.0.0.1:5001/token#frag", "s s", scopes, 1);
	assert_non_null(u);
	assert_string_equal(u,
	    "http://127.0.0.1:5001/token?service=s%20s"
	    "&scope=a%20b%26c%3Dd");
	free(u);
	/* No scope at all: registry_check's token. */
	u = registry_auth_token_url("https://a/t", "svc", NULL, 0);
	assert_string_equal(u, "https://a/t?service=svc");
	free(u);

	/* Bad realms. */
	assert_null(registry_auth_token_url("ftp://a/t", NULL, NULL, 0));
	assert_null(registry_auth_token_url("/token", NULL, NULL, 0));
	assert_null(registry_auth_token_url("https:///t", NULL, NULL, 0));
	assert_null(registry_auth_token_url("https://u:p@a/t", NULL, NULL, 0));
	assert_null(registry_auth_token_url("https://a/t x", NULL, NULL, 0));
	assert_null(registry_auth_token_url(NULL, NULL, NULL, 0));
}

static void
test_auth_token_parse(void **state)
{
	static const struct {
		const char *body;
		int rc;
		const char *tok;
		long exp;
	} cases[] = {
	    {"{\"token\":\"abc.def.ghi\",\"expires_in\":300}", 0, "abc.def.ghi",
		300},
	    {"{\"access_token\":\"xyz\"}", 0, "xyz", 60},
	    {"{\"token\":\"t1\",\"access_token\":\"t2\"}", 0, "t1", 60},
	    {"{\"token\":\"\",\"access_token\":\"t2\"}", 0, "t2", 60},
	    {"{\"token\":\"t\",\"expires_in\":0}", 0, "t", 1},
	    {"{\"token\":\"t\",\"expires_in\":-5}", 0, "t", 1},
	    {"{\"token\":\"t\",\"expires_in\":999999999}", 0, "t", 86400},
	    {"{\"token\":\"t\",\"expires_in\":\"300\"}", 0, "t", 60},
	    {"{\"token\":\"t\",\"expires_in\":120.5}", 0, "t", 120},
	    {"{\"token\":\"has space\"}", -1, NULL, 0},
	    {"{\"token\":\"crlf\\r\\nX-Evil: 1\"}", -1, NULL, 0},
	    {"{\"token\":42}", -1, NULL, 0},
	    {"{}", -1, NULL, 0},
	    {"[\"token\"]", -1, NULL, 0},
	    {"not json", -1, NULL, 0},
	    {"", -1, NULL, 0},
	};
	char *tok, *big;
	long exp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = registry_auth_token_parse(
		    cases[i].body, strlen(cases[i].body), &tok, &exp);

		if (rc != cases[i].rc)
			fail_msg("token case %zu: rc %d", i, rc);
		if (rc == 0) {
			assert_string_equal(tok, cases[i].tok);
			assert_int_equal(exp, cases[i].exp);
			free(tok);
		} else {
			assert_null(tok);
		}
	}
	/* A token over 16 KiB is refused. */
	big = malloc(20000 + 32);
	assert_non_null(big);
	memcpy(big, "{\"token\":\"", 10);
	memset(big + 10, 'a', 20000);
	memcpy(big + 10 + 20000, "\"}", 3);
	assert_int_equal(
	    registry_auth_token_parse(big, strlen(big), &tok, &exp), -1);
	free(big);
}

/* ---------------------------------------------------------- OCI errors */

static void
test_error_parse(void **state)
{
	static const struct {
		const char *body;
		int rc;
		const char *code;
		const char *msg;
	} cases[] = {
	    {"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":"
	     "\"manifest unknown\",\"detail\":{\"Tag\":\"v9\"}}]}",
		0, "MANIFEST_UNKNOWN",
		"MANIFEST_UNKNOWN: manifest unknown ({\"Tag\":\"v9\"})"},
	    {"{\"errors\":[{\"code\":\"DENIED\",\"message\":\"unsigned\","
	     "\"detail\":\"no signature by a trusted key\"},"
	     "{\"code\":\"X\"},{\"code\":\"Y\"}]}",
		0, "DENIED",
		"DENIED: unsigned (no signature by a trusted key) (+2 more)"},
	    {"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"line1\\n"
	     "line2\",\"detail\":null}]}",
		0, "UNAUTHORIZED", "UNAUTHORIZED: line1 line2"},
	    {"{\"errors\":[{\"code\":\"BLOB_UNKNOWN\"}]}", 0, "BLOB_UNKNOWN",
		"BLOB_UNKNOWN"},
	    {"{\"errors\":[]}", -1, "", ""},
	    {"{\"errors\":[{\"message\":\"no code\"}]}", -1, "", ""},
	    {"{\"errors\":{}}", -1, "", ""},
	    {"<html>502 Bad Gateway</html>", -1, "", ""},
	    {"", -1, "", ""},
	};
	char code[REGISTRY_CODE_MAX], msg[REGISTRY_ERR_MAX], small[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc =
		    registry_error_parse(cases[i].body, strlen(cases[i].body),
			code, sizeof(code), msg, sizeof(msg));

		if (rc != cases[i].rc)
			fail_msg("error case %zu: rc %d", i, rc);
		assert_string_equal(code, cases[i].code);
		assert_string_equal(msg, cases[i].msg);
	}
	/* Truncation to the caller's buffers. */
	assert_int_equal(
	    registry_error_parse(cases[0].body, strlen(cases[0].body), code, 8,
		small, sizeof(small)),
	    0);
	assert_string_equal(code, "MANIFES");
	assert_string_equal(small, "MANIFEST_UNKNOW");
}

/* ---------------------------------------------------------------- URLs */

static void
test_url_resolve(void **state)
{
	static const struct {
		const char *base;
		const char *ref;
		const char *want; /* NULL: refused */
	} cases[] = {
	    /* distribution's absolute Location, query kept */
	    {"http://127.0.0.1:5000/v2/a/blobs/uploads/",
		"http://127.0.0.1:5000/v2/a/blobs/uploads/u-1?_state=xyz%3D",
		"http://127.0.0.1:5000/v2/a/blobs/uploads/u-1?_state=xyz%3D"},
	    /* relative, path-absolute */
	    {"https://r.example/v2/a/blobs/uploads/",
		"/v2/a/blobs/uploads/u-2?_state=s",
		"https://r.example/v2/a/blobs/uploads/u-2?_state=s"},
	    {"https://r.example:8443/v2/a/blobs/uploads/?x=1", "/up?q",
		"https://r.example:8443/up?q"},
	    /* relative path against the directory */
	    {"https://r.example/v2/a/blobs/uploads/", "u-3?s=1",
		"https://r.example/v2/a/blobs/uploads/u-3?s=1"},
	    {"https://r.example/v2/a/blobs/uploads", "u-4",
		"https://r.example/v2/a/blobs/u-4"},
	    {"https://r.example", "u-5", "https://r.example/u-5"},
	    /* query only */
	    {"https://r.example/v2/x?old=1", "?new=2",
		"https://r.example/v2/x?new=2"},
	    /* network-path: base's scheme */
	    {"https://r.example/v2/", "//storage.example/b?sig=1",
		"https://storage.example/b?sig=1"},
	    /* fragment dropped; other host kept as is */
	    {"https://r.example/v2/", "https://s3.example/b?X-Amz=1#frag",
		"https://s3.example/b?X-Amz=1"},
	    {"https://r.example/v2/", "HTTPS://R.example/v2/up",
		"HTTPS://R.example/v2/up"},
	    /* refused */
	    {"https://r.example/v2/", "", NULL},
	    {"https://r.example/v2/", "#only", NULL},
	    {"https://r.example/v2/", "ftp://r.example/x", NULL},
	    {"https://r.example/v2/", "javascript:alert(1)", NULL},
	    {"https://r.example/v2/", "/a b", NULL},
	    {"https://r.example/v2/", "/a\r\nX-Evil: 1", NULL},
	    {"https://r.example/v2/", "https://user:pw@r.example/x", NULL},
	    {"https://r.example/v2/", "https:///x", NULL},
	    {"https://r.example/v2/", "///x", NULL},
	    {"not a url", "/x", NULL},
	};
	size_t i;
	char *got, *big;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = registry_url_resolve(cases[i].base, cases[i].ref);
		if (cases[i].want == NULL) {
			if (got != NULL)
				fail_msg("resolve %zu: got %s", i, got);
		} else {
			if (got == NULL || strcmp(got, cases[i].want) != 0)
				fail_msg("resolve %zu: got %s, want %s", i,
				    got != NULL ? got : "NULL", cases[i].want);
		}
		free(got);
	}
	big = malloc(REGISTRY_URL_MAX + 10);
	assert_non_null(big);
	big[0] = '/';
	memset(big + 1, 'a', REGISTRY_URL_MAX + 5);
	big[REGISTRY_URL_MAX + 6] = '\0';
	assert_null(registry_url_resolve("https://r.example/", big));
	free(big);
}

static void
test_url_query(void **state)
{
	static const struct {
		const char *url, *key, *value, *want;
	} cases[] = {
	    {"https://r/v2/a/blobs/uploads/u", "digest", "sha256:0123abcdef",
		"https://r/v2/a/blobs/uploads/u?digest="
		"sha256%3A0123abcdef"},
	    {"https://r/up?_state=a%2Bb%3D", "digest", "sha256:ab",
		"https://r/up?_state=a%2Bb%3D&digest=sha256%3Aab"},
	    {"https://r/up?", "k", "v", "https://r/up?k=v"},
	    {"https://r/up?a=1&", "k", "v", "https://r/up?a=1&k=v"},
	    {"https://r/up#frag", "k", "v", "https://r/up?k=v"},
	    {"https://r/up", "a b", "x/y?z&=~._-",
		"https://r/up?a%20b=x%2Fy%3Fz%26%3D~._-"},
	    {"https://r/up", "k", "\xc3\xa9", "https://r/up?k=%C3%A9"},
	    {"https://r/up", "k", "", "https://r/up?k="},
	};
	size_t i;
	char *got, *big;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = registry_url_add_query(
		    cases[i].url, cases[i].key, cases[i].value);
		assert_non_null(got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("query %zu: got %s", i, got);
		free(got);
	}
	got = registry_url_escape("AZaz09-._~ %/:");
	assert_string_equal(got, "AZaz09-._~%20%25%2F%3A");
	free(got);
	/* The ceiling. */
	big = malloc(REGISTRY_URL_MAX);
	assert_non_null(big);
	memset(big, 'a', REGISTRY_URL_MAX - 1);
	big[REGISTRY_URL_MAX - 1] = '\0';
	assert_null(registry_url_add_query("https://r/x", "k", big));
	free(big);
}

static void
test_url_same_origin(void **state)
{
	static const struct {
		const char *a, *b;
		int same;
	} cases[] = {
	    {"https://r.example/v2/", "https://r.example:443/x", 1},
	    {"http://r.example/v2/", "http://R.EXAMPLE:80", 1},
	    {"http://127.0.0.1:5000", "http://127.0.0.1:5000/v2/a?x", 1},
	    {"https://[::1]:5000/v2/", "https://[::1]:5000", 1},
	    {"https://[::1]/v2/", "https://[::1]:443", 1},
	    {"https://r.example", "http://r.example", 0},
	    {"https://r.example", "https://r.example:8443", 0},
	    {"https://r.example", "https://r.example.evil", 0},
	    {"https://r.example", "https://evil.r.example", 0},
	    {"http://127.0.0.1:5000", "http://127.0.0.1:50000", 0},
	    {"https://[::1]:5000", "https://[::2]:5000", 0},
	    {"https://r.example", "https://u@r.example", 0},
	    {"https://r.example", "/v2/", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (registry_url_same_origin(cases[i].a, cases[i].b) !=
		    cases[i].same)
			fail_msg("same_origin %zu: %s vs %s", i, cases[i].a,
			    cases[i].b);
		if (registry_url_same_origin(cases[i].b, cases[i].a) !=
		    cases[i].same)
			fail_msg("same_origin %zu reversed", i);
	}
	assert_int_equal(registry_url_same_origin(NULL, "https://a"), 0);
}

/* ------------------------------------------------------ names, digests */

static void
test_names(void **state)
{
	static const char *good_repo[] = {"a", "app", "team/app",
	    "a.b_c__d-e--f/g", "0/1/2", "registry/sub-project/x.y"};
	static const char *bad_repo[] = {"", "A", "app/", "/app", "a//b",
	    "a/../b", "-a", "a-", "a___b", "a b", "a%2fb", "a:b", "a?b", "a#b",
	    ".a", "a._b"};
	static const char *good_tag[] = {
	    "v1", "latest", "_x", "1.0.0-rc.1", "sha256-0123.sig", "A_b-C.d"};
	static const char *bad_tag[] = {
	    "", ".v1", "-v1", "v1/x", "v 1", "v1:x", "v1?x"};
	char tag129[130], repo256[257];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_repo) / sizeof(good_repo[0]); i++)
		if (!registry_repo_valid(good_repo[i]))
			fail_msg("repo %s refused", good_repo[i]);
	for (i = 0; i < sizeof(bad_repo) / sizeof(bad_repo[0]); i++)
		if (registry_repo_valid(bad_repo[i]))
			fail_msg("repo %s accepted", bad_repo[i]);
	for (i = 0; i < sizeof(good_tag) / sizeof(good_tag[0]); i++)
		if (!registry_tag_valid(good_tag[i]))
			fail_msg("tag %s refused", good_tag[i]);
	for (i = 0; i < sizeof(bad_tag) / sizeof(bad_tag[0]); i++)
		if (registry_tag_valid(bad_tag[i]))
			fail_msg("tag %s accepted", bad_tag[i]);
	memset(tag129, 'a', 129);
	tag129[129] = '\0';
	assert_false(registry_tag_valid(tag129));
	tag129[128] = '\0';
	assert_true(registry_tag_valid(tag129));
	memset(repo256, 'a', 256);
	repo256[256] = '\0';
	assert_false(registry_repo_valid(repo256));
	repo256[255] = '\0';
	assert_true(registry_repo_valid(repo256));
	assert_false(registry_repo_valid(NULL));

	assert_true(registry_digest_valid("sha256:"
					  "e3b0c44298fc1c149afbf4c8996fb924"
					  "27ae41e4649b934ca495991b7852b855"));
	assert_false(registry_digest_valid("sha256:"
					   "E3B0C44298FC1C149AFBF4C8996FB924"
					   "27AE41E4649B934CA495991B7852B855"));
	assert_false(registry_digest_valid("sha256:e3b0"));
	assert_false(
	    registry_digest_valid("sha256:"
				  "e3b0c44298fc1c149afbf4c8996fb924"
				  "27ae41e4649b934ca495991b7852b8550"));
	assert_false(
	    registry_digest_valid("md5:d41d8cd98f00b204e9800998ecf8427e"));
	assert_false(registry_digest_valid(NULL));
	{
		char d[8 + 128];

		memcpy(d, "sha512:", 7);
		memset(d + 7, 'f', 128);
		d[7 + 128] = '\0';
		assert_true(registry_digest_valid(d));
	}
	assert_string_equal(
	    registry_status_str(REGISTRY_NOT_FOUND), "not_found");
	assert_string_equal(
	    registry_status_str((enum registry_status)999), "unknown");
}

/* --------------------------------------------------------- credentials */

static void
test_docker_config_cases(void **state)
{
	/* Every secret in the fixtures, plain and base64. */
	static const char *secrets[] = {"s3cret", "pass:with", "localpass",
	    "hubpass", "legacypw", "inline", "evepw", "secretvalue",
	    "opaque-token", "refresh.sig", "YWxpY2U6", "ZXZlOmV2",
	    "c2VjcmV0dmFsdWU", "ZGF2ZTpp"};
	size_t i;
	char line[TEST_LINE_MAX], path[1024], err[512];
	int lineno = 0, failures = 0, cases = 0;
	FILE *fp;

	(void)state;
	fp = fopen(TEST_DIR "/docker-config/cases.txt", "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *f[8], *save = NULL, *text;
		struct registry_cred *c = (struct registry_cred *)1;
		size_t len = 0;
		int nf = 0, rc;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		for (f[nf] = strtok_r(line, " \n", &save);
		     f[nf] != NULL && nf < 7;
		     f[nf] = strtok_r(NULL, " \n", &save))
			nf++;
		assert_true(nf >= 3);
		snprintf(
		    path, sizeof(path), TEST_DIR "/docker-config/%s", f[0]);
		text = test_read_file(path, &len);
		assert_non_null(text);
		err[0] = '\0';
		rc = registry_cred_from_docker_json(
		    f[0], text, len, f[1], &c, err, sizeof(err));
		cases++;
		if (strcmp(f[2], "ok") == 0) {
			assert_true(nf == 6);
			if (rc != 0 || c == NULL ||
			    strcmp(c->username, f[3]) != 0 ||
			    strcmp(c->password, f[4]) != 0 ||
			    c->identity_token != atoi(f[5]) ||
			    strcmp(c->source, f[0]) != 0) {
				print_error("cases.txt:%d: %s %s: rc %d %s\n",
				    lineno, f[0], f[1], rc, err);
				failures++;
			}
		} else if (strcmp(f[2], "none") == 0) {
			if (rc != 0 || c != NULL) {
				print_error("cases.txt:%d: expected none, rc "
					    "%d %s\n",
				    lineno, rc, err);
				failures++;
			}
		} else {
			assert_string_equal(f[2], "error");
			if (rc != -1 || c != NULL ||
			    strstr(err, f[3]) == NULL) {
				print_error("cases.txt:%d: expected error "
					    "with '%s', rc %d: %s\n",
				    lineno, f[3], rc, err);
				failures++;
			}
			/* Messages never carry a secret from the file. */
			for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]);
			     i++) {
				if (strstr(err, secrets[i]) == NULL)
					continue;
				print_error("cases.txt:%d: secret in '%s'\n",
				    lineno, err);
				failures++;
			}
		}
		registry_cred_free(c != (struct registry_cred *)1 ? c : NULL);
		free(text);
	}
	fclose(fp);
	assert_true(cases >= 20);
	assert_int_equal(failures, 0);
}

/* The file-based lookup: DOCKER_CONFIG, then HOME/.docker. */
static void
test_docker_config_file(void **state)
{
	char dir[] = "/tmp/regward-test-registry.XXXXXX", path[512], err[512];
	struct registry_cred *c = NULL;
	char *text;
	size_t len = 0;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	text = test_read_file(TEST_DIR "/docker-config/basic.json", &len);
	assert_non_null(text);

	/* No file: anonymous. */
	setenv("DOCKER_CONFIG", dir, 1);
	assert_int_equal(registry_cred_from_docker_config(
			     "registry.example.com", &c, err, sizeof(err)),
	    0);
	assert_null(c);

	snprintf(path, sizeof(path), "%s/config.json", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
	assert_int_equal(registry_cred_from_docker_config(
			     "registry.example.com", &c, err, sizeof(err)),
	    0);
	assert_non_null(c);
	assert_string_equal(c->username, "alice");
	assert_string_equal(c->source, path);
	registry_cred_free(c);

	/* HOME/.docker/config.json when DOCKER_CONFIG is unset. */
	unsetenv("DOCKER_CONFIG");
	setenv("HOME", "/nonexistent-regward-home", 1);
	assert_int_equal(registry_cred_from_docker_config(
			     "registry.example.com", &c, err, sizeof(err)),
	    0);
	assert_null(c);

	/* registry_cred_default: environment first. */
	setenv("DOCKER_CONFIG", dir, 1);
	setenv("REGWARD_USERNAME", "envuser", 1);
	setenv("REGWARD_PASSWORD", "envpass", 1);
	assert_int_equal(
	    registry_cred_default("registry.example.com", &c, err, sizeof(err)),
	    0);
	assert_string_equal(c->username, "envuser");
	registry_cred_free(c);
	unsetenv("REGWARD_USERNAME");
	unsetenv("REGWARD_PASSWORD");
	assert_int_equal(
	    registry_cred_default("registry.example.com", &c, err, sizeof(err)),
	    0);
	assert_string_equal(c->username, "alice");
	registry_cred_free(c);

	/* A directory is not a config file. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(
	    registry_cred_from_docker_config("x", &c, err, sizeof(err)), -1);
	assert_null(c);
	assert_non_null(strstr(err, "config.json"));
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);
	unsetenv("DOCKER_CONFIG");
	free(text);
}

static void
test_cred_env(void **state)
{
	struct registry_cred *c = (struct registry_cred *)1;
	char err[256];

	(void)state;
	unsetenv("REGWARD_USERNAME");
	unsetenv("REGWARD_PASSWORD");
	assert_int_equal(registry_cred_from_env(&c, err, sizeof(err)), 0);
	assert_null(c);

	setenv("REGWARD_USERNAME", "ci-bot", 1);
	assert_int_equal(registry_cred_from_env(&c, err, sizeof(err)), -1);
	assert_null(c);
	assert_non_null(strstr(err, "REGWARD_PASSWORD"));

	setenv("REGWARD_PASSWORD", "eyJ.oidc.token", 1);
	assert_int_equal(registry_cred_from_env(&c, err, sizeof(err)), 0);
	assert_non_null(c);
	assert_string_equal(c->username, "ci-bot");
	assert_string_equal(c->password, "eyJ.oidc.token");
	assert_string_equal(c->source, "REGWARD_USERNAME");
	registry_cred_free(c);

	setenv("REGWARD_PASSWORD", "sec\nret", 1);
	assert_int_equal(registry_cred_from_env(&c, err, sizeof(err)), -1);
	assert_null(strstr(err, "sec"));
	setenv("REGWARD_PASSWORD", "x", 1);
	setenv("REGWARD_USERNAME", "us:er", 1);
	assert_int_equal(registry_cred_from_env(&c, err, sizeof(err)), -1);
	unsetenv("REGWARD_USERNAME");
	unsetenv("REGWARD_PASSWORD");
	registry_cred_free(NULL);
}

static void
test_cred_file(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		int rc;
		const char *pass;
	} cases[] = {
	    {"hunter2\n", 8, 0, "hunter2"},
	    {"hunter2", 7, 0, "hunter2"},
	    {"hunter2\r\n", 9, 0, "hunter2"},
	    {"hunter2\n\n", 9, 0, "hunter2"},
	    {"first\nsecond\n", 13, 0, "first"},
	    {"with space \n", 12, 0, "with space "},
	    {"\n", 1, -1, NULL},
	    {"", 0, -1, NULL},
	    {"a\rb\n", 4, -1, NULL},
	    {"a\0b\n", 4, -1, NULL},
	};
	struct registry_cred *c;
	char err[256], *big;
	size_t i;
	FILE *fp;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];

		memcpy(buf, cases[i].in, cases[i].len);
		fp = fmemopen(buf, cases[i].len > 0 ? cases[i].len : 1, "r");
		assert_non_null(fp);
		if (cases[i].len == 0)
			(void)getc(fp);
		if (registry_cred_from_file(fp, "u", &c, err, sizeof(err)) !=
		    cases[i].rc)
			fail_msg("password case %zu", i);
		if (cases[i].rc == 0) {
			assert_string_equal(c->password, cases[i].pass);
			assert_string_equal(c->username, "u");
			assert_string_equal(c->source, "stdin");
			registry_cred_free(c);
		} else {
			assert_null(c);
		}
		fclose(fp);
	}
	fp = fmemopen((void *)"pw\n", 3, "r");
	assert_int_equal(
	    registry_cred_from_file(fp, NULL, &c, err, sizeof(err)), -1);
	fclose(fp);
	/* The ceiling. */
	big = malloc(REGISTRY_PASSWORD_MAX + 10);
	assert_non_null(big);
	memset(big, 'p', REGISTRY_PASSWORD_MAX + 10);
	fp = fmemopen(big, REGISTRY_PASSWORD_MAX + 10, "r");
	assert_int_equal(
	    registry_cred_from_file(fp, "u", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer"));
	fclose(fp);
	free(big);

	/* new/dup validation */
	assert_null(registry_cred_new("", "p", NULL));
	assert_null(registry_cred_new("u", "", NULL));
	assert_null(registry_cred_new("u:x", "p", NULL));
	assert_null(registry_cred_new("u", "p\r", NULL));
	c = registry_cred_new("u", "p:with:colon", NULL);
	assert_non_null(c);
	c->identity_token = 1;
	{
		struct registry_cred *d = registry_cred_dup(c);

		assert_non_null(d);
		assert_string_equal(d->password, "p:with:colon");
		assert_int_equal(d->identity_token, 1);
		assert_null(d->source);
		registry_cred_free(d);
	}
	registry_cred_free(c);
	assert_null(registry_cred_dup(NULL));
}

/* -------------------------------------------------------------- client */

static void
test_client_new(void **state)
{
	struct registry_opts o;
	struct registry_err e;
	struct registry_mfst m;
	struct registry *reg;
	unsigned char *blob = (unsigned char *)1;
	size_t bloblen = 1;
	char err[256], dgst[REGISTRY_DIGEST_MAX];
	int skipped = 7;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.host = "registry.example.com:5000";
	reg = registry_new(&o, err, sizeof(err));
	assert_non_null(reg);
	assert_string_equal(
	    registry_base_url(reg), "https://registry.example.com:5000");

	/* Bad arguments fail before any network access. */
	memset(&m, 0xff, sizeof(m));
	m.body = NULL;
	assert_int_equal(
	    registry_manifest_get(reg, "Bad/Repo", "v1", NULL, &m, &e),
	    REGISTRY_INVALID);
	assert_null(m.body);
	assert_int_equal(m.len, 0);
	assert_non_null(strstr(e.msg, "repository"));
	assert_int_equal(
	    registry_manifest_get(reg, "app", "v1/../x", NULL, &m, &e),
	    REGISTRY_INVALID);
	assert_int_equal(
	    registry_manifest_get(reg, "app", "v1", "a\r\nb", &m, NULL),
	    REGISTRY_INVALID);
	assert_int_equal(
	    registry_blob_get(reg, "app", "v1", 100, &blob, &bloblen, &e),
	    REGISTRY_INVALID);
	assert_null(blob);
	assert_int_equal(bloblen, 0);
	assert_int_equal(
	    registry_blob_get(reg, "app",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649"
		"b934ca495991b7852b855",
		0, &blob, &bloblen, &e),
	    REGISTRY_INVALID);
	assert_int_equal(registry_manifest_put(reg, "app", "v1",
			     "application/x\r\nEvil: 1", "{}", 2, dgst, &e),
	    REGISTRY_INVALID);
	assert_string_equal(dgst, "");
	assert_int_equal(registry_manifest_put(reg, "app", "v1",
			     "application/vnd.oci.image.manifest.v1+json", "{}",
			     0, dgst, &e),
	    REGISTRY_INVALID);
	/* A body that does not hash to the digest it is put under. */
	assert_int_equal(
	    registry_manifest_put(reg, "app",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649"
		"b934ca495991b7852b855",
		"application/vnd.oci.image.manifest.v1+json", "{}", 2, dgst,
		&e),
	    REGISTRY_DIGEST_MISMATCH);
	assert_int_equal(
	    registry_blob_put(reg, "UP", "x", 1, dgst, &skipped, &e),
	    REGISTRY_INVALID);
	assert_int_equal(skipped, 0);
	assert_int_equal(registry_blob_head(reg, "app", "latest", NULL, &e),
	    REGISTRY_INVALID);
	registry_free(reg);

	o.host = "docker.io";
	o.insecure = 1;
	reg = registry_new(&o, err, sizeof(err));
	assert_non_null(reg);
	assert_string_equal(
	    registry_base_url(reg), "http://registry-1.docker.io");
	registry_free(reg);

	o.host = "[::1]:5000";
	reg = registry_new(&o, err, sizeof(err));
	assert_non_null(reg);
	assert_string_equal(registry_base_url(reg), "http://[::1]:5000");
	registry_free(reg);

	o.host = "evil.example/path";
	assert_null(registry_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "host"));
	o.host = "user@evil.example";
	assert_null(registry_new(&o, err, sizeof(err)));
	o.host = "";
	assert_null(registry_new(&o, err, sizeof(err)));
	assert_null(registry_new(NULL, err, sizeof(err)));
	registry_free(NULL);
	registry_mfst_clear(NULL);
}

/*
 * A connection refused gives REGISTRY_NETWORK with a message naming the
 * path: port 1 on 127.0.0.1 is never a registry.
 */
static void
test_client_network_error(void **state)
{
	struct registry_opts o;
	struct registry_err e;
	struct registry_desc d;
	struct registry_cred *c;
	struct registry *reg;
	char err[256];

	(void)state;
	c = registry_cred_new("alice", "TopSecret42", "test");
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1:1";
	o.insecure = 1;
	o.cred = c;
	o.connect_timeout_ms = 2000;
	reg = registry_new(&o, err, sizeof(err));
	assert_non_null(reg);
	registry_cred_free(c);
	assert_int_equal(registry_manifest_head(reg, "app", "v1", NULL, &d, &e),
	    REGISTRY_NETWORK);
	assert_non_null(strstr(e.msg, "HEAD /v2/app/manifests/v1"));
	assert_null(strstr(e.msg, "TopSecret42"));
	assert_int_equal(e.http_status, 0);
	assert_int_equal(registry_check(reg, &e), REGISTRY_NETWORK);
	registry_free(reg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auth_parse_cases),
	    cmocka_unit_test(test_auth_parse_limits),
	    cmocka_unit_test(test_auth_token_url),
	    cmocka_unit_test(test_auth_token_parse),
	    cmocka_unit_test(test_error_parse),
	    cmocka_unit_test(test_url_resolve),
	    cmocka_unit_test(test_url_query),
	    cmocka_unit_test(test_url_same_origin),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_docker_config_cases),
	    cmocka_unit_test(test_docker_config_file),
	    cmocka_unit_test(test_cred_env),
	    cmocka_unit_test(test_cred_file),
	    cmocka_unit_test(test_client_new),
	    cmocka_unit_test(test_client_network_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
