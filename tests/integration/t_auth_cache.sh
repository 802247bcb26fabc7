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

# slow N: requests of carol's that took over 40 ms (a yescrypt check).
slow()
{
	jq -R 'fromjson? | select(.msg == "request" and .principal == "user:carol"
	    and .ms > 40) | .ms' "$GW_LOG" | wc -l
}

assert_eq 200 "$(http_status GET "$GW_URL/v2/" -u 'carol:carol pw')" "first login"
base=$(slow)
# Four clients, steady, for 6 s: three stale points of the 2 s entry.
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
# One re-check per stale point (about 3), never one per client (12+).
[ "$n" -le 5 ] || fail "$n requests waited for a hash while the login was cached"
log "ok: $n re-checks over 6 s of steady use"

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
