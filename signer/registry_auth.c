/*
 * registry_auth: the pure side of registry authentication. Parses
 * WWW-Authenticate challenges (RFC 7235), builds the token request URL of
 * the Docker token flow and parses the token server's reply. The client in
 * registry.c drives them; unit tests call them directly.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "regward/registry.h"

#define REGISTRY_AUTH_TOKEN_MAX (16 * 1024)

/* tchar per RFC 7230 section 3.2.6. */
static int
registry_auth_tchar(char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* token68 characters, without the trailing '=' padding. */
static int
registry_auth_t68char(char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("-._~+/", c) != NULL;
}

static char *
registry_auth_ows(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * After an item: optional whitespace, then ',' (consumed) or the end.
 * Returns the position after it, or NULL on anything else.
 */
static char *
registry_auth_sep(char *p)
{
	p = registry_auth_ows(p);
	if (*p == ',')
		return p + 1;
	if (*p == '\0')
		return p;
	return NULL;
}

/*
 * Unquote the quoted-string at p (p[0] == '"') in place: the value starts
 * at p and is NUL-terminated; returns the position after the closing
 * quote, or NULL when it is missing or a control byte appears.
 */
static char *
registry_auth_unquote(char *p)
{
	char *src = p + 1, *dst = p;

	for (;;) {
		unsigned char c = (unsigned char)*src;

		if (c == '"')
			break;
		if (c == '\\') {
			src++;
			c = (unsigned char)*src;
		}
		if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f)
			return NULL;
		*dst++ = (char)c;
		src++;
	}
	*dst = '\0';
	return src + 1;
}

/*
 * Parse the auth-param or token68 at p for challenge c. Returns the
 * position after the item and its separator, or NULL on a syntax error.
 */
static char *
registry_auth_param_parse(char *p, struct registry_auth_chal *c)
{
	char *name = p, *nend, *val, *q;
	char term;

	while (registry_auth_tchar(*p))
		p++;
	nend = p;
	q = registry_auth_ows(p);
	if (nend == name || *q != '=')
		return NULL;
	*nend = '\0';
	q = registry_auth_ows(q + 1);
	if (*q == '"') {
		val = q;
		if ((p = registry_auth_unquote(q)) == NULL)
			return NULL;
		p = registry_auth_sep(p);
	} else {
		val = q;
		/* Lenient: anything up to ',' or whitespace (bare URLs). */
		while (*q != '\0' && *q != ',' && *q != ' ' && *q != '\t' &&
		    *q != '"' && (unsigned char)*q >= 0x20 && *q != 0x7f)
			q++;
		if (q == val)
			return NULL;
		term = *q;
		*q = '\0';
		if (term == ',')
			p = q + 1;
		else if (term == '\0')
			p = q;
		else if (term == ' ' || term == '\t')
			p = registry_auth_sep(q + 1);
		else
			return NULL;
	}
	if (p == NULL)
		return NULL;
	if (c->nparams < REGISTRY_AUTH_PARAM_MAX) {
		c->params[c->nparams].name = name;
		c->params[c->nparams].value = val;
		c->nparams++;
	}
	return p;
}

/*
 * After a scheme and whitespace: is the item at p a token68 rather than an
 * auth-param? An auth-param is a token, BWS, '=', BWS and a value that is
 * not another '=' (which would be token68 padding), ',' or the end.
 */
static int
registry_auth_is_token68(const char *p)
{
	while (registry_auth_tchar(*p))
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=')
		return 1;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '=' || *p == ',' || *p == '\0';
}

/* Is the item at p (after a comma) an auth-param of the open challenge? */
static int
registry_auth_is_param(const char *p)
{
	while (registry_auth_tchar(*p))
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '=';
}

int
registry_auth_parse(
    char *buf, struct registry_auth_chal *chal, size_t max, size_t *n)
{
	struct registry_auth_chal scratch, *cur = NULL;
	size_t stored = 0;
	char *p = buf, *name, *t;
	char term;
	int rc = -1, can_param = 0;

	*n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (cur != NULL && can_param && registry_auth_is_param(p)) {
			if ((p = registry_auth_param_parse(p, cur)) == NULL)
				goto out;
			continue;
		}
		/* A new challenge: the previous one is complete. */
		if (cur != NULL && cur != &scratch)
			stored++;
		cur = stored < max ? &chal[stored] : &scratch;
		memset(cur, 0, sizeof(*cur));
		can_param = 0;
		name = p;
		while (registry_auth_tchar(*p))
			p++;
		if (p == name)
			goto out;
		term = *p;
		if (term != '\0' && term != ',' && term != ' ' && term != '\t')
			goto out;
		*p = '\0';
		cur->scheme = name;
		if (term == '\0')
			break;
		p++;
		if (term == ',')
			continue;
		p = registry_auth_ows(p);
		if (*p == '\0' || *p == ',')
			continue;
		if (!registry_auth_is_token68(p)) {
			can_param = 1;
			continue;
		}
		t = p;
		while (registry_auth_t68char(*p))
			p++;
		if (p == t)
			goto out;
		while (*p == '=')
			p++;
		term = *p;
		*p = '\0';
		cur->token68 = t;
		if (term == ',' || term == '\0') {
			p += term == ',';
			continue;
		}
		if (term != ' ' && term != '\t')
			goto out;
		if ((p = registry_auth_sep(p + 1)) == NULL)
			goto out;
	}
	if (cur != NULL && cur != &scratch)
		stored++;
	rc = 0;
out:
	*n = stored;
	return rc;
}

const char *
registry_auth_param(const struct registry_auth_chal *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nparams; i++) {
		if (strcasecmp(c->params[i].name, name) == 0)
			return c->params[i].value;
	}
	return NULL;
}

char *
registry_auth_token_url(const char *realm, const char *service,
    const char *const *scopes, size_t nscopes)
{
	char *url = NULL, *next;
	size_t i, j, hostlen;
	const char *h;

	if (realm == NULL)
		goto out;
	if (strncasecmp(realm, "https://", 8) == 0)
		h = realm + 8;
	else if (strncasecmp(realm, "http://", 7) == 0)
		h = realm + 7;
	else
		goto out;
	hostlen = strcspn(h, "/?#");
	if (hostlen == 0 || memchr(h, '@', hostlen) != NULL)
		goto out;
	if (strlen(realm) > REGISTRY_URL_MAX || strpbrk(realm, " \t\r\n"))
		goto out;
	if ((url = strdup(realm)) == NULL)
		goto out;
	if (service != NULL && service[0] != '\0') {
		next = registry_url_add_query(url, "service", service);
		free(url);
		if ((url = next) == NULL)
			goto out;
	}
	for (i = 0; i < nscopes; i++) {
		if (scopes[i] == NULL || scopes[i][0] == '\0')
			continue;
		for (j = 0; j < i; j++) {
			if (scopes[j] != NULL &&
			    strcmp(scopes[j], scopes[i]) == 0)
				break;
		}
		if (j < i)
			continue;
		next = registry_url_add_query(url, "scope", scopes[i]);
		free(url);
		if ((url = next) == NULL)
			goto out;
	}
out:
	return url;
}

static int
registry_auth_token_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > REGISTRY_AUTH_TOKEN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	}
	return 1;
}

int
registry_auth_token_parse(
    const char *body, size_t len, char **tok, long *expires_in)
{
	json_t *root = NULL, *v;
	const char *s = NULL;
	json_int_t exp = 60;
	int rc = -1;

	*tok = NULL;
	*expires_in = 0;
	if (len > REGISTRY_TOKEN_BODY_MAX)
		goto out;
	if ((root = json_loadb(body, len, 0, NULL)) == NULL ||
	    !json_is_object(root))
		goto out;
	v = json_object_get(root, "token");
	if (json_is_string(v) && json_string_length(v) > 0)
		s = json_string_value(v);
	if (s == NULL) {
		v = json_object_get(root, "access_token");
		if (json_is_string(v) && json_string_length(v) > 0)
			s = json_string_value(v);
	}
	if (s == NULL || !registry_auth_token_ok(s))
		goto out;
	v = json_object_get(root, "expires_in");
	if (json_is_integer(v))
		exp = json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) >= 1 &&
	    json_real_value(v) <= 86400)
		exp = (json_int_t)json_real_value(v);
	if (exp < 1)
		exp = 1;
	if (exp > 86400)
		exp = 86400;
	if ((*tok = strdup(s)) == NULL)
		goto out;
	*expires_in = (long)exp;
	rc = 0;
out:
	json_decref(root);
	return rc;
}
