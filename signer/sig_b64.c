/*
 * sig_b64: standard base64 (RFC 4648 §4, '=' padding), decoded the way
 * Go's base64.StdEncoding does, which is what cosign and containers/image
 * use for signature annotations and key files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regward/sig.h"

static const char sig_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of c in the alphabet, -1 if not in it. */
static int
sig_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
sig_b64_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *
sig_b64_encode(const void *buf, size_t len, size_t *outlen)
{
	const unsigned char *p = buf;
	char *out = NULL, *o;
	size_t n, i;
	uint32_t v;

	if (outlen != NULL)
		*outlen = 0;
	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	n = (len + 2) / 3 * 4;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = sig_b64_alphabet[v >> 18 & 63];
		*o++ = sig_b64_alphabet[v >> 12 & 63];
		*o++ = sig_b64_alphabet[v >> 6 & 63];
		*o++ = sig_b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		*o++ = sig_b64_alphabet[v >> 18 & 63];
		*o++ = sig_b64_alphabet[v >> 12 & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = sig_b64_alphabet[v >> 18 & 63];
		*o++ = sig_b64_alphabet[v >> 12 & 63];
		*o++ = sig_b64_alphabet[v >> 6 & 63];
		*o++ = '=';
	}
	*o = '\0';
	if (outlen != NULL)
		*outlen = n;
	return out;
}

/*
 * Decode in one pass: every significant character (whitespace skipped
 * only with SIG_B64_SKIP_WS) is a quantum member; '=' may only fill the
 * last one or two places of the last quantum.
 */
int
sig_b64_decode(
    const char *s, size_t len, int flags, unsigned char **out, size_t *outlen)
{
	unsigned char *buf = NULL;
	size_t i, n = 0, q = 0, pad = 0;
	uint32_t acc = 0;
	int v, rc = -1;

	*out = NULL;
	*outlen = 0;
	if ((buf = malloc(len / 4 * 3 + 3)) == NULL)
		goto out;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((flags & SIG_B64_SKIP_WS) && sig_b64_is_ws(c))
			continue;
		if (c == '=') {
			/* Only in places 3 and 4 of a quantum. */
			if (q < 2)
				goto out;
			pad++;
			q++;
			if (q == 4) {
				/* xx== or xxx= : done, nothing may follow. */
				if (pad == 2) {
					buf[n++] = (unsigned char)(acc >> 4);
				} else {
					buf[n++] = (unsigned char)(acc >> 10);
					buf[n++] = (unsigned char)(acc >> 2);
				}
				q = 0;
				i++;
				break;
			}
			continue;
		}
		if (pad > 0 || (v = sig_b64_value(c)) < 0)
			goto out;
		acc = acc << 6 | (uint32_t)v;
		if (++q == 4) {
			buf[n++] = (unsigned char)(acc >> 16);
			buf[n++] = (unsigned char)(acc >> 8);
			buf[n++] = (unsigned char)acc;
			q = 0;
			acc = 0;
		}
	}
	/* After padding only whitespace (when allowed) may follow. */
	for (; i < len; i++)
		if (!(flags & SIG_B64_SKIP_WS) ||
		    !sig_b64_is_ws((unsigned char)s[i]))
			goto out;
	if (q != 0)
		goto out;
	*out = buf;
	*outlen = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}
