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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <jansson.h>

#include "sealnet/log.h"
#include "kbs.h"

/* Shared by every worker: a rollover on one worker is seen by all.
 * Signers are never freed before exit (a replaced one moves to
 * `retired`), so a pointer taken under the lock stays valid. */
struct kbs_keyring {
	pthread_mutex_t lock;
	struct sn_kbs_signer *cur, *next, *prev;
	int64_t prev_until;
	struct sn_kbs_signer **retired;
	size_t n_retired;
};

static void prev_path(struct kbs *k, char *out, size_t cap)
{
	snprintf(out, cap, "%s.prev", k->cfg.token_key);
}

int kbs_keys_setup(struct kbs *k)
{
	struct kbs_keyring *kr = calloc(1, sizeof(*kr));
	char prev[600];
	struct stat sb;
	int err;

	if (!kr)
		return -ENOMEM;
	pthread_mutex_init(&kr->lock, NULL);
	kr->cur = k->signer;
	k->signer = NULL;
	k->kr = kr;
	if (k->cfg.token_key_next[0]) {
		err = sn_kbs_signer_load(k->cfg.token_key_next, true,
					 &kr->next);
		if (err) {
			sn_err("token_key_next %s: cannot load or create "
			       "the next token key",
			       k->cfg.token_key_next);
			return err;
		}
		if (!strcmp(sn_kbs_signer_kid(kr->next),
			    sn_kbs_signer_kid(kr->cur))) {
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
	    !sn_kbs_signer_load(prev, false, &kr->prev)) {
		kr->prev_until = (int64_t)sb.st_ctime + k->cfg.token_lifetime;
		sn_info("token key %s retiring until %lld (tokens it signed "
			"are still valid)",
			sn_kbs_signer_kid(kr->prev), (long long)kr->prev_until);
	}
	return 0;
}

void kbs_keys_free(struct kbs *k)
{
	struct kbs_keyring *kr = k->kr;

	if (!kr)
		return;
	for (size_t i = 0; i < kr->n_retired; i++)
		sn_kbs_signer_free(kr->retired[i]);
	free(kr->retired);
	sn_kbs_signer_free(kr->cur);
	sn_kbs_signer_free(kr->next);
	sn_kbs_signer_free(kr->prev);
	pthread_mutex_destroy(&kr->lock);
	free(kr);
	k->kr = NULL;
}

/* a consistent copy of the key set (the pointers stay valid) */
struct keyset {
	const struct sn_kbs_signer *cur, *next, *prev; /* prev: while live */
	int64_t prev_until;
};

static void keys_get(struct kbs *k, struct keyset *ks)
{
	struct kbs_keyring *kr = k->kr;

	pthread_mutex_lock(&kr->lock);
	ks->cur = kr->cur;
	ks->next = kr->next;
	ks->prev_until = kr->prev_until;
	ks->prev = kr->prev && (int64_t)time(NULL) < kr->prev_until ? kr->prev :
								      NULL;
	pthread_mutex_unlock(&kr->lock);
}

const struct sn_kbs_signer *kbs_signer(struct kbs *k)
{
	struct keyset ks;

	keys_get(k, &ks);
	return ks.cur;
}

/* every key the audit head may be signed with: current, next, the one
 * before (even past its token lifetime: the head signed just before a
 * rollover); NULL where none */
void kbs_keys_audit(struct kbs *k, const struct sn_kbs_signer *out[3])
{
	struct kbs_keyring *kr = k->kr;

	pthread_mutex_lock(&kr->lock);
	out[0] = kr->cur;
	out[1] = kr->next;
	out[2] = kr->prev;
	pthread_mutex_unlock(&kr->lock);
}

const struct sn_kbs_signer *kbs_head_signer(void *arg)
{
	return kbs_signer(arg);
}

size_t kbs_head_keys(void *arg, const struct sn_kbs_signer **out, size_t cap)
{
	const struct sn_kbs_signer *ks[3];
	size_t n = 0;

	kbs_keys_audit(arg, ks);
	for (size_t i = 0; i < 3 && n < cap; i++)
		if (ks[i])
			out[n++] = ks[i];
	return n;
}

/* current, then next, then the retiring key while its tokens live */
void kbs_keys(struct kbs *k, struct evhttp_request *req)
{
	struct keyset s;
	json_t *all = json_array(), *o = NULL;
	char *txt = NULL;

	keys_get(k, &s);
	const struct sn_kbs_signer *ks[3] = {s.cur, s.next, s.prev};

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
	struct keyset s;
	int err;

	keys_get(k, &s);
	err = sn_kbs_token_verify(s.cur, tok, strlen(tok), now, c);
	if (err == -EKEYREJECTED && s.prev)
		err = sn_kbs_token_verify(s.prev, tok, strlen(tok), now, c);
	return err;
}

void kbs_admin_rollover(struct kbs *k, struct evhttp_request *req,
			const char *actor)
{
	char prev[600], detail[300], *txt;
	const char *oldkid, *newkid;
	json_t *o;

	struct kbs_keyring *kr = k->kr;
	struct sn_kbs_signer **r;
	int64_t until;

	/* one rollover at a time, seen whole by every worker */
	pthread_mutex_lock(&kr->lock);
	if (!kr->next) {
		pthread_mutex_unlock(&kr->lock);
		kbs_refuse(k, req, 409, "rollover", NULL, "no-next-key", NULL,
			   "no next token key is configured (configuration: "
			   "token_key_next; restart sealnet-kbs after adding "
			   "it, publish the bundle with it, then roll over)");
		return;
	}
	r = kr->prev ? realloc(kr->retired,
			       (kr->n_retired + 1) * sizeof(*kr->retired)) :
		       kr->retired;
	if (kr->prev && !r) {
		pthread_mutex_unlock(&kr->lock);
		kbs_reply(req, 503, "{\"error\":\"internal\"}");
		return;
	}
	kr->retired = r;
	prev_path(k, prev, sizeof(prev));
	if (rename(k->cfg.token_key, prev) ||
	    rename(k->cfg.token_key_next, k->cfg.token_key)) {
		sn_err("rollover: cannot rename %s -> %s -> %s: %s",
		       k->cfg.token_key_next, k->cfg.token_key, prev,
		       strerror(errno));
		/* best effort back */
		if (access(k->cfg.token_key, F_OK))
			rename(prev, k->cfg.token_key);
		pthread_mutex_unlock(&kr->lock);
		kbs_reply(req, 503, "{\"error\":\"internal\"}");
		return;
	}
	if (kr->prev)
		kr->retired[kr->n_retired++] = kr->prev;
	kr->prev = kr->cur;
	kr->cur = kr->next;
	kr->next = NULL;
	kr->prev_until = until = (int64_t)time(NULL) + k->cfg.token_lifetime;
	oldkid = sn_kbs_signer_kid(kr->prev);
	newkid = sn_kbs_signer_kid(kr->cur);
	pthread_mutex_unlock(&kr->lock);
	snprintf(detail, sizeof(detail),
		 "tokens now signed by %s; %s published until %lld", newkid,
		 oldkid, (long long)until);
	{
		const struct sn_kbs_audit_in a = {actor, "rollover", newkid,
						  "ok", detail};

		if (sn_kbs_audit_append(k->st, &a))
			sn_err("rollover: not audited (database error above)");
	}
	sn_info("token key rollover by %s: %s", actor, detail);
	o = json_pack("{s:s,s:s,s:I}", "kid", newkid, "retiring", oldkid,
		      "retiring_until", (json_int_t)until);
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	kbs_reply(req, txt ? 200 : 503, txt ? txt : "{\"error\":\"internal\"}");
	free(txt);
}
