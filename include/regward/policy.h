/*
 * policy: authorization as data.
 *
 * The "policies" array of regward's config becomes a struct policy_set:
 * an ordered list of rules, each with a repository glob, the principals
 * that may pull, push and delete, immutable tag globs and an optional
 * "require" block (signatures and scan verdicts, enforced by admission).
 * Decisions are pure functions over that set and a principal: no I/O, no
 * allocation, safe to call from any thread once the set is loaded.
 *
 * The rules, in short (docs/policy.md has them all):
 *   - the first policy whose "repository" glob matches the name decides;
 *     no match means deny;
 *   - in a repository glob '*' matches within one '/'-separated segment,
 *     a whole segment "**" matches zero or more segments, except that a
 *     trailing one needs at least one segment: "team/" "**" matches
 *     "team/a" and "team/a/b", not "team" (docs/policy.md);
 *   - principal forms: "*" (any authenticated principal, never anonymous),
 *     "anonymous", "user:NAME", "robot:NAME", "ci:NAME", "role:NAME".
 *
 * What the caller maps to which action:
 *   - pull: manifest and blob GET/HEAD, tags list, referrers;
 *   - push: upload POST, PATCH and PUT, and manifest PUT;
 *   - delete: manifest and blob DELETE;
 *   - a cross-repository mount (POST ?mount=&from=) needs push on the
 *     target and pull on the source: policy_decide_mount();
 *   - _catalog lists only the names for which policy_may_pull() is true
 *     (policy_catalog_filter() does it on the upstream's JSON array);
 *   - moving an existing tag to another digest is refused when
 *     policy_tag_immutable() says so.
 * Repository names and tags passed in must already be validated (see
 * route_name_valid() and route_tag_valid()); a name with an empty segment
 * matches no policy.
 *
 * Errors are one line: "<file>: policies[2].push[1]: unknown principal
 * form \"rol:ci\"".
 */
#ifndef REGWARD_POLICY_H
#define REGWARD_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define POLICY_ERR_MAX 512 /* a good size for err buffers */
#define POLICY_REASON_MAX 512 /* struct policy_decision.reason, with NUL */
#define POLICY_COUNT_MAX 4096 /* policies in a set */
#define POLICY_LIST_MAX 1024 /* entries in one list (pull, tags, ...) */
#define POLICY_GLOB_MAX 512 /* repository glob, bytes */
#define POLICY_TAG_GLOB_MAX 256 /* tag glob, bytes */
#define POLICY_NAME_MAX 256 /* principal, role or key name, bytes */
#define POLICY_MAX_AGE_MAX ((uint64_t)3650 * 86400) /* 10 years, seconds */
#define POLICY_REVISION_LEN 16 /* hex digits of a revision */

/* Who is asking. POLICY_ANONYMOUS is a request without credentials. */
enum policy_kind {
	POLICY_ANONYMOUS = 0,
	POLICY_USER, /* a user from the database or an htpasswd import */
	POLICY_ROBOT, /* a robot account */
	POLICY_CI, /* a CI workload authenticated by an OIDC ID token */
};

enum policy_action {
	POLICY_PULL = 0,
	POLICY_PUSH,
	POLICY_DELETE,
};

/* require.mode */
enum policy_mode {
	POLICY_MODE_ENFORCE = 0, /* refuse what fails (default) */
	POLICY_MODE_WARN, /* serve it, log and flag the response */
};

/* require.multiarch */
enum policy_multiarch {
	POLICY_MULTIARCH_INDEX = 0, /* a verified index admits its children */
	POLICY_MULTIARCH_EACH, /* every child needs its own signature */
};

/*
 * A principal, as authentication produced it. Every pointer is borrowed
 * for the duration of the call that receives it. name is ignored for
 * POLICY_ANONYMOUS and must not be NULL otherwise (a NULL name matches
 * nothing but "*" and roles). roles[0..nroles) are role names; the roles
 * of an anonymous principal are ignored.
 */
struct policy_principal {
	enum policy_kind kind;
	const char *name;
	const char *const *roles;
	size_t nroles;
};

/*
 * The outcome of a decision. index is the policy that decided (its
 * position in the "policies" array), or -1 when none matched. reason is
 * one printable line for the log and, on deny, for the client's 403
 * message: e.g. "push to team/app needs one of role:ci, robot:jenkins;
 * you are user:alice with roles [dev]".
 */
struct policy_decision {
	int allow;
	int index;
	char reason[POLICY_REASON_MAX];
};

/*
 * A policy's "require" block, owned by its set. signed_by lists key names
 * (any one of them suffices; the caller checks they name configured keys).
 * scan is 1 when "scan" is present: then scan_max_age is the oldest
 * acceptable verdict in seconds (0: any age) and the verdict must be
 * "pass". require.bypass is reached through policy_may_bypass().
 */
struct policy_require {
	char **signed_by;
	size_t nsigned_by;
	int scan;
	uint64_t scan_max_age;
	enum policy_mode mode;
	enum policy_multiarch multiarch;
};

struct policy_set; /* opaque */

/*
 * Load the "policies" array (borrowed; not changed) into a new set. file
 * names the config file in messages. policies may be NULL (key absent):
 * the set is then empty and denies everything, as does "[]". Returns 0
 * and sets *out (free with policy_set_free()), or -1 with *out NULL and a
 * one-line message in err[0..errlen) that starts with "<file>: policies".
 * Unknown keys, wrong types and malformed globs, principals or durations
 * are errors; so is a repository glob written twice (the second could
 * never match). Duplicate object keys are the parser's business: load the
 * file with JSON_REJECT_DUPLICATES, as config.c does.
 */
int policy_set_load(const char *file, const json_t *policies,
    struct policy_set **out, char *err, size_t errlen);

/* Free ps and everything it owns. policy_set_free(NULL) is a no-op. */
void policy_set_free(struct policy_set *ps);

/* Number of policies in ps. */
size_t policy_set_count(const struct policy_set *ps);

/*
 * The revision of ps: 16 lower-case hex digits of FNV-1a 64 over the
 * canonical dump (sorted keys, compact) of the array it was loaded from.
 * Changes when any rule changes or rules move; not when only whitespace or
 * the order of keys in an object does. It covers policies only: combine
 * it with the key fingerprints for admission caches. Borrowed from ps.
 */
const char *policy_set_revision(const struct policy_set *ps);

/* The repository glob of policy index, borrowed from ps; NULL if none. */
const char *policy_repository(const struct policy_set *ps, int index);

/*
 * The require block of policy index, borrowed from ps, or NULL when the
 * policy has none (or index is out of range).
 */
const struct policy_require *policy_require(
    const struct policy_set *ps, int index);

/* Index of the first policy whose glob matches repo, or -1. */
int policy_match(const struct policy_set *ps, const char *repo);

/*
 * Decide whether p may do act on repo. d is cleared on entry and always
 * filled. Returns d->allow.
 */
int policy_decide(const struct policy_set *ps, const char *repo,
    const struct policy_principal *p, enum policy_action act,
    struct policy_decision *d);

/*
 * A cross-repository mount of a blob from src into repo: push on repo and
 * pull on src. On deny, d says which check failed and d->index is that
 * policy; on allow d->index is repo's policy. Returns d->allow. A caller
 * that wants the registry's fallback (a plain upload instead of a mount)
 * checks push on repo alone when this denies.
 */
int policy_decide_mount(const struct policy_set *ps, const char *repo,
    const char *src, const struct policy_principal *p,
    struct policy_decision *d);

/* 1 if p may pull repo (catalog filtering), else 0. */
int policy_may_pull(const struct policy_set *ps, const char *repo,
    const struct policy_principal *p);

/*
 * Remove from names (a JSON array of strings, as the upstream's
 * {"repositories": [...]} holds; borrowed, changed in place) every entry
 * p may not pull, and every entry that is not a string. Returns the
 * number removed, or -1 if names is not an array.
 */
int policy_catalog_filter(const struct policy_set *ps,
    const struct policy_principal *p, json_t *names);

/*
 * 1 if tag is immutable in repo: the policy that matches repo lists an
 * immutable_tags glob that matches tag. Signature and attestation tags
 * ("sha256-<64 hex>.sig", ".att", ".sbom") are never immutable, so
 * another signature can always be added. 0 otherwise, and when no policy
 * matches (the push is denied anyway).
 */
int policy_tag_immutable(
    const struct policy_set *ps, const char *repo, const char *tag);

/*
 * 1 if p is listed in require.bypass of the policy that matches repo (so
 * may read manifests that fail admission), else 0, also when that policy
 * has no require block or no policy matches.
 */
int policy_may_bypass(const struct policy_set *ps, const char *repo,
    const struct policy_principal *p);

/*
 * Parse "<digits><unit>" with unit s, m, h or d ("30d", "12h") into
 * seconds. No sign, space or fraction. Returns 0, or -1 (and *secs 0) on
 * junk or overflow. The duration syntax of require.scan.max_age, shared
 * with retention's keep_pushed_within and keep_pulled_within.
 */
int policy_duration_parse(const char *s, uint64_t *secs);

/* "pull", "push", "delete". */
const char *policy_action_name(enum policy_action act);

/* Parse "pull", "push" or "delete" into *act. Returns 0, or -1. */
int policy_action_parse(const char *s, enum policy_action *act);

/*
 * Write p as the policy file would name it ("user:alice", "anonymous")
 * into buf[0..len), cut if need be. Control bytes become '?'.
 */
void policy_principal_fmt(
    const struct policy_principal *p, char *buf, size_t len);

/*
 * Repository and tag globs (gateway/policy_glob.c), for other modules
 * that select repositories the same way (retention). A compiled glob is
 * immutable and may be shared between threads.
 */
struct policy_glob; /* opaque */

/*
 * Compile pattern. Returns 0 and sets *out (free with policy_glob_free()),
 * or -1 with *out NULL and *why set to a static reason (why may be NULL).
 */
int policy_glob_compile(
    const char *pattern, struct policy_glob **out, const char **why);

/* The pattern g was compiled from, borrowed from g. */
const char *policy_glob_pattern(const struct policy_glob *g);

/* 1 if repository name matches g, else 0. */
int policy_glob_match(const struct policy_glob *g, const char *name);

/* Free g. policy_glob_free(NULL) is a no-op. */
void policy_glob_free(struct policy_glob *g);

/*
 * Tag globs: '*' matches any run of characters, everything else is
 * literal from [A-Za-z0-9._-]. Returns 0, or -1 with *why (may be NULL).
 */
int policy_glob_tag_valid(const char *pattern, const char **why);

/* 1 if tag matches the (valid) tag glob pattern, else 0. */
int policy_glob_tag_match(const char *pattern, const char *tag);

#endif /* REGWARD_POLICY_H */
