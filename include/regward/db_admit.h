/*
 * db_admit: what admission writes and reads (db/admission.c), in the
 * tables of migration 4: pulls, verified signatures, scan verdicts,
 * admission verdicts and the children of verified indexes.
 *
 * Every function takes a struct db (one connection, one thread at a time)
 * and prepares its statement per call: the gateway calls them from its
 * admission workers and its ledger writer, a few times per cold
 * verification or per batch of pulls, never per request on the event loop.
 * Strings are borrowed; NULL is stored as NULL. Times are Unix seconds.
 */
#ifndef REGWARD_DB_ADMIT_H
#define REGWARD_DB_ADMIT_H

#include <stddef.h>

#include "regward/db.h"

/* A manifest served to a client: pulls(repository, digest, tag). */
struct db_pull {
	long long at;
	const char *repository;
	const char *digest;
	const char *tag; /* NULL or "" for a pull by digest */
	long long count; /* pulls this record stands for; 0 counts as 1 */
};

/* Upsert: last_pulled = max(last_pulled, at), count + p->count. */
enum db_ledger_status db_pull_record(
    struct db *db, const struct db_pull *p, char *err, size_t errlen);

/* A signature that verified under a trusted key. */
struct db_signature {
	const char *repository;
	const char *digest; /* the signed manifest */
	const char *payload_digest; /* the simple-signing blob */
	const char *key_name;
	const char *identity; /* docker-reference */
	const char *creator; /* optional.creator, or NULL */
	long long signed_at; /* optional.timestamp; 0: unknown */
	long long verified_at;
};

enum db_ledger_status db_signature_record(
    struct db *db, const struct db_signature *s, char *err, size_t errlen);

/* A scan verdict read from a verified payload. Counts -1: unknown. */
struct db_scan {
	const char *repository;
	const char *digest;
	const char *payload_digest;
	const char *scanner;
	const char *scanner_version;
	const char *db_version;
	long long critical, high, medium, low, unknown;
	const char *verdict; /* "pass" or "fail" */
	long long finished_at; /* 0: unknown */
	long long recorded_at;
};

enum db_ledger_status db_scan_record(
    struct db *db, const struct db_scan *s, char *err, size_t errlen);

#define DB_VERDICT_TEXT_MAX 512 /* reason and detail, with the NUL */

/*
 * An admission verdict for (repository, digest) under a policy revision.
 * via is the index digest a child was admitted through, or NULL.
 */
struct db_verdict {
	const char *repository;
	const char *digest;
	const char *revision;
	int admit;
	const char *reason; /* "signed", "unsigned", "scan_failed", ... */
	const char *detail;
	const char *key_name;
	const char *via;
	long long decided_at;
	long long expires_at;
};

/* Insert or replace. */
enum db_ledger_status db_verdict_record(
    struct db *db, const struct db_verdict *v, char *err, size_t errlen);

/* A verdict as read back: its own copies of the strings. */
struct db_verdict_row {
	int admit;
	char reason[64];
	char detail[DB_VERDICT_TEXT_MAX];
	char key_name[256];
	char via[80]; /* a sha256 digest */
	long long decided_at;
	long long expires_at;
};

/*
 * The admitting verdict for (repository, digest, revision) that has not
 * expired at now. Returns 1 and fills *out, 0 when there is none, -1 on
 * error.
 */
int db_verdict_lookup(struct db *db, const char *repository, const char *digest,
    const char *revision, long long now, struct db_verdict_row *out, char *err,
    size_t errlen);

/*
 * Forget every verdict for (repository, digest), and those of children
 * admitted through it (via = digest). A new signature or a deleted one
 * calls for this.
 */
enum db_ledger_status db_verdict_forget(struct db *db, const char *repository,
    const char *digest, char *err, size_t errlen);

/* Record that index parent in repository lists children[0..n). */
enum db_ledger_status db_children_record(struct db *db, const char *repository,
    const char *parent, const char *const *children, size_t n, char *err,
    size_t errlen);

/*
 * Indexes known to list child in repository: cb(parent, arg) for each,
 * at most max of them. Returns the count, or -1.
 */
int db_children_parents(struct db *db, const char *repository,
    const char *child, size_t max, void (*cb)(const char *parent, void *arg),
    void *arg, char *err, size_t errlen);

#endif /* REGWARD_DB_ADMIT_H */
