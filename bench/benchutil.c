/* SPDX-License-Identifier: Apache-2.0 */
#include "benchutil.h"

#include <time.h>

int64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
