#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` lays out the binaries, the configuration, the shipped
# device definitions, the systemd units and the udev rule where the daemons
# and the system look for them.
set -u
build=$1 bindir=$2 sysconfdir=$3 datadir=$4
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR="$dest" cmake --install "$build" >/dev/null || { echo "cmake --install failed"; exit 1; }
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "$*"; }
expect() {
  if [ -e "$dest$1" ]; then ok; else bad "missing: $1"; fi
}
# The one installed file named $1 under a directory ending in $2; its path
# without $dest, or nothing.
installed() {
  find "$dest" -path "*/$2/$1" -type f | head -n 1 | sed "s|^$dest||"
}
for daemon in modbus export gpio; do
  expect "$bindir/fieldbridge-$daemon"
  unit=$(installed "fieldbridge-$daemon@.service" systemd/system)
  if [ -z "$unit" ]; then
    bad "missing: a systemd/system/fieldbridge-$daemon@.service"
    continue
  fi
  ok
  # The unit starts the installed binary, every placeholder filled in.
  if grep -q '@[A-Z_]*@' "$dest$unit"; then bad "$unit: unreplaced @...@"; else ok; fi
  if grep -q "^ExecStart=$bindir/fieldbridge-$daemon " "$dest$unit"; then ok
  else bad "$unit: ExecStart does not run $bindir/fieldbridge-$daemon"; fi
done
if [ -n "$(installed 60-fieldbridge.rules udev/rules.d)" ]; then ok
else bad "missing: a udev/rules.d/60-fieldbridge.rules"; fi
expect "$sysconfdir/fieldbridge.json"
expect "$datadir/fieldbridge/devices/eastron-sdm120.json"
expect "$datadir/fieldbridge/devices/waveshare-relay-8ch.json"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
