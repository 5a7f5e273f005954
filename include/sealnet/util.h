/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every part of libsealnet. */
#ifndef SEALNET_UTIL_H
#define SEALNET_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define SN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Hex decode: accepts upper/lower case, ignores ASCII whitespace between
 * byte pairs. Returns the number of bytes written (<= out_cap) or -EINVAL
 * (odd digit count, bad character) / -ENOSPC (out too small).
 */
int sn_hex_decode(const char *in, size_t in_len, uint8_t *out,
		  size_t out_cap);
/* Lowercase hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void sn_hex_encode(const uint8_t *in, size_t len, char *out);

/*
 * Read a whole file (at most max bytes; -EFBIG beyond). *buf is malloc'd
 * and NUL-terminated (not counted in *len). 0 or negative errno.
 */
int sn_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);
/* The same from an open descriptor, to its end (fd stays open). */
int sn_read_fd(int fd, size_t max, uint8_t **buf, size_t *len);

/*
 * A listening address "A.B.C.D:PORT" or "[IPv6]:PORT" (numeric address,
 * port 1..65535) into host (the address without brackets, NUL-terminated)
 * and port.  0 or -EINVAL; outputs written only on success.
 */
int sn_parse_listen(const char *s, char *host, size_t cap, uint16_t *port);

/* Constant-time compare: 0 when equal. */
int sn_memeq_ct(const void *a, const void *b, size_t len);

#endif
