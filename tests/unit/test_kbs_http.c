// SPDX-License-Identifier: Apache-2.0
/*
 * lib/kbs/http_frame.c: the KBS's request framer.  Each attack evhttp
 * would refuse without calling the KBS (oversized body, oversized head,
 * garbage request line, chunked body, bad Content-Length, unknown method,
 * authority-form target, bad Expect) is refused here with its status and
 * code; well-formed pipelined requests pass with their bodies, whatever
 * the pieces the stream arrives in.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sealnet/kbs_http.h"

#define HEAD_MAX 16384
#define BODY_MAX (1u << 20)

struct outcome {
	uint64_t requests; /* heads accepted */
	size_t passed;	   /* bytes that would reach evhttp */
	int status;	   /* 0: not refused */
	char code[24];
};

/* drive the framer as kbs/framing.c does, the stream cut in pieces of
 * `piece` bytes; a head is checked where it lies in the stream */
static struct outcome frame(const char *s, size_t n, size_t piece)
{
	struct sn_kbs_http_framer f;
	struct sn_kbs_http_refusal r;
	struct outcome o = {0};
	size_t off = 0, head_start = 0, end, used;

	sn_kbs_http_framer_init(&f, HEAD_MAX, BODY_MAX);
	while (off < n) {
		end = off + piece < n ? off + piece : n;
		while (off < end) {
			enum sn_kbs_http_step st =
				sn_kbs_http_scan(&f, (const uint8_t *)s + off,
						 end - off, &used, &r);

			assert_true(used <= end - off);
			switch (st) {
			case SN_KBS_HTTP_BODY:
				assert_true(used > 0);
				off += used;
				o.passed = off;
				head_start = off;
				break;
			case SN_KBS_HTTP_MORE:
				off += used;
				break;
			case SN_KBS_HTTP_HEAD:
				off += used;
				assert_int_equal(f.head_len, off - head_start);
				if (sn_kbs_http_head(&f, s + head_start,
						     off - head_start, &r)) {
					o.status = r.status;
					strcpy(o.code, r.code);
					o.requests = f.requests;
					return o;
				}
				o.passed = off;
				head_start = off;
				break;
			case SN_KBS_HTTP_REFUSED:
				o.status = r.status;
				strcpy(o.code, r.code);
				o.requests = f.requests;
				return o;
			}
		}
	}
	o.requests = f.requests;
	return o;
}

static struct outcome frame_all(const char *s, size_t n)
{
	struct outcome whole = frame(s, n, n ? n : 1), o;
	size_t p;

	/* the same verdict however the stream is cut */
	for (p = 1; p < 8; p++) {
		o = frame(s, n, p);
		assert_int_equal(o.requests, whole.requests);
		assert_int_equal(o.passed, whole.passed);
		assert_int_equal(o.status, whole.status);
		assert_string_equal(o.code, whole.code);
	}
	return whole;
}

#define FRAME(lit) frame_all(lit, sizeof(lit) - 1)

static void pipelined_pass(void **state)
{
	static const char s[] =
		"GET /challenge HTTP/1.1\r\nHost: k\r\n\r\n"
		"POST /attest HTTP/1.1\r\nContent-Length: 14\r\n"
		"Expect: 100-continue\r\n\r\n"
		"GET / HTTP/1\r\n" /* a body that looks like a bad head */
		"GET /keys?x=1 HTTP/1.0\nHost:  k \n\n"
		"DELETE /admin/x HTTP/1.1\r\ncontent-length: 0\r\n\r\n";
	struct outcome o = FRAME(s);

	assert_int_equal(o.status, 0);
	assert_int_equal(o.requests, 4);
	assert_int_equal(o.passed, sizeof(s) - 1);
}

static void incomplete_head_held(void **state)
{
	static const char s[] =
		"GET /keys HTTP/1.1\r\n\r\nGET /keys HTTP/1.1\r\n";
	struct outcome o = FRAME(s);

	assert_int_equal(o.status, 0);
	assert_int_equal(o.requests, 1);
	assert_int_equal(o.passed, 22);
}

static void body_over_limit(void **state)
{
	static const char s[] =
		"POST /attest HTTP/1.1\r\nContent-Length: 2097152\r\n\r\nxx";
	static const char at[] =
		"POST /attest HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n";
	struct outcome o = FRAME(s);

	assert_int_equal(o.status, 413);
	assert_string_equal(o.code, "too-large");
	assert_int_equal(o.passed, 0);
	o = FRAME(at); /* the limit itself is allowed */
	assert_int_equal(o.status, 0);
	assert_int_equal(o.requests, 1);
}

static void head_over_limit(void **state)
{
	size_t n = 64 * 1024, i;
	char *s = malloc(n);
	struct outcome o;

	assert_non_null(s);
	strcpy(s, "GET /keys HTTP/1.1\r\n");
	for (i = strlen(s); i + 40 < n; i += 40)
		memcpy(s + i, "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 40);
	memcpy(s + i, "\r\n", 2);
	o = frame_all(s, i + 2);
	assert_int_equal(o.status, 431);
	assert_string_equal(o.code, "headers-too-large");
	/* a line without end counts as much */
	memset(s, 'A', n);
	o = frame_all(s, n);
	assert_int_equal(o.status, 431);
	free(s);
}

static void head_at_limit(void **state)
{
	char *s = malloc(HEAD_MAX + 1);
	size_t pre = strlen("GET /keys HTTP/1.1\r\nX: "), i;
	struct outcome o;

	assert_non_null(s);
	memcpy(s, "GET /keys HTTP/1.1\r\nX: ", pre);
	for (i = pre; i < HEAD_MAX - 4; i++)
		s[i] = 'v';
	memcpy(s + i, "\r\n\r\n", 4);
	o = frame(s, HEAD_MAX, HEAD_MAX);
	assert_int_equal(o.status, 0);
	assert_int_equal(o.requests, 1);
	memmove(s + pre + 1, s + pre, HEAD_MAX - pre);
	o = frame(s, HEAD_MAX + 1, 100);
	assert_int_equal(o.status, 431);
	free(s);
}

static void garbage_request_line(void **state)
{
	struct outcome o = FRAME("\x16\x03\x01 garbage\r\n\r\n");

	assert_int_equal(o.status, 400);
	assert_string_equal(o.code, "bad-request");
	assert_int_equal(FRAME("GET /keys\r\n\r\n").status, 400);
	assert_int_equal(FRAME("GET  /keys HTTP/1.1\r\n\r\n").status, 400);
	assert_int_equal(FRAME("GET /keys HTTP/1.1 \r\n\r\n").status, 400);
	assert_int_equal(FRAME("GET /keys HTTP/2.0\r\n\r\n").status, 400);
	assert_int_equal(FRAME("GET /a b HTTP/1.1\r\n\r\n").status, 400);
	assert_int_equal(FRAME("GET //host/x HTTP/1.1\r\n\r\n").status, 400);
	assert_int_equal(FRAME("GET http://h/x HTTP/1.1\r\n\r\n").status, 400);
	assert_int_equal(FRAME("GET /k\x01 HTTP/1.1\r\n\r\n").status, 400);
	assert_int_equal(FRAME("\r\n").status, 400);
	assert_int_equal(FRAME("G(T /keys HTTP/1.1\r\n\r\n").status, 400);
	o = FRAME("PATCH /keys HTTP/1.1\r\n\r\n");
	assert_int_equal(o.status, 405);
	assert_string_equal(o.code, "bad-method");
	/* a bad request after a good one: the good one passed */
	o = FRAME("GET /keys HTTP/1.1\r\n\r\nBLAH\r\n\r\n");
	assert_int_equal(o.status, 400);
	assert_int_equal(o.requests, 1);
	assert_int_equal(o.passed, 22);
}

static void bad_headers(void **state)
{
	assert_int_equal(FRAME("GET / HTTP/1.1\r\nNoColon\r\n\r\n").status,
			 400);
	assert_int_equal(FRAME("GET / HTTP/1.1\r\n: v\r\n\r\n").status, 400);
	assert_int_equal(FRAME("GET / HTTP/1.1\r\nA B: v\r\n\r\n").status, 400);
	assert_int_equal(
		FRAME("GET / HTTP/1.1\r\nA: v\r\n folded\r\n\r\n").status, 400);
	assert_int_equal(FRAME("GET / HTTP/1.1\r\nA: v\rw\r\n\r\n").status,
			 400);
	assert_int_equal(
		frame_all("GET / HTTP/1.1\r\nA: v\0w\r\n\r\n", 28).status, 400);
	assert_int_equal(FRAME("GET / HTTP/1.1\r\nA: \x80\xff\r\n\r\n").status,
			 0);
}

static void chunked_refused(void **state)
{
	struct outcome o =
		FRAME("POST /attest HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		      "\r\n200000\r\n");

	assert_int_equal(o.status, 411);
	assert_string_equal(o.code, "length-required");
	o = FRAME("POST /attest HTTP/1.1\r\nContent-Length: 5\r\n"
		  "transfer-encoding: gzip\r\n\r\n");
	assert_int_equal(o.status, 411);
}

static void bad_content_length(void **state)
{
	static const char *const bad[] = {
		"12a", "-1", "+5", "", "0x10", "1 2", "99999999999999999999",
	};
	char s[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = snprintf(s, sizeof(s),
				 "POST /attest HTTP/1.1\r\nContent-Length: "
				 "%s\r\n\r\n",
				 bad[i]);
		struct outcome o = frame_all(s, (size_t)n);

		assert_int_equal(o.status, 400);
		assert_string_equal(o.code, "bad-request");
	}
	assert_int_equal(FRAME("POST /a HTTP/1.1\r\nContent-Length: 1\r\n"
			       "Content-Length: 1\r\n\r\nx")
				 .status,
			 400);
	assert_int_equal(
		FRAME("HEAD /keys HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
			.status,
		400);
	/* OWS around the value is fine */
	assert_int_equal(
		FRAME("POST /a HTTP/1.1\r\nContent-Length:\t 1 \r\n\r\nx")
			.requests,
		1);
}

static void bad_expect(void **state)
{
	struct outcome o = FRAME("POST /attest HTTP/1.1\r\nContent-Length: 1"
				 "\r\nExpect: 200-ok\r\n\r\nx");

	assert_int_equal(o.status, 417);
	assert_string_equal(o.code, "bad-expect");
	assert_int_equal(FRAME("POST /attest HTTP/1.1\r\nContent-Length: 1"
			       "\r\nExpect: 100-Continue\r\n\r\nx")
				 .status,
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipelined_pass),
		cmocka_unit_test(incomplete_head_held),
		cmocka_unit_test(body_over_limit),
		cmocka_unit_test(head_over_limit),
		cmocka_unit_test(head_at_limit),
		cmocka_unit_test(garbage_request_line),
		cmocka_unit_test(bad_headers),
		cmocka_unit_test(chunked_refused),
		cmocka_unit_test(bad_content_length),
		cmocka_unit_test(bad_expect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
