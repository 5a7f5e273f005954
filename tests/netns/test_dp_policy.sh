#!/usr/bin/env bash
# Policy identities and limits on real hosts:
#
#    h1 198.18.0.1 ---+                h1 rules: tcp -> h2:7000 only from the
#    h2 198.18.0.2 ---+-- br0 (sw)     cgroup "stage-a"; udp -> h2:7001 only
#    h3 198.18.0.3 ---+                from local port 7001; h3 is not a peer
#                                      and h1 drops unprotected egress
# Also: the route MTU to a protected peer is lowered by the 44-byte
# overhead, and an oversized DF datagram is refused locally (EMSGSIZE).
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
cg="" cgmnt=""
dp_test_begin 3 '[ -n "$cg" ] && rmdir "$cg"; [ -n "$cgmnt" ] && umount "$cgmnt" && rmdir "$cgmnt"'
H2=$(netns_addr h2) H3=$(netns_addr h3)

# `ip netns exec` gives each host a fresh /sys, so mount the (one, shared)
# cgroup v2 hierarchy outside /sys as well
cgmnt=$(mktemp -d /tmp/sealnet-cg2.XXXXXX)
mount -t cgroup2 none "$cgmnt" || netns_fail "cannot mount cgroup v2 (needed for cgroup rules)"
cg="$cgmnt/sealnet-test-$SN_NS_ID"
mkdir "$cg"

dp_config h1 "h2" "{\"peer\":\"h2\",\"direction\":\"egress\",\"protocol\":\"tcp\",\"port\":7000,\"cgroup\":\"$cg\"},
  {\"peer\":\"h2\",\"direction\":\"egress\",\"protocol\":\"udp\",\"port\":7001,\"local_port\":7001}" \
	'"unprotected": {"egress": "drop"},'
dp_config h2 "h1" '{"peer":"h1","direction":"ingress","protocol":"tcp","port":7000},
  {"peer":"h1","direction":"ingress","protocol":"udp","port":7001}'
# h2's IPv6 address is known to h1: IPv6 to it must be dropped (v1 seals
# IPv4 only), never sent in clear
sed -i "s/\"address\": \"$H2\",/\"address\": \"$H2\", \"address6\": \"$(netns_addr h2 6)\",/" "$DP_DIR/h1.json"
dp_start h1
dp_start h2

# tcp from inside the cgroup: allowed
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 7000 >"$DP_DIR/sink" &
netns_wait_listen h2 7000
want=$(netns_exec h1 bash -c "echo \$\$ > '$cg/cgroup.procs' && exec python3 '$here/tcp_sink.py' send $H2 7000 300000 CGROUP" || true)
sleep 0.2
check "tcp -> h2:7000 from cgroup stage-a arrives intact" [ -n "$want" -a "$want" = "$(cat "$DP_DIR/sink")" ]
# the same from outside the cgroup: dropped
before=$(dp_drops h1 POLICY_EGRESS)
netns_exec h1 timeout 2 bash -c "echo x > /dev/tcp/$H2/7000" 2>/dev/null && r=0 || r=1
after=$(dp_drops h1 POLICY_EGRESS)
check "the same flow from outside the cgroup fails" [ "$r" = 1 ]
check "and is counted as POLICY_EGRESS ($before -> $after)" [ "$after" -gt "$before" ]

udp_recv() { # in h2: print the first datagram on port 7001 (or nothing)
	netns_exec h2 python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$H2', 7001)); s.settimeout(2)
try: print(s.recv(100).decode())
except socket.timeout: pass" >"$DP_DIR/udp" &
	rpid=$!
	netns_wait_listen h2 7001 udp
}
udp_send() { # $1 local port
	netns_exec h1 python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('', $1)); s.sendto(b'from-port-$1', ('$H2', 7001))"
}
udp_recv
udp_send 7001
wait $rpid || true
check "udp -> h2:7001 from local port 7001 arrives" [ "$(cat "$DP_DIR/udp")" = from-port-7001 ]
udp_recv
udp_send 7002 || true
wait $rpid || true
check "udp -> h2:7001 from local port 7002 does not" [ -z "$(cat "$DP_DIR/udp")" ]

# unprotected destination h3, mode drop
before=$(dp_drops h1 UNPROTECTED)
netns_exec h1 ping -c1 -W1 "$H3" >/dev/null 2>&1 && r=0 || r=1
after=$(dp_drops h1 UNPROTECTED)
check "ping to non-peer h3 dropped in mode drop ($before -> $after)" [ "$r" = 1 -a "$after" -gt "$before" ]

# IPv6 to the protected peer: dropped with its own reason (a static
# neighbour entry: h1 drops unprotected egress, neighbour discovery too)
netns_exec h1 ip -6 neigh replace "$(netns_addr h2 6)" dev eth0 \
	lladdr "$(netns_exec h2 cat /sys/class/net/eth0/address)"
before=$(dp_drops h1 IPV6_PEER)
netns_exec h1 ping -6 -c1 -W1 "$(netns_addr h2 6)" >/dev/null 2>&1 && r=0 || r=1
check "IPv6 ping to h2's fd00::2 dropped as IPV6_PEER ($before -> $(dp_drops h1 IPV6_PEER))" \
	[ "$r" = 1 -a "$(dp_drops h1 IPV6_PEER)" -gt "$before" ]

# MTU: the route to h2 carries the lowered MTU; oversized DF is refused
mtu=$(netns_exec h1 ip route get "$H2" | grep -o 'mtu lock [0-9]*' | awk '{print $3}')
check "route MTU to h2 is 1500 - 44 = 1456 (got ${mtu:-none})" [ "${mtu:-0}" = 1456 ]
r=$(netns_exec h1 python3 -c "
import socket, errno; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
s.bind(('', 7001))
try: s.sendto(b'x' * 1440, ('$H2', 7001)); print('sent')
except OSError as e: print(errno.errorcode[e.errno])")
check "a DF datagram too big for the sealed MTU is refused locally ($r)" [ "$r" = EMSGSIZE ]
check "no TOO_BIG drops were needed" [ "$(dp_drops h1 TOO_BIG)" = 0 ]
exit "$fails"
