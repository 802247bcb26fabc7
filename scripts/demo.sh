#!/usr/bin/env bash
# Install, build, and run regward in front of a local docker-registry, all on
# 127.0.0.1, with a generated config under ./demo/. Ctrl-C stops both.
#
#   REGWARD_PORT (default 5000)   where clients connect: http://127.0.0.1:5000
#   REGISTRY_PORT (default 5001)  the upstream registry, loopback only
#   DEMO_TLS=1                    serve HTTPS with a generated self-signed cert
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/deps.sh
scripts/build.sh

port=${REGWARD_PORT:-5000}
rport=${REGISTRY_PORT:-5001}
demo=$root/demo
mkdir -p "$demo/registry"

cat >"$demo/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $demo/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$rport
YAML

scheme=http tls=
if [ "${DEMO_TLS:-0}" = 1 ]; then
	scheme=https
	if [ ! -f "$demo/tls.crt" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -days 30 -subj /CN=127.0.0.1 \
			-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
			-keyout "$demo/tls.key" -out "$demo/tls.crt" 2>/dev/null
	fi
	tls=",\"tls\":{\"cert\":\"$demo/tls.crt\",\"key\":\"$demo/tls.key\"}"
fi
cat >"$demo/regward.json" <<JSON
{
  "listen": "127.0.0.1:$port",
  "public_url": "$scheme://127.0.0.1:$port",
  "upstream": { "url": "http://127.0.0.1:$rport" },
  "database": "$demo/regward.db"$tls
}
JSON

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

docker-registry serve "$demo/registry.yml" >"$demo/registry.log" 2>&1 &
pids+=($!)
build/gateway/regward check -c "$demo/regward.json"
build/gateway/regward serve -c "$demo/regward.json" &
pids+=($!)

cat >&2 <<MSG

regward: $scheme://127.0.0.1:$port  ->  docker-registry: http://127.0.0.1:$rport
config: $demo/regward.json   registry log: $demo/registry.log
try:    curl -s $scheme://127.0.0.1:$port/healthz${tls:+ -k}
        skopeo copy --dest-tls-verify=false docker-archive:IMAGE.tar docker://127.0.0.1:$port/demo/app:1
Ctrl-C stops both.

MSG
wait -n "${pids[@]}"
