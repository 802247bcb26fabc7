#!/usr/bin/env bash
# Instructions per proxied manifest GET, counted by callgrind: a measure
# that does not move when other work shares the CPUs (bench/run.sh's
# req/s do).
#
#   bench/instructions.sh [REGWARD_BIN]
#
# Starts docker-registry and `regward serve` (under valgrind --tool=callgrind)
# on 127.0.0.1 with auth and a pull policy like bench/run.sh's auth section,
# pushes a small manifest, then for Basic (cached) and for a Bearer token
# it warms up, zeroes the counters, runs N keep-alive GETs (ab -k -c 4),
# dumps, and prints Ir per request (all threads, the ledger writer
# included). The callgrind files and the gateway log stay in $OUT
# (default /tmp/regward-instr) for callgrind_annotate.
#
# Ir counts user-space instructions only (not the kernel's share of each
# request), and valgrind hides SHA-NI, so SHA-256 counts higher than it
# runs; compare builds with it, not with wall-clock figures.
#
# Environment: BENCH_INSTR_N (2000), BENCH_INSTR_OUT (/tmp/regward-instr).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-build/gateway/regward}")
N=${BENCH_INSTR_N:-2000}
OUT=${BENCH_INSTR_OUT:-/tmp/regward-instr}
MT=application/vnd.oci.image.manifest.v1+json
for t in valgrind callgrind_control docker-registry ab curl jq sha256sum; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT"
T=$(mktemp -d /tmp/regward-instr.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() { # URL: up within 60 s (valgrind starts slowly)
	local i
	for i in $(seq 1 600); do
		curl -s -o /dev/null -m 2 "$1" && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	return 1
}

RP=$(freeport)
mkdir -p "$T/data"
cat >"$T/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/data
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$RP
EOF
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$RP/v2/"

push_blob() { # FILE
	local d loc sep
	d=sha256:$(sha256sum "$1" | cut -d' ' -f1)
	loc=$(curl -sS -D - -o /dev/null -X POST \
		"http://127.0.0.1:$RP/v2/bench/manifest/blobs/uploads/" |
		tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
	[[ $loc == *\?* ]] && sep='&' || sep='?'
	[[ $loc == http* ]] || loc="http://127.0.0.1:$RP$loc"
	curl -sS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
		--data-binary @"$1" "$loc${sep}digest=$d"
	echo "$d"
}
head -c 1024 /dev/urandom >"$T/layer"
LD=$(push_blob "$T/layer")
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' \
	"$LD" >"$T/config.json"
CD=$(push_blob "$T/config.json")
jq -cn --arg cd "$CD" --argjson cs "$(stat -c %s "$T/config.json")" \
	--arg ld "$LD" --argjson ls 1024 '{schemaVersion: 2, mediaType: "'$MT'",
	config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
	layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]}' |
	tr -d '\n' >"$T/manifest.json"
curl -sS -f -o /dev/null -X PUT -H "Content-Type: $MT" --data-binary @"$T/manifest.json" \
	"http://127.0.0.1:$RP/v2/bench/manifest/manifests/latest"

GP=$(freeport)
cat >"$T/regward.json" <<EOF
{
  "listen": "127.0.0.1:$GP",
  "public_url": "http://127.0.0.1:$GP",
  "upstream": {"url": "http://127.0.0.1:$RP"},
  "database": "$T/regward.db",
  "log": {"file": "$T/regward.log"},
  "auth": {"token": {"key": "$T/token.pem"}},
  "policies": [{"repository": "bench/**", "pull": ["*"], "push": ["role:ci"]}]
}
EOF
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.%p" \
	"$BIN" serve -c "$T/regward.json" >"$T/regward.out" 2>&1 &
VG=$!
PIDS+=($VG)
wait_http "http://127.0.0.1:$GP/healthz"
B=http://127.0.0.1:$GP
"$BIN" user add bench --role ci --password-stdin -c "$T/regward.json" \
	<<<"bench-password" >/dev/null
BASIC="Authorization: Basic $(printf 'bench:bench-password' | base64 -w0)"
TOK=$(curl -sS -u bench:bench-password \
	"$B/token?service=127.0.0.1:$GP&scope=repository:bench/manifest:pull" | jq -r .token)
BEARER="Authorization: Bearer $TOK"
URL=$B/v2/bench/manifest/manifests/latest

for kind in basic bearer; do
	[[ $kind == basic ]] && H=$BASIC || H=$BEARER
	# warm: the Basic login cached, the pool filled, the token seen once
	ab -q -k -n 50 -c 4 -H "Accept: $MT" -H "$H" "$URL" >"$T/ab.warm" 2>&1
	callgrind_control -z "$VG" >/dev/null
	ab -k -n "$N" -c 4 -H "Accept: $MT" -H "$H" "$URL" >"$T/ab.$kind" 2>&1
	callgrind_control -d "$kind" "$VG" >/dev/null
	ok=$(awk '/^Complete requests/{print $3}' "$T/ab.$kind")
	bad=$(awk '/^Non-2xx responses/{print $3}' "$T/ab.$kind")
	f=$(ls -t "$OUT"/callgrind.out.* | head -n 1)
	mv "$f" "$OUT/$kind.out"
	ir=$(awk '/^summary:|^totals:/{print $2; exit}' "$OUT/$kind.out")
	printf '%-7s requests %s (non-2xx %s)  Ir %s  Ir/request %d\n' \
		"$kind" "$ok" "${bad:-0}" "$ir" $((ir / N))
done
grep -c '"status":200' "$T/regward.log" | sed 's/^/log lines with status 200: /'
cp "$T/regward.log" "$OUT/regward.log"
