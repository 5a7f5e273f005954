#!/usr/bin/env bash
# sealnetd running from a signed workflow manifest (issue 12, items 4-5).
#
#    h1 198.18.0.1 ---+-- br0   domain "hosp": stage ingest on h1
#    h2 198.18.0.2 ---+         domain "lab":  stage train on h2
#                               v1: ingest -> train tcp/6000, tcp/6001
#
# Checks: sealnetd refuses (exit 2, naming why) an unsigned manifest, one
# domain's signature missing, a byte changed after signing; with v1 both
# nodes MAKE (each requires the other's manifest digest and node policy);
# a flow not in the manifest is dropped with a policy reason; v2 without
# tcp/6001 (SIGHUP) cuts that stream within one second while tcp/6000
# keeps every byte, and both sides re-MAKE on v2; an older version is
# refused (rollback); h1 alone on v3: its new MAKE fails with
# workflow-mismatch in both logs and both statuses while the established
# session stays; h2 takes v3 through `sealnet workflow apply` (saved over
# its files): MAKE succeeds again, an older one is refused; v4 changing the
# lifetimes is refused (needs a restart); `workflow graph`.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
. "$here/wf.sh"
cgmnt=$(mktemp -d /tmp/sealnet-cg2.XXXXXX)
# (the cgroup hierarchy is one for the machine: remove only this run's)
dp_test_begin 2 'rmdir "$cgmnt"/sealnet-wf-*-"$SN_NS_ID" 2>/dev/null; umount "$cgmnt"; rmdir "$cgmnt"'
H2=$(netns_addr h2)
mount -t cgroup2 none "$cgmnt" || netns_fail "cannot mount cgroup v2 (needed for cgroup rules)"
cg_in="$cgmnt/sealnet-wf-in-$SN_NS_ID" cg_tr="$cgmnt/sealnet-wf-tr-$SN_NS_ID"
mkdir "$cg_in" "$cg_tr"
in_cg() { echo "echo \$\$ > '$cg_in/cgroup.procs' && exec"; }

dp_sim_platform
wf_keys hosp lab
wf_local h1
wf_local h2
doms="$(wf_domain hosp), $(wf_domain lab)"
nodes="$(wf_node h1 hosp), $(wf_node h2 lab)"
stages="$(wf_stage ingest hosp h1 "{\"cgroup\":\"$cg_in\"}"),
  $(wf_stage train lab h2 "{\"cgroup\":\"$cg_tr\"}")"
f0=$(wf_flow ingest train tcp 6000) f1=$(wf_flow ingest train tcp 6001)
W=$DP_DIR/wf
mkdir "$W"
wf_write "$W/v1.json" demo 1 "$doms" "$nodes" "$stages" "$f0, $f1"
wf_write "$W/v2.json" demo 2 "$doms" "$nodes" "$stages" "$f0"
wf_write "$W/v3.json" demo 3 "$doms" "$nodes" "$stages" "$f0"

# ---- refusals: sealnetd exits 2 and says why -----------------------------
refused() { # NAME MANIFEST [SIGS]: start h1, expect exit 2
	local rc=0
	netns_exec h1 "$SEALNETD" --workflow "$2" ${3:+--signatures "$3"} \
		--node h1 --config "$DP_DIR/h1.local.json" >"$DP_DIR/$1.out" 2>&1 || rc=$?
	[ "$rc" = 2 ]
}
check "unsigned manifest: refused (exit 2)" refused unsigned "$W/v1.json"
check "... naming the missing signature file" \
	grep -q "workflow signatures $W/v1.sig.json: cannot be read" "$DP_DIR/unsigned.out"
wf_sign "$W/v1.json" hosp
check "one domain's signature missing: refused" refused onesig "$W/v1.json"
check "... naming the domain" grep -q 'domain lab: missing' "$DP_DIR/onesig.out"
wf_sign "$W/v1.json" hosp lab
# one byte: 6001 -> 6002 (still a valid manifest, another digest)
sed 's/"port":6001/"port":6002/' "$W/v1.json" >"$W/flip.json"
check "(the changed copy is one byte apart)" [ "$(cmp -l "$W/v1.json" "$W/flip.json" | wc -l)" = 1 ]
check "a byte changed after signing: refused" refused flip "$W/flip.json" "$W/v1.sig.json"
check "... every domain's signature is for another digest" \
	[ "$(grep -c 'domain \(hosp\|lab\): other-manifest' "$DP_DIR/flip.out")" = 2 ]
check "nothing was attached by the refused starts" \
	[ -z "$(netns_exec h1 tc filter show dev eth0 egress 2>/dev/null)" ]

# ---- v1: both nodes MAKE -------------------------------------------------
# each node runs from its own copy (SIGHUP re-reads the same path)
install() { # H VERSION
	mkdir -p "$W/$1"
	cp "$W/v$2.json" "$W/$1/workflow.json"
	cp "$W/v$2.sig.json" "$W/$1/workflow.sig.json"
}
install h1 1
install h2 1
wf_start h1 "$W/h1/workflow.json"
wf_start h2 "$W/h2/workflow.json"
check "MAKE from the manifest: h1 -> h2" dp_wait_peer h1 h2
check "MAKE from the manifest: h2 -> h1" dp_wait_peer h2 h1
check "h1 logged the workflow events" grep -q 'workflow demo v1 (manifest .*), node h1' "$DP_DIR/h1.log"

# a flow the manifest does not have: h1 -> h2:22 from the stage's cgroup
p0=$(dp_drops h1 POLICY_EGRESS)
set +e
netns_exec h1 bash -c "$(in_cg) timeout 2 bash -c 'exec 3<>/dev/tcp/$H2/22'" 2>/dev/null
rc=$?
set -e
check "a flow not in the manifest (tcp/22) fails" [ "$rc" != 0 ]
check "... dropped by h1's policy (POLICY_EGRESS $p0 -> $(dp_drops h1 POLICY_EGRESS))" \
	[ "$(dp_drops h1 POLICY_EGRESS)" -gt "$p0" ]

# ---- v2 removes tcp/6001: cut within a second, 6000 keeps flowing --------
crypto_drops() {
	dp_status "$1" | jq '[.drops.BAD_TAG.count, .drops.NO_KEY.count,
		.drops.REPLAY.count, .drops.TOO_OLD.count] | add'
}
wf_sign "$W/v2.json" hosp lab
d1=$(crypto_drops h1) d2=$(crypto_drops h2)
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/sink0" &
sink0=$!
netns_exec h2 python3 "$here/rx_clock.py" "$H2" 6001 3 >"$DP_DIR/clock" &
clock=$!
netns_wait_listen h2 6000
netns_wait_listen h2 6001
netns_exec h1 bash -c "$(in_cg) python3 '$here/tcp_sink.py' send $H2 6000 4000000 KEPT 6" >"$DP_DIR/want0" &
send0=$!
netns_exec h1 bash -c "$(in_cg) timeout 12 python3 '$here/tcp_sink.py' send $H2 6001 400000 CUT 8" >/dev/null 2>&1 &
send1=$!
# both streams connected (python starts slowly on a loaded machine), then
# flowing for 2 s before the reload
for port in 6000 6001; do
	for _ in $(seq 300); do
		netns_exec h2 ss -Htn state established "sport = :$port" | grep -q . && break
		sleep 0.1
	done
done
sleep 2
m1=$(dp_peer h1 h2 makes)
install h1 2
install h2 2
# h2 (the side that accepts) first: h1 dials the new MAKE on its reload
kill -HUP "${DP_PID[h2]}"
t_hup=$(date +%s.%N)
kill -HUP "${DP_PID[h1]}"
wait $send0 || true
wait $sink0 || true
wait $clock || true
kill $send1 2>/dev/null || true
wait $send1 2>/dev/null || true
read -r got last <"$DP_DIR/clock"
lag=$(awk -v a="$last" -v b="$t_hup" 'BEGIN{printf "%.3f", a - b}')
echo "   6001 stream: $got of 400000 bytes; last byte $lag s after SIGHUP"
check "the 4 MB to 6000 (in both versions) arrive intact" \
	[ -s "$DP_DIR/want0" -a "$(cat "$DP_DIR/want0")" = "$(cat "$DP_DIR/sink0")" ]
check "no sealed packet dropped (h1 $d1 -> $(crypto_drops h1), h2 $d2 -> $(crypto_drops h2))" \
	[ "$(crypto_drops h1)" = "$d1" -a "$(crypto_drops h2)" = "$d2" ]
check "the 6001 stream was cut (got $got of 400000)" [ "$got" -lt 400000 ]
check "it flowed until the reload and stopped within one second ($lag s)" \
	awk -v l="$lag" 'BEGIN{exit !(l >= -0.5 && l <= 1.0)}'
for h in h1 h2; do
	check "$h logged the new version" grep -q 'workflow reload: demo v2 now enforced: .* 1 removed' "$DP_DIR/$h.log"
done
wait_makes() { # H P N: H's peer P reached N MAKEs (retries back off)
	for _ in $(seq 300); do
		[ "$(dp_peer "$1" "$2" makes)" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
check "both re-MAKE on v2 with fresh evidence (makes $m1 -> $(dp_peer h1 h2 makes))" \
	wait_makes h1 h2 $((m1 + 1))
check "... and stay established" dp_wait_peer h1 h2

# ---- an older signed version: refused (rollback) ----------------------
wait_log() { # H TEXT: H's log has a line with TEXT (grep -e), up to 20 s
	local until=$((SECONDS + 20))
	while ! grep -q -e "$2" "$DP_DIR/$1.log"; do
		[ "$SECONDS" -lt "$until" ] || return 1
		sleep 0.1
	done
}
install h1 1
kill -HUP "${DP_PID[h1]}"
check "an older version is refused (rollback)" \
	wait_log h1 'workflow reload refused: version 1 is not newer than the running version 2'
install h1 2

# ---- h1 alone on v3: new MAKEs fail with workflow-mismatch ---------------
wf_sign "$W/v3.json" hosp lab
install h1 3
kill -HUP "${DP_PID[h1]}"
wait_appraisal() { # H P: H's appraisal of P says workflow-mismatch
	for _ in $(seq 100); do
		dp_peer "$1" "$2" appraisal | grep -q workflow-mismatch && return 0
		sleep 0.1
	done
	return 1
}
check "h1 (v3) refuses h2 (v2): workflow-mismatch in its status" wait_appraisal h1 h2
check "h2 (v2) refuses h1 (v3): workflow-mismatch in its status" wait_appraisal h2 h1
for h in h1 h2; do
	check "... and in $h's log" grep -q 'workflow-mismatch' "$DP_DIR/$h.log"
done
echo "   h1: $(dp_peer h1 h2 appraisal)"
check "the established session stays meanwhile" [ "$(dp_peer h1 h2 state)" = established ]
m3=$(dp_peer h1 h2 makes)
# h2 takes v3 through its control socket (sealnet workflow apply)
out=$("$SEALNET" workflow apply "$W/v3.json" --socket "$DP_DIR/h2.sock")
check "workflow apply: h2 takes v3 ($out)" grep -q ': ok (running version 3)$' <<<"$out"
check "... and saved it over the manifest it runs from" cmp -s "$W/v3.json" "$W/h2/workflow.json"
check "... and the signatures" cmp -s "$W/v3.sig.json" "$W/h2/workflow.sig.json"
check "h2 on v3 too: MAKE succeeds again" wait_makes h1 h2 $((m3 + 1))
set +e
out=$("$SEALNET" workflow apply "$W/v1.json" --socket "$DP_DIR/h2.sock")
rc=$?
set -e
check "workflow apply of an older version: refused, exit 1 ($out)" \
	[ "$rc" = 1 -a -n "$(grep 'refused (running version 3): version 1 is not newer' <<<"$out")" ]
check "... the running files stay" cmp -s "$W/v3.json" "$W/h2/workflow.json"

# ---- a version that changes more than rules and policies: refused ------
wf_write "$W/v4.json" demo 4 "$doms" "$nodes" "$stages" "$f0" \
	'{"rekey_interval_s": 20, "session_lifetime_s": 90}'
wf_sign "$W/v4.json" hosp lab
install h1 4
kill -HUP "${DP_PID[h1]}"
check "a version changing the lifetimes is refused, naming it (restart needed)" \
	wait_log h1 'workflow reload refused: version 4 changes the lifetimes or this node.s TEE: restart sealnetd for that; version 3 stays'
reloads() { jq -r -s '[.[] | select(.event == "workflow-reload") | .result] | join(",")' "$DP_DIR/h1.state/audit.jsonl"; }
# sealnetd audits a refusal right after logging it: wait for the 4th row
for _ in $(seq 100); do [ "$(reloads | tr -cd , | wc -c)" -ge 3 ] && break; sleep 0.1; done
check "the audit log: reloads ok, refused (rollback), ok, refused (lifetimes)" \
	[ "$(reloads)" = "ok,refused,ok,refused" ]

# ---- the graph -----------------------------------------------------------
"$SEALNET" workflow graph "$W/v1.json" >"$DP_DIR/graph.dot"
check "graph: a digraph" grep -q '^digraph "demo" {' "$DP_DIR/graph.dot"
check "graph: one cluster per domain" [ "$(grep -c 'subgraph "cluster_' "$DP_DIR/graph.dot")" = 2 ]
check "graph: the stages" grep -q '"ingest" \[label=' "$DP_DIR/graph.dot"
check "graph: the flows as edges" \
	[ "$(grep -c '"ingest" -> "train" \[label="tcp/600[01]"\]' "$DP_DIR/graph.dot")" = 2 ]
if command -v dot >/dev/null; then
	check "graph: dot accepts it" dot -Tsvg -o /dev/null "$DP_DIR/graph.dot"
fi
for h in h1 h2; do
	check "$h's sealnetd stops cleanly" dp_stop $h
done
exit "$fails"
