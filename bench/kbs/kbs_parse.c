// SPDX-License-Identifier: Apache-2.0
/*
 * kbs_parse: the CPU one POST /attest body costs the KBS from its bytes
 * to its verdict, and the node to build it, for each form of the
 * evidence (docs/kbs-api.md "POST /attest"), in one thread of one
 * process, the forms interleaved so that the machine's load weighs on
 * each alike:
 *
 *   string   "evidence": base64url of the evidence text (first version)
 *   object   "evidence": the evidence's JSON object, certificates in full
 *   refs     the object without them, "cert_refs" resolved in the KBS's
 *            cache (sn_kbs_certref)
 *
 * Per form and round: build (sn_kbs_attest_body, or serialize + base64url
 * for the string form), parse (sn_kbs_attest_request_parse +
 * sn_kbs_attest_evidence) and appraise (sn_appraise_bound_ev: the P-384
 * report signature, the chain through the caches, the policy).  Prints one
 * JSON line per form: microseconds of this thread's CPU per body, median
 * of the rounds.  Sim evidence from a temporary platform.
 *
 *   kbs_parse [-n ITERATIONS] [-r ROUNDS]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "sealnet/kbs.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

enum form { STRING, OBJECT, REFS, NFORMS };
static const char *const names[NFORMS] = {"string", "object", "refs"};

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static char *build(enum form f, const struct sn_evidence *ev,
		   const uint8_t ch[32], const uint8_t rek[32])
{
	uint8_t *txt = NULL;
	size_t len;
	char *body = NULL, *c = NULL, *r = NULL, *e = NULL;
	json_t *o;

	if (f != STRING) {
		if (sn_kbs_attest_body("n1", ch, rek, ev, f == REFS, &body))
			return NULL;
		return body;
	}
	if (!sn_evidence_serialize(ev, &txt, &len) &&
	    !sn_kbs_b64url_encode(ch, 32, &c) &&
	    !sn_kbs_b64url_encode(rek, 32, &r) &&
	    !sn_kbs_b64url_encode(txt, len, &e)) {
		o = json_pack("{s:s,s:s,s:s,s:s}", "node", "n1", "challenge", c,
			      "rek", r, "evidence", e);
		body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	free(txt);
	free(c);
	free(r);
	free(e);
	return body;
}

/* the KBS's side: 0 and the verdict */
static int kbs_side(struct sn_kbs_certref *c, const char *body,
		    const struct sn_policy_appraisal *p,
		    const struct sn_appraise_binding *b, bool appraise,
		    bool *accepted)
{
	struct sn_kbs_attest_request r;
	struct sn_evidence *ev = NULL;
	struct sn_appraisal a;
	char *unknown = NULL;
	int err = sn_kbs_attest_request_parse(body, strlen(body), &r);

	if (err)
		return err;
	err = sn_kbs_attest_evidence(c, &r, &ev, &unknown);
	free(unknown);
	if (!err && appraise) {
		err = sn_appraise_bound_ev(ev, p, 0, b, &a);
		*accepted = !err && a.accepted;
	} else {
		*accepted = !err;
	}
	sn_evidence_free(ev);
	sn_kbs_attest_request_clear(&r);
	return err;
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char dir[] = "/tmp/kbs_parse.XXXXXX", plat[64], json[512], hex[65];
	static const uint8_t cbind[16] = {9}, no_log[SN_SHA384_LEN];
	uint8_t ch[32] = {1}, rek[32] = {2}, meas[48] = {3}, h[32];
	uint8_t rd[SN_REPORT_DATA_LEN];
	const struct sn_appraise_binding b = {.channel_binding = cbind,
					      .cb_len = sizeof(cbind)};
	struct sn_policy_appraisal *p = NULL;
	struct sn_kbs_certref *c = NULL;
	struct sn_evidence *ev = NULL;
	int n = 200, rounds = 7, o;
	double *t[NFORMS][3];

	while ((o = getopt_long(argc, argv, "n:r:h", lo, NULL)) != -1) {
		if (o == 'n')
			n = atoi(optarg);
		else if (o == 'r')
			rounds = atoi(optarg);
		else {
			printf("usage: kbs_parse [-n ITERATIONS (200)] [-r "
			       "ROUNDS (7)]\n"
			       "The KBS's and the node's CPU per POST /attest "
			       "body, per evidence form (string, object, "
			       "refs):\nbuild, parse (+ resolve), parse + "
			       "appraise; one JSON line per form, median "
			       "of the rounds (docs/kbs-api.md).\n");
			return o == 'h' ? 0 : 2;
		}
	}
	if (n < 1 || rounds < 1)
		return 2;
	sn_log_set(NULL, NULL);
	if (!mkdtemp(dir))
		return 1;
	snprintf(plat, sizeof(plat), "%s/plat", dir);
	if (sn_sim_platform_init(plat) || sn_sim_ark_spki(plat, h) ||
	    sn_report_data_binding(cbind, sizeof(cbind), no_log, rd) ||
	    sn_evidence_produce_ev(SN_TEE_SIM, plat, rd, meas, NULL, &ev)) {
		fprintf(stderr, "kbs_parse: sim platform in %s failed\n", dir);
		return 1;
	}
	sn_hex_encode(h, sizeof(h), hex);
	snprintf(json, sizeof(json),
		 "{\"backends\":[\"sim\"],\"allow_any_measurement\":true,"
		 "\"sim_ark_spki_sha256\":[\"%s\"]}",
		 hex);
	if (sn_policy_appraisal_parse(json, strlen(json), &p) ||
	    sn_kbs_certref_new(64, &c))
		return 1;
	for (size_t i = 0; i < ev->n_certs; i++)
		sn_kbs_certref_add(c, ev->certs[i].der, ev->certs[i].len);
	for (int f = 0; f < NFORMS; f++)
		for (int k = 0; k < 3; k++)
			t[f][k] = calloc((size_t)rounds, sizeof(double));
	for (int r = 0; r < rounds; r++)
		for (int f = 0; f < NFORMS; f++) {
			char *body = build((enum form)f, ev, ch, rek);
			bool ok = body != NULL;
			double t0;

			/* build; parse; parse + appraise */
			t0 = cpu_us();
			for (int i = 0; i < n && ok; i++) {
				char *x = build((enum form)f, ev, ch, rek);

				ok = x != NULL;
				free(x);
			}
			t[f][0][r] = (cpu_us() - t0) / n;
			for (int k = 1; k < 3; k++) {
				t0 = cpu_us();
				for (int i = 0; i < n && ok; i++) {
					bool acc = false;

					ok = !kbs_side(c, body, p, &b, k == 2,
						       &acc) &&
					     acc;
				}
				t[f][k][r] = (cpu_us() - t0) / n;
			}
			free(body);
			if (!ok) {
				fprintf(stderr, "kbs_parse: form %s failed\n",
					names[f]);
				return 1;
			}
		}
	for (int f = 0; f < NFORMS; f++) {
		char *body = build((enum form)f, ev, ch, rek);

		for (int k = 0; k < 3; k++)
			qsort(t[f][k], (size_t)rounds, sizeof(double), cmp);
		printf("{\"form\":\"%s\",\"body_bytes\":%zu,\"n\":%d,"
		       "\"rounds\":%d,\"node_build_us\":%.1f,"
		       "\"kbs_parse_us\":%.1f,\"kbs_parse_appraise_us\":%.1f}"
		       "\n",
		       names[f], body ? strlen(body) : 0, n, rounds,
		       t[f][0][rounds / 2], t[f][1][rounds / 2],
		       t[f][2][rounds / 2]);
		free(body);
		for (int k = 0; k < 3; k++)
			free(t[f][k]);
	}
	{
		char cmd[96];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			fprintf(stderr, "kbs_parse: could not remove %s\n",
				dir);
	}
	sn_evidence_free(ev);
	sn_policy_appraisal_free(p);
	sn_kbs_certref_free(c);
	return 0;
}
