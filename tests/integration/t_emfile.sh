#!/usr/bin/env bash
# Out of file descriptors: accept pauses instead of spinning on a readable
# listener, the connections already open keep working, and the gateway
# serves again once descriptors are free.
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd prlimit

start_registry
start_gateway
host=127.0.0.1

# Few descriptors: stdio, epoll, listener, log, database, a pool connection.
used=$(ls /proc/"$GW_PID"/fd | wc -l)
prlimit --pid "$GW_PID" --nofile=$((used + 6)):$((used + 6))

# A keep-alive connection opened now must keep working throughout.
exec 9<>"/dev/tcp/$host/$GW_PORT"
printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n' >&9
IFS= read -r -t 5 status <&9 || fail "first request on the kept connection"
assert_contains "$status" "200" "kept connection works"

# Exhaust the descriptors with idle connections.
for fd in 10 11 12 13 14 15 16 17 18 19; do
	eval "exec $fd<>/dev/tcp/$host/$GW_PORT"
done
sleep 1
wait_for 5 grep -q '"accept failed, pausing"' "$GW_LOG" ||
    fail "EMFILE not logged"

# Paused, not spinning: under a tenth of a CPU second over two seconds.
t0=$(awk '{print $14 + $15}' /proc/"$GW_PID"/stat)
sleep 2
t1=$(awk '{print $14 + $15}' /proc/"$GW_PID"/stat)
[ $((t1 - t0)) -le 10 ] || fail "gateway burned $((t1 - t0)) ticks while out of descriptors"

# Drain the rest of the response on 9 (body "{}"), then reuse it.
timeout 2 cat <&9 >/dev/null || true
exec 9<&- 9>&-
for fd in 10 11 12 13 14 15 16 17 18 19; do eval "exec $fd<&- $fd>&-"; done
wait_for 10 curl -sf -o /dev/null --max-time 1 "$GW_URL/v2/" ||
    fail "gateway does not serve again after descriptors were freed"
kill -0 "$GW_PID" || fail "gateway died"

log PASS
