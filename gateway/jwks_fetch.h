/*
 * jwks_fetch: the JWK Sets of auth.oidc[] providers that name a jwks_url,
 * fetched off the event loop and kept fresh.
 *
 * One worker thread does every fetch (libcurl, via registry_http_get())
 * and parses the document (jwks_parse()); the result comes back to the
 * loop thread through an eventfd watched by a persistent event, as the
 * hasher's do, and only the loop thread ever reads or replaces a source's
 * key set. So jwks_fetch_set() needs no lock, and the set it returns
 * stays valid until control returns to the loop.
 *
 * When a source is fetched:
 *   - at start, for every source;
 *   - when its copy gets old: Cache-Control max-age, clamped to
 *     JWKS_FETCH_AGE_MIN..JWKS_FETCH_AGE_MAX, JWKS_FETCH_AGE_DEFAULT
 *     without one;
 *   - after a failure, with backoff: 1 s, 2 s, 4 s ... at most
 *     JWKS_FETCH_BACKOFF_MAX; the last good set is kept meanwhile;
 *   - when jwks_fetch_kick() asks (a token's kid is unknown, or there is
 *     no set yet), at most once per the source's refetch interval since
 *     the last fetch started, so tokens with random kids cannot make the
 *     gateway hammer the issuer.
 * Every outcome is logged once: fetched (keys, skipped, next refresh) or
 * failed (the reason, whether a previous set is kept, the next try).
 */
#ifndef REGWARD_JWKS_FETCH_H
#define REGWARD_JWKS_FETCH_H

#include <stddef.h>
#include <time.h>

#include "regward/token.h"

struct event_base;
struct jwks_fetch;

#define JWKS_FETCH_SOURCES_MAX OIDC_PROVIDERS_MAX
#define JWKS_FETCH_AGE_DEFAULT 3600 /* no max-age: refresh hourly */
#define JWKS_FETCH_AGE_MIN 60
#define JWKS_FETCH_AGE_MAX 86400
#define JWKS_FETCH_BACKOFF_MAX 300
#define JWKS_FETCH_REFETCH_DEFAULT 30 /* kicks: once per 30 s per source */
#define JWKS_FETCH_MSG_MAX 512

/*
 * Log one event: level "info" or "error", msg a short constant, extra
 * JSON members already escaped (without leading comma). Loop thread.
 */
typedef void (*jwks_fetch_log_fn)(
    void *arg, const char *level, const char *msg, const char *extra);

/*
 * A fetcher delivering to base (borrowed until jwks_fetch_free()), logging
 * through log(log_arg) (NULL: no logs). Add sources, then
 * jwks_fetch_start(). NULL when out of memory.
 */
struct jwks_fetch *jwks_fetch_new(
    struct event_base *base, jwks_fetch_log_fn log, void *log_arg);

/*
 * Add a source: url (registry_http_url_ok()), ca_file (NULL: the system's
 * CAs), refetch interval in seconds (0: JWKS_FETCH_REFETCH_DEFAULT), name
 * for logs (the provider's). Strings are copied. A source with the same
 * url and ca_file is shared: its index is returned again. Returns the
 * index (0..), or -1 when full, already started or out of memory.
 */
int jwks_fetch_add(struct jwks_fetch *f, const char *name, const char *url,
    const char *ca_file, unsigned refetch);

/*
 * Start the worker and the first fetch of every source. Returns 0, or -1
 * when the thread, eventfd or event cannot be made (err says which).
 */
int jwks_fetch_start(struct jwks_fetch *f, char *err, size_t errlen);

/*
 * The current key set of source idx, NULL when none was fetched yet.
 * Borrowed: valid until control returns to the event loop.
 */
const struct jwks *jwks_fetch_set(const struct jwks_fetch *f, size_t idx);

/*
 * A token for source idx named a kid its set lacks (or there is no set):
 * start a fetch now unless one is in flight or the last one started less
 * than the refetch interval ago. Writes what happened to note, for the
 * refusal's reason ("refetching the JWKS; retry in a few seconds", "JWKS
 * refetched 3 s ago; at most once per 30 s", ...), and, when there is no
 * set, the last fetch error. Returns 1 when a fetch was started.
 */
int jwks_fetch_kick(
    struct jwks_fetch *f, size_t idx, time_t now, char *note, size_t notelen);

/* Fetches started for source idx so far (tests, metrics). */
unsigned long jwks_fetch_count(const struct jwks_fetch *f, size_t idx);

/*
 * Stop: abort the transfer in flight (it notices within a fraction of a
 * second), join the worker, free every set. NULL is a no-op.
 */
void jwks_fetch_free(struct jwks_fetch *f);

#endif /* REGWARD_JWKS_FETCH_H */
