/*
 * head: one HTTP message head (request line or status line, and fields),
 * collected from http_parser callbacks into one bounded buffer.
 */
#ifndef REGWARD_HEAD_H
#define REGWARD_HEAD_H

#include <stddef.h>

#define HEAD_FIELDS_MAX 128

struct head_slice {
	size_t off;
	size_t len;
};

struct head_field {
	struct head_slice name;
	struct head_slice value;
};

struct head {
	char *buf; /* owned; grows up to max */
	size_t len;
	size_t cap;
	size_t max; /* ceiling for the whole head */
	struct head_slice url; /* request target */
	struct head_slice reason; /* response reason phrase */
	struct head_field fields[HEAD_FIELDS_MAX];
	size_t nfields;
	int in_value; /* last callback appended to a value */
};

enum head_status {
	HEAD_OK = 0,
	HEAD_TOO_LARGE, /* byte ceiling or field count exceeded */
	HEAD_NOMEM,
};

/* Prepare an empty head whose bytes may not exceed max. */
void head_init(struct head *h, size_t max);
/* Forget the contents, keep the buffer for the next message. */
void head_reset(struct head *h);
/* Free the buffer. */
void head_clear(struct head *h);

/* Append parser data. Each returns HEAD_OK or why it could not. */
enum head_status head_add_url(struct head *h, const char *p, size_t len);
enum head_status head_add_reason(struct head *h, const char *p, size_t len);
enum head_status head_add_name(struct head *h, const char *p, size_t len);
enum head_status head_add_value(struct head *h, const char *p, size_t len);

/* Pointer to the bytes of a slice (valid until the head changes). */
static inline const char *
head_ptr(const struct head *h, struct head_slice s)
{
	return h->buf + s.off;
}

/*
 * Find the first field named name (case-insensitive). Returns its index or
 * -1. from lets callers iterate over repeated fields.
 */
int head_find(const struct head *h, const char *name, size_t from);

/* 1 if field i's name equals name, case-insensitively. */
int head_name_is(const struct head *h, size_t i, const char *name);

/*
 * 1 if any field named name holds token in its comma-separated list,
 * case-insensitively (e.g. "Connection: keep-alive, Upgrade").
 */
int head_has_token(const struct head *h, const char *name, const char *token);

/*
 * 1 if field i must not be forwarded by a proxy: the RFC 9110 hop-by-hop
 * fields, and any field named in a Connection field of this head.
 * Transfer-Encoding is NOT hop-by-hop here: the gateway relays framing
 * bytes as they are, so the header travels with them.
 */
int head_is_hop_by_hop(const struct head *h, size_t i);

#endif /* REGWARD_HEAD_H */
