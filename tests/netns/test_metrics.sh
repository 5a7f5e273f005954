#!/usr/bin/env bash
# sealnetd's Prometheus page (issue 15, item 3), scraped with curl.
#
#    h1 198.18.0.1 ---+-- br0   metrics on 127.0.0.1:9477 inside h1
#    h2 198.18.0.2 ---+         rule: h1 -> h2 tcp/6000; rekey every 1 s
#    h3 198.18.0.3 ---+         launch measurement not in the policy
#
# Checks: the page is valid text format 0.0.4 (every sample's family has
# HELP and TYPE, no duplicate series); counters move with what happened:
# sealed/opened packets and bytes with a 300 kB transfer, a policy drop
# with a denied connection, MAKE sessions, rekeys and the MAKE duration
# histogram, MAKE failures of h3 by the appraisal reason; only GET
# /metrics is served; a bad metrics_listen stops sealnetd at start with
# a message naming it.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 3
H2=$(netns_addr h2)
URL=http://127.0.0.1:9477/metrics
scrape() { netns_exec h1 curl -sS --max-time 5 "$URL"; }
# value of one series: metric name and a label filter (grep -F)
val() { scrape | grep -E "^$1(\{|\s)" | grep -F -- "${2:-}" | awk '{print $2}' | head -1; }

dp_sim_platform
r6000() { printf '{"peer":"%s","direction":"%s","protocol":"tcp","port":6000}' "$1" "$2"; }
extra=', "rekey_interval_s": 1'
dp_make_config h1 "h2 h3" "$(r6000 h2 egress)" "$extra"
dp_make_config h2 "h1" "$(r6000 h1 ingress)" "$extra"
dp_make_config h3 "h1" "$(r6000 h1 egress)" "$extra"
# h1 serves metrics (127.0.0.1 inside its namespace)
sed -i 's|^{ "node": "h1",|{ "node": "h1", "metrics_listen": "127.0.0.1:9477",|' "$DP_DIR/h1.json"
dp_policy h1 h2
netns_exec h1 ip link set lo up
dp_start h1
dp_start h2
dp_start h3
check "MAKE complete: h1 -> h2" dp_wait_peer h1 h2

scrape >"$DP_DIR/page1"
check "the page answers with series for every family" [ "$(grep -c '^sealnet_' "$DP_DIR/page1")" -gt 20 ]
check "every sample belongs to a family with HELP and TYPE" bash -c "
	awk '/^# HELP /{h[\$3]=1} /^# TYPE /{t[\$3]=\$4}
	     /^[a-z]/{n=\$1; sub(/\{.*/, \"\", n); b=n; sub(/_(bucket|sum|count)\$/, \"\", b);
	              if (!((n in h && n in t) || (b in h && t[b] == \"histogram\"))) bad++}
	     END{exit bad > 0}' '$DP_DIR/page1'"
check "no series appears twice" [ -z "$(grep -v '^#' "$DP_DIR/page1" | awk '{print $1}' | sort | uniq -d)" ]
check "content type is text format 0.0.4" bash -c \
	"netns_exec() { ip netns exec \"$(netns_name h1)\" \"\$@\"; }; netns_exec curl -sSI --max-time 5 '$URL' | grep -qi '^content-type: text/plain; version=0.0.4'"
check "node info names h1" grep -q '^sealnet_node_info{node="h1",interface="eth0",mode="make"} 1$' "$DP_DIR/page1"
check "h2 keyed, at least one MAKE session" [ "$(val sealnet_make_sessions_total 'peer="h2"')" -ge 1 ]
check "the MAKE duration histogram counted it" [ "$(val sealnet_make_duration_seconds_count)" -ge 1 ]

tx0=$(val sealnet_peer_sealed_packets_total 'peer="h2"')
txb0=$(val sealnet_peer_sealed_bytes_total 'peer="h2"')
rx0=$(val sealnet_peer_opened_packets_total 'peer="h2"')
pol0=$(val sealnet_drops_total 'reason="POLICY_EGRESS"')
rk0=$(val sealnet_rekeys_total 'peer="h2"')
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/sink" &
sink=$!
netns_wait_listen h2 6000
want=$(netns_exec h1 python3 "$here/tcp_sink.py" send "$H2" 6000 300000 METRICS)
wait $sink || true
check "300 kB h1 -> h2 arrive intact" [ -n "$want" -a "$want" = "$(cat "$DP_DIR/sink")" ]
netns_exec h1 timeout 2 bash -c "exec 3<>/dev/tcp/$H2/22" 2>/dev/null || true
sleep 2.2 # at least one rekey
tx1=$(val sealnet_peer_sealed_packets_total 'peer="h2"')
txb1=$(val sealnet_peer_sealed_bytes_total 'peer="h2"')
rx1=$(val sealnet_peer_opened_packets_total 'peer="h2"')
echo "   sealed packets to h2 $tx0 -> $tx1, bytes $txb0 -> $txb1; opened from h2 $rx0 -> $rx1"
check "sealed packets to h2 grew with the transfer" [ "$tx1" -gt $((tx0 + 100)) ]
check "sealed bytes to h2 grew by at least 300 kB" [ "$txb1" -ge $((txb0 + 300000)) ]
check "opened packets from h2 (ACKs) grew" [ "$rx1" -gt "$rx0" ]
check "the denied connection h1 -> h2:22 counts as POLICY_EGRESS" \
	[ "$(val sealnet_drops_total 'reason="POLICY_EGRESS"')" -gt "$pol0" ]
check "rekeys of h2 counted" [ "$(val sealnet_rekeys_total 'peer="h2"')" -gt "$rk0" ]
check "key age of h2 is under the rekey interval + 1 s" [ "$(val sealnet_peer_key_age_seconds 'peer="h2"')" -le 2 ]
for _ in $(seq 30); do
	f=$(val sealnet_make_failures_total 'peer="h3",reason="measurement-not-allowed"')
	[ -n "$f" ] && break
	sleep 0.5
done
check "h3's refused evidence counts as MAKE failure measurement-not-allowed" [ "${f:-0}" -ge 1 ]
check "h3 is not keyed" grep -q '^sealnet_peer_keyed{peer="h3",state="[a-z-]*"} 0$' <(scrape)
check "another path is 404" [ "$(netns_exec h1 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:9477/")" = 404 ]
check "POST is refused (405)" [ "$(netns_exec h1 curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$URL")" = 405 ]
check "the page holds no key material or session id" bash -c "! grep -qiE 'key=|session=\"[0-9a-f]{16}' '$DP_DIR/page1'"

# a bad address refuses to start, naming the field
sed 's|"metrics_listen": "127.0.0.1:9477"|"metrics_listen": "localhost"|' "$DP_DIR/h1.json" >"$DP_DIR/bad.json"
sed -i 's|h1.sock|bad.sock|' "$DP_DIR/bad.json"
set +e
out=$(netns_exec h1 timeout 10 "$SEALNETD" --config "$DP_DIR/bad.json" 2>&1)
rc=$?
set -e
check "metrics_listen \"localhost\" stops sealnetd at start (rc $rc) naming it" \
	bash -c "[ $rc -ne 0 ] && grep -q 'metrics_listen \"localhost\": expected ADDR:PORT' <<<'$out'"
for h in h1 h2 h3; do # clean exit: no sanitizer report, no leak
	check "$h's sealnetd stops cleanly" dp_stop $h
done
exit "$fails"
