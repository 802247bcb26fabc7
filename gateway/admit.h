/*
 * admit: pull admission. A manifest is served only when the policy that
 * matches its repository is satisfied: signed by a trusted key, with the
 * right identity, and (per policy) a passing, fresh scan verdict inside
 * the signed payload (docs/admission.md).
 *
 * Two layers:
 *   - admit_verify() (admit_verify.c) decides for one manifest, blocking,
 *     over a registry client to the upstream: it fetches the ".sig"
 *     manifest and its payload blobs and checks them. The admission
 *     workers call it, and so does `regward explain`, with a trace.
 *   - struct admit (admit.c) runs those checks off the event loop in a
 *     few worker threads, caches verdicts in memory (bounded, LRU) and in
 *     SQLite (admitting verdicts only), coalesces concurrent checks of the
 *     same manifest and hands results back to the loop through an eventfd.
 *
 * A verdict holds for (repository, digest, revision): the revision
 * changes with the policies, the key files and the identity settings.
 */
#ifndef REGWARD_ADMIT_H
#define REGWARD_ADMIT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "regward/config.h"
#include "regward/db.h"
#include "regward/policy.h"
#include "regward/registry.h"

struct event_base;

#define ADMIT_DETAIL_MAX 512
#define ADMIT_DIGEST_MAX 80 /* "sha256:" + 64 hex + NUL, with room */
#define ADMIT_CHILDREN_MAX 256 /* children of an index admitted with it */

enum admit_reason {
	ADMIT_SIGNED = 0, /* admitted: a trusted signature (and scan) */
	ADMIT_VIA_INDEX, /* admitted: listed by a verified index */
	ADMIT_ARTIFACT, /* admitted: a signature or attestation manifest */
	ADMIT_UNSIGNED, /* no signature at all */
	ADMIT_BAD_SIGNATURE, /* a signature that is broken or tampered with */
	ADMIT_UNTRUSTED_KEY, /* well formed, but no trusted key verifies it */
	ADMIT_IDENTITY_MISMATCH, /* signed for another repository */
	ADMIT_SCAN_MISSING, /* require.scan, and no verdict in the payload */
	ADMIT_SCAN_FAILED, /* the verdict is "fail" */
	ADMIT_SCAN_EXPIRED, /* the verdict is older than require.scan.max_age */
	ADMIT_UNAVAILABLE, /* could not check: upstream or internal failure */
};

/* "signed", "via_index", "artifact", "unsigned", "bad_signature", ... */
const char *admit_reason_name(enum admit_reason r);

/* A trusted public key from the config's "keys" map. */
struct admit_key {
	char *name;
	char *path;
	EVP_PKEY *key;
};

/*
 * Everything admission needs from the config, loaded once and read-only
 * after (shared by the workers). ps is borrowed from the caller (auth).
 */
struct admit_conf {
	const char *file; /* config path, for messages; borrowed */
	const struct policy_set *ps;
	struct admit_key *keys;
	size_t nkeys;
	char **registries; /* identity hosts accepted, "host[:port]" */
	size_t nregistries;
	unsigned cache_entries; /* admission.cache_entries */
	unsigned admit_ttl; /* seconds an admitting verdict is cached */
	unsigned deny_ttl; /* seconds a refusing verdict is cached */
	unsigned workers; /* admission.workers */
	char revision[17];
	/* For the workers' registry clients: the upstream. */
	char *upstream_host;
	int upstream_insecure;
	char *upstream_ca;
	size_t manifest_max;
	int refs; /* admit.c: the engine and the workers using it */
};

/*
 * Load and check "keys" and "admission" of cfg against the policies ps
 * (borrowed; may be NULL when there are none): every require.signed_by
 * name must be a key, every key file an EC P-256 public key. Returns 0
 * and sets *out (free with admit_conf_free()), or -1 with one line in err
 * naming the file and key, e.g. "regward.json: keys.ci: /etc/k.pub: not
 * an EC P-256 public key".
 */
int admit_conf_load(const struct config *cfg, const struct policy_set *ps,
    struct admit_conf **out, char *err, size_t errlen);
void admit_conf_free(struct admit_conf *c);

/* 1 if any policy of ps has a require block. */
int admit_needed(const struct policy_set *ps);

/* The outcome for one manifest. */
struct admit_result {
	int admit; /* 1: serve it */
	enum admit_reason reason;
	char detail[ADMIT_DETAIL_MAX]; /* one line: what was found */
	char key[POLICY_NAME_MAX]; /* key that verified, "" if none */
	char via[ADMIT_DIGEST_MAX]; /* index that admitted a child, or "" */
	long long expires; /* Unix seconds after which to check again */
	char (*children)[ADMIT_DIGEST_MAX]; /* an admitted index's children */
	size_t nchildren;
};

void admit_result_clear(struct admit_result *r);

/* Trace hook for `regward explain`: one line per call, no newline. */
typedef void (*admit_trace_fn)(void *arg, const char *line);

/*
 * Decide on manifest mfst[0..len) with digest dgst, served from repo under
 * policy index pidx (which must have a require block). reg talks to the
 * upstream. db, when not NULL, is used to find the indexes that list a
 * child (multiarch "index") and, with record set, to record signatures,
 * scan verdicts, children and admitting verdicts. now is the wall clock.
 * out is cleared on entry and always filled. Thread-safe for distinct reg
 * and db.
 */
void admit_verify(const struct admit_conf *c, struct registry *reg,
    struct db *db, int record, int pidx, const char *repo, const char *dgst,
    const void *mfst, size_t len, long long now, admit_trace_fn trace,
    void *targ, struct admit_result *out);

/* A registry client for the upstream, as the workers use. */
struct registry *admit_registry_new(
    const struct admit_conf *c, char *err, size_t errlen);

/* ---- the engine (admit.c) ------------------------------------------ */

struct admit;
struct admit_wait;

/* A result for a waiting request; r is borrowed for the call. */
typedef void (*admit_cb)(const struct admit_result *r, void *arg);

/*
 * Start the engine: conf is taken over (freed by admit_free()). db_path
 * is the SQLite file each worker opens. NULL with err set on failure.
 */
struct admit *admit_new(struct event_base *base, struct admit_conf *conf,
    const char *db_path, char *err, size_t errlen);
void admit_free(struct admit *a);

/*
 * SIGHUP: use conf (taken over) from now on. Checks already running
 * finish with the old one; their answers are not cached, and the memory
 * cache is emptied (the revision changed, or may have).
 */
void admit_reload(struct admit *a, struct admit_conf *conf);

/*
 * Check a manifest. When the memory cache has a verdict: returns 1 and
 * fills *out (children not included). Otherwise the check is queued
 * (joined to one already running for the same manifest): returns 0 and
 * sets *w; cb(arg) runs later on the loop unless admit_cancel(*w) is
 * called first. Returns -1 when the queue is full or memory runs out.
 * mfst is copied.
 */
int admit_check(struct admit *a, int pidx, const char *repo, const char *dgst,
    const void *mfst, size_t len, admit_cb cb, void *arg,
    struct admit_result *out, struct admit_wait **w);

/* The request went away: its callback will not run. */
void admit_cancel(struct admit_wait *w);

/*
 * A signature for (repo, dgst) was pushed or deleted: forget verdicts for
 * it (and for children admitted through it), in memory and in SQLite.
 */
void admit_invalidate(struct admit *a, const char *repo, const char *dgst);

/*
 * What the upstream says tag of repo points to now: cb(found, dgst, why,
 * arg) with found 1 (dgst set), 0 (no such tag) or -1 (could not ask; why
 * says so). For immutable tags. Returns 0 and sets *w (cancel with
 * admit_cancel()), or -1 when the queue is full.
 */
typedef void (*admit_tag_cb)(
    int found, const char *dgst, const char *why, void *arg);
int admit_tag_lookup(struct admit *a, const char *repo, const char *tag,
    admit_tag_cb cb, void *arg, struct admit_wait **w);

/* Counters for /metrics. */
struct admit_stats {
	unsigned long long hits, misses, admitted, refused;
	size_t cached;
};
void admit_get_stats(const struct admit *a, struct admit_stats *st);

#endif /* REGWARD_ADMIT_H */
