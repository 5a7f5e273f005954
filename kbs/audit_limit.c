// SPDX-License-Identifier: Apache-2.0
/*
 * Rate limit on the audit rows of refusals by unauthenticated clients
 * (docs/kbs-api.md "Audit rate limit").  A refusal is always answered,
 * logged and counted in the metrics; its audit row is written only while
 * the client's source address has tokens in its bucket (burst
 * audit_refusal_burst, refilled audit_refusal_rate per second) and the
 * bucket of all sources together has too (10 times both).  Refusals of an
 * admin or of an enrolled node's key are always audited (they are
 * identified, and revocable).  What is suppressed is counted (metric
 * sealnet_kbs_audit_suppressed_total) and summarised every
 * KBS_ALIM_SUMMARY_S seconds in one audit row (action audit-suppressed),
 * written by the main worker's loop through the normal append, so the
 * hash chain stays one valid chain.
 *
 * The per-source buckets are a direct-mapped table (a source hashing to a
 * slot held by another address takes the slot over with a full bucket):
 * bounded memory whatever the number of addresses; the all-sources
 * bucket bounds the rows however many addresses an attacker has.
 * Shared by the workers, behind one lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/log.h"
#include "kbs.h"

#define KBS_ALIM_SLOTS	   4096
#define KBS_ALIM_SUMMARY_S 10

struct bucket {
	char addr[64];
	double tokens;
	uint64_t last_ms;
};

struct kbs_alim {
	pthread_mutex_t lock;
	struct bucket src[KBS_ALIM_SLOTS];
	struct bucket all;
	double burst, rate; /* per source; all sources: 10 times */
	uint64_t pending;   /* suppressed since the last summary row */
	uint64_t total;	    /* suppressed since start */
	char last_addr[64]; /* of the last suppressed one */
	struct event *ev;
};

static void refill(struct bucket *b, uint64_t now, double burst, double rate)
{
	if (now > b->last_ms)
		b->tokens += (double)(now - b->last_ms) * rate / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last_ms = now;
}

static size_t slot(const char *addr)
{
	/* FNV-1a */
	uint64_t h = 1469598103934665603ULL;

	for (; *addr; addr++)
		h = (h ^ (uint8_t)*addr) * 1099511628211ULL;
	return (size_t)(h % KBS_ALIM_SLOTS);
}

bool kbs_alim_allow(struct kbs *k, const char *addr)
{
	struct kbs_alim *a = k->alim;
	struct bucket *b;
	uint64_t now = kbs_now_ms();
	bool ok;

	if (!a)
		return true;
	pthread_mutex_lock(&a->lock);
	b = &a->src[slot(addr)];
	if (strncmp(b->addr, addr, sizeof(b->addr))) {
		snprintf(b->addr, sizeof(b->addr), "%s", addr);
		b->tokens = a->burst;
		b->last_ms = now;
	}
	refill(b, now, a->burst, a->rate);
	refill(&a->all, now, 10 * a->burst, 10 * a->rate);
	ok = b->tokens >= 1 && a->all.tokens >= 1;
	if (ok) {
		b->tokens -= 1;
		a->all.tokens -= 1;
	} else {
		a->pending++;
		a->total++;
		snprintf(a->last_addr, sizeof(a->last_addr), "%s", addr);
	}
	pthread_mutex_unlock(&a->lock);
	return ok;
}

uint64_t kbs_alim_suppressed(struct kbs *k)
{
	uint64_t n;

	if (!k->alim)
		return 0;
	pthread_mutex_lock(&k->alim->lock);
	n = k->alim->total;
	pthread_mutex_unlock(&k->alim->lock);
	return n;
}

/* one audit row for what was suppressed since the last one (main loop) */
static void summarise(struct kbs *k)
{
	struct kbs_alim *a = k->alim;
	uint64_t n;
	char detail[256], last[64];

	pthread_mutex_lock(&a->lock);
	n = a->pending;
	a->pending = 0;
	memcpy(last, a->last_addr, sizeof(last));
	pthread_mutex_unlock(&a->lock);
	if (!n)
		return;
	snprintf(detail, sizeof(detail),
		 "%llu refusals of unauthenticated clients not audited "
		 "(rate limit; the last from %s); counted in "
		 "sealnet_kbs_audit_suppressed_total",
		 (unsigned long long)n, last);
	{
		const struct sn_kbs_audit_in in = {
			.actor = "kbs",
			.action = "audit-suppressed",
			.subject = "",
			.outcome = "suppressed",
			.detail = detail,
		};

		if (sn_kbs_audit_append(k->st, &in)) {
			sn_err("the summary of %llu suppressed refusals could "
			       "not be audited (database error above)",
			       (unsigned long long)n);
			/* counted again in the next one */
			pthread_mutex_lock(&a->lock);
			a->pending += n;
			pthread_mutex_unlock(&a->lock);
		}
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	summarise(arg);
}

int kbs_alim_start(struct kbs *k)
{
	struct kbs_alim *a = calloc(1, sizeof(*a));
	const struct timeval tv = {KBS_ALIM_SUMMARY_S, 0};

	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	a->burst = k->cfg.audit_refusal_burst;
	a->rate = k->cfg.audit_refusal_rate;
	a->all.tokens = 10 * a->burst;
	a->all.last_ms = kbs_now_ms();
	a->ev = event_new(k->base, -1, EV_PERSIST, on_timer, k);
	if (!a->ev || event_add(a->ev, &tv)) {
		if (a->ev)
			event_free(a->ev);
		pthread_mutex_destroy(&a->lock);
		free(a);
		return -ENOMEM;
	}
	k->alim = a;
	return 0;
}

void kbs_alim_stop(struct kbs *k)
{
	struct kbs_alim *a = k->alim;

	if (!a)
		return;
	summarise(k); /* the last interval's */
	event_free(a->ev);
	pthread_mutex_destroy(&a->lock);
	free(a);
	k->alim = NULL;
}
