/*
 * sig_mfst: the signature "image" stored at tag sha256-<hex>.sig
 * (cosign-format.md §2): an OCI manifest with one simple-signing layer per
 * signature, each carrying its base64 signature in a layer annotation,
 * and a dummy image config whose diff_ids list the layer digests.
 *
 * Parsing is bounded (bytes, layers) and refuses Docker media types as
 * containers/image does. Appending follows cosign (go-containerregistry's
 * mutate.Append): keep what is there, add one layer, one diff_id and one
 * history entry; skip when the same payload and signature are present.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "regward/sig.h"

#define SIG_MFST_DIGEST_MAX 255 /* a descriptor's digest string, bytes */
#define SIG_MFST_ZERO_TIME "0001-01-01T00:00:00Z"

void
sig_mfst_layer_clear(struct sig_layer *layer)
{
	if (layer == NULL)
		return;
	free(layer->media_type);
	free(layer->digest);
	free(layer->signature);
	json_decref(layer->annotations);
	memset(layer, 0, sizeof(*layer));
}

void
sig_mfst_free(struct sig_mfst *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nlayers; i++)
		sig_mfst_layer_clear(&m->layers[i]);
	free(m->layers);
	free(m->config_digest);
	free(m);
}

void
sig_mfst_update_clear(struct sig_mfst_update *upd)
{
	if (upd == NULL)
		return;
	free(upd->mfst);
	free(upd->config);
	memset(upd, 0, sizeof(*upd));
}

/* Read a descriptor's digest and size (shared by config and layers). */
static int
sig_mfst_desc_common(const json_t *desc, const char *what, const char **dgst,
    uint64_t *size, char *err, size_t errlen)
{
	const json_t *d, *s;
	size_t dlen;

	*dgst = NULL;
	*size = 0;
	if (!json_is_object(desc)) {
		sig_err_set(err, errlen,
		    "signature manifest: %s is missing or not an object", what);
		return -1;
	}
	d = json_object_get(desc, "digest");
	if (!json_is_string(d) || (dlen = json_string_length(d)) == 0 ||
	    dlen > SIG_MFST_DIGEST_MAX ||
	    strlen(json_string_value(d)) != dlen ||
	    strchr(json_string_value(d), ':') == NULL) {
		sig_err_set(err, errlen,
		    "signature manifest: %s digest must be \"algorithm:hex\"",
		    what);
		return -1;
	}
	s = json_object_get(desc, "size");
	if (!json_is_integer(s) || json_integer_value(s) < 0) {
		sig_err_set(err, errlen,
		    "signature manifest: %s size must be a non-negative "
		    "integer",
		    what);
		return -1;
	}
	*dgst = json_string_value(d);
	*size = (uint64_t)json_integer_value(s);
	return 0;
}

int
sig_mfst_layer_from_json(
    json_t *desc, struct sig_layer *layer, char *err, size_t errlen)
{
	json_t *mt, *ann, *v;
	const char *dgst, *k;
	uint64_t size;
	int rc = -1;

	memset(layer, 0, sizeof(*layer));
	if (sig_mfst_desc_common(desc, "layer", &dgst, &size, err, errlen) != 0)
		goto out;
	mt = json_object_get(desc, "mediaType");
	if (!json_is_string(mt) || json_string_length(mt) == 0) {
		sig_err_set(err, errlen,
		    "signature manifest: layer mediaType must be a string");
		goto out;
	}
	ann = json_object_get(desc, "annotations");
	if (ann != NULL && !json_is_object(ann)) {
		sig_err_set(err, errlen,
		    "signature manifest: layer annotations must be an object");
		goto out;
	}
	if (ann != NULL) {
		json_object_foreach(ann, k, v)
		{
			if (!json_is_string(v)) {
				sig_err_set(err, errlen,
				    "signature manifest: layer annotation "
				    "values must be strings");
				goto out;
			}
		}
	}
	if ((layer->media_type = strdup(json_string_value(mt))) == NULL ||
	    (layer->digest = strdup(dgst)) == NULL)
		goto nomem;
	layer->size = size;
	if (ann != NULL) {
		v = json_object_get(ann, SIG_ANN_SIGNATURE);
		if (v != NULL &&
		    (layer->signature = strdup(json_string_value(v))) == NULL)
			goto nomem;
		layer->has_bundle =
		    json_object_get(ann, SIG_ANN_BUNDLE) != NULL;
		layer->has_certificate =
		    json_object_get(ann, SIG_ANN_CERTIFICATE) != NULL;
		layer->annotations = json_incref(ann);
	}
	rc = 0;
	goto out;
nomem:
	sig_err_set(err, errlen, "signature manifest: out of memory");
out:
	if (rc != 0)
		sig_mfst_layer_clear(layer);
	return rc;
}

/* Check the manifest's top level; returns its layers array (borrowed). */
static json_t *
sig_mfst_check_top(const json_t *root, const char **cdgst, uint64_t *csize,
    char *err, size_t errlen)
{
	const json_t *sv, *mt;
	json_t *layers;

	if (!json_is_object(root)) {
		sig_err_set(
		    err, errlen, "signature manifest: not a JSON object");
		return NULL;
	}
	sv = json_object_get(root, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
		sig_err_set(
		    err, errlen, "signature manifest: schemaVersion must be 2");
		return NULL;
	}
	mt = json_object_get(root, "mediaType");
	if (mt != NULL &&
	    (!json_is_string(mt) ||
		strcmp(json_string_value(mt), SIG_MT_OCI_MANIFEST) != 0)) {
		sig_err_set(err, errlen,
		    "signature manifest: mediaType is "
		    "not " SIG_MT_OCI_MANIFEST);
		return NULL;
	}
	if (sig_mfst_desc_common(json_object_get(root, "config"), "config",
		cdgst, csize, err, errlen) != 0)
		return NULL;
	layers = json_object_get(root, "layers");
	if (!json_is_array(layers)) {
		sig_err_set(
		    err, errlen, "signature manifest: layers must be an array");
		return NULL;
	}
	if (json_array_size(layers) > SIG_MFST_LAYERS_MAX) {
		sig_err_set(err, errlen,
		    "signature manifest: more than %d layers",
		    SIG_MFST_LAYERS_MAX);
		return NULL;
	}
	return layers;
}

/* Parse JSON bytes with the manifest bounds. */
static json_t *
sig_mfst_load(
    const void *buf, size_t len, const char *what, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (len > SIG_MFST_MAX) {
		sig_err_set(err, errlen, "%s: larger than %zu bytes", what,
		    SIG_MFST_MAX);
		return NULL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		sig_err_set(err, errlen, "%s: invalid JSON at byte %d: %s",
		    what, jerr.position, jerr.text);
	return root;
}

int
sig_mfst_parse(const void *buf, size_t len, struct sig_mfst **out, char *err,
    size_t errlen)
{
	json_t *root = NULL, *layers;
	struct sig_mfst *m = NULL;
	const char *cdgst;
	uint64_t csize;
	size_t i, n;
	int rc = -1;

	*out = NULL;
	if ((root = sig_mfst_load(
		 buf, len, "signature manifest", err, errlen)) == NULL)
		goto out;
	if ((layers = sig_mfst_check_top(root, &cdgst, &csize, err, errlen)) ==
	    NULL)
		goto out;
	n = json_array_size(layers);
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->config_digest = strdup(cdgst)) == NULL ||
	    (n > 0 && (m->layers = calloc(n, sizeof(*m->layers))) == NULL)) {
		sig_err_set(err, errlen, "signature manifest: out of memory");
		goto out;
	}
	m->config_size = csize;
	for (i = 0; i < n; i++) {
		if (sig_mfst_layer_from_json(json_array_get(layers, i),
			&m->layers[i], err, errlen) != 0)
			goto out;
		m->nlayers = i + 1;
	}
	*out = m;
	m = NULL;
	rc = 0;
out:
	sig_mfst_free(m);
	json_decref(root);
	return rc;
}

/*
 * The config for layers (the final array, borrowed): old (stolen, may be
 * NULL) keeps its members; rootfs.diff_ids becomes the layer digests and
 * history gets one entry per layer (old entries kept, up to nold).
 */
static json_t *
sig_mfst_config(json_t *old, const json_t *layers, size_t nold)
{
	json_t *cfg = old, *diff = NULL, *hist = NULL, *oldhist, *rootfs;
	size_t i, n = json_array_size(layers);

	if (cfg == NULL) {
		cfg = json_pack("{s:s,s:s,s:[],s:s,s:{s:s,s:[]},s:{}}",
		    "architecture", "", "created", SIG_MFST_ZERO_TIME,
		    "history", "os", "", "rootfs", "type", "layers", "diff_ids",
		    "config");
		if (cfg == NULL)
			goto fail;
	}
	if ((diff = json_array()) == NULL || (hist = json_array()) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		json_t *d =
		    json_object_get(json_array_get(layers, i), "digest");

		if (json_array_append(diff, d) != 0)
			goto fail;
	}
	oldhist = json_object_get(cfg, "history");
	for (i = 0; i < n; i++) {
		json_t *h = NULL;

		if (i < nold && json_is_array(oldhist) &&
		    i < json_array_size(oldhist))
			h = json_incref(json_array_get(oldhist, i));
		else
			h = json_pack("{s:s}", "created", SIG_MFST_ZERO_TIME);
		if (json_array_append_new(hist, h) != 0)
			goto fail;
	}
	if (json_object_set_new(cfg, "history", hist) != 0) {
		hist = NULL;
		goto fail;
	}
	hist = NULL;
	rootfs = json_object_get(cfg, "rootfs");
	if (!json_is_object(rootfs)) {
		if (json_object_set_new(cfg, "rootfs",
			json_pack("{s:s}", "type", "layers")) != 0)
			goto fail;
		rootfs = json_object_get(cfg, "rootfs");
	}
	if (json_object_set_new(rootfs, "diff_ids", diff) != 0) {
		diff = NULL;
		goto fail;
	}
	return cfg;
fail:
	json_decref(diff);
	json_decref(hist);
	json_decref(cfg);
	return NULL;
}

/* Dump root compactly (insertion order) with its digest. */
static int
sig_mfst_dump(
    const json_t *root, char **out, size_t *outlen, char dgst[SIG_DIGEST_SIZE])
{
	char *text;

	*out = NULL;
	*outlen = 0;
	if ((text = json_dumps(root, JSON_COMPACT)) == NULL)
		return -1;
	if (sig_digest_sha256(text, strlen(text), dgst) != 0) {
		free(text);
		return -1;
	}
	*out = text;
	*outlen = strlen(text);
	return 0;
}

int
sig_mfst_append(const void *old_mfst, size_t old_mfst_len,
    const void *old_config, size_t old_config_len, const void *payload,
    size_t payload_len, const char *sig_b64, struct sig_mfst_update *upd,
    char *err, size_t errlen)
{
	struct sig_mfst *parsed = NULL;
	json_t *root = NULL, *cfg = NULL, *layers, *layer = NULL, *desc;
	unsigned char *der = NULL;
	size_t derlen = 0, i, nold = 0;
	char msg[SIG_ERR_MAX];
	int rc = -1;

	memset(upd, 0, sizeof(*upd));
	if (payload == NULL || payload_len == 0 ||
	    payload_len > SIG_PAYLOAD_MAX) {
		sig_err_set(err, errlen,
		    "signature manifest: payload must be 1 to %zu bytes",
		    SIG_PAYLOAD_MAX);
		goto out;
	}
	if (sig_b64 == NULL ||
	    sig_ecdsa_decode(sig_b64, strlen(sig_b64), &der, &derlen, msg,
		sizeof(msg)) != SIG_ECDSA_OK) {
		sig_err_set(err, errlen, "signature manifest: %s",
		    sig_b64 == NULL ? "no signature" : msg);
		goto out;
	}
	if (sig_digest_sha256(payload, payload_len, upd->payload_digest) != 0) {
		sig_err_openssl(err, errlen, "signature manifest: sha256");
		goto out;
	}

	if (old_mfst != NULL && old_mfst_len > 0) {
		if (sig_mfst_parse(
			old_mfst, old_mfst_len, &parsed, err, errlen) != 0)
			goto out;
		for (i = 0; i < parsed->nlayers; i++) {
			const struct sig_layer *l = &parsed->layers[i];

			if (strcmp(l->digest, upd->payload_digest) == 0 &&
			    l->signature != NULL &&
			    strcmp(l->signature, sig_b64) == 0) {
				upd->skipped = 1;
				rc = 0;
				goto out;
			}
		}
		if (parsed->nlayers >= SIG_MFST_LAYERS_MAX) {
			sig_err_set(err, errlen,
			    "signature manifest: already has %d layers",
			    SIG_MFST_LAYERS_MAX);
			goto out;
		}
		nold = parsed->nlayers;
		if ((root = sig_mfst_load(old_mfst, old_mfst_len,
			 "signature manifest", err, errlen)) == NULL)
			goto out;
	} else {
		root = json_pack("{s:i,s:s,s:{},s:[]}", "schemaVersion", 2,
		    "mediaType", SIG_MT_OCI_MANIFEST, "config", "layers");
		if (root == NULL)
			goto nomem;
	}
	if (old_config != NULL && old_config_len > 0) {
		if ((cfg = sig_mfst_load(old_config, old_config_len,
			 "signature config", err, errlen)) == NULL)
			goto out;
		if (!json_is_object(cfg)) {
			sig_err_set(
			    err, errlen, "signature config: not a JSON object");
			goto out;
		}
	}

	/* ggcr's descriptor member order: mediaType, size, digest. */
	layer = json_pack("{s:s,s:I,s:s,s:{s:s}}", "mediaType",
	    SIG_MT_SIMPLESIGNING, "size", (json_int_t)payload_len, "digest",
	    upd->payload_digest, "annotations", SIG_ANN_SIGNATURE, sig_b64);
	if (layer == NULL)
		goto nomem;
	layers = json_object_get(root, "layers");
	if (json_array_append_new(layers, layer) != 0) {
		layer = NULL;
		goto nomem;
	}
	layer = NULL;

	if ((cfg = sig_mfst_config(cfg, layers, nold)) == NULL)
		goto nomem;
	if (sig_mfst_dump(
		cfg, &upd->config, &upd->config_len, upd->config_digest) != 0)
		goto nomem;
	desc = json_pack("{s:s,s:I,s:s}", "mediaType", SIG_MT_OCI_CONFIG,
	    "size", (json_int_t)upd->config_len, "digest", upd->config_digest);
	if (desc == NULL || json_object_set_new(root, "config", desc) != 0)
		goto nomem;
	if (json_object_get(root, "mediaType") == NULL &&
	    json_object_set_new(
		root, "mediaType", json_string(SIG_MT_OCI_MANIFEST)) != 0)
		goto nomem;
	if (sig_mfst_dump(root, &upd->mfst, &upd->mfst_len, upd->mfst_digest) !=
	    0)
		goto nomem;
	/* What we PUT must pass our own parser. */
	sig_mfst_free(parsed);
	parsed = NULL;
	if (sig_mfst_parse(upd->mfst, upd->mfst_len, &parsed, err, errlen) != 0)
		goto out;
	rc = 0;
	goto out;
nomem:
	sig_err_set(err, errlen, "signature manifest: out of memory");
out:
	if (rc != 0)
		sig_mfst_update_clear(upd);
	free(der);
	json_decref(layer);
	json_decref(cfg);
	json_decref(root);
	sig_mfst_free(parsed);
	return rc;
}
