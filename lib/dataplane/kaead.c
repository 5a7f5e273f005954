// SPDX-License-Identifier: Apache-2.0
/* The kernel AEAD driven through BPF_PROG_TEST_RUN (see sealnet/kaead.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sealnet/kaead.h"
#include "sealnet/abi.h"
#include "sealnet/log.h"
#include "lib/aead_test_abi.h"
#include "aead_test.skel.h"

_Static_assert(SN_KAEAD_MAX_LEN == SN_MAX_L4, "kaead: max length");
_Static_assert(SN_KAEAD_MAX_AAD == SN_AEAD_REQ_MAX_AAD, "kaead: max aad");
_Static_assert(SN_KAEAD_MAX_OFF == SN_AEAD_REQ_MAX_OFF, "kaead: max off");
_Static_assert((int)SN_KAEAD_SEAL == SN_AEAD_OP_SEAL &&
		       (int)SN_KAEAD_OPEN == SN_AEAD_OP_OPEN &&
		       (int)SN_KAEAD_CHACHA20 == SN_AEAD_OP_CHACHA20 &&
		       (int)SN_KAEAD_POLY1305 == SN_AEAD_OP_POLY1305,
	       "kaead: op numbers");

static pthread_mutex_t kaead_lock = PTHREAD_MUTEX_INITIALIZER;
static struct aead_test_bpf *kaead_skel;
static int kaead_fd = -1;

int sn_kaead_load(void)
{
	struct aead_test_bpf *skel;
	int err = 0;

	pthread_mutex_lock(&kaead_lock);
	if (kaead_skel)
		goto out;
	skel = aead_test_bpf__open_and_load();
	if (!skel) {
		err = errno ? -errno : -EINVAL;
		sn_err("kaead: cannot load the BPF AEAD harness: %s",
		       strerror(-err));
		goto out;
	}
	kaead_skel = skel;
	kaead_fd = bpf_program__fd(skel->progs.sn_aead_test);
out:
	pthread_mutex_unlock(&kaead_lock);
	return err;
}

void sn_kaead_unload(void)
{
	pthread_mutex_lock(&kaead_lock);
	aead_test_bpf__destroy(kaead_skel);
	kaead_skel = NULL;
	kaead_fd = -1;
	pthread_mutex_unlock(&kaead_lock);
}

static int kaead_prog_fd(void)
{
	int fd, err;

	err = sn_kaead_load();
	if (err)
		return err;
	pthread_mutex_lock(&kaead_lock);
	fd = kaead_fd;
	pthread_mutex_unlock(&kaead_lock);
	return fd >= 0 ? fd : -ENOENT;
}

static int kaead_check(const struct sn_kaead_req *r)
{
	if (r->op < SN_KAEAD_SEAL || r->op > SN_KAEAD_POLY1305)
		return -EINVAL;
	if (!r->key || r->len > SN_KAEAD_MAX_LEN || r->off > SN_KAEAD_MAX_OFF)
		return -EINVAL;
	if (r->len && !r->in)
		return -EINVAL;
	if (r->op != SN_KAEAD_POLY1305 && (!r->nonce || (r->len && !r->out)))
		return -EINVAL;
	if (r->op == SN_KAEAD_SEAL || r->op == SN_KAEAD_OPEN) {
		if (r->aad_len > SN_KAEAD_MAX_AAD || (r->aad_len && !r->aad))
			return -EINVAL;
	} else if (r->aad_len) {
		return -EINVAL;
	}
	return 0;
}

/* Build the test packet; *pkt is malloc'd, holds key material. */
static int kaead_packet(const struct sn_kaead_req *r, uint8_t flags,
			uint8_t **pkt, size_t *size)
{
	size_t n = sizeof(struct sn_aead_req) + r->len;
	struct sn_aead_req *h;
	uint8_t *p;

	p = calloc(1, n);
	if (!p)
		return -ENOMEM;
	h = (struct sn_aead_req *)p;
	h->op = (__u8)r->op;
	h->flags = flags;
	h->aad_len = (__u8)r->aad_len;
	h->off = (__u8)r->off;
	h->len = (__u32)r->len;
	h->counter = r->counter;
	memcpy(h->key, r->key, sizeof(h->key));
	if (r->nonce)
		memcpy(h->nonce, r->nonce, sizeof(h->nonce));
	memcpy(h->tag, r->tag, sizeof(h->tag));
	if (r->aad_len)
		memcpy(h->aad, r->aad, r->aad_len);
	if (r->len)
		memcpy(p + sizeof(*h), r->in, r->len);
	*pkt = p;
	*size = n;
	return 0;
}

static void kaead_free(uint8_t *p, size_t n)
{
	if (p) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

static int kaead_status(int retval)
{
	switch (retval) {
	case SN_AEAD_ST_OK:
		return 0;
	case SN_AEAD_ST_BADMSG:
		return -EBADMSG;
	case SN_AEAD_ST_INVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int sn_kaead_run(struct sn_kaead_req *r)
{
	uint8_t *in = NULL, *out = NULL;
	size_t n = 0;
	int fd, err;

	err = kaead_check(r);
	if (err)
		return err;
	fd = kaead_prog_fd();
	if (fd < 0)
		return fd;
	err = kaead_packet(r, 0, &in, &n);
	if (err)
		return err;
	out = calloc(1, n);
	if (!out) {
		err = -ENOMEM;
		goto cleanup;
	}

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = (__u32)n, .data_out = out,
		    .data_size_out = (__u32)n, .repeat = 1);
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err) {
		err = err < 0 ? err : -EIO;
		sn_err("kaead: BPF_PROG_TEST_RUN: %s", strerror(-err));
		goto cleanup;
	}
	err = kaead_status((int)opts.retval);
	if (err)
		goto cleanup;
	if (opts.data_size_out != n) {
		err = -EIO;
		goto cleanup;
	}
	if (r->op != SN_KAEAD_POLY1305 && r->len)
		memcpy(r->out, out + sizeof(struct sn_aead_req), r->len);
	if (r->op == SN_KAEAD_SEAL || r->op == SN_KAEAD_POLY1305)
		memcpy(r->tag, ((struct sn_aead_req *)out)->tag, sizeof(r->tag));
cleanup:
	kaead_free(in, n);
	kaead_free(out, n);
	return err;
}

/* Run r, which computes a tag (SEAL, POLY1305): *tag written on success. */
static int kaead_run_tag(struct sn_kaead_req *r, uint8_t tag[16])
{
	int err;

	if (!tag)
		return -EINVAL;
	err = sn_kaead_run(r);
	if (!err)
		memcpy(tag, r->tag, sizeof(r->tag));
	return err;
}

int sn_kaead_seal(const uint8_t key[32], const uint8_t nonce[12],
		  const uint8_t *aad, size_t aad_len, const uint8_t *pt,
		  size_t len, uint8_t *ct, uint8_t tag[16])
{
	struct sn_kaead_req r = {
		.op = SN_KAEAD_SEAL, .key = key, .nonce = nonce, .aad = aad,
		.aad_len = aad_len, .in = pt, .len = len, .out = ct,
	};

	return kaead_run_tag(&r, tag);
}

int sn_kaead_open(const uint8_t key[32], const uint8_t nonce[12],
		  const uint8_t *aad, size_t aad_len, const uint8_t *ct,
		  size_t len, const uint8_t tag[16], uint8_t *pt)
{
	struct sn_kaead_req r = {
		.op = SN_KAEAD_OPEN, .key = key, .nonce = nonce, .aad = aad,
		.aad_len = aad_len, .in = ct, .len = len, .out = pt,
	};

	if (!tag)
		return -EINVAL;
	memcpy(r.tag, tag, sizeof(r.tag));
	return sn_kaead_run(&r);
}

int sn_kaead_chacha20(const uint8_t key[32], uint32_t counter,
		      const uint8_t nonce[12], const uint8_t *in, size_t len,
		      uint8_t *out)
{
	struct sn_kaead_req r = {
		.op = SN_KAEAD_CHACHA20, .key = key, .nonce = nonce,
		.counter = counter, .in = in, .len = len, .out = out,
	};

	return sn_kaead_run(&r);
}

int sn_kaead_poly1305(const uint8_t key[32], const uint8_t *msg, size_t len,
		      uint8_t tag[16])
{
	struct sn_kaead_req r = {
		.op = SN_KAEAD_POLY1305, .key = key, .in = msg, .len = len,
	};

	return kaead_run_tag(&r, tag);
}

int sn_kaead_bench(enum sn_kaead_op op, size_t len, uint32_t repeat,
		   uint64_t *ns)
{
	static const uint8_t key[32] = { 1, 2, 3, 4 };
	static const uint8_t nonce[12] = { 5, 6, 7 };
	static const uint8_t aad[20] = { 8, 9 };
	uint8_t *msg = NULL, *pkt = NULL;
	struct sn_kaead_req r = {
		.op = SN_KAEAD_SEAL, .key = key, .nonce = nonce, .aad = aad,
		.aad_len = sizeof(aad), .len = len,
	};
	size_t n = 0;
	int fd, err;

	if (op < SN_KAEAD_SEAL || op > SN_KAEAD_POLY1305 || !repeat || !ns ||
	    len > SN_KAEAD_MAX_LEN)
		return -EINVAL;
	fd = kaead_prog_fd();
	if (fd < 0)
		return fd;
	msg = calloc(1, len + 1);
	if (!msg)
		return -ENOMEM;
	r.in = msg;
	r.out = msg;
	if (op == SN_KAEAD_OPEN) {
		/* a valid ciphertext, so that every run decrypts */
		err = sn_kaead_run(&r);
		if (err)
			goto cleanup;
	}
	r.op = op;
	if (op == SN_KAEAD_CHACHA20 || op == SN_KAEAD_POLY1305)
		r.aad_len = 0;
	err = kaead_packet(&r, SN_AEAD_F_NOWRITE, &pkt, &n);
	if (err)
		goto cleanup;

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
		    .data_size_in = (__u32)n, .repeat = repeat);
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err) {
		err = err < 0 ? err : -EIO;
		goto cleanup;
	}
	err = kaead_status((int)opts.retval);
	if (err)
		goto cleanup;
	*ns = opts.duration;
cleanup:
	kaead_free(pkt, n);
	free(msg);
	return err;
}

int sn_kaead_object_digest(uint8_t out[48])
{
	size_t sz;
	const void *obj = aead_test_bpf__elf_bytes(&sz);

	if (!EVP_Digest(obj, sz, out, NULL, EVP_sha384(), NULL))
		return -EIO;
	return 0;
}
