#!/bin/bash
# Authentication and push rules (issue 3), the flows a user sees: the 401
# challenge, Basic for users and robots, the /token endpoint and Bearer
# tokens, skopeo through the token flow, a reader's push refused with 403
# DENIED before anything reaches the registry, a CI robot's push accepted,
# and a CI job pushing with its OIDC ID token (minted here with our own
# RSA key and JWKS) accepted when the claims match and refused when not.
# Attack cases are in t_auth_attacks.sh.
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq openssl basenc perl skopeo sha256sum gzip tar

ISS=https://token.actions.githubusercontent.com
EXTRA=$(jq -n --arg key "$TMP/token.key" --arg jwks "$TMP/jwks.json" \
    --arg iss "$ISS" '{
  auth: {
    token: {key: $key, ttl: "5m"},
    cache_ttl: "60s",
    # A few wrong passwords on purpose; throttling has its own test.
    throttle: {failures: 1000, ip_failures: 100000},
    oidc: [{name: "github", issuer: $iss, audience: "regward",
            jwks_file: $jwks,
            claims: {repository: "acme/*", ref: "refs/heads/main"},
            principal: "repo:{repository}:ref:{ref}", roles: ["ci"]}]
  },
  policies: [
    {repository: "team/**", pull: ["*"], push: ["role:ci"],
     delete: ["role:admin"]},
    {repository: "public/*", pull: ["anonymous", "*"], push: ["role:ci"]},
    {repository: "main/only", pull: ["*"],
     push: ["ci:repo:acme/app:ref:refs/heads/main"]}
  ]}')

rsa_jwk_make "$TMP/oidc" gh-key-1
jwks_write "$TMP/jwks.json" "$TMP/oidc"

auth_config_write "$EXTRA"
user_add alice 'alice pw' dev
user_add carol 'carol pw' ci
user_add root 'root pw' admin
BOT=$(robot_add ci-bot ci)
[ -n "$BOT" ] || fail "robot add printed no secret"
ALICE=(-u 'alice:alice pw')
CAROL=(-u 'carol:carol pw')
ROOT=(-u 'root:root pw')
ROBOT=(-u "robot\$ci-bot:$BOT")

start_registry
start_gateway "$EXTRA"
SERVICE=$(gw_service)
V2="$GW_URL/v2"

# --------------------------------------------------------- signing key
[ -s "$TMP/token.key" ] || fail "auth.token.key was not created on first start"
assert_eq 600 "$(stat -c %a "$TMP/token.key")" "mode of the created token key"
grep -q 'BEGIN .*PRIVATE KEY' "$TMP/token.key" || fail "token key is not a PEM key"
assert_not_contains "$(cat "$GW_LOG")" "$(sed -n 2p "$TMP/token.key")" \
    "gateway log (key bytes)"

# --------------------------------------------------------- /v2/ and Basic
http GET "$V2/"
assert_eq 401 "$HTTP_STATUS" "GET /v2/ without credentials"
assert_oci_code "GET /v2/ without credentials" UNAUTHORIZED
assert_eq "Bearer realm=\"$GW_URL/token\",service=\"$SERVICE\"" \
    "$(hdr WWW-Authenticate)" "challenge on /v2/"

http GET "$V2/" "${ALICE[@]}"
assert_eq 200 "$HTTP_STATUS" "GET /v2/ with alice's password"
http GET "$V2/" -u 'alice:alice pw '
assert_eq 401 "$HTTP_STATUS" "GET /v2/ with a wrong password"
assert_oci_code "wrong password" UNAUTHORIZED
assert_contains "$(hdr WWW-Authenticate)" "realm=\"$GW_URL/token\"" \
    "challenge after a wrong password"
http GET "$V2/" -u 'nobody:alice pw'
assert_eq 401 "$HTTP_STATUS" "GET /v2/ as an unknown user"
http GET "$V2/" "${ROBOT[@]}"
assert_eq 200 "$HTTP_STATUS" "GET /v2/ as robot\$ci-bot"
http GET "$V2/" -u "ci-bot:$BOT"
assert_eq 401 "$HTTP_STATUS" "robot secret under the plain user name ci-bot"
http GET "$V2/" -u "robot\$ci-bot:${BOT}x"
assert_eq 401 "$HTTP_STATUS" "robot with an altered secret"
assert_not_contains "$(cat "$GW_LOG")" "$BOT" "gateway log (robot secret)"
assert_not_contains "$(cat "$GW_LOG")" "alice pw" "gateway log (password)"
log "ok: /v2/ challenge and Basic"

# --------------------------------------------------------- anonymous
http GET "$V2/team/app/tags/list"
assert_eq 401 "$HTTP_STATUS" "anonymous tags/list on team/app"
assert_oci_code "anonymous tags/list" UNAUTHORIZED
assert_eq "Bearer realm=\"$GW_URL/token\",service=\"$SERVICE\",scope=\"repository:team/app:pull\"" \
    "$(hdr WWW-Authenticate)" "challenge on a pull route"
http POST "$V2/team/app/blobs/uploads/"
assert_eq 401 "$HTTP_STATUS" "anonymous upload POST"
assert_oci_code "anonymous upload POST" UNAUTHORIZED
assert_contains "$(challenge_param scope)" "repository:team/app:" "push challenge scope"
assert_contains "$(challenge_param scope)" "push" "push challenge scope"
http GET "$V2/public/web/tags/list"
assert_eq 404 "$HTTP_STATUS" "anonymous pull of an empty public repository"
assert_oci_code "anonymous pull of public/web" NAME_UNKNOWN
assert_eq 0 "$(reg_writes team/app)" "anonymous writes that reached the registry"
log "ok: anonymous requests"

# --------------------------------------------------------- robot pushes, Basic
make_oci_image "$TMP/img1" 1k 3k
IMG1=$OCI_MANIFEST_DIGEST
auth_push_image "$TMP/img1" team/app v1 "${ROBOT[@]}"
assert_eq 200 "$(reg_status HEAD "/v2/team/app/manifests/$IMG1" -H "Accept: $MT_OCI_MANIFEST")" \
    "robot's manifest stored in the registry"
log "ok: robot\$ci-bot pushed team/app:v1 with Basic"

http GET "$V2/team/app/manifests/v1" "${ALICE[@]}" -H "Accept: $MT_OCI_MANIFEST"
assert_eq 200 "$HTTP_STATUS" "alice pulls team/app:v1"
assert_eq "$IMG1" "$(hdr Docker-Content-Digest)" "digest alice pulled"
cmp -s "$TMP/b" "$OCI_MANIFEST_FILE" || fail "manifest bytes alice pulled differ"
LAYER1=$(jq -r '.layers[0].digest' "$OCI_MANIFEST_FILE")
http GET "$V2/team/app/blobs/$LAYER1" "${ALICE[@]}" -L
assert_eq 200 "$HTTP_STATUS" "alice pulls a layer"
assert_file_digest "$TMP/b" "$LAYER1"
http GET "$V2/team/app/manifests/v1"
assert_eq 401 "$HTTP_STATUS" "anonymous pull of team/app:v1"

# carol is a CI user (password, role ci): may push too.
auth_push_image "$TMP/img1" team/carol v1 "${CAROL[@]}"
log "ok: carol (role ci) pushed with Basic"

# A public repository: anyone pulls, signed in or not.
auth_push_image "$TMP/img1" public/web v1 "${ROBOT[@]}"
http GET "$V2/public/web/manifests/v1" -H "Accept: $MT_OCI_MANIFEST"
assert_eq 200 "$HTTP_STATUS" "anonymous pull of public/web:v1"
http GET "$V2/public/web/manifests/v1" "${ALICE[@]}" -H "Accept: $MT_OCI_MANIFEST"
assert_eq 200 "$HTTP_STATUS" "alice pulls public/web:v1"

# --------------------------------------------------------- reader's push refused
random_file "$TMP/rblob" 5k
RDG=$(file_digest "$TMP/rblob")
http POST "$V2/team/reader/blobs/uploads/" "${ALICE[@]}"
assert_eq 403 "$HTTP_STATUS" "alice's upload POST"
assert_oci_code "alice's upload POST" DENIED
MSG=$(oci_error_text)
assert_contains "$MSG" "push" "DENIED message"
assert_contains "$MSG" "role:ci" "DENIED message"
assert_eq "" "$(hdr Location)" "Location on a refused POST"
http POST "$(with_query "$V2/team/reader/blobs/uploads/" "digest=$RDG")" \
    "${ALICE[@]}" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$TMP/rblob"
assert_eq 403 "$HTTP_STATUS" "alice's monolithic POST ?digest="
assert_oci_code "alice's monolithic POST" DENIED
http PUT "$V2/team/reader/manifests/v1" "${ALICE[@]}" \
    -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$OCI_MANIFEST_FILE"
assert_eq 403 "$HTTP_STATUS" "alice's manifest PUT to a new repository"
assert_oci_code "alice's manifest PUT" DENIED
# Moving an existing repository's tag: the blobs are there, still refused.
http PUT "$V2/team/app/manifests/alice" "${ALICE[@]}" \
    -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$OCI_MANIFEST_FILE"
assert_eq 403 "$HTTP_STATUS" "alice's manifest PUT to team/app:alice"
assert_oci_code "alice's manifest PUT to team/app" DENIED
http DELETE "$V2/team/app/manifests/$IMG1" "${ALICE[@]}"
assert_eq 403 "$HTTP_STATUS" "alice's manifest DELETE"
assert_oci_code "alice's DELETE" DENIED
http DELETE "$V2/team/app/manifests/$IMG1" "${CAROL[@]}"
assert_eq 403 "$HTTP_STATUS" "carol's (ci, not admin) manifest DELETE"
assert_contains "$(oci_error_text)" "delete" \
    "DENIED message for delete"

assert_eq 0 "$(reg_writes team/reader)" "alice's writes that reached the registry"
assert_eq 0 "$(grep -cE '"(PUT|DELETE) /v2/team/app/manifests/(alice|sha256)' "$REG_LOG" || true)" \
    "alice's team/app manifest writes in the registry log"
assert_eq 404 "$(reg_status HEAD "/v2/team/reader/blobs/$RDG")" \
    "alice's blob, asked of the registry directly"
assert_eq 404 "$(reg_status HEAD "/v2/team/reader/manifests/v1")" \
    "alice's manifest, asked of the registry directly"
assert_eq 404 "$(reg_status HEAD "/v2/team/app/manifests/alice")" \
    "team/app:alice, asked of the registry directly"
assert_eq 200 "$(reg_status HEAD "/v2/team/app/manifests/$IMG1" -H "Accept: $MT_OCI_MANIFEST")" \
    "team/app@IMG1 still in the registry after refused deletes"
log "ok: reader's push and delete refused with 403 DENIED, nothing upstream"

# --------------------------------------------------------- /token
fetch_token 'alice:alice pw' 'repository:team/app:pull,push'
assert_eq 200 "$HTTP_STATUS" "/token for alice"
T_ALICE=$TOKEN
[ -n "$T_ALICE" ] || fail "/token: no token in $(cat "$TMP/b")"
assert_eq "$T_ALICE" "$(jq -r .access_token "$TMP/b")" "token and access_token"
assert_eq 300 "$(jq -r .expires_in "$TMP/b")" "expires_in with ttl 5m"
[[ $(jq -r .issued_at "$TMP/b") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$ ]] ||
    fail "issued_at is not RFC 3339: $(jq -r .issued_at "$TMP/b")"
HDR=$(jwt_header "$T_ALICE")
assert_eq ES256 "$(jq -r .alg <<<"$HDR")" "token alg"
[ -n "$(jq -r '.kid // empty' <<<"$HDR")" ] || fail "token header has no kid: $HDR"
PL=$(jwt_payload "$T_ALICE")
assert_eq user:alice "$(jq -r .sub <<<"$PL")" "token sub"
assert_eq "$SERVICE" "$(jq -r 'if (.aud | type) == "array" then .aud[0] else .aud end' <<<"$PL")" "token aud"
[ -n "$(jq -r '.iss // empty' <<<"$PL")" ] || fail "token has no iss: $PL"
[ -n "$(jq -r '.jti // empty' <<<"$PL")" ] || fail "token has no jti: $PL"
assert_eq 300 "$(jq -r '.exp - .iat' <<<"$PL")" "token exp - iat"
NOW=$(date +%s)
[ "$(jq -r .nbf <<<"$PL")" -le $((NOW + 5)) ] || fail "token nbf in the future: $PL"
[ "$(jq -r .exp <<<"$PL")" -gt "$NOW" ] || fail "token already expired: $PL"
assert_eq pull "$(token_actions "$T_ALICE" team/app)" \
    "alice asked pull,push on team/app and got"

fetch_token 'alice:wrong' 'repository:team/app:pull'
assert_eq 401 "$HTTP_STATUS" "/token with a wrong password"
assert_eq "" "$TOKEN" "/token with a wrong password gives no token"

http GET "$V2/team/app/tags/list" -H "Authorization: Bearer $T_ALICE"
assert_eq 200 "$HTTP_STATUS" "alice's Bearer token: tags/list"
assert_eq '["v1"]' "$(jq -c .tags "$TMP/b")" "tags of team/app"
http HEAD "$V2/team/app/manifests/v1" -H "Authorization: Bearer $T_ALICE" \
    -H "Accept: $MT_OCI_MANIFEST"
assert_eq 200 "$HTTP_STATUS" "alice's Bearer token: HEAD manifest"
posts_before=$(reg_hits '"POST /v2/team/app/blobs/uploads/')
http POST "$V2/team/app/blobs/uploads/" -H "Authorization: Bearer $T_ALICE"
# alice may not push at all: 403, not a challenge for a better token.
assert_eq 403 "$HTTP_STATUS" "alice's pull-only token used to push"
assert_oci_code "alice's pull-only token used to push" DENIED
assert_eq "$posts_before" "$(reg_hits '"POST /v2/team/app/blobs/uploads/')" \
    "uploads started upstream by alice's pull-only token"

fetch_token "robot\$ci-bot:$BOT" 'repository:team/app:pull,push' \
    'repository:team/tok:pull,push'
assert_eq 200 "$HTTP_STATUS" "/token for the robot"
T_BOT=$TOKEN
assert_eq pull,push "$(token_actions "$T_BOT" team/app)" "robot's access to team/app"
assert_eq pull,push "$(token_actions "$T_BOT" team/tok)" "robot's access to team/tok (second scope)"
assert_eq robot:ci-bot "$(jwt_payload "$T_BOT" | jq -r .sub)" "robot token sub"
auth_push_image "$TMP/img1" team/tok v1 -H "Authorization: Bearer $T_BOT"
log "ok: robot pushed team/tok:v1 with a Bearer token"

fetch_token "" 'repository:public/web:pull'
assert_eq 200 "$HTTP_STATUS" "anonymous /token for public/web"
assert_eq pull "$(token_actions "$TOKEN" public/web)" "anonymous access to public/web"
http GET "$V2/public/web/tags/list" -H "Authorization: Bearer $TOKEN"
assert_eq 200 "$HTTP_STATUS" "anonymous Bearer token on public/web"
fetch_token "" 'repository:team/app:pull'
assert_eq 200 "$HTTP_STATUS" "anonymous /token for team/app"
assert_eq "" "$(jwt_payload "$TOKEN" | jq -r .sub)" "anonymous token sub"
assert_eq "" "$(token_actions "$TOKEN" team/app)" "anonymous access to team/app"
http GET "$V2/team/app/tags/list" -H "Authorization: Bearer $TOKEN"
assert_eq 401 "$HTTP_STATUS" "anonymous token without access on team/app"
log "ok: /token"

# --------------------------------------------------------- skopeo, token flow
export HOME="$TMP/home" XDG_RUNTIME_DIR="$TMP/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
SK=(skopeo --insecure-policy)
HOSTPORT=${GW_URL#http://}
make_oci_image "$TMP/img2" 2k 40k
IMG2=$OCI_MANIFEST_DIGEST
tok_before=$(grep -c '"path":"/token"' "$GW_LOG" || true)

"${SK[@]}" copy --retry-times 0 --preserve-digests --dest-tls-verify=false \
    --dest-creds "robot\$ci-bot:$BOT" "oci:$TMP/img2:v1" \
    "docker://$HOSTPORT/team/sk:v1" >"$TMP/sk-push.out" 2>&1 ||
    fail "skopeo push as robot\$ci-bot: $(tail -n 20 "$TMP/sk-push.out")"
assert_eq 200 "$(reg_status HEAD "/v2/team/sk/manifests/$IMG2" -H "Accept: $MT_OCI_MANIFEST")" \
    "skopeo's manifest in the registry"
tok_after=$(grep -c '"path":"/token"' "$GW_LOG" || true)
[ "$tok_after" -gt "$tok_before" ] ||
    fail "skopeo push: no /token request in the gateway log (token flow not used?)"

"${SK[@]}" copy --retry-times 0 --preserve-digests --src-tls-verify=false \
    --src-creds 'alice:alice pw' "docker://$HOSTPORT/team/sk:v1" \
    "oci:$TMP/sk-pull:v1" >"$TMP/sk-pull.out" 2>&1 ||
    fail "skopeo pull as alice: $(tail -n 20 "$TMP/sk-pull.out")"
assert_eq "$IMG2" "$(jq -r '.manifests[0].digest' "$TMP/sk-pull/index.json")" \
    "digest skopeo pulled"
for f in "$TMP"/sk-pull/blobs/sha256/*; do
	assert_file_digest "$f" "sha256:$(basename "$f")"
done

"${SK[@]}" copy --retry-times 0 --preserve-digests --dest-tls-verify=false \
    --dest-creds 'carol:carol pw' "oci:$TMP/img2:v1" \
    "docker://$HOSTPORT/team/sk-carol:v1" >"$TMP/sk-carol.out" 2>&1 ||
    fail "skopeo push as carol: $(tail -n 20 "$TMP/sk-carol.out")"

if "${SK[@]}" copy --retry-times 0 --dest-tls-verify=false \
    --dest-creds 'alice:alice pw' "oci:$TMP/img2:v1" \
    "docker://$HOSTPORT/team/sk-alice:v1" >"$TMP/sk-alice.out" 2>&1; then
	fail "skopeo push as alice (reader) succeeded"
fi
assert_eq 0 "$(reg_writes team/sk-alice)" "alice's skopeo writes in the registry"
assert_eq 404 "$(reg_status HEAD /v2/team/sk-alice/manifests/v1)" \
    "alice's skopeo manifest, asked of the registry"

if "${SK[@]}" inspect --tls-verify=false "docker://$HOSTPORT/team/sk:v1" \
    >"$TMP/sk-anon.out" 2>&1; then
	fail "anonymous skopeo inspect of team/sk:v1 succeeded"
fi
"${SK[@]}" inspect --tls-verify=false "docker://$HOSTPORT/public/web:v1" \
    >"$TMP/sk-pub.json" 2>"$TMP/sk-pub.err" ||
    fail "anonymous skopeo inspect of public/web:v1: $(cat "$TMP/sk-pub.err")"
log "ok: skopeo through the token flow"

# --------------------------------------------------------- OIDC ID tokens
# mint_id CLAIMS_JQ: an RS256 ID token from our key with GitHub-like
# claims, modified by the jq expression CLAIMS_JQ.
mint_id()
{
	local now pl
	now=$(date +%s)
	pl=$(jq -c -n --arg iss "$ISS" --argjson now "$now" \
	    '{iss: $iss, aud: "regward", sub: "repo:acme/app:ref:refs/heads/main",
	      repository: "acme/app", repository_owner: "acme",
	      ref: "refs/heads/main", sha: "0123456789abcdef0123456789abcdef01234567",
	      workflow: "build", jti: "id-\($now)-\(now)",
	      iat: $now, nbf: $now, exp: ($now + 300)}' | jq -c "$1")
	jwt_rs256 "$TMP/oidc/key.pem" \
	    '{"alg":"RS256","typ":"JWT","kid":"gh-key-1"}' "$pl"
}

ID_OK=$(mint_id .)
auth_push_image "$TMP/img1" team/oidc v1 -u "ci:$ID_OK"
assert_eq 200 "$(reg_status HEAD "/v2/team/oidc/manifests/$IMG1" -H "Accept: $MT_OCI_MANIFEST")" \
    "OIDC push stored in the registry"
# Any user name goes with an ID token.
http GET "$V2/team/oidc/tags/list" -u "x-access-token:$ID_OK"
assert_eq 200 "$HTTP_STATUS" "pull with the ID token and another user name"
log "ok: OIDC ID token as Basic password pushed team/oidc:v1"

fetch_token "oauth2:$ID_OK" 'repository:team/oidc2:pull,push'
assert_eq 200 "$HTTP_STATUS" "/token with an ID token"
T_OIDC=$TOKEN
assert_eq pull,push "$(token_actions "$T_OIDC" team/oidc2)" "ID token's access"
assert_eq "ci:repo:acme/app:ref:refs/heads/main" "$(jwt_payload "$T_OIDC" | jq -r .sub)" \
    "sub of the token issued for the ID token"
auth_push_image "$TMP/img1" team/oidc2 v1 -H "Authorization: Bearer $T_OIDC"
"${SK[@]}" copy --retry-times 0 --preserve-digests --dest-tls-verify=false \
    --dest-creds "ci:$ID_OK" "oci:$TMP/img2:v1" \
    "docker://$HOSTPORT/team/oidc-sk:v1" >"$TMP/sk-oidc.out" 2>&1 ||
    fail "skopeo push with an ID token: $(tail -n 20 "$TMP/sk-oidc.out")"
log "ok: OIDC ID token through /token and skopeo"

# A policy naming the CI principal itself (ci:NAME, NAME from the
# template): that job pushes, a robot with the same role does not.
auth_push_image "$TMP/img1" main/only v1 -u "ci:$ID_OK"
http POST "$V2/main/only/blobs/uploads/" "${ROBOT[@]}"
assert_eq 403 "$HTTP_STATUS" "robot (role ci) pushing where only ci:repo:acme/app:... may"
assert_contains "$(oci_error_text)" "ci:repo:acme/app:ref:refs/heads/main" \
    "DENIED text names the CI principal needed"
ID_OTHER=$(mint_id '.repository = "acme/other"')
http POST "$V2/main/only/blobs/uploads/" -u "ci:$ID_OTHER"
assert_eq 403 "$HTTP_STATUS" "another acme job (valid ID token) pushing to main/only"
assert_oci_code "another acme job pushing to main/only" DENIED
log "ok: ci:NAME policy entries"

# Claims that do not match the provider's rules: not a CI identity.
for c in '.repository = "other/app"' '.ref = "refs/heads/dev"' \
    '.repository = "acme/app/../x" | .ref = "refs/heads/main"' \
    'del(.ref)'; do
	ID_BAD=$(mint_id "$c")
	http POST "$V2/team/oidc-bad/blobs/uploads/" -u "ci:$ID_BAD"
	assert_eq 401 "$HTTP_STATUS" "push with an ID token whose claims do not match ($c)"
	assert_oci_code "claims mismatch ($c)" UNAUTHORIZED
	assert_last_reason "oidc claim_mismatch" "push with mismatching claims ($c)"
	fetch_token "ci:$ID_BAD" 'repository:team/oidc-bad:pull,push'
	assert_eq 401 "$HTTP_STATUS" "/token with mismatching claims ($c)"
done
assert_eq 0 "$(reg_writes team/oidc-bad)" "mismatching-claims writes in the registry"
if "${SK[@]}" copy --retry-times 0 --dest-tls-verify=false \
    --dest-creds "ci:$(mint_id '.ref = "refs/heads/dev"')" "oci:$TMP/img2:v1" \
    "docker://$HOSTPORT/team/oidc-bad:v1" >"$TMP/sk-oidc-bad.out" 2>&1; then
	fail "skopeo push with a refs/heads/dev ID token succeeded"
fi
assert_eq 0 "$(reg_writes team/oidc-bad)" "mismatching-claims skopeo writes"
log "ok: ID tokens with mismatching claims refused (401)"

# --------------------------------------------------------- admin deletes
http DELETE "$V2/team/app/manifests/$IMG1" "${ROOT[@]}"
assert_eq 202 "$HTTP_STATUS" "root (admin) deletes team/app@IMG1"
assert_eq 404 "$(reg_status HEAD "/v2/team/app/manifests/$IMG1" -H "Accept: $MT_OCI_MANIFEST")" \
    "team/app@IMG1 after the admin's delete"
log "ok: admin delete"

exit 0
