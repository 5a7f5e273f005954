// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's MAKE peers, one session (make_peers.c has the design): the
 * evidence it provides, the keys it reaches going into the data plane
 * (the spare slot first; the send side switches when the peer confirms),
 * the peer's identity checked at HELLO, a failure recorded with its
 * appraisal reasons, and the start of a session in a free slot.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sealnet/log.h"
#include "sealnet/make.h"
#include "sealnet/util.h"
#include "make_peers.h"

/* ---- evidence provider ---------------------------------------------- */

static int provide_evidence(void *arg, const uint8_t rd[SN_REPORT_DATA_LEN],
			    uint8_t **out, size_t *len)
{
	struct sealnetd *d = arg;
	const char *tee = d->cfg->make.tee;
	enum sn_tee t;
	int err;

	err = sn_tee_from_name(tee, &t);
	if (!err)
		err = sn_evidence_produce(t, d->cfg->make.sim_platform, rd,
					  d->launch_measurement, &d->mlog, out,
					  len);
	if (err)
		sn_err("producing %s evidence failed: %s", tee, strerror(-err));
	return err;
}

static int mlog_digest(void *arg, uint8_t out[SN_SHA384_LEN])
{
	struct sealnetd *d = arg;

	memcpy(out, d->mlog.digest, SN_SHA384_LEN);
	return 0;
}

/* ---- keys ------------------------------------------------------------- */

static void install(struct sn_mslot *sl, uint16_t epoch, const uint8_t *tx,
		    const uint8_t *rx)
{
	struct sn_mpeer *mp = sl->mp;
	struct sealnetd *d = mp->d;
	uint32_t id = mp->pc->id;
	int cur = sn_dp_tx_slot(d->dp, id);
	unsigned int txs = cur < 0 ? 0 : (unsigned int)cur ^ 1;
	unsigned int rxs = mp->rx_slot < 0 ? 0 : (unsigned int)mp->rx_slot ^ 1;
	int err;

	if (d->tampered) {
		sn_mp_set_state(mp, "refused",
				"the local data plane is tampered");
		return;
	}
	err = sn_dp_install_key(d->dp, id, SN_KEY_RX, rxs, epoch, rx);
	if (!err)
		err = sn_dp_install_key(d->dp, id, SN_KEY_TX, txs, epoch, tx);
	if (err) {
		sn_err("peer %s: installing epoch %u failed: %s", mp->pc->name,
		       epoch, strerror(-err));
		sn_mp_set_state(mp, "failed", "installing keys failed");
		return;
	}
	/* a new session restarts at epoch 1: the other slot must not hold
	 * the same epoch number with the old session's key */
	if (sn_dp_key_epoch(d->dp, id, SN_KEY_RX, rxs ^ 1) == epoch) {
		sn_dp_clear_key(d->dp, id, SN_KEY_RX, rxs ^ 1);
		mp->rx_appr_ms[rxs ^ 1] = 0;
	}
	mp->rx_slot = (int)rxs;
	mp->rx_appr_ms[rxs] = sl->appraised_ms;
	mp->tx_appr_ms[txs] = sl->appraised_ms;
	mp->epoch = epoch;
	/* a working peer is redialled at once if lost */
	mp->backoff_ms = SN_BACKOFF_FIRST_MS;
	mp->keyed_ms = sn_mp_mono_ms();
	mp->cut_off = false;
	if (epoch == 1)
		mp->rekey_at_ms =
			sn_mp_mono_ms() + (int64_t)d->cfg->make.rekey_s * 1000;
	sn_mp_set_state(mp, "keyed", "");
	sn_info("peer %s: keys of epoch %u installed (rx slot %u, tx slot %u "
		"after the peer confirms)",
		mp->pc->name, epoch, rxs, txs);
	sn_mp_broadcast(d, SN_CONTROL_EV_KEYS, mp, "installed");
}

/* A session reached keys (both sides attested and accepted): it becomes
 * the current one; the session it replaces ends now (its keys stay in the
 * data plane until the new ones rotate them out). */
static void on_keys(void *arg, uint32_t peer_id, uint16_t epoch,
		    const uint8_t tx[SN_MAKE_KEY_LEN],
		    const uint8_t rx[SN_MAKE_KEY_LEN])
{
	struct sn_mslot *sl = arg;
	struct sn_mpeer *mp = sl->mp;
	int idx = sn_mp_slot_index(sl);
	uint8_t id[8];

	if (epoch != 1) {
		if (idx == mp->cur) {
			install(sl, epoch, tx, rx);
			mp->rekeys++;
		}
		return;
	}
	{
		const struct sn_appraisal *a =
			sn_make_session_peer_appraisal(sl->s);
		char why[256];

		if (a) {
			memcpy(mp->meas, a->claims.measurement,
			       sizeof(mp->meas));
			mp->has_meas = true;
		}
		/* a revoked measurement (the KBS's events): no keys */
		if (sn_kbsc_refused(mp->d, mp->pc->name,
				    a ? a->claims.measurement : NULL, why,
				    sizeof(why))) {
			sn_make_revoke(mp->d, (size_t)(mp - mp->d->mpeers),
				       why);
			return;
		}
	}
	if (mp->cur >= 0 && mp->cur != idx) {
		sn_info("peer %s: new MAKE session keyed: it replaces session "
			"%s",
			mp->pc->name, mp->session);
		sn_mp_slot_end(&mp->slot[mp->cur]);
	}
	mp->cur = idx;
	mp->makes++;
	sl->appraised_ms = sn_mp_mono_ms();
	sn_prom_hist_observe(&mp->d->make_hist,
			     (double)(sl->appraised_ms - sl->started_ms) / 1e3);
	if (!sn_make_session_id(sl->s, id))
		sn_hex_encode(id, sizeof(id), mp->session);
	install(sl, epoch, tx, rx);
	sn_mp_broadcast(mp->d, SN_CONTROL_EV_MAKE, mp,
			"new MAKE session: fresh evidence appraised");
}

static void on_ready(void *arg, uint32_t peer_id, uint16_t epoch)
{
	struct sn_mslot *sl = arg;
	struct sn_mpeer *mp = sl->mp;
	int cur = sn_dp_tx_slot(mp->d->dp, peer_id);
	int err;

	if (sn_mp_slot_index(sl) != mp->cur || epoch != mp->epoch || cur < 0)
		return;
	err = sn_dp_set_tx_slot(mp->d->dp, peer_id, (unsigned int)cur ^ 1);
	if (err) {
		sn_err("peer %s: switching to epoch %u failed: %s",
		       mp->pc->name, epoch, strerror(-err));
		return;
	}
	mp->tx_epoch = epoch;
	mp->appr_ms = mp->tx_appr_ms[cur ^ 1];
	sn_mp_set_state(mp, "established", "");
	sn_info("peer %s: sending with epoch %u", mp->pc->name, epoch);
}

static void on_fail(void *arg, uint32_t peer_id, int err, const char *reason)
{
	struct sn_mslot *sl = arg;
	struct sn_mpeer *mp = sl->mp;
	const struct sn_appraisal *a = sn_make_session_peer_appraisal(sl->s);
	bool was_cur = sn_mp_slot_index(sl) == mp->cur;
	char why[512];

	snprintf(why, sizeof(why), "%s", reason ? reason : strerror(-err));
	if (a && !a->accepted && a->n_reasons) {
		size_t n = 0;

		for (size_t i = 0;
		     i < a->n_reasons && n < sizeof(mp->appraisal) - 2; i++)
			n += (size_t)snprintf(
				mp->appraisal + n, sizeof(mp->appraisal) - n,
				"%s%s: %s", i ? "; " : "",
				sn_reason_name(a->reasons[i].code),
				a->reasons[i].detail);
	} else if (!a && strstr(why, "workflow-mismatch")) {
		/* the workflow binding of a cross-domain session differed at
		 * HELLO (docs/protocol.md §3.2), on either side: no appraisal
		 * ran, but that is the peer's appraisal outcome */
		snprintf(mp->appraisal, sizeof(mp->appraisal), "%s",
			 strstr(why, "workflow-mismatch"));
	}
	mp->failures++;
	if (a && !a->accepted && a->n_reasons &&
	    (unsigned int)a->reasons[0].code < SN_R_COUNT)
		mp->fail_reason[a->reasons[0].code]++;
	else
		mp->fail_session++;
	sn_mp_slot_end(sl);
	if (!was_cur && mp->cur >= 0) {
		/* a candidate: the established session is not affected */
		sn_warn("peer %s: a new MAKE session failed: %s (the "
			"established session %s is kept)",
			mp->pc->name, why, mp->session);
	} else {
		sn_warn("peer %s: MAKE failed: %s", mp->pc->name, why);
		if (!sn_mp_has_candidate(mp))
			sn_mp_set_state(mp, "failed", why);
	}
	sn_mp_broadcast(mp->d, SN_CONTROL_EV_MAKE_FAILED, mp, why);
	if (!sn_mp_has_candidate(mp))
		sn_mp_schedule_retry(mp);
}

static int on_hello(void *arg, uint32_t peer_id, const char *name)
{
	struct sn_mslot *sl = arg;
	struct sn_mpeer *mp = sl->mp;

	if (peer_id != mp->pc->id) {
		sn_warn("MAKE from %s's address claims node id %u: refused",
			mp->pc->name, peer_id);
		return -EPERM;
	}
	/* the name is what a peer's token (sub) and workflow events are
	 * checked against: it must be this peer's, not any enrolled
	 * node's (docs/protocol.md §3.1 step 4) */
	if (strcmp(name, mp->pc->name)) {
		sn_warn("MAKE from %s's address (node id %u) names itself "
			"\"%s\": refused",
			mp->pc->name, peer_id, name);
		return -EPERM;
	}
	if (mp->cur < 0)
		sn_mp_set_state(mp, "attesting", NULL);
	return 0;
}

static const struct sn_make_callbacks make_cbs_tmpl = {
	.on_hello = on_hello,
	.on_keys = on_keys,
	.on_rekey = on_keys,
	.on_ready = on_ready,
	.on_fail = on_fail,
};

/* a free slot for a new session; when all are taken, the oldest
 * candidate makes room (never the current session) */
static struct sn_mslot *free_slot(struct sn_mpeer *mp)
{
	struct sn_mslot *old = NULL;

	for (int i = 0; i < SN_MAKE_SLOTS; i++) {
		if (!mp->slot[i].s)
			return &mp->slot[i];
		if (i != mp->cur &&
		    (!old || mp->slot[i].started_ms < old->started_ms))
			old = &mp->slot[i];
	}
	sn_warn("peer %s: %d MAKE sessions in progress: ending the oldest",
		mp->pc->name, SN_MAKE_SLOTS - 1);
	sn_mp_slot_end(old);
	return old;
}

int sn_mp_start_session(struct sn_mpeer *mp, int fd, bool client)
{
	struct sealnetd *d = mp->d;
	struct sn_mslot *sl;

	if (d->tampered) {
		close(fd);
		return -EPERM;
	}
	size_t pi = (size_t)(mp - d->mpeers), n_req;
	const struct sn_mlog_require *req = sn_wfd_require(d, pi, &n_req);
	/* a peer of another domain (fed_peers.c): its mode, the binding */
	uint8_t wbind[SN_MAKE_BIND_LEN];
	int fed = sn_fedn_session(d, pi, client, wbind);
	struct sn_make_params prm = {
		.node_id = d->cfg->id,
		.node_name = d->cfg->node,
		.peer_id = mp->pc->id,
		.policy = sn_wfd_policy(d, pi),
		.peer_mlog_require = req,
		.n_peer_mlog_require = n_req,
		.peer_mlog_digests = (const uint8_t(*)[SN_SHA384_LEN])
					     d->cfg->make.dp_digests,
		.n_peer_mlog_digests = d->cfg->make.n_dp_digests,
		.evidence = provide_evidence,
		.mlog_digest = mlog_digest,
		.evidence_arg = d,
		.tls_ctx = d->tls,
		/* KBS tokens (kbs_token.c; 0 and NULLs without) */
		.accept = fed > 0 ? (enum sn_make_accept)fed :
				    (enum sn_make_accept)sn_kbst_accept(d),
		.token = d->kbst ? sn_kbst_token : NULL,
		.verify_token = d->kbst || fed > 0 ? sn_kbst_verify : NULL,
		.token_arg = d,
		.workflow_bind = fed > 0 ? wbind : NULL,
	};
	struct sn_make_callbacks cbs = make_cbs_tmpl;
	int err;

	if (mp->revoked) { /* by the KBS (kbs_client.c): refused */
		close(fd);
		sn_warn("peer %s: MAKE refused: %s", mp->pc->name, mp->reason);
		return -EPERM;
	}
	sl = free_slot(mp);
	cbs.arg = sl;
	err = sn_make_session_new(d->base, fd, client, &prm, &cbs, &sl->s);
	if (err) {
		close(fd);
		sn_err("peer %s: cannot start a MAKE session: %s", mp->pc->name,
		       strerror(-err));
		if (mp->cur < 0)
			sn_mp_set_state(mp, "failed",
					"cannot start a MAKE session");
		sn_mp_schedule_retry(mp);
		return err;
	}
	sl->started_ms = sn_mp_mono_ms();
	sl->appraised_ms = 0;
	if (mp->cur < 0)
		sn_mp_set_state(mp, "handshake", NULL);
	return 0;
}
