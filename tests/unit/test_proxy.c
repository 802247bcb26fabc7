/*
 * Unit tests for the proxy's header handling: gateway/head.c (bounded
 * heads, tokens, hop-by-hop) and gateway/rewrite.c (Location and Link to
 * public_url, cases in tests/data/rewrite/cases.txt).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "head.h"
#include "reply.h"
#include "rewrite.h"

#define UP "127.0.0.1:5000"
#define PUB "https://registry.example.com"

static void
test_rewrite_cases(void **state)
{
	char path[1024], line[4096], *kind, *in, *want, *nl;
	FILE *f;
	int n = 0, bad = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/rewrite/cases.txt", REGWARD_TEST_DATA);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		struct evbuffer *out;
		size_t len;
		char *got;

		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		kind = line;
		assert_non_null(in = strchr(kind, '\t'));
		*in++ = '\0';
		assert_non_null(want = strchr(in, '\t'));
		*want++ = '\0';
		assert_non_null(out = evbuffer_new());
		if (strcmp(kind, "location") == 0)
			assert_int_equal(
			    rewrite_location(out, in, strlen(in), UP, PUB), 0);
		else
			assert_int_equal(
			    rewrite_link(out, in, strlen(in), UP, PUB), 0);
		len = evbuffer_get_length(out);
		got = (char *)evbuffer_pullup(out, -1);
		if (len != strlen(want) ||
		    (len > 0 && memcmp(got, want, len) != 0)) {
			fprintf(stderr,
			    "%s: [%s]\n  want [%s]\n  got  [%.*s]\n", kind, in,
			    want, (int)len, got ? got : "");
			bad++;
		}
		evbuffer_free(out);
		n++;
	}
	fclose(f);
	assert_true(n >= 15);
	assert_int_equal(bad, 0);
}

/* Feed a head as http_parser would, in pieces. */
static void
head_put(struct head *h, const char *name, const char *value)
{
	size_t nl = strlen(name), half = nl / 2;

	assert_int_equal(head_add_name(h, name, half), HEAD_OK);
	assert_int_equal(head_add_name(h, name + half, nl - half), HEAD_OK);
	assert_int_equal(head_add_value(h, value, strlen(value)), HEAD_OK);
}

static void
test_head_fields(void **state)
{
	struct head h;
	int i;

	(void)state;
	head_init(&h, 4096);
	assert_int_equal(head_add_url(&h, "/v2/", 4), HEAD_OK);
	head_put(&h, "Host", "a");
	head_put(&h, "Connection", "keep-alive, X-Secret-Hop");
	head_put(&h, "X-Secret-Hop", "1");
	head_put(&h, "Keep-Alive", "timeout=5");
	head_put(&h, "Transfer-Encoding", "chunked");
	head_put(&h, "Docker-Content-Digest", "sha256:00");
	head_put(&h, "connection", "Close");
	assert_int_equal(h.nfields, 7);
	assert_memory_equal(head_ptr(&h, h.url), "/v2/", 4);
	assert_int_equal(head_find(&h, "host", 0), 0);
	assert_int_equal(head_find(&h, "CONNECTION", 2), 6);
	assert_int_equal(head_find(&h, "missing", 0), -1);
	assert_true(head_has_token(&h, "Connection", "close"));
	assert_true(head_has_token(&h, "Connection", "KEEP-ALIVE"));
	assert_false(head_has_token(&h, "Connection", "keep"));
	for (i = 0; i < 7; i++) {
		int hop = head_is_hop_by_hop(&h, (size_t)i);

		switch (i) {
		case 0: /* Host: the proxy replaces it, but not hop-by-hop */
		case 4: /* Transfer-Encoding travels with the raw framing */
		case 5:
			assert_false(hop);
			break;
		default:
			assert_true(hop);
		}
	}
	head_clear(&h);
}

static void
test_head_limits(void **state)
{
	struct head h;
	char big[600];
	size_t i;

	(void)state;
	memset(big, 'a', sizeof(big));
	head_init(&h, 1024);
	assert_int_equal(head_add_url(&h, big, 500), HEAD_OK);
	assert_int_equal(head_add_name(&h, big, 500), HEAD_OK);
	assert_int_equal(head_add_value(&h, big, 100), HEAD_TOO_LARGE);
	assert_true(h.len <= 1024);
	head_reset(&h);
	for (i = 0; i < HEAD_FIELDS_MAX; i++) {
		assert_int_equal(head_add_name(&h, "a", 1), HEAD_OK);
		assert_int_equal(head_add_value(&h, "b", 1), HEAD_OK);
	}
	assert_int_equal(head_add_name(&h, "c", 1), HEAD_TOO_LARGE);
	head_clear(&h);
	head_clear(&h); /* twice is fine */
}

static void
test_proxy_body_is(struct evbuffer *b, const char *want)
{
	size_t len = evbuffer_get_length(b);
	char *got = (char *)evbuffer_pullup(b, -1);

	if (len != strlen(want) || memcmp(got, want, len) != 0)
		fail_msg("got [%.*s]\nwant [%s]", (int)len, got, want);
	evbuffer_drain(b, len);
}

/* Every reply code has a row: a missing one would answer status 0. */
static void
test_reply_table(void **state)
{
	struct evbuffer *b;
	int c;

	(void)state;
	for (c = 0; c < REPLY__COUNT; c++) {
		const struct reply_info *ri = reply_info((enum reply_code)c);

		assert_true(ri->status >= 400 && ri->status <= 599);
		assert_non_null(ri->code);
		assert_non_null(ri->message);
		assert_string_not_equal(reply_reason(ri->status), "Unknown");
	}
	assert_non_null(b = evbuffer_new());
	/* Details are JSON-escaped. */
	assert_int_equal(reply_oci_body(b, REPLY_NAME_INVALID, "a \"q\"\n"), 0);
	test_proxy_body_is(b,
	    "{\"errors\":[{\"code\":\"NAME_INVALID\",\"message\":"
	    "\"invalid repository name\",\"detail\":\"a "
	    "\\\"q\\\"\\u000a\"}]}\n");
	/* A refusal says its reason in "message", which clients print. */
	assert_int_equal(
	    reply_oci_body(b, REPLY_DENIED, "push needs role:ci"), 0);
	test_proxy_body_is(b,
	    "{\"errors\":[{\"code\":\"DENIED\",\"message\":"
	    "\"push needs role:ci\",\"detail\":\"push needs role:ci\"}]}\n");
	evbuffer_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rewrite_cases),
	    cmocka_unit_test(test_head_fields),
	    cmocka_unit_test(test_head_limits),
	    cmocka_unit_test(test_reply_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
