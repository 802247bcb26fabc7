#!/usr/bin/env bash
# What docker-registry never sends, from a scripted upstream
# (fake_upstream.c): chunked responses with trailers, bodies delimited by
# the close, cut-off bodies, 204/304, oversized and garbage heads, stalls,
# hop-by-hop fields, an answer before the request body, and pool reuse.
. "$(dirname "$0")/lib.sh"
require_gateway

FAKE="$(cd "$(dirname "$REGWARD_BIN")/../tests" && pwd)/fake_upstream"
[ -x "$FAKE" ] || fail "fake_upstream not built at $FAKE"
"$FAKE" "$TMP/fake.port" >"$TMP/fake.log" 2>&1 &
track $!
wait_for 5 test -s "$TMP/fake.port" || fail "fake_upstream did not start"
REG_PORT=$(cat "$TMP/fake.port")
REG_URL="http://127.0.0.1:$REG_PORT"
start_gateway '{"timeouts":{"upstream_response":"1s"},
		"limits":{"upstream_header_bytes":16384}}'
G=$GW_URL
conns() { grep -c '^conn ' "$TMP/fake.log"; }

# Chunked, with a chunk extension and a trailer: relayed as framed.
curl -s --raw -D "$TMP/h" -o "$TMP/raw" "$G/v2/chunked/tags/list"
grep -qi '^transfer-encoding: chunked' "$TMP/h" || fail "chunked framing lost"
grep -q '7;ext=1' "$TMP/raw" || fail "chunk extension not relayed"
grep -q 'X-Checksum: abc' "$TMP/raw" || fail "trailer not relayed"
assert_eq "hello, world" "$(curl -s "$G/v2/chunked/tags/list")" "chunked body decoded"

# A body delimited by the upstream's close is complete, then the client
# connection closes too.
out=$(curl -s -w '|%{http_code}' "$G/v2/eof/tags/list")
assert_eq "body delimited by the close|200" "$out" "EOF-delimited body"

# Cut short: a client never takes a short body for a complete one.
rc=0; curl -s -o /dev/null "$G/v2/cut/tags/list" || rc=$?
assert_ne 0 "$rc" "Content-Length body cut by the upstream"
rc=0; curl -s -o /dev/null "$G/v2/cutchunk/tags/list" || rc=$?
assert_ne 0 "$rc" "chunked body cut by the upstream"

# 204 and 304 have no body, and the connection carries on.
out=$(curl -s -o /dev/null -o /dev/null -o /dev/null \
    -w '%{http_code} %{num_connects}\n' \
    "$G/v2/nocontent/tags/list" "$G/v2/notmod/tags/list" "$G/v2/plain/tags/list")
assert_eq "204 1
304 0
200 0" "$out" "204, 304, then 200 on one client connection"

# HEAD: Content-Length kept, no body, connection reusable.
out=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{num_connects}\n' \
    -I "$G/v2/plain/tags/list" --next -s -o "$TMP/b2" -w '%{http_code} %{size_download} %{num_connects}\n' \
    "$G/v2/plain/tags/list")
assert_eq "200 0 1
200 5 0" "$out" "HEAD then GET on one connection"

# Oversized and garbage upstream heads: 502 UNAVAILABLE, not a crash.
http GET "$G/v2/bighead/tags/list"
assert_eq 502 "$HTTP_STATUS" "upstream head over upstream_header_bytes"
assert_eq UNAVAILABLE "$(oci_error_code)" "502 body"
http GET "$G/v2/garbage/tags/list"
assert_eq 502 "$HTTP_STATUS" "non-HTTP upstream reply"
# A stalled upstream: 504 after timeouts.upstream_response.
http GET "$G/v2/stall/tags/list"
assert_eq 504 "$HTTP_STATUS" "stalled upstream"

# Hop-by-hop fields stay on the upstream's side; end-to-end ones pass.
curl -s -D "$TMP/h" -o /dev/null "$G/v2/hop/tags/list"
for f in X-Private Keep-Alive Proxy-Authenticate Upgrade; do
	grep -qi "^$f:" "$TMP/h" && fail "hop-by-hop $f relayed"
done
grep -qi '^OCI-Subject: sha256:abc' "$TMP/h" || fail "OCI-Subject not relayed"

# An answer before the request body: the client gets it, not a reset.
head -c 8M /dev/zero >"$TMP/8m"
out=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Expect:' \
    --data-binary @"$TMP/8m" "$G/v2/early/blobs/uploads/abc") || true
assert_eq 401 "$out" "early 401 reaches the client"

# Pool: sequential clients share one upstream connection.
before=$(conns)
for i in 1 2 3 4 5; do curl -s -o /dev/null "$G/v2/plain/tags/list"; done
assert_eq 1 "$(( $(conns) - before ))" "five requests, one upstream connection"
[ "$(metric 'regward_upstream_connections_total{reused="true"}')" -ge 4 ] ||
    fail "reused upstream connections not counted"

kill -0 "$GW_PID" || fail "gateway died"
log PASS
