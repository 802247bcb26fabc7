#!/usr/bin/env bash
# regward sync, audit, check and the errors of purge, on a real registry:
# sync imports what was pushed straight to the registry (catalog and tags
# paged through Link headers, an index's children) as source 'sync';
# regward audit exports JSON lines since a time; a purge trims the audit
# trail to audit.keep_days; a bad retention rule is refused with its key
# path; deletes disabled on the registry stop the purge with a clear
# error and a non-zero exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/purge_lib.sh"
require_cmd jq curl sqlite3

start_registry
# shellcheck disable=SC2034
GW_URL=$REG_URL	# no gateway: these images were there before regward
cfg()
{
	auth_config_write "$(jq -n --arg u "$REG_URL" --argjson r "$1" \
	    '{upstream: {url: $u}, retention: $r, audit: {keep_days: 30}}')"
}
cfg '[{"repository": "pre/lib", "keep_last": 0}]'

A=$(img_push pre/app v1)
img_tag pre/app v1-again "$A"
B=$(img_push pre/app v2)
C=$(img_push pre/app -)
I=$(index_push pre/app multi "$B" "$C")
L=$(img_push pre/lib latest)

log "sync, two names a page"
out=$(REGWARD_LIST_PAGE=2 "$REGWARD_BIN" sync -c "$GW_CFG")
assert_contains "$out" "pre/app: 4 tags (4 new or moved, 0 gone), 4 manifests (4 new" \
    "pre/app summary"
assert_contains "$out" "pre/lib: 1 tags" "pre/lib summary"
assert_contains "$out" "synced 2 repositories" "total"
assert_eq "sync|5|0" "$(ledger "SELECT group_concat(DISTINCT source),
    count(*), count(pushed_at) FROM manifests")" "manifests found, not pushed"
assert_eq "sync|5" "$(ledger "SELECT group_concat(DISTINCT source),
    count(*) FROM tags")" "tags found"
assert_eq "$A" "$(ledger "SELECT digest FROM tags WHERE tag = 'v1-again'")" \
    "shared digest"
assert_eq "$(sorted "$B" "$C")" "$(ledger "SELECT child FROM
    manifest_children WHERE parent = '$I' ORDER BY child")" "index children"
out=$("$REGWARD_BIN" sync -c "$GW_CFG" --repository 'pre/app')
assert_contains "$out" "4 tags (0 new or moved, 0 gone), 4 manifests (0 new" \
    "second sync changes nothing"
assert_not_contains "$out" "pre/lib" "--repository filters"

log "audit"
now=$(date +%s)
ledger "INSERT INTO audit (at, kind, principal, repository, reason)
    VALUES (1000, 'deny', 'user:old', 'pre/app', 'long ago'),
           ($now, 'deny', 'user:new', 'pre/app', 'just now')"
"$REGWARD_BIN" audit -c "$GW_CFG" --json >"$TMP/audit.json"
assert_eq 2 "$(wc -l <"$TMP/audit.json")" "all rows"
assert_eq "user:new" "$("$REGWARD_BIN" audit -c "$GW_CFG" --since 1d --json |
    jq -r .principal)" "--since 1d"
assert_eq "user:new" "$("$REGWARD_BIN" audit -c "$GW_CFG" --json \
    --since "$((now - 5))" | jq -r .principal)" "--since epoch"
assert_eq 2 "$("$REGWARD_BIN" audit -c "$GW_CFG" --since 1970-01-01 --json |
    wc -l)" "--since date"
assert_contains "$("$REGWARD_BIN" audit -c "$GW_CFG")" "just now" "text output"
rc=0
"$REGWARD_BIN" audit -c "$GW_CFG" --since yesterday 2>"$TMP/e" || rc=$?
assert_eq 2 "$rc" "bad --since"
assert_contains "$(cat "$TMP/e")" "--since" "bad --since message"

log "check: retention errors name the key"
cfg '[{"repository": "pre/**", "keep_last": 3},
      {"repository": "x/*", "keep_last": -1}]'
rc=0
"$REGWARD_BIN" check -c "$GW_CFG" 2>"$TMP/e" || rc=$?
assert_eq 1 "$rc" "check exit status"
assert_eq "regward: $GW_CFG: retention[1].keep_last: must be a non-negative integer" \
    "$(cat "$TMP/e")" "check message"
cfg '[{"repository": "pre/**", "keep_tags": ["v*"], "keep_older": "1d"}]'
rc=0
"$REGWARD_BIN" purge -c "$GW_CFG" --dry-run 2>"$TMP/e" || rc=$?
assert_eq 1 "$rc" "purge refuses a bad rule"
assert_contains "$(cat "$TMP/e")" "retention[0].keep_older: unknown key" \
    "unknown key"

log "purge with deletes disabled on the registry"
stop_registry
REG_DELETE=false start_registry
cfg '[{"repository": "pre/lib", "keep_last": 0}]'
rc=0
"$REGWARD_BIN" purge -c "$GW_CFG" >"$TMP/out" 2>"$TMP/e" || rc=$?
assert_eq 1 "$rc" "purge exit status with deletes disabled"
assert_contains "$(cat "$TMP/e")" \
    "deletes are disabled on the registry: set storage.delete.enabled: true" \
    "clear error"
assert_eq 200 "$(up_status pre/lib "$L")" "nothing deleted"
assert_eq "failed" "$(ledger "SELECT status FROM purge_runs ORDER BY id DESC
    LIMIT 1")" "run recorded as failed"
assert_eq 0 "$(ledger "SELECT count(*) FROM audit WHERE at = 1000")" \
    "audit.keep_days trimmed the old row"
assert_eq 1 "$(ledger "SELECT count(*) FROM audit WHERE reason = 'just now'")" \
    "recent audit rows kept"
