/*
 * registry_cred: where regward-sign finds registry credentials. The
 * environment (REGWARD_USERNAME / REGWARD_PASSWORD), docker's config.json
 * ("auths" entries written by `docker login`; credential helpers are not
 * run) and a password read from a stream (--password-stdin). Secrets are
 * wiped before their memory is freed; messages never contain them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "regward/registry.h"

#define REGISTRY_CRED_CONFIG_MAX (1024 * 1024)
#define REGISTRY_CRED_HUB_KEY "https://index.docker.io/v1/"
#define REGISTRY_CRED_ALT                                                      \
	"set REGWARD_USERNAME and REGWARD_PASSWORD or use --password-stdin"

static void registry_cred_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
registry_cred_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Wipe and free a NUL-terminated secret. */
static void
registry_cred_wipe(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static int
registry_cred_user_ok(const char *u)
{
	const unsigned char *p;

	if (u == NULL || u[0] == '\0' || strlen(u) > 1024)
		return 0;
	for (p = (const unsigned char *)u; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == ':')
			return 0;
	}
	return 1;
}

static int
registry_cred_pass_ok(const char *s)
{
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	return len > 0 && len <= REGISTRY_PASSWORD_MAX &&
	    strpbrk(s, "\r\n") == NULL;
}

struct registry_cred *
registry_cred_new(
    const char *username, const char *password, const char *source)
{
	struct registry_cred *c = NULL;

	if (!registry_cred_user_ok(username) ||
	    !registry_cred_pass_ok(password))
		goto fail;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	if ((c->username = strdup(username)) == NULL ||
	    (c->password = strdup(password)) == NULL)
		goto fail;
	if (source != NULL && (c->source = strdup(source)) == NULL)
		goto fail;
	return c;
fail:
	registry_cred_free(c);
	return NULL;
}

struct registry_cred *
registry_cred_dup(const struct registry_cred *c)
{
	struct registry_cred *d;

	if (c == NULL)
		return NULL;
	if ((d = registry_cred_new(c->username, c->password, c->source)) !=
	    NULL)
		d->identity_token = c->identity_token;
	return d;
}

void
registry_cred_free(struct registry_cred *c)
{
	if (c == NULL)
		return;
	registry_cred_wipe(c->username);
	registry_cred_wipe(c->password);
	free(c->source);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

int
registry_cred_from_env(struct registry_cred **out, char *err, size_t errlen)
{
	const char *u, *p;
	int rc = -1;

	*out = NULL;
	u = getenv("REGWARD_USERNAME");
	p = getenv("REGWARD_PASSWORD");
	if (u != NULL && u[0] == '\0')
		u = NULL;
	if (p != NULL && p[0] == '\0')
		p = NULL;
	if (u == NULL && p == NULL) {
		rc = 0;
		goto out;
	}
	if (u == NULL || p == NULL) {
		registry_cred_errf(err, errlen, "%s is set but %s is not",
		    u != NULL ? "REGWARD_USERNAME" : "REGWARD_PASSWORD",
		    u != NULL ? "REGWARD_PASSWORD" : "REGWARD_USERNAME");
		goto out;
	}
	if (!registry_cred_user_ok(u)) {
		registry_cred_errf(err, errlen,
		    "REGWARD_USERNAME: must be 1..1024 bytes without ':' or "
		    "control characters");
		goto out;
	}
	if ((*out = registry_cred_new(u, p, "REGWARD_USERNAME")) == NULL) {
		registry_cred_errf(err, errlen,
		    "REGWARD_PASSWORD: must be 1..%d bytes without CR or LF",
		    REGISTRY_PASSWORD_MAX);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

int
registry_cred_from_file(FILE *fp, const char *username,
    struct registry_cred **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int c, rc = -1;

	*out = NULL;
	if (!registry_cred_user_ok(username)) {
		registry_cred_errf(err, errlen,
		    "a user name (1..1024 bytes, no ':' or control characters) "
		    "is required with a password from stdin");
		goto out;
	}
	if ((buf = malloc(REGISTRY_PASSWORD_MAX + 1)) == NULL) {
		registry_cred_errf(err, errlen, "out of memory");
		goto out;
	}
	while ((c = getc(fp)) != EOF && c != '\n') {
		if (len == REGISTRY_PASSWORD_MAX) {
			registry_cred_errf(err, errlen,
			    "password on stdin: longer than %d bytes",
			    REGISTRY_PASSWORD_MAX);
			goto out;
		}
		buf[len++] = (char)c;
	}
	if (ferror(fp)) {
		registry_cred_errf(
		    err, errlen, "password on stdin: %s", strerror(errno));
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (len == 0) {
		registry_cred_errf(err, errlen, "password on stdin: empty");
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL || strchr(buf, '\r') != NULL) {
		registry_cred_errf(err, errlen,
		    "password on stdin: contains a NUL or CR byte");
		goto out;
	}
	if ((*out = registry_cred_new(username, buf, "stdin")) == NULL) {
		registry_cred_errf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, REGISTRY_PASSWORD_MAX + 1);
		free(buf);
	}
	return rc;
}

/*
 * docker's ConvertToHostname: strip "http://" or "https://" and anything
 * from the first '/'. Writes into out (outlen > 0); returns its length, or
 * (size_t)-1 when it does not fit.
 */
static size_t
registry_cred_key_host(const char *key, char *out, size_t outlen)
{
	size_t n;

	if (strncasecmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncasecmp(key, "http://", 7) == 0)
		key += 7;
	n = strcspn(key, "/");
	if (n >= outlen)
		return (size_t)-1;
	memcpy(out, key, n);
	out[n] = '\0';
	return n;
}

static int
registry_cred_is_hub(const char *host)
{
	return strcasecmp(host, "docker.io") == 0 ||
	    strcasecmp(host, "index.docker.io") == 0 ||
	    strcasecmp(host, "registry-1.docker.io") == 0;
}

/* Does config key name the registry host? (docker's matching rules) */
static int
registry_cred_key_matches(const char *key, const char *host)
{
	char kh[512];

	if (strcasecmp(key, host) == 0)
		return 1;
	if (registry_cred_key_host(key, kh, sizeof(kh)) == (size_t)-1)
		return 0;
	if (strcasecmp(kh, host) == 0)
		return 1;
	return registry_cred_is_hub(host) && registry_cred_is_hub(kh);
}

/*
 * Find the entry for host in object obj: the exact key, then docker
 * hub's canonical key, then any key whose host part matches. Borrowed
 * reference; *keyp names the key.
 */
static json_t *
registry_cred_lookup(json_t *obj, const char *host, const char **keyp)
{
	const char *key;
	json_t *v;

	*keyp = NULL;
	if (!json_is_object(obj))
		return NULL;
	if ((v = json_object_get(obj, host)) != NULL) {
		*keyp = host;
		return v;
	}
	if (registry_cred_is_hub(host) &&
	    (v = json_object_get(obj, REGISTRY_CRED_HUB_KEY)) != NULL) {
		*keyp = REGISTRY_CRED_HUB_KEY;
		return v;
	}
	json_object_foreach(obj, key, v)
	{
		if (registry_cred_key_matches(key, host)) {
			*keyp = key;
			return v;
		}
	}
	return NULL;
}

/*
 * Decode base64 "user:pass" (standard alphabet, padded, as docker writes
 * it) into new strings. Returns 0, or -1 when malformed. The decoded buffer
 * is wiped.
 */
static int
registry_cred_decode_auth(const char *b64, char **user, char **pass)
{
	unsigned char *buf = NULL;
	size_t len = strlen(b64), pad = 0, n;
	char *colon;
	int dn, rc = -1;

	*user = NULL;
	*pass = NULL;
	if (len == 0 || len % 4 != 0 || len > 4 * REGISTRY_PASSWORD_MAX)
		goto out;
	if ((buf = malloc(len / 4 * 3 + 1)) == NULL)
		goto out;
	if ((dn = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len)) <
	    0)
		goto out;
	if (b64[len - 1] == '=')
		pad++;
	if (b64[len - 2] == '=')
		pad++;
	n = (size_t)dn - pad;
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL)
		goto out;
	if ((colon = strchr((char *)buf, ':')) == NULL)
		goto out;
	*colon = '\0';
	if ((*user = strdup((char *)buf)) == NULL ||
	    (*pass = strdup(colon + 1)) == NULL)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		registry_cred_wipe(*user);
		registry_cred_wipe(*pass);
		*user = NULL;
		*pass = NULL;
	}
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len / 4 * 3 + 1);
		free(buf);
	}
	return rc;
}

static const char *
registry_cred_str(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	return json_is_string(v) ? json_string_value(v) : "";
}

int
registry_cred_from_docker_json(const char *name, const char *text, size_t len,
    const char *host, struct registry_cred **out, char *err, size_t errlen)
{
	json_t *root = NULL, *auths, *helpers, *entry, *h;
	const char *key = NULL, *store = NULL, *tok;
	char *user = NULL, *pass = NULL;
	json_error_t jerr;
	int rc = -1;

	*out = NULL;
	if (host == NULL || host[0] == '\0') {
		registry_cred_errf(
		    err, errlen, "%s: no registry host given", name);
		goto out;
	}
	if ((root = json_loadb(text, len, 0, &jerr)) == NULL) {
		registry_cred_errf(
		    err, errlen, "%s: line %d: %s", name, jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		registry_cred_errf(err, errlen, "%s: not a JSON object", name);
		goto out;
	}
	auths = json_object_get(root, "auths");
	if (auths != NULL && !json_is_object(auths)) {
		registry_cred_errf(
		    err, errlen, "%s: auths: not an object", name);
		goto out;
	}
	h = json_object_get(root, "credsStore");
	if (json_is_string(h) && json_string_length(h) > 0)
		store = json_string_value(h);
	helpers = json_object_get(root, "credHelpers");
	if ((h = registry_cred_lookup(helpers, host, &key)) != NULL) {
		registry_cred_errf(err, errlen,
		    "%s: credHelpers: credentials for %s are kept by "
		    "docker-credential-%s; credential helpers are not "
		    "supported: " REGISTRY_CRED_ALT,
		    name, host, json_is_string(h) ? json_string_value(h) : "?");
		goto out;
	}
	entry = registry_cred_lookup(auths, host, &key);
	if (entry != NULL && !json_is_object(entry)) {
		registry_cred_errf(
		    err, errlen, "%s: auths.%s: not an object", name, key);
		goto out;
	}
	if (entry != NULL && registry_cred_str(entry, "auth")[0] != '\0') {
		if (registry_cred_decode_auth(
			registry_cred_str(entry, "auth"), &user, &pass) == -1) {
			registry_cred_errf(err, errlen,
			    "%s: auths.%s.auth: not base64 of "
			    "\"user:password\"",
			    name, key);
			goto out;
		}
	} else if (entry != NULL) {
		if ((user = strdup(registry_cred_str(entry, "username"))) ==
			NULL ||
		    (pass = strdup(registry_cred_str(entry, "password"))) ==
			NULL)
			goto nomem;
	}
	tok = entry != NULL ? registry_cred_str(entry, "identitytoken") : "";
	if (tok[0] != '\0') {
		if (user == NULL || user[0] == '\0') {
			free(user);
			if ((user = strdup("<token>")) == NULL)
				goto nomem;
		}
		registry_cred_wipe(pass);
		if ((pass = strdup(tok)) == NULL)
			goto nomem;
	}
	if (pass == NULL || pass[0] == '\0') {
		/* No inline credentials for host. */
		if (entry != NULL && store != NULL) {
			registry_cred_errf(err, errlen,
			    "%s: credsStore: credentials for %s are kept by "
			    "docker-credential-%s; credential helpers are not "
			    "supported: " REGISTRY_CRED_ALT,
			    name, host, store);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if ((*out = registry_cred_new(user, pass, name)) == NULL) {
		registry_cred_errf(err, errlen,
		    "%s: auths.%s: user name or password is empty or holds "
		    "control characters",
		    name, key);
		goto out;
	}
	(*out)->identity_token = tok[0] != '\0';
	rc = 0;
	goto out;
nomem:
	registry_cred_errf(err, errlen, "%s: out of memory", name);
out:
	registry_cred_wipe(user);
	registry_cred_wipe(pass);
	json_decref(root);
	return rc;
}

/* Path of docker's config.json into out; 0, or -1 when none applies. */
static int
registry_cred_config_path(char *out, size_t outlen)
{
	const char *d, *home;
	int n;

	if ((d = getenv("DOCKER_CONFIG")) != NULL && d[0] != '\0')
		n = snprintf(out, outlen, "%s/config.json", d);
	else if ((home = getenv("HOME")) != NULL && home[0] != '\0')
		n = snprintf(out, outlen, "%s/.docker/config.json", home);
	else
		return -1;
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
registry_cred_from_docker_config(
    const char *host, struct registry_cred **out, char *err, size_t errlen)
{
	char path[4096];
	char *text = NULL;
	struct stat sb;
	FILE *fp = NULL;
	size_t len;
	int rc = -1;

	*out = NULL;
	if (registry_cred_config_path(path, sizeof(path)) == -1) {
		rc = 0;
		goto out;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR) {
			rc = 0;
			goto out;
		}
		registry_cred_errf(
		    err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(fp), &sb) == -1) {
		registry_cred_errf(
		    err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > REGISTRY_CRED_CONFIG_MAX) {
		registry_cred_errf(err, errlen,
		    "%s: not a regular file of at most %d bytes", path,
		    REGISTRY_CRED_CONFIG_MAX);
		goto out;
	}
	if ((text = malloc((size_t)sb.st_size + 1)) == NULL) {
		registry_cred_errf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	len = fread(text, 1, (size_t)sb.st_size + 1, fp);
	if (ferror(fp) || len > (size_t)sb.st_size) {
		registry_cred_errf(
		    err, errlen, "%s: read error or file grew", path);
		goto out;
	}
	rc = registry_cred_from_docker_json(
	    path, text, len, host, out, err, errlen);
out:
	if (text != NULL) {
		OPENSSL_cleanse(text, (size_t)sb.st_size + 1);
		free(text);
	}
	if (fp != NULL)
		fclose(fp);
	return rc;
}

int
registry_cred_default(
    const char *host, struct registry_cred **out, char *err, size_t errlen)
{
	*out = NULL;
	if (registry_cred_from_env(out, err, errlen) == -1)
		return -1;
	if (*out != NULL)
		return 0;
	return registry_cred_from_docker_config(host, out, err, errlen);
}
