/*
 * db: open the ledger and migrate its schema.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "regward/db.h"

struct db {
	sqlite3 *h;
	int version;
};

/*
 * Migrations, applied in order; never edit one that has shipped, add a new
 * row. Migration 1 records the schema itself; the ledger tables arrive
 * with the features that write them.
 */
static const char *const db_migrations[] = {
    /* 1 */
    "CREATE TABLE schema_migrations ("
    "  version INTEGER PRIMARY KEY,"
    "  applied_at INTEGER NOT NULL);",
    /* 2: users and robots with their roles (db/users.c) */
    "CREATE TABLE principals ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('user', 'robot')),"
    "  name TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (kind, name));"
    "CREATE TABLE principal_roles ("
    "  principal_id INTEGER NOT NULL"
    "    REFERENCES principals (id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL,"
    "  PRIMARY KEY (principal_id, role)) WITHOUT ROWID;",
    /* 3: the audit trail and the pushes (db/ledger.c, docs/ledger.md) */
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  kind TEXT NOT NULL"
    "    CHECK (kind IN ('push', 'deny', 'login_failed', 'delete')),"
    "  principal TEXT,"
    "  client TEXT,"
    "  repository TEXT,"
    "  ref TEXT,"
    "  digest TEXT,"
    "  method TEXT,"
    "  status INTEGER,"
    "  reason TEXT,"
    "  claims TEXT);"
    "CREATE INDEX audit_repository_at ON audit (repository, at);"
    "CREATE INDEX audit_at ON audit (at);"
    "CREATE TABLE pushes ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  repository TEXT NOT NULL,"
    "  tag TEXT,"
    "  digest TEXT NOT NULL,"
    "  media_type TEXT,"
    "  size INTEGER,"
    "  principal TEXT NOT NULL,"
    "  client TEXT,"
    "  claims TEXT);"
    "CREATE INDEX pushes_repository_digest"
    "  ON pushes (repository, digest);"
    "CREATE INDEX pushes_repository_tag"
    "  ON pushes (repository, tag);",
    /*
     * 4: what the registry holds and what happened to it: manifests, tags
     * and their history, pulls, verified signatures, scan verdicts,
     * admission verdicts and purge runs (docs/ledger.md).
     */
    "CREATE TABLE manifests ("
    "  repository TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  media_type TEXT,"
    "  size INTEGER,"
    "  source TEXT NOT NULL CHECK (source IN ('push', 'sync', 'pull')),"
    "  first_seen INTEGER NOT NULL,"
    "  pushed_at INTEGER,"
    "  pushed_by TEXT,"
    "  deleted_at INTEGER,"
    "  PRIMARY KEY (repository, digest)) WITHOUT ROWID;"
    "CREATE INDEX manifests_pushed_at ON manifests (repository, pushed_at);"
    "CREATE TABLE manifest_children ("
    "  repository TEXT NOT NULL,"
    "  parent TEXT NOT NULL,"
    "  child TEXT NOT NULL,"
    "  PRIMARY KEY (repository, parent, child)) WITHOUT ROWID;"
    "CREATE INDEX manifest_children_child"
    "  ON manifest_children (repository, child);"
    "CREATE TABLE tags ("
    "  repository TEXT NOT NULL,"
    "  tag TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  source TEXT NOT NULL CHECK (source IN ('push', 'sync', 'pull')),"
    "  updated_at INTEGER NOT NULL,"
    "  updated_by TEXT,"
    "  PRIMARY KEY (repository, tag)) WITHOUT ROWID;"
    "CREATE INDEX tags_digest ON tags (repository, digest);"
    "CREATE TABLE tag_history ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  repository TEXT NOT NULL,"
    "  tag TEXT NOT NULL,"
    "  digest TEXT,"
    "  previous_digest TEXT,"
    "  principal TEXT,"
    "  source TEXT NOT NULL);"
    "CREATE INDEX tag_history_tag ON tag_history (repository, tag, at);"
    "CREATE TABLE pulls ("
    "  repository TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  tag TEXT NOT NULL,"
    "  last_pulled INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (repository, digest, tag)) WITHOUT ROWID;"
    "CREATE TABLE signatures ("
    "  repository TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  payload_digest TEXT NOT NULL,"
    "  key_name TEXT NOT NULL,"
    "  identity TEXT,"
    "  creator TEXT,"
    "  signed_at INTEGER,"
    "  verified_at INTEGER NOT NULL,"
    "  PRIMARY KEY (repository, digest, payload_digest, key_name))"
    "  WITHOUT ROWID;"
    "CREATE TABLE scans ("
    "  repository TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  payload_digest TEXT NOT NULL,"
    "  scanner TEXT,"
    "  scanner_version TEXT,"
    "  db_version TEXT,"
    "  critical INTEGER,"
    "  high INTEGER,"
    "  medium INTEGER,"
    "  low INTEGER,"
    "  unknown INTEGER,"
    "  verdict TEXT NOT NULL,"
    "  finished_at INTEGER,"
    "  recorded_at INTEGER NOT NULL,"
    "  PRIMARY KEY (repository, digest, payload_digest)) WITHOUT ROWID;"
    "CREATE TABLE verdicts ("
    "  repository TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  revision TEXT NOT NULL,"
    "  admit INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  detail TEXT,"
    "  key_name TEXT,"
    "  via TEXT,"
    "  decided_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (repository, digest, revision)) WITHOUT ROWID;"
    "CREATE TABLE purge_runs ("
    "  id INTEGER PRIMARY KEY,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER,"
    "  dry_run INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  planned INTEGER NOT NULL DEFAULT 0,"
    "  deleted INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT);"
    "CREATE TABLE purge_deletions ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES purge_runs (id),"
    "  at INTEGER NOT NULL,"
    "  repository TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  tags TEXT,"
    "  rule TEXT,"
    "  reason TEXT,"
    "  status TEXT NOT NULL);"
    "CREATE INDEX purge_deletions_run ON purge_deletions (run_id);",
};
#define DB_NMIGRATIONS (sizeof(db_migrations) / sizeof(db_migrations[0]))

static int
db_exec(
    struct db *db, const char *sql, const char *path, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s: %s", path,
	    msg != NULL ? msg : sqlite3_errmsg(db->h));
	sqlite3_free(msg);
	return -1;
}

static int
db_read_version(struct db *db)
{
	sqlite3_stmt *st = NULL;
	int v = 0;

	if (sqlite3_prepare_v2(db->h,
		"SELECT max(version) FROM schema_migrations", -1, &st,
		NULL) != SQLITE_OK)
		return 0; /* no table yet: a new database */
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
db_migrate(struct db *db, const char *path, char *err, size_t errlen)
{
	char sql[128];
	size_t i;

	db->version = db_read_version(db);
	if (db->version > (int)DB_NMIGRATIONS) {
		snprintf(err, errlen,
		    "%s: schema version %d is newer than this regward (%zu)",
		    path, db->version, DB_NMIGRATIONS);
		return -1;
	}
	for (i = (size_t)db->version; i < DB_NMIGRATIONS; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO schema_migrations VALUES (%zu, "
		    "strftime('%%s','now'));",
		    i + 1);
		if (db_exec(db, "BEGIN IMMEDIATE;", path, err, errlen) == -1)
			return -1;
		if (db_exec(db, db_migrations[i], path, err, errlen) == -1 ||
		    db_exec(db, sql, path, err, errlen) == -1) {
			sqlite3_exec(db->h, "ROLLBACK;", NULL, NULL, NULL);
			return -1;
		}
		if (db_exec(db, "COMMIT;", path, err, errlen) == -1)
			return -1;
		db->version = (int)i + 1;
	}
	return 0;
}

struct db *
db_open(const char *path, char *err, size_t errlen)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (sqlite3_open_v2(path, &db->h,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_FULLMUTEX,
		NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    db->h != NULL ? sqlite3_errmsg(db->h) : "cannot open");
		goto bad;
	}
	sqlite3_busy_timeout(db->h, 5000);
	if (db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;",
		path, err, errlen) == -1 ||
	    db_migrate(db, path, err, errlen) == -1)
		goto bad;
	return db;
bad:
	db_close(db);
	return NULL;
}

struct sqlite3 *
db_sqlite(struct db *db)
{
	return db->h;
}

int
db_schema_version(struct db *db)
{
	return db->version;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->h);
	free(db);
}
