// SPDX-License-Identifier: Apache-2.0
/*
 * MAKE framed message codec (docs/protocol.md §2).  Frame: u32 BE length
 * (type + payload, 1..SN_MAKE_MAX_MSG) | u8 type | payload.  Every type
 * has an exact layout; lengths are checked per type before any field is
 * read, and nothing may trail the last field.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sealnet/log.h"

/* fixed parts of the payloads */
#define HELLO_FIXED   (2 + 1 + 4 + 1 + SN_MAKE_NONCE_LEN)
#define VERDICT_FIXED (1 + SN_MAKE_NONCE_LEN + 1)
#define ERROR_FIXED   (2 + 2)

const char *sn_make_msg_type_name(int type)
{
	switch (type) {
	case SN_MAKE_HELLO:
		return "HELLO";
	case SN_MAKE_EVIDENCE:
		return "EVIDENCE";
	case SN_MAKE_VERDICT:
		return "VERDICT";
	case SN_MAKE_KEYS_READY:
		return "KEYS_READY";
	case SN_MAKE_REKEY:
		return "REKEY";
	case SN_MAKE_ERROR:
		return "ERROR";
	case SN_MAKE_TOKEN:
		return "TOKEN";
	}
	return "unknown";
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool sn_make_name_ok(const char *s, size_t len)
{
	if (len < 1 || len > SN_MAKE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok(s[i]))
			return false;
	return true;
}

static bool text_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

void sn_make_printable(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

/* --- reading ------------------------------------------------------------ */

struct rd {
	const uint8_t *p;
	size_t left;
};

static bool rd_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->left--;
	return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
	if (r->left < 2)
		return false;
	*v = (uint16_t)((r->p[0] << 8) | r->p[1]);
	r->p += 2;
	r->left -= 2;
	return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	     (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return true;
}

static bool rd_bytes(struct rd *r, void *out, size_t n)
{
	if (r->left < n)
		return false;
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

int sn_make_msg_peek(const uint8_t hdr[SN_MAKE_HDR_LEN], size_t *body_len)
{
	uint32_t l = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		     (uint32_t)hdr[2] << 8 | hdr[3];

	if (l == 0)
		return -EBADMSG;
	if (l > SN_MAKE_MAX_MSG)
		return -EMSGSIZE;
	*body_len = l;
	return 0;
}

static int bad(const char *what)
{
	sn_dbg("make: malformed message: %s", what);
	return -EBADMSG;
}

static int dec_hello(struct rd *r, struct sn_make_msg *m)
{
	uint8_t nl;

	size_t v2, v3;

	if (r->left < HELLO_FIXED + 1 ||
	    r->left > HELLO_FIXED + SN_MAKE_NAME_MAX + 1 + SN_MAKE_CONFIRM_LEN)
		return bad("HELLO length");
	rd_u16(r, &m->hello.version);
	/* version 2 appends the accept byte, version 3 the accept byte and
	 * the workflow confirmation; other versions are v1's layout (the
	 * session refuses them) */
	v3 = m->hello.version == SN_MAKE_VERSION_WORKFLOW;
	v2 = v3 || m->hello.version == SN_MAKE_VERSION_TOKEN;
	rd_u8(r, &m->hello.role);
	rd_u32(r, &m->hello.node_id);
	rd_u8(r, &nl);
	if (m->hello.role > SN_MAKE_SERVER)
		return bad("HELLO role");
	if (m->hello.node_id == 0)
		return bad("HELLO node id 0");
	if (r->left !=
	    (size_t)nl + SN_MAKE_NONCE_LEN + v2 + v3 * SN_MAKE_CONFIRM_LEN)
		return bad("HELLO name length");
	if (!sn_make_name_ok((const char *)r->p, nl))
		return bad("HELLO name");
	rd_bytes(r, m->hello.name, nl);
	m->hello.name[nl] = '\0';
	rd_bytes(r, m->hello.nonce, SN_MAKE_NONCE_LEN);
	m->hello.accept = SN_MAKE_ACCEPT_EVIDENCE;
	if (v2) {
		rd_u8(r, &m->hello.accept);
		if (m->hello.accept < SN_MAKE_ACCEPT_EVIDENCE ||
		    m->hello.accept > SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE)
			return bad("HELLO accept");
	}
	if (v3)
		rd_bytes(r, m->hello.confirm, SN_MAKE_CONFIRM_LEN);
	return 0;
}

static int dec_verdict(struct rd *r, struct sn_make_msg *m)
{
	uint8_t v, n;

	if (r->left < VERDICT_FIXED)
		return bad("VERDICT length");
	rd_u8(r, &v);
	rd_bytes(r, m->verdict.nonce, SN_MAKE_NONCE_LEN);
	rd_u8(r, &n);
	if (v > 1)
		return bad("VERDICT value");
	if (n > SN_MAKE_MAX_REASONS)
		return bad("VERDICT reason count");
	if (v == 1 && n)
		return bad("VERDICT accept with reasons");
	m->verdict.accept = v == 1;
	m->verdict.n_reasons = n;
	for (size_t i = 0; i < n; i++) {
		struct sn_make_reason *re = &m->verdict.reasons[i];
		uint8_t tl;

		if (!rd_u16(r, &re->code) || !rd_u8(r, &tl))
			return bad("VERDICT reason truncated");
		if (r->left < tl || !text_ok((const char *)r->p, tl))
			return bad("VERDICT reason text");
		rd_bytes(r, re->text, tl);
		re->text[tl] = '\0';
	}
	if (r->left)
		return bad("VERDICT trailing bytes");
	return 0;
}

/* a compact JWS: base64url parts and dots */
static bool token_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok(s[i]))
			return false;
	return len > 0 && len <= SN_MAKE_TOKEN_MAX;
}

static int dec_error(struct rd *r, struct sn_make_msg *m)
{
	uint16_t tl;

	if (r->left < ERROR_FIXED)
		return bad("ERROR length");
	rd_u16(r, &m->error.code);
	rd_u16(r, &tl);
	if (tl > SN_MAKE_ERROR_MAX || r->left != tl)
		return bad("ERROR text length");
	if (!text_ok((const char *)r->p, tl))
		return bad("ERROR text");
	rd_bytes(r, m->error.text, tl);
	m->error.text[tl] = '\0';
	return 0;
}

int sn_make_msg_decode(const uint8_t *buf, size_t len,
		       struct sn_make_msg *out)
{
	struct sn_make_msg *m;
	struct rd r;
	size_t body;
	uint8_t type;
	int err;

	if (!buf || len < SN_MAKE_HDR_LEN + 1)
		return bad("short frame");
	err = sn_make_msg_peek(buf, &body);
	if (err)
		return err == -EMSGSIZE ? err : bad("zero length");
	if (len != SN_MAKE_HDR_LEN + body)
		return bad(len < SN_MAKE_HDR_LEN + body ? "truncated frame"
							: "trailing bytes");
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	r.p = buf + SN_MAKE_HDR_LEN;
	r.left = body;
	rd_u8(&r, &type);
	m->type = (enum sn_make_msg_type)type;
	switch (type) {
	case SN_MAKE_HELLO:
		err = dec_hello(&r, m);
		break;
	case SN_MAKE_EVIDENCE:
		if (!r.left) {
			err = bad("EVIDENCE empty");
			break;
		}
		m->evidence.data = r.p;
		m->evidence.len = r.left;
		err = 0;
		break;
	case SN_MAKE_VERDICT:
		err = dec_verdict(&r, m);
		break;
	case SN_MAKE_KEYS_READY:
	case SN_MAKE_REKEY:
		if (r.left != 2) {
			err = bad("epoch message length");
			break;
		}
		/* keys_ready and rekey share the layout */
		rd_u16(&r, &m->rekey.epoch);
		err = m->rekey.epoch ? 0 : bad("epoch 0");
		break;
	case SN_MAKE_ERROR:
		err = dec_error(&r, m);
		break;
	case SN_MAKE_TOKEN:
		if (!token_ok((const char *)r.p, r.left)) {
			err = bad("TOKEN length or characters");
			break;
		}
		m->token.data = (const char *)r.p;
		m->token.len = r.left;
		err = 0;
		break;
	default:
		sn_dbg("make: unknown message type %u", type);
		err = -ENOMSG;
		break;
	}
	if (!err)
		memcpy(out, m, sizeof(*m));
	free(m);
	return err;
}

/* --- writing ------------------------------------------------------------ */

struct wr {
	uint8_t *p;
	size_t off;
};

static void wr_u8(struct wr *w, uint8_t v)
{
	w->p[w->off++] = v;
}

static void wr_u16(struct wr *w, uint16_t v)
{
	w->p[w->off++] = (uint8_t)(v >> 8);
	w->p[w->off++] = (uint8_t)v;
}

static void wr_u32(struct wr *w, uint32_t v)
{
	wr_u16(w, (uint16_t)(v >> 16));
	wr_u16(w, (uint16_t)v);
}

static void wr_bytes(struct wr *w, const void *b, size_t n)
{
	memcpy(w->p + w->off, b, n);
	w->off += n;
}

/* payload size of m (without the type byte), or negative errno */
static int enc_size(const struct sn_make_msg *m, size_t *out)
{
	size_t n, tl;

	switch (m->type) {
	case SN_MAKE_HELLO:
		n = strnlen(m->hello.name, SN_MAKE_NAME_MAX + 1);
		if (!sn_make_name_ok(m->hello.name, n) || !m->hello.node_id ||
		    m->hello.role > SN_MAKE_SERVER)
			return -EINVAL;
		if ((m->hello.version == SN_MAKE_VERSION_TOKEN ||
		     m->hello.version == SN_MAKE_VERSION_WORKFLOW) &&
		    (m->hello.accept < SN_MAKE_ACCEPT_EVIDENCE ||
		     m->hello.accept > SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE))
			return -EINVAL;
		*out = HELLO_FIXED + n +
		       (m->hello.version == SN_MAKE_VERSION_TOKEN) +
		       (m->hello.version == SN_MAKE_VERSION_WORKFLOW) *
			       (1 + SN_MAKE_CONFIRM_LEN);
		return 0;
	case SN_MAKE_TOKEN:
		if (!m->token.data || !token_ok(m->token.data, m->token.len))
			return -EINVAL;
		*out = m->token.len;
		return 0;
	case SN_MAKE_EVIDENCE:
		if (!m->evidence.data || !m->evidence.len ||
		    m->evidence.len > SN_MAKE_MAX_MSG - 1)
			return -EINVAL;
		*out = m->evidence.len;
		return 0;
	case SN_MAKE_VERDICT:
		if (m->verdict.n_reasons > SN_MAKE_MAX_REASONS ||
		    (m->verdict.accept && m->verdict.n_reasons))
			return -EINVAL;
		n = VERDICT_FIXED;
		for (size_t i = 0; i < m->verdict.n_reasons; i++) {
			const char *t = m->verdict.reasons[i].text;

			tl = strnlen(t, SN_MAKE_REASON_MAX + 1);
			if (tl > SN_MAKE_REASON_MAX || !text_ok(t, tl))
				return -EINVAL;
			n += 3 + tl;
		}
		*out = n;
		return 0;
	case SN_MAKE_KEYS_READY:
	case SN_MAKE_REKEY:
		if (!m->rekey.epoch)
			return -EINVAL;
		*out = 2;
		return 0;
	case SN_MAKE_ERROR:
		tl = strnlen(m->error.text, SN_MAKE_ERROR_MAX + 1);
		if (tl > SN_MAKE_ERROR_MAX || !text_ok(m->error.text, tl))
			return -EINVAL;
		*out = ERROR_FIXED + tl;
		return 0;
	}
	return -EINVAL;
}

int sn_make_msg_encode(const struct sn_make_msg *m, uint8_t **out,
		       size_t *len)
{
	struct wr w = {0};
	size_t payload, tl;
	int err;

	err = enc_size(m, &payload);
	if (err)
		return err;
	w.p = malloc(SN_MAKE_HDR_LEN + 1 + payload);
	if (!w.p)
		return -ENOMEM;
	wr_u32(&w, (uint32_t)(1 + payload));
	wr_u8(&w, (uint8_t)m->type);
	switch (m->type) {
	case SN_MAKE_HELLO:
		tl = strlen(m->hello.name);
		wr_u16(&w, m->hello.version);
		wr_u8(&w, m->hello.role);
		wr_u32(&w, m->hello.node_id);
		wr_u8(&w, (uint8_t)tl);
		wr_bytes(&w, m->hello.name, tl);
		wr_bytes(&w, m->hello.nonce, SN_MAKE_NONCE_LEN);
		if (m->hello.version == SN_MAKE_VERSION_TOKEN ||
		    m->hello.version == SN_MAKE_VERSION_WORKFLOW)
			wr_u8(&w, m->hello.accept);
		if (m->hello.version == SN_MAKE_VERSION_WORKFLOW)
			wr_bytes(&w, m->hello.confirm, SN_MAKE_CONFIRM_LEN);
		break;
	case SN_MAKE_TOKEN:
		wr_bytes(&w, m->token.data, m->token.len);
		break;
	case SN_MAKE_EVIDENCE:
		wr_bytes(&w, m->evidence.data, m->evidence.len);
		break;
	case SN_MAKE_VERDICT:
		wr_u8(&w, m->verdict.accept ? 1 : 0);
		wr_bytes(&w, m->verdict.nonce, SN_MAKE_NONCE_LEN);
		wr_u8(&w, (uint8_t)m->verdict.n_reasons);
		for (size_t i = 0; i < m->verdict.n_reasons; i++) {
			const struct sn_make_reason *re =
				&m->verdict.reasons[i];

			tl = strlen(re->text);
			wr_u16(&w, re->code);
			wr_u8(&w, (uint8_t)tl);
			wr_bytes(&w, re->text, tl);
		}
		break;
	case SN_MAKE_KEYS_READY:
	case SN_MAKE_REKEY:
		wr_u16(&w, m->rekey.epoch);
		break;
	case SN_MAKE_ERROR:
		tl = strlen(m->error.text);
		wr_u16(&w, m->error.code);
		wr_u16(&w, (uint16_t)tl);
		wr_bytes(&w, m->error.text, tl);
		break;
	}
	*out = w.p;
	*len = w.off;
	return 0;
}
