#!/usr/bin/env bash
# regward-sign against a real registry through the gateway: sign, verify,
# refuse a failing scan without writing anything, accept a signature written
# the way cosign writes it, refuse another key, skip an identical signature.
. "$(dirname "$0")/lib.sh"
require_cmd openssl jq curl skopeo

SIGN="$(cd "$(dirname "$REGWARD_BIN")/../signer" && pwd)/regward-sign"
[ -x "$SIGN" ] || fail "regward-sign not built at $SIGN"
SHARED="$REGWARD_SRC/../shared"

start_registry
start_gateway
HOSTPORT=${GW_URL#http://}
IMG="$HOSTPORT/team/app:v1"

make_oci_image "$TMP/img" 4k 20k
skopeo copy -q --dest-tls-verify=false --preserve-digests \
    "oci:$TMP/img:v1" "docker://$IMG"
DGST=$OCI_MANIFEST_DIGEST
SIGTAG="sha256-${DGST#sha256:}.sig"

export COSIGN_PASSWORD=correct-horse
cd "$TMP"
# Two small Trivy reports: one with a CRITICAL finding, one clean.
cat >trivy-critical.json <<'JSON'
{"SchemaVersion":2,"ArtifactName":"team/app:v1","ArtifactType":"container_image",
 "Results":[{"Target":"app (debian 12)","Class":"os-pkgs","Type":"debian",
  "Vulnerabilities":[{"VulnerabilityID":"CVE-2024-0001","PkgName":"openssl",
   "InstalledVersion":"3.0.1","FixedVersion":"3.0.2","Severity":"CRITICAL"}]}]}
JSON
cat >trivy-clean.json <<'JSON'
{"SchemaVersion":2,"ArtifactName":"team/app:v1","ArtifactType":"container_image",
 "Results":[{"Target":"app (debian 12)","Class":"os-pkgs","Type":"debian"}]}
JSON
"$SIGN" generate-key-pair --output-key-prefix ci >/dev/null
grep -q 'BEGIN ENCRYPTED COSIGN PRIVATE KEY' ci.key || fail "key label"
[ "$(stat -c %a ci.key)" = 600 ] || fail "ci.key is not mode 0600"
rc=0
"$SIGN" generate-key-pair --output-key-prefix ci 2>/dev/null || rc=$?
assert_eq 2 "$rc" "generate-key-pair refuses to overwrite"

# A failing scan: exit 3, and nothing reaches the registry.
rc=0
"$SIGN" sign --key ci.key --insecure --fail-on high \
    --scan trivy-critical.json "$IMG" 2>"$TMP/scan.err" || rc=$?
assert_eq 3 "$rc" "sign exits 3 when the scan fails"
assert_contains "$(cat "$TMP/scan.err")" "FAIL" "scan summary printed"
assert_eq 404 "$(http_status GET "$GW_URL/v2/team/app/manifests/$SIGTAG")" \
    "no signature written after a failing scan"

# Unsigned: verify fails with exit 1.
rc=0
out=$("$SIGN" verify --key ci.pub --insecure "$IMG") || rc=$?
assert_eq 1 "$rc" "verify of an unsigned image"
assert_contains "$out" "unsigned" "verify says unsigned"

# Sign with a passing scan; verify finds it, with the verdict.
"$SIGN" sign --key ci.key --insecure --fail-on critical -a ci=test \
    --scan trivy-clean.json "$IMG" >"$TMP/sign.out"
out=$("$SIGN" verify --key ci.pub --insecure "$IMG")
assert_contains "$out" "valid: key ci.pub, identity $IMG" "verify after sign"
assert_contains "$out" "PASS" "verdict read back from the payload"
code=$(curl -s -o "$TMP/sig.json" -w '%{http_code}' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$GW_URL/v2/team/app/manifests/$SIGTAG")
assert_eq 200 "$code" "signature manifest at the .sig tag"
assert_eq "application/vnd.dev.cosign.simplesigning.v1+json" \
    "$(jq -r '.layers[0].mediaType' "$TMP/sig.json")" "layer media type"
pdgst=$(jq -r '.layers[0].digest' "$TMP/sig.json")
curl -s -o "$TMP/payload" "$GW_URL/v2/team/app/blobs/$pdgst"
assert_eq "$DGST" "$(jq -r '.critical.image."docker-manifest-digest"' "$TMP/payload")" \
    "payload names the manifest digest"
assert_eq "$IMG" "$(jq -r '.critical.identity."docker-reference"' "$TMP/payload")" \
    "payload identity is the tag-bearing reference"
assert_eq "test" "$(jq -r '.optional.ci' "$TMP/payload")" "-a annotation"
assert_eq "pass" "$(jq -r '.optional."dev.regward.scan".verdict' "$TMP/payload")" \
    "scan verdict in the signed payload"
# The payload verifies with openssl, from the annotation, as cosign would.
jq -r '.layers[0].annotations."dev.cosignproject.cosign/signature"' \
    "$TMP/sig.json" | base64 -d >"$TMP/sig.der"
openssl dgst -sha256 -verify ci.pub -signature "$TMP/sig.der" "$TMP/payload" \
    >/dev/null || fail "openssl does not verify the signature"

# Signing again with the same claims adds nothing.
"$SIGN" sign --key ci.key --insecure --fail-on critical -a ci=test \
    --scan trivy-clean.json "$IMG" >"$TMP/sign2.out"
assert_contains "$(cat "$TMP/sign2.out")" "already signed" "identical signature skipped"
curl -s -o "$TMP/sig2.json" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$GW_URL/v2/team/app/manifests/$SIGTAG"
assert_eq 1 "$(jq '.layers | length' "$TMP/sig2.json")" "still one layer"

# Keys in both cosign labels, scrypt N=32768 and N=65536, and plain PEM,
# all sign (fixture keys, passphrase regward-test).
KEYS="$REGWARD_SRC/tests/data/sig/keys"
grep -q 'ENCRYPTED SIGSTORE PRIVATE KEY' "$KEYS/test-sigstore-65536.key" ||
    fail "fixture key label"
for k in test.key test-sigstore-65536.key test-pkcs8.pem test-sec1.pem; do
	COSIGN_PASSWORD=regward-test "$SIGN" sign --key "$KEYS/$k" --insecure \
	    -a key="$k" "$IMG" >/dev/null || fail "signing with $k"
done
out=$("$SIGN" verify --key "$KEYS/test.pub" --insecure "$IMG")
assert_contains "$out" "4 of 5 signature(s) valid" "the four fixture keys are one key; ci.key signed the fifth"
rc=0
COSIGN_PASSWORD=wrong "$SIGN" sign --key "$KEYS/test.key" --insecure "$IMG" \
    2>"$TMP/pass.err" || rc=$?
assert_eq 5 "$rc" "wrong passphrase exits 5"
assert_contains "$(cat "$TMP/pass.err")" "passphrase" "wrong passphrase named"

# --recursive: an index and every manifest it lists.
make_oci_image "$TMP/img3" 2k
skopeo copy -q --dest-tls-verify=false --preserve-digests \
    "oci:$TMP/img3:v1" "docker://$HOSTPORT/team/app:v3"
D3=$OCI_MANIFEST_DIGEST
jq -c -n --arg a "$DGST" --argjson sa "$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "$GW_URL/v2/team/app/manifests/$DGST" | wc -c)" \
    --arg b "$D3" --argjson sb "$(file_size "$OCI_MANIFEST_FILE")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $a, size: $sa,
         platform: {architecture: "amd64", os: "linux"}},
        {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $b, size: $sb,
         platform: {architecture: "arm64", os: "linux"}}]}' >index.json
DI=$(push_manifest team/app multi index.json application/vnd.oci.image.index.v1+json)
"$SIGN" sign --key ci.key --insecure --recursive "$HOSTPORT/team/app:multi" \
    >"$TMP/rec.out"
assert_eq 3 "$(grep -c '^signed ' "$TMP/rec.out")" "index and both children signed"
for d in "$DI" "$D3"; do
	out=$("$SIGN" verify --key ci.pub --insecure "$HOSTPORT/team/app@$d")
	assert_contains "$out" "identity $HOSTPORT/team/app:multi" "$d signed with the index's tag"
done

# Another key: refused.
COSIGN_PASSWORD=x "$SIGN" generate-key-pair --output-key-prefix other >/dev/null
rc=0
out=$("$SIGN" verify --key other.pub --insecure "$IMG") || rc=$?
assert_eq 1 "$rc" "verify with another key"
assert_contains "$out" "untrusted_key" "another key is untrusted"

# A signature written the way cosign writes it: repository-only identity,
# "optional":null, one layer, a plain PKCS#8 key signed with openssl.
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
    openssl pkcs8 -topk8 -nocrypt -out cosign.pem
openssl ec -in cosign.pem -pubout -out cosign.pub 2>/dev/null
make_oci_image "$TMP/img2" 1k
skopeo copy -q --dest-tls-verify=false --preserve-digests \
    "oci:$TMP/img2:v1" "docker://$HOSTPORT/team/other:v2"
D2=$OCI_MANIFEST_DIGEST
printf '{"critical":{"identity":{"docker-reference":"%s/team/other"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
    "$HOSTPORT" "$D2" >cosign.payload
openssl dgst -sha256 -sign cosign.pem -out cosign.sig cosign.payload
pd=$(push_blob team/other cosign.payload)
printf '{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' \
    "$pd" >cosign.config
cd_=$(push_blob team/other cosign.config)
jq -c -n --arg cd "$cd_" --argjson cs "$(file_size cosign.config)" \
    --arg pd "$pd" --argjson ps "$(file_size cosign.payload)" \
    --arg sig "$(base64 -w0 cosign.sig)" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", size: $cs, digest: $cd},
      layers: [{mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
                size: $ps, digest: $pd,
                annotations: {"dev.cosignproject.cosign/signature": $sig}}]}' \
    >cosign.mfst
push_manifest team/other "sha256-${D2#sha256:}.sig" cosign.mfst \
    application/vnd.oci.image.manifest.v1+json >/dev/null
out=$("$SIGN" verify --key cosign.pub --insecure "$HOSTPORT/team/other:v2")
assert_contains "$out" "valid: key cosign.pub, identity $HOSTPORT/team/other" \
    "cosign-style signature verifies"
rc=0
"$SIGN" verify --key ci.pub --insecure "$HOSTPORT/team/other:v2" >/dev/null || rc=$?
assert_eq 1 "$rc" "cosign-style signature does not verify under another key"

# verify-blob: the offline check of local files.
jq -r '.layers[0].annotations."dev.cosignproject.cosign/signature"' cosign.mfst >cosign.b64
"$SIGN" verify-blob --key cosign.pub --signature cosign.b64 cosign.payload |
    grep -q 'Verified OK' || fail "verify-blob of a good signature"
rc=0
"$SIGN" verify-blob --key ci.pub --signature cosign.b64 cosign.payload >/dev/null || rc=$?
assert_eq 1 "$rc" "verify-blob with the wrong key"
curl -s -o m2.json -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$GW_URL/v2/team/other/manifests/v2"
"$SIGN" verify-blob --key cosign.pub --signature cosign.b64 --manifest m2.json \
    cosign.payload | grep -q 'Verified OK' || fail "verify-blob --manifest"
rc=0
"$SIGN" verify-blob --key cosign.pub --signature cosign.b64 \
    --manifest "$TMP/sig.json" cosign.payload >/dev/null || rc=$?
assert_eq 1 "$rc" "verify-blob --manifest with another manifest"

# The real cosign and containers/image vectors, where ../shared exists.
if [ -d "$SHARED/fixtures/cosign" ]; then
	for c in "$SHARED"/fixtures/cosign/*/; do
		want=$(cat "$c/expect")
		rc=0
		out=$("$SIGN" verify-blob --key "$SHARED/fixtures/cosign/$(cat "$c/key")" \
		    --layer "$c/layer.json" --manifest "$c/manifest.json" \
		    "$c/payload") || rc=$?
		case $want in
		valid) assert_eq 0 "$rc" "$(basename "$c"): $out" ;;
		*) assert_eq 1 "$rc" "$(basename "$c")"
		   assert_contains "$out" "$want" "$(basename "$c") outcome" ;;
		esac
		# The signature file form gives the same answer for the others.
		if [ "$want" != not_a_signature ]; then
			rc2=0
			"$SIGN" verify-blob --key "$SHARED/fixtures/cosign/$(cat "$c/key")" \
			    --signature "$c/signature" --manifest "$c/manifest.json" \
			    "$c/payload" >/dev/null || rc2=$?
			assert_eq "$rc" "$rc2" "$(basename "$c"): --signature agrees with --layer"
		fi
	done
else
	log "skipping the shared cosign vectors: ../shared not present"
fi
# The project's own vectors, same layout, always present.
OWN="$REGWARD_SRC/tests/data/sig/cases"
n=0
for c in "$OWN"/*/; do
	want=$(cat "$c/expect")
	case $want in valid | untrusted_key | digest_mismatch | not_a_signature | bad_signature | bad_payload) ;;
	*) continue ;; esac # blob_mismatch needs the descriptor's digest and size
	rc=0
	out=$("$SIGN" verify-blob --key "$OWN/$(cat "$c/key")" --layer "$c/layer.json" \
	    --manifest "$c/manifest.json" "$c/payload") || rc=$?
	if [ "$want" = valid ]; then
		assert_eq 0 "$rc" "own $(basename "$c"): $out"
	else
		assert_eq 1 "$rc" "own $(basename "$c")"
		assert_contains "$out" "$want" "own $(basename "$c") outcome"
	fi
	n=$((n + 1))
done
[ "$n" -ge 12 ] || fail "only $n own verify-blob cases ran"

log PASS
