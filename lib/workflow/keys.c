// SPDX-License-Identifier: Apache-2.0
/*
 * Ed25519 for the signed documents (workflow.sig.json, lib/federation's
 * trust bundles): the private key file, signing, verifying; and reading
 * a document's file with the error in the diagnostics.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sealnet/util.h"
#include "internal.h"

int wf_read_input(const char *path, size_t max, uint8_t **buf, size_t *len,
		  struct sn_wf_diag *diag)
{
	int err = sn_read_file(path, max, buf, len);

	if (err && diag) {
		memset(diag, 0, sizeof(*diag));
		wf_err(diag, "$", "cannot read %s: %s", path, strerror(-err));
	}
	return err;
}

int wf_load_private_key(const char *path, EVP_PKEY **out, struct sn_wf_diag *d)
{
	EVP_PKEY *key = NULL;
	struct stat st;
	BIO *bio = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && (fstat(fd, &st) || (st.st_mode & 077))) {
		close(fd);
		wf_err(d, "$",
		       "the private key %s is accessible to group or "
		       "others: chmod 600 %s (and check who read it)",
		       path, path);
		return -EPERM;
	}
	bio = fd >= 0 ? BIO_new_fd(fd, BIO_CLOSE) : NULL;
	if (bio)
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else if (fd >= 0)
		close(fd);
	BIO_free(bio);
	if (!key || !EVP_PKEY_is_a(key, "ED25519")) {
		EVP_PKEY_free(key);
		wf_err(d, "$",
		       "cannot read an Ed25519 private key (PKCS#8 PEM) "
		       "from %s: `sealnet workflow keygen` makes one",
		       path);
		return -ENOKEY;
	}
	*out = key;
	return 0;
}

int wf_ed25519_sign(EVP_PKEY *k, const uint8_t *msg, size_t len,
		    uint8_t sig[SN_WF_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = SN_WF_SIG_LEN;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1 &&
	     EVP_DigestSign(ctx, sig, &n, msg, len) == 1 && n == SN_WF_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

bool wf_ed25519_verify(const uint8_t pub[SN_WF_PUB_LEN], const uint8_t *msg,
		       size_t len, const uint8_t sig[SN_WF_SIG_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
						  SN_WF_PUB_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = k && ctx &&
		  EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
		  EVP_DigestVerify(ctx, sig, SN_WF_SIG_LEN, msg, len) == 1;

	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return ok;
}
