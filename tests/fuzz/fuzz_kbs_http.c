// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the KBS's request framer (lib/kbs/http_frame.c) as kbs/framing.c
 * drives it, with small limits so that both are reached.  The first byte
 * sets the size of the pieces the rest arrives in.  Checked: the framer
 * takes at most what it is given and always makes progress; a head it
 * reports is at most head_max bytes and ends with an empty line; the
 * verdict (requests accepted, bytes passed, refusal) does not depend on
 * how the stream is cut; a refusal carries a known status and code and a
 * printable message; what passes as a head is a well-formed request line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/kbs_http.h"

#define HEAD_MAX 512
#define BODY_MAX 1024

struct verdict {
	uint64_t requests;
	size_t passed;
	int status;
	char code[24];
};

static void check_refusal(const struct sn_kbs_http_refusal *r)
{
	static const int ok[] = {400, 405, 411, 413, 417, 431};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (r->status == ok[i])
			break;
	if (i == sizeof(ok) / sizeof(ok[0]) || !r->code[0] || !r->msg[0])
		abort();
	for (i = 0; r->msg[i]; i++)
		if (r->msg[i] < 0x20 || r->msg[i] > 0x7e)
			abort();
}

static struct verdict run(const uint8_t *s, size_t n, size_t piece)
{
	struct sn_kbs_http_framer f;
	struct sn_kbs_http_refusal r;
	struct verdict v = {0};
	size_t off = 0, head_start = 0, end, used;

	sn_kbs_http_framer_init(&f, HEAD_MAX, BODY_MAX);
	while (off < n) {
		end = off + piece < n ? off + piece : n;
		while (off < end) {
			enum sn_kbs_http_step st = sn_kbs_http_scan(
				&f, s + off, end - off, &used, &r);

			if (used > end - off)
				abort();
			switch (st) {
			case SN_KBS_HTTP_BODY:
				if (!used)
					abort();
				off += used;
				v.passed = head_start = off;
				break;
			case SN_KBS_HTTP_MORE:
				if (used != end - off)
					abort();
				off += used;
				break;
			case SN_KBS_HTTP_HEAD:
				off += used;
				if (f.head_len != off - head_start ||
				    f.head_len > HEAD_MAX || s[off - 1] != '\n')
					abort();
				if (sn_kbs_http_head(
					    &f, (const char *)s + head_start,
					    off - head_start, &r)) {
					check_refusal(&r);
					goto refused;
				}
				/* "M /t HTTP/1.x" at least */
				if (off - head_start < 15 ||
				    s[head_start] < 'A' || s[head_start] > 'Z')
					abort();
				v.passed = head_start = off;
				break;
			case SN_KBS_HTTP_REFUSED:
				check_refusal(&r);
				if (r.status != 431)
					abort();
				goto refused;
			}
		}
	}
	v.requests = f.requests;
	return v;
refused:
	v.requests = f.requests;
	v.status = r.status;
	memcpy(v.code, r.code, sizeof(v.code));
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict a, b;

	if (!size)
		return 0;
	a = run(data + 1, size - 1, size);
	b = run(data + 1, size - 1, 1 + data[0] % 64);
	if (a.requests != b.requests || a.passed != b.passed ||
	    a.status != b.status || strcmp(a.code, b.code))
		abort();
	return 0;
}
