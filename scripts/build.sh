#!/usr/bin/env bash
# Build regward: build/ (release, -Werror) and, with --asan, build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREGWARD_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
if [ "${1:-}" = "--asan" ]; then
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DREGWARD_WERROR=ON \
		-DREGWARD_SANITIZE=ON >/dev/null
	cmake --build build-asan -j "$jobs"
fi
