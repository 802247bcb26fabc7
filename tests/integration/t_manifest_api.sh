#!/bin/bash
# Manifest API through the gateway: PUT by tag, GET/HEAD by tag and digest
# (exact bytes, headers), tags list with n/last, catalog pagination with
# Link headers that point at public_url, DELETE by digest.
. "$(dirname "$0")/lib.sh"
require_cmd curl jq sha256sum

start_registry
start_gateway

ACCEPT="Accept: $MT_OCI_MANIFEST"

# next_link: the URL of the rel="next" Link header in $TMP/h, or empty.
next_link()
{
	hdr Link | sed -n 's/^<\([^>]*\)>.*rel="\{0,1\}next"\{0,1\}.*$/\1/p'
}

# assert_link_public: a Link header's target points at public_url.
assert_link_public()
{
	local l=$1
	case $l in
	"$GW_URL"/v2/*) ;;
	/v2/*) ;;
	*) fail "Link target '$l' does not point at public_url $GW_URL" ;;
	esac
}

# One image: a config and a layer, and an OCI manifest naming them.
make_oci_image "$TMP/img" 64k
MFST="$TMP/img.manifest.json"
MDGST=$OCI_MANIFEST_DIGEST
MSIZE=$(file_size "$MFST")

# push_image REPO TAG: push the blobs and the manifest, check the reply.
push_image()
{
	local repo=$1 tag=$2 d
	for d in $(jq -r '.config.digest, .layers[].digest' "$MFST"); do
		push_blob "$repo" "$TMP/img/blobs/sha256/${d#sha256:}" >/dev/null
	done
	http PUT "$GW_URL/v2/$repo/manifests/$tag" \
	    -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$MFST"
	assert_eq 201 "$HTTP_STATUS" "PUT manifest $repo:$tag"
	assert_eq "$MDGST" "$(hdr Docker-Content-Digest)" \
	    "Docker-Content-Digest of PUT manifest $repo:$tag"
	assert_location_public
}

# --- manifest by tag
REPO=test/r1
push_image "$REPO" v1

# A manifest naming a blob the repository lacks is refused.
jq -c --arg d "sha256:$(printf 'a%.0s' $(seq 64))" '.layers[0].digest = $d' \
    "$MFST" >"$TMP/bad_mfst"
http PUT "$GW_URL/v2/$REPO/manifests/bad" \
    -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$TMP/bad_mfst"
assert_eq 400 "$HTTP_STATUS" "PUT manifest with unknown layer"
assert_eq MANIFEST_BLOB_UNKNOWN "$(oci_error_code)" \
    "error code for manifest with unknown layer"

for ref in v1 "$MDGST"; do
	http GET "$GW_URL/v2/$REPO/manifests/$ref" -H "$ACCEPT"
	assert_eq 200 "$HTTP_STATUS" "GET manifest $ref"
	cmp -s "$MFST" "$TMP/b" || fail "GET manifest $ref: bytes differ from those pushed"
	assert_eq "$MT_OCI_MANIFEST" "$(hdr Content-Type)" "Content-Type of manifest $ref"
	assert_eq "$MDGST" "$(hdr Docker-Content-Digest)" "Docker-Content-Digest of $ref"
	assert_eq "$MSIZE" "$(hdr Content-Length)" "Content-Length of manifest $ref"

	http HEAD "$GW_URL/v2/$REPO/manifests/$ref" -H "$ACCEPT"
	assert_eq 200 "$HTTP_STATUS" "HEAD manifest $ref"
	assert_eq "$MT_OCI_MANIFEST" "$(hdr Content-Type)" "HEAD Content-Type $ref"
	assert_eq "$MDGST" "$(hdr Docker-Content-Digest)" "HEAD digest $ref"
	assert_eq "$MSIZE" "$(hdr Content-Length)" "HEAD Content-Length $ref"
done

# HEAD then GET on one connection: no stray body after the HEAD.
curl -s -I -o /dev/null -H "$ACCEPT" "$GW_URL/v2/$REPO/manifests/v1" \
    --next -s -H "$ACCEPT" -o "$TMP/after_head" -w '%{num_connects}' \
    "$GW_URL/v2/$REPO/manifests/v1" >"$TMP/nc" ||
    fail "GET after HEAD on one connection failed"
assert_eq 0 "$(cat "$TMP/nc")" "new connections for the GET after HEAD"
cmp -s "$MFST" "$TMP/after_head" || fail "GET after HEAD: wrong bytes"

# Unknown tag.
http GET "$GW_URL/v2/$REPO/manifests/nope" -H "$ACCEPT"
assert_eq 404 "$HTTP_STATUS" "GET unknown tag"
assert_eq MANIFEST_UNKNOWN "$(oci_error_code)" "error code of unknown tag"

# --- tags list with n/last
for t in v2 v3 v4; do
	http PUT "$GW_URL/v2/$REPO/manifests/$t" \
	    -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$MFST"
	assert_eq 201 "$HTTP_STATUS" "PUT tag $t"
done
http GET "$GW_URL/v2/$REPO/tags/list"
assert_eq 200 "$HTTP_STATUS" "tags list"
assert_eq "$REPO" "$(jq -r .name "$TMP/b")" "tags list name"
assert_eq "v1 v2 v3 v4" "$(jq -r '.tags | sort | join(" ")' "$TMP/b")" "tags"

# distribution 2.8 ignores n/last on tags/list (newer releases honour
# them); either way the gateway must accept the query, pass it on, and
# keep any Link header pointing at public_url.
http GET "$GW_URL/v2/$REPO/tags/list?n=2"
assert_eq 200 "$HTTP_STATUS" "tags list n=2"
GOT=$(jq -r '.tags | sort | join(" ")' "$TMP/b")
if [ "$(jq '.tags | length' "$TMP/b")" -le 2 ]; then
	assert_eq "v1 v2" "$GOT" "tags n=2"
	LINK=$(next_link)
	[ -n "$LINK" ] || fail "tags list n=2: no Link rel=next header"
	assert_link_public "$LINK"
	http GET "$(abs_url "$LINK")"
	assert_eq 200 "$HTTP_STATUS" "tags list via Link"
	assert_eq "v3 v4" "$(jq -r '.tags | join(" ")' "$TMP/b")" "tags after Link"
	http GET "$GW_URL/v2/$REPO/tags/list?n=1&last=v2"
	assert_eq 200 "$HTTP_STATUS" "tags list n=1&last=v2"
	assert_eq "v3" "$(jq -r '.tags | join(" ")' "$TMP/b")" "tags n=1&last=v2"
else
	assert_eq "v1 v2 v3 v4" "$GOT" "tags n=2 (upstream without pagination)"
	http GET "$GW_URL/v2/$REPO/tags/list?n=1&last=v2"
	assert_eq 200 "$HTTP_STATUS" "tags list n=1&last=v2"
fi

# --- catalog pagination: five repositories in all
for r in test/r2 test/r3 test/r4 test/r5; do
	push_image "$r" v1
done
http GET "$GW_URL/v2/_catalog"
assert_eq 200 "$HTTP_STATUS" "catalog"
WANT="test/r1 test/r2 test/r3 test/r4 test/r5"
assert_eq "$WANT" "$(jq -r '.repositories | join(" ")' "$TMP/b")" "catalog"

URL="$GW_URL/v2/_catalog?n=2"
ALL=()
PAGES=0
while [ -n "$URL" ]; do
	PAGES=$((PAGES + 1))
	[ "$PAGES" -le 5 ] || fail "catalog pagination does not end"
	http GET "$URL"
	assert_eq 200 "$HTTP_STATUS" "catalog page $PAGES ($URL)"
	N=$(jq '.repositories | length' "$TMP/b")
	[ "$N" -le 2 ] || fail "catalog page $PAGES has $N entries, n=2"
	ALL+=($(jq -r '.repositories[]' "$TMP/b"))
	LINK=$(next_link)
	if [ "$PAGES" = 1 ]; then
		assert_eq 2 "$N" "entries on the first catalog page"
		[ -n "$LINK" ] || fail "catalog n=2: no Link rel=next header"
	fi
	URL=""
	if [ -n "$LINK" ]; then
		assert_link_public "$LINK"
		URL=$(abs_url "$LINK")
	fi
done
assert_eq "$WANT" "${ALL[*]}" "catalog followed through Link headers"

# --- DELETE by digest
http DELETE "$GW_URL/v2/test/r5/manifests/$MDGST"
assert_eq 202 "$HTTP_STATUS" "DELETE manifest by digest"
http GET "$GW_URL/v2/test/r5/manifests/$MDGST" -H "$ACCEPT"
assert_eq 404 "$HTTP_STATUS" "GET deleted manifest"
assert_eq MANIFEST_UNKNOWN "$(oci_error_code)" "error code of deleted manifest"
http GET "$GW_URL/v2/test/r5/manifests/v1" -H "$ACCEPT"
assert_eq 404 "$HTTP_STATUS" "GET tag of deleted manifest"
# the same digest in another repository is untouched
http GET "$GW_URL/v2/test/r4/manifests/$MDGST" -H "$ACCEPT"
assert_eq 200 "$HTTP_STATUS" "same manifest in another repository"

exit 0
