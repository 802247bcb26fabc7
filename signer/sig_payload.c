/*
 * sig_payload: the cosign "simple signing" payload (cosign-format.md §1).
 *
 * The builder writes what cosign and containers/image write: compact JSON,
 * keys sorted (Go marshals structs in field order and maps sorted; both
 * come out as critical{identity, image, type}, optional). The parser is
 * containers/image's ParanoidUnmarshalJSONObjectExactFields: exact member
 * sets, case-sensitive names, no duplicates, nothing after the object.
 * It reads the exact signed bytes; nothing is re-serialised to verify.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "regward/sig.h"

#ifndef REGWARD_VERSION
#define REGWARD_VERSION "unknown"
#endif
#define SIG_PAYLOAD_CREATOR "regward-sign " REGWARD_VERSION

/*
 * 1 if obj is an object whose members are exactly names[0..n) (case
 * sensitive; duplicates were already refused by the decoder).
 */
static int
sig_payload_exact(const json_t *obj, const char *const *names, size_t n)
{
	size_t i;

	if (!json_is_object(obj) || json_object_size(obj) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (json_object_get(obj, names[i]) == NULL)
			return 0;
	return 1;
}

/*
 * Check optional.creator and optional.timestamp as c/image does. On
 * success sets *creator (borrowed from opt) and the timestamp.
 */
static int
sig_payload_check_optional(const json_t *opt, const char **creator,
    long long *ts, int *has_ts, char *err, size_t errlen)
{
	const json_t *v;
	double d;

	*creator = NULL;
	*ts = 0;
	*has_ts = 0;
	if ((v = json_object_get(opt, "creator")) != NULL) {
		if (!json_is_string(v)) {
			sig_err_set(err, errlen,
			    "payload: optional.creator is not a string");
			return -1;
		}
		*creator = json_string_value(v);
	}
	if ((v = json_object_get(opt, "timestamp")) != NULL) {
		if (json_is_integer(v)) {
			*ts = (long long)json_integer_value(v);
		} else if (json_is_real(v)) {
			/* Go decodes numbers as float64; integral is fine. */
			d = json_real_value(v);
			if (!isfinite(d) || d < -9223372036854775808.0 ||
			    d >= 9223372036854775808.0 ||
			    (double)(long long)d != d) {
				sig_err_set(err, errlen,
				    "payload: optional.timestamp is not an "
				    "integer");
				return -1;
			}
			*ts = (long long)d;
		} else {
			sig_err_set(err, errlen,
			    "payload: optional.timestamp is not a number");
			return -1;
		}
		*has_ts = 1;
	}
	return 0;
}

int
sig_payload_parse(const void *buf, size_t len, struct sig_payload *pl,
    char *err, size_t errlen)
{
	static const char *const top_names[] = {"critical", "optional"};
	static const char *const crit_names[] = {"type", "image", "identity"};
	static const char *const image_names[] = {"docker-manifest-digest"};
	static const char *const ident_names[] = {"docker-reference"};
	json_error_t jerr;
	json_t *root = NULL, *crit, *image, *ident, *type, *dgst, *ref, *opt;
	int rc = -1;

	memset(pl, 0, sizeof(*pl));
	if (len > SIG_PAYLOAD_MAX) {
		sig_err_set(err, errlen, "payload: larger than %zu bytes",
		    SIG_PAYLOAD_MAX);
		goto out;
	}
	/* jansson refuses data after the value unless told otherwise. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		sig_err_set(err, errlen, "payload: invalid JSON at byte %d: %s",
		    jerr.position, jerr.text);
		goto out;
	}
	if (!sig_payload_exact(root, top_names, 2)) {
		sig_err_set(err, errlen,
		    "payload: top level must be an object with exactly "
		    "\"critical\" and \"optional\"");
		goto out;
	}
	crit = json_object_get(root, "critical");
	if (!sig_payload_exact(crit, crit_names, 3)) {
		sig_err_set(err, errlen,
		    "payload: critical must have exactly \"type\", \"image\" "
		    "and \"identity\"");
		goto out;
	}
	type = json_object_get(crit, "type");
	if (!json_is_string(type) ||
	    strcmp(json_string_value(type), SIG_PAYLOAD_TYPE) != 0) {
		sig_err_set(err, errlen,
		    "payload: critical.type is not \"" SIG_PAYLOAD_TYPE "\"");
		goto out;
	}
	image = json_object_get(crit, "image");
	if (!sig_payload_exact(image, image_names, 1)) {
		sig_err_set(err, errlen,
		    "payload: critical.image must have exactly "
		    "\"docker-manifest-digest\"");
		goto out;
	}
	ident = json_object_get(crit, "identity");
	if (!sig_payload_exact(ident, ident_names, 1)) {
		sig_err_set(err, errlen,
		    "payload: critical.identity must have exactly "
		    "\"docker-reference\"");
		goto out;
	}
	dgst = json_object_get(image, "docker-manifest-digest");
	ref = json_object_get(ident, "docker-reference");
	if (!json_is_string(dgst) || !json_is_string(ref)) {
		sig_err_set(err, errlen,
		    "payload: docker-manifest-digest and docker-reference "
		    "must be strings");
		goto out;
	}
	opt = json_object_get(root, "optional");
	if (!json_is_null(opt) && !json_is_object(opt)) {
		sig_err_set(
		    err, errlen, "payload: optional must be an object or null");
		goto out;
	}
	if (json_is_object(opt) &&
	    sig_payload_check_optional(opt, &pl->creator, &pl->timestamp,
		&pl->has_timestamp, err, errlen) != 0)
		goto out;
	if ((pl->identity = strdup(json_string_value(ref))) == NULL ||
	    (pl->digest = strdup(json_string_value(dgst))) == NULL) {
		sig_err_set(err, errlen, "payload: out of memory");
		goto out;
	}
	if (json_is_object(opt))
		pl->optional = json_incref(opt);
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		sig_payload_clear(pl);
	return rc;
}

void
sig_payload_clear(struct sig_payload *pl)
{
	if (pl == NULL)
		return;
	free(pl->identity);
	free(pl->digest);
	json_decref(pl->optional);
	memset(pl, 0, sizeof(*pl));
}

int
sig_payload_build(const char *identity, const char *dgst,
    const json_t *optional, const char *creator, long long timestamp,
    char **out, size_t *outlen, char *err, size_t errlen)
{
	json_t *root = NULL, *opt = NULL, *v;
	struct sig_payload check;
	char *text = NULL;
	size_t idlen, len;
	int rc = -1;

	*out = NULL;
	*outlen = 0;
	memset(&check, 0, sizeof(check));
	if (identity == NULL ||
	    (idlen = strnlen(identity, SIG_PAYLOAD_IDENTITY_MAX + 1)) == 0 ||
	    idlen > SIG_PAYLOAD_IDENTITY_MAX) {
		sig_err_set(err, errlen,
		    "payload: identity must be 1 to %d bytes",
		    SIG_PAYLOAD_IDENTITY_MAX);
		goto out;
	}
	if (dgst == NULL || !sig_digest_valid(dgst, strlen(dgst))) {
		sig_err_set(err, errlen,
		    "payload: manifest digest must be sha256:<64 hex>");
		goto out;
	}
	if (optional != NULL && !json_is_object(optional)) {
		sig_err_set(err, errlen, "payload: optional must be an object");
		goto out;
	}
	/* Copy: the caller's object is borrowed and must not change. */
	opt = optional != NULL ? json_deep_copy(optional) : json_object();
	if (opt == NULL)
		goto nomem;
	if ((v = json_object_get(opt, "creator")) != NULL) {
		if (!json_is_string(v)) {
			sig_err_set(err, errlen,
			    "payload: optional.creator must be a string");
			goto out;
		}
	} else if (json_object_set_new(opt, "creator",
		       json_string(
			   creator != NULL ? creator : SIG_PAYLOAD_CREATOR)) !=
	    0) {
		sig_err_set(err, errlen,
		    "payload: creator is not valid UTF-8 or out of memory");
		goto out;
	}
	if ((v = json_object_get(opt, "timestamp")) != NULL) {
		if (!json_is_integer(v)) {
			sig_err_set(err, errlen,
			    "payload: optional.timestamp must be an integer");
			goto out;
		}
	} else if (json_object_set_new(opt, "timestamp",
		       json_integer(timestamp >= 0 ? (json_int_t)timestamp
						   : (json_int_t)time(NULL))) !=
	    0) {
		goto nomem;
	}
	root = json_pack("{s:{s:{s:s%},s:{s:s},s:s},s:O}", "critical",
	    "identity", "docker-reference", identity, idlen, "image",
	    "docker-manifest-digest", dgst, "type", SIG_PAYLOAD_TYPE,
	    "optional", opt);
	if (root == NULL) {
		sig_err_set(err, errlen,
		    "payload: identity is not valid UTF-8 or out of memory");
		goto out;
	}
	if ((text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto nomem;
	len = strlen(text);
	/* Never emit what a strict verifier (ours, c/image) would refuse. */
	if (sig_payload_parse(text, len, &check, err, errlen) != 0)
		goto out;
	*out = text;
	*outlen = len;
	text = NULL;
	rc = 0;
	goto out;
nomem:
	sig_err_set(err, errlen, "payload: out of memory");
out:
	sig_payload_clear(&check);
	free(text);
	json_decref(root);
	json_decref(opt);
	return rc;
}
