#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install the packages,
# build (release and ASan+UBSan), run the unit tests on both builds and the
# integration tests (real docker-registry, skopeo, curl) on the ASan build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
scripts/build.sh --asan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
jobs=$(nproc 2>/dev/null || echo 2)
rc=0
(cd build && ctest -L unit --output-on-failure) || rc=1
(cd build-asan && ctest -L 'unit|fuzz-regress' --output-on-failure) || rc=1
(cd build-asan && ctest -L integration --output-on-failure -j "$jobs") || rc=1
exit $rc
