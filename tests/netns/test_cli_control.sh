#!/usr/bin/env bash
# The CLI against a running sealnetd, over the control socket: `sealnet
# status` (table and --json), `sealnet monitor` (lines and --json), the
# control protocol's error answers, and every subcommand's --help.  The
# JSON field sets and the key order of monitor lines are pinned: they are
# the control protocol (include/sealnet/control.h), and scripts read them.
#
#    h1 198.18.0.1 --- br0 --- h2 198.18.0.2     (sealnetd on both)
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 2 stop_monitors
H2=$(netns_addr h2)
dp_config h1 "h2" '{"peer":"h2","direction":"egress","protocol":"tcp","port":6000}'
dp_config h2 "h1" '{"peer":"h1","direction":"ingress","protocol":"tcp","port":6000}'
dp_start h1
dp_start h2
S1="$DP_DIR/h1.sock"

# ---- sealnet status ------------------------------------------------------
"$SEALNET" status --socket "$S1" >"$DP_DIR/status.txt"
check "status: the node line" grep -q '^node h1 (id 1) on eth0, mode static, egress prog [0-9]*, ingress prog [0-9]*$' "$DP_DIR/status.txt"
check "status: the data-plane line" grep -q '^data plane: measured, measurement log [0-9a-f]\{96\} (3 events)$' "$DP_DIR/status.txt"
check "status: the peer table" grep -Eq '^h2 +2 198\.18\.0\.2 +keyed +1 ' "$DP_DIR/status.txt"
check "status: the drop table" grep -Eq '^POLICY_EGRESS +[0-9]+  flow not allowed by the egress policy$' "$DP_DIR/status.txt"
# every reason of SN_DROP_REASONS (include/sealnet/abi.h) but NONE
nreasons=$(($(grep -Ec '^[[:space:]]*X\([A-Z0-9_]+, ' "$here/../../include/sealnet/abi.h") - 1))
check "status: every drop reason listed ($nreasons)" [ "$(grep -Ec '^[A-Z0-9_]+ +[0-9]+  ' "$DP_DIR/status.txt")" = "$nreasons" ]

dp_status h1 >"$DP_DIR/status.json"
check "status --json: the top-level fields" [ "$(jq -c 'keys' "$DP_DIR/status.json")" = \
	'["dataplane","drops","egress_prog_id","id","ingress_prog_id","interface","mlog_digest","mlog_events","mode","node","peers","watchdog_tick_us"]' ]
check "status --json: a static peer's fields" [ "$(jq -c '.peers[0] | keys' "$DP_DIR/status.json")" = \
	'["address","drops","id","name","passed_clear","rx_bytes","rx_packets","state","tx_bytes","tx_epoch","tx_packets","tx_slot"]' ]
check "status --json: a drop counter's fields" [ "$(jq -c '.drops.NO_KEY | keys' "$DP_DIR/status.json")" = '["count","text"]' ]
check "status --json: indented, keys sorted" [ "$(head -2 "$DP_DIR/status.json" | tail -1)" = '  "dataplane": "measured",' ]

# ---- sealnet monitor -------------------------------------------------------
timeout 10 "$SEALNET" monitor --socket "$S1" --json --count 1 >"$DP_DIR/mon.json" &
MONPIDS+=($!)
timeout 10 "$SEALNET" monitor --socket "$S1" --count 1 >"$DP_DIR/mon.txt" &
MONPIDS+=($!)
for _ in $(seq 50); do
	[ "$(grep -c hello "$DP_DIR/mon.json" 2>/dev/null)" = 1 ] &&
		grep -q monitoring "$DP_DIR/mon.txt" 2>/dev/null && break
	sleep 0.1
done
# h1 -> h2:7000 is not in h1's egress policy: one POLICY_EGRESS drop
netns_exec h1 timeout 3 python3 -c "
import socket; s=socket.socket(); s.settimeout(0.5)
try: s.connect(('$H2', 7000))
except Exception: pass" || true
rc1=0; wait "${MONPIDS[0]}" || rc1=$?
rc2=0; wait "${MONPIDS[1]}" || rc2=$?
MONPIDS=()
check "monitor --json --count 1 exits by itself after one drop" [ "$rc1" = 0 ]
check "monitor --count 1 too" [ "$rc2" = 0 ]
check "monitor --json: the hello line" grep -qx '{"event":"hello","node":"h1"}' "$DP_DIR/mon.json"
check "a monitor gets its own hello only, not those of later monitors" [ "$(grep -c hello "$DP_DIR/mon.json")" = 1 ]
check "monitor --json: a drop line, fields in protocol order" grep -Eqx \
	'\{"event":"drop","ts_ns":[0-9]+,"reason":"POLICY_EGRESS","text":"flow not allowed by the egress policy","dir":"egress","src":"198\.18\.0\.1","sport":[0-9]+,"dst":"198\.18\.0\.2","dport":7000,"proto":6,"peer":2,"suppressed":0\}' \
	"$DP_DIR/mon.json"
check "monitor: the hello line" grep -qx 'monitoring node h1' "$DP_DIR/mon.txt"
check "monitor: the drop line" grep -Eqx \
	'drop POLICY_EGRESS +egress +198\.18\.0\.1:[0-9]+ -> 198\.18\.0\.2:7000 proto 6 peer 2  \(flow not allowed by the egress policy\)' \
	"$DP_DIR/mon.txt"

# ---- the protocol's error answers -------------------------------------------
ask() { python3 - "$S1" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
EOF
}
check "an unknown request is answered with an error" [ "$(ask '{"cmd": "reboot"}
' | jq -r .error)" = 'unknown request (expected {"cmd": "status"} or {"cmd": "monitor"})' ]
check "a request that is not JSON too" [ "$(ask 'status
' | jq -r 'keys[0]')" = error ]
check "a request over 4096 bytes is refused" [ "$(ask "$(head -c 5000 /dev/zero | tr '\0' ' ')" | jq -r .error)" = "request too long" ]
check "a raw status request gets one compact line" [ "$(ask '{"cmd":"status"}
' | jq -r .node)" = h1 ]

# ---- CLI errors and help -------------------------------------------------------
rc=0; "$SEALNET" status --socket "$DP_DIR/none.sock" 2>"$DP_DIR/err" || rc=$?
check "status without a daemon: exit 1" [ "$rc" = 1 ]
check "and says what to do" grep -q "is sealnetd running?" "$DP_DIR/err"
rc=0; "$SEALNET" monitor --socket "$DP_DIR/none.sock" 2>"$DP_DIR/err" || rc=$?
check "monitor without a daemon: exit 1" [ "$rc" = 1 ]
check "and says what to do" grep -q "is sealnetd running?" "$DP_DIR/err"
for a in "status --bogus" "monitor --count 0" "monitor --count x" "status --socket" "version extra" "sim-tee" "selftest --rounds 0"; do
	rc=0; "$SEALNET" $a >/dev/null 2>&1 || rc=$?
	check "sealnet $a: exit 2" [ "$rc" = 2 ]
done
for c in status monitor selftest evidence sim-tee version; do
	rc=0; "$SEALNET" "$c" --help >"$DP_DIR/help" 2>&1 || rc=$?
	check "sealnet $c --help: exit 0 and a usage line" [ "$rc" = 0 ] && grep -q "^usage: sealnet $c" "$DP_DIR/help"
done
check "sealnet --help lists the commands" [ "$("$SEALNET" --help | grep -Ec '^  (evidence|sim-tee|selftest|monitor|status|version) ')" = 6 ]
check "sealnet --version" grep -Eq '^sealnet [0-9]' <("$SEALNET" --version)
KBS="$SN_BUILD/kbs/sealnet-kbs"
check "sealnet-kbs --help" grep -q '^usage: sealnet-kbs' <("$KBS" --help)
check "sealnet-kbs --version" grep -Eq '^sealnet-kbs [0-9]' <("$KBS" --version)
rc=0; "$KBS" --bogus 2>/dev/null || rc=$?
check "sealnet-kbs --bogus: exit 2" [ "$rc" = 2 ]
rc=0; "$SEALNET" frobnicate 2>/dev/null || rc=$?
check "an unknown command: exit 2" [ "$rc" = 2 ]
exit "$fails"
