// SPDX-License-Identifier: Apache-2.0
/*
 * Intel PCS collateral for TDX (API v4 bodies), parsed for offline
 * verification: TCB info {"tcbInfo": {...}, "signature": "<r||s hex>"},
 * QE identity {"enclaveIdentity": {...}, "signature": "..."}, the issuer
 * chain (Intel SGX TCB Signing + Intel SGX Root CA, PEM) and the PCK and
 * root CRLs.  The signature covers the exact bytes of the "tcbInfo" /
 * "enclaveIdentity" value as sent, so those bytes are kept and the
 * semantics are read from them alone.  Checks: tdx_tcb.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "verify.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

static const char *const status_names[SN_TCB_STATUS_COUNT] = {
	[SN_TCB_NOT_EVALUATED] = "NotEvaluated",
	[SN_TCB_UP_TO_DATE] = "UpToDate",
	[SN_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
	[SN_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
	[SN_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] =
		"ConfigurationAndSWHardeningNeeded",
	[SN_TCB_OUT_OF_DATE] = "OutOfDate",
	[SN_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] =
		"OutOfDateConfigurationNeeded",
	[SN_TCB_REVOKED] = "Revoked",
	[SN_TCB_NO_MATCH] = "NoMatchingTcbLevel",
};

const char *sn_tcb_status_name(enum sn_tcb_status s)
{
	if ((unsigned)s >= SN_TCB_STATUS_COUNT)
		return "unknown";
	return status_names[s];
}

int sn_tcb_status_from_name(const char *s, enum sn_tcb_status *out)
{
	/* only Intel's own names: the synthetic ones are never in collateral */
	for (int i = SN_TCB_UP_TO_DATE; i <= SN_TCB_REVOKED; i++)
		if (s && !strcmp(s, status_names[i])) {
			*out = (enum sn_tcb_status)i;
			return 0;
		}
	return -EINVAL;
}

void sn_tdx_collateral_free(struct sn_tdx_collateral *c)
{
	if (!c)
		return;
	free(c->tcb_raw);
	free(c->qe_raw);
	for (size_t i = 0; i < c->n_chain; i++)
		X509_free(c->chain[i]);
	X509_CRL_free(c->pck_crl);
	X509_CRL_free(c->root_crl);
	free(c);
}

int sn_pcs_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end)
		return -EINVAL;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z"))
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

/*
 * body = {"<key>":<signed value>,"signature":"<128 hex>"}: copy the signed
 * value's bytes, decode the signature, return the parsed value.
 */
static json_t *split_signed(const uint8_t *body, size_t len, const char *key,
			    uint8_t **raw, size_t *raw_len, uint8_t sig[64],
			    const char *what)
{
	char prefix[32];
	static const char sig_key[] = ",\"signature\":\"";
	const uint8_t *start, *end = NULL, *p;
	json_error_t jerr;
	json_t *root, *v = NULL, *s;
	size_t plen;

	snprintf(prefix, sizeof(prefix), "{\"%s\":", key);
	plen = strlen(prefix);
	root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!root || !json_is_object(root) || json_object_size(root) != 2 ||
	    !json_is_object(json_object_get(root, key)) ||
	    !json_is_string(s = json_object_get(root, "signature")) ||
	    sn_hex_decode(json_string_value(s), json_string_length(s), sig,
			  64) != 64) {
		sn_err("TDX collateral: %s is not {\"%s\": {...}, "
		       "\"signature\": "
		       "\"<128 hex digits>\"} (%s)",
		       what, key, root ? "members" : jerr.text);
		goto out;
	}
	for (p = body; p + sizeof(sig_key) - 1 <= body + len; p++)
		if (!memcmp(p, sig_key, sizeof(sig_key) - 1))
			end = p; /* the last one: the top-level member */
	if (len < plen || memcmp(body, prefix, plen) || !end ||
	    end <= body + plen) {
		sn_err("TDX collateral: %s must be Intel PCS's exact body, "
		       "starting with %s and ending with the signature",
		       what, prefix);
		goto out;
	}
	start = body + plen;
	v = json_loadb((const char *)start, (size_t)(end - start),
		       JSON_REJECT_DUPLICATES, &jerr);
	if (!v || !json_is_object(v)) {
		sn_err("TDX collateral: %s: the signed \"%s\" value is not a "
		       "JSON object: %s",
		       what, key, jerr.text);
		json_decref(v);
		v = NULL;
		goto out;
	}
	*raw = malloc((size_t)(end - start));
	if (!*raw) {
		json_decref(v);
		v = NULL;
		goto out;
	}
	memcpy(*raw, start, (size_t)(end - start));
	*raw_len = (size_t)(end - start);
out:
	json_decref(root);
	return v;
}

static int get_hex(json_t *o, const char *k, uint8_t *out, size_t n,
		   const char *what)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_string(v) ||
	    sn_hex_decode(json_string_value(v), json_string_length(v), out,
			  n) != (int)n) {
		sn_err("TDX collateral: %s: \"%s\" must be %zu hex digits",
		       what, k, 2 * n);
		return -EINVAL;
	}
	return 0;
}

static int get_uint(json_t *o, const char *k, long max, long *out,
		    const char *what)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max) {
		sn_err("TDX collateral: %s: \"%s\" must be an integer "
		       "0..%ld",
		       what, k, max);
		return -EINVAL;
	}
	*out = (long)json_integer_value(v);
	return 0;
}

static int get_time(json_t *o, const char *k, time_t *out, const char *what)
{
	if (sn_pcs_time(json_string_value(json_object_get(o, k)), out)) {
		sn_err("TDX collateral: %s: \"%s\" must be a UTC time "
		       "(2023-06-18T08:42:58Z)",
		       what, k);
		return -EINVAL;
	}
	return 0;
}

/* "tcbStatus" and "tcbDate" of a level */
static int level_common(json_t *l, enum sn_tcb_status *st, char *date,
			const char *what)
{
	json_t *d = json_object_get(l, "tcbDate");

	if (sn_tcb_status_from_name(
		    json_string_value(json_object_get(l, "tcbStatus")), st)) {
		sn_err("TDX collateral: %s: a TCB level has an unknown "
		       "\"tcbStatus\"",
		       what);
		return -EINVAL;
	}
	snprintf(date, 24, "%s", json_is_string(d) ? json_string_value(d) : "");
	return 0;
}

/* "sgxtcbcomponents" / "tdxtcbcomponents": 16 x {"svn": n} */
static int components(json_t *tcb, const char *k, uint8_t out[16],
		      const char *what)
{
	json_t *arr = json_object_get(tcb, k), *c;
	size_t i;
	long svn;

	if (!json_is_array(arr) || json_array_size(arr) != 16) {
		sn_err("TDX collateral: %s: \"%s\" must hold 16 components",
		       what, k);
		return -EINVAL;
	}
	json_array_foreach(arr, i, c)
	{
		if (get_uint(c, "svn", 255, &svn, what))
			return -EINVAL;
		out[i] = (uint8_t)svn;
	}
	return 0;
}

static int parse_levels(json_t *arr, struct sn_tdx_collateral *c,
			const char *what)
{
	size_t i;
	json_t *l;
	long v;

	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > SN_TDX_MAX_LEVELS) {
		sn_err("TDX collateral: %s: \"tcbLevels\" must hold 1..%d "
		       "levels",
		       what, SN_TDX_MAX_LEVELS);
		return -EINVAL;
	}
	json_array_foreach(arr, i, l)
	{
		struct sn_tdx_level *lv = &c->levels[i];
		json_t *tcb = json_object_get(l, "tcb");

		if (!json_is_object(tcb) ||
		    components(tcb, "sgxtcbcomponents", lv->sgx, what) ||
		    components(tcb, "tdxtcbcomponents", lv->tdx, what) ||
		    get_uint(tcb, "pcesvn", 65535, &v, what) ||
		    level_common(l, &lv->status, lv->date, what))
			return -EINVAL;
		lv->pcesvn = (uint16_t)v;
	}
	c->n_levels = json_array_size(arr);
	return 0;
}

/* TDX module identities (tcbInfo v3, TDX 1.5): id "TDX_<ver>", levels by
 * isvsvn */
static int parse_modules(json_t *arr, struct sn_tdx_collateral *c,
			 const char *what)
{
	size_t i, j;
	json_t *m, *l;
	long v;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > SN_TDX_MAX_MODULES)
		goto bad;
	json_array_foreach(arr, i, m)
	{
		struct sn_tdx_module *mod = &c->modules[i];
		json_t *lv = json_object_get(m, "tcbLevels");
		const char *id = json_string_value(json_object_get(m, "id"));

		if (!id || strlen(id) >= sizeof(mod->id) ||
		    !json_is_array(lv) || !json_array_size(lv) ||
		    json_array_size(lv) > SN_TDX_MAX_LEVELS ||
		    get_hex(m, "mrsigner", mod->mrsigner, 48, what) ||
		    get_hex(m, "attributes", mod->attr, 8, what) ||
		    get_hex(m, "attributesMask", mod->attr_mask, 8, what))
			goto bad;
		snprintf(mod->id, sizeof(mod->id), "%s", id);
		json_array_foreach(lv, j, l)
		{
			if (get_uint(json_object_get(l, "tcb"), "isvsvn", 255,
				     &v, what) ||
			    level_common(l, &mod->levels[j].status,
					 mod->levels[j].date, what))
				goto bad;
			mod->levels[j].isvsvn = (uint8_t)v;
		}
		mod->n_levels = json_array_size(lv);
	}
	c->n_modules = json_array_size(arr);
	return 0;
bad:
	sn_err("TDX collateral: %s: malformed \"tdxModuleIdentities\"", what);
	return -EINVAL;
}

/* split_signed, then the value's "id" and "version" must be id / version */
static json_t *open_signed(const uint8_t *b, size_t len, const char *key,
			   const char *id, long version, uint8_t **raw,
			   size_t *raw_len, uint8_t sig[64], const char *what)
{
	json_t *t = split_signed(b, len, key, raw, raw_len, sig, what);
	long v;

	if (t &&
	    (strcmp(json_string_value(json_object_get(t, "id")) ?: "", id) ||
	     get_uint(t, "version", 255, &v, what) || v != version)) {
		sn_err("TDX collateral: %s must have \"id\": \"%s\" and "
		       "\"version\": %ld (Intel PCS API v4)",
		       what, id, version);
		json_decref(t);
		t = NULL;
	}
	return t;
}

/* the "tcbInfo" value (open_signed) */
static int parse_tcb_info(json_t *t, struct sn_tdx_collateral *c)
{
	static const char what[] = "TCB info";
	json_t *mod = json_object_get(t, "tdxModule");
	long v;

	if (get_time(t, "issueDate", &c->tcb_issue, what) ||
	    get_time(t, "nextUpdate", &c->tcb_next, what) ||
	    get_hex(t, "fmspc", c->fmspc, 6, what) ||
	    get_hex(t, "pceId", c->pce_id, 2, what) ||
	    get_uint(t, "tcbEvaluationDataNumber", INT_MAX, &v, what) ||
	    !json_is_object(mod) ||
	    get_hex(mod, "mrsigner", c->module_mrsigner, 48, what) ||
	    get_hex(mod, "attributes", c->module_attr, 8, what) ||
	    get_hex(mod, "attributesMask", c->module_attr_mask, 8, what) ||
	    parse_levels(json_object_get(t, "tcbLevels"), c, what) ||
	    parse_modules(json_object_get(t, "tdxModuleIdentities"), c, what))
		return -EINVAL;
	c->tcb_eval_num = (uint32_t)v;
	return 0;
}

/* the "enclaveIdentity" value (open_signed) */
static int parse_qe_identity(json_t *q, struct sn_tdx_collateral *c)
{
	static const char what[] = "QE identity";
	json_t *arr, *l;
	size_t i;
	long v;

	if (get_time(q, "issueDate", &c->qe_issue, what) ||
	    get_time(q, "nextUpdate", &c->qe_next, what) ||
	    get_hex(q, "miscselect", c->qe_miscselect, 4, what) ||
	    get_hex(q, "miscselectMask", c->qe_miscselect_mask, 4, what) ||
	    get_hex(q, "attributes", c->qe_attr, 16, what) ||
	    get_hex(q, "attributesMask", c->qe_attr_mask, 16, what) ||
	    get_hex(q, "mrsigner", c->qe_mrsigner, 32, what) ||
	    get_uint(q, "isvprodid", 65535, &v, what))
		return -EINVAL;
	c->qe_isvprodid = (uint16_t)v;
	arr = json_object_get(q, "tcbLevels");
	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > SN_TDX_MAX_LEVELS) {
		sn_err("TDX collateral: QE identity \"tcbLevels\" must hold "
		       "1..%d levels",
		       SN_TDX_MAX_LEVELS);
		return -EINVAL;
	}
	json_array_foreach(arr, i, l)
	{
		if (get_uint(json_object_get(l, "tcb"), "isvsvn", 65535, &v,
			     what) ||
		    level_common(l, &c->qe_levels[i].status,
				 c->qe_levels[i].date, what))
			return -EINVAL;
		c->qe_levels[i].isvsvn = (uint16_t)v;
	}
	c->n_qe_levels = json_array_size(arr);
	return 0;
}

static X509_CRL *parse_crl(const uint8_t *b, size_t len, const char *what)
{
	const unsigned char *p = b;
	X509_CRL *crl = NULL;

	if (len && len < LONG_MAX)
		crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (!crl && len < INT_MAX) {
		BIO *bio = BIO_new_mem_buf(b, (int)len);

		crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	}
	ERR_clear_error();
	if (!crl)
		sn_err("TDX collateral: %s is not a DER or PEM CRL", what);
	return crl;
}

static int parse_chain(const uint8_t *b, size_t len,
		       struct sn_tdx_collateral *c)
{
	BIO *bio = len < INT_MAX ? BIO_new_mem_buf(b, (int)len) : NULL;
	X509 *x;

	while (bio && c->n_chain < SN_ARRAY_SIZE(c->chain) &&
	       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		c->chain[c->n_chain++] = x;
	BIO_free(bio);
	ERR_clear_error();
	if (!c->n_chain) {
		sn_err("TDX collateral: the issuer chain holds no PEM "
		       "certificate (expected Intel SGX TCB Signing and the "
		       "Intel SGX Root CA)");
		return -EINVAL;
	}
	return 0;
}

int sn_tdx_collateral_parse(const struct sn_tdx_collateral_src *src,
			    struct sn_tdx_collateral **out)
{
	struct sn_tdx_collateral *c;
	json_t *t = NULL, *q = NULL;
	int err = -EINVAL;

	if (!src || !src->tcb_info || !src->qe_identity || !src->issuer_chain ||
	    !src->pck_crl || !src->root_crl) {
		sn_err("TDX collateral: TCB info, QE identity, issuer chain, "
		       "PCK CRL and root CRL are all required");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	t = open_signed(src->tcb_info, src->tcb_info_len, "tcbInfo", "TDX", 3,
			&c->tcb_raw, &c->tcb_raw_len, c->tcb_sig, "TCB info");
	if (!t || parse_tcb_info(t, c))
		goto out;
	q = open_signed(src->qe_identity, src->qe_identity_len,
			"enclaveIdentity", "TD_QE", 2, &c->qe_raw,
			&c->qe_raw_len, c->qe_sig, "QE identity");
	if (!q || parse_qe_identity(q, c) ||
	    parse_chain(src->issuer_chain, src->issuer_chain_len, c))
		goto out;
	c->pck_crl = parse_crl(src->pck_crl, src->pck_crl_len, "the PCK CRL");
	c->root_crl =
		parse_crl(src->root_crl, src->root_crl_len, "the root CA CRL");
	if (!c->pck_crl || !c->root_crl)
		goto out;
	err = 0;
out:
	json_decref(t);
	json_decref(q);
	if (err) {
		sn_tdx_collateral_free(c);
		return err;
	}
	*out = c;
	return 0;
}

static const char *const coll_files[5] = {
	"tcb_info.json", "qe_identity.json", "issuer_chain.pem",
	"pck_crl.der",	 "root_crl.der",
};

int sn_tdx_collateral_load(const char *dir, struct sn_tdx_collateral **out)
{
	struct sn_tdx_collateral_src src;
	uint8_t *buf[5] = {0};
	size_t len[5] = {0};
	char path[PATH_MAX];
	int err = 0;

	for (int i = 0; i < 5 && !err; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, coll_files[i]) >=
		    (int)sizeof(path)) {
			err = -ENAMETOOLONG;
			break;
		}
		err = sn_read_file(path, SN_EVIDENCE_MAX_INPUT, &buf[i],
				   &len[i]);
		if (err)
			sn_err("TDX collateral: cannot read %s: %s (a "
			       "collateral directory holds %s, %s, %s, %s "
			       "and %s)",
			       path, strerror(-err), coll_files[0],
			       coll_files[1], coll_files[2], coll_files[3],
			       coll_files[4]);
	}
	if (!err) {
		src = (struct sn_tdx_collateral_src){
			.tcb_info = buf[0],
			.tcb_info_len = len[0],
			.qe_identity = buf[1],
			.qe_identity_len = len[1],
			.issuer_chain = buf[2],
			.issuer_chain_len = len[2],
			.pck_crl = buf[3],
			.pck_crl_len = len[3],
			.root_crl = buf[4],
			.root_crl_len = len[4],
		};
		err = sn_tdx_collateral_parse(&src, out);
		if (err)
			sn_err("%s: invalid TDX collateral", dir);
	}
	for (int i = 0; i < 5; i++)
		free(buf[i]);
	return err;
}
