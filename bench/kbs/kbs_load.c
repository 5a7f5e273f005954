// SPDX-License-Identifier: Apache-2.0
/*
 * kbs_load: load on sealnet-kbs from C concurrent clients (threads), each
 * a node doing whole attestations (GET /challenge, sim evidence bound to
 * the challenge, its TLS key and a rek, POST /attest: sn_kbs_attest(), the
 * code sealnetd's helper runs) or resource fetches (GET /resource/PATH
 * with a token it got first).  An attestation's two requests share one
 * TLS 1.3 connection (keep-alive, as sealnetd's helper does); each fetch
 * is its own connection.  All clients share one TLS context (the node's
 * certificate, key and CA loaded once, as sealnetd keeps one); every
 * connection is a full handshake.  Each token received is verified as
 * sealnetd verifies its own (the KBS's JWKS, GET /keys once at start;
 * subject, cnf and rek).  Not a test: figures only.
 *
 *   kbs_load --server HOST:PORT --ca CA --cert NODE.pem --key NODE.key
 *            --node ID --platform DIR --measurement HEX
 *            [-c CLIENTS] [-n PER_CLIENT] [--fetch PATH] [--gap MS]
 *
 * --gap MS pauses each attestation MS ms between its challenge and its
 * evidence (tests: a kept-alive connection the KBS closed meanwhile).
 *
 * Output, one JSON line: mode, clients, ops, seconds, ops/s, latency
 * p50/p90/p99/max in ms (per operation: an attestation is two requests),
 * failures, and this process's own CPU (user + system) per operation in
 * ms (the clients' share of the machine: evidence, TLS handshakes).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sealnet/evidence.h"
#include "sealnet/kbs.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

static struct sn_kbs_client_opts opts = {.timeout_s = 30};
static const char *node, *platform, *fetch_path;
static uint8_t meas[SN_MEASUREMENT_LEN];
static int per_client = 50;
static int gap_ms; /* --gap: pause between GET /challenge and POST /attest */

struct worker {
	pthread_t t;
	double *lat; /* ms */
	int n, fails;
	char why[320];
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int evidence(void *arg, const uint8_t rd[SN_REPORT_DATA_LEN],
		    struct sn_evidence **ev)
{
	if (gap_ms) {
		struct timespec ts = {gap_ms / 1000, gap_ms % 1000 * 1000000L};

		nanosleep(&ts, NULL);
	}
	return sn_evidence_produce_ev(SN_TEE_SIM, platform, rd, meas, NULL, ev);
}

/* the KBS's token keys (GET /keys, once) and this node's TLS key */
static struct sn_kbs_signer *keys[8];
static size_t n_keys;
static uint8_t spki[SN_SHA256_LEN];

/* the token as sealnetd checks its own: signed by a published key, not
 * expired, for this node, bound to its TLS key and resource key */
static int check_token(const char *tok, const uint8_t rek[32], char *why,
		       size_t cap)
{
	struct sn_kbs_claims c;

	for (size_t i = 0; i < n_keys; i++)
		if (!sn_kbs_token_verify(keys[i], tok, strlen(tok), time(NULL),
					 &c)) {
			if (strcmp(c.sub, node) ||
			    memcmp(c.cnf_spki, spki, sizeof(spki)) ||
			    memcmp(c.rek, rek, SN_KBS_REK_LEN))
				break;
			return 0;
		}
	snprintf(why, cap, "the token does not verify or is not this node's");
	return -EBADMSG;
}

static int attest(uint8_t rek[32], char **token, char *why, size_t cap)
{
	struct sn_kbs_attest_result r = {0};
	int err = sn_kbs_attest(&opts, node, rek, NULL, evidence, NULL, &r, why,
				cap);

	if (!err)
		err = check_token(r.token, rek, why, cap);
	if (!err && token)
		*token = r.token;
	else
		free(r.token);
	return err;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint8_t priv[32], rek[32];
	char *token = NULL, target[256];

	if (sn_kbs_x25519_keygen(priv, rek)) {
		w->fails = per_client;
		return NULL;
	}
	if (fetch_path && attest(rek, &token, w->why, sizeof(w->why))) {
		w->fails = per_client;
		return NULL;
	}
	snprintf(target, sizeof(target), "/resource/%s",
		 fetch_path ? fetch_path : "");
	for (int i = 0; i < per_client; i++) {
		double t0 = now_ms();
		int err;

		if (fetch_path) {
			struct sn_kbs_response r = {0};

			err = sn_kbs_request(&opts, "GET", target, token, NULL,
					     0, &r);
			if (!err && r.status != 200) {
				snprintf(w->why, sizeof(w->why),
					 "HTTP %d: %.200s", r.status,
					 r.body ? r.body : "");
				err = -EACCES;
			}
			sn_kbs_response_clear(&r);
		} else {
			err = attest(rek, NULL, w->why, sizeof(w->why));
		}
		if (err)
			w->fails++;
		else
			w->lat[w->n++] = now_ms() - t0;
	}
	free(token);
	return NULL;
}

/* this process's user + system CPU so far, ms */
static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double rank(const double *v, int n, double q)
{
	int i = (int)(q * n + 0.999999) - 1;

	return n ? v[i < 0 ? 0 : i >= n ? n - 1 : i] : 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"server", required_argument, NULL, 's'},
		{"ca", required_argument, NULL, 'a'},
		{"cert", required_argument, NULL, 'C'},
		{"key", required_argument, NULL, 'k'},
		{"node", required_argument, NULL, 'N'},
		{"platform", required_argument, NULL, 'p'},
		{"measurement", required_argument, NULL, 'm'},
		{"fetch", required_argument, NULL, 'f'},
		{"gap", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int clients = 4, c, total = 0, fails = 0;
	struct worker *w;
	double t0, dt, c0, *all;
	const char *why = "";

	while ((c = getopt_long(argc, argv, "c:n:h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			opts.server = optarg;
			break;
		case 'a':
			opts.ca = optarg;
			break;
		case 'C':
			opts.cert = optarg;
			break;
		case 'k':
			opts.key = optarg;
			break;
		case 'N':
			node = optarg;
			break;
		case 'p':
			platform = optarg;
			break;
		case 'f':
			fetch_path = optarg;
			break;
		case 'g':
			gap_ms = atoi(optarg);
			break;
		case 'm':
			if (strlen(optarg) != 2 * SN_MEASUREMENT_LEN ||
			    sn_hex_decode(optarg, strlen(optarg), meas,
					  sizeof(meas)) != SN_MEASUREMENT_LEN) {
				fprintf(stderr, "kbs_load: --measurement: 96 "
						"hex digits\n");
				return 2;
			}
			break;
		case 'c':
			clients = atoi(optarg);
			break;
		case 'n':
			per_client = atoi(optarg);
			break;
		case 'h':
			printf("usage: kbs_load --server HOST:PORT --ca CA "
			       "--cert NODE.pem "
			       "--key NODE.key --node ID --platform DIR "
			       "--measurement HEX "
			       "[-c CLIENTS] [-n PER_CLIENT] [--fetch PATH] "
			       "[--gap MS]\n"
			       "Concurrent attestations (or resource fetches) "
			       "against "
			       "sealnet-kbs; one JSON line (docs/kbs-api.md, "
			       "Measurements).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!opts.server || !opts.ca || !opts.cert || !opts.key || !node ||
	    !platform || clients < 1 || clients > 1024 || per_client < 1) {
		fprintf(stderr,
			"kbs_load: missing or bad options (see --help)\n");
		return 2;
	}
	sn_log_set(NULL, NULL);
	/* one TLS context for the node identity, as sealnetd keeps one:
	 * the files are loaded once, each connection is still a full
	 * handshake with the client certificate */
	if (sn_kbs_client_ctx_new(&opts, &opts.ctx)) {
		fprintf(stderr, "kbs_load: cannot load %s, %s or %s\n", opts.ca,
			opts.cert, opts.key);
		return 1;
	}
	{
		struct sn_kbs_response r = {0};

		if (sn_kbs_client_ctx_spki(opts.ctx, spki) ||
		    sn_kbs_request(&opts, "GET", "/keys", NULL, NULL, 0, &r) ||
		    r.status != 200 ||
		    sn_kbs_jwks_parse(r.body, r.len, keys, 8, &n_keys)) {
			fprintf(stderr, "kbs_load: GET /keys failed\n");
			return 1;
		}
		sn_kbs_response_clear(&r);
	}
	w = calloc((size_t)clients, sizeof(*w));
	if (!w)
		return 1;
	t0 = now_ms();
	c0 = cpu_ms();
	for (int i = 0; i < clients; i++) {
		w[i].lat = calloc((size_t)per_client, sizeof(double));
		if (!w[i].lat || pthread_create(&w[i].t, NULL, run, &w[i]))
			return 1;
	}
	for (int i = 0; i < clients; i++)
		pthread_join(w[i].t, NULL);
	dt = (now_ms() - t0) / 1e3;
	c0 = cpu_ms() - c0;
	all = calloc((size_t)clients * (size_t)per_client, sizeof(double));
	if (!all)
		return 1;
	for (int i = 0; i < clients; i++) {
		memcpy(all + total, w[i].lat, (size_t)w[i].n * sizeof(double));
		total += w[i].n;
		fails += w[i].fails;
		if (w[i].fails)
			why = w[i].why;
	}
	qsort(all, (size_t)total, sizeof(double), cmp);
	printf("{\"mode\":\"%s\",\"clients\":%d,\"ops\":%d,\"seconds\":%.2f,"
	       "\"ops_per_s\":%.1f,\"p50_ms\":%.1f,\"p90_ms\":%.1f,"
	       "\"p99_ms\":%.1f,\"max_ms\":%.1f,\"failures\":%d,"
	       "\"load_cpu_ms_per_op\":%.2f%s%s%s}\n",
	       fetch_path ? "fetch" : "attest", clients, total, dt, total / dt,
	       rank(all, total, 0.5), rank(all, total, 0.9),
	       rank(all, total, 0.99), total ? all[total - 1] : 0, fails,
	       total ? c0 / total : 0, fails ? ",\"error\":\"" : "",
	       fails ? why : "", fails ? "\"" : "");
	for (int i = 0; i < clients; i++)
		free(w[i].lat);
	free(w);
	free(all);
	sn_kbs_client_ctx_free(opts.ctx);
	for (size_t i = 0; i < n_keys; i++)
		sn_kbs_signer_free(keys[i]);
	return fails ? 1 : 0;
}
