/*
 * Unit tests of admission's configuration (gateway/admit_verify.c:
 * "keys", "admission", signed_by names, the revision) and of its tables
 * (db/admission.c: pulls, verdicts and their expiry, children).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "regward/config.h"
#include "regward/db_admit.h"
#include "regward/policy.h"

#include "admit.h"

#define D REGWARD_TEST_DATA "/admit/"

/* Load a config whose extra members are json (",\"keys\":..."). */
static int
load(const char *extra, struct policy_set **ps, struct admit_conf **ac,
    char *err, size_t errlen)
{
	char text[4096];
	struct config *cfg = NULL;
	int rc = -1;

	snprintf(text, sizeof(text),
	    "{\"public_url\":\"https://reg.example.com:8443\","
	    "\"database\":\"/tmp/x.db\",\"upstream\":{\"url\":"
	    "\"http://127.0.0.1:5000\"}%s}",
	    extra);
	*ps = NULL;
	*ac = NULL;
	if (config_load_buffer(
		"t.json", text, strlen(text), &cfg, err, errlen) == -1)
		return -1;
	if (policy_set_load("t.json", cfg->policies, ps, err, errlen) == 0)
		rc = admit_conf_load(cfg, *ps, ac, err, errlen);
	if (*ac != NULL)
		(*ac)->file = NULL; /* borrowed from cfg, about to go */
	config_free(cfg);
	return rc;
}

static void
done(struct policy_set *ps, struct admit_conf *ac)
{
	admit_conf_free(ac);
	policy_set_free(ps);
}

#define POL                                                                    \
	",\"policies\":[{\"repository\":\"team/**\",\"pull\":[\"*\"],"         \
	"\"require\":{\"signed_by\":[\"a\"]}}]"

static void
test_conf_ok(void **state)
{
	struct policy_set *ps;
	struct admit_conf *ac;
	char err[512];

	(void)state;
	assert_int_equal(
	    load(",\"keys\":{\"a\":\"" D "a.pub\",\"b\":\"" D "b.pub\"}" POL,
		&ps, &ac, err, sizeof(err)),
	    0);
	assert_int_equal(ac->nkeys, 2);
	assert_string_equal(ac->keys[0].name, "a");
	assert_int_equal(ac->nregistries, 1);
	assert_string_equal(ac->registries[0], "reg.example.com:8443");
	assert_int_equal(ac->cache_entries, 10000);
	assert_int_equal(ac->admit_ttl, 3600);
	assert_int_equal(ac->deny_ttl, 10);
	assert_int_equal(strlen(ac->revision), 16);
	assert_true(admit_needed(ps));
	done(ps, ac);
}

static void
test_conf_admission_keys(void **state)
{
	struct policy_set *ps;
	struct admit_conf *ac;
	char err[512];

	(void)state;
	assert_int_equal(
	    load(",\"keys\":{\"a\":\"" D "a.pub\"},\"admission\":{"
		 "\"identity_registries\":[\"r1.example\",\"r2:5000\"],"
		 "\"cache_entries\":64,\"cache_ttl\":\"5m\",\"deny_ttl\":0,"
		 "\"workers\":4}" POL,
		&ps, &ac, err, sizeof(err)),
	    0);
	assert_int_equal(ac->nregistries, 2);
	assert_string_equal(ac->registries[1], "r2:5000");
	assert_int_equal(ac->cache_entries, 64);
	assert_int_equal(ac->admit_ttl, 300);
	assert_int_equal(ac->deny_ttl, 0);
	assert_int_equal(ac->workers, 4);
	done(ps, ac);
}

/* Each bad config names the file and the key at fault. */
static void
test_conf_errors(void **state)
{
	static const struct {
		const char *extra, *want;
	} cases[] = {
	    {",\"keys\":{\"b\":\"" D "b.pub\"}" POL,
		"t.json: policies[0].require.signed_by[0]: no key named "
		"\"a\""},
	    {",\"keys\":{\"a\":\"" D "missing.pub\"}" POL, "t.json: keys.a: "},
	    {",\"keys\":{\"a\":\"" D "rsa.pub\"}" POL, "t.json: keys.a: "},
	    {",\"keys\":{\"a\":7}" POL, "t.json: keys.a: must be the path"},
	    {",\"keys\":[]" POL, "t.json: keys: must be an object"},
	    {",\"keys\":{\"a\":\"" D "a.pub\"},\"admission\":{\"ttl\":1}" POL,
		"t.json: admission.ttl: unknown key"},
	    {",\"keys\":{\"a\":\"" D "a.pub\"},\"admission\":{\"cache_ttl\":"
	     "\"2w\"}" POL,
		"t.json: admission.cache_ttl: must be a duration"},
	    {",\"keys\":{\"a\":\"" D "a.pub\"},\"admission\":{"
	     "\"identity_registries\":[\"https://x/y\"]}" POL,
		"t.json: admission.identity_registries: entry 0"},
	    {",\"keys\":{\"a\":\"" D
	     "a.pub\"},\"admission\":{\"workers\":0}" POL,
		"t.json: admission.workers: must be an integer"},
	};
	struct policy_set *ps;
	struct admit_conf *ac;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (load(cases[i].extra, &ps, &ac, err, sizeof(err)) != -1)
			fail_msg("case %zu loaded", i);
		if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err,
			    cases[i].want);
		assert_null(ac);
		done(ps, ac);
	}
}

/* The revision follows the key bytes, not only the names. */
static void
test_revision(void **state)
{
	struct policy_set *ps;
	struct admit_conf *a1, *a2, *a3;
	char err[512], r1[17];

	(void)state;
	assert_int_equal(
	    load(",\"keys\":{\"a\":\"" D "a.pub\"}" POL, &ps, &a1, err, 512),
	    0);
	snprintf(r1, sizeof(r1), "%s", a1->revision);
	done(ps, a1);
	assert_int_equal(
	    load(",\"keys\":{\"a\":\"" D "a.pub\"}" POL, &ps, &a2, err, 512),
	    0);
	assert_string_equal(r1, a2->revision);
	done(ps, a2);
	assert_int_equal(
	    load(",\"keys\":{\"a\":\"" D "b.pub\"}" POL, &ps, &a3, err, 512),
	    0);
	assert_string_not_equal(r1, a3->revision);
	done(ps, a3);
}

static void
test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(admit_reason_name(ADMIT_UNSIGNED), "unsigned");
	assert_string_equal(
	    admit_reason_name(ADMIT_BAD_SIGNATURE), "bad_signature");
	assert_string_equal(
	    admit_reason_name(ADMIT_UNTRUSTED_KEY), "untrusted_key");
	assert_string_equal(
	    admit_reason_name(ADMIT_IDENTITY_MISMATCH), "identity_mismatch");
	assert_string_equal(
	    admit_reason_name(ADMIT_SCAN_MISSING), "scan_missing");
	assert_string_equal(
	    admit_reason_name(ADMIT_SCAN_FAILED), "scan_failed");
	assert_string_equal(
	    admit_reason_name(ADMIT_SCAN_EXPIRED), "scan_expired");
	assert_string_equal(
	    admit_reason_name((enum admit_reason)99), "unknown");
}

/* ---- db/admission.c ---------------------------------------------------- */

static long long
one(struct db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
collect(const char *parent, void *arg)
{
	strcat((char *)arg, parent);
	strcat((char *)arg, " ");
}

static void
test_db(void **state)
{
	char path[] = "/tmp/regward-test-admit-XXXXXX", err[256], got[256] = "";
	struct db *db;
	struct db_pull p = {100, "team/app", "sha256:aa", "v1", 0};
	struct db_verdict v;
	struct db_verdict_row row;
	const char *kids[] = {"sha256:c1", "sha256:c2"};
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(
	    db_pull_record(db, &p, err, sizeof(err)), DB_LEDGER_OK);
	p.at = 50; /* an older pull does not move last_pulled back */
	assert_int_equal(
	    db_pull_record(db, &p, err, sizeof(err)), DB_LEDGER_OK);
	assert_int_equal(one(db, "SELECT count FROM pulls"), 2);
	assert_int_equal(one(db, "SELECT last_pulled FROM pulls"), 100);

	memset(&v, 0, sizeof(v));
	v.repository = "team/app";
	v.digest = "sha256:aa";
	v.revision = "rev1";
	v.admit = 1;
	v.reason = "signed";
	v.detail = "signed by a";
	v.key_name = "a";
	v.decided_at = 100;
	v.expires_at = 200;
	assert_int_equal(
	    db_verdict_record(db, &v, err, sizeof(err)), DB_LEDGER_OK);
	v.digest = "sha256:c1";
	v.reason = "via_index";
	v.via = "sha256:aa";
	assert_int_equal(
	    db_verdict_record(db, &v, err, sizeof(err)), DB_LEDGER_OK);
	assert_int_equal(db_verdict_lookup(db, "team/app", "sha256:aa", "rev1",
			     150, &row, err, sizeof(err)),
	    1);
	assert_string_equal(row.key_name, "a");
	/* Expired, other revision, other repository: none. */
	assert_int_equal(db_verdict_lookup(db, "team/app", "sha256:aa", "rev1",
			     200, &row, err, sizeof(err)),
	    0);
	assert_int_equal(db_verdict_lookup(db, "team/app", "sha256:aa", "rev2",
			     150, &row, err, sizeof(err)),
	    0);
	assert_int_equal(db_verdict_lookup(db, "team/other", "sha256:aa",
			     "rev1", 150, &row, err, sizeof(err)),
	    0);
	/* Forgetting the index forgets the child admitted through it. */
	assert_int_equal(
	    db_verdict_forget(db, "team/app", "sha256:aa", err, sizeof(err)),
	    DB_LEDGER_OK);
	assert_int_equal(db_verdict_lookup(db, "team/app", "sha256:c1", "rev1",
			     150, &row, err, sizeof(err)),
	    0);

	assert_int_equal(db_children_record(db, "team/app", "sha256:ix", kids,
			     2, err, sizeof(err)),
	    DB_LEDGER_OK);
	assert_int_equal(db_children_record(db, "team/app", "sha256:ix", kids,
			     2, err, sizeof(err)),
	    DB_LEDGER_OK); /* again: no duplicates */
	assert_int_equal(db_children_parents(db, "team/app", "sha256:c2", 8,
			     collect, got, err, sizeof(err)),
	    1);
	assert_string_equal(got, "sha256:ix ");
	db_close(db);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf_ok),
	    cmocka_unit_test(test_conf_admission_keys),
	    cmocka_unit_test(test_conf_errors),
	    cmocka_unit_test(test_revision),
	    cmocka_unit_test(test_reason_names),
	    cmocka_unit_test(test_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
