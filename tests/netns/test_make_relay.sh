#!/usr/bin/env bash
# MAKE against a relay: a man in the middle who terminates TLS with each
# honest node and forwards their messages (HELLO, EVIDENCE) unchanged.
#
#    h1 198.18.0.1 ---+        h1 dials h2's MAKE at h3 (diverted);
#    h2 198.18.0.2 ---+-- br0  h2 believes h1 lives at h3's address;
#    h3 198.18.0.3 ---+        h3 runs make_relay (both TLS sessions)
#
# Both nodes' evidence is authentic and their measurements are allowed:
# only the channel binding (the TLS exporter in report_data) differs.
# Both must refuse, with the report-data reason, and install no keys.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 3
H3=$(netns_addr h3)
RELAY="$SN_BUILD/tests/netns/make_relay"
[ -x "$RELAY" ] || netns_fail "no make_relay at $RELAY (build the tests)"

dp_sim_platform
dp_make_config h1 "h2" '{"peer":"h2","direction":"egress","protocol":"tcp","port":6000}'
sed -i "s/\"address\": \"$(netns_addr h2)\" }/\"address\": \"$(netns_addr h2)\", \"make_address\": \"$H3\" }/" "$DP_DIR/h1.json"
dp_make_config h2 "h1" '{"peer":"h1","direction":"ingress","protocol":"tcp","port":6000}'
sed -i "s/\"address\": \"$(netns_addr h1)\" }/\"address\": \"$H3\" }/" "$DP_DIR/h2.json"
dp_policy h1 h2

netns_exec h3 "$RELAY" 51821 "$(netns_addr h2)" 51821 >"$DP_DIR/relay.out" 2>&1 &
netns_wait_listen h3 51821
dp_start h2
dp_start h1
a1=$(dp_appraisal h1 h2) a2=$(dp_appraisal h2 h1)
sed 's/^/   /' "$DP_DIR/relay.out"
check "the relay held a TLS session with each node" grep -q "two TLS sessions up" "$DP_DIR/relay.out"
echo "   h1 on h2's evidence: $a1"
echo "   h2 on h1's evidence: $a2"
check "h1 rejects the relayed evidence: report-data (channel binding)" grep -q "report-data" <<<"$a1"
check "h2 rejects the relayed evidence: report-data (channel binding)" grep -q "report-data" <<<"$a2"
check "h1 installed no keys for h2" [ "$(dp_peer h1 h2 tx_epoch)" = 0 ]
check "h2 installed no keys for h1" [ "$(dp_peer h2 h1 tx_epoch)" = 0 ]
exit "$fails"
