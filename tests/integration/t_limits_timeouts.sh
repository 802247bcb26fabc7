#!/usr/bin/env bash
# Timeouts and the connection limit: a slow request head gets 408, an idle
# keep-alive connection is closed, an upstream that accepts but never answers
# gets 504 UNAVAILABLE, and a full gateway stops accepting until a slot frees.
. "$(dirname "$0")/lib.sh"
require_gateway

start_registry
start_gateway '{"timeouts":{"header":"1s","idle":"2s","upstream_response":"1s"},
		"limits":{"max_connections":3}}'
host=127.0.0.1

# A head that never ends: 408 once timeouts.header has passed, then close.
exec 3<>"/dev/tcp/$host/$GW_PORT"
printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n' >&3
start=$(date +%s%N)
reply=$(timeout 5 cat <&3 || true)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
exec 3<&-
assert_contains "$reply" "HTTP/1.1 408" "slow head answered 408"
assert_contains "$reply" "Connection: close" "408 closes the connection"
[ "$ms" -ge 800 ] && [ "$ms" -lt 4000 ] || fail "408 came after ${ms}ms, not ~1s"

# An idle keep-alive connection is closed after timeouts.idle.
exec 3<>"/dev/tcp/$host/$GW_PORT"
start=$(date +%s%N)
timeout 6 cat <&3 >/dev/null || fail "idle connection not closed within 6s"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
exec 3<&-
[ "$ms" -ge 1500 ] || fail "idle connection closed after ${ms}ms, before timeouts.idle"

# An upstream that accepts but never answers: 504 after upstream_response.
kill -STOP "$REG_PID"
http GET "$GW_URL/v2/" --max-time 5
kill -CONT "$REG_PID"
assert_eq 504 "$HTTP_STATUS" "stalled upstream answered 504"
assert_eq UNAVAILABLE "$(oci_error_code)" "504 carries an OCI UNAVAILABLE body"
wait_for 5 curl -sf "$GW_URL/healthz" || fail "healthz not back after SIGCONT"

# The connection limit: three idle connections fill the gateway; a fourth
# client is not served until one of them goes.
exec 3<>"/dev/tcp/$host/$GW_PORT" 4<>"/dev/tcp/$host/$GW_PORT" 5<>"/dev/tcp/$host/$GW_PORT"
sleep 0.3
rc=0
curl -s -o /dev/null --max-time 1 "$GW_URL/v2/" || rc=$?
assert_eq 28 "$rc" "a client beyond limits.max_connections waits (curl timeout)"
exec 3<&- 4<&- 5<&-
code=$(http_status GET "$GW_URL/v2/" --max-time 5)
assert_eq 200 "$code" "served again once connections closed"
grep -q '"connection limit reached' "$GW_LOG" || fail "limit not logged"

# SIGHUP with a broken config: refused as a whole, logged as valid JSON,
# the running config stays.
cp "$GW_CFG" "$TMP/good.json"
jq '.timeouts.header = "abc"' "$TMP/good.json" >"$GW_CFG"
kill -HUP "$GW_PID"
wait_for 5 grep -q 'reload refused' "$GW_LOG" || fail "bad reload not logged"
grep 'reload refused' "$GW_LOG" | jq -e '.error | test("timeouts.header")' \
    >/dev/null || fail "reload error is not JSON naming the key"
assert_eq 200 "$(http_status GET "$GW_URL/v2/")" "serving after a refused reload"

# SIGHUP with a changed public_url: upload Locations follow it at once.
jq '.public_url = "https://registry.example.test"' "$TMP/good.json" >"$GW_CFG"
kill -HUP "$GW_PID"
wait_for 5 grep -q '"msg":"reloaded"' "$GW_LOG" || fail "reload not logged"
loc=$(curl -s -D - -o /dev/null -X POST "$GW_URL/v2/r/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
assert_contains "$loc" "https://registry.example.test/v2/r/blobs/uploads/" \
    "Location follows the reloaded public_url"

log PASS
