// SPDX-License-Identifier: Apache-2.0
/* lib/workflow's schema helpers (schema.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/util.h"
#include "schema.h"

const char *const sn_wf_tdx_tcb_status[] = {
	"UpToDate",
	"SWHardeningNeeded",
	"ConfigurationNeeded",
	"ConfigurationAndSWHardeningNeeded",
	"OutOfDate",
	"OutOfDateConfigurationNeeded",
	NULL,
};

const char *wf_tee_name(enum sn_wf_tee t)
{
	switch (t) {
	case SN_WF_TEE_SIM:
		return "sim";
	case SN_WF_TEE_SNP:
		return "snp";
	case SN_WF_TEE_TDX:
		return "tdx";
	}
	return "?";
}

const char *wf_proto_name(enum sn_wf_proto p)
{
	switch (p) {
	case SN_WF_TCP:
		return "tcp";
	case SN_WF_UDP:
		return "udp";
	case SN_WF_ICMP:
		return "icmp";
	}
	return "?";
}

__attribute__((format(printf, 2, 3))) char *wf_sub(char *buf, const char *fmt,
						   ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_MAX_LEN, fmt, ap);
	va_end(ap);
	return buf;
}

/* every member of o in allowed (NULL-terminated); "comment" always is */
void wf_only(struct wf_ctx *c, json_t *o, const char *path,
	     const char *const *allowed, const char *what)
{
	const char *k;
	json_t *v;
	char sub[PATH_MAX_LEN];

	json_object_foreach(o, k, v)
	{
		const char *const *a;

		if (!strcmp(k, "comment")) {
			if (!json_is_string(v))
				wf_err(c->d, wf_sub(sub, "%s.comment", path),
				       "must be a string (free text, part of "
				       "the "
				       "signed manifest)");
			continue;
		}
		for (a = allowed; *a; a++)
			if (!strcmp(*a, k))
				break;
		if (!*a) {
			char list[256] = "";

			for (a = allowed; *a; a++) {
				strncat(list, *a,
					sizeof(list) - strlen(list) - 1);
				if (a[1])
					strncat(list, ", ",
						sizeof(list) - strlen(list) -
							1);
			}
			wf_sub(sub, "%s.%s", path, k);
			wf_err(c->d, sub,
			       "unknown member of %s (allowed: %s, comment): "
			       "check the spelling, docs/workflow.md lists "
			       "them",
			       what, list);
		}
	}
}

bool wf_is_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= SN_WF_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

/* o.k: a string; name: the name rules, else 1..cap-1 characters.
 * 1 when absent (not required), 0 when read, -EINVAL */
int wf_get_str(struct wf_ctx *c, json_t *o, const char *path, const char *k,
	       bool required, bool name, char *out, size_t cap)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];
	const char *s;

	wf_sub(sub, "%s.%s", path, k);
	if (!v) {
		if (required)
			return wf_err(c->d, sub, "missing: add it (a %s)",
				      name ? "name" : "string");
		return 1;
	}
	s = json_string_value(v);
	if (!s)
		return wf_err(c->d, sub, "must be a string");
	if (name && !wf_is_name(s))
		return wf_err(c->d, sub,
			      "'%s' is not a name: use 1..%d characters of "
			      "A-Z a-z 0-9 . _ -",
			      s, SN_WF_NAME_MAX - 1);
	if (!*s || strlen(s) >= cap)
		return wf_err(c->d, sub,
			      "must be a non-empty string of at most %zu "
			      "characters",
			      cap - 1);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int wf_get_uint(struct wf_ctx *c, json_t *o, const char *path, const char *k,
		bool required, uint64_t min, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];
	json_int_t n;

	wf_sub(sub, "%s.%s", path, k);
	if (!v) {
		if (required)
			return wf_err(
				c->d, sub,
				"missing: add it (an integer in %llu..%llu)",
				(unsigned long long)min,
				(unsigned long long)max);
		return 1;
	}
	n = json_integer_value(v);
	if (!json_is_integer(v) || n < 0 || (uint64_t)n < min ||
	    (uint64_t)n > max)
		return wf_err(c->d, sub, "must be an integer in %llu..%llu",
			      (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

int wf_get_bool(struct wf_ctx *c, json_t *o, const char *path, const char *k,
		bool *out)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];

	if (!v)
		return 1;
	if (!json_is_boolean(v))
		return wf_err(c->d, wf_sub(sub, "%s.%s", path, k),
			      "must be true or false");
	*out = json_is_true(v);
	return 0;
}

int wf_hex_value(struct wf_ctx *c, json_t *v, const char *path, uint8_t *out,
		 size_t nbytes, const char *what)
{
	const char *s = json_string_value(v);

	if (!s)
		return wf_err(c->d, path,
			      "must be a string of %zu hex digits (%s, %zu "
			      "bytes)",
			      2 * nbytes, what, nbytes);
	if (strlen(s) != 2 * nbytes ||
	    sn_hex_decode(s, strlen(s), out, nbytes) != (int)nbytes)
		return wf_err(c->d, path,
			      "must be %zu hex digits (%s, %zu bytes); this "
			      "one has %zu characters%s",
			      2 * nbytes, what, nbytes, strlen(s),
			      strlen(s) == 2 * nbytes ? ", not all hex" : "");
	return 0;
}

int wf_get_hex(struct wf_ctx *c, json_t *o, const char *path, const char *k,
	       bool required, uint8_t *out, size_t nbytes, const char *what)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];

	wf_sub(sub, "%s.%s", path, k);
	if (!v) {
		if (required)
			return wf_err(c->d, sub,
				      "missing: add %s (%zu hex digits)", what,
				      2 * nbytes);
		return 1;
	}
	return wf_hex_value(c, v, sub, out, nbytes, what);
}

/* o.k: an array (1..max elements when required, 0..max otherwise);
 * *arr; 1 absent */
int wf_get_array(struct wf_ctx *c, json_t *o, const char *path, const char *k,
		 bool required, size_t max, json_t **arr)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];

	wf_sub(sub, "%s.%s", path, k);
	if (!v) {
		if (required)
			return wf_err(c->d, sub,
				      "missing: add a non-empty list");
		return 1;
	}
	if (!json_is_array(v))
		return wf_err(c->d, sub, "must be a list ([...])");
	if (required && !json_array_size(v))
		return wf_err(c->d, sub, "must not be empty");
	if (json_array_size(v) > max)
		return wf_err(c->d, sub, "has %zu entries; at most %zu",
			      json_array_size(v), max);
	*arr = v;
	return 0;
}

/* list of fixed-size hex values */
int wf_get_hex_list(struct wf_ctx *c, json_t *o, const char *path,
		    const char *k, bool required, size_t nbytes,
		    const char *what, void **out, size_t *n)
{
	json_t *arr = NULL, *v;
	char sub[PATH_MAX_LEN];
	uint8_t *p;
	size_t i;
	int err = wf_get_array(c, o, path, k, required, MAX_LIST, &arr);

	if (err)
		return err;
	p = calloc(json_array_size(arr) + 1, nbytes);
	if (!p) {
		c->oom = true;
		return -ENOMEM;
	}
	json_array_foreach(arr, i, v)
	{
		wf_sub(sub, "%s.%s[%zu]", path, k, i);
		wf_hex_value(c, v, sub, p + i * nbytes, nbytes, what);
	}
	*out = p;
	*n = json_array_size(arr);
	return 0;
}

int wf_get_tee(struct wf_ctx *c, json_t *o, const char *path, enum sn_wf_tee *t)
{
	char s[8], sub[PATH_MAX_LEN];
	int err = wf_get_str(c, o, path, "tee", true, false, s, sizeof(s));

	if (err)
		return -EINVAL;
	if (!strcmp(s, "sim"))
		*t = SN_WF_TEE_SIM;
	else if (!strcmp(s, "snp"))
		*t = SN_WF_TEE_SNP;
	else if (!strcmp(s, "tdx"))
		*t = SN_WF_TEE_TDX;
	else
		return wf_err(c->d, wf_sub(sub, "%s.tee", path),
			      "'%s' is not a TEE type: \"snp\", \"tdx\" or "
			      "\"sim\" (simulated SNP, tests only)",
			      s);
	return 0;
}

bool wf_is_object(struct wf_ctx *c, json_t *v, const char *path,
		  const char *what)
{
	if (json_is_object(v))
		return true;
	wf_err(c->d, path, "must be an object (%s)", what);
	return false;
}
