/*
 * retention: the "retention" array of the config and the purge planner.
 *
 * Rules: the first rule whose "repository" glob matches a repository
 * (policy_glob semantics: '*' within a segment, "**" across segments)
 * decides what is kept there; a repository no rule matches is left alone.
 * A rule keeps a tag when any of its keep_* keys says so:
 *   keep_last N           the N most recently pushed tags
 *   keep_tags [globs]     tags matching a glob ("v*", "latest")
 *   keep_pushed_within D  tags (and manifests) pushed within D ("30d")
 *   keep_pulled_within D  digests pulled within D
 * and "untagged": "keep" (default) or "delete" says what happens to
 * manifests no tag points to.
 *
 * The planner works per digest: a digest is deleted only when no kept tag
 * points to it; deleting it removes every tag that points to it. Signature
 * tags (sha256-<hex>.sig, .att, .sbom) are not tags for keep_last: the
 * manifest they point to goes when its subject goes and stays while its
 * subject stays. An index keeps the manifests it lists. The planner is a
 * pure function over the structs below: no I/O, no clock.
 */
#ifndef REGWARD_RETENTION_H
#define REGWARD_RETENTION_H

#include <stddef.h>

#include <jansson.h>

#include "regward/policy.h"

#define RETENTION_RULES_MAX 1024
#define RETENTION_REASON_MAX 256

enum retention_untagged {
	RETENTION_UNTAGGED_KEEP = 0,
	RETENTION_UNTAGGED_DELETE,
};

struct retention_rule {
	struct policy_glob *repo; /* "repository" */
	long long keep_last; /* -1: not set */
	char **keep_tags; /* tag globs */
	size_t nkeep_tags;
	long long keep_pushed_within; /* seconds; -1: not set */
	long long keep_pulled_within; /* seconds; -1: not set */
	enum retention_untagged untagged;
};

struct retention_set {
	struct retention_rule *rules;
	size_t nrules;
};

/*
 * Load the "retention" array (borrowed; NULL: key absent, an empty set).
 * Returns 0 with *out set (free with retention_set_free()), or -1 with *out
 * NULL and a one-line message naming file and key path in err, e.g.
 *   cfg.json: retention[1].keep_last: must be a non-negative integer
 */
int retention_load(const char *file, const json_t *retention,
    struct retention_set **out, char *err, size_t errlen);

/* Free rs. NULL is a no-op. */
void retention_set_free(struct retention_set *rs);

/* Index of the first rule matching repo, or -1. */
int retention_match(const struct retention_set *rs, const char *repo);

/*
 * If tag is a signature or attestation tag ("sha256-<64 hex>" followed by
 * ".sig", ".att" or ".sbom"), write its subject "sha256:<hex>" into
 * subject (at least 72 bytes) and return 1; else 0.
 */
int retention_sig_subject(const char *tag, char *subject, size_t len);

/* --------------------------------------------------------------- planner */

enum retention_action {
	RETENTION_KEEP = 0,
	RETENTION_DELETE,
};

/* What the planner decided about one digest. */
enum retention_kind {
	RETENTION_KIND_TAGGED = 0, /* has tags other than signature tags */
	RETENTION_KIND_UNTAGGED, /* no tag at all */
	RETENTION_KIND_SIGNATURE, /* only signature tags point to it */
};

/* A manifest of the repository (input), with the verdict (output). */
struct retention_mfst {
	const char *digest; /* input, borrowed */
	int is_index; /* input: lists children */
	const char *const *children; /* input: digests the index lists */
	size_t nchildren;
	long long pushed_at; /* input: pushed (or first seen) */
	long long last_pulled; /* input: 0 never */
	int orphan_child; /* input: listed only by indexes now deleted */
	/* output */
	enum retention_action action;
	enum retention_kind kind;
	int level; /* deletion order: 0 first, 1 children of deleted
		      indexes, 2 signatures of deleted subjects */
	size_t *deps; /* manifests (an index, a subject) whose deletion
			 this one waits for: if one is not deleted after
			 all (skipped), this one is not either */
	size_t ndeps;
	char reason[RETENTION_REASON_MAX];
};

/* A tag of the repository (input), with the verdict (output). */
struct retention_tag {
	const char *tag; /* input, borrowed */
	const char *digest;
	long long updated_at; /* input: when last pushed (or found) */
	long long seq; /* input: push order within a second */
	/* output */
	int keep;
	int sig; /* a signature tag (not counted for keep_last) */
	char why[RETENTION_REASON_MAX];
};

struct retention_repo {
	struct retention_mfst *mfsts;
	size_t nmfsts;
	struct retention_tag *tags;
	size_t ntags;
};

/*
 * Plan repo under rule at time now (seconds). Fills the output members of
 * every manifest and tag. A tag pointing to a digest missing from mfsts is
 * ignored for keeping (its digest is not there to keep). Returns the
 * number of manifests to delete, or -1 when out of memory. Free the deps
 * arrays with retention_repo_clear().
 */
int retention_plan(const struct retention_rule *rule,
    struct retention_repo *repo, long long now);

/* Free the deps arrays the planner allocated. */
void retention_repo_clear(struct retention_repo *repo);

/* "3d", "5h", "12m", "40s" for a number of seconds (rounded down). */
void retention_age_fmt(long long secs, char *buf, size_t len);

#endif /* REGWARD_RETENTION_H */
