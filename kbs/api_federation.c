// SPDX-License-Identifier: Apache-2.0
/*
 * GET /federation/bundles (docs/kbs-api.md): the peer domains' trust
 * bundles this KBS holds, for its nodes, which verify each one
 * themselves against their manifest before use (sealnetd fed_peers.c):
 *
 *     {"bundles": [<signed bundle JSON object>, ...]}
 *
 * This version answers with the bundles in cfg.trust_dir (imported by
 * POST /admin/bundle, api_bundle.c), one per peer domain; a file that
 * does not parse as a bundle is left out (and logged).  The KBS-side
 * federation (fetching bundles from peer KBSs into SQLite) provides its
 * own kbs_fed_bundles() with the same URL and shape.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sealnet/federation.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "kbs.h"

static bool is_bundle_name(const char *n)
{
	size_t l = strlen(n);

	return l > 5 && n[0] != '.' && !strcmp(n + l - 5, ".json");
}

void kbs_fed_bundles(struct kbs *k, struct evhttp_request *req)
{
	json_t *arr = json_array(), *ans = NULL;
	DIR *dir = k->cfg.trust_dir[0] ? opendir(k->cfg.trust_dir) : NULL;
	struct dirent *e;
	char *txt = NULL;

	if (!arr)
		goto fail;
	while (dir && (e = readdir(dir))) {
		struct sn_fed_bundle *b = NULL;
		char path[600];
		uint8_t *buf = NULL;
		size_t len = 0;
		json_t *o = NULL;

		if (!is_bundle_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", k->cfg.trust_dir,
			 e->d_name);
		if (sn_read_file(path, SN_FED_MAX_BYTES, &buf, &len) ||
		    sn_fed_bundle_parse((const char *)buf, len, &b, NULL) ||
		    !(o = json_loadb((const char *)buf, len,
				     JSON_REJECT_DUPLICATES, NULL))) {
			sn_warn("GET /federation/bundles: %s is not a valid "
				"trust bundle: left out (import it again)",
				path);
		} else if (json_array_append_new(arr, o)) {
			sn_fed_bundle_free(b);
			free(buf);
			goto fail;
		}
		sn_fed_bundle_free(b);
		free(buf);
	}
	ans = json_pack("{sO}", "bundles", arr);
	txt = ans ? json_dumps(ans, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!txt)
		goto fail;
	kbs_reply(req, 200, txt);
	goto out;
fail:
	kbs_reply(req, 503, "{\"error\":\"internal\"}");
out:
	if (dir)
		closedir(dir);
	free(txt);
	json_decref(ans);
	json_decref(arr);
}
