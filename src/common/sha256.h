/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 (FIPS 180-4) for fingerprints of files and secrets in what a
 * daemon records at start.  Small on purpose: OpenSSL's digest set-up costs
 * a driver about 3 MB of memory, and a driver needs no other crypto. */
#ifndef FB_SHA256_H
#define FB_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct fb_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	unsigned char block[64];
	size_t used;
};

void fb_sha256_init(struct fb_sha256 *s);
void fb_sha256_update(struct fb_sha256 *s, const void *data, size_t len);
void fb_sha256_final(struct fb_sha256 *s, unsigned char out[32]);

#endif
