/*
 * test_token: the token library (gateway/jwt.c, jwks.c, oidc.c, token.c).
 *
 * Data lives in REGWARD_TEST_DATA/token (see its README.md):
 *   keys/            throwaway PEM keys (made by make-fixtures.py)
 *   jwks/test.json   the key set the JWS cases are checked against
 *   jwks/invalid/    JWK Sets that must be refused (.err: expected text)
 *   jws/cases.txt    tokens minted by make-fixtures.py with Python's
 *                    cryptography package, each with its expected result
 *   oidc/{valid,invalid}/  auth.oidc arrays (.err: exact message)
 *   glob.txt, scope/ tables for the glob matcher and the scope parser
 * Tokens made here are minted with OpenSSL directly (test_token_mint), not
 * with the code under test, and jwt_sign() output is checked with OpenSSL
 * directly too.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
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
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "regward/token.h"

#ifndef REGWARD_TEST_DATA
#error "define REGWARD_TEST_DATA as the absolute path of tests/data"
#endif

#define TEST_DIR REGWARD_TEST_DATA "/token"
#define TEST_NOW 1700000000
#define TEST_ISS "https://issuer.test"
#define TEST_AUD "regward"
#define TEST_GH_ISS "https://token.actions.githubusercontent.com"
#define TEST_GH_AUD "https://registry.example.com"
#define TEST_GL_ISS "https://gitlab.example.com"
#define TEST_PATH_MAX 4096
#define TEST_MIN_JWS_CASES 70

/* ------------------------------------------------------------------ */
/* helpers */

static char *
test_token_read(const char *path, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

static char *
test_token_trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static EVP_PKEY *
test_token_key(const char *name)
{
	char path[TEST_PATH_MAX];
	EVP_PKEY *k;
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys/%s", TEST_DIR, name);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

/* Independent base64url (no padding). */
static char *
test_token_b64(const void *buf, size_t len)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz0123456789-_";
	const unsigned char *p = buf;
	char *out = malloc(len * 4 / 3 + 4);
	size_t i, o = 0;
	unsigned v, bits = 0;

	assert_non_null(out);
	v = 0;
	for (i = 0; i < len; i++) {
		v = (v << 8 | p[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[v >> bits & 63];
		}
	}
	if (bits > 0)
		out[o++] = a[(v << (6 - bits)) & 63];
	out[o] = '\0';
	return out;
}

/*
 * Mint hdr.payload signed with k (RS256, or ES256 as r||s; der=1 keeps
 * the DER signature) using OpenSSL directly. Returns a malloc'd token.
 */
static char *
test_token_mint(EVP_PKEY *k, const char *hdr, const char *payload, int der)
{
	char *h = test_token_b64(hdr, strlen(hdr));
	char *p = test_token_b64(payload, strlen(payload));
	char *si, *s, *tok;
	unsigned char sig[1024], rs[64];
	size_t siglen = sizeof(sig), n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	n = strlen(h) + 1 + strlen(p);
	si = malloc(n + 1);
	assert_non_null(si);
	snprintf(si, n + 1, "%s.%s", h, p);
	assert_int_equal(
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(
	    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)si, n), 1);
	EVP_MD_CTX_free(ctx);
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC && !der) {
		const unsigned char *q = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)siglen);
		const BIGNUM *r, *ss;

		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &ss);
		assert_int_equal(BN_bn2binpad(r, rs, 32), 32);
		assert_int_equal(BN_bn2binpad(ss, rs + 32, 32), 32);
		ECDSA_SIG_free(es);
		s = test_token_b64(rs, 64);
	} else
		s = test_token_b64(sig, siglen);
	tok = malloc(n + 1 + strlen(s) + 1);
	assert_non_null(tok);
	sprintf(tok, "%s.%s", si, s);
	free(h);
	free(p);
	free(si);
	free(s);
	return tok;
}

static struct jwks *
test_token_jwks(void)
{
	struct jwks *set = NULL;
	char err[TOKEN_ERR_MAX] = "";

	if (jwks_load_file(
		TEST_DIR "/jwks/test.json", &set, err, sizeof(err)) != 0)
		fail_msg("jwks/test.json: %s", err);
	return set;
}

/* Parse and verify tok against set with the standard expectations. */
static enum token_status
test_token_check(const struct jwks *set, const char *tok, time_t now, char *err,
    size_t errlen)
{
	struct jwt jwt;
	struct jwt_expect want = {TEST_ISS, TEST_AUD, now, 60};
	enum token_status st;

	st = jwt_parse(tok, strlen(tok), &jwt, err, errlen);
	if (st == TOKEN_OK)
		st = jwks_verify(set, &jwt, &want, err, errlen);
	jwt_clear(&jwt);
	return st;
}

/* Sorted names in dir ending in suffix. */
static size_t
test_token_list(const char *dir, const char *suffix, char ***out)
{
	DIR *d;
	struct dirent *de;
	char **v = NULL, *t;
	size_t n = 0, i, j, sl = strlen(suffix), l;

	if ((d = opendir(dir)) == NULL)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < sl ||
		    strcmp(de->d_name + l - sl, suffix) != 0)
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		assert_non_null(v);
		v[n] = strdup(de->d_name);
		assert_non_null(v[n]);
		n++;
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	return n;
}

static void
test_token_list_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ------------------------------------------------------------------ */
/* base64url */

static void
test_b64url(void **state)
{
	static const struct {
		const char *raw, *enc;
	} vec[] = {{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
	    {"\xfb\xff", "-_8"}, {"\xff\xfe\xfd", "__79"}};
	static const char *const bad[] = {"Zg==", "Z", "Zh", "Zm9", "Zm9v+",
	    "Zm9v/", " Zg", "Zg\n", "Zm8=", "Zm9vY", "-_9"};
	unsigned char *out;
	size_t i, n;
	char *e;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		e = jwt_b64url_encode(vec[i].raw, strlen(vec[i].raw), &n);
		assert_non_null(e);
		assert_string_equal(e, vec[i].enc);
		assert_int_equal(n, strlen(vec[i].enc));
		free(e);
		assert_int_equal(
		    jwt_b64url_decode(vec[i].enc, strlen(vec[i].enc), &out, &n),
		    0);
		assert_non_null(out);
		assert_int_equal(n, strlen(vec[i].raw));
		assert_memory_equal(out, vec[i].raw, n);
		free(out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (jwt_b64url_decode(bad[i], strlen(bad[i]), &out, &n) != -1)
			fail_msg("decoded bad base64url \"%s\"", bad[i]);
		assert_null(out);
		assert_int_equal(n, 0);
	}
}

/* ------------------------------------------------------------------ */
/* JWS cases minted by make-fixtures.py */

static void
test_jws_cases(void **state)
{
	struct jwks *set = test_token_jwks();
	char *text, *line, *save = NULL, *name, *expect, *tok;
	char err[TOKEN_ERR_MAX];
	enum token_status st;
	size_t n = 0, bad = 0;

	(void)state;
	text = test_token_read(TEST_DIR "/jws/cases.txt", NULL);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		name = line;
		expect = strchr(name, ' ');
		assert_non_null(expect);
		*expect++ = '\0';
		tok = strchr(expect, ' ');
		assert_non_null(tok);
		*tok++ = '\0';
		err[0] = '\0';
		st = test_token_check(set, tok, TEST_NOW, err, sizeof(err));
		if (strcmp(token_status_str(st), expect) != 0) {
			print_error("case %s: got %s (%s), want %s\n", name,
			    token_status_str(st), err, expect);
			bad++;
		}
		if (st != TOKEN_OK)
			assert_true(err[0] != '\0');
		n++;
	}
	free(text);
	jwks_free(set);
	assert_int_equal(bad, 0);
	assert_true(n >= TEST_MIN_JWS_CASES);
}

/* The same valid token refused once the clock moves past exp + leeway. */
static void
test_jws_clock(void **state)
{
	struct jwks *set = test_token_jwks();
	EVP_PKEY *ec = test_token_key("ec256.pem");
	char err[TOKEN_ERR_MAX], *tok;

	(void)state;
	tok = test_token_mint(ec, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
	    "{\"iss\":\"" TEST_ISS "\",\"aud\":\"" TEST_AUD
	    "\",\"exp\":1700000100,\"nbf\":1700000000}",
	    0);
	assert_int_equal(
	    test_token_check(set, tok, 1700000000, err, sizeof(err)), TOKEN_OK);
	assert_int_equal(
	    test_token_check(set, tok, 1700000159, err, sizeof(err)), TOKEN_OK);
	assert_int_equal(
	    test_token_check(set, tok, 1700000160, err, sizeof(err)),
	    TOKEN_EXPIRED);
	assert_int_equal(
	    test_token_check(set, tok, 1699999940, err, sizeof(err)), TOKEN_OK);
	assert_int_equal(
	    test_token_check(set, tok, 1699999939, err, sizeof(err)),
	    TOKEN_NOT_YET_VALID);
	free(tok);
	EVP_PKEY_free(ec);
	jwks_free(set);
}

/* Things a text file cannot carry: spaces, NUL, exact size limits. */
static void
test_jws_bytes(void **state)
{
	struct jwks *set = test_token_jwks();
	EVP_PKEY *ec = test_token_key("ec256.pem");
	char err[TOKEN_ERR_MAX], *tok, *big;
	struct jwt jwt;
	size_t len;

	(void)state;
	tok = test_token_mint(ec, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
	    "{\"iss\":\"" TEST_ISS "\",\"aud\":\"" TEST_AUD
	    "\",\"exp\":1700000100}",
	    0);
	len = strlen(tok);
	assert_int_equal(jwt_parse(tok, len, &jwt, err, sizeof(err)), TOKEN_OK);
	jwt_clear(&jwt);
	/* the length given is what counts: one byte short is refused */
	assert_int_not_equal(
	    jwt_parse(tok, len - 1, &jwt, err, sizeof(err)), TOKEN_OK);
	assert_null(jwt.hdr);
	big = malloc(len + 2);
	assert_non_null(big);
	memcpy(big, tok, len);
	big[len] = ' ';
	assert_int_equal(
	    jwt_parse(big, len + 1, &jwt, err, sizeof(err)), TOKEN_BAD_FORMAT);
	big[len] = '\0';
	assert_int_equal(
	    jwt_parse(big, len + 1, &jwt, err, sizeof(err)), TOKEN_BAD_FORMAT);
	assert_null(jwt.hdr);
	free(big);
	/* 16385 bytes of otherwise harmless characters */
	big = malloc(TOKEN_MAX + 2);
	assert_non_null(big);
	memset(big, 'A', TOKEN_MAX + 1);
	big[10] = '.';
	big[20] = '.';
	big[TOKEN_MAX + 1] = '\0';
	assert_int_equal(jwt_parse(big, TOKEN_MAX + 1, &jwt, err, sizeof(err)),
	    TOKEN_BAD_FORMAT);
	assert_non_null(strstr(err, "longer than"));
	free(big);
	assert_int_equal(
	    jwt_parse("", 0, &jwt, err, sizeof(err)), TOKEN_BAD_FORMAT);
	assert_int_equal(
	    jwt_parse("..", 2, &jwt, err, sizeof(err)), TOKEN_BAD_FORMAT);
	free(tok);
	EVP_PKEY_free(ec);
	jwks_free(set);
}

/*
 * distribution's docs/spec/auth/jwt.md worked example: the key id of its
 * key is the spec's kid (libtrust format). The spec's own signature does
 * not verify (checked with Python's cryptography too), so it must be
 * refused; the same header and payload re-signed with the spec's private
 * key (docker-spec-resigned.jwt) must pass.
 */
static void
test_docker_spec_vector(void **state)
{
	static const char jwk[] =
	    "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"kid\":\"PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:"
	    "Z7Q6\","
	    "\"x\":\"m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q\","
	    "\"y\":\"dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc\"}";
	char *tok, kid[TOKEN_KID_SIZE], err[TOKEN_ERR_MAX] = "";
	json_t *j;
	struct jwt_key key;
	struct jwt jwt;
	struct jwt_expect want = {
	    "auth.docker.com", "registry.docker.com", 1415387100, 0};

	(void)state;
	tok =
	    test_token_trim(test_token_read(TEST_DIR "/docker-spec.jwt", NULL));
	j = json_loads(jwk, 0, NULL);
	assert_non_null(j);
	assert_int_equal(jwks_key_from_jwk(j, &key, err, sizeof(err)), 0);
	json_decref(j);
	assert_int_equal(key.alg, JWT_ALG_ES256);
	assert_int_equal(token_kid(key.pkey, kid), 0);
	assert_string_equal(kid, key.kid);
	assert_int_equal(
	    jwt_parse(tok, strlen(tok), &jwt, err, sizeof(err)), TOKEN_OK);
	assert_string_equal(jwt.kid, kid);
	assert_int_equal(
	    jwt_verify(&jwt, &key, err, sizeof(err)), TOKEN_BAD_SIGNATURE);
	jwt_clear(&jwt);
	free(tok);
	tok = test_token_trim(
	    test_token_read(TEST_DIR "/docker-spec-resigned.jwt", NULL));
	assert_int_equal(
	    jwt_parse(tok, strlen(tok), &jwt, err, sizeof(err)), TOKEN_OK);
	assert_int_equal(jwt_verify(&jwt, &key, err, sizeof(err)), TOKEN_OK);
	assert_int_equal(
	    jwt_check_claims(jwt.claims, &want, err, sizeof(err)), TOKEN_OK);
	want.now = 1415387315;
	assert_int_equal(jwt_check_claims(jwt.claims, &want, err, sizeof(err)),
	    TOKEN_EXPIRED);
	jwt_clear(&jwt);
	jwt_key_clear(&key);
	free(tok);
}

/* ------------------------------------------------------------------ */
/* keys and JWKS */

static void
test_key_alg(void **state)
{
	static const struct {
		const char *file;
		int rc;
		enum jwt_alg alg;
	} c[] = {{"rsa2048.pem", 0, JWT_ALG_RS256},
	    {"ec256.pem", 0, JWT_ALG_ES256}, {"rsa1024.pem", -1, JWT_ALG_NONE},
	    {"ec384.pem", -1, JWT_ALG_NONE}};
	char err[TOKEN_ERR_MAX];
	enum jwt_alg alg;
	EVP_PKEY *k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		k = test_token_key(c[i].file);
		assert_int_equal(
		    jwt_key_alg(k, &alg, err, sizeof(err)), c[i].rc);
		assert_int_equal(alg, c[i].alg);
		EVP_PKEY_free(k);
	}
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k);
	assert_int_equal(jwt_key_alg(k, &alg, err, sizeof(err)), -1);
	EVP_PKEY_free(k);
}

static void
test_jwks_set(void **state)
{
	struct jwks *set = test_token_jwks();
	const struct jwt_key *k;
	static const char *const skipped[] = {
	    "ed1", "rsa-enc", "rsa-ps", "rsa-small", "ec384"};
	size_t i;

	(void)state;
	assert_int_equal(set->nkeys, 2);
	assert_int_equal(set->nskipped, 5);
	for (i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++)
		if (strstr(set->note, skipped[i]) == NULL)
			fail_msg("note lacks %s: %s", skipped[i], set->note);
	assert_int_equal(jwks_find(set, "rsa1", &k), TOKEN_OK);
	assert_int_equal(k->alg, JWT_ALG_RS256);
	assert_int_equal(jwks_find(set, "ec1", &k), TOKEN_OK);
	assert_int_equal(k->alg, JWT_ALG_ES256);
	assert_int_equal(jwks_find(set, "nope", &k), TOKEN_UNKNOWN_KID);
	assert_null(k);
	assert_int_equal(jwks_find(set, "ed1", &k), TOKEN_UNKNOWN_KID);
	assert_int_equal(jwks_find(set, "rsa-small", &k), TOKEN_UNKNOWN_KID);
	assert_int_equal(jwks_find(set, NULL, &k), TOKEN_UNKNOWN_KID);
	assert_int_equal(jwks_find(NULL, "ec1", &k), TOKEN_UNKNOWN_KID);
	jwks_free(set);
	jwks_free(NULL);
}

static void
test_jwks_invalid(void **state)
{
	char **names, path[TEST_PATH_MAX], *want;
	char err[TOKEN_ERR_MAX];
	struct jwks *set;
	size_t n, i;

	(void)state;
	n = test_token_list(TEST_DIR "/jwks/invalid", ".json", &names);
	assert_true(n >= 18);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/jwks/invalid/%s", TEST_DIR,
		    names[i]);
		err[0] = '\0';
		set = (struct jwks *)1;
		if (jwks_load_file(path, &set, err, sizeof(err)) != -1)
			fail_msg("%s: accepted", names[i]);
		assert_null(set);
		memcpy(path + strlen(path) - 5, ".err", 5);
		want = test_token_trim(test_token_read(path, NULL));
		if (strstr(err, want) == NULL)
			fail_msg(
			    "%s: got \"%s\", want \"%s\"", names[i], err, want);
		free(want);
	}
	test_token_list_free(names, n);
}

/* A set with one key serves tokens without kid; bounds on the doc. */
static void
test_jwks_single(void **state)
{
	EVP_PKEY *ec = test_token_key("ec256.pem");
	char *text, *tok, err[TOKEN_ERR_MAX];
	json_t *doc, *keys;
	struct jwks *set;
	struct jwt jwt;
	struct jwt_expect want = {TEST_ISS, TEST_AUD, TEST_NOW, 60};

	(void)state;
	text = test_token_read(TEST_DIR "/jwks/test.json", NULL);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	keys = json_object_get(doc, "keys");
	/* keep only ec1 (index 1) */
	assert_int_equal(json_array_remove(keys, 0), 0);
	while (json_array_size(keys) > 1)
		assert_int_equal(json_array_remove(keys, 1), 0);
	assert_int_equal(
	    jwks_parse_json("one", doc, &set, err, sizeof(err)), 0);
	assert_int_equal(set->nkeys, 1);
	tok = test_token_mint(ec, "{\"alg\":\"ES256\"}",
	    "{\"iss\":\"" TEST_ISS "\",\"aud\":\"" TEST_AUD
	    "\",\"exp\":1700000100}",
	    0);
	assert_int_equal(
	    jwt_parse(tok, strlen(tok), &jwt, err, sizeof(err)), TOKEN_OK);
	assert_null(jwt.kid);
	assert_int_equal(
	    jwks_verify(set, &jwt, &want, err, sizeof(err)), TOKEN_OK);
	jwt_clear(&jwt);
	jwks_free(set);
	json_decref(doc);
	/* too large a document */
	set = NULL;
	assert_int_equal(
	    jwks_parse("big", text, JWKS_DOC_MAX + 1, &set, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "larger than"));
	free(text);
	free(tok);
	EVP_PKEY_free(ec);
}

/* jwt_sign() output checked with OpenSSL directly, then round-tripped. */
static void
test_sign(void **state)
{
	static const char *const files[] = {"ec256.pem", "rsa2048.pem"};
	char err[TOKEN_ERR_MAX], *tok, *dot1, *dot2, *want;
	unsigned char *raw, *der = NULL;
	size_t rawlen, i;
	int derlen;
	struct jwt_key key;
	struct jwt jwt;
	json_t *claims;
	EVP_PKEY *k;
	EVP_MD_CTX *ctx;
	struct jwt_expect exp = {TEST_ISS, TEST_AUD, TEST_NOW, 0};

	(void)state;
	for (i = 0; i < 2; i++) {
		k = test_token_key(files[i]);
		assert_int_equal(
		    jwt_key_set(&key, k, "k1", err, sizeof(err)), 0);
		EVP_PKEY_free(k); /* key holds its own reference */
		claims = json_pack("{s:s, s:s, s:I}", "iss", TEST_ISS, "aud",
		    TEST_AUD, "exp", (json_int_t)TEST_NOW + 10);
		assert_int_equal(
		    jwt_sign(&key, claims, &tok, NULL, err, sizeof(err)), 0);
		dot1 = strchr(tok, '.');
		dot2 = strrchr(tok, '.');
		assert_int_equal(
		    jwt_b64url_decode(tok, (size_t)(dot1 - tok), &raw, &rawlen),
		    0);
		want = i == 0
		    ? "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\"}"
		    : "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
		assert_int_equal(rawlen, strlen(want));
		assert_memory_equal(raw, want, rawlen);
		free(raw);
		assert_int_equal(jwt_b64url_decode(
				     dot2 + 1, strlen(dot2 + 1), &raw, &rawlen),
		    0);
		if (i == 0) {
			ECDSA_SIG *es = ECDSA_SIG_new();

			assert_int_equal(rawlen, 64);
			assert_int_equal(
			    ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, NULL),
				BN_bin2bn(raw + 32, 32, NULL)),
			    1);
			derlen = i2d_ECDSA_SIG(es, &der);
			ECDSA_SIG_free(es);
		} else {
			assert_int_equal(rawlen, 256);
			der = OPENSSL_memdup(raw, rawlen);
			derlen = (int)rawlen;
		}
		ctx = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestVerifyInit(
				     ctx, NULL, EVP_sha256(), NULL, key.pkey),
		    1);
		assert_int_equal(
		    EVP_DigestVerify(ctx, der, (size_t)derlen,
			(unsigned char *)tok, (size_t)(dot2 - tok)),
		    1);
		EVP_MD_CTX_free(ctx);
		OPENSSL_free(der);
		der = NULL;
		free(raw);
		assert_int_equal(
		    jwt_parse(tok, strlen(tok), &jwt, err, sizeof(err)),
		    TOKEN_OK);
		assert_int_equal(
		    jwt_verify(&jwt, &key, err, sizeof(err)), TOKEN_OK);
		assert_int_equal(
		    jwt_check_claims(jwt.claims, &exp, err, sizeof(err)),
		    TOKEN_OK);
		jwt_clear(&jwt);
		json_decref(claims);
		free(tok);
		jwt_key_clear(&key);
	}
	jwt_key_clear(NULL);
	jwt_clear(NULL);
}

/* Registered claims, table-driven, including leeway variations. */
static void
test_claims(void **state)
{
	static const struct {
		const char *json;
		long leeway;
		enum token_status want;
	} c[] = {
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":101}", 0, TOKEN_OK},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":100}", 0, TOKEN_EXPIRED},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":100.5}", 0, TOKEN_OK},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":99.9}", 0, TOKEN_EXPIRED},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":100}", -5, TOKEN_EXPIRED},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":100}", 1, TOKEN_OK},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":1e300}", 0, TOKEN_OK},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":-1}", 0, TOKEN_EXPIRED},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":200,\"nbf\":101}", 0,
		TOKEN_NOT_YET_VALID},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":200,\"nbf\":100}", 0,
		TOKEN_OK},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":200,\"nbf\":110}", 10,
		TOKEN_OK},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":200,\"iat\":100.5}", 0,
		TOKEN_NOT_YET_VALID},
	    {"{\"iss\":\"I\",\"aud\":[\"B\",\"A\"],\"exp\":200}", 0, TOKEN_OK},
	    {"{\"iss\":\"I\",\"aud\":[\"B\"],\"exp\":200}", 0,
		TOKEN_WRONG_AUDIENCE},
	    {"{\"iss\":\"I\",\"aud\":\"a\",\"exp\":200}", 0,
		TOKEN_WRONG_AUDIENCE},
	    {"{\"iss\":\"I\",\"aud\":\"A\\u0000x\",\"exp\":200}", 0,
		TOKEN_WRONG_AUDIENCE},
	    {"{\"iss\":\"i\",\"aud\":\"A\",\"exp\":200}", 0,
		TOKEN_WRONG_ISSUER},
	    {"{\"iss\":\"I\\u0000\",\"aud\":\"A\",\"exp\":200}", 0,
		TOKEN_WRONG_ISSUER},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":\"200\"}", 0,
		TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":null}", 0, TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"I\",\"aud\":\"A\"}", 0, TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":200,\"nbf\":true}", 0,
		TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"I\",\"aud\":\"A\",\"exp\":200,\"iat\":[1]}", 0,
		TOKEN_BAD_CLAIM},
	    {"{\"iss\":[\"I\"],\"aud\":\"A\",\"exp\":200}", 0, TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"I\",\"aud\":{},\"exp\":200}", 0, TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"I\",\"aud\":[\"A\",null],\"exp\":200}", 0,
		TOKEN_BAD_CLAIM},
	    /* type errors win over a wrong issuer or an expired token */
	    {"{\"iss\":\"X\",\"aud\":\"A\",\"exp\":1,\"sub\":1}", 0,
		TOKEN_BAD_CLAIM},
	};
	struct jwt_expect want = {"I", "A", 100, 0};
	char err[TOKEN_ERR_MAX];
	enum token_status st;
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		j = json_loads(c[i].json, JSON_ALLOW_NUL, NULL);
		assert_non_null(j);
		want.leeway = c[i].leeway;
		err[0] = '\0';
		st = jwt_check_claims(j, &want, err, sizeof(err));
		if (st != c[i].want)
			fail_msg("claims %zu %s: got %s (%s)", i, c[i].json,
			    token_status_str(st), err);
		json_decref(j);
	}
	want.aud = NULL; /* no audience expected: never a match */
	j = json_loads("{\"iss\":\"I\",\"aud\":\"A\",\"exp\":200}", 0, NULL);
	assert_int_equal(
	    jwt_check_claims(j, &want, err, sizeof(err)), TOKEN_WRONG_AUDIENCE);
	json_decref(j);
}

/* ------------------------------------------------------------------ */
/* OIDC */

static void
test_glob(void **state)
{
	char *text, *line, *save = NULL, *pat, *val, *res;
	size_t n = 0;
	char longv[OIDC_VALUE_MAX + 2];

	(void)state;
	text = test_token_read(TEST_DIR "/glob.txt", NULL);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		pat = line;
		val = strchr(pat, '\t');
		assert_non_null(val);
		*val++ = '\0';
		res = strchr(val, '\t');
		assert_non_null(res);
		*res++ = '\0';
		if (oidc_glob_match(pat, val) != atoi(res))
			fail_msg(
			    "glob \"%s\" vs \"%s\": want %s", pat, val, res);
		n++;
	}
	free(text);
	assert_true(n >= 40);
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	assert_int_equal(oidc_glob_match("**", longv), 0);
	longv[OIDC_VALUE_MAX] = '\0';
	assert_int_equal(oidc_glob_match("**", longv), 1);
	assert_int_equal(oidc_glob_match(NULL, "a"), 0);
}

static struct oidc_providers *
test_token_providers(void)
{
	json_t *arr;
	json_error_t jerr;
	struct oidc_providers *ps = NULL;
	char err[TOKEN_ERR_MAX] = "";

	arr = json_load_file(TEST_DIR "/oidc/valid/github-gitlab.json",
	    JSON_REJECT_DUPLICATES, &jerr);
	if (arr == NULL)
		fail_msg("github-gitlab.json: %s", jerr.text);
	if (oidc_load("regward.json", arr, &ps, err, sizeof(err)) != 0)
		fail_msg("oidc_load: %s", err);
	json_decref(arr);
	return ps;
}

static void
test_oidc_load_valid(void **state)
{
	struct oidc_providers *ps = test_token_providers();
	const struct oidc_provider *p;
	char err[TOKEN_ERR_MAX];
	json_t *arr;

	(void)state;
	assert_int_equal(ps->n, 3);
	p = &ps->v[0];
	assert_string_equal(p->name, "github-main");
	assert_string_equal(p->issuer, TEST_GH_ISS);
	assert_string_equal(p->audience, TEST_GH_AUD);
	assert_null(p->jwks_file);
	assert_non_null(p->jwks_url);
	assert_int_equal(p->nrules, 4);
	assert_string_equal(p->rules[2].claim, "ref");
	assert_int_equal(p->rules[2].npatterns, 2);
	assert_string_equal(p->rules[2].patterns[1], "refs/tags/v*");
	assert_string_equal(p->principal, "ci:github:{repository}@{ref}");
	assert_int_equal(p->nroles, 2);
	assert_string_equal(p->roles[1], "pusher");
	assert_string_equal(ps->v[2].jwks_file, "/etc/regward/gitlab.jwks");
	assert_int_equal(ps->v[2].nroles, 0);
	oidc_free(ps);

	arr = json_array();
	assert_int_equal(
	    oidc_load("regward.json", arr, &ps, err, sizeof(err)), 0);
	assert_int_equal(ps->n, 0);
	oidc_free(ps);
	json_decref(arr);
	assert_int_equal(
	    oidc_load("regward.json", NULL, &ps, err, sizeof(err)), 0);
	assert_int_equal(ps->n, 0);
	oidc_free(ps);
	oidc_free(NULL);
}

/* jwks_url over http to the loopback (tests), ca_file, refetch interval. */
static void
test_oidc_load_jwks_url(void **state)
{
	static const char *const ok[] = {"http://127.0.0.1:8080/jwks.json",
	    "http://localhost/jwks", "http://[::1]:9/j",
	    "https://issuer.example/keys?v=2"};
	struct oidc_providers *ps = NULL;
	char err[TOKEN_ERR_MAX], text[512];
	json_t *arr;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text),
		    "[{\"name\":\"p\",\"issuer\":\"https://i.test\","
		    "\"audience\":\"a\",\"jwks_url\":\"%s\","
		    "\"ca_file\":\"/ca.pem\",\"jwks_refetch_interval\":\"2m\","
		    "\"principal\":\"x\",\"roles\":[],"
		    "\"claims\":{\"sub\":\"x\"}}]",
		    ok[i]);
		arr = json_loads(text, 0, NULL);
		assert_non_null(arr);
		if (oidc_load("regward.json", arr, &ps, err, sizeof(err)) != 0)
			fail_msg("%s: %s", ok[i], err);
		assert_string_equal(ps->v[0].jwks_url, ok[i]);
		assert_string_equal(ps->v[0].ca_file, "/ca.pem");
		assert_int_equal(ps->v[0].jwks_refetch, 120);
		oidc_free(ps);
		json_decref(arr);
	}
}

static void
test_oidc_load_invalid(void **state)
{
	char **names, path[TEST_PATH_MAX], *want, err[TOKEN_ERR_MAX];
	struct oidc_providers *ps;
	json_error_t jerr;
	json_t *arr;
	size_t n, i;

	(void)state;
	n = test_token_list(TEST_DIR "/oidc/invalid", ".json", &names);
	assert_true(n >= 29);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/oidc/invalid/%s", TEST_DIR,
		    names[i]);
		arr = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
		if (arr == NULL)
			fail_msg("%s: %s", names[i], jerr.text);
		err[0] = '\0';
		ps = (struct oidc_providers *)1;
		if (oidc_load("regward.json", arr, &ps, err, sizeof(err)) != -1)
			fail_msg("%s: accepted", names[i]);
		assert_null(ps);
		json_decref(arr);
		memcpy(path + strlen(path) - 5, ".err", 5);
		want = test_token_trim(test_token_read(path, NULL));
		if (strcmp(err, want) != 0)
			fail_msg(
			    "%s:\n got  %s\n want %s", names[i], err, want);
		free(want);
	}
	test_token_list_free(names, n);
}

/*
 * Mint an ID token (RS256, kid rsa1) with standard claims for iss/aud
 * plus the JSON members in extra, and run oidc_verify() at TEST_NOW.
 */
static enum token_status
test_token_oidc(const struct oidc_providers *ps, const struct jwks *set,
    const char *iss, const char *aud, const char *extra, struct oidc_ident *id,
    char *err, size_t errlen)
{
	EVP_PKEY *k = test_token_key("rsa2048.pem");
	char payload[4096], *tok;
	struct jwt jwt;
	enum token_status st;

	snprintf(payload, sizeof(payload),
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%d,\"nbf\":%d,"
	    "\"iat\":%d,\"jti\":\"j\"%s%s}",
	    iss, aud, TEST_NOW + 300, TEST_NOW - 5, TEST_NOW - 5,
	    extra[0] != '\0' ? "," : "", extra);
	tok = test_token_mint(k,
	    "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"rsa1\"}", payload, 0);
	err[0] = '\0';
	st = jwt_parse(tok, strlen(tok), &jwt, err, errlen);
	if (st == TOKEN_OK)
		st = oidc_verify(ps, set, &jwt, TEST_NOW, TOKEN_LEEWAY_DEFAULT,
		    id, err, errlen);
	jwt_clear(&jwt);
	free(tok);
	EVP_PKEY_free(k);
	return st;
}

#define TEST_GH_CLAIMS(repo, owner_id, ref, wf)                                \
	"\"sub\":\"repo:" repo ":ref:" ref "\",\"repository\":\"" repo         \
	"\",\"repository_owner\":\"example-org\",\"repository_owner_id\":"     \
	"\"" owner_id "\",\"ref\":\"" ref "\",\"ref_type\":\"branch\","        \
	"\"workflow_ref\":\"" wf "\",\"ref_protected\":\"true\","              \
	"\"runner_environment\":\"github-hosted\""

static void
test_oidc_github(void **state)
{
	static const struct {
		const char *name, *aud, *claims;
		enum token_status want;
		const char *provider, *principal;
	} c[] = {
	    {"main", TEST_GH_AUD,
		TEST_GH_CLAIMS("example-org/app", "2020", "refs/heads/main",
		    "example-org/app/.github/workflows/ci.yml@refs/heads/main"),
		TOKEN_OK, "github-main",
		"ci:github:example-org/app@refs/heads/main"},
	    {"release tag", TEST_GH_AUD,
		TEST_GH_CLAIMS("example-org/app", "2020", "refs/tags/v1.2.0",
		    "example-org/app/.github/workflows/rel/x.yml@refs/heads/"
		    "main"),
		TOKEN_OK, "github-main",
		"ci:github:example-org/app@refs/tags/v1.2.0"},
	    /* a feature branch falls through to the second provider */
	    {"feature branch", TEST_GH_AUD,
		TEST_GH_CLAIMS("example-org/app", "2020", "refs/heads/feat/x",
		    "example-org/app/.github/workflows/ci.yml@refs/heads/"
		    "feat/x"),
		TOKEN_OK, "github-any-branch", "ci:github:example-org/app"},
	    /* '*' stops at '/': a nested repository path is not org/'*' */
	    {"owner id differs", TEST_GH_AUD,
		TEST_GH_CLAIMS("example-org/app", "6666", "refs/heads/main",
		    "example-org/app/.github/workflows/ci.yml@refs/heads/main"),
		TOKEN_OK, "github-any-branch", "ci:github:example-org/app"},
	    {"other org", TEST_GH_AUD,
		TEST_GH_CLAIMS("evil-org/app", "2020", "refs/heads/main",
		    "evil-org/app/.github/workflows/ci.yml@refs/heads/main"),
		TOKEN_CLAIM_MISMATCH, NULL, NULL},
	    {"lookalike org", TEST_GH_AUD,
		TEST_GH_CLAIMS("example-orgx/app", "2020", "refs/heads/main",
		    "example-orgx/app/.github/workflows/ci.yml@refs/heads/"
		    "main"),
		TOKEN_CLAIM_MISMATCH, NULL, NULL},
	    {"wrong audience", "https://other.example.com",
		TEST_GH_CLAIMS("example-org/app", "2020", "refs/heads/main",
		    "example-org/app/.github/workflows/ci.yml@refs/heads/main"),
		TOKEN_WRONG_AUDIENCE, NULL, NULL},
	    {"repository missing", TEST_GH_AUD, "\"ref\":\"refs/heads/main\"",
		TOKEN_CLAIM_MISMATCH, NULL, NULL},
	    {"repository not a string", TEST_GH_AUD,
		"\"repository\":[\"example-org/app\"]", TOKEN_CLAIM_MISMATCH,
		NULL, NULL},
	};
	struct oidc_providers *ps = test_token_providers();
	struct jwks *set = test_token_jwks();
	struct oidc_ident id;
	char err[TOKEN_ERR_MAX];
	enum token_status st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		st = test_token_oidc(ps, set, TEST_GH_ISS, c[i].aud,
		    c[i].claims, &id, err, sizeof(err));
		if (st != c[i].want)
			fail_msg("%s: got %s (%s), want %s", c[i].name,
			    token_status_str(st), err,
			    token_status_str(c[i].want));
		if (st != TOKEN_OK) {
			assert_null(id.provider);
			assert_string_equal(id.principal, "");
			continue;
		}
		assert_string_equal(id.provider->name, c[i].provider);
		assert_string_equal(id.principal, c[i].principal);
	}
	/* roles travel with the provider */
	st = test_token_oidc(ps, set, TEST_GH_ISS, TEST_GH_AUD, c[0].claims,
	    &id, err, sizeof(err));
	assert_int_equal(st, TOKEN_OK);
	assert_int_equal(id.provider->nroles, 2);
	assert_string_equal(id.provider->roles[0], "ci");
	/* an issuer nobody configured */
	st = test_token_oidc(ps, set, "https://token.actions.evil.test",
	    TEST_GH_AUD, c[0].claims, &id, err, sizeof(err));
	assert_int_equal(st, TOKEN_WRONG_ISSUER);
	oidc_free(ps);
	jwks_free(set);
}

static void
test_oidc_gitlab(void **state)
{
	static const struct {
		const char *name, *claims;
		enum token_status want;
		const char *principal;
	} c[] = {
	    {"protected",
		"\"project_path\":\"platform/app\",\"ref\":\"main\","
		"\"ref_protected\":\"true\",\"runner_id\":1",
		TOKEN_OK, "ci:gitlab:platform/app:main"},
	    {"subgroup",
		"\"project_path\":\"platform/infra/app\",\"ref\":"
		"\"v1.0\",\"ref_protected\":\"true\",\"runner_id\":2",
		TOKEN_OK, "ci:gitlab:platform/infra/app:v1.0"},
	    /* JSON booleans compare by their string form */
	    {"protected as bool",
		"\"project_path\":\"platform/app\",\"ref\":"
		"\"main\",\"ref_protected\":true,"
		"\"runner_id\":1",
		TOKEN_OK, "ci:gitlab:platform/app:main"},
	    {"unprotected",
		"\"project_path\":\"platform/app\",\"ref\":\"dev\","
		"\"ref_protected\":\"false\",\"runner_id\":1",
		TOKEN_CLAIM_MISMATCH, NULL},
	    {"protected missing",
		"\"project_path\":\"platform/app\",\"ref\":"
		"\"main\",\"runner_id\":1",
		TOKEN_CLAIM_MISMATCH, NULL},
	    {"runner 3",
		"\"project_path\":\"platform/app\",\"ref\":\"main\","
		"\"ref_protected\":\"true\",\"runner_id\":3",
		TOKEN_CLAIM_MISMATCH, NULL},
	    {"runner real",
		"\"project_path\":\"platform/app\",\"ref\":\"main\","
		"\"ref_protected\":\"true\",\"runner_id\":1.0",
		TOKEN_CLAIM_MISMATCH, NULL},
	    {"other group",
		"\"project_path\":\"platformx/app\",\"ref\":"
		"\"main\",\"ref_protected\":\"true\","
		"\"runner_id\":1",
		TOKEN_CLAIM_MISMATCH, NULL},
	    /* values that pass the rules but would make a bad principal */
	    {"ref with space",
		"\"project_path\":\"platform/app\",\"ref\":"
		"\"my branch\",\"ref_protected\":\"true\","
		"\"runner_id\":1",
		TOKEN_BAD_PRINCIPAL, NULL},
	    {"ref with newline",
		"\"project_path\":\"platform/app\",\"ref\":"
		"\"main\\nuser=admin\",\"ref_protected\":"
		"\"true\",\"runner_id\":1",
		TOKEN_BAD_PRINCIPAL, NULL},
	    {"path with space",
		"\"project_path\":\"platform/my app\",\"ref\":"
		"\"main\",\"ref_protected\":\"true\","
		"\"runner_id\":1",
		TOKEN_BAD_PRINCIPAL, NULL},
	    {"ref empty",
		"\"project_path\":\"platform/app\",\"ref\":\"\","
		"\"ref_protected\":\"true\",\"runner_id\":1",
		TOKEN_BAD_PRINCIPAL, NULL},
	    {"ref missing",
		"\"project_path\":\"platform/app\","
		"\"ref_protected\":\"true\",\"runner_id\":1",
		TOKEN_BAD_PRINCIPAL, NULL},
	    {"ref unicode",
		"\"project_path\":\"platform/app\",\"ref\":"
		"\"ma\\u00efn\",\"ref_protected\":\"true\","
		"\"runner_id\":1",
		TOKEN_BAD_PRINCIPAL, NULL},
	};
	struct oidc_providers *ps = test_token_providers();
	struct jwks *set = test_token_jwks();
	struct oidc_ident id;
	char err[TOKEN_ERR_MAX];
	enum token_status st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		st = test_token_oidc(ps, set, TEST_GL_ISS, "regward",
		    c[i].claims, &id, err, sizeof(err));
		if (st != c[i].want)
			fail_msg("%s: got %s (%s), want %s", c[i].name,
			    token_status_str(st), err,
			    token_status_str(c[i].want));
		if (st == TOKEN_OK) {
			assert_string_equal(id.provider->name, "gitlab");
			assert_string_equal(id.principal, c[i].principal);
		} else {
			assert_null(id.provider);
			assert_null(strchr(err, '\n'));
		}
	}
	oidc_free(ps);
	jwks_free(set);
}

/* oidc_verify() checks the signature and time before any rule. */
static void
test_oidc_verify(void **state)
{
	struct oidc_providers *ps = test_token_providers();
	struct jwks *set = test_token_jwks();
	EVP_PKEY *rsa = test_token_key("rsa2048.pem");
	EVP_PKEY *ec2 = test_token_key("ec256-other.pem");
	struct oidc_ident id;
	struct jwt jwt;
	char err[TOKEN_ERR_MAX], *tok;
	const struct oidc_provider *p;
	static const char ok[] =
	    "{\"iss\":\"" TEST_GL_ISS "\",\"aud\":\"regward\",\"exp\":%d,"
	    "\"project_path\":\"platform/app\",\"ref\":\"main\","
	    "\"ref_protected\":\"true\",\"runner_id\":1}";
	char payload[512];
	static const struct {
		const char *hdr;
		int key; /* 0 rsa, 1 other ec */
		int exp;
		enum token_status want;
	} c[] = {
	    {"{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", 0, TEST_NOW + 60,
		TOKEN_OK},
	    {"{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", 0, TEST_NOW - 61,
		TOKEN_EXPIRED},
	    {"{\"alg\":\"RS256\",\"kid\":\"rotated\"}", 0, TEST_NOW + 60,
		TOKEN_UNKNOWN_KID},
	    {"{\"alg\":\"ES256\",\"kid\":\"ec1\"}", 1, TEST_NOW + 60,
		TOKEN_BAD_SIGNATURE},
	    {"{\"alg\":\"ES256\",\"kid\":\"rsa1\"}", 1, TEST_NOW + 60,
		TOKEN_ALG_MISMATCH},
	};
	size_t i;
	enum token_status st;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(payload, sizeof(payload), ok, c[i].exp);
		tok =
		    test_token_mint(c[i].key ? ec2 : rsa, c[i].hdr, payload, 0);
		assert_int_equal(
		    jwt_parse(tok, strlen(tok), &jwt, err, sizeof(err)),
		    TOKEN_OK);
		assert_int_equal(
		    oidc_provider_for(ps, &jwt, &p, err, sizeof(err)),
		    TOKEN_OK);
		assert_string_equal(p->name, "gitlab");
		st = oidc_verify(
		    ps, set, &jwt, TEST_NOW, 60, &id, err, sizeof(err));
		if (st != c[i].want)
			fail_msg("case %zu: got %s (%s)", i,
			    token_status_str(st), err);
		jwt_clear(&jwt);
		free(tok);
	}
	/* oidc_match() alone, on claims someone already verified */
	{
		json_t *cl = json_pack("{s:s, s:[s,s], s:s, s:s, s:s, s:i}",
		    "iss", TEST_GL_ISS, "aud", "x", "regward", "project_path",
		    "platform/app", "ref", "main", "ref_protected", "true",
		    "runner_id", 2);

		assert_int_equal(
		    oidc_match(ps, cl, &id, err, sizeof(err)), TOKEN_OK);
		assert_string_equal(
		    id.principal, "ci:gitlab:platform/app:main");
		/* a token for another service of the same CI platform */
		json_object_set_new(cl, "aud", json_string("other"));
		assert_int_equal(oidc_match(ps, cl, &id, err, sizeof(err)),
		    TOKEN_WRONG_AUDIENCE);
		assert_null(id.provider);
		json_object_set_new(cl, "aud", json_string("regward"));
		json_object_set_new(cl, "project_path", json_string("other/x"));
		assert_int_equal(oidc_match(ps, cl, &id, err, sizeof(err)),
		    TOKEN_CLAIM_MISMATCH);
		json_object_set_new(cl, "iss", json_string(TEST_GH_ISS));
		assert_int_equal(oidc_match(ps, cl, &id, err, sizeof(err)),
		    TOKEN_WRONG_AUDIENCE);
		json_object_set_new(cl, "iss", json_string("https://x.test"));
		assert_int_equal(oidc_match(ps, cl, &id, err, sizeof(err)),
		    TOKEN_WRONG_ISSUER);
		json_object_set_new(cl, "iss", json_integer(1));
		assert_int_equal(
		    oidc_match(ps, cl, &id, err, sizeof(err)), TOKEN_BAD_CLAIM);
		json_decref(cl);
	}
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec2);
	oidc_free(ps);
	jwks_free(set);
}

/* ------------------------------------------------------------------ */
/* scopes and access */

/* "type name actions;..." for list. */
static void
test_token_fmt(const struct token_access_list *l, char *out, size_t len)
{
	static const char *const names[] = {"pull", "push", "delete", "*"};
	size_t i, k, o = 0;
	int first;

	out[0] = '\0';
	for (i = 0; i < l->n; i++) {
		o += (size_t)snprintf(out + o, len - o, "%s%s %s ",
		    i > 0 ? ";" : "", l->v[i].type, l->v[i].name);
		first = 1;
		for (k = 0; k < 4; k++)
			if (l->v[i].actions & (1u << k)) {
				o += (size_t)snprintf(out + o, len - o, "%s%s",
				    first ? "" : ",", names[k]);
				first = 0;
			}
		if (first)
			o += (size_t)snprintf(out + o, len - o, "-");
	}
}

static void
test_scope(void **state)
{
	char *text, *line, *save = NULL, *want, got[4096], err[TOKEN_ERR_MAX];
	char big[TOKEN_SCOPE_MAX + 2];
	struct token_access_list l, before;
	size_t n = 0, i, o;

	(void)state;
	text = test_token_read(TEST_DIR "/scope/valid.txt", NULL);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		want = strchr(line, '\t');
		assert_non_null(want);
		*want++ = '\0';
		memset(&l, 0, sizeof(l));
		if (token_scope_add(&l, line, strlen(line), err, sizeof(err)) !=
		    0)
			fail_msg("scope \"%s\": %s", line, err);
		test_token_fmt(&l, got, sizeof(got));
		if (strcmp(got, want) != 0)
			fail_msg("scope \"%s\": got \"%s\" want \"%s\"", line,
			    got, want);
		n++;
	}
	free(text);
	assert_true(n >= 13);

	n = 0;
	save = NULL;
	text = test_token_read(TEST_DIR "/scope/invalid.txt", NULL);
	memset(&l, 0, sizeof(l));
	assert_int_equal(
	    token_scope_add(&l, "repository:keep:pull", 20, err, sizeof(err)),
	    0);
	for (line = text; *line != '\0'; line = want + 1) {
		want = strchr(line, '\n');
		assert_non_null(want);
		*want = '\0';
		before = l;
		if (token_scope_add(&l, line, strlen(line), err, sizeof(err)) !=
		    -1)
			fail_msg("scope \"%s\" accepted", line);
		assert_memory_equal(&before, &l, sizeof(l));
		n++;
	}
	free(text);
	assert_true(n >= 30);

	/* several scope parameters accumulate and merge */
	memset(&l, 0, sizeof(l));
	assert_int_equal(
	    token_scope_add(&l, "repository:a:pull", 17, err, sizeof(err)), 0);
	assert_int_equal(
	    token_scope_add(&l, "repository:a:push", 17, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].actions, TOKEN_ACT_PULL | TOKEN_ACT_PUSH);

	/* name length: 255 accepted, 256 refused */
	o = (size_t)snprintf(big, sizeof(big), "repository:");
	memset(big + o, 'a', 255);
	strcpy(big + o + 255, ":pull");
	memset(&l, 0, sizeof(l));
	assert_int_equal(
	    token_scope_add(&l, big, strlen(big), err, sizeof(err)), 0);
	memset(big + o, 'a', 256);
	strcpy(big + o + 256, ":pull");
	assert_int_equal(
	    token_scope_add(&l, big, strlen(big), err, sizeof(err)), -1);

	/* at most TOKEN_ACCESS_MAX resources */
	o = 0;
	for (i = 0; i <= TOKEN_ACCESS_MAX; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
		    "%srepository:r%zu:pull", i > 0 ? " " : "", i);
	memset(&l, 0, sizeof(l));
	assert_int_equal(token_scope_add(&l, big, o, err, sizeof(err)), -1);
	assert_int_equal(l.n, 0);
	/* too long, embedded NUL */
	memset(big, 'a', sizeof(big));
	assert_int_equal(
	    token_scope_add(&l, big, TOKEN_SCOPE_MAX + 1, err, sizeof(err)),
	    -1);
	assert_int_equal(
	    token_scope_add(&l, "repository:a:pull\0x", 19, err, sizeof(err)),
	    -1);
	assert_int_equal(token_scope_add(&l, "", 0, err, sizeof(err)), -1);
}

static void
test_access(void **state)
{
	struct token_access_list l;
	char err[TOKEN_ERR_MAX];
	static const char s[] = "repository:team/a:pull repository:team/c:* "
				"registry:catalog:* repository:team/d:push";

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_int_equal(
	    token_scope_add(&l, s, strlen(s), err, sizeof(err)), 0);
	/* a token for repository A is not one for B */
	assert_int_equal(
	    token_access_allows(&l, "repository", "team/a", TOKEN_ACT_PULL), 1);
	assert_int_equal(
	    token_access_allows(&l, "repository", "team/b", TOKEN_ACT_PULL), 0);
	assert_int_equal(
	    token_access_allows(&l, "repository", "team/a/x", TOKEN_ACT_PULL),
	    0);
	assert_int_equal(
	    token_access_allows(&l, "repository", "team", TOKEN_ACT_PULL), 0);
	/* pull is not push */
	assert_int_equal(
	    token_access_allows(&l, "repository", "team/a", TOKEN_ACT_PUSH), 0);
	assert_int_equal(
	    token_access_allows(&l, "repository", "team/a", TOKEN_ACT_DELETE),
	    0);
	/* push alone does not grant pull */
	assert_int_equal(
	    token_access_allows(&l, "repository", "team/d", TOKEN_ACT_PULL), 0);
	assert_int_equal(
	    token_access_allows(&l, "repository", "team/d", TOKEN_ACT_PUSH), 1);
	/* "*" grants every action on its resource only */
	assert_int_equal(
	    token_access_allows(&l, "repository", "team/c", TOKEN_ACT_DELETE),
	    1);
	assert_int_equal(
	    token_access_allows(&l, "registry", "catalog", TOKEN_ACT_ALL), 1);
	/* type matters */
	assert_int_equal(
	    token_access_allows(&l, "registry", "team/a", TOKEN_ACT_PULL), 0);
	/* one action at a time */
	assert_int_equal(token_access_allows(&l, "repository", "team/a",
			     TOKEN_ACT_PULL | TOKEN_ACT_PUSH),
	    0);
	assert_int_equal(token_access_allows(&l, "repository", "team/a", 0), 0);
	assert_int_equal(token_action_bit("pull"), TOKEN_ACT_PULL);
	assert_int_equal(token_action_bit("Pull"), 0);
}

/* ------------------------------------------------------------------ */
/* regward's registry tokens */

static void
test_kid(void **state)
{
	char kid[TOKEN_KID_SIZE];
	EVP_PKEY *k = test_token_key("ec256.pem");
	size_t i;

	(void)state;
	assert_int_equal(token_kid(k, kid), 0);
	assert_int_equal(strlen(kid), 59);
	for (i = 0; i < 59; i++) {
		if (i % 5 == 4)
			assert_int_equal(kid[i], ':');
		else
			assert_non_null(
			    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", kid[i]));
	}
	EVP_PKEY_free(k);
}

static void
test_token_key_ec(struct jwt_key *key, const char *file)
{
	EVP_PKEY *k = test_token_key(file);
	char kid[TOKEN_KID_SIZE], err[TOKEN_ERR_MAX];

	assert_int_equal(token_kid(k, kid), 0);
	assert_int_equal(jwt_key_set(key, k, kid, err, sizeof(err)), 0);
	EVP_PKEY_free(k);
}

static void
test_issue_verify(void **state)
{
	struct jwt_key key;
	struct token_access_list l;
	struct token_grant g;
	struct token_claims tc;
	struct jwt_expect want = {"regward", "registry.test", TEST_NOW, 60};
	char err[TOKEN_ERR_MAX], *tok, *tok2, hdr[512];
	unsigned char *raw;
	size_t len, rawlen;
	json_t *cl, *a;
	const char *dot;

	(void)state;
	test_token_key_ec(&key, "ec256.pem");
	memset(&l, 0, sizeof(l));
	assert_int_equal(token_scope_add(&l,
			     "repository:team/a:pull,push registry:catalog:*",
			     46, err, sizeof(err)),
	    0);
	g.iss = "regward";
	g.sub = "alice";
	g.aud = "registry.test";
	g.now = TEST_NOW;
	g.ttl = 300;
	g.access = &l;
	assert_int_equal(
	    token_issue(&key, &g, &tok, &len, err, sizeof(err)), 0);
	assert_int_equal(strlen(tok), len);
	assert_true(len < TOKEN_MAX);

	/* header and claims as the distribution spec has them */
	dot = strchr(tok, '.');
	assert_int_equal(
	    jwt_b64url_decode(tok, (size_t)(dot - tok), &raw, &rawlen), 0);
	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", key.kid);
	assert_int_equal(rawlen, strlen(hdr));
	assert_memory_equal(raw, hdr, rawlen);
	free(raw);
	assert_int_equal(
	    jwt_b64url_decode(
		dot + 1, (size_t)(strrchr(tok, '.') - dot - 1), &raw, &rawlen),
	    0);
	cl = json_loadb((char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	assert_non_null(cl);
	assert_string_equal(
	    json_string_value(json_object_get(cl, "iss")), "regward");
	assert_string_equal(
	    json_string_value(json_object_get(cl, "sub")), "alice");
	assert_string_equal(
	    json_string_value(json_object_get(cl, "aud")), "registry.test");
	assert_int_equal(
	    json_integer_value(json_object_get(cl, "exp")), TEST_NOW + 300);
	assert_int_equal(
	    json_integer_value(json_object_get(cl, "nbf")), TEST_NOW);
	assert_int_equal(
	    json_integer_value(json_object_get(cl, "iat")), TEST_NOW);
	assert_int_equal(json_string_length(json_object_get(cl, "jti")), 22);
	a = json_array_get(json_object_get(cl, "access"), 0);
	assert_string_equal(
	    json_string_value(json_object_get(a, "type")), "repository");
	assert_string_equal(
	    json_string_value(json_object_get(a, "name")), "team/a");
	assert_int_equal(json_array_size(json_object_get(a, "actions")), 2);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(a, "actions"), 1)),
	    "push");
	json_decref(cl);

	assert_int_equal(
	    token_verify(&key, tok, len, &want, &tc, err, sizeof(err)),
	    TOKEN_OK);
	assert_string_equal(tc.sub, "alice");
	assert_int_equal(tc.exp, TEST_NOW + 300);
	assert_int_equal(tc.access.n, 2);
	assert_int_equal(token_access_allows(&tc.access, "repository", "team/a",
			     TOKEN_ACT_PUSH),
	    1);
	assert_int_equal(token_access_allows(&tc.access, "repository", "team/b",
			     TOKEN_ACT_PULL),
	    0);
	assert_int_equal(token_access_allows(
			     &tc.access, "registry", "catalog", TOKEN_ACT_ALL),
	    1);

	/* two tokens differ in jti */
	assert_int_equal(
	    token_issue(&key, &g, &tok2, NULL, err, sizeof(err)), 0);
	assert_string_not_equal(tok, tok2);
	free(tok2);

	/* expiry, audience and issuer on our own tokens */
	want.now = TEST_NOW + 360;
	assert_int_equal(
	    token_verify(&key, tok, len, &want, &tc, err, sizeof(err)),
	    TOKEN_EXPIRED);
	assert_string_equal(tc.sub, "");
	want.now = TEST_NOW + 359;
	assert_int_equal(
	    token_verify(&key, tok, len, &want, &tc, err, sizeof(err)),
	    TOKEN_OK);
	want.aud = "other.test";
	assert_int_equal(
	    token_verify(&key, tok, len, &want, &tc, err, sizeof(err)),
	    TOKEN_WRONG_AUDIENCE);
	want.aud = "registry.test";
	want.iss = "someone-else";
	assert_int_equal(
	    token_verify(&key, tok, len, &want, &tc, err, sizeof(err)),
	    TOKEN_WRONG_ISSUER);

	/* bad grants */
	g.ttl = 0;
	assert_int_equal(
	    token_issue(&key, &g, &tok2, NULL, err, sizeof(err)), -1);
	assert_null(tok2);
	g.ttl = 300;
	g.sub = NULL;
	assert_int_equal(
	    token_issue(&key, &g, &tok2, NULL, err, sizeof(err)), -1);
	free(tok);
	jwt_key_clear(&key);
}

/* Attacks on regward's own tokens, minted outside the code under test. */
static void
test_token_attacks(void **state)
{
	struct jwt_key key;
	struct token_claims tc;
	struct jwt_expect want = {"regward", "registry.test", TEST_NOW, 60};
	EVP_PKEY *ec = test_token_key("ec256.pem");
	EVP_PKEY *ec2 = test_token_key("ec256-other.pem");
	EVP_PKEY *rsa = test_token_key("rsa2048.pem");
	char hdr[512], hdr_rs[512], *tok, err[TOKEN_ERR_MAX];
	char *good, *p64, *forged;
	size_t i;
	static const char claims_a[] =
	    "{\"iss\":\"regward\",\"sub\":\"bob\",\"aud\":\"registry.test\","
	    "\"exp\":1700000300,\"nbf\":1700000000,\"iat\":1700000000,"
	    "\"jti\":\"x\",\"access\":[{\"type\":\"repository\",\"name\":"
	    "\"team/a\",\"actions\":[\"pull\"]}]}";
	static const char claims_b[] =
	    "{\"iss\":\"regward\",\"sub\":\"bob\",\"aud\":\"registry.test\","
	    "\"exp\":1700000300,\"nbf\":1700000000,\"iat\":1700000000,"
	    "\"jti\":\"x\",\"access\":[{\"type\":\"repository\",\"name\":"
	    "\"team/b\",\"actions\":[\"pull\",\"push\"]}]}";
	static const struct {
		const char *claims;
		enum token_status want;
	} bad[] = {
	    {"{\"iss\":\"regward\",\"sub\":\"bob\",\"aud\":\"registry.test\","
	     "\"exp\":1700000300,\"access\":\"repository:team/a:pull\"}",
		TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"regward\",\"aud\":\"registry.test\","
	     "\"exp\":1700000300,\"access\":[]}",
		TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"regward\",\"sub\":\"bob\",\"aud\":\"registry.test\","
	     "\"exp\":1700000300}",
		TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"regward\",\"sub\":\"bob\",\"aud\":\"registry.test\","
	     "\"exp\":1700000300,\"access\":[{\"type\":\"repository\","
	     "\"name\":\"Team/A\",\"actions\":[\"pull\"]}]}",
		TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"regward\",\"sub\":\"bob\",\"aud\":\"registry.test\","
	     "\"exp\":1700000300,\"access\":[{\"type\":\"repository\","
	     "\"name\":\"team/a\",\"actions\":[1]}]}",
		TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"regward\",\"sub\":\"bob\",\"aud\":\"registry.test\","
	     "\"exp\":1700000300,\"access\":[{\"type\":\"repository\","
	     "\"name\":\"team/a\",\"actions\":\"pull\"}]}",
		TOKEN_BAD_CLAIM},
	    {"{\"iss\":\"regward\",\"sub\":\"bob\",\"aud\":\"registry.test\","
	     "\"exp\":1700000300,\"nbf\":1700000100,\"access\":[]}",
		TOKEN_NOT_YET_VALID},
	};

	(void)state;
	test_token_key_ec(&key, "ec256.pem");
	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", key.kid);
	snprintf(hdr_rs, sizeof(hdr_rs),
	    "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", key.kid);

	/* minted by the test with our key: accepted, grants A only */
	good = test_token_mint(ec, hdr, claims_a, 0);
	assert_int_equal(token_verify(&key, good, strlen(good), &want, &tc, err,
			     sizeof(err)),
	    TOKEN_OK);
	assert_int_equal(token_access_allows(&tc.access, "repository", "team/a",
			     TOKEN_ACT_PULL),
	    1);
	assert_int_equal(token_access_allows(&tc.access, "repository", "team/b",
			     TOKEN_ACT_PULL),
	    0);
	assert_int_equal(token_access_allows(&tc.access, "repository", "team/a",
			     TOKEN_ACT_PUSH),
	    0);

	/* payload swapped for one granting B, signature of A kept */
	p64 = test_token_b64(claims_b, strlen(claims_b));
	forged = malloc(strlen(good) + strlen(p64) + 1);
	assert_non_null(forged);
	i = (size_t)(strchr(good, '.') - good);
	memcpy(forged, good, i + 1);
	strcpy(forged + i + 1, p64);
	strcat(forged, strrchr(good, '.'));
	assert_int_equal(token_verify(&key, forged, strlen(forged), &want, &tc,
			     err, sizeof(err)),
	    TOKEN_BAD_SIGNATURE);
	assert_int_equal(tc.access.n, 0);
	free(forged);
	free(p64);

	/* signed by another EC key claiming our kid */
	tok = test_token_mint(ec2, hdr, claims_b, 0);
	assert_int_equal(
	    token_verify(&key, tok, strlen(tok), &want, &tc, err, sizeof(err)),
	    TOKEN_BAD_SIGNATURE);
	free(tok);
	/* RS256 with our kid */
	tok = test_token_mint(rsa, hdr_rs, claims_b, 0);
	assert_int_equal(
	    token_verify(&key, tok, strlen(tok), &want, &tc, err, sizeof(err)),
	    TOKEN_ALG_MISMATCH);
	free(tok);
	/* no kid, another kid */
	tok = test_token_mint(ec, "{\"alg\":\"ES256\"}", claims_a, 0);
	assert_int_equal(
	    token_verify(&key, tok, strlen(tok), &want, &tc, err, sizeof(err)),
	    TOKEN_UNKNOWN_KID);
	free(tok);
	tok = test_token_mint(
	    ec, "{\"alg\":\"ES256\",\"kid\":\"AAAA\"}", claims_a, 0);
	assert_int_equal(
	    token_verify(&key, tok, strlen(tok), &want, &tc, err, sizeof(err)),
	    TOKEN_UNKNOWN_KID);
	free(tok);
	/* DER signature */
	tok = test_token_mint(ec, hdr, claims_a, 1);
	assert_int_equal(
	    token_verify(&key, tok, strlen(tok), &want, &tc, err, sizeof(err)),
	    TOKEN_BAD_SIGNATURE);
	free(tok);
	/* alg none with our kid */
	{
		char none[512], *h, *p;

		snprintf(none, sizeof(none),
		    "{\"alg\":\"none\",\"kid\":\"%s\"}", key.kid);
		h = test_token_b64(none, strlen(none));
		p = test_token_b64(claims_b, strlen(claims_b));
		tok = malloc(strlen(h) + strlen(p) + 3);
		assert_non_null(tok);
		sprintf(tok, "%s.%s.", h, p);
		assert_int_equal(token_verify(&key, tok, strlen(tok), &want,
				     &tc, err, sizeof(err)),
		    TOKEN_ALG_NONE);
		free(tok);
		free(h);
		free(p);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum token_status st;

		tok = test_token_mint(ec, hdr, bad[i].claims, 0);
		st = token_verify(
		    &key, tok, strlen(tok), &want, &tc, err, sizeof(err));
		if (st != bad[i].want)
			fail_msg("bad %zu: got %s (%s)", i,
			    token_status_str(st), err);
		free(tok);
	}
	free(good);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec2);
	EVP_PKEY_free(rsa);
	jwt_key_clear(&key);
}

/* ------------------------------------------------------------------ */
/* the signing key file */

static void
test_key_file(void **state)
{
	char dir[] = "/tmp/test_token.XXXXXX", path[TEST_PATH_MAX];
	char kid1[JWT_KID_MAX + 1], err[TOKEN_ERR_MAX], cmd[2 * TEST_PATH_MAX];
	struct jwt_key key;
	struct stat sb;
	int created = -1;
	FILE *f;
	DIR *d;
	struct dirent *de;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token.pem", dir);

	assert_int_equal(
	    token_key_load_or_create(path, &key, &created, err, sizeof(err)),
	    0);
	assert_int_equal(created, 1);
	assert_int_equal(key.alg, JWT_ALG_ES256);
	assert_int_equal(strlen(key.kid), 59);
	snprintf(kid1, sizeof(kid1), "%s", key.kid);
	jwt_key_clear(&key);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	/* second start: same key, not created */
	assert_int_equal(
	    token_key_load_or_create(path, &key, &created, err, sizeof(err)),
	    0);
	assert_int_equal(created, 0);
	assert_string_equal(key.kid, kid1);
	jwt_key_clear(&key);

	/* only token.pem is left, no temporary files */
	n = 0;
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 1);

	/* garbage, an RSA key, a directory: refused */
	assert_non_null(f = fopen(path, "w"));
	fputs("not a key\n", f);
	fclose(f);
	assert_int_equal(
	    token_key_load_or_create(path, &key, &created, err, sizeof(err)),
	    -1);
	assert_null(key.pkey);
	assert_int_equal(created, 0);
	snprintf(cmd, sizeof(cmd), "cp %s/keys/rsa2048.pem %s", TEST_DIR, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(
	    token_key_load_or_create(path, &key, &created, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "EC P-256"));
	assert_int_equal(
	    token_key_load_or_create(dir, &key, &created, err, sizeof(err)),
	    -1);
	/* a missing directory is an error, not a crash */
	snprintf(cmd, sizeof(cmd), "%s/nope/token.pem", dir);
	assert_int_equal(
	    token_key_load_or_create(cmd, &key, &created, err, sizeof(err)),
	    -1);
	unlink(path);
	rmdir(dir);
}

/* Eight processes start at once: one creates the key, all agree on it. */
static void
test_key_file_race(void **state)
{
	char dir[] = "/tmp/test_token.XXXXXX", path[TEST_PATH_MAX];
	char buf[8][TOKEN_KID_SIZE + 2], err[TOKEN_ERR_MAX];
	int fds[8][2], i, status, creators = 0;
	pid_t pids[8];
	ssize_t r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token.pem", dir);
	for (i = 0; i < 8; i++) {
		assert_int_equal(pipe(fds[i]), 0);
		pids[i] = fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0) {
			struct jwt_key key;
			int created = 0;
			char out[JWT_KID_MAX + 2];

			if (token_key_load_or_create(
				path, &key, &created, err, sizeof(err)) != 0)
				_exit(2);
			snprintf(out, sizeof(out), "%c%s", created ? 'C' : 'L',
			    key.kid);
			if (write(fds[i][1], out, strlen(out)) < 0)
				_exit(3);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < 8; i++) {
		r = read(fds[i][0], buf[i], sizeof(buf[i]) - 1);
		assert_true(r > 0);
		buf[i][r] = '\0';
		close(fds[i][0]);
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (buf[i][0] == 'C')
			creators++;
		assert_string_equal(buf[i] + 1, buf[0] + 1);
	}
	assert_int_equal(creators, 1);
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
}

static void
test_status_names(void **state)
{
	static const char *const want[] = {"ok", "bad_format", "alg_none",
	    "alg_hmac", "alg_unsupported", "alg_mismatch", "crit",
	    "unknown_kid", "bad_signature", "bad_claim", "expired",
	    "not_yet_valid", "wrong_issuer", "wrong_audience", "claim_mismatch",
	    "bad_principal", "internal"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(
		    token_status_str((enum token_status)i), want[i]);
	assert_string_equal(token_status_str((enum token_status)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64url),
	    cmocka_unit_test(test_jws_cases),
	    cmocka_unit_test(test_jws_clock),
	    cmocka_unit_test(test_jws_bytes),
	    cmocka_unit_test(test_docker_spec_vector),
	    cmocka_unit_test(test_key_alg),
	    cmocka_unit_test(test_jwks_set),
	    cmocka_unit_test(test_jwks_invalid),
	    cmocka_unit_test(test_jwks_single),
	    cmocka_unit_test(test_sign),
	    cmocka_unit_test(test_claims),
	    cmocka_unit_test(test_glob),
	    cmocka_unit_test(test_oidc_load_valid),
	    cmocka_unit_test(test_oidc_load_jwks_url),
	    cmocka_unit_test(test_oidc_load_invalid),
	    cmocka_unit_test(test_oidc_github),
	    cmocka_unit_test(test_oidc_gitlab),
	    cmocka_unit_test(test_oidc_verify),
	    cmocka_unit_test(test_scope),
	    cmocka_unit_test(test_access),
	    cmocka_unit_test(test_kid),
	    cmocka_unit_test(test_issue_verify),
	    cmocka_unit_test(test_token_attacks),
	    cmocka_unit_test(test_key_file),
	    cmocka_unit_test(test_key_file_race),
	    cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
