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

#endif /* REGWARD_DB_H */
