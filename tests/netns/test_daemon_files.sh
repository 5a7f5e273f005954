#!/usr/bin/env bash
# sealnetd's files: what it writes and reads must be its own (issue 9,
# item 10 b, c).
#
#  - the audit log is opened with O_NOFOLLOW: a symlink planted at
#    STATE_DIR/audit.jsonl is refused (the file it points to untouched);
#  - state_dir and the control socket's directory must be owned by root
#    (or sealnetd's uid) and not writable by group or others;
#  - a configuration holding static keys must not be readable by group or
#    others (chmod 600).
# Each refusal: exit status, nothing attached, the path and the fix named.
set -eu
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/dp.sh"
netns_init
trap 'rc=$?; set +e; dp_cleanup; rm -f /tmp/sn-audit-target.$$; netns_trap $rc' EXIT
netns_topology 2
rule='{"peer":"h2","direction":"egress","protocol":"tcp","port":6000}'
cfg="$DP_DIR/h1.json"

# run sealnetd on h1; it must refuse to start: exit status $1, output
# containing each further argument
refuses() {
	local want=$1 rc=0 s
	shift
	netns_exec h1 timeout 8 "$SEALNETD" --config "$cfg" >"$DP_DIR/out" 2>&1 || rc=$?
	sed 's/^/   /' "$DP_DIR/out" | grep -v "info:" | head -3
	[ "$rc" = "$want" ] || { echo "   exit status $rc, wanted $want" >&2; return 1; }
	for s in "$@"; do
		grep -qF -- "$s" "$DP_DIR/out" || { echo "   no '$s' in the output" >&2; return 1; }
	done
	[ -z "$(netns_exec h1 tc qdisc show dev eth0 | grep clsact)" ] ||
		{ echo "   something was left attached" >&2; return 1; }
}

# (c) static keys in a group- or world-readable file
dp_config h1 "h2" "$rule"  # state_dir: $DP_DIR/h1.state (dp.sh)
chmod 644 "$cfg"
check "a world-readable configuration with keys is refused" refuses 2 "$cfg" "chmod 600"
chmod 640 "$cfg"
check "a group-readable one too" refuses 2 "$cfg" "chmod 600"
chmod 600 "$cfg"

# (b) the audit log: a symlink planted in state_dir is not followed
mkdir -p "$DP_DIR/h1.state"
chmod 700 "$DP_DIR/h1.state"
target=/tmp/sn-audit-target.$$
: >"$target"
rm -f "$DP_DIR/h1.state/audit.jsonl"
ln -s "$target" "$DP_DIR/h1.state/audit.jsonl"
check "a symlink at state_dir/audit.jsonl is refused" refuses 1 "$DP_DIR/h1.state/audit.jsonl" "symbolic link"
check "and the file it points to was not written" [ ! -s "$target" ]
rm "$DP_DIR/h1.state/audit.jsonl"

# (b) state_dir writable by others, or owned by someone else
chmod 777 "$DP_DIR/h1.state"
check "a world-writable state_dir is refused" refuses 1 "$DP_DIR/h1.state" "chmod go-w"
chmod 770 "$DP_DIR/h1.state"
check "a group-writable one too" refuses 1 "$DP_DIR/h1.state" "chmod go-w"
chmod 700 "$DP_DIR/h1.state"
chown 65534 "$DP_DIR/h1.state"
check "a state_dir owned by another user is refused" refuses 1 "$DP_DIR/h1.state" "chown"
chown 0 "$DP_DIR/h1.state"

# (b) the control socket's directory
mkdir -p "$DP_DIR/ctl"
chmod 777 "$DP_DIR/ctl"
sed -i "s|\"control_socket\": \"[^\"]*\"|\"control_socket\": \"$DP_DIR/ctl/h1.sock\"|" "$cfg"
check "a world-writable control socket directory is refused" refuses 1 "$DP_DIR/ctl" "chmod go-w"
chmod 700 "$DP_DIR/ctl"

# all in order: it starts, and its audit log is its own
dp_start h1
check "with private files sealnetd starts" kill -0 "${DP_PID[h1]}"
check "the audit log is mode 0600" [ "$(stat -c %a "$DP_DIR/h1.state/audit.jsonl")" = 600 ]
check "and the status answers on the socket in the private directory" \
	[ "$("$SEALNET" status --json --socket "$DP_DIR/ctl/h1.sock" | jq -r .node)" = h1 ]
check "it stops cleanly" dp_stop h1
exit "$fails"
