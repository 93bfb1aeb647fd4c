#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite twice:
# once normally and once under AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh            everything
#   scripts/test.sh -L modbus  only one part's tests (any ctest arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

scripts/deps.sh

jobs=$(nproc)
run_suite() {
  local dir=$1; shift
  local flags=$1; shift
  cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo $flags >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@"
}

echo "== build and test (normal)"
run_suite build/test "-DFB_SANITIZE=OFF" "$@"

echo "== build and test (AddressSanitizer + UBSan)"
# The real-kernel GPIO tests boot qemu, and the package tests build and
# install the .deb: they run once, in the normal build.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build/asan "-DFB_SANITIZE=ON" -LE 'gpio-kernel|package' "$@"
echo "== all tests passed"
