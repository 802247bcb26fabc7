/*
 * test_inventory: the ledger's inventory (db/inventory.c) and the push
 * path's share of it (db_ledger_push_insert) on a temp database migrated
 * by the real db_open().
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

#include "regward/db.h"

#define D1                                                                     \
	"sha256:"                                                              \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
	"sha256:"                                                              \
	"2222222222222222222222222222222222222222222222222222222222222222"
#define D3                                                                     \
	"sha256:"                                                              \
	"3333333333333333333333333333333333333333333333333333333333333333"

struct t {
	char dir[64];
	char path[96];
	struct db *db;
	struct db_ledger *w;
	char err[512];
};

static int
t_setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_inventory.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/l.db", t->dir);
	if ((t->db = db_open(t->path, t->err, sizeof(t->err))) == NULL ||
	    (t->w = db_ledger_new(t->db, t->err, sizeof(t->err))) == NULL)
		fail_msg("%s", t->err);
	*state = t;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t *t = *state;
	char p[160];

	db_ledger_free(t->w);
	db_close(t->db);
	snprintf(p, sizeof(p), "%s-wal", t->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", t->path);
	unlink(p);
	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

struct rows {
	char buf[1024];
};

static int
t_mfst_cb(const struct db_inv_mfst *m, void *arg)
{
	struct rows *r = arg;
	size_t n = strlen(r->buf);

	snprintf(r->buf + n, sizeof(r->buf) - n, "%.8s:%s:%lld:%s;",
	    m->digest + 7, m->source, m->pushed_at,
	    m->pushed_by != NULL ? m->pushed_by : "-");
	return 0;
}

static int
t_tag_cb(const struct db_inv_tag *tg, void *arg)
{
	struct rows *r = arg;
	size_t n = strlen(r->buf);

	snprintf(r->buf + n, sizeof(r->buf) - n, "%s=%.8s:%s:%lld;", tg->tag,
	    tg->digest + 7, tg->source, tg->updated_at);
	return 0;
}

static void
t_push(struct t *t, long long at, const char *tag, const char *dgst)
{
	struct db_ledger_push p;

	memset(&p, 0, sizeof(p));
	p.at = at;
	p.repository = "team/app";
	p.tag = tag;
	p.digest = dgst;
	p.media_type = "application/vnd.oci.image.manifest.v1+json";
	p.size = 500;
	p.principal = "user:alice";
	if (db_ledger_push_insert(t->w, &p, t->err, sizeof(t->err)) !=
	    DB_LEDGER_OK)
		fail_msg("%s", t->err);
}

static void
test_push_records_inventory(void **state)
{
	struct t *t = *state;
	struct rows r;

	t_push(t, 100, "v1", D1);
	t_push(t, 200, "v1", D2); /* moves v1 */
	t_push(t, 300, NULL, D3); /* by digest: no tag */
	memset(&r, 0, sizeof(r));
	assert_int_equal(db_inv_manifest_list(t->db, "team/app", t_mfst_cb, &r,
			     t->err, sizeof(t->err)),
	    0);
	assert_string_equal(r.buf,
	    "11111111:push:100:user:alice;"
	    "22222222:push:200:user:alice;"
	    "33333333:push:300:user:alice;");
	memset(&r, 0, sizeof(r));
	assert_int_equal(db_inv_tag_list(t->db, "team/app", NULL, t_tag_cb, &r,
			     t->err, sizeof(t->err)),
	    0);
	assert_string_equal(r.buf, "v1=22222222:push:200;");
	/* Pushed since 250: only D3. */
	assert_int_equal(db_inv_pushed_since(t->db, "team/app", D3, 250, t->err,
			     sizeof(t->err)),
	    1);
	assert_int_equal(db_inv_pushed_since(t->db, "team/app", D1, 250, t->err,
			     sizeof(t->err)),
	    0);
}

static void
test_sync_never_overrides_a_push(void **state)
{
	struct t *t = *state;
	struct rows r;

	t_push(t, 500, "v1", D1);
	/* A sync that started at 400 saw v1 on D2: the push wins. */
	assert_int_equal(db_inv_tag_seen(t->db, "team/app", "v1", D2, 400,
			     t->err, sizeof(t->err)),
	    0);
	/* A known manifest stays "push". */
	assert_int_equal(db_inv_manifest_seen(t->db, "team/app", D1, NULL, -1,
			     400, t->err, sizeof(t->err)),
	    0);
	/* New ones are "sync", without pushed_at. */
	assert_int_equal(db_inv_manifest_seen(t->db, "team/app", D2, NULL, -1,
			     600, t->err, sizeof(t->err)),
	    1);
	assert_int_equal(db_inv_tag_seen(t->db, "team/app", "v2", D2, 600,
			     t->err, sizeof(t->err)),
	    1);
	memset(&r, 0, sizeof(r));
	db_inv_manifest_list(
	    t->db, "team/app", t_mfst_cb, &r, t->err, sizeof(t->err));
	assert_string_equal(
	    r.buf, "11111111:push:500:user:alice;22222222:sync:0:-;");
	memset(&r, 0, sizeof(r));
	db_inv_tag_list(
	    t->db, "team/app", NULL, t_tag_cb, &r, t->err, sizeof(t->err));
	assert_string_equal(
	    r.buf, "v1=11111111:push:500;v2=22222222:sync:600;");
	/* Deleting D2 drops v2 and hides the manifest. */
	assert_int_equal(db_inv_manifest_deleted(t->db, "team/app", D2, 700,
			     "purge", t->err, sizeof(t->err)),
	    0);
	memset(&r, 0, sizeof(r));
	db_inv_tag_list(
	    t->db, "team/app", NULL, t_tag_cb, &r, t->err, sizeof(t->err));
	assert_string_equal(r.buf, "v1=11111111:push:500;");
	memset(&r, 0, sizeof(r));
	db_inv_manifest_list(
	    t->db, "team/app", t_mfst_cb, &r, t->err, sizeof(t->err));
	assert_string_equal(r.buf, "11111111:push:500:user:alice;");
	/* Found again: back. */
	assert_int_equal(db_inv_manifest_seen(t->db, "team/app", D2, NULL, -1,
			     800, t->err, sizeof(t->err)),
	    0);
	memset(&r, 0, sizeof(r));
	db_inv_manifest_list(
	    t->db, "team/app", t_mfst_cb, &r, t->err, sizeof(t->err));
	assert_string_equal(
	    r.buf, "11111111:push:500:user:alice;22222222:sync:0:-;");
}

static int
t_child_cb(const char *parent, const char *child, int live, void *arg)
{
	struct rows *r = arg;
	size_t n = strlen(r->buf);

	snprintf(r->buf + n, sizeof(r->buf) - n, "%.4s>%.4s:%d;", parent + 7,
	    child + 7, live);
	return 0;
}

static void
test_children_and_runs(void **state)
{
	struct t *t = *state;
	const char *kids[] = {D2, D3};
	struct db_purge_deletion d;
	struct rows r;
	long long id;

	t_push(t, 100, "multi", D1);
	assert_int_equal(
	    db_inv_has_children(t->db, "team/app", D1, t->err, sizeof(t->err)),
	    0);
	assert_int_equal(db_inv_children_set(t->db, "team/app", D1, kids, 2,
			     t->err, sizeof(t->err)),
	    0);
	assert_int_equal(
	    db_inv_has_children(t->db, "team/app", D1, t->err, sizeof(t->err)),
	    1);
	memset(&r, 0, sizeof(r));
	db_inv_children_list(
	    t->db, "team/app", t_child_cb, &r, t->err, sizeof(t->err));
	assert_string_equal(r.buf, "1111>2222:1;1111>3333:1;");
	db_inv_manifest_deleted(
	    t->db, "team/app", D1, 200, "purge", t->err, sizeof(t->err));
	memset(&r, 0, sizeof(r));
	db_inv_children_list(
	    t->db, "team/app", t_child_cb, &r, t->err, sizeof(t->err));
	assert_string_equal(r.buf, "1111>2222:0;1111>3333:0;");

	/* A running real run left behind is interrupted by the next. */
	assert_true(
	    db_purge_run_start(t->db, 10, 0, t->err, sizeof(t->err)) > 0);
	id = db_purge_run_start(t->db, 20, 0, t->err, sizeof(t->err));
	memset(&d, 0, sizeof(d));
	d.run_id = id;
	d.at = 21;
	d.repository = "team/app";
	d.digest = D1;
	d.rule = "retention[0]";
	d.status = "deleted";
	assert_int_equal(
	    db_purge_deletion_add(t->db, &d, t->err, sizeof(t->err)), 0);
	assert_int_equal(db_purge_run_finish(t->db, id, 30, "done", 1, 1, NULL,
			     t->err, sizeof(t->err)),
	    0);
	/* audit: the push rows are at 100; trim before 150 removes them. */
	assert_int_equal(db_audit_trim(t->db, 150, t->err, sizeof(t->err)), 1);
	assert_int_equal(db_audit_trim(t->db, 150, t->err, sizeof(t->err)), 0);
}

/* A manifest deleted through the gateway leaves the inventory too. */
static void
test_gateway_delete(void **state)
{
	struct t *t = *state;
	struct db_ledger_event e;
	struct rows r;

	t_push(t, 100, "v1", D1);
	t_push(t, 110, "v2", D2);
	memset(&e, 0, sizeof(e));
	e.at = 120;
	e.kind = DB_LEDGER_DELETE;
	e.principal = "user:admin";
	e.repository = "team/app";
	e.ref = D1;
	e.method = "DELETE";
	e.status = 202;
	if (db_ledger_event_insert(t->w, &e, t->err, sizeof(t->err)) !=
	    DB_LEDGER_OK)
		fail_msg("%s", t->err);
	/* A refused delete changes nothing. */
	e.ref = D2;
	e.status = 403;
	if (db_ledger_event_insert(t->w, &e, t->err, sizeof(t->err)) !=
	    DB_LEDGER_OK)
		fail_msg("%s", t->err);
	memset(&r, 0, sizeof(r));
	db_inv_manifest_list(
	    t->db, "team/app", t_mfst_cb, &r, t->err, sizeof(t->err));
	assert_string_equal(r.buf, "22222222:push:110:user:alice;");
	memset(&r, 0, sizeof(r));
	db_inv_tag_list(
	    t->db, "team/app", NULL, t_tag_cb, &r, t->err, sizeof(t->err));
	assert_string_equal(r.buf, "v2=22222222:push:110;");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_push_records_inventory, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(
		test_sync_never_overrides_a_push, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(
		test_children_and_runs, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(
		test_gateway_delete, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
