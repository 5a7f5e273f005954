#!/usr/bin/env bash
# Attacks on the fail-closed promise with real sealnetd (MAKE mode, sim
# TEE) on real interfaces (issue 9 items 1 and 2).
#
#    h1 198.18.0.1 ---+     h1, h2: sealnetd, attested to each other
#    h2 198.18.0.2 ---+-- br0
#    h3 198.18.0.3 ---+     h3: an attacker on the wire, no sealnetd
#
# h1's rules: egress h2 tcp/5201, egress h2 udp/any, ingress h2 tcp/7000.
# h2 is a hostile peer: its rules let it send any TCP/UDP to h1.
# Checks:
#  1. spoofed "h2:51821" -> h1:8080 and h1:22 (the old control-port
#     exemption): dropped at h1 (CONTROL_PORT), nothing answers in clear;
#     an ordinary process on h1 cannot reach h2:51821; MAKE still works;
#  2. stateless replies: h2 -> h1:22 from source port 5201, h1 -> h2:22
#     from source port 7000 and UDP h2:53 -> h1:9999 (port-0 rule) are
#     policy drops; the allowed flow h1 -> h2:5201 and its replies carry
#     data intact across rekeys and across a kill -9 restart of h1.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 3
H1=$(netns_addr h1) H2=$(netns_addr h2) H3=$(netns_addr h3)

# a drop counter; 0 when the reason does not exist (a build without it)
cnt() { local v; v=$(dp_drops "$1" "$2"); [ "$v" = null ] && v=0; echo "$v"; }
dp_sim_platform
rule() { printf '{"peer":"%s","direction":"%s","protocol":"%s","port":%s}' "$@"; }
make_extra=', "rekey_interval_s": 1'
dp_make_config h1 "h2" "$(rule h2 egress tcp 5201), $(rule h2 egress udp 0), $(rule h2 ingress tcp 7000)" "$make_extra"
dp_make_config h2 "h1" "$(rule h1 egress tcp 0), $(rule h1 egress udp 0), $(rule h1 ingress tcp 0), $(rule h1 ingress udp 0)" "$make_extra"
dp_policy h1 h2
dp_start h1
dp_start h2
check "MAKE complete: h1 -> h2" dp_wait_peer h1 h2
check "MAKE complete: h2 -> h1" dp_wait_peer h2 h1

# a listener on h1:8080 and h1:22 (services the attacker targets)
for port in 8080 22; do
	netns_exec h1 python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$H1', $port)); s.listen(8); time.sleep(60)" &
	SN_NS_BGPIDS+=($!)
done
netns_wait_listen h1 8080
netns_wait_listen h1 22
# until H's drop counter REASON exceeds N (up to 20 s): each packet is
# counted as it arrives; a loaded machine may take a while to deliver it
wait_cnt() { # H REASON N
	local until=$((SECONDS + 20))
	while [ "$(cnt "$1" "$2")" -le "$3" ] && [ "$SECONDS" -lt "$until" ]; do sleep 0.1; done
}

# ---- 1. the control-port exemption -----------------------------------------
netns_capture h2 "$DP_DIR/h2.pcap" tcp and src host "$H1" and "(" src port 8080 or src port 22 ")"
before=$(cnt h1 CONTROL_PORT)
for port in 8080 22; do
	netns_exec h3 python3 "$here/spoof.py" tcp "$H2" 51821 "$H1" $port
done
wait_cnt h1 CONTROL_PORT $((before + 1))
sleep 0.5 # any answer in clear would have left h1 by now
after=$(cnt h1 CONTROL_PORT)
check "spoofed h2:51821 -> h1:8080 and h1:22 dropped at h1 (CONTROL_PORT $before -> $after)" \
	[ "$after" -ge $((before + 2)) ]
netns_capture_stop
n=$(tcpdump -nr "$DP_DIR/h2.pcap" 2>/dev/null | grep -c "$H1.8080 >\|$H1.22 >" || true)
check "h1 answered none of them in clear ($n packets from h1:8080/:22 on the wire)" [ "$n" = 0 ]

before=$(cnt h1 CONTROL_PORT)
netns_exec h1 timeout 2 bash -c "echo x > /dev/tcp/$H2/51821" 2>/dev/null && r=0 || r=1
check "an ordinary process on h1 cannot reach h2:51821 (CONTROL_PORT $before -> $(cnt h1 CONTROL_PORT))" \
	[ "$r" = 1 -a "$(cnt h1 CONTROL_PORT)" -gt "$before" ]

# ---- 2. stateful replies ---------------------------------------------------
connect_from() { # HOST SRC_ADDR SPORT DST DPORT: 0 when the connect succeeds
	netns_exec "$1" timeout 20 python3 -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$2', $3)); s.settimeout(2)
try: s.connect(('$4', $5))
except Exception: sys.exit(1)"
}
before=$(cnt h1 POLICY_INGRESS)
connect_from h2 "$H2" 5201 "$H1" 22 && r=0 || r=1
check "h2 cannot reach h1:22 from source port 5201 (h1's egress rule tcp/5201; POLICY_INGRESS $before -> $(cnt h1 POLICY_INGRESS))" \
	[ "$r" = 1 -a "$(cnt h1 POLICY_INGRESS)" -gt "$before" ]

netns_exec h2 python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$H2', 22)); s.listen(8); time.sleep(60)" &
SN_NS_BGPIDS+=($!)
netns_wait_listen h2 22
before=$(cnt h1 POLICY_EGRESS)
connect_from h1 "$H1" 7000 "$H2" 22 && r=0 || r=1
check "a process on h1 using source port 7000 cannot reach h2:22 (h1's ingress rule tcp/7000; POLICY_EGRESS $before -> $(cnt h1 POLICY_EGRESS))" \
	[ "$r" = 1 -a "$(cnt h1 POLICY_EGRESS)" -gt "$before" ]

# the receiver runs until it gets a datagram or $DP_DIR/udp9999.stop exists
netns_exec h1 timeout 30 python3 -c "
import os, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$H1', 9999)); s.settimeout(0.1)
end = time.time() + 25
while time.time() < end and not os.path.exists('$DP_DIR/udp9999.stop'):
    try:
        print(s.recv(100).decode())
        break
    except socket.timeout:
        pass" >"$DP_DIR/udp9999" &
udp=$!
netns_wait_listen h1 9999 udp
before=$(cnt h1 POLICY_INGRESS)
netns_exec h2 python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$H2', 53))
s.sendto(b'SEALNET-MARKER-udp', ('$H1', 9999))"
# the receiver is bound: a datagram that got through would be printed
wait_cnt h1 POLICY_INGRESS "$before"
sleep 0.5
touch "$DP_DIR/udp9999.stop"
wait $udp || true
check "UDP h2:53 -> h1:9999 dropped (h1's rule udp to h2 any port opens nothing back; POLICY_INGRESS $before -> $(cnt h1 POLICY_INGRESS))" \
	[ ! -s "$DP_DIR/udp9999" -a "$(cnt h1 POLICY_INGRESS)" -gt "$before" ]

# the allowed flow and its replies, across rekeys (1 s) and a kill -9
# restart of h1 in the middle of the transfer
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 5201 >"$DP_DIR/sink" &
sink=$!
netns_wait_listen h2 5201
netns_exec h1 python3 "$here/tcp_sink.py" send "$H2" 5201 3000000 ALLOWED-FLOW 8 >"$DP_DIR/sent" &
sender=$!
sleep 3
kill -9 "${DP_PID[h1]}"
wait "${DP_PID[h1]}" 2>/dev/null || true
unset "DP_PID[h1]"
dp_start h1
wait $sender || true
wait $sink || true
check "h1 -> h2:5201 data intact across rekeys and a kill -9 restart of h1" \
	[ -s "$DP_DIR/sent" -a "$(cat "$DP_DIR/sent")" = "$(cat "$DP_DIR/sink")" ]
echo "   epochs: h1 -> h2 now $(dp_peer h1 h2 tx_epoch)"
check "MAKE re-established after the restart" dp_wait_peer h1 h2
exit "$fails"
