// SPDX-License-Identifier: Apache-2.0
/* make_latency's cross-domain set-up: see make_fed.h.  Nothing here is
 * timed but fed_bench_verify, which runs inside the measured MAKEs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sealnet/federation.h"
#include "sealnet/kbs.h"
#include "sealnet/util.h"
#include "sealnet/workflow.h"
#include "make_fed.h"

struct fed_bench {
	char dir[64];
	struct sn_workflow *wf;
	struct sn_fed_bundle *b[2];
	char *tok[2];
	uint8_t w[SN_MAKE_BIND_LEN];
};

static void path(const struct fed_bench *f, const char *n, char *out)
{
	snprintf(out, 128, "%s/%s", f->dir, n);
}

int fed_bench_setup(const uint8_t meas[48], const uint8_t ark[32],
		    const char *const names[2], const uint8_t spki[2][32],
		    struct fed_bench **out)
{
	struct fed_bench *f = calloc(1, sizeof(*f));
	uint8_t pub[2][SN_WF_PUB_LEN];
	char p[128], q[128], ph[2][65], mh[97], ah[65], m[4096],
		dg[2 * SN_WF_DIGEST_LEN + 1];
	struct sn_kbs_signer *tk[2] = {0};
	int err = -ENOMEM;

	if (!f)
		return -ENOMEM;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sealnet-make-fed-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -errno;
	}
	for (int i = 0; i < 2; i++) {
		snprintf(q, sizeof(q), "d%d.key", i);
		path(f, q, p);
		snprintf(q, sizeof(q), "%s/d%d.pub", f->dir, i);
		if ((err = sn_wf_keygen(p, q, pub[i])))
			goto out;
		sn_hex_encode(pub[i], SN_WF_PUB_LEN, ph[i]);
	}
	sn_hex_encode(meas, 48, mh);
	sn_hex_encode(ark, 32, ah);
	snprintf(
		m, sizeof(m),
		"{\"sealnet_workflow\":1,\"name\":\"bench\",\"version\":1,"
		"\"lifetimes\":{\"rekey_interval_s\":60,"
		"\"session_lifetime_s\":300},\"domains\":["
		"{\"id\":\"d0\",\"keys\":[{\"id\":\"k0\",\"ed25519\":\"%s\"}]},"
		"{\"id\":\"d1\",\"keys\":[{\"id\":\"k1\",\"ed25519\":\"%s\"}]}]"
		","
		"\"nodes\":["
		"{\"name\":\"%s\",\"domain\":\"d0\",\"id\":1,\"address\":"
		"\"198.18.0.1\",\"tee\":\"sim\"},"
		"{\"name\":\"%s\",\"domain\":\"d1\",\"id\":2,\"address\":"
		"\"198.18.0.2\",\"tee\":\"sim\"}],\"stages\":["
		"{\"name\":\"s0\",\"domain\":\"d0\",\"nodes\":[\"%s\"],"
		"\"identity\":{\"local_ports\":[7001]},\"reference\":{\"tee\":"
		"\"sim\",\"measurements\":[\"%s\"],\"sim_ark_spki_sha256\":"
		"[\"%s\"]}},"
		"{\"name\":\"s1\",\"domain\":\"d1\",\"nodes\":[\"%s\"],"
		"\"identity\":{\"local_ports\":[7002]},\"reference\":{\"tee\":"
		"\"sim\",\"measurements\":[\"%s\"],\"sim_ark_spki_sha256\":"
		"[\"%s\"]}}],\"flows\":[{\"from\":\"s0\",\"to\":\"s1\","
		"\"protocol\":\"udp\",\"port\":7002,\"appraisal\":\"token\"}]}",
		ph[0], ph[1], names[0], names[1], names[0], mh, ah, names[1],
		mh, ah);
	if ((err = sn_workflow_parse(m, strlen(m), &f->wf, NULL)))
		goto out;
	sn_hex_encode(f->wf->digest, SN_WF_DIGEST_LEN, dg);
	for (int i = 0; i < 2; i++) {
		struct sn_kbs_claims c = {0};
		struct sn_fed_export e = {0};
		enum sn_fed_status st;
		char *jwks = NULL, *txt = NULL, dom[8];
		time_t now = time(NULL);

		snprintf(dom, sizeof(dom), "d%d", i);
		snprintf(q, sizeof(q), "tk%d.pem", i);
		path(f, q, p);
		if ((err = sn_kbs_signer_load(p, true, &tk[i])) ||
		    (err = sn_kbs_jwks_json(tk[i], &jwks)))
			goto out;
		snprintf(q, sizeof(q), "d%d.key", i);
		path(f, q, p);
		e = (struct sn_fed_export){.domain = dom,
					   .jwks_json = jwks,
					   .jwks_len = strlen(jwks),
					   .sequence = 1,
					   .not_before = now - 10,
					   .not_after = now + 3600,
					   .key_pem_path = p};
		err = sn_fed_bundle_export(f->wf, m, strlen(m), &e, &txt, NULL);
		free(jwks);
		if (!err)
			err = sn_fed_bundle_parse(txt, strlen(txt), &f->b[i],
						  NULL);
		free(txt);
		if (!err)
			err = sn_fed_bundle_verify(f->wf, f->b[i], now, NULL,
						   &st, NULL);
		if (err)
			goto out;
		snprintf(c.iss, sizeof(c.iss), "sealnet-kbs:%s", dom);
		snprintf(c.sub, sizeof(c.sub), "%s", names[i]);
		snprintf(c.domain, sizeof(c.domain), "%s", dom);
		snprintf(c.stage, sizeof(c.stage), "s%d", i);
		snprintf(c.manifest, sizeof(c.manifest), "%s", dg);
		snprintf(c.tee, sizeof(c.tee), "sim");
		snprintf(c.measurement, sizeof(c.measurement), "%s", mh);
		memcpy(c.cnf_spki, spki[i], 32);
		c.iat = now;
		c.exp = now + 3600;
		snprintf(c.jti, sizeof(c.jti), "bench-%d", i);
		if ((err = sn_kbs_token_sign(tk[i], &c, &f->tok[i])))
			goto out;
	}
	err = sn_make_workflow_binding(f->wf->digest, "d0", "d1", f->w);
out:
	for (int i = 0; i < 2; i++) {
		sn_kbs_signer_free(tk[i]);
		snprintf(q, sizeof(q), "tk%d.pem", i);
		path(f, q, p);
		unlink(p);
		snprintf(q, sizeof(q), "d%d.key", i);
		path(f, q, p);
		unlink(p);
		snprintf(q, sizeof(q), "d%d.pub", i);
		path(f, q, p);
		unlink(p);
	}
	rmdir(f->dir);
	if (err) {
		fed_bench_free(f);
		return err;
	}
	*out = f;
	return 0;
}

const char *fed_bench_token(const struct fed_bench *f, int i)
{
	return f->tok[i];
}

const uint8_t *fed_bench_bind(const struct fed_bench *f)
{
	return f->w;
}

int fed_bench_verify(void *arg, const char *tok, size_t len,
		     const uint8_t spki[SN_SHA256_LEN], uint32_t peer_id,
		     const char *peer_name, struct sn_appraisal *out)
{
	struct fed_bench *f = arg;
	const struct sn_fed_bundle *bs[2] = {f->b[0], f->b[1]};
	struct sn_fed_token_in in = {.wf = f->wf,
				     .peer = peer_name,
				     .tok = tok,
				     .len = len,
				     .spki_sha256 = spki,
				     .now = (int64_t)time(NULL),
				     .bundles = bs,
				     .n_bundles = 2};
	struct sn_kbs_claims c;
	enum sn_fed_refusal r;
	enum sn_tee tee;
	int err = sn_fed_token_appraise(&in, &c, &r, out->reasons[0].detail,
					sizeof(out->reasons[0].detail));

	if (err == -EPERM) {
		out->reasons[0].code = SN_R_TOKEN;
		out->n_reasons = 1;
		return 0;
	}
	if (err)
		return err;
	if (sn_hex_decode(c.measurement, strlen(c.measurement),
			  out->claims.measurement, 48) != 48 ||
	    sn_tee_from_name(c.tee, &tee))
		return -EINVAL;
	out->claims.tee = tee;
	out->accepted = out->authentic = true;
	return 0;
}

void fed_bench_free(struct fed_bench *f)
{
	if (!f)
		return;
	sn_workflow_free(f->wf);
	for (int i = 0; i < 2; i++) {
		sn_fed_bundle_free(f->b[i]);
		free(f->tok[i]);
	}
	free(f);
}
