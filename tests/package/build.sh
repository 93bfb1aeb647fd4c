#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian packages (dpkg-buildpackage -b, offline) from a copy of
# the source tree into OUT, and reuses OUT when the files that go into the
# package are unchanged (their content hash is kept in OUT/source.sha256).
# Usage: build.sh SOURCE_DIR OUT_DIR
set -euo pipefail
src=$(cd "$1" && pwd) out=$2

for tool in dpkg-buildpackage dh dpkg-checkbuilddeps; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool missing (scripts/deps.sh installs it)"; exit 77; }
done

# Only these paths reach the package; the tests and benchmarks are not built
# (nocheck), so editing them does not force a rebuild.
paths=(CMakeLists.txt cmake src conf devices systemd udev docs debian www
       README.md CHANGELOG.md LICENSE)
cd "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard -- "${paths[@]}" | sort)
else
  mapfile -t files < <(find "${paths[@]}" -type f | sort)
fi
hash=$( { printf '%s\n' "${files[@]}"; sha256sum -- "${files[@]}"; } | sha256sum | cut -d' ' -f1)

if [ -f "$out/source.sha256" ] && [ "$(cat "$out/source.sha256")" = "$hash" ] &&
   ls "$out"/fieldbridge_*.deb >/dev/null 2>&1; then
  echo "package: source unchanged ($hash), reusing $out"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/fieldbridge"
tar -cf - -- "${files[@]}" | tar -xf - -C "$tmp/fieldbridge"
cd "$tmp/fieldbridge"
dpkg-checkbuilddeps || { echo "build dependencies missing (scripts/deps.sh installs them)"; exit 1; }
start=$(date +%s)
if ! DEB_BUILD_OPTIONS="nocheck parallel=2" nice dpkg-buildpackage -b -us -uc >"$tmp/build.log" 2>&1; then
  tail -n 60 "$tmp/build.log"
  echo "dpkg-buildpackage failed"
  exit 1
fi
echo "package: built in $(( $(date +%s) - start )) s"
rm -rf "$out"
mkdir -p "$out"
mv "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$out"/
cp "$tmp/build.log" "$out/"
echo "$hash" >"$out/source.sha256"
ls "$out"
