// SPDX-License-Identifier: Apache-2.0
/*
 * configfs-tsm JSON ({"outblob", "auxblob", "provider"}, blobs base64url;
 * auxblob is an SNP GHCB certificate table, ghcb.c).  sealnet adds an
 * optional "mlog" member (base64url runtime measurement log).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "formats.h"
#include "sealnet/log.h"

const char *sn_tsm_provider(enum sn_tee tee)
{
	return tee == SN_TEE_TDX ? "tdx_guest" : "sev_guest";
}

int sn_tsm_blobs_parse(struct sn_evidence *ev, bool tdx, uint8_t **outblob,
		       size_t out_len, const uint8_t *aux, size_t aux_len,
		       const char *what)
{
	int err = tdx ? sn_tdx_quote_parse(*outblob, out_len, &ev->claims) :
			sn_snp_report_parse(*outblob, out_len, &ev->claims);

	if (err) {
		sn_err("%s is not a valid %s", what,
		       tdx ? "TDX quote v4" : "SNP report");
		return err;
	}
	if (aux && aux_len) {
		err = sn_ghcb_certs_parse(aux, aux_len, ev);
		if (err)
			return err;
	}
	ev->report = *outblob;
	ev->report_len = out_len;
	*outblob = NULL;
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

/* the members of a configfs-tsm JSON object into ev (zeroed) */
static int tsm_root(json_t *root, struct sn_evidence *ev)
{
	uint8_t *outb = NULL, *aux = NULL, *mlog = NULL;
	size_t outl, auxl, mlogl;
	json_t *prov;
	int err;

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
	err = sn_tsm_blobs_parse(
		ev, !strcmp(ev->provider, sn_tsm_provider(SN_TEE_TDX)), &outb,
		outl, aux, auxl, "configfs-tsm JSON: outblob");
	if (err)
		goto out;
	ev->mlog = mlog;
	ev->mlog_len = mlogl;
	mlog = NULL;
out:
	free(outb);
	free(aux);
	free(mlog);
	return err;
}

int sn_tsm_json_parse(const char *json, size_t len, struct sn_evidence *ev)
{
	json_t *root = sn_json_load_object(json, len, "configfs-tsm JSON");
	int err;

	if (!root)
		return -EINVAL;
	err = tsm_root(root, ev);
	json_decref(root);
	return err;
}

int sn_evidence_from_json(const struct json_t *obj,
			  const struct sn_cert_der *certs, size_t n_certs,
			  struct sn_evidence **out)
{
	json_t *root = (json_t *)obj;
	struct sn_evidence *ev = NULL;
	int err;

	if (!json_is_object(root) || n_certs > SN_EVIDENCE_MAX_CERTS ||
	    (n_certs && json_object_get(root, "auxblob")))
		return -EINVAL;
	err = sn_evidence_new(&ev);
	if (err)
		return err;
	ev->format = SN_FMT_TSM_JSON;
	err = tsm_root(root, ev);
	/* the certificates given apart, in their order: what an auxblob of
	 * exactly these entries would have added */
	for (size_t i = 0; !err && i < n_certs; i++)
		err = sn_evidence_add_der(ev, certs[i].der, certs[i].len);
	if (err) {
		sn_evidence_free(ev);
		return err;
	}
	*out = ev;
	return 0;
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
	const char *prov = ev->provider[0] ? ev->provider :
					     sn_tsm_provider(ev->claims.tee);
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
