// SPDX-License-Identifier: Apache-2.0
/*
 * The SNP GHCB certificate table (configfs-tsm auxblob, SNP extended
 * report): entries of GUID (16, RFC 4122 byte order) | offset (u32) |
 * length (u32), offsets from the start of the table, ended by an all-zero
 * entry.  GUIDs: VCEK, VLEK, ASK, ARK (others are skipped).
 */
#include <errno.h>
#include <stdlib.h>

#include "formats.h"
#include "sealnet/log.h"

#define GHCB_ENTRY 24

static const uint8_t guid_vcek[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64,
				      0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9,
				      0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t guid_ask[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03,
				     0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6,
				     0x01, 0x4c, 0xd0, 0xae};
static const uint8_t guid_ark[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac,
				     0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae,
				     0xf3, 0x27, 0xc7, 0x82};
static const uint8_t guid_vlek[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a,
				      0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0,
				      0x45, 0xa0, 0xb8, 0xa1};

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* an entry: one DER certificate (checked through the parsed-certificate
 * cache: the same VCEK/ASK/ARK arrive with every report, and decoding
 * them was ~12 % of a KBS's CPU per attestation), else PEM or several
 * concatenated DER certificates */
static int add_entry(struct sn_evidence *ev, const uint8_t *c, size_t n)
{
	X509 *x = sn_x509_from_der_cached(c, n);

	if (!x)
		return sn_evidence_add_certs(ev, c, n);
	X509_free(x);
	return sn_evidence_add_der(ev, c, n);
}

int sn_ghcb_certs_parse(const uint8_t *buf, size_t len, struct sn_evidence *ev)
{
	size_t off;
	int err;

	for (off = 0;; off += GHCB_ENTRY) {
		const uint8_t *e = buf + off;
		uint32_t coff, clen;

		if (len < GHCB_ENTRY || off > len - GHCB_ENTRY) {
			sn_err("GHCB certificate table: no terminating zero "
			       "entry");
			return -EINVAL;
		}
		if (is_zero(e, 16))
			break;
		coff = sn_le32(e + 16);
		clen = sn_le32(e + 20);
		if (coff > len || clen > len - coff || !clen) {
			sn_err("GHCB certificate table: entry %zu points "
			       "outside the table",
			       off / GHCB_ENTRY);
			return -EINVAL;
		}
		if (memcmp(e, guid_vcek, 16) && memcmp(e, guid_vlek, 16) &&
		    memcmp(e, guid_ask, 16) && memcmp(e, guid_ark, 16)) {
			sn_dbg("GHCB certificate table: unknown GUID, skipped");
			continue;
		}
		err = add_entry(ev, buf + coff, clen);
		if (err) {
			sn_err("GHCB certificate table: entry %zu is not a DER "
			       "or PEM certificate",
			       off / GHCB_ENTRY);
			return err;
		}
	}
	return 0;
}

static const uint8_t *guid_for(const struct sn_cert_der *c)
{
	X509 *x = sn_x509_from_der_cached(c->der, c->len);
	const uint8_t *g = guid_ask;
	char cn[64];

	if (!x)
		return NULL;
	sn_cert_cn(x, cn, sizeof(cn));
	if (!strcmp(cn, "SEV-VCEK"))
		g = guid_vcek;
	else if (!strcmp(cn, "SEV-VLEK"))
		g = guid_vlek;
	else if (sn_cert_self_signed(x))
		g = guid_ark;
	X509_free(x);
	return g;
}

int sn_ghcb_certs_build(const struct sn_evidence *ev, uint8_t **out,
			size_t *len)
{
	size_t hdr = (ev->n_certs + 1) * GHCB_ENTRY, total = hdr, off;
	uint8_t *b;

	for (size_t i = 0; i < ev->n_certs; i++)
		total += ev->certs[i].len;
	b = calloc(1, total);
	if (!b)
		return -ENOMEM;
	off = hdr;
	for (size_t i = 0; i < ev->n_certs; i++) {
		const uint8_t *g = guid_for(&ev->certs[i]);

		if (!g) {
			free(b);
			return -EINVAL;
		}
		memcpy(b + i * GHCB_ENTRY, g, 16);
		sn_put_le32(b + i * GHCB_ENTRY + 16, (uint32_t)off);
		sn_put_le32(b + i * GHCB_ENTRY + 20,
			    (uint32_t)ev->certs[i].len);
		memcpy(b + off, ev->certs[i].der, ev->certs[i].len);
		off += ev->certs[i].len;
	}
	*out = b;
	*len = total;
	return 0;
}
