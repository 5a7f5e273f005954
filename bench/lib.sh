# shellcheck shell=bash
# bench/lib.sh — shell shared by the benchmarks (not tests).  Source it;
# the network helpers stay in tests/netns/lib.sh and dp.sh.
#
#   bench_build ROOT        build ROOT/build/bench (release, -Dtests=true)
#                           if needed; sets BENCH_BUILD
#   bench_machine           the machine, one "# ..." line each
#   bench_busy_jiffies      busy jiffies of all CPUs since boot (user, nice,
#                           system, irq, softirq: /proc/stat; idle, iowait
#                           and steal are not ours)
#   bench_cpu_s J0 J1       CPU seconds between two bench_busy_jiffies
#   bench_median JSONL CASE MODE   median of the "value" of the lines with
#                           that case and mode ("null" when none)

bench_build() {
	BENCH_BUILD=$1/build/bench
	if [ ! -f "$BENCH_BUILD/build.ninja" ]; then
		meson setup "$BENCH_BUILD" "$1" --buildtype=release -Dtests=true >/dev/null ||
			{ echo "bench: meson setup $BENCH_BUILD failed" >&2; return 1; }
	fi
	ninja -C "$BENCH_BUILD" -j2 >/dev/null ||
		{ echo "bench: ninja -C $BENCH_BUILD failed (run it to see why)" >&2; return 1; }
}

bench_machine() {
	local rev
	echo "# $(uname -srm), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	if rev=$(git -C "${1:-.}" rev-parse --short HEAD 2>/dev/null); then
		git -C "${1:-.}" diff --quiet HEAD -- bpf lib include daemon bench 2>/dev/null ||
			rev="$rev + uncommitted changes"
	else
		rev=${SEALNET_BENCH_REV:-unknown (not a git work tree)}
	fi
	echo "# source: $rev"
	echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine inflates every figure)"
}

bench_busy_jiffies() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

bench_cpu_s() { awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.4f", (b - a) / hz}'; }

bench_median() {
	jq -s --arg c "$2" --arg m "$3" \
		'[.[] | select(.case == $c and .mode == $m and .value != null) | .value]
		 | sort | if length == 0 then null
		   elif length % 2 == 1 then .[length / 2 | floor]
		   else (.[length / 2 - 1] + .[length / 2]) / 2 end' "$1"
}

# CPU attributed to the benchmark, for a shared machine where /proc/stat
# also counts other people's work: the benchmark's shell and every process
# it starts (iperf3, sockperf, sealnetd, wireguard-go, stunnel, ...) in a
# cpuacct cgroup of their own (cgroup v1 cpuacct; this kernel has no IRQ
# time accounting, so the softirq work a process runs inline, e.g. veth
# transmit and receive, is charged to it), plus the ksoftirqd threads
# (softirq work deferred to them).
#   bench_cg_init           create it and move this shell in (BENCH_CG;
#                           empty when there is no cpuacct hierarchy)
#   bench_cg_cpu_ns         the cgroup's CPU ns + ksoftirqd's, now
#   bench_cg_fini           move this shell back, remove the cgroup
BENCH_CG=
bench_cg_init() {
	local base=/sys/fs/cgroup/cpuacct
	[ -f "$base/cpuacct.usage" ] && [ -w "$base/cgroup.procs" ] || return 0
	BENCH_CG=$base/sealnet-bench-$$
	mkdir -p "$BENCH_CG" && echo $$ >"$BENCH_CG/cgroup.procs" || BENCH_CG=
}
bench_cg_cpu_ns() {
	local cg=0 ks
	[ -n "$BENCH_CG" ] && cg=$(cat "$BENCH_CG/cpuacct.usage")
	# ksoftirqd/N: utime + stime (fields 14, 15 of /proc/PID/stat)
	ks=$(for p in $(pgrep -x 'ksoftirqd/[0-9]+'); do
		awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null
	done | awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%d", s * 1e9 / hz}')
	echo $((cg + ks))
}
bench_cg_fini() {
	[ -n "$BENCH_CG" ] || return 0
	echo $$ >/sys/fs/cgroup/cpuacct/cgroup.procs 2>/dev/null
	rmdir "$BENCH_CG" 2>/dev/null ||
		echo "bench: could not remove $BENCH_CG (a process of the run still in it?)" >&2
	BENCH_CG=
}
# irq + softirq jiffies of all CPUs (where they ran, whoever was current)
bench_softirq_jiffies() { awk '/^cpu /{print $7 + $8}' /proc/stat; }
