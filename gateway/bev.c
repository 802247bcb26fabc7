/*
 * bev: bulk reads for socket bufferevents.
 */
#include <sys/uio.h>
#include <errno.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bev.h"

#define BEV_READ_CHUNK (128 * 1024)
#define BEV_LIBEVENT_READ_CAP 4096 /* EVBUFFER_MAX_READ in libevent 2.1 */

void
bev_read_more(struct bufferevent *bev, size_t limit)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	evutil_socket_t fd = bufferevent_getfd(bev);
	size_t len, want, got;
	ssize_t n;
	int nv, i;

	/*
	 * Fewer bytes than libevent's cap came in: the socket was drained,
	 * and another read would only return EAGAIN (a system call per
	 * small request saved).
	 */
	if (fd == -1 || evbuffer_get_length(in) < BEV_LIBEVENT_READ_CAP)
		return;
	/* A socket bufferevent keeps its input's end frozen between reads. */
	evbuffer_unfreeze(in, 0);
	while ((len = evbuffer_get_length(in)) < limit) {
		want = limit - len;
		if (want > BEV_READ_CHUNK)
			want = BEV_READ_CHUNK;
		if ((nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2)) <
		    1)
			break;
		for (i = 0; i < nv; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len;
		}
		n = readv(fd, iov, nv);
		if (n <= 0) {
			evbuffer_commit_space(in, v, 0);
			break; /* EAGAIN, EOF, error: the bufferevent sees it */
		}
		got = (size_t)n;
		for (i = 0; i < nv && got > 0; i++) {
			if (got < v[i].iov_len)
				v[i].iov_len = got;
			got -= v[i].iov_len;
		}
		evbuffer_commit_space(in, v, i);
		if ((size_t)n < want)
			break; /* the socket is drained */
	}
	evbuffer_freeze(in, 0);
}
