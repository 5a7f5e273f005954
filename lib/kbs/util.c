// SPDX-License-Identifier: Apache-2.0
/* lib/kbs: names, paths and base64url (RFC 4648 §5, no padding). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/kbs.h"

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int sn_kbs_name_check(const char *s)
{
	size_t n = s ? strnlen(s, SN_KBS_NAME_MAX) : 0;

	if (!n || n >= SN_KBS_NAME_MAX || s[0] == '.' || s[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return -EINVAL;
	return 0;
}

int sn_kbs_path_check(const char *s)
{
	size_t n = s ? strnlen(s, SN_KBS_PATH_MAX) : 0;
	size_t seg = 0;

	if (!n || n >= SN_KBS_PATH_MAX || s[0] == '/' || s[n - 1] == '/')
		return -EINVAL;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			size_t len = i - seg;

			if (!len || (len == 1 && s[seg] == '.') ||
			    (len == 2 && s[seg] == '.' && s[seg + 1] == '.'))
				return -EINVAL;
			seg = i + 1;
		} else if (!name_char(s[i])) {
			return -EINVAL;
		}
	}
	return 0;
}

static const char b64u[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sn_kbs_b64url_encode(const uint8_t *in, size_t len, char **out)
{
	char *s = malloc(len / 3 * 4 + 5);
	size_t o = 0, i = 0;

	if (!s)
		return -ENOMEM;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];

		s[o++] = b64u[v >> 18 & 63];
		s[o++] = b64u[v >> 12 & 63];
		s[o++] = b64u[v >> 6 & 63];
		s[o++] = b64u[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		s[o++] = b64u[v >> 18 & 63];
		s[o++] = b64u[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		s[o++] = b64u[v >> 18 & 63];
		s[o++] = b64u[v >> 12 & 63];
		s[o++] = b64u[v >> 6 & 63];
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

static int b64u_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int sn_kbs_b64url_decode(const char *in, size_t len, uint8_t **out,
			 size_t *out_len)
{
	uint8_t *b;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (len % 4 == 1)
		return -EINVAL;
	b = malloc(len / 4 * 3 + 3);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int v = b64u_val(in[i]);

		if (v < 0) {
			free(b);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			b[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* the unused low bits must be zero (canonical encoding only) */
	if (acc & ((1u << bits) - 1)) {
		free(b);
		return -EINVAL;
	}
	*out = b;
	*out_len = o;
	return 0;
}

int sn_kbs_b64url_decode_fixed(const char *in, uint8_t *out, size_t n)
{
	uint8_t *b;
	size_t len;
	int err;

	if (!in)
		return -EINVAL;
	err = sn_kbs_b64url_decode(in, strlen(in), &b, &len);
	if (err)
		return err;
	if (len != n) {
		free(b);
		return -EINVAL;
	}
	memcpy(out, b, n);
	free(b);
	return 0;
}
