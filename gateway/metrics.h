/*
 * metrics: process-wide counters, exposed in the Prometheus text format at
 * GET /metrics. The gateway is single-threaded: plain integers suffice.
 */
#ifndef REGWARD_METRICS_H
#define REGWARD_METRICS_H

#include <stdint.h>

struct evbuffer;

enum metrics_upstream_err {
	METRICS_UP_CONNECT = 0, /* refused, unreachable, connect timeout */
	METRICS_UP_TIMEOUT, /* no response in time */
	METRICS_UP_RESET, /* closed or reset mid-exchange */
	METRICS_UP_PROTOCOL, /* unparseable response */
	METRICS_UP__COUNT
};

/* Record one finished request. method is the http_parser method number. */
void metrics_request(unsigned method, int status, uint64_t bytes_in,
    uint64_t bytes_out, double seconds);
void metrics_conn_open(void);
void metrics_conn_close(void);
void metrics_upstream_error(enum metrics_upstream_err kind);
void metrics_upstream_conn(int reused);
/* A login went to the password hash (the hasher), not the cache. */
void metrics_password_check(void);

/* Append the whole exposition to out. Returns 0 or -1. */
int metrics_render(struct evbuffer *out);

#endif /* REGWARD_METRICS_H */
