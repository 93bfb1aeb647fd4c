/* SPDX-License-Identifier: Apache-2.0 */
/* Modbus TCP read transactions as bytes, no I/O: the request ADU a poll
 * read sends, how long a received frame is (its MBAP header says so) and
 * whether a complete frame is the reply to that request.  tcp_xact.c does
 * the socket I/O around it; the fuzz target fuzz_tcp_reply drives this
 * with untrusted bytes.  Errors are libmodbus's errno values, so xact.c
 * treats this path like libmodbus's (exceptions, resync, reconnect). */
#ifndef FB_MODBUS_TCP_ADU_H
#define FB_MODBUS_TCP_ADU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB_TCP_MBAP 7             /* transaction, protocol, length, unit */
#define MB_TCP_REQ_READ 12        /* MBAP + fc + start + count */
#define MB_TCP_ADU_MAX 260        /* MODBUS_TCP_MAX_ADU_LENGTH */

/* One read: FC01/02 (bits, up to 2000) or FC03/04 (registers, up to 125). */
struct mb_tcp_read {
	uint16_t tid;             /* transaction id sent */
	uint8_t unit, fc;
	uint16_t start, count;
};

/* Fills out[MB_TCP_REQ_READ] with the request; -1 with errno EINVAL for a
 * function that is not a read or a count the function cannot carry. */
int mb_tcp_read_request(const struct mb_tcp_read *r, uint8_t *out);

/* The size of the whole reply when it is a normal answer (an exception is
 * shorter): what to ask the first recv() for. */
size_t mb_tcp_read_reply_size(const struct mb_tcp_read *r);

/* The size of the frame starting at buf[0..n): 0 while fewer than 6 bytes
 * are there, -1 with errno EMBBADDATA if it cannot be a Modbus TCP frame
 * (protocol id not 0, a length without unit and function code, more than
 * an ADU), else 8..MB_TCP_ADU_MAX. */
int mb_tcp_frame_size(const uint8_t *buf, size_t n);

/* Checks the complete frame rsp[0..n) (n == its mb_tcp_frame_size) against
 * the request.  0: the answer, r->count values in out (registers, or one
 * 0/1 per bit).  -1 with errno: EMBBADDATA (another transaction id, another
 * function, a byte count that is not the request's), EMBBADSLAVE (another
 * unit), MODBUS_ENOBASE + code (the device's exception) or EMBBADEXC (an
 * exception code that does not exist). */
int mb_tcp_read_reply(const struct mb_tcp_read *r, const uint8_t *rsp, size_t n,
		      uint16_t *out);

#endif
