# shellcheck shell=bash
# tests/netns/dp.sh — run sealnetd (static keys) on hosts of a netns
# topology.  Source after lib.sh.
#
#   dp_config H PEERS RULES [EXTRA]  write H's config; PEERS: "h2 h3";
#                                    RULES: JSON array body; EXTRA: top-level
#                                    members, each followed by a comma
#                                    (static keys: insecure_static_keys and
#                                    state_dir $DP_DIR/H.state are written)
#   dp_start H                       start sealnetd on H, wait until ready
#                                    (up to 60 s)
#   dp_config_jq H FILTER [ARGS...]  rewrite H's config through jq, in place
#   dp_status H                      `sealnet status --json` of H
#   dp_drops H REASON                H's drop counter for REASON
#   dp_stop H                        SIGTERM, wait (the data plane stays,
#                                    keyless: on_stop drop)
#   dp_down H                        sealnetd --down: restore H's interface

# the host library, when the test did not source it itself
[ -n "${SN_NS_ID:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SN_BUILD=${SEALNET_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/test}
SEALNETD="$SN_BUILD/daemon/sealnetd"
SEALNET="$SN_BUILD/cli/sealnet"
DP_DIR=$(mktemp -d /tmp/sealnet-dp.XXXXXX)
declare -A DP_PID

[ -x "$SEALNETD" ] || netns_fail "no sealnetd at $SEALNETD (build first; SEALNET_BUILD)"

# deterministic per-direction test key: from i to j
dp_key() { printf 'sealnet-test-key-%s-%s' "$1" "$2" | sha256sum | cut -c1-64; }

dp_config() {
	local h=$1 peers=$2 rules=$3 extra=${4:-} p sep=""
	{
		printf '{ "node": "%s", "id": %s, "interface": "eth0",\n' "$h" "${h#h}"
		printf '  "control_socket": "%s/%s.sock", %s\n' "$DP_DIR" "$h" "$extra"
		# static keys: the explicit test mode, epochs kept in state_dir
		printf '  "insecure_static_keys": true, "state_dir": "%s/%s.state",\n' \
			"$DP_DIR" "$h"
		printf '  "peers": [\n'
		for p in $peers; do
			printf '%s    { "name": "%s", "id": %s, "address": "%s",\n' \
				"$sep" "$p" "${p#h}" "$(netns_addr "$p")"
			printf '      "tx_key": "%s", "rx_key": "%s" }' \
				"$(dp_key "$h" "$p")" "$(dp_key "$p" "$h")"
			sep=$',\n'
		done
		printf '\n  ],\n  "rules": [ %s ]\n}\n' "$rules"
	} >"$DP_DIR/$h.json"
	chmod 600 "$DP_DIR/$h.json"
}

# dp_start H [SEALNETD-ARGS...]: default --config $DP_DIR/H.json
dp_start() {
	local h=$1
	shift
	local args=("$@")
	[ $# -gt 0 ] || args=(--config "$DP_DIR/$h.json")
	# a simple command, so $! is sealnetd itself (ip netns exec execs it)
	ip netns exec "$(netns_name "$h")" "$SEALNETD" "${args[@]}" \
		>"$DP_DIR/$h.log" 2>&1 &
	DP_PID[$h]=$!
	SN_NS_BGPIDS+=($!)
	# up to 60 s: an ASan build loading BPF programs on a loaded machine
	local until=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$until" ]; do
		grep -qs "sealnetd: ready" "$DP_DIR/$h.log" && return 0
		kill -0 "${DP_PID[$h]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$DP_DIR/$h.log" >&2
	netns_fail "sealnetd did not start on $h (not ready after 60 s, or exited)"
}

# dp_config_jq H FILTER [JQ-ARGS...]: rewrite H's config through a jq
# filter, in place, mode 0600 (e.g. '. + {dataplane: {engine: "simd"}}')
dp_config_jq() {
	local h=$1 f=$2
	shift 2
	jq "$@" "$f" "$DP_DIR/$h.json" >"$DP_DIR/$h.jq" ||
		netns_fail "jq '$f' on $h's configuration failed"
	mv "$DP_DIR/$h.jq" "$DP_DIR/$h.json"
	chmod 600 "$DP_DIR/$h.json"
}

dp_status() { "$SEALNET" status --json --socket "$DP_DIR/$1.sock"; }

dp_drops() { dp_status "$1" | jq -r ".drops.$2.count"; }

dp_peer() { dp_status "$1" | jq -r ".peers[] | select(.name == \"$2\") | .$3"; }

dp_stop() {
	local h=$1
	[ -n "${DP_PID[$h]:-}" ] || return 0
	local rc=0
	# signal it only while it is our running job (an exited sealnetd's
	# PID may belong to another process by now); wait reaps it either way
	[ -n "$(netns_live_jobs "${DP_PID[$h]}")" ] && kill -TERM "${DP_PID[$h]}" 2>/dev/null
	wait "${DP_PID[$h]}" 2>/dev/null || rc=$?
	unset "DP_PID[$h]"
	if [ "$rc" != 0 ]; then
		echo "sealnetd on $h exited with $rc:" >&2
		tail -5 "$DP_DIR/$h.log" >&2
		return 1
	fi
}

# dp_test_begin N [CLEANUP]: the opening of every sealnetd test: checks
# and sweeps (netns_init), an EXIT trap that runs the test's own CLEANUP
# (shell text, optional; after sealnetd is stopped) and removes every host
# whatever the outcome, then N hosts on one bridge (netns_topology).
DP_EXTRA_CLEANUP=
dp_test_begin() {
	DP_EXTRA_CLEANUP=${2:-}
	netns_init
	trap 'rc=$?; set +e; dp_cleanup; [ -n "$DP_EXTRA_CLEANUP" ] && eval "$DP_EXTRA_CLEANUP"; netns_trap $rc' EXIT
	netns_topology "$1"
}

# dp_down H: remove a stopped node's data plane (sealnetd --down)
dp_down() {
	netns_exec "$1" "$SEALNETD" --down --config "$DP_DIR/$1.json" >>"$DP_DIR/$1.log" 2>&1
}

dp_cleanup() {
	local h
	for h in "${!DP_PID[@]}"; do dp_stop "$h" || true; done
	rm -rf "$DP_DIR"
}

# MAKE mode: dp_make_config H PEERS RULES [EXTRA-MAKE-MEMBERS]
# (no static keys; the sim platform and policy in $DP_DIR)
dp_make_config() {
	local h=$1 peers=$2 rules=$3 extra=${4:-} p sep=""
	{
		printf '{ "node": "%s", "id": %s, "interface": "eth0",\n' "$h" "${h#h}"
		printf '  "control_socket": "%s/%s.sock", "state_dir": "%s/%s.state",\n' \
			"$DP_DIR" "$h" "$DP_DIR" "$h"
		printf '  "make": { "sim_platform": "%s/platform", "appraisal_policy": "%s/policy.json"%s },\n' \
			"$DP_DIR" "$DP_DIR" "$extra"
		printf '  "peers": [\n'
		for p in $peers; do
			printf '%s    { "name": "%s", "id": %s, "address": "%s" }' \
				"$sep" "$p" "${p#h}" "$(netns_addr "$p")"
			sep=$',\n'
		done
		printf '\n  ],\n  "rules": [ %s ]\n}\n' "$rules"
	} >"$DP_DIR/$h.json"
}

# wait until H's peer P reaches state (default established), up to 20 s
dp_wait_peer() {
	local h=$1 p=$2 want=${3:-established}
	for _ in $(seq 200); do
		[ "$(dp_peer "$h" "$p" state)" = "$want" ] && return 0
		sleep 0.1
	done
	echo "timeout: $h's peer $p is '$(dp_peer "$h" "$p" state)' ($(dp_peer "$h" "$p" reason)), wanted $want" >&2
	return 1
}

# Replace H's egress program with a foreign one at sealnet's own handle
# (a data plane changed behind sealnetd's back); wait until H reports it.
dp_tamper() {
	local h=$1
	netns_exec "$h" tc filter replace dev eth0 egress pref 1 handle 0x5e1 \
		bpf da obj "$SN_BUILD/bpf/aead_test.bpf.o" sec tc ||
		netns_fail "could not replace $h's egress filter (tc with libbpf support needed)"
	for _ in $(seq 30); do
		[ "$(dp_status "$h" | jq -r .dataplane)" = TAMPERED ] && return 0
		sleep 0.1
	done
	return 1
}

# A simulated SEV-SNP platform in $DP_DIR/platform (sealnet sim-tee init);
# sets DP_ARK to its ARK's SPKI hash, for the appraisal policy.
dp_sim_platform() {
	"$SEALNET" sim-tee init "$DP_DIR/platform" >"$DP_DIR/simtee.out" ||
		netns_fail "sealnet sim-tee init failed: $(cat "$DP_DIR/simtee.out")"
	DP_ARK=$(grep -oE '[0-9a-f]{64}' "$DP_DIR/simtee.out" | head -1)
}

# $DP_DIR/policy.json: sim only, this platform's ARK, no debug, and the
# launch measurements of the given hosts' configurations (written before).
dp_policy() {
	local h files=()
	for h in "$@"; do files+=("$DP_DIR/$h.json"); done
	dp_policy_of "${files[@]}"
}

# the same for the configuration files FILE... (any name)
dp_policy_of() {
	local f ms=""
	for f in "$@"; do
		ms="$ms\"$("$SEALNETD" --print-measurement --config "$f")\","
	done
	cat >"$DP_DIR/policy.json" <<JSON
{ "backends": ["sim"], "sim_ark_spki_sha256": ["$DP_ARK"],
  "measurements": [${ms%,}], "allow_debug": false }
JSON
}

# H's last appraisal of peer P (waits up to 10 s for one; "null" if none)
dp_appraisal() {
	local a
	for _ in $(seq 100); do
		a=$(dp_peer "$1" "$2" appraisal)
		[ "$a" != null ] && break
		sleep 0.1
	done
	echo "$a"
}

# background `sealnet monitor` processes: a test appends each one's PID to
# MONPIDS; stop_monitors kills and reaps them (pass it to dp_test_begin,
# or set DP_EXTRA_CLEANUP=stop_monitors, so they go on every exit)
MONPIDS=()
stop_monitors() {
	local p
	for p in "${MONPIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	MONPIDS=()
}

# udp_clock.py traffic that runs until a stop file (test_kbs_revoke,
# test_kbs_fed_revoke).  udp_clock_flowing N H...: wait (up to 60 s)
# until the receivers in H... (their stderr in $T/H.flowing) have
# announced N flows of 50 datagrams in all; prints those files on failure.
udp_clock_flowing() {
	local want=$1 until=$((SECONDS + 60)) h n
	shift
	while [ "$SECONDS" -lt "$until" ]; do
		n=0
		for h in "$@"; do n=$((n + $(grep -c flowing "$T/$h.flowing" || true))); done
		[ "$n" -ge "$want" ] && return 0
		sleep 0.1
	done
	for h in "$@"; do cat "$T/$h.flowing"; done
	return 1
}
# udp_clock_stop_after T0 SECS STOPFILE: let the traffic run until SECS
# seconds after T0 (date +%s.%N), then create STOPFILE
udp_clock_stop_after() {
	netns_sleep_until "$1" "$2"
	touch "$3"
}
