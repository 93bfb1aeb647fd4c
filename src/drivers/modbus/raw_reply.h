/* SPDX-License-Identifier: Apache-2.0 */
/* The answer to a button's raw request (raw_request.c), as bytes
 * received from another process or device: how long a Modbus TCP answer
 * is (its MBAP header says so) and whether a complete answer answers the
 * request.  No I/O, so the fuzz target fuzz_raw_reply drives it. */
#ifndef FB_MODBUS_RAW_REPLY_H
#define FB_MODBUS_RAW_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB_RAW_REPLY_MAX 260      /* MODBUS_MAX_ADU_LENGTH */
#define MB_RAW_TCP_HEAD 8         /* MBAP header and function code */
#define MB_RAW_RTU_MIN 4          /* unit, function code, CRC */

/* The whole answer's size from its first MB_RAW_TCP_HEAD bytes, or 0 with
 * errno EMBBADDATA: not Modbus (protocol id not 0), a length that holds
 * no function code, or more than an ADU. */
size_t mb_raw_reply_tcp_size(const uint8_t *head);

/* 1 if rsp[0..n) (a whole TCP answer, or an RTU frame up to the silence
 * after it) answers function `fc` sent to `unit`; -1 with errno
 * EMBBADCRC, EMBBADSLAVE (another unit), EMBBADDATA (another function,
 * too short) or MODBUS_ENOBASE + the device's exception code. */
int mb_raw_reply_check(const uint8_t *rsp, size_t n, bool rtu, int unit, uint8_t fc);

#endif
