/* SPDX-License-Identifier: Apache-2.0 */
/* The "identify" block of a definition (definition_identify.c): strict
 * fields with "did you mean", exactly one expectation per register, and
 * matching through a register reader as a bus scan does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "testlib.h"

#define DEF(identify) "{ \"manufacturer\": \"T\", \"model\": \"M\", \"protocol\": \"modbus\",\n" \
	"  \"identify\": " identify ",\n" \
	"  \"points\": [{\"key\": \"v\", \"name\": \"V\", \"table\": \"input_register\", " \
	"\"address\": 0, \"type\": \"uint16\"}] }\n"

/* Loads text from a temporary file; the messages (caller frees) in *msgs. */
static struct fb_definition *load(const char *text, char **msgs)
{
	char path[] = "/tmp/fb-test-identify-XXXXXX";
	int fd = mkstemp(path);
	struct fb_diag d;
	struct fb_definition *def;
	size_t len = 0;
	FILE *m;

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	fb_diag_init(&d);
	def = fb_model_load(path, &d);
	m = open_memstream(msgs, &len);
	fb_diag_print(&d, m);
	fclose(m);
	fb_diag_free(&d);
	unlink(path);
	return def;
}

static void parses_every_kind(void)
{
	char *msgs;
	struct fb_definition *def = load(DEF("{\"registers\": ["
		"{\"table\": \"holding_register\", \"address\": \"0x0002\", \"equals_unit_id\": true},"
		"{\"table\": \"input_register\", \"address\": 16, \"range\": [100, 199]},"
		"{\"table\": \"holding_register\", \"address\": 20, \"type\": \"uint32\", "
		"\"order\": \"CDAB\", \"values\": [70000, \"0x10\"]}]}"), &msgs);

	CHECK(def != NULL);
	if (def) {
		CHECK_EQ_INT(def->nidentify, 3);
		CHECK(def->identify[0].equals_unit_id);
		CHECK_EQ_INT(def->identify[0].p.table, FB_REG_HOLDING);
		CHECK_EQ_INT(def->identify[0].p.address, 2);
		CHECK_EQ_INT(def->identify[0].p.type, FB_TYPE_UINT16);
		CHECK(def->identify[1].has_range);
		CHECK_EQ_INT(def->identify[1].min, 100);
		CHECK_EQ_INT(def->identify[1].max, 199);
		CHECK_EQ_INT(def->identify[2].p.type, FB_TYPE_UINT32);
		CHECK_EQ_INT(def->identify[2].p.order, FB_ORDER_CDAB);
		CHECK_EQ_INT(def->identify[2].nvalues, 2);
		CHECK_EQ_INT(def->identify[2].values[1], 16);
	}
	fb_model_free(def);
	free(msgs);
}

static void bad_fields_are_named(void)
{
	char *msgs;
	struct fb_definition *def = load(DEF("{\"registers\": ["
		"{\"table\": \"holding_register\", \"adress\": 2, \"equals_unit_id\": true},"
		"{\"table\": \"coil\", \"address\": 1, \"values\": [1]},"
		"{\"table\": \"input_register\", \"address\": 1},"
		"{\"table\": \"input_register\", \"address\": 1, \"values\": [1], \"range\": [1, 2]},"
		"{\"table\": \"input_register\", \"address\": 1, \"range\": [5, 2]},"
		"{\"table\": \"input_register\", \"address\": 1, \"type\": \"float32\", "
		"\"values\": [1]}], \"registres\": []}"), &msgs);

	CHECK(def == NULL);
	CHECK_STR_CONTAINS(msgs, "identify.registers[0]: unknown field \"adress\"");
	CHECK_STR_CONTAINS(msgs, "did you mean \"address\"");
	CHECK_STR_CONTAINS(msgs, "identify.registers[0].address");
	CHECK_STR_CONTAINS(msgs, "identify.registers[1].table");
	CHECK_STR_CONTAINS(msgs, "identify.registers[2]: expected exactly one of");
	CHECK_STR_CONTAINS(msgs, "identify.registers[3]: expected exactly one of");
	CHECK_STR_CONTAINS(msgs, "identify.registers[4].range: expected [min, max]");
	CHECK_STR_CONTAINS(msgs, "identify.registers[5].type");
	CHECK_STR_CONTAINS(msgs, "identify: unknown field \"registres\"");
	free(msgs);
	def = load(DEF("{\"registers\": []}"), &msgs);
	CHECK(def == NULL);
	CHECK_STR_CONTAINS(msgs, "identify.registers: expected a non-empty array");
	free(msgs);
}

/* A unit's registers for the reader: holding[addr] = addr * 10 + unit,
 * input 16 = 150; any other input register is an exception. */
struct fake {
	int unit, reads;
};

static int fake_read(void *ctx, enum fb_reg_table table, uint16_t address, uint16_t count,
		     uint16_t *regs)
{
	struct fake *f = ctx;

	f->reads++;
	for (uint16_t i = 0; i < count; i++) {
		if (table == FB_REG_INPUT && address + i != 16)
			return -1;
		regs[i] = table == FB_REG_INPUT ? 150 : (uint16_t)((address + i) * 10 + f->unit);
	}
	return 0;
}

static void matches_through_the_reader(void)
{
	char *msgs;
	struct fb_definition *def = load(DEF("{\"registers\": ["
		"{\"table\": \"input_register\", \"address\": 16, \"range\": [100, 199]},"
		"{\"table\": \"holding_register\", \"address\": 0, \"equals_unit_id\": true}]}"),
		&msgs);
	char *msgs2;
	struct fb_definition *other = load(DEF("{\"registers\": ["
		"{\"table\": \"input_register\", \"address\": 17, \"values\": [150]}]}"), &msgs2);
	struct fake f = { .unit = 7 };

	free(msgs);
	free(msgs2);
	CHECK(def && other);
	if (!def || !other) {
		fb_model_free(def);
		fb_model_free(other);
		return;
	}
	CHECK_EQ_INT(fb_identify_match(def, 7, fake_read, &f), 1);
	CHECK_EQ_INT(f.reads, 2);
	/* holding 0 holds 7: at unit 8 the address register does not match */
	CHECK_EQ_INT(fb_identify_match(def, 8, fake_read, &f), 0);
	/* an exception to an identify read: the reader fails */
	CHECK_EQ_INT(fb_identify_match(other, 7, fake_read, &f), -1);
	fb_model_free(def);
	fb_model_free(other);
}

static void shipped_identify_blocks_load(void)
{
	static const char *const ids[] = { "peacefair-pzem-004t", "generic-xy-md02",
					   "renke-rs-fsjt-n01" };
	const char *dirs[] = { FB_SOURCE_DIR "/devices" };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct fb_diag d;
		struct fb_definition *def;

		fb_diag_init(&d);
		def = fb_model_find(ids[i], dirs, 1, &d);
		CHECK(def != NULL);
		if (def) {
			CHECK_EQ_INT(def->nidentify, 1);
			CHECK(def->identify[0].equals_unit_id);
		}
		fb_model_free(def);
		fb_diag_free(&d);
	}
}

int main(void)
{
	RUN_TEST(parses_every_kind);
	RUN_TEST(bad_fields_are_named);
	RUN_TEST(matches_through_the_reader);
	RUN_TEST(shipped_identify_blocks_load);
	return fb_test_finish();
}
