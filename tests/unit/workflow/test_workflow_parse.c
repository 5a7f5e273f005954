// SPDX-License-Identifier: Apache-2.0
/* The workflow manifest: the example is valid, the canonical form and
 * digest are pinned and stable under re-serialisation, and every lint
 * error comes with its JSON path. */
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

#include "sealnet/util.h"
#include "wf_helpers.h"

static struct sn_wf_diag diag;

static int parse_tree(json_t *t, struct sn_workflow **wf)
{
	char *s = wf_text(t);
	int err = sn_workflow_parse(s, strlen(s), wf, &diag);

	free(s);
	return err;
}

static void example_is_valid(void **state)
{
	struct sn_workflow *wf = NULL;
	const char *src = getenv("SEALNET_SRC");
	char path[512];
	uint8_t *buf = NULL, *doc = NULL;
	size_t len = 0, dlen = 0;

	assert_int_equal(sn_workflow_parse(sn_workflow_example,
					   strlen(sn_workflow_example), &wf,
					   &diag),
			 0);
	assert_string_equal(wf->name, "genomics");
	assert_int_equal(wf->n_domains, 2);
	assert_int_equal(wf->n_nodes, 4);
	assert_int_equal(wf->n_stages, 4);
	assert_int_equal(wf->n_flows, 4);
	assert_int_equal(wf->stages[1].nodes[0], 1);
	assert_int_equal(wf->stages[1].local_ports[0], 7001);
	assert_int_equal(wf->flows[1].port_first, 5002);
	assert_int_equal(wf->flows[1].port_last, 5003);
	assert_int_equal(wf->flows[1].rate_kbps, 1000000);
	assert_int_equal(wf->flows[3].proto, SN_WF_ICMP);
	assert_true(wf->domains[0].has_kbs);
	assert_false(wf->domains[1].has_kbs);
	assert_int_equal(wf->rekey_interval_s, 120);
	sn_workflow_free(wf);

	/* the C copy, the JSON file and the documentation agree */
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/lib/workflow/example.json", src);
	assert_int_equal(sn_read_file(path, 1 << 20, &buf, &len), 0);
	assert_int_equal(len, strlen(sn_workflow_example));
	assert_memory_equal(buf, sn_workflow_example, len);
	snprintf(path, sizeof(path), "%s/docs/workflow.md", src);
	assert_int_equal(sn_read_file(path, 1 << 20, &doc, &dlen), 0);
	assert_non_null(strstr((char *)doc, sn_workflow_example));
	free(buf);
	free(doc);
}

/* the canonical form, byte for byte, as docs/workflow.md specifies it */
static void canonical_bytes_pinned(void **state)
{
	static const char in[] = "{ \"b\" : [ 1, -2, true, false, null, 0 ],\n"
				 "  \"a\\u0041\": \"x\\\"\\\\y/\\u0041\",\n"
				 "  \"a\": { }, \"B\": [], \"-0\": -0 }";
	static const char want[] =
		"{\"-0\":0,\"B\":[],\"a\":{},\"aA\":\"x\\\"\\\\y/A\","
		"\"b\":[1,-2,true,false,null,0]}";
	char *out = NULL;
	size_t n = 0;

	assert_int_equal(sn_workflow_canonical(in, strlen(in), &out, &n, &diag),
			 0);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
	free(out);
}

/* a copy with every object's members in reverse order */
static json_t *reversed(const json_t *v)
{
	if (json_is_object(v)) {
		const char *keys[64];
		size_t n = 0;
		const char *k;
		json_t *c, *o = json_object();

		json_object_foreach((json_t *)v, k, c) keys[n++] = k;
		while (n--)
			json_object_set_new(
				o, keys[n],
				reversed(json_object_get(v, keys[n])));
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array(), *c;
		size_t i;

		json_array_foreach((json_t *)v, i, c)
			json_array_append_new(a, reversed(c));
		return a;
	}
	return json_deep_copy(v);
}

static void digest_stable(void **state)
{
	const char *ex = sn_workflow_example;
	uint8_t d0[SN_WF_DIGEST_LEN], d1[SN_WF_DIGEST_LEN],
		d2[SN_WF_DIGEST_LEN], d3[SN_WF_DIGEST_LEN];
	json_t *t = json_loads(ex, 0, NULL), *r = reversed(t);
	char *rev = json_dumps(r, JSON_INDENT(7) | JSON_PRESERVE_ORDER);
	char *flat = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *esc = malloc(strlen(ex) + 8), *p;
	struct sn_workflow *wf = NULL;

	/* escapes: "genomics" spelt with \u0067 */
	assert_non_null(esc);
	strcpy(esc, ex);
	p = strstr(esc, "\"genomics\"");
	assert_non_null(p);
	memmove(p + 7, p + 2, strlen(p + 2) + 1);
	memcpy(p + 1, "\\u0067", 6);
	/* the copies really differ, byte-wise */
	assert_string_not_equal(rev, ex);
	assert_string_not_equal(flat, ex);
	assert_string_not_equal(esc, ex);
	assert_string_not_equal(rev, flat);
	assert_int_equal(strncmp(rev, "{\n       \"flows\"", 16), 0);
	assert_int_equal(sn_workflow_digest(ex, strlen(ex), d0, &diag), 0);
	assert_int_equal(sn_workflow_digest(rev, strlen(rev), d1, &diag), 0);
	assert_int_equal(sn_workflow_digest(flat, strlen(flat), d2, &diag), 0);
	assert_int_equal(sn_workflow_digest(esc, strlen(esc), d3, &diag), 0);
	assert_memory_equal(d0, d1, sizeof(d0));
	assert_memory_equal(d0, d2, sizeof(d0));
	assert_memory_equal(d0, d3, sizeof(d0));
	/* and the parser's digest is the same */
	assert_int_equal(sn_workflow_parse(rev, strlen(rev), &wf, &diag), 0);
	assert_memory_equal(wf->digest, d0, sizeof(d0));
	sn_workflow_free(wf);
	/* one value changed: another digest */
	json_object_set_new(wf_at(t, "flows[0]"), "port", json_integer(5009));
	free(flat);
	flat = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_int_equal(sn_workflow_digest(flat, strlen(flat), d2, &diag), 0);
	assert_memory_not_equal(d0, d2, sizeof(d0));
	free(rev);
	free(flat);
	free(esc);
	json_decref(r);
	json_decref(t);
}

/* the canonical-form rules: each error with its path */
static void syntax_rules(void **state)
{
	static const struct {
		const char *in, *path, *needle;
	} cases[] = {
		{"{\"a\":1.0}", "$.a", "integers"},
		{"{\"a\":[1e2]}", "$.a[0]", "integers"},
		{"{\"a\":\"caf\xc3\xa9\"}", "$.a", "printable ASCII"},
		{"{\"a\":\"tab\\there\"}", "$.a", "printable ASCII"},
		{"{\"a\":{\"\xc3\xa9\":1}}", "$.a", "member name"},
		{"{\"a\":1,\"a\":2}", "$", "duplicate"},
		{"[1]", "$", "object"},
		{"{\"a\":", "$", "not valid JSON"},
		{"{\"a\":99999999999999999999999}", "$", "not valid JSON"},
	};
	char *out = NULL;
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&diag, 0, sizeof(diag));
		assert_int_equal(sn_workflow_canonical(cases[i].in,
						       strlen(cases[i].in),
						       &out, &n, &diag),
				 -EINVAL);
		if (!wf_diag_has(&diag, cases[i].path, cases[i].needle)) {
			fprintf(stderr, "case %zu:\n", i);
			wf_diag_dump(&diag);
			fail();
		}
	}
	assert_null(out);
}

/* lint: a mutation of the example, the error expected (path, words) */
struct lint_case {
	const char *what;
	void (*mutate)(json_t *t);
	const char *path, *needle;
};

static void m_unknown_top(json_t *t)
{
	json_object_set_new(t, "polcy", json_true());
}
static void m_unknown_stage(json_t *t)
{
	json_object_set_new(wf_at(t, "stages[2]"), "cgroup", json_string("/x"));
}
static void m_flow_unknown_stage(json_t *t)
{
	json_object_set_new(wf_at(t, "flows[1]"), "to", json_string("trian"));
}
static void m_stage_no_node(json_t *t)
{
	json_array_clear(wf_at(t, "stages[3].nodes"));
}
static void m_node_two_domains(json_t *t)
{
	/* lab's stage train also on hospital's h2 */
	json_array_append_new(wf_at(t, "stages[2].nodes"), json_string("h2"));
}
static void m_overlap(json_t *t)
{
	/* a second stage on l1 reached on tcp 5003 (train's 5002-5003) */
	json_t *s = json_deep_copy(wf_at(t, "stages[2]"));

	json_object_set_new(s, "name", json_string("eval"));
	json_object_set_new(s, "identity",
			    json_pack("{s[i]}", "local_ports", 7100));
	json_array_append_new(wf_at(t, "stages"), s);
	json_array_append_new(wf_at(t, "flows"),
			      json_pack("{sssssssi}", "from", "align", "to",
					"eval", "protocol", "tcp", "port",
					5003));
}
static void m_identity_missing(json_t *t)
{
	json_object_del(wf_at(t, "stages[0]"), "identity");
}
static void m_unreachable(json_t *t)
{
	/* merge is in flows 2 and 3 */
	json_array_remove(wf_at(t, "flows"), 3);
	json_array_remove(wf_at(t, "flows"), 2);
}
static void m_meas_len(json_t *t)
{
	json_array_set_new(wf_at(t, "stages[1].reference.measurements"), 0,
			   json_string("00112233"));
}
static void m_dup_node(json_t *t)
{
	json_object_set_new(wf_at(t, "nodes[3]"), "name", json_string("l1"));
}
static void m_dup_stage(json_t *t)
{
	json_object_set_new(wf_at(t, "stages[3]"), "name",
			    json_string("train"));
}
static void m_dup_id(json_t *t)
{
	json_object_set_new(wf_at(t, "nodes[2]"), "id", json_integer(1));
}
static void m_format2(json_t *t)
{
	json_object_set_new(t, "sealnet_workflow", json_integer(2));
}
static void m_tee_mismatch(json_t *t)
{
	json_object_set_new(wf_at(t, "nodes[1]"), "tee", json_string("tdx"));
}
static void m_ref_differs(json_t *t)
{
	/* train moves onto merge's node l2 with another measurement */
	json_array_set_new(wf_at(t, "stages[2].nodes"), 0, json_string("l2"));
	json_array_set_new(
		wf_at(t, "stages[2].reference.measurements"), 0,
		json_string("11111111111111111111111111111111111111111"
			    "111111111111111111111111111111111111111"
			    "1111111111111111"));
}
static void m_port_identity(json_t *t)
{
	/* align moves onto merge's node l2... and its domain */
	json_object_set_new(wf_at(t, "stages[3]"), "identity",
			    json_pack("{s[i]}", "local_ports", 7001));
	json_array_set_new(wf_at(t, "stages[1].nodes"), 0, json_string("l2"));
}
static void m_key_two_domains(json_t *t)
{
	json_object_set(wf_at(t, "domains[1].keys[0]"), "ed25519",
			wf_at(t, "domains[0].keys[0].ed25519"));
}
static void m_icmp_port(json_t *t)
{
	json_object_set_new(wf_at(t, "flows[3]"), "port", json_integer(7));
}
static void m_range_wide(json_t *t)
{
	json_object_set_new(wf_at(t, "flows[1]"), "port_range",
			    json_pack("[ii]", 1000, 2000));
}
static void m_no_port(json_t *t)
{
	json_object_del(wf_at(t, "flows[0]"), "port");
}
static void m_dup_flow(json_t *t)
{
	json_array_append(wf_at(t, "flows"), wf_at(t, "flows[0]"));
}
static void m_bad_addr(json_t *t)
{
	json_object_set_new(wf_at(t, "nodes[0]"), "address",
			    json_string("198.18.0.300"));
}
static void m_kbs_http(json_t *t)
{
	json_object_set_new(wf_at(t, "domains[0].kbs"), "url",
			    json_string("http://kbs.example"));
}
static void m_lifetime(json_t *t)
{
	json_object_set_new(wf_at(t, "lifetimes"), "session_lifetime_s",
			    json_integer(60));
}
static void m_snp_no_tcb(json_t *t)
{
	for (int i = 0; i < 4; i++) {
		char p[32];

		snprintf(p, sizeof(p), "nodes[%d]", i);
		json_object_set_new(wf_at(t, p), "tee", json_string("snp"));
		snprintf(p, sizeof(p), "stages[%d].reference", i);
		json_object_set_new(wf_at(t, p), "tee", json_string("snp"));
		json_object_del(wf_at(t, p), "sim_ark_spki_sha256");
	}
}
static void m_bad_name(json_t *t)
{
	json_object_set_new(wf_at(t, "stages[0]"), "name",
			    json_string("in gest"));
}

static void m_idle_node(json_t *t)
{
	json_array_append_new(wf_at(t, "nodes"),
			      json_pack("{sssssissss}", "name", "spare",
					"domain", "lab", "id", 9, "address",
					"198.18.0.9", "tee", "sim"));
}

static const struct lint_case lint_cases[] = {
	{"node running no stage", m_idle_node, "$.nodes[4]", "runs no stage"},
	{"unknown member", m_unknown_top, "$.polcy", "unknown member"},
	{"unknown stage member", m_unknown_stage, "$.stages[2].cgroup",
	 "unknown member"},
	{"flow to an unknown stage", m_flow_unknown_stage, "$.flows[1].to",
	 "no stage named 'trian'"},
	{"stage without node", m_stage_no_node, "$.stages[3].nodes",
	 "runs on no node"},
	{"node in two domains", m_node_two_domains, "$.stages[2].nodes[1]",
	 "belongs to domain 'hospital'"},
	{"ports with two meanings", m_overlap, "$.flows[4]",
	 "a port means one stage"},
	{"identity missing", m_identity_missing, "$.stages[0].identity",
	 "missing"},
	{"unreachable stage", m_unreachable, "$.stages[3]", "in no flow"},
	{"measurement length", m_meas_len,
	 "$.stages[1].reference.measurements[0]", "96 hex digits"},
	{"duplicate node", m_dup_node, "$.nodes[3].name", "duplicate node"},
	{"duplicate stage", m_dup_stage, "$.stages[3].name", "duplicate stage"},
	{"duplicate node id", m_dup_id, "$.nodes[2].id", "ids are unique"},
	{"format 2", m_format2, "$.sealnet_workflow", "format 2"},
	{"tee mismatch", m_tee_mismatch, "$.stages[1].nodes[0]", "tdx TEE"},
	{"one node, two references", m_ref_differs, "$.stages[3].reference",
	 "different reference values"},
	{"one port, two stages' identity", m_port_identity,
	 "$.stages[3].identity.local_ports[0]", "also identifies"},
	{"key in two domains", m_key_two_domains,
	 "$.domains[1].keys[0].ed25519", "also domain 'hospital''s"},
	{"icmp with a port", m_icmp_port, "$.flows[3]",
	 "icmp flow has no port"},
	{"port range too wide", m_range_wide, "$.flows[1].port_range",
	 "at most 256"},
	{"no port", m_no_port, "$.flows[0].port", "missing"},
	{"duplicate flow", m_dup_flow, "$.flows[4]", "merge the two"},
	{"bad address", m_bad_addr, "$.nodes[0].address", "not an IPv4"},
	{"kbs over http", m_kbs_http, "$.domains[0].kbs.url", "https://"},
	{"lifetimes", m_lifetime, "$.lifetimes.session_lifetime_s",
	 "greater than"},
	{"snp without TCB floor", m_snp_no_tcb, "$.stages[0].reference.min_tcb",
	 "TCB floor"},
	{"bad name", m_bad_name, "$.stages[0].name", "not a name"},
};

static void lint_errors_with_paths(void **state)
{
	for (size_t i = 0; i < sizeof(lint_cases) / sizeof(lint_cases[0]);
	     i++) {
		json_t *t = wf_example_tree(NULL);
		struct sn_workflow *wf = NULL;

		lint_cases[i].mutate(t);
		memset(&diag, 0xa5, sizeof(diag));
		assert_int_equal(parse_tree(t, &wf), -EINVAL);
		assert_null(wf);
		if (!wf_diag_has(&diag, lint_cases[i].path,
				 lint_cases[i].needle)) {
			fprintf(stderr,
				"lint case '%s': want %s: ...%s...; got:\n",
				lint_cases[i].what, lint_cases[i].path,
				lint_cases[i].needle);
			wf_diag_dump(&diag);
			fail();
		}
		json_decref(t);
	}
}

/* every error at once, not just the first */
static void lint_reports_all(void **state)
{
	json_t *t = wf_example_tree(NULL);
	struct sn_workflow *wf = NULL;

	m_unknown_top(t);
	m_meas_len(t);
	m_flow_unknown_stage(t);
	m_dup_stage(t);
	assert_int_equal(parse_tree(t, &wf), -EINVAL);
	assert_true(diag.n_total >= 4);
	assert_true(wf_diag_has(&diag, "$.polcy", "unknown"));
	assert_true(wf_diag_has(&diag, "$.stages[1].reference.measurements[0]",
				"hex"));
	assert_true(wf_diag_has(&diag, "$.flows[1].to", "no stage"));
	assert_true(wf_diag_has(&diag, "$.stages[3].name", "duplicate"));
	json_decref(t);
}

static void graph_dot(void **state)
{
	struct sn_workflow *wf = NULL;
	char *dot = NULL;

	assert_int_equal(sn_workflow_parse(sn_workflow_example,
					   strlen(sn_workflow_example), &wf,
					   &diag),
			 0);
	assert_int_equal(sn_workflow_graph_dot(wf, &dot), 0);
	assert_non_null(strstr(dot, "subgraph \"cluster_lab\""));
	assert_non_null(strstr(
		dot, "\"align\" -> \"train\" [label=\"tcp/5002-5003\"]"));
	assert_non_null(
		strstr(dot, "\"merge\" -> \"ingest\" [label=\"icmp\"]"));
	free(dot);
	sn_workflow_free(wf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(example_is_valid),
		cmocka_unit_test(canonical_bytes_pinned),
		cmocka_unit_test(digest_stable),
		cmocka_unit_test(syntax_rules),
		cmocka_unit_test(lint_errors_with_paths),
		cmocka_unit_test(lint_reports_all),
		cmocka_unit_test(graph_dot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
