/* SPDX-License-Identifier: Apache-2.0 */
/* Test vectors: the "tests" block is validated with file and JSON path like
 * the rest of a definition, and fb_model_run_vectors decodes with the real
 * codec, so a wrong address, word order or scale in a map fails its vector
 * with the value got and the one expected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "testlib.h"

static char tmpdir[] = "/tmp/fb-test-vectors-XXXXXX";
static char path[600];

struct run {
	struct fb_definition *def;
	struct fb_diag diag;
	char *text;       /* load messages, then run messages */
	struct fb_vector_report rep;
	size_t failed;
};

static char *diag_text(const struct fb_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fb_diag_print(d, f);
	fclose(f);
	return buf;
}

/* Writes text to x.json, loads it and, if it loaded, runs its vectors. */
static void run_text(struct run *r, const char *text)
{
	FILE *f;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/x.json", tmpdir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	fb_diag_init(&r->diag);
	r->def = fb_model_load(path, &r->diag);
	if (r->def)
		r->failed = fb_model_run_vectors(r->def, &r->diag, &r->rep);
	r->text = diag_text(&r->diag);
	if (r->diag.count)
		fprintf(stderr, "%s", r->text);
}

static void done(struct run *r)
{
	fb_model_free(r->def);
	fb_diag_free(&r->diag);
	free(r->text);
}

#define HEAD "{ \"manufacturer\": \"T\", \"model\": \"M\", \"protocol\": \"modbus\",\n"

/* The PZEM-004T map: u16 voltage, u32 CDAB current and energy (Wh read as
 * kWh with 0.001), an alarm flag and a firmware string. */
#define PZEM_POINTS \
	"\"points\": [\n" \
	" {\"key\":\"voltage\",\"name\":\"V\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"scale\":0.1,\"unit\":\"V\",\"device_class\":\"voltage\"},\n" \
	" {\"key\":\"current\",\"name\":\"A\",\"table\":\"input_register\",\"address\":1,\"type\":\"uint32\",\"order\":\"CDAB\",\"scale\":0.001,\"unit\":\"A\"},\n" \
	" {\"key\":\"power\",\"name\":\"W\",\"table\":\"input_register\",\"address\":3,\"type\":\"uint32\",\"order\":\"CDAB\",\"scale\":0.1,\"unit\":\"W\"},\n" \
	" {\"key\":\"energy\",\"name\":\"E\",\"table\":\"input_register\",\"address\":5,\"type\":\"uint32\",\"order\":\"CDAB\",\"scale\":%s,\"unit\":\"kWh\",\"device_class\":\"energy\",\"state_class\":\"total_increasing\"},\n" \
	" {\"key\":\"pf\",\"name\":\"PF\",\"table\":\"input_register\",\"address\":8,\"type\":\"uint16\",\"scale\":0.01},\n" \
	" {\"key\":\"alarm\",\"name\":\"Alarm\",\"table\":\"input_register\",\"address\":9,\"type\":\"uint16\",\"sentinel\":\"0xFFFF\",\"device_class\":\"enum\",\"options\":{\"0\":\"off\",\"1\":\"on\"}},\n" \
	" {\"key\":\"fw\",\"name\":\"FW\",\"table\":\"holding_register\",\"address\":16,\"type\":\"string\",\"length\":2},\n" \
	" {\"key\":\"relay\",\"name\":\"R\",\"table\":\"coil\",\"address\":0}\n" \
	"],\n"

#define PZEM_TESTS \
	"\"tests\": [\n" \
	" {\"name\":\"frame\",\"source\":\"captured: esphome pzemac.cpp comment\",\n" \
	"  \"table\":\"input_register\",\"address\":0,\n" \
	"  \"words\":[\"0x08D1\",\"0x006C\",\"0x0000\",\"0x00F4\",\"0x0000\",\"0x0026\",\"0x0000\",\"0x01F4\",\"0x0064\",\"0x0000\"],\n" \
	"  \"expect\":{\"voltage\":225.7,\"current\":0.108,\"power\":24.4,\n" \
	"            \"energy\":{\"value\":0.038,\"unit\":\"kWh\"},\"pf\":1.0,\"alarm\":\"off\"},\n" \
	"  \"invariants\":[{\"name\":\"P = V I PF\",\"equals\":\"power\",\"product\":[\"voltage\",\"current\",\"pf\"],\"tolerance\":\"1%%\"}]},\n" \
	" {\"name\":\"no alarm register\",\"source\":\"constructed: sentinel\",\"table\":\"input_register\",\n" \
	"  \"address\":9,\"words\":[65535],\"expect\":{\"alarm\":null}},\n" \
	" {\"name\":\"firmware\",\"source\":\"constructed: ASCII\",\"table\":\"holding_register\",\n" \
	"  \"address\":16,\"words\":[\"0x5631\",\"0x2E30\"],\"expect\":{\"fw\":\"V1.0\"}},\n" \
	" {\"name\":\"relay on\",\"source\":\"constructed: coil\",\"table\":\"coil\",\n" \
	"  \"address\":0,\"words\":[1],\"expect\":{\"relay\":true}}\n" \
	"]}\n"

static void passing_vectors_are_counted(void)
{
	struct run r;
	char text[8192];

	snprintf(text, sizeof(text), HEAD PZEM_POINTS PZEM_TESTS, "0.001");
	run_text(&r, text);
	CHECK(r.def != NULL);
	CHECK_EQ_INT(r.diag.count, 0);
	CHECK_EQ_INT(r.failed, 0);
	CHECK_EQ_INT(r.rep.vectors, 4);
	CHECK_EQ_INT(r.rep.captured, 1);
	CHECK_EQ_INT(r.rep.checks, 10);
	if (r.def) {
		CHECK_EQ_INT(r.def->nvectors, 4);
		CHECK_EQ_INT(r.def->vectors[0].nblocks, 1);
		CHECK_EQ_INT(r.def->vectors[0].blocks[0].nwords, 10);
		CHECK_EQ_INT(r.def->vectors[0].blocks[0].words[0], 0x08D1);
		CHECK(r.def->vectors[0].captured);
		CHECK(!r.def->vectors[1].captured);
		CHECK_EQ_INT(r.def->vectors[0].expect[5].kind, FB_EXPECT_NUMBER);
		CHECK_NEAR(r.def->vectors[0].expect[5].number, 0, 0);
		for (size_t i = 0; i < r.def->npoints; i++)
			CHECK(fb_model_point_has_vector(r.def, i));
	}
	done(&r);
}

/* The peer error this catches: a PZEM energy scale of 0.0001 (10x too low). */
static void a_wrong_scale_fails_with_got_and_expected(void)
{
	struct run r;
	char text[8192];

	snprintf(text, sizeof(text), HEAD PZEM_POINTS PZEM_TESTS, "0.0001");
	run_text(&r, text);
	CHECK(r.def != NULL);
	CHECK_EQ_INT(r.failed, 1);
	CHECK_EQ_INT(r.diag.errors, 1);
	CHECK_STR_CONTAINS(r.text, "x.json: tests[0] (frame).expect.energy: got 0.0038, "
			   "expected 0.038 (input_register 0x0005: 0x0026 0x0000)");
	done(&r);
}

/* The SDM630 error of a peer's map: L2 reactive power read at 0x0018 (L1's
 * register) instead of 0x001A.  The vector holds three different values. */
static void a_wrong_address_fails(void)
{
	static const char *const text =
		HEAD "\"points\": [\n"
		" {\"key\":\"q1\",\"name\":\"Q1\",\"table\":\"input_register\",\"address\":24,\"type\":\"float32\"},\n"
		" {\"key\":\"q2\",\"name\":\"Q2\",\"table\":\"input_register\",\"address\":24,\"type\":\"float32\"},\n"
		" {\"key\":\"q3\",\"name\":\"Q3\",\"table\":\"input_register\",\"address\":26,\"type\":\"float32\"}],\n"
		"\"tests\": [{\"name\":\"three phases\",\"source\":\"constructed: distinct values\",\n"
		"  \"table\":\"input_register\",\"address\":24,\"tolerance\":0.01,\n"
		"  \"words\":[\"0x4120\",\"0\",\"0x41A0\",\"0\",\"0x41F0\",\"0\"],\n"
		"  \"expect\":{\"q1\":10,\"q2\":20,\"q3\":30}}]}\n";
	struct run r;

	run_text(&r, text);
	CHECK(r.def != NULL);
	CHECK_EQ_INT(r.failed, 2);
	CHECK_STR_CONTAINS(r.text, "tests[0] (three phases).expect.q2: got 10, expected 20 "
			   "± 0.01 (input_register 0x0018: 0x4120 0x0000)");
	CHECK_STR_CONTAINS(r.text, "tests[0] (three phases).expect.q3: got 20, expected 30 ± 0.01");
	done(&r);
}

/* CDAB vs ABCD: the ET112 voltage frame 09 1B 00 00 read high word first. */
static void a_wrong_word_order_fails(void)
{
	static const char *const text =
		HEAD "\"points\": [\n"
		" {\"key\":\"v\",\"name\":\"V\",\"table\":\"input_register\",\"address\":0,\"type\":\"int32\",\"scale\":0.1}],\n"
		"\"tests\": [{\"name\":\"v\",\"source\":\"captured: a reply\",\"table\":\"input_register\",\n"
		"  \"address\":0,\"words\":[\"0x091B\",\"0x0000\"],\"expect\":{\"v\":233.1}}]}\n";
	struct run r;

	run_text(&r, text);
	CHECK_EQ_INT(r.failed, 1);
	CHECK_STR_CONTAINS(r.text, "expect.v: got 15276441.6, expected 233.1");
	done(&r);
}

static void invariants_fail_with_both_sides(void)
{
	static const char *const text =
		HEAD "\"points\": [\n"
		" {\"key\":\"imp\",\"name\":\"I\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\"},\n"
		" {\"key\":\"exp\",\"name\":\"E\",\"table\":\"input_register\",\"address\":1,\"type\":\"uint16\"},\n"
		" {\"key\":\"tot\",\"name\":\"T\",\"table\":\"input_register\",\"address\":2,\"type\":\"uint16\",\"sentinel\":0}],\n"
		"\"tests\": [{\"name\":\"t\",\"source\":\"constructed: sums\",\"table\":\"input_register\",\n"
		"  \"address\":0,\"words\":[10,5,16],\"expect\":{\"imp\":10},\n"
		"  \"invariants\":[{\"equals\":\"tot\",\"sum\":[\"imp\",\"exp\"],\"tolerance\":0.5},\n"
		"                {\"name\":\"within\",\"equals\":\"tot\",\"sum\":[\"imp\",\"exp\"],\"tolerance\":\"10%\"}]},\n"
		" {\"name\":\"u\",\"source\":\"constructed: unknown\",\"table\":\"input_register\",\n"
		"  \"address\":0,\"words\":[10,5,0],\"expect\":{\"tot\":null},\n"
		"  \"invariants\":[{\"equals\":\"tot\",\"sum\":[\"imp\",\"exp\"]}]}]}\n";
	struct run r;

	run_text(&r, text);
	CHECK(r.def != NULL);
	CHECK_EQ_INT(r.rep.checks, 5);
	CHECK_EQ_INT(r.failed, 2);
	CHECK_STR_CONTAINS(r.text, "tests[0] (t).invariants[0] (tot = imp + exp): tot is 16, "
			   "the sum is 15 (difference 1, allowed 0.5)");
	CHECK_STR_CONTAINS(r.text, "tests[1] (u).invariants[0] (tot = imp + exp): tot has no "
			   "numeric value");
	done(&r);
}

/* A snapshot of several replies (the SDM120's energies at 0x0048 and its
 * total at 0x0156), so total = import + export can be checked. */
static void blocks_hold_several_replies(void)
{
	static const char *const text =
		HEAD "\"points\": [\n"
		" {\"key\":\"imp\",\"name\":\"I\",\"table\":\"input_register\",\"address\":\"0x48\",\"type\":\"float32\"},\n"
		" {\"key\":\"exp\",\"name\":\"E\",\"table\":\"input_register\",\"address\":\"0x4A\",\"type\":\"float32\"},\n"
		" {\"key\":\"tot\",\"name\":\"T\",\"table\":\"input_register\",\"address\":\"0x156\",\"type\":\"float32\"}],\n"
		"\"tests\": [{\"name\":\"t\",\"source\":\"captured: a spec's testdata\",\"table\":\"input_register\",\n"
		"  \"blocks\":[{\"address\":\"0x48\",\"words\":[\"0x43C9\",\"0xC24E\",\"0x3D89\",\"0x374C\"]},\n"
		"            {\"address\":\"0x156\",\"words\":[\"0x43C9\",\"0xCAE1\"]}],\n"
		"  \"expect\":{\"imp\":403.518,\"exp\":0.067,\"tot\":403.585},\n"
		"  \"invariants\":[{\"equals\":\"tot\",\"sum\":[\"imp\",\"exp\"],\"tolerance\":0.001}]}]}\n";
	static const char *const bad =
		HEAD "\"points\": [\n"
		" {\"key\":\"imp\",\"name\":\"I\",\"table\":\"input_register\",\"address\":\"0x48\",\"type\":\"float32\"}],\n"
		"\"tests\": [{\"name\":\"t\",\"source\":\"constructed: x\",\"table\":\"input_register\",\"address\":1,\n"
		"  \"blocks\":[{\"address\":\"0x48\",\"words\":[1,2,3]},{\"address\":\"0x4A\",\"words\":[1],\"x\":1},\n"
		"            {\"address\":\"0x49\",\"words\":[1]}],\n"
		"  \"expect\":{\"imp\":0}},\n"
		" {\"name\":\"u\",\"source\":\"constructed: x\",\"table\":\"input_register\",\n"
		"  \"blocks\":[{\"address\":\"0x47\",\"words\":[1,2]},{\"address\":\"0x49\",\"words\":[1]}],\n"
		"  \"expect\":{\"imp\":0}}]}\n";
	struct run r;

	run_text(&r, text);
	CHECK(r.def != NULL);
	CHECK_EQ_INT(r.failed, 0);
	CHECK_EQ_INT(r.rep.checks, 4);
	if (r.def)
		CHECK_EQ_INT(r.def->vectors[0].nblocks, 2);
	done(&r);
	run_text(&r, bad);
	CHECK(r.def == NULL);
	CHECK_STR_CONTAINS(r.text, "x.json: tests[0] (t).blocks: expected either \"blocks\" or "
			   "\"address\" and \"words\", not both");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[0] (t).blocks[1]: unknown field \"x\": expected one of ");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[0] (t).blocks[2]: overlaps blocks[0]");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[1] (u).expect.imp: addresses 0x0048..0x0049 "
			   "are not all inside one of the vector's blocks");
	done(&r);
}

static void load_errors_name_the_vector_and_field(void)
{
	static const char *const text =
		HEAD "\"points\": [\n"
		" {\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint32\",\"unit\":\"Wh\",\"device_class\":\"energy\",\"state_class\":\"total\"},\n"
		" {\"key\":\"h\",\"name\":\"H\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\"},\n"
		" {\"key\":\"s\",\"name\":\"S\",\"table\":\"holding_register\",\"address\":1,\"type\":\"string\",\"length\":1},\n"
		" {\"key\":\"c\",\"name\":\"C\",\"table\":\"coil\",\"address\":0}],\n"
		"\"tests\": [\n"
		" {\"name\":\"v\",\"source\":\"measured on my desk\",\"table\":\"input_register\",\"address\":0,\n"
		"  \"words\":[1],\"expect\":{\"a\":1,\"h\":2,\"nope\":3}},\n"
		" {\"name\":\"v\",\"source\":\"captured:  \",\"table\":\"inputs\",\"address\":70000,\"words\":[],\"expect\":{}},\n"
		" {\"name\":\"w\",\"source\":\"constructed: x\",\"table\":\"holding_register\",\"address\":0,\n"
		"  \"words\":[\"0x10000\",\"zz\"],\"expect\":{\"h\":true,\"s\":5},\"colour\":1},\n"
		" {\"name\":\"x\",\"source\":\"constructed: x\",\"table\":\"input_register\",\"address\":0,\n"
		"  \"words\":[0,1],\"tolerance\":-1,\"expect\":{\"a\":{\"value\":1,\"unit\":\"kWh\"}},\n"
		"  \"invariants\":[{\"equals\":\"a\",\"sum\":[\"a\"],\"product\":[\"a\",\"a\"]}]},\n"
		" {\"name\":\"y\",\"source\":\"constructed: x\",\"table\":\"coil\",\"address\":0,\n"
		"  \"words\":[2],\"expect\":{\"c\":1}}\n"
		"]}\n";
	struct run r;

	run_text(&r, text);
	CHECK(r.def == NULL);
	CHECK_STR_CONTAINS(r.text, "x.json: tests[0] (v).source: expected \"captured: <where "
			   "it was seen>\" or \"constructed: <from what>\", got \"measured on my desk\"");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[0] (v).expect.a: addresses 0x0000..0x0001 "
			   "are not all inside the vector's words (0x0000..0x0000)");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[0] (v).expect.h: the point is a "
			   "holding_register, the vector's words are input_register");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[0] (v).expect.nope: no point with key \"nope\"");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[1].name: duplicate name \"v\" (first used by tests[0])");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[1] (v).source: expected \"captured:");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[1] (v).table: expected one of coil,");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[1] (v).address: expected 0..65535, got 70000");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[1] (v).words: expected an array of 1..2000");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[1] (v).expect: expected at least one point key");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[2] (w).words[0]: expected 0..65535, a number "
			   "or a \"0x..\" string");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[2] (w).words[1]: expected 0..65535");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[2] (w).expect.h: expected a number for a "
			   "uint16 point, or null (unknown)");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[2] (w).expect.s: expected a string for a "
			   "string point");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[2] (w): unknown field \"colour\": expected one of ");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[3] (x).tolerance: expected a number >= 0");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[3] (x).expect.a.unit: the vector expects kWh, "
			   "the point's unit is Wh");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[3] (x).invariants[0]: expected exactly one "
			   "of \"sum\" or \"product\"");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[4] (y).words[0]: expected 0 or 1");
	CHECK_STR_CONTAINS(r.text, "x.json: tests[4] (y).expect.c: expected true or false");
	done(&r);
}

static void tests_block_shape(void)
{
	struct run r;

	run_text(&r, HEAD "\"points\": [{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0}],\n"
		 "\"tests\": {}}\n");
	CHECK(r.def == NULL);
	CHECK_STR_CONTAINS(r.text, "x.json: tests: expected a non-empty array of test vectors");
	done(&r);
	run_text(&r, "{ \"manufacturer\": \"T\", \"model\": \"M\", \"protocol\": \"gpio\",\n"
		 "\"points\": [{\"key\":\"a\",\"name\":\"A\",\"role\":\"input\",\"line\":1}],\n"
		 "\"tests\": [{}]}\n");
	CHECK(r.def == NULL);
	CHECK_STR_CONTAINS(r.text, "x.json: tests: only applies to protocol modbus");
	done(&r);
	run_text(&r, HEAD "\"points\": [{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0}]}\n");
	CHECK(r.def != NULL);
	if (r.def) {
		CHECK_EQ_INT(r.def->nvectors, 0);
		CHECK(!fb_model_point_has_vector(r.def, 0));
	}
	CHECK_EQ_INT(r.rep.vectors, 0);
	done(&r);
	CHECK_EQ_INT(fb_model_run_vectors(NULL, NULL, NULL), 0);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(passing_vectors_are_counted);
	RUN_TEST(a_wrong_scale_fails_with_got_and_expected);
	RUN_TEST(a_wrong_address_fails);
	RUN_TEST(a_wrong_word_order_fails);
	RUN_TEST(invariants_fail_with_both_sides);
	RUN_TEST(blocks_hold_several_replies);
	RUN_TEST(load_errors_name_the_vector_and_field);
	RUN_TEST(tests_block_shape);
	snprintf(path, sizeof(path), "%s/x.json", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return fb_test_finish();
}
