#!/usr/bin/env bash
# regward purge under concurrency, on a real registry: a second purge
# started during the first refuses to run and says who holds the lock; a
# push through the gateway during a purge (a new tag on a digest the plan
# meant to delete, and a new image) is not deleted by it; a purge killed
# with SIGKILL half-way and run again finishes the job, and a third run
# has nothing left to do. REGWARD_PURGE_DELAY_MS (test-only) slows the
# deletions down so that the test can act in between.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/purge_lib.sh"
require_gateway
require_cmd jq curl sqlite3

RETENTION='[{"repository": "team/race", "keep_tags": ["v8", "rescued", "fresh"]}]'
start_registry
purge_start_gateway "{\"retention\": $RETENTION}"
purge() { "$REGWARD_BIN" purge -c "$GW_CFG" "$@"; }

# wait_lines FILE N: until FILE has N lines (20 s at most).
wait_lines()
{
	local i
	for i in $(seq 200); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: fewer than $2 lines after 20s: $(cat "$1")"
}

declare -a V
for i in 1 2 3 4 5 6 7 8; do
	V[$i]=$(img_push team/race "v$i")
done
wait_ledger "SELECT count(*) FROM tags WHERE repository = 'team/race'" 8
next_second

purge --dry-run --json >"$TMP/plan.json" 2>/dev/null
assert_eq 7 "$(wc -l <"$TMP/plan.json")" "seven candidates"
LAST=$(tail -n 1 "$TMP/plan.json" | jq -r .digest)	# deleted last

log "purge 1: a second purge and pushes during it"
REGWARD_PURGE_DELAY_MS=500 "$REGWARD_BIN" purge -c "$GW_CFG" --json >"$TMP/p1.json" 2>"$TMP/p1.err" &
P1=$!
track "$P1"
wait_lines "$TMP/p1.json" 1
rc=0
purge --json >"$TMP/p2.json" 2>"$TMP/p2.err" || rc=$?
assert_eq 1 "$rc" "second purge exit status"
assert_contains "$(cat "$TMP/p2.err")" "another purge is running (pid $P1 on" \
    "second purge names the holder"
assert_eq 0 "$(wc -l <"$TMP/p2.json")" "second purge deleted nothing"
# The last candidate gets a new tag; a new image arrives.
img_tag team/race rescued "$LAST"
FRESH=$(img_push team/race fresh)
wait "$P1" || fail "purge 1 failed: $(cat "$TMP/p1.err")"
assert_eq skipped "$(jq -r --arg d "$LAST" 'select(.digest == $d) | .action' \
    "$TMP/p1.json")" "re-tagged candidate skipped"
assert_contains "$(jq -r --arg d "$LAST" 'select(.digest == $d) | .detail' \
    "$TMP/p1.json")" "since this run started" "skip reason"
assert_kept team/race "$LAST" "digest pushed again during the purge"
assert_kept team/race rescued "tag pushed during the purge"
assert_kept team/race "$FRESH" "image pushed during the purge"
assert_kept team/race "${V[8]}" "v8"
assert_eq 6 "$(jq -r 'select(.action == "deleted") | .digest' "$TMP/p1.json" |
    wc -l)" "the other six deleted"
for d in $(jq -r 'select(.action == "deleted") | .digest' "$TMP/p1.json"); do
	assert_gone team/race "$d" "$d"
done

log "purge 2: SIGKILL half-way, then run again"
declare -a K
for i in 1 2 3 4 5 6; do
	K[$i]=$(img_push team/race "k$i")
done
wait_ledger "SELECT count(*) FROM tags WHERE tag LIKE 'k%'" 6
next_second
REGWARD_PURGE_DELAY_MS=700 "$REGWARD_BIN" purge -c "$GW_CFG" --json >"$TMP/k1.json" 2>"$TMP/k1.err" &
P2=$!
track "$P2"
wait_lines "$TMP/k1.json" 2
kill -KILL "$P2"
wait "$P2" 2>/dev/null || true
left=0
for i in 1 2 3 4 5 6; do
	[ "$(up_status team/race "${K[$i]}")" = 200 ] && left=$((left + 1))
done
[ "$left" -ge 1 ] && [ "$left" -le 4 ] ||
    fail "expected a half-done purge, $left of 6 left"
log "killed with $left of 6 left"
purge --json >"$TMP/k2.json" 2>"$TMP/k2.err" ||
    fail "purge after SIGKILL failed: $(cat "$TMP/k2.err")"
for i in 1 2 3 4 5 6; do
	assert_gone team/race "${K[$i]}" "k$i after the re-run"
done
assert_kept team/race "$LAST" "rescued digest"
assert_kept team/race "$FRESH" "fresh"
assert_kept team/race "${V[8]}" "v8"
assert_eq interrupted "$(ledger "SELECT status FROM purge_runs WHERE
    dry_run = 0 ORDER BY id LIMIT 1 OFFSET 1")" "killed run marked interrupted"
purge --json >"$TMP/k3.json" 2>"$TMP/k3.err"
assert_eq 0 "$(wc -l <"$TMP/k3.json")" "third run: nothing to do"
