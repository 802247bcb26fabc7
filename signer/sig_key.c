/*
 * sig_key: EC P-256 keys in the files cosign and skopeo use
 * (cosign-format.md §4).
 *
 * Public keys are "PUBLIC KEY" PEM (SubjectPublicKeyInfo). Private keys
 * are cosign's encrypted format: a PEM block whose body is base64 of
 *   {"kdf":{"name":"scrypt","params":{"N":..,"r":8,"p":1},"salt":B64},
 *    "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
 * with ciphertext = secretbox(PKCS#8 DER, nonce, scrypt(pass, salt)),
 * i.e. 16-byte Poly1305 tag || XSalsa20 data (libsodium's "easy" layout).
 * Plain and encrypted PKCS#8 and SEC1 PEM are read through OpenSSL.
 * Derived keys, decrypted DER and file contents holding private keys are
 * wiped before they are freed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "regward/sig.h"

#define SIG_KEY_LABEL_MAX 64
#define SIG_KEY_SALT_LEN 32
#define SIG_KEY_SALT_MAX 1024 /* accepted when reading */
#define SIG_KEY_NONCE_LEN crypto_secretbox_NONCEBYTES /* 24 */
#define SIG_KEY_SECRET_LEN crypto_secretbox_KEYBYTES /* 32 */
#define SIG_KEY_PEM_COLS 64

#define SIG_KEY_COSIGN_LABEL "ENCRYPTED COSIGN PRIVATE KEY"
#define SIG_KEY_SIGSTORE_LABEL "ENCRYPTED SIGSTORE PRIVATE KEY"

/* The first PEM block of a text: its label, body and whole extent. */
struct sig_key_pem {
	char label[SIG_KEY_LABEL_MAX + 1];
	const char *block; /* "-----BEGIN" */
	size_t block_len; /* through the END line */
	const char *body; /* after the BEGIN line */
	size_t body_len; /* up to the END line */
	int has_headers; /* "Name: value" lines before the body */
};

const char *
sig_key_status_str(enum sig_key_status st)
{
	switch (st) {
	case SIG_KEY_OK:
		return "ok";
	case SIG_KEY_ERR_IO:
		return "cannot read or write the key file";
	case SIG_KEY_ERR_FORMAT:
		return "not a key file in a known format";
	case SIG_KEY_ERR_PASSPHRASE:
		return "wrong passphrase";
	case SIG_KEY_ERR_TYPE:
		return "not an EC P-256 key";
	case SIG_KEY_ERR_EXISTS:
		return "key file exists";
	case SIG_KEY_ERR_INTERNAL:
		return "internal error";
	}
	return "unknown";
}

/* Find needle[0..nlen) in hay[0..len). */
static const char *
sig_key_memmem(const char *hay, size_t len, const char *needle, size_t nlen)
{
	size_t i;

	if (nlen == 0 || nlen > len)
		return NULL;
	for (i = 0; i + nlen <= len; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0)
			return hay + i;
	return NULL;
}

/*
 * Locate the first PEM block in text[0..len): "-----BEGIN L-----" at the
 * start of a line, then "-----END L-----" with the same label. Returns 0
 * or -1 when there is none.
 */
static int
sig_key_pem_find(const char *text, size_t len, struct sig_key_pem *pem)
{
	static const char begin[] = "-----BEGIN ", dashes[] = "-----";
	const char *p, *lab, *labend, *body, *end, *eol, *q;
	char endline[SIG_KEY_LABEL_MAX + 16];
	size_t off = 0, lablen;
	int n;

	memset(pem, 0, sizeof(*pem));
	for (;;) {
		p = sig_key_memmem(
		    text + off, len - off, begin, sizeof(begin) - 1);
		if (p == NULL)
			return -1;
		if (p == text || p[-1] == '\n')
			break;
		off = (size_t)(p - text) + 1;
	}
	lab = p + sizeof(begin) - 1;
	labend = sig_key_memmem(
	    lab, len - (size_t)(lab - text), dashes, sizeof(dashes) - 1);
	if (labend == NULL || (lablen = (size_t)(labend - lab)) == 0 ||
	    lablen > SIG_KEY_LABEL_MAX || memchr(lab, '\n', lablen) != NULL)
		return -1;
	memcpy(pem->label, lab, lablen);
	pem->label[lablen] = '\0';
	body = labend + sizeof(dashes) - 1;
	/* Rest of the BEGIN line must be blank. */
	while (body < text + len &&
	    (*body == ' ' || *body == '\t' || *body == '\r'))
		body++;
	if (body >= text + len || *body != '\n')
		return -1;
	body++;
	n = snprintf(endline, sizeof(endline), "-----END %s-----", pem->label);
	if (n < 0 || (size_t)n >= sizeof(endline))
		return -1;
	end = sig_key_memmem(
	    body, len - (size_t)(body - text), endline, (size_t)n);
	if (end == NULL || (end != body && end[-1] != '\n'))
		return -1;
	/* RFC 1421 headers ("Proc-Type: ...") end at an empty line. */
	for (q = body; q < end; q = eol + 1) {
		eol = memchr(q, '\n', (size_t)(end - q));
		if (eol == NULL)
			break;
		if (memchr(q, ':', (size_t)(eol - q)) != NULL) {
			pem->has_headers = 1;
			break;
		}
	}
	pem->block = p;
	pem->block_len = (size_t)(end - p) + (size_t)n;
	pem->body = body;
	pem->body_len = (size_t)(end - body);
	return 0;
}

/* Wrap base64 of der[0..len) in a PEM block with label. */
static char *
sig_key_pem_encode(
    const char *label, const void *der, size_t len, size_t *outlen)
{
	char *b64 = NULL, *out = NULL, *o;
	size_t blen, lines, cap, i;

	*outlen = 0;
	if ((b64 = sig_b64_encode(der, len, &blen)) == NULL)
		goto out;
	lines = (blen + SIG_KEY_PEM_COLS - 1) / SIG_KEY_PEM_COLS;
	cap = blen + lines + 2 * (strlen(label) + 17) + 1;
	if ((out = malloc(cap)) == NULL)
		goto out;
	o = out + snprintf(out, cap, "-----BEGIN %s-----\n", label);
	for (i = 0; i < blen; i += SIG_KEY_PEM_COLS) {
		size_t n =
		    blen - i < SIG_KEY_PEM_COLS ? blen - i : SIG_KEY_PEM_COLS;

		memcpy(o, b64 + i, n);
		o += n;
		*o++ = '\n';
	}
	o += snprintf(o, cap - (size_t)(o - out), "-----END %s-----\n", label);
	*outlen = (size_t)(o - out);
out:
	if (b64 != NULL) {
		OPENSSL_cleanse(b64, blen);
		free(b64);
	}
	return out;
}

/* SIG_KEY_OK if pkey is an EC key on P-256, else SIG_KEY_ERR_TYPE. */
static enum sig_key_status
sig_key_check_p256(EVP_PKEY *pkey, const char *what, char *err, size_t errlen)
{
	char group[64];
	size_t glen = 0;

	if (!EVP_PKEY_is_a(pkey, "EC")) {
		sig_err_set(err, errlen,
		    "%s: %s key, only EC P-256 (prime256v1) is supported", what,
		    EVP_PKEY_get0_type_name(pkey) != NULL
			? EVP_PKEY_get0_type_name(pkey)
			: "unknown");
		return SIG_KEY_ERR_TYPE;
	}
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
		group, sizeof(group), &glen) != 1) {
		ERR_clear_error();
		sig_err_set(err, errlen,
		    "%s: EC key with explicit or unknown curve parameters, "
		    "only P-256 (prime256v1) is supported",
		    what);
		return SIG_KEY_ERR_TYPE;
	}
	if (strcmp(group, "prime256v1") != 0) {
		sig_err_set(err, errlen,
		    "%s: EC key on curve %s, only P-256 (prime256v1) is "
		    "supported",
		    what, group);
		return SIG_KEY_ERR_TYPE;
	}
	return SIG_KEY_OK;
}

enum sig_key_status
sig_key_load_public(
    const void *pem, size_t len, EVP_PKEY **out, char *err, size_t errlen)
{
	struct sig_key_pem blk;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t derlen = 0;
	EVP_PKEY *pkey = NULL;
	enum sig_key_status st = SIG_KEY_ERR_FORMAT;

	*out = NULL;
	if (len > SIG_KEY_FILE_MAX) {
		sig_err_set(err, errlen, "public key: larger than %zu bytes",
		    SIG_KEY_FILE_MAX);
		goto out;
	}
	if (sig_key_pem_find(pem, len, &blk) != 0) {
		sig_err_set(err, errlen, "public key: no PEM block found");
		goto out;
	}
	if (strcmp(blk.label, "PUBLIC KEY") != 0) {
		sig_err_set(err, errlen,
		    "public key: PEM block is \"%s\", want \"PUBLIC KEY\"",
		    blk.label);
		goto out;
	}
	if (blk.has_headers ||
	    sig_b64_decode(
		blk.body, blk.body_len, SIG_B64_SKIP_WS, &der, &derlen) != 0) {
		sig_err_set(err, errlen, "public key: invalid PEM body");
		goto out;
	}
	p = der;
	if (derlen > LONG_MAX ||
	    (pkey = d2i_PUBKEY(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		sig_err_openssl(err, errlen,
		    "public key: not a valid SubjectPublicKeyInfo");
		goto out;
	}
	if ((st = sig_key_check_p256(pkey, "public key", err, errlen)) !=
	    SIG_KEY_OK)
		goto out;
	*out = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	free(der);
	return st;
}

/*
 * Read a whole regular file of at most SIG_KEY_FILE_MAX bytes. Returns
 * 0 and a malloc'd buffer (caller wipes and frees), or -1 with a message.
 */
static int
sig_key_read_file(
    const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *b = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, rc = -1;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		sig_err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		sig_err_set(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		sig_err_set(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((b = malloc(SIG_KEY_FILE_MAX + 1)) == NULL) {
		sig_err_set(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		r = read(fd, b + n, SIG_KEY_FILE_MAX + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			sig_err_set(
			    err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > SIG_KEY_FILE_MAX) {
			sig_err_set(err, errlen, "%s: larger than %zu bytes",
			    path, SIG_KEY_FILE_MAX);
			goto out;
		}
	}
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	if (b != NULL) {
		OPENSSL_cleanse(b, SIG_KEY_FILE_MAX + 1);
		free(b);
	}
	(void)close(fd);
	return rc;
}

enum sig_key_status
sig_key_load_public_file(
    const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	char *buf = NULL, msg[SIG_ERR_MAX];
	size_t len;
	enum sig_key_status st;

	*out = NULL;
	if (sig_key_read_file(path, &buf, &len, err, errlen) != 0)
		return SIG_KEY_ERR_IO;
	msg[0] = '\0';
	st = sig_key_load_public(buf, len, out, msg, sizeof(msg));
	if (st != SIG_KEY_OK)
		sig_err_set(err, errlen, "%s: %s", path, msg);
	free(buf);
	return st;
}

/*
 * Member name of obj matched case-insensitively, as Go's encoding/json
 * does. Two members that differ only in case are refused (Go would let
 * the last win; a key file like that is not worth guessing about).
 */
static json_t *
sig_key_json_get(json_t *obj, const char *name, int *ambiguous)
{
	const char *k;
	json_t *v, *found = NULL;

	if (!json_is_object(obj))
		return NULL;
	json_object_foreach(obj, k, v)
	{
		if (strcasecmp(k, name) != 0)
			continue;
		if (found != NULL)
			*ambiguous = 1;
		found = v;
	}
	return *ambiguous ? NULL : found;
}

/* Decode the base64 string member name of obj into out (malloc'd). */
static int
sig_key_json_bytes(json_t *obj, const char *name, unsigned char **out,
    size_t *outlen, int *ambiguous)
{
	json_t *v = sig_key_json_get(obj, name, ambiguous);

	*out = NULL;
	*outlen = 0;
	if (!json_is_string(v))
		return -1;
	return sig_b64_decode(
	    json_string_value(v), json_string_length(v), 0, out, outlen);
}

/* scrypt(pass, salt, N, 8, 1) -> key[32], with an explicit memory cap. */
static int
sig_key_scrypt(const char *pass, size_t passlen, const unsigned char *salt,
    size_t saltlen, uint64_t n, unsigned char *key, char *err, size_t errlen)
{
	if (EVP_PBE_scrypt(pass != NULL ? pass : "", passlen, salt, saltlen, n,
		8, 1, SIG_KEY_SCRYPT_MAXMEM, key, SIG_KEY_SECRET_LEN) != 1) {
		sig_err_openssl(err, errlen, "private key: scrypt failed");
		return -1;
	}
	return 0;
}

/* PKCS#8 DER -> EVP_PKEY, P-256 only. */
static enum sig_key_status
sig_key_from_pkcs8(const unsigned char *der, size_t len, EVP_PKEY **out,
    char *err, size_t errlen)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	const unsigned char *p = der;
	EVP_PKEY *pkey = NULL;
	enum sig_key_status st = SIG_KEY_ERR_FORMAT;

	*out = NULL;
	if (len > LONG_MAX ||
	    (p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len)) == NULL ||
	    p != der + len || (pkey = EVP_PKCS82PKEY(p8)) == NULL) {
		sig_err_openssl(err, errlen,
		    "private key: decrypted data is not a PKCS#8 key");
		goto out;
	}
	if ((st = sig_key_check_p256(pkey, "private key", err, errlen)) !=
	    SIG_KEY_OK)
		goto out;
	*out = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return st;
}

/*
 * Decrypt cosign's JSON (json[0..len), the decoded PEM body) with pass.
 */
static enum sig_key_status
sig_key_cosign_decrypt(const char *json, size_t len, const char *pass,
    size_t passlen, EVP_PKEY **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = NULL, *kdf, *params, *cipher, *name, *jn, *jr, *jp;
	unsigned char *salt = NULL, *nonce = NULL, *ct = NULL, *plain = NULL;
	unsigned char key[SIG_KEY_SECRET_LEN];
	size_t saltlen = 0, noncelen = 0, ctlen = 0, plainlen = 0;
	int amb = 0;
	json_int_t n, r, p;
	enum sig_key_status st = SIG_KEY_ERR_FORMAT;

	*out = NULL;
	if ((root = json_loadb(json, len, 0, &jerr)) == NULL) {
		sig_err_set(err, errlen,
		    "private key: encrypted key body is not JSON: %s",
		    jerr.text);
		goto out;
	}
	kdf = sig_key_json_get(root, "kdf", &amb);
	cipher = sig_key_json_get(root, "cipher", &amb);
	params = sig_key_json_get(kdf, "params", &amb);
	if (amb) {
		sig_err_set(err, errlen,
		    "private key: member names differ only in case");
		goto out;
	}
	if (!json_is_object(kdf) || !json_is_object(cipher) ||
	    !json_is_object(params)) {
		sig_err_set(err, errlen,
		    "private key: missing kdf, kdf.params or cipher");
		goto out;
	}
	name = sig_key_json_get(kdf, "name", &amb);
	if (!json_is_string(name) ||
	    strcmp(json_string_value(name), "scrypt") != 0) {
		sig_err_set(
		    err, errlen, "private key: unsupported kdf (want scrypt)");
		goto out;
	}
	name = sig_key_json_get(cipher, "name", &amb);
	if (!json_is_string(name) ||
	    strcmp(json_string_value(name), "nacl/secretbox") != 0) {
		sig_err_set(err, errlen,
		    "private key: unsupported cipher (want nacl/secretbox)");
		goto out;
	}
	jn = sig_key_json_get(params, "N", &amb);
	jr = sig_key_json_get(params, "r", &amb);
	jp = sig_key_json_get(params, "p", &amb);
	if (amb || !json_is_integer(jn) || !json_is_integer(jr) ||
	    !json_is_integer(jp)) {
		sig_err_set(err, errlen,
		    "private key: kdf.params N, r, p must be integers");
		goto out;
	}
	n = json_integer_value(jn);
	r = json_integer_value(jr);
	p = json_integer_value(jp);
	if ((n != 32768 && n != 65536 && n != 131072) || r != 8 || p != 1) {
		sig_err_set(err, errlen,
		    "private key: unexpected kdf parameters N=%lld r=%lld "
		    "p=%lld (want N 32768, 65536 or 131072, r 8, p 1)",
		    (long long)n, (long long)r, (long long)p);
		goto out;
	}
	if (sig_key_json_bytes(kdf, "salt", &salt, &saltlen, &amb) != 0 ||
	    saltlen > SIG_KEY_SALT_MAX) {
		sig_err_set(err, errlen, "private key: invalid kdf.salt");
		goto out;
	}
	if (sig_key_json_bytes(cipher, "nonce", &nonce, &noncelen, &amb) != 0 ||
	    noncelen != SIG_KEY_NONCE_LEN) {
		sig_err_set(err, errlen,
		    "private key: cipher.nonce must be %d bytes of base64",
		    SIG_KEY_NONCE_LEN);
		goto out;
	}
	if (sig_key_json_bytes(root, "ciphertext", &ct, &ctlen, &amb) != 0 ||
	    ctlen < crypto_secretbox_MACBYTES || ctlen > SIG_KEY_FILE_MAX) {
		sig_err_set(err, errlen, "private key: invalid ciphertext");
		goto out;
	}
	if (amb) {
		sig_err_set(err, errlen,
		    "private key: member names differ only in case");
		goto out;
	}
	if (sodium_init() < 0) {
		sig_err_set(err, errlen, "private key: libsodium init failed");
		st = SIG_KEY_ERR_INTERNAL;
		goto out;
	}
	st = SIG_KEY_ERR_INTERNAL;
	if (sig_key_scrypt(pass, passlen, salt, saltlen, (uint64_t)n, key, err,
		errlen) != 0)
		goto out;
	plainlen = ctlen - crypto_secretbox_MACBYTES;
	if ((plain = malloc(plainlen + 1)) == NULL) {
		sig_err_set(err, errlen, "private key: out of memory");
		goto out;
	}
	if (crypto_secretbox_open_easy(plain, ct, ctlen, nonce, key) != 0) {
		sig_err_set(err, errlen,
		    "private key: wrong passphrase (decryption failed)");
		st = SIG_KEY_ERR_PASSPHRASE;
		goto out;
	}
	st = sig_key_from_pkcs8(plain, plainlen, out, err, errlen);
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (plain != NULL) {
		sodium_memzero(plain, plainlen);
		free(plain);
	}
	free(salt);
	free(nonce);
	free(ct);
	json_decref(root);
	return st;
}

struct sig_key_pass {
	const char *pass;
	size_t len;
};

/* OpenSSL pem_password_cb: hand over the raw passphrase, never prompt. */
static int
sig_key_pass_cb(char *buf, int size, int rwflag, void *u)
{
	const struct sig_key_pass *kp = u;

	(void)rwflag;
	if (kp == NULL || size < 0 || kp->len > (size_t)size)
		return -1;
	if (kp->len > 0)
		memcpy(buf, kp->pass, kp->len);
	return (int)kp->len;
}

enum sig_key_status
sig_key_load_private(const void *pem, size_t len, const char *pass,
    size_t passlen, EVP_PKEY **out, char *err, size_t errlen)
{
	struct sig_key_pem blk;
	struct sig_key_pass kp = {pass, passlen};
	unsigned char *body = NULL;
	size_t bodylen = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int encrypted;
	enum sig_key_status st = SIG_KEY_ERR_FORMAT;

	*out = NULL;
	if (len > SIG_KEY_FILE_MAX) {
		sig_err_set(err, errlen, "private key: larger than %zu bytes",
		    SIG_KEY_FILE_MAX);
		goto out;
	}
	if (sig_key_pem_find(pem, len, &blk) != 0) {
		sig_err_set(err, errlen, "private key: no PEM block found");
		goto out;
	}
	if (strcmp(blk.label, SIG_KEY_COSIGN_LABEL) == 0 ||
	    strcmp(blk.label, SIG_KEY_SIGSTORE_LABEL) == 0) {
		if (blk.has_headers ||
		    sig_b64_decode(blk.body, blk.body_len, SIG_B64_SKIP_WS,
			&body, &bodylen) != 0) {
			sig_err_set(
			    err, errlen, "private key: invalid PEM body");
			goto out;
		}
		st = sig_key_cosign_decrypt((const char *)body, bodylen, pass,
		    passlen, out, err, errlen);
		goto out;
	}
	if (strcmp(blk.label, "PRIVATE KEY") != 0 &&
	    strcmp(blk.label, "EC PRIVATE KEY") != 0 &&
	    strcmp(blk.label, "ENCRYPTED PRIVATE KEY") != 0) {
		sig_err_set(err, errlen,
		    "private key: unsupported PEM block \"%s\" (want "
		    "ENCRYPTED COSIGN PRIVATE KEY, ENCRYPTED SIGSTORE "
		    "PRIVATE KEY, PRIVATE KEY, EC PRIVATE KEY or "
		    "ENCRYPTED PRIVATE KEY)",
		    blk.label);
		goto out;
	}
	encrypted = strcmp(blk.label, "ENCRYPTED PRIVATE KEY") == 0 ||
	    (blk.has_headers &&
		sig_key_memmem(blk.body, blk.body_len, "ENCRYPTED", 9) != NULL);
	if (blk.block_len > INT_MAX ||
	    (bio = BIO_new_mem_buf(blk.block, (int)blk.block_len)) == NULL) {
		sig_err_openssl(err, errlen, "private key: BIO_new_mem_buf");
		st = SIG_KEY_ERR_INTERNAL;
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, sig_key_pass_cb, &kp);
	if (pkey == NULL) {
		if (encrypted) {
			sig_err_openssl(err, errlen,
			    "private key: wrong passphrase (or corrupt "
			    "encrypted key)");
			st = SIG_KEY_ERR_PASSPHRASE;
		} else {
			sig_err_openssl(
			    err, errlen, "private key: invalid %s", blk.label);
		}
		goto out;
	}
	if ((st = sig_key_check_p256(pkey, "private key", err, errlen)) !=
	    SIG_KEY_OK)
		goto out;
	*out = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	if (body != NULL) {
		OPENSSL_cleanse(body, bodylen);
		free(body);
	}
	return st;
}

enum sig_key_status
sig_key_load_private_file(const char *path, const char *pass, size_t passlen,
    EVP_PKEY **out, char *err, size_t errlen)
{
	char *buf = NULL, msg[SIG_ERR_MAX];
	size_t len = 0;
	enum sig_key_status st;

	*out = NULL;
	if (sig_key_read_file(path, &buf, &len, err, errlen) != 0)
		return SIG_KEY_ERR_IO;
	msg[0] = '\0';
	st = sig_key_load_private(
	    buf, len, pass, passlen, out, msg, sizeof(msg));
	if (st != SIG_KEY_OK)
		sig_err_set(err, errlen, "%s: %s", path, msg);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return st;
}

EVP_PKEY *
sig_key_generate(char *err, size_t errlen)
{
	EVP_PKEY *pkey;

	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pkey == NULL)
		sig_err_openssl(err, errlen, "generating a P-256 key");
	return pkey;
}

enum sig_key_status
sig_key_encode_private(EVP_PKEY *key, const char *pass, size_t passlen,
    enum sig_key_label label, uint64_t scrypt_n, char **pem, size_t *pemlen,
    char *err, size_t errlen)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL, *ct = NULL;
	unsigned char salt[SIG_KEY_SALT_LEN], nonce[SIG_KEY_NONCE_LEN];
	unsigned char secret[SIG_KEY_SECRET_LEN];
	char *bsalt = NULL, *bnonce = NULL, *bct = NULL, *text = NULL;
	json_t *root = NULL;
	int derlen = 0;
	size_t ctlen = 0, bctlen = 0;
	enum sig_key_status st = SIG_KEY_ERR_INTERNAL;

	*pem = NULL;
	*pemlen = 0;
	if (scrypt_n != 32768 && scrypt_n != 65536 && scrypt_n != 131072) {
		sig_err_set(err, errlen,
		    "private key: scrypt N must be 32768, 65536 or 131072");
		st = SIG_KEY_ERR_FORMAT;
		goto out;
	}
	if ((st = sig_key_check_p256(key, "private key", err, errlen)) !=
	    SIG_KEY_OK)
		goto out;
	st = SIG_KEY_ERR_INTERNAL;
	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL ||
	    (derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0) {
		sig_err_openssl(err, errlen, "private key: PKCS#8 encoding");
		derlen = 0;
		goto out;
	}
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    RAND_bytes(nonce, sizeof(nonce)) != 1) {
		sig_err_openssl(err, errlen, "private key: RAND_bytes");
		goto out;
	}
	if (sodium_init() < 0) {
		sig_err_set(err, errlen, "private key: libsodium init failed");
		goto out;
	}
	if (sig_key_scrypt(pass, passlen, salt, sizeof(salt), scrypt_n, secret,
		err, errlen) != 0)
		goto out;
	ctlen = crypto_secretbox_MACBYTES + (size_t)derlen;
	if ((ct = malloc(ctlen)) == NULL)
		goto nomem;
	if (crypto_secretbox_easy(
		ct, der, (unsigned long long)derlen, nonce, secret) != 0) {
		sig_err_set(err, errlen, "private key: secretbox failed");
		goto out;
	}
	if ((bsalt = sig_b64_encode(salt, sizeof(salt), NULL)) == NULL ||
	    (bnonce = sig_b64_encode(nonce, sizeof(nonce), NULL)) == NULL ||
	    (bct = sig_b64_encode(ct, ctlen, &bctlen)) == NULL)
		goto nomem;
	/* cosign's (Go struct) member order; jansson keeps insertion order. */
	root = json_pack("{s:{s:s,s:{s:I,s:i,s:i},s:s},s:{s:s,s:s},s:s}", "kdf",
	    "name", "scrypt", "params", "N", (json_int_t)scrypt_n, "r", 8, "p",
	    1, "salt", bsalt, "cipher", "name", "nacl/secretbox", "nonce",
	    bnonce, "ciphertext", bct);
	if (root == NULL || (text = json_dumps(root, JSON_COMPACT)) == NULL)
		goto nomem;
	*pem = sig_key_pem_encode(label == SIG_KEY_LABEL_SIGSTORE
		? SIG_KEY_SIGSTORE_LABEL
		: SIG_KEY_COSIGN_LABEL,
	    text, strlen(text), pemlen);
	if (*pem == NULL)
		goto nomem;
	st = SIG_KEY_OK;
	goto out;
nomem:
	sig_err_set(err, errlen, "private key: out of memory");
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)derlen);
	PKCS8_PRIV_KEY_INFO_free(p8);
	free(ct);
	free(bsalt);
	free(bnonce);
	free(bct);
	free(text);
	json_decref(root);
	return st;
}

enum sig_key_status
sig_key_encode_public(
    EVP_PKEY *key, char **pem, size_t *pemlen, char *err, size_t errlen)
{
	unsigned char *der = NULL;
	int derlen;
	enum sig_key_status st;

	*pem = NULL;
	*pemlen = 0;
	if ((st = sig_key_check_p256(key, "public key", err, errlen)) !=
	    SIG_KEY_OK)
		return st;
	if ((derlen = i2d_PUBKEY(key, &der)) <= 0) {
		sig_err_openssl(err, errlen, "public key: DER encoding");
		return SIG_KEY_ERR_INTERNAL;
	}
	*pem = sig_key_pem_encode("PUBLIC KEY", der, (size_t)derlen, pemlen);
	OPENSSL_free(der);
	if (*pem == NULL) {
		sig_err_set(err, errlen, "public key: out of memory");
		return SIG_KEY_ERR_INTERNAL;
	}
	return SIG_KEY_OK;
}

/*
 * Write buf[0..len) to a new temporary file next to path with mode.
 * Returns 0 and the temporary name in tmp (size tmplen), or -1.
 */
static int
sig_key_write_tmp(const char *path, const char *buf, size_t len, mode_t mode,
    char *tmp, size_t tmplen, char *err, size_t errlen)
{
	size_t off = 0;
	ssize_t w;
	int fd, n;

	n = snprintf(tmp, tmplen, "%s.tmpXXXXXX", path);
	if (n < 0 || (size_t)n >= tmplen) {
		sig_err_set(err, errlen, "%s: path too long", path);
		tmp[0] = '\0';
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		sig_err_set(err, errlen, "%s: %s", path, strerror(errno));
		tmp[0] = '\0';
		return -1;
	}
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (off < len) {
		w = write(fd, buf + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	sig_err_set(err, errlen, "%s: %s", tmp, strerror(errno));
	if (fd != -1)
		(void)close(fd);
	(void)unlink(tmp);
	tmp[0] = '\0';
	return -1;
}

/* Move tmp to path: rename when overwriting, else link (fails if present). */
static enum sig_key_status
sig_key_place(
    const char *tmp, const char *path, int overwrite, char *err, size_t errlen)
{
	if (overwrite) {
		if (rename(tmp, path) == 0)
			return SIG_KEY_OK;
	} else if (link(tmp, path) == 0) {
		(void)unlink(tmp);
		return SIG_KEY_OK;
	}
	if (errno == EEXIST) {
		sig_err_set(err, errlen,
		    "%s: file exists (refusing to overwrite)", path);
		return SIG_KEY_ERR_EXISTS;
	}
	sig_err_set(err, errlen, "%s: %s", path, strerror(errno));
	return SIG_KEY_ERR_IO;
}

enum sig_key_status
sig_key_write_pair(EVP_PKEY *key, const char *priv_path, const char *pub_path,
    const char *pass, size_t passlen, int overwrite, char *err, size_t errlen)
{
	struct stat sb;
	char *priv = NULL, *pub = NULL;
	char privtmp[4096], pubtmp[4096];
	size_t privlen = 0, publen = 0;
	int priv_placed = 0;
	enum sig_key_status st;

	privtmp[0] = pubtmp[0] = '\0';
	if (!overwrite) {
		if (lstat(priv_path, &sb) == 0 || lstat(pub_path, &sb) == 0) {
			sig_err_set(err, errlen,
			    "%s: file exists (refusing to overwrite)",
			    lstat(priv_path, &sb) == 0 ? priv_path : pub_path);
			st = SIG_KEY_ERR_EXISTS;
			goto out;
		}
	}
	if ((st = sig_key_encode_private(key, pass, passlen,
		 SIG_KEY_LABEL_COSIGN, SIG_KEY_SCRYPT_N_DEFAULT, &priv,
		 &privlen, err, errlen)) != SIG_KEY_OK)
		goto out;
	if ((st = sig_key_encode_public(key, &pub, &publen, err, errlen)) !=
	    SIG_KEY_OK)
		goto out;
	st = SIG_KEY_ERR_IO;
	if (sig_key_write_tmp(priv_path, priv, privlen, 0600, privtmp,
		sizeof(privtmp), err, errlen) != 0 ||
	    sig_key_write_tmp(pub_path, pub, publen, 0644, pubtmp,
		sizeof(pubtmp), err, errlen) != 0)
		goto out;
	if ((st = sig_key_place(privtmp, priv_path, overwrite, err, errlen)) !=
	    SIG_KEY_OK)
		goto out;
	privtmp[0] = '\0';
	priv_placed = 1;
	if ((st = sig_key_place(pubtmp, pub_path, overwrite, err, errlen)) !=
	    SIG_KEY_OK)
		goto out;
	pubtmp[0] = '\0';
	priv_placed = 0;
	st = SIG_KEY_OK;
out:
	/* Never leave half a new pair behind. */
	if (priv_placed && !overwrite)
		(void)unlink(priv_path);
	if (privtmp[0] != '\0')
		(void)unlink(privtmp);
	if (pubtmp[0] != '\0')
		(void)unlink(pubtmp);
	if (priv != NULL) {
		OPENSSL_cleanse(priv, privlen);
		free(priv);
	}
	free(pub);
	return st;
}

int
sig_key_match(EVP_PKEY *priv, EVP_PKEY *pub)
{
	int r;

	if (priv == NULL || pub == NULL)
		return 0;
	r = EVP_PKEY_eq(priv, pub);
	ERR_clear_error();
	return r == 1;
}
