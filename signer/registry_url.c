/*
 * registry_url: the few URL operations the registry client needs, on
 * plain strings: percent-encoding of query values, appending a query
 * parameter, resolving a Location against the request URL, comparing
 * origins. No allocation beyond the returned strings; every result is
 * bounded by REGISTRY_URL_MAX.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "regward/registry.h"

/* Parts of an absolute http(s) URL: offsets into the string. */
struct registry_url_parts {
	size_t scheme_len; /* "http" or "https" */
	size_t auth_off; /* after "://" */
	size_t auth_len; /* host[:port] */
	size_t path_off; /* '/', '?', '#' or the end */
	int https;
};

static int
registry_url_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/*
 * Split an absolute http(s) URL. Returns 0, or -1 when u is not one, has
 * an empty authority or userinfo ('@'): we never put credentials in URLs
 * and refuse to follow ones that do.
 */
static int
registry_url_split(const char *u, struct registry_url_parts *p)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	if (strncasecmp(u, "https://", 8) == 0) {
		p->scheme_len = 5;
		p->https = 1;
	} else if (strncasecmp(u, "http://", 7) == 0) {
		p->scheme_len = 4;
	} else {
		return -1;
	}
	p->auth_off = p->scheme_len + 3;
	for (i = p->auth_off;
	     u[i] != '\0' && u[i] != '/' && u[i] != '?' && u[i] != '#'; i++) {
		if (u[i] == '@')
			return -1;
	}
	p->auth_len = i - p->auth_off;
	p->path_off = i;
	return p->auth_len == 0 ? -1 : 0;
}

/* Host and port of an authority; the default port when none is given. */
static void
registry_url_hostport(const char *a, size_t len, int https, size_t *hlen,
    const char **port, size_t *plen)
{
	size_t i;

	*hlen = len;
	*port = https ? "443" : "80";
	*plen = strlen(*port);
	/* The last ':' after any "]" starts the port. */
	for (i = len; i > 0; i--) {
		if (a[i - 1] == ']')
			break;
		if (a[i - 1] == ':') {
			*hlen = i - 1;
			if (i < len) {
				*port = a + i;
				*plen = len - i;
			}
			break;
		}
	}
}

int
registry_url_same_origin(const char *a, const char *b)
{
	struct registry_url_parts pa, pb;
	const char *porta, *portb;
	size_t ha, hb, pla, plb;

	if (a == NULL || b == NULL || registry_url_split(a, &pa) == -1 ||
	    registry_url_split(b, &pb) == -1)
		return 0;
	if (pa.https != pb.https)
		return 0;
	registry_url_hostport(
	    a + pa.auth_off, pa.auth_len, pa.https, &ha, &porta, &pla);
	registry_url_hostport(
	    b + pb.auth_off, pb.auth_len, pb.https, &hb, &portb, &plb);
	if (ha != hb || strncasecmp(a + pa.auth_off, b + pb.auth_off, ha) != 0)
		return 0;
	return pla == plb && memcmp(porta, portb, pla) == 0;
}

char *
registry_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len, i, j;
	char *out;

	len = strlen(s);
	if (len > REGISTRY_URL_MAX)
		return NULL;
	if ((out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	for (i = 0, j = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (registry_url_unreserved(c)) {
			out[j++] = (char)c;
		} else {
			out[j++] = '%';
			out[j++] = hex[c >> 4];
			out[j++] = hex[c & 0xf];
		}
	}
	out[j] = '\0';
	return out;
}

char *
registry_url_add_query(const char *url, const char *key, const char *value)
{
	char *k = NULL, *v = NULL, *out = NULL;
	const char *sep;
	size_t ulen, need;

	ulen = strcspn(url, "#");
	if ((k = registry_url_escape(key)) == NULL ||
	    (v = registry_url_escape(value)) == NULL)
		goto out;
	if (memchr(url, '?', ulen) == NULL)
		sep = "?";
	else if (url[ulen - 1] == '?' || url[ulen - 1] == '&')
		sep = "";
	else
		sep = "&";
	need = ulen + strlen(sep) + strlen(k) + 1 + strlen(v);
	if (need > REGISTRY_URL_MAX)
		goto out;
	if ((out = malloc(need + 1)) == NULL)
		goto out;
	memcpy(out, url, ulen);
	out[ulen] = '\0';
	strcat(out, sep);
	strcat(out, k);
	strcat(out, "=");
	strcat(out, v);
out:
	free(k);
	free(v);
	return out;
}

/* out = a[0..alen) + b[0..blen), NUL-terminated, bounded. */
static char *
registry_url_join(const char *a, size_t alen, const char *b, size_t blen)
{
	char *out;

	if (alen + blen > REGISTRY_URL_MAX)
		return NULL;
	if ((out = malloc(alen + blen + 1)) == NULL)
		return NULL;
	memcpy(out, a, alen);
	memcpy(out + alen, b, blen);
	out[alen + blen] = '\0';
	return out;
}

char *
registry_url_resolve(const char *base, const char *ref)
{
	struct registry_url_parts bp, rp;
	size_t rlen, i, dir;
	char *out = NULL;

	if (base == NULL || ref == NULL || registry_url_split(base, &bp) == -1)
		goto out;
	rlen = strcspn(ref, "#");
	if (rlen == 0 || rlen > REGISTRY_URL_MAX)
		goto out;
	for (i = 0; i < rlen; i++) {
		unsigned char c = (unsigned char)ref[i];

		if (c <= 0x20 || c >= 0x7f)
			goto out;
	}
	/* A scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	for (i = 0; i < rlen; i++) {
		char c = ref[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(i > 0 &&
			    ((c >= '0' && c <= '9') || c == '+' || c == '-' ||
				c == '.'))))
			break;
	}
	if (i > 0 && i < rlen && ref[i] == ':') {
		char *tmp = registry_url_join(ref, rlen, "", 0);

		if (tmp != NULL && registry_url_split(tmp, &rp) == 0) {
			out = tmp;
			tmp = NULL;
		}
		free(tmp);
		goto out;
	}
	if (rlen >= 2 && ref[0] == '/' && ref[1] == '/') {
		/* Network-path reference: base's scheme. */
		out = registry_url_join(base, bp.scheme_len + 1, ref, rlen);
		if (out != NULL && registry_url_split(out, &rp) == -1) {
			free(out);
			out = NULL;
		}
		goto out;
	}
	if (ref[0] == '/') {
		out = registry_url_join(base, bp.path_off, ref, rlen);
		goto out;
	}
	if (ref[0] == '?') {
		i = bp.path_off + strcspn(base + bp.path_off, "?#");
		out = registry_url_join(base, i, ref, rlen);
		goto out;
	}
	/* Relative path: against base's directory (origin + "/" if none). */
	i = bp.path_off + strcspn(base + bp.path_off, "?#");
	dir = 0;
	for (; i > bp.path_off; i--) {
		if (base[i - 1] == '/') {
			dir = i;
			break;
		}
	}
	if (dir == 0) {
		char *tmp = registry_url_join(base, bp.path_off, "/", 1);

		if (tmp != NULL)
			out = registry_url_join(tmp, strlen(tmp), ref, rlen);
		free(tmp);
	} else {
		out = registry_url_join(base, dir, ref, rlen);
	}
out:
	return out;
}
