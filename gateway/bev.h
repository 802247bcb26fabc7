/*
 * bev: what libevent 2.1's bufferevents lack for bulk transfer.
 */
#ifndef REGWARD_BEV_H
#define REGWARD_BEV_H

#include <stddef.h>

struct bufferevent;

/*
 * libevent 2.1's evbuffer_read() reads at most 4096 bytes per readable
 * event (EVBUFFER_MAX_READ), which caps a socket bufferevent at a few
 * hundred MB/s however large max_single_read is. Called from a read
 * callback of a plain socket bufferevent, this reads on into its input
 * buffer while the socket has data, up to limit bytes buffered in all.
 * EOF and errors are left for the bufferevent to find on its next read.
 */
void bev_read_more(struct bufferevent *bev, size_t limit);

#endif /* REGWARD_BEV_H */
