// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include "sealnet/util.h"
#include "wf_helpers.h"

static void one_key(const struct wf_keys *k, const char *name, char *hex)
{
	char priv[128], pub[128];
	uint8_t raw[SN_WF_PUB_LEN];

	snprintf(priv, sizeof(priv), "%s/%s.key", k->dir, name);
	snprintf(pub, sizeof(pub), "%s/%s.pub", k->dir, name);
	assert_int_equal(sn_wf_keygen(priv, pub, raw), 0);
	sn_hex_encode(raw, sizeof(raw), hex);
}

void wf_keys_make(struct wf_keys *k)
{
	snprintf(k->dir, sizeof(k->dir), "/tmp/sn-wf-test.XXXXXX");
	assert_non_null(mkdtemp(k->dir));
	one_key(k, "hospital", k->hospital_hex);
	one_key(k, "lab", k->lab_hex);
	one_key(k, "other", k->other_hex);
}

void wf_keys_path(const struct wf_keys *k, const char *name, char *out,
		  size_t cap)
{
	snprintf(out, cap, "%s/%s.key", k->dir, name);
}

void wf_keys_remove(struct wf_keys *k)
{
	const char *names[] = {"hospital", "lab", "other"};
	char p[128];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s.key", k->dir, names[i]);
		unlink(p);
		snprintf(p, sizeof(p), "%s/%s.pub", k->dir, names[i]);
		unlink(p);
	}
	rmdir(k->dir);
}

json_t *wf_example_tree(const struct wf_keys *k)
{
	json_error_t je;
	json_t *t = json_loads(sn_workflow_example, 0, &je);

	assert_non_null(t);
	if (k) {
		json_t *d = json_object_get(t, "domains");

		json_object_set_new(
			json_array_get(
				json_object_get(json_array_get(d, 0), "keys"),
				0),
			"ed25519", json_string(k->hospital_hex));
		json_object_set_new(
			json_array_get(
				json_object_get(json_array_get(d, 1), "keys"),
				0),
			"ed25519", json_string(k->lab_hex));
	}
	return t;
}

char *wf_text(const json_t *t)
{
	char *s = json_dumps(t, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	assert_non_null(s);
	return s;
}

bool wf_diag_has(const struct sn_wf_diag *d, const char *path,
		 const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->errors[i].path, path) &&
		    strstr(d->errors[i].msg, needle))
			return true;
	return false;
}

void wf_diag_dump(const struct sn_wf_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  %s: %s\n", d->errors[i].path,
			d->errors[i].msg);
}

json_t *wf_at(json_t *root, const char *path)
{
	json_t *v = root;
	char name[64];

	while (v && *path) {
		if (*path == '.') {
			path++;
		} else if (*path == '[') {
			char *end;
			unsigned long i = strtoul(path + 1, &end, 10);

			v = json_array_get(v, i);
			path = end + 1;
		} else {
			size_t n = strcspn(path, ".[");

			snprintf(name, sizeof(name), "%.*s", (int)n, path);
			v = json_object_get(v, name);
			path += n;
		}
	}
	assert_non_null(v);
	return v;
}
