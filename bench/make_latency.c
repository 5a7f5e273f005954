// SPDX-License-Identifier: Apache-2.0
/*
 * make_latency: latency and CPU of one MAKE (docs/protocol.md) between
 * two in-process sealnetd control planes, beside a plain TLS 1.3
 * handshake measured in the same run.  Not a test: figures only.
 *
 *   make_latency [-n N] [-k REKEYS] [-w WARMUP] [-v]
 *
 *   N        operations per kind (default 30)
 *   REKEYS   MAKE rekeys to time (default N; 0 skips them)
 *   WARMUP   untimed operations of each kind first (default 2)
 *   -v       library log at debug level on stderr
 *
 * Setup, not measured: a sim platform (ARK -> ASK -> VCEK, RSA-4096 and
 * P-384 keys) in a temp dir, an appraisal policy naming its ARK and one
 * measurement, one shared SSL_CTX from sn_make_tls_ctx_new(), one
 * event_base.
 *
 * Operations, all over an AF_UNIX socketpair, both ends in this process
 * and on this event_base (so every figure is the cost of the PAIR: both
 * sides' crypto runs on this one thread):
 *
 *   tls     two bufferevent_openssl sockets (connecting / accepting, same
 *           options as session.c) on the shared SSL_CTX, from
 *           socketpair() until both reported BEV_EVENT_CONNECTED.  TLS 1.3
 *           with X25519 and a P-256 certificate on each side (mutual),
 *           no resumption.
 *   make    two sn_make_sessions, from socketpair() until both on_keys
 *           (epoch 1) fired: TLS handshake, HELLO, EVIDENCE both ways
 *           (sim evidence made on demand), appraisal of the peer's
 *           evidence, VERDICT, key export.  make_ready: the same run,
 *           until both on_ready fired (KEYS_READY received).
 *   make_xdomain_token, make_xdomain_evidence
 *           the two nodes in two domains of one manifest (make_fed.c):
 *           HELLO v3 with the workflow binding (docs/protocol.md §3.2),
 *           keys bound to it; token: each side's token checked with the
 *           peer domain's trust bundle, the manifest's claims and
 *           reference values (sn_fed_token_appraise); evidence: raw
 *           evidence both ways against the manifest's references.
 *   rekey   on one established MAKE pair, sn_make_session_rekey() on the
 *           client until both on_rekey fired (rekey_ready: both on_ready).
 *   evidence, appraise: the two attestation steps alone, outside any
 *           session (one side's share; a MAKE does each twice): evidence
 *           over report_data binding a fixed channel binding and the log,
 *           appraised as a session does (sn_appraise_bound()).
 *
 * The pair of sessions is the unit tests' fixture, tests/unit/make/pair.h.
 *
 * tls and make alternate (one of each per iteration) so that noise from
 * other work on the machine hits both alike.  Wall time: CLOCK_MONOTONIC
 * per operation, median and p90 (nearest rank).  CPU: getrusage
 * (RUSAGE_SELF) user + sys summed over the N operations of a kind and
 * divided by N; that includes creating and freeing the pair, and the loop
 * always runs on to KEYS_READY (both on_ready), so make and make_ready
 * (rekey and rekey_ready) differ in wall time only.
 *
 * Output: JSON lines ("{...}") and a table ("# ..."), on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "sealnet/evidence.h"
#include "sealnet/log.h"
#include "sealnet/make.h"
#include "sealnet/util.h"

#include "make_fed.h"
#include "pair.h" /* tests/unit/make: the socketpair MAKE fixture */

#define OP_TIMEOUT_S 30

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "make_latency: %s: %s\n", what,
		err ? strerror(-err) : "failed");
	exit(1);
}

/* --- samples ------------------------------------------------------------ */

struct series {
	const char *op;
	double *wall;	/* us per operation */
	double cpu_sum; /* us, over all operations */
	int n;
};

static void series_init(struct series *s, const char *op, int cap)
{
	s->op = op;
	s->wall = calloc(cap ? cap : 1, sizeof(double));
	s->cpu_sum = 0;
	s->n = 0;
	if (!s->wall)
		die("calloc", -ENOMEM);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* nearest rank; v sorted */
static double p90(const double *v, int n)
{
	int r = (9 * n + 9) / 10; /* ceil(0.9 n) */

	return v[r > 0 ? r - 1 : 0];
}

struct stats {
	double med, p90, min, cpu;
};

static struct stats summarize(struct series *s)
{
	struct stats st = {0};

	if (!s->n)
		return st;
	st.med = median(s->wall, s->n);
	st.p90 = p90(s->wall, s->n);
	st.min = s->wall[0];
	st.cpu = s->cpu_sum / s->n;
	printf("{\"bench\":\"make\",\"op\":\"%s\",\"n\":%d,"
	       "\"wall_median_us\":%.1f,\"wall_p90_us\":%.1f,"
	       "\"wall_min_us\":%.1f,\"cpu_us_per_op\":%.1f}\n",
	       s->op, s->n, st.med, st.p90, st.min, st.cpu);
	return st;
}

/* --- one operation's state ------------------------------------------------- */

static struct pair_node sides[2];
static double t_start, t_keys, t_ready;

/* pair_env.progress: the clock of an operation (both sides at the epoch
 * being established) */
static void progress(void)
{
	double t = now_us();
	uint16_t want = sides[0].want_epoch;

	if (!t_keys && sides[0].key_epoch >= want && sides[1].key_epoch >= want)
		t_keys = t;
	if (!t_ready && sides[0].ready_epoch >= want &&
	    sides[1].ready_epoch >= want)
		t_ready = t;
}

/* the next operation establishes epoch want */
static void reset(uint16_t want)
{
	for (int i = 0; i < 2; i++) {
		sides[i].want_epoch = want;
		sides[i].n_fail = 0;
		if (want == 1)
			sides[i].key_epoch = sides[i].ready_epoch = 0;
	}
	t_keys = t_ready = 0;
}

/* Run the loop until both sides are ready or one failed. */
static void run(const char *what)
{
	int err = pair_run(&sides[0], &sides[1], OP_TIMEOUT_S);

	for (int i = 0; i < 2 && !err; i++)
		if (sides[i].n_fail) {
			fprintf(stderr, "make_latency: %s failed: %s: %s\n",
				what, sides[i].name, sides[i].reason);
			exit(1);
		}
	if (err) {
		fprintf(stderr,
			"make_latency: %s failed: no result after "
			"%d s\n",
			what, OP_TIMEOUT_S);
		exit(1);
	}
}

/* wall time of this operation into keys / ready, CPU since c0 */
static void record(struct series *keys, struct series *ready, double c0)
{
	double cpu = cpu_us() - c0;

	if (keys) {
		keys->wall[keys->n++] = t_keys - t_start;
		keys->cpu_sum += cpu;
	}
	if (ready) {
		ready->wall[ready->n++] = t_ready - t_start;
		ready->cpu_sum += cpu;
	}
}

/* --- plain TLS -------------------------------------------------------------- */

static void tls_event(struct bufferevent *bev, short what, void *arg)
{
	struct pair_node *sd = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* like MAKE: a TLS 1.3 session with a peer certificate */
		SSL *ssl = bufferevent_openssl_get_ssl(bev);

		if (SSL_version(ssl) != TLS1_3_VERSION ||
		    !SSL_get0_peer_certificate(ssl)) {
			sd->n_fail++;
			snprintf(sd->reason, sizeof(sd->reason),
				 "not TLS 1.3 or no peer certificate");
		}
		/* the tls op's "keys" and "ready" are the handshake's end */
		sd->key_epoch = sd->ready_epoch = 1;
		pair_check();
		return;
	}
	sd->n_fail++;
	snprintf(sd->reason, sizeof(sd->reason), "TLS event 0x%x", what);
	pair_check();
}

static struct bufferevent *tls_bev(int fd, bool client, struct pair_node *sd)
{
	struct bufferevent *bev = pair_tls_bev(fd, client);

	if (!bev)
		die("TLS bufferevent", -ENOMEM);
	bufferevent_setcb(bev, NULL, NULL, tls_event, sd);
	if (bufferevent_enable(bev, EV_READ | EV_WRITE))
		die("bufferevent_enable", -EIO);
	return bev;
}

static void op_tls(struct series *s)
{
	struct bufferevent *bev[2];
	double c0 = cpu_us();
	int sv[2];

	reset(1);
	t_start = now_us();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair", -errno);
	bev[0] = tls_bev(sv[0], true, &sides[0]);
	bev[1] = tls_bev(sv[1], false, &sides[1]);
	run("TLS handshake");
	bufferevent_free(bev[0]);
	bufferevent_free(bev[1]);
	if (s) {
		s->wall[s->n++] = t_keys - t_start;
		s->cpu_sum += cpu_us() - c0;
	}
}

/* --- MAKE -------------------------------------------------------------------- */

/* One MAKE; the pair is left established when keep. */
static void op_make(struct series *keys, struct series *ready, bool keep)
{
	double c0 = cpu_us();
	int err;

	reset(1);
	t_start = now_us();
	err = pair_start(&sides[0], &sides[1]);
	if (err)
		die("MAKE pair", err);
	run("MAKE");
	if (!keep) {
		sn_make_session_free(sides[0].s);
		sn_make_session_free(sides[1].s);
		sides[0].s = sides[1].s = NULL;
	}
	record(keys, ready, c0);
}

/* --- MAKE in token mode ------------------------------------------------------ */

/* each side's own TLS key and a KBS token bound to it (SN_KBS_TOKEN_ALG, setup) */
static SSL_CTX *tok_ctx[2];
static char *tok_str[2];
static struct sn_kbs_signer *tok_kbs;

static void token_setup(void)
{
	uint8_t spki[SN_SHA256_LEN];
	char *jwks = NULL;
	int err = pair_token_key(&tok_kbs);

	for (int i = 0; i < 2 && !err; i++) {
		err = sn_make_tls_ctx_new(&tok_ctx[i]);
		if (!err)
			err = pair_ctx_spki(tok_ctx[i], spki);
		if (!err)
			err = pair_token_make(tok_kbs, sides[i].name, spki,
					      pair_env.meas, time(NULL), 3600,
					      &tok_str[i]);
	}
	if (!err)
		err = sn_kbs_jwks_json(tok_kbs, &jwks);
	if (!err)
		err = sn_kbs_jwks_parse(jwks, strlen(jwks), pair_tok.keys, 4,
					&pair_tok.n_keys);
	free(jwks);
	if (err)
		die("token setup (token key, TLS keys, tokens, JWKS)", err);
}

static void token_cleanup(void)
{
	for (int i = 0; i < 2; i++) {
		SSL_CTX_free(tok_ctx[i]);
		free(tok_str[i]);
	}
	for (size_t i = 0; i < pair_tok.n_keys; i++)
		sn_kbs_signer_free(pair_tok.keys[i]);
	sn_kbs_signer_free(tok_kbs);
}

/* One MAKE where each side presents its token and accepts only a token
 * (no evidence produced or appraised): TLS, HELLO v2, TOKEN both ways,
 * token checks (ECDSA signature, cnf, sub), VERDICT, keys. */
static void op_make_token(struct series *keys, struct series *ready)
{
	double c0;

	for (int i = 0; i < 2; i++) {
		sides[i].accept = SN_MAKE_ACCEPT_TOKEN;
		sides[i].token = tok_str[i];
		sides[i].ctx = tok_ctx[i];
	}
	c0 = cpu_us();
	reset(1);
	t_start = now_us();
	if (pair_start(&sides[0], &sides[1]))
		die("MAKE pair (token)", -EIO);
	run("MAKE (token)");
	sn_make_session_free(sides[0].s);
	sn_make_session_free(sides[1].s);
	sides[0].s = sides[1].s = NULL;
	record(keys, ready, c0);
	for (int i = 0; i < 2; i++) {
		sides[i].accept = 0;
		sides[i].token = NULL;
		sides[i].ctx = NULL;
	}
}

/* --- cross-domain MAKE (docs/protocol.md §3.2) ---------------------------- */

static struct fed_bench *fedb;

static int fed_verify(void *arg, const char *tok, size_t len,
		      const uint8_t spki[SN_SHA256_LEN], uint32_t peer_id,
		      const char *peer_name, enum sn_make_accept accept,
		      struct sn_appraisal *out)
{
	return fed_bench_verify(fedb, tok, len, spki, peer_id, peer_name, out);
}

static void fed_setup(void)
{
	uint8_t ark[32], spki[2][32];
	const char *names[2] = {sides[0].name, sides[1].name};
	int err = sn_sim_ark_spki(pair_env.platform, ark);

	for (int i = 0; i < 2 && !err; i++)
		err = pair_ctx_spki(tok_ctx[i], spki[i]);
	if (!err)
		err = fed_bench_setup(pair_env.meas, ark, names,
				      (const uint8_t(*)[32])spki, &fedb);
	if (err)
		die("cross-domain setup (manifest, bundles, tokens)", err);
}

/* One MAKE between nodes of two domains, bound to the manifest and both
 * domains (HELLO v3, bound keys).  token: each side presents its
 * domain's token and checks the peer's with the peer domain's bundle
 * and the manifest's reference values (sn_fed_token_appraise);
 * otherwise evidence both ways, appraised against the manifest's
 * reference values (the policy). */
static void op_make_fed(struct series *keys, struct series *ready, bool token)
{
	double c0;

	for (int i = 0; i < 2; i++) {
		sides[i].bind = fed_bench_bind(fedb);
		if (token) {
			sides[i].accept = SN_MAKE_ACCEPT_TOKEN;
			sides[i].token = fed_bench_token(fedb, i);
			sides[i].ctx = tok_ctx[i];
			sides[i].verify = fed_verify;
		}
	}
	c0 = cpu_us();
	reset(1);
	t_start = now_us();
	if (pair_start(&sides[0], &sides[1]))
		die("MAKE pair (cross-domain)", -EIO);
	run(token ? "MAKE (cross-domain token)" :
		    "MAKE (cross-domain evidence)");
	sn_make_session_free(sides[0].s);
	sn_make_session_free(sides[1].s);
	sides[0].s = sides[1].s = NULL;
	record(keys, ready, c0);
	for (int i = 0; i < 2; i++) {
		sides[i].bind = NULL;
		sides[i].accept = 0;
		sides[i].token = NULL;
		sides[i].ctx = NULL;
		sides[i].verify = NULL;
	}
}

static void op_rekey(struct series *keys, struct series *ready)
{
	double c0 = cpu_us();
	int err;

	reset(sn_make_session_epoch(sides[0].s) + 1);
	t_start = now_us();
	err = sn_make_session_rekey(sides[0].s);
	if (err)
		die("sn_make_session_rekey", err);
	run("rekey");
	record(keys, ready, c0);
}

/* --- the attestation steps alone ------------------------------------------- */

/* the channel binding the evidence of op_evidence is bound to */
static const uint8_t bench_cb[SN_MAKE_CB_LEN] = {0x5a};

static void op_evidence(struct series *s, uint8_t **wire, size_t *len)
{
	uint8_t rd[SN_REPORT_DATA_LEN];
	double c0 = cpu_us(), t0 = now_us();
	int err;

	free(*wire);
	*wire = NULL;
	/* as session.c: report_data binds the channel and our log */
	err = sn_report_data_binding(bench_cb, sizeof(bench_cb),
				     sides[0].mlog.digest, rd);
	if (!err)
		err = pair_ev_provider(&sides[0], rd, wire, len);
	if (err)
		die("sim evidence", err);
	if (s) {
		s->wall[s->n++] = now_us() - t0;
		s->cpu_sum += cpu_us() - c0;
	}
}

/* what a session does with the peer's EVIDENCE (appraise_peer.c) */
static void op_appraise(struct series *s, const uint8_t *wire, size_t len)
{
	const struct sn_appraise_binding b = {
		.channel_binding = bench_cb,
		.cb_len = sizeof(bench_cb),
	};
	struct sn_appraisal *a = calloc(1, sizeof(*a));
	double c0 = cpu_us(), t0 = now_us();
	int err;

	if (!a)
		die("calloc", -ENOMEM);
	err = sn_appraise_bound(wire, len, pair_env.policy, 0, &b, a);
	if (err)
		die("appraisal", err);
	if (!a->accepted)
		die("appraisal: evidence not accepted", 0);
	free(a);
	if (s) {
		s->wall[s->n++] = now_us() - t0;
		s->cpu_sum += cpu_us() - c0;
	}
}

/* --- setup ------------------------------------------------------------------ */

static void setup(void)
{
	int err = pair_env_init("sealnet-make-bench");

	if (err)
		die("sim platform, policy, TLS context", err);
	pair_env.progress = progress;
	err = pair_node_init(&sides[0], "bench-a", 1, 2, pair_env.meas);
	if (!err)
		err = pair_node_init(&sides[1], "bench-b", 2, 1, pair_env.meas);
	if (err)
		die("sn_mlog_extend_data", err);
}

static void cleanup(void)
{
	pair_node_free(&sides[0]);
	pair_node_free(&sides[1]);
	if (pair_env_free())
		fprintf(stderr, "make_latency: %s not removed: %s\n",
			pair_env.tmpdir, strerror(errno));
}

/* --- main --------------------------------------------------------------------- */

static int parse_count(const char *s, int min)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > 100000) {
		fprintf(stderr, "make_latency: bad count '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

static void row(const char *label, const struct stats *st)
{
	printf("# %-28s %10.0f %10.0f %10.0f\n", label, st->med, st->p90,
	       st->cpu);
}

int main(int argc, char **argv)
{
	struct series tls, make, make_ready, rekey, rekey_ready, evid, appr;
	struct series mtok, mtok_ready, xtok, xev;
	struct stats s_tls, s_make, s_ready, s_rk = {0}, s_rkr = {0}, s_ev,
					     s_ap, s_tok, s_tokr, s_xtok, s_xev;
	int n = 30, n_rekey = -1, warm = 2, c;
	uint8_t *wire = NULL;
	size_t wire_len = 0;
	double t0;

	while ((c = getopt(argc, argv, "n:k:w:v")) != -1) {
		switch (c) {
		case 'n':
			n = parse_count(optarg, 1);
			break;
		case 'k':
			n_rekey = parse_count(optarg, 0);
			break;
		case 'w':
			warm = parse_count(optarg, 0);
			break;
		case 'v':
			sn_log_set(sn_log_stderr, NULL);
			sn_log_set_level(SN_LOG_DEBUG);
			break;
		default:
			fprintf(stderr,
				"usage: make_latency [-n N] [-k REKEYS] "
				"[-w WARMUP] [-v]\n");
			return 2;
		}
	}
	if (n_rekey < 0)
		n_rekey = n;
	/* a peer closing must not kill the process (make.h) */
	signal(SIGPIPE, SIG_IGN);

	t0 = now_us();
	setup();
	printf("# sim platform created in %.1f s (not measured)\n",
	       (now_us() - t0) / 1e6);
	printf("# %s, %s\n", OpenSSL_version(OPENSSL_VERSION),
	       event_get_version() ? event_get_version() : "libevent");
	fflush(stdout);

	series_init(&tls, "tls", n);
	series_init(&make, "make", n);
	series_init(&make_ready, "make_ready", n);
	series_init(&rekey, "rekey", n_rekey);
	series_init(&rekey_ready, "rekey_ready", n_rekey);
	series_init(&evid, "evidence", n);
	series_init(&appr, "appraise", n);
	series_init(&mtok, "make_token", n);
	series_init(&mtok_ready, "make_token_ready", n);
	series_init(&xtok, "make_xdomain_token", n);
	series_init(&xev, "make_xdomain_evidence", n);
	token_setup();
	fed_setup();

	for (int i = 0; i < warm; i++) {
		op_tls(NULL);
		op_make(NULL, NULL, false);
		op_make_token(NULL, NULL);
		op_make_fed(NULL, NULL, true);
		op_make_fed(NULL, NULL, false);
		op_evidence(NULL, &wire, &wire_len);
		op_appraise(NULL, wire, wire_len);
	}
	/* alternate: both kinds see the same machine */
	for (int i = 0; i < n; i++) {
		op_tls(&tls);
		op_make(&make, NULL, false);
		op_make_token(&mtok, NULL);
		op_make_fed(&xtok, NULL, true);
		op_make_fed(&xev, NULL, false);
	}
	for (int i = 0; i < n; i++)
		op_make_token(NULL, &mtok_ready);
	/* make_ready separately (its CPU would otherwise double-count) */
	for (int i = 0; i < n; i++)
		op_make(NULL, &make_ready, false);
	for (int i = 0; i < n; i++) {
		op_evidence(&evid, &wire, &wire_len);
		op_appraise(&appr, wire, wire_len);
	}
	if (n_rekey) {
		op_make(NULL, NULL, true);
		for (int i = 0; i < warm; i++)
			op_rekey(NULL, NULL);
		for (int i = 0; i < n_rekey; i++)
			op_rekey(&rekey, NULL);
		for (int i = 0; i < n_rekey; i++)
			op_rekey(NULL, &rekey_ready);
		sn_make_session_free(sides[0].s);
		sn_make_session_free(sides[1].s);
		sides[0].s = sides[1].s = NULL;
	}
	free(wire);

	s_tls = summarize(&tls);
	s_make = summarize(&make);
	s_ready = summarize(&make_ready);
	if (n_rekey) {
		s_rk = summarize(&rekey);
		s_rkr = summarize(&rekey_ready);
	}
	s_ev = summarize(&evid);
	s_ap = summarize(&appr);
	s_tok = summarize(&mtok);
	s_tokr = summarize(&mtok_ready);
	s_xtok = summarize(&xtok);
	s_xev = summarize(&xev);
	printf("{\"bench\":\"make\",\"op\":\"ratio_xdomain_token_tls\","
	       "\"n\":%d,\"wall_median\":%.2f,\"cpu\":%.2f}\n",
	       n, s_xtok.med / s_tls.med, s_xtok.cpu / s_tls.cpu);
	printf("{\"bench\":\"make\",\"op\":\"ratio_xdomain_evidence_tls\","
	       "\"n\":%d,\"wall_median\":%.2f,\"cpu\":%.2f}\n",
	       n, s_xev.med / s_tls.med, s_xev.cpu / s_tls.cpu);
	printf("{\"bench\":\"make\",\"op\":\"ratio_make_token_tls\","
	       "\"n\":%d,\"wall_median\":%.2f,\"cpu\":%.2f}\n",
	       n, s_tok.med / s_tls.med, s_tok.cpu / s_tls.cpu);
	printf("{\"bench\":\"make\",\"op\":\"ratio_make_tls\",\"n\":%d,"
	       "\"wall_median\":%.2f,\"cpu\":%.2f}\n",
	       n, s_make.med / s_tls.med, s_make.cpu / s_tls.cpu);

	printf("# MAKE latency, sim backend, both peers in one process on "
	       "one event loop (CPU = the pair)\n");
	printf("# %-28s %10s %10s %10s\n", "operation (N)", "median us",
	       "p90 us", "CPU us/op");
	row("TLS 1.3 handshake", &s_tls);
	row("MAKE to keys (both on_keys)", &s_make);
	row("MAKE to ready (KEYS_READY)", &s_ready);
	row("token MAKE to keys", &s_tok);
	row("token MAKE to ready", &s_tokr);
	row("cross-domain token MAKE", &s_xtok);
	row("cross-domain evidence MAKE", &s_xev);
	if (n_rekey) {
		row("rekey to keys", &s_rk);
		row("rekey to ready", &s_rkr);
	}
	row("sim evidence (one side)", &s_ev);
	row("appraisal (one side)", &s_ap);
	printf("# MAKE / TLS: %.1fx wall (median), %.1fx CPU; "
	       "N = %d, rekeys = %d, warm-up = %d\n",
	       s_make.med / s_tls.med, s_make.cpu / s_tls.cpu, n, n_rekey,
	       warm);
	printf("# token MAKE / TLS: %.2fx wall (median), %.2fx CPU "
	       "(" SN_KBS_TOKEN_ALG " tokens, P-256 TLS keys)\n",
	       s_tok.med / s_tls.med, s_tok.cpu / s_tls.cpu);
	printf("# cross-domain MAKE / TLS: token %.2fx wall (median), %.2fx "
	       "CPU; evidence %.2fx wall, %.2fx CPU\n",
	       s_xtok.med / s_tls.med, s_xtok.cpu / s_tls.cpu,
	       s_xev.med / s_tls.med, s_xev.cpu / s_tls.cpu);

	free(tls.wall);
	free(make.wall);
	free(make_ready.wall);
	free(rekey.wall);
	free(rekey_ready.wall);
	free(evid.wall);
	free(appr.wall);
	free(mtok.wall);
	free(mtok_ready.wall);
	free(xtok.wall);
	free(xev.wall);
	fed_bench_free(fedb);
	token_cleanup();
	cleanup();
	return 0;
}
