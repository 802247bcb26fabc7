/*
 * test_config: data-driven tests for gateway/config.c.
 *
 * Cases live in REGWARD_TEST_DATA/config:
 *   valid/NAME.json    must load; valid/NAME.expect lists "key=value" lines
 *                      (keys from test_config_fields[], "(null)" for a NULL
 *                      string, '#' starts a comment). At least one line.
 *   invalid/NAME.json  must fail; invalid/NAME.err lists substrings, one a
 *                      line, that the one-line error must all contain ("!x":
 *                      must not contain x, e.g. a password). The error must
 *                      also start with the file's path.
 * Each file is its own cmocka test. Reload checks and a few API edges are
 * tables in this file.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "regward/config.h"

#ifndef REGWARD_TEST_DATA
#error "define REGWARD_TEST_DATA as the absolute path of tests/data"
#endif

#define TEST_CONFIG_DIR REGWARD_TEST_DATA "/config"
#define TEST_CONFIG_MIN_VALID 10 /* fewer means the data dir went missing */
#define TEST_CONFIG_MIN_INVALID 30 /* likewise */
#define TEST_CONFIG_LINE_MAX 1024

enum test_config_ftype {
	TEST_CONFIG_STR,
	TEST_CONFIG_INT,
	TEST_CONFIG_UINT,
	TEST_CONFIG_U16,
	TEST_CONFIG_SIZE,
};

/* Names an .expect file may use, and the member each one reads. */
struct test_config_field {
	const char *name;
	enum test_config_ftype type;
	size_t off;
};

#define TEST_CONFIG_OFF(m) offsetof(struct config, m)

/* clang-format off */
static const struct test_config_field test_config_fields[] = {
	{ "listen", TEST_CONFIG_STR, TEST_CONFIG_OFF(listen) },
	{ "listen.host", TEST_CONFIG_STR, TEST_CONFIG_OFF(listen_host) },
	{ "listen.port", TEST_CONFIG_U16, TEST_CONFIG_OFF(listen_port) },
	{ "public_url", TEST_CONFIG_STR, TEST_CONFIG_OFF(public_url) },
	{ "database", TEST_CONFIG_STR, TEST_CONFIG_OFF(database) },
	{ "tls.cert", TEST_CONFIG_STR, TEST_CONFIG_OFF(tls.cert) },
	{ "tls.key", TEST_CONFIG_STR, TEST_CONFIG_OFF(tls.key) },
	{ "upstream.url", TEST_CONFIG_STR, TEST_CONFIG_OFF(upstream.url) },
	{ "upstream.tls", TEST_CONFIG_INT, TEST_CONFIG_OFF(upstream.tls) },
	{ "upstream.host", TEST_CONFIG_STR, TEST_CONFIG_OFF(upstream.host) },
	{ "upstream.port", TEST_CONFIG_U16, TEST_CONFIG_OFF(upstream.port) },
	{ "upstream.authority", TEST_CONFIG_STR, TEST_CONFIG_OFF(upstream.authority) },
	{ "upstream.ca", TEST_CONFIG_STR, TEST_CONFIG_OFF(upstream.ca_file) },
	{ "upstream.pool_idle", TEST_CONFIG_UINT, TEST_CONFIG_OFF(upstream.pool_idle) },
	{ "limits.max_connections", TEST_CONFIG_UINT, TEST_CONFIG_OFF(limits.max_connections) },
	{ "limits.header_bytes", TEST_CONFIG_SIZE, TEST_CONFIG_OFF(limits.header_bytes) },
	{ "limits.upstream_header_bytes", TEST_CONFIG_SIZE, TEST_CONFIG_OFF(limits.upstream_header_bytes) },
	{ "limits.high_water", TEST_CONFIG_SIZE, TEST_CONFIG_OFF(limits.high_water) },
	{ "limits.manifest_bytes", TEST_CONFIG_SIZE, TEST_CONFIG_OFF(limits.manifest_bytes) },
	{ "timeouts.header", TEST_CONFIG_UINT, TEST_CONFIG_OFF(timeouts.header) },
	{ "timeouts.idle", TEST_CONFIG_UINT, TEST_CONFIG_OFF(timeouts.idle) },
	{ "timeouts.body", TEST_CONFIG_UINT, TEST_CONFIG_OFF(timeouts.body) },
	{ "timeouts.upstream_connect", TEST_CONFIG_UINT, TEST_CONFIG_OFF(timeouts.upstream_connect) },
	{ "timeouts.upstream_response", TEST_CONFIG_UINT, TEST_CONFIG_OFF(timeouts.upstream_response) },
	{ "timeouts.drain", TEST_CONFIG_UINT, TEST_CONFIG_OFF(timeouts.drain) },
	{ "audit.keep_days", TEST_CONFIG_UINT, TEST_CONFIG_OFF(audit_keep_days) },
	{ "log.file", TEST_CONFIG_STR, TEST_CONFIG_OFF(log_file) },
	{ "sandbox.user", TEST_CONFIG_STR, TEST_CONFIG_OFF(sandbox.user) },
	{ "sandbox.group", TEST_CONFIG_STR, TEST_CONFIG_OFF(sandbox.group) },
	{ "sandbox.seccomp", TEST_CONFIG_INT, TEST_CONFIG_OFF(sandbox.seccomp) },
	{ "path", TEST_CONFIG_STR, TEST_CONFIG_OFF(path) },
};
/* clang-format on */

#define TEST_CONFIG_NFIELDS                                                    \
	(sizeof(test_config_fields) / sizeof(test_config_fields[0]))

/* One data-file case: the .json and its .expect or .err sibling. */
struct test_config_case {
	char json[PATH_MAX];
	char side[PATH_MAX];
	char name[NAME_MAX + 16];
};

/* Render a field of cfg as the .expect files write it. */
static void
test_config_fmt(const struct config *cfg, const struct test_config_field *f,
    char *buf, size_t len)
{
	const char *p = (const char *)cfg + f->off;
	const char *s;

	switch (f->type) {
	case TEST_CONFIG_STR:
		memcpy(&s, p, sizeof(s));
		snprintf(buf, len, "%s", s != NULL ? s : "(null)");
		break;
	case TEST_CONFIG_INT:
		snprintf(buf, len, "%d", *(const int *)(const void *)p);
		break;
	case TEST_CONFIG_UINT:
		snprintf(buf, len, "%u", *(const unsigned *)(const void *)p);
		break;
	case TEST_CONFIG_U16:
		snprintf(buf, len, "%u",
		    (unsigned)*(const uint16_t *)(const void *)p);
		break;
	case TEST_CONFIG_SIZE:
		snprintf(buf, len, "%zu", *(const size_t *)(const void *)p);
		break;
	}
}

static const struct test_config_field *
test_config_field_find(const char *name)
{
	size_t i;

	for (i = 0; i < TEST_CONFIG_NFIELDS; i++) {
		if (strcmp(test_config_fields[i].name, name) == 0)
			return &test_config_fields[i];
	}
	return NULL;
}

/* Strip the line end; return NULL for blank and comment lines. */
static char *
test_config_line(char *line)
{
	size_t n = strcspn(line, "\r\n");

	line[n] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return NULL;
	return line;
}

/* valid/NAME.json loads and matches every line of NAME.expect. */
static void
test_config_valid(void **state)
{
	const struct test_config_case *tc = *state;
	const struct test_config_field *f;
	char err[CONFIG_ERR_MAX], line[TEST_CONFIG_LINE_MAX], got[512];
	struct config *cfg = NULL;
	char *l, *eq;
	FILE *fp;
	int n = 0;

	if (config_load(tc->json, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s: expected to load, got: %s", tc->name, err);
	assert_non_null(cfg);
	assert_string_equal(cfg->path, tc->json);

	if ((fp = fopen(tc->side, "r")) == NULL)
		fail_msg("%s: %s", tc->side, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((l = test_config_line(line)) == NULL)
			continue;
		if ((eq = strchr(l, '=')) == NULL)
			fail_msg("%s: line without '=': %s", tc->side, l);
		*eq = '\0';
		if ((f = test_config_field_find(l)) == NULL)
			fail_msg("%s: unknown field %s", tc->side, l);
		test_config_fmt(cfg, f, got, sizeof(got));
		if (strcmp(got, eq + 1) != 0)
			fail_msg("%s: %s: expected \"%s\", got \"%s\"",
			    tc->name, l, eq + 1, got);
		n++;
	}
	fclose(fp);
	if (n == 0)
		fail_msg("%s: asserts nothing", tc->side);
	config_free(cfg);
}

/* invalid/NAME.json fails with a one-line error holding each .err line. */
static void
test_config_invalid(void **state)
{
	const struct test_config_case *tc = *state;
	char err[CONFIG_ERR_MAX], line[TEST_CONFIG_LINE_MAX];
	static struct config sentinel;
	struct config *cfg = &sentinel; /* config_load must reset it */
	size_t plen = strlen(tc->json);
	FILE *fp;
	char *l;
	int n = 0;

	memset(err, 'x', sizeof(err));
	if (config_load(tc->json, &cfg, err, sizeof(err)) != -1)
		fail_msg("%s: expected an error", tc->name);
	assert_null(cfg);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	if (strncmp(err, tc->json, plen) != 0 || err[plen] != ':')
		fail_msg("%s: error does not start with the file: %s", tc->name,
		    err);
	if (strchr(err, '\n') != NULL)
		fail_msg("%s: error is not one line: %s", tc->name, err);

	if ((fp = fopen(tc->side, "r")) == NULL)
		fail_msg("%s: %s", tc->side, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((l = test_config_line(line)) == NULL)
			continue;
		if (l[0] == '!' && strstr(err, l + 1) != NULL)
			fail_msg(
			    "%s: error holds \"%s\": %s", tc->name, l + 1, err);
		if (l[0] != '!' && strstr(err, l) == NULL)
			fail_msg(
			    "%s: error lacks \"%s\": %s", tc->name, l, err);
		n++;
	}
	fclose(fp);
	if (n == 0)
		fail_msg("%s: asserts nothing", tc->side);
}

static int
test_config_case_cmp(const void *a, const void *b)
{
	const struct test_config_case *ca = a, *cb = b;

	return strcmp(ca->name, cb->name);
}

/*
 * Append to *cases one case per NAME.json in directory sub, sorted, each
 * with its sibling NAME.<side>. Returns the number added, or -1.
 */
static int
test_config_scan(const char *sub, const char *side,
    struct test_config_case **cases, size_t *ncases)
{
	char dir[PATH_MAX];
	struct test_config_case *tc, *grown;
	struct dirent *de;
	size_t n0 = *ncases, len;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", TEST_CONFIG_DIR, sub);
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		grown = realloc(*cases, (*ncases + 1) * sizeof(**cases));
		if (grown == NULL) {
			closedir(d);
			return -1;
		}
		*cases = grown;
		tc = &(*cases)[(*ncases)++];
		if (snprintf(tc->json, sizeof(tc->json), "%s/%s", dir,
			de->d_name) >= (int)sizeof(tc->json) ||
		    snprintf(tc->side, sizeof(tc->side), "%s/%.*s.%s", dir,
			(int)(len - 5), de->d_name,
			side) >= (int)sizeof(tc->side) ||
		    snprintf(tc->name, sizeof(tc->name), "%s/%.*s", sub,
			(int)(len - 5), de->d_name) >= (int)sizeof(tc->name)) {
			fprintf(
			    stderr, "%s/%s: path too long\n", dir, de->d_name);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (*ncases > n0)
		qsort(*cases + n0, *ncases - n0, sizeof(**cases),
		    test_config_case_cmp);
	return (int)(*ncases - n0);
}

/* A reload from old to new: rc 0, or -1 with want in the message. */
struct test_config_reload {
	const char *name;
	const char *old;
	const char *new;
	int rc;
	const char *want;
};

#define TEST_CONFIG_BASE                                                       \
	"\"public_url\": \"https://r.example.com\", \"database\": \"a.db\""
#define TEST_CONFIG_UP "\"upstream\": {\"url\": \"http://127.0.0.1:5000\"}"

/* clang-format off */
static struct test_config_reload test_config_reloads[] = {
	{ "same",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}", 0, NULL },
	{ "public_url changes",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{\"public_url\": \"https://other.example.com\", \"database\": \"a.db\", "
	    TEST_CONFIG_UP "}", 0, NULL },
	{ "timeouts and limits change",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"timeouts\": "
	    "{\"header\": \"10s\", \"drain\": 0}, \"limits\": "
	    "{\"header_bytes\": 8192, \"manifest_bytes\": 65536}}", 0, NULL },
	{ "tls paths change",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"tls\": "
	    "{\"cert\": \"a.pem\", \"key\": \"a.key\"}}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"tls\": "
	    "{\"cert\": \"b.pem\", \"key\": \"b.key\"}}", 0, NULL },
	{ "log file changes",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"log\": "
	    "{\"file\": \"/var/log/regward.log\"}}", -1, "log.file: cannot change" },
	{ "listen written differently, same address",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"listen\": \"127.0.0.1:8443\"}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"listen\": \"127.0.0.1:08443\"}",
	    0, NULL },
	{ "upstream url trailing slash",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", \"upstream\": {\"url\": \"http://127.0.0.1:5000/\"}}",
	    0, NULL },
	{ "listen port",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"listen\": \"127.0.0.1:9443\"}",
	    -1, "listen: cannot change on reload, restart regward" },
	{ "listen host",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"listen\": \"[::1]:8443\"}",
	    -1, "listen: cannot change" },
	{ "database",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{\"public_url\": \"https://r.example.com\", \"database\": \"b.db\", "
	    TEST_CONFIG_UP "}", -1, "database: cannot change" },
	{ "upstream url",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", \"upstream\": {\"url\": \"http://127.0.0.1:5001\"}}",
	    -1, "upstream.url: cannot change" },
	{ "upstream scheme",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", \"upstream\": {\"url\": \"https://127.0.0.1:5000\"}}",
	    -1, "upstream.url: cannot change" },
	{ "upstream pool_idle",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", \"upstream\": {\"url\": \"http://127.0.0.1:5000\", "
	    "\"pool_idle\": 8}}", -1, "upstream.pool_idle: cannot change" },
	{ "upstream ca",
	    "{" TEST_CONFIG_BASE ", \"upstream\": {\"url\": \"https://reg:5000\"}}",
	    "{" TEST_CONFIG_BASE ", \"upstream\": {\"url\": \"https://reg:5000\", "
	    "\"ca\": \"ca.pem\"}}", -1, "upstream.ca: cannot change" },
	{ "max_connections",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"limits\": "
	    "{\"max_connections\": 10}}", -1, "limits.max_connections: cannot change" },
	{ "tls turned on",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"tls\": "
	    "{\"cert\": \"a.pem\", \"key\": \"a.key\"}}", -1, "tls: cannot change" },
	{ "tls turned off",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP ", \"tls\": "
	    "{\"cert\": \"a.pem\", \"key\": \"a.key\"}}",
	    "{" TEST_CONFIG_BASE ", " TEST_CONFIG_UP "}", -1, "tls: cannot change" },
};
/* clang-format on */

#define TEST_CONFIG_NRELOADS                                                   \
	(sizeof(test_config_reloads) / sizeof(test_config_reloads[0]))

static struct config *
test_config_must_load(const char *text)
{
	char err[CONFIG_ERR_MAX];
	struct config *cfg = NULL;

	if (config_load_buffer(
		"mem.json", text, strlen(text), &cfg, err, sizeof(err)) != 0)
		fail_msg("load failed: %s (%s)", err, text);
	return cfg;
}

static void
test_config_reload(void **state)
{
	const struct test_config_reload *tr = *state;
	char err[CONFIG_ERR_MAX];
	struct config *a, *b;
	int rc;

	a = test_config_must_load(tr->old);
	b = test_config_must_load(tr->new);
	rc = config_reload_check(a, b, err, sizeof(err));
	if (rc != tr->rc)
		fail_msg("%s: rc %d, want %d (%s)", tr->name, rc, tr->rc, err);
	if (tr->want != NULL && strstr(err, tr->want) == NULL)
		fail_msg(
		    "%s: error \"%s\" lacks \"%s\"", tr->name, err, tr->want);
	/* Reloading the same file is always allowed. */
	assert_int_equal(config_reload_check(b, b, err, sizeof(err)), 0);
	config_free(a);
	config_free(b);
}

/* A missing file: "<file>: <strerror>", *out NULL. */
static void
test_config_missing_file(void **state)
{
	const char *path = TEST_CONFIG_DIR "/does-not-exist.json";
	char err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	static struct config sentinel;
	struct config *cfg = &sentinel;

	(void)state;
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);
}

/* A directory is not a config file; the error still names it. */
static void
test_config_directory(void **state)
{
	const char *path = TEST_CONFIG_DIR;
	char err[CONFIG_ERR_MAX];
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
}

/* A file over the size ceiling is refused before parsing. */
static void
test_config_too_large(void **state)
{
	char path[] = "/tmp/test_config.XXXXXX";
	char err[CONFIG_ERR_MAX], buf[4096];
	struct config *cfg = NULL;
	size_t i;
	FILE *fp;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	memset(buf, ' ', sizeof(buf));
	for (i = 0; i < (size_t)2 * 1024 * 1024 / sizeof(buf); i++)
		assert_int_equal(fwrite(buf, 1, sizeof(buf), fp), sizeof(buf));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	unlink(path);
	assert_null(cfg);
	assert_non_null(strstr(err, "larger than"));
}

/* A short error buffer is truncated, never overrun; NULL err is allowed. */
static void
test_config_short_err(void **state)
{
	const char *bad = "{\"bogus\": 1}";
	char err[8 + 1];
	struct config *cfg = NULL;

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(config_load_buffer("long-file-name.json", bad,
			     strlen(bad), &cfg, err, sizeof(err) - 1),
	    -1);
	assert_null(cfg);
	assert_int_equal(strlen(err), sizeof(err) - 2);
	assert_int_equal(err[sizeof(err) - 1], 'x');
	assert_int_equal(
	    config_load_buffer("m", bad, strlen(bad), &cfg, NULL, 0), -1);
	assert_null(cfg);
}

/* In-memory loading: name in messages, a control byte in a key. */
static void
test_config_buffer(void **state)
{
	const char *bad = "{\"a\\nb\": 1}";
	char err[CONFIG_ERR_MAX];
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(config_load_buffer("inline", bad, strlen(bad), &cfg,
			     err, sizeof(err)),
	    -1);
	assert_string_equal(err, "inline: a?b: unknown key");
	assert_int_equal(
	    config_load_buffer("inline", "", 0, &cfg, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "inline:1:", 9), 0);
	config_free(NULL);
}

int
main(void)
{
	struct test_config_case *cases = NULL;
	struct CMUnitTest *tests = NULL;
	size_t ncases = 0, nvalid, ntests = 0, i;
	int nv, ni, rc = 1;

	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_config_missing_file),
	    cmocka_unit_test(test_config_directory),
	    cmocka_unit_test(test_config_too_large),
	    cmocka_unit_test(test_config_short_err),
	    cmocka_unit_test(test_config_buffer),
	};
	const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);

	if ((nv = test_config_scan("valid", "expect", &cases, &ncases)) < 0)
		goto out;
	nvalid = ncases;
	if ((ni = test_config_scan("invalid", "err", &cases, &ncases)) < 0)
		goto out;
	if (nv < TEST_CONFIG_MIN_VALID || ni < TEST_CONFIG_MIN_INVALID) {
		fprintf(stderr, "only %d valid and %d invalid cases in %s\n",
		    nv, ni, TEST_CONFIG_DIR);
		goto out;
	}
	tests = calloc(ncases + TEST_CONFIG_NRELOADS + nfixed, sizeof(*tests));
	if (tests == NULL)
		goto out;
	for (i = 0; i < ncases; i++) {
		tests[ntests].name = cases[i].name;
		tests[ntests].test_func =
		    i < nvalid ? test_config_valid : test_config_invalid;
		tests[ntests].initial_state = &cases[i];
		ntests++;
	}
	for (i = 0; i < TEST_CONFIG_NRELOADS; i++) {
		tests[ntests].name = test_config_reloads[i].name;
		tests[ntests].test_func = test_config_reload;
		tests[ntests].initial_state = &test_config_reloads[i];
		ntests++;
	}
	for (i = 0; i < nfixed; i++)
		tests[ntests++] = fixed[i];
	rc = _cmocka_run_group_tests("config", tests, ntests, NULL, NULL);
out:
	free(tests);
	free(cases);
	return rc;
}
