/* SPDX-License-Identifier: Apache-2.0 */
/* lib/workflow's schema helpers: typed member readers that report every
 * error with its JSON path into the diagnostics and carry on. */
#ifndef SEALNET_LIB_WORKFLOW_SCHEMA_H
#define SEALNET_LIB_WORKFLOW_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

#define PATH_MAX_LEN sizeof(((struct sn_wf_error *)0)->path)
#define MAX_DOMAINS  64
#define MAX_KEYS     16
#define MAX_NODES    1023
#define MAX_STAGES   1024
#define MAX_FLOWS    4096
#define MAX_LIST     64

struct wf_ctx {
	struct sn_wf_diag *d;
	struct sn_workflow *wf;
	bool oom;
};

/* path formatted into buf (PATH_MAX_LEN bytes); returns buf */
__attribute__((format(printf, 2, 3))) char *wf_sub(char *buf, const char *fmt,
						   ...);
/* every member of o in allowed (NULL-terminated; "comment" always is):
 * each other one reported */
void wf_only(struct wf_ctx *c, json_t *o, const char *path,
	     const char *const *allowed, const char *what);
bool wf_is_name(const char *s);
/* The readers of member k of o: 0 when read, 1 when absent and not
 * required, -EINVAL (reported, with path.k) otherwise.  path is the JSON
 * path of o. */
int wf_get_str(struct wf_ctx *c, json_t *o, const char *path, const char *k,
	       bool required, bool name, char *out, size_t cap);
int wf_get_uint(struct wf_ctx *c, json_t *o, const char *path, const char *k,
		bool required, uint64_t min, uint64_t max, uint64_t *out);
int wf_get_bool(struct wf_ctx *c, json_t *o, const char *path, const char *k,
		bool *out);
int wf_hex_value(struct wf_ctx *c, json_t *v, const char *path, uint8_t *out,
		 size_t nbytes, const char *what);
int wf_get_hex(struct wf_ctx *c, json_t *o, const char *path, const char *k,
	       bool required, uint8_t *out, size_t nbytes, const char *what);
int wf_get_array(struct wf_ctx *c, json_t *o, const char *path, const char *k,
		 bool required, size_t max, json_t **arr);
int wf_get_hex_list(struct wf_ctx *c, json_t *o, const char *path,
		    const char *k, bool required, size_t nbytes,
		    const char *what, void **out, size_t *n);
int wf_get_tee(struct wf_ctx *c, json_t *o, const char *path,
	       enum sn_wf_tee *t);
bool wf_is_object(struct wf_ctx *c, json_t *v, const char *path,
		  const char *what);

/* stage.reference (reference.c) */
void wf_parse_reference(struct wf_ctx *c, json_t *o, const char *path,
			struct sn_wf_reference *r);

#endif
