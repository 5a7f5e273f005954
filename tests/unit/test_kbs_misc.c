// SPDX-License-Identifier: Apache-2.0
/*
 * lib/kbs: challenges (single use, expiry, capacity, one table shared by
 * threads as sealnet-kbs's workers share it), sealing (round
 * trip; another key, another path, a flipped byte do not open), the
 * channel binding layout, names, paths and strict base64url.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sealnet/kbs.h"

static void challenge_single_use(void **state)
{
	struct sn_kbs_challenges *c;
	uint8_t a[32], b[32], unknown[32] = {1};

	assert_int_equal(sn_kbs_challenges_new(4, 1000, &c), 0);
	assert_int_equal(sn_kbs_challenge_issue(c, 0, a), 0);
	assert_int_equal(sn_kbs_challenge_issue(c, 0, b), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(sn_kbs_challenge_consume(c, 10, a), 0);
	assert_int_equal(sn_kbs_challenge_consume(c, 20, a), -EALREADY);
	assert_int_equal(sn_kbs_challenge_consume(c, 20, unknown), -ENOENT);
	assert_int_equal(sn_kbs_challenge_consume(c, 30, b), 0);
	sn_kbs_challenges_free(c);
}

static void challenge_expiry(void **state)
{
	struct sn_kbs_challenges *c;
	uint8_t a[32], b[32];

	assert_int_equal(sn_kbs_challenges_new(4, 1000, &c), 0);
	assert_int_equal(sn_kbs_challenge_issue(c, 0, a), 0);
	assert_int_equal(sn_kbs_challenge_issue(c, 0, b), 0);
	assert_int_equal(sn_kbs_challenge_consume(c, 999, b), 0);
	assert_int_equal(sn_kbs_challenge_consume(c, 1000, a), -ETIMEDOUT);
	/* and never usable again */
	assert_int_equal(sn_kbs_challenge_consume(c, 1001, a), -EALREADY);
	/* forgotten after twice the lifetime */
	assert_int_equal(sn_kbs_challenge_issue(c, 2500, b), 0);
	assert_int_equal(sn_kbs_challenge_consume(c, 2500, a), -ENOENT);
	sn_kbs_challenges_free(c);
}

static void challenge_capacity(void **state)
{
	struct sn_kbs_challenges *c;
	uint8_t a[32];

	assert_int_equal(sn_kbs_challenges_new(3, 1000, &c), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sn_kbs_challenge_issue(c, 0, a), 0);
	assert_int_equal(sn_kbs_challenge_issue(c, 0, a), -EBUSY);
	/* expired ones no longer count */
	assert_int_equal(sn_kbs_challenge_issue(c, 1000, a), 0);
	sn_kbs_challenges_free(c);
}

static void seal_roundtrip(void **state)
{
	uint8_t priv[32], pub[32], priv2[32], pub2[32], *pt = NULL;
	const char msg[] = "the stage secret";
	size_t n = 0;
	char *sealed = NULL;

	assert_int_equal(sn_kbs_x25519_keygen(priv, pub), 0);
	assert_int_equal(sn_kbs_x25519_keygen(priv2, pub2), 0);
	assert_int_equal(sn_kbs_seal(pub, "a/secret", (const uint8_t *)msg,
				     sizeof(msg), &sealed),
			 0);
	assert_null(strstr(sealed, "stage secret"));
	assert_int_equal(
		sn_kbs_open(priv, "a/secret", sealed, strlen(sealed), &pt, &n),
		0);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(pt, msg, n);
	free(pt);
	/* another key, another path */
	assert_int_equal(
		sn_kbs_open(priv2, "a/secret", sealed, strlen(sealed), &pt, &n),
		-EBADMSG);
	assert_int_equal(
		sn_kbs_open(priv, "b/secret", sealed, strlen(sealed), &pt, &n),
		-EBADMSG);
	/* a flipped ciphertext byte */
	{
		json_t *o = json_loads(sealed, 0, NULL);
		char *ct = strdup(json_string_value(json_object_get(o, "ct")));
		char *t;

		ct[5] = ct[5] == 'A' ? 'B' : 'A';
		json_object_set_new(o, "ct", json_string(ct));
		t = json_dumps(o, JSON_COMPACT);
		assert_int_equal(
			sn_kbs_open(priv, "a/secret", t, strlen(t), &pt, &n),
			-EBADMSG);
		free(t);
		free(ct);
		json_decref(o);
	}
	/* an extra member */
	assert_int_equal(
		sn_kbs_open(priv, "a/secret", "{\"alg\":\"x\"}", 11, &pt, &n),
		-EINVAL);
	free(sealed);
}

static void binding_layout(void **state)
{
	uint8_t ch[32], spki[32], rek[32], cb[SN_KBS_CB_LEN],
		cb2[SN_KBS_CB_LEN];

	memset(ch, 1, 32);
	memset(spki, 2, 32);
	memset(rek, 3, 32);
	sn_kbs_channel_binding(ch, spki, rek, cb);
	assert_int_equal(sizeof(cb), 22 + 96);
	assert_memory_equal(cb, "sealnet-kbs-attest-v1\0", 22);
	assert_memory_equal(cb + 22, ch, 32);
	assert_memory_equal(cb + 54, spki, 32);
	assert_memory_equal(cb + 86, rek, 32);
	spki[0] ^= 1;
	sn_kbs_channel_binding(ch, spki, rek, cb2);
	assert_memory_not_equal(cb, cb2, sizeof(cb));
}

static void names_paths(void **state)
{
	assert_int_equal(sn_kbs_name_check("node-1.a_b"), 0);
	assert_int_equal(sn_kbs_name_check(""), -EINVAL);
	assert_int_equal(sn_kbs_name_check("-x"), -EINVAL);
	assert_int_equal(sn_kbs_name_check(".x"), -EINVAL);
	assert_int_equal(sn_kbs_name_check("a b"), -EINVAL);
	assert_int_equal(sn_kbs_name_check("a/b"), -EINVAL);
	assert_int_equal(sn_kbs_path_check("a/b/c.key"), 0);
	assert_int_equal(sn_kbs_path_check("a//b"), -EINVAL);
	assert_int_equal(sn_kbs_path_check("/a"), -EINVAL);
	assert_int_equal(sn_kbs_path_check("a/"), -EINVAL);
	assert_int_equal(sn_kbs_path_check("a/../b"), -EINVAL);
	assert_int_equal(sn_kbs_path_check("a/./b"), -EINVAL);
	assert_int_equal(sn_kbs_path_check(".."), -EINVAL);
	assert_int_equal(sn_kbs_path_check("a%2fb"), -EINVAL);
}

static void b64url_strict(void **state)
{
	uint8_t *o;
	size_t n;
	char *e;
	const uint8_t in[] = {0xfb, 0xff, 0x01};

	assert_int_equal(sn_kbs_b64url_encode(in, 3, &e), 0);
	assert_string_equal(e, "-_8B");
	free(e);
	assert_int_equal(sn_kbs_b64url_decode("-_8B", 4, &o, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(o, in, 3);
	free(o);
	assert_int_equal(sn_kbs_b64url_decode("+/8B", 4, &o, &n), -EINVAL);
	assert_int_equal(sn_kbs_b64url_decode("AA==", 4, &o, &n), -EINVAL);
	assert_int_equal(sn_kbs_b64url_decode("A", 1, &o, &n), -EINVAL);
	/* non-canonical: the unused low bits set */
	assert_int_equal(sn_kbs_b64url_decode("AB", 2, &o, &n), -EINVAL);
	assert_int_equal(sn_kbs_b64url_decode("AA", 2, &o, &n), 0);
	free(o);
}

/* per client key: at most per_key unused, unexpired challenges; the next
 * is refused (-EDQUOT), another key is not affected, a used or expired one
 * frees its place; the whole table cannot be filled by one key */
static void challenge_per_key(void **state)
{
	struct sn_kbs_challenges *c;
	uint8_t a[32], b[32], x[32], y[32], k1[32] = {1}, k2[32] = {2};

	assert_int_equal(sn_kbs_challenges_new(64, 1000, &c), 0);
	sn_kbs_challenges_set_per_key(c, 2);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 0, k1, a), 0);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 0, k1, b), 0);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 0, k1, x), -EDQUOT);
	/* 62 places left, but not for k1: a flood by one key stops here */
	for (int i = 0; i < 100; i++)
		assert_int_equal(sn_kbs_challenge_issue_for(c, 0, k1, x),
				 -EDQUOT);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 0, k2, y), 0);
	/* using one frees a place; the refused ones were never issued */
	assert_int_equal(sn_kbs_challenge_consume(c, 1, a), 0);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 1, k1, x), 0);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 1, k1, a), -EDQUOT);
	/* a failed consume (replay) frees nothing */
	assert_int_equal(sn_kbs_challenge_consume(c, 2, b), 0);
	assert_int_equal(sn_kbs_challenge_consume(c, 2, b), -EALREADY);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 2, k1, b), 0);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 2, k1, a), -EDQUOT);
	/* expiry frees them: x (t=1) and b (t=2) expire at 1001, 1002 */
	assert_int_equal(sn_kbs_challenge_issue_for(c, 1001, k1, a), 0);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 1001, k1, y), -EDQUOT);
	assert_int_equal(sn_kbs_challenge_issue_for(c, 1002, k1, y), 0);
	sn_kbs_challenges_free(c);
}

/* many keys, colliding in the count table, with deletions in any order:
 * the counts stay exact (the backward-shift deletion keeps runs intact) */
static void challenge_per_key_many(void **state)
{
	struct sn_kbs_challenges *c;
	uint8_t key[40][32], ch[40][2][32], x[32];

	assert_int_equal(sn_kbs_challenges_new(100, 1000000, &c), 0);
	sn_kbs_challenges_set_per_key(c, 2);
	memset(key, 0, sizeof(key));
	for (int i = 0; i < 40; i++) {
		/* the same home slot for groups of 8 keys: long runs */
		key[i][0] = (uint8_t)(i / 8);
		key[i][31] = (uint8_t)i;
		for (int j = 0; j < 2; j++)
			assert_int_equal(sn_kbs_challenge_issue_for(
						 c, 0, key[i], ch[i][j]),
					 0);
		assert_int_equal(sn_kbs_challenge_issue_for(c, 0, key[i], x),
				 -EDQUOT);
	}
	/* use both of every third key, then each such key has room again and
	 * the others still have none */
	for (int i = 0; i < 40; i += 3)
		for (int j = 0; j < 2; j++)
			assert_int_equal(
				sn_kbs_challenge_consume(c, 1, ch[i][j]), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(sn_kbs_challenge_issue_for(c, 1, key[i], x),
				 i % 3 ? -EDQUOT : 0);
	sn_kbs_challenges_free(c);
}

/* O(1) table: the sequence number in a challenge only names the slot; a
 * guessed challenge with a live sequence number is unknown, and the ring
 * wraps over many generations */
static void challenge_forged_and_wrap(void **state)
{
	struct sn_kbs_challenges *c;
	uint8_t a[SN_KBS_CHALLENGE_LEN], f[SN_KBS_CHALLENGE_LEN];

	assert_int_equal(sn_kbs_challenges_new(3, 1000, &c), 0);
	assert_int_equal(sn_kbs_challenge_issue(c, 0, a), 0);
	memcpy(f, a, sizeof(f));
	f[20] ^= 1;
	assert_int_equal(sn_kbs_challenge_consume(c, 1, f), -ENOENT);
	f[20] ^= 1;
	f[7] ^= 1; /* another (unissued) sequence number */
	assert_int_equal(sn_kbs_challenge_consume(c, 1, f), -ENOENT);
	assert_int_equal(sn_kbs_challenge_consume(c, 1, a), 0);
	/* remembered (used) ones occupy the ring until 2 lifetimes pass */
	for (uint64_t t = 10; t < 1000000; t += 700) {
		assert_int_equal(sn_kbs_challenge_issue(c, t, a), 0);
		assert_int_equal(sn_kbs_challenge_consume(c, t + 1, a), 0);
		assert_int_equal(sn_kbs_challenge_consume(c, t + 2, a),
				 -EALREADY);
	}
	sn_kbs_challenges_free(c);
}

#define TH     4
#define PER_TH 1000
struct th_arg {
	struct sn_kbs_challenges *c;
	uint8_t (*ch)[32]; /* all TH * PER_TH */
	int id, issued, won, used;
};

static void *th_issue(void *p)
{
	struct th_arg *a = p;

	for (int i = 0; i < PER_TH; i++)
		if (!sn_kbs_challenge_issue(a->c, 1, a->ch[a->id * PER_TH + i]))
			a->issued++;
	return NULL;
}

static void *th_consume(void *p)
{
	struct th_arg *a = p;

	/* every thread tries every challenge, starting at its own quarter */
	for (int i = 0; i < TH * PER_TH; i++) {
		int err = sn_kbs_challenge_consume(
			a->c, 2, a->ch[(a->id * PER_TH + i) % (TH * PER_TH)]);

		if (!err)
			a->won++;
		else if (err == -EALREADY)
			a->used++;
	}
	return NULL;
}

static int cmp32(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

/* threads issuing at once get distinct challenges; threads consuming the
 * same challenges at once: each is accepted exactly once */
static void challenge_threads(void **state)
{
	struct sn_kbs_challenges *c;
	uint8_t(*ch)[32] = calloc(TH * PER_TH, 32), (*sorted)[32];
	struct th_arg a[TH];
	pthread_t t[TH];
	int issued = 0, won = 0, used = 0;

	assert_non_null(ch);
	assert_int_equal(sn_kbs_challenges_new(TH * PER_TH, 60000, &c), 0);
	for (int i = 0; i < TH; i++) {
		a[i] = (struct th_arg){.c = c, .ch = ch, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, th_issue, &a[i]),
				 0);
	}
	for (int i = 0; i < TH; i++) {
		pthread_join(t[i], NULL);
		issued += a[i].issued;
	}
	assert_int_equal(issued, TH * PER_TH);
	sorted = malloc((size_t)TH * PER_TH * 32);
	assert_non_null(sorted);
	memcpy(sorted, ch, (size_t)TH * PER_TH * 32);
	qsort(sorted, TH * PER_TH, 32, cmp32);
	for (int i = 1; i < TH * PER_TH; i++)
		assert_memory_not_equal(sorted[i - 1], sorted[i], 32);
	free(sorted);
	for (int i = 0; i < TH; i++)
		assert_int_equal(pthread_create(&t[i], NULL, th_consume, &a[i]),
				 0);
	for (int i = 0; i < TH; i++) {
		pthread_join(t[i], NULL);
		won += a[i].won;
		used += a[i].used;
	}
	assert_int_equal(won, TH * PER_TH);
	assert_int_equal(used, (TH - 1) * TH * PER_TH);
	sn_kbs_challenges_free(c);
	free(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(challenge_single_use),
		cmocka_unit_test(challenge_forged_and_wrap),
		cmocka_unit_test(challenge_expiry),
		cmocka_unit_test(challenge_capacity),
		cmocka_unit_test(challenge_per_key),
		cmocka_unit_test(challenge_per_key_many),
		cmocka_unit_test(challenge_threads),
		cmocka_unit_test(seal_roundtrip),
		cmocka_unit_test(binding_layout),
		cmocka_unit_test(names_paths),
		cmocka_unit_test(b64url_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
