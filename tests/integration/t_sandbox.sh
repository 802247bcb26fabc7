#!/usr/bin/env bash
# The gateway sandboxes itself (gateway/sandbox.c) and `regward health`:
#   - sandbox_probe: the daemon's filter refuses calls outside its table
#     (EPERM) on every thread, allows those in it
#   - no regward process had a call refused while this test ran (the
#     kernel's audit lines in dmesg, when dmesg is readable)
#   - a default gateway runs with no_new_privs and its seccomp filter
#     (every other integration test runs that way too), serves, reloads on
#     SIGHUP and stops cleanly; "seccomp": false leaves the filter off
#   - as root with "sandbox": {"user": "nobody"}: every id is nobody's, no
#     supplementary groups, and it still serves
#   - regward health: 0 on 200 (plain and TLS, -c and --url), 1 when
#     /healthz says the upstream is gone, 0 with --live
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq

probe=$(dirname "$REGWARD_BIN")/../tests/sandbox_probe
[ -x "$probe" ] || fail "no sandbox_probe next to the build ($probe)"

# refusals: regward's refused system calls the kernel logged so far
# (type=1326 audit lines), or "" when dmesg is not readable.
refusals()
{
	dmesg 2>/dev/null | grep 'type=1326' | grep 'comm="regward"' |
	    grep -o 'syscall=[0-9]*' | wc -l || true
}
dmesg >/dev/null 2>&1 && refused_before=$(refusals) || refused_before=""

# proc_field PID NAME: the value of NAME: in /proc/PID/status.
proc_field() { awk -v n="$2:" '$1 == n { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# --- the filter itself
"$probe" >"$TMP/probe.out" 2>"$TMP/probe.err" || {
	cat "$TMP/probe.out" "$TMP/probe.err" >&2
	fail "sandbox_probe reported failures"
}
assert_contains "$(cat "$TMP/probe.out")" "0 failures" "probe summary"
assert_contains "$(cat "$TMP/probe.out")" "thread: uname() refused" "probe on the early thread"
log "ok: calls outside the table fail with EPERM on every thread"

# --- a default gateway: filter on (said explicitly, so that the test
# holds under REGWARD_SECCOMP=0 too: deploy/seccomp/derive.sh)
start_registry
start_gateway '{"sandbox": {"seccomp": true}}'
[ "$(proc_field "$GW_PID" Seccomp)" = 2 ] || fail "gateway Seccomp: $(proc_field "$GW_PID" Seccomp), want 2 (filter)"
[ "$(proc_field "$GW_PID" NoNewPrivs)" = 1 ] || fail "gateway NoNewPrivs is not 1"
for task in /proc/"$GW_PID"/task/*; do
	[ "$(awk '$1 == "Seccomp:" { print $2 }' "$task/status")" = 2 ] ||
	    fail "thread $(basename "$task") runs without the filter"
done
wait_for 5 grep -q '"msg":"sandboxed".*"seccomp":true' "$GW_LOG" ||
    fail "no sandboxed log line"
random_file "$TMP/blob" 3
dgst=$(push_blob sandbox/one "$TMP/blob")
http GET "$GW_URL/v2/sandbox/one/blobs/$dgst"
assert_eq 200 "$HTTP_STATUS" "blob GET through the sandboxed gateway"
assert_file_digest "$TMP/b" "$dgst"
kill -HUP "$GW_PID"
wait_for 5 grep -q '"msg":"reloaded"' "$GW_LOG" || fail "SIGHUP reload failed under the filter"
log "ok: default gateway filtered on every thread, serves, reloads"

# --- regward health
out=$("$REGWARD_BIN" health -c "$GW_CFG") || fail "health -c: $out"
assert_contains "$out" ": 200" "health output"
"$REGWARD_BIN" health --url "$GW_URL" >/dev/null || fail "health --url $GW_URL"
"$REGWARD_BIN" health --url "$GW_URL/healthz" --timeout 2 >/dev/null ||
    fail "health --url with path"
rc=0
"$REGWARD_BIN" health --url "http://127.0.0.1:$(free_port)" 2>/dev/null || rc=$?
assert_eq 1 "$rc" "health against a closed port"
rc=0
"$REGWARD_BIN" health 2>/dev/null || rc=$?
assert_eq 2 "$rc" "health without -c or --url"
stop_registry
rc=0
"$REGWARD_BIN" health -c "$GW_CFG" 2>"$TMP/health.err" || rc=$?
assert_eq 1 "$rc" "health with the upstream gone"
assert_contains "$(cat "$TMP/health.err")" "status 50" "health names the status"
"$REGWARD_BIN" health --live -c "$GW_CFG" >/dev/null ||
    fail "health --live must pass while the gateway answers"
start_registry
rc=0
stop_gateway || rc=$?
assert_eq 0 "$rc" "sandboxed gateway exit status on SIGTERM"
log "ok: regward health (plain), clean exit under the filter"

start_gateway_tls '{"sandbox": {"seccomp": true}}'
"$REGWARD_BIN" health -c "$GW_CFG" >/dev/null || fail "health -c over TLS"
"$REGWARD_BIN" health --url "$GW_URL" >/dev/null || fail "health --url https"
stop_gateway
log "ok: regward health over TLS"

# --- filter off
start_gateway '{"sandbox": {"seccomp": false}}'
[ "$(proc_field "$GW_PID" Seccomp)" = 0 ] || fail "seccomp: false still filtered"
[ "$(proc_field "$GW_PID" NoNewPrivs)" = 1 ] || fail "no_new_privs not set with seccomp off"
stop_gateway
log "ok: \"seccomp\": false leaves the filter off"

# --- privilege drop
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	uid=$(id -u nobody)
	"$probe" --drop nobody >"$TMP/probe2.out" 2>&1 || {
		cat "$TMP/probe2.out" >&2
		fail "sandbox_probe --drop nobody"
	}
	# nobody must read the config on SIGHUP and write the database.
	chmod 755 "$TMP"
	start_gateway '{"sandbox": {"user": "nobody", "seccomp": true}}'
	read -r r e s f < <(proc_field "$GW_PID" Uid)
	[ "$r $e $s $f" = "$uid $uid $uid $uid" ] || fail "Uid: $r $e $s $f, want $uid everywhere"
	[ -z "$(proc_field "$GW_PID" Groups)" ] || fail "supplementary groups kept: $(proc_field "$GW_PID" Groups)"
	[ "$(proc_field "$GW_PID" CapEff)" = 0000000000000000 ] || fail "capabilities kept"
	for task in /proc/"$GW_PID"/task/*; do
		[ "$(awk '$1 == "Uid:" { print $2 }' "$task/status")" = "$uid" ] ||
		    fail "thread $(basename "$task") still runs as another uid"
	done
	dgst=$(push_blob sandbox/two "$TMP/blob")
	assert_eq 200 "$(http_status GET "$GW_URL/v2/sandbox/two/blobs/$dgst")" "blob GET as nobody"
	rc=0
	stop_gateway || rc=$?
	assert_eq 0 "$rc" "exit status after the privilege drop"
	log "ok: root-started gateway runs as nobody on every thread"
else
	log "not root (or no user nobody): privilege drop not tested"
fi

if [ -n "$refused_before" ]; then
	after=$(refusals)
	[ "$after" = "$refused_before" ] || fail "the kernel logged $((after - refused_before)) refused system calls of regward: $(dmesg | grep 'type=1326' | grep 'comm="regward"' | grep -o 'syscall=[0-9]*' | sort | uniq -c | tr '\n' ' ')"
	log "ok: no refused system call of regward in the kernel log"
else
	log "dmesg not readable: refused calls not checked"
fi
