/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 against the FIPS 180-4 / NIST example vectors, fed whole and in
 * odd-sized pieces (block boundaries fall inside an update). */
#include <stdio.h>
#include <string.h>

#include "sha256.h"
#include "testlib.h"

static void hex_of(const void *data, size_t len, size_t piece, char out[65])
{
	struct fb_sha256 h;
	unsigned char md[32];
	const unsigned char *p = data;

	fb_sha256_init(&h);
	for (size_t i = 0; i < len; i += piece)
		fb_sha256_update(&h, p + i, len - i < piece ? len - i : piece);
	fb_sha256_final(&h, md);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void digests_equal_the_standard_vectors(void)
{
	static const struct { const char *in, *want; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char got[65];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (size_t piece = 1; piece <= 64; piece += 7) {
			hex_of(v[i].in, strlen(v[i].in), piece, got);
			CHECK(!strcmp(got, v[i].want));
		}
}

static void a_million_a_spans_many_blocks(void)
{
	static char a[1000000];
	char got[65];

	memset(a, 'a', sizeof(a));
	hex_of(a, sizeof(a), 4093, got);
	CHECK(!strcmp(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

int main(void)
{
	RUN_TEST(digests_equal_the_standard_vectors);
	RUN_TEST(a_million_a_spans_many_blocks);
	return fb_test_finish();
}
