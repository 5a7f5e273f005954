#!/usr/bin/env bash
# The demo: $1 = build directory.
#
#   h1 198.18.0.1  ingest  (domain hospital)   five hosts (network
#   h2 198.18.0.2  align   (domain hospital)   namespaces) on one bridge,
#   h3 198.18.0.3  train   (domain lab)        each running sealnetd from
#   h5 198.18.0.5  train   (domain lab)        one workflow manifest that
#   h4 198.18.0.4  merge   (domain lab)        both domains signed, with
#                                              the simulated SEV-SNP TEE
#   flows: ingest -> align tcp/5001, align -> train tcp/5002,
#          train -> merge tcp/5003, merge -> ingest icmp
#
# Shows: the manifest (lint, two domains sign, verify, graph); every node
# compiles its own policy from it and binds the manifest into its
# evidence; the nodes attest each other and get keys; h5's configuration
# was changed after the manifest was signed, so its peers refuse it with
# the reason; traffic ingest -> align crosses the kernel data plane sealed
# (a capture proves it is ciphertext) while keys rotate; a flow the
# manifest does not have is dropped with its reason; h5's packets are
# dropped.
set -eu
export SEALNET_BUILD=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
. tests/netns/lib.sh
. tests/netns/dp.sh
. tests/netns/wf.sh
netns_init
cgmnt=$(mktemp -d /tmp/sealnet-cg2.XXXXXX)
trap 'rc=$?; set +e; dp_cleanup; rmdir "$cgmnt"/sealnet-demo-* 2>/dev/null; umount "$cgmnt" 2>/dev/null; rmdir "$cgmnt"; netns_trap $rc' EXIT
H1=$(netns_addr h1) H2=$(netns_addr h2) H4=$(netns_addr h4)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
mount -t cgroup2 none "$cgmnt" || netns_fail "cannot mount cgroup v2 (stages are identified by their cgroup)"
for s in ingest align train merge; do mkdir "$cgmnt/sealnet-demo-$s-$SN_NS_ID"; done
cg() { echo "$cgmnt/sealnet-demo-$1-$SN_NS_ID"; }
# run a command in netns H inside stage S's cgroup
in_stage() {
	local h=$1 s=$2
	shift 2
	netns_exec "$h" bash -c "echo \$\$ > '$(cg "$s")/cgroup.procs' && exec \"\$@\"" _ "$@"
}

say "1. kernel AEAD self-test (ChaCha20-Poly1305 in BPF vs OpenSSL)"
"$SEALNET" selftest

say "2. a simulated SEV-SNP platform (ARK -> ASK -> VCEK); each domain's signing key"
dp_sim_platform
cat "$DP_DIR/simtee.out"
netns_topology 5
wf_keys hospital lab
echo "hospital: ${WF_PUB[hospital]:0:16}..  lab: ${WF_PUB[lab]:0:16}.."

say "3. the workflow manifest: 4 stages over 2 domains, signed by both"
W=$DP_DIR/workflow.json
for h in h1 h2 h3 h4 h5; do
	# node-local members only; the manifest's path (the rest comes from it)
	wf_local "$h" "\"workflow\": {\"manifest\": \"$W\", \"node\": \"$h\"},"
done
wf_write "$W" genomics 1 "$(wf_domain hospital), $(wf_domain lab)" \
	"$(wf_node h1 hospital), $(wf_node h2 hospital), $(wf_node h3 lab), $(wf_node h4 lab), $(wf_node h5 lab)" \
	"$(wf_stage ingest hospital h1 "{\"cgroup\":\"$(cg ingest)\"}"),
  $(wf_stage align hospital h2 "{\"cgroup\":\"$(cg align)\"}"),
  $(wf_stage train lab "h3 h5" "{\"cgroup\":\"$(cg train)\"}"),
  $(wf_stage merge lab h4 "{\"cgroup\":\"$(cg merge)\"}")" \
	"$(wf_flow ingest align tcp 5001), $(wf_flow align train tcp 5002),
  $(wf_flow train merge tcp 5003), {\"from\":\"merge\",\"to\":\"ingest\",\"protocol\":\"icmp\"}" \
	'{"rekey_interval_s": 3, "session_lifetime_s": 30}'
"$SEALNET" workflow lint "$W"
wf_sign "$W" hospital lab
"$SEALNET" workflow verify "$W"
"$SEALNET" workflow graph "$W" | grep -- '->'
# h5's operator changes its configuration after the manifest was signed:
# its launch measurement is no longer the one the manifest lists
sed -i 's/"state_dir"/"on_stop": "drop", &/' "$DP_DIR/h5.local.json"

say "4. sealnetd --config LOCAL (with a \"workflow\" member) on h1..h5: MAKE, each peer appraised under the manifest"
for h in h1 h2 h3 h4 h5; do dp_start "$h" --config "$DP_DIR/$h.local.json"; done
grep -h 'workflow genomics v1' "$DP_DIR/h1.log" | sed 's/^sealnetd: //'
dp_wait_peer h1 h2 && dp_wait_peer h2 h3 && dp_wait_peer h3 h4 && dp_wait_peer h4 h1
dp_appraisal h4 h5 >/dev/null
"$SEALNET" status --socket "$DP_DIR/h4.sock" | sed -n '1,12p'

say "5. ingest (h1) sends 4 MB of 'SEALNET-DEMO-SECRET' records to align (h2:5001); keys rotate every 3 s"
netns_capture h2 "$DP_DIR/wire.pcap"
netns_exec h2 python3 tests/netns/tcp_sink.py serve "$H2" 5001 >"$DP_DIR/sink" &
sink=$!
sleep 0.5
e0=$(dp_peer h1 h2 tx_epoch)
sent=$(in_stage h1 ingest python3 tests/netns/tcp_sink.py send "$H2" 5001 4000000 SEALNET-DEMO-SECRET 7)
wait $sink
got=$(cat "$DP_DIR/sink")
echo "sha256 sent     $sent"
echo "sha256 received $got"
[ "$sent" = "$got" ] && echo "=> identical; key epoch $e0 -> $(dp_peer h1 h2 tx_epoch) during the transfer" ||
	{ echo "=> MISMATCH"; exit 1; }

say "6. what the wire carried (capture on h2's link)"
netns_capture_stop
sealed=$(tcpdump -r "$DP_DIR/wire.pcap" -n 'udp port 51820' 2>/dev/null | wc -l)
clear=$(tcpdump -r "$DP_DIR/wire.pcap" -n 'tcp port 5001' 2>/dev/null | wc -l)
hits=$(grep -c SEALNET-DEMO-SECRET "$DP_DIR/wire.pcap" || true)
tcpdump -r "$DP_DIR/wire.pcap" -n -c 3 'udp port 51820' 2>/dev/null
echo "sealed UDP packets: $sealed; plaintext tcp/5001 packets: $clear; 'SEALNET-DEMO-SECRET' found on the wire: $hits times"

say "7. a flow the manifest does not have (ingest -> align tcp/22), and h5 (refused) -> merge tcp/5003"
"$SEALNET" monitor --socket "$DP_DIR/h1.sock" --count 1 >"$DP_DIR/mon1" &
mon1=$!
"$SEALNET" monitor --socket "$DP_DIR/h5.sock" --count 1 >"$DP_DIR/mon5" &
mon5=$!
sleep 0.3
in_stage h1 ingest timeout 2 bash -c "echo hi > /dev/tcp/$H2/22" 2>/dev/null && echo "h1 -> h2:22 connected?!" || echo "h1 -> h2:22: connection failed, as it must"
in_stage h5 train timeout 2 bash -c "echo hi > /dev/tcp/$H4/5003" 2>/dev/null && echo "h5 -> h4:5003 connected?!" || echo "h5 -> h4:5003: connection failed, as it must"
wait $mon1 $mon5 || true
echo "h1: $(grep drop "$DP_DIR/mon1")"
echo "h5: $(grep drop "$DP_DIR/mon5")"

say "summary"
echo "one manifest, signed by both domains, configured all five nodes; each bound it into its evidence;"
echo "h1..h4 attested each other and got keys; h5 was refused (its configuration changed after signing);"
echo "data crossed sealed ($sealed packets, 0 marker bytes in clear, sha256 equal) while keys rotated;"
echo "a flow outside the manifest and the refused node's traffic were dropped in the kernel, with their reason."
