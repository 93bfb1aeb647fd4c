/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the bench programs. */
#ifndef FB_BENCHUTIL_H
#define FB_BENCHUTIL_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns: every bench process uses it, so times taken in
 * different processes on one machine compare directly. */
int64_t bench_mono_ns(void);

#endif
