/* Transport selection.  Socket mode is libmosquitto's own TCP connection;
 * the websocket bridge plugs in here (see transport.h). */
#include "transport.h"

#include <stdio.h>

static int socket_target(void *ctx, const char **host, int *port, char *err, size_t errlen)
{
	const struct fb_conn_conf *c = ctx; /* borrowed: outlives the transport */

	(void)err;
	(void)errlen;
	*host = c->broker;
	*port = c->port;
	return 0;
}

static size_t no_fds(void *ctx, struct pollfd *pfd, size_t max)
{
	(void)ctx;
	(void)pfd;
	(void)max;
	return 0;
}

static int64_t no_service(void *ctx, struct pollfd *pfd, size_t n, int64_t now_ms)
{
	(void)ctx;
	(void)pfd;
	(void)n;
	(void)now_ms;
	return 0;
}

static const char *no_error(void *ctx)
{
	(void)ctx;
	return NULL;
}

static void socket_close(void *ctx)
{
	(void)ctx;
}

int ex_transport_open(struct ex_transport *t, const struct fb_conn_conf *conn,
		      char *err, size_t errlen)
{
	if (conn->mode == FB_CONN_WEBSOCKET) {
		snprintf(err, errlen, "connection_mode: websocket is not built into this "
			 "fieldbridge-export (expected \"socket\")");
		return -1;
	}
	*t = (struct ex_transport){
		.name = "socket",
		/* The conf pointer itself is the context (see socket_target). */
		.ctx = (void *)conn,
		.target = socket_target,
		.add_fds = no_fds,
		.service = no_service,
		.last_error = no_error,
		.close = socket_close,
	};
	return 0;
}
