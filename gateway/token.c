/*
 * token: regward's own registry tokens, as distribution's token spec
 * (docs/spec/auth/token.md, jwt.md, scope.md) describes them. The /token
 * endpoint parses the requested scopes, intersects them with the policy
 * and issues a short ES256 JWT; every Bearer request is then verified
 * here against regward's key and checked for the repository and action.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "regward/token.h"

#define TOKEN_TTL_MAX 86400
#define TOKEN_JTI_BYTES 16
#define TOKEN_EXP_MAX 253402300799.0 /* 9999-12-31T23:59:59Z */

static const char *const token_status_names[] = {
    [TOKEN_OK] = "ok",
    [TOKEN_BAD_FORMAT] = "bad_format",
    [TOKEN_ALG_NONE] = "alg_none",
    [TOKEN_ALG_HMAC] = "alg_hmac",
    [TOKEN_ALG_UNSUPPORTED] = "alg_unsupported",
    [TOKEN_ALG_MISMATCH] = "alg_mismatch",
    [TOKEN_CRIT] = "crit",
    [TOKEN_UNKNOWN_KID] = "unknown_kid",
    [TOKEN_BAD_SIGNATURE] = "bad_signature",
    [TOKEN_BAD_CLAIM] = "bad_claim",
    [TOKEN_EXPIRED] = "expired",
    [TOKEN_NOT_YET_VALID] = "not_yet_valid",
    [TOKEN_WRONG_ISSUER] = "wrong_issuer",
    [TOKEN_WRONG_AUDIENCE] = "wrong_audience",
    [TOKEN_CLAIM_MISMATCH] = "claim_mismatch",
    [TOKEN_BAD_PRINCIPAL] = "bad_principal",
    [TOKEN_INTERNAL] = "internal",
};

const char *
token_status_str(enum token_status st)
{
	if ((size_t)st >=
		sizeof(token_status_names) / sizeof(token_status_names[0]) ||
	    token_status_names[st] == NULL)
		return "unknown";
	return token_status_names[st];
}

/* ------------------------------------------------------------------ */
/* scopes and access lists */

static const struct {
	const char *name;
	unsigned bit;
} token_actions[] = {
    {"pull", TOKEN_ACT_PULL},
    {"push", TOKEN_ACT_PUSH},
    {"delete", TOKEN_ACT_DELETE},
    {"*", TOKEN_ACT_ALL},
};

#define TOKEN_NACTIONS (sizeof(token_actions) / sizeof(token_actions[0]))

unsigned
token_action_bit(const char *name)
{
	size_t i;

	for (i = 0; i < TOKEN_NACTIONS; i++)
		if (strcmp(token_actions[i].name, name) == 0)
			return token_actions[i].bit;
	return 0;
}

static int
token_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * Resource type "[a-z0-9]+" with an optional "([a-z0-9]+)" class, which
 * is validated and dropped (deprecated; repository(plugin) is repository).
 */
static int
token_type_parse(const char *s, size_t len, char out[TOKEN_TYPE_MAX + 1])
{
	size_t i = 0, n;

	while (i < len && token_alnum(s[i]))
		i++;
	n = i;
	if (n == 0 || n > TOKEN_TYPE_MAX)
		return -1;
	if (i < len) {
		if (s[i++] != '(' || s[len - 1] != ')' || i == len - 1)
			return -1;
		for (; i < len - 1; i++)
			if (!token_alnum(s[i]))
				return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/*
 * Repository name: '/'-separated components, each
 * [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)*, at most TOKEN_NAME_MAX bytes. No
 * registry host (no ':'; uppercase is not allowed either).
 */
static int
token_name_ok(const char *s, size_t len)
{
	size_t i = 0, k;

	if (len == 0 || len > TOKEN_NAME_MAX)
		return 0;
	for (;;) {
		/* one component */
		if (i >= len || !token_alnum(s[i]))
			return 0;
		while (i < len && token_alnum(s[i]))
			i++;
		while (i < len && s[i] != '/') {
			k = i;
			if (s[i] == '.')
				i++;
			else if (s[i] == '_')
				i += i + 1 < len && s[i + 1] == '_' ? 2 : 1;
			else if (s[i] == '-')
				while (i < len && s[i] == '-')
					i++;
			if (i == k || i >= len || !token_alnum(s[i]))
				return 0;
			while (i < len && token_alnum(s[i]))
				i++;
		}
		if (i == len)
			return 1;
		i++; /* '/' */
	}
}

/* Find or append type/name in list; NULL when full. */
static struct token_access *
token_access_slot(
    struct token_access_list *list, const char *type, const char *name)
{
	struct token_access *a;
	size_t i;

	for (i = 0; i < list->n; i++) {
		a = &list->v[i];
		if (strcmp(a->type, type) == 0 && strcmp(a->name, name) == 0)
			return a;
	}
	if (list->n >= TOKEN_ACCESS_MAX)
		return NULL;
	a = &list->v[list->n++];
	memset(a, 0, sizeof(*a));
	snprintf(a->type, sizeof(a->type), "%s", type);
	snprintf(a->name, sizeof(a->name), "%s", name);
	return a;
}

/* Actions "a[,a]*" of s[0..len) as bits; -1 when malformed. */
static int
token_actions_parse(const char *s, size_t len, unsigned *bits)
{
	char word[16];
	size_t i = 0, k;

	*bits = 0;
	for (;;) {
		k = i;
		while (i < len && s[i] != ',') {
			if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '*'))
				return -1;
			i++;
		}
		if (i == k)
			return -1;
		if (i - k < sizeof(word)) {
			memcpy(word, s + k, i - k);
			word[i - k] = '\0';
			if (strchr(word, '*') != NULL && strcmp(word, "*") != 0)
				return -1;
			*bits |= token_action_bit(word);
		}
		if (i == len)
			return 0;
		i++; /* ',' */
	}
}

int
token_scope_add(struct token_access_list *list, const char *s, size_t len,
    char *err, size_t errlen)
{
	struct token_access_list tmp;
	struct token_access *a;
	char type[TOKEN_TYPE_MAX + 1], name[TOKEN_NAME_MAX + 1];
	const char *item, *end, *c1, *c2;
	size_t ilen;
	unsigned bits;
	int idx = 0;

	if (s == NULL || len == 0) {
		jwt_err(err, errlen, "scope: empty");
		return -1;
	}
	if (len > TOKEN_SCOPE_MAX || memchr(s, '\0', len) != NULL) {
		jwt_err(err, errlen, "scope: longer than %d bytes or has NUL",
		    TOKEN_SCOPE_MAX);
		return -1;
	}
	tmp = *list;
	for (item = s; item <= s + len; item = end + 1, idx++) {
		end = memchr(item, ' ', (size_t)(s + len - item));
		if (end == NULL)
			end = s + len;
		ilen = (size_t)(end - item);
		if (ilen == 0) {
			jwt_err(err, errlen, "scope %d: empty", idx);
			return -1;
		}
		c1 = memchr(item, ':', ilen);
		c2 = NULL;
		for (const char *q = end; q > item; q--)
			if (q[-1] == ':') {
				c2 = q - 1;
				break;
			}
		if (c1 == NULL || c2 == c1) {
			jwt_err(err, errlen, "scope %d: not type:name:actions",
			    idx);
			return -1;
		}
		if (token_type_parse(item, (size_t)(c1 - item), type) == -1) {
			jwt_err(
			    err, errlen, "scope %d: bad resource type", idx);
			return -1;
		}
		if (!token_name_ok(c1 + 1, (size_t)(c2 - c1 - 1))) {
			jwt_err(err, errlen,
			    "scope %d: bad resource name (lowercase path "
			    "components, no registry host, at most %d bytes)",
			    idx, TOKEN_NAME_MAX);
			return -1;
		}
		memcpy(name, c1 + 1, (size_t)(c2 - c1 - 1));
		name[c2 - c1 - 1] = '\0';
		if (token_actions_parse(
			c2 + 1, (size_t)(end - c2 - 1), &bits) == -1) {
			jwt_err(err, errlen, "scope %d: bad actions", idx);
			return -1;
		}
		if ((a = token_access_slot(&tmp, type, name)) == NULL) {
			jwt_err(err, errlen, "scope: more than %d resources",
			    TOKEN_ACCESS_MAX);
			return -1;
		}
		a->actions |= bits;
		if (end == s + len)
			break;
	}
	*list = tmp;
	return 0;
}

int
token_access_allows(const struct token_access_list *list, const char *type,
    const char *name, unsigned action)
{
	const struct token_access *a;
	size_t i;

	if (list == NULL || type == NULL || name == NULL || action == 0 ||
	    (action & (action - 1)) != 0)
		return 0;
	for (i = 0; i < list->n; i++) {
		a = &list->v[i];
		if (strcmp(a->type, type) == 0 && strcmp(a->name, name) == 0 &&
		    (a->actions & (action | TOKEN_ACT_ALL)) != 0)
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* keys */

int
token_kid(EVP_PKEY *pkey, char out[TOKEN_KID_SIZE])
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
	unsigned int mdlen = 0;
	size_t i, o = 0;
	int derlen, rc = -1;

	out[0] = '\0';
	if (pkey == NULL || (derlen = i2d_PUBKEY(pkey, &der)) <= 0)
		goto out;
	if (EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(), NULL) !=
	    1)
		goto out;
	/* 240 bits = 30 bytes = 6 groups of 5 bytes = 48 base32 chars. */
	for (i = 0; i < 30; i += 5) {
		unsigned long long v = 0;
		int k;

		for (k = 0; k < 5; k++)
			v = v << 8 | md[i + (size_t)k];
		for (k = 7; k >= 0; k--) {
			if (o > 0 && o % 5 == 4)
				out[o++] = ':';
			out[o++] = b32[v >> (5 * k) & 31];
		}
	}
	out[o] = '\0';
	rc = 0;
out:
	OPENSSL_free(der);
	ERR_clear_error();
	return rc;
}

/* PEM callback: the key file is never encrypted. */
static int
token_no_pass_cb(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Read path (at most TOKEN_KEY_FILE_MAX bytes) and parse the key. */
static int
token_key_read(const char *path, struct jwt_key *key, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	char kid[TOKEN_KID_SIZE], why[TOKEN_ERR_MAX];
	enum jwt_alg alg;
	int fd = -1, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		jwt_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > TOKEN_KEY_FILE_MAX) {
		jwt_err(err, errlen,
		    "%s: not a regular file of at most %d bytes", path,
		    TOKEN_KEY_FILE_MAX);
		goto out;
	}
	if ((buf = malloc(TOKEN_KEY_FILE_MAX + 1)) == NULL) {
		jwt_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (n <= TOKEN_KEY_FILE_MAX) {
		r = read(fd, buf + n, TOKEN_KEY_FILE_MAX + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			jwt_err(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > TOKEN_KEY_FILE_MAX) {
		jwt_err(err, errlen, "%s: larger than %d bytes", path,
		    TOKEN_KEY_FILE_MAX);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)n)) == NULL) {
		jwt_err_openssl(err, errlen, "%s", path);
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, token_no_pass_cb, NULL);
	if (pkey == NULL) {
		jwt_err_openssl(err, errlen,
		    "%s: not an unencrypted PEM private key", path);
		goto out;
	}
	if (jwt_key_alg(pkey, &alg, why, sizeof(why)) == -1 ||
	    alg != JWT_ALG_ES256) {
		jwt_err(err, errlen, "%s: must be an EC P-256 key", path);
		goto out;
	}
	if (token_kid(pkey, kid) == -1) {
		jwt_err(err, errlen, "%s: cannot compute the key id", path);
		goto out;
	}
	if (jwt_key_set(key, pkey, kid, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	if (buf != NULL)
		OPENSSL_cleanse(buf, TOKEN_KEY_FILE_MAX + 1);
	free(buf);
	if (fd != -1)
		close(fd);
	return rc;
}

/* Write all of buf to fd. */
static int
token_write_all(int fd, const char *buf, size_t len)
{
	ssize_t r;

	while (len > 0) {
		r = write(fd, buf, len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

/*
 * Generate a key and publish it at path if nobody else has: write a
 * temporary file (mkstemp: O_EXCL, 0600) in the same directory, fsync
 * it, then link() it to path, which fails with EEXIST when another
 * process won the race. Returns 1 when we created path, 0 when it
 * already existed, -1 on error.
 */
static int
token_key_create(const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *pem = NULL;
	long pemlen = 0;
	int fd = -1, dfd, rc = -1;

	tmp[0] = '\0';
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		jwt_err(err, errlen, "%s: path too long", path);
		tmp[0] = '\0';
		goto out;
	}
	if ((pkey = EVP_EC_gen("P-256")) == NULL) {
		jwt_err_openssl(err, errlen, "%s: generating a key", path);
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) !=
		1 ||
	    (pemlen = BIO_get_mem_data(bio, &pem)) <= 0) {
		jwt_err_openssl(err, errlen, "%s: encoding the key", path);
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		jwt_err(err, errlen, "%s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, 0600) == -1 ||
	    token_write_all(fd, pem, (size_t)pemlen) == -1 || fsync(fd) == -1) {
		jwt_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		jwt_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (link(tmp, path) == -1) {
		if (errno == EEXIST) {
			rc = 0;
			goto out;
		}
		jwt_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* Make the new name durable; failure here is not fatal. */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 1;
out:
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	if (pem != NULL && pemlen > 0)
		OPENSSL_cleanse(pem, (size_t)pemlen);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return rc;
}

int
token_key_load_or_create(const char *path, struct jwt_key *key, int *created,
    char *err, size_t errlen)
{
	int r;

	memset(key, 0, sizeof(*key));
	if (created != NULL)
		*created = 0;
	if (path == NULL || *path == '\0') {
		jwt_err(err, errlen, "no key file");
		return -1;
	}
	if (access(path, F_OK) == -1) {
		if (errno != ENOENT) {
			jwt_err(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if ((r = token_key_create(path, err, errlen)) == -1)
			return -1;
		if (created != NULL)
			*created = r;
	}
	/* Read back what is at path: ours, or the race winner's. */
	if (token_key_read(path, key, err, errlen) == -1) {
		if (created != NULL)
			*created = 0;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* issue and verify */

static json_t *
token_access_json(const struct token_access_list *list)
{
	json_t *arr, *e, *acts;
	size_t i, k;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; list != NULL && i < list->n; i++) {
		if ((acts = json_array()) == NULL)
			goto fail;
		for (k = 0; k < TOKEN_NACTIONS; k++) {
			if ((list->v[i].actions & token_actions[k].bit) != 0 &&
			    json_array_append_new(acts,
				json_string(token_actions[k].name)) == -1) {
				json_decref(acts);
				goto fail;
			}
		}
		/* "o" steals acts, also when json_pack fails. */
		e = json_pack("{s:s, s:s, s:o}", "type", list->v[i].type,
		    "name", list->v[i].name, "actions", acts);
		if (e == NULL || json_array_append_new(arr, e) == -1)
			goto fail;
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

int
token_issue(const struct jwt_key *key, const struct token_grant *g, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	unsigned char rnd[TOKEN_JTI_BYTES];
	char *jti = NULL;
	json_t *claims = NULL, *access = NULL;
	int rc = -1;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (key == NULL || key->alg != JWT_ALG_ES256 || key->kid[0] == '\0') {
		jwt_err(err, errlen, "token key must be ES256 with a kid");
		goto out;
	}
	if (g == NULL || g->iss == NULL || *g->iss == '\0' || g->aud == NULL ||
	    *g->aud == '\0' || g->sub == NULL ||
	    strlen(g->sub) > TOKEN_SUB_MAX || g->ttl == 0 ||
	    g->ttl > TOKEN_TTL_MAX) {
		jwt_err(err, errlen, "token_issue: bad grant");
		goto out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		jwt_err_openssl(err, errlen, "RAND_bytes");
		goto out;
	}
	if ((jti = jwt_b64url_encode(rnd, sizeof(rnd), NULL)) == NULL ||
	    (access = token_access_json(g->access)) == NULL) {
		jwt_err(err, errlen, "out of memory");
		goto out;
	}
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:O}", "iss",
	    g->iss, "sub", g->sub, "aud", g->aud, "exp",
	    (json_int_t)g->now + (json_int_t)g->ttl, "nbf", (json_int_t)g->now,
	    "iat", (json_int_t)g->now, "jti", jti, "access", access);
	if (claims == NULL) {
		jwt_err(err, errlen, "out of memory");
		goto out;
	}
	rc = jwt_sign(key, claims, out, outlen, err, errlen);
out:
	json_decref(claims);
	json_decref(access);
	free(jti);
	return rc;
}

/* The "access" claim into list; -1 when malformed. */
static int
token_access_parse(
    const json_t *arr, struct token_access_list *list, char *err, size_t errlen)
{
	const json_t *e, *acts, *a, *t, *nm;
	struct token_access *slot;
	char type[TOKEN_TYPE_MAX + 1];
	size_t i, k;

	memset(list, 0, sizeof(*list));
	if (!json_is_array(arr) || json_array_size(arr) > TOKEN_ACCESS_MAX) {
		jwt_err(err, errlen, "access: not an array of at most %d",
		    TOKEN_ACCESS_MAX);
		return -1;
	}
	json_array_foreach(arr, i, e)
	{
		t = json_object_get(e, "type");
		nm = json_object_get(e, "name");
		acts = json_object_get(e, "actions");
		if (!json_is_string(t) || !json_is_string(nm) ||
		    !json_is_array(acts) ||
		    token_type_parse(json_string_value(t),
			json_string_length(t), type) == -1 ||
		    !token_name_ok(
			json_string_value(nm), json_string_length(nm)) ||
		    strlen(json_string_value(nm)) != json_string_length(nm)) {
			jwt_err(err, errlen, "access[%zu]: malformed", i);
			return -1;
		}
		if ((slot = token_access_slot(
			 list, type, json_string_value(nm))) == NULL) {
			jwt_err(err, errlen, "access: too many entries");
			return -1;
		}
		json_array_foreach(acts, k, a)
		{
			if (!json_is_string(a)) {
				jwt_err(err, errlen,
				    "access[%zu].actions[%zu]: not a string", i,
				    k);
				return -1;
			}
			slot->actions |= token_action_bit(json_string_value(a));
		}
	}
	return 0;
}

enum token_status
token_verify(const struct jwt_key *key, const char *tok, size_t len,
    const struct jwt_expect *want, struct token_claims *out, char *err,
    size_t errlen)
{
	struct jwt jwt;
	const json_t *sub;
	double exp;
	enum token_status st;

	memset(out, 0, sizeof(*out));
	memset(&jwt, 0, sizeof(jwt));
	if (key == NULL || key->alg != JWT_ALG_ES256) {
		jwt_err(err, errlen, "token key must be ES256");
		return TOKEN_INTERNAL;
	}
	if ((st = jwt_parse(tok, len, &jwt, err, errlen)) != TOKEN_OK)
		goto out;
	if (jwt.kid == NULL || strcmp(jwt.kid, key->kid) != 0) {
		jwt_err(err, errlen, "kid is not regward's token key");
		st = TOKEN_UNKNOWN_KID;
		goto out;
	}
	if ((st = jwt_verify(&jwt, key, err, errlen)) != TOKEN_OK)
		goto out;
	if ((st = jwt_check_claims(jwt.claims, want, err, errlen)) != TOKEN_OK)
		goto out;
	st = TOKEN_BAD_CLAIM;
	sub = json_object_get(jwt.claims, "sub");
	if (!json_is_string(sub) || json_string_length(sub) > TOKEN_SUB_MAX ||
	    strlen(json_string_value(sub)) != json_string_length(sub)) {
		jwt_err(err, errlen, "sub: missing or not a short string");
		goto out;
	}
	if (token_access_parse(json_object_get(jwt.claims, "access"),
		&out->access, err, errlen) == -1)
		goto out;
	snprintf(out->sub, sizeof(out->sub), "%s", json_string_value(sub));
	exp = json_number_value(json_object_get(jwt.claims, "exp"));
	/* Clamp before converting: a huge double does not fit a time_t. */
	out->exp = exp > TOKEN_EXP_MAX ? (time_t)TOKEN_EXP_MAX : (time_t)exp;
	st = TOKEN_OK;
out:
	if (st != TOKEN_OK)
		memset(out, 0, sizeof(*out));
	jwt_clear(&jwt);
	return st;
}
