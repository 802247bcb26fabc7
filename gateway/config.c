/*
 * config: load and validate regward's JSON configuration file.
 *
 * One table, config_rows[], drives everything: the loader walks the JSON
 * and looks every key up in it (a key with no row is an error), missing
 * keys get the row's default or a "required" error, config_free() frees
 * what the rows own and config_reload_check() compares the rows SIGHUP may
 * not change. Adding a key is one row plus its struct member.
 *
 * Errors are one line: "<file>: <key.path>: <what is wrong>", or
 * "<file>:<line>:<column>: <text>" for JSON syntax errors.
 */
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "regward/config.h"

/* A config is a few hundred bytes; refuse to read more than this. */
#define CONFIG_FILE_MAX ((size_t)1 << 20)
#define CONFIG_GOT_MAX 48 /* bytes of an offending value quoted */
#define CONFIG_KEY_MAX 64 /* bytes of an unknown key quoted */

/*
 * Value types. LISTEN, PUBLIC_URL and UPSTREAM_URL each parse one string
 * into several members: listen -> listen, listen_host, listen_port;
 * upstream.url -> struct config_upstream url, tls, host, port, authority.
 */
enum config_type {
	CONFIG_T_SECTION, /* object whose keys are rows "name.*" */
	CONFIG_T_RESERVED, /* key of a later version: always an error */
	CONFIG_T_PATH, /* non-empty string -> char * */
	CONFIG_T_UINT, /* integer -> unsigned */
	CONFIG_T_SIZE, /* integer -> size_t */
	CONFIG_T_DURATION, /* 30 (seconds) or "250ms" "30s" "5m" "1h" "1d" */
	CONFIG_T_LISTEN, /* "host:port" or "[v6]:port" */
	CONFIG_T_PUBLIC_URL, /* base URL -> char *, no trailing slash */
	CONFIG_T_UPSTREAM_URL, /* base URL -> struct config_upstream */
	CONFIG_T_JSON, /* object or array kept as JSON for its own loader */
	CONFIG_T_BOOL, /* true or false -> int 1 or 0 */
};

/* Row flags. A required key may still be absent when its section is. */
#define CONFIG_REQ 0x01 /* required */
#define CONFIG_RLD 0x02 /* reloadable: SIGHUP may change the value */

#define CONFIG_NOFIELD SIZE_MAX /* row stores nothing */

/*
 * One configuration key. off is the member of struct config the value goes
 * to (for a section: CONFIG_NOFIELD, or a pointer member that is non-NULL
 * exactly when the section is present, so a reload can tell that the
 * section appeared or went away). def/min/max are in the stored unit
 * (milliseconds for durations); def_str is a string default that goes
 * through the same parser as a value from the file.
 */
struct config_row {
	const char *name;
	enum config_type type;
	size_t off;
	const char *def_str;
	uint64_t def;
	uint64_t min;
	uint64_t max;
	int flags;
};

/* Durations are stored in milliseconds. */
#define CONFIG_SEC 1000ULL
#define CONFIG_MIN (60 * CONFIG_SEC)
#define CONFIG_HOUR (60 * CONFIG_MIN)
#define CONFIG_DAY (24 * CONFIG_HOUR)
#define CONFIG_OFF(m) offsetof(struct config, m)

/* clang-format off */
static const struct config_row config_rows[] = {
	/* name, type, member, def_str, def, min, max, flags */
	{ "listen", CONFIG_T_LISTEN, CONFIG_OFF(listen),
	    "127.0.0.1:8443", 0, 0, 0, 0 },
	{ "public_url", CONFIG_T_PUBLIC_URL, CONFIG_OFF(public_url),
	    NULL, 0, 0, 0, CONFIG_REQ | CONFIG_RLD },
	{ "database", CONFIG_T_PATH, CONFIG_OFF(database),
	    NULL, 0, 0, 0, CONFIG_REQ },

	{ "upstream", CONFIG_T_SECTION, CONFIG_NOFIELD,
	    NULL, 0, 0, 0, CONFIG_REQ },
	{ "upstream.url", CONFIG_T_UPSTREAM_URL, CONFIG_OFF(upstream),
	    NULL, 0, 0, 0, CONFIG_REQ },
	{ "upstream.ca", CONFIG_T_PATH, CONFIG_OFF(upstream.ca_file),
	    NULL, 0, 0, 0, 0 },
	{ "upstream.pool_idle", CONFIG_T_UINT, CONFIG_OFF(upstream.pool_idle),
	    NULL, 32, 0, 1024, 0 },

	/* Paths may change (files re-read on SIGHUP), TLS on/off may not. */
	{ "tls", CONFIG_T_SECTION, CONFIG_OFF(tls.cert),
	    NULL, 0, 0, 0, 0 },
	{ "tls.cert", CONFIG_T_PATH, CONFIG_OFF(tls.cert),
	    NULL, 0, 0, 0, CONFIG_REQ | CONFIG_RLD },
	{ "tls.key", CONFIG_T_PATH, CONFIG_OFF(tls.key),
	    NULL, 0, 0, 0, CONFIG_REQ | CONFIG_RLD },

	/* Restart-only: max_connections. Others apply to new connections. */
	{ "limits", CONFIG_T_SECTION, CONFIG_NOFIELD,
	    NULL, 0, 0, 0, CONFIG_RLD },
	{ "limits.max_connections", CONFIG_T_UINT,
	    CONFIG_OFF(limits.max_connections),
	    NULL, 4096, 1, 1000000, 0 },
	{ "limits.header_bytes", CONFIG_T_SIZE,
	    CONFIG_OFF(limits.header_bytes),
	    NULL, 16384, 1024, 1048576, CONFIG_RLD },
	{ "limits.upstream_header_bytes", CONFIG_T_SIZE,
	    CONFIG_OFF(limits.upstream_header_bytes),
	    NULL, 65536, 1024, 1048576, CONFIG_RLD },
	{ "limits.high_water", CONFIG_T_SIZE,
	    CONFIG_OFF(limits.high_water),
	    NULL, 262144, 16384, 16777216, CONFIG_RLD },
	{ "limits.manifest_bytes", CONFIG_T_SIZE,
	    CONFIG_OFF(limits.manifest_bytes),
	    NULL, 4194304, 65536, 67108864, CONFIG_RLD },

	{ "timeouts", CONFIG_T_SECTION, CONFIG_NOFIELD,
	    NULL, 0, 0, 0, CONFIG_RLD },
	{ "timeouts.header", CONFIG_T_DURATION,
	    CONFIG_OFF(timeouts.header),
	    NULL, 30 * CONFIG_SEC, CONFIG_SEC, CONFIG_HOUR, CONFIG_RLD },
	{ "timeouts.idle", CONFIG_T_DURATION,
	    CONFIG_OFF(timeouts.idle),
	    NULL, 60 * CONFIG_SEC, CONFIG_SEC, CONFIG_HOUR, CONFIG_RLD },
	{ "timeouts.body", CONFIG_T_DURATION,
	    CONFIG_OFF(timeouts.body),
	    NULL, 300 * CONFIG_SEC, CONFIG_SEC, CONFIG_DAY, CONFIG_RLD },
	{ "timeouts.upstream_connect", CONFIG_T_DURATION,
	    CONFIG_OFF(timeouts.upstream_connect),
	    NULL, 5 * CONFIG_SEC, 100, 5 * CONFIG_MIN, CONFIG_RLD },
	{ "timeouts.upstream_response", CONFIG_T_DURATION,
	    CONFIG_OFF(timeouts.upstream_response),
	    NULL, 300 * CONFIG_SEC, CONFIG_SEC, CONFIG_DAY, CONFIG_RLD },
	{ "timeouts.drain", CONFIG_T_DURATION,
	    CONFIG_OFF(timeouts.drain),
	    NULL, 30 * CONFIG_SEC, 0, CONFIG_HOUR, CONFIG_RLD },

	/* Restart-only: SIGHUP does not reopen the log (server.c). */
	{ "log", CONFIG_T_SECTION, CONFIG_NOFIELD,
	    NULL, 0, 0, 0, CONFIG_RLD },
	{ "log.file", CONFIG_T_PATH, CONFIG_OFF(log_file),
	    NULL, 0, 0, 0, 0 },

	/*
	 * Authentication and policies: checked by their own loaders
	 * (gateway/auth.c, policy.c) when the gateway starts and in
	 * `regward check`. Restart-only.
	 */
	{ "auth", CONFIG_T_JSON, CONFIG_OFF(auth), NULL, 0, 0, 0, 0 },
	{ "policies", CONFIG_T_JSON, CONFIG_OFF(policies), NULL, 0, 0, 0, 0 },

	/*
	 * Pull admission: trusted keys and the engine's settings, checked
	 * by admit_conf_load() (gateway/admit_verify.c). Restart-only.
	 */
	{ "keys", CONFIG_T_JSON, CONFIG_OFF(keys), NULL, 0, 0, 0, 0 },
	{ "admission", CONFIG_T_JSON, CONFIG_OFF(admission), NULL, 0, 0, 0, 0 },

	/*
	 * Retention and the audit trail's bound: read by `regward purge`
	 * (gateway/retention.c checks "retention" in check, serve, purge).
	 */
	{ "retention", CONFIG_T_JSON, CONFIG_OFF(retention),
	    NULL, 0, 0, 0, CONFIG_RLD },
	{ "audit", CONFIG_T_SECTION, CONFIG_NOFIELD,
	    NULL, 0, 0, 0, CONFIG_RLD },
	{ "audit.keep_days", CONFIG_T_UINT, CONFIG_OFF(audit_keep_days),
	    NULL, 365, 0, 36500, CONFIG_RLD },

	/*
	 * Self-sandboxing after the listener is bound (gateway/sandbox.c).
	 * user and group are names (or numeric ids); a string row stores
	 * them. Restart-only: privileges once dropped cannot come back.
	 */
	{ "sandbox", CONFIG_T_SECTION, CONFIG_NOFIELD, NULL, 0, 0, 0, 0 },
	{ "sandbox.user", CONFIG_T_PATH, CONFIG_OFF(sandbox.user),
	    NULL, 0, 0, 0, 0 },
	{ "sandbox.group", CONFIG_T_PATH, CONFIG_OFF(sandbox.group),
	    NULL, 0, 0, 0, 0 },
	{ "sandbox.seccomp", CONFIG_T_BOOL, CONFIG_OFF(sandbox.seccomp),
	    NULL, 1, 0, 1, 0 },
};
/* clang-format on */

#define CONFIG_NROWS (sizeof(config_rows) / sizeof(config_rows[0]))

/* State of one load: where errors go and which rows the file set. */
struct config_ctx {
	const char *name; /* file name for messages */
	char *err;
	size_t errlen;
	struct config *cfg;
	unsigned char seen[CONFIG_NROWS];
};

static void config_errf(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int config_err(struct config_ctx *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Format a message into err[0..errlen) and make it one printable line:
 * control bytes (from a key, a file name or jansson's "near" text) become
 * '?'. err may be NULL.
 */
static void
config_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (p = err; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}

/* Report "<file>: <path>: <message>" for a load; always returns -1. */
static int
config_err(struct config_ctx *ctx, const char *path, const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_errf(ctx->err, ctx->errlen, "%s: %s: %s", ctx->name, path, msg);
	return -1;
}

/*
 * Render a JSON value for a message: compact, ASCII only, at most
 * CONFIG_GOT_MAX bytes with "..." when cut.
 */
static void
config_got(const json_t *v, char *buf, size_t len)
{
	char *dump;

	dump =
	    json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
	if (dump == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	if (strlen(dump) > CONFIG_GOT_MAX)
		snprintf(buf, len, "%.*s...", CONFIG_GOT_MAX - 3, dump);
	else
		snprintf(buf, len, "%s", dump);
	free(dump);
}

/* Format a duration in ms with the largest unit that divides it. */
static void
config_duration_fmt(uint64_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0s");
	else if (ms % CONFIG_DAY == 0)
		snprintf(
		    buf, len, "%llud", (unsigned long long)(ms / CONFIG_DAY));
	else if (ms % CONFIG_HOUR == 0)
		snprintf(
		    buf, len, "%lluh", (unsigned long long)(ms / CONFIG_HOUR));
	else if (ms % CONFIG_MIN == 0)
		snprintf(
		    buf, len, "%llum", (unsigned long long)(ms / CONFIG_MIN));
	else if (ms % CONFIG_SEC == 0)
		snprintf(
		    buf, len, "%llus", (unsigned long long)(ms / CONFIG_SEC));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}

/*
 * Parse "<digits><unit>" with unit ms, s, m, h or d into milliseconds.
 * No sign, no space, no fraction; -1 on junk or overflow.
 */
static int
config_duration_parse(const char *s, uint64_t *ms)
{
	uint64_t v = 0, mult;
	const char *p = s;

	*ms = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (strcmp(p, "s") == 0)
		mult = CONFIG_SEC;
	else if (strcmp(p, "m") == 0)
		mult = CONFIG_MIN;
	else if (strcmp(p, "h") == 0)
		mult = CONFIG_HOUR;
	else if (strcmp(p, "d") == 0)
		mult = CONFIG_DAY;
	else
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*ms = v * mult;
	return 0;
}

/*
 * Split "host", "host:port" or "[v6]" / "[v6]:port" (s, len bytes, not
 * NUL-terminated). A bare IPv6 address must be bracketed; a name may hold
 * letters, digits, '.', '-' and '_'. Sets *hostp (brackets removed; free
 * with free()), *portp and *has_port. Returns -1 with a reason in *why.
 */
static int
config_hostport_parse(const char *s, size_t len, unsigned port_min,
    char **hostp, uint16_t *portp, int *has_port, const char **why)
{
	char v6[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	const char *host, *rest, *end = s + len, *badport;
	size_t hlen, i;
	unsigned long port = 0;

	*hostp = NULL;
	*portp = 0;
	*has_port = 0;
	if (len > 0 && s[0] == '[') {
		rest = memchr(s, ']', len);
		if (rest == NULL) {
			*why = "has no closing ']'";
			return -1;
		}
		host = s + 1;
		hlen = (size_t)(rest - host);
		rest++;
		if (hlen == 0 || hlen >= sizeof(v6)) {
			*why = "has an invalid IPv6 address";
			return -1;
		}
		memcpy(v6, host, hlen);
		v6[hlen] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1) {
			*why = "has an invalid IPv6 address";
			return -1;
		}
	} else {
		host = s;
		rest = memchr(s, ':', len);
		if (rest == NULL)
			rest = end;
		hlen = (size_t)(rest - host);
		if (rest != end && memchr(rest + 1, ':', len - hlen - 1)) {
			*why = "must put an IPv6 address in brackets";
			return -1;
		}
		if (hlen == 0) {
			*why = "has an empty host";
			return -1;
		}
		for (i = 0; i < hlen; i++) {
			char c = host[i];
			if (!((c >= 'a' && c <= 'z') ||
				(c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || c == '.' ||
				c == '-' || c == '_')) {
				*why = "has an invalid character in the host";
				return -1;
			}
		}
	}
	if (rest != end) {
		if (*rest != ':') {
			*why = "has junk after the IPv6 address";
			return -1;
		}
		badport = port_min == 0
		    ? "must have a port between 0 and 65535"
		    : "must have a port between 1 and 65535";
		rest++;
		if (rest == end || end - rest > 5) {
			*why = badport;
			return -1;
		}
		for (; rest < end; rest++) {
			if (*rest < '0' || *rest > '9') {
				*why = badport;
				return -1;
			}
			port = port * 10 + (unsigned long)(*rest - '0');
		}
		if (port > 65535 || port < port_min) {
			*why = badport;
			return -1;
		}
		*has_port = 1;
	}
	if ((*hostp = strndup(host, hlen)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	*portp = (uint16_t)port;
	return 0;
}

/*
 * Split an http:// or https:// URL that may end in "/" but has no other
 * path, no query, no fragment and no user information. Sets *tls, the
 * authority (*auth, *alen, borrowed from s), *hostp (free with free()) and
 * *portp (80/443 when the URL has none). Returns -1 with *why set, and
 * *secret set when the URL may carry a credential (user information, a
 * query or a fragment) and must not be quoted in the message.
 */
static int
config_url_parse(const char *s, int *tls, const char **auth, size_t *alen,
    char **hostp, uint16_t *portp, const char **why, int *secret)
{
	const char *p, *rest;
	int has_port;

	*hostp = NULL;
	*secret = 0;
	/* Any '@' is user information or a path: both refused. */
	if (strchr(s, '@') != NULL) {
		*why = "must not contain user information";
		*secret = 1;
		return -1;
	}
	if (strncasecmp(s, "http://", 7) == 0) {
		*tls = 0;
		p = s + 7;
	} else if (strncasecmp(s, "https://", 8) == 0) {
		*tls = 1;
		p = s + 8;
	} else {
		*why = "must start with http:// or https://";
		return -1;
	}
	*auth = p;
	*alen = strcspn(p, "/?#");
	rest = p + *alen;
	if (strpbrk(rest, "?#") != NULL) {
		*why = "must not have a query or fragment";
		*secret = 1;
		return -1;
	}
	if (strcmp(rest, "") != 0 && strcmp(rest, "/") != 0) {
		*why = "must not have a path other than \"/\"";
		return -1;
	}
	if (config_hostport_parse(p, *alen, 1, hostp, portp, &has_port, why) ==
	    -1)
		return -1;
	if (!has_port)
		*portp = *tls ? 443 : 80;
	return 0;
}

/* Member of cfg a row stores to. */
static void *
config_field(struct config *cfg, const struct config_row *row)
{
	return (char *)cfg + row->off;
}

static const void *
config_cfield(const struct config *cfg, const struct config_row *row)
{
	return (const char *)cfg + row->off;
}

/* Store a number already checked against the row's bounds. */
static void
config_store_num(struct config *cfg, const struct config_row *row, uint64_t v)
{
	switch (row->type) {
	case CONFIG_T_UINT:
	case CONFIG_T_DURATION:
		*(unsigned *)config_field(cfg, row) = (unsigned)v;
		break;
	case CONFIG_T_BOOL:
		*(int *)config_field(cfg, row) = v != 0;
		break;
	case CONFIG_T_SIZE:
		*(size_t *)config_field(cfg, row) = (size_t)v;
		break;
	default:
		break;
	}
}

/* Replace the string member a row owns; takes ownership of s. */
static void
config_store_str(struct config *cfg, const struct config_row *row, char *s)
{
	char **dst = config_field(cfg, row);

	free(*dst);
	*dst = s;
}

/* CONFIG_T_UINT, CONFIG_T_SIZE: a JSON integer within [min, max]. */
static int
config_set_num(
    struct config_ctx *ctx, const struct config_row *row, const json_t *v)
{
	char got[CONFIG_GOT_MAX + 8];
	json_int_t n;

	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
	    (uint64_t)n < row->min || (uint64_t)n > row->max) {
		config_got(v, got, sizeof(got));
		return config_err(ctx, row->name,
		    "must be an integer between %llu and %llu, got %s",
		    (unsigned long long)row->min, (unsigned long long)row->max,
		    got);
	}
	config_store_num(ctx->cfg, row, (uint64_t)n);
	return 0;
}

/*
 * CONFIG_T_DURATION: a JSON integer (seconds) or a string with a unit,
 * within [min, max] milliseconds.
 */
static int
config_set_duration(
    struct config_ctx *ctx, const struct config_row *row, const json_t *v)
{
	char got[CONFIG_GOT_MAX + 8], lo[32], hi[32];
	json_int_t n;
	uint64_t ms = 0;
	int ok = 0;

	if (json_is_integer(v)) {
		n = json_integer_value(v);
		if (n >= 0 && (uint64_t)n <= UINT64_MAX / CONFIG_SEC) {
			ms = (uint64_t)n * CONFIG_SEC;
			ok = 1;
		}
	} else if (json_is_string(v) &&
	    json_string_length(v) == strlen(json_string_value(v))) {
		ok = config_duration_parse(json_string_value(v), &ms) == 0;
	}
	if (!ok || ms < row->min || ms > row->max) {
		config_got(v, got, sizeof(got));
		config_duration_fmt(row->min, lo, sizeof(lo));
		config_duration_fmt(row->max, hi, sizeof(hi));
		return config_err(ctx, row->name,
		    "must be a duration between %s and %s, got %s", lo, hi,
		    got);
	}
	config_store_num(ctx->cfg, row, ms);
	return 0;
}

/*
 * Borrow the C string of a JSON string value for a row, or report the
 * error: not a string, empty, or holding a NUL byte.
 */
static const char *
config_str(
    struct config_ctx *ctx, const struct config_row *row, const json_t *v)
{
	const char *s;

	if (!json_is_string(v)) {
		config_err(ctx, row->name, "must be a string");
		return NULL;
	}
	s = json_string_value(v);
	if (json_string_length(v) != strlen(s)) {
		config_err(ctx, row->name, "must not contain a NUL byte");
		return NULL;
	}
	if (*s == '\0') {
		config_err(ctx, row->name, "must not be empty");
		return NULL;
	}
	return s;
}

/* CONFIG_T_PATH: any non-empty string. */
static int
config_set_path(
    struct config_ctx *ctx, const struct config_row *row, const json_t *v)
{
	const char *s;
	char *dup;

	if ((s = config_str(ctx, row, v)) == NULL)
		return -1;
	if ((dup = strdup(s)) == NULL)
		return config_err(ctx, row->name, "out of memory");
	config_store_str(ctx->cfg, row, dup);
	return 0;
}

/* CONFIG_T_LISTEN: "host:port" or "[v6]:port", port 0..65535. */
static int
config_set_listen(
    struct config_ctx *ctx, const struct config_row *row, const json_t *v)
{
	struct config *cfg = ctx->cfg;
	char got[CONFIG_GOT_MAX + 8];
	const char *s, *why = NULL;
	char *host = NULL, *dup = NULL;
	uint16_t port;
	int has_port, rc = -1;

	if ((s = config_str(ctx, row, v)) == NULL)
		goto out;
	if (config_hostport_parse(
		s, strlen(s), 0, &host, &port, &has_port, &why) == 0 &&
	    !has_port)
		why = "must be host:port or [v6]:port";
	if (why != NULL) {
		config_got(v, got, sizeof(got));
		config_err(ctx, row->name, "%s, got %s", why, got);
		goto out;
	}
	if ((dup = strdup(s)) == NULL) {
		config_err(ctx, row->name, "out of memory");
		goto out;
	}
	free(cfg->listen);
	free(cfg->listen_host);
	cfg->listen = dup;
	cfg->listen_host = host;
	cfg->listen_port = port;
	dup = host = NULL;
	rc = 0;
out:
	free(host);
	free(dup);
	return rc;
}

/*
 * Report a bad URL, quoting it unless it may carry a credential: the
 * message ends up in logs.
 */
static int
config_url_err(struct config_ctx *ctx, const struct config_row *row,
    const json_t *v, const char *why, int secret)
{
	char got[CONFIG_GOT_MAX + 8];

	if (secret)
		return config_err(ctx, row->name, "%s", why);
	config_got(v, got, sizeof(got));
	return config_err(ctx, row->name, "%s, got %s", why, got);
}

/* CONFIG_T_PUBLIC_URL: base URL, stored without its trailing slash. */
static int
config_set_public_url(
    struct config_ctx *ctx, const struct config_row *row, const json_t *v)
{
	const char *s, *auth, *why = NULL;
	char *host = NULL, *dup;
	size_t alen;
	uint16_t port;
	int tls, secret, rc;

	if ((s = config_str(ctx, row, v)) == NULL)
		return -1;
	rc = config_url_parse(
	    s, &tls, &auth, &alen, &host, &port, &why, &secret);
	free(host);
	if (rc == -1)
		return config_url_err(ctx, row, v, why, secret);
	if ((dup = strndup(s, (size_t)(auth - s) + alen)) == NULL)
		return config_err(ctx, row->name, "out of memory");
	config_store_str(ctx->cfg, row, dup);
	return 0;
}

/* CONFIG_T_UPSTREAM_URL: fills url, tls, host, port and authority. */
static int
config_set_upstream_url(
    struct config_ctx *ctx, const struct config_row *row, const json_t *v)
{
	struct config_upstream *up = config_field(ctx->cfg, row);
	const char *s, *auth, *why = NULL;
	char *host = NULL, *url = NULL, *authority = NULL;
	size_t alen;
	uint16_t port;
	int tls, secret, rc = -1;

	if ((s = config_str(ctx, row, v)) == NULL)
		goto out;
	if (config_url_parse(
		s, &tls, &auth, &alen, &host, &port, &why, &secret) == -1) {
		config_url_err(ctx, row, v, why, secret);
		goto out;
	}
	if ((url = strdup(s)) == NULL ||
	    (authority = strndup(auth, alen)) == NULL) {
		config_err(ctx, row->name, "out of memory");
		goto out;
	}
	free(up->url);
	free(up->host);
	free(up->authority);
	up->url = url;
	up->host = host;
	up->authority = authority;
	up->port = port;
	up->tls = tls;
	url = host = authority = NULL;
	rc = 0;
out:
	free(url);
	free(host);
	free(authority);
	return rc;
}

/* Parse v into the member row names; dispatch on the row's type. */
static int
config_set(
    struct config_ctx *ctx, const struct config_row *row, const json_t *v)
{
	switch (row->type) {
	case CONFIG_T_PATH:
		return config_set_path(ctx, row, v);
	case CONFIG_T_UINT:
	case CONFIG_T_SIZE:
		return config_set_num(ctx, row, v);
	case CONFIG_T_DURATION:
		return config_set_duration(ctx, row, v);
	case CONFIG_T_LISTEN:
		return config_set_listen(ctx, row, v);
	case CONFIG_T_PUBLIC_URL:
		return config_set_public_url(ctx, row, v);
	case CONFIG_T_UPSTREAM_URL:
		return config_set_upstream_url(ctx, row, v);
	case CONFIG_T_BOOL:
		if (!json_is_boolean(v))
			return config_err(
			    ctx, row->name, "must be true or false");
		config_store_num(ctx->cfg, row, json_is_true(v) ? 1 : 0);
		return 0;
	case CONFIG_T_JSON:
		if (!json_is_object(v) && !json_is_array(v))
			return config_err(
			    ctx, row->name, "must be an object or an array");
		json_decref(*(json_t **)config_field(ctx->cfg, row));
		*(json_t **)config_field(ctx->cfg, row) = json_deep_copy(v);
		return 0;
	case CONFIG_T_SECTION:
	case CONFIG_T_RESERVED:
		break;
	}
	return config_err(ctx, row->name, "internal error: bad row type");
}

/*
 * Row for key inside section prefix ("" for the top level), or NULL. A key
 * holding a '.' never matches, so {"timeouts.header": 1} is unknown.
 */
static const struct config_row *
config_row_find(const char *prefix, const char *key)
{
	const struct config_row *row;
	size_t plen = strlen(prefix);

	if (*key == '\0' || strchr(key, '.') != NULL)
		return NULL;
	for (row = config_rows; row < config_rows + CONFIG_NROWS; row++) {
		if (plen == 0) {
			if (strcmp(row->name, key) == 0)
				return row;
		} else if (strncmp(row->name, prefix, plen) == 0 &&
		    row->name[plen] == '.' &&
		    strcmp(row->name + plen + 1, key) == 0)
			return row;
	}
	return NULL;
}

/* Section row holding row ("upstream" for "upstream.url"), or NULL. */
static const struct config_row *
config_row_parent(const struct config_row *row)
{
	const struct config_row *p;
	const char *dot = strrchr(row->name, '.');
	size_t len;

	if (dot == NULL)
		return NULL;
	len = (size_t)(dot - row->name);
	for (p = config_rows; p < config_rows + CONFIG_NROWS; p++) {
		if (strncmp(p->name, row->name, len) == 0 &&
		    p->name[len] == '\0')
			return p;
	}
	return NULL;
}

/*
 * Set every key of obj, a JSON object at section prefix ("" for the top
 * level). Stops at the first error.
 */
static int
config_walk(struct config_ctx *ctx, const char *prefix, json_t *obj)
{
	const struct config_row *row;
	char path[CONFIG_KEY_MAX + 64];
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		if ((row = config_row_find(prefix, key)) == NULL) {
			snprintf(path, sizeof(path), "%s%s%.*s%s", prefix,
			    *prefix != '\0' ? "." : "", CONFIG_KEY_MAX, key,
			    strlen(key) > CONFIG_KEY_MAX ? "..." : "");
			return config_err(ctx, path, "unknown key");
		}
		ctx->seen[row - config_rows] = 1;
		switch (row->type) {
		case CONFIG_T_RESERVED:
			return config_err(ctx, row->name,
			    "this version of regward does not implement this "
			    "key; refusing to start rather than ignore it");
		case CONFIG_T_SECTION:
			if (!json_is_object(v))
				return config_err(
				    ctx, row->name, "must be an object");
			if (config_walk(ctx, row->name, v) == -1)
				return -1;
			break;
		default:
			if (config_set(ctx, row, v) == -1)
				return -1;
			break;
		}
	}
	return 0;
}

/*
 * After the walk: a row the file did not set is an error when it is
 * required and its section is present (or it is at the top level), else
 * it takes its default.
 */
static int
config_defaults(struct config_ctx *ctx)
{
	const struct config_row *row, *parent;
	json_t *v;
	size_t i;
	int rc;

	for (i = 0; i < CONFIG_NROWS; i++) {
		row = &config_rows[i];
		if (ctx->seen[i])
			continue;
		parent = config_row_parent(row);
		if ((row->flags & CONFIG_REQ) &&
		    (parent == NULL || ctx->seen[parent - config_rows]))
			return config_err(
			    ctx, row->name, "required key is missing");
		switch (row->type) {
		case CONFIG_T_UINT:
		case CONFIG_T_SIZE:
		case CONFIG_T_DURATION:
		case CONFIG_T_BOOL:
			config_store_num(ctx->cfg, row, row->def);
			break;
		default:
			if (row->def_str == NULL)
				break;
			if ((v = json_string(row->def_str)) == NULL)
				return config_err(
				    ctx, row->name, "out of memory");
			rc = config_set(ctx, row, v);
			json_decref(v);
			if (rc == -1)
				return -1;
			break;
		}
	}
	return 0;
}

/* Checks across keys, once every row is set. */
static int
config_cross_check(struct config_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;

	if (cfg->upstream.ca_file != NULL && !cfg->upstream.tls)
		return config_err(ctx, "upstream.ca",
		    "only applies to an https:// upstream.url");
	if (cfg->sandbox.group != NULL && cfg->sandbox.user == NULL)
		return config_err(ctx, "sandbox.group", "needs sandbox.user");
	return 0;
}

int
config_load_buffer(const char *name, const char *text, size_t len,
    struct config **out, char *err, size_t errlen)
{
	struct config_ctx ctx;
	struct config *cfg = NULL;
	json_error_t jerr;
	json_t *root = NULL;
	int rc = -1;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		name = "(config)";
	if (text == NULL) {
		text = "";
		len = 0;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(name)) == NULL) {
		config_errf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		config_errf(err, errlen, "%s:%d:%d: %s", name, jerr.line,
		    jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		config_errf(
		    err, errlen, "%s: top level must be a JSON object", name);
		goto out;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name;
	ctx.err = err;
	ctx.errlen = errlen;
	ctx.cfg = cfg;
	if (config_walk(&ctx, "", root) == -1 || config_defaults(&ctx) == -1 ||
	    config_cross_check(&ctx) == -1)
		goto out;
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	json_decref(root);
	config_free(cfg);
	return rc;
}

int
config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	FILE *fp = NULL;
	char *buf = NULL;
	size_t len = 0, n;
	int rc = -1;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((fp = fopen(path, "rb")) == NULL) {
		config_errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* One byte over the ceiling tells "too large" from "exactly max". */
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		config_errf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while ((n = fread(buf + len, 1, CONFIG_FILE_MAX + 1 - len, fp)) > 0) {
		len += n;
		if (len > CONFIG_FILE_MAX)
			break;
	}
	if (ferror(fp)) {
		config_errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (len > CONFIG_FILE_MAX) {
		config_errf(err, errlen, "%s: larger than %zu bytes", path,
		    CONFIG_FILE_MAX);
		goto out;
	}
	rc = config_load_buffer(path, buf, len, out, err, errlen);
out:
	if (fp != NULL)
		fclose(fp);
	free(buf);
	return rc;
}

static int
config_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Whether row has the same value in a and b. */
static int
config_row_same(const struct config_row *row, const struct config *a,
    const struct config *b)
{
	const struct config_upstream *ua, *ub;

	switch (row->type) {
	case CONFIG_T_SECTION:
		if (row->off == CONFIG_NOFIELD)
			return 1;
		/* Presence only: the section's own keys have their rows. */
		return (*(char *const *)config_cfield(a, row) == NULL) ==
		    (*(char *const *)config_cfield(b, row) == NULL);
	case CONFIG_T_RESERVED:
		return 1;
	case CONFIG_T_JSON:
		return json_equal(*(json_t *const *)config_cfield(a, row),
			   *(json_t *const *)config_cfield(b, row)) ||
		    (*(json_t *const *)config_cfield(a, row) == NULL &&
			*(json_t *const *)config_cfield(b, row) == NULL);
	case CONFIG_T_PATH:
	case CONFIG_T_PUBLIC_URL:
		return config_streq(*(char *const *)config_cfield(a, row),
		    *(char *const *)config_cfield(b, row));
	case CONFIG_T_UINT:
	case CONFIG_T_DURATION:
		return *(const unsigned *)config_cfield(a, row) ==
		    *(const unsigned *)config_cfield(b, row);
	case CONFIG_T_BOOL:
		return *(const int *)config_cfield(a, row) ==
		    *(const int *)config_cfield(b, row);
	case CONFIG_T_SIZE:
		return *(const size_t *)config_cfield(a, row) ==
		    *(const size_t *)config_cfield(b, row);
	case CONFIG_T_LISTEN:
		return config_streq(a->listen_host, b->listen_host) &&
		    a->listen_port == b->listen_port;
	case CONFIG_T_UPSTREAM_URL:
		ua = config_cfield(a, row);
		ub = config_cfield(b, row);
		return ua->tls == ub->tls && ua->port == ub->port &&
		    config_streq(ua->host, ub->host) &&
		    config_streq(ua->authority, ub->authority);
	}
	return 0;
}

int
config_reload_check(const struct config *old, const struct config *new,
    char *err, size_t errlen)
{
	const struct config_row *row;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (old == NULL || new == NULL) {
		config_errf(err, errlen, "no configuration to compare");
		return -1;
	}
	for (row = config_rows; row < config_rows + CONFIG_NROWS; row++) {
		if (row->flags & CONFIG_RLD)
			continue;
		if (!config_row_same(row, old, new)) {
			config_errf(err, errlen,
			    "%s: cannot change on reload, restart regward",
			    row->name);
			return -1;
		}
	}
	return 0;
}

void
config_free(struct config *cfg)
{
	const struct config_row *row;
	struct config_upstream *up;

	if (cfg == NULL)
		return;
	for (row = config_rows; row < config_rows + CONFIG_NROWS; row++) {
		switch (row->type) {
		case CONFIG_T_PATH:
		case CONFIG_T_PUBLIC_URL:
			config_store_str(cfg, row, NULL);
			break;
		case CONFIG_T_LISTEN:
			free(cfg->listen);
			free(cfg->listen_host);
			cfg->listen = cfg->listen_host = NULL;
			break;
		case CONFIG_T_JSON:
			json_decref(*(json_t **)config_field(cfg, row));
			*(json_t **)config_field(cfg, row) = NULL;
			break;
		case CONFIG_T_UPSTREAM_URL:
			up = config_field(cfg, row);
			free(up->url);
			free(up->host);
			free(up->authority);
			up->url = up->host = up->authority = NULL;
			break;
		default:
			break;
		}
	}
	free(cfg->path);
	free(cfg);
}
