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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "sealnet/log.h"
#include "sealnet/make.h"
#include "sealnet/util.h"
#include "sealnetd.h"

/* denial of service: at most this many sessions started per peer within
 * SN_MAKE_STARTS_WINDOW seconds; more are refused (closed at accept) */
#define SN_MAKE_STARTS_MAX 8
#define SN_MAKE_STARTS_WINDOW 10
/* one current session and up to three candidates per peer */
#define SN_MAKE_SLOTS 4
/* the client starts a new MAKE this long before the lifetime ends: a third
 * of the lifetime, at most 30 s (room for the handshake and retries) */
#define SN_REMAKE_LEAD_MS(l) ((l) / 3 < 30000 ? (l) / 3 : 30000)
#define SN_TICK_MS 250
/* redial backoff: the first retry after SN_BACKOFF_FIRST_MS +-1/3 (a
 * dial that found the peer still starting: 100-200 ms, not a second),
 * then doubling up to SN_BACKOFF_MAX_MS; the jitter spreads the redials
 * of many nodes that failed together */
#define SN_BACKOFF_FIRST_MS 150
#define SN_BACKOFF_MAX_MS 30000

struct sn_mpeer;

/* one MAKE session of a peer; the callbacks' argument */
struct sn_mslot {
	struct sn_mpeer *mp;
	struct sn_make_session *s;
	int64_t started_ms;
	int64_t appraised_ms;	/* its epoch 1 was derived (both accepted) */
};

struct sn_mpeer {
	struct sealnetd *d;
	struct sn_peer_config *pc;
	struct sn_mslot slot[SN_MAKE_SLOTS];
	int cur;		/* slot of the session whose keys are in use, -1 */
	struct event *retry;
	unsigned int backoff_ms; /* the next retry's base delay */
	int64_t keyed_ms;	/* monotonic ms of the newest keys */
	int64_t rekey_at_ms;	/* client: next rekey */
	/* appraisal time of the keys in each data-plane slot (0: none) */
	int64_t rx_appr_ms[2], tx_appr_ms[2];
	int64_t appr_ms;	/* of the keys we send with (0: none) */
	uint16_t epoch;		/* newest installed epoch */
	uint16_t tx_epoch;	/* the epoch we send with */
	int rx_slot;		/* slot holding the newest rx key, -1 none */
	bool client;		/* we dial */
	bool cut_off;
	bool remake_due;	/* client: a new MAKE wanted now (new manifest
				 * version, or the retry of a failed re-MAKE) */
	time_t starts[SN_MAKE_STARTS_MAX]; /* recent session starts (ring) */
	unsigned int n_starts;
	unsigned int makes;	/* sessions that reached keys */
	char session[17];	/* id of the current session (hex) */
	char state[24];
	char reason[512];
	char appraisal[512];	/* the last rejection of the peer's evidence */
	unsigned int failures;	/* sessions that ended without keys */
	uint64_t rekeys;	/* epochs > 1 installed */
	uint64_t fail_reason[SN_R_COUNT]; /* failures by first appraisal reason */
	uint64_t fail_session;	/* failures without an appraisal rejection */
	bool revoked;		/* by the KBS: no MAKE with it (kbs_client.c) */
	bool has_meas;		/* meas: the last accepted appraisal's */
	uint8_t meas[SN_MEASUREMENT_LEN];
};

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int slot_index(const struct sn_mslot *sl)
{
	return (int)(sl - sl->mp->slot);
}

static struct sn_make_session *cur_session(const struct sn_mpeer *mp)
{
	return mp->cur < 0 ? NULL : mp->slot[mp->cur].s;
}

/* a session other than the current one is running */
static bool has_candidate(const struct sn_mpeer *mp)
{
	for (int i = 0; i < SN_MAKE_SLOTS; i++)
		if (i != mp->cur && mp->slot[i].s)
			return true;
	return false;
}

static void slot_end(struct sn_mslot *sl)
{
	sn_make_session_free(sl->s);
	sl->s = NULL;
	sl->appraised_ms = 0;
	if (slot_index(sl) == sl->mp->cur)
		sl->mp->cur = -1;
}

static void set_state(struct sn_mpeer *mp, const char *st, const char *why)
{
	snprintf(mp->state, sizeof(mp->state), "%s", st);
	if (why)
		snprintf(mp->reason, sizeof(mp->reason), "%s", why);
}

static void broadcast(struct sealnetd *d, enum sn_control_event_kind ev,
		      struct sn_mpeer *mp, const char *text)
{
	struct sn_control_event e = { .kind = ev, .peer = mp->pc->name,
				      .epoch = mp->epoch, .text = text };

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
		set_state(mp, "refused", "the local data plane is tampered");
		return;
	}
	err = sn_dp_install_key(d->dp, id, SN_KEY_RX, rxs, epoch, rx);
	if (!err)
		err = sn_dp_install_key(d->dp, id, SN_KEY_TX, txs, epoch, tx);
	if (err) {
		sn_err("peer %s: installing epoch %u failed: %s", mp->pc->name,
		       epoch, strerror(-err));
		set_state(mp, "failed", "installing keys failed");
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
	mp->keyed_ms = mono_ms();
	mp->cut_off = false;
	if (epoch == 1)
		mp->rekey_at_ms = mono_ms() + (int64_t)d->cfg->make.rekey_s * 1000;
	set_state(mp, "keyed", "");
	sn_info("peer %s: keys of epoch %u installed (rx slot %u, tx slot %u "
		"after the peer confirms)", mp->pc->name, epoch, rxs, txs);
	broadcast(d, SN_CONTROL_EV_KEYS, mp, "installed");
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
	int idx = slot_index(sl);
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
			memcpy(mp->meas, a->claims.measurement, sizeof(mp->meas));
			mp->has_meas = true;
		}
		/* a revoked measurement (the KBS's events): no keys */
		if (sn_kbsc_refused(mp->d, mp->pc->name,
				    a ? a->claims.measurement : NULL, why,
				    sizeof(why))) {
			sn_make_revoke(mp->d, (size_t)(mp - mp->d->mpeers), why);
			return;
		}
	}
	if (mp->cur >= 0 && mp->cur != idx) {
		sn_info("peer %s: new MAKE session keyed: it replaces session %s",
			mp->pc->name, mp->session);
		slot_end(&mp->slot[mp->cur]);
	}
	mp->cur = idx;
	mp->makes++;
	sl->appraised_ms = mono_ms();
	sn_prom_hist_observe(&mp->d->make_hist,
			     (double)(sl->appraised_ms - sl->started_ms) / 1e3);
	if (!sn_make_session_id(sl->s, id))
		sn_hex_encode(id, sizeof(id), mp->session);
	install(sl, epoch, tx, rx);
	broadcast(mp->d, SN_CONTROL_EV_MAKE, mp, "new MAKE session: fresh evidence appraised");
}

static void on_ready(void *arg, uint32_t peer_id, uint16_t epoch)
{
	struct sn_mslot *sl = arg;
	struct sn_mpeer *mp = sl->mp;
	int cur = sn_dp_tx_slot(mp->d->dp, peer_id);
	int err;

	if (slot_index(sl) != mp->cur || epoch != mp->epoch || cur < 0)
		return;
	err = sn_dp_set_tx_slot(mp->d->dp, peer_id, (unsigned int)cur ^ 1);
	if (err) {
		sn_err("peer %s: switching to epoch %u failed: %s",
		       mp->pc->name, epoch, strerror(-err));
		return;
	}
	mp->tx_epoch = epoch;
	mp->appr_ms = mp->tx_appr_ms[cur ^ 1];
	set_state(mp, "established", "");
	sn_info("peer %s: sending with epoch %u", mp->pc->name, epoch);
}

static void dial(evutil_socket_t fd_unused, short what, void *arg);

/* the retry timer: with an established session, the new MAKE goes
 * through maybe_remake (at epoch 1 it rekeys first: a new session's
 * epoch 1 must not collide with the one in use) */
static void retry(evutil_socket_t fd, short what, void *arg)
{
	struct sn_mpeer *mp = arg;

	if (mp->cur >= 0) {
		mp->remake_due = true;
		return;
	}
	dial(fd, what, arg);
}

static void schedule_retry(struct sn_mpeer *mp)
{
	uint32_t r = 0;
	unsigned int b = mp->backoff_ms, ms;
	struct timeval tv;

	if (!mp->client)
		return; /* the peer dials us again */
	/* uniform in [2/3 b, 4/3 b] */
	evutil_secure_rng_get_bytes(&r, sizeof(r));
	ms = b - b / 3 + (unsigned int)(r % (2 * (b / 3) + 1));
	tv = (struct timeval){ .tv_sec = ms / 1000,
			       .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	event_add(mp->retry, &tv);
	mp->backoff_ms = b >= SN_BACKOFF_MAX_MS / 2 ? SN_BACKOFF_MAX_MS : b * 2;
}

static void on_fail(void *arg, uint32_t peer_id, int err, const char *reason)
{
	struct sn_mslot *sl = arg;
	struct sn_mpeer *mp = sl->mp;
	const struct sn_appraisal *a = sn_make_session_peer_appraisal(sl->s);
	bool was_cur = slot_index(sl) == mp->cur;
	char why[512];

	snprintf(why, sizeof(why), "%s", reason ? reason : strerror(-err));
	if (a && !a->accepted && a->n_reasons) {
		size_t n = 0;

		for (size_t i = 0; i < a->n_reasons &&
				   n < sizeof(mp->appraisal) - 2; i++)
			n += (size_t)snprintf(mp->appraisal + n,
					      sizeof(mp->appraisal) - n, "%s%s: %s",
					      i ? "; " : "",
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
	slot_end(sl);
	if (!was_cur && mp->cur >= 0) {
		/* a candidate: the established session is not affected */
		sn_warn("peer %s: a new MAKE session failed: %s (the established session %s is kept)",
			mp->pc->name, why, mp->session);
	} else {
		sn_warn("peer %s: MAKE failed: %s", mp->pc->name, why);
		if (!has_candidate(mp))
			set_state(mp, "failed", why);
	}
	broadcast(mp->d, SN_CONTROL_EV_MAKE_FAILED, mp, why);
	if (!has_candidate(mp))
		schedule_retry(mp);
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
		set_state(mp, "attesting", NULL);
	return 0;
}

static const struct sn_make_callbacks make_cbs_tmpl = {
	.on_hello = on_hello,
	.on_keys = on_keys,
	.on_rekey = on_keys,
	.on_ready = on_ready,
	.on_fail = on_fail,
};

/* true when another session may start now (records it) */
static bool start_allowed(struct sn_mpeer *mp)
{
	time_t now = mono();

	if (mp->d->tampered)
		return false;
	time_t *oldest = &mp->starts[mp->n_starts % SN_MAKE_STARTS_MAX];

	if (mp->n_starts >= SN_MAKE_STARTS_MAX &&
	    now - *oldest < SN_MAKE_STARTS_WINDOW)
		return false;
	*oldest = now;
	mp->n_starts++;
	return true;
}

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
	slot_end(old);
	return old;
}

static int start_session(struct sn_mpeer *mp, int fd, bool client)
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
			set_state(mp, "failed", "cannot start a MAKE session");
		schedule_retry(mp);
		return err;
	}
	sl->started_ms = mono_ms();
	sl->appraised_ms = 0;
	if (mp->cur < 0)
		set_state(mp, "handshake", NULL);
	return 0;
}

/* sealnetd's MAKE sockets carry the control mark: the only TCP to or from
 * a peer's control port that the data plane lets pass in clear
 * (bpf/lib/control.h). */
static int mark_socket(struct sealnetd *d, int fd)
{
	uint32_t mark = d->cfg->dp.control_mark ? d->cfg->dp.control_mark :
						  SN_CONTROL_MARK_DEFAULT;

	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
		int err = -errno;

		sn_err("MAKE: setting the control mark (SO_MARK 0x%x) on a socket "
		       "failed: %s (needs CAP_NET_ADMIN)", mark, strerror(-err));
		return err;
	}
	return 0;
}

static void dial(evutil_socket_t fd_unused, short what, void *arg)
{
	struct sn_mpeer *mp = arg;
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(mp->pc->make_port),
		.sin_addr.s_addr = mp->pc->make_addr,
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || mark_socket(mp->d, fd)) {
		if (fd >= 0)
			close(fd);
		schedule_retry(mp);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		set_state(mp, "unreachable", strerror(errno));
		close(fd);
		schedule_retry(mp);
		return;
	}
	start_session(mp, fd, true);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct sealnetd *d = arg;
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	if (sa->sa_family == AF_INET) {
		for (size_t i = 0; i < d->cfg->n_peers; i++) {
			struct sn_mpeer *mp = &d->mpeers[i];

			/* only peers that dial us (lower id); our own
			 * outgoing session is never replaced from outside */
			if (mp->pc->addr == sin->sin_addr.s_addr &&
			    !mp->pc->has_static_keys && !mp->client) {
				if (!start_allowed(mp)) {
					sn_warn("peer %s: more than %u MAKE sessions in %u s: refused",
						mp->pc->name, SN_MAKE_STARTS_MAX,
						SN_MAKE_STARTS_WINDOW);
					break;
				}
				start_session(mp, fd, false);
				return;
			}
		}
	}
	close(fd); /* not a MAKE peer of ours */
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
		slot_end(&mp->slot[mp->cur]);
	set_state(mp, "cut-off", "no fresh MAKE within the session lifetime");
	sn_warn("peer %s: keys appraised more than %u s ago: cut off until a fresh MAKE",
		mp->pc->name, d->cfg->make.lifetime_s);
	broadcast(d, SN_CONTROL_EV_CUT_OFF, mp, "session lifetime expired");
	if (!has_candidate(mp))
		schedule_retry(mp);
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
	struct sn_make_session *s = cur_session(mp);
	int64_t life = (int64_t)mp->d->cfg->make.lifetime_s * 1000;

	if (!mp->client || !s || has_candidate(mp) ||
	    (mp->retry && evtimer_pending(mp->retry, NULL)) || /* backoff */
	    (!mp->remake_due &&
	     now - mp->slot[mp->cur].appraised_ms < life - SN_REMAKE_LEAD_MS(life)) ||
	    sn_make_session_state(s) != SN_MAKE_ST_ESTABLISHED ||
	    mp->tx_epoch != mp->epoch)
		return; /* not due, or a rotation still settles */
	if (mp->epoch == 1) {
		if (!sn_make_session_rekey(s))
			mp->rekey_at_ms = now + (int64_t)mp->d->cfg->make.rekey_s * 1000;
		return;
	}
	sn_info("peer %s: session %s appraised %lld ms ago: new MAKE (fresh evidence)",
		mp->pc->name, mp->session,
		(long long)(now - mp->slot[mp->cur].appraised_ms));
	mp->remake_due = false;
	dial(-1, 0, mp);
}

/* every SN_TICK_MS: expire keys, start new MAKEs,
 * rekey due sessions */
static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct sealnetd *d = arg;
	int64_t now = mono_ms();

	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_mpeer *mp = &d->mpeers[i];
		struct sn_make_session *s;

		if (mp->pc->has_static_keys)
			continue;
		expire(mp, now);
		maybe_remake(mp, now);
		s = cur_session(mp);
		/* no rekey of the current session while a new one may take
		 * over (its epoch 1 goes into the spare slot) */
		if (!s || has_candidate(mp) ||
		    sn_make_session_state(s) != SN_MAKE_ST_ESTABLISHED)
			continue;
		/* rekey early when the send counter is half-way to the limit
		 * (either side may start a rekey) */
		if (mp->epoch) {
			uint64_t ctr;

			if (!sn_dp_tx_counter(d->dp, mp->pc->id, &ctr) &&
			    ctr >= sn_dp_counter_limit(d->dp) / 2 &&
			    sn_make_session_rekey(s) == 0) {
				sn_info("peer %s: send counter %llu is half-way to the limit: rekeying",
					mp->pc->name, (unsigned long long)ctr);
				mp->rekey_at_ms = now + (int64_t)d->cfg->make.rekey_s * 1000;
				continue;
			}
		}
		if (mp->client && mp->rekey_at_ms && now >= mp->rekey_at_ms) {
			int err = sn_make_session_rekey(s);

			mp->rekey_at_ms = now + (int64_t)d->cfg->make.rekey_s * 1000;
			if (err == -ERANGE) {
				/* last epoch: a fresh session takes over */
				if (mp->retry)
					event_del(mp->retry);
				dial(-1, 0, mp);
			}
		}
	}
}

int sn_make_start(struct sealnetd *d)
{
	struct sn_make_config *mc = &d->cfg->make;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(mc->port) };
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
		set_state(mp, mp->pc->has_static_keys ? "static" : "waiting", "");
	}
	if (!mc->enabled)
		return 0;
	/* from a manifest: one policy per peer (workflow.c) */
	err = d->wfd ? 0 : sn_policy_appraisal_load(mc->policy, &d->policy);
	if (err) {
		sn_err("make.appraisal_policy %s: cannot load it: %s", mc->policy,
		       strerror(-err));
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
	d->make_l = evconnlistener_new_bind(d->base, on_accept, d,
					    LEV_OPT_CLOSE_ON_FREE |
						    LEV_OPT_CLOSE_ON_EXEC |
						    LEV_OPT_REUSEABLE,
					    64, (struct sockaddr *)&sa,
					    sizeof(sa));
	if (!d->make_l) {
		sn_err("cannot listen for MAKE on port %u: %s", mc->port,
		       strerror(errno));
		return -errno;
	}
	err = mark_socket(d, evconnlistener_get_fd(d->make_l));
	if (err)
		return err;
	d->ev_make_tick = event_new(d->base, -1, EV_PERSIST, tick, d);
	if (!d->ev_make_tick ||
	    event_add(d->ev_make_tick,
		      &(struct timeval){ .tv_usec = SN_TICK_MS * 1000 }))
		return -ENOMEM;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_mpeer *mp = &d->mpeers[i];

		if (mp->pc->has_static_keys)
			continue;
		mp->client = d->cfg->id < mp->pc->id;
		mp->retry = evtimer_new(d->base, retry, mp);
		if (!mp->retry)
			return -ENOMEM;
		if (mp->client)
			dial(-1, 0, mp);
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
			dial(-1, 0, mp);
	}
}

void sn_make_tampered(struct sealnetd *d)
{
	if (!d->mpeers)
		return;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_mpeer *mp = &d->mpeers[i];

		for (int j = 0; j < SN_MAKE_SLOTS; j++)
			slot_end(&mp->slot[j]);
		if (mp->retry)
			event_del(mp->retry);
		mp->epoch = mp->tx_epoch = 0;
		mp->appr_ms = 0;
		memset(mp->rx_appr_ms, 0, sizeof(mp->rx_appr_ms));
		mp->rx_slot = -1;
		if (!mp->pc->has_static_keys)
			set_state(mp, "revoked", "local data plane tampered");
	}
}

/* The KBS revoked peer i (its node, or the measurement its last appraisal
 * showed): end every session with it, delete its keys from the data plane
 * and refuse its MAKE from now on (until the KBS lifts the revocation:
 * sn_make_unrevoke). */
void sn_make_revoke(struct sealnetd *d, size_t i, const char *why)
{
	struct sn_mpeer *mp;

	if (!d->mpeers || i >= d->cfg->n_peers || d->mpeers[i].pc->has_static_keys)
		return;
	mp = &d->mpeers[i];
	for (int j = 0; j < SN_MAKE_SLOTS; j++)
		slot_end(&mp->slot[j]);
	if (mp->retry)
		event_del(mp->retry);
	sn_dp_revoke_peer(d->dp, mp->pc->id);
	mp->epoch = mp->tx_epoch = 0;
	mp->appr_ms = 0;
	memset(mp->rx_appr_ms, 0, sizeof(mp->rx_appr_ms));
	memset(mp->tx_appr_ms, 0, sizeof(mp->tx_appr_ms));
	mp->rx_slot = -1;
	mp->revoked = true;
	set_state(mp, "revoked", why);
	sn_warn("peer %s: %s: sessions ended, keys deleted, its MAKE refused",
		mp->pc->name, why);
	broadcast(d, SN_CONTROL_EV_CUT_OFF, mp, why);
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
	set_state(mp, "waiting", why);
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
	int64_t now = mono_ms();
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
	peer->make = cur_session(mp) ? sn_make_state_name(sn_make_session_state(
					       cur_session(mp))) :
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
