#!/bin/bash
# skopeo pushes an OCI image (1 KiB, 5 MiB and 256 MiB layers) through the
# gateway and copies it back: manifest digest and every blob must be
# identical. REGWARD_BIG_MB overrides the size of the big layer.
. "$(dirname "$0")/lib.sh"
require_cmd skopeo jq sha256sum gzip tar

BIG_MB=${REGWARD_BIG_MB:-256}

start_registry
start_gateway

log "building OCI image with layers 1k, 5m, ${BIG_MB}m"
make_oci_image "$TMP/src" 1k 5m "${BIG_MB}m"
SRC_DGST=$OCI_MANIFEST_DIGEST

HOSTPORT=${GW_URL#http://}
REF="docker://$HOSTPORT/test/big:v1"
# Keep skopeo away from the user's auth files and registries.conf.
export HOME="$TMP/home"
export XDG_RUNTIME_DIR="$TMP/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
SK=(skopeo --insecure-policy)

log "push: skopeo copy oci:src:v1 $REF"
"${SK[@]}" copy --retry-times 0 --preserve-digests --dest-tls-verify=false \
    "oci:$TMP/src:v1" "$REF" >"$TMP/push.out" 2>&1 ||
    fail "skopeo push failed: $(tail -n 20 "$TMP/push.out")"

"${SK[@]}" inspect --tls-verify=false "$REF" >"$TMP/inspect.json" \
    2>"$TMP/inspect.err" || fail "skopeo inspect failed: $(cat "$TMP/inspect.err")"
assert_eq "$SRC_DGST" "$(jq -r .Digest "$TMP/inspect.json")" \
    "digest reported by skopeo inspect"
assert_eq "$(jq -r '[.layers[].digest] | join(" ")' "$OCI_MANIFEST_FILE")" \
    "$(jq -r '.Layers | join(" ")' "$TMP/inspect.json")" \
    "layers reported by skopeo inspect"

"${SK[@]}" inspect --raw --tls-verify=false "$REF" >"$TMP/raw.json" \
    2>"$TMP/inspect.err" || fail "skopeo inspect --raw failed"
cmp -s "$OCI_MANIFEST_FILE" "$TMP/raw.json" ||
    fail "manifest bytes served differ from those pushed"

log "pull: skopeo copy $REF oci:dst:v1"
"${SK[@]}" copy --retry-times 0 --preserve-digests --src-tls-verify=false \
    "$REF" "oci:$TMP/dst:v1" >"$TMP/pull.out" 2>&1 ||
    fail "skopeo pull failed: $(tail -n 20 "$TMP/pull.out")"

DST_DGST=$(jq -r '.manifests[] |
    select(.annotations["org.opencontainers.image.ref.name"] == "v1") |
    .digest' "$TMP/dst/index.json")
assert_eq "$SRC_DGST" "$DST_DGST" "manifest digest after the round trip"

# Every blob arrived intact: file names are digests, contents hash to them,
# and the set is the same as the source's.
for f in "$TMP"/dst/blobs/sha256/*; do
	assert_file_digest "$f" "sha256:$(basename "$f")"
done
SRC_SET=$(ls "$TMP/src/blobs/sha256" | sort | tr '\n' ' ')
DST_SET=$(ls "$TMP/dst/blobs/sha256" | sort | tr '\n' ' ')
assert_eq "$SRC_SET" "$DST_SET" "blob set after the round trip"

# A second push of the same image finds every blob present (HEAD through
# the gateway) and uploads nothing.
posts_before=$(grep -c '"POST /v2/test/big/blobs/uploads/' "$REG_LOG" || true)
"${SK[@]}" copy --retry-times 0 --preserve-digests --dest-tls-verify=false \
    "oci:$TMP/src:v1" "docker://$HOSTPORT/test/big:v2" >"$TMP/push2.out" 2>&1 ||
    fail "second skopeo push failed: $(tail -n 20 "$TMP/push2.out")"
sleep 0.3
posts_after=$(grep -c '"POST /v2/test/big/blobs/uploads/' "$REG_LOG" || true)
assert_eq "$posts_before" "$posts_after" "uploads started by the second push"
"${SK[@]}" inspect --tls-verify=false "docker://$HOSTPORT/test/big:v2" \
    >"$TMP/inspect2.json" 2>&1 || fail "skopeo inspect of :v2 failed"
assert_eq "$SRC_DGST" "$(jq -r .Digest "$TMP/inspect2.json")" "digest of :v2"

exit 0
