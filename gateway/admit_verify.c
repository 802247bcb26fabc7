/*
 * admit_verify: the admission decision for one manifest, and the config it
 * needs ("keys", "admission"). Blocking; runs in the admission workers and
 * in `regward explain`. docs/admission.md describes the rules.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "regward/db_admit.h"
#include "regward/scan.h"
#include "regward/sig.h"

#include "admit.h"

#define AV_LAYERS_MAX 64 /* signature layers looked at per manifest */
#define AV_PARENTS_MAX 8 /* indexes tried for a child */

static const char *const admit_reasons[] = {
    [ADMIT_SIGNED] = "signed",
    [ADMIT_VIA_INDEX] = "via_index",
    [ADMIT_ARTIFACT] = "artifact",
    [ADMIT_UNSIGNED] = "unsigned",
    [ADMIT_BAD_SIGNATURE] = "bad_signature",
    [ADMIT_UNTRUSTED_KEY] = "untrusted_key",
    [ADMIT_IDENTITY_MISMATCH] = "identity_mismatch",
    [ADMIT_SCAN_MISSING] = "scan_missing",
    [ADMIT_SCAN_FAILED] = "scan_failed",
    [ADMIT_SCAN_EXPIRED] = "scan_expired",
    [ADMIT_UNAVAILABLE] = "unavailable",
};

const char *
admit_reason_name(enum admit_reason r)
{
	if ((unsigned)r >= sizeof(admit_reasons) / sizeof(admit_reasons[0]))
		return "unknown";
	return admit_reasons[r];
}

void
admit_result_clear(struct admit_result *r)
{
	if (r == NULL)
		return;
	free(r->children);
	memset(r, 0, sizeof(*r));
}

/* ---- configuration ---------------------------------------------------- */

static int av_err(char *err, size_t errlen, const char *file, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
av_err(char *err, size_t errlen, const char *file, const char *key,
    const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s: %s", file, key, msg);
	return -1;
}

void
admit_conf_free(struct admit_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkeys; i++) {
		free(c->keys[i].name);
		free(c->keys[i].path);
		EVP_PKEY_free(c->keys[i].key);
	}
	free(c->keys);
	for (i = 0; i < c->nregistries; i++)
		free(c->registries[i]);
	free(c->registries);
	free(c->upstream_host);
	free(c->upstream_ca);
	free(c);
}

int
admit_needed(const struct policy_set *ps)
{
	size_t i;

	for (i = 0; ps != NULL && i < policy_set_count(ps); i++)
		if (policy_require(ps, (int)i) != NULL)
			return 1;
	return 0;
}

static int
av_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct admit_key *)a)->name,
	    ((const struct admit_key *)b)->name);
}

/* "keys": {"name": "/path/key.pub", ...}. Sorted by name. */
static int
av_load_keys(struct admit_conf *c, json_t *keys, char *err, size_t errlen)
{
	const char *name;
	json_t *v;
	char key[POLICY_NAME_MAX + 8], why[SIG_ERR_MAX];
	size_t n = 0;

	if (keys == NULL)
		return 0;
	if (!json_is_object(keys))
		return av_err(err, errlen, c->file, "keys",
		    "must be an object of key name to PEM public key file");
	if ((c->keys = calloc(json_object_size(keys) + 1, sizeof(*c->keys))) ==
	    NULL)
		return av_err(err, errlen, c->file, "keys", "out of memory");
	json_object_foreach(keys, name, v)
	{
		snprintf(key, sizeof(key), "keys.%s", name);
		if (name[0] == '\0' || strlen(name) >= POLICY_NAME_MAX)
			return av_err(err, errlen, c->file, "keys",
			    "key names must be 1 to %d bytes",
			    POLICY_NAME_MAX - 1);
		if (!json_is_string(v) || json_string_length(v) == 0)
			return av_err(err, errlen, c->file, key,
			    "must be the path of a PEM public key file");
		c->keys[n].name = strdup(name);
		c->keys[n].path = strdup(json_string_value(v));
		if (c->keys[n].name == NULL || c->keys[n].path == NULL) {
			c->nkeys = n + 1;
			return av_err(
			    err, errlen, c->file, key, "out of memory");
		}
		c->nkeys = ++n;
		if (sig_key_load_public_file(c->keys[n - 1].path,
			&c->keys[n - 1].key, why, sizeof(why)) != SIG_KEY_OK)
			return av_err(err, errlen, c->file, key, "%s", why);
	}
	qsort(c->keys, c->nkeys, sizeof(*c->keys), av_key_cmp);
	return 0;
}

static const struct admit_key *
av_key(const struct admit_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].name, name) == 0)
			return &c->keys[i];
	return NULL;
}

/* "30", "10s", "5m", "1h", "1d" -> seconds in [min, max]. */
static int
av_duration(const json_t *v, unsigned min, unsigned max, unsigned *out)
{
	unsigned long long n = 0, mult = 1;
	const char *s, *p;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < (json_int_t)min ||
		    json_integer_value(v) > (json_int_t)max)
			return -1;
		*out = (unsigned)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	for (p = s; isdigit((unsigned char)*p) && n < 100000000ULL; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (p == s)
		return -1;
	if (strcmp(p, "s") == 0)
		mult = 1;
	else if (strcmp(p, "m") == 0)
		mult = 60;
	else if (strcmp(p, "h") == 0)
		mult = 3600;
	else if (strcmp(p, "d") == 0)
		mult = 86400;
	else
		return -1;
	n *= mult;
	if (n < min || n > max)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int
av_add_registry(struct admit_conf *c, const char *host, size_t len)
{
	char **v = realloc(
	    c->registries, (c->nregistries + 1) * sizeof(*c->registries));

	if (v == NULL)
		return -1;
	c->registries = v;
	if ((v[c->nregistries] = strndup(host, len)) == NULL)
		return -1;
	c->nregistries++;
	return 0;
}

/* "admission": {identity_registries, cache_entries, cache_ttl, ...}. */
static int
av_load_admission(struct admit_conf *c, const struct config *cfg, json_t *adm,
    char *err, size_t errlen)
{
	const char *k, *p;
	json_t *v, *e;
	size_t i;
	char key[128];

	c->cache_entries = 10000;
	c->admit_ttl = 3600;
	c->deny_ttl = 10;
	c->workers = 2;
	if (adm != NULL && !json_is_object(adm))
		return av_err(
		    err, errlen, c->file, "admission", "must be an object");
	json_object_foreach(adm, k, v)
	{
		snprintf(key, sizeof(key), "admission.%s", k);
		if (strcmp(k, "identity_registries") == 0) {
			if (!json_is_array(v) || json_array_size(v) == 0)
				return av_err(err, errlen, c->file, key,
				    "must be a non-empty array of "
				    "\"host[:port]\" strings");
			json_array_foreach(v, i, e)
			{
				if (!json_is_string(e) ||
				    json_string_length(e) == 0 ||
				    json_string_length(e) >
					SIG_REF_REGISTRY_MAX ||
				    strpbrk(json_string_value(e), "/ @") !=
					NULL)
					return av_err(err, errlen, c->file, key,
					    "entry %zu must be a host[:port], "
					    "like registry.example.com",
					    i);
				if (av_add_registry(c, json_string_value(e),
					json_string_length(e)) == -1)
					return av_err(err, errlen, c->file, key,
					    "out of memory");
			}
		} else if (strcmp(k, "cache_entries") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 16 ||
			    json_integer_value(v) > 1000000)
				return av_err(err, errlen, c->file, key,
				    "must be an integer from 16 to 1000000");
			c->cache_entries = (unsigned)json_integer_value(v);
		} else if (strcmp(k, "cache_ttl") == 0) {
			if (av_duration(v, 1, 7 * 86400, &c->admit_ttl) == -1)
				return av_err(err, errlen, c->file, key,
				    "must be a duration from 1s to 7d");
		} else if (strcmp(k, "deny_ttl") == 0) {
			if (av_duration(v, 0, 3600, &c->deny_ttl) == -1)
				return av_err(err, errlen, c->file, key,
				    "must be a duration from 0s to 1h");
		} else if (strcmp(k, "workers") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 16)
				return av_err(err, errlen, c->file, key,
				    "must be an integer from 1 to 16");
			c->workers = (unsigned)json_integer_value(v);
		} else {
			return av_err(err, errlen, c->file, key,
			    "unknown key (identity_registries, cache_entries, "
			    "cache_ttl, deny_ttl, workers)");
		}
	}
	if (c->nregistries == 0) {
		/* public_url's authority: what clients put in references. */
		p = strstr(cfg->public_url, "://");
		p = p != NULL ? p + 3 : cfg->public_url;
		if (av_add_registry(c, p, strcspn(p, "/")) == -1)
			return av_err(
			    err, errlen, c->file, "admission", "out of memory");
	}
	return 0;
}

/* Revision: policies, key names and key bytes, identity registries. */
static int
av_revision(struct admit_conf *c)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char h[EVP_MAX_MD_SIZE], *der;
	unsigned hlen = 0;
	size_t i;
	int n, rc = -1;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	if (c->ps != NULL)
		EVP_DigestUpdate(md, policy_set_revision(c->ps),
		    strlen(policy_set_revision(c->ps)));
	for (i = 0; i < c->nkeys; i++) {
		der = NULL;
		EVP_DigestUpdate(
		    md, c->keys[i].name, strlen(c->keys[i].name) + 1);
		if ((n = i2d_PUBKEY(c->keys[i].key, &der)) <= 0)
			goto out;
		EVP_DigestUpdate(md, der, (size_t)n);
		OPENSSL_free(der);
	}
	for (i = 0; i < c->nregistries; i++)
		EVP_DigestUpdate(
		    md, c->registries[i], strlen(c->registries[i]) + 1);
	if (EVP_DigestFinal_ex(md, h, &hlen) != 1 || hlen < 8)
		goto out;
	for (i = 0; i < 8; i++)
		snprintf(c->revision + 2 * i, 3, "%02x", h[i]);
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
admit_conf_load(const struct config *cfg, const struct policy_set *ps,
    struct admit_conf **out, char *err, size_t errlen)
{
	struct admit_conf *c;
	const struct policy_require *req;
	size_t i, k;
	char key[96];

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return av_err(err, errlen, cfg->path, "keys", "out of memory");
	c->file = cfg->path;
	c->ps = ps;
	if (av_load_keys(c, cfg->keys, err, errlen) == -1 ||
	    av_load_admission(c, cfg, cfg->admission, err, errlen) == -1)
		goto bad;
	for (i = 0; ps != NULL && i < policy_set_count(ps); i++) {
		if ((req = policy_require(ps, (int)i)) == NULL)
			continue;
		for (k = 0; k < req->nsigned_by; k++) {
			if (av_key(c, req->signed_by[k]) != NULL)
				continue;
			snprintf(key, sizeof(key),
			    "policies[%zu].require.signed_by[%zu]", i, k);
			av_err(err, errlen, c->file, key,
			    "no key named \"%.64s\" in \"keys\"",
			    req->signed_by[k]);
			goto bad;
		}
	}
	c->upstream_host = strdup(cfg->upstream.authority);
	c->upstream_insecure = !cfg->upstream.tls;
	if (cfg->upstream.ca_file != NULL)
		c->upstream_ca = strdup(cfg->upstream.ca_file);
	c->manifest_max = cfg->limits.manifest_bytes;
	if (c->upstream_host == NULL ||
	    (cfg->upstream.ca_file != NULL && c->upstream_ca == NULL) ||
	    av_revision(c) == -1) {
		av_err(err, errlen, c->file, "keys", "out of memory");
		goto bad;
	}
	c->file = NULL; /* cfg may go before c does */
	*out = c;
	return 0;
bad:
	admit_conf_free(c);
	return -1;
}

struct registry *
admit_registry_new(const struct admit_conf *c, char *err, size_t errlen)
{
	struct registry_opts o;

	memset(&o, 0, sizeof(o));
	o.host = c->upstream_host;
	o.insecure = c->upstream_insecure;
	o.ca_cert = c->upstream_ca;
	o.user_agent = "regward-admission";
	o.connect_timeout_ms = 5000;
	o.timeout_ms = 30000;
	o.manifest_max =
	    c->manifest_max > SIG_MFST_MAX ? c->manifest_max : SIG_MFST_MAX;
	return registry_new(&o, err, errlen);
}

/* ---- the decision ----------------------------------------------------- */

/* State of one decision. */
struct av {
	const struct admit_conf *c;
	struct registry *reg;
	struct db *db;
	int record;
	const struct policy_require *req;
	const char *repo;
	long long now;
	admit_trace_fn trace;
	void *targ;
};

static void av_trace(const struct av *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
av_trace(const struct av *v, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (v->trace == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->trace(v->targ, line);
}

static void av_set(struct admit_result *r, enum admit_reason reason,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
av_set(struct admit_result *r, enum admit_reason reason, const char *fmt, ...)
{
	va_list ap;

	r->reason = reason;
	r->admit = reason == ADMIT_SIGNED || reason == ADMIT_VIA_INDEX ||
	    reason == ADMIT_ARTIFACT;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* What kind of manifest: 0 image, 1 index, 2 signature/attestation. */
enum av_kind { AV_IMAGE, AV_INDEX, AV_ARTIFACT, AV_BAD };

static int
av_artifact_type(const char *mt)
{
	return strcmp(mt, SIG_MT_SIMPLESIGNING) == 0 ||
	    strcmp(mt, "application/vnd.dsse.envelope.v1+json") == 0 ||
	    strcmp(mt, "application/vnd.in-toto+json") == 0;
}

static enum av_kind
av_classify(json_t *root, json_t **children)
{
	json_t *layers, *l, *mt;
	size_t i;

	*children = NULL;
	if (!json_is_object(root))
		return AV_BAD;
	if (json_is_array(*children = json_object_get(root, "manifests")))
		return AV_INDEX;
	*children = NULL;
	layers = json_object_get(root, "layers");
	if (!json_is_array(layers) || json_array_size(layers) == 0)
		return AV_IMAGE;
	json_array_foreach(layers, i, l)
	{
		mt = json_object_get(l, "mediaType");
		if (!json_is_string(mt) ||
		    !av_artifact_type(json_string_value(mt)))
			return AV_IMAGE;
	}
	return AV_ARTIFACT;
}

/* Is the payload's identity this repository under an accepted host? */
static int
av_identity_ok(const struct av *v, const char *identity, char *why, size_t wl)
{
	struct sig_ref ref;
	char perr[SIG_ERR_MAX];
	size_t i;

	if (sig_ref_parse(identity, 0, &ref, perr, sizeof(perr)) == -1) {
		snprintf(why, wl,
		    "identity \"%.120s\" is not a reference: %.300s", identity,
		    perr);
		return 0;
	}
	if (strcmp(ref.repo, v->repo) != 0) {
		snprintf(why, wl, "signed for repository %.200s, not %.200s",
		    ref.repo, v->repo);
		return 0;
	}
	for (i = 0; i < v->c->nregistries; i++)
		if (strcasecmp(ref.registry, v->c->registries[i]) == 0)
			return 1;
	snprintf(why, wl, "signed for registry %.200s, not %.200s%s",
	    ref.registry, v->c->registries[0],
	    v->c->nregistries > 1 ? " (or another listed)" : "");
	return 0;
}

/* Record a verified signature and its scan verdict. */
static void
av_record_sig(const struct av *v, const char *dgst,
    const struct sig_layer *layer, const struct sig_verify_out *vo,
    const struct scan_report *scan)
{
	struct db_signature s;
	struct db_scan sc;
	char err[256];

	if (v->db == NULL || !v->record)
		return;
	memset(&s, 0, sizeof(s));
	s.repository = v->repo;
	s.digest = dgst;
	s.payload_digest = layer->digest;
	s.key_name = vo->key_name;
	s.identity = vo->payload.identity;
	s.creator = vo->payload.creator;
	s.signed_at = vo->payload.has_timestamp ? vo->payload.timestamp : 0;
	s.verified_at = v->now;
	db_signature_record(v->db, &s, err, sizeof(err));
	if (scan == NULL)
		return;
	memset(&sc, 0, sizeof(sc));
	sc.repository = v->repo;
	sc.digest = dgst;
	sc.payload_digest = layer->digest;
	sc.scanner = scan->scanner;
	sc.scanner_version = scan->scanner_version;
	sc.db_version = scan->db_version;
	sc.critical = (long long)scan->counts[SCAN_SEV_CRITICAL];
	sc.high = (long long)scan->counts[SCAN_SEV_HIGH];
	sc.medium = (long long)scan->counts[SCAN_SEV_MEDIUM];
	sc.low = (long long)scan->counts[SCAN_SEV_LOW];
	sc.unknown = (long long)scan->counts[SCAN_SEV_UNKNOWN];
	sc.verdict = scan->fail ? "fail" : "pass";
	sc.finished_at = scan->finished_at != NULL ? scan->finished_at_unix : 0;
	sc.recorded_at = v->now;
	db_scan_record(v->db, &sc, err, sizeof(err));
}

/*
 * The scan requirement on a verified payload. Returns ADMIT_SIGNED when
 * met (or not required), else the scan reason with why set; *expires is
 * lowered to when a fresh verdict turns stale.
 */
static enum admit_reason
av_scan(const struct av *v, const struct sig_payload *pl,
    struct scan_report **scan, long long *expires, char *why, size_t wl)
{
	json_t *obj = pl->optional != NULL
	    ? json_object_get(pl->optional, SIG_OPTIONAL_SCAN)
	    : NULL;
	char perr[SIG_ERR_MAX];
	long long until;

	*scan = NULL;
	if (obj != NULL &&
	    scan_from_json(SIG_OPTIONAL_SCAN, obj, scan, perr, sizeof(perr)) ==
		-1) {
		if (v->req->scan) {
			snprintf(
			    why, wl, "scan verdict unreadable: %.400s", perr);
			return ADMIT_SCAN_MISSING;
		}
		return ADMIT_SIGNED;
	}
	if (!v->req->scan)
		return ADMIT_SIGNED;
	if (*scan == NULL) {
		snprintf(why, wl, "the signed payload carries no scan verdict");
		return ADMIT_SCAN_MISSING;
	}
	if ((*scan)->fail) {
		snprintf(why, wl,
		    "scan by %s failed: %zu critical, %zu high (fail-on %s)",
		    (*scan)->scanner, (*scan)->counts[SCAN_SEV_CRITICAL],
		    (*scan)->counts[SCAN_SEV_HIGH],
		    scan_sev_name((*scan)->fail_on));
		return ADMIT_SCAN_FAILED;
	}
	if (v->req->scan_max_age == 0)
		return ADMIT_SIGNED;
	if ((*scan)->finished_at == NULL) {
		snprintf(why, wl,
		    "the scan verdict has no finished_at, so its age is "
		    "unknown");
		return ADMIT_SCAN_EXPIRED;
	}
	until = (long long)(*scan)->finished_at_unix +
	    (long long)v->req->scan_max_age;
	if (until <= v->now) {
		snprintf(why, wl,
		    "scan finished at %s, older than max_age %llus",
		    (*scan)->finished_at,
		    (unsigned long long)v->req->scan_max_age);
		return ADMIT_SCAN_EXPIRED;
	}
	if (until < *expires)
		*expires = until;
	return ADMIT_SIGNED;
}

/* Rank of a refusal: the most telling one is reported. */
static int
av_rank(enum admit_reason r)
{
	switch (r) {
	case ADMIT_UNSIGNED:
		return 1;
	case ADMIT_UNTRUSTED_KEY:
		return 2;
	case ADMIT_BAD_SIGNATURE:
		return 3;
	case ADMIT_UNAVAILABLE:
		return 4;
	default: /* verified signature, failed identity or scan */
		return 5;
	}
}

/*
 * The manifest's own signatures: admitted (ADMIT_SIGNED) or the best
 * reason it is not.
 */
static void
av_signatures(const struct av *v, const char *dgst, struct admit_result *r)
{
	struct sig_trusted_key keys[POLICY_LIST_MAX];
	struct registry_mfst sm;
	struct registry_err rerr;
	struct sig_mfst *m = NULL;
	struct sig_verify_out vo;
	struct scan_report *scan;
	enum registry_status st;
	enum sig_verify_result vr;
	enum admit_reason best = ADMIT_UNSIGNED, cur;
	unsigned char *blob;
	size_t i, nkeys = 0, blen, looked = 0;
	char tag[SIG_REF_SIG_TAG_SIZE], why[ADMIT_DETAIL_MAX];
	char bestwhy[ADMIT_DETAIL_MAX], perr[SIG_ERR_MAX];
	long long expires;
	const struct admit_key *k;

	for (i = 0; i < v->req->nsigned_by && nkeys < POLICY_LIST_MAX; i++) {
		if ((k = av_key(v->c, v->req->signed_by[i])) == NULL)
			continue;
		keys[nkeys].name = k->name;
		keys[nkeys++].key = k->key;
	}
	snprintf(bestwhy, sizeof(bestwhy),
	    "no signature found (%s:sha256-....sig does not exist)", v->repo);
	memset(&sm, 0, sizeof(sm));
	if (sig_ref_sig_tag(dgst, tag, sizeof(tag)) == -1) {
		av_set(r, ADMIT_UNAVAILABLE, "digest %s is not sha256", dgst);
		return;
	}
	st = registry_manifest_get(v->reg, v->repo, tag, NULL, &sm, &rerr);
	if (st == REGISTRY_NOT_FOUND) {
		av_trace(v, "signatures: %s:%s not found", v->repo, tag);
		av_set(r, ADMIT_UNSIGNED, "no signature: %s:%s does not exist",
		    v->repo, tag);
		return;
	}
	if (st != REGISTRY_OK) {
		av_trace(
		    v, "signatures: fetching %s failed: %s", tag, rerr.msg);
		av_set(r, ADMIT_UNAVAILABLE,
		    "could not fetch the signatures from the registry: %s",
		    rerr.msg);
		return;
	}
	if (sig_mfst_parse(sm.body, sm.len, &m, perr, sizeof(perr)) == -1) {
		av_trace(v, "signatures: %s is malformed: %s", tag, perr);
		av_set(r, ADMIT_BAD_SIGNATURE,
		    "signature manifest %s is malformed: %s", tag, perr);
		registry_mfst_clear(&sm);
		return;
	}
	registry_mfst_clear(&sm);
	av_trace(v, "signatures: %s has %zu layer(s)", tag, m->nlayers);
	for (i = 0; i < m->nlayers && looked < AV_LAYERS_MAX; i++) {
		const struct sig_layer *l = &m->layers[i];

		if (l->media_type == NULL ||
		    strcmp(l->media_type, SIG_MT_SIMPLESIGNING) != 0) {
			av_trace(v, "  layer %zu: %s: not a signature, skipped",
			    i, l->media_type ? l->media_type : "?");
			continue;
		}
		looked++;
		blob = NULL;
		blen = 0;
		st = registry_blob_get(v->reg, v->repo, l->digest,
		    SIG_PAYLOAD_MAX, &blob, &blen, &rerr);
		why[0] = '\0';
		if (st == REGISTRY_DIGEST_MISMATCH ||
		    st == REGISTRY_NOT_FOUND || st == REGISTRY_TOO_LARGE ||
		    st == REGISTRY_INVALID) {
			cur = ADMIT_BAD_SIGNATURE;
			snprintf(why, sizeof(why), "payload blob %.80s: %s",
			    l->digest,
			    st == REGISTRY_DIGEST_MISMATCH
				? "content does not match its digest (tampered)"
				: registry_status_str(st));
		} else if (st != REGISTRY_OK) {
			cur = ADMIT_UNAVAILABLE;
			snprintf(why, sizeof(why),
			    "could not fetch payload blob: %.400s", rerr.msg);
		} else {
			vr = sig_verify_layer(dgst, l, blob, blen, keys, nkeys,
			    &vo, perr, sizeof(perr));
			cur = ADMIT_BAD_SIGNATURE;
			if (vr == SIG_VERIFY_UNTRUSTED_KEY) {
				cur = ADMIT_UNTRUSTED_KEY;
				snprintf(why, sizeof(why),
				    "signature does not verify under %s",
				    nkeys == 1 ? "the trusted key"
					       : "any trusted key");
			} else if (vr != SIG_VERIFY_OK) {
				snprintf(why, sizeof(why), "%s: %.400s",
				    sig_verify_result_name(vr), perr);
			} else if (!av_identity_ok(v, vo.payload.identity, why,
				       sizeof(why))) {
				cur = ADMIT_IDENTITY_MISMATCH;
			} else {
				expires = v->now + (long long)v->c->admit_ttl;
				cur = av_scan(v, &vo.payload, &scan, &expires,
				    why, sizeof(why));
				av_record_sig(v, dgst, l, &vo, scan);
				if (cur == ADMIT_SIGNED) {
					av_set(r, ADMIT_SIGNED,
					    "signed by %s (payload %.80s)%s",
					    vo.key_name, l->digest,
					    scan != NULL ? ", scan passed"
							 : "");
					snprintf(r->key, sizeof(r->key), "%s",
					    vo.key_name);
					r->expires = expires;
					av_trace(v,
					    "  layer %zu: valid, key %s", i,
					    vo.key_name);
				}
				scan_free(scan);
			}
			sig_verify_out_clear(&vo);
		}
		free(blob);
		if (r->admit)
			break;
		av_trace(
		    v, "  layer %zu: %s: %s", i, admit_reason_name(cur), why);
		if (av_rank(cur) > av_rank(best) ||
		    (best == ADMIT_UNSIGNED && cur != ADMIT_UNSIGNED)) {
			best = cur;
			snprintf(bestwhy, sizeof(bestwhy), "%s", why);
		}
	}
	sig_mfst_free(m);
	if (r->admit)
		return;
	if (best == ADMIT_UNSIGNED)
		snprintf(bestwhy, sizeof(bestwhy),
		    "%s holds no simple-signing layer", tag);
	av_set(r, best, "%s", bestwhy);
}

/* Children digests of an index (sha256 only), into r->children. */
static void
av_children(json_t *manifests, struct admit_result *r)
{
	json_t *e, *d;
	size_t i, n = json_array_size(manifests);

	if (n > ADMIT_CHILDREN_MAX)
		n = ADMIT_CHILDREN_MAX;
	if (n == 0 || (r->children = calloc(n, sizeof(*r->children))) == NULL)
		return;
	json_array_foreach(manifests, i, e)
	{
		if (r->nchildren == n)
			break;
		d = json_object_get(e, "digest");
		if (!json_is_string(d) ||
		    !sig_digest_valid(
			json_string_value(d), json_string_length(d)))
			continue;
		snprintf(r->children[r->nchildren++], ADMIT_DIGEST_MAX, "%s",
		    json_string_value(d));
	}
}

static void
av_record_verdict(const struct av *v, const char *dgst,
    const struct admit_result *r, const char *via)
{
	struct db_verdict d;
	char err[256];

	if (v->db == NULL || !v->record || !r->admit)
		return;
	memset(&d, 0, sizeof(d));
	d.repository = v->repo;
	d.digest = dgst;
	d.revision = v->c->revision;
	d.admit = 1;
	d.reason = admit_reason_name(via != NULL ? ADMIT_VIA_INDEX : r->reason);
	d.detail = r->detail;
	d.key_name = r->key[0] ? r->key : NULL;
	d.via = via;
	d.decided_at = v->now;
	d.expires_at = r->expires;
	db_verdict_record(v->db, &d, err, sizeof(err));
}

struct av_parents {
	char v[AV_PARENTS_MAX][ADMIT_DIGEST_MAX];
	size_t n;
};

static void
av_parent_cb(const char *parent, void *arg)
{
	struct av_parents *p = arg;

	if (p->n < AV_PARENTS_MAX && parent != NULL)
		snprintf(p->v[p->n++], ADMIT_DIGEST_MAX, "%s", parent);
}

/*
 * multiarch "index": is child listed by an index of this repository that
 * is admitted? Known parents come from the database (recorded when the
 * index was verified). Returns 1 and fills r when one admits it.
 */
static int
av_via_index(const struct av *v, const char *child, struct admit_result *r)
{
	struct av_parents ps;
	struct db_verdict_row row;
	struct registry_mfst pm;
	struct registry_err rerr;
	struct admit_result pr;
	json_t *root, *kids;
	char err[256];
	size_t i, k;
	int listed;

	if (v->db == NULL)
		return 0;
	memset(&ps, 0, sizeof(ps));
	if (db_children_parents(v->db, v->repo, child, AV_PARENTS_MAX,
		av_parent_cb, &ps, err, sizeof(err)) <= 0)
		return 0;
	for (i = 0; i < ps.n; i++) {
		if (db_verdict_lookup(v->db, v->repo, ps.v[i], v->c->revision,
			v->now, &row, err, sizeof(err)) == 1 &&
		    strcmp(row.reason, "signed") == 0) {
			av_set(r, ADMIT_VIA_INDEX,
			    "listed by index %s, which is %s", ps.v[i],
			    row.detail);
			snprintf(r->via, sizeof(r->via), "%s", ps.v[i]);
			snprintf(r->key, sizeof(r->key), "%s", row.key_name);
			r->expires = row.expires_at;
			av_trace(
			    v, "index: %s admits it (cached verdict)", ps.v[i]);
			return 1;
		}
		/* Not cached: verify that index now. */
		memset(&pm, 0, sizeof(pm));
		if (registry_manifest_get(v->reg, v->repo, ps.v[i], NULL, &pm,
			&rerr) != REGISTRY_OK)
			continue;
		root = json_loadb((const char *)pm.body, pm.len, 0, NULL);
		listed = 0;
		if (av_classify(root, &kids) == AV_INDEX)
			for (k = 0; k < json_array_size(kids); k++) {
				json_t *d = json_object_get(
				    json_array_get(kids, k), "digest");
				if (json_is_string(d) &&
				    strcmp(json_string_value(d), child) == 0)
					listed = 1;
			}
		json_decref(root);
		registry_mfst_clear(&pm);
		if (!listed)
			continue;
		memset(&pr, 0, sizeof(pr));
		av_trace(v, "index: checking %s, which lists it", ps.v[i]);
		av_signatures(v, ps.v[i], &pr);
		if (pr.admit) {
			av_record_verdict(v, ps.v[i], &pr, NULL);
			av_set(r, ADMIT_VIA_INDEX,
			    "listed by index %s, which is %s", ps.v[i],
			    pr.detail);
			snprintf(r->via, sizeof(r->via), "%s", ps.v[i]);
			snprintf(r->key, sizeof(r->key), "%s", pr.key);
			r->expires = pr.expires;
			return 1;
		}
	}
	return 0;
}

void
admit_verify(const struct admit_conf *c, struct registry *reg, struct db *db,
    int record, int pidx, const char *repo, const char *dgst, const void *mfst,
    size_t len, long long now, admit_trace_fn trace, void *targ,
    struct admit_result *out)
{
	struct av v;
	json_t *root, *kids = NULL;
	json_error_t jerr;
	enum av_kind kind;
	struct admit_result own;
	const char **names;
	size_t i;
	char err[256];

	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	v.c = c;
	v.reg = reg;
	v.db = db;
	v.record = record;
	v.repo = repo;
	v.now = now;
	v.trace = trace;
	v.targ = targ;
	out->expires = now + (long long)c->deny_ttl;
	if ((v.req = policy_require(c->ps, pidx)) == NULL) {
		av_set(out, ADMIT_SIGNED, "no require block");
		out->expires = now + (long long)c->admit_ttl;
		return;
	}
	root = json_loadb(mfst, len, JSON_REJECT_DUPLICATES, &jerr);
	kind = av_classify(root, &kids);
	if (kind == AV_BAD) {
		json_decref(root);
		av_set(out, ADMIT_BAD_SIGNATURE,
		    "the manifest is not a JSON object, so it cannot be "
		    "matched to a signature");
		return;
	}
	av_trace(&v, "manifest: %s %s (%s)", repo, dgst,
	    kind == AV_INDEX	      ? "index"
		: kind == AV_ARTIFACT ? "signature or attestation"
				      : "image");
	if (kind == AV_ARTIFACT) {
		json_decref(root);
		av_set(out, ADMIT_ARTIFACT,
		    "a signature or attestation manifest (not runnable)");
		out->expires = now + (long long)c->admit_ttl;
		return;
	}
	av_signatures(&v, dgst, out);
	if (out->admit) {
		if (kind == AV_INDEX) {
			av_children(kids, out);
			if (db != NULL && record && out->nchildren > 0 &&
			    (names = calloc(out->nchildren, sizeof(*names))) !=
				NULL) {
				for (i = 0; i < out->nchildren; i++)
					names[i] = out->children[i];
				db_children_record(db, repo, dgst, names,
				    out->nchildren, err, sizeof(err));
				free(names);
			}
			if (v.req->multiarch == POLICY_MULTIARCH_INDEX)
				for (i = 0; i < out->nchildren; i++)
					av_record_verdict(
					    &v, out->children[i], out, dgst);
			else
				out->nchildren = 0; /* each signs its own */
		}
		av_record_verdict(&v, dgst, out, NULL);
		json_decref(root);
		return;
	}
	json_decref(root);
	if (kind == AV_IMAGE && v.req->multiarch == POLICY_MULTIARCH_INDEX &&
	    out->reason != ADMIT_UNAVAILABLE) {
		own = *out;
		if (av_via_index(&v, dgst, out)) {
			av_record_verdict(&v, dgst, out, out->via);
			return;
		}
		*out = own;
	}
	out->expires = now + (long long)c->deny_ttl;
}
