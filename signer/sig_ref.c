/*
 * sig_ref: OCI image references with docker's normalisation rules
 * (distribution/reference, containers/image docker/reference), the
 * identity a payload names and the tag a signature is stored under.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "regward/sig.h"

#define SIG_REF_HOST_MAX 255
#define SIG_REF_PORT_MAX 5 /* digits */

static int
sig_ref_is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
sig_ref_is_alnum(char c)
{
	return sig_ref_is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/*
 * 1 if s[0..len) is a domain: host[:port] where host is a dot-separated
 * list of [A-Za-z0-9] labels with inner '-', or a bracketed IPv6 literal.
 */
static int
sig_ref_domain_valid(const char *s, size_t len)
{
	size_t i = 0, hostlen, p;
	int label = 0;

	if (len == 0)
		return 0;
	if (s[0] == '[') {
		for (i = 1; i < len && s[i] != ']'; i++)
			if (!((s[i] >= '0' && s[i] <= '9') ||
				(s[i] >= 'a' && s[i] <= 'f') ||
				(s[i] >= 'A' && s[i] <= 'F') || s[i] == ':' ||
				s[i] == '.'))
				return 0;
		if (i >= len || i < 3)
			return 0;
		i++;
	} else {
		for (; i < len && s[i] != ':'; i++) {
			if (sig_ref_is_alnum(s[i])) {
				label++;
			} else if (s[i] == '-') {
				if (label == 0 || i + 1 >= len ||
				    s[i + 1] == '.' || s[i + 1] == ':')
					return 0;
				label++;
			} else if (s[i] == '.') {
				if (label == 0)
					return 0;
				label = 0;
			} else {
				return 0;
			}
		}
		if (label == 0)
			return 0;
	}
	hostlen = i;
	if (hostlen > SIG_REF_HOST_MAX)
		return 0;
	if (i == len)
		return 1;
	if (s[i] != ':')
		return 0;
	p = len - i - 1;
	if (p == 0 || p > SIG_REF_PORT_MAX)
		return 0;
	for (i++; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * 1 if s[0..len) is a repository path: components of lowercase
 * alphanumerics joined by '.', '_', "__" or any run of '-', separated by
 * '/'.
 */
static int
sig_ref_path_valid(const char *s, size_t len)
{
	size_t i = 0, j;

	if (len == 0)
		return 0;
	while (i < len) {
		/* One component: alnum+ (sep alnum+)* */
		if (!sig_ref_is_lower_alnum(s[i]))
			return 0;
		while (i < len && s[i] != '/') {
			if (sig_ref_is_lower_alnum(s[i])) {
				i++;
				continue;
			}
			j = i;
			if (s[i] == '.') {
				i++;
			} else if (s[i] == '_') {
				i++;
				if (i < len && s[i] == '_')
					i++;
			} else if (s[i] == '-') {
				while (i < len && s[i] == '-')
					i++;
			} else {
				return 0;
			}
			if (i == j || i >= len || !sig_ref_is_lower_alnum(s[i]))
				return 0;
		}
		if (i < len) {
			i++; /* '/' */
			if (i >= len)
				return 0;
		}
	}
	return 1;
}

static int
sig_ref_tag_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > SIG_REF_TAG_MAX)
		return 0;
	if (!(sig_ref_is_alnum(s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++)
		if (!(sig_ref_is_alnum(s[i]) || s[i] == '_' || s[i] == '.' ||
			s[i] == '-'))
			return 0;
	return 1;
}

int
sig_ref_parse(
    const char *s, int flags, struct sig_ref *ref, char *err, size_t errlen)
{
	const char *at, *name, *slash, *colon, *path;
	size_t len, namelen, domlen, pathlen, i;
	int rc = -1, has_domain;

	memset(ref, 0, sizeof(*ref));
	if (s == NULL || (len = strnlen(s, SIG_REF_INPUT_MAX + 1)) == 0) {
		sig_err_set(err, errlen, "empty image reference");
		goto out;
	}
	if (len > SIG_REF_INPUT_MAX) {
		sig_err_set(err, errlen, "image reference longer than %d bytes",
		    SIG_REF_INPUT_MAX);
		goto out;
	}

	/* name[:tag][@digest] */
	namelen = len;
	if ((at = memchr(s, '@', len)) != NULL) {
		if (!sig_digest_valid(at + 1, len - (size_t)(at - s) - 1)) {
			sig_err_set(err, errlen,
			    "\"%s\": digest must be sha256: and 64 lowercase "
			    "hex digits",
			    s);
			goto out;
		}
		memcpy(ref->digest, at + 1, SIG_DIGEST_LEN);
		ref->digest[SIG_DIGEST_LEN] = '\0';
		namelen = (size_t)(at - s);
	}
	name = s;
	/* A tag is after the last ':' that follows the last '/'. */
	colon = NULL;
	for (i = 0; i < namelen; i++) {
		if (name[i] == '/')
			colon = NULL;
		else if (name[i] == ':')
			colon = name + i;
	}
	if (colon != NULL) {
		size_t taglen = namelen - (size_t)(colon - name) - 1;

		if (!sig_ref_tag_valid(colon + 1, taglen)) {
			sig_err_set(err, errlen,
			    "\"%s\": invalid tag (want "
			    "[A-Za-z0-9_][A-Za-z0-9._-]"
			    ", at most %d bytes)",
			    s, SIG_REF_TAG_MAX);
			goto out;
		}
		memcpy(ref->tag, colon + 1, taglen);
		ref->tag[taglen] = '\0';
		namelen = (size_t)(colon - name);
	}

	/* [domain/]path */
	slash = memchr(name, '/', namelen);
	domlen = slash != NULL ? (size_t)(slash - name) : 0;
	has_domain = 0;
	if (slash != NULL) {
		if (memchr(name, '.', domlen) != NULL ||
		    memchr(name, ':', domlen) != NULL ||
		    (domlen == 9 && memcmp(name, "localhost", 9) == 0))
			has_domain = 1;
		for (i = 0; i < domlen && !has_domain; i++)
			if (name[i] >= 'A' && name[i] <= 'Z')
				has_domain = 1;
	}
	if (has_domain) {
		if (!sig_ref_domain_valid(name, domlen)) {
			sig_err_set(err, errlen,
			    "\"%s\": invalid registry host \"%.*s\"", s,
			    (int)domlen, name);
			goto out;
		}
		if (domlen == 15 && memcmp(name, "index.docker.io", 15) == 0) {
			(void)snprintf(ref->registry, sizeof(ref->registry),
			    "%s", SIG_REF_DEFAULT_REGISTRY);
		} else {
			memcpy(ref->registry, name, domlen);
			ref->registry[domlen] = '\0';
		}
		path = slash + 1;
		pathlen = namelen - domlen - 1;
	} else {
		(void)snprintf(ref->registry, sizeof(ref->registry), "%s",
		    SIG_REF_DEFAULT_REGISTRY);
		path = name;
		pathlen = namelen;
	}
	if (!sig_ref_path_valid(path, pathlen)) {
		sig_err_set(err, errlen,
		    "\"%s\": invalid repository name \"%.*s\" (lowercase "
		    "letters, digits and separators . _ __ - only)",
		    s, (int)pathlen, path);
		goto out;
	}
	if (strcmp(ref->registry, SIG_REF_DEFAULT_REGISTRY) == 0 &&
	    memchr(path, '/', pathlen) == NULL) {
		if (pathlen + 8 > SIG_REF_REPO_MAX)
			goto toolong;
		memcpy(ref->repo, "library/", 8);
		memcpy(ref->repo + 8, path, pathlen);
		ref->repo[pathlen + 8] = '\0';
	} else {
		if (pathlen > SIG_REF_REPO_MAX)
			goto toolong;
		memcpy(ref->repo, path, pathlen);
		ref->repo[pathlen] = '\0';
	}
	if (ref->tag[0] == '\0' && ref->digest[0] == '\0' &&
	    (flags & SIG_REF_DEFAULT_LATEST))
		(void)snprintf(ref->tag, sizeof(ref->tag), "latest");
	rc = 0;
	goto out;
toolong:
	sig_err_set(err, errlen, "\"%s\": repository name longer than %d bytes",
	    s, SIG_REF_REPO_MAX);
out:
	if (rc != 0)
		memset(ref, 0, sizeof(*ref));
	return rc;
}

int
sig_ref_repo_name(const struct sig_ref *ref, char *out, size_t outlen)
{
	int n;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (ref->registry[0] == '\0' || ref->repo[0] == '\0')
		return -1;
	n = snprintf(out, outlen, "%s/%s", ref->registry, ref->repo);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
sig_ref_identity(const struct sig_ref *ref, char *out, size_t outlen)
{
	int n;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (ref->registry[0] == '\0' || ref->repo[0] == '\0')
		return -1;
	if (ref->tag[0] != '\0')
		n = snprintf(out, outlen, "%s/%s:%s", ref->registry, ref->repo,
		    ref->tag);
	else if (ref->digest[0] != '\0')
		n = snprintf(out, outlen, "%s/%s@%s", ref->registry, ref->repo,
		    ref->digest);
	else
		return -1;
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
sig_ref_sig_tag(const char *dgst, char *out, size_t outlen)
{
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (dgst == NULL || outlen < SIG_REF_SIG_TAG_SIZE ||
	    !sig_digest_valid(dgst, strnlen(dgst, SIG_DIGEST_SIZE)))
		return -1;
	(void)snprintf(out, outlen, "sha256-%s.sig", dgst + 7);
	return 0;
}
