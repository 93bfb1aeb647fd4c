/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal assertion helpers for the C unit tests.  Each test binary is one
 * ctest case; it prints every failed check with file:line and ends with
 * "N passed, N failed" on a line of its own. */
#ifndef FB_TESTLIB_H
#define FB_TESTLIB_H

#include <math.h>
#include <stdio.h>
#include <string.h>

struct fb_test_counts { int passed, failed; };
static struct fb_test_counts fb_test_counts_;

#define CHECK(cond) do { \
	if (cond) { fb_test_counts_.passed++; } \
	else { fb_test_counts_.failed++; \
	       fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ == b_) { fb_test_counts_.passed++; } \
	else { fb_test_counts_.failed++; \
	       fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
		       __FILE__, __LINE__, #a, #b, a_, b_); } \
} while (0)

#define CHECK_NEAR(a, b, eps) do { double a_ = (a), b_ = (b); \
	if (fabs(a_ - b_) <= (eps)) { fb_test_counts_.passed++; } \
	else { fb_test_counts_.failed++; \
	       fprintf(stderr, "%s:%d: %s ~= %s failed: %.9g != %.9g\n", \
		       __FILE__, __LINE__, #a, #b, a_, b_); } \
} while (0)

#define CHECK_STR_CONTAINS(hay, needle) do { const char *h_ = (hay); \
	if (h_ && strstr(h_, (needle))) { fb_test_counts_.passed++; } \
	else { fb_test_counts_.failed++; \
	       fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", \
		       __FILE__, __LINE__, h_ ? h_ : "(null)", (needle)); } \
} while (0)

/* Runs a named test function. */
#define RUN_TEST(fn) do { fprintf(stderr, "-- %s\n", #fn); fn(); } while (0)

/* Prints the summary line ctest logs and returns main's exit code. */
static inline int fb_test_finish(void)
{
	printf("%d passed, %d failed\n", fb_test_counts_.passed, fb_test_counts_.failed);
	return fb_test_counts_.failed == 0 && fb_test_counts_.passed > 0 ? 0 : 1;
}

#endif
