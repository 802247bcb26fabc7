/*
 * scan: read a Trivy JSON, Trivy SARIF or Grype JSON report, count its
 * vulnerability findings by severity and decide pass/fail.
 *
 * The file is read whole (at most SCAN_FILE_MAX bytes) and parsed by
 * jansson with duplicate keys refused, so that no key can mean one thing
 * to us and another to the next reader. scan_detect() picks the format
 * from the top-level keys; one reader per format walks the document,
 * checking the type of everything it uses, and hands each finding to
 * scan_add(), which applies ignore_unfixed, counts and keeps the worst
 * few. Everything the reader does not use is ignored.
 *
 * Errors are one line, "<file>: <json.path>: <what is wrong>", built by
 * scan_errf() from the path of the object at hand (a short string such as
 * "Results[1].Vulnerabilities[0]") and the member name.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "regward/scan.h"

#define SCAN_PATH_MAX 96 /* JSON path of the object at hand */
#define SCAN_QUOTE_MAX 40 /* bytes of an offending value quoted */
#define SCAN_READ_CHUNK ((size_t)64 << 10)

/* What one reader needs: where errors go and where findings go. */
struct scan_ctx {
	const char *name; /* file name, first word of every error */
	char *err;
	size_t errlen;
	const struct scan_opts *opts;
	struct scan_report *r;
};

static const char *const scan_sev_names[] = {
    [SCAN_SEV_UNKNOWN] = "unknown",
    [SCAN_SEV_LOW] = "low",
    [SCAN_SEV_MEDIUM] = "medium",
    [SCAN_SEV_HIGH] = "high",
    [SCAN_SEV_CRITICAL] = "critical",
    [SCAN_SEV_NONE] = "none",
};

/* Trivy statuses that mean "there is no fix to install". */
static const char *const scan_trivy_unfixed[] = {
    "affected",
    "will_not_fix",
    "fix_deferred",
    "end_of_life",
};

/* ---- errors ---------------------------------------------------------- */

static void scan_errf(struct scan_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "<name>: " followed by the formatted text. */
static void
scan_errf(struct scan_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ctx->err == NULL || ctx->errlen == 0)
		return;
	n = snprintf(ctx->err, ctx->errlen, "%s: ", ctx->name);
	if (n < 0 || (size_t)n >= ctx->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Two printf arguments, "%s%s", for "at." (or "" at the top level). */
#define SCAN_AT(at) (at), ((at)[0] != '\0' ? "." : "")

/*
 * Quote at most SCAN_QUOTE_MAX bytes of s into buf (size SCAN_QUOTE_MAX +
 * 4) with control bytes as '?', for messages about a bad value.
 */
static const char *
scan_quote(const char *s, char *buf, size_t len)
{
	size_t i, n;

	n = strlen(s);
	for (i = 0; i < n && i + 4 < len && i < SCAN_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (i < n && i + 3 < len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* ---- typed getters ----------------------------------------------------- */

/*
 * The member key of obj (at names obj in messages) when it has the JSON
 * type want: *out borrowed, NULL when absent or null and not required.
 * Returns 0, or -1 with a message naming the path.
 */
static int
scan_get(struct scan_ctx *ctx, const json_t *obj, const char *at,
    const char *key, int required, json_type want, json_t **out)
{
	json_t *v;

	*out = NULL;
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		if (required) {
			scan_errf(ctx, "%s%s%s: missing", SCAN_AT(at), key);
			return -1;
		}
		return 0;
	}
	if (json_typeof(v) != want) {
		scan_errf(ctx, "%s%s%s: expected %s", SCAN_AT(at), key,
		    want == JSON_STRING	      ? "a string"
			: want == JSON_ARRAY  ? "an array"
			: want == JSON_OBJECT ? "an object"
					      : "another type");
		return -1;
	}
	*out = v;
	return 0;
}

/* scan_get() for a string: *out borrowed from obj. */
static int
scan_get_str(struct scan_ctx *ctx, const json_t *obj, const char *at,
    const char *key, int required, const char **out)
{
	json_t *v;

	*out = NULL;
	if (scan_get(ctx, obj, at, key, required, JSON_STRING, &v) == -1)
		return -1;
	if (v != NULL)
		*out = json_string_value(v);
	return 0;
}

static int
scan_get_arr(struct scan_ctx *ctx, const json_t *obj, const char *at,
    const char *key, int required, json_t **out)
{
	return scan_get(ctx, obj, at, key, required, JSON_ARRAY, out);
}

static int
scan_get_obj(struct scan_ctx *ctx, const json_t *obj, const char *at,
    const char *key, int required, json_t **out)
{
	return scan_get(ctx, obj, at, key, required, JSON_OBJECT, out);
}

/*
 * Copy val (from at.key) into *dst as a metadata string: NULL and "" leave
 * *dst NULL, longer than SCAN_META_MAX is an error. *dst must be NULL.
 */
static int
scan_set_meta(struct scan_ctx *ctx, char **dst, const char *val, const char *at,
    const char *key)
{
	size_t n;

	if (val == NULL || val[0] == '\0')
		return 0;
	n = strlen(val);
	if (n > SCAN_META_MAX) {
		scan_errf(ctx, "%s%s%s: longer than %d bytes", SCAN_AT(at), key,
		    SCAN_META_MAX);
		return -1;
	}
	if ((*dst = strdup(val)) == NULL) {
		scan_errf(ctx, "%s%s%s: out of memory", SCAN_AT(at), key);
		return -1;
	}
	return 0;
}

/* Member key of obj as an optional metadata string. */
static int
scan_get_meta(struct scan_ctx *ctx, const json_t *obj, const char *at,
    const char *key, char **dst)
{
	const char *s;

	if (scan_get_str(ctx, obj, at, key, 0, &s) == -1)
		return -1;
	return scan_set_meta(ctx, dst, s, at, key);
}

/*
 * A digest from a "name@sha256:..." repo digest string: the part after the
 * last '@', when there is one and it contains ':'.
 */
static int
scan_set_repo_digest(struct scan_ctx *ctx, char **dst, const char *val,
    const char *at, const char *key)
{
	const char *p;

	if (val == NULL || (p = strrchr(val, '@')) == NULL ||
	    strchr(p + 1, ':') == NULL)
		return 0;
	return scan_set_meta(ctx, dst, p + 1, at, key);
}

/* ---- time ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
scan_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n decimal digits at s into *out; 0, or -1 if one is not a digit. */
static int
scan_digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * Parse an RFC 3339 date-time, "2021-08-25T12:20:30.000000005Z" or
 * "2023-09-01T08:13:42.20194-04:00", to seconds since the epoch; the
 * fraction is dropped. Returns 0, or -1 for anything else.
 */
static int
scan_time_parse(const char *s, int64_t *out)
{
	static const int mdays[] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int leap;
	const char *p;

	*out = 0;
	if (strlen(s) < 20)
		return -1;
	if (scan_digits(s, 4, &y) == -1 || s[4] != '-' ||
	    scan_digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    scan_digits(s + 8, 2, &d) == -1 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    scan_digits(s + 11, 2, &h) == -1 || s[13] != ':' ||
	    scan_digits(s + 14, 2, &mi) == -1 || s[16] != ':' ||
	    scan_digits(s + 17, 2, &sec) == -1)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (scan_digits(p + 1, 2, &oh) == -1 || p[3] != ':' ||
		    scan_digits(p + 4, 2, &om) == -1)
			return -1;
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return -1;
	*out = scan_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 +
	    (int64_t)mi * 60 + sec - (int64_t)sign * (oh * 3600 + om * 60);
	return 0;
}

/*
 * Set r->finished_at from the report's time val (at.key): normalised to
 * UTC, whole seconds. NULL or "" leaves it unset; anything that is not
 * an RFC 3339 time is an error, since the gateway ages the scan by it.
 */
static int
scan_set_time(
    struct scan_ctx *ctx, const char *val, const char *at, const char *key)
{
	struct scan_report *r = ctx->r;
	char buf[64], q[SCAN_QUOTE_MAX + 4];
	struct tm tm;
	int64_t t;
	time_t tt;

	if (val == NULL || val[0] == '\0' || r->finished_at != NULL)
		return 0;
	if (strlen(val) > 64 || scan_time_parse(val, &t) == -1) {
		scan_errf(ctx, "%s%s%s: \"%s\" is not an RFC 3339 time",
		    SCAN_AT(at), key, scan_quote(val, q, sizeof(q)));
		return -1;
	}
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 ||
	    strlen(buf) != 20) {
		scan_errf(ctx, "%s%s%s: \"%s\": year out of range", SCAN_AT(at),
		    key, scan_quote(val, q, sizeof(q)));
		return -1;
	}
	if ((r->finished_at = strdup(buf)) == NULL) {
		scan_errf(ctx, "%s%s%s: out of memory", SCAN_AT(at), key);
		return -1;
	}
	r->finished_at_unix = t;
	return 0;
}

/* ---- severities and findings ------------------------------------------ */

int
scan_fail_on_parse(const char *s, enum scan_sev *out)
{
	size_t i;

	*out = SCAN_SEV_UNKNOWN;
	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(scan_sev_names) / sizeof(scan_sev_names[0]);
	     i++) {
		if (strcasecmp(s, scan_sev_names[i]) == 0) {
			*out = (enum scan_sev)i;
			return 0;
		}
	}
	return -1;
}

const char *
scan_sev_name(enum scan_sev sev)
{
	if ((unsigned)sev > SCAN_SEV_NONE)
		return "?";
	return scan_sev_names[sev];
}

const char *
scan_format_name(enum scan_format format)
{
	switch (format) {
	case SCAN_FORMAT_TRIVY_JSON:
		return "trivy-json";
	case SCAN_FORMAT_TRIVY_SARIF:
		return "trivy-sarif";
	case SCAN_FORMAT_GRYPE_JSON:
		return "grype-json";
	}
	return "?";
}

/*
 * A finding's severity word, case-insensitively: Trivy's CRITICAL..UNKNOWN
 * and Grype's Critical..Negligible, Unknown. Negligible is LOW with
 * *negligible set. Returns -1 for any other word.
 */
static int
scan_sev_word(const char *s, enum scan_sev *sev, int *negligible)
{
	size_t i;

	*negligible = 0;
	for (i = 0; i < SCAN_SEV_COUNT; i++) {
		if (strcasecmp(s, scan_sev_names[i]) == 0) {
			*sev = (enum scan_sev)i;
			return 0;
		}
	}
	if (strcasecmp(s, "negligible") == 0) {
		*sev = SCAN_SEV_LOW;
		*negligible = 1;
		return 0;
	}
	return -1;
}

/*
 * Copy s into a finding field: truncated to fit at a UTF-8 character
 * boundary, control bytes as '?'. NULL gives "".
 */
static void
scan_field_copy(char *dst, const char *s)
{
	size_t i, n;

	dst[0] = '\0';
	if (s == NULL)
		return;
	n = strlen(s);
	if (n >= SCAN_FIELD_MAX) {
		n = SCAN_FIELD_MAX - 1;
		/* Back off continuation bytes, then the lead byte. */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[n] = '\0';
}

/*
 * Account for one finding: skipped when ignore_unfixed is on and it has no
 * fix, else counted and kept in worst[] if it is among the worst (sorted
 * worst first, ties in report order).
 */
static void
scan_add(struct scan_ctx *ctx, enum scan_sev sev, int negligible, int unfixed,
    const char *id, const char *pkg, const char *installed, const char *fixed)
{
	struct scan_report *r = ctx->r;
	struct scan_finding *f;
	size_t pos;

	if (ctx->opts->ignore_unfixed && unfixed) {
		r->unfixed_ignored++;
		return;
	}
	r->counts[sev]++;
	if (negligible)
		r->negligible++;
	pos = r->nworst;
	while (pos > 0 && r->worst[pos - 1].sev < sev)
		pos--;
	if (pos >= SCAN_WORST_MAX)
		return;
	if (r->nworst < SCAN_WORST_MAX)
		r->nworst++;
	memmove(&r->worst[pos + 1], &r->worst[pos],
	    (r->nworst - 1 - pos) * sizeof(r->worst[0]));
	f = &r->worst[pos];
	f->sev = sev;
	scan_field_copy(f->id, id);
	scan_field_copy(f->pkg, pkg);
	scan_field_copy(f->installed, installed);
	scan_field_copy(f->fixed, fixed);
}

int
scan_verdict(const size_t *counts, enum scan_sev fail_on)
{
	size_t i;

	for (i = 0; i < SCAN_SEV_COUNT; i++) {
		if (i >= (size_t)fail_on && counts[i] > 0)
			return 1;
	}
	return 0;
}

/* ---- format detection -------------------------------------------------- */

int
scan_detect(const char *name, const json_t *root, enum scan_format *out,
    char *err, size_t errlen)
{
	struct scan_ctx ctx = {name, err, errlen, NULL, NULL};
	json_t *v, *runs, *run, *desc;
	const char *s;
	char q[SCAN_QUOTE_MAX + 4];
	int sarif, grype, trivy;
	size_t i;

	*out = 0;
	if (json_is_array(root)) {
		scan_errf(&ctx,
		    "a JSON array, not a report object (Trivy before 0.20 "
		    "wrote arrays: not supported)");
		return -1;
	}
	if (!json_is_object(root)) {
		scan_errf(&ctx, "not a JSON object");
		return -1;
	}
	sarif = json_object_get(root, "runs") != NULL;
	grype = json_object_get(root, "matches") != NULL ||
	    json_object_get(root, "descriptor") != NULL;
	trivy = json_object_get(root, "SchemaVersion") != NULL ||
	    json_object_get(root, "ArtifactName") != NULL ||
	    json_object_get(root, "Results") != NULL;
	if (sarif + grype + trivy > 1) {
		scan_errf(&ctx, "has the keys of more than one format (%s%s%s)",
		    sarif ? "runs " : "", grype ? "matches/descriptor " : "",
		    trivy ? "SchemaVersion/Results" : "");
		return -1;
	}
	if (sarif) {
		if (scan_get_str(&ctx, root, "", "version", 1, &s) == -1)
			return -1;
		if (strcmp(s, "2.1.0") != 0) {
			scan_errf(&ctx,
			    "version: SARIF \"%s\" is not supported (2.1.0 "
			    "only)",
			    scan_quote(s, q, sizeof(q)));
			return -1;
		}
		if (scan_get_arr(&ctx, root, "", "runs", 1, &runs) == -1)
			return -1;
		if (json_array_size(runs) == 0) {
			scan_errf(&ctx, "runs: empty, so no tool is named");
			return -1;
		}
		json_array_foreach(runs, i, run)
		{
			char at[SCAN_PATH_MAX];

			snprintf(at, sizeof(at), "runs[%zu]", i);
			if (!json_is_object(run)) {
				scan_errf(&ctx, "%s: expected an object", at);
				return -1;
			}
			if (scan_get_obj(&ctx, run, at, "tool", 1, &v) == -1)
				return -1;
			snprintf(at, sizeof(at), "runs[%zu].tool", i);
			if (scan_get_obj(&ctx, v, at, "driver", 1, &v) == -1)
				return -1;
			snprintf(at, sizeof(at), "runs[%zu].tool.driver", i);
			if (scan_get_str(&ctx, v, at, "name", 1, &s) == -1)
				return -1;
			if (strcasecmp(s, "trivy") != 0) {
				scan_errf(&ctx,
				    "%s.name: SARIF from \"%s\" is not "
				    "supported: only Trivy's severity mapping "
				    "is known (use Trivy or Grype JSON, or "
				    "Trivy SARIF)",
				    at, scan_quote(s, q, sizeof(q)));
				return -1;
			}
		}
		*out = SCAN_FORMAT_TRIVY_SARIF;
		return 0;
	}
	if (grype) {
		if (scan_get_obj(&ctx, root, "", "descriptor", 1, &desc) == -1)
			return -1;
		if (scan_get_str(&ctx, desc, "descriptor", "name", 1, &s) == -1)
			return -1;
		if (strcasecmp(s, "grype") != 0) {
			scan_errf(&ctx,
			    "descriptor.name: a report from \"%s\" is not "
			    "supported (grype only)",
			    scan_quote(s, q, sizeof(q)));
			return -1;
		}
		if (scan_get_arr(&ctx, root, "", "matches", 1, &v) == -1)
			return -1;
		*out = SCAN_FORMAT_GRYPE_JSON;
		return 0;
	}
	if (trivy) {
		v = json_object_get(root, "SchemaVersion");
		if (v != NULL && !json_is_integer(v)) {
			scan_errf(&ctx, "SchemaVersion: expected an integer");
			return -1;
		}
		if (v != NULL && json_integer_value(v) != 2) {
			scan_errf(&ctx,
			    "SchemaVersion: %" JSON_INTEGER_FORMAT
			    " is not supported (2 only)",
			    json_integer_value(v));
			return -1;
		}
		*out = SCAN_FORMAT_TRIVY_JSON;
		return 0;
	}
	scan_errf(&ctx,
	    "not a Trivy JSON, Trivy SARIF or Grype JSON report (no "
	    "SchemaVersion, Results, runs or matches)");
	return -1;
}

/* ---- Trivy JSON -------------------------------------------------------- */

/* 1 when a Trivy Status says there is no fix to install. */
static int
scan_trivy_is_unfixed(const char *status)
{
	size_t i;

	for (i = 0; status != NULL &&
	     i < sizeof(scan_trivy_unfixed) / sizeof(scan_trivy_unfixed[0]);
	     i++) {
		if (strcmp(status, scan_trivy_unfixed[i]) == 0)
			return 1;
	}
	return 0;
}

/*
 * Findings are Results[].Vulnerabilities[]; Misconfigurations, Secrets and
 * Licenses carry a Severity too but are not vulnerabilities. A report
 * with no Results (absent, null or []) scanned nothing.
 */
static int
scan_trivy(struct scan_ctx *ctx, const json_t *root)
{
	struct scan_report *r = ctx->r;
	json_t *v, *results, *res, *vulns, *vuln, *digests;
	const char *s, *sevs, *id, *pkg, *inst, *fixed, *status;
	char at[SCAN_PATH_MAX], q[SCAN_QUOTE_MAX + 4];
	enum scan_sev sev;
	size_t i, j, k;
	int neg, unfixed;

	if ((r->scanner = strdup("trivy")) == NULL) {
		scan_errf(ctx, "out of memory");
		return -1;
	}
	if (scan_get_obj(ctx, root, "", "Trivy", 0, &v) == -1 ||
	    (v != NULL &&
		scan_get_meta(
		    ctx, v, "Trivy", "Version", &r->scanner_version) == -1))
		return -1;
	if (scan_get_str(ctx, root, "", "CreatedAt", 0, &s) == -1 ||
	    scan_set_time(ctx, s, "", "CreatedAt") == -1)
		return -1;
	if (scan_get_meta(ctx, root, "", "ArtifactName", &r->artifact) == -1)
		return -1;
	if (scan_get_obj(ctx, root, "", "Metadata", 0, &v) == -1)
		return -1;
	if (v != NULL) {
		if (scan_get_meta(
			ctx, v, "Metadata", "ImageID", &r->image_id) == -1 ||
		    scan_get_arr(
			ctx, v, "Metadata", "RepoDigests", 0, &digests) == -1)
			return -1;
		json_array_foreach(digests, k, v)
		{
			if (!json_is_string(v)) {
				scan_errf(ctx,
				    "Metadata.RepoDigests[%zu]: expected a "
				    "string",
				    k);
				return -1;
			}
			if (r->artifact_digest == NULL &&
			    scan_set_repo_digest(ctx, &r->artifact_digest,
				json_string_value(v), "Metadata",
				"RepoDigests") == -1)
				return -1;
		}
	}

	if (scan_get_arr(ctx, root, "", "Results", 0, &results) == -1)
		return -1;
	if (json_array_size(results) == 0)
		r->nothing_scanned = 1;
	json_array_foreach(results, i, res)
	{
		snprintf(at, sizeof(at), "Results[%zu]", i);
		if (!json_is_object(res)) {
			scan_errf(ctx, "%s: expected an object", at);
			return -1;
		}
		if (scan_get_arr(ctx, res, at, "Vulnerabilities", 0, &vulns) ==
		    -1)
			return -1;
		json_array_foreach(vulns, j, vuln)
		{
			snprintf(at, sizeof(at),
			    "Results[%zu].Vulnerabilities[%zu]", i, j);
			if (!json_is_object(vuln)) {
				scan_errf(ctx, "%s: expected an object", at);
				return -1;
			}
			if (scan_get_str(ctx, vuln, at, "Severity", 1, &sevs) ==
				-1 ||
			    scan_get_str(ctx, vuln, at, "VulnerabilityID", 0,
				&id) == -1 ||
			    scan_get_str(ctx, vuln, at, "PkgName", 0, &pkg) ==
				-1 ||
			    scan_get_str(ctx, vuln, at, "InstalledVersion", 0,
				&inst) == -1 ||
			    scan_get_str(ctx, vuln, at, "FixedVersion", 0,
				&fixed) == -1 ||
			    scan_get_str(ctx, vuln, at, "Status", 0, &status) ==
				-1)
				return -1;
			if (scan_sev_word(sevs, &sev, &neg) == -1 || neg) {
				scan_errf(ctx,
				    "%s.Severity: unknown severity \"%s\"", at,
				    scan_quote(sevs, q, sizeof(q)));
				return -1;
			}
			unfixed = fixed == NULL || fixed[0] == '\0' ||
			    scan_trivy_is_unfixed(status);
			scan_add(ctx, sev, 0, unfixed, id, pkg, inst,
			    unfixed ? NULL : fixed);
		}
	}
	return 0;
}

/* ---- Trivy SARIF ------------------------------------------------------- */

/*
 * The value after "<label>: " on a line of text, up to the end of the
 * line, copied into buf (size len); buf is "" when there is none. Trivy
 * writes "Package: curl\nInstalled Version: 7.61.1\n..." into messages.
 */
static void
scan_sarif_line(const char *text, const char *label, char *buf, size_t len)
{
	const char *p, *e;
	size_t n, l;

	buf[0] = '\0';
	if (text == NULL)
		return;
	l = strlen(label);
	for (p = text; p != NULL && *p != '\0'; p = e) {
		e = strchr(p, '\n');
		if (strncmp(p, label, l) == 0 && p[l] == ':' &&
		    p[l + 1] == ' ') {
			p += l + 2;
			n = e != NULL ? (size_t)(e - p) : strlen(p);
			if (n >= len)
				n = len - 1;
			memcpy(buf, p, n);
			buf[n] = '\0';
			return;
		}
		if (e != NULL)
			e++;
	}
}

/* text member of obj.key ({"text": "..."}), or NULL. Borrowed. */
static const char *
scan_sarif_text(const json_t *obj, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(obj, key), "text"));
}

/*
 * A CVSS score written as a string, "5.3" or "10": digits, then optionally
 * '.' and digits. Returns the value, or -1 for anything else (signs,
 * exponents, hex, spaces, "nan").
 */
static double
scan_score_parse(const char *s)
{
	double v = 0, scale = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9' && p - s < 8; p++)
		v = v * 10 + (*p - '0');
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9' && p - s < 16; p++) {
			scale /= 10;
			v += (*p - '0') * scale;
		}
	}
	return *p == '\0' ? v : -1;
}

/*
 * A Trivy rule's class and severity. Tags are ["vulnerability",
 * "security", "MEDIUM"] (current writer) or ["vulnerability", "LOW",
 * "apt"] (2020 template, whose rule ids also read "[LOW] CVE-..."). The
 * severity is the "[LOW] " id prefix when there is one (it must agree
 * with the tags: the third tag of the template is a package name, which
 * may happen to be a severity word), else the one severity word among
 * the tags, else properties.security-severity, a CVSS score (string or
 * number) cut into the bands Trivy derives it from: 9.0 critical, 7.0
 * high, 4.0 medium, above 0 low, 0 unknown. "level" is never used: it
 * cannot tell CRITICAL from HIGH. The class comes from the tags
 * ("misconfiguration", "secret" and "license" are not vulnerabilities)
 * or, without tags, from the rule name.
 * Returns 1 for a vulnerability with *sev set, 0 for another class, -1
 * on error.
 */
static int
scan_sarif_rule(struct scan_ctx *ctx, const json_t *rule, const char *at,
    enum scan_sev *sev)
{
	static const char *const other[] = {
	    "misconfiguration", "secret", "license"};
	json_t *props = NULL, *tags = NULL, *t, *score;
	const char *id, *name, *s, *e;
	char q[SCAN_QUOTE_MAX + 4], word[16], pat[SCAN_PATH_MAX + 16];
	unsigned tagsevs = 0;
	int vuln = 0, notvuln = 0, neg;
	enum scan_sev tsev;
	double d;
	size_t i, k;

	*sev = SCAN_SEV_UNKNOWN;
	if (!json_is_object(rule)) {
		scan_errf(ctx, "%s: expected an object", at);
		return -1;
	}
	if (scan_get_str(ctx, rule, at, "id", 0, &id) == -1 ||
	    scan_get_str(ctx, rule, at, "name", 0, &name) == -1 ||
	    scan_get_obj(ctx, rule, at, "properties", 0, &props) == -1)
		return -1;
	snprintf(pat, sizeof(pat), "%s.properties", at);
	if (props != NULL &&
	    scan_get_arr(ctx, props, pat, "tags", 0, &tags) == -1)
		return -1;
	json_array_foreach(tags, i, t)
	{
		if (!json_is_string(t)) {
			scan_errf(
			    ctx, "%s.tags[%zu]: expected a string", pat, i);
			return -1;
		}
		s = json_string_value(t);
		if (strcasecmp(s, "vulnerability") == 0)
			vuln = 1;
		for (k = 0; k < sizeof(other) / sizeof(other[0]); k++) {
			if (strcasecmp(s, other[k]) == 0)
				notvuln = 1;
		}
		if (scan_sev_word(s, &tsev, &neg) == 0 && !neg)
			tagsevs |= 1u << tsev;
	}
	if (!vuln && notvuln)
		return 0;
	if (!vuln && json_array_size(tags) == 0 && name != NULL &&
	    (strcmp(name, "Misconfiguration") == 0 ||
		strcmp(name, "Secret") == 0 || strcmp(name, "License") == 0))
		return 0;

	/* The 2020 template: "[LOW] CVE-2011-3374". */
	if (id != NULL && id[0] == '[' && (e = strchr(id, ']')) != NULL &&
	    (size_t)(e - id - 1) < sizeof(word)) {
		memcpy(word, id + 1, (size_t)(e - id - 1));
		word[e - id - 1] = '\0';
		if (scan_sev_word(word, &tsev, &neg) == 0 && !neg) {
			if (tagsevs != 0 && (tagsevs & (1u << tsev)) == 0) {
				scan_errf(ctx,
				    "%s.id: \"%s\" disagrees with the severity "
				    "in its tags",
				    at, scan_quote(id, q, sizeof(q)));
				return -1;
			}
			*sev = tsev;
			return 1;
		}
	}
	if (tagsevs != 0) {
		if ((tagsevs & (tagsevs - 1)) != 0) {
			scan_errf(ctx, "%s.tags: more than one severity", pat);
			return -1;
		}
		for (i = 0; i < SCAN_SEV_COUNT; i++) {
			if (tagsevs == 1u << i)
				*sev = (enum scan_sev)i;
		}
		return 1;
	}

	score =
	    props != NULL ? json_object_get(props, "security-severity") : NULL;
	if (score != NULL && !json_is_null(score)) {
		d = -1;
		if (json_is_string(score)) {
			d = scan_score_parse(json_string_value(score));
		} else if (json_is_number(score)) {
			d = json_number_value(score);
		}
		if (!(d >= 0 && d <= 10)) {
			scan_errf(ctx,
			    "%s.security-severity: expected a score from 0 to "
			    "10",
			    pat);
			return -1;
		}
		if (d >= 9.0)
			*sev = SCAN_SEV_CRITICAL;
		else if (d >= 7.0)
			*sev = SCAN_SEV_HIGH;
		else if (d >= 4.0)
			*sev = SCAN_SEV_MEDIUM;
		else if (d > 0.0)
			*sev = SCAN_SEV_LOW;
		else
			*sev = SCAN_SEV_UNKNOWN;
		return 1;
	}
	scan_errf(ctx,
	    "%s: rule \"%s\" has no severity tag, no \"[SEVERITY] \" id prefix "
	    "and no security-severity",
	    at, scan_quote(id != NULL ? id : "", q, sizeof(q)));
	return -1;
}

/*
 * runs[].results[], each resolved to runs[].tool.driver.rules[ruleIndex]
 * (the 2020 template repeats rule ids, so ruleId alone is ambiguous; it is
 * used only when ruleIndex is absent and it names exactly one rule).
 * SARIF has no structured fix data: ignore_unfixed is refused.
 */
static int
scan_sarif(struct scan_ctx *ctx, const json_t *root)
{
	struct scan_report *r = ctx->r;
	json_t *runs, *run, *driver, *rules, *results, *res, *v, *props, *inv;
	const char *s, *e, *rid, *msg, *help, *rule_id;
	char at[SCAN_PATH_MAX], rat[SCAN_PATH_MAX];
	char q[SCAN_QUOTE_MAX + 4], q2[SCAN_QUOTE_MAX + 4];
	char pkg[SCAN_FIELD_MAX], inst[SCAN_FIELD_MAX], fixed[SCAN_FIELD_MAX];
	enum scan_sev sev;
	json_int_t idx;
	size_t i, j, k, nmatch, nrules;
	int rc;

	if (ctx->opts->ignore_unfixed) {
		scan_errf(ctx,
		    "SARIF has no fix information: ignore-unfixed needs a "
		    "Trivy JSON or Grype JSON report");
		return -1;
	}
	if ((r->scanner = strdup("trivy")) == NULL) {
		scan_errf(ctx, "out of memory");
		return -1;
	}
	if (scan_get_arr(ctx, root, "", "runs", 1, &runs) == -1)
		return -1;
	json_array_foreach(runs, i, run)
	{
		snprintf(at, sizeof(at), "runs[%zu].tool.driver", i);
		driver =
		    json_object_get(json_object_get(run, "tool"), "driver");
		if (r->scanner_version == NULL &&
		    scan_get_meta(
			ctx, driver, at, "version", &r->scanner_version) == -1)
			return -1;
		if (scan_get_arr(ctx, driver, at, "rules", 0, &rules) == -1)
			return -1;
		nrules = json_array_size(rules);

		snprintf(at, sizeof(at), "runs[%zu]", i);
		if (scan_get_obj(ctx, run, at, "properties", 0, &props) == -1)
			return -1;
		if (props != NULL) {
			snprintf(at, sizeof(at), "runs[%zu].properties", i);
			if ((r->artifact == NULL &&
				scan_get_meta(ctx, props, at, "imageName",
				    &r->artifact) == -1) ||
			    (r->image_id == NULL &&
				scan_get_meta(ctx, props, at, "imageID",
				    &r->image_id) == -1) ||
			    scan_get_arr(
				ctx, props, at, "repoDigests", 0, &v) == -1)
				return -1;
			if (r->artifact_digest == NULL &&
			    json_is_string(json_array_get(v, 0)) &&
			    scan_set_repo_digest(ctx, &r->artifact_digest,
				json_string_value(json_array_get(v, 0)), at,
				"repoDigests") == -1)
				return -1;
		}
		/* Trivy writes no invocations; a tool that adds one may. */
		snprintf(at, sizeof(at), "runs[%zu]", i);
		if (scan_get_arr(ctx, run, at, "invocations", 0, &v) == -1)
			return -1;
		inv = json_array_get(v, 0);
		if (json_is_object(inv)) {
			snprintf(at, sizeof(at), "runs[%zu].invocations[0]", i);
			if (scan_get_str(ctx, inv, at, "endTimeUtc", 0, &s) ==
				-1 ||
			    scan_set_time(ctx, s, at, "endTimeUtc") == -1)
				return -1;
		}

		snprintf(at, sizeof(at), "runs[%zu]", i);
		if (scan_get_arr(ctx, run, at, "results", 0, &results) == -1)
			return -1;
		json_array_foreach(results, j, res)
		{
			snprintf(
			    at, sizeof(at), "runs[%zu].results[%zu]", i, j);
			if (!json_is_object(res)) {
				scan_errf(ctx, "%s: expected an object", at);
				return -1;
			}
			if (scan_get_str(ctx, res, at, "ruleId", 0, &rid) == -1)
				return -1;
			v = json_object_get(res, "ruleIndex");
			if (v != NULL && !json_is_integer(v)) {
				scan_errf(ctx,
				    "%s.ruleIndex: expected an integer", at);
				return -1;
			}
			if (v != NULL) {
				idx = json_integer_value(v);
				if (idx < 0 || (size_t)idx >= nrules) {
					scan_errf(ctx,
					    "%s.ruleIndex: "
					    "%" JSON_INTEGER_FORMAT
					    " is not one of the %zu rules",
					    at, idx, nrules);
					return -1;
				}
			} else if (rid == NULL) {
				scan_errf(ctx,
				    "%s: neither ruleIndex nor ruleId", at);
				return -1;
			} else {
				idx = -1;
				nmatch = 0;
				for (k = 0; k < nrules; k++) {
					s = json_string_value(json_object_get(
					    json_array_get(rules, k), "id"));
					if (s != NULL && strcmp(s, rid) == 0) {
						idx = (json_int_t)k;
						nmatch++;
					}
				}
				if (nmatch != 1) {
					scan_errf(ctx,
					    "%s.ruleId: \"%s\" names %zu rules "
					    "and there is no ruleIndex",
					    at, scan_quote(rid, q, sizeof(q)),
					    nmatch);
					return -1;
				}
			}
			snprintf(rat, sizeof(rat),
			    "runs[%zu].tool.driver.rules[%" JSON_INTEGER_FORMAT
			    "]",
			    i, idx);
			v = json_array_get(rules, (size_t)idx);
			rule_id = json_string_value(json_object_get(v, "id"));
			if (rid != NULL && rule_id != NULL &&
			    strcmp(rid, rule_id) != 0) {
				scan_errf(ctx,
				    "%s.ruleId: \"%s\" but ruleIndex "
				    "%" JSON_INTEGER_FORMAT " is rule \"%s\"",
				    at, scan_quote(rid, q, sizeof(q)), idx,
				    scan_quote(rule_id, q2, sizeof(q2)));
				return -1;
			}
			if ((rc = scan_sarif_rule(ctx, v, rat, &sev)) == -1)
				return -1;
			if (rc == 0)
				continue;
			/* For display only: Trivy's message lines. */
			msg = scan_sarif_text(res, "message");
			help = scan_sarif_text(v, "help");
			scan_sarif_line(msg, "Package", pkg, sizeof(pkg));
			if (pkg[0] == '\0')
				msg = help;
			scan_sarif_line(msg, "Package", pkg, sizeof(pkg));
			scan_sarif_line(
			    msg, "Installed Version", inst, sizeof(inst));
			scan_sarif_line(
			    msg, "Fixed Version", fixed, sizeof(fixed));
			s = rid != NULL ? rid : rule_id;
			if (s != NULL && s[0] == '[' &&
			    (e = strstr(s, "] ")) != NULL)
				s = e + 2;
			scan_add(ctx, sev, 0, 0, s, pkg, inst, fixed);
		}
	}
	return 0;
}

/* ---- Grype JSON -------------------------------------------------------- */

/* "a, b, c" from an array of strings, truncated to fit buf. */
static void
scan_grype_versions(const json_t *arr, char *buf, size_t len)
{
	json_t *v;
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off > 0 ? ", " : "",
		    json_string_value(v));
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
}

/*
 * Findings are matches[].vulnerability.severity; relatedVulnerabilities
 * and cvss[] are other records and ratings of the same flaw, and
 * ignoredMatches were ignored by the user's grype config. A finding is
 * fixed only when vulnerability.fix.state is "fixed".
 */
static int
scan_grype(struct scan_ctx *ctx, const json_t *root)
{
	struct scan_report *r = ctx->r;
	json_t *desc, *db, *src, *tgt, *matches, *m, *vuln, *fix, *art, *v;
	const char *s, *sevs, *id, *pkg, *inst, *state;
	char at[SCAN_PATH_MAX], q[SCAN_QUOTE_MAX + 4], num[32];
	char fixed[SCAN_FIELD_MAX];
	enum scan_sev sev;
	size_t i;
	int neg, unfixed;

	if ((r->scanner = strdup("grype")) == NULL) {
		scan_errf(ctx, "out of memory");
		return -1;
	}
	if (scan_get_obj(ctx, root, "", "descriptor", 1, &desc) == -1 ||
	    scan_get_meta(ctx, desc, "descriptor", "version",
		&r->scanner_version) == -1 ||
	    scan_get_str(ctx, desc, "descriptor", "timestamp", 0, &s) == -1 ||
	    scan_set_time(ctx, s, "descriptor", "timestamp") == -1 ||
	    scan_get_obj(ctx, desc, "descriptor", "db", 0, &db) == -1)
		return -1;
	snprintf(at, sizeof(at), "descriptor.db");
	/* Schema 5 and before: db.{schemaVersion,built}; 6: db.status.* */
	if (db != NULL && json_object_get(db, "schemaVersion") == NULL &&
	    json_is_object(json_object_get(db, "status"))) {
		db = json_object_get(db, "status");
		snprintf(at, sizeof(at), "descriptor.db.status");
	}
	if (db != NULL) {
		v = json_object_get(db, "schemaVersion");
		if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
			if (scan_set_meta(ctx, &r->db_version, num, at,
				"schemaVersion") == -1)
				return -1;
		} else if (scan_get_meta(ctx, db, at, "schemaVersion",
			       &r->db_version) == -1) {
			return -1;
		}
		if (scan_get_meta(ctx, db, at, "built", &r->db_built) == -1)
			return -1;
	}

	if (scan_get_obj(ctx, root, "", "source", 0, &src) == -1)
		return -1;
	tgt = src != NULL ? json_object_get(src, "target") : NULL;
	if (json_is_string(tgt)) {
		if (scan_set_meta(ctx, &r->artifact, json_string_value(tgt),
			"source", "target") == -1)
			return -1;
	} else if (json_is_object(tgt)) {
		if (scan_get_meta(ctx, tgt, "source.target", "userInput",
			&r->artifact) == -1 ||
		    (r->artifact == NULL &&
			scan_get_meta(ctx, tgt, "source.target", "path",
			    &r->artifact) == -1) ||
		    scan_get_meta(ctx, tgt, "source.target", "manifestDigest",
			&r->artifact_digest) == -1 ||
		    scan_get_meta(ctx, tgt, "source.target", "imageID",
			&r->image_id) == -1 ||
		    scan_get_arr(
			ctx, tgt, "source.target", "repoDigests", 0, &v) == -1)
			return -1;
		if (r->artifact_digest == NULL &&
		    json_is_string(json_array_get(v, 0)) &&
		    scan_set_repo_digest(ctx, &r->artifact_digest,
			json_string_value(json_array_get(v, 0)),
			"source.target", "repoDigests") == -1)
			return -1;
	} else if (tgt != NULL && !json_is_null(tgt)) {
		scan_errf(ctx, "source.target: expected a string or an object");
		return -1;
	}

	if (scan_get_arr(ctx, root, "", "matches", 1, &matches) == -1)
		return -1;
	json_array_foreach(matches, i, m)
	{
		snprintf(at, sizeof(at), "matches[%zu]", i);
		if (!json_is_object(m)) {
			scan_errf(ctx, "%s: expected an object", at);
			return -1;
		}
		if (scan_get_obj(ctx, m, at, "vulnerability", 1, &vuln) == -1 ||
		    scan_get_obj(ctx, m, at, "artifact", 0, &art) == -1)
			return -1;
		pkg = inst = NULL;
		if (art != NULL) {
			snprintf(at, sizeof(at), "matches[%zu].artifact", i);
			if (scan_get_str(ctx, art, at, "name", 0, &pkg) == -1 ||
			    scan_get_str(ctx, art, at, "version", 0, &inst) ==
				-1)
				return -1;
		}
		snprintf(at, sizeof(at), "matches[%zu].vulnerability", i);
		if (scan_get_str(ctx, vuln, at, "severity", 1, &sevs) == -1 ||
		    scan_get_str(ctx, vuln, at, "id", 0, &id) == -1 ||
		    scan_get_obj(ctx, vuln, at, "fix", 0, &fix) == -1)
			return -1;
		if (scan_sev_word(sevs, &sev, &neg) == -1) {
			scan_errf(ctx, "%s.severity: unknown severity \"%s\"",
			    at, scan_quote(sevs, q, sizeof(q)));
			return -1;
		}
		state = NULL;
		fixed[0] = '\0';
		if (fix != NULL) {
			snprintf(at, sizeof(at),
			    "matches[%zu].vulnerability.fix", i);
			if (scan_get_str(ctx, fix, at, "state", 0, &state) ==
				-1 ||
			    scan_get_arr(ctx, fix, at, "versions", 0, &v) == -1)
				return -1;
			scan_grype_versions(v, fixed, sizeof(fixed));
		}
		unfixed = state == NULL || strcmp(state, "fixed") != 0;
		scan_add(ctx, sev, neg, unfixed, id, pkg, inst,
		    unfixed ? NULL : fixed);
	}
	return 0;
}

/* ---- loading ----------------------------------------------------------- */

void
scan_free(struct scan_report *r)
{
	if (r == NULL)
		return;
	free(r->scanner);
	free(r->scanner_version);
	free(r->db_version);
	free(r->db_built);
	free(r->artifact);
	free(r->artifact_digest);
	free(r->image_id);
	free(r->finished_at);
	free(r);
}

int
scan_load_buffer(const char *name, const char *text, size_t len,
    const struct scan_opts *opts, struct scan_report **out, char *err,
    size_t errlen)
{
	struct scan_ctx ctx = {name, err, errlen, opts, NULL};
	struct scan_report *r = NULL;
	json_t *root = NULL;
	json_error_t jerr;
	enum scan_format format;
	int rc = -1;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (opts == NULL || (unsigned)opts->fail_on > SCAN_SEV_NONE) {
		scan_errf(&ctx, "no options, or a bad fail-on threshold");
		goto out;
	}
	if (len > SCAN_FILE_MAX) {
		scan_errf(&ctx, "larger than %zu MiB", SCAN_FILE_MAX >> 20);
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s:%d:%d: %s", name, jerr.line,
			    jerr.column, jerr.text);
		goto out;
	}
	if (scan_detect(name, root, &format, err, errlen) == -1)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		scan_errf(&ctx, "out of memory");
		goto out;
	}
	r->format = format;
	r->ignore_unfixed = opts->ignore_unfixed ? 1 : 0;
	r->fail_on = opts->fail_on;
	ctx.r = r;
	switch (format) {
	case SCAN_FORMAT_TRIVY_JSON:
		rc = scan_trivy(&ctx, root);
		break;
	case SCAN_FORMAT_TRIVY_SARIF:
		rc = scan_sarif(&ctx, root);
		break;
	case SCAN_FORMAT_GRYPE_JSON:
		rc = scan_grype(&ctx, root);
		break;
	}
	if (rc == -1)
		goto out;
	r->fail = scan_verdict(r->counts, r->fail_on);
	*out = r;
	r = NULL;
	rc = 0;
out:
	scan_free(r);
	json_decref(root);
	return rc;
}

int
scan_load(const char *path, const struct scan_opts *opts,
    struct scan_report **out, char *err, size_t errlen)
{
	struct scan_ctx ctx = {path, err, errlen, opts, NULL};
	FILE *fp = NULL;
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;
	int rc = -1;

	*out = NULL;
	if ((fp = fopen(path, "rb")) == NULL) {
		scan_errf(&ctx, "%s", strerror(errno));
		goto out;
	}
	/* Read at most SCAN_FILE_MAX + 1 bytes: a pipe has no size. */
	for (;;) {
		if (len == cap) {
			if (cap > SCAN_FILE_MAX) {
				scan_errf(&ctx, "larger than %zu MiB",
				    SCAN_FILE_MAX >> 20);
				goto out;
			}
			cap = cap == 0 ? SCAN_READ_CHUNK : cap * 2;
			if (cap > SCAN_FILE_MAX + 1)
				cap = SCAN_FILE_MAX + 1;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				scan_errf(&ctx, "out of memory");
				goto out;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0) {
			if (ferror(fp)) {
				scan_errf(
				    &ctx, "read error: %s", strerror(errno));
				goto out;
			}
			break;
		}
	}
	if (len > SCAN_FILE_MAX) {
		scan_errf(&ctx, "larger than %zu MiB", SCAN_FILE_MAX >> 20);
		goto out;
	}
	rc = scan_load_buffer(
	    path, buf != NULL ? buf : "", len, opts, out, err, errlen);
out:
	if (fp != NULL)
		fclose(fp);
	free(buf);
	return rc;
}

/* ---- the signed payload's member ---------------------------------------- */

json_t *
scan_to_json(const struct scan_report *r)
{
	/* json_pack() builds the whole object or nothing; "s?" writes null. */
	/* clang-format off */
	return json_pack("{s:i, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?,"
	    " s:s?, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:b, s:b, s:s, s:s}",
	    "schema_version", SCAN_JSON_SCHEMA,
	    "scanner", r->scanner,
	    "format", scan_format_name(r->format),
	    "scanner_version", r->scanner_version,
	    "db_version", r->db_version,
	    "db_built", r->db_built,
	    "artifact", r->artifact,
	    "artifact_digest", r->artifact_digest,
	    "image_id", r->image_id,
	    "finished_at", r->finished_at,
	    "counts",
		"critical", (json_int_t)r->counts[SCAN_SEV_CRITICAL],
		"high", (json_int_t)r->counts[SCAN_SEV_HIGH],
		"medium", (json_int_t)r->counts[SCAN_SEV_MEDIUM],
		"low", (json_int_t)r->counts[SCAN_SEV_LOW],
		"unknown", (json_int_t)r->counts[SCAN_SEV_UNKNOWN],
		"negligible", (json_int_t)r->negligible,
	    "unfixed_ignored", (json_int_t)r->unfixed_ignored,
	    "ignore_unfixed", r->ignore_unfixed,
	    "nothing_scanned", r->nothing_scanned,
	    "fail_on", scan_sev_name(r->fail_on),
	    "verdict", r->fail ? "fail" : "pass");
	/* clang-format on */
}

/* A required non-negative integer member of obj. */
static int
scan_json_count(struct scan_ctx *ctx, const json_t *obj, const char *at,
    const char *key, size_t *out)
{
	json_t *v;

	*out = 0;
	v = json_object_get(obj, key);
	if (v == NULL) {
		scan_errf(ctx, "%s%s%s: missing", SCAN_AT(at), key);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		scan_errf(ctx, "%s%s%s: expected a non-negative integer",
		    SCAN_AT(at), key);
		return -1;
	}
	*out = (size_t)json_integer_value(v);
	return 0;
}

/* A required boolean member of obj. */
static int
scan_json_bool(
    struct scan_ctx *ctx, const json_t *obj, const char *key, int *out)
{
	json_t *v;

	*out = 0;
	v = json_object_get(obj, key);
	if (!json_is_boolean(v)) {
		scan_errf(ctx, "%s: %s", key,
		    v == NULL ? "missing" : "expected true or false");
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
scan_from_json(const char *what, const json_t *obj, struct scan_report **out,
    char *err, size_t errlen)
{
	static const struct scan_opts opts = {SCAN_SEV_NONE, 0};
	static const char *const metas[] = {"scanner_version", "db_version",
	    "db_built", "artifact", "artifact_digest", "image_id"};
	struct scan_ctx ctx = {what, err, errlen, &opts, NULL};
	struct scan_report *r = NULL;
	char **dst[6];
	json_t *v, *counts;
	const char *s;
	enum scan_sev sev;
	size_t i;
	int rc = -1, fail;

	*out = NULL;
	if (!json_is_object(obj)) {
		scan_errf(&ctx, "%s: expected an object", SCAN_JSON_KEY);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		scan_errf(&ctx, "out of memory");
		goto out;
	}
	ctx.r = r;
	v = json_object_get(obj, "schema_version");
	if (!json_is_integer(v) || json_integer_value(v) != SCAN_JSON_SCHEMA) {
		scan_errf(
		    &ctx, "schema_version: expected %d", SCAN_JSON_SCHEMA);
		goto out;
	}
	if (scan_get_str(&ctx, obj, "", "scanner", 1, &s) == -1)
		goto out;
	if (strcmp(s, "trivy") != 0 && strcmp(s, "grype") != 0) {
		scan_errf(&ctx, "scanner: expected \"trivy\" or \"grype\"");
		goto out;
	}
	if ((r->scanner = strdup(s)) == NULL) {
		scan_errf(&ctx, "out of memory");
		goto out;
	}
	if (scan_get_str(&ctx, obj, "", "format", 1, &s) == -1)
		goto out;
	for (i = SCAN_FORMAT_TRIVY_JSON; i <= SCAN_FORMAT_GRYPE_JSON; i++) {
		if (strcmp(s, scan_format_name((enum scan_format)i)) == 0)
			r->format = (enum scan_format)i;
	}
	if (r->format == 0) {
		scan_errf(&ctx,
		    "format: expected \"trivy-json\", \"trivy-sarif\" or "
		    "\"grype-json\"");
		goto out;
	}
	if ((r->format == SCAN_FORMAT_GRYPE_JSON) !=
	    (strcmp(r->scanner, "grype") == 0)) {
		scan_errf(
		    &ctx, "format: \"%s\" is not a %s format", s, r->scanner);
		goto out;
	}
	dst[0] = &r->scanner_version;
	dst[1] = &r->db_version;
	dst[2] = &r->db_built;
	dst[3] = &r->artifact;
	dst[4] = &r->artifact_digest;
	dst[5] = &r->image_id;
	for (i = 0; i < sizeof(metas) / sizeof(metas[0]); i++) {
		if (scan_get_meta(&ctx, obj, "", metas[i], dst[i]) == -1)
			goto out;
	}
	v = json_object_get(obj, "finished_at");
	if (v == NULL || (!json_is_null(v) && !json_is_string(v))) {
		scan_errf(&ctx, "finished_at: %s",
		    v == NULL ? "missing" : "expected a string or null");
		goto out;
	}
	if (json_is_string(v) &&
	    (json_string_value(v)[0] == '\0' ||
		scan_set_time(&ctx, json_string_value(v), "", "finished_at") ==
		    -1)) {
		if (json_string_value(v)[0] == '\0')
			scan_errf(&ctx, "finished_at: empty");
		goto out;
	}

	if (scan_get_obj(&ctx, obj, "", "counts", 1, &counts) == -1)
		goto out;
	for (i = 0; i < SCAN_SEV_COUNT; i++) {
		if (scan_json_count(&ctx, counts, "counts", scan_sev_names[i],
			&r->counts[i]) == -1)
			goto out;
	}
	if (json_object_get(counts, "negligible") != NULL &&
	    scan_json_count(
		&ctx, counts, "counts", "negligible", &r->negligible) == -1)
		goto out;
	if (r->negligible > r->counts[SCAN_SEV_LOW]) {
		scan_errf(&ctx, "counts.negligible: more than counts.low");
		goto out;
	}
	if (json_object_get(obj, "unfixed_ignored") != NULL &&
	    scan_json_count(
		&ctx, obj, "", "unfixed_ignored", &r->unfixed_ignored) == -1)
		goto out;
	if (scan_json_bool(&ctx, obj, "ignore_unfixed", &r->ignore_unfixed) ==
		-1 ||
	    scan_json_bool(&ctx, obj, "nothing_scanned", &r->nothing_scanned) ==
		-1)
		goto out;
	if (r->unfixed_ignored > 0 && !r->ignore_unfixed) {
		scan_errf(
		    &ctx, "unfixed_ignored: non-zero without ignore_unfixed");
		goto out;
	}
	if (scan_get_str(&ctx, obj, "", "fail_on", 1, &s) == -1)
		goto out;
	if (scan_fail_on_parse(s, &sev) == -1 ||
	    strcmp(s, scan_sev_name(sev)) != 0) {
		scan_errf(&ctx,
		    "fail_on: expected critical, high, medium, low, unknown or "
		    "none");
		goto out;
	}
	r->fail_on = sev;
	if (scan_get_str(&ctx, obj, "", "verdict", 1, &s) == -1)
		goto out;
	if (strcmp(s, "pass") == 0) {
		r->fail = 0;
	} else if (strcmp(s, "fail") == 0) {
		r->fail = 1;
	} else {
		scan_errf(&ctx, "verdict: expected \"pass\" or \"fail\"");
		goto out;
	}
	fail = scan_verdict(r->counts, r->fail_on);
	if (fail != r->fail) {
		scan_errf(&ctx,
		    "verdict: \"%s\" disagrees with counts and fail_on \"%s\"",
		    s, scan_sev_name(r->fail_on));
		goto out;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	scan_free(r);
	return rc;
}

/* ---- human output -------------------------------------------------------- */

/* Append to buf at *off like snprintf; -1 once buf is full. */
static int scan_cat(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
scan_cat(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off) {
		*off = len;
		return -1;
	}
	*off += (size_t)n;
	return 0;
}

int
scan_summary(const struct scan_report *r, char *buf, size_t len)
{
	char ver[SCAN_FIELD_MAX];
	size_t off = 0;
	int rc = 0;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	scan_field_copy(ver, r->scanner_version);
	rc |= scan_cat(buf, len, &off, "%s%s%s: ", r->scanner,
	    ver[0] != '\0' ? " " : "", ver);
	rc |= scan_cat(buf, len, &off,
	    "%zu critical, %zu high, %zu medium, %zu low, %zu unknown",
	    r->counts[SCAN_SEV_CRITICAL], r->counts[SCAN_SEV_HIGH],
	    r->counts[SCAN_SEV_MEDIUM], r->counts[SCAN_SEV_LOW],
	    r->counts[SCAN_SEV_UNKNOWN]);
	if (r->negligible > 0)
		rc |= scan_cat(
		    buf, len, &off, "; %zu negligible (in low)", r->negligible);
	if (r->ignore_unfixed)
		rc |= scan_cat(buf, len, &off, "; %zu unfixed ignored",
		    r->unfixed_ignored);
	if (r->nothing_scanned)
		rc |= scan_cat(buf, len, &off, "; nothing scanned");
	rc |= scan_cat(buf, len, &off, " (fail-on %s): %s",
	    scan_sev_name(r->fail_on), r->fail ? "FAIL" : "PASS");
	return rc == 0 ? 0 : -1;
}

int
scan_finding_format(const struct scan_finding *f, char *buf, size_t len)
{
	size_t off = 0;
	int rc = 0;
	char up[16];
	size_t i;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	snprintf(up, sizeof(up), "%s", scan_sev_name(f->sev));
	for (i = 0; up[i] != '\0'; i++)
		up[i] = (char)(up[i] - 'a' + 'A');
	rc |= scan_cat(buf, len, &off, "%-8s %s %s%s%s", up,
	    f->id[0] != '\0' ? f->id : "?", f->pkg[0] != '\0' ? f->pkg : "?",
	    f->installed[0] != '\0' ? " " : "", f->installed);
	if (f->fixed[0] != '\0')
		rc |= scan_cat(buf, len, &off, " (fixed in %s)", f->fixed);
	else
		rc |= scan_cat(buf, len, &off, " (no fix)");
	return rc == 0 ? 0 : -1;
}

int
scan_print(const struct scan_report *r, FILE *fp, size_t max)
{
	char line[SCAN_FIELD_MAX * 5];
	size_t i, total = 0, shown;

	scan_summary(r, line, sizeof(line));
	if (fprintf(fp, "%s\n", line) < 0)
		return -1;
	for (i = 0; i < SCAN_SEV_COUNT; i++)
		total += r->counts[i];
	shown = r->nworst < max ? r->nworst : max;
	for (i = 0; i < shown; i++) {
		scan_finding_format(&r->worst[i], line, sizeof(line));
		if (fprintf(fp, "  %s\n", line) < 0)
			return -1;
	}
	if (shown > 0 && total > shown &&
	    fprintf(fp, "  ... and %zu more\n", total - shown) < 0)
		return -1;
	return 0;
}
