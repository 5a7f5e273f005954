// SPDX-License-Identifier: Apache-2.0
/*
 * SIGHUP: a new policy without a restart.  sealnetd re-reads its
 * configuration file; when everything but "rules" is unchanged (compared
 * as SHA-256 of the file's JSON without "rules", keys sorted, so
 * formatting and member order do not matter), the data plane's policy
 * becomes the new rules (sn_dp_set_rules: rules in both versions keep
 * their flows, flows of dropped rules are cut), the measurement log gets
 * an SN_MLOG_CONFIG event with the new rules' digest (peers see the
 * change in this node's next evidence), and the audit log a "reload"
 * event.  Anything else changed, or a file that does not load: refused
 * with the reason, the running policy stays.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnetd.h"

/* SHA-256 of path's JSON without member "rules" (sorted, compact); and
 * SHA-384 of its "rules" alone (null when absent) */
static int digests(const char *path, uint8_t rest[32], uint8_t rules[48])
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	char *a = NULL, *b = NULL;
	int err = -EINVAL;

	if (!root || !json_is_object(root))
		goto out;
	b = json_dumps(json_object_get(root, "rules"),
		       JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	json_object_del(root, "rules");
	a = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	if (!a || !b ||
	    !EVP_Digest(a, strlen(a), rest, NULL, EVP_sha256(), NULL) ||
	    !EVP_Digest(b, strlen(b), rules, NULL, EVP_sha384(), NULL))
		goto out;
	err = 0;
out:
	if (a) {
		OPENSSL_cleanse(a, strlen(a)); /* static keys live there */
		free(a);
	}
	free(b);
	json_decref(root);
	return err;
}

int sn_reload_init(struct sealnetd *d)
{
	uint8_t rules[48];
	int err = digests(d->cfg->path, d->cfg_rest_sha256, rules);

	if (err)
		sn_err("%s: cannot digest the configuration for reloads",
		       d->cfg->path);
	return err;
}

static void audit_reload(struct sealnetd *d, const char *result,
			 const char *why, const struct sn_dp_rules_change *c)
{
	json_t *j = json_pack("{ss ss ss}", "event", "reload", "result", result,
			      "reason", why ? why : "");

	if (j && c) {
		json_object_set_new(j, "rules_added",
				    json_integer((json_int_t)c->added));
		json_object_set_new(j, "rules_removed",
				    json_integer((json_int_t)c->removed));
		json_object_set_new(j, "flows_cut",
				    json_integer((json_int_t)c->flows_cut));
	}
	if (j) {
		sn_audit(d, j);
		json_decref(j);
	}
}

void sn_reload(struct sealnetd *d)
{
	struct sn_node_config *nc = NULL;
	struct sn_dp_rules_change c;
	uint8_t rest[32], rules[48];
	struct sn_dp_rule *old;
	size_t n_old;
	char err[512];
	int e;

	sn_info("SIGHUP: reloading the rules from %s", d->cfg->path);
	if (sn_config_load(d->cfg->path, &nc, err, sizeof(err))) {
		sn_err("reload refused: %s: %s (the running policy stays)",
		       d->cfg->path, err);
		audit_reload(d, "refused", err, NULL);
		return;
	}
	if (digests(d->cfg->path, rest, rules) ||
	    CRYPTO_memcmp(rest, d->cfg_rest_sha256, sizeof(rest))) {
		sn_err("reload refused: %s changes more than \"rules\" (peers, "
		       "keys, interface, make...): restart sealnetd for that; "
		       "the running policy stays",
		       d->cfg->path);
		audit_reload(d, "refused", "more than the rules changed", NULL);
		goto out;
	}
	e = sn_dp_set_rules(d->dp, nc->rules, nc->n_rules, &c);
	if (e) {
		sn_err("reload: installing the new rules failed: %s; the data "
		       "plane may hold a mix of both versions: fix and send "
		       "SIGHUP again",
		       strerror(-e));
		audit_reload(d, "failed", strerror(-e), NULL);
		goto out;
	}
	/* the node's configuration now holds the new rules */
	old = d->cfg->rules;
	n_old = d->cfg->n_rules;
	d->cfg->rules = nc->rules;
	d->cfg->n_rules = nc->n_rules;
	nc->rules = old;
	nc->n_rules = n_old;
	if (sn_mlog_extend(&d->mlog, SN_MLOG_CONFIG, "rules reloaded", rules))
		sn_warn("reload: the measurement log is full: the reload is "
			"not in this node's evidence");
	sn_info("reload: %llu rules kept, %llu added, %llu removed; %llu "
		"flows of removed rules cut",
		(unsigned long long)c.kept, (unsigned long long)c.added,
		(unsigned long long)c.removed, (unsigned long long)c.flows_cut);
	audit_reload(d, "ok", NULL, &c);
out:
	sn_config_free(nc);
}
