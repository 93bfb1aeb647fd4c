#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs a program inside Debian's 6.1 kernel under qemu (TCG, no KVM needed),
# with a gpio-sim chip set up, and exits with the program's exit code.
# See tests/gpio-kernel/README.md.
#
# usage: run-in-guest.sh <program> [args...]
#
# <program> (an ELF binary or a #!/bin/sh script) is copied into the guest as
# /fb/bin/<name> together with its shared libraries (ldd) and run there as
# root from /fb/work, with stdout/stderr on the guest console.  Arguments are
# passed on unchanged (refer to extra files by their guest path, see below).
#
# The guest's gpio-sim chip ("fb-sim", one bank, 16 lines):
#   offsets 0..7  named in0..in7   (drive them: echo pull-up|pull-down > $FB_SIM_SYSFS/sim_gpioN/pull)
#   offsets 8..15 named out0..out7 (read them:  cat $FB_SIM_SYSFS/sim_gpioN/value)
# Environment given to the program in the guest:
#   FB_SIM_CHIP=/dev/gpiochipN   FB_SIM_CHIP_NAME=gpiochipN   FB_SIM_LABEL=fb-sim
#   FB_SIM_SYSFS=/sys/devices/platform/gpio-sim.M/gpiochipN
#   FB_SIM_CONFIGFS=/sys/kernel/config/gpio-sim/fb   FB_SIM_NUM_LINES=16
#   FB_SIM_IN_OFFSET=0 FB_SIM_IN_COUNT=8 FB_SIM_OUT_OFFSET=8 FB_SIM_OUT_COUNT=8
#   FB_GUEST=1   FB_GUEST_EXTRA_DIR=/extra   FB_GUEST_KERNEL=<uname -r>
#   plus every FB_GUEST_ENV entry.
#
# Host-side environment:
#   FB_GUEST_EXTRA="p1 p2 ..."  files or directories copied to /extra/<basename>
#                      (ELF files among them get their libraries too)
#   FB_GUEST_ENV="K=V ..."      extra variables for the program (no spaces in values)
#   FB_GUEST_SETUP=script       a sh script sourced in the guest after the chip
#                      exists and before the program runs (e.g. to start a daemon);
#                      it sees the FB_SIM_* variables; copied to /fb/setup.sh
#   FB_GUEST_TIMEOUT=300        seconds before qemu is killed (exit 1)
#   FB_GUEST_MEM=512M  FB_GUEST_SMP=1
#   FB_GUEST_CONSOLE=file       keep the full console log there
#   FB_GUEST_QUIET=1            do not stream the console; print it only on failure
#   FB_GPIO_KERNEL_REQUIRED=1   turn "cannot run here" (77) into a failure (1)
#   FB_CACHE_DIR, FB_GPIO_KERNEL  as for prepare.sh (called if the cache is missing)
#
# Exit: the program's exit code; 77 (with the reason) if the rig cannot run on
# this machine; 1 if the guest did not boot/finish (console tail printed);
# 2 on usage errors.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT="${FB_CACHE_DIR:-$HOME/.cache/fieldbridge}/gpio-kernel"
TIMEOUT="${FB_GUEST_TIMEOUT:-300}"
T0=$(date +%s.%N)

msg() { echo "run-in-guest: $*" >&2; }
skip() {
	if [ "${FB_GPIO_KERNEL_REQUIRED:-0}" = 1 ]; then
		msg "FAIL (FB_GPIO_KERNEL_REQUIRED=1): $*"; exit 1
	fi
	msg "SKIP: $*"; exit 77
}
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

[ $# -ge 1 ] || { echo "usage: $0 <program> [args...]" >&2; exit 2; }
PROG="$1"; shift
[ -f "$PROG" ] || { msg "no such program: $PROG"; exit 2; }

# ---------------------------------------------------------------- the cache
# prepare.sh is idempotent and quick (~0.2 s, no apt) once the cache is filled;
# calling it every time keeps its stamp check the only source of truth.
if ! "$SCRIPT_DIR/prepare.sh" >&2; then
	skip "prepare.sh failed (see above): cannot build the gpio-sim kernel rig on this machine"
fi
k="${FB_GPIO_KERNEL:-}"
[ -n "$k" ] || k=$(cat "$CACHE_ROOT/current" 2>/dev/null || true)
kdir="$CACHE_ROOT/$k"
[ -n "$k" ] && [ -f "$kdir/.prepared" ] && [ -f "$kdir/vmlinuz" ] ||
	skip "prepare.sh succeeded but no prepared kernel is in $CACHE_ROOT"
for t in qemu-system-x86_64 cpio gzip; do
	command -v "$t" >/dev/null || skip "$t missing after prepare.sh"
done
[ -x /bin/busybox ] || skip "/bin/busybox missing after prepare.sh"
KVER=$(basename "$kdir")

# ---------------------------------------------------------------- qemu and tmp state
TMPBASE="${TMPDIR:-/tmp}"
# remove work dirs of earlier runs that were SIGKILLed (their pid is gone)
for d in "$TMPBASE"/fb-gpio-guest.*.*; do
	[ -d "$d" ] || continue
	p=${d#"$TMPBASE"/fb-gpio-guest.}; p=${p%%.*}
	case "$p" in ''|*[!0-9]*) continue;; esac
	kill -0 "$p" 2>/dev/null || rm -rf "$d"
done
WORK=$(mktemp -d "$TMPBASE/fb-gpio-guest.$$.XXXXXX")
QPID=""; TPID=""
cleanup() {
	local rc=$?
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null || true
		sleep 0.5
		kill -9 "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT TERM HUP

# ---------------------------------------------------------------- initramfs
ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,mod,extra,fb/bin,fb/work,etc}
cp /bin/busybox "$ROOT/bin/busybox"
while read -r m; do
	[ -n "$m" ] && cp "$kdir/modules/$m.ko" "$ROOT/mod/"
done < "$kdir/modules.order"
cp "$kdir/modules.order" "$ROOT/mod/order"

# Copies the shared libraries an ELF file needs (and the loader) into ROOT,
# under the same paths; non-dynamic files are left alone.
LIBDIRS=""
copy_libs() {
	local f="$1" out line p
	out=$(LC_ALL=C ldd "$f" 2>/dev/null) || return 0
	while read -r line; do
		case "$line" in
			*"=> not found"*) msg "$f: library not found: $line"; exit 1;;
			*"=> /"*) p=${line#*=> }; p=${p%% (*};;
			/*) p=${line%% (*};;
			*) continue;;
		esac
		[ -e "$ROOT$p" ] && continue
		mkdir -p "$ROOT$(dirname "$p")"
		cp -L "$p" "$ROOT$p"
		case " $LIBDIRS " in *" $(dirname "$p") "*) ;; *) LIBDIRS="$LIBDIRS $(dirname "$p")";; esac
	done <<< "$out"
}
PNAME=$(basename "$PROG")
cp -L "$PROG" "$ROOT/fb/bin/$PNAME"
chmod +x "$ROOT/fb/bin/$PNAME"
copy_libs "$PROG"

for x in ${FB_GUEST_EXTRA:-}; do
	[ -e "$x" ] || { msg "FB_GUEST_EXTRA: no such file: $x"; exit 2; }
	cp -aL "$x" "$ROOT/extra/"
	if [ -d "$x" ]; then
		while IFS= read -r -d '' f; do copy_libs "$f"; done < <(find -L "$x" -type f -perm -u+x -print0)
	else
		copy_libs "$x"
	fi
done
if [ -n "${FB_GUEST_SETUP:-}" ]; then
	[ -f "$FB_GUEST_SETUP" ] || { msg "FB_GUEST_SETUP: no such file: $FB_GUEST_SETUP"; exit 2; }
	cp "$FB_GUEST_SETUP" "$ROOT/fb/setup.sh"
fi

# The command line, quoted for sh.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	printf 'set -- '
	for a in "$@"; do q "$a"; printf ' '; done
	echo
	for kv in ${FB_GUEST_ENV:-}; do
		case "$kv" in *=*) printf 'export %s=%s\n' "${kv%%=*}" "$(q "${kv#*=}")";;
			*) msg "FB_GUEST_ENV: not K=V: $kv"; exit 2;; esac
	done
	echo "FB_PROG=/fb/bin/$PNAME"
	echo "FB_LIBDIRS='${LIBDIRS# }'"
} > "$ROOT/fb/cmd"
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOT/etc/passwd"
echo "root:x:0:" > "$ROOT/etc/group"

cat > "$ROOT/init" <<'EOF'
#!/bin/busybox sh
# fieldbridge gpio-kernel guest init
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mkdir -p /root
fail() {
	echo "FB_GUEST_SETUP_FAILED: $*"
	dmesg | tail -n 30
	echo o > /proc/sysrq-trigger
	sleep 10
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || fail "cannot mount devtmpfs"
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mkdir -p /run && mount -t tmpfs tmpfs /run
echo 1 > /proc/sys/kernel/sysrq
echo "FB_GUEST_BOOTED kernel=$(uname -r)"
for m in $(cat /mod/order); do
	insmod /mod/$m.ko || fail "insmod $m failed"
done
[ -d /sys/kernel/config ] || fail "no /sys/kernel/config"
mount -t configfs configfs /sys/kernel/config || fail "cannot mount configfs"
[ -d /sys/kernel/config/gpio-sim ] || fail "no gpio-sim in configfs"
C=/sys/kernel/config/gpio-sim/fb
mkdir $C $C/bank0 || fail "cannot create the gpio-sim chip in configfs"
echo 16 > $C/bank0/num_lines
echo fb-sim > $C/bank0/label
i=0
while [ $i -lt 8 ]; do
	mkdir $C/bank0/line$i && echo in$i > $C/bank0/line$i/name
	j=$((i + 8))
	mkdir $C/bank0/line$j && echo out$i > $C/bank0/line$j/name
	i=$((i + 1))
done
echo 1 > $C/live || fail "cannot set the gpio-sim chip live"
DEV=$(cat $C/dev_name); CHIP=$(cat $C/bank0/chip_name)
[ -n "$DEV" ] && [ -n "$CHIP" ] || fail "gpio-sim chip has no device ($DEV/$CHIP)"
n=0
while [ ! -c /dev/$CHIP ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
[ -c /dev/$CHIP ] || fail "/dev/$CHIP did not appear"
export FB_GUEST=1 FB_GUEST_EXTRA_DIR=/extra FB_GUEST_KERNEL=$(uname -r)
export FB_SIM_CHIP=/dev/$CHIP FB_SIM_CHIP_NAME=$CHIP FB_SIM_LABEL=fb-sim
export FB_SIM_SYSFS=/sys/devices/platform/$DEV/$CHIP FB_SIM_CONFIGFS=$C FB_SIM_NUM_LINES=16
export FB_SIM_IN_OFFSET=0 FB_SIM_IN_COUNT=8 FB_SIM_OUT_OFFSET=8 FB_SIM_OUT_COUNT=8
[ -e $FB_SIM_SYSFS/sim_gpio0/pull ] || fail "$FB_SIM_SYSFS/sim_gpio0/pull missing"
echo "FB_GUEST_READY chip=$FB_SIM_CHIP sysfs=$FB_SIM_SYSFS"
. /fb/cmd
[ -n "$FB_LIBDIRS" ] && export LD_LIBRARY_PATH=$(echo $FB_LIBDIRS | tr ' ' ':')
if [ -f /fb/setup.sh ]; then
	. /fb/setup.sh || fail "FB_GUEST_SETUP script failed"
fi
cd /fb/work
"$FB_PROG" "$@"
rc=$?
sync
echo "FB_GUEST_EXIT=$rc"
echo o > /proc/sysrq-trigger
sleep 10
EOF
chmod +x "$ROOT/init"
(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$WORK/initrd.gz"

# ---------------------------------------------------------------- boot
LOG="$WORK/console.log"
: > "$LOG"
ACCEL_ARGS=(-accel tcg)
# -cpu max: host-built binaries may use any instruction the host has
QEMU=(qemu-system-x86_64 "${ACCEL_ARGS[@]}" -cpu max -m "${FB_GUEST_MEM:-512M}" -smp "${FB_GUEST_SMP:-1}"
	-nographic -no-reboot -monitor none -nic none
	-chardev "file,id=con,path=$LOG" -serial chardev:con
	-kernel "$kdir/vmlinuz" -initrd "$WORK/initrd.gz"
	-append "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init")
msg "booting $KVER in qemu (TCG, timeout ${TIMEOUT}s): $PNAME $*"
# --pdeathsig: qemu dies with this script even if the script is SIGKILLed
# (e.g. by a test runner's timeout), so no guest is ever left behind.
PDEATH=()
setpriv --pdeathsig KILL true 2>/dev/null && PDEATH=(setpriv --pdeathsig KILL)
"${PDEATH[@]}" "${QEMU[@]}" < /dev/null > "$WORK/qemu.out" 2>&1 &
QPID=$!
if [ "${FB_GUEST_QUIET:-0}" != 1 ]; then
	tail -n +1 -F -s 0.2 --pid="$QPID" "$LOG" 2>/dev/null | sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' &
	TPID=$!
fi
deadline=$(( $(date +%s) + TIMEOUT ))
timed_out=0
while kill -0 "$QPID" 2>/dev/null; do
	if [ "$(date +%s)" -ge "$deadline" ]; then timed_out=1; break; fi
	sleep 0.2
done
if [ "$timed_out" = 1 ]; then
	kill "$QPID" 2>/dev/null || true; sleep 0.5; kill -9 "$QPID" 2>/dev/null || true
fi
qrc=0; wait "$QPID" || qrc=$?
QPID=""
if [ -n "$TPID" ]; then
	# tail ends by itself once qemu is gone (--pid); give it a moment to drain
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$TPID" 2>/dev/null || break; sleep 0.2; done
	kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; TPID=""
fi
[ -n "${FB_GUEST_CONSOLE:-}" ] && cp "$LOG" "$FB_GUEST_CONSOLE"

console_tail() {
	msg "---- last console lines ----"
	sed -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' "$LOG" | tail -n "${1:-40}" >&2
	msg "----"
}
rc_line=$(tr -d '\r' < "$LOG" | grep -a -o 'FB_GUEST_EXIT=[0-9]*' | tail -n1 || true)
if [ -n "$rc_line" ]; then
	rc=${rc_line#FB_GUEST_EXIT=}
	msg "guest program exited $rc (kernel $KVER, $(elapsed)s total)"
	[ "${FB_GUEST_QUIET:-0}" = 1 ] && [ "$rc" != 0 ] && console_tail 200
	exit "$rc"
fi
if [ ! -s "$LOG" ] && [ "$timed_out" = 0 ]; then
	cat "$WORK/qemu.out" >&2
	skip "qemu-system-x86_64 exited ($qrc) before the guest printed anything: it cannot run a TCG guest here"
fi
if [ "$timed_out" = 1 ]; then
	msg "FAIL: guest did not finish within ${TIMEOUT}s (FB_GUEST_TIMEOUT)"
else
	reason=$(tr -d '\r' < "$LOG" | grep -a -o 'FB_GUEST_SETUP_FAILED: .*' | tail -n1 || true)
	msg "FAIL: guest ended without a result (qemu exit $qrc)${reason:+: $reason}"
	[ -s "$WORK/qemu.out" ] && cat "$WORK/qemu.out" >&2
fi
console_tail 60
exit 1
