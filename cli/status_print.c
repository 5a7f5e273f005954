// SPDX-License-Identifier: Apache-2.0
/* `sealnet status` rendering of sealnetd's status answer. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sealnet/control.h"
#include "commands.h"

static const char *str(const char *s)
{
	return s ? s : "-";
}

static void print_table(const struct sn_control_status *st, FILE *out)
{
	fprintf(out,
		"node %s (id %" PRIu32 ") on %s, mode %s, egress prog %" PRIu32
		", ingress prog %" PRIu32 "\n",
		str(st->node), st->id, str(st->interface), str(st->mode),
		st->egress_prog_id, st->ingress_prog_id);
	fprintf(out, "data plane: %s, measurement log %s (%" PRIu64 " events)\n",
		str(st->dataplane), str(st->mlog_digest), st->mlog_events);
	fprintf(out, "\n%-12s %5s %-15s %-12s %8s %10s %12s %10s %12s %8s\n",
		"peer", "id", "address", "state", "tx-epoch", "tx-pkts",
		"tx-bytes", "rx-pkts", "rx-bytes", "drops");
	for (size_t i = 0; i < st->n_peers; i++) {
		const struct sn_control_peer *p = &st->peers[i];

		fprintf(out,
			"%-12s %5" PRIu32 " %-15s %-12s %8" PRId64 " %10" PRIu64
			" %12" PRIu64 " %10" PRIu64 " %12" PRIu64 " %8" PRIu64
			"\n",
			str(p->name), p->id, str(p->address), str(p->state),
			p->tx_epoch, p->tx_packets, p->tx_bytes, p->rx_packets,
			p->rx_bytes, p->drops);
		if (p->reason && *p->reason)
			fprintf(out, "  last failure: %s\n", p->reason);
		if (p->appraisal)
			fprintf(out, "  evidence rejected: %s\n", p->appraisal);
	}
	fprintf(out, "\n%-16s %10s  %s\n", "drop reason", "count", "meaning");
	for (size_t i = 0; i < st->n_drops; i++)
		fprintf(out, "%-16s %10" PRIu64 "  %s\n", st->drops[i].reason,
			st->drops[i].count, str(st->drops[i].text));
}

int sn_cli_print_status(const char *path, int json, FILE *out)
{
	struct sn_control_status st;
	json_t *ans = NULL;
	int err;

	err = sn_control_request(path, SN_CONTROL_CMD_STATUS, &ans);
	if (err) {
		fprintf(stderr,
			"sealnet: cannot get status from %s: %s\n"
			"sealnet: is sealnetd running? (--socket selects another socket)\n",
			path, strerror(-err));
		return 1;
	}
	if (sn_control_error_text(ans)) {
		fprintf(stderr, "sealnet: sealnetd says: %s\n",
			sn_control_error_text(ans));
		json_decref(ans);
		return 1;
	}
	if (json) {
		/* the answer as received: every field, also those this build
		 * does not know */
		json_dumpf(ans, out, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', out);
		json_decref(ans);
		return 0;
	}
	err = sn_control_status_decode(ans, &st);
	if (err) {
		fprintf(stderr,
			"sealnet: the status answer from %s is not a status "
			"(%s); are sealnet and sealnetd of the same version?\n",
			path, strerror(-err));
		json_decref(ans);
		return 1;
	}
	print_table(&st, out);
	sn_control_status_release(&st);
	json_decref(ans);
	return 0;
}
