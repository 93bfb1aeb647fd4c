#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one libFuzzer target for a while and prints its figures on one line:
#   run_target.sh BINARY NAME SECONDS WORKDIR SEEDS [CRASHES]
# New inputs go to WORKDIR/corpus (kept between runs), a crashing input to
# WORKDIR/artifacts/.  SEEDS and CRASHES are read only: the saved crashes
# run first, so a regression shows at once.  Exits non-zero on a crash,
# leak, timeout or out-of-memory, after saying where the input is.
set -u
bin=$1 name=$2 seconds=$3 work=$4 seeds=$5 crashes=${6:-}
mkdir -p "$work/corpus" "$work/artifacts"
log="$work/last-run.log"
dirs="$work/corpus $seeds"
[ -n "$crashes" ] && [ -d "$crashes" ] && dirs="$dirs $crashes"
# The dictionary holds JSON syntax and the loaders' key names; for the one
# binary target (table) its entries are merely extra byte strings.
dict="$(dirname "$0")/json.dict"
before=$(ls "$work/artifacts" | wc -l)
# halt_on_error: a UBSan report is a crash like any other.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict="$dict" -artifact_prefix="$work/artifacts/" $dirs >"$log" 2>&1
rc=$?
figure() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corpus=$(ls "$work/corpus" | wc -l)
crashes_now=$(( $(ls "$work/artifacts" | wc -l) - before ))
printf 'fuzz %-10s execs %s  exec/s %s  cov %s  ft %s  corpus %s  crashes %s  rss %s MB\n' \
  "$name" "$(figure number_of_executed_units)" "$(figure average_exec_per_sec)" \
  "${cov:-?}" "${ft:-?}" "$corpus" "$crashes_now" "$(figure peak_rss_mb)"
if [ "$rc" -ne 0 ]; then
  grep -E 'ERROR|runtime error|SUMMARY|Test unit written|#[0-9]+ in ' "$log" | head -n 40
  echo "fuzz $name: libFuzzer exited $rc; full log: $log"
  echo "to keep it as a regression: copy the input above to tests/fuzz/crashes/$name/ and fix"
  exit 1
fi
