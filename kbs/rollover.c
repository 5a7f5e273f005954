// SPDX-License-Identifier: Apache-2.0
/*
 * Token key rollover (docs/kbs-api.md "Token key rollover"):
 *
 *   token_key       the key tokens are signed with (current)
 *   token_key_next  optional: the key to roll over to; created (0600) when
 *                   missing; published by GET /keys after the current one
 *                   so the domain's trust bundle can list it as "next"
 *
 * POST /admin/rollover (`sealnet kbs rollover`): token_key is renamed to
 * <token_key>.prev and token_key_next to token_key; from then on tokens
 * are signed with the former next key.  The former current key stays in
 * GET /keys (and is accepted by GET /resource) for token_lifetime
 * seconds, until every token it signed has expired; after a restart
 * within that time it is found again in <token_key>.prev (its change
 * time starts the grace period).  Audited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <jansson.h>

#include "sealnet/log.h"
#include "kbs.h"

static void prev_path(struct kbs *k, char *out, size_t cap)
{
	snprintf(out, cap, "%s.prev", k->cfg.token_key);
}

int kbs_keys_setup(struct kbs *k)
{
	char prev[600];
	struct stat sb;
	int err;

	if (k->cfg.token_key_next[0]) {
		err = sn_kbs_signer_load(k->cfg.token_key_next, true,
					 &k->signer_next);
		if (err) {
			sn_err("token_key_next %s: cannot load or create "
			       "the next token key",
			       k->cfg.token_key_next);
			return err;
		}
		if (!strcmp(sn_kbs_signer_kid(k->signer_next),
			    sn_kbs_signer_kid(k->signer))) {
			sn_err("token_key_next %s is the same key as "
			       "token_key %s: give the next key its own file",
			       k->cfg.token_key_next, k->cfg.token_key);
			return -EINVAL;
		}
	}
	prev_path(k, prev, sizeof(prev));
	if (!stat(prev, &sb) &&
	    (int64_t)sb.st_ctime + k->cfg.token_lifetime >
		    (int64_t)time(NULL) &&
	    !sn_kbs_signer_load(prev, false, &k->signer_prev)) {
		k->prev_until = (int64_t)sb.st_ctime + k->cfg.token_lifetime;
		sn_info("token key %s retiring until %lld (tokens it signed "
			"are still valid)",
			sn_kbs_signer_kid(k->signer_prev),
			(long long)k->prev_until);
	}
	return 0;
}

static bool prev_live(struct kbs *k)
{
	return k->signer_prev && (int64_t)time(NULL) < k->prev_until;
}

/* current, then next, then the retiring key while its tokens live */
void kbs_keys(struct kbs *k, struct evhttp_request *req)
{
	const struct sn_kbs_signer *ks[3] = {k->signer, k->signer_next,
					     prev_live(k) ? k->signer_prev :
							    NULL};
	json_t *all = json_array(), *o = NULL;
	char *txt = NULL;

	for (size_t i = 0; all && i < 3; i++) {
		char *j = NULL;
		json_t *one;

		if (!ks[i] || sn_kbs_jwks_json(ks[i], &j))
			continue;
		one = json_loads(j, 0, NULL);
		free(j);
		json_array_extend(all, json_object_get(one, "keys"));
		json_decref(one);
	}
	if (all)
		o = json_pack("{s:o}", "keys", all);
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	kbs_reply(req, txt ? 200 : 503, txt ? txt : "{\"error\":\"internal\"}");
	free(txt);
}

int kbs_token_verify(struct kbs *k, const char *tok, time_t now,
		     struct sn_kbs_claims *c)
{
	int err = sn_kbs_token_verify(k->signer, tok, strlen(tok), now, c);

	if (err == -EKEYREJECTED && prev_live(k))
		err = sn_kbs_token_verify(k->signer_prev, tok, strlen(tok), now,
					  c);
	return err;
}

void kbs_admin_rollover(struct kbs *k, struct evhttp_request *req,
			const char *actor)
{
	char prev[600], detail[300], *txt;
	const char *oldkid, *newkid;
	json_t *o;

	if (!k->signer_next) {
		kbs_refuse(k, req, 409, "rollover", NULL, "no-next-key", NULL,
			   "no next token key is configured (configuration: "
			   "token_key_next; restart sealnet-kbs after adding "
			   "it, publish the bundle with it, then roll over)");
		return;
	}
	prev_path(k, prev, sizeof(prev));
	if (rename(k->cfg.token_key, prev) ||
	    rename(k->cfg.token_key_next, k->cfg.token_key)) {
		sn_err("rollover: cannot rename %s -> %s -> %s: %s",
		       k->cfg.token_key_next, k->cfg.token_key, prev,
		       strerror(errno));
		/* best effort back */
		if (access(k->cfg.token_key, F_OK))
			rename(prev, k->cfg.token_key);
		kbs_reply(req, 503, "{\"error\":\"internal\"}");
		return;
	}
	sn_kbs_signer_free(k->signer_prev);
	k->signer_prev = k->signer;
	k->signer = k->signer_next;
	k->signer_next = NULL;
	k->prev_until = (int64_t)time(NULL) + k->cfg.token_lifetime;
	oldkid = sn_kbs_signer_kid(k->signer_prev);
	newkid = sn_kbs_signer_kid(k->signer);
	snprintf(detail, sizeof(detail),
		 "tokens now signed by %s; %s published until %lld", newkid,
		 oldkid, (long long)k->prev_until);
	{
		const struct sn_kbs_audit_in a = {actor, "rollover", newkid,
						  "ok", detail};

		if (sn_kbs_audit_append(k->st, &a))
			sn_err("rollover: not audited (database error above)");
	}
	sn_info("token key rollover by %s: %s", actor, detail);
	o = json_pack("{s:s,s:s,s:I}", "kid", newkid, "retiring", oldkid,
		      "retiring_until", (json_int_t)k->prev_until);
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	kbs_reply(req, txt ? 200 : 503, txt ? txt : "{\"error\":\"internal\"}");
	free(txt);
}
