// SPDX-License-Identifier: Apache-2.0
/* base64 / base64url codec (configfs-tsm JSON blobs, wire format). */
#include <errno.h>
#include <stdlib.h>

#include "formats.h"

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

/* Accepts both alphabets, optional '=' padding, ignores whitespace. */
int sn_b64_decode(const char *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	uint8_t *buf;
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;
	bool pad = false;

	buf = malloc(in_len / 4 * 3 + 3);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < in_len; i++) {
		int c = (unsigned char)in[i], v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		v = b64val(c);
		if (v < 0 || pad) {
			free(buf);
			return -EINVAL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits >= 6) { /* a lone trailing character is not valid */
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

int sn_b64url_encode(const uint8_t *in, size_t len, char **out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
				 "tuvwxyz0123456789-_";
	char *s = malloc((len + 2) / 3 * 4 + 1);
	size_t n = 0, i;

	if (!s)
		return -ENOMEM;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | in[i + 1] << 8 | in[i + 2];

		s[n++] = al[v >> 18 & 63];
		s[n++] = al[v >> 12 & 63];
		s[n++] = al[v >> 6 & 63];
		s[n++] = al[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		s[n++] = al[v >> 18 & 63];
		s[n++] = al[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | in[i + 1] << 8;

		s[n++] = al[v >> 18 & 63];
		s[n++] = al[v >> 12 & 63];
		s[n++] = al[v >> 6 & 63];
	}
	s[n] = '\0';
	*out = s;
	return 0;
}
