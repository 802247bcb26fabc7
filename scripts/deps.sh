#!/usr/bin/env bash
# Install the Debian 12 packages regward builds, tests and benchmarks with.
# Idempotent; uses sudo when not run as root.
set -euo pipefail

pkgs=(
	build-essential cmake pkg-config clang-format
	libevent-dev libssl-dev libjansson-dev libhttp-parser-dev
	libsqlite3-dev libcmocka-dev libcurl4-openssl-dev libsodium-dev
	docker-registry skopeo podman curl jq openssl iproute2 procps sqlite3
	nginx wrk apache2-utils
	libseccomp-dev strace python3-yaml
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "deps: installing ${missing[*]}" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# policy-rc.d keeps packages (docker-registry, nginx) from starting services.
$sudo env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
