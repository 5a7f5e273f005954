# shellcheck shell=bash
# tests/netns/lib.sh — multi-host test topologies in network namespaces.
#
# Source it, then:
#   netns_topology N        N hosts on one bridge:
#
#        h1 (198.18.0.1, fd00::1)   h2 (198.18.0.2, fd00::2)  ...  hN
#          eth0                       eth0                           eth0
#           |                          |                              |
#        [ br0 in namespace "sw": plain L2 bridge, no addresses ]-----+
#
#   host names are h1..hN; real namespace names carry a unique suffix
#   (sn-<pid>-<random>-h1, ...) so concurrent runs never collide.
#   netns_exec H CMD...     run CMD in host H (h1.. or sw)
#   netns_bg H CMD...       same, in the background (killed at cleanup
#                           if still running; an exited one is never
#                           signalled, as its PID may have been reused)
#   netns_capture H[:DEV] FILE [FILTER...]  tcpdump on H's eth0 (or DEV)
#                           into FILE, once it listens
#   netns_capture_stop      stop all captures (flushes files)
#   netns_wait_listen H PORT [udp]  wait until something in H listens on
#                           TCP (or UDP) PORT, up to 30 s; exit the test if not
#   netns_addr H [6]        H's IPv4 (or IPv6) address
#   netns_name H            the real namespace name of H
#   netns_sleep_until T0 SECS  return once SECS seconds have passed since
#                           T0 (date +%s.%N); at once if they have
#   netns_wait_pcap FILE N [SECS]  wait until the capture FILE holds N
#                           packets (default up to 10 s); false if not
#   netns_cleanup           kill every process in our namespaces, delete them
#   netns_sweep             delete namespaces left by runs whose shell died
#   check DESC CMD...       assertion: "ok: DESC" / "FAIL: DESC", counted in $fails
#
# Cleanup runs on EXIT, INT, TERM and HUP: a passing, failing or
# interrupted run leaves no namespace, bridge, qdisc or process behind.
# (SIGKILL cannot be trapped: netns_sweep, run at start, removes leftovers
# of dead runs; their names carry the creator's pid.)

SN_NS_PREFIX=${SN_NS_PREFIX:-sn}
SN_NS_ID="${SN_NS_PREFIX}-$$-${RANDOM}${RANDOM}"
SN_NS_LIST=()
SN_NS_BGPIDS=()
SN_NS_CAPPIDS=()
SN_NS_V4NET=${SN_NS_V4NET:-198.18.0}
SN_NS_V6NET=${SN_NS_V6NET:-fd00:}

netns_name() { echo "${SN_NS_ID}-$1"; }

netns_addr() {
	local n=${1#h}
	if [ "${2:-4}" = 6 ]; then echo "${SN_NS_V6NET}:$n"; else echo "${SN_NS_V4NET}.$n"; fi
}

netns_fail() {
	echo "netns: $*" >&2
	exit 1
}

netns_require() {
	[ "$(id -u)" -eq 0 ] || netns_fail "needs root (network namespaces); run as root"
	command -v ip >/dev/null || netns_fail "needs 'ip' (Debian package iproute2)"
	ip netns add "${SN_NS_ID}-probe" 2>/dev/null ||
		netns_fail "cannot create a network namespace (missing CAP_SYS_ADMIN or netns support)"
	ip netns del "${SN_NS_ID}-probe"
}

netns_sweep() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case "$ns" in
		"${SN_NS_PREFIX}"-*-*-*) ;;
		*) continue ;;
		esac
		pid=${ns#"${SN_NS_PREFIX}"-}
		pid=${pid%%-*}
		# alive (and not a zombie): not ours to sweep
		if [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] &&
			[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
			continue
		fi
		# best effort, never fatal (the tests run with set -e): a
		# namespace listed just before its live owner deleted it and
		# exited is gone by now, or another run sweeps it at once; a
		# failure here ended the test at its start, silently (exit 1)
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
}

netns_exec() {
	local h=$1
	shift
	ip netns exec "$(netns_name "$h")" "$@"
}

netns_bg() {
	local h=$1
	shift
	ip netns exec "$(netns_name "$h")" "$@" &
	SN_NS_BGPIDS+=($!)
}

netns_capture() {
	local h=${1%%:*} dev=eth0 file=$2
	[[ $1 == *:* ]] && dev=${1#*:}
	shift 2
	ip netns exec "$(netns_name "$h")" tcpdump -i "$dev" -U --immediate-mode -n -s 0 -w "$file" "$@" \
		>/dev/null 2>"$file.log" &
	SN_NS_CAPPIDS+=($!)
	# wait until tcpdump has opened the device
	for _ in $(seq 50); do
		grep -q "listening on" "$file.log" 2>/dev/null && return 0
		sleep 0.1
	done
	netns_fail "tcpdump did not start on $h: $(cat "$file.log")"
}

# The PIDs among "$@" that are still running background jobs of this
# shell.  Only those may be signalled: once bash has reaped a job, its PID
# is free and may belong to an unrelated process.
netns_live_jobs() {
	local p live
	live=" $(jobs -rp | tr '\n' ' ') "
	for p in "$@"; do
		[[ $live == *" $p "* ]] && echo "$p"
	done
	return 0
}

netns_capture_stop() {
	local p
	for p in $(netns_live_jobs "${SN_NS_CAPPIDS[@]}"); do
		kill -INT "$p" 2>/dev/null
	done
	for p in "${SN_NS_CAPPIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	SN_NS_CAPPIDS=()
}

netns_sleep_until() {
	while awk -v t="$1" -v s="$2" -v n="$(date +%s.%N)" 'BEGIN { exit !(n < t + s) }'; do
		sleep 0.1
	done
}

netns_wait_pcap() {
	local i
	for i in $(seq $((${3:-10} * 10))); do
		[ "$(tcpdump -r "$1" -n 2>/dev/null | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

netns_wait_listen() {
	local opt=-Htln
	[ "${3:-tcp}" = udp ] && opt=-Huln
	for _ in $(seq 300); do
		netns_exec "$1" ss $opt "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	netns_fail "nothing listens on $1:$2 (${3:-tcp}) after 30 s"
}

netns_add() {
	local h=$1 ns
	ns=$(netns_name "$h")
	ip netns add "$ns" || netns_fail "cannot create namespace $ns"
	SN_NS_LIST+=("$ns")
	ip -n "$ns" link set lo up
}

netns_topology() {
	local n=$1 i ns sw
	netns_add sw
	sw=$(netns_name sw)
	ip -n "$sw" link add br0 type bridge || netns_fail "cannot create bridge"
	ip -n "$sw" link set br0 up
	# a plain L2 switch: with br_netfilter loaded on the machine, every
	# bridged packet would also walk iptables (a per-packet cost of the
	# test bed, not of sealnet; docs/performance.md, 2026-12-03 profile)
	for k in iptables ip6tables arptables; do
		ip netns exec "$sw" sysctl -qw net.bridge.bridge-nf-call-$k=0 2>/dev/null || true
	done
	for i in $(seq 1 "$n"); do
		netns_add "h$i"
		ns=$(netns_name "h$i")
		ip -n "$sw" link add "p$i" type veth peer name eth0 netns "$ns" ||
			netns_fail "cannot create veth for h$i"
		ip -n "$sw" link set "p$i" master br0 up
		ip -n "$ns" addr add "$(netns_addr "h$i")/24" dev eth0
		ip -n "$ns" addr add "$(netns_addr "h$i" 6)/64" dev eth0 nodad
		ip -n "$ns" link set eth0 up
	done
	# the bridge forwards immediately (no STP, no learning delay)
	ip -n "$sw" link set br0 type bridge forward_delay 0 stp_state 0 2>/dev/null
}

# Force offloads into software on every host link (tx csum, TSO, GSO).
netns_offloads_off() {
	local i
	for i in $(seq 1 "$1"); do
		netns_exec "h$i" ethtool -K eth0 tx off tso off gso off >/dev/null 2>&1 ||
			netns_fail "ethtool -K failed on h$i (Debian package ethtool)"
	done
}

netns_cleanup() {
	local p ns
	set +e
	netns_capture_stop
	for p in $(netns_live_jobs "${SN_NS_BGPIDS[@]}"); do
		kill "$p" 2>/dev/null
	done
	for ns in "${SN_NS_LIST[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	for p in "${SN_NS_BGPIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	SN_NS_BGPIDS=()
	for ns in "${SN_NS_LIST[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	SN_NS_LIST=()
}

netns_trap() { # [rc]: the exit code to keep (default: $?)
	local rc=${1:-$?}
	set +e # cleanup must run to the end whatever fails
	trap - EXIT INT TERM HUP
	netns_cleanup
	exit "$rc"
}

# check DESC CMD...: run CMD, print "ok: DESC" or "FAIL: DESC" and count
# failures in $fails (the test ends with: exit "$fails")
fails=0
check() {
	local d=$1
	shift
	if "$@"; then
		echo "ok: $d"
	else
		echo "FAIL: $d"
		fails=$((fails + 1))
	fi
}

netns_init() {
	netns_require
	netns_sweep
	trap netns_trap EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}
