#!/bin/bash
# SIGTERM drains: the listener closes at once (new connections fail), the
# in-flight download completes with the right digest, and the gateway then
# exits 0 on its own (timeouts.drain 30s).
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl

start_registry
start_gateway '{"timeouts":{"drain":"30s"}}'
G=$GW_URL

random_file "$TMP/blob" 20m
D=$(push_blob test/drain "$TMP/blob")

# ~5 s at 4 MiB/s
curl -s --limit-rate 4M -o "$TMP/slow" "$G/v2/test/drain/blobs/$D" \
    2>"$TMP/slow.err" &
SLOW=$!
track "$SLOW"
sleep 1
kill -0 "$SLOW" 2>/dev/null || fail "download finished before SIGTERM"

T0=$(date +%s)
kill -TERM "$GW_PID"
sleep 0.5

# The listener is closed: a new connection is refused (or at least gets
# no answer) while the download is still running.
kill -0 "$SLOW" 2>/dev/null || fail "download finished before the listener check"
RC=0
ST=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$G/v2/") || RC=$?
[ "$RC" != 0 ] || fail "new request after SIGTERM was answered ($ST)"
[ "$RC" = 7 ] || log "note: new connection after SIGTERM: curl exit $RC (7 = refused)"

RC=0
wait "$SLOW" || RC=$?
assert_eq 0 "$RC" "curl exit of the download in flight at SIGTERM"
assert_file_digest "$TMP/slow" "$D"

# The gateway exits by itself, with status 0, once the download is done.
GW_RC=""
for i in $(seq 100); do
	if ! kill -0 "$GW_PID" 2>/dev/null; then
		GW_RC=0
		wait "$GW_PID" || GW_RC=$?
		break
	fi
	sleep 0.1
done
[ -n "$GW_RC" ] || fail "gateway still running 10s after its last connection ended"
assert_eq 0 "$GW_RC" "gateway exit status after SIGTERM"
T1=$(date +%s)
[ $((T1 - T0)) -lt 30 ] || fail "drain took $((T1 - T0))s, more than the transfer"
GW_PID=""

exit 0
