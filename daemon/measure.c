// SPDX-License-Identifier: Apache-2.0
/*
 * Launch measurement of the simulated TEE: what the sim backend puts in
 * the report's MEASUREMENT field, standing in for what SEV-SNP / TDX
 * firmware measures at launch.  It covers the sealnetd binary, the BPF
 * object the library loads and the node configuration file (running from
 * a workflow manifest: the node-local file, or nothing -- the empty
 * string's digest -- without one; the manifest is bound by the
 * measurement log); `sealnetd
 * --print-measurement` prints it for appraisal policies.  (The data
 * plane's runtime measurement -- the loaded programs' kernel tags -- is
 * the measurement log, lib/dataplane/loader.c sn_dp_measure.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sealnet/dataplane.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnetd.h"

/* launch measurement of the sim TEE: SHA-384 over SHA-384 of the sealnetd
 * binary, of the BPF object, and of the node configuration file */
int sn_launch_measurement(const struct sn_node_config *cfg, uint8_t out[48])
{
	const char *files[] = {"/proc/self/exe", cfg->path};
	uint8_t dig[48], res[48];
	EVP_MD_CTX *all = EVP_MD_CTX_new();
	int err = -EIO;

	if (!all || !EVP_DigestInit_ex(all, EVP_sha384(), NULL))
		goto out;
	for (int i = 0; i < 2; i++) {
		uint8_t *buf;
		size_t len;

		/* from a manifest without a local file: nothing */
		err = files[i][0] ? sn_read_file(files[i], 256u << 20, &buf,
						 &len) :
				    ((buf = calloc(1, 1)) ? (len = 0, 0) : -ENOMEM);
		if (err) {
			sn_err("measuring %s failed: %s", files[i],
			       strerror(-err));
			goto out;
		}
		err = -EIO;
		if (!EVP_Digest(buf, len, dig, NULL, EVP_sha384(), NULL)) {
			free(buf);
			goto out;
		}
		OPENSSL_cleanse(buf, len);
		free(buf);
		if (!EVP_DigestUpdate(all, dig, sizeof(dig)))
			goto out;
		if (i == 0) {
			err = sn_dp_object_digest(dig);
			if (err)
				goto out;
			err = -EIO;
			if (!EVP_DigestUpdate(all, dig, sizeof(dig)))
				goto out;
		}
	}
	if (!EVP_DigestFinal_ex(all, res, NULL))
		goto out;
	memcpy(out, res, sizeof(res));
	err = 0;
out:
	EVP_MD_CTX_free(all);
	return err;
}
