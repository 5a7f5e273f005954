// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd: the node agent.
 *
 * Start-up order (fail closed: nothing is attached unless every step
 * before the attach succeeded):
 *   1. parse and check the configuration (errors name the field);
 *   2. run the kernel AEAD known-answer self-test: refuse to start if the
 *      kernel's ChaCha20-Poly1305 disagrees with OpenSSL;
 *   3. load and attach the data plane, install peers, rules and (static
 *      mode) keys, each static epoch reserved in state_dir before use;
 *   4. serve the control socket and forward drop events until SIGINT or
 *      SIGTERM, then detach and restore the interface.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <jansson.h>

#include "sealnet/log.h"
#include "sealnet/selftest.h"
#include "sealnet/util.h"
#include "sealnet/engine.h"
#include "sealnetd.h"
#include "static_keys.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealnetd --config FILE [--check | --print-measurement | --down]\n"
		"                [--quiet-drops] [-v]\n"
		"       sealnetd --workflow MANIFEST [--signatures SIGFILE] --node NAME\n"
		"                [--config LOCAL] [same options]\n"
		"\n"
		"The sealnet node agent. Loads the data plane (TC programs) on the\n"
		"configured interface, installs peers, policy rules and keys, serves\n"
		"the control socket (`sealnet status`, `sealnet monitor`) and runs in\n"
		"the foreground until SIGINT or SIGTERM.  Then, by default\n"
		"(\"on_stop\": \"drop\"), it fails closed: the data plane stays\n"
		"attached with every key wiped, so traffic to and from the peers is\n"
		"dropped, never sent in clear, until sealnetd starts again; with\n"
		"\"on_stop\": \"detach\" it detaches everything and restores the\n"
		"interface.\n"
		"\n"
		"  -c, --config FILE   node configuration (JSON; docs/sealnetd.md); with\n"
		"                      a manifest: only the node-local members\n"
		"                      (interface, control_socket, state_dir,\n"
		"                      make.sim_platform, metrics_listen...), or a\n"
		"                      \"workflow\" member naming the manifest\n"
		"  -w, --workflow FILE run from a signed workflow manifest\n"
		"                      (docs/workflow.md): every domain's signature is\n"
		"                      verified, this node's policy compiled from it;\n"
		"                      any error stops the start; SIGHUP loads a newer\n"
		"                      signed version of the same file\n"
		"      --signatures FILE  the signature envelope (default: MANIFEST\n"
		"                      with .json replaced by .sig.json)\n"
		"  -n, --node NAME     which of the manifest's nodes this is\n"
		"      --check         parse and check the configuration, then exit\n"
		"      --down          remove a stopped node's data plane from the\n"
		"                      configured interface and restore it (clsact,\n"
		"                      gso_max_segs, host routes to the peers); run\n"
		"                      it only with sealnetd stopped\n"
		"      --print-measurement  print the launch measurement the sim TEE\n"
		"                      reports for this binary, BPF object and config\n"
		"                      (with --workflow or a \"workflow\" member: the\n"
		"                      local file; the manifest is not read)\n"
		"      --selftest-cache DIR|off  where a pass of the kernel AEAD\n"
		"                      self-test is recorded; a start within 600 s\n"
		"                      of a pass on the same boot, kernel and BPF\n"
		"                      objects uses it instead of running the test\n"
		"                      (default: $SEALNET_SELFTEST_CACHE, else\n"
		"                      /run/sealnet/selftest); off: run it at\n"
		"                      every start (docs/sealnetd.md)\n"
		"      --quiet-drops   do not print each drop event on stderr\n"
		"  -v, --verbose       debug logging\n"
		"  -h, --help          this text\n"
		"      --version       print the version\n"
		"\n"
		"Exit status: 0 clean shutdown, 1 runtime failure (self-test, load,\n"
		"attach), 2 bad usage or bad configuration.\n");
}

/* --down: take a stopped node's data plane off the interface.  Ours is
 * loaded without attaching, the peers' host routes recorded, then it
 * replaces whatever sealnet filters are there and is detached with them,
 * restoring clsact, gso_max_segs and the routes. */
static int sn_down(struct sn_node_config *cfg)
{
	struct sn_dp_opts o = cfg->dp;
	struct sn_dataplane *dp;
	int err, prev = sn_dp_previous_attached(cfg->ifname);

	o.defer_attach = true;
	err = sn_dp_open(&o, &dp);
	if (err) {
		sn_err("--down: cannot open the data plane on %s: %s",
		       cfg->ifname, strerror(-err));
		return 1;
	}
	for (size_t i = 0; i < cfg->n_peers && !err; i++)
		err = sn_dp_add_peer(dp, cfg->peers[i].id, cfg->peers[i].addr);
	if (!err)
		err = sn_dp_attach(dp);
	sn_dp_close(dp);
	if (err) {
		sn_err("--down: restoring %s failed: %s", cfg->ifname,
		       strerror(-err));
		return 1;
	}
	printf("sealnetd: %s restored (%s): no sealnet filter, clsact "
	       "removed, gso_max_segs and routes to %zu peers restored\n",
	       cfg->ifname,
	       prev > 0 ? "a stopped data plane was attached" :
			  "nothing of sealnet was attached",
	       cfg->n_peers);
	return 0;
}

static void selftest_fail(const char *name, int tc_id, const char *why,
			  void *arg)
{
	sn_err("kernel AEAD self-test: %s: %s", name, why);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sealnetd *d = arg;

	if (sig == SIGHUP) {
		if (d->wfd)
			sn_wfd_reload(d);
		else
			sn_reload(d);
		return;
	}
	sn_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(d->base);
}

void sn_on_drop(const struct sn_event *ev, void *arg)
{
	struct sealnetd *d = arg;
	char s[INET_ADDRSTRLEN], t[INET_ADDRSTRLEN];
	json_t *j;

	inet_ntop(AF_INET, &ev->saddr, s, sizeof(s));
	inet_ntop(AF_INET, &ev->daddr, t, sizeof(t));
	if (d->log_drops)
		sn_info("drop %s (%s): %s %s:%u -> %s:%u proto %u peer %u%s",
			sn_drop_name(ev->reason), sn_drop_text(ev->reason),
			ev->dir ? "in" : "out", s, ev->sport, t, ev->dport,
			ev->proto, ev->peer,
			ev->suppressed ? " (+ suppressed events)" : "");
	if (!sn_control_event_encode(&(struct sn_control_event){
		    .kind = SN_CONTROL_EV_DROP, .ts_ns = ev->ts_ns,
		    .reason = sn_drop_name(ev->reason),
		    .text = sn_drop_text(ev->reason), .ingress = ev->dir,
		    .src = s, .dst = t,
		    .sport = ev->sport, .dport = ev->dport, .proto = ev->proto,
		    .peer_id = ev->peer, .suppressed = ev->suppressed }, &j)) {
		sn_ctl_broadcast(d, j);
		json_decref(j);
	}
}

static void on_events(evutil_socket_t fd, short what, void *arg)
{
	struct sealnetd *d = arg;

	sn_dp_events_consume(d->dp, sn_on_drop, d);
}

/* Fail closed: every configured peer stays known to the data plane (so
 * its traffic is never taken for unprotected traffic) and has no key. */
static void revoke_all(struct sealnetd *d)
{
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_peer_config *p = &d->cfg->peers[i];

		sn_dp_add_peer(d->dp, p->id, p->addr);
		if (p->has_addr6)
			sn_dp_add_peer6(d->dp, p->id, p->addr6);
		sn_dp_revoke_peer(d->dp, p->id);
	}
}

/* The watchdog, once a second: the data plane must be the measured one
 * and only that (sn_dp_check_attached: sealnet's filters with the
 * measured programs, nothing else on the interface's clsact, tcx, netkit
 * or XDP hooks, the maps sealnetd writes unchanged).  On a difference,
 * fail closed: every peer's keys are revoked, MAKE sessions end and new
 * ones are refused, the measurement log records it, and the node reports
 * itself TAMPERED.  From then on each tick puts sealnet's programs back,
 * removes whatever else is attached and revokes the keys again. */
static void on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct sealnetd *d = arg;
	struct timespec t0, t1;
	char why[512];
	json_t *j;
	int err;

	if (!sn_dp_is_attached(d->dp)) {
		sn_deferred_attach(d); /* after a restart, once peers settled */
		return;
	}
	if (d->tampered) {
		sn_dp_enforce(d->dp);
		revoke_all(d);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = sn_dp_check_attached(d->dp, why, sizeof(why));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	d->watch_tick_us = (t1.tv_sec - t0.tv_sec) * 1000000L +
			   (t1.tv_nsec - t0.tv_nsec) / 1000;
	if (err != -EPERM)
		return; /* 0, or the kernel could not be asked (logged) */
	d->tampered = 1;
	snprintf(d->tamper_reason, sizeof(d->tamper_reason), "%s", why);
	revoke_all(d);
	sn_dp_enforce(d->dp);
	revoke_all(d);
	/* the measurement log records it: evidence from now on differs */
	sn_mlog_extend_data(&d->mlog, SN_MLOG_OTHER,
			    "data plane tampered", why, strlen(why));
	sn_make_tampered(d);
	sn_err("the data plane is no longer the measured one (%s): all keys "
	       "revoked, foreign programs removed (fail closed); restart "
	       "sealnetd after investigating", why);
	if (!sn_control_event_encode(&(struct sn_control_event){
		    .kind = SN_CONTROL_EV_TAMPERED,
		    .text = "the data plane differs from the measured one; keys revoked",
		    .reason = why },
		    &j)) {
		sn_ctl_broadcast(d, j);
		sn_audit(d, j);
		json_decref(j);
	}
}

/* start/stop records of the audit log */
static void audit_lifecycle(struct sealnetd *d, const char *what)
{
	char lm[97], ml[97];
	json_t *j;

	sn_hex_encode(d->launch_measurement, sizeof(d->launch_measurement), lm);
	sn_hex_encode(d->mlog.digest, sizeof(d->mlog.digest), ml);
	j = json_pack("{ss ss ss ss si}", "event", what, "mode",
		      d->cfg->make.enabled ? "make" : "static",
		      "launch_measurement", d->cfg->make.enabled ? lm : "",
		      "mlog_digest", ml, "peers", (int)d->cfg->n_peers);
	if (j) {
		sn_audit(d, j);
		json_decref(j);
	}
}

/* the kernel AEAD self-test's record of a pass (docs/sealnetd.md) */
#define SELFTEST_CACHE_DEFAULT "/run/sealnet/selftest"
#define SELFTEST_CACHE_MAX_AGE_S 600u

/* where a start goes: wall ms since t0 at each step, CPU at the end */
enum { T_CFG, T_SELFTEST, T_DPOPEN, T_INSTALL, T_READY, T_N };

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void log_start_cost(const double *t)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		memset(&ru, 0, sizeof(ru));
	sn_info("started in %.1f ms: configuration %.1f, kernel AEAD "
		"self-test %.1f, data plane load+attach %.1f, install+measure "
		"%.1f, MAKE/control/metrics %.1f; CPU %.1f ms user, %.1f ms "
		"system",
		t[T_READY], t[T_CFG], t[T_SELFTEST] - t[T_CFG],
		t[T_DPOPEN] - t[T_SELFTEST], t[T_INSTALL] - t[T_DPOPEN],
		t[T_READY] - t[T_INSTALL],
		(double)ru.ru_utime.tv_sec * 1e3 +
			(double)ru.ru_utime.tv_usec / 1e3,
		(double)ru.ru_stime.tv_sec * 1e3 +
			(double)ru.ru_stime.tv_usec / 1e3);
}

static int install(struct sealnetd *d)
{
	struct sn_node_config *c = d->cfg;
	int err;

	for (size_t i = 0; i < c->n_peers; i++) {
		struct sn_peer_config *p = &c->peers[i];

		err = sn_dp_add_peer(d->dp, p->id, p->addr);
		if (!err && p->has_addr6)
			err = sn_dp_add_peer6(d->dp, p->id, p->addr6);
		if (err) {
			sn_err("peer %s: installing it failed: %s", p->name,
			       strerror(-err));
			return err;
		}
	}
	/* static keys: epochs reserved in state_dir, keys derived per epoch
	 * (static_keys.c); MAKE peers are keyed by make_peers.c */
	err = sn_static_install(d);
	if (err)
		return err;
	err = sn_dp_set_rules(d->dp, c->rules, c->n_rules, NULL);
	if (err)
		sn_err("installing the %zu rules failed: %s", c->n_rules,
		       strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "workflow", required_argument, NULL, 'w' },
		{ "signatures", required_argument, NULL, 'S' },
		{ "node", required_argument, NULL, 'n' },
		{ "check", no_argument, NULL, 'C' },
		{ "print-measurement", no_argument, NULL, 'M' },
		{ "down", no_argument, NULL, 'D' },
		{ "selftest-cache", required_argument, NULL, 'T' },
		{ "quiet-drops", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sealnetd d = { .ctl_fd = -1, .log_drops = 1, .audit_fd = -1 };
	struct sn_selftest_stats st = { 0 };
	struct timespec t0;
	double tm[T_N] = { 0 };
	const char *config = NULL, *workflow = NULL, *sigs = NULL,
		   *node = NULL;
	const char *st_cache = getenv("SEALNET_SELFTEST_CACHE");
	char err[512];
	int check = 0, opt, rc = 1, fd;
	bool wf_mode, st_cached = false;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sn_log_set(sn_log_stderr, "sealnetd");
	sn_mlog_init(&d.mlog);
	while ((opt = getopt_long(argc, argv, "c:w:n:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'w':
			workflow = optarg;
			break;
		case 'S':
			sigs = optarg;
			break;
		case 'n':
			node = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'M':
			check = 2;
			break;
		case 'D':
			check = 3;
			break;
		case 'T':
			st_cache = optarg;
			break;
		case 'q':
			d.log_drops = 0;
			break;
		case 'v':
			sn_log_set_level(SN_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sealnetd %s\n", SEALNET_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((!config && !workflow) || optind != argc) {
		fprintf(stderr, "sealnetd: %s (see --help)\n",
			optind != argc ? "unexpected argument" :
					 "--config FILE or --workflow FILE is required");
		return 2;
	}
	wf_mode = workflow || sn_wfd_config_has_workflow(config);
	if (!wf_mode && (sigs || node)) {
		fprintf(stderr, "sealnetd: --signatures and --node go with "
				"--workflow (see --help)\n");
		return 2;
	}
	if (wf_mode && check == 2) {
		/* the launch measurement covers the local file only: the
		 * manifest lists it, and is bound by the measurement log */
		static struct sn_node_config lc;
		uint8_t m[48];
		char hex[97];

		snprintf(lc.path, sizeof(lc.path), "%s", config ? config : "");
		if (sn_launch_measurement(&lc, m))
			return 1;
		sn_hex_encode(m, sizeof(m), hex);
		printf("%s\n", hex);
		return 0;
	}
	if (wf_mode) {
		if (sn_wfd_load(&d, config, workflow, sigs, node)) {
			fprintf(stderr, "sealnetd: refusing to start: the "
					"workflow manifest is not usable (every "
					"error above)\n");
			return 2;
		}
	} else if (sn_config_load(config, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "sealnetd: %s: %s\n", config, err);
		return 2;
	}
	if (check == 2) {
		uint8_t m[48];
		char hex[97];

		rc = sn_launch_measurement(d.cfg, m) ? 1 : 0;
		if (!rc) {
			sn_hex_encode(m, sizeof(m), hex);
			printf("%s\n", hex);
		}
		sn_config_free(d.cfg);
		return rc;
	}
	if (check == 3) {
		rc = sn_down(d.cfg);
		sn_config_free(d.cfg);
		sn_wfd_free(d.wfd);
		return rc;
	}
	if (check) {
		printf("sealnetd: %s: configuration OK (node %s, %zu peers, %zu rules)\n",
		       workflow ? workflow : config, d.cfg->node,
		       d.cfg->n_peers, d.cfg->n_rules);
		sn_config_free(d.cfg);
		sn_wfd_free(d.wfd);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	tm[T_CFG] = ms_since(&t0);
	/* our files before anything is attached: a state_dir or socket
	 * directory others may write to, or a planted link, stops us here */
	if (sn_ctl_check_dir(&d) || sn_audit_open(&d))
		goto out;

	if (!st_cache || !*st_cache)
		st_cache = SELFTEST_CACHE_DEFAULT;
	if (sn_selftest_kat_cached(strcmp(st_cache, "off") ? st_cache : NULL,
				   SELFTEST_CACHE_MAX_AGE_S, 4, selftest_fail,
				   NULL, &st, &st_cached) ||
	    st.failed) {
		sn_err("kernel AEAD self-test failed (%u of %u cases): refusing "
		       "to start; run `sealnet selftest` for details",
		       st.failed, st.total);
		goto out;
	}
	sn_info("kernel AEAD self-test passed (%u cases%s)", st.passed,
		st_cached ? ", recorded pass" : "");
	tm[T_SELFTEST] = ms_since(&t0);

	/* a previous sealnetd killed hard left its programs (and keys)
	 * running: in MAKE mode, keep them until we have keys ourselves */
	if (d.cfg->make.enabled &&
	    sn_dp_previous_attached(d.cfg->ifname) > 0) {
		d.cfg->dp.defer_attach = true;
		sn_deferred_attach_start(&d);
		sn_info("sealnet programs already attached to %s (a previous "
			"instance): attaching ours once the peers are keyed",
			d.cfg->ifname);
	}
	if (sn_dp_open(&d.cfg->dp, &d.dp))
		goto out;
	tm[T_DPOPEN] = ms_since(&t0);
	if (sn_engine_setup(&d))
		goto out;
	if (install(&d))
		goto out;
	if (sn_dp_measure(d.dp, &d.mlog) ||
	    (d.engine && sn_engine_measure(&d.mlog))) {
		sn_err("measuring the data plane failed");
		goto out;
	}
	if (d.wfd && sn_wfd_measure(&d))
		goto out;
	tm[T_INSTALL] = ms_since(&t0);
	d.base = event_base_new();
	if (!d.base)
		goto out;
	fd = sn_dp_events_fd(d.dp);
	if (fd < 0) {
		sn_err("cannot poll the drop-event ring buffer: %s",
		       strerror(-fd));
		goto out;
	}
	d.ev_events = event_new(d.base, fd, EV_READ | EV_PERSIST, on_events, &d);
	d.ev_sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
	d.ev_sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
	d.ev_sighup = evsignal_new(d.base, SIGHUP, on_signal, &d);
	if (!d.ev_events || !d.ev_sigint || !d.ev_sigterm || !d.ev_sighup ||
	    event_add(d.ev_events, NULL) || event_add(d.ev_sigint, NULL) ||
	    event_add(d.ev_sigterm, NULL) || event_add(d.ev_sighup, NULL) ||
	    (!d.wfd && sn_reload_init(&d)))
		goto out;
	d.ev_watch = event_new(d.base, -1, EV_PERSIST, on_watch, &d);
	if (!d.ev_watch ||
	    event_add(d.ev_watch, &(struct timeval){ .tv_sec = 1 }))
		goto out;
	if (sn_engine_guard_start(&d))
		goto out;
	if (sn_metrics_start(&d) || sn_kbst_start(&d) || sn_make_start(&d) ||
	    sn_static_start(&d) || sn_kbsc_start(&d))
		goto out;
	audit_lifecycle(&d, "start");
	if (sn_ctl_start(&d))
		goto out;
	sn_info("node %s (id %u) protecting %s: %zu peers, %zu rules; control socket %s",
		d.cfg->node, d.cfg->id, d.cfg->ifname, d.cfg->n_peers,
		d.cfg->n_rules, d.cfg->control_socket);
	tm[T_READY] = ms_since(&t0);
	log_start_cost(tm);
	printf("sealnetd: ready\n");
	fflush(stdout);
	event_base_dispatch(d.base);
	rc = 0;
	audit_lifecycle(&d, "stop");
out:
	sn_audit_close(&d);
	sn_ctl_stop(&d);
	sn_metrics_stop(&d);
	sn_kbsc_stop(&d);
	sn_make_stop(&d);
	sn_kbst_stop(&d);
	sn_fedn_free(&d);
	sn_static_stop(&d);
	if (d.ev_events)
		event_free(d.ev_events);
	if (d.ev_watch)
		event_free(d.ev_watch);
	sn_mlog_free(&d.mlog);
	if (d.ev_sigint)
		event_free(d.ev_sigint);
	if (d.ev_sigterm)
		event_free(d.ev_sigterm);
	if (d.ev_sighup)
		event_free(d.ev_sighup);
	sn_engine_guard_stop(&d);
	sn_engine_teardown(&d);
	if (rc == 0 && d.dp && !d.cfg->on_stop_detach) {
		if (sn_dp_release(d.dp) == 0)
			sn_info("stopped: the data plane stays on %s with no keys, "
				"so the peers' traffic is dropped until sealnetd "
				"starts again (on_stop drop); `sealnetd --down "
				"--config %s` removes it", d.cfg->ifname, config);
	} else {
		sn_dp_close(d.dp);
	}
	if (d.base)
		event_base_free(d.base);
	sn_config_free(d.cfg);
	sn_wfd_free(d.wfd);
	if (rc)
		sn_err("stopped on an error; the interface was left as it was found");
	return rc;
}
