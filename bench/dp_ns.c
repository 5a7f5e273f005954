// SPDX-License-Identifier: Apache-2.0
/*
 * dp_ns: ns per packet of the TC data plane (bpf/sealnet.bpf.c) measured
 * with BPF_PROG_TEST_RUN on crafted Ethernet + IPv4 + TCP packets, two
 * loaded instances playing node 1 (198.18.0.1) and node 2 (198.18.0.2) as
 * in tests/bpf/test_dataplane.c.  Root.  Not a test: figures only.
 *
 *   dp_ns [-r REPEAT] [-n SINGLES] [-k RUNS] [SIZE...]
 *
 *   REPEAT   .repeat of one kernel-timed run (default 20000)
 *   SINGLES  packets per run in single-shot mode (default 4000)
 *   RUNS     runs per figure; the figure is their median (default 7)
 *   SIZE     inner TCP payload bytes (default 64 512 1400)
 *
 * Cases (what exactly is timed is the kernel's own `duration`, i.e. the
 * program only: no syscall, no skb allocation, no copy in or out):
 *
 *   baseline  sn_egress, packet to an unprotected address: parse, config
 *             and peer lookup, TC_ACT_OK ("classify only").
 *   policy    sn_egress, packet to the protected peer on a port without a
 *             rule: classify, policy lookups, drop (counters; the ring
 *             buffer event is suppressed: events_per_sec = 0).
 *   seal      sn_egress, allowed flow: policy, counter, AEAD seal, packet
 *             rewrite (grow tail, store, IP header).  Full path.
 *   open      sn_ingress on a packet sealed by node 1, fresh counter:
 *             session, replay pre-check, tag check, decrypt, replay
 *             update, ingress policy, rewrite.  Full path.
 *   reject    sn_ingress on a sealed packet with one tag bit flipped:
 *             everything of open up to the tag check (Poly1305 over the
 *             ciphertext), no decryption, no rewrite (BAD_TAG drop).
 *
 * Two timing modes:
 *
 *   repeat  one test run with .repeat = REPEAT; the kernel reports the
 *           mean.  Valid only when the program does not change the packet
 *           or any state that changes its path: the kernel runs it REPEAT
 *           times on the SAME skb.  After one seal the skb is a sealed UDP
 *           packet (the next 19999 runs are policy drops); after one open
 *           the counter is seen (the rest are replay drops).  So baseline,
 *           policy and reject only.
 *   single  SINGLES test runs with .repeat = 1, each on a fresh skb, the
 *           run's figure is the median of their kernel durations.  Every
 *           case.  Includes the kernel timer's own cost (two ktime reads)
 *           and colder caches than the repeat loop, so compare a single
 *           figure only with the single baseline.  Each open run opens the
 *           SINGLES packets its seal run produced, in order, once each.
 *
 * Output: one JSON object per line on stdout, then a table (lines
 * starting with '#') with ratios to the baseline of the same mode.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sealnet/abi.h"
#include "sealnet.skel.h"
#include "twonode.h"

#define A_ADDR SN_TN_A
#define B_ADDR SN_TN_B
#define OTHER_ADDR "198.19.0.9" /* not a peer */
#define PORT 5201
#define DENIED_PORT 22
#define PKT_MAX SN_TN_PKT_MAX
#define MAX_SIZES 16
#define MAX_RUNS 64

static const uint8_t k12[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
static const uint8_t k21[32] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4 };

enum bcase { C_BASELINE, C_POLICY, C_SEAL, C_OPEN, C_REJECT, C_MAX };
enum bmode { M_REPEAT, M_SINGLE, M_MAX };

static const char *const case_name[C_MAX] = { "baseline", "policy", "seal",
					      "open", "reject" };
static const char *const mode_name[M_MAX] = { "repeat", "single" };

struct result {
	int valid;
	uint64_t med, min, max;
};

static struct sn_tnode na, nb;
static uint32_t repeat = 20000, singles = 4000, nruns = 7;
static struct result res[MAX_SIZES][C_MAX][M_MAX];

static void die(const char *what, int err)
{
	fprintf(stderr, "dp_ns: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

#define upd sn_tn_upd
#define drops sn_tn_drops

static void node_init(struct sn_tnode *n, uint32_t id, uint32_t peer,
		      const char *peer_addr, const uint8_t *txk,
		      const uint8_t *rxk)
{
	/* no ring-buffer events; no counter limit */
	sn_tn_init(n, id, peer, peer_addr, txk, rxk, 0, UINT64_MAX);
	sn_tn_rule(n, SN_DIR_EGRESS, PORT);
	sn_tn_rule(n, SN_DIR_INGRESS, PORT);
}

/* Ethernet + IPv4 + TCP + plen payload bytes ('a'..'z') */
static size_t mkpkt(uint8_t *p, const char *src, const char *dst,
		    uint16_t sport, uint16_t dport, size_t plen)
{
	uint8_t payload[2048];

	for (size_t i = 0; i < plen && i < sizeof(payload); i++)
		payload[i] = (uint8_t)('a' + i % 26);
	return sn_test_mkpkt(p, src, dst, sport, dport, payload, plen);
}

/* One kernel-timed test run; returns the program's verdict. */
static int trun(struct bpf_program *prog, const uint8_t *in, size_t len,
		uint8_t *out, uint32_t *out_len, uint32_t rep, uint64_t *ns)
{
	size_t ol = 0;
	int v = sn_tn_run_full(prog, in, len, out, &ol, 0, rep, ns);

	if (out_len)
		*out_len = (uint32_t)ol;
	return v;
}

/* The path taken must be the one meant: count its drops. */
static void expect_drops(struct sn_tnode *n, uint32_t reason, uint64_t before,
			 uint64_t count, const char *what, size_t size)
{
	uint64_t got = drops(n, reason) - before;

	if (got == count)
		return;
	fprintf(stderr, "dp_ns: %s at %zu B: %llu drops of reason %u, expected "
		"%llu\n", what, size, (unsigned long long)got, reason,
		(unsigned long long)count);
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void expect(int got, int want, const char *what, size_t size)
{
	if (got == want)
		return;
	fprintf(stderr, "dp_ns: %s at %zu B: verdict %d, expected %d\n", what,
		size, got, want);
	exit(1);
}

static void record(struct result *r, uint64_t *runs)
{
	r->valid = 1;
	r->med = median(runs, nruns); /* sorts */
	r->min = runs[0];
	r->max = runs[nruns - 1];
}

/* Sealed packets of the current single run, opened by the next open run. */
static uint8_t (*wire)[PKT_MAX];
static uint32_t *wire_len;

static void bench_size(int si, size_t size)
{
	static uint8_t pkt_base[PKT_MAX], pkt_pol[PKT_MAX], pkt_ok[PKT_MAX],
		bad[PKT_MAX], out[PKT_MAX];
	size_t lb = mkpkt(pkt_base, A_ADDR, OTHER_ADDR, 40000, PORT, size);
	size_t lp = mkpkt(pkt_pol, A_ADDR, B_ADDR, 40000, DENIED_PORT, size);
	size_t lo = mkpkt(pkt_ok, A_ADDR, B_ADDR, 40000, PORT, size);
	uint64_t rr[C_MAX][MAX_RUNS], sr[C_MAX][MAX_RUNS];
	uint64_t *one = calloc(singles, sizeof(*one));
	uint32_t bl, badlen;
	uint64_t ns, far = (1ull << 62) + (uint64_t)si, d0;

	if (!one)
		die("calloc", ENOMEM);
	/*
	 * A tampered packet for reject: seal one, then write a counter far
	 * ahead of anything opened into its header (so the replay pre-check
	 * always passes and the tag check is reached; the header is
	 * authenticated, so the tag fails), and flip a tag bit as well.
	 */
	expect(trun(na.s->progs.sn_egress, pkt_ok, lo, bad, &badlen, 1, &ns), 0,
	       "seal", size);
	for (int i = 0; i < 8; i++) /* eth 14 + ip 20 + udp 8, counter at 12 */
		bad[14 + 20 + 8 + 12 + i] = (uint8_t)(far >> (56 - 8 * i));
	bad[badlen - 3] ^= 0x10;

	for (uint32_t run = 0; run < nruns; run++) {
		/* repeat mode: the cases that leave the skb and state alone */
		expect(trun(na.s->progs.sn_egress, pkt_base, lb, NULL, NULL,
			    repeat, &rr[C_BASELINE][run]), 0, "baseline", size);
		d0 = drops(&na, SN_DROP_POLICY_EGRESS);
		expect(trun(na.s->progs.sn_egress, pkt_pol, lp, NULL, NULL,
			    repeat, &rr[C_POLICY][run]), 2, "policy", size);
		expect_drops(&na, SN_DROP_POLICY_EGRESS, d0, repeat, "policy",
			     size);
		d0 = drops(&nb, SN_DROP_BAD_TAG);
		expect(trun(nb.s->progs.sn_ingress, bad, badlen, NULL, NULL,
			    repeat, &rr[C_REJECT][run]), 2, "reject", size);
		expect_drops(&nb, SN_DROP_BAD_TAG, d0, repeat, "reject", size);

		/* single mode, interleaved so drift hits every case alike */
		for (uint32_t i = 0; i < singles; i++) {
			expect(trun(na.s->progs.sn_egress, pkt_base, lb, out,
				    NULL, 1, &one[i]), 0, "baseline", size);
		}
		sr[C_BASELINE][run] = median(one, singles);
		for (uint32_t i = 0; i < singles; i++) {
			expect(trun(na.s->progs.sn_egress, pkt_pol, lp, out,
				    NULL, 1, &one[i]), 2, "policy", size);
		}
		sr[C_POLICY][run] = median(one, singles);
		for (uint32_t i = 0; i < singles; i++) {
			expect(trun(na.s->progs.sn_egress, pkt_ok, lo, wire[i],
				    &wire_len[i], 1, &one[i]), 0, "seal", size);
			if (wire_len[i] != lo + SN_OVERHEAD)
				die("seal: unexpected length", EPROTO);
		}
		sr[C_SEAL][run] = median(one, singles);
		for (uint32_t i = 0; i < singles; i++) {
			expect(trun(nb.s->progs.sn_ingress, wire[i], wire_len[i],
				    out, &bl, 1, &one[i]), 0, "open", size);
			if (bl != lo || memcmp(out + 34, pkt_ok + 34, lo - 34))
				die("open: not the packet sealed", EPROTO);
		}
		sr[C_OPEN][run] = median(one, singles);
		d0 = drops(&nb, SN_DROP_BAD_TAG);
		for (uint32_t i = 0; i < singles; i++) {
			expect(trun(nb.s->progs.sn_ingress, bad, badlen, out,
				    NULL, 1, &one[i]), 2, "reject", size);
		}
		expect_drops(&nb, SN_DROP_BAD_TAG, d0, singles, "reject", size);
		sr[C_REJECT][run] = median(one, singles);
	}
	free(one);
	for (int c = 0; c < C_MAX; c++) {
		if (c == C_BASELINE || c == C_POLICY || c == C_REJECT)
			record(&res[si][c][M_REPEAT], rr[c]);
		record(&res[si][c][M_SINGLE], sr[c]);
	}
}

static void print_json(const size_t *sizes, int nsizes)
{
	for (int si = 0; si < nsizes; si++) {
		for (int m = 0; m < M_MAX; m++) {
			const struct result *b = &res[si][C_BASELINE][m];

			for (int c = 0; c < C_MAX; c++) {
				const struct result *r = &res[si][c][m];

				if (!r->valid)
					continue;
				printf("{\"bench\":\"dp_ns\",\"case\":\"%s\","
				       "\"mode\":\"%s\",\"payload\":%zu,"
				       "\"ns\":%llu,\"min\":%llu,\"max\":%llu,"
				       "\"runs\":%u,\"per_run\":%u,"
				       "\"baseline_ns\":%llu,\"ratio\":%.2f,"
				       "\"added_ns\":%lld}\n",
				       case_name[c], mode_name[m], sizes[si],
				       (unsigned long long)r->med,
				       (unsigned long long)r->min,
				       (unsigned long long)r->max, nruns,
				       m == M_REPEAT ? repeat : singles,
				       (unsigned long long)b->med,
				       b->med ? (double)r->med / (double)b->med : 0.0,
				       (long long)r->med - (long long)b->med);
			}
		}
	}
}

static void print_table(const size_t *sizes, int nsizes)
{
	printf("# dp_ns: median of %u runs; repeat mode .repeat=%u, single mode "
	       "median of %u one-shot runs per run\n", nruns, repeat, singles);
	printf("# %-9s %-6s %7s %9s %9s %8s\n", "case", "mode", "payload",
	       "ns/pkt", "+ns", "x base");
	for (int m = 0; m < M_MAX; m++) {
		for (int c = 0; c < C_MAX; c++) {
			for (int si = 0; si < nsizes; si++) {
				const struct result *r = &res[si][c][m];
				const struct result *b = &res[si][C_BASELINE][m];

				if (!r->valid)
					continue;
				printf("# %-9s %-6s %7zu %9llu %9lld %8.2f\n",
				       case_name[c], mode_name[m], sizes[si],
				       (unsigned long long)r->med,
				       (long long)r->med - (long long)b->med,
				       (double)r->med / (double)b->med);
			}
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: dp_ns [-r REPEAT] [-n SINGLES] [-k RUNS] "
			"[SIZE...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	size_t sizes[MAX_SIZES] = { 64, 512, 1400 };
	int nsizes = 3, opt;

	while ((opt = getopt(argc, argv, "r:n:k:h")) != -1) {
		switch (opt) {
		case 'r':
			repeat = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			singles = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			nruns = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (!repeat || !singles || !nruns || nruns > MAX_RUNS)
		usage();
	if (optind < argc) {
		nsizes = 0;
		for (int i = optind; i < argc && nsizes < MAX_SIZES; i++) {
			sizes[nsizes] = strtoul(argv[i], NULL, 10);
			/* the sealed packet must fit the 1500 MTU */
			if (sizes[nsizes] == 0 ||
			    sizes[nsizes] > 1500 - 40 - SN_OVERHEAD)
				usage();
			nsizes++;
		}
	}
	wire = calloc(singles, sizeof(*wire));
	wire_len = calloc(singles, sizeof(*wire_len));
	if (!wire || !wire_len)
		die("calloc", ENOMEM);
	sn_tn_netns();
	node_init(&na, 1, 2, B_ADDR, k12, k21);
	node_init(&nb, 2, 1, A_ADDR, k21, k12);
	for (int si = 0; si < nsizes; si++)
		bench_size(si, sizes[si]);
	print_json(sizes, nsizes);
	print_table(sizes, nsizes);
	sealnet_bpf__destroy(na.s);
	sealnet_bpf__destroy(nb.s);
	free(wire);
	free(wire_len);
	return 0;
}
