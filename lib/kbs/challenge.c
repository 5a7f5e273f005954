// SPDX-License-Identifier: Apache-2.0
/*
 * Single-use, expiring challenges for POST /attest.  Kept in memory only:
 * a KBS restart forgets them (a node then fetches a new one), so a
 * challenge can never be used twice, even across a crash.
 *
 * A used or expired challenge stays known until twice its lifetime has
 * passed, so that a replay is told "already used" rather than "unknown".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sealnet/kbs.h"
#include "sealnet/util.h"

struct slot {
	uint8_t v[SN_KBS_CHALLENGE_LEN];
	uint64_t expires; /* ms; 0: free slot */
	bool used;
};

struct sn_kbs_challenges {
	struct slot *s;
	size_t cap;
	uint64_t lifetime;
};

int sn_kbs_challenges_new(size_t capacity, uint64_t lifetime_ms,
			  struct sn_kbs_challenges **out)
{
	struct sn_kbs_challenges *c;

	if (!capacity || !lifetime_ms)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* room for the remembered used/expired ones too */
	c->cap = 2 * capacity;
	c->s = calloc(c->cap, sizeof(*c->s));
	if (!c->s) {
		free(c);
		return -ENOMEM;
	}
	c->lifetime = lifetime_ms;
	*out = c;
	return 0;
}

void sn_kbs_challenges_free(struct sn_kbs_challenges *c)
{
	if (!c)
		return;
	OPENSSL_cleanse(c->s, c->cap * sizeof(*c->s));
	free(c->s);
	free(c);
}

/* forget what is past its remembering time */
static void reap(struct sn_kbs_challenges *c, uint64_t now)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->s[i].expires && now >= c->s[i].expires + c->lifetime)
			memset(&c->s[i], 0, sizeof(c->s[i]));
}

int sn_kbs_challenge_issue(struct sn_kbs_challenges *c, uint64_t now_ms,
			   uint8_t out[SN_KBS_CHALLENGE_LEN])
{
	size_t live = 0, free_slot = c->cap;

	reap(c, now_ms);
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->s[i].expires) {
			if (free_slot == c->cap)
				free_slot = i;
		} else if (!c->s[i].used && now_ms < c->s[i].expires) {
			live++;
		}
	}
	if (live >= c->cap / 2 || free_slot == c->cap)
		return -EBUSY;
	if (RAND_bytes(c->s[free_slot].v, SN_KBS_CHALLENGE_LEN) != 1)
		return -EIO;
	c->s[free_slot].expires = now_ms + c->lifetime;
	c->s[free_slot].used = false;
	memcpy(out, c->s[free_slot].v, SN_KBS_CHALLENGE_LEN);
	return 0;
}

int sn_kbs_challenge_consume(struct sn_kbs_challenges *c, uint64_t now_ms,
			     const uint8_t ch[SN_KBS_CHALLENGE_LEN])
{
	for (size_t i = 0; i < c->cap; i++) {
		struct slot *s = &c->s[i];

		if (!s->expires || sn_memeq_ct(s->v, ch, SN_KBS_CHALLENGE_LEN))
			continue;
		if (s->used)
			return -EALREADY;
		/* expired or not, it can never be used again */
		s->used = true;
		if (now_ms >= s->expires)
			return -ETIMEDOUT;
		return 0;
	}
	return -ENOENT;
}
