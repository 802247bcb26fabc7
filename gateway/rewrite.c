/*
 * rewrite: upstream URLs in Location and Link headers to public_url.
 */
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "rewrite.h"

/*
 * If u[0..len) is "http(s)://<authority>/..." with authority equal to the
 * upstream's, return the offset of the path; else 0 (never a valid path
 * offset for an absolute URL).
 */
static size_t
rewrite_upstream_path(const char *u, size_t len, const char *authority)
{
	size_t alen = strlen(authority), off;

	if (len > 7 && strncasecmp(u, "http://", 7) == 0)
		off = 7;
	else if (len > 8 && strncasecmp(u, "https://", 8) == 0)
		off = 8;
	else
		return 0;
	if (len - off < alen || strncasecmp(u + off, authority, alen) != 0)
		return 0;
	off += alen;
	/* The authority must end here: not a longer host or port. */
	if (off < len && u[off] != '/' && u[off] != '?' && u[off] != '#')
		return 0;
	return off;
}

int
rewrite_location(struct evbuffer *out, const char *v, size_t len,
    const char *upstream_authority, const char *public_url)
{
	size_t off = rewrite_upstream_path(v, len, upstream_authority);

	if (off == 0)
		return evbuffer_add(out, v, len);
	if (evbuffer_add(out, public_url, strlen(public_url)) == -1)
		return -1;
	return evbuffer_add(out, v + off, len - off);
}

int
rewrite_link(struct evbuffer *out, const char *v, size_t len,
    const char *upstream_authority, const char *public_url)
{
	size_t i = 0, s, e, off;

	while (i < len) {
		/* Copy up to and including the next '<'. */
		s = i;
		while (i < len && v[i] != '<')
			i++;
		if (i == len)
			return evbuffer_add(out, v + s, i - s);
		i++;
		if (evbuffer_add(out, v + s, i - s) == -1)
			return -1;
		s = i;
		while (i < len && v[i] != '>')
			i++;
		e = i;
		if (e > s && v[s] == '/' && (e - s < 2 || v[s + 1] != '/')) {
			if (evbuffer_add(out, public_url, strlen(public_url)) ==
			    -1)
				return -1;
			off = s;
		} else if ((off = rewrite_upstream_path(
				v + s, e - s, upstream_authority)) != 0) {
			if (evbuffer_add(out, public_url, strlen(public_url)) ==
			    -1)
				return -1;
			off += s;
		} else {
			off = s;
		}
		if (evbuffer_add(out, v + off, e - off) == -1)
			return -1;
	}
	return 0;
}
