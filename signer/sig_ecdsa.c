/*
 * sig_ecdsa: ECDSA P-256 over SHA-256 of the raw message, the only
 * algorithm regward signs and verifies with (cosign-format.md §3). The
 * signer emits ASN.1 DER (what every cosign and skopeo accepts); the
 * verifier also takes IEEE P1363 r||s as sigstore >= 1.8.3 does.
 */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "regward/sig.h"

#define SIG_ECDSA_RS_LEN 64 /* r||s for P-256 */
#define SIG_ECDSA_B64_MAX 1024 /* DER P-256 signatures are <= 72 bytes */

/* 1 if key is an EC P-256 key. */
static int
sig_ecdsa_is_p256(EVP_PKEY *key)
{
	char group[64];
	size_t glen = 0;
	int ok;

	ok = EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
		group, sizeof(group), &glen) == 1 &&
	    strcmp(group, "prime256v1") == 0;
	ERR_clear_error();
	return ok;
}

int
sig_ecdsa_sign(EVP_PKEY *key, const void *msg, size_t len, char **b64,
    char *err, size_t errlen)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	size_t derlen = 0;
	int rc = -1;

	*b64 = NULL;
	if (key == NULL || !sig_ecdsa_is_p256(key)) {
		sig_err_set(err, errlen, "sign: key is not an EC P-256 key");
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &derlen, msg, len) != 1) {
		sig_err_openssl(err, errlen, "sign: EVP_DigestSign");
		goto out;
	}
	if ((der = malloc(derlen)) == NULL) {
		sig_err_set(err, errlen, "sign: out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, der, &derlen, msg, len) != 1) {
		sig_err_openssl(err, errlen, "sign: EVP_DigestSign");
		goto out;
	}
	if ((*b64 = sig_b64_encode(der, derlen, NULL)) == NULL) {
		sig_err_set(err, errlen, "sign: out of memory");
		goto out;
	}
	rc = 0;
out:
	free(der);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * 1 if buf[0..len) is exactly one DER ECDSA-Sig-Value: it parses, nothing
 * follows and it re-encodes to the same bytes (no BER leniency).
 */
static int
sig_ecdsa_is_der(const unsigned char *buf, size_t len)
{
	ECDSA_SIG *s = NULL;
	const unsigned char *p = buf;
	unsigned char *re = NULL;
	int relen, ok = 0;

	if (len == 0 || len > LONG_MAX)
		return 0;
	if ((s = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL || p != buf + len)
		goto out;
	relen = i2d_ECDSA_SIG(s, &re);
	ok = relen > 0 && (size_t)relen == len && memcmp(re, buf, len) == 0;
out:
	OPENSSL_free(re);
	ECDSA_SIG_free(s);
	ERR_clear_error();
	return ok;
}

/* r||s (32 + 32 bytes, big-endian) -> malloc'd DER. */
static int
sig_ecdsa_rs_to_der(
    const unsigned char *rs, unsigned char **der, size_t *derlen)
{
	ECDSA_SIG *s = NULL;
	BIGNUM *r = NULL, *sv = NULL;
	unsigned char *tmp = NULL;
	int n, rc = -1;

	*der = NULL;
	*derlen = 0;
	if ((s = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(rs, SIG_ECDSA_RS_LEN / 2, NULL)) == NULL ||
	    (sv = BN_bin2bn(rs + SIG_ECDSA_RS_LEN / 2, SIG_ECDSA_RS_LEN / 2,
		 NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(s, r, sv) != 1)
		goto out;
	r = sv = NULL; /* now owned by s */
	if ((n = i2d_ECDSA_SIG(s, &tmp)) <= 0)
		goto out;
	if ((*der = malloc((size_t)n)) == NULL)
		goto out;
	memcpy(*der, tmp, (size_t)n);
	*derlen = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(tmp);
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	ERR_clear_error();
	return rc;
}

enum sig_ecdsa_status
sig_ecdsa_decode(const char *b64, size_t b64len, unsigned char **der,
    size_t *derlen, char *err, size_t errlen)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	enum sig_ecdsa_status st = SIG_ECDSA_MALFORMED;

	*der = NULL;
	*derlen = 0;
	if (b64 == NULL || b64len == 0) {
		sig_err_set(err, errlen, "signature is empty");
		goto out;
	}
	if (b64len > SIG_ECDSA_B64_MAX) {
		sig_err_set(err, errlen, "signature longer than %d bytes",
		    SIG_ECDSA_B64_MAX);
		goto out;
	}
	if (sig_b64_decode(b64, b64len, 0, &raw, &rawlen) != 0) {
		sig_err_set(err, errlen, "signature is not valid base64");
		goto out;
	}
	if (sig_ecdsa_is_der(raw, rawlen)) {
		*der = raw;
		*derlen = rawlen;
		raw = NULL;
		st = SIG_ECDSA_OK;
		goto out;
	}
	if (rawlen == SIG_ECDSA_RS_LEN) {
		if (sig_ecdsa_rs_to_der(raw, der, derlen) != 0) {
			sig_err_set(err, errlen,
			    "signature: cannot convert r||s to DER");
			st = SIG_ECDSA_ERROR;
			goto out;
		}
		st = SIG_ECDSA_OK;
		goto out;
	}
	sig_err_set(err, errlen,
	    "signature is neither DER ECDSA nor 64-byte r||s (%zu bytes)",
	    rawlen);
out:
	free(raw);
	return st;
}

enum sig_ecdsa_status
sig_ecdsa_verify(EVP_PKEY *pub, const void *msg, size_t len, const char *b64,
    size_t b64len, char *err, size_t errlen)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	size_t derlen = 0;
	int r;
	enum sig_ecdsa_status st;

	if ((st = sig_ecdsa_decode(b64, b64len, &der, &derlen, err, errlen)) !=
	    SIG_ECDSA_OK)
		goto out;
	st = SIG_ECDSA_ERROR;
	if (pub == NULL) {
		sig_err_set(err, errlen, "verify: no key");
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) != 1) {
		sig_err_openssl(err, errlen, "verify: EVP_DigestVerifyInit");
		goto out;
	}
	r = EVP_DigestVerify(ctx, der, derlen, msg, len);
	if (r == 1) {
		st = SIG_ECDSA_OK;
	} else {
		/* 0: mismatch; < 0 only for signatures the key cannot use. */
		sig_err_set(err, errlen, "signature does not verify");
		st = SIG_ECDSA_BAD;
	}
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(der);
	return st;
}
