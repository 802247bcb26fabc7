/*
 * test_http_fetch: signer/http_fetch.c without the network: the
 * Cache-Control parser that schedules JWKS refreshes, the URL rule
 * (https, or http to the loopback only), and the refusals that come
 * before any connection. One case connects to 127.0.0.1 port 1, where
 * nothing listens, to see a network error reported with its URL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "regward/registry.h"

struct cc_case {
	const char *cc;
	long want;
};

static void
test_cache_max_age(void **state)
{
	static const struct cc_case cases[] = {
	    {NULL, -1},
	    {"", -1},
	    {"public", -1},
	    {"max-age=300", 300},
	    {"public, max-age=21600", 21600},
	    {"Max-Age=60, must-revalidate", 60},
	    {"max-age=\"120\"", 120},
	    {"max-age = 90", 90},
	    {"private,max-age=0", 0},
	    {"max-age=", -1},
	    {"max-age=-5", -1},
	    {"max-age=12abc", -1},
	    {"max-age=1e3", -1},
	    {"max-age=10, max-age=99", 10},
	    {"max-age=bad, max-age=99", 99},
	    {"s-maxage=600", -1},
	    {"s-maxage=600, max-age=30", 30},
	    {"no-cache", 0},
	    {"max-age=3600, no-store", 0},
	    {"NO-CACHE, max-age=3600", 0},
	    {"no-cachex, max-age=5", 5},
	    {"foo=\"a,max-age=7\", max-age=8", 8},
	    {"max-age=99999999999999999999999", REGISTRY_MAX_AGE_CAP},
	    {"max-age=31536001", REGISTRY_MAX_AGE_CAP},
	    {",,, max-age=42 ,,", 42},
	};
	size_t i;
	long got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = registry_cache_max_age(cases[i].cc);
		if (got != cases[i].want)
			fail_msg("Cache-Control \"%s\": got %ld, want %ld",
			    cases[i].cc != NULL ? cases[i].cc : "(null)", got,
			    cases[i].want);
	}
}

struct url_case {
	const char *url;
	int ok;
	int loopback;
};

static void
test_url_ok(void **state)
{
	static const struct url_case cases[] = {
	    {"https://token.actions.githubusercontent.com/.well-known/jwks", 1,
		0},
	    {"https://gitlab.example.com:8443/oauth/discovery/keys?x=1", 1, 0},
	    {"https://h", 1, 0},
	    {"http://127.0.0.1:8080/jwks.json", 1, 1},
	    {"http://127.0.0.1/jwks.json", 1, 1},
	    {"http://localhost:1/", 1, 1},
	    {"http://LOCALHOST/x", 1, 1},
	    {"http://[::1]:9/x", 1, 1},
	    {"http://example.com/jwks", 0, 0},
	    {"http://127.0.0.1.example.com/jwks", 0, 0},
	    {"http://127.0.0.2/jwks", 0, 0},
	    {"http://localhost:80x/", 0, 0},
	    {"http://localhost:/", 0, 0},
	    {"http://user@127.0.0.1/", 0, 0},
	    {"https://user:pw@h/", 0, 0},
	    {"https:///path", 0, 0},
	    {"https://h/a#frag", 0, 0},
	    {"https://h/a b", 0, 0},
	    {"ftp://h/", 0, 0},
	    {"file:///etc/passwd", 0, 0},
	    {"", 0, 0},
	    {NULL, 0, 0},
	};
	size_t i;
	int ok, loop;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		loop = -1;
		ok = registry_http_url_ok(cases[i].url, &loop);
		if (ok != cases[i].ok || loop != cases[i].loopback)
			fail_msg("%s: ok %d loopback %d, want %d %d",
			    cases[i].url != NULL ? cases[i].url : "(null)", ok,
			    loop, cases[i].ok, cases[i].loopback);
	}
}

static void
test_get_refusals(void **state)
{
	struct registry_http_opts o;
	struct registry_http_resp resp;
	struct registry_err err;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.max_bytes = 1024;
	assert_int_equal(
	    registry_http_get("http://example.com/jwks", &o, &resp, &err),
	    REGISTRY_INVALID);
	assert_null(resp.body);
	assert_non_null(strstr(err.msg, "GET http://example.com/jwks: "));
	o.max_bytes = 0;
	assert_int_equal(registry_http_get("https://h/jwks", &o, &resp, &err),
	    REGISTRY_INVALID);
	assert_int_equal(registry_http_get("https://h/jwks", NULL, &resp, &err),
	    REGISTRY_INVALID);

	/* Nothing listens on port 1: a network error naming the URL. */
	o.max_bytes = 1024;
	o.connect_timeout_ms = 2000;
	o.timeout_ms = 2000;
	assert_int_equal(registry_http_global_init(), 0);
	assert_int_equal(registry_http_get("http://127.0.0.1:1/jwks?secret=1",
			     &o, &resp, &err),
	    REGISTRY_NETWORK);
	assert_null(resp.body);
	assert_non_null(strstr(err.msg, "GET http://127.0.0.1:1/jwks: "));
	assert_null(strstr(err.msg, "secret"));
	registry_http_resp_clear(&resp);
	registry_http_resp_clear(NULL);
	registry_http_global_cleanup();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cache_max_age),
	    cmocka_unit_test(test_url_ok),
	    cmocka_unit_test(test_get_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
