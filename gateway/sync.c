/*
 * sync: `regward sync -c FILE [--repository GLOB]`, and sync_repo(), which
 * purge runs on every repository before planning: the upstream says what
 * exists; the ledger remembers who pushed it and when.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "regward/config.h"
#include "regward/db.h"
#include "regward/policy.h"
#include "regward/registry.h"
#include "regward/retention.h"

#include "purge.h"

#define SYNC_ERR_MAX 1024
#define SYNC_INDEX_CHILDREN_MAX 4096 /* children read from one index */

/* A manifest seen on the upstream during one sync_repo(). */
struct sync_mfst {
	char dgst[REGISTRY_DIGEST_MAX];
	char media_type[REGISTRY_MEDIA_TYPE_MAX];
	long long size;
	char **children; /* set when the index was fetched */
	size_t nchildren;
	int fetched;
};

struct sync_tag {
	char *tag;
	char dgst[REGISTRY_DIGEST_MAX];
};

struct sync_ctx {
	struct sync_mfst *mfsts;
	size_t nmfsts;
	struct sync_tag *tags;
	size_t ntags;
	char **names; /* listing buffer */
	size_t nnames;
	char **gone; /* ledger manifests the upstream lacks */
	size_t ngone;
	char **drop; /* ledger tags the upstream lacks */
	size_t ndrop;
	long long at;
	int failed;
};

void
sync_names_free(char **names)
{
	size_t i;

	for (i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

/* Append a copy of s to a NULL-terminated vector. */
static int
sync_vec_add(char ***v, size_t *n, const char *s)
{
	char **nv;

	if ((nv = realloc(*v, (*n + 2) * sizeof(*nv))) == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	nv[++*n] = NULL;
	return 0;
}

static int
sync_name_cb(const char *name, void *arg)
{
	struct sync_ctx *c = arg;

	if (sync_vec_add(&c->names, &c->nnames, name) == -1) {
		c->failed = 1;
		return -1;
	}
	return 0;
}

size_t
sync_list_page(void)
{
	const char *s = getenv("REGWARD_LIST_PAGE");
	size_t v = 0;

	for (; s != NULL && *s >= '0' && *s <= '9' && v < 100000; s++)
		v = v * 10 + (size_t)(*s - '0');
	return v; /* 0: the client's default */
}

struct registry *
sync_registry_new(const struct config *cfg, char *err, size_t errlen)
{
	struct registry_opts o;

	memset(&o, 0, sizeof(o));
	o.host = cfg->upstream.authority;
	o.insecure = !cfg->upstream.tls;
	o.ca_cert = cfg->upstream.ca_file;
	o.user_agent = "regward-purge/" REGWARD_VERSION;
	o.timeout_ms = 60000;
	return registry_new(&o, err, errlen);
}

int
sync_catalog(
    struct registry *reg, char ***names, size_t *n, char *err, size_t errlen)
{
	struct sync_ctx c;
	struct registry_err rerr;
	enum registry_status st;

	*names = NULL;
	*n = 0;
	memset(&c, 0, sizeof(c));
	st = registry_catalog(reg, sync_list_page(), sync_name_cb, &c, &rerr);
	if (st != REGISTRY_OK || c.failed) {
		snprintf(err, errlen, "upstream catalog: %s",
		    c.failed ? "out of memory" : rerr.msg);
		sync_names_free(c.names);
		return -1;
	}
	if (c.names == NULL && (c.names = calloc(1, sizeof(char *))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*names = c.names;
	*n = c.nnames;
	return 0;
}

static struct sync_mfst *
sync_mfst_find(struct sync_ctx *c, const char *dgst)
{
	size_t i;

	for (i = 0; i < c->nmfsts; i++)
		if (strcmp(c->mfsts[i].dgst, dgst) == 0)
			return &c->mfsts[i];
	return NULL;
}

/* The manifest dgst, added once. NULL when out of memory. */
static struct sync_mfst *
sync_mfst_add(
    struct sync_ctx *c, const char *dgst, const char *mt, long long size)
{
	struct sync_mfst *m, *nm;

	if ((m = sync_mfst_find(c, dgst)) != NULL)
		return m;
	if ((nm = realloc(c->mfsts, (c->nmfsts + 1) * sizeof(*nm))) == NULL)
		return NULL;
	c->mfsts = nm;
	m = &c->mfsts[c->nmfsts++];
	memset(m, 0, sizeof(*m));
	snprintf(m->dgst, sizeof(m->dgst), "%s", dgst);
	snprintf(
	    m->media_type, sizeof(m->media_type), "%s", mt != NULL ? mt : "");
	m->size = size;
	return m;
}

static void
sync_ctx_clear(struct sync_ctx *c)
{
	size_t i, j;

	for (i = 0; i < c->nmfsts; i++) {
		for (j = 0; j < c->mfsts[i].nchildren; j++)
			free(c->mfsts[i].children[j]);
		free(c->mfsts[i].children);
	}
	free(c->mfsts);
	for (i = 0; i < c->ntags; i++)
		free(c->tags[i].tag);
	free(c->tags);
	/* names moved into tags are NULL: free by count, not to the NULL */
	for (i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	sync_names_free(c->gone);
	sync_names_free(c->drop);
	memset(c, 0, sizeof(*c));
}

static int
sync_is_index(const char *mt)
{
	return mt != NULL &&
	    (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
		strcmp(mt,
		    "application/vnd.docker.distribution.manifest.list."
		    "v2+json") == 0);
}

/* GET the index m and keep the digests it lists (and add them). */
static int
sync_fetch_index(struct registry *reg, const char *repo, struct sync_ctx *c,
    size_t mi, char *err, size_t errlen)
{
	struct registry_mfst body;
	struct registry_err rerr;
	enum registry_status st;
	json_t *doc = NULL, *arr, *d;
	json_error_t jerr;
	char dgst[REGISTRY_DIGEST_MAX];
	size_t i;
	int ret = -1;

	memset(&body, 0, sizeof(body));
	snprintf(dgst, sizeof(dgst), "%s", c->mfsts[mi].dgst);
	st = registry_manifest_get(reg, repo, dgst, NULL, &body, &rerr);
	if (st == REGISTRY_NOT_FOUND)
		return 0;
	if (st != REGISTRY_OK) {
		snprintf(err, errlen, "%s", rerr.msg);
		return -1;
	}
	doc = json_loadb((const char *)body.body, body.len, 0, &jerr);
	arr = json_object_get(doc, "manifests");
	c->mfsts[mi].fetched = 1;
	for (i = 0; json_is_array(arr) && i < json_array_size(arr) &&
	     i < SYNC_INDEX_CHILDREN_MAX;
	     i++) {
		const char *cd, *cmt;
		long long sz;
		struct sync_mfst *m;
		char **v;

		d = json_array_get(arr, i);
		cd = json_string_value(json_object_get(d, "digest"));
		cmt = json_string_value(json_object_get(d, "mediaType"));
		sz = json_is_integer(json_object_get(d, "size"))
		    ? (long long)json_integer_value(json_object_get(d, "size"))
		    : -1;
		if (cd == NULL || !registry_digest_valid(cd))
			continue;
		m = &c->mfsts[mi];
		if ((v = realloc(
			 m->children, (m->nchildren + 1) * sizeof(*v))) == NULL)
			goto nomem;
		m->children = v;
		if ((v[m->nchildren] = strdup(cd)) == NULL)
			goto nomem;
		m->nchildren++;
		/* may move c->mfsts: index by mi again above */
		if (sync_mfst_add(c, cd, cmt, sz) == NULL)
			goto nomem;
	}
	ret = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	json_decref(doc);
	registry_mfst_clear(&body);
	return ret;
}

/* Ledger tags the upstream lacks (and older than the sync): drop them. */
static int
sync_ledger_tag_cb(const struct db_inv_tag *t, void *arg)
{
	struct sync_ctx *c = arg;
	size_t i;

	for (i = 0; i < c->ntags; i++)
		if (strcmp(c->tags[i].tag, t->tag) == 0)
			return 0;
	if (t->updated_at >= c->at)
		return 0; /* pushed while we listed */
	if (sync_vec_add(&c->drop, &c->ndrop, t->tag) == -1)
		c->failed = 1;
	return 0;
}

struct sync_untagged {
	struct sync_ctx *c;
	char **digests;
	size_t n;
	long long *pushed;
};

static int
sync_ledger_mfst_cb(const struct db_inv_mfst *m, void *arg)
{
	struct sync_untagged *u = arg;
	long long *np;

	if (sync_mfst_find(u->c, m->digest) != NULL)
		return 0;
	if (sync_vec_add(&u->digests, &u->n, m->digest) == -1 ||
	    (np = realloc(u->pushed, u->n * sizeof(*np))) == NULL) {
		u->c->failed = 1;
		return -1;
	}
	u->pushed = np;
	u->pushed[u->n - 1] = m->pushed_at;
	return 0;
}

/* Write what the network said, in one transaction. */
static int
sync_write(struct db *db, const char *repo, struct sync_ctx *c,
    struct sync_stats *st, char *err, size_t errlen)
{
	size_t i;
	int r;

	if (db_inv_begin(db, err, errlen) == -1)
		return -1;
	for (i = 0; i < c->nmfsts; i++) {
		struct sync_mfst *m = &c->mfsts[i];

		r = db_inv_manifest_seen(db, repo, m->dgst,
		    m->media_type[0] != '\0' ? m->media_type : NULL, m->size,
		    c->at, err, errlen);
		if (r < 0)
			goto bad;
		st->manifests++;
		st->manifests_new += (size_t)r;
		if (m->fetched &&
		    db_inv_children_set(db, repo, m->dgst,
			(const char *const *)m->children, m->nchildren, err,
			errlen) == -1)
			goto bad;
	}
	for (i = 0; i < c->ntags; i++) {
		if ((r = db_inv_tag_seen(db, repo, c->tags[i].tag,
			 c->tags[i].dgst, c->at, err, errlen)) < 0)
			goto bad;
		st->tags++;
		st->tags_changed += (size_t)r;
	}
	for (i = 0; i < c->ndrop; i++) {
		if (db_inv_tag_drop(db, repo, c->drop[i], c->at, "sync", NULL,
			err, errlen) == -1)
			goto bad;
		st->tags_dropped++;
	}
	for (i = 0; i < c->ngone; i++) {
		if (db_inv_manifest_deleted(
			db, repo, c->gone[i], c->at, NULL, err, errlen) == -1)
			goto bad;
		st->manifests_gone++;
	}
	return db_inv_commit(db, err, errlen);
bad:
	db_inv_rollback(db);
	return -1;
}

int
sync_repo(struct registry *reg, struct db *db, const char *repo, long long at,
    struct sync_stats *st, char *err, size_t errlen)
{
	struct sync_ctx c;
	struct sync_untagged u;
	struct registry_err rerr;
	struct registry_desc desc;
	enum registry_status rs;
	char subj[80];
	size_t i, n;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	memset(&u, 0, sizeof(u));
	memset(st, 0, sizeof(*st));
	c.at = at;
	u.c = &c;
	/* 1. Tags, each resolved to its digest now. */
	rs = registry_tags_list(
	    reg, repo, sync_list_page(), sync_name_cb, &c, &rerr);
	if (rs != REGISTRY_OK || c.failed) {
		snprintf(err, errlen, "%s: %s", repo,
		    c.failed ? "out of memory" : rerr.msg);
		goto out;
	}
	if ((c.tags = calloc(c.nnames + 1, sizeof(*c.tags))) == NULL)
		goto nomem;
	for (i = 0; i < c.nnames; i++) {
		rs = registry_manifest_head(
		    reg, repo, c.names[i], NULL, &desc, &rerr);
		if (rs == REGISTRY_NOT_FOUND)
			continue; /* deleted meanwhile */
		if (rs != REGISTRY_OK) {
			snprintf(err, errlen, "%s", rerr.msg);
			goto out;
		}
		if (desc.dgst[0] == '\0') {
			snprintf(err, errlen,
			    "%s:%s: the upstream sent no Docker-Content-Digest",
			    repo, c.names[i]);
			goto out;
		}
		c.tags[c.ntags].tag = c.names[i];
		c.names[i] = NULL; /* moved */
		snprintf(c.tags[c.ntags].dgst, sizeof(c.tags[c.ntags].dgst),
		    "%s", desc.dgst);
		c.ntags++;
		if (sync_mfst_add(&c, desc.dgst, desc.media_type,
			desc.has_size ? (long long)desc.size : -1) == NULL)
			goto nomem;
	}
	/* 2. Indexes whose children the ledger does not hold yet. */
	for (i = 0; i < c.nmfsts; i++) {
		int has;

		if (!sync_is_index(c.mfsts[i].media_type))
			continue;
		if ((has = db_inv_has_children(
			 db, repo, c.mfsts[i].dgst, err, errlen)) < 0)
			goto out;
		if (!has &&
		    sync_fetch_index(reg, repo, &c, i, err, errlen) == -1)
			goto out;
	}
	/* 3. Subjects of signature tags, when they exist. */
	for (i = 0; i < c.ntags; i++) {
		if (!retention_sig_subject(c.tags[i].tag, subj, sizeof(subj)) ||
		    sync_mfst_find(&c, subj) != NULL)
			continue;
		rs =
		    registry_manifest_head(reg, repo, subj, NULL, &desc, &rerr);
		if (rs == REGISTRY_NOT_FOUND)
			continue;
		if (rs != REGISTRY_OK) {
			snprintf(err, errlen, "%s", rerr.msg);
			goto out;
		}
		if (sync_mfst_add(&c, subj, desc.media_type,
			desc.has_size ? (long long)desc.size : -1) == NULL)
			goto nomem;
	}
	/* 4. What the ledger knows and no tag reached: still there? */
	if (db_inv_manifest_list(
		db, repo, sync_ledger_mfst_cb, &u, err, errlen) == -1)
		goto out;
	if (c.failed)
		goto nomem;
	for (i = 0; i < u.n; i++) {
		rs = registry_manifest_head(
		    reg, repo, u.digests[i], NULL, &desc, &rerr);
		if (rs == REGISTRY_NOT_FOUND) {
			if (u.pushed[i] < at &&
			    sync_vec_add(&c.gone, &c.ngone, u.digests[i]) == -1)
				goto nomem;
			continue;
		}
		if (rs != REGISTRY_OK) {
			snprintf(err, errlen, "%s", rerr.msg);
			goto out;
		}
		n = c.nmfsts;
		if (sync_mfst_add(&c, u.digests[i], desc.media_type,
			desc.has_size ? (long long)desc.size : -1) == NULL)
			goto nomem;
		if (c.nmfsts > n && sync_is_index(desc.media_type)) {
			int has = db_inv_has_children(
			    db, repo, u.digests[i], err, errlen);

			if (has < 0 ||
			    (!has &&
				sync_fetch_index(
				    reg, repo, &c, n, err, errlen) == -1))
				goto out;
		}
	}
	if (db_inv_tag_list(
		db, repo, NULL, sync_ledger_tag_cb, &c, err, errlen) == -1)
		goto out;
	if (c.failed)
		goto nomem;
	ret = sync_write(db, repo, &c, st, err, errlen);
	goto out;
nomem:
	snprintf(err, errlen, "%s: out of memory", repo);
out:
	sync_names_free(u.digests);
	free(u.pushed);
	sync_ctx_clear(&c);
	return ret;
}

/* ------------------------------------------------------------- command */

static int
sync_usage(void)
{
	fprintf(stderr, "usage: regward sync -c FILE [--repository GLOB]\n");
	return 2;
}

int
sync_main(int argc, char **argv)
{
	const char *cfg_path = NULL, *glob_s = NULL, *why = NULL;
	struct config *cfg = NULL;
	struct db *db = NULL;
	struct registry *reg = NULL;
	struct policy_glob *glob = NULL;
	struct sync_stats st;
	char err[SYNC_ERR_MAX], **repos = NULL;
	size_t i, nrepos = 0, done = 0;
	long long at;
	int rc = 1;

	for (i = 0; i < (size_t)argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
			strcmp(argv[i], "--config") == 0) &&
		    i + 1 < (size_t)argc)
			cfg_path = argv[++i];
		else if (strcmp(argv[i], "--repository") == 0 &&
		    i + 1 < (size_t)argc)
			glob_s = argv[++i];
		else {
			fprintf(stderr,
			    "regward: sync: unexpected argument: %s\n",
			    argv[i]);
			return sync_usage();
		}
	}
	if (cfg_path == NULL) {
		fprintf(stderr, "regward: sync: missing -c FILE\n");
		return sync_usage();
	}
	if (glob_s != NULL && policy_glob_compile(glob_s, &glob, &why) == -1) {
		fprintf(stderr, "regward: sync: --repository: %s\n",
		    why != NULL ? why : "invalid glob");
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
	if ((reg = sync_registry_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "regward: sync: upstream: %s\n", err);
		goto out;
	}
	at = (long long)time(NULL);
	if (sync_catalog(reg, &repos, &nrepos, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward: sync: %s\n", err);
		goto out;
	}
	for (i = 0; i < nrepos; i++) {
		if (glob != NULL && !policy_glob_match(glob, repos[i]))
			continue;
		if (sync_repo(reg, db, repos[i], at, &st, err, sizeof(err)) ==
		    -1) {
			fprintf(stderr, "regward: sync: %s\n", err);
			goto out;
		}
		printf("%s: %zu tags (%zu new or moved, %zu gone), %zu "
		       "manifests (%zu new, %zu gone)\n",
		    repos[i], st.tags, st.tags_changed, st.tags_dropped,
		    st.manifests, st.manifests_new, st.manifests_gone);
		done++;
	}
	printf("synced %zu repositories from %s\n", done, cfg->upstream.url);
	rc = 0;
out:
	sync_names_free(repos);
	policy_glob_free(glob);
	registry_free(reg);
	db_close(db);
	config_free(cfg);
	return rc;
}
