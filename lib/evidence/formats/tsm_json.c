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
