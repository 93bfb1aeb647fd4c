/* SPDX-License-Identifier: Apache-2.0 */
/* One Modbus TCP read on a connected socket, without libmodbus: libmodbus
 * spends about 7 syscalls per read (select before every piece it reads,
 * the header and the rest apart); this sends the request with one send()
 * and reads the reply with one poll() and one recv() when it has arrived
 * whole.  The bytes are checked by tcp_adu.c. */
#ifndef FB_MODBUS_TCP_XACT_H
#define FB_MODBUS_TCP_XACT_H

#include "tcp_adu.h"

/* Sends r on fd and receives its reply: response_ms for the first bytes,
 * then byte_ms (response_ms if <= 0) for each further piece.  0 with
 * r->count values in out, or -1 with errno: ETIMEDOUT, ECONNRESET (the
 * peer closed), a socket error (EPIPE, ...), or tcp_adu.h's reply errors.
 * A refused frame is read whole first (xact.c then drains what follows). */
int mb_tcp_read_xact(int fd, const struct mb_tcp_read *r, int response_ms, int byte_ms,
		     uint16_t *out);

#endif
