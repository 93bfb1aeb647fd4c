/* SPDX-License-Identifier: Apache-2.0 */
/* One request answered from the state table.  A read never reaches the
 * bus: every word comes from the raw words the driver stored with the
 * point, so a client decodes exactly what the device would have sent.
 * A write (writes: forward) becomes one command per point it covers,
 * queued with the server user's rights; the reply waits for the driver's
 * results, which it publishes after its read-back. */
#include "mbserver-internal.h"
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Why an address cannot be answered, as the exception a client gets. */
static uint8_t word_at(struct mbs_answer_ctx *a, const struct mbs_device *d,
		       const struct fb_table_reader *r, int table, uint16_t address,
		       const struct mbs_span **last, struct fb_point_snapshot *snap,
		       uint16_t *word)
{
	const struct mbs_span *sp = mbs_map_find(a->map, d, table, address);
	long ti;

	if (!sp || d->access[sp->point] < FB_ACCESS_READ)
		return MBS_EX_ILLEGAL_ADDRESS; /* nothing polls it (for this user) */
	ti = d->tindex[sp->point];
	if (!r || ti < 0)
		return MBS_EX_PATH_UNAVAILABLE; /* no driver serves the bus now */
	if (sp != *last) {
		/* One seqlock read per point: its words stay one consistent set. */
		fb_table_reader_read(r, (uint32_t)ti, snap);
		*last = sp;
	}
	if (snap->nraw < sp->width)
		return MBS_EX_TARGET_FAILED; /* never answered */
	if (snap->quality != FB_QUALITY_OK && a->conf->stale != FB_MBS_STALE_LAST)
		return MBS_EX_TARGET_FAILED;
	*word = snap->raw[address - sp->start];
	return MBS_EX_NONE;
}

static size_t answer_read(struct mbs_answer_ctx *a, const struct mbs_request *req,
			  const struct mbs_device *d, const struct fb_table_reader *r,
			  uint8_t *out)
{
	uint8_t pdu[2 + 250];
	int table = mbs_mbap_table(req->fc);
	bool bits = table == FB_REG_COIL || table == FB_REG_DISCRETE_INPUT;
	const struct mbs_span *last = NULL;
	struct fb_point_snapshot snap;
	size_t nbytes = bits ? (req->count + 7u) / 8u : 2u * req->count;

	memset(pdu, 0, sizeof(pdu));
	pdu[0] = req->fc;
	pdu[1] = (uint8_t)nbytes;
	for (uint16_t i = 0; i < req->count; i++) {
		uint16_t w = 0;
		uint8_t ex = word_at(a, d, r, table, (uint16_t)(req->address + i), &last, &snap, &w);

		if (ex)
			return mbs_mbap_exception(req, ex, out);
		if (bits) {
			if (w)
				pdu[2 + i / 8] |= (uint8_t)(1u << (i % 8));
		} else {
			pdu[2 + 2 * i] = (uint8_t)(w >> 8);
			pdu[3 + 2 * i] = (uint8_t)w;
		}
	}
	return mbs_mbap_reply(req, pdu, 2 + nbytes, out);
}

static bool out_of_range(const struct fb_point_def *p, const struct fb_value *v)
{
	double x;

	if (v->kind != FB_VALUE_INT && v->kind != FB_VALUE_UINT && v->kind != FB_VALUE_FLOAT)
		return false;
	x = v->kind == FB_VALUE_INT ? (double)v->i : v->kind == FB_VALUE_UINT ? (double)v->u : v->f;
	return x != x || (p->has_min && x < p->min) || (p->has_max && x > p->max);
}

/* The commands a write stands for: it must cover whole writable points. */
static size_t answer_write(struct mbs_answer_ctx *a, const struct mbs_request *req,
			   const struct mbs_device *d, struct fb_table_reader *r,
			   uint8_t *out, struct mbs_pending *pending, int64_t mono_ms)
{
	struct fb_command cmds[MBS_WRITE_POINTS_MAX];
	int table = mbs_mbap_table(req->fc);
	size_t n = 0;

	if (a->conf->writes != FB_MBS_WRITES_FORWARD)
		return mbs_mbap_exception(req, MBS_EX_ILLEGAL_FUNCTION, out);
	for (uint32_t i = 0; i < req->count;) {
		uint16_t address = (uint16_t)(req->address + i);
		const struct mbs_span *sp = mbs_map_find(a->map, d, table, address);
		const struct fb_point_def *p;

		if (!sp || sp->start != address || i + sp->width > req->count ||
		    n == MBS_WRITE_POINTS_MAX)
			return mbs_mbap_exception(req, MBS_EX_ILLEGAL_ADDRESS, out);
		p = &d->conf->def->points[sp->point];
		if ((!p->writable && p->component != FB_COMP_BUTTON) || p->type == FB_TYPE_BIT ||
		    d->access[sp->point] < FB_ACCESS_READ)
			return mbs_mbap_exception(req, MBS_EX_ILLEGAL_ADDRESS, out);
		/* Readable but not writable for this user: the function is
		 * not allowed here. */
		if (d->access[sp->point] != FB_ACCESS_WRITE)
			return mbs_mbap_exception(req, MBS_EX_ILLEGAL_FUNCTION, out);
		if (!r || d->tindex[sp->point] < 0)
			return mbs_mbap_exception(req, MBS_EX_PATH_UNAVAILABLE, out);
		memset(&cmds[n], 0, sizeof(cmds[n]));
		if (fb_codec_decode(p, &req->values[i], &cmds[n].value) < 0 ||
		    cmds[n].value.kind == FB_VALUE_NONE)
			return mbs_mbap_exception(req, MBS_EX_ILLEGAL_VALUE, out);
		/* The point's range, as Home Assistant's commands are held to. */
		if (out_of_range(p, &cmds[n].value))
			return mbs_mbap_exception(req, MBS_EX_ILLEGAL_VALUE, out);
		cmds[n].point_index = (uint32_t)d->tindex[sp->point];
		n++;
		i += sp->width;
	}
	memset(pending, 0, sizeof(*pending));
	pending->bus = d->bus;
	pending->deadline_ms = mono_ms + MBS_WRITE_TIMEOUT_MS;
	for (size_t k = 0; k < n; k++) {
		snprintf(cmds[k].event_id, sizeof(cmds[k].event_id), "mbs-%ld-%llu",
			 (long)getpid(), (unsigned long long)++a->next_event);
		snprintf(cmds[k].origin, sizeof(cmds[k].origin), "%s", a->origin);
		cmds[k].ts_ms = fb_now_ms();
		/* Commands already queued still run: the reply says 04, which
		 * a client must take as "state unknown, read it again". */
		if (fb_table_command_push(r, &cmds[k]) < 0)
			return mbs_mbap_exception(req, MBS_EX_DEVICE_FAILURE, out);
		pending->tickets[pending->ntickets++] = cmds[k].ticket;
	}
	return 0;
}

size_t mbs_answer(struct mbs_answer_ctx *a, const struct mbs_request *req, uint8_t *out,
		  struct mbs_pending *pending, int64_t mono_ms)
{
	const struct mbs_device *d;
	struct fb_table_reader *r;

	if (req->exception)
		return mbs_mbap_exception(req, req->exception, out);
	d = mbs_map_unit(a->map, req->unit);
	if (!d)
		return mbs_mbap_exception(req, MBS_EX_PATH_UNAVAILABLE, out);
	r = fb_table_follower_alive(a->map->buses[d->bus].follower)
		    ? fb_table_follower_reader(a->map->buses[d->bus].follower) : NULL;
	switch (req->fc) {
	case MBS_FC_READ_COILS:
	case MBS_FC_READ_DISCRETE:
	case MBS_FC_READ_HOLDING:
	case MBS_FC_READ_INPUT:
		return answer_read(a, req, d, r, out);
	default:
		return answer_write(a, req, d, r, out, pending, mono_ms);
	}
}

size_t mbs_answer_write_done(const struct mbs_request *req, const struct mbs_pending *p,
			     uint8_t *out)
{
	uint8_t pdu[5];
	uint16_t v;

	if (p->failed || p->ndone < p->ntickets)
		return mbs_mbap_exception(req, MBS_EX_DEVICE_FAILURE, out);
	/* The normal reply echoes address and value (05/06) or count (0F/10). */
	v = req->fc == MBS_FC_WRITE_COIL ? (req->values[0] ? 0xFF00 : 0x0000)
	  : req->fc == MBS_FC_WRITE_REGISTER ? req->values[0] : req->count;
	pdu[0] = req->fc;
	pdu[1] = (uint8_t)(req->address >> 8);
	pdu[2] = (uint8_t)req->address;
	pdu[3] = (uint8_t)(v >> 8);
	pdu[4] = (uint8_t)v;
	return mbs_mbap_reply(req, pdu, sizeof(pdu), out);
}
