/*
 * auth: authentication and authorization decisions for the gateway.
 *
 * Basic logins are checked against the user database by the hasher (off
 * the event loop) and then remembered, keyed by an HMAC of the
 * credentials under a per-process secret, for auth.cache_ttl: the slow
 * hash runs once per login, not once per blob. OIDC ID tokens sent as the
 * password and regward's own Bearer tokens are checked here, on the loop:
 * a signature verification costs tens of microseconds. The JWK Sets of
 * providers with a jwks_url are fetched by jwks_fetch's worker thread and
 * only read here.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <http_parser.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "regward/db.h"

#include "auth.h"
#include "hasher.h"
#include "jwks_fetch.h"
#include "reply.h"

#define AUTH_CACHE_SLOTS 512
#define AUTH_TTL_DEFAULT 300
#define AUTH_CACHE_TTL_DEFAULT 60
#define AUTH_LEEWAY 60
#define AUTH_CATALOG_MAX ((size_t)4 << 20)
#define AUTH_THROTTLE_SLOTS 4096
#define AUTH_THROTTLE_FAILURES 5 /* per user name */
#define AUTH_THROTTLE_IP_FAILURES 50 /* per client address */
#define AUTH_THROTTLE_WINDOW 60
#define AUTH_UPLOAD_SLOTS 4096
#define AUTH_UPLOAD_TTL (24 * 3600)
#define AUTH_UPLOAD_ID_MAX 128
#define AUTH_REFRESH_TTL 86400 /* offline tokens: a day, token.c's ceiling */

/*
 * A remembered login. Fresh until stale_after; then, until expires, one
 * request re-checks the password (refreshing) while the others are still
 * answered from here, so a busy user's entry is renewed by one hash
 * instead of expiring under every connection at once.
 */
struct auth_cache_entry {
	unsigned char key[32];
	time_t stale_after;
	time_t expires;
	int refreshing;
	struct auth_principal p;
};

/* Failed logins of one client address or user name, in one window. */
struct auth_throttle_entry {
	unsigned char key[32];
	time_t window_end;
	unsigned failures;
};

/* Which principal started an upload session. */
struct auth_upload_entry {
	char id[AUTH_UPLOAD_ID_MAX + 1];
	char owner[AUTH_NAME_MAX + 16];
	time_t expires;
};

struct auth {
	struct jwt_key key; /* signs and checks our tokens */
	char *service;
	char *issuer;
	unsigned ttl;
	unsigned cache_ttl;
	struct oidc_providers *oidc;
	struct jwks **jwks; /* one per provider, same order (jwks_file) */
	int *jsrc; /* per provider: jwks_fetch source (jwks_url), else -1 */
	struct jwks_fetch *fetch; /* NULL without jwks_url or base */
	FILE *log; /* the fetcher's log: log.file, else stdout */
	struct policy_set *policies;
	struct hasher *hasher;
	struct db *db;
	unsigned char secret[32];
	EVP_MAC_CTX *mac; /* HMAC-SHA256 keyed with secret, reused */
	struct auth_cache_entry *cache;
	struct auth_throttle_entry *throttle;
	unsigned throttle_failures;
	unsigned throttle_ip_failures;
	unsigned throttle_window;
	/* No entry throttles from then on (the latest window_end of an
	 * entry that reached its limit): most requests skip the lookups. */
	time_t throttle_until;
	struct auth_upload_entry *uploads;
};

static int
auth_err(char *err, size_t errlen, const char *file, const char *key,
    const char *what)
{
	snprintf(err, errlen, "%s: %s: %s", file, key, what);
	return -1;
}

/* Seconds from 30 or "30s", "5m", "1h". -1 when malformed. */
static long
auth_duration(const json_t *v)
{
	const char *s;
	char *end;
	long n;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0 &&
			json_integer_value(v) <= 86400
		    ? (long)json_integer_value(v)
		    : -1;
	if ((s = json_string_value(v)) == NULL || !isdigit((unsigned char)*s))
		return -1;
	n = strtol(s, &end, 10);
	if (n < 0 || n > 86400)
		return -1;
	if (strcmp(end, "s") == 0)
		return n;
	if (strcmp(end, "m") == 0 && n <= 1440)
		return n * 60;
	if (strcmp(end, "h") == 0 && n <= 24)
		return n * 3600;
	return -1;
}

/* "host[:port]" of a public URL, the default service name. */
static char *
auth_default_service(const char *public_url)
{
	const char *p = strstr(public_url, "://");

	return strdup(p != NULL ? p + 3 : public_url);
}

static int
auth_load_token(struct auth *a, const struct config *cfg, json_t *tok,
    char *err, size_t errlen)
{
	const char *k, *path = NULL;
	json_t *v;
	long n;
	char msg[TOKEN_ERR_MAX];

	if (!json_is_object(tok))
		return auth_err(err, errlen, cfg->path, "auth.token",
		    "must be an object with at least \"key\"");
	json_object_foreach(tok, k, v)
	{
		if (strcmp(k, "key") == 0 && json_is_string(v)) {
			path = json_string_value(v);
		} else if (strcmp(k, "service") == 0 && json_is_string(v)) {
			free(a->service);
			a->service = strdup(json_string_value(v));
		} else if (strcmp(k, "issuer") == 0 && json_is_string(v)) {
			free(a->issuer);
			a->issuer = strdup(json_string_value(v));
		} else if (strcmp(k, "ttl") == 0) {
			if ((n = auth_duration(v)) < 60 || n > 3600)
				return auth_err(err, errlen, cfg->path,
				    "auth.token.ttl",
				    "must be a duration between 1m and 1h");
			a->ttl = (unsigned)n;
		} else {
			snprintf(msg, sizeof(msg), "auth.token.%s", k);
			return auth_err(err, errlen, cfg->path, msg,
			    "unknown key or wrong type");
		}
	}
	if (path == NULL || *path == '\0')
		return auth_err(err, errlen, cfg->path, "auth.token.key",
		    "required: the path of the token signing key");
	if (token_key_load_or_create(path, &a->key, NULL, msg, sizeof(msg)) ==
	    -1) {
		snprintf(err, errlen, "%s: auth.token.key: %s", cfg->path, msg);
		return -1;
	}
	return 0;
}

static int
auth_load_oidc(struct auth *a, const struct config *cfg, const json_t *arr,
    char *err, size_t errlen)
{
	char msg[TOKEN_ERR_MAX];
	size_t i;

	if (oidc_load(cfg->path, arr, &a->oidc, err, errlen) == -1)
		return -1;
	if ((a->jwks = calloc(a->oidc->n + 1, sizeof(*a->jwks))) == NULL ||
	    (a->jsrc = calloc(a->oidc->n + 1, sizeof(*a->jsrc))) == NULL)
		return auth_err(
		    err, errlen, cfg->path, "auth.oidc", "out of memory");
	for (i = 0; i < a->oidc->n; i++) {
		a->jsrc[i] = -1;
		if (a->oidc->v[i].jwks_file == NULL)
			continue; /* jwks_url: auth_start_fetch() */
		if (jwks_load_file(a->oidc->v[i].jwks_file, &a->jwks[i], msg,
			sizeof(msg)) == -1) {
			snprintf(err, errlen,
			    "%s: auth.oidc[%zu].jwks_file: %s", cfg->path, i,
			    msg);
			return -1;
		}
	}
	return 0;
}

/* The fetcher's log lines, shaped as log.c's. Loop thread. */
static void
auth_fetch_log_cb(
    void *arg, const char *level, const char *msg, const char *extra)
{
	struct auth *a = arg;
	char ts[32];
	struct timespec now;
	struct tm tm;

	if (a->log == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(a->log,
	    "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":\"%s\"%s%s}\n",
	    ts, now.tv_nsec / 1000000, level, msg, *extra != '\0' ? "," : "",
	    extra);
	fflush(a->log); /* rare lines: out at once */
}

/*
 * Providers with a jwks_url: one fetcher thread for all of them, one
 * source per distinct URL (and CA file). Without an event base (regward
 * check) nothing is fetched: the URLs were checked by oidc_load().
 *
 * The log goes where log.c's does. server.c does not hand its log to
 * auth_new(), so this opens log.file once more in append mode (lines
 * are written whole, line-buffered, so the two streams interleave by
 * line) or shares stdout.
 */
static int
auth_start_fetch(struct auth *a, const struct config *cfg,
    struct event_base *base, char *err, size_t errlen)
{
	const struct oidc_provider *p;
	char msg[TOKEN_ERR_MAX], key[64];
	size_t i;
	int n = 0;

	if (a->oidc == NULL || base == NULL)
		return 0;
	for (i = 0; i < a->oidc->n; i++)
		n += a->oidc->v[i].jwks_url != NULL;
	if (n == 0)
		return 0;
	a->log = stdout;
	if (cfg->log_file != NULL && strcmp(cfg->log_file, "-") != 0) {
		if ((a->log = fopen(cfg->log_file, "ae")) == NULL) {
			snprintf(err, errlen, "%s: log.file: cannot open %s",
			    cfg->path, cfg->log_file);
			return -1;
		}
		setvbuf(a->log, NULL, _IOLBF, 0);
	}
	if ((a->fetch = jwks_fetch_new(base, auth_fetch_log_cb, a)) == NULL)
		return auth_err(
		    err, errlen, cfg->path, "auth.oidc", "out of memory");
	for (i = 0; i < a->oidc->n; i++) {
		p = &a->oidc->v[i];
		if (p->jwks_url == NULL)
			continue;
		if ((a->jsrc[i] = jwks_fetch_add(a->fetch, p->name, p->jwks_url,
			 p->ca_file, p->jwks_refetch)) == -1) {
			snprintf(
			    key, sizeof(key), "auth.oidc[%zu].jwks_url", i);
			return auth_err(
			    err, errlen, cfg->path, key, "out of memory");
		}
	}
	if (jwks_fetch_start(a->fetch, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s: auth.oidc: %s", cfg->path, msg);
		return -1;
	}
	return 0;
}

/* auth.throttle: {"failures": 5, "ip_failures": 50, "window": "60s"}. */
static int
auth_load_throttle(struct auth *a, const struct config *cfg, json_t *t,
    char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	long n;

	if (!json_is_object(t))
		return auth_err(err, errlen, cfg->path, "auth.throttle",
		    "must be an object");
	json_object_foreach(t, k, v)
	{
		if (strcmp(k, "failures") == 0 && json_is_integer(v) &&
		    json_integer_value(v) >= 1 &&
		    json_integer_value(v) <= 1000) {
			a->throttle_failures = (unsigned)json_integer_value(v);
		} else if (strcmp(k, "ip_failures") == 0 &&
		    json_is_integer(v) && json_integer_value(v) >= 1 &&
		    json_integer_value(v) <= 100000) {
			a->throttle_ip_failures =
			    (unsigned)json_integer_value(v);
		} else if (strcmp(k, "window") == 0 &&
		    (n = auth_duration(v)) >= 1 && n <= 3600) {
			a->throttle_window = (unsigned)n;
		} else {
			char key[80];

			snprintf(key, sizeof(key), "auth.throttle.%.50s", k);
			return auth_err(err, errlen, cfg->path, key,
			    "unknown key, or out of bounds (failures 1..1000, "
			    "ip_failures 1..100000, window 1s..1h)");
		}
	}
	return 0;
}

/*
 * One HMAC-SHA256 context keyed with the secret, kept: each key derived
 * on the request path (login cache, throttle, upload owner) reinitialises
 * it instead of fetching the digest and keying a context anew.
 */
static int
auth_mac_new(struct auth *a)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[2];
	char digest[] = "SHA256";

	if (mac == NULL)
		return -1;
	a->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (a->mac == NULL)
		return -1;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(a->mac, a->secret, sizeof(a->secret), params) != 1)
		return -1;
	return 0;
}

/* A part of an HMAC input. */
struct auth_part {
	const void *ptr;
	size_t len;
};

/*
 * out = HMAC-SHA256(secret, the n parts one after the other). Loop thread
 * only (the context is shared). 0 or -1.
 */
static int
auth_hmac(struct auth *a, const struct auth_part *parts, size_t n,
    unsigned char out[32])
{
	size_t i, outl = 0;

	if (EVP_MAC_init(a->mac, NULL, 0, NULL) != 1)
		return -1;
	for (i = 0; i < n; i++)
		if (EVP_MAC_update(a->mac, parts[i].ptr, parts[i].len) != 1)
			return -1;
	if (EVP_MAC_final(a->mac, out, &outl, 32) != 1 || outl != 32)
		return -1;
	return 0;
}

struct auth *
auth_new(const struct config *cfg, struct event_base *base, struct db *db,
    char *err, size_t errlen)
{
	struct auth *a;
	const char *k;
	json_t *v;
	long n;

	if (cfg->auth == NULL) {
		if (cfg->policies != NULL)
			auth_err(err, errlen, cfg->path, "policies",
			    "needs an \"auth\" section: without "
			    "authentication every caller is anonymous");
		else
			snprintf(err, errlen, "%s: no auth section", cfg->path);
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->ttl = AUTH_TTL_DEFAULT;
	a->cache_ttl = AUTH_CACHE_TTL_DEFAULT;
	a->throttle_failures = AUTH_THROTTLE_FAILURES;
	a->throttle_ip_failures = AUTH_THROTTLE_IP_FAILURES;
	a->throttle_window = AUTH_THROTTLE_WINDOW;
	a->db = db;
	if (!json_is_object(cfg->auth)) {
		auth_err(err, errlen, cfg->path, "auth", "must be an object");
		goto bad;
	}
	json_object_foreach(cfg->auth, k, v)
	{
		if (strcmp(k, "token") == 0) {
			if (auth_load_token(a, cfg, v, err, errlen) == -1)
				goto bad;
		} else if (strcmp(k, "cache_ttl") == 0) {
			if ((n = auth_duration(v)) < 0 || n > 3600) {
				auth_err(err, errlen, cfg->path,
				    "auth.cache_ttl",
				    "must be a duration between 0s and 1h");
				goto bad;
			}
			a->cache_ttl = (unsigned)n;
		} else if (strcmp(k, "oidc") == 0) {
			if (auth_load_oidc(a, cfg, v, err, errlen) == -1)
				goto bad;
		} else if (strcmp(k, "throttle") == 0) {
			if (auth_load_throttle(a, cfg, v, err, errlen) == -1)
				goto bad;
		} else {
			char key[80];

			snprintf(key, sizeof(key), "auth.%.60s", k);
			auth_err(err, errlen, cfg->path, key, "unknown key");
			goto bad;
		}
	}
	if (a->key.pkey == NULL) {
		auth_err(err, errlen, cfg->path, "auth.token",
		    "required: {\"key\": PATH} for the token signing key");
		goto bad;
	}
	if (a->service == NULL &&
	    (a->service = auth_default_service(cfg->public_url)) == NULL)
		goto bad;
	if (a->issuer == NULL && (a->issuer = strdup("regward")) == NULL)
		goto bad;
	if (policy_set_load(
		cfg->path, cfg->policies, &a->policies, err, errlen) == -1)
		goto bad;
	if ((a->cache = calloc(AUTH_CACHE_SLOTS, sizeof(*a->cache))) == NULL ||
	    (a->throttle = calloc(AUTH_THROTTLE_SLOTS, sizeof(*a->throttle))) ==
		NULL ||
	    (a->uploads = calloc(AUTH_UPLOAD_SLOTS, sizeof(*a->uploads))) ==
		NULL ||
	    RAND_bytes(a->secret, sizeof(a->secret)) != 1 ||
	    auth_mac_new(a) == -1)
		goto bad;
	if (base != NULL && (a->hasher = hasher_new(base, db, 0, 0)) == NULL) {
		snprintf(err, errlen, "%s: auth: cannot start the hasher",
		    cfg->path);
		goto bad;
	}
	if (auth_start_fetch(a, cfg, base, err, errlen) == -1)
		goto bad;
	return a;
bad:
	auth_free(a);
	return NULL;
}

void
auth_free(struct auth *a)
{
	size_t i;

	if (a == NULL)
		return;
	hasher_free(a->hasher);
	jwks_fetch_free(a->fetch); /* joins the fetcher thread */
	if (a->log != NULL && a->log != stdout)
		fclose(a->log);
	free(a->jsrc);
	jwt_key_clear(&a->key);
	if (a->jwks != NULL && a->oidc != NULL)
		for (i = 0; i < a->oidc->n; i++)
			jwks_free(a->jwks[i]);
	free(a->jwks);
	oidc_free(a->oidc);
	policy_set_free(a->policies);
	if (a->cache != NULL) {
		OPENSSL_cleanse(a->cache, AUTH_CACHE_SLOTS * sizeof(*a->cache));
		free(a->cache);
	}
	EVP_MAC_CTX_free(a->mac);
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
	free(a->throttle);
	free(a->uploads);
	free(a->service);
	free(a->issuer);
	free(a);
}

struct hasher *
auth_hasher(struct auth *a)
{
	return a->hasher;
}

/* ---- principals --------------------------------------------------------- */

void
auth_principal_copy(
    struct auth_principal *dst, const struct auth_principal *src)
{
	size_t i;

	memcpy(dst, src, sizeof(*dst));
	for (i = 0; i < dst->nroles; i++)
		dst->roles[i] = dst->rolebuf[i];
}

static void
auth_principal_set(struct auth_principal *p, enum policy_kind kind,
    const char *name, const char *const *roles, size_t nroles)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", name != NULL ? name : "");
	for (i = 0; i < nroles && i < AUTH_ROLES_MAX; i++) {
		snprintf(p->rolebuf[i], sizeof(p->rolebuf[i]), "%s", roles[i]);
		p->roles[i] = p->rolebuf[i];
	}
	p->nroles = i;
}

const char *
auth_principal_str(const struct auth_principal *p, char *buf, size_t len)
{
	static const char *const kinds[] = {"anonymous", "user", "robot", "ci"};

	if (p->kind == POLICY_ANONYMOUS)
		snprintf(buf, len, "anonymous");
	else
		snprintf(buf, len, "%s:%s",
		    (unsigned)p->kind < 4 ? kinds[p->kind] : "?", p->name);
	return buf;
}

/* A token's sub back into a principal: "user:alice", "" (anonymous). */
static int
auth_principal_from_sub(struct auth_principal *p, const char *sub)
{
	static const struct {
		const char *prefix;
		enum policy_kind kind;
	} k[] = {{"user:", POLICY_USER}, {"robot:", POLICY_ROBOT},
	    {"ci:", POLICY_CI}};
	size_t i, n;

	if (*sub == '\0') {
		auth_principal_set(p, POLICY_ANONYMOUS, NULL, NULL, 0);
		return 0;
	}
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		n = strlen(k[i].prefix);
		if (strncmp(sub, k[i].prefix, n) == 0 && sub[n] != '\0') {
			auth_principal_set(p, k[i].kind, sub + n, NULL, 0);
			return 0;
		}
	}
	return -1;
}

static void
auth_policy_principal(
    const struct auth_principal *p, struct policy_principal *pp)
{
	pp->kind = p->kind;
	pp->name = p->kind == POLICY_ANONYMOUS ? NULL : p->name;
	pp->roles = p->roles;
	pp->nroles = p->nroles;
}

/*
 * A Bearer principal carries no roles; users and robots get theirs from
 * the database when a policy has to be consulted (deny paths, catalog).
 */
static void
auth_load_roles(struct auth *a, struct auth_principal *p)
{
	struct db_principal *dp = NULL;
	char err[256];

	if (a->db == NULL || p->nroles > 0 ||
	    (p->kind != POLICY_USER && p->kind != POLICY_ROBOT))
		return;
	if (db_principal_get(a->db,
		p->kind == POLICY_USER ? DB_PRINCIPAL_USER : DB_PRINCIPAL_ROBOT,
		p->name, &dp, err, sizeof(err)) != DB_PRINCIPAL_OK)
		return;
	if (!dp->disabled) {
		int bearer = p->bearer;
		struct token_access_list acc = p->access;

		auth_principal_set(p, p->kind, dp->name,
		    (const char *const *)dp->roles, dp->nroles);
		p->bearer = bearer;
		p->access = acc;
	}
	db_principal_free(dp);
}

/* ---- throttling of failed logins ---------------------------------------- */

static struct auth_throttle_entry *
auth_throttle_slot(
    struct auth *a, const char *what, const char *s, int create, time_t now)
{
	struct auth_throttle_entry *e;
	unsigned char key[32];
	char buf[AUTH_NAME_MAX + 16];
	struct auth_part part = {buf, 0};

	snprintf(buf, sizeof(buf), "%s:%s", what, s);
	part.len = strlen(buf);
	if (auth_hmac(a, &part, 1, key) == -1)
		return NULL;
	e = &a->throttle[((unsigned)key[0] << 8 | key[1]) %
	    AUTH_THROTTLE_SLOTS];
	if (memcmp(e->key, key, sizeof(key)) == 0 && e->window_end > now)
		return e;
	if (!create)
		return NULL;
	/* A new window; a collision simply takes the slot over. */
	memcpy(e->key, key, sizeof(key));
	e->window_end = now + (time_t)a->throttle_window;
	e->failures = 0;
	return e;
}

/* Seconds until logins from ip or for user are allowed again; 0: now. */
static unsigned
auth_throttled(struct auth *a, const char *ip, const char *user, time_t now)
{
	struct auth_throttle_entry *e;
	time_t until = 0;

	if (now >= a->throttle_until)
		return 0; /* no entry has reached its limit in a live window */
	if (ip != NULL && (e = auth_throttle_slot(a, "ip", ip, 0, now)) &&
	    e->failures >= a->throttle_ip_failures)
		until = e->window_end;
	if (user != NULL &&
	    (e = auth_throttle_slot(a, "user", user, 0, now)) != NULL &&
	    e->failures >= a->throttle_failures && e->window_end > until)
		until = e->window_end;
	return until > now ? (unsigned)(until - now) : 0;
}

void
auth_login_failed(
    struct auth *a, const char *client_ip, const char *user, time_t now)
{
	struct auth_throttle_entry *e;

	if (client_ip != NULL &&
	    (e = auth_throttle_slot(a, "ip", client_ip, 1, now)) != NULL &&
	    ++e->failures >= a->throttle_ip_failures &&
	    e->window_end > a->throttle_until)
		a->throttle_until = e->window_end;
	if (user != NULL && *user != '\0' &&
	    (e = auth_throttle_slot(a, "user", user, 1, now)) != NULL &&
	    ++e->failures >= a->throttle_failures &&
	    e->window_end > a->throttle_until)
		a->throttle_until = e->window_end;
}

/* ---- upload sessions ---------------------------------------------------- */

static struct auth_upload_entry *
auth_upload_slot(struct auth *a, const char *id, size_t idlen)
{
	unsigned char key[32];
	struct auth_part part = {id, idlen};

	if (auth_hmac(a, &part, 1, key) == -1)
		return NULL;
	return &a->uploads[((unsigned)key[0] << 8 | key[1]) %
	    AUTH_UPLOAD_SLOTS];
}

void
auth_upload_bind(struct auth *a, const char *id, size_t idlen,
    const struct auth_principal *who, time_t now)
{
	struct auth_upload_entry *e;

	if (idlen == 0 || idlen > AUTH_UPLOAD_ID_MAX ||
	    (e = auth_upload_slot(a, id, idlen)) == NULL)
		return;
	memcpy(e->id, id, idlen);
	e->id[idlen] = '\0';
	auth_principal_str(who, e->owner, sizeof(e->owner));
	e->expires = now + AUTH_UPLOAD_TTL;
}

int
auth_upload_check(struct auth *a, const char *id, size_t idlen,
    const struct auth_principal *who, time_t now)
{
	struct auth_upload_entry *e;
	char me[AUTH_NAME_MAX + 16];

	if (idlen == 0 || idlen > AUTH_UPLOAD_ID_MAX ||
	    (e = auth_upload_slot(a, id, idlen)) == NULL || e->expires <= now ||
	    strlen(e->id) != idlen || memcmp(e->id, id, idlen) != 0)
		return 0; /* unknown here: the policy alone decides */
	auth_principal_str(who, me, sizeof(me));
	return strcmp(me, e->owner) == 0 ? 0 : -1;
}

/* ---- authentication ----------------------------------------------------- */

static int
auth_cache_key(struct auth *a, const char *user, size_t ulen, const char *pass,
    size_t plen, unsigned char out[32])
{
	/* user NUL pass NUL, fed in parts: no copy of the password */
	const struct auth_part parts[4] = {
	    {user, ulen}, {"", 1}, {pass, plen}, {"", 1}};

	return auth_hmac(a, parts, 4, out);
}

static struct auth_cache_entry *
auth_cache_slot(struct auth *a, const unsigned char key[32])
{
	unsigned idx = ((unsigned)key[0] << 8 | key[1]) % AUTH_CACHE_SLOTS;

	return &a->cache[idx];
}

static int
auth_cache_get(struct auth *a, const unsigned char key[32], time_t now,
    struct auth_principal *p)
{
	struct auth_cache_entry *e = auth_cache_slot(a, key);

	if (e->expires <= now || CRYPTO_memcmp(e->key, key, 32) != 0)
		return 0;
	if (now >= e->stale_after && !e->refreshing) {
		e->refreshing = 1; /* this caller checks the password again */
		return 0;
	}
	auth_principal_copy(p, &e->p);
	return 1;
}

/* The password no longer verifies: forget the login at once. */
static void
auth_cache_drop(struct auth *a, const unsigned char key[32])
{
	struct auth_cache_entry *e = auth_cache_slot(a, key);

	if (CRYPTO_memcmp(e->key, key, 32) == 0)
		e->expires = e->stale_after = 0;
}

static void
auth_cache_put(struct auth *a, const unsigned char key[32], time_t now,
    const struct auth_principal *p)
{
	struct auth_cache_entry *e = auth_cache_slot(a, key);

	if (a->cache_ttl == 0)
		return;
	memcpy(e->key, key, 32);
	e->stale_after = now + (time_t)a->cache_ttl;
	e->expires = e->stale_after + (time_t)a->cache_ttl;
	e->refreshing = 0;
	auth_principal_copy(&e->p, p);
}

/* Looks like a compact JWS: "eyJ" and exactly two dots. */
static int
auth_is_jwt(const char *s, size_t len)
{
	size_t i, dots = 0;

	if (len < 10 || strncmp(s, "eyJ", 3) != 0)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == '.')
			dots++;
	return dots == 2;
}

/*
 * The claims of a CI token worth keeping with each push it makes: which
 * repository, branch and commit built the image (GitHub Actions, GitLab
 * CI). Compact JSON into buf, "" when none fits.
 */
static void
auth_claims_keep(const struct jwt *jwt, char *buf, size_t len)
{
	static const char *const keep[] = {"iss", "sub", "repository",
	    "repository_owner", "ref", "sha", "workflow_ref", "run_id",
	    "environment", "project_path", "pipeline_id", "ref_protected"};
	json_t *o = json_object(), *v;
	char *text;
	size_t i;

	buf[0] = '\0';
	if (o == NULL)
		return;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if ((v = json_object_get(jwt->claims, keep[i])) != NULL &&
		    (json_is_string(v) || json_is_integer(v) ||
			json_is_boolean(v)))
			json_object_set(o, keep[i], v);
	if ((text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
		if (strlen(text) < len)
			snprintf(buf, len, "%s", text);
		free(text);
	}
	json_decref(o);
}

static enum auth_outcome
auth_oidc(struct auth *a, const char *tok, size_t len, time_t now,
    struct auth_principal *p, char *why, size_t whylen)
{
	const struct oidc_provider *prov = NULL;
	const struct jwks *set;
	char note[JWKS_FETCH_MSG_MAX + 64] = "";
	struct oidc_ident id;
	struct jwt jwt;
	char claims[AUTH_CLAIMS_MAX];
	enum token_status st;
	char err[TOKEN_ERR_MAX];
	size_t i;

	if ((st = jwt_parse(tok, len, &jwt, err, sizeof(err))) != TOKEN_OK) {
		snprintf(why, whylen, "oidc %s: %s", token_status_str(st), err);
		return AUTH_FAILED;
	}
	st = oidc_provider_for(a->oidc, &jwt, &prov, err, sizeof(err));
	if (st == TOKEN_OK) {
		i = (size_t)(prov - a->oidc->v);
		set = a->jsrc[i] >= 0
		    ? jwks_fetch_set(a->fetch, (size_t)a->jsrc[i])
		    : a->jwks[i];
		st = oidc_verify(a->oidc, set, &jwt, now, AUTH_LEEWAY, &id, err,
		    sizeof(err));
		/*
		 * Issuers rotate keys: an unknown kid (or no set yet) asks
		 * the fetcher for a fresh copy, rate-limited there. This
		 * token is refused all the same; the client retries.
		 */
		if (st == TOKEN_UNKNOWN_KID && a->jsrc[i] >= 0) {
			jwks_fetch_kick(a->fetch, (size_t)a->jsrc[i], now, note,
			    sizeof(note));
			if (set == NULL)
				snprintf(err, sizeof(err),
				    "provider %s: no JWKS yet", prov->name);
		}
	}
	if (st != TOKEN_OK) {
		jwt_clear(&jwt);
		snprintf(why, whylen, "oidc %s: %s%s%s", token_status_str(st),
		    err, note[0] != '\0' ? "; " : "", note);
		return AUTH_FAILED;
	}
	auth_claims_keep(&jwt, claims, sizeof(claims));
	jwt_clear(&jwt);
	auth_principal_set(p, POLICY_CI, id.principal,
	    (const char *const *)id.provider->roles, id.provider->nroles);
	snprintf(p->claims, sizeof(p->claims), "%s", claims);
	return AUTH_OK;
}

static enum auth_outcome
auth_bearer(struct auth *a, const char *tok, size_t len, time_t now,
    struct auth_principal *p, char *why, size_t whylen)
{
	struct jwt_expect want = {a->issuer, a->service, now, AUTH_LEEWAY};
	struct token_claims c;
	struct auth_cache_entry *e;
	enum token_status st;
	unsigned char key[32];
	char err[TOKEN_ERR_MAX];

	/*
	 * A token verified before is answered from the cache until it
	 * expires: the ECDSA check runs once per token, not per request.
	 * "B" keeps token keys apart from Basic logins.
	 */
	if (auth_cache_key(a, "B", 1, tok, len, key) == 0 &&
	    auth_cache_get(a, key, now, p) && p->bearer)
		return AUTH_OK;
	st = token_verify(&a->key, tok, len, &want, &c, err, sizeof(err));
	if (st != TOKEN_OK) {
		snprintf(
		    why, whylen, "bearer %s: %s", token_status_str(st), err);
		return AUTH_FAILED;
	}
	if (auth_principal_from_sub(p, c.sub) == -1) {
		snprintf(why, whylen, "bearer token with a foreign subject");
		return AUTH_FAILED;
	}
	p->bearer = 1;
	p->access = c.access;
	if (p->kind == POLICY_CI) {
		struct auth_principal ci;
		unsigned char ck[32];

		if (auth_cache_key(a, "C", 1, c.sub, strlen(c.sub), ck) == 0 &&
		    auth_cache_get(a, ck, now, &ci)) {
			size_t r;

			snprintf(p->claims, sizeof(p->claims), "%s", ci.claims);
			for (r = 0; r < ci.nroles; r++) {
				memcpy(p->rolebuf[r], ci.rolebuf[r],
				    sizeof(p->rolebuf[r]));
				p->roles[r] = p->rolebuf[r];
			}
			p->nroles = ci.nroles;
		}
	}
	auth_cache_put(a, key, now, p);
	/* Never past the token's own expiry. */
	e = auth_cache_slot(a, key);
	if (memcmp(e->key, key, sizeof(key)) == 0) {
		if (e->expires > c.exp)
			e->expires = c.exp;
		e->stale_after = e->expires; /* nothing to re-check */
	}
	return AUTH_OK;
}

enum auth_outcome
auth_authenticate(struct auth *a, const char *hdr, size_t len,
    const char *client_ip, time_t now, struct auth_principal *p,
    struct auth_pending *pend, unsigned *retry, char *why, size_t whylen)
{
	unsigned char *dec = NULL;
	const char *colon, *user, *pass;
	size_t dlen = 0, ulen, plen, i;
	enum auth_outcome rc = AUTH_FAILED;
	EVP_ENCODE_CTX *ctx = NULL;
	int outl = 0, tmp = 0;

	memset(p, 0, sizeof(*p));
	memset(pend, 0, sizeof(*pend));
	*retry = 0;
	why[0] = '\0';
	if (hdr == NULL) {
		auth_principal_set(p, POLICY_ANONYMOUS, NULL, NULL, 0);
		return AUTH_OK;
	}
	if (len > 7 && strncasecmp(hdr, "Bearer ", 7) == 0)
		return auth_bearer(a, hdr + 7, len - 7, now, p, why, whylen);
	if (len < 7 || strncasecmp(hdr, "Basic ", 6) != 0) {
		snprintf(why, whylen, "unsupported authorization scheme");
		return AUTH_FAILED;
	}
	hdr += 6;
	len -= 6;
	while (len > 0 && *hdr == ' ') {
		hdr++;
		len--;
	}
	if (len == 0 || len > (AUTH_PASS_MAX + AUTH_NAME_MAX) * 4 / 3 + 8 ||
	    (dec = malloc(len)) == NULL || (ctx = EVP_ENCODE_CTX_new()) == NULL)
		goto bad;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(
		ctx, dec, &outl, (const unsigned char *)hdr, (int)len) == -1 ||
	    EVP_DecodeFinal(ctx, dec + outl, &tmp) != 1)
		goto bad;
	dlen = (size_t)(outl + tmp);
	if ((colon = memchr(dec, ':', dlen)) == NULL)
		goto bad;
	user = (const char *)dec;
	ulen = (size_t)(colon - user);
	pass = colon + 1;
	plen = dlen - ulen - 1;
	for (i = 0; i < dlen; i++)
		if (dec[i] == '\0' || dec[i] == '\r' || dec[i] == '\n')
			goto bad;
	if (plen == 0 || ulen > AUTH_NAME_MAX || plen > AUTH_PASS_MAX)
		goto bad;
	if (auth_cache_key(a, user, ulen, pass, plen, pend->cache_key) == -1)
		goto bad;
	snprintf(pend->name, sizeof(pend->name), "%.*s", (int)ulen, user);
	if ((*retry = auth_throttled(a, client_ip, pend->name, now)) > 0) {
		snprintf(why, whylen, "too many failed logins");
		rc = AUTH_THROTTLED;
		goto out;
	}
	if (auth_cache_get(a, pend->cache_key, now, p) && !p->bearer) {
		rc = AUTH_OK;
		goto out;
	}
	memset(p, 0, sizeof(*p)); /* a Bearer entry is not a Basic login */
	/*
	 * With OIDC providers configured, a password shaped like a JWT is an
	 * ID token (docs/auth.md); without, it is just a password.
	 */
	if (auth_is_jwt(pass, plen) && a->oidc != NULL && a->oidc->n > 0) {
		rc = auth_oidc(a, pass, plen, now, p, why, whylen);
		if (rc == AUTH_OK)
			auth_cache_put(a, pend->cache_key, now, p);
		else
			auth_login_failed(a, client_ip, NULL, now);
		goto out;
	}
	/* Robots log in as "robot$NAME", as Harbor's do. */
	pend->kind = DB_PRINCIPAL_USER;
	if (ulen > 6 && strncmp(user, "robot$", 6) == 0) {
		pend->kind = DB_PRINCIPAL_ROBOT;
		user += 6;
		ulen -= 6;
	}
	snprintf(pend->name, sizeof(pend->name), "%.*s", (int)ulen, user);
	if ((pend->pass = malloc(plen + 1)) == NULL)
		goto bad;
	memcpy(pend->pass, pass, plen);
	pend->pass[plen] = '\0';
	pend->passlen = plen;
	rc = AUTH_PENDING;
	goto out;
bad:
	snprintf(why, whylen, "malformed Basic credentials");
	rc = AUTH_FAILED;
out:
	EVP_ENCODE_CTX_free(ctx);
	if (dec != NULL) {
		OPENSSL_cleanse(dec, len);
		free(dec);
	}
	return rc;
}

enum auth_outcome
auth_finish_login(struct auth *a, const struct auth_pending *pend, int ok,
    const char *const *roles, size_t nroles, time_t now,
    struct auth_principal *p)
{
	if (!ok) {
		auth_cache_drop(a, pend->cache_key);
		return AUTH_FAILED;
	}
	auth_principal_set(p,
	    pend->kind == DB_PRINCIPAL_ROBOT ? POLICY_ROBOT : POLICY_USER,
	    pend->name, roles, nroles);
	auth_cache_put(a, pend->cache_key, now, p);
	return AUTH_OK;
}

void
auth_pending_clear(struct auth_pending *pend)
{
	if (pend->pass != NULL) {
		OPENSSL_cleanse(pend->pass, pend->passlen);
		free(pend->pass);
	}
	OPENSSL_cleanse(pend, sizeof(*pend));
}

/* ---- authorization ------------------------------------------------------ */

/* What a route and method ask for; -1 for "any authenticated caller". */
static int
auth_action(enum route_kind kind, unsigned method, enum policy_action *act)
{
	switch (kind) {
	case ROUTE_BASE:
	case ROUTE_CATALOG:
	case ROUTE_NONE:
		return -1;
	case ROUTE_TAGS_LIST:
	case ROUTE_REFERRERS:
		*act = POLICY_PULL;
		return 0;
	case ROUTE_MANIFEST:
	case ROUTE_BLOB:
		*act = method == HTTP_GET || method == HTTP_HEAD ? POLICY_PULL
		    : method == HTTP_DELETE			 ? POLICY_DELETE
								 : POLICY_PUSH;
		return 0;
	case ROUTE_UPLOAD_START:
	case ROUTE_UPLOAD:
		*act = POLICY_PUSH;
		return 0;
	}
	return -1;
}

static unsigned
auth_action_bit(enum policy_action act)
{
	return act == POLICY_PULL ? TOKEN_ACT_PULL
	    : act == POLICY_PUSH  ? TOKEN_ACT_PUSH
				  : TOKEN_ACT_DELETE;
}

/* May p do act on repo? Bearer tokens answer with their access list. */
static int
auth_may(struct auth *a, const struct auth_principal *p, const char *repo,
    enum policy_action act, struct policy_decision *d)
{
	struct policy_principal pp;

	if (p->bearer) {
		memset(d, 0, sizeof(*d));
		d->allow = token_access_allows(
		    &p->access, "repository", repo, auth_action_bit(act));
		snprintf(d->reason, sizeof(d->reason),
		    "the token grants no %s on %s", policy_action_name(act),
		    repo);
		return d->allow;
	}
	auth_policy_principal(p, &pp);
	return policy_decide(a->policies, repo, &pp, act, d);
}

enum auth_verdict
auth_authorize(struct auth *a, const struct auth_principal *p,
    enum route_kind kind, unsigned method, const char *repo,
    const char *mount_from, char *scope, size_t scopelen, char *reason,
    size_t reasonlen)
{
	struct policy_decision d;
	struct auth_principal full;
	enum policy_action act;

	scope[0] = reason[0] = '\0';
	if (auth_action(kind, method, &act) == -1) {
		if (p->kind != POLICY_ANONYMOUS)
			return AUTH_ALLOW;
		if (kind == ROUTE_CATALOG)
			snprintf(scope, scopelen, "registry:catalog:*");
		snprintf(reason, reasonlen, "authentication required");
		return AUTH_CHALLENGE;
	}
	if (auth_may(a, p, repo, act, &d)) {
		if (mount_from == NULL)
			return AUTH_ALLOW;
		/* A mount also reads the source; without that, upload. */
		return auth_may(a, p, mount_from, POLICY_PULL, &d)
		    ? AUTH_ALLOW
		    : AUTH_ALLOW_NO_MOUNT;
	}
	snprintf(scope, scopelen, "repository:%s:%s", repo,
	    act == POLICY_PULL	     ? "pull"
		: act == POLICY_PUSH ? "pull,push"
				     : "delete");
	if (p->kind == POLICY_ANONYMOUS) {
		snprintf(reason, reasonlen, "%s", d.reason);
		return AUTH_CHALLENGE;
	}
	if (p->bearer) {
		/*
		 * The token lacks the scope. Would the policy grant it?
		 * Then a new token helps (401, insufficient_scope); else
		 * say plainly why not (403).
		 */
		struct policy_principal pp;

		auth_principal_copy(&full, p);
		full.bearer = 0;
		auth_load_roles(a, &full);
		auth_policy_principal(&full, &pp);
		if (policy_decide(a->policies, repo, &pp, act, &d) ||
		    full.kind == POLICY_CI) {
			snprintf(reason, reasonlen, "%s",
			    "the token does not grant this; ask /token for it");
			return AUTH_CHALLENGE;
		}
	}
	snprintf(reason, reasonlen, "%s", d.reason);
	return AUTH_DENY;
}

void
auth_challenge(struct auth *a, const char *public_url, const char *scope,
    int insufficient, char *out, size_t outlen)
{
	snprintf(out, outlen,
	    "Bearer realm=\"%s/token\",service=\"%s\"%s%s%s%s", public_url,
	    a->service, scope != NULL && *scope ? ",scope=\"" : "",
	    scope != NULL && *scope ? scope : "",
	    scope != NULL && *scope ? "\"" : "",
	    insufficient ? ",error=\"insufficient_scope\"" : "");
}

/* ---- the token endpoint ------------------------------------------------- */

/* Decode one x-www-form-urlencoded value in place; -1 on a bad escape. */
static int
auth_unescape(char *s)
{
	char *o = s;
	int hi, lo;

	for (; *s != '\0'; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%') {
			if (!isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2]))
				return -1;
			hi = isdigit((unsigned char)s[1])
			    ? s[1] - '0'
			    : (tolower((unsigned char)s[1]) - 'a' + 10);
			lo = isdigit((unsigned char)s[2])
			    ? s[2] - '0'
			    : (tolower((unsigned char)s[2]) - 'a' + 10);
			*o++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return 0;
}

int
auth_token(struct auth *a, const struct auth_principal *p, const char *q,
    size_t qlen, int oauth, time_t now, struct evbuffer *out, char *why,
    size_t whylen)
{
	struct token_access_list want, grant;
	struct token_grant g;
	struct policy_decision d;
	struct auth_principal full;
	char *copy, *tokp, *save = NULL, *eq, *tok = NULL, *rtok = NULL;
	int offline = 0;
	char sub[AUTH_NAME_MAX + 16], when[32], err[TOKEN_ERR_MAX];
	static const enum policy_action acts[] = {
	    POLICY_PULL, POLICY_PUSH, POLICY_DELETE};
	struct tm tm;
	size_t i, k, toklen;
	unsigned bits;
	int status = 400;

	memset(&want, 0, sizeof(want));
	memset(&grant, 0, sizeof(grant));
	if ((copy = strndup(q, qlen)) == NULL)
		return 500;
	for (tokp = strtok_r(copy, "&", &save); tokp != NULL;
	     tokp = strtok_r(NULL, "&", &save)) {
		if ((eq = strchr(tokp, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (auth_unescape(eq) == -1) {
			snprintf(why, whylen, "bad escape in %s", tokp);
			goto out;
		}
		if (strcmp(tokp, "service") == 0 &&
		    strcmp(eq, a->service) != 0) {
			snprintf(why, whylen, "unknown service \"%.100s\"", eq);
			goto out;
		}
		if (strcmp(tokp, "scope") == 0 &&
		    token_scope_add(&want, eq, strlen(eq), err, sizeof(err)) ==
			-1) {
			snprintf(why, whylen, "scope: %s", err);
			goto out;
		}
		/* docker's offline_token=true, OAuth2's access_type=offline */
		if ((strcmp(tokp, "offline_token") == 0 &&
			strcmp(eq, "true") == 0) ||
		    (strcmp(tokp, "access_type") == 0 &&
			strcmp(eq, "offline") == 0))
			offline = 1;
	}
	/* Grant what was asked, as far as the policy allows. */
	auth_principal_copy(&full, p);
	full.bearer = 0;
	auth_load_roles(a, &full);
	for (i = 0; i < want.n; i++) {
		struct token_access *w = &want.v[i];

		bits = 0;
		if (strcmp(w->type, "registry") == 0 &&
		    strcmp(w->name, "catalog") == 0) {
			if (full.kind != POLICY_ANONYMOUS &&
			    (w->actions & TOKEN_ACT_ALL))
				bits = TOKEN_ACT_ALL;
		} else if (strcmp(w->type, "repository") == 0) {
			for (k = 0; k < 3; k++) {
				unsigned bit = auth_action_bit(acts[k]);
				struct policy_principal pp;

				if (!(w->actions & (bit | TOKEN_ACT_ALL)))
					continue;
				auth_policy_principal(&full, &pp);
				if (policy_decide(
					a->policies, w->name, &pp, acts[k], &d))
					bits |= bit;
			}
		}
		if (bits != 0 && grant.n < TOKEN_ACCESS_MAX) {
			grant.v[grant.n] = *w;
			grant.v[grant.n++].actions = bits;
		}
	}
	memset(&g, 0, sizeof(g));
	g.iss = a->issuer;
	g.sub = p->kind == POLICY_ANONYMOUS
	    ? ""
	    : auth_principal_str(p, sub, sizeof(sub));
	g.aud = a->service;
	g.now = now;
	g.ttl = a->ttl;
	g.access = &grant;
	if (token_issue(&a->key, &g, &tok, &toklen, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "cannot issue a token: %s", err);
		status = 500;
		goto out;
	}
	/* Pushes made with this token are recorded with the CI claims. */
	if (p->kind == POLICY_CI) {
		unsigned char ck[32];
		struct auth_cache_entry *e;

		/*
		 * Remember the CI identity's roles and claims for the
		 * token's lifetime: a token carries neither, and the catalog
		 * and the ledger want both.
		 */
		if (auth_cache_key(a, "C", 1, g.sub, strlen(g.sub), ck) == 0) {
			e = auth_cache_slot(a, ck);
			memcpy(e->key, ck, sizeof(ck));
			e->expires = e->stale_after = now + (time_t)a->ttl;
			e->refreshing = 0;
			auth_principal_copy(&e->p, p);
		}
	}
	/*
	 * A refresh token: the same signature, an empty access list and
	 * the audience "<service>/refresh", so it never passes as an
	 * access token. CI identities renew with their ID token instead.
	 */
	if (offline && p->kind != POLICY_ANONYMOUS && p->kind != POLICY_CI) {
		struct token_access_list none;
		char raud[512];
		size_t rlen;

		memset(&none, 0, sizeof(none));
		snprintf(raud, sizeof(raud), "%s/refresh", a->service);
		g.aud = raud;
		g.ttl = AUTH_REFRESH_TTL;
		g.access = &none;
		if (token_issue(&a->key, &g, &rtok, &rlen, err, sizeof(err)) ==
		    -1) {
			snprintf(why, whylen, "cannot issue a token: %s", err);
			status = 500;
			goto out;
		}
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (oauth)
		evbuffer_add_printf(out, "{\"access_token\":\"%s\"", tok);
	else
		evbuffer_add_printf(
		    out, "{\"token\":\"%s\",\"access_token\":\"%s\"", tok, tok);
	evbuffer_add_printf(
	    out, ",\"expires_in\":%u,\"issued_at\":\"%s\"", a->ttl, when);
	if (rtok != NULL)
		evbuffer_add_printf(out, ",\"refresh_token\":\"%s\"", rtok);
	evbuffer_add(out, "}\n", 2);
	status = 200;
out:
	free(tok);
	free(rtok);
	free(copy);
	return status;
}

int
auth_form_get(
    const char *form, size_t len, const char *key, char *buf, size_t buflen)
{
	size_t klen = strlen(key), i = 0, s, e;

	while (i < len) {
		s = i;
		while (i < len && form[i] != '&')
			i++;
		e = i++;
		if (e - s > klen && form[s + klen] == '=' &&
		    memcmp(form + s, key, klen) == 0) {
			s += klen + 1;
			if (e - s >= buflen)
				return -1;
			memcpy(buf, form + s, e - s);
			buf[e - s] = '\0';
			return auth_unescape(buf) == 0 ? 1 : -1;
		}
	}
	return 0;
}

enum auth_outcome
auth_refresh(struct auth *a, const char *tok, size_t len, time_t now,
    struct auth_principal *p, char *why, size_t whylen)
{
	char raud[512], err[TOKEN_ERR_MAX];
	struct jwt_expect want = {a->issuer, raud, now, AUTH_LEEWAY};
	struct token_claims c;
	struct db_principal *dp = NULL;
	enum token_status st;
	int ok;

	snprintf(raud, sizeof(raud), "%s/refresh", a->service);
	st = token_verify(&a->key, tok, len, &want, &c, err, sizeof(err));
	if (st != TOKEN_OK) {
		snprintf(why, whylen, "refresh token %s: %s",
		    token_status_str(st), err);
		return AUTH_FAILED;
	}
	if (auth_principal_from_sub(p, c.sub) == -1 ||
	    (p->kind != POLICY_USER && p->kind != POLICY_ROBOT)) {
		snprintf(why, whylen, "refresh token for no user or robot");
		return AUTH_FAILED;
	}
	/* The principal must still exist and be enabled. */
	ok = a->db != NULL &&
	    db_principal_get(a->db,
		p->kind == POLICY_USER ? DB_PRINCIPAL_USER : DB_PRINCIPAL_ROBOT,
		p->name, &dp, err, sizeof(err)) == DB_PRINCIPAL_OK &&
	    !dp->disabled;
	if (ok)
		auth_principal_set(p, p->kind, dp->name,
		    (const char *const *)dp->roles, dp->nroles);
	db_principal_free(dp);
	if (!ok) {
		snprintf(why, whylen,
		    "refresh token for a principal that is "
		    "gone or disabled");
		return AUTH_FAILED;
	}
	return AUTH_OK;
}

/* ---- admission helpers -------------------------------------------------- */

const struct policy_set *
auth_policies(const struct auth *a)
{
	return a->policies;
}

int
auth_may_bypass(
    struct auth *a, const struct auth_principal *p, const char *repo)
{
	struct auth_principal full;
	struct policy_principal pp;

	auth_principal_copy(&full, p);
	full.bearer = 0;
	auth_load_roles(a, &full);
	auth_policy_principal(&full, &pp);
	return policy_may_bypass(a->policies, repo, &pp);
}

/* ---- catalog filtering -------------------------------------------------- */

int
auth_catalog(struct auth *a, const struct auth_principal *p, const char *json,
    size_t len, struct evbuffer *out)
{
	struct auth_principal full;
	struct policy_principal pp;
	json_error_t je;
	json_t *root, *repos;
	char *text;
	int rc = -1;

	if (len > AUTH_CATALOG_MAX ||
	    (root = json_loadb(json, len, 0, &je)) == NULL)
		return -1;
	repos = json_object_get(root, "repositories");
	auth_principal_copy(&full, p);
	full.bearer = 0;
	auth_load_roles(a, &full);
	auth_policy_principal(&full, &pp);
	if (policy_catalog_filter(a->policies, &pp, repos) >= 0 &&
	    (text = json_dumps(root, JSON_COMPACT)) != NULL) {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
		free(text);
		rc = 0;
	}
	json_decref(root);
	return rc;
}
