// SPDX-License-Identifier: Apache-2.0
/*
 * GET /events?after=N&wait=S: revocation events by long-poll.  Answered at
 * once when events after N exist, else held until one is committed
 * (kbs_events_notify) or S seconds pass (then an empty list).  At most
 * max_event_waiters are held; a client that disconnects is dropped.
 * Every answer carries this database's event epoch and the highest
 * sequence it ever gave, so a follower notices a recreated database.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/kbs_fed.h"
#include "sealnet/log.h"
#include "kbs.h"

#define EVENTS_BATCH 1000

struct kbs_waiter {
	LIST_ENTRY(kbs_waiter) link;
	struct kbs *k;
	struct evhttp_request *req;
	struct event *timer;
	int64_t after;
};

/* answer with the events after `after`; 1 when there were none and
 * answer_empty was false (nothing sent) */
static int answer(struct kbs *k, struct evhttp_request *req, int64_t after,
		  bool answer_empty)
{
	char *ev = NULL, *txt = NULL, epoch[SN_KBS_EPOCH_MAX];
	int64_t last, head;

	if (sn_kbs_events_json(k->st, after, EVENTS_BATCH, &ev, &last) ||
	    sn_kbs_events_head(k->st, epoch, &head)) {
		free(ev);
		kbs_reply(req, 503, "{\"error\":\"internal\"}");
		return 0;
	}
	if (!answer_empty && last == after) {
		free(ev);
		return 1;
	}
	/* epoch and head: a follower sees that this database's sequence
	 * restarted (docs/kbs-api.md "GET /events") */
	if (asprintf(&txt,
		     "{\"events\":%s,\"last\":%lld,\"epoch\":\"%s\","
		     "\"head\":%lld}",
		     ev, (long long)last, epoch, (long long)head) < 0)
		txt = NULL;
	kbs_reply(req, txt ? 200 : 503, txt ? txt : "{\"error\":\"internal\"}");
	free(txt);
	free(ev);
	return 0;
}

static void drop(struct kbs_waiter *w)
{
	struct evhttp_connection *c = evhttp_request_get_connection(w->req);

	if (c)
		evhttp_connection_set_closecb(c, NULL, NULL);
	LIST_REMOVE(w, link);
	__atomic_sub_fetch(&w->k->n_waiters, 1, __ATOMIC_RELAXED);
	event_free(w->timer);
	free(w);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct kbs_waiter *w = arg;
	struct kbs *k = w->k;
	struct evhttp_request *req = w->req;
	int64_t after = w->after;

	drop(w);
	answer(k, req, after, true);
}

static void on_close(struct evhttp_connection *c, void *arg)
{
	struct kbs_waiter *w = arg;

	LIST_REMOVE(w, link);
	__atomic_sub_fetch(&w->k->n_waiters, 1, __ATOMIC_RELAXED);
	event_free(w->timer);
	free(w);
}

void kbs_events(struct kbs *k, struct evhttp_request *req)
{
	long after, wait;
	struct kbs_waiter *w;
	struct timeval tv;
	int max_wait =
		k->cfg.request_timeout > 1 ? k->cfg.request_timeout - 1 : 1;

	if (kbs_query_int(req, "after", 0, INT64_MAX, 0, &after) ||
	    kbs_query_int(req, "wait", 0, 3600, 25, &wait)) {
		kbs_refuse(
			k, req, 400, "events", NULL, "malformed", NULL,
			"GET /events takes after=N (>= 0) and wait=S (0..3600 "
			"seconds)");
		return;
	}
	if (wait > max_wait)
		wait = max_wait;
	if (!answer(k, req, after, wait == 0))
		return;
	if (k->n_waiters >= k->cfg.max_waiters) {
		kbs_refuse(k, req, 503, "events", NULL, "busy", NULL,
			   "%d clients are already waiting for events; retry "
			   "later",
			   k->cfg.max_waiters);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->timer = evtimer_new(k->base, on_timeout, w))) {
		free(w);
		kbs_reply(req, 503, "{\"error\":\"internal\"}");
		return;
	}
	w->k = k;
	w->req = req;
	w->after = after;
	tv.tv_sec = wait;
	tv.tv_usec = 0;
	evtimer_add(w->timer, &tv);
	LIST_INSERT_HEAD(&k->waiters, w, link);
	__atomic_add_fetch(&k->n_waiters, 1, __ATOMIC_RELAXED);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
				      on_close, w);
}

void kbs_events_notify(struct kbs *k)
{
	struct kbs_waiter *w, *next;

	for (w = LIST_FIRST(&k->waiters); w; w = next) {
		struct evhttp_request *req = w->req;
		int64_t after = w->after;

		next = LIST_NEXT(w, link);
		drop(w);
		answer(k, req, after, true);
	}
}

void kbs_events_free(struct kbs *k)
{
	while (!LIST_EMPTY(&k->waiters))
		drop(LIST_FIRST(&k->waiters));
}
