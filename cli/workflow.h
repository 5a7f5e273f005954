/* SPDX-License-Identifier: Apache-2.0 */
/* sealnet workflow: shared by cli/cmd_workflow*.c (docs/workflow.md). */
#ifndef SEALNET_CLI_WORKFLOW_H
#define SEALNET_CLI_WORKFLOW_H

#include "sealnet/workflow.h"

/* exit codes of every `sealnet workflow` subcommand */
enum {
	WF_EXIT_OK = 0,
	WF_EXIT_FAIL = 1,     /* the command could not do its job (I/O...) */
	WF_EXIT_USAGE = 2,    /* bad usage, unreadable input file */
	WF_EXIT_INVALID = 3,  /* the manifest is not valid (lint errors) */
	WF_EXIT_UNSIGNED = 4, /* some domain has not signed */
	WF_EXIT_BADSIG = 5,   /* a signature is bad / envelope corrupt */
};

#define WF_EXIT_TEXT                                                          \
	"Exit status: 0 ok, 1 failure (I/O, tool missing), 2 bad usage or\n"  \
	"unreadable file, 3 invalid manifest, 4 unsigned (a domain has not\n" \
	"signed), 5 bad signature (or corrupt signature file).\n"

/* print every error of d as "file: path: message" to stderr */
void wf_print_diag(const char *file, const struct sn_wf_diag *d);
/* load and validate: 0 and *wf, or the exit code (errors printed) */
int wf_load(const char *file, struct sn_workflow **wf);
/* the signature file next to manifest: x.json -> x.sig.json (malloc'd) */
char *wf_default_sig_path(const char *manifest);
/* verify wf's signatures from sig_path; prints a per-domain report to
 * stdout when verbose, problems to stderr; returns the exit code */
int wf_check_sigs(const struct sn_workflow *wf, const char *sig_path,
		  bool verbose);
/* write data to path atomically (temporary file + rename), mode */
int wf_write_file(const char *path, const char *data, int mode);

int wf_cmd_init(int argc, char **argv);
int wf_cmd_lint(int argc, char **argv);
int wf_cmd_hash(int argc, char **argv);
int wf_cmd_keygen(int argc, char **argv);
int wf_cmd_sign(int argc, char **argv);
int wf_cmd_verify(int argc, char **argv);
int wf_cmd_compile(int argc, char **argv);
int wf_cmd_graph(int argc, char **argv);
int wf_cmd_apply(int argc, char **argv);

#endif
