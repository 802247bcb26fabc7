#!/usr/bin/env bash
# The Basic login cache: the slow hash runs once per login, a busy user's
# entry is renewed by one request while the others are served (no stall
# when it goes stale), and a deleted user is refused within cache_ttl.
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq

EXTRA=$(jq -n --arg key "$TMP/token.key" '{
  auth: {token: {key: $key}, cache_ttl: "2s"},
  policies: [{repository: "team/**", pull: ["*"]}]}')
auth_config_write "$EXTRA"
user_add carol 'carol pw' dev
start_registry
start_gateway "$EXTRA"

# slow: logins checked with the password hash so far (not from the cache).
slow() { metric regward_password_checks_total; }

assert_eq 200 "$(http_status GET "$GW_URL/v2/" -u 'carol:carol pw')" "first login"
base=$(slow)
# Four clients, steady, for about 6 s: a stale point of the 2 s entry every
# 2 s of wall-clock time, however long the loop really takes.
t0=$(date +%s)
pids=()
for c in 1 2 3 4; do
	(for i in $(seq 30); do
		curl -s -o /dev/null -u 'carol:carol pw' "$GW_URL/v2/"
		sleep 0.2
	done) &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
n=$(( $(slow) - base ))
secs=$(( $(date +%s) - t0 + 1 ))
# One re-check per stale point (secs / 2), never one per client (4 times
# that): the counter counts hashes run, so this is not a timing test.
max=$(( secs / 2 + 2 ))
[ "$n" -le "$max" ] || fail "$n password checks in ${secs}s while the login was cached (at most $max: one per stale point)"
log "ok: $n re-checks over ${secs}s of steady use"

# A deleted user stops working within cache_ttl, even under steady use.
"$REGWARD_BIN" user del carol -c "$GW_CFG" >/dev/null
end=$(( $(date +%s) + 8 ))
code=200
while [ "$(date +%s)" -lt "$end" ]; do
	code=$(http_status GET "$GW_URL/v2/" -u 'carol:carol pw')
	[ "$code" = 200 ] || break
	sleep 0.2
done
assert_eq 401 "$code" "a deleted user is refused once the entry is stale"

log PASS
