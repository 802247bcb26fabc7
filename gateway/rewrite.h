/*
 * rewrite: map the upstream registry's URLs in response headers to the
 * gateway's public URL, so clients never learn of, or try to reach, the
 * upstream directly.
 */
#ifndef REGWARD_REWRITE_H
#define REGWARD_REWRITE_H

#include <stddef.h>

struct evbuffer;

/*
 * Append to out the value of a Location header v[0..len): an absolute URL
 * whose authority is the upstream's (any scheme) gets public_url's scheme
 * and authority; anything else is copied as it is. public_url has no
 * trailing slash. Returns 0, or -1 when out cannot grow.
 */
int rewrite_location(struct evbuffer *out, const char *v, size_t len,
    const char *upstream_authority, const char *public_url);

/*
 * Append to out the value of a Link header v[0..len) (RFC 8288, one or
 * more comma-separated "<uri>; params"): each URI that is absolute on the
 * upstream, or an absolute path ("/v2/..."), becomes absolute on
 * public_url. Returns 0, or -1 when out cannot grow.
 */
int rewrite_link(struct evbuffer *out, const char *v, size_t len,
    const char *upstream_authority, const char *public_url);

#endif /* REGWARD_REWRITE_H */
