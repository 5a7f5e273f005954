// SPDX-License-Identifier: Apache-2.0
/*
 * The control protocol (include/sealnet/control.h): the codec's exact
 * bytes for every message (the wire sealnet status --json and sealnet
 * monitor --json print), lenient decoding, and the client against a
 * scripted server on a unix socket.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealnet/control.h"

/* compact dump, keys in insertion order (as sealnetd sends) */
static void assert_json(json_t *j, const char *want)
{
	char *s = json_dumps(j, JSON_COMPACT);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* ---- requests and errors ---------------------------------------------- */

static void test_request(void **state)
{
	enum sn_control_cmd cmd = SN_CONTROL_CMD_MONITOR;
	char *line;

	assert_int_equal(
		sn_control_request_encode(SN_CONTROL_CMD_STATUS, &line), 0);
	assert_string_equal(line, "{\"cmd\":\"status\"}\n");
	assert_int_equal(
		sn_control_request_decode(line, strlen(line) - 1, &cmd), 0);
	assert_int_equal(cmd, SN_CONTROL_CMD_STATUS);
	free(line);
	assert_int_equal(
		sn_control_request_encode(SN_CONTROL_CMD_MONITOR, &line), 0);
	assert_string_equal(line, "{\"cmd\":\"monitor\"}\n");
	free(line);
	/* the old client's spelling, with a space */
	assert_int_equal(
		sn_control_request_decode("{\"cmd\": \"monitor\"}", 18, &cmd),
		0);
	assert_int_equal(cmd, SN_CONTROL_CMD_MONITOR);

	cmd = 77;
	assert_int_equal(
		sn_control_request_decode("{\"cmd\": \"reboot\"}", 17, &cmd),
		-ENOENT);
	assert_int_equal(sn_control_request_decode("status", 6, &cmd), -EPROTO);
	assert_int_equal(sn_control_request_decode("{\"cmd\": 1}", 10, &cmd),
			 -EPROTO);
	assert_int_equal(sn_control_request_decode("[]", 2, &cmd), -EPROTO);
	assert_int_equal(cmd, 77); /* untouched on failure */
	assert_int_equal(sn_control_request_encode(7, &line), -EINVAL);
	assert_string_equal(sn_control_cmd_name(SN_CONTROL_CMD_MONITOR),
			    "monitor");
	assert_null(sn_control_cmd_name(7));
}

static void test_error(void **state)
{
	json_t *j = NULL, *ok = json_pack("{ss}", "node", "h1");

	assert_int_equal(sn_control_error_encode("too many monitors", &j), 0);
	assert_json(j, "{\"error\":\"too many monitors\"}");
	assert_string_equal(sn_control_error_text(j), "too many monitors");
	assert_null(sn_control_error_text(ok));
	assert_null(sn_control_error_text(NULL));
	json_decref(j);
	json_decref(ok);
}

/* ---- status ---------------------------------------------------------------
 */

static struct sn_control_peer peers[] = {
	{.name = "h2",
	 .id = 2,
	 .address = "198.18.0.2",
	 .state = "keyed",
	 .tx_epoch = 1,
	 .tx_slot = 0,
	 .tx_packets = 10,
	 .tx_bytes = 1500,
	 .rx_packets = 9,
	 .rx_bytes = 1400,
	 .drops = 3,
	 .passed_clear = 4},
	{.name = "h3",
	 .id = 3,
	 .address = "198.18.0.3",
	 .state = "failed",
	 .tx_epoch = 0,
	 .tx_slot = -2,
	 .is_make = true,
	 .key_age_s = -1,
	 .appraisal_age_ms = 1234,
	 .makes = 2,
	 .candidates = 1,
	 .session = "0123456789abcdef",
	 .make = "attest",
	 .reason = "evidence rejected",
	 .appraisal = "measurement-not-allowed"},
};

static struct sn_control_drop drops[] = {
	{.reason = "MALFORMED", .text = "malformed", .count = 0},
	{.reason = "BAD_TAG", .text = "bad tag", .count = 5000000000ull},
};

static const struct sn_control_status status = {
	.node = "h1",
	.id = 1,
	.interface = "eth0",
	.mode = "make",
	.egress_prog_id = 41,
	.ingress_prog_id = 42,
	.dataplane = "measured",
	.watchdog_tick_us = 150,
	.mlog_digest = "ab",
	.mlog_events = 3,
	.peers = peers,
	.n_peers = 2,
	.drops = drops,
	.n_drops = 2,
};

static void test_status_encode(void **state)
{
	json_t *j = NULL;
	char *s;

	assert_int_equal(sn_control_status_encode(&status, &j), 0);
	/* sorted, as sealnet status --json prints it (there indented) */
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
		s, "{\"dataplane\":\"measured\",\"drops\":{"
		   "\"BAD_TAG\":{\"count\":5000000000,\"text\":\"bad tag\"},"
		   "\"MALFORMED\":{\"count\":0,\"text\":\"malformed\"}},"
		   "\"egress_prog_id\":41,\"id\":1,\"ingress_prog_id\":42,"
		   "\"interface\":\"eth0\",\"mlog_digest\":\"ab\",\"mlog_"
		   "events\":3,"
		   "\"mode\":\"make\",\"node\":\"h1\",\"peers\":["
		   "{\"address\":\"198.18.0.2\",\"drops\":3,\"id\":2,\"name\":"
		   "\"h2\","
		   "\"passed_clear\":4,\"rx_bytes\":1400,\"rx_packets\":9,"
		   "\"state\":\"keyed\",\"tx_bytes\":1500,\"tx_epoch\":1,"
		   "\"tx_packets\":10,\"tx_slot\":0},"
		   "{\"address\":\"198.18.0.3\",\"appraisal\":\"measurement-"
		   "not-allowed\","
		   "\"appraisal_age_ms\":1234,\"candidates\":1,"
		   "\"drops\":0,\"id\":3,\"key_age_s\":-1,\"make\":\"attest\","
		   "\"makes\":2,"
		   "\"name\":\"h3\",\"passed_clear\":0,\"reason\":\"evidence "
		   "rejected\","
		   "\"rx_bytes\":0,\"rx_packets\":0,"
		   "\"session\":\"0123456789abcdef\",\"state\":\"failed\",\"tx_"
		   "bytes\":0,"
		   "\"tx_epoch\":0,\"tx_packets\":0,\"tx_slot\":-2}],"
		   "\"watchdog_tick_us\":150}");
	free(s);
	/* as sent: the order sealnetd has always used, new fields last */
	s = json_dumps(json_array_get(json_object_get(j, "peers"), 1),
		       JSON_COMPACT);
	assert_string_equal(
		s, "{\"name\":\"h3\",\"id\":3,\"address\":\"198.18.0.3\","
		   "\"state\":\"failed\",\"tx_epoch\":0,\"tx_slot\":-2,"
		   "\"tx_packets\":0,\"tx_bytes\":0,\"rx_packets\":0,"
		   "\"rx_bytes\":0,\"drops\":0,\"passed_clear\":0,"
		   "\"appraisal\":\"measurement-not-allowed\","
		   "\"key_age_s\":-1,\"appraisal_age_ms\":1234,\"makes\":2,"
		   "\"candidates\":1,\"session\":\"0123456789abcdef\","
		   "\"make\":\"attest\",\"reason\":\"evidence rejected\"}");
	free(s);
	json_object_del(j, "peers");
	json_object_del(j, "drops");
	assert_json(j, "{\"node\":\"h1\",\"id\":1,\"interface\":\"eth0\","
		       "\"mode\":\"make\",\"egress_prog_id\":41,"
		       "\"ingress_prog_id\":42,\"dataplane\":\"measured\","
		       "\"mlog_digest\":\"ab\",\"mlog_events\":3,"
		       "\"watchdog_tick_us\":150}");
	json_decref(j);

	/* a MAKE peer without session, make, reason or appraisal: the
	 * four numbers only */
	peers[1].make = peers[1].reason = peers[1].appraisal = NULL;
	peers[1].session = NULL;
	assert_int_equal(sn_control_status_encode(&status, &j), 0);
	assert_int_equal(json_object_size(json_array_get(
				 json_object_get(j, "peers"), 1)),
			 16);
	/* not tampered: no dataplane_reason */
	assert_null(json_object_get(j, "dataplane_reason"));
	json_decref(j);
	peers[1].make = "attest";
	peers[1].reason = "evidence rejected";
	peers[1].appraisal = "measurement-not-allowed";
	peers[1].session = "0123456789abcdef";
}

static void test_status_tampered(void **state)
{
	struct sn_control_status st = status, back = {0};
	json_t *j = NULL;

	st.dataplane = "TAMPERED";
	st.dataplane_reason = "egress filter pref 1 handle 0x2";
	st.n_peers = st.n_drops = 0;
	assert_int_equal(sn_control_status_encode(&st, &j), 0);
	json_object_del(j, "peers");
	json_object_del(j, "drops");
	assert_json(j,
		    "{\"node\":\"h1\",\"id\":1,\"interface\":\"eth0\","
		    "\"mode\":\"make\",\"egress_prog_id\":41,"
		    "\"ingress_prog_id\":42,\"dataplane\":\"TAMPERED\","
		    "\"mlog_digest\":\"ab\",\"mlog_events\":3,"
		    "\"dataplane_reason\":\"egress filter pref 1 handle 0x2\","
		    "\"watchdog_tick_us\":150}");
	assert_int_equal(sn_control_status_decode(j, &back), 0);
	assert_string_equal(back.dataplane, "TAMPERED");
	assert_string_equal(back.dataplane_reason,
			    "egress filter pref 1 handle 0x2");
	assert_int_equal(back.watchdog_tick_us, 150);
	sn_control_status_release(&back);
	json_decref(j);
}

static void test_status_decode(void **state)
{
	struct sn_control_status st = {0};
	json_t *j = NULL;

	assert_int_equal(sn_control_status_encode(&status, &j), 0);
	assert_int_equal(sn_control_status_decode(j, &st), 0);
	assert_string_equal(st.node, "h1");
	assert_int_equal(st.id, 1);
	assert_string_equal(st.interface, "eth0");
	assert_string_equal(st.mode, "make");
	assert_int_equal(st.egress_prog_id, 41);
	assert_int_equal(st.ingress_prog_id, 42);
	assert_string_equal(st.dataplane, "measured");
	assert_null(st.dataplane_reason);
	assert_int_equal(st.watchdog_tick_us, 150);
	assert_string_equal(st.mlog_digest, "ab");
	assert_int_equal(st.mlog_events, 3);
	assert_int_equal(st.n_peers, 2);
	assert_string_equal(st.peers[0].name, "h2");
	assert_string_equal(st.peers[0].address, "198.18.0.2");
	assert_false(st.peers[0].is_make);
	assert_null(st.peers[0].reason);
	assert_int_equal(st.peers[0].tx_bytes, 1500);
	assert_int_equal(st.peers[0].passed_clear, 4);
	assert_true(st.peers[1].is_make);
	assert_int_equal(st.peers[1].key_age_s, -1);
	assert_int_equal(st.peers[1].tx_slot, -2);
	assert_string_equal(st.peers[1].make, "attest");
	assert_string_equal(st.peers[1].appraisal, "measurement-not-allowed");
	assert_int_equal(st.peers[1].appraisal_age_ms, 1234);
	assert_int_equal(st.peers[1].makes, 2);
	assert_int_equal(st.peers[1].candidates, 1);
	assert_string_equal(st.peers[1].session, "0123456789abcdef");
	assert_null(st.peers[0].session);
	/* drops in the order sent */
	assert_int_equal(st.n_drops, 2);
	assert_string_equal(st.drops[0].reason, "MALFORMED");
	assert_string_equal(st.drops[1].reason, "BAD_TAG");
	assert_int_equal(st.drops[1].count, 5000000000ull);
	assert_string_equal(st.drops[1].text, "bad tag");
	sn_control_status_release(&st);
	assert_null(st.peers);
	json_decref(j);
}

static void test_status_decode_lenient(void **state)
{
	struct sn_control_status st = {0};
	json_t *j = json_loads("{\"node\": \"x\", \"future\": [1]}", 0, NULL);

	assert_int_equal(sn_control_status_decode(j, &st), 0);
	assert_string_equal(st.node, "x");
	assert_null(st.mode);
	assert_int_equal(st.n_peers, 0);
	assert_int_equal(st.n_drops, 0);
	sn_control_status_release(&st);
	json_decref(j);

	st.node = "untouched";
	j = json_loads("{\"peers\": {}}", 0, NULL);
	assert_int_equal(sn_control_status_decode(j, &st), -EPROTO);
	json_decref(j);
	j = json_loads("{\"drops\": []}", 0, NULL);
	assert_int_equal(sn_control_status_decode(j, &st), -EPROTO);
	json_decref(j);
	j = json_loads("[]", 0, NULL);
	assert_int_equal(sn_control_status_decode(j, &st), -EPROTO);
	json_decref(j);
	assert_string_equal(st.node, "untouched");
}

/* ---- events ---------------------------------------------------------------
 */

static const char drop_line[] =
	"{\"event\":\"drop\",\"ts_ns\":123456789012,\"reason\":\"POLICY_"
	"EGRESS\","
	"\"text\":\"flow not allowed by the egress policy\",\"dir\":\"egress\","
	"\"src\":\"198.18.0.1\",\"sport\":40000,\"dst\":\"198.18.0.2\","
	"\"dport\":7000,\"proto\":6,\"peer\":2,\"suppressed\":5}";

/* ev encodes to exactly want */
static void assert_event(const struct sn_control_event *ev, const char *want)
{
	json_t *j = NULL;

	assert_int_equal(sn_control_event_encode(ev, &j), 0);
	assert_json(j, want);
	json_decref(j);
}

static void test_event_encode(void **state)
{
	struct sn_control_event ev = {
		.kind = SN_CONTROL_EV_DROP,
		.ts_ns = 123456789012ull,
		.reason = "POLICY_EGRESS",
		.text = "flow not allowed by the egress policy",
		.src = "198.18.0.1",
		.sport = 40000,
		.dst = "198.18.0.2",
		.dport = 7000,
		.proto = 6,
		.peer_id = 2,
		.suppressed = 5,
	};
	struct sn_control_event hello = {.kind = SN_CONTROL_EV_HELLO,
					 .node = "h1"};
	struct sn_control_event tamp = {.kind = SN_CONTROL_EV_TAMPERED,
					.text = "t",
					.reason = "sn_policy: an entry added"};
	struct sn_control_event mk = {.kind = SN_CONTROL_EV_KEYS,
				      .peer = "h2",
				      .epoch = 7,
				      .text = "installed"};
	json_t *j = NULL;

	assert_event(&ev, drop_line);
	ev.ingress = true;
	assert_int_equal(sn_control_event_encode(&ev, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "dir")),
			    "ingress");
	json_decref(j);

	assert_event(&hello, "{\"event\":\"hello\",\"node\":\"h1\"}");
	assert_event(&tamp, "{\"event\":\"tampered\",\"text\":\"t\","
			    "\"reason\":\"sn_policy: an entry added\"}");
	tamp.reason = NULL;
	assert_event(&tamp, "{\"event\":\"tampered\",\"text\":\"t\"}");
	assert_event(&mk, "{\"event\":\"keys\",\"peer\":\"h2\",\"epoch\":7,"
			  "\"text\":\"installed\"}");
	mk.kind = SN_CONTROL_EV_MAKE_FAILED;
	mk.text = NULL;
	assert_event(&mk, "{\"event\":\"make-failed\",\"peer\":\"h2\","
			  "\"epoch\":7,\"text\":\"\"}");
	mk.kind = SN_CONTROL_EV_CUT_OFF;
	mk.session = "ignored"; /* only the make event carries it */
	assert_int_equal(sn_control_event_encode(&mk, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "event")),
			    "cut-off");
	assert_null(json_object_get(j, "session"));
	json_decref(j);
	mk.kind = SN_CONTROL_EV_MAKE;
	mk.epoch = 1;
	mk.text = "new MAKE session: fresh evidence appraised";
	mk.session = "0123456789abcdef";
	assert_event(&mk, "{\"event\":\"make\",\"peer\":\"h2\",\"epoch\":1,"
			  "\"text\":\"new MAKE session: fresh evidence "
			  "appraised\",\"session\":\"0123456789abcdef\"}");

	j = NULL;
	mk.kind = SN_CONTROL_EV_OTHER;
	assert_int_equal(sn_control_event_encode(&mk, &j), -EINVAL);
	mk.kind = SN_CONTROL_EV_ERROR;
	assert_int_equal(sn_control_event_encode(&mk, &j), -EINVAL);
	assert_null(j);
	assert_true(sn_control_event_is_make(SN_CONTROL_EV_CUT_OFF));
	assert_true(sn_control_event_is_make(SN_CONTROL_EV_MAKE));
	assert_false(sn_control_event_is_make(SN_CONTROL_EV_TAMPERED));
	assert_false(sn_control_event_is_make(SN_CONTROL_EV_DROP));
}

/* line decodes to an event of this kind; the JSON it points into
 * (json_decref it after the checks) */
static json_t *decode_event(const char *line, struct sn_control_event *ev,
			    enum sn_control_event_kind kind)
{
	json_t *j = json_loads(line, 0, NULL);

	assert_non_null(j);
	assert_int_equal(sn_control_event_decode(j, ev), 0);
	assert_int_equal(ev->kind, kind);
	return j;
}

static void test_event_decode(void **state)
{
	struct sn_control_event ev;
	json_t *j = decode_event(drop_line, &ev, SN_CONTROL_EV_DROP);

	assert_string_equal(ev.name, "drop");
	assert_int_equal(ev.ts_ns, 123456789012ull);
	assert_string_equal(ev.reason, "POLICY_EGRESS");
	assert_false(ev.ingress);
	assert_string_equal(ev.src, "198.18.0.1");
	assert_string_equal(ev.dst, "198.18.0.2");
	assert_int_equal(ev.sport, 40000);
	assert_int_equal(ev.dport, 7000);
	assert_int_equal(ev.proto, 6);
	assert_int_equal(ev.peer_id, 2);
	assert_null(ev.peer);
	assert_int_equal(ev.suppressed, 5);
	json_decref(j);

	j = decode_event("{\"event\":\"cut-off\",\"peer\":\"h2\",\"epoch\":3,"
			 "\"text\":\"x\"}",
			 &ev, SN_CONTROL_EV_CUT_OFF);
	assert_string_equal(ev.peer, "h2");
	assert_int_equal(ev.epoch, 3);
	assert_null(ev.session);
	json_decref(j);

	j = decode_event("{\"event\":\"make\",\"peer\":\"h2\",\"epoch\":1,"
			 "\"text\":\"x\",\"session\":\"00ff\"}",
			 &ev, SN_CONTROL_EV_MAKE);
	assert_string_equal(ev.peer, "h2");
	assert_string_equal(ev.session, "00ff");
	json_decref(j);

	j = decode_event("{\"event\":\"tampered\",\"text\":\"t\","
			 "\"reason\":\"XDP program 7 attached\"}",
			 &ev, SN_CONTROL_EV_TAMPERED);
	assert_string_equal(ev.reason, "XDP program 7 attached");
	json_decref(j);

	j = decode_event("{\"error\":\"too many monitors\"}", &ev,
			 SN_CONTROL_EV_ERROR);
	assert_string_equal(ev.error, "too many monitors");
	json_decref(j);

	/* an event of a newer sealnetd */
	j = decode_event("{\"event\":\"rekeyed\",\"src\":\"1234567890123456789\"}",
			 &ev, SN_CONTROL_EV_OTHER);
	assert_string_equal(ev.name, "rekeyed");
	assert_string_equal(ev.src, "1234567890123456789");
	json_decref(j);

	j = json_loads("[1]", 0, NULL);
	assert_int_equal(sn_control_event_decode(j, &ev), -EPROTO);
	json_decref(j);
}

/* ---- client against a scripted server ----------------------------------- */

struct server {
	char dir[64], path[108];
	int lfd;
	const char *const *chunks; /* written in turn after the request */
	char request[256];
	pthread_t thread;
};

static void *serve_one(void *arg)
{
	struct server *sv = arg;
	int c = accept(sv->lfd, NULL, NULL);
	size_t n = 0;

	if (c < 0)
		return NULL;
	/* read the request line */
	while (n < sizeof(sv->request) - 1) {
		ssize_t r = read(c, sv->request + n, 1);

		if (r <= 0 || sv->request[n] == '\n')
			break;
		n++;
	}
	sv->request[n] = '\0';
	for (const char *const *p = sv->chunks; *p; p++) {
		if (write(c, *p, strlen(*p)) < 0)
			break;
		usleep(2000); /* separate reads on the client side */
	}
	close(c);
	return NULL;
}

static void server_start(struct server *sv, const char *const *chunks)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	strcpy(sv->dir, "/tmp/sn-test-control.XXXXXX");
	assert_non_null(mkdtemp(sv->dir));
	snprintf(sv->path, sizeof(sv->path), "%s/s.sock", sv->dir);
	strcpy(sa.sun_path, sv->path);
	sv->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sv->lfd >= 0);
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(sv->lfd, 1), 0);
	sv->chunks = chunks;
	assert_int_equal(pthread_create(&sv->thread, NULL, serve_one, sv), 0);
}

static void server_stop(struct server *sv)
{
	pthread_join(sv->thread, NULL);
	close(sv->lfd);
	unlink(sv->path);
	rmdir(sv->dir);
}

static void test_client_request(void **state)
{
	static const char *const chunks[] = {"{\"node\": \"h1\",",
					     " \"peers\": []}\n", NULL};
	struct server sv;
	json_t *a = NULL;

	server_start(&sv, chunks);
	assert_int_equal(sn_control_request(sv.path, SN_CONTROL_CMD_STATUS, &a),
			 0);
	server_stop(&sv);
	assert_string_equal(sv.request, "{\"cmd\":\"status\"}");
	assert_string_equal(json_string_value(json_object_get(a, "node")),
			    "h1");
	json_decref(a);
}

static void test_client_errors(void **state)
{
	static const char *const garbage[] = {"not json\n", NULL};
	static const char *const nothing[] = {NULL};
	char longpath[200];
	struct server sv;
	json_t *a = NULL;
	struct sn_control_monitor *m = NULL;
	int fd;

	assert_int_equal(sn_control_request("/nonexistent/sealnetd.sock",
					    SN_CONTROL_CMD_STATUS, &a),
			 -ENOENT);
	assert_int_equal(
		sn_control_monitor_open("/nonexistent/sealnetd.sock", &m),
		-ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(sn_control_connect(longpath, &fd), -ENAMETOOLONG);
	assert_null(a);
	assert_null(m);

	server_start(&sv, garbage);
	assert_int_equal(sn_control_request(sv.path, SN_CONTROL_CMD_STATUS, &a),
			 -EPROTO);
	server_stop(&sv);
	server_start(&sv, nothing);
	assert_int_equal(sn_control_request(sv.path, SN_CONTROL_CMD_STATUS, &a),
			 -EPROTO);
	server_stop(&sv);
	assert_null(a);
}

static void test_client_monitor(void **state)
{
	static char huge[SN_CONTROL_MAX_EVENT + 100];
	static const char *chunks[] = {
		"{\"event\":\"hello\",\"node\":\"h1\"}\nnot json\n[1]\n",
		huge,
		"\n{\"event\":\"drop\",\"reas",
		"on\":\"BAD_TAG\",\"peer\":3}\n",
		"{\"event\":\"keys\",\"peer\":\"h2\",\"epoch\":2,\"text\":"
		"\"installed\"}\n{\"ev",
		NULL,
	};
	struct sn_control_monitor *m = NULL;
	struct sn_control_event ev;
	struct server sv;
	const char *line;

	/* an over-long line of valid JSON: skipped whole */
	memset(huge, ' ', sizeof(huge) - 1);
	memcpy(huge, "{\"event\":\"tampered\",\"text\":\"", 28);
	huge[sizeof(huge) - 3] = '"';
	huge[sizeof(huge) - 2] = '}';
	server_start(&sv, chunks);
	assert_int_equal(sn_control_monitor_open(sv.path, &m), 0);
	assert_int_equal(sn_control_monitor_next(m, &ev, &line), 0);
	assert_int_equal(ev.kind, SN_CONTROL_EV_HELLO);
	assert_string_equal(ev.node, "h1");
	assert_string_equal(line, "{\"event\":\"hello\",\"node\":\"h1\"}");
	assert_int_equal(sn_control_monitor_next(m, &ev, &line), 0);
	assert_int_equal(ev.kind, SN_CONTROL_EV_DROP);
	assert_string_equal(ev.reason, "BAD_TAG");
	assert_int_equal(ev.peer_id, 3);
	assert_string_equal(
		line, "{\"event\":\"drop\",\"reason\":\"BAD_TAG\",\"peer\":3}");
	assert_int_equal(sn_control_monitor_next(m, &ev, &line), 0);
	assert_int_equal(ev.kind, SN_CONTROL_EV_KEYS);
	assert_string_equal(ev.peer, "h2");
	/* the partial last line is not an event; then the end */
	assert_int_equal(sn_control_monitor_next(m, &ev, &line), -ENODATA);
	sn_control_monitor_close(m);
	server_stop(&sv);
	assert_string_equal(sv.request, "{\"cmd\":\"monitor\"}");
	sn_control_monitor_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_status_encode),
		cmocka_unit_test(test_status_decode),
		cmocka_unit_test(test_status_decode_lenient),
		cmocka_unit_test(test_status_tampered),
		cmocka_unit_test(test_event_encode),
		cmocka_unit_test(test_event_decode),
		cmocka_unit_test(test_client_request),
		cmocka_unit_test(test_client_errors),
		cmocka_unit_test(test_client_monitor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
