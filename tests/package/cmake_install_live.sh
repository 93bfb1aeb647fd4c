#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` as root into the running system (no DESTDIR) creates
# the fieldbridge user and hands it the configuration, so the daemons can
# read it.  Runs the install step (cmake/install-sysconf.cmake) in a private
# mount namespace whose /etc is a throwaway copy: the host's users and
# /etc/fieldbridge are never touched.  Usage: cmake_install_live.sh SOURCE_DIR
set -uo pipefail
src=$1
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (a mount namespace)"; exit 77; }
command -v systemd-sysusers >/dev/null || { echo "SKIP: systemd-sysusers missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a /etc "$tmp/etc"
rm -rf "$tmp/etc/fieldbridge"
out=$(unshare -m sh -c '
  mount --make-rprivate / && mount --bind "$1/etc" /etc || exit 77
  cmake -Dfb_src="$2/conf" -Dfb_etc=/etc/fieldbridge \
        -Dfb_sysusers="$2/systemd/fieldbridge.sysusers" \
        -P "$2/cmake/install-sysconf.cmake" >/dev/null || exit 1
  stat -c "%a %U:%G %n" /etc/fieldbridge /etc/fieldbridge/fieldbridge.json \
       /etc/fieldbridge/users.json /etc/fieldbridge/secrets
  setpriv --reuid=fieldbridge --regid=fieldbridge --init-groups \
          cat /etc/fieldbridge/users.json /etc/fieldbridge/fieldbridge.json >/dev/null &&
    echo "readable by fieldbridge"
  id -nG fieldbridge' sh "$tmp" "$src" 2>&1)
rc=$?
[ $rc -eq 77 ] && { echo "SKIP: cannot make a private mount namespace"; exit 77; }
passed=0 failed=0
for want in "2770 root:fieldbridge /etc/fieldbridge" \
            "640 fieldbridge:fieldbridge /etc/fieldbridge/fieldbridge.json" \
            "600 fieldbridge:fieldbridge /etc/fieldbridge/users.json" \
            "700 fieldbridge:fieldbridge /etc/fieldbridge/secrets" \
            "readable by fieldbridge" "fieldbridge dialout gpio"; do
  if grep -qxF "$want" <<<"$out"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: expected \"$want\""
  fi
done
# The user was written to the copy (the host's passwd stays as it was).
grep -q '^fieldbridge:' "$tmp/etc/passwd" && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL: no fieldbridge in the copy's passwd"; }
[ $failed -eq 0 ] || echo "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
