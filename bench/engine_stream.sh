#!/usr/bin/env bash
# bench/engine_stream.sh [SECONDS] — one TCP stream (iperf3) between two
# namespace hosts, for each data-plane engine (both nodes on it: "bpf",
# then "simd"), 3 runs each, median; then plaintext once.  Static keys,
# fresh state per engine.  A quick figure, not a test and not bench/compare.
# Build with a release build for figures:
#   CC=clang meson setup build/rel --buildtype=release && ninja -C build/rel
#   SEALNET_BUILD=$PWD/build/rel bench/engine_stream.sh
set -eu
secs=${1:-5}
. "$(dirname "$0")/../tests/netns/dp.sh"
command -v iperf3 >/dev/null || netns_fail "needs iperf3 (Debian package iperf3)"
dp_test_begin 2
H2=$(netns_addr h2)
R1='{"peer":"h2","direction":"egress","protocol":"tcp","port":5201}'
R2='{"peer":"h1","direction":"ingress","protocol":"tcp","port":5201}'
one() {
	netns_exec h2 iperf3 -s -1 -D -p 5201 -B "$H2"
	sleep 0.5
	netns_exec h1 timeout $((secs + 20)) iperf3 -J -c "$H2" -p 5201 -t "$secs" |
		jq '.end.sum_received.bits_per_second / 1e6 | floor'
}
for eng in bpf simd; do
	rm -rf "$DP_DIR/h1.state" "$DP_DIR/h2.state"
	dp_config h1 "h2" "$R1" "\"dataplane\": {\"engine\": \"$eng\"},"
	dp_config h2 "h1" "$R2" "\"dataplane\": {\"engine\": \"$eng\"},"
	for h in h1 h2; do # the peer's engine: super-datagrams go whole
		jq --arg e "$eng" '.peers |= map(. + {engine: $e})' "$DP_DIR/$h.json" >"$DP_DIR/$h.tmp"
		chmod 600 "$DP_DIR/$h.tmp" && mv "$DP_DIR/$h.tmp" "$DP_DIR/$h.json"
	done
	dp_start h1
	dp_start h2
	v=$(for _ in 1 2 3; do one; done)
	echo "$eng: $(echo $v) Mbit/s, median $(sort -n <<<"$v" | sed -n 2p)"
	dp_stop h1
	dp_stop h2
	dp_down h1
	dp_down h2
done
echo "plain: $(one) Mbit/s"
