/*
 * users: principals (users and robots), their roles and password hashes,
 * stored in the tables of migration 2; htpasswd import.
 *
 * Hashing and verification use libxcrypt's crypt_rn() with a heap
 * struct crypt_data that is wiped before it is freed. Nothing here logs or
 * puts a password or a hash in an error message.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "regward/db.h"

#define USERS_LINE_MAX 4096 /* longest htpasswd line, bytes */
#define USERS_IMPORT_MAX 100000 /* users per htpasswd file */

/*
 * Hashed instead of a stored hash when the name is unknown, so an unknown
 * name costs about as much as a known one (libxcrypt's default yescrypt
 * cost, which db_principal_hash() also uses). Its password is not secret
 * and no principal can have it: it never leaves this file.
 */
static const char users_dummy_hash[] =
    "$y$j9T$gHptTFS92jIZvIhktStnW1$"
    "g1KpLOJfJUxlSADrtB17V6g8rpYAMUz4y4zRxxGmcU0";

static const char users_b64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

_Static_assert(DB_PRINCIPAL_HASH_MAX >= CRYPT_OUTPUT_SIZE,
    "DB_PRINCIPAL_HASH_MAX must hold any crypt_rn() output");

/* One parsed htpasswd line. */
struct users_entry {
	char name[DB_PRINCIPAL_NAME_MAX + 1];
	char *hash;
	size_t lineno;
};

const char *
db_principal_kind_name(enum db_principal_kind kind)
{
	return kind == DB_PRINCIPAL_ROBOT ? "robot" : "user";
}

/*
 * Copy at most 40 bytes of s into buf (at least 44 bytes) for an error
 * message, bytes outside printable ASCII and quotes as '?', "..." when cut.
 */
static const char *
users_printable(const char *s, char *buf, size_t len)
{
	size_t i;

	if (len < 44) {
		buf[0] = '\0';
		return buf;
	}
	for (i = 0; s[i] != '\0' && i < 40; i++)
		buf[i] =
		    (s[i] > 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

int
db_principal_name_valid(
    const char *what, const char *s, char *err, size_t errlen)
{
	char q[48];
	size_t i;

	if (s == NULL || s[0] == '\0') {
		snprintf(err, errlen, "%s is empty", what);
		return 0;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (i > 0 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))
			continue;
		goto bad;
	}
	if (i > DB_PRINCIPAL_NAME_MAX)
		goto bad;
	return 1;
bad:
	snprintf(err, errlen, "%s \"%s\": must match [a-z0-9][a-z0-9._-]{0,63}",
	    what, users_printable(s, q, sizeof(q)));
	return 0;
}

/* 1 when s[0..n) are all crypt base-64 characters. */
static int
users_b64_span(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(users_b64, s[i]) == NULL)
			return 0;
	return 1;
}

/* $2a$/$2b$/$2y$, two-digit cost 04..31, 22 salt + 31 hash characters. */
static int
users_bcrypt_ok(const char *h)
{
	int cost;

	if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' ||
	    (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' ||
	    h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$')
		return 0;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return 0;
	return users_b64_span(h + 7, 53);
}

/* $y$PARAMS$SALT$HASH with a 43-character (256-bit) hash. */
static int
users_yescrypt_ok(const char *h)
{
	const char *p, *salt, *end;
	size_t n;

	if (strncmp(h, "$y$", 3) != 0 || strlen(h) >= DB_PRINCIPAL_HASH_MAX)
		return 0;
	p = h + 3;
	if ((salt = strchr(p, '$')) == NULL || salt == p ||
	    !users_b64_span(p, (size_t)(salt - p)))
		return 0;
	salt++;
	if ((end = strchr(salt, '$')) == NULL || end == salt ||
	    !users_b64_span(salt, (size_t)(end - salt)))
		return 0;
	end++;
	n = strlen(end);
	return n == 43 && users_b64_span(end, n);
}

/* What a refused hash looks like, for the message; never the hash. */
static const char *
users_hash_type(const char *h)
{
	size_t n = strlen(h);

	if (strncmp(h, "$apr1$", 6) == 0)
		return "Apache MD5 ($apr1$)";
	if (strncmp(h, "{SHA}", 5) == 0)
		return "SHA-1 ({SHA})";
	if (strncmp(h, "$1$", 3) == 0)
		return "MD5-crypt ($1$)";
	if (strncmp(h, "$5$", 3) == 0 || strncmp(h, "$6$", 3) == 0)
		return "SHA-crypt ($5$/$6$)";
	if (strncmp(h, "$2", 2) == 0)
		return "malformed bcrypt";
	if (strncmp(h, "$y$", 3) == 0)
		return "malformed yescrypt";
	if (n == 0)
		return "empty";
	if (n == 13 && users_b64_span(h, 13))
		return "DES crypt";
	if (h[0] == '$')
		return "unknown crypt";
	return "plain text or unknown";
}

int
db_principal_hash_valid(const char *hash, char *err, size_t errlen)
{
	if (hash != NULL && (users_bcrypt_ok(hash) || users_yescrypt_ok(hash)))
		return 1;
	snprintf(err, errlen,
	    "unsupported password hash: %s; only bcrypt ($2y$, $2b$, $2a$: "
	    "htpasswd -B) and yescrypt ($y$) are accepted",
	    hash != NULL ? users_hash_type(hash) : "none");
	return 0;
}

static struct crypt_data *
users_crypt_data_new(void)
{
	return calloc(1, sizeof(struct crypt_data));
}

static void
users_crypt_data_free(struct crypt_data *cd)
{
	if (cd == NULL)
		return;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
}

/* Constant time over n bytes: 1 when a[0..n) equals b[0..n). */
static int
users_ct_equal(const char *a, const char *b, size_t n)
{
	volatile unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

int
db_principal_hash(
    const char *secret, char *out, size_t outlen, char *err, size_t errlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	const char *h;
	size_t n;
	int rc = -1;

	if (outlen > 0)
		out[0] = '\0';
	n = secret != NULL ? strlen(secret) : 0;
	if (n == 0 || n > DB_PRINCIPAL_SECRET_MAX) {
		snprintf(err, errlen, "password must be 1 to %d bytes",
		    DB_PRINCIPAL_SECRET_MAX);
		goto out;
	}
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL) {
		snprintf(err, errlen,
		    "crypt_gensalt_rn: cannot make a "
		    "yescrypt salt");
		goto out;
	}
	if ((cd = users_crypt_data_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	h = crypt_rn(secret, salt, cd, sizeof(*cd));
	if (h == NULL || h[0] == '*' || strlen(h) >= outlen ||
	    !users_yescrypt_ok(h)) {
		snprintf(err, errlen, "crypt_rn: yescrypt hashing failed");
		goto out;
	}
	memcpy(out, h, strlen(h) + 1);
	rc = 0;
out:
	users_crypt_data_free(cd);
	return rc;
}

static void
users_dberr(struct db *db, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db_sqlite(db)));
}

static int
users_exec(struct db *db, const char *sql, char *err, size_t errlen)
{
	if (sqlite3_exec(db_sqlite(db), sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	users_dberr(db, sql, err, errlen);
	return -1;
}

static void
users_rollback(struct db *db)
{
	sqlite3_exec(db_sqlite(db), "ROLLBACK;", NULL, NULL, NULL);
}

/* Validate kind and name; 1 when fine, else 0 with err set. */
static int
users_check_name(
    enum db_principal_kind kind, const char *name, char *err, size_t errlen)
{
	return db_principal_name_valid(
	    kind == DB_PRINCIPAL_ROBOT ? "robot name" : "user name", name, err,
	    errlen);
}

/* Insert roles[] for principal id; duplicates collapse. 0 or -1. */
static int
users_insert_roles(struct db *db, sqlite3_int64 id, const char *const *roles,
    size_t nroles, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = -1;

	if (sqlite3_prepare_v2(db_sqlite(db),
		"INSERT OR IGNORE INTO principal_roles (principal_id, role) "
		"VALUES (?, ?)",
		-1, &st, NULL) != SQLITE_OK) {
		users_dberr(db, "principal_roles", err, errlen);
		goto out;
	}
	for (i = 0; i < nroles; i++) {
		sqlite3_reset(st);
		if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
		    sqlite3_bind_text(st, 2, roles[i], -1, SQLITE_STATIC) !=
			SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE) {
			users_dberr(db, "principal_roles", err, errlen);
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Insert one principal and its roles, inside the caller's transaction. */
static enum db_principal_status
users_insert(struct db *db, enum db_principal_kind kind, const char *name,
    const char *hash, const char *const *roles, size_t nroles, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = NULL;
	enum db_principal_status rc = DB_PRINCIPAL_ERROR;
	int src;

	if (sqlite3_prepare_v2(db_sqlite(db),
		"INSERT INTO principals (kind, name, hash, created_at, "
		"updated_at) VALUES (?, ?, ?, strftime('%s','now'), "
		"strftime('%s','now'))",
		-1, &st, NULL) != SQLITE_OK) {
		users_dberr(db, "principals", err, errlen);
		goto out;
	}
	if (sqlite3_bind_text(st, 1, db_principal_kind_name(kind), -1,
		SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC) != SQLITE_OK) {
		users_dberr(db, "principals", err, errlen);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_CONSTRAINT &&
	    sqlite3_extended_errcode(db_sqlite(db)) ==
		SQLITE_CONSTRAINT_UNIQUE) {
		snprintf(err, errlen, "%s %s already exists",
		    db_principal_kind_name(kind), name);
		rc = DB_PRINCIPAL_EXISTS;
		goto out;
	}
	if (src != SQLITE_DONE) {
		users_dberr(db, "principals", err, errlen);
		goto out;
	}
	if (users_insert_roles(db, sqlite3_last_insert_rowid(db_sqlite(db)),
		roles, nroles, err, errlen) == -1)
		goto out;
	rc = DB_PRINCIPAL_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Validate roles[]: 1 when all are fine, else 0 with err set. */
static int
users_check_roles(
    const char *const *roles, size_t nroles, char *err, size_t errlen)
{
	size_t i;

	if (nroles > DB_PRINCIPAL_ROLES_MAX) {
		snprintf(
		    err, errlen, "more than %d roles", DB_PRINCIPAL_ROLES_MAX);
		return 0;
	}
	for (i = 0; i < nroles; i++)
		if (!db_principal_name_valid("role", roles[i], err, errlen))
			return 0;
	return 1;
}

enum db_principal_status
db_principal_add(struct db *db, enum db_principal_kind kind, const char *name,
    const char *hash, const char *const *roles, size_t nroles, char *err,
    size_t errlen)
{
	enum db_principal_status rc;

	if (!users_check_name(kind, name, err, errlen) ||
	    !users_check_roles(roles, nroles, err, errlen) ||
	    !db_principal_hash_valid(hash, err, errlen))
		return DB_PRINCIPAL_INVALID;
	if (users_exec(db, "BEGIN IMMEDIATE;", err, errlen) == -1)
		return DB_PRINCIPAL_ERROR;
	rc = users_insert(db, kind, name, hash, roles, nroles, err, errlen);
	if (rc != DB_PRINCIPAL_OK) {
		users_rollback(db);
		return rc;
	}
	if (users_exec(db, "COMMIT;", err, errlen) == -1) {
		users_rollback(db);
		return DB_PRINCIPAL_ERROR;
	}
	return DB_PRINCIPAL_OK;
}

/*
 * Run one UPDATE/DELETE statement sql with kind and name bound to ?1, ?2
 * (and text to ?3 when non-NULL, or num to ?3 when text is NULL and
 * num >= 0). _OK when one row changed, _NOT_FOUND when none.
 */
static enum db_principal_status
users_change(struct db *db, const char *sql, enum db_principal_kind kind,
    const char *name, const char *text, int num, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	enum db_principal_status rc = DB_PRINCIPAL_ERROR;
	int brc;

	if (!users_check_name(kind, name, err, errlen))
		return DB_PRINCIPAL_NOT_FOUND;
	if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) !=
	    SQLITE_OK) {
		users_dberr(db, "principals", err, errlen);
		goto out;
	}
	brc = sqlite3_bind_text(
	    st, 1, db_principal_kind_name(kind), -1, SQLITE_STATIC);
	if (brc == SQLITE_OK)
		brc = sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (brc == SQLITE_OK && text != NULL)
		brc = sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	else if (brc == SQLITE_OK && num >= 0)
		brc = sqlite3_bind_int(st, 3, num);
	if (brc != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		users_dberr(db, "principals", err, errlen);
		goto out;
	}
	if (sqlite3_changes(db_sqlite(db)) == 0) {
		snprintf(err, errlen, "no %s named %s",
		    db_principal_kind_name(kind), name);
		rc = DB_PRINCIPAL_NOT_FOUND;
		goto out;
	}
	rc = DB_PRINCIPAL_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

enum db_principal_status
db_principal_delete(struct db *db, enum db_principal_kind kind,
    const char *name, char *err, size_t errlen)
{
	return users_change(db,
	    "DELETE FROM principals WHERE kind = ?1 AND name = ?2", kind, name,
	    NULL, -1, err, errlen);
}

enum db_principal_status
db_principal_set_hash(struct db *db, enum db_principal_kind kind,
    const char *name, const char *hash, char *err, size_t errlen)
{
	if (!db_principal_hash_valid(hash, err, errlen))
		return DB_PRINCIPAL_INVALID;
	return users_change(db,
	    "UPDATE principals SET hash = ?3, "
	    "updated_at = strftime('%s','now') WHERE kind = ?1 AND name = ?2",
	    kind, name, hash, -1, err, errlen);
}

enum db_principal_status
db_principal_set_disabled(struct db *db, enum db_principal_kind kind,
    const char *name, int disabled, char *err, size_t errlen)
{
	return users_change(db,
	    "UPDATE principals SET disabled = ?3, "
	    "updated_at = strftime('%s','now') WHERE kind = ?1 AND name = ?2",
	    kind, name, NULL, disabled ? 1 : 0, err, errlen);
}

void
db_principal_free(struct db_principal *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->hash != NULL) {
		explicit_bzero(p->hash, strlen(p->hash));
		free(p->hash);
		p->hash = NULL;
	}
	for (i = 0; i < p->nroles; i++)
		free(p->roles[i]);
	free(p->roles);
	free(p);
}

/* Load the roles of principal id into p (sorted). 0 or -1. */
static int
users_load_roles(struct db *db, sqlite3_int64 id, struct db_principal *p,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const char *role;
	char **roles;
	int src, rc = -1;

	if (sqlite3_prepare_v2(db_sqlite(db),
		"SELECT role FROM principal_roles WHERE principal_id = ? "
		"ORDER BY role",
		-1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, id) != SQLITE_OK) {
		users_dberr(db, "principal_roles", err, errlen);
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (p->nroles >= DB_PRINCIPAL_ROLES_MAX * 4) {
			snprintf(err, errlen, "%s %s: too many roles",
			    db_principal_kind_name(p->kind), p->name);
			goto out;
		}
		if ((role = (const char *)sqlite3_column_text(st, 0)) == NULL ||
		    (roles = reallocarray(
			 p->roles, p->nroles + 1, sizeof(*roles))) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		p->roles = roles;
		if ((p->roles[p->nroles] = strdup(role)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		p->nroles++;
	}
	if (src != SQLITE_DONE) {
		users_dberr(db, "principal_roles", err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Build a principal from a row of "SELECT id, kind, name, hash, disabled,
 * created_at, updated_at". Hash is copied only when want_hash. Returns the
 * principal (free with db_principal_free()) or NULL with err set.
 */
static struct db_principal *
users_from_row(
    struct db *db, sqlite3_stmt *st, int want_hash, char *err, size_t errlen)
{
	struct db_principal *p;
	const char *kind, *name, *hash;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	kind = (const char *)sqlite3_column_text(st, 1);
	name = (const char *)sqlite3_column_text(st, 2);
	hash = (const char *)sqlite3_column_text(st, 3);
	if (kind == NULL || name == NULL || hash == NULL ||
	    strlen(name) > DB_PRINCIPAL_NAME_MAX) {
		snprintf(err, errlen, "principals: malformed row %lld",
		    (long long)sqlite3_column_int64(st, 0));
		goto bad;
	}
	p->kind =
	    strcmp(kind, "robot") == 0 ? DB_PRINCIPAL_ROBOT : DB_PRINCIPAL_USER;
	memcpy(p->name, name, strlen(name) + 1);
	if (want_hash && (p->hash = strdup(hash)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto bad;
	}
	p->disabled = sqlite3_column_int(st, 4) != 0;
	p->created_at = sqlite3_column_int64(st, 5);
	p->updated_at = sqlite3_column_int64(st, 6);
	if (users_load_roles(db, sqlite3_column_int64(st, 0), p, err, errlen) ==
	    -1)
		goto bad;
	return p;
bad:
	db_principal_free(p);
	return NULL;
}

#define USERS_SELECT                                                           \
	"SELECT id, kind, name, hash, disabled, created_at, updated_at "       \
	"FROM principals "

enum db_principal_status
db_principal_get(struct db *db, enum db_principal_kind kind, const char *name,
    struct db_principal **out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	enum db_principal_status rc = DB_PRINCIPAL_ERROR;
	int src;

	*out = NULL;
	if (!users_check_name(kind, name, err, errlen))
		return DB_PRINCIPAL_NOT_FOUND;
	if (sqlite3_prepare_v2(db_sqlite(db),
		USERS_SELECT "WHERE kind = ? AND name = ?", -1, &st,
		NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, db_principal_kind_name(kind), -1,
		SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK) {
		users_dberr(db, "principals", err, errlen);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		snprintf(err, errlen, "no %s named %s",
		    db_principal_kind_name(kind), name);
		rc = DB_PRINCIPAL_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		users_dberr(db, "principals", err, errlen);
		goto out;
	}
	if ((*out = users_from_row(db, st, 1, err, errlen)) == NULL)
		goto out;
	rc = DB_PRINCIPAL_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

int
db_principal_list(struct db *db, enum db_principal_kind kind,
    db_principal_list_cb cb, void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	struct db_principal *p;
	int src, stop, rc = -1;

	if (sqlite3_prepare_v2(db_sqlite(db),
		USERS_SELECT "WHERE kind = ? ORDER BY name", -1, &st,
		NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, db_principal_kind_name(kind), -1,
		SQLITE_STATIC) != SQLITE_OK) {
		users_dberr(db, "principals", err, errlen);
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = users_from_row(db, st, 0, err, errlen)) == NULL)
			goto out;
		stop = cb(p, arg);
		db_principal_free(p);
		if (stop != 0) {
			rc = 0;
			goto out;
		}
	}
	if (src != SQLITE_DONE) {
		users_dberr(db, "principals", err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

enum db_principal_verdict
db_principal_verify(struct db *db, enum db_principal_kind kind,
    const char *name, const char *password, struct db_principal **out,
    char *err, size_t errlen)
{
	struct db_principal *p = NULL;
	struct crypt_data *cd = NULL;
	enum db_principal_verdict v = DB_PRINCIPAL_VERIFY_ERROR;
	enum db_principal_status st;
	const char *stored, *h;
	char e[8];
	size_t n;
	int match, usable = 1;

	if (out != NULL)
		*out = NULL;
	if ((cd = users_crypt_data_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* A bad name is an unknown name: look nothing up, hash anyway. */
	if (!users_check_name(kind, name, e, sizeof(e)))
		st = DB_PRINCIPAL_NOT_FOUND;
	else
		st = db_principal_get(db, kind, name, &p, err, errlen);
	if (st == DB_PRINCIPAL_ERROR)
		goto out;
	stored = st == DB_PRINCIPAL_OK ? p->hash : users_dummy_hash;
	if (password == NULL || password[0] == '\0' ||
	    strlen(password) > DB_PRINCIPAL_SECRET_MAX) {
		usable = 0; /* still hash: no shortcut on length */
		password = "-";
	}
	h = crypt_rn(password, stored, cd, sizeof(*cd));
	if (h == NULL || h[0] == '*') {
		snprintf(err, errlen, "crypt_rn: cannot verify %s %s",
		    db_principal_kind_name(kind), name);
		goto out;
	}
	n = strlen(stored);
	match = strlen(h) == n && users_ct_equal(h, stored, n);
	if (st != DB_PRINCIPAL_OK) {
		v = DB_PRINCIPAL_VERIFY_UNKNOWN;
		goto out;
	}
	if (!match || !usable) {
		v = DB_PRINCIPAL_VERIFY_BAD;
		goto out;
	}
	if (p->disabled) {
		v = DB_PRINCIPAL_VERIFY_DISABLED;
		goto out;
	}
	v = DB_PRINCIPAL_VERIFY_OK;
	if (out != NULL) {
		explicit_bzero(p->hash, strlen(p->hash));
		free(p->hash);
		p->hash = NULL;
		*out = p;
		p = NULL;
	}
out:
	db_principal_free(p);
	users_crypt_data_free(cd);
	return v;
}

/* Strip a trailing "\n" or "\r\n"; returns the new length. */
static size_t
users_chomp(char *s, size_t n)
{
	if (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	if (n > 0 && s[n - 1] == '\r')
		s[--n] = '\0';
	return n;
}

static void
users_entries_free(struct users_entry *ents, size_t n)
{
	size_t i;

	if (ents == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (ents[i].hash != NULL) {
			explicit_bzero(ents[i].hash, strlen(ents[i].hash));
			free(ents[i].hash);
		}
	}
	free(ents);
}

/*
 * Parse and check the whole htpasswd file. Returns 0 with *out (free with
 * users_entries_free()) and *nout, or -1 with "path:LINE: reason" in err.
 */
static int
users_htpasswd_read(const char *path, struct users_entry **out, size_t *nout,
    size_t *skipped, char *err, size_t errlen)
{
	FILE *f = NULL;
	struct users_entry *ents = NULL, *grown;
	char *line = NULL, *colon, *p;
	char reason[256];
	size_t cap = 0, lineno = 0, n = 0, i;
	ssize_t len;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	*skipped = 0;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		lineno++;
		if ((size_t)len > USERS_LINE_MAX) {
			snprintf(err, errlen,
			    "%s:%zu: line longer than %d bytes", path, lineno,
			    USERS_LINE_MAX);
			goto out;
		}
		if (strlen(line) != (size_t)len) {
			snprintf(err, errlen, "%s:%zu: NUL byte in line", path,
			    lineno);
			goto out;
		}
		users_chomp(line, (size_t)len);
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#') {
			(*skipped)++;
			continue;
		}
		if ((colon = strchr(line, ':')) == NULL) {
			snprintf(err, errlen,
			    "%s:%zu: expected \"name:hash\", found no ':'",
			    path, lineno);
			goto out;
		}
		*colon = '\0';
		if (!db_principal_name_valid(
			"user name", line, reason, sizeof(reason))) {
			snprintf(
			    err, errlen, "%s:%zu: %s", path, lineno, reason);
			goto out;
		}
		if (!db_principal_hash_valid(
			colon + 1, reason, sizeof(reason))) {
			snprintf(err, errlen, "%s:%zu: user %s: %s", path,
			    lineno, line, reason);
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(ents[i].name, line) == 0) {
				snprintf(err, errlen,
				    "%s:%zu: user %s already given on line "
				    "%zu",
				    path, lineno, line, ents[i].lineno);
				goto out;
			}
		}
		if (n >= USERS_IMPORT_MAX) {
			snprintf(err, errlen, "%s:%zu: more than %d users",
			    path, lineno, USERS_IMPORT_MAX);
			goto out;
		}
		if ((grown = reallocarray(ents, n + 1, sizeof(*ents))) ==
		    NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto out;
		}
		ents = grown;
		memset(&ents[n], 0, sizeof(ents[n]));
		memcpy(ents[n].name, line, strlen(line) + 1);
		ents[n].lineno = lineno;
		if ((ents[n].hash = strdup(colon + 1)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto out;
		}
		n++;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	*out = ents;
	*nout = n;
	ents = NULL;
	n = 0;
	rc = 0;
out:
	if (line != NULL) {
		explicit_bzero(line, cap);
		free(line);
	}
	users_entries_free(ents, n);
	if (f != NULL)
		fclose(f);
	return rc;
}

int
db_principal_import_htpasswd(struct db *db, const char *path,
    const char *const *roles, size_t nroles, struct db_principal_import *counts,
    char *err, size_t errlen)
{
	struct users_entry *ents = NULL;
	struct db_principal_import c;
	enum db_principal_status st;
	char reason[512];
	size_t n = 0, i;
	int in_tx = 0, rc = -1;

	memset(counts, 0, sizeof(*counts));
	memset(&c, 0, sizeof(c));
	if (!users_check_roles(roles, nroles, reason, sizeof(reason))) {
		snprintf(err, errlen, "%s", reason);
		goto out;
	}
	if (users_htpasswd_read(path, &ents, &n, &c.skipped, err, errlen) == -1)
		goto out;
	if (users_exec(db, "BEGIN IMMEDIATE;", reason, sizeof(reason)) == -1) {
		snprintf(err, errlen, "%s: %s", path, reason);
		goto out;
	}
	in_tx = 1;
	for (i = 0; i < n; i++) {
		st = users_change(db,
		    "UPDATE principals SET hash = ?3, "
		    "updated_at = strftime('%s','now') "
		    "WHERE kind = ?1 AND name = ?2",
		    DB_PRINCIPAL_USER, ents[i].name, ents[i].hash, -1, reason,
		    sizeof(reason));
		if (st == DB_PRINCIPAL_OK) {
			c.updated++;
			continue;
		}
		if (st == DB_PRINCIPAL_NOT_FOUND)
			st = users_insert(db, DB_PRINCIPAL_USER, ents[i].name,
			    ents[i].hash, roles, nroles, reason,
			    sizeof(reason));
		if (st != DB_PRINCIPAL_OK) {
			snprintf(err, errlen, "%s:%zu: %s", path,
			    ents[i].lineno, reason);
			goto out;
		}
		c.added++;
	}
	if (users_exec(db, "COMMIT;", reason, sizeof(reason)) == -1) {
		snprintf(err, errlen, "%s: %s", path, reason);
		goto out;
	}
	in_tx = 0;
	*counts = c;
	rc = 0;
out:
	if (in_tx)
		users_rollback(db);
	users_entries_free(ents, n);
	return rc;
}
