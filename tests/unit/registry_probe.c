/*
 * registry_probe: drive the registry client against a live registry, for
 * tests/integration/t_registry_client.sh. Not installed.
 *
 *   registry_probe [-k] [-c CA] [-u USER] [-x STATUS] HOST REPO
 *
 *   -k         insecure: plain http
 *   -c CA      CA bundle for https
 *   -u USER    read the password from stdin (--password-stdin); otherwise
 *              credentials come from REGWARD_USERNAME/REGWARD_PASSWORD,
 *              then docker's config.json, else anonymous
 *   -x STATUS  expect the first operation to fail with STATUS (a
 *              registry_status_str() name) instead of doing the round trip
 *   -g DIGEST  only GET blob DIGEST (at most 1 MiB) and expect success
 *
 * The round trip: check /v2/; upload two fresh blobs (a second upload of
 * the same bytes must be skipped); HEAD and GET them back; put an OCI
 * manifest by tag, then a second one under a cosign-style tag; get both
 * by tag and by digest and compare bytes and digests; and check the
 * not-found, size-cap and digest-mismatch paths. Prints one line per step;
 * exits 0 when every step behaved, 1 otherwise, 2 on usage errors.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regward/registry.h"

#define REGISTRY_PROBE_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REGISTRY_PROBE_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define REGISTRY_PROBE_MT_LAYER "application/vnd.oci.image.layer.v1.tar"

static int registry_probe_failures;

static void registry_probe_step(int ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
registry_probe_step(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		registry_probe_failures++;
}

/* Expect status want from an operation; print the message if not. */
static int
registry_probe_expect(const char *what, enum registry_status got,
    enum registry_status want, const struct registry_err *e)
{
	registry_probe_step(got == want, "%s: %s%s%s", what,
	    registry_status_str(got), e->msg[0] != '\0' ? ": " : "", e->msg);
	return got == want ? 0 : -1;
}

static void
registry_probe_usage(void)
{
	fprintf(stderr,
	    "usage: registry_probe [-k] [-c CA] [-u USER] "
	    "[-x STATUS | -g DIGEST] HOST REPO\n");
	exit(2);
}

static int
registry_probe_status(const char *name, enum registry_status *st)
{
	int i;

	for (i = 0; i <= REGISTRY_NOMEM; i++) {
		if (strcmp(registry_status_str((enum registry_status)i),
			name) == 0) {
			*st = (enum registry_status)i;
			return 0;
		}
	}
	return -1;
}

/* Manifest naming config and layer; returns a string to free(). */
static char *
registry_probe_manifest(const char *cfg, size_t cfglen, const char *layer,
    size_t layerlen, const char *note)
{
	size_t len = 1024 + strlen(cfg) + strlen(layer) + strlen(note);
	char *m;
	int n;

	if ((m = malloc(len)) == NULL)
		return NULL;
	n = snprintf(m, len,
	    "{\"schemaVersion\":2,\"mediaType\":\"%s\","
	    "\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
	    "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]"
	    ","
	    "\"annotations\":{\"note\":\"%s\"}}",
	    REGISTRY_PROBE_MT_MANIFEST, REGISTRY_PROBE_MT_CONFIG, cfg, cfglen,
	    REGISTRY_PROBE_MT_LAYER, layer, layerlen, note);
	if (n < 0 || (size_t)n >= len) {
		free(m);
		return NULL;
	}
	return m;
}

/* GET by ref and compare with what was put. */
static void
registry_probe_get_same(struct registry *reg, const char *repo, const char *ref,
    const char *want, const char *want_dgst)
{
	struct registry_mfst m;
	struct registry_err e;
	enum registry_status st;

	memset(&m, 0, sizeof(m));
	st = registry_manifest_get(reg, repo, ref, NULL, &m, &e);
	if (registry_probe_expect("GET manifest", st, REGISTRY_OK, &e) == -1)
		return;
	registry_probe_step(
	    m.len == strlen(want) && memcmp(m.body, want, m.len) == 0,
	    "GET %s: same %zu bytes as put", ref, m.len);
	registry_probe_step(strcmp(m.dgst, want_dgst) == 0,
	    "GET %s: computed digest %s", ref, m.dgst);
	registry_probe_step(
	    strcmp(m.hdr_dgst, want_dgst) == 0 && !m.hdr_mismatch,
	    "GET %s: Docker-Content-Digest %s", ref, m.hdr_dgst);
	registry_probe_step(
	    strcmp(m.media_type, REGISTRY_PROBE_MT_MANIFEST) == 0,
	    "GET %s: Content-Type %s", ref, m.media_type);
	registry_mfst_clear(&m);
}

static void
registry_probe_round_trip(
    struct registry *reg, const struct registry_opts *o, const char *repo)
{
	char cfg[256], layer[256], *mfst = NULL, *sig = NULL;
	char cdgst[REGISTRY_DIGEST_MAX], ldgst[REGISTRY_DIGEST_MAX];
	char mdgst[REGISTRY_DIGEST_MAX], sdgst[REGISTRY_DIGEST_MAX];
	char sigtag[REGISTRY_DIGEST_MAX + 16], missing[REGISTRY_DIGEST_MAX];
	struct registry_opts small;
	struct registry_desc d;
	struct registry_err e;
	struct registry_mfst m;
	struct registry *reg2;
	enum registry_status st;
	unsigned char *blob = NULL;
	size_t bloblen = 0;
	int skipped = -1;

	st = registry_check(reg, &e);
	if (registry_probe_expect("GET /v2/", st, REGISTRY_OK, &e) == -1)
		return;

	/* Fresh bytes every run, so that the first upload is a real one. */
	snprintf(cfg, sizeof(cfg),
	    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"probe\":\"%ld-%"
	    "d\"}",
	    (long)time(NULL), (int)getpid());
	snprintf(layer, sizeof(layer), "layer bytes %ld-%d\n", (long)time(NULL),
	    (int)getpid());
	st =
	    registry_blob_put(reg, repo, cfg, strlen(cfg), cdgst, &skipped, &e);
	registry_probe_expect("upload config blob", st, REGISTRY_OK, &e);
	registry_probe_step(
	    skipped == 0, "first upload not skipped (%d)", skipped);
	st =
	    registry_blob_put(reg, repo, cfg, strlen(cfg), cdgst, &skipped, &e);
	registry_probe_expect("upload config blob again", st, REGISTRY_OK, &e);
	registry_probe_step(
	    skipped == 1, "second upload skipped (%d)", skipped);
	st =
	    registry_blob_put(reg, repo, layer, strlen(layer), ldgst, NULL, &e);
	registry_probe_expect("upload layer blob", st, REGISTRY_OK, &e);

	st = registry_blob_head(reg, repo, ldgst, &d, &e);
	registry_probe_expect("HEAD blob", st, REGISTRY_OK, &e);
	registry_probe_step(
	    d.has_size && d.size == strlen(layer) && strcmp(d.dgst, ldgst) == 0,
	    "HEAD blob: size %llu, digest %s", (unsigned long long)d.size,
	    d.dgst);
	st = registry_blob_get(reg, repo, cdgst, 1 << 20, &blob, &bloblen, &e);
	if (registry_probe_expect("GET blob", st, REGISTRY_OK, &e) == 0)
		registry_probe_step(
		    bloblen == strlen(cfg) && memcmp(blob, cfg, bloblen) == 0,
		    "GET blob: same bytes");
	free(blob);
	blob = NULL;
	st = registry_blob_get(
	    reg, repo, cdgst, strlen(cfg) - 1, &blob, &bloblen, &e);
	registry_probe_expect(
	    "GET blob over its cap", st, REGISTRY_TOO_LARGE, &e);
	snprintf(missing, sizeof(missing), "sha256:%064d", 0);
	st = registry_blob_get(reg, repo, missing, 1024, &blob, &bloblen, &e);
	registry_probe_expect("GET missing blob", st, REGISTRY_NOT_FOUND, &e);
	registry_probe_step(strcmp(e.oci_code, "BLOB_UNKNOWN") == 0,
	    "missing blob: code %s", e.oci_code);
	st = registry_blob_head(reg, repo, missing, NULL, &e);
	registry_probe_expect("HEAD missing blob", st, REGISTRY_NOT_FOUND, &e);

	/* Manifest by tag. */
	if ((mfst = registry_probe_manifest(
		 cdgst, strlen(cfg), ldgst, strlen(layer), "image")) == NULL)
		goto out;
	st = registry_manifest_put(reg, repo, "v1", REGISTRY_PROBE_MT_MANIFEST,
	    mfst, strlen(mfst), mdgst, &e);
	registry_probe_expect("PUT manifest v1", st, REGISTRY_OK, &e);
	registry_probe_get_same(reg, repo, "v1", mfst, mdgst);
	registry_probe_get_same(reg, repo, mdgst, mfst, mdgst);
	st = registry_manifest_head(reg, repo, "v1", NULL, &d, &e);
	registry_probe_expect("HEAD manifest", st, REGISTRY_OK, &e);
	registry_probe_step(
	    strcmp(d.dgst, mdgst) == 0 && d.has_size && d.size == strlen(mfst),
	    "HEAD manifest: digest %s size %llu", d.dgst,
	    (unsigned long long)d.size);

	/* A cosign-style signature tag, put by tag, read by digest. */
	snprintf(sigtag, sizeof(sigtag), "sha256-%s.sig", mdgst + 7);
	if ((sig = registry_probe_manifest(cdgst, strlen(cfg), ldgst,
		 strlen(layer), "signature")) == NULL)
		goto out;
	st = registry_manifest_put(reg, repo, sigtag,
	    REGISTRY_PROBE_MT_MANIFEST, sig, strlen(sig), sdgst, &e);
	registry_probe_expect("PUT signature manifest", st, REGISTRY_OK, &e);
	registry_probe_get_same(reg, repo, sigtag, sig, sdgst);
	/* And by digest reference. */
	st = registry_manifest_put(reg, repo, sdgst, REGISTRY_PROBE_MT_MANIFEST,
	    sig, strlen(sig), mdgst, &e);
	registry_probe_expect("PUT manifest by digest", st, REGISTRY_OK, &e);
	registry_probe_step(
	    strcmp(mdgst, sdgst) == 0, "PUT by digest: %s", mdgst);

	/* Not found: a tag nobody pushed. */
	memset(&m, 0, sizeof(m));
	st = registry_manifest_get(reg, repo, "no-such-tag", NULL, &m, &e);
	registry_probe_expect(
	    "GET missing manifest", st, REGISTRY_NOT_FOUND, &e);
	registry_probe_step(strcmp(e.oci_code, "MANIFEST_UNKNOWN") == 0 &&
		e.http_status == 404 && strstr(e.msg, "no-such-tag") != NULL,
	    "missing manifest: code %s, status %d", e.oci_code, e.http_status);
	st = registry_manifest_head(reg, repo, "no-such-tag", NULL, NULL, &e);
	registry_probe_expect(
	    "HEAD missing manifest", st, REGISTRY_NOT_FOUND, &e);
	/* A manifest whose layer the repository lacks. */
	free(sig);
	if ((sig = registry_probe_manifest(
		 cdgst, strlen(cfg), missing, 1, "broken")) == NULL)
		goto out;
	st = registry_manifest_put(reg, repo, "broken",
	    REGISTRY_PROBE_MT_MANIFEST, sig, strlen(sig), NULL, &e);
	registry_probe_expect(
	    "PUT manifest naming a missing blob", st, REGISTRY_PROTOCOL, &e);
	registry_probe_step(strcmp(e.oci_code, "MANIFEST_BLOB_UNKNOWN") == 0,
	    "missing layer: code %s", e.oci_code);

	/* The manifest cap, on a second client. */
	small = *o;
	small.manifest_max = 16;
	if ((reg2 = registry_new(&small, e.msg, sizeof(e.msg))) != NULL) {
		st = registry_manifest_get(reg2, repo, "v1", NULL, &m, &e);
		registry_probe_expect(
		    "GET manifest over its cap", st, REGISTRY_TOO_LARGE, &e);
		registry_free(reg2);
	}
out:
	free(mfst);
	free(sig);
}

int
main(int argc, char *argv[])
{
	struct registry_cred *cred = NULL;
	struct registry_opts o;
	struct registry_err e;
	struct registry *reg = NULL;
	enum registry_status want = REGISTRY_OK, st;
	const char *user = NULL, *expect = NULL, *get = NULL;
	char err[512];
	int ch, rc = 1;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt(argc, argv, "kc:u:x:g:")) != -1) {
		switch (ch) {
		case 'k':
			o.insecure = 1;
			break;
		case 'c':
			o.ca_cert = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'x':
			expect = optarg;
			break;
		case 'g':
			get = optarg;
			break;
		default:
			registry_probe_usage();
		}
	}
	if (argc - optind != 2)
		registry_probe_usage();
	if (expect != NULL && registry_probe_status(expect, &want) == -1)
		registry_probe_usage();
	o.host = argv[optind];
	if (user != NULL) {
		if (registry_cred_from_file(
			stdin, user, &cred, err, sizeof(err)) == -1) {
			fprintf(stderr, "registry_probe: %s\n", err);
			goto out;
		}
	} else if (registry_cred_default(o.host, &cred, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "registry_probe: %s\n", err);
		goto out;
	}
	printf("credentials: %s\n",
	    cred == NULL	       ? "none"
		: cred->source != NULL ? cred->source
				       : "?");
	o.cred = cred;
	o.timeout_ms = 30000;
	if ((reg = registry_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "registry_probe: %s\n", err);
		goto out;
	}
	if (get != NULL) {
		unsigned char *blob = NULL;
		size_t len = 0;

		st = registry_blob_get(
		    reg, argv[optind + 1], get, 1 << 20, &blob, &len, &e);
		registry_probe_expect("GET blob", st, REGISTRY_OK, &e);
		registry_probe_step(
		    st == REGISTRY_OK, "GET blob: %zu bytes", len);
		free(blob);
	} else if (expect != NULL) {
		int skipped;

		st = registry_blob_put(
		    reg, argv[optind + 1], "x", 1, NULL, &skipped, &e);
		registry_probe_expect("upload blob", st, want, &e);
	} else {
		registry_probe_round_trip(reg, &o, argv[optind + 1]);
	}
	rc = registry_probe_failures == 0 ? 0 : 1;
out:
	registry_free(reg);
	registry_cred_free(cred);
	return rc;
}
