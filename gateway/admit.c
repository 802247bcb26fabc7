/*
 * admit: the admission engine. Checks run in worker threads, each with its
 * own registry client (libcurl, to the upstream) and SQLite connection;
 * the event loop only looks up the memory cache, queues work and takes
 * results back through an eventfd, so a cold verification never stalls
 * other connections.
 *
 * Threads. The loop thread owns the cache, the in-flight list and every
 * waiter. The workers see only the queue (todo) and the done list, both
 * under one mutex, and the read-only struct admit_conf.
 */
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "regward/db_admit.h"
#include "regward/route.h"

#include "admit.h"

#define ADMIT_QUEUE_MAX 1024 /* checks waiting for a worker */
#define ADMIT_WORKERS_MAX 16
#define ADMIT_KEY_MAX (ROUTE_NAME_MAX + ADMIT_DIGEST_MAX + 2)

enum admit_job_kind { JOB_VERIFY, JOB_FORGET, JOB_TAG };

struct admit_wait {
	struct admit_job *job;
	admit_cb cb;
	admit_tag_cb tcb;
	void *arg;
	TAILQ_ENTRY(admit_wait) entry;
};
TAILQ_HEAD(admit_wait_list, admit_wait);

struct admit_job {
	enum admit_job_kind kind;
	int pidx;
	int stale; /* invalidated while running: do not cache */
	char repo[ROUTE_NAME_MAX + 1];
	char dgst[ADMIT_DIGEST_MAX];
	unsigned char *mfst;
	size_t len;
	struct admit_result res;
	int found; /* JOB_TAG: 1, 0 or -1 */
	struct admit_conf *conf; /* held by the worker running the job */
	char tag[ROUTE_TAG_MAX + 1];
	struct admit_wait_list waiters; /* loop thread only */
	TAILQ_ENTRY(admit_job) entry; /* todo or done (under mtx) */
	TAILQ_ENTRY(admit_job) flight; /* in flight (loop thread) */
};
TAILQ_HEAD(admit_job_list, admit_job);

struct admit_entry {
	char key[ADMIT_KEY_MAX]; /* "repo@digest" */
	uint64_t hash;
	int admit;
	enum admit_reason reason;
	char detail[ADMIT_DETAIL_MAX];
	char keyname[POLICY_NAME_MAX];
	char via[ADMIT_DIGEST_MAX];
	long long expires;
	struct admit_entry *next; /* hash chain */
	TAILQ_ENTRY(admit_entry) lru; /* head: most recently used */
};
TAILQ_HEAD(admit_lru, admit_entry);

struct admit {
	struct event_base *base;
	struct admit_conf *conf;
	char *db_path;
	/* Loop thread. */
	struct admit_entry **slots;
	size_t nslots, nentries;
	struct admit_lru lru;
	struct admit_job_list flight;
	struct admit_stats st;
	struct event *ev;
	int efd;
	/* Shared with the workers, under mtx. */
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	struct admit_job_list todo, done;
	size_t queued;
	int stopping;
	pthread_t threads[ADMIT_WORKERS_MAX];
	unsigned nthreads;
};

/* ---- memory cache (loop thread) --------------------------------------- */

static uint64_t
admit_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int
admit_key(char *out, const char *repo, const char *dgst)
{
	return snprintf(out, ADMIT_KEY_MAX, "%s@%s", repo, dgst) <
	    ADMIT_KEY_MAX;
}

static struct admit_entry **
admit_slot(struct admit *a, const char *key, uint64_t h)
{
	struct admit_entry **pp = &a->slots[h & (a->nslots - 1)];

	while (
	    *pp != NULL && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

static void
admit_drop(struct admit *a, struct admit_entry *e)
{
	struct admit_entry **pp = admit_slot(a, e->key, e->hash);

	if (*pp == e)
		*pp = e->next;
	TAILQ_REMOVE(&a->lru, e, lru);
	a->nentries--;
	free(e);
}

static void
admit_put(struct admit *a, const char *repo, const char *dgst,
    const struct admit_result *r, const char *via)
{
	struct admit_entry *e, **pp;
	char key[ADMIT_KEY_MAX];
	uint64_t h;

	if (!admit_key(key, repo, dgst) || r->expires <= (long long)time(NULL))
		return;
	h = admit_hash(key);
	if (*(pp = admit_slot(a, key, h)) != NULL)
		admit_drop(a, *pp);
	while (a->nentries >= a->conf->cache_entries && !TAILQ_EMPTY(&a->lru))
		admit_drop(a, TAILQ_LAST(&a->lru, admit_lru));
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	memcpy(e->key, key, sizeof(key));
	e->hash = h;
	e->admit = r->admit;
	e->reason = via != NULL ? ADMIT_VIA_INDEX : r->reason;
	snprintf(e->detail, sizeof(e->detail), "%s", r->detail);
	snprintf(e->keyname, sizeof(e->keyname), "%s", r->key);
	snprintf(e->via, sizeof(e->via), "%s", via != NULL ? via : r->via);
	e->expires = r->expires;
	pp = admit_slot(a, key, h);
	e->next = *pp;
	*pp = e;
	TAILQ_INSERT_HEAD(&a->lru, e, lru);
	a->nentries++;
}

static struct admit_entry *
admit_get(struct admit *a, const char *repo, const char *dgst)
{
	struct admit_entry *e;
	char key[ADMIT_KEY_MAX];
	uint64_t h;

	if (!admit_key(key, repo, dgst))
		return NULL;
	h = admit_hash(key);
	if ((e = *admit_slot(a, key, h)) == NULL)
		return NULL;
	if (e->expires <= (long long)time(NULL)) {
		admit_drop(a, e);
		return NULL;
	}
	TAILQ_REMOVE(&a->lru, e, lru);
	TAILQ_INSERT_HEAD(&a->lru, e, lru);
	return e;
}

/* ---- workers ---------------------------------------------------------- */

static void
admit_job_free(struct admit_job *j)
{
	if (j == NULL)
		return;
	admit_result_clear(&j->res);
	free(j->mfst);
	free(j);
}

static void
admit_run(struct registry *reg, struct db *db, struct admit_job *j)
{
	struct db_verdict_row row;
	char err[256];
	long long now = (long long)time(NULL);

	if (j->kind == JOB_FORGET) {
		if (db != NULL)
			db_verdict_forget(
			    db, j->repo, j->dgst, err, sizeof(err));
		return;
	}
	if (j->kind == JOB_TAG) {
		struct registry_desc d;
		struct registry_err rerr;
		enum registry_status st = REGISTRY_INVALID;

		if (reg != NULL)
			st = registry_manifest_head(
			    reg, j->repo, j->tag, NULL, &d, &rerr);
		j->found = st == REGISTRY_OK   ? 1
		    : st == REGISTRY_NOT_FOUND ? 0
					       : -1;
		if (st == REGISTRY_OK)
			snprintf(j->dgst, sizeof(j->dgst), "%.72s", d.dgst);
		else if (j->found == -1)
			snprintf(j->res.detail, sizeof(j->res.detail), "%s",
			    reg != NULL ? rerr.msg : "no registry client");
		if (j->found == 1 && j->dgst[0] == '\0') {
			j->found = -1;
			snprintf(j->res.detail, sizeof(j->res.detail),
			    "the registry named no digest for the tag");
		}
		return;
	}
	if (db != NULL &&
	    db_verdict_lookup(db, j->repo, j->dgst, j->conf->revision, now,
		&row, err, sizeof(err)) == 1) {
		memset(&j->res, 0, sizeof(j->res));
		j->res.admit = 1;
		j->res.reason = strcmp(row.reason, "via_index") == 0
		    ? ADMIT_VIA_INDEX
		    : ADMIT_SIGNED;
		snprintf(
		    j->res.detail, sizeof(j->res.detail), "%s", row.detail);
		snprintf(j->res.key, sizeof(j->res.key), "%s", row.key_name);
		snprintf(j->res.via, sizeof(j->res.via), "%s", row.via);
		j->res.expires = row.expires_at;
		return;
	}
	if (reg == NULL) {
		memset(&j->res, 0, sizeof(j->res));
		j->res.reason = ADMIT_UNAVAILABLE;
		snprintf(
		    j->res.detail, sizeof(j->res.detail), "no registry client");
		j->res.expires = now + 1;
		return;
	}
	admit_verify(j->conf, reg, db, 1, j->pidx, j->repo, j->dgst, j->mfst,
	    j->len, now, NULL, NULL, &j->res);
	if (j->res.reason == ADMIT_UNAVAILABLE)
		j->res.expires = now + 1; /* retry soon */
}

static void *
admit_worker(void *arg)
{
	struct admit *a = arg;
	struct registry *reg;
	struct db *db;
	struct admit_job *j;
	char err[512];
	uint64_t one = 1;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* The upstream is restart-only, but a->conf may be swapped meanwhile.
	 */
	pthread_mutex_lock(&a->mtx);
	reg = admit_registry_new(a->conf, err, sizeof(err));
	pthread_mutex_unlock(&a->mtx);
	db = db_open(a->db_path, err, sizeof(err));
	for (;;) {
		pthread_mutex_lock(&a->mtx);
		while (TAILQ_EMPTY(&a->todo) && !a->stopping)
			pthread_cond_wait(&a->cond, &a->mtx);
		if (a->stopping) {
			pthread_mutex_unlock(&a->mtx);
			break;
		}
		j = TAILQ_FIRST(&a->todo);
		TAILQ_REMOVE(&a->todo, j, entry);
		j->conf = a->conf; /* SIGHUP may swap a->conf meanwhile */
		j->conf->refs++;
		pthread_mutex_unlock(&a->mtx);
		admit_run(reg, db, j);
		pthread_mutex_lock(&a->mtx);
		if (--j->conf->refs == 0)
			admit_conf_free(j->conf);
		j->conf = NULL;
		TAILQ_INSERT_TAIL(&a->done, j, entry);
		pthread_mutex_unlock(&a->mtx);
		if (write(a->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			break;
	}
	registry_free(reg);
	db_close(db);
	return NULL;
}

/* ---- loop side -------------------------------------------------------- */

static void
admit_fill(struct admit_result *out, const struct admit_entry *e)
{
	memset(out, 0, sizeof(*out));
	out->admit = e->admit;
	out->reason = e->reason;
	snprintf(out->detail, sizeof(out->detail), "%s", e->detail);
	snprintf(out->key, sizeof(out->key), "%s", e->keyname);
	snprintf(out->via, sizeof(out->via), "%s", e->via);
	out->expires = e->expires;
}

static void
admit_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admit *a = arg;
	struct admit_job_list done;
	struct admit_job *j;
	struct admit_wait *w;
	uint64_t n;
	size_t i;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		return;
	TAILQ_INIT(&done);
	pthread_mutex_lock(&a->mtx);
	TAILQ_CONCAT(&done, &a->done, entry);
	pthread_mutex_unlock(&a->mtx);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		a->queued--;
		if (j->kind == JOB_VERIFY) {
			TAILQ_REMOVE(&a->flight, j, flight);
			if (j->res.admit)
				a->st.admitted++;
			else
				a->st.refused++;
			if (!j->stale) {
				admit_put(a, j->repo, j->dgst, &j->res, NULL);
				for (i = 0; i < j->res.nchildren; i++)
					admit_put(a, j->repo,
					    j->res.children[i], &j->res,
					    j->dgst);
			}
			while ((w = TAILQ_FIRST(&j->waiters)) != NULL) {
				TAILQ_REMOVE(&j->waiters, w, entry);
				w->cb(&j->res, w->arg);
				free(w);
			}
		} else if (j->kind == JOB_TAG) {
			while ((w = TAILQ_FIRST(&j->waiters)) != NULL) {
				TAILQ_REMOVE(&j->waiters, w, entry);
				w->tcb(
				    j->found, j->dgst, j->res.detail, w->arg);
				free(w);
			}
		}
		admit_job_free(j);
	}
}

static int
admit_enqueue(struct admit *a, struct admit_job *j)
{
	if (a->queued >= ADMIT_QUEUE_MAX)
		return -1;
	a->queued++;
	pthread_mutex_lock(&a->mtx);
	TAILQ_INSERT_TAIL(&a->todo, j, entry);
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mtx);
	return 0;
}

int
admit_check(struct admit *a, int pidx, const char *repo, const char *dgst,
    const void *mfst, size_t len, admit_cb cb, void *arg,
    struct admit_result *out, struct admit_wait **wp)
{
	struct admit_entry *e;
	struct admit_job *j;
	struct admit_wait *w;

	*wp = NULL;
	if ((e = admit_get(a, repo, dgst)) != NULL) {
		a->st.hits++;
		admit_fill(out, e);
		return 1;
	}
	a->st.misses++;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->cb = cb;
	w->arg = arg;
	TAILQ_FOREACH(j, &a->flight, flight)
	if (j->pidx == pidx && strcmp(j->repo, repo) == 0 &&
	    strcmp(j->dgst, dgst) == 0 && !j->stale)
		break;
	if (j == NULL) {
		if ((j = calloc(1, sizeof(*j))) == NULL ||
		    (j->mfst = malloc(len > 0 ? len : 1)) == NULL) {
			free(j);
			free(w);
			return -1;
		}
		j->kind = JOB_VERIFY;
		j->pidx = pidx;
		snprintf(j->repo, sizeof(j->repo), "%s", repo);
		snprintf(j->dgst, sizeof(j->dgst), "%s", dgst);
		memcpy(j->mfst, mfst, len);
		j->len = len;
		TAILQ_INIT(&j->waiters);
		if (admit_enqueue(a, j) == -1) {
			admit_job_free(j);
			free(w);
			return -1;
		}
		TAILQ_INSERT_TAIL(&a->flight, j, flight);
	}
	w->job = j;
	TAILQ_INSERT_TAIL(&j->waiters, w, entry);
	*wp = w;
	return 0;
}

int
admit_tag_lookup(struct admit *a, const char *repo, const char *tag,
    admit_tag_cb cb, void *arg, struct admit_wait **wp)
{
	struct admit_job *j;
	struct admit_wait *w;

	*wp = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (j = calloc(1, sizeof(*j))) == NULL) {
		free(w);
		return -1;
	}
	j->kind = JOB_TAG;
	snprintf(j->repo, sizeof(j->repo), "%s", repo);
	snprintf(j->tag, sizeof(j->tag), "%s", tag);
	TAILQ_INIT(&j->waiters);
	w->tcb = cb;
	w->arg = arg;
	w->job = j;
	TAILQ_INSERT_TAIL(&j->waiters, w, entry);
	if (admit_enqueue(a, j) == -1) {
		free(w);
		admit_job_free(j);
		return -1;
	}
	*wp = w;
	return 0;
}

void
admit_cancel(struct admit_wait *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->job->waiters, w, entry);
	free(w);
}

void
admit_invalidate(struct admit *a, const char *repo, const char *dgst)
{
	struct admit_entry *e, *next;
	struct admit_job *j;
	char key[ADMIT_KEY_MAX];

	if (!admit_key(key, repo, dgst))
		return;
	for (e = TAILQ_FIRST(&a->lru); e != NULL; e = next) {
		next = TAILQ_NEXT(e, lru);
		if (strcmp(e->key, key) == 0 ||
		    (strcmp(e->via, dgst) == 0 &&
			strncmp(e->key, key, strlen(repo) + 1) == 0))
			admit_drop(a, e);
	}
	TAILQ_FOREACH(j, &a->flight, flight)
	if (strcmp(j->repo, repo) == 0)
		j->stale = 1; /* its answer may predate the change */
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->kind = JOB_FORGET;
	snprintf(j->repo, sizeof(j->repo), "%s", repo);
	snprintf(j->dgst, sizeof(j->dgst), "%s", dgst);
	TAILQ_INIT(&j->waiters);
	if (admit_enqueue(a, j) == -1)
		admit_job_free(j);
}

void
admit_get_stats(const struct admit *a, struct admit_stats *st)
{
	*st = a->st;
	st->cached = a->nentries;
}

void
admit_reload(struct admit *a, struct admit_conf *conf)
{
	struct admit_conf *old;
	struct admit_entry *e;
	struct admit_job *j;

	conf->refs = 1;
	pthread_mutex_lock(&a->mtx);
	old = a->conf;
	a->conf = conf;
	if (--old->refs == 0)
		admit_conf_free(old);
	pthread_mutex_unlock(&a->mtx);
	/* Verdicts of the old revision no longer hold. */
	while ((e = TAILQ_FIRST(&a->lru)) != NULL)
		admit_drop(a, e);
	TAILQ_FOREACH(j, &a->flight, flight)
	j->stale = 1;
}

struct admit *
admit_new(struct event_base *base, struct admit_conf *conf, const char *db_path,
    char *err, size_t errlen)
{
	struct admit *a;
	unsigned i;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		admit_conf_free(conf);
		snprintf(err, errlen, "admission: out of memory");
		return NULL;
	}
	a->base = base;
	a->conf = conf;
	conf->refs = 1;
	a->efd = -1;
	TAILQ_INIT(&a->lru);
	TAILQ_INIT(&a->flight);
	TAILQ_INIT(&a->todo);
	TAILQ_INIT(&a->done);
	pthread_mutex_init(&a->mtx, NULL);
	pthread_cond_init(&a->cond, NULL);
	for (a->nslots = 64; a->nslots < 2 * (size_t)conf->cache_entries;)
		a->nslots *= 2;
	if ((a->db_path = strdup(db_path)) == NULL ||
	    (a->slots = calloc(a->nslots, sizeof(*a->slots))) == NULL ||
	    (a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (a->ev = event_new(base, a->efd, EV_READ | EV_PERSIST,
		 admit_deliver_cb, a)) == NULL ||
	    event_add(a->ev, NULL) == -1) {
		snprintf(err, errlen, "admission: cannot start: %s",
		    strerror(errno));
		admit_free(a);
		return NULL;
	}
	for (i = 0; i < conf->workers && i < ADMIT_WORKERS_MAX; i++) {
		if (pthread_create(&a->threads[i], NULL, admit_worker, a) != 0)
			break;
		a->nthreads++;
	}
	if (a->nthreads == 0) {
		snprintf(err, errlen, "admission: cannot start a worker");
		admit_free(a);
		return NULL;
	}
	return a;
}

void
admit_free(struct admit *a)
{
	struct admit_job *j;
	struct admit_wait *w;
	struct admit_entry *e;
	unsigned i;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mtx);
	a->stopping = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mtx);
	for (i = 0; i < a->nthreads; i++)
		pthread_join(a->threads[i], NULL);
	TAILQ_CONCAT(&a->done, &a->todo, entry);
	while ((j = TAILQ_FIRST(&a->done)) != NULL) {
		TAILQ_REMOVE(&a->done, j, entry);
		while ((w = TAILQ_FIRST(&j->waiters)) != NULL) {
			TAILQ_REMOVE(&j->waiters, w, entry);
			free(w);
		}
		admit_job_free(j);
	}
	while ((e = TAILQ_FIRST(&a->lru)) != NULL)
		admit_drop(a, e);
	if (a->ev != NULL)
		event_free(a->ev);
	if (a->efd != -1)
		close(a->efd);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mtx);
	free(a->slots);
	free(a->db_path);
	admit_conf_free(a->conf);
	free(a);
}
