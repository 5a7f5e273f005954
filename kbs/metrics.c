// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs's Prometheus page: GET /metrics on cfg.metrics_listen
 * (plain HTTP, "ADDR:PORT"; off when empty), text format 0.0.4
 * (lib/metrics/prom.c).  Unauthenticated like every Prometheus target:
 * bind it to a loopback or management address; it names no node, token
 * or secret, only counts (refusals by action and code, attestations,
 * resources, revocations, waiting event clients) and the attestation
 * latency.  docs/kbs-api.md, Metrics.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/log.h"
#include "kbs.h"

#define KBS_MAX_REFUSAL_KINDS 128

struct refusal {
	char action[32], code[48];
	uint64_t n;
};

struct kbs_metrics {
	pthread_mutex_t lock; /* the workers share one set of counters */
	struct sn_prom_server *server; /* NULL: metrics_listen off */
	uint64_t attested, released, revoked, refusals_other;
	uint64_t connections;
	struct refusal refusals[KBS_MAX_REFUSAL_KINDS];
	size_t n_refusals;
	struct sn_prom_hist attest_s;
};

static const double attest_bounds[] = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
				       0.1,   0.25,  0.5,   1,	  2.5};

void kbs_metrics_refused(struct kbs *k, const char *action, const char *code)
{
	struct kbs_metrics *m = k->metrics;
	size_t i;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->n_refusals; i++)
		if (!strcmp(m->refusals[i].action, action) &&
		    !strcmp(m->refusals[i].code, code))
			break;
	if (i == m->n_refusals) {
		if (i == KBS_MAX_REFUSAL_KINDS ||
		    strlen(action) >= sizeof(m->refusals[i].action) ||
		    strlen(code) >= sizeof(m->refusals[i].code)) {
			m->refusals_other++;
			goto out;
		}
		strcpy(m->refusals[i].action, action);
		strcpy(m->refusals[i].code, code);
		m->n_refusals++;
	}
	m->refusals[i].n++;
out:
	pthread_mutex_unlock(&m->lock);
}

void kbs_metrics_attested(struct kbs *k, double seconds)
{
	if (k->metrics) {
		pthread_mutex_lock(&k->metrics->lock);
		k->metrics->attested++;
		sn_prom_hist_observe(&k->metrics->attest_s, seconds);
		pthread_mutex_unlock(&k->metrics->lock);
	}
}

void kbs_metrics_connection(struct kbs *k)
{
	if (k->metrics) {
		pthread_mutex_lock(&k->metrics->lock);
		k->metrics->connections++;
		pthread_mutex_unlock(&k->metrics->lock);
	}
}

void kbs_metrics_released(struct kbs *k)
{
	if (k->metrics) {
		pthread_mutex_lock(&k->metrics->lock);
		k->metrics->released++;
		pthread_mutex_unlock(&k->metrics->lock);
	}
}

void kbs_metrics_revoked(struct kbs *k)
{
	if (k->metrics) {
		pthread_mutex_lock(&k->metrics->lock);
		k->metrics->revoked++;
		pthread_mutex_unlock(&k->metrics->lock);
	}
}

static int page_locked(struct kbs *k, struct sn_prom *p)
{
	struct kbs_metrics *m = k->metrics;
	const char *dl[] = {"domain", k->cfg.domain, NULL};
	int err;

	sn_prom_family(p, "sealnet_kbs_info", "gauge",
		       "Constant 1, labelled with the broker's domain.");
	sn_prom_u64(p, "sealnet_kbs_info", dl, 1);
	sn_prom_family(p, "sealnet_kbs_tokens_issued_total", "counter",
		       "Attestations that were accepted and got a token.");
	sn_prom_u64(p, "sealnet_kbs_tokens_issued_total", NULL, m->attested);
	sn_prom_family(p, "sealnet_kbs_resources_released_total", "counter",
		       "Resources released (sealed to the bearer's key).");
	sn_prom_u64(p, "sealnet_kbs_resources_released_total", NULL,
		    m->released);
	sn_prom_family(p, "sealnet_kbs_revocations_total", "counter",
		       "Revocations recorded (node or measurement).");
	sn_prom_u64(p, "sealnet_kbs_revocations_total", NULL, m->revoked);
	sn_prom_family(p, "sealnet_kbs_refusals_total", "counter",
		       "Requests refused, by action and error code "
		       "(docs/kbs-api.md); code \"other\" when the table of "
		       "kinds is full.");
	for (size_t i = 0; i < m->n_refusals; i++) {
		const char *l[] = {"action", m->refusals[i].action, "code",
				   m->refusals[i].code, NULL};

		sn_prom_u64(p, "sealnet_kbs_refusals_total", l,
			    m->refusals[i].n);
	}
	if (m->refusals_other) {
		const char *l[] = {"action", "other", "code", "other", NULL};

		sn_prom_u64(p, "sealnet_kbs_refusals_total", l,
			    m->refusals_other);
	}
	sn_prom_family(p, "sealnet_kbs_audit_suppressed_total", "counter",
		       "Refusals of unauthenticated clients answered but not "
		       "written to the audit log (its rate limit; summarised "
		       "in audit-suppressed rows).");
	sn_prom_u64(p, "sealnet_kbs_audit_suppressed_total", NULL,
		    kbs_alim_suppressed(k));
	sn_prom_family(p, "sealnet_kbs_tls_connections_total", "counter",
		       "Connections accepted on the API (each one TLS "
		       "handshake; a kept-alive connection carries several "
		       "requests).");
	sn_prom_u64(p, "sealnet_kbs_tls_connections_total", NULL,
		    m->connections);
	sn_prom_family(p, "sealnet_kbs_event_waiters", "gauge",
		       "Clients waiting on GET /events.");
	sn_prom_u64(p, "sealnet_kbs_event_waiters", NULL,
		    (uint64_t)kbs_workers_waiters(k));
	sn_prom_family(p, "sealnet_kbs_attestation_duration_seconds",
		       "histogram",
		       "Time from a POST /attest request to its token "
		       "(appraisal, signing, the committed record).");
	sn_prom_hist(p, "sealnet_kbs_attestation_duration_seconds", NULL,
		     &m->attest_s);
	kbs_fed_metrics(k, p);
	err = sn_prom_text(p, NULL) ? 0 : -ENOMEM;
	return err;
}

static int page(struct kbs *k, struct sn_prom *p)
{
	int err;

	pthread_mutex_lock(&k->metrics->lock);
	err = page_locked(k, p);
	pthread_mutex_unlock(&k->metrics->lock);
	return err;
}

static int page_cb(struct sn_prom *p, void *arg)
{
	return page(arg, p);
}

int kbs_metrics_start(struct kbs *k)
{
	struct kbs_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->attest_s.bounds = attest_bounds;
	m->attest_s.n_bounds = sizeof(attest_bounds) / sizeof(attest_bounds[0]);
	k->metrics = m;
	if (!k->cfg.metrics_listen[0])
		return 0;
	return sn_prom_serve(k->base, k->cfg.metrics_listen, page_cb, k,
			     &m->server);
}

void kbs_metrics_stop(struct kbs *k)
{
	if (!k->metrics)
		return;
	sn_prom_server_free(k->metrics->server);
	pthread_mutex_destroy(&k->metrics->lock);
	free(k->metrics);
	k->metrics = NULL;
}
