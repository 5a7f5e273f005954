// SPDX-License-Identifier: Apache-2.0
/*
 * TDX collateral checks (Intel PCS v4, offline): the TCB Signing chain to
 * the pinned Intel SGX Root CA, the TCB info and QE identity signatures and
 * validity windows, the root and PCK CRLs, the QE report against the QE
 * identity, and the TCB status of the platform (PCK certificate SGX TCB
 * components + PCESVN and the quote's TEE_TCB_SVN against the TCB levels
 * for the PCK's FMSPC).  docs/attestation.md lists what is checked.
 */
#include <errno.h>
#include <stdio.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "verify.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

/*
 * Intel SGX Root CA (roots/intel/sgx-root-ca.pem): SHA-256 of its
 * SubjectPublicKeyInfo DER.  Both TDX chains end there: the PCK chain
 * (verify_tdx.c) and the collateral's TCB Signing chain (here).
 */
const uint8_t sn_intel_root_spki[SN_SHA256_LEN] = {
	0xa0, 0xaf, 0x03, 0x12, 0x89, 0xf5, 0xd5, 0xd4, 0x13, 0x2f, 0x91,
	0x86, 0x06, 0x8a, 0x7f, 0xc1, 0x36, 0x28, 0x63, 0x3b, 0xa2, 0x35,
	0x77, 0x74, 0x72, 0xe2, 0x9b, 0x6b, 0x6c, 0x67, 0xa4, 0x9e,
};

/* QE report (SGX enclave report) offsets */
#define QE_MISCSELECT 16
#define QE_ATTRIBUTES 48
#define QE_MRSIGNER   128
#define QE_ISVPRODID  256
#define QE_ISVSVN     258
/* TD report body offsets (after the 48-byte quote header) */
#define B_MRSIGNERSEAM 64
#define B_SEAM_ATTR    112

#define OID_SGX_EXT "1.2.840.113741.1.13.1"
#define OID_SGX	    "1.2.840.113741.1.13.1."

static STACK_OF(ASN1_TYPE) * seq_of(const unsigned char *p, long len)
{
	return d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
}

/* element i of a SEQUENCE { OID, value } list, as (oid text, value) */
static int pair(STACK_OF(ASN1_TYPE) * s, int i, char *oid, size_t cap,
		STACK_OF(ASN1_TYPE) * *inner, ASN1_TYPE **val)
{
	ASN1_TYPE *t = sk_ASN1_TYPE_value(s, i), *o;
	STACK_OF(ASN1_TYPE) * in;

	if (!t || t->type != V_ASN1_SEQUENCE)
		return -EINVAL;
	in = seq_of(t->value.sequence->data, t->value.sequence->length);
	if (!in || sk_ASN1_TYPE_num(in) != 2 ||
	    (o = sk_ASN1_TYPE_value(in, 0))->type != V_ASN1_OBJECT ||
	    OBJ_obj2txt(oid, (int)cap, o->value.object, 1) <= 0) {
		sk_ASN1_TYPE_pop_free(in, ASN1_TYPE_free);
		return -EINVAL;
	}
	*inner = in;
	*val = sk_ASN1_TYPE_value(in, 1);
	return 0;
}

static int octets(ASN1_TYPE *v, uint8_t *out, int n)
{
	if (v->type != V_ASN1_OCTET_STRING ||
	    v->value.octet_string->length != n)
		return -EINVAL;
	memcpy(out, v->value.octet_string->data, (size_t)n);
	return 0;
}

static int parse_tcb(ASN1_TYPE *v, struct sn_pck_tcb *t, unsigned *seen)
{
	STACK_OF(ASN1_TYPE) * s, *in;
	ASN1_TYPE *val;
	char oid[64];
	int err = 0;

	if (v->type != V_ASN1_SEQUENCE)
		return -EINVAL;
	s = seq_of(v->value.sequence->data, v->value.sequence->length);
	if (!s)
		return -EINVAL;
	for (int i = 0; i < sk_ASN1_TYPE_num(s) && !err; i++) {
		long n;
		int k;

		if (pair(s, i, oid, sizeof(oid), &in, &val)) {
			err = -EINVAL;
			break;
		}
		/* 1.2.840.113741.1.13.1.2.<k>: k 1..16 components, 17 PCESVN,
		 * 18 CPUSVN */
		if (strncmp(oid, OID_SGX "2.", strlen(OID_SGX "2.")) == 0 &&
		    sscanf(oid + strlen(OID_SGX "2."), "%d", &k) == 1 &&
		    k >= 1 && k <= 17) {
			n = val->type == V_ASN1_INTEGER ?
				    ASN1_INTEGER_get(val->value.integer) :
				    -1;
			if (n < 0 || n > (k == 17 ? 65535 : 255))
				err = -EINVAL;
			else if (k == 17)
				t->pcesvn = (uint16_t)n;
			else
				t->comp[k - 1] = (uint8_t)n;
			*seen |= 1u << k;
		}
		sk_ASN1_TYPE_pop_free(in, ASN1_TYPE_free);
	}
	sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
	return err;
}

int sn_pck_tcb_parse(X509 *pck, struct sn_pck_tcb *out)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(OID_SGX_EXT, 1);
	ASN1_OCTET_STRING *d;
	STACK_OF(ASN1_TYPE) *s = NULL, *in;
	struct sn_pck_tcb t;
	ASN1_TYPE *val;
	unsigned seen = 0;
	char oid[64];
	int idx, err = -EINVAL;

	memset(&t, 0, sizeof(t));
	idx = obj ? X509_get_ext_by_OBJ(pck, obj, -1) : -1;
	ASN1_OBJECT_free(obj);
	if (idx < 0)
		goto out;
	d = X509_EXTENSION_get_data(X509_get_ext(pck, idx));
	s = seq_of(d->data, d->length);
	if (!s)
		goto out;
	err = 0;
	for (int i = 0; i < sk_ASN1_TYPE_num(s) && !err; i++) {
		if (pair(s, i, oid, sizeof(oid), &in, &val)) {
			err = -EINVAL;
			break;
		}
		if (!strcmp(oid, OID_SGX "2"))
			err = parse_tcb(val, &t, &seen);
		else if (!strcmp(oid, OID_SGX "3"))
			err = octets(val, t.pce_id, 2), seen |= 1u << 20;
		else if (!strcmp(oid, OID_SGX "4"))
			err = octets(val, t.fmspc, 6), seen |= 1u << 21;
		sk_ASN1_TYPE_pop_free(in, ASN1_TYPE_free);
	}
	/* all 16 components, PCESVN, PCE-ID and FMSPC present */
	if (!err && seen != (0x3ffffu & ~1u) + (3u << 20))
		err = -EINVAL;
out:
	sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
	ERR_clear_error();
	if (!err)
		*out = t;
	return err;
}

static bool ge16(const uint8_t *have, const uint8_t *want, int from)
{
	for (int i = from; i < 16; i++)
		if (have[i] < want[i])
			return false;
	return true;
}

enum sn_tcb_status sn_tdx_platform_status(const struct sn_tdx_collateral *c,
					  const struct sn_pck_tcb *pck,
					  const uint8_t svn[16],
					  const char **date)
{
	const struct sn_tdx_level *lv = NULL;
	char id[16];

	/* Intel's order: the levels are sorted newest first; the first level
	 * the platform meets or exceeds is its level */
	for (size_t i = 0; i < c->n_levels && !lv; i++)
		if (ge16(pck->comp, c->levels[i].sgx, 0) &&
		    pck->pcesvn >= c->levels[i].pcesvn &&
		    ge16(svn, c->levels[i].tdx, svn[1] > 0 ? 2 : 0))
			lv = &c->levels[i];
	*date = "";
	if (!lv)
		return SN_TCB_NO_MATCH;
	*date = lv->date;
	if (svn[1] == 0)
		return lv->status;
	/* TDX module major version >= 1: its own identity decides */
	snprintf(id, sizeof(id), "TDX_%02X", svn[1]);
	for (size_t m = 0; m < c->n_modules; m++) {
		const struct sn_tdx_module *mod = &c->modules[m];

		if (strcasecmp(mod->id, id))
			continue;
		for (size_t i = 0; i < mod->n_levels; i++)
			if (svn[0] >= mod->levels[i].isvsvn) {
				*date = mod->levels[i].date;
				return mod->levels[i].status;
			}
	}
	return SN_TCB_NO_MATCH;
}

static void check_time(time_t t, time_t from, time_t until, const char *what,
		       struct sn_appraisal *a)
{
	if (t < from)
		sn_appraisal_add(a, SN_R_COLLATERAL_EXPIRED,
				 "%s is not valid before its issueDate", what);
	else if (t >= until)
		sn_appraisal_add(a, SN_R_COLLATERAL_EXPIRED,
				 "%s expired: its nextUpdate has passed; fetch "
				 "current collateral from Intel PCS",
				 what);
}

/* The Intel SGX TCB Signing certificate, chained to the pinned root. */
static X509 *signing_cert(const struct sn_tdx_collateral *c, time_t t,
			  X509 **root, struct sn_appraisal *a)
{
	X509 *leaf = NULL, *iss;
	uint8_t h[SN_SHA256_LEN];
	char cn[64];

	for (size_t i = 0; i < c->n_chain && !leaf; i++) {
		sn_cert_cn(c->chain[i], cn, sizeof(cn));
		if (!strcmp(cn, "Intel SGX TCB Signing"))
			leaf = c->chain[i];
	}
	if (!leaf) {
		sn_appraisal_add(a, SN_R_COLLATERAL_SIGNATURE,
				 "the collateral issuer chain has no \"Intel "
				 "SGX TCB Signing\" certificate");
		return NULL;
	}
	iss = sn_cert_find_issuer(leaf, (X509 **)c->chain, c->n_chain);
	if (!iss || X509_verify(leaf, X509_get0_pubkey(iss)) != 1 ||
	    !sn_cert_self_signed(iss) || sn_spki_sha256(iss, h) ||
	    memcmp(h, sn_intel_root_spki, sizeof(h))) {
		ERR_clear_error();
		sn_appraisal_add(a, SN_R_COLLATERAL_SIGNATURE,
				 "the TCB Signing certificate is not signed "
				 "by the pinned Intel SGX Root CA");
		return NULL;
	}
	sn_cert_check_time(leaf, t, "TCB Signing certificate", a);
	sn_cert_check_time(iss, t, "Intel SGX Root CA certificate", a);
	*root = iss;
	return leaf;
}

static void check_sig(EVP_PKEY *k, const uint8_t *data, size_t len,
		      const uint8_t sig[64], const char *what,
		      struct sn_appraisal *a)
{
	if (sn_ecdsa_verify_rs(k, EVP_sha256(), data, len, sig, sig + 32, 32,
			       false))
		sn_appraisal_add(a, SN_R_COLLATERAL_SIGNATURE,
				 "%s signature does not verify with the Intel "
				 "SGX TCB Signing key",
				 what);
}

static void check_crl(X509_CRL *crl, X509 *issuer, time_t t, const char *what,
		      X509 *const *certs, const char *const *names, size_t n,
		      struct sn_appraisal *a)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	X509_REVOKED *r;

	if (!issuer ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl),
			  X509_get_subject_name(issuer)) ||
	    X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
		ERR_clear_error();
		sn_appraisal_add(a, SN_R_COLLATERAL_SIGNATURE,
				 "%s is not issued and signed by the CA that "
				 "issued the certificates it must cover",
				 what);
		return;
	}
	if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &t) > 0)
		sn_appraisal_add(a, SN_R_COLLATERAL_EXPIRED,
				 "%s is not valid before its thisUpdate", what);
	if (!next || X509_cmp_time(next, &t) < 0)
		sn_appraisal_add(a, SN_R_COLLATERAL_EXPIRED,
				 "%s expired: its nextUpdate has passed", what);
	for (size_t i = 0; i < n; i++)
		if (certs[i] && X509_CRL_get0_by_cert(crl, &r, certs[i]) == 1)
			sn_appraisal_add(a, SN_R_CERT_REVOKED,
					 "the %s is revoked by the %s",
					 names[i], what);
	ERR_clear_error();
}

static bool masked_eq(const uint8_t *have, const uint8_t *mask,
		      const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((have[i] & mask[i]) != want[i])
			return false;
	return true;
}

static void check_qe(const struct sn_tdx_collateral *c, const uint8_t *qe,
		     struct sn_appraisal *a)
{
	uint16_t isvsvn = sn_le16(qe + QE_ISVSVN);

	if (memcmp(qe + QE_MRSIGNER, c->qe_mrsigner, 32))
		sn_appraisal_add(a, SN_R_QE_IDENTITY,
				 "QE MRSIGNER differs from the QE identity's");
	if (sn_le16(qe + QE_ISVPRODID) != c->qe_isvprodid)
		sn_appraisal_add(a, SN_R_QE_IDENTITY,
				 "QE ISVPRODID %u != QE identity isvprodid %u",
				 sn_le16(qe + QE_ISVPRODID), c->qe_isvprodid);
	if (!masked_eq(qe + QE_MISCSELECT, c->qe_miscselect_mask,
		       c->qe_miscselect, 4))
		sn_appraisal_add(a, SN_R_QE_IDENTITY,
				 "QE MISCSELECT & miscselectMask differs from "
				 "the QE identity's miscselect");
	if (!masked_eq(qe + QE_ATTRIBUTES, c->qe_attr_mask, c->qe_attr, 16))
		sn_appraisal_add(a, SN_R_QE_IDENTITY,
				 "QE ATTRIBUTES & attributesMask differs from "
				 "the QE identity's attributes");
	a->tdx_tcb.qe = SN_TCB_NO_MATCH;
	for (size_t i = 0; i < c->n_qe_levels; i++)
		if (isvsvn >= c->qe_levels[i].isvsvn) {
			a->tdx_tcb.qe = c->qe_levels[i].status;
			break;
		}
}

static void check_module(const struct sn_tdx_collateral *c, const uint8_t *body,
			 const uint8_t *svn, struct sn_appraisal *a)
{
	const uint8_t *mrsigner = c->module_mrsigner, *attr = c->module_attr,
		      *mask = c->module_attr_mask;
	char id[16];

	if (svn[1] > 0) { /* the module identity for this major version */
		snprintf(id, sizeof(id), "TDX_%02X", svn[1]);
		for (size_t m = 0; m < c->n_modules; m++)
			if (!strcasecmp(c->modules[m].id, id)) {
				mrsigner = c->modules[m].mrsigner;
				attr = c->modules[m].attr;
				mask = c->modules[m].attr_mask;
			}
	}
	if (memcmp(body + B_MRSIGNERSEAM, mrsigner, 48) ||
	    !masked_eq(body + B_SEAM_ATTR, mask, attr, 8))
		sn_appraisal_add(a, SN_R_COLLATERAL_MISMATCH,
				 "MRSIGNERSEAM / SEAM attributes differ from "
				 "the TCB info's TDX module identity");
}

void sn_tdx_collateral_check(const struct sn_tdx_collateral *c,
			     const struct sn_tdx_parts *p, X509 *pck,
			     X509 **pool, size_t n_pool, time_t at,
			     struct sn_appraisal *a)
{
	const uint8_t *body = p->signed_data + SN_TDX_HEADER_LEN;
	time_t t = at ? at : time(NULL);
	X509 *signer, *root = NULL, *pck_ca;
	struct sn_pck_tcb tcb;
	static const char *const pck_name[] = {"PCK certificate"};
	const char *date;

	signer = signing_cert(c, t, &root, a);
	if (signer) {
		check_sig(X509_get0_pubkey(signer), c->tcb_raw, c->tcb_raw_len,
			  c->tcb_sig, "TCB info", a);
		check_sig(X509_get0_pubkey(signer), c->qe_raw, c->qe_raw_len,
			  c->qe_sig, "QE identity", a);
	}
	check_time(t, c->tcb_issue, c->tcb_next, "TCB info", a);
	check_time(t, c->qe_issue, c->qe_next, "QE identity", a);
	pck_ca = sn_cert_find_issuer(pck, pool, n_pool);
	if (root) {
		X509 *const certs[] = {signer, pck_ca};
		static const char *const names[] = {"TCB Signing certificate",
						    "PCK CA certificate"};

		check_crl(c->root_crl, root, t, "root CA CRL", certs, names, 2,
			  a);
	}
	check_crl(c->pck_crl, pck_ca, t, "PCK CRL", &pck, pck_name, 1, a);
	if (sn_pck_tcb_parse(pck, &tcb)) {
		sn_appraisal_add(a, SN_R_CERT_MALFORMED,
				 "the PCK certificate's SGX extension "
				 "(1.2.840.113741.1.13.1) lacks the TCB, "
				 "PCE-ID or FMSPC");
		return;
	}
	memcpy(a->tdx_tcb.fmspc, tcb.fmspc, sizeof(tcb.fmspc));
	if (memcmp(tcb.fmspc, c->fmspc, 6) || memcmp(tcb.pce_id, c->pce_id, 2))
		sn_appraisal_add(a, SN_R_COLLATERAL_MISMATCH,
				 "the TCB info is for another platform (FMSPC "
				 "or PCE-ID differs from the PCK "
				 "certificate's)");
	/* TEE_TCB_SVN is the first field of the TD report body */
	check_module(c, body, body, a);
	check_qe(c, p->qe_report, a);
	a->tdx_tcb.platform = sn_tdx_platform_status(c, &tcb, body, &date);
	snprintf(a->tdx_tcb.tcb_date, sizeof(a->tdx_tcb.tcb_date), "%s", date);
	/* the statuses are judged by the appraisal; any failed check above
	 * has its own reason and rejects the evidence already */
	a->tdx_tcb.evaluated = true;
}
