// SPDX-License-Identifier: Apache-2.0
/* sealnet deploy: node configurations (compiled from the manifest, with
 * the node-local members and one merged appraisal policy), --emit, the
 * sim platform, --print-measurements (docs/deploy.md). */
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

#include "deploy_run.h"
#include "workflow.h"

void dp_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* ---- the node-local configuration ------------------------------------ */

/* One appraisal policy from a node's per-peer policies (sealnetd applies
 * one to all peers): the union of backends, measurements and simulated
 * ARKs; every other member must agree. */
int dp_merge_policies(const struct sn_wf_compiled *cc, const char *node,
		      char **out)
{
	static const char *const lists[] = {"backends", "measurements",
					    "sim_ark_spki_sha256"};
	json_t *base = NULL;
	int err = 0;

	for (size_t i = 0; i < cc->n_policies; i++) {
		json_t *p = json_loads(cc->policies[i].policy_json, 0, NULL);
		const char *k;
		json_t *v;

		if (!p) {
			err = -EINVAL;
			break;
		}
		json_object_del(p, "comment");
		if (!base) {
			base = p;
			continue;
		}
		json_object_foreach(p, k, v)
		{
			bool is_list = false;

			for (size_t l = 0; l < 3; l++)
				is_list |= !strcmp(k, lists[l]);
			json_t *bv = json_object_get(base, k);

			if (is_list && json_is_array(v)) {
				size_t j;
				json_t *x;

				if (!bv) {
					json_object_set(base, k, v);
					continue;
				}
				json_array_foreach(v, j, x)
				{
					size_t m;
					json_t *y;
					bool have = false;

					json_array_foreach(bv, m, y) have |=
						json_equal(x, y);
					if (!have)
						json_array_append(bv, x);
				}
			} else if (!bv || !json_equal(bv, v)) {
				fprintf(stderr,
					"sealnet deploy: node %s: its peers' "
					"appraisal policies differ in '%s'; "
					"sealnetd applies one policy to all "
					"peers: give their stages the same "
					"reference values\n",
					node, k);
				err = -EINVAL;
			}
		}
		json_decref(p);
	}
	if (!err && !base) /* no peers: accept nothing */
		base = json_pack(
			"{s:[s], s:[s], s:[s]}", "backends", "sim",
			"measurements",
			"000000000000000000000000000000000000000000000"
			"000000000000000000000000000000000000000000000"
			"000000",
			"sim_ark_spki_sha256",
			"0000000000000000000000000000000000000000000000"
			"000000000000000000");
	if (!err) {
		*out = json_dumps(base, JSON_INDENT(2) | JSON_SORT_KEYS);
		err = *out ? 0 : -ENOMEM;
	}
	json_decref(base);
	return err;
}

/* compile node i with its local members; write sealnetd.json and
 * policy.json into dir (files unchanged when their content is) */
int dp_write_node(const struct sn_workflow *wf, size_t i, const char *dir,
		  const char *local, int *exit_code)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	struct sn_wf_compiled *cc = NULL;
	char p[DP_PATH_MAX + 32], *pol = NULL;
	int err;

	if (!d)
		return -ENOMEM;
	err = sn_workflow_compile_node(wf, wf->nodes[i].name, local, &cc, d);
	if (err) {
		wf_print_diag(wf->nodes[i].name, d);
		*exit_code = err == -E2BIG ? WF_EXIT_INVALID : WF_EXIT_FAIL;
		goto out;
	}
	err = dp_merge_policies(cc, wf->nodes[i].name, &pol);
	if (err) {
		*exit_code = WF_EXIT_INVALID;
		goto out;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		fprintf(stderr, "sealnet deploy: cannot create %s: %s\n", dir,
			strerror(errno));
		*exit_code = WF_EXIT_FAIL;
		goto out;
	}
	snprintf(p, sizeof(p), "%s/sealnetd.json", dir);
	err = wf_write_file(p, cc->config_json, 0600);
	snprintf(p, sizeof(p), "%s/policy.json", dir);
	if (!err)
		err = wf_write_file(p, pol, 0600);
	if (err) {
		*exit_code = WF_EXIT_FAIL;
		err = -EIO;
	}
out:
	free(pol);
	sn_wf_compiled_free(cc);
	free(d);
	return err;
}

char *dp_local_json(const char *iface, const char *sock, const char *state,
		    const char *platform, const char *policy, bool sim)
{
	json_t *make = json_pack("{s:s}", "appraisal_policy", policy);
	json_t *o;
	char *s;

	if (sim)
		json_object_set_new(make, "sim_platform",
				    json_string(platform));
	o = json_pack("{s:s, s:s, s:s, s:o}", "interface", iface,
		      "control_socket", sock, "state_dir", state, "make", make);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* ---- --emit: files for real machines ---------------------------------- */

int dp_do_emit(const struct sn_workflow *wf, const char *out,
	       const char *prefix, const char *sealnetd_path)
{
	int code = 0;

	if (mkdir(out, 0700) && errno != EEXIST) {
		fprintf(stderr, "sealnet deploy: cannot create %s: %s\n", out,
			strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < wf->n_nodes; i++) {
		const char *nm = wf->nodes[i].name;
		char dir[DP_PATH_MAX], pol[DP_PATH_MAX + 32],
			unit[DP_PATH_MAX + 32], *loc, *text = NULL;
		int err;

		snprintf(dir, sizeof(dir), "%s/%s", out, nm);
		snprintf(pol, sizeof(pol), "%s/policy.json", prefix);
		loc = dp_local_json("eth0", "/run/sealnet/sealnetd.sock",
				    "/var/lib/sealnet",
				    "/var/lib/sealnet/platform", pol,
				    wf->nodes[i].tee == SN_WF_TEE_SIM);
		if (!loc)
			return 1;
		err = dp_write_node(wf, i, dir, loc, &code);
		free(loc);
		if (err)
			return code ? code : 1;
		if (asprintf(&text,
			     "# sealnetd of node %s, workflow %s v%llu "
			     "(sealnet deploy --emit)\n"
			     "# install: %s/sealnetd.json and policy.json "
			     "(mode 0600, root);\n"
			     "# set \"interface\" in sealnetd.json to the "
			     "interface with address of node %s\n"
			     "[Unit]\nDescription=sealnet node agent (%s)\n"
			     "After=network-online.target\n"
			     "Wants=network-online.target\n\n"
			     "[Service]\nType=simple\n"
			     "ExecStart=%s --config %s/sealnetd.json\n"
			     "KillSignal=SIGTERM\nRestart=on-failure\n"
			     "RestartSec=2\n\n"
			     "[Install]\nWantedBy=multi-user.target\n",
			     nm, wf->name, (unsigned long long)wf->version,
			     prefix, nm, nm, sealnetd_path, prefix) < 0)
			return 1;
		snprintf(unit, sizeof(unit), "%s/sealnetd.service", dir);
		err = wf_write_file(unit, text, 0644);
		free(text);
		if (err)
			return 1;
		printf("%s: %s/{sealnetd.json,policy.json,sealnetd.service}\n",
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
