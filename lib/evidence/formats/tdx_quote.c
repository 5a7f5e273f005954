// SPDX-License-Identifier: Apache-2.0
/*
 * Intel TDX DCAP quote, version 4 (ECDSA P-256 attestation key):
 *   header (48) | TD report body (584) | u32 sig_data_len | sig data:
 *   signature (64) | attestation public key (64) |
 *   cert data { u16 type = 6, u32 size,
 *     QE report (384) | QE report signature (64) |
 *     u16 auth_len | auth data |
 *     cert data { u16 type = 5, u32 size, PCK chain PEM } }
 */
#include <errno.h>

#include "formats.h"
#include "sealnet/log.h"

#define TDX_VERSION	       4
#define TDX_ATT_KEY_ECDSA_P256 2
#define TDX_TEE_TYPE	       0x81

/* TD report body offsets (after the header) */
#define B_TEE_TCB_SVN	0
#define B_MRSEAM	16
#define B_MRSIGNERSEAM	64
#define B_SEAM_ATTR	112
#define B_TD_ATTRIBUTES 120
#define B_XFAM		128
#define B_MRTD		136
#define B_MRCONFIGID	184
#define B_MROWNER	232
#define B_MROWNERCONFIG 280
#define B_RTMR0		328
#define B_REPORT_DATA	520

/* A certification data header (u16 type | u32 size) at b + *off, before
 * end: the type must be type (-ENOTSUP), the data must fit (-EINVAL); *size
 * gets its size and *off moves past the header. */
static int cert_data(const uint8_t *b, size_t *off, size_t end, uint16_t type,
		     const char *which, size_t *size)
{
	if (end - *off < 6)
		return -EINVAL;
	if (sn_le16(b + *off) != type) {
		sn_dbg("TDX quote: %scertification data type %u, expected %u",
		       which, sn_le16(b + *off), type);
		return -ENOTSUP;
	}
	*size = sn_le32(b + *off + 2);
	*off += 6;
	return *size > end - *off ? -EINVAL : 0;
}

int sn_tdx_quote_split(const uint8_t *b, size_t len, struct sn_tdx_parts *out)
{
	struct sn_tdx_parts p;
	size_t off, end, sig_len, cd_size, inner_size;
	int err;

	memset(&p, 0, sizeof(p));
	off = SN_TDX_HEADER_LEN + SN_TDX_BODY_LEN;
	if (len < off + 4)
		return -EINVAL;
	if (sn_le16(b) != TDX_VERSION || sn_le32(b + 4) != TDX_TEE_TYPE)
		return -ENOTSUP;
	if (sn_le16(b + 2) != TDX_ATT_KEY_ECDSA_P256)
		return -ENOTSUP;
	p.signed_data = b;
	p.signed_len = off;
	sig_len = sn_le32(b + off);
	off += 4;
	if (sig_len > len - off || sig_len < 64 + 64 + 6)
		return -EINVAL;
	end = off + sig_len;
	p.sig = b + off;
	p.att_key = b + off + 64;
	off += 128;
	err = cert_data(b, &off, end, 6, "", &cd_size);
	if (err)
		return err;
	end = off + cd_size;
	if (end - off < SN_TDX_QE_REPORT_LEN + 64 + 2)
		return -EINVAL;
	p.qe_report = b + off;
	p.qe_sig = b + off + SN_TDX_QE_REPORT_LEN;
	off += SN_TDX_QE_REPORT_LEN + 64;
	p.auth_len = sn_le16(b + off);
	off += 2;
	if (p.auth_len > end - off)
		return -EINVAL;
	p.auth = b + off;
	off += p.auth_len;
	err = cert_data(b, &off, end, 5, "inner ", &inner_size);
	if (err)
		return err;
	p.pck_pem = b + off;
	p.pck_len = inner_size;
	*out = p;
	return 0;
}

int sn_tdx_quote_parse(const uint8_t *b, size_t len, struct sn_claims *out)
{
	struct sn_tdx_parts p;
	struct sn_claims c;
	const uint8_t *body;
	int err;

	if (len > SN_EVIDENCE_MAX_INPUT)
		return -E2BIG;
	err = sn_tdx_quote_split(b, len, &p);
	if (err)
		return err;
	body = b + SN_TDX_HEADER_LEN;
	memset(&c, 0, sizeof(c));
	c.tee = SN_TEE_TDX;
	c.version = sn_le16(b);
	memcpy(c.tee_tcb_svn, body + B_TEE_TCB_SVN, sizeof(c.tee_tcb_svn));
	memcpy(c.mrseam, body + B_MRSEAM, sizeof(c.mrseam));
	memcpy(c.mrsignerseam, body + B_MRSIGNERSEAM, sizeof(c.mrsignerseam));
	c.seam_attributes = sn_le64(body + B_SEAM_ATTR);
	memcpy(c.mrconfigid, body + B_MRCONFIGID, 48);
	memcpy(c.mrowner, body + B_MROWNER, 48);
	memcpy(c.mrownerconfig, body + B_MROWNERCONFIG, 48);
	c.td_attributes = sn_le64(body + B_TD_ATTRIBUTES);
	c.xfam = sn_le64(body + B_XFAM);
	memcpy(c.measurement, body + B_MRTD, SN_MEASUREMENT_LEN);
	for (int i = 0; i < 4; i++)
		memcpy(c.rtmr[i], body + B_RTMR0 + 48 * i, 48);
	memcpy(c.report_data, body + B_REPORT_DATA, SN_REPORT_DATA_LEN);
	c.debug = c.td_attributes & SN_TDX_ATTR_DEBUG;
	*out = c;
	return 0;
}
