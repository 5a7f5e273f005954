# shellcheck shell=bash
# tests/netns/engine.sh — what the data-plane engine tests share
# (test_engine_interop, test_engine_simd).  Source after dp.sh.
#
#   engine_begin N [--offloads-off]  dp_test_begin N, the tools they need,
#                           offloads forced off on every link when asked
#                           ($offloads: on or off); sets H1, H2, SINK, SW
#   sealed_drops H          the sum of H's drops on the sealed path
#   drops_detail H          H's non-zero drop counters, one JSON object
#   transfer FROM TO PORT BYTES MARKER [SECONDS]
#                           TCP FROM -> TO:PORT, true when the sha256 of
#                           what arrived is that of what was sent
#   iperf FROM TO ARGS...   iperf3 client on FROM against a one-shot server
#                           on TO:5201; JSON in $DP_DIR/iperf.json
#   check_iperf_tcp DESC ARGS...  iperf, then check > 1 Mbit/s received
#   check_iperf_udp DESC ARGS...  iperf, then check > 1000 datagrams, the
#                           loss counted
#   engine_rekey_transfers  phase 2: 60 MB each way at once over 8 s (or
#                           longer, as fast as the engines go) while the
#                           epochs are sampled; checks the epochs changed
#                           3 times, both data intact, no sealed drop

engine_begin() {
	offloads=on
	[ "${2:-}" = --offloads-off ] && offloads=off
	dp_test_begin "$1"
	local t
	for t in iperf3 tcpdump python3 jq ethtool; do
		command -v $t >/dev/null || netns_fail "needs $t (Debian package $t)"
	done
	[ "$offloads" = off ] && netns_offloads_off "$1"
	H1=$(netns_addr h1)
	H2=$(netns_addr h2)
	SINK="python3 $(dirname "${BASH_SOURCE[0]}")/tcp_sink.py"
	SW=$(netns_name sw)
}

SEALED_DROPS="NO_KEY KEY_CHANGED BAD_TAG REPLAY TOO_OLD UNKNOWN_SESSION BAD_SOURCE MALFORMED TOO_BIG HELPER CSUM_OFFLOAD GSO COUNTER_LIMIT ENGINE_BYPASS PLAINTEXT"
sealed_drops() { # one jq for all (a missing counter is an error, not 0)
	dp_status "$1" | jq -r --arg rs "$SEALED_DROPS" \
		'. as $s | [$rs | splits(" ") | $s.drops[.].count | if . == null then error("no counter") else . end] | add'
}

drops_detail() {
	dp_status "$1" | jq -c '[.drops | to_entries[] | select(.value.count > 0) | {(.key): .value.count}] | add'
}

transfer() { # FROM TO PORT BYTES MARKER [SECONDS]
	local out="$DP_DIR/sink.$3" got sent
	netns_bg "$2" $SINK serve "$(netns_addr "$2")" "$3" >"$out"
	netns_wait_listen "$2" "$3"
	sent=$(netns_exec "$1" $SINK send "$(netns_addr "$2")" "$3" "$4" "$5" ${6:-})
	for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
	got=$(cat "$out")
	echo "   $1 -> $2:$3: sent $sent, received ${got:-nothing}"
	[ -n "$sent" ] && [ "$sent" = "$got" ]
}

iperf() { # FROM TO ARGS...
	local from=$1 to=$2
	shift 2
	netns_exec "$to" iperf3 -s -1 -D -p 5201 -B "$(netns_addr "$to")"
	netns_wait_listen "$to" 5201
	netns_exec "$from" timeout 30 iperf3 -J -c "$(netns_addr "$to")" -p 5201 "$@" >"$DP_DIR/iperf.json" || true
}

check_iperf_tcp() { # DESC FROM TO ARGS...
	local d=$1 bps
	shift
	iperf "$@"
	bps=$(jq -r '.end.sum_received.bits_per_second // 0' "$DP_DIR/iperf.json")
	check "$d: $(printf '%.0f' "$bps") bit/s" [ "${bps%.*}" -gt 1000000 ]
}

check_iperf_udp() { # DESC FROM TO ARGS...
	local d=$1 pk lost
	shift
	iperf "$@"
	pk=$(jq -r '.end.sum.packets // 0' "$DP_DIR/iperf.json")
	lost=$(jq -r '.end.sum.lost_packets // -1' "$DP_DIR/iperf.json")
	check "$d: $pk datagrams, $lost lost" [ "$pk" -gt 1000 -a "$lost" -ge 0 ]
}

engine_rekey_transfers() {
	local b1 b2 sampler p12 s12 s21 changes
	b1=$(sealed_drops h1)
	b2=$(sealed_drops h2)
	: >"$DP_DIR/epochs"
	# sampled from before the transfers until both have ended (at most
	# 120 s): the changes counted are those during the transfers
	(for _ in $(seq 480); do
		echo "$(dp_peer h1 h2 tx_epoch) $(dp_peer h2 h1 tx_epoch)" >>"$DP_DIR/epochs"
		[ -e "$DP_DIR/epochs.stop" ] && break
		sleep 0.25
	done) &
	SN_NS_BGPIDS+=($!)
	sampler=$!
	netns_bg h2 $SINK serve "$H2" 6000 >"$DP_DIR/sink.6000"
	netns_bg h1 $SINK serve "$H1" 6001 >"$DP_DIR/sink.6001"
	netns_wait_listen h2 6000
	netns_wait_listen h1 6001
	netns_exec h1 $SINK send "$H2" 6000 60000000 rk12 8 >"$DP_DIR/sent.6000" &
	p12=$!
	s21=$(netns_exec h2 $SINK send "$H1" 6001 60000000 rk21 8)
	wait "$p12" || true
	touch "$DP_DIR/epochs.stop"
	wait "$sampler" 2>/dev/null || true
	s12=$(cat "$DP_DIR/sent.6000")
	changes=$(awk 'NR > 1 && ($1 != p1 || $2 != p2) { c++ } { p1 = $1; p2 = $2 } END { print c + 0 }' "$DP_DIR/epochs")
	check "the send epochs changed $changes times during the transfers" [ "$changes" -ge 3 ]
	for _ in $(seq 50); do [ -s "$DP_DIR/sink.6001" ] && break; sleep 0.1; done
	check "TCP h2 -> h1 across the rekeys, 60 MB, data checked" \
		[ -n "$s21" -a "$s21" = "$(cat "$DP_DIR/sink.6001")" ]
	for _ in $(seq 50); do [ -s "$DP_DIR/sink.6000" ] && break; sleep 0.1; done
	check "TCP h1 -> h2 across the rekeys, 60 MB, data checked" \
		[ -n "$s12" -a "$s12" = "$(cat "$DP_DIR/sink.6000")" ]
	check "no sealed packet dropped on h1 ($(drops_detail h1)) or h2 ($(drops_detail h2))" \
		[ "$(sealed_drops h1)" = "$b1" -a "$(sealed_drops h2)" = "$b2" ]
}
