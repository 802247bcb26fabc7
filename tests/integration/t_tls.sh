#!/bin/bash
# TLS listener: a self-signed certificate is served and verifies, TLS 1.1
# is refused by the server, skopeo pushes and pulls over TLS with a
# cert dir, and SIGHUP swaps the certificate for new connections while
# an in-flight download on the old one completes.
. "$(dirname "$0")/lib.sh"
require_gateway
require_cmd curl openssl skopeo jq

start_registry
start_gateway_tls
G=$GW_URL
HOSTPORT=${G#https://}

# fingerprint: SHA-256 fingerprint of the certificate a new connection gets.
fingerprint()
{
	openssl s_client -connect "$HOSTPORT" -servername 127.0.0.1 \
	    </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 |
	    cut -d= -f2
}
cert_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# ---- basic TLS
assert_eq 200 "$(http_status GET "$G/v2/" --cacert "$GW_CACERT")" \
    "GET /v2/ over TLS with the CA"
assert_eq 200 "$(http_status GET "$G/healthz" --cacert "$GW_CACERT")" \
    "GET /healthz over TLS"
RC=0
curl -s -o /dev/null "$G/v2/" 2>/dev/null || RC=$?
assert_eq 60 "$RC" "curl exit without the CA (certificate not trusted)"
assert_eq "$(cert_fp "$GW_CACERT")" "$(fingerprint)" "certificate served"

# plain HTTP to the TLS port gets an error, not a hang, and the gateway
# keeps serving
RC=0
curl -s -o /dev/null --max-time 5 "http://$HOSTPORT/v2/" || RC=$?
[ "$RC" != 28 ] || fail "plain HTTP on the TLS port hung"

# ---- TLS 1.1 refused by the server. The client side lowers its own
# security level so the refusal can only come from the gateway.
openssl s_client -connect "$HOSTPORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
    </dev/null >"$TMP/tls11.out" 2>&1 && fail "TLS 1.1 handshake succeeded"
grep -qiE 'alert protocol version|unsupported protocol|wrong version number' \
    "$TMP/tls11.out" ||
    fail "TLS 1.1 failed, but not with a protocol-version refusal: $(tail -n 5 "$TMP/tls11.out")"
RC=0
curl -s -o /dev/null --cacert "$GW_CACERT" --tls-max 1.1 \
    --ciphers 'DEFAULT:@SECLEVEL=0' "$G/v2/" || RC=$?
assert_ne 0 "$RC" "curl --tls-max 1.1 exit status"
assert_eq 200 "$(http_status GET "$G/v2/" --cacert "$GW_CACERT" --tls-max 1.2 \
    --ciphers 'DEFAULT:@SECLEVEL=0')" "TLS 1.2 with the same client settings"
assert_eq 200 "$(http_status GET "$G/v2/" --cacert "$GW_CACERT" --tlsv1.3)" \
    "TLS 1.3"

# ---- skopeo over TLS with a cert dir (*.crt files are CAs)
export HOME="$TMP/home" XDG_RUNTIME_DIR="$TMP/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$TMP/certs"
cp "$GW_CACERT" "$TMP/certs/ca.crt"
make_oci_image "$TMP/src" 1k 2m
skopeo --insecure-policy copy --retry-times 0 --preserve-digests \
    --dest-cert-dir "$TMP/certs" "oci:$TMP/src:v1" \
    "docker://$HOSTPORT/tls/small:v1" >"$TMP/push.out" 2>&1 ||
    fail "skopeo push over TLS failed: $(tail -n 20 "$TMP/push.out")"
skopeo --insecure-policy copy --retry-times 0 --preserve-digests \
    --src-cert-dir "$TMP/certs" "docker://$HOSTPORT/tls/small:v1" \
    "oci:$TMP/dst:v1" >"$TMP/pull.out" 2>&1 ||
    fail "skopeo pull over TLS failed: $(tail -n 20 "$TMP/pull.out")"
assert_eq "$OCI_MANIFEST_DIGEST" "$(jq -r '.manifests[0].digest' \
    "$TMP/dst/index.json")" "manifest digest after TLS round trip"
for f in "$TMP"/dst/blobs/sha256/*; do
	assert_file_digest "$f" "sha256:$(basename "$f")"
done
# and without the CA skopeo refuses
if skopeo --insecure-policy inspect --retry-times 0 \
    "docker://$HOSTPORT/tls/small:v1" >/dev/null 2>&1; then
	fail "skopeo trusted the self-signed certificate without the cert dir"
fi

# ---- SIGHUP reload of the certificate
random_file "$TMP/blob" 6m
D=$(push_blob tls/hup "$TMP/blob")
cp "$GW_CACERT" "$TMP/old.pem"
OLD_FP=$(cert_fp "$TMP/old.pem")

# an in-flight download on the old certificate, ~3 s at 2 MiB/s
curl -s --cacert "$TMP/old.pem" --limit-rate 2M -o "$TMP/slow" \
    "$G/v2/tls/hup/blobs/$D" &
SLOW=$!
track "$SLOW"
sleep 0.5

make_cert "$TMP/tls.new"
cp "$TMP/tls.new/cert.pem" "$TMP/tls/cert.pem.tmp"
cp "$TMP/tls.new/key.pem" "$TMP/tls/key.pem.tmp"
mv "$TMP/tls/cert.pem.tmp" "$TMP/tls/cert.pem"
mv "$TMP/tls/key.pem.tmp" "$TMP/tls/key.pem"
NEW_FP=$(cert_fp "$TMP/tls/cert.pem")
assert_ne "$OLD_FP" "$NEW_FP" "new certificate fingerprint"
kill -HUP "$GW_PID"

FP=""
for i in $(seq 50); do
	FP=$(fingerprint)
	[ "$FP" = "$NEW_FP" ] && break
	sleep 0.1
done
assert_eq "$NEW_FP" "$FP" "certificate served to new connections after SIGHUP"
kill -0 "$GW_PID" 2>/dev/null || fail "gateway died on SIGHUP"
assert_eq 200 "$(http_status GET "$G/v2/" --cacert "$TMP/tls.new/cert.pem")" \
    "new connection trusting the new certificate"
RC=0
curl -s -o /dev/null --cacert "$TMP/old.pem" "$G/v2/" || RC=$?
assert_eq 60 "$RC" "new connection trusting only the old certificate"

RC=0
wait "$SLOW" || RC=$?
assert_eq 0 "$RC" "curl exit of the download started before SIGHUP"
assert_file_digest "$TMP/slow" "$D"

exit 0
