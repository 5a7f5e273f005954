// SPDX-License-Identifier: Apache-2.0
/*
 * Trust bundles in sealnet-kbs (docs/federation.md, docs/kbs-api.md):
 * GET /bundle serves this domain's bundle (the file cfg.bundle, read and
 * parsed on each request so a re-export needs no restart); POST
 * /admin/bundle imports a peer domain's bundle: verified against the
 * imported signed manifest (kbs_manifest(), manifest.c) and the last one
 * accepted from that domain (cfg.trust_dir/<domain>.json), then kept there.
 * Every refusal and every import is in the audit log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "sealnet/federation.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "kbs.h"

void kbs_bundle(struct kbs *k, struct evhttp_request *req)
{
	struct sn_fed_bundle *b = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *txt;

	if (!k->cfg.bundle[0]) {
		kbs_reply(req, 404,
			  "{\"error\":\"no-bundle\",\"message\":\"this KBS "
			  "serves no trust bundle (configuration: "
			  "bundle)\"}");
		return;
	}
	if (sn_read_file(k->cfg.bundle, SN_FED_MAX_BYTES, &buf, &len) ||
	    sn_fed_bundle_parse((const char *)buf, len, &b, NULL) ||
	    !(txt = strndup((const char *)buf, len))) {
		sn_err("GET /bundle: %s is unreadable or not a valid trust "
		       "bundle: export it again (sealnet federation export)",
		       k->cfg.bundle);
		kbs_reply(req, 503, "{\"error\":\"internal\"}");
		goto out;
	}
	/* kbs_reply ends the body with one "\n" */
	for (len = strlen(txt); len && txt[len - 1] == '\n'; len--)
		txt[len - 1] = '\0';
	kbs_reply(req, 200, txt);
	free(txt);
out:
	sn_fed_bundle_free(b);
	free(buf);
}

/* data to path atomically (temporary file + rename), 0644 */
static int write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[600];
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd))
		err = -EIO;
	if (close(fd) && !err)
		err = -EIO;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

void kbs_admin_bundle(struct kbs *k, struct evhttp_request *req,
		      const char *actor)
{
	const struct sn_workflow *wf = kbs_manifest(k);
	struct sn_fed_bundle *b = NULL, *last = NULL;
	struct kbs_fed_verdict v;
	char path[600], *body = NULL, *ans = NULL;
	size_t len = 0;
	struct stat sb;
	json_t *o;
	int err;

	if (!wf) {
		kbs_refuse(k, req, 409, "bundle-import", NULL, "no-manifest",
			   NULL,
			   "this KBS has no workflow manifest to check "
			   "bundles against: import the signed manifest "
			   "first (sealnet kbs import-manifest)");
		return;
	}
	if (kbs_body(k, req, "bundle-import", SN_FED_MAX_BYTES, &body, &len))
		return;
	/* the trust directory of earlier versions: its bundle still bounds
	 * the sequence (the store is the rollback state from now on) */
	if (k->cfg.trust_dir[0] && !sn_fed_bundle_parse(body, len, &b, NULL)) {
		snprintf(path, sizeof(path), "%s/%s.json", k->cfg.trust_dir,
			 b->domain);
		if (!stat(path, &sb) && sn_fed_bundle_load(path, &last, NULL)) {
			sn_err("trust directory: %s does not parse: inspect "
			       "it; bundles of domain %s are refused until "
			       "then",
			       path, b->domain);
			kbs_refuse(k, req, 503, "bundle-import", b->domain,
				   "trust-dir-corrupt", NULL,
				   "the stored bundle of domain %s is corrupt",
				   b->domain);
			goto out;
		}
		if (last && strcmp(b->domain, k->cfg.domain) &&
		    (last->sequence > b->sequence ||
		     (last->sequence == b->sequence &&
		      memcmp(last->digest, b->digest, sizeof(b->digest))))) {
			kbs_refuse(k, req, 403, "bundle-import", b->domain,
				   "rollback", NULL,
				   "bundle of domain %s, sequence %llu is "
				   "older than the one in the trust directory "
				   "(%llu)",
				   b->domain, (unsigned long long)b->sequence,
				   (unsigned long long)last->sequence);
			goto out;
		}
	}
	err = kbs_fed_accept(k, NULL, body, len, actor, "bundle-import", &v);
	if (err) {
		kbs_refuse(k, req,
			   err == -EINVAL ? 400 :
			   err == -EPERM  ? 403 :
					    503,
			   "bundle-import", v.domain[0] ? v.domain : NULL,
			   v.code[0] ? v.code : "internal", NULL, "%s",
			   v.msg[0] ? v.msg : "store error");
		goto out;
	}
	/* also in the trust directory, for tools reading it */
	snprintf(path, sizeof(path), "%s/%s.json", k->cfg.trust_dir, v.domain);
	if (k->cfg.trust_dir[0] &&
	    ((mkdir(k->cfg.trust_dir, 0755) && errno != EEXIST) ||
	     write_atomic(path, body, len)))
		sn_err("trust directory: cannot write %s (the bundle is "
		       "stored in the database)",
		       path);
	o = json_pack("{s:s,s:I,s:I,s:b}", "domain", v.domain, "sequence",
		      (json_int_t)v.sequence, "not_after",
		      (json_int_t)v.not_after, "withdrawn", v.withdrawn);
	ans = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	kbs_reply(req, ans ? 200 : 503, ans ? ans : "{\"error\":\"internal\"}");
out:
	free(ans);
	free(body);
	sn_fed_bundle_free(last);
	sn_fed_bundle_free(b);
}
