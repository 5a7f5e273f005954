// SPDX-License-Identifier: Apache-2.0
/* The evidence object: TEE names, lifetime, certificates, measurement log. */
#include <errno.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "internal.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

/* The one TEE name <-> enum mapping (configuration, policies, CLI, logs). */
static const char *const tee_names[] = {
	[SN_TEE_SIM] = "sim",
	[SN_TEE_SNP] = "snp",
	[SN_TEE_TDX] = "tdx",
};

const char *sn_tee_name(enum sn_tee t)
{
	if ((unsigned)t < SN_ARRAY_SIZE(tee_names) && tee_names[t])
		return tee_names[t];
	return "unknown";
}

int sn_tee_from_name(const char *name, enum sn_tee *out)
{
	for (size_t i = 0; name && i < SN_ARRAY_SIZE(tee_names); i++)
		if (tee_names[i] && !strcmp(name, tee_names[i])) {
			*out = (enum sn_tee)i;
			return 0;
		}
	return -EINVAL;
}

int sn_evidence_new(struct sn_evidence **out)
{
	struct sn_evidence *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	*out = ev;
	return 0;
}

void sn_evidence_free(struct sn_evidence *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < ev->n_certs; i++)
		free(ev->certs[i].der);
	free(ev->report);
	free(ev->mlog);
	free(ev);
}

int sn_evidence_add_der(struct sn_evidence *ev, const uint8_t *der, size_t len)
{
	uint8_t *copy;

	for (size_t i = 0; i < ev->n_certs; i++) /* skip duplicates */
		if (ev->certs[i].len == len &&
		    !memcmp(ev->certs[i].der, der, len))
			return 0;
	if (ev->n_certs >= SN_EVIDENCE_MAX_CERTS) {
		sn_err("evidence: more than %d certificates",
		       SN_EVIDENCE_MAX_CERTS);
		return -E2BIG;
	}
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, der, len);
	ev->certs[ev->n_certs].der = copy;
	ev->certs[ev->n_certs].len = len;
	ev->n_certs++;
	return 0;
}

static int add_pem(struct sn_evidence *ev, const uint8_t *buf, size_t len)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	X509 *x;
	int n = 0, err = 0;

	if (!bio)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		unsigned char *der = NULL;
		int dlen = i2d_X509(x, &der);

		X509_free(x);
		if (dlen <= 0) {
			err = -EINVAL;
			break;
		}
		err = sn_evidence_add_der(ev, der, (size_t)dlen);
		OPENSSL_free(der);
		if (err)
			break;
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (!err && !n)
		err = -EINVAL;
	return err;
}

int sn_evidence_add_certs(struct sn_evidence *ev, const uint8_t *buf,
			  size_t len)
{
	size_t off = 0;
	int n = 0, err;

	if (len > SN_EVIDENCE_MAX_INPUT)
		return -E2BIG;
	if (memmem(buf, len, "-----BEGIN", 10))
		return add_pem(ev, buf, len);
	/* one or more concatenated DER certificates */
	while (off < len) {
		const unsigned char *p = buf + off;
		X509 *x = d2i_X509(NULL, &p, (long)(len - off));
		size_t used;

		if (!x) {
			ERR_clear_error();
			return -EINVAL;
		}
		X509_free(x);
		used = (size_t)(p - (buf + off));
		err = sn_evidence_add_der(ev, buf + off, used);
		if (err)
			return err;
		off += used;
		n++;
	}
	return n ? 0 : -EINVAL;
}

int sn_evidence_add_cert_file(struct sn_evidence *ev, const char *path)
{
	uint8_t *buf;
	size_t len;
	int err;

	err = sn_read_file(path, SN_EVIDENCE_MAX_INPUT, &buf, &len);
	if (err) {
		sn_err("cannot read certificate file %s: %s", path,
		       strerror(-err));
		return err;
	}
	err = sn_evidence_add_certs(ev, buf, len);
	if (err)
		sn_err("%s: no DER or PEM certificate could be read", path);
	free(buf);
	return err;
}

int sn_evidence_set_mlog(struct sn_evidence *ev, const uint8_t *mlog,
			 size_t len)
{
	uint8_t *copy = NULL;

	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, mlog, len);
	}
	free(ev->mlog);
	ev->mlog = copy;
	ev->mlog_len = len;
	return 0;
}
