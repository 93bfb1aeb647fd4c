#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is needed, builds, and runs the whole test suite twice:
# once normally and once under AddressSanitizer + UndefinedBehaviorSanitizer;
# then each libFuzzer target for 60 s in a clang build (build/fuzz).
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
run_suite build/test "-DFB_SANITIZE=OFF" -LE '^fuzz$' "$@"

echo "== build and test (AddressSanitizer + UBSan)"
# The real-kernel GPIO tests boot qemu, and the package tests build and
# install the .deb: they run once, in the normal build.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build/asan "-DFB_SANITIZE=ON" -LE '^(gpio-kernel|package|web-browser|fuzz|fault)$' "$@"

echo "== fuzz (libFuzzer, 60 s per target)"
if scripts/fuzz.sh --have-libfuzzer; then
  CC=clang cmake -S "$top" -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFB_FUZZ=ON >/dev/null
  cmake --build build/fuzz --target fuzz -j"$jobs" >/dev/null
  ctest --test-dir build/fuzz --output-on-failure -j"$jobs" -L '^fuzz$' "$@"
fi
echo "== all tests passed"
