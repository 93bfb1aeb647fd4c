#!/usr/bin/env bash
# `cmake --install` lays out the binaries, the configuration and the shipped
# device definitions where the daemons look for them.
set -u
build=$1 bindir=$2 sysconfdir=$3 datadir=$4
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR="$dest" cmake --install "$build" >/dev/null || { echo "cmake --install failed"; exit 1; }
passed=0 failed=0
expect() {
  if [ -e "$dest$1" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "missing: $1"; fi
}
expect "$bindir/fieldbridge-modbus"
expect "$bindir/fieldbridge-export"
expect "$sysconfdir/fieldbridge.json"
expect "$datadir/fieldbridge/devices/eastron-sdm120.json"
expect "$datadir/fieldbridge/devices/waveshare-relay-8ch.json"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
