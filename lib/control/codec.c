// SPDX-License-Identifier: Apache-2.0
/*
 * The control protocol's codec: the only file that names its JSON fields
 * (messages and their meaning: include/sealnet/control.h).  Encoders keep
 * the field order sealnetd has always sent (monitor lines are printed as
 * received); decoders are lenient: a missing field decodes as NULL or 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/control.h"
#include "sealnet/util.h"

/* request and error */
#define K_CMD	"cmd"
#define K_ERROR "error"
/* status answer */
#define K_NODE		   "node"
#define K_ID		   "id"
#define K_INTERFACE	   "interface"
#define K_MODE		   "mode"
#define K_EGRESS_PROG_ID   "egress_prog_id"
#define K_INGRESS_PROG_ID  "ingress_prog_id"
#define K_DATAPLANE	   "dataplane"
#define K_DATAPLANE_REASON "dataplane_reason"
#define K_WATCHDOG_TICK_US "watchdog_tick_us"
#define K_MLOG_DIGEST	   "mlog_digest"
#define K_MLOG_EVENTS	   "mlog_events"
#define K_PEERS		   "peers"
#define K_DROPS		   "drops"
/* peer */
#define K_NAME		   "name"
#define K_ADDRESS	   "address"
#define K_STATE		   "state"
#define K_TX_EPOCH	   "tx_epoch"
#define K_TX_SLOT	   "tx_slot"
#define K_TX_PACKETS	   "tx_packets"
#define K_TX_BYTES	   "tx_bytes"
#define K_RX_PACKETS	   "rx_packets"
#define K_RX_BYTES	   "rx_bytes"
#define K_PEER_DROPS	   "drops"
#define K_PASSED_CLEAR	   "passed_clear"
#define K_KEY_AGE_S	   "key_age_s"
#define K_APPRAISAL_AGE_MS "appraisal_age_ms"
#define K_MAKES		   "makes"
#define K_CANDIDATES	   "candidates"
#define K_SESSION	   "session"
#define K_MAKE		   "make"
#define K_REASON	   "reason"
#define K_APPRAISAL	   "appraisal"
/* drop counter */
#define K_COUNT "count"
#define K_TEXT	"text"
/* events */
#define K_EVENT	     "event"
#define K_TS_NS	     "ts_ns"
#define K_DIR	     "dir"
#define K_SRC	     "src"
#define K_SPORT	     "sport"
#define K_DST	     "dst"
#define K_DPORT	     "dport"
#define K_PROTO	     "proto"
#define K_PEER	     "peer"
#define K_SUPPRESSED "suppressed"
#define K_EPOCH	     "epoch"

static const char *const cmd_names[] = {
	[SN_CONTROL_CMD_STATUS] = "status",
	[SN_CONTROL_CMD_MONITOR] = "monitor",
	[SN_CONTROL_CMD_WORKFLOW_APPLY] = "workflow-apply",
};

static const char *const event_names[] = {
	[SN_CONTROL_EV_HELLO] = "hello",
	[SN_CONTROL_EV_DROP] = "drop",
	[SN_CONTROL_EV_KEYS] = "keys",
	[SN_CONTROL_EV_MAKE_FAILED] = "make-failed",
	[SN_CONTROL_EV_CUT_OFF] = "cut-off",
	[SN_CONTROL_EV_MAKE] = "make",
	[SN_CONTROL_EV_TAMPERED] = "tampered",
};

static const char *gstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_int_t gint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* ---- requests ------------------------------------------------------------ */

const char *sn_control_cmd_name(enum sn_control_cmd cmd)
{
	if ((size_t)cmd < SN_ARRAY_SIZE(cmd_names))
		return cmd_names[cmd];
	return NULL;
}

int sn_control_request_encode(enum sn_control_cmd cmd, char **line)
{
	const char *name = sn_control_cmd_name(cmd);
	json_t *j;
	char *s, *l;
	size_t n;

	if (!name)
		return -EINVAL;
	j = json_pack("{ss}", K_CMD, name);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	l = malloc(n + 2);
	if (!l) {
		free(s);
		return -ENOMEM;
	}
	memcpy(l, s, n);
	l[n] = '\n';
	l[n + 1] = '\0';
	free(s);
	*line = l;
	return 0;
}

int sn_control_request_decode(const char *line, size_t len,
			      enum sn_control_cmd *cmd)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	const char *name = gstr(j, K_CMD);
	int err = -EPROTO;

	if (name) {
		err = -ENOENT;
		for (size_t i = 0; i < SN_ARRAY_SIZE(cmd_names); i++) {
			if (!strcmp(name, cmd_names[i])) {
				*cmd = (enum sn_control_cmd)i;
				err = 0;
				break;
			}
		}
	}
	json_decref(j);
	return err;
}

/* ---- error answer -------------------------------------------------------- */

int sn_control_error_encode(const char *text, json_t **out)
{
	json_t *j = json_pack("{ss}", K_ERROR, text);

	if (!j)
		return -ENOMEM;
	*out = j;
	return 0;
}

const char *sn_control_error_text(const json_t *answer)
{
	return gstr(answer, K_ERROR);
}

/* ---- status answer ------------------------------------------------------- */

static json_t *peer_encode(const struct sn_control_peer *p)
{
	json_t *o = json_pack(
		"{ss si ss ss sI sI sI sI sI sI sI sI}", K_NAME, p->name, K_ID,
		(int)p->id, K_ADDRESS, p->address, K_STATE, p->state,
		K_TX_EPOCH, (json_int_t)p->tx_epoch, K_TX_SLOT,
		(json_int_t)p->tx_slot, K_TX_PACKETS, (json_int_t)p->tx_packets,
		K_TX_BYTES, (json_int_t)p->tx_bytes, K_RX_PACKETS,
		(json_int_t)p->rx_packets, K_RX_BYTES, (json_int_t)p->rx_bytes,
		K_PEER_DROPS, (json_int_t)p->drops, K_PASSED_CLEAR,
		(json_int_t)p->passed_clear);

	if (!o || !p->is_make)
		return o;
	if ((p->appraisal &&
	     json_object_set_new(o, K_APPRAISAL, json_string(p->appraisal))) ||
	    json_object_set_new(o, K_KEY_AGE_S, json_integer(p->key_age_s)) ||
	    json_object_set_new(o, K_APPRAISAL_AGE_MS,
				json_integer(p->appraisal_age_ms)) ||
	    json_object_set_new(o, K_MAKES,
				json_integer((json_int_t)p->makes)) ||
	    json_object_set_new(o, K_CANDIDATES,
				json_integer((json_int_t)p->candidates)) ||
	    (p->session &&
	     json_object_set_new(o, K_SESSION, json_string(p->session))) ||
	    (p->make && json_object_set_new(o, K_MAKE, json_string(p->make))) ||
	    (p->reason &&
	     json_object_set_new(o, K_REASON, json_string(p->reason)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int sn_control_status_encode(const struct sn_control_status *st, json_t **out)
{
	json_t *peers = json_array(), *drops = json_object(), *o = NULL;

	if (!peers || !drops)
		goto nomem;
	for (size_t i = 0; i < st->n_peers; i++)
		if (json_array_append_new(peers, peer_encode(&st->peers[i])))
			goto nomem;
	for (size_t i = 0; i < st->n_drops; i++) {
		const struct sn_control_drop *d = &st->drops[i];

		if (json_object_set_new(drops, d->reason,
					json_pack("{sI ss}", K_COUNT,
						  (json_int_t)d->count, K_TEXT,
						  d->text)))
			goto nomem;
	}
	o = json_pack("{ss si ss ss si si ss ss sI so so}", K_NODE, st->node,
		      K_ID, (int)st->id, K_INTERFACE, st->interface, K_MODE,
		      st->mode, K_EGRESS_PROG_ID, (int)st->egress_prog_id,
		      K_INGRESS_PROG_ID, (int)st->ingress_prog_id, K_DATAPLANE,
		      st->dataplane, K_MLOG_DIGEST, st->mlog_digest,
		      K_MLOG_EVENTS, (json_int_t)st->mlog_events, K_PEERS,
		      peers, K_DROPS, drops);
	if (!o)
		return -ENOMEM; /* "so" consumed peers and drops */
	if ((st->dataplane_reason &&
	     json_object_set_new(o, K_DATAPLANE_REASON,
				 json_string(st->dataplane_reason))) ||
	    json_object_set_new(o, K_WATCHDOG_TICK_US,
				json_integer(st->watchdog_tick_us))) {
		json_decref(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
nomem:
	json_decref(peers);
	json_decref(drops);
	return -ENOMEM;
}

static void peer_decode(const json_t *o, struct sn_control_peer *p)
{
	p->name = gstr(o, K_NAME);
	p->id = (uint32_t)gint(o, K_ID);
	p->address = gstr(o, K_ADDRESS);
	p->state = gstr(o, K_STATE);
	p->tx_epoch = gint(o, K_TX_EPOCH);
	p->tx_slot = gint(o, K_TX_SLOT);
	p->tx_packets = (uint64_t)gint(o, K_TX_PACKETS);
	p->tx_bytes = (uint64_t)gint(o, K_TX_BYTES);
	p->rx_packets = (uint64_t)gint(o, K_RX_PACKETS);
	p->rx_bytes = (uint64_t)gint(o, K_RX_BYTES);
	p->drops = (uint64_t)gint(o, K_PEER_DROPS);
	p->passed_clear = (uint64_t)gint(o, K_PASSED_CLEAR);
	p->is_make = json_object_get(o, K_KEY_AGE_S) != NULL;
	p->key_age_s = gint(o, K_KEY_AGE_S);
	p->appraisal_age_ms = gint(o, K_APPRAISAL_AGE_MS);
	p->makes = (uint64_t)gint(o, K_MAKES);
	p->candidates = (uint32_t)gint(o, K_CANDIDATES);
	p->session = gstr(o, K_SESSION);
	p->make = gstr(o, K_MAKE);
	p->reason = gstr(o, K_REASON);
	p->appraisal = gstr(o, K_APPRAISAL);
}

int sn_control_status_decode(const json_t *answer,
			     struct sn_control_status *out)
{
	const json_t *peers, *drops, *v;
	struct sn_control_status st = {0};
	const char *k;
	size_t i;

	if (!json_is_object(answer))
		return -EPROTO;
	peers = json_object_get(answer, K_PEERS);
	drops = json_object_get(answer, K_DROPS);
	if ((peers && !json_is_array(peers)) ||
	    (drops && !json_is_object(drops)))
		return -EPROTO;
	st.node = gstr(answer, K_NODE);
	st.id = (uint32_t)gint(answer, K_ID);
	st.interface = gstr(answer, K_INTERFACE);
	st.mode = gstr(answer, K_MODE);
	st.egress_prog_id = (uint32_t)gint(answer, K_EGRESS_PROG_ID);
	st.ingress_prog_id = (uint32_t)gint(answer, K_INGRESS_PROG_ID);
	st.dataplane = gstr(answer, K_DATAPLANE);
	st.dataplane_reason = gstr(answer, K_DATAPLANE_REASON);
	st.watchdog_tick_us = gint(answer, K_WATCHDOG_TICK_US);
	st.mlog_digest = gstr(answer, K_MLOG_DIGEST);
	st.mlog_events = (uint64_t)gint(answer, K_MLOG_EVENTS);
	if (json_array_size(peers)) {
		st.peers = calloc(json_array_size(peers), sizeof(*st.peers));
		if (!st.peers)
			return -ENOMEM;
	}
	json_array_foreach(peers, i, v) peer_decode(v, &st.peers[st.n_peers++]);
	if (json_object_size(drops)) {
		st.drops = calloc(json_object_size(drops), sizeof(*st.drops));
		if (!st.drops) {
			free(st.peers);
			return -ENOMEM;
		}
	}
	/* the cast: jansson's iteration macros take a non-const object */
	json_object_foreach((json_t *)drops, k, v)
	{
		struct sn_control_drop *d = &st.drops[st.n_drops++];

		d->reason = k;
		d->count = (uint64_t)gint(v, K_COUNT);
		d->text = gstr(v, K_TEXT);
	}
	*out = st;
	return 0;
}

void sn_control_status_release(struct sn_control_status *st)
{
	free(st->peers);
	free(st->drops);
	st->peers = NULL;
	st->drops = NULL;
	st->n_peers = st->n_drops = 0;
}

/* ---- monitor events ------------------------------------------------------ */

const char *sn_control_event_name(enum sn_control_event_kind kind)
{
	if ((size_t)kind < SN_ARRAY_SIZE(event_names))
		return event_names[kind];
	return NULL;
}

bool sn_control_event_is_make(enum sn_control_event_kind kind)
{
	return kind == SN_CONTROL_EV_KEYS ||
	       kind == SN_CONTROL_EV_MAKE_FAILED ||
	       kind == SN_CONTROL_EV_CUT_OFF || kind == SN_CONTROL_EV_MAKE;
}

const char *sn_control_dir_name(bool ingress)
{
	return ingress ? "ingress" : "egress";
}

int sn_control_event_encode(const struct sn_control_event *ev, json_t **out)
{
	const char *name = sn_control_event_name(ev->kind);
	json_t *j;

	if (!name)
		return -EINVAL;
	switch (ev->kind) {
	case SN_CONTROL_EV_HELLO:
		j = json_pack("{ss ss}", K_EVENT, name, K_NODE, ev->node);
		break;
	case SN_CONTROL_EV_DROP:
		j = json_pack("{ss sI ss ss ss ss si ss si si si si}", K_EVENT,
			      name, K_TS_NS, (json_int_t)ev->ts_ns, K_REASON,
			      ev->reason, K_TEXT, ev->text, K_DIR,
			      sn_control_dir_name(ev->ingress), K_SRC, ev->src,
			      K_SPORT, (int)ev->sport, K_DST, ev->dst, K_DPORT,
			      (int)ev->dport, K_PROTO, (int)ev->proto, K_PEER,
			      (int)ev->peer_id, K_SUPPRESSED,
			      (int)ev->suppressed);
		break;
	case SN_CONTROL_EV_TAMPERED:
		j = json_pack("{ss ss}", K_EVENT, name, K_TEXT, ev->text);
		if (j && ev->reason &&
		    json_object_set_new(j, K_REASON, json_string(ev->reason)))
			goto nomem;
		break;
	default: /* the MAKE events */
		j = json_pack("{ss ss si ss}", K_EVENT, name, K_PEER, ev->peer,
			      K_EPOCH, (int)ev->epoch, K_TEXT,
			      ev->text ? ev->text : "");
		if (j && ev->kind == SN_CONTROL_EV_MAKE && ev->session &&
		    json_object_set_new(j, K_SESSION, json_string(ev->session)))
			goto nomem;
		break;
	}
	if (!j)
		return -ENOMEM;
	*out = j;
	return 0;
nomem:
	json_decref(j);
	return -ENOMEM;
}

int sn_control_event_decode(const json_t *j, struct sn_control_event *out)
{
	struct sn_control_event ev = {0};
	const json_t *peer;
	const char *dir;

	if (!json_is_object(j))
		return -EPROTO;
	ev.name = gstr(j, K_EVENT);
	ev.kind = SN_CONTROL_EV_OTHER;
	for (size_t i = 0; ev.name && i < SN_ARRAY_SIZE(event_names); i++) {
		if (event_names[i] && !strcmp(ev.name, event_names[i])) {
			ev.kind = (enum sn_control_event_kind)i;
			break;
		}
	}
	ev.error = gstr(j, K_ERROR);
	if (!ev.name && ev.error)
		ev.kind = SN_CONTROL_EV_ERROR;
	ev.node = gstr(j, K_NODE);
	ev.text = gstr(j, K_TEXT);
	ev.ts_ns = (uint64_t)gint(j, K_TS_NS);
	ev.reason = gstr(j, K_REASON);
	dir = gstr(j, K_DIR);
	ev.ingress = dir && !strcmp(dir, sn_control_dir_name(true));
	ev.src = gstr(j, K_SRC);
	ev.dst = gstr(j, K_DST);
	ev.sport = (uint16_t)gint(j, K_SPORT);
	ev.dport = (uint16_t)gint(j, K_DPORT);
	ev.proto = (uint8_t)gint(j, K_PROTO);
	ev.suppressed = (uint32_t)gint(j, K_SUPPRESSED);
	/* "peer": the node id in drop events, the peer's name in MAKE events */
	peer = json_object_get(j, K_PEER);
	if (json_is_string(peer))
		ev.peer = json_string_value(peer);
	else
		ev.peer_id = (uint32_t)json_integer_value(peer);
	ev.epoch = gint(j, K_EPOCH);
	ev.session = gstr(j, K_SESSION);
	*out = ev;
	return 0;
}
