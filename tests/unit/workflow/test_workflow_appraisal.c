// SPDX-License-Identifier: Apache-2.0
/* The flow member "appraisal" (docs/workflow.md "Cross-domain
 * appraisal"): parsed and linted, part of the digest, and compiled into
 * each node's per-peer mode (evidence unless every flow between the two
 * nodes says token), which the node policy digest covers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "wf_helpers.h"

static struct sn_wf_diag diag;

/* the example with flow i's appraisal set to mode (NULL: removed) */
static struct sn_workflow *with_modes(const char *const *modes, size_t n)
{
	json_t *t = wf_example_tree(NULL), *flows = wf_at(t, "flows");
	struct sn_workflow *wf = NULL;
	char *txt;

	for (size_t i = 0; i < n; i++)
		if (modes[i])
			json_object_set_new(json_array_get(flows, i),
					    "appraisal", json_string(modes[i]));
	txt = wf_text(t);
	if (sn_workflow_parse(txt, strlen(txt), &wf, &diag))
		wf_diag_dump(&diag);
	free(txt);
	json_decref(t);
	return wf;
}

static const struct sn_wf_peer_policy *peer(const struct sn_wf_compiled *c,
					    const char *name)
{
	for (size_t i = 0; i < c->n_policies; i++)
		if (!strcmp(c->policies[i].peer, name))
			return &c->policies[i];
	fail_msg("no peer %s", name);
	return NULL;
}

/* example: h1 ingest, h2 align (hospital); l1 train, l2 merge (lab).
 * flows: 0 ingest->align, 1 align->train, 2 train->merge, 3 merge->ingest */
static void default_is_evidence(void **state)
{
	struct sn_workflow *wf = with_modes(NULL, 0);
	struct sn_wf_compiled *c = NULL;

	assert_non_null(wf);
	assert_false(wf->flows[1].has_appraisal);
	assert_int_equal(wf->flows[1].appraisal, SN_WF_APPRAISAL_EVIDENCE);
	assert_int_equal(sn_workflow_pair_appraisal(wf, 1, 2),
			 SN_WF_APPRAISAL_EVIDENCE);
	assert_int_equal(sn_workflow_pair_appraisal(wf, 0, 1), -EINVAL);
	assert_int_equal(sn_workflow_pair_appraisal(wf, 0, 2), -ENOENT);
	assert_int_equal(sn_workflow_compile_node(wf, "h2", NULL, &c, &diag),
			 0);
	assert_false(peer(c, "h1")->cross_domain);
	assert_true(peer(c, "l1")->cross_domain);
	assert_int_equal(peer(c, "l1")->appraisal, SN_WF_APPRAISAL_EVIDENCE);
	sn_wf_compiled_free(c);
	sn_workflow_free(wf);
}

static void token_compiles_both_ways(void **state)
{
	const char *m[] = {NULL, "token"};
	struct sn_workflow *plain = with_modes(NULL, 0), *wf = with_modes(m, 2);
	struct sn_wf_compiled *c = NULL, *l1 = NULL, *p = NULL;

	assert_non_null(wf);
	assert_true(wf->flows[1].has_appraisal);
	assert_int_equal(wf->flows[1].appraisal, SN_WF_APPRAISAL_TOKEN);
	/* a member of the signed document: another digest */
	assert_memory_not_equal(wf->digest, plain->digest, SN_WF_DIGEST_LEN);
	assert_int_equal(sn_workflow_pair_appraisal(wf, 1, 2),
			 SN_WF_APPRAISAL_TOKEN);
	assert_int_equal(sn_workflow_pair_appraisal(wf, 2, 1),
			 SN_WF_APPRAISAL_TOKEN);
	assert_int_equal(sn_workflow_compile_node(wf, "h2", NULL, &c, &diag),
			 0);
	assert_int_equal(sn_workflow_compile_node(wf, "l1", NULL, &l1, &diag),
			 0);
	assert_int_equal(sn_workflow_compile_node(plain, "h2", NULL, &p, &diag),
			 0);
	assert_int_equal(peer(c, "l1")->appraisal, SN_WF_APPRAISAL_TOKEN);
	assert_int_equal(peer(l1, "h2")->appraisal, SN_WF_APPRAISAL_TOKEN);
	/* the node policy digest covers the mode */
	assert_memory_not_equal(c->policy_digest, p->policy_digest,
				SN_WF_DIGEST_LEN);
	sn_wf_compiled_free(c);
	sn_wf_compiled_free(l1);
	sn_wf_compiled_free(p);
	sn_workflow_free(wf);
	sn_workflow_free(plain);
}

/* l2 -> h1 (icmp) token, but an evidence flow the other way: evidence */
static void evidence_wins(void **state)
{
	json_t *t = wf_example_tree(NULL), *flows = wf_at(t, "flows");
	struct sn_workflow *wf = NULL;
	char *txt;

	json_object_set_new(json_array_get(flows, 3), "appraisal",
			    json_string("token"));
	json_array_append_new(flows,
			      json_pack("{sssssssiss}", "from", "ingest", "to",
					"merge", "protocol", "udp", "port",
					6000, "appraisal", "evidence"));
	txt = wf_text(t);
	assert_int_equal(sn_workflow_parse(txt, strlen(txt), &wf, &diag), 0);
	assert_int_equal(sn_workflow_pair_appraisal(wf, 0, 3),
			 SN_WF_APPRAISAL_EVIDENCE);
	/* without the evidence flow: token */
	sn_workflow_free(wf);
	free(txt);
	json_array_remove(flows, 4);
	txt = wf_text(t);
	assert_int_equal(sn_workflow_parse(txt, strlen(txt), &wf, &diag), 0);
	assert_int_equal(sn_workflow_pair_appraisal(wf, 0, 3),
			 SN_WF_APPRAISAL_TOKEN);
	sn_workflow_free(wf);
	free(txt);
	json_decref(t);
}

static void refusals(void **state)
{
	const char *bad[] = {NULL, "tokens"};
	const char *same[] = {"token"};
	struct sn_workflow *wf;
	json_t *t, *flows;
	char *txt;

	wf = with_modes(bad, 2);
	assert_null(wf);
	assert_true(wf_diag_has(&diag, "$.flows[1].appraisal", "\"token\""));
	/* within one domain (ingest -> align, both hospital's) */
	wf = with_modes(same, 1);
	assert_null(wf);
	assert_true(wf_diag_has(&diag, "$.flows[0].appraisal",
				"within one domain"));
	/* not a string */
	t = wf_example_tree(NULL);
	flows = wf_at(t, "flows");
	json_object_set_new(json_array_get(flows, 1), "appraisal",
			    json_integer(1));
	txt = wf_text(t);
	assert_int_equal(sn_workflow_parse(txt, strlen(txt), &wf, &diag),
			 -EINVAL);
	assert_true(diag.n >= 1);
	free(txt);
	json_decref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_is_evidence),
		cmocka_unit_test(token_compiles_both_ways),
		cmocka_unit_test(evidence_wins),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
