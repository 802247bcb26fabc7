/*
 * db: the only module that talks to SQLite. Opens the ledger database,
 * applies the numbered schema migrations in order, one transaction each,
 * and sets WAL mode so that the gateway and admin commands can run at once.
 */
#ifndef REGWARD_DB_H
#define REGWARD_DB_H

#include <stddef.h>

struct db;

/*
 * Open (creating if needed) the database at path and migrate it to the
 * newest schema. Returns a handle (free with db_close()) or NULL with a
 * one-line message naming the file in err.
 */
struct db *db_open(const char *path, char *err, size_t errlen);

/* Schema version the database is at (the number of the last migration). */
int db_schema_version(struct db *db);

/* Close the handle. db_close(NULL) is a no-op. */
void db_close(struct db *db);

/*
 * Internal to db/: the SQLite handle behind db, borrowed until db_close().
 * Only files under db/ may call this (DESIGN.md: db/ alone talks to SQLite).
 */
struct sqlite3 *db_sqlite(struct db *db);

/*
 * Principals (db/users.c): users and robots, each with a crypt(3) password
 * hash and a set of roles, in the tables of migration 2.
 *
 * Names and roles match [a-z0-9][a-z0-9._-]{0,63}. Users and robots are
 * separate name spaces: user "ci" and robot "ci" may both exist.
 *
 * Hashes: new passwords and robot secrets are hashed with yescrypt
 * ("$y$", libxcrypt's default cost). Stored hashes may also be bcrypt
 * ("$2a$", "$2b$", "$2y$" as written by htpasswd -B); nothing else is
 * accepted (no MD5, SHA-1, DES crypt or plain text).
 */
#define DB_PRINCIPAL_NAME_MAX 64 /* bytes, without the NUL */
#define DB_PRINCIPAL_ROLES_MAX 64 /* roles per principal */
#define DB_PRINCIPAL_HASH_MAX 384 /* bytes with the NUL (CRYPT_OUTPUT_SIZE) */
#define DB_PRINCIPAL_SECRET_MAX 1024 /* longest password accepted, bytes */

enum db_principal_kind {
	DB_PRINCIPAL_USER,
	DB_PRINCIPAL_ROBOT,
};

/* Results of the principal functions that are not plain 0/-1 plumbing. */
enum db_principal_status {
	DB_PRINCIPAL_OK = 0,
	DB_PRINCIPAL_ERROR = -1, /* database or libcrypt failure */
	DB_PRINCIPAL_INVALID = -2, /* bad name, role or hash */
	DB_PRINCIPAL_EXISTS = -3, /* kind+name already taken */
	DB_PRINCIPAL_NOT_FOUND = -4, /* no such kind+name */
};

/* Outcome of db_principal_verify(). */
enum db_principal_verdict {
	DB_PRINCIPAL_VERIFY_OK, /* password matches, enabled */
	DB_PRINCIPAL_VERIFY_BAD, /* wrong password */
	DB_PRINCIPAL_VERIFY_UNKNOWN, /* no such principal */
	DB_PRINCIPAL_VERIFY_DISABLED, /* password matches, but disabled */
	DB_PRINCIPAL_VERIFY_ERROR, /* database or libcrypt failure */
};

struct db_principal {
	enum db_principal_kind kind;
	char name[DB_PRINCIPAL_NAME_MAX + 1];
	char *hash; /* crypt(3) string; NULL from db_principal_list() */
	char **roles; /* sorted, nroles entries */
	size_t nroles;
	int disabled; /* 1 when logins are refused */
	long long created_at; /* seconds since the epoch */
	long long updated_at;
};

/* Counts reported by db_principal_import_htpasswd(). */
struct db_principal_import {
	size_t added; /* new users, given the import's roles */
	size_t updated; /* existing users: hash replaced, roles kept */
	size_t skipped; /* blank and comment lines */
};

/*
 * Called once per principal by db_principal_list(); p (hash NULL) is
 * borrowed for the call. Return 0 to go on, -1 to stop the listing.
 */
typedef int (*db_principal_list_cb)(const struct db_principal *p, void *arg);

/* "user" or "robot". */
const char *db_principal_kind_name(enum db_principal_kind kind);

/*
 * 1 when s is a valid principal name (or role), else 0 with a one-line
 * reason in err naming what (e.g. "user name") and the value.
 */
int db_principal_name_valid(
    const char *what, const char *s, char *err, size_t errlen);

/*
 * 1 when hash is a hash type we store (yescrypt or bcrypt, well formed),
 * else 0 with a message in err naming the type found, never the hash.
 */
int db_principal_hash_valid(const char *hash, char *err, size_t errlen);

/*
 * Hash secret (NUL-terminated, 1..DB_PRINCIPAL_SECRET_MAX bytes) with
 * yescrypt and a fresh random salt into out[0..outlen), outlen at least
 * DB_PRINCIPAL_HASH_MAX. Returns 0, or -1 with a message in err.
 */
int db_principal_hash(
    const char *secret, char *out, size_t outlen, char *err, size_t errlen);

/*
 * Add a principal with hash (see db_principal_hash_valid()) and roles
 * (borrowed; duplicates collapse) in one transaction. Returns
 * DB_PRINCIPAL_OK, _INVALID, _EXISTS or _ERROR with a message in err.
 */
enum db_principal_status db_principal_add(struct db *db,
    enum db_principal_kind kind, const char *name, const char *hash,
    const char *const *roles, size_t nroles, char *err, size_t errlen);

/* Delete a principal and its roles: _OK, _NOT_FOUND or _ERROR. */
enum db_principal_status db_principal_delete(struct db *db,
    enum db_principal_kind kind, const char *name, char *err, size_t errlen);

/*
 * Look a principal up. _OK sets *out (free with db_principal_free()); any
 * other result (_NOT_FOUND, _ERROR) leaves *out NULL.
 */
enum db_principal_status db_principal_get(struct db *db,
    enum db_principal_kind kind, const char *name, struct db_principal **out,
    char *err, size_t errlen);

/*
 * Call cb for every principal of kind, sorted by name, hashes left out.
 * Returns 0 (also when cb stopped the listing) or -1 with err set.
 */
int db_principal_list(struct db *db, enum db_principal_kind kind,
    db_principal_list_cb cb, void *arg, char *err, size_t errlen);

/* Replace the hash: _OK, _INVALID, _NOT_FOUND or _ERROR. */
enum db_principal_status db_principal_set_hash(struct db *db,
    enum db_principal_kind kind, const char *name, const char *hash, char *err,
    size_t errlen);

/* Disable (1) or enable (0) logins: _OK, _NOT_FOUND or _ERROR. */
enum db_principal_status db_principal_set_disabled(struct db *db,
    enum db_principal_kind kind, const char *name, int disabled, char *err,
    size_t errlen);

/*
 * Check password (NUL-terminated) for kind+name. Runs exactly one hash
 * whatever the outcome: for an unknown name it hashes against a dummy
 * yescrypt hash, so that the time taken tells little about which names
 * exist. The computed hash is compared in constant time. A disabled
 * principal gives _DISABLED only when the password matches (else _BAD).
 * With out non-NULL, _OK sets *out (free with db_principal_free(); hash
 * NULL); otherwise *out is NULL. err is set for _ERROR only.
 */
enum db_principal_verdict db_principal_verify(struct db *db,
    enum db_principal_kind kind, const char *name, const char *password,
    struct db_principal **out, char *err, size_t errlen);

/*
 * Import users from the htpasswd file at path ("name:hash" lines, '#'
 * comments and blank lines skipped). Every line is checked before anything
 * is written: a bad name, a hash other than bcrypt or yescrypt, or a name
 * given twice fails the whole import with "path:LINE: reason" in err. Then,
 * in one transaction, new users are added with roles (borrowed) and
 * existing users get the new hash and keep their roles. Returns 0 and fills
 * *counts, or -1 (counts zeroed).
 */
int db_principal_import_htpasswd(struct db *db, const char *path,
    const char *const *roles, size_t nroles, struct db_principal_import *counts,
    char *err, size_t errlen);

/* Free p, wiping its hash first. db_principal_free(NULL) is a no-op. */
void db_principal_free(struct db_principal *p);

/*
 * Ledger (db/ledger.c): the audit trail and the pushes, in the tables of
 * migration 3. Column names and meanings are documented in docs/ledger.md
 * and stay stable: later migrations add tables, never rename these.
 *
 * Times are seconds since the Unix epoch (UTC). Text is stored as given,
 * cut to the limits below (in bytes, without the NUL) at a UTF-8 character
 * boundary; claims longer than DB_LEDGER_CLAIMS_MAX are not cut (a cut JSON
 * object is not JSON) but stored as NULL.
 */
#define DB_LEDGER_REPO_MAX 255 /* repository name */
#define DB_LEDGER_REF_MAX 255 /* tag or digest as the request named it */
#define DB_LEDGER_TAG_MAX 128 /* OCI tags are at most 128 bytes */
#define DB_LEDGER_DIGEST_MAX 255 /* "sha256:<64 hex>", "sha512:..." */
#define DB_LEDGER_MEDIA_TYPE_MAX 255
#define DB_LEDGER_PRINCIPAL_MAX 255 /* "user:alice", an OIDC name template */
#define DB_LEDGER_CLIENT_MAX 64 /* client address, e.g. "[::1]:51234" */
#define DB_LEDGER_METHOD_MAX 16 /* HTTP method */
#define DB_LEDGER_REASON_MAX 512 /* human-readable reason */
#define DB_LEDGER_CLAIMS_MAX 4096 /* JSON object of the claims that matter */

/* audit.kind; the names are the stored strings. */
enum db_ledger_kind {
	DB_LEDGER_PUSH, /* "push": a manifest push (see db_ledger_push_insert())
			 */
	DB_LEDGER_DENY, /* "deny": a request refused by policy or admission */
	DB_LEDGER_LOGIN_FAILED, /* "login_failed": bad credentials or token */
	DB_LEDGER_DELETE, /* "delete": a manifest or tag deleted */
};

/* Results of the ledger write functions. */
enum db_ledger_status {
	DB_LEDGER_OK = 0,
	DB_LEDGER_ERROR = -1, /* SQLite error other than busy; err says which */
	DB_LEDGER_BUSY = -2, /* locked by another connection past the timeout */
};

/*
 * One row of audit. NULL strings are stored as NULL; status 0 as NULL.
 * Strings are borrowed for the call (insert) or the callback (list).
 */
struct db_ledger_event {
	long long id; /* rowid: set by db_ledger_audit_list(), ignored else */
	long long at;
	enum db_ledger_kind kind;
	const char *principal; /* who, when known */
	const char *client; /* client address */
	const char *repository;
	const char *ref; /* tag or digest as requested */
	const char *digest; /* the manifest's digest, when known */
	const char *method; /* HTTP method */
	int status; /* HTTP status answered; 0: none */
	const char *reason; /* why (deny, login_failed, delete) */
	const char *claims; /* JSON object, or NULL */
};

/*
 * One row of pushes: a manifest stored through the gateway. repository,
 * digest and principal are required (non-empty); size -1 is stored as NULL.
 */
struct db_ledger_push {
	long long id; /* rowid: set by db_ledger_push_list(), ignored else */
	long long at;
	const char *repository;
	const char *tag; /* NULL for a push by digest */
	const char *digest;
	const char *media_type;
	long long size; /* manifest bytes; -1: unknown */
	const char *principal;
	const char *client;
	const char *claims; /* JSON object of the OIDC claims, or NULL */
};

/* A writer on one connection: its prepared statements, cached. */
struct db_ledger;

/*
 * Called by the list functions once per row, in order; the row is
 * borrowed for the call. Return 0 to go on, -1 to stop the listing.
 */
typedef int (*db_ledger_event_cb)(const struct db_ledger_event *e, void *arg);
typedef int (*db_ledger_push_cb)(const struct db_ledger_push *p, void *arg);

/* "push", "deny", "login_failed", "delete"; NULL for a bad value. */
const char *db_ledger_kind_name(enum db_ledger_kind kind);

/*
 * Bytes of s to keep so that it is at most max bytes long without cutting
 * a UTF-8 sequence in two (s NUL-terminated; NULL gives 0).
 */
size_t db_ledger_clip(const char *s, size_t max);

/*
 * A writer on db (borrowed; free the writer before db_close()), with the
 * insert statements prepared once. Returns NULL with err set. Free with
 * db_ledger_free(). One thread at a time may use a writer.
 */
struct db_ledger *db_ledger_new(struct db *db, char *err, size_t errlen);

/* Finalize the statements. db_ledger_free(NULL) is a no-op. */
void db_ledger_free(struct db_ledger *w);

/*
 * How long SQLite waits for a lock held by another connection before a
 * call gives DB_LEDGER_BUSY (db_open() sets 5000 ms).
 */
void db_ledger_busy_timeout(struct db *db, int ms);

/*
 * BEGIN IMMEDIATE (takes the write lock now, so that a busy database shows
 * here and not half-way through a batch), COMMIT, ROLLBACK. After a failed
 * begin there is no transaction; after a failed insert or commit, roll back.
 */
enum db_ledger_status db_ledger_begin(
    struct db_ledger *w, char *err, size_t errlen);
enum db_ledger_status db_ledger_commit(
    struct db_ledger *w, char *err, size_t errlen);
void db_ledger_rollback(struct db_ledger *w);

/*
 * Insert one audit row in the current transaction (autocommit without
 * one). A missing kind name (bad enum value) is DB_LEDGER_ERROR. A
 * "delete" with status 202 whose ref is a digest also updates the
 * inventory: the manifest is marked deleted and its tags dropped.
 */
enum db_ledger_status db_ledger_event_insert(struct db_ledger *w,
    const struct db_ledger_event *e, char *err, size_t errlen);

/*
 * Insert one push in the current transaction: a pushes row, and an audit
 * row of kind "push" (method "PUT", ref the tag or else the digest, no
 * claims: they are in the pushes row) so that the audit trail is complete.
 * The inventory follows (migration 4): the manifests row is upserted with
 * source "push", pushed_at and pushed_by (and deleted_at cleared); for a
 * push by tag, the tags row points to the digest and a tag_history row
 * records a new or moved tag.
 * Missing repository, digest or principal is DB_LEDGER_ERROR.
 */
enum db_ledger_status db_ledger_push_insert(struct db_ledger *w,
    const struct db_ledger_push *p, char *err, size_t errlen);

/*
 * Call cb for every audit row with at >= since, oldest first (by at, then
 * id). Returns 0 (also when cb stopped the listing) or -1 with err set.
 */
int db_ledger_audit_list(struct db *db, long long since, db_ledger_event_cb cb,
    void *arg, char *err, size_t errlen);

/*
 * Call cb for every push to repository (NULL: to any), in the order they
 * were recorded (by id). Returns 0 (also when cb stopped) or -1 with err.
 */
int db_ledger_push_list(struct db *db, const char *repository,
    db_ledger_push_cb cb, void *arg, char *err, size_t errlen);

/*
 * Inventory (db/inventory.c): what the registry holds as the ledger knows
 * it (manifests, manifest_children, tags, tag_history of migration 4) and
 * the purge's records (purge_runs, purge_deletions). Written by `regward
 * sync` and `regward purge`; pushes through the gateway reach manifests
 * and tags via db_ledger_push_insert(). Functions return 0 (or the count
 * or id they name) on success, -1 with a one-line message in err. Strings
 * handed to callbacks are borrowed for the call.
 */

/* A row of manifests. pushed_at 0: not pushed through the gateway. */
struct db_inv_mfst {
	const char *repository;
	const char *digest;
	const char *media_type; /* NULL if unknown */
	long long size; /* -1 if unknown */
	const char *source; /* "push", "sync" or "pull" */
	long long first_seen;
	long long pushed_at; /* 0: never pushed through regward */
	const char *pushed_by;
	long long last_pulled; /* newest pulls.last_pulled; 0: never */
};

/* A row of tags. seq orders pushes within a second (tag_history id). */
struct db_inv_tag {
	const char *repository;
	const char *tag;
	const char *digest;
	const char *source;
	long long updated_at;
	const char *updated_by;
	long long seq;
};

/* One deletion of a purge run (purge_deletions). */
struct db_purge_deletion {
	long long run_id;
	long long at;
	const char *repository;
	const char *digest;
	const char *tags; /* comma-separated, or NULL */
	const char *rule; /* "retention[0]" */
	const char *reason;
	const char *status; /* "deleted", "gone" (404), "skipped", "failed" */
};

typedef int (*db_inv_mfst_cb)(const struct db_inv_mfst *m, void *arg);
typedef int (*db_inv_tag_cb)(const struct db_inv_tag *t, void *arg);
/* live: 1 while the parent is in manifests and not deleted. */
typedef int (*db_inv_child_cb)(
    const char *parent, const char *child, int live, void *arg);

/* BEGIN IMMEDIATE, COMMIT, ROLLBACK on db's connection. */
int db_inv_begin(struct db *db, char *err, size_t errlen);
int db_inv_commit(struct db *db, char *err, size_t errlen);
void db_inv_rollback(struct db *db);

/*
 * A manifest found on the upstream at time at: a new row has source
 * "sync" and first_seen at; a known row is marked not deleted and gets
 * media_type/size where they were unknown. Returns 1 (new), 0 (known), -1.
 */
int db_inv_manifest_seen(struct db *db, const char *repo, const char *digest,
    const char *media_type, long long size, long long at, char *err,
    size_t errlen);

/*
 * A tag found on the upstream pointing to digest: when the ledger has no
 * such tag or it points elsewhere, the row becomes source "sync",
 * updated_at at, with a tag_history row; a tag the ledger updated at or
 * after at (a push meanwhile) is left alone. Returns 1 (changed), 0, -1.
 */
int db_inv_tag_seen(struct db *db, const char *repo, const char *tag,
    const char *digest, long long at, char *err, size_t errlen);

/* The tag is gone: drop its row, with a tag_history row (digest NULL). */
int db_inv_tag_drop(struct db *db, const char *repo, const char *tag,
    long long at, const char *source, const char *principal, char *err,
    size_t errlen);

/* Replace the children an index lists (children borrowed). */
int db_inv_children_set(struct db *db, const char *repo, const char *parent,
    const char *const *children, size_t n, char *err, size_t errlen);

/* 1 when parent has children recorded, 0 when not, -1 on error. */
int db_inv_has_children(struct db *db, const char *repo, const char *parent,
    char *err, size_t errlen);

/*
 * The manifest was deleted at time at: set deleted_at and drop every tag
 * that pointed to it (tag_history rows, source "purge").
 */
int db_inv_manifest_deleted(struct db *db, const char *repo, const char *digest,
    long long at, const char *principal, char *err, size_t errlen);

/* Manifests of repo not marked deleted, by digest, with their last pull. */
int db_inv_manifest_list(struct db *db, const char *repo, db_inv_mfst_cb cb,
    void *arg, char *err, size_t errlen);

/* Tags of repo (digest NULL), or the tags pointing to digest. */
int db_inv_tag_list(struct db *db, const char *repo, const char *digest,
    db_inv_tag_cb cb, void *arg, char *err, size_t errlen);

/* Every (parent, child) of repo's indexes, with the parent's liveness. */
int db_inv_children_list(struct db *db, const char *repo, db_inv_child_cb cb,
    void *arg, char *err, size_t errlen);

/*
 * 1 when digest was pushed to repo through the gateway at or after since
 * (manifests.pushed_at or a pushes row), 0 when not, -1 on error.
 */
int db_inv_pushed_since(struct db *db, const char *repo, const char *digest,
    long long since, char *err, size_t errlen);

/* A purge_runs row, status "running". Returns its id, or -1. */
long long db_purge_run_start(
    struct db *db, long long at, int dry_run, char *err, size_t errlen);

/* Close a run: finished_at, status ("done", "failed"), counts, error. */
int db_purge_run_finish(struct db *db, long long id, long long at,
    const char *status, long long planned, long long deleted, const char *error,
    char *err, size_t errlen);

/* Record one deletion (or skip) of a run. */
int db_purge_deletion_add(
    struct db *db, const struct db_purge_deletion *d, char *err, size_t errlen);

/* Delete audit rows older than before. Returns the number removed, or -1. */
long long db_audit_trim(
    struct db *db, long long before, char *err, size_t errlen);

#endif /* REGWARD_DB_H */
