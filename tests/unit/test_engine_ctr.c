// SPDX-License-Identifier: Apache-2.0
/*
 * The SIMD engine's send counters (docs/wire-format.md §7 "Two engines"):
 * several threads take counter ranges for one peer while another thread
 * rotates its keys; no (installation, counter) pair may be taken twice,
 * and each installation's counters are taken without gaps from 0.  When
 * sn_eng_tx_take's critical section is removed, take_holds_the_lock fails
 * always and no_counter_twice in about a third of the runs on this 2-CPU
 * machine (two threads then read the same counter).  No TUN device: the engine
 * structure is built here, the key operations are the engine's own sink.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/engine/internal.h"

#define THREADS	 4
#define TAKES	 500000 /* per thread and round */
#define ROUNDS	 4	/* a race missed in one round is caught in another */
#define ROTATE_N 50

struct range {
	uint32_t gen;
	uint64_t c0, n;
};

struct worker {
	struct sn_engine *e;
	struct range *r;
	size_t n;
	unsigned int seed;
};

static _Atomic int stop, started;

static void *take_loop(void *arg)
{
	struct worker *w = arg;
	struct sn_eng_peer *p = &w->e->peers[2];

	started++;
	while (started < THREADS) /* all at once: the most contention */
		;
	for (size_t i = 0; i < TAKES; i++) {
		uint8_t key[SN_KEY_LEN];
		uint64_t c0, n = 1 + rand_r(&w->seed) % 64;
		uint16_t epoch;
		uint32_t gen;

		if (sn_eng_tx_take(w->e, p, n, &c0, key, &epoch, &gen))
			continue;
		/* the key handed out is the installation's: byte 0 = epoch */
		if (key[0] != (uint8_t)epoch)
			fail_msg("key of epoch %u with epoch %u", key[0],
				 epoch);
		w->r[w->n++] = (struct range){gen, c0, n};
	}
	return NULL;
}

/* rotations as sealnetd does them: install into the other slot, flip */
static void *rotate_loop(void *arg)
{
	struct sn_engine *e = arg;
	struct sn_dp_key_sink k;

	sn_engine_key_sink(e, &k);
	for (unsigned int i = 1; i <= ROTATE_N && !stop; i++) {
		uint8_t key[SN_KEY_LEN];

		memset(key, (int)(i + 1), sizeof(key));
		key[0] = (uint8_t)(i + 1);
		assert_int_equal(k.install(k.arg, 2, SN_KEY_TX, i & 1,
					   (uint16_t)(i + 1), key),
				 0);
		k.set_tx(k.arg, 2, i & 1);
		for (volatile int j = 0; j < 20000; j++)
			;
	}
	return NULL;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->gen != y->gen)
		return x->gen < y->gen ? -1 : 1;
	return x->c0 < y->c0 ? -1 : x->c0 > y->c0;
}

static void one_round(void)
{
	struct sn_engine *e = calloc(1, sizeof(*e));
	struct worker w[THREADS];
	pthread_t th[THREADS], rot;
	struct sn_dp_key_sink k;
	uint8_t key[SN_KEY_LEN];
	struct range *all;
	size_t total = 0, at = 0;

	stop = started = 0;
	assert_non_null(e);
	e->peers = calloc(SN_MAX_NODES, sizeof(*e->peers));
	assert_non_null(e->peers);
	for (unsigned int i = 0; i < SN_MAX_NODES; i++)
		pthread_mutex_init(&e->peers[i].lock, NULL);
	e->counter_limit = 1ull << 40;
	e->tun_fd = e->udp_fd = e->stop_fd = -1;
	assert_int_equal(sn_engine_add_peer(e, 2, 0x0200a8c0, true), 0);
	sn_engine_key_sink(e, &k);
	memset(key, 1, sizeof(key));
	assert_int_equal(k.install(k.arg, 2, SN_KEY_TX, 0, 1, key), 0);
	k.set_tx(k.arg, 2, 0);
	/* the slot in use is never replaced */
	assert_int_equal(k.install(k.arg, 2, SN_KEY_TX, 0, 9, key), -EBUSY);

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.e = e, .seed = (unsigned int)i + 1};
		w[i].r = calloc(TAKES, sizeof(*w[i].r));
		assert_non_null(w[i].r);
		assert_int_equal(pthread_create(&th[i], NULL, take_loop, &w[i]),
				 0);
	}
	assert_int_equal(pthread_create(&rot, NULL, rotate_loop, e), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	stop = 1;
	pthread_join(rot, NULL);

	for (int i = 0; i < THREADS; i++)
		total += w[i].n;
	all = calloc(total, sizeof(*all));
	assert_non_null(all);
	for (int i = 0; i < THREADS; i++) {
		memcpy(all + at, w[i].r, w[i].n * sizeof(*all));
		at += w[i].n;
		free(w[i].r);
	}
	qsort(all, total, sizeof(*all), cmp_range);
	/* per installation: ranges back to back from 0, none overlapping */
	for (size_t i = 0; i < total; i++) {
		uint64_t expect = i && all[i - 1].gen == all[i].gen ?
					  all[i - 1].c0 + all[i - 1].n :
					  0;

		if (all[i].c0 != expect)
			fail_msg("installation %u: counter %llu taken where "
				 "%llu "
				 "was next (%s)",
				 all[i].gen, (unsigned long long)all[i].c0,
				 (unsigned long long)expect,
				 all[i].c0 < expect ? "taken twice" : "a gap");
	}
	assert_true(total > THREADS); /* the test did take counters */
	free(all);
	for (unsigned int i = 0; i < SN_MAX_NODES; i++)
		pthread_mutex_destroy(&e->peers[i].lock);
	free(e->peers);
	free(e);
}

static void no_counter_twice(void **state)
{
	(void)state;
	for (int i = 0; i < ROUNDS; i++)
		one_round();
}

/* deterministic: a take waits for the peer's mutex, the one an
 * installation holds, so no take sees a half-written slot and no two
 * takes interleave (the stress test above can miss a race; this cannot) */
struct blocked {
	struct sn_engine *e;
	_Atomic int done;
	uint64_t c0;
};

static void *take_once(void *arg)
{
	struct blocked *b = arg;
	uint8_t key[SN_KEY_LEN];
	uint16_t epoch;

	if (sn_eng_tx_take(b->e, &b->e->peers[2], 5, &b->c0, key, &epoch,
			   NULL) == 0)
		b->done = 1;
	else
		b->done = 2;
	return NULL;
}

static void take_holds_the_lock(void **state)
{
	struct sn_engine *e = calloc(1, sizeof(*e));
	struct sn_dp_key_sink k;
	uint8_t key[SN_KEY_LEN] = {1};
	struct blocked b = {0};
	pthread_t th;

	(void)state;
	assert_non_null(e);
	e->peers = calloc(SN_MAX_NODES, sizeof(*e->peers));
	assert_non_null(e->peers);
	pthread_mutex_init(&e->peers[2].lock, NULL);
	e->counter_limit = 1000;
	assert_int_equal(sn_engine_add_peer(e, 2, 0x0200a8c0, false), 0);
	sn_engine_key_sink(e, &k);
	assert_int_equal(k.install(k.arg, 2, SN_KEY_TX, 0, 1, key), 0);
	k.set_tx(k.arg, 2, 0);
	b.e = e;
	pthread_mutex_lock(&e->peers[2].lock);
	assert_int_equal(pthread_create(&th, NULL, take_once, &b), 0);
	usleep(200000);
	assert_int_equal(b.done, 0); /* still waiting for the mutex */
	pthread_mutex_unlock(&e->peers[2].lock);
	pthread_join(th, NULL);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.c0, 0);
	pthread_mutex_destroy(&e->peers[2].lock);
	free(e->peers);
	free(e);
}

/* the limit: a range that would cross it is refused, nothing taken */
static void counter_limit(void **state)
{
	struct sn_engine *e = calloc(1, sizeof(*e));
	struct sn_dp_key_sink k;
	uint8_t key[SN_KEY_LEN] = {1};
	uint64_t c0 = 77;
	uint16_t epoch = 0;

	(void)state;
	assert_non_null(e);
	e->peers = calloc(SN_MAX_NODES, sizeof(*e->peers));
	assert_non_null(e->peers);
	pthread_mutex_init(&e->peers[2].lock, NULL);
	e->counter_limit = 100;
	assert_int_equal(sn_engine_add_peer(e, 2, 0x0200a8c0, false), 0);
	sn_engine_key_sink(e, &k);
	assert_int_equal(
		sn_eng_tx_take(e, &e->peers[2], 1, &c0, key, &epoch, NULL),
		SN_DROP_NO_KEY);
	assert_int_equal(k.install(k.arg, 2, SN_KEY_TX, 0, 1, key), 0);
	k.set_tx(k.arg, 2, 0);
	assert_int_equal(
		sn_eng_tx_take(e, &e->peers[2], 60, &c0, key, &epoch, NULL), 0);
	assert_int_equal(c0, 0);
	assert_int_equal(
		sn_eng_tx_take(e, &e->peers[2], 41, &c0, key, &epoch, NULL),
		SN_DROP_COUNTER_LIMIT);
	assert_int_equal(c0, 0); /* not written on refusal */
	assert_int_equal(
		sn_eng_tx_take(e, &e->peers[2], 40, &c0, key, &epoch, NULL), 0);
	assert_int_equal(c0, 60);
	assert_int_equal(
		sn_eng_tx_take(e, &e->peers[2], 1, &c0, key, &epoch, NULL),
		SN_DROP_COUNTER_LIMIT);
	pthread_mutex_destroy(&e->peers[2].lock);
	free(e->peers);
	free(e);
}

/* the checksum helper against the 16-bit one's complement sum done the
 * plain way (RFC 1071), every length 0..300 at every alignment 0..7 */
static void csum_matches_reference(void **state)
{
	uint8_t buf[320];
	unsigned int seed = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand_r(&seed);
	memset(buf + 100, 0xff, 64); /* long carry chains */
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= 308; len++) {
			uint32_t ref = 0x1234; /* a seed, as a pseudo-header */
			uint16_t got;

			for (size_t i = 0; i + 1 < len; i += 2) {
				uint16_t w;

				memcpy(&w, buf + off + i, 2);
				ref += w;
			}
			if (len & 1)
				ref += buf[off + len - 1]; /* zero padded, LE */
			while (ref >> 16)
				ref = (ref & 0xffff) + (ref >> 16);
			got = sn_eng_csum_fold(
				sn_eng_csum_add(0x1234, buf + off, len));
			if (got != ref)
				fail_msg(
					"offset %zu length %zu: %04x, not %04x",
					off, len, got, ref);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_counter_twice),
		cmocka_unit_test(take_holds_the_lock),
		cmocka_unit_test(counter_limit),
		cmocka_unit_test(csum_matches_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
