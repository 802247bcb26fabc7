/*
 * registry_list: the parts of the registry client that purge and sync
 * need and regward-sign does not: the catalog and tags lists with their
 * Link paging, and deleting a manifest by digest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "regward/registry.h"

#include "registry_priv.h"

char *
registry_link_next(const char *base, const char *link)
{
	const char *p, *lt, *gt, *params, *end;
	char *target = NULL, *ret = NULL;
	size_t blen;

	if (link == NULL)
		return NULL;
	/* Link: <url>; rel="next", <url2>; rel="prev" */
	for (p = link; (lt = strchr(p, '<')) != NULL; p = end) {
		if ((gt = strchr(lt, '>')) == NULL)
			return NULL;
		params = gt + 1;
		end = strchr(params, ',');
		if (end == NULL)
			end = params + strlen(params);
		/* rel="next" or rel=next among the parameters. */
		{
			size_t n = (size_t)(end - params);
			char buf[256];

			if (n >= sizeof(buf))
				n = sizeof(buf) - 1;
			memcpy(buf, params, n);
			buf[n] = '\0';
			if (strstr(buf, "rel=\"next\"") == NULL &&
			    strstr(buf, "rel=next") == NULL)
				continue;
		}
		if ((target = strndup(lt + 1, (size_t)(gt - lt - 1))) == NULL)
			return NULL;
		break;
	}
	if (target == NULL)
		return NULL;
	if (target[0] == '/' && target[1] != '/') {
		ret = target;
		target = NULL;
	} else if (base != NULL && (blen = strlen(base)) > 0 &&
	    strncasecmp(target, base, blen) == 0 && target[blen] == '/') {
		ret = strdup(target + blen);
	}
	free(target);
	if (ret != NULL && strncmp(ret, "/v2/", 4) != 0) {
		free(ret);
		ret = NULL;
	}
	return ret;
}

/*
 * Walk the pages of a list endpoint: GET first, then each rel="next",
 * calling cb for each string of the array member key.
 */
static enum registry_status
registry_list_walk(struct registry *reg, const char *op, const char *first,
    const char *scope, const char *key, int not_found_empty, int check_repo,
    registry_name_cb cb, void *arg, struct registry_err *err)
{
	struct registry_raw raw;
	enum registry_status st;
	json_t *doc = NULL, *arr;
	json_error_t jerr;
	char *path = NULL;
	size_t i, pages;

	memset(&raw, 0, sizeof(raw));
	if ((path = strdup(first)) == NULL)
		return REGISTRY_NOMEM;
	for (pages = 0; path != NULL; pages++) {
		if (pages >= REGISTRY_LIST_PAGES_MAX) {
			st = REGISTRY_PROTOCOL;
			if (err != NULL)
				snprintf(err->msg, sizeof(err->msg),
				    "%s: more than %d pages", op,
				    REGISTRY_LIST_PAGES_MAX);
			goto out;
		}
		st = registry_request(reg, "GET", path, scope,
		    "application/json", REGISTRY_LIST_BODY_MAX, &raw, err);
		if (st == REGISTRY_NOT_FOUND && not_found_empty) {
			if (err != NULL)
				memset(err, 0, sizeof(*err));
			st = REGISTRY_OK;
			goto out;
		}
		if (st != REGISTRY_OK)
			goto out;
		free(path);
		path = NULL;
		doc = json_loadb(raw.body != NULL ? (const char *)raw.body : "",
		    raw.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(doc)) {
			st = REGISTRY_PROTOCOL;
			if (err != NULL)
				snprintf(err->msg, sizeof(err->msg),
				    "%s: the registry sent no JSON object", op);
			goto out;
		}
		arr = json_object_get(doc, key);
		if (arr != NULL && !json_is_array(arr) && !json_is_null(arr)) {
			st = REGISTRY_PROTOCOL;
			if (err != NULL)
				snprintf(err->msg, sizeof(err->msg),
				    "%s: \"%s\" is not an array", op, key);
			goto out;
		}
		for (i = 0; json_is_array(arr) && i < json_array_size(arr);
		     i++) {
			const char *s =
			    json_string_value(json_array_get(arr, i));

			if (s == NULL ||
			    (check_repo && !registry_repo_valid(s)) ||
			    (!check_repo && !registry_tag_valid(s)))
				continue;
			if (cb(s, arg) != 0) {
				st = REGISTRY_OK;
				goto out;
			}
		}
		if (raw.link != NULL &&
		    (path = registry_link_next(
			 registry_base_url(reg), raw.link)) == NULL) {
			st = REGISTRY_PROTOCOL;
			if (err != NULL)
				snprintf(err->msg, sizeof(err->msg),
				    "%s: unusable Link header", op);
			goto out;
		}
		json_decref(doc);
		doc = NULL;
		registry_raw_clear(&raw);
	}
	st = REGISTRY_OK;
out:
	json_decref(doc);
	registry_raw_clear(&raw);
	free(path);
	return st;
}

enum registry_status
registry_catalog(struct registry *reg, size_t page, registry_name_cb cb,
    void *arg, struct registry_err *err)
{
	char first[64];

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	snprintf(first, sizeof(first), "/v2/_catalog?n=%zu",
	    page > 0 ? page : (size_t)REGISTRY_LIST_PAGE);
	return registry_list_walk(reg, "GET /v2/_catalog", first,
	    "registry:catalog:*", "repositories", 0, 1, cb, arg, err);
}

enum registry_status
registry_tags_list(struct registry *reg, const char *repo, size_t page,
    registry_name_cb cb, void *arg, struct registry_err *err)
{
	char first[REGISTRY_URL_MAX], op[320], scope[300];

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (!registry_repo_valid(repo)) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg),
			    "tags list: invalid repository name");
		return REGISTRY_INVALID;
	}
	snprintf(first, sizeof(first), "/v2/%s/tags/list?n=%zu", repo,
	    page > 0 ? page : (size_t)REGISTRY_LIST_PAGE);
	snprintf(op, sizeof(op), "GET /v2/%s/tags/list", repo);
	snprintf(scope, sizeof(scope), "repository:%s:pull", repo);
	return registry_list_walk(
	    reg, op, first, scope, "tags", 1, 0, cb, arg, err);
}

enum registry_status
registry_manifest_delete(struct registry *reg, const char *repo,
    const char *dgst, struct registry_err *err)
{
	struct registry_raw raw;
	enum registry_status st;
	char path[512], scope[300];

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (!registry_repo_valid(repo) || !registry_digest_valid(dgst)) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg),
			    "DELETE manifest: invalid repository or digest");
		return REGISTRY_INVALID;
	}
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repo, dgst);
	snprintf(scope, sizeof(scope), "repository:%s:delete", repo);
	st = registry_request(reg, "DELETE", path, scope, NULL,
	    REGISTRY_ERROR_BODY_MAX, &raw, err);
	registry_raw_clear(&raw);
	if (st == REGISTRY_UNSUPPORTED && err != NULL) {
		size_t n = strlen(err->msg);

		snprintf(err->msg + n, sizeof(err->msg) - n,
		    ": deletes are disabled on the registry: set "
		    "storage.delete.enabled: true");
	}
	return st;
}
