#!/usr/bin/env bash
# Three hosts on one bridge: IPv4 and IPv6 reach every host, a capture on
# h2 sees h1's marked UDP datagram in clear (no sealnet attached here).
set -eu
. "$(dirname "$0")/lib.sh"
netns_init
netns_topology 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' RETURN

for a in 1 2 3; do
	for b in 1 2 3; do
		[ $a = $b ] && continue
		netns_exec h$a ping -c1 -W2 "$(netns_addr h$b)" >/dev/null ||
			netns_fail "h$a cannot reach h$b over IPv4"
		netns_exec h$a ping -6 -c1 -W2 "$(netns_addr h$b 6)" >/dev/null ||
			netns_fail "h$a cannot reach h$b over IPv6"
	done
done

netns_capture h2 "$tmp/cap.pcap" udp port 40000
netns_exec h1 bash -c "echo SEALNET-CLEAR-MARKER > /dev/udp/$(netns_addr h2)/40000"
sleep 0.3
netns_capture_stop
grep -q SEALNET-CLEAR-MARKER "$tmp/cap.pcap" ||
	netns_fail "capture on h2 did not see h1's datagram"
rm -rf "$tmp"
echo "ok: 3 hosts reach each other (v4+v6), capture works"
