// SPDX-License-Identifier: Apache-2.0
/*
 * The SIMD engine's drop events and gate (lib/engine/events.c, guard.c),
 * without a TUN device: the engine structure is built here.
 *  - events: per_sec a second, the number left out carried in the next
 *    event; the first drop of another reason in a full window still gets
 *    its event; the window starts over after a second; the flow of an
 *    egress packet (addresses, protocol, ports) and of an ingress datagram
 *    (outer addresses, no ports); the peer's id.  Fails when the rate
 *    limit, the per-reason exception or the suppressed count is removed.
 *  - gate: closed from the start (every packet dropped as ENGINE_HOOKS,
 *    counted, an event), open only for the current seq, closed again by
 *    guard_set(0) and by a seq older than the engine's.  Fails when
 *    sn_eng_guard_pass passes without comparing ok_seq and seq.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/engine/internal.h"

static struct sn_engine *engine_new(uint32_t per_sec)
{
	struct sn_engine *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->peers = calloc(SN_MAX_NODES, sizeof(*e->peers));
	assert_non_null(e->peers);
	e->guard.nl_fd = e->guard.notify_fd = e->ev.fd = -1;
	assert_int_equal(sn_eng_events_init(e, per_sec), 0);
	return e;
}

static void engine_free(struct sn_engine *e)
{
	sn_eng_guard_free(e);
	sn_eng_events_free(e);
	free(e->peers);
	free(e);
}

static struct sn_event got[SN_ENG_EV_RING];
static unsigned int ngot;

static void collect(const struct sn_event *ev, void *arg)
{
	(void)arg;
	if (ngot < SN_ENG_EV_RING)
		got[ngot++] = *ev;
}

static unsigned int consume(struct sn_engine *e)
{
	ngot = 0;
	return (unsigned int)sn_engine_events_consume(e, collect, NULL);
}

static void rate_limit(void **state)
{
	struct sn_engine *e = engine_new(5);

	(void)state;
	sn_eng_ev_ingress(e, htonl(0xc6120001), htonl(0xc6120002));
	for (int i = 0; i < 20; i++)
		sn_eng_drop(e, &e->peers[1], SN_DROP_BAD_TAG, 1);
	assert_int_equal(consume(e), 5);
	assert_int_equal(atomic_load(&e->drops[SN_DROP_BAD_TAG]), 20);
	for (unsigned int i = 0; i < 5; i++) {
		assert_int_equal(got[i].reason, SN_DROP_BAD_TAG);
		assert_int_equal(got[i].suppressed, 0);
		assert_int_equal(got[i].peer, 1);
		assert_int_equal(got[i].dir, SN_DIR_INGRESS);
		assert_int_equal(got[i].saddr, htonl(0xc6120001));
		assert_int_equal(got[i].daddr, htonl(0xc6120002));
		assert_int_equal(got[i].sport, 0);
	}
	/* another reason in the full window: its first drop gets through,
	 * carrying the 15 left out; its second does not */
	sn_eng_drop(e, NULL, SN_DROP_REPLAY, 1);
	sn_eng_drop(e, NULL, SN_DROP_REPLAY, 1);
	assert_int_equal(consume(e), 1);
	assert_int_equal(got[0].reason, SN_DROP_REPLAY);
	assert_int_equal(got[0].suppressed, 15);
	assert_int_equal(got[0].peer, 0);
	/* a new window: events again, the one left out counted */
	e->ev.window_start -= 2000000000ull;
	sn_eng_drop(e, NULL, SN_DROP_REPLAY, 1);
	assert_int_equal(consume(e), 1);
	assert_int_equal(got[0].suppressed, 1);
	assert_int_equal(consume(e), 0);
	engine_free(e);
}

static void ring_full(void **state)
{
	struct sn_engine *e = engine_new(1000);

	(void)state;
	for (unsigned int i = 0; i < SN_ENG_EV_RING + 3; i++)
		sn_eng_drop(e, NULL, SN_DROP_MALFORMED, 1);
	assert_int_equal(consume(e), SN_ENG_EV_RING);
	sn_eng_drop(e, NULL, SN_DROP_MALFORMED, 1);
	assert_int_equal(consume(e), 1);
	assert_int_equal(got[0].suppressed, 3); /* sealnetd was behind */
	engine_free(e);
}

static void egress_flow(void **state)
{
	struct sn_engine *e = engine_new(100);
	uint8_t pkt[28] = {0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17};

	(void)state;
	memcpy(pkt + 12, (uint8_t[]){198, 18, 0, 1, 198, 18, 0, 2}, 8);
	memcpy(pkt + 20, (uint8_t[]){0x9c, 0x40, 0x1b, 0x59}, 4);
	sn_eng_ev_egress(e, pkt, sizeof(pkt));
	sn_eng_drop(e, &e->peers[2], SN_DROP_TOO_BIG, 3);
	assert_int_equal(atomic_load(&e->drops[SN_DROP_TOO_BIG]), 3);
	assert_int_equal(atomic_load(&e->peers[2].drops), 3);
	assert_int_equal(consume(e), 1);
	assert_int_equal(got[0].dir, SN_DIR_EGRESS);
	assert_int_equal(got[0].proto, 17);
	assert_int_equal(got[0].sport, 40000);
	assert_int_equal(got[0].dport, 7001);
	assert_int_equal(got[0].daddr, htonl(0xc6120002));
	assert_int_equal(got[0].peer, 2);
	/* truncated: addresses only when the header is there */
	sn_eng_ev_egress(e, pkt, 10);
	sn_eng_drop(e, NULL, SN_DROP_MALFORMED, 1);
	assert_int_equal(consume(e), 1);
	assert_int_equal(got[0].saddr, 0);
	assert_int_equal(got[0].sport, 0);
	engine_free(e);
}

static void gate(void **state)
{
	struct sn_engine *e = engine_new(100);
	uint64_t s;

	(void)state;
	assert_int_equal(sn_eng_guard_init(e), 0);
	e->ifindex = 0x7ffffff0; /* no such device: no notification */
	sn_eng_ev_ingress(e, 0, 0);
	assert_false(sn_engine_guard_open(e));
	assert_false(sn_eng_guard_pass(e, &e->peers[1], 4));
	assert_int_equal(atomic_load(&e->drops[SN_DROP_ENGINE_HOOKS]), 4);
	assert_int_equal(atomic_load(&e->peers[1].drops), 4);
	assert_int_equal(consume(e), 1);
	assert_int_equal(got[0].reason, SN_DROP_ENGINE_HOOKS);
	s = sn_engine_guard_seq(e);
	sn_engine_guard_set(e, s - 1); /* a check older than a change */
	assert_false(sn_eng_guard_pass(e, NULL, 1));
	sn_engine_guard_set(e, s);
	assert_true(sn_engine_guard_open(e));
	assert_true(sn_eng_guard_pass(e, NULL, 1));
	assert_int_equal(atomic_load(&e->drops[SN_DROP_ENGINE_HOOKS]), 5);
	sn_engine_guard_set(e, 0);
	assert_false(sn_eng_guard_pass(e, NULL, 1));
	/* a change the engine saw: the old verification no longer opens */
	atomic_fetch_add(&e->guard.seq, 1);
	sn_engine_guard_set(e, s);
	assert_false(sn_eng_guard_pass(e, NULL, 1));
	sn_engine_guard_set(e, sn_engine_guard_seq(e));
	assert_true(sn_eng_guard_pass(e, NULL, 1));
	engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rate_limit),
		cmocka_unit_test(ring_full),
		cmocka_unit_test(egress_flow),
		cmocka_unit_test(gate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
