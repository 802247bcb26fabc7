#!/usr/bin/env python3
"""Independent count of a scanner report, to check the .expect files.

Usage: expected.py REPORT [--ignore-unfixed]

Prints "critical=N high=N medium=N low=N unknown=N negligible=N
unfixed_ignored=N nothing_scanned=0|1" using the rules of docs/scan.md,
written separately from signer/scan.c so that the two can disagree.
"""
import json
import sys

SEVS = ["critical", "high", "medium", "low", "unknown"]
TRIVY_UNFIXED = {"affected", "will_not_fix", "fix_deferred", "end_of_life"}


def count(path, ignore_unfixed):
    doc = json.load(open(path))
    c = dict.fromkeys(SEVS + ["negligible", "unfixed_ignored"], 0)
    nothing = 0

    def add(sev, unfixed, negligible=False):
        if ignore_unfixed and unfixed:
            c["unfixed_ignored"] += 1
            return
        c[sev] += 1
        if negligible:
            c["negligible"] += 1

    if "runs" in doc:
        if ignore_unfixed:
            return None
        for run in doc["runs"]:
            rules = run["tool"]["driver"].get("rules") or []
            for res in run.get("results") or []:
                if "ruleIndex" in res:
                    rule = rules[res["ruleIndex"]]
                else:
                    (rule,) = [r for r in rules if r["id"] == res["ruleId"]]
                props = rule.get("properties") or {}
                tags = [t.lower() for t in props.get("tags") or []]
                if "vulnerability" not in tags and (
                        {"misconfiguration", "secret", "license"} & set(tags)):
                    continue
                rid = rule.get("id", "")
                if rid.startswith("[") and rid[1:rid.index("]")].lower() in SEVS:
                    add(rid[1:rid.index("]")].lower(), False)
                    continue
                st = [t for t in tags if t in SEVS]
                if st:
                    assert len(set(st)) == 1
                    add(st[0], False)
                    continue
                s = float(props["security-severity"])
                add("critical" if s >= 9 else "high" if s >= 7 else
                    "medium" if s >= 4 else "low" if s > 0 else "unknown",
                    False)
    elif "matches" in doc:
        for m in doc["matches"]:
            v = m["vulnerability"]
            sev = v["severity"].lower()
            fix = v.get("fix") or {}
            unfixed = fix.get("state") != "fixed"
            if sev == "negligible":
                add("low", unfixed, True)
            else:
                add(sev, unfixed)
    else:
        results = doc.get("Results") or []
        nothing = int(len(results) == 0)
        for r in results:
            for v in r.get("Vulnerabilities") or []:
                unfixed = (not v.get("FixedVersion")
                           or v.get("Status") in TRIVY_UNFIXED)
                add(v["Severity"].lower(), unfixed)
    c["nothing_scanned"] = nothing
    return c


def main():
    path = sys.argv[1]
    c = count(path, "--ignore-unfixed" in sys.argv[2:])
    if c is None:
        print("refused: SARIF has no fix information")
        return
    print(" ".join("%s=%d" % (k, c[k]) for k in SEVS + [
        "negligible", "unfixed_ignored", "nothing_scanned"]))


if __name__ == "__main__":
    main()
