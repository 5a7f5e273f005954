/* SPDX-License-Identifier: Apache-2.0 */
/* sealnet kbs: shared between cmd_kbs.c (admin) and cmd_kbs_node.c. */
#ifndef SEALNET_CLI_CMD_KBS_H
#define SEALNET_CLI_CMD_KBS_H

#include <stddef.h>

#include "sealnet/kbs.h"
#include "args.h"

enum {
	KO_SERVER,
	KO_CA,
	KO_CERT,
	KO_KEY,
	KO_STAGE,
	KO_NODE,
	KO_NODE_CERT,
	KO_SPKI,
	KO_POLICY,
	KO_FILE,
	KO_REASON,
	KO_AFTER,
	KO_LIMIT,
	KO_DB,
	KO_WAIT,
	KO_PLATFORM,
	KO_MEASUREMENT,
	KO_REK,
	KO_TOKEN,
	KO_OUT,
	KO_COUNT,
	KO_JSON,
	KO_CHALLENGE,
	KO_BIND_CERT,
	KO_JWKS,
	KO_CERT_REFS,
	KO_N,
};

struct kbs_cli {
	struct sn_kbs_client_opts conn;
	const char *opt[KO_N];
	long count;
	const char *verb;
	char **args; /* the verb's positional arguments */
	int n_args;
};

/* one request; prints the error answer (code, message, reasons) when the
 * status is not 200.  Returns 0 (200), 1 (refused), 2 (no answer). */
int kbs_cli_call(const struct kbs_cli *k, const char *method,
		 const char *target, const char *bearer, const char *body,
		 struct sn_kbs_response *out);
int kbs_cli_attest(const struct kbs_cli *k);
int kbs_cli_fetch(const struct kbs_cli *k);
/* cmd_kbs_fed.c: bundles, import-bundle, withdraw, rollover; -1 when
 * the verb is none of them, else an exit status */
int kbs_cli_fed(struct sn_cli_args *a, const struct kbs_cli *k);

#endif
