/*
 * inventory: what the registry holds, as the ledger knows it (tables of
 * migration 4: manifests, manifest_children, tags, tag_history) and the
 * purge's own records (purge_runs, purge_deletions, trimming audit).
 * Written by `regward sync` and `regward purge` (gateway/sync.c,
 * purge.c); the gateway's pushes reach the same tables through
 * db_ledger_push_insert() (db/ledger.c).
 *
 * These run in admin commands, a few thousand statements per run: each
 * call prepares its statement. Text is cut to the DB_LEDGER_*_MAX bounds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "regward/db.h"

/*
 * Run sql with the arguments described by types: 's' a string (NULL
 * binds NULL), 'i' a long long, 'n' a long long where < 0 binds NULL.
 * Rows are not read. Returns the number of rows changed, or -1 with err.
 */
static int
db_inv_exec(struct db *db, char *err, size_t errlen, const char *sql,
    const char *types, ...)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	va_list ap;
	int i, rc, ret = -1;
	long long v;
	const char *s;

	va_start(ap, types);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (i = 0; types[i] != '\0'; i++) {
		switch (types[i]) {
		case 's':
			s = va_arg(ap, const char *);
			rc = s == NULL ? sqlite3_bind_null(st, i + 1)
				       : sqlite3_bind_text(st, i + 1, s,
					     (int)db_ledger_clip(s, 512),
					     SQLITE_TRANSIENT);
			break;
		case 'n':
			v = va_arg(ap, long long);
			rc = v < 0 ? sqlite3_bind_null(st, i + 1)
				   : sqlite3_bind_int64(st, i + 1, v);
			break;
		default:
			v = va_arg(ap, long long);
			rc = sqlite3_bind_int64(st, i + 1, v);
			break;
		}
		if (rc != SQLITE_OK)
			goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		goto out;
	ret = sqlite3_changes(h);
out:
	va_end(ap);
	if (ret < 0)
		snprintf(err, errlen, "ledger: %s", sqlite3_errmsg(h));
	sqlite3_finalize(st);
	return ret;
}

/* Prepare sql and bind the text arguments (NULL-terminated list). */
static sqlite3_stmt *
db_inv_query(struct db *db, char *err, size_t errlen, const char *sql, ...)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	const char *s;
	va_list ap;
	int i = 1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "ledger: %s", sqlite3_errmsg(h));
		return NULL;
	}
	va_start(ap, sql);
	while ((s = va_arg(ap, const char *)) != NULL) {
		if (sqlite3_bind_text(st, i++, s, -1, SQLITE_TRANSIENT) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "ledger: %s", sqlite3_errmsg(h));
			sqlite3_finalize(st);
			st = NULL;
			break;
		}
	}
	va_end(ap);
	return st;
}

/* Finish a query loop: 0 on SQLITE_DONE (or stopped), else -1 with err. */
static int
db_inv_done(struct db *db, sqlite3_stmt *st, int rc, int stopped, char *err,
    size_t errlen)
{
	int ret = 0;

	if (!stopped && rc != SQLITE_DONE) {
		snprintf(
		    err, errlen, "ledger: %s", sqlite3_errmsg(db_sqlite(db)));
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

static const char *
db_inv_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static long long
db_inv_int(sqlite3_stmt *st, int i, long long null_value)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return null_value;
	return sqlite3_column_int64(st, i);
}

int
db_inv_begin(struct db *db, char *err, size_t errlen)
{
	return db_inv_exec(db, err, errlen, "BEGIN IMMEDIATE", "") < 0 ? -1 : 0;
}

int
db_inv_commit(struct db *db, char *err, size_t errlen)
{
	return db_inv_exec(db, err, errlen, "COMMIT", "") < 0 ? -1 : 0;
}

void
db_inv_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db_sqlite(db)))
		sqlite3_exec(db_sqlite(db), "ROLLBACK", NULL, NULL, NULL);
}

int
db_inv_manifest_seen(struct db *db, const char *repo, const char *digest,
    const char *media_type, long long size, long long at, char *err,
    size_t errlen)
{
	int n;

	n = db_inv_exec(db, err, errlen,
	    "INSERT INTO manifests (repository, digest, media_type, size,"
	    " source, first_seen) VALUES (?1, ?2, ?3, ?4, 'sync', ?5)"
	    " ON CONFLICT (repository, digest) DO NOTHING",
	    "ssnni", repo, digest, media_type, size, at);
	if (n < 0)
		return -1;
	if (n > 0)
		return 1;
	/* Known: it exists again if it was deleted; fill what was missing. */
	if (db_inv_exec(db, err, errlen,
		"UPDATE manifests SET deleted_at = NULL,"
		" media_type = coalesce(media_type, ?3),"
		" size = coalesce(size, ?4)"
		" WHERE repository = ?1 AND digest = ?2",
		"ssnn", repo, digest, media_type, size) < 0)
		return -1;
	return 0;
}

int
db_inv_tag_seen(struct db *db, const char *repo, const char *tag,
    const char *digest, long long at, char *err, size_t errlen)
{
	int n;

	n = db_inv_exec(db, err, errlen,
	    "INSERT INTO tag_history (at, repository, tag, digest,"
	    " previous_digest, principal, source)"
	    " SELECT ?1, ?2, ?3, ?4, (SELECT digest FROM tags"
	    "  WHERE repository = ?2 AND tag = ?3), NULL, 'sync'"
	    " WHERE NOT EXISTS (SELECT 1 FROM tags WHERE repository = ?2"
	    "  AND tag = ?3 AND (digest = ?4 OR updated_at >= ?1))",
	    "isss", at, repo, tag, digest);
	if (n <= 0)
		return n;
	if (db_inv_exec(db, err, errlen,
		"INSERT INTO tags (repository, tag, digest, source,"
		" updated_at, updated_by) VALUES (?1, ?2, ?3, 'sync', ?4, NULL)"
		" ON CONFLICT (repository, tag) DO UPDATE SET"
		" digest = excluded.digest, source = 'sync',"
		" updated_at = excluded.updated_at, updated_by = NULL"
		" WHERE tags.updated_at < excluded.updated_at",
		"sssi", repo, tag, digest, at) < 0)
		return -1;
	return 1;
}

int
db_inv_tag_drop(struct db *db, const char *repo, const char *tag, long long at,
    const char *source, const char *principal, char *err, size_t errlen)
{
	if (db_inv_exec(db, err, errlen,
		"INSERT INTO tag_history (at, repository, tag, digest,"
		" previous_digest, principal, source)"
		" SELECT ?1, ?2, ?3, NULL, digest, ?4, ?5 FROM tags"
		" WHERE repository = ?2 AND tag = ?3",
		"issss", at, repo, tag, principal, source) < 0)
		return -1;
	return db_inv_exec(db, err, errlen,
		   "DELETE FROM tags WHERE repository = ?1 AND tag = ?2", "ss",
		   repo, tag) < 0
	    ? -1
	    : 0;
}

int
db_inv_children_set(struct db *db, const char *repo, const char *parent,
    const char *const *children, size_t n, char *err, size_t errlen)
{
	size_t i;

	if (db_inv_exec(db, err, errlen,
		"DELETE FROM manifest_children WHERE repository = ?1"
		" AND parent = ?2",
		"ss", repo, parent) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (db_inv_exec(db, err, errlen,
			"INSERT OR IGNORE INTO manifest_children"
			" (repository, parent, child) VALUES (?1, ?2, ?3)",
			"sss", repo, parent, children[i]) < 0)
			return -1;
	}
	return 0;
}

int
db_inv_has_children(struct db *db, const char *repo, const char *parent,
    char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_inv_query(db, err, errlen,
		 "SELECT 1 FROM manifest_children WHERE repository = ?1"
		 " AND parent = ?2 LIMIT 1",
		 repo, parent, (const char *)NULL)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sqlite3_finalize(st);
		return 1;
	}
	return db_inv_done(db, st, rc, 0, err, errlen);
}

int
db_inv_manifest_deleted(struct db *db, const char *repo, const char *digest,
    long long at, const char *principal, char *err, size_t errlen)
{
	if (db_inv_exec(db, err, errlen,
		"INSERT INTO tag_history (at, repository, tag, digest,"
		" previous_digest, principal, source)"
		" SELECT ?1, repository, tag, NULL, digest, ?4, 'purge'"
		" FROM tags WHERE repository = ?2 AND digest = ?3",
		"isss", at, repo, digest, principal) < 0 ||
	    db_inv_exec(db, err, errlen,
		"DELETE FROM tags WHERE repository = ?1 AND digest = ?2", "ss",
		repo, digest) < 0 ||
	    db_inv_exec(db, err, errlen,
		"UPDATE manifests SET deleted_at = ?3 WHERE repository = ?1"
		" AND digest = ?2 AND deleted_at IS NULL",
		"ssi", repo, digest, at) < 0)
		return -1;
	return 0;
}

int
db_inv_manifest_list(struct db *db, const char *repo, db_inv_mfst_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct db_inv_mfst m;
	sqlite3_stmt *st;
	int rc, stopped = 0;

	if ((st = db_inv_query(db, err, errlen,
		 "SELECT m.digest, m.media_type, m.size, m.source,"
		 " m.first_seen, m.pushed_at, m.pushed_by,"
		 " (SELECT max(last_pulled) FROM pulls p WHERE"
		 "  p.repository = m.repository AND p.digest = m.digest)"
		 " FROM manifests m WHERE m.repository = ?1"
		 " AND m.deleted_at IS NULL ORDER BY m.digest",
		 repo, (const char *)NULL)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		m.repository = repo;
		m.digest = db_inv_text(st, 0);
		m.media_type = db_inv_text(st, 1);
		m.size = db_inv_int(st, 2, -1);
		m.source = db_inv_text(st, 3);
		m.first_seen = db_inv_int(st, 4, 0);
		m.pushed_at = db_inv_int(st, 5, 0);
		m.pushed_by = db_inv_text(st, 6);
		m.last_pulled = db_inv_int(st, 7, 0);
		if (cb(&m, arg) != 0) {
			stopped = 1;
			break;
		}
	}
	return db_inv_done(db, st, rc, stopped, err, errlen);
}

int
db_inv_tag_list(struct db *db, const char *repo, const char *digest,
    db_inv_tag_cb cb, void *arg, char *err, size_t errlen)
{
	struct db_inv_tag t;
	sqlite3_stmt *st;
	int rc, stopped = 0;

	st = digest == NULL
	    ? db_inv_query(db, err, errlen,
		  "SELECT t.tag, t.digest, t.source, t.updated_at,"
		  " t.updated_by, (SELECT max(id) FROM tag_history h WHERE"
		  "  h.repository = t.repository AND h.tag = t.tag)"
		  " FROM tags t WHERE t.repository = ?1 ORDER BY t.tag",
		  repo, (const char *)NULL)
	    : db_inv_query(db, err, errlen,
		  "SELECT t.tag, t.digest, t.source, t.updated_at,"
		  " t.updated_by, 0 FROM tags t WHERE t.repository = ?1"
		  " AND t.digest = ?2 ORDER BY t.tag",
		  repo, digest, (const char *)NULL);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&t, 0, sizeof(t));
		t.repository = repo;
		t.tag = db_inv_text(st, 0);
		t.digest = db_inv_text(st, 1);
		t.source = db_inv_text(st, 2);
		t.updated_at = db_inv_int(st, 3, 0);
		t.updated_by = db_inv_text(st, 4);
		t.seq = db_inv_int(st, 5, 0);
		if (cb(&t, arg) != 0) {
			stopped = 1;
			break;
		}
	}
	return db_inv_done(db, st, rc, stopped, err, errlen);
}

int
db_inv_children_list(struct db *db, const char *repo, db_inv_child_cb cb,
    void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc, stopped = 0;

	if ((st = db_inv_query(db, err, errlen,
		 "SELECT c.parent, c.child, m.deleted_at IS NULL"
		 " AND m.digest IS NOT NULL FROM manifest_children c"
		 " LEFT JOIN manifests m ON m.repository = c.repository"
		 " AND m.digest = c.parent WHERE c.repository = ?1"
		 " ORDER BY c.parent, c.child",
		 repo, (const char *)NULL)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb(db_inv_text(st, 0), db_inv_text(st, 1),
			sqlite3_column_int(st, 2), arg) != 0) {
			stopped = 1;
			break;
		}
	}
	return db_inv_done(db, st, rc, stopped, err, errlen);
}

int
db_inv_pushed_since(struct db *db, const char *repo, const char *digest,
    long long since, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	char buf[32];
	int rc;

	snprintf(buf, sizeof(buf), "%lld", since);
	if ((st = db_inv_query(db, err, errlen,
		 "SELECT 1 FROM manifests WHERE repository = ?1"
		 " AND digest = ?2 AND pushed_at >= CAST(?3 AS INTEGER)"
		 " UNION ALL SELECT 1 FROM pushes WHERE repository = ?1"
		 " AND digest = ?2 AND at >= CAST(?3 AS INTEGER) LIMIT 1",
		 repo, digest, buf, (const char *)NULL)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sqlite3_finalize(st);
		return 1;
	}
	return db_inv_done(db, st, rc, 0, err, errlen);
}

long long
db_purge_run_start(
    struct db *db, long long at, int dry_run, char *err, size_t errlen)
{
	/* Called under the purge lock: a running real run is a dead one. */
	if (!dry_run &&
	    db_inv_exec(db, err, errlen,
		"UPDATE purge_runs SET status = 'interrupted'"
		" WHERE status = 'running' AND dry_run = 0",
		"") < 0)
		return -1;
	if (db_inv_exec(db, err, errlen,
		"INSERT INTO purge_runs (started_at, dry_run, status)"
		" VALUES (?1, ?2, 'running')",
		"ii", at, (long long)(dry_run != 0)) < 0)
		return -1;
	return sqlite3_last_insert_rowid(db_sqlite(db));
}

int
db_purge_run_finish(struct db *db, long long id, long long at,
    const char *status, long long planned, long long deleted, const char *error,
    char *err, size_t errlen)
{
	return db_inv_exec(db, err, errlen,
		   "UPDATE purge_runs SET finished_at = ?2, status = ?3,"
		   " planned = ?4, deleted = ?5, error = ?6 WHERE id = ?1",
		   "iisiis", id, at, status, planned, deleted, error) < 0
	    ? -1
	    : 0;
}

int
db_purge_deletion_add(
    struct db *db, const struct db_purge_deletion *d, char *err, size_t errlen)
{
	return db_inv_exec(db, err, errlen,
		   "INSERT INTO purge_deletions (run_id, at, repository,"
		   " digest, tags, rule, reason, status)"
		   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		   "iissssss", d->run_id, d->at, d->repository, d->digest,
		   d->tags, d->rule, d->reason, d->status) < 0
	    ? -1
	    : 0;
}

long long
db_audit_trim(struct db *db, long long before, char *err, size_t errlen)
{
	return db_inv_exec(
	    db, err, errlen, "DELETE FROM audit WHERE at < ?1", "i", before);
}
