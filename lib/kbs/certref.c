// SPDX-License-Identifier: Apache-2.0
/*
 * The KBS's certificates by reference (docs/kbs-api.md "Certificates by
 * reference"): the DER certificates of evidence this KBS appraised and
 * accepted, keyed by SHA-256 of the DER, so that a node may name them in
 * POST /attest instead of sending them.  A reference resolves only to
 * the exact bytes it is the hash of; the appraisal then runs on those
 * bytes exactly as on a full certificate table.  Bounded (cap entries,
 * each at most SN_KBS_CERTREF_DER_MAX bytes), the oldest insertion
 * replaced first; one mutex (the KBS's workers share it); memory only
 * (a restarted KBS holds nothing: nodes send their table again).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "sealnet/kbs.h"

struct certref_slot {
	uint8_t h[SN_SHA256_LEN];
	uint8_t *der; /* NULL: free */
	size_t len;
};

struct sn_kbs_certref {
	pthread_mutex_t lock;
	struct certref_slot *slot;
	size_t cap, next;
};

int sn_kbs_certref_new(size_t cap, struct sn_kbs_certref **out)
{
	struct sn_kbs_certref *c;

	if (!cap || cap > SN_KBS_CERTREF_CAP_MAX)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->slot = calloc(cap, sizeof(*c->slot));
	if (!c->slot) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->cap = cap;
	*out = c;
	return 0;
}

void sn_kbs_certref_free(struct sn_kbs_certref *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++)
		free(c->slot[i].der);
	pthread_mutex_destroy(&c->lock);
	free(c->slot);
	free(c);
}

static struct certref_slot *find(struct sn_kbs_certref *c,
				 const uint8_t h[SN_SHA256_LEN])
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->slot[i].der && !memcmp(c->slot[i].h, h, SN_SHA256_LEN))
			return &c->slot[i];
	return NULL;
}

int sn_kbs_certref_add(struct sn_kbs_certref *c, const uint8_t *der, size_t len)
{
	uint8_t h[SN_SHA256_LEN], *copy;
	struct certref_slot *s;

	if (!len || len > SN_KBS_CERTREF_DER_MAX)
		return -E2BIG;
	SHA256(der, len, h);
	pthread_mutex_lock(&c->lock);
	if (find(c, h)) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pthread_mutex_unlock(&c->lock);
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, der, len);
	pthread_mutex_lock(&c->lock);
	if (find(c, h)) { /* another worker added it meanwhile */
		pthread_mutex_unlock(&c->lock);
		free(copy);
		return 0;
	}
	s = &c->slot[c->next];
	c->next = (c->next + 1) % c->cap;
	free(s->der);
	memcpy(s->h, h, SN_SHA256_LEN);
	s->der = copy;
	s->len = len;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int sn_kbs_certref_get(struct sn_kbs_certref *c, const uint8_t h[SN_SHA256_LEN],
		       uint8_t **der, size_t *len)
{
	struct certref_slot *s;
	uint8_t *copy = NULL;
	size_t n = 0;
	int err = -ENOENT;

	pthread_mutex_lock(&c->lock);
	s = find(c, h);
	if (s) {
		n = s->len;
		copy = malloc(n);
		if (copy)
			memcpy(copy, s->der, n);
		err = copy ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&c->lock);
	if (err)
		return err;
	*der = copy;
	*len = n;
	return 0;
}

size_t sn_kbs_certref_count(struct sn_kbs_certref *c)
{
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->cap; i++)
		n += c->slot[i].der != NULL;
	pthread_mutex_unlock(&c->lock);
	return n;
}

int sn_kbs_attest_evidence(struct sn_kbs_certref *c,
			   const struct sn_kbs_attest_request *r,
			   struct sn_evidence **ev, char **unknown)
{
	struct sn_cert_der d[SN_EVIDENCE_MAX_CERTS] = {0};
	json_t *miss = NULL;
	int err = 0;

	*ev = NULL;
	if (!r->evidence_obj)
		return sn_evidence_parse(r->evidence, r->evidence_len, ev) ?
			       -EINVAL :
			       0;
	for (size_t i = 0; i < r->n_cert_refs && err != -ENOMEM; i++) {
		int e = sn_kbs_certref_get(c, r->cert_refs[i], &d[i].der,
					   &d[i].len);
		char *s = NULL;

		if (e == -ENOENT) {
			if (!miss)
				miss = json_array();
			if (!miss ||
			    sn_kbs_b64url_encode(r->cert_refs[i], SN_SHA256_LEN,
						 &s) ||
			    json_array_append_new(
				    miss, json_pack("{s:s,s:s}", "reason",
						    "certificate-unknown",
						    "detail", s)))
				e = -ENOMEM;
			free(s);
		}
		if (e)
			err = e;
	}
	if (err == -ENOENT) {
		*unknown = json_dumps(miss, JSON_COMPACT);
		if (!*unknown)
			err = -ENOMEM;
	} else if (!err) {
		/* the certificates in the order named: the evidence a table
		 * of exactly these entries gives */
		err = sn_evidence_from_json(r->evidence_obj, d, r->n_cert_refs,
					    ev);
		if (err && err != -ENOMEM)
			err = -EINVAL;
	}
	for (size_t i = 0; i < r->n_cert_refs; i++)
		free(d[i].der);
	json_decref(miss);
	return err;
}
