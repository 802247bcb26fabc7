#!/bin/bash
# Blob API through the gateway with curl: chunked and Content-Range PATCH
# uploads, monolithic PUT, Expect: 100-continue, cross-repository mount,
# HEAD, Range GET, DELETE, and Location rewriting to public_url.
. "$(dirname "$0")/lib.sh"
require_cmd curl jq sha256sum

start_registry
start_gateway

REPO=test/blobs
U="$GW_URL/v2/$REPO/blobs/uploads/"

# --- chunked PATCH, then a Content-Range PATCH, then PUT ?digest=
random_file "$TMP/part1" 6m
random_file "$TMP/part2" 300k
cat "$TMP/part1" "$TMP/part2" >"$TMP/whole"
S1=$(file_size "$TMP/part1")
S2=$(file_size "$TMP/part2")
DGST=$(file_digest "$TMP/whole")

http POST "$U"
assert_eq 202 "$HTTP_STATUS" "POST upload start"
assert_location_public
assert_eq registry/2.0 "$(hdr Docker-Distribution-Api-Version)" \
    "Docker-Distribution-Api-Version on POST"
[ -n "$(hdr Docker-Upload-UUID)" ] || fail "POST: no Docker-Upload-UUID"
LOC=$(abs_url "$(hdr Location)")

http PATCH "$LOC" -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/part1"
assert_eq 202 "$HTTP_STATUS" "chunked PATCH"
assert_eq "0-$((S1 - 1))" "$(hdr Range)" "Range after chunked PATCH"
assert_location_public
LOC=$(abs_url "$(hdr Location)")

http PATCH "$LOC" -H "Content-Range: $S1-$((S1 + S2 - 1))" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/part2"
assert_eq 202 "$HTTP_STATUS" "Content-Range PATCH"
assert_eq "0-$((S1 + S2 - 1))" "$(hdr Range)" "Range after second PATCH"
assert_location_public
LOC=$(abs_url "$(hdr Location)")

# Upload status.
http GET "$LOC"
assert_eq 204 "$HTTP_STATUS" "GET upload status"
assert_eq "0-$((S1 + S2 - 1))" "$(hdr Range)" "Range in upload status"

http PUT "$(with_query "$LOC" "digest=$DGST")" -H 'Content-Length: 0'
assert_eq 201 "$HTTP_STATUS" "PUT ?digest= closing the upload"
assert_eq "$DGST" "$(hdr Docker-Content-Digest)" "Docker-Content-Digest on PUT"
assert_location_public

http GET "$GW_URL/v2/$REPO/blobs/$DGST"
assert_eq 200 "$HTTP_STATUS" "GET chunked-uploaded blob"
assert_file_digest "$TMP/b" "$DGST"

# --- a wrong digest is refused and nothing is stored
http POST "$U"
LOC=$(abs_url "$(hdr Location)")
BAD=sha256:$(printf '0%.0s' $(seq 64))
http PUT "$(with_query "$LOC" "digest=$BAD")" --data-binary @"$TMP/part2" \
    -H 'Content-Type: application/octet-stream'
assert_eq 400 "$HTTP_STATUS" "PUT with a digest that does not match"
assert_eq DIGEST_INVALID "$(oci_error_code)" "error code for mismatched digest"

# --- monolithic: POST, then one PUT with the body and Expect: 100-continue
random_file "$TMP/mono" 3m
MDGST=$(file_digest "$TMP/mono")
http POST "$U"
assert_eq 202 "$HTTP_STATUS" "POST for monolithic upload"
LOC=$(abs_url "$(hdr Location)")
ST=$(curl -sv -o /dev/null -w '%{http_code}' -X PUT \
    -H 'Expect: 100-continue' -H 'Content-Type: application/octet-stream' \
    --data-binary @"$TMP/mono" "$(with_query "$LOC" "digest=$MDGST")" \
    2>"$TMP/expect.trace")
assert_eq 201 "$ST" "monolithic PUT with Expect: 100-continue"
grep -q '^< HTTP/1.1 100' "$TMP/expect.trace" ||
    fail "no '100 Continue' interim response to Expect: 100-continue"

# push_blob (POST + streamed PUT -T) as used by the other tests
D2=$(push_blob "$REPO" "$TMP/part2")
assert_eq "$(file_digest "$TMP/part2")" "$D2" "push_blob digest"

# --- HEAD
http HEAD "$GW_URL/v2/$REPO/blobs/$MDGST"
assert_eq 200 "$HTTP_STATUS" "HEAD blob"
assert_eq "$(file_size "$TMP/mono")" "$(hdr Content-Length)" \
    "Content-Length on HEAD"
assert_eq "$MDGST" "$(hdr Docker-Content-Digest)" "Docker-Content-Digest on HEAD"
# A HEAD response carries no body: a GET that follows on the same
# connection must parse cleanly and return the blob.
curl -s -I -o /dev/null "$GW_URL/v2/$REPO/blobs/$MDGST" \
    --next -s -o "$TMP/after_head" -w '%{num_connects}' \
    "$GW_URL/v2/$REPO/blobs/$MDGST" >"$TMP/nc" ||
    fail "GET after HEAD on one connection failed"
assert_eq 0 "$(cat "$TMP/nc")" "new connections for the GET after HEAD"
assert_file_digest "$TMP/after_head" "$MDGST"
assert_eq registry/2.0 "$(hdr Docker-Distribution-Api-Version)" \
    "Docker-Distribution-Api-Version on HEAD"

# --- GET whole and Range GET
http GET "$GW_URL/v2/$REPO/blobs/$MDGST"
assert_eq 200 "$HTTP_STATUS" "GET blob"
assert_file_digest "$TMP/b" "$MDGST"
assert_eq "$MDGST" "$(hdr Docker-Content-Digest)" "Docker-Content-Digest on GET"

http GET "$GW_URL/v2/$REPO/blobs/$MDGST" -H 'Range: bytes=10-19'
assert_eq 206 "$HTTP_STATUS" "Range GET"
assert_eq "bytes 10-19/$(file_size "$TMP/mono")" "$(hdr Content-Range)" \
    "Content-Range"
assert_eq 10 "$(file_size "$TMP/b")" "Range GET body length"
dd if="$TMP/mono" of="$TMP/want_range" bs=1 skip=10 count=10 status=none
cmp -s "$TMP/want_range" "$TMP/b" || fail "Range GET returned the wrong bytes"

# --- cross-repository mount
http POST "$(with_query "$GW_URL/v2/test/other/blobs/uploads/" \
    "mount=$MDGST&from=$REPO")"
assert_eq 201 "$HTTP_STATUS" "cross-repository mount"
assert_eq "$MDGST" "$(hdr Docker-Content-Digest)" "digest of mounted blob"
assert_location_public
http GET "$GW_URL/v2/test/other/blobs/$MDGST"
assert_eq 200 "$HTTP_STATUS" "GET mounted blob"
assert_file_digest "$TMP/b" "$MDGST"

# Mount of a blob the source does not have falls back to an upload (202).
http POST "$(with_query "$GW_URL/v2/test/other2/blobs/uploads/" \
    "mount=$BAD&from=$REPO")"
assert_eq 202 "$HTTP_STATUS" "mount of unknown blob starts an upload"
assert_location_public

# --- gateway only: Location comes from public_url, whatever Host the
# client sent, and no header gives the registry's address away
if gateway_only; then
	http POST "$U" -H 'Host: evil.example:8443'
	assert_eq 202 "$HTTP_STATUS" "POST with a foreign Host header"
	case $(hdr Location) in
	"$GW_URL"/*) ;;
	*) fail "Location '$(hdr Location)' does not start with public_url $GW_URL (client sent Host: evil.example:8443)" ;;
	esac
	# Forwarding headers are the gateway's to set, not the client's.
	http POST "$U" -H 'X-Forwarded-Host: evil.example' \
	    -H 'X-Forwarded-Proto: https' -H 'Forwarded: host=evil.example'
	assert_eq 202 "$HTTP_STATUS" "POST with forged forwarding headers"
	case $(hdr Location) in
	"$GW_URL"/*) ;;
	*) fail "Location '$(hdr Location)' follows a client's X-Forwarded-Host" ;;
	esac
	http POST "$U"
	if grep -q "127.0.0.1:$REG_PORT" "$TMP/h"; then
		fail "response headers name the registry's address: $(grep "127.0.0.1:$REG_PORT" "$TMP/h")"
	fi
fi

# --- unknown blob
http GET "$GW_URL/v2/$REPO/blobs/$BAD"
assert_eq 404 "$HTTP_STATUS" "GET unknown blob"
assert_eq BLOB_UNKNOWN "$(oci_error_code)" "error code of unknown blob"

# --- DELETE
http DELETE "$GW_URL/v2/$REPO/blobs/$MDGST"
assert_eq 202 "$HTTP_STATUS" "DELETE blob"
assert_eq 404 "$(http_status HEAD "$GW_URL/v2/$REPO/blobs/$MDGST")" \
    "HEAD deleted blob"
http GET "$GW_URL/v2/$REPO/blobs/$MDGST"
assert_eq 404 "$HTTP_STATUS" "GET deleted blob"
assert_eq BLOB_UNKNOWN "$(oci_error_code)" "error code of deleted blob"
# still there in the repository it was mounted into
assert_eq 200 "$(http_status HEAD "$GW_URL/v2/test/other/blobs/$MDGST")" \
    "blob in the other repository after DELETE"

exit 0
