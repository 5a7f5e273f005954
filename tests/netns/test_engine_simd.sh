#!/usr/bin/env bash
# Two SIMD engines (issue 10): h1 and h2 both run "dataplane": {"engine":
# "simd"} and declare each other's engine ("peers": [{..., "engine":
# "simd"}]), so each sends the other UDP GSO super-datagrams (up to 64
# sealed segments in one UDP_SEGMENT send) that the veth link carries
# whole; keys from MAKE.
#
#    h1 198.18.0.1 (simd) ---+
#    h2 198.18.0.2 (simd) ---+-- br0 (namespace sw: capture on p1)
#
# Checks, phase 1 (rekey every 120 s):
#  - sealed datagrams larger than the link MTU cross the bridge (the
#    super-datagrams are not split before the device: gso_max_segs is left
#    alone in SIMD mode), and none while h2 declares h1 "bpf" (a BPF peer
#    opens one datagram per packet: a super-datagram would be TOO_BIG);
#  - TCP both ways with the data checked (sha256), iperf3 TCP both ways
#    and UDP, and no sealed packet dropped on either side;
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
engine_begin 2 "$@"
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
