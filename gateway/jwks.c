/*
 * jwks: JSON Web Key Sets (RFC 7517) holding the public keys of an OIDC
 * issuer. RSA keys (RFC 7518 §6.3.1: n, e) become RS256 keys and EC P-256
 * keys (§6.2.1: crv, x, y) ES256 keys; anything else is skipped with a
 * note, so an issuer that also publishes, say, an Ed25519 key still works.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "regward/token.h"

#define JWKS_RSA_N_MAX (JWT_RSA_MAX_BITS / 8 + 1) /* one leading 0 */
#define JWKS_RSA_E_MAX 8
#define JWKS_EC_COORD 32

/*
 * Member name of jwk as base64url bytes of at most max (decoded) bytes.
 * Returns 0 with *buf (malloc'd) and *len, or -1 with a message.
 */
static int
jwks_member_b64(const json_t *jwk, const char *name, size_t max,
    unsigned char **buf, size_t *len, char *err, size_t errlen)
{
	const json_t *v;

	*buf = NULL;
	*len = 0;
	v = json_object_get(jwk, name);
	if (!json_is_string(v)) {
		jwt_err(err, errlen, "%s: missing or not a string", name);
		return -1;
	}
	/* 4 characters per 3 bytes, plus slack for the last group. */
	if (json_string_length(v) > max / 3 * 4 + 4 ||
	    jwt_b64url_decode(
		json_string_value(v), json_string_length(v), buf, len) == -1) {
		jwt_err(err, errlen, "%s: not base64url or too long", name);
		return -1;
	}
	if (*len == 0 || *len > max) {
		free(*buf);
		*buf = NULL;
		*len = 0;
		jwt_err(err, errlen, "%s: empty or longer than %zu bytes", name,
		    max);
		return -1;
	}
	return 0;
}

/* Import params as a public key of type name, then check it. */
static EVP_PKEY *
jwks_import(const char *name, OSSL_PARAM_BLD *bld, char *err, size_t errlen)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pkey = NULL, *ret = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		jwt_err_openssl(err, errlen, "%s key import", name);
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		jwt_err_openssl(err, errlen, "invalid %s public key", name);
		goto out;
	}
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(chk) != 1) {
		jwt_err_openssl(err, errlen, "invalid %s public key", name);
		goto out;
	}
	ret = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return ret;
}

static EVP_PKEY *
jwks_rsa(const json_t *jwk, char *err, size_t errlen)
{
	unsigned char *nb = NULL, *eb = NULL;
	size_t nlen, elen;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (jwks_member_b64(
		jwk, "n", JWKS_RSA_N_MAX, &nb, &nlen, err, errlen) == -1 ||
	    jwks_member_b64(
		jwk, "e", JWKS_RSA_E_MAX, &eb, &elen, err, errlen) == -1)
		goto out;
	if ((n = BN_bin2bn(nb, (int)nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, (int)elen, NULL)) == NULL) {
		jwt_err_openssl(err, errlen, "RSA key");
		goto out;
	}
	if (BN_is_zero(e) || !BN_is_odd(e) || BN_is_one(e)) {
		jwt_err(err, errlen, "e: not an odd exponent above 1");
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
		jwt_err_openssl(err, errlen, "RSA key");
		goto out;
	}
	pkey = jwks_import("RSA", bld, err, errlen);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return pkey;
}

static EVP_PKEY *
jwks_ec(const json_t *jwk, char *err, size_t errlen)
{
	unsigned char *xb = NULL, *yb = NULL, pt[1 + 2 * JWKS_EC_COORD];
	size_t xlen, ylen;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (jwks_member_b64(jwk, "x", JWKS_EC_COORD, &xb, &xlen, err, errlen) ==
		-1 ||
	    jwks_member_b64(jwk, "y", JWKS_EC_COORD, &yb, &ylen, err, errlen) ==
		-1)
		goto out;
	/* RFC 7518 §6.2.1.2: the full coordinate length, always. */
	if (xlen != JWKS_EC_COORD || ylen != JWKS_EC_COORD) {
		jwt_err(
		    err, errlen, "x, y: must be %d bytes each", JWKS_EC_COORD);
		goto out;
	}
	pt[0] = 0x04;
	memcpy(pt + 1, xb, JWKS_EC_COORD);
	memcpy(pt + 1 + JWKS_EC_COORD, yb, JWKS_EC_COORD);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(
		bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(
		bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) != 1) {
		jwt_err_openssl(err, errlen, "EC key");
		goto out;
	}
	pkey = jwks_import("EC", bld, err, errlen);
out:
	OSSL_PARAM_BLD_free(bld);
	free(xb);
	free(yb);
	return pkey;
}

/* 1 when the optional string member name is absent or equals want. */
static int
jwks_opt_equals(const json_t *jwk, const char *name, const char *want, int *bad)
{
	const json_t *v;

	if ((v = json_object_get(jwk, name)) == NULL)
		return 1;
	if (!json_is_string(v)) {
		*bad = 1;
		return 0;
	}
	return strcmp(json_string_value(v), want) == 0 &&
	    strlen(want) == json_string_length(v);
}

int
jwks_key_from_jwk(
    const json_t *jwk, struct jwt_key *key, char *err, size_t errlen)
{
	const json_t *kty, *kid, *ops, *v;
	const char *k, *want_alg;
	char pr[32];
	EVP_PKEY *pkey = NULL;
	size_t i;
	int bad = 0, verify = 0, rc = -1;

	memset(key, 0, sizeof(*key));
	if (!json_is_object(jwk)) {
		jwt_err(err, errlen, "not an object");
		goto out;
	}
	kty = json_object_get(jwk, "kty");
	if (!json_is_string(kty)) {
		jwt_err(err, errlen, "kty: missing or not a string");
		goto out;
	}
	k = json_string_value(kty);
	kid = json_object_get(jwk, "kid");
	if (kid != NULL &&
	    (!json_is_string(kid) || json_string_length(kid) > JWT_KID_MAX ||
		strlen(json_string_value(kid)) != json_string_length(kid))) {
		jwt_err(err, errlen, "kid: not a string of at most %d bytes",
		    JWT_KID_MAX);
		goto out;
	}
	if (!jwks_opt_equals(jwk, "use", "sig", &bad)) {
		if (bad) {
			jwt_err(err, errlen, "use: not a string");
			goto out;
		}
		jwt_err(err, errlen, "use is not \"sig\"");
		rc = 1;
		goto out;
	}
	if ((ops = json_object_get(jwk, "key_ops")) != NULL) {
		if (!json_is_array(ops)) {
			jwt_err(err, errlen, "key_ops: not an array");
			goto out;
		}
		json_array_foreach(ops, i, v)
		{
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), "verify") == 0)
				verify = 1;
		}
		if (!verify) {
			jwt_err(err, errlen, "key_ops lacks \"verify\"");
			rc = 1;
			goto out;
		}
	}
	if (strcmp(k, "RSA") == 0) {
		want_alg = "RS256";
	} else if (strcmp(k, "EC") == 0) {
		want_alg = "ES256";
		if (!jwks_opt_equals(jwk, "crv", "P-256", &bad) ||
		    json_object_get(jwk, "crv") == NULL) {
			if (bad || json_object_get(jwk, "crv") == NULL) {
				jwt_err(err, errlen,
				    "crv: missing or not a string");
				goto out;
			}
			jwt_err(err, errlen, "EC curve is not P-256");
			rc = 1;
			goto out;
		}
	} else {
		jwt_err(err, errlen, "kty %s not supported",
		    jwt_printable(k, 16, pr, sizeof(pr)));
		rc = 1;
		goto out;
	}
	if (!jwks_opt_equals(jwk, "alg", want_alg, &bad)) {
		if (bad) {
			jwt_err(err, errlen, "alg: not a string");
			goto out;
		}
		jwt_err(err, errlen, "alg is not %s", want_alg);
		rc = 1;
		goto out;
	}
	pkey = want_alg[0] == 'R' ? jwks_rsa(jwk, err, errlen)
				  : jwks_ec(jwk, err, errlen);
	if (pkey == NULL)
		goto out;
	if (jwt_key_set(key, pkey, kid != NULL ? json_string_value(kid) : NULL,
		err, errlen) == -1) {
		/* A sound key regward will not use (e.g. RSA-1024). */
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	return rc;
}

void
jwks_free(struct jwks *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nkeys; i++)
		jwt_key_clear(&set->keys[i]);
	free(set->keys);
	free(set);
}

/* Append one line to set->note, "; "-separated, truncating. */
static void
jwks_note(struct jwks *set, size_t idx, const char *kid, const char *why)
{
	size_t n = strlen(set->note);
	char pr[80];

	if (n + 1 >= sizeof(set->note))
		return;
	snprintf(set->note + n, sizeof(set->note) - n, "%skeys[%zu]%s%s%s: %s",
	    n > 0 ? "; " : "", idx, kid != NULL ? " (kid " : "",
	    kid != NULL ? jwt_printable(kid, 64, pr, sizeof(pr)) : "",
	    kid != NULL ? ")" : "", why);
}

int
jwks_parse_json(const char *name, const json_t *doc, struct jwks **out,
    char *err, size_t errlen)
{
	struct jwks *set = NULL;
	const json_t *keys, *jwk, *kidv;
	char why[TOKEN_ERR_MAX];
	size_t i, j, n;
	int r, rc = -1;

	*out = NULL;
	if (name == NULL)
		name = "jwks";
	if (!json_is_object(doc)) {
		jwt_err(err, errlen, "%s: not a JSON object", name);
		goto out;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		jwt_err(err, errlen, "%s: keys: missing or not an array", name);
		goto out;
	}
	n = json_array_size(keys);
	if (n > JWKS_KEYS_MAX) {
		jwt_err(err, errlen, "%s: keys: more than %d keys", name,
		    JWKS_KEYS_MAX);
		goto out;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (n > 0 && (set->keys = calloc(n, sizeof(*set->keys))) == NULL)) {
		jwt_err(err, errlen, "%s: out of memory", name);
		goto out;
	}
	json_array_foreach(keys, i, jwk)
	{
		why[0] = '\0';
		r = jwks_key_from_jwk(
		    jwk, &set->keys[set->nkeys], why, sizeof(why));
		if (r == -1) {
			jwt_err(err, errlen, "%s: keys[%zu]: %s", name, i, why);
			goto out;
		}
		if (r == 1) {
			kidv = json_object_get(jwk, "kid");
			jwks_note(set, i, json_string_value(kidv), why);
			set->nskipped++;
			continue;
		}
		for (j = 0; j < set->nkeys; j++) {
			if (strcmp(set->keys[j].kid,
				set->keys[set->nkeys].kid) == 0) {
				jwt_err(err, errlen,
				    "%s: keys[%zu]: duplicate kid %s", name, i,
				    jwt_printable(set->keys[j].kid, 64, why,
					sizeof(why)));
				jwt_key_clear(&set->keys[set->nkeys]);
				goto out;
			}
		}
		set->nkeys++;
	}
	if (set->nkeys == 0) {
		jwt_err(err, errlen, "%s: no RS256 or ES256 signing key%s%s",
		    name, set->note[0] != '\0' ? ": " : "", set->note);
		goto out;
	}
	*out = set;
	set = NULL;
	rc = 0;
out:
	jwks_free(set);
	return rc;
}

int
jwks_parse(const char *name, const char *text, size_t len, struct jwks **out,
    char *err, size_t errlen)
{
	json_t *doc;
	json_error_t jerr;
	int rc;

	*out = NULL;
	if (name == NULL)
		name = "jwks";
	if (len > JWKS_DOC_MAX) {
		jwt_err(err, errlen, "%s: larger than %d bytes", name,
		    JWKS_DOC_MAX);
		return -1;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		jwt_err(
		    err, errlen, "%s: line %d: %s", name, jerr.line, jerr.text);
		return -1;
	}
	rc = jwks_parse_json(name, doc, out, err, errlen);
	json_decref(doc);
	return rc;
}

int
jwks_load_file(const char *path, struct jwks **out, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd = -1, rc = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		jwt_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		jwt_err(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (sb.st_size > JWKS_DOC_MAX) {
		jwt_err(err, errlen, "%s: larger than %d bytes", path,
		    JWKS_DOC_MAX);
		goto out;
	}
	if ((buf = malloc(JWKS_DOC_MAX + 1)) == NULL) {
		jwt_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		r = read(fd, buf + n, JWKS_DOC_MAX + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			jwt_err(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > JWKS_DOC_MAX) {
			jwt_err(err, errlen, "%s: larger than %d bytes", path,
			    JWKS_DOC_MAX);
			goto out;
		}
	}
	rc = jwks_parse(path, buf, n, out, err, errlen);
out:
	if (fd != -1)
		close(fd);
	free(buf);
	return rc;
}

enum token_status
jwks_find(const struct jwks *set, const char *kid, const struct jwt_key **key)
{
	size_t i;

	*key = NULL;
	if (set == NULL)
		return TOKEN_UNKNOWN_KID;
	if (kid == NULL) {
		if (set->nkeys != 1)
			return TOKEN_UNKNOWN_KID;
		*key = &set->keys[0];
		return TOKEN_OK;
	}
	for (i = 0; i < set->nkeys; i++) {
		if (strcmp(set->keys[i].kid, kid) == 0) {
			*key = &set->keys[i];
			return TOKEN_OK;
		}
	}
	return TOKEN_UNKNOWN_KID;
}

enum token_status
jwks_verify(const struct jwks *set, const struct jwt *jwt,
    const struct jwt_expect *want, char *err, size_t errlen)
{
	const struct jwt_key *key;
	enum token_status st;
	char pr[80];

	if ((st = jwks_find(set, jwt->kid, &key)) != TOKEN_OK) {
		jwt_err(err, errlen, "no key for kid %s",
		    jwt->kid != NULL
			? jwt_printable(jwt->kid, 64, pr, sizeof(pr))
			: "(none)");
		return st;
	}
	if ((st = jwt_verify(jwt, key, err, errlen)) != TOKEN_OK)
		return st;
	return jwt_check_claims(jwt->claims, want, err, errlen);
}
