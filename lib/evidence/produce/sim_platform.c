// SPDX-License-Identifier: Apache-2.0
/*
 * The `sim` backend: a software TEE emitting SEV-SNP report v3 (real
 * layout) signed by a simulated VCEK, chained VCEK -> ASK -> ARK exactly
 * like AMD's (RSA-4096 ARK/ASK, RSASSA-PSS SHA-384 salt 48, P-384 VCEK
 * with the TCB and hwID extensions).  Platform directory layout:
 *   ark.pem ask.pem vcek.pem   certificates
 *   ark.key ask.key vcek.key   private keys, PEM, mode 0600
 *   chip_id                    64 raw bytes (also the VCEK's hwID)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "produce.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

/* The simulated platform's TCB (Milan-style encoding). */
const struct sn_tcb sn_sim_tcb = {
	.bootloader = 3,
	.tee = 0,
	.snp = 8,
	.microcode = 115,
};

static int path_in(char *buf, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int write_private(const char *dir, const char *name, EVP_PKEY *k)
{
	char path[4096];
	BIO *bio;
	int fd, err, ok;

	err = path_in(path, sizeof(path), dir, name);
	if (err)
		return err;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		sn_err("sim-tee: cannot create %s: %s", path, strerror(errno));
		return err;
	}
	bio = BIO_new_fd(fd, BIO_CLOSE);
	if (!bio) {
		close(fd);
		return -ENOMEM;
	}
	ok = PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	ok = BIO_flush(bio) == 1 && ok;
	BIO_free(bio);
	return ok ? 0 : -EIO;
}

static int write_cert(const char *dir, const char *name, X509 *x)
{
	char path[4096];
	BIO *bio;
	int ok, err;

	err = path_in(path, sizeof(path), dir, name);
	if (err)
		return err;
	bio = BIO_new_file(path, "wx");
	if (!bio) {
		sn_err("sim-tee: cannot create %s", path);
		ERR_clear_error();
		return -EIO;
	}
	ok = PEM_write_bio_X509(bio, x);
	BIO_free(bio);
	return ok ? 0 : -EIO;
}

static EVP_PKEY *keygen(bool rsa)
{
	return rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096) :
		     EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1");
}

static int sign_pss(X509 *x, EVP_PKEY *key)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestSignInit(ctx, &pctx, EVP_sha384(), NULL, key) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1 &&
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1 &&
	     X509_sign_ctx(x, ctx) > 0;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EINVAL;
}

static int set_name(X509_NAME *n, const char *cn)
{
	static const char *const f[][2] = {
		{"OU", "Engineering"},		{"C", "US"},
		{"L", "Santa Clara"},		{"ST", "CA"},
		{"O", "sealnet simulated TEE"},
	};

	for (size_t i = 0; i < SN_ARRAY_SIZE(f); i++)
		if (!X509_NAME_add_entry_by_txt(n, f[i][0], MBSTRING_ASC,
						(const unsigned char *)f[i][1],
						-1, -1, 0))
			return -EINVAL;
	return X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					  (const unsigned char *)cn, -1, -1,
					  0) ?
		       0 :
		       -EINVAL;
}

/* Add a non-critical extension whose value is the given raw bytes. */
static int add_raw_ext(X509 *x, const char *oid, const uint8_t *v, size_t n)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	int ok = obj && os && ASN1_OCTET_STRING_set(os, v, (int)n);

	if (ok)
		e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok ? 0 : -EINVAL;
}

/* AMD encodes each SPL as an OCTET STRING holding a DER INTEGER. */
static int add_spl(X509 *x, const char *oid, uint8_t v)
{
	uint8_t der[4] = {0x02, 0x01, v};

	if (v < 0x80)
		return add_raw_ext(x, oid, der, 3);
	der[1] = 2;
	der[2] = 0;
	der[3] = v;
	return add_raw_ext(x, oid, der, 4);
}

static int add_vcek_exts(X509 *x, const uint8_t chip_id[64])
{
	static const uint8_t struct_version[] = {0x02, 0x01, 0x01};
	static const uint8_t product[] = {0x16, 0x03, 'S', 'i', 'm'};
	int err = 0;

	err |= add_raw_ext(x, "1.3.6.1.4.1.3704.1.1", struct_version, 3);
	err |= add_raw_ext(x, "1.3.6.1.4.1.3704.1.2", product, sizeof(product));
	err |= add_spl(x, "1.3.6.1.4.1.3704.1.3.1", sn_sim_tcb.bootloader);
	err |= add_spl(x, "1.3.6.1.4.1.3704.1.3.2", sn_sim_tcb.tee);
	err |= add_spl(x, "1.3.6.1.4.1.3704.1.3.3", sn_sim_tcb.snp);
	err |= add_spl(x, "1.3.6.1.4.1.3704.1.3.8", sn_sim_tcb.microcode);
	err |= add_raw_ext(x, "1.3.6.1.4.1.3704.1.4", chip_id, 64);
	return err ? -EINVAL : 0;
}

static X509 *issue_cert(EVP_PKEY *subj_key, const char *cn, X509 *issuer,
			EVP_PKEY *issuer_key, long days, int serial,
			const uint8_t *chip_id)
{
	X509 *x = X509_new();
	int err = -EINVAL;

	if (!x)
		return NULL;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), days * 86400) ||
	    !X509_set_pubkey(x, subj_key))
		goto out;
	if (set_name(X509_get_subject_name(x), cn))
		goto out;
	if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
					      X509_get_subject_name(x)))
		goto out;
	if (chip_id && add_vcek_exts(x, chip_id))
		goto out;
	err = sign_pss(x, issuer_key);
out:
	if (err) {
		X509_free(x);
		ERR_clear_error();
		return NULL;
	}
	return x;
}

/* the chain, root first: private keys (mode 0600) and certificates */
enum { ARK, ASK, VCEK, N_CHAIN };
static const char *const key_file[N_CHAIN] = {"ark.key", "ask.key", "vcek.key"};
static const char *const pem_file[N_CHAIN] = {"ark.pem", "ask.pem", "vcek.pem"};

int sn_sim_platform_init(const char *dir)
{
	EVP_PKEY *k[N_CHAIN] = {NULL};
	X509 *x[N_CHAIN] = {NULL};
	uint8_t chip[SN_CHIP_ID_LEN];
	char path[4096];
	int err = -EINVAL, fd;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		sn_err("sim-tee: cannot create directory %s: %s", dir,
		       strerror(errno));
		return err;
	}
	if (RAND_bytes(chip, sizeof(chip)) != 1)
		return -EIO;
	k[ARK] = keygen(true);
	k[ASK] = keygen(true);
	k[VCEK] = keygen(false);
	if (!k[ARK] || !k[ASK] || !k[VCEK]) {
		sn_err("sim-tee: key generation failed");
		goto out;
	}
	x[ARK] = issue_cert(k[ARK], "ARK-Sim", NULL, k[ARK], 25 * 365, 1, NULL);
	x[ASK] = x[ARK] ? issue_cert(k[ASK], "SEV-Sim", x[ARK], k[ARK],
				     25 * 365, 2, NULL) :
			  NULL;
	x[VCEK] = x[ASK] ? issue_cert(k[VCEK], "SEV-VCEK", x[ASK], k[ASK],
				      7 * 365, 3, chip) :
			   NULL;
	if (!x[VCEK]) {
		sn_err("sim-tee: certificate creation failed");
		goto out;
	}
	err = 0;
	for (int i = 0; i < N_CHAIN && !err; i++)
		err = write_private(dir, key_file[i], k[i]);
	for (int i = 0; i < N_CHAIN && !err; i++)
		err = write_cert(dir, pem_file[i], x[i]);
	if (!err)
		err = path_in(path, sizeof(path), dir, "chip_id");
	if (!err) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, chip, sizeof(chip)) != sizeof(chip))
			err = -EIO;
		if (fd >= 0)
			close(fd);
	}
	if (err == -EEXIST)
		sn_err("sim-tee: %s already holds a platform", dir);
out:
	for (int i = 0; i < N_CHAIN; i++) {
		X509_free(x[i]);
		EVP_PKEY_free(k[i]); /* frees (and clears) the key material */
	}
	ERR_clear_error();
	return err;
}
