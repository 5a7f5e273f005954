// SPDX-License-Identifier: Apache-2.0
/*
 * Caches of pure functions of certificate bytes, shared by every appraisal
 * in the process (sealnetd appraises each peer at every MAKE; a key broker
 * appraises every node): both answer exactly what recomputing would.
 *
 *  - parsed certificates: SHA-256(DER) -> X509 (OpenSSL 3.0 spends most of
 *    an appraisal decoding certificates and their public keys).  A hit
 *    returns the cached object with a new reference; the object is only
 *    read by its users.
 *  - good signatures: (SHA-256(child DER), SHA-256(issuer DER)) pairs whose
 *    X509_verify() succeeded.  Only successes are remembered, so a bad
 *    signature is always recomputed and reported; the issuer's DER hash
 *    covers its public key, so a pair cannot be replayed with another key.
 *
 * Validity times, pinned roots, CRLs and every policy decision are not
 * cached: they are checked at every appraisal.  Both caches are small
 * fixed arrays with round-robin replacement under one mutex.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/sha.h>

#include "formats.h"

#define SN_X509_CACHE 64
#define SN_SIG_CACHE  128

struct x509_slot {
	uint8_t h[SN_SHA256_LEN];
	X509 *x;
};

struct sig_slot {
	uint8_t child[SN_SHA256_LEN];
	uint8_t issuer[SN_SHA256_LEN];
	bool used;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct x509_slot xcache[SN_X509_CACHE];
static struct sig_slot scache[SN_SIG_CACHE];
static size_t xnext, snext;
static struct sn_evidence_cache_stats stats;

X509 *sn_x509_from_der_cached(const uint8_t *der, size_t len)
{
	uint8_t h[SN_SHA256_LEN];
	X509 *x = NULL;

	if (len > 65536)
		return NULL;
	SHA256(der, len, h);
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < SN_X509_CACHE; i++)
		if (xcache[i].x && !memcmp(xcache[i].h, h, sizeof(h))) {
			x = xcache[i].x;
			X509_up_ref(x);
			stats.parse_hits++;
			break;
		}
	if (!x)
		stats.parse_misses++;
	pthread_mutex_unlock(&lock);
	if (x)
		return x;
	x = sn_x509_from_der(der, len);
	if (!x)
		return NULL;
	pthread_mutex_lock(&lock);
	X509_free(xcache[xnext].x);
	memcpy(xcache[xnext].h, h, sizeof(h));
	xcache[xnext].x = x;
	X509_up_ref(x);
	xnext = (xnext + 1) % SN_X509_CACHE;
	pthread_mutex_unlock(&lock);
	return x;
}

static bool der_sha256(X509 *x, uint8_t h[SN_SHA256_LEN])
{
	unsigned int n = 0;

	return X509_digest(x, EVP_sha256(), h, &n) == 1 && n == SN_SHA256_LEN;
}

bool sn_x509_verify_cached(X509 *child, X509 *issuer)
{
	uint8_t c[SN_SHA256_LEN], i[SN_SHA256_LEN];
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	bool ok, hashed;

	if (!k)
		return false;
	hashed = der_sha256(child, c) && der_sha256(issuer, i);
	if (hashed) {
		pthread_mutex_lock(&lock);
		for (size_t j = 0; j < SN_SIG_CACHE; j++)
			if (scache[j].used &&
			    !memcmp(scache[j].child, c, sizeof(c)) &&
			    !memcmp(scache[j].issuer, i, sizeof(i))) {
				stats.sig_hits++;
				pthread_mutex_unlock(&lock);
				return true;
			}
		stats.sig_misses++;
		pthread_mutex_unlock(&lock);
	}
	ok = X509_verify(child, k) == 1;
	ERR_clear_error();
	if (ok && hashed) {
		pthread_mutex_lock(&lock);
		memcpy(scache[snext].child, c, sizeof(c));
		memcpy(scache[snext].issuer, i, sizeof(i));
		scache[snext].used = true;
		snext = (snext + 1) % SN_SIG_CACHE;
		pthread_mutex_unlock(&lock);
	}
	return ok;
}

void sn_evidence_cache_stats(struct sn_evidence_cache_stats *out)
{
	pthread_mutex_lock(&lock);
	*out = stats;
	pthread_mutex_unlock(&lock);
}

void sn_evidence_cache_flush(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < SN_X509_CACHE; i++) {
		X509_free(xcache[i].x);
		xcache[i].x = NULL;
	}
	memset(scache, 0, sizeof(scache));
	memset(&stats, 0, sizeof(stats));
	xnext = snext = 0;
	pthread_mutex_unlock(&lock);
}
