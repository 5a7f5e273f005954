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
	uint64_t expires; /* ms */
	bool used;
};

struct sn_kbs_challenges {
	pthread_mutex_t lock;
	struct slot *s;
	size_t cap;	 /* ring size: outstanding + remembered */
	size_t capacity; /* unexpired, unused ones at most */
	uint64_t lifetime;
	uint64_t head;	   /* oldest remembered sequence number */
	uint64_t exp_head; /* oldest not (known to be) expired */
	uint64_t tail;	   /* next sequence number */
	size_t live;	   /* unused in [exp_head, tail) */
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
	free(c->s);
	free(c);
}

static struct slot *at(struct sn_kbs_challenges *c, uint64_t seq)
{
	return &c->s[seq % c->cap];
}

/* move past what has expired, forget what is past its remembering time */
static void advance(struct sn_kbs_challenges *c, uint64_t now)
{
	while (c->exp_head < c->tail && now >= at(c, c->exp_head)->expires) {
		if (!at(c, c->exp_head)->used)
			c->live--;
		c->exp_head++;
	}
	while (c->head < c->exp_head &&
	       now >= at(c, c->head)->expires + c->lifetime) {
		OPENSSL_cleanse(at(c, c->head), sizeof(struct slot));
		c->head++;
	}
}

static int issue(struct sn_kbs_challenges *c, uint64_t now_ms,
		 uint8_t out[SN_KBS_CHALLENGE_LEN])
{
	struct slot *s;
	uint64_t seq;

	advance(c, now_ms);
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
	c->live--;
	return 0;
}

int sn_kbs_challenge_issue(struct sn_kbs_challenges *c, uint64_t now_ms,
			   uint8_t out[SN_KBS_CHALLENGE_LEN])
{
	int err;

	pthread_mutex_lock(&c->lock);
	err = issue(c, now_ms, out);
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
