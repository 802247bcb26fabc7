#!/bin/bash
# Invalid requests are answered by the gateway itself, with an OCI error
# body, and never reach the registry: bad names, digests and tags, path
# tricks (.., %2e%2e, %2F, //, absolute-form), oversize request heads.
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl jq

start_registry
start_gateway

# settled_requests: registry request count once its log has caught up.
settled_requests()
{
	sleep 0.2
	reg_requests
}

# expect_local DESC STATUS CODES CURL-ARGS...: the request gets STATUS (or
# one of a space-separated list) and,
# when CODES is not "-", an OCI error body whose errors[0].code is one of
# CODES (space separated); the registry sees no request.
expect_local()
{
	local desc=$1 want=$2 codes=$3 before after code="" ok c
	shift 3
	before=$(reg_requests)
	: >"$TMP/h"
	: >"$TMP/b"
	HTTP_STATUS=$(curl -s -D "$TMP/h" -o "$TMP/b" -w '%{http_code}' \
	    --max-time 10 "$@") || HTTP_STATUS="000 (curl exit $?)"
	case " $want " in
	*" $HTTP_STATUS "*) ;;
	*) fail "$desc: status $HTTP_STATUS, want $want" ;;
	esac
	if [ "$codes" != - ]; then
		jq -e '.errors | type == "array" and length > 0' "$TMP/b" \
		    >/dev/null 2>&1 ||
		    fail "$desc: body is not an OCI error: $(head -c 300 "$TMP/b")"
		code=$(oci_error_code)
		ok=0
		for c in $codes; do
			[ "$code" = "$c" ] && ok=1
		done
		[ "$ok" = 1 ] || fail "$desc: error code '$code', want one of: $codes"
	fi
	after=$(settled_requests)
	assert_eq "$before" "$after" "$desc: requests that reached the registry"
	log "ok: $desc -> $HTTP_STATUS ${code:-}"
}

G=$GW_URL

# Control: a valid request does reach the registry, so the counter works.
before=$(reg_requests)
http GET "$G/v2/valid/tags/list"
assert_eq 404 "$HTTP_STATUS" "valid request for an unknown repository"
assert_eq NAME_UNKNOWN "$(oci_error_code)" "error code from the registry"
after=$(settled_requests)
assert_eq $((before + 1)) "$after" "registry requests after a valid request"

HEX64=$(printf 'ab%.0s' $(seq 32))
UHEX64=$(printf 'AB%.0s' $(seq 32))
TAG129=$(printf 't%.0s' $(seq 129))
NAME256=$(printf 'n%.0s' $(seq 256))

expect_local "upper-case name" 400 NAME_INVALID \
    "$G/v2/UPPER/manifests/latest"
expect_local "name of 256 bytes" 400 NAME_INVALID \
    "$G/v2/$NAME256/tags/list"
expect_local "name ending in a separator" 400 NAME_INVALID \
    "$G/v2/a-/tags/list"
expect_local "short digest" 400 DIGEST_INVALID \
    "$G/v2/a/manifests/sha256:1234"
expect_local "upper-case hex digest" 400 DIGEST_INVALID \
    "$G/v2/a/blobs/sha256:$UHEX64"
expect_local "blob by tag instead of digest" 400 DIGEST_INVALID \
    "$G/v2/a/blobs/latest"
expect_local "tag of 129 bytes" 400 "TAG_INVALID MANIFEST_INVALID NAME_INVALID" \
    "$G/v2/a/manifests/$TAG129"
expect_local "tag starting with a dot" 400 "TAG_INVALID MANIFEST_INVALID NAME_INVALID" \
    "$G/v2/a/manifests/.hidden"
expect_local "dot-dot segment" 400 - --path-as-is "$G/v2/a/../b/tags/list"
expect_local "dot segment" 400 - --path-as-is "$G/v2/a/./b/tags/list"
expect_local "encoded dot-dot" 400 - --path-as-is "$G/v2/a/%2e%2e/b/tags/list"
expect_local "encoded slash" 400 - --path-as-is "$G/v2/a%2Fb/tags/list"
expect_local "empty segment" 400 - --path-as-is "$G/v2//a/tags/list"
expect_local "absolute-form target" 400 - \
    --request-target "http://127.0.0.1:$REG_PORT/v2/a/tags/list" "$G/"
expect_local "digest query not a digest" 400 "DIGEST_INVALID" \
    -X PUT -H 'Content-Length: 0' \
    "$G/v2/a/blobs/uploads/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d?digest=nope"

# A valid digest of the right form passes the router (and 404s upstream).
http GET "$G/v2/a/blobs/sha256:$HEX64"
assert_eq 404 "$HTTP_STATUS" "well-formed digest for an unknown repository"

# Oversize request heads: one 64 KiB header, then many small ones.
head -c 65536 /dev/zero | tr '\0' x >"$TMP/bigval"
expect_local "64 KiB header" 431 - -H "X-Big: $(cat "$TMP/bigval")" "$G/v2/"
for i in $(seq 3000); do
	printf 'X-Many-%d: %s\n' "$i" 0123456789abcdef0123456789abcdef
done >"$TMP/many.hdr"
expect_local "3000 headers" 431 - -H @"$TMP/many.hdr" "$G/v2/"
# a long target
expect_local "9000-byte target" "400 414 431" - \
    "$G/v2/a/tags/list?x=$(head -c 9000 /dev/zero | tr '\0' y)"

# Not HTTP at all: a TLS ClientHello on the plain port (what skopeo sends
# first with --tls-verify=false), and raw garbage. 400, then close.
curl -sk -o /dev/null -m 5 "https://127.0.0.1:$GW_PORT/v2/" || true
reply=$(printf 'GARBAGE\x00\x01\r\n\r\n' |
    timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GW_PORT; cat >&3; cat <&3" || true)
assert_contains "$reply" "HTTP/1.1 400" "garbage request answered 400"

# The gateway is still healthy, and still proxies.
kill -0 "$GW_PID" 2>/dev/null || fail "gateway died"
assert_eq 200 "$(http_status GET "$G/healthz")" "/healthz after bad requests"
assert_eq 200 "$(http_status GET "$G/v2/")" "/v2/ after bad requests"

exit 0
