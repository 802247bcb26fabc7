#!/bin/bash
# Failed logins are throttled (issue 3, docs/auth.md auth.throttle): after
# `failures` failed logins for one user name, or `ip_failures` from one
# client address, within `window`, further logins for that name or from
# that address get 429 TOOMANYREQUESTS with Retry-After, even with the
# right password, until the window ends; other names and addresses are not
# affected. Clients use 127.0.0.1, .2 and .3 as source addresses (the
# gateway itself listens on 127.0.0.1 only).
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq

WINDOW=10 # long enough for a loaded machine, short enough to wait out
EXTRA=$(jq -n --arg key "$TMP/token.key" --argjson w "$WINDOW" '{
  auth: {token: {key: $key}, throttle: {failures: 3, ip_failures: 6,
         window: "\($w)s"}},
  policies: [{repository: "team/**", pull: ["*"]}]}')

auth_config_write "$EXTRA"
user_add alice 'alice pw' dev
user_add bob 'bob pw' dev
start_registry
start_gateway "$EXTRA"
V2="$GW_URL/v2"
for ip in 127.0.0.2 127.0.0.3; do
	curl -s -o /dev/null --interface "$ip" "$V2/" ||
	    skip "cannot use $ip as a source address"
done

# throttled DESC CURL_ARGS...: GET /v2/ gets 429 TOOMANYREQUESTS with a
# Retry-After of 1..WINDOW seconds, and nothing reaches the registry.
throttled()
{
	local desc=$1 ra before
	shift
	before=$(reg_requests)
	http GET "$V2/team/app/tags/list" "$@"
	assert_eq 429 "$HTTP_STATUS" "$desc"
	assert_oci_code "$desc" TOOMANYREQUESTS
	ra=$(hdr Retry-After)
	if ! [[ $ra =~ ^[0-9]+$ ]] || [ "$ra" -lt 1 ] || [ "$ra" -gt "$WINDOW" ]; then
		fail "$desc: Retry-After '$ra', want 1..$WINDOW"
	fi
	assert_eq "$before" "$(reg_requests)" "$desc: requests upstream"
	log "ok: $desc -> 429, Retry-After $ra"
}

# Per user name: three wrong passwords for alice from 127.0.0.1.
for i in 1 2 3; do
	http GET "$V2/" -u 'alice:wrong'
	assert_eq 401 "$HTTP_STATUS" "alice's wrong password #$i"
done
throttled "alice's right password after 3 failures" -u 'alice:alice pw'
throttled "alice's right password from another address" -u 'alice:alice pw' \
    --interface 127.0.0.2
fetch_token 'alice:alice pw' 'repository:team/app:pull'
assert_eq 429 "$HTTP_STATUS" "/token for alice while throttled"
assert_eq "" "$TOKEN" "/token for alice while throttled"
http GET "$V2/" -u 'bob:bob pw'
assert_eq 200 "$HTTP_STATUS" "bob from the same address (3 < ip_failures)"
http GET "$V2/team/app/tags/list"
assert_eq 401 "$HTTP_STATUS" "anonymous request while alice is throttled"

# Per address: six failures from 127.0.0.3, each for another name.
for i in 1 2 3 4 5 6; do
	http GET "$V2/" -u "nobody$i:wrong" --interface 127.0.0.3
	assert_eq 401 "$HTTP_STATUS" "unknown user nobody$i from 127.0.0.3"
done
throttled "bob's right password from 127.0.0.3 after 6 failures there" \
    -u 'bob:bob pw' --interface 127.0.0.3
http GET "$V2/" -u 'bob:bob pw' --interface 127.0.0.2
assert_eq 200 "$HTTP_STATUS" "bob from 127.0.0.2"

# The window ends: alice and 127.0.0.3 may log in again.
sleep $((WINDOW + 1))
http GET "$V2/" -u 'alice:alice pw'
assert_eq 200 "$HTTP_STATUS" "alice after the window"
http GET "$V2/" -u 'bob:bob pw' --interface 127.0.0.3
assert_eq 200 "$HTTP_STATUS" "bob from 127.0.0.3 after the window"
assert_not_contains "$(cat "$GW_LOG")" "alice pw" "gateway log (password)"
log "ok: throttling windows end"

exit 0
