/*
 * oidc: CI workloads (GitHub Actions, GitLab CI) authenticating with the
 * OIDC ID token their platform mints for each job. An auth.oidc[] entry
 * names the issuer and audience, where its JWKS is, claim rules that say
 * which jobs are trusted, a template for the principal name and the
 * roles the principal gets. Fetching the JWKS is the caller's business;
 * everything here is pure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "regward/token.h"

#define OIDC_URL_MAX 512
#define OIDC_AUD_MAX 512
#define OIDC_INT_SIZE 24 /* decimal json_int_t with sign and NUL */

/* Loader context: file name and the key path for messages. */
struct oidc_ctx {
	const char *file;
	char *err;
	size_t errlen;
};

static void oidc_fail(struct oidc_ctx *c, const char *path, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
oidc_fail(struct oidc_ctx *c, const char *path, const char *fmt, ...)
{
	char msg[TOKEN_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jwt_err(c->err, c->errlen, "%s: %s: %s", c->file, path, msg);
}

/* Characters allowed in a principal, literal or substituted. */
static int
oidc_principal_char(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '/' ||
	    ch == '@' || ch == ':' || ch == '-';
}

/* Provider, role and claim names: [A-Za-z0-9._-], 1..max bytes. */
static int
oidc_name_ok(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* Printable ASCII without spaces, 1..max bytes. */
static int
oidc_printable(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

/* A JSON string without NUL, or NULL. */
static const char *
oidc_str(const json_t *v)
{
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* "https://host[...]" without query, fragment or credentials. */
static int
oidc_https_url_ok(const char *s)
{
	const char *host = s + 8, *end;

	if (strncmp(s, "https://", 8) != 0 || !oidc_printable(s, OIDC_URL_MAX))
		return 0;
	end = host + strcspn(host, "/");
	if (end == host || memchr(host, '@', (size_t)(end - host)) != NULL)
		return 0;
	return strchr(s, '?') == NULL && strchr(s, '#') == NULL;
}

/*
 * A jwks_url: an https URL as for the issuer (a query allowed), or, for
 * tests, http:// to 127.0.0.1, localhost or [::1] (any port).
 */
static int
oidc_jwks_url_ok(const char *s)
{
	const char *host = s + 7, *end, *p;
	size_t hlen;

	if (!oidc_printable(s, OIDC_URL_MAX) || strchr(s, '#') != NULL)
		return 0;
	if (strncmp(s, "https://", 8) == 0) {
		host = s + 8;
		end = host + strcspn(host, "/?");
		return end != host &&
		    memchr(host, '@', (size_t)(end - host)) == NULL;
	}
	if (strncmp(s, "http://", 7) != 0)
		return 0;
	end = host + strcspn(host, "/?");
	if (*host == '[')
		p = memchr(host, ']', (size_t)(end - host));
	else
		p = memchr(host, ':', (size_t)(end - host));
	if (p == NULL)
		p = end;
	else if (*host == '[')
		p++;
	hlen = (size_t)(p - host);
	if (!((hlen == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
		(hlen == 9 && strncmp(host, "localhost", 9) == 0) ||
		(hlen == 5 && strncmp(host, "[::1]", 5) == 0)))
		return 0;
	if (p == end)
		return 1;
	if (*p != ':' || p + 1 == end)
		return 0;
	for (p++; p < end; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* Seconds from 30 or "30s", "5m", "1h"; -1 when malformed or > 1 day. */
static long
oidc_duration(const json_t *v)
{
	const char *s;
	long n = 0;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0 &&
			json_integer_value(v) <= 86400
		    ? (long)json_integer_value(v)
		    : -1;
	if ((s = oidc_str(v)) == NULL || *s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((n = n * 10 + (*s - '0')) > 86400)
			return -1;
	if (strcmp(s, "s") == 0)
		return n;
	if (strcmp(s, "m") == 0 && n <= 1440)
		return n * 60;
	if (strcmp(s, "h") == 0 && n <= 24)
		return n * 3600;
	return -1;
}

/*
 * Validate a principal template: literals of principal characters and
 * {claim} substitutions with claim names [A-Za-z0-9._-]+.
 */
static int
oidc_template_ok(const char *t, const char **why)
{
	const char *p, *close;

	if (*t == '\0' || strlen(t) > OIDC_PRINCIPAL_MAX) {
		*why = "must be 1 to 256 bytes";
		return 0;
	}
	for (p = t; *p != '\0'; p++) {
		if (*p == '{') {
			if ((close = strchr(p, '}')) == NULL ||
			    close == p + 1 || close - p - 1 > OIDC_NAME_MAX) {
				*why = "unterminated, empty or long {claim}";
				return 0;
			}
			for (p++; p < close; p++) {
				if (!((*p >= 'A' && *p <= 'Z') ||
					(*p >= 'a' && *p <= 'z') ||
					(*p >= '0' && *p <= '9') || *p == '.' ||
					*p == '_' || *p == '-')) {
					*why = "bad claim name in {claim}";
					return 0;
				}
			}
		} else if (!oidc_principal_char((unsigned char)*p)) {
			*why =
			    "characters outside [A-Za-z0-9._/@:-] and {claim}";
			return 0;
		}
	}
	return 1;
}

static void
oidc_provider_clear(struct oidc_provider *p)
{
	size_t i, j;

	free(p->name);
	free(p->issuer);
	free(p->audience);
	free(p->jwks_file);
	free(p->jwks_url);
	free(p->ca_file);
	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].claim);
		for (j = 0; j < p->rules[i].npatterns; j++)
			free(p->rules[i].patterns[j]);
		free(p->rules[i].patterns);
	}
	free(p->rules);
	free(p->principal);
	for (i = 0; i < p->nroles; i++)
		free(p->roles[i]);
	free(p->roles);
	memset(p, 0, sizeof(*p));
}

void
oidc_free(struct oidc_providers *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++)
		oidc_provider_clear(&ps->v[i]);
	free(ps->v);
	free(ps);
}

/* A required string member: copy into *dst or fail with a message. */
static int
oidc_get_string(struct oidc_ctx *c, const char *base, const json_t *obj,
    const char *key, char **dst)
{
	char path[128];
	const json_t *v;
	const char *s;

	snprintf(path, sizeof(path), "%s.%s", base, key);
	if ((v = json_object_get(obj, key)) == NULL) {
		oidc_fail(c, path, "missing");
		return -1;
	}
	if ((s = oidc_str(v)) == NULL) {
		oidc_fail(c, path, "must be a string");
		return -1;
	}
	if ((*dst = strdup(s)) == NULL) {
		oidc_fail(c, path, "out of memory");
		return -1;
	}
	return 0;
}

static int
oidc_load_rules(struct oidc_ctx *c, const char *base, json_t *claims,
    struct oidc_provider *p)
{
	char path[160];
	const char *key, *s;
	json_t *v;
	const json_t *e;
	struct oidc_rule *r;
	size_t n, i;

	snprintf(path, sizeof(path), "%s.claims", base);
	if (!json_is_object(claims)) {
		oidc_fail(c, path, "must be an object");
		return -1;
	}
	n = json_object_size(claims);
	if (n == 0 || n > OIDC_RULES_MAX) {
		oidc_fail(
		    c, path, "must hold 1 to %d claim rules", OIDC_RULES_MAX);
		return -1;
	}
	if ((p->rules = calloc(n, sizeof(*p->rules))) == NULL) {
		oidc_fail(c, path, "out of memory");
		return -1;
	}
	json_object_foreach(claims, key, v)
	{
		snprintf(path, sizeof(path), "%s.claims.%.64s", base, key);
		if (!oidc_name_ok(key, OIDC_NAME_MAX)) {
			oidc_fail(c, path, "bad claim name");
			return -1;
		}
		r = &p->rules[p->nrules++];
		if ((r->claim = strdup(key)) == NULL) {
			oidc_fail(c, path, "out of memory");
			return -1;
		}
		if (json_is_array(v)) {
			n = json_array_size(v);
			if (n == 0 || n > OIDC_PATTERNS_MAX) {
				oidc_fail(c, path, "must hold 1 to %d patterns",
				    OIDC_PATTERNS_MAX);
				return -1;
			}
		} else if (json_is_string(v)) {
			n = 1;
		} else {
			oidc_fail(
			    c, path, "must be a string or an array of strings");
			return -1;
		}
		if ((r->patterns = calloc(n, sizeof(*r->patterns))) == NULL) {
			oidc_fail(c, path, "out of memory");
			return -1;
		}
		for (i = 0; i < n; i++) {
			e = json_is_array(v) ? json_array_get(v, i) : v;
			if ((s = oidc_str(e)) == NULL) {
				oidc_fail(c, path, "must be a string");
				return -1;
			}
			if (*s == '\0' || strlen(s) > OIDC_PATTERN_MAX) {
				oidc_fail(c, path,
				    "pattern must be 1 to %d bytes",
				    OIDC_PATTERN_MAX);
				return -1;
			}
			if ((r->patterns[i] = strdup(s)) == NULL) {
				oidc_fail(c, path, "out of memory");
				return -1;
			}
			r->npatterns++;
		}
	}
	return 0;
}

static int
oidc_load_roles(struct oidc_ctx *c, const char *base, const json_t *roles,
    struct oidc_provider *p)
{
	char path[128];
	const json_t *v;
	const char *s;
	size_t i, n;

	snprintf(path, sizeof(path), "%s.roles", base);
	if (!json_is_array(roles)) {
		oidc_fail(c, path, "must be an array of role names");
		return -1;
	}
	n = json_array_size(roles);
	if (n > OIDC_ROLES_MAX) {
		oidc_fail(c, path, "more than %d roles", OIDC_ROLES_MAX);
		return -1;
	}
	if (n > 0 && (p->roles = calloc(n, sizeof(*p->roles))) == NULL) {
		oidc_fail(c, path, "out of memory");
		return -1;
	}
	json_array_foreach(roles, i, v)
	{
		snprintf(path, sizeof(path), "%s.roles[%zu]", base, i);
		if ((s = oidc_str(v)) == NULL ||
		    !oidc_name_ok(s, OIDC_NAME_MAX)) {
			oidc_fail(c, path, "must be a name of [A-Za-z0-9._-]");
			return -1;
		}
		if ((p->roles[i] = strdup(s)) == NULL) {
			oidc_fail(c, path, "out of memory");
			return -1;
		}
		p->nroles++;
	}
	return 0;
}

/* Strings equal, both NULL counting as equal. */
static int
oidc_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
oidc_load_one(
    struct oidc_ctx *c, json_t *e, size_t idx, struct oidc_providers *ps)
{
	static const char *const known[] = {"name", "issuer", "audience",
	    "jwks_file", "jwks_url", "ca_file", "jwks_refetch_interval",
	    "claims", "principal", "roles", NULL};
	struct oidc_provider *p = &ps->v[ps->n];
	char base[32], path[128];
	const char *key, *why;
	json_t *v;
	size_t i;

	snprintf(base, sizeof(base), "auth.oidc[%zu]", idx);
	if (!json_is_object(e)) {
		oidc_fail(c, base, "must be an object");
		return -1;
	}
	ps->n++; /* p is now owned by ps, whatever happens */
	json_object_foreach(e, key, v)
	{
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			snprintf(path, sizeof(path), "%s.%.64s", base, key);
			oidc_fail(c, path, "unknown key");
			return -1;
		}
	}
	if (oidc_get_string(c, base, e, "name", &p->name) == -1 ||
	    oidc_get_string(c, base, e, "issuer", &p->issuer) == -1 ||
	    oidc_get_string(c, base, e, "audience", &p->audience) == -1 ||
	    oidc_get_string(c, base, e, "principal", &p->principal) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s.name", base);
	if (!oidc_name_ok(p->name, OIDC_NAME_MAX)) {
		oidc_fail(c, path, "must be 1 to %d of [A-Za-z0-9._-]",
		    OIDC_NAME_MAX);
		return -1;
	}
	for (i = 0; i + 1 < ps->n; i++) {
		if (strcmp(ps->v[i].name, p->name) == 0) {
			oidc_fail(
			    c, path, "duplicate of auth.oidc[%zu].name", i);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s.issuer", base);
	if (!oidc_https_url_ok(p->issuer)) {
		oidc_fail(
		    c, path, "must be an https URL without query or fragment");
		return -1;
	}
	snprintf(path, sizeof(path), "%s.audience", base);
	if (!oidc_printable(p->audience, OIDC_AUD_MAX)) {
		oidc_fail(c, path, "must be 1 to %d printable characters",
		    OIDC_AUD_MAX);
		return -1;
	}
	if (json_object_get(e, "jwks_file") != NULL &&
	    oidc_get_string(c, base, e, "jwks_file", &p->jwks_file) == -1)
		return -1;
	if (json_object_get(e, "jwks_url") != NULL &&
	    oidc_get_string(c, base, e, "jwks_url", &p->jwks_url) == -1)
		return -1;
	if ((p->jwks_file == NULL) == (p->jwks_url == NULL)) {
		oidc_fail(c, base, "needs exactly one of jwks_file, jwks_url");
		return -1;
	}
	if (p->jwks_file != NULL && p->jwks_file[0] == '\0') {
		snprintf(path, sizeof(path), "%s.jwks_file", base);
		oidc_fail(c, path, "must not be empty");
		return -1;
	}
	if (p->jwks_url != NULL && !oidc_jwks_url_ok(p->jwks_url)) {
		snprintf(path, sizeof(path), "%s.jwks_url", base);
		oidc_fail(c, path,
		    "must be an https URL (http only to 127.0.0.1, localhost "
		    "or [::1])");
		return -1;
	}
	if (json_object_get(e, "ca_file") != NULL) {
		if (oidc_get_string(c, base, e, "ca_file", &p->ca_file) == -1)
			return -1;
		snprintf(path, sizeof(path), "%s.ca_file", base);
		if (p->jwks_url == NULL || p->ca_file[0] == '\0') {
			oidc_fail(c, path,
			    "must be a non-empty path, with jwks_url only");
			return -1;
		}
	}
	if ((v = json_object_get(e, "jwks_refetch_interval")) != NULL) {
		long n = oidc_duration(v);

		snprintf(path, sizeof(path), "%s.jwks_refetch_interval", base);
		if (p->jwks_url == NULL || n < 1 || n > 3600) {
			oidc_fail(c, path,
			    "must be a duration between 1s and 1h, with "
			    "jwks_url only");
			return -1;
		}
		p->jwks_refetch = (unsigned)n;
	}
	for (i = 0; i + 1 < ps->n; i++) {
		if (strcmp(ps->v[i].issuer, p->issuer) == 0 &&
		    (!oidc_same(ps->v[i].jwks_file, p->jwks_file) ||
			!oidc_same(ps->v[i].jwks_url, p->jwks_url))) {
			snprintf(path, sizeof(path), "%s.%s", base,
			    p->jwks_file != NULL ? "jwks_file" : "jwks_url");
			oidc_fail(c, path,
			    "must name the same JWKS as auth.oidc[%zu], "
			    "which has the same issuer",
			    i);
			return -1;
		}
	}
	if ((v = json_object_get(e, "claims")) == NULL) {
		snprintf(path, sizeof(path), "%s.claims", base);
		oidc_fail(c, path,
		    "missing (a provider without claim rules would trust "
		    "every job of the issuer)");
		return -1;
	}
	if (oidc_load_rules(c, base, v, p) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s.principal", base);
	if (!oidc_template_ok(p->principal, &why)) {
		oidc_fail(c, path, "%s", why);
		return -1;
	}
	if ((v = json_object_get(e, "roles")) == NULL) {
		snprintf(path, sizeof(path), "%s.roles", base);
		oidc_fail(c, path, "missing");
		return -1;
	}
	return oidc_load_roles(c, base, v, p);
}

int
oidc_load(const char *file, const json_t *arr, struct oidc_providers **out,
    char *err, size_t errlen)
{
	struct oidc_ctx c = {file != NULL ? file : "config", err, errlen};
	struct oidc_providers *ps = NULL;
	json_t *e;
	size_t i, n;
	int rc = -1;

	*out = NULL;
	if (arr != NULL && !json_is_array(arr)) {
		oidc_fail(&c, "auth.oidc", "must be an array");
		goto out;
	}
	n = arr != NULL ? json_array_size(arr) : 0;
	if (n > OIDC_PROVIDERS_MAX) {
		oidc_fail(&c, "auth.oidc", "more than %d providers",
		    OIDC_PROVIDERS_MAX);
		goto out;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (n > 0 && (ps->v = calloc(n, sizeof(*ps->v))) == NULL)) {
		oidc_fail(&c, "auth.oidc", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		e = json_array_get(arr, i);
		if (oidc_load_one(&c, e, i, ps) == -1)
			goto out;
	}
	*out = ps;
	ps = NULL;
	rc = 0;
out:
	oidc_free(ps);
	return rc;
}

/* ------------------------------------------------------------------ */
/* globs */

int
oidc_glob_match(const char *pattern, const char *s)
{
	/* reach[j]: the pattern so far matches s[0..j). */
	unsigned char reach[OIDC_VALUE_MAX + 1], next[OIDC_VALUE_MAX + 1];
	size_t n, j;
	const char *p;
	int star2;

	if (pattern == NULL || s == NULL)
		return 0;
	if ((n = strlen(s)) > OIDC_VALUE_MAX)
		return 0;
	if (strchr(pattern, '*') == NULL)
		return strcmp(pattern, s) == 0;
	memset(reach, 0, n + 1);
	reach[0] = 1;
	for (p = pattern; *p != '\0'; p++) {
		if (*p == '*') {
			star2 = p[1] == '*';
			while (p[1] == '*')
				p++;
			next[0] = reach[0];
			for (j = 1; j <= n; j++)
				next[j] = reach[j] ||
				    (next[j - 1] && (star2 || s[j - 1] != '/'));
		} else {
			next[0] = 0;
			for (j = 1; j <= n; j++)
				next[j] = reach[j - 1] && s[j - 1] == *p;
		}
		memcpy(reach, next, n + 1);
	}
	return reach[n];
}

/* ------------------------------------------------------------------ */
/* matching */

/*
 * The string form of a claim value for rules and templates: strings
 * (without NUL) as they are, booleans "true"/"false", integers in
 * decimal (into buf). NULL for reals, null, objects and arrays.
 */
static const char *
oidc_claim_str(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		return oidc_str(v);
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	if (json_is_integer(v)) {
		snprintf(
		    buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return NULL;
}

static int
oidc_aud_has(const json_t *claims, const char *aud)
{
	const json_t *a, *v;
	size_t i;

	a = json_object_get(claims, "aud");
	if (json_is_string(a))
		return oidc_same(oidc_str(a), aud);
	json_array_foreach(a, i, v)
	{
		if (oidc_same(oidc_str(v), aud))
			return 1;
	}
	return 0;
}

/* Every rule of p matches claims; else the first failure in err. */
static int
oidc_rules_match(const struct oidc_provider *p, const json_t *claims, char *err,
    size_t errlen)
{
	char ibuf[OIDC_INT_SIZE], pr[80];
	const struct oidc_rule *r;
	const char *s;
	size_t i, j;

	for (i = 0; i < p->nrules; i++) {
		r = &p->rules[i];
		s = oidc_claim_str(
		    json_object_get(claims, r->claim), ibuf, sizeof(ibuf));
		if (s == NULL) {
			jwt_err(err, errlen,
			    "provider %s: claim %s missing or not a string",
			    p->name, r->claim);
			return 0;
		}
		for (j = 0; j < r->npatterns; j++)
			if (oidc_glob_match(r->patterns[j], s))
				break;
		if (j == r->npatterns) {
			jwt_err(err, errlen,
			    "provider %s: claim %s value %s matches no rule",
			    p->name, r->claim,
			    jwt_printable(s, 64, pr, sizeof(pr)));
			return 0;
		}
	}
	return 1;
}

/* Fill p's principal template from claims into out. */
static int
oidc_principal(const struct oidc_provider *p, const json_t *claims,
    char out[OIDC_PRINCIPAL_MAX + 1], char *err, size_t errlen)
{
	char name[OIDC_NAME_MAX + 1], ibuf[OIDC_INT_SIZE];
	const char *t, *close, *s;
	size_t n = 0, len, k;

	out[0] = '\0';
	for (t = p->principal; *t != '\0'; t++) {
		if (*t != '{') {
			if (n >= OIDC_PRINCIPAL_MAX)
				goto toolong;
			out[n++] = *t;
			continue;
		}
		close = strchr(t, '}'); /* oidc_template_ok() checked */
		len = (size_t)(close - t - 1);
		if (len > OIDC_NAME_MAX)
			len = OIDC_NAME_MAX;
		memcpy(name, t + 1, len);
		name[len] = '\0';
		t = close;
		s = oidc_claim_str(
		    json_object_get(claims, name), ibuf, sizeof(ibuf));
		if (s == NULL || *s == '\0') {
			jwt_err(err, errlen,
			    "provider %s: principal: claim %s missing or empty",
			    p->name, name);
			return -1;
		}
		for (k = 0; s[k] != '\0'; k++) {
			if (!oidc_principal_char((unsigned char)s[k])) {
				jwt_err(err, errlen,
				    "provider %s: principal: claim %s has a "
				    "character outside [A-Za-z0-9._/@:-]",
				    p->name, name);
				return -1;
			}
			if (n >= OIDC_PRINCIPAL_MAX)
				goto toolong;
			out[n++] = s[k];
		}
	}
	out[n] = '\0';
	return 0;
toolong:
	out[0] = '\0';
	jwt_err(err, errlen, "provider %s: principal longer than %d bytes",
	    p->name, OIDC_PRINCIPAL_MAX);
	return -1;
}

enum token_status
oidc_provider_for(const struct oidc_providers *ps, const struct jwt *jwt,
    const struct oidc_provider **p, char *err, size_t errlen)
{
	const char *iss;
	char pr[80];
	size_t i;

	*p = NULL;
	if ((iss = oidc_str(json_object_get(jwt->claims, "iss"))) == NULL) {
		jwt_err(err, errlen, "iss missing or not a string");
		return TOKEN_BAD_CLAIM;
	}
	for (i = 0; ps != NULL && i < ps->n; i++) {
		if (strcmp(ps->v[i].issuer, iss) == 0) {
			*p = &ps->v[i];
			return TOKEN_OK;
		}
	}
	jwt_err(err, errlen, "no OIDC provider for issuer %s",
	    jwt_printable(iss, 64, pr, sizeof(pr)));
	return TOKEN_WRONG_ISSUER;
}

enum token_status
oidc_match(const struct oidc_providers *ps, const json_t *claims,
    struct oidc_ident *id, char *err, size_t errlen)
{
	const struct oidc_provider *p;
	const char *iss;
	char pr[80];
	size_t i;
	enum token_status st = TOKEN_WRONG_ISSUER;

	memset(id, 0, sizeof(*id));
	if ((iss = oidc_str(json_object_get(claims, "iss"))) == NULL) {
		jwt_err(err, errlen, "iss missing or not a string");
		return TOKEN_BAD_CLAIM;
	}
	jwt_err(err, errlen, "no OIDC provider for issuer %s",
	    jwt_printable(iss, 64, pr, sizeof(pr)));
	for (i = 0; ps != NULL && i < ps->n; i++) {
		p = &ps->v[i];
		if (strcmp(p->issuer, iss) != 0)
			continue;
		if (!oidc_aud_has(claims, p->audience)) {
			if (st == TOKEN_WRONG_ISSUER) {
				st = TOKEN_WRONG_AUDIENCE;
				jwt_err(err, errlen,
				    "aud does not name the audience of "
				    "provider %s",
				    p->name);
			}
			continue;
		}
		if (!oidc_rules_match(p, claims,
			st == TOKEN_BAD_PRINCIPAL ? NULL : err,
			st == TOKEN_BAD_PRINCIPAL ? 0 : errlen)) {
			if (st != TOKEN_BAD_PRINCIPAL)
				st = TOKEN_CLAIM_MISMATCH;
			continue;
		}
		if (oidc_principal(p, claims, id->principal, err, errlen) ==
		    -1) {
			st = TOKEN_BAD_PRINCIPAL;
			continue;
		}
		id->provider = p;
		return TOKEN_OK;
	}
	memset(id, 0, sizeof(*id));
	return st;
}

enum token_status
oidc_verify(const struct oidc_providers *ps, const struct jwks *set,
    const struct jwt *jwt, time_t now, long leeway, struct oidc_ident *id,
    char *err, size_t errlen)
{
	const struct oidc_provider *p;
	const struct jwt_key *key;
	struct jwt_expect want;
	enum token_status st;
	char pr[80];
	size_t i;

	memset(id, 0, sizeof(*id));
	if ((st = oidc_provider_for(ps, jwt, &p, err, errlen)) != TOKEN_OK)
		return st;
	if ((st = jwks_find(set, jwt->kid, &key)) != TOKEN_OK) {
		jwt_err(err, errlen, "provider %s: no key for kid %s", p->name,
		    jwt->kid != NULL
			? jwt_printable(jwt->kid, 64, pr, sizeof(pr))
			: "(none)");
		return st;
	}
	if ((st = jwt_verify(jwt, key, err, errlen)) != TOKEN_OK)
		return st;
	/* Time claims: under each candidate provider's audience in turn. */
	st = TOKEN_WRONG_AUDIENCE;
	for (i = 0; i < ps->n && st == TOKEN_WRONG_AUDIENCE; i++) {
		if (strcmp(ps->v[i].issuer, p->issuer) != 0)
			continue;
		want.iss = ps->v[i].issuer;
		want.aud = ps->v[i].audience;
		want.now = now;
		want.leeway = leeway;
		st = jwt_check_claims(jwt->claims, &want, err, errlen);
	}
	if (st != TOKEN_OK)
		return st;
	return oidc_match(ps, jwt->claims, id, err, errlen);
}
