#!/usr/bin/env bash
# The receive steering hint (SN_CFG_STEER, bpf/lib/steer.h).
#
#    h1 198.18.0.1 ---+-- br0 (in "sw") --+--- h2 198.18.0.2
#    TCP h1 -> h2 (port 5201), sealed; data to h2's eth0, ACKs to h1's
#
# Over veth the receiver's packet steering (rps_cpus, set by sealnetd on
# these single-queue devices) picks the CPU that opens a sealed packet
# from the hash the sender left in the skb.  Without the hint that is the
# inner socket's random hash, so only in about half of the connections
# are the data (opened at h2) and its ACKs (opened at h1) opened on the
# same CPU.  With it (a direction-symmetric hash of the inner 5-tuple),
# in every connection.  Checks, for each of 8 TCP connections (each with
# a new source port): the CPU that received most sealed data packets on
# h2's eth0 is the one that received most sealed ACKs on h1's eth0 (a
# tracefs instance of our own records net:netif_receive_skb with its
# CPU).  By chance alone all 8 would pass with probability 1/256.  Then, with "spread_receive":
# false, sealnetd sets no rps_cpus and no hint (the configuration is
# honoured both ways).
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
ncpu=$(nproc)
if [ "$ncpu" -lt 2 ]; then
	# one CPU: every packet is opened on it, hint or not
	echo "SKIP: the steering check needs 2 or more CPUs; this machine has $ncpu"
	exit 77
fi
TR=/sys/kernel/tracing
[ -d "$TR/instances" ] || TR=/sys/kernel/debug/tracing
[ -d "$TR/instances" ] || netns_fail "tracefs is not mounted (needed: $TR/instances; mount -t tracefs none /sys/kernel/tracing)"
[ -d "$TR/events/net/netif_receive_skb" ] || netns_fail "the kernel has no net:netif_receive_skb tracepoint"
INST=$TR/instances/sealnet-steer-$$
dp_test_begin 2 "rmdir '$INST' 2>/dev/null"
H2=$(netns_addr h2)
mkdir "$INST" || netns_fail "cannot create the tracefs instance $INST"
echo 4096 >"$INST/buffer_size_kb"
echo 1 >"$INST/events/net/netif_receive_skb/enable"

# a short static-key rotation: after the restart below, the peers' epochs
# meet again within three intervals (docs/sealnetd.md "Static keys")
dp_config h1 "h2" '{"peer":"h2","direction":"egress","protocol":"tcp","port":5201}' \
	'"static_rekey_interval_s": 2,'
dp_config h2 "h1" '{"peer":"h1","direction":"ingress","protocol":"tcp","port":5201}' \
	'"static_rekey_interval_s": 2,'
dp_start h1
dp_start h2
rps_zero() { netns_exec "$1" cat /sys/class/net/eth0/queues/rx-0/rps_cpus | grep -q '^[0,]*$'; }
check "sealnetd spread receive work on h2 (rps_cpus not 0)" eval '! rps_zero h2'


# connection N: the CPUs that received h2's data and h1's ACKs, as
# "DATA-CPU ACK-CPU" (each the CPU with most such packets)
one_connection() {
	echo >"$INST/trace"
	netns_exec h2 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	local srv=$!
	netns_wait_listen h2 5201
	netns_exec h1 iperf3 -c "$H2" -p 5201 -n 8M >/dev/null 2>&1 || true
	wait $srv || true
	awk '/netif_receive_skb: dev=eth0 / {
		match($0, /\[[0-9]+\]/); c = substr($0, RSTART + 1, RLENGTH - 2) + 0
		match($0, /len=[0-9]+/); l = substr($0, RSTART + 4, RLENGTH - 4) + 0
		if (l > 1000) d[c]++; else if (l < 200) a[c]++
	} END {
		bd = -1; ba = -1
		for (c in d) if (bd < 0 || d[c] > d[bd]) bd = c
		for (c in a) if (ba < 0 || a[c] > a[ba]) ba = c
		print bd, ba
	}' "$INST/trace"
}

together=0
for i in 1 2 3 4 5 6 7 8; do
	read -r dc ac < <(one_connection)
	echo "connection $i: data opened on CPU $dc, ACKs on CPU $ac"
	[ "$dc" = "$ac" ] && [ "$dc" != -1 ] && together=$((together + 1))
done
check "in 8 of 8 connections data and ACKs were opened on the same CPU ($together)" [ "$together" -eq 8 ]

# "spread_receive": false: neither rps_cpus nor the hint
dp_stop h1
dp_stop h2
dp_down h1
dp_down h2
for h in h1 h2; do dp_config_jq "$h" '. + {spread_receive: false}'; done
dp_start h1
dp_start h2
check "spread_receive false: rps_cpus left at 0 on h2" rps_zero h2
read -r dc ac < <(one_connection)
echo "spread_receive false: data on CPU $dc, ACKs on CPU $ac (not steered: RPS is off)"
check "spread_receive false: traffic still flows (data seen on h2)" [ "$dc" != -1 ]
exit "$fails"
