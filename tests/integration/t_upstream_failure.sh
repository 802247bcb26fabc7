#!/bin/bash
# Upstream failures: registry down (503 UNAVAILABLE, /healthz 503, recovery
# when it returns), registry killed in the middle of a blob download (the
# client sees a failed transfer, never a short "success"), and a client
# that disconnects mid-upload (the gateway stays healthy, frees the
# connection, and serves the next upload).
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq

FAIL_MB=${REGWARD_FAIL_MB:-200}

start_registry
start_gateway
G=$GW_URL
PORT=$REG_PORT

# wait_status SECS WANT METHOD URL: poll until the status is WANT.
wait_status()
{
	local secs=$1 want=$2 m=$3 u=$4 i st=""
	for i in $(seq $((secs * 10))); do
		st=$(http_status "$m" "$u" --max-time 2)
		[ "$st" = "$want" ] && return 0
		sleep 0.1
	done
	fail "$m $u: status $st, waited ${secs}s for $want"
}

assert_eq 200 "$(http_status GET "$G/v2/")" "GET /v2/ with the registry up"
assert_eq 200 "$(http_status GET "$G/healthz")" "/healthz with the registry up"

# ---- (a) registry stopped, then back on the same port
log "(a) registry stopped"
stop_registry
http GET "$G/v2/" --max-time 20
assert_eq 503 "$HTTP_STATUS" "GET /v2/ with the registry down"
assert_eq UNAVAILABLE "$(oci_error_code)" "error code with the registry down"
http GET "$G/v2/test/a/manifests/latest" --max-time 20
assert_eq 503 "$HTTP_STATUS" "GET manifest with the registry down"
assert_eq UNAVAILABLE "$(oci_error_code)" "error code of manifest GET, registry down"
wait_status 10 503 GET "$G/healthz"

start_registry "$PORT"
assert_eq "$PORT" "$REG_PORT" "registry port after restart"
wait_status 10 200 GET "$G/v2/"
wait_status 10 200 GET "$G/healthz"

# ---- (b) registry killed in the middle of a blob download
log "(b) registry killed during a ${FAIL_MB} MiB download"
random_file "$TMP/big" "${FAIL_MB}m"
D=$(push_blob test/fail "$TMP/big" "$REG_URL")
SIZE=$(file_size "$TMP/big")

curl -s -o "$TMP/dl" --limit-rate 5M --speed-limit 1 --speed-time 15 \
    "$G/v2/test/fail/blobs/$D" 2>"$TMP/dl.err" &
CPID=$!
track "$CPID"
sleep 1.5
kill -0 "$CPID" 2>/dev/null || fail "download finished before the registry was killed"
kill9_registry
RC=0
wait "$CPID" || RC=$?
GOT=$(file_size "$TMP/dl")
log "curl exit $RC after $GOT of $SIZE bytes"
[ "$RC" != 0 ] || fail "download reported success after the registry died ($GOT of $SIZE bytes)"
[ "$RC" != 28 ] ||
    fail "gateway kept the client connection open with no data after the registry died (curl stalled 15s, exit 28)"
[ "$GOT" -lt "$SIZE" ] || fail "got all $SIZE bytes although the registry was killed"

kill -0 "$GW_PID" 2>/dev/null || fail "gateway died with the registry"
wait_status 10 503 GET "$G/healthz"

start_registry "$PORT"
wait_status 10 200 GET "$G/healthz"
http GET "$G/v2/test/fail/blobs/$D" --max-time 120
assert_eq 200 "$HTTP_STATUS" "download after the registry restarted"
assert_file_digest "$TMP/b" "$D"
rm -f "$TMP/b" "$TMP/dl"

# ---- (c) client disconnects in the middle of an upload
log "(c) client disconnects mid-upload"
IDLE=$(metric regward_connections_open)
[ "$IDLE" != missing ] || fail "/metrics has no regward_connections_open"

http POST "$G/v2/test/abort/blobs/uploads/"
assert_eq 202 "$HTTP_STATUS" "POST upload"
LOC=$(abs_url "$(hdr Location)")
curl -s -o /dev/null -X PATCH -T "$TMP/big" --limit-rate 2M \
    -H 'Content-Type: application/octet-stream' "$LOC" 2>/dev/null &
CPID=$!
track "$CPID"
sleep 1
kill -0 "$CPID" 2>/dev/null || fail "upload ended before the client was killed"
BUSY=$(metric regward_connections_open)
log "connections open: idle $IDLE, during upload $BUSY"
[ "$BUSY" -gt "$IDLE" ] 2>/dev/null ||
    fail "regward_connections_open did not count the upload ($BUSY, idle $IDLE)"
kill -TERM "$CPID"
wait "$CPID" 2>/dev/null || true

assert_eq 200 "$(http_status GET "$G/healthz" --max-time 5)" "/healthz after client abort"
OPEN=""
for i in $(seq 50); do
	OPEN=$(metric regward_connections_open)
	[ "$OPEN" = "$IDLE" ] && break
	sleep 0.1
done
assert_eq "$IDLE" "$OPEN" "regward_connections_open 5s after the client left"

random_file "$TMP/small" 10m
D2=$(push_blob test/abort "$TMP/small")
http GET "$G/v2/test/abort/blobs/$D2"
assert_eq 200 "$HTTP_STATUS" "GET blob uploaded after the abort"
assert_file_digest "$TMP/b" "$D2"

exit 0
