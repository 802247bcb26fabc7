/*
 * fake_upstream: a scripted HTTP/1.1 upstream for the proxy's edge cases
 * that docker-registry never produces: chunked responses with trailers,
 * bodies delimited by the close, cut-off bodies, oversized or garbage
 * heads, stalls, early answers. The repository name in the request
 * target picks the behaviour: GET /v2/<case>/tags/list.
 *
 * Usage: fake_upstream PORTFILE. Binds 127.0.0.1:0, writes the port to
 * PORTFILE, serves each connection in a child process (keep-alive: many
 * requests per connection), and logs "conn N" / "req N PATH" lines on
 * stdout so tests can count connections and requests.
 */
#define _GNU_SOURCE /* strcasestr */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAKE_HEAD_MAX 65536

static int fake_conn_no;

static int
fake_write(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, s, len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
fake_puts(int fd, const char *s)
{
	return fake_write(fd, s, strlen(s));
}

/* Read one request head into buf; the rest of what was read stays. */
static ssize_t
fake_read_head(int fd, char *buf, size_t *have)
{
	char *end;
	ssize_t n;

	for (;;) {
		buf[*have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			return (end - buf) + 4;
		if (*have >= FAKE_HEAD_MAX - 1)
			return -1;
		n = read(fd, buf + *have, FAKE_HEAD_MAX - 1 - *have);
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
}

/* Consume a Content-Length body (chunked bodies are not sent here). */
static long
fake_skip_body(
    int fd, const char *head, char *buf, size_t *have, size_t headlen)
{
	const char *cl = strcasestr(head, "\r\nContent-Length:");
	long want = 0, got;
	ssize_t n;
	char tmp[65536];

	if (cl != NULL)
		want = strtol(cl + 17, NULL, 10);
	got = (long)(*have - headlen);
	if (got > want)
		got = want;
	memmove(
	    buf, buf + headlen + (size_t)got, *have - headlen - (size_t)got);
	*have -= headlen + (size_t)got;
	while (got < want) {
		n = read(fd, tmp,
		    sizeof(tmp) < (size_t)(want - got) ? sizeof(tmp)
						       : (size_t)(want - got));
		if (n <= 0)
			return -1;
		got += n;
	}
	return got;
}

static void
fake_serve(int fd)
{
	static char buf[FAKE_HEAD_MAX];
	char path[1024], method[16], resp[256], big[8192];
	size_t have = 0;
	ssize_t headlen;
	long body;
	int nreq = 0;

	for (;;) {
		if ((headlen = fake_read_head(fd, buf, &have)) < 0)
			return;
		if (sscanf(buf, "%15s %1023s", method, path) != 2)
			return;
		printf("req %d %s %s\n", fake_conn_no, method, path);
		fflush(stdout);
		nreq++;
		if (strstr(path, "/early/") != NULL) {
			/* Answer before reading the body, then stop reading. */
			fake_puts(fd,
			    "HTTP/1.1 401 Unauthorized\r\n"
			    "Content-Length: 0\r\n\r\n");
			sleep(2);
			return;
		}
		body = fake_skip_body(fd, buf, buf, &have, (size_t)headlen);
		if (body < 0)
			return;
		if (strstr(path, "/chunked/") != NULL) {
			fake_puts(fd,
			    "HTTP/1.1 200 OK\r\n"
			    "Transfer-Encoding: chunked\r\n"
			    "Trailer: X-Checksum\r\n\r\n"
			    "5\r\nhello\r\n"
			    "7;ext=1\r\n, world\r\n"
			    "0\r\nX-Checksum: abc\r\n\r\n");
		} else if (strstr(path, "/eof/") != NULL) {
			fake_puts(fd,
			    "HTTP/1.1 200 OK\r\n"
			    "Connection: close\r\n\r\n"
			    "body delimited by the close");
			return;
		} else if (strstr(path, "/cut/") != NULL) {
			fake_puts(fd,
			    "HTTP/1.1 200 OK\r\n"
			    "Content-Length: 1000\r\n\r\n"
			    "only part of it");
			return;
		} else if (strstr(path, "/cutchunk/") != NULL) {
			fake_puts(fd,
			    "HTTP/1.1 200 OK\r\n"
			    "Transfer-Encoding: chunked\r\n\r\n"
			    "10\r\nonly part");
			return;
		} else if (strstr(path, "/nocontent/") != NULL) {
			fake_puts(fd,
			    "HTTP/1.1 204 No Content\r\n"
			    "X-Case: nocontent\r\n\r\n");
		} else if (strstr(path, "/notmod/") != NULL) {
			fake_puts(fd,
			    "HTTP/1.1 304 Not Modified\r\n"
			    "ETag: \"x\"\r\n\r\n");
		} else if (strstr(path, "/bighead/") != NULL) {
			memset(big, 'a', sizeof(big) - 1);
			big[sizeof(big) - 1] = '\0';
			fake_puts(fd, "HTTP/1.1 200 OK\r\n");
			for (int i = 0; i < 16; i++) {
				fake_puts(fd, "X-Big: ");
				fake_puts(fd, big);
				fake_puts(fd, "\r\n");
			}
			fake_puts(fd, "Content-Length: 0\r\n\r\n");
		} else if (strstr(path, "/garbage/") != NULL) {
			fake_puts(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
			return;
		} else if (strstr(path, "/stall/") != NULL) {
			sleep(5);
			return;
		} else if (strstr(path, "/hop/") != NULL) {
			fake_puts(fd,
			    "HTTP/1.1 200 OK\r\n"
			    "Connection: X-Private\r\n"
			    "X-Private: secret\r\n"
			    "Keep-Alive: timeout=5\r\n"
			    "Proxy-Authenticate: Basic\r\n"
			    "Upgrade: h2c\r\n"
			    "OCI-Subject: sha256:abc\r\n"
			    "Content-Length: 2\r\n\r\nok");
		} else {
			snprintf(resp, sizeof(resp),
			    "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
			    "X-Request-Body: %ld\r\n\r\n%s",
			    (int)(strcmp(method, "HEAD") == 0 ? 5 : 5), body,
			    strcmp(method, "HEAD") == 0 ? "" : "plain");
			fake_puts(fd, resp);
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	FILE *pf;
	int lfd, fd, one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: fake_upstream PORTFILE\n");
		return 2;
	}
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 64) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1) {
		perror("fake_upstream");
		return 1;
	}
	if ((pf = fopen(argv[1], "w")) == NULL)
		return 1;
	fprintf(pf, "%d\n", ntohs(sin.sin_port));
	fclose(pf);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		fake_conn_no++;
		printf("conn %d\n", fake_conn_no);
		fflush(stdout);
		if (fork() == 0) {
			close(lfd);
			fake_serve(fd);
			_exit(0);
		}
		close(fd);
	}
}
