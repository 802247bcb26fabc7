#!/usr/bin/env bash
# Pull admission (issue 5) on a real registry, driven by skopeo, curl and
# regward-sign: unsigned refused for a reader and served to the bypass role;
# served once signed (at once: the signature push invalidates the cache);
# an untrusted key, a tampered payload blob, an identity for another
# repository, a missing, failed and expired scan each refused with their own
# reason; a cosign-style signature (repository-only identity, "optional":
# null) accepted; a tag moved to an unsigned digest refused at once; HEAD
# and GET agree; a multi-arch index pushed by podman (manifest push --all)
# in "index" and "each" modes; warn mode;
# .sig tags readable, a missing one 404; the ledger rows.
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq openssl skopeo sqlite3

SIGN="$(cd "$(dirname "$REGWARD_BIN")/../signer" && pwd)/regward-sign"
[ -x "$SIGN" ] || fail "regward-sign not built at $SIGN"

cd "$TMP"
for k in ci other; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$k.pem" 2>/dev/null
	openssl pkey -in "$k.pem" -pubout -out "$k.pub"
done

cp ci.pub trusted.pub # the key file the config names (rotated below)
EXTRA=$(jq -n --arg key "$TMP/token.key" --arg ci "$TMP/trusted.pub" '{
  auth: {token: {key: $key}, throttle: {failures: 1000, ip_failures: 100000}},
  keys: {ci: $ci},
  admission: {deny_ttl: "30s"},
  policies: [
    {repository: "team/**", pull: ["*"], push: ["role:ci"],
     require: {signed_by: ["ci"], bypass: ["role:ci"]}},
    {repository: "scanned/*", pull: ["*"], push: ["role:ci"],
     require: {signed_by: ["ci"], scan: {verdict: "pass", max_age: "7d"},
              bypass: ["role:ci"]}},
    {repository: "warn/*", pull: ["*"], push: ["role:ci"],
     require: {signed_by: ["ci"], mode: "warn"}},
    {repository: "each/*", pull: ["*"], push: ["role:ci"],
     require: {signed_by: ["ci"], multiarch: "each", bypass: ["role:ci"]}},
    {repository: "free/*", pull: ["*"], push: ["role:ci"]}
  ]}')
auth_config_write "$EXTRA"
user_add reader 'reader pw' reader
BOT=$(robot_add ci-bot ci)
RD=(-u 'reader:reader pw')
BT=(-u "robot\$ci-bot:$BOT")
export REGWARD_USERNAME="robot\$ci-bot" REGWARD_PASSWORD="$BOT"

start_registry
start_gateway "$EXTRA"
HP=${GW_URL#http://}
ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'

# get WHO_ARRAY_NAME REPO REF [METHOD]: status in $ST, head in $TMP/h, body in $TMP/b.
get()
{
	local -n who=$1
	local m=${4:-GET} flag=()
	[ "$m" = HEAD ] && flag=(-I)
	ST=$(curl -s "${who[@]}" "${flag[@]}" -H "$ACCEPT" -D "$TMP/h" \
	    -o "$TMP/b" -w '%{http_code}' "$GW_URL/v2/$2/manifests/$3")
}
reason() { jq -r '.errors[0].detail.reason // empty' "$TMP/b"; }
# expect_refused REPO REF REASON
expect_refused()
{
	get RD "$1" "$2"
	assert_eq 403 "$ST" "GET $1:$2 refused"
	assert_eq "$3" "$(reason)" "reason for $1:$2"
	assert_contains "$(jq -r '.errors[0].message' "$TMP/b")" "$3" "message of $1:$2"
	get RD "$1" "$2" HEAD
	assert_eq 403 "$ST" "HEAD $1:$2 agrees with GET"
}
expect_served()
{
	get RD "$1" "$2"
	assert_eq 200 "$ST" "GET $1:$2 served: $(cat "$TMP/b")"
	assert_contains "$(cat "$TMP/h")" "X-Regward-Admission: ${3:-signed}" "admission header of $1:$2"
	get RD "$1" "$2" HEAD
	assert_eq 200 "$ST" "HEAD $1:$2 agrees with GET"
}
# push_image REPO TAG SIZE: a fresh image through the gateway as the robot.
push_image()
{
	make_oci_image "$TMP/img-$1-$2" "$3" >/dev/null
	skopeo copy -q --dest-tls-verify=false --preserve-digests \
	    --dest-creds "robot\$ci-bot:$BOT" \
	    "oci:$TMP/img-$1-$2:v1" "docker://$HP/$1:$2" ||
	    fail "skopeo push $1:$2"
	DGST=$OCI_MANIFEST_DIGEST
}
sign() { "$SIGN" sign --insecure "$@" >/dev/null || fail "regward-sign sign $*"; }
# raw_sign REPO DIGEST PAYLOAD KEY: a cosign-style .sig manifest with one
# layer, signed with openssl, written straight to the registry.
raw_sign()
{
	local repo=$1 dgst=$2 payload=$3 key=$4 pd cd
	openssl dgst -sha256 -sign "$key" -out "$payload.sig" "$payload"
	pd=$(push_blob "$repo" "$payload" "$REG_URL")
	printf '{"architecture":"","config":{},"created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["%s"]}}' "$pd" >"$payload.cfg"
	cd=$(push_blob "$repo" "$payload.cfg" "$REG_URL")
	jq -c -n --arg cd "$cd" --argjson cs "$(file_size "$payload.cfg")" \
	    --arg pd "$pd" --argjson ps "$(file_size "$payload")" \
	    --arg sig "$(base64 -w0 "$payload.sig")" \
	    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	      config: {mediaType: "application/vnd.oci.image.config.v1+json", size: $cs, digest: $cd},
	      layers: [{mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
	                size: $ps, digest: $pd,
	                annotations: {"dev.cosignproject.cosign/signature": $sig}}]}' \
	    >"$payload.mfst"
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	    --data-binary @"$payload.mfst" \
	    "$REG_URL/v2/$repo/manifests/sha256-${dgst#sha256:}.sig" >/dev/null ||
	    fail "raw_sign: PUT .sig"
}

# ------------------------------------------------ unsigned, bypass, signed
push_image team/app v1 8k
V1=$DGST
expect_refused team/app v1 unsigned
get RD team/app v1
assert_eq "$V1" "$(jq -r '.errors[0].detail.digest' "$TMP/b")" "the refusal names the digest"
assert_eq "team/**" "$(jq -r '.errors[0].detail.policy' "$TMP/b")" "the refusal names the policy"
expect_refused team/app "$V1" unsigned
get BT team/app v1
assert_eq 200 "$ST" "the bypass role reads the unsigned manifest"
assert_contains "$(cat "$TMP/h")" "X-Regward-Admission: bypass; reason=unsigned" "bypass header"
rc=0
skopeo inspect --tls-verify=false --creds 'reader:reader pw' \
    "docker://$HP/team/app:v1" >/dev/null 2>"$TMP/skopeo.err" || rc=$?
[ "$rc" != 0 ] || fail "skopeo inspect of an unsigned image succeeded for a reader"
assert_contains "$(cat "$TMP/skopeo.err")" "unsigned" "skopeo shows the reason"

sign --key ci.pem "$HP/team/app:v1"
expect_served team/app v1 "signed; key=ci"
expect_served team/app "$V1"
get RD team/app v1
assert_eq "$V1" "sha256:$(sha256sum "$TMP/b" | cut -d' ' -f1)" "the bytes served are the bytes verified"
skopeo copy -q --src-tls-verify=false --src-creds 'reader:reader pw' \
    "docker://$HP/team/app:v1" "dir:$TMP/pulled" || fail "skopeo pull of a signed image"

# .sig and missing .sig
SIGTAG="sha256-${V1#sha256:}.sig"
get RD team/app "$SIGTAG"
assert_eq 200 "$ST" "a reader may read the .sig tag"
get RD team/app "sha256-$(printf '%064d' 0).sig"
assert_eq 404 "$ST" "a missing .sig is 404"
assert_eq MANIFEST_UNKNOWN "$(jq -r '.errors[0].code' "$TMP/b")" "missing .sig code"

# A tag moved to an unsigned digest is refused at once.
push_image team/app v1 9k
assert_ne "$V1" "$DGST" "v1 moved"
expect_refused team/app v1 unsigned
expect_served team/app "$V1"

# ------------------------------------------------ refusals, each its own
push_image team/app v2 8k
sign --key other.pem "$HP/team/app:v2"
expect_refused team/app v2 untrusted_key

push_image team/app v3 8k
V3=$DGST
sign --key ci.pem --identity "$HP/team/other:v3" "$HP/team/app:v3"
expect_refused team/app v3 identity_mismatch

push_image team/app v4 8k
V4=$DGST
sign --key ci.pem "$HP/team/app:v4"
pd=$(curl -s "${BT[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$GW_URL/v2/team/app/manifests/sha256-${V4#sha256:}.sig" | jq -r '.layers[0].digest')
blob="$REG_DATA/docker/registry/v2/blobs/sha256/${pd:7:2}/${pd#sha256:}/data"
[ -f "$blob" ] || fail "payload blob not at $blob"
sed -i 's/team\/app/team\/evil/' "$blob"
expect_refused team/app v4 bad_signature

# cosign-style: repository-only identity, "optional": null.
push_image team/app v5 8k
V5=$DGST
printf '{"critical":{"identity":{"docker-reference":"%s/team/app"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
    "$HP" "$V5" >cosign.payload
raw_sign team/app "$V5" cosign.payload ci.pem
expect_served team/app v5 "signed; key=ci"

# ------------------------------------------------ scan requirement
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat >trivy-clean.json <<JSON
{"SchemaVersion":2,"CreatedAt":"$now","ArtifactName":"scanned/app","ArtifactType":"container_image",
 "Results":[{"Target":"app (debian 12)","Class":"os-pkgs","Type":"debian"}]}
JSON
sed 's/"CreatedAt":"[^"]*"/"CreatedAt":"2021-08-25T12:20:30Z"/' trivy-clean.json >trivy-old.json
push_image scanned/app nosc 8k
sign --key ci.pem "$HP/scanned/app:nosc"
expect_refused scanned/app nosc scan_missing
push_image scanned/app old 8k
sign --key ci.pem --scan trivy-old.json "$HP/scanned/app:old"
expect_refused scanned/app old scan_expired
push_image scanned/app ok 8k
OK=$DGST
sign --key ci.pem --scan trivy-clean.json "$HP/scanned/app:ok"
expect_served scanned/app ok
# A failed verdict can only be signed by hand: regward-sign refuses to.
push_image scanned/app bad 8k
BAD=$DGST
curl -s "${BT[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$GW_URL/v2/scanned/app/manifests/sha256-${OK#sha256:}.sig" |
    jq -r '.layers[0].digest' >okpd
curl -s "${BT[@]}" "$GW_URL/v2/scanned/app/blobs/$(cat okpd)" >ok.payload
jq -c --arg d "$BAD" '.critical.image."docker-manifest-digest" = $d
    | .optional."dev.regward.scan".counts.critical = 2
    | .optional."dev.regward.scan".fail_on = "high"
    | .optional."dev.regward.scan".verdict = "fail"' ok.payload >bad.payload
raw_sign scanned/app "$BAD" bad.payload ci.pem
expect_refused scanned/app bad scan_failed

# ------------------------------------------------ warn mode
push_image warn/app v1 8k
expect_served warn/app v1 "warn; reason=unsigned"
grep -q '"reason":"admission warn: unsigned' "$GW_LOG" || fail "warn mode logs the reason"

# ------------------------------------------------ multi-arch
# push_index REPO TAG: an index of two fresh images, pushed through the
# gateway by podman (vfs storage of its own, `manifest push --all`) as the
# robot; with no podman, by curl. Sets CHILD_A and CHILD_B.
push_index()
{
	local repo=$1 tag=$2 a b sa sb
	push_image "$repo" "$tag-amd64" 4k; a=$DGST; sa=$(file_size "$OCI_MANIFEST_FILE")
	push_image "$repo" "$tag-arm64" 5k; b=$DGST; sb=$(file_size "$OCI_MANIFEST_FILE")
	if command -v podman >/dev/null 2>&1; then
		local -a P=(podman --root "$TMP/podman" --runroot "$TMP/podman-run"
		    --storage-driver vfs)
		local lname="list-${repo//\//-}-$tag"
		"${P[@]}" manifest create "$lname" >/dev/null
		"${P[@]}" manifest add --arch amd64 --os linux --tls-verify=false \
		    --creds "robot\$ci-bot:$BOT" "$lname" \
		    "docker://$HP/$repo:$tag-amd64" >/dev/null
		"${P[@]}" manifest add --arch arm64 --os linux --tls-verify=false \
		    --creds "robot\$ci-bot:$BOT" "$lname" \
		    "docker://$HP/$repo:$tag-arm64" >/dev/null
		"${P[@]}" manifest push --all --tls-verify=false \
		    --creds "robot\$ci-bot:$BOT" "$lname" \
		    "docker://$HP/$repo:$tag" 2>"$TMP/podman.err" >/dev/null ||
		    fail "podman manifest push --all: $(cat "$TMP/podman.err")"
		get BT "$repo" "$tag"
		CHILD_A=$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' "$TMP/b")
		CHILD_B=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' "$TMP/b")
		[ -n "$CHILD_A" ] && [ -n "$CHILD_B" ] || fail "podman's index lists no children: $(cat "$TMP/b")"
		return 0
	fi
	log "podman not installed: the index is written with curl"
	jq -c -n --arg a "$a" --argjson sa "$sa" --arg b "$b" --argjson sb "$sb" \
	    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	    manifests: [
	      {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $a, size: $sa,
	       platform: {architecture: "amd64", os: "linux"}},
	      {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $b, size: $sb,
	       platform: {architecture: "arm64", os: "linux"}}]}' >"$TMP/index-$tag.json"
	curl -sf "${BT[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
	    --data-binary @"$TMP/index-$tag.json" \
	    "$GW_URL/v2/$repo/manifests/$tag" >/dev/null || fail "index push $repo:$tag"
	CHILD_A=$a CHILD_B=$b
}
push_index team/multi m1
sign --key ci.pem "$HP/team/multi:m1"
expect_served team/multi m1
expect_served team/multi "$CHILD_A" via_index
expect_served team/multi "$CHILD_B" via_index
push_index each/multi m1
sign --key ci.pem "$HP/each/multi:m1"
expect_served each/multi m1
expect_refused each/multi "$CHILD_A" unsigned
sign --key ci.pem "$HP/each/multi@$CHILD_A"
expect_served each/multi "$CHILD_A"

# ------------------------------------------------ no require: no admission
push_image free/app v1 8k
get RD free/app v1
assert_eq 200 "$ST" "a policy without require serves unsigned"
assert_not_contains "$(cat "$TMP/h")" "X-Regward-Admission" "no admission header"

# ------------------------------------------------ regward explain
rc=0
"$REGWARD_BIN" explain -c "$GW_CFG" --as user:reader "$HP/team/app:v2" >explain.out || rc=$?
assert_eq 1 "$rc" "explain exits 1 for a refused image"
assert_contains "$(cat explain.out)" 'policies[0] "team/**"' "explain names the policy"
assert_contains "$(cat explain.out)" "layer 0: untrusted_key" "explain shows each signature"
assert_contains "$(cat explain.out)" "decision: refused (untrusted_key)" "explain's decision"
"$REGWARD_BIN" explain -c "$GW_CFG" --as user:reader "team/app@$V1" >explain.out ||
    fail "explain of a signed image: $(cat explain.out)"
assert_contains "$(cat explain.out)" "layer 0: valid, key ci" "explain shows the valid signature"
assert_contains "$(cat explain.out)" "decision: served" "explain: served"
"$REGWARD_BIN" explain -c "$GW_CFG" --as robot:ci-bot "team/app:v2" >explain.out ||
    fail "explain for the bypass role"
assert_contains "$(cat explain.out)" "may bypass admission" "explain: bypass"
rc=0
"$REGWARD_BIN" explain -c "$GW_CFG" "Team/App" 2>explain.err || rc=$?
assert_eq 2 "$rc" "explain of a bad reference"
assert_contains "$(cat explain.err)" "Team/App: not an image reference" "explain names the bad argument"

# ------------------------------------------------ key rotation on SIGHUP
# The key file is read again on SIGHUP: what the new key signed is served
# at once, what only the old key signed no longer is.
cp other.pub trusted.pub
kill -HUP "$GW_PID"
wait_for 10 grep -q '"msg" *: *"reloaded".*"admission" *: *"[0-9a-f]\{16\}"' "$GW_LOG" ||
    fail "no reload logged"
expect_served team/app v2 "signed; key=ci"
expect_refused team/app "$V1" untrusted_key
cp ci.pub trusted.pub
kill -HUP "$GW_PID"
reloaded_twice() { test "$(grep -c '"msg" *: *"reloaded"' "$GW_LOG")" -ge 2; }
wait_for 10 reloaded_twice || fail "no second reload"
expect_served team/app "$V1"
# A key file that no longer parses: the reload is refused, the keys stay.
echo garbage >trusted.pub
kill -HUP "$GW_PID"
wait_for 10 grep -q 'reload refused.*keys.ci' "$GW_LOG" || fail "a bad key file was not refused on reload"
expect_served team/app "$V1"
cp ci.pub trusted.pub

# ------------------------------------------------ metrics
[ "$(metric 'regward_admission_cache_total{result="hit"}')" -ge 1 ] || fail "admission cache hits counted"
[ "$(metric 'regward_admission_checks_total{verdict="refuse"}')" -ge 1 ] || fail "admission refusals counted"

# ------------------------------------------------ ledger
sleep 1 # the writer commits within 200 ms
DB=$TMP/regward.db
assert_eq 1 "$(sqlite3 "$DB" "SELECT count(*) FROM signatures WHERE repository='team/app' AND digest='$V1' AND key_name='ci'")" "signature recorded"
assert_eq pass "$(sqlite3 "$DB" "SELECT verdict FROM scans WHERE digest='$OK'")" "scan verdict recorded"
[ "$(sqlite3 "$DB" "SELECT count FROM pulls WHERE repository='team/app' AND digest='$V1' AND tag=''")" -ge 1 ] ||
    fail "pull by digest recorded"
assert_eq 1 "$(sqlite3 "$DB" "SELECT admit FROM verdicts WHERE repository='team/app' AND digest='$V1'")" "admitting verdict stored"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE kind='deny' AND reason LIKE 'admission: unsigned%'")" -ge 1 ] ||
    fail "refusals are in the audit trail"
log "ok"
