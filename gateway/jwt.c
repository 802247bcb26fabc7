/*
 * jwt: JWS compact serialization (RFC 7515) for RS256 and ES256 only
 * (RFC 7518 §3.3, §3.4), and the registered claims of RFC 7519.
 *
 * The algorithm that verifies a token is the key's. The header's "alg" is
 * only compared with it: a token can refuse itself, never pick its
 * verifier. Everything read from a token is bounded: TOKEN_MAX bytes in
 * all, JSON objects without duplicate keys or trailing data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "regward/token.h"

#define JWT_ES256_SIGLEN 64
#define JWT_ES256_COORD 32

static const char jwt_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
jwt_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
jwt_err_openssl(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	size_t n;
	const char *sep = ": ";
	const char *r;

	if (err == NULL || errlen == 0) {
		ERR_clear_error();
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	while ((e = ERR_get_error()) != 0) {
		n = strlen(err);
		if ((r = ERR_reason_error_string(e)) == NULL)
			r = "unknown OpenSSL error";
		if (n + 1 < errlen)
			snprintf(err + n, errlen - n, "%s%s", sep, r);
		sep = "; ";
	}
}

const char *
jwt_printable(const char *s, size_t max, char *buf, size_t len)
{
	size_t i, n;

	if (buf == NULL || len == 0)
		return "";
	if (s == NULL)
		s = "";
	n = strlen(s);
	for (i = 0; i < n && i < max && i + 4 < len; i++)
		buf[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (i < n && i + 3 < len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i < len ? i : len - 1] = '\0';
	return buf;
}

const char *
jwt_alg_str(enum jwt_alg alg)
{
	switch (alg) {
	case JWT_ALG_RS256:
		return "RS256";
	case JWT_ALG_ES256:
		return "ES256";
	case JWT_ALG_NONE:
		break;
	}
	return "none";
}

/* ------------------------------------------------------------------ */
/* base64url */

char *
jwt_b64url_encode(const void *buf, size_t len, size_t *outlen)
{
	const unsigned char *p = buf;
	char *out, *o;
	size_t n, i;
	uint32_t v;

	if (outlen != NULL)
		*outlen = 0;
	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	n = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = jwt_b64url_alphabet[v >> 18 & 63];
		*o++ = jwt_b64url_alphabet[v >> 12 & 63];
		*o++ = jwt_b64url_alphabet[v >> 6 & 63];
		*o++ = jwt_b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		*o++ = jwt_b64url_alphabet[v >> 18 & 63];
		*o++ = jwt_b64url_alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = jwt_b64url_alphabet[v >> 18 & 63];
		*o++ = jwt_b64url_alphabet[v >> 12 & 63];
		*o++ = jwt_b64url_alphabet[v >> 6 & 63];
	}
	*o = '\0';
	if (outlen != NULL)
		*outlen = n;
	return out;
}

static int
jwt_b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
jwt_b64url_decode(
    const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf = NULL;
	size_t i, n = 0, rem;
	uint32_t acc = 0;
	int v, bits = 0, rc = -1;

	*out = NULL;
	*outlen = 0;
	if (len % 4 == 1)
		goto out;
	if ((buf = malloc(len / 4 * 3 + 3)) == NULL)
		goto out;
	for (i = 0; i < len; i++) {
		if ((v = jwt_b64url_value((unsigned char)s[i])) < 0)
			goto out;
		acc = (acc << 6 | (uint32_t)v) & 0xffffffu;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* Canonical encodings only: the unused low bits must be zero. */
	rem = len % 4;
	if (rem != 0 && (acc & ((1u << bits) - 1)) != 0)
		goto out;
	*out = buf;
	*outlen = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ */
/* keys */

int
jwt_key_alg(EVP_PKEY *pkey, enum jwt_alg *alg, char *err, size_t errlen)
{
	char group[64];
	size_t glen = 0;
	int bits;

	*alg = JWT_ALG_NONE;
	if (pkey == NULL) {
		jwt_err(err, errlen, "no key");
		return -1;
	}
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < JWT_RSA_MIN_BITS || bits > JWT_RSA_MAX_BITS) {
			jwt_err(err, errlen,
			    "RSA key of %d bits (must be %d to %d)", bits,
			    JWT_RSA_MIN_BITS, JWT_RSA_MAX_BITS);
			return -1;
		}
		*alg = JWT_ALG_RS256;
		return 0;
	}
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
		if (EVP_PKEY_get_utf8_string_param(pkey,
			OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
			&glen) != 1) {
			jwt_err_openssl(err, errlen, "EC key without a curve");
			return -1;
		}
		if (strcmp(group, SN_X9_62_prime256v1) != 0) {
			jwt_err(err, errlen,
			    "EC key on curve %s (must be P-256)", group);
			return -1;
		}
		*alg = JWT_ALG_ES256;
		return 0;
	}
	jwt_err(err, errlen, "key type %s is not RSA or EC",
	    OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
	return -1;
}

int
jwt_key_set(struct jwt_key *key, EVP_PKEY *pkey, const char *kid, char *err,
    size_t errlen)
{
	enum jwt_alg alg;

	memset(key, 0, sizeof(*key));
	if (kid != NULL && strlen(kid) > JWT_KID_MAX) {
		jwt_err(err, errlen, "kid longer than %d bytes", JWT_KID_MAX);
		return -1;
	}
	if (jwt_key_alg(pkey, &alg, err, errlen) == -1)
		return -1;
	if (EVP_PKEY_up_ref(pkey) != 1) {
		jwt_err_openssl(err, errlen, "EVP_PKEY_up_ref");
		return -1;
	}
	if (kid != NULL)
		snprintf(key->kid, sizeof(key->kid), "%s", kid);
	key->alg = alg;
	key->pkey = pkey;
	return 0;
}

void
jwt_key_clear(struct jwt_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	memset(key, 0, sizeof(*key));
}

/* ------------------------------------------------------------------ */
/* parse */

void
jwt_clear(struct jwt *jwt)
{
	if (jwt == NULL)
		return;
	json_decref(jwt->hdr);
	json_decref(jwt->claims);
	free(jwt->signing_input);
	free(jwt->sig);
	memset(jwt, 0, sizeof(*jwt));
}

/* Decode one base64url part and load it as a JSON object. */
static json_t *
jwt_part_json(
    const char *s, size_t len, const char *what, char *err, size_t errlen)
{
	unsigned char *raw = NULL;
	size_t rawlen;
	json_error_t jerr;
	json_t *v = NULL;

	if (len == 0) {
		jwt_err(err, errlen, "empty %s", what);
		goto out;
	}
	if (jwt_b64url_decode(s, len, &raw, &rawlen) == -1) {
		jwt_err(err, errlen, "%s is not base64url", what);
		goto out;
	}
	v = json_loadb(
	    (const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		jwt_err(err, errlen, "%s: %s", what, jerr.text);
		goto out;
	}
	if (!json_is_object(v)) {
		jwt_err(err, errlen, "%s is not a JSON object", what);
		json_decref(v);
		v = NULL;
	}
out:
	free(raw);
	return v;
}

/* Classify the header's alg; TOKEN_OK with *alg for RS256/ES256. */
static enum token_status
jwt_parse_alg(const json_t *hdr, enum jwt_alg *alg, char *err, size_t errlen)
{
	const json_t *v;
	const char *s;

	*alg = JWT_ALG_NONE;
	v = json_object_get(hdr, "alg");
	if (!json_is_string(v)) {
		jwt_err(err, errlen, "header: alg missing or not a string");
		return TOKEN_BAD_FORMAT;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		jwt_err(err, errlen, "header: alg contains NUL");
		return TOKEN_BAD_FORMAT;
	}
	if (strcmp(s, "RS256") == 0) {
		*alg = JWT_ALG_RS256;
		return TOKEN_OK;
	}
	if (strcmp(s, "ES256") == 0) {
		*alg = JWT_ALG_ES256;
		return TOKEN_OK;
	}
	if (strcasecmp(s, "none") == 0) {
		jwt_err(err, errlen, "header: alg none refused");
		return TOKEN_ALG_NONE;
	}
	if (strncmp(s, "HS", 2) == 0) {
		jwt_err(err, errlen, "header: HMAC alg refused");
		return TOKEN_ALG_HMAC;
	}
	jwt_err(err, errlen, "header: alg not RS256 or ES256");
	return TOKEN_ALG_UNSUPPORTED;
}

enum token_status
jwt_parse(
    const char *tok, size_t len, struct jwt *jwt, char *err, size_t errlen)
{
	struct jwt j;
	const char *dot1 = NULL, *dot2 = NULL;
	const json_t *v;
	size_t i, hlen, plen, slen;
	enum token_status st = TOKEN_BAD_FORMAT;

	memset(jwt, 0, sizeof(*jwt));
	memset(&j, 0, sizeof(j));
	if (tok == NULL || len == 0) {
		jwt_err(err, errlen, "empty token");
		goto out;
	}
	if (len > TOKEN_MAX) {
		jwt_err(err, errlen, "token longer than %d bytes", TOKEN_MAX);
		goto out;
	}
	for (i = 0; i < len; i++) {
		if (tok[i] == '.') {
			if (dot1 == NULL)
				dot1 = tok + i;
			else if (dot2 == NULL)
				dot2 = tok + i;
			else {
				jwt_err(err, errlen, "more than three parts");
				goto out;
			}
		} else if (jwt_b64url_value((unsigned char)tok[i]) < 0) {
			jwt_err(err, errlen,
			    "character at offset %zu is not base64url", i);
			goto out;
		}
	}
	if (dot2 == NULL) {
		jwt_err(err, errlen, "not three dot-separated parts");
		goto out;
	}
	hlen = (size_t)(dot1 - tok);
	plen = (size_t)(dot2 - dot1 - 1);
	slen = len - (size_t)(dot2 + 1 - tok);

	if ((j.hdr = jwt_part_json(tok, hlen, "header", err, errlen)) == NULL)
		goto out;
	if ((st = jwt_parse_alg(j.hdr, &j.alg, err, errlen)) != TOKEN_OK)
		goto out;
	st = TOKEN_BAD_FORMAT;
	if (json_object_get(j.hdr, "crit") != NULL) {
		jwt_err(err, errlen, "header: crit extensions not supported");
		st = TOKEN_CRIT;
		goto out;
	}
	if ((v = json_object_get(j.hdr, "kid")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) > JWT_KID_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			jwt_err(err, errlen, "header: bad kid");
			goto out;
		}
		j.kid = json_string_value(v);
	}
	if ((v = json_object_get(j.hdr, "typ")) != NULL && !json_is_string(v)) {
		jwt_err(err, errlen, "header: typ is not a string");
		goto out;
	}
	if ((j.claims = jwt_part_json(
		 dot1 + 1, plen, "payload", err, errlen)) == NULL)
		goto out;
	if (jwt_b64url_decode(dot2 + 1, slen, &j.sig, &j.siglen) == -1) {
		jwt_err(err, errlen, "signature is not base64url");
		goto out;
	}
	if ((j.signing_input = malloc(hlen + 1 + plen + 1)) == NULL) {
		jwt_err(err, errlen, "out of memory");
		st = TOKEN_INTERNAL;
		goto out;
	}
	memcpy(j.signing_input, tok, hlen + 1 + plen);
	j.signing_input[hlen + 1 + plen] = '\0';
	j.signing_len = hlen + 1 + plen;
	*jwt = j;
	memset(&j, 0, sizeof(j));
	st = TOKEN_OK;
out:
	jwt_clear(&j);
	return st;
}

/* ------------------------------------------------------------------ */
/* verify */

/* r||s (64 bytes) to a DER ECDSA-Sig-Value; *der malloc'd by OpenSSL. */
static int
jwt_es256_to_der(const unsigned char *rs, unsigned char **der, int *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int rc = -1;

	*der = NULL;
	*derlen = 0;
	if ((es = ECDSA_SIG_new()) == NULL)
		goto out;
	r = BN_bin2bn(rs, JWT_ES256_COORD, NULL);
	s = BN_bin2bn(rs + JWT_ES256_COORD, JWT_ES256_COORD, NULL);
	if (r == NULL || s == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL; /* owned by es now */
	if ((*derlen = i2d_ECDSA_SIG(es, der)) <= 0) {
		*der = NULL;
		*derlen = 0;
		goto out;
	}
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

enum token_status
jwt_verify(
    const struct jwt *jwt, const struct jwt_key *key, char *err, size_t errlen)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *sig;
	size_t siglen;
	int derlen = 0, r;
	enum token_status st = TOKEN_INTERNAL;

	if (key == NULL || key->pkey == NULL || key->alg == JWT_ALG_NONE) {
		jwt_err(err, errlen, "no usable key");
		goto out;
	}
	if (jwt->alg != key->alg) {
		jwt_err(err, errlen, "token alg %s but key alg %s",
		    jwt_alg_str(jwt->alg), jwt_alg_str(key->alg));
		st = TOKEN_ALG_MISMATCH;
		goto out;
	}
	sig = jwt->sig;
	siglen = jwt->siglen;
	if (key->alg == JWT_ALG_ES256) {
		if (siglen != JWT_ES256_SIGLEN) {
			jwt_err(err, errlen,
			    "ES256 signature of %zu bytes (must be %d r||s)",
			    siglen, JWT_ES256_SIGLEN);
			st = TOKEN_BAD_SIGNATURE;
			goto out;
		}
		if (jwt_es256_to_der(sig, &der, &derlen) == -1) {
			jwt_err_openssl(err, errlen, "ECDSA signature");
			goto out;
		}
		sig = der;
		siglen = (size_t)derlen;
	} else if (siglen != (size_t)EVP_PKEY_get_size(key->pkey)) {
		jwt_err(err, errlen, "RS256 signature of %zu bytes (key: %d)",
		    siglen, EVP_PKEY_get_size(key->pkey));
		st = TOKEN_BAD_SIGNATURE;
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		jwt_err_openssl(err, errlen, "EVP_MD_CTX_new");
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) !=
	    1) {
		jwt_err_openssl(err, errlen, "EVP_DigestVerifyInit");
		goto out;
	}
	r = EVP_DigestVerify(ctx, sig, siglen,
	    (const unsigned char *)jwt->signing_input, jwt->signing_len);
	if (r != 1) {
		/* Bad signatures also leave errors in the queue: drop them. */
		ERR_clear_error();
		jwt_err(err, errlen, "%s signature does not verify",
		    jwt_alg_str(key->alg));
		st = TOKEN_BAD_SIGNATURE;
		goto out;
	}
	st = TOKEN_OK;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return st;
}

/* ------------------------------------------------------------------ */
/* claims */

/*
 * A NumericDate claim: absent (0, *present = 0), a JSON number (0), or
 * anything else (-1).
 */
static int
jwt_claim_time(const json_t *claims, const char *name, double *t, int *present)
{
	const json_t *v;

	*t = 0;
	*present = 0;
	if ((v = json_object_get(claims, name)) == NULL)
		return 0;
	if (!json_is_number(v))
		return -1;
	*t = json_number_value(v);
	*present = 1;
	return 0;
}

static int
jwt_claim_opt_string(const json_t *claims, const char *name)
{
	const json_t *v;

	if ((v = json_object_get(claims, name)) == NULL)
		return 0;
	return json_is_string(v) ? 0 : -1;
}

enum token_status
jwt_check_claims(const json_t *claims, const struct jwt_expect *want, char *err,
    size_t errlen)
{
	const json_t *iss, *aud, *v;
	double exp, nbf, iat, now, leeway;
	int has_exp, has_nbf, has_iat, found = 0;
	size_t i;

	if (!json_is_object(claims)) {
		jwt_err(err, errlen, "claims are not an object");
		return TOKEN_BAD_CLAIM;
	}
	iss = json_object_get(claims, "iss");
	if (!json_is_string(iss)) {
		jwt_err(err, errlen, "iss missing or not a string");
		return TOKEN_BAD_CLAIM;
	}
	aud = json_object_get(claims, "aud");
	if (json_is_array(aud)) {
		if (json_array_size(aud) == 0) {
			jwt_err(err, errlen, "aud is an empty array");
			return TOKEN_BAD_CLAIM;
		}
		json_array_foreach(aud, i, v)
		{
			if (!json_is_string(v)) {
				jwt_err(
				    err, errlen, "aud[%zu] is not a string", i);
				return TOKEN_BAD_CLAIM;
			}
		}
	} else if (!json_is_string(aud)) {
		jwt_err(err, errlen, "aud missing or not a string or array");
		return TOKEN_BAD_CLAIM;
	}
	if (jwt_claim_time(claims, "exp", &exp, &has_exp) == -1 || !has_exp) {
		jwt_err(err, errlen, "exp missing or not a number");
		return TOKEN_BAD_CLAIM;
	}
	if (jwt_claim_time(claims, "nbf", &nbf, &has_nbf) == -1) {
		jwt_err(err, errlen, "nbf is not a number");
		return TOKEN_BAD_CLAIM;
	}
	if (jwt_claim_time(claims, "iat", &iat, &has_iat) == -1) {
		jwt_err(err, errlen, "iat is not a number");
		return TOKEN_BAD_CLAIM;
	}
	if (jwt_claim_opt_string(claims, "sub") == -1) {
		jwt_err(err, errlen, "sub is not a string");
		return TOKEN_BAD_CLAIM;
	}
	if (jwt_claim_opt_string(claims, "jti") == -1) {
		jwt_err(err, errlen, "jti is not a string");
		return TOKEN_BAD_CLAIM;
	}

	if (want->iss == NULL ||
	    strcmp(json_string_value(iss), want->iss) != 0 ||
	    strlen(want->iss) != json_string_length(iss)) {
		jwt_err(err, errlen, "iss is not the expected issuer");
		return TOKEN_WRONG_ISSUER;
	}
	if (want->aud != NULL) {
		if (json_is_string(aud)) {
			found =
			    strcmp(json_string_value(aud), want->aud) == 0 &&
			    strlen(want->aud) == json_string_length(aud);
		} else {
			json_array_foreach(aud, i, v)
			{
				if (strcmp(json_string_value(v), want->aud) ==
					0 &&
				    strlen(want->aud) == json_string_length(v))
					found = 1;
			}
		}
	}
	if (!found) {
		jwt_err(err, errlen, "aud does not name this service");
		return TOKEN_WRONG_AUDIENCE;
	}
	now = (double)want->now;
	leeway = want->leeway > 0 ? (double)want->leeway : 0;
	if (!(now < exp + leeway)) {
		jwt_err(err, errlen, "expired %.0f s ago", now - exp);
		return TOKEN_EXPIRED;
	}
	if (has_nbf && nbf > now + leeway) {
		jwt_err(err, errlen, "not valid for another %.0f s", nbf - now);
		return TOKEN_NOT_YET_VALID;
	}
	if (has_iat && iat > now + leeway) {
		jwt_err(err, errlen, "issued %.0f s in the future", iat - now);
		return TOKEN_NOT_YET_VALID;
	}
	return TOKEN_OK;
}

/* ------------------------------------------------------------------ */
/* sign */

/* DER ECDSA-Sig-Value to r||s (64 bytes). */
static int
jwt_es256_from_der(
    const unsigned char *der, size_t derlen, unsigned char rs[64])
{
	ECDSA_SIG *es;
	const BIGNUM *r, *s;
	const unsigned char *p = der;
	int rc = -1;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, rs, JWT_ES256_COORD) == JWT_ES256_COORD &&
	    BN_bn2binpad(s, rs + JWT_ES256_COORD, JWT_ES256_COORD) ==
		JWT_ES256_COORD)
		rc = 0;
	ECDSA_SIG_free(es);
	return rc;
}

int
jwt_sign(const struct jwt_key *key, const json_t *claims, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	json_t *hdr = NULL;
	char *hjson = NULL, *pjson = NULL, *h64 = NULL, *p64 = NULL;
	char *s64 = NULL, *tok = NULL;
	unsigned char *sig = NULL, rs[JWT_ES256_SIGLEN];
	size_t h64len, p64len, s64len, siglen = 0, n;
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (key == NULL || key->pkey == NULL || key->alg == JWT_ALG_NONE ||
	    !json_is_object(claims)) {
		jwt_err(err, errlen, "jwt_sign: no key or claims");
		goto out;
	}
	hdr =
	    json_pack("{s:s, s:s}", "alg", jwt_alg_str(key->alg), "typ", "JWT");
	if (hdr == NULL ||
	    (key->kid[0] != '\0' &&
		json_object_set_new(hdr, "kid", json_string(key->kid)) == -1)) {
		jwt_err(err, errlen, "out of memory");
		goto out;
	}
	hjson = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	pjson = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (hjson == NULL || pjson == NULL) {
		jwt_err(err, errlen, "cannot serialize the token");
		goto out;
	}
	h64 = jwt_b64url_encode(hjson, strlen(hjson), &h64len);
	p64 = jwt_b64url_encode(pjson, strlen(pjson), &p64len);
	if (h64 == NULL || p64 == NULL) {
		jwt_err(err, errlen, "out of memory");
		goto out;
	}
	n = h64len + 1 + p64len;
	/* Base64url of the longest RSA signature, '.', NUL. */
	if (n > TOKEN_MAX - 1 - 1366) {
		jwt_err(err, errlen, "token would exceed %d bytes", TOKEN_MAX);
		goto out;
	}
	if ((tok = malloc(n + 1 + 1366 + 1)) == NULL) {
		jwt_err(err, errlen, "out of memory");
		goto out;
	}
	memcpy(tok, h64, h64len);
	tok[h64len] = '.';
	memcpy(tok + h64len + 1, p64, p64len);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (unsigned char *)tok, n) != 1) {
		jwt_err_openssl(err, errlen, "EVP_DigestSignInit");
		goto out;
	}
	if ((sig = malloc(siglen)) == NULL) {
		jwt_err(err, errlen, "out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)tok, n) != 1) {
		jwt_err_openssl(err, errlen, "EVP_DigestSign");
		goto out;
	}
	if (key->alg == JWT_ALG_ES256) {
		if (jwt_es256_from_der(sig, siglen, rs) == -1) {
			jwt_err_openssl(err, errlen, "ECDSA signature");
			goto out;
		}
		s64 = jwt_b64url_encode(rs, sizeof(rs), &s64len);
	} else
		s64 = jwt_b64url_encode(sig, siglen, &s64len);
	if (s64 == NULL || s64len > 1366) {
		jwt_err(err, errlen, "signature encoding");
		goto out;
	}
	tok[n] = '.';
	memcpy(tok + n + 1, s64, s64len + 1);
	*out = tok;
	if (outlen != NULL)
		*outlen = n + 1 + s64len;
	tok = NULL;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	json_decref(hdr);
	free(hjson);
	free(pjson);
	free(h64);
	free(p64);
	free(s64);
	free(sig);
	free(tok);
	return rc;
}
