// SPDX-License-Identifier: Apache-2.0
/* sealnet status: ask a running sealnetd for its state (control socket). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sealnet/control.h"
#include "args.h"
#include "commands.h"
#include "control_opts.h"

static const struct sn_cli_opt opts[] = {
	SN_CLI_CONTROL_OPTS("print the raw JSON answer"),
	{ 0 },
};

static const struct sn_cli_spec spec = {
	.cmd = "sealnet status",
	.about = "Show the running sealnetd's interface, data-plane measurement\n"
		 "(measured or TAMPERED), and per peer: MAKE state, key epoch,\n"
		 "the last failure and evidence rejection with their reasons,\n"
		 "counters; then the per-reason drop counters. No key material.\n"
		 "The fields of --json: include/sealnet/control.h.\n",
	.opts = opts,
	.after = "Exit status: 0 shown, 1 sealnetd unreachable or said no,\n"
		 "2 bad usage.\n",
};

static void print_table(const struct sn_control_status *st, FILE *out)
{
	fprintf(out,
		"node %s (id %" PRIu32 ") on %s, mode %s, egress prog %" PRIu32
		", ingress prog %" PRIu32 "\n",
		sn_cli_str(st->node), st->id, sn_cli_str(st->interface), sn_cli_str(st->mode),
		st->egress_prog_id, st->ingress_prog_id);
	fprintf(out, "data plane: %s, measurement log %s (%" PRIu64 " events)\n",
		sn_cli_str(st->dataplane), sn_cli_str(st->mlog_digest), st->mlog_events);
	fprintf(out, "\n%-12s %5s %-15s %-12s %8s %10s %12s %10s %12s %8s\n",
		"peer", "id", "address", "state", "tx-epoch", "tx-pkts",
		"tx-bytes", "rx-pkts", "rx-bytes", "drops");
	for (size_t i = 0; i < st->n_peers; i++) {
		const struct sn_control_peer *p = &st->peers[i];

		fprintf(out,
			"%-12s %5" PRIu32 " %-15s %-12s %8" PRId64 " %10" PRIu64
			" %12" PRIu64 " %10" PRIu64 " %12" PRIu64 " %8" PRIu64
			"\n",
			sn_cli_str(p->name), p->id, sn_cli_str(p->address), sn_cli_str(p->state),
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
			st->drops[i].count, sn_cli_str(st->drops[i].text));
}

static int print_status(const char *path, bool json, FILE *out)
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

int cmd_status(int argc, char **argv)
{
	struct sn_cli_control ctl = SN_CLI_CONTROL_INIT;
	struct sn_cli_args a;
	int c;

	sn_cli_args_init(&a, &spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0)
		sn_cli_control_opt(&ctl, &a, c); /* it has no others */
	c = sn_cli_end(&a, c, 0, 0);
	if (c)
		return sn_cli_exit(c);
	return print_status(ctl.socket, ctl.json, stdout);
}
