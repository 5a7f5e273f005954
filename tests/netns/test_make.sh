#!/usr/bin/env bash
# MAKE between real hosts: keys only after mutual attestation (sim TEE).
#
#    h1 198.18.0.1 ---+      appraisal policy: this test's sim platform and
#    h2 198.18.0.2 ---+      the launch measurements of h1, h2 and h3; h4's
#    h3 198.18.0.3 ---+-- br0   differs (its configuration) -> no keys
#    h4 198.18.0.4 ---+
#
# rules: h1 -> h2, h1 -> h3, h3 -> h2, h4 -> h2 (tcp/6000); rekey every
# second, hard lifetime 8 s (a new MAKE every ~5 s); h1 also rekeys when its send counter is half
# way to its (small) counter limit.  Checks: no traffic before MAKE;
# h1, h2, h3 keyed pairwise and carrying traffic; h4 refused with the
# reason and its packets dropped; garbage and floods on the MAKE port;
# data intact under rekeys with no crypto drops; kill -9 + restart during a
# transfer; a stalled peer cut off after the lifetime, then taken back; a
# replaced data plane ends the node's keying.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 4
H2=$(netns_addr h2) H3=$(netns_addr h3)
crypto_drops() { # sum of the drop counters that mean lost sealed packets
	dp_status "$1" | jq '[.drops.BAD_TAG.count, .drops.NO_KEY.count,
		.drops.REPLAY.count, .drops.TOO_OLD.count,
		.drops.COUNTER_LIMIT.count] | add'
}

dp_sim_platform
make_extra=', "rekey_interval_s": 1, "session_lifetime_s": 8'
r6000() { printf '{"peer":"%s","direction":"%s","protocol":"tcp","port":6000}' "$1" "$2"; }
dp_make_config h1 "h2 h3 h4" "$(r6000 h2 egress), $(r6000 h3 egress)" "$make_extra"
sed -i 's/"interface": "eth0",/"interface": "eth0", "counter_limit": 6000,/' "$DP_DIR/h1.json"
dp_make_config h2 "h1 h3 h4" "$(r6000 h1 ingress), $(r6000 h3 ingress), $(r6000 h4 ingress)" "$make_extra"
dp_make_config h3 "h1 h2 h4" "$(r6000 h2 egress), $(r6000 h1 ingress)" "$make_extra"
dp_make_config h4 "h1 h2 h3" "$(r6000 h2 egress)" "$make_extra"
for h in h1 h2 h3 h4; do
	"$SEALNETD" --print-measurement --config "$DP_DIR/$h.json"
done >"$DP_DIR/measurements"
check "each node's launch measurement differs (configs differ)" \
	[ "$(sort -u "$DP_DIR/measurements" | wc -l)" = 4 ]
dp_policy h1 h2 h3

# h1 alone: no MAKE possible, so nothing to h2 may leave (never in clear)
dp_start h1
before=$(dp_drops h1 NO_KEY)
netns_exec h1 timeout 2 bash -c "echo x > /dev/tcp/$H2/6000" 2>/dev/null && r=0 || r=1
check "before MAKE, h1 -> h2:6000 is dropped (NO_KEY $before -> $(dp_drops h1 NO_KEY))" \
	[ "$r" = 1 -a "$(dp_drops h1 NO_KEY)" -gt "$before" ]
dp_start h2
dp_start h3
dp_start h4
for pair in "h1 h2" "h2 h1" "h1 h3" "h3 h1" "h2 h3" "h3 h2"; do
	check "MAKE complete: $pair" dp_wait_peer $pair
done
for h in h1 h2 h3; do
	check "$h refuses h4" dp_wait_peer $h h4 failed
done
# the first attempt may fail before evidence (h4 not listening yet): the
# retry (backoff 1 s) gets to the appraisal
r=$(dp_appraisal h2 h4)
echo "   h2's appraisal of h4: $r"
check "h2's appraisal of h4 names the measurement" grep -q "measurement-not-allowed" <<<"$r"
echo "   h4 on h2: $(dp_peer h4 h2 reason)"

# attested pairs carry traffic: h3 -> h2 and h1 -> h3
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/s32" &
sink=$!
netns_wait_listen h2 6000
want=$(netns_exec h3 python3 "$here/tcp_sink.py" send "$H2" 6000 300000 H3-TO-H2)
wait $sink || true
check "h3 -> h2 carries data intact" [ -n "$want" -a "$want" = "$(cat "$DP_DIR/s32")" ]
netns_exec h3 python3 "$here/tcp_sink.py" serve "$H3" 6000 >"$DP_DIR/s13" &
sink=$!
netns_wait_listen h3 6000
want=$(netns_exec h1 python3 "$here/tcp_sink.py" send "$H3" 6000 300000 H1-TO-H3)
wait $sink || true
check "h1 -> h3 carries data intact" [ -n "$want" -a "$want" = "$(cat "$DP_DIR/s13")" ]

# garbage and a flood of connections at h2's MAKE port from h1's address
# (h1 dials h2: lower id): refused or failed, no crash; then h1 and h2
# key again.  Only sealnetd's own (marked) sockets may reach a peer's MAKE
# port: an ordinary process on h1 is dropped at h1 (CONTROL_PORT) ...
before=$(dp_drops h1 CONTROL_PORT)
netns_exec h1 timeout 1 bash -c "echo x > /dev/tcp/$H2/51821" 2>/dev/null && r=0 || r=1
check "a process other than sealnetd cannot reach h2's MAKE port from h1 (CONTROL_PORT $before -> $(dp_drops h1 CONTROL_PORT))" \
	[ "$r" = 1 -a "$(dp_drops h1 CONTROL_PORT)" -gt "$before" ]
# ... so the flood comes from root on h1 with sealnetd's mark
for _ in $(seq 20); do
	netns_exec h1 timeout 1 python3 -c "
import os, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, 0x5e1a0001)
s.settimeout(0.8); s.connect(('$H2', 51821)); s.sendall(os.urandom(70000))" 2>/dev/null || true
done
netns_exec h4 timeout 1 bash -c "printf '\\x16\\x03\\x01\\xff\\xff' > /dev/tcp/$H2/51821" 2>/dev/null || true
check "h2's daemon survives garbage on its MAKE port" kill -0 "${DP_PID[h2]}"
grep -q "MAKE sessions in" "$DP_DIR/h2.log" && r=0 || r=1
check "and rate-limits the flood of sessions from h1's address" [ "$r" = 0 ]
# once the rate-limit window (10 s) lets it, h1's next MAKE (a re-MAKE
# every ~5 s, or its redial) gets through: a new session, keyed
m0=$(dp_peer h2 h1 makes)
remade() {
	for _ in $(seq 300); do
		[ "$(dp_peer h2 h1 makes)" -gt "$m0" ] && [ "$(dp_peer h2 h1 state)" = established ] && return 0
		sleep 0.1
	done
	echo "  h2's peer h1: $(dp_peer h2 h1 makes) sessions keyed ($m0 when the flood ended), $(dp_peer h2 h1 state)" >&2
	return 1
}
check "h1 and h2 are keyed again after the flood, in a new MAKE session" remade

# h4 has no keys: its packets to h2 are dropped, never sent in clear
before=$(dp_drops h4 NO_KEY)
netns_exec h4 timeout 2 bash -c "echo x > /dev/tcp/$H2/6000" 2>/dev/null && r=0 || r=1
check "h4 cannot reach h2:6000" [ "$r" = 1 ]
check "h4's packets dropped as NO_KEY ($before -> $(dp_drops h4 NO_KEY))" [ "$(dp_drops h4 NO_KEY)" -gt "$before" ]

# data under rekeys every second (and a re-MAKE: lifetime 8 s): intact,
# no sealed packet lost
e0=$(grep -c "h2: sending with epoch" "$DP_DIR/h1.log" || true)
d1=$(crypto_drops h1) d2=$(crypto_drops h2)
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/sink1" &
sink=$!
netns_wait_listen h2 6000
want=$(netns_exec h1 python3 "$here/tcp_sink.py" send "$H2" 6000 24000000 REKEY-STREAM 6)
wait $sink || true
e1=$(grep -c "h2: sending with epoch" "$DP_DIR/h1.log" || true)
check "24 MB over 6 s intact across rekeys" [ "$want" = "$(cat "$DP_DIR/sink1")" ]
check "at least 4 key rotations (rekeys, re-MAKEs) happened ($((e1 - e0)))" [ "$((e1 - e0))" -ge 4 ]
grep -q "half-way to the limit" "$DP_DIR/h1.log" && r=0 || r=1
check "h1 also rekeyed because its send counter neared its limit" [ "$r" = 0 ]
check "no sealed packet dropped on either side (h1 $d1 -> $(crypto_drops h1), h2 $d2 -> $(crypto_drops h2))" \
	[ "$(crypto_drops h1)" = "$d1" -a "$(crypto_drops h2)" = "$d2" ]

# kill -9 h2's sealnetd during a transfer, restart it
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/sink2" &
sink=$!
netns_wait_listen h2 6000
netns_exec h1 python3 "$here/tcp_sink.py" send "$H2" 6000 16000000 RESTART-STREAM 8 >"$DP_DIR/want2" 2>"$DP_DIR/send2.err" &
sender=$!
sleep 2
kill -9 "${DP_PID[h2]}"
wait "${DP_PID[h2]}" 2>/dev/null || true
unset "DP_PID[h2]"
dp_start h2
wait $sender || true
wait $sink || true
check "a transfer across kill -9 and restart of h2 arrives intact" \
	[ -s "$DP_DIR/want2" -a "$(cat "$DP_DIR/want2")" = "$(cat "$DP_DIR/sink2")" ]
if [ ! -s "$DP_DIR/want2" ] || [ "$(cat "$DP_DIR/want2")" != "$(cat "$DP_DIR/sink2")" ]; then
	echo "   sent: $(cat "$DP_DIR/want2") received: $(cat "$DP_DIR/sink2") sender: $(tail -1 "$DP_DIR/send2.err")"
	grep -E "previous|attached|settled|deadline" "$DP_DIR/h2.log" | sed "s/^/   h2: /"
	echo "   h1 drops: $(dp_status h1 | jq -c '.drops | map_values(.count) | with_entries(select(.value > 0))')"
	grep -v "info: drop" "$DP_DIR/h2.log" | tail -6 | sed 's/^/   h2: /'
	grep -v "info: drop" "$DP_DIR/h1.log" | tail -6 | sed 's/^/   h1: /'
fi
check "h2 re-attested and re-keyed with h1" dp_wait_peer h2 h1
grep -q "previous instance" "$DP_DIR/h2.log" && r=0 || r=1
check "the restarted h2 kept the old programs until keyed" [ "$r" = 0 ]
grep -q "attached (every peer settled)" "$DP_DIR/h2.log" && r=0 || r=1
check "and replaced them once every peer was settled (not by the deadline)" [ "$r" = 0 ]

# a stalled peer: h1's daemon frozen, no rekey: h2 cuts h1 off after 8 s
kill -STOP "${DP_PID[h1]}"
check "h2 cuts off h1 after the hard lifetime" dp_wait_peer h2 h1 cut-off
before=$(dp_drops h2 NO_KEY)
netns_exec h1 timeout 2 bash -c "echo x > /dev/tcp/$H2/6000" 2>/dev/null && r=0 || r=1
check "h1's sealed packets (its kernel still seals) are dropped by h2 (NO_KEY $before -> $(dp_drops h2 NO_KEY))" \
	[ "$r" = 1 -a "$(dp_drops h2 NO_KEY)" -gt "$before" ]
kill -CONT "${DP_PID[h1]}"
check "and takes it back after a fresh MAKE" dp_wait_peer h2 h1 established

# h1's data plane replaced on the fly: h1 fails closed and stops MAKE;
# h2 gets no fresh keys from it and cuts it off at the lifetime
dp_tamper h1 || true
check "h1 detects that its data plane was replaced" [ "$(dp_status h1 | jq -r .dataplane)" = TAMPERED ]
check "h2 cuts h1 off: no fresh MAKE from a tampered node" dp_wait_peer h2 h1 cut-off

# the audit log (state_dir) of h2: lifecycle, keys, refusals, cut-offs;
# never key material (no 64-hex-digit value anywhere)
audit="$DP_DIR/h2.state/audit.jsonl"
check "h2's audit log records its starts" [ "$(grep -c '"event":"start"' "$audit")" = 2 ]
check "keys installed, with peer and epoch" grep -q '"event":"keys".*"peer":"h1"' "$audit"
check "h4's refusal with the reason" \
	grep -q 'measurement-not-allowed' <<<"$(grep '"event":"make-failed"' "$audit" | grep '"peer":"h4"')"
check "the cut-off of h1" grep -q '"event":"cut-off".*"peer":"h1"' "$audit"
check "no key material in the audit log (no 256-bit hex value)" \
	[ -z "$(grep -oE '[0-9a-fA-F]+' "$audit" | awk 'length == 64')" ]

# the restarted h2, stopped and taken down, leaves its interface as the
# kernel had it
rps() { netns_exec h2 cat /sys/class/net/eth0/queues/rx-0/rps_cpus | tr -d ',\n'; }
check "sealnetd spreads h2's receive work over the CPUs (rps_cpus $(rps))" \
	[ -n "$(rps | tr -d 0)" ]
check "h2's sealnetd (the restarted one) stops cleanly" dp_stop h2
check "sealnetd --down on h2" dp_down h2
segs=$(netns_exec h2 ip -d link show eth0 | grep -o 'gso_max_segs [0-9]*' | awk '{print $2}')
check "h2's gso_max_segs is back to the kernel default (got $segs)" [ "$segs" = 65535 ]
check "rps_cpus is back to 0 (got $(rps))" [ -z "$(rps | tr -d 0)" ]
check "and no clsact qdisc is left on it" [ -z "$(netns_exec h2 tc qdisc show dev eth0 | grep clsact)" ]
exit "$fails"
