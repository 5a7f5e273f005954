/* SPDX-License-Identifier: Apache-2.0 */
/* sealnet federation: shared by cli/cmd_federation*.c */
#ifndef SEALNET_CLI_FEDERATION_H
#define SEALNET_CLI_FEDERATION_H

#include "sealnet/federation.h"

/* Exit codes (docs/federation.md, "Command line"): the workflow ones
 * (0 ok, 1 failure, 2 usage/unreadable, 3 invalid manifest or bundle,
 * 4 manifest unsigned, 5 manifest signature bad), then one per refusal:
 * FED_EXIT_BASE + enum sn_fed_status (10..17). */
#define FED_EXIT_BASE 9

#define FED_EXIT_TEXT                                                          \
	"Exit status: 0 ok, 1 failure (I/O), 2 bad usage or unreadable "       \
	"file,\n"                                                              \
	"3 invalid manifest or bundle (or corrupt trust directory), 4 "        \
	"manifest\n"                                                           \
	"unsigned, 5 a manifest signature is bad; a refused bundle: 10 "       \
	"domain\n"                                                             \
	"not in the manifest, 11 issued for another workflow, 12 signed by "   \
	"a\n"                                                                  \
	"key the domain does not list, 13 bad signature, 14 vouches for a\n"   \
	"stage not of its domain, 15 not yet valid, 16 expired, 17 rollback\n" \
	"(sequence below the last accepted one, or equal with other "          \
	"content).\n"

int fed_cmd_export(int argc, char **argv);

#endif
