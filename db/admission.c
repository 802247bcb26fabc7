/*
 * admission: pulls, verified signatures, scan verdicts, admission verdicts
 * and index children (tables of migration 4; include/regward/db_admit.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "regward/db_admit.h"

/* Prepare sql; on failure set err and return NULL. */
static sqlite3_stmt *
dba_prepare(struct db *db, const char *sql, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db_sqlite(db)));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void
dba_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void
dba_int(sqlite3_stmt *st, int i, long long v, int null_below_zero)
{
	if (null_below_zero && v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

/* Step a write to the end and finalize it. */
static enum db_ledger_status
dba_done(struct db *db, sqlite3_stmt *st, char *err, size_t errlen)
{
	int rc;

	if (st == NULL)
		return DB_LEDGER_ERROR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return DB_LEDGER_OK;
	snprintf(err, errlen, "%s", sqlite3_errmsg(db_sqlite(db)));
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? DB_LEDGER_BUSY
							: DB_LEDGER_ERROR;
}

enum db_ledger_status
db_pull_record(struct db *db, const struct db_pull *p, char *err, size_t errlen)
{
	sqlite3_stmt *st = dba_prepare(db,
	    "INSERT INTO pulls (repository, digest, tag, last_pulled, count)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (repository, digest, tag) DO UPDATE SET"
	    " last_pulled = max(last_pulled, excluded.last_pulled),"
	    " count = count + excluded.count",
	    err, errlen);

	if (st == NULL)
		return DB_LEDGER_ERROR;
	dba_text(st, 1, p->repository);
	dba_text(st, 2, p->digest);
	dba_text(st, 3, p->tag != NULL ? p->tag : "");
	dba_int(st, 4, p->at, 0);
	dba_int(st, 5, p->count > 0 ? p->count : 1, 0);
	return dba_done(db, st, err, errlen);
}

enum db_ledger_status
db_signature_record(
    struct db *db, const struct db_signature *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = dba_prepare(db,
	    "INSERT OR REPLACE INTO signatures (repository, digest,"
	    " payload_digest, key_name, identity, creator, signed_at,"
	    " verified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	    err, errlen);

	if (st == NULL)
		return DB_LEDGER_ERROR;
	dba_text(st, 1, s->repository);
	dba_text(st, 2, s->digest);
	dba_text(st, 3, s->payload_digest);
	dba_text(st, 4, s->key_name);
	dba_text(st, 5, s->identity);
	dba_text(st, 6, s->creator);
	if (s->signed_at > 0)
		dba_int(st, 7, s->signed_at, 0);
	dba_int(st, 8, s->verified_at, 0);
	return dba_done(db, st, err, errlen);
}

enum db_ledger_status
db_scan_record(struct db *db, const struct db_scan *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = dba_prepare(db,
	    "INSERT OR REPLACE INTO scans (repository, digest, payload_digest,"
	    " scanner, scanner_version, db_version, critical, high, medium,"
	    " low, unknown, verdict, finished_at, recorded_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14)",
	    err, errlen);

	if (st == NULL)
		return DB_LEDGER_ERROR;
	dba_text(st, 1, s->repository);
	dba_text(st, 2, s->digest);
	dba_text(st, 3, s->payload_digest);
	dba_text(st, 4, s->scanner);
	dba_text(st, 5, s->scanner_version);
	dba_text(st, 6, s->db_version);
	dba_int(st, 7, s->critical, 1);
	dba_int(st, 8, s->high, 1);
	dba_int(st, 9, s->medium, 1);
	dba_int(st, 10, s->low, 1);
	dba_int(st, 11, s->unknown, 1);
	dba_text(st, 12, s->verdict);
	if (s->finished_at > 0)
		dba_int(st, 13, s->finished_at, 0);
	dba_int(st, 14, s->recorded_at, 0);
	return dba_done(db, st, err, errlen);
}

enum db_ledger_status
db_verdict_record(
    struct db *db, const struct db_verdict *v, char *err, size_t errlen)
{
	sqlite3_stmt *st = dba_prepare(db,
	    "INSERT OR REPLACE INTO verdicts (repository, digest, revision,"
	    " admit, reason, detail, key_name, via, decided_at, expires_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	    err, errlen);

	if (st == NULL)
		return DB_LEDGER_ERROR;
	dba_text(st, 1, v->repository);
	dba_text(st, 2, v->digest);
	dba_text(st, 3, v->revision);
	dba_int(st, 4, v->admit ? 1 : 0, 0);
	dba_text(st, 5, v->reason);
	dba_text(st, 6, v->detail);
	dba_text(st, 7, v->key_name);
	dba_text(st, 8, v->via);
	dba_int(st, 9, v->decided_at, 0);
	dba_int(st, 10, v->expires_at, 0);
	return dba_done(db, st, err, errlen);
}

static void
dba_copy(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, len, "%s", t != NULL ? (const char *)t : "");
}

int
db_verdict_lookup(struct db *db, const char *repository, const char *digest,
    const char *revision, long long now, struct db_verdict_row *out, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = dba_prepare(db,
	    "SELECT admit, reason, detail, key_name, via, decided_at,"
	    " expires_at FROM verdicts WHERE repository = ?1 AND digest = ?2"
	    " AND revision = ?3 AND admit = 1 AND expires_at > ?4",
	    err, errlen);
	int rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	dba_text(st, 1, repository);
	dba_text(st, 2, digest);
	dba_text(st, 3, revision);
	dba_int(st, 4, now, 0);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->admit = sqlite3_column_int(st, 0);
		dba_copy(out->reason, sizeof(out->reason), st, 1);
		dba_copy(out->detail, sizeof(out->detail), st, 2);
		dba_copy(out->key_name, sizeof(out->key_name), st, 3);
		dba_copy(out->via, sizeof(out->via), st, 4);
		out->decided_at = sqlite3_column_int64(st, 5);
		out->expires_at = sqlite3_column_int64(st, 6);
		sqlite3_finalize(st);
		return 1;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(err, errlen, "%s", sqlite3_errmsg(db_sqlite(db)));
	return -1;
}

enum db_ledger_status
db_verdict_forget(struct db *db, const char *repository, const char *digest,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = dba_prepare(db,
	    "DELETE FROM verdicts WHERE repository = ?1"
	    " AND (digest = ?2 OR via = ?2)",
	    err, errlen);

	if (st == NULL)
		return DB_LEDGER_ERROR;
	dba_text(st, 1, repository);
	dba_text(st, 2, digest);
	return dba_done(db, st, err, errlen);
}

enum db_ledger_status
db_children_record(struct db *db, const char *repository, const char *parent,
    const char *const *children, size_t n, char *err, size_t errlen)
{
	enum db_ledger_status rc = DB_LEDGER_OK;
	sqlite3_stmt *st;
	size_t i;

	for (i = 0; i < n && rc == DB_LEDGER_OK; i++) {
		st = dba_prepare(db,
		    "INSERT OR IGNORE INTO manifest_children (repository,"
		    " parent, child) VALUES (?1, ?2, ?3)",
		    err, errlen);
		if (st == NULL)
			return DB_LEDGER_ERROR;
		dba_text(st, 1, repository);
		dba_text(st, 2, parent);
		dba_text(st, 3, children[i]);
		rc = dba_done(db, st, err, errlen);
	}
	return rc;
}

int
db_children_parents(struct db *db, const char *repository, const char *child,
    size_t max, void (*cb)(const char *parent, void *arg), void *arg, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = dba_prepare(db,
	    "SELECT parent FROM manifest_children WHERE repository = ?1"
	    " AND child = ?2 LIMIT ?3",
	    err, errlen);
	int rc, n = 0;

	if (st == NULL)
		return -1;
	dba_text(st, 1, repository);
	dba_text(st, 2, child);
	dba_int(st, 3, (long long)max, 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cb((const char *)sqlite3_column_text(st, 0), arg);
		n++;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return n;
	snprintf(err, errlen, "%s", sqlite3_errmsg(db_sqlite(db)));
	return -1;
}
