/* SPDX-License-Identifier: Apache-2.0 */
/* The offline check of a connection's TLS files, in a library of its own
 * because it needs a TLS library: a program that never opens TLS (the
 * drivers) maps none.  fb_config_tls checks through OpenSSL,
 * fb_config_tls_gnutls through GnuTLS (the web daemon), with the same
 * messages (config_tls_pem.h).  Callers pass it to fb_config_check as
 * checks->tls. */
#ifndef FB_CONFIG_TLS_H
#define FB_CONFIG_TLS_H

#include "config.h"

/* Adds every problem of cc's TLS files (none when ssl is off): not PEM, a
 * key that does not open with its password or does not match the client
 * certificate (errors), an expired certificate (warning). */
void fb_config_tls_check(const struct fb_conn_conf *cc, struct fb_diag *diag);

#endif
