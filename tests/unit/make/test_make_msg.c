// SPDX-License-Identifier: Apache-2.0
/* MAKE message codec: round trips and every malformed case. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sealnet/log.h"
#include "sealnet/make.h"

static struct sn_make_msg m, d;

static uint8_t *enc(const struct sn_make_msg *msg, size_t *len)
{
	uint8_t *buf = NULL;

	assert_int_equal(sn_make_msg_encode(msg, &buf, len), 0);
	return buf;
}

/* encode, decode, re-encode: identical bytes */
static void roundtrip(const struct sn_make_msg *msg)
{
	uint8_t *a, *b;
	size_t la, lb, body;

	a = enc(msg, &la);
	assert_int_equal(sn_make_msg_peek(a, &body), 0);
	assert_int_equal(body + SN_MAKE_HDR_LEN, la);
	assert_int_equal(sn_make_msg_decode(a, la, &d), 0);
	assert_int_equal(d.type, msg->type);
	b = enc(&d, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
}

static void hello(struct sn_make_msg *h)
{
	memset(h, 0, sizeof(*h));
	h->type = SN_MAKE_HELLO;
	h->hello.version = SN_MAKE_VERSION;
	h->hello.role = SN_MAKE_SERVER;
	h->hello.node_id = 0x01020304;
	strcpy(h->hello.name, "node-a.dom_1");
	memset(h->hello.nonce, 0x5a, SN_MAKE_NONCE_LEN);
}

static void test_roundtrip(void **state)
{
	static const uint8_t evid[] = "{\"provider\": \"sealnet_sim\"}";

	hello(&m);
	roundtrip(&m);
	assert_int_equal(d.hello.version, 1);
	assert_int_equal(d.hello.role, SN_MAKE_SERVER);
	assert_int_equal(d.hello.node_id, 0x01020304);
	assert_string_equal(d.hello.name, "node-a.dom_1");
	assert_memory_equal(d.hello.nonce, m.hello.nonce, SN_MAKE_NONCE_LEN);

	memset(&m, 0, sizeof(m));
	m.type = SN_MAKE_EVIDENCE;
	m.evidence.data = evid;
	m.evidence.len = sizeof(evid) - 1;
	roundtrip(&m);
	assert_int_equal(d.evidence.len, sizeof(evid) - 1);

	memset(&m, 0, sizeof(m));
	m.type = SN_MAKE_VERDICT;
	m.verdict.accept = true;
	memset(m.verdict.nonce, 7, SN_MAKE_NONCE_LEN);
	roundtrip(&m);
	assert_true(d.verdict.accept);
	assert_int_equal(d.verdict.n_reasons, 0);

	m.verdict.accept = false;
	m.verdict.n_reasons = SN_MAKE_MAX_REASONS;
	for (size_t i = 0; i < SN_MAKE_MAX_REASONS; i++) {
		m.verdict.reasons[i].code = (uint16_t)i;
		memset(m.verdict.reasons[i].text, 'a' + (int)(i % 26),
		       i == 3 ? SN_MAKE_REASON_MAX : i);
	}
	roundtrip(&m);
	assert_false(d.verdict.accept);
	assert_int_equal(d.verdict.n_reasons, SN_MAKE_MAX_REASONS);
	assert_int_equal(strlen(d.verdict.reasons[3].text),
			 SN_MAKE_REASON_MAX);
	assert_int_equal(d.verdict.reasons[5].code, 5);

	memset(&m, 0, sizeof(m));
	m.type = SN_MAKE_KEYS_READY;
	m.keys_ready.epoch = 0xfffe;
	roundtrip(&m);
	assert_int_equal(d.keys_ready.epoch, 0xfffe);
	m.type = SN_MAKE_REKEY;
	roundtrip(&m);
	assert_int_equal(d.rekey.epoch, 0xfffe);

	memset(&m, 0, sizeof(m));
	m.type = SN_MAKE_ERROR;
	m.error.code = SN_MAKE_E_TIMEOUT;
	memset(m.error.text, 'x', SN_MAKE_ERROR_MAX);
	roundtrip(&m);
	assert_int_equal(d.error.code, SN_MAKE_E_TIMEOUT);
	assert_int_equal(strlen(d.error.text), SN_MAKE_ERROR_MAX);
	m.error.text[0] = '\0';
	roundtrip(&m);
	assert_string_equal(d.error.text, "");
}

/* fixed wire bytes of a HELLO (the layout is the contract) */
static void test_hello_bytes(void **state)
{
	static const uint8_t want_hdr[] = {
		0, 0, 0, 1 + 2 + 1 + 4 + 1 + 1 + 32, /* length */
		SN_MAKE_HELLO, 0, 1,		    /* type, version */
		0,				    /* role client */
		0, 0, 0, 9,			    /* node id */
		1, 'n',				    /* name */
	};
	uint8_t *b;
	size_t len;

	hello(&m);
	m.hello.role = SN_MAKE_CLIENT;
	m.hello.node_id = 9;
	strcpy(m.hello.name, "n");
	b = enc(&m, &len);
	assert_int_equal(len, sizeof(want_hdr) + 32);
	assert_memory_equal(b, want_hdr, sizeof(want_hdr));
	free(b);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void test_short_and_length(void **state)
{
	uint8_t buf[16] = {0}, *b;
	size_t len, body;

	/* too short for a header + type */
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(sn_make_msg_decode(buf, i, &d), -EBADMSG);
	assert_int_equal(sn_make_msg_decode(NULL, 0, &d), -EBADMSG);
	/* length 0 */
	assert_int_equal(sn_make_msg_peek(buf, &body), -EBADMSG);
	buf[4] = SN_MAKE_REKEY;
	assert_int_equal(sn_make_msg_decode(buf, 5, &d), -EBADMSG);
	/* oversized: checked from the header alone */
	put32(buf, SN_MAKE_MAX_MSG + 1);
	assert_int_equal(sn_make_msg_peek(buf, &body), -EMSGSIZE);
	assert_int_equal(sn_make_msg_decode(buf, sizeof(buf), &d), -EMSGSIZE);
	put32(buf, 0xffffffffu);
	assert_int_equal(sn_make_msg_peek(buf, &body), -EMSGSIZE);
	put32(buf, SN_MAKE_MAX_MSG);
	assert_int_equal(sn_make_msg_peek(buf, &body), 0);
	assert_int_equal(body, SN_MAKE_MAX_MSG);

	/* truncated and trailing against the frame's own length */
	memset(&m, 0, sizeof(m));
	m.type = SN_MAKE_REKEY;
	m.rekey.epoch = 2;
	b = enc(&m, &len);
	assert_int_equal(len, 7);
	memcpy(buf, b, len);
	free(b);
	assert_int_equal(sn_make_msg_decode(buf, 6, &d), -EBADMSG);
	assert_int_equal(sn_make_msg_decode(buf, 8, &d), -EBADMSG);
	/* epoch message with a payload of 1 or 3 bytes */
	put32(buf, 2);
	assert_int_equal(sn_make_msg_decode(buf, 6, &d), -EBADMSG);
	put32(buf, 4);
	assert_int_equal(sn_make_msg_decode(buf, 8, &d), -EBADMSG);
	/* epoch 0 */
	put32(buf, 3);
	buf[4] = SN_MAKE_KEYS_READY;
	buf[5] = buf[6] = 0;
	assert_int_equal(sn_make_msg_decode(buf, 7, &d), -EBADMSG);
	/* empty evidence */
	put32(buf, 1);
	buf[4] = SN_MAKE_EVIDENCE;
	assert_int_equal(sn_make_msg_decode(buf, 5, &d), -EBADMSG);

	/* a maximal evidence frame decodes; one more byte does not */
	{
		uint8_t *big = calloc(1, SN_MAKE_HDR_LEN + SN_MAKE_MAX_MSG + 1);

		assert_non_null(big);
		put32(big, SN_MAKE_MAX_MSG);
		big[4] = SN_MAKE_EVIDENCE;
		assert_int_equal(sn_make_msg_decode(big, SN_MAKE_HDR_LEN +
							 SN_MAKE_MAX_MSG,
						    &d),
				 0);
		assert_int_equal(d.evidence.len, SN_MAKE_MAX_MSG - 1);
		put32(big, SN_MAKE_MAX_MSG + 1);
		assert_int_equal(sn_make_msg_decode(big, SN_MAKE_HDR_LEN +
							 SN_MAKE_MAX_MSG + 1,
						    &d),
				 -EMSGSIZE);
		free(big);
	}
}

static void test_unknown_type(void **state)
{
	static const uint8_t types[] = {0, 8, 9, 0x80, 0xff}; /* 7: TOKEN */
	uint8_t buf[7] = {0, 0, 0, 3, 0, 0, 1};

	for (size_t i = 0; i < sizeof(types); i++) {
		buf[4] = types[i];
		assert_int_equal(sn_make_msg_decode(buf, sizeof(buf), &d),
				 -ENOMSG);
	}
	memset(&m, 0, sizeof(m));
	m.type = (enum sn_make_msg_type)8;
	{
		uint8_t *b;
		size_t len;

		assert_int_equal(sn_make_msg_encode(&m, &b, &len), -EINVAL);
	}
}

/* decode b after f(b) modified the encoded HELLO */
static int hello_mut(void (*f)(uint8_t *b, size_t *len))
{
	uint8_t buf[256], *b;
	size_t len;

	hello(&m);
	b = enc(&m, &len);
	memcpy(buf, b, len);
	free(b);
	f(buf, &len);
	return sn_make_msg_decode(buf, len, &d);
}

/* offsets in an encoded HELLO with name "node-a.dom_1" (12) */
#define H_VER  5
#define H_ROLE 7
#define H_ID   8
#define H_NL   12
#define H_NAME 13

static void m_role(uint8_t *b, size_t *l)
{
	b[H_ROLE] = 2;
}
static void m_id0(uint8_t *b, size_t *l)
{
	memset(b + H_ID, 0, 4);
}
static void m_badchar(uint8_t *b, size_t *l)
{
	b[H_NAME + 2] = '/';
}
static void m_ctrl(uint8_t *b, size_t *l)
{
	b[H_NAME] = '\n';
}
static void m_nl_long(uint8_t *b, size_t *l)
{
	b[H_NL]++;
}
static void m_nl_short(uint8_t *b, size_t *l)
{
	b[H_NL]--;
}
static void m_nl_zero(uint8_t *b, size_t *l)
{
	/* name length 0, nonce shifted: total shorter by 12 */
	b[H_NL] = 0;
	memmove(b + H_NAME, b + H_NAME + 12, 32);
	*l -= 12;
	put32(b, (uint32_t)(*l - 4));
}
static void m_trailing(uint8_t *b, size_t *l)
{
	b[*l] = 0;
	(*l)++;
	put32(b, (uint32_t)(*l - 4));
}
static void m_truncated(uint8_t *b, size_t *l)
{
	(*l)--;
	put32(b, (uint32_t)(*l - 4));
}
static void m_version(uint8_t *b, size_t *l)
{
	b[H_VER + 1] = 4; /* the codec passes it; the session refuses */
}

static void test_hello_malformed(void **state)
{
	assert_int_equal(hello_mut(m_role), -EBADMSG);
	assert_int_equal(hello_mut(m_id0), -EBADMSG);
	assert_int_equal(hello_mut(m_badchar), -EBADMSG);
	assert_int_equal(hello_mut(m_ctrl), -EBADMSG);
	assert_int_equal(hello_mut(m_nl_long), -EBADMSG);
	assert_int_equal(hello_mut(m_nl_short), -EBADMSG);
	assert_int_equal(hello_mut(m_nl_zero), -EBADMSG);
	assert_int_equal(hello_mut(m_trailing), -EBADMSG);
	assert_int_equal(hello_mut(m_truncated), -EBADMSG);
	assert_int_equal(hello_mut(m_version), 0);
	assert_int_equal(d.hello.version, 4);

	/* the encoder applies the same rules */
	{
		uint8_t *b;
		size_t len;

		hello(&m);
		m.hello.name[0] = '\0';
		assert_int_equal(sn_make_msg_encode(&m, &b, &len), -EINVAL);
		hello(&m);
		memset(m.hello.name, 'a', SN_MAKE_NAME_MAX + 1);
		assert_int_equal(sn_make_msg_encode(&m, &b, &len), -EINVAL);
		hello(&m);
		m.hello.node_id = 0;
		assert_int_equal(sn_make_msg_encode(&m, &b, &len), -EINVAL);
		hello(&m);
		strcpy(m.hello.name, "a b");
		assert_int_equal(sn_make_msg_encode(&m, &b, &len), -EINVAL);
	}
}

static size_t verdict_buf(uint8_t *buf, bool accept, uint8_t n)
{
	uint8_t *b;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = SN_MAKE_VERDICT;
	m.verdict.accept = accept;
	m.verdict.n_reasons = n;
	for (size_t i = 0; i < n; i++)
		strcpy(m.verdict.reasons[i].text, "measurement-not-allowed");
	b = enc(&m, &len);
	memcpy(buf, b, len);
	free(b);
	return len;
}

static void test_verdict_error_malformed(void **state)
{
	uint8_t buf[1024], *b;
	size_t len;

	/* accept with reasons */
	len = verdict_buf(buf, false, 1);
	buf[5] = 1;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	/* verdict value 2 */
	buf[5] = 2;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	/* count larger than the reasons present */
	len = verdict_buf(buf, false, 2);
	buf[5 + 1 + 32] = 3;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	/* count above the maximum */
	buf[5 + 1 + 32] = SN_MAKE_MAX_REASONS + 1;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	/* fewer reasons than bytes: trailing */
	len = verdict_buf(buf, false, 2);
	buf[5 + 1 + 32] = 1;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	/* reason text length beyond the frame */
	len = verdict_buf(buf, false, 1);
	buf[5 + 1 + 32 + 1 + 2] = 200;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	/* non-printable reason text */
	len = verdict_buf(buf, false, 1);
	buf[5 + 1 + 32 + 1 + 3] = 0x1b;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	/* shorter than the fixed part */
	len = verdict_buf(buf, true, 0);
	put32(buf, (uint32_t)(len - 4 - 1));
	assert_int_equal(sn_make_msg_decode(buf, len - 1, &d), -EBADMSG);

	/* ERROR: text length mismatch, too long, non-printable */
	memset(&m, 0, sizeof(m));
	m.type = SN_MAKE_ERROR;
	m.error.code = 1;
	strcpy(m.error.text, "bad");
	b = enc(&m, &len);
	memcpy(buf, b, len);
	free(b);
	assert_int_equal(sn_make_msg_decode(buf, len, &d), 0);
	buf[8] = 4;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	buf[8] = 2;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	buf[8] = 3;
	buf[9] = 0x7f;
	assert_int_equal(sn_make_msg_decode(buf, len, &d), -EBADMSG);
	/* text length 257 with 257 bytes present */
	memset(buf, 'x', sizeof(buf));
	put32(buf, 1 + 4 + 257);
	buf[4] = SN_MAKE_ERROR;
	buf[5] = 0;
	buf[6] = 1;
	buf[7] = 1;
	buf[8] = 1;
	assert_int_equal(sn_make_msg_decode(buf, 4 + 1 + 4 + 257, &d),
			 -EBADMSG);
	/* ERROR shorter than its fixed part */
	put32(buf, 3);
	assert_int_equal(sn_make_msg_decode(buf, 7, &d), -EBADMSG);
	/* the encoder refuses control characters */
	memset(&m, 0, sizeof(m));
	m.type = SN_MAKE_ERROR;
	strcpy(m.error.text, "a\nb");
	assert_int_equal(sn_make_msg_encode(&m, &b, &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_hello_bytes),
		cmocka_unit_test(test_short_and_length),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_hello_malformed),
		cmocka_unit_test(test_verdict_error_malformed),
	};

	sn_log_set(NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
