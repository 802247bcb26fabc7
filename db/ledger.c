/*
 * ledger: the audit trail and the pushes (tables of migration 3).
 *
 * Writes go through a struct db_ledger, which holds the insert statements
 * prepared once for its connection: the gateway's writer thread (see
 * gateway/ledger.c) inserts thousands of rows per second and should not
 * pay for a prepare per row. Reads prepare per call; they are rare
 * (tests, `regward audit`).
 *
 * Every string is cut to its DB_LEDGER_*_MAX here too, whoever calls, so
 * that the bounds are a property of the database and not of one caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "regward/db.h"

struct db_ledger {
	struct db *db;
	sqlite3_stmt *begin;
	sqlite3_stmt *commit;
	sqlite3_stmt *rollback;
	sqlite3_stmt *ins_audit;
	sqlite3_stmt *ins_push;
	sqlite3_stmt *ins_mfst; /* manifests upsert (migration 4) */
	sqlite3_stmt *ins_hist; /* tag_history when a tag moves */
	sqlite3_stmt *ins_tag; /* tags upsert */
};

static const char db_ledger_sql_audit[] =
    "INSERT INTO audit (at, kind, principal, client, repository, ref,"
    " digest, method, status, reason, claims)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

static const char db_ledger_sql_push[] =
    "INSERT INTO pushes (at, repository, tag, digest, media_type, size,"
    " principal, client, claims)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/*
 * A push also keeps the inventory (docs/ledger.md): the manifest, source
 * "push", and for a push by tag the tag and, when it moved, its history.
 */
static const char db_ledger_sql_mfst[] =
    "INSERT INTO manifests (repository, digest, media_type, size, source,"
    " first_seen, pushed_at, pushed_by, deleted_at)"
    " VALUES (?1, ?2, ?3, ?4, 'push', ?5, ?5, ?6, NULL)"
    " ON CONFLICT (repository, digest) DO UPDATE SET"
    " media_type = coalesce(excluded.media_type, media_type),"
    " size = coalesce(excluded.size, size), source = 'push',"
    " pushed_at = excluded.pushed_at, pushed_by = excluded.pushed_by,"
    " deleted_at = NULL";

static const char db_ledger_sql_hist[] =
    "INSERT INTO tag_history (at, repository, tag, digest, previous_digest,"
    " principal, source)"
    " SELECT ?1, ?2, ?3, ?4, (SELECT digest FROM tags"
    "  WHERE repository = ?2 AND tag = ?3), ?5, 'push'"
    " WHERE NOT EXISTS (SELECT 1 FROM tags WHERE repository = ?2"
    "  AND tag = ?3 AND digest = ?4)";

static const char db_ledger_sql_tag[] =
    "INSERT INTO tags (repository, tag, digest, source, updated_at,"
    " updated_by) VALUES (?1, ?2, ?3, 'push', ?4, ?5)"
    " ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest,"
    " source = 'push', updated_at = excluded.updated_at,"
    " updated_by = excluded.updated_by";

static const char *const db_ledger_kinds[] = {
    [DB_LEDGER_PUSH] = "push",
    [DB_LEDGER_DENY] = "deny",
    [DB_LEDGER_LOGIN_FAILED] = "login_failed",
    [DB_LEDGER_DELETE] = "delete",
};
#define DB_LEDGER_NKINDS (sizeof(db_ledger_kinds) / sizeof(db_ledger_kinds[0]))

const char *
db_ledger_kind_name(enum db_ledger_kind kind)
{
	if ((unsigned)kind >= DB_LEDGER_NKINDS)
		return NULL;
	return db_ledger_kinds[kind];
}

/* The kind stored as name, or -1. */
static int
db_ledger_kind_parse(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < DB_LEDGER_NKINDS; i++)
		if (strcmp(name, db_ledger_kinds[i]) == 0)
			return (int)i;
	return -1;
}

size_t
db_ledger_clip(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, max + 1);
	if (n <= max)
		return n;
	n = max;
	/* s[n] is the first byte dropped: never keep half a character. */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* Map an SQLite result to a status, with the message in err. */
static enum db_ledger_status
db_ledger_fail(sqlite3 *h, int rc, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "ledger: %s: %s", what, sqlite3_errmsg(h));
	rc &= 0xff; /* primary code of an extended one */
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? DB_LEDGER_BUSY
							: DB_LEDGER_ERROR;
}

/* Bind s cut to max bytes, or NULL when s is NULL. */
static int
db_ledger_bind_text(sqlite3_stmt *st, int i, const char *s, size_t max)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(
	    st, i, s, (int)db_ledger_clip(s, max), SQLITE_TRANSIENT);
}

/* Claims are JSON: too long means NULL, never a cut object. */
static int
db_ledger_bind_claims(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL ||
	    strnlen(s, DB_LEDGER_CLAIMS_MAX + 1) > DB_LEDGER_CLAIMS_MAX)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Step a statement that returns no rows, then reset it. */
static enum db_ledger_status
db_ledger_run(struct db_ledger *w, sqlite3_stmt *st, const char *what,
    char *err, size_t errlen)
{
	sqlite3 *h = db_sqlite(w->db);
	enum db_ledger_status s = DB_LEDGER_OK;
	int rc;

	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		s = db_ledger_fail(h, rc, what, err, errlen);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return s;
}

struct db_ledger *
db_ledger_new(struct db *db, char *err, size_t errlen)
{
	struct db_ledger *w = NULL, *ret = NULL;
	sqlite3 *h = db_sqlite(db);
	struct {
		sqlite3_stmt **st;
		const char *sql;
	} prep[8];
	size_t i;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "ledger: out of memory");
		goto out;
	}
	w->db = db;
	prep[0].st = &w->begin;
	prep[0].sql = "BEGIN IMMEDIATE";
	prep[1].st = &w->commit;
	prep[1].sql = "COMMIT";
	prep[2].st = &w->rollback;
	prep[2].sql = "ROLLBACK";
	prep[3].st = &w->ins_audit;
	prep[3].sql = db_ledger_sql_audit;
	prep[4].st = &w->ins_push;
	prep[4].sql = db_ledger_sql_push;
	prep[5].st = &w->ins_mfst;
	prep[5].sql = db_ledger_sql_mfst;
	prep[6].st = &w->ins_hist;
	prep[6].sql = db_ledger_sql_hist;
	prep[7].st = &w->ins_tag;
	prep[7].sql = db_ledger_sql_tag;
	for (i = 0; i < sizeof(prep) / sizeof(prep[0]); i++) {
		if (sqlite3_prepare_v3(h, prep[i].sql, -1,
			SQLITE_PREPARE_PERSISTENT, prep[i].st,
			NULL) != SQLITE_OK) {
			snprintf(err, errlen, "ledger: prepare: %s",
			    sqlite3_errmsg(h));
			goto out;
		}
	}
	ret = w;
	w = NULL;
out:
	db_ledger_free(w);
	return ret;
}

void
db_ledger_free(struct db_ledger *w)
{
	if (w == NULL)
		return;
	sqlite3_finalize(w->begin);
	sqlite3_finalize(w->commit);
	sqlite3_finalize(w->rollback);
	sqlite3_finalize(w->ins_audit);
	sqlite3_finalize(w->ins_push);
	sqlite3_finalize(w->ins_mfst);
	sqlite3_finalize(w->ins_hist);
	sqlite3_finalize(w->ins_tag);
	free(w);
}

void
db_ledger_busy_timeout(struct db *db, int ms)
{
	sqlite3_busy_timeout(db_sqlite(db), ms);
}

enum db_ledger_status
db_ledger_begin(struct db_ledger *w, char *err, size_t errlen)
{
	return db_ledger_run(w, w->begin, "begin", err, errlen);
}

enum db_ledger_status
db_ledger_commit(struct db_ledger *w, char *err, size_t errlen)
{
	return db_ledger_run(w, w->commit, "commit", err, errlen);
}

void
db_ledger_rollback(struct db_ledger *w)
{
	/* Fails only when there is no transaction left: nothing to undo. */
	if (sqlite3_get_autocommit(db_sqlite(w->db)))
		return;
	sqlite3_step(w->rollback);
	sqlite3_reset(w->rollback);
}

/*
 * A manifest deleted through the gateway (kind "delete", 202, the request
 * named a digest): the inventory forgets its tags and marks it deleted, as
 * the purge does. Rare: statements are prepared per call.
 */
static enum db_ledger_status
db_ledger_forget(struct db_ledger *w, const struct db_ledger_event *e,
    char *err, size_t errlen)
{
	static const char *const sql[] = {
	    "INSERT INTO tag_history (at, repository, tag, digest,"
	    " previous_digest, principal, source)"
	    " SELECT ?1, repository, tag, NULL, digest, ?4, 'delete'"
	    " FROM tags WHERE repository = ?2 AND digest = ?3",
	    "DELETE FROM tags WHERE repository = ?2 AND digest = ?3",
	    "UPDATE manifests SET deleted_at = ?1 WHERE repository = ?2"
	    " AND digest = ?3 AND deleted_at IS NULL",
	};
	sqlite3 *h = db_sqlite(w->db);
	sqlite3_stmt *st = NULL;
	enum db_ledger_status s = DB_LEDGER_OK;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]) && s == DB_LEDGER_OK;
	     i++) {
		/* Parameters a statement lacks are not bound (SQLITE_RANGE). */
		if (sqlite3_prepare_v2(h, sql[i], -1, &st, NULL) != SQLITE_OK ||
		    (sqlite3_bind_parameter_index(st, "?1") > 0 &&
			sqlite3_bind_int64(st, 1, e->at) != SQLITE_OK) ||
		    db_ledger_bind_text(st, 2, e->repository,
			DB_LEDGER_REPO_MAX) != SQLITE_OK ||
		    db_ledger_bind_text(st, 3, e->ref, DB_LEDGER_DIGEST_MAX) !=
			SQLITE_OK ||
		    (sqlite3_bind_parameter_index(st, "?4") > 0 &&
			db_ledger_bind_text(st, 4, e->principal,
			    DB_LEDGER_PRINCIPAL_MAX) != SQLITE_OK)) {
			s = db_ledger_fail(
			    h, SQLITE_ERROR, "delete", err, errlen);
		} else if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
			s = db_ledger_fail(h, rc, "delete", err, errlen);
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	return s;
}

enum db_ledger_status
db_ledger_event_insert(struct db_ledger *w, const struct db_ledger_event *e,
    char *err, size_t errlen)
{
	enum db_ledger_status s;
	sqlite3_stmt *st = w->ins_audit;
	const char *kind;

	if ((kind = db_ledger_kind_name(e->kind)) == NULL) {
		snprintf(
		    err, errlen, "ledger: audit: bad kind %d", (int)e->kind);
		return DB_LEDGER_ERROR;
	}
	if (sqlite3_bind_int64(st, 1, e->at) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC) != SQLITE_OK ||
	    db_ledger_bind_text(st, 3, e->principal, DB_LEDGER_PRINCIPAL_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 4, e->client, DB_LEDGER_CLIENT_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 5, e->repository, DB_LEDGER_REPO_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 6, e->ref, DB_LEDGER_REF_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 7, e->digest, DB_LEDGER_DIGEST_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 8, e->method, DB_LEDGER_METHOD_MAX) !=
		SQLITE_OK ||
	    (e->status != 0 ? sqlite3_bind_int(st, 9, e->status)
			    : sqlite3_bind_null(st, 9)) != SQLITE_OK ||
	    db_ledger_bind_text(st, 10, e->reason, DB_LEDGER_REASON_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_claims(st, 11, e->claims) != SQLITE_OK) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		snprintf(err, errlen, "ledger: audit: bind: %s",
		    sqlite3_errmsg(db_sqlite(w->db)));
		return DB_LEDGER_ERROR;
	}
	if ((s = db_ledger_run(w, st, "audit", err, errlen)) != DB_LEDGER_OK)
		return s;
	if (e->kind == DB_LEDGER_DELETE && e->status == 202 &&
	    e->repository != NULL && e->ref != NULL &&
	    (strncmp(e->ref, "sha256:", 7) == 0 ||
		strncmp(e->ref, "sha512:", 7) == 0))
		return db_ledger_forget(w, e, err, errlen);
	return DB_LEDGER_OK;
}

/* Bind failure: reset st and say so. */
static enum db_ledger_status
db_ledger_bind_fail(struct db_ledger *w, sqlite3_stmt *st, const char *what,
    char *err, size_t errlen)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	snprintf(err, errlen, "ledger: %s: bind: %s", what,
	    sqlite3_errmsg(db_sqlite(w->db)));
	return DB_LEDGER_ERROR;
}

/*
 * The inventory side of a push: upsert the manifest (source "push"), and
 * for a push by tag a tag_history row when the tag is new or moved, then
 * the tag itself.
 */
static enum db_ledger_status
db_ledger_inventory(struct db_ledger *w, const struct db_ledger_push *p,
    char *err, size_t errlen)
{
	enum db_ledger_status s;
	sqlite3_stmt *st = w->ins_mfst;

	if (sqlite3_bind_text(st, 1, p->repository,
		(int)db_ledger_clip(p->repository, DB_LEDGER_REPO_MAX),
		SQLITE_TRANSIENT) != SQLITE_OK ||
	    db_ledger_bind_text(st, 2, p->digest, DB_LEDGER_DIGEST_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(
		st, 3, p->media_type, DB_LEDGER_MEDIA_TYPE_MAX) != SQLITE_OK ||
	    (p->size >= 0 ? sqlite3_bind_int64(st, 4, p->size)
			  : sqlite3_bind_null(st, 4)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, p->at) != SQLITE_OK ||
	    db_ledger_bind_text(st, 6, p->principal, DB_LEDGER_PRINCIPAL_MAX) !=
		SQLITE_OK)
		return db_ledger_bind_fail(w, st, "manifest", err, errlen);
	if ((s = db_ledger_run(w, st, "manifest", err, errlen)) !=
		DB_LEDGER_OK ||
	    p->tag == NULL)
		return s;

	st = w->ins_hist;
	if (sqlite3_bind_int64(st, 1, p->at) != SQLITE_OK ||
	    db_ledger_bind_text(st, 2, p->repository, DB_LEDGER_REPO_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 3, p->tag, DB_LEDGER_TAG_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 4, p->digest, DB_LEDGER_DIGEST_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 5, p->principal, DB_LEDGER_PRINCIPAL_MAX) !=
		SQLITE_OK)
		return db_ledger_bind_fail(w, st, "tag history", err, errlen);
	if ((s = db_ledger_run(w, st, "tag history", err, errlen)) !=
	    DB_LEDGER_OK)
		return s;

	st = w->ins_tag;
	if (db_ledger_bind_text(st, 1, p->repository, DB_LEDGER_REPO_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 2, p->tag, DB_LEDGER_TAG_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 3, p->digest, DB_LEDGER_DIGEST_MAX) !=
		SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, p->at) != SQLITE_OK ||
	    db_ledger_bind_text(st, 5, p->principal, DB_LEDGER_PRINCIPAL_MAX) !=
		SQLITE_OK)
		return db_ledger_bind_fail(w, st, "tag", err, errlen);
	return db_ledger_run(w, st, "tag", err, errlen);
}

enum db_ledger_status
db_ledger_push_insert(struct db_ledger *w, const struct db_ledger_push *p,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = w->ins_push;
	struct db_ledger_event e;
	enum db_ledger_status s;

	if (p->repository == NULL || p->repository[0] == '\0' ||
	    p->digest == NULL || p->digest[0] == '\0' || p->principal == NULL ||
	    p->principal[0] == '\0') {
		snprintf(err, errlen,
		    "ledger: push: repository, digest and principal are "
		    "required");
		return DB_LEDGER_ERROR;
	}
	if (sqlite3_bind_int64(st, 1, p->at) != SQLITE_OK ||
	    db_ledger_bind_text(st, 2, p->repository, DB_LEDGER_REPO_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 3, p->tag, DB_LEDGER_TAG_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 4, p->digest, DB_LEDGER_DIGEST_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(
		st, 5, p->media_type, DB_LEDGER_MEDIA_TYPE_MAX) != SQLITE_OK ||
	    (p->size >= 0 ? sqlite3_bind_int64(st, 6, p->size)
			  : sqlite3_bind_null(st, 6)) != SQLITE_OK ||
	    db_ledger_bind_text(st, 7, p->principal, DB_LEDGER_PRINCIPAL_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_text(st, 8, p->client, DB_LEDGER_CLIENT_MAX) !=
		SQLITE_OK ||
	    db_ledger_bind_claims(st, 9, p->claims) != SQLITE_OK) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		snprintf(err, errlen, "ledger: push: bind: %s",
		    sqlite3_errmsg(db_sqlite(w->db)));
		return DB_LEDGER_ERROR;
	}
	if ((s = db_ledger_run(w, st, "push", err, errlen)) != DB_LEDGER_OK ||
	    (s = db_ledger_inventory(w, p, err, errlen)) != DB_LEDGER_OK)
		return s;

	memset(&e, 0, sizeof(e));
	e.at = p->at;
	e.kind = DB_LEDGER_PUSH;
	e.principal = p->principal;
	e.client = p->client;
	e.repository = p->repository;
	e.ref = p->tag != NULL ? p->tag : p->digest;
	e.digest = p->digest;
	e.method = "PUT";
	return db_ledger_event_insert(w, &e, err, errlen);
}

#define DB_LEDGER_SQL_PUSH_LIST                                                \
	"SELECT id, at, repository, tag, digest, media_type, size,"            \
	" principal, client, claims FROM pushes"

/* Column i as text, or NULL. */
static const char *
db_ledger_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int
db_ledger_audit_list(struct db *db, long long since, db_ledger_event_cb cb,
    void *arg, char *err, size_t errlen)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	struct db_ledger_event e;
	int rc, kind, ret = -1;

	if (sqlite3_prepare_v2(h,
		"SELECT id, at, kind, principal, client, repository, ref,"
		" digest, method, status, reason, claims FROM audit"
		" WHERE at >= ?1 ORDER BY at, id",
		-1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, since) != SQLITE_OK) {
		snprintf(
		    err, errlen, "ledger: audit list: %s", sqlite3_errmsg(h));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.id = sqlite3_column_int64(st, 0);
		e.at = sqlite3_column_int64(st, 1);
		/* The CHECK constraint keeps unknown kinds out. */
		kind = db_ledger_kind_parse(db_ledger_col_text(st, 2));
		if (kind < 0) {
			snprintf(err, errlen,
			    "ledger: audit list: row %lld: unknown kind", e.id);
			goto out;
		}
		e.kind = (enum db_ledger_kind)kind;
		e.principal = db_ledger_col_text(st, 3);
		e.client = db_ledger_col_text(st, 4);
		e.repository = db_ledger_col_text(st, 5);
		e.ref = db_ledger_col_text(st, 6);
		e.digest = db_ledger_col_text(st, 7);
		e.method = db_ledger_col_text(st, 8);
		e.status = sqlite3_column_int(st, 9);
		e.reason = db_ledger_col_text(st, 10);
		e.claims = db_ledger_col_text(st, 11);
		if (cb(&e, arg) != 0) {
			ret = 0;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		snprintf(
		    err, errlen, "ledger: audit list: %s", sqlite3_errmsg(h));
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int
db_ledger_push_list(struct db *db, const char *repository, db_ledger_push_cb cb,
    void *arg, char *err, size_t errlen)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	struct db_ledger_push p;
	int rc, ret = -1;

	/* Two statements: "?1 IS NULL OR ..." would keep the index out. */
	if (sqlite3_prepare_v2(h,
		repository != NULL ? DB_LEDGER_SQL_PUSH_LIST
		    " WHERE repository = ?1 ORDER BY id"
				   : DB_LEDGER_SQL_PUSH_LIST " ORDER BY id",
		-1, &st, NULL) != SQLITE_OK ||
	    (repository != NULL &&
		sqlite3_bind_text(st, 1, repository, -1, SQLITE_STATIC) !=
		    SQLITE_OK)) {
		snprintf(
		    err, errlen, "ledger: push list: %s", sqlite3_errmsg(h));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&p, 0, sizeof(p));
		p.id = sqlite3_column_int64(st, 0);
		p.at = sqlite3_column_int64(st, 1);
		p.repository = db_ledger_col_text(st, 2);
		p.tag = db_ledger_col_text(st, 3);
		p.digest = db_ledger_col_text(st, 4);
		p.media_type = db_ledger_col_text(st, 5);
		p.size = sqlite3_column_type(st, 6) == SQLITE_NULL
		    ? -1
		    : sqlite3_column_int64(st, 6);
		p.principal = db_ledger_col_text(st, 7);
		p.client = db_ledger_col_text(st, 8);
		p.claims = db_ledger_col_text(st, 9);
		if (cb(&p, arg) != 0) {
			ret = 0;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		snprintf(
		    err, errlen, "ledger: push list: %s", sqlite3_errmsg(h));
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}
