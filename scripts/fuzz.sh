#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target of tests/fuzz for SECONDS each (default 300)
# in a clang build (build/fuzz) and prints each one's figures: executions,
# executions per second, coverage (edges) and features, corpus size,
# crashes, peak memory.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   e.g. scripts/fuzz.sh 60 config users
#   scripts/fuzz.sh --have-libfuzzer        exit 0 if clang can link libFuzzer,
#                                           else say why and exit 1
# The corpus found so far is kept in build/fuzz/tests/fuzz/work/<target>/
# and grows from run to run; a crashing input is left in .../artifacts/ and
# should be copied to tests/fuzz/crashes/<target>/ (ctest replays those).
# Exit status 1 if any target crashed.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

have_libfuzzer() {
  local probe
  if ! command -v clang >/dev/null; then
    echo "skipped: clang is not installed (scripts/deps.sh installs it)"
    return 1
  fi
  probe=$(mktemp -d)
  echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
    >"$probe/probe.c"
  if ! clang -fsanitize=fuzzer "$probe/probe.c" -o "$probe/probe" 2>/dev/null; then
    rm -rf "$probe"
    echo "skipped: clang cannot link libFuzzer (install libclang-rt-dev)"
    return 1
  fi
  rm -rf "$probe"
}

if [ "${1:-}" = "--have-libfuzzer" ]; then
  have_libfuzzer
  exit
fi
seconds=${1:-300}
shift || true
have_libfuzzer || exit 1

CC=clang cmake -S "$top" -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFB_FUZZ=ON >/dev/null \
  || exit 1
cmake --build build/fuzz --target fuzz -j"$(nproc)" >/dev/null || exit 1

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do
    t=${f#tests/fuzz/fuzz_}
    t=${t%.c}
    [ "$t" = util ] || targets+=("$t")
  done
fi

echo "fuzzing ${#targets[@]} targets for $seconds s each"
failed=0
for t in "${targets[@]}"; do
  nice -n 10 tests/fuzz/run_target.sh "build/fuzz/tests/fuzz/fuzz_$t" "$t" "$seconds" \
    "build/fuzz/tests/fuzz/work/$t" "tests/fuzz/corpus/$t" "tests/fuzz/crashes/$t" || failed=1
done
exit $failed
