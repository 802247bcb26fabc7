#!/usr/bin/env bash
# deploy/ holds what platform teams copy as is; check it practises what
# regward enforces, without Docker or a cluster:
#   - Dockerfile: final stage FROM scratch (or distroless), no RUN, no ADD,
#     no shell-form CMD/ENTRYPOINT/HEALTHCHECK, numeric non-root USER,
#     HEALTHCHECK runs `regward health`, OCI labels, nothing secret-looking
#     in ARG/ENV, copies only the collect-libs.sh root filesystem; its build
#     stage installs every -dev package scripts/deps.sh names
#   - collect-libs.sh lays out exactly the libraries ldd lists for regward
#     and regward-sign, and (as root) both binaries run chrooted in it
#   - every Kubernetes YAML parses, and every container and initContainer
#     (Deployments, CronJob) has the security settings, resources, probes
#   - NetworkPolicies: default deny and the four allowed flows
#   - deploy/seccomp/regward.json is what gen-profile.py makes of the
#     table in gateway/sandbox.c
#   - systemd-analyze verify accepts the units (when systemd is installed)
. "$(dirname "$0")/lib.sh"
require_cmd python3
src=${REGWARD_SRC:?}
bindir=$(cd "$(dirname "$REGWARD_BIN")/.." && pwd)
sign_bin=$bindir/signer/regward-sign
[ -x "$sign_bin" ] || fail "no regward-sign at $sign_bin"
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing (scripts/deps.sh)"

# --- Dockerfile
python3 - "$src/deploy/Dockerfile" "$src/scripts/deps.sh" <<'PY' || fail "Dockerfile checks"
import json, re, sys
path, deps = sys.argv[1], sys.argv[2]
lines, cur = [], ""
for raw in open(path):
    s = raw.rstrip("\n")
    if not cur and (not s.strip() or s.lstrip().startswith("#")):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    lines.append(cur + s)
    cur = ""
stages, errs = [], []
for l in lines:
    word, _, rest = l.strip().partition(" ")
    word = word.upper()
    if word == "FROM":
        stages.append([])
    if stages:
        stages[-1].append((word, rest.strip()))
if len(stages) < 2:
    errs.append("not multi-stage")
final = stages[-1]
base = final[0][1].split()[0]
if base != "scratch" and not base.startswith("gcr.io/distroless/"):
    errs.append("final stage FROM %s: want scratch or distroless" % base)
user = None
labels = ""
for word, rest in final:
    if word in ("RUN", "ADD"):
        errs.append("final stage has %s %s (needs a shell / fetches)" % (word, rest[:40]))
    if word in ("CMD", "ENTRYPOINT", "HEALTHCHECK", "SHELL"):
        arg = rest
        if word == "HEALTHCHECK":
            arg = re.sub(r"^(--\S+\s+)*", "", rest)
            if not arg.startswith("CMD "):
                errs.append("HEALTHCHECK without CMD")
            arg = arg[4:].strip()
            if "regward" not in arg or "health" not in arg:
                errs.append("HEALTHCHECK does not run regward health")
        if word == "SHELL":
            errs.append("SHELL in the final stage")
            continue
        try:
            v = json.loads(arg)
            assert isinstance(v, list) and all(isinstance(x, str) for x in v)
        except Exception:
            errs.append("%s is in shell form (needs /bin/sh): %s" % (word, arg))
    if word == "USER":
        user = rest
    if word == "LABEL":
        labels += " " + rest
    if word == "COPY":
        m = re.match(r"--from=(\S+)\s+(\S+)\s+(\S+)$", rest)
        if not m or m.group(2) != "/rootfs/":
            errs.append("final stage COPY must be --from=build /rootfs/ /: %s" % rest)
    if word in ("ARG", "ENV") and re.search(r"(?i)(secret|passw|token|key)", rest):
        errs.append("%s looks like a secret in a layer: %s" % (word, rest))
if user is None:
    errs.append("no USER in the final stage")
else:
    u, _, g = user.partition(":")
    if not u.isdigit() or int(u) == 0 or (g and (not g.isdigit() or int(g) == 0)):
        errs.append("USER %s: want numeric non-root uid:gid" % user)
for l in ("title", "version", "source", "licenses", "description"):
    if "org.opencontainers.image." + l not in labels:
        errs.append("missing OCI label org.opencontainers.image." + l)
build = " ".join(r for st in stages[:-1] for w, r in st if w == "RUN")
if "cmake" not in build or "collect-libs.sh" not in build:
    errs.append("build stage must build with cmake and run deploy/collect-libs.sh")
for pkg in re.findall(r"\blib[a-z0-9.+-]*-dev\b", open(deps).read()):
    if pkg == "libcmocka-dev":
        continue  # tests only; the image builds with REGWARD_TESTS=OFF
    if not re.search(r"(^|\s)" + re.escape(pkg) + r"(\s|$)", build):
        errs.append("build stage does not install %s (scripts/deps.sh)" % pkg)
for e in errs:
    print("Dockerfile: " + e, file=sys.stderr)
sys.exit(1 if errs else 0)
PY
for f in .git build 'build-*' '**/*.pem' '**/*.key'; do
	grep -qxF -- "$f" "$src/.dockerignore" || fail ".dockerignore does not exclude $f"
done
log "ok: Dockerfile final stage: scratch, no shell, non-root, exec-form health check"

# --- collect-libs.sh against ldd
rootfs=$TMP/rootfs
"$src/deploy/collect-libs.sh" "$rootfs" "$REGWARD_BIN" "$sign_bin" >"$TMP/copied" ||
    fail "collect-libs.sh failed"
for b in "$REGWARD_BIN" "$sign_bin"; do
	ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }'
done | sort -u >"$TMP/ldd"
diff -u "$TMP/ldd" "$TMP/copied" || fail "collect-libs.sh output differs from ldd"
(cd "$rootfs" && find . \( -type f -o -type l \) -name '*.so*' | sed 's#^\.##' | sort) >"$TMP/present"
diff -u "$TMP/ldd" "$TMP/present" || fail "the root filesystem holds other libraries than ldd lists"
n=$(find "$rootfs" -type f | grep -vc -e '\.so' -e '^'"$rootfs"'/usr/bin/' -e '^'"$rootfs"'/etc/' || true)
assert_eq 0 "$n" "files in the root filesystem besides binaries, libraries and /etc"
if [ -e "$rootfs/bin/sh" ] || [ -e "$rootfs/usr/bin/sh" ]; then fail "a shell in the root filesystem"; fi
if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null; then
	# Not `ldd | grep -q`: under pipefail grep's early exit fails the pipe.
	if [[ "$(ldd "$REGWARD_BIN")" == *libasan* ]]; then
		log "ASan build: chroot run skipped (the sanitizer runtime wants /proc)"
	else
		chroot "$rootfs" /usr/bin/regward version >/dev/null ||
		    fail "regward does not run from the collected root filesystem"
		chroot --userspec=65532:65532 "$rootfs" /usr/bin/regward-sign --help >/dev/null 2>&1 ||
		    fail "regward-sign does not run from the collected root filesystem"
		log "ok: both binaries run chrooted in the collected root filesystem"
	fi
fi
log "ok: collect-libs.sh copies exactly what ldd lists ($(wc -l <"$TMP/ldd") files)"

# --- Kubernetes
python3 - "$src/deploy/kubernetes" <<'PY' || fail "Kubernetes checks"
import glob, os, sys, yaml
d = sys.argv[1]
errs, docs = [], []
files = sorted(glob.glob(os.path.join(d, "*.yaml")))
if not files:
    sys.exit("no YAML in " + d)
for f in files:
    try:
        for doc in yaml.safe_load_all(open(f)):
            if doc is not None:
                docs.append((os.path.basename(f), doc))
    except yaml.YAMLError as e:
        errs.append("%s: %s" % (f, e))

def pod_specs():
    for f, doc in docs:
        k = doc.get("kind")
        if k in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield f, doc, doc["spec"]["template"]["spec"]
        elif k == "CronJob":
            yield f, doc, doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        elif k == "Pod":
            yield f, doc, doc["spec"]

kinds = {doc.get("kind") for _, doc in docs}
for k in ("Deployment", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim",
          "CronJob", "NetworkPolicy"):
    if k not in kinds:
        errs.append("no %s" % k)
deps = [doc["metadata"]["name"] for _, doc in docs if doc.get("kind") == "Deployment"]
if len(deps) < 2:
    errs.append("want Deployments for regward and the registry, have %s" % deps)
npods = 0
for f, doc, spec in pod_specs():
    npods += 1
    where = "%s %s/%s" % (f, doc["kind"], doc["metadata"]["name"])
    psc = spec.get("securityContext") or {}
    if spec.get("automountServiceAccountToken") is not False:
        errs.append(where + ": automountServiceAccountToken must be false")
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        errs.append(where + ": host namespaces")
    for k in ("runAsUser", "runAsGroup", "fsGroup"):
        v = psc.get(k)
        if not isinstance(v, int) or v == 0:
            errs.append(where + ": pod securityContext.%s must be a fixed non-zero id" % k)
    if psc.get("runAsNonRoot") is not True:
        errs.append(where + ": pod runAsNonRoot")
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    for v in vols.values():
        if "hostPath" in v:
            errs.append(where + ": hostPath volume " + v["name"])
    ctrs = [("container", c) for c in spec.get("containers", [])] + \
           [("initContainer", c) for c in spec.get("initContainers", [])]
    if not spec.get("containers"):
        errs.append(where + ": no containers")
    for kind, c in ctrs:
        cw = "%s %s %s" % (where, kind, c["name"])
        sc = c.get("securityContext") or {}
        def eff(k):
            return sc.get(k, psc.get(k))
        if eff("runAsNonRoot") is not True:
            errs.append(cw + ": runAsNonRoot")
        for k in ("runAsUser", "runAsGroup"):
            v = eff(k)
            if not isinstance(v, int) or v == 0:
                errs.append(cw + ": " + k)
        if sc.get("allowPrivilegeEscalation") is not False:
            errs.append(cw + ": allowPrivilegeEscalation must be false")
        if sc.get("privileged"):
            errs.append(cw + ": privileged")
        if sc.get("readOnlyRootFilesystem") is not True:
            errs.append(cw + ": readOnlyRootFilesystem must be true")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            errs.append(cw + ": capabilities must drop ALL")
        if caps.get("add"):
            errs.append(cw + ": adds capabilities %s" % caps["add"])
        sp = sc.get("seccompProfile") or psc.get("seccompProfile") or {}
        if sp.get("type") not in ("RuntimeDefault", "Localhost"):
            errs.append(cw + ": seccompProfile RuntimeDefault or Localhost")
        if sp.get("type") == "Localhost" and not sp.get("localhostProfile"):
            errs.append(cw + ": Localhost seccompProfile without a profile")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(part) or {}):
                    errs.append(cw + ": resources.%s.%s" % (part, r))
        if doc["kind"] == "Deployment" and kind == "container":
            for p in ("livenessProbe", "readinessProbe"):
                if p not in c:
                    errs.append(cw + ": no " + p)
        for m in c.get("volumeMounts", []):
            v = vols.get(m["name"])
            if v is None:
                errs.append(cw + ": mounts unknown volume " + m["name"])
            elif ("configMap" in v or "secret" in v) and not m.get("readOnly"):
                errs.append(cw + ": config/secret mount %s not readOnly" % m["name"])
        img = c.get("image", "")
        if ":" not in img.rsplit("/", 1)[-1] or img.endswith(":latest"):
            errs.append(cw + ": image %r without a fixed tag" % img)
        if "regward" in img:
            cmd = c.get("args", []) + c.get("command", [])
            if "-c" not in cmd:
                errs.append(cw + ": regward without -c")
            for p in ("livenessProbe", "readinessProbe"):
                pr = c.get(p)
                if pr and "exec" in pr and pr["exec"]["command"][:2] != ["/usr/bin/regward", "health"]:
                    errs.append(cw + ": %s must exec regward health" % p)
if npods < 3:
    errs.append("found %d pod templates, want regward, registry and the CronJob" % npods)
cj = [doc for _, doc in docs if doc.get("kind") == "CronJob"]
for doc in cj:
    spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    cmds = [" ".join(c.get("command", []) + c.get("args", []))
            for c in spec.get("initContainers", []) + spec.get("containers", [])]
    if not any(c.startswith("purge -c") or " purge -c" in c for c in cmds):
        errs.append("CronJob %s does not run regward purge -c" % doc["metadata"]["name"])
    if not any("garbage-collect" in c for c in cmds):
        errs.append("CronJob %s does not run the registry's garbage-collect" % doc["metadata"]["name"])
for _, doc in docs:
    if doc.get("kind") == "Secret":
        for k, v in (doc.get("stringData") or {}).items():
            if v:
                errs.append("Secret %s/%s holds data: placeholders only" % (doc["metadata"]["name"], k))
        if doc.get("data"):
            errs.append("Secret %s has data: placeholders only" % doc["metadata"]["name"])
    if doc.get("kind") == "ConfigMap" and "regward.json" in doc.get("data", {}):
        import json
        try:
            json.loads(doc["data"]["regward.json"])
        except ValueError as e:
            errs.append("ConfigMap regward.json: %s" % e)
    if doc.get("kind") == "Service" and doc["spec"].get("type") in ("NodePort", "LoadBalancer") \
            and doc["metadata"]["name"] == "registry":
        errs.append("the registry Service must not be exposed")
# NetworkPolicies
nps = [doc for _, doc in docs if doc.get("kind") == "NetworkPolicy"]
def sel(np):
    return (np["spec"].get("podSelector") or {}).get("matchLabels") or {}
deny = [np for np in nps if sel(np) == {} and set(np["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not np["spec"].get("ingress") and not np["spec"].get("egress")]
if not deny:
    errs.append("no default-deny NetworkPolicy (empty podSelector, Ingress+Egress, no rules)")
def rules(kind, target):
    for np in nps:
        s = sel(np)
        if all(target.get(k) == v for k, v in s.items()):
            for r in np["spec"].get(kind, []) or []:
                yield np, r
def ports(r):
    return {(p.get("protocol", "TCP"), p.get("port")) for p in r.get("ports", [])}
gw = {"app.kubernetes.io/name": "regward", "app.kubernetes.io/component": "gateway"}
reg = {"app.kubernetes.io/name": "registry"}
ok = any(("TCP", 8443) in ports(r) and any("namespaceSelector" in f for f in r.get("from", []))
         for _, r in rules("ingress", gw))
if not ok:
    errs.append("no ingress rule from the ingress controller's namespace to regward:8443")
ok = any(("TCP", 5000) in ports(r) and any((f.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "regward"
                                           for f in r.get("from", []))
         for _, r in rules("ingress", reg))
if not ok:
    errs.append("registry:5000 not reachable from regward")
for np, r in rules("ingress", reg):
    for f in r.get("from", []):
        if (f.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/name") != "regward" \
                or "namespaceSelector" in f or "ipBlock" in f:
            errs.append("%s lets something other than regward reach the registry" % np["metadata"]["name"])
if not any(("TCP", 5000) in ports(r) for _, r in rules("egress", gw)):
    errs.append("no egress rule regward -> registry:5000")
if not any(("UDP", 53) in ports(r) and ("TCP", 53) in ports(r) for _, r in rules("egress", gw)):
    errs.append("no DNS egress (53 udp+tcp) for regward")
if not any(("UDP", 53) in ports(r) for _, r in rules("egress", reg)):
    errs.append("no DNS egress for the registry")
if not any(("TCP", 443) in ports(r) and any("ipBlock" in t for t in r.get("to", [])) for _, r in rules("egress", gw)):
    errs.append("no HTTPS egress for the OIDC issuers")
for np, r in rules("egress", reg):
    if ("TCP", 443) in ports(r):
        errs.append("%s gives the registry internet egress" % np["metadata"]["name"])
for e in errs:
    print("kubernetes: " + e, file=sys.stderr)
print("%d documents, %d pod templates checked" % (len(docs), npods))
sys.exit(1 if errs else 0)
PY
log "ok: Kubernetes manifests parse and every container is locked down"

# --- seccomp profile vs the C table
python3 "$src/deploy/seccomp/gen-profile.py" --check >/dev/null ||
    fail "deploy/seccomp/regward.json differs from gateway/sandbox.c's table"
python3 - "$src/deploy/seccomp/regward.json" <<'PY' || fail "seccomp profile content"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["defaultAction"] in ("SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL"), p["defaultAction"]
names = {n for s in p["syscalls"] if "args" not in s for n in s["names"]}
for must in ("execve", "accept4", "epoll_wait", "read", "write"):
    assert must in names, "profile lacks " + must
for never in ("ptrace", "mount", "kexec_load", "init_module", "bpf", "unshare", "setns", "socket"):
    assert never not in names, "profile allows " + never + " unconditionally"
PY
log "ok: deploy/seccomp/regward.json matches gateway/sandbox.c"

# --- systemd units
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$TMP/units"
	for u in "$src"/deploy/systemd/*; do
		# verify wants the ExecStart binaries to exist: point at this build.
		sed -e "s#/usr/bin/regward #$REGWARD_BIN #" "$u" >"$TMP/units/$(basename "$u")"
	done
	if ! command -v docker-registry >/dev/null; then
		sed -i '/docker-registry garbage-collect/d' "$TMP/units/regward-purge.service"
	fi
	(cd "$TMP/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify \
	    ./regward.service ./regward-purge.service ./regward-purge.timer) \
	    >"$TMP/verify.out" 2>&1 || { cat "$TMP/verify.out" >&2; fail "systemd-analyze verify"; }
	if [ -n "$(grep -v '^$' "$TMP/verify.out" || true)" ]; then
		cat "$TMP/verify.out" >&2
		fail "systemd-analyze verify warned"
	fi
	log "ok: systemd-analyze verify accepts the units"
else
	log "SKIP part: systemd-analyze is not installed (apt-get install systemd); units not verified"
fi
for k in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
    PrivateDevices=yes CapabilityBoundingSet= 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
    SystemCallFilter=@system-service StateDirectory=regward User=regward; do
	grep -q "^$k" "$src/deploy/systemd/regward.service" || fail "regward.service lacks $k"
done
grep -q '^OnCalendar=' "$src/deploy/systemd/regward-purge.timer" || fail "timer without OnCalendar"
grep -q 'regward purge -c' "$src/deploy/systemd/regward-purge.service" || fail "purge service does not run regward purge"
grep -Eq '^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ regward .*regward purge -c' \
    "$src/deploy/cron/regward-purge" || fail "cron example is not a cron.d line running regward purge as regward"
log "ok: systemd units and cron example"
