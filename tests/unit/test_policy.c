/*
 * test_policy: data-driven tests for gateway/policy.c and policy_glob.c.
 *
 * Cases live in REGWARD_TEST_DATA/policy, each file a config snippet
 * {"policies": [...]} loaded with JSON_REJECT_DUPLICATES:
 *   valid/NAME.json     must load; NAME.expect lists "key=value" lines
 *                       (count, I.repository, I.require, I.signed_by,
 *                       I.scan, I.max_age, I.mode, I.multiarch).
 *   invalid/NAME.json   must fail; NAME.err lists substrings, one a line,
 *                       that the one-line error must all contain. The error
 *                       must start with "<path>: policies".
 *   decisions.txt       policy, repository, principal, action, expected
 *                       decision and index, and a reason substring.
 *   tags.txt            immutable tags; catalog.txt catalog filtering;
 *   globs.txt           repository globs, compiled and matched directly;
 *   revision.txt        pairs of revision/ files with the same or
 *                       different revisions.
 * The formats are described at the top of each .txt file. Each data file
 * is its own cmocka test; API edges are tables in this file.
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

#include <cmocka.h>
#include <jansson.h>

#include "regward/policy.h"

#ifndef REGWARD_TEST_DATA
#error "define REGWARD_TEST_DATA as the absolute path of tests/data"
#endif

#define TEST_POLICY_DIR REGWARD_TEST_DATA "/policy"
#define TEST_POLICY_MIN_VALID 8 /* fewer: the data dir went missing */
#define TEST_POLICY_MIN_INVALID 60 /* likewise */
#define TEST_POLICY_MIN_DECISIONS 60
#define TEST_POLICY_LINE_MAX 2048
#define TEST_POLICY_ROLES_MAX 16
#define TEST_POLICY_COLS_MAX 8

/* One data-file case: the .json and its .expect or .err sibling. */
struct test_policy_case {
	char json[PATH_MAX];
	char side[PATH_MAX];
	char name[NAME_MAX + 16];
};

/* A principal parsed from "user:alice[dev,ops]", with its storage. */
struct test_policy_who {
	char buf[TEST_POLICY_LINE_MAX];
	const char *roles[TEST_POLICY_ROLES_MAX];
	struct policy_principal p;
};

/* Strip the line end; return NULL for blank and comment lines. */
static char *
test_policy_line(char *line)
{
	size_t n = strcspn(line, "\r\n");

	line[n] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return NULL;
	return line;
}

/* Split line at tabs into cols[]; returns the number of columns. */
static size_t
test_policy_cols(char *line, char **cols, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		cols[n++] = p;
		if ((p = strchr(p, '\t')) == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

/*
 * Load path ({"policies": ...}) as the config loader would hand it over.
 * Returns the policy_set_load() result; *root keeps the document alive.
 */
static int
test_policy_load_path(
    const char *path, struct policy_set **ps, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	*ps = NULL;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
	if (!json_is_object(root))
		fail_msg("%s: not an object", path);
	rc = policy_set_load(
	    path, json_object_get(root, "policies"), ps, err, errlen);
	json_decref(root);
	return rc;
}

/* Load valid/NAME.json or fail the test. Free with policy_set_free(). */
static struct policy_set *
test_policy_load(const char *dir, const char *name)
{
	char path[PATH_MAX], err[POLICY_ERR_MAX];
	struct policy_set *ps = NULL;

	snprintf(path, sizeof(path), "%s/%s/%s%s", TEST_POLICY_DIR, dir, name,
	    strstr(name, ".json") != NULL ? "" : ".json");
	if (test_policy_load_path(path, &ps, err, sizeof(err)) != 0)
		fail_msg("%s: expected to load, got: %s", path, err);
	assert_non_null(ps);
	return ps;
}

/*
 * Parse "anonymous", "anonymous[roles]" or "KIND:NAME[role,role]" into
 * w. The name runs to the last '[' when the text ends in ']'.
 */
static void
test_policy_who_parse(const char *s, struct test_policy_who *w)
{
	static const struct {
		const char *prefix;
		enum policy_kind kind;
	} kinds[] = {
	    {"user:", POLICY_USER},
	    {"robot:", POLICY_ROBOT},
	    {"ci:", POLICY_CI},
	};
	char *open, *r, *comma;
	size_t i, len;

	memset(w, 0, sizeof(*w));
	snprintf(w->buf, sizeof(w->buf), "%s", s);
	len = strlen(w->buf);
	if (len > 0 && w->buf[len - 1] == ']' &&
	    (open = strrchr(w->buf, '[')) != NULL) {
		w->buf[len - 1] = '\0';
		*open = '\0';
		for (r = open + 1; *r != '\0'; r = comma + 1) {
			if (w->p.nroles == TEST_POLICY_ROLES_MAX)
				fail_msg("too many roles: %s", s);
			w->roles[w->p.nroles++] = r;
			if ((comma = strchr(r, ',')) == NULL)
				break;
			*comma = '\0';
		}
		w->p.roles = w->roles;
	}
	if (strcmp(w->buf, "anonymous") == 0) {
		w->p.kind = POLICY_ANONYMOUS;
		return;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		len = strlen(kinds[i].prefix);
		if (strncmp(w->buf, kinds[i].prefix, len) == 0) {
			w->p.kind = kinds[i].kind;
			w->p.name = w->buf + len;
			return;
		}
	}
	fail_msg("bad principal in test data: %s", s);
}

/* Render field key of policy set ps as the .expect files write it. */
static int
test_policy_field(
    const struct policy_set *ps, const char *key, char *buf, size_t len)
{
	const struct policy_require *rq;
	char *end;
	long idx;
	size_t i, off;

	if (strcmp(key, "count") == 0) {
		snprintf(buf, len, "%zu", policy_set_count(ps));
		return 0;
	}
	idx = strtol(key, &end, 10);
	if (end == key || *end != '.' || idx < 0 || idx > INT_MAX)
		return -1;
	key = end + 1;
	rq = policy_require(ps, (int)idx);
	if (strcmp(key, "repository") == 0) {
		const char *g = policy_repository(ps, (int)idx);

		snprintf(buf, len, "%s", g != NULL ? g : "(none)");
	} else if (strcmp(key, "require") == 0) {
		snprintf(buf, len, "%s", rq != NULL ? "yes" : "no");
	} else if (rq == NULL) {
		snprintf(buf, len, "(no require block)");
	} else if (strcmp(key, "signed_by") == 0) {
		buf[0] = '\0';
		for (i = 0, off = 0; i < rq->nsigned_by && off < len; i++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    i > 0 ? "," : "", rq->signed_by[i]);
	} else if (strcmp(key, "scan") == 0) {
		snprintf(buf, len, "%d", rq->scan);
	} else if (strcmp(key, "max_age") == 0) {
		snprintf(
		    buf, len, "%llu", (unsigned long long)rq->scan_max_age);
	} else if (strcmp(key, "mode") == 0) {
		snprintf(buf, len, "%s",
		    rq->mode == POLICY_MODE_WARN ? "warn" : "enforce");
	} else if (strcmp(key, "multiarch") == 0) {
		snprintf(buf, len, "%s",
		    rq->multiarch == POLICY_MULTIARCH_EACH ? "each" : "index");
	} else {
		return -1;
	}
	return 0;
}

/* valid/NAME.json loads and matches every line of NAME.expect. */
static void
test_policy_valid(void **state)
{
	const struct test_policy_case *tc = *state;
	char err[POLICY_ERR_MAX], line[TEST_POLICY_LINE_MAX], got[1024];
	struct policy_set *ps = NULL;
	const char *rev;
	char *l, *eq;
	FILE *fp;
	int n = 0;

	memset(err, 'x', sizeof(err));
	if (test_policy_load_path(tc->json, &ps, err, sizeof(err)) != 0)
		fail_msg("%s: expected to load, got: %s", tc->name, err);
	assert_non_null(ps);
	assert_string_equal(err, "");
	rev = policy_set_revision(ps);
	assert_non_null(rev);
	assert_int_equal(strlen(rev), POLICY_REVISION_LEN);
	assert_int_equal(strspn(rev, "0123456789abcdef"), POLICY_REVISION_LEN);

	if ((fp = fopen(tc->side, "r")) == NULL)
		fail_msg("%s: %s", tc->side, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((l = test_policy_line(line)) == NULL)
			continue;
		if ((eq = strchr(l, '=')) == NULL)
			fail_msg("%s: line without '=': %s", tc->side, l);
		*eq = '\0';
		if (test_policy_field(ps, l, got, sizeof(got)) == -1)
			fail_msg("%s: unknown field %s", tc->side, l);
		if (strcmp(got, eq + 1) != 0)
			fail_msg("%s: %s: expected \"%s\", got \"%s\"",
			    tc->name, l, eq + 1, got);
		n++;
	}
	fclose(fp);
	if (n == 0)
		fail_msg("%s: asserts nothing", tc->side);
	policy_set_free(ps);
}

/* invalid/NAME.json fails with a one-line error holding each .err line. */
static void
test_policy_invalid(void **state)
{
	const struct test_policy_case *tc = *state;
	char err[POLICY_ERR_MAX], line[TEST_POLICY_LINE_MAX];
	static struct policy_set *sentinel = (struct policy_set *)&sentinel;
	struct policy_set *ps = sentinel; /* the loader must reset it */
	json_error_t jerr;
	json_t *root;
	size_t plen = strlen(tc->json);
	FILE *fp;
	char *l;
	int n = 0;

	root = json_load_file(tc->json, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		fail_msg("%s:%d: %s", tc->json, jerr.line, jerr.text);
	memset(err, 'x', sizeof(err));
	if (policy_set_load(tc->json, json_object_get(root, "policies"), &ps,
		err, sizeof(err)) != -1)
		fail_msg("%s: expected an error", tc->name);
	json_decref(root);
	assert_null(ps);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	if (strncmp(err, tc->json, plen) != 0 ||
	    strncmp(err + plen, ": policies", 10) != 0)
		fail_msg("%s: error does not start with \"<file>: policies\": "
			 "%s",
		    tc->name, err);
	if (strpbrk(err, "\r\n\t") != NULL)
		fail_msg("%s: error is not one line: %s", tc->name, err);

	if ((fp = fopen(tc->side, "r")) == NULL)
		fail_msg("%s: %s", tc->side, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((l = test_policy_line(line)) == NULL)
			continue;
		if (strstr(err, l) == NULL)
			fail_msg(
			    "%s: error lacks \"%s\": %s", tc->name, l, err);
		n++;
	}
	fclose(fp);
	if (n == 0)
		fail_msg("%s: asserts nothing", tc->side);
}

/*
 * Run fn over every data line of TEST_POLICY_DIR/file; fn returns 0 when
 * the line passed. Failures are printed with their line numbers and fail
 * the test at the end. Returns the number of cases.
 */
static int
test_policy_each_line(
    const char *file, int (*fn)(const char *where, char **cols, size_t ncols))
{
	char path[PATH_MAX], line[TEST_POLICY_LINE_MAX], where[PATH_MAX + 32];
	char *cols[TEST_POLICY_COLS_MAX], *l;
	int lineno = 0, ncases = 0, nfail = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", TEST_POLICY_DIR, file);
	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if ((l = test_policy_line(line)) == NULL)
			continue;
		snprintf(where, sizeof(where), "%s:%d", file, lineno);
		ncases++;
		if (fn(where, cols,
			test_policy_cols(l, cols, TEST_POLICY_COLS_MAX)) != 0)
			nfail++;
	}
	fclose(fp);
	if (nfail > 0)
		fail_msg("%s: %d of %d cases failed", file, nfail, ncases);
	print_message("%s: %d cases\n", file, ncases);
	return ncases;
}

/* Report a failed case; returns 1. */
static int
test_policy_bad(const char *where, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int
test_policy_decision_line(const char *where, char **cols, size_t ncols)
{
	struct test_policy_who who;
	struct policy_decision d;
	struct policy_set *ps;
	enum policy_action act;
	int want_allow, want_index = 0, got, has_index;
	char *at;
	int rc = 0;

	if (ncols < 5 || ncols > 6)
		return test_policy_bad(where, "needs 5 or 6 columns");
	ps = test_policy_load("valid", cols[0]);
	test_policy_who_parse(cols[2], &who);
	if ((at = strchr(cols[4], '@')) != NULL) {
		*at = '\0';
		want_index = atoi(at + 1);
	}
	has_index = at != NULL;
	if (strcmp(cols[4], "allow") != 0 && strcmp(cols[4], "deny") != 0) {
		rc = test_policy_bad(where, "expect allow or deny");
		goto out;
	}
	want_allow = strcmp(cols[4], "allow") == 0;
	memset(&d, 'x', sizeof(d));
	if (strcmp(cols[3], "bypass") == 0) {
		got = policy_may_bypass(ps, cols[1], &who.p);
		if (got != want_allow || has_index)
			rc = test_policy_bad(where, "bypass: got %d", got);
		goto out;
	} else if (strncmp(cols[3], "mount:", 6) == 0) {
		got = policy_decide_mount(ps, cols[1], cols[3] + 6, &who.p, &d);
	} else if (policy_action_parse(cols[3], &act) == 0) {
		got = policy_decide(ps, cols[1], &who.p, act, &d);
		if (act == POLICY_PULL &&
		    policy_may_pull(ps, cols[1], &who.p) != got)
			rc =
			    test_policy_bad(where, "policy_may_pull disagrees");
	} else {
		rc = test_policy_bad(where, "unknown action %s", cols[3]);
		goto out;
	}
	if (!has_index)
		rc = test_policy_bad(where, "decisions need @index");
	if (got != d.allow)
		rc = test_policy_bad(
		    where, "returned %d, d.allow %d", got, d.allow);
	if (d.allow != want_allow || d.index != want_index)
		rc = test_policy_bad(where, "expected %s@%d, got %s@%d: %s",
		    cols[4], want_index, d.allow ? "allow" : "deny", d.index,
		    d.reason);
	if (memchr(d.reason, '\0', sizeof(d.reason)) == NULL ||
	    d.reason[0] == '\0' || strpbrk(d.reason, "\r\n") != NULL)
		rc = test_policy_bad(where, "reason is not one line");
	else if (ncols == 6 && strstr(d.reason, cols[5]) == NULL)
		rc = test_policy_bad(
		    where, "reason lacks \"%s\": %s", cols[5], d.reason);
out:
	policy_set_free(ps);
	return rc;
}

static void
test_policy_decisions(void **state)
{
	(void)state;
	assert_true(
	    test_policy_each_line("decisions.txt", test_policy_decision_line) >=
	    TEST_POLICY_MIN_DECISIONS);
}

static int
test_policy_tag_line(const char *where, char **cols, size_t ncols)
{
	struct policy_set *ps;
	int want, got;

	if (ncols != 4 ||
	    (strcmp(cols[3], "immutable") != 0 &&
		strcmp(cols[3], "mutable") != 0))
		return test_policy_bad(where,
		    "needs 4 columns, immutable or "
		    "mutable");
	ps = test_policy_load("valid", cols[0]);
	want = strcmp(cols[3], "immutable") == 0;
	got = policy_tag_immutable(ps, cols[1], cols[2]);
	policy_set_free(ps);
	if (got != want)
		return test_policy_bad(where, "expected %s", cols[3]);
	return 0;
}

static void
test_policy_tags(void **state)
{
	(void)state;
	assert_true(
	    test_policy_each_line("tags.txt", test_policy_tag_line) > 20);
}

/* Split a comma list ("-": empty) into a JSON array of strings. */
static json_t *
test_policy_names(char *list)
{
	json_t *a = json_array();
	char *tok, *save = NULL;

	assert_non_null(a);
	if (strcmp(list, "-") == 0)
		return a;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		assert_int_equal(json_array_append_new(a, json_string(tok)), 0);
	return a;
}

static int
test_policy_catalog_line(const char *where, char **cols, size_t ncols)
{
	struct test_policy_who who;
	struct policy_set *ps;
	json_t *names, *want;
	size_t nbefore;
	int removed, rc = 0;

	if (ncols != 4)
		return test_policy_bad(where, "needs 4 columns");
	ps = test_policy_load("valid", cols[0]);
	test_policy_who_parse(cols[1], &who);
	names = test_policy_names(cols[2]);
	want = test_policy_names(cols[3]);
	nbefore = json_array_size(names);
	removed = policy_catalog_filter(ps, &who.p, names);
	if (!json_equal(names, want)) {
		char *got = json_dumps(names, JSON_COMPACT);

		rc = test_policy_bad(where, "kept %s", got != NULL ? got : "?");
		free(got);
	}
	if (removed < 0 || (size_t)removed + json_array_size(names) != nbefore)
		rc = test_policy_bad(where, "removed count %d", removed);
	json_decref(names);
	json_decref(want);
	policy_set_free(ps);
	return rc;
}

static void
test_policy_catalog(void **state)
{
	(void)state;
	assert_true(test_policy_each_line(
			"catalog.txt", test_policy_catalog_line) >= 5);
}

static int
test_policy_glob_line(const char *where, char **cols, size_t ncols)
{
	struct policy_glob *g = (struct policy_glob *)&g; /* must be reset */
	const char *why = "unset", *pat = cols[0];
	int rc = 0, want;

	if (strcmp(pat, "\"\"") == 0)
		pat = "";
	if (ncols == 4 && strcmp(cols[2], "invalid") == 0) {
		if (policy_glob_compile(pat, &g, &why) != -1 || g != NULL)
			return test_policy_bad(where, "compiled");
		if (why == NULL || strstr(why, cols[3]) == NULL)
			return test_policy_bad(
			    where, "why: %s", why != NULL ? why : "(null)");
		return 0;
	}
	if (ncols != 3 ||
	    (strcmp(cols[2], "match") != 0 && strcmp(cols[2], "nomatch") != 0))
		return test_policy_bad(where, "needs match or nomatch");
	if (policy_glob_compile(pat, &g, &why) != 0)
		return test_policy_bad(where, "does not compile: %s", why);
	if (why != NULL)
		rc = test_policy_bad(where, "why set on success");
	assert_string_equal(policy_glob_pattern(g), pat);
	want = strcmp(cols[2], "match") == 0;
	if (policy_glob_match(g, cols[1]) != want)
		rc = test_policy_bad(where, "expected %s", cols[2]);
	policy_glob_free(g);
	return rc;
}

static void
test_policy_globs(void **state)
{
	(void)state;
	assert_true(
	    test_policy_each_line("globs.txt", test_policy_glob_line) > 40);
}

static int
test_policy_revision_line(const char *where, char **cols, size_t ncols)
{
	struct policy_set *a, *b;
	int same, rc = 0;

	if (ncols != 3 ||
	    (strcmp(cols[2], "same") != 0 && strcmp(cols[2], "differ") != 0))
		return test_policy_bad(
		    where, "needs 3 columns, same or differ");
	a = test_policy_load("revision", cols[0]);
	b = test_policy_load("revision", cols[1]);
	same = strcmp(policy_set_revision(a), policy_set_revision(b)) == 0;
	if (same != (strcmp(cols[2], "same") == 0))
		rc = test_policy_bad(where, "%s vs %s", policy_set_revision(a),
		    policy_set_revision(b));
	policy_set_free(a);
	policy_set_free(b);
	return rc;
}

static void
test_policy_revision(void **state)
{
	(void)state;
	assert_true(test_policy_each_line(
			"revision.txt", test_policy_revision_line) >= 10);
}

/* Known FNV-1a 64 vectors over the canonical dump. */
static void
test_policy_revision_value(void **state)
{
	struct policy_set *ps = NULL;
	char err[POLICY_ERR_MAX];
	json_t *v;

	(void)state;
	/* FNV-1a 64 of "[]", computed independently (python) */
	v = json_array();
	assert_int_equal(
	    policy_set_load("m.json", v, &ps, err, sizeof(err)), 0);
	assert_string_equal(policy_set_revision(ps), "09612b07b5ecb5a5");
	policy_set_free(ps);
	json_decref(v);
	/* Loading does not change the document. */
	v = json_loads("[{\"repository\":\"a\",\"pull\":[\"*\"]}]", 0, NULL);
	assert_non_null(v);
	assert_int_equal(
	    policy_set_load("m.json", v, &ps, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(v), 1);
	assert_int_equal(json_object_size(json_array_get(v, 0)), 2);
	policy_set_free(ps);
	json_decref(v);
}

/* Error buffers: NULL, tiny and exact sizes; out-params reset. */
static void
test_policy_err_buffers(void **state)
{
	char small[16], one[1];
	struct policy_set *ps = (struct policy_set *)&ps;
	json_t *v;

	(void)state;
	v = json_loads(
	    "[{\"repository\":\"a\",\"pull\":[\"rol:ci\"]}]", 0, NULL);
	assert_non_null(v);
	assert_int_equal(policy_set_load("f.json", v, &ps, NULL, 0), -1);
	assert_null(ps);
	ps = (struct policy_set *)&ps;
	memset(small, 'x', sizeof(small));
	assert_int_equal(
	    policy_set_load("f.json", v, &ps, small, sizeof(small)), -1);
	assert_null(ps);
	assert_non_null(memchr(small, '\0', sizeof(small)));
	assert_int_equal(strncmp(small, "f.json: pol", 11), 0);
	assert_string_equal(small + sizeof(small) - 4, "...");
	one[0] = 'x';
	assert_int_equal(policy_set_load("f.json", v, &ps, one, 1), -1);
	assert_int_equal(one[0], '\0');
	assert_int_equal(
	    policy_set_load(NULL, v, &ps, small, sizeof(small)), -1);
	assert_int_equal(strncmp(small, "(config): ", 10), 0);
	json_decref(v);
}

/* Bounds: list and set sizes, checked on generated documents. */
static void
test_policy_bounds(void **state)
{
	struct policy_set *ps = NULL;
	char err[POLICY_ERR_MAX], name[32];
	json_t *v, *pol, *list;
	size_t i;

	(void)state;
	v = json_array();
	pol = json_pack("{s:s}", "repository", "a");
	list = json_array();
	for (i = 0; i < POLICY_LIST_MAX; i++)
		json_array_append_new(list, json_string("*"));
	json_object_set_new(pol, "pull", list);
	json_array_append_new(v, pol);
	assert_int_equal(
	    policy_set_load("b.json", v, &ps, err, sizeof(err)), 0);
	policy_set_free(ps);
	json_array_append_new(list, json_string("*"));
	assert_int_equal(
	    policy_set_load("b.json", v, &ps, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "b.json: policies[0].pull: has more than 1024 entries");
	json_decref(v);

	v = json_array();
	for (i = 0; i <= POLICY_COUNT_MAX; i++) {
		snprintf(name, sizeof(name), "r%zu", i);
		json_array_append_new(
		    v, json_pack("{s:s}", "repository", name));
	}
	assert_int_equal(
	    policy_set_load("b.json", v, &ps, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "b.json: policies: has more than 4096 policies");
	json_array_remove(v, 0);
	assert_int_equal(
	    policy_set_load("b.json", v, &ps, err, sizeof(err)), 0);
	assert_int_equal(policy_set_count(ps), POLICY_COUNT_MAX);
	assert_int_equal(policy_match(ps, "r4096"), POLICY_COUNT_MAX - 1);
	policy_set_free(ps);
	json_decref(v);
}

/* Principal edge cases the text format cannot express. */
static void
test_policy_principal_edges(void **state)
{
	static const char *const roles[] = {NULL, "ci"};
	struct policy_principal p;
	struct policy_decision d;
	struct policy_set *ps;
	char buf[64];

	(void)state;
	ps = test_policy_load("valid", "team");
	/* A NULL principal is anonymous. */
	assert_int_equal(
	    policy_decide(ps, "public/x", NULL, POLICY_PULL, &d), 1);
	assert_int_equal(policy_decide(ps, "team/x", NULL, POLICY_PULL, &d), 0);
	assert_non_null(strstr(d.reason, "you are anonymous"));
	/* A NULL role is skipped, the next one counts. */
	memset(&p, 0, sizeof(p));
	p.kind = POLICY_USER;
	p.name = "bob";
	p.roles = roles;
	p.nroles = 2;
	assert_int_equal(policy_decide(ps, "team/x", &p, POLICY_PUSH, &d), 1);
	/* A NULL name matches no user entry but still "*" and roles. */
	p.name = NULL;
	p.nroles = 0;
	assert_int_equal(policy_decide(ps, "team/x", &p, POLICY_PULL, &d), 1);
	p.kind = POLICY_ROBOT;
	assert_int_equal(policy_decide(ps, "team/x", &p, POLICY_PUSH, &d), 0);
	assert_non_null(strstr(d.reason, "you are robot:?"));
	/* An unknown kind is nobody. */
	p.kind = (enum policy_kind)42;
	p.name = "jenkins";
	assert_int_equal(policy_decide(ps, "team/x", &p, POLICY_PULL, &d), 0);
	assert_int_equal(policy_decide(ps, "public/x", &p, POLICY_PULL, &d), 0);
	/* Bad actions and NULL repositories deny. */
	p.kind = POLICY_ROBOT;
	assert_int_equal(
	    policy_decide(ps, "team/x", &p, (enum policy_action)7, &d), 0);
	assert_int_equal(d.index, -1);
	assert_int_equal(policy_decide(ps, NULL, &p, POLICY_PUSH, &d), 0);
	assert_int_equal(d.index, -1);
	/* Control bytes in a name never reach the reason or a log line. */
	p.kind = POLICY_USER;
	p.name = "al\nice\x1b[31m";
	assert_int_equal(policy_decide(ps, "team/x", &p, POLICY_PUSH, &d), 0);
	assert_null(strpbrk(d.reason, "\n\x1b"));
	assert_non_null(strstr(d.reason, "you are user:al?ice?[31m"));
	policy_principal_fmt(&p, buf, sizeof(buf));
	assert_string_equal(buf, "user:al?ice?[31m");
	policy_principal_fmt(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "anonymous");
	policy_principal_fmt(&p, buf, 8);
	assert_string_equal(buf, "user...");
	policy_set_free(ps);
}

/* A reason longer than the buffer is cut and marked, never overrun. */
static void
test_policy_long_reason(void **state)
{
	const char *roles[TEST_POLICY_ROLES_MAX];
	char name[POLICY_NAME_MAX + 1];
	struct policy_principal p;
	struct policy_decision d;
	struct policy_set *ps;
	size_t i;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	for (i = 0; i < TEST_POLICY_ROLES_MAX; i++)
		roles[i] = "a-rather-long-role-name";
	memset(&p, 0, sizeof(p));
	p.kind = POLICY_CI;
	p.name = name;
	p.roles = roles;
	p.nroles = TEST_POLICY_ROLES_MAX;
	ps = test_policy_load("valid", "ci_only");
	assert_int_equal(policy_decide(ps, "apps/x", &p, POLICY_PUSH, &d), 0);
	assert_int_equal(strlen(d.reason), sizeof(d.reason) - 1);
	assert_string_equal(d.reason + sizeof(d.reason) - 4, "...");
	assert_int_equal(
	    strncmp(d.reason, "push to apps/x needs one of", 27), 0);
	policy_set_free(ps);
}

/*
 * Strings with a NUL inside (a caller that parses with JSON_ALLOW_NUL)
 * are refused, never cut at the NUL.
 */
static void
test_policy_nul(void **state)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
	    {"[{\"repository\":\"a\\u0000b\"}]",
		"policies[0].repository: must be a repository glob"},
	    {"[{\"repository\":\"a\",\"pull\":[\"user:a\\u0000b\"]}]",
		"policies[0].pull[0]: must be a principal without"},
	    {"[{\"repository\":\"a\",\"immutable_tags\":[\"v\\u0000\"]}]",
		"policies[0].immutable_tags[0]: tag glob \"v\\u0000\": holds "
		"a NUL byte"},
	    {"[{\"repository\":\"a\",\"require\":{\"signed_by\":"
	     "[\"k\\u0000\"]}}]",
		"policies[0].require.signed_by[0]: must be a key name"},
	    {"[{\"repository\":\"a\",\"require\":{\"signed_by\":[\"k\"],"
	     "\"mode\":\"warn\\u0000\"}}]",
		"policies[0].require.mode: must be \"enforce\" or \"warn\""},
	    {"[{\"repository\":\"a\",\"require\":{\"signed_by\":[\"k\"],"
	     "\"multiarch\":\"index\\u0000\"}}]",
		"policies[0].require.multiarch: must be \"index\" or \"each\""},
	    {"[{\"repository\":\"a\",\"require\":{\"signed_by\":[\"k\"],"
	     "\"scan\":{\"max_age\":\"7d\\u0000\"}}}]",
		"policies[0].require.scan.max_age: must be a duration"},
	    {"[{\"repository\":\"a\",\"require\":{\"signed_by\":[\"k\"],"
	     "\"scan\":{\"verdict\":\"pass\\u0000\"}}}]",
		"policies[0].require.scan.verdict: must be \"pass\""},
	};
	struct policy_set *ps = NULL;
	char err[POLICY_ERR_MAX];
	json_error_t jerr;
	json_t *v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = json_loads(cases[i].json, JSON_ALLOW_NUL, &jerr);
		if (v == NULL)
			fail_msg("case %zu: %s", i, jerr.text);
		if (policy_set_load("n.json", v, &ps, err, sizeof(err)) != -1)
			fail_msg("case %zu: loaded", i);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: error lacks \"%s\": %s", i,
			    cases[i].want, err);
		json_decref(v);
	}
}

/* The helpers around decisions. */
static void
test_policy_helpers(void **state)
{
	static const struct {
		const char *s;
		int rc;
		enum policy_action act;
	} acts[] = {
	    {"pull", 0, POLICY_PULL},
	    {"push", 0, POLICY_PUSH},
	    {"delete", 0, POLICY_DELETE},
	    {"*", -1, POLICY_PULL},
	    {"Pull", -1, POLICY_PULL},
	    {"", -1, POLICY_PULL},
	    {NULL, -1, POLICY_PULL},
	};
	enum policy_action act;
	struct policy_set *ps;
	json_t *names;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		act = POLICY_DELETE;
		assert_int_equal(
		    policy_action_parse(acts[i].s, &act), acts[i].rc);
		assert_int_equal(act, acts[i].act);
		if (acts[i].rc == 0)
			assert_string_equal(policy_action_name(act), acts[i].s);
	}
	assert_string_equal(
	    policy_action_name((enum policy_action)9), "unknown");

	policy_set_free(NULL);
	policy_glob_free(NULL);
	assert_int_equal(policy_set_count(NULL), 0);
	assert_null(policy_set_revision(NULL));
	assert_int_equal(policy_match(NULL, "a"), -1);

	ps = test_policy_load("valid", "team");
	assert_null(policy_repository(ps, -1));
	assert_null(policy_repository(ps, 2));
	assert_null(policy_require(ps, 1));
	assert_null(policy_require(ps, 99));
	assert_non_null(policy_require(ps, 0));
	assert_int_equal(policy_match(ps, "team/a"), 0);
	assert_int_equal(policy_match(ps, NULL), -1);
	assert_int_equal(policy_tag_immutable(ps, "team/a", NULL), 0);
	/* Catalog filtering drops non-strings and rejects non-arrays. */
	names = json_pack("[s,i,n,s]", "public/a", 3, "team/b");
	/* "public/b" then a NUL: not a name that may be listed. */
	json_array_append_new(names, json_stringn("public/b\0team/c", 15));
	assert_int_equal(policy_catalog_filter(ps, NULL, names), 4);
	assert_int_equal(json_array_size(names), 1);
	assert_string_equal(
	    json_string_value(json_array_get(names, 0)), "public/a");
	json_decref(names);
	names = json_object();
	assert_int_equal(policy_catalog_filter(ps, NULL, names), -1);
	json_decref(names);
	policy_set_free(ps);

	assert_int_equal(policy_glob_tag_valid("v*", NULL), 0);
	assert_int_equal(policy_glob_tag_valid("", NULL), -1);
	assert_int_equal(policy_glob_tag_match("v*", ""), 0);
	assert_int_equal(policy_glob_tag_match(NULL, "v"), 0);
	assert_int_equal(policy_glob_match(NULL, "a"), 0);
}

static int
test_policy_case_cmp(const void *a, const void *b)
{
	const struct test_policy_case *ca = a, *cb = b;

	return strcmp(ca->name, cb->name);
}

/*
 * Append to *cases one case per NAME.json in directory sub, sorted, each
 * with its sibling NAME.<side>. Returns the number added, or -1.
 */
static int
test_policy_scan(const char *sub, const char *side,
    struct test_policy_case **cases, size_t *ncases)
{
	char dir[PATH_MAX];
	struct test_policy_case *tc, *grown;
	struct dirent *de;
	size_t n0 = *ncases, len;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", TEST_POLICY_DIR, sub);
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
		    test_policy_case_cmp);
	return (int)(*ncases - n0);
}

int
main(void)
{
	struct test_policy_case *cases = NULL;
	struct CMUnitTest *tests = NULL;
	size_t ncases = 0, nvalid, ntests = 0, i;
	int nv, ni, rc = 1;

	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_policy_decisions),
	    cmocka_unit_test(test_policy_tags),
	    cmocka_unit_test(test_policy_catalog),
	    cmocka_unit_test(test_policy_globs),
	    cmocka_unit_test(test_policy_revision),
	    cmocka_unit_test(test_policy_revision_value),
	    cmocka_unit_test(test_policy_err_buffers),
	    cmocka_unit_test(test_policy_bounds),
	    cmocka_unit_test(test_policy_principal_edges),
	    cmocka_unit_test(test_policy_long_reason),
	    cmocka_unit_test(test_policy_helpers),
	    cmocka_unit_test(test_policy_nul),
	};
	const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);

	if ((nv = test_policy_scan("valid", "expect", &cases, &ncases)) < 0)
		goto out;
	nvalid = ncases;
	if ((ni = test_policy_scan("invalid", "err", &cases, &ncases)) < 0)
		goto out;
	if (nv < TEST_POLICY_MIN_VALID || ni < TEST_POLICY_MIN_INVALID) {
		fprintf(stderr, "only %d valid and %d invalid cases in %s\n",
		    nv, ni, TEST_POLICY_DIR);
		goto out;
	}
	if ((tests = calloc(ncases + nfixed, sizeof(*tests))) == NULL)
		goto out;
	for (i = 0; i < ncases; i++) {
		tests[ntests].name = cases[i].name;
		tests[ntests].test_func =
		    i < nvalid ? test_policy_valid : test_policy_invalid;
		tests[ntests].initial_state = &cases[i];
		ntests++;
	}
	for (i = 0; i < nfixed; i++)
		tests[ntests++] = fixed[i];
	rc = _cmocka_run_group_tests("policy", tests, ntests, NULL, NULL);
out:
	free(tests);
	free(cases);
	return rc;
}
