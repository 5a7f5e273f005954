// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet kbs attest | fetch: the node side of the KBS API with the sim
 * backend (docs/kbs-api.md "Attestation"): fetch a challenge, bind it,
 * the node's TLS key and its resource key (rek) into report_data, attest,
 * keep the token; fetch a resource and open it with the rek.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "sealnet/evidence.h"
#include "sealnet/util.h"
#include "cmd_kbs.h"

/* the rek private key: read 32 raw bytes, or create the file */
static int load_rek(const char *path, uint8_t priv[32], uint8_t pub[32])
{
	uint8_t *b = NULL;
	size_t n = 0;
	int fd, err;

	if (!sn_read_file(path, 64, &b, &n)) {
		err = n == 32 ? 0 : -EINVAL;
		if (!err)
			memcpy(priv, b, 32);
		OPENSSL_cleanse(b, n);
		free(b);
		if (err) {
			fprintf(stderr, "sealnet kbs: rek %s: not 32 bytes\n",
				path);
			return err;
		}
		return sn_kbs_x25519_pub(priv, pub);
	}
	err = sn_kbs_x25519_keygen(priv, pub);
	if (err)
		return err;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, priv, 32) != 32 || fsync(fd)) {
		fprintf(stderr, "sealnet kbs: cannot create rek %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static int get_challenge(const struct kbs_cli *k, uint8_t ch[32])
{
	struct sn_kbs_response r;
	json_t *o;
	int rc;

	if (k->opt[KO_CHALLENGE]) {
		if (sn_kbs_b64url_decode_fixed(k->opt[KO_CHALLENGE], ch, 32)) {
			fprintf(stderr, "sealnet kbs: --challenge is not 32 "
					"bytes of base64url\n");
			return 2;
		}
		return 0;
	}
	rc = kbs_cli_call(k, "GET", "/challenge", NULL, NULL, &r);
	if (rc)
		return rc;
	o = json_loadb(r.body, r.len, 0, NULL);
	rc = sn_kbs_b64url_decode_fixed(
		     json_string_value(json_object_get(o, "challenge")), ch,
		     32) ?
		     2 :
		     0;
	if (rc)
		fprintf(stderr, "sealnet kbs: malformed challenge answer\n");
	json_decref(o);
	sn_kbs_response_clear(&r);
	return rc;
}

/* --cert-refs B64,...: body's cert_refs replaced by these strings, as
 * given (they need not decode: the KBS must refuse what does not) */
static int refs_as_given(const char *list, char **body)
{
	json_t *o = json_loads(*body, 0, NULL), *a = json_array();
	char *copy = strdup(list), *save = NULL, *t, *nb = NULL;

	for (t = copy ? strtok_r(copy, ",", &save) : NULL; t && a;
	     t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	if (o && a && !json_object_set(o, "cert_refs", a))
		nb = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	json_decref(a);
	free(copy);
	if (!nb)
		return -ENOMEM;
	free(*body);
	*body = nb;
	return 0;
}

/* one attestation: 0 and the answer's JSON, 1 refused, 2 failed */
static int attest_once(const struct kbs_cli *k, const uint8_t spki[32],
		       const uint8_t rek[32], const uint8_t *meas,
		       json_t **answer)
{
	uint8_t ch[32], cb[SN_KBS_CB_LEN], rd[SN_REPORT_DATA_LEN];
	static const uint8_t no_log[SN_SHA384_LEN];
	struct sn_evidence *ev = NULL;
	uint8_t *evs = NULL;
	size_t evs_len = 0;
	char *ch_s = NULL, *rek_s = NULL, *ev_s = NULL, *body = NULL;
	struct sn_kbs_response r;
	json_t *o;
	int rc = get_challenge(k, ch);

	if (rc)
		return rc;
	sn_kbs_channel_binding(ch, spki, rek, cb);
	rc = 2;
	if (sn_report_data_binding(cb, sizeof(cb), no_log, rd) ||
	    sn_evidence_produce_ev(SN_TEE_SIM, k->opt[KO_PLATFORM], rd, meas,
				   NULL, &ev)) {
		fprintf(stderr,
			"sealnet kbs: could not produce sim evidence "
			"with platform %s\n",
			k->opt[KO_PLATFORM]);
		goto out;
	}
	if (k->opt[KO_CERT_REFS]) {
		if (sn_kbs_attest_body(k->opt[KO_NODE], ch, rek, ev, true,
				       &body) ||
		    (strcmp(k->opt[KO_CERT_REFS], "auto") &&
		     refs_as_given(k->opt[KO_CERT_REFS], &body)))
			goto out;
	} else {
		if (sn_evidence_serialize(ev, &evs, &evs_len) ||
		    sn_kbs_b64url_encode(ch, 32, &ch_s) ||
		    sn_kbs_b64url_encode(rek, 32, &rek_s) ||
		    sn_kbs_b64url_encode(evs, evs_len, &ev_s))
			goto out;
		o = json_pack("{s:s,s:s,s:s,s:s}", "node", k->opt[KO_NODE],
			      "challenge", ch_s, "rek", rek_s, "evidence",
			      ev_s);
		body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!body)
			goto out;
	}
	rc = kbs_cli_call(k, "POST", "/attest", NULL, body, &r);
	if (!rc) {
		*answer = json_loadb(r.body, r.len, 0, NULL);
		sn_kbs_response_clear(&r);
		if (!*answer ||
		    !json_is_string(json_object_get(*answer, "token"))) {
			json_decref(*answer);
			fprintf(stderr,
				"sealnet kbs: malformed attest answer\n");
			rc = 2;
		}
	}
out:
	sn_evidence_free(ev);
	free(evs);
	free(ch_s);
	free(rek_s);
	free(ev_s);
	free(body);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int kbs_cli_attest(const struct kbs_cli *k)
{
	uint8_t spki[32], priv[32], pub[32], meas[SN_MEASUREMENT_LEN] = {0};
	long count = k->count ? k->count : 1;
	double t0;
	int rc = 0;

	if (!k->opt[KO_NODE] || !k->opt[KO_PLATFORM] || !k->opt[KO_REK] ||
	    !k->conn.cert || k->n_args) {
		fprintf(stderr, "sealnet kbs attest: needs --node, --platform, "
				"--rek, --cert and --key, no argument (see "
				"--help)\n");
		return 2;
	}
	if (k->opt[KO_MEASUREMENT] &&
	    (strlen(k->opt[KO_MEASUREMENT]) != 2 * SN_MEASUREMENT_LEN ||
	     sn_hex_decode(k->opt[KO_MEASUREMENT], 2 * SN_MEASUREMENT_LEN, meas,
			   sizeof(meas)) != SN_MEASUREMENT_LEN)) {
		fprintf(stderr,
			"sealnet kbs attest: --measurement needs 96 hex "
			"digits\n");
		return 2;
	}
	if (sn_kbs_cert_file_spki(k->opt[KO_BIND_CERT] ? k->opt[KO_BIND_CERT] :
							 k->conn.cert,
				  spki) ||
	    load_rek(k->opt[KO_REK], priv, pub))
		return 2;
	OPENSSL_cleanse(priv, sizeof(priv));
	t0 = now_s();
	for (long i = 0; i < count; i++) {
		json_t *ans = NULL;
		const char *tok;

		rc = attest_once(k, spki, pub, meas, &ans);
		if (rc)
			break;
		tok = json_string_value(json_object_get(ans, "token"));
		if (count > 1) {
			printf("jti %s\n",
			       json_string_value(json_object_get(ans, "jti")));
			fflush(stdout);
		} else if (k->opt[KO_TOKEN]) {
			FILE *f = fopen(k->opt[KO_TOKEN], "w");

			if (!f || fputs(tok, f) < 0 || fclose(f)) {
				fprintf(stderr,
					"sealnet kbs: cannot write %s\n",
					k->opt[KO_TOKEN]);
				rc = 2;
			}
			printf("token %s for stage %s, expires at %lld\n",
			       json_string_value(json_object_get(ans, "jti")),
			       json_string_value(json_object_get(ans, "stage")),
			       (long long)json_integer_value(
				       json_object_get(ans, "expires_at")));
		} else {
			printf("%s\n", tok);
		}
		json_decref(ans);
	}
	if (count > 1 && !rc) {
		double dt = now_s() - t0;

		fprintf(stderr, "%ld attestations in %.3f s: %.1f/s\n", count,
			dt, (double)count / dt);
	}
	return rc;
}

int kbs_cli_fetch(const struct kbs_cli *k)
{
	uint8_t priv[32], pub[32], *tok = NULL, *pt = NULL;
	size_t tok_len = 0, pt_len = 0;
	struct sn_kbs_response r = {0};
	char target[SN_KBS_PATH_MAX + 16];
	int rc = 2;

	if (sn_kbs_path_check(k->args[0])) {
		fprintf(stderr,
			"sealnet kbs fetch: '%s' is not a resource path\n",
			k->args[0]);
		return 2;
	}
	if (sn_read_file(k->opt[KO_TOKEN], SN_KBS_TOKEN_MAX, &tok, &tok_len)) {
		fprintf(stderr, "sealnet kbs fetch: cannot read token %s\n",
			k->opt[KO_TOKEN]);
		return 2;
	}
	while (tok_len && (tok[tok_len - 1] == '\n' || tok[tok_len - 1] == ' '))
		tok[--tok_len] = '\0';
	if (load_rek(k->opt[KO_REK], priv, pub))
		goto out;
	snprintf(target, sizeof(target), "/resource/%s", k->args[0]);
	rc = kbs_cli_call(k, "GET", target, (const char *)tok, NULL, &r);
	if (rc)
		goto out;
	if (sn_kbs_open(priv, k->args[0], r.body, r.len, &pt, &pt_len)) {
		fprintf(stderr,
			"sealnet kbs fetch: the sealed resource does not "
			"open with rek %s\n",
			k->opt[KO_REK]);
		rc = 1;
		goto out;
	}
	if (k->opt[KO_OUT]) {
		int fd = open(k->opt[KO_OUT],
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || write(fd, pt, pt_len) != (ssize_t)pt_len) {
			fprintf(stderr, "sealnet kbs fetch: cannot write %s\n",
				k->opt[KO_OUT]);
			rc = 2;
		}
		if (fd >= 0)
			close(fd);
	} else {
		fwrite(pt, 1, pt_len, stdout);
	}
out:
	OPENSSL_cleanse(priv, sizeof(priv));
	if (pt) {
		OPENSSL_cleanse(pt, pt_len);
		free(pt);
	}
	sn_kbs_response_clear(&r);
	free(tok);
	return rc;
}
