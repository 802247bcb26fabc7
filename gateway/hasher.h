/*
 * hasher: password verification off the event loop.
 *
 * A yescrypt or bcrypt check costs tens of milliseconds of CPU; run on the
 * loop thread it would stall every connection. hasher_submit() queues a
 * check for a small pool of worker threads; the result comes back later as
 * a callback ON THE LOOP THREAD, from a persistent event watching an
 * eventfd(2) that the workers write to. The rest of the program therefore
 * needs no libevent threading setup (no evthread_use_pthreads()).
 *
 * Threads. All hasher_* functions are called from the loop thread only;
 * the workers touch nothing but the jobs (under the hasher's mutex) and
 * the verify function. The default verify function is db_principal_verify()
 * on the one struct db shared by all workers: db_open() opens SQLite with
 * SQLITE_OPEN_FULLMUTEX (serialized mode) and db/users.c prepares its
 * statements per call and hashes with crypt_rn() into per-call memory, so
 * concurrent calls are safe. Only the text of an _ERROR message may come
 * from another thread's failure (sqlite3_errmsg() is per connection).
 *
 * Sizing. HASHER_THREADS_DEFAULT is 2 because the gateway host has 2
 * cores: a hash is pure CPU, so workers beyond the core count add no
 * throughput and only stretch every check in flight. With both workers
 * busy the loop thread shares the cores with them (the scheduler gives it
 * its fair share, and it mostly sleeps in epoll); a burst of logins beyond
 * that is shed by the bounded queue. Where proxy latency matters more than
 * login throughput, 1 worker leaves a core to the loop.
 */
#ifndef REGWARD_HASHER_H
#define REGWARD_HASHER_H

#include <stddef.h>

#include "regward/db.h"

struct event_base;
struct hasher;
struct hasher_job;

#define HASHER_THREADS_DEFAULT 2u /* nthreads 0: one per core of the host */
#define HASHER_THREADS_MAX 64u
#define HASHER_QUEUE_DEFAULT 64u /* max_queue 0 */
#define HASHER_ERR_MAX 256 /* bytes of hasher_result.err with the NUL */

/*
 * What a check found, borrowed by the callback for its duration only:
 * copy what must outlive it.
 */
struct hasher_result {
	enum db_principal_verdict verdict;
	enum db_principal_kind kind; /* as submitted */
	/* _OK: the principal's name; otherwise the name as submitted. */
	const char *name;
	const char *const *roles; /* _OK: sorted roles; otherwise NULL */
	size_t nroles;
	const char *err; /* _ERROR: a message (never the password); else "" */
};

/*
 * Called once per job that was neither cancelled nor dropped by
 * hasher_free(), on the loop thread, from the hasher's event (never inside
 * a hasher_* call). By the time it runs the job handle is spent: the
 * callback must forget it (hasher_cancel() on it is a no-op during the
 * callback and a use after free afterwards). It may submit and cancel
 * other jobs, and may call hasher_free().
 */
typedef void (*hasher_cb)(const struct hasher_result *res, void *arg);

/*
 * A verify function: db_principal_verify()'s contract with ctx in place of
 * the db. Runs on a worker thread, so it must be thread-safe; *out (when
 * set with _OK) is freed by the hasher with db_principal_free().
 */
typedef enum db_principal_verdict (*hasher_verify_fn)(void *ctx,
    enum db_principal_kind kind, const char *name, const char *password,
    struct db_principal **out, char *err, size_t errlen);

/*
 * A pool of nthreads workers (0: HASHER_THREADS_DEFAULT; at most
 * HASHER_THREADS_MAX) delivering to base, checking against db with
 * db_principal_verify(). base and db are borrowed until hasher_free().
 * At most max_queue jobs (0: HASHER_QUEUE_DEFAULT) are in flight at once,
 * counting from hasher_submit() until the callback has returned or the job
 * was cancelled (a running job that was cancelled counts until its hash
 * ends). Workers block all signals. Returns NULL when a thread, the eventfd
 * or the event cannot be made. Free with hasher_free().
 */
struct hasher *hasher_new(struct event_base *base, struct db *db,
    unsigned nthreads, size_t max_queue);

/*
 * Use fn(ctx, ...) instead of db_principal_verify(db, ...) for the jobs
 * submitted from now on (tests: a fake verifier, no database); fn NULL
 * goes back to db_principal_verify(). ctx is borrowed until hasher_free().
 */
void hasher_set_verify(struct hasher *h, hasher_verify_fn fn, void *ctx);

/*
 * Queue a check of password (passlen bytes, need not be NUL-terminated)
 * for kind+name (NUL-terminated). Both are copied: the caller may wipe its
 * own at once; the copy of the password is wiped with OPENSSL_cleanse()
 * as soon as the hash is done (or the job is dropped). A password with a
 * NUL byte in it or longer than DB_PRINCIPAL_SECRET_MAX is checked as an
 * empty one (a full hash, verdict _BAD or _UNKNOWN), never truncated.
 *
 * Returns the job, borrowed by the caller only to pass to hasher_cancel()
 * until cb(res, arg) starts; or NULL, without calling back, when max_queue
 * jobs are in flight (answer 503/429) or memory runs out.
 */
struct hasher_job *hasher_submit(struct hasher *h, enum db_principal_kind kind,
    const char *name, const char *password, size_t passlen, hasher_cb cb,
    void *arg);

/*
 * The owner of job's arg is going away: once this returns, job's callback
 * never runs, whether the job was queued (freed now), running (freed by
 * its worker when the hash ends) or done but not yet delivered (freed
 * now). A no-op while job's own callback runs, and for NULL. job must not
 * be used afterwards. Call it before hasher_free(), never after.
 */
void hasher_cancel(struct hasher_job *job);

/*
 * Stop the workers and free everything. Jobs still queued, running or
 * waiting for delivery are dropped without callbacks (and their handles
 * go stale: owners must not cancel them later). Waits for each worker to
 * finish the hash it is in, at most one hash time. Safe with jobs in
 * flight and from inside a hasher callback (the memory is then released
 * when the callback returns). hasher_free(NULL) is a no-op.
 */
void hasher_free(struct hasher *h);

#endif /* REGWARD_HASHER_H */
