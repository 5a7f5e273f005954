#!/usr/bin/env bash
# The watchdog sees everything that could run before or instead of the
# measured data plane, and every edit of the maps sealnetd writes
# (issue 9 item 7).  Each tampering is done on its own host, as root in
# the guest would:
#
#    h1 .. h6 (sealnetd, static keys, peer h7) --- br0 --- h7 (sealnetd)
#
#   h1: a second bpf filter at egress pref 1, another handle, returning OK
#       (it runs first: UDP to the peer would leave in clear)
#   h2: a u32 filter with a mirred action on ingress
#   h3: a tcx program on egress
#   h4: an XDP program
#   h5: an entry added to sn_policy (bpftool map update)
#   h6: sn_config's unprotected-egress mode flipped to pass
# Each must end TAMPERED (the reason naming what was found), with the
# peer's keys revoked; h1 must send no clear UDP to its peer afterwards
# (sealnetd removes what it did not attach).  h7, untouched, stays
# measured.
set -eu
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/dp.sh"
netns_init
trap 'rc=$?; set +e; dp_cleanup; netns_trap $rc' EXIT
FOREIGN="$SN_BUILD/tests/netns/foreign_prog"
[ -x "$FOREIGN" ] || netns_fail "no $FOREIGN (build first)"
command -v bpftool >/dev/null || netns_fail "needs bpftool (Debian package bpftool)"
netns_topology 7
H7=$(netns_addr h7)
attackers="h1 h2 h3 h4 h5 h6"
for h in $attackers; do
	dp_config "$h" "h7" '{"peer":"h7","direction":"egress","protocol":"udp","port":7000}'
done
dp_config h7 "$attackers" '{"peer":"h1","direction":"ingress","protocol":"udp","port":7000}'
for h in $attackers h7; do dp_start "$h"; done
for h in $attackers h7; do
	check "$h starts measured" [ "$(dp_status "$h" | jq -r .dataplane)" = measured ]
done

# map id NAME of the sealnet programs attached on H's eth0
map_id() {
	local h=$1 name=$2 prog m
	prog=$(dp_status "$h" | jq -r .egress_prog_id)
	for m in $(bpftool -j prog show id "$prog" | jq -r '.map_ids[]'); do
		if [ "$(bpftool -j map show id "$m" | jq -r .name)" = "$name" ]; then
			echo "$m"
			return 0
		fi
	done
	return 1
}

# wait up to 3 s for H to say TAMPERED
tampered() {
	for _ in $(seq 30); do
		[ "$(dp_status "$1" | jq -r .dataplane)" = TAMPERED ] && return 0
		sleep 0.1
	done
	return 1
}

# one clear UDP datagram from H to h7:7000 carrying MARKER
udp_send() {
	netns_exec "$1" python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try: s.sendto(b'$2', ('$H7', 7000))
except OSError: pass"
}

netns_capture h7 "$DP_DIR/h7.pcap" udp port 7000

# h1: a filter ahead of sealnet's, at its pref, with another handle
netns_exec h1 tc filter add dev eth0 egress pref 1 handle 0x2 bpf da \
	obj "$SN_BUILD/tests/netns/foreign.bpf.o" sec tc ||
	netns_fail "could not add the foreign filter (tc with libbpf support needed)"
check "h1: an extra bpf filter at egress pref 1 -> TAMPERED" tampered h1
echo "   h1: $(dp_status h1 | jq -r .dataplane_reason)"
check "h1: the reason names the foreign filter" \
	grep -q "egress filter pref 1 handle 0x2" <<<"$(dp_status h1 | jq -r .dataplane_reason)"
check "h1: h7's keys revoked" [ "$(dp_peer h1 h7 state)" = revoked ]
sleep 1.5 # one more tick: the foreign filter is removed, not just reported
for i in 1 2 3 4 5; do udp_send h1 "CLEAR-AFTER-TAMPER-$i"; sleep 0.1; done

# h2: a u32 filter on ingress whose action mirrors every packet elsewhere
# (this kernel has cls_bpf and cls_u32 and act_mirred, not matchall/gact)
netns_exec h2 tc filter add dev eth0 ingress pref 7 protocol all u32 match u32 0 0 \
	action mirred egress mirror dev lo || netns_fail "could not add the u32 filter"
check "h2: a u32 filter with an action on ingress -> TAMPERED" tampered h2
echo "   h2: $(dp_status h2 | jq -r .dataplane_reason)"
check "h2: the reason names it" grep -q "ingress filter pref 7.*u32" \
	<<<"$(dp_status h2 | jq -r .dataplane_reason)"
check "h2: h7's keys revoked" [ "$(dp_peer h2 h7 state)" = revoked ]

# h3: tcx on egress (runs before every clsact filter)
netns_exec h3 "$FOREIGN" tcx_egress eth0 || netns_fail "foreign_prog tcx_egress failed"
check "h3: a tcx egress program -> TAMPERED" tampered h3
echo "   h3: $(dp_status h3 | jq -r .dataplane_reason)"
check "h3: the reason names tcx" grep -q "tcx egress" <<<"$(dp_status h3 | jq -r .dataplane_reason)"
check "h3: h7's keys revoked" [ "$(dp_peer h3 h7 state)" = revoked ]

# h4: XDP (runs before every TC ingress hook)
netns_exec h4 "$FOREIGN" xdp eth0 || netns_fail "foreign_prog xdp failed"
check "h4: an XDP program -> TAMPERED" tampered h4
echo "   h4: $(dp_status h4 | jq -r .dataplane_reason)"
check "h4: the reason names XDP" grep -q "XDP" <<<"$(dp_status h4 | jq -r .dataplane_reason)"
check "h4: h7's keys revoked" [ "$(dp_peer h4 h7 state)" = revoked ]

# h5: a policy entry sealnetd never wrote: h5 -> h7 tcp/22 allowed
m=$(map_id h5 sn_policy) || netns_fail "no sn_policy map found for h5"
bpftool map update id "$m" key hex 07 00 00 00 16 00 06 00 00 00 00 00 00 00 00 00 \
	value hex 63 00 00 00 00 00 00 00 || netns_fail "bpftool map update (sn_policy) failed"
check "h5: an sn_policy entry added behind sealnetd's back -> TAMPERED" tampered h5
echo "   h5: $(dp_status h5 | jq -r .dataplane_reason)"
check "h5: the reason names sn_policy" grep -q "sn_policy" <<<"$(dp_status h5 | jq -r .dataplane_reason)"
check "h5: h7's keys revoked" [ "$(dp_peer h5 h7 state)" = revoked ]

# h6: sn_config's unprot_egress (byte 8) set to pass
m=$(map_id h6 sn_config) || netns_fail "no sn_config map found for h6"
val=$(bpftool -j map lookup id "$m" key hex 00 00 00 00 | jq -r '.value | map(ltrimstr("0x")) | .[]')
val=$(awk -v RS=' |\n' 'NF { printf "%s ", (NR == 9 ? "01" : $0) }' <<<"$val")
# shellcheck disable=SC2086 # one argument per byte
bpftool map update id "$m" key hex 00 00 00 00 value hex $val ||
	netns_fail "bpftool map update (sn_config) failed"
check "h6: sn_config edited behind sealnetd's back -> TAMPERED" tampered h6
echo "   h6: $(dp_status h6 | jq -r .dataplane_reason)"
check "h6: the reason names sn_config" grep -q "sn_config" <<<"$(dp_status h6 | jq -r .dataplane_reason)"
check "h6: h7's keys revoked" [ "$(dp_peer h6 h7 state)" = revoked ]

# each tampered node removed what it did not attach (fail closed)
only_sealnet() { # H DIR: the only filters are sealnet's (pref 1, handle 0x5e1)
	[ -z "$(netns_exec "$1" tc filter show dev eth0 "$2" | grep -v '^filter protocol all pref 1 bpf chain 0 $' |
		grep -v '^filter protocol all pref 1 bpf chain 0 handle 0x5e1 ' | grep '^filter')" ]
}
check "h1's foreign egress filter is gone" only_sealnet h1 egress
check "h2's u32 ingress filter is gone" only_sealnet h2 ingress
check "h3's tcx program is gone" [ -z "$(netns_exec h3 "$FOREIGN" query-tcx eth0)" ]
check "h4's XDP program is gone" [ -z "$(netns_exec h4 ip link show dev eth0 | grep -i xdp)" ]

netns_capture_stop
n=$(tcpdump -r "$DP_DIR/h7.pcap" -A 2>/dev/null | grep -c CLEAR-AFTER-TAMPER || true)
check "no clear UDP from h1 to h7:7000 after the tampering (captured $n)" [ "$n" = 0 ]
check "h7 (untouched) is still measured" [ "$(dp_status h7 | jq -r .dataplane)" = measured ]
for h in h1 h3 h4 h5 h6; do
	check "$h's log says why" grep -q "no longer the measured one" "$DP_DIR/$h.log"
done
echo "   watchdog tick on h7: $(dp_status h7 | jq -r .watchdog_tick_us) us"
exit "$fails"
