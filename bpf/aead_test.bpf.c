// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * BPF_PROG_TEST_RUN harness for the kernel AEAD (bpf/lib/aead.h): the
 * packet is a struct sn_aead_req plus the message; see
 * bpf/lib/aead_test_abi.h.
 */
#include "lib/common.h"
#include "lib/aead.h"
#include "lib/aead_test_abi.h"

#define SN_SCRATCH_SIZE (SN_BUF_SIZE + SN_BUF_PAD)

struct sn_scratch {
	__u8 b[SN_SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sn_scratch);
} sn_aead_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sn_aead_req);
} sn_aead_reqbuf SEC(".maps");

SEC("tc")
int sn_aead_test(struct __sk_buff *skb)
{
	const __u32 hlen = sizeof(struct sn_aead_req);
	struct sn_aead_req *req;
	struct sn_scratch *s;
	__u32 zero = 0, len, off, aad_len;
	int err = 0;

	req = bpf_map_lookup_elem(&sn_aead_reqbuf, &zero);
	s = bpf_map_lookup_elem(&sn_aead_scratch, &zero);
	if (!req || !s)
		return SN_AEAD_ST_HELPER;
	if (skb->len < hlen)
		return SN_AEAD_ST_INVAL;
	if (bpf_skb_load_bytes(skb, 0, req, hlen))
		return SN_AEAD_ST_HELPER;
	len = req->len;
	off = req->off;
	aad_len = req->aad_len;
	if (len > SN_AEAD_MAX_LEN || off > SN_AEAD_REQ_MAX_OFF ||
	    aad_len > SN_AEAD_REQ_MAX_AAD || skb->len != hlen + len)
		return SN_AEAD_ST_INVAL;
	if (len && bpf_skb_load_bytes(skb, hlen, s->b + off, len))
		return SN_AEAD_ST_HELPER;

	switch (req->op) {
	case SN_AEAD_OP_SEAL:
		err = sn_aead_seal(req->key, req->nonce, req->aad, aad_len,
				   s->b, off, len, req->tag);
		break;
	case SN_AEAD_OP_OPEN:
		err = sn_aead_open(req->key, req->nonce, req->aad, aad_len,
				   s->b, off, len, req->tag);
		break;
	case SN_AEAD_OP_CHACHA20:
		err = sn_chacha20_xor_msg(req->key, req->counter, req->nonce,
					  s->b, off, len);
		break;
	case SN_AEAD_OP_POLY1305:
		err = sn_poly1305_mac(req->key, s->b, off, len, req->tag);
		break;
	default:
		return SN_AEAD_ST_INVAL;
	}
	if (err == -SN_AEAD_EBADMSG)
		return SN_AEAD_ST_BADMSG;
	if (err)
		return SN_AEAD_ST_INVAL;
	if (req->flags & SN_AEAD_F_NOWRITE)
		return SN_AEAD_ST_OK;
	if (len && bpf_skb_store_bytes(skb, hlen, s->b + off, len, 0))
		return SN_AEAD_ST_HELPER;
	if (bpf_skb_store_bytes(skb, __builtin_offsetof(struct sn_aead_req, tag),
				req->tag, SN_TAG_LEN, 0))
		return SN_AEAD_ST_HELPER;
	return SN_AEAD_ST_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
