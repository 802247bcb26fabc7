/*
 * auth: who is asking, and may they. Wires the token library
 * (include/regward/token.h), the user database and the policy engine
 * (include/regward/policy.h) into decisions the session acts on. No
 * sockets here: the session owns the request, this module owns the rules.
 */
#ifndef REGWARD_AUTH_H
#define REGWARD_AUTH_H

#include <stddef.h>
#include <time.h>

#include "regward/config.h"
#include "regward/db.h"
#include "regward/policy.h"
#include "regward/route.h"
#include "regward/token.h"

struct auth;
struct db;
struct event_base;
struct evbuffer;
struct hasher;

#define AUTH_NAME_MAX 256
#define AUTH_ROLES_MAX 16
#define AUTH_ROLE_MAX 64
#define AUTH_PASS_MAX 16384 /* an OIDC ID token is the longest password */
#define AUTH_REASON_MAX 512
#define AUTH_CLAIMS_MAX 1024 /* the OIDC claims kept for the ledger */

/*
 * An authenticated (or anonymous) caller. roles point into rolebuf, so a
 * copy must be fixed up with auth_principal_copy().
 */
struct auth_principal {
	enum policy_kind kind;
	char name[AUTH_NAME_MAX + 1];
	char rolebuf[AUTH_ROLES_MAX][AUTH_ROLE_MAX + 1];
	const char *roles[AUTH_ROLES_MAX];
	size_t nroles;
	int bearer; /* came with a regward token: access says what it may */
	char claims[AUTH_CLAIMS_MAX]; /* CI: repository, ref, sha...; JSON */
	struct token_access_list access;
};

/* A Basic login that needs the slow password hash (run by the hasher). */
struct auth_pending {
	enum db_principal_kind kind;
	char name[AUTH_NAME_MAX + 1];
	char *pass; /* malloc'd; wiped and freed by auth_pending_clear() */
	size_t passlen;
	unsigned char cache_key[32];
};

enum auth_outcome {
	AUTH_OK, /* principal known (maybe anonymous) */
	AUTH_PENDING, /* run the hasher on *pend, then auth_finish_login() */
	AUTH_FAILED, /* bad credentials: 401; why says which */
	AUTH_THROTTLED, /* too many failed logins: 429, *retry seconds */
};

enum auth_verdict {
	AUTH_ALLOW,
	AUTH_ALLOW_NO_MOUNT, /* push allowed, mount source not: plain upload */
	AUTH_CHALLENGE, /* 401 with a Bearer challenge */
	AUTH_DENY, /* 403 DENIED */
};

/*
 * Load cfg->auth and cfg->policies (both borrowed). With base and db, a
 * hasher runs password checks off the loop; without (regward check) only
 * the files and rules are checked. Returns NULL with a one-line message
 * naming the file and key when the configuration is wrong.
 */
struct auth *auth_new(const struct config *cfg, struct event_base *base,
    struct db *db, char *err, size_t errlen);
void auth_free(struct auth *a);
struct hasher *auth_hasher(struct auth *a);

/* Copy src into dst, fixing the role pointers. */
void auth_principal_copy(
    struct auth_principal *dst, const struct auth_principal *src);

/* "user:alice", "robot:ci", "ci:gh:acme/app", "anonymous" into buf. */
const char *auth_principal_str(
    const struct auth_principal *p, char *buf, size_t len);

/*
 * Who sent the Authorization field hdr[0..len) (NULL: none). Bearer
 * tokens and OIDC ID tokens are checked here; a cached Basic login is
 * answered at once; any other Basic login comes back AUTH_PENDING with
 * *pend to hash. p is cleared on entry.
 */
enum auth_outcome auth_authenticate(struct auth *a, const char *hdr, size_t len,
    const char *client_ip, time_t now, struct auth_principal *p,
    struct auth_pending *pend, unsigned *retry, char *why, size_t whylen);

/*
 * A login failed (bad password, unknown user, bad token): count it against
 * the client address and, when known, the user name. After
 * auth.throttle.failures failures within auth.throttle.window, logins from
 * that address or for that user are refused until the window ends.
 */
void auth_login_failed(
    struct auth *a, const char *client_ip, const char *user, time_t now);

/*
 * Upload sessions belong to the principal that started them: bind the
 * registry's upload id to who, and check it on every later request for
 * that upload. auth_upload_check() returns 0 when who may use it (or the
 * id is unknown, e.g. after a restart), -1 when another principal owns it.
 */
void auth_upload_bind(struct auth *a, const char *id, size_t idlen,
    const struct auth_principal *who, time_t now);
int auth_upload_check(struct auth *a, const char *id, size_t idlen,
    const struct auth_principal *who, time_t now);

/*
 * The hasher said verdict for pend: fill p and remember the login for
 * auth.cache_ttl. Returns AUTH_OK or AUTH_FAILED.
 */
enum auth_outcome auth_finish_login(struct auth *a,
    const struct auth_pending *pend, int ok, const char *const *roles,
    size_t nroles, time_t now, struct auth_principal *p);

void auth_pending_clear(struct auth_pending *pend);

/*
 * May p do what the request asks? repo and mount_from are NUL-terminated
 * (mount_from NULL unless a cross-repository mount). On CHALLENGE, scope
 * gets the scope for the challenge; on DENY and CHALLENGE, reason says
 * what was needed.
 */
enum auth_verdict auth_authorize(struct auth *a, const struct auth_principal *p,
    enum route_kind kind, unsigned method, const char *repo,
    const char *mount_from, char *scope, size_t scopelen, char *reason,
    size_t reasonlen);

/* The WWW-Authenticate value for a 401 (scope may be NULL). */
void auth_challenge(struct auth *a, const char *public_url, const char *scope,
    int insufficient, char *out, size_t outlen);

/*
 * /token for p: q[0..qlen) is the GET query or the POST form (service,
 * scope..., offline_token=true / access_type=offline). Appends the JSON
 * answer to out (docker's {token, access_token, ...}, or OAuth2's
 * {access_token, ...} when oauth), with a refresh_token when offline
 * access was asked by a user or robot, and returns 200, or 400 with why.
 */
int auth_token(struct auth *a, const struct auth_principal *p, const char *q,
    size_t qlen, int oauth, time_t now, struct evbuffer *out, char *why,
    size_t whylen);

/*
 * The value of key in an application/x-www-form-urlencoded body, decoded
 * into buf. Returns 1 when found, 0 when absent, -1 when malformed or
 * longer than buflen - 1.
 */
int auth_form_get(
    const char *form, size_t len, const char *key, char *buf, size_t buflen);

/*
 * POST /token with grant_type=refresh_token: check a refresh token issued
 * by GET or POST /token with offline access (ES256, our key, audience
 * "<service>/refresh", not expired) and that its user or robot still
 * exists and is enabled; fill p with its current roles.
 */
enum auth_outcome auth_refresh(struct auth *a, const char *tok, size_t len,
    time_t now, struct auth_principal *p, char *why, size_t whylen);

/* The policies auth was loaded with (borrowed; they live as long as a). */
const struct policy_set *auth_policies(const struct auth *a);

/*
 * 1 if p may read manifests that fail admission in repo (require.bypass).
 * Users and robots with a Bearer token get their roles from the database.
 */
int auth_may_bypass(
    struct auth *a, const struct auth_principal *p, const char *repo);

/*
 * Filter a catalog body (decoded JSON, json[0..len)) down to what p may
 * pull, appending the result to out. Returns 0, or -1 when the body is
 * not a catalog (the caller then answers 502).
 */
int auth_catalog(struct auth *a, const struct auth_principal *p,
    const char *json, size_t len, struct evbuffer *out);

#endif /* REGWARD_AUTH_H */
