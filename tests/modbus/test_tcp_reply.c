/* SPDX-License-Identifier: Apache-2.0 */
/* The driver's own Modbus TCP read path: tcp_adu.c's bytes (request,
 * frame size, reply checks) and tcp_xact.c's I/O against a peer process
 * on a socketpair that answers in pieces, late, with another transaction
 * id, a bad header, an exception, or not at all, or closes the socket. */
#include "testlib.h"
#include "tcp_xact.h"

#include <errno.h>
#include <modbus.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static size_t mbap(uint8_t *b, uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t n)
{
	b[0] = (uint8_t)(tid >> 8);
	b[1] = (uint8_t)tid;
	b[2] = b[3] = 0;
	b[4] = (uint8_t)((n + 1) >> 8);
	b[5] = (uint8_t)(n + 1);
	b[6] = unit;
	memcpy(b + 7, pdu, n);
	return 7 + n;
}

static void test_request_bytes(void)
{
	struct mb_tcp_read r = { .tid = 0x8123, .unit = 7, .fc = 4, .start = 0x0102, .count = 3 };
	const uint8_t want[] = { 0x81, 0x23, 0, 0, 0, 6, 7, 4, 1, 2, 0, 3 };
	uint8_t b[MB_TCP_REQ_READ];

	CHECK_EQ_INT(mb_tcp_read_request(&r, b), 0);
	CHECK(memcmp(b, want, sizeof(want)) == 0);
	CHECK_EQ_INT(mb_tcp_read_reply_size(&r), 7 + 2 + 6);
	r.fc = 6;
	CHECK_EQ_INT(mb_tcp_read_request(&r, b), -1);
	r.fc = 3;
	r.count = 126;
	CHECK_EQ_INT(mb_tcp_read_request(&r, b), -1);
	r.fc = 1;
	CHECK_EQ_INT(mb_tcp_read_request(&r, b), 0);   /* 126 bits are fine */
	CHECK_EQ_INT(mb_tcp_read_reply_size(&r), 7 + 2 + 16);
	r.count = 0;
	CHECK_EQ_INT(mb_tcp_read_request(&r, b), -1);
}

static void test_frame_size(void)
{
	uint8_t b[8] = { 0, 1, 0, 0, 0, 2, 1, 3 };

	CHECK_EQ_INT(mb_tcp_frame_size(b, 5), 0);      /* partial header */
	CHECK_EQ_INT(mb_tcp_frame_size(b, 6), 8);
	b[5] = 1;                                      /* no function code */
	errno = 0;
	CHECK_EQ_INT(mb_tcp_frame_size(b, 6), -1);
	CHECK_EQ_INT(errno, EMBBADDATA);
	b[5] = 254;                                    /* 260 bytes: an ADU */
	CHECK_EQ_INT(mb_tcp_frame_size(b, 6), 260);
	b[5] = 255;
	CHECK_EQ_INT(mb_tcp_frame_size(b, 6), -1);
	b[5] = 2;
	b[3] = 1;                                      /* not Modbus */
	CHECK_EQ_INT(mb_tcp_frame_size(b, 6), -1);
}

static void test_reply_checks(void)
{
	struct mb_tcp_read r = { .tid = 0x8001, .unit = 1, .fc = 3, .start = 0, .count = 2 };
	uint8_t b[MB_TCP_ADU_MAX];
	uint16_t out[16] = { 0 };
	size_t n;

	n = mbap(b, 0x8001, 1, (const uint8_t[]){ 3, 4, 0x12, 0x34, 0xAB, 0xCD }, 6);
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), 0);
	CHECK_EQ_INT(out[0], 0x1234);
	CHECK_EQ_INT(out[1], 0xABCD);
	errno = 0;
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n - 1, out), -1);   /* not the frame's size */
	CHECK_EQ_INT(errno, EMBBADDATA);
	n = mbap(b, 0x8000, 1, (const uint8_t[]){ 3, 4, 0, 1, 0, 2 }, 6);  /* other id */
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), -1);
	CHECK_EQ_INT(errno, EMBBADDATA);
	n = mbap(b, 0x8001, 2, (const uint8_t[]){ 3, 4, 0, 1, 0, 2 }, 6);  /* other unit */
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), -1);
	CHECK_EQ_INT(errno, EMBBADSLAVE);
	n = mbap(b, 0x8001, 1, (const uint8_t[]){ 4, 4, 0, 1, 0, 2 }, 6);  /* other fc */
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), -1);
	CHECK_EQ_INT(errno, EMBBADDATA);
	n = mbap(b, 0x8001, 1, (const uint8_t[]){ 3, 2, 0, 1 }, 4);        /* 1 register */
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), -1);
	CHECK_EQ_INT(errno, EMBBADDATA);
	n = mbap(b, 0x8001, 1, (const uint8_t[]){ 3, 6, 0, 1, 0, 2 }, 6);  /* count lies */
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), -1);
	CHECK_EQ_INT(errno, EMBBADDATA);
	n = mbap(b, 0x8001, 1, (const uint8_t[]){ 0x83, 2 }, 2);
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), -1);
	CHECK_EQ_INT(errno, EMBXILADD);
	n = mbap(b, 0x8001, 1, (const uint8_t[]){ 0x83, 0x40 }, 2);
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), -1);
	CHECK_EQ_INT(errno, EMBBADEXC);
	n = mbap(b, 0x8001, 1, (const uint8_t[]){ 0x83, 2, 0 }, 3);       /* long exception */
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), -1);
	CHECK_EQ_INT(errno, EMBBADDATA);
	/* bits: LSB of the first byte is the first coil */
	r.fc = 1;
	r.count = 10;
	n = mbap(b, 0x8001, 1, (const uint8_t[]){ 1, 2, 0x05, 0x02 }, 4);
	CHECK_EQ_INT(mb_tcp_read_reply(&r, b, n, out), 0);
	CHECK(out[0] == 1 && out[1] == 0 && out[2] == 1 && out[3] == 0 && out[8] == 0 &&
	      out[9] == 1);
}

/* ---- tcp_xact.c against a peer process ---- */

struct piece { const uint8_t *b; size_t n; int pause_ms; };

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The peer reads one request, checks it is req, then sends the pieces
 * (with a pause before each) and closes if `close_after`, else waits to be
 * killed.  Exit status 0 if the request was the expected one. */
static pid_t peer(int fd, const uint8_t *req, const struct piece *p, size_t np,
		  bool close_after)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	uint8_t got[MB_TCP_REQ_READ];
	size_t have = 0;

	while (have < sizeof(got)) {
		ssize_t k = read(fd, got + have, sizeof(got) - have);

		if (k <= 0)
			_exit(2);
		have += (size_t)k;
	}
	for (size_t i = 0; i < np; i++) {
		sleep_ms(p[i].pause_ms);
		if (write(fd, p[i].b, p[i].n) != (ssize_t)p[i].n)
			_exit(3);
	}
	if (close_after) {
		close(fd);
		_exit(memcmp(got, req, sizeof(got)) ? 1 : 0);
	}
	pause();
	_exit(0);
}

/* One transaction against a peer; returns its result, errno in *err. */
static int run(const struct mb_tcp_read *r, const struct piece *p, size_t np,
	       bool close_after, int response_ms, uint16_t *out, int *err)
{
	int sv[2], rc, status = -1;
	uint8_t req[MB_TCP_REQ_READ];
	pid_t pid;

	mb_tcp_read_request(r, req);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -2;
	pid = peer(sv[1], req, p, np, close_after);
	close(sv[1]);
	errno = 0;
	rc = mb_tcp_read_xact(sv[0], r, response_ms, 0, out);
	*err = errno;
	if (!close_after)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (close_after)
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);  /* the request */
	close(sv[0]);
	return rc;
}

static void test_xact(void)
{
	struct mb_tcp_read r = { .tid = 0x8042, .unit = 5, .fc = 4, .start = 10, .count = 2 };
	uint8_t ok[32], other[32], bad[32], exc[32];
	size_t nok = mbap(ok, 0x8042, 5, (const uint8_t[]){ 4, 4, 0, 7, 0, 9 }, 6);
	size_t nother = mbap(other, 0x8041, 5, (const uint8_t[]){ 4, 4, 0, 1, 0, 1 }, 6);
	size_t nexc = mbap(exc, 0x8042, 5, (const uint8_t[]){ 0x84, 2 }, 2);
	uint16_t out[4];
	int err;

	memcpy(bad, ok, nok);
	bad[2] = 1;   /* protocol id 1 */

	/* whole reply at once */
	memset(out, 0, sizeof(out));
	CHECK_EQ_INT(run(&r, (struct piece[]){ { ok, nok, 0 } }, 1, true, 5000, out, &err), 0);
	CHECK(out[0] == 7 && out[1] == 9);
	/* in pieces: part of the header, the rest of the header, the data */
	memset(out, 0, sizeof(out));
	CHECK_EQ_INT(run(&r, (struct piece[]){ { ok, 3, 0 }, { ok + 3, 5, 30 },
					       { ok + 8, nok - 8, 30 } }, 3, true, 5000,
			 out, &err), 0);
	CHECK(out[0] == 7 && out[1] == 9);
	/* one byte at a time */
	struct piece bytes[32];

	for (size_t i = 0; i < nok; i++)
		bytes[i] = (struct piece){ ok + i, 1, 2 };
	memset(out, 0, sizeof(out));
	CHECK_EQ_INT(run(&r, bytes, nok, true, 5000, out, &err), 0);
	CHECK(out[0] == 7 && out[1] == 9);
	/* another transaction's answer */
	CHECK_EQ_INT(run(&r, (struct piece[]){ { other, nother, 0 } }, 1, true, 5000, out, &err),
		     -1);
	CHECK_EQ_INT(err, EMBBADDATA);
	/* not a Modbus TCP header */
	CHECK_EQ_INT(run(&r, (struct piece[]){ { bad, nok, 0 } }, 1, true, 5000, out, &err), -1);
	CHECK_EQ_INT(err, EMBBADDATA);
	/* an exception (shorter than the answer asked for) */
	CHECK_EQ_INT(run(&r, (struct piece[]){ { exc, nexc, 0 } }, 1, false, 5000, out, &err),
		     -1);
	CHECK_EQ_INT(err, EMBXILADD);
	/* no answer: a timeout, not a broken link */
	CHECK_EQ_INT(run(&r, NULL, 0, false, 100, out, &err), -1);
	CHECK_EQ_INT(err, ETIMEDOUT);
	/* half an answer, then silence */
	CHECK_EQ_INT(run(&r, (struct piece[]){ { ok, 9, 0 } }, 1, false, 100, out, &err), -1);
	CHECK_EQ_INT(err, ETIMEDOUT);
	/* the peer closes mid-answer, or without one: the link is gone */
	CHECK_EQ_INT(run(&r, (struct piece[]){ { ok, 9, 0 } }, 1, true, 5000, out, &err), -1);
	CHECK_EQ_INT(err, ECONNRESET);
	CHECK_EQ_INT(run(&r, NULL, 0, true, 5000, out, &err), -1);
	CHECK_EQ_INT(err, ECONNRESET);
	/* no socket */
	errno = 0;
	CHECK_EQ_INT(mb_tcp_read_xact(-1, &r, 100, 0, out), -1);
	CHECK_EQ_INT(errno, ENOTCONN);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN_TEST(test_request_bytes);
	RUN_TEST(test_frame_size);
	RUN_TEST(test_reply_checks);
	RUN_TEST(test_xact);
	return fb_test_finish();
}
