// SPDX-License-Identifier: Apache-2.0
/* Hex codec, whole-file reads, constant-time compare. */
#include <errno.h>
#include <stdbool.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "sealnet/util.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

int sn_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap)
{
	size_t i = 0, n = 0;

	while (i < in_len) {
		int hi, lo;

		if (is_space((unsigned char)in[i])) {
			i++;
			continue;
		}
		if (i + 1 >= in_len)
			return -EINVAL;
		hi = hexval((unsigned char)in[i]);
		lo = hexval((unsigned char)in[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (n >= out_cap)
			return -ENOSPC;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return (int)n;
}

void sn_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int sn_read_fd(int fd, size_t max, uint8_t **buf, size_t *len)
{
	uint8_t *data = NULL;
	size_t cap = 0, n = 0;
	int err;

	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *p;

			if (ncap > max + 2)
				ncap = max + 2;
			if (ncap <= n + 1) {
				err = -EFBIG;
				goto fail;
			}
			p = realloc(data, ncap);
			if (!p) {
				err = -ENOMEM;
				goto fail;
			}
			data = p;
			cap = ncap;
		}
		r = read(fd, data + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			err = -EFBIG;
			goto fail;
		}
	}
	if (!data) {
		data = malloc(1);
		if (!data)
			return -ENOMEM;
	}
	data[n] = '\0';
	*buf = data;
	*len = n;
	return 0;
fail:
	free(data);
	return err;
}

int sn_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = sn_read_fd(fd, max, buf, len);
	close(fd);
	return err;
}

int sn_memeq_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) != 0;
}

int sn_parse_listen(const char *s, char *host, size_t cap, uint16_t *port)
{
	const char *colon, *h = s, *he;
	char tmp[INET6_ADDRSTRLEN], *end;
	unsigned char bin[16];
	unsigned long p;
	bool v6 = *s == '[';

	if (v6) {
		h = s + 1;
		he = strchr(h, ']');
		if (!he || he[1] != ':')
			return -EINVAL;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;
		he = colon;
	}
	if (he == h || (size_t)(he - h) >= sizeof(tmp) ||
	    (size_t)(he - h) >= cap)
		return -EINVAL;
	memcpy(tmp, h, (size_t)(he - h));
	tmp[he - h] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, tmp, bin) != 1)
		return -EINVAL;
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || p == 0 || p > 65535)
		return -EINVAL;
	memcpy(host, tmp, (size_t)(he - h) + 1);
	*port = (uint16_t)p;
	return 0;
}
