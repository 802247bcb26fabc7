/*
 * policy_glob: repository and tag globs for the policy engine.
 *
 * A repository glob is a '/'-separated list of segments over the
 * repository name alphabet [a-z0-9._-] plus '*'. Inside a segment '*'
 * matches any run of characters (never '/'). A segment that is exactly
 * "**" matches zero or more whole segments, as in gitignore: with "**"
 * first, "cache" and "a/b/cache" both match the glob "**" + "/cache";
 * with "**" between "a" and "b", "a/b" and "a/x/y/b" match. A trailing
 * "**" segment needs at least one segment, so "team/" "**" matches
 * everything under team/ but not "team" itself; compile puts a "*" segment
 * before it so that the matcher has a single rule for "**".
 *
 * Matching is the classic two-pointer wildcard walk, once over segments
 * (with "**" as the star) and once over the bytes of a segment (with '*'):
 * no recursion, no allocation, O(glob * name) in the worst case.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "regward/policy.h"

struct policy_glob_seg {
	const char *ptr; /* into policy_glob.text, or a static "*" */
	size_t len;
	int dstar; /* the segment is "**" */
};

struct policy_glob {
	char *text; /* the pattern as written */
	struct policy_glob_seg *seg;
	size_t nseg;
};

/* 1 if c may appear in a repository glob besides '/' and '*'. */
static int
policy_glob_repo_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	    c == '_' || c == '-';
}

/* 1 if c may appear in a tag glob besides '*'. */
static int
policy_glob_tag_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/*
 * 1 if s[0..slen) matches p[0..plen), where '*' in p matches any run of
 * bytes. The walk remembers the last '*' and retries from one byte further
 * when a literal fails, which is enough because '*' is the only wildcard.
 */
static int
policy_glob_bytes(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;

	while (si < slen) {
		if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < plen && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

int
policy_glob_compile(
    const char *pattern, struct policy_glob **out, const char **why)
{
	static const char star[] = "*";
	struct policy_glob *g = NULL;
	const char *reason = NULL, *p, *seg;
	size_t len, n, i, nstar;
	int rc = -1;

	*out = NULL;
	if (why != NULL)
		*why = NULL;
	if (pattern == NULL || (len = strlen(pattern)) == 0) {
		reason = "must not be empty";
		goto out;
	}
	if (len > POLICY_GLOB_MAX) {
		reason = "is too long";
		goto out;
	}
	/* Validate, counting segments. */
	for (n = 1, p = pattern; *p != '\0'; p++) {
		if (*p == '/') {
			n++;
		} else if (*p != '*' &&
		    !policy_glob_repo_char((unsigned char)*p)) {
			reason = (*p >= 'A' && *p <= 'Z')
			    ? "repository names are lower case"
			    : "may hold only a-z 0-9 . _ - / and *";
			goto out;
		}
	}
	if (pattern[0] == '/' || pattern[len - 1] == '/' ||
	    strstr(pattern, "//") != NULL) {
		reason = "has an empty path segment";
		goto out;
	}
	for (seg = pattern;; seg += i + 1) {
		i = strcspn(seg, "/");
		for (nstar = 0, p = seg; p + 1 < seg + i; p++) {
			if (p[0] == '*' && p[1] == '*')
				nstar++;
		}
		if (nstar > 0 && !(i == 2 && seg[0] == '*')) {
			reason = "\"**\" must be a whole path segment";
			goto out;
		}
		if (seg[i] == '\0')
			break;
	}

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->text = strdup(pattern)) == NULL ||
	    (g->seg = calloc(n + 1, sizeof(*g->seg))) == NULL) {
		reason = "out of memory";
		goto out;
	}
	for (seg = g->text;; seg += i + 1) {
		i = strcspn(seg, "/");
		if (i == 2 && seg[0] == '*' && seg[1] == '*' && n > 1 &&
		    seg[i] == '\0') {
			/* A trailing "**" needs at least one segment. */
			g->seg[g->nseg].ptr = star;
			g->seg[g->nseg].len = 1;
			g->nseg++;
		}
		g->seg[g->nseg].ptr = seg;
		g->seg[g->nseg].len = i;
		g->seg[g->nseg].dstar =
		    (i == 2 && seg[0] == '*' && seg[1] == '*');
		g->nseg++;
		if (seg[i] == '\0')
			break;
	}
	*out = g;
	g = NULL;
	rc = 0;
out:
	if (rc == -1 && why != NULL)
		*why = reason;
	policy_glob_free(g);
	return rc;
}

const char *
policy_glob_pattern(const struct policy_glob *g)
{
	return g != NULL ? g->text : NULL;
}

/* Start of the segment after the one at s (of length len), or the NUL. */
static const char *
policy_glob_next(const char *s, size_t len)
{
	return s[len] == '/' ? s + len + 1 : s + len;
}

int
policy_glob_match(const struct policy_glob *g, const char *name)
{
	const char *np, *star_np = NULL;
	size_t gi = 0, star_gi = 0, len;

	if (g == NULL || name == NULL || name[0] == '\0' || name[0] == '/' ||
	    name[strlen(name) - 1] == '/' || strstr(name, "//") != NULL)
		return 0;
	np = name;
	while (*np != '\0') {
		len = strcspn(np, "/");
		if (gi < g->nseg && g->seg[gi].dstar) {
			star_gi = gi++;
			star_np = np;
		} else if (gi < g->nseg &&
		    policy_glob_bytes(
			g->seg[gi].ptr, g->seg[gi].len, np, len)) {
			gi++;
			np = policy_glob_next(np, len);
		} else if (star_np != NULL) {
			/* Let the last "**" swallow one more segment. */
			gi = star_gi + 1;
			star_np =
			    policy_glob_next(star_np, strcspn(star_np, "/"));
			np = star_np;
		} else {
			return 0;
		}
	}
	while (gi < g->nseg && g->seg[gi].dstar)
		gi++;
	return gi == g->nseg;
}

void
policy_glob_free(struct policy_glob *g)
{
	if (g == NULL)
		return;
	free(g->seg);
	g->seg = NULL;
	free(g->text);
	g->text = NULL;
	free(g);
}

int
policy_glob_tag_valid(const char *pattern, const char **why)
{
	const char *p;

	if (why != NULL)
		*why = NULL;
	if (pattern == NULL || pattern[0] == '\0') {
		if (why != NULL)
			*why = "must not be empty";
		return -1;
	}
	if (strlen(pattern) > POLICY_TAG_GLOB_MAX) {
		if (why != NULL)
			*why = "is too long";
		return -1;
	}
	for (p = pattern; *p != '\0'; p++) {
		if (*p != '*' && !policy_glob_tag_char((unsigned char)*p)) {
			if (why != NULL)
				*why = "may hold only A-Z a-z 0-9 . _ - and *";
			return -1;
		}
	}
	return 0;
}

int
policy_glob_tag_match(const char *pattern, const char *tag)
{
	if (pattern == NULL || tag == NULL || tag[0] == '\0')
		return 0;
	return policy_glob_bytes(pattern, strlen(pattern), tag, strlen(tag));
}
