/*
 * splice: zero-copy transfer of a counted body between two sockets.
 */
#ifndef REGWARD_SPLICE_H
#define REGWARD_SPLICE_H

#include <stdint.h>

struct event_base;
struct splice;

enum splice_event {
	SPLICE_DONE, /* all bytes moved */
	SPLICE_IN_CLOSED, /* source closed or failed before the end */
	SPLICE_OUT_CLOSED, /* destination failed */
	SPLICE_IN_TIMEOUT, /* no byte from the source in time */
	SPLICE_OUT_TIMEOUT, /* destination did not drain in time */
};

typedef void (*splice_cb)(struct splice *sp, enum splice_event ev, void *arg);

/* A pipe and its events. NULL when no pipe can be had. */
struct splice *splice_new(struct event_base *base);
void splice_free(struct splice *sp);
/* 1 when idle with an empty pipe: ready for another transfer. */
int splice_reusable(const struct splice *sp);

/*
 * Move len bytes from socket in to socket out (both non-blocking TCP).
 * out_ready 0 holds the writing until splice_out_ready(): bytes buffered
 * for out elsewhere must leave first. in_ms and out_ms bound the wait for
 * each side. cb(arg) is called once, from the event loop, at the end.
 * Returns 0, or -1 (nothing started) when events cannot be made.
 */
int splice_start(struct splice *sp, int in, int out, uint64_t len,
    unsigned in_ms, unsigned out_ms, int out_ready, splice_cb cb, void *arg);
void splice_out_ready(struct splice *sp);
/* Bytes written to out so far. */
uint64_t splice_moved(const struct splice *sp);
/* Abandon a transfer; no callback. The pipe is then not reusable. */
void splice_stop(struct splice *sp);

#endif /* REGWARD_SPLICE_H */
