/* SPDX-License-Identifier: Apache-2.0 */
/* sealnetd's shared state, between its files. */
#ifndef SEALNETD_H
#define SEALNETD_H

#include <event2/event.h>
#include <jansson.h>

#include "sealnet/config.h"
#include "sealnet/control.h"
#include "sealnet/dataplane.h"
#include "sealnet/evidence.h"
#include "sealnet/make.h"
#include "sealnet/prom.h"

struct sn_monitor; /* a connected `sealnet monitor` */
struct sn_mpeer;   /* a peer keyed by MAKE (make_peers.c) */
struct ssl_ctx_st;
struct sn_policy_appraisal;
struct bufferevent;
struct sn_static;
struct sn_wfd;
struct sn_mlog_require;
struct sn_kbsc;
struct sn_kbst;
struct sn_fedn;

struct sealnetd {
	struct event_base *base;
	struct sn_node_config *cfg;
	struct sn_dataplane *dp;
	struct event *ev_events;
	struct event *ev_sigint, *ev_sigterm;
	struct evconnlistener *ctl;
	struct sn_monitor *monitors;
	int ctl_fd;
	int log_drops; /* print each drop event to stderr */
	struct sn_mlog mlog;   /* runtime measurement log (data plane) */
	struct event *ev_watch; /* periodic check of the attached programs */
	int tampered;	       /* the data plane is not (only) ours */
	char tamper_reason[512]; /* what the watchdog found */
	long watch_tick_us;    /* cost of the last watchdog tick */
	/* MAKE mode */
	struct sn_mpeer *mpeers;	/* one per configured peer */
	struct ssl_ctx_st *tls;
	struct sn_policy_appraisal *policy;
	struct evconnlistener *make_l;
	struct event *ev_make_tick;
	uint8_t launch_measurement[48];
	long attach_deadline;		/* deferred attach (restart) */
	int audit_fd;			/* STATE_DIR/audit.jsonl, -1: none */
	struct sn_static *statics;	/* static-key peers (static_keys.c) */
	struct sn_prom_server *metrics;	/* metrics.c, NULL: off */
	struct event *ev_sighup;	/* reload.c */
	uint8_t cfg_rest_sha256[32];	/* the configuration but its rules */
	struct sn_prom_hist make_hist;	/* MAKE start -> keys, seconds */
	struct sn_engine *engine;	/* SIMD engine (engine.c); NULL: bpf */
	struct sn_wfd *wfd;		/* workflow.c; NULL: no manifest */
	struct sn_kbsc *kbsc;		/* kbs_client.c, NULL: no KBS */
	struct sn_kbst *kbst;		/* kbs_token.c, NULL: no token mode */
	struct sn_fedn *fedn;		/* fed_peers.c: peer domains' bundles */
	struct sn_eguard *eguard;	/* engine_guard.c; NULL: no engine */
};

/* status.c: a snapshot of the state in the control protocol's terms
 * (the status answer and the metrics page); release it after use. */
struct sn_status_snap {
	struct sn_control_status st;
	struct sn_control_drop drops[SN_DROP_MAX];
	char mlog_hex[2 * SN_SHA384_LEN + 1];
	char (*addr)[16]; /* INET_ADDRSTRLEN, one per peer */
};
int sn_status_snap(struct sealnetd *d, struct sn_status_snap *s);
void sn_status_snap_release(struct sn_status_snap *s);

/* engine.c: with "dataplane": {"engine": "simd"}, open the engine, hand
 * it the peers and the key operations, route through it, start it (after
 * sn_dp_open, before any key is installed); teardown before the data
 * plane is released or closed. */
int sn_engine_setup(struct sealnetd *d);
void sn_engine_teardown(struct sealnetd *d);

/* engine_guard.c: the SIMD engine's gate and drop events (after the
 * event base exists; stop before sn_engine_teardown).  The engine's
 * device hooks are checked on every change the engine reports and every
 * SN_ENGINE_GUARD_MS; sealnetd restores them SN_ENGINE_GUARD_HOLD_MS
 * after a finding.  incident: the hooks are not sealnet's now (the cost
 * of the last check in *check_us, may be NULL). */
#define SN_ENGINE_GUARD_MS	200
#define SN_ENGINE_GUARD_HOLD_MS 1000
struct sn_eguard;
int sn_engine_guard_start(struct sealnetd *d);
void sn_engine_guard_stop(struct sealnetd *d);
bool sn_engine_guard_incident(struct sealnetd *d, long *check_us);
/* sealnetd.c: a drop event (BPF ring buffer or engine) to the monitors */
void sn_on_drop(const struct sn_event *ev, void *arg);

/* control_server.c: the control socket */
int sn_ctl_start(struct sealnetd *d);
/* The control socket's directory: create it (0700) if missing; it must
 * belong to root or us and not be writable by group or others. */
int sn_ctl_check_dir(struct sealnetd *d);
void sn_ctl_stop(struct sealnetd *d);

/* monitors.c: the connected monitors */
/* Make bev a monitor and send it hello; -EBUSY when there are too many. */
int sn_ctl_monitor_add(struct sealnetd *d, struct bufferevent *bev,
		       json_t *hello);
void sn_ctl_monitors_free(struct sealnetd *d);
/* Send one event (lib/control's sn_control_event_encode) to every
 * monitor. */
void sn_ctl_broadcast(struct sealnetd *d, json_t *line);

/* audit.c: open STATE_DIR/audit.jsonl (state_dir checked, O_NOFOLLOW);
 * append an event (adds "time" and "node") */
int sn_audit_open(struct sealnetd *d);
void sn_audit(struct sealnetd *d, json_t *ev);
void sn_audit_close(struct sealnetd *d);

/* make_peers.c */
int sn_launch_measurement(const struct sn_node_config *cfg, uint8_t out[48]);

/* daemon/attach.c: after a restart (the previous instance's programs
 * still attached), attach ours once every MAKE peer is settled, at the
 * latest SN_DEFERRED_ATTACH_S after sn_deferred_attach_start(). */
#define SN_DEFERRED_ATTACH_S 10
void sn_deferred_attach_start(struct sealnetd *d);
void sn_deferred_attach(struct sealnetd *d);
bool sn_make_peers_settled(struct sealnetd *d);
int sn_make_start(struct sealnetd *d);
void sn_make_stop(struct sealnetd *d);
/* The local data plane was replaced: end every MAKE session, refuse new
 * ones (peers then cut this node off when its keys expire). */
void sn_make_tampered(struct sealnetd *d);
/* MAKE counters of peer i (zero for static-key peers). */
struct sn_make_peer_metrics {
	uint64_t makes, rekeys, failures;
	uint64_t fail_reason[SN_R_COUNT]; /* first appraisal reason */
	uint64_t fail_session;		  /* failures without a rejection */
};
void sn_make_peer_metrics(struct sealnetd *d, size_t i,
			  struct sn_make_peer_metrics *out);

/* make_peers.c, for kbs_client.c: revoke peer i (end its sessions, delete
 * its keys, refuse its MAKE); the measurement of its last accepted
 * appraisal (-ENOENT: none yet) */
void sn_make_revoke(struct sealnetd *d, size_t i, const char *why);
/* the KBS lifted what revoked peer i: its MAKE is allowed again (dialled
 * at once when we are its client); nothing when it is not revoked */
void sn_make_unrevoke(struct sealnetd *d, size_t i, const char *why);
int sn_make_peer_measurement(struct sealnetd *d, size_t i,
			     uint8_t out[SN_MEASUREMENT_LEN]);
bool sn_make_peer_revoked(struct sealnetd *d, size_t i);

/* kbs_client.c: with "kbs" configured, a GET /events long-poll to the
 * KBS; revocations of a peer's node or measurement revoke the peer. */
int sn_kbsc_start(struct sealnetd *d);
void sn_kbsc_stop(struct sealnetd *d);
/* true (why filled) when the KBS revoked node name or measurement meas
 * (may be NULL) */
bool sn_kbsc_refused(struct sealnetd *d, const char *name,
		     const uint8_t *meas, char *why, size_t cap);
/* kbs_token.c: with kbs.node_cert, the node's token (attested by a
 * helper process, renewed) and the check of peers' tokens in MAKE
 * (docs/protocol.md §3.1) */
int sn_kbst_start(struct sealnetd *d);
/* fed_peers.c: peers of other domains (docs/federation.md "Cross-domain
 * appraisal").  sn_fedn_session: for peer pi in role client, the MAKE
 * accept mode and *w the workflow binding, or 0 when pi is of this
 * node's domain (or no manifest runs).  sn_fedn_bundles: the KBS's GET
 * /federation/bundles answer, each bundle verified before it is held.
 * sn_fedn_verify: a cross-domain peer's token (sn_make_token_verify_fn's
 * contract). */
bool sn_fedn_cross(const struct sealnetd *d, const char *peer);
/* the configured name of the peer with that id, NULL: none */
const char *sn_fedn_peer_name(const struct sealnetd *d, uint32_t peer_id);
int sn_fedn_session(const struct sealnetd *d, size_t pi, bool client,
		    uint8_t w[48]);
void sn_fedn_bundles(struct sealnetd *d, const char *json, size_t len);
int sn_fedn_verify(struct sealnetd *d, const char *tok, size_t len,
		   const uint8_t spki[32], uint32_t peer_id,
		   const char *peer_name, struct sn_appraisal *out);
void sn_fedn_free(struct sealnetd *d);
void sn_kbst_stop(struct sealnetd *d);
/* the MAKE accept mode (0: no token mode, evidence) */
int sn_kbst_accept(struct sealnetd *d);
/* sn_make_token_fn and sn_make_token_verify_fn; arg: the sealnetd */
int sn_kbst_token(void *arg, char **out);
int sn_kbst_verify(void *arg, const char *tok, size_t len,
		   const uint8_t spki[SN_SHA256_LEN], uint32_t peer_id,
		   const char *peer_name, enum sn_make_accept accept,
		   struct sn_appraisal *out);
/* the sealnet_kbs_* families (metrics.c); nothing without a KBS */
void sn_kbsc_metrics(struct sealnetd *d, struct sn_prom *p);

/* reload.c: SIGHUP re-reads the rules (only) from the configuration */
int sn_reload_init(struct sealnetd *d);
void sn_reload(struct sealnetd *d);

/* workflow.c: sealnetd running from a workflow manifest.  sn_wfd_load
 * verifies and compiles it into d->cfg and d->wfd (every error printed);
 * cfg_path (may be NULL) holds the node-local members, or the
 * "workflow" member when manifest is NULL. */
bool sn_wfd_config_has_workflow(const char *cfg_path);
int sn_wfd_load(struct sealnetd *d, const char *cfg_path,
		const char *manifest, const char *sigs, const char *node);
void sn_wfd_free(struct sn_wfd *w);
/* extend the log with the WORKFLOW and NODE_POLICY events */
int sn_wfd_measure(struct sealnetd *d);
/* SIGHUP in workflow mode: a new signed version (workflow.c) */
void sn_wfd_reload(struct sealnetd *d);
/* peer i's appraisal policy (d->policy without a manifest) and the
 * events its log must hold (none without a manifest) */
const struct sn_policy_appraisal *sn_wfd_policy(const struct sealnetd *d,
						size_t peer);
const struct sn_mlog_require *sn_wfd_require(const struct sealnetd *d,
					     size_t peer, size_t *n);
/* the control socket's "workflow-apply" (include/sealnet/control.h): the
 * answer (or an error answer) */
json_t *sn_wfd_apply_request(struct sealnetd *d, const char *manifest,
			     const char *sigs);
/* make_peers.c: every client-side peer starts a new MAKE now (fresh
 * evidence); the established sessions stay until it replaces them */
void sn_make_remake(struct sealnetd *d);

/* metrics.c: the Prometheus page on cfg->metrics_listen (off when "") */
int sn_metrics_start(struct sealnetd *d);
void sn_metrics_stop(struct sealnetd *d);

/* Add MAKE state of peer i to its status (MAKE-keyed peers only). */
void sn_make_peer_status(struct sealnetd *d, size_t i,
			 struct sn_control_peer *peer);

#endif
