/*
 * test_users: principals (db/users.c) on a fresh temp SQLite file per test,
 * migrated by the real db_open().
 *
 * htpasswd fixtures live in REGWARD_TEST_DATA/users (see its README.md):
 *   valid/htpasswd-B.htpasswd   made by htpasswd -Bbn; must import
 *   invalid/NAME.htpasswd       must fail as a whole; NAME.err lists
 *                               substrings of the error ("!x": must not
 *                               contain x)
 */
#include <crypt.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "regward/db.h"

#ifndef REGWARD_TEST_DATA
#error "define REGWARD_TEST_DATA as the absolute path of tests/data"
#endif

#define TEST_USERS_DIR REGWARD_TEST_DATA "/users"
#define TEST_USERS_MIN_INVALID 8 /* fewer means the data dir went missing */

struct test_users {
	char dir[64];
	char path[96];
	struct db *db;
	char err[1024];
};

static int
test_users_setup(void **state)
{
	struct test_users *t;

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_users.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/regward.db", t->dir);
	t->db = db_open(t->path, t->err, sizeof(t->err));
	if (t->db == NULL)
		fail_msg("db_open: %s", t->err);
	*state = t;
	return 0;
}

static int
test_users_teardown(void **state)
{
	struct test_users *t = *state;
	const char *sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[128];
	size_t i;

	db_close(t->db);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, sfx[i]);
		unlink(p);
	}
	rmdir(t->dir);
	free(t);
	return 0;
}

/* Hash pw with yescrypt into a static buffer (one at a time). */
static const char *
test_users_hash(const char *pw)
{
	static char h[DB_PRINCIPAL_HASH_MAX];
	char err[256];

	if (db_principal_hash(pw, h, sizeof(h), err, sizeof(err)) == -1)
		fail_msg("db_principal_hash: %s", err);
	return h;
}

/* A bcrypt ($2b$, cost 4) hash of pw made with libxcrypt directly. */
static void
test_users_bcrypt(const char *pw, char *out, size_t len)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;

	assert_non_null(
	    crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
	cd = calloc(1, sizeof(*cd));
	assert_non_null(cd);
	h = crypt_rn(pw, salt, cd, sizeof(*cd));
	assert_non_null(h);
	assert_true(strlen(h) < len);
	memcpy(out, h, strlen(h) + 1);
	free(cd);
}

static void
test_users_add_ok(struct test_users *t, enum db_principal_kind kind,
    const char *name, const char *pw, const char *const *roles, size_t nroles)
{
	enum db_principal_status st;

	st = db_principal_add(t->db, kind, name, test_users_hash(pw), roles,
	    nroles, t->err, sizeof(t->err));
	if (st != DB_PRINCIPAL_OK)
		fail_msg("add %s: %d %s", name, st, t->err);
}

static enum db_principal_verdict
test_users_verify(struct test_users *t, enum db_principal_kind kind,
    const char *name, const char *pw)
{
	return db_principal_verify(
	    t->db, kind, name, pw, NULL, t->err, sizeof(t->err));
}

static void
test_users_schema(void **state)
{
	struct test_users *t = *state;
	struct db_principal *p = NULL;
	const char *roles[] = {"ci"};
	int i;

	assert_true(db_schema_version(t->db) >= 2);
	test_users_add_ok(t, DB_PRINCIPAL_USER, "alice", "pw", roles, 1);
	/* Reopening migrates nothing and keeps the data. */
	for (i = 0; i < 2; i++) {
		db_close(t->db);
		t->db = db_open(t->path, t->err, sizeof(t->err));
		if (t->db == NULL)
			fail_msg("reopen: %s", t->err);
		assert_true(db_schema_version(t->db) >= 2);
	}
	assert_int_equal(db_principal_get(t->db, DB_PRINCIPAL_USER, "alice", &p,
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(p->nroles, 1);
	db_principal_free(p);
}

static void
test_users_add_get(void **state)
{
	struct test_users *t = *state;
	struct db_principal *p = NULL;
	const char *roles[] = {"push", "admin", "push"};
	char h[DB_PRINCIPAL_HASH_MAX];
	time_t now = time(NULL);

	snprintf(h, sizeof(h), "%s", test_users_hash("s3cret"));
	assert_int_equal(db_principal_add(t->db, DB_PRINCIPAL_USER, "alice", h,
			     roles, 3, t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(db_principal_get(t->db, DB_PRINCIPAL_USER, "alice", &p,
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_non_null(p);
	assert_int_equal(p->kind, DB_PRINCIPAL_USER);
	assert_string_equal(p->name, "alice");
	assert_string_equal(p->hash, h);
	assert_int_equal(p->nroles, 2); /* duplicate collapsed, sorted */
	assert_string_equal(p->roles[0], "admin");
	assert_string_equal(p->roles[1], "push");
	assert_int_equal(p->disabled, 0);
	assert_true(p->created_at >= now - 5 && p->created_at <= now + 5);
	assert_true(p->updated_at >= p->created_at);
	db_principal_free(p);

	/* Users and robots are separate name spaces. */
	p = (struct db_principal *)1;
	assert_int_equal(db_principal_get(t->db, DB_PRINCIPAL_ROBOT, "alice",
			     &p, t->err, sizeof(t->err)),
	    DB_PRINCIPAL_NOT_FOUND);
	assert_null(p);
	assert_non_null(strstr(t->err, "no robot named alice"));
	test_users_add_ok(t, DB_PRINCIPAL_ROBOT, "alice", "x", NULL, 0);
}

static void
test_users_duplicate(void **state)
{
	struct test_users *t = *state;
	const char *roles[] = {"a"};

	test_users_add_ok(t, DB_PRINCIPAL_USER, "bob", "pw1", roles, 1);
	assert_int_equal(
	    db_principal_add(t->db, DB_PRINCIPAL_USER, "bob",
		test_users_hash("pw2"), NULL, 0, t->err, sizeof(t->err)),
	    DB_PRINCIPAL_EXISTS);
	assert_non_null(strstr(t->err, "user bob already exists"));
	/* The first one is untouched. */
	assert_int_equal(test_users_verify(t, DB_PRINCIPAL_USER, "bob", "pw1"),
	    DB_PRINCIPAL_VERIFY_OK);
	assert_int_equal(test_users_verify(t, DB_PRINCIPAL_USER, "bob", "pw2"),
	    DB_PRINCIPAL_VERIFY_BAD);
}

struct test_users_name {
	const char *s;
	int valid;
};

/* clang-format off */
static const struct test_users_name test_users_names[] = {
	{ "a", 1 }, { "0", 1 }, { "alice", 1 }, { "ci-bot.v2_x", 1 },
	{ "0123456789012345678901234567890123456789012345678901234567890123", 1 },
	{ "01234567890123456789012345678901234567890123456789012345678901234", 0 },
	{ "", 0 }, { "Alice", 0 }, { "-a", 0 }, { ".a", 0 }, { "_a", 0 },
	{ "a b", 0 }, { "a/b", 0 }, { "a:b", 0 }, { "a\n", 0 }, { "\xc3\xa9", 0 },
	{ "robot$x", 0 }, { "a@b", 0 }, { "*", 0 },
};
/* clang-format on */

static void
test_users_name_rules(void **state)
{
	struct test_users *t = *state;
	const struct test_users_name *c;
	const char *role[1];
	char h[DB_PRINCIPAL_HASH_MAX];
	enum db_principal_status want;
	size_t i;

	snprintf(h, sizeof(h), "%s", test_users_hash("pw"));
	for (i = 0; i < sizeof(test_users_names) / sizeof(*c); i++) {
		c = &test_users_names[i];
		if (db_principal_name_valid(
			"user name", c->s, t->err, sizeof(t->err)) != c->valid)
			fail_msg("name \"%s\": want valid=%d", c->s, c->valid);
		if (!c->valid)
			assert_non_null(strstr(t->err, "user name"));
		want = c->valid ? DB_PRINCIPAL_OK : DB_PRINCIPAL_INVALID;
		/* As a user name... */
		if (db_principal_add(t->db, DB_PRINCIPAL_USER, c->s, h, NULL, 0,
			t->err, sizeof(t->err)) != want)
			fail_msg("add user \"%s\": %s", c->s, t->err);
		/* ...and as a role. */
		role[0] = c->s;
		if (db_principal_add(t->db, DB_PRINCIPAL_ROBOT, "r", h, role, 1,
			t->err, sizeof(t->err)) != want)
			fail_msg("add role \"%s\": %s", c->s, t->err);
		if (c->valid)
			assert_int_equal(
			    db_principal_delete(t->db, DB_PRINCIPAL_ROBOT, "r",
				t->err, sizeof(t->err)),
			    DB_PRINCIPAL_OK);
		else
			assert_non_null(strstr(t->err, "role"));
	}
}

static void
test_users_yescrypt(void **state)
{
	struct test_users *t = *state;
	char a[DB_PRINCIPAL_HASH_MAX], b[DB_PRINCIPAL_HASH_MAX];
	char big[DB_PRINCIPAL_SECRET_MAX + 2];

	assert_int_equal(
	    db_principal_hash("pw", a, sizeof(a), t->err, sizeof(t->err)), 0);
	assert_int_equal(
	    db_principal_hash("pw", b, sizeof(b), t->err, sizeof(t->err)), 0);
	assert_memory_equal(a, "$y$", 3);
	assert_string_not_equal(a, b); /* a fresh salt each time */
	assert_int_equal(db_principal_hash_valid(a, t->err, sizeof(t->err)), 1);
	assert_int_equal(
	    db_principal_hash("", a, sizeof(a), t->err, sizeof(t->err)), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(
	    db_principal_hash(big, a, sizeof(a), t->err, sizeof(t->err)), -1);
	/* Too small an output buffer is an error, not a truncation. */
	assert_int_equal(
	    db_principal_hash("pw", a, 20, t->err, sizeof(t->err)), -1);
}

static void
test_users_verify_cases(void **state)
{
	struct test_users *t = *state;
	struct db_principal *p = NULL;
	const char *roles[] = {"ci"};

	test_users_add_ok(t, DB_PRINCIPAL_USER, "alice", "correct", roles, 1);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "correct"),
	    DB_PRINCIPAL_VERIFY_OK);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "Correct"),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "correct\n"),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(test_users_verify(t, DB_PRINCIPAL_USER, "alice", ""),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(test_users_verify(t, DB_PRINCIPAL_USER, "alice", NULL),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_ROBOT, "alice", "correct"),
	    DB_PRINCIPAL_VERIFY_UNKNOWN);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "nobody", "correct"),
	    DB_PRINCIPAL_VERIFY_UNKNOWN);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "Bad Name", "correct"),
	    DB_PRINCIPAL_VERIFY_UNKNOWN);

	/* out: the principal with its roles, never its hash. */
	p = (struct db_principal *)1;
	assert_int_equal(db_principal_verify(t->db, DB_PRINCIPAL_USER, "alice",
			     "correct", &p, t->err, sizeof(t->err)),
	    DB_PRINCIPAL_VERIFY_OK);
	assert_non_null(p);
	assert_null(p->hash);
	assert_int_equal(p->nroles, 1);
	assert_string_equal(p->roles[0], "ci");
	db_principal_free(p);
	p = (struct db_principal *)1;
	assert_int_equal(db_principal_verify(t->db, DB_PRINCIPAL_USER, "alice",
			     "wrong", &p, t->err, sizeof(t->err)),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_null(p);

	/* Disabled: _DISABLED with the right password, _BAD otherwise. */
	assert_int_equal(db_principal_set_disabled(t->db, DB_PRINCIPAL_USER,
			     "alice", 1, t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "correct"),
	    DB_PRINCIPAL_VERIFY_DISABLED);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "wrong"),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(db_principal_get(t->db, DB_PRINCIPAL_USER, "alice", &p,
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(p->disabled, 1);
	db_principal_free(p);
	assert_int_equal(db_principal_set_disabled(t->db, DB_PRINCIPAL_USER,
			     "alice", 0, t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "correct"),
	    DB_PRINCIPAL_VERIFY_OK);
	assert_int_equal(db_principal_set_disabled(t->db, DB_PRINCIPAL_USER,
			     "nobody", 1, t->err, sizeof(t->err)),
	    DB_PRINCIPAL_NOT_FOUND);
}

static double
test_users_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * An unknown name still costs one hash: its verification takes a fair
 * share of a known name's (a ratio, not a time, so slow machines and
 * sanitizers do not matter). Without the dummy hash it is ~1000x faster.
 */
static void
test_users_unknown_costs_a_hash(void **state)
{
	struct test_users *t = *state;
	double known = 1e9, unknown = 1e9, t0, d;
	int i;

	test_users_add_ok(t, DB_PRINCIPAL_USER, "alice", "pw", NULL, 0);
	for (i = 0; i < 3; i++) {
		t0 = test_users_now();
		assert_int_equal(
		    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "wrong"),
		    DB_PRINCIPAL_VERIFY_BAD);
		if ((d = test_users_now() - t0) < known)
			known = d;
		t0 = test_users_now();
		assert_int_equal(
		    test_users_verify(t, DB_PRINCIPAL_USER, "mallory", "wrong"),
		    DB_PRINCIPAL_VERIFY_UNKNOWN);
		if ((d = test_users_now() - t0) < unknown)
			unknown = d;
	}
	if (unknown < known / 5)
		fail_msg("unknown user verified in %.6fs, known in %.6fs",
		    unknown, known);
}

static void
test_users_bcrypt_hash(void **state)
{
	struct test_users *t = *state;
	char h[128];

	test_users_bcrypt("bcrypt pw", h, sizeof(h));
	assert_memory_equal(h, "$2b$04$", 7);
	assert_int_equal(db_principal_hash_valid(h, t->err, sizeof(t->err)), 1);
	assert_int_equal(db_principal_add(t->db, DB_PRINCIPAL_USER, "carol", h,
			     NULL, 0, t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "carol", "bcrypt pw"),
	    DB_PRINCIPAL_VERIFY_OK);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "carol", "bcrypt PW"),
	    DB_PRINCIPAL_VERIFY_BAD);
	/* Changing the password replaces the hash with yescrypt. */
	assert_int_equal(
	    db_principal_set_hash(t->db, DB_PRINCIPAL_USER, "carol",
		test_users_hash("new pw"), t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "carol", "bcrypt pw"),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "carol", "new pw"),
	    DB_PRINCIPAL_VERIFY_OK);
}

struct test_users_hashcase {
	const char *hash;
	const char *type; /* in the message, NULL when valid */
};

/* clang-format off */
static const struct test_users_hashcase test_users_hashes[] = {
	{ "$2y$05$m7l3COtZ3A9KP4uhfmdvjeMjNrzavDy6nY5WMX9pzwgG1WvYu0gVC", NULL },
	{ "$2a$10$m7l3COtZ3A9KP4uhfmdvjeMjNrzavDy6nY5WMX9pzwgG1WvYu0gVC", NULL },
	{ "$y$j9T$gHptTFS92jIZvIhktStnW1$g1KpLOJfJUxlSADrtB17V6g8rpYAMUz4y4zRxxGmcU0", NULL },
	{ "$2x$05$m7l3COtZ3A9KP4uhfmdvjeMjNrzavDy6nY5WMX9pzwgG1WvYu0gVC", "malformed bcrypt" },
	{ "$2y$05$m7l3COtZ3A9KP4uhfmdvjeMjNrzavDy6nY5WMX9pzwgG1WvYu0gV", "malformed bcrypt" },
	{ "$2y$32$m7l3COtZ3A9KP4uhfmdvjeMjNrzavDy6nY5WMX9pzwgG1WvYu0gVC", "malformed bcrypt" },
	{ "$y$j9T$gHptTFS92jIZvIhktStnW1$g1KpLOJfJUxlSADrtB17V6g8rp", "malformed yescrypt" },
	{ "$apr1$G.hvEbaE$/gwZUDfrmwC9oqhwaH1c40", "Apache MD5" },
	{ "{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=", "SHA-1" },
	{ "I9G1FqG/QwGwo", "DES crypt" },
	{ "$1$abc$def", "MD5-crypt" },
	{ "hunter2", "plain text" },
	{ "", "empty" },
};
/* clang-format on */

static void
test_users_hash_types(void **state)
{
	struct test_users *t = *state;
	const struct test_users_hashcase *c;
	size_t i;

	for (i = 0; i < sizeof(test_users_hashes) / sizeof(*c); i++) {
		c = &test_users_hashes[i];
		t->err[0] = '\0';
		if (db_principal_hash_valid(c->hash, t->err, sizeof(t->err)) !=
		    (c->type == NULL))
			fail_msg(
			    "hash %s: want valid=%d", c->hash, c->type == NULL);
		if (c->type == NULL)
			continue;
		if (strstr(t->err, c->type) == NULL)
			fail_msg("hash %s: message \"%s\" lacks \"%s\"",
			    c->hash, t->err, c->type);
		if (c->hash[0] != '\0' && strstr(t->err, c->hash) != NULL)
			fail_msg("message shows the hash: %s", t->err);
		assert_int_equal(db_principal_add(t->db, DB_PRINCIPAL_USER, "x",
				     c->hash, NULL, 0, t->err, sizeof(t->err)),
		    DB_PRINCIPAL_INVALID);
	}
}

static void
test_users_delete(void **state)
{
	struct test_users *t = *state;
	struct db_principal *p = NULL;
	const char *roles[] = {"admin", "ci"};

	test_users_add_ok(t, DB_PRINCIPAL_USER, "alice", "pw", roles, 2);
	assert_int_equal(db_principal_delete(t->db, DB_PRINCIPAL_USER, "alice",
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(db_principal_get(t->db, DB_PRINCIPAL_USER, "alice", &p,
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_NOT_FOUND);
	assert_int_equal(test_users_verify(t, DB_PRINCIPAL_USER, "alice", "pw"),
	    DB_PRINCIPAL_VERIFY_UNKNOWN);
	/*
	 * The roles went with it: the re-added row reuses the rowid, so
	 * roles left behind would show up here.
	 */
	test_users_add_ok(t, DB_PRINCIPAL_USER, "alice", "pw", NULL, 0);
	assert_int_equal(db_principal_get(t->db, DB_PRINCIPAL_USER, "alice", &p,
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(p->nroles, 0);
	db_principal_free(p);
	assert_int_equal(db_principal_delete(t->db, DB_PRINCIPAL_USER, "nobody",
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_NOT_FOUND);
	assert_int_equal(db_principal_delete(t->db, DB_PRINCIPAL_ROBOT, "alice",
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_NOT_FOUND);
}

struct test_users_seen {
	char names[8][DB_PRINCIPAL_NAME_MAX + 2]; /* name and "+" */
	size_t n, stop_after;
	int hash_seen;
};

static int
test_users_list_cb(const struct db_principal *p, void *arg)
{
	struct test_users_seen *s = arg;

	if (p->hash != NULL)
		s->hash_seen = 1;
	if (s->n < 8)
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s%s", p->name,
		    p->nroles > 0 ? "+" : "");
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after ? -1 : 0;
}

static void
test_users_list(void **state)
{
	struct test_users *t = *state;
	struct test_users_seen s;
	const char *roles[] = {"r"};

	test_users_add_ok(t, DB_PRINCIPAL_USER, "carol", "pw", NULL, 0);
	test_users_add_ok(t, DB_PRINCIPAL_USER, "alice", "pw", roles, 1);
	test_users_add_ok(t, DB_PRINCIPAL_USER, "bob", "pw", NULL, 0);
	test_users_add_ok(t, DB_PRINCIPAL_ROBOT, "bot", "pw", roles, 1);

	memset(&s, 0, sizeof(s));
	assert_int_equal(db_principal_list(t->db, DB_PRINCIPAL_USER,
			     test_users_list_cb, &s, t->err, sizeof(t->err)),
	    0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.hash_seen, 0);
	assert_string_equal(s.names[0], "alice+");
	assert_string_equal(s.names[1], "bob");
	assert_string_equal(s.names[2], "carol");

	memset(&s, 0, sizeof(s));
	assert_int_equal(db_principal_list(t->db, DB_PRINCIPAL_ROBOT,
			     test_users_list_cb, &s, t->err, sizeof(t->err)),
	    0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], "bot+");

	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(db_principal_list(t->db, DB_PRINCIPAL_USER,
			     test_users_list_cb, &s, t->err, sizeof(t->err)),
	    0);
	assert_int_equal(s.n, 1);
}

static void
test_users_set_hash(void **state)
{
	struct test_users *t = *state;

	test_users_add_ok(t, DB_PRINCIPAL_USER, "alice", "old", NULL, 0);
	assert_int_equal(
	    db_principal_set_hash(t->db, DB_PRINCIPAL_USER, "alice",
		test_users_hash("new"), t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "old"),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "new"),
	    DB_PRINCIPAL_VERIFY_OK);
	assert_int_equal(db_principal_set_hash(t->db, DB_PRINCIPAL_USER,
			     "alice", "$apr1$G.hvEbaE$/gwZUDfrmwC9oqhwaH1c40",
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_INVALID);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "new"),
	    DB_PRINCIPAL_VERIFY_OK);
	assert_int_equal(
	    db_principal_set_hash(t->db, DB_PRINCIPAL_USER, "nobody",
		test_users_hash("x"), t->err, sizeof(t->err)),
	    DB_PRINCIPAL_NOT_FOUND);
}

static void
test_users_import_valid(void **state)
{
	struct test_users *t = *state;
	struct db_principal_import c;
	struct db_principal *p = NULL;
	const char *admin[] = {"admin"}, *reader[] = {"reader"};
	const char *path = TEST_USERS_DIR "/valid/htpasswd-B.htpasswd";

	/* alice exists already: her hash is replaced, her roles kept. */
	test_users_add_ok(t, DB_PRINCIPAL_USER, "alice", "before", admin, 1);
	if (db_principal_import_htpasswd(
		t->db, path, reader, 1, &c, t->err, sizeof(t->err)) == -1)
		fail_msg("import: %s", t->err);
	assert_int_equal(c.added, 1);
	assert_int_equal(c.updated, 1);
	assert_int_equal(c.skipped, 4); /* a comment, three blank lines */
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "correct horse"),
	    DB_PRINCIPAL_VERIFY_OK);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "alice", "before"),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(
	    test_users_verify(t, DB_PRINCIPAL_USER, "bob", "b0b:pass"),
	    DB_PRINCIPAL_VERIFY_OK);
	assert_int_equal(test_users_verify(t, DB_PRINCIPAL_USER, "bob", "b0b"),
	    DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(db_principal_get(t->db, DB_PRINCIPAL_USER, "alice", &p,
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(p->nroles, 1);
	assert_string_equal(p->roles[0], "admin");
	assert_memory_equal(p->hash, "$2y$05$", 7);
	db_principal_free(p);
	assert_int_equal(db_principal_get(t->db, DB_PRINCIPAL_USER, "bob", &p,
			     t->err, sizeof(t->err)),
	    DB_PRINCIPAL_OK);
	assert_int_equal(p->nroles, 1);
	assert_string_equal(p->roles[0], "reader");
	db_principal_free(p);

	/* Again: all updated, none added. */
	assert_int_equal(db_principal_import_htpasswd(
			     t->db, path, NULL, 0, &c, t->err, sizeof(t->err)),
	    0);
	assert_int_equal(c.added, 0);
	assert_int_equal(c.updated, 2);

	/* A missing file names itself. */
	assert_int_equal(
	    db_principal_import_htpasswd(t->db, TEST_USERS_DIR "/no-such-file",
		NULL, 0, &c, t->err, sizeof(t->err)),
	    -1);
	assert_non_null(strstr(t->err, "no-such-file"));
	/* A bad role is refused before the file is read. */
	reader[0] = "Reader";
	assert_int_equal(db_principal_import_htpasswd(t->db, path, reader, 1,
			     &c, t->err, sizeof(t->err)),
	    -1);
	assert_non_null(strstr(t->err, "role"));
}

static int
test_users_count_cb(const struct db_principal *p, void *arg)
{
	(void)p;
	(*(size_t *)arg)++;
	return 0;
}

/* Check one invalid/NAME.htpasswd against its NAME.err. */
static void
test_users_import_invalid_one(struct test_users *t, const char *base)
{
	struct db_principal_import c;
	char path[512], errpath[512], line[512];
	const char *reader[] = {"reader"};
	size_t n = 0, checked = 0, len;
	FILE *f;

	snprintf(
	    path, sizeof(path), "%s/invalid/%s.htpasswd", TEST_USERS_DIR, base);
	snprintf(errpath, sizeof(errpath), "%s/invalid/%s.err", TEST_USERS_DIR,
	    base);
	c.added = 99;
	t->err[0] = '\0';
	if (db_principal_import_htpasswd(
		t->db, path, reader, 1, &c, t->err, sizeof(t->err)) != -1)
		fail_msg("%s: imported, want an error", path);
	assert_int_equal(c.added, 0);
	if (strncmp(t->err, path, strlen(path)) != 0)
		fail_msg(
		    "%s: error does not start with the path: %s", base, t->err);
	if (strchr(t->err, '\n') != NULL)
		fail_msg("%s: error is not one line", base);
	if ((f = fopen(errpath, "r")) == NULL)
		fail_msg("%s: missing", errpath);
	while (fgets(line, sizeof(line), f) != NULL) {
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (line[0] == '!' ? strstr(t->err, line + 1) != NULL
				   : strstr(t->err, line) == NULL)
			fail_msg(
			    "%s: error \"%s\" vs \"%s\"", base, t->err, line);
		checked++;
	}
	fclose(f);
	if (checked == 0)
		fail_msg("%s: empty", errpath);
	/* All or nothing: the good lines before the bad one are not in. */
	assert_int_equal(db_principal_list(t->db, DB_PRINCIPAL_USER,
			     test_users_count_cb, &n, t->err, sizeof(t->err)),
	    0);
	if (n != 0)
		fail_msg("%s: %zu users written by a failed import", base, n);
}

static void
test_users_import_invalid(void **state)
{
	struct test_users *t = *state;
	struct dirent *de;
	char base[256];
	size_t n = 0, len;
	DIR *d;

	d = opendir(TEST_USERS_DIR "/invalid");
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 10 || len - 9 >= sizeof(base) ||
		    strcmp(de->d_name + len - 9, ".htpasswd") != 0)
			continue;
		memcpy(base, de->d_name, len - 9);
		base[len - 9] = '\0';
		test_users_import_invalid_one(t, base);
		n++;
	}
	closedir(d);
	if (n < TEST_USERS_MIN_INVALID)
		fail_msg("only %zu invalid htpasswd cases", n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_users_schema, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_add_get, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_duplicate, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_name_rules, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_yescrypt, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_verify_cases, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(test_users_unknown_costs_a_hash,
		test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_bcrypt_hash, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_hash_types, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_delete, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_list, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_set_hash, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(
		test_users_import_valid, test_users_setup, test_users_teardown),
	    cmocka_unit_test_setup_teardown(test_users_import_invalid,
		test_users_setup, test_users_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
