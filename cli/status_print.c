// SPDX-License-Identifier: Apache-2.0
/* `sealnet status` rendering of sealnetd's status JSON. */
#include <errno.h>
#include <string.h>

#include <stdio.h>

#include "sealnet/control.h"
#include "commands.h"

static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

int sn_cli_print_status(const char *path, int json, FILE *out)
{
	json_t *st = NULL, *peers, *drops, *p, *v;
	const char *k;
	size_t i;
	int err;

	err = sn_control_request(path, SN_CONTROL_CMD_STATUS, &st);
	if (err) {
		fprintf(stderr,
			"sealnet: cannot get status from %s: %s\n"
			"sealnet: is sealnetd running? (--socket selects another socket)\n",
			path, strerror(-err));
		return 1;
	}
	if (json_object_get(st, "error")) {
		fprintf(stderr, "sealnet: sealnetd says: %s\n", jstr(st, "error"));
		json_decref(st);
		return 1;
	}
	if (json) {
		json_dumpf(st, out, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', out);
		json_decref(st);
		return 0;
	}
	fprintf(out, "node %s (id %lld) on %s, mode %s, egress prog %lld, ingress prog %lld\n",
		jstr(st, "node"), jint(st, "id"), jstr(st, "interface"),
		jstr(st, "mode"), jint(st, "egress_prog_id"),
		jint(st, "ingress_prog_id"));
	fprintf(out, "data plane: %s, measurement log %s (%lld events)\n",
		jstr(st, "dataplane"), jstr(st, "mlog_digest"),
		jint(st, "mlog_events"));
	peers = json_object_get(st, "peers");
	fprintf(out, "\n%-12s %5s %-15s %-12s %8s %10s %12s %10s %12s %8s\n", "peer",
		"id", "address", "state", "tx-epoch", "tx-pkts", "tx-bytes",
		"rx-pkts", "rx-bytes", "drops");
	json_array_foreach(peers, i, p) {
		fprintf(out, "%-12s %5lld %-15s %-12s %8lld %10lld %12lld %10lld %12lld %8lld\n",
			jstr(p, "name"), jint(p, "id"), jstr(p, "address"),
			jstr(p, "state"), jint(p, "tx_epoch"),
			jint(p, "tx_packets"), jint(p, "tx_bytes"),
			jint(p, "rx_packets"), jint(p, "rx_bytes"),
			jint(p, "drops"));
		if (json_object_get(p, "reason") && *jstr(p, "reason"))
			fprintf(out, "  last failure: %s\n", jstr(p, "reason"));
		if (json_object_get(p, "appraisal"))
			fprintf(out, "  evidence rejected: %s\n",
				jstr(p, "appraisal"));
	}
	drops = json_object_get(st, "drops");
	fprintf(out, "\n%-16s %10s  %s\n", "drop reason", "count", "meaning");
	json_object_foreach(drops, k, v) {
		fprintf(out, "%-16s %10lld  %s\n", k,
			jint(v, "count"), jstr(v, "text"));
	}
	json_decref(st);
	return 0;
}
