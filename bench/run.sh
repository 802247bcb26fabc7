#!/usr/bin/env bash
# bench/run.sh: measure docker-registry alone, nginx in front of it and
# regward in front of it, side by side in one run, on 127.0.0.1.
#
# Run from the project root after building:
#   bench/run.sh
#   BENCH_BLOB_MB=64 BENCH_SECONDS=3 bench/run.sh      # quick check
# See bench/README.md for what each number means and every knob.
#
# Prints a table on stdout, progress on stderr, and writes bench/RESULTS.md
# (or $BENCH_RESULTS). Every port is picked free at run time, every file
# lives in one mktemp directory, and every process it starts is stopped by
# PID on exit. When regward is missing or fails, its column reads n/a and
# the other two targets are still measured.
set -euo pipefail

# ---------------------------------------------------------------- knobs
BLOB_MB=${BENCH_BLOB_MB:-1024}
DURATION=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}
LOAD_RUNS=${BENCH_LOAD_RUNS:-1}
AB_N=${BENCH_AB_N:-20000}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
PAR=${BENCH_PARALLEL:-8}
TMPBASE=${BENCH_TMPDIR:-/tmp}
KEEP=${BENCH_KEEP:-0}
EXPECT_100=${BENCH_EXPECT_100:-0}
NGINX_BUFFER=${BENCH_NGINX_BUFFER:-64k}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=${BENCH_RESULTS:-$ROOT/bench/RESULTS.md}
REGWARD_BIN=${REGWARD_BIN:-build/gateway/regward}
if [[ $REGWARD_BIN != /* ]]; then
	if [[ -e $PWD/$REGWARD_BIN ]]; then
		REGWARD_BIN=$PWD/$REGWARD_BIN
	else
		REGWARD_BIN=$ROOT/$REGWARD_BIN
	fi
fi

MANIFEST_TYPE=application/vnd.oci.image.manifest.v1+json
TARGETS=(reg nginx regward)
declare -A TNAME=([reg]=registry [nginx]=nginx [regward]=regward)

die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && (( $1 > 0 )); }
[[ $NGINX_BUFFER == default || $NGINX_BUFFER =~ ^[0-9]+[kKmM]?$ ]] ||
	die "BENCH_NGINX_BUFFER must be a size like 64k or 'default', got '$NGINX_BUFFER'"
for kv in BENCH_BLOB_MB:"$BLOB_MB" BENCH_SECONDS:"$DURATION" BENCH_RUNS:"$RUNS" \
	BENCH_LOAD_RUNS:"$LOAD_RUNS" BENCH_AB_N:"$AB_N" BENCH_CONNECTIONS:"$CONNS" \
	BENCH_THREADS:"$THREADS" BENCH_PARALLEL:"$PAR"; do
	is_uint "${kv#*:}" || die "${kv%%:*} must be a positive integer, got '${kv#*:}'"
done

need() {
	local tool=$1 pkg=$2
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found in PATH (Debian package: $pkg)"
}
need docker-registry docker-registry
need nginx nginx
need wrk wrk
need ab apache2-utils
need curl curl
need jq jq
need ss iproute2
need pgrep procps
need timeout coreutils
need sha256sum coreutils
need awk gawk/mawk
[[ -d $TMPBASE && -w $TMPBASE ]] || die "BENCH_TMPDIR '$TMPBASE' is not a writable directory"

# ---------------------------------------------------------------- state
T=$(mktemp -d "$TMPBASE/regward-bench.XXXXXX")
chmod 711 "$T" # nginx workers drop to nobody when started as root
PIDS=()        # every process started here, stopped by PID on exit
USED_PORTS=" "
declare -A R=()       # R[metric,target] = number (missing = n/a)
declare -A NOTE=()    # NOTE[target] = why its numbers are missing/suspect
declare -A PID=()     # PID[target] = process measured for RSS
declare -A BASE=()    # BASE[target] = http://127.0.0.1:port
declare -A ALIVE=()   # ALIVE[target] = 1 while usable

# forget_pid PID: once a child is reaped its PID may be reused by anyone;
# drop it so cleanup never signals a stranger.
forget_pid() {
	local p=$1 i
	for i in "${!PIDS[@]}"; do
		[[ ${PIDS[i]} == "$p" ]] && unset 'PIDS[i]'
	done
	PIDS=("${PIDS[@]}")
}

stop_pid() {
	local p=$1 i
	if ! kill -0 "$p" 2>/dev/null; then
		wait "$p" 2>/dev/null || true
		forget_pid "$p"
		return 0
	fi
	kill -TERM "$p" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		kill -KILL "$p" 2>/dev/null || true
	fi
	wait "$p" 2>/dev/null || true
	forget_pid "$p"
}

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
		stop_pid "${PIDS[i]}"
	done
	# Big files always go; logs stay when asked or when something failed.
	rm -rf "$T/registry-data" "$T/blob" "$T"/nginx/*_temp 2>/dev/null || true
	if [[ $KEEP == 1 || $rc != 0 ]]; then
		log "kept logs in $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# pick_port VAR: a TCP port nothing on this host uses, not handed out
# before in this run. Below the ephemeral range so clients can't take it.
pick_port() {
	local -n _out=$1
	local p i lo=20000 span=12000
	for i in $(seq 1 500); do
		p=$(( lo + (RANDOM * 32768 + RANDOM) % span ))
		[[ $USED_PORTS == *" $p "* ]] && continue
		if [[ -z $(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null) ]]; then
			USED_PORTS+="$p "
			_out=$p
			return 0
		fi
	done
	die "no free TCP port found"
}

http_code() { # URL [curl args...]
	local url=$1; shift
	curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" "$url" 2>/dev/null || true
}

# wait_http URL PID SECONDS: until URL answers 200 (0) or PID dies / time
# runs out (1). Each try waits at most 1s, so a server that accepts and
# never answers costs SECONDS, not more.
LAST_CODE=""
wait_http() {
	local url=$1 pid=$2 end=$(( SECONDS + $3 ))
	while (( SECONDS < end )); do
		kill -0 "$pid" 2>/dev/null || return 1
		LAST_CODE=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$url" 2>/dev/null || true)
		[[ $LAST_CODE == 200 ]] && return 0
		sleep 0.1
	done
	return 1
}

# exit_desc PID: reap a dead child and set EXIT_DESC to how it ended. Not
# in $(...): only this shell can reap its children.
EXIT_DESC=""
exit_desc() {
	local rc=0
	wait "$1" 2>/dev/null || rc=$?
	forget_pid "$1"
	if (( rc > 128 )); then
		EXIT_DESC="killed by signal $((rc-128)) ($(kill -l $((rc-128)) 2>/dev/null || echo ?))"
	else
		EXIT_DESC="exit status $rc"
	fi
}

tail_log() { # FILE: last lines, indented, for messages
	[[ -s $1 ]] && tail -n 15 "$1" | sed 's/^/    | /' >&2 || true
}

mib() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; }
kib_to_mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }

median() { # numbers on stdin
	sort -g | awk '{a[NR]=$1} END{if(!NR)exit 1; if(NR%2)print a[(NR+1)/2]; else printf "%.6g\n",(a[NR/2]+a[NR/2+1])/2}'
}
best() { sort -g | tail -n 1; }

proc_kb() { # PID FIELD -> kB value from /proc/PID/status
	awk -v f="$2:" '$1==f{print $2}' "/proc/$1/status" 2>/dev/null
}

# check_alive TARGET: 0 when the target's server still runs; otherwise
# records why and marks it dead.
check_alive() {
	local t=$1
	[[ ${ALIVE[$t]:-0} == 1 ]] || return 1
	if ! kill -0 "${PID[$t]}" 2>/dev/null ||
		{ [[ $t == nginx ]] && ! kill -0 "$NGINX_MASTER" 2>/dev/null; }; then
		ALIVE[$t]=0
		local how
		if [[ $t != nginx ]]; then exit_desc "${PID[$t]}"; how=$EXIT_DESC
		elif kill -0 "$NGINX_MASTER" 2>/dev/null; then how="worker ${PID[$t]} exited"
		else exit_desc "$NGINX_MASTER"; how="master $EXIT_DESC"; fi
		NOTE[$t]+="${NOTE[$t]:+; }process died during '$PHASE' ($how)"
		log "${TNAME[$t]} died during '$PHASE' ($how); its remaining numbers are n/a"
		[[ $t == regward ]] && tail_log "$T/regward.out"
		[[ $t == regward ]] && tail_log "$T/regward.log"
		return 1
	fi
	return 0
}

suspect() { # TARGET MESSAGE
	NOTE[$1]+="${NOTE[$1]:+; }$2"
	log "${TNAME[$1]}: $2"
}

# ---------------------------------------------------------------- setup
PHASE=setup
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" 'BEGIN{exit !(l >= 0.5)}'; then
	log "warning: load average is already $LOAD_START; other work on this machine will skew the numbers"
fi
log "work dir $T; blob ${BLOB_MB} MiB, ${DURATION}s per load test, ${RUNS} runs per blob test"

BLOB_BYTES=$(( BLOB_MB * 1048576 ))
log "generating ${BLOB_MB} MiB random blob"
head -c "$BLOB_BYTES" /dev/urandom >"$T/blob"
BLOB_DIGEST=sha256:$(sha256sum "$T/blob" | cut -d' ' -f1)

# -- 1. docker-registry alone
start_registry() {
	local try port
	mkdir -p "$T/registry-data"
	for try in 1 2 3; do
		pick_port port
		cat >"$T/registry.yml" <<-EOF
		version: 0.1
		log:
		  level: warn
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $T/registry-data
		  delete:
		    enabled: true
		  cache:
		    blobdescriptor: inmemory
		http:
		  addr: 127.0.0.1:$port
		EOF
		docker-registry serve "$T/registry.yml" >>"$T/registry.log" 2>&1 &
		local pid=$!
		PIDS+=("$pid")
		if wait_http "http://127.0.0.1:$port/v2/" "$pid" 20; then
			PID[reg]=$pid; BASE[reg]=http://127.0.0.1:$port; ALIVE[reg]=1
			REG_PORT=$port
			return 0
		fi
		stop_pid "$pid"
		log "docker-registry did not come up on port $port (try $try)"
	done
	tail_log "$T/registry.log"
	die "docker-registry failed to start; log: $T/registry.log"
}
log "starting docker-registry"
start_registry

# -- 2. nginx, as the distribution "authenticate proxy with nginx" recipe
# (recipes/nginx), without TLS and auth, tuned for streaming.
start_nginx() {
	local try port d=$T/nginx
	mkdir -p "$d"
	chmod 755 "$d"
	# With proxy_buffering off nginx relays through one proxy_buffer_size
	# buffer (4k by default), which costs it most of its blob throughput.
	local bufconf="# proxy_buffer_size left at nginx's default"
	if [[ $NGINX_BUFFER != default ]]; then
		bufconf="proxy_buffer_size $NGINX_BUFFER; proxy_buffers 4 $NGINX_BUFFER; proxy_busy_buffers_size $NGINX_BUFFER;"
	fi
	for try in 1 2 3; do
		pick_port port
		cat >"$d/nginx.conf" <<-EOF
		# Generated by bench/run.sh. Based on the CNCF distribution recipe
		# "Authenticate proxy with nginx", minus TLS and basic auth, tuned
		# for streaming and with keep-alive to the upstream.
		worker_processes 1;
		pid $d/nginx.pid;
		error_log $d/error.log warn;
		events {
		    worker_connections 1024;
		}
		http {
		    access_log off;
		    client_body_temp_path $d/client_body_temp;
		    proxy_temp_path $d/proxy_temp;
		    fastcgi_temp_path $d/fastcgi_temp;
		    uwsgi_temp_path $d/uwsgi_temp;
		    scgi_temp_path $d/scgi_temp;

		    upstream docker-registry {
		        server 127.0.0.1:$REG_PORT;
		        keepalive 32;
		    }

		    ## The registry always sets this header; add it only when the
		    ## upstream did not (as in the recipe), so it is never doubled.
		    map \$upstream_http_docker_distribution_api_version \$docker_distribution_api_version {
		        '' 'registry/2.0';
		    }

		    server {
		        listen 127.0.0.1:$port;
		        server_name localhost;

		        # disable any limits to avoid HTTP 413 for large image uploads
		        client_max_body_size 0;
		        # required to avoid HTTP 411 (moby/moby#1486)
		        chunked_transfer_encoding on;

		        location /v2/ {
		            # Do not allow connections from docker 1.5 and earlier
		            if (\$http_user_agent ~ "^(docker\/1\.(3|4|5(?!\.[0-9]-dev))|Go ).*\$" ) {
		                return 404;
		            }
		            auth_basic off;

		            add_header 'Docker-Distribution-Api-Version' \$docker_distribution_api_version always;

		            proxy_pass                          http://docker-registry;
		            proxy_set_header  Host              \$http_host;
		            proxy_set_header  X-Real-IP         \$remote_addr;
		            proxy_set_header  X-Forwarded-For   \$proxy_add_x_forwarded_for;
		            proxy_set_header  X-Forwarded-Proto \$scheme;
		            proxy_read_timeout                  900;

		            # streaming and upstream keep-alive
		            proxy_buffering off;
		            proxy_request_buffering off;
		            proxy_http_version 1.1;
		            proxy_set_header  Connection        "";
		            $bufconf
		        }
		    }
		}
		EOF
		nginx -t -q -p "$d/" -e "$d/error.log" -c "$d/nginx.conf" 2>>"$d/error.log" ||
			{ tail_log "$d/error.log"; die "nginx rejected $d/nginx.conf"; }
		nginx -p "$d/" -e "$d/error.log" -c "$d/nginx.conf" -g 'daemon off;' \
			>>"$d/stdout.log" 2>&1 &
		local pid=$!
		PIDS+=("$pid")
		if wait_http "http://127.0.0.1:$port/v2/" "$pid" 10; then
			NGINX_MASTER=$pid
			local w
			w=$(pgrep -P "$pid" | head -n 1)
			[[ -n $w ]] || die "nginx worker process not found"
			PID[nginx]=$w; BASE[nginx]=http://127.0.0.1:$port; ALIVE[nginx]=1
			return 0
		fi
		stop_pid "$pid"
		log "nginx did not come up on port $port (try $try)"
	done
	tail_log "$d/error.log"
	die "nginx failed to start; log: $d/error.log"
}
log "starting nginx"
start_nginx

# -- 3. regward
REGWARD_VERSION="n/a"
start_regward() {
	local port pid
	if [[ ! -x $REGWARD_BIN ]]; then
		NOTE[regward]="not built ($REGWARD_BIN missing or not executable)"
		log "regward: ${NOTE[regward]}; its column will be n/a"
		return 0
	fi
	REGWARD_VERSION=$(timeout 5 "$REGWARD_BIN" --version 2>&1 | head -n 1) ||
		REGWARD_VERSION="n/a (--version failed: ${REGWARD_VERSION:-no output})"
	pick_port port
	cat >"$T/regward.json" <<-EOF
	{
	  "listen": "127.0.0.1:$port",
	  "public_url": "http://127.0.0.1:$port",
	  "upstream": {"url": "http://127.0.0.1:$REG_PORT"},
	  "database": "$T/regward.db",
	  "log": {"file": "$T/regward.log"}
	}
	EOF
	"$REGWARD_BIN" serve -c "$T/regward.json" >"$T/regward.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	if wait_http "http://127.0.0.1:$port/healthz" "$pid" 10; then
		PID[regward]=$pid; BASE[regward]=http://127.0.0.1:$port; ALIVE[regward]=1
		return 0
	fi
	if kill -0 "$pid" 2>/dev/null; then
		local hz=$LAST_CODE
		[[ $hz == 000 ]] && hz="no answer within 1s"
		# /healthz broken but the proxy may still work: measure it anyway.
		if [[ $(http_code "http://127.0.0.1:$port/v2/") == 200 ]]; then
			PID[regward]=$pid; BASE[regward]=http://127.0.0.1:$port; ALIVE[regward]=1
			NOTE[regward]="GET /healthz did not answer 200 within 10s (last try: $hz), but GET /v2/ through it did, so it was measured anyway"
			log "regward: ${NOTE[regward]}"
			return 0
		fi
		NOTE[regward]="started but neither /healthz nor /v2/ answered 200 within 10s (/healthz last try: $hz)"
		stop_pid "$pid"
	else
		exit_desc "$pid"
		NOTE[regward]="failed to start ($EXIT_DESC)"
	fi
	log "regward: ${NOTE[regward]}; its column will be n/a"
	tail_log "$T/regward.out"
	tail_log "$T/regward.log"
}
log "starting regward ($REGWARD_BIN)"
start_regward

for t in "${TARGETS[@]}"; do
	[[ ${ALIVE[$t]:-0} == 1 ]] || continue
	R[rss_idle,$t]=$(proc_kb "${PID[$t]}" VmRSS)
done

# ---------------------------------------------------------------- uploads
# Blob transfers: an overall cap, and give up on a stall (< 1 MiB/s for
# 15 s) so a hung proxy costs seconds, not the whole cap.
XFER_TIMEOUT=$(( 60 + BLOB_MB / 4 ))
XFER=(-m "$XFER_TIMEOUT" --speed-limit 1048576 --speed-time 15)

# xfer_failed TARGET WHAT: after a failed blob transfer; a target whose
# transfers fail 3 times (stall, timeout, reset) is given up on.
declare -A XFER_FAILS=()
xfer_failed() {
	local t=$1 what=$2
	suspect "$t" "$what: curl failed: $(head -c 200 "$T/curl.err" | tr '\n' ' ')"
	check_alive "$t" || return 0
	XFER_FAILS[$t]=$(( ${XFER_FAILS[$t]:-0} + 1 ))
	if (( XFER_FAILS[$t] == 3 )); then
		suspect "$t" "3 blob transfers failed: its remaining blob numbers are n/a"
	fi
}
blob_ok() { # TARGET: alive and blob transfers not given up on
	check_alive "$1" && (( ${XFER_FAILS[$1]:-0} < 3 ))
}
CURL_UP=(-H 'Content-Type: application/octet-stream')
[[ $EXPECT_100 == 1 ]] || CURL_UP+=(-H 'Expect:')

# upload_start BASE REPO -> prints the upload path+query (relative to BASE)
# Writes a warning to $T/upload.warn when Location points somewhere else
# (this runs in a subshell, so no variable would survive).
upload_start() {
	local base=$1 repo=$2 hdrs code loc path
	hdrs=$(curl -sS -m 30 -D - -o /dev/null -X POST -H 'Content-Length: 0' \
		"$base/v2/$repo/blobs/uploads/") || return 1
	code=$(printf '%s' "$hdrs" | awk 'NR==1{print $2}')
	[[ $code == 202 ]] || { echo "POST uploads/ answered $code" >&2; return 1; }
	loc=$(printf '%s' "$hdrs" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}' | tail -n 1)
	[[ -n $loc ]] || { echo "POST uploads/ gave no Location" >&2; return 1; }
	: >"$T/upload.warn"
	if [[ $loc == http://* || $loc == https://* ]]; then
		local auth=${loc#*://}; auth=${auth%%/*}
		path=/${loc#*://*/}
		[[ "http://$auth" == "$base" ]] ||
			echo "upload Location points at $auth, not at ${base#http://}" >"$T/upload.warn"
	else
		path=$loc
	fi
	printf '%s\n' "$path"
}

# push_blob BASE REPO FILE DIGEST [curl-w-format] -> prints curl -w output
push_blob() {
	local base=$1 repo=$2 file=$3 digest=$4 fmt=${5:-'%{http_code}'} path sep
	path=$(upload_start "$base" "$repo") || return 1
	[[ $path == *\?* ]] && sep='&' || sep='?'
	curl -sS "${XFER[@]}" -o /dev/null -X PUT "${CURL_UP[@]}" \
		-T "$file" -w "$fmt" "$base$path${sep}digest=$digest"
}


log "pushing the ${BLOB_MB} MiB blob directly to the registry"
PHASE="setup push"
code=$(push_blob "${BASE[reg]}" bench/pull "$T/blob" "$BLOB_DIGEST") ||
	die "pushing the blob to docker-registry failed"
[[ $code == 201 ]] || die "pushing the blob to docker-registry answered $code"

# Small OCI image: a config blob and one 1 KiB layer.
head -c 1024 /dev/urandom >"$T/layer"
LAYER_DIGEST=sha256:$(sha256sum "$T/layer" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' \
	"$LAYER_DIGEST" >"$T/config.json"
CONFIG_DIGEST=sha256:$(sha256sum "$T/config.json" | cut -d' ' -f1)
for f in layer config.json; do
	d=sha256:$(sha256sum "$T/$f" | cut -d' ' -f1)
	code=$(push_blob "${BASE[reg]}" bench/manifest "$T/$f" "$d") || die "pushing $f failed"
	[[ $code == 201 ]] || die "pushing $f answered $code"
done
jq -cn --arg cd "$CONFIG_DIGEST" --argjson cs "$(stat -c %s "$T/config.json")" \
	--arg ld "$LAYER_DIGEST" --argjson ls "$(stat -c %s "$T/layer")" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
	layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]
}' | tr -d '\n' >"$T/manifest.json"
MANIFEST_DIGEST=sha256:$(sha256sum "$T/manifest.json" | cut -d' ' -f1)
code=$(curl -sS -m 30 -o "$T/manifest-put.out" -w '%{http_code}' -X PUT \
	-H "Content-Type: $MANIFEST_TYPE" --data-binary @"$T/manifest.json" \
	"${BASE[reg]}/v2/bench/manifest/manifests/latest") || die "manifest PUT failed"
[[ $code == 201 ]] || { cat "$T/manifest-put.out" >&2; die "manifest PUT answered $code"; }

# ---------------------------------------------------------------- correctness
# Each proxy must hand back the same bytes as the registry before its
# speed means anything.
PHASE="correctness check"
for t in "${TARGETS[@]}"; do
	check_alive "$t" || continue
	b=${BASE[$t]}
	got=$(curl -sS -m 10 -H "Accept: $MANIFEST_TYPE" -D "$T/mhdr.$t" \
		"$b/v2/bench/manifest/manifests/latest" | sha256sum | cut -d' ' -f1) || got=fail
	if [[ sha256:$got != "$MANIFEST_DIGEST" ]]; then
		suspect "$t" "manifest GET body differs from what was pushed (status $(awk 'NR==1{print $2}' "$T/mhdr.$t"))"
	fi
	if ! tr -d '\r' <"$T/mhdr.$t" | grep -qi "^docker-content-digest: $MANIFEST_DIGEST\$"; then
		suspect "$t" "manifest GET lacks the right Docker-Content-Digest header"
	fi
	n=$(tr -d '\r' <"$T/mhdr.$t" | grep -ci '^docker-distribution-api-version:' || true)
	[[ $n == 1 ]] || suspect "$t" "manifest GET has $n Docker-Distribution-Api-Version headers (want 1)"
	hc=$(http_code "$b/v2/bench/manifest/manifests/latest" -I -H "Accept: $MANIFEST_TYPE")
	[[ $hc == 200 ]] || suspect "$t" "manifest HEAD answered $hc"
	log "checking blob GET bytes via ${TNAME[$t]}"
	if ! got=$(set -o pipefail; curl -sS "${XFER[@]}" "$b/v2/bench/pull/blobs/$BLOB_DIGEST" 2>"$T/curl.err" |
		sha256sum | cut -d' ' -f1); then
		xfer_failed "$t" "blob GET check"
	elif [[ sha256:$got != "$BLOB_DIGEST" ]]; then
		suspect "$t" "blob GET body differs from the pushed blob (sha256 $got)"
	fi
	check_alive "$t" || true
done

# ---------------------------------------------------------------- blob GET
PHASE="blob GET"
log "blob GET: $RUNS runs per target, interleaved"
declare -A VALS=()
for (( r=1; r<=RUNS; r++ )); do
	for t in "${TARGETS[@]}"; do
		blob_ok "$t" || continue
		out=$(curl -sS "${XFER[@]}" -o /dev/null \
			-w '%{http_code} %{size_download} %{speed_download}' \
			"${BASE[$t]}/v2/bench/pull/blobs/$BLOB_DIGEST" 2>"$T/curl.err") || {
			xfer_failed "$t" "blob GET run $r"
			continue
		}
		read -r code size speed <<<"$out"
		if [[ $code != 200 || $size != "$BLOB_BYTES" ]]; then
			suspect "$t" "blob GET run $r: status $code, $size of $BLOB_BYTES bytes"
			continue
		fi
		VALS[$t]+="$speed "
		log "  ${TNAME[$t]} run $r: $(mib "$speed") MiB/s"
	done
done
for t in "${TARGETS[@]}"; do
	[[ -n ${VALS[$t]:-} ]] || continue
	R[blob_get,$t]=$(tr ' ' '\n' <<<"${VALS[$t]}" | grep . | median)
	R[blob_get_best,$t]=$(tr ' ' '\n' <<<"${VALS[$t]}" | grep . | best)
	R[blob_get_runs,$t]=$(tr ' ' '\n' <<<"${VALS[$t]}" | grep . | wc -l)
done

# ---------------------------------------------------------------- blob PUT
PHASE="blob PUT"
log "blob PUT (POST uploads/ + monolithic PUT): $RUNS runs per target, fresh repo each"
VALS=()
for (( r=1; r<=RUNS; r++ )); do
	for t in "${TARGETS[@]}"; do
		blob_ok "$t" || continue
		repo=bench/push-$t-$r-$RANDOM
		out=$(push_blob "${BASE[$t]}" "$repo" "$T/blob" "$BLOB_DIGEST" \
			'%{http_code} %{size_upload} %{speed_upload}' 2>"$T/curl.err") || {
			xfer_failed "$t" "blob PUT run $r"
			continue
		}
		[[ -s $T/upload.warn ]] && suspect "$t" "run $r: $(cat "$T/upload.warn")"
		read -r code size speed <<<"$out"
		if [[ $code != 201 || $size != "$BLOB_BYTES" ]]; then
			suspect "$t" "blob PUT run $r: status $code, sent $size of $BLOB_BYTES bytes"
			continue
		fi
		# The blob must now be in the new repository (asked of the registry).
		hc=$(http_code "${BASE[reg]}/v2/$repo/blobs/$BLOB_DIGEST" -I)
		[[ $hc == 200 ]] || suspect "$t" "blob PUT run $r: registry HEAD of the pushed blob answered $hc"
		VALS[$t]+="$speed "
		log "  ${TNAME[$t]} run $r: $(mib "$speed") MiB/s"
		# Drop the repository's link so runs do not pile up references.
		curl -s -o /dev/null -m 30 -X DELETE "${BASE[reg]}/v2/$repo/blobs/$BLOB_DIGEST" || true
	done
done
for t in "${TARGETS[@]}"; do
	[[ -n ${VALS[$t]:-} ]] || continue
	R[blob_put,$t]=$(tr ' ' '\n' <<<"${VALS[$t]}" | grep . | median)
	R[blob_put_best,$t]=$(tr ' ' '\n' <<<"${VALS[$t]}" | grep . | best)
	R[blob_put_runs,$t]=$(tr ' ' '\n' <<<"${VALS[$t]}" | grep . | wc -l)
done

# ---------------------------------------------------------------- manifests
cat >"$T/head.lua" <<EOF
wrk.method = "HEAD"
wrk.headers["Accept"] = "$MANIFEST_TYPE"
EOF

# run_wrk TARGET KEY [extra wrk args]: requests/s into R[KEY,TARGET],
# p99 latency (ms) into R[KEY_p99,TARGET].
run_wrk() {
	local t=$1 key=$2; shift 2
	local url="${BASE[$t]}/v2/bench/manifest/manifests/latest" out f=$T/wrk.$key.$t
	timeout $(( DURATION + 60 )) wrk -t"$THREADS" -c"$CONNS" -d1s \
		-H "Accept: $MANIFEST_TYPE" "$@" "$url" >/dev/null 2>&1 || true # warm-up
	if ! timeout $(( DURATION + 60 )) wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
		--latency -H "Accept: $MANIFEST_TYPE" "$@" "$url" >"$f" 2>&1; then
		suspect "$t" "wrk ($key) failed or hung: $(tail -n 2 "$f" | tr '\n' ' ')"
		return 0
	fi
	local rps non2xx sockerr reqs p99
	rps=$(awk '/^Requests\/sec:/{print $2}' "$f")
	reqs=$(awk '/requests in/{print $1}' "$f")
	non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$f")
	sockerr=$(awk -F'[ ,]+' '/Socket errors:/{print $4+$6+$8+$10}' "$f")
	p99=$(awk '$1=="99%"{v=$2; if(v~/us$/){sub(/us$/,"",v);v/=1000}
		else if(v~/ms$/){sub(/ms$/,"",v)} else if(v~/s$/){sub(/s$/,"",v);v*=1000}
		print v}' "$f")
	if [[ -z $rps || ${reqs:-0} == 0 ]]; then
		suspect "$t" "wrk ($key): no requests completed"
		return 0
	fi
	if [[ -n $non2xx && $non2xx != 0 ]]; then
		suspect "$t" "wrk ($key): $non2xx of $reqs responses were not 2xx/3xx; rate not counted"
		return 0
	fi
	[[ -n $sockerr && $sockerr != 0 ]] && suspect "$t" "wrk ($key): $sockerr socket errors"
	R[$key,$t]=$rps
	R[${key}_p99,$t]=$p99
	log "  ${TNAME[$t]} $key: $rps req/s, p99 ${p99} ms"
}

# rounds KEY FUNC [args]: FUNC TARGET KEY [args] for every target, in
# LOAD_RUNS interleaved rounds; R[KEY,t] (and R[KEY_p99,t]) end up as the
# median over the rounds that produced a number. A number measured while
# the server died is dropped.
rounds() {
	local key=$1 fn=$2 r t; shift 2
	local -A got=() got99=()
	for (( r=1; r<=LOAD_RUNS; r++ )); do
		for t in "${TARGETS[@]}"; do
			check_alive "$t" || continue
			unset "R[$key,$t]" "R[${key}_p99,$t]"
			"$fn" "$t" "$key" "$@"
			check_alive "$t" || continue
			[[ -n ${R[$key,$t]:-} ]] && got[$t]+="${R[$key,$t]} "
			[[ -n ${R[${key}_p99,$t]:-} ]] && got99[$t]+="${R[${key}_p99,$t]} "
		done
	done
	for t in "${TARGETS[@]}"; do
		unset "R[$key,$t]" "R[${key}_p99,$t]"
		[[ -n ${got[$t]:-} ]] && R[$key,$t]=$(tr ' ' '\n' <<<"${got[$t]}" | grep . | median)
		[[ -n ${got99[$t]:-} ]] && R[${key}_p99,$t]=$(tr ' ' '\n' <<<"${got99[$t]}" | grep . | median)
	done
	return 0
}

PHASE="manifest GET (wrk)"
log "manifest GET, wrk -t$THREADS -c$CONNS -d${DURATION}s, $LOAD_RUNS round(s)"
rounds man_get_wrk run_wrk
# Debian's wrk 4.1.0 cannot do HEAD (its parser waits for the body that
# Content-Length announces; wg/wrk#198): probe it against the registry and
# fall back to ab -i for every target when it completes no request.
PHASE="manifest HEAD"
HEAD_TOOL=wrk
if ! timeout 10 wrk -t1 -c1 -d1s -s "$T/head.lua" \
	"${BASE[reg]}/v2/bench/manifest/manifests/latest" 2>&1 |
	awk '/requests in/{n=$1} END{exit !(n>0)}'; then
	HEAD_TOOL=ab
fi
run_ab() { # TARGET KEY [extra ab args]: requests/s into R[KEY,TARGET]
	local t=$1 key=$2; shift 2
	local f=$T/ab.$key.$t n
	if ! timeout $(( 120 + AB_N / 100 + DURATION )) ab -q -k -c "$CONNS" -s 30 "$@" \
		-H "Accept: $MANIFEST_TYPE" "${BASE[$t]}/v2/bench/manifest/manifests/latest" >"$f" 2>&1; then
		suspect "$t" "ab ($key) failed or hung: $(tail -n 2 "$f" | tr '\n' ' ')"
		check_alive "$t" || true
		return 0
	fi
	local rps done_n failed non2xx ka
	rps=$(awk '/^Requests per second:/{print $4}' "$f")
	done_n=$(awk '/^Complete requests:/{print $3}' "$f")
	failed=$(awk '/^Failed requests:/{print $3}' "$f")
	non2xx=$(awk '/^Non-2xx responses:/{print $3}' "$f")
	ka=$(awk '/^Keep-Alive requests:/{print $3}' "$f")
	if [[ ${non2xx:-0} != 0 || ${failed:-0} != 0 || ${done_n:-0} == 0 ]]; then
		suspect "$t" "ab ($key): ${done_n:-0} complete, ${failed:-0} failed, ${non2xx:-0} non-2xx; rate not counted"
		return 0
	fi
	(( ${ka:-0} * 10 >= done_n * 9 )) ||
		suspect "$t" "ab ($key): only ${ka:-0} of $done_n requests reused a keep-alive connection (HTTP/1.0 keep-alive)"
	R[$key,$t]=$rps
	log "  ${TNAME[$t]} $key: $rps req/s ($done_n requests, keep-alive ${ka:-0})"
}
if [[ $HEAD_TOOL == wrk ]]; then
	log "manifest HEAD, wrk -t$THREADS -c$CONNS -d${DURATION}s (lua: wrk.method = HEAD), $LOAD_RUNS round(s)"
	rounds man_head run_wrk -s "$T/head.lua"
else
	log "manifest HEAD: this wrk cannot do HEAD; using ab -k -i -c $CONNS -t $DURATION, $LOAD_RUNS round(s)"
	# -t before -n: ab caps -t runs at 50000 requests unless -n follows.
	rounds man_head run_ab -i -t "$DURATION" -n 100000000
fi

PHASE="manifest GET (ab)"
log "manifest GET, ab -k -n $AB_N -c $CONNS, $LOAD_RUNS round(s)"
run_ab_n() { # TARGET KEY: ab -n AB_N, counted only when all AB_N completed
	local n
	run_ab "$1" "$2" -n "$AB_N"
	[[ -n ${R[$2,$1]:-} ]] || return 0
	n=$(awk '/^Complete requests:/{print $3}' "$T/ab.$2.$1")
	[[ $n == "$AB_N" ]] || { suspect "$1" "ab: $n of $AB_N requests complete"; unset "R[$2,$1]"; }
}
rounds man_get_ab run_ab_n

# ---------------------------------------------------------------- parallel pulls / RSS
PHASE="$PAR parallel blob GETs"
log "$PAR parallel blob GETs per target; peak RSS of the serving process"
for t in "${TARGETS[@]}"; do
	blob_ok "$t" || continue
	p=${PID[$t]}
	R[rss_before,$t]=$(proc_kb "$p" VmRSS)
	R[hwm_life,$t]=$(proc_kb "$p" VmHWM)
	# Reset the peak so VmHWM covers this phase only (Linux clear_refs 5).
	if echo 5 >"/proc/$p/clear_refs" 2>/dev/null; then
		R[hwm_reset,$t]=1
	else
		R[hwm_reset,$t]=0
	fi
	start=$(date +%s.%N)
	cpids=()
	for (( i=1; i<=PAR; i++ )); do
		curl -sS -m "$(( XFER_TIMEOUT * 2 ))" --speed-limit 1048576 --speed-time 15 -o /dev/null -w '%{http_code} %{size_download}\n' \
			"${BASE[$t]}/v2/bench/pull/blobs/$BLOB_DIGEST" >"$T/par.$t.$i" 2>&1 &
		cpids+=($!)
		PIDS+=($!)
	done
	for c in "${cpids[@]}"; do wait "$c" 2>/dev/null || true; forget_pid "$c"; done
	end=$(date +%s.%N)
	R[hwm_par,$t]=$(proc_kb "$p" VmHWM)
	R[rss_after,$t]=$(proc_kb "$p" VmRSS)
	okn=0
	for (( i=1; i<=PAR; i++ )); do
		read -r code size <"$T/par.$t.$i" || true
		[[ ${code:-} == 200 && ${size:-} == "$BLOB_BYTES" ]] && okn=$(( okn + 1 ))
	done
	if (( okn == PAR )); then
		R[par_get,$t]=$(awk -v b="$BLOB_BYTES" -v n="$PAR" -v s="$start" -v e="$end" 'BEGIN{printf "%.0f", b*n/(e-s)}')
		log "  ${TNAME[$t]}: $(mib "${R[par_get,$t]}") MiB/s total; VmHWM $(kib_to_mib "${R[hwm_par,$t]:-0}") MiB"
	else
		suspect "$t" "parallel GET: only $okn of $PAR downloads complete and correct ($(head -n 1 "$T/par.$t.1" | tr '\n' ' '))"
	fi
	check_alive "$t" || { unset "R[hwm_par,$t]"; continue; }
done

PHASE=report
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ $HEAD_TOOL == wrk ]]; then HEAD_LABEL=wrk; else HEAD_LABEL="ab -k -i"; fi
LR=""; (( LOAD_RUNS > 1 )) && LR=", median of $LOAD_RUNS"
# ---------------------------------------------------------------- report
REG_VERSION=$(docker-registry --version 2>&1 | head -n 1)
NGINX_VERSION=$(nginx -v 2>&1 | head -n 1)
CPU_MODEL=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
NPROC=$(nproc)
KERNEL=$(uname -srm)
MEM_TOTAL=$(awk '/^MemTotal:/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
NOW=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && GIT_REV+=" (dirty)"

val() { # METRIC TARGET KIND -> formatted value or n/a
	local v=${R[$1,$2]:-}
	[[ -n $v ]] || { echo n/a; return; }
	case $3 in
	bps) mib "$v" ;;
	rps) awk -v x="$v" 'BEGIN{printf "%.0f", x}' ;;
	kb) kib_to_mib "$v" ;;
	ms) awk -v x="$v" 'BEGIN{printf "%.2f", x}' ;;
	*) echo "$v" ;;
	esac
}
ratio() { # METRIC TARGET -> x vs registry or n/a
	local a=${R[$1,$2]:-} b=${R[$1,reg]:-}
	[[ -n $a && -n $b ]] || { echo n/a; return; }
	awk -v a="$a" -v b="$b" 'BEGIN{if(b+0==0)print "n/a"; else printf "%.2f", a/b}'
}

ROWS=(
	"blob_get|blob GET, median of $RUNS|MiB/s|bps|ratio"
	"blob_get_best|blob GET, best of $RUNS|MiB/s|bps|ratio"
	"blob_put|blob PUT, median of $RUNS|MiB/s|bps|ratio"
	"blob_put_best|blob PUT, best of $RUNS|MiB/s|bps|ratio"
	"man_get_wrk|manifest GET, wrk$LR|req/s|rps|ratio"
	"man_get_wrk_p99|manifest GET, wrk p99$LR|ms|ms|ratio"
	"man_head|manifest HEAD, $HEAD_LABEL$LR|req/s|rps|ratio"
	"man_get_ab|manifest GET, ab -k$LR|req/s|rps|ratio"
	"par_get|$PAR parallel blob GETs, total|MiB/s|bps|ratio"
	"rss_idle|RSS idle, after start|MiB|kb|-"
	"hwm_par|peak RSS (VmHWM), $PAR parallel GETs|MiB|kb|-"
	"hwm_life|peak RSS (VmHWM), run before that|MiB|kb|-"
)

print_table() { # fmt: text or md
	local mode=$1 row key label unit kind rat
	if [[ $mode == md ]]; then
		echo "| metric | unit | registry | nginx | regward | nginx / registry | regward / registry |"
		echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
	else
		printf '%-38s %-6s %10s %10s %10s %8s %8s\n' metric unit registry nginx regward nginx/reg rw/reg
		printf '%s\n' "$(printf '%.0s-' $(seq 1 96))"
	fi
	for row in "${ROWS[@]}"; do
		IFS='|' read -r key label unit kind rat <<<"$row"
		local a b c x y
		a=$(val "$key" reg "$kind"); b=$(val "$key" nginx "$kind"); c=$(val "$key" regward "$kind")
		if [[ $rat == ratio ]]; then x=$(ratio "$key" nginx); y=$(ratio "$key" regward); else x=-; y=-; fi
		if [[ $mode == md ]]; then
			echo "| $label | $unit | $a | $b | $c | $x | $y |"
		else
			printf '%-38s %-6s %10s %10s %10s %8s %8s\n' "$label" "$unit" "$a" "$b" "$c" "$x" "$y"
		fi
	done
}

# Targets from the issue.
target_row() { # LABEL METRIC MIN -> "| label | ratio | want | met/missed |"
	local label=$1 key=$2 want=$3 r
	r=$(ratio "$key" regward)
	local st
	if [[ $r == n/a ]]; then st="n/a"
	elif awk -v r="${R[$key,regward]}" -v b="${R[$key,reg]}" -v w="$want" 'BEGIN{exit !(r/b >= w)}'; then st=met
	else st=missed; fi
	echo "| $label | >= ${want}x | $r | $(ratio "$key" nginx) | $st |"
}
rss_status() {
	local v=${R[hwm_par,regward]:-}
	if [[ -z $v ]]; then echo "n/a"; return; fi
	local st
	st=$(awk -v k="$v" 'BEGIN{print (k < 32*1024) ? "met" : "missed"}')
	if (( BLOB_MB != 1024 || PAR != 8 )); then
		st+=" (measured with $PAR x $BLOB_MB MiB, not the issue's 8 x 1024 MiB)"
	fi
	echo "$st"
}

print_targets() {
	echo "| target (regward vs registry alone) | wanted | regward | nginx (for reference) | status |"
	echo "| --- | --- | ---: | ---: | --- |"
	target_row "blob GET MiB/s (median)" blob_get 0.95
	target_row "blob PUT MiB/s (median)" blob_put 1.0
	target_row "manifest GET req/s (wrk)" man_get_wrk 0.9
	target_row "manifest HEAD req/s ($HEAD_LABEL, same bar as GET)" man_head 0.9
	target_row "manifest GET req/s (ab -k, same bar as GET)" man_get_ab 0.9
	echo "| peak RSS, $PAR clients pulling $BLOB_MB MiB each | < 32 MiB | $(val hwm_par regward kb | sed "s|[0-9]$|& MiB|") | $(val hwm_par nginx kb | sed "s|[0-9]$|& MiB|") (worker) | $(rss_status) |"
	echo
	echo "nginx was expected at about 0.78x the registry for blob GET and about 0.94x for manifest GET."
}

notes() {
	local t any=0
	for t in "${TARGETS[@]}"; do
		if [[ -n ${NOTE[$t]:-} ]]; then
			echo "- **${TNAME[$t]}**: ${NOTE[$t]}"
			any=1
		fi
	done
	for t in "${TARGETS[@]}"; do
		if [[ ${R[hwm_reset,$t]:-1} == 0 ]]; then
			echo "- ${TNAME[$t]}: could not reset VmHWM (clear_refs), so its parallel-GET peak is the lifetime peak"
			any=1
		fi
	done
	(( any )) || echo "- none: every response was checked and correct"
}

{
	echo
	echo "regward bench, $NOW, blob ${BLOB_MB} MiB, ${DURATION}s load tests, $NPROC CPUs ($CPU_MODEL)"
	echo
	print_table text
	echo
	print_targets | sed -e 's/^| //' -e 's/ |$//' -e 's/ | /  |  /g' | grep -v -- '^---'
	echo
	echo "notes:"
	notes
} || true

{
	echo "# regward benchmark results"
	echo
	if (( BLOB_MB != 1024 || DURATION < 10 )); then
		echo "> **Reduced run** (blob ${BLOB_MB} MiB, ${DURATION}s load tests): for checking the"
		echo "> harness, not a result. The issue's figures are for 1024 MiB and 10s."
		echo
	fi
	echo "Written by \`bench/run.sh\` on $NOW from commit $GIT_REV."
	echo
	echo "## Machine"
	echo
	echo "- CPUs: $NPROC x $CPU_MODEL"
	echo "- memory: $MEM_TOTAL"
	echo "- kernel: $KERNEL"
	echo "- docker-registry: $REG_VERSION"
	echo "- nginx: ${NGINX_VERSION#nginx version: }, worker_processes 1 (regward is single-threaded)"
	echo "- regward: $REGWARD_VERSION ($REGWARD_BIN)"
	echo "- curl: $(curl --version | head -n 1 | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | awk 'NR==1{print $2}'), ab $(ab -V 2>&1 | awk 'NR==1{print $5}')"
	echo "- load average (1, 5, 15 min): $LOAD_START at the start, $LOAD_END at the end (the bench itself adds about 2)"
	echo
	echo "Client, proxy and registry all share these CPUs over loopback; see bench/README.md."
	if awk -v l="${LOAD_START%% *}" 'BEGIN{exit !(l >= 0.5)}'; then
		echo
		echo "> **Warning:** the machine was already busy when the run started (load $LOAD_START):"
		echo "> other work competed for the CPUs and the numbers below are unreliable."
	fi
	echo
	echo "## Parameters"
	echo
	echo "- blob: ${BLOB_MB} MiB random, ${RUNS} GET runs and ${RUNS} PUT runs per target, interleaved"
	echo "- PUT: POST uploads/ then one monolithic PUT ?digest= (curl -T, Content-Type application/octet-stream$( [[ $EXPECT_100 == 1 ]] && echo ', with Expect: 100-continue' || echo ', no Expect: 100-continue'))"
	echo "- manifest: OCI image manifest ($(stat -c %s "$T/manifest.json") bytes), Accept: $MANIFEST_TYPE"
	echo "- nginx: $( [[ $NGINX_BUFFER == default ]] && echo "proxy_buffer_size at nginx's default (4k)" || echo "proxy_buffer_size $NGINX_BUFFER (BENCH_NGINX_BUFFER)")"
	if [[ $HEAD_TOOL == wrk ]]; then
		echo "- wrk -t$THREADS -c$CONNS -d${DURATION}s (after 1s warm-up), HEAD via a lua script (wrk.method = \"HEAD\"); ab -k -n $AB_N -c $CONNS"
	else
		echo "- wrk -t$THREADS -c$CONNS -d${DURATION}s (after 1s warm-up); ab -k -n $AB_N -c $CONNS"
		echo "- HEAD: this wrk ($(wrk -v 2>&1 | awk 'NR==1{print $2}')) completes no HEAD request (wg/wrk#198), so HEAD is \`ab -k -i -c $CONNS -t $DURATION\`"
	fi
	echo "- load tests: $LOAD_RUNS interleaved round(s) per target (BENCH_LOAD_RUNS); the figure is the median"
	echo "- parallel pulls: $PAR curls at once; RSS from /proc/PID/status (nginx: its one worker)"
	echo
	echo "## Results"
	echo
	print_table md
	echo
	echo "MiB/s is 1048576 bytes per second as curl reports it. Ratios are to docker-registry alone; higher is better except for p99."
	echo
	echo "## Targets from the issue"
	echo
	print_targets
	echo
	echo "## Notes"
	echo
	notes
} >"$RESULTS"
log "wrote $RESULTS"
