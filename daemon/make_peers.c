// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's MAKE mode: one attested session per peer (docs/protocol.md),
 * keys into the data plane's two slots, periodic rekey, hard lifetime.
 *
 * Who connects: of two peers, the one with the lower node id is the TLS
 * client and dials the other's MAKE port; the higher one accepts, and only
 * from the peer's configured address.  A failed session is retried with
 * exponential backoff with jitter (first retry after 100-200 ms, then
 * doubling, at most 30 s).  Keys: a new epoch goes into the slot
 * not used for sending; the receive side uses it at once; the send side
 * switches when the peer says it receives with it (on_ready), so a
 * rotation loses no packet.
 *
 * Sessions per peer: at most one is *current* (its keys are installed;
 * only it may rekey); up to SN_MAKE_SLOTS - 1 *candidates* (new
 * connections, ours or the peer's) run beside it.  A candidate replaces
 * the current session only when it reaches keys, i.e. after TLS, both
 * appraisals and both verdicts: a connection from the peer's address
 * cannot end an established session by itself.
 *
 * Hard lifetime: keys may be used for at most session_lifetime_s after
 * the appraisal of the session they come from (rekeys do not renew it).
 * The client starts a full new MAKE (new TLS session, fresh evidence)
 * SN_REMAKE_LEAD before that; its keys rotate in like a rekey's.  Keys
 * whose appraisal is older than the lifetime are cleared; when the keys
 * we send with expire, the peer is cut off (all its keys revoked: fail
 * closed) until a fresh MAKE succeeds.  Key material is wiped after
 * installation and never logged.
 *
 * This file: the peer table (start, stop), the lifetime of keys (cut-off,
 * re-MAKE, rekey: tick), revocation, status and metrics.  One session's
 * callbacks: make_keys.c; who connects: make_dial.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "sealnet/log.h"
#include "sealnet/make.h"
#include "sealnet/util.h"
#include "make_peers.h"

void sn_mp_slot_end(struct sn_mslot *sl)
{
	sn_make_session_free(sl->s);
	sl->s = NULL;
	sl->appraised_ms = 0;
	if (sn_mp_slot_index(sl) == sl->mp->cur)
		sl->mp->cur = -1;
}

void sn_mp_set_state(struct sn_mpeer *mp, const char *st, const char *why)
{
	snprintf(mp->state, sizeof(mp->state), "%s", st);
	if (why)
		snprintf(mp->reason, sizeof(mp->reason), "%s", why);
}

void sn_mp_broadcast(struct sealnetd *d, enum sn_control_event_kind ev,
		     struct sn_mpeer *mp, const char *text)
{
	struct sn_control_event e = {.kind = ev,
				     .peer = mp->pc->name,
				     .epoch = mp->epoch,
				     .text = text};

	/* the new session's id goes with the "make" event */
	if (ev == SN_CONTROL_EV_MAKE)
		e.session = mp->session;
	json_t *j;

	if (!sn_control_event_encode(&e, &j)) {
		sn_ctl_broadcast(d, j);
		sn_audit(d, j);
		json_decref(j);
	}
}

/* Every MAKE peer settled -- keyed again, or failed once (refused, or
 * not answering: its traffic could not flow anyway)?  For the deferred
 * attach after a restart (daemon/attach.c). */
bool sn_make_peers_settled(struct sealnetd *d)
{
	for (size_t i = 0; i < d->cfg->n_peers; i++)
		if (!d->cfg->peers[i].has_static_keys && !d->mpeers[i].epoch &&
		    !d->mpeers[i].failures)
			return false;
	return true;
}

/* The keys we send with are older than the lifetime since their
 * appraisal: revoke every key of the peer and end its session (whose
 * appraisal expired with them) until a fresh MAKE succeeds. */
static void cut_off(struct sn_mpeer *mp)
{
	struct sealnetd *d = mp->d;

	sn_dp_revoke_peer(d->dp, mp->pc->id);
	mp->rx_slot = -1;
	mp->cut_off = true;
	mp->appr_ms = 0;
	memset(mp->rx_appr_ms, 0, sizeof(mp->rx_appr_ms));
	memset(mp->tx_appr_ms, 0, sizeof(mp->tx_appr_ms));
	if (mp->cur >= 0)
		sn_mp_slot_end(&mp->slot[mp->cur]);
	sn_mp_set_state(mp, "cut-off",
			"no fresh MAKE within the session lifetime");
	sn_warn("peer %s: keys appraised more than %u s ago: cut off until a "
		"fresh MAKE",
		mp->pc->name, d->cfg->make.lifetime_s);
	sn_mp_broadcast(d, SN_CONTROL_EV_CUT_OFF, mp,
			"session lifetime expired");
	if (!sn_mp_has_candidate(mp))
		sn_mp_schedule_retry(mp);
}

/* Lifetime of one peer's keys: cut off, or clear a receive key whose
 * appraisal expired (the previous session's, left by a re-MAKE). */
static void expire(struct sn_mpeer *mp, int64_t now)
{
	int64_t life = (int64_t)mp->d->cfg->make.lifetime_s * 1000;

	if (mp->cut_off)
		return;
	if (mp->appr_ms && now - mp->appr_ms > life) {
		cut_off(mp);
		return;
	}
	for (unsigned int i = 0; i < 2; i++) {
		if (mp->rx_appr_ms[i] && now - mp->rx_appr_ms[i] > life) {
			sn_dp_clear_key(mp->d->dp, mp->pc->id, SN_KEY_RX, i);
			mp->rx_appr_ms[i] = 0;
		}
	}
}

/* Client: a new MAKE before the current session's appraisal expires.  Its
 * epoch 1 must not collide with the epoch in use: at epoch 1 rekey first. */
static void maybe_remake(struct sn_mpeer *mp, int64_t now)
{
	struct sn_make_session *s = sn_mp_cur_session(mp);
	int64_t life = (int64_t)mp->d->cfg->make.lifetime_s * 1000;

	if (!mp->client || !s || sn_mp_has_candidate(mp) ||
	    (mp->retry && evtimer_pending(mp->retry, NULL)) || /* backoff */
	    (!mp->remake_due && now - mp->slot[mp->cur].appraised_ms <
					life - SN_REMAKE_LEAD_MS(life)) ||
	    sn_make_session_state(s) != SN_MAKE_ST_ESTABLISHED ||
	    mp->tx_epoch != mp->epoch)
		return; /* not due, or a rotation still settles */
	if (mp->epoch == 1) {
		if (!sn_make_session_rekey(s))
			mp->rekey_at_ms =
				now + (int64_t)mp->d->cfg->make.rekey_s * 1000;
		return;
	}
	sn_info("peer %s: session %s appraised %lld ms ago: new MAKE (fresh "
		"evidence)",
		mp->pc->name, mp->session,
		(long long)(now - mp->slot[mp->cur].appraised_ms));
	mp->remake_due = false;
	sn_mp_dial(-1, 0, mp);
}

/* every SN_TICK_MS: expire keys, start new MAKEs,
 * rekey due sessions */
static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct sealnetd *d = arg;
	int64_t now = sn_mp_mono_ms();

	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_mpeer *mp = &d->mpeers[i];
		struct sn_make_session *s;

		if (mp->pc->has_static_keys)
			continue;
		expire(mp, now);
		maybe_remake(mp, now);
		s = sn_mp_cur_session(mp);
		/* no rekey of the current session while a new one may take
		 * over (its epoch 1 goes into the spare slot) */
		if (!s || sn_mp_has_candidate(mp) ||
		    sn_make_session_state(s) != SN_MAKE_ST_ESTABLISHED)
			continue;
		/* rekey early when the send counter is half-way to the limit
		 * (either side may start a rekey) */
		if (mp->epoch) {
			uint64_t ctr;

			if (!sn_dp_tx_counter(d->dp, mp->pc->id, &ctr) &&
			    ctr >= sn_dp_counter_limit(d->dp) / 2 &&
			    sn_make_session_rekey(s) == 0) {
				sn_info("peer %s: send counter %llu is "
					"half-way to the limit: rekeying",
					mp->pc->name, (unsigned long long)ctr);
				mp->rekey_at_ms =
					now +
					(int64_t)d->cfg->make.rekey_s * 1000;
				continue;
			}
		}
		if (mp->client && mp->rekey_at_ms && now >= mp->rekey_at_ms) {
			int err = sn_make_session_rekey(s);

			mp->rekey_at_ms =
				now + (int64_t)d->cfg->make.rekey_s * 1000;
			if (err == -ERANGE) {
				/* last epoch: a fresh session takes over */
				if (mp->retry)
					event_del(mp->retry);
				sn_mp_dial(-1, 0, mp);
			}
		}
	}
}

int sn_make_start(struct sealnetd *d)
{
	struct sn_make_config *mc = &d->cfg->make;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(mc->port)};
	int err;

	d->mpeers = calloc(d->cfg->n_peers ? d->cfg->n_peers : 1,
			   sizeof(*d->mpeers));
	if (!d->mpeers)
		return -ENOMEM;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_mpeer *mp = &d->mpeers[i];

		mp->d = d;
		mp->pc = &d->cfg->peers[i];
		mp->rx_slot = -1;
		mp->cur = -1;
		mp->backoff_ms = SN_BACKOFF_FIRST_MS;
		for (int j = 0; j < SN_MAKE_SLOTS; j++)
			mp->slot[j].mp = mp;
		sn_mp_set_state(
			mp, mp->pc->has_static_keys ? "static" : "waiting", "");
	}
	if (!mc->enabled)
		return 0;
	/* from a manifest: one policy per peer (workflow.c) */
	err = d->wfd ? 0 : sn_policy_appraisal_load(mc->policy, &d->policy);
	if (err) {
		sn_err("make.appraisal_policy %s: cannot load it: %s",
		       mc->policy, strerror(-err));
		return err;
	}
	err = sn_launch_measurement(d->cfg, d->launch_measurement);
	if (err)
		return err;
	/* token mode: the key pair the KBS token's cnf names */
	err = d->cfg->kbs.node_cert[0] ?
		      sn_make_tls_ctx_new_with(d->cfg->kbs.node_cert,
					       d->cfg->kbs.node_key,
					       (SSL_CTX **)&d->tls) :
		      sn_make_tls_ctx_new((SSL_CTX **)&d->tls);
	if (err)
		return err;
	d->make_l = evconnlistener_new_bind(
		d->base, sn_mp_on_accept, d,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
			LEV_OPT_REUSEABLE,
		64, (struct sockaddr *)&sa, sizeof(sa));
	if (!d->make_l) {
		sn_err("cannot listen for MAKE on port %u: %s", mc->port,
		       strerror(errno));
		return -errno;
	}
	err = sn_mp_mark_socket(d, evconnlistener_get_fd(d->make_l));
	if (err)
		return err;
	d->ev_make_tick = event_new(d->base, -1, EV_PERSIST, tick, d);
	if (!d->ev_make_tick ||
	    event_add(d->ev_make_tick,
		      &(struct timeval){.tv_usec = SN_TICK_MS * 1000}))
		return -ENOMEM;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_mpeer *mp = &d->mpeers[i];

		if (mp->pc->has_static_keys)
			continue;
		mp->client = d->cfg->id < mp->pc->id;
		mp->retry = evtimer_new(d->base, sn_mp_retry, mp);
		if (!mp->retry)
			return -ENOMEM;
		if (mp->client)
			sn_mp_dial(-1, 0, mp);
	}
	sn_info("MAKE on port %u, tee %s, rekey every %u s, lifetime %u s",
		mc->port, mc->tee, mc->rekey_s, mc->lifetime_s);
	return 0;
}

void sn_make_remake(struct sealnetd *d)
{
	for (size_t i = 0; d->mpeers && i < d->cfg->n_peers; i++) {
		struct sn_mpeer *mp = &d->mpeers[i];

		if (mp->pc->has_static_keys || !mp->client || !mp->retry ||
		    d->tampered)
			continue;
		event_del(mp->retry);
		mp->backoff_ms = SN_BACKOFF_FIRST_MS;
		if (mp->cur >= 0)
			mp->remake_due = true; /* maybe_remake, next tick */
		else
			sn_mp_dial(-1, 0, mp);
	}
}

void sn_make_tampered(struct sealnetd *d)
{
	if (!d->mpeers)
		return;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_mpeer *mp = &d->mpeers[i];

		for (int j = 0; j < SN_MAKE_SLOTS; j++)
			sn_mp_slot_end(&mp->slot[j]);
		if (mp->retry)
			event_del(mp->retry);
		mp->epoch = mp->tx_epoch = 0;
		mp->appr_ms = 0;
		memset(mp->rx_appr_ms, 0, sizeof(mp->rx_appr_ms));
		mp->rx_slot = -1;
		if (!mp->pc->has_static_keys)
			sn_mp_set_state(mp, "revoked",
					"local data plane tampered");
	}
}

/* The KBS revoked peer i (its node, or the measurement its last appraisal
 * showed): end every session with it, delete its keys from the data plane
 * and refuse its MAKE from now on (until the KBS lifts the revocation:
 * sn_make_unrevoke). */
void sn_make_revoke(struct sealnetd *d, size_t i, const char *why)
{
	struct sn_mpeer *mp;

	if (!d->mpeers || i >= d->cfg->n_peers ||
	    d->mpeers[i].pc->has_static_keys)
		return;
	mp = &d->mpeers[i];
	for (int j = 0; j < SN_MAKE_SLOTS; j++)
		sn_mp_slot_end(&mp->slot[j]);
	if (mp->retry)
		event_del(mp->retry);
	sn_dp_revoke_peer(d->dp, mp->pc->id);
	mp->epoch = mp->tx_epoch = 0;
	mp->appr_ms = 0;
	memset(mp->rx_appr_ms, 0, sizeof(mp->rx_appr_ms));
	memset(mp->tx_appr_ms, 0, sizeof(mp->tx_appr_ms));
	mp->rx_slot = -1;
	mp->revoked = true;
	sn_mp_set_state(mp, "revoked", why);
	sn_warn("peer %s: %s: sessions ended, keys deleted, its MAKE refused",
		mp->pc->name, why);
	sn_mp_broadcast(d, SN_CONTROL_EV_CUT_OFF, mp, why);
}

/* The KBS lifted the last revocation covering peer i (kbs_client.c):
 * MAKE with it is allowed again.  Nothing is installed here: keys come
 * only from a new MAKE, whose appraisal is checked against the KBS's
 * revocations again (on_keys).  The client dials at once; the server
 * waits for the peer's next redial (its backoff, at most 30 s). */
void sn_make_unrevoke(struct sealnetd *d, size_t i, const char *why)
{
	struct sn_mpeer *mp;

	if (!d->mpeers || i >= d->cfg->n_peers || !d->mpeers[i].revoked)
		return;
	mp = &d->mpeers[i];
	mp->revoked = false;
	mp->backoff_ms = SN_BACKOFF_FIRST_MS;
	sn_mp_set_state(mp, "waiting", why);
	sn_warn("peer %s: %s: its MAKE is allowed again%s", mp->pc->name, why,
		mp->client ? ", dialling it" : " (it dials us)");
	if (mp->client && mp->retry && !d->tampered) {
		struct timeval now = {0};

		event_add(mp->retry, &now);
	}
}

/* the measurement peer i's last accepted appraisal showed: 0, or -ENOENT */
int sn_make_peer_measurement(struct sealnetd *d, size_t i,
			     uint8_t out[SN_MEASUREMENT_LEN])
{
	if (!d->mpeers || i >= d->cfg->n_peers || !d->mpeers[i].has_meas)
		return -ENOENT;
	memcpy(out, d->mpeers[i].meas, SN_MEASUREMENT_LEN);
	return 0;
}

bool sn_make_peer_revoked(struct sealnetd *d, size_t i)
{
	return d->mpeers && i < d->cfg->n_peers && d->mpeers[i].revoked;
}

void sn_make_stop(struct sealnetd *d)
{
	if (d->mpeers) {
		for (size_t i = 0; i < d->cfg->n_peers; i++) {
			for (int j = 0; j < SN_MAKE_SLOTS; j++)
				sn_make_session_free(d->mpeers[i].slot[j].s);
			if (d->mpeers[i].retry)
				event_free(d->mpeers[i].retry);
		}
		free(d->mpeers);
		d->mpeers = NULL;
	}
	if (d->ev_make_tick)
		event_free(d->ev_make_tick);
	if (d->make_l)
		evconnlistener_free(d->make_l);
	SSL_CTX_free((SSL_CTX *)d->tls);
	sn_policy_appraisal_free(d->policy);
	d->ev_make_tick = NULL;
	d->make_l = NULL;
	d->tls = NULL;
	d->policy = NULL;
}

void sn_make_peer_status(struct sealnetd *d, size_t i,
			 struct sn_control_peer *peer)
{
	int64_t now = sn_mp_mono_ms();
	struct sn_mpeer *mp;

	if (!d->mpeers)
		return;
	mp = &d->mpeers[i];
	if (mp->pc->has_static_keys)
		return; /* static keys: the state set by the caller stands */
	peer->state = d->tampered ? "revoked" : mp->state;
	peer->is_make = true;
	peer->appraisal = mp->appraisal[0] ? mp->appraisal : NULL;
	peer->tx_epoch = mp->epoch;
	peer->key_age_s = mp->keyed_ms ? (now - mp->keyed_ms) / 1000 : -1;
	/* the keys we send with: how long ago their session's evidence was
	 * appraised (bounded by session_lifetime_s) */
	peer->appraisal_age_ms = mp->appr_ms ? now - mp->appr_ms : -1;
	peer->makes = mp->makes;
	peer->candidates = 0;
	for (int j = 0; j < SN_MAKE_SLOTS; j++)
		peer->candidates += j != mp->cur && mp->slot[j].s;
	peer->session = mp->session[0] ? mp->session : NULL;
	peer->make = sn_mp_cur_session(mp) ?
			     sn_make_state_name(sn_make_session_state(
				     sn_mp_cur_session(mp))) :
			     NULL;
	peer->reason = mp->reason[0] ? mp->reason : NULL;
}

void sn_make_peer_metrics(struct sealnetd *d, size_t i,
			  struct sn_make_peer_metrics *out)
{
	struct sn_mpeer *mp;

	memset(out, 0, sizeof(*out));
	if (!d->mpeers || d->mpeers[i].pc->has_static_keys)
		return;
	mp = &d->mpeers[i];
	out->makes = mp->makes;
	out->rekeys = mp->rekeys;
	out->failures = mp->failures;
	memcpy(out->fail_reason, mp->fail_reason, sizeof(out->fail_reason));
	out->fail_session = mp->fail_session;
}
