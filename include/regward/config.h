/*
 * config: load and validate regward's JSON configuration file.
 *
 * One table drives the loader: one row per key with its JSON path, type,
 * default, bounds and whether SIGHUP may change it. Errors name the file,
 * the key path and what is wrong, e.g.
 *   regward.json: timeouts.header: must be a duration between 1s and 1h
 */
#ifndef REGWARD_CONFIG_H
#define REGWARD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CONFIG_ERR_MAX 512

struct config_tls {
	char *cert; /* PEM certificate chain path, NULL when TLS is off */
	char *key; /* PEM private key path */
};

struct config_upstream {
	char *url; /* as written, e.g. "http://127.0.0.1:5000" */
	int tls; /* 1 for https:// */
	char *host; /* "127.0.0.1" (brackets removed for IPv6) */
	uint16_t port; /* 5000; 80/443 when the URL has none */
	char
	    *authority; /* host[:port] as written in the URL: the Host header */
	char *ca_file; /* upstream.ca: CA bundle for https upstreams */
	unsigned pool_idle; /* upstream.pool_idle: idle connections kept */
};

struct config_limits {
	unsigned max_connections; /* limits.max_connections */
	size_t header_bytes; /* limits.header_bytes: request head */
	size_t upstream_header_bytes; /* limits.upstream_header_bytes */
	size_t high_water; /* limits.high_water: backpressure */
	size_t manifest_bytes; /* limits.manifest_bytes */
};

/* All timeouts in milliseconds. */
struct config_timeouts {
	unsigned header; /* timeouts.header: first byte to end of head */
	unsigned idle; /* timeouts.idle: keep-alive wait */
	unsigned body; /* timeouts.body: stall while streaming */
	unsigned upstream_connect; /* timeouts.upstream_connect */
	unsigned upstream_response; /* timeouts.upstream_response */
	unsigned drain; /* timeouts.drain: SIGTERM grace */
};

/* sandbox: what `regward serve` gives up once its listener is bound. */
struct config_sandbox {
	char *user; /* sandbox.user: name or uid to run as; NULL: stay */
	char *group; /* sandbox.group: NULL: the user's primary group */
	int seccomp; /* sandbox.seccomp: install the syscall filter (1) */
};

struct config {
	char *path; /* file this was loaded from */
	char *listen; /* "host:port" as written */
	char *listen_host; /* brackets removed */
	uint16_t listen_port; /* 0 = any free port */
	char *public_url; /* without trailing slash */
	char *database; /* SQLite file path */
	struct config_tls tls;
	struct config_upstream upstream;
	struct config_limits limits;
	struct config_timeouts timeouts;
	char *log_file; /* log.file: NULL or "-" for stdout */
	json_t *auth; /* "auth" as written, NULL when absent; checked
			 by auth_new() (gateway/auth.c) */
	json_t *policies; /* "policies" as written, NULL when absent;
			     checked by policy_set_load() */
	json_t *keys; /* "keys" as written, NULL when absent; checked by
			 admit_conf_load() (gateway/admit_verify.c) */
	json_t *admission; /* "admission" as written, NULL when absent */
	json_t *retention; /* "retention" as written, NULL when absent;
			      checked by retention_load() */
	unsigned audit_keep_days; /* audit.keep_days: 0 keeps audit rows */
	struct config_sandbox sandbox; /* gateway/sandbox.c */
};

/*
 * Load path into a new config. Returns 0 and sets *out (free with
 * config_free()), or -1 with *out NULL and a one-line message in
 * err[0..errlen) that starts with the file name. Unknown keys are errors,
 * so a typo never silently keeps a default.
 */
int config_load(
    const char *path, struct config **out, char *err, size_t errlen);

/* Same, from a JSON text in memory; name is used in messages. */
int config_load_buffer(const char *name, const char *text, size_t len,
    struct config **out, char *err, size_t errlen);

/*
 * Compare a running config with a reloaded one. Returns 0 when every
 * difference is in a key SIGHUP may change, else -1 with a message naming
 * the first key that needs a restart.
 */
int config_reload_check(const struct config *old, const struct config *new,
    char *err, size_t errlen);

/* Free cfg and everything it owns. config_free(NULL) is a no-op. */
void config_free(struct config *cfg);

#endif /* REGWARD_CONFIG_H */
