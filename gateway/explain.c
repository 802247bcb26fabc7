/*
 * regward explain -c FILE [--as PRINCIPAL] [--role ROLE]... IMAGE
 *
 * Why a pull would be admitted or refused: the policy that matches, the
 * pull decision for the principal, each signature found and why it passed
 * or failed, and the decision. It asks the upstream itself (the manifest,
 * the ".sig" manifest, the payload blobs), exactly as the gateway's
 * admission workers do, and writes nothing to the database.
 *
 * Exit status: 0 served, 1 refused, 2 usage, configuration or network
 * trouble.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "regward/config.h"
#include "regward/db.h"
#include "regward/policy.h"
#include "regward/registry.h"

#include "admit.h"
#include "auth.h"
#include "explain.h"

#define EXPLAIN_ROLES_MAX 32

static void
explain_usage(FILE *f)
{
	fprintf(f,
	    "usage: regward explain -c FILE [--as PRINCIPAL] [--role ROLE]... "
	    "IMAGE\n"
	    "  IMAGE      [HOST/]REPOSITORY[:TAG|@DIGEST] (HOST is ignored: "
	    "the upstream is asked)\n"
	    "  PRINCIPAL  user:NAME, robot:NAME (roles from the database), "
	    "ci:NAME or anonymous\n");
}

static void
explain_trace(void *arg, const char *line)
{
	(void)arg;
	printf("  %s\n", line);
}

/* Split IMAGE into repository and reference; drop a registry host. */
static int
explain_image(const char *img, char *repo, size_t rlen, char *ref, size_t flen)
{
	const char *p = img, *slash = strchr(img, '/'), *at, *colon;
	size_t n;

	if (slash != NULL &&
	    (memchr(img, '.', (size_t)(slash - img)) != NULL ||
		memchr(img, ':', (size_t)(slash - img)) != NULL ||
		strncmp(img, "localhost/", 10) == 0))
		p = slash + 1;
	if ((at = strchr(p, '@')) != NULL) {
		n = (size_t)(at - p);
		snprintf(ref, flen, "%s", at + 1);
	} else {
		colon = strrchr(p, ':');
		if (colon != NULL && strchr(colon, '/') == NULL) {
			n = (size_t)(colon - p);
			snprintf(ref, flen, "%s", colon + 1);
		} else {
			n = strlen(p);
			snprintf(ref, flen, "latest");
		}
	}
	if (n >= rlen)
		return -1;
	memcpy(repo, p, n);
	repo[n] = '\0';
	if (!registry_repo_valid(repo))
		return -1;
	return at != NULL ? (registry_digest_valid(ref) ? 0 : -1)
			  : (registry_tag_valid(ref) ? 0 : -1);
}

/* --as: kind and name; roles of users and robots from the database. */
static int
explain_principal(const struct config *cfg, const char *as,
    struct policy_principal *pp, char **roles, size_t *nroles, char *name,
    size_t nlen)
{
	struct db_principal *dp = NULL;
	enum db_principal_kind dk;
	struct db *db;
	char err[512];
	size_t i;

	memset(pp, 0, sizeof(*pp));
	if (as == NULL || strcmp(as, "anonymous") == 0) {
		pp->kind = POLICY_ANONYMOUS;
		return 0;
	}
	if (strncmp(as, "user:", 5) == 0) {
		pp->kind = POLICY_USER;
		dk = DB_PRINCIPAL_USER;
	} else if (strncmp(as, "robot:", 6) == 0) {
		pp->kind = POLICY_ROBOT;
		dk = DB_PRINCIPAL_ROBOT;
	} else if (strncmp(as, "ci:", 3) == 0) {
		pp->kind = POLICY_CI;
		snprintf(name, nlen, "%s", as + 3);
		pp->name = name;
		return 0;
	} else {
		fprintf(stderr,
		    "regward: --as %s: expected user:NAME, robot:NAME, "
		    "ci:NAME or anonymous\n",
		    as);
		return -1;
	}
	snprintf(name, nlen, "%s", strchr(as, ':') + 1);
	pp->name = name;
	if ((db = db_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "regward: %s: database: %s\n", cfg->path, err);
		return -1;
	}
	if (db_principal_get(db, dk, name, &dp, err, sizeof(err)) !=
	    DB_PRINCIPAL_OK) {
		fprintf(stderr, "regward: --as %s: no such %s in %s\n", as,
		    db_principal_kind_name(dk), cfg->database);
		db_close(db);
		return -1;
	}
	for (i = 0; i < dp->nroles && *nroles < EXPLAIN_ROLES_MAX; i++)
		roles[(*nroles)++] = strdup(dp->roles[i]);
	db_principal_free(dp);
	db_close(db);
	return 0;
}

int
explain_main(int argc, char **argv)
{
	const char *path = NULL, *as = NULL, *image = NULL;
	char *roles[EXPLAIN_ROLES_MAX];
	size_t nroles = 0, i;
	char repo[256], ref[256], name[256], err[CONFIG_ERR_MAX], who[300];
	struct config *cfg = NULL;
	struct auth *a = NULL;
	struct admit_conf *ac = NULL;
	struct registry *reg = NULL;
	struct registry_mfst m;
	struct registry_err rerr;
	struct policy_principal pp;
	struct policy_decision d;
	struct admit_result r;
	const struct policy_set *ps;
	struct db *db = NULL;
	int pidx, rc = 2;

	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	for (i = 0; i < (size_t)argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
			strcmp(argv[i], "--config") == 0) &&
		    i + 1 < (size_t)argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--as") == 0 && i + 1 < (size_t)argc)
			as = argv[++i];
		else if (strcmp(argv[i], "--role") == 0 &&
		    i + 1 < (size_t)argc && nroles < EXPLAIN_ROLES_MAX)
			roles[nroles++] = strdup(argv[++i]);
		else if (argv[i][0] != '-' && image == NULL)
			image = argv[i];
		else {
			fprintf(stderr,
			    "regward: explain: unknown argument: %s\n",
			    argv[i]);
			explain_usage(stderr);
			goto out;
		}
	}
	if (path == NULL || image == NULL) {
		explain_usage(stderr);
		goto out;
	}
	if (explain_image(image, repo, sizeof(repo), ref, sizeof(ref)) == -1) {
		fprintf(stderr,
		    "regward: explain: %s: not an image reference "
		    "(REPOSITORY[:TAG|@sha256:HEX])\n",
		    image);
		goto out;
	}
	if (config_load(path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward: %s\n", err);
		goto out;
	}
	if ((a = auth_new(cfg, NULL, NULL, err, sizeof(err))) == NULL ||
	    admit_conf_load(cfg, auth_policies(a), &ac, err, sizeof(err)) ==
		-1) {
		fprintf(stderr, "regward: %s\n", err);
		goto out;
	}
	ps = auth_policies(a);
	if (explain_principal(
		cfg, as, &pp, roles, &nroles, name, sizeof(name)) == -1)
		goto out;
	pp.roles = (const char *const *)roles;
	pp.nroles = nroles;
	policy_principal_fmt(&pp, who, sizeof(who));
	printf("image: %s (repository %s, %s %s)\n", image, repo,
	    registry_digest_valid(ref) ? "digest" : "tag", ref);
	pidx = policy_match(ps, repo);
	if (pidx < 0) {
		printf("policy: none matches %s\ndecision: refused (no policy "
		       "matches, so nobody may pull)\n",
		    repo);
		rc = 1;
		goto out;
	}
	printf(
	    "policy: policies[%d] \"%s\"\n", pidx, policy_repository(ps, pidx));
	policy_decide(ps, repo, &pp, POLICY_PULL, &d);
	printf("pull by %s: %s\n", who, d.allow ? "allowed" : d.reason);
	if ((reg = admit_registry_new(ac, err, sizeof(err))) == NULL) {
		fprintf(stderr, "regward: %s: upstream: %s\n", cfg->path, err);
		goto out;
	}
	if (registry_manifest_get(reg, repo, ref, NULL, &m, &rerr) !=
	    REGISTRY_OK) {
		fprintf(stderr, "regward: explain: %s\n", rerr.msg);
		goto out;
	}
	printf("manifest: %s, %zu bytes, %s\n", m.dgst, m.len, m.media_type);
	if (policy_require(ps, pidx) == NULL) {
		printf("require: none: served without admission\n");
		printf("decision: %s\n", d.allow ? "served" : "refused (pull)");
		rc = d.allow ? 0 : 1;
		goto out;
	}
	db = db_open(cfg->database, err, sizeof(err)); /* for indexes */
	admit_verify(ac, reg, db, 0, pidx, repo, m.dgst, m.body, m.len,
	    (long long)time(NULL), explain_trace, NULL, &r);
	printf("admission: %s: %s\n", admit_reason_name(r.reason), r.detail);
	if (!d.allow) {
		printf("decision: refused (pull is not allowed)\n");
		rc = 1;
	} else if (r.admit) {
		printf("decision: served\n");
		rc = 0;
	} else if (r.reason != ADMIT_UNAVAILABLE &&
	    policy_may_bypass(ps, repo, &pp)) {
		printf("decision: served (%s may bypass admission)\n", who);
		rc = 0;
	} else if (policy_require(ps, pidx)->mode == POLICY_MODE_WARN &&
	    r.reason != ADMIT_UNAVAILABLE) {
		printf("decision: served with a warning (mode warn)\n");
		rc = 0;
	} else {
		printf("decision: refused (%s)\n", admit_reason_name(r.reason));
		rc = r.reason == ADMIT_UNAVAILABLE ? 2 : 1;
	}
out:
	admit_result_clear(&r);
	registry_mfst_clear(&m);
	registry_free(reg);
	db_close(db);
	admit_conf_free(ac);
	auth_free(a);
	config_free(cfg);
	for (i = 0; i < nroles; i++)
		free(roles[i]);
	return rc;
}
