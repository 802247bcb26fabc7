/*
 * test_retention: the retention loader and the purge planner
 * (gateway/retention.c) as tables of declarative cases, and the Link
 * header parsing of the registry client (signer/registry_list.c).
 *
 * A planner case is a rule (JSON), a clock, manifests and tags in a small
 * language, and the set of manifests the plan must delete:
 *   manifests  "a@100/50>cd!"  manifest a pushed at 100, pulled at 50,
 *              an index listing c and d; '!' listed only by deleted
 *              indexes. A manifest's digest is "sha256:" + 64 times its
 *              letter (0-9, a-f).
 *   tags       "v1=a@100"      tag v1 on a, pushed at 100; "~a=s@100" is
 *              the signature tag sha256-<a>.sig on s. Tags listed later
 *              were pushed later within the same second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "regward/registry.h"
#include "regward/retention.h"

#define DAY 86400LL

struct test_plan {
	const char *name;
	const char *rule; /* one rule object, "repository" added */
	long long now;
	const char *mfsts;
	const char *tags;
	const char *deleted; /* letters, sorted */
};

/* clang-format off */
static const struct test_plan test_plans[] = {
	{ "keep_last keeps the newest tags", "{\"keep_last\": 2}", 1000,
	    "a@100 b@200 c@300", "v1=a@100 v2=b@200 v3=c@300", "a" },
	{ "keep_last orders pushes within a second", "{\"keep_last\": 2}",
	    1000, "a@100 b@100 c@100", "x=c@100 y=a@100 z=b@100", "c" },
	{ "a tag sharing a kept digest survives",
	    "{\"keep_tags\": [\"release-*\"]}", 1000, "a@1 b@1",
	    "release-1=a@1 old=a@1 old2=b@1", "b" },
	{ "signature tags do not count for keep_last", "{\"keep_last\": 1}",
	    1000, "a@100 b@200 s@300 t@300",
	    "v1=a@100 v2=b@200 ~b=s@300 ~a=t@300", "at" },
	{ "a kept index keeps its children",
	    "{\"keep_tags\": [\"multi\"], \"untagged\": \"delete\"}", 1000,
	    "1@1>cd c@1 d@1 2@1>e e@1 f@1", "multi=1@1 old=2@1", "2ef" },
	{ "a kept index keeps a tagged child", "{\"keep_last\": 1}", 1000,
	    "1@300>a a@100 b@200", "old=a@100 b=b@200 idx=1@300", "b" },
	{ "untagged manifests stay by default", "{\"keep_last\": 0}", 1000,
	    "a@1 b@1", "v=a@1", "a" },
	{ "untagged: delete", "{\"keep_last\": 0, \"untagged\": \"delete\"}",
	    1000, "a@1 b@1", "v=a@1", "ab" },
	{ "children of deleted indexes go even with untagged: keep",
	    "{\"keep_last\": 5}", 1000, "c@1!", "", "c" },
	{ "keep_pushed_within", "{\"keep_pushed_within\": \"30d\"}", 40 * DAY,
	    "a@1 b@1", "x=a@864000 y=b@950400", "a" },
	{ "keep_pushed_within keeps recent untagged manifests",
	    "{\"keep_pushed_within\": \"30d\", \"untagged\": \"delete\"}",
	    40 * DAY, "a@864000 b@950400", "", "a" },
	{ "keep_pulled_within",
	    "{\"keep_last\": 0, \"keep_pulled_within\": \"7d\"}", 100 * DAY,
	    "a@1/8553600 b@1/1", "x=a@1 y=b@1", "b" },
	{ "a signature whose subject is gone goes", "{\"keep_last\": 5}", 1000,
	    "s@1", "~f=s@1", "s" },
	{ "a signature of a kept image stays, of a deleted one goes",
	    "{\"keep_tags\": [\"keep\"]}", 1000, "a@1 b@1 s@1 t@1",
	    "keep=a@1 drop=b@1 ~a=s@1 ~b=t@1", "bt" },
	{ "a signed index keeps its signature and children",
	    "{\"keep_tags\": [\"v1\"], \"untagged\": \"delete\"}", 1000,
	    "1@1>ab a@1 b@1 s@1", "v1=1@1 ~1=s@1", "" },
	{ "nothing kept: keep_last 0 deletes every tagged digest",
	    "{\"keep_last\": 0}", 1000, "a@1 b@1 s@1", "v=a@1 w=b@1 ~a=s@1",
	    "abs" },
};
/* clang-format on */

/* Parse a decimal at *p and move *p past it. */
static long long
test_num(const char **p)
{
	long long v = 0;

	while (**p >= '0' && **p <= '9')
		v = v * 10 + (*(*p)++ - '0');
	return v;
}

static void
test_digest(char c, char *buf, size_t len)
{
	char hex[65];

	memset(hex, c, 64);
	hex[64] = '\0';
	snprintf(buf, len, "sha256:%s", hex);
}

struct test_repo {
	struct retention_repo r;
	char dg[16][80];
	char kids[16][8][80];
	const char *kidp[16][8];
	char tagname[32][128];
	char letter[16];
};

static void
test_repo_build(const struct test_plan *tp, struct test_repo *t)
{
	const char *p;
	size_t n = 0, k;

	memset(t, 0, sizeof(*t));
	t->r.mfsts = calloc(16, sizeof(*t->r.mfsts));
	t->r.tags = calloc(32, sizeof(*t->r.tags));
	assert_non_null(t->r.mfsts);
	assert_non_null(t->r.tags);
	for (p = tp->mfsts; *p != '\0';) {
		struct retention_mfst *m = &t->r.mfsts[n];

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		t->letter[n] = *p;
		test_digest(*p++, t->dg[n], sizeof(t->dg[n]));
		m->digest = t->dg[n];
		assert_int_equal(*p++, '@');
		m->pushed_at = test_num(&p);
		if (*p == '/') {
			p++;
			m->last_pulled = test_num(&p);
		}
		if (*p == '>') {
			for (p++, k = 0; *p != '\0' && *p != ' ' && *p != '!';
			     p++, k++) {
				test_digest(
				    *p, t->kids[n][k], sizeof(t->kids[n][k]));
				t->kidp[n][k] = t->kids[n][k];
			}
			m->children = t->kidp[n];
			m->nchildren = k;
			m->is_index = 1;
		}
		if (*p == '!') {
			m->orphan_child = 1;
			p++;
		}
		n++;
	}
	t->r.nmfsts = n;
	for (p = tp->tags, n = 0; *p != '\0';) {
		struct retention_tag *tg = &t->r.tags[n];
		char dg[80], *q;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p == '~') {
			test_digest(p[1], dg, sizeof(dg));
			snprintf(t->tagname[n], sizeof(t->tagname[n]),
			    "sha256-%s.sig", dg + 7);
			p += 2;
		} else {
			q = t->tagname[n];
			while (*p != '=')
				*q++ = *p++;
			*q = '\0';
		}
		tg->tag = t->tagname[n];
		assert_int_equal(*p++, '=');
		for (k = 0; k < t->r.nmfsts; k++)
			if (t->letter[k] == *p)
				tg->digest = t->dg[k];
		assert_non_null(tg->digest);
		p++;
		assert_int_equal(*p++, '@');
		tg->updated_at = test_num(&p);
		tg->seq = (long long)n + 1;
		n++;
	}
	t->r.ntags = n;
}

static void
test_repo_free(struct test_repo *t)
{
	retention_repo_clear(&t->r);
	free(t->r.mfsts);
	free(t->r.tags);
}

/* Load one rule for repository "r" from the JSON object text. */
static struct retention_set *
test_rule(const char *obj)
{
	struct retention_set *rs = NULL;
	char err[512];
	json_t *arr, *o;

	o = json_loads(obj, 0, NULL);
	assert_non_null(o);
	json_object_set_new(o, "repository", json_string("r"));
	arr = json_array();
	json_array_append_new(arr, o);
	if (retention_load("t.json", arr, &rs, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	json_decref(arr);
	return rs;
}

static void
test_plans_all(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(test_plans) / sizeof(test_plans[0]); i++) {
		const struct test_plan *tp = &test_plans[i];
		struct retention_set *rs = test_rule(tp->rule);
		struct test_repo t;
		char got[17] = "";
		int n;

		test_repo_build(tp, &t);
		n = retention_plan(&rs->rules[0], &t.r, tp->now);
		for (k = 0; k < t.r.nmfsts; k++) {
			assert_true(t.r.mfsts[k].reason[0] != '\0');
			if (t.r.mfsts[k].action == RETENTION_DELETE)
				got[strlen(got)] = t.letter[k];
		}
		if (strcmp(got, tp->deleted) != 0 ||
		    n != (int)strlen(tp->deleted)) {
			for (k = 0; k < t.r.nmfsts; k++)
				fprintf(stderr, "  %c %s: %s\n", t.letter[k],
				    t.r.mfsts[k].action == RETENTION_DELETE
					? "delete"
					: "keep",
				    t.r.mfsts[k].reason);
			fail_msg("%s: deleted \"%s\", want \"%s\"", tp->name,
			    got, tp->deleted);
		}
		test_repo_free(&t);
		retention_set_free(rs);
	}
}

/* Deletion order: a signature after its subject, a child after its index. */
static void
test_plan_deps(void **state)
{
	static const struct test_plan tp = {"deps",
	    "{\"keep_last\": 0, \"untagged\": \"keep\"}", 1000, "1@1>a a@1 s@1",
	    "idx=1@1 ~1=s@1", "1as"};
	struct retention_set *rs = test_rule(tp.rule);
	struct test_repo t;

	(void)state;
	test_repo_build(&tp, &t);
	assert_int_equal(retention_plan(&rs->rules[0], &t.r, tp.now), 3);
	assert_int_equal(t.r.mfsts[0].level, 0);
	assert_int_equal(t.r.mfsts[1].level, 1);
	assert_int_equal(t.r.mfsts[1].ndeps, 1);
	assert_int_equal(t.r.mfsts[1].deps[0], 0);
	assert_int_equal(t.r.mfsts[2].level, 2);
	assert_int_equal(t.r.mfsts[2].ndeps, 1);
	assert_int_equal(t.r.mfsts[2].deps[0], 0);
	assert_non_null(strstr(t.r.mfsts[2].reason, "sig of deleted"));
	test_repo_free(&t);
	retention_set_free(rs);
}

static void
test_load_errors(void **state)
{
	static const struct {
		const char *json;
		const char *err;
	} cases[] = {
	    {"{}", "retention: must be an array"},
	    {"[1]", "retention[0]: must be an object"},
	    {"[{\"keep_last\": 1}]", "retention[0]: repository: required"},
	    {"[{\"repository\": \"a\"}]", "retention[0]: needs at least one"},
	    {"[{\"repository\": \"a\", \"keep_last\": 1},"
	     " {\"repository\": \"b\", \"keep_last\": -1}]",
		"t.json: retention[1].keep_last: must be a non-negative "
		"integer"},
	    {"[{\"repository\": \"a\", \"keep_last\": \"3\"}]",
		"retention[0].keep_last: must be a non-negative integer"},
	    {"[{\"repository\": \"a\", \"keep_pushed_within\": \"3 days\"}]",
		"retention[0].keep_pushed_within: must be a duration"},
	    {"[{\"repository\": \"a\", \"keep_pulled_within\": -1}]",
		"retention[0].keep_pulled_within: must be a duration"},
	    {"[{\"repository\": \"a\", \"keep_tags\": [\"v/1\"]}]",
		"retention[0].keep_tags[0]"},
	    {"[{\"repository\": \"a\", \"keep_tags\": \"v*\"}]",
		"retention[0].keep_tags: must be an array"},
	    {"[{\"repository\": \"a\", \"keep_last\": 1,"
	     " \"untagged\": \"purge\"}]",
		"retention[0].untagged: must be \"keep\" or \"delete\""},
	    {"[{\"repository\": \"a\", \"keep_last\": 1, \"keep\": 1}]",
		"retention[0].keep: unknown key"},
	    {"[{\"repository\": \"a//b\", \"keep_last\": 1}]",
		"retention[0].repository"},
	    {"[{\"repository\": \"a/*\", \"keep_last\": 1},"
	     " {\"repository\": \"a/*\", \"keep_last\": 2}]",
		"retention[1].repository: same glob as retention[0]"},
	};
	struct retention_set *rs;
	char err[512];
	size_t i;
	json_t *j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = json_loads(cases[i].json, 0, NULL);
		assert_non_null(j);
		rs = (struct retention_set *)1;
		assert_int_equal(
		    retention_load("t.json", j, &rs, err, sizeof(err)), -1);
		assert_null(rs);
		if (strstr(err, cases[i].err) == NULL ||
		    strncmp(err, "t.json: ", 8) != 0)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    cases[i].err);
		json_decref(j);
	}
}

static void
test_load_match(void **state)
{
	struct retention_set *rs;
	char err[512];
	json_t *j;

	(void)state;
	j = json_loads("[{\"repository\": \"team/app\", \"keep_last\": 3,"
		       " \"keep_tags\": [\"v*\", \"latest\"],"
		       " \"keep_pushed_within\": \"12h\","
		       " \"keep_pulled_within\": 60, \"untagged\": \"delete\"},"
		       " {\"repository\": \"team/**\", \"keep_last\": 0}]",
	    0, NULL);
	assert_int_equal(retention_load("t.json", j, &rs, err, sizeof(err)), 0);
	assert_int_equal(rs->nrules, 2);
	assert_int_equal(rs->rules[0].keep_last, 3);
	assert_int_equal(rs->rules[0].nkeep_tags, 2);
	assert_int_equal(rs->rules[0].keep_pushed_within, 12 * 3600);
	assert_int_equal(rs->rules[0].keep_pulled_within, 60);
	assert_int_equal(rs->rules[0].untagged, RETENTION_UNTAGGED_DELETE);
	assert_int_equal(rs->rules[1].untagged, RETENTION_UNTAGGED_KEEP);
	assert_int_equal(rs->rules[1].keep_pushed_within, -1);
	assert_int_equal(retention_match(rs, "team/app"), 0);
	assert_int_equal(retention_match(rs, "team/lib/x"), 1);
	assert_int_equal(retention_match(rs, "team"), -1);
	assert_int_equal(retention_match(rs, "other/app"), -1);
	retention_set_free(rs);
	json_decref(j);
	assert_int_equal(
	    retention_load("t.json", NULL, &rs, err, sizeof(err)), 0);
	assert_int_equal(rs->nrules, 0);
	retention_set_free(rs);
}

static void
test_sig_subject(void **state)
{
	char hex[65], tag[128], subj[80];

	(void)state;
	memset(hex, 'a', 64);
	hex[64] = '\0';
	snprintf(tag, sizeof(tag), "sha256-%s.sig", hex);
	assert_int_equal(retention_sig_subject(tag, subj, sizeof(subj)), 1);
	assert_string_equal(subj + 7, hex);
	snprintf(tag, sizeof(tag), "sha256-%s.att", hex);
	assert_int_equal(retention_sig_subject(tag, subj, sizeof(subj)), 1);
	snprintf(tag, sizeof(tag), "sha256-%s.sbom", hex);
	assert_int_equal(retention_sig_subject(tag, subj, sizeof(subj)), 1);
	snprintf(tag, sizeof(tag), "sha256-%s.sig2", hex);
	assert_int_equal(retention_sig_subject(tag, subj, sizeof(subj)), 0);
	snprintf(tag, sizeof(tag), "sha256-%.63s.sig", hex);
	assert_int_equal(retention_sig_subject(tag, subj, sizeof(subj)), 0);
	hex[3] = 'A';
	snprintf(tag, sizeof(tag), "sha256-%s.sig", hex);
	assert_int_equal(retention_sig_subject(tag, subj, sizeof(subj)), 0);
	assert_int_equal(retention_sig_subject("v1", subj, sizeof(subj)), 0);
}

static void
test_link_next(void **state)
{
	static const struct {
		const char *link;
		const char *want; /* NULL: none */
	} cases[] = {
	    {"</v2/_catalog?last=b&n=2>; rel=\"next\"",
		"/v2/_catalog?last=b&n=2"},
	    {"<http://r:5000/v2/a/tags/list?last=x&n=1>; rel=\"next\"",
		"/v2/a/tags/list?last=x&n=1"},
	    {"</v2/x?n=1>; rel=\"prev\", </v2/y?n=1>; rel=\"next\"",
		"/v2/y?n=1"},
	    {"</v2/_catalog?n=2>; rel=\"prev\"", NULL},
	    {"<http://evil:5000/v2/_catalog?n=2>; rel=\"next\"", NULL},
	    {"<//evil/v2/_catalog>; rel=\"next\"", NULL},
	    {"</other?n=2>; rel=\"next\"", NULL},
	    {"garbage", NULL},
	};
	size_t i;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = registry_link_next("http://r:5000", cases[i].link);
		if (cases[i].want == NULL) {
			if (got != NULL)
				fail_msg("case %zu: got %s", i, got);
		} else {
			assert_non_null(got);
			assert_string_equal(got, cases[i].want);
		}
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plans_all),
	    cmocka_unit_test(test_plan_deps),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_load_match),
	    cmocka_unit_test(test_sig_subject),
	    cmocka_unit_test(test_link_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
