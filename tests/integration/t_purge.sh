#!/usr/bin/env bash
# regward purge against a real registry: tags of known ages in several
# repositories; the dry run lists exactly the expected candidates; the
# purge deletes them (404 upstream) and keeps the rest; tags sharing a
# digest with a kept tag survive; signatures leave with their images and
# stay with kept ones; an index keeps its children; a second run has
# nothing left to do; audit rows and purge records are written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/purge_lib.sh"
require_gateway
require_cmd jq curl sqlite3

SIGN="$(cd "$(dirname "$REGWARD_BIN")/../signer" && pwd)/regward-sign"
[ -x "$SIGN" ] || fail "regward-sign not built at $SIGN"

RETENTION='[
  {"repository": "team/app", "keep_last": 2, "keep_tags": ["release-*"]},
  {"repository": "team/old", "keep_pushed_within": "30d",
   "untagged": "delete"},
  {"repository": "team/multi", "keep_tags": ["multi"], "untagged": "delete"}
]'
start_registry
purge_start_gateway "{\"retention\": $RETENTION}"
HOSTPORT=${GW_URL#http://}
purge() { "$REGWARD_BIN" purge -c "$GW_CFG" "$@"; }

# team/app: keep_last 2 (signature tags do not count), release-* kept.
A=$(img_push team/app release-1)
img_tag team/app shared-old "$A"	# shares A's digest: survives
B=$(img_push team/app old2)
C=$(img_push team/app old3)
D=$(img_push team/app new1)
E=$(img_push team/app new2)
export COSIGN_PASSWORD=pw
(cd "$TMP" && "$SIGN" generate-key-pair --output-key-prefix ci >/dev/null)
for t in old3 new1; do
	"$SIGN" sign --key "$TMP/ci.key" --insecure "$HOSTPORT/team/app:$t" \
	    >/dev/null
done
SIG_C=$(curl -s -o /dev/null -D - -I -H "Accept: $MT_OCI_MANIFEST" \
    "$REG_URL/v2/team/app/manifests/sha256-${C#sha256:}.sig" |
    awk 'tolower($1) == "docker-content-digest:" { sub(/\r$/, ""); print $2 }')
SIG_D=$(curl -s -o /dev/null -D - -I -H "Accept: $MT_OCI_MANIFEST" \
    "$REG_URL/v2/team/app/manifests/sha256-${D#sha256:}.sig" |
    awk 'tolower($1) == "docker-content-digest:" { sub(/\r$/, ""); print $2 }')
[ -n "$SIG_C" ] && [ -n "$SIG_D" ] || fail "signature manifests not found"

# team/old: X pushed more than 30 days before the planner's clock, Y less.
X=$(img_push team/old x1)
T1=$(date +%s)
sleep 2
Y=$(img_push team/old y1)

# team/multi: a kept index keeps its untagged children; a deleted index
# takes its children along; an untagged stray goes.
P=$(img_push team/multi -)
Q=$(img_push team/multi -)
R=$(img_push team/multi -)
I=$(index_push team/multi multi "$P" "$Q")
J=$(index_push team/multi oldmulti "$R")
U=$(img_push team/multi -)

# other/keep: no rule matches, nothing is touched.
K=$(img_push other/keep v0)

wait_ledger "SELECT count(*) FROM manifests WHERE source = 'push'" 16
next_second
assert_eq push "$(ledger "SELECT source FROM tags WHERE repository =
    'team/app' AND tag = 'new2'")" "a push records its tag"

export REGWARD_NOW=$((T1 + 1 + 30 * 86400))
log "dry run"
purge --dry-run --json >"$TMP/dry.json" 2>"$TMP/dry.err"
assert_eq "$(sorted "$B" "$C" "$SIG_C" "$X" "$J" "$R" "$U")" \
    "$(planned_digests "$TMP/dry.json")" "dry run candidates"
assert_eq would-delete "$(jq -r .action "$TMP/dry.json" | sort -u)" \
    "dry run action"
assert_eq "old2" "$(jq -r --arg d "$B" 'select(.digest == $d) | .tags |
    join(",")' "$TMP/dry.json")" "tags column"
assert_eq "retention[1]" "$(jq -r --arg d "$X" 'select(.digest == $d) |
    .rule' "$TMP/dry.json")" "rule column"
assert_contains "$(jq -r --arg d "$SIG_C" 'select(.digest == $d) | .reason' \
    "$TMP/dry.json")" "sig of deleted $C" "signature reason"
assert_contains "$(jq -r --arg d "$R" 'select(.digest == $d) | .reason' \
    "$TMP/dry.json")" "deleted index $J" "child reason"
assert_contains "$(cat "$TMP/dry.err")" "7 manifests would be deleted" \
    "dry run summary"
assert_kept team/app "$B" "B after the dry run"

# --repository narrows the plan; the text output has one row per candidate.
purge --dry-run --repository 'team/multi' >"$TMP/dry.txt"
assert_contains "$(head -n 1 "$TMP/dry.txt")" "REPOSITORY" "header row"
assert_eq 3 "$(grep -c '^team/multi ' "$TMP/dry.txt")" "team/multi rows"
assert_eq 0 "$(grep -c '^team/app ' "$TMP/dry.txt" || true)" "no team/app rows"

log "purge"
purge --json >"$TMP/run.json" 2>"$TMP/run.err" ||
    fail "purge failed: $(cat "$TMP/run.err")"
assert_eq "$(sorted "$B" "$C" "$SIG_C" "$X" "$J" "$R" "$U")" \
    "$(planned_digests "$TMP/run.json")" "purge candidates"
assert_eq deleted "$(jq -r .action "$TMP/run.json" | sort -u)" "all deleted"
assert_contains "$(cat "$TMP/run.err")" "garbage-collect" "GC hint"
assert_gone team/app "$B" B
assert_gone team/app "$C" C
assert_gone team/app "$SIG_C" "C's signature"
assert_gone team/old "$X" X
assert_gone team/multi "$J" "old index"
assert_gone team/multi "$R" "old index's child"
assert_gone team/multi "$U" "untagged stray"
assert_kept team/app "$A" "A (release-1)"
assert_kept team/app shared-old "shared-old tag (shares A)"
assert_kept team/app release-1 "release-1 tag"
assert_kept team/app "$D" "D (keep_last)"
assert_kept team/app "$E" "E (keep_last)"
assert_kept team/app "$SIG_D" "D's signature"
assert_kept team/app "sha256-${D#sha256:}.sig" "D's signature tag"
assert_kept team/old "$Y" "Y (pushed within 30d)"
assert_kept team/multi "$I" "kept index"
assert_kept team/multi "$P" "kept index's child P"
assert_kept team/multi "$Q" "kept index's child Q"
assert_kept other/keep "$K" "repository without a rule"

# Recorded: the run, each deletion with its rule, audit rows, the ledger.
assert_eq "done|0|7|7" "$(ledger "SELECT status, dry_run, planned, deleted
    FROM purge_runs ORDER BY id DESC LIMIT 1")" "purge_runs row"
assert_eq 7 "$(ledger "SELECT count(*) FROM purge_deletions WHERE
    status = 'deleted' AND rule LIKE 'retention[%]'")" "purge_deletions"
assert_eq 7 "$(ledger "SELECT count(*) FROM audit WHERE kind = 'delete'
    AND principal = 'purge' AND status = 202")" "audit delete rows"
assert_eq 0 "$(ledger "SELECT count(*) FROM tags WHERE repository =
    'team/app' AND tag IN ('old2', 'old3')")" "deleted tags dropped"
assert_eq 1 "$(ledger "SELECT count(*) FROM manifests WHERE digest = '$B'
    AND deleted_at IS NOT NULL")" "manifest marked deleted"

log "second run: converged"
purge --json >"$TMP/run2.json" 2>"$TMP/run2.err"
assert_eq 0 "$(wc -l <"$TMP/run2.json")" "nothing left to delete"
assert_contains "$(cat "$TMP/run2.err")" "0 planned" "second run summary"
