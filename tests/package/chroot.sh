#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the package into a throwaway Debian bookworm chroot and checks
# what a user gets: the system user, /etc/fieldbridge with its owners and
# modes, `--check` passing on the defaults, an upgrade (the same version
# again) keeping an edited configuration, and purge removing everything.
#
# The base system comes from debootstrap (the mirror of this machine's apt
# sources) and is cached as a tarball in FB_TEST_CACHE (default
# /var/cache/fieldbridge-test), keyed by the package's dependencies; each run
# unpacks a fresh copy.  Needs root.  Usage: chroot.sh PACKAGE_DIR
set -uo pipefail
pkgdir=$1
cache=${FB_TEST_CACHE:-/var/cache/fieldbridge-test}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "installing into a chroot needs root"
command -v debootstrap >/dev/null || skip "debootstrap missing (scripts/deps.sh installs it)"
deb=$(ls "$pkgdir"/fieldbridge_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || { echo "no fieldbridge_*.deb in $pkgdir"; exit 1; }

# The first Debian mirror the apt sources name (one-line or deb822 form).
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
         awk '$1 == "deb" && $0 ~ /bookworm/ && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
           awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ && u !~ /security/ { print u; exit }')
fi
[ -n "$mirror" ] || skip "no Debian bookworm mirror in the apt sources"

# The package's run-time dependencies, first alternative, no versions, and
# udev to parse the package's rules.
deps=$( { dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g'; echo udev; } |
       grep -v '^$' | sort -u | paste -sd, -)
key=$(printf '%s %s\n' "$mirror" "$deps" | sha256sum | cut -c1-16)
base="$cache/bookworm-$key.tar"

tmp=$(mktemp -d)
root="$tmp/root"
# sysfs may be mounted in the chroot below: unmount it first, and never
# cross into another file system while deleting.
trap 'umount "$root/sys" 2>/dev/null; rm -rf --one-file-system "$tmp"' EXIT
mkdir -p "$cache/debs" "$root"
if [ ! -f "$base" ]; then
  echo "chroot: debootstrap bookworm from $mirror with $deps (cached as $base)"
  if ! debootstrap --variant=minbase --cache-dir="$cache/debs" --include="$deps" \
       bookworm "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
    tail -n 5 "$tmp/debootstrap.log"
    skip "debootstrap from $mirror failed (no network or mirror?)"
  fi
  # A private partial name: another build tree may be caching at once.
  tar -C "$root" -cf "$base.$$.part" . && mv "$base.$$.part" "$base"
else
  tar -C "$root" -xf "$base"
fi

passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
in_root() { chroot "$root" "$@"; }
expect_stat() { # path "mode owner:group"
  local got
  got=$(in_root stat -c '%a %U:%G' "$1" 2>&1)
  [ "$got" = "$2" ] && ok || bad "$1: expected $2, got $got"
}

cp "$deb" "$root/tmp/fieldbridge.deb"
if in_root dpkg -i /tmp/fieldbridge.deb >"$tmp/install.log" 2>&1; then ok; else
  cat "$tmp/install.log"; bad "dpkg -i failed"; echo "$passed passed, $failed failed"; exit 1
fi

# The user and its groups.
groups=$(in_root id -nG fieldbridge 2>&1)
for g in fieldbridge dialout gpio; do
  case " $groups " in *" $g "*) ok ;; *) bad "fieldbridge is not in group $g ($groups)" ;; esac
done
in_root getent passwd fieldbridge | grep -q ':/var/lib/fieldbridge:' && ok ||
  bad "fieldbridge's home is not /var/lib/fieldbridge"

# /etc/fieldbridge as the postinst made it; nothing of it is a conffile.
expect_stat /etc/fieldbridge "2770 root:fieldbridge"
expect_stat /etc/fieldbridge/fieldbridge.json "640 fieldbridge:fieldbridge"
expect_stat /etc/fieldbridge/users.json "600 fieldbridge:fieldbridge"
expect_stat /etc/fieldbridge/secrets "700 fieldbridge:fieldbridge"
for d in buses.d connections.d devices certs; do expect_stat "/etc/fieldbridge/$d" "2770 root:fieldbridge"; done
expect_stat /var/lib/fieldbridge "750 fieldbridge:fieldbridge"
cmp -s "$root/etc/fieldbridge/fieldbridge.json" "$root/usr/share/fieldbridge/conf/fieldbridge.json" && ok ||
  bad "/etc/fieldbridge/fieldbridge.json is not the shipped default"
conffiles=$(in_root dpkg-query -W -f='${Conffiles}' fieldbridge)
[ -z "$conffiles" ] && ok || bad "conffiles shipped: $conffiles"
[ -L "$root/etc/systemd/system/multi-user.target.wants/fieldbridge.target" ] && ok ||
  bad "fieldbridge.target is not enabled"

# udev parses the rules without complaint (with the gpio group in place).
# bookworm's udevadm has no "verify"; "test" on any tty parses every rule.
if mount -t sysfs sysfs "$root/sys" 2>/dev/null; then
  dev=$(ls -d "$root"/sys/class/tty/* 2>/dev/null | head -n1)
  if [ -n "$dev" ]; then
    out=$(in_root udevadm test --action=add "${dev#"$root"}" 2>&1 |
          grep 'fieldbridge.rules' | grep -v 'Reading rules file')
    [ -z "$out" ] && ok || bad "udev: $out"
  else
    echo "note: no tty in sysfs, udev rules not parsed"
  fi
  umount "$root/sys"
else
  echo "note: cannot mount sysfs in the chroot, udev rules not parsed"
fi

# --check on the defaults, as the daemons' user (the check each daemon
# makes at start), and `fieldbridgectl config check` (the whole gateway).
out=$(in_root setpriv --reuid=fieldbridge --regid=fieldbridge --init-groups \
      /usr/bin/fieldbridgectl config check 2>&1)
rc=$?
[ $rc -eq 0 ] && ok || bad "fieldbridgectl config check on the defaults (rc $rc): $out"
for d in modbus gpio export; do
  out=$(in_root setpriv --reuid=fieldbridge --regid=fieldbridge --init-groups \
        /usr/bin/fieldbridge-$d --check 2>&1)
  rc=$?
  if [ $rc -eq 0 ] && ! grep -q '^warning: .*accessible' <<<"$out"; then ok; else
    bad "fieldbridge-$d --check on the defaults (rc $rc): $out"
  fi
done

# Upgrade: the same version again must keep edits and modes.
echo '// edited by the test' >>"$root/etc/fieldbridge/fieldbridge.json"
in_root chmod 0600 /etc/fieldbridge/fieldbridge.json
edited=$(sha256sum <"$root/etc/fieldbridge/fieldbridge.json")
users=$(sha256sum <"$root/etc/fieldbridge/users.json")
if in_root dpkg -i /tmp/fieldbridge.deb >"$tmp/upgrade.log" 2>&1; then ok; else
  cat "$tmp/upgrade.log"; bad "second dpkg -i failed"
fi
[ "$(sha256sum <"$root/etc/fieldbridge/fieldbridge.json")" = "$edited" ] && ok ||
  bad "the upgrade changed the edited fieldbridge.json"
[ "$(sha256sum <"$root/etc/fieldbridge/users.json")" = "$users" ] && ok ||
  bad "the upgrade changed users.json"
expect_stat /etc/fieldbridge/fieldbridge.json "600 fieldbridge:fieldbridge"

# An instance enabled as an admin would; purge must not leave its link.
in_root systemctl enable fieldbridge-modbus@meters.service >/dev/null 2>&1
wants=/etc/systemd/system/multi-user.target.wants/fieldbridge-modbus@meters.service
[ -L "$root$wants" ] && ok || bad "systemctl enable fieldbridge-modbus@meters made no link"

# remove keeps the configuration; purge removes it and the state.
in_root dpkg -r fieldbridge >"$tmp/remove.log" 2>&1 && ok || { cat "$tmp/remove.log"; bad "dpkg -r failed"; }
[ -f "$root/etc/fieldbridge/fieldbridge.json" ] && ok || bad "dpkg -r removed /etc/fieldbridge"
in_root dpkg -P fieldbridge >"$tmp/purge.log" 2>&1 && ok || { cat "$tmp/purge.log"; bad "dpkg -P failed"; }
for p in /etc/fieldbridge /var/lib/fieldbridge /usr/share/fieldbridge /usr/bin/fieldbridge-modbus \
         /etc/systemd/system/multi-user.target.wants/fieldbridge.target "$wants"; do
  [ -e "$root$p" ] || [ -L "$root$p" ] && bad "$p left after purge" || ok
done
in_root dpkg-query -W fieldbridge >/dev/null 2>&1 && bad "dpkg still knows fieldbridge after purge" || ok

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
