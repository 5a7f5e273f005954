// SPDX-License-Identifier: Apache-2.0
/*
 * Group commit of issued tokens (docs/kbs-api.md "Workers"): a token is
 * handed out only after its record and audit entry are committed
 * (synchronous=FULL: fsynced).  Instead of one transaction and one fsync
 * per attestation, a worker collects the tokens it signs during one turn
 * of its event loop and commits them together when the turn's other ready
 * requests have run (an event activated by the first one runs after them),
 * or when KBS_BATCH_MAX are waiting; only then are their answers sent.
 * If the commit fails, every request of the batch gets 503 and no token.
 *
 * A client that disconnects while its token waits loses the answer (the
 * connection's close callback forgets the request); the record is still
 * committed (a token was issued, and no one has it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/log.h"
#include "kbs.h"

#define KBS_BATCH_MAX 64

struct kbs_pending {
	struct evhttp_request *req; /* NULL: the client went away */
	struct sn_kbs_token_rec rec;
	char actor[200], detail[256];
	char *answer; /* the 200 body */
	int64_t t0_ms;
};

struct kbs_batch {
	struct event *ev; /* activated with the first pending token */
	bool scheduled;
	size_t n;
	struct kbs_pending p[KBS_BATCH_MAX];
};

static void on_close(struct evhttp_connection *c, void *arg)
{
	struct kbs_pending *p = arg;

	p->req = NULL;
}

void kbs_batch_flush(struct kbs *k)
{
	struct kbs_batch *b = k->batch;
	struct sn_kbs_token_rec rec[KBS_BATCH_MAX];
	struct sn_kbs_audit_in au[KBS_BATCH_MAX];
	int err;

	if (!b || !b->n)
		return;
	for (size_t i = 0; i < b->n; i++) {
		rec[i] = b->p[i].rec;
		au[i] = (struct sn_kbs_audit_in){
			.actor = b->p[i].actor,
			.action = "attest",
			.subject = b->p[i].rec.node,
			.outcome = "ok",
			.detail = b->p[i].detail,
		};
	}
	/* committed (fsynced) before any of the tokens is handed out */
	err = sn_kbs_token_record_many(k->st, rec, au, b->n);
	for (size_t i = 0; i < b->n; i++) {
		struct kbs_pending *p = &b->p[i];

		if (p->req) {
			evhttp_connection_set_closecb(
				evhttp_request_get_connection(p->req), NULL,
				NULL);
			if (!err) {
				kbs_reply(p->req, 200, p->answer);
				kbs_metrics_attested(
					k, (double)((int64_t)kbs_now_ms() -
						    p->t0_ms) /
						   1e3);
			} else {
				kbs_refuse(k, p->req, 503, "attest",
					   p->rec.node, "internal", NULL,
					   "the token could not be recorded "
					   "(database error?)");
			}
		}
		free(p->answer);
		p->answer = NULL;
	}
	b->n = 0;
}

static void on_commit(evutil_socket_t fd, short what, void *arg)
{
	struct kbs *k = arg;

	k->batch->scheduled = false;
	kbs_batch_flush(k);
}

int kbs_batch_init(struct kbs *k)
{
	struct kbs_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->ev = event_new(k->base, -1, 0, on_commit, k);
	if (!b->ev) {
		free(b);
		return -ENOMEM;
	}
	k->batch = b;
	return 0;
}

void kbs_batch_free(struct kbs *k)
{
	if (!k->batch)
		return;
	kbs_batch_flush(k); /* commit what was signed; answers may not go */
	event_free(k->batch->ev);
	free(k->batch);
	k->batch = NULL;
}

int kbs_batch_add(struct kbs *k, struct evhttp_request *req,
		  const struct sn_kbs_token_rec *rec, const char *actor,
		  const char *detail, char *answer, int64_t t0_ms)
{
	struct kbs_batch *b = k->batch;
	struct kbs_pending *p;

	if (b->n == KBS_BATCH_MAX)
		kbs_batch_flush(k);
	p = &b->p[b->n++];
	p->req = req;
	p->rec = *rec;
	snprintf(p->actor, sizeof(p->actor), "%s", actor);
	snprintf(p->detail, sizeof(p->detail), "%s", detail);
	p->answer = answer;
	p->t0_ms = t0_ms;
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
				      on_close, p);
	if (!b->scheduled) {
		b->scheduled = true;
		event_active(b->ev, 0, 0);
	}
	return 0;
}
