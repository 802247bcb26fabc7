/*
 * head: bounded storage for one HTTP message head.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "head.h"

#define HEAD_INITIAL 2048

void
head_init(struct head *h, size_t max)
{
	memset(h, 0, sizeof(*h));
	h->max = max;
}

void
head_reset(struct head *h)
{
	h->len = 0;
	h->url.off = h->url.len = 0;
	h->reason.off = h->reason.len = 0;
	h->nfields = 0;
	h->in_value = 0;
}

void
head_clear(struct head *h)
{
	free(h->buf);
	h->buf = NULL;
	h->cap = 0;
	head_reset(h);
}

/* Append bytes, growing the buffer geometrically up to h->max. */
static enum head_status
head_append(struct head *h, const char *p, size_t len)
{
	size_t need, ncap;
	char *nbuf;

	if (len > h->max || h->len > h->max - len)
		return HEAD_TOO_LARGE;
	need = h->len + len;
	if (need > h->cap) {
		ncap = h->cap ? h->cap : HEAD_INITIAL;
		while (ncap < need)
			ncap *= 2;
		if (ncap > h->max)
			ncap = h->max;
		if ((nbuf = realloc(h->buf, ncap)) == NULL)
			return HEAD_NOMEM;
		h->buf = nbuf;
		h->cap = ncap;
	}
	memcpy(h->buf + h->len, p, len);
	h->len += len;
	return HEAD_OK;
}

/*
 * http_parser may hand one element over in several calls; consecutive
 * calls for the same element extend the same slice, which works because
 * nothing else is appended in between.
 */
static enum head_status
head_extend(struct head *h, struct head_slice *s, const char *p, size_t len)
{
	enum head_status st;

	if (s->len == 0)
		s->off = h->len;
	if ((st = head_append(h, p, len)) == HEAD_OK)
		s->len += len;
	return st;
}

enum head_status
head_add_url(struct head *h, const char *p, size_t len)
{
	return head_extend(h, &h->url, p, len);
}

enum head_status
head_add_reason(struct head *h, const char *p, size_t len)
{
	return head_extend(h, &h->reason, p, len);
}

enum head_status
head_add_name(struct head *h, const char *p, size_t len)
{
	struct head_field *f;

	if (h->nfields == 0 || h->in_value) {
		if (h->nfields == HEAD_FIELDS_MAX)
			return HEAD_TOO_LARGE;
		f = &h->fields[h->nfields++];
		memset(f, 0, sizeof(*f));
		h->in_value = 0;
	}
	f = &h->fields[h->nfields - 1];
	return head_extend(h, &f->name, p, len);
}

enum head_status
head_add_value(struct head *h, const char *p, size_t len)
{
	struct head_field *f;

	if (h->nfields == 0)
		return HEAD_TOO_LARGE; /* parser never does this */
	f = &h->fields[h->nfields - 1];
	h->in_value = 1;
	return head_extend(h, &f->value, p, len);
}

int
head_name_is(const struct head *h, size_t i, const char *name)
{
	const struct head_field *f = &h->fields[i];
	size_t n = strlen(name);

	return f->name.len == n &&
	    strncasecmp(head_ptr(h, f->name), name, n) == 0;
}

int
head_find(const struct head *h, const char *name, size_t from)
{
	size_t i;

	for (i = from; i < h->nfields; i++)
		if (head_name_is(h, i, name))
			return (int)i;
	return -1;
}

/* 1 if the comma-separated list v[0..len) contains token. */
static int
head_list_has(const char *v, size_t len, const char *token, size_t tlen)
{
	size_t i = 0, s, e;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tlen && strncasecmp(v + s, token, tlen) == 0)
			return 1;
	}
	return 0;
}

int
head_has_token(const struct head *h, const char *name, const char *token)
{
	int i = -1;
	size_t tlen = strlen(token);

	while ((i = head_find(h, name, (size_t)(i + 1))) >= 0) {
		const struct head_field *f = &h->fields[i];

		if (head_list_has(
			head_ptr(h, f->value), f->value.len, token, tlen))
			return 1;
	}
	return 0;
}

int
head_is_hop_by_hop(const struct head *h, size_t i)
{
	static const char *const hop[] = {"Connection", "Keep-Alive",
	    "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	    "TE", "Upgrade"};
	const struct head_field *f = &h->fields[i];
	size_t k;
	int c = -1;

	for (k = 0; k < sizeof(hop) / sizeof(hop[0]); k++)
		if (head_name_is(h, i, hop[k]))
			return 1;
	/* Fields the sender listed in Connection are hop-by-hop too. */
	while ((c = head_find(h, "Connection", (size_t)(c + 1))) >= 0) {
		const struct head_field *cf = &h->fields[c];

		if (head_list_has(head_ptr(h, cf->value), cf->value.len,
			head_ptr(h, f->name), f->name.len))
			return 1;
	}
	return 0;
}
