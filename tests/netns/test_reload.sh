#!/usr/bin/env bash
# A new policy without a restart: SIGHUP reloads the rules (issue 12,
# item 4's "cuts flows the new version forbids" at the data plane).
#
#    h1 198.18.0.1 ---+-- br0   MAKE; h1 may send tcp/6000 and tcp/6001
#    h2 198.18.0.2 ---+         to h2 (version 1); version 2 drops 6001
#
# Checks: while a 4 MB transfer to h2:6000 and a slow stream to h2:6001
# run, h1 gets version 2 and SIGHUP: the 6001 stream stops within one
# second (its flow cut in both directions), the 6000 transfer arrives
# intact with no sealed packet dropped, a new connection to 6001 is
# refused by the policy; a reload that changes a peer, or a file that
# does not parse, is refused and the running policy stays; the audit log
# records each reload.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 2
H2=$(netns_addr h2)
crypto_drops() {
	dp_status "$1" | jq '[.drops.BAD_TAG.count, .drops.NO_KEY.count,
		.drops.REPLAY.count, .drops.TOO_OLD.count] | add'
}
r() { printf '{"peer":"%s","direction":"%s","protocol":"tcp","port":%s}' "$1" "$2" "$3"; }

dp_sim_platform
dp_make_config h1 "h2" "$(r h2 egress 6000), $(r h2 egress 6001)"
dp_make_config h2 "h1" "$(r h1 ingress 6000), $(r h1 ingress 6001)"
dp_policy h1 h2
dp_start h1
dp_start h2
check "MAKE complete: h1 -> h2" dp_wait_peer h1 h2
check "MAKE complete: h2 -> h1" dp_wait_peer h2 h1
d1=$(crypto_drops h1) d2=$(crypto_drops h2)

netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/sink0" &
sink0=$!
netns_exec h2 python3 "$here/rx_clock.py" "$H2" 6001 3 >"$DP_DIR/clock" &
clock=$!
netns_wait_listen h2 6000
netns_wait_listen h2 6001
netns_exec h1 python3 "$here/tcp_sink.py" send "$H2" 6000 4000000 KEPT 6 >"$DP_DIR/want0" &
send0=$!
netns_exec h1 timeout 12 python3 "$here/tcp_sink.py" send "$H2" 6001 400000 CUT 8 >/dev/null 2>&1 &
send1=$!
sleep 2
# version 2: only tcp/6000 (a different layout, same meaning otherwise)
jq '.rules = [.rules[0]]' "$DP_DIR/h1.json" >"$DP_DIR/h1.v2" && cp "$DP_DIR/h1.v2" "$DP_DIR/h1.json"
t_hup=$(date +%s.%N)
kill -HUP "${DP_PID[h1]}"
wait $send0 || true
wait $sink0 || true
wait $clock || true
kill $send1 2>/dev/null || true
wait $send1 2>/dev/null || true
read -r got last <"$DP_DIR/clock"
lag=$(awk -v a="$last" -v b="$t_hup" 'BEGIN{printf "%.3f", a - b}')
echo "   6001 stream: $got of 400000 bytes; last byte $lag s after SIGHUP"
check "the 4 MB to 6000 (in both versions) arrive intact" \
	[ -s "$DP_DIR/want0" -a "$(cat "$DP_DIR/want0")" = "$(cat "$DP_DIR/sink0")" ]
check "no sealed packet dropped (h1 $d1 -> $(crypto_drops h1), h2 $d2 -> $(crypto_drops h2))" \
	[ "$(crypto_drops h1)" = "$d1" -a "$(crypto_drops h2)" = "$d2" ]
check "the 6001 stream was cut (got $got of 400000)" [ "$got" -lt 400000 ]
check "it was flowing until the reload and stopped within one second of SIGHUP ($lag s)" \
	awk -v l="$lag" 'BEGIN{exit !(l >= -0.5 && l <= 1.0)}'
check "h1 logged the reload" grep -q 'reload: 1 rules kept, 0 added, 1 removed' "$DP_DIR/h1.log"
p0=$(dp_drops h1 POLICY_EGRESS)
set +e
netns_exec h1 timeout 3 bash -c "exec 3<>/dev/tcp/$H2/6001" 2>/dev/null
rc=$?
set -e
check "a new connection to h2:6001 fails" [ "$rc" != 0 ]
check "... dropped by h1's policy (POLICY_EGRESS $p0 -> $(dp_drops h1 POLICY_EGRESS))" \
	[ "$(dp_drops h1 POLICY_EGRESS)" -gt "$p0" ]

# a reload that changes a peer: refused, the policy stays
cp "$DP_DIR/h1.json" "$DP_DIR/h1.good"
jq '.peers[0].address = "198.18.0.9"' "$DP_DIR/h1.good" >"$DP_DIR/h1.json"
# each file is replaced only once sealnetd has answered the SIGHUP before
refusals() { grep -c 'reload refused' "$DP_DIR/h1.log" || true; }
refused() { # N: wait (up to 20 s) for the N-th refusal in h1's log
	for _ in $(seq 200); do [ "$(refusals)" -ge "$1" ] && return 0; sleep 0.1; done
	return 1
}
r0=$(refusals)
kill -HUP "${DP_PID[h1]}"
refused $((r0 + 1)) || true
echo '{ not json' >"$DP_DIR/h1.json"
kill -HUP "${DP_PID[h1]}"
refused $((r0 + 2)) || true
cp "$DP_DIR/h1.good" "$DP_DIR/h1.json"
check "a reload changing a peer is refused, naming why" grep -q 'changes more than "rules"' "$DP_DIR/h1.log"
check "a file that does not parse is refused" grep -q 'reload refused: .*h1.json' "$DP_DIR/h1.log"
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/sink2" &
sink2=$!
netns_wait_listen h2 6000
want=$(netns_exec h1 python3 "$here/tcp_sink.py" send "$H2" 6000 200000 AFTER)
wait $sink2 || true
check "the running policy stayed: 6000 still carries data" [ -n "$want" -a "$want" = "$(cat "$DP_DIR/sink2")" ]
check "the audit log holds 1 ok and 2 refused reloads" \
	[ "$(jq -s '[.[] | select(.event == "reload") | .result] | join(",")' "$DP_DIR/h1.state/audit.jsonl")" = '"ok,refused,refused"' ]
for h in h1 h2; do
	check "$h's sealnetd stops cleanly" dp_stop $h
done
exit "$fails"
