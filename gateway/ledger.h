/*
 * ledger: the gateway's write queue to the SQLite ledger (DESIGN.md,
 * decision 7: the ledger never blocks the event loop).
 *
 * ledger_push() and ledger_event() copy the record into one heap block and
 * put it on a bounded in-memory queue; they never touch SQLite and never
 * wait for the writer. ONE writer thread, with its own connection to the
 * database (db_open() on the same path; WAL lets the gateway's other
 * connection read and write meanwhile), takes the queue in batches: it
 * wakes when LEDGER_BATCH_DEFAULT records are waiting or the oldest has
 * waited LEDGER_DELAY_MS_DEFAULT, and commits everything it took (at most
 * LEDGER_TXN_MAX_DEFAULT records) in one BEGIN IMMEDIATE transaction.
 * Pulls of one (repository, digest, tag) taken together are folded into
 * one upsert that adds their number (a busy tag: one per batch, not one
 * per GET); the counters still count the records queued.
 *
 * Threads. ledger_new(), ledger_push(), ledger_event(), ledger_dropped(),
 * ledger_stats() and ledger_free() are called from the loop thread only
 * (one producer: the queue keeps its order, and ledger_free() must not
 * race a push). They share only a mutex with the writer, held by either
 * side for a few instructions (never across SQLite), and malloc's own
 * locks: the loop thread allocates each record, the writer frees it.
 * queue_max counts the records the writer is committing too.
 *
 * Full queue. When the database cannot keep up (a slow disk, a lock held
 * by an admin command), records beyond queue_max are dropped, not waited
 * for: ledger_push() returns -1 and ledger_dropped() counts them. The
 * gateway goes on serving; the log should say that the ledger lost events.
 *
 * Busy database. The writer waits for a lock at most busy_ms per attempt
 * (SQLite's busy timeout) and retries the whole batch until it gets it,
 * holding the batch in memory meanwhile (the queue fills behind it). A
 * batch that fails for another reason (disk full, I/O error) is retried
 * one record per transaction; records that still fail are counted in
 * ledger_stats().failed with the last message.
 */
#ifndef REGWARD_LEDGER_H
#define REGWARD_LEDGER_H

#include <stddef.h>

#include "regward/db.h"

struct ledger;

#define LEDGER_QUEUE_MAX_DEFAULT 4096u /* records waiting at most */
#define LEDGER_BATCH_DEFAULT 100u /* wake the writer at this many */
#define LEDGER_DELAY_MS_DEFAULT 200u /* ... or when the oldest waited this */
#define LEDGER_TXN_MAX_DEFAULT 1024u /* records per transaction at most */
#define LEDGER_BUSY_MS_DEFAULT 250u /* SQLite busy timeout per attempt */
#define LEDGER_FLUSH_MS_DEFAULT 5000u /* ledger_free(): flush for this long */
#define LEDGER_ERR_MAX 256 /* bytes of ledger_stats.last_err with the NUL */

/*
 * A manifest push, as recorded in the pushes table (and, by the database,
 * as an audit row of kind "push"): see docs/ledger.md for each column.
 * Strings are borrowed for the call and copied, cut to the DB_LEDGER_*_MAX
 * of their column at a UTF-8 boundary (claims: dropped when too long).
 * repository, digest and principal are required.
 */
struct ledger_push {
	long long at; /* seconds since the epoch; 0: now */
	const char *repository;
	const char *tag; /* NULL for a push by digest */
	const char *digest;
	const char *media_type;
	long long size; /* manifest bytes; -1: unknown */
	const char *principal;
	const char *client;
	const char *claims; /* JSON object of the OIDC claims, or NULL */
};

/*
 * An audit event other than a push (deny, login_failed, delete); strings
 * borrowed and copied as for struct ledger_push, all optional.
 */
struct ledger_event {
	long long at; /* seconds since the epoch; 0: now */
	enum db_ledger_kind kind; /* not DB_LEDGER_PUSH: use ledger_push() */
	const char *principal;
	const char *client;
	const char *repository;
	const char *ref;
	const char *digest;
	const char *method;
	int status; /* HTTP status; 0: none */
	const char *reason;
	const char *claims; /* JSON object, or NULL */
};

/*
 * Tuning and test hooks for ledger_new_with(); a zero field takes its
 * default. txn_hook, when set, runs on the writer thread inside every
 * transaction, after the inserts and before COMMIT (tests use it to hold
 * the writer in a transaction; it must not call ledger_*).
 */
struct ledger_opts {
	size_t queue_max;
	size_t batch;
	unsigned delay_ms;
	size_t txn_max;
	unsigned busy_ms;
	unsigned flush_ms;
	void (*txn_hook)(void *arg);
	void *txn_hook_arg;
};

/* Counters since ledger_new(), for the log and the metrics. */
struct ledger_stats {
	unsigned long long queued; /* accepted by ledger_push/_event */
	unsigned long long dropped; /* refused: queue full (or out of memory) */
	unsigned long long written; /* committed to the database */
	unsigned long long failed; /* taken but never committed (see above) */
	unsigned long long batches; /* transactions committed */
	unsigned long long busy; /* attempts that found the database locked */
	size_t pending; /* in the queue now, those being committed too */
	char last_err[LEDGER_ERR_MAX]; /* last database error, or "" */
};

/*
 * Open the database at db_path with a connection of the ledger's own
 * (creating and migrating it if needed) and start the writer, which blocks
 * all signals. Returns NULL with a one-line message in err. Free with
 * ledger_free().
 */
struct ledger *ledger_new(const char *db_path, char *err, size_t errlen);

/* ledger_new() with opts (borrowed for the call; NULL: defaults). */
struct ledger *ledger_new_with(const char *db_path,
    const struct ledger_opts *opts, char *err, size_t errlen);

/*
 * Queue a push. Never blocks on the database: returns 0 when queued, -1
 * when p lacks repository, digest or principal, or when the queue is full
 * or memory runs out (both counted by ledger_dropped()). Loop thread only.
 */
int ledger_push(struct ledger *l, const struct ledger_push *p);

/*
 * Queue an audit event: as ledger_push(); kind DB_LEDGER_PUSH or an
 * unknown kind is refused (-1, not counted as dropped).
 */
int ledger_event(struct ledger *l, const struct ledger_event *e);

/*
 * A manifest served by GET or HEAD: pulls(repository, digest, tag) gets its
 * last_pulled and count updated. Strings borrowed and copied; repository
 * and digest are required, tag NULL for a pull by digest.
 */
struct ledger_pull {
	long long at; /* seconds since the epoch; 0: now */
	const char *repository;
	const char *digest;
	const char *tag;
};

/* Queue a pull: as ledger_push(). Loop thread only. */
int ledger_pull(struct ledger *l, const struct ledger_pull *p);

/* Records refused so far because the queue was full. Loop thread only. */
unsigned long long ledger_dropped(struct ledger *l);

/* Copy the counters into *out. Loop thread only. */
void ledger_stats(struct ledger *l, struct ledger_stats *out);

/*
 * Stop the writer after it has committed what is queued, waiting at most
 * flush_ms (LEDGER_FLUSH_MS_DEFAULT) for that: past it, what is still
 * queued or locked out is given up (lost). Then join the writer, close its
 * connection and free everything. The join waits at most one more busy
 * timeout plus one commit after the deadline. ledger_free(NULL) is a
 * no-op.
 */
void ledger_free(struct ledger *l);

#endif /* REGWARD_LEDGER_H */
