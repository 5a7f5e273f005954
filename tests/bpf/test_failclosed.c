// SPDX-License-Identifier: Apache-2.0
/*
 * Attacks on the data plane, each performed on crafted packets with
 * BPF_PROG_TEST_RUN (issue 9).  Node A (198.18.0.1) is a library-managed
 * data plane (sn_dp_open on lo of a private namespace, not attached: the
 * programs and maps exactly as sealnetd configures them); node B
 * (198.18.0.2) is a raw instance (tests/bpf/twonode.h) used to seal and
 * open the other side.
 *
 *   control_port_*     the MAKE port exemption: only sealnetd's marked
 *                      sockets pass in clear, in either direction
 *   stateful_*         replies only within a flow a rule opened; a flow
 *                      opens only its reverse, never its own direction
 *   not_local          no decrypt-and-forward
 *   vlan_*, ethertype  tagged / non-IP frames to or from a peer
 *   reserved           reserved header bits
 *   rekey_replay_race  a replay during key replacement (install order)
 *   rekey_seal_race    (key, counter) unique while rekeying under load
 *   rules_replace      a new policy cuts the flows of the rules it drops
 *   counter_rewind_*   no process rewinds a send counter
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sealnet/dataplane.h"
#include "twonode.h"

#define A_ADDR SN_TN_A
#define B_ADDR SN_TN_B
#define PORT   5201
#define CTL    51821
#define MARK   0x5e1a0001u

static uint8_t kab[32] = {0x11, 0x12, 0x13}; /* A -> B */
static uint8_t kba[32] = {0x21, 0x22, 0x23}; /* B -> A */

static struct sn_dataplane *dpa; /* node A, through the library */
static struct sn_tnode nb;	 /* node B, raw */
static int eg_a, in_a;		 /* A's program fds */
static uint16_t epoch_next = 100;

static int test_run(int fd, const uint8_t *in, size_t len, uint8_t *out,
		    size_t *olen, uint32_t mark)
{
	struct __sk_buff ctx = {.mark = mark};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = out ? SN_TN_PKT_MAX : 0, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));

	if (bpf_prog_test_run_opts(fd, &o))
		return -1;
	if (olen)
		*olen = o.data_size_out;
	return (int)o.retval;
}

static uint64_t drops_a(enum sn_drop_reason r)
{
	uint64_t n[SN_DROP_MAX];

	assert_int_equal(sn_dp_drop_counts(dpa, n), 0);
	return n[r];
}

/* a TCP packet with flags (0x02 SYN, 0x10 ACK) */
static size_t tcp_pkt(uint8_t *p, const char *src, const char *dst,
		      uint16_t sport, uint16_t dport, uint8_t flags,
		      const char *payload)
{
	size_t n = sn_test_mkpkt(p, src, dst, sport, dport, payload,
				 strlen(payload));

	p[47] = flags;
	return n;
}

/* proto 6: a TCP ACK; 17: the same bytes relabelled as a UDP datagram */
static size_t l4_pkt(uint8_t *p, uint8_t proto, const char *src,
		     const char *dst, uint16_t sport, uint16_t dport,
		     const char *payload)
{
	size_t n = tcp_pkt(p, src, dst, sport, dport, 0x10, payload);

	if (proto == 17) {
		p[23] = 17;
		p[38] = 0;
		p[39] = (uint8_t)(n - 34);
	}
	return n;
}

static int setup(void **state)
{
	struct sn_dp_opts o = {
		.ifname = "lo",
		.self_id = 1,
		.control_port = CTL,
		.control_mark = MARK,
		.keep_offloads = true,
		.defer_attach = true,
		.counter_limit = 1ull << 40,
		.events_per_sec = 1000,
	};
	struct sn_dp_rule eg = {
		.peer_id = 2, .dir = SN_DIR_EGRESS, .proto = 6, .port = PORT};
	struct sn_dp_rule in = {
		.peer_id = 2, .dir = SN_DIR_INGRESS, .proto = 6, .port = PORT};
	struct sn_dp_rule udp_any = {
		.peer_id = 2, .dir = SN_DIR_EGRESS, .proto = 17, .port = 0};

	sn_tn_netns();
	assert_int_equal(sn_dp_open(&o, &dpa), 0);
	assert_int_equal(sn_dp_add_peer(dpa, 2, sn_test_ip(B_ADDR)), 0);
	assert_int_equal(sn_dp_install_key(dpa, 2, SN_KEY_TX, 0, 7, kab), 0);
	assert_int_equal(sn_dp_install_key(dpa, 2, SN_KEY_RX, 0, 7, kba), 0);
	assert_int_equal(sn_dp_add_rule(dpa, &eg, 1), 0);
	assert_int_equal(sn_dp_add_rule(dpa, &in, 2), 0);
	assert_int_equal(sn_dp_add_rule(dpa, &udp_any, 3), 0);
	eg_a = sn_dp_prog_fd(dpa, false);
	in_a = sn_dp_prog_fd(dpa, true);
	/* B: sends any TCP/UDP to A, accepts A -> :PORT */
	sn_tn_init(&nb, 2, 1, A_ADDR, kba, kab, 1000, 1ull << 40);
	sn_tn_rule(&nb, SN_DIR_EGRESS, PORT);
	sn_tn_rule(&nb, SN_DIR_INGRESS, PORT);
	{
		struct sn_policy_key k = {.peer = 1,
					  .port = 0,
					  .proto = 17,
					  .dir_kind = SN_DIR_EGRESS << 4};
		struct sn_policy_val v = {1, 0};

		sn_tn_upd(nb.s->maps.sn_policy, &k, &v);
		k.proto = 6; /* B (hostile) may send any TCP to A */
		sn_tn_upd(nb.s->maps.sn_policy, &k, &v);
	}
	return 0;
}

static int teardown(void **state)
{
	sn_dp_close(dpa);
	sealnet_bpf__destroy(nb.s);
	return 0;
}

/* ---- 1. the control-port exemption ------------------------------------ */

static int tcp_socket(uint32_t mark)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	if (mark)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_MARK, &mark,
					    sizeof(mark)),
				 0);
	return fd;
}

static void bind_to(int fd, const char *addr, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port)};

	sa.sin_addr.s_addr = addr ? sn_test_ip(addr) : INADDR_ANY;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void control_port_egress(void **state)
{
	uint8_t in[256], out[SN_TN_PKT_MAX];
	size_t il, ol;
	uint64_t before = drops_a(SN_DROP_CONTROL_PORT);

	/* any process on A sending to B's MAKE port: never in clear */
	il = tcp_pkt(in, A_ADDR, B_ADDR, 40000, CTL, 0x02, "SEALNET-MARKER");
	assert_int_equal(test_run(eg_a, in, il, out, &ol, 0), 2);
	/* ... nor from A's MAKE port to any port of B */
	il = tcp_pkt(in, A_ADDR, B_ADDR, CTL, 22, 0x12, "SEALNET-MARKER");
	assert_int_equal(test_run(eg_a, in, il, out, &ol, 0), 2);
	/* a different mark is not sealnetd's */
	il = tcp_pkt(in, A_ADDR, B_ADDR, 40000, CTL, 0x02, "");
	assert_int_equal(test_run(eg_a, in, il, out, &ol, MARK + 1), 2);
	assert_int_equal(drops_a(SN_DROP_CONTROL_PORT), before + 3);
	/* sealnetd's own socket (marked): in clear, unchanged */
	assert_int_equal(test_run(eg_a, in, il, out, &ol, MARK), 0);
	assert_int_equal(ol, il);
	assert_memory_equal(out, in, il);
}

static void control_port_ingress(void **state)
{
	uint8_t in[256], out[SN_TN_PKT_MAX];
	size_t il, ol;
	uint64_t before = drops_a(SN_DROP_CONTROL_PORT);
	int sshd = tcp_socket(0), web = tcp_socket(0),
	    make_l = tcp_socket(MARK);
	int dialer = tcp_socket(MARK), peer_l = tcp_socket(MARK);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(CTL)};
	socklen_t sl = sizeof(sa);
	uint16_t dport;

	/* A: sshd on :22, a web server on :8080, sealnetd's listener */
	bind_to(sshd, NULL, 22);
	bind_to(web, NULL, 8080);
	bind_to(make_l, A_ADDR, CTL);
	assert_int_equal(listen(sshd, 4) | listen(web, 4) | listen(make_l, 4),
			 0);
	/* spoofed "peer:51821" packets to A's services: dropped */
	il = tcp_pkt(in, B_ADDR, A_ADDR, CTL, 22, 0x02, "");
	assert_int_equal(test_run(in_a, in, il, out, &ol, 0), 2);
	il = tcp_pkt(in, B_ADDR, A_ADDR, CTL, 8080, 0x02, "");
	assert_int_equal(test_run(in_a, in, il, out, &ol, 0), 2);
	/* ... and to a port where nothing listens */
	il = tcp_pkt(in, B_ADDR, A_ADDR, CTL, 8081, 0x10, "SEALNET-MARKER");
	assert_int_equal(test_run(in_a, in, il, out, &ol, 0), 2);
	assert_int_equal(drops_a(SN_DROP_CONTROL_PORT), before + 3);
	/* to sealnetd's listener: passes (TLS does the rest) */
	il = tcp_pkt(in, B_ADDR, A_ADDR, 40001, CTL, 0x02, "");
	assert_int_equal(test_run(in_a, in, il, out, &ol, 0), 0);

	/* a connection sealnetd dialed: B's MAKE listener (marked) on
	 * B_ADDR:CTL, A's marked dialer; exactly its 4-tuple passes */
	bind_to(peer_l, B_ADDR, CTL);
	assert_int_equal(listen(peer_l, 4), 0);
	bind_to(dialer, A_ADDR, 0);
	sa.sin_addr.s_addr = sn_test_ip(B_ADDR);
	assert_int_equal(connect(dialer, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	assert_int_equal(getsockname(dialer, (struct sockaddr *)&sa, &sl), 0);
	dport = ntohs(sa.sin_port);
	il = tcp_pkt(in, B_ADDR, A_ADDR, CTL, dport, 0x10, "");
	assert_int_equal(test_run(in_a, in, il, out, &ol, 0), 0);
	il = tcp_pkt(in, B_ADDR, A_ADDR, CTL, (uint16_t)(dport + 1), 0x10, "");
	assert_int_equal(test_run(in_a, in, il, out, &ol, 0), 2);
	assert_int_equal(drops_a(SN_DROP_CONTROL_PORT), before + 4);
	close(sshd);
	close(web);
	close(make_l);
	close(dialer);
	close(peer_l);
}

/* ---- 2. stateful replies ------------------------------------------------ */

/* B seals a TCP/UDP packet to A; returns A's verdict on it */
static int b_to_a(uint8_t proto, uint16_t sport, uint16_t dport)
{
	uint8_t in[256], w[SN_TN_PKT_MAX], out[SN_TN_PKT_MAX];
	size_t il, wl, ol;

	il = l4_pkt(in, proto, B_ADDR, A_ADDR, sport, dport, "SEALNET-MARKER");
	assert_int_equal(sn_tn_run(nb.s->progs.sn_egress, in, il, w, &wl), 0);
	return test_run(in_a, w, wl, out, &ol, 0);
}

static int a_sends(uint8_t proto, uint16_t sport, uint16_t dport)
{
	uint8_t in[256], out[SN_TN_PKT_MAX];
	size_t il, ol;

	il = l4_pkt(in, proto, A_ADDR, B_ADDR, sport, dport, "x");
	return test_run(eg_a, in, il, out, &ol, 0);
}

typedef int (*send_fn)(uint8_t proto, uint16_t sport, uint16_t dport);

/* A rule towards PORT lets the replying side send from PORT only to a
 * flow the opening side started: nothing before (dropped for reason), then
 * exactly the reverse of opener's flow eph -> PORT. */
static void stateful_rule(send_fn opener, send_fn replier,
			  enum sn_drop_reason reason, uint16_t eph)
{
	uint64_t before = drops_a(reason);

	assert_int_equal(replier(6, PORT, 22), 2);
	assert_int_equal(drops_a(reason), before + 1);
	assert_int_equal(opener(6, eph, PORT), 0);
	assert_int_equal(replier(6, PORT, eph), 0);
	assert_int_equal(replier(6, PORT, (uint16_t)(eph + 1)), 2);
	assert_int_equal(drops_a(reason), before + 2);
}

static void stateful_egress_rule(void **state)
{
	/* A's egress rule B:5201 does not let B reach A:22 from port 5201;
	 * a real flow A:41000 -> B:5201 opens exactly its reverse */
	stateful_rule(a_sends, b_to_a, SN_DROP_POLICY_INGRESS, 41000);
}

static void stateful_ingress_rule(void **state)
{
	/* A's ingress rule :5201 does not let a local sender using source
	 * port 5201 reach any port of B; B opens B:42000 -> A:5201: A's
	 * replies to exactly that pass */
	stateful_rule(b_to_a, a_sends, SN_DROP_POLICY_EGRESS, 42000);
}

static void stateful_port0_rule(void **state)
{
	uint64_t before = drops_a(SN_DROP_POLICY_INGRESS);

	/* A's rule "udp to B, any port" opens nothing towards A */
	assert_int_equal(b_to_a(17, 53, 9999), 2);
	assert_int_equal(b_to_a(17, 7777, 9999), 2);
	assert_int_equal(drops_a(SN_DROP_POLICY_INGRESS), before + 2);
	assert_int_equal(a_sends(17, 9999, 53), 0);
	assert_int_equal(b_to_a(17, 53, 9999), 0);
	assert_int_equal(b_to_a(17, 54, 9999), 2);
}

/* A cgroup v2 hierarchy of our own (the machine's may be v1 or hybrid),
 * with one child cgroup; returns the child's id. */
static uint64_t cg_child(char *root, size_t rl, char *child, size_t cl)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh.handle_bytes = sizeof(uint64_t)};
	char tmpl[] = "/tmp/sn-cg-XXXXXX";
	int mnt;

	assert_non_null(mkdtemp(tmpl));
	snprintf(root, rl, "%s", tmpl);
	if (mount("none", root, "cgroup2", 0, NULL))
		sn_tn_die(
			"mount -t cgroup2 (cgroup v2 needed for cgroup rules)",
			errno);
	snprintf(child, cl, "%s/sn-stage-%d", root, (int)getpid());
	assert_int_equal(mkdir(child, 0755), 0);
	assert_int_equal(name_to_handle_at(AT_FDCWD, child, &h.fh, &mnt, 0), 0);
	return h.id;
}

static void cg_enter(const char *cg)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/cgroup.procs", cg);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)getpid());
	assert_int_equal(fclose(f), 0);
}

static void stateful_no_same_direction(void **state)
{
	/* A's egress rule "stage-a may send TCP to B:6000" (cgroup-scoped).
	 * stage-a opens A:41500 -> B:6000.  Another local process (outside
	 * stage-a) that reuses local port 41500 within the idle timeout must
	 * not ride the flow: the flow opens only the reverse direction. */
	char root[64], child[96];
	uint64_t cg = cg_child(root, sizeof(root), child, sizeof(child));
	struct sn_dp_rule r = {.peer_id = 2,
			       .dir = SN_DIR_EGRESS,
			       .proto = 6,
			       .port = 6000,
			       .local_kind = SN_LOCAL_CGROUP,
			       .local = cg};
	uint64_t before = drops_a(SN_DROP_POLICY_EGRESS);

	int v[4];

	assert_int_equal(sn_dp_add_rule(dpa, &r, 4), 0);
	v[0] = a_sends(6, 41500, 6000); /* not in stage-a: no rule */
	cg_enter(child);
	v[1] = a_sends(6, 41500, 6000); /* stage-a: the rule */
	cg_enter(root);
	rmdir(child);
	umount2(root, MNT_DETACH);
	rmdir(root);
	v[2] = b_to_a(6, 6000, 41500);	/* B's reply: the flow */
	v[3] = a_sends(6, 41500, 6000); /* the other process */
	assert_int_equal(v[0], 2);
	assert_int_equal(v[1], 0);
	assert_int_equal(v[2], 0);
	assert_int_equal(v[3], 2);
	assert_int_equal(drops_a(SN_DROP_POLICY_EGRESS), before + 2);
	/* an ingress-opened flow lets A reply; it opens nothing more towards
	 * A than A's ingress rule already allows */
	assert_int_equal(b_to_a(6, 42100, PORT), 0);
	assert_int_equal(a_sends(6, PORT, 42100), 0);
}

static void stateful_timeout(void **state)
{
	/* a flow not seen within its idle timeout no longer opens replies:
	 * shorten A's timeouts through its config map */
	{
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info), zero = 0, id = 0;
		struct sn_config cfg;
		int fd = -1;

		/* find A's sn_config by name among A's program's maps */
		struct bpf_prog_info pi = {0};
		__u32 ids[64], pl = sizeof(pi);

		pi.nr_map_ids = 64;
		pi.map_ids = (uint64_t)(uintptr_t)ids;
		assert_int_equal(bpf_obj_get_info_by_fd(eg_a, &pi, &pl), 0);
		for (__u32 i = 0; i < pi.nr_map_ids && fd < 0; i++) {
			int m = bpf_map_get_fd_by_id(ids[i]);

			len = sizeof(info);
			memset(&info, 0, sizeof(info));
			if (m >= 0 && !bpf_obj_get_info_by_fd(m, &info, &len) &&
			    !strcmp(info.name, "sn_config")) {
				fd = m;
				id = ids[i];
			} else if (m >= 0) {
				close(m);
			}
		}
		assert_true(fd >= 0 && id);
		assert_int_equal(bpf_map_lookup_elem(fd, &zero, &cfg), 0);
		cfg.flow_tcp_s = 1;
		assert_int_equal(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY),
				 0);
		assert_int_equal(a_sends(6, 43000, PORT), 0);
		assert_int_equal(b_to_a(6, PORT, 43000), 0);
		sleep(3);
		assert_int_equal(b_to_a(6, PORT, 43000), 2);
		cfg.flow_tcp_s = SN_FLOW_TCP_S_DEFAULT;
		assert_int_equal(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY),
				 0);
		close(fd);
	}
}

/* ---- 10. no decrypt-and-forward, VLAN, ethertypes, reserved ------------- */

static void not_local(void **state)
{
	uint8_t in[256], w[SN_TN_PKT_MAX], out[SN_TN_PKT_MAX];
	size_t il, wl, ol;
	uint32_t other = sn_test_ip("198.19.7.7"), peer = 1;
	uint64_t before = drops_a(SN_DROP_NOT_LOCAL);

	/* B (hostile) seals a packet for 198.19.7.7 and sends it to A, which
	 * forwards (ip_forward on, a route to 198.19.0.0/16 via lo) */
	assert_int_equal(system("sysctl -qw net.ipv4.conf.all.forwarding=1 "
				"net.ipv4.conf.lo.forwarding=1 && "
				"ip route add 198.19.0.0/16 dev lo"),
			 0);
	sn_tn_upd(nb.s->maps.sn_peer_by_addr, &other, &peer);
	il = tcp_pkt(in, B_ADDR, "198.19.7.7", 44000, PORT, 0x10,
		     "SEALNET-MARKER-forward-me");
	assert_int_equal(sn_tn_run(nb.s->progs.sn_egress, in, il, w, &wl), 0);
	assert_int_equal(test_run(in_a, w, wl, out, &ol, 0), 2);
	assert_int_equal(drops_a(SN_DROP_NOT_LOCAL), before + 1);
	/* addressed to A itself: still opens with forwarding on */
	assert_int_equal(b_to_a(6, 44001, PORT), 0);
	assert_int_equal(system("ip route del 198.19.0.0/16 dev lo && "
				"sysctl -qw net.ipv4.conf.all.forwarding=0 "
				"net.ipv4.conf.lo.forwarding=0"),
			 0);
	bpf_map_delete_elem(bpf_map__fd(nb.s->maps.sn_peer_by_addr), &other);
}

/* an IPv4 TCP frame from src to dst with ntags 802.1Q tags */
static size_t vlan_pkt(uint8_t *p, const char *src, const char *dst, int ntags,
		       uint16_t outer_tpid)
{
	uint8_t plain[256];
	size_t n =
		tcp_pkt(plain, src, dst, 40000, PORT, 0x10, "SEALNET-MARKER");
	size_t off = 12;

	memcpy(p, plain, 12);
	for (int i = 0; i < ntags; i++) {
		uint16_t tpid = i == 0 ? outer_tpid : 0x8100;

		p[off] = (uint8_t)(tpid >> 8);
		p[off + 1] = (uint8_t)tpid;
		p[off + 2] = 0;
		p[off + 3] = (uint8_t)(100 + i);
		off += 4;
	}
	memcpy(p + off, plain + 12, n - 12);
	return n + 4 * (size_t)ntags;
}

static void vlan_to_and_from_peer(void **state)
{
	uint8_t in[512], out[SN_TN_PKT_MAX];
	size_t il, ol;
	uint64_t before = drops_a(SN_DROP_ETHERTYPE);

	il = vlan_pkt(in, A_ADDR, B_ADDR, 1, 0x8100);
	assert_int_equal(test_run(eg_a, in, il, out, &ol, 0), 2);
	il = vlan_pkt(in, A_ADDR, B_ADDR, 2, 0x88a8); /* QinQ */
	assert_int_equal(test_run(eg_a, in, il, out, &ol, 0), 2);
	il = vlan_pkt(in, B_ADDR, A_ADDR, 1, 0x8100);
	assert_int_equal(test_run(in_a, in, il, out, &ol, 0), 2);
	il = vlan_pkt(in, B_ADDR, A_ADDR, 2, 0x88a8);
	assert_int_equal(test_run(in_a, in, il, out, &ol, 0), 2);
	assert_int_equal(drops_a(SN_DROP_ETHERTYPE), before + 4);
	/* tagged, not a peer: the unprotected mode (pass) decides */
	il = vlan_pkt(in, A_ADDR, "198.19.0.9", 1, 0x8100);
	assert_int_equal(test_run(eg_a, in, il, out, &ol, 0), 0);
}

static void ethertypes(void **state)
{
	uint8_t in[128] = {0}, out[SN_TN_PKT_MAX];
	size_t ol;

	in[12] = 0x08; /* ARP passes */
	in[13] = 0x06;
	assert_int_equal(test_run(eg_a, in, 60, out, &ol, 0), 0);
	in[12] = 0x88; /* MPLS: unprotected mode pass */
	in[13] = 0x47;
	assert_int_equal(test_run(eg_a, in, 60, out, &ol, 0), 0);
}

static void reserved_bits(void **state)
{
	uint8_t in[256], w[SN_TN_PKT_MAX], out[SN_TN_PKT_MAX];
	size_t il, wl, ol;
	uint64_t before = drops_a(SN_DROP_RESERVED);

	il = tcp_pkt(in, B_ADDR, A_ADDR, 45000, PORT, 0x10, "reserved");
	assert_int_equal(sn_tn_run(nb.s->progs.sn_egress, in, il, w, &wl), 0);
	w[42 + 3] = 1;
	assert_int_equal(test_run(in_a, w, wl, out, &ol, 0), 2);
	assert_int_equal(drops_a(SN_DROP_RESERVED), before + 1);
}

/* ---- 4. a replay while the key slot is replaced -------------------------- */

struct replayer {
	_Atomic(const uint8_t *) pkt;
	size_t len;
	atomic_int stop;
	atomic_long accepted, runs;
};

static void *replay_loop(void *arg)
{
	struct replayer *r = arg;
	uint8_t out[SN_TN_PKT_MAX];
	size_t ol;

	while (!atomic_load(&r->stop)) {
		const uint8_t *p = atomic_load(&r->pkt);

		if (!p)
			continue;
		if (test_run(in_a, p, r->len, out, &ol, 0) == 0)
			atomic_fetch_add(&r->accepted, 1);
		atomic_fetch_add(&r->runs, 1);
	}
	return NULL;
}

/* B's tx slot s on node B (raw): key, epoch, fresh generation */
static void b_tx_key(unsigned int s, const uint8_t *key, uint16_t epoch,
		     uint32_t gen)
{
	struct sn_tx tx = {0};
	uint32_t peer = 1;

	assert_int_equal(
		bpf_map_lookup_elem(bpf_map__fd(nb.s->maps.sn_tx), &peer, &tx),
		0);
	sn_tn_key(&tx.slot[s], key, epoch, gen);
	tx.cur = s; /* gen: greater than any before (a fresh counter) */
	sn_tn_upd(nb.s->maps.sn_tx, &peer, &tx);
}

static void rekey_replay_race(void **state)
{
	static uint8_t w[2][SN_TN_PKT_MAX];
	struct replayer r;
	pthread_t th;
	uint8_t in[256], out[SN_TN_PKT_MAX], key[32];
	size_t il, ol, wl = 0;
	const int trials = 1500;

	atomic_init(&r.pkt, NULL);
	r.len = 0;
	atomic_init(&r.stop, 0);
	atomic_init(&r.accepted, 0);
	atomic_init(&r.runs, 0);

	il = tcp_pkt(in, B_ADDR, A_ADDR, 46000, PORT, 0x10,
		     "SEALNET-MARKER-replayed");
	assert_int_equal(pthread_create(&th, NULL, replay_loop, &r), 0);
	for (int i = 0; i < trials; i++) {
		uint16_t e = epoch_next++;
		unsigned int s = (unsigned int)i & 1;

		memset(key, 0, sizeof(key));
		memcpy(key, &i, sizeof(i));
		key[31] = 0x5a;
		/* a fresh key in A's rx slot s and B's tx slot s */
		assert_int_equal(
			sn_dp_install_key(dpa, 2, SN_KEY_RX, s, e, key), 0);
		b_tx_key(s, key, e, (uint32_t)i + 10);
		assert_int_equal(
			sn_tn_run(nb.s->progs.sn_egress, in, il, w[s], &wl), 0);
		/* its one legitimate opening, then the replayer hammers it
		 * while the slot is replaced by the next key */
		assert_int_equal(test_run(in_a, w[s], wl, out, &ol, 0), 0);
		r.len = wl;
		{
			long r0 = atomic_load(&r.runs);

			atomic_store(&r.pkt, w[s]);
			while (atomic_load(&r.runs) < r0 + 2)
				; /* the replayer is at it */
		}
		key[31] = 0xa5;
		assert_int_equal(sn_dp_install_key(dpa, 2, SN_KEY_RX, s,
						   epoch_next++, key),
				 0);
		atomic_store(&r.pkt, NULL);
	}
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	print_message(
		"replays during %d key replacements: %ld runs, %ld accepted\n",
		trials, (long)r.runs, (long)r.accepted);
	assert_int_equal(r.accepted, 0);
	/* restore A's and B's epoch 7 keys for later tests */
	assert_int_equal(sn_dp_install_key(dpa, 2, SN_KEY_RX, 0, 7, kba), 0);
	b_tx_key(0, kba, 7, 100000);
}

/* ---- 5. (key, counter) unique while rekeying under a sealing load -------- */

#define SEALS	     20000
#define SEAL_PAYLOAD 1200 /* long AEAD: the key is read over ~20 blocks */
#define REKEYS	     3000

struct sealer {
	uint8_t (*pkts)[1400];
	atomic_int n;
	atomic_int stop;
};

static void *seal_loop(void *arg)
{
	struct sealer *s = arg;
	uint8_t in[1400], out[SN_TN_PKT_MAX], payload[SEAL_PAYLOAD];
	size_t il, ol;

	memset(payload, 'k', sizeof(payload));
	il = sn_test_mkpkt(in, A_ADDR, B_ADDR, 47000, PORT, payload,
			   sizeof(payload));
	while (!atomic_load(&s->stop) && atomic_load(&s->n) < SEALS) {
		int v = test_run(eg_a, in, il, out, &ol, 0);

		if (v == 0 && ol <= 1400)
			memcpy(s->pkts[atomic_fetch_add(&s->n, 1)], out, ol);
	}
	return NULL;
}

static int opens_with(const uint8_t *pkt, size_t len, const uint8_t *key)
{
	uint8_t nonce[12] = {0}, aad[20], pt[1400], tag[16];
	size_t ct_len = len - 14 - 20 - SN_OVERHEAD;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	for (int i = 0; i < 8; i++) /* BE counter -> LE nonce */
		nonce[4 + i] = pkt[42 + 19 - i];
	memcpy(aad, pkt + 42, 20);
	aad[8] = aad[9] = 0;
	memcpy(tag, pkt + 62 + ct_len, 16);
	ok = EVP_DecryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce) &&
	     EVP_DecryptUpdate(c, NULL, &n, aad, 20) &&
	     EVP_DecryptUpdate(c, pt, &n, pkt + 62, (int)ct_len) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag) &&
	     EVP_DecryptFinal_ex(c, pt + n, &n);
	EVP_CIPHER_CTX_free(c);
	return ok;
}

static void rekey_key(uint8_t *key, int j)
{
	memset(key, 0x77, 32);
	memcpy(key, &j, sizeof(j));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void rekey_seal_race(void **state)
{
	struct sealer s = {0};
	pthread_t th;
	uint8_t key[32];
	uint16_t e0 = epoch_next;
	uint64_t *seen;
	int n, bad = 0, dup = 0, j;
	size_t len = 14 + 20 + 20 + SEAL_PAYLOAD + SN_OVERHEAD;

	s.pkts = calloc(SEALS, sizeof(*s.pkts));
	assert_non_null(s.pkts);
	assert_int_equal(pthread_create(&th, NULL, seal_loop, &s), 0);
	/* rotate as sealnetd does: the next key into the spare slot, flip */
	for (j = 0; j < REKEYS && atomic_load(&s.n) < SEALS; j++) {
		int cur = sn_dp_tx_slot(dpa, 2);

		rekey_key(key, j);
		assert_true(cur >= 0);
		assert_int_equal(sn_dp_install_key(dpa, 2, SN_KEY_TX,
						   (unsigned int)!cur,
						   (uint16_t)(e0 + j), key),
				 0);
		assert_int_equal(sn_dp_set_tx_slot(dpa, 2, (unsigned int)!cur),
				 0);
	}
	atomic_store(&s.stop, 1);
	pthread_join(th, NULL);
	epoch_next = (uint16_t)(e0 + j + 1);
	n = atomic_load(&s.n);
	print_message("%d rekeys against %d sealed packets\n", j, n);
	assert_true(n > 1000);
	/* the independent check: which key really sealed each packet (the
	 * one of its header epoch must open it), and (key, counter) unique */
	seen = calloc((size_t)n, sizeof(*seen));
	assert_non_null(seen);
	for (int i = 0; i < n; i++) {
		const uint8_t *p = s.pkts[i];
		uint16_t ep = (uint16_t)(p[42 + 10] << 8 | p[42 + 11]);
		uint64_t ctr = 0;

		for (int b = 0; b < 8; b++)
			ctr = ctr << 8 | p[42 + 12 + b];
		if (ep == 7)
			memcpy(key, kab, 32);
		else
			rekey_key(key, (int)(uint16_t)(ep - e0));
		if (!opens_with(p, len, key))
			bad++;
		seen[i] = (uint64_t)ep << 48 | ctr;
	}
	qsort(seen, (size_t)n, sizeof(*seen), cmp_u64);
	for (int i = 1; i < n; i++)
		dup += seen[i] == seen[i - 1];
	print_message("packets not sealed by their epoch's key: %d; repeated "
		      "(epoch, counter): %d\n",
		      bad, dup);
	free(seen);
	free(s.pkts);
	assert_int_equal(bad, 0);
	assert_int_equal(dup, 0);
}

/* ---- counters and windows belong to the programs ------------------------ */

/* A's map named name, found through its program prog (as any root
 * process can: BPF_MAP_GET_FD_BY_ID) */
static int a_map_fd(int prog, const char *name)
{
	struct bpf_prog_info pi = {0};
	__u32 ids[64], pl = sizeof(pi);

	pi.nr_map_ids = 64;
	pi.map_ids = (uint64_t)(uintptr_t)ids;
	assert_int_equal(bpf_obj_get_info_by_fd(prog, &pi, &pl), 0);
	for (__u32 i = 0; i < pi.nr_map_ids; i++) {
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info);
		int m = bpf_map_get_fd_by_id(ids[i]);

		if (m >= 0 && !bpf_obj_get_info_by_fd(m, &info, &len) &&
		    !strcmp(info.name, name))
			return m;
		if (m >= 0)
			close(m);
	}
	fail_msg("no map %s", name);
	return -1;
}

/* the sealnet counter of a packet A sealed to B */
static uint64_t a_seal_counter(void)
{
	uint8_t in[256], out[SN_TN_PKT_MAX];
	size_t il, ol;
	uint64_t c = 0;

	il = l4_pkt(in, 6, A_ADDR, B_ADDR, 44100, PORT, "ctr");
	assert_int_equal(test_run(eg_a, in, il, out, &ol, 0), 0);
	for (int i = 0; i < 8; i++) /* eth 14 + ip 20 + udp 8, counter at 12 */
		c = c << 8 | out[14 + 20 + 8 + 12 + i];
	return c;
}

static void counter_rewind_refused(void **state)
{
	/* Another root process rewinds A's send counter for peer B to reuse
	 * (key, counter) pairs: the frozen map refuses the write, through a
	 * descriptor of its own as through any other, and the next packet
	 * takes a fresh counter.  (Replay windows hold a spin lock and
	 * cannot be frozen: docs/wire-format.md §7 says what that leaves.) */
	int ctr = a_map_fd(eg_a, "sn_tx_ctr");
	uint32_t idx = 2 * 2 + 0; /* peer 2, slot 0 */
	uint64_t zero = 0, c1 = a_seal_counter(), c2;
	int r1, e1;

	r1 = bpf_map_update_elem(ctr, &idx, &zero, BPF_ANY);
	e1 = errno;
	c2 = a_seal_counter();
	close(ctr);
	print_message("rewind: counter write %d (%s); counters %llu then "
		      "%llu\n",
		      r1, r1 ? strerror(e1) : "accepted",
		      (unsigned long long)c1, (unsigned long long)c2);
	assert_true(r1 < 0);
	assert_int_equal(e1, EPERM);
	assert_true(c2 > c1);
}

/* ---- policy replacement (hot reload) ------------------------------------ */

static void rules_replace(void **state)
{
	const struct sn_dp_rule keep = {
		.peer_id = 2, .dir = SN_DIR_EGRESS, .proto = 6, .port = PORT};
	const struct sn_dp_rule in = {
		.peer_id = 2, .dir = SN_DIR_INGRESS, .proto = 6, .port = PORT};
	const struct sn_dp_rule udp = {
		.peer_id = 2, .dir = SN_DIR_EGRESS, .proto = 17, .port = 0};
	const struct sn_dp_rule gone = {
		.peer_id = 2, .dir = SN_DIR_EGRESS, .proto = 6, .port = 6001};
	const struct sn_dp_rule v1[] = {keep, in, udp, gone},
				v2[] = {keep, in, udp};
	struct sn_dp_rules_change c;

	assert_int_equal(sn_dp_set_rules(dpa, v1, 4, &c), 0);
	assert_int_equal(c.kept, 3); /* the setup's rules keep their ids */
	assert_int_equal(c.added, 1);
	/* a flow under each egress rule, both answered */
	assert_int_equal(a_sends(6, 44000, PORT), 0);
	assert_int_equal(a_sends(6, 44001, 6001), 0);
	assert_int_equal(b_to_a(6, PORT, 44000), 0);
	assert_int_equal(b_to_a(6, 6001, 44001), 0);
	/* the new version drops the rule to 6001 */
	assert_int_equal(sn_dp_set_rules(dpa, v2, 3, &c), 0);
	assert_int_equal(c.kept, 3);
	assert_int_equal(c.added, 0);
	assert_int_equal(c.removed, 1);
	assert_true(c.flows_cut >= 1);
	/* its flow is cut at once, both ways; the other goes on */
	assert_int_equal(b_to_a(6, 6001, 44001), 2);
	assert_int_equal(a_sends(6, 44001, 6001), 2);
	assert_int_equal(b_to_a(6, PORT, 44000), 0);
	assert_int_equal(a_sends(6, 44000, PORT), 0);
	/* and the same set again changes nothing */
	assert_int_equal(sn_dp_set_rules(dpa, v2, 3, &c), 0);
	assert_int_equal(c.added + c.removed + c.flows_cut, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(control_port_egress),
		cmocka_unit_test(control_port_ingress),
		cmocka_unit_test(stateful_egress_rule),
		cmocka_unit_test(stateful_ingress_rule),
		cmocka_unit_test(stateful_port0_rule),
		cmocka_unit_test(stateful_no_same_direction),
		cmocka_unit_test(stateful_timeout),
		cmocka_unit_test(not_local),
		cmocka_unit_test(vlan_to_and_from_peer),
		cmocka_unit_test(ethertypes),
		cmocka_unit_test(reserved_bits),
		cmocka_unit_test(rekey_replay_race),
		cmocka_unit_test(rekey_seal_race),
		cmocka_unit_test(rules_replace),
		cmocka_unit_test(counter_rewind_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
