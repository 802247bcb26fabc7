#!/bin/bash
# auth.oidc[].jwks_url (issue 3): the issuer's JWK Set fetched over HTTP
# (here http://127.0.0.1, allowed for tests) by the gateway's fetcher
# thread. A local HTTP server (python3 http.server, stopped by PID) serves
# a JWKS we write ourselves, and its access log counts the fetches:
#   - server down at start: logins via the issuer refused with a reason,
#     then accepted once the server is up (retry with backoff);
#   - a push with an ID token verified through the fetched JWKS;
#   - key rotation: a token with the new kid is refused once (it triggers
#     the refetch) and accepted right after;
#   - tokens with random kids trigger at most one fetch per
#     jwks_refetch_interval, however many arrive;
#   - server gone: the last good key set is kept.
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq openssl basenc perl python3 sha256sum gzip tar

ISS=https://token.actions.githubusercontent.com
REFETCH=3 # seconds between kid-driven fetches (default 30)
SRV_DIR="$TMP/jwks-srv"
SRV_LOG="$TMP/jwks-server.log"
SRV_PID=""
SRV_PORT=$(free_port)
JWKS_URL="http://127.0.0.1:$SRV_PORT/jwks.json"
mkdir -p "$SRV_DIR"

# srv_start: serve $SRV_DIR on 127.0.0.1:$SRV_PORT.
srv_start()
{
	python3 -u -m http.server --bind 127.0.0.1 --directory "$SRV_DIR" \
	    "$SRV_PORT" >>"$SRV_LOG" 2>&1 &
	SRV_PID=$!
	track "$SRV_PID"
	wait_for 10 curl -sf -o /dev/null "$JWKS_URL" ||
	    fail "JWKS server did not come up on port $SRV_PORT"
	log "JWKS server pid $SRV_PID at $JWKS_URL"
}

srv_stop()
{
	stop_pid "$SRV_PID" || true
	SRV_PID=""
}

# fetches: GETs of the JWKS the server logged so far.
fetches()
{
	if [ -f "$SRV_LOG" ]; then
		grep -c '"GET /jwks.json' "$SRV_LOG" || true
	else
		echo 0
	fi
}

# publish DIR...: atomically serve the JWKS of those keys.
publish()
{
	jwks_write "$SRV_DIR/.jwks.tmp" "$@"
	mv "$SRV_DIR/.jwks.tmp" "$SRV_DIR/jwks.json"
}

# id_token KEY_DIR KID: an RS256 ID token with matching claims.
id_token()
{
	local now pl
	now=$(date +%s)
	pl=$(jq -c -n --arg iss "$ISS" --argjson now "$now" \
	    '{iss: $iss, aud: "regward", sub: "repo:acme/app:ref:refs/heads/main",
	      repository: "acme/app", ref: "refs/heads/main",
	      jti: "id-\(now)", iat: $now, nbf: $now, exp: ($now + 300)}')
	jwt_rs256 "$1/key.pem" \
	    "$(jq -c -n --arg kid "$2" '{alg: "RS256", typ: "JWT", kid: $kid}')" \
	    "$pl"
}

# try_push TOKEN: start an upload with the ID token as Basic password.
try_push() { http POST "$GW_URL/v2/team/jwks/blobs/uploads/" -u "ci:$1"; }

# gw_log_has TEXT: the gateway logged a line containing TEXT.
gw_log_has() { grep -qF -- "$1" "$GW_LOG"; }

EXTRA=$(jq -n --arg key "$TMP/token.key" --arg url "$JWKS_URL" \
    --arg iss "$ISS" --argjson re "$REFETCH" '{
  auth: {
    token: {key: $key},
    # Each ID token below is a new login: no cache, no throttle.
    cache_ttl: 0,
    throttle: {failures: 1000, ip_failures: 100000},
    oidc: [{name: "github", issuer: $iss, audience: "regward",
            jwks_url: $url, jwks_refetch_interval: $re,
            claims: {repository: "acme/*", ref: "refs/heads/main"},
            principal: "repo:{repository}", roles: ["ci"]}]
  },
  policies: [{repository: "team/**", pull: ["*"], push: ["role:ci"]}]}')

rsa_jwk_make "$TMP/k1" key-1
rsa_jwk_make "$TMP/k2" key-2
rsa_jwk_make "$TMP/rogue" key-1
publish "$TMP/k1"
make_oci_image "$TMP/img" 1k 2k

auth_config_write "$EXTRA"
"$REGWARD_BIN" check -c "$GW_CFG" >"$TMP/check.out" 2>&1 ||
    fail "regward check refused a jwks_url config: $(cat "$TMP/check.out")"
assert_eq 0 "$(fetches)" "fetches by regward check"
log "ok: regward check accepts jwks_url without fetching"

# ------------------------------------------------ server down at start
start_registry
start_gateway "$EXTRA"
wait_for 10 gw_log_has '"msg":"jwks fetch failed"' ||
    fail "no 'jwks fetch failed' logged with the JWKS server down"
T1=$(id_token "$TMP/k1" key-1)
try_push "$T1"
assert_eq 401 "$HTTP_STATUS" "login before any JWKS was fetched"
assert_last_reason "oidc unknown_kid: provider github: no JWKS yet" \
    "login before any JWKS was fetched"
assert_last_reason "last fetch: GET $JWKS_URL: " "reason names the fetch error"
assert_eq 0 "$(reg_writes team/jwks)" "registry writes while refused"
log "ok: JWKS server down at start: login refused with the fetch error"

srv_start
wait_for 40 gw_log_has '"msg":"jwks fetched"' ||
    fail "the gateway did not fetch the JWKS once the server was up"
grep '"msg":"jwks fetched"' "$GW_LOG" | tail -n 1 | jq -e \
    --arg url "$JWKS_URL" '.provider == "github" and .url == $url and
    .keys == 1 and .refresh_in == 3600' >/dev/null ||
    fail "jwks fetched log line: $(grep '"msg":"jwks fetched"' "$GW_LOG" | tail -n 1)"
log "ok: JWKS fetched after the server came up ($(fetches) fetch(es))"

# ------------------------------------------------ push through jwks_url
auth_push_image "$TMP/img" team/jwks v1 -u "ci:$(id_token "$TMP/k1" key-1)"
assert_eq 200 "$(reg_status HEAD "/v2/team/jwks/manifests/v1" \
    -H "Accept: $MT_OCI_MANIFEST")" "push with an ID token via jwks_url"
try_push "$(jwt_rs256 "$TMP/rogue/key.pem" '{"alg":"RS256","kid":"key-1"}' \
    "$(jwt_payload "$T1")")"
assert_eq 401 "$HTTP_STATUS" "another key under the served kid"
assert_last_reason "oidc bad_signature" "another key under the served kid"
log "ok: ID token verified against the fetched JWKS pushed team/jwks:v1"

# ------------------------------------------------ rotation
publish "$TMP/k1" "$TMP/k2"
sleep "$REFETCH" # past the refetch interval since the last fetch
N0=$(fetches)
T2=$(id_token "$TMP/k2" key-2)
try_push "$T2"
assert_eq 401 "$HTTP_STATUS" "new kid before the refetch"
assert_last_reason "oidc unknown_kid: provider github: no key for kid key-2; refetching the JWKS" \
    "new kid triggers a refetch"
ok=0
for _ in $(seq 50); do
	try_push "$(id_token "$TMP/k2" key-2)"
	if [ "$HTTP_STATUS" = 202 ]; then
		ok=1
		break
	fi
	sleep 0.1
done
[ "$ok" = 1 ] || fail "token with the rotated-in kid still refused: $HTTP_STATUS $(oci_error_text)"
assert_eq $((N0 + 1)) "$(fetches)" "fetches for the rotation"
try_push "$(id_token "$TMP/k1" key-1)"
assert_eq 202 "$HTTP_STATUS" "the old kid, still published, still works"
log "ok: key rotation: new kid accepted after one on-demand refetch"

# ------------------------------------------------ random kids
SPRAY=()
for i in $(seq 30); do SPRAY+=("$(id_token "$TMP/k1" "spray-$i-$RANDOM")"); done
sleep "$REFETCH"
N0=$(fetches)
START=$(date +%s)
for i in $(seq 30); do
	try_push "${SPRAY[$((i - 1))]}"
	assert_eq 401 "$HTTP_STATUS" "random kid $i"
done
END=$(date +%s)
sleep 1 # let a fetch in flight reach the server's log
ALLOWED=$(((END - START) / REFETCH + 1))
GOT=$(($(fetches) - N0))
[ "$GOT" -ge 1 ] || fail "random kids triggered no refetch at all"
[ "$GOT" -le "$ALLOWED" ] ||
    fail "30 random kids in $((END - START))s made $GOT fetches (at most $ALLOWED allowed)"
assert_last_reason "oidc unknown_kid: provider github: no key for kid spray-30-" \
    "random kid refused"
grep '"msg":"request"' "$GW_LOG" | grep -q 'at most once per 3s on unknown kids' ||
    fail "no refusal names the refetch rate limit"
log "ok: 30 random kids in $((END - START))s: $GOT fetch(es), at most $ALLOWED allowed"

# ------------------------------------------------ server gone
srv_stop
sleep "$REFETCH"
NFAIL=$(grep -c '"msg":"jwks fetch failed"' "$GW_LOG")
try_push "$(id_token "$TMP/k1" "gone-$RANDOM")"
assert_eq 401 "$HTTP_STATUS" "unknown kid with the server gone"
nfail() { test "$(grep -c '"msg":"jwks fetch failed"' "$GW_LOG")" -gt "$NFAIL"; }
wait_for 15 nfail ||
    fail "no failed refetch logged with the server gone"
grep '"msg":"jwks fetch failed"' "$GW_LOG" | tail -n 1 |
    jq -e '.keeping == 2 and .retry_in >= 1' >/dev/null ||
    fail "failed refetch log: $(grep '"msg":"jwks fetch failed"' "$GW_LOG" | tail -n 1)"
try_push "$(id_token "$TMP/k2" key-2)"
assert_eq 202 "$HTTP_STATUS" "last good key set kept when a refetch fails"
log "ok: JWKS server gone: last good key set kept"

stop_gateway || fail "gateway exited with an error"
