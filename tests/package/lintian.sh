#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# lintian on every built package (the .changes names them, dbgsym too):
# no error and no warning.  Usage: lintian.sh PACKAGE_DIR
set -uo pipefail
command -v lintian >/dev/null || { echo "SKIP: lintian missing (scripts/deps.sh installs it)"; exit 77; }
changes=$(ls "$1"/fieldbridge_*.changes 2>/dev/null | head -n1)
[ -n "$changes" ] || { echo "no .changes in $1 (package_build failed?)"; exit 1; }
out=$(lintian --fail-on error,warning --display-info --show-overrides "$changes" 2>&1)
rc=$?
# lintian says it prefers not to run as root; that line is not a finding.
grep -v 'running with root privileges is not recommended' <<<"$out"
[ $rc -eq 0 ] && echo "lintian: clean" || echo "lintian: errors or warnings (rc $rc)"
exit $rc
