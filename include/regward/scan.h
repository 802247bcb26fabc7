/*
 * scan: read a vulnerability scanner's report and decide pass/fail.
 *
 * regward-sign refuses to sign an image whose scan fails. This module reads
 * the report a CI job produced (Trivy JSON, Trivy SARIF or Grype JSON; the
 * format is detected from the content, never from the file name), counts
 * the vulnerability findings by severity, applies a --fail-on threshold and
 * produces the "dev.regward.scan" member of the signed payload. The gateway
 * reads that member back with scan_from_json(). docs/scan.md documents the
 * rules and every member of the JSON object.
 *
 * Counting, in short:
 *   - one finding per entry the scanner lists: a CVE found in two packages
 *     counts twice, as the scanner reports it;
 *   - Trivy JSON: Results[].Vulnerabilities[].Severity over all Results;
 *     Misconfigurations, Secrets and Licenses are not vulnerabilities;
 *   - Trivy SARIF: runs[].results[], each resolved to its rule by ruleIndex;
 *     severity from the 2020 template's "[LOW] CVE-..." rule id prefix (it
 *     must agree with the tags), else the severity among the rule's tags,
 *     else the security-severity score; never from "level";
 *   - Grype JSON: matches[].vulnerability.severity only; Negligible counts
 *     as LOW (and also in .negligible), as Trivy rates the same Debian
 *     "unimportant" entries LOW;
 *   - order CRITICAL > HIGH > MEDIUM > LOW > UNKNOWN: a report fails when
 *     it has a finding at or above fail_on, so UNKNOWN findings fail only
 *     with fail_on UNKNOWN, and nothing fails with fail_on NONE.
 *
 * Errors are one line that names the file and the JSON path at fault:
 *   "scan.json: Results[1].Vulnerabilities[0].Severity: expected a string"
 *   "scan.json:3:14: <jansson's syntax error text>"
 */
#ifndef REGWARD_SCAN_H
#define REGWARD_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define SCAN_ERR_MAX 512 /* a good size for err buffers */
#define SCAN_FILE_MAX ((size_t)64 << 20) /* report size cap: 64 MiB */
#define SCAN_META_MAX 1024 /* metadata string cap, bytes */
#define SCAN_WORST_MAX 10 /* worst findings kept */
#define SCAN_FIELD_MAX 128 /* finding field, with NUL */
#define SCAN_JSON_KEY "dev.regward.scan" /* payload member name */
#define SCAN_JSON_SCHEMA 1 /* its "schema_version" */

enum scan_format {
	SCAN_FORMAT_TRIVY_JSON = 1, /* trivy --format json, SchemaVersion 2 */
	SCAN_FORMAT_TRIVY_SARIF, /* trivy --format sarif, or the 2020
				    contrib/sarif.tpl template */
	SCAN_FORMAT_GRYPE_JSON, /* grype -o json */
};

/*
 * Severities in increasing order, so that "a >= b" means "a is at least as
 * bad as b". SCAN_SEV_NONE is only a threshold (nothing fails); counts[]
 * is indexed by UNKNOWN..CRITICAL.
 */
enum scan_sev {
	SCAN_SEV_UNKNOWN = 0,
	SCAN_SEV_LOW,
	SCAN_SEV_MEDIUM,
	SCAN_SEV_HIGH,
	SCAN_SEV_CRITICAL,
	SCAN_SEV_NONE,
};
#define SCAN_SEV_COUNT 5 /* entries in counts[] */

/* What the caller asks of scan_load(). */
struct scan_opts {
	enum scan_sev fail_on; /* threshold; from scan_fail_on_parse() */
	int ignore_unfixed; /* 1: skip findings with no fix (Trivy, Grype;
			       refused for SARIF, which has no fix data) */
};

/*
 * One finding, for printing. Fields are copies, truncated to fit at a
 * UTF-8 character boundary, with control bytes replaced by '?' so that a
 * package name from an image cannot drive the terminal. Empty when the
 * report does not say.
 */
struct scan_finding {
	enum scan_sev sev;
	char id[SCAN_FIELD_MAX]; /* "CVE-2019-5481", "GHSA-..." */
	char pkg[SCAN_FIELD_MAX]; /* "curl-libs" */
	char installed[SCAN_FIELD_MAX]; /* "7.61.1-4.ph3" */
	char fixed[SCAN_FIELD_MAX]; /* "7.61.1-5.ph3"; "" = no fix */
};

/*
 * A report's verdict. Strings are owned by the report (NUL-terminated, at
 * most SCAN_META_MAX bytes) and NULL when the report does not carry them.
 * From scan_from_json() the worst[] list is empty (nworst 0).
 */
struct scan_report {
	enum scan_format format;
	char *scanner; /* "trivy" or "grype"; never NULL */
	char *scanner_version; /* "0.50.1", "dev", "[not provided]" */
	char *db_version; /* vulnerability DB schema, e.g. "5" (Grype) */
	char *db_built; /* DB build time as written (Grype) */
	char *artifact; /* ArtifactName / imageName / userInput */
	char *artifact_digest; /* manifest digest "sha256:..." */
	char *image_id; /* image config digest "sha256:..." */
	char *finished_at; /* "2021-08-25T12:20:30Z": UTC, seconds */
	int64_t finished_at_unix; /* same, seconds since 1970; valid only
				     when finished_at != NULL */
	size_t counts[SCAN_SEV_COUNT]; /* findings by severity, after
					  ignore_unfixed */
	size_t negligible; /* Grype Negligible, included in LOW */
	size_t unfixed_ignored; /* findings skipped: ignore_unfixed */
	int ignore_unfixed; /* as asked */
	int nothing_scanned; /* Trivy JSON without Results */
	enum scan_sev fail_on; /* threshold applied */
	int fail; /* verdict: 1 fail, 0 pass */
	struct scan_finding worst[SCAN_WORST_MAX]; /* worst first; ties in
						      report order */
	size_t nworst;
};

/*
 * Parse a --fail-on value, case-insensitively: "critical", "high",
 * "medium", "low", "unknown" or "none". Returns 0 and sets *out, or -1
 * for NULL or any other word. *out is cleared on entry to the strictest
 * threshold, SCAN_SEV_UNKNOWN, so a caller that ignores -1 fails closed.
 */
int scan_fail_on_parse(const char *s, enum scan_sev *out);

/* "critical", "high", "medium", "low", "unknown", "none"; static. */
const char *scan_sev_name(enum scan_sev sev);

/* "trivy-json", "trivy-sarif", "grype-json"; static. */
const char *scan_format_name(enum scan_format format);

/*
 * Read the report at path (at most SCAN_FILE_MAX bytes), detect its
 * format, count and decide with opts (required; borrowed for the call).
 * Returns 0 and sets *out (free with scan_free()), or -1 with *out NULL
 * and a one-line message in err[0..errlen) that starts with path; err may
 * be NULL. opts->ignore_unfixed with a SARIF report is an error.
 */
int scan_load(const char *path, const struct scan_opts *opts,
    struct scan_report **out, char *err, size_t errlen);

/*
 * Same, from a report in memory; name is used in messages. text is
 * borrowed for the call and need not be NUL-terminated.
 */
int scan_load_buffer(const char *name, const char *text, size_t len,
    const struct scan_opts *opts, struct scan_report **out, char *err,
    size_t errlen);

/*
 * Detect the format of a parsed report (root borrowed). Returns 0 and sets
 * *out, or -1 with *out 0 and a message naming name: not an object, an old
 * Trivy array, SARIF from another tool, a descriptor that is not Grype's,
 * an unsupported Trivy SchemaVersion or SARIF version, or nothing known.
 */
int scan_detect(const char *name, const json_t *root, enum scan_format *out,
    char *err, size_t errlen);

/*
 * The verdict for counts against a threshold: 1 fail when any count at or
 * above fail_on is non-zero, else 0 pass. counts has SCAN_SEV_COUNT
 * entries.
 */
int scan_verdict(const size_t *counts, enum scan_sev fail_on);

/*
 * The "dev.regward.scan" object for the signed payload. Returns a new
 * reference (the caller owns it; json_object_set_new() steals it), or
 * NULL when out of memory. Every documented key is present; absent
 * metadata is null.
 */
json_t *scan_to_json(const struct scan_report *r);

/*
 * Parse a "dev.regward.scan" object (obj borrowed) back into a report,
 * validating every member's type and value, that "schema_version" is
 * SCAN_JSON_SCHEMA and that "verdict" agrees with "counts" and "fail_on".
 * Unknown members are ignored. Returns 0 and sets *out (free with
 * scan_free()), or -1 with *out NULL and "<what>: <key>: <problem>" in
 * err, what being e.g. the image reference the caller is checking.
 */
int scan_from_json(const char *what, const json_t *obj,
    struct scan_report **out, char *err, size_t errlen);

/*
 * The one-line human summary, e.g.
 *   "trivy 0.50.1: 2 critical, 1 high, 0 medium, 0 low, 0 unknown
 *    (fail-on high): FAIL"
 * (one line), with "; N negligible (in low)" when N > 0, "; N unfixed
 * ignored" when ignore_unfixed is on and "; nothing scanned" before the
 * parenthesis. Control bytes in the scanner version are shown as '?'. Returns
 * 0, or -1 when buf was too small (it then holds a truncated, terminated line).
 */
int scan_summary(const struct scan_report *r, char *buf, size_t len);

/*
 * One finding line, e.g. "CRITICAL CVE-2019-5481 curl-libs 7.61.1-4.ph3
 * (fixed in 7.61.1-5.ph3)" or "... (no fix)". Returns 0 or -1 as above.
 */
int scan_finding_format(const struct scan_finding *f, char *buf, size_t len);

/*
 * Print the summary line and then up to max of the worst findings,
 * indented by two spaces, and "  ... and N more" when findings were left
 * out, to fp. Returns 0, or -1 on a write error.
 */
int scan_print(const struct scan_report *r, FILE *fp, size_t max);

/* Free r and everything it owns. scan_free(NULL) is a no-op. */
void scan_free(struct scan_report *r);

#endif /* REGWARD_SCAN_H */
