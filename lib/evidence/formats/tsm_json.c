// SPDX-License-Identifier: Apache-2.0
/*
 * configfs-tsm JSON ({"outblob", "auxblob", "provider"}, blobs base64url)
 * and the GHCB certificate table carried in auxblob: entries of
 * GUID (16, RFC 4122 byte order) | offset (u32) | length (u32), offsets
 * from the start of the table, ended by an all-zero entry.  sealnet adds
 * an optional "mlog" member (base64url runtime measurement log).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "../internal.h"
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
		err = sn_evidence_add_certs(ev, buf + coff, clen);
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
	X509 *x = sn_x509_from_der(c->der, c->len);
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

static int blob(json_t *root, const char *key, uint8_t **out, size_t *len)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	*len = 0;
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		sn_err("configfs-tsm JSON: \"%s\" is not a string", key);
		return -EINVAL;
	}
	if (sn_b64_decode(json_string_value(v), json_string_length(v), out,
			  len)) {
		sn_err("configfs-tsm JSON: \"%s\" is not base64url", key);
		return -EINVAL;
	}
	return 0;
}

int sn_tsm_json_parse(const char *json, size_t len, struct sn_evidence *ev)
{
	uint8_t *outb = NULL, *aux = NULL, *mlog = NULL;
	size_t outl, auxl, mlogl;
	json_error_t jerr;
	json_t *root, *prov;
	int err;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		sn_err("configfs-tsm JSON: line %d: %s", jerr.line,
		       root ? "not an object" : jerr.text);
		json_decref(root);
		return -EINVAL;
	}
	prov = json_object_get(root, "provider");
	if (json_is_string(prov)) {
		snprintf(ev->provider, sizeof(ev->provider), "%s",
			 json_string_value(prov));
		ev->provider[strcspn(ev->provider, "\n")] = '\0';
	}
	err = blob(root, "outblob", &outb, &outl);
	if (!err)
		err = blob(root, "auxblob", &aux, &auxl);
	if (!err)
		err = blob(root, "mlog", &mlog, &mlogl);
	if (err)
		goto out;
	if (!outb) {
		sn_err("configfs-tsm JSON: no \"outblob\"");
		err = -EINVAL;
		goto out;
	}
	if (!strcmp(ev->provider, "tdx_guest"))
		err = sn_tdx_quote_parse(outb, outl, &ev->claims);
	else
		err = sn_snp_report_parse(outb, outl, &ev->claims);
	if (err) {
		sn_err("configfs-tsm JSON: outblob is not a valid %s",
		       strcmp(ev->provider, "tdx_guest") ? "SNP report" :
							   "TDX quote v4");
		goto out;
	}
	if (aux && auxl) {
		err = sn_ghcb_certs_parse(aux, auxl, ev);
		if (err)
			goto out;
	}
	ev->report = outb;
	ev->report_len = outl;
	outb = NULL;
	ev->mlog = mlog;
	ev->mlog_len = mlogl;
	mlog = NULL;
out:
	free(outb);
	free(aux);
	free(mlog);
	json_decref(root);
	return err;
}

static int set_b64(json_t *o, const char *key, const uint8_t *b, size_t len)
{
	char *s;
	int err = sn_b64url_encode(b, len, &s);

	if (err)
		return err;
	err = json_object_set_new(o, key, json_string(s)) ? -ENOMEM : 0;
	free(s);
	return err;
}

int sn_evidence_serialize(const struct sn_evidence *ev, uint8_t **out,
			  size_t *len)
{
	json_t *o = json_object();
	const char *prov = ev->provider[0]		? ev->provider :
			   ev->claims.tee == SN_TEE_TDX ? "tdx_guest" :
							  "sev_guest";
	uint8_t *aux = NULL;
	size_t auxl = 0;
	char *s = NULL;
	int err = -ENOMEM;

	if (!o || !ev->report)
		goto out;
	if (json_object_set_new(o, "provider", json_string(prov)))
		goto out;
	err = set_b64(o, "outblob", ev->report, ev->report_len);
	if (!err && ev->n_certs && ev->claims.tee != SN_TEE_TDX) {
		err = sn_ghcb_certs_build(ev, &aux, &auxl);
		if (!err)
			err = set_b64(o, "auxblob", aux, auxl);
	}
	if (!err && ev->mlog)
		err = set_b64(o, "mlog", ev->mlog, ev->mlog_len);
	if (err)
		goto out;
	s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2));
	if (!s) {
		err = -ENOMEM;
		goto out;
	}
	*len = strlen(s);
	*out = (uint8_t *)s;
out:
	free(aux);
	json_decref(o);
	return err;
}
