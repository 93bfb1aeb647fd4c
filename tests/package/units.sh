#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The packaged units: `systemd-analyze verify` (silent and rc 0) and
# `systemd-analyze security --offline=yes` under the agreed exposure (3.0
# for the exporter and the web page, 4.5 for the drivers, which need
# devices), plus the settings the design relies on.  Runs on the host: the units' binaries are
# pointed into the unpacked package.  Usage: units.sh PACKAGE_DIR
set -uo pipefail
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze missing"; exit 77; }
deb=$(ls "$1"/fieldbridge_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || { echo "no fieldbridge_*.deb in $1 (package_build failed?)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/root"
# The web page's unit comes in its own package.
web=$(ls "$1"/fieldbridge-web_*.deb 2>/dev/null | head -n1)
[ -n "$web" ] || { echo "no fieldbridge-web_*.deb in $1 (package_build failed?)"; exit 1; }
dpkg-deb -x "$web" "$tmp/root"
mkdir "$tmp/units"
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

for f in "$tmp"/root/lib/systemd/system/*; do
  sed "s|/usr/bin/|$tmp/root/usr/bin/|g" "$f" >"$tmp/units/$(basename "$f")"
done
# A template is verified through an instance of it.
declare -A threshold=([modbus]=45 [gpio]=45 [export]=30 [web]=30 [mbserver]=30)
units=("$tmp/units/fieldbridge.target" "$tmp/units/fieldbridge-web.service"
       "$tmp/units/fieldbridge-apply.path" "$tmp/units/fieldbridge-apply.service")
for d in modbus gpio export mbserver; do
  cp "$tmp/units/fieldbridge-$d@.service" "$tmp/units/fieldbridge-$d@test.service"
  units+=("$tmp/units/fieldbridge-$d@test.service")
done
out=$(cd "$tmp/units" && systemd-analyze verify --man=no "${units[@]}" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] && ok || bad "systemd-analyze verify (rc $rc): $out"

for d in modbus gpio export web mbserver; do
  u="$tmp/units/fieldbridge-$d@.service"
  [ "$d" = web ] && u="$tmp/units/fieldbridge-web.service"
  name=$(basename "$u")
  score=$(systemd-analyze security --offline=yes "$u" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if systemd-analyze security --offline=yes --threshold="${threshold[$d]}" "$u" >/dev/null 2>&1; then
    ok; echo "$name: exposure $score (limit ${threshold[$d]:0:1}.${threshold[$d]:1})"
  else
    bad "$name: exposure $score over ${threshold[$d]:0:1}.${threshold[$d]:1}"
  fi
  key() { grep -Eq "^$1\$" "$u" && ok || bad "$name: no $1"; }
  nokey() { grep -Eq "^$1" "$u" && bad "$name: has $1" || ok; }
  key 'PartOf=fieldbridge.target'
  key 'RestartPreventExitStatus=78'
  key 'User=fieldbridge'
  key 'UMask=0007'
  # Readiness and the watchdog come from the daemon's own loop (the
  # runtime side is tests/daemon/test_sd_notify.py).
  key 'Type=notify'
  key 'NotifyAccess=main'
  key 'WatchdogSec=[1-9][0-9]*'
  # A failing ExecStartPre= would be restarted: RestartPreventExitStatus=
  # looks at the main process only, which checks the configuration itself.
  nokey 'ExecStartPre='
  # Both would delete the drivers' shared memory when any unit stops.
  nokey 'DynamicUser=yes'
  nokey 'RemoveIPC=yes'
  if [ "$d" = web ]; then
    # SIGHUP only logs; the page edits /etc/fieldbridge.
    nokey 'ExecReload='
    key 'PrivateDevices=yes'
    key 'ReadWritePaths=/etc/fieldbridge'
  elif [ "$d" = mbserver ]; then
    # Network only, no hardware; nothing to reload.
    key 'PrivateDevices=yes'
    nokey 'ExecReload='
  elif [ "$d" = export ]; then
    key 'ExecReload=/bin/kill -HUP \$MAINPID'
    key 'PrivateDevices=yes'
  else
    # The drivers reload nothing on SIGHUP; they need their devices.
    nokey 'ExecReload='
    nokey 'PrivateDevices=yes'
    key 'DevicePolicy=closed'
  fi
done
grep -q '^DeviceAllow=char-ttyUSB rw$' "$tmp/units/fieldbridge-modbus@.service" && ok || bad "modbus: no ttyUSB"
grep -q '^DeviceAllow=char-gpiochip rw$' "$tmp/units/fieldbridge-gpio@.service" && ok || bad "gpio: no gpiochip"
grep -q '^SupplementaryGroups=gpio$' "$tmp/units/fieldbridge-gpio@.service" && ok || bad "gpio: no group gpio"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
