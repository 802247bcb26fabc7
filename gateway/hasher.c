/*
 * hasher: password checks on worker threads, results on the loop thread.
 *
 * A job lives on one of two lists of the hasher, or on none:
 *
 *   QUEUED      on h->queue, waiting for a worker
 *   RUNNING     on no list, owned by the worker that took it
 *   DONE        on h->done, waiting for hasher_deliver_cb()
 *   DELIVERING  on no list, owned by hasher_deliver_cb() during the callback
 *
 * The state, the cancelled flag, the lists and the counts are guarded by
 * h->mtx. The loop thread is the only one to run callbacks and the only
 * one to cancel, so "the callback never runs after hasher_cancel()" comes
 * down to: cancel unlinks a QUEUED or DONE job under the mutex (the worker
 * or the delivery can then no longer find it), and flags a RUNNING one, so
 * that its worker frees it instead of moving it to h->done. The delivery
 * takes DONE jobs one at a time under the mutex, so a callback that
 * cancels another done job still finds it on h->done.
 *
 * Delivery: a worker that moves a job to h->done adds 1 to an eventfd;
 * a persistent read event on it runs hasher_deliver_cb() on the loop.
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
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "regward/db.h"

#include "hasher.h"

enum hasher_state {
	HASHER_JOB_QUEUED,
	HASHER_JOB_RUNNING,
	HASHER_JOB_DONE,
	HASHER_JOB_DELIVERING,
};

struct hasher_job {
	TAILQ_ENTRY(hasher_job) entry;
	struct hasher *h;
	enum hasher_state state; /* h->mtx */
	int cancelled; /* h->mtx; RUNNING only */
	hasher_cb cb;
	void *arg;
	hasher_verify_fn verify; /* fixed at submit */
	void *verify_ctx;
	enum db_principal_kind kind;
	/* One byte more than a valid name: a longer one stays invalid. */
	char name[DB_PRINCIPAL_NAME_MAX + 2];
	char *password; /* NUL-terminated copy; wiped and NULL once used */
	size_t passlen;
	/* Result, written by the worker before it takes h->mtx. */
	enum db_principal_verdict verdict;
	struct db_principal *principal; /* _OK */
	char err[HASHER_ERR_MAX];
};

TAILQ_HEAD(hasher_jobs, hasher_job);

struct hasher {
	struct event_base *base;
	struct db *db;
	hasher_verify_fn verify; /* loop thread only */
	void *verify_ctx;
	size_t max_queue;
	int efd;
	struct event *ev;
	pthread_t *threads;
	unsigned nthreads; /* started */
	int delivering; /* loop thread: inside hasher_deliver_cb() */
	int freed; /* loop thread: hasher_free() ran during delivery */

	pthread_mutex_t mtx;
	pthread_cond_t cond; /* a job was queued, or stopping */
	struct hasher_jobs queue;
	struct hasher_jobs done;
	size_t njobs; /* in flight, see hasher_new() */
	int stopping;
};

static enum db_principal_verdict
hasher_verify_db(void *ctx, enum db_principal_kind kind, const char *name,
    const char *password, struct db_principal **out, char *err, size_t errlen)
{
	return db_principal_verify(ctx, kind, name, password, out, err, errlen);
}

/* Free job (on no list), wiping what is left of the password. */
static void
hasher_job_free(struct hasher_job *job)
{
	if (job == NULL)
		return;
	if (job->password != NULL) {
		OPENSSL_cleanse(job->password, job->passlen);
		free(job->password);
		job->password = NULL;
	}
	db_principal_free(job->principal);
	job->principal = NULL;
	free(job);
}

/* Tell the loop that h->done has work. Any thread. */
static void
hasher_notify(struct hasher *h)
{
	uint64_t one = 1;
	ssize_t n;

	/* Only EINTR can happen: the counter cannot come near overflow. */
	do {
		n = write(h->efd, &one, sizeof(one));
	} while (n == -1 && errno == EINTR);
}

/*
 * Run one job outside the mutex; the worker owns it (RUNNING). The
 * password copy is wiped as soon as the hash is done.
 */
static void
hasher_run(struct hasher_job *job)
{
	struct db_principal *p = NULL;

	job->err[0] = '\0';
	job->verdict = job->verify(job->verify_ctx, job->kind, job->name,
	    job->password, &p, job->err, sizeof(job->err));
	if (job->verdict == DB_PRINCIPAL_VERIFY_OK)
		job->principal = p;
	else
		db_principal_free(p);
	if (job->verdict != DB_PRINCIPAL_VERIFY_ERROR)
		job->err[0] = '\0';
	OPENSSL_cleanse(job->password, job->passlen);
	free(job->password);
	job->password = NULL;
}

static void *
hasher_worker(void *arg)
{
	struct hasher *h = arg;
	struct hasher_job *job;
	int notify;

	pthread_mutex_lock(&h->mtx);
	for (;;) {
		while (!h->stopping && TAILQ_EMPTY(&h->queue))
			pthread_cond_wait(&h->cond, &h->mtx);
		if (h->stopping)
			break;
		job = TAILQ_FIRST(&h->queue);
		TAILQ_REMOVE(&h->queue, job, entry);
		job->state = HASHER_JOB_RUNNING;
		pthread_mutex_unlock(&h->mtx);

		hasher_run(job);

		pthread_mutex_lock(&h->mtx);
		notify = 0;
		if (job->cancelled) {
			h->njobs--;
		} else {
			job->state = HASHER_JOB_DONE;
			TAILQ_INSERT_TAIL(&h->done, job, entry);
			job = NULL;
			notify = 1;
		}
		pthread_mutex_unlock(&h->mtx);
		/* hasher_free() closes efd only after joining us. */
		if (notify)
			hasher_notify(h);
		hasher_job_free(job); /* the cancelled one, if any */
		pthread_mutex_lock(&h->mtx);
	}
	pthread_mutex_unlock(&h->mtx);
	return NULL;
}

/*
 * The eventfd is readable: deliver every DONE job, one at a time, so that
 * a callback may cancel jobs further down the list or free the hasher.
 */
static void
hasher_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hasher *h = arg;
	struct hasher_job *job;
	struct hasher_result res;
	uint64_t cnt;

	(void)what;
	/* Reset the counter first: a job done after this wakes us again. */
	if (read(fd, &cnt, sizeof(cnt)) == -1 && errno != EAGAIN &&
	    errno != EINTR)
		return;
	h->delivering = 1;
	for (;;) {
		pthread_mutex_lock(&h->mtx);
		if ((job = TAILQ_FIRST(&h->done)) != NULL) {
			TAILQ_REMOVE(&h->done, job, entry);
			job->state = HASHER_JOB_DELIVERING;
		}
		pthread_mutex_unlock(&h->mtx);
		if (job == NULL)
			break;

		memset(&res, 0, sizeof(res));
		res.verdict = job->verdict;
		res.kind = job->kind;
		res.name = job->name;
		res.err = job->err;
		if (job->principal != NULL) {
			res.name = job->principal->name;
			res.roles = (const char *const *)job->principal->roles;
			res.nroles = job->principal->nroles;
		}
		job->cb(&res, job->arg);

		if (h->freed) {
			/* hasher_free() ran in the callback: finish it. */
			hasher_job_free(job);
			free(h);
			return;
		}
		pthread_mutex_lock(&h->mtx);
		h->njobs--;
		pthread_mutex_unlock(&h->mtx);
		hasher_job_free(job);
	}
	h->delivering = 0;
}

/* Stop and join the started workers. */
static void
hasher_stop(struct hasher *h)
{
	unsigned i;

	pthread_mutex_lock(&h->mtx);
	h->stopping = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mtx);
	for (i = 0; i < h->nthreads; i++)
		pthread_join(h->threads[i], NULL);
	h->nthreads = 0;
}

struct hasher *
hasher_new(
    struct event_base *base, struct db *db, unsigned nthreads, size_t max_queue)
{
	struct hasher *h = NULL, *ret = NULL;
	sigset_t all, old;
	unsigned i, want;
	int masked = 0;

	want = nthreads == 0 ? HASHER_THREADS_DEFAULT : nthreads;
	if (want > HASHER_THREADS_MAX)
		goto out;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto out;
	h->base = base;
	h->db = db;
	h->verify = hasher_verify_db;
	h->verify_ctx = db;
	h->max_queue = max_queue == 0 ? HASHER_QUEUE_DEFAULT : max_queue;
	h->efd = -1;
	TAILQ_INIT(&h->queue);
	TAILQ_INIT(&h->done);
	if (pthread_mutex_init(&h->mtx, NULL) != 0) {
		free(h);
		h = NULL;
		goto out;
	}
	if (pthread_cond_init(&h->cond, NULL) != 0) {
		pthread_mutex_destroy(&h->mtx);
		free(h);
		h = NULL;
		goto out;
	}
	if ((h->threads = calloc(want, sizeof(*h->threads))) == NULL)
		goto out;
	if ((h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		goto out;
	if ((h->ev = event_new(base, h->efd, EV_READ | EV_PERSIST,
		 hasher_deliver_cb, h)) == NULL ||
	    event_add(h->ev, NULL) == -1)
		goto out;
	/* Signals belong to the loop thread: workers inherit a full mask. */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		goto out;
	masked = 1;
	for (i = 0; i < want; i++) {
		if (pthread_create(&h->threads[i], NULL, hasher_worker, h) != 0)
			goto out;
		h->nthreads++;
	}
	ret = h;
	h = NULL;
out:
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	hasher_free(h);
	return ret;
}

void
hasher_set_verify(struct hasher *h, hasher_verify_fn fn, void *ctx)
{
	h->verify = fn != NULL ? fn : hasher_verify_db;
	h->verify_ctx = fn != NULL ? ctx : h->db;
}

struct hasher_job *
hasher_submit(struct hasher *h, enum db_principal_kind kind, const char *name,
    const char *password, size_t passlen, hasher_cb cb, void *arg)
{
	struct hasher_job *job = NULL, *ret = NULL;
	int full;

	pthread_mutex_lock(&h->mtx);
	full = h->njobs >= h->max_queue;
	pthread_mutex_unlock(&h->mtx);
	if (full)
		goto out;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		goto out;
	job->h = h;
	job->cb = cb;
	job->arg = arg;
	job->verify = h->verify;
	job->verify_ctx = h->verify_ctx;
	job->kind = kind;
	snprintf(job->name, sizeof(job->name), "%s", name);
	/* Never truncate at a NUL: "secret\0x" must not pass as "secret". */
	if (password == NULL || passlen > DB_PRINCIPAL_SECRET_MAX ||
	    memchr(password, '\0', passlen) != NULL)
		passlen = 0;
	if ((job->password = malloc(passlen + 1)) == NULL)
		goto out;
	job->passlen = passlen;
	if (passlen > 0)
		memcpy(job->password, password, passlen);
	job->password[passlen] = '\0';

	pthread_mutex_lock(&h->mtx);
	/* Only the loop thread adds jobs: the count cannot have grown. */
	h->njobs++;
	job->state = HASHER_JOB_QUEUED;
	TAILQ_INSERT_TAIL(&h->queue, job, entry);
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->mtx);
	ret = job;
	job = NULL;
out:
	hasher_job_free(job);
	return ret;
}

void
hasher_cancel(struct hasher_job *job)
{
	struct hasher *h;
	struct hasher_job *drop = NULL;

	if (job == NULL)
		return;
	h = job->h;
	pthread_mutex_lock(&h->mtx);
	switch (job->state) {
	case HASHER_JOB_QUEUED:
		TAILQ_REMOVE(&h->queue, job, entry);
		drop = job;
		break;
	case HASHER_JOB_DONE:
		TAILQ_REMOVE(&h->done, job, entry);
		drop = job;
		break;
	case HASHER_JOB_RUNNING:
		job->cancelled = 1; /* its worker frees it */
		break;
	case HASHER_JOB_DELIVERING:
		break; /* freed when its callback returns */
	}
	if (drop != NULL)
		h->njobs--;
	pthread_mutex_unlock(&h->mtx);
	hasher_job_free(drop);
}

void
hasher_free(struct hasher *h)
{
	struct hasher_job *job;

	if (h == NULL)
		return;
	if (h->threads != NULL) {
		hasher_stop(h);
		free(h->threads);
		h->threads = NULL;
		/* No thread left: the lists are ours. */
		while ((job = TAILQ_FIRST(&h->queue)) != NULL) {
			TAILQ_REMOVE(&h->queue, job, entry);
			hasher_job_free(job);
		}
		while ((job = TAILQ_FIRST(&h->done)) != NULL) {
			TAILQ_REMOVE(&h->done, job, entry);
			hasher_job_free(job);
		}
		h->njobs = 0;
	}
	if (h->ev != NULL) {
		event_free(h->ev);
		h->ev = NULL;
	}
	if (h->efd != -1) {
		close(h->efd);
		h->efd = -1;
	}
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mtx);
	if (h->delivering) {
		h->freed = 1; /* hasher_deliver_cb() frees h */
		return;
	}
	free(h);
}
