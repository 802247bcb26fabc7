# lib.sh: shared harness for regward's integration tests.
# shellcheck disable=SC2034,SC2119,SC2120
#
# Sourced by every tests/integration/t_*.sh. Each test starts its own
# docker-registry and regward gateway on 127.0.0.1 with free ports, keeps
# every file in one mktemp -d directory, and stops every process it started
# by PID when it exits. On failure the last 50 lines of the registry and
# gateway logs are printed.
#
# Environment:
#   REGWARD_BIN     path to the regward binary (set by ctest)
#   REGWARD_SRC     project root (set by ctest)
#   REGWARD_DIRECT  1: talk to docker-registry directly, no gateway;
#                   gateway-only assertions are skipped (see gateway_only)
#   REGWARD_SECCOMP 0: start the gateway with "sandbox": {"seccomp": false}
#                   (deploy/seccomp/derive.sh); default: the filter is on
#   KEEP_TMP        1: keep the temp dir (always kept on failure)
#
#   REGWARD_BIG_MB  size of the big layer in t_skopeo_roundtrip (256)
#   REGWARD_FAIL_MB size of the blob in t_upstream_failure (200)
#   REGWARD_CURL_MAX_TIME  default curl deadline in seconds (30)
#   REG_DELETE      storage.delete.enabled of the next start_registry
#                   (true; t_purge_errors sets false)
#
# Run one test:   REGWARD_BIN=build/gateway/regward bash tests/integration/t_blob_api.sh
# Without gateway: REGWARD_DIRECT=1 bash tests/integration/t_blob_api.sh
# All, via ctest: ctest --test-dir build -L integration --output-on-failure
#
# Exit codes: 0 pass, 77 skip (gateway-only tests in REGWARD_DIRECT mode),
# anything else fail.

set -eEuo pipefail

REGWARD_DIRECT=${REGWARD_DIRECT:-0}
KEEP_TMP=${KEEP_TMP:-0}
T_NAME=$(basename "${0%.sh}")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/regward-${T_NAME}.XXXXXX")
REG_PID=""
REG_PORT=""
REG_URL=""
REG_LOG="$TMP/registry.log"
REG_DATA="$TMP/registry-data"
GW_PID=""
GW_PORT=""
GW_URL=""
GW_LOG="$TMP/gateway.log"
GW_CFG="$TMP/regward.json"
GW_CACERT=""
T_PIDS=()	# every background process we started, for cleanup

log() { printf '[%s] %s\n' "$T_NAME" "$*" >&2; }

# fail MSG: report and exit 1 (the EXIT trap prints the logs).
fail()
{
	printf '[%s] FAIL: %s\n' "$T_NAME" "$*" >&2
	exit 1
}

skip()
{
	printf '[%s] SKIP: %s\n' "$T_NAME" "$*" >&2
	exit 77
}

_on_err()
{
	local rc=$? line=$1 cmd=$2
	printf '[%s] FAIL: command exited %d at line %s: %s\n' \
	    "$T_NAME" "$rc" "$line" "$cmd" >&2
	exit 1
}
trap '_on_err "$LINENO" "$BASH_COMMAND"' ERR

# is_direct: true when running against the registry without the gateway.
is_direct() { [ "$REGWARD_DIRECT" = 1 ]; }

# gateway_only: use as `gateway_only || return 0` in a function, or
# `if gateway_only; then ...; fi`. True when the gateway is under test.
gateway_only() { ! is_direct; }

# require_gateway: skip the whole test in REGWARD_DIRECT mode.
require_gateway()
{
	if is_direct; then
		skip "gateway-only test (REGWARD_DIRECT=1)"
	fi
}

require_cmd()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || fail "required command missing: $c"
	done
}

# stop_pid PID: TERM, wait up to 5 s, then KILL. Returns the exit status.
stop_pid()
{
	local pid=$1 i rc=0
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "pid $pid ignored SIGTERM for 5s, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# track PID: remember a background process for cleanup.
track() { T_PIDS+=("$1"); }

_dump_logs()
{
	local f
	for f in "$REG_LOG" "$GW_LOG"; do
		if [ -s "$f" ]; then
			printf '\n===== last 50 lines of %s =====\n' "$f" >&2
			tail -n 50 "$f" >&2
		fi
	done
	printf '\n(files kept in %s)\n' "$TMP" >&2
}

_cleanup()
{
	local rc=$? pid
	trap - ERR
	set +e
	for pid in "${T_PIDS[@]}"; do
		stop_pid "$pid" >/dev/null 2>&1
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		_dump_logs
	elif [ "$KEEP_TMP" != 1 ]; then
		rm -rf "$TMP"
	else
		log "temp dir kept: $TMP"
	fi
	if [ "$rc" -eq 0 ]; then
		log "PASS"
	fi
	exit "$rc"
}
trap _cleanup EXIT

# ---------------------------------------------------------------- ports

# port_is_free PORT: nobody listens on 127.0.0.1:PORT.
port_is_free()
{
	local p=$1
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] || return 1
	fi
	# A connect that succeeds means someone listens.
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		return 1
	fi
	return 0
}

# free_port: print a port in 20000-60000 that is free right now.
free_port()
{
	local i p
	for i in $(seq 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if port_is_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	fail "no free port found"
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for()
{
	local secs=$1 i
	shift
	for i in $(seq $((secs * 10))); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- registry

# start_registry [PORT]: start docker-registry on 127.0.0.1:PORT (0 or
# absent: any free port), storage in $REG_DATA (kept across restarts).
# Sets REG_PID, REG_PORT, REG_URL; appends to $REG_LOG.
start_registry()
{
	local port=${1:-0} cfg="$TMP/registry.yml" i line
	require_cmd docker-registry curl
	mkdir -p "$REG_DATA"
	cat >"$cfg" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $REG_DATA
  delete:
    enabled: ${REG_DELETE:-true}
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: regward-integration-test
EOF
	local start_line=0
	[ -f "$REG_LOG" ] && start_line=$(wc -l <"$REG_LOG")
	docker-registry serve "$cfg" >>"$REG_LOG" 2>&1 &
	REG_PID=$!
	track "$REG_PID"
	REG_PORT=""
	for i in $(seq 100); do
		line=$(tail -n +"$((start_line + 1))" "$REG_LOG" |
		    grep -o 'listening on 127\.0\.0\.1:[0-9]*' | tail -n 1 || true)
		if [ -n "$line" ]; then
			REG_PORT=${line##*:}
			break
		fi
		kill -0 "$REG_PID" 2>/dev/null ||
		    fail "docker-registry exited during startup"
		sleep 0.1
	done
	[ -n "$REG_PORT" ] || fail "docker-registry did not log 'listening on'"
	REG_URL="http://127.0.0.1:$REG_PORT"
	wait_for 10 curl -sf "$REG_URL/v2/" ||
	    fail "docker-registry at $REG_URL does not answer /v2/"
	log "registry pid $REG_PID at $REG_URL"
	if is_direct; then
		GW_URL=$REG_URL
		GW_PORT=$REG_PORT
	fi
}

stop_registry()
{
	stop_pid "$REG_PID" || true
	REG_PID=""
}

kill9_registry()
{
	kill -KILL "$REG_PID" 2>/dev/null || true
	wait "$REG_PID" 2>/dev/null || true
	REG_PID=""
}

# reg_requests: number of requests the registry logged so far (access log
# lines), not counting "GET /v2/ " (the gateway's health probe).
reg_requests()
{
	grep -E '\] "[A-Z]+ ' "$REG_LOG" | grep -vc '"GET /v2/ HTTP' || true
}

# ---------------------------------------------------------------- gateway

_gw_write_config()
{
	local scheme=$1 extra=$2 sandbox='{}'
	if [ "${REGWARD_SECCOMP:-1}" = 0 ]; then
		sandbox='{"sandbox": {"seccomp": false}}'
	fi
	jq -n \
	    --arg listen "127.0.0.1:$GW_PORT" \
	    --arg public "$scheme://127.0.0.1:$GW_PORT" \
	    --arg upstream "$REG_URL" \
	    --arg db "$TMP/regward.db" \
	    --argjson extra "$extra" --argjson sandbox "$sandbox" \
	    '{listen: $listen, public_url: $public, upstream: {url: $upstream},
	      database: $db} * $sandbox * $extra' >"$GW_CFG"
}

# _gw_launch SCHEME EXTRA_JSON: pick a port, write the config, start the
# gateway and wait until it listens. Retries when the port was taken.
_gw_launch()
{
	local scheme=$1 extra=${2:-'{}'} attempt i up
	local -a ck=()
	[ -n "${REGWARD_BIN:-}" ] || fail "REGWARD_BIN is not set"
	[ -x "$REGWARD_BIN" ] || fail "REGWARD_BIN=$REGWARD_BIN is not executable"
	[ -n "$REG_URL" ] || fail "start_registry before start_gateway"
	require_cmd jq
	if [ "$scheme" = https ]; then
		ck=(--cacert "$GW_CACERT")
	fi
	for _ in 1 2 3 4 5; do
		GW_PORT=$(free_port)
		GW_URL="$scheme://127.0.0.1:$GW_PORT"
		_gw_write_config "$scheme" "$extra"
		: >"$GW_LOG"
		"$REGWARD_BIN" serve -c "$GW_CFG" >>"$GW_LOG" 2>&1 &
		GW_PID=$!
		track "$GW_PID"
		up=0
		for i in $(seq 100); do
			if grep -q '"msg" *: *"listening"' "$GW_LOG" 2>/dev/null ||
			    [ "$(curl -s -o /dev/null -w '%{http_code}' \
			    "${ck[@]}" --max-time 1 "$GW_URL/healthz" \
			    2>/dev/null)" != 000 ]; then
				up=1
				break
			fi
			kill -0 "$GW_PID" 2>/dev/null || break
			sleep 0.1
		done
		if [ "$up" = 1 ]; then
			log "gateway pid $GW_PID at $GW_URL"
			return 0
		fi
		if ! kill -0 "$GW_PID" 2>/dev/null &&
		    grep -qiE 'in use|EADDRINUSE' "$GW_LOG"; then
			wait "$GW_PID" 2>/dev/null || true
			log "port $GW_PORT taken, retrying"
			continue
		fi
		local rc=0
		if kill -0 "$GW_PID" 2>/dev/null; then
			fail "gateway did not start listening within 10s"
		fi
		wait "$GW_PID" 2>/dev/null || rc=$?
		fail "gateway exited during startup (status $rc)"
	done
	fail "gateway could not bind a free port after 5 attempts"
}

# start_gateway [EXTRA_JSON]: start regward in front of $REG_URL, with
# EXTRA_JSON deep-merged into its config. Sets GW_PID, GW_PORT, GW_URL.
# REGWARD_DIRECT=1: does nothing, GW_URL=REG_URL.
start_gateway()
{
	if is_direct; then
		GW_URL=$REG_URL
		GW_PORT=$REG_PORT
		return 0
	fi
	_gw_launch http "${1:-"{}"}"
}

# make_cert DIR: self-signed P-256 certificate for 127.0.0.1 in
# DIR/cert.pem and DIR/key.pem.
make_cert()
{
	local dir=$1
	mkdir -p "$dir"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
	    fail "openssl could not make a certificate in $dir"
}

# start_gateway_tls [EXTRA_JSON]: as start_gateway, with TLS on a fresh
# self-signed certificate in $TMP/tls/{cert,key}.pem. GW_CACERT names the
# certificate to trust; GW_URL is https://.
start_gateway_tls()
{
	local extra=${1:-"{}"}
	is_direct && skip "TLS gateway in REGWARD_DIRECT mode"
	require_cmd openssl
	make_cert "$TMP/tls"
	GW_CACERT="$TMP/tls/cert.pem"
	extra=$(jq -n --arg c "$TMP/tls/cert.pem" --arg k "$TMP/tls/key.pem" \
	    --argjson e "$extra" '{tls: {cert: $c, key: $k}} * $e')
	_gw_launch https "$extra"
}

stop_gateway()
{
	local rc=0
	is_direct && return 0
	stop_pid "$GW_PID" || rc=$?
	GW_PID=""
	return $rc
}

# ---------------------------------------------------------------- asserts

assert_eq()
{
	local want=$1 got=$2 what=${3:-value}
	[ "$want" = "$got" ] || fail "$what: expected '$want', got '$got'"
}

assert_ne()
{
	local notwant=$1 got=$2 what=${3:-value}
	[ "$notwant" != "$got" ] || fail "$what: must not be '$got'"
}

assert_contains()
{
	local hay=$1 needle=$2 what=${3:-text}
	case $hay in
	*"$needle"*) ;;
	*) fail "$what: '$needle' not found in: $(printf '%s' "$hay" | head -c 2000)" ;;
	esac
}

assert_not_contains()
{
	local hay=$1 needle=$2 what=${3:-text}
	case $hay in
	*"$needle"*) fail "$what: must not contain '$needle'" ;;
	*) ;;
	esac
}

# assert_file_digest FILE sha256:HEX
assert_file_digest()
{
	local got
	got=$(file_digest "$1")
	assert_eq "$2" "$got" "digest of $1"
}

# ---------------------------------------------------------------- http

# file_digest FILE: print sha256:<hex> of FILE.
file_digest() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

file_size() { stat -c %s "$1"; }

# Every curl gets a deadline so a hung gateway fails a test instead of
# stalling it; a later -m/--max-time in the arguments overrides it.
CURL_MAX_TIME=${REGWARD_CURL_MAX_TIME:-30}

# http_status METHOD URL [curl args...]: print the status code only.
http_status()
{
	local m=$1 u=$2
	shift 2
	if [ "$m" = HEAD ]; then
		curl -s -o /dev/null -w '%{http_code}' -m "$CURL_MAX_TIME" -I \
		    "$@" "$u" || true
	else
		curl -s -o /dev/null -w '%{http_code}' -m "$CURL_MAX_TIME" \
		    -X "$m" "$@" "$u" || true
	fi
}

# http METHOD URL [curl args...]: request, leaving headers in $TMP/h and
# the body in $TMP/b. Sets HTTP_STATUS. Never fails on HTTP errors.
HTTP_STATUS=""
http()
{
	local m=$1 u=$2
	shift 2
	: >"$TMP/h"
	: >"$TMP/b"
	if [ "$m" = HEAD ]; then
		HTTP_STATUS=$(curl -s -I -D "$TMP/h" -o /dev/null \
		    -m "$CURL_MAX_TIME" -w '%{http_code}' "$@" "$u") ||
		    HTTP_STATUS="000 (curl exit $?)"
	else
		HTTP_STATUS=$(curl -s -X "$m" -D "$TMP/h" -o "$TMP/b" \
		    -m "$CURL_MAX_TIME" -w '%{http_code}' "$@" "$u") ||
		    HTTP_STATUS="000 (curl exit $?)"
	fi
}

# hdr NAME: value of the last response header NAME from $TMP/h (case
# insensitive, CR stripped).
hdr()
{
	awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
	    { sub(/\r$/, "") }
	    /^HTTP\// { v = "" ; next }
	    { i = index($0, ":"); if (i == 0) next
	      k = tolower(substr($0, 1, i - 1))
	      if (k == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v) } }
	    END { print v }' "$TMP/h"
}

# abs_url URL: make a Location/Link target absolute against $GW_URL.
abs_url()
{
	case $1 in
	http://* | https://*) echo "$1" ;;
	/*) echo "$GW_URL$1" ;;
	*) fail "unexpected relative URL: $1" ;;
	esac
}

# assert_location_public: the Location header in $TMP/h points at GW_URL.
assert_location_public()
{
	local loc
	loc=$(hdr Location)
	[ -n "$loc" ] || fail "no Location header"
	case $loc in
	"$GW_URL"/*) ;;
	/*) ;;	# relative: resolved against the URL the client used
	*) fail "Location '$loc' does not point at public_url $GW_URL" ;;
	esac
}

# oci_error_code: errors[0].code of the body in $TMP/b.
oci_error_code() { jq -r '.errors[0].code // empty' "$TMP/b" 2>/dev/null || true; }

# with_query URL K=V: append a query parameter.
with_query()
{
	case $1 in
	*\?*) echo "$1&$2" ;;
	*) echo "$1?$2" ;;
	esac
}

# push_blob REPO FILE [BASE_URL]: monolithic upload (POST, then one PUT
# with the body). Prints the digest. Fails unless the registry says 201.
push_blob()
{
	local repo=$1 file=$2 base=${3:-$GW_URL} dgst loc st
	local -a ck=()
	[ -n "$GW_CACERT" ] && ck=(--cacert "$GW_CACERT")
	dgst=$(file_digest "$file")
	loc=$(curl -s "${ck[@]}" -X POST -D - -o /dev/null \
	    "$base/v2/$repo/blobs/uploads/" |
	    awk 'tolower($1) == "location:" { sub(/\r$/, ""); print $2 }')
	[ -n "$loc" ] || fail "push_blob $repo: POST gave no Location"
	case $loc in /*) loc="$base$loc" ;; esac
	st=$(curl -s "${ck[@]}" -o "$TMP/push_blob.out" -w '%{http_code}' \
	    -H 'Content-Type: application/octet-stream' -T "$file" \
	    "$(with_query "$loc" "digest=$dgst")") || st=000
	[ "$st" = 201 ] || fail "push_blob $repo $file: PUT gave $st: $(cat "$TMP/push_blob.out")"
	echo "$dgst"
}

# push_manifest REPO TAG FILE MEDIATYPE: PUT a manifest, print its digest.
push_manifest()
{
	local repo=$1 tag=$2 file=$3 mt=$4 st
	local -a ck=()
	[ -n "$GW_CACERT" ] && ck=(--cacert "$GW_CACERT")
	st=$(curl -s "${ck[@]}" -o "$TMP/push_mfst.out" -w '%{http_code}' \
	    -X PUT -H "Content-Type: $mt" --data-binary @"$file" \
	    "$GW_URL/v2/$repo/manifests/$tag") || st=000
	[ "$st" = 201 ] || fail "push_manifest $repo:$tag gave $st: $(cat "$TMP/push_mfst.out")"
	file_digest "$file"
}

# random_file PATH SIZE: SIZE bytes of random data; SIZE may end in k/m.
random_file()
{
	local path=$1 size=$2 bytes
	bytes=$(size_bytes "$size")
	head -c "$bytes" /dev/urandom >"$path"
}

# size_bytes N[k|m]: plain numbers are MiB.
size_bytes()
{
	case $1 in
	*k | *K) echo $((${1%[kK]} * 1024)) ;;
	*m | *M) echo $((${1%[mM]} * 1048576)) ;;
	*b) echo "${1%b}" ;;
	*) echo $(($1 * 1048576)) ;;
	esac
}

MT_OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_OCI_CONFIG=application/vnd.oci.image.config.v1+json
MT_OCI_LAYER_GZ=application/vnd.oci.image.layer.v1.tar+gzip

# _oci_put_blob DIR FILE: move FILE into DIR/blobs/sha256/, print digest.
_oci_put_blob()
{
	local dir=$1 f=$2 hex
	hex=$(sha256sum "$f" | cut -d' ' -f1)
	mv "$f" "$dir/blobs/sha256/$hex"
	echo "sha256:$hex"
}

# make_oci_image DIR SIZE...: build an OCI image layout with one gzipped
# tar layer per SIZE (random data; plain numbers are MiB, 1k = 1 KiB), a
# config, a manifest and index.json tagged v1. Gzipped layers keep
# skopeo from recompressing them, so digests survive a round trip.
# Sets OCI_MANIFEST_DIGEST and OCI_MANIFEST_FILE.
make_oci_image()
{
	local dir=$1 work sz n=0 dgst diff size layers="[]" diffs="[]"
	shift
	mkdir -p "$dir/blobs/sha256"
	work=$(mktemp -d "$TMP/layer.XXXXXX")
	for sz in "$@"; do
		n=$((n + 1))
		random_file "$work/data$n" "$sz"
		tar -cf "$work/l$n.tar" -C "$work" "data$n"
		rm -f "$work/data$n"
		diff=$(file_digest "$work/l$n.tar")
		gzip -1 -n -c "$work/l$n.tar" >"$work/l$n.tar.gz"
		rm -f "$work/l$n.tar"
		size=$(file_size "$work/l$n.tar.gz")
		dgst=$(_oci_put_blob "$dir" "$work/l$n.tar.gz")
		layers=$(jq -c --arg d "$dgst" --argjson s "$size" \
		    --arg mt "$MT_OCI_LAYER_GZ" \
		    '. + [{mediaType: $mt, digest: $d, size: $s}]' <<<"$layers")
		diffs=$(jq -c --arg d "$diff" '. + [$d]' <<<"$diffs")
	done
	jq -c -n --argjson diffs "$diffs" \
	    '{architecture: "amd64", os: "linux", config: {},
	      rootfs: {type: "layers", diff_ids: $diffs}}' >"$work/config"
	local csize cdgst
	csize=$(file_size "$work/config")
	cdgst=$(_oci_put_blob "$dir" "$work/config")
	jq -c -n --arg cd "$cdgst" --argjson cs "$csize" \
	    --argjson layers "$layers" --arg mt "$MT_OCI_MANIFEST" \
	    --arg cmt "$MT_OCI_CONFIG" \
	    '{schemaVersion: 2, mediaType: $mt,
	      config: {mediaType: $cmt, digest: $cd, size: $cs},
	      layers: $layers}' >"$work/manifest"
	local msize
	msize=$(file_size "$work/manifest")
	cp "$work/manifest" "$TMP/$(basename "$dir").manifest.json"
	OCI_MANIFEST_FILE="$TMP/$(basename "$dir").manifest.json"
	OCI_MANIFEST_DIGEST=$(_oci_put_blob "$dir" "$work/manifest")
	jq -n --arg d "$OCI_MANIFEST_DIGEST" --argjson s "$msize" \
	    --arg mt "$MT_OCI_MANIFEST" \
	    '{schemaVersion: 2, manifests: [{mediaType: $mt, digest: $d,
	      size: $s, annotations: {"org.opencontainers.image.ref.name":
	      "v1"}}]}' >"$dir/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	rm -rf "$work"
}

# metric NAME: sum of the samples of NAME in the gateway's /metrics.
metric()
{
	local -a ck=()
	[ -n "$GW_CACERT" ] && ck=(--cacert "$GW_CACERT")
	curl -s "${ck[@]}" --max-time 5 "$GW_URL/metrics" |
	    awk -v n="$1" '
		$1 == n || index($1, n "{") == 1 { s += $NF; found = 1 }
		END { if (found) print s; else print "missing" }'
}

# --- auth helpers
# For t_auth*.sh: credentials, regward tokens from /token, and ID tokens
# (JWS) minted with openssl so the tests hold their own OIDC keys.

# b64url: stdin as unpadded base64url on one line.
b64url() { basenc --base64url -w0 | tr -d '='; }

# b64url_decode S: decode unpadded base64url S to stdout.
b64url_decode()
{
	local s=$1
	case $((${#s} % 4)) in
	2) s="$s==" ;;
	3) s="$s=" ;;
	esac
	printf '%s' "$s" | basenc --base64url -d
}

# hex2bin: hex digits on stdin (whitespace ignored) to bytes on stdout.
hex2bin() { perl -0777 -ne 's/\s//g; print pack("H*", $_)'; }

# bin2hex FILE: lower-case hex of FILE on one line.
bin2hex() { perl -0777 -ne 'print unpack("H*", $_)' "$1"; }

# jwt_part TOKEN N: the decoded JSON of part N (1 header, 2 payload).
jwt_part() { b64url_decode "$(cut -d. -f"$2" <<<"$1")"; }
jwt_payload() { jwt_part "$1" 2; }
jwt_header() { jwt_part "$1" 1; }

# rsa_jwk_make DIR KID: a 2048-bit RSA key in DIR/key.pem, its public key
# in DIR/pub.pem and its JWK (kty RSA, alg RS256, use sig, kid KID) in
# DIR/jwk.json.
rsa_jwk_make()
{
	local dir=$1 kid=$2 n e
	mkdir -p "$dir"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$dir/key.pem" 2>/dev/null || fail "openssl genpkey RSA"
	openssl pkey -in "$dir/key.pem" -pubout -out "$dir/pub.pem"
	n=$(openssl rsa -in "$dir/key.pem" -noout -modulus |
	    sed 's/^Modulus=//' | hex2bin | b64url)
	e=$(openssl rsa -in "$dir/key.pem" -noout -text |
	    sed -n 's/^publicExponent: [0-9]* (0x\([0-9a-fA-F]*\)).*/\1/p')
	[ $((${#e} % 2)) = 0 ] || e="0$e"
	e=$(printf '%s' "$e" | hex2bin | b64url)
	[ -n "$n" ] && [ -n "$e" ] || fail "rsa_jwk_make: no modulus/exponent"
	jq -n --arg kid "$kid" --arg n "$n" --arg e "$e" \
	    '{kty: "RSA", kid: $kid, use: "sig", alg: "RS256", n: $n, e: $e}' \
	    >"$dir/jwk.json"
}

# jwks_write OUT DIR...: a JWK Set of the jwk.json files in each DIR.
jwks_write()
{
	local out=$1 d
	shift
	for d in "$@"; do cat "$d/jwk.json"; done | jq -s '{keys: .}' >"$out"
}

# jws_input HEADER_JSON PAYLOAD_JSON: "b64url(header).b64url(payload)".
jws_input()
{
	printf '%s.%s' "$(printf '%s' "$1" | b64url)" \
	    "$(printf '%s' "$2" | b64url)"
}

# jwt_rs256 KEY_PEM HEADER_JSON PAYLOAD_JSON: a compact RS256 JWS.
jwt_rs256()
{
	local in sig
	in=$(jws_input "$2" "$3")
	sig=$(printf '%s' "$in" | openssl dgst -sha256 -binary -sign "$1" |
	    b64url) || fail "jwt_rs256: openssl dgst -sign"
	printf '%s.%s\n' "$in" "$sig"
}

# jwt_hs256 SECRET_FILE HEADER_JSON PAYLOAD_JSON: a compact HS256 JWS
# whose HMAC key is the exact bytes of SECRET_FILE (newlines included).
jwt_hs256()
{
	local in sig
	in=$(jws_input "$2" "$3")
	sig=$(printf '%s' "$in" | openssl dgst -sha256 -binary -mac HMAC \
	    -macopt "hexkey:$(bin2hex "$1")" | b64url) ||
	    fail "jwt_hs256: openssl dgst -mac HMAC"
	printf '%s.%s\n' "$in" "$sig"
}

# jwt_es256 KEY_PEM HEADER_JSON PAYLOAD_JSON: a compact ES256 JWS, the
# DER signature from openssl turned into the r||s of RFC 7518.
jwt_es256()
{
	local in r s
	in=$(jws_input "$2" "$3")
	printf '%s' "$in" | openssl dgst -sha256 -binary -sign "$1" \
	    >"$TMP/es256.der" || fail "jwt_es256: openssl dgst -sign"
	{ read -r r; read -r s; } < <(openssl asn1parse -inform DER \
	    -in "$TMP/es256.der" | awk -F: '/INTEGER/ { print $NF }')
	r=$(printf '%064s' "${r: -64}" | tr ' ' 0)
	s=$(printf '%064s' "${s: -64}" | tr ' ' 0)
	printf '%s.%s\n' "$in" "$(printf '%s%s' "$r" "$s" | hex2bin | b64url)"
}

# user_add NAME PASSWORD ROLE...: a database user with those roles.
user_add()
{
	local name=$1 pw=$2 r
	local -a roles=()
	shift 2
	for r in "$@"; do roles+=(--role "$r"); done
	"$REGWARD_BIN" user add "$name" "${roles[@]}" --password-stdin \
	    -c "$GW_CFG" <<<"$pw" >/dev/null || fail "user add $name"
}

# robot_add NAME ROLE...: a robot; prints its secret.
robot_add()
{
	local name=$1 r
	local -a roles=()
	shift
	for r in "$@"; do roles+=(--role "$r"); done
	"$REGWARD_BIN" robot add "$name" "${roles[@]}" -c "$GW_CFG" \
	    </dev/null || fail "robot add $name"
}

# auth_config_write EXTRA_JSON: write $GW_CFG before the gateway starts,
# so user_add/robot_add have a database path (start_gateway rewrites it
# with the same database).
auth_config_write()
{
	jq -n --arg db "$TMP/regward.db" --argjson extra "${1:-"{}"}" \
	    '{listen: "127.0.0.1:0", public_url: "http://127.0.0.1:1",
	      upstream: {url: "http://127.0.0.1:1"}, database: $db} * $extra' \
	    >"$GW_CFG"
}

# gw_service: the token service name regward uses by default.
gw_service() { echo "${GW_URL#*://}"; }

# fetch_token CREDS SCOPE...: GET /token with Basic CREDS ("user:pass",
# or "" for none) and one scope parameter per SCOPE. Sets HTTP_STATUS,
# TOKEN (empty unless 200 with a token); the body is in $TMP/b.
TOKEN=""
fetch_token()
{
	local creds=$1 s
	local -a args=(-G --data-urlencode "service=$(gw_service)")
	shift
	for s in "$@"; do args+=(--data-urlencode "scope=$s"); done
	[ -n "$creds" ] && args+=(-u "$creds")
	http GET "$GW_URL/token" "${args[@]}"
	TOKEN=""
	if [ "$HTTP_STATUS" = 200 ]; then
		TOKEN=$(jq -r '.token // empty' "$TMP/b" 2>/dev/null || true)
	fi
}

# token_actions TOKEN NAME: the actions the token grants on repository
# NAME, sorted, comma-separated ("" for none).
token_actions()
{
	jwt_payload "$1" | jq -r --arg n "$2" '[.access[]? |
	    select(.type == "repository" and .name == $n) | .actions[]] |
	    unique | join(",")'
}

# auth_push_blob REPO FILE CURL_ARGS...: POST an upload, then PUT FILE to
# its Location, both with CURL_ARGS (credentials). Sets HTTP_STATUS to
# the status of the step that ended it and PUSH_STEP (post or put);
# headers and body of that step are in $TMP/h and $TMP/b.
PUSH_STEP=""
auth_push_blob()
{
	local repo=$1 file=$2 loc
	shift 2
	PUSH_STEP=post
	http POST "$GW_URL/v2/$repo/blobs/uploads/" "$@"
	[ "$HTTP_STATUS" = 202 ] || return 0
	loc=$(abs_url "$(hdr Location)")
	PUSH_STEP=put
	http PUT "$(with_query "$loc" "digest=$(file_digest "$file")")" \
	    -H 'Content-Type: application/octet-stream' \
	    --data-binary @"$file" "$@"
}

# auth_push_image DIR REPO TAG CURL_ARGS...: push the OCI layout DIR
# (from make_oci_image: its blobs, then its manifest) with CURL_ARGS.
# Fails unless every step succeeds.
auth_push_image()
{
	local dir=$1 repo=$2 tag=$3 f mf
	shift 3
	mf=$(jq -r '.manifests[0].digest' "$dir/index.json")
	for f in "$dir"/blobs/sha256/*; do
		[ "sha256:$(basename "$f")" = "$mf" ] && continue
		auth_push_blob "$repo" "$f" "$@"
		[ "$HTTP_STATUS" = 201 ] ||
		    fail "auth_push_image $repo: blob $PUSH_STEP gave $HTTP_STATUS: $(head -c 300 "$TMP/b")"
	done
	http PUT "$GW_URL/v2/$repo/manifests/$tag" "$@" \
	    -H "Content-Type: $MT_OCI_MANIFEST" \
	    --data-binary @"$dir/blobs/sha256/${mf#sha256:}"
	[ "$HTTP_STATUS" = 201 ] ||
	    fail "auth_push_image $repo:$tag: manifest PUT gave $HTTP_STATUS: $(head -c 300 "$TMP/b")"
}

# reg_writes REPO: POST/PUT/PATCH/DELETE requests for /v2/REPO/ in the
# registry's access log so far (after a short settle).
reg_writes()
{
	sleep 0.2
	grep -E '\] "(POST|PUT|PATCH|DELETE) ' "$REG_LOG" |
	    grep -cF " /v2/$1/" || true
}

# reg_hits STRING: registry access-log lines containing STRING
# (case-insensitive), after a short settle.
reg_hits()
{
	sleep 0.2
	grep -E '\] "[A-Z]+ ' "$REG_LOG" | grep -ciF -- "$1" || true
}

# reg_status METHOD PATH [CURL_ARGS...]: status of a request straight to
# the registry, bypassing the gateway (what is really stored).
reg_status()
{
	local m=$1 p=$2
	shift 2
	http_status "$m" "$REG_URL$p" "$@"
}

# assert_status_in DESC "S1 S2 ..." : HTTP_STATUS is one of the list.
assert_status_in()
{
	case " $2 " in
	*" $HTTP_STATUS "*) ;;
	*) fail "$1: status $HTTP_STATUS, want one of: $2 (body: $(head -c 300 "$TMP/b"))" ;;
	esac
}

# assert_oci_code DESC CODE: the body in $TMP/b is an OCI error whose
# errors[0].code is CODE.
assert_oci_code()
{
	assert_eq "$2" "$(oci_error_code)" "$1: OCI error code"
}

# challenge_param NAME: the value of NAME="..." in the WWW-Authenticate
# header in $TMP/h ("" when absent).
challenge_param()
{
	hdr WWW-Authenticate | sed -n "s/.*[ ,]$1=\"\\([^\"]*\\)\".*/\\1/p"
}

# oci_error_text: errors[0].message and errors[0].detail (when a string)
# of the body in $TMP/b, on one line.
oci_error_text()
{
	jq -r '.errors[0] | [.message, (.detail | strings)] | join(" | ")' \
	    "$TMP/b" 2>/dev/null || true
}

# assert_last_reason SUBSTRING DESC: the gateway's log line for the last
# request (waiting up to 2 s for it) has a reason containing SUBSTRING.
assert_last_reason()
{
	local want=$1 desc=$2 r="" i
	for i in $(seq 20); do
		r=$(grep '"msg":"request"' "$GW_LOG" | tail -n 1 |
		    jq -r '.reason // empty' 2>/dev/null || true)
		case $r in
		*"$want"*) return 0 ;;
		esac
		sleep 0.1
	done
	fail "$desc: reason logged for the last request is '$r', want '$want'"
}
