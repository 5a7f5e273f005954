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
 *   rekey   on one established MAKE pair, sn_make_session_rekey() on the
 *           client until both on_rekey fired (rekey_ready: both on_ready).
 *   evidence, appraise: the two attestation steps alone, outside any
 *           session (one side's share; a MAKE does each twice).
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

#define OP_TIMEOUT_S 30

static char tmpdir[64], platform[96];
static uint8_t meas[SN_MEASUREMENT_LEN];
static struct sn_policy_appraisal *policy;
static SSL_CTX *tls_ctx;
static struct event_base *base;

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

struct side {
	struct sn_make_session *s;
	struct bufferevent *bev; /* tls op */
	struct sn_mlog mlog;
	const char *name;
	uint32_t id, peer;
	bool keys, ready, connected;
	uint16_t key_epoch, ready_epoch;
};

static struct side sides[2];
static double t_start, t_keys, t_ready;
static uint16_t want_epoch; /* the epoch being established */
static int failed;
static char fail_reason[512];

static void check(void)
{
	double t = now_us();

	if (!t_keys && sides[0].keys && sides[1].keys)
		t_keys = t;
	if (!t_ready && sides[0].ready && sides[1].ready)
		t_ready = t;
	if (t_ready || failed)
		event_base_loopbreak(base);
}

static void on_keys(void *arg, uint32_t peer, uint16_t epoch,
		    const uint8_t tx[SN_MAKE_KEY_LEN],
		    const uint8_t rx[SN_MAKE_KEY_LEN])
{
	struct side *sd = arg;

	if (epoch == want_epoch)
		sd->keys = true;
	sd->key_epoch = epoch;
	check();
}

static void on_ready(void *arg, uint32_t peer, uint16_t epoch)
{
	struct side *sd = arg;

	if (epoch == want_epoch)
		sd->ready = true;
	sd->ready_epoch = epoch;
	check();
}

static void on_fail(void *arg, uint32_t peer, int err, const char *reason)
{
	struct side *sd = arg;

	failed = err ? err : -EIO;
	snprintf(fail_reason, sizeof(fail_reason), "%s: %s", sd->name,
		 reason);
	check();
}

static int ev_provider(void *arg, const uint8_t rd[SN_REPORT_DATA_LEN],
		       uint8_t **out, size_t *len)
{
	struct side *sd = arg;

	return sn_evidence_produce(SN_TEE_SIM, platform, rd, meas, &sd->mlog,
				   out, len);
}

static int mlog_digest(void *arg, uint8_t out[SN_SHA384_LEN])
{
	struct side *sd = arg;

	memcpy(out, sd->mlog.digest, SN_SHA384_LEN);
	return 0;
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	failed = -ETIMEDOUT;
	snprintf(fail_reason, sizeof(fail_reason), "no result after %d s",
		 OP_TIMEOUT_S);
	event_base_loopbreak(base);
}

static void reset(void)
{
	for (int i = 0; i < 2; i++) {
		sides[i].keys = sides[i].ready = sides[i].connected = false;
		sides[i].key_epoch = sides[i].ready_epoch = 0;
	}
	t_keys = t_ready = 0;
	failed = 0;
	fail_reason[0] = '\0';
}

/* Run the loop until check() or a failure ends it. */
static void run(const char *what)
{
	struct timeval tv = {.tv_sec = OP_TIMEOUT_S};
	struct event *t = evtimer_new(base, timeout_cb, NULL);

	if (!t)
		die("evtimer_new", -ENOMEM);
	evtimer_add(t, &tv);
	if (!t_ready && !failed)
		event_base_dispatch(base);
	event_free(t);
	if (failed) {
		fprintf(stderr, "make_latency: %s failed: %s\n", what,
			fail_reason);
		exit(1);
	}
}

/* --- plain TLS -------------------------------------------------------------- */

static void tls_event(struct bufferevent *bev, short what, void *arg)
{
	struct side *sd = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* like MAKE: a TLS 1.3 session with a peer certificate */
		SSL *ssl = bufferevent_openssl_get_ssl(bev);

		if (SSL_version(ssl) != TLS1_3_VERSION ||
		    !SSL_get0_peer_certificate(ssl)) {
			failed = -EPROTO;
			snprintf(fail_reason, sizeof(fail_reason),
				 "%s: not TLS 1.3 or no peer certificate",
				 sd->name);
		}
		sd->connected = true;
		/* the tls op's "keys" and "ready" are the handshake's end */
		sd->keys = sd->ready = true;
		check();
		return;
	}
	failed = -EIO;
	snprintf(fail_reason, sizeof(fail_reason), "%s: TLS event 0x%x",
		 sd->name, what);
	check();
}

static struct bufferevent *tls_bev(int fd, bool client, struct side *sd)
{
	SSL *ssl = SSL_new(tls_ctx);
	struct bufferevent *bev;

	if (!ssl || evutil_make_socket_nonblocking(fd))
		die("SSL_new", -ENOMEM);
	bev = bufferevent_openssl_socket_new(
		base, fd, ssl,
		client ? BUFFEREVENT_SSL_CONNECTING
		       : BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev)
		die("bufferevent_openssl_socket_new", -ENOMEM);
	bufferevent_setcb(bev, NULL, NULL, tls_event, sd);
	if (bufferevent_enable(bev, EV_READ | EV_WRITE))
		die("bufferevent_enable", -EIO);
	return bev;
}

static void op_tls(struct series *s)
{
	double c0 = cpu_us(), t;
	int sv[2];

	reset();
	want_epoch = 1;
	t_start = now_us();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair", -errno);
	sides[0].bev = tls_bev(sv[0], true, &sides[0]);
	sides[1].bev = tls_bev(sv[1], false, &sides[1]);
	run("TLS handshake");
	t = t_keys - t_start;
	bufferevent_free(sides[0].bev);
	bufferevent_free(sides[1].bev);
	sides[0].bev = sides[1].bev = NULL;
	if (s) {
		s->wall[s->n++] = t;
		s->cpu_sum += cpu_us() - c0;
	}
}

/* --- MAKE -------------------------------------------------------------------- */

static void make_start(struct side *sd, int fd, bool client)
{
	struct sn_make_params p = {
		.node_id = sd->id,
		.node_name = sd->name,
		.peer_id = sd->peer,
		.policy = policy,
		.evidence = ev_provider,
		.mlog_digest = mlog_digest,
		.evidence_arg = sd,
		.tls_ctx = tls_ctx,
	};
	struct sn_make_callbacks cb = {
		.on_keys = on_keys,
		.on_rekey = on_keys,
		.on_ready = on_ready,
		.on_fail = on_fail,
		.arg = sd,
	};
	int err = sn_make_session_new(base, fd, client, &p, &cb, &sd->s);

	if (err)
		die("sn_make_session_new", err);
}

/* One MAKE; the pair is left established when keep. */
static void op_make(struct series *keys, struct series *ready, bool keep)
{
	double c0 = cpu_us();
	int sv[2];

	reset();
	want_epoch = 1;
	t_start = now_us();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair", -errno);
	make_start(&sides[0], sv[0], true);
	make_start(&sides[1], sv[1], false);
	run("MAKE");
	if (keys)
		keys->wall[keys->n++] = t_keys - t_start;
	if (ready)
		ready->wall[ready->n++] = t_ready - t_start;
	if (keep)
		return;
	sn_make_session_free(sides[0].s);
	sn_make_session_free(sides[1].s);
	sides[0].s = sides[1].s = NULL;
	if (keys)
		keys->cpu_sum += cpu_us() - c0;
	if (ready)
		ready->cpu_sum += cpu_us() - c0;
}

static void op_rekey(struct series *keys, struct series *ready)
{
	double c0 = cpu_us();
	int err;

	reset();
	want_epoch = sn_make_session_epoch(sides[0].s) + 1;
	t_start = now_us();
	err = sn_make_session_rekey(sides[0].s);
	if (err)
		die("sn_make_session_rekey", err);
	run("rekey");
	if (keys) {
		keys->wall[keys->n++] = t_keys - t_start;
		keys->cpu_sum += cpu_us() - c0;
	}
	if (ready) {
		ready->wall[ready->n++] = t_ready - t_start;
		ready->cpu_sum += cpu_us() - c0;
	}
}

/* --- the attestation steps alone ------------------------------------------- */

static void op_evidence(struct series *s, uint8_t **wire, size_t *len)
{
	uint8_t rd[SN_REPORT_DATA_LEN];
	double c0 = cpu_us(), t0 = now_us();
	int err;

	memset(rd, 0x5a, sizeof(rd));
	free(*wire);
	*wire = NULL;
	err = ev_provider(&sides[0], rd, wire, len);
	if (err)
		die("sim evidence", err);
	if (s) {
		s->wall[s->n++] = now_us() - t0;
		s->cpu_sum += cpu_us() - c0;
	}
}

/* what session.c's appraise() does, less the report_data comparison */
static void op_appraise(struct series *s, const uint8_t *wire, size_t len)
{
	struct sn_appraisal *a = calloc(1, sizeof(*a));
	struct sn_evidence *ev = NULL;
	double c0 = cpu_us(), t0 = now_us();
	struct sn_mlog log;
	int err;

	if (!a)
		die("calloc", -ENOMEM);
	err = sn_evidence_parse(wire, len, &ev);
	if (!err && ev->mlog) {
		err = sn_mlog_parse(ev->mlog, ev->mlog_len, &log);
		if (!err)
			sn_mlog_free(&log);
	}
	if (!err)
		err = sn_appraise(ev, policy, 0, a);
	if (err)
		die("appraisal", err);
	if (!a->accepted)
		die("appraisal: evidence not accepted", 0);
	sn_evidence_free(ev);
	free(a);
	if (s) {
		s->wall[s->n++] = now_us() - t0;
		s->cpu_sum += cpu_us() - c0;
	}
}

/* --- setup ------------------------------------------------------------------ */

static void side_init(struct side *sd, const char *name, uint32_t id,
		      uint32_t peer)
{
	int err;

	memset(sd, 0, sizeof(*sd));
	sd->name = name;
	sd->id = id;
	sd->peer = peer;
	sn_mlog_init(&sd->mlog);
	err = sn_mlog_extend_data(&sd->mlog, SN_MLOG_BPF_OBJECT,
				  "sealnet.bpf.o", name, strlen(name));
	if (err)
		die("sn_mlog_extend_data", err);
}

static void setup(void)
{
	char tmpl[] = "/tmp/sealnet-make-bench-XXXXXX";
	char hex[2 * SN_SHA256_LEN + 1], mhex[2 * SN_MEASUREMENT_LEN + 1];
	char json[1024];
	uint8_t h[SN_SHA256_LEN];
	int err;

	if (!mkdtemp(tmpl))
		die("mkdtemp", -errno);
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	snprintf(platform, sizeof(platform), "%s/plat", tmpl);
	err = sn_sim_platform_init(platform);
	if (!err)
		err = sn_sim_ark_spki(platform, h);
	if (err)
		die("sim platform", err);
	memset(meas, 0x11, sizeof(meas));
	sn_hex_encode(h, sizeof(h), hex);
	sn_hex_encode(meas, sizeof(meas), mhex);
	snprintf(json, sizeof(json),
		 "{\"backends\": [\"sim\"], \"sim_ark_spki_sha256\": "
		 "[\"%s\"], \"measurements\": [\"%s\"]}",
		 hex, mhex);
	err = sn_policy_appraisal_parse(json, strlen(json), &policy);
	if (err)
		die("policy", err);
	err = sn_make_tls_ctx_new(&tls_ctx);
	if (err)
		die("sn_make_tls_ctx_new", err);
	base = event_base_new();
	if (!base)
		die("event_base_new", -ENOMEM);
	side_init(&sides[0], "bench-a", 1, 2);
	side_init(&sides[1], "bench-b", 2, 1);
}

static void cleanup(void)
{
	static const char *const files[] = {
		"ark.pem", "ask.pem", "vcek.pem", "ark.key",
		"ask.key", "vcek.key", "chip_id",
	};
	char path[160];

	sn_mlog_free(&sides[0].mlog);
	sn_mlog_free(&sides[1].mlog);
	event_base_free(base);
	SSL_CTX_free(tls_ctx);
	sn_policy_appraisal_free(policy);
	/* the platform's files, then the dirs; anything unknown stays (and
	 * is reported by the failing rmdir) */
	for (size_t i = 0; i < SN_ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", platform, files[i]);
		unlink(path);
	}
	if (rmdir(platform) || rmdir(tmpdir))
		fprintf(stderr, "make_latency: %s not removed: %s\n", tmpdir,
			strerror(errno));
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
	struct stats s_tls, s_make, s_ready, s_rk = {0}, s_rkr = {0}, s_ev,
							 s_ap;
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

	for (int i = 0; i < warm; i++) {
		op_tls(NULL);
		op_make(NULL, NULL, false);
		op_evidence(NULL, &wire, &wire_len);
		op_appraise(NULL, wire, wire_len);
	}
	/* alternate: both kinds see the same machine */
	for (int i = 0; i < n; i++) {
		op_tls(&tls);
		op_make(&make, NULL, false);
	}
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

	free(tls.wall);
	free(make.wall);
	free(make_ready.wall);
	free(rekey.wall);
	free(rekey_ready.wall);
	free(evid.wall);
	free(appr.wall);
	cleanup();
	return 0;
}
