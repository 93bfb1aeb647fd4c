#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` keeps what the user changed in the configuration
# directory: the defaults land in share/fieldbridge/conf, and are copied to
# /etc only where a file is missing, users.json private (0600).  Installs
# the given build tree twice into a DESTDIR with an edit in between.
# Usage: cmake_install.sh BUILD_DIR SYSCONF_DIR DATA_DIR
set -uo pipefail
build=$1 sysconf=$2 datadir=$3
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
mode() { stat -c %a "$dest$1" 2>&1; }

DESTDIR="$dest" cmake --install "$build" >"$dest.log" 2>&1 || { cat "$dest.log"; rm -f "$dest.log"; exit 1; }
# The units go where systemd looks, whatever the prefix (systemd.pc), unless
# the build overrides FB_SYSTEMD_UNIT_DIR.
unitdir=$(grep '^FB_SYSTEMD_UNIT_DIR:' "$build/CMakeCache.txt" | cut -d= -f2-)
pcdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
[ -z "$pcdir" ] || [ "$unitdir" = "$pcdir" ] || echo "note: unit dir $unitdir (overridden; systemd.pc says $pcdir)"
for f in "$datadir/fieldbridge/conf/fieldbridge.json" "$datadir/fieldbridge/conf/users.json" \
         "$unitdir/fieldbridge.target" "$unitdir/fieldbridge-modbus@.service"; do
  [ -f "$dest$f" ] && ok || bad "missing $f"
done
[ "$(mode "$sysconf/users.json")" = 600 ] && ok || bad "users.json mode $(mode "$sysconf/users.json")"
[ "$(mode "$sysconf/fieldbridge.json")" = 640 ] && ok || bad "fieldbridge.json mode $(mode "$sysconf/fieldbridge.json")"
[ "$(mode "$sysconf/secrets")" = 700 ] && ok || bad "secrets mode $(mode "$sysconf/secrets")"
[ "$(mode "$sysconf")" = 2770 ] && ok || bad "$sysconf mode $(mode "$sysconf")"

echo '// edited' >>"$dest$sysconf/fieldbridge.json"
echo '// edited' >>"$dest$sysconf/users.json"
# An older mtime, as after a real edit long ago: CMake's own install rule
# would have overwritten the file for a differing timestamp.
touch -d '2001-01-01' "$dest$sysconf/fieldbridge.json"
DESTDIR="$dest" cmake --install "$build" >"$dest.log" 2>&1 || { cat "$dest.log"; bad "second install failed"; }
tail -n1 "$dest$sysconf/fieldbridge.json" | grep -q '^// edited$' && ok || bad "the re-install overwrote fieldbridge.json"
tail -n1 "$dest$sysconf/users.json" | grep -q '^// edited$' && ok || bad "the re-install overwrote users.json"
grep -q "Kept (exists): .*$sysconf/fieldbridge.json" "$dest.log" && ok || bad "the re-install did not say it kept the file"
rm -f "$dest.log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
