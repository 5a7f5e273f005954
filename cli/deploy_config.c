// SPDX-License-Identifier: Apache-2.0
/* sealnet deploy: node configurations (the node-local members and the
 * "workflow" member; sealnetd runs the manifest copy next to them),
 * --emit, the sim platform, --print-measurements (docs/deploy.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sealnet/util.h"
#include "deploy_run.h"
#include "workflow.h"
#include "unit_hardening.h" /* generated: dist/meson.build */

void dp_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* ---- the node-local configuration ------------------------------------ */

/* The manifest and its signature envelope as deploy verified them: the
 * bytes every node's copy gets (the manifest is parsed again from these
 * bytes and must have the verified digest: a file changed between the
 * check and the copy is refused). */
int dp_read_manifest(const struct sn_workflow *wf, const char *mpath,
		     const char *spath, char **manifest, char **sigs)
{
	uint8_t *mb = NULL, *sb = NULL;
	size_t ml = 0, sl = 0;
	struct sn_workflow *again = NULL;
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	char *m = NULL, *sg = NULL;
	int err;

	if (!d)
		return -ENOMEM;
	err = sn_read_file(mpath, SN_WF_MAX_BYTES, &mb, &ml);
	if (!err && spath)
		err = sn_read_file(spath, SN_WF_MAX_BYTES, &sb, &sl);
	if (err) {
		fprintf(stderr, "sealnet deploy: cannot read %s: %s\n",
			sb || !spath || !mb ? mpath : spath, strerror(-err));
		goto out;
	}
	if (memchr(mb, 0, ml) || (sb && memchr(sb, 0, sl))) {
		fprintf(stderr,
			"sealnet deploy: %s or %s holds a NUL byte: not a "
			"JSON text deploy can copy\n",
			mpath, spath ? spath : "its envelope");
		err = -EINVAL;
		goto out;
	}
	err = sn_workflow_parse((const char *)mb, ml, &again, d);
	if (err || memcmp(again->digest, wf->digest, SN_WF_DIGEST_LEN)) {
		fprintf(stderr,
			"sealnet deploy: %s changed while deploy read it: "
			"run deploy again\n",
			mpath);
		err = -EAGAIN;
		goto out;
	}
	err = -ENOMEM;
	m = strndup((const char *)mb, ml);
	sg = sb ? strndup((const char *)sb, sl) : NULL;
	if (m && (!sb || sg)) {
		*manifest = m;
		*sigs = sg;
		m = sg = NULL;
		err = 0;
	}
	free(m);
	free(sg);
out:
	sn_workflow_free(again);
	free(mb);
	free(sb);
	free(d);
	return err;
}

/* Check that node i compiles with its local members (sealnetd compiles it
 * again at its start, from the manifest copy), then write into dir:
 * sealnetd.json (local members + the "workflow" member), and, unless
 * manifest is NULL (--print-measurements: a draft, not run), the
 * manifest and signature envelope sealnetd runs from.  Files are
 * replaced atomically. */
int dp_write_node(const struct sn_workflow *wf, size_t i, const char *dir,
		  const char *local, const char *manifest, const char *sigs,
		  int *exit_code)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	struct sn_wf_compiled *cc = NULL;
	json_t *lo = NULL;
	char p[DP_PATH_MAX + 32], *check = NULL;
	int err = -ENOMEM;

	*exit_code = WF_EXIT_FAIL;
	if (!d)
		return -ENOMEM;
	/* the members sealnetd merges into the compiled policy */
	lo = json_loads(local, 0, NULL);
	if (!lo || json_object_del(lo, "workflow") ||
	    !(check = json_dumps(lo, JSON_COMPACT)))
		goto out;
	err = sn_workflow_compile_node(wf, wf->nodes[i].name, check, &cc, d);
	if (err) {
		wf_print_diag(wf->nodes[i].name, d);
		*exit_code = err == -E2BIG ? WF_EXIT_INVALID : WF_EXIT_FAIL;
		goto out;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		fprintf(stderr, "sealnet deploy: cannot create %s: %s\n", dir,
			strerror(errno));
		goto out;
	}
	if (manifest) {
		snprintf(p, sizeof(p), "%s/" DP_MANIFEST, dir);
		err = wf_write_file(p, manifest, 0600);
		snprintf(p, sizeof(p), "%s/" DP_SIGS, dir);
		if (!err)
			err = wf_write_file(p, sigs, 0600);
		if (err)
			goto io;
	}
	snprintf(p, sizeof(p), "%s/sealnetd.json", dir);
	err = wf_write_file(p, local, 0600);
io:
	if (err) {
		fprintf(stderr, "sealnet deploy: cannot write %s\n", p);
		err = -EIO;
	}
out:
	if (!err)
		*exit_code = 0;
	free(check);
	json_decref(lo);
	sn_wf_compiled_free(cc);
	free(d);
	return err;
}

/* the node-local file: what only this machine knows, and which manifest
 * (relative to the file: the copy next to it) and node it runs */
char *dp_local_json(const char *node, const char *iface, const char *sock,
		    const char *state, const char *platform, bool sim)
{
	json_t *o;
	char *s;

	o = json_pack("{s:{s:s, s:s, s:s}, s:s, s:s, s:s}", "workflow",
		      "manifest", DP_MANIFEST, "signatures", DP_SIGS, "node",
		      node, "interface", iface, "control_socket", sock,
		      "state_dir", state);
	/* a real TEE needs nothing local in "make" */
	if (o && sim &&
	    json_object_set_new(o, "make",
				json_pack("{s:s}", "sim_platform", platform))) {
		json_decref(o);
		o = NULL;
	}
	s = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

/* ---- --emit: files for real machines ---------------------------------- */

int dp_do_emit(const struct sn_workflow *wf, const char *out,
	       const char *prefix, const char *sealnetd_path,
	       const char *manifest, const char *sigs)
{
	int code = 0;

	if (mkdir(out, 0700) && errno != EEXIST) {
		fprintf(stderr, "sealnet deploy: cannot create %s: %s\n", out,
			strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < wf->n_nodes; i++) {
		const char *nm = wf->nodes[i].name;
		char dir[DP_PATH_MAX], unit[DP_PATH_MAX + 32], *loc,
			*text = NULL;
		int err;

		snprintf(dir, sizeof(dir), "%s/%s", out, nm);
		loc = dp_local_json(nm, "eth0", "/run/sealnet/sealnetd.sock",
				    "/var/lib/sealnet",
				    "/var/lib/sealnet/platform",
				    wf->nodes[i].tee == SN_WF_TEE_SIM);
		if (!loc)
			return 1;
		err = dp_write_node(wf, i, dir, loc, manifest, sigs, &code);
		free(loc);
		if (err)
			return code ? code : 1;
		if (asprintf(&text,
			     "# sealnetd of node %s, workflow %s v%llu "
			     "(sealnet deploy --emit)\n"
			     "# install: sealnetd.json, " DP_MANIFEST
			     " and " DP_SIGS " in %s\n"
			     "# (mode 0600, root); set \"interface\" in "
			     "sealnetd.json to the interface\n"
			     "# with the address of node %s\n"
			     "[Unit]\nDescription=sealnet node agent (%s)\n"
			     "After=network-online.target\n"
			     "Wants=network-online.target\n\n"
			     "[Service]\nType=simple\n"
			     "ExecStart=%s --config %s/sealnetd.json\n"
			     "ExecReload=/bin/kill -HUP $MAINPID\n"
			     "KillSignal=SIGTERM\nRestart=on-failure\n"
			     "RestartSec=2\n"
			     /* the paths of dp_local_json's state_dir and
			      * control_socket */
			     "StateDirectory=sealnet\n"
			     "StateDirectoryMode=0700\n"
			     "RuntimeDirectory=sealnet\n"
			     "RuntimeDirectoryMode=0750\n"
			     /* dist/systemd/hardening.conf */
			     SN_UNIT_HARDENING "\n"
			     "[Install]\nWantedBy=multi-user.target\n",
			     nm, wf->name, (unsigned long long)wf->version,
			     prefix, nm, nm, sealnetd_path, prefix) < 0)
			return 1;
		snprintf(unit, sizeof(unit), "%s/sealnetd.service", dir);
		err = wf_write_file(unit, text, 0644);
		free(text);
		if (err)
			return 1;
		printf("%s: %s/{sealnetd.json," DP_MANIFEST "," DP_SIGS
		       ",sealnetd.service}\n",
		       nm, dir);
	}
	printf("%zu nodes emitted; nothing started\n", wf->n_nodes);
	return 0;
}

/* ---- the local cluster ------------------------------------------------ */

int dp_ark_hash(const char *platform, char out[65])
{
	char p[DP_PATH_MAX + 16];
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	FILE *f;
	X509 *x;
	int n;

	snprintf(p, sizeof(p), "%s/ark.pem", platform);
	f = fopen(p, "r");
	if (!f)
		return -errno;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return -EINVAL;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	X509_free(x);
	if (n <= 0 ||
	    !EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) {
		OPENSSL_free(der);
		return -EINVAL;
	}
	OPENSSL_free(der);
	dp_hex(md, 32, out);
	return 0;
}

void dp_find_sealnetd(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *env = getenv("SEALNETD");

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return;
	}
	if (n > 0) {
		self[n] = 0;
		char *sl = strrchr(self, '/');

		if (sl) {
			*sl = 0;
			snprintf(out, cap, "%s/sealnetd", self);
			if (!access(out, X_OK))
				return;
			snprintf(out, cap, "%s/../daemon/sealnetd", self);
			if (!access(out, X_OK))
				return;
		}
	}
	snprintf(out, cap, "sealnetd");
}

int dp_ensure_dir(const char *d)
{
	if (mkdir(d, 0700) && errno != EEXIST) {
		fprintf(stderr, "sealnet deploy: cannot create %s: %s\n", d,
			strerror(errno));
		return -1;
	}
	return 0;
}

int dp_ensure_platform(const char *platform)
{
	char p[DP_PATH_MAX + 16], self[PATH_MAX];
	ssize_t n;

	snprintf(p, sizeof(p), "%s/ark.pem", platform);
	if (!access(p, F_OK))
		return 0;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = 0;
	char *argv[] = {self, "sim-tee", "init", (char *)platform, NULL};

	if (dp_run(argv, NULL)) {
		fprintf(stderr,
			"sealnet deploy: sealnet sim-tee init %s failed\n",
			platform);
		return -1;
	}
	return 0;
}

int dp_measure_all(struct run *r, const char *sealnetd, const char *ark)
{
	struct sn_workflow *wf = r->wf;

	json_t *o = json_pack("{s:s, s:{}}", "ark_spki_sha256", ark,
			      "measurements");

	for (size_t i = 0; i < wf->n_nodes; i++) {
		char cfg[DP_PATH_MAX + 32], out[256];
		char *argv[] = {(char *)sealnetd, "--print-measurement",
				"--config", cfg, NULL};

		snprintf(cfg, sizeof(cfg), "%s/sealnetd.json",
			 r->c.nodes[i].dir);
		if (dp_run_capture(argv, NULL, out, sizeof(out))) {
			fprintf(stderr,
				"sealnet deploy: %s "
				"--print-measurement "
				"--config %s failed\n",
				sealnetd, cfg);
			json_decref(o);
			return 1;
		}
		out[strcspn(out, "\n")] = 0;
		json_object_set_new(json_object_get(o, "measurements"),
				    r->c.nodes[i].name, json_string(out));
	}
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("\n");
	json_decref(o);
	return 0;
}
