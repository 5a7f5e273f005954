// SPDX-License-Identifier: Apache-2.0
/*
 * Single-use, expiring challenges for POST /attest.  Kept in memory only:
 * a KBS restart forgets them (a node then fetches a new one), so a
 * challenge can never be used twice, even across a crash.
 *
 * A used or expired challenge stays known until twice its lifetime has
 * passed, so that a replay is told "already used" rather than "unknown".
 *
 * O(1) per operation (the linear scan of the table was 5 % of the KBS's
 * CPU under load): challenges are kept in issue order in a ring (the
 * lifetime is fixed, so they expire in that order too), and a challenge
 * names its ring position: bytes 0..7 are its issue sequence number
 * (big-endian), bytes 8..31 random.  A consume looks at that one slot and
 * compares all 32 bytes in constant time.
 *
 * Thread-safe (one mutex): sealnet-kbs's workers share one table, so a
 * challenge issued by one worker is consumed once, by whichever worker
 * gets the POST /attest.
 *
 * Per key (sn_kbs_challenge_issue_for): a challenge may be issued for a
 * client key (the SPKI hash of the node's TLS certificate); at most
 * per_key of one key's challenges are outstanding (unused, unexpired) at
 * once, the next is refused (-EDQUOT) until one is used or expires.  The
 * counts are in a small open-addressing table (linear probing, deletion
 * by backward shift) keyed by the SPKI hash, O(1) per operation.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sealnet/kbs.h"
#include "sealnet/util.h"

struct slot {
	uint8_t v[SN_KBS_CHALLENGE_LEN];
	uint8_t key[SN_SHA256_LEN]; /* the client key it was issued for */
	uint64_t expires;	    /* ms */
	bool used;
	bool keyed; /* issued with a key: counted in keys[] while live */
};

/* outstanding challenges of one key */
struct kcount {
	uint8_t key[SN_SHA256_LEN];
	uint32_t n; /* 0: free */
};

struct sn_kbs_challenges {
	pthread_mutex_t lock;
	struct slot *s;
	size_t cap;	 /* ring size: outstanding + remembered */
	size_t capacity; /* unexpired, unused ones at most */
	uint64_t lifetime;
	uint64_t head;	     /* oldest remembered sequence number */
	uint64_t exp_head;   /* oldest not (known to be) expired */
	uint64_t tail;	     /* next sequence number */
	size_t live;	     /* unused in [exp_head, tail) */
	struct kcount *keys; /* kmask + 1 entries, a power of two */
	size_t kmask;
	uint32_t per_key; /* 0: no per-key limit */
};

int sn_kbs_challenges_new(size_t capacity, uint64_t lifetime_ms,
			  struct sn_kbs_challenges **out)
{
	struct sn_kbs_challenges *c;

	if (!capacity || !lifetime_ms || capacity > SIZE_MAX / 4)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* room for the remembered used/expired ones too */
	c->cap = 2 * capacity;
	c->capacity = capacity;
	c->s = calloc(c->cap, sizeof(*c->s));
	if (!c->s) {
		free(c);
		return -ENOMEM;
	}
	/* at most capacity keys have live challenges: keep it half empty */
	for (c->kmask = 15; c->kmask + 1 < 2 * capacity;)
		c->kmask = 2 * c->kmask + 1;
	c->keys = calloc(c->kmask + 1, sizeof(*c->keys));
	if (!c->keys) {
		free(c->s);
		free(c);
		return -ENOMEM;
	}
	c->lifetime = lifetime_ms;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void sn_kbs_challenges_free(struct sn_kbs_challenges *c)
{
	if (!c)
		return;
	OPENSSL_cleanse(c->s, c->cap * sizeof(*c->s));
	pthread_mutex_destroy(&c->lock);
	free(c->keys);
	free(c->s);
	free(c);
}

static struct slot *at(struct sn_kbs_challenges *c, uint64_t seq)
{
	return &c->s[seq % c->cap];
}

void sn_kbs_challenges_set_per_key(struct sn_kbs_challenges *c,
				   uint32_t per_key)
{
	pthread_mutex_lock(&c->lock);
	c->per_key = per_key;
	pthread_mutex_unlock(&c->lock);
}

/* the key's entry, or the free one where it would go (the hash is the
 * first bytes of a SHA-256: uniform, no need to hash again) */
static size_t kfind(const struct sn_kbs_challenges *c,
		    const uint8_t key[SN_SHA256_LEN])
{
	uint64_t h = 0;
	size_t i;

	for (int j = 0; j < 8; j++)
		h = h << 8 | key[j];
	for (i = h & c->kmask; c->keys[i].n; i = (i + 1) & c->kmask)
		if (!memcmp(c->keys[i].key, key, SN_SHA256_LEN))
			break;
	return i;
}

/* one of key's challenges is used or expired */
static void kput(struct sn_kbs_challenges *c, const uint8_t key[SN_SHA256_LEN])
{
	size_t i = kfind(c, key), j, h;

	if (!c->keys[i].n || --c->keys[i].n)
		return;
	/* free i; move later entries of the run back over the hole */
	for (j = (i + 1) & c->kmask; c->keys[j].n; j = (j + 1) & c->kmask) {
		h = 0;
		for (int b = 0; b < 8; b++)
			h = h << 8 | c->keys[j].key[b];
		h &= c->kmask;
		/* j's home h is cyclically in (i, j]: it stays */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		c->keys[i] = c->keys[j];
		c->keys[j].n = 0;
		i = j;
	}
}

/* a live (unused, unexpired) challenge stops being live */
static void unlive(struct sn_kbs_challenges *c, struct slot *s)
{
	c->live--;
	if (s->keyed)
		kput(c, s->key);
}

/* move past what has expired, forget what is past its remembering time */
static void advance(struct sn_kbs_challenges *c, uint64_t now)
{
	while (c->exp_head < c->tail && now >= at(c, c->exp_head)->expires) {
		if (!at(c, c->exp_head)->used)
			unlive(c, at(c, c->exp_head));
		c->exp_head++;
	}
	while (c->head < c->exp_head &&
	       now >= at(c, c->head)->expires + c->lifetime) {
		OPENSSL_cleanse(at(c, c->head), sizeof(struct slot));
		c->head++;
	}
}

static int issue(struct sn_kbs_challenges *c, uint64_t now_ms,
		 const uint8_t *key, uint8_t out[SN_KBS_CHALLENGE_LEN])
{
	struct slot *s;
	uint64_t seq;
	size_t ki = 0;

	advance(c, now_ms);
	if (key) {
		ki = kfind(c, key);
		if (c->per_key && c->keys[ki].n >= c->per_key)
			return -EDQUOT;
	}
	if (c->live >= c->capacity || c->tail - c->head >= c->cap)
		return -EBUSY;
	seq = c->tail;
	s = at(c, seq);
	for (int i = 0; i < 8; i++)
		s->v[i] = (uint8_t)(seq >> (56 - 8 * i));
	if (RAND_bytes(s->v + 8, SN_KBS_CHALLENGE_LEN - 8) != 1)
		return -EIO;
	/* never before the newest: the ring stays in expiry order */
	s->expires = now_ms + c->lifetime;
	if (seq > c->head && s->expires < at(c, seq - 1)->expires)
		s->expires = at(c, seq - 1)->expires;
	s->used = false;
	s->keyed = key != NULL;
	if (key) {
		memcpy(s->key, key, SN_SHA256_LEN);
		if (!c->keys[ki].n)
			memcpy(c->keys[ki].key, key, SN_SHA256_LEN);
		c->keys[ki].n++;
	}
	c->tail++;
	c->live++;
	memcpy(out, s->v, SN_KBS_CHALLENGE_LEN);
	return 0;
}

static int consume(struct sn_kbs_challenges *c, uint64_t now_ms,
		   const uint8_t ch[SN_KBS_CHALLENGE_LEN])
{
	uint64_t seq = 0;
	struct slot *s;

	for (int i = 0; i < 8; i++)
		seq = seq << 8 | ch[i];
	advance(c, now_ms);
	if (seq < c->head || seq >= c->tail)
		return -ENOENT;
	s = at(c, seq);
	if (sn_memeq_ct(s->v, ch, SN_KBS_CHALLENGE_LEN))
		return -ENOENT;
	if (s->used)
		return -EALREADY;
	/* expired or not, it can never be used again */
	s->used = true;
	if (seq < c->exp_head || now_ms >= s->expires)
		return -ETIMEDOUT;
	unlive(c, s);
	return 0;
}

int sn_kbs_challenge_issue(struct sn_kbs_challenges *c, uint64_t now_ms,
			   uint8_t out[SN_KBS_CHALLENGE_LEN])
{
	int err;

	pthread_mutex_lock(&c->lock);
	err = issue(c, now_ms, NULL, out);
	pthread_mutex_unlock(&c->lock);
	return err;
}

int sn_kbs_challenge_issue_for(struct sn_kbs_challenges *c, uint64_t now_ms,
			       const uint8_t key[SN_SHA256_LEN],
			       uint8_t out[SN_KBS_CHALLENGE_LEN])
{
	int err;

	pthread_mutex_lock(&c->lock);
	err = issue(c, now_ms, key, out);
	pthread_mutex_unlock(&c->lock);
	return err;
}

int sn_kbs_challenge_consume(struct sn_kbs_challenges *c, uint64_t now_ms,
			     const uint8_t ch[SN_KBS_CHALLENGE_LEN])
{
	int err;

	pthread_mutex_lock(&c->lock);
	err = consume(c, now_ms, ch);
	pthread_mutex_unlock(&c->lock);
	return err;
}
