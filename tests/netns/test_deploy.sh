#!/usr/bin/env bash
# sealnet deploy / undeploy on a small signed manifest (4 nodes: a pipeline
# n1 -> n2 -> the all-to-all stage {n3, n4}; 5 edges):
#   - an unsigned manifest and a badly signed one are refused, nothing made;
#   - --emit writes per node the local file with its "workflow" member,
#     the manifest and signature copies and a unit; sealnetd --check loads
#     them;
#   - deploy proves every edge (sealed at the sender, opened at the
#     receiver: the counters, read here once more independently);
#   - every node runs the manifest: its measurement log holds the
#     workflow and node-policy events (status mlog_events, its log);
#   - a node restarted with another (validly signed) manifest version is
#     refused by its peers, and refuses them: workflow-mismatch;
#   - a flow the manifest does not have is dropped with a policy reason;
#   - re-running deploy changes nothing (same sealnetd pids, same files);
#   - undeploy leaves no namespace and no process;
#   - SIGINT and SIGTERM in the middle of a deploy leave nothing;
#   - a node whose evidence is refused does not stall the others: their
#     edges are proven, deploy names the node and its edges, exit 1.
set -u
here=$(dirname "$0")
SN_BUILD=${SEALNET_BUILD:-$(cd "$here/../.." && pwd)/build/test}
SEALNET="$SN_BUILD/cli/sealnet"
GEN="$here/../../bench/cluster/gen_manifest.py"
T=$(mktemp -d /tmp/sealnet-deploy.XXXXXX)
ST="$T/state"
fails=0
check() {
	local d=$1
	shift
	if "$@"; then echo "ok: $d"; else echo "FAIL: $d"; fails=$((fails + 1)); fi
}
cleanup() {
	"$SEALNET" undeploy --state "$ST" >/dev/null 2>&1
	[ -n "${CGP:-}" ] && [ -d "$CGP" ] && rmdir "$CGP"
	mountpoint -q "$CG" && umount "$CG"
	ip netns del "snvictim-$$" 2>/dev/null
	rm -rf --one-file-system "$T"
}
trap 'rc=$?; set +e; cleanup; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
[ -x "$SEALNET" ] || { echo "no sealnet at $SEALNET (build first)"; exit 1; }

# our namespaces (tag = the state directory's): none must be left
ours() { ip netns list | awk '{print $1}' | grep -c "^sndp-$1-" || true; }
pids_of() { jq -r '.nodes[].pid' "$1/deploy.json" 2>/dev/null | grep -v '^0$' || true; }
alive() { local p n=0; for p in "$@"; do [ -d "/proc/$p" ] && [ "$(awk '{print $3}' /proc/$p/stat)" != Z ] && n=$((n + 1)); done; echo $n; }
tag_of() { jq -r .tag "$1/deploy.json"; }

# --- a signed manifest whose reference values are this deploy's ---------
# stage p1 (n1) is identified by a cgroup v2 directory that does not exist
# yet: deploy creates it before sealnetd loads its rules, the probe of the
# n1 -> n2 edge runs in it, undeploy removes it.  (`ip netns exec` gives
# sealnetd a fresh /sys: the hierarchy is mounted outside /sys.)
CG="$T/cg2"
# cgroup v2 is one hierarchy machine-wide (this mount shows the same
# tree as every other): the stage's directory is unique to this run, so
# that two runs of this test at once do not share (and remove) it
CGP="$CG/sndp-p1-$$"
mkdir "$CG" && mount -t cgroup2 none "$CG" || { echo "cannot mount cgroup v2"; exit 1; }
gen() { python3 "$GEN" 4 "$PUB" --mesh 2 --cgroup "$CGP" "$@"; }
"$SEALNET" workflow keygen "$T/d.key" >"$T/kg.out" || exit 1
PUB=$(grep -oE '[0-9a-f]{64}' "$T/kg.out")
gen >"$T/draft.json" || exit 1
"$SEALNET" deploy "$T/draft.json" --print-measurements --state "$ST" >"$T/meas.json" ||
	{ echo "print-measurements failed"; exit 1; }
check "--print-measurements leaves no cgroup and no deployment" [ ! -e "$CGP" -a ! -e "$ST/deploy.json" ]
gen --measurements "$T/meas.json" >"$T/w.json"
"$SEALNET" workflow sign "$T/w.json" --domain d --key "$T/d.key" >/dev/null || exit 1

# --- refused: unsigned, bad signature -------------------------------------
cp "$T/w.json" "$T/unsigned.json"
"$SEALNET" deploy "$T/unsigned.json" --state "$ST" >"$T/out" 2>&1
rc=$?
check "an unsigned manifest is refused (exit 4: $rc)" [ "$rc" = 4 ]
check "and nothing was created" [ ! -e "$ST/deploy.json" -a "$(ip netns list | grep -c '^sndp-' || true)" -ge 0 ]
grep -q "refused" "$T/out" && r=0 || r=1
check "the refusal says why ($(grep refused "$T/out" | head -1 | cut -c1-80))" [ "$r" = 0 ]
# the same signature over another manifest (a changed port)
sed 's/"port": 6001/"port": 6002/' "$T/w.json" >"$T/forged.json"
cp "$T/w.sig.json" "$T/forged.sig.json"
"$SEALNET" deploy "$T/forged.json" --state "$ST" >"$T/out" 2>&1
rc=$?
check "a manifest changed after signing is refused (exit 5: $rc)" [ "$rc" = 5 ]
check "and nothing was created" [ ! -e "$ST/deploy.json" ]

# a stage cgroup outside a cgroup v2 file system: refused, nothing made
python3 "$GEN" 4 "$PUB" --mesh 2 --cgroup "$T/notcg" >"$T/notcg.json"
"$SEALNET" workflow sign "$T/notcg.json" --domain d --key "$T/d.key" >/dev/null
"$SEALNET" deploy "$T/notcg.json" --state "$ST" >"$T/out" 2>&1
rc=$?
check "a stage cgroup outside cgroup v2 is refused (exit 2: $rc; $(grep -o 'stage cgroup.*directory' "$T/out" | head -1))" [ "$rc" = 2 ]
check "and neither the directory nor a namespace was made" \
	[ ! -e "$T/notcg" -a ! -e "$ST/deploy.json" ]

# --- --emit: files for real machines, nothing started ----------------------
"$SEALNET" deploy "$T/w.json" --emit "$T/emit" >"$T/out" 2>&1
rc=$?
check "--emit succeeds (exit $rc)" [ "$rc" = 0 ]
check "--emit writes sealnetd.json, the manifest, its signatures and a unit per node" \
	[ "$(ls "$T"/emit/n*/sealnetd.json "$T"/emit/n*/workflow.json "$T"/emit/n*/workflow.sig.json \
		"$T"/emit/n*/sealnetd.service 2>/dev/null | wc -l)" = 16 -a ! -e "$T/emit/n3/policy.json" ]
check "the unit starts sealnetd with its configuration" \
	grep -q '^ExecStart=/usr/local/bin/sealnetd --config /etc/sealnet/sealnetd.json$' "$T/emit/n3/sealnetd.service"
check "n3's local file: the workflow member, local members only ($(jq -c .workflow "$T/emit/n3/sealnetd.json"))" \
	[ "$(jq -c '[.workflow.node, .workflow.manifest, .workflow.signatures, .interface, has("peers"), has("rules"), .make.appraisal_policy]' \
		"$T/emit/n3/sealnetd.json")" = '["n3","workflow.json","workflow.sig.json","eth0",false,false,null]' ]
check "the emitted manifest and signatures are the signed ones" \
	cmp -s "$T/w.json" "$T/emit/n3/workflow.json" && cmp -s "$T/w.sig.json" "$T/emit/n3/workflow.sig.json"
"$SN_BUILD/daemon/sealnetd" --check --config "$T/emit/n3/sealnetd.json" >"$T/chk" 2>&1
check "sealnetd --check loads n3's emitted files: $(cut -c1-90 "$T/chk" | tail -1)" grep -q "node n3, 2 peers" "$T/chk"
check "and started nothing" [ ! -e "$ST/deploy.json" ]
"$SEALNET" deploy "$T/unsigned.json" --emit "$T/emit2" >/dev/null 2>&1
rc=$?
check "--emit of an unsigned manifest is refused (exit $rc), nothing written" [ "$rc" = 4 -a ! -e "$T/emit2" ]

# --- deploy ---------------------------------------------------------------
"$SEALNET" deploy "$T/w.json" --state "$ST" --json --timeout 60 >"$T/events" 2>"$T/err"
rc=$?
check "deploy succeeds (exit $rc)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || { cat "$T/err"; tail -3 "$T/events"; }
done_ev=$(grep '"event":"done"' "$T/events")
check "every edge proven: $(jq -c '{edges, proven, ok}' <<<"$done_ev")" \
	[ "$(jq -r '.ok and .edges == 5 and .proven == 5' <<<"$done_ev")" = true ]
n=$(grep -c '"event":"edge"' "$T/events")
check "five edge events, each with sealed and opened counts >= 1 ($n)" \
	[ "$n" = 5 -a "$(grep '"event":"edge"' "$T/events" | jq -s 'all(.sealed >= 1 and .opened >= 1)')" = true ]
for ph in started dataplane keyed; do
	check "4 nodes $ph" [ "$(grep -c "\"phase\":\"$ph\"" "$T/events")" = 4 ]
done
TAG=$(tag_of "$ST")
check "the stage cgroup was created and recorded" \
	[ -d "$CGP" -a "$(jq -r '.cgroups[0]' "$ST/deploy.json")" = "$CGP" ]
check "one namespace per node and the switch (sndp-$TAG-*): $(ours "$TAG")" [ "$(ours "$TAG")" = 5 ]
# independently: the data plane's counters, n1 -> n2 and n3 -> n4
sock() { echo "$ST/nodes/$1/sealnetd.sock"; }
ctr() { "$SEALNET" status --json --socket "$(sock "$1")" | jq -r ".peers[] | select(.name == \"$2\") | .$3"; }
check "n1 sealed to n2 ($(ctr n1 n2 tx_packets)) and n2 opened from n1 ($(ctr n2 n1 rx_packets))" \
	[ "$(ctr n1 n2 tx_packets)" -ge 1 -a "$(ctr n2 n1 rx_packets)" -ge 1 ]
check "n3 -> n4 sealed and opened" [ "$(ctr n3 n4 tx_packets)" -ge 1 -a "$(ctr n4 n3 rx_packets)" -ge 1 ]
check "n1 and n2 keyed by MAKE ($(ctr n1 n2 state), $(ctr n1 n2 makes) session)" \
	[ "$(ctr n1 n2 state)" = established -a "$(ctr n1 n2 makes)" -ge 1 ]
# every node runs the manifest: 3 data-plane events + workflow + node policy
DIG=$(jq -r 'select(.event == "verified") | .digest' "$T/events")
for nd in n1 n2 n3 n4; do
	ev=$("$SEALNET" status --json --socket "$(sock $nd)" | jq -r .mlog_events)
	grep -q "workflow bench v1 (manifest .*workflow.json, digest ${DIG:0:16}\.\.), node $nd " \
		"$ST/nodes/$nd/sealnetd.log" && r=0 || r=1
	check "$nd runs the manifest (digest ${DIG:0:16}..): $ev measurement-log events, its log says so" [ "$ev" = 5 -a "$r" = 0 ]
done
check "no union policy file is written" [ ! -e "$ST/nodes/n3/policy.json" ]

# --- a flow the manifest does not have: dropped with a policy reason -----
drops() { "$SEALNET" status --json --socket "$(sock "$1")" | jq -r ".drops.$2.count"; }
b=$(drops n1 POLICY_EGRESS)
ip netns exec "sndp-$TAG-n1" timeout 2 bash -c 'echo x > /dev/tcp/198.18.0.2/5999' 2>/dev/null && r=0 || r=1
check "n1 -> n2 tcp/5999 (no such flow) fails" [ "$r" = 1 ]
check "and n1 drops it as POLICY_EGRESS ($b -> $(drops n1 POLICY_EGRESS))" [ "$(drops n1 POLICY_EGRESS)" -gt "$b" ]
# the reverse of a flow: n2 -> n1 (only n1 -> n2 exists)
b=$(drops n2 POLICY_EGRESS)
ip netns exec "sndp-$TAG-n2" timeout 2 bash -c 'echo x > /dev/tcp/198.18.0.1/5001' 2>/dev/null && r=0 || r=1
check "n2 -> n1 (the reverse of a flow) is dropped ($b -> $(drops n2 POLICY_EGRESS))" \
	[ "$r" = 1 -a "$(drops n2 POLICY_EGRESS)" -gt "$b" ]

# --- idempotent -------------------------------------------------------------
pids1=$(pids_of "$ST" | tr '\n' ' ')
sum1=$(cat "$ST"/nodes/*/sealnetd.json "$ST"/nodes/*/workflow*.json | sha256sum)
mt1=$(stat -c %Y "$ST"/nodes/n1/sealnetd.json)
"$SEALNET" deploy "$T/w.json" --state "$ST" >"$T/out2" 2>&1
rc=$?
check "re-running deploy succeeds (exit $rc)" [ "$rc" = 0 ]
grep -q "nothing changed" "$T/out2" && r=0 || r=1
check "and says nothing changed" [ "$r" = 0 ]
check "the same sealnetd processes run ($pids1)" [ "$(pids_of "$ST" | tr '\n' ' ')" = "$pids1" -a "$(alive $pids1)" = 4 ]
check "the configurations are untouched" \
	[ "$(cat "$ST"/nodes/*/sealnetd.json "$ST"/nodes/*/workflow*.json | sha256sum)" = "$sum1" -a \
	"$(stat -c %Y "$ST"/nodes/n1/sealnetd.json)" = "$mt1" ]
check "still 5 namespaces" [ "$(ours "$TAG")" = 5 ]

# --- a node started with another manifest version: refused by its peers ----
# n4 restarted from v2 of the manifest (validly signed, same launch
# measurement: the local file is unchanged): its evidence's log names v2,
# its peers n2 and n3 run v1
jq '.version = 2' "$T/w.json" >"$T/v2.json"
"$SEALNET" workflow sign "$T/v2.json" --domain d --key "$T/d.key" >/dev/null || exit 1
p4=$(jq -r '.nodes[] | select(.name == "n4") | .pid' "$ST/deploy.json")
kill -TERM "$p4"
for _ in $(seq 100); do [ "$(alive "$p4")" = 0 ] && break; sleep 0.05; done
cp "$T/v2.json" "$ST/nodes/n4/workflow.json"
cp "$T/v2.sig.json" "$ST/nodes/n4/workflow.sig.json"
ip netns exec "sndp-$TAG-n4" setsid "$SN_BUILD/daemon/sealnetd" --config "$ST/nodes/n4/sealnetd.json" \
	>>"$ST/nodes/n4/sealnetd.log" 2>&1 </dev/null &
p4b=$!
why() { "$SEALNET" status --json --socket "$(sock "$1")" 2>/dev/null |
	jq -r ".peers[] | select(.name == \"$2\") | \"\(.appraisal) \(.reason)\""; }
for _ in $(seq 100); do
	why n3 n4 | grep -q workflow-mismatch && why n4 n3 | grep -q workflow-mismatch &&
		why n2 n4 | grep -q workflow-mismatch && break
	sleep 0.1
done
check "n4 on v2: n3 refuses it ($(why n3 n4 | grep -o 'workflow-mismatch[^;]*' | head -1 | cut -c1-90))" \
	grep -q workflow-mismatch <<<"$(why n3 n4)"
check "n2 refuses it" grep -q workflow-mismatch <<<"$(why n2 n4)"
check "and n4 refuses n3 ($(why n4 n3 | grep -o 'workflow-mismatch[^;]*' | head -1 | cut -c1-60))" \
	grep -q workflow-mismatch <<<"$(why n4 n3)"
check "n4 has no keys with its peers ($(ctr n4 n3 state), $(ctr n4 n2 state))" \
	[ "$(ctr n4 n3 state)" != established -a "$(ctr n4 n2 state)" != established ]
grep -q "workflow bench v2 " "$ST/nodes/n4/sealnetd.log" && r=0 || r=1
check "n4's log says it runs v2" [ "$r" = 0 ]
pids1="$pids1 $p4b"

# another manifest into the same state directory: refused
"$SEALNET" workflow sign "$T/forged.json" --domain d --key "$T/d.key" --sig "$T/forged2.sig.json" >/dev/null 2>&1
"$SEALNET" deploy "$T/forged.json" --signatures "$T/forged2.sig.json" --state "$ST" >/dev/null 2>&1
rc=$?
check "another manifest over a running one is refused (exit 6: $rc)" [ "$rc" = 6 ]

# --- undeploy -------------------------------------------------------------
"$SEALNET" undeploy --state "$ST" >"$T/out3" 2>&1
check "undeploy succeeds" [ $? = 0 ]
check "no namespace left ($(ours "$TAG"))" [ "$(ours "$TAG")" = 0 ]
check "no sealnetd left ($(alive $pids1) of $pids1)" [ "$(alive $pids1)" = 0 ]
check "state forgotten (deploy.json, nodes/ gone)" [ ! -e "$ST/deploy.json" -a ! -e "$ST/nodes" ]
check "the stage cgroup it created is removed" [ ! -e "$CGP" ]
"$SEALNET" undeploy --state "$ST" >/dev/null 2>&1
check "undeploy again: nothing to do, exit 0" [ $? = 0 ]

# --- SIGINT / SIGTERM in the middle ----------------------------------------
for sig in INT TERM; do
	"$SEALNET" deploy "$T/w.json" --state "$ST" --concurrency 1 >"$T/out4" 2>&1 &
	dpid=$!
	for _ in $(seq 100); do
		[ "$(pids_of "$ST" | wc -l)" -ge 2 ] && break
		sleep 0.05
	done
	TAG=$(tag_of "$ST" 2>/dev/null || echo none)
	pids=$(pids_of "$ST" | tr '\n' ' ')
	kill -"$sig" "$dpid"
	wait "$dpid"
	rc=$?
	check "SIG$sig during deploy ($(echo $pids | wc -w) sealnetd started): exit $rc (not 0)" [ "$rc" != 0 ]
	check "  leaves no namespace ($(ours "$TAG"))" [ "$(ours "$TAG")" = 0 ]
	check "  and no process ($(alive $pids))" [ -n "$pids" -a "$(alive $pids)" = 0 ]
	check "  and no state, no cgroup" [ ! -e "$ST/deploy.json" -a ! -e "$CGP" ]
done

# --- a node that fails attestation does not stall the rest -----------------
jq '.measurements.n4 = "'"$(printf '0%.0s' $(seq 96))"'"' "$T/meas.json" >"$T/meas-bad.json"
gen --measurements "$T/meas-bad.json" >"$T/bad.json"
"$SEALNET" workflow sign "$T/bad.json" --domain d --key "$T/d.key" >/dev/null
# (the same state directory: the node configurations, hence their launch
# measurements, name its paths)
"$SEALNET" deploy "$T/bad.json" --state "$ST" --json --timeout 12 >"$T/events2" 2>"$T/err2"
rc=$?
done2=$(grep '"event":"done"' "$T/events2")
check "deploy with n4's evidence refused: exit 1 ($rc)" [ "$rc" = 1 ]
check "the other edges are proven ($(jq -c '{edges, proven}' <<<"$done2"))" \
	[ "$(jq -r '.proven' <<<"$done2")" = 2 ]
check "n4 is named with the reason ($(jq -r '.failed_nodes[] | select(.node == "n4") | .reason' <<<"$done2" | cut -c1-100))" \
	grep -q "measurement-not-allowed" <<<"$(jq -r '.failed_nodes[] | select(.node != "n4") | .reason' <<<"$done2")"
check "the three edges to or from n4 are named" \
	[ "$(jq '[.failed_edges[] | select(.from == "n4" or .to == "n4")] | length' <<<"$done2")" = 3 ]
TAG2=$(tag_of "$ST")
"$SEALNET" undeploy --state "$ST" >/dev/null
check "undeploy of the failed deploy leaves nothing" [ "$(ours "$TAG2")" = 0 -a ! -e "$CGP" ]
# --- undeploy removes only what deploy names, whatever deploy.json says ----
victim_ns="snvictim-$$"
mkdir -p "$T/victim" "$ST"
ip netns add "$victim_ns"
cat >"$ST/deploy.json" <<JSON
{"tag": "000000", "manifest_digest": "00", "switch_netns": "$victim_ns",
 "cgroups": ["$T/victim"],
 "nodes": [{"name": "x", "netns": "$victim_ns", "dir": "$T/victim", "netns_made": true, "pid": $$}]}
JSON
"$SEALNET" undeploy --state "$ST" >"$T/out5" 2>&1
check "a forged deploy.json: undeploy leaves a foreign namespace, directory and process alone" \
	[ -d "$T/victim" ] && ip netns list | grep -q "^$victim_ns" && kill -0 $$
grep -q "left alone" "$T/out5" && r=0 || r=1
check "and says so" [ "$r" = 0 ]
ip netns del "$victim_ns"
exit "$fails"
