/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the workflow unit tests: the example manifest with real keys,
 * jansson edits, error lookup. */
#ifndef SEALNET_TEST_WF_HELPERS_H
#define SEALNET_TEST_WF_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "sealnet/workflow.h"

/* A temporary directory with Ed25519 keys hospital.key, lab.key,
 * other.key (and .pub) and their raw public keys as hex. */
struct wf_keys {
	char dir[64];
	char hospital_hex[65], lab_hex[65], other_hex[65];
};
void wf_keys_make(struct wf_keys *k);
void wf_keys_path(const struct wf_keys *k, const char *name, char *out,
		  size_t cap);
void wf_keys_remove(struct wf_keys *k);

/* the example manifest as a tree, with k's keys (k NULL: placeholders) */
json_t *wf_example_tree(const struct wf_keys *k);
/* tree -> text (indented, member order kept); malloc'd */
char *wf_text(const json_t *t);
/* true when d has an error at exactly path whose message contains needle */
bool wf_diag_has(const struct sn_wf_diag *d, const char *path,
		 const char *needle);
void wf_diag_dump(const struct sn_wf_diag *d);
/* the value at path ("stages[1].reference"), asserted present */
json_t *wf_at(json_t *root, const char *path);

#endif
