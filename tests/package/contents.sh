#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the .deb holds (dpkg-deb -c) and declares (dpkg-deb -f/-I): the
# daemons, their units, the sysusers and udev files, a man page for every
# binary, the defaults under /usr/share, and nothing under /etc: the
# configuration is created by the postinst, never shipped as a conffile.
# Usage: contents.sh PACKAGE_DIR
set -uo pipefail
deb=$(ls "$1"/fieldbridge_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || { echo "no fieldbridge_*.deb in $1 (package_build failed?)"; exit 1; }
list=$(dpkg-deb -c "$deb" | awk '{ print $1, $6 }' | sed 's| \./| /|')
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
has() { grep -q "^$1 $2\$" <<<"$list" && ok || bad "missing ${2} (mode ${1})"; }

# fieldbridge-web gets its own package and its own list.
for b in fieldbridge-modbus fieldbridge-gpio fieldbridge-export fieldbridge-mbserver fieldbridgectl; do
  has -rwxr-xr-x "/usr/bin/$b"
done
# Every binary in the package has its manual page.
for b in $(awk '$2 ~ "^/usr/s?bin/." { sub(".*/", "", $2); print $2 }' <<<"$list"); do
  grep -Eq "^-\S+ /usr/share/man/man[18]/$b\.[18]\.gz$" <<<"$list" && ok || bad "no man page for $b"
done
for u in fieldbridge.target fieldbridge-modbus@.service fieldbridge-gpio@.service fieldbridge-export@.service \
    fieldbridge-mbserver@.service; do
  has -rw-r--r-- "/lib/systemd/system/$u"
done
has -rw-r--r-- /usr/share/bash-completion/completions/fieldbridgectl
# The WebSocket plugin, in the package's own libdir (FB_PLUGIN_DIR).
grep -Eq '^-rw-r--r-- /usr/lib/[^/]+/fieldbridge/fieldbridge-ws\.so$' <<<"$list" && ok ||
  bad "missing /usr/lib/<triplet>/fieldbridge/fieldbridge-ws.so"
has -rw-r--r-- /usr/lib/sysusers.d/fieldbridge.conf
has -rw-r--r-- /lib/udev/rules.d/60-fieldbridge.rules
has -rw-r--r-- /usr/share/fieldbridge/conf/fieldbridge.json
has -rw-r--r-- /usr/share/fieldbridge/conf/users.json
has -rw-r--r-- /usr/share/fieldbridge/devices/eastron-sdm120.json
has -rw-r--r-- /usr/share/man/man5/fieldbridge.json.5.gz
has -rw-r--r-- /usr/share/doc/fieldbridge/copyright
has -rw-r--r-- /usr/share/doc/fieldbridge/operations.md.gz

# Nothing under /etc, and so no conffile a tool would have to fight dpkg over.
etc=$(grep ' /etc/.' <<<"$list")
[ -z "$etc" ] && ok || bad "files under /etc: $etc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -e "$deb" "$tmp/control"
[ ! -s "$tmp/control/conffiles" ] && ok || bad "conffiles: $(cat "$tmp/control/conffiles")"

# The shipped users file grants no login: no password hash at all.
dpkg-deb -x "$deb" "$tmp/root"
grep -q password_hash "$tmp/root/usr/share/fieldbridge/conf/users.json" &&
  bad "the default users.json holds a password hash" || ok
# The user comes from sysusers: its provider is a dependency.
grep -q 'systemd-sysusers' <<<"$(dpkg-deb -f "$deb" Depends)" && ok || bad "no sysusers provider in Depends"
grep -Eq '^m fieldbridge dialout$' "$tmp/root/usr/lib/sysusers.d/fieldbridge.conf" && ok || bad "sysusers: no dialout"
grep -Eq '^m fieldbridge gpio$' "$tmp/root/usr/lib/sysusers.d/fieldbridge.conf" && ok || bad "sysusers: no gpio"
grep -q 'GROUP="gpio"' "$tmp/root/lib/udev/rules.d/60-fieldbridge.rules" && ok || bad "udev: no gpiochip rule"
# fieldbridge-web: the daemon, its unit, its man page and the pages.
web=$(ls "$1"/fieldbridge-web_*.deb 2>/dev/null | head -n1)
if [ -n "$web" ]; then
  list=$(dpkg-deb -c "$web" | awk '{ print $1, $6 }' | sed 's| \./| /|')
  has -rwxr-xr-x /usr/bin/fieldbridge-web
  has -rw-r--r-- /lib/systemd/system/fieldbridge-web.service
  has -rw-r--r-- /usr/share/man/man8/fieldbridge-web.8.gz
  has -rw-r--r-- /usr/share/fieldbridge/www/index.html
  etc=$(grep ' /etc/.' <<<"$list")
  [ -z "$etc" ] && ok || bad "fieldbridge-web: files under /etc: $etc"
else
  bad "no fieldbridge-web_*.deb in $1"
fi
# Debug symbols are split into the automatic dbgsym package.
dbg=$(ls "$1"/fieldbridge-dbgsym_*.deb 2>/dev/null | head -n1)
[ -n "$dbg" ] && [ "$(dpkg-deb -c "$dbg" | grep -c '/usr/lib/debug/.build-id/.*\.debug$')" -ge 3 ] &&
  ok || bad "no dbgsym package with the daemons' debug files"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
