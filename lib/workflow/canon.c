// SPDX-License-Identifier: Apache-2.0
/* The manifest's JSON rules, canonical form and digest (docs/workflow.md,
 * "Canonical form and digest"). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"

int wf_err(struct sn_wf_diag *d, const char *path, const char *fmt, ...)
{
	va_list ap;
	struct sn_wf_error *e;

	if (!d)
		return -EINVAL;
	d->n_total++;
	if (d->n >= SN_WF_MAX_ERRORS)
		return -EINVAL;
	e = &d->errors[d->n++];
	snprintf(e->path, sizeof(e->path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* every value: no reals, strings and member names printable ASCII */
static void check_values(json_t *v, const char *path, struct sn_wf_diag *d,
			 int depth)
{
	char sub[sizeof(((struct sn_wf_error *)0)->path)];
	const char *k;
	json_t *c;
	size_t i;

	if (depth > 32) {
		wf_err(d, path,
		       "nested too deeply (a manifest needs at most 6 levels)");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach(v, k, c)
		{
			if (!printable(k, strlen(k))) {
				wf_err(d, path,
				       "a member name is not printable ASCII "
				       "(0x20..0x7e): names are the documented "
				       "ones, see docs/workflow.md");
				continue;
			}
			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			check_values(c, sub, d, depth + 1);
		}
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, c)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			check_values(c, sub, d, depth + 1);
		}
		break;
	case JSON_STRING:
		if (!printable(json_string_value(v), json_string_length(v)))
			wf_err(d, path,
			       "strings must be printable ASCII (0x20..0x7e) "
			       "in "
			       "format version 1: write names, paths and URLs "
			       "in ASCII (URLs percent-encoded)");
		break;
	case JSON_REAL:
		wf_err(d, path,
		       "numbers must be integers (no fraction, no exponent): "
		       "write e.g. 100, not 100.0 or 1e2");
		break;
	default:
		break;
	}
}

int wf_json_load(const char *json, size_t len, json_t **root,
		 struct sn_wf_diag *d)
{
	json_error_t je;
	json_t *r;
	size_t before = d->n_total;

	if (len > SN_WF_MAX_BYTES)
		return wf_err(d, "$",
			      "the document is %zu bytes, over the limit of %u",
			      len, SN_WF_MAX_BYTES);
	r = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!r)
		return wf_err(
			d, "$",
			"not valid JSON at line %d column %d: %s (fix the "
			"syntax; duplicate members are refused too)",
			je.line, je.column, je.text);
	if (!json_is_object(r)) {
		json_decref(r);
		return wf_err(d, "$", "must be a JSON object");
	}
	check_values(r, "$", d, 0);
	if (d->n_total != before) {
		json_decref(r);
		return -EINVAL;
	}
	*root = r;
	return 0;
}

int wf_json_canonical(const json_t *root, char **out, size_t *out_len)
{
	/* jansson's compact, sorted output is the canonical form for the
	 * values wf_json_load lets through: members sorted by byte value, no
	 * whitespace, integers in shortest decimal, only " and \ escaped in
	 * printable-ASCII strings (tests/unit/test_workflow.c pins it). */
	char *s = json_dumps(root,
			     JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

	if (!s)
		return -ENOMEM;
	*out = s;
	*out_len = strlen(s);
	return 0;
}

int wf_sha384_prefixed(const char *prefix, const void *data, size_t len,
		       uint8_t out[SN_WF_DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha384(), NULL) &&
	     EVP_DigestUpdate(ctx, prefix, strlen(prefix) + 1) &&
	     EVP_DigestUpdate(ctx, data, len) &&
	     EVP_DigestFinal_ex(ctx, out, &n) && n == SN_WF_DIGEST_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static struct sn_wf_diag *diag_or_scratch(struct sn_wf_diag *d,
					  struct sn_wf_diag **scratch)
{
	*scratch = NULL;
	if (d)
		return d;
	*scratch = calloc(1, sizeof(**scratch));
	return *scratch;
}

int sn_workflow_canonical(const char *json, size_t len, char **out,
			  size_t *out_len, struct sn_wf_diag *diag)
{
	struct sn_wf_diag *scratch, *d = diag_or_scratch(diag, &scratch);
	json_t *root = NULL;
	int err;

	if (!d)
		return -ENOMEM;
	err = wf_json_load(json, len, &root, d);
	if (!err)
		err = wf_json_canonical(root, out, out_len);
	json_decref(root);
	free(scratch);
	return err;
}

int sn_workflow_digest(const char *json, size_t len,
		       uint8_t digest[SN_WF_DIGEST_LEN],
		       struct sn_wf_diag *diag)
{
	char *c = NULL;
	size_t n = 0;
	int err = sn_workflow_canonical(json, len, &c, &n, diag);

	if (err)
		return err;
	err = wf_sha384_prefixed(SN_WF_DIGEST_PREFIX, c, n, digest);
	free(c);
	return err;
}
