/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: an exporter attaching to a table segment that another
 * process wrote (table_reader.c treats the segment as untrusted input) and
 * reading everything it reads: every point and device, the change journal,
 * the command results and the heartbeat.
 *
 * A real driver's segment (fb_table_create) is made once per process; each
 * input patches a fresh copy of its bytes.  Input: records of
 *   offset (4 bytes, little endian, modulo the segment size), length (1 byte),
 *   that many bytes written at offset,
 * so small inputs reach every field of a segment of a few hundred KiB.
 * Commands are not pushed: on a forged queue mutex each push waits out the
 * lock's timeout (100 ms), and the points' seqlocks are kept even, since an
 * odd one costs a bounded wait: both would leave the fuzzer a few dozen
 * inputs a second, and both have tests of their own (test_table_hostile). */
#include "fuzz_util.h"
#include "clock.h"
#include "table.h"
#include "table-internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPOINTS 5
#define NDEVICES 2

/* The driver's table, kept for the life of the process, in a runtime
 * directory of its own (tables are owner-checked files there). */
static struct {
	char dir[64];
	char instance[128];
	struct fb_table *t;
	uint8_t *seg, *pristine;
	size_t size;
} drv;

static void destroy_table(void)
{
	char lock[160];

	fb_table_destroy(drv.t);
	snprintf(lock, sizeof(lock), "%s.lock", drv.instance);
	unlink(lock);
	unlink(drv.instance);
	rmdir(drv.dir);
}

static void make_table(void)
{
	static const struct fb_device_desc devs[NDEVICES] = { { "meter" }, { "relays" } };
	static const struct fb_point_desc pts[NPOINTS] = {
		{ "meter", "voltage", FB_VALUE_FLOAT }, { "meter", "energy", FB_VALUE_UINT },
		{ "meter", "serial", FB_VALUE_STRING }, { "relays", "relay_1", FB_VALUE_BOOL },
		{ "relays", "mode", FB_VALUE_INT },
	};
	struct fb_command_result res = { .ticket = 1, .point_index = 3,
					 .status = FB_COMMAND_DONE, .event_id = "e1",
					 .origin = "fuzz" };
	struct fb_value v = { .kind = FB_VALUE_FLOAT, .f = 230.1 };
	struct stat st;
	int fd;

	if (drv.t)
		return;
	snprintf(drv.dir, sizeof(drv.dir), "/tmp/fb-fuzz-table.XXXXXX");
	if (!mkdtemp(drv.dir) || chmod(drv.dir, 0750) < 0)
		abort();
	snprintf(drv.instance, sizeof(drv.instance), "%s/fuzz.table", drv.dir);
	drv.t = fb_table_create(drv.instance, devs, NDEVICES, pts, NPOINTS);
	if (!drv.t)
		abort();
	atexit(destroy_table);
	fb_table_point_write(drv.t, 0, &v, FB_QUALITY_OK, fb_now_ms());
	v = (struct fb_value){ .kind = FB_VALUE_STRING, .s = "SN-1" };
	fb_table_point_write(drv.t, 2, &v, FB_QUALITY_OK, fb_now_ms());
	fb_table_device_set_online(drv.t, 0, true);
	fb_table_command_result(drv.t, &res);
	fb_table_heartbeat(drv.t, fb_mono_ms());
	fb_table_notify(drv.t);

	fd = open(drv.instance, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		abort();
	drv.size = (size_t)st.st_size;
	drv.seg = mmap(NULL, drv.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	drv.pristine = malloc(drv.size);
	if (drv.seg == MAP_FAILED || !drv.pristine)
		abort();
	memcpy(drv.pristine, drv.seg, drv.size);
}

static void count_point(void *ctx, uint32_t i)
{
	(void)i;
	(*(size_t *)ctx)++;
}

static void count_result(void *ctx, const struct fb_command_result *res)
{
	(void)res;
	(*(size_t *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_table_reader *r;
	size_t n = 0;

	make_table();
	memcpy(drv.seg, drv.pristine, drv.size);
	while (size >= 5) {
		size_t off = (size_t)(data[0] | data[1] << 8 | data[2] << 16 |
				      (uint32_t)data[3] << 24) % drv.size;
		size_t len = data[4];

		data += 5;
		size -= 5;
		if (len > size)
			len = size;
		if (len > drv.size - off)
			len = drv.size - off;
		memcpy(drv.seg + off, data, len);
		data += len;
		size -= len;
	}
	for (uint32_t i = 0; i < NPOINTS; i++) {
		const struct fb_shm_header *h = (const void *)drv.pristine;
		struct fb_shm_point *pt = (void *)(drv.seg + h->points_off);

		atomic_fetch_and(&pt[i].seq, ~1u);
	}
	r = fb_table_attach(drv.instance);
	if (!r)
		return 0;
	for (uint32_t i = 0; i < fb_table_reader_point_count(r); i++) {
		struct fb_point_snapshot snap;
		char json[512];
		const struct fb_point_desc *pd = fb_table_reader_point(r, i);

		fb_table_reader_read(r, i, &snap);
		fb_value_to_json(&snap.value, json, sizeof(json));
		if (pd)
			fb_table_reader_find(r, pd->device, pd->point);
	}
	for (uint32_t i = 0; i < fb_table_reader_device_count(r); i++) {
		const struct fb_device_desc *dd = fb_table_reader_device(r, i);

		fb_table_reader_device_online(r, i);
		if (dd)
			fb_table_reader_find_device(r, dd->device);
	}
	fb_table_reader_changes(r, count_point, count_point, &n);
	fb_table_reader_results(r, "fuzz", count_result, &n);
	fb_table_reader_heartbeat_age_ms(r, fb_mono_ms());
	fb_table_reader_superseded(r);
	fb_table_reader_generation(r);
	fb_table_detach(r);
	return 0;
}
