/*
 * ledger: a bounded queue of ledger records and the one thread that
 * commits them to SQLite in batches (see ledger.h for the contract).
 *
 * A record is one heap block: a struct ledger_rec and, after it, copies of
 * its strings, which the db_ledger_* struct inside points to. The loop
 * thread allocates it and puts it on the ring; the writer takes it off,
 * inserts it and frees it. Nothing else is shared.
 *
 * Under l->mtx: the ring indexes (head, count), stopping, the flush
 * deadline and the counters. Every critical section is O(1): the writer
 * claims a run of slots (it stays counted, so the loop thread never writes
 * there), copies the pointers and writes them without the mutex, and
 * releases the run when done. SQLite never runs under the mutex, so the
 * loop thread waits for it at most a few instructions (unless the writer
 * is preempted inside one: then a scheduler slice, which is rare).
 *
 * Waking: the loop thread signals l->cond when the queue goes from empty
 * to non-empty and when it reaches the batch size; the writer, once it has
 * seen a record, waits for the batch size or for the delay to pass.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "regward/db.h"
#include "regward/db_admit.h"

#include "ledger.h"

#define LEDGER_BUSY_PAUSE_MS 10 /* between attempts on a locked database */
#define LEDGER_FOLD_KEYS 8 /* distinct pulls a batch folds repeats into */

enum ledger_rec_type {
	LEDGER_REC_PUSH,
	LEDGER_REC_EVENT,
	LEDGER_REC_PULL,
};

struct ledger_rec {
	enum ledger_rec_type type;
	union {
		struct db_ledger_push push;
		struct db_ledger_event event;
		struct db_pull pull;
	} u;
	char strs[]; /* the strings the struct above points to */
};

struct ledger {
	/* Fixed after ledger_new_with(). */
	struct ledger_opts o;
	struct db *db; /* the writer's connection */
	struct db_ledger *w;
	struct ledger_rec **batch; /* writer only: o.txn_max entries */
	pthread_t thread;
	int started;
	int mtx_ok;
	int cond_ok;

	pthread_mutex_t mtx;
	pthread_cond_t cond;
	struct ledger_rec **ring; /* o.queue_max entries */
	size_t head; /* oldest record */
	size_t count;
	int stopping;
	struct timespec deadline; /* CLOCK_MONOTONIC; when stopping */
	struct ledger_stats st; /* pending and last_err filled on copy */
	char last_err[LEDGER_ERR_MAX];
};

/* A string field to copy: source, cut length, and where the copy goes. */
struct ledger_field {
	const char *src;
	size_t len;
	const char **dst;
};

static void
ledger_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static void
ledger_add_ms(struct timespec *ts, unsigned ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* 1 when now is past the flush deadline. Under l->mtx, stopping set. */
static int
ledger_past_deadline(struct ledger *l)
{
	struct timespec now;

	ledger_now(&now);
	return now.tv_sec > l->deadline.tv_sec ||
	    (now.tv_sec == l->deadline.tv_sec &&
		now.tv_nsec >= l->deadline.tv_nsec);
}

/*
 * Fill f with s cut to max at a UTF-8 boundary; claims (json 1) too long
 * to store whole are left out. Returns the bytes the copy needs.
 */
static size_t
ledger_field_set(struct ledger_field *f, const char *s, size_t max, int json,
    const char **dst)
{
	f->src = s;
	f->dst = dst;
	f->len = 0;
	*dst = NULL;
	if (s == NULL)
		return 0;
	if (json) {
		if ((f->len = strnlen(s, max + 1)) > max) {
			f->src = NULL;
			f->len = 0;
			return 0;
		}
	} else
		f->len = db_ledger_clip(s, max);
	return f->len + 1;
}

/*
 * Allocate rec with room for need bytes of strings and copy the n fields
 * (whose dst point into the template *rec) into it. Returns NULL when out
 * of memory.
 */
static struct ledger_rec *
ledger_rec_new(const struct ledger_rec *tmpl, struct ledger_field *f, size_t n,
    size_t need)
{
	struct ledger_rec *rec;
	const char **dst;
	char *p;
	size_t i;

	if ((rec = malloc(sizeof(*rec) + need)) == NULL)
		return NULL;
	memcpy(rec, tmpl, sizeof(*rec));
	p = rec->strs;
	for (i = 0; i < n; i++) {
		if (f[i].src == NULL)
			continue;
		/* Same offset in the new record as in the template. */
		dst = (const char **)((char *)rec +
		    ((const char *)f[i].dst - (const char *)tmpl));
		memcpy(p, f[i].src, f[i].len);
		p[f[i].len] = '\0';
		*dst = p;
		p += f[i].len + 1;
	}
	return rec;
}

/*
 * Put rec on the ring, or count it dropped and free it when the ring is
 * full (or rec is NULL: out of memory). Loop thread.
 */
static int
ledger_enqueue(struct ledger *l, struct ledger_rec *rec)
{
	int ret = -1;

	pthread_mutex_lock(&l->mtx);
	if (rec == NULL || l->count >= l->o.queue_max || l->stopping) {
		l->st.dropped++;
	} else {
		l->ring[(l->head + l->count) % l->o.queue_max] = rec;
		l->count++;
		l->st.queued++;
		if (l->count == 1 || l->count == l->o.batch)
			pthread_cond_signal(&l->cond);
		rec = NULL;
		ret = 0;
	}
	pthread_mutex_unlock(&l->mtx);
	free(rec);
	return ret;
}

static long long
ledger_at(long long at)
{
	return at != 0 ? at : (long long)time(NULL);
}

int
ledger_push(struct ledger *l, const struct ledger_push *p)
{
	struct ledger_rec tmpl;
	struct db_ledger_push *d = &tmpl.u.push;
	struct ledger_field f[8];
	size_t need = 0, n = 0;

	if (p->repository == NULL || p->repository[0] == '\0' ||
	    p->digest == NULL || p->digest[0] == '\0' || p->principal == NULL ||
	    p->principal[0] == '\0')
		return -1;
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.type = LEDGER_REC_PUSH;
	d->at = ledger_at(p->at);
	d->size = p->size < 0 ? -1 : p->size;
	need += ledger_field_set(
	    &f[n++], p->repository, DB_LEDGER_REPO_MAX, 0, &d->repository);
	need +=
	    ledger_field_set(&f[n++], p->tag, DB_LEDGER_TAG_MAX, 0, &d->tag);
	need += ledger_field_set(
	    &f[n++], p->digest, DB_LEDGER_DIGEST_MAX, 0, &d->digest);
	need += ledger_field_set(&f[n++], p->media_type,
	    DB_LEDGER_MEDIA_TYPE_MAX, 0, &d->media_type);
	need += ledger_field_set(
	    &f[n++], p->principal, DB_LEDGER_PRINCIPAL_MAX, 0, &d->principal);
	need += ledger_field_set(
	    &f[n++], p->client, DB_LEDGER_CLIENT_MAX, 0, &d->client);
	need += ledger_field_set(
	    &f[n++], p->claims, DB_LEDGER_CLAIMS_MAX, 1, &d->claims);
	return ledger_enqueue(l, ledger_rec_new(&tmpl, f, n, need));
}

int
ledger_event(struct ledger *l, const struct ledger_event *e)
{
	struct ledger_rec tmpl;
	struct db_ledger_event *d = &tmpl.u.event;
	struct ledger_field f[9];
	size_t need = 0, n = 0;

	if (e->kind == DB_LEDGER_PUSH || db_ledger_kind_name(e->kind) == NULL)
		return -1;
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.type = LEDGER_REC_EVENT;
	d->at = ledger_at(e->at);
	d->kind = e->kind;
	d->status = e->status;
	need += ledger_field_set(
	    &f[n++], e->principal, DB_LEDGER_PRINCIPAL_MAX, 0, &d->principal);
	need += ledger_field_set(
	    &f[n++], e->client, DB_LEDGER_CLIENT_MAX, 0, &d->client);
	need += ledger_field_set(
	    &f[n++], e->repository, DB_LEDGER_REPO_MAX, 0, &d->repository);
	need +=
	    ledger_field_set(&f[n++], e->ref, DB_LEDGER_REF_MAX, 0, &d->ref);
	need += ledger_field_set(
	    &f[n++], e->digest, DB_LEDGER_DIGEST_MAX, 0, &d->digest);
	need += ledger_field_set(
	    &f[n++], e->method, DB_LEDGER_METHOD_MAX, 0, &d->method);
	need += ledger_field_set(
	    &f[n++], e->reason, DB_LEDGER_REASON_MAX, 0, &d->reason);
	need += ledger_field_set(
	    &f[n++], e->claims, DB_LEDGER_CLAIMS_MAX, 1, &d->claims);
	return ledger_enqueue(l, ledger_rec_new(&tmpl, f, n, need));
}

int
ledger_pull(struct ledger *l, const struct ledger_pull *p)
{
	struct ledger_rec tmpl;
	struct db_pull *d = &tmpl.u.pull;
	struct ledger_field f[3];
	size_t need = 0, n = 0;

	if (p->repository == NULL || p->repository[0] == '\0' ||
	    p->digest == NULL || p->digest[0] == '\0')
		return -1;
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.type = LEDGER_REC_PULL;
	d->at = ledger_at(p->at);
	need += ledger_field_set(
	    &f[n++], p->repository, DB_LEDGER_REPO_MAX, 0, &d->repository);
	need += ledger_field_set(
	    &f[n++], p->digest, DB_LEDGER_DIGEST_MAX, 0, &d->digest);
	need +=
	    ledger_field_set(&f[n++], p->tag, DB_LEDGER_TAG_MAX, 0, &d->tag);
	return ledger_enqueue(l, ledger_rec_new(&tmpl, f, n, need));
}

unsigned long long
ledger_dropped(struct ledger *l)
{
	unsigned long long n;

	pthread_mutex_lock(&l->mtx);
	n = l->st.dropped;
	pthread_mutex_unlock(&l->mtx);
	return n;
}

void
ledger_stats(struct ledger *l, struct ledger_stats *out)
{
	pthread_mutex_lock(&l->mtx);
	*out = l->st;
	out->pending = l->count;
	memcpy(out->last_err, l->last_err, sizeof(out->last_err));
	pthread_mutex_unlock(&l->mtx);
}

/* Writer: remember err as the last error. */
static void
ledger_note_err(struct ledger *l, const char *err)
{
	pthread_mutex_lock(&l->mtx);
	snprintf(l->last_err, sizeof(l->last_err), "%s", err);
	pthread_mutex_unlock(&l->mtx);
}

/* How many queued records rec stands for (a pull may hold several). */
static unsigned long long
ledger_rec_weight(const struct ledger_rec *rec)
{
	if (rec->type == LEDGER_REC_PULL && rec->u.pull.count > 1)
		return (unsigned long long)rec->u.pull.count;
	return 1;
}

static unsigned long long
ledger_weight(struct ledger_rec *const *recs, size_t n)
{
	unsigned long long w = 0;
	size_t i;

	for (i = 0; i < n; i++)
		w += ledger_rec_weight(recs[i]);
	return w;
}

static int
ledger_pull_same(const struct db_pull *a, const struct db_pull *b)
{
	return strcmp(a->repository, b->repository) == 0 &&
	    strcmp(a->digest, b->digest) == 0 &&
	    strcmp(a->tag != NULL ? a->tag : "",
		b->tag != NULL ? b->tag : "") == 0;
}

/*
 * Writer: fold the pulls of recs[0..n) that repeat one of the last
 * LEDGER_FOLD_KEYS distinct (repository, digest, tag) kept so far into
 * that record (count summed, latest time), freeing the repeats and
 * compacting recs. A busy tag is pulled over and over: one upsert per
 * batch instead of one per request. Returns the records left.
 */
static size_t
ledger_fold_pulls(struct ledger_rec **recs, size_t n)
{
	struct db_pull *keep[LEDGER_FOLD_KEYS], *p;
	size_t i, k, w = 0, nkeep = 0, next = 0;

	for (i = 0; i < n; i++) {
		if (recs[i]->type != LEDGER_REC_PULL) {
			recs[w++] = recs[i];
			continue;
		}
		p = &recs[i]->u.pull;
		for (k = 0; k < nkeep; k++)
			if (ledger_pull_same(keep[k], p))
				break;
		if (k < nkeep) {
			keep[k]->count += (long long)ledger_rec_weight(recs[i]);
			if (p->at > keep[k]->at)
				keep[k]->at = p->at;
			free(recs[i]);
			recs[i] = NULL;
			continue;
		}
		p->count = (long long)ledger_rec_weight(recs[i]);
		keep[next] = p;
		next = (next + 1) % LEDGER_FOLD_KEYS;
		if (nkeep < LEDGER_FOLD_KEYS)
			nkeep++;
		recs[w++] = recs[i];
	}
	return w;
}

/* Writer: insert recs[0..n) and commit, in one transaction. */
static enum db_ledger_status
ledger_txn(struct ledger *l, struct ledger_rec **recs, size_t n, char *err,
    size_t errlen)
{
	enum db_ledger_status s;
	size_t i;

	if ((s = db_ledger_begin(l->w, err, errlen)) != DB_LEDGER_OK)
		return s;
	for (i = 0; i < n; i++) {
		if (recs[i]->type == LEDGER_REC_PUSH)
			s = db_ledger_push_insert(
			    l->w, &recs[i]->u.push, err, errlen);
		else if (recs[i]->type == LEDGER_REC_PULL)
			s = db_pull_record(
			    l->db, &recs[i]->u.pull, err, errlen);
		else
			s = db_ledger_event_insert(
			    l->w, &recs[i]->u.event, err, errlen);
		if (s != DB_LEDGER_OK)
			goto bad;
	}
	if (l->o.txn_hook != NULL)
		l->o.txn_hook(l->o.txn_hook_arg);
	if ((s = db_ledger_commit(l->w, err, errlen)) != DB_LEDGER_OK)
		goto bad;
	return DB_LEDGER_OK;
bad:
	db_ledger_rollback(l->w);
	return s;
}

/*
 * Writer: commit recs[0..n), retrying while the database is locked (until
 * the flush deadline once stopping). A batch failing otherwise is retried
 * one record per transaction, so that one bad record or a passing error
 * costs only what it must.
 */
static void
ledger_write(struct ledger *l, struct ledger_rec **recs, size_t n)
{
	char err[LEDGER_ERR_MAX];
	struct timespec pause = {0, LEDGER_BUSY_PAUSE_MS * 1000000L};
	enum db_ledger_status s;
	int give_up;
	size_t i;

	for (;;) {
		err[0] = '\0';
		s = ledger_txn(l, recs, n, err, sizeof(err));
		if (s == DB_LEDGER_OK) {
			pthread_mutex_lock(&l->mtx);
			l->st.written += ledger_weight(recs, n);
			l->st.batches++;
			pthread_mutex_unlock(&l->mtx);
			return;
		}
		if (s != DB_LEDGER_BUSY)
			break;
		pthread_mutex_lock(&l->mtx);
		l->st.busy++;
		give_up = l->stopping && ledger_past_deadline(l);
		if (give_up)
			l->st.failed += ledger_weight(recs, n);
		snprintf(l->last_err, sizeof(l->last_err), "%s", err);
		pthread_mutex_unlock(&l->mtx);
		if (give_up)
			return;
		nanosleep(&pause, NULL);
	}
	if (n == 1) {
		pthread_mutex_lock(&l->mtx);
		l->st.failed += ledger_rec_weight(recs[0]);
		pthread_mutex_unlock(&l->mtx);
		ledger_note_err(l, err);
		return;
	}
	for (i = 0; i < n; i++)
		ledger_write(l, &recs[i], 1);
}

static void *
ledger_writer(void *arg)
{
	struct ledger *l = arg;
	struct timespec until;
	size_t head, i, n, w;

	pthread_mutex_lock(&l->mtx);
	for (;;) {
		while (!l->stopping && l->count == 0)
			pthread_cond_wait(&l->cond, &l->mtx);
		if (l->count == 0 || (l->stopping && ledger_past_deadline(l)))
			break;
		if (!l->stopping && l->count < l->o.batch) {
			ledger_now(&until);
			ledger_add_ms(&until, l->o.delay_ms);
			while (!l->stopping && l->count < l->o.batch)
				if (pthread_cond_timedwait(
					&l->cond, &l->mtx, &until) == ETIMEDOUT)
					break;
		}
		/*
		 * Claim the n oldest slots; they stay counted (the loop
		 * thread writes only past head + count) until released below,
		 * so the pointers are copied out without the mutex.
		 */
		n = l->count < l->o.txn_max ? l->count : l->o.txn_max;
		head = l->head;
		pthread_mutex_unlock(&l->mtx);

		for (i = 0; i < n; i++)
			l->batch[i] = l->ring[(head + i) % l->o.queue_max];
		w = ledger_fold_pulls(l->batch, n);
		ledger_write(l, l->batch, w);
		for (i = 0; i < w; i++) {
			free(l->batch[i]);
			l->batch[i] = NULL;
		}

		pthread_mutex_lock(&l->mtx);
		l->head = (head + n) % l->o.queue_max;
		l->count -= n;
	}
	/* Past the flush deadline: what is left is lost. */
	l->st.failed += l->count;
	while (l->count > 0) {
		free(l->ring[l->head]);
		l->ring[l->head] = NULL;
		l->head = (l->head + 1) % l->o.queue_max;
		l->count--;
	}
	pthread_mutex_unlock(&l->mtx);
	return NULL;
}

struct ledger *
ledger_new(const char *db_path, char *err, size_t errlen)
{
	return ledger_new_with(db_path, NULL, err, errlen);
}

struct ledger *
ledger_new_with(const char *db_path, const struct ledger_opts *opts, char *err,
    size_t errlen)
{
	struct ledger *l = NULL, *ret = NULL;
	pthread_condattr_t ca;
	sigset_t all, old;
	int masked = 0, rc;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "ledger: out of memory");
		goto out;
	}
	if (opts != NULL)
		l->o = *opts;
	if (l->o.queue_max == 0)
		l->o.queue_max = LEDGER_QUEUE_MAX_DEFAULT;
	if (l->o.batch == 0)
		l->o.batch = LEDGER_BATCH_DEFAULT;
	if (l->o.delay_ms == 0)
		l->o.delay_ms = LEDGER_DELAY_MS_DEFAULT;
	if (l->o.txn_max == 0)
		l->o.txn_max = LEDGER_TXN_MAX_DEFAULT;
	if (l->o.busy_ms == 0)
		l->o.busy_ms = LEDGER_BUSY_MS_DEFAULT;
	if (l->o.flush_ms == 0)
		l->o.flush_ms = LEDGER_FLUSH_MS_DEFAULT;
	if (l->o.queue_max > SIZE_MAX / sizeof(*l->ring) ||
	    l->o.txn_max > SIZE_MAX / sizeof(*l->batch) ||
	    l->o.busy_ms > INT32_MAX) {
		snprintf(err, errlen, "ledger: queue or batch too large");
		goto out;
	}

	if (pthread_mutex_init(&l->mtx, NULL) != 0) {
		snprintf(err, errlen, "ledger: cannot make a mutex");
		goto out;
	}
	l->mtx_ok = 1;
	if (pthread_condattr_init(&ca) != 0) {
		snprintf(err, errlen, "ledger: cannot make a condition");
		goto out;
	}
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0) {
		snprintf(err, errlen, "ledger: cannot make a condition");
		goto out;
	}
	l->cond_ok = 1;
	if ((l->ring = calloc(l->o.queue_max, sizeof(*l->ring))) == NULL ||
	    (l->batch = calloc(l->o.txn_max, sizeof(*l->batch))) == NULL) {
		snprintf(err, errlen, "ledger: out of memory");
		goto out;
	}

	if ((l->db = db_open(db_path, err, errlen)) == NULL)
		goto out;
	db_ledger_busy_timeout(l->db, (int)l->o.busy_ms);
	if ((l->w = db_ledger_new(l->db, err, errlen)) == NULL)
		goto out;

	/* Signals belong to the loop thread: the writer takes none. */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0) {
		snprintf(err, errlen, "ledger: cannot mask signals");
		goto out;
	}
	masked = 1;
	if ((rc = pthread_create(&l->thread, NULL, ledger_writer, l)) != 0) {
		snprintf(err, errlen, "ledger: cannot start the writer: %s",
		    strerror(rc));
		goto out;
	}
	l->started = 1;
	ret = l;
	l = NULL;
out:
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	ledger_free(l);
	return ret;
}

void
ledger_free(struct ledger *l)
{
	if (l == NULL)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->mtx);
		l->stopping = 1;
		ledger_now(&l->deadline);
		ledger_add_ms(&l->deadline, l->o.flush_ms);
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->mtx);
		pthread_join(l->thread, NULL);
		l->started = 0;
	}
	/* No writer: the ring is ours (and empty when a writer ran). */
	while (l->ring != NULL && l->count > 0) {
		free(l->ring[l->head]);
		l->head = (l->head + 1) % l->o.queue_max;
		l->count--;
	}
	free(l->ring);
	l->ring = NULL;
	free(l->batch);
	l->batch = NULL;
	db_ledger_free(l->w);
	l->w = NULL;
	db_close(l->db);
	l->db = NULL;
	if (l->cond_ok)
		pthread_cond_destroy(&l->cond);
	if (l->mtx_ok)
		pthread_mutex_destroy(&l->mtx);
	free(l);
}
