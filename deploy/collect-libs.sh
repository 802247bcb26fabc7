#!/usr/bin/env bash
# Lay out the run-time root filesystem of the regward image: the binaries
# and exactly the shared libraries `ldd` lists for them, at the paths the
# dynamic loader will look for them, plus the few files the gateway reads.
#
# usage: deploy/collect-libs.sh ROOTFS BINARY...
#
# ROOTFS/usr/bin/<name>           each BINARY
# ROOTFS/<path from ldd>          each library and the dynamic loader
#                                 (symlinks resolved: the file under the
#                                 name ldd prints)
# ROOTFS/etc/ssl/certs/ca-certificates.crt   for https upstreams and OIDC
# ROOTFS/etc/passwd, /etc/group   the nonroot user 65532 (names in logs)
# ROOTFS/etc/nsswitch.conf        files, then dns
#
# Prints the library paths it copied, sorted, one a line (t_deploy_files
# compares them with ldd). The Dockerfile's build stage runs this and its
# final stage copies ROOTFS whole, so the image never holds a library the
# binaries do not load nor misses one they do.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 ROOTFS BINARY..." >&2; exit 2; }
rootfs=$1
shift
mkdir -p "$rootfs/usr/bin" "$rootfs/etc/ssl/certs" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"

libs=$(for b in "$@"; do
	[ -x "$b" ] || { echo "collect-libs: $b is not an executable" >&2; exit 1; }
	# "name => /path (addr)", "/path (addr)" for the loader, no vdso.
	ldd "$b" | awk '
	    $2 == "=>" && $3 ~ /^\// { print $3; next }
	    $2 == "=>" && $3 == "not" { print "MISSING " $1; next }
	    $1 ~ /^\// { print $1 }'
done | sort -u)
if grep -q '^MISSING' <<<"$libs"; then
	echo "collect-libs: ldd cannot find: $(grep '^MISSING' <<<"$libs" | cut -d' ' -f2 | tr '\n' ' ')" >&2
	exit 1
fi
for l in $libs; do
	mkdir -p "$rootfs$(dirname "$l")"
	cp -L "$l" "$rootfs$l"
done
for b in "$@"; do
	cp -L "$b" "$rootfs/usr/bin/$(basename "$b")"
done
# Debian 12 is merged-/usr: the loader is named /lib64/..., its file is
# /usr/lib64/...; the copies above keep the names ldd printed, which is
# what the binaries' PT_INTERP and the loader's search path use.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
else
	echo "collect-libs: no /etc/ssl/certs/ca-certificates.crt (install ca-certificates)" >&2
	exit 1
fi
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:regward:/nonexistent:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
printf '%s\n' $libs
