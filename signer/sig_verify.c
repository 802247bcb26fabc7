/*
 * sig_verify: one layer of a ".sig" manifest checked end to end, the way
 * containers/image's sigstoreSigned policy does (cosign-format.md §5 and
 * the recipe in §9), minus the identity check that policy code makes with
 * its own rules. A pure function over bytes: the caller fetched the
 * manifest, the layer blob and the trusted keys.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "regward/sig.h"

const char *
sig_verify_result_name(enum sig_verify_result r)
{
	switch (r) {
	case SIG_VERIFY_OK:
		return "valid";
	case SIG_VERIFY_NOT_A_SIGNATURE:
		return "not_a_signature";
	case SIG_VERIFY_BLOB_MISMATCH:
		return "blob_mismatch";
	case SIG_VERIFY_BAD_SIGNATURE:
		return "bad_signature";
	case SIG_VERIFY_UNTRUSTED_KEY:
		return "untrusted_key";
	case SIG_VERIFY_BAD_PAYLOAD:
		return "bad_payload";
	case SIG_VERIFY_DIGEST_MISMATCH:
		return "digest_mismatch";
	case SIG_VERIFY_ERROR:
		return "error";
	}
	return "error";
}

void
sig_verify_out_clear(struct sig_verify_out *out)
{
	if (out == NULL)
		return;
	sig_payload_clear(&out->payload);
	memset(out, 0, sizeof(*out));
	out->key_index = SIZE_MAX;
}

enum sig_verify_result
sig_verify_layer(const char *mfst_dgst, const struct sig_layer *layer,
    const void *blob, size_t len, const struct sig_trusted_key *keys,
    size_t nkeys, struct sig_verify_out *out, char *err, size_t errlen)
{
	struct sig_payload pl;
	char dgst[SIG_DIGEST_SIZE], msg[SIG_ERR_MAX];
	size_t i, siglen;
	enum sig_ecdsa_status est;
	enum sig_verify_result res = SIG_VERIFY_ERROR;
	int any_bad = 0;

	memset(&pl, 0, sizeof(pl));
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->key_index = SIZE_MAX;
	}
	if (layer == NULL || layer->media_type == NULL ||
	    layer->digest == NULL || (blob == NULL && len > 0)) {
		sig_err_set(err, errlen, "verify: missing layer or blob");
		goto out;
	}
	if (strcmp(layer->media_type, SIG_MT_SIMPLESIGNING) != 0) {
		sig_err_set(err, errlen,
		    "layer media type \"%.100s\" is not a signature",
		    layer->media_type);
		res = SIG_VERIFY_NOT_A_SIGNATURE;
		goto out;
	}
	if (sig_digest_sha256(blob, len, dgst) != 0) {
		sig_err_openssl(err, errlen, "verify: sha256");
		goto out;
	}
	if (strcmp(dgst, layer->digest) != 0 || (uint64_t)len != layer->size) {
		sig_err_set(err, errlen,
		    "signature blob is %zu bytes with digest %s, layer says "
		    "%llu bytes, %.100s",
		    len, dgst, (unsigned long long)layer->size, layer->digest);
		res = SIG_VERIFY_BLOB_MISMATCH;
		goto out;
	}
	if (layer->signature == NULL) {
		sig_err_set(err, errlen,
		    "layer has no " SIG_ANN_SIGNATURE " annotation");
		res = SIG_VERIFY_BAD_SIGNATURE;
		goto out;
	}
	siglen = strlen(layer->signature);
	msg[0] = '\0';
	res = SIG_VERIFY_UNTRUSTED_KEY;
	for (i = 0; i < nkeys; i++) {
		est = sig_ecdsa_verify(keys[i].key, blob, len, layer->signature,
		    siglen, msg, sizeof(msg));
		if (est == SIG_ECDSA_OK) {
			res = SIG_VERIFY_OK;
			break;
		}
		if (est == SIG_ECDSA_MALFORMED) {
			sig_err_set(
			    err, errlen, "malformed signature: %s", msg);
			res = SIG_VERIFY_BAD_SIGNATURE;
			goto out;
		}
		if (est == SIG_ECDSA_ERROR)
			any_bad = 1;
	}
	if (nkeys == 0) {
		/* Still tell malformed from untrusted. */
		unsigned char *der = NULL;
		size_t derlen = 0;

		est = sig_ecdsa_decode(
		    layer->signature, siglen, &der, &derlen, msg, sizeof(msg));
		free(der);
		if (est != SIG_ECDSA_OK) {
			sig_err_set(
			    err, errlen, "malformed signature: %s", msg);
			res = SIG_VERIFY_BAD_SIGNATURE;
			goto out;
		}
	}
	if (res != SIG_VERIFY_OK) {
		sig_err_set(err, errlen,
		    "signature does not verify under any of %zu trusted "
		    "key(s)%s",
		    nkeys, any_bad ? " (a key could not be used)" : "");
		goto out;
	}
	if (out != NULL) {
		out->key_name = keys[i].name;
		out->key_index = i;
	}
	if (sig_payload_parse(blob, len, &pl, msg, sizeof(msg)) != 0) {
		sig_err_set(err, errlen, "signed %s", msg);
		res = SIG_VERIFY_BAD_PAYLOAD;
		goto out;
	}
	if (mfst_dgst == NULL || strcmp(pl.digest, mfst_dgst) != 0) {
		sig_err_set(err, errlen,
		    "signature is for manifest %.100s, not %.100s", pl.digest,
		    mfst_dgst != NULL ? mfst_dgst : "(none)");
		res = SIG_VERIFY_DIGEST_MISMATCH;
	} else {
		res = SIG_VERIFY_OK;
	}
	if (out != NULL) {
		out->payload = pl;
		memset(&pl, 0, sizeof(pl));
	}
out:
	sig_payload_clear(&pl);
	if (out != NULL && res != SIG_VERIFY_OK &&
	    res != SIG_VERIFY_DIGEST_MISMATCH &&
	    res != SIG_VERIFY_BAD_PAYLOAD) {
		out->key_name = NULL;
		out->key_index = SIZE_MAX;
	}
	return res;
}
