#!/usr/bin/env bash
# immutable_tags (issue 3): once a tag matching the policy's globs exists,
# pushing another digest to it is refused with 403 DENIED before anything
# reaches the registry; the same digest again is accepted; other tags move
# freely; signature tags can always be added; chunked and Expect:
# 100-continue pushes work; a manifest over limits.manifest_bytes is 400.
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq skopeo

EXTRA=$(jq -n --arg key "$TMP/token.key" '{
  auth: {token: {key: $key}},
  limits: {manifest_bytes: 65536},
  policies: [
    {repository: "team/**", pull: ["*"], push: ["role:ci"],
     immutable_tags: ["v*", "release-*"]}
  ]}')
auth_config_write "$EXTRA"
BOT=$(robot_add ci-bot ci)
BT=(-u "robot\$ci-bot:$BOT")
start_registry
start_gateway "$EXTRA"
HP=${GW_URL#http://}
MT=application/vnd.oci.image.manifest.v1+json

push_image() # DIR TAG: skopeo push; status in rc
{
	rc=0
	skopeo copy -q --dest-tls-verify=false --preserve-digests \
	    --dest-creds "robot\$ci-bot:$BOT" "oci:$1:v1" \
	    "docker://$HP/team/app:$2" 2>"$TMP/skopeo.err" || rc=$?
}
put() # FILE TAG [CURL ARGS...]: PUT a manifest; status in ST, body in $TMP/b
{
	local f=$1 t=$2
	shift 2
	ST=$(curl -s "${BT[@]}" -o "$TMP/b" -w '%{http_code}' -X PUT \
	    -H "Content-Type: $MT" "$@" --data-binary @"$f" \
	    "$GW_URL/v2/team/app/manifests/$t")
}
current() { curl -s -o /dev/null -D - -H "Accept: $MT" "$REG_URL/v2/team/app/manifests/$1" |
    awk 'tolower($1) == "docker-content-digest:" { sub(/\r$/, ""); print $2 }'; }

make_oci_image "$TMP/imga" 4k
A=$OCI_MANIFEST_DIGEST
AF=$OCI_MANIFEST_FILE
make_oci_image "$TMP/imgb" 5k
B=$OCI_MANIFEST_DIGEST
BF=$OCI_MANIFEST_FILE

push_image "$TMP/imga" v1.0
assert_eq 0 "$rc" "first push of v1.0: $(cat "$TMP/skopeo.err")"
assert_eq "$A" "$(current v1.0)" "v1.0 points to A"

# The same digest again: accepted (CI retries must not fail).
put "$AF" v1.0
assert_eq 201 "$ST" "re-push of the same digest to v1.0"

# Another digest: refused, nothing written.
push_image "$TMP/imgb" latest # blobs of B are in the registry now
writes=$(reg_writes team/app)
put "$BF" v1.0
assert_eq 403 "$ST" "moving v1.0 to another digest"
assert_eq DENIED "$(jq -r '.errors[0].code' "$TMP/b")" "code"
assert_contains "$(jq -r '.errors[0].message' "$TMP/b")" "tag v1.0 is immutable here and points to $A" "message names the digest"
assert_eq "$writes" "$(reg_writes team/app)" "nothing reached the registry"
assert_eq "$A" "$(current v1.0)" "v1.0 still points to A"
push_image "$TMP/imgb" v1.0
[ "$rc" != 0 ] || fail "skopeo moved an immutable tag"
assert_contains "$(cat "$TMP/skopeo.err")" "immutable" "skopeo shows why"

# Not immutable: latest moves freely.
push_image "$TMP/imga" latest
assert_eq 0 "$rc" "latest moves"
assert_eq "$A" "$(current latest)" "latest points to A"

# A new immutable tag, sent chunked, and with Expect: 100-continue.
put "$BF" release-1 -H 'Transfer-Encoding: chunked'
assert_eq 201 "$ST" "chunked push of a new immutable tag: $(cat "$TMP/b")"
assert_eq "$B" "$(current release-1)" "release-1 points to B"
put "$BF" v2.0 -H 'Expect: 100-continue'
assert_eq 201 "$ST" "push with Expect: 100-continue"
put "$AF" v2.0 -H 'Transfer-Encoding: chunked'
assert_eq 403 "$ST" "chunked move of v2.0 refused"

# Signature tags are never immutable.
SIGTAG="sha256-${A#sha256:}.sig"
put "$AF" "$SIGTAG"
assert_eq 201 "$ST" "first .sig"
put "$BF" "$SIGTAG"
assert_eq 201 "$ST" "a .sig may be replaced (signatures are appended)"

# Too large to check: 400 MANIFEST_INVALID.
head -c 70000 /dev/zero | tr '\0' ' ' >"$TMP/big"
put "$TMP/big" v9
assert_eq 400 "$ST" "manifest over limits.manifest_bytes"
assert_eq MANIFEST_INVALID "$(jq -r '.errors[0].code' "$TMP/b")" "code for a huge manifest"

# The refusal is in the audit trail.
sleep 1
if command -v sqlite3 >/dev/null; then
	[ "$(sqlite3 "$TMP/regward.db" "SELECT count(*) FROM audit WHERE kind='deny' AND reason LIKE 'tag v1.0 is immutable%'")" -ge 1 ] ||
	    fail "the refusal is not in the audit trail"
fi
log "ok"
