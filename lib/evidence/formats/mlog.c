// SPDX-License-Identifier: Apache-2.0
/* Runtime measurement log: SHA-384 events, extend, serialise, replay. */
#include <errno.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "formats.h"
#include "sealnet/log.h"

#define MLOG_MAGIC    "SNML"
#define MLOG_VERSION  1
#define MLOG_HDR      12
#define MLOG_EV_FIXED (4 + 2 + SN_SHA384_LEN)

void sn_mlog_init(struct sn_mlog *m)
{
	memset(m, 0, sizeof(*m));
}

void sn_mlog_free(struct sn_mlog *m)
{
	free(m->ev);
	memset(m, 0, sizeof(*m));
}

static int sha384_2(const uint8_t *a, size_t al, const uint8_t *b, size_t bl,
		    uint8_t out[SN_SHA384_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(c, EVP_sha384(), NULL) == 1 &&
	     EVP_DigestUpdate(c, a, al) == 1 &&
	     EVP_DigestUpdate(c, b, bl) == 1 &&
	     EVP_DigestFinal_ex(c, out, NULL) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -EINVAL;
}

int sn_mlog_extend(struct sn_mlog *m, uint32_t type, const char *desc,
		   const uint8_t digest[SN_SHA384_LEN])
{
	uint8_t next[SN_SHA384_LEN];
	struct sn_mlog_event *e;
	size_t dl = desc ? strlen(desc) : 0;
	int err;

	if (dl >= SN_MLOG_DESC_MAX)
		return -ENAMETOOLONG;
	if (m->n >= SN_MLOG_MAX_EVENTS)
		return -E2BIG;
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 8;

		e = realloc(m->ev, ncap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		m->ev = e;
		m->cap = ncap;
	}
	err = sha384_2(m->digest, SN_SHA384_LEN, digest, SN_SHA384_LEN, next);
	if (err)
		return err;
	e = &m->ev[m->n++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	memcpy(e->desc, desc ? desc : "", dl);
	memcpy(e->digest, digest, SN_SHA384_LEN);
	memcpy(m->digest, next, SN_SHA384_LEN);
	return 0;
}

int sn_mlog_extend_data(struct sn_mlog *m, uint32_t type, const char *desc,
			const void *data, size_t len)
{
	uint8_t d[SN_SHA384_LEN];

	if (EVP_Digest(data, len, d, NULL, EVP_sha384(), NULL) != 1)
		return -EINVAL;
	return sn_mlog_extend(m, type, desc, d);
}

int sn_mlog_serialize(const struct sn_mlog *m, uint8_t **out, size_t *len)
{
	size_t total = MLOG_HDR, off;
	uint8_t *b;

	for (size_t i = 0; i < m->n; i++)
		total += MLOG_EV_FIXED + strlen(m->ev[i].desc);
	b = malloc(total);
	if (!b)
		return -ENOMEM;
	memcpy(b, MLOG_MAGIC, 4);
	sn_put_le32(b + 4, MLOG_VERSION);
	sn_put_le32(b + 8, (uint32_t)m->n);
	off = MLOG_HDR;
	for (size_t i = 0; i < m->n; i++) {
		size_t dl = strlen(m->ev[i].desc);

		sn_put_le32(b + off, m->ev[i].type);
		b[off + 4] = (uint8_t)dl;
		b[off + 5] = (uint8_t)(dl >> 8);
		memcpy(b + off + 6, m->ev[i].desc, dl);
		memcpy(b + off + 6 + dl, m->ev[i].digest, SN_SHA384_LEN);
		off += MLOG_EV_FIXED + dl;
	}
	*out = b;
	*len = total;
	return 0;
}

int sn_mlog_parse(const uint8_t *buf, size_t len, struct sn_mlog *out)
{
	struct sn_mlog m;
	uint32_t count;
	size_t off = MLOG_HDR;
	int err = -EINVAL;

	sn_mlog_init(&m);
	if (len < MLOG_HDR || memcmp(buf, MLOG_MAGIC, 4)) {
		sn_err("measurement log: bad magic or truncated header");
		return -EINVAL;
	}
	if (sn_le32(buf + 4) != MLOG_VERSION) {
		sn_err("measurement log: version %u unsupported",
		       sn_le32(buf + 4));
		return -ENOTSUP;
	}
	count = sn_le32(buf + 8);
	if (count > SN_MLOG_MAX_EVENTS) {
		sn_err("measurement log: %u events, limit %d", count,
		       SN_MLOG_MAX_EVENTS);
		return -E2BIG;
	}
	for (uint32_t i = 0; i < count; i++) {
		char desc[SN_MLOG_DESC_MAX];
		size_t dl;

		if (len - off < MLOG_EV_FIXED)
			goto bad;
		dl = sn_le16(buf + off + 4);
		if (dl >= SN_MLOG_DESC_MAX || len - off - MLOG_EV_FIXED < dl ||
		    memchr(buf + off + 6, 0, dl))
			goto bad;
		memcpy(desc, buf + off + 6, dl);
		desc[dl] = '\0';
		err = sn_mlog_extend(&m, sn_le32(buf + off), desc,
				     buf + off + 6 + dl);
		if (err)
			goto fail;
		off += MLOG_EV_FIXED + dl;
	}
	if (off != len)
		goto bad;
	*out = m;
	return 0;
bad:
	err = -EINVAL;
	sn_err("measurement log: event %zu truncated or malformed", m.n);
fail:
	sn_mlog_free(&m);
	return err;
}

int sn_report_data_binding(const uint8_t *cb, size_t cb_len,
			   const uint8_t mlog_digest[SN_SHA384_LEN],
			   uint8_t out[SN_REPORT_DATA_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	static const uint8_t zero[SN_SHA384_LEN];
	uint8_t d[SN_REPORT_DATA_LEN];
	int ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(c, EVP_sha512(), NULL) == 1 &&
	     (!cb_len || EVP_DigestUpdate(c, cb, cb_len) == 1) &&
	     EVP_DigestUpdate(c, mlog_digest ? mlog_digest : zero,
			      SN_SHA384_LEN) == 1 &&
	     EVP_DigestFinal_ex(c, d, NULL) == 1;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -EINVAL;
	memcpy(out, d, sizeof(d));
	return 0;
}
