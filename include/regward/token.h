/*
 * token: JSON Web Tokens for authentication (the regward_auth library,
 * gateway/auth.cmake). Pure functions over bytes, jansson values and
 * OpenSSL keys: no sockets, no libevent, no libcurl, no sqlite. The only
 * file access is jwks_load_file() and token_key_load_or_create().
 *
 *   jwt.c    JWS compact serialization (RFC 7515): base64url, strict
 *            parse, signature check with a key whose algorithm decides,
 *            registered-claim checks (RFC 7519), signing
 *   jwks.c   JWK Sets (RFC 7517/7518): RSA and EC P-256 public keys
 *   oidc.c   auth.oidc[] providers: loader, claim rules with globs,
 *            principal templates; CI ID tokens (GitHub, GitLab) mapped to
 *            a principal and roles
 *   token.c  regward's own registry tokens (distribution's token spec):
 *            scopes, access lists, issue and verify, the signing key file
 *
 * Only RS256 and ES256 are ever accepted. The algorithm is the key's (its
 * type, curve and JWK "alg"); the token's "alg" header must equal it or
 * the token is refused, so "none", HMAC and algorithm-confusion tokens
 * never reach a verifier.
 *
 * Conventions. Functions that can fail take (char *err, size_t errlen) and
 * write one line there, without a trailing newline (err may be NULL when
 * errlen is 0); messages never contain a token, a key or a secret, only
 * claim names and, for claim rules, the offending claim value shortened.
 * Out-parameters are cleared on entry and set on success. Request-path
 * checks return enum token_status; plumbing returns 0/-1. "Borrowed"
 * arguments are not kept after the call returns.
 */
#ifndef REGWARD_TOKEN_H
#define REGWARD_TOKEN_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#define TOKEN_ERR_MAX 512 /* a comfortable size for err buffers */
#define TOKEN_MAX 16384 /* longest compact JWS accepted, bytes */
#define TOKEN_LEEWAY_DEFAULT 60 /* seconds of clock skew tolerated */

/*
 * Why a token was refused. One reason per failure so logs and tests can
 * tell them apart; token_status_str() gives the short name used in logs
 * ("alg_none", ...). docs/tokens.md describes each.
 */
enum token_status {
	TOKEN_OK = 0,
	TOKEN_BAD_FORMAT, /* not a compact JWS, bad base64url or JSON */
	TOKEN_ALG_NONE, /* "alg": "none" */
	TOKEN_ALG_HMAC, /* HS256/384/512 */
	TOKEN_ALG_UNSUPPORTED, /* any alg other than RS256/ES256 */
	TOKEN_ALG_MISMATCH, /* header alg differs from the key's alg */
	TOKEN_CRIT, /* a "crit" header (no extension understood) */
	TOKEN_UNKNOWN_KID, /* no key with the token's kid */
	TOKEN_BAD_SIGNATURE, /* signature does not verify / bad length */
	TOKEN_BAD_CLAIM, /* registered claim missing or wrong type */
	TOKEN_EXPIRED, /* now >= exp + leeway */
	TOKEN_NOT_YET_VALID, /* nbf or iat later than now + leeway */
	TOKEN_WRONG_ISSUER, /* iss not the expected one / no provider */
	TOKEN_WRONG_AUDIENCE, /* aud does not contain the expected one */
	TOKEN_CLAIM_MISMATCH, /* an OIDC claim rule did not match */
	TOKEN_BAD_PRINCIPAL, /* principal template value not printable */
	TOKEN_INTERNAL /* out of memory, OpenSSL failure */
};

/* ------------------------------------------------------------------ */
/* jwt.c */

/* Algorithms; JWT_ALG_NONE means "no algorithm", never "alg: none". */
enum jwt_alg { JWT_ALG_NONE = 0, JWT_ALG_RS256, JWT_ALG_ES256 };

#define JWT_KID_MAX 256 /* longest kid accepted, bytes */
#define JWT_RSA_MIN_BITS 2048 /* smaller RSA keys are refused */
#define JWT_RSA_MAX_BITS 8192 /* larger ones too (verify cost) */

/*
 * printf into err[0..errlen), truncating; no-op when err is NULL or
 * errlen is 0. jwt_err_openssl() then appends ": " and the reasons in
 * this thread's OpenSSL error queue, draining it.
 */
void jwt_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void jwt_err_openssl(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copy s into buf[0..len) for a log message: at most max bytes of s,
 * bytes outside 0x21..0x7e replaced by '?', "..." appended when cut.
 * Returns buf. Used for every token-supplied string put in a message.
 */
const char *jwt_printable(const char *s, size_t max, char *buf, size_t len);

/* "RS256", "ES256" or "none". */
const char *jwt_alg_str(enum jwt_alg alg);

/*
 * A verification (or signing) key. pkey is owned: jwt_key_clear() frees
 * it. alg is derived from the key by jwt_key_set(), never from a token.
 */
struct jwt_key {
	char kid[JWT_KID_MAX + 1]; /* "" when the key has no kid */
	enum jwt_alg alg;
	EVP_PKEY *pkey;
};

/*
 * The algorithm a key is used with: RSA of JWT_RSA_MIN_BITS..MAX_BITS
 * bits -> RS256, EC on P-256 -> ES256; anything else (RSA-PSS keys,
 * other curves, Ed25519, small RSA) -> -1 with a message.
 */
int jwt_key_alg(EVP_PKEY *pkey, enum jwt_alg *alg, char *err, size_t errlen);

/*
 * Fill key (cleared on entry) from pkey and kid (NULL or "" for none, at
 * most JWT_KID_MAX bytes). Takes a new reference to pkey (the caller
 * keeps its own). Returns 0, or -1 when jwt_key_alg() refuses the key.
 */
int jwt_key_set(struct jwt_key *key, EVP_PKEY *pkey, const char *kid, char *err,
    size_t errlen);

/* Free key->pkey and clear key. No-op on NULL. */
void jwt_key_clear(struct jwt_key *key);

/*
 * Encode buf[0..len) as unpadded base64url (RFC 4648 §5, RFC 7515 §2).
 * Returns a malloc'd NUL-terminated string (free with free()), its
 * length in *outlen (may be NULL), or NULL when out of memory.
 */
char *jwt_b64url_encode(const void *buf, size_t len, size_t *outlen);

/*
 * Strictly decode unpadded base64url s[0..len): alphabet "-_", no '=',
 * no whitespace, len % 4 != 1, unused trailing bits zero (so every value
 * has one encoding). Returns 0 with *out (malloc'd, free with free();
 * never NULL on success) and *outlen, or -1.
 */
int jwt_b64url_decode(
    const char *s, size_t len, unsigned char **out, size_t *outlen);

/*
 * A parsed, NOT yet verified, compact JWS. Owned by the struct; release
 * with jwt_clear(). hdr_alg and kid are borrowed from hdr.
 */
struct jwt {
	json_t *hdr; /* the JOSE header object */
	json_t *claims; /* the payload object */
	enum jwt_alg alg; /* hdr "alg": RS256 or ES256 */
	const char *kid; /* hdr "kid", NULL when absent */
	char *signing_input; /* "header.payload" as received */
	size_t signing_len;
	unsigned char *sig; /* decoded signature */
	size_t siglen;
};

/*
 * Parse tok[0..len) (a compact JWS, at most TOKEN_MAX bytes, characters
 * [A-Za-z0-9_-] and exactly two '.'). Header and payload must be JSON
 * objects without duplicate keys or trailing data. The header must have
 * a string "alg": "none" -> TOKEN_ALG_NONE, "HS*" -> TOKEN_ALG_HMAC,
 * anything but RS256/ES256 -> TOKEN_ALG_UNSUPPORTED; "crit" present ->
 * TOKEN_CRIT; "kid", when present, a string of at most JWT_KID_MAX bytes.
 * jwt is cleared on entry and filled only on TOKEN_OK. The signature is
 * NOT checked here: call jwt_verify().
 */
enum token_status jwt_parse(
    const char *tok, size_t len, struct jwt *jwt, char *err, size_t errlen);

/* Release what jwt owns and clear it. No-op on NULL. */
void jwt_clear(struct jwt *jwt);

/*
 * Check jwt's signature with key (borrowed). The header's alg must equal
 * key->alg (else TOKEN_ALG_MISMATCH). ES256 signatures are the 64-byte
 * r||s of RFC 7518 §3.4 (DER is refused); RS256 is RSASSA-PKCS1-v1_5
 * with SHA-256, signature length equal to the modulus size.
 */
enum token_status jwt_verify(
    const struct jwt *jwt, const struct jwt_key *key, char *err, size_t errlen);

/* What jwt_check_claims() expects. */
struct jwt_expect {
	const char *iss; /* exact "iss" required */
	const char *aud; /* must be "aud" or one element of the "aud" array */
	time_t now; /* the current time (tests pass their own) */
	long leeway; /* seconds; negative counts as 0 */
};

/*
 * Check the registered claims of claims (borrowed): iss (string) equal
 * to want->iss; aud (a string or a non-empty array of strings) containing
 * want->aud; exp (a JSON number) required with now < exp + leeway; nbf
 * and iat, when present, numbers not later than now + leeway; sub and
 * jti, when present, strings. Wrong types -> TOKEN_BAD_CLAIM.
 */
enum token_status jwt_check_claims(const json_t *claims,
    const struct jwt_expect *want, char *err, size_t errlen);

/*
 * Sign claims (borrowed object) with key (borrowed; its private key) and
 * return the compact JWS in *out (malloc'd, free with free()) and its
 * length in *outlen (may be NULL). The header is {"alg":key->alg,
 * "typ":"JWT","kid":key->kid} (kid left out when ""), compact JSON.
 * ES256 signatures are produced as r||s. Returns 0 or -1.
 */
int jwt_sign(const struct jwt_key *key, const json_t *claims, char **out,
    size_t *outlen, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* jwks.c */

#define JWKS_DOC_MAX (256 * 1024) /* largest JWKS document, bytes */
#define JWKS_KEYS_MAX 64 /* most entries in "keys" */
#define JWKS_NOTE_MAX 512 /* skipped-keys note */

/*
 * A parsed JWK Set. keys[0..nkeys) hold RSA (RS256) and EC P-256 (ES256)
 * public keys with distinct kids. note lists the entries that were
 * skipped (other key types, "use" not "sig", another "alg", ...), for the
 * caller to log; nskipped counts them. Free with jwks_free().
 */
struct jwks {
	struct jwt_key *keys;
	size_t nkeys;
	size_t nskipped;
	char note[JWKS_NOTE_MAX];
};

/*
 * Build one key from a JWK object (borrowed) into key (cleared on entry).
 * Returns 0; 1 when the JWK is well formed but not usable for RS256 or
 * ES256 signatures (reason in err; the caller skips it); -1 when it is
 * malformed (reason in err).
 */
int jwks_key_from_jwk(
    const json_t *jwk, struct jwt_key *key, char *err, size_t errlen);

/*
 * Parse a JWK Set {"keys":[...]} from doc (borrowed). name is used in
 * messages ("github.jwks: keys[2].n: ..."). Duplicate kids, more than
 * JWKS_KEYS_MAX entries, a malformed entry or no usable key at all are
 * errors. Returns 0 with *out (free with jwks_free()), or -1.
 */
int jwks_parse_json(const char *name, const json_t *doc, struct jwks **out,
    char *err, size_t errlen);

/* Same from text[0..len) (at most JWKS_DOC_MAX bytes, no duplicate keys). */
int jwks_parse(const char *name, const char *text, size_t len,
    struct jwks **out, char *err, size_t errlen);

/* Same from a file (read up to JWKS_DOC_MAX bytes). */
int jwks_load_file(
    const char *path, struct jwks **out, char *err, size_t errlen);

/* Free a JWK Set and its keys. No-op on NULL. */
void jwks_free(struct jwks *set);

/*
 * The key for kid (NULL when the token has none) in set (borrowed):
 * TOKEN_OK with *key borrowed from set, or TOKEN_UNKNOWN_KID, so the
 * caller may refetch the JWKS once and retry. A token without kid is
 * matched only when the set holds exactly one key.
 */
enum token_status jwks_find(
    const struct jwks *set, const char *kid, const struct jwt_key **key);

/*
 * Verify a parsed token with the key set: jwks_find(), jwt_verify(),
 * jwt_check_claims(). Returns the first failure.
 */
enum token_status jwks_verify(const struct jwks *set, const struct jwt *jwt,
    const struct jwt_expect *want, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* oidc.c */

#define OIDC_PROVIDERS_MAX 32
#define OIDC_RULES_MAX 32 /* claim rules per provider */
#define OIDC_PATTERNS_MAX 32 /* patterns per claim rule */
#define OIDC_PATTERN_MAX 256 /* bytes per pattern */
#define OIDC_VALUE_MAX 1024 /* longer claim values never match */
#define OIDC_PRINCIPAL_MAX 256 /* longest principal name */
#define OIDC_ROLES_MAX 32
#define OIDC_NAME_MAX 64 /* provider and role names */

/* One claim rule: the claim must match one of patterns. */
struct oidc_rule {
	char *claim;
	char **patterns;
	size_t npatterns;
};

/* One auth.oidc[] entry. All strings owned by the providers set. */
struct oidc_provider {
	char *name; /* "github" */
	char *issuer; /* "https://token.actions.githubusercontent.com" */
	char *audience; /* expected "aud" */
	char *jwks_file; /* exactly one of jwks_file and jwks_url */
	char *jwks_url;
	char *ca_file; /* jwks_url's CA bundle, NULL: the system's */
	unsigned jwks_refetch; /* seconds between kid-driven fetches; 0:
				  default */
	struct oidc_rule *rules;
	size_t nrules;
	char *principal; /* template, "github:{repository}@{ref}" (the gateway
			    prefixes "ci:") */
	char **roles;
	size_t nroles;
};

struct oidc_providers {
	struct oidc_provider *v;
	size_t n;
};

/*
 * Load auth.oidc from arr (borrowed; must be an array, NULL for none).
 * file names the config file in messages:
 *   regward.json: auth.oidc[0].claims.ref: must be a string or an array
 * Entries: name (unique), issuer (https URL), audience, jwks_file or
 * jwks_url (exactly one; providers that share an issuer must name the
 * same JWKS; jwks_url https, or http to 127.0.0.1/localhost/[::1] for
 * tests), with jwks_url optionally ca_file and jwks_refetch_interval
 * (1s..1h), claims (object, at least one rule), principal (template),
 * roles (array of names). Unknown keys are errors. Returns 0 and *out
 * (free with oidc_free()), or -1.
 */
int oidc_load(const char *file, const json_t *arr, struct oidc_providers **out,
    char *err, size_t errlen);

/* Free what oidc_load() returned. No-op on NULL. */
void oidc_free(struct oidc_providers *ps);

/*
 * Match s against pattern: '*' matches any run of characters other than
 * '/', "**" any run including '/'; every other byte matches itself (no
 * escapes, no '?'). A pattern without '*' is an exact comparison.
 * Returns 1 on a match, else 0 (also when s is longer than
 * OIDC_VALUE_MAX). Linear memory, O(len(pattern) * len(s)) time.
 */
int oidc_glob_match(const char *pattern, const char *s);

/*
 * The first provider whose issuer equals the (unverified) token's iss,
 * so the caller can fetch that issuer's JWKS: TOKEN_OK with *p borrowed
 * from ps, TOKEN_BAD_CLAIM without a string iss, or TOKEN_WRONG_ISSUER.
 */
enum token_status oidc_provider_for(const struct oidc_providers *ps,
    const struct jwt *jwt, const struct oidc_provider **p, char *err,
    size_t errlen);

/* Who a verified CI token is. provider is borrowed from the set. */
struct oidc_ident {
	char principal[OIDC_PRINCIPAL_MAX + 1];
	const struct oidc_provider *provider; /* its roles are the roles */
};

/*
 * Map verified claims (borrowed) to an identity: among the providers
 * whose issuer equals iss, in order, the first whose audience is in aud
 * and whose every claim rule matches gives the principal (template
 * filled in) and its roles. Claim values compare by their string form:
 * strings as they are, true/false as "true"/"false", integers in
 * decimal; other types never match. Substituted values must be non-empty
 * and made of [A-Za-z0-9._/@:-] (else TOKEN_BAD_PRINCIPAL). Time claims
 * are not checked here.
 */
enum token_status oidc_match(const struct oidc_providers *ps,
    const json_t *claims, struct oidc_ident *id, char *err, size_t errlen);

/*
 * All checks for a CI ID token: signature with set (the JWKS of the
 * token's issuer, borrowed), iss/aud/exp/nbf/iat against each candidate
 * provider at now with leeway, then oidc_match(). id is cleared on entry.
 */
enum token_status oidc_verify(const struct oidc_providers *ps,
    const struct jwks *set, const struct jwt *jwt, time_t now, long leeway,
    struct oidc_ident *id, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* token.c: regward's registry tokens */

#define TOKEN_KID_SIZE 60 /* 12 groups of 4 base32, ':' between, NUL */
#define TOKEN_ACCESS_MAX 32 /* resources per token / per request */
#define TOKEN_TYPE_MAX 32 /* "repository" */
#define TOKEN_NAME_MAX 255 /* distribution's repository name limit */
#define TOKEN_SCOPE_MAX 4096 /* longest scope parameter */
#define TOKEN_SUB_MAX 256
#define TOKEN_KEY_FILE_MAX 65536

/* Short reason name of st: "ok", "bad_format", "alg_none", ... */
const char *token_status_str(enum token_status st);

/* Actions, as bits. TOKEN_ACT_ALL is the "*" action. */
#define TOKEN_ACT_PULL 0x01u
#define TOKEN_ACT_PUSH 0x02u
#define TOKEN_ACT_DELETE 0x04u
#define TOKEN_ACT_ALL 0x08u

/* One resource: "repository" + "team/app" + pull|push. */
struct token_access {
	char type[TOKEN_TYPE_MAX + 1]; /* class "(plugin)" dropped */
	char name[TOKEN_NAME_MAX + 1];
	unsigned actions; /* TOKEN_ACT_* */
};

/* A fixed-size list: copy freely, nothing to free. */
struct token_access_list {
	struct token_access v[TOKEN_ACCESS_MAX];
	size_t n;
};

/*
 * Parse one scope parameter s[0..len) and ADD its resources to list
 * (which the caller zeroes once; several "scope" parameters accumulate;
 * the same type and name merge). Grammar (distribution's, without a
 * registry host in names): scopes separated by one ' ', each
 * "type[(class)]:name:action[,action]*"; type and class [a-z0-9]+; name
 * of '/'-separated components [a-z0-9]+(([._]|__|-+)[a-z0-9]+)*, at
 * most TOKEN_NAME_MAX bytes; actions [a-z*]+, of which pull, push,
 * delete and "*" are kept and others ignored. Returns 0, or -1 with a
 * message (list is then unchanged).
 */
int token_scope_add(struct token_access_list *list, const char *s, size_t len,
    char *err, size_t errlen);

/* TOKEN_ACT_* bit of an action name, 0 when not one of ours. */
unsigned token_action_bit(const char *name);

/*
 * 1 when list grants action (one TOKEN_ACT_* bit) on type/name: an entry
 * with the same type and name whose actions contain that bit or "*".
 */
int token_access_allows(const struct token_access_list *list, const char *type,
    const char *name, unsigned action);

/*
 * The docker/libtrust key id of pkey: SHA-256 of the DER
 * SubjectPublicKeyInfo, first 240 bits, base32 (RFC 4648, no padding),
 * 12 groups of 4 joined by ':'. Returns 0, or -1.
 */
int token_kid(EVP_PKEY *pkey, char out[TOKEN_KID_SIZE]);

/*
 * Load the token signing key (EC P-256, PEM, unencrypted) from path;
 * when the file does not exist, generate one and create the file with
 * mode 0600 atomically (written to a temporary file, then linked into
 * place, so concurrent starts agree on one key). *created tells which
 * happened (may be NULL). key is cleared on entry; on success key->kid
 * is token_kid() and key->alg ES256; release with jwt_key_clear().
 */
int token_key_load_or_create(const char *path, struct jwt_key *key,
    int *created, char *err, size_t errlen);

/* What token_issue() puts in a token. */
struct token_grant {
	const char *iss;
	const char *sub; /* "" for anonymous */
	const char *aud; /* the service */
	time_t now;
	unsigned ttl; /* seconds, 1..86400 */
	const struct token_access_list *access;
};

/*
 * Issue an ES256 registry token signed with key (borrowed; ES256, kid
 * set): header {"alg":"ES256","typ":"JWT","kid":...}, claims iss, sub,
 * aud, exp = now + ttl, nbf = iat = now, jti (16 random bytes,
 * base64url) and access [{type, name, actions[]}]. Returns 0 with *out
 * (malloc'd, free with free()), or -1.
 */
int token_issue(const struct jwt_key *key, const struct token_grant *g,
    char **out, size_t *outlen, char *err, size_t errlen);

/* What a verified registry token grants. */
struct token_claims {
	char sub[TOKEN_SUB_MAX + 1];
	time_t exp;
	struct token_access_list access;
};

/*
 * Verify a registry token tok[0..len) issued by us: alg ES256 and kid
 * equal to key's (else TOKEN_ALG_MISMATCH / TOKEN_UNKNOWN_KID), the
 * signature, iss/aud/exp/nbf/iat per want, then sub (string) and access
 * (array of {type, name, actions[]}; malformed -> TOKEN_BAD_CLAIM).
 * out is cleared on entry.
 */
enum token_status token_verify(const struct jwt_key *key, const char *tok,
    size_t len, const struct jwt_expect *want, struct token_claims *out,
    char *err, size_t errlen);

#endif /* REGWARD_TOKEN_H */
