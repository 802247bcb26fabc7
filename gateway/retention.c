/*
 * retention: load the "retention" rules and plan a purge over plain
 * structs (include/regward/retention.h). gateway/purge.c feeds the plan
 * from the ledger checked against the live upstream and carries it out.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "regward/policy.h"
#include "regward/retention.h"

/* ---------------------------------------------------------------- loader */

static int __attribute__((format(printf, 5, 6))) retention_err(char *err,
    size_t errlen, const char *file, const char *path, const char *fmt, ...)
{
	char msg[POLICY_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s: %s", file, path, msg);
	return -1;
}

/* A duration: whole seconds (integer >= 0) or "30d", "12h", "90m", "30s". */
static int
retention_duration(const json_t *v, long long *out)
{
	uint64_t secs;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (long long)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) &&
	    policy_duration_parse(json_string_value(v), &secs) == 0 &&
	    secs <= POLICY_MAX_AGE_MAX * 10) {
		*out = (long long)secs;
		return 0;
	}
	return -1;
}

static void
retention_rule_clear(struct retention_rule *r)
{
	size_t i;

	policy_glob_free(r->repo);
	for (i = 0; i < r->nkeep_tags; i++)
		free(r->keep_tags[i]);
	free(r->keep_tags);
	memset(r, 0, sizeof(*r));
}

static int
retention_rule_load(const char *file, size_t idx, json_t *obj,
    struct retention_rule *r, char *err, size_t errlen)
{
	const char *key, *why = NULL;
	char path[96];
	json_t *v;
	size_t i;
	int keeps = 0;

	r->keep_last = -1;
	r->keep_pushed_within = -1;
	r->keep_pulled_within = -1;
	snprintf(path, sizeof(path), "retention[%zu]", idx);
	if (!json_is_object(obj))
		return retention_err(
		    err, errlen, file, path, "must be an object");
	json_object_foreach(obj, key, v)
	{
		snprintf(path, sizeof(path), "retention[%zu].%.40s", idx, key);
		if (strcmp(key, "repository") == 0) {
			if (!json_is_string(v))
				return retention_err(err, errlen, file, path,
				    "must be a string");
			if (policy_glob_compile(
				json_string_value(v), &r->repo, &why) == -1)
				return retention_err(err, errlen, file, path,
				    "%s", why != NULL ? why : "invalid glob");
		} else if (strcmp(key, "keep_last") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 1000000)
				return retention_err(err, errlen, file, path,
				    "must be a non-negative integer");
			r->keep_last = (long long)json_integer_value(v);
			keeps++;
		} else if (strcmp(key, "keep_tags") == 0) {
			if (!json_is_array(v) || json_array_size(v) > 1024)
				return retention_err(err, errlen, file, path,
				    "must be an array of tag globs");
			r->keep_tags = calloc(
			    json_array_size(v) + 1, sizeof(*r->keep_tags));
			if (r->keep_tags == NULL)
				return retention_err(
				    err, errlen, file, path, "out of memory");
			for (i = 0; i < json_array_size(v); i++) {
				const char *g =
				    json_string_value(json_array_get(v, i));

				snprintf(path, sizeof(path),
				    "retention[%zu].keep_tags[%zu]", idx, i);
				if (g == NULL)
					return retention_err(err, errlen, file,
					    path, "must be a string");
				if (policy_glob_tag_valid(g, &why) == -1)
					return retention_err(err, errlen, file,
					    path, "%s",
					    why != NULL ? why : "invalid glob");
				if ((r->keep_tags[i] = strdup(g)) == NULL)
					return retention_err(err, errlen, file,
					    path, "out of memory");
				r->nkeep_tags = i + 1;
			}
			keeps++;
		} else if (strcmp(key, "keep_pushed_within") == 0 ||
		    strcmp(key, "keep_pulled_within") == 0) {
			long long *dst =
			    key[5] == 'p' && key[6] == 'u' && key[7] == 's'
			    ? &r->keep_pushed_within
			    : &r->keep_pulled_within;

			if (retention_duration(v, dst) == -1)
				return retention_err(err, errlen, file, path,
				    "must be a duration such as \"30d\", "
				    "\"12h\" or whole seconds");
			keeps++;
		} else if (strcmp(key, "untagged") == 0) {
			const char *s = json_string_value(v);

			if (s != NULL && strcmp(s, "keep") == 0)
				r->untagged = RETENTION_UNTAGGED_KEEP;
			else if (s != NULL && strcmp(s, "delete") == 0)
				r->untagged = RETENTION_UNTAGGED_DELETE;
			else
				return retention_err(err, errlen, file, path,
				    "must be \"keep\" or \"delete\"");
		} else {
			return retention_err(
			    err, errlen, file, path, "unknown key");
		}
	}
	snprintf(path, sizeof(path), "retention[%zu]", idx);
	if (r->repo == NULL)
		return retention_err(err, errlen, file, path,
		    "repository: required key is missing");
	if (keeps == 0)
		return retention_err(err, errlen, file, path,
		    "needs at least one of keep_last, keep_tags, "
		    "keep_pushed_within, keep_pulled_within (keep_last: 0 "
		    "deletes every tag)");
	return 0;
}

int
retention_load(const char *file, const json_t *retention,
    struct retention_set **out, char *err, size_t errlen)
{
	struct retention_set *rs = NULL;
	size_t i, j;
	int ret = -1;

	*out = NULL;
	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		retention_err(err, errlen, file, "retention", "out of memory");
		goto out;
	}
	if (retention == NULL) {
		ret = 0;
		goto out;
	}
	if (!json_is_array(retention)) {
		retention_err(err, errlen, file, "retention",
		    "must be an array of rules");
		goto out;
	}
	if (json_array_size(retention) > RETENTION_RULES_MAX) {
		retention_err(err, errlen, file, "retention",
		    "more than %d rules", RETENTION_RULES_MAX);
		goto out;
	}
	rs->rules = calloc(json_array_size(retention) + 1, sizeof(*rs->rules));
	if (rs->rules == NULL) {
		retention_err(err, errlen, file, "retention", "out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(retention); i++) {
		rs->nrules = i + 1;
		if (retention_rule_load(file, i, json_array_get(retention, i),
			&rs->rules[i], err, errlen) == -1)
			goto out;
		for (j = 0; j < i; j++) {
			if (strcmp(policy_glob_pattern(rs->rules[j].repo),
				policy_glob_pattern(rs->rules[i].repo)) == 0) {
				char path[64];

				snprintf(path, sizeof(path),
				    "retention[%zu].repository", i);
				retention_err(err, errlen, file, path,
				    "same glob as retention[%zu]: this rule "
				    "could never match",
				    j);
				goto out;
			}
		}
	}
	ret = 0;
out:
	if (ret == 0) {
		*out = rs;
		rs = NULL;
	}
	retention_set_free(rs);
	return ret;
}

void
retention_set_free(struct retention_set *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->nrules; i++)
		retention_rule_clear(&rs->rules[i]);
	free(rs->rules);
	free(rs);
}

int
retention_match(const struct retention_set *rs, const char *repo)
{
	size_t i;

	for (i = 0; rs != NULL && i < rs->nrules; i++)
		if (policy_glob_match(rs->rules[i].repo, repo))
			return (int)i;
	return -1;
}

int
retention_sig_subject(const char *tag, char *subject, size_t len)
{
	static const char *const sfx[] = {".sig", ".att", ".sbom"};
	size_t i;

	if (strncmp(tag, "sha256-", 7) != 0 || strlen(tag) < 7 + 64 + 4)
		return 0;
	for (i = 7; i < 7 + 64; i++) {
		char c = tag[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (strcmp(tag + 7 + 64, sfx[i]) == 0) {
			if (len < 7 + 1 + 64 + 1)
				return 0;
			snprintf(subject, len, "sha256:%.64s", tag + 7);
			return 1;
		}
	}
	return 0;
}

void
retention_age_fmt(long long secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(buf, len, "%lldd", secs / 86400);
	else if (secs >= 3600)
		snprintf(buf, len, "%lldh", secs / 3600);
	else if (secs >= 60)
		snprintf(buf, len, "%lldm", secs / 60);
	else
		snprintf(buf, len, "%llds", secs);
}

/* --------------------------------------------------------------- planner */

/* Index of digest in repo->mfsts, or -1. */
static long
retention_find(const struct retention_repo *repo, const char *digest)
{
	size_t i;

	for (i = 0; i < repo->nmfsts; i++)
		if (strcmp(repo->mfsts[i].digest, digest) == 0)
			return (long)i;
	return -1;
}

/* Newest push first; seq breaks ties within a second, then the name. */
static int
retention_tag_cmp(const void *a, const void *b)
{
	const struct retention_tag *x = *(const struct retention_tag *const *)a;
	const struct retention_tag *y = *(const struct retention_tag *const *)b;

	if (x->updated_at != y->updated_at)
		return x->updated_at > y->updated_at ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq > y->seq ? -1 : 1;
	return strcmp(y->tag, x->tag);
}

static int
retention_within(long long now, long long at, long long window)
{
	return window >= 0 && at > 0 && now - at < window;
}

static void
retention_keep(struct retention_mfst *m, const char *reason)
{
	if (m->action == RETENTION_KEEP && m->reason[0] != '\0')
		return; /* the first reason found stays */
	m->action = RETENTION_KEEP;
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
}

static int
retention_dep_add(struct retention_mfst *m, size_t dep)
{
	size_t *d;

	if ((d = realloc(m->deps, (m->ndeps + 1) * sizeof(*d))) == NULL)
		return -1;
	m->deps = d;
	m->deps[m->ndeps++] = dep;
	return 0;
}

/* Evaluate the non-signature tags in push order. */
static int
retention_plan_tags(const struct retention_rule *rule,
    struct retention_repo *repo, long long now, char *decided)
{
	struct retention_tag **order = NULL;
	size_t i, j, n = 0;
	char subj[80], age[32];
	long m;

	if ((order = calloc(repo->ntags + 1, sizeof(*order))) == NULL)
		return -1;
	for (i = 0; i < repo->ntags; i++) {
		struct retention_tag *t = &repo->tags[i];

		t->keep = 0;
		t->why[0] = '\0';
		t->sig = retention_sig_subject(t->tag, subj, sizeof(subj));
		if (!t->sig)
			order[n++] = t;
	}
	qsort(order, n, sizeof(*order), retention_tag_cmp);
	for (i = 0; i < n; i++) {
		struct retention_tag *t = order[i];

		m = retention_find(repo, t->digest);
		if (rule->keep_last >= 0 && (long long)i < rule->keep_last) {
			snprintf(t->why, sizeof(t->why), "keep_last %lld",
			    rule->keep_last);
			t->keep = 1;
		}
		for (j = 0; !t->keep && j < rule->nkeep_tags; j++) {
			if (policy_glob_tag_match(rule->keep_tags[j], t->tag)) {
				snprintf(t->why, sizeof(t->why),
				    "keep_tags \"%s\"", rule->keep_tags[j]);
				t->keep = 1;
			}
		}
		if (!t->keep &&
		    retention_within(
			now, t->updated_at, rule->keep_pushed_within)) {
			retention_age_fmt(
			    now - t->updated_at, age, sizeof(age));
			snprintf(t->why, sizeof(t->why),
			    "keep_pushed_within (pushed %s ago)", age);
			t->keep = 1;
		}
		if (!t->keep && m >= 0 &&
		    retention_within(now, repo->mfsts[m].last_pulled,
			rule->keep_pulled_within)) {
			retention_age_fmt(
			    now - repo->mfsts[m].last_pulled, age, sizeof(age));
			snprintf(t->why, sizeof(t->why),
			    "keep_pulled_within (pulled %s ago)", age);
			t->keep = 1;
		}
		if (!t->keep) {
			char last[48] = "";

			if (rule->keep_last >= 0)
				snprintf(last, sizeof(last),
				    "beyond keep_last %lld, ", rule->keep_last);
			retention_age_fmt(
			    now - t->updated_at, age, sizeof(age));
			snprintf(t->why, sizeof(t->why), "%spushed %s ago%s",
			    last, age,
			    m >= 0 && repo->mfsts[m].last_pulled == 0
				? ", never pulled"
				: "");
		}
		if (m < 0)
			continue;
		repo->mfsts[m].kind = RETENTION_KIND_TAGGED;
		if (t->keep) {
			char r[RETENTION_REASON_MAX];

			snprintf(
			    r, sizeof(r), "tag %s: %.200s", t->tag, t->why);
			retention_keep(&repo->mfsts[m], r);
			decided[m] = 1;
		} else if (!decided[m] && repo->mfsts[m].reason[0] == '\0') {
			snprintf(repo->mfsts[m].reason,
			    sizeof(repo->mfsts[m].reason), "%s", t->why);
		}
	}
	free(order);
	return 0;
}

int
retention_plan(const struct retention_rule *rule, struct retention_repo *repo,
    long long now)
{
	char *decided = NULL, *subj_any = NULL, subj[80], age[32];
	size_t i, j;
	int changed, ndel = 0;
	long s;

	if ((decided = calloc(repo->nmfsts + 1, 1)) == NULL ||
	    (subj_any = calloc(repo->nmfsts + 1, 1)) == NULL)
		goto nomem;
	for (i = 0; i < repo->nmfsts; i++) {
		struct retention_mfst *m = &repo->mfsts[i];

		free(m->deps);
		m->deps = NULL;
		m->ndeps = 0;
		m->action = RETENTION_DELETE;
		m->kind = RETENTION_KIND_UNTAGGED;
		m->level = 0;
		m->reason[0] = '\0';
	}
	/* Signature manifests: those only signature tags point to. */
	for (i = 0; i < repo->ntags; i++) {
		long m = retention_find(repo, repo->tags[i].digest);

		if (m >= 0 &&
		    retention_sig_subject(
			repo->tags[i].tag, subj, sizeof(subj)))
			subj_any[m] = 1;
	}
	for (i = 0; i < repo->nmfsts; i++)
		if (subj_any[i])
			repo->mfsts[i].kind = RETENTION_KIND_SIGNATURE;
	/* 1. Tags (marks tagged manifests, keeps those with a kept tag). */
	if (retention_plan_tags(rule, repo, now, decided) == -1)
		goto nomem;
	/* 2. Recent pushes and pulls keep a manifest, tagged or not. */
	for (i = 0; i < repo->nmfsts; i++) {
		struct retention_mfst *m = &repo->mfsts[i];

		if (decided[i] || m->kind == RETENTION_KIND_SIGNATURE)
			continue;
		if (retention_within(
			now, m->pushed_at, rule->keep_pushed_within)) {
			char r[64];

			retention_age_fmt(now - m->pushed_at, age, sizeof(age));
			snprintf(r, sizeof(r),
			    "keep_pushed_within (pushed %s ago)", age);
			retention_keep(m, r);
			decided[i] = 1;
		} else if (retention_within(
			       now, m->last_pulled, rule->keep_pulled_within)) {
			char r[64];

			retention_age_fmt(
			    now - m->last_pulled, age, sizeof(age));
			snprintf(r, sizeof(r),
			    "keep_pulled_within (pulled %s ago)", age);
			retention_keep(m, r);
			decided[i] = 1;
		} else if (m->kind == RETENTION_KIND_UNTAGGED &&
		    !m->orphan_child &&
		    rule->untagged == RETENTION_UNTAGGED_KEEP) {
			/* Kept unless an index it belongs to goes (step 4). */
			retention_keep(m, "untagged: keep");
		}
	}
	/* 3. Kept indexes keep their children; kept subjects their sigs. */
	do {
		changed = 0;
		for (i = 0; i < repo->nmfsts; i++) {
			struct retention_mfst *m = &repo->mfsts[i];

			if (!decided[i] && m->action != RETENTION_KEEP)
				continue;
			for (j = 0; j < m->nchildren; j++) {
				long c = retention_find(repo, m->children[j]);

				if (c < 0 || decided[c])
					continue;
				repo->mfsts[c].action = RETENTION_KEEP;
				snprintf(repo->mfsts[c].reason,
				    sizeof(repo->mfsts[c].reason),
				    "listed by kept index %.80s", m->digest);
				decided[c] = 1;
				changed = 1;
			}
		}
		for (i = 0; i < repo->ntags; i++) {
			long m = retention_find(repo, repo->tags[i].digest);

			if (m < 0 || decided[m] ||
			    !retention_sig_subject(
				repo->tags[i].tag, subj, sizeof(subj)))
				continue;
			s = retention_find(repo, subj);
			if (s >= 0 && decided[s]) {
				repo->mfsts[m].action = RETENTION_KEEP;
				snprintf(repo->mfsts[m].reason,
				    sizeof(repo->mfsts[m].reason),
				    "%.40s of kept %.80s",
				    strrchr(repo->tags[i].tag, '.') + 1, subj);
				repo->tags[i].keep = 1;
				decided[m] = 1;
				changed = 1;
			}
		}
	} while (changed);
	/*
	 * 4. What is left goes. Untagged children of a deleted index go
	 * after it unless something above kept them; signatures follow
	 * their subject's fate, after it.
	 */
	for (i = 0; i < repo->nmfsts; i++) {
		struct retention_mfst *m = &repo->mfsts[i];

		if (decided[i] || m->action != RETENTION_DELETE)
			continue;
		for (j = 0; j < m->nchildren; j++) {
			long c = retention_find(repo, m->children[j]);
			struct retention_mfst *cm;

			if (c < 0 || decided[c])
				continue;
			cm = &repo->mfsts[c];
			if (cm->kind == RETENTION_KIND_UNTAGGED) {
				cm->action = RETENTION_DELETE;
				cm->level = 1;
				snprintf(cm->reason, sizeof(cm->reason),
				    "listed only by deleted index %.80s",
				    m->digest);
			}
			if (cm->action == RETENTION_DELETE &&
			    retention_dep_add(cm, i) == -1)
				goto nomem;
		}
	}
	/* A signature manifest stays if any subject it signs stays. */
	memset(subj_any, 0, repo->nmfsts);
	for (i = 0; i < repo->ntags; i++) {
		long m = retention_find(repo, repo->tags[i].digest);

		if (m < 0 || decided[m] ||
		    !retention_sig_subject(
			repo->tags[i].tag, subj, sizeof(subj)))
			continue;
		s = retention_find(repo, subj);
		if (s >= 0 && repo->mfsts[s].action == RETENTION_KEEP) {
			repo->mfsts[m].action = RETENTION_KEEP;
			repo->tags[i].keep = 1;
			snprintf(repo->mfsts[m].reason,
			    sizeof(repo->mfsts[m].reason),
			    "%.40s of kept %.80s",
			    strrchr(repo->tags[i].tag, '.') + 1, subj);
			subj_any[m] = 1;
		}
	}
	for (i = 0; i < repo->ntags; i++) {
		long m = retention_find(repo, repo->tags[i].digest);
		const char *what;

		if (m < 0 || decided[m] || subj_any[m] ||
		    !retention_sig_subject(
			repo->tags[i].tag, subj, sizeof(subj)))
			continue;
		what = strrchr(repo->tags[i].tag, '.') + 1;
		s = retention_find(repo, subj);
		if (repo->mfsts[m].action == RETENTION_KEEP &&
		    repo->mfsts[m].kind != RETENTION_KIND_SIGNATURE)
			continue; /* kept on its own account */
		repo->mfsts[m].action = RETENTION_DELETE;
		if (repo->mfsts[m].kind == RETENTION_KIND_SIGNATURE)
			repo->mfsts[m].level = 2;
		if (s >= 0) {
			snprintf(repo->mfsts[m].reason,
			    sizeof(repo->mfsts[m].reason),
			    "%.40s of deleted %.80s", what, subj);
			if (retention_dep_add(&repo->mfsts[m], (size_t)s) == -1)
				goto nomem;
		} else {
			snprintf(repo->mfsts[m].reason,
			    sizeof(repo->mfsts[m].reason),
			    "%.40s of %.80s, which is gone", what, subj);
		}
	}
	for (i = 0; i < repo->nmfsts; i++) {
		struct retention_mfst *m = &repo->mfsts[i];

		if (m->action != RETENTION_DELETE)
			continue;
		if (m->reason[0] == '\0')
			snprintf(m->reason, sizeof(m->reason), "%s",
			    m->orphan_child ? "listed only by deleted indexes"
					    : "untagged");
		ndel++;
	}
	free(decided);
	free(subj_any);
	return ndel;
nomem:
	free(decided);
	free(subj_any);
	return -1;
}

void
retention_repo_clear(struct retention_repo *repo)
{
	size_t i;

	for (i = 0; repo != NULL && i < repo->nmfsts; i++) {
		free(repo->mfsts[i].deps);
		repo->mfsts[i].deps = NULL;
		repo->mfsts[i].ndeps = 0;
	}
}
