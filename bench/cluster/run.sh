#!/usr/bin/env bash
# bench/cluster: sealnet deploy -> every edge carries a sealed probe, for
# N nodes in network namespaces on this machine (manifests from
# gen_manifest.py: a pipeline plus an all-to-all stage of 10 nodes), with a
# per-phase breakdown and the predicted critical path of the same cluster
# on separate machines.
#
#   bench/cluster/run.sh [-b BUILD] [-c CONCURRENCY] N...   (default 10 50 100)
#
# Phases (from deploy --json's events, seconds since deploy started):
#   verify+compile   manifest, signatures, per-node configs written
#   netns            namespaces, bridge, veths, addresses (ip -batch)
#   start            sealnetd spawned -> data plane loaded: self-test
#                    (kernel AEAD KAT), BPF load + attach (per node)
#   make             data plane loaded -> keyed with every peer: evidence
#                    both ways + appraisal + MAKE per edge (per node)
#   probe            last node keyed -> last edge's probe seen sealed and
#                    opened in the counters
# Critical path on separate machines (each node its own CPUs, all started
# at once; printed as critical_path_s with its terms): netns/setup is per
# machine and parallel; per node: one sealnetd start alone (measured
# first: a 2-node deploy with concurrency 1, the first node's spawn ->
# data plane loaded as deploy's 50 ms polls saw it, with the kernel AEAD
# self-test run, not taken from a record: SEALNET_SELFTEST_CACHE=off, as
# on a machine of its own) plus the busiest node's MAKE fan-out: max degree
# x one MAKE (bench/make_latency's median "MAKE to ready", both sides on
# this machine) -- an upper bound, since sealnetd runs a node's MAKEs in
# parallel; plus one status poll (50 ms) to see the probe.  Not in it: the
# network's round trips, a key broker (these manifests have none), a TEE's
# real report latency.  critical_path_upper_s adds one MAKE redial
# backoff (at most 200 ms): a dial that finds its peer still starting.
#
# Each N's sealnetd share a fresh kernel AEAD self-test record directory
# (docs/sealnetd.md): the first node of the run runs the test, the others
# find its pass; older builds ignore the variable and run it each.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
B=$here/../../build/test
CONC=8
while getopts b:c: o; do
	case $o in
	b) B=$OPTARG ;;
	c) CONC=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- 10 50 100
S=$B/cli/sealnet
T=$(mktemp -d /tmp/sealnet-bench-cluster.XXXXXX)
trap '"$S" undeploy --state "$T/state" >/dev/null 2>&1; rm -rf "$T"' EXIT
"$S" workflow keygen "$T/d.key" >"$T/kg"
PUB=$(grep -oE '[0-9a-f]{64}' "$T/kg")
# the distributed critical path's terms, measured here: one sealnetd start
# alone (2-node manifest, concurrency 1: the first node starts with
# nothing else of ours running) and one MAKE (bench/make_latency, median
# "MAKE to ready", the pair on one CPU)
python3 "$here/gen_manifest.py" 2 "$PUB" --mesh 0 >"$T/d2.json"
"$S" deploy "$T/d2.json" --print-measurements --state "$T/state" >"$T/m2.json"
python3 "$here/gen_manifest.py" 2 "$PUB" --mesh 0 --measurements "$T/m2.json" >"$T/w2.json"
"$S" workflow sign "$T/w2.json" --domain d --key "$T/d.key" >/dev/null
SEALNET_SELFTEST_CACHE=off "$S" deploy "$T/w2.json" --state "$T/state" --json --concurrency 1 >"$T/ev2"
ALONE=$(grep -h "started in" "$T/state/nodes/n2/sealnetd.log" | sed 's/.*started in/started in/' || true)
"$S" undeploy --state "$T/state" >/dev/null
START1=$(jq -r 'select(.event == "done") | .node_times | map(select(.node == "n2"))[0] | .dataplane - .started' "$T/ev2")
MAKE1=0.005
if [ -x "$B/bench/make_latency" ]; then
	MAKE1=$("$B/bench/make_latency" -n 20 2>/dev/null | grep "^{" | jq -r "select(.op == \"make_ready\") | .wall_median_us / 1e6")
fi
echo "# one sealnetd start alone: $START1 s; one MAKE (pair): $MAKE1 s"
echo "# its log: $ALONE"
echo "# bench/cluster $(date -u +%FT%TZ) build $B, concurrency $CONC, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "$@"; do
	python3 "$here/gen_manifest.py" "$n" "$PUB" >"$T/draft.json"
	"$S" deploy "$T/draft.json" --print-measurements --state "$T/state" >"$T/meas.json"
	python3 "$here/gen_manifest.py" "$n" "$PUB" --measurements "$T/meas.json" >"$T/w.json"
	rm -f "$T/w.sig.json"
	"$S" workflow sign "$T/w.json" --domain d --key "$T/d.key" >/dev/null
	t0=$(date +%s.%N)
	rc=0
	SEALNET_SELFTEST_CACHE=$T/selftest-$n "$S" deploy "$T/w.json" \
		--state "$T/state" --json --timeout 120 \
		--concurrency "$CONC" >"$T/ev-$n" 2>"$T/err-$n" || rc=$?
	t1=$(date +%s.%N)
	# each sealnetd's own account of its start (its log, docs/sealnetd.md)
	cat "$T"/state/nodes/*/sealnetd.log 2>/dev/null | grep "started in" >"$T/cost-$n" || true
	cat "$T"/state/nodes/*/sealnetd.log 2>/dev/null | grep "self-test passed" >"$T/st-$n" || true
	"$S" undeploy --state "$T/state" >/dev/null
	python3 - "$T/ev-$n" "$n" "$rc" "$t0" "$t1" "$T/w.json" "$START1" "$MAKE1" "$T/cost-$n" "$T/st-$n" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
n, rc, t0, t1 = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
wf = json.load(open(sys.argv[6]))
done = [e for e in ev if e["event"] == "done"][0]
ver = [e for e in ev if e["event"] == "verified"][0]["t"]
nt = done["node_times"]
start = [x["dataplane"] - x["started"] for x in nt if x["dataplane"]]
make = [x["keyed"] - x["dataplane"] for x in nt if x["keyed"]]
# degree (peers) per node from the manifest
stage_of = {}
for s in wf["stages"]:
    for x in s["nodes"]:
        stage_of[x] = s["name"]
peers = {x["name"]: set() for x in wf["nodes"]}
for f in wf["flows"]:
    for s in wf["stages"]:
        if s["name"] == f["from"]: a = s["nodes"]
        if s["name"] == f["to"]: b = s["nodes"]
    for x in a:
        for y in b:
            if x != y:
                peers[x].add(y); peers[y].add(x)
deg = {k: len(v) for k, v in peers.items()}
last_keyed = max(x["keyed"] for x in nt)
last_edge = max(done["edge_times"]) if done["edge_times"] else 0
pct = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))] if v else float("nan")
start1, make1 = float(sys.argv[7]), float(sys.argv[8])
out = {
    "nodes": n, "edges": done["edges"], "proven": done["proven"], "ok": done["ok"], "exit": rc,
    "wall_s": round(t1 - t0, 3),
    "verify_compile_s": round(ver, 3),
    "netns_s": round(done["netns_done"] - ver, 3),
    "start_s_median": round(pct(start, .5), 3), "start_s_max": round(max(start), 3), "start_s_min": round(min(start), 3),
    "make_s_median": round(pct(make, .5), 3), "make_s_max": round(max(make), 3),
    "all_keyed_s": round(last_keyed, 3), "all_edges_s": round(last_edge, 3),
    "probe_s": round(last_edge - last_keyed, 3),
    "max_degree": max(deg.values()),
    # separate machines, started at once: one start + the busiest node's
    # MAKEs one after the other (an upper bound: sealnetd runs them
    # concurrently) + one status poll (50 ms) to see the probe
    "critical_path_s": round(start1 + max(deg.values()) * make1 + 0.05, 3),
    "critical_path_upper_s": round(start1 + 0.2 + max(deg.values()) * make1 + 0.05, 3),
    "critical_terms": {"start": round(start1, 4), "make": round(make1, 4), "max_degree": max(deg.values()), "poll": 0.05, "redial": 0.2},
}
# per sealnetd (its log line "started in W ms: configuration A, kernel
# AEAD self-test B, data plane load+attach C, install+measure D,
# MAKE/control/metrics E; CPU U ms user, S ms system"): medians, ms
import re
cost = [list(map(float, re.findall(r"[0-9]+\.[0-9]+", l)))[:8] for l in open(sys.argv[9])]
cost = [c for c in cost if len(c) == 8]
keys = ["wall", "config", "selftest", "dp_load_attach", "install_measure", "make_ctl", "cpu_user", "cpu_sys"]
if cost:
    out["sealnetd_start_ms_median"] = {k: round(pct([c[i] for c in cost], .5), 1) for i, k in enumerate(keys)}
# how many nodes ran the kernel AEAD self-test (the rest used a pass
# recorded by an earlier node of the run)
st = open(sys.argv[10]).read().splitlines()
out["selftest_runs"] = sum(1 for l in st if "recorded pass" not in l)
print(json.dumps(out))
PY
done
