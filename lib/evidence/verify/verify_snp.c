// SPDX-License-Identifier: Apache-2.0
/*
 * SEV-SNP authenticity: report signature (ECDSA P-384 / SHA-384 by the
 * VCEK or VLEK), VCEK/VLEK -> ASK/ASVK -> ARK (RSASSA-PSS), ARK pinned,
 * certificate validity at a given time, VCEK TCB and hwID == report.
 */
#include <errno.h>
#include <stdio.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "verify.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

#define SNP_SIG_ALGO_ECDSA_P384_SHA384 1
#define SNP_SIG_R		       0x2A0
#define SNP_SIG_S		       0x2E8
#define SNP_SIG_COMP		       72
#define SNP_SIGNER_INFO		       0x48

/*
 * AMD ARK pins: SHA-256 of the SubjectPublicKeyInfo DER of the real AMD
 * root keys (roots/amd/ask_ark_*.pem, second certificate), computed with
 *   openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER |
 *   sha256sum
 * The VCEK and VLEK chains of one product share the same ARK.
 */
static const struct {
	enum sn_amd_product product;
	const char *name;
	const char *spki; /* lowercase hex, as sha256sum prints it */
} amd_arks[] = {
	{SN_AMD_MILAN, "ARK-Milan",
	 "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9"},
	{SN_AMD_GENOA, "ARK-Genoa",
	 "429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831"},
	{SN_AMD_TURIN, "ARK-Turin",
	 "4f125410563a2ab9a50356f9243f6fe0b6f73de98603f53f90339c70e9d7ad08"},
};

/* VCEK/VLEK extension OIDs */
#define OID_BL_SPL    "1.3.6.1.4.1.3704.1.3.1"
#define OID_TEE_SPL   "1.3.6.1.4.1.3704.1.3.2"
#define OID_SNP_SPL   "1.3.6.1.4.1.3704.1.3.3"
#define OID_UCODE_SPL "1.3.6.1.4.1.3704.1.3.8"
#define OID_FMC_SPL   "1.3.6.1.4.1.3704.1.3.9"
#define OID_HWID      "1.3.6.1.4.1.3704.1.4"

static ASN1_OCTET_STRING *ext_data(X509 *x, const char *oid)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int idx;

	if (!obj)
		return NULL;
	idx = X509_get_ext_by_OBJ(x, obj, -1);
	ASN1_OBJECT_free(obj);
	if (idx < 0)
		return NULL;
	return X509_EXTENSION_get_data(X509_get_ext(x, idx));
}

/* TCB extension: an OCTET STRING holding a DER INTEGER. -1 if absent. */
static int ext_spl(X509 *x, const char *oid)
{
	ASN1_OCTET_STRING *os = ext_data(x, oid);
	const unsigned char *p;
	ASN1_INTEGER *i;
	uint64_t v = 0;
	int ok;

	if (!os)
		return -1;
	p = ASN1_STRING_get0_data(os);
	i = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(os));
	if (!i) {
		ERR_clear_error();
		return -2;
	}
	ok = ASN1_INTEGER_get_uint64(&v, i);
	ASN1_INTEGER_free(i);
	ERR_clear_error();
	return ok && v <= 255 ? (int)v : -2;
}

static void check_tcb(X509 *leaf, const struct sn_tcb *t, bool turin,
		      struct sn_appraisal *a)
{
	static const struct {
		const char *oid, *name;
	} comp[] = {
		{OID_BL_SPL, "bootloader"}, {OID_TEE_SPL, "tee"},
		{OID_SNP_SPL, "snp"},	    {OID_UCODE_SPL, "microcode"},
		{OID_FMC_SPL, "fmc"},
	};
	const uint8_t have[] = {t->bootloader, t->tee, t->snp, t->microcode,
				t->fmc};

	for (size_t i = 0; i < SN_ARRAY_SIZE(comp); i++) {
		int v = ext_spl(leaf, comp[i].oid);

		if (i == 4 && (!turin || v == -1))
			continue; /* fmcSPL only on Turin */
		if (v < 0)
			sn_appraisal_add(a, SN_R_TCB_MISMATCH,
					 "certificate has no valid %s SPL "
					 "extension (%s)",
					 comp[i].name, comp[i].oid);
		else if (v != have[i])
			sn_appraisal_add(a, SN_R_TCB_MISMATCH,
					 "%s SPL: certificate %d, report "
					 "reported_tcb %u",
					 comp[i].name, v, have[i]);
	}
}

static void check_hwid(X509 *leaf, const uint8_t chip_id[64], bool turin,
		       struct sn_appraisal *a)
{
	ASN1_OCTET_STRING *os = ext_data(leaf, OID_HWID);
	const uint8_t *d;
	int n;

	if (!os) {
		sn_appraisal_add(a, SN_R_CHIP_ID_MISMATCH,
				 "VCEK has no hwID extension (%s)", OID_HWID);
		return;
	}
	d = ASN1_STRING_get0_data(os);
	n = ASN1_STRING_length(os);
	if (n >= 2 && d[0] == 0x04 && d[1] == n - 2 &&
	    (n - 2 == 64 || n - 2 == 8)) {
		d += 2; /* hwID wrapped in a second OCTET STRING */
		n -= 2;
	}
	if (!(n == 64 || (turin && n == 8)) || memcmp(d, chip_id, (size_t)n))
		sn_appraisal_add(a, SN_R_CHIP_ID_MISMATCH,
				 "VCEK hwID (%d bytes) differs from the "
				 "report's chip_id",
				 n);
}

static int load_certs(const struct sn_evidence *ev, X509 **xs,
		      struct sn_appraisal *a)
{
	int n = 0;

	for (size_t i = 0; i < ev->n_certs; i++) {
		X509 *x = sn_x509_from_der_cached(ev->certs[i].der,
						  ev->certs[i].len);

		if (!x) {
			ERR_clear_error();
			sn_appraisal_add(
				a, SN_R_CERT_MALFORMED,
				"certificate %zu is not valid DER X.509",
				i + 1);
			continue;
		}
		xs[n++] = x;
	}
	return n;
}

static void check_root(X509 *ark, const struct sn_verify_opts *opts,
		       struct sn_appraisal *a, enum sn_amd_product *prod)
{
	uint8_t h[SN_SHA256_LEN];
	char hex[2 * SN_SHA256_LEN + 1];

	if (sn_spki_sha256(ark, h)) {
		sn_appraisal_add(a, SN_R_CERT_MALFORMED, "ARK public key");
		return;
	}
	memcpy(a->root_spki_sha256, h, sizeof(h));
	sn_hex_encode(h, sizeof(h), hex);
	for (size_t i = 0; i < SN_ARRAY_SIZE(amd_arks); i++)
		if (!strcmp(hex, amd_arks[i].spki)) {
			a->claims.tee = SN_TEE_SNP;
			*prod = amd_arks[i].product;
			return;
		}
	for (size_t i = 0; opts && i < opts->n_sim_ark_spki; i++)
		if (!memcmp(h, opts->sim_ark_spki[i], sizeof(h))) {
			a->claims.tee = SN_TEE_SIM;
			return;
		}
	sn_appraisal_add(a, SN_R_ROOT_NOT_TRUSTED,
			 "ARK key is not a pinned AMD ARK (Milan/Genoa/Turin) "
			 "nor a simulated ARK named by the policy");
}

static void check_link(X509 *child, X509 *issuer, const char *cname,
		       const char *iname, struct sn_appraisal *a)
{
	if (X509_get_signature_nid(child) != NID_rsassaPss)
		sn_appraisal_add(a, SN_R_CHAIN_SIGNATURE,
				 "%s is not signed with RSASSA-PSS", cname);
	else if (!sn_x509_verify_cached(child, issuer))
		sn_appraisal_add(a, SN_R_CHAIN_SIGNATURE,
				 "%s signature does not verify with the %s key",
				 cname, iname);
	ERR_clear_error();
}

static void verify_chain(X509 *leaf, const char *kind, X509 **xs, size_t n,
			 const struct sn_verify_opts *opts,
			 struct sn_appraisal *a, enum sn_amd_product *prod)
{
	time_t at = opts ? opts->at : 0;
	X509 *ask, *ark;

	sn_cert_check_time(leaf, at, kind, a);
	ask = sn_cert_find_issuer(leaf, xs, n);
	if (!ask || sn_cert_self_signed(ask)) {
		sn_appraisal_add(a, SN_R_CHAIN_INCOMPLETE,
				 "no ASK/ASVK certificate issued the %s "
				 "(supply it with --cert)",
				 kind);
		return;
	}
	check_link(leaf, ask, kind, "ASK", a);
	sn_cert_check_time(ask, at, "ASK", a);
	ark = sn_cert_find_issuer(ask, xs, n);
	if (!ark) {
		sn_appraisal_add(a, SN_R_CHAIN_INCOMPLETE,
				 "no ARK certificate issued the ASK (supply it "
				 "with --cert)");
		return;
	}
	check_link(ask, ark, "ASK", "ARK", a);
	if (!sn_cert_self_signed(ark))
		sn_appraisal_add(a, SN_R_CHAIN_SIGNATURE,
				 "ARK is not a valid self-signed certificate");
	ERR_clear_error();
	sn_cert_check_time(ark, at, "ARK", a);
	check_root(ark, opts, a, prod);
}

void sn_verify_snp(const struct sn_evidence *ev,
		   const struct sn_verify_opts *opts, struct sn_appraisal *a)
{
	const uint8_t *r = ev->report;
	X509 *xs[SN_EVIDENCE_MAX_CERTS], *signer = NULL, *fallback = NULL;
	enum sn_amd_product prod = SN_AMD_UNKNOWN;
	uint32_t want = a->claims.signing_key;
	const char *kind = want == 1 ? "VLEK" : "VCEK";
	bool turin;
	size_t n;

	if (sn_le32(r + 0x34) != SNP_SIG_ALGO_ECDSA_P384_SHA384)
		sn_appraisal_add(
			a, SN_R_UNSUPPORTED,
			"signature algorithm %u (only 1 = ECDSA P-384 SHA-384)",
			sn_le32(r + 0x34));
	if (want > 1) {
		sn_appraisal_add(a, SN_R_UNSUPPORTED,
				 "signer_info signing key %u (0 VCEK, 1 VLEK)",
				 want);
		return;
	}
	n = (size_t)load_certs(ev, xs, a);
	for (size_t i = 0; i < n; i++) {
		char cn[64];
		EVP_PKEY *k = X509_get0_pubkey(xs[i]);

		sn_cert_cn(xs[i], cn, sizeof(cn));
		if (strcmp(cn, "SEV-VCEK") && strcmp(cn, "SEV-VLEK"))
			continue;
		if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
			continue;
		if (!sn_ecdsa_verify_rs(k, EVP_sha384(), r, SN_SNP_SIGNED_LEN,
					r + SNP_SIG_R, r + SNP_SIG_S,
					SNP_SIG_COMP, true)) {
			signer = xs[i];
			if (strcmp(cn, want ? "SEV-VLEK" : "SEV-VCEK"))
				sn_appraisal_add(a, SN_R_SIGNER_KIND,
						 "report signer_info names the "
						 "%s but it is signed by a %s",
						 kind, cn + 4);
			break;
		}
		if (!fallback && !strcmp(cn, want ? "SEV-VLEK" : "SEV-VCEK"))
			fallback = xs[i];
	}
	if (!signer && !fallback) {
		sn_appraisal_add(
			a, SN_R_NO_SIGNER_CERT,
			"no %s certificate was supplied (use --cert %s.der)",
			kind, want ? "vlek" : "vcek");
		goto out;
	}
	if (!signer) {
		sn_appraisal_add(
			a, SN_R_BAD_SIGNATURE,
			"report signature does not verify with the %s key",
			kind);
		signer = fallback;
	}
	verify_chain(signer, kind, xs, n, opts, a, &prod);
	turin = prod == SN_AMD_TURIN ||
		(prod == SN_AMD_UNKNOWN && a->claims.product == SN_AMD_TURIN);
	if (prod != SN_AMD_UNKNOWN)
		a->claims.product = prod;
	if (turin && !a->claims.reported_tcb.has_fmc)
		sn_snp_tcb_decode(a->claims.reported_tcb.raw, true,
				  &a->claims.reported_tcb);
	check_tcb(signer, &a->claims.reported_tcb, turin, a);
	if (want == 0)
		check_hwid(signer, a->claims.chip_id, turin, a);
out:
	for (size_t i = 0; i < n; i++)
		X509_free(xs[i]);
}
