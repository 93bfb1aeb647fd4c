#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The daemons must not map libm (0.3 MB of RSS each; common/fpmath.h has
# what they need).  Usage: no_libm.sh BINARY...
# Fails when a binary lists libm in NEEDED, or lists no libc (the readelf
# output is then not what this check reads).
status=0
for b in "$@"; do
	needed=$(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') || exit 1
	echo "$b: $needed" | tr '\n' ' '
	echo
	case " $(echo $needed) " in
	*" libc.so."*) ;;
	*) echo "FAIL: $b: no libc in NEEDED"; status=1 ;;
	esac
	case " $(echo $needed) " in
	*" libm.so."*) echo "FAIL: $b maps libm"; status=1 ;;
	esac
done
exit $status
