/*
 * admin: "regward user ..." and "regward robot ..." — add, delete, list,
 * change passwords of, disable and import the principals in the database
 * named by the config. One table row per command says which arguments it
 * takes; db/users.c does the work.
 *
 * Secrets: a password is read from stdin (one line) or from the terminal
 * without echo, hashed, and wiped. A robot's secret is generated here,
 * printed once on stdout and wiped. Hashes are never printed.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "regward/config.h"
#include "regward/db.h"

#include "admin.h"

#define ADMIN_EXIT_OK 0
#define ADMIN_EXIT_FAIL 1
#define ADMIN_EXIT_USAGE 2

#define ADMIN_SECRET_BYTES 32 /* random bytes in a robot secret */
#define ADMIN_SECRET_PREFIX "rwr_"
#define ADMIN_ERR_MAX 1024

/* Arguments a command accepts (struct admin_cmd.opts). */
#define ADMIN_OPT_ROLE 0x01 /* --role ROLE, repeatable */
#define ADMIN_OPT_PASSWORD 0x02 /* --password-stdin, else the terminal */
#define ADMIN_OPT_JSON 0x04 /* --json */
#define ADMIN_OPT_NEED_ROLE 0x08 /* at least one --role */
#define ADMIN_OPT_CONFIRM 0x10 /* terminal: ask twice */

struct admin_args {
	const char *kind_word; /* "user" or "robot" */
	enum db_principal_kind kind;
	const struct admin_cmd *cmd;
	const char *cfg_path; /* -c FILE */
	const char *arg; /* NAME, or FILE for import-htpasswd */
	const char *roles[DB_PRINCIPAL_ROLES_MAX];
	size_t nroles;
	int password_stdin;
	int json;
	struct config *cfg; /* loaded by admin_main() */
	struct db *db;
};

struct admin_cmd {
	const char *kind; /* "user" or "robot" */
	const char *name;
	const char *usage; /* after "regward KIND NAME " */
	int has_arg; /* one positional argument */
	unsigned opts;
	int (*run)(struct admin_args *a);
};

static int admin_add(struct admin_args *a);
static int admin_del(struct admin_args *a);
static int admin_list(struct admin_args *a);
static int admin_passwd(struct admin_args *a);
static int admin_enable(struct admin_args *a);
static int admin_disable(struct admin_args *a);
static int admin_verify(struct admin_args *a);
static int admin_import(struct admin_args *a);
static int admin_robot_add(struct admin_args *a);

/* clang-format off */
static const struct admin_cmd admin_cmds[] = {
	{ "user", "add", "NAME --role ROLE [--role ROLE...] [--password-stdin]",
	    1, ADMIN_OPT_ROLE | ADMIN_OPT_NEED_ROLE | ADMIN_OPT_PASSWORD |
	    ADMIN_OPT_CONFIRM, admin_add },
	{ "user", "del", "NAME", 1, 0, admin_del },
	{ "user", "list", "[--json]", 0, ADMIN_OPT_JSON, admin_list },
	{ "user", "passwd", "NAME [--password-stdin]", 1,
	    ADMIN_OPT_PASSWORD | ADMIN_OPT_CONFIRM, admin_passwd },
	{ "user", "import-htpasswd", "FILE [--role ROLE...]", 1,
	    ADMIN_OPT_ROLE, admin_import },
	{ "user", "disable", "NAME", 1, 0, admin_disable },
	{ "user", "enable", "NAME", 1, 0, admin_enable },
	{ "user", "verify", "NAME [--password-stdin]", 1, ADMIN_OPT_PASSWORD,
	    admin_verify },
	{ "robot", "add", "NAME --role ROLE [--role ROLE...]", 1,
	    ADMIN_OPT_ROLE | ADMIN_OPT_NEED_ROLE, admin_robot_add },
	{ "robot", "del", "NAME", 1, 0, admin_del },
	{ "robot", "list", "[--json]", 0, ADMIN_OPT_JSON, admin_list },
	{ "robot", "disable", "NAME", 1, 0, admin_disable },
	{ "robot", "enable", "NAME", 1, 0, admin_enable },
	{ "robot", "verify", "NAME [--password-stdin]", 1, ADMIN_OPT_PASSWORD,
	    admin_verify },
};
/* clang-format on */
#define ADMIN_NCMDS (sizeof(admin_cmds) / sizeof(admin_cmds[0]))

void
admin_usage(FILE *f)
{
	size_t i;

	for (i = 0; i < ADMIN_NCMDS; i++)
		fprintf(f, "       regward %s %s %s -c FILE\n",
		    admin_cmds[i].kind, admin_cmds[i].name,
		    admin_cmds[i].usage);
}

/* Print "regward: KIND CMD: message" on stderr. */
static void __attribute__((format(printf, 2, 3)))
admin_err(const struct admin_args *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "regward: %s %s: ", a->kind_word,
	    a->cmd != NULL ? a->cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Parse argv (after "KIND CMD") into a. Returns 0, or -1 after printing
 * one line naming the argument at fault.
 */
static int
admin_parse(struct admin_args *a, int argc, char **argv)
{
	const struct admin_cmd *c = a->cmd;
	const char *s, *val;
	char err[256];
	int i;

	for (i = 0; i < argc; i++) {
		s = argv[i];
		val = NULL;
		if (strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0 ||
		    strcmp(s, "--role") == 0) {
			if (i + 1 >= argc) {
				admin_err(a, "%s: missing value", s);
				return -1;
			}
			val = argv[++i];
		} else if (strncmp(s, "--config=", 9) == 0) {
			s = "-c";
			val = argv[i] + 9;
		} else if (strncmp(s, "--role=", 7) == 0) {
			s = "--role";
			val = argv[i] + 7;
		}
		if (strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) {
			a->cfg_path = val;
		} else if (strcmp(s, "--role") == 0 &&
		    (c->opts & ADMIN_OPT_ROLE)) {
			if (!db_principal_name_valid(
				"--role", val, err, sizeof(err))) {
				admin_err(a, "%s", err);
				return -1;
			}
			if (a->nroles >= DB_PRINCIPAL_ROLES_MAX) {
				admin_err(a, "--role: more than %d roles",
				    DB_PRINCIPAL_ROLES_MAX);
				return -1;
			}
			a->roles[a->nroles++] = val;
		} else if (strcmp(s, "--password-stdin") == 0 &&
		    (c->opts & ADMIN_OPT_PASSWORD)) {
			a->password_stdin = 1;
		} else if (strcmp(s, "--json") == 0 &&
		    (c->opts & ADMIN_OPT_JSON)) {
			a->json = 1;
		} else if (s[0] != '-' && c->has_arg && a->arg == NULL) {
			a->arg = s;
		} else {
			admin_err(a, "unexpected argument: %s", s);
			return -1;
		}
	}
	if (a->cfg_path == NULL) {
		admin_err(a, "missing -c FILE");
		return -1;
	}
	if (c->has_arg && a->arg == NULL) {
		admin_err(a, "missing %s",
		    strcmp(c->name, "import-htpasswd") == 0 ? "FILE" : "NAME");
		return -1;
	}
	if ((c->opts & ADMIN_OPT_NEED_ROLE) && a->nroles == 0) {
		admin_err(a, "missing --role ROLE");
		return -1;
	}
	if (c->has_arg && strcmp(c->name, "import-htpasswd") != 0 &&
	    !db_principal_name_valid(
		a->kind == DB_PRINCIPAL_ROBOT ? "robot name" : "user name",
		a->arg, err, sizeof(err))) {
		admin_err(a, "%s", err);
		return -1;
	}
	if ((c->opts & ADMIN_OPT_PASSWORD) && !a->password_stdin &&
	    !isatty(STDIN_FILENO)) {
		admin_err(a,
		    "--password-stdin is required when stdin is not a "
		    "terminal");
		return -1;
	}
	return 0;
}

/*
 * Read one line from fd into buf[0..len) without stdio (so no copy stays
 * in a stdio buffer), stopping at '\n' (dropped, as is a '\r' before it).
 * Returns the length, or -1 with a reason in err.
 */
static ssize_t
admin_read_line(int fd, char *buf, size_t len, char *err, size_t errlen)
{
	size_t n = 0;
	ssize_t r;
	char ch;

	for (;;) {
		r = read(fd, &ch, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s", strerror(errno));
			return -1;
		}
		if (r == 0 || ch == '\n')
			break;
		if (ch == '\0') {
			snprintf(err, errlen, "NUL byte in password");
			return -1;
		}
		if (n + 1 >= len) {
			snprintf(err, errlen, "longer than %zu bytes", len - 2);
			return -1;
		}
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Prompt on stderr and read a line from the terminal without echo. */
static ssize_t
admin_prompt(
    const char *prompt, char *buf, size_t len, char *err, size_t errlen)
{
	struct termios old, quiet;
	ssize_t n;

	if (tcgetattr(STDIN_FILENO, &old) == -1) {
		snprintf(err, errlen, "terminal: %s", strerror(errno));
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == -1) {
		snprintf(err, errlen, "terminal: %s", strerror(errno));
		return -1;
	}
	n = admin_read_line(STDIN_FILENO, buf, len, err, errlen);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return n;
}

/*
 * Get the password for a into pw[0..DB_PRINCIPAL_SECRET_MAX + 2): one
 * line of stdin with --password-stdin, else asked on the terminal (twice
 * when the command sets ADMIN_OPT_CONFIRM). Empty is refused. Returns 0,
 * or -1 after printing the reason. The caller wipes pw.
 */
static int
admin_password(struct admin_args *a, char *pw, size_t len)
{
	char again[DB_PRINCIPAL_SECRET_MAX + 2];
	char prompt[128], err[128];
	ssize_t n;
	int rc = -1;

	if (a->password_stdin) {
		if ((n = admin_read_line(
			 STDIN_FILENO, pw, len, err, sizeof(err))) == -1) {
			admin_err(a, "password on stdin: %s", err);
			goto out;
		}
	} else {
		snprintf(prompt, sizeof(prompt),
		    "Password for %s %s: ", a->kind_word, a->arg);
		if ((n = admin_prompt(prompt, pw, len, err, sizeof(err))) ==
		    -1) {
			admin_err(a, "password: %s", err);
			goto out;
		}
	}
	if (n == 0) {
		admin_err(a, "password%s: empty password refused",
		    a->password_stdin ? " on stdin" : "");
		goto out;
	}
	if (!a->password_stdin && (a->cmd->opts & ADMIN_OPT_CONFIRM)) {
		if (admin_prompt("Retype password: ", again, sizeof(again), err,
			sizeof(err)) == -1) {
			admin_err(a, "password: %s", err);
			goto out;
		}
		if (strcmp(again, pw) != 0) {
			admin_err(a, "password: the two entries differ");
			goto out;
		}
	}
	rc = 0;
out:
	OPENSSL_cleanse(again, sizeof(again));
	return rc;
}

/* Map a db status to an exit code, printing err unless it is OK. */
static int
admin_status(struct admin_args *a, enum db_principal_status st, const char *err)
{
	switch (st) {
	case DB_PRINCIPAL_OK:
		return ADMIN_EXIT_OK;
	case DB_PRINCIPAL_ERROR:
		admin_err(a, "%s: %s", a->cfg->database, err);
		return ADMIN_EXIT_FAIL;
	case DB_PRINCIPAL_INVALID:
		admin_err(a, "%s", err);
		return ADMIN_EXIT_USAGE;
	case DB_PRINCIPAL_EXISTS:
	case DB_PRINCIPAL_NOT_FOUND:
		break;
	}
	admin_err(a, "%s", err);
	return ADMIN_EXIT_FAIL;
}

/* Read a password, hash it into hash[DB_PRINCIPAL_HASH_MAX]. 0 or exit. */
static int
admin_password_hash(struct admin_args *a, char *hash)
{
	char pw[DB_PRINCIPAL_SECRET_MAX + 2], err[256];
	int rc = ADMIN_EXIT_FAIL;

	if (admin_password(a, pw, sizeof(pw)) == -1)
		goto out;
	if (db_principal_hash(
		pw, hash, DB_PRINCIPAL_HASH_MAX, err, sizeof(err)) == -1) {
		admin_err(a, "%s", err);
		goto out;
	}
	rc = ADMIN_EXIT_OK;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	return rc;
}

static int
admin_add(struct admin_args *a)
{
	char hash[DB_PRINCIPAL_HASH_MAX], err[ADMIN_ERR_MAX];
	enum db_principal_status st;
	int rc;

	if ((rc = admin_password_hash(a, hash)) != ADMIN_EXIT_OK)
		goto out;
	st = db_principal_add(a->db, a->kind, a->arg, hash, a->roles, a->nroles,
	    err, sizeof(err));
	rc = admin_status(a, st, err);
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

static int
admin_passwd(struct admin_args *a)
{
	char hash[DB_PRINCIPAL_HASH_MAX], err[ADMIN_ERR_MAX];
	struct db_principal *p = NULL;
	enum db_principal_status st;
	int rc;

	/* Say "no such user" before asking for a password. */
	st = db_principal_get(a->db, a->kind, a->arg, &p, err, sizeof(err));
	db_principal_free(p);
	if (st != DB_PRINCIPAL_OK)
		return admin_status(a, st, err);
	if ((rc = admin_password_hash(a, hash)) != ADMIN_EXIT_OK)
		goto out;
	st = db_principal_set_hash(
	    a->db, a->kind, a->arg, hash, err, sizeof(err));
	rc = admin_status(a, st, err);
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

static int
admin_del(struct admin_args *a)
{
	char err[ADMIN_ERR_MAX];

	return admin_status(a,
	    db_principal_delete(a->db, a->kind, a->arg, err, sizeof(err)), err);
}

static int
admin_enable(struct admin_args *a)
{
	char err[ADMIN_ERR_MAX];

	return admin_status(a,
	    db_principal_set_disabled(
		a->db, a->kind, a->arg, 0, err, sizeof(err)),
	    err);
}

static int
admin_disable(struct admin_args *a)
{
	char err[ADMIN_ERR_MAX];

	return admin_status(a,
	    db_principal_set_disabled(
		a->db, a->kind, a->arg, 1, err, sizeof(err)),
	    err);
}

static int
admin_verify(struct admin_args *a)
{
	char pw[DB_PRINCIPAL_SECRET_MAX + 2], err[ADMIN_ERR_MAX];
	enum db_principal_verdict v = DB_PRINCIPAL_VERIFY_ERROR;
	int rc = ADMIN_EXIT_FAIL;

	if (admin_password(a, pw, sizeof(pw)) == -1)
		goto out;
	v = db_principal_verify(
	    a->db, a->kind, a->arg, pw, NULL, err, sizeof(err));
	switch (v) {
	case DB_PRINCIPAL_VERIFY_OK:
		printf("ok\n");
		rc = ADMIN_EXIT_OK;
		break;
	case DB_PRINCIPAL_VERIFY_BAD:
		admin_err(a, "%s %s: wrong password", a->kind_word, a->arg);
		break;
	case DB_PRINCIPAL_VERIFY_UNKNOWN:
		admin_err(a, "no %s named %s", a->kind_word, a->arg);
		break;
	case DB_PRINCIPAL_VERIFY_DISABLED:
		admin_err(a, "%s %s: disabled", a->kind_word, a->arg);
		break;
	case DB_PRINCIPAL_VERIFY_ERROR:
		admin_err(a, "%s: %s", a->cfg->database, err);
		break;
	}
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	return rc;
}

static int
admin_import(struct admin_args *a)
{
	struct db_principal_import counts;
	char err[ADMIN_ERR_MAX];

	if (db_principal_import_htpasswd(a->db, a->arg, a->roles, a->nroles,
		&counts, err, sizeof(err)) == -1) {
		admin_err(a, "%s", err);
		return ADMIN_EXIT_FAIL;
	}
	printf("%s: %zu added, %zu updated, %zu skipped\n", a->arg,
	    counts.added, counts.updated, counts.skipped);
	return ADMIN_EXIT_OK;
}

/*
 * Make a robot secret: ADMIN_SECRET_PREFIX and ADMIN_SECRET_BYTES random
 * bytes in unpadded base64url, into out[0..len). Returns 0 or -1.
 */
static int
admin_robot_secret(char *out, size_t len)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char rnd[ADMIN_SECRET_BYTES];
	size_t i, o, plen = strlen(ADMIN_SECRET_PREFIX);
	unsigned v;
	int bits = 0, rc = -1;

	if (len < plen + (ADMIN_SECRET_BYTES * 8 + 5) / 6 + 1 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	memcpy(out, ADMIN_SECRET_PREFIX, plen);
	o = plen;
	v = 0;
	for (i = 0; i < sizeof(rnd); i++) {
		v = (v << 8) | rnd[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url[(v >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		out[o++] = b64url[(v << (6 - bits)) & 0x3f];
	out[o] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	v = 0;
	return rc;
}

static int
admin_robot_add(struct admin_args *a)
{
	char secret[128], hash[DB_PRINCIPAL_HASH_MAX], err[ADMIN_ERR_MAX];
	enum db_principal_status st;
	int rc = ADMIN_EXIT_FAIL;

	if (admin_robot_secret(secret, sizeof(secret)) == -1) {
		admin_err(a, "cannot generate a secret (RAND_bytes)");
		goto out;
	}
	if (db_principal_hash(secret, hash, sizeof(hash), err, sizeof(err)) ==
	    -1) {
		admin_err(a, "%s", err);
		goto out;
	}
	st = db_principal_add(a->db, a->kind, a->arg, hash, a->roles, a->nroles,
	    err, sizeof(err));
	if ((rc = admin_status(a, st, err)) != ADMIN_EXIT_OK)
		goto out;
	/* The only time the secret is shown: stdout, one line. */
	if (printf("%s\n", secret) < 0 || fflush(stdout) == EOF) {
		admin_err(a,
		    "stdout: %s; the secret is lost, delete and "
		    "add the robot again",
		    strerror(errno));
		rc = ADMIN_EXIT_FAIL;
	}
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

/* "2024-05-01T10:00:00Z", or "-" for a time gmtime_r cannot take. */
static const char *
admin_time(long long t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

static int
admin_list_text_cb(const struct db_principal *p, void *arg)
{
	char created[32];
	size_t i;

	(void)arg;
	printf("%s\t%s\t", p->name, db_principal_kind_name(p->kind));
	for (i = 0; i < p->nroles; i++)
		printf("%s%s", i > 0 ? "," : "", p->roles[i]);
	printf("%s\t%s\t%s\n", p->nroles == 0 ? "-" : "",
	    p->disabled ? "yes" : "no",
	    admin_time(p->created_at, created, sizeof(created)));
	return 0;
}

static int
admin_list_json_cb(const struct db_principal *p, void *arg)
{
	json_t *arr = arg, *o, *roles;
	char created[32], updated[32];
	size_t i;

	if ((roles = json_array()) == NULL)
		return -1;
	for (i = 0; i < p->nroles; i++)
		json_array_append_new(roles, json_string(p->roles[i]));
	o = json_pack("{s:s, s:s, s:o, s:b, s:s, s:s}", "name", p->name, "kind",
	    db_principal_kind_name(p->kind), "roles", roles, "disabled",
	    p->disabled, "created",
	    admin_time(p->created_at, created, sizeof(created)), "updated",
	    admin_time(p->updated_at, updated, sizeof(updated)));
	if (o == NULL || json_array_append_new(arr, o) == -1)
		return -1;
	return 0;
}

static int
admin_list(struct admin_args *a)
{
	json_t *arr = NULL;
	char err[ADMIN_ERR_MAX];
	int rc = ADMIN_EXIT_FAIL;

	if (a->json) {
		if ((arr = json_array()) == NULL) {
			admin_err(a, "out of memory");
			goto out;
		}
		if (db_principal_list(a->db, a->kind, admin_list_json_cb, arr,
			err, sizeof(err)) == -1) {
			admin_err(a, "%s: %s", a->cfg->database, err);
			goto out;
		}
		if (json_dumpf(arr, stdout, JSON_INDENT(2)) == -1) {
			admin_err(a, "stdout: cannot write");
			goto out;
		}
		putchar('\n');
	} else {
		printf("NAME\tKIND\tROLES\tDISABLED\tCREATED\n");
		if (db_principal_list(a->db, a->kind, admin_list_text_cb, NULL,
			err, sizeof(err)) == -1) {
			admin_err(a, "%s: %s", a->cfg->database, err);
			goto out;
		}
	}
	if (fflush(stdout) == EOF) {
		admin_err(a, "stdout: %s", strerror(errno));
		goto out;
	}
	rc = ADMIN_EXIT_OK;
out:
	json_decref(arr);
	return rc;
}

int
admin_main(int argc, char **argv)
{
	struct admin_args a;
	char err[ADMIN_ERR_MAX];
	size_t i;
	int rc = ADMIN_EXIT_USAGE;

	memset(&a, 0, sizeof(a));
	a.kind_word = argv[0];
	a.kind = strcmp(argv[0], "robot") == 0 ? DB_PRINCIPAL_ROBOT
					       : DB_PRINCIPAL_USER;
	if (argc < 2) {
		admin_err(&a, "missing command");
		goto out;
	}
	for (i = 0; i < ADMIN_NCMDS; i++)
		if (strcmp(admin_cmds[i].kind, argv[0]) == 0 &&
		    strcmp(admin_cmds[i].name, argv[1]) == 0)
			a.cmd = &admin_cmds[i];
	if (a.cmd == NULL) {
		fprintf(stderr, "regward: %s: unknown command: %s\n", argv[0],
		    argv[1]);
		goto out;
	}
	if (admin_parse(&a, argc - 2, argv + 2) == -1)
		goto out;
	rc = ADMIN_EXIT_FAIL;
	if (config_load(a.cfg_path, &a.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward: %s\n", err);
		goto out;
	}
	if ((a.db = db_open(a.cfg->database, err, sizeof(err))) == NULL) {
		fprintf(
		    stderr, "regward: %s: database: %s\n", a.cfg->path, err);
		goto out;
	}
	rc = a.cmd->run(&a);
out:
	db_close(a.db);
	config_free(a.cfg);
	return rc;
}
