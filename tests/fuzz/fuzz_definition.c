/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a device definition file through fb_model_load, then what
 * a driver and the exporter do with a definition that loaded: its test
 * vectors, and decode -> encode -> decode of every point on words taken
 * from the input. */
#include "fuzz_util.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (256 * 1024) /* far above any shipped definition (~40 KiB) */
#define MAX_WORDS 4096

static void round_trip(const struct fb_point_def *p, const uint8_t *data, size_t size)
{
	static uint16_t regs[MAX_WORDS], back[MAX_WORDS];
	size_t width = fb_point_width(p);
	struct fb_value v, again;
	int n;

	if (!width || width > MAX_WORDS)
		return;
	for (size_t i = 0; i < width; i++) {
		/* Bit tables hold one 0/1 per element. */
		uint16_t w = size ? (uint16_t)(data[(2 * i) % size] << 8 | data[(2 * i + 1) % size]) : 0;

		regs[i] = fb_point_is_bit_table(p) ? (w & 1) : w;
	}
	if (fb_codec_decode(p, regs, &v) < 0 || !p->writable || v.kind == FB_VALUE_NONE)
		return;
	n = fb_codec_encode(p, &v, back, MAX_WORDS);
	if (n > MAX_WORDS)
		abort(); /* wrote past what it was given */
	if (n > 0)
		fb_codec_decode(p, back, &again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_definition *def;
	struct fb_diag diag;
	char path[64];

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (fuzz_memfd_file(data, size, path, sizeof(path)) < 0)
		abort();
	fb_diag_init(&diag);
	def = fb_model_load(path, &diag);
	if (def) {
		fb_model_run_vectors(def, &diag, NULL);
		for (size_t i = 0; i < def->npoints; i++)
			round_trip(&def->points[i], data, size);
	}
	fb_model_free(def);
	fb_diag_free(&diag);
	return 0;
}
