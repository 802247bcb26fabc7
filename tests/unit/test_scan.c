/*
 * test_scan: data-driven tests for signer/scan.c.
 *
 * Cases live in REGWARD_TEST_DATA/scan:
 *   valid/NAME.json      a report; valid/NAME.expect holds blocks, each
 *                        opened by "[fail_on=X]" or "[fail_on=X
 *                        ignore_unfixed]" and followed by "key=value" lines
 *                        (keys in test_scan_check()) that the report loaded
 *                        with those options must match, or "error=text"
 *                        when loading must fail with text in the message.
 *   shared/NAME.expect   the same for the upstream fixture
 *                        REGWARD_SHARED/fixtures/scans/NAME.json; skipped
 *                        when ../shared is not there.
 *   invalid/NAME.json    must fail to load (fail-on high); NAME.err lists
 *                        substrings, one a line, that the one-line error
 *                        must contain ("!x": must not contain x). The error
 *                        starts with the file's path.
 *   payload/valid/NAME.json    a "dev.regward.scan" object that
 *                        scan_from_json() accepts; NAME.expect as above,
 *                        without blocks.
 *   payload/invalid/NAME.json  one it refuses; NAME.err as above.
 * Expected counts come from expected.py, an independent reading of the
 * same rules. Every loaded report also goes through scan_to_json() and
 * scan_from_json() and must come back the same.
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
#include <jansson.h>

#include "regward/scan.h"

#ifndef REGWARD_TEST_DATA
#error "define REGWARD_TEST_DATA as the absolute path of tests/data"
#endif
#ifndef REGWARD_SHARED
#error "define REGWARD_SHARED as the absolute path of ../shared"
#endif

#define TEST_SCAN_DIR REGWARD_TEST_DATA "/scan"
#define TEST_SCAN_SHARED REGWARD_SHARED "/fixtures/scans"
#define TEST_SCAN_LINE_MAX 1024
#define TEST_SCAN_MIN_VALID 8 /* fewer: the data dir went missing */
#define TEST_SCAN_MIN_INVALID 25 /* likewise */
#define TEST_SCAN_MIN_SHARED 10 /* upstream fixtures */
#define TEST_SCAN_MIN_PAYLOAD_OK 3 /* payload/valid */
#define TEST_SCAN_MIN_PAYLOAD_BAD 10 /* payload/invalid */

enum test_scan_kind {
	TEST_SCAN_REPORT, /* .json + .expect with blocks */
	TEST_SCAN_INVALID, /* .json + .err */
	TEST_SCAN_PAYLOAD_OK, /* payload .json + .expect, no blocks */
	TEST_SCAN_PAYLOAD_BAD, /* payload .json + .err */
};

/* One data-file case. */
struct test_scan_case {
	enum test_scan_kind kind;
	char json[PATH_MAX];
	char side[PATH_MAX];
	char name[NAME_MAX + 32];
	int shared; /* json is in ../shared */
};

static int test_scan_have_shared;

/* The members scan_to_json() must write, and nothing else. */
static const char *const test_scan_keys[] = {
    "schema_version",
    "scanner",
    "format",
    "scanner_version",
    "db_version",
    "db_built",
    "artifact",
    "artifact_digest",
    "image_id",
    "finished_at",
    "counts",
    "unfixed_ignored",
    "ignore_unfixed",
    "nothing_scanned",
    "fail_on",
    "verdict",
};

#define TEST_SCAN_NKEYS (sizeof(test_scan_keys) / sizeof(test_scan_keys[0]))

/* Strip the line end; NULL for blank and comment lines. */
static char *
test_scan_line(char *line)
{
	size_t n = strcspn(line, "\r\n");

	line[n] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return NULL;
	return line;
}

static const char *
test_scan_str(const char *s)
{
	return s != NULL ? s : "(null)";
}

/*
 * Render the member called key of r as the .expect files write it into
 * buf. Returns 0, or -1 when key is not a known name.
 */
static int
test_scan_fmt(
    const struct scan_report *r, const char *key, char *buf, size_t len)
{
	enum scan_sev sev;
	unsigned long idx;
	char *end;

	buf[0] = '\0';
	if (strcmp(key, "format") == 0)
		snprintf(buf, len, "%s", scan_format_name(r->format));
	else if (strcmp(key, "scanner") == 0)
		snprintf(buf, len, "%s", test_scan_str(r->scanner));
	else if (strcmp(key, "scanner_version") == 0)
		snprintf(buf, len, "%s", test_scan_str(r->scanner_version));
	else if (strcmp(key, "db_version") == 0)
		snprintf(buf, len, "%s", test_scan_str(r->db_version));
	else if (strcmp(key, "db_built") == 0)
		snprintf(buf, len, "%s", test_scan_str(r->db_built));
	else if (strcmp(key, "artifact") == 0)
		snprintf(buf, len, "%s", test_scan_str(r->artifact));
	else if (strcmp(key, "artifact_digest") == 0)
		snprintf(buf, len, "%s", test_scan_str(r->artifact_digest));
	else if (strcmp(key, "image_id") == 0)
		snprintf(buf, len, "%s", test_scan_str(r->image_id));
	else if (strcmp(key, "finished_at") == 0)
		snprintf(buf, len, "%s", test_scan_str(r->finished_at));
	else if (strcmp(key, "finished_at_unix") == 0)
		snprintf(buf, len, "%lld", (long long)r->finished_at_unix);
	else if (strcmp(key, "critical") == 0)
		snprintf(buf, len, "%zu", r->counts[SCAN_SEV_CRITICAL]);
	else if (strcmp(key, "high") == 0)
		snprintf(buf, len, "%zu", r->counts[SCAN_SEV_HIGH]);
	else if (strcmp(key, "medium") == 0)
		snprintf(buf, len, "%zu", r->counts[SCAN_SEV_MEDIUM]);
	else if (strcmp(key, "low") == 0)
		snprintf(buf, len, "%zu", r->counts[SCAN_SEV_LOW]);
	else if (strcmp(key, "unknown") == 0)
		snprintf(buf, len, "%zu", r->counts[SCAN_SEV_UNKNOWN]);
	else if (strcmp(key, "negligible") == 0)
		snprintf(buf, len, "%zu", r->negligible);
	else if (strcmp(key, "unfixed_ignored") == 0)
		snprintf(buf, len, "%zu", r->unfixed_ignored);
	else if (strcmp(key, "ignore_unfixed") == 0)
		snprintf(buf, len, "%d", r->ignore_unfixed);
	else if (strcmp(key, "nothing_scanned") == 0)
		snprintf(buf, len, "%d", r->nothing_scanned);
	else if (strcmp(key, "fail_on") == 0)
		snprintf(buf, len, "%s", scan_sev_name(r->fail_on));
	else if (strcmp(key, "verdict") == 0)
		snprintf(buf, len, "%s", r->fail ? "fail" : "pass");
	else if (strcmp(key, "nworst") == 0)
		snprintf(buf, len, "%zu", r->nworst);
	else if (strcmp(key, "summary") == 0)
		assert_int_equal(scan_summary(r, buf, len), 0);
	else if (strncmp(key, "verdict@", 8) == 0) {
		if (scan_fail_on_parse(key + 8, &sev) == -1)
			return -1;
		snprintf(buf, len, "%s",
		    scan_verdict(r->counts, sev) ? "fail" : "pass");
	} else if (strncmp(key, "worst", 5) == 0) {
		errno = 0;
		idx = strtoul(key + 5, &end, 10);
		if (key[5] == '\0' || *end != '\0' || errno != 0)
			return -1;
		if (idx >= r->nworst)
			snprintf(buf, len, "(none)");
		else
			assert_int_equal(
			    scan_finding_format(&r->worst[idx], buf, len), 0);
	} else
		return -1;
	return 0;
}

/* One "key=value" line against r; fails the test on a mismatch. */
static void
test_scan_check(
    const char *name, const struct scan_report *r, char *l, int lineno)
{
	char got[TEST_SCAN_LINE_MAX];
	char *eq;

	if ((eq = strchr(l, '=')) == NULL)
		fail_msg("%s:%d: expected key=value: %s", name, lineno, l);
	*eq = '\0';
	if (test_scan_fmt(r, l, got, sizeof(got)) == -1)
		fail_msg("%s:%d: unknown key \"%s\"", name, lineno, l);
	if (strcmp(got, eq + 1) != 0)
		fail_msg("%s:%d: %s is \"%s\", expected \"%s\"", name, lineno,
		    l, got, eq + 1);
}

/* The keys of the "dev.regward.scan" object, exactly. */
static void
test_scan_check_keys(const char *name, const json_t *obj)
{
	const char *key;
	json_t *v, *counts;
	size_t i;

	assert_int_equal(json_object_size(obj), TEST_SCAN_NKEYS);
	for (i = 0; i < TEST_SCAN_NKEYS; i++) {
		if (json_object_get(obj, test_scan_keys[i]) == NULL)
			fail_msg("%s: payload lacks \"%s\"", name,
			    test_scan_keys[i]);
	}
	counts = json_object_get(obj, "counts");
	assert_int_equal(json_object_size(counts), 6);
	json_object_foreach(counts, key, v)
	{
		if (!json_is_integer(v))
			fail_msg("%s: counts.%s not an integer", name, key);
	}
}

/*
 * r survives scan_to_json() and scan_from_json() with every member the
 * object carries intact, and renders again to an equal object.
 */
static void
test_scan_roundtrip(const char *name, const struct scan_report *r)
{
	static const char *const keys[] = {"format", "scanner",
	    "scanner_version", "db_version", "db_built", "artifact",
	    "artifact_digest", "image_id", "finished_at", "finished_at_unix",
	    "critical", "high", "medium", "low", "unknown", "negligible",
	    "unfixed_ignored", "ignore_unfixed", "nothing_scanned", "fail_on",
	    "verdict"};
	char err[SCAN_ERR_MAX], a[TEST_SCAN_LINE_MAX], b[TEST_SCAN_LINE_MAX];
	struct scan_report *back = NULL;
	json_t *obj, *again;
	size_t i;

	assert_non_null(obj = scan_to_json(r));
	test_scan_check_keys(name, obj);
	if (scan_from_json("payload", obj, &back, err, sizeof(err)) != 0)
		fail_msg("%s: round trip refused: %s", name, err);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(test_scan_fmt(r, keys[i], a, sizeof(a)), 0);
		assert_int_equal(test_scan_fmt(back, keys[i], b, sizeof(b)), 0);
		if (strcmp(a, b) != 0)
			fail_msg("%s: round trip changed %s: \"%s\" -> \"%s\"",
			    name, keys[i], a, b);
	}
	assert_int_equal(back->nworst, 0);
	assert_non_null(again = scan_to_json(back));
	assert_true(json_equal(obj, again));
	json_decref(again);
	json_decref(obj);
	scan_free(back);
}

/*
 * Parse a block header "[fail_on=X]" or "[fail_on=X ignore_unfixed]".
 * Returns 0 or -1.
 */
static int
test_scan_block(char *l, struct scan_opts *opts)
{
	char *tok, *save = NULL;
	size_t n = strlen(l);

	opts->fail_on = SCAN_SEV_NONE;
	opts->ignore_unfixed = 0;
	if (n < 2 || l[0] != '[' || l[n - 1] != ']')
		return -1;
	l[n - 1] = '\0';
	for (tok = strtok_r(l + 1, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (strncmp(tok, "fail_on=", 8) == 0) {
			if (scan_fail_on_parse(tok + 8, &opts->fail_on) == -1)
				return -1;
		} else if (strcmp(tok, "ignore_unfixed") == 0) {
			opts->ignore_unfixed = 1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* A report case: every block of its .expect. */
static void
test_scan_report(void **state)
{
	const struct test_scan_case *tc = *state;
	char line[TEST_SCAN_LINE_MAX], err[SCAN_ERR_MAX], *l;
	struct scan_report *r = NULL;
	struct scan_opts opts;
	int lineno = 0, nblocks = 0, nchecks = 0, failed = 0;
	FILE *fp;

	if (tc->shared && !test_scan_have_shared)
		skip();
	if ((fp = fopen(tc->side, "r")) == NULL)
		fail_msg("%s: %s", tc->side, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if ((l = test_scan_line(line)) == NULL)
			continue;
		if (l[0] == '[') {
			scan_free(r);
			r = NULL;
			if (test_scan_block(l, &opts) == -1)
				fail_msg("%s:%d: bad block header", tc->side,
				    lineno);
			nblocks++;
			failed =
			    scan_load(tc->json, &opts, &r, err, sizeof(err));
			if (failed == 0) {
				assert_non_null(r);
				test_scan_roundtrip(tc->name, r);
			} else {
				assert_null(r);
			}
			continue;
		}
		if (nblocks == 0)
			fail_msg(
			    "%s:%d: key before any [block]", tc->side, lineno);
		nchecks++;
		if (strncmp(l, "error=", 6) == 0) {
			if (!failed)
				fail_msg("%s:%d: loaded, expected an error",
				    tc->side, lineno);
			if (strstr(err, l + 6) == NULL)
				fail_msg("%s:%d: error \"%s\" lacks \"%s\"",
				    tc->side, lineno, err, l + 6);
			continue;
		}
		if (failed)
			fail_msg(
			    "%s:%d: load failed: %s", tc->side, lineno, err);
		test_scan_check(tc->side, r, l, lineno);
	}
	fclose(fp);
	scan_free(r);
	if (nblocks == 0 || nchecks < nblocks)
		fail_msg("%s: needs blocks, each with checks", tc->side);
}

/* An invalid report or payload: the error holds every .err line. */
static void
test_scan_invalid(void **state)
{
	const struct test_scan_case *tc = *state;
	char err[SCAN_ERR_MAX], line[TEST_SCAN_LINE_MAX], *l;
	static struct scan_report sentinel;
	struct scan_opts opts = {SCAN_SEV_HIGH, 0};
	struct scan_report *r = &sentinel; /* must come back NULL */
	json_error_t jerr;
	json_t *obj;
	size_t plen, nlines = 0;
	FILE *fp;

	memset(err, 'x', sizeof(err));
	if (tc->kind == TEST_SCAN_INVALID) {
		if (scan_load(tc->json, &opts, &r, err, sizeof(err)) != -1)
			fail_msg("%s: loaded, expected an error", tc->name);
		plen = strlen(tc->json);
		if (strncmp(err, tc->json, plen) != 0 || err[plen] != ':')
			fail_msg("%s: error does not start with the path: %s",
			    tc->name, err);
	} else {
		obj = json_load_file(tc->json, JSON_REJECT_DUPLICATES, &jerr);
		if (obj == NULL)
			fail_msg("%s: %s", tc->name, jerr.text);
		if (scan_from_json("ref", obj, &r, err, sizeof(err)) != -1)
			fail_msg("%s: accepted, expected an error", tc->name);
		json_decref(obj);
		if (strncmp(err, "ref: ", 5) != 0)
			fail_msg("%s: error does not start with what: %s",
			    tc->name, err);
	}
	assert_null(r);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	if (strchr(err, '\n') != NULL)
		fail_msg("%s: error is not one line: %s", tc->name, err);
	if ((fp = fopen(tc->side, "r")) == NULL)
		fail_msg("%s: %s", tc->side, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((l = test_scan_line(line)) == NULL)
			continue;
		nlines++;
		if (l[0] == '!' && strstr(err, l + 1) != NULL)
			fail_msg(
			    "%s: error holds \"%s\": %s", tc->name, l + 1, err);
		if (l[0] != '!' && strstr(err, l) == NULL)
			fail_msg(
			    "%s: error lacks \"%s\": %s", tc->name, l, err);
	}
	fclose(fp);
	if (nlines == 0)
		fail_msg("%s: empty", tc->side);
}

/* A payload scan_from_json() accepts, matching its .expect. */
static void
test_scan_payload_ok(void **state)
{
	const struct test_scan_case *tc = *state;
	char line[TEST_SCAN_LINE_MAX], err[SCAN_ERR_MAX], *l;
	struct scan_report *r = NULL;
	json_error_t jerr;
	json_t *obj;
	int lineno = 0, nchecks = 0;
	FILE *fp;

	obj = json_load_file(tc->json, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		fail_msg("%s: %s", tc->name, jerr.text);
	if (scan_from_json("ref", obj, &r, err, sizeof(err)) != 0)
		fail_msg("%s: refused: %s", tc->name, err);
	json_decref(obj);
	if ((fp = fopen(tc->side, "r")) == NULL)
		fail_msg("%s: %s", tc->side, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if ((l = test_scan_line(line)) == NULL)
			continue;
		nchecks++;
		test_scan_check(tc->side, r, l, lineno);
	}
	fclose(fp);
	test_scan_roundtrip(tc->name, r);
	scan_free(r);
	if (nchecks == 0)
		fail_msg("%s: no checks", tc->side);
}

static int
test_scan_case_cmp(const void *a, const void *b)
{
	const struct test_scan_case *ca = a, *cb = b;

	return strcmp(ca->name, cb->name);
}

/*
 * Append to *cases one case per NAME.<ext> in dir, sorted, each with its
 * sibling NAME.<side> in sdir, named "<label>/NAME". When ext is
 * "expect" the .expect files are listed and the report is
 * jdir/NAME.json. Returns the number added, or -1.
 */
static int
test_scan_list(enum test_scan_kind kind, const char *dir, const char *ext,
    const char *jdir, int shared, const char *side, const char *label,
    struct test_scan_case **cases, size_t *ncases)
{
	struct test_scan_case *tc, *grown;
	struct dirent *de;
	size_t n0 = *ncases, len, elen = strlen(ext) + 1;
	DIR *d;
	int n;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= elen || de->d_name[len - elen] != '.' ||
		    strcmp(de->d_name + len - elen + 1, ext) != 0)
			continue;
		len -= elen;
		grown = realloc(*cases, (*ncases + 1) * sizeof(**cases));
		if (grown == NULL) {
			closedir(d);
			return -1;
		}
		*cases = grown;
		tc = &(*cases)[(*ncases)++];
		memset(tc, 0, sizeof(*tc));
		tc->kind = kind;
		tc->shared = shared;
		n = snprintf(tc->json, sizeof(tc->json), "%s/%.*s.json", jdir,
		    (int)len, de->d_name);
		if (n >= 0 && (size_t)n < sizeof(tc->json))
			n = snprintf(tc->side, sizeof(tc->side), "%s/%.*s.%s",
			    dir, (int)len, de->d_name, side);
		if (n >= 0 && (size_t)n < sizeof(tc->side))
			n = snprintf(tc->name, sizeof(tc->name), "%s/%.*s",
			    label, (int)len, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(tc->name)) {
			fprintf(
			    stderr, "%s/%s: path too long\n", dir, de->d_name);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (*ncases > n0)
		qsort(*cases + n0, *ncases - n0, sizeof(**cases),
		    test_scan_case_cmp);
	return (int)(*ncases - n0);
}

/* Every upstream fixture has its shared/NAME.expect. */
static void
test_scan_shared_covered(void **state)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t len, n = 0;
	DIR *d;

	(void)state;
	if (!test_scan_have_shared)
		skip();
	assert_non_null(d = opendir(TEST_SCAN_SHARED));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		n++;
		snprintf(path, sizeof(path), "%s/shared/%.*s.expect",
		    TEST_SCAN_DIR, (int)(len - 5), de->d_name);
		if (stat(path, &st) == -1)
			fail_msg("%s has no %s", de->d_name, path);
	}
	closedir(d);
	assert_true(n >= TEST_SCAN_MIN_SHARED);
}

/* --fail-on words. */
static void
test_scan_fail_on(void **state)
{
	static const struct {
		const char *s;
		int rc;
		enum scan_sev sev;
	} t[] = {
	    {"critical", 0, SCAN_SEV_CRITICAL},
	    {"CRITICAL", 0, SCAN_SEV_CRITICAL},
	    {"High", 0, SCAN_SEV_HIGH},
	    {"medium", 0, SCAN_SEV_MEDIUM},
	    {"low", 0, SCAN_SEV_LOW},
	    {"unknown", 0, SCAN_SEV_UNKNOWN},
	    {"none", 0, SCAN_SEV_NONE},
	    {"NONE", 0, SCAN_SEV_NONE},
	    {"negligible", -1, SCAN_SEV_UNKNOWN},
	    {"", -1, SCAN_SEV_UNKNOWN},
	    {"hi", -1, SCAN_SEV_UNKNOWN},
	    {"high ", -1, SCAN_SEV_UNKNOWN},
	    {"critical\n", -1, SCAN_SEV_UNKNOWN},
	    {NULL, -1, SCAN_SEV_UNKNOWN},
	};
	enum scan_sev sev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sev = SCAN_SEV_NONE;
		if (scan_fail_on_parse(t[i].s, &sev) != t[i].rc ||
		    sev != t[i].sev)
			fail_msg("\"%s\": got %d/%s", test_scan_str(t[i].s),
			    t[i].rc, scan_sev_name(sev));
	}
	assert_string_equal(scan_sev_name(SCAN_SEV_CRITICAL), "critical");
	assert_string_equal(scan_sev_name(SCAN_SEV_NONE), "none");
	assert_string_equal(scan_sev_name((enum scan_sev)42), "?");
	assert_string_equal(
	    scan_format_name(SCAN_FORMAT_GRYPE_JSON), "grype-json");
}

/* Thresholds: at or above fails; UNKNOWN only with fail_on unknown. */
static void
test_scan_verdict(void **state)
{
	/* counts: unknown, low, medium, high, critical */
	static const struct {
		size_t counts[SCAN_SEV_COUNT];
		enum scan_sev fail_on;
		int fail;
	} t[] = {
	    {{0, 0, 0, 0, 0}, SCAN_SEV_UNKNOWN, 0},
	    {{0, 0, 0, 0, 1}, SCAN_SEV_NONE, 0},
	    {{0, 0, 0, 0, 1}, SCAN_SEV_CRITICAL, 1},
	    {{0, 0, 0, 1, 0}, SCAN_SEV_CRITICAL, 0},
	    {{0, 0, 0, 1, 0}, SCAN_SEV_HIGH, 1},
	    {{0, 0, 5, 0, 0}, SCAN_SEV_HIGH, 0},
	    {{0, 0, 5, 0, 0}, SCAN_SEV_MEDIUM, 1},
	    {{0, 3, 0, 0, 0}, SCAN_SEV_MEDIUM, 0},
	    {{0, 3, 0, 0, 0}, SCAN_SEV_LOW, 1},
	    {{7, 0, 0, 0, 0}, SCAN_SEV_LOW, 0},
	    {{7, 0, 0, 0, 0}, SCAN_SEV_UNKNOWN, 1},
	    {{7, 3, 5, 1, 1}, SCAN_SEV_NONE, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (scan_verdict(t[i].counts, t[i].fail_on) != t[i].fail)
			fail_msg("row %zu: expected %d", i, t[i].fail);
	}
}

/* Load text from memory with fail-on high; assert the outcome. */
static struct scan_report *
test_scan_mem(const char *text, int ignore_unfixed, const char *want_err)
{
	struct scan_opts opts = {SCAN_SEV_HIGH, ignore_unfixed};
	struct scan_report *r = NULL;
	char err[SCAN_ERR_MAX];
	int rc;

	rc = scan_load_buffer(
	    "mem", text, strlen(text), &opts, &r, err, sizeof(err));
	if (want_err == NULL && rc != 0)
		fail_msg("refused: %s\n%s", err, text);
	if (want_err != NULL && rc != -1)
		fail_msg("accepted, expected \"%s\"\n%s", want_err, text);
	if (want_err != NULL && strstr(err, want_err) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want_err);
	if (want_err != NULL)
		assert_null(r);
	return r;
}

/* CreatedAt forms: normalised to UTC seconds, or refused. */
static void
test_scan_times(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: no time; "!": refused */
		long long unix;
	} t[] = {
	    {"2021-08-25T12:20:30.000000005Z", "2021-08-25T12:20:30Z",
		1629894030},
	    {"2023-09-01T08:13:42.20194-04:00", "2023-09-01T12:13:42Z",
		1693570422},
	    {"2024-02-29T23:30:00+01:30", "2024-02-29T22:00:00Z", 1709244000},
	    {"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", 0},
	    {"2000-03-01t00:00:00z", "2000-03-01T00:00:00Z", 951868800},
	    {"", NULL, 0},
	    {"2023-02-29T00:00:00Z", "!", 0},
	    {"2023-13-01T00:00:00Z", "!", 0},
	    {"2023-01-01T24:00:00Z", "!", 0},
	    {"2023-01-01T00:00:00", "!", 0},
	    {"2023-01-01T00:00:00.Z", "!", 0},
	    {"2023-01-01T00:00:00+0100", "!", 0},
	    {"2023-01-01T00:00:00Zjunk", "!", 0},
	    {"yesterday", "!", 0},
	    {"2023-1-01T00:00:00Z", "!", 0},
	};
	char text[256];
	struct scan_report *r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text),
		    "{\"SchemaVersion\": 2, \"CreatedAt\": \"%s\"}", t[i].in);
		if (t[i].out != NULL && strcmp(t[i].out, "!") == 0) {
			test_scan_mem(text, 0, "CreatedAt: \"");
			continue;
		}
		r = test_scan_mem(text, 0, NULL);
		if (t[i].out == NULL) {
			assert_null(r->finished_at);
		} else {
			assert_string_equal(r->finished_at, t[i].out);
			assert_int_equal(r->finished_at_unix, t[i].unix);
		}
		scan_free(r);
	}
}

/*
 * SARIF security-severity bands, for a rule with no severity tag: 9.0
 * critical, 7.0 high, 4.0 medium, above 0 low, 0 unknown.
 */
static void
test_scan_sarif_scores(void **state)
{
	static const struct {
		const char *score; /* JSON text */
		int sev; /* enum scan_sev, or -1: refused */
	} t[] = {
	    {"\"10.0\"", SCAN_SEV_CRITICAL},
	    {"\"10\"", SCAN_SEV_CRITICAL},
	    {"\"9.0\"", SCAN_SEV_CRITICAL},
	    {"\"8.99\"", SCAN_SEV_HIGH},
	    {"\"7.0\"", SCAN_SEV_HIGH},
	    {"\"6.9\"", SCAN_SEV_MEDIUM},
	    {"\"4.0\"", SCAN_SEV_MEDIUM},
	    {"\"3.9\"", SCAN_SEV_LOW},
	    {"\"0.1\"", SCAN_SEV_LOW},
	    {"\"0.0\"", SCAN_SEV_UNKNOWN},
	    {"\"0\"", SCAN_SEV_UNKNOWN},
	    {"9.5", SCAN_SEV_CRITICAL},
	    {"7", SCAN_SEV_HIGH},
	    {"2.0", SCAN_SEV_LOW},
	    {"\"10.1\"", -1},
	    {"\"-1\"", -1},
	    {"\"\"", -1},
	    {"\"5,3\"", -1},
	    {"\" 5.3\"", -1},
	    {"\"5.\"", -1},
	    {"\"0x5\"", -1},
	    {"\"1e1\"", -1},
	    {"\"nan\"", -1},
	    {"11", -1},
	    {"-0.5", -1},
	    {"true", -1},
	    {"[5]", -1},
	};
	char text[512];
	struct scan_report *r;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text),
		    "{\"version\": \"2.1.0\", \"runs\": [{\"tool\": "
		    "{\"driver\": {\"name\": \"Trivy\", \"rules\": "
		    "[{\"id\": \"CVE-1\", \"properties\": "
		    "{\"security-severity\": %s}}]}}, \"results\": "
		    "[{\"ruleId\": \"CVE-1\", \"ruleIndex\": 0, "
		    "\"level\": \"error\"}]}]}",
		    t[i].score);
		if (t[i].sev == -1) {
			test_scan_mem(text, 0,
			    "security-severity: expected a score from 0 to 10");
			continue;
		}
		r = test_scan_mem(text, 0, NULL);
		for (j = 0; j < SCAN_SEV_COUNT; j++) {
			if (r->counts[j] != (j == (size_t)t[i].sev ? 1u : 0u))
				fail_msg("score %s: counted as %s", t[i].score,
				    scan_sev_name(r->worst[0].sev));
		}
		scan_free(r);
	}
}

/*
 * worst[] keeps the SCAN_WORST_MAX worst, worst first, ties in report
 * order; scan_print() shows them and says how many more there are.
 */
static void
test_scan_worst(void **state)
{
	/* 25 findings; severities cycle through this list. */
	static const char *const sevs[] = {
	    "LOW", "CRITICAL", "UNKNOWN", "MEDIUM", "HIGH"};
	char *text, *out = NULL;
	size_t i, off = 0, cap = 8192, outlen = 0;
	struct scan_report *r;
	FILE *fp;

	(void)state;
	assert_non_null(text = malloc(cap));
	off += (size_t)snprintf(text + off, cap - off,
	    "{\"SchemaVersion\": 2, \"Results\": [{\"Vulnerabilities\": [");
	for (i = 0; i < 25; i++)
		off += (size_t)snprintf(text + off, cap - off,
		    "%s{\"VulnerabilityID\": \"CVE-%zu\", \"PkgName\": "
		    "\"p%zu\", \"InstalledVersion\": \"1\", "
		    "\"FixedVersion\": \"2\", \"Severity\": \"%s\"}",
		    i > 0 ? ", " : "", i, i, sevs[i % 5]);
	snprintf(text + off, cap - off, "]}]}");
	r = test_scan_mem(text, 0, NULL);
	free(text);
	assert_int_equal(r->counts[SCAN_SEV_CRITICAL], 5);
	assert_int_equal(r->counts[SCAN_SEV_HIGH], 5);
	assert_int_equal(r->nworst, SCAN_WORST_MAX);
	/* CRITICAL are 1, 6, 11, 16, 21; HIGH 4, 9, 14, 19, 24. */
	for (i = 0; i < 5; i++) {
		char id[16];

		assert_int_equal(r->worst[i].sev, SCAN_SEV_CRITICAL);
		snprintf(id, sizeof(id), "CVE-%zu", 1 + 5 * i);
		assert_string_equal(r->worst[i].id, id);
		assert_int_equal(r->worst[5 + i].sev, SCAN_SEV_HIGH);
		snprintf(id, sizeof(id), "CVE-%zu", 4 + 5 * i);
		assert_string_equal(r->worst[5 + i].id, id);
	}
	assert_non_null(fp = open_memstream(&out, &outlen));
	assert_int_equal(scan_print(r, fp, 3), 0);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(out,
	    "trivy: 5 critical, 5 high, 5 medium, 5 low, 5 unknown "
	    "(fail-on high): FAIL\n"
	    "  CRITICAL CVE-1 p1 1 (fixed in 2)\n"
	    "  CRITICAL CVE-6 p6 1 (fixed in 2)\n"
	    "  CRITICAL CVE-11 p11 1 (fixed in 2)\n"
	    "  ... and 22 more\n");
	free(out);
	scan_free(r);
}

/*
 * Finding fields: control bytes become '?', long values are cut at a
 * UTF-8 boundary; a long metadata string is refused.
 */
static void
test_scan_fields(void **state)
{
	char text[4096], line[512], longv[300];
	struct scan_report *r;
	size_t i;

	(void)state;
	/* 126 ASCII bytes, then "é" (2 bytes) straddling the 127 limit. */
	for (i = 0; i < 126; i++)
		longv[i] = 'a';
	memcpy(longv + 126, "\xc3\xa9tail", 7);
	snprintf(text, sizeof(text),
	    "{\"SchemaVersion\": 2, \"Results\": [{\"Vulnerabilities\": "
	    "[{\"VulnerabilityID\": \"CVE-1\", \"PkgName\": "
	    "\"evil\\u001b[31m\\npkg\", \"InstalledVersion\": \"%s\", "
	    "\"Severity\": \"HIGH\"}]}]}",
	    longv);
	r = test_scan_mem(text, 0, NULL);
	assert_string_equal(r->worst[0].pkg, "evil?[31m?pkg");
	assert_int_equal(strlen(r->worst[0].installed), 126);
	assert_int_equal(
	    scan_finding_format(&r->worst[0], line, sizeof(line)), 0);
	assert_null(strchr(line, '\x1b'));
	assert_int_equal(scan_finding_format(&r->worst[0], line, 10), -1);
	assert_string_equal(line, "HIGH     ");
	scan_free(r);

	memset(longv, 'x', sizeof(longv));
	longv[sizeof(longv) - 1] = '\0';
	snprintf(text, sizeof(text),
	    "{\"SchemaVersion\": 2, \"ArtifactName\": "
	    "\"%s%s%s%s\"}",
	    longv, longv, longv, longv);
	test_scan_mem(text, 0, "ArtifactName: longer than 1024 bytes");
}

/* Loading edges: missing file, directory, size cap, error buffers. */
static void
test_scan_files(void **state)
{
	struct scan_opts opts = {SCAN_SEV_HIGH, 0};
	char path[] = "/tmp/test_scan.XXXXXX";
	char err[SCAN_ERR_MAX], want[SCAN_ERR_MAX], small[12];
	struct scan_report *r = NULL;
	const char *text = "{\"bogus\": 1}";
	int fd;

	(void)state;
	assert_int_equal(
	    scan_load(TEST_SCAN_DIR "/nope.json", &opts, &r, err, sizeof(err)),
	    -1);
	assert_null(r);
	snprintf(want, sizeof(want), "%s: %s", TEST_SCAN_DIR "/nope.json",
	    strerror(ENOENT));
	assert_string_equal(err, want);

	assert_int_equal(
	    scan_load(TEST_SCAN_DIR, &opts, &r, err, sizeof(err)), -1);
	assert_int_equal(
	    strncmp(err, TEST_SCAN_DIR ": ", strlen(TEST_SCAN_DIR) + 2), 0);

	/* One byte over the cap, sparse: refused before parsing. */
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(ftruncate(fd, (off_t)SCAN_FILE_MAX + 1), 0);
	close(fd);
	assert_int_equal(scan_load(path, &opts, &r, err, sizeof(err)), -1);
	unlink(path);
	assert_non_null(strstr(err, "larger than 64 MiB"));
	assert_int_equal(scan_load_buffer("big", text, SCAN_FILE_MAX + 1, &opts,
			     &r, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "big: larger than 64 MiB");

	/* Short and absent error buffers. */
	memset(small, 'x', sizeof(small));
	assert_int_equal(scan_load_buffer("a-long-name.json", text,
			     strlen(text), &opts, &r, small, sizeof(small) - 1),
	    -1);
	assert_int_equal(strlen(small), sizeof(small) - 2);
	assert_int_equal(small[sizeof(small) - 1], 'x');
	assert_int_equal(
	    scan_load_buffer("m", text, strlen(text), &opts, &r, NULL, 0), -1);
	assert_null(r);
	assert_int_equal(
	    scan_load_buffer("m", "", 0, &opts, &r, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "m:1:", 4), 0);
	scan_free(NULL);
}

/* scan_detect() on its own. */
static void
test_scan_detect(void **state)
{
	static const struct {
		const char *text;
		enum scan_format format;
		const char *err;
	} t[] = {
	    {"{\"SchemaVersion\": 2}", SCAN_FORMAT_TRIVY_JSON, NULL},
	    {"{\"ArtifactName\": \"x\"}", SCAN_FORMAT_TRIVY_JSON, NULL},
	    {"{\"Results\": []}", SCAN_FORMAT_TRIVY_JSON, NULL},
	    {"{\"version\": \"2.1.0\", \"runs\": [{\"tool\": {\"driver\": "
	     "{\"name\": \"Trivy\"}}}]}",
		SCAN_FORMAT_TRIVY_SARIF, NULL},
	    {"{\"matches\": [], \"descriptor\": {\"name\": \"grype\"}}",
		SCAN_FORMAT_GRYPE_JSON, NULL},
	    {"[]", 0, "x: a JSON array"},
	    {"\"text\"", 0, "x: not a JSON object"},
	    {"{}", 0, "x: not a Trivy JSON, Trivy SARIF or Grype"},
	    {"{\"SchemaVersion\": 1}", 0, "x: SchemaVersion: 1 is not"},
	    {"{\"SchemaVersion\": \"2\"}", 0, "expected an integer"},
	    {"{\"version\": \"2.1.0\", \"runs\": [{\"tool\": {\"driver\": "
	     "{\"name\": \"CodeQL\"}}}]}",
		0,
		"x: runs[0].tool.driver.name: SARIF from \"CodeQL\" is not "
		"supported"},
	    {"{\"version\": \"2.0.0\", \"runs\": []}", 0,
		"x: version: SARIF \"2.0.0\" is not supported"},
	    {"{\"matches\": [], \"descriptor\": {\"name\": \"syft\"}}", 0,
		"x: descriptor.name: a report from \"syft\""},
	    {"{\"matches\": []}", 0, "x: descriptor: missing"},
	    {"{\"matches\": [], \"Results\": []}", 0, "more than one format"},
	};
	char err[SCAN_ERR_MAX];
	enum scan_format f;
	json_t *root;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		root = json_loads(t[i].text, JSON_DECODE_ANY, NULL);
		assert_non_null(root);
		f = SCAN_FORMAT_GRYPE_JSON;
		rc = scan_detect("x", root, &f, err, sizeof(err));
		json_decref(root);
		if (t[i].err == NULL && (rc != 0 || f != t[i].format))
			fail_msg("%s: got %d/%d: %s", t[i].text, rc, (int)f,
			    rc == 0 ? "" : err);
		if (t[i].err != NULL &&
		    (rc != -1 || f != 0 || strstr(err, t[i].err) == NULL))
			fail_msg("%s: got %d: %s", t[i].text, rc,
			    rc == 0 ? "(ok)" : err);
	}
}

/*
 * The object in the payload carries every key, in the documented types,
 * for a report with metadata and one without.
 */
static void
test_scan_payload_shape(void **state)
{
	struct scan_report *r;
	json_t *obj;
	char *s;

	(void)state;
	r = test_scan_mem("{\"SchemaVersion\": 2}", 0, NULL);
	assert_non_null(obj = scan_to_json(r));
	assert_non_null(s = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT));
	assert_string_equal(s,
	    "{\"artifact\":null,\"artifact_digest\":null,\"counts\":"
	    "{\"critical\":0,\"high\":0,\"low\":0,\"medium\":0,"
	    "\"negligible\":0,\"unknown\":0},\"db_built\":null,"
	    "\"db_version\":null,\"fail_on\":\"high\",\"finished_at\":null,"
	    "\"format\":\"trivy-json\",\"ignore_unfixed\":false,"
	    "\"image_id\":null,\"nothing_scanned\":true,\"scanner\":\"trivy\","
	    "\"scanner_version\":null,\"schema_version\":1,"
	    "\"unfixed_ignored\":0,\"verdict\":\"pass\"}");
	free(s);
	json_decref(obj);
	scan_free(r);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_scan_fail_on),
	    cmocka_unit_test(test_scan_verdict),
	    cmocka_unit_test(test_scan_detect),
	    cmocka_unit_test(test_scan_times),
	    cmocka_unit_test(test_scan_sarif_scores),
	    cmocka_unit_test(test_scan_worst),
	    cmocka_unit_test(test_scan_fields),
	    cmocka_unit_test(test_scan_files),
	    cmocka_unit_test(test_scan_payload_shape),
	    cmocka_unit_test(test_scan_shared_covered),
	};
	struct test_scan_case *cases = NULL;
	struct CMUnitTest *tests = NULL;
	size_t ncases = 0, ntests = 0, i;
	struct stat st;
	int n, rc = 1;

	test_scan_have_shared =
	    stat(TEST_SCAN_SHARED, &st) == 0 && S_ISDIR(st.st_mode);
	if (!test_scan_have_shared)
		printf(
		    "skipping: ../shared not present (%s)\n", TEST_SCAN_SHARED);

	n = test_scan_list(TEST_SCAN_REPORT, TEST_SCAN_DIR "/valid", "json",
	    TEST_SCAN_DIR "/valid", 0, "expect", "valid", &cases, &ncases);
	if (n < TEST_SCAN_MIN_VALID)
		goto short_data;
	n = test_scan_list(TEST_SCAN_REPORT, TEST_SCAN_DIR "/shared", "expect",
	    TEST_SCAN_SHARED, 1, "expect", "shared", &cases, &ncases);
	if (n < TEST_SCAN_MIN_SHARED)
		goto short_data;
	n = test_scan_list(TEST_SCAN_INVALID, TEST_SCAN_DIR "/invalid", "json",
	    TEST_SCAN_DIR "/invalid", 0, "err", "invalid", &cases, &ncases);
	if (n < TEST_SCAN_MIN_INVALID)
		goto short_data;
	n = test_scan_list(TEST_SCAN_PAYLOAD_OK, TEST_SCAN_DIR "/payload/valid",
	    "json", TEST_SCAN_DIR "/payload/valid", 0, "expect",
	    "payload/valid", &cases, &ncases);
	if (n < TEST_SCAN_MIN_PAYLOAD_OK)
		goto short_data;
	n = test_scan_list(TEST_SCAN_PAYLOAD_BAD,
	    TEST_SCAN_DIR "/payload/invalid", "json",
	    TEST_SCAN_DIR "/payload/invalid", 0, "err", "payload/invalid",
	    &cases, &ncases);
	if (n < TEST_SCAN_MIN_PAYLOAD_BAD)
		goto short_data;

	tests =
	    calloc(ncases + sizeof(fixed) / sizeof(fixed[0]), sizeof(*tests));
	if (tests == NULL)
		goto out;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[ntests++] = fixed[i];
	for (i = 0; i < ncases; i++) {
		struct CMUnitTest *t = &tests[ntests++];

		t->name = cases[i].name;
		t->initial_state = &cases[i];
		switch (cases[i].kind) {
		case TEST_SCAN_REPORT:
			t->test_func = test_scan_report;
			break;
		case TEST_SCAN_INVALID:
		case TEST_SCAN_PAYLOAD_BAD:
			t->test_func = test_scan_invalid;
			break;
		case TEST_SCAN_PAYLOAD_OK:
			t->test_func = test_scan_payload_ok;
			break;
		}
	}
	rc = _cmocka_run_group_tests("scan", tests, ntests, NULL, NULL);
	goto out;
short_data:
	fprintf(stderr, "%s: too few cases (%d): data dir incomplete\n",
	    TEST_SCAN_DIR, n);
out:
	free(tests);
	free(cases);
	return rc;
}
