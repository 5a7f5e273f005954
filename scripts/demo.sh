#!/usr/bin/env bash
# The demo: $1 = build directory.
#
#   h1 198.18.0.1 ---+    three hosts (network namespaces) on one bridge,
#   h2 198.18.0.2 ---+--  each running sealnetd in MAKE mode with the
#   h3 198.18.0.3 ---+    simulated SEV-SNP TEE.  The appraisal policy
#                         accepts the launch measurements of h1 and h2;
#                         h3 runs something else.
#
# Shows: h1 and h2 attest each other and get keys; h3 is refused with the
# reason; traffic h1 -> h2 crosses the kernel data plane sealed (a capture
# proves it is ciphertext); keys rotate; a denied flow is dropped with its
# reason; h3's packets are dropped.
set -eu
export SEALNET_BUILD=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
. tests/netns/lib.sh
. tests/netns/dp.sh
netns_init
trap 'rc=$?; set +e; dp_cleanup; netns_trap $rc' EXIT
H1=$(netns_addr h1) H2=$(netns_addr h2)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. kernel AEAD self-test (ChaCha20-Poly1305 in BPF vs OpenSSL)"
"$SEALNET" selftest

say "2. a simulated SEV-SNP platform (ARK -> ASK -> VCEK) and the appraisal policy"
dp_sim_platform
cat "$DP_DIR/simtee.out"
netns_topology 3
extra=', "rekey_interval_s": 3, "session_lifetime_s": 30'
dp_make_config h1 "h2 h3" '{"peer":"h2","direction":"egress","protocol":"tcp","port":6000}' "$extra"
dp_make_config h2 "h1 h3" '{"peer":"h1","direction":"ingress","protocol":"tcp","port":6000},
  {"peer":"h3","direction":"ingress","protocol":"tcp","port":6000}' "$extra"
dp_make_config h3 "h1 h2" '{"peer":"h2","direction":"egress","protocol":"tcp","port":6000}' "$extra"
m1=$("$SEALNETD" --print-measurement --config "$DP_DIR/h1.json")
m2=$("$SEALNETD" --print-measurement --config "$DP_DIR/h2.json")
m3=$("$SEALNETD" --print-measurement --config "$DP_DIR/h3.json")
echo "launch measurements: h1 ${m1:0:16}..  h2 ${m2:0:16}..  h3 ${m3:0:16}.. (not in the policy)"
dp_policy h1 h2

say "3. sealnetd on h1, h2, h3: MAKE (TLS 1.3 + mutual attestation bound to the session)"
dp_start h1
dp_start h2
dp_start h3
dp_wait_peer h1 h2 && dp_wait_peer h2 h1
dp_appraisal h2 h3 >/dev/null
"$SEALNET" status --socket "$DP_DIR/h2.sock" | sed -n '1,9p'

say "4. h1 sends 4 MB of 'SEALNET-DEMO-SECRET' records to h2:6000 (keys rotate every 3 s)"
netns_capture h2 "$DP_DIR/wire.pcap"
netns_exec h2 python3 tests/netns/tcp_sink.py serve "$H2" 6000 >"$DP_DIR/sink" &
sink=$!
sleep 0.5
e0=$(dp_peer h1 h2 tx_epoch)
sent=$(netns_exec h1 python3 tests/netns/tcp_sink.py send "$H2" 6000 4000000 SEALNET-DEMO-SECRET 7)
wait $sink
got=$(cat "$DP_DIR/sink")
echo "sha256 sent     $sent"
echo "sha256 received $got"
[ "$sent" = "$got" ] && echo "=> identical; key epoch $e0 -> $(dp_peer h1 h2 tx_epoch) during the transfer" ||
	{ echo "=> MISMATCH"; exit 1; }

say "5. what the wire carried (capture on h2's link)"
netns_capture_stop
sealed=$(tcpdump -r "$DP_DIR/wire.pcap" -n 'udp port 51820' 2>/dev/null | wc -l)
clear=$(tcpdump -r "$DP_DIR/wire.pcap" -n 'tcp port 6000' 2>/dev/null | wc -l)
hits=$(grep -c SEALNET-DEMO-SECRET "$DP_DIR/wire.pcap" || true)
tcpdump -r "$DP_DIR/wire.pcap" -n -c 3 'udp port 51820' 2>/dev/null
echo "sealed UDP packets: $sealed; plaintext tcp/6000 packets: $clear; 'SEALNET-DEMO-SECRET' found on the wire: $hits times"

say "6. a flow the policy does not allow (h1 -> h2:22), and h3 (not attested) -> h2:6000"
"$SEALNET" monitor --socket "$DP_DIR/h1.sock" --count 1 >"$DP_DIR/mon1" &
mon1=$!
"$SEALNET" monitor --socket "$DP_DIR/h3.sock" --count 1 >"$DP_DIR/mon3" &
mon3=$!
sleep 0.3
netns_exec h1 timeout 2 bash -c "echo hi > /dev/tcp/$H2/22" 2>/dev/null && echo "h1 -> h2:22 connected?!" || echo "h1 -> h2:22: connection failed, as it must"
netns_exec h3 timeout 2 bash -c "echo hi > /dev/tcp/$H2/6000" 2>/dev/null && echo "h3 -> h2:6000 connected?!" || echo "h3 -> h2:6000: connection failed, as it must"
wait $mon1 $mon3 || true
echo "h1: $(grep drop "$DP_DIR/mon1")"
echo "h3: $(grep drop "$DP_DIR/mon3")"

say "summary"
echo "h1 and h2 attested each other and got keys; h3 was refused (measurement not in the policy);"
echo "data crossed sealed ($sealed packets, 0 marker bytes in clear, sha256 equal) while keys rotated;"
echo "denied and unattested traffic was dropped in the kernel and reported with its reason."
