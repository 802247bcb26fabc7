/*
 * jwks_fetch: JWK Sets from jwks_url, fetched by one worker thread and
 * handed to the loop thread through an eventfd.
 *
 * Per source, the fields split by owner:
 *   loop thread only   set, timer, in_flight, fails, started, fetches,
 *                      last_err (the loop's copy)
 *   under f->mtx       want (the worker should fetch it), and the result
 *                      (res_ready, res_set, res_age, res_err) the worker
 *                      leaves for the loop
 *   immutable          name, url, ca_file, refetch (set before start)
 * A source is "in flight" from the moment the loop sets want until the
 * loop has taken its result, so at most one fetch per source is ever
 * queued or running, and a kick during a fetch never queues another.
 */
#include <sys/eventfd.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "regward/registry.h"
#include "regward/token.h"

#include "jwks_fetch.h"

struct jwks_src {
	struct jwks_fetch *f;
	size_t idx;
	char *name;
	char *url;
	char *ca_file;
	unsigned refetch;

	/* loop thread */
	struct jwks *set;
	struct event *timer;
	int in_flight;
	unsigned fails;
	time_t started; /* when the last fetch was asked for, 0: never */
	unsigned long fetches;
	char last_err[JWKS_FETCH_MSG_MAX];

	/* f->mtx */
	int want;
	int res_ready;
	struct jwks *res_set;
	long res_age; /* Cache-Control lifetime, -1: none */
	char res_err[JWKS_FETCH_MSG_MAX];
};

struct jwks_fetch {
	struct event_base *base;
	jwks_fetch_log_fn log;
	void *log_arg;
	struct jwks_src src[JWKS_FETCH_SOURCES_MAX];
	size_t nsrc;
	int efd;
	struct event *ev;
	pthread_t thread;
	int thread_started;
	int curl_init;

	pthread_mutex_t mtx;
	pthread_cond_t cond;
	int stopping; /* mtx; also read unlocked by the cancel callback */
};

struct jwks_fetch *
jwks_fetch_new(struct event_base *base, jwks_fetch_log_fn log, void *log_arg)
{
	struct jwks_fetch *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->base = base;
	f->log = log;
	f->log_arg = log_arg;
	f->efd = -1;
	pthread_mutex_init(&f->mtx, NULL);
	pthread_cond_init(&f->cond, NULL);
	return f;
}

static int
jwks_fetch_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
jwks_fetch_add(struct jwks_fetch *f, const char *name, const char *url,
    const char *ca_file, unsigned refetch)
{
	struct jwks_src *s;
	size_t i;

	if (f->thread_started || url == NULL)
		return -1;
	for (i = 0; i < f->nsrc; i++)
		if (strcmp(f->src[i].url, url) == 0 &&
		    jwks_fetch_same(f->src[i].ca_file, ca_file))
			return (int)i;
	if (f->nsrc == JWKS_FETCH_SOURCES_MAX)
		return -1;
	s = &f->src[f->nsrc];
	memset(s, 0, sizeof(*s));
	s->f = f;
	s->idx = f->nsrc;
	s->refetch = refetch > 0 ? refetch : JWKS_FETCH_REFETCH_DEFAULT;
	if ((s->name = strdup(name != NULL ? name : "jwks")) == NULL ||
	    (s->url = strdup(url)) == NULL ||
	    (ca_file != NULL && (s->ca_file = strdup(ca_file)) == NULL)) {
		free(s->name);
		free(s->url);
		free(s->ca_file);
		memset(s, 0, sizeof(*s));
		return -1;
	}
	return (int)f->nsrc++;
}

/* Worker: abort a transfer when the fetcher is going away. */
static int
jwks_fetch_cancel_cb(void *arg)
{
	struct jwks_fetch *f = arg;
	int stop;

	pthread_mutex_lock(&f->mtx);
	stop = f->stopping;
	pthread_mutex_unlock(&f->mtx);
	return stop;
}

/*
 * Worker: fetch and parse s (immutable fields only), leaving the outcome
 * in the out-parameters.
 */
static void
jwks_fetch_run(struct jwks_fetch *f, const struct jwks_src *s,
    struct jwks **set, long *age, char *err, size_t errlen)
{
	struct registry_http_opts o;
	struct registry_http_resp resp;
	struct registry_err rerr;
	char why[TOKEN_ERR_MAX];

	*set = NULL;
	*age = -1;
	err[0] = '\0';
	memset(&o, 0, sizeof(o));
	o.max_bytes = JWKS_DOC_MAX;
	o.ca_file = s->ca_file;
	o.cancel = jwks_fetch_cancel_cb;
	o.cancel_arg = f;
	if (registry_http_get(s->url, &o, &resp, &rerr) != REGISTRY_OK) {
		snprintf(err, errlen, "%s", rerr.msg);
		return;
	}
	if (jwks_parse(s->url, resp.body, resp.len, set, why, sizeof(why)) ==
	    -1)
		snprintf(err, errlen, "%s", why);
	else
		*age = registry_cache_max_age(resp.cache_control);
	registry_http_resp_clear(&resp);
}

/* Tell the loop a result is ready. Any thread. */
static void
jwks_fetch_notify(struct jwks_fetch *f)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(f->efd, &one, sizeof(one));
	} while (n == -1 && errno == EINTR);
}

static void *
jwks_fetch_worker(void *arg)
{
	struct jwks_fetch *f = arg;
	struct jwks_src *s;
	struct jwks *set;
	char err[JWKS_FETCH_MSG_MAX];
	long age;
	size_t i;

	pthread_mutex_lock(&f->mtx);
	for (;;) {
		s = NULL;
		while (!f->stopping) {
			for (i = 0; i < f->nsrc && s == NULL; i++)
				if (f->src[i].want)
					s = &f->src[i];
			if (s != NULL)
				break;
			pthread_cond_wait(&f->cond, &f->mtx);
		}
		if (f->stopping)
			break;
		s->want = 0;
		pthread_mutex_unlock(&f->mtx);

		jwks_fetch_run(f, s, &set, &age, err, sizeof(err));

		pthread_mutex_lock(&f->mtx);
		jwks_free(s->res_set); /* none: the loop takes each result */
		s->res_set = set;
		s->res_age = age;
		snprintf(s->res_err, sizeof(s->res_err), "%s", err);
		s->res_ready = 1;
		pthread_mutex_unlock(&f->mtx);
		/* jwks_fetch_free() closes efd only after joining us. */
		jwks_fetch_notify(f);
		pthread_mutex_lock(&f->mtx);
	}
	pthread_mutex_unlock(&f->mtx);
	return NULL;
}

static void jwks_fetch_logf(struct jwks_fetch *f, const char *level,
    const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
jwks_fetch_logf(struct jwks_fetch *f, const char *level, const char *msg,
    const char *fmt, ...)
{
	char extra[4096];
	va_list ap;

	if (f->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	f->log(f->log_arg, level, msg, extra);
}

/* JSON string escape of s into buf (quotes not added). */
static const char *
jwks_fetch_esc(char *buf, size_t len, const char *s)
{
	size_t o = 0;
	unsigned char c;

	for (; *s != '\0' && o + 7 < len; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, len - o, "\\u%04x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* Loop: ask the worker to fetch s now. */
static void
jwks_fetch_begin(struct jwks_src *s, time_t now)
{
	struct jwks_fetch *f = s->f;

	if (s->in_flight)
		return;
	evtimer_del(s->timer);
	s->in_flight = 1;
	s->started = now;
	s->fetches++;
	pthread_mutex_lock(&f->mtx);
	s->want = 1;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mtx);
}

static void
jwks_fetch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jwks_src *s = arg;

	(void)fd;
	(void)what;
	jwks_fetch_begin(s, time(NULL));
}

static void
jwks_fetch_schedule(struct jwks_src *s, long secs)
{
	struct timeval tv = {secs, 0};

	evtimer_add(s->timer, &tv);
}

/* Loop: s's fetch ended; take the result. */
static void
jwks_fetch_apply(
    struct jwks_src *s, struct jwks *set, long age, const char *err)
{
	char e1[256], e2[2 * JWKS_FETCH_MSG_MAX], e3[2 * JWKS_NOTE_MAX];
	long next;

	s->in_flight = 0;
	if (set == NULL) {
		s->fails++;
		next = s->fails >= 10 ? JWKS_FETCH_BACKOFF_MAX
				      : 1L << (s->fails - 1);
		if (next > JWKS_FETCH_BACKOFF_MAX)
			next = JWKS_FETCH_BACKOFF_MAX;
		snprintf(s->last_err, sizeof(s->last_err), "%s", err);
		jwks_fetch_logf(s->f, "error", "jwks fetch failed",
		    "\"provider\":\"%s\",\"url\":\"%s\",\"error\":\"%s\","
		    "\"keeping\":%zu,\"retry_in\":%ld",
		    jwks_fetch_esc(e1, sizeof(e1), s->name),
		    jwks_fetch_esc(e3, sizeof(e3), s->url),
		    jwks_fetch_esc(e2, sizeof(e2), err),
		    s->set != NULL ? s->set->nkeys : 0, next);
		jwks_fetch_schedule(s, next);
		return;
	}
	s->fails = 0;
	s->last_err[0] = '\0';
	next = age < 0 ? JWKS_FETCH_AGE_DEFAULT : age;
	if (next < JWKS_FETCH_AGE_MIN)
		next = JWKS_FETCH_AGE_MIN;
	if (next > JWKS_FETCH_AGE_MAX)
		next = JWKS_FETCH_AGE_MAX;
	jwks_free(s->set);
	s->set = set;
	jwks_fetch_logf(s->f, "info", "jwks fetched",
	    "\"provider\":\"%s\",\"url\":\"%s\",\"keys\":%zu,\"skipped\":%zu,"
	    "\"note\":\"%s\",\"refresh_in\":%ld",
	    jwks_fetch_esc(e1, sizeof(e1), s->name),
	    jwks_fetch_esc(e2, sizeof(e2), s->url), set->nkeys, set->nskipped,
	    jwks_fetch_esc(e3, sizeof(e3), set->note), next);
	jwks_fetch_schedule(s, next);
}

static void
jwks_fetch_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jwks_fetch *f = arg;
	struct jwks_src *s;
	struct jwks *set;
	char err[JWKS_FETCH_MSG_MAX];
	uint64_t n;
	long age;
	size_t i;

	(void)what;
	while (read(fd, &n, sizeof(n)) == -1 && errno == EINTR)
		;
	for (i = 0; i < f->nsrc; i++) {
		s = &f->src[i];
		pthread_mutex_lock(&f->mtx);
		if (!s->res_ready) {
			pthread_mutex_unlock(&f->mtx);
			continue;
		}
		set = s->res_set;
		age = s->res_age;
		snprintf(err, sizeof(err), "%s", s->res_err);
		s->res_set = NULL;
		s->res_ready = 0;
		pthread_mutex_unlock(&f->mtx);
		jwks_fetch_apply(s, set, age, err);
	}
}

int
jwks_fetch_start(struct jwks_fetch *f, char *err, size_t errlen)
{
	sigset_t all, old;
	time_t now = time(NULL);
	size_t i;
	int rc;

	if (f->thread_started) {
		snprintf(err, errlen, "jwks fetcher already started");
		return -1;
	}
	if (registry_http_global_init() == -1) {
		snprintf(err, errlen, "libcurl initialisation failed");
		return -1;
	}
	f->curl_init = 1;
	if ((f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	if ((f->ev = event_new(f->base, f->efd, EV_READ | EV_PERSIST,
		 jwks_fetch_deliver_cb, f)) == NULL ||
	    event_add(f->ev, NULL) == -1) {
		snprintf(err, errlen, "cannot watch the fetcher's eventfd");
		return -1;
	}
	for (i = 0; i < f->nsrc; i++) {
		f->src[i].timer =
		    evtimer_new(f->base, jwks_fetch_timer_cb, &f->src[i]);
		if (f->src[i].timer == NULL) {
			snprintf(err, errlen, "cannot make a timer");
			return -1;
		}
	}
	/* The worker takes no signals: they are the loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&f->thread, NULL, jwks_fetch_worker, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the jwks fetcher: %s",
		    strerror(rc));
		return -1;
	}
	f->thread_started = 1;
	for (i = 0; i < f->nsrc; i++)
		jwks_fetch_begin(&f->src[i], now);
	return 0;
}

const struct jwks *
jwks_fetch_set(const struct jwks_fetch *f, size_t idx)
{
	if (f == NULL || idx >= f->nsrc)
		return NULL;
	return f->src[idx].set;
}

unsigned long
jwks_fetch_count(const struct jwks_fetch *f, size_t idx)
{
	if (f == NULL || idx >= f->nsrc)
		return 0;
	return f->src[idx].fetches;
}

int
jwks_fetch_kick(
    struct jwks_fetch *f, size_t idx, time_t now, char *note, size_t notelen)
{
	struct jwks_src *s;
	char last[JWKS_FETCH_MSG_MAX + 32] = "";
	long ago;

	if (f == NULL || idx >= f->nsrc) {
		snprintf(note, notelen, "no JWKS source");
		return 0;
	}
	s = &f->src[idx];
	if (s->set == NULL && s->last_err[0] != '\0')
		snprintf(last, sizeof(last), " (last fetch: %s)", s->last_err);
	else if (s->set == NULL)
		snprintf(last, sizeof(last), " (first fetch not done yet)");
	if (s->in_flight) {
		snprintf(note, notelen,
		    "a JWKS fetch is in flight; retry in a few seconds%s",
		    last);
		return 0;
	}
	ago = s->started > 0 ? (long)(now - s->started) : -1;
	if (ago >= 0 && ago < (long)s->refetch) {
		snprintf(note, notelen,
		    "JWKS fetched %lds ago, at most once per %us on unknown "
		    "kids%s",
		    ago, s->refetch, last);
		return 0;
	}
	jwks_fetch_begin(s, now);
	snprintf(note, notelen, "refetching the JWKS; retry in a few seconds%s",
	    last);
	return 1;
}

void
jwks_fetch_free(struct jwks_fetch *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->thread_started) {
		pthread_mutex_lock(&f->mtx);
		f->stopping = 1;
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->mtx);
		pthread_join(f->thread, NULL);
	}
	if (f->ev != NULL)
		event_free(f->ev);
	if (f->efd != -1)
		close(f->efd);
	for (i = 0; i < f->nsrc; i++) {
		if (f->src[i].timer != NULL)
			event_free(f->src[i].timer);
		jwks_free(f->src[i].set);
		jwks_free(f->src[i].res_set);
		free(f->src[i].name);
		free(f->src[i].url);
		free(f->src[i].ca_file);
	}
	if (f->curl_init)
		registry_http_global_cleanup();
	pthread_mutex_destroy(&f->mtx);
	pthread_cond_destroy(&f->cond);
	free(f);
}
