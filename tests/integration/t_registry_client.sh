#!/bin/bash
# The libcurl registry client (signer/registry*.c) against a real
# docker-registry, through tests/unit/registry_probe.c: blob upload (and
# skip when present), manifest put/get by tag and digest with digests
# checked, not-found and size caps; first without auth, then with the
# registry's htpasswd auth (Basic), then with its token auth (Bearer,
# from a small token server written below, signing ES256 JWTs with
# openssl). Credentials come from the environment, docker's config.json
# and a password on stdin; wrong ones must fail as "unauthorized" without
# the password in any message.
#
# The probe is found next to the gateway's build: $(dirname
# $REGWARD_BIN)/../tests/registry_probe, or REGISTRY_PROBE. Skips (77)
# when it is not built.
. "$(dirname "$0")/lib.sh"
require_cmd docker-registry curl

PROBE=${REGISTRY_PROBE:-}
if [ -z "$PROBE" ] && [ -n "${REGWARD_BIN:-}" ]; then
	PROBE="$(dirname "$REGWARD_BIN")/../tests/registry_probe"
fi
[ -n "$PROBE" ] && [ -x "$PROBE" ] || skip "registry_probe not built (REGISTRY_PROBE=$PROBE)"

# Nothing from the caller's environment may leak into the cases.
unset REGWARD_USERNAME REGWARD_PASSWORD
export DOCKER_CONFIG="$TMP/no-docker-config"

# probe ARGS...: run the probe, output in $TMP/probe.out; fail on error.
probe()
{
	local rc=0
	"$PROBE" "$@" >"$TMP/probe.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$TMP/probe.out" >&2
		fail "registry_probe $* exited $rc"
	fi
}

# probe_expect STATUS SECRET ARGS...: the probe's first operation fails
# with STATUS and no output line contains SECRET.
probe_expect()
{
	local want=$1 secret=$2
	shift 2
	probe -x "$want" "$@"
	assert_not_contains "$(cat "$TMP/probe.out")" "$secret" "probe output"
}

# start_registry_with NAME YAML [SCHEME]: like lib.sh's start_registry,
# with YAML appended to its config (an auth section, or http.tls lines
# with SCHEME https). Sets REG_PID, REG_PORT, REG_URL.
start_registry_with()
{
	local name=$1 auth=$2 scheme=${3:-http} cfg="$TMP/$1.yml"
	local log="$TMP/$1.log" line
	cat >"$cfg" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $TMP/$name-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
  secret: regward-integration-test
$auth
EOF
	docker-registry serve "$cfg" >>"$log" 2>&1 &
	REG_PID=$!
	track "$REG_PID"
	REG_LOG=$log
	REG_PORT=""
	for _ in $(seq 100); do
		line=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$log" |
		    tail -n 1 || true)
		if [ -n "$line" ]; then
			REG_PORT=${line##*:}
			break
		fi
		kill -0 "$REG_PID" 2>/dev/null ||
		    fail "docker-registry ($name) exited during startup"
		sleep 0.1
	done
	[ -n "$REG_PORT" ] || fail "docker-registry ($name) did not start"
	REG_URL="$scheme://127.0.0.1:$REG_PORT"
	wait_for 10 curl -sk -o /dev/null "$REG_URL/v2/" ||
	    fail "docker-registry ($name) does not answer"
	log "registry $name pid $REG_PID at $REG_URL"
}

# --- 1. no auth
start_registry
H="127.0.0.1:$REG_PORT"
probe -k "$H" test/probe
assert_contains "$(cat "$TMP/probe.out")" "credentials: none"
# Again: blobs differ per run, the manifest tag is overwritten.
probe -k "$H" test/probe
# Our User-Agent reached the registry.
assert_contains "$(cat "$REG_LOG")" "regward-sign/"
stop_registry

# --- 2. htpasswd (Basic)
require_cmd htpasswd
PW='s3cr3t pw:x'
htpasswd -Bbn alice "$PW" >"$TMP/htpasswd"
start_registry_with basic "auth:
  htpasswd:
    realm: regward-test
    path: $TMP/htpasswd"
H="127.0.0.1:$REG_PORT"

REGWARD_USERNAME=alice REGWARD_PASSWORD=$PW probe -k "$H" test/basic
assert_contains "$(cat "$TMP/probe.out")" "credentials: REGWARD_USERNAME"
printf '%s\n' "$PW" | probe -k -u alice "$H" test/stdin
assert_contains "$(cat "$TMP/probe.out")" "credentials: stdin"

# docker's config.json, keyed "http://host:port" as `docker login` may.
mkdir -p "$TMP/dockercfg"
jq -n --arg k "http://$H" --arg a "$(printf 'alice:%s' "$PW" | base64 -w0)" \
    '{auths: {($k): {auth: $a}}}' >"$TMP/dockercfg/config.json"
DOCKER_CONFIG="$TMP/dockercfg" probe -k "$H" test/dockercfg
assert_contains "$(cat "$TMP/probe.out")" "config.json"

# A credsStore entry is refused with a clear message.
jq -n --arg k "$H" '{auths: {($k): {}}, credsStore: "desktop"}' \
    >"$TMP/dockercfg/config.json"
rc=0
DOCKER_CONFIG="$TMP/dockercfg" "$PROBE" -k "$H" test/x >"$TMP/probe.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "probe with a credsStore config"
assert_contains "$(cat "$TMP/probe.out")" "credential helpers are not supported"

REGWARD_USERNAME=alice REGWARD_PASSWORD=wrong-pw-123 \
    probe_expect unauthorized wrong-pw-123 -k "$H" test/basic
assert_contains "$(cat "$TMP/probe.out")" "credentials from REGWARD_USERNAME"
probe_expect unauthorized "$PW" -k "$H" test/basic
assert_contains "$(cat "$TMP/probe.out")" "none were given"
stop_registry

# --- 3. token auth (Bearer)
if ! command -v python3 >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
	log "python3 or openssl missing: Bearer case skipped"
	exit 0
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=regward-test-token -keyout "$TMP/tok.key" \
    -out "$TMP/tok.crt" >/dev/null 2>&1 || fail "openssl req"

# A token server: Basic alice:$PW gets every action asked for on
# "repository" scopes, reader:$PW only pull; anyone else gets 401. Logs
# one JSON line per request (user, service, scopes) to tokens.log.
cat >"$TMP/token_server.py" <<'PYEOF'
import base64, json, os, subprocess, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

portfile, key, crt, issuer, service, pw, logf = sys.argv[1:8]
users = {"alice:" + pw: None, "reader:" + pw: ["pull"]}
der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"],
                     check=True, capture_output=True).stdout

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def der_to_raw(sig):
    # ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
    i = 2 if sig[1] < 0x80 else 2 + (sig[1] & 0x7f)
    out = b""
    for _ in range(2):
        assert sig[i] == 2
        n = sig[i + 1]
        v = sig[i + 2:i + 2 + n].lstrip(b"\0")
        out += v.rjust(32, b"\0")
        i += 2 + n
    return out

def jwt(sub, access):
    now = int(time.time())
    hdr = {"typ": "JWT", "alg": "ES256",
           "x5c": [base64.b64encode(der).decode()]}
    claims = {"iss": issuer, "sub": sub, "aud": service, "exp": now + 300,
              "nbf": now - 10, "iat": now, "jti": b64u(os.urandom(12)),
              "access": access}
    si = b64u(json.dumps(hdr).encode()) + "." + b64u(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                         input=si.encode(), check=True,
                         capture_output=True).stdout
    return si + "." + b64u(der_to_raw(sig))

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        who = None
        a = self.headers.get("Authorization", "")
        if a.startswith("Basic "):
            try:
                who = base64.b64decode(a[6:]).decode()
            except Exception:
                who = "?"
        scopes = q.get("scope", [])
        with open(logf, "a") as f:
            f.write(json.dumps({"path": u.path, "basic": who is not None,
                                "user": (who or "").split(":")[0],
                                "service": q.get("service", [""])[0],
                                "scopes": scopes}) + "\n")
        if who not in users:
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                         "message": "bad credentials"}]})
            return
        access = []
        for s in scopes:
            t, _, rest = s.partition(":")
            name, _, actions = rest.rpartition(":")
            acts = actions.split(",")
            if users[who] is not None:
                acts = [x for x in acts if x in users[who]]
            if t == "repository":
                access.append({"type": t, "name": name, "actions": acts})
        tok = jwt(who.split(":")[0], access)
        self.reply(200, {"token": tok, "expires_in": 300})

srv = HTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_port))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PYEOF
python3 "$TMP/token_server.py" "$TMP/tok.port" "$TMP/tok.key" "$TMP/tok.crt" \
    regward-test-issuer regward-test-registry "$PW" "$TMP/tokens.log" \
    >"$TMP/token_server.out" 2>&1 &
TOK_PID=$!
track "$TOK_PID"
wait_for 10 test -s "$TMP/tok.port" || fail "token server did not start"
TOK_PORT=$(cat "$TMP/tok.port")

start_registry_with bearer "auth:
  token:
    realm: http://127.0.0.1:$TOK_PORT/token
    service: regward-test-registry
    issuer: regward-test-issuer
    rootcertbundle: $TMP/tok.crt"
H="127.0.0.1:$REG_PORT"

REGWARD_USERNAME=alice REGWARD_PASSWORD=$PW probe -k "$H" test/bearer
# Tokens were asked for with the service and a push scope, with Basic
# credentials, and cached: one per scope, not one per request.
n=$(wc -l <"$TMP/tokens.log")
log "token requests for one probe run: $n"
[ "$n" -ge 2 ] && [ "$n" -le 6 ] || fail "expected 2..6 token requests, got $n: $(cat "$TMP/tokens.log")"
assert_contains "$(cat "$TMP/tokens.log")" '"repository:test/bearer:pull,push"'
assert_contains "$(cat "$TMP/tokens.log")" '"service": "regward-test-registry"'
assert_not_contains "$(cat "$TMP/tokens.log")" '"basic": false'
: >"$TMP/tokens.log"

REGWARD_USERNAME=alice REGWARD_PASSWORD=wrong-pw-456 \
    probe_expect unauthorized wrong-pw-456 -k "$H" test/bearer
assert_contains "$(cat "$TMP/probe.out")" "token server http://127.0.0.1:$TOK_PORT/token: HTTP 401"
# Anonymous: the token server is asked without credentials and refuses.
probe_expect unauthorized "$PW" -k "$H" test/bearer
assert_contains "$(cat "$TMP/tokens.log")" '"basic": false'
# Authenticated, but the token grants pull only: the upload is denied.
REGWARD_USERNAME=reader REGWARD_PASSWORD=$PW \
    probe_expect denied "$PW" -k "$H" test/bearer
stop_registry

# --- 3b. https registry (ca_cert), whose token realm is plain http: the
# client refuses to send the password there unless insecure.
make_cert "$TMP/tls"
start_registry_with tls "  tls:
    certificate: $TMP/tls/cert.pem
    key: $TMP/tls/key.pem" https
H="127.0.0.1:$REG_PORT"
probe -c "$TMP/tls/cert.pem" "$H" test/tls
# Without our CA the certificate is refused.
probe_expect network "$PW" "$H" test/tls
stop_registry
: >"$TMP/tokens.log"
start_registry_with tls-bearer "  tls:
    certificate: $TMP/tls/cert.pem
    key: $TMP/tls/key.pem
auth:
  token:
    realm: http://127.0.0.1:$TOK_PORT/token
    service: regward-test-registry
    issuer: regward-test-issuer
    rootcertbundle: $TMP/tok.crt" https
H="127.0.0.1:$REG_PORT"
REGWARD_USERNAME=alice REGWARD_PASSWORD=$PW \
    probe_expect insecure "$PW" -c "$TMP/tls/cert.pem" "$H" test/tls
[ ! -s "$TMP/tokens.log" ] || fail "the token server was contacted: $(cat "$TMP/tokens.log")"
stop_registry

# --- 4. blob GET redirected to storage on another origin: followed, and
# the Authorization sent to the registry does not travel with it.
cat >"$TMP/redirector.py" <<'PYEOF'
import json, os, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer

portfile, logf = sys.argv[1:3]
BLOB = b"hello from storage\n"

def log(**kw):
    with open(logf, "a") as f:
        f.write(json.dumps(kw) + "\n")

class Storage(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        log(server="storage", path=self.path,
            auth=self.headers.get("Authorization") is not None)
        self.send_response(200)
        self.send_header("Content-Length", str(len(BLOB)))
        self.end_headers()
        self.wfile.write(BLOB)

storage = HTTPServer(("127.0.0.1", 0), Storage)

class Registry(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        auth = self.headers.get("Authorization")
        log(server="registry", path=self.path, auth=auth is not None)
        if auth is None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="fake"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(307)
        self.send_header("Location", "http://127.0.0.1:%d/blob?X-Sig=1"
                         % storage.server_port)
        self.send_header("Content-Length", "0")
        self.end_headers()

reg = HTTPServer(("127.0.0.1", 0), Registry)
threading.Thread(target=storage.serve_forever, daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write(str(reg.server_port))
os.rename(portfile + ".tmp", portfile)
reg.serve_forever()
PYEOF
python3 "$TMP/redirector.py" "$TMP/redir.port" "$TMP/redir.log" \
    >"$TMP/redirector.out" 2>&1 &
track $!
wait_for 10 test -s "$TMP/redir.port" || fail "redirector did not start"
printf 'hello from storage\n' >"$TMP/blob"
REGWARD_USERNAME=alice REGWARD_PASSWORD=$PW probe -k \
    -g "$(file_digest "$TMP/blob")" "127.0.0.1:$(cat "$TMP/redir.port")" test/redir
assert_contains "$(cat "$TMP/redir.log")" '"server": "registry", "path": "/v2/test/redir/blobs/sha256:'
assert_contains "$(cat "$TMP/redir.log")" '"auth": true'
assert_contains "$(cat "$TMP/redir.log")" '"server": "storage", "path": "/blob?X-Sig=1", "auth": false'
assert_not_contains "$(cat "$TMP/redir.log")" '"server": "storage", "path": "/blob?X-Sig=1", "auth": true'
