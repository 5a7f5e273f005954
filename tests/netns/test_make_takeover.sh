#!/usr/bin/env bash
# A connection from a peer's address must not replace an established MAKE
# session before it authenticated (issue 9, item 10 a).
#
#    h1 198.18.0.1 ---+-- br0 --- h2 198.18.0.2 ---eth1--- mitm "198.18.0.1"
#
# mitm is an on-path attacker that holds h1's address: h2's replies to
# mitm's connections (source ports 40000..40009) are routed to it (a
# policy route on h2 models the diversion an on-path attacker performs).
# While h1 sends to h2, mitm connects to h2's MAKE port as h1: garbage,
# and a complete TLS 1.3 handshake with a HELLO claiming h1's node id and
# bogus evidence.  h2 must keep the established session (same TLS
# session, h1 never loses it, no new MAKE needed) and the traffic must be
# unaffected; mitm's sessions fail on their own.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 2
H1=$(netns_addr h1) H2=$(netns_addr h2)
crypto_drops() {
	dp_status "$1" | jq '[.drops.BAD_TAG.count, .drops.NO_KEY.count,
		.drops.REPLAY.count, .drops.TOO_OLD.count] | add'
}

# the attacker's host, wired to h2, with h1's address
netns_add mitm
M=$(netns_name mitm)
ip -n "$(netns_name h2)" link add eth1 type veth peer name eth0 netns "$M"
ip -n "$(netns_name h2)" link set eth1 up
ip -n "$M" link set eth0 up
ip -n "$M" addr add "$H1/32" dev eth0
ip -n "$M" route add "$H2/32" dev eth0
netns_exec h2 sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0
netns_exec h2 ip rule add to "$H1" ipproto tcp sport 51821 dport 40000-40009 table 77 pref 77
netns_exec h2 ip route add "$H1/32" dev eth1 table 77
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=h1 -keyout "$DP_DIR/mitm.key" -out "$DP_DIR/mitm.crt" 2>/dev/null

dp_sim_platform
extra=', "rekey_interval_s": 1, "session_lifetime_s": 60'
r6000() { printf '{"peer":"%s","direction":"%s","protocol":"tcp","port":6000}' "$1" "$2"; }
dp_make_config h1 "h2" "$(r6000 h2 egress)" "$extra"
dp_make_config h2 "h1" "$(r6000 h1 ingress)" "$extra"
dp_policy h1 h2
dp_start h2
dp_start h1
check "MAKE complete: h1 -> h2" dp_wait_peer h1 h2
check "MAKE complete: h2 -> h1" dp_wait_peer h2 h1
sleep 1

s0=$(dp_peer h2 h1 session)
acc0=$(grep -c "evidence accepted" "$DP_DIR/h2.log" || true)
f1=$(grep -c "MAKE failed" "$DP_DIR/h1.log" || true)
f2=$(grep -c "peer h1: .*failed" "$DP_DIR/h2.log" || true)
e0=$(dp_peer h2 h1 tx_epoch)
d1=$(crypto_drops h1) d2=$(crypto_drops h2)
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/sink" &
sink=$!
netns_wait_listen h2 6000
netns_exec h1 python3 "$here/tcp_sink.py" send "$H2" 6000 8000000 TAKEOVER 6 >"$DP_DIR/want" &
sender=$!
for i in 0 1 2; do
	sleep 1
	netns_exec mitm python3 "$here/make_intruder.py" garbage "$H2" 51821 $((40000 + i)) \
		>>"$DP_DIR/mitm.out" 2>&1 || echo "garbage $i: failed" >>"$DP_DIR/mitm.out"
	netns_exec mitm python3 "$here/make_intruder.py" hello "$H2" 51821 $((40005 + i)) 1 \
		"$DP_DIR/mitm.crt" "$DP_DIR/mitm.key" >>"$DP_DIR/mitm.out" 2>&1 ||
		echo "hello $i: failed" >>"$DP_DIR/mitm.out"
done
wait $sender || true
wait $sink || true
sed 's/^/   mitm: /' "$DP_DIR/mitm.out"
f2n=$(( $(grep -c "peer h1: .*failed" "$DP_DIR/h2.log" || true) - f2 ))
check "mitm completed TLS with h2 as h1 (its HELLO got h2's VERDICT)" \
	[ "$(grep -c "tls up; server sent message types \[.*3" "$DP_DIR/mitm.out")" -ge 1 ]
check "h2 saw mitm's six sessions fail ($f2n)" [ "$f2n" -ge 6 ]
check "h1 never lost its session to h2 ($f1 -> $(grep -c "MAKE failed" "$DP_DIR/h1.log" || true) failures)" \
	[ "$(grep -c "MAKE failed" "$DP_DIR/h1.log" || true)" = "$f1" ]
check "no new MAKE was needed (h2 accepted evidence $acc0 -> $(grep -c "evidence accepted" "$DP_DIR/h2.log" || true) times)" \
	[ "$(grep -c "evidence accepted" "$DP_DIR/h2.log" || true)" = "$acc0" ]
check "h2 still holds the same TLS session with h1 ($s0)" \
	[ "$s0" != null -a "$(dp_peer h2 h1 session)" = "$s0" ]
check "which kept rekeying (epoch $e0 -> $(dp_peer h2 h1 tx_epoch))" \
	[ "$(dp_peer h2 h1 tx_epoch)" -ge $((e0 + 3)) ]
check "h1 -> h2 carried 8 MB intact during the attack" \
	[ -s "$DP_DIR/want" -a "$(cat "$DP_DIR/want")" = "$(cat "$DP_DIR/sink")" ]
check "no sealed packet dropped (h1 $d1 -> $(crypto_drops h1), h2 $d2 -> $(crypto_drops h2))" \
	[ "$(crypto_drops h1)" = "$d1" -a "$(crypto_drops h2)" = "$d2" ]
check "h2 established with h1" dp_wait_peer h2 h1
for h in h1 h2; do # clean exit: no sanitizer report, no leak
	check "$h's sealnetd stops cleanly" dp_stop $h
done
exit "$fails"
