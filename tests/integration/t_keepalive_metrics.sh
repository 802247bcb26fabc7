#!/bin/bash
# Keep-alive (several requests, with and without bodies and errors, on one
# connection), HEAD and GET give the same headers; gateway only: /healthz,
# /metrics, one JSON log line per request, Authorization never logged.
. "$(dirname "$0")/lib.sh"
require_cmd curl jq

start_registry
start_gateway
G=$GW_URL
AUTH='Authorization: Basic c2VjcmV0OnNlY3JldA=='

make_oci_image "$TMP/img" 2m
REPO=test/ka
for d in $(jq -r '.config.digest, .layers[].digest' "$OCI_MANIFEST_FILE"); do
	push_blob "$REPO" "$TMP/img/blobs/sha256/${d#sha256:}" >/dev/null
done
push_manifest "$REPO" v1 "$OCI_MANIFEST_FILE" "$MT_OCI_MANIFEST" >/dev/null
LAYER=$(jq -r '.layers[0].digest' "$OCI_MANIFEST_FILE")
LSIZE=$(jq -r '.layers[0].size' "$OCI_MANIFEST_FILE")
ACCEPT="Accept: $MT_OCI_MANIFEST"

# ---- several requests on one connection: bodies, empty bodies, errors
curl -s -H "$AUTH" -H "$ACCEPT" -w '%{http_code} %{num_connects}\n' \
    -o /dev/null "$G/v2/" \
    -o "$TMP/ka_blob" "$G/v2/$REPO/blobs/$LAYER" \
    -o /dev/null "$G/v2/nosuch/repo/tags/list" \
    -o "$TMP/ka_mfst" "$G/v2/$REPO/manifests/v1" \
    -o /dev/null "$G/v2/$REPO/tags/list" >"$TMP/ka.out" ||
    fail "keep-alive sequence failed: $(cat "$TMP/ka.out")"
assert_eq "200 200 404 200 200" "$(awk '{ printf "%s%s", s, $1; s = " " }' \
    "$TMP/ka.out")" "statuses on one connection"
assert_eq 1 "$(awk '{ n += $2 } END { print n }' "$TMP/ka.out")" \
    "connections opened for 5 requests"
assert_file_digest "$TMP/ka_blob" "$LAYER"
cmp -s "$OCI_MANIFEST_FILE" "$TMP/ka_mfst" || fail "manifest bytes on reused connection"

# an upload (request bodies) followed by more requests on the same connection
random_file "$TMP/up" 3m
UD=$(file_digest "$TMP/up")
http POST "$G/v2/$REPO/blobs/uploads/"
LOC=$(abs_url "$(hdr Location)")
curl -s -w '%{http_code} %{num_connects}\n' -o /dev/null \
    -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary @"$TMP/up" "$(with_query "$LOC" "digest=$UD")" \
    --next -s -w '%{http_code} %{num_connects}\n' -o "$TMP/ka_up" \
    "$G/v2/$REPO/blobs/$UD" \
    --next -s -w '%{http_code} %{num_connects}\n' -o /dev/null -I \
    "$G/v2/$REPO/blobs/$UD" \
    --next -s -w '%{http_code} %{num_connects}\n' -o /dev/null \
    "$G/v2/" >"$TMP/ka2.out" || fail "upload then reuse failed: $(cat "$TMP/ka2.out")"
assert_eq "201 200 200 200" "$(awk '{ printf "%s%s", s, $1; s = " " }' \
    "$TMP/ka2.out")" "statuses of upload + reuse"
assert_eq 1 "$(awk '{ n += $2 } END { print n }' "$TMP/ka2.out")" \
    "connections opened for upload + 3 requests"
assert_file_digest "$TMP/ka_up" "$UD"

# ---- HEAD and GET answer the same headers
same_headers()
{
	local u=$1
	shift
	curl -s -I "$@" "$u" | tr -d '\r' | grep -vi '^date:' | sort >"$TMP/hh"
	curl -s -D - -o /dev/null "$@" "$u" | tr -d '\r' | grep -vi '^date:' |
	    sort >"$TMP/gh"
	diff "$TMP/hh" "$TMP/gh" >"$TMP/hdiff" ||
	    fail "HEAD and GET headers differ for $u: $(cat "$TMP/hdiff")"
	grep -qi '^content-length: [1-9]' "$TMP/hh" ||
	    fail "HEAD $u has no Content-Length"
}
same_headers "$G/v2/$REPO/blobs/$LAYER"
same_headers "$G/v2/$REPO/manifests/v1" -H "$ACCEPT"
http HEAD "$G/v2/$REPO/blobs/$LAYER"
assert_eq "$LSIZE" "$(hdr Content-Length)" "HEAD blob Content-Length"

if ! gateway_only; then
	exit 0
fi

# ---- /healthz and /metrics
http GET "$G/healthz"
assert_eq 200 "$HTTP_STATUS" "/healthz"

http GET "$G/metrics"
assert_eq 200 "$HTTP_STATUS" "/metrics"
M=$(cat "$TMP/b")
assert_contains "$M" 'regward_requests_total{' "/metrics"
assert_contains "$M" 'regward_connections_open' "/metrics"
assert_contains "$M" 'regward_request_duration_seconds_bucket' "/metrics"
case $(hdr Content-Type) in
text/plain*) ;;
*) fail "/metrics Content-Type '$(hdr Content-Type)', want text/plain" ;;
esac

R0=$(metric regward_requests_total)
for i in 1 2 3; do
	http GET "$G/v2/$REPO/tags/list" -H "$AUTH"
done
R1=$(metric regward_requests_total)
[ "$R0" != missing ] || fail "no regward_requests_total samples"
DELTA=$((R1 - R0))
[ "$DELTA" -ge 3 ] && [ "$DELTA" -le 5 ] ||
    fail "regward_requests_total grew by $DELTA for 3 requests (+1 scrape)"

# ---- one JSON log line per request
http GET "$G/v2/test/logprobe/tags/list" -H "$AUTH"
assert_eq 404 "$HTTP_STATUS" "probe request"
http GET "$G/v2/$REPO/blobs/$LAYER" -H "$AUTH"
assert_eq 200 "$HTTP_STATUS" "blob for the log"

# log_lines JQ-FILTER: JSON log lines matching a jq select().
log_lines()
{
	jq -cR "fromjson? | select(type == \"object\") | select($1)" "$GW_LOG"
}

for i in $(seq 30); do
	[ -n "$(log_lines '.path? // "" | test("test/logprobe")')" ] &&
	    [ -n "$(log_lines '(.path? // "" | test("blobs/sha256")) and .method == "GET" and .status == 200')" ] &&
	    break
	sleep 0.1
done
L=$(log_lines '.path? // "" | test("test/logprobe")')
[ -n "$L" ] || fail "no JSON log line for GET /v2/test/logprobe/tags/list"
assert_eq 1 "$(printf '%s\n' "$L" | wc -l)" "log lines for one request"
for f in id client method path status bytes_in bytes_out ms upstream_status; do
	jq -e --arg f "$f" 'has($f)' <<<"$L" >/dev/null ||
	    fail "request log line lacks '$f': $L"
done
assert_eq GET "$(jq -r .method <<<"$L")" "logged method"
assert_eq 404 "$(jq -r .status <<<"$L")" "logged status"
assert_eq 404 "$(jq -r .upstream_status <<<"$L")" "logged upstream_status"
case $(jq -r .client <<<"$L") in
127.0.0.1*) ;;
*) fail "logged client is not 127.0.0.1: $L" ;;
esac
[ -n "$(jq -r '.id // empty' <<<"$L")" ] || fail "empty request id: $L"
jq -e '(.ms | type == "number") and (.bytes_in | type == "number")
    and (.bytes_out | type == "number") and .bytes_out > 0' <<<"$L" \
    >/dev/null || fail "ms/bytes_in/bytes_out not numbers or zero: $L"

L=$(log_lines '(.path? // "" | test("blobs/sha256")) and .method == "GET" and .status == 200' | tail -n 1)
jq -e --argjson s "$LSIZE" '.bytes_out >= $s' <<<"$L" >/dev/null ||
    fail "logged bytes_out of a $LSIZE-byte blob GET is too small: $L"
L=$(log_lines '.method == "PUT" and .status == 201 and (.path | test("blobs/uploads/"))' | tail -n 1)
[ -n "$L" ] || fail "no log line for the blob upload PUT"
jq -e --argjson s "$(file_size "$TMP/up")" '.bytes_in >= $s' <<<"$L" >/dev/null ||
    fail "logged bytes_in of a $(file_size "$TMP/up")-byte PUT is too small: $L"

# distinct ids
N=$(log_lines 'has("id") and has("status")' | jq -r .id | wc -l)
U=$(log_lines 'has("id") and has("status")' | jq -r .id | sort -u | wc -l)
assert_eq "$N" "$U" "request ids are unique"

# ---- never log credentials
if grep -q 'c2VjcmV0' "$GW_LOG"; then
	fail "the gateway log contains the Authorization header value"
fi
if grep -qi 'secret:secret' "$GW_LOG"; then
	fail "the gateway log contains the decoded credentials"
fi

exit 0
