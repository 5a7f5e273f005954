#!/usr/bin/env bash
# The SIMD engine carries only what passed sealnet's TUN egress hook
# (docs/sealnetd.md "SIMD engine guard"), also when another root process
# hands the device a packet in a way that runs no egress hook at all: a
# packet socket with PACKET_QDISC_BYPASS (dev_direct_xmit: neither the
# qdisc nor clsact/tcx egress run; no hook changes, so the gate stays
# open); or changes a packet after the hook passed it: a root qdisc's
# filter runs after clsact egress (the check looked at clsact only).
#
#    h1 198.18.0.1 (simd) --- br0 --- h2 198.18.0.2 (simd)
#
# Policy: h1 may send h2 udp/7000; h2 accepts udp/7000, 7001 and 7002.
# So udp/7001 and 7002 are forbidden by h1's TUN egress hook alone.  A
# root process on h1:
#  1. injects h1 -> h2 udp/7001 onto sn-h1 (tests/netns/tun_inject.py):
#     through the normal transmit path sn_tun_egress drops it (control);
#     with PACKET_QDISC_BYPASS it must not be delivered either;
#  2. puts an htb root qdisc on sn-h1 with a bpf filter (rewrite.bpf.o)
#     that turns udp/7000 (passed by sn_tun_egress) into udp/7002: no
#     datagram may reach h2's udp/7002 (the gate stays closed until
#     sealnetd removed the qdisc), and udp/7000 flows again after.
# Allowed udp/7000 flows before and after.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
. "$here/engine.sh"
engine_begin 2
FLOW="python3 $here/hook_flow.py"
INJ="python3 $here/tun_inject.py"

r() { printf '{"peer":"%s","direction":"%s","protocol":"udp","port":%s}' "$1" "$2" "$3"; }
dp_config h1 "h2" "$(r h2 egress 7000)"
dp_config h2 "h1" "$(r h1 ingress 7000), $(r h1 ingress 7001), $(r h1 ingress 7002)"
for h in h1 h2; do dp_config_jq "$h" '. + {dataplane: {engine: "simd"}}'; done
dp_start h1
dp_start h2

STOP="$DP_DIR/stop"
GOT="$DP_DIR/got"
netns_bg h2 $FLOW recv "$H2" 7000,7001 "$GOT" "$STOP"
netns_wait_listen h2 7001 udp
netns_bg h1 $FLOW send "$H2" 7000,7001 20 "$STOP"
count() { $FLOW count "$GOT" "$1" "$2" "$3"; }
for _ in $(seq 100); do [ "$(count 7000 0 1e12)" -gt 10 ] && break; sleep 0.1; done
check "baseline: h1 -> h2 udp/7000 flows ($(count 7000 0 1e12))" [ "$(count 7000 0 1e12)" -gt 10 ]
check "baseline: udp/7001 (h1's egress rules) does not" [ "$(count 7001 0 1e12)" = 0 ]

inject() { # N [--bypass]: N datagrams h1 -> h2 udp/7001 onto sn-h1
	local i
	for i in $(seq "$1"); do
		netns_exec h1 $INJ sn-h1 "$H1" "$H2" 7001 "HF 7001 $(date +%s.%N)" ${2:-} >/dev/null ||
			netns_fail "tun_inject.py failed"
		sleep 0.02
	done
}
inject 20
sleep 1
check "packet socket, normal transmit: sn_tun_egress drops it ($(count 7001 0 1e12) delivered)" \
	[ "$(count 7001 0 1e12)" = 0 ]
t=$(date +%s.%N)
eh0=$(dp_drops h1 ENGINE_HOOKS)
inject 20 --bypass
sleep 1
n=$(count 7001 "$t" 1e12)
check "packet socket, PACKET_QDISC_BYPASS (no egress hook ran): not delivered ($n of 20)" [ "$n" = 0 ]
check "and counted as ENGINE_HOOKS drops on h1 ($eh0 -> $(dp_drops h1 ENGINE_HOOKS))" \
	[ "$(dp_drops h1 ENGINE_HOOKS)" -ge $((eh0 + 20)) ]
t=$(date +%s.%N)
sleep 1.5
check "udp/7000 still flows ($(count 7000 "$t" 1e12))" [ "$(count 7000 "$t" 1e12)" -gt 10 ]

# 2: a root qdisc rewriting what the hook passed (every datagram arriving
# on h2's udp/7002 is one line of GOT2)
GOT2="$DP_DIR/got2"
: >"$GOT2"
netns_bg h2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7002))
f = open(sys.argv[2], "a", buffering=1)
while True:
    f.write(s.recv(2048).decode(errors="replace") + "\n")
' "$H2" "$GOT2"
netns_wait_listen h2 7002 udp
netns_exec h1 tc qdisc replace dev sn-h1 root handle 1: htb ||
	netns_fail "tc qdisc replace dev sn-h1 root htb failed"
netns_exec h1 tc filter add dev sn-h1 parent 1: pref 7 bpf da \
	obj "$SN_BUILD/tests/netns/rewrite.bpf.o" sec tc ||
	netns_fail "tc filter add dev sn-h1 parent 1: bpf failed"
t=$(date +%s.%N)
sleep 3
n=$(wc -l <"$GOT2")
check "root qdisc rewriting udp/7000 into 7002 after the hook: nothing on h2's udp/7002 ($n)" [ "$n" = 0 ]
no_htb() { ! netns_exec h1 tc qdisc show dev sn-h1 | grep -q htb; }
check "sealnetd removed the foreign root qdisc" no_htb
t=$(date +%s.%N)
sleep 1.5
check "udp/7000 flows again ($(count 7000 "$t" 1e12))" [ "$(count 7000 "$t" 1e12)" -gt 10 ]
touch "$STOP"
echo "   h1 drops: $(drops_detail h1)"
exit "$fails"
