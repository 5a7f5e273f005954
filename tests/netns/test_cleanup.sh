#!/usr/bin/env bash
# The netns library leaves nothing behind after a passing run, a failing
# run, an interrupted (SIGINT) run and a terminated (SIGTERM) run; and
# netns_sweep removes what a SIGKILLed run left.
set -u
here=$(dirname "$0")
# our own prefix: other runs' sweeps (tests, benchmarks) leave these alone
export SN_NS_PREFIX=snct
fail=0

leftovers() { # $1: the child's pid
	local n
	n=$(ip netns list | grep -c -- "^snct-$1-" || true)
	[ "$n" -eq 0 ] || { echo "left $n namespaces of run $1:"; ip netns list | grep -- "^snct-$1-"; return 1; }
	pgrep -f "snct-$1-" >/dev/null && { echo "left processes of run $1"; return 1; }
	return 0
}

# The child shell with SIGINT at its default: a shell started with SIGINT
# ignored (a background job of a script, nohup: how the suite itself may
# have been started) can set no trap for it, and its "hang" run would sit
# out its sleep 300 instead of ending on SIGINT.
child() { # $1: mode
	env --default-signal=INT bash -c '
		. "$1/lib.sh"
		netns_init
		netns_topology 2
		netns_bg h1 sleep "$3"
		netns_capture h2 /dev/null
		echo ready
		case "$2" in
		pass) exit 0 ;;
		fail) false || exit 1 ;;
		hang) sleep 300 & wait $! ;;
		esac
	' child "$here" "$1" "$SLEEP_MARK"
}
# this run's own marker: another run of this test on the machine (CI of
# another checkout) must not look like our survivor
SLEEP_MARK="301.$$"

run() { # $1 mode, $2 signal or "", $3 expected rc
	local mode=$1 sig=$2 want=$3 pid rc out
	out=$(mktemp)
	child "$mode" >"$out" 2>&1 &
	pid=$!
	if [ -n "$sig" ]; then
		for _ in $(seq 100); do grep -q ready "$out" && break; sleep 0.1; done
		grep -q ready "$out" || { echo "child ($mode) never got ready:"; cat "$out"; fail=1; return; }
		# the bash -c child is the one holding the trap
		kill -"$sig" "$(pgrep -P "$pid" -x bash || echo "$pid")" 2>/dev/null || kill -"$sig" "$pid"
	fi
	wait "$pid"
	rc=$?
	cpid=$(grep -o 'sn-[0-9]*-' "$out" | head -1)
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $mode/$sig: exit $rc, wanted $want"; cat "$out"; fail=1
	fi
	# namespaces are named sn-<pid of the sourcing shell>-...; find by the child's pids
	for p in $pid $(pgrep -P "$pid" 2>/dev/null); do
		leftovers "$p" || fail=1
	done
	rm -f "$out"
	echo "ok: $mode${sig:+ (SIG$sig)} left nothing behind"
}

# leftovers of earlier runs killed hard are not this run's business
bash -c ". '$here/lib.sh'; netns_sweep"
before=$(ip netns list | grep -c "^snct-" || true)
run pass "" 0
run fail "" 1
run hang INT 130
run hang TERM 143

# SIGKILL: cleanup cannot run; the next run's netns_sweep must remove it
out=$(mktemp)
child hang >"$out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q ready "$out" && break; sleep 0.1; done
inner=$(pgrep -P "$pid" -x bash || echo "$pid")
kill -9 "$inner" "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
for _ in $(seq 50); do [ -d "/proc/$inner" ] || break; sleep 0.1; done
n=$(ip netns list | grep -c -- "^snct-$inner-" || true)
[ "$n" -gt 0 ] || { echo "FAIL: SIGKILL test set-up: expected leftovers of $inner"; fail=1; }
bash -c ". '$here/lib.sh'; netns_sweep"
n=$(ip netns list | grep -c -- "^snct-$inner-" || true)
[ "$n" -eq 0 ] || { echo "FAIL: netns_sweep left $n namespaces of killed run $inner"; fail=1; }
pgrep -f "sleep $SLEEP_MARK" >/dev/null && { pkill -9 -f "sleep $SLEEP_MARK"; echo "FAIL: processes of the killed run survived the sweep"; fail=1; }
rm -f "$out"
echo "ok: SIGKILL leftovers removed by netns_sweep"

# a recorded background PID whose process exited (and was reaped) may be
# reused by an unrelated process: cleanup must signal only live children
# it started.  Simulated: the child records the PID of a process it did
# not start (ours) after its own background job ended.
sleep 60 &
other=$!
bash -c '
	. "$1/lib.sh"
	netns_init
	netns_topology 1
	netns_bg h1 true
	sleep 0.5
	SN_NS_BGPIDS+=("$2")
	SN_NS_CAPPIDS+=("$2")
	exit 0
' child "$here" "$other"
if kill -0 "$other" 2>/dev/null; then
	echo "ok: cleanup left a process it had not started alone"
	kill "$other"
else
	echo "FAIL: cleanup killed an unrelated process (pid $other) recorded as its own"
	fail=1
fi
wait "$other" 2>/dev/null

after=$(ip netns list | grep -c "^snct-" || true)
[ "$before" -eq "$after" ] || { echo "FAIL: namespace count $before -> $after"; fail=1; }
exit $fail
