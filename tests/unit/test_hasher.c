/*
 * test_hasher: the password-check pool (gateway/hasher.c).
 *
 * Most cases use a fake verifier (no database) whose speed the test
 * controls: a job whose password is "block" waits in the verifier until
 * the test opens the gate; "good" passes, "error" fails with _ERROR and
 * anything else is _BAD. With one worker, jobs run in submission order,
 * so "job N has started" proves "jobs before N are done and queued for
 * delivery": the cancellation cases rely on that, not on sleeps.
 * The last case checks a real yescrypt hash in a temp database.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "regward/db.h"

#include "hasher.h"

#ifndef REGWARD_TEST_DATA
#error "define REGWARD_TEST_DATA as the absolute path of tests/data"
#endif

#define TEST_HASHER_WAIT_MS 10000 /* a case that takes longer has hung */
#define TEST_HASHER_MANY 200

/* The fake verifier's controls and what it saw; fk->mtx guards all. */
struct test_hasher_fake {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	int gate_closed; /* "block" jobs wait while set */
	unsigned started;
	unsigned finished;
	unsigned on_loop; /* calls made on the loop thread: must stay 0 */
	unsigned delay_ms; /* every call sleeps this long */
	char last_password[DB_PRINCIPAL_SECRET_MAX + 2];
	pthread_t loop;
};

struct test_hasher;

/* One submitted job and what its callback saw. */
struct test_hasher_rec {
	struct test_hasher *t;
	struct hasher_job *job;
	unsigned calls;
	int on_loop;
	enum db_principal_verdict verdict;
	enum db_principal_kind kind;
	char name[DB_PRINCIPAL_NAME_MAX + 2];
	char roles[256]; /* comma-joined */
	char err[HASHER_ERR_MAX];
	/* Actions for the callback. */
	struct test_hasher_rec *cancel_other;
	int cancel_self;
	int free_hasher;
};

struct test_hasher {
	struct event_base *base;
	struct hasher *h;
	struct test_hasher_fake fk;
	pthread_t loop;
	unsigned delivered;
	unsigned want; /* break the loop at this many deliveries */
	int timed_out;
	/* test_hasher_loop_runs */
	struct event *tick;
	unsigned ticks;
	unsigned ticks_before_delivery;
	/* real database */
	char dir[64];
	char path[96];
	struct db *db;
};

static enum db_principal_verdict
test_hasher_fake_verify(void *ctx, enum db_principal_kind kind,
    const char *name, const char *password, struct db_principal **out,
    char *err, size_t errlen)
{
	struct test_hasher_fake *fk = ctx;
	struct db_principal *p;
	struct timespec ts;
	enum db_principal_verdict v;

	*out = NULL;
	pthread_mutex_lock(&fk->mtx);
	fk->started++;
	if (pthread_equal(pthread_self(), fk->loop))
		fk->on_loop++;
	snprintf(fk->last_password, sizeof(fk->last_password), "%s", password);
	pthread_cond_broadcast(&fk->cond);
	while (fk->gate_closed && strcmp(password, "block") == 0)
		pthread_cond_wait(&fk->cond, &fk->mtx);
	ts.tv_sec = fk->delay_ms / 1000;
	ts.tv_nsec = (long)(fk->delay_ms % 1000) * 1000000L;
	pthread_mutex_unlock(&fk->mtx);
	if (ts.tv_sec != 0 || ts.tv_nsec != 0)
		nanosleep(&ts, NULL);

	if (strcmp(password, "error") == 0) {
		snprintf(err, errlen, "fake failure for %s", name);
		v = DB_PRINCIPAL_VERIFY_ERROR;
	} else if (strcmp(password, "good") == 0 &&
	    (p = calloc(1, sizeof(*p))) != NULL) {
		p->kind = kind;
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->roles = calloc(2, sizeof(*p->roles));
		if (p->roles != NULL) {
			p->roles[0] = strdup("pull");
			p->roles[1] = strdup("push");
			p->nroles = 2;
		}
		*out = p;
		v = DB_PRINCIPAL_VERIFY_OK;
	} else {
		v = DB_PRINCIPAL_VERIFY_BAD;
	}
	pthread_mutex_lock(&fk->mtx);
	fk->finished++;
	pthread_cond_broadcast(&fk->cond);
	pthread_mutex_unlock(&fk->mtx);
	return v;
}

/* Wait (on the test thread) until the fake has started n calls. */
static void
test_hasher_wait_started(struct test_hasher *t, unsigned n)
{
	struct test_hasher_fake *fk = &t->fk;
	struct timespec dl;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += TEST_HASHER_WAIT_MS / 1000;
	pthread_mutex_lock(&fk->mtx);
	while (fk->started < n && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&fk->cond, &fk->mtx, &dl);
	pthread_mutex_unlock(&fk->mtx);
	assert_int_not_equal(rc, ETIMEDOUT);
}

static void
test_hasher_gate(struct test_hasher *t, int closed)
{
	pthread_mutex_lock(&t->fk.mtx);
	t->fk.gate_closed = closed;
	pthread_cond_broadcast(&t->fk.cond);
	pthread_mutex_unlock(&t->fk.mtx);
}

static unsigned
test_hasher_fake_count(struct test_hasher *t, const unsigned *what)
{
	unsigned n;

	pthread_mutex_lock(&t->fk.mtx);
	n = *what;
	pthread_mutex_unlock(&t->fk.mtx);
	return n;
}

static void
test_hasher_cb(const struct hasher_result *res, void *arg)
{
	struct test_hasher_rec *r = arg;
	struct test_hasher *t = r->t;
	size_t i, off;

	r->calls++;
	r->on_loop = pthread_equal(pthread_self(), t->loop);
	r->verdict = res->verdict;
	r->kind = res->kind;
	snprintf(r->name, sizeof(r->name), "%s", res->name);
	snprintf(r->err, sizeof(r->err), "%s", res->err);
	r->roles[0] = '\0';
	for (i = 0, off = 0; i < res->nroles && off < sizeof(r->roles); i++)
		off += (size_t)snprintf(r->roles + off, sizeof(r->roles) - off,
		    "%s%s", i > 0 ? "," : "", res->roles[i]);
	if (t->tick != NULL && t->delivered == 0)
		t->ticks_before_delivery = t->ticks;
	if (r->cancel_self)
		hasher_cancel(r->job); /* no-op during its own callback */
	if (r->cancel_other != NULL)
		hasher_cancel(r->cancel_other->job);
	if (r->free_hasher) {
		hasher_free(t->h);
		t->h = NULL;
	}
	r->job = NULL;
	if (++t->delivered == t->want)
		event_base_loopbreak(t->base);
}

static void
test_hasher_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct test_hasher *t = arg;

	(void)fd;
	(void)what;
	t->timed_out = 1;
	event_base_loopbreak(t->base);
}

/*
 * Run the loop until want deliveries in all (0: just for ms) or ms
 * milliseconds have passed.
 */
static void
test_hasher_run(struct test_hasher *t, unsigned want, unsigned ms)
{
	struct event *to;
	struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};

	t->timed_out = 0;
	t->want = want;
	to = evtimer_new(t->base, test_hasher_timeout_cb, t);
	assert_non_null(to);
	assert_int_equal(evtimer_add(to, &tv), 0);
	if (want == 0 || t->delivered < want)
		assert_int_equal(event_base_dispatch(t->base), 0);
	event_free(to);
}

/* Run until want deliveries; failing the case after a long wait. */
static void
test_hasher_run_until(struct test_hasher *t, unsigned want)
{
	test_hasher_run(t, want, TEST_HASHER_WAIT_MS);
	assert_false(t->timed_out);
	assert_int_equal(t->delivered, want);
}

static struct hasher_job *
test_hasher_submit(struct test_hasher *t, struct test_hasher_rec *r,
    const char *name, const char *password)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->job = hasher_submit(t->h, DB_PRINCIPAL_USER, name, password,
	    strlen(password), test_hasher_cb, r);
	return r->job;
}

static int
test_hasher_setup(void **state)
{
	struct test_hasher *t;

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	assert_int_equal(pthread_mutex_init(&t->fk.mtx, NULL), 0);
	assert_int_equal(pthread_cond_init(&t->fk.cond, NULL), 0);
	t->loop = pthread_self();
	t->fk.loop = t->loop;
	t->base = event_base_new();
	assert_non_null(t->base);
	*state = t;
	return 0;
}

static int
test_hasher_teardown(void **state)
{
	struct test_hasher *t = *state;
	const char *sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[128];
	size_t i;

	test_hasher_gate(t, 0);
	hasher_free(t->h);
	if (t->tick != NULL)
		event_free(t->tick);
	event_base_free(t->base);
	if (t->db != NULL) {
		db_close(t->db);
		for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
			snprintf(p, sizeof(p), "%s%s", t->path, sfx[i]);
			unlink(p);
		}
		rmdir(t->dir);
	}
	pthread_cond_destroy(&t->fk.cond);
	pthread_mutex_destroy(&t->fk.mtx);
	free(t);
	return 0;
}

/* A pool with the fake verifier. */
static void
test_hasher_pool(struct test_hasher *t, unsigned nthreads, size_t max_queue)
{
	t->h = hasher_new(t->base, NULL, nthreads, max_queue);
	assert_non_null(t->h);
	hasher_set_verify(t->h, test_hasher_fake_verify, &t->fk);
}

/* Verdicts, names and roles arrive on the loop thread; hashing does not. */
static void
test_hasher_result_on_loop(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec a, b, c;

	test_hasher_pool(t, 0, 0);
	assert_non_null(test_hasher_submit(t, &a, "alice", "good"));
	assert_non_null(test_hasher_submit(t, &b, "bob", "nope"));
	assert_non_null(test_hasher_submit(t, &c, "carol", "error"));
	test_hasher_run_until(t, 3);

	assert_int_equal(a.calls, 1);
	assert_true(a.on_loop);
	assert_int_equal(a.verdict, DB_PRINCIPAL_VERIFY_OK);
	assert_int_equal(a.kind, DB_PRINCIPAL_USER);
	assert_string_equal(a.name, "alice");
	assert_string_equal(a.roles, "pull,push");
	assert_string_equal(a.err, "");

	assert_int_equal(b.calls, 1);
	assert_true(b.on_loop);
	assert_int_equal(b.verdict, DB_PRINCIPAL_VERIFY_BAD);
	assert_string_equal(b.name, "bob");
	assert_string_equal(b.roles, "");

	assert_int_equal(c.calls, 1);
	assert_int_equal(c.verdict, DB_PRINCIPAL_VERIFY_ERROR);
	assert_string_equal(c.err, "fake failure for carol");

	assert_int_equal(test_hasher_fake_count(t, &t->fk.on_loop), 0);
}

/* Many jobs on two workers: each is called back exactly once. */
static void
test_hasher_many(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec *r;
	char name[32];
	unsigned i;

	r = calloc(TEST_HASHER_MANY, sizeof(*r));
	assert_non_null(r);
	test_hasher_pool(t, 2, TEST_HASHER_MANY);
	for (i = 0; i < TEST_HASHER_MANY; i++) {
		snprintf(name, sizeof(name), "u%u", i);
		assert_non_null(
		    test_hasher_submit(t, &r[i], name, i % 3 ? "good" : "x"));
	}
	test_hasher_run_until(t, TEST_HASHER_MANY);
	test_hasher_run(t, 0, 50); /* nothing more may arrive */
	assert_int_equal(t->delivered, TEST_HASHER_MANY);
	for (i = 0; i < TEST_HASHER_MANY; i++) {
		snprintf(name, sizeof(name), "u%u", i);
		assert_int_equal(r[i].calls, 1);
		assert_true(r[i].on_loop);
		assert_string_equal(r[i].name, name);
		assert_int_equal(r[i].verdict,
		    i % 3 ? DB_PRINCIPAL_VERIFY_OK : DB_PRINCIPAL_VERIFY_BAD);
	}
	assert_int_equal(
	    test_hasher_fake_count(t, &t->fk.finished), TEST_HASHER_MANY);
	/* Every slot came back. */
	for (i = 0; i < TEST_HASHER_MANY; i++)
		assert_non_null(test_hasher_submit(t, &r[i], "again", "good"));
	test_hasher_run_until(t, 2 * TEST_HASHER_MANY);
	free(r);
}

static void
test_hasher_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct test_hasher *t = arg;

	(void)fd;
	(void)what;
	if (++t->ticks == 3)
		test_hasher_gate(t, 0);
}

/* The loop serves other events while a job hashes. */
static void
test_hasher_loop_runs(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec a;
	struct timeval tv = {0, 10000};

	test_hasher_pool(t, 1, 4);
	test_hasher_gate(t, 1);
	assert_non_null(test_hasher_submit(t, &a, "alice", "block"));
	test_hasher_wait_started(t, 1);
	t->tick = event_new(t->base, -1, EV_PERSIST, test_hasher_tick_cb, t);
	assert_non_null(t->tick);
	assert_int_equal(event_add(t->tick, &tv), 0);
	test_hasher_run_until(t, 1);
	/*
	 * The third tick opened the gate: the loop ran timers while the job
	 * was blocked in the verifier (if it hashed on the loop, no tick could
	 * fire and the case would time out).
	 */
	assert_true(t->ticks_before_delivery >= 3);
	assert_int_equal(a.calls, 1);
}

/* A queued job cancelled never runs and is never called back. */
static void
test_hasher_cancel_queued(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec a, b, c;

	test_hasher_pool(t, 1, 4);
	test_hasher_gate(t, 1);
	assert_non_null(test_hasher_submit(t, &a, "alice", "block"));
	test_hasher_wait_started(t, 1);
	assert_non_null(test_hasher_submit(t, &b, "bob", "good"));
	assert_non_null(test_hasher_submit(t, &c, "carol", "good"));
	hasher_cancel(b.job);
	test_hasher_gate(t, 0);
	test_hasher_run_until(t, 2);
	test_hasher_run(t, 0, 50);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(test_hasher_fake_count(t, &t->fk.started), 2);
}

/*
 * A job cancelled while it hashes is never called back; it keeps its slot
 * until the hash ends, then its worker frees it.
 */
static void
test_hasher_cancel_running(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec a, b, c, d;

	test_hasher_pool(t, 1, 2);
	test_hasher_gate(t, 1);
	assert_non_null(test_hasher_submit(t, &a, "alice", "block"));
	test_hasher_wait_started(t, 1);
	hasher_cancel(a.job);
	assert_non_null(test_hasher_submit(t, &b, "bob", "good"));
	assert_null(test_hasher_submit(t, &c, "carol", "good"));
	test_hasher_gate(t, 0);
	test_hasher_run_until(t, 1);
	test_hasher_run(t, 0, 50);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(test_hasher_fake_count(t, &t->fk.finished), 2);
	/* a's slot was given back when its hash ended. */
	assert_non_null(test_hasher_submit(t, &c, "carol", "good"));
	assert_non_null(test_hasher_submit(t, &d, "dave", "good"));
	test_hasher_run_until(t, 3);
}

/*
 * Done but not delivered: cancelled from the test, and from another job's
 * callback in the same delivery round; a job cancelling itself inside its
 * callback is a no-op.
 */
static void
test_hasher_cancel_done(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec a, b, c, d, e;

	test_hasher_pool(t, 1, 8);
	test_hasher_gate(t, 1);
	assert_non_null(test_hasher_submit(t, &a, "alice", "good"));
	assert_non_null(test_hasher_submit(t, &b, "bob", "good"));
	assert_non_null(test_hasher_submit(t, &c, "carol", "good"));
	assert_non_null(test_hasher_submit(t, &d, "dave", "good"));
	assert_non_null(test_hasher_submit(t, &e, "eve", "block"));
	test_hasher_wait_started(t, 5); /* a..d sit on the done list */
	hasher_cancel(a.job);
	b.cancel_self = 1;
	b.cancel_other = &c;
	test_hasher_gate(t, 0);
	test_hasher_run_until(t, 3);
	test_hasher_run(t, 0, 50);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(c.calls, 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(e.calls, 1);
	assert_int_equal(test_hasher_fake_count(t, &t->fk.finished), 5);
}

/*
 * Cancels racing the workers with no gate: each job is queued, running or
 * done when cancelled, whichever the scheduler made it. Cancelled jobs are
 * never called back, the others exactly once (and TSan watches the locks).
 */
static void
test_hasher_cancel_stress(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec *r;
	unsigned char *cancelled;
	unsigned i, want = 0;

	r = calloc(TEST_HASHER_MANY, sizeof(*r));
	cancelled = calloc(TEST_HASHER_MANY, 1);
	assert_non_null(r);
	assert_non_null(cancelled);
	test_hasher_pool(t, 2, TEST_HASHER_MANY);
	for (i = 0; i < TEST_HASHER_MANY; i++) {
		assert_non_null(test_hasher_submit(t, &r[i], "u", "good"));
		/* The callback clears r->job: a delivered job is spent. */
		if (i >= 3 && i % 2 == 1 && r[i - 3].job != NULL) {
			hasher_cancel(r[i - 3].job);
			r[i - 3].job = NULL;
			cancelled[i - 3] = 1;
		}
		if (i % 7 == 0)
			event_base_loop(t->base, EVLOOP_NONBLOCK);
		if (i % 5 == 0)
			sched_yield();
	}
	for (i = 0; i < TEST_HASHER_MANY; i++)
		want += !cancelled[i];
	test_hasher_run_until(t, want);
	test_hasher_run(t, 0, 50);
	assert_int_equal(t->delivered, want);
	for (i = 0; i < TEST_HASHER_MANY; i++)
		assert_int_equal(r[i].calls, cancelled[i] ? 0 : 1);
	assert_true(want < TEST_HASHER_MANY); /* some cancels landed */
	free(cancelled);
	free(r);
}

/* max_queue jobs in flight: the next submit fails until one ends. */
static void
test_hasher_queue_full(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec r[4];

	test_hasher_pool(t, 1, 3);
	test_hasher_gate(t, 1);
	assert_non_null(test_hasher_submit(t, &r[0], "a", "block"));
	assert_non_null(test_hasher_submit(t, &r[1], "b", "block"));
	assert_non_null(test_hasher_submit(t, &r[2], "c", "block"));
	assert_null(test_hasher_submit(t, &r[3], "d", "good"));
	test_hasher_wait_started(t, 1);
	hasher_cancel(r[2].job); /* queued: its slot is free at once */
	assert_non_null(test_hasher_submit(t, &r[3], "d", "good"));
	test_hasher_gate(t, 0);
	test_hasher_run_until(t, 3);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[2].calls, 0);
	assert_int_equal(r[3].calls, 1);
}

/*
 * hasher_free() with jobs queued, running and done: all dropped, no
 * callback, nothing leaked (LeakSanitizer) or touched after free (ASan).
 */
static void
test_hasher_free_in_flight(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec r[12];
	unsigned i;

	test_hasher_pool(t, 2, 16);
	t->fk.delay_ms = 5;
	for (i = 0; i < 12; i++)
		assert_non_null(test_hasher_submit(t, &r[i], "u", "good"));
	test_hasher_wait_started(t, 6);
	hasher_free(t->h);
	t->h = NULL;
	test_hasher_run(t, 0, 30);
	for (i = 0; i < 12; i++)
		assert_int_equal(r[i].calls, 0);
	assert_int_equal(t->delivered, 0);
}

/* hasher_free() from a callback drops the other done jobs. */
static void
test_hasher_free_in_callback(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec a, b, c;

	test_hasher_pool(t, 1, 4);
	test_hasher_gate(t, 1);
	assert_non_null(test_hasher_submit(t, &a, "alice", "good"));
	assert_non_null(test_hasher_submit(t, &b, "bob", "good"));
	assert_non_null(test_hasher_submit(t, &c, "carol", "block"));
	test_hasher_wait_started(t, 3);
	a.free_hasher = 1;
	test_hasher_gate(t, 0); /* c ends while hasher_free() joins */
	test_hasher_run_until(t, 1);
	test_hasher_run(t, 0, 50);
	assert_null(t->h);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 0);
}

/* A NUL inside or an over-long password is checked as "", not cut. */
static void
test_hasher_password_edges(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec a, b;
	char *lng;

	lng = malloc(DB_PRINCIPAL_SECRET_MAX + 1);
	assert_non_null(lng);
	memset(lng, 'g', DB_PRINCIPAL_SECRET_MAX + 1);
	test_hasher_pool(t, 1, 4);
	memset(&a, 0, sizeof(a));
	a.t = t;
	a.job = hasher_submit(
	    t->h, DB_PRINCIPAL_ROBOT, "ci", "good\0x", 6, test_hasher_cb, &a);
	assert_non_null(a.job);
	test_hasher_run_until(t, 1);
	assert_int_equal(a.verdict, DB_PRINCIPAL_VERIFY_BAD);
	assert_int_equal(a.kind, DB_PRINCIPAL_ROBOT);
	assert_string_equal(t->fk.last_password, "");

	memset(&b, 0, sizeof(b));
	b.t = t;
	b.job = hasher_submit(t->h, DB_PRINCIPAL_USER, "alice", lng,
	    DB_PRINCIPAL_SECRET_MAX + 1, test_hasher_cb, &b);
	assert_non_null(b.job);
	test_hasher_run_until(t, 2);
	assert_string_equal(t->fk.last_password, "");
	/* Exactly the limit is passed on whole (not NUL-terminated). */
	b.job = hasher_submit(t->h, DB_PRINCIPAL_USER, "alice", lng,
	    DB_PRINCIPAL_SECRET_MAX, test_hasher_cb, &b);
	assert_non_null(b.job);
	test_hasher_run_until(t, 3);
	assert_int_equal(strlen(t->fk.last_password), DB_PRINCIPAL_SECRET_MAX);
	free(lng);
}

/* The real verifier: yescrypt in a temp database, on the workers. */
static void
test_hasher_real_db(void **state)
{
	struct test_hasher *t = *state;
	struct test_hasher_rec ok, bad, unknown;
	const char *roles[] = {"push", "pull"};
	char hash[DB_PRINCIPAL_HASH_MAX], err[512];

	snprintf(t->dir, sizeof(t->dir), "/tmp/test_hasher.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/regward.db", t->dir);
	t->db = db_open(t->path, err, sizeof(err));
	if (t->db == NULL)
		fail_msg("db_open: %s", err);
	assert_int_equal(db_principal_hash(
			     "s3cret pw", hash, sizeof(hash), err, sizeof(err)),
	    0);
	assert_int_equal(db_principal_add(t->db, DB_PRINCIPAL_USER, "alice",
			     hash, roles, 2, err, sizeof(err)),
	    DB_PRINCIPAL_OK);

	t->h = hasher_new(t->base, t->db, 2, 8);
	assert_non_null(t->h);
	assert_non_null(test_hasher_submit(t, &ok, "alice", "s3cret pw"));
	assert_non_null(test_hasher_submit(t, &bad, "alice", "s3cret PW"));
	assert_non_null(test_hasher_submit(t, &unknown, "bob", "s3cret pw"));
	test_hasher_run_until(t, 3);
	assert_int_equal(ok.verdict, DB_PRINCIPAL_VERIFY_OK);
	assert_true(ok.on_loop);
	assert_string_equal(ok.name, "alice");
	assert_string_equal(ok.roles, "pull,push");
	assert_int_equal(bad.verdict, DB_PRINCIPAL_VERIFY_BAD);
	assert_string_equal(bad.roles, "");
	assert_int_equal(unknown.verdict, DB_PRINCIPAL_VERIFY_UNKNOWN);
	assert_string_equal(unknown.name, "bob");
}

#define T(f)                                                                   \
	cmocka_unit_test_setup_teardown(                                       \
	    f, test_hasher_setup, test_hasher_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_hasher_result_on_loop),
	    T(test_hasher_many),
	    T(test_hasher_loop_runs),
	    T(test_hasher_cancel_queued),
	    T(test_hasher_cancel_running),
	    T(test_hasher_cancel_done),
	    T(test_hasher_cancel_stress),
	    T(test_hasher_queue_full),
	    T(test_hasher_free_in_flight),
	    T(test_hasher_free_in_callback),
	    T(test_hasher_password_edges),
	    T(test_hasher_real_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#undef T
