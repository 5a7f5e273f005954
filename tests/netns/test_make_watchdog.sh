#!/usr/bin/env bash
# MAKE mode and the watchdog (issue 9 item 7): a tampering that is not a
# replaced program (here: an sn_policy entry added behind sealnetd's back)
# must end the node's keying, and its peer must cut it off.  Rekeys every
# second must never be taken for tampering (they write sn_tx / sn_rx).
#
#    h1 198.18.0.1 --- br0 --- h2 198.18.0.2   (MAKE, sim TEE, lifetime 4 s)
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
command -v bpftool >/dev/null || netns_fail "needs bpftool (Debian package bpftool)"
dp_test_begin 2
dp_sim_platform
extra=', "rekey_interval_s": 1, "session_lifetime_s": 4'
dp_make_config h1 "h2" '{"peer":"h2","direction":"egress","protocol":"tcp","port":6000}' "$extra"
dp_make_config h2 "h1" '{"peer":"h1","direction":"ingress","protocol":"tcp","port":6000}' "$extra"
dp_policy h1 h2
dp_start h1
dp_start h2
check "MAKE complete: h1 h2" dp_wait_peer h1 h2
check "MAKE complete: h2 h1" dp_wait_peer h2 h1
# key rotations (rekeys and re-MAKEs; the epoch restarts with each MAKE)
e0=$(grep -c "h2: sending with epoch" "$DP_DIR/h1.log" || true)
sleep 3
e1=$(grep -c "h2: sending with epoch" "$DP_DIR/h1.log" || true)
check "rekeys happened ($e0 -> $e1 rotations)" [ "$e1" -gt "$e0" ]
check "and the watchdog took none of them for tampering" \
	[ "$(dp_status h1 | jq -r .dataplane)" = measured -a "$(dp_status h2 | jq -r .dataplane)" = measured ]
n0=$(dp_status h1 | jq -r .mlog_events)

# an sn_policy entry on h1 that sealnetd never wrote
prog=$(dp_status h1 | jq -r .egress_prog_id)
m=""
for id in $(bpftool -j prog show id "$prog" | jq -r '.map_ids[]'); do
	[ "$(bpftool -j map show id "$id" | jq -r .name)" = sn_policy ] && m=$id
done
[ -n "$m" ] || netns_fail "no sn_policy map found for h1"
bpftool map update id "$m" key hex 02 00 00 00 16 00 06 00 00 00 00 00 00 00 00 00 \
	value hex 63 00 00 00 00 00 00 00 || netns_fail "bpftool map update failed"
for _ in $(seq 30); do
	[ "$(dp_status h1 | jq -r .dataplane)" = TAMPERED ] && break
	sleep 0.1
done
check "h1 detects the edit: TAMPERED" [ "$(dp_status h1 | jq -r .dataplane)" = TAMPERED ]
echo "   h1: $(dp_status h1 | jq -r .dataplane_reason)"
check "h1 revoked h2 (MAKE ended)" [ "$(dp_peer h1 h2 state)" = revoked ]
check "h1's measurement log records it ($n0 -> $(dp_status h1 | jq -r .mlog_events) events)" \
	[ "$(dp_status h1 | jq -r .mlog_events)" -gt "$n0" ]
check "h1's audit log records it with the reason" \
	grep -q '"event":"tampered".*sn_policy' "$DP_DIR/h1.state/audit.jsonl"
check "h2 cuts h1 off: no fresh MAKE from a tampered node" dp_wait_peer h2 h1 cut-off
netns_exec h2 timeout 5 python3 "$here/tcp_sink.py" serve "$(netns_addr h2)" 6000 >/dev/null 2>&1 &
sink=$!
netns_wait_listen h2 6000
netns_exec h1 timeout 2 bash -c "echo x > /dev/tcp/$(netns_addr h2)/6000" 2>/dev/null && r=0 || r=1
check "h1 -> h2:6000 (a listener there) no longer gets through" [ "$r" = 1 ]
wait "$sink" 2>/dev/null || true
exit "$fails"
