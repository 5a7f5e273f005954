#!/usr/bin/env bash
# The data plane between real hosts (namespaces), with real traffic.
#
#    h1 198.18.0.1 ---+                     policy: h1 -> h2 tcp/5201, udp/5201,
#    h2 198.18.0.2 ---+-- br0 (in "sw")             tcp/6000 (sha256 sink);
#    h3 198.18.0.3 ---+                     h3: a forger (wrong keys for h2)
#
# Checks: iperf3 TCP and UDP pass, byte counts match; a marker sent by the
# application never appears in a capture of the link; a disallowed flow is
# dropped and counted; packets forged by h3 (wrong key, spoofed session)
# are dropped with their reasons.  With --offloads-off, every link runs
# with tx checksum, TSO and GSO forced into software.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 3
[ "${1:-}" = --offloads-off ] && netns_offloads_off 3
H1=$(netns_addr h1) H2=$(netns_addr h2) H3=$(netns_addr h3)

rules12='{"peer":"h2","direction":"egress","protocol":"tcp","port":5201},
  {"peer":"h2","direction":"egress","protocol":"udp","port":5201},
  {"peer":"h2","direction":"egress","protocol":"tcp","port":6000}'
rules21='{"peer":"h1","direction":"ingress","protocol":"tcp","port":5201},
  {"peer":"h1","direction":"ingress","protocol":"udp","port":5201},
  {"peer":"h1","direction":"ingress","protocol":"tcp","port":6000},
  {"peer":"h3","direction":"ingress","protocol":"tcp","port":6000}'
dp_config h1 "h2" "$rules12"
dp_config h2 "h1 h3" "$rules21"
# h3 believes in other keys than h2 holds for it: everything it seals is forged
dp_config h3 "h2" '{"peer":"h2","direction":"egress","protocol":"tcp","port":6000}'
sed -i "s/$(dp_key h3 h2)/$(dp_key h3 h2 | rev)/" "$DP_DIR/h3.json"
dp_start h1
dp_start h2
dp_start h3

netns_capture h2 "$DP_DIR/wire.pcap"

# TCP through iperf3
netns_exec h2 iperf3 -s -1 -p 5201 -J >"$DP_DIR/tcp-server.json" 2>&1 &
srv=$!
netns_wait_listen h2 5201
netns_exec h1 iperf3 -c "$H2" -p 5201 -n 64M -J >"$DP_DIR/tcp.json" || true
sent=$(jq '.end.sum_sent.bytes // 0' "$DP_DIR/tcp.json")
wait $srv || true
recv=$(jq '.end.sum_received.bytes // 0' "$DP_DIR/tcp-server.json")
echo "iperf3 tcp: sent $sent received $recv bytes, $(jq '.end.sum_received.bits_per_second // 0 | . / 1e6 | floor' "$DP_DIR/tcp.json") Mbit/s"
check "iperf3 TCP transferred data" [ "$sent" -gt 1000000 ]
# iperf3's server may process the client's end-of-test message before it
# has read the last segments, so its count can fall short of what TCP
# delivered; the exact check of every byte is the sha256 stream below.
check "iperf3 TCP: the client sent (at least) 64 MiB" [ "$sent" -ge 67108864 ]
check "iperf3 TCP: the server counted most of it" [ "$recv" -ge 33554432 ]

# UDP through iperf3 (10 Mbit/s, no loss expected on a bridge).  The
# only loss allowed is one the kernel counts: the receiver's socket buffer
# overrun (UDP RcvbufErrors in h2) when a loaded machine leaves iperf3's
# server no CPU time for a while (2 MB buffers make that rare), or a full
# per-CPU backlog (softnet_stat, machine-wide) when softirqs starve.  A
# datagram the data plane lost is in no such count.
udp_rcvbuf_errors() { # H: UDP RcvbufErrors in H's namespace
	netns_exec "$1" awk '/^Udp:/ { if (!n++) for (i = 2; i <= NF; i++) f[$i] = i; else print $f["RcvbufErrors"] }' /proc/net/snmp
}
backlog_drops() { # the packets dropped for a full backlog, all CPUs
	local s=0 d
	while read -r _ d _; do s=$((s + 16#$d)); done </proc/net/softnet_stat
	echo "$s"
}
drops_total() { # H: every drop counter of H's data plane, summed
	dp_status "$1" | jq '[.drops[].count] | add'
}
netns_exec h2 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
netns_wait_listen h2 5201
ovr0=$(udp_rcvbuf_errors h2) bl0=$(backlog_drops) d1=$(drops_total h1) d2=$(drops_total h2)
netns_exec h1 iperf3 -c "$H2" -p 5201 -u -b 10M -t 2 -w 2M -J >"$DP_DIR/udp.json" || true
ovr=$(($(udp_rcvbuf_errors h2) - ovr0)) bl=$(($(backlog_drops) - bl0))
lost=$(jq '.end.sum.lost_packets // -1' "$DP_DIR/udp.json")
pk=$(jq '.end.sum.packets // 0' "$DP_DIR/udp.json")
echo "iperf3 udp: $pk packets, $lost lost; kernel drops meanwhile: $ovr socket buffer overruns in h2, $bl for a full backlog (machine-wide)"
check "iperf3 UDP carried packets" [ "$pk" -gt 100 ]
check "iperf3 UDP lost none (but for kernel-counted drops: $lost <= $ovr + $bl)" \
	[ "$lost" -ge 0 -a "$lost" -le "$((ovr + bl))" ]
check "  no drop by either data plane meanwhile" \
	[ "$(drops_total h1)" = "$d1" -a "$(drops_total h2)" = "$d2" ]

# application data with a marker: the receiver's sha256 equals the sender's
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/sink.out" 2>&1 &
sinkpid=$!
netns_wait_listen h2 6000
want=$(netns_exec h1 python3 "$here/tcp_sink.py" send "$H2" 6000 16000000 SEALNET-SECRET-MARKER)
wait $sinkpid || true
got=$(cat "$DP_DIR/sink.out")
check "16 MB marker stream: receiver sha256 = sender sha256" [ -n "$want" -a "$want" = "$got" ]

# a disallowed flow: h1 -> h2:22 has no rule
before=$(dp_drops h1 POLICY_EGRESS)
netns_exec h1 timeout 3 bash -c "echo x > /dev/tcp/$H2/22" 2>/dev/null && r=0 || r=1
after=$(dp_drops h1 POLICY_EGRESS)
check "disallowed flow h1 -> h2:22 fails" [ "$r" = 1 ]
check "and is counted as POLICY_EGRESS ($before -> $after)" [ "$after" -gt "$before" ]

# forged: h3 seals with a key h2 does not have
before=$(dp_drops h2 BAD_TAG)
netns_exec h3 timeout 2 bash -c "echo x > /dev/tcp/$H2/6000" 2>/dev/null || true
after=$(dp_drops h2 BAD_TAG)
check "packets sealed by h3 with a wrong key dropped as BAD_TAG ($before -> $after)" [ "$after" -gt "$before" ]
# spoofed session: h3 (its daemon stopped, so its own policy does not stop
# the datagram) claims to be node 1, h1's session id
check "sealnetd on h3 stops cleanly" dp_stop h3
check "sealnetd --down takes h3's data plane off" dp_down h3
before=$(dp_drops h2 BAD_SOURCE)
netns_exec h3 python3 "$here/tcp_sink.py" forge "$H2" 51820 1
after=$(dp_drops h2 BAD_SOURCE)
check "a sealed packet with h1's session id from h3 dropped as BAD_SOURCE" [ "$after" -gt "$before" ]
netns_capture_stop
n=$(tcpdump -r "$DP_DIR/wire.pcap" -n 'udp port 51820' 2>/dev/null | wc -l)
check "the capture holds sealed packets ($n)" [ "$n" -gt 100 ]
check "the marker never appears on the wire" [ "$(grep -c SEALNET-SECRET-MARKER "$DP_DIR/wire.pcap")" = 0 ]
check "no iperf3 / sink port visible on the wire" [ "$(tcpdump -r "$DP_DIR/wire.pcap" -n 'tcp port 5201 or tcp port 6000' 2>/dev/null | grep -c "$H1")" = 0 ]

# a stopped sealnetd fails closed: its data plane stays, keyless, and
# h1's traffic to h2 is dropped at h1, never sent in clear
netns_capture h2 "$DP_DIR/stopped.pcap" udp or tcp
check "sealnetd on h1 stops cleanly" dp_stop h1
check "its data plane stays attached (clsact qdisc on h1)" \
	[ -n "$(netns_exec h1 tc qdisc show dev eth0 | grep clsact)" ]
before=$(dp_drops h2 PLAINTEXT)
netns_exec h1 python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5): s.sendto(b'SEALNET-SECRET-MARKER-after-stop', ('$H2', 5201))"
netns_exec h1 timeout 2 bash -c "echo SEALNET-SECRET-MARKER > /dev/tcp/$H2/6000" 2>/dev/null || true
sleep 0.3
netns_capture_stop
check "with h1's sealnetd stopped, nothing of h1's traffic reaches the wire in clear" \
	[ "$(grep -c SEALNET-SECRET-MARKER "$DP_DIR/stopped.pcap")" = 0 -a \
	  "$(tcpdump -r "$DP_DIR/stopped.pcap" -n "src host $H1 and (tcp port 6000 or udp port 5201)" 2>/dev/null | wc -l)" = 0 ]
check "and h2 saw no plaintext from it (PLAINTEXT $before -> $(dp_drops h2 PLAINTEXT))" \
	[ "$(dp_drops h2 PLAINTEXT)" = "$before" ]
# sealnetd --down restores the interface; h1 then sends in clear, which
# h2 drops
check "sealnetd --down on h1" dp_down h1
check "h1's interface is restored (no clsact qdisc)" \
	[ -z "$(netns_exec h1 tc qdisc show dev eth0 | grep clsact)" ]
netns_exec h1 timeout 2 bash -c "echo x > /dev/tcp/$H2/6000" 2>/dev/null || true
after=$(dp_drops h2 PLAINTEXT)
check "plaintext from protected peer h1 dropped as PLAINTEXT ($before -> $after)" [ "$after" -gt "$before" ]

[ "$fails" = 0 ] || { for h in h1 h2 h3; do echo "--- $h log"; tail -5 "$DP_DIR/$h.log"; done; }
exit "$fails"
