#!/usr/bin/env bash
# The systemd units in the tree (dist/, docs/sealnetd.md "systemd"):
# `systemd-analyze verify` finds nothing to say about sealnetd@.service,
# sealnet-kbs.service and the unit `sealnet deploy --emit` writes (with
# ExecStart pointed at this build's binaries); the sealnetd units' hardening
# is the same text (dist/systemd/hardening.conf); sealnetd reloads with
# SIGHUP, sealnet-kbs (no reload) has no ExecReload; both keep their
# `systemd-analyze security --offline` exposure low.  A unit with a bad
# key must make the verify check fail (so it can fail).
set -u
B=${SEALNET_BUILD:?SEALNET_BUILD: the build directory}
command -v systemd-analyze >/dev/null || {
	echo "FAIL: needs systemd-analyze (Debian package systemd: apt-get install systemd)" >&2
	exit 1
}
T=$(mktemp -d /tmp/sealnet-units.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
check() {
	local d=$1
	shift
	if "$@"; then echo "ok: $d"; else echo "FAIL: $d"; fails=$((fails + 1)); fi
}
# verify UNIT: no word from systemd-analyze (v252 exits 0 on warnings)
quiet_verify() {
	systemd-analyze verify "$1" >"$T/verify.out" 2>&1
	[ ! -s "$T/verify.out" ] || { sed 's/^/  /' "$T/verify.out"; return 1; }
}
hardening() { sed -n '/^# ---- hardening/,/^# ---- end of hardening ----$/p' "$1"; }

mkdir "$T/u"
sed "s|^ExecStart=[^ ]*/sealnetd |ExecStart=$B/daemon/sealnetd |" \
	"$B/dist/sealnetd@.service" >"$T/u/sealnetd@n1.service"
sed "s|^ExecStart=[^ ]*/sealnet-kbs |ExecStart=$B/kbs/sealnet-kbs |" \
	"$B/dist/sealnet-kbs.service" >"$T/u/sealnet-kbs.service"
check "sealnetd@.service: systemd-analyze verify is silent" quiet_verify "$T/u/sealnetd@n1.service"
check "sealnet-kbs.service: systemd-analyze verify is silent" quiet_verify "$T/u/sealnet-kbs.service"
printf '[Service]\nExecStart=/bin/true\nProtectSystem=sometimes\n' >"$T/u/bad.service"
check "a unit with a bad value is not silent (the check can fail)" \
	bash -c '! systemd-analyze verify "$1" >/dev/null 2>&1 || [ -n "$(systemd-analyze verify "$1" 2>&1)" ]' _ "$T/u/bad.service"

# the unit sealnet deploy --emit writes
S="$B/cli/sealnet"
"$S" workflow init "$T/w0.json" >/dev/null
"$S" workflow keygen "$T/hospital.key" >"$T/hk.txt"
"$S" workflow keygen "$T/lab.key" >"$T/lk.txt"
pub() { sed -n 's/^"ed25519": "\([0-9a-f]*\)"$/\1/p' "$1"; }
sed -e "s/1111111111111111111111111111111111111111111111111111111111111111/$(pub "$T/hk.txt")/" \
	-e "s/2222222222222222222222222222222222222222222222222222222222222222/$(pub "$T/lk.txt")/" \
	"$T/w0.json" >"$T/w.json"
"$S" workflow sign "$T/w.json" --domain hospital --key "$T/hospital.key" >/dev/null
"$S" workflow sign "$T/w.json" --domain lab --key "$T/lab.key" >/dev/null
check "sealnet deploy --emit" "$S" deploy "$T/w.json" --emit "$T/emit" --sealnetd "$B/daemon/sealnetd"
E=$(ls "$T"/emit/*/sealnetd.service 2>/dev/null | head -1)
check "an emitted unit ($E)" [ -n "$E" ]
check "the emitted unit: systemd-analyze verify is silent" quiet_verify "$E"
check "the hardening is in both sealnetd units" \
	[ "$(hardening "$T/u/sealnetd@n1.service" | grep -c '^CapabilityBoundingSet=')" = 1 ]
check "  and the same text in both (dist/systemd/hardening.conf)" \
	cmp -s <(hardening "$T/u/sealnetd@n1.service") <(hardening "$E")
check "sealnetd: only CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN" \
	grep -qx 'CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN' "$E"
for u in "$T/u/sealnetd@n1.service" "$E"; do
	check "$(basename "$u"): reload is SIGHUP" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$u"
	check "$(basename "$u"): ProtectSystem=strict, NoNewPrivileges, a StateDirectory" \
		bash -c 'grep -qx ProtectSystem=strict "$1" && grep -qx NoNewPrivileges=yes "$1" && grep -q ^StateDirectory=sealnet "$1"' _ "$u"
done
check "sealnet-kbs: no capability, an unprivileged user, no reload" \
	bash -c 'grep -qx CapabilityBoundingSet= "$1" && grep -qx User=sealnet-kbs "$1" && ! grep -q ^ExecReload "$1"' _ "$T/u/sealnet-kbs.service"
exposure() { # UNIT: the overall exposure (0.0 .. 10.0)
	systemd-analyze security --offline=yes --no-pager "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
x1=$(exposure "$T/u/sealnetd@n1.service")
x2=$(exposure "$T/u/sealnet-kbs.service")
echo "info: systemd-analyze security --offline: sealnetd@ ${x1:-?}, sealnet-kbs ${x2:-?} (0 best, 10 worst)"
check "sealnetd@'s exposure ($x1) <= 5.0" awk -v x="${x1:-99}" 'BEGIN { exit !(x <= 5.0) }'
check "sealnet-kbs's exposure ($x2) <= 2.0" awk -v x="${x2:-99}" 'BEGIN { exit !(x <= 2.0) }'
exit "$fails"
