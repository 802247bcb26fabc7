/*
 * sig_digest: "sha256:<hex>" digests of exact bytes. A manifest's digest
 * is always computed here from the bytes served, never taken from a
 * header or computed over a re-serialisation.
 */
#include <stddef.h>
#include <string.h>

#include <openssl/evp.h>

#include "regward/sig.h"

int
sig_digest_sha256(const void *buf, size_t len, char out[SIG_DIGEST_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char *o;

	out[0] = '\0';
	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return -1;
	memcpy(out, "sha256:", 7);
	o = out + 7;
	for (i = 0; i < mdlen; i++) {
		*o++ = hex[md[i] >> 4];
		*o++ = hex[md[i] & 15];
	}
	*o = '\0';
	return 0;
}

int
sig_digest_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len != SIG_DIGEST_LEN || memcmp(s, "sha256:", 7) != 0)
		return 0;
	for (i = 7; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}
