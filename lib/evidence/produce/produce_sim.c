// SPDX-License-Identifier: Apache-2.0
/* The `sim` backend: producing signed SNP report v3 evidence. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "produce.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

#define SIM_POLICY	  0x30000ull /* SMT allowed, reserved bit 17 set */
#define SIM_PLATFORM_INFO 0x1ull     /* SMT enabled */

int sn_sim_measure_files(const char *const *paths, size_t n,
			 uint8_t out[SN_MEASUREMENT_LEN])
{
	struct sn_mlog m;
	int err = 0;

	sn_mlog_init(&m);
	for (size_t i = 0; i < n && !err; i++) {
		uint8_t *buf;
		size_t len;

		err = sn_read_file(paths[i], 1u << 30, &buf, &len);
		if (err) {
			sn_err("cannot read %s to measure it: %s", paths[i],
			       strerror(-err));
			break;
		}
		err = sn_mlog_extend_data(&m, SN_MLOG_OTHER, NULL, buf, len);
		free(buf);
	}
	if (!err)
		memcpy(out, m.digest, SN_MEASUREMENT_LEN);
	sn_mlog_free(&m);
	return err;
}

static int read_in(const char *dir, const char *name, uint8_t **buf,
		   size_t *len)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name), err;

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	err = sn_read_file(path, 1u << 20, buf, len);
	if (err)
		sn_err("sim: cannot read %s: %s (run 'sealnet sim-tee init "
		       "%s')",
		       path, strerror(-err), dir);
	return err;
}

/*
 * The VCEK private key, parsed once per process and key file content
 * (OpenSSL 3.0's decoders cost more than the signature): the file is read
 * at every call and its SHA-256 compared with the cached key's, so a new
 * platform or a replaced key is picked up at once.  Returns a new
 * reference.
 */
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t key_hash[SN_SHA256_LEN];
static EVP_PKEY *key_cached;

static EVP_PKEY *load_key(const char *dir)
{
	uint8_t h[SN_SHA256_LEN];
	EVP_PKEY *k = NULL;
	uint8_t *buf;
	size_t len;
	BIO *bio;

	if (read_in(dir, "vcek.key", &buf, &len))
		return NULL;
	SHA256(buf, len, h);
	pthread_mutex_lock(&key_lock);
	if (key_cached && !CRYPTO_memcmp(h, key_hash, sizeof(h)) &&
	    EVP_PKEY_up_ref(key_cached))
		k = key_cached;
	pthread_mutex_unlock(&key_lock);
	if (!k) {
		bio = BIO_new_mem_buf(buf, (int)len);
		if (bio)
			k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (k && EVP_PKEY_up_ref(k)) {
			pthread_mutex_lock(&key_lock);
			EVP_PKEY_free(key_cached);
			key_cached = k;
			memcpy(key_hash, h, sizeof(h));
			pthread_mutex_unlock(&key_lock);
		}
	}
	OPENSSL_cleanse(buf, len);
	OPENSSL_cleanse(h, sizeof(h));
	free(buf);
	ERR_clear_error();
	if (!k)
		sn_err("sim: %s/vcek.key is not a private key", dir);
	return k;
}

/* The PEM certificates of a platform file into ev as DER, without
 * parsing them (the appraiser does): "CERTIFICATE" blocks only. */
static int add_pem_certs(struct sn_evidence *ev, const char *dir,
			 const char *name, const uint8_t *buf, size_t len)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	int n = 0, err = 0;
	char *pname = NULL, *hdr = NULL;
	unsigned char *der = NULL;
	long dlen;

	if (!bio)
		return -ENOMEM;
	while (!err && PEM_read_bio(bio, &pname, &hdr, &der, &dlen) == 1) {
		if (strcmp(pname, "CERTIFICATE") || dlen <= 0)
			err = -EINVAL;
		else
			err = sn_evidence_add_der(ev, der, (size_t)dlen);
		n += !err;
		OPENSSL_free(pname);
		OPENSSL_free(hdr);
		OPENSSL_free(der);
		pname = hdr = NULL;
		der = NULL;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (!err && !n)
		err = -EINVAL;
	if (err)
		sn_err("sim: %s/%s holds no PEM certificate (run 'sealnet "
		       "sim-tee init' on a new directory)",
		       dir, name);
	return err;
}

static int sign_report(uint8_t *r, EVP_PKEY *k)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[256];
	const unsigned char *p = der;
	size_t dlen = sizeof(der);
	ECDSA_SIG *sig = NULL;
	const BIGNUM *br, *bs;
	int err = -EINVAL;

	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, k) != 1 ||
	    EVP_DigestSign(ctx, der, &dlen, r, SN_SNP_SIGNED_LEN) != 1)
		goto out;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	if (!sig)
		goto out;
	ECDSA_SIG_get0(sig, &br, &bs);
	if (BN_bn2lebinpad(br, r + 0x2A0, 72) != 72 ||
	    BN_bn2lebinpad(bs, r + 0x2E8, 72) != 72)
		goto out;
	err = 0;
out:
	ERR_clear_error();
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	return err;
}

static void build_report(uint8_t *r, const uint8_t *report_data,
			 const uint8_t *measurement, const uint8_t *chip_id)
{
	uint64_t tcb = sn_snp_tcb_encode(&sn_sim_tcb, false);

	memset(r, 0, SN_SNP_REPORT_SIZE);
	sn_put_le32(r + 0x000, 3); /* version */
	sn_put_le64(r + 0x008, SIM_POLICY);
	sn_put_le32(r + 0x030, 0);   /* VMPL */
	sn_put_le32(r + 0x034, 1);   /* ECDSA P-384 with SHA-384 */
	sn_put_le64(r + 0x038, tcb); /* current_tcb */
	sn_put_le64(r + 0x040, SIM_PLATFORM_INFO);
	sn_put_le32(r + 0x048, 0); /* signer_info: VCEK */
	memcpy(r + 0x050, report_data, SN_REPORT_DATA_LEN);
	if (measurement)
		memcpy(r + 0x090, measurement, SN_MEASUREMENT_LEN);
	RAND_bytes(r + 0x140, 32);   /* report_id */
	sn_put_le64(r + 0x180, tcb); /* reported_tcb */
	r[0x188] = 0x19;	     /* cpuid family: Zen 3/4 */
	r[0x189] = 0x01;	     /* model: Milan */
	r[0x18A] = 0x01;
	memcpy(r + 0x1A0, chip_id, SN_CHIP_ID_LEN);
	sn_put_le64(r + 0x1E0, tcb); /* committed_tcb */
	r[0x1E8] = 21; /* current build / minor / major: 1.55.21 */
	r[0x1E9] = 55;
	r[0x1EA] = 1;
	memcpy(r + 0x1EC, r + 0x1E8, 3); /* committed version */
	sn_put_le64(r + 0x1F0, tcb);	 /* launch_tcb */
}

int sn_evidence_produce_sim(const char *dir,
			    const uint8_t report_data[SN_REPORT_DATA_LEN],
			    const uint8_t measurement[SN_MEASUREMENT_LEN],
			    struct sn_evidence **out)
{
	static const char *const certs[] = {"vcek.pem", "ask.pem", "ark.pem"};
	struct sn_evidence *ev = NULL;
	uint8_t *chip = NULL, *buf;
	EVP_PKEY *k = NULL;
	size_t chip_len, len;
	int err;

	err = read_in(dir, "chip_id", &chip, &chip_len);
	if (err)
		return err;
	if (chip_len != SN_CHIP_ID_LEN) {
		sn_err("sim: %s/chip_id must hold 64 bytes", dir);
		err = -EINVAL;
		goto out;
	}
	err = sn_evidence_new(&ev);
	if (err)
		goto out;
	for (size_t i = 0; i < SN_ARRAY_SIZE(certs) && !err; i++) {
		err = read_in(dir, certs[i], &buf, &len);
		if (err)
			break;
		err = add_pem_certs(ev, dir, certs[i], buf, len);
		free(buf);
	}
	if (err)
		goto out;
	k = load_key(dir);
	ev->report = malloc(SN_SNP_REPORT_SIZE);
	if (!k || !ev->report) {
		err = k ? -ENOMEM : -EINVAL;
		goto out;
	}
	ev->report_len = SN_SNP_REPORT_SIZE;
	build_report(ev->report, report_data, measurement, chip);
	err = sign_report(ev->report, k);
	if (err) {
		sn_err("sim: signing the report with %s/vcek.key failed", dir);
		goto out;
	}
	err = sn_snp_report_parse(ev->report, ev->report_len, &ev->claims);
	if (err)
		goto out;
	ev->format = SN_FMT_TSM_JSON;
	snprintf(ev->provider, sizeof(ev->provider), "sealnet_sim");
	*out = ev;
	ev = NULL;
out:
	EVP_PKEY_free(k);
	free(chip);
	sn_evidence_free(ev);
	return err;
}

int sn_sim_ark_spki(const char *dir, uint8_t out[SN_SHA256_LEN])
{
	uint8_t *buf, h[SN_SHA256_LEN];
	X509 *x = NULL;
	size_t len;
	BIO *bio;
	int err;

	err = read_in(dir, "ark.pem", &buf, &len);
	if (err)
		return err;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(buf);
	ERR_clear_error();
	if (!x) {
		sn_err("sim: %s/ark.pem is not a certificate", dir);
		return -EINVAL;
	}
	err = sn_spki_sha256(x, h);
	X509_free(x);
	if (!err)
		memcpy(out, h, sizeof(h));
	return err;
}
