#!/bin/bash
# Attacks on authentication and authorization (issue 3), each an explicit
# check against a real registry, each with a control that shows the same
# request succeeds when it should:
#  - forged OIDC ID tokens: alg none, HS256 keyed with the RSA public key,
#    expired, not yet valid, wrong issuer, wrong audience, unknown kid,
#    another key under our kid, tampered payload, unsupported alg;
#  - forged and misused regward tokens: a token for repository A used on
#    B, scope escalation at /token, tampered access claim, alg none, our
#    kid on an attacker's ES256 key, an ID token used as a Bearer token;
#  - path tricks that smuggle a denied repository past the policy check;
#  - HEAD and GET decide alike; a mount from an unreadable repository;
#    _catalog filtering; an upload session URL replayed by another
#    principal without push.
# Refusals of credentials are 401 UNAUTHORIZED; refusals of authenticated
# principals are 403 DENIED; nothing refused reaches the registry.
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq openssl basenc perl sha256sum gzip tar

ISS=https://token.actions.githubusercontent.com
EXTRA=$(jq -n --arg key "$TMP/token.key" --arg jwks "$TMP/jwks.json" \
    --arg iss "$ISS" '{
  auth: {
    token: {key: $key, ttl: "5m"},
    # Dozens of forged logins come from 127.0.0.1 on purpose; throttling
    # has its own test (t_auth_throttle.sh).
    throttle: {failures: 1000, ip_failures: 100000},
    oidc: [{name: "github", issuer: $iss, audience: "regward",
            jwks_file: $jwks, claims: {repository: "acme/*"},
            principal: "repo:{repository}", roles: ["ci"]}]
  },
  policies: [
    {repository: "allowed", pull: ["role:limited", "role:ci", "role:teamread"],
     push: ["role:ci"]},
    {repository: "denied", pull: ["role:admin"], push: ["role:admin"]},
    {repository: "team/**", pull: ["role:teamread", "role:ci"],
     push: ["role:ci"]},
    {repository: "public/*", pull: ["anonymous", "*"], push: ["role:ci"]}
  ]}')

rsa_jwk_make "$TMP/oidc" gh-key-1
rsa_jwk_make "$TMP/rogue" gh-key-2	# never published in the JWKS
jwks_write "$TMP/jwks.json" "$TMP/oidc"

auth_config_write "$EXTRA"
user_add lim 'lim pw' limited
user_add tr 'tr pw' teamread
user_add root 'root pw' admin
user_add ci2 'ci2 pw' ci
BOT=$(robot_add ci-bot ci)
LIM=(-u 'lim:lim pw')
TR=(-u 'tr:tr pw')
ROOT=(-u 'root:root pw')
CI2=(-u 'ci2:ci2 pw')
ROBOT=(-u "robot\$ci-bot:$BOT")

start_registry
start_gateway "$EXTRA"
V2="$GW_URL/v2"
ACC=(-H "Accept: $MT_OCI_MANIFEST")

# ------------------------------------------------------------ seed
make_oci_image "$TMP/den" 2k
DEN_MFST=$OCI_MANIFEST_DIGEST
DEN_LAYER=$(jq -r '.layers[0].digest' "$OCI_MANIFEST_FILE")
auth_push_image "$TMP/den" denied v1 "${ROOT[@]}"
make_oci_image "$TMP/alw" 2k
ALW_LAYER=$(jq -r '.layers[0].digest' "$OCI_MANIFEST_FILE")
auth_push_image "$TMP/alw" allowed v1 "${ROBOT[@]}"
auth_push_image "$TMP/alw" team/a v1 "${ROBOT[@]}"
auth_push_image "$TMP/alw" team/b v1 "${ROBOT[@]}"
auth_push_image "$TMP/alw" public/p v1 "${ROBOT[@]}"
log "seeded denied, allowed, team/a, team/b, public/p"

# ------------------------------------------------------------ helpers

# expect DESC "STATUSES" CODE METHOD URL CURL_ARGS...: the request gets
# one of STATUSES; CODE ("-" for any) is the OCI error code wanted.
expect()
{
	local desc=$1 want=$2 code=$3 m=$4 u=$5
	shift 5
	http "$m" "$u" "$@"
	assert_status_in "$desc" "$want"
	if [ "$code" != - ] && [ "$m" != HEAD ]; then
		assert_oci_code "$desc" "$code"
	fi
	log "ok: $desc -> $HTTP_STATUS"
}

# insufficient DESC REPO METHOD URL CURL_ARGS...: a Bearer token lacking
# a scope the policy would grant gets 401 with error="insufficient_scope"
# and a challenge naming REPO, so the client fetches a better token.
insufficient()
{
	local desc=$1 repo=$2
	shift 2
	expect "$desc" 401 UNAUTHORIZED "$@"
	assert_contains "$(hdr WWW-Authenticate)" 'error="insufficient_scope"' \
	    "$desc: challenge"
	assert_contains "$(challenge_param scope)" "repository:$repo:" "$desc: challenge scope"
	assert_last_reason "the token does not grant this" "$desc"
}

NOW=$(date +%s)
# claims JQ: GitHub-like ID token claims that match the provider, changed
# by the jq expression JQ.
claims()
{
	jq -c -n --arg iss "$ISS" --argjson now "$NOW" \
	    '{iss: $iss, aud: "regward", sub: "repo:acme/app:ref:refs/heads/main",
	      repository: "acme/app", ref: "refs/heads/main",
	      jti: "jti-\(now)", iat: $now, nbf: $now, exp: ($now + 600)}' |
	    jq -c "${1:-.}"
}
HDR1='{"alg":"RS256","typ":"JWT","kid":"gh-key-1"}'

# id_refused DESC TOKEN: the ID token is refused with 401 as a Basic
# password on a push, and at /token; nothing reaches the registry.
id_refused()
{
	local desc=$1 tok=$2
	http POST "$V2/team/oidc-x/blobs/uploads/" -u "ci:$tok"
	assert_eq 401 "$HTTP_STATUS" "$desc: push with the ID token as password"
	assert_oci_code "$desc" UNAUTHORIZED
	[ -n "$(hdr WWW-Authenticate)" ] || fail "$desc: 401 without a challenge"
	http GET "$V2/allowed/tags/list" -u "ci:$tok"
	assert_eq 401 "$HTTP_STATUS" "$desc: pull with the ID token as password"
	fetch_token "ci:$tok" 'repository:team/oidc-x:pull,push'
	assert_eq 401 "$HTTP_STATUS" "$desc: /token with the ID token"
	assert_eq "" "$TOKEN" "$desc: /token gave a token"
	log "ok: ID token refused: $desc"
}

# ------------------------------------------------------------ OIDC forgeries
# Control: the honest token works, so each refusal below is the forgery's.
GOOD=$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" "$(claims)")
expect "control: honest ID token pushes" 202 - POST \
    "$V2/team/oidc-ok/blobs/uploads/" -u "ci:$GOOD"
fetch_token "ci:$GOOD" 'repository:team/oidc-ok:pull,push'
assert_eq pull,push "$(token_actions "$TOKEN" team/oidc-ok)" \
    "control: honest ID token at /token"

GH=$(printf '%s' '{"alg":"none","typ":"JWT","kid":"gh-key-1"}' | b64url)
GP=$(claims | b64url)
id_refused "alg none, empty signature" "oidc alg_none" "$GH.$GP."
id_refused "alg none, signature kept" "oidc alg_none" "$GH.$GP.${GOOD##*.}"
GH=$(printf '%s' '{"alg":"none"}' | b64url)
id_refused "alg none without kid" "oidc alg_none" "$GH.$GP."

id_refused "HS256 keyed with the public key PEM" "oidc alg_hmac" \
    "$(jwt_hs256 "$TMP/oidc/pub.pem" '{"alg":"HS256","typ":"JWT","kid":"gh-key-1"}' "$(claims)")"
printf '%s' "$(cat "$TMP/oidc/pub.pem")" >"$TMP/pub-nonl.pem"
id_refused "HS256 keyed with the PEM without final newline" "oidc alg_hmac" \
    "$(jwt_hs256 "$TMP/pub-nonl.pem" '{"alg":"HS256","kid":"gh-key-1"}' "$(claims)")"
openssl pkey -pubin -in "$TMP/oidc/pub.pem" -outform DER -out "$TMP/pub.der"
id_refused "HS256 keyed with the public key DER" "oidc alg_hmac" \
    "$(jwt_hs256 "$TMP/pub.der" '{"alg":"HS256","kid":"gh-key-1"}' "$(claims)")"

id_refused "expired an hour ago" "oidc expired" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" \
    "$(claims '.iat -= 7200 | .nbf = .iat | .exp = .iat + 3600')")"
id_refused "exp missing" "oidc bad_claim" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" "$(claims 'del(.exp)')")"
id_refused "not valid for another hour (nbf)" "oidc not_yet_valid" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" "$(claims '.nbf += 3600 | .iat = .nbf | .exp += 3600')")"
id_refused "wrong issuer" "oidc wrong_issuer" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" "$(claims '.iss = "https://evil.example.com"')")"
id_refused "issuer with a trailing slash" "oidc wrong_issuer" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" "$(claims '.iss += "/"')")"
id_refused "wrong audience" "oidc wrong_audience" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" "$(claims '.aud = "sigstore"')")"
id_refused "wrong audience in an array" "oidc wrong_audience" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" "$(claims '.aud = ["sigstore", "other"]')")"
id_refused "audience missing" "oidc bad_claim" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" "$(claims 'del(.aud)')")"
id_refused "unknown kid (rogue key)" "oidc unknown_kid" \
    "$(jwt_rs256 "$TMP/rogue/key.pem" '{"alg":"RS256","typ":"JWT","kid":"gh-key-2"}' "$(claims)")"
id_refused "rogue key under our kid" "oidc bad_signature" \
    "$(jwt_rs256 "$TMP/rogue/key.pem" "$HDR1" "$(claims)")"
id_refused "rogue key without kid" "oidc bad_signature" \
    "$(jwt_rs256 "$TMP/rogue/key.pem" '{"alg":"RS256","typ":"JWT"}' "$(claims)")"
id_refused "RS384 header on an RS256 signature" "oidc alg_unsupported" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" '{"alg":"RS384","kid":"gh-key-1"}' "$(claims)")"
id_refused "ES256 header on an RSA key" "oidc alg_mismatch" \
    "$(jwt_rs256 "$TMP/oidc/key.pem" '{"alg":"ES256","kid":"gh-key-1"}' "$(claims)")"

# Tampered payloads: signed with mismatching claims, then the payload
# swapped for one that would match; and an honest token made to live longer.
SIGNED=$(jwt_rs256 "$TMP/oidc/key.pem" "$HDR1" "$(claims '.repository = "evil/app"')")
expect "control: the signed evil/app token is refused as such" 401 UNAUTHORIZED \
    POST "$V2/team/oidc-x/blobs/uploads/" -u "ci:$SIGNED"
IFS=. read -r th tp ts <<<"$SIGNED"
id_refused "tampered payload (repository changed after signing)" "oidc bad_signature" \
    "$th.$(claims | b64url).$ts"
IFS=. read -r th tp ts <<<"$GOOD"
id_refused "tampered payload (exp extended after signing)" "oidc bad_signature" \
    "$th.$(claims '.exp += 86400' | b64url).$ts"
id_refused "signature truncated" "oidc bad_" "$th.$tp.${ts:0:${#ts}-4}"
id_refused "two tokens glued" "login failed" "$GOOD.$GOOD"

assert_eq 0 "$(reg_writes team/oidc-x)" "forged ID tokens: writes in the registry"
assert_eq 0 "$(reg_hits /v2/team/oidc-x/)" "forged ID tokens: requests in the registry"

# ------------------------------------------------------------ regward tokens
# A token for team/a, used on team/b.
fetch_token "robot\$ci-bot:$BOT" 'repository:team/a:pull,push'
T_A=$TOKEN
assert_eq pull,push "$(token_actions "$T_A" team/a)" "robot's token for team/a"
BA=(-H "Authorization: Bearer $T_A")
expect "control: team/a token pulls team/a" 200 - GET "$V2/team/a/tags/list" "${BA[@]}"
expect "control: team/a token starts an upload in team/a" 202 - POST \
    "$V2/team/a/blobs/uploads/" "${BA[@]}"
b_before=$(reg_hits /v2/team/b/)
insufficient "team/a token pulls team/b tags" team/b GET "$V2/team/b/tags/list" "${BA[@]}"
insufficient "team/a token pulls team/b manifest" team/b GET "$V2/team/b/manifests/v1" "${BA[@]}" "${ACC[@]}"
expect "team/a token HEADs team/b manifest" 401 - HEAD "$V2/team/b/manifests/v1" "${BA[@]}" "${ACC[@]}"
insufficient "team/a token pushes to team/b" team/b POST "$V2/team/b/blobs/uploads/" "${BA[@]}"
insufficient "team/a token puts a manifest to team/b" team/b PUT "$V2/team/b/manifests/x" \
    "${BA[@]}" -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$TMP/alw.manifest.json"
insufficient "team/a token pulls allowed (robot may, the token may not)" allowed GET \
    "$V2/allowed/tags/list" "${BA[@]}"
expect "team/a token deletes in team/a (robot may not delete)" 403 DENIED DELETE \
    "$V2/team/a/manifests/$(file_digest "$TMP/alw.manifest.json")" "${BA[@]}"
expect "team/a token, path /v2/team/a/../b/" "400 404" - GET \
    "$V2/team/a/../b/tags/list" --path-as-is "${BA[@]}"
# The same for a CI job's token: its roles come from its ID token, not
# from the database, and still count when the gateway decides between 401
# (ask for a better token) and 403.
fetch_token "ci:$GOOD" 'repository:team/a:pull'
insufficient "the OIDC job's team/a pull token pushes to team/b" team/b POST \
    "$V2/team/b/blobs/uploads/" -H "Authorization: Bearer $TOKEN"
assert_eq "$b_before" "$(reg_hits /v2/team/b/)" "team/a token: requests for team/b upstream"
assert_eq 1 "$(grep -cE '"(PUT|DELETE) /v2/team/a/manifests/' "$REG_LOG" || true)" \
    "manifest writes in team/a upstream (the seed only)"

# Scope escalation at /token: lim may only pull allowed.
fetch_token 'lim:lim pw' 'repository:allowed:pull,push,delete' \
    'repository:denied:pull,push' 'repository:team/a:*'
assert_eq 200 "$HTTP_STATUS" "/token for lim, asking too much"
T_LIM=$TOKEN
assert_eq pull "$(token_actions "$T_LIM" allowed)" "lim's actions on allowed"
assert_eq "" "$(token_actions "$T_LIM" denied)" "lim's actions on denied"
assert_eq "" "$(token_actions "$T_LIM" team/a)" "lim's actions on team/a"
BL=(-H "Authorization: Bearer $T_LIM")
expect "control: lim's token pulls allowed" 200 - GET "$V2/allowed/tags/list" "${BL[@]}"
w_before=$(reg_writes allowed)
expect "lim's escalated token pushes to allowed" 403 DENIED POST \
    "$V2/allowed/blobs/uploads/" "${BL[@]}"
expect "lim's escalated token PUTs a manifest to allowed" 403 DENIED PUT \
    "$V2/allowed/manifests/evil" "${BL[@]}" -H "Content-Type: $MT_OCI_MANIFEST" \
    --data-binary @"$TMP/alw.manifest.json"
expect "lim's escalated token pulls denied" 403 DENIED GET "$V2/denied/tags/list" "${BL[@]}"
assert_eq "$w_before" "$(reg_writes allowed)" "lim's escalated writes upstream"
fetch_token 'lim:lim pw' 'repository:allowed:*'
assert_eq 200 "$HTTP_STATUS" "/token for lim asking *"
assert_eq pull "$(token_actions "$TOKEN" allowed)" "lim's actions on allowed after asking *"
for sc in 'repository:allowed/../denied:pull' 'repository:Denied:pull' \
    'repository:allowed%2fdenied:pull' 'repository:127.0.0.1:5000/denied:pull'; do
	fetch_token 'lim:lim pw' "$sc"
	assert_eq 400 "$HTTP_STATUS" "/token with scope $sc"
	assert_eq "" "$TOKEN" "/token with scope $sc"
done
fetch_token 'lim:lim pw' 'repository:allowed:pull repository:denied:pull,push'
assert_eq 200 "$HTTP_STATUS" "/token with two scopes in one parameter"
assert_eq pull "$(token_actions "$TOKEN" allowed)" "lim's actions on allowed (one parameter)"
assert_eq "" "$(token_actions "$TOKEN" denied)" "lim's actions on denied (one parameter)"
log "ok: scope escalation"

# Forged regward tokens built from lim's honest one.
IFS=. read -r rh _ rs <<<"$T_LIM"
EVIL_PL=$(jwt_payload "$T_LIM" | jq -c '.access += [{type: "repository",
    name: "denied", actions: ["pull", "push"]}]')
expect "regward token with access to denied added after signing" 401 UNAUTHORIZED \
    GET "$V2/denied/tags/list" -H "Authorization: Bearer $rh.$(printf '%s' "$EVIL_PL" | b64url).$rs"
assert_last_reason "bearer bad_signature" "tampered access"
expect "regward token with exp extended after signing" 401 UNAUTHORIZED GET \
    "$V2/allowed/tags/list" -H "Authorization: Bearer $rh.$(jwt_payload "$T_LIM" |
assert_last_reason "bearer bad_signature" "tampered exp"
    jq -c '.exp += 86400' | b64url).$rs"
KID=$(jwt_header "$T_LIM" | jq -r .kid)
NONE_H=$(jq -c -n --arg kid "$KID" '{alg: "none", typ: "JWT", kid: $kid}' | b64url)
expect "regward token with alg none" 401 UNAUTHORIZED GET "$V2/denied/tags/list" \
    -H "Authorization: Bearer $NONE_H.$(printf '%s' "$EVIL_PL" | b64url)."
assert_last_reason "bearer alg_none" "alg none regward token"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/evil-ec.pem" 2>/dev/null
FORGED=$(jwt_es256 "$TMP/evil-ec.pem" "$(jwt_header "$T_LIM")" "$EVIL_PL")
expect "regward token signed by another P-256 key under regward's kid" 401 UNAUTHORIZED \
    GET "$V2/denied/tags/list" -H "Authorization: Bearer $FORGED"
assert_last_reason "bearer bad_signature" "foreign P-256 key"
FORGED=$(jwt_rs256 "$TMP/oidc/key.pem" "$(jq -c -n --arg kid "$KID" \
    '{alg: "RS256", typ: "JWT", kid: $kid}')" "$EVIL_PL")
expect "regward token signed RS256 with the OIDC key" 401 UNAUTHORIZED \
    GET "$V2/denied/tags/list" -H "Authorization: Bearer $FORGED"
assert_last_reason "bearer alg_mismatch" "RS256 regward token"
FORGED=$(jwt_hs256 "$TMP/token.key" "$(jq -c -n --arg kid "$KID" \
    '{alg: "HS256", typ: "JWT", kid: $kid}')" "$EVIL_PL")
expect "regward token HS256 keyed with the key file" 401 UNAUTHORIZED \
    GET "$V2/denied/tags/list" -H "Authorization: Bearer $FORGED"
assert_last_reason "bearer alg_hmac" "HS256 regward token"
expect "an OIDC ID token used as a Bearer token" 401 UNAUTHORIZED \
    GET "$V2/allowed/tags/list" -H "Authorization: Bearer $GOOD"
assert_last_reason "bearer unknown_kid" "ID token as Bearer"
expect "a regward token used as a Basic password" 401 UNAUTHORIZED \
    GET "$V2/allowed/tags/list" -u "lim:$T_LIM"
expect "garbage Bearer token" 401 UNAUTHORIZED \
    GET "$V2/allowed/tags/list" -H "Authorization: Bearer abc.def.ghi"
assert_last_reason "bearer bad_format" "garbage Bearer"
assert_eq 0 "$(reg_hits '/v2/denied/tags/list')" "forged tokens: denied tags/list upstream"
log "ok: forged regward tokens"

# ------------------------------------------------------------ path tricks
# lim may pull "allowed" and nothing else. Every trick must be answered
# 400 or 404 by the gateway, without a request reaching the registry.
expect "control: lim pulls allowed tags" 200 - GET "$V2/allowed/tags/list" "${LIM[@]}"
expect "control: lim pulls denied tags" 403 DENIED GET "$V2/denied/tags/list" "${LIM[@]}"
expect "control: lim pulls denied manifest" 403 DENIED GET "$V2/denied/manifests/v1" "${LIM[@]}" "${ACC[@]}"
reqs_before=$(reg_requests)
den_before=$(reg_hits denied)
for p in \
    /v2/allowed/../denied/tags/list \
    /v2/allowed/../denied/manifests/v1 \
    /v2/allowed/tags/list/../../../denied/tags/list \
    /v2/allowed/./../denied/tags/list \
    /v2/./denied/tags/list \
    /v2/allowed/%2e%2e/denied/tags/list \
    /v2/allowed/%2E%2E/denied/manifests/v1 \
    /v2/allowed/.%2e/denied/tags/list \
    /v2/allowed%2F..%2Fdenied/tags/list \
    /v2/allowed/..%2Fdenied/tags/list \
    /v2/allowed%2fdenied/tags/list \
    /v2/%64enied/tags/list \
    /v2//denied/tags/list \
    /v2/allowed//denied/tags/list \
    //v2/denied/tags/list \
    /v2/allowed/..//denied/tags/list \
    '/v2/allowed\..\denied/tags/list' \
    /v2/allowed%5c..%5cdenied/tags/list \
    '/v2/allowed;/../denied/tags/list' \
    /v2/allowed%00/../denied/tags/list \
    /v2/Denied/tags/list \
    /v2/DENIED/tags/list \
    /v2/denieD/manifests/v1 \
    /v2/Allowed/../denied/tags/list; do
	expect "lim, path $p" "400 404" - GET "$GW_URL$p" --path-as-is "${LIM[@]}" "${ACC[@]}"
	expect "lim, HEAD path $p" "400 404" - HEAD "$GW_URL$p" --path-as-is "${LIM[@]}" "${ACC[@]}"
done
expect "lim, blob of denied via allowed/../denied" "400 404" - GET \
    "$V2/allowed/../denied/blobs/$DEN_LAYER" --path-as-is "${LIM[@]}"
expect "lim, query smuggling ?/v2/allowed/" 403 DENIED GET \
    "$V2/denied/tags/list?x=/v2/allowed/tags/list" "${LIM[@]}"
expect "lim, denied digest through allowed" 404 - GET \
    "$V2/allowed/manifests/$DEN_MFST" "${LIM[@]}" "${ACC[@]}"
assert_eq "$den_before" "$(reg_hits denied)" "path tricks: requests naming denied upstream"
assert_eq "$((reqs_before + 1))" "$(reg_requests)" \
    "path tricks: requests upstream (only the allowed@denied-digest lookup)"
log "ok: path tricks"

# ------------------------------------------------------------ HEAD versus GET
# same_decision DESC WANT PATH CURL_ARGS...: HEAD and GET of PATH get the
# same status, WANT.
same_decision()
{
	local desc=$1 want=$2 p=$3 g
	shift 3
	http GET "$V2$p" "$@"
	g=$HTTP_STATUS
	http HEAD "$V2$p" "$@"
	assert_eq "$g" "$HTTP_STATUS" "$desc: HEAD status versus GET's"
	assert_eq "$want" "$g" "$desc: status"
	log "ok: HEAD = GET = $g: $desc"
}
same_decision "lim, denied manifest" 403 /denied/manifests/v1 "${LIM[@]}" "${ACC[@]}"
same_decision "lim, denied manifest by digest" 403 "/denied/manifests/$DEN_MFST" "${LIM[@]}" "${ACC[@]}"
same_decision "lim, denied blob" 403 "/denied/blobs/$DEN_LAYER" "${LIM[@]}"
same_decision "lim, denied missing tag" 403 /denied/manifests/nope "${LIM[@]}" "${ACC[@]}"
same_decision "lim, unmatched repository" 403 /other/manifests/v1 "${LIM[@]}" "${ACC[@]}"
same_decision "lim, team/a manifest" 403 /team/a/manifests/v1 "${LIM[@]}" "${ACC[@]}"
same_decision "lim, allowed manifest" 200 /allowed/manifests/v1 "${LIM[@]}" "${ACC[@]}"
same_decision "lim, allowed blob" 200 "/allowed/blobs/$ALW_LAYER" "${LIM[@]}"
same_decision "anonymous, allowed manifest" 401 /allowed/manifests/v1 "${ACC[@]}"
same_decision "anonymous, public manifest" 200 /public/p/manifests/v1 "${ACC[@]}"
same_decision "lim's token, denied manifest" "$(http_status GET "$V2/denied/manifests/v1" "${BL[@]}" "${ACC[@]}")" \
    /denied/manifests/v1 "${BL[@]}" "${ACC[@]}"
same_decision "robot, denied blob" 403 "/denied/blobs/$DEN_LAYER" "${ROBOT[@]}"
den_pulls=$(grep -cE '\] "(GET|HEAD) /v2/denied/(manifests|blobs)/' "$REG_LOG" || true)
assert_eq 0 "$den_pulls" "pulls of denied that reached the registry (only root pushed there)"

# ------------------------------------------------------------ mounts
expect "control: robot mounts a layer from allowed into team/m" 201 - POST \
    "$V2/team/m/blobs/uploads/?mount=$ALW_LAYER&from=allowed" "${ROBOT[@]}"
assert_eq 200 "$(reg_status HEAD "/v2/team/m/blobs/$ALW_LAYER")" "mounted layer in team/m"
# A mount from a repository the caller cannot read is refused (403
# DENIED) or, as docs/policy.md allows, turned into a plain upload (202
# without mounting); either way the layer never appears in team/m.
# mount_refused DESC QUERY: robot's POST with QUERY.
mount_refused()
{
	local desc=$1 q=$2
	http POST "$V2/team/m/blobs/uploads/?$q" "${ROBOT[@]}"
	assert_status_in "$desc" "400 403 202"
	case $HTTP_STATUS in
	403) assert_oci_code "$desc" DENIED ;;
	202) [ -n "$(hdr Location)" ] || fail "$desc: 202 without Location"
	     assert_eq "" "$(hdr Docker-Content-Digest)" "$desc: Docker-Content-Digest" ;;
	esac
	assert_eq 404 "$(reg_status HEAD "/v2/team/m/blobs/$DEN_LAYER")" \
	    "$desc: denied's layer in team/m, asked of the registry"
	log "ok: $desc -> $HTTP_STATUS"
}
mount_refused "robot mounts a layer from denied (cannot read it)" \
    "mount=$DEN_LAYER&from=denied"
[ "$HTTP_STATUS" = 403 ] &&
    assert_contains "$(oci_error_text)" "pull from denied" \
    "mount refusal text names the source"
mount_refused "robot mounts from allowed/../denied" "mount=$DEN_LAYER&from=allowed/../denied"
mount_refused "robot mounts from allowed%2F..%2Fdenied" "mount=$DEN_LAYER&from=allowed%2F..%2Fdenied"
mount_refused "robot mounts from Denied" "mount=$DEN_LAYER&from=Denied"
mount_refused "robot mounts from %64enied" "mount=$DEN_LAYER&from=%64enied"
mount_refused "robot mounts, from=allowed then from=denied" \
    "mount=$DEN_LAYER&from=allowed&from=denied"
mount_refused "robot mounts, from=denied then from=allowed" \
    "mount=$DEN_LAYER&from=denied&from=allowed"
mount_refused "robot mounts, from before mount" "from=denied&mount=$DEN_LAYER"
mount_refused "robot mounts, from= with a space" "mount=$DEN_LAYER&from=%20denied"
expect "lim (no push on team/m) mounts from allowed" 403 DENIED POST \
    "$V2/team/m/blobs/uploads/?mount=$ALW_LAYER&from=allowed" "${LIM[@]}"
expect "anonymous mounts from public/p" 401 UNAUTHORIZED POST \
    "$V2/team/m/blobs/uploads/?mount=$ALW_LAYER&from=public/p"
assert_eq 404 "$(reg_status HEAD "/v2/team/m/blobs/$DEN_LAYER")" \
    "denied's layer in team/m, asked of the registry"
assert_eq 1 "$(reg_hits 'from=')" "mount requests upstream (the control only)"
log "ok: mounts"

# ------------------------------------------------------------ catalog
# catalog CURL_ARGS...: the sorted repositories of GET /v2/_catalog.
catalog()
{
	http GET "$V2/_catalog?n=1000" "$@"
	assert_eq 200 "$HTTP_STATUS" "catalog ($*)"
	jq -c '.repositories | sort' "$TMP/b"
}
assert_eq '["allowed","denied","public/p","team/a","team/b","team/m"]' \
    "$(curl -s "$REG_URL/v2/_catalog?n=1000" | jq -c '.repositories | sort')" \
    "control: the registry's own catalog"
assert_eq '["allowed","public/p","team/a","team/b","team/m"]' "$(catalog "${TR[@]}")" "tr's catalog"
assert_eq '["allowed","public/p"]' "$(catalog "${LIM[@]}")" "lim's catalog"
assert_eq '["denied","public/p"]' "$(catalog "${ROOT[@]}")" "root's catalog"
assert_eq '["allowed","public/p","team/a","team/b","team/m"]' "$(catalog "${ROBOT[@]}")" "robot's catalog"
assert_eq '["allowed","public/p","team/a","team/b","team/m"]' "$(catalog -u "ci:$GOOD")" \
    "the OIDC job's catalog (Basic)"
fetch_token 'lim:lim pw' 'registry:catalog:*'
assert_eq '["allowed","public/p"]' "$(catalog -H "Authorization: Bearer $TOKEN")" \
    "lim's catalog (Bearer)"
# docs/auth.md: the catalog needs an authenticated caller.
expect "anonymous catalog" 401 UNAUTHORIZED GET "$V2/_catalog"
http GET "$V2/_catalog?n=1000" -u 'lim:wrong'
assert_eq 401 "$HTTP_STATUS" "catalog with a wrong password"
log "ok: catalog filtering"

# ------------------------------------------------------------ upload session replay
random_file "$TMP/up" 20k
UP_DG=$(file_digest "$TMP/up")
http POST "$V2/team/up/blobs/uploads/" "${ROBOT[@]}"
assert_eq 202 "$HTTP_STATUS" "robot starts an upload in team/up"
LOC=$(abs_url "$(hdr Location)")
up_before=$(reg_writes team/up)
random_file "$TMP/evil" 20k
# lim and tr lack push on team/up; ci2 and the OIDC job have it (role ci)
# but did not start the session, which belongs to robot:ci-bot.
for who in lim tr ci2 oidc; do
	case $who in
	lim) C=("${LIM[@]}") ;;
	tr) C=("${TR[@]}") ;;
	ci2) C=("${CI2[@]}") ;;
	oidc) C=(-u "ci:$GOOD") ;;
	esac
	expect "$who PATCHes the robot's upload" 403 DENIED PATCH "$LOC" "${C[@]}" \
	    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/evil"
	expect "$who PUTs the robot's upload" 403 DENIED PUT \
	    "$(with_query "$LOC" "digest=$(file_digest "$TMP/evil")")" "${C[@]}" \
	    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/evil"
	expect "$who GETs the robot's upload status" 403 DENIED GET "$LOC" "${C[@]}"
	expect "$who DELETEs (cancels) the robot's upload" 403 DENIED DELETE "$LOC" "${C[@]}"
done
expect "anonymous PATCHes the robot's upload" 401 UNAUTHORIZED PATCH "$LOC" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/evil"
expect "lim's pull-only token PATCHes the robot's upload" 403 DENIED PATCH "$LOC" \
    "${BL[@]}" -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/evil"
assert_eq "$up_before" "$(reg_writes team/up)" "replayed upload requests upstream"
# The session belongs to the principal, not to the credential: the robot
# with a Bearer token may go on with it.
fetch_token "robot\$ci-bot:$BOT" 'repository:team/up:pull,push'
expect "robot's Bearer token GETs its own upload status" 204 - GET "$LOC" \
    -H "Authorization: Bearer $TOKEN"
# The session is intact: the robot finishes it with its own bytes.
http PUT "$(with_query "$LOC" "digest=$UP_DG")" "${ROBOT[@]}" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/up"
assert_eq 201 "$HTTP_STATUS" "robot completes its upload after the replays"
curl -s -o "$TMP/up.back" "$REG_URL/v2/team/up/blobs/$UP_DG"
assert_file_digest "$TMP/up.back" "$UP_DG"
assert_eq 404 "$(reg_status HEAD "/v2/team/up/blobs/$(file_digest "$TMP/evil")")" \
    "the replayed bytes in the registry"
log "ok: upload session replay"

# ------------------------------------------------------------ CI catalog, Bearer
# Last, as it failed when written: a CI job's Bearer token carries no
# roles, and the catalog filter must still see the job's (role ci).
assert_eq '["allowed","public/p","team/a","team/b","team/m","team/up"]' \
    "$(catalog -u "ci:$GOOD")" "control: the OIDC job's catalog (Basic) at the end"
fetch_token "ci:$GOOD" 'registry:catalog:*'
assert_eq 200 "$HTTP_STATUS" "/token for registry:catalog:* with the ID token"
assert_eq '["allowed","public/p","team/a","team/b","team/m","team/up"]' \
    "$(catalog -H "Authorization: Bearer $TOKEN")" "the OIDC job's catalog (Bearer)"

exit 0
