#!/usr/bin/env bash
# Two SIMD engines (issue 10): h1 and h2 both run "dataplane": {"engine":
# "simd"} and declare each other's engine ("peers": [{..., "engine":
# "simd"}]), so each sends the other UDP GSO super-datagrams (up to 64
# sealed segments in one UDP_SEGMENT send) that the veth link carries
# whole; keys from MAKE.
#
#    h1 198.18.0.1 (simd) ---+
#    h2 198.18.0.2 (simd) ---+-- br0 (namespace sw: capture on p1)
#    h3 198.18.0.3 (none) ---+   (sends forged datagrams)
#
# Checks, phase 1 (rekey every 120 s):
#  - sealed datagrams larger than the link MTU cross the bridge (the
#    super-datagrams are not split before the device: gso_max_segs is left
#    alone in SIMD mode), and none while h2 declares h1 "bpf" (a BPF peer
#    opens one datagram per packet: a super-datagram would be TOO_BIG);
#  - TCP both ways with the data checked (sha256), iperf3 TCP both ways
#    and UDP, and no sealed packet dropped on either side;
# the peers' own sockets: h2 has a connected UDP socket for h1, no other
# socket can bind the sealnet port, and forged datagrams from h1's
# address on another port, from an address that is no peer, and from
# h1's own address and port are dropped and counted, none delivered;
# a forged ICMP port unreachable for h1's socket for h2 (from h3) does
# not stop h1's engine;
# phase 2 (both restarted, rekey every second, a new MAKE session every
# 4 s): TCP both ways across several rekeys, data checked, no sealed drop
# (the counters of one super-packet are taken as one range per key).
# With --offloads-off: `ethtool -K ... tx off tso off gso off` on every
# link and TUN device: the stack splits the super-datagrams in software at
# the device and the receiver's UDP_GRO socket gets single datagrams.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
. "$here/engine.sh"
engine_begin 3 "$@" # h3: no sealnet, sends forged datagrams
MTU=$(netns_exec h1 cat /sys/class/net/eth0/mtu)

r() { printf '{"peer":"%s","direction":"%s","protocol":"%s","port":%s}' "$1" "$2" "$3" "$4"; }
R1="$(r h2 egress tcp 5201), $(r h2 egress udp 5201), $(r h2 egress tcp 6000),
    $(r h2 ingress tcp 6001)"
R2="$(r h1 ingress tcp 5201), $(r h1 ingress udp 5201), $(r h1 ingress tcp 6000),
    $(r h1 egress tcp 6001)"

dp_sim_platform
phase_configs() { # PHASE H2's-VIEW-OF-H1's-ENGINE EXTRA-MAKE-MEMBERS
	dp_make_config h1 "h2" "$R1" "$3"
	dp_make_config h2 "h1" "$R2" "$3"
	jq '. + {dataplane: {engine: "simd"}} | .peers |= map(. + {engine: "simd"})' \
		"$DP_DIR/h1.json" >"$DP_DIR/h1.$1"
	jq --arg e "$2" '. + {dataplane: {engine: "simd"}} | .peers |= map(. + {engine: $e})' \
		"$DP_DIR/h2.json" >"$DP_DIR/h2.$1"
}
phase_configs p1 simd ''
phase_configs p1b bpf ''
phase_configs p2 simd ', "rekey_interval_s": 1, "session_lifetime_s": 4'
dp_policy_of "$DP_DIR"/{h1.p1,h2.p1,h2.p1b,h1.p2,h2.p2}

start_both() { # PHASE (h1's) [PHASE of h2]
	cp "$DP_DIR/h1.$1" "$DP_DIR/h1.json"
	cp "$DP_DIR/h2.${2:-$1}" "$DP_DIR/h2.json"
	dp_start h1
	dp_start h2
	dp_wait_peer h1 h2 && dp_wait_peer h2 h1 ||
		netns_fail "MAKE between h1 and h2 did not complete"
	if [ "$offloads" = off ]; then
		netns_exec h1 ethtool -K sn-h1 tx off tso off gso off >/dev/null 2>&1 &&
			netns_exec h2 ethtool -K sn-h2 tx off tso off gso off >/dev/null 2>&1 ||
			netns_fail "ethtool -K on the TUN devices failed"
	fi
}
stop_both() {
	dp_stop h1
	dp_stop h2
}

# sealed datagrams longer than the link MTU seen on bridge port PORT
# while FROM sends 20 MB to TO (data checked too)
big_on_wire() { # PORT FROM TO TCP-PORT MARKER
	local pc="$DP_DIR/big.$1.pcap" n
	netns_capture "sw:$1" "$pc" "udp port 51820 and greater $((MTU + 100))"
	transfer "$2" "$3" "$4" 20000000 "$5" >/dev/null || echo "   (transfer failed)" >&2
	# (the transfer ends when the receiver has every byte: nothing of it
	# is still on the wire; the capture is written packet by packet)
	netns_capture_stop
	n=$(tcpdump -r "$pc" -n 2>/dev/null | wc -l)
	echo "$n"
}

echo "== phase 1: offloads $offloads"
start_both p1
check "h1 and h2 run the SIMD engine" \
	[ -n "$(netns_exec h1 tc filter show dev sn-h1 egress | grep sn_tun_egress)" -a \
	  -n "$(netns_exec h2 tc filter show dev sn-h2 egress | grep sn_tun_egress)" ]
b1=$(sealed_drops h1)
b2=$(sealed_drops h2)
n=$(big_on_wire p1 h1 h2 6000 big12)
if [ "$offloads" = on ]; then
	check "h1's super-datagrams cross the bridge whole ($n longer than MTU $MTU)" [ "$n" -gt 0 ]
else
	check "gso off: split at the device, none longer than MTU $MTU ($n)" [ "$n" = 0 ]
fi
check "TCP h1 -> h2, 40 MB, data checked" transfer h1 h2 6000 40000000 a2b
check "TCP h2 -> h1, 40 MB, data checked" transfer h2 h1 6001 40000000 b2a
check_iperf_tcp "iperf3 TCP h1 -> h2" h1 h2 -t 2
check_iperf_tcp "iperf3 TCP h2 -> h1 (reverse)" h1 h2 -t 2 -R
check_iperf_udp "iperf3 UDP h1 -> h2" h1 h2 -u -b 50M -t 2
check "no sealed packet dropped on h1 ($(drops_detail h1)) or h2 ($(drops_detail h2))" \
	[ "$(sealed_drops h1)" = "$b1" -a "$(sealed_drops h2)" = "$b2" ]

echo "== the peers' own sockets (engine.c: peer_socks_open)"
# h2 has a UDP socket of its own for h1, connected to h1's sealnet port
n=$(netns_exec h2 ss -Hun state established "( sport = :51820 and dst $H1:51820 )" | wc -l)
check "h2 has one connected UDP socket for h1 ($n)" [ "$n" = 1 ]
# nobody can bind the port beside the engine, reuse flags or not
err=$(netns_exec h2 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
try:
    s.bind(("0.0.0.0", 51820)); print("bound")
except OSError as e:
    print(e.errno)
')
check "another socket cannot bind h2's sealnet port ($err)" [ "$err" = 98 ]
# sealed-looking datagrams (session h1, epoch 0, a zero tag), sent by h3
# with a forged source: h1's address on another port (the shared socket
# takes it), an address that is no peer, and h1's own address and port
# (h1's connected socket on h2 takes it): each is dropped and counted,
# nothing is delivered
forge() { # SRC SPORT
	netns_exec h3 python3 - "$1" "$2" "$H2" <<'PY'
import socket, struct, sys
src, sport, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = struct.pack("!BBHIHHQ", 1, 6, 0, 1, 0, 0, 7) + bytes(40 + 16)
l4 = struct.pack("!HHHH", sport, 51820, 8 + len(body), 0) + body
s, d = socket.inet_aton(src), socket.inet_aton(dst)
hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, 17, 0, s, d)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.sendto(hdr + l4, (dst, 0))
PY
}
rx=$(dp_peer h2 h1 rx_packets)
for src in "$H1 51999" "198.18.0.77 51820" "$H1 51820"; do
	d0=$(sealed_drops h2)
	# shellcheck disable=SC2086
	forge $src
	sleep 0.3
	check "forged from $src: dropped on h2 ($d0 -> $(sealed_drops h2): $(drops_detail h2))" \
		[ "$(sealed_drops h2)" = $((d0 + 1)) ]
done
check "nothing forged delivered (h1 -> h2 rx_packets $rx -> $(dp_peer h2 h1 rx_packets))" \
	[ "$(dp_peer h2 h1 rx_packets)" = "$rx" ]

echo "== forged ICMP port unreachable for h1's socket for h2"
# h3 (no peer: ICMP from it passes h1's interface) sends h1 port
# unreachable quoting a sealed datagram h1 -> h2: h1's connected socket
# for h2 reports ECONNREFUSED once, on its next send or receive; h1's
# engine skips it and goes on carrying (an engine that stopped on it
# would be cut off by anyone who can send h1 an ICMP message)
netns_exec h3 python3 - "$H1" "$H2" <<'PY'
import socket, struct, sys
h1, h2 = sys.argv[1], sys.argv[2]
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + 40, 1, 0x4000, 64, 17, 0,
                    socket.inet_aton(h1), socket.inet_aton(h2))
inner = inner[:10] + struct.pack("!H", csum(inner)) + inner[12:]
inner += struct.pack("!HHHH", 51820, 51820, 8 + 40, 0)
icmp = struct.pack("!BBHI", 3, 3, 0, 0) + inner
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for _ in range(3):
    s.sendto(icmp, (h1, 0))
PY
sleep 0.3
check "h1's engine still carries after it: TCP h1 -> h2 and back, 5 MB each, data checked" \
	transfer h1 h2 6000 5000000 ic12 && transfer h2 h1 6001 5000000 ic21
check "h1's engine logged no receive failure" \
	[ -z "$(grep 'receiving on the UDP socket failed' "$DP_DIR/h1.log")" ]

echo "== h2 declares h1 a BPF peer: one datagram per segment to it"
stop_both
start_both p1 p1b
n=$(big_on_wire p2 h2 h1 6001 big21)
check "none of h2's sealed datagrams is longer than MTU $MTU ($n)" [ "$n" = 0 ]
check "TCP h2 -> h1, 20 MB, data checked" transfer h2 h1 6001 20000000 b2a2

echo "== phase 2: rekey every second, new MAKE session every 4 s, under load"
stop_both
start_both p2
engine_rekey_transfers
exit "$fails"
