/*
 * policy: load the "policies" array and answer authorization questions.
 *
 * The loader is table-driven: one table row per key of a policy object,
 * of its "require" block and of "require.scan", each with the function
 * that checks and stores the value. Anything not in a table is an error.
 * Decisions walk the loaded set; they never allocate and never fail.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "regward/policy.h"

#define POLICY_GOT_MAX 64 /* bytes of a bad value quoted in a message */
#define POLICY_PATH_MAX 128
#define POLICY_FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define POLICY_FNV_PRIME UINT64_C(0x100000001b3)

/* What a principal entry of a list stands for. */
enum policy_form {
	POLICY_FORM_ANY = 0, /* "*": any authenticated principal */
	POLICY_FORM_ANONYMOUS,
	POLICY_FORM_USER,
	POLICY_FORM_ROBOT,
	POLICY_FORM_CI,
	POLICY_FORM_ROLE,
};

struct policy_entry {
	enum policy_form form;
	char *text; /* as written, e.g. "role:ci" */
	const char *name; /* into text after the prefix; NULL for * and
			     anonymous */
};

struct policy_list {
	struct policy_entry *v;
	size_t n;
};

struct policy {
	struct policy_glob *repo;
	struct policy_list acl[3]; /* indexed by enum policy_action */
	char **tags; /* immutable_tags */
	size_t ntags;
	int has_require;
	struct policy_require req;
	struct policy_list bypass; /* require.bypass */
};

struct policy_set {
	struct policy *v;
	size_t n;
	char revision[POLICY_REVISION_LEN + 1];
};

/* Loader state: where messages go. */
struct policy_ctx {
	const char *file;
	char *err;
	size_t errlen;
};

/* One key of an object: its name, checker and an argument for it. */
struct policy_key {
	const char *name;
	int (*parse)(
	    struct policy_ctx *, struct policy *, const char *, json_t *, int);
	int arg;
};

/* Principal prefixes with a name, and the form each one gives. */
static const struct {
	const char *prefix;
	enum policy_form form;
} policy_prefixes[] = {
    {"user:", POLICY_FORM_USER},
    {"robot:", POLICY_FORM_ROBOT},
    {"ci:", POLICY_FORM_CI},
    {"role:", POLICY_FORM_ROLE},
};

#define POLICY_NPREFIXES (sizeof(policy_prefixes) / sizeof(policy_prefixes[0]))

static const char *const policy_action_names[] = {"pull", "push", "delete"};
static const char *const policy_action_verbs[] = {
    "pull from", "push to", "delete in"};
static const char *const policy_kind_names[] = {
    "anonymous", "user", "robot", "ci"};

/* A bounded line under construction; cut lines end in "...". */
struct policy_buf {
	char *buf;
	size_t len;
	size_t off;
};

/*
 * Append to b; once full, stop and mark the cut. Control bytes (from a
 * principal name the caller passed in) become '?'.
 */
static void
policy_buf_add(struct policy_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room, i;
	int n;

	if (b->len == 0 || b->off >= b->len - 1)
		return;
	room = b->len - b->off;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->off, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	for (i = b->off; i < b->len && b->buf[i] != '\0'; i++) {
		if ((unsigned char)b->buf[i] < 0x20 || b->buf[i] == 0x7f)
			b->buf[i] = '?';
	}
	if ((size_t)n >= room) {
		b->off = b->len - 1;
		if (b->len > 4)
			memcpy(b->buf + b->len - 4, "...", 4);
	} else {
		b->off += (size_t)n;
	}
}

/* Render a JSON value for a message: compact ASCII, cut with "...". */
static void
policy_got(const json_t *v, char *buf, size_t len)
{
	char *dump;

	dump =
	    json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
	if (dump == NULL)
		snprintf(buf, len, "?");
	else if (strlen(dump) > POLICY_GOT_MAX)
		snprintf(buf, len, "%.*s...", POLICY_GOT_MAX - 3, dump);
	else
		snprintf(buf, len, "%s", dump);
	free(dump);
}

/* Report "<file>: <path>: <message>"; always returns -1. */
static int
policy_err(struct policy_ctx *ctx, const char *path, const char *fmt, ...)
{
	char msg[POLICY_ERR_MAX];
	struct policy_buf b;
	va_list ap;

	if (ctx->err == NULL || ctx->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b.buf = ctx->err;
	b.len = ctx->errlen;
	b.off = 0;
	b.buf[0] = '\0';
	policy_buf_add(&b, "%s: %s: %s", ctx->file, path, msg);
	return -1;
}

/* "must be <what>, got <value>"; returns -1. */
static int
policy_err_type(
    struct policy_ctx *ctx, const char *path, const char *what, const json_t *v)
{
	char got[POLICY_GOT_MAX + 8];

	policy_got(v, got, sizeof(got));
	return policy_err(ctx, path, "must be %s, got %s", what, got);
}

/* 1 if s is non-empty, at most POLICY_NAME_MAX bytes, all printable. */
static int
policy_printable(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return 0;
	}
	return n > 0 && n <= POLICY_NAME_MAX;
}

/*
 * 1 if c may appear in a user, robot or role name. CI names (from OIDC
 * claims) may hold any printable byte but '*'.
 */
static int
policy_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '@' || c == '+';
}

static void
policy_list_clear(struct policy_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].text);
		l->v[i].text = NULL;
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
policy_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Free what p owns and zero it. */
static void
policy_clear(struct policy *p)
{
	size_t i;

	policy_glob_free(p->repo);
	for (i = 0; i < 3; i++)
		policy_list_clear(&p->acl[i]);
	policy_strv_free(p->tags, p->ntags);
	policy_strv_free(p->req.signed_by, p->req.nsigned_by);
	policy_list_clear(&p->bypass);
	memset(p, 0, sizeof(*p));
}

/* Check that v is an array of at most POLICY_LIST_MAX entries. */
static int
policy_array(
    struct policy_ctx *ctx, const char *path, const json_t *v, const char *what)
{
	if (!json_is_array(v))
		return policy_err_type(ctx, path, what, v);
	if (json_array_size(v) > POLICY_LIST_MAX)
		return policy_err(
		    ctx, path, "has more than %d entries", POLICY_LIST_MAX);
	return 0;
}

/*
 * Parse one principal entry (v at path) into *e. Returns 0, or -1 with
 * the message set; *e owns nothing then.
 */
static int
policy_entry_parse(struct policy_ctx *ctx, const char *path, const json_t *v,
    struct policy_entry *e)
{
	const char *s, *name = NULL, *c;
	enum policy_form form;
	size_t i, plen;

	memset(e, 0, sizeof(*e));
	if (!json_is_string(v))
		return policy_err_type(ctx, path, "a principal string", v);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || !policy_printable(s))
		return policy_err_type(ctx, path,
		    "a principal without spaces or control bytes, at most "
		    "256 bytes",
		    v);
	if (strcmp(s, "*") == 0) {
		form = POLICY_FORM_ANY;
	} else if (strcmp(s, "anonymous") == 0) {
		form = POLICY_FORM_ANONYMOUS;
	} else {
		for (i = 0; i < POLICY_NPREFIXES; i++) {
			plen = strlen(policy_prefixes[i].prefix);
			if (strncmp(s, policy_prefixes[i].prefix, plen) == 0)
				break;
		}
		if (i == POLICY_NPREFIXES)
			return policy_err(ctx, path,
			    "unknown principal form \"%s\" (use *, anonymous, "
			    "user:NAME, robot:NAME, ci:NAME or role:NAME)",
			    s);
		form = policy_prefixes[i].form;
		name = s + plen;
		if (*name == '\0')
			return policy_err(
			    ctx, path, "principal \"%s\" has no name", s);
		if (strchr(name, '*') != NULL)
			return policy_err(ctx, path,
			    "principal \"%s\": '*' is reserved, names match "
			    "exactly",
			    s);
		for (c = name; form != POLICY_FORM_CI && *c != '\0'; c++) {
			if (!policy_name_char((unsigned char)*c))
				return policy_err(ctx, path,
				    "principal \"%s\": a %.*s name may hold "
				    "only A-Z a-z 0-9 . _ - @ +",
				    s, (int)(plen - 1), s);
		}
	}
	if ((e->text = strdup(s)) == NULL)
		return policy_err(ctx, path, "out of memory");
	e->form = form;
	e->name = name != NULL ? e->text + (name - s) : NULL;
	return 0;
}

/* Parse an array of principals into *l (empty on entry). */
static int
policy_list_parse(struct policy_ctx *ctx, const char *path, const json_t *v,
    struct policy_list *l)
{
	char sub[POLICY_PATH_MAX];
	size_t i, n;

	if (policy_array(ctx, path, v, "an array of principals") == -1)
		return -1;
	n = json_array_size(v);
	if (n > 0 && (l->v = calloc(n, sizeof(*l->v))) == NULL)
		return policy_err(ctx, path, "out of memory");
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (policy_entry_parse(
			ctx, sub, json_array_get(v, i), &l->v[i]) == -1)
			return -1;
		l->n++;
	}
	return 0;
}

/* "repository": a repository glob. */
static int
policy_parse_repository(struct policy_ctx *ctx, struct policy *p,
    const char *path, json_t *v, int arg)
{
	char got[POLICY_GOT_MAX + 8];
	const char *why = NULL;

	(void)arg;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return policy_err_type(
		    ctx, path, "a repository glob string", v);
	if (policy_glob_compile(json_string_value(v), &p->repo, &why) == -1) {
		policy_got(v, got, sizeof(got));
		return policy_err(ctx, path, "glob %s: %s", got, why);
	}
	return 0;
}

/* "pull", "push", "delete": arg is the enum policy_action. */
static int
policy_parse_acl(struct policy_ctx *ctx, struct policy *p, const char *path,
    json_t *v, int arg)
{
	return policy_list_parse(ctx, path, v, &p->acl[arg]);
}

/* "immutable_tags": tag globs. */
static int
policy_parse_tags(struct policy_ctx *ctx, struct policy *p, const char *path,
    json_t *v, int arg)
{
	char sub[POLICY_PATH_MAX], got[POLICY_GOT_MAX + 8];
	const json_t *e;
	const char *why = NULL;
	size_t i, n;

	(void)arg;
	if (policy_array(ctx, path, v, "an array of tag globs") == -1)
		return -1;
	n = json_array_size(v);
	if (n > 0 && (p->tags = calloc(n, sizeof(*p->tags))) == NULL)
		return policy_err(ctx, path, "out of memory");
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		e = json_array_get(v, i);
		if (!json_is_string(e))
			return policy_err_type(
			    ctx, sub, "a tag glob string", e);
		if (strlen(json_string_value(e)) != json_string_length(e) ||
		    policy_glob_tag_valid(json_string_value(e), &why) == -1) {
			policy_got(e, got, sizeof(got));
			return policy_err(ctx, sub, "tag glob %s: %s", got,
			    why != NULL ? why : "holds a NUL byte");
		}
		if ((p->tags[i] = strdup(json_string_value(e))) == NULL)
			return policy_err(ctx, sub, "out of memory");
		p->ntags++;
	}
	return 0;
}

/* "require.signed_by": a non-empty array of key names. */
static int
policy_parse_signed_by(struct policy_ctx *ctx, struct policy *p,
    const char *path, json_t *v, int arg)
{
	char sub[POLICY_PATH_MAX];
	const json_t *e;
	size_t i, n;

	(void)arg;
	if (policy_array(ctx, path, v, "an array of key names") == -1)
		return -1;
	if ((n = json_array_size(v)) == 0)
		return policy_err(ctx, path, "must name at least one key");
	if ((p->req.signed_by = calloc(n, sizeof(char *))) == NULL)
		return policy_err(ctx, path, "out of memory");
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		e = json_array_get(v, i);
		if (!json_is_string(e) ||
		    strlen(json_string_value(e)) != json_string_length(e) ||
		    !policy_printable(json_string_value(e)))
			return policy_err_type(ctx, sub,
			    "a key name (non-empty, no spaces or control "
			    "bytes, at most 256 bytes)",
			    e);
		if ((p->req.signed_by[i] = strdup(json_string_value(e))) ==
		    NULL)
			return policy_err(ctx, sub, "out of memory");
		p->req.nsigned_by++;
	}
	return 0;
}

/* Also used by retention (keep_pushed_within): see policy.h. */
int
policy_duration_parse(const char *s, uint64_t *secs)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
	uint64_t v = 0;
	const char *c = s;
	size_t i;

	*secs = 0;
	if (*c < '0' || *c > '9')
		return -1;
	for (; *c >= '0' && *c <= '9'; c++) {
		if (v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(c, units[i].unit) == 0) {
			if (v > UINT64_MAX / units[i].mult)
				return -1;
			*secs = v * units[i].mult;
			return 0;
		}
	}
	return -1;
}

/* "require.scan.verdict": "pass", the only verdict there is. */
static int
policy_parse_verdict(struct policy_ctx *ctx, struct policy *p, const char *path,
    json_t *v, int arg)
{
	(void)p;
	(void)arg;
	if (!json_is_string(v) || strcmp(json_string_value(v), "pass") != 0 ||
	    json_string_length(v) != 4)
		return policy_err_type(ctx, path, "\"pass\"", v);
	return 0;
}

/* "require.scan.max_age": a duration string or whole seconds. */
static int
policy_parse_max_age(struct policy_ctx *ctx, struct policy *p, const char *path,
    json_t *v, int arg)
{
	uint64_t secs = 0;
	int ok;

	(void)arg;
	if (json_is_integer(v)) {
		ok = json_integer_value(v) > 0;
		secs = ok ? (uint64_t)json_integer_value(v) : 0;
	} else if (json_is_string(v)) {
		ok = strlen(json_string_value(v)) == json_string_length(v) &&
		    policy_duration_parse(json_string_value(v), &secs) == 0 &&
		    secs > 0;
	} else {
		ok = 0;
	}
	if (!ok || secs > POLICY_MAX_AGE_MAX)
		return policy_err_type(ctx, path,
		    "a duration from 1s to 3650d such as \"7d\", \"24h\", "
		    "\"30m\" or whole seconds",
		    v);
	p->req.scan_max_age = secs;
	return 0;
}

static int policy_walk(struct policy_ctx *, struct policy *, const char *,
    json_t *, const struct policy_key *, size_t);

static const struct policy_key policy_scan_keys[] = {
    {"verdict", policy_parse_verdict, 0},
    {"max_age", policy_parse_max_age, 0},
};

/* "require.scan": an object. */
static int
policy_parse_scan(struct policy_ctx *ctx, struct policy *p, const char *path,
    json_t *v, int arg)
{
	(void)arg;
	if (!json_is_object(v))
		return policy_err_type(ctx, path, "an object", v);
	p->req.scan = 1;
	return policy_walk(ctx, p, path, v, policy_scan_keys,
	    sizeof(policy_scan_keys) / sizeof(policy_scan_keys[0]));
}

/* "require.bypass": principals. */
static int
policy_parse_bypass(struct policy_ctx *ctx, struct policy *p, const char *path,
    json_t *v, int arg)
{
	(void)arg;
	return policy_list_parse(ctx, path, v, &p->bypass);
}

/* "require.mode" (arg 0) and "require.multiarch" (arg 1). */
static int
policy_parse_enum(struct policy_ctx *ctx, struct policy *p, const char *path,
    json_t *v, int arg)
{
	static const struct {
		const char *a, *b; /* the values for 0 and 1 */
		const char *what;
	} enums[] = {
	    {"enforce", "warn", "\"enforce\" or \"warn\""},
	    {"index", "each", "\"index\" or \"each\""},
	};
	const char *s;
	int val;

	if (!json_is_string(v))
		return policy_err_type(ctx, path, enums[arg].what, v);
	s = json_string_value(v);
	if (strcmp(s, enums[arg].a) == 0 &&
	    json_string_length(v) == strlen(enums[arg].a))
		val = 0;
	else if (strcmp(s, enums[arg].b) == 0 &&
	    json_string_length(v) == strlen(enums[arg].b))
		val = 1;
	else
		return policy_err_type(ctx, path, enums[arg].what, v);
	if (arg == 0)
		p->req.mode = val ? POLICY_MODE_WARN : POLICY_MODE_ENFORCE;
	else
		p->req.multiarch =
		    val ? POLICY_MULTIARCH_EACH : POLICY_MULTIARCH_INDEX;
	return 0;
}

static const struct policy_key policy_require_keys[] = {
    {"signed_by", policy_parse_signed_by, 0},
    {"scan", policy_parse_scan, 0},
    {"bypass", policy_parse_bypass, 0},
    {"mode", policy_parse_enum, 0},
    {"multiarch", policy_parse_enum, 1},
};

/* "require": an object that must name signed_by. */
static int
policy_parse_require(struct policy_ctx *ctx, struct policy *p, const char *path,
    json_t *v, int arg)
{
	char sub[POLICY_PATH_MAX];

	(void)arg;
	if (!json_is_object(v))
		return policy_err_type(ctx, path, "an object", v);
	p->has_require = 1;
	if (policy_walk(ctx, p, path, v, policy_require_keys,
		sizeof(policy_require_keys) / sizeof(policy_require_keys[0])) ==
	    -1)
		return -1;
	if (json_object_get(v, "signed_by") == NULL) {
		snprintf(sub, sizeof(sub), "%s.signed_by", path);
		return policy_err(ctx, sub,
		    "required: the keys any of which must have signed");
	}
	return 0;
}

static const struct policy_key policy_keys[] = {
    {"repository", policy_parse_repository, 0},
    {"pull", policy_parse_acl, POLICY_PULL},
    {"push", policy_parse_acl, POLICY_PUSH},
    {"delete", policy_parse_acl, POLICY_DELETE},
    {"immutable_tags", policy_parse_tags, 0},
    {"require", policy_parse_require, 0},
};

/*
 * Check every key of obj (at path) against keys[0..nkeys) and run its
 * parser. Keys go in file order, so the first fault in the file is the
 * one reported.
 */
static int
policy_walk(struct policy_ctx *ctx, struct policy *p, const char *path,
    json_t *obj, const struct policy_key *keys, size_t nkeys)
{
	char sub[POLICY_PATH_MAX], got[POLICY_GOT_MAX + 8];
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v)
	{
		for (i = 0; i < nkeys; i++) {
			if (strcmp(key, keys[i].name) == 0)
				break;
		}
		if (i == nkeys) {
			json_t *k = json_string(key);

			policy_got(k, got, sizeof(got));
			json_decref(k);
			return policy_err(ctx, path, "unknown key %s", got);
		}
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		if (keys[i].parse(ctx, p, sub, v, keys[i].arg) == -1)
			return -1;
	}
	return 0;
}

/* FNV-1a 64 of the canonical dump of policies into ps->revision. */
static int
policy_revision(struct policy_set *ps, const json_t *policies)
{
	uint64_t h = POLICY_FNV_OFFSET;
	const unsigned char *c;
	char *dump;

	dump = json_dumps(policies,
	    JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS |
		JSON_ENSURE_ASCII);
	if (dump == NULL)
		return -1;
	for (c = (const unsigned char *)dump; *c != '\0'; c++) {
		h ^= *c;
		h *= POLICY_FNV_PRIME;
	}
	free(dump);
	snprintf(ps->revision, sizeof(ps->revision), "%016llx",
	    (unsigned long long)h);
	return 0;
}

int
policy_set_load(const char *file, const json_t *policies,
    struct policy_set **out, char *err, size_t errlen)
{
	char path[POLICY_PATH_MAX];
	struct policy_ctx ctx;
	struct policy_set *ps = NULL;
	struct policy *p;
	json_t *empty = NULL;
	json_t *v;
	size_t i, j, n;
	int rc = -1;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	ctx.file = file != NULL ? file : "(config)";
	ctx.err = err;
	ctx.errlen = errlen;
	if (policies == NULL && (policies = empty = json_array()) == NULL) {
		policy_err(&ctx, "policies", "out of memory");
		goto out;
	}
	if (!json_is_array(policies)) {
		policy_err_type(
		    &ctx, "policies", "an array of policies", policies);
		goto out;
	}
	if ((n = json_array_size(policies)) > POLICY_COUNT_MAX) {
		policy_err(&ctx, "policies", "has more than %d policies",
		    POLICY_COUNT_MAX);
		goto out;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (n > 0 && (ps->v = calloc(n, sizeof(*ps->v))) == NULL)) {
		policy_err(&ctx, "policies", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "policies[%zu]", i);
		v = json_array_get(policies, i);
		p = &ps->v[i];
		ps->n++;
		if (!json_is_object(v)) {
			policy_err_type(&ctx, path, "an object", v);
			goto out;
		}
		if (policy_walk(&ctx, p, path, v, policy_keys,
			sizeof(policy_keys) / sizeof(policy_keys[0])) == -1)
			goto out;
		if (p->repo == NULL) {
			policy_err(&ctx, path,
			    "\"repository\" is required (a glob such as "
			    "\"team/**\")");
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(policy_glob_pattern(ps->v[j].repo),
				policy_glob_pattern(p->repo)) == 0) {
				policy_err(&ctx, path,
				    "repository \"%s\" is already the glob of "
				    "policies[%zu], which always matches first",
				    policy_glob_pattern(p->repo), j);
				goto out;
			}
		}
	}
	if (policy_revision(ps, policies) == -1) {
		policy_err(&ctx, "policies", "out of memory");
		goto out;
	}
	*out = ps;
	ps = NULL;
	rc = 0;
out:
	json_decref(empty);
	policy_set_free(ps);
	return rc;
}

void
policy_set_free(struct policy_set *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++)
		policy_clear(&ps->v[i]);
	free(ps->v);
	ps->v = NULL;
	free(ps);
}

size_t
policy_set_count(const struct policy_set *ps)
{
	return ps != NULL ? ps->n : 0;
}

const char *
policy_set_revision(const struct policy_set *ps)
{
	return ps != NULL ? ps->revision : NULL;
}

/* The policy at index, or NULL when out of range. */
static const struct policy *
policy_at(const struct policy_set *ps, int index)
{
	if (ps == NULL || index < 0 || (size_t)index >= ps->n)
		return NULL;
	return &ps->v[index];
}

const char *
policy_repository(const struct policy_set *ps, int index)
{
	const struct policy *p = policy_at(ps, index);

	return p != NULL ? policy_glob_pattern(p->repo) : NULL;
}

const struct policy_require *
policy_require(const struct policy_set *ps, int index)
{
	const struct policy *p = policy_at(ps, index);

	return p != NULL && p->has_require ? &p->req : NULL;
}

int
policy_match(const struct policy_set *ps, const char *repo)
{
	size_t i;

	if (ps == NULL || repo == NULL)
		return -1;
	for (i = 0; i < ps->n; i++) {
		if (policy_glob_match(ps->v[i].repo, repo))
			return (int)i;
	}
	return -1;
}

/* 1 if kind is one an authenticated principal has. */
static int
policy_authenticated(const struct policy_principal *p)
{
	return p != NULL &&
	    (p->kind == POLICY_USER || p->kind == POLICY_ROBOT ||
		p->kind == POLICY_CI);
}

/* 1 if entry e names principal p (NULL p: anonymous). */
static int
policy_entry_match(
    const struct policy_entry *e, const struct policy_principal *p)
{
	enum policy_kind kind;
	size_t i;

	switch (e->form) {
	case POLICY_FORM_ANY:
		return policy_authenticated(p);
	case POLICY_FORM_ANONYMOUS:
		return p == NULL || p->kind == POLICY_ANONYMOUS;
	case POLICY_FORM_ROLE:
		if (!policy_authenticated(p))
			return 0;
		for (i = 0; i < p->nroles; i++) {
			if (p->roles[i] != NULL &&
			    strcmp(p->roles[i], e->name) == 0)
				return 1;
		}
		return 0;
	case POLICY_FORM_USER:
		kind = POLICY_USER;
		break;
	case POLICY_FORM_ROBOT:
		kind = POLICY_ROBOT;
		break;
	case POLICY_FORM_CI:
		kind = POLICY_CI;
		break;
	default:
		return 0;
	}
	return p != NULL && p->kind == kind && p->name != NULL &&
	    strcmp(p->name, e->name) == 0;
}

/* The first entry of l that names p, or NULL. */
static const struct policy_entry *
policy_list_find(const struct policy_list *l, const struct policy_principal *p)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (policy_entry_match(&l->v[i], p))
			return &l->v[i];
	}
	return NULL;
}

void
policy_principal_fmt(const struct policy_principal *p, char *buf, size_t len)
{
	struct policy_buf b;

	if (buf == NULL || len == 0)
		return;
	b.buf = buf;
	b.len = len;
	b.off = 0;
	buf[0] = '\0';
	if (p == NULL || p->kind == POLICY_ANONYMOUS)
		policy_buf_add(&b, "anonymous");
	else if (policy_authenticated(p))
		policy_buf_add(&b, "%s:%s", policy_kind_names[p->kind],
		    p->name != NULL ? p->name : "?");
	else
		policy_buf_add(&b, "unknown principal");
}

/* Append "you are user:alice with roles [dev, ops]" to b. */
static void
policy_buf_principal(struct policy_buf *b, const struct policy_principal *p)
{
	char who[POLICY_NAME_MAX + 16];
	size_t i;

	policy_principal_fmt(p, who, sizeof(who));
	policy_buf_add(b, "you are %s", who);
	if (!policy_authenticated(p))
		return;
	if (p->nroles == 0) {
		policy_buf_add(b, " with no roles");
		return;
	}
	policy_buf_add(b, " with roles [");
	for (i = 0; i < p->nroles; i++)
		policy_buf_add(b, "%s%s", i > 0 ? ", " : "",
		    p->roles[i] != NULL ? p->roles[i] : "?");
	policy_buf_add(b, "]");
}

/* An entry as a reason names it. */
static const char *
policy_entry_label(const struct policy_entry *e)
{
	return e->form == POLICY_FORM_ANY ? "any authenticated principal (*)"
					  : e->text;
}

int
policy_decide(const struct policy_set *ps, const char *repo,
    const struct policy_principal *p, enum policy_action act,
    struct policy_decision *d)
{
	const struct policy_entry *e;
	const struct policy_list *l;
	struct policy_buf b;
	char who[POLICY_NAME_MAX + 16];
	size_t i;

	memset(d, 0, sizeof(*d));
	d->index = -1;
	b.buf = d->reason;
	b.len = sizeof(d->reason);
	b.off = 0;
	if ((unsigned)act > POLICY_DELETE) {
		policy_buf_add(&b, "unknown action %d", (int)act);
		return 0;
	}
	if (repo == NULL)
		repo = "";
	if ((d->index = policy_match(ps, repo)) == -1) {
		policy_buf_add(&b,
		    "no policy matches repository %s, so %s is "
		    "denied",
		    repo, policy_action_names[act]);
		return 0;
	}
	l = &ps->v[d->index].acl[act];
	if ((e = policy_list_find(l, p)) != NULL) {
		d->allow = 1;
		policy_principal_fmt(p, who, sizeof(who));
		policy_buf_add(&b,
		    "%s %s allowed for %s by policies[%d] entry "
		    "%s",
		    policy_action_verbs[act], repo, who, d->index,
		    policy_entry_label(e));
		return 1;
	}
	if (l->n == 0) {
		policy_buf_add(&b, "%s %s is allowed to no one; ",
		    policy_action_verbs[act], repo);
	} else {
		policy_buf_add(&b, "%s %s needs %s", policy_action_verbs[act],
		    repo, l->n > 1 ? "one of " : "");
		for (i = 0; i < l->n; i++)
			policy_buf_add(&b, "%s%s", i > 0 ? ", " : "",
			    policy_entry_label(&l->v[i]));
		policy_buf_add(&b, "; ");
	}
	policy_buf_principal(&b, p);
	return 0;
}

int
policy_decide_mount(const struct policy_set *ps, const char *repo,
    const char *src, const struct policy_principal *p,
    struct policy_decision *d)
{
	struct policy_decision sub;
	struct policy_buf b;
	int push_index;

	memset(d, 0, sizeof(*d));
	d->index = -1;
	b.buf = d->reason;
	b.len = sizeof(d->reason);
	b.off = 0;
	if (src == NULL)
		src = "";
	if (!policy_decide(ps, repo, p, POLICY_PUSH, &sub)) {
		d->index = sub.index;
		policy_buf_add(&b, "mount from %s: %s", src, sub.reason);
		return 0;
	}
	push_index = sub.index;
	if (!policy_decide(ps, src, p, POLICY_PULL, &sub)) {
		d->index = sub.index;
		policy_buf_add(&b, "mount from %s: %s", src, sub.reason);
		return 0;
	}
	d->allow = 1;
	d->index = push_index;
	policy_buf_add(&b,
	    "mount from %s into %s allowed by policies[%d] (push) and "
	    "policies[%d] (pull)",
	    src, repo, push_index, sub.index);
	return 1;
}

int
policy_may_pull(const struct policy_set *ps, const char *repo,
    const struct policy_principal *p)
{
	int i;

	if ((i = policy_match(ps, repo)) == -1)
		return 0;
	return policy_list_find(&ps->v[i].acl[POLICY_PULL], p) != NULL;
}

int
policy_catalog_filter(const struct policy_set *ps,
    const struct policy_principal *p, json_t *names)
{
	const json_t *v;
	size_t i = 0;
	int removed = 0;

	if (!json_is_array(names))
		return -1;
	while (i < json_array_size(names)) {
		v = json_array_get(names, i);
		if (json_is_string(v) &&
		    strlen(json_string_value(v)) == json_string_length(v) &&
		    policy_may_pull(ps, json_string_value(v), p)) {
			i++;
			continue;
		}
		if (json_array_remove(names, i) == -1)
			return -1;
		removed++;
	}
	return removed;
}

/* 1 for "sha256-<64 hex>.sig", ".att" and ".sbom" (cosign's tags). */
static int
policy_sig_tag(const char *tag)
{
	static const char *const exts[] = {".sig", ".att", ".sbom"};
	size_t i;

	if (strncmp(tag, "sha256-", 7) != 0)
		return 0;
	for (i = 7; i < 7 + 64; i++) {
		if (!((tag[i] >= '0' && tag[i] <= '9') ||
			(tag[i] >= 'a' && tag[i] <= 'f')))
			return 0;
	}
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if (strcmp(tag + 7 + 64, exts[i]) == 0)
			return 1;
	}
	return 0;
}

int
policy_tag_immutable(
    const struct policy_set *ps, const char *repo, const char *tag)
{
	const struct policy *p;
	size_t i;

	if (tag == NULL ||
	    (p = policy_at(ps, policy_match(ps, repo))) == NULL ||
	    policy_sig_tag(tag))
		return 0;
	for (i = 0; i < p->ntags; i++) {
		if (policy_glob_tag_match(p->tags[i], tag))
			return 1;
	}
	return 0;
}

int
policy_may_bypass(const struct policy_set *ps, const char *repo,
    const struct policy_principal *p)
{
	const struct policy *pol;

	if ((pol = policy_at(ps, policy_match(ps, repo))) == NULL ||
	    !pol->has_require)
		return 0;
	return policy_list_find(&pol->bypass, p) != NULL;
}

const char *
policy_action_name(enum policy_action act)
{
	if ((unsigned)act > POLICY_DELETE)
		return "unknown";
	return policy_action_names[act];
}

int
policy_action_parse(const char *s, enum policy_action *act)
{
	size_t i;

	*act = POLICY_PULL;
	if (s == NULL)
		return -1;
	for (i = 0;
	     i < sizeof(policy_action_names) / sizeof(policy_action_names[0]);
	     i++) {
		if (strcmp(s, policy_action_names[i]) == 0) {
			*act = (enum policy_action)i;
			return 0;
		}
	}
	return -1;
}
