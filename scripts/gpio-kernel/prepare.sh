#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Prepares the real-kernel GPIO test rig (see tests/gpio-kernel/README.md).
#
# Idempotent.  Installs the host tools (qemu-system-x86, busybox-static, cpio,
# build tooling, libgpiod-dev, the matching linux-headers) and fills
#   ${FB_CACHE_DIR:-$HOME/.cache/fieldbridge}/gpio-kernel/<kernel-version>/
# with:
#   vmlinuz            Debian's bookworm 6.1 kernel image
#   config             its kernel config
#   modules/*.ko       configfs.ko (from the linux-image .deb), irq_sim.ko and
#                      gpio-sim.ko (built out of tree from linux-source-6.1,
#                      because Debian's 6.1 config has neither GPIO_SIM nor
#                      IRQ_SIM)
#   modules.order      the order the guest must insmod them in
#   .prepared          stamp; its content is the recipe version below
# and points ${cache}/gpio-kernel/current at that version.
#
# Environment:
#   FB_CACHE_DIR        cache root (default $HOME/.cache/fieldbridge)
#   FB_GPIO_KERNEL      kernel ABI to use, e.g. 6.1.0-56-amd64 (default: the
#                       one linux-headers-amd64 depends on; once prepared, the
#                       cached "current" one, without asking apt)
#   FB_GPIO_REFRESH=1   re-resolve the newest kernel even if one is cached
#
# Exit codes: 0 ready, 1 failure (message on stderr).
set -euo pipefail

RECIPE=3   # bump when the cache layout or build recipe changes
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT="${FB_CACHE_DIR:-$HOME/.cache/fieldbridge}/gpio-kernel"
T0=$(date +%s)

say() { echo "prepare: [+$(( $(date +%s) - T0 ))s] $*"; }
die() { echo "prepare: ERROR: $*" >&2; exit 1; }

# One prepare at a time per cache (parallel ctest runs share it).
mkdir -p "$CACHE_ROOT" || die "cannot create $CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
if command -v flock >/dev/null && ! flock -n 9; then
	say "waiting for another prepare.sh to finish"
	flock 9
fi

# ---------------------------------------------------------------- privileges
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		SUDO="sudo -n"
	fi
fi
APT_UPDATED=0
apt_update_once() {
	[ "$APT_UPDATED" = 1 ] && return 0
	if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then
		say "not root: skipping apt-get update, using the existing package lists"
		APT_UPDATED=1
		return 0
	fi
	say "apt-get update"
	$SUDO apt-get update -qq >/dev/null || die "apt-get update failed"
	APT_UPDATED=1
}
apt_install() {
	if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then
		die "need root (or passwordless sudo) to apt-get install: $*"
	fi
	apt_update_once "$@"
	say "apt-get install $*"
	local log
	log=$(mktemp)
	if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
			-o Dpkg::Options::=--force-unsafe-io "$@" >"$log" 2>&1; then
		tail -n 20 "$log" >&2; rm -f "$log"
		die "apt-get install $* failed (is the package available in this Debian release?)"
	fi
	rm -f "$log"
}

# ---------------------------------------------------------------- host tools
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v gzip >/dev/null || need+=(gzip)
command -v xz >/dev/null || apt_install xz-utils   # needed before the main install
command -v make >/dev/null || need+=(make)
command -v gcc >/dev/null || need+=(gcc)
command -v modinfo >/dev/null || need+=(kmod)
command -v pkg-config >/dev/null || need+=(pkg-config)
dpkg -s libgpiod-dev >/dev/null 2>&1 || need+=(libgpiod-dev)
check_busybox() {
	local out=""
	[ -x /bin/busybox ] && out=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
	case "$out" in
		*"not a dynamic"*|*"statically linked"*) ;;
		*) die "/bin/busybox is not the static one (install busybox-static)";;
	esac
}

# ---------------------------------------------------------------- kernel choice
KVER="${FB_GPIO_KERNEL:-}"
if [ -z "$KVER" ] && [ "${FB_GPIO_REFRESH:-0}" != 1 ] && [ -f "$CACHE_ROOT/current" ]; then
	cur=$(cat "$CACHE_ROOT/current")
	if [ -f "$CACHE_ROOT/$cur/.prepared" ] && [ "$(cat "$CACHE_ROOT/$cur/.prepared")" = "$RECIPE" ]; then
		KVER=$cur
	fi
fi
if [ -z "$KVER" ]; then
	apt_update_once "kernel package lists"
	# linux-headers-amd64 (bookworm: 6.1) depends on linux-headers-<abi>-amd64
	KVER=$(apt-cache depends linux-headers-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\(6\.1\.[0-9.-]*-amd64\)$/\1/p' | head -n1)
	[ -n "$KVER" ] || die "cannot resolve a 6.1 kernel: 'apt-cache depends linux-headers-amd64' names no linux-headers-6.1.*-amd64 (not Debian bookworm?)"
fi
case "$KVER" in
	6.1.*-amd64) ;;
	*) die "FB_GPIO_KERNEL=$KVER: only Debian's 6.1 amd64 kernels (6.1.*-amd64) are supported by this recipe";;
esac

DIR="$CACHE_ROOT/$KVER"
write_current() {
	mkdir -p "$CACHE_ROOT"
	echo "$KVER" > "$CACHE_ROOT/current.tmp" && mv "$CACHE_ROOT/current.tmp" "$CACHE_ROOT/current"
}
if [ -f "$DIR/.prepared" ] && [ "$(cat "$DIR/.prepared")" = "$RECIPE" ] &&
   [ -f "$DIR/vmlinuz" ] && [ -f "$DIR/modules.order" ]; then
	if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi
	check_busybox
	write_current
	say "cached: $DIR (kernel $KVER, recipe $RECIPE)${need[*]:+, installed ${need[*]}} - nothing else to do"
	exit 0
fi

say "preparing kernel $KVER into $DIR"
# Headers of that exact version (they do not need the running kernel to match);
# installed below together with any missing host tool, in one apt-get run.
if [ ! -d "/lib/modules/$KVER/build" ] || ! dpkg -s "linux-headers-$KVER" >/dev/null 2>&1; then
	need+=("linux-headers-$KVER")
fi

apt_update_once "kernel packages"
IMG_PKG="linux-image-$KVER"
IMG_VER=$(apt-cache policy "$IMG_PKG" 2>/dev/null | sed -n 's/^ *Candidate: //p')
[ -n "$IMG_VER" ] && [ "$IMG_VER" != "(none)" ] || die "package $IMG_PKG is not available from apt"

mkdir -p "$CACHE_ROOT"
WORK=$(mktemp -d "${CACHE_ROOT}/.work.XXXXXX")
BG="" BG2=""
trap 'for p in $BG $BG2; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT
chmod 755 "$WORK"   # lets apt's _apt user write there (quiet download)

# linux-source-6.1 of the same Debian version as the image, if the mirror has it.
SRC_SPEC="linux-source-6.1=$IMG_VER"
if ! apt-cache madison linux-source-6.1 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qx "$IMG_VER"; then
	SRC_SPEC="linux-source-6.1"
	say "warning: linux-source-6.1 $IMG_VER not available; using the candidate ($(apt-cache policy linux-source-6.1 | sed -n 's/^ *Candidate: //p'))"
fi
say "apt-get download $IMG_PKG=$IMG_VER $SRC_SPEC"
(cd "$WORK" && apt-get download -qq "$IMG_PKG=$IMG_VER" "$SRC_SPEC" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
IMG_DEB=$(ls "$WORK"/linux-image-*.deb 2>/dev/null | head -n1)
SRC_DEB=$(ls "$WORK"/linux-source-6.1_*.deb 2>/dev/null | head -n1)
[ -f "$IMG_DEB" ] || die "download of $IMG_PKG failed"
[ -f "$SRC_DEB" ] || die "download of linux-source-6.1 failed"

STAGE="$WORK/stage"
mkdir -p "$STAGE/modules" "$WORK/src"

# ---- sources, in the background while apt-get installs (xz is the slow part)
SRC_FILES=(kernel/irq/irq_sim.c drivers/gpio/gpio-sim.c drivers/gpio/gpiolib.h)
say "extracting ${SRC_FILES[*]} from $(basename "$SRC_DEB") (background)"
(
	members=()
	for f in "${SRC_FILES[@]}"; do members+=("linux-source-6.1/$f"); done
	# --occurrence stops reading the ~140 MB tarball once all members are out;
	# the pipe writers then die of SIGPIPE, which is expected.
	set +o pipefail
	dpkg-deb --fsys-tarfile "$SRC_DEB" 2>/dev/null | tar -xO ./usr/src/linux-source-6.1.tar.xz 2>/dev/null |
		tar -xJ -C "$WORK/src" --occurrence=1 "${members[@]}" 2>"$WORK/src.log" || true
) &
BG=$!

# ---- kernel image, config and candidate modules out of the image .deb,
# also in the background
say "extracting vmlinuz, config and modules from $(basename "$IMG_DEB") (background)"
(
	dpkg-deb --fsys-tarfile "$IMG_DEB" |
		tar -x -C "$WORK" --wildcards --no-anchored "./boot/vmlinuz-$KVER" "./boot/config-$KVER" \
			'*/configfs.ko' '*/irq_sim.ko' '*/gpio-sim.ko' 2>/dev/null || true   # absent modules are fine
) &
BG2=$!
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; say "installed ${need[*]}"; fi
check_busybox
[ -d "/lib/modules/$KVER/build" ] || die "/lib/modules/$KVER/build missing after installing linux-headers-$KVER"
wait "$BG2" || true; BG2=""
[ -f "$WORK/boot/vmlinuz-$KVER" ] && [ -f "$WORK/boot/config-$KVER" ] || die "vmlinuz-$KVER or config-$KVER not in $(basename "$IMG_DEB")"
mv "$WORK/boot/vmlinuz-$KVER" "$STAGE/vmlinuz"
mv "$WORK/boot/config-$KVER" "$STAGE/config"
HDR_VER=$(dpkg-query -W -f='${Version}' "linux-headers-$KVER")
[ "$HDR_VER" = "$IMG_VER" ] || say "warning: $IMG_PKG $IMG_VER but linux-headers-$KVER $HDR_VER"

cfg() { sed -n "s/^CONFIG_$1=\(.*\)$/\1/p" "$STAGE/config"; }
for opt in GPIOLIB GPIO_CDEV GPIO_CDEV_V1 DEVTMPFS BLK_DEV_INITRD RD_GZIP SERIAL_8250_CONSOLE; do
	[ "$(cfg $opt)" = y ] || die "kernel $KVER lacks CONFIG_$opt=y, which the rig needs"
done
[ "$(cfg MODULE_SIG_FORCE)" != y ] || die "kernel $KVER enforces module signatures; out-of-tree gpio-sim cannot load"
CONFIGFS=$(cfg CONFIGFS_FS); IRQSIM=$(cfg IRQ_SIM); GPIOSIM=$(cfg GPIO_SIM)
say "kernel config: GPIO_CDEV=y GPIO_CDEV_V1=y CONFIGFS_FS=${CONFIGFS:-n} IRQ_SIM=${IRQSIM:-n} GPIO_SIM=${GPIOSIM:-n}"
[ -n "$CONFIGFS" ] || die "kernel $KVER has no CONFIGFS_FS; gpio-sim is configured through configfs"

# ---- modules the guest needs from the image .deb, with their dependencies
want=()
[ "$CONFIGFS" = m ] && want+=(configfs)
[ "$IRQSIM" = m ] && want+=(irq_sim)
[ "$GPIOSIM" = m ] && want+=(gpio-sim)
declare -A have=()
order=()
# Takes module names, extracts them from the .deb, follows 'depends'.
extract_deb_modules() {
	local pending=("$@") pats=() m d
	while [ ${#pending[@]} -gt 0 ]; do
		pats=()
		for m in "${pending[@]}"; do
			find "$WORK/lib/modules" \( -name "${m}.ko" -o -name "${m//-/_}.ko" \) 2>/dev/null | grep -q . ||
				pats+=("*/${m}.ko" "*/${m//-/_}.ko")
		done
		if [ ${#pats[@]} -gt 0 ]; then
			dpkg-deb --fsys-tarfile "$IMG_DEB" |
				tar -x -C "$WORK" --wildcards --no-anchored "${pats[@]}" 2>/dev/null || true
		fi
		local next=()
		for m in "${pending[@]}"; do
			local ko
			ko=$(find "$WORK/lib/modules" \( -name "${m}.ko" -o -name "${m//-/_}.ko" \) 2>/dev/null | head -n1)
			[ -n "$ko" ] || die "module $m not found in $(basename "$IMG_DEB")"
			cp "$ko" "$STAGE/modules/"
			have[$m]=1
			for d in $(modinfo -F depends "$ko" | tr ',' ' '); do
				[ -n "${have[$d]:-}" ] || next+=("$d")
			done
			order=("$m" "${order[@]}")   # dependencies end up first
		done
		pending=("${next[@]+"${next[@]}"}")
	done
}
if [ ${#want[@]} -gt 0 ]; then
	say "extracting modules from the image .deb: ${want[*]}"
	extract_deb_modules "${want[@]}"
fi

# ---- out-of-tree builds from linux-source-6.1 for what the config lacks
srcs=()
[ -z "$IRQSIM" ] && srcs+=(kernel/irq/irq_sim.c)
[ -z "$GPIOSIM" ] && srcs+=(drivers/gpio/gpio-sim.c drivers/gpio/gpiolib.h)
BUILT=()
if [ ${#srcs[@]} -gt 0 ]; then
	wait "$BG" || true
	BG=""
	B="$WORK/build"
	mkdir -p "$B"
	for s in "${srcs[@]}"; do
		[ -f "$WORK/src/linux-source-6.1/$s" ] || { cat "$WORK/src.log" >&2; die "$s not found in linux-source-6.1"; }
		cp "$WORK/src/linux-source-6.1/$s" "$B/"
	done
	objs=""
	if [ -z "$IRQSIM" ]; then
		# irq_to_desc() is not exported by Debian's kernel; generic_handle_irq()
		# does the same here (the sim domain's handler is handle_simple_irq).
		sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$B/irq_sim.c"
		grep -q 'generic_handle_irq(irqnum);' "$B/irq_sim.c" || die "irq_sim.c patch did not apply"
		# built-in code has no license tag; a module needs one to use GPL symbols
		printf '\n#include <linux/module.h>\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("irq_sim (out-of-tree build for fieldbridge GPIO tests)");\n' >> "$B/irq_sim.c"
		objs="$objs irq_sim.o"
		BUILT+=(irq_sim)
	fi
	if [ -z "$GPIOSIM" ]; then
		objs="$objs gpio-sim.o"
		BUILT+=(gpio-sim)
	fi
	echo "obj-m := $objs" > "$B/Kbuild"
	say "building${objs} against /lib/modules/$KVER/build"
	if ! make -s -C "/lib/modules/$KVER/build" M="$B" -j"$(nproc)" modules > "$B/build.log" 2>&1; then
		cat "$B/build.log" >&2
		die "out-of-tree module build failed"
	fi
	if grep -q 'undefined!' "$B/build.log"; then
		cat "$B/build.log" >&2
		die "modpost reports undefined symbols"
	fi
	for m in "${BUILT[@]}"; do
		cp "$B/$m.ko" "$STAGE/modules/"
	done
fi
# Load order: image modules (deps first), then irq_sim, then gpio-sim.
for m in "${BUILT[@]+"${BUILT[@]}"}"; do order+=("$m"); done
# gpio-sim must come after irq_sim even when both come from the .deb
final=()
for m in "${order[@]}"; do [ "$m" = gpio-sim ] || final+=("$m"); done
for m in "${order[@]}"; do [ "$m" = gpio-sim ] && final+=("$m"); done
printf '%s\n' "${final[@]}" > "$STAGE/modules.order"
# sanity: every module's dependencies are in the set and the vermagic matches
for m in "${final[@]}"; do
	ko="$STAGE/modules/$m.ko"
	vm=$(modinfo -F vermagic "$ko" | awk '{print $1}')
	[ "$vm" = "$KVER" ] || die "$m.ko vermagic $vm != $KVER"
	for d in $(modinfo -F depends "$ko" | tr ',' ' '); do
		grep -qx -- "$d" "$STAGE/modules.order" || grep -qx -- "${d//_/-}" "$STAGE/modules.order" ||
			die "$m.ko depends on $d, which is not staged"
	done
done
{
	echo "kernel=$KVER"
	echo "image=$IMG_PKG $IMG_VER"
	echo "source=$(basename "$SRC_DEB")"
	echo "built=${BUILT[*]+"${BUILT[*]}"}"
	echo "prepared=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$STAGE/INFO"
echo "$RECIPE" > "$STAGE/.prepared"

rm -rf "$DIR"
mkdir -p "$(dirname "$DIR")"
mv "$STAGE" "$DIR"
write_current
say "modules (load order): $(tr '\n' ' ' < "$DIR/modules.order")"
say "done in $(( $(date +%s) - T0 ))s: $DIR"
