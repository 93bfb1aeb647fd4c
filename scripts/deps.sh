#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages fieldbridge needs to build, test and run the
# demo.  Idempotent: only calls apt-get when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libmodbus-dev libmosquitto-dev libgpiod-dev libcjson-dev libssl-dev libwebsockets-dev libuv1-dev libcrypt-dev libmicrohttpd-dev libgnutls28-dev
  mosquitto mosquitto-clients
  python3 python3-pymodbus python3-serial-asyncio socat openssl
  gpiod procps iproute2
  # the Debian package and its tests (label package): dpkg-buildpackage,
  # lintian, a bookworm chroot, systemd-analyze and sysusers
  debhelper dpkg-dev fakeroot lintian debootstrap systemd
  # the web page's browser tests (label web-browser)
  chromium chromium-driver python3-selenium
  # the Logs page's test: a real journal file without journald
  systemd-journal-remote
  # the fuzz targets (label fuzz): clang with its libFuzzer runtime
  clang libclang-rt-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Wait for a concurrent apt run rather than failing on its lock.
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The distribution's mosquitto service is not needed: tests and the demo run
# their own brokers on free loopback ports.
