/*
 * sig: cosign-compatible image signatures (the library under signer/,
 * linked by the gateway and by regward-sign).
 *
 * Byte formats follow shared/docs/cosign-format.md and are summarised in
 * docs/signature-format.md. Every function is a pure function over bytes
 * and plain structs (no network, no globals), except the *_file() helpers
 * that read or write one file. Modules, one file each:
 *
 *   sig_err.c      error text helpers (OpenSSL queue drained into messages)
 *   sig_b64.c      standard base64 (RFC 4648 alphabet "+/", '=' padding)
 *   sig_digest.c   "sha256:<hex>" digests
 *   sig_ref.c      OCI image references, identities, ".sig" tags
 *   sig_payload.c  the simple-signing payload: build and strict parse
 *   sig_key.c      P-256 keys: PEM public keys, cosign encrypted and plain
 *                  PEM private keys, key generation and key files
 *   sig_ecdsa.c    ECDSA P-256 / SHA-256 signatures (DER, base64)
 *   sig_mfst.c     the ".sig" signature manifest: parse, build, append
 *   sig_verify.c   one signature layer checked end to end
 *
 * Conventions. Functions that can fail take (char *err, size_t errlen) and
 * write one line without a trailing newline there (err may be NULL when
 * errlen is 0). Out-parameters are cleared on entry and set only on
 * success. "Borrowed" arguments are not kept after the call returns.
 * Nothing here logs, and no message ever contains key bytes or a
 * passphrase.
 */
#ifndef REGWARD_SIG_H
#define REGWARD_SIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#define SIG_ERR_MAX 512 /* a comfortable size for err buffers */

/* Media types and annotation names (cosign-format.md §2). */
#define SIG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define SIG_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define SIG_MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define SIG_ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define SIG_ANN_BUNDLE "dev.sigstore.cosign/bundle"
#define SIG_ANN_CERTIFICATE "dev.sigstore.cosign/certificate"
#define SIG_ANN_CHAIN "dev.sigstore.cosign/chain"

/* ------------------------------------------------------------------ */
/* sig_err.c */

/* printf into err[0..errlen), truncating. No-op when err is NULL. */
void sig_err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Like sig_err_set(), then append ": " and the reason strings of every
 * error in this thread's OpenSSL error queue (joined by "; "), draining
 * the queue. Used after each failed OpenSSL call.
 */
void sig_err_openssl(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ */
/* sig_b64.c */

#define SIG_B64_SKIP_WS 0x01 /* decode: ignore ' ', \t, \r, \n (PEM) */

/*
 * Encode buf[0..len) as standard padded base64. Returns a malloc'd
 * NUL-terminated string (free with free()) and its length in *outlen
 * (outlen may be NULL), or NULL when out of memory / len too large.
 */
char *sig_b64_encode(const void *buf, size_t len, size_t *outlen);

/*
 * Decode standard base64 s[0..len) as Go's base64.StdEncoding does:
 * alphabet "+/", padding '=' required (length a multiple of 4 after
 * whitespace removal when SIG_B64_SKIP_WS), '=' only at the end. Unused
 * trailing bits are ignored as Go does. Returns 0 and sets *out (malloc'd,
 * free with free(); never NULL on success, even for empty input) and
 * *outlen, or -1 on malformed input or when out of memory.
 */
int sig_b64_decode(
    const char *s, size_t len, int flags, unsigned char **out, size_t *outlen);

/* ------------------------------------------------------------------ */
/* sig_digest.c */

#define SIG_DIGEST_LEN 71 /* strlen("sha256:") + 64 */
#define SIG_DIGEST_SIZE 72 /* with the NUL */

/*
 * out = "sha256:" + lowercase hex of SHA-256(buf[0..len)), NUL-terminated.
 * Returns 0, or -1 when OpenSSL fails (out is then "").
 */
int sig_digest_sha256(const void *buf, size_t len, char out[SIG_DIGEST_SIZE]);

/*
 * 1 if s[0..len) is exactly "sha256:" followed by 64 lowercase hex
 * digits, else 0. Other algorithms are not accepted anywhere in sig.
 */
int sig_digest_valid(const char *s, size_t len);

/* ------------------------------------------------------------------ */
/* sig_ref.c: OCI image references */

#define SIG_REF_REGISTRY_MAX 261 /* 255-byte host + ":65535" */
#define SIG_REF_REPO_MAX 255 /* distribution's name limit */
#define SIG_REF_TAG_MAX 128
#define SIG_REF_INPUT_MAX 1024 /* longest reference string accepted */
/* Enough for any identity or repository name sig_ref_* formats. */
#define SIG_REF_IDENTITY_SIZE                                                  \
	(SIG_REF_REGISTRY_MAX + 1 + SIG_REF_REPO_MAX + 1 + SIG_REF_TAG_MAX +   \
	    1 + SIG_DIGEST_LEN + 1)
/* "sha256-" + 64 hex + ".sig" + NUL */
#define SIG_REF_SIG_TAG_SIZE 76

#define SIG_REF_DEFAULT_REGISTRY "docker.io"

/* Flags for sig_ref_parse(). */
#define SIG_REF_DEFAULT_LATEST 0x01 /* no tag and no digest: tag "latest" */

/*
 * A parsed reference. Strings are NUL-terminated; an empty string means
 * "absent" (tag, digest). No allocation: copy or discard freely.
 */
struct sig_ref {
	char registry[SIG_REF_REGISTRY_MAX + 1]; /* "host[:port]", IPv6 in
						    brackets; "docker.io" */
	char repo[SIG_REF_REPO_MAX + 1]; /* "team/app", "library/x" */
	char tag[SIG_REF_TAG_MAX + 1]; /* "" when none */
	char digest[SIG_DIGEST_SIZE]; /* "" when none */
};

/*
 * Parse an image reference "[host[:port]/]path[:tag][@sha256:<hex>]" with
 * docker's rules: the first '/'-separated component is a registry when it
 * contains '.' or ':' or is "localhost" (an IPv6 literal must be in
 * brackets); otherwise the registry is docker.io and a one-component
 * name gets "library/". "index.docker.io" is normalised to "docker.io".
 * Path components are lowercase [a-z0-9] separated by '.', '_', "__" or
 * '-'+ (distribution's grammar); tag is [A-Za-z0-9_][A-Za-z0-9._-]{0,127};
 * a digest must be sha256. flags: SIG_REF_DEFAULT_LATEST. ref is cleared
 * on entry. Returns 0, or -1 with a message.
 */
int sig_ref_parse(
    const char *s, int flags, struct sig_ref *ref, char *err, size_t errlen);

/*
 * out = "registry/repo" (no tag, no digest): cosign's docker-reference
 * and the name the registry API uses (after the registry part). Returns
 * 0, or -1 when outlen is too small (SIG_REF_IDENTITY_SIZE always fits).
 */
int sig_ref_repo_name(const struct sig_ref *ref, char *out, size_t outlen);

/*
 * The tag-bearing identity for a payload's docker-reference, as
 * containers/image writes it: "registry/repo:tag". When the reference has
 * no tag but a digest, "registry/repo@sha256:<hex>". Returns 0, or -1
 * when it has neither or outlen is too small.
 */
int sig_ref_identity(const struct sig_ref *ref, char *out, size_t outlen);

/*
 * The signature tag for manifest digest dgst ("sha256:<hex>"):
 * "sha256-<hex>.sig". Returns 0, or -1 when dgst is not a valid digest or
 * outlen < SIG_REF_SIG_TAG_SIZE.
 */
int sig_ref_sig_tag(const char *dgst, char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* sig_payload.c: the simple-signing payload (cosign-format.md §1) */

#define SIG_PAYLOAD_TYPE "cosign container image signature"
#define SIG_PAYLOAD_MAX ((size_t)4 << 20) /* c/image's read limit */
#define SIG_PAYLOAD_IDENTITY_MAX 4096
/* Key under "optional" that carries regward's scan verdict. */
#define SIG_OPTIONAL_SCAN "dev.regward.scan"

/*
 * A strictly parsed payload. identity and digest are malloc'd copies of
 * the payload's strings (digest is NOT checked for format at parse time:
 * compare it with the manifest's digest). optional is NULL when the
 * payload has "optional": null, else a new reference (released by
 * sig_payload_clear()). creator points into optional (NULL if absent);
 * has_timestamp tells whether optional.timestamp was present.
 */
struct sig_payload {
	char *identity; /* critical.identity.docker-reference */
	char *digest; /* critical.image.docker-manifest-digest */
	json_t *optional; /* NULL or an object */
	const char *creator; /* optional.creator, borrowed from optional */
	long long timestamp; /* optional.timestamp when has_timestamp */
	int has_timestamp;
};

/*
 * Build a payload. identity is the docker-reference (e.g. the output of
 * sig_ref_identity()), dgst the manifest digest (must be sig_digest_valid).
 * optional (borrowed, may be NULL) is an object copied into the payload's
 * "optional"; the copy gets "creator": creator (NULL: "regward-sign "
 * REGWARD_VERSION) and "timestamp": timestamp (negative: time(NULL)) unless
 * optional already has those keys (which must then be a string and an
 * integer). Output is compact JSON with sorted keys, the order cosign and
 * containers/image produce, no trailing newline. Returns 0 and sets *out
 * (malloc'd, NUL-terminated for convenience, free with free()) and
 * *outlen, or -1 with a message.
 */
int sig_payload_build(const char *identity, const char *dgst,
    const json_t *optional, const char *creator, long long timestamp,
    char **out, size_t *outlen, char *err, size_t errlen);

/*
 * Parse buf[0..len) exactly as containers/image does (cosign-format.md
 * §1): top level exactly {critical, optional}; critical exactly {type,
 * image, identity}; image exactly {docker-manifest-digest}; identity
 * exactly {docker-reference}; names case-sensitive; duplicate keys,
 * unknown keys and trailing data rejected; type must equal
 * SIG_PAYLOAD_TYPE; optional null or an object whose "creator", if
 * present, is a string and "timestamp", if present, an integral number
 * (c/image reads it as a float64: 1.7e9 is accepted, 1.5 is not). Length
 * at most SIG_PAYLOAD_MAX. The bytes are parsed as given and never
 * re-serialised. pl is cleared on entry. Returns 0, or -1 with a message.
 */
int sig_payload_parse(const void *buf, size_t len, struct sig_payload *pl,
    char *err, size_t errlen);

/* Free what pl owns and zero it. NULL is a no-op. */
void sig_payload_clear(struct sig_payload *pl);

/* ------------------------------------------------------------------ */
/* sig_key.c: keys (cosign-format.md §4). All keys are EC P-256. */

#define SIG_KEY_FILE_MAX ((size_t)64 << 10) /* key files are < 2 KiB */
#define SIG_KEY_SCRYPT_N_DEFAULT 32768 /* what we write */
#define SIG_KEY_SCRYPT_MAXMEM ((uint64_t)256 << 20)

enum sig_key_status {
	SIG_KEY_OK = 0,
	SIG_KEY_ERR_IO, /* cannot read or write the file */
	SIG_KEY_ERR_FORMAT, /* not PEM, unknown label, bad JSON/DER ... */
	SIG_KEY_ERR_PASSPHRASE, /* wrong passphrase (MAC / decrypt failure) */
	SIG_KEY_ERR_TYPE, /* a key, but not EC P-256 */
	SIG_KEY_ERR_EXISTS, /* refusing to overwrite an existing file */
	SIG_KEY_ERR_INTERNAL, /* out of memory, OpenSSL/libsodium failure */
};

/* PEM labels for the cosign encrypted private key format. */
enum sig_key_label {
	SIG_KEY_LABEL_COSIGN = 0, /* ENCRYPTED COSIGN PRIVATE KEY (default) */
	SIG_KEY_LABEL_SIGSTORE, /* ENCRYPTED SIGSTORE PRIVATE KEY */
};

/* A short text for st, e.g. "wrong passphrase". */
const char *sig_key_status_str(enum sig_key_status st);

/*
 * Load a public key from the first PEM block of pem[0..len), which must be
 * "PUBLIC KEY" (SubjectPublicKeyInfo) holding an EC P-256 key. Returns
 * SIG_KEY_OK and sets *out (free with EVP_PKEY_free()), else an error
 * status with a message.
 */
enum sig_key_status sig_key_load_public(
    const void *pem, size_t len, EVP_PKEY **out, char *err, size_t errlen);

/* Same, from a file of at most SIG_KEY_FILE_MAX bytes; messages name it. */
enum sig_key_status sig_key_load_public_file(
    const char *path, EVP_PKEY **out, char *err, size_t errlen);

/*
 * Load a private key from the first PEM block of pem[0..len):
 *   ENCRYPTED COSIGN PRIVATE KEY, ENCRYPTED SIGSTORE PRIVATE KEY:
 *     cosign's scrypt + nacl/secretbox JSON (N in {32768, 65536, 131072},
 *     r 8, p 1; member names matched case-insensitively as Go does);
 *   PRIVATE KEY (PKCS#8), EC PRIVATE KEY (SEC1): no passphrase needed;
 *   ENCRYPTED PRIVATE KEY (PKCS#8 encrypted): with the passphrase.
 * pass[0..passlen) is the raw passphrase (may be empty; borrowed). The key
 * must be EC P-256. Returns SIG_KEY_OK and sets *out (free with
 * EVP_PKEY_free()), SIG_KEY_ERR_PASSPHRASE on a wrong passphrase, or
 * another error status. Derived keys and decrypted DER are wiped.
 */
enum sig_key_status sig_key_load_private(const void *pem, size_t len,
    const char *pass, size_t passlen, EVP_PKEY **out, char *err, size_t errlen);

/* Same, from a file of at most SIG_KEY_FILE_MAX bytes (wiped after). */
enum sig_key_status sig_key_load_private_file(const char *path,
    const char *pass, size_t passlen, EVP_PKEY **out, char *err, size_t errlen);

/* A new random EC P-256 key (free with EVP_PKEY_free()), or NULL. */
EVP_PKEY *sig_key_generate(char *err, size_t errlen);

/*
 * Encode private key (borrowed) in cosign's encrypted format: PKCS#8 DER
 * sealed with nacl/secretbox under scrypt(pass, random 32-byte salt, N,
 * r 8, p 1), random 24-byte nonce; JSON members in cosign's order (kdf
 * {name, params {N, r, p}, salt}, cipher {name, nonce}, ciphertext),
 * base64 in a PEM block with the given label, 64 columns. scrypt_n must
 * be 32768, 65536 or 131072. Returns SIG_KEY_OK and sets *pem
 * (malloc'd, NUL-terminated; free with free()) and *pemlen.
 */
enum sig_key_status sig_key_encode_private(EVP_PKEY *key, const char *pass,
    size_t passlen, enum sig_key_label label, uint64_t scrypt_n, char **pem,
    size_t *pemlen, char *err, size_t errlen);

/*
 * Encode the public half of key (borrowed) as a "PUBLIC KEY" PEM block.
 * Returns SIG_KEY_OK and sets *pem (malloc'd, NUL-terminated, free with
 * free()) and *pemlen.
 */
enum sig_key_status sig_key_encode_public(
    EVP_PKEY *key, char **pem, size_t *pemlen, char *err, size_t errlen);

/*
 * Write key (borrowed) as a pair of files: priv_path in the cosign
 * encrypted format (label COSIGN, N 32768: readable by every cosign and
 * by skopeo 1.9.3), mode 0600; pub_path as "PUBLIC KEY" PEM, mode 0644.
 * Unless overwrite, refuses with SIG_KEY_ERR_EXISTS when either file
 * exists (checked before anything is written). Files are written to a
 * temporary name and linked/renamed into place, so a reader never sees a
 * partial file.
 */
enum sig_key_status sig_key_write_pair(EVP_PKEY *key, const char *priv_path,
    const char *pub_path, const char *pass, size_t passlen, int overwrite,
    char *err, size_t errlen);

/* 1 if private key priv and public key pub (both borrowed) match, else 0. */
int sig_key_match(EVP_PKEY *priv, EVP_PKEY *pub);

/* ------------------------------------------------------------------ */
/* sig_ecdsa.c: ECDSA P-256 / SHA-256 (cosign-format.md §3) */

enum sig_ecdsa_status {
	SIG_ECDSA_OK = 0,
	SIG_ECDSA_BAD, /* well formed, does not verify under the key */
	SIG_ECDSA_MALFORMED, /* not base64, or neither DER nor 64-byte r||s */
	SIG_ECDSA_ERROR, /* out of memory, OpenSSL failure, bad key */
};

/*
 * Sign msg[0..len) with key (borrowed, EC P-256): SHA-256 then ECDSA, DER
 * encoded, then standard padded base64. Returns 0 and sets *b64
 * (malloc'd, NUL-terminated, free with free()), or -1 with a message.
 */
int sig_ecdsa_sign(EVP_PKEY *key, const void *msg, size_t len, char **b64,
    char *err, size_t errlen);

/*
 * Verify the base64 signature b64[0..b64len) over msg[0..len) with
 * public key pub (borrowed). The decoded bytes are a DER ECDSA-Sig-Value
 * or, when they do not parse as DER and are 64 bytes, r||s (as sigstore
 * >= 1.8.3 accepts). Base64 as sig_b64_decode() without flags (padding
 * required). Leaves the OpenSSL error queue empty.
 */
enum sig_ecdsa_status sig_ecdsa_verify(EVP_PKEY *pub, const void *msg,
    size_t len, const char *b64, size_t b64len, char *err, size_t errlen);

/*
 * The DER form of the signature b64[0..b64len) (DER as given, or r||s
 * converted), for callers that check it themselves. Returns SIG_ECDSA_OK
 * and sets *der (malloc'd, free with free()) and *derlen, or
 * SIG_ECDSA_MALFORMED / SIG_ECDSA_ERROR.
 */
enum sig_ecdsa_status sig_ecdsa_decode(const char *b64, size_t b64len,
    unsigned char **der, size_t *derlen, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* sig_mfst.c: the ".sig" signature manifest (cosign-format.md §2) */

#define SIG_MFST_MAX ((size_t)4 << 20) /* manifest and config, bytes */
#define SIG_MFST_LAYERS_MAX 1000 /* cosign's cap */

/*
 * One layer descriptor. All strings malloc'd and owned by the layer.
 * digest is as written (any "algo:hex" string; sig_verify_layer() wants
 * sha256). signature is the SIG_ANN_SIGNATURE annotation, NULL when
 * absent. annotations is the whole annotation object (new reference, NULL
 * when the descriptor has none).
 */
struct sig_layer {
	char *media_type;
	char *digest;
	uint64_t size;
	char *signature;
	int has_bundle; /* SIG_ANN_BUNDLE present (Rekor upload) */
	int has_certificate; /* SIG_ANN_CERTIFICATE present (keyless) */
	json_t *annotations;
};

/* A parsed signature manifest: its layers in order. */
struct sig_mfst {
	char *config_digest; /* config descriptor digest */
	uint64_t config_size;
	size_t nlayers;
	struct sig_layer *layers; /* nlayers entries */
};

/*
 * Parse a signature manifest buf[0..len) (at most SIG_MFST_MAX bytes,
 * duplicate keys rejected): schemaVersion 2; mediaType absent or
 * SIG_MT_OCI_MANIFEST (c/image refuses Docker media types for sig
 * manifests, so do we); a config descriptor; layers an array of at most
 * SIG_MFST_LAYERS_MAX descriptors, each with a string mediaType, a string
 * digest, a non-negative integer size and optional string-valued
 * annotations. Returns 0 and sets *out (free with sig_mfst_free()), or -1
 * with a message.
 */
int sig_mfst_parse(const void *buf, size_t len, struct sig_mfst **out,
    char *err, size_t errlen);

/* Free m and everything it owns. NULL is a no-op. */
void sig_mfst_free(struct sig_mfst *m);

/*
 * Fill *layer from one descriptor object desc (borrowed, not modified;
 * layer->annotations takes a new reference to its annotations) with the
 * rules of sig_mfst_parse(). layer is cleared on entry. Returns 0, or -1.
 */
int sig_mfst_layer_from_json(
    json_t *desc, struct sig_layer *layer, char *err, size_t errlen);

/* Free what layer owns and zero it. NULL is a no-op. */
void sig_mfst_layer_clear(struct sig_layer *layer);

/*
 * Result of sig_mfst_append(). When skipped is 1, an identical layer
 * (same payload digest and same signature annotation) already exists and
 * mfst/config are NULL: nothing needs uploading. Otherwise mfst and
 * config are the new manifest and config blob (malloc'd) with their
 * digests; payload_digest is always set.
 */
struct sig_mfst_update {
	int skipped;
	char *mfst;
	size_t mfst_len;
	char mfst_digest[SIG_DIGEST_SIZE];
	char *config;
	size_t config_len;
	char config_digest[SIG_DIGEST_SIZE];
	char payload_digest[SIG_DIGEST_SIZE];
};

/*
 * Append one signature layer, as cosign does. old_mfst (borrowed, NULL
 * when the ".sig" tag does not exist yet) is the current signature
 * manifest, old_config (borrowed, may be NULL) its config blob. The new
 * layer is {mediaType simplesigning, size, digest of payload, annotations
 * {SIG_ANN_SIGNATURE: sig_b64}}. The new config keeps old_config's
 * members (cosign's dummy config when there is none: architecture "",
 * created "0001-01-01T00:00:00Z", history, os "", rootfs, config {}),
 * with rootfs.diff_ids = the digests of all layers and one history entry
 * per layer. The new manifest keeps old_mfst's members and layers, with
 * the new config descriptor and the layer appended; all compact JSON.
 * Fails when the manifest already has SIG_MFST_LAYERS_MAX layers. upd is
 * cleared on entry. Returns 0, or -1 with a message.
 */
int sig_mfst_append(const void *old_mfst, size_t old_mfst_len,
    const void *old_config, size_t old_config_len, const void *payload,
    size_t payload_len, const char *sig_b64, struct sig_mfst_update *upd,
    char *err, size_t errlen);

/* Free what upd owns and zero it. NULL is a no-op. */
void sig_mfst_update_clear(struct sig_mfst_update *upd);

/* ------------------------------------------------------------------ */
/* sig_verify.c: one signature layer, end to end */

enum sig_verify_result {
	SIG_VERIFY_OK = 0, /* "valid" */
	SIG_VERIFY_NOT_A_SIGNATURE, /* layer mediaType is not simplesigning */
	SIG_VERIFY_BLOB_MISMATCH, /* blob sha256/size differ from layer */
	SIG_VERIFY_BAD_SIGNATURE, /* no/invalid annotation, bad base64/DER */
	SIG_VERIFY_UNTRUSTED_KEY, /* well formed; no trusted key verifies */
	SIG_VERIFY_BAD_PAYLOAD, /* signed, but payload fails strict parse */
	SIG_VERIFY_DIGEST_MISMATCH, /* signed payload names another digest */
	SIG_VERIFY_ERROR, /* internal failure (out of memory ...) */
};

/* A trusted key: name (for logs and the ledger) and public key. */
struct sig_trusted_key {
	const char *name;
	EVP_PKEY *key;
};

/*
 * What sig_verify_layer() found. key_name/key_index name the key the
 * signature verified under (borrowed from the keys array) for
 * SIG_VERIFY_OK, SIG_VERIFY_BAD_PAYLOAD and SIG_VERIFY_DIGEST_MISMATCH;
 * NULL / SIZE_MAX otherwise. payload is filled for SIG_VERIFY_OK and
 * SIG_VERIFY_DIGEST_MISMATCH.
 */
struct sig_verify_out {
	const char *key_name;
	size_t key_index;
	struct sig_payload payload;
};

/* The fixture name of r: "valid", "not_a_signature", "blob_mismatch",
 * "bad_signature", "untrusted_key", "bad_payload", "digest_mismatch",
 * "error". */
const char *sig_verify_result_name(enum sig_verify_result r);

/*
 * Check one layer of a signature manifest for the image manifest whose
 * digest is mfst_dgst: layer media type is simplesigning; blob[0..len)
 * has the descriptor's sha256 digest and size; the signature annotation
 * is present and well formed; it verifies over the blob under one of
 * keys[0..nkeys) (tried in order, first match wins); the payload parses
 * strictly (type exact); its docker-manifest-digest equals mfst_dgst.
 * The identity is NOT checked here (policy's job). All arguments are
 * borrowed. out is cleared on entry and may be NULL. err gets the reason
 * for any result but SIG_VERIFY_OK.
 */
enum sig_verify_result sig_verify_layer(const char *mfst_dgst,
    const struct sig_layer *layer, const void *blob, size_t len,
    const struct sig_trusted_key *keys, size_t nkeys,
    struct sig_verify_out *out, char *err, size_t errlen);

/* Release what out owns (the payload) and zero it. NULL is a no-op. */
void sig_verify_out_clear(struct sig_verify_out *out);

#endif /* REGWARD_SIG_H */
