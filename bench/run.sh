#!/usr/bin/env bash
# bench/run.sh: measure docker-registry alone, nginx in front of it and
# regward in front of it, side by side in one run, on 127.0.0.1; then, in
# an auth section, manifest GET with Basic and Bearer credentials through a
# regward with auth and with auth_basic (bcrypt) through nginx (issue 3);
# then, in an admission section, manifest GET through a regward whose policy
# requires a signature (warm verdict cache) beside the same regward without
# that requirement, and the latency of a cold verification (issue 5).
#
# Run from the project root after building:
#   bench/run.sh
#   BENCH_BLOB_MB=64 BENCH_SECONDS=3 bench/run.sh      # quick check
#   BENCH_ONLY=auth bench/run.sh                        # only the auth section
#   BENCH_ONLY=admission bench/run.sh                   # only the admission section
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
ONLY=${BENCH_ONLY:-all}   # all | main (no auth, no admission) | auth | admission (only it)
COLD_N=${BENCH_COLD_N:-20} # admission: signed images whose first GET is timed
AUTH_USER=bench           # the auth section's user, in regward and in nginx's htpasswd
AUTH_PASS=password

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
# The auth section's targets: the registry again (its baseline, no auth),
# regward without auth (for reference), one regward with auth measured with
# each kind of credential, and nginx with auth_basic (bcrypt htpasswd).
AUTH_TARGETS=(areg rwplain rwbasic rwbearer ngauth)
# The admission section's: the registry again (its baseline), regward with
# auth and a policy without "require" (admission off), the same with
# "require" (admission on), and the main section's plain nginx.
ADM_TARGETS=(dreg admoff admon adng)
declare -A TNAME=([reg]=registry [nginx]=nginx [regward]=regward
	[areg]="registry (no auth)" [rwplain]="regward (no auth)" [rwbasic]="regward Basic"
	[rwbearer]="regward Bearer" [ngauth]="nginx auth_basic"
	[dreg]="registry" [admoff]="regward admission off" [admon]="regward admission on"
	[adng]="nginx")
RT=("${TARGETS[@]}") # the targets rounds() goes through

die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[[ $ONLY == all || $ONLY == main || $ONLY == auth || $ONLY == admission ]] ||
	die "BENCH_ONLY must be all, main, auth or admission, got '$ONLY'"
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && (( $1 > 0 )); }
[[ $NGINX_BUFFER == default || $NGINX_BUFFER =~ ^[0-9]+[kKmM]?$ ]] ||
	die "BENCH_NGINX_BUFFER must be a size like 64k or 'default', got '$NGINX_BUFFER'"
for kv in BENCH_BLOB_MB:"$BLOB_MB" BENCH_SECONDS:"$DURATION" BENCH_RUNS:"$RUNS" \
	BENCH_LOAD_RUNS:"$LOAD_RUNS" BENCH_AB_N:"$AB_N" BENCH_CONNECTIONS:"$CONNS" \
	BENCH_THREADS:"$THREADS" BENCH_PARALLEL:"$PAR" BENCH_COLD_N:"$COLD_N"; do
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
need htpasswd apache2-utils
need base64 coreutils
if [[ $ONLY == all || $ONLY == admission ]]; then
	need openssl openssl
fi
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
declare -A MASTER=()  # MASTER[target] = nginx master whose worker is PID[target]
declare -A LOGS=()    # LOGS[target] = log files to show when it dies
declare -A AUTH_HDR=() # AUTH_HDR[target] = Authorization header for its load tests

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
	rm -rf "$T/registry-data" "$T/blob" "$T"/nginx/*_temp "$T"/nginx-auth/*_temp 2>/dev/null || true
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

# wait_http URL PID SECONDS [curl args]: until URL answers 200 (0) or PID
# dies / time runs out (1). Each try waits at most 1s, so a server that
# accepts and never answers costs SECONDS, not more.
LAST_CODE=""
wait_http() {
	local url=$1 pid=$2 end=$(( SECONDS + $3 ))
	shift 3
	while (( SECONDS < end )); do
		kill -0 "$pid" 2>/dev/null || return 1
		LAST_CODE=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$@" "$url" 2>/dev/null || true)
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
	local m=${MASTER[$t]:-}
	if ! kill -0 "${PID[$t]}" 2>/dev/null ||
		{ [[ -n $m ]] && ! kill -0 "$m" 2>/dev/null; }; then
		local how u f
		if [[ -z $m ]]; then exit_desc "${PID[$t]}"; how=$EXIT_DESC
		elif kill -0 "$m" 2>/dev/null; then how="worker ${PID[$t]} exited"
		else exit_desc "$m"; how="master $EXIT_DESC"; fi
		# Every target served by the same process goes with it (the
		# registry is also the auth section's baseline; one regward serves
		# both credential kinds).
		for u in "${!ALIVE[@]}"; do
			[[ ${ALIVE[$u]} == 1 && ${PID[$u]} == "${PID[$t]}" ]] || continue
			ALIVE[$u]=0
			NOTE[$u]+="${NOTE[$u]:+; }process died during '$PHASE' ($how)"
			log "${TNAME[$u]} died during '$PHASE' ($how); its remaining numbers are n/a"
		done
		for f in ${LOGS[$t]:-}; do tail_log "$f"; done
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
# The main section (blobs, manifests, RSS) runs with all and main.
MAIN=0
[[ $ONLY == all || $ONLY == main ]] && MAIN=1
if (( !MAIN )); then
	log "work dir $T; $ONLY section only (BENCH_ONLY=$ONLY), ${DURATION}s per load test"
else
	log "work dir $T; blob ${BLOB_MB} MiB, ${DURATION}s per load test, ${RUNS} runs per blob test"
fi

BLOB_BYTES=$(( BLOB_MB * 1048576 ))
if (( MAIN )); then
	log "generating ${BLOB_MB} MiB random blob"
	head -c "$BLOB_BYTES" /dev/urandom >"$T/blob"
	BLOB_DIGEST=sha256:$(sha256sum "$T/blob" | cut -d' ' -f1)
fi

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
# start_nginx TARGET DIR [HTPASSWD]: with HTPASSWD, /v2/ has the recipe's
# auth_basic with that user file, and a failure to start is noted, not fatal.
start_nginx() {
	local t=$1 d=$2 htpasswd=${3:-} try port
	mkdir -p "$d"
	chmod 755 "$d"
	local authconf="auth_basic off;" waitargs=()
	if [[ -n $htpasswd ]]; then
		authconf="auth_basic \"Registry realm\"; auth_basic_user_file $htpasswd;"
		waitargs=(-u "$AUTH_USER:$AUTH_PASS")
	fi
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
		# "Authenticate proxy with nginx", minus TLS (and minus basic auth
		# unless auth_basic is on below), tuned for streaming and with
		# keep-alive to the upstream.
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
		            $authconf

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
		if wait_http "http://127.0.0.1:$port/v2/" "$pid" 10 "${waitargs[@]}"; then
			MASTER[$t]=$pid
			local w
			w=$(pgrep -P "$pid" | head -n 1)
			[[ -n $w ]] || die "nginx worker process not found"
			PID[$t]=$w; BASE[$t]=http://127.0.0.1:$port; ALIVE[$t]=1
			LOGS[$t]="$d/error.log"
			return 0
		fi
		stop_pid "$pid"
		log "${TNAME[$t]} did not come up on port $port (try $try)"
	done
	tail_log "$d/error.log"
	[[ -n $htpasswd ]] || die "nginx failed to start; log: $d/error.log"
	NOTE[$t]="failed to start (last GET /v2/ answered ${LAST_CODE:-nothing}); log: $d/error.log"
	log "${TNAME[$t]}: ${NOTE[$t]}"
	return 0
}
if [[ $ONLY != auth ]]; then # the main and the admission sections
	log "starting nginx"
	start_nginx nginx "$T/nginx"
fi

# -- 3. regward
REGWARD_VERSION="n/a"
# start_regward TARGET NAME [EXTRA_JSON]: $T/NAME.json, .db, .log, .out;
# EXTRA_JSON (",\n  key: value...") is added to the config. With auth,
# /v2/ answers 401, so only /healthz says it is up.
start_regward() {
	local t=$1 name=$2 extra=${3:-} port pid
	if [[ ! -x $REGWARD_BIN ]]; then
		NOTE[$t]="not built ($REGWARD_BIN missing or not executable)"
		log "${TNAME[$t]}: ${NOTE[$t]}; its column will be n/a"
		return 0
	fi
	REGWARD_VERSION=$(timeout 5 "$REGWARD_BIN" --version 2>&1 | head -n 1) ||
		REGWARD_VERSION="n/a (--version failed: ${REGWARD_VERSION:-no output})"
	pick_port port
	cat >"$T/$name.json" <<-EOF
	{
	  "listen": "127.0.0.1:$port",
	  "public_url": "http://127.0.0.1:$port",
	  "upstream": {"url": "http://127.0.0.1:$REG_PORT"},
	  "database": "$T/$name.db",
	  "log": {"file": "$T/$name.log"}$extra
	}
	EOF
	"$REGWARD_BIN" serve -c "$T/$name.json" >"$T/$name.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	LOGS[$t]="$T/$name.out $T/$name.log"
	if wait_http "http://127.0.0.1:$port/healthz" "$pid" 10; then
		PID[$t]=$pid; BASE[$t]=http://127.0.0.1:$port; ALIVE[$t]=1
		return 0
	fi
	if kill -0 "$pid" 2>/dev/null; then
		local hz=$LAST_CODE v2
		[[ $hz == 000 ]] && hz="no answer within 1s"
		# /healthz broken but the proxy may still work: measure it anyway
		# (with auth, a 401 from /v2/ also shows it answers).
		v2=$(http_code "http://127.0.0.1:$port/v2/")
		if [[ $v2 == 200 || ( -n $extra && $v2 == 401 ) ]]; then
			PID[$t]=$pid; BASE[$t]=http://127.0.0.1:$port; ALIVE[$t]=1
			NOTE[$t]="GET /healthz did not answer 200 within 10s (last try: $hz), but GET /v2/ through it answered $v2, so it was measured anyway"
			log "${TNAME[$t]}: ${NOTE[$t]}"
			return 0
		fi
		NOTE[$t]="started but neither /healthz nor /v2/ answered within 10s (/healthz last try: $hz)"
		stop_pid "$pid"
	else
		exit_desc "$pid"
		NOTE[$t]="failed to start ($EXIT_DESC)"
	fi
	log "${TNAME[$t]}: ${NOTE[$t]}; its column will be n/a"
	tail_log "$T/$name.out"
	tail_log "$T/$name.log"
}
if (( MAIN )); then
	log "starting regward ($REGWARD_BIN)"
	start_regward regward regward
fi

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


PHASE="setup push"
if (( MAIN )); then
	log "pushing the ${BLOB_MB} MiB blob directly to the registry"
	code=$(push_blob "${BASE[reg]}" bench/pull "$T/blob" "$BLOB_DIGEST") ||
		die "pushing the blob to docker-registry failed"
	[[ $code == 201 ]] || die "pushing the blob to docker-registry answered $code"
fi

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

# ---------------------------------------------------------------- load-test tools
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
	sockerr=$(awk '/Socket errors:/{for(i=1;i<=NF;i++) if($i ~ /^[0-9]+,?$/) s+=$i; print s+0}' "$f")
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

# rounds KEY FUNC [args]: FUNC TARGET KEY [args] for every target in RT, in
# LOAD_RUNS interleaved rounds; R[KEY,t] (and R[KEY_p99,t]) end up as the
# median over the rounds that produced a number. A number measured while
# the server died is dropped.
rounds() {
	local key=$1 fn=$2 r t; shift 2
	local -A got=() got99=()
	for (( r=1; r<=LOAD_RUNS; r++ )); do
		for t in "${RT[@]}"; do
			check_alive "$t" || continue
			unset "R[$key,$t]" "R[${key}_p99,$t]"
			"$fn" "$t" "$key" "$@"
			check_alive "$t" || continue
			[[ -n ${R[$key,$t]:-} ]] && got[$t]+="${R[$key,$t]} "
			[[ -n ${R[${key}_p99,$t]:-} ]] && got99[$t]+="${R[${key}_p99,$t]} "
		done
	done
	for t in "${RT[@]}"; do
		unset "R[$key,$t]" "R[${key}_p99,$t]"
		[[ -n ${got[$t]:-} ]] && R[$key,$t]=$(tr ' ' '\n' <<<"${got[$t]}" | grep . | median)
		[[ -n ${got99[$t]:-} ]] && R[${key}_p99,$t]=$(tr ' ' '\n' <<<"${got99[$t]}" | grep . | median)
	done
	return 0
}

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
run_ab_n() { # TARGET KEY: ab -n AB_N, counted only when all AB_N completed
	local n
	run_ab "$1" "$2" -n "$AB_N"
	[[ -n ${R[$2,$1]:-} ]] || return 0
	n=$(awk '/^Complete requests:/{print $3}' "$T/ab.$2.$1")
	[[ $n == "$AB_N" ]] || { suspect "$1" "ab: $n of $AB_N requests complete"; unset "R[$2,$1]"; }
}

if (( MAIN )); then # main section: blobs, manifests, RSS
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

fi # main section

# ---------------------------------------------------------------- auth
# Manifest GET with credentials (issue 3): the registry alone (no auth) as
# the baseline, one regward with auth measured with Basic (login cached
# after a warm-up request) and with a Bearer token from its /token, and
# nginx with the recipe's auth_basic and a bcrypt htpasswd, which runs
# bcrypt on every request. Same manifest, same load tools.
auth_section() {
	PHASE="auth setup"
	AUTH_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	AUTH_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
	log "auth section: registry alone, regward with Basic and Bearer, nginx auth_basic"
	# The baseline is the registry already running (same process as reg).
	PID[areg]=${PID[reg]}; BASE[areg]=${BASE[reg]}; ALIVE[areg]=${ALIVE[reg]:-0}
	LOGS[areg]=$T/registry.log
	# regward without auth, for reference: the main section's, or one of
	# its own when that section did not run.
	if [[ ${ALIVE[regward]:-0} == 1 ]]; then
		PID[rwplain]=${PID[regward]}; BASE[rwplain]=${BASE[regward]}; ALIVE[rwplain]=1
		LOGS[rwplain]=${LOGS[regward]:-}
	elif [[ $ONLY == auth ]]; then
		log "starting regward without auth"
		start_regward rwplain regward
	else
		NOTE[rwplain]="see regward in the main section"
	fi

	# nginx with auth_basic, bcrypt htpasswd at htpasswd -B's default cost.
	mkdir -p "$T/nginx-auth"
	chmod 755 "$T/nginx-auth"
	htpasswd -Bbn "$AUTH_USER" "$AUTH_PASS" | grep . >"$T/nginx-auth/htpasswd"
	chmod 644 "$T/nginx-auth/htpasswd" # read by the worker (nobody when run as root)
	HTPASSWD_COST=$(awk -F'$' 'NR==1{print $3+0}' "$T/nginx-auth/htpasswd")
	HTPASSWD_PREFIX=$(awk -F'$' 'NR==1{print "$" $2 "$"}' "$T/nginx-auth/htpasswd")
	log "starting nginx with auth_basic (bcrypt $HTPASSWD_PREFIX, cost $HTPASSWD_COST)"
	start_nginx ngauth "$T/nginx-auth" "$T/nginx-auth/htpasswd"

	# regward with auth: one instance serves both credential kinds.
	log "starting regward with auth"
	start_regward rwbasic regward-auth ",
	  \"auth\": {\"token\": {\"key\": \"$T/token.pem\"}},
	  \"policies\": [{\"repository\": \"bench/**\", \"pull\": [\"*\"], \"push\": [\"role:ci\"]}]"
	AUTH_HASH="n/a"
	if [[ ${ALIVE[rwbasic]:-0} == 1 ]]; then
		PID[rwbearer]=${PID[rwbasic]}; BASE[rwbearer]=${BASE[rwbasic]}; ALIVE[rwbearer]=1
		LOGS[rwbearer]=${LOGS[rwbasic]}
		# The database is read live, so the user can be added after start.
		if ! "$REGWARD_BIN" user add "$AUTH_USER" --role ci --password-stdin \
			-c "$T/regward-auth.json" <<<"$AUTH_PASS" >"$T/user-add.out" 2>&1; then
			suspect rwbasic "regward user add failed: $(tail -n 3 "$T/user-add.out" | tr '\n' ' ')"
		fi
		if command -v sqlite3 >/dev/null 2>&1; then
			AUTH_HASH=$(sqlite3 "$T/regward-auth.db" \
				"select substr(hash, 1, instr(substr(hash, 4), '\$') + 3) from principals where name = '$AUTH_USER'" 2>/dev/null) || AUTH_HASH="n/a"
			[[ -n $AUTH_HASH ]] || AUTH_HASH="n/a"
		fi
	else
		NOTE[rwbearer]="see regward Basic (the same instance)"
	fi
	AUTH_HDR[rwbasic]="Authorization: Basic $(printf '%s:%s' "$AUTH_USER" "$AUTH_PASS" | base64 -w0)"
	AUTH_HDR[ngauth]=${AUTH_HDR[rwbasic]}
	fresh_token || true

	# -- correctness before timing
	PHASE="auth correctness check"
	local t
	for t in "${AUTH_TARGETS[@]}"; do
		check_alive "$t" || continue
		auth_check "$t"
	done

	# -- load
	RT=("${AUTH_TARGETS[@]}")
	PHASE="auth manifest GET (wrk)"
	log "auth: manifest GET, wrk -t$THREADS -c$CONNS -d${DURATION}s, $LOAD_RUNS round(s)"
	rounds auth_get_wrk auth_run run_wrk
	PHASE="auth manifest GET (ab)"
	log "auth: manifest GET, ab -k -c $CONNS -t $DURATION, $LOAD_RUNS round(s)"
	# -t before -n: ab caps -t runs at 50000 requests unless -n follows.
	rounds auth_get_ab auth_run run_ab -t "$DURATION" -n 100000000
	RT=("${TARGETS[@]}")
	for t in "${AUTH_TARGETS[@]}"; do
		check_alive "$t" || true
	done
	auth_stalls
	AUTH_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
}

# auth_stalls: requests the auth regward logged as taking over 1 s. One
# known cause: a Basic login is cached for 60 s from its verification (a hit
# does not renew it); when the entry expires under load, every connection
# with those credentials runs the password hash at once.
auth_stalls() {
	local f=$T/regward-auth.log n max when
	[[ -s $f ]] || return 0
	jq -R -r 'fromjson? | select(.msg == "request" and (.ms // 0) > 1000)
		| "\(.time[11:19]) \(.ms) \(.principal // "-")"' "$f" >"$T/auth-slow.txt" 2>/dev/null || return 0
	n=$(wc -l <"$T/auth-slow.txt")
	(( n > 0 )) || return 0
	max=$(awk '$2>m{m=$2} END{printf "%.1f", m/1000}' "$T/auth-slow.txt")
	when=$(awk '{print substr($1,1,5)}' "$T/auth-slow.txt" | uniq | tr '\n' ' ')
	suspect rwbasic "regward (the auth instance, Basic and Bearer) logged $n requests that took over 1 s (longest ${max} s; minutes ${when% }; principals $(awk '{print $3}' "$T/auth-slow.txt" | sort -u | tr '\n' ' ' | sed 's/ $//')): a stall, not load; see bench/README.md, Authentication"
}

# fresh_token: a Bearer token from regward's /token for pull on
# bench/manifest into AUTH_HDR[rwbearer]; 1 when none came.
TOKEN_TTL=""
fresh_token() {
	[[ ${ALIVE[rwbearer]:-0} == 1 ]] || return 1
	local b=${BASE[rwbearer]} tok code
	code=$(curl -sS -m 10 -o "$T/token.json" -w '%{http_code}' -u "$AUTH_USER:$AUTH_PASS" \
		"$b/token?service=${b#http://}&scope=repository:bench/manifest:pull" 2>"$T/curl.err") || code=000
	tok=$(jq -r '.token // empty' "$T/token.json" 2>/dev/null || true)
	if [[ $code != 200 || -z $tok ]]; then
		suspect rwbearer "GET /token answered $code without a token: $(head -c 200 "$T/token.json" "$T/curl.err" 2>/dev/null | tr '\n' ' ')"
		unset "AUTH_HDR[rwbearer]"
		return 1
	fi
	TOKEN_TTL=$(jq -r '.expires_in // empty' "$T/token.json" 2>/dev/null || true)
	AUTH_HDR[rwbearer]="Authorization: Bearer $tok"
}

# auth_run TARGET KEY FUNC [args]: FUNC TARGET KEY [args] with the
# target's Authorization header, after making sure the credential is warm:
# a fresh token for Bearer (tokens live 5 minutes; a full section takes
# longer), one request for Basic so the login is in regward's cache (60 s,
# while a round of every target can take longer).
auth_run() {
	local t=$1 key=$2 fn=$3 h=() hc; shift 3
	case $t in
	rwbearer) fresh_token || return 0 ;;
	rwbasic)
		hc=$(http_code "${BASE[$t]}/v2/bench/manifest/manifests/latest" \
			-H "Accept: $MANIFEST_TYPE" -H "${AUTH_HDR[$t]}")
		[[ $hc == 200 ]] || suspect "$t" "warm-up GET with Basic answered $hc"
		;;
	esac
	[[ -n ${AUTH_HDR[$t]:-} ]] && h=(-H "${AUTH_HDR[$t]}")
	"$fn" "$t" "$key" "$@" "${h[@]}"
}

# auth_check TARGET: with the target's credentials, GET answers 200 with the
# manifest's bytes, digest header and one API-version header, and HEAD 200;
# without credentials, and with wrong ones, 401.
auth_check() {
	local t=$1 b=${BASE[$1]} u got st n hc h=() bad
	u="${BASE[$t]}/v2/bench/manifest/manifests/latest"
	[[ -n ${AUTH_HDR[$t]:-} ]] && h=(-H "${AUTH_HDR[$t]}")
	local open=0
	[[ $t == areg || $t == rwplain ]] && open=1
	if (( !open )) && [[ ${#h[@]} == 0 ]]; then
		suspect "$t" "no credentials to check with"
		return 0
	fi
	got=$(curl -sS -m 10 -H "Accept: $MANIFEST_TYPE" "${h[@]}" -D "$T/ahdr.$t" "$u" |
		sha256sum | cut -d' ' -f1) || got=fail
	st=$(awk 'NR==1{print $2}' "$T/ahdr.$t" 2>/dev/null)
	[[ $st == 200 ]] || suspect "$t" "authenticated manifest GET answered ${st:-nothing} (want 200)"
	[[ sha256:$got == "$MANIFEST_DIGEST" ]] ||
		suspect "$t" "authenticated manifest GET body differs from what was pushed (status ${st:-none})"
	tr -d '\r' <"$T/ahdr.$t" | grep -qi "^docker-content-digest: $MANIFEST_DIGEST\$" ||
		suspect "$t" "authenticated manifest GET lacks the right Docker-Content-Digest header"
	n=$(tr -d '\r' <"$T/ahdr.$t" | grep -ci '^docker-distribution-api-version:' || true)
	[[ $n == 1 ]] || suspect "$t" "authenticated manifest GET has $n Docker-Distribution-Api-Version headers (want 1)"
	hc=$(http_code "$u" -I -H "Accept: $MANIFEST_TYPE" "${h[@]}")
	[[ $hc == 200 ]] || suspect "$t" "authenticated manifest HEAD answered $hc (want 200)"
	(( open )) && return 0
	hc=$(http_code "$u" -H "Accept: $MANIFEST_TYPE")
	[[ $hc == 401 ]] || suspect "$t" "manifest GET without credentials answered $hc (want 401)"
	hc=$(curl -s -o /dev/null -m 5 -D "$T/ahdr401.$t" -w '%{http_code}' "$u" 2>/dev/null || true)
	tr -d '\r' <"$T/ahdr401.$t" | grep -qi '^www-authenticate: ' ||
		suspect "$t" "the 401 without credentials has no WWW-Authenticate header"
	if [[ $t == rwbearer ]]; then
		# the token with its last signature character changed
		local tok=${AUTH_HDR[$t]#Authorization: Bearer }
		[[ ${tok: -1} == A ]] && bad="${tok%?}B" || bad="${tok%?}A"
		bad="Authorization: Bearer $bad"
	else
		bad="Authorization: Basic $(printf '%s:%s' "$AUTH_USER" "wrong-$AUTH_PASS" | base64 -w0)"
	fi
	hc=$(http_code "$u" -H "Accept: $MANIFEST_TYPE" -H "$bad")
	[[ $hc == 401 ]] || suspect "$t" "manifest GET with wrong credentials (${bad%% *} ${bad#* }) answered $hc (want 401)"
	log "  ${TNAME[$t]}: 200 with credentials ($st), 401 without and with wrong ones: checked"
}

# ---------------------------------------------------------------- admission
# Manifest GET with pull admission (issue 5): the registry alone as the
# baseline, two regwards with the same auth, user and policy except that
# one policy has "require": {"signed_by": ["bench"]} (admission on, the
# verdict cached after the first GET) and the other has none (admission
# off), and the main section's plain nginx. Then the latency of a cold
# verification: the first GET of freshly signed images against a second.
ADM_USER=$AUTH_USER     # the load principal: in neither bypass nor push's way
ADM_SIGNER=signer       # in require.bypass, so regward-sign can read what it signs
ADM_SIGNER_PASS=signer-password
SIGN_BIN=${REGWARD_SIGN_BIN:-$(dirname "$REGWARD_BIN")/../signer/regward-sign}
ADM_SIGNED_HDR="X-Regward-Admission: signed; key=bench"

# adm_config ON: the extra JSON of the admission section's regwards; the
# two differ only in the policy's "require" block (ON=1).
adm_config() {
	local name=$1 on=$2 req=""
	(( on )) && req=", \"require\": {\"signed_by\": [\"bench\"], \"bypass\": [\"user:$ADM_SIGNER\"]}"
	printf '%s' ",
	  \"auth\": {\"token\": {\"key\": \"$T/$name-token.pem\"}, \"cache_ttl\": \"1h\"},
	  \"keys\": {\"bench\": \"$T/adm/bench.pub\"},
	  \"admission\": {\"cache_ttl\": \"1h\"},
	  \"policies\": [{\"repository\": \"bench/**\", \"pull\": [\"*\"], \"push\": [\"role:ci\"]$req}]"
}

# adm_user_add NAME JSON USER PASSWORD: a user with role ci in that
# regward's database (read live, so after start is fine).
adm_user_add() {
	local t=$1 conf=$2 user=$3 pass=$4
	"$REGWARD_BIN" user add "$user" --role ci --password-stdin -c "$conf" \
		<<<"$pass" >>"$T/adm-user-add.out" 2>&1 ||
		{ suspect "$t" "regward user add $user failed: $(tail -n 3 "$T/adm-user-add.out" | tr '\n' ' ')"; return 1; }
}

# adm_put_manifest FILE TAG: PUT FILE as bench/manifest:TAG, directly to the
# registry (its blobs are the main manifest's, already there).
adm_put_manifest() {
	local code
	code=$(curl -sS -m 30 -o "$T/adm-put.out" -w '%{http_code}' -X PUT \
		-H "Content-Type: $MANIFEST_TYPE" --data-binary @"$1" \
		"${BASE[reg]}/v2/bench/manifest/manifests/$2") || code=000
	[[ $code == 201 ]] || { log "manifest PUT bench/manifest:$2 answered $code: $(head -c 200 "$T/adm-put.out")"; return 1; }
}

# adm_variant N FILE: the bench manifest with an annotation, so each N has
# its own digest.
adm_variant() {
	jq -c --arg n "$1" '. + {annotations: {"dev.regward.bench": $n}}' "$T/manifest.json" |
		tr -d '\n' >"$2"
}

# adm_sign TAG: regward-sign signs bench/manifest:TAG through the admission
# regward, as the bypass user (it reads the manifest before it is signed).
adm_sign() {
	REGWARD_USERNAME=$ADM_SIGNER REGWARD_PASSWORD=$ADM_SIGNER_PASS \
		timeout 60 "$SIGN_BIN" sign --insecure --key "$T/adm/bench.key" \
		"${BASE[admon]#http://}/bench/manifest:$1" >>"$T/adm-sign.out" 2>&1
}

admission_section() {
	PHASE="admission setup"
	ADM_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	ADM_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
	log "admission section: registry alone, regward with admission off and on, nginx"
	PID[dreg]=${PID[reg]}; BASE[dreg]=${BASE[reg]}; ALIVE[dreg]=${ALIVE[reg]:-0}
	LOGS[dreg]=$T/registry.log
	# nginx: the main section's plain one (no auth), started for this
	# section too when the main section does not run.
	PID[adng]=${PID[nginx]:-}; BASE[adng]=${BASE[nginx]:-}; ALIVE[adng]=${ALIVE[nginx]:-0}
	MASTER[adng]=${MASTER[nginx]:-}; LOGS[adng]=${LOGS[nginx]:-}
	[[ ${ALIVE[adng]} == 1 ]] || NOTE[adng]="nginx was not running (see nginx in the main section)"

	mkdir -p "$T/adm"
	if ! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$T/adm/bench.key" 2>"$T/adm/openssl.err" ||
		! openssl pkey -in "$T/adm/bench.key" -pubout -out "$T/adm/bench.pub" 2>>"$T/adm/openssl.err"; then
		die "openssl could not make a P-256 key: $(head -c 200 "$T/adm/openssl.err")"
	fi

	log "starting regward with auth, admission off"
	start_regward admoff regward-admoff "$(adm_config regward-admoff 0)"
	if [[ -x $SIGN_BIN ]]; then
		log "starting regward with auth, admission on"
		start_regward admon regward-admon "$(adm_config regward-admon 1)"
	else
		NOTE[admon]="regward-sign not built ($SIGN_BIN), so nothing could be signed"
		log "${TNAME[admon]}: ${NOTE[admon]}; its column will be n/a"
	fi
	[[ ${ALIVE[admoff]:-0} == 1 ]] && adm_user_add admoff "$T/regward-admoff.json" "$ADM_USER" "$AUTH_PASS"
	if [[ ${ALIVE[admon]:-0} == 1 ]]; then
		adm_user_add admon "$T/regward-admon.json" "$ADM_USER" "$AUTH_PASS"
		adm_user_add admon "$T/regward-admon.json" "$ADM_SIGNER" "$ADM_SIGNER_PASS"
	fi
	AUTH_HDR[admoff]="Authorization: Basic $(printf '%s:%s' "$ADM_USER" "$AUTH_PASS" | base64 -w0)"
	AUTH_HDR[admon]=${AUTH_HDR[admoff]}

	# An unsigned second image, to show admission is really on.
	adm_variant unsigned "$T/adm/unsigned.json"
	adm_put_manifest "$T/adm/unsigned.json" unsigned || die "could not push bench/manifest:unsigned"
	if [[ ${ALIVE[admon]:-0} == 1 ]]; then
		log "signing bench/manifest:latest through regward (admission on) with regward-sign"
		adm_sign latest || suspect admon "regward-sign sign bench/manifest:latest failed: $(tail -n 3 "$T/adm-sign.out" | tr '\n' ' ')"
	fi

	PHASE="admission correctness check"
	local t
	for t in "${ADM_TARGETS[@]}"; do
		check_alive "$t" || continue
		adm_check "$t"
	done

	RT=("${ADM_TARGETS[@]}")
	PHASE="admission manifest GET (wrk)"
	log "admission: manifest GET, wrk -t$THREADS -c$CONNS -d${DURATION}s, $LOAD_RUNS round(s)"
	rounds adm_get_wrk adm_run run_wrk
	PHASE="admission manifest GET (ab)"
	log "admission: manifest GET, ab -k -c $CONNS -t $DURATION, $LOAD_RUNS round(s)"
	# -t before -n: ab caps -t runs at 50000 requests unless -n follows.
	rounds adm_get_ab adm_run run_ab -t "$DURATION" -n 100000000
	RT=("${TARGETS[@]}")

	adm_cold
	for t in "${ADM_TARGETS[@]}"; do
		check_alive "$t" || true
	done
	adm_log_scan admon "$T/regward-admon.log"
	adm_log_scan admoff "$T/regward-admoff.log"
	ADM_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
}

# adm_check TARGET: with the user's credentials, GET of bench/manifest:latest
# answers 200 with the manifest's bytes, digest and one API-version header;
# through admission on with "X-Regward-Admission: signed; key=bench", and
# the unsigned tag 403 "unsigned" there but 200 with admission off.
adm_check() {
	local t=$1 u got st n hc h=() rs
	u="${BASE[$t]}/v2/bench/manifest/manifests"
	[[ -n ${AUTH_HDR[$t]:-} ]] && h=(-H "${AUTH_HDR[$t]}")
	got=$(curl -sS -m 10 -H "Accept: $MANIFEST_TYPE" "${h[@]}" -D "$T/dhdr.$t" "$u/latest" |
		sha256sum | cut -d' ' -f1) || got=fail
	st=$(awk 'NR==1{print $2}' "$T/dhdr.$t" 2>/dev/null)
	[[ $st == 200 ]] || suspect "$t" "manifest GET answered ${st:-nothing} (want 200)"
	[[ sha256:$got == "$MANIFEST_DIGEST" ]] ||
		suspect "$t" "manifest GET body differs from what was pushed (status ${st:-none})"
	tr -d '\r' <"$T/dhdr.$t" | grep -qi "^docker-content-digest: $MANIFEST_DIGEST\$" ||
		suspect "$t" "manifest GET lacks the right Docker-Content-Digest header"
	n=$(tr -d '\r' <"$T/dhdr.$t" | grep -ci '^docker-distribution-api-version:' || true)
	[[ $n == 1 ]] || suspect "$t" "manifest GET has $n Docker-Distribution-Api-Version headers (want 1)"
	case $t in
	admon)
		tr -d '\r' <"$T/dhdr.$t" | grep -qix "$ADM_SIGNED_HDR" ||
			suspect "$t" "manifest GET lacks '$ADM_SIGNED_HDR' ($(tr -d '\r' <"$T/dhdr.$t" | grep -i '^x-regward-admission:' || echo none))"
		hc=$(curl -s -m 10 -o "$T/dbody.$t" -w '%{http_code}' -H "Accept: $MANIFEST_TYPE" "${h[@]}" "$u/unsigned" 2>/dev/null || true)
		rs=$(jq -r '.errors[0].detail.reason // empty' "$T/dbody.$t" 2>/dev/null || true)
		[[ $hc == 403 && $rs == unsigned ]] ||
			suspect "$t" "GET of the unsigned tag answered $hc, reason '${rs:-none}' (want 403 unsigned): admission is not on"
		;;
	admoff)
		! tr -d '\r' <"$T/dhdr.$t" | grep -qi '^x-regward-admission:' ||
			suspect "$t" "manifest GET has an X-Regward-Admission header without a require policy"
		hc=$(http_code "$u/unsigned" -H "Accept: $MANIFEST_TYPE" "${h[@]}")
		[[ $hc == 200 ]] || suspect "$t" "GET of the unsigned tag answered $hc (want 200: admission is off)"
		;;
	esac
	if [[ $t == admon || $t == admoff ]]; then
		hc=$(http_code "$u/latest" -H "Accept: $MANIFEST_TYPE")
		[[ $hc == 401 ]] || suspect "$t" "manifest GET without credentials answered $hc (want 401)"
	fi
	log "  ${TNAME[$t]}: checked$( [[ $t == admon ]] && echo " (signed tag 200 with '$ADM_SIGNED_HDR', unsigned tag 403 unsigned)")"
}

# adm_run TARGET KEY FUNC [args]: FUNC TARGET KEY [args] with the user's
# Basic header for the regwards, after one GET that must be admitted (so the
# login and, with admission on, the verdict are cached before timing).
adm_run() {
	local t=$1 key=$2 fn=$3 h=(); shift 3
	if [[ -n ${AUTH_HDR[$t]:-} ]]; then
		h=(-H "${AUTH_HDR[$t]}")
		curl -s -m 10 -o /dev/null -D "$T/dwarm.$t" -H "Accept: $MANIFEST_TYPE" "${h[@]}" \
			"${BASE[$t]}/v2/bench/manifest/manifests/latest" 2>/dev/null || true
		[[ $(awk 'NR==1{print $2}' "$T/dwarm.$t") == 200 ]] ||
			suspect "$t" "warm-up GET answered $(awk 'NR==1{print $2}' "$T/dwarm.$t")"
		if [[ $t == admon ]] && ! tr -d '\r' <"$T/dwarm.$t" | grep -qix "$ADM_SIGNED_HDR"; then
			suspect "$t" "warm-up GET lacks '$ADM_SIGNED_HDR'"
		fi
	fi
	"$fn" "$t" "$key" "$@" "${h[@]}"
}

# pctl P: the P-th percentile (nearest rank) of the numbers on stdin.
pctl() {
	sort -g | awk -v p="$1" '{a[NR]=$1} END{if(!NR)exit 1; i=int(p/100*NR); if(i<p/100*NR)i++; if(i<1)i=1; print a[i]}'
}

# adm_cold: COLD_N manifests of their own digest, pushed to the registry and
# signed through regward; then per image one GET through admission off, the
# first GET through admission on (a cache miss: the worker fetches the .sig
# and its payload and verifies) and a second one (a cache hit). curl's
# time_total per GET (new connection each), and regward's own "ms" from its
# log. Fresh digests, not a restart: verdicts persist in SQLite.
adm_cold() {
	PHASE="admission cold verification"
	local i code tm f=$T/adm-cold.txt n_ok=0
	check_alive admon || return 0
	log "cold verification: pushing and signing $COLD_N images of their own digest"
	for (( i=1; i<=COLD_N; i++ )); do
		adm_variant "cold-$i" "$T/adm/cold-$i.json"
		adm_put_manifest "$T/adm/cold-$i.json" "cold-$i" || { suspect admon "cold: push of cold-$i failed"; return 0; }
		adm_sign "cold-$i" || { suspect admon "cold: regward-sign sign cold-$i failed: $(tail -n 3 "$T/adm-sign.out" | tr '\n' ' ')"; return 0; }
	done
	log "cold verification: first and second GET of each through admission on"
	: >"$f"
	local h=(-H "Accept: $MANIFEST_TYPE" -H "${AUTH_HDR[admon]}") toff tcold twarm tm_v ok
	for (( i=1; i<=COLD_N; i++ )); do
		ok=1
		read -r code toff < <(curl -s -m 30 -o /dev/null -w '%{http_code} %{time_total}\n' "${h[@]}" \
			"${BASE[admoff]}/v2/bench/manifest/manifests/cold-$i" 2>/dev/null || echo "000 0")
		[[ $code == 200 ]] || { suspect admoff "cold: GET cold-$i answered $code"; toff=""; }
		for tm in cold warm; do
			read -r code tm_v < <(curl -s -m 30 -o "$T/adm/got" -D "$T/adm/hdr" \
				-w '%{http_code} %{time_total}\n' "${h[@]}" \
				"${BASE[admon]}/v2/bench/manifest/manifests/cold-$i" 2>/dev/null || echo "000 0")
			if [[ $code != 200 ]] || ! tr -d '\r' <"$T/adm/hdr" | grep -qix "$ADM_SIGNED_HDR" ||
				[[ sha256:$(sha256sum <"$T/adm/got" | cut -d' ' -f1) != "sha256:$(sha256sum <"$T/adm/cold-$i.json" | cut -d' ' -f1)" ]]; then
				suspect admon "cold: $tm GET cold-$i answered $code without '$ADM_SIGNED_HDR' or the right bytes ($(head -c 200 "$T/adm/got"))"
				ok=0
			fi
			if [[ $tm == cold ]]; then tcold=$tm_v; else twarm=$tm_v; fi
		done
		(( ok )) || continue
		n_ok=$(( n_ok + 1 ))
		awk -v a="${toff:-nan}" -v b="$tcold" -v c="$twarm" 'BEGIN{printf "%s %.3f %.3f\n", (a=="nan"?"-":sprintf("%.3f",a*1000)), b*1000, c*1000}' >>"$f"
	done
	R[cold_n,admon]=$n_ok
	(( n_ok > 0 )) || return 0
	awk '$1!="-"{print $1}' "$f" >"$f.off"
	awk '{print $2}' "$f" >"$f.cold"
	awk '{print $3}' "$f" >"$f.warm"
	local k
	for k in off cold warm; do
		[[ -s $f.$k ]] || continue
		R[lat_${k}_p50,admon]=$(median <"$f.$k")
		R[lat_${k}_p90,admon]=$(pctl 90 <"$f.$k")
	done
	# regward's own time for the same GETs: in its log, the user's GETs of
	# each cold-N in order; the first is the cold one.
	adm_log_ms "$T/regward-admon.log" |
		awk -v f="$f" '{n[$1]++; if(n[$1]==1) print $2 >(f ".scold"); else if(n[$1]==2) print $2 >(f ".swarm")}' || true
	adm_log_ms "$T/regward-admoff.log" | awk '{print $2}' >"$f.soff" || true
	for k in soff scold swarm; do
		[[ -s $f.$k ]] || continue
		R[lat_${k}_p50,admon]=$(median <"$f.$k")
		R[lat_${k}_p90,admon]=$(pctl 90 <"$f.$k")
	done
	log "  cold GET median ${R[lat_cold_p50,admon]} ms (p90 ${R[lat_cold_p90,admon]}), warm median ${R[lat_warm_p50,admon]} ms (p90 ${R[lat_warm_p90,admon]}), $n_ok of $COLD_N images"
	awk -v a="${R[lat_cold_p50,admon]}" -v b="${R[lat_warm_p50,admon]}" 'BEGIN{exit !(a > b)}' ||
		suspect admon "cold: the first GETs were not slower than the second ones (median ${R[lat_cold_p50,admon]} vs ${R[lat_warm_p50,admon]} ms): were they really cache misses?"
}

# adm_log_ms LOG: "REF MS" for the user's GETs of the cold-N tags, in order.
adm_log_ms() {
	jq -R -r --arg p "user:$ADM_USER" 'fromjson? | select(.msg == "request" and .method == "GET"
		and (.ref // "" | startswith("cold-")) and .principal == $p) | "\(.ref) \(.ms)"' "$1" 2>/dev/null
}

# adm_log_scan TARGET LOG: lines other than info in regward's log (admission
# or ledger errors) and requests that took over 1 s go to the notes.
adm_log_scan() {
	local t=$1 f=$2 n first slow max
	[[ -s $f ]] || return 0
	n=$(jq -R -r 'fromjson? | select(.level != "info") | .level' "$f" 2>/dev/null | wc -l)
	if (( n > 0 )); then
		first=$(jq -R -r 'fromjson? | select(.level != "info") | tostring' "$f" 2>/dev/null | head -n 2 | cut -c1-300 | tr '\n' ' ')
		suspect "$t" "its log has $n lines above info, first: $first"
	fi
	slow=$(jq -R -r 'fromjson? | select(.msg == "request" and (.ms // 0) > 1000) | .ms' "$f" 2>/dev/null | wc -l)
	if (( slow > 0 )); then
		max=$(jq -R -r 'fromjson? | select(.msg == "request" and (.ms // 0) > 1000) | .ms' "$f" 2>/dev/null |
			awk '$1>m{m=$1} END{printf "%.1f", m/1000}')
		suspect "$t" "$slow requests took over 1 s (longest $max s)"
	fi
	if [[ -s ${f%.log}.out ]]; then
		suspect "$t" "it wrote to stderr: $(head -n 2 "${f%.log}.out" | cut -c1-200 | tr '\n' ' ')"
	fi
	return 0
}

if [[ $ONLY == all || $ONLY == auth ]]; then
	auth_section
fi
if [[ $ONLY == all || $ONLY == admission ]]; then
	admission_section
fi

PHASE=report
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ ${HEAD_TOOL:-} == wrk ]]; then HEAD_LABEL=wrk; else HEAD_LABEL="ab -k -i"; fi
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

# ---------------------------------------------------------------- auth report
aratio() { # METRIC TARGET -> x vs the registry in the auth section, or n/a
	local a=${R[$1,$2]:-} b=${R[$1,areg]:-}
	[[ -n $a && -n $b ]] || { echo n/a; return; }
	awk -v a="$a" -v b="$b" 'BEGIN{if(b+0==0)print "n/a"; else printf "%.2f", a/b}'
}
AUTH_ROWS=(
	"auth_get_wrk|manifest GET, wrk$LR|req/s|rps"
	"auth_get_wrk_p99|manifest GET, wrk p99$LR|ms|ms"
	"auth_get_ab|manifest GET, ab -k -t ${DURATION}$LR|req/s|rps"
)
auth_table() { # text or md
	local mode=$1 row key label unit kind t v=() x=()
	if [[ $mode == md ]]; then
		echo "| metric | unit | registry (no auth) | regward (no auth) | regward Basic | regward Bearer | nginx auth_basic | regward (no auth) / registry | regward Basic / registry | regward Bearer / registry | nginx auth_basic / registry |"
		echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	else
		printf '%-36s %-5s %8s %8s %8s %8s %8s %7s %7s %7s %7s\n' metric unit registry rw-none rw-basic rw-bear ng-auth none/r basic/r bear/r ng/r
		printf '%s\n' "$(printf '%.0s-' $(seq 1 118))"
	fi
	for row in "${AUTH_ROWS[@]}"; do
		IFS='|' read -r key label unit kind <<<"$row"
		v=(); x=()
		for t in "${AUTH_TARGETS[@]}"; do v+=("$(val "$key" "$t" "$kind")"); done
		for t in rwplain rwbasic rwbearer ngauth; do x+=("$(aratio "$key" "$t")"); done
		if [[ $mode == md ]]; then
			echo "| $label | $unit | ${v[0]} | ${v[1]} | ${v[2]} | ${v[3]} | ${v[4]} | ${x[0]} | ${x[1]} | ${x[2]} | ${x[3]} |"
		else
			printf '%-36s %-5s %8s %8s %8s %8s %8s %7s %7s %7s %7s\n' "$label" "$unit" "${v[@]}" "${x[@]}"
		fi
	done
}
auth_target_row() { # LABEL METRIC TARGET NGINX-REF MIN
	local label=$1 key=$2 t=$3 ng=$4 want=$5 r st
	r=$(aratio "$key" "$t")
	if [[ $r == n/a ]]; then st=n/a
	elif awk -v a="${R[$key,$t]}" -v b="${R[$key,areg]}" -v w="$want" 'BEGIN{exit !(a/b >= w)}'; then st=met
	else st=missed; fi
	echo "| $label | >= ${want}x | $r | $ng | $st |"
}
auth_targets() {
	echo "| target (regward vs registry alone, no auth) | wanted | regward | nginx auth_basic (for reference) | status |"
	echo "| --- | --- | ---: | ---: | --- |"
	auth_target_row "manifest GET req/s, Basic (cached), wrk" auth_get_wrk rwbasic "$(aratio auth_get_wrk ngauth)" 0.9
	auth_target_row "manifest GET req/s, Bearer token, wrk" auth_get_wrk rwbearer "- (no Bearer)" 0.9
	auth_target_row "manifest GET req/s, Basic (cached), ab -k (same bar)" auth_get_ab rwbasic "$(aratio auth_get_ab ngauth)" 0.9
	auth_target_row "manifest GET req/s, Bearer token, ab -k (same bar)" auth_get_ab rwbearer "- (no Bearer)" 0.9
	echo
	echo "nginx with auth_basic was expected at about a third of the registry alone: it runs bcrypt (here cost ${HTPASSWD_COST:-?}) on every request."
}
auth_notes() {
	local t any=0
	for t in "${AUTH_TARGETS[@]}"; do
		if [[ -n ${NOTE[$t]:-} ]]; then
			echo "- **${TNAME[$t]}**: ${NOTE[$t]}"
			any=1
		fi
	done
	(( any )) || echo "- none: every response was checked and correct (200 and the manifest's bytes with credentials, 401 without and with wrong ones)"
}
auth_md() { # the "## Authentication" section of RESULTS.md
	echo "## Authentication: manifest GET with credentials"
	echo
	if (( DURATION < 10 )); then
		echo "> **Reduced run** (${DURATION}s load tests): for checking the harness, not a result."
		echo
	fi
	echo "Written by \`bench/run.sh\` (BENCH_ONLY=$ONLY) on $AUTH_DATE from commit $GIT_REV,"
	echo "on $NPROC x $CPU_MODEL ($KERNEL), ${NGINX_VERSION#nginx version: }, $REG_VERSION, $REGWARD_VERSION."
	echo "Load average (1, 5, 15 min): $AUTH_LOAD_START at the start of this section, ${AUTH_LOAD_END:-n/a} at its end (the bench itself adds about 2)."
	if awk -v l="${AUTH_LOAD_START%% *}" 'BEGIN{exit !(l >= 0.5)}'; then
		echo
		echo "> **Warning:** the machine was already busy when this section started (load $AUTH_LOAD_START):"
		echo "> other work competed for the CPUs and the numbers below are unreliable."
	fi
	echo
	echo "### Parameters"
	echo
	echo "- the same manifest as above ($(stat -c %s "$T/manifest.json") bytes, \`bench/manifest:latest\`, pushed directly to the registry), Accept: $MANIFEST_TYPE"
	echo "- registry (no auth): the same docker-registry process, measured again here as the baseline for this section's ratios; regward (no auth): $( [[ $ONLY == all ]] && echo "the main section's regward" || echo "a regward with the main section's configuration"), measured here for reference"
	echo "- regward: a second instance with \`\"auth\": {\"token\": {\"key\": ...}}\` (ES256 tokens, default 5 min lifetime, Basic logins cached 60 s) and the policy \`{\"repository\": \"bench/**\", \"pull\": [\"*\"], \"push\": [\"role:ci\"]}\`; user \`$AUTH_USER\` (role ci) made by \`regward user add\`, hash ${AUTH_HASH:-n/a} (yescrypt, libxcrypt's default cost)"
	echo "- regward Basic: \`Authorization: Basic\` with that user; before each timed run one GET puts the login in regward's cache, then wrk's own 1 s warm-up (the entry lasts 60 s from its verification, so it can still expire during a run: see Notes)"
	echo "- regward Bearer: \`Authorization: Bearer\` with a token from \`GET /token?service=...&scope=repository:bench/manifest:pull\` (Basic login), fetched afresh before each timed run (expires_in ${TOKEN_TTL:-n/a} s)"
	echo "- nginx auth_basic: the nginx configuration above plus the recipe's \`auth_basic \"Registry realm\"; auth_basic_user_file\` with one line from \`htpasswd -Bbn\` (bcrypt \`${HTPASSWD_PREFIX:-?}\`, cost ${HTPASSWD_COST:-?}, htpasswd -B's default), worker_processes 1; the same Basic header"
	echo "- wrk -t$THREADS -c$CONNS -d${DURATION}s (after 1s warm-up); ab -k -c $CONNS -t $DURATION (time-bounded: at nginx auth_basic's rate, -n $AB_N would take minutes)"
	echo "- load tests: $LOAD_RUNS interleaved round(s) per target (BENCH_LOAD_RUNS); the figure is the median"
	echo
	echo "### Results"
	echo
	auth_table md
	echo
	echo "Ratios are to docker-registry alone without auth, measured in this section; higher is better except for p99."
	echo
	echo "### Targets from the issue"
	echo
	auth_targets
	echo
	echo "### Notes"
	echo
	auth_notes
}
auth_text() {
	echo
	echo "regward bench, auth section, $AUTH_DATE, ${DURATION}s load tests, $NPROC CPUs ($CPU_MODEL)"
	echo
	auth_table text
	echo
	auth_targets | sed -e 's/^| //' -e 's/ |$//' -e 's/ | /  |  /g' | grep -v -- '^---'
	echo
	echo "notes:"
	auth_notes
}

# ---------------------------------------------------------------- admission report
dratio() { # METRIC A B -> R[METRIC,A] / R[METRIC,B], or n/a
	local a=${R[$1,$2]:-} b=${R[$1,$3]:-}
	[[ -n $a && -n $b ]] || { echo n/a; return; }
	awk -v a="$a" -v b="$b" 'BEGIN{if(b+0==0)print "n/a"; else printf "%.2f", a/b}'
}
ADM_ROWS=(
	"adm_get_wrk|manifest GET, wrk$LR|req/s|rps"
	"adm_get_wrk_p99|manifest GET, wrk p99$LR|ms|ms"
	"adm_get_ab|manifest GET, ab -k -t ${DURATION}$LR|req/s|rps"
)
adm_table() { # text or md
	local mode=$1 row key label unit kind t v=() x=()
	if [[ $mode == md ]]; then
		echo "| metric | unit | registry | regward admission off | regward admission on (warm) | nginx | admission off / registry | admission on / registry | nginx / registry | **on / off** |"
		echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	else
		printf '%-36s %-5s %8s %8s %8s %8s %7s %7s %7s %7s\n' metric unit registry adm-off adm-on nginx off/r on/r ng/r on/off
		printf '%s\n' "$(printf '%.0s-' $(seq 1 108))"
	fi
	for row in "${ADM_ROWS[@]}"; do
		IFS='|' read -r key label unit kind <<<"$row"
		v=(); x=()
		for t in "${ADM_TARGETS[@]}"; do v+=("$(val "$key" "$t" "$kind")"); done
		for t in admoff admon adng; do x+=("$(dratio "$key" "$t" dreg)"); done
		x+=("$(dratio "$key" admon admoff)")
		if [[ $mode == md ]]; then
			echo "| $label | $unit | ${v[0]} | ${v[1]} | ${v[2]} | ${v[3]} | ${x[0]} | ${x[1]} | ${x[2]} | **${x[3]}** |"
		else
			printf '%-36s %-5s %8s %8s %8s %8s %7s %7s %7s %7s\n' "$label" "$unit" "${v[@]}" "${x[@]}"
		fi
	done
}
adm_target_row() { # LABEL METRIC MIN
	local label=$1 key=$2 want=$3 r st
	r=$(dratio "$key" admon admoff)
	if [[ $r == n/a ]]; then st=n/a
	elif awk -v a="${R[$key,admon]}" -v b="${R[$key,admoff]}" -v w="$want" 'BEGIN{exit !(a/b >= w)}'; then st=met
	else st=missed; fi
	echo "| $label | >= ${want}x | $r | $(dratio "$key" admon dreg) | $st |"
}
adm_targets() {
	echo "| target (admission on, warm, vs admission off) | wanted | on / off | on / registry (for reference) | status |"
	echo "| --- | --- | ---: | ---: | --- |"
	adm_target_row "manifest GET req/s, wrk" adm_get_wrk 0.90
	adm_target_row "manifest GET req/s, ab -k (same bar, for information)" adm_get_ab 0.90
	echo
	echo "\"Warm admission costs under 10% of the rate without it\": admission on / admission off >= 0.90."
}
with_ms() { [[ $1 == n/a ]] && echo n/a || echo "$1 ms"; }
adm_latency() { # text or md
	local mode=$1 row k label
	local rows=(
		"off|GET through admission off (the same images, for reference)"
		"cold|GET through admission on, first (cold verification)"
		"warm|GET through admission on, second (cached verdict)"
	)
	if [[ $mode == md ]]; then
		echo "| request | curl median | curl p90 | regward's log median | regward's log p90 |"
		echo "| --- | ---: | ---: | ---: | ---: |"
	else
		printf '%-60s %8s %8s %8s %8s\n' "request (ms)" median p90 log-med log-p90
	fi
	for row in "${rows[@]}"; do
		IFS='|' read -r k label <<<"$row"
		local a b c d
		a=$(val "lat_${k}_p50" admon ms); b=$(val "lat_${k}_p90" admon ms)
		c=$(val "lat_s${k}_p50" admon ms); d=$(val "lat_s${k}_p90" admon ms)
		if [[ $mode == md ]]; then
			echo "| $label | $(with_ms "$a") | $(with_ms "$b") | $(with_ms "$c") | $(with_ms "$d") |"
		else
			printf '%-60s %8s %8s %8s %8s\n' "$label" "$a" "$b" "$c" "$d"
		fi
	done
}
adm_notes() {
	local t any=0
	for t in "${ADM_TARGETS[@]}"; do
		if [[ -n ${NOTE[$t]:-} ]]; then
			echo "- **${TNAME[$t]}**: ${NOTE[$t]}"
			any=1
		fi
	done
	(( any )) || echo "- none: every response was checked and correct (the signed manifest's bytes with \`$ADM_SIGNED_HDR\` through admission on, the unsigned tag 403 \`unsigned\` there and 200 through admission off, 401 without credentials), and neither regward logged anything above info"
}
adm_md() { # the "## Admission" section of RESULTS.md
	echo "## Admission: manifest GET with signed pulls"
	echo
	if (( DURATION < 10 )); then
		echo "> **Reduced run** (${DURATION}s load tests): for checking the harness, not a result."
		echo
	fi
	echo "Written by \`bench/run.sh\` (BENCH_ONLY=$ONLY) on $ADM_DATE from commit $GIT_REV,"
	echo "on $NPROC x $CPU_MODEL ($KERNEL), ${NGINX_VERSION#nginx version: }, $REG_VERSION, $REGWARD_VERSION."
	echo "Load average (1, 5, 15 min): $ADM_LOAD_START at the start of this section, ${ADM_LOAD_END:-n/a} at its end (the bench itself adds about 2)."
	if awk -v l="${ADM_LOAD_START%% *}" 'BEGIN{exit !(l >= 0.5)}'; then
		echo
		echo "> **Warning:** the machine was already busy when this section started (load $ADM_LOAD_START):"
		echo "> other work competed for the CPUs and the numbers below are unreliable."
	fi
	echo
	echo "### Parameters"
	echo
	echo "- the same manifest as the main section ($(stat -c %s "$T/manifest.json") bytes, \`bench/manifest:latest\`, pushed directly to the registry), Accept: $MANIFEST_TYPE"
	echo "- registry: the same docker-registry process, measured again here as the baseline; nginx: the main section's plain nginx (the distribution recipe without auth, worker_processes 1), not the auth section's auth_basic one, whose bcrypt per request would hide everything else"
	echo "- regward admission off and regward admission on: two instances with the same \`\"auth\": {\"token\": {...}, \"cache_ttl\": \"1h\"}\`, \`\"keys\": {\"bench\": P-256 public key}\`, \`\"admission\": {\"cache_ttl\": \"1h\"}\` and user \`$ADM_USER\` (role ci, \`Authorization: Basic\`); the policy is \`{\"repository\": \"bench/**\", \"pull\": [\"*\"], \"push\": [\"role:ci\"]}\`, and admission on adds \`\"require\": {\"signed_by\": [\"bench\"], \"bypass\": [\"user:$ADM_SIGNER\"]}\`. The login cache lasts 1 h on both (60 s by default), so no login expires during a run: the auth section measures logins, this one admission"
	echo "- signed with \`regward-sign sign --insecure --key KEY 127.0.0.1:PORT/bench/manifest:latest\` through admission on, as \`user:$ADM_SIGNER\` (in \`require.bypass\`, so it can read the unsigned manifest); an unsigned manifest of another digest is \`bench/manifest:unsigned\`"
	echo "- load: before each timed run one GET through each regward must answer 200 (and \`$ADM_SIGNED_HDR\` with admission on), so the login and the verdict are cached: the rate is that of warm admission (hash of the held manifest and a cache lookup per GET)"
	echo "- wrk -t$THREADS -c$CONNS -d${DURATION}s (after 1s warm-up); ab -k -c $CONNS -t $DURATION"
	echo "- load tests: $LOAD_RUNS interleaved round(s) per target (BENCH_LOAD_RUNS); the figure is the median"
	echo "- cold verification: ${R[cold_n,admon]:-0} of $COLD_N images (BENCH_COLD_N) with their own digest (the bench manifest plus an annotation), pushed to the registry and signed through regward; then, per image, one GET through admission off, the first GET through admission on (a cache miss: a worker fetches the \`.sig\` manifest and its payload blob from the registry, verifies the ECDSA signature and the payload, and records the verdict) and a second GET (a cache hit). Each GET is one \`curl\` on a new connection (\`time_total\`); regward's own time is the request's \`ms\` in its log. Fresh digests rather than a restart, because admitting verdicts persist in SQLite"
	echo
	echo "### Manifest GET rate"
	echo
	adm_table md
	echo
	echo "Ratios are to docker-registry alone, measured in this section, except **on / off**; higher is better except for p99."
	echo
	echo "### Target from the issue"
	echo
	adm_targets
	echo
	echo "### Cold verification latency"
	echo
	adm_latency md
	echo
	if [[ -n ${R[lat_cold_p50,admon]:-} && -n ${R[lat_warm_p50,admon]:-} ]]; then
		echo "A cold verification added $(awk -v a="${R[lat_cold_p50,admon]}" -v b="${R[lat_warm_p50,admon]}" 'BEGIN{printf "%.2f", a-b}') ms to the median GET (curl), $(awk -v a="${R[lat_scold_p50,admon]:-0}" -v b="${R[lat_swarm_p50,admon]:-0}" 'BEGIN{printf "%.2f", a-b}') ms by regward's log."
		echo
	fi
	echo "### Notes"
	echo
	adm_notes
}
adm_text() {
	echo
	echo "regward bench, admission section, $ADM_DATE, ${DURATION}s load tests, $NPROC CPUs ($CPU_MODEL)"
	echo
	adm_table text
	echo
	adm_targets | sed -e 's/^| //' -e 's/ |$//' -e 's/ | /  |  /g' | grep -v -- '^---'
	echo
	adm_latency text
	echo
	echo "notes:"
	adm_notes
}

# md_section_put HEADING FILE RESULTS: RESULTS with its "## HEADING..."
# section (to the next "## " heading) replaced in place by FILE, or FILE
# appended when there is none.
md_section_put() {
	awk -v name="## $1" -v f="$2" '
	function put(  l) { while ((getline l < f) > 0) print l; close(f); done = 1 }
	/^## / {
		if (skip) { skip = 0; print "" }
		if (index($0, name) == 1) { if (!done) put(); skip = 1; next }
	}
	!skip { print }
	END { if (!done) { print ""; put() } }' "$3"
}
# md_section HEADING RESULTS: that section of RESULTS, if any.
md_section() { awk -v name="## $1" '/^## /{on = index($0, name) == 1} on' "$2"; }

# ---------------------------------------------------------------- output
# BENCH_ONLY=auth or admission: that section is replaced in place (or
# appended) and the rest of the file is kept.
if [[ $ONLY == auth || $ONLY == admission ]]; then
	if [[ $ONLY == auth ]]; then
		auth_text || true
		auth_md >"$T/section.md"
		heading=Authentication
	else
		adm_text || true
		adm_md >"$T/section.md"
		heading=Admission
	fi
	if [[ -s $RESULTS ]]; then
		md_section_put "$heading" "$T/section.md" "$RESULTS" >"$T/results.md"
	else
		{ echo "# regward benchmark results"; echo; cat "$T/section.md"; } >"$T/results.md"
	fi
	cat "$T/results.md" >"$RESULTS"
	log "wrote the $ONLY section of $RESULTS (the other sections are kept as they were)"
	exit 0
fi

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
	if [[ $ONLY == all ]]; then
		auth_text
		adm_text
	fi
} || true

# BENCH_ONLY=main keeps the auth and admission sections measured earlier.
OLD_AUTH="" OLD_ADM=""
if [[ $ONLY == main && -s $RESULTS ]]; then
	OLD_AUTH=$(md_section Authentication "$RESULTS")
	OLD_ADM=$(md_section Admission "$RESULTS")
fi

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
	if [[ $ONLY == all ]]; then
		echo
		auth_md
		echo
		adm_md
	else
		[[ -z $OLD_AUTH ]] || { echo; printf '%s\n' "$OLD_AUTH"; }
		[[ -z $OLD_ADM ]] || { echo; printf '%s\n' "$OLD_ADM"; }
	fi
} >"$RESULTS"
log "wrote $RESULTS"
