// SPDX-License-Identifier: Apache-2.0
/* sealnet-kbs's JSON configuration: strict (unknown members are errors),
 * every error names the member and says what is expected. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "kbs.h"

static int path_member(json_t *o, const char *name, const char *dir,
		       bool required, char *out, size_t cap)
{
	json_t *v = json_object_get(o, name);
	const char *s;
	int n;

	if (!v) {
		if (required) {
			sn_err("config: \"%s\" (a file path) is required",
			       name);
			return -EINVAL;
		}
		out[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || !*(s = json_string_value(v))) {
		sn_err("config: \"%s\" must be a non-empty string (a path)",
		       name);
		return -EINVAL;
	}
	n = s[0] == '/' ? snprintf(out, cap, "%s", s) :
			  snprintf(out, cap, "%s/%s", dir, s);
	if (n < 0 || (size_t)n >= cap) {
		sn_err("config: \"%s\" is too long", name);
		return -EINVAL;
	}
	return 0;
}

static int int_member(json_t *o, const char *name, long min, long max, int def,
		      int *out)
{
	json_t *v = json_object_get(o, name);

	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		sn_err("config: \"%s\" must be an integer in %ld..%ld", name,
		       min, max);
		return -EINVAL;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

static int parse_listen(const char *s, struct kbs_config *c)
{
	const char *colon;
	size_t hl;
	char *end;
	long port;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - s - 1);
		s++;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	port = strtol(colon + 1, &end, 10);
	if (!hl || hl >= sizeof(c->listen_host) || *end || port < 1 ||
	    port > 65535 || end == colon + 1)
		return -EINVAL;
	memcpy(c->listen_host, s, hl);
	c->listen_host[hl] = '\0';
	snprintf(c->listen_port, sizeof(c->listen_port), "%ld", port);
	return 0;
}

static const char *const known[] = {
	"listen",
	"tls_cert",
	"tls_key",
	"admin_ca",
	"database",
	"token_key",
	"domain",
	"token_lifetime",
	"challenge_lifetime",
	"request_timeout",
	"max_challenges",
	"max_event_waiters",
	"max_challenges_per_node",
	"audit_refusal_burst",
	"audit_refusal_rate",
	"workers",
	"metrics_listen",
	"manifest",
	"bundle",
	"trust_dir",
	"token_key_next",
	"peer_refresh_max_s",
	"comment",
	NULL,
};

int kbs_config_load(const char *path, struct kbs_config *out)
{
	struct kbs_config c = {0};
	json_error_t je;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;
	char dir[512];
	const char *key, *slash = strrchr(path, '/');
	int err = -EINVAL;

	if (!o) {
		sn_err("config %s: line %d: %s", path, je.line, je.text);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		sn_err("config %s: must be a JSON object", path);
		goto out;
	}
	json_object_foreach(o, key, v)
	{
		const char *const *k;

		for (k = known; *k && strcmp(*k, key); k++)
			;
		if (!*k) {
			sn_err("config %s: unknown member \"%s\" (see "
			       "docs/kbs-api.md, Configuration)",
			       path, key);
			goto out;
		}
	}
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	v = json_object_get(o, "listen");
	if (!json_is_string(v) || parse_listen(json_string_value(v), &c)) {
		sn_err("config %s: \"listen\" must be \"HOST:PORT\" (IPv6 as "
		       "\"[ADDR]:PORT\")",
		       path);
		goto out;
	}
	v = json_object_get(o, "domain");
	if (!json_is_string(v) || sn_kbs_name_check(json_string_value(v))) {
		sn_err("config %s: \"domain\" must be a name of 1..63 of "
		       "[A-Za-z0-9._-]",
		       path);
		goto out;
	}
	snprintf(c.domain, sizeof(c.domain), "%s", json_string_value(v));
	if (path_member(o, "tls_cert", dir, true, c.tls_cert,
			sizeof(c.tls_cert)) ||
	    path_member(o, "tls_key", dir, true, c.tls_key,
			sizeof(c.tls_key)) ||
	    path_member(o, "admin_ca", dir, true, c.admin_ca,
			sizeof(c.admin_ca)) ||
	    path_member(o, "database", dir, true, c.database,
			sizeof(c.database)) ||
	    path_member(o, "token_key", dir, true, c.token_key,
			sizeof(c.token_key)) ||
	    int_member(o, "token_lifetime", 1, 86400, 300, &c.token_lifetime) ||
	    int_member(o, "challenge_lifetime", 1, 3600, 60,
		       &c.challenge_lifetime) ||
	    int_member(o, "request_timeout", 1, 300, 10, &c.request_timeout) ||
	    int_member(o, "max_challenges", 1, 1000000, 4096,
		       &c.max_challenges) ||
	    int_member(o, "max_event_waiters", 1, 100000, 1024, &c.max_waiters) ||
	    int_member(o, "max_challenges_per_node", 1, 1000000, 4,
		       &c.max_challenges_per_node) ||
	    int_member(o, "audit_refusal_burst", 1, 1000000, 20,
		       &c.audit_refusal_burst) ||
	    int_member(o, "audit_refusal_rate", 1, 100000, 1,
		       &c.audit_refusal_rate) ||
	    int_member(o, "workers", 0, 64, 0, &c.workers) ||
	    int_member(o, "peer_refresh_max_s", 1, 86400, 3600,
		       &c.peer_refresh_max) ||
	    path_member(o, "manifest", dir, false, c.manifest,
			sizeof(c.manifest)) ||
	    path_member(o, "bundle", dir, false, c.bundle, sizeof(c.bundle)) ||
	    path_member(o, "trust_dir", dir, false, c.trust_dir,
			sizeof(c.trust_dir)) ||
	    path_member(o, "token_key_next", dir, false, c.token_key_next,
			sizeof(c.token_key_next)))
		goto out;
	v = json_object_get(o, "metrics_listen");
	if (v) {
		char host[64];
		uint16_t port;

		if (!json_is_string(v) ||
		    strlen(json_string_value(v)) >= sizeof(c.metrics_listen) ||
		    sn_parse_listen(json_string_value(v), host, sizeof(host),
				    &port)) {
			sn_err("config %s: \"metrics_listen\" must be "
			       "\"ADDR:PORT\" with a numeric address (e.g. "
			       "127.0.0.1:9478 or [::1]:9478)",
			       path);
			goto out;
		}
		snprintf(c.metrics_listen, sizeof(c.metrics_listen), "%s",
			 json_string_value(v));
	}
	*out = c;
	err = 0;
out:
	json_decref(o);
	return err;
}
