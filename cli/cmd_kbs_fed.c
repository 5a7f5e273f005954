// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet kbs: the federation verbs (docs/federation.md "The KBS and its
 * peers", docs/kbs-api.md): bundles (peer domains' bundles and their
 * state), import-bundle FILE, withdraw DOMAIN, readmit DOMAIN, rollover.
 * Admin
 * certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sealnet/federation.h"
#include "sealnet/util.h"
#include "cmd_kbs.h"

static void when(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) ||
	    !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "-");
}

static int bundles(const struct kbs_cli *k)
{
	struct sn_kbs_response r;
	json_t *a, *o;
	size_t i;
	int rc = kbs_cli_call(k, "GET", "/admin/bundles", NULL, NULL, &r);

	if (rc)
		return rc;
	if (k->opt[KO_JSON]) {
		printf("%s", r.body);
		sn_kbs_response_clear(&r);
		return 0;
	}
	a = json_loadb(r.body, r.len, 0, NULL);
	sn_kbs_response_clear(&r);
	if (!json_is_array(a)) {
		fprintf(stderr, "sealnet kbs: GET /admin/bundles: not a JSON "
				"array\n");
		json_decref(a);
		return 2;
	}
	printf("%-16s %-10s %-12s %-21s %-21s %s\n", "DOMAIN", "STATE",
	       "SEQUENCE", "NOT_AFTER", "LAST_FETCH", "RESULT");
	json_array_foreach(a, i, o)
	{
		char na[32], lf[32], seq[24] = "-";

		when(json_integer_value(json_object_get(o, "not_after")), na,
		     sizeof(na));
		when(json_integer_value(json_object_get(o, "last_fetch_at")),
		     lf, sizeof(lf));
		if (json_object_get(o, "sequence"))
			snprintf(seq, sizeof(seq), "%lld",
				 (long long)json_integer_value(
					 json_object_get(o, "sequence")));
		printf("%-16s %-10s %-12s %-21s %-21s %s\n",
		       json_string_value(json_object_get(o, "domain")),
		       json_string_value(json_object_get(o, "state")), seq, na,
		       lf,
		       *json_string_value(json_object_get(o, "last_result")) ?
			       json_string_value(
				       json_object_get(o, "last_result")) :
			       "-");
	}
	json_decref(a);
	return 0;
}

static int post_text(const struct kbs_cli *k, const char *target,
		     const char *body)
{
	struct sn_kbs_response r;
	int rc = kbs_cli_call(k, "POST", target, NULL, body, &r);

	if (!rc) {
		printf("%s", r.body);
		sn_kbs_response_clear(&r);
	}
	return rc;
}

int kbs_cli_fed(struct sn_cli_args *a, const struct kbs_cli *k)
{
	if (!strcmp(k->verb, "bundles")) {
		if (k->n_args)
			return sn_cli_exit(
				sn_cli_usage_error(a, "bundles takes no "
						      "argument"));
		return bundles(k);
	}
	if (!strcmp(k->verb, "import-bundle")) {
		uint8_t *buf = NULL;
		size_t len = 0;
		char *txt;
		int rc;

		if (k->n_args != 1)
			return sn_cli_exit(
				sn_cli_usage_error(a, "import-bundle FILE"));
		if (sn_read_file(k->args[0], SN_FED_MAX_BYTES, &buf, &len) ||
		    !(txt = strndup((const char *)buf, len))) {
			fprintf(stderr,
				"sealnet kbs: %s: unreadable or above %u "
				"bytes\n",
				k->args[0], SN_FED_MAX_BYTES);
			free(buf);
			return 2;
		}
		free(buf);
		rc = post_text(k, "/admin/bundle", txt);
		free(txt);
		return rc;
	}
	if (!strcmp(k->verb, "withdraw") || !strcmp(k->verb, "readmit")) {
		bool re = k->verb[0] == 'r';
		json_t *o;
		char *txt;
		int rc;

		if (k->n_args != 1)
			return sn_cli_exit(sn_cli_usage_error(
				a, re ? "readmit DOMAIN [--reason TEXT]" :
					"withdraw DOMAIN [--reason TEXT]"));
		o = json_pack("{s:s,s:s}", "domain", k->args[0], "reason",
			      k->opt[KO_REASON] ? k->opt[KO_REASON] :
			      re		? "re-admitted by an admin" :
						  "withdrawn by an admin");
		txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!txt)
			return 2;
		rc = post_text(k, re ? "/admin/readmit" : "/admin/withdraw",
			       txt);
		free(txt);
		return rc;
	}
	if (!strcmp(k->verb, "rollover")) {
		if (k->n_args)
			return sn_cli_exit(
				sn_cli_usage_error(a, "rollover takes no "
						      "argument"));
		return post_text(k, "/admin/rollover", "{}");
	}
	return -1;
}
