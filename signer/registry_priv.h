/*
 * registry_priv: what registry.c lends to the other files of the client
 * (registry_list.c). Not for use outside signer/registry*.c.
 */
#ifndef REGWARD_REGISTRY_PRIV_H
#define REGWARD_REGISTRY_PRIV_H

#include <stddef.h>

#include "regward/registry.h"

/* A response as registry_request() keeps it. */
struct registry_raw {
	long status; /* HTTP status, 0 if none */
	unsigned char *body; /* 2xx body (NULL if empty); free with clear */
	size_t len;
	char *link; /* Link header, or NULL */
	char dgst[REGISTRY_DIGEST_MAX]; /* Docker-Content-Digest, or "" */
};

/*
 * One request to reg's base URL + path ("/v2/...", query included) with
 * the auth dance done, scope the token scope (NULL: none) and accept the
 * Accept header (NULL: none). A 2xx body is kept up to max bytes (more is
 * REGISTRY_TOO_LARGE). Returns REGISTRY_OK for a 2xx answer with *out
 * filled (release with registry_raw_clear()); otherwise the status of
 * registry.c's usual mapping, out->status and err set. *out is zeroed on
 * entry.
 */
enum registry_status registry_request(struct registry *reg, const char *method,
    const char *path, const char *scope, const char *accept, size_t max,
    struct registry_raw *out, struct registry_err *err);

/* Free what r holds and zero it. NULL is a no-op. */
void registry_raw_clear(struct registry_raw *r);

#endif /* REGWARD_REGISTRY_PRIV_H */
