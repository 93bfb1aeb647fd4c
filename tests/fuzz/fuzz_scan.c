/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a queued scan command's option text (another process's
 * input to the driver: mb_scan_parse_options, and through it the id
 * ranges), and the standalone scanner's --ids, --bauds and --parities
 * lists (mb_scan_parse_ids, mb_scan_parse_framings).  Input: the text;
 * its first byte picks TCP (odd) or a serial line, and the text is split
 * at the first newline into the baud and the parity list. */
#include "fuzz_util.h"
#include "scan.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_scan_params p;
	const char *why = NULL;
	char *text, *nl;
	bool tcp;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	tcp = data[0] & 1;
	text = fuzz_strndup(data + 1, size - 1);
	if (!text)
		return 0;
	mb_scan_params_default(&p, !tcp);
	if (mb_scan_parse_options(text, tcp, &p, &why) < 0 && !why)
		abort();                 /* a refusal always says why */
	for (int i = 0; i < 256; i++)
		if (p.ids[i] && !tcp && i == 0)
			abort();         /* never broadcast on a serial line */
	mb_scan_params_default(&p, true);
	why = NULL;
	if (mb_scan_parse_ids(text, tcp, &p, &why) < 0 && !why)
		abort();
	nl = strchr(text, '\n');
	if (nl)
		*nl++ = '\0';
	why = NULL;
	if (mb_scan_parse_framings(text, nl, &p, &why) < 0 && !why)
		abort();
	if (p.nframings > MB_SCAN_MAX_FRAMINGS)
		abort();
	for (size_t i = 0; i < p.nframings; i++)
		if (!strchr("ENO", p.framings[i].parity) || p.framings[i].baud < 300)
			abort();
	free(text);
	return 0;
}
