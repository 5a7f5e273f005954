// SPDX-License-Identifier: Apache-2.0
/* Compiling a node's sealnetd policy from the manifest: the result loads
 * in sealnetd's config parser and the appraisal-policy parser, names the
 * right peers and rules, and local members cannot override the manifest. */
#include <arpa/inet.h>
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

#include "sealnet/config.h"
#include "sealnet/dataplane.h"
#include "sealnet/evidence.h"
#include "wf_helpers.h"

static struct sn_wf_diag diag;

static const char local[] =
	"{\"interface\":\"lo\",\"make\":{\"sim_platform\":\"/nonexistent/p\","
	"\"appraisal_policy\":\"/nonexistent/policy.json\"}}";

static struct sn_workflow *example(void)
{
	struct sn_workflow *wf = NULL;

	assert_int_equal(sn_workflow_parse(sn_workflow_example,
					   strlen(sn_workflow_example), &wf,
					   &diag),
			 0);
	return wf;
}

static void compile_align_node(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_compiled *c = NULL;
	struct sn_node_config *cfg = NULL;
	char err[256] = "";

	/* h2 runs align: ingress tcp/5001 from ingest (h1), egress
	 * tcp/5002-5003 to train (l1) from align's local port 7001 */
	assert_int_equal(sn_workflow_compile_node(wf, "h2", local, &c, &diag),
			 0);
	if (sn_config_parse(c->config_json, strlen(c->config_json), &cfg, err,
			    sizeof(err))) {
		fprintf(stderr, "%s\n%s\n", c->config_json, err);
		fail();
	}
	assert_string_equal(cfg->node, "h2");
	assert_int_equal(cfg->id, 2);
	assert_true(cfg->make.enabled);
	assert_string_equal(cfg->make.tee, "sim");
	assert_int_equal(cfg->make.rekey_s, 120);
	assert_int_equal(cfg->make.lifetime_s, 300);
	assert_int_equal(cfg->n_peers, 2);
	assert_string_equal(cfg->peers[0].name, "h1");
	assert_int_equal(cfg->peers[0].addr, inet_addr("198.18.0.1"));
	assert_string_equal(cfg->peers[1].name, "l1");
	assert_int_equal(cfg->n_rules, 3);
	assert_int_equal(cfg->rules[0].dir, SN_DIR_INGRESS);
	assert_int_equal(cfg->rules[0].peer_id, 1);
	assert_int_equal(cfg->rules[0].port, 5001);
	assert_int_equal(cfg->rules[1].dir, SN_DIR_EGRESS);
	assert_int_equal(cfg->rules[1].peer_id, 3);
	assert_int_equal(cfg->rules[1].port, 5002);
	assert_int_equal(cfg->rules[1].local_kind, SN_LOCAL_PORT);
	assert_int_equal(cfg->rules[1].local, 7001);
	assert_int_equal(cfg->rules[2].port, 5003);
	sn_config_free(cfg);

	/* one appraisal policy per peer, each loadable */
	assert_int_equal(c->n_policies, 2);
	assert_string_equal(c->policies[0].peer, "h1");
	assert_string_equal(c->policies[1].peer, "l1");
	for (size_t i = 0; i < c->n_policies; i++) {
		struct sn_policy_appraisal *p = NULL;

		assert_int_equal(sn_policy_appraisal_parse(
					 c->policies[i].policy_json,
					 strlen(c->policies[i].policy_json),
					 &p),
				 0);
		sn_policy_appraisal_free(p);
		assert_non_null(strstr(c->policies[i].policy_json,
				       "\"backends\":[\"sim\"]"));
	}
	sn_wf_compiled_free(c);
	sn_workflow_free(wf);
}

/* merge (l2): udp from train, icmp to ingest; its node policy digest
 * differs from h2's and does not depend on local members */
static void compile_merge_node(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_compiled *a = NULL, *b = NULL, *h2 = NULL;
	json_t *cfg, *rules;

	assert_int_equal(sn_workflow_compile_node(wf, "l2", NULL, &a, &diag),
			 0);
	assert_int_equal(sn_workflow_compile_node(wf, "l2", local, &b, &diag),
			 0);
	assert_int_equal(sn_workflow_compile_node(wf, "h2", NULL, &h2, &diag),
			 0);
	assert_memory_equal(a->policy_digest, b->policy_digest,
			    SN_WF_DIGEST_LEN);
	assert_memory_not_equal(a->policy_digest, h2->policy_digest,
				SN_WF_DIGEST_LEN);
	cfg = json_loads(a->config_json, 0, NULL);
	rules = json_object_get(cfg, "rules");
	assert_int_equal(json_array_size(rules), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(rules, 0), "direction")),
			    "ingress");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(rules, 0), "port")),
			 5004);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(rules, 1), "protocol")),
			    "icmp");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(rules, 1), "local_port")),
			 7003);
	assert_null(json_object_get(json_array_get(rules, 1), "port"));
	json_decref(cfg);
	sn_wf_compiled_free(a);
	sn_wf_compiled_free(b);
	sn_wf_compiled_free(h2);
	sn_workflow_free(wf);
}

/* ingest (h1) sends from a cgroup: the egress rule carries it */
static void compile_cgroup_identity(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_compiled *c = NULL;

	assert_int_equal(sn_workflow_compile_node(wf, "h1", NULL, &c, &diag),
			 0);
	assert_non_null(
		strstr(c->config_json,
		       "\"cgroup\": \"/sys/fs/cgroup/sealnet/ingest\""));
	sn_wf_compiled_free(c);
	sn_workflow_free(wf);
}

static void compile_refusals(void **state)
{
	static const char *const bad_local[] = {
		"{\"rules\":[]}",
		"{\"peers\":[]}",
		"{\"id\":9}",
		"{\"make\":{\"tee\":\"snp\"}}",
		"{\"make\":{\"session_lifetime_s\":99999}}",
		"[]",
		"{",
	};
	struct sn_workflow *wf = example();
	struct sn_wf_compiled *c = NULL;

	assert_int_equal(sn_workflow_compile_node(wf, "h9", NULL, &c, &diag),
			 -EINVAL);
	assert_true(wf_diag_has(&diag, "$.nodes", "no node named 'h9'"));
	for (size_t i = 0; i < sizeof(bad_local) / sizeof(bad_local[0]); i++) {
		assert_int_equal(sn_workflow_compile_node(
					 wf, "h2", bad_local[i], &c, &diag),
				 -EINVAL);
		assert_null(c);
		assert_true(diag.n > 0);
	}
	assert_int_equal(
		sn_workflow_compile_node(wf, "h2", "{\"id\":9}", &c, &diag),
		-EINVAL);
	assert_true(wf_diag_has(&diag, "local.id", "decided by the manifest"));
	sn_workflow_free(wf);
}

/* more rules than the data plane's policy map holds: refused, named */
static void compile_too_many_rules(void **state)
{
	json_t *t = wf_example_tree(NULL), *flows = wf_at(t, "flows");
	struct sn_workflow *wf = NULL;
	struct sn_wf_compiled *c = NULL;
	char *txt;
	int k;

	/* 65 x 256 distinct ports from ingest (h1) to align (h2) */
	for (k = 0; k < 65; k++)
		json_array_append_new(
			flows,
			json_pack("{sssssss[ii]}", "from", "ingest", "to",
				  "align", "protocol", "udp", "port_range",
				  10000 + 256 * k, 10000 + 256 * k + 255));
	txt = wf_text(t);
	assert_int_equal(sn_workflow_parse(txt, strlen(txt), &wf, &diag), 0);
	assert_int_equal(sn_workflow_compile_node(wf, "h1", NULL, &c, &diag),
			 -E2BIG);
	assert_null(c);
	assert_true(wf_diag_has(&diag, "$.flows", "more than 16384 rules"));
	assert_int_equal(sn_workflow_compile_node(wf, "h2", NULL, &c, &diag),
			 -E2BIG);
	/* l2 is not concerned */
	assert_int_equal(sn_workflow_compile_node(wf, "l2", NULL, &c, &diag),
			 0);
	sn_wf_compiled_free(c);
	sn_workflow_free(wf);
	free(txt);
	json_decref(t);
}

/* a node declared "engine": "simd": its own configuration runs the SIMD
 * engine, its peers know it may be sent GSO super-datagrams, the engine
 * is covered by the node-policy digest, and a local "dataplane" member
 * cannot override it; an unknown engine is refused */
static void compile_simd_engine(void **state)
{
	json_t *t = wf_example_tree(NULL);
	struct sn_workflow *wf = NULL, *tc = example();
	struct sn_wf_compiled *c = NULL, *ctc = NULL;
	struct sn_node_config *cfg = NULL;
	char err[256] = "", *txt;

	json_object_set_new(wf_at(t, "nodes[1]"), "engine",
			    json_string("simd"));
	txt = wf_text(t);
	assert_int_equal(sn_workflow_parse(txt, strlen(txt), &wf, &diag), 0);
	assert_int_equal(wf->nodes[1].engine, SN_WF_ENGINE_SIMD);
	/* h2 itself */
	assert_int_equal(sn_workflow_compile_node(wf, "h2", local, &c, &diag),
			 0);
	assert_int_equal(sn_config_parse(c->config_json, strlen(c->config_json),
					 &cfg, err, sizeof(err)),
			 0);
	assert_true(cfg->dp.engine_simd);
	for (size_t i = 0; i < cfg->n_peers; i++)
		assert_false(cfg->peers[i].engine_simd);
	assert_int_equal(sn_workflow_compile_node(tc, "h2", local, &ctc, &diag),
			 0);
	assert_memory_not_equal(c->policy_digest, ctc->policy_digest,
				sizeof(c->policy_digest));
	sn_config_free(cfg);
	sn_wf_compiled_free(c);
	sn_wf_compiled_free(ctc);
	/* l1 (train), a peer of h2 (align): its configuration declares h2
	 * a SIMD peer and no other (parsed as JSON: l1's stage cgroup does
	 * not exist here, so sn_config_parse would refuse it) */
	assert_int_equal(sn_workflow_compile_node(wf, "l1", NULL, &c, &diag),
			 0);
	{
		json_t *root = json_loads(c->config_json, 0, NULL), *pe;
		size_t i, simd = 0;

		assert_non_null(root);
		assert_null(json_object_get(root, "dataplane"));
		json_array_foreach(json_object_get(root, "peers"), i, pe)
		{
			const char *eng = json_string_value(
				json_object_get(pe, "engine"));
			const char *name =
				json_string_value(json_object_get(pe, "name"));

			if (!strcmp(name, "h2")) {
				assert_non_null(eng);
				assert_string_equal(eng, "simd");
				simd++;
			} else {
				assert_null(eng);
			}
		}
		assert_int_equal(simd, 1);
		json_decref(root);
	}
	sn_wf_compiled_free(c);
	/* the manifest decides the engine */
	assert_int_equal(
		sn_workflow_compile_node(wf, "h2",
					 "{\"dataplane\":{\"engine\":\"bpf\"}}",
					 &c, &diag),
		-EINVAL);
	assert_true(wf_diag_has(&diag, "local.dataplane",
				"decided by the manifest"));
	sn_workflow_free(wf);
	free(txt);
	/* an engine version 1 does not know */
	json_object_set_new(wf_at(t, "nodes[1]"), "engine", json_string("gpu"));
	txt = wf_text(t);
	assert_int_equal(sn_workflow_parse(txt, strlen(txt), &wf, &diag),
			 -EINVAL);
	assert_true(wf_diag_has(&diag, "$.nodes[1].engine",
				"not a data-plane engine"));
	free(txt);
	json_decref(t);
	sn_workflow_free(tc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compile_align_node),
		cmocka_unit_test(compile_merge_node),
		cmocka_unit_test(compile_cgroup_identity),
		cmocka_unit_test(compile_refusals),
		cmocka_unit_test(compile_too_many_rules),
		cmocka_unit_test(compile_simd_engine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
