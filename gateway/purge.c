/*
 * purge: `regward purge -c FILE [--dry-run] [--json] [--repository GLOB]`
 * and `regward audit -c FILE [--since T] [--json]`.
 *
 * A run: take the lock (<database>.purge.lock, flock: it dies with the
 * process), trim the audit trail (audit.keep_days), then for every
 * repository of the upstream's catalog that a retention rule matches:
 * sync it into the ledger (sync_repo(): the upstream says what exists),
 * plan it (retention_plan(): pure rules), and delete each candidate by
 * digest after checking, just before, that nothing moved: no tag of the
 * plan points elsewhere now, no tag the plan did not know points to it,
 * and it was not pushed since the run started. Each deletion is recorded
 * (purge_deletions, audit) only after the upstream answered 202 or 404,
 * so a run killed half-way and run again converges.
 *
 * Test-only settings (docs/purge.md): REGWARD_NOW (epoch seconds) is the
 * planner's clock; REGWARD_PURGE_DELAY_MS sleeps before each deletion.
 */
#define _XOPEN_SOURCE 700 /* strptime */

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "regward/config.h"
#include "regward/db.h"
#include "regward/policy.h"
#include "regward/registry.h"
#include "regward/retention.h"

#include "purge.h"

#define PURGE_ERR_MAX 1024
#define PURGE_TAGS_MAX 1024 /* bytes of the tags column shown */
#define PURGE_GC_HINT                                                          \
	"To reclaim the space, run the registry's garbage collector in its "   \
	"maintenance window (read-only mode or registry stopped):\n"           \
	"  docker-registry garbage-collect /etc/docker/registry/config.yml\n"  \
	"(\"registry garbage-collect ...\" with upstream's binary; see "       \
	"docs/purge.md before adding --delete-untagged)\n"

enum purge_outcome {
	PURGE_NONE = 0,
	PURGE_DELETED,
	PURGE_GONE,
	PURGE_SKIPPED,
	PURGE_FAILED,
};

struct purge {
	struct config *cfg;
	struct retention_set *rs;
	struct policy_glob *glob; /* --repository */
	struct db *db;
	struct db_ledger *w; /* audit rows */
	struct registry *reg;
	int dry_run;
	int json;
	long long run_id;
	long long started; /* real clock */
	long long now; /* planner clock (REGWARD_NOW) */
	long delay_ms; /* REGWARD_PURGE_DELAY_MS */
	long long planned, deleted, gone, skipped, failed;
	int fatal; /* stop the run (deletes disabled) */
	char fatal_msg[PURGE_ERR_MAX];
};

/* One repository's plan input, owned here. */
struct purge_repo {
	const char *name;
	int rule;
	struct retention_repo plan;
	size_t cap_m, cap_t;
	char **mt; /* media type per manifest */
	enum purge_outcome *outcome;
};

void
purge_usage(FILE *f)
{
	fprintf(f,
	    "       regward sync -c FILE [--repository GLOB]\n"
	    "       regward purge -c FILE [--dry-run] [--json] "
	    "[--repository GLOB]\n"
	    "       regward audit -c FILE [--since T] [--json]\n");
}

/* Bounded parse of a non-negative decimal env value; -1 when unset/bad. */
static long long
purge_env_num(const char *name)
{
	const char *s = getenv(name);
	long long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > 1000000000000LL)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* --------------------------------------------------------------- lock */

/*
 * flock <database>.purge.lock. Returns the descriptor (kept open for the
 * run), or -1 after printing who holds it.
 */
static int
purge_lock(const char *database)
{
	char path[4096], info[256], host[128], when[32];
	struct tm tm;
	time_t now;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s.purge.lock", database);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		fprintf(
		    stderr, "regward: purge: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = pread(fd, info, sizeof(info) - 1, 0);
		info[n > 0 ? n : 0] = '\0';
		info[strcspn(info, "\n")] = '\0';
		fprintf(stderr,
		    "regward: purge: another purge is running (%s; lock %s)\n",
		    info[0] != '\0' ? info : "holder unknown", path);
		close(fd);
		return -1;
	}
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(info, sizeof(info), "pid %ld on %s since %s\n",
	    (long)getpid(), host, when);
	if (ftruncate(fd, 0) == -1 || pwrite(fd, info, (size_t)n, 0) != n)
		fprintf(stderr, "regward: purge: %s: cannot write: %s\n", path,
		    strerror(errno));
	return fd;
}

/* ------------------------------------------------------- plan input */

/* Free what a const pointer of the plan structs owns. */
static void
purge_free_const(const void *p)
{
	void *q;

	memcpy(&q, &p, sizeof(q));
	free(q);
}

static void
purge_repo_clear(struct purge_repo *r)
{
	size_t i, j;

	retention_repo_clear(&r->plan);
	for (i = 0; i < r->plan.nmfsts; i++) {
		struct retention_mfst *m = &r->plan.mfsts[i];

		purge_free_const(m->digest);
		for (j = 0; j < m->nchildren; j++)
			purge_free_const(m->children[j]);
		purge_free_const(m->children);
		free(r->mt[i]);
	}
	for (i = 0; i < r->plan.ntags; i++) {
		purge_free_const(r->plan.tags[i].tag);
		purge_free_const(r->plan.tags[i].digest);
	}
	free(r->plan.mfsts);
	free(r->plan.tags);
	free(r->mt);
	free(r->outcome);
	memset(r, 0, sizeof(*r));
}

static int
purge_mfst_cb(const struct db_inv_mfst *m, void *arg)
{
	struct purge_repo *r = arg;
	struct retention_mfst *nm;
	char **nmt;
	size_t n = r->plan.nmfsts;

	if (n == r->cap_m) {
		r->cap_m = r->cap_m * 2 + 16;
		if ((nm = realloc(r->plan.mfsts, r->cap_m * sizeof(*nm))) ==
		    NULL)
			return -1;
		r->plan.mfsts = nm;
		if ((nmt = realloc(r->mt, r->cap_m * sizeof(*nmt))) == NULL)
			return -1;
		r->mt = nmt;
	}
	nm = &r->plan.mfsts[n];
	memset(nm, 0, sizeof(*nm));
	r->mt[n] = m->media_type != NULL ? strdup(m->media_type) : NULL;
	if ((nm->digest = strdup(m->digest)) == NULL)
		return -1;
	nm->pushed_at = m->pushed_at > 0 ? m->pushed_at : m->first_seen;
	nm->last_pulled = m->last_pulled;
	r->plan.nmfsts++;
	return 0;
}

static int
purge_tag_cb(const struct db_inv_tag *t, void *arg)
{
	struct purge_repo *r = arg;
	struct retention_tag *nt;
	size_t n = r->plan.ntags;

	if (n == r->cap_t) {
		r->cap_t = r->cap_t * 2 + 16;
		if ((nt = realloc(r->plan.tags, r->cap_t * sizeof(*nt))) ==
		    NULL)
			return -1;
		r->plan.tags = nt;
	}
	nt = &r->plan.tags[n];
	memset(nt, 0, sizeof(*nt));
	nt->tag = strdup(t->tag);
	nt->digest = strdup(t->digest);
	nt->updated_at = t->updated_at;
	nt->seq = t->seq;
	r->plan.ntags++;
	return nt->tag == NULL || nt->digest == NULL ? -1 : 0;
}

static long
purge_find(const struct purge_repo *r, const char *digest)
{
	size_t i;

	for (i = 0; i < r->plan.nmfsts; i++)
		if (strcmp(r->plan.mfsts[i].digest, digest) == 0)
			return (long)i;
	return -1;
}

/* Children of live indexes; children only dead indexes list: orphans. */
static int
purge_child_cb(const char *parent, const char *child, int live, void *arg)
{
	struct purge_repo *r = arg;
	struct retention_mfst *pm;
	const char **v;
	long p, c;

	c = purge_find(r, child);
	if (c < 0)
		return 0;
	p = purge_find(r, parent);
	if (!live || p < 0) {
		r->plan.mfsts[c].orphan_child |= 2; /* a dead parent */
		return 0;
	}
	r->plan.mfsts[c].orphan_child |= 1; /* a live parent */
	pm = &r->plan.mfsts[p];
	memcpy(&v, &pm->children, sizeof(v));
	if ((v = realloc(v, (pm->nchildren + 1) * sizeof(*v))) == NULL)
		return -1;
	pm->children = v;
	if ((v[pm->nchildren] = strdup(child)) == NULL)
		return -1;
	pm->nchildren++;
	pm->is_index = 1;
	return 0;
}

static int
purge_repo_load(
    struct purge *pg, struct purge_repo *r, char *err, size_t errlen)
{
	size_t i;

	if (db_inv_manifest_list(
		pg->db, r->name, purge_mfst_cb, r, err, errlen) == -1 ||
	    db_inv_tag_list(
		pg->db, r->name, NULL, purge_tag_cb, r, err, errlen) == -1 ||
	    db_inv_children_list(
		pg->db, r->name, purge_child_cb, r, err, errlen) == -1)
		return -1;
	for (i = 0; i < r->plan.nmfsts; i++)
		/* listed only by indexes that are gone */
		r->plan.mfsts[i].orphan_child =
		    r->plan.mfsts[i].orphan_child == 2;
	if ((r->outcome = calloc(r->plan.nmfsts + 1, sizeof(*r->outcome))) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* --------------------------------------------------------------- rows */

/* "v1,latest" for the tags that point to digest, into buf. */
static void
purge_tags_of(
    const struct purge_repo *r, const char *digest, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < r->plan.ntags && off + 1 < len; i++) {
		if (strcmp(r->plan.tags[i].digest, digest) != 0)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    off > 0 ? "," : "", r->plan.tags[i].tag);
	}
	if (off >= len)
		buf[len - 1] = '\0';
}

static void
purge_row(struct purge *pg, const struct purge_repo *r, size_t i,
    const char *action, const char *why)
{
	const struct retention_mfst *m = &r->plan.mfsts[i];
	char tags[PURGE_TAGS_MAX], age[32], pulled[32], rule[32];
	json_t *o, *ta;
	char *line;
	size_t k;

	purge_tags_of(r, m->digest, tags, sizeof(tags));
	retention_age_fmt(pg->now - m->pushed_at, age, sizeof(age));
	if (m->last_pulled > 0)
		retention_age_fmt(
		    pg->now - m->last_pulled, pulled, sizeof(pulled));
	else
		snprintf(pulled, sizeof(pulled), "never");
	snprintf(rule, sizeof(rule), "retention[%d]", r->rule);
	if (!pg->json) {
		printf("%-24s %-24s %-71s %5s %9s %-13s %-12s %s%s%s\n",
		    r->name, tags[0] != '\0' ? tags : "-", m->digest, age,
		    pulled, rule, action, m->reason, why != NULL ? ": " : "",
		    why != NULL ? why : "");
		fflush(stdout);
		return;
	}
	o = json_object();
	ta = json_array();
	for (k = 0; k < r->plan.ntags; k++)
		if (strcmp(r->plan.tags[k].digest, m->digest) == 0)
			json_array_append_new(
			    ta, json_string(r->plan.tags[k].tag));
	json_object_set_new(o, "repository", json_string(r->name));
	json_object_set_new(o, "tags", ta);
	json_object_set_new(o, "digest", json_string(m->digest));
	json_object_set_new(
	    o, "age_seconds", json_integer(pg->now - m->pushed_at));
	json_object_set_new(o, "last_pulled",
	    m->last_pulled > 0 ? json_integer(m->last_pulled) : json_null());
	json_object_set_new(o, "rule", json_string(rule));
	json_object_set_new(o, "reason", json_string(m->reason));
	json_object_set_new(o, "action", json_string(action));
	if (why != NULL)
		json_object_set_new(o, "detail", json_string(why));
	if ((line = json_dumps(o, JSON_COMPACT)) != NULL)
		printf("%s\n", line);
	fflush(stdout);
	free(line);
	json_decref(o);
}

static void
purge_header(struct purge *pg)
{
	if (pg->json)
		return;
	printf("%-24s %-24s %-71s %5s %9s %-13s %-12s %s\n", "REPOSITORY",
	    "TAGS", "DIGEST", "AGE", "LAST-PULL", "RULE", "ACTION", "REASON");
}

/* ---------------------------------------------------------- deletion */

struct purge_live {
	struct purge *pg;
	const struct purge_repo *r;
	const char *digest;
	char why[PURGE_ERR_MAX + 256];
	int stop;
};

/* A tag the ledger has on the candidate now that the plan did not. */
static int
purge_ledger_tag_cb(const struct db_inv_tag *t, void *arg)
{
	struct purge_live *l = arg;
	size_t i;

	for (i = 0; i < l->r->plan.ntags; i++)
		if (strcmp(l->r->plan.tags[i].tag, t->tag) == 0 &&
		    strcmp(l->r->plan.tags[i].digest, l->digest) == 0)
			return 0;
	snprintf(l->why, sizeof(l->why), "tag %.128s now points to it", t->tag);
	l->stop = 1;
	return -1;
}

/*
 * A live tag: one of the plan's tags for the candidate must still point
 * to it (or be gone); a tag the plan did not know must not point to it.
 */
static int
purge_live_tag_cb(const char *tag, void *arg)
{
	struct purge_live *l = arg;
	struct registry_desc d;
	struct registry_err rerr;
	enum registry_status st;
	int planned_here = 0, known = 0;
	size_t i;

	for (i = 0; i < l->r->plan.ntags; i++) {
		if (strcmp(l->r->plan.tags[i].tag, tag) != 0)
			continue;
		known = 1;
		planned_here =
		    strcmp(l->r->plan.tags[i].digest, l->digest) == 0;
	}
	if (known && !planned_here)
		return 0; /* pointed elsewhere: the ledger check covers moves */
	st = registry_manifest_head(
	    l->pg->reg, l->r->name, tag, NULL, &d, &rerr);
	if (st == REGISTRY_NOT_FOUND)
		return 0;
	if (st != REGISTRY_OK) {
		snprintf(l->why, sizeof(l->why),
		    "re-check of tag %.128s: %.512s", tag, rerr.msg);
		l->stop = 1;
		return -1;
	}
	if (planned_here && strcmp(d.dgst, l->digest) != 0) {
		snprintf(l->why, sizeof(l->why), "tag %.128s moved to %.80s",
		    tag, d.dgst);
		l->stop = 1;
		return -1;
	}
	if (!known && strcmp(d.dgst, l->digest) == 0) {
		snprintf(
		    l->why, sizeof(l->why), "tag %.128s now points to it", tag);
		l->stop = 1;
		return -1;
	}
	return 0;
}

/* Record one outcome: purge_deletions, and for a deletion the ledger. */
static void
purge_record(struct purge *pg, struct purge_repo *r, size_t i,
    const char *status, int http, const char *why)
{
	const struct retention_mfst *m = &r->plan.mfsts[i];
	struct db_purge_deletion d;
	struct db_ledger_event e;
	char tags[PURGE_TAGS_MAX], rule[32], reason[512], err[PURGE_ERR_MAX];
	long long at = (long long)time(NULL);

	purge_tags_of(r, m->digest, tags, sizeof(tags));
	snprintf(rule, sizeof(rule), "retention[%d]", r->rule);
	snprintf(reason, sizeof(reason), "%s%s%s", m->reason,
	    why != NULL ? ": " : "", why != NULL ? why : "");
	memset(&d, 0, sizeof(d));
	d.run_id = pg->run_id;
	d.at = at;
	d.repository = r->name;
	d.digest = m->digest;
	d.tags = tags[0] != '\0' ? tags : NULL;
	d.rule = rule;
	d.reason = reason;
	d.status = status;
	if (db_purge_deletion_add(pg->db, &d, err, sizeof(err)) == -1)
		fprintf(stderr, "regward: purge: %s\n", err);
	if (http == 0)
		return;
	if (db_inv_manifest_deleted(pg->db, r->name, m->digest, at, "purge",
		err, sizeof(err)) == -1)
		fprintf(stderr, "regward: purge: %s\n", err);
	memset(&e, 0, sizeof(e));
	e.at = at;
	e.kind = DB_LEDGER_DELETE;
	e.principal = "purge";
	e.repository = r->name;
	e.ref = m->digest;
	e.digest = m->digest;
	e.method = "DELETE";
	e.status = http;
	snprintf(reason, sizeof(reason), "%s: %s", rule, m->reason);
	e.reason = reason;
	if (db_ledger_event_insert(pg->w, &e, err, sizeof(err)) != DB_LEDGER_OK)
		fprintf(stderr, "regward: purge: %s\n", err);
}

static void
purge_one(struct purge *pg, struct purge_repo *r, size_t i)
{
	struct retention_mfst *m = &r->plan.mfsts[i];
	struct purge_live l;
	struct registry_err rerr;
	enum registry_status st;
	char err[PURGE_ERR_MAX], why[300];
	size_t k;
	int fresh;

	/* What it waits for (its index, its subject) must be gone. */
	for (k = 0; k < m->ndeps; k++) {
		enum purge_outcome o = r->outcome[m->deps[k]];

		if (o != PURGE_DELETED && o != PURGE_GONE) {
			snprintf(why, sizeof(why), "%.80s was not deleted",
			    r->plan.mfsts[m->deps[k]].digest);
			r->outcome[i] = PURGE_SKIPPED;
			pg->skipped++;
			purge_record(pg, r, i, "skipped", 0, why);
			purge_row(pg, r, i, "skipped", why);
			return;
		}
	}
	if (pg->delay_ms > 0) {
		struct timespec ts;

		ts.tv_sec = pg->delay_ms / 1000;
		ts.tv_nsec = (pg->delay_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	/* Re-check just before: pushes since the start, tags that moved. */
	memset(&l, 0, sizeof(l));
	l.pg = pg;
	l.r = r;
	l.digest = m->digest;
	fresh = db_inv_pushed_since(
	    pg->db, r->name, m->digest, pg->started, err, sizeof(err));
	if (fresh != 0)
		snprintf(l.why, sizeof(l.why), "%.1000s",
		    fresh > 0 ? "pushed since this run started" : err);
	else if (db_inv_tag_list(pg->db, r->name, m->digest,
		     purge_ledger_tag_cb, &l, err, sizeof(err)) == -1 &&
	    !l.stop)
		snprintf(l.why, sizeof(l.why), "%.1000s", err);
	else if (!l.stop) {
		st = registry_tags_list(pg->reg, r->name, sync_list_page(),
		    purge_live_tag_cb, &l, &rerr);
		if (st != REGISTRY_OK && !l.stop) {
			snprintf(l.why, sizeof(l.why), "%.512s", rerr.msg);
			l.stop = 1;
		}
	}
	if (fresh != 0 || l.why[0] != '\0') {
		r->outcome[i] = PURGE_SKIPPED;
		pg->skipped++;
		purge_record(pg, r, i, "skipped", 0, l.why);
		purge_row(pg, r, i, "skipped", l.why);
		return;
	}
	st = registry_manifest_delete(pg->reg, r->name, m->digest, &rerr);
	if (st == REGISTRY_OK || st == REGISTRY_NOT_FOUND) {
		r->outcome[i] = st == REGISTRY_OK ? PURGE_DELETED : PURGE_GONE;
		if (st == REGISTRY_OK)
			pg->deleted++;
		else
			pg->gone++;
		purge_record(pg, r, i, st == REGISTRY_OK ? "deleted" : "gone",
		    st == REGISTRY_OK ? 202 : 404, NULL);
		purge_row(
		    pg, r, i, st == REGISTRY_OK ? "deleted" : "gone", NULL);
		return;
	}
	r->outcome[i] = PURGE_FAILED;
	pg->failed++;
	purge_record(pg, r, i, "failed", 0, rerr.msg);
	purge_row(pg, r, i, "failed", rerr.msg);
	if (st == REGISTRY_UNSUPPORTED) {
		pg->fatal = 1;
		snprintf(pg->fatal_msg, sizeof(pg->fatal_msg), "%s", rerr.msg);
	}
}

/* Order: level (subjects and indexes first), then digest. */
static const struct purge_repo *purge_sort_repo;

static int
purge_cand_cmp(const void *a, const void *b)
{
	const struct retention_mfst *x =
	    &purge_sort_repo->plan.mfsts[*(const size_t *)a];
	const struct retention_mfst *y =
	    &purge_sort_repo->plan.mfsts[*(const size_t *)b];

	if (x->level != y->level)
		return x->level - y->level;
	return strcmp(x->digest, y->digest);
}

static int
purge_repo(struct purge *pg, const char *name, int rule)
{
	struct purge_repo r;
	struct sync_stats ss;
	char err[PURGE_ERR_MAX];
	size_t *order = NULL, n = 0, i;
	int ndel, ret = -1;

	memset(&r, 0, sizeof(r));
	r.name = name;
	r.rule = rule;
	if (sync_repo(pg->reg, pg->db, name, pg->started, &ss, err,
		sizeof(err)) == -1 ||
	    purge_repo_load(pg, &r, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward: purge: %s: %s\n", name, err);
		goto out;
	}
	if ((ndel = retention_plan(&pg->rs->rules[rule], &r.plan, pg->now)) <
	    0) {
		fprintf(stderr, "regward: purge: %s: out of memory\n", name);
		goto out;
	}
	if ((order = calloc((size_t)ndel + 1, sizeof(*order))) == NULL)
		goto out;
	for (i = 0; i < r.plan.nmfsts; i++)
		if (r.plan.mfsts[i].action == RETENTION_DELETE)
			order[n++] = i;
	purge_sort_repo = &r;
	qsort(order, n, sizeof(*order), purge_cand_cmp);
	purge_sort_repo = NULL;
	pg->planned += (long long)n;
	for (i = 0; i < n && !pg->fatal; i++) {
		if (pg->dry_run)
			purge_row(pg, &r, order[i], "would-delete", NULL);
		else
			purge_one(pg, &r, order[i]);
	}
	ret = 0;
out:
	free(order);
	purge_repo_clear(&r);
	return ret;
}

static int
purge_parse(int argc, char **argv, const char **cfg_path, int *dry, int *json,
    const char **glob)
{
	int i;

	for (i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
			strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc)
			*cfg_path = argv[++i];
		else if (strcmp(argv[i], "--repository") == 0 && i + 1 < argc &&
		    glob != NULL)
			*glob = argv[++i];
		else if (strcmp(argv[i], "--dry-run") == 0 && dry != NULL)
			*dry = 1;
		else if (strcmp(argv[i], "--json") == 0)
			*json = 1;
		else {
			fprintf(stderr, "regward: unexpected argument: %s\n",
			    argv[i]);
			return -1;
		}
	}
	if (*cfg_path == NULL) {
		fprintf(stderr, "regward: missing -c FILE\n");
		return -1;
	}
	return 0;
}

int
purge_main(int argc, char **argv)
{
	struct purge pg;
	const char *cfg_path = NULL, *glob_s = NULL, *why = NULL;
	char err[PURGE_ERR_MAX], **repos = NULL;
	size_t i, nrepos = 0;
	long long v;
	int rc = 1, lockfd = -1, rule, bad = 0;
	FILE *out;

	memset(&pg, 0, sizeof(pg));
	if (purge_parse(
		argc, argv, &cfg_path, &pg.dry_run, &pg.json, &glob_s) == -1) {
		purge_usage(stderr);
		return 2;
	}
	if (glob_s != NULL &&
	    policy_glob_compile(glob_s, &pg.glob, &why) == -1) {
		fprintf(stderr, "regward: purge: --repository: %s\n",
		    why != NULL ? why : "invalid glob");
		return 2;
	}
	if (config_load(cfg_path, &pg.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward: %s\n", err);
		goto out;
	}
	if (retention_load(pg.cfg->path, pg.cfg->retention, &pg.rs, err,
		sizeof(err)) == -1) {
		fprintf(stderr, "regward: %s\n", err);
		goto out;
	}
	pg.started = (long long)time(NULL);
	pg.now = (v = purge_env_num("REGWARD_NOW")) >= 0 ? v : pg.started;
	pg.delay_ms =
	    (v = purge_env_num("REGWARD_PURGE_DELAY_MS")) >= 0 && v < 600000
	    ? (long)v
	    : 0;
	if (!pg.dry_run && (lockfd = purge_lock(pg.cfg->database)) == -1)
		goto out;
	if ((pg.db = db_open(pg.cfg->database, err, sizeof(err))) == NULL) {
		fprintf(
		    stderr, "regward: %s: database: %s\n", pg.cfg->path, err);
		goto out;
	}
	if ((pg.w = db_ledger_new(pg.db, err, sizeof(err))) == NULL ||
	    (pg.run_id = db_purge_run_start(
		 pg.db, pg.started, pg.dry_run, err, sizeof(err))) < 0) {
		fprintf(stderr, "regward: purge: %s\n", err);
		goto out;
	}
	out = pg.json ? stderr : stdout;
	if (!pg.dry_run && pg.cfg->audit_keep_days > 0) {
		long long n = db_audit_trim(pg.db,
		    pg.started - (long long)pg.cfg->audit_keep_days * 86400,
		    err, sizeof(err));

		if (n < 0)
			fprintf(stderr, "regward: purge: audit: %s\n", err);
		else if (n > 0)
			fprintf(out,
			    "trimmed %lld audit rows older than %u days\n", n,
			    pg.cfg->audit_keep_days);
	}
	if (pg.rs->nrules == 0) {
		fprintf(out, "no retention rules in %s: nothing to purge\n",
		    pg.cfg->path);
		rc = 0;
		goto finish;
	}
	if ((pg.reg = sync_registry_new(pg.cfg, err, sizeof(err))) == NULL ||
	    sync_catalog(pg.reg, &repos, &nrepos, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward: purge: upstream: %s\n", err);
		snprintf(pg.fatal_msg, sizeof(pg.fatal_msg), "%s", err);
		bad = 1;
		goto finish;
	}
	purge_header(&pg);
	for (i = 0; i < nrepos && !pg.fatal; i++) {
		if (pg.glob != NULL && !policy_glob_match(pg.glob, repos[i]))
			continue;
		if ((rule = retention_match(pg.rs, repos[i])) < 0)
			continue;
		if (purge_repo(&pg, repos[i], rule) == -1)
			bad = 1;
	}
	if (pg.fatal)
		fprintf(stderr, "regward: purge: %s\n", pg.fatal_msg);
	if (pg.dry_run)
		fprintf(out, "dry run: %lld manifests would be deleted\n",
		    pg.planned);
	else
		fprintf(out,
		    "purge run %lld: %lld planned, %lld deleted, %lld already "
		    "gone, %lld skipped, %lld failed\n",
		    pg.run_id, pg.planned, pg.deleted, pg.gone, pg.skipped,
		    pg.failed);
	if (!pg.dry_run && pg.deleted > 0)
		fputs(PURGE_GC_HINT, out);
	rc = pg.fatal || pg.failed > 0 ? 1 : 0;
finish:
	if (bad)
		rc = 1;
	if (db_purge_run_finish(pg.db, pg.run_id, (long long)time(NULL),
		rc == 0 ? "done" : "failed", pg.planned, pg.deleted + pg.gone,
		pg.fatal_msg[0] != '\0' ? pg.fatal_msg : NULL, err,
		sizeof(err)) == -1)
		fprintf(stderr, "regward: purge: %s\n", err);
out:
	sync_names_free(repos);
	registry_free(pg.reg);
	db_ledger_free(pg.w);
	db_close(pg.db);
	retention_set_free(pg.rs);
	policy_glob_free(pg.glob);
	config_free(pg.cfg);
	if (lockfd != -1)
		close(lockfd);
	return rc;
}

/* -------------------------------------------------------------- audit */

/*
 * --since T: epoch seconds, "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ", or a
 * duration back from now ("7d", "12h"). Returns 0 or -1.
 */
static int
purge_since_parse(const char *s, long long *out)
{
	struct tm tm;
	const char *end;
	uint64_t secs;
	size_t i, n = strlen(s);

	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == n && n > 0 && n <= 12) {
		*out = strtoll(s, NULL, 10);
		return 0;
	}
	if (policy_duration_parse(s, &secs) == 0) {
		*out = (long long)time(NULL) - (long long)secs;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) != NULL &&
	    *end == '\0') {
		*out = (long long)timegm(&tm);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) != NULL && *end == '\0') {
		*out = (long long)timegm(&tm);
		return 0;
	}
	return -1;
}

static int
purge_audit_cb(const struct db_ledger_event *e, void *arg)
{
	const int *json = arg;
	char when[32], *line;
	struct tm tm;
	time_t t = (time_t)e->at;
	json_t *o, *claims;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!*json) {
		printf("%s %-12s %-20s %-24s %-20s %s\n", when,
		    db_ledger_kind_name(e->kind),
		    e->principal != NULL ? e->principal : "-",
		    e->repository != NULL ? e->repository : "-",
		    e->ref != NULL ? e->ref : "-",
		    e->reason != NULL ? e->reason : "");
		return 0;
	}
	o = json_object();
	json_object_set_new(o, "id", json_integer(e->id));
	json_object_set_new(o, "at", json_integer(e->at));
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(
	    o, "kind", json_string(db_ledger_kind_name(e->kind)));
#define PURGE_SET_STR(k, v)                                                    \
	json_object_set_new(o, k, (v) != NULL ? json_string(v) : json_null())
	PURGE_SET_STR("principal", e->principal);
	PURGE_SET_STR("client", e->client);
	PURGE_SET_STR("repository", e->repository);
	PURGE_SET_STR("ref", e->ref);
	PURGE_SET_STR("digest", e->digest);
	PURGE_SET_STR("method", e->method);
	PURGE_SET_STR("reason", e->reason);
#undef PURGE_SET_STR
	json_object_set_new(o, "status",
	    e->status != 0 ? json_integer(e->status) : json_null());
	claims = e->claims != NULL ? json_loads(e->claims, 0, NULL) : NULL;
	json_object_set_new(o, "claims", claims != NULL ? claims : json_null());
	if ((line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL)
		printf("%s\n", line);
	free(line);
	json_decref(o);
	return 0;
}

int
audit_main(int argc, char **argv)
{
	const char *cfg_path = NULL, *since_s = NULL;
	struct config *cfg = NULL;
	struct db *db = NULL;
	char err[PURGE_ERR_MAX];
	long long since = 0;
	int json = 0, rc = 1, i, n = 0;
	char **rest;

	/* --since is ours; the rest goes through purge_parse(). */
	if ((rest = calloc((size_t)argc + 1, sizeof(*rest))) == NULL)
		return 1;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			since_s = argv[++i];
		else
			rest[n++] = argv[i];
	}
	if (purge_parse(n, rest, &cfg_path, NULL, &json, NULL) == -1) {
		free(rest);
		fprintf(stderr,
		    "usage: regward audit -c FILE [--since T] [--json]\n");
		return 2;
	}
	free(rest);
	if (since_s != NULL && purge_since_parse(since_s, &since) == -1) {
		fprintf(stderr,
		    "regward: audit: --since: want epoch seconds, "
		    "YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a duration such as "
		    "7d, got \"%.64s\"\n",
		    since_s);
		return 2;
	}
	if (config_load(cfg_path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward: %s\n", err);
		goto out;
	}
	if ((db = db_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "regward: %s: database: %s\n", cfg->path, err);
		goto out;
	}
	if (db_ledger_audit_list(
		db, since, purge_audit_cb, &json, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward: audit: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	db_close(db);
	config_free(cfg);
	return rc;
}
