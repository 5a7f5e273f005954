// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs federation: following a peer domain's GET /events over the
 * pinned TLS; a revocation of the peer's own node or measurement is
 * re-published on this KBS's GET /events (with "domain"), any other is
 * refused and audited (docs/kbs-api.md "Peer domains").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sealnet/federation.h"
#include "sealnet/kbs_fed.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "fed_internal.h"
#include "kbs.h"

/* ---- revocations ------------------------------------------------------- */

/* may domain d revoke this?  0, or a refusal code */
static const char *authority(const struct sn_workflow *wf, size_t d,
			     const char *kind, const char *value)
{
	if (!strcmp(kind, "node")) {
		int n = sn_workflow_find_node(wf, value);

		if (n < 0)
			return "unknown-node";
		return wf->nodes[n].domain == d ? NULL : "foreign-node";
	}
	if (!strcmp(kind, "measurement")) {
		uint8_t m[SN_WF_MEAS_LEN];
		bool own = false, other = false;

		if (strlen(value) != 2 * SN_WF_MEAS_LEN ||
		    sn_hex_decode(value, strlen(value), m, sizeof(m)) !=
			    SN_WF_MEAS_LEN)
			return "malformed";
		for (size_t i = 0; i < wf->n_stages; i++) {
			const struct sn_wf_reference *r = &wf->stages[i].ref;

			for (size_t j = 0; j < r->n_measurements; j++)
				if (!memcmp(r->measurements[j], m, sizeof(m))) {
					if (wf->stages[i].domain == d)
						own = true;
					else
						other = true;
				}
		}
		if (!own)
			return "foreign-measurement";
		/* also listed by another domain: that domain's nodes would
		 * be cut off by this one's word */
		return other ? "shared-measurement" : NULL;
	}
	return "malformed";
}

/* a peer's event this KBS does not follow: logged, counted, audited, and
 * passed (the position moves past it, recorded with the audit row) */
static void refuse_event(struct kbs_peer *p, json_int_t seq,
			 const char *action, const char *subject,
			 const char *code, const char *detail)
{
	struct kbs *k = p->f->k;
	const struct sn_kbs_audit_in a = { "federation", action, subject, code,
					   detail };

	sn_warn("federation: %s", detail);
	p->events_refused++;
	kbs_metrics_refused(k, action, code);
	if (sn_kbs_peer_events_skip(k->st, p->domain, seq, &a))
		sn_err("federation: cannot record refused event %lld of domain "
		       "%s",
		       (long long)seq, p->domain);
	p->events_after = seq;
}

static void apply_event(struct kbs_peer *p, json_t *ev)
{
	struct kbs *k = p->f->k;
	const struct sn_workflow *wf = kbs_fed_manifest(k);
	const char *kind = NULL, *value = NULL, *reason = "", *code, *op;
	json_int_t seq = 0;
	char detail[400], subject[160];
	int64_t local = 0;
	int err, dom;

	if (json_unpack(ev, "{sI ss ss s?s}", "seq", &seq, "kind", &kind,
			"value", &value, "reason", &reason) ||
	    seq <= p->events_after) {
		return;
	}
	if (json_object_get(ev, "domain")) {
		/* another domain's revocation (or lift) re-published by
		 * this peer: followed at its source, never second-hand */
		p->events_after = seq;
		return;
	}
	snprintf(subject, sizeof(subject), "%.10s %.100s", kind, value);
	op = json_string_value(json_object_get(ev, "op"));
	if (op && strcmp(op, "revoke")) {
		/* a peer's lift of its own revocation (or an op this KBS
		 * does not know): never un-revokes anything here; what a
		 * peer revoked stays until this KBS's admin acts
		 * (docs/kbs-api.md "Peer domains") */
		snprintf(detail, sizeof(detail),
			 "domain %s event %lld: op \"%.20s\" on %s %.100s "
			 "(%.100s): not followed, a peer's revocation "
			 "re-published here is lifted only by a withdrawal's "
			 "re-admission",
			 p->domain, (long long)seq, op, kind, value, reason);
		refuse_event(p, seq, "peer-lift", subject, "not-followed",
			     detail);
		return;
	}
	dom = wf ? sn_workflow_find_domain(wf, p->domain) : -1;
	code = !wf     ? "no-manifest" :
	       dom < 0 ? "domain-not-in-manifest" :
			 authority(wf, (size_t)dom, kind, value);
	if (code) {
		snprintf(detail, sizeof(detail),
			 "domain %s event %lld revokes %s %.100s (%.100s): "
			 "refused, %s",
			 p->domain, (long long)seq, kind, value, reason,
			 !strcmp(code, "foreign-node") ?
				 "the manifest puts that node in another "
				 "domain" :
			 !strcmp(code, "unknown-node") ?
				 "the manifest names no such node" :
			 !strcmp(code, "foreign-measurement") ?
				 "no stage of that domain lists that "
				 "measurement" :
			 !strcmp(code, "shared-measurement") ?
				 "a stage of another domain lists it too" :
				 "malformed event");
		refuse_event(p, seq, "peer-revoke", subject, code, detail);
		return;
	}
	snprintf(detail, sizeof(detail),
		 "domain %s event %lld: %s %.100s (%.100s)", p->domain,
		 (long long)seq, kind, value, reason);
	{
		char why[300];
		const struct sn_kbs_audit_in a = {"federation", "peer-revoke",
						  subject, "ok", detail};

		snprintf(why, sizeof(why), "domain %s: %s", p->domain, reason);
		err = sn_kbs_revoke_peer(k->st, p->domain, seq, kind, value,
					 why, &a, &local);
	}
	if (err && err != -EALREADY) {
		sn_err("federation: cannot record %s", detail);
		return;
	}
	p->events_after = seq;
	if (!err) {
		sn_warn("federation: re-published %s as event %lld", detail,
			(long long)local);
		p->revocations++;
		kbs_metrics_revoked(k);
		kbs_workers_notify(k);
	}
}

void fed_poll_events(evutil_socket_t fd, short what, void *arg)
{
	struct kbs_peer *p = arg;
	char target[SN_WF_TEXT_MAX + 64];
	unsigned int wait = p->ch[CH_EVENTS].ok ? FED_EVENTS_WAIT_S : 0;

	(void)fd;
	(void)what;
	snprintf(target, sizeof(target), "%s/events?after=%lld&wait=%u",
		 p->prefix, (long long)p->events_after, wait);
	if (fed_request(p, CH_EVENTS, target,
			(int)wait + p->f->k->cfg.request_timeout))
		fed_failed(p, CH_EVENTS);
}

/*
 * The peer's event sequence restarted (its database was recreated: another
 * "epoch"; or rewound, e.g. a backup restored: "head", the highest
 * sequence it ever gave, below the position followed): audited, the
 * position goes back to 0 and the answer, counted in the old sequence, is
 * dropped: 1 then, -EIO when that could not be recorded (retried after
 * the backoff), else 0.  The first epoch seen is only recorded.  Events
 * delivered again are not re-published twice (sn_kbs_revoke_peer: the
 * same revocation of the domain is recorded once).
 */
static int epoch_changed(struct kbs_peer *p, json_t *root)
{
	struct kbs *k = p->f->k;
	const char *epoch = json_string_value(json_object_get(root, "epoch"));
	json_t *h = json_object_get(root, "head");
	bool other, rewound;
	char detail[400];

	if (!epoch || !*epoch || strlen(epoch) >= SN_KBS_EPOCH_MAX)
		return 0; /* a KBS that does not say: followed as before */
	other = p->events_epoch[0] && strcmp(p->events_epoch, epoch);
	rewound = json_is_integer(h) && json_integer_value(h) < p->events_after;
	if (!other && !rewound) {
		if (!p->events_epoch[0]) {
			if (sn_kbs_peer_events_epoch(k->st, p->domain, epoch,
						     false, NULL))
				return -EIO;
			snprintf(p->events_epoch, sizeof(p->events_epoch), "%s",
				 epoch);
		}
		return 0;
	}
	snprintf(detail, sizeof(detail),
		 "domain %s's KBS %s:%u restarted its event sequence (%s: "
		 "epoch %.16s -> %.16s, its highest event %lld, followed up to "
		 "%lld): following it again from its first event",
		 p->domain, p->host, p->port,
		 other ? "another database" : "rewound",
		 p->events_epoch[0] ? p->events_epoch : "-", epoch,
		 (long long)json_integer_value(h), (long long)p->events_after);
	{
		const struct sn_kbs_audit_in a = {"federation",
						  "peer-events-reset",
						  p->domain, "reset", detail};

		if (sn_kbs_peer_events_epoch(k->st, p->domain, epoch, true,
					     &a)) {
			sn_err("federation: cannot record that %s", detail);
			return -EIO;
		}
	}
	sn_warn("federation: %s", detail);
	snprintf(p->events_epoch, sizeof(p->events_epoch), "%s", epoch);
	p->events_after = 0;
	p->ch[CH_EVENTS].ok = false; /* the next poll asks wait=0 */
	return 1;
}

void fed_on_events(struct evhttp_request *req, void *arg)
{
	struct kbs_peer *p = arg;
	json_t *root = NULL, *evs, *ev;
	json_int_t last = 0;
	char why[256];
	struct evbuffer *b;
	size_t len, i;
	int status, reset;

	if (p->stopped)
		return;
	if (!req || !(status = evhttp_request_get_response_code(req))) {
		const char *code =
			fed_no_answer(p, CH_EVENTS, why, sizeof(why));

		if (p->ch[CH_EVENTS].ok || p->ch[CH_EVENTS].backoff_s <= 1)
			sn_warn("federation: domain %s: GET /events from "
				"%s:%u failed: %s; retrying",
				p->domain, p->host, p->port,
				code ? "the certificate chain is not pinned "
				       "by kbs.trust_anchor_sha256" :
				       why);
		if (code && p->ch[CH_EVENTS].ok)
			fed_audit(p->f->k, "peer-events", p->domain, code,
				  "GET /events from %s:%u", p->host, p->port);
		fed_failed(p, CH_EVENTS);
		return;
	}
	b = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(b);
	if (status == 200 && len <= FED_BODY_MAX)
		root = json_loadb((const char *)evbuffer_pullup(b, -1), len, 0,
				  NULL);
	evs = root ? json_object_get(root, "events") : NULL;
	if (!json_is_array(evs) || json_unpack(root, "{sI}", "last", &last)) {
		sn_warn("federation: domain %s: GET /events answered HTTP %d "
			"without {events, last}; retrying",
			p->domain, status);
		json_decref(root);
		fed_failed(p, CH_EVENTS);
		return;
	}
	reset = epoch_changed(p, root);
	if (reset) {
		json_decref(root);
		if (reset < 0)
			fed_failed(p, CH_EVENTS);
		else
			fed_schedule(p, CH_EVENTS, 0);
		return;
	}
	if (!p->ch[CH_EVENTS].ok)
		sn_info("federation: following domain %s's revocations at "
			"%s:%u (after event %lld)",
			p->domain, p->host, p->port,
			(long long)p->events_after);
	json_array_foreach(evs, i, ev) apply_event(p, ev);
	json_decref(root);
	if (last > p->events_after) {
		p->events_after = last;
		sn_kbs_peer_events_skip(p->f->k->st, p->domain, last, NULL);
	}
	p->ch[CH_EVENTS].ok = true;
	p->ch[CH_EVENTS].backoff_s = 1;
	fed_schedule(p, CH_EVENTS, 0);
}
