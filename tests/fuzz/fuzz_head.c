/*
 * Fuzz target for the request side of the HTTP codec: http_parser feeding
 * a bounded head (gateway/head.c), then the hop-by-hop and token helpers
 * and the Location/Link rewriters over every field, as the proxy uses them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "head.h"
#include "rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_head_url(http_parser *p, const char *at, size_t len)
{
	return head_add_url(p->data, at, len) == HEAD_OK ? 0 : -1;
}

static int
fuzz_head_field(http_parser *p, const char *at, size_t len)
{
	return head_add_name(p->data, at, len) == HEAD_OK ? 0 : -1;
}

static int
fuzz_head_value(http_parser *p, const char *at, size_t len)
{
	return head_add_value(p->data, at, len) == HEAD_OK ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const http_parser_settings st = {
	    .on_url = fuzz_head_url,
	    .on_header_field = fuzz_head_field,
	    .on_header_value = fuzz_head_value,
	};
	struct head h;
	http_parser p;
	struct evbuffer *out;
	size_t i;

	head_init(&h, 4096);
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &h;
	http_parser_execute(&p, &st, (const char *)data, size);
	if (h.len > h.max || h.nfields > HEAD_FIELDS_MAX)
		abort();
	if ((out = evbuffer_new()) == NULL)
		abort();
	head_has_token(&h, "Connection", "close");
	for (i = 0; i < h.nfields; i++) {
		const struct head_field *f = &h.fields[i];

		if (f->name.off + f->name.len > h.len ||
		    f->value.off + f->value.len > h.len)
			abort();
		head_is_hop_by_hop(&h, i);
		rewrite_location(out, head_ptr(&h, f->value), f->value.len,
		    "127.0.0.1:5000", "https://registry.example.com");
		rewrite_link(out, head_ptr(&h, f->value), f->value.len,
		    "127.0.0.1:5000", "https://registry.example.com");
	}
	evbuffer_free(out);
	head_clear(&h);
	return 0;
}
