// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd and peers of other domains (docs/federation.md "Cross-domain
 * appraisal", docs/protocol.md §3.2).  Running a manifest, a peer whose
 * node the manifest puts in another domain than this node's is a
 * cross-domain peer:
 *
 *   - its MAKE session carries the workflow binding W (manifest digest,
 *     client's and server's domain ids): HELLO v3, bound keys;
 *   - this node accepts what the manifest's flows between the two nodes
 *     say (sn_workflow_pair_appraisal): token -> SN_MAKE_ACCEPT_TOKEN,
 *     the token checked by sn_fed_token_appraise with the peer domain's
 *     trust bundle; evidence -> SN_MAKE_ACCEPT_EVIDENCE, the evidence
 *     appraised against the manifest's reference values for the peer's
 *     stage (the per-peer policy workflow.c compiled);
 *   - the bundles come from this node's own KBS (GET /federation/bundles,
 *     fetched by kbs_token.c's helper with the JWKS): each is verified
 *     here with lib/federation against the manifest (signature by a key
 *     the manifest lists for its domain, workflow, stages, validity, no
 *     rollback below the one held) before use; a refused one is logged
 *     and ignored, the one held before stays until it expires.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sealnet/federation.h"
#include "sealnet/kbs.h"
#include "sealnet/log.h"
#include "sealnet/make.h"
#include "sealnet/util.h"
#include "sealnetd.h"
#include "workflow.h"

struct sn_fedn {
	size_t n;		  /* the manifest's domains */
	struct sn_fed_bundle **b; /* [n], NULL: none held */
};

static const struct sn_workflow *wf_of(const struct sealnetd *d)
{
	return d->wfd ? d->wfd->wf : NULL;
}

/* manifest node indices of this node and of peer name; -ENOENT */
static int nodes_of(const struct sealnetd *d, const char *peer, size_t *self,
		    size_t *other)
{
	const struct sn_workflow *wf = wf_of(d);
	int a, b;

	if (!wf)
		return -ENOENT;
	a = sn_workflow_find_node(wf, d->cfg->node);
	b = sn_workflow_find_node(wf, peer);
	if (a < 0 || b < 0)
		return -ENOENT;
	*self = (size_t)a;
	*other = (size_t)b;
	return 0;
}

bool sn_fedn_cross(const struct sealnetd *d, const char *peer)
{
	size_t a, b;

	return !nodes_of(d, peer, &a, &b) &&
	       wf_of(d)->nodes[a].domain != wf_of(d)->nodes[b].domain;
}

int sn_fedn_session(const struct sealnetd *d, size_t pi, bool client,
		    uint8_t w[SN_MAKE_BIND_LEN])
{
	const struct sn_workflow *wf = wf_of(d);
	const char *mine, *theirs;
	size_t a, b;
	int mode;

	if (nodes_of(d, d->cfg->peers[pi].name, &a, &b) ||
	    wf->nodes[a].domain == wf->nodes[b].domain)
		return 0;
	mine = wf->domains[wf->nodes[a].domain].id;
	theirs = wf->domains[wf->nodes[b].domain].id;
	if (sn_make_workflow_binding(wf->digest, client ? mine : theirs,
				     client ? theirs : mine, w))
		return -EINVAL;
	mode = sn_workflow_pair_appraisal(wf, a, b);
	return mode == SN_WF_APPRAISAL_TOKEN ? SN_MAKE_ACCEPT_TOKEN :
					       SN_MAKE_ACCEPT_EVIDENCE;
}

const char *sn_fedn_peer_name(const struct sealnetd *d, uint32_t peer_id)
{
	for (size_t i = 0; i < d->cfg->n_peers; i++)
		if (d->cfg->peers[i].id == peer_id)
			return d->cfg->peers[i].name;
	return NULL;
}

static struct sn_fedn *fedn(struct sealnetd *d)
{
	const struct sn_workflow *wf = wf_of(d);

	/* a new manifest version with another number of domains: start
	 * over (the bundles come again with the next fetch) */
	if (d->fedn && wf && d->fedn->n != wf->n_domains)
		sn_fedn_free(d);
	if (!d->fedn && wf) {
		d->fedn = calloc(1, sizeof(*d->fedn));
		if (d->fedn) {
			d->fedn->n = wf->n_domains;
			d->fedn->b = calloc(wf->n_domains, sizeof(*d->fedn->b));
			if (!d->fedn->b) {
				free(d->fedn);
				d->fedn = NULL;
			}
		}
	}
	return d->fedn;
}

/* one bundle (its JSON text) from the KBS: verified, then held */
static void take(struct sealnetd *d, const char *txt, size_t len)
{
	const struct sn_workflow *wf = wf_of(d);
	struct sn_wf_diag *diag = calloc(1, sizeof(*diag));
	struct sn_fed_bundle *b = NULL;
	struct sn_fedn *f = fedn(d);
	enum sn_fed_status st = SN_FED_OK;
	int dom, self = sn_workflow_find_node(wf, d->cfg->node);

	if (!diag || !f)
		goto out;
	if (sn_fed_bundle_parse(txt, len, &b, diag)) {
		sn_warn("federation: a bundle from the KBS does not parse "
			"(%s: %s): ignored",
			diag->n ? diag->errors[0].path : "$",
			diag->n ? diag->errors[0].msg : "invalid");
		goto out;
	}
	dom = sn_workflow_find_domain(wf, b->domain);
	if (dom >= 0 && self >= 0 && (size_t)dom == wf->nodes[self].domain)
		goto out; /* our own domain's: tokens of it use the JWKS */
	memset(diag, 0, sizeof(*diag));
	if (sn_fed_bundle_verify(wf, b, (int64_t)time(NULL),
				 dom >= 0 ? f->b[dom] : NULL, &st, diag)) {
		/* the same sequence and digest again is fine; a refusal is
		 * logged and the bundle held before stays */
		sn_warn("federation: bundle of domain %s (sequence %" PRIu64
			") refused (%s): %s; ignored%s",
			b->domain, b->sequence, sn_fed_status_name(st),
			diag->n ? diag->errors[0].msg : "",
			dom >= 0 && f->b[dom] ? ", the one held before stays "
						"until it expires" :
						"");
		goto out;
	}
	if (f->b[dom] && f->b[dom]->sequence == b->sequence)
		goto out; /* unchanged */
	sn_info("federation: bundle of domain %s, sequence %" PRIu64
		", valid until %" PRId64 " (token keys %s%s%s), verified",
		b->domain, b->sequence, b->not_after, b->kid_current,
		b->key_next ? ", next " : "", b->key_next ? b->kid_next : "");
	sn_fed_bundle_free(f->b[dom]);
	f->b[dom] = b;
	b = NULL;
out:
	sn_fed_bundle_free(b);
	free(diag);
}

void sn_fedn_bundles(struct sealnetd *d, const char *json, size_t len)
{
	json_t *j, *arr, *v;
	size_t i;

	if (!wf_of(d))
		return;
	j = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	arr = json_object_get(j, "bundles");
	if (!json_is_array(arr)) {
		sn_warn("federation: GET /federation/bundles: no \"bundles\" "
			"array: ignored");
		json_decref(j);
		return;
	}
	json_array_foreach(arr, i, v)
	{
		char *t = json_dumps(v, JSON_COMPACT);

		if (t)
			take(d, t, strlen(t));
		free(t);
	}
	json_decref(j);
}

static int revoked(void *arg, const struct sn_kbs_claims *c, char *why,
		   size_t cap)
{
	struct sealnetd *d = arg;
	uint8_t m[SN_MEASUREMENT_LEN];

	if (sn_hex_decode(c->measurement, strlen(c->measurement), m,
			  sizeof(m)) != (int)sizeof(m))
		return 1;
	return sn_kbsc_refused(d, c->sub, m, why, cap);
}

static void refuse(struct sn_appraisal *out, const char *why)
{
	out->accepted = false;
	out->reasons[0].code = SN_R_TOKEN;
	snprintf(out->reasons[0].detail, sizeof(out->reasons[0].detail), "%s",
		 why);
	out->n_reasons = 1;
}

int sn_fedn_verify(struct sealnetd *d, const char *tok, size_t len,
		   const uint8_t spki[SN_SHA256_LEN], uint32_t peer_id,
		   const char *peer_name, struct sn_appraisal *out)
{
	struct sn_fedn *f = fedn(d);
	struct sn_fed_token_in in = {
		.wf = wf_of(d),
		.peer = peer_name,
		.tok = tok,
		.len = len,
		.spki_sha256 = spki,
		.now = (int64_t)time(NULL),
		.bundles = f ? (const struct sn_fed_bundle *const *)f->b : NULL,
		.n_bundles = f ? f->n : 0,
		.revoked = revoked,
		.arg = d,
	};
	struct sn_kbs_claims c;
	enum sn_fed_refusal r;
	char why[sizeof(out->reasons[0].detail)];
	enum sn_tee tee;
	int err;

	const char *want = sn_fedn_peer_name(d, peer_id);

	if (!in.wf)
		return -ENOKEY;
	/* the node at this peer id (address) is the one the token must be
	 * for: a HELLO naming another node of the manifest is refused */
	if (!want || strcmp(want, peer_name)) {
		snprintf(why, sizeof(why),
			 "token-invalid: the HELLO names node %.63s, the peer "
			 "with id %u is %.63s",
			 peer_name, peer_id, want ? want : "(none)");
		sn_warn("federation: %s", why);
		refuse(out, why);
		return 0;
	}
	err = sn_fed_token_appraise(&in, &c, &r, why, sizeof(why));
	if (err == -EPERM) {
		sn_warn("federation: %s's token refused: %s", peer_name, why);
		refuse(out, why);
		return 0;
	}
	if (err)
		return err;
	if (sn_hex_decode(c.measurement, strlen(c.measurement),
			  out->claims.measurement,
			  SN_MEASUREMENT_LEN) != SN_MEASUREMENT_LEN ||
	    sn_tee_from_name(c.tee, &tee)) {
		refuse(out, "malformed measurement or tee claim");
		return 0;
	}
	out->claims.tee = tee;
	out->accepted = out->authentic = true;
	sn_info("federation: %s (domain %s, stage %s) accepted on its "
		"domain's token",
		peer_name, c.domain, c.stage);
	return 0;
}

void sn_fedn_free(struct sealnetd *d)
{
	if (!d->fedn)
		return;
	for (size_t i = 0; i < d->fedn->n; i++)
		sn_fed_bundle_free(d->fedn->b[i]);
	free(d->fedn->b);
	free(d->fedn);
	d->fedn = NULL;
}
