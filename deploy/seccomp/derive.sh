#!/usr/bin/env bash
# Derive regward's seccomp allow-list from what it really does: run
# integration tests with every regward process under strace, then print
# the system calls they made.
#
# usage: deploy/seccomp/derive.sh [--build DIR] [--out DIR] [--rows] [TEST...]
#   --build DIR  build directory whose gateway/regward is traced (build)
#   --out DIR    keep the traces there (default: a temp dir, removed)
#   --rows       print rows for sandbox_table[] in gateway/sandbox.c
#   TEST         t_*.sh names (default: every tests/integration/t_*.sh)
#
# Output, one name a line, sorted:
#   # daemon: calls a `regward serve` process made after the sandbox went
#     up (after its prctl(PR_SET_NO_NEW_PRIVS)): the daemon's own filter
#   # start: calls made only before that or by other regward commands
#     (health, user, check): the container profile needs them too
#   # socket families passed to socket()
#
# The gateway runs with "sandbox": {"seccomp": false} (REGWARD_SECCOMP=0)
# so a call missing from the current table cannot change what the tests
# exercise. LeakSanitizer cannot run under strace (it ptraces itself), so
# detect_leaks is off here. Run it with --build build (release: what the
# image ships) and again with --build build-asan: calls only the second
# lists are the sanitizer rows (SANDBOX_SYS_SAN). Re-run after changes to
# the gateway's libraries or threads (libcurl workers, purge) and update
# gateway/sandbox.c, then deploy/seccomp/gen-profile.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
out=""
rows=0
tests=()
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	--out) out=$2; shift 2 ;;
	--rows) rows=1; shift ;;
	-h | --help) sed -n '2,25p' "$0"; exit 0 ;;
	-*) echo "derive.sh: unknown option $1" >&2; exit 2 ;;
	*) tests+=("$1"); shift ;;
	esac
done
command -v strace >/dev/null || { echo "derive.sh: strace is not installed (scripts/deps.sh)" >&2; exit 1; }
real=$build/gateway/regward
[ -x "$real" ] || { echo "derive.sh: no $real; build first" >&2; exit 1; }

keep=1
if [ -z "$out" ]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/regward-derive.XXXXXX")
	keep=0
fi
mkdir -p "$out/traces" "$out/bin/gateway"
# A build tree look-alike: tests find helpers next to REGWARD_BIN's
# directory (../tests/registry_probe, ../signer/regward-sign).
for f in "$build"/*; do
	[ "$(basename "$f")" = gateway ] || ln -sfn "$f" "$out/bin/"
done
for f in "$build"/gateway/*; do
	[ "$(basename "$f")" = regward ] || ln -sfn "$f" "$out/bin/gateway/"
done
# -D: strace runs as a detached grandchild, so the PID the test holds is
# regward's own and its signals (TERM, HUP) reach regward.
cat >"$out/bin/gateway/regward" <<WRAP
#!/bin/sh
exec strace -D -f -qq -o "$out/traces/trace.\$\$" -- "$real" "\$@"
WRAP
chmod +x "$out/bin/gateway/regward"

if [ ${#tests[@]} -eq 0 ]; then
	for t in "$root"/tests/integration/t_*.sh; do tests+=("$(basename "$t" .sh)"); done
fi
failed=()
for t in "${tests[@]}"; do
	t=${t%.sh}
	echo "derive.sh: running $t" >&2
	if ! REGWARD_BIN="$out/bin/gateway/regward" REGWARD_SRC="$root" \
	    REGWARD_SECCOMP=0 ASAN_OPTIONS=detect_leaks=0 \
	    bash "$root/tests/integration/$t.sh" >"$out/$t.log" 2>&1; then
		rc=$?
		[ "$rc" = 77 ] || failed+=("$t")
	fi
done
[ ${#failed[@]} -eq 0 ] ||
	echo "derive.sh: failed under strace (traces still used): ${failed[*]} (logs in $out)" >&2
[ ${#failed[@]} -eq 0 ] || keep=1

python3 - "$out/traces" "$rows" <<'PY'
import os, re, sys
d, rows = sys.argv[1], sys.argv[2] == "1"
call = re.compile(r'^\d+\s+([a-z_][a-z0-9_]*)\(')
fam = re.compile(r'^\d+\s+socket\((AF_[A-Z0-9]+)')
daemon, every, families = set(), set(), set()
for name in sorted(os.listdir(d)):
    after = False
    with open(os.path.join(d, name), errors="replace") as f:
        for line in f:
            m = call.match(line)
            if not m:
                continue
            every.add(m.group(1))
            if after:
                daemon.add(m.group(1))
            m2 = fam.match(line)
            if m2:
                families.add(m2.group(1))
            if "prctl(PR_SET_NO_NEW_PRIVS" in line:
                after = True
# Always needed once a filter is installed, whatever the traces saw.
daemon |= {"exit", "exit_group", "rt_sigreturn"}
every |= daemon
if rows:
    for s in sorted(every):
        if s == "socket":
            flags = "SANDBOX_SYS_FAMILY" + ("" if s in daemon else " | SANDBOX_SYS_START")
        else:
            flags = "0" if s in daemon else "SANDBOX_SYS_START"
        print('\t{ "%s", %s },' % (s, flags))
    sys.exit(0)
print("# daemon: %d calls after the sandbox went up" % len(daemon))
for s in sorted(daemon):
    print(s)
print("# start: %d calls only before it or by other commands" % len(every - daemon))
for s in sorted(every - daemon):
    print(s)
print("# socket families")
for s in sorted(families):
    print(s)
PY
if [ "$keep" = 0 ]; then
	rm -rf "$out"
else
	echo "derive.sh: traces kept in $out" >&2
fi
