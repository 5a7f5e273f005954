// SPDX-License-Identifier: Apache-2.0
/* cluster_cp --kbs: see cluster_kbs.h.  A bench: it exits on set-up
 * errors with what failed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "sealnet/evidence.h"
#include "sealnet/kbs.h"
#include "sealnet/make.h"
#include "sealnet/util.h"
#include "cluster_kbs.h"

#define CKBS_SERVER "127.0.0.1:8443"

SSL_CTX **ckbs_ctx;
char **ckbs_token;

static char dir[64];
static pid_t kbs_pid;
static char policy[1024];
static const char *plat;
static const uint8_t *meas48;
static struct sn_kbs_client_opts admin;
static char ca_path[128], admin_cert[128], admin_key[128];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void die(const char *what, const char *why)
{
	char cmd[128];

	fprintf(stderr, "cluster_cp --kbs: %s: %s\n", what, why);
	if (kbs_pid > 0) {
		kill(kbs_pid, SIGTERM);
		waitpid(kbs_pid, NULL, 0);
	}
	if (dir[0] && !getenv("CLUSTER_CP_KEEP")) { /* keep: the KBS's log */
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "cluster_cp --kbs: cannot remove %s\n",
				dir);
	} else if (dir[0]) {
		fprintf(stderr, "cluster_cp --kbs: kept %s\n", dir);
	}
	exit(1);
}

double ckbs_kbs_cpu(void)
{
	char p[64], buf[1024], *s;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)kbs_pid);
	f = fopen(p, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	s = strrchr(buf, ')'); /* after the command name: state is field 3 */
	if (!s || sscanf(s + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu",
			 &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void node_files(size_t i, char *cert, char *key)
{
	snprintf(cert, 128, "%s/n%zu.pem", dir, i);
	snprintf(key, 128, "%s/n%zu.key", dir, i);
}

/* node i's TLS key: a new self-signed P-256 SSL_CTX (sealnetd's), also
 * written as PEM files for its KBS client */
static void node_key(size_t i)
{
	char cert[128], key[128];
	FILE *fc, *fk;
	int err = sn_make_tls_ctx_new(&ckbs_ctx[i]);

	if (err)
		die("node TLS key", strerror(-err));
	node_files(i, cert, key);
	fc = fopen(cert, "w");
	fk = fopen(key, "w");
	if (!fc || !fk ||
	    PEM_write_X509(fc, SSL_CTX_get0_certificate(ckbs_ctx[i])) != 1 ||
	    PEM_write_PrivateKey(fk, SSL_CTX_get0_privatekey(ckbs_ctx[i]), NULL,
				 NULL, 0, NULL, NULL) != 1)
		die(cert, "cannot write the node's certificate and key");
	fclose(fc);
	fclose(fk);
}

static void write_file(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		die(p, "cannot write");
}

/* SHA-256 of the SPKI of ctx's certificate (what a node is enrolled with) */
static int ctx_spki(SSL_CTX *ctx, uint8_t out[SN_SHA256_LEN])
{
	X509 *c = SSL_CTX_get0_certificate(ctx);
	unsigned char *der = NULL;
	int n = c ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der) : -1;

	if (n <= 0)
		return -EINVAL;
	SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

int ckbs_setup(const struct sn_workflow *wf, const char *kbs, const char *pki,
	       const char *platform, const uint8_t meas[48],
	       struct sn_kbs_signer **keys, size_t cap, size_t *n_keys)
{
	char cmd[1024], cfg[1024], hex[65], mhex[97], p[128];
	struct sn_kbs_response r = {0};
	uint8_t h[SN_SHA256_LEN];
	int err, fd;

	plat = platform;
	meas48 = meas;
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET): a network namespace of our own",
		    strerror(errno));
	if (system("ip link set lo up"))
		die("ip link set lo up", "failed (iproute2 installed?)");
	snprintf(dir, sizeof(dir), "/tmp/cluster_cp_kbs-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp", strerror(errno));
	snprintf(cmd, sizeof(cmd),
		 "bash -c 'set -e; T=%s; . %s; kbs_pki 127.0.0.1'", dir, pki);
	if (system(cmd))
		die(pki, "cannot make the KBS's certificates (openssl)");
	err = sn_sim_ark_spki(platform, h);
	if (err)
		die(platform, strerror(-err));
	sn_hex_encode(h, sizeof(h), hex);
	sn_hex_encode(meas, 48, mhex);
	snprintf(policy, sizeof(policy),
		 "{\"backends\":[\"sim\"],\"sim_ark_spki_sha256\":[\"%s\"],"
		 "\"measurements\":[\"%s\"]}",
		 hex, mhex);
	snprintf(
		cfg, sizeof(cfg),
		"{\"listen\":\"" CKBS_SERVER "\",\"domain\":\"d\","
		"\"database\":\"%s/kbs.db\",\"tls_cert\":\"%s/server.pem\","
		"\"tls_key\":\"%s/server.key\",\"admin_ca\":\"%s/adminca.pem\","
		"\"token_key\":\"%s/token.key\",\"max_challenges\":100000}\n",
		dir, dir, dir, dir, dir);
	write_file("kbs.json", cfg);
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", dir);
	snprintf(admin_cert, sizeof(admin_cert), "%s/admin.pem", dir);
	snprintf(admin_key, sizeof(admin_key), "%s/admin.key", dir);
	admin = (struct sn_kbs_client_opts){.server = CKBS_SERVER,
					    .ca = ca_path,
					    .cert = admin_cert,
					    .key = admin_key};
	snprintf(p, sizeof(p), "%s/kbs.json", dir);
	kbs_pid = fork();
	if (kbs_pid < 0)
		die("fork", strerror(errno));
	if (kbs_pid == 0) {
		char log[128];

		snprintf(log, sizeof(log), "%s/kbs.log", dir);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* the bench died */
		execl(kbs, kbs, "--config", p, (char *)NULL);
		fprintf(stderr, "cluster_cp --kbs: cannot run %s: %s\n", kbs,
			strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		struct timespec ts = {0, 50 * 1000000L};
		int st;

		if (waitpid(kbs_pid, &st, WNOHANG) == kbs_pid) {
			kbs_pid = 0;
			die(kbs,
			    "the KBS exited at start (its log: kbs.log "
			    "in the temp dir; CLUSTER_CP_KEEP=1 keeps it)");
		}
		if (!sn_kbs_request(&admin, "GET", "/keys", NULL, NULL, 0,
				    &r) &&
		    r.status == 200)
			break;
		sn_kbs_response_clear(&r);
		nanosleep(&ts, NULL);
	}
	if (r.status != 200)
		die(kbs, "the KBS does not answer GET /keys (its log: kbs.log "
			 "in the temp dir; CLUSTER_CP_KEEP=1 keeps it)");
	err = sn_kbs_jwks_parse(r.body, r.len, keys, cap, n_keys);
	sn_kbs_response_clear(&r);
	if (err)
		die("GET /keys", "not a JWKS");
	ckbs_ctx = calloc(wf->n_nodes, sizeof(*ckbs_ctx));
	ckbs_token = calloc(wf->n_nodes, sizeof(*ckbs_token));
	if (!ckbs_ctx || !ckbs_token)
		die("setup", "out of memory");
	for (size_t i = 0; i < wf->n_nodes; i++)
		node_key(i);
	return 0;
}

/* POST body (a JSON object, stolen) on c; dies unless 200 */
static void admin_post(struct sn_kbs_conn *c, const char *target, json_t *o)
{
	struct sn_kbs_response r = {0};
	char *body = json_dumps(o, JSON_COMPACT);
	int err;

	json_decref(o);
	if (!body)
		die(target, "out of memory");
	err = sn_kbs_conn_request(c, "POST", target, NULL, body, strlen(body),
				  &r);
	if (err || r.status != 200) {
		fprintf(stderr, "cluster_cp --kbs: POST %s %s: %d %s\n", target,
			body, r.status, r.body ? r.body : strerror(-err));
		die(target, "refused");
	}
	free(body);
	sn_kbs_response_clear(&r);
}

int ckbs_enrol(const struct sn_workflow *wf, struct ckbs_phase *out)
{
	double t0 = now_s(), c0 = self_cpu(), k0 = ckbs_kbs_cpu();
	struct sn_kbs_conn *c = NULL;
	json_t *pol = json_loads(policy, 0, NULL);

	if (!pol || sn_kbs_conn_open(&admin, &c))
		die("admin connection", "cannot open");
	for (size_t s = 0; s < wf->n_stages; s++)
		admin_post(c, "/admin/reference",
			   json_pack("{s:s, s:O}", "stage", wf->stages[s].name,
				     "policy", pol));
	for (size_t s = 0; s < wf->n_stages; s++)
		for (size_t j = 0; j < wf->stages[s].n_nodes; j++) {
			size_t i = wf->stages[s].nodes[j];
			uint8_t spki[SN_SHA256_LEN];
			char hex[65];

			if (ctx_spki(ckbs_ctx[i], spki))
				die(wf->nodes[i].name, "no SPKI");
			sn_hex_encode(spki, sizeof(spki), hex);
			admin_post(c, "/admin/enrol",
				   json_pack("{s:s, s:s, s:s}", "node",
					     wf->nodes[i].name, "stage",
					     wf->stages[s].name, "spki_sha256",
					     hex));
			out->n++;
		}
	sn_kbs_conn_close(c);
	json_decref(pol);
	out->ok = out->n;
	out->wall_s = now_s() - t0;
	out->cpu_s = self_cpu() - c0;
	out->kbs_cpu_s = ckbs_kbs_cpu() - k0;
	return 0;
}

static const struct sn_workflow *att_wf;
static atomic_size_t att_next, att_ok;

static int evidence(void *arg, const uint8_t rd[SN_REPORT_DATA_LEN],
		    struct sn_evidence **ev)
{
	(void)arg;
	return sn_evidence_produce_ev(SN_TEE_SIM, plat, rd, meas48, NULL, ev);
}

static void *attester(void *arg)
{
	size_t i;

	(void)arg;
	while ((i = atomic_fetch_add(&att_next, 1)) < att_wf->n_nodes) {
		struct sn_kbs_attest_result r = {0};
		char cert[128], key[128], why[320];
		uint8_t priv[32], rek[32];
		struct sn_kbs_client_opts o = {.server = CKBS_SERVER,
					       .ca = ca_path,
					       .cert = cert,
					       .key = key};
		int err;

		node_files(i, cert, key);
		err = sn_kbs_x25519_keygen(priv, rek);
		OPENSSL_cleanse(priv, sizeof(priv));
		if (!err)
			err = sn_kbs_attest(&o, att_wf->nodes[i].name, rek,
					    NULL, evidence, NULL, &r, why,
					    sizeof(why));
		else
			snprintf(why, sizeof(why), "x25519 keygen");
		if (err) {
			fprintf(stderr, "cluster_cp --kbs: attest %s: %s\n",
				att_wf->nodes[i].name, why);
			continue;
		}
		ckbs_token[i] = r.token;
		atomic_fetch_add(&att_ok, 1);
	}
	return NULL;
}

int ckbs_attest(const struct sn_workflow *wf, int clients,
		struct ckbs_phase *out)
{
	double t0 = now_s(), c0 = self_cpu(), k0 = ckbs_kbs_cpu();
	pthread_t t[256];

	att_wf = wf;
	for (int i = 0; i < clients; i++)
		if (pthread_create(&t[i], NULL, attester, NULL))
			die("pthread_create", "failed");
	for (int i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	out->n = wf->n_nodes;
	out->ok = atomic_load(&att_ok);
	out->wall_s = now_s() - t0;
	out->cpu_s = self_cpu() - c0;
	out->kbs_cpu_s = ckbs_kbs_cpu() - k0;
	return out->ok == out->n ? 0 : -EACCES;
}

void ckbs_teardown(const struct sn_workflow *wf)
{
	char cmd[128];
	int st;

	if (kbs_pid > 0) {
		kill(kbs_pid, SIGTERM);
		waitpid(kbs_pid, &st, 0);
		kbs_pid = 0;
	}
	for (size_t i = 0; ckbs_ctx && i < wf->n_nodes; i++) {
		SSL_CTX_free(ckbs_ctx[i]);
		free(ckbs_token[i]);
	}
	free(ckbs_ctx);
	free(ckbs_token);
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "cluster_cp --kbs: cannot remove %s\n",
				dir);
	}
}
