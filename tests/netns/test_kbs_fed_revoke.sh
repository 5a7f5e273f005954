#!/usr/bin/env bash
# Revocation across domains (issue 14 item 3, docs/federation.md "The KBS
# and its peers"): nodes h1, h2 of domain hospital follow hospital's KBS
# (h5), nodes h3, h4 of domain lab follow lab's KBS (h6); the two KBSs
# fetch each other's bundles and follow each other's GET /events over TLS
# pinned by the signed manifest.
#
#   1. `sealnet kbs revoke node h1` on hospital's KBS: lab's KBS re-publishes
#      it, h3 and h4 cut h1 off.  Printed and checked (<= 5 s): the time from
#      the revoke command to the last datagram between h1 and a lab node.
#   2. hospital's KBS (turned hostile) revokes lab's node h3: lab's KBS
#      refuses and audits it; h4 keeps h3.
#   3. hospital withdraws (a signed bundle with no stage, served on its GET
#      /bundle): lab's KBS revokes h1 and h2, h3 and h4 cut h2 off.
#      Printed: the time from the withdrawal bundle to the last datagram
#      between h2 and h4.
#   4. lab's admin re-admits hospital and hospital publishes a new bundle:
#      lab's KBS lifts the withdrawal's revocations with lift events on its
#      GET /events; h4 (still running, no restart) applies them: h2's MAKE
#      succeeds again and h2 <-> h4 traffic flows.  Printed: the time from
#      `readmit` to the first datagram between h2 and h4.  h1 stays refused
#      (hospital's own revocation of h1 is not lifted by the re-admission).
#   5. hospital revokes h2 after the lift: h4 cuts it off again (<= 5 s,
#      printed): revoke / lift / revoke ends revoked.
#
#    h1 h2 (hospital) h3 h4 (lab)  UDP every 10 ms: h1<->h3, h1<->h4, h2<->h4
#    h5 hospital KBS :8443, h6 lab KBS :8443        (all on br0)
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
. "$here/kbs_pki.sh"
kbs_test_init 6 python3
A=$(netns_addr h5)
B=$(netns_addr h6)

# ---- PKI: one CA per domain, the servers send their chain ----------------------
mk_ca adminca "kbs admin CA"
mk_leaf admin alice adminca "extendedKeyUsage=clientAuth"
mk_ca hca "hospital CA"
mk_ca lca "lab CA"
mk_leaf hsrv kbs-hospital hca "subjectAltName=IP:$A" "extendedKeyUsage=serverAuth"
mk_leaf lsrv kbs-lab lca "subjectAltName=IP:$B" "extendedKeyUsage=serverAuth"
cat "$T/hsrv.pem" "$T/hca.pem" >"$T/hchain.pem"
cat "$T/lsrv.pem" "$T/lca.pem" >"$T/lchain.pem"
anchor() { openssl x509 -in "$T/$1.pem" -outform DER | sha256sum | cut -c1-64; }

# ---- the signed manifest: h1, h2 in hospital; h3, h4 in lab --------------------
pubhex() { sed -n 's/^"ed25519": "\([0-9a-f]*\)"$/\1/p' "$1"; }
"$SEALNET" workflow init "$T/w0.json" >/dev/null
"$SEALNET" workflow keygen "$T/hospital.key" >"$T/hk.txt"
"$SEALNET" workflow keygen "$T/lab.key" >"$T/lk.txt"
jq --arg hk "$(pubhex "$T/hk.txt")" --arg lk "$(pubhex "$T/lk.txt")" \
	--arg ha "$(anchor hca)" --arg la "$(anchor lca)" --arg A "$A" --arg B "$B" \
	--arg a1 "$(netns_addr h1)" --arg a2 "$(netns_addr h2)" \
	--arg a3 "$(netns_addr h3)" --arg a4 "$(netns_addr h4)" \
	--arg mh "$(printf '11%.0s' $(seq 48))" --arg ml "$(printf '22%.0s' $(seq 48))" '
	.domains[0].keys[0].ed25519 = $hk | .domains[1].keys[0].ed25519 = $lk |
	.domains[0].kbs = {url: "https://\($A):8443", trust_anchor_sha256: $ha} |
	.domains[1].kbs = {url: "https://\($B):8443", trust_anchor_sha256: $la} |
	.nodes = [{name: "h1", domain: "hospital", id: 1, address: $a1, tee: "sim"},
		  {name: "h2", domain: "hospital", id: 2, address: $a2, tee: "sim"},
		  {name: "h3", domain: "lab", id: 3, address: $a3, tee: "sim"},
		  {name: "h4", domain: "lab", id: 4, address: $a4, tee: "sim"}] |
	.stages[0].nodes = ["h1"] | .stages[1].nodes = ["h2"] |
	.stages[2].nodes = ["h3"] | .stages[3].nodes = ["h4"] |
	.stages |= map(.reference.measurements = [if .domain == "lab" then $ml else $mh end])' \
	"$T/w0.json" >"$T/w.json"
"$SEALNET" workflow sign "$T/w.json" --domain hospital --key "$T/hospital.key" >/dev/null
"$SEALNET" workflow sign "$T/w.json" --domain lab --key "$T/lab.key" >/dev/null
check "the manifest verifies" "$SEALNET" workflow verify "$T/w.json"

kbs_conf() { # DIR DOMAIN ADDR CHAIN KEY
	mkdir -p "$T/$1"
	cp "$T/w.json" "$T/w.sig.json" "$T/$1/"
	cat >"$T/$1/kbs.json" <<JSON
{ "listen": "$3:8443", "domain": "$2",
  "tls_cert": "../$4.pem", "tls_key": "../$5.key", "admin_ca": "../adminca.pem",
  "database": "kbs.db", "token_key": "token.key",
  "manifest": "w.json", "bundle": "bundle.json", "trust_dir": "trust",
  "peer_refresh_max_s": 1, "request_timeout": 30,
  "metrics_listen": "127.0.0.1:9478" }
JSON
}
kbs_conf hosp hospital "$A" hchain hsrv
kbs_conf lab lab "$B" lchain lsrv
declare -A KPID
kstart() { # NS DIR
	ip netns exec "$(netns_name "$1")" "$KBS" --config "$T/$2/kbs.json" >>"$T/$2.log" 2>&1 &
	KPID[$2]=$!
	SN_NS_BGPIDS+=($!)
}
kstop() {
	local rc=0
	kill -TERM "${KPID[$1]}"
	wait "${KPID[$1]}" || rc=$?
	[ "$rc" = 0 ] || { echo "  sealnet-kbs $1 exited $rc"; tail -5 "$T/$1.log"; }
	return "$rc"
}
ska() { netns_exec h5 "$SEALNET" kbs --server "$A:8443" --ca "$T/hca.pem" --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
skb() { netns_exec h6 "$SEALNET" kbs --server "$B:8443" --ca "$T/lca.pem" --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
q() { "$@" >/dev/null; }
kstart h5 hosp
kstart h6 lab
for _ in $(seq 100); do ska keys >/dev/null 2>&1 && skb keys >/dev/null 2>&1 && break; sleep 0.1; done
check "both KBSs answer" q ska keys
bundle() { # DOMAIN DIR SEQ [ARGS]: the domain's bundle, served by its KBS
	local d=$1 dir=$2 s=$3
	shift 3
	if [ "$dir" = hosp ]; then ska keys; else skb keys; fi >"$T/$dir/jwks.json"
	"$SEALNET" federation export --manifest "$T/w.json" --domain "$d" --key "$T/$d.key" \
		--kbs-keys "$T/$dir/jwks.json" --seq "$s" -o "$T/$dir/bundle.tmp" "$@" 2>/dev/null
	mv "$T/$dir/bundle.tmp" "$T/$dir/bundle.json"
}
bundle hospital hosp 1
bundle lab lab 1
state_at() { # SK DOMAIN: "state sequence"
	"$1" bundles --json | jq -r --arg d "$2" '.[] | select(.domain == $d) | "\(.state) \(.sequence)"'
}
wait_fresh() { for _ in $(seq 100); do [ "$(state_at "$1" "$2" 2>/dev/null)" = "$3" ] && return 0; sleep 0.1; done; state_at "$1" "$2"; return 1; }
check "lab's KBS has hospital's bundle (fresh 1)" wait_fresh skb hospital "fresh 1"
check "hospital's KBS has lab's bundle (fresh 1)" wait_fresh ska lab "fresh 1"
check "metrics: lab's KBS shows hospital's bundle fresh" bash -c \
	"ip netns exec '$(netns_name h6)' curl -s http://127.0.0.1:9478/metrics | grep -q 'sealnet_kbs_peer_bundle_state{domain=\"hospital\",state=\"fresh\"} 1'"

# ---- four MAKE nodes, each following its own domain's KBS -------------------------
dp_sim_platform
rules() { # H: UDP 7001 to and from every other node
	local h=$1 p sep=""
	for p in h1 h2 h3 h4; do
		[ "$p" = "$h" ] && continue
		printf '%s{"peer":"%s","direction":"egress","protocol":"udp","port":7001},' "$sep" "$p"
		printf '{"peer":"%s","direction":"ingress","protocol":"udp","port":7001}' "$p"
		sep=,
	done
}
for h in h1 h2 h3 h4; do
	dp_make_config $h "$(echo h1 h2 h3 h4 | tr ' ' '\n' | grep -v "^$h$" | tr '\n' ' ')" "$(rules $h)"
	case $h in h1 | h2) url="https://$A:8443" ca=hca ;; *) url="https://$B:8443" ca=lca ;; esac
	jq --arg url "$url" --arg ca "$T/$ca.pem" '. + {kbs: {url: $url, ca: $ca, poll_s: 20}}' \
		"$T/$h.json" >"$T/$h.tmp"
	mv "$T/$h.tmp" "$T/$h.json"
done
dp_policy h1 h2 h3 h4
for h in h1 h2 h3 h4; do dp_start $h; done
for pr in h1:h3 h1:h4 h2:h3 h3:h4 h2:h4; do
	check "${pr%:*}-${pr#*:} in MAKE" dp_wait_peer "${pr%:*}" "${pr#*:}"
done
for h in h1 h2 h3 h4; do
	check "$h follows its KBS's events" grep -q "following revocations" "$T/$h.log"
done

# ---- traffic ----------------------------------------------------------------------------------
# senders and receivers run until $T/traffic.stop exists (120 s at most):
# the revocation comes once every pair carries traffic, the stop 6 s after
# the withdrawal, whatever the machine's load does to their start
STOP=$T/traffic.stop
for h in h1 h2 h3 h4; do
	netns_exec $h python3 "$here/udp_clock.py" recv "$(netns_addr $h)" 7001 120 "$STOP" \
		>"$T/$h.rx" 2>"$T/$h.flowing" &
	SN_NS_BGPIDS+=($!)
done
for h in h1 h2 h3 h4; do netns_wait_listen $h 7001 udp; done
for pr in h1:h3 h3:h1 h1:h4 h4:h1 h2:h4 h4:h2; do
	netns_exec "${pr%:*}" python3 "$here/udp_clock.py" send "$(netns_addr "${pr#*:}")" 7001 10 120 "$STOP" &
	SN_NS_BGPIDS+=($!)
done
check "every cross-domain pair had traffic before the revocation (50 datagrams each way)" udp_clock_flowing 6 h1 h2 h3 h4

# ---- 1. hospital revokes its node h1 -----------------------------------------------------------
t0=$(date +%s.%N)
check "hospital's KBS: revoke node h1" q ska revoke node h1 --reason "compromised (test)"
for _ in $(seq 100); do
	[ "$(dp_peer h3 h1 state)" = revoked ] && [ "$(dp_peer h4 h1 state)" = revoked ] && break
	sleep 0.05
done
check "h3 (lab) revoked h1" [ "$(dp_peer h3 h1 state)" = revoked ]
check "h4 (lab) revoked h1" [ "$(dp_peer h4 h1 state)" = revoked ]
check "  with the reason from lab's KBS naming hospital" \
	grep -q "revoked by the KBS: node h1 (domain hospital: compromised (test))" <<<"$(dp_peer h3 h1 reason)"
check "lab's KBS re-published it (audit peer-revoke ok)" \
	q jq -e 'any(.[]; .action == "peer-revoke" and .subject == "node h1" and .outcome == "ok")' <<<"$(skb audit --limit 10000)"

# ---- 2. hospital's KBS (hostile) revokes lab's node h3 -----------------------------------------
t1=$(date +%s.%N)
check "hospital's KBS: revoke node h3 (a lab node)" q ska revoke node h3 --reason "hostile"
for _ in $(seq 100); do
	jq -e 'any(.[]; .action == "peer-revoke" and .subject == "node h3")' <<<"$(skb audit --limit 10000)" >/dev/null && break
	sleep 0.05
done
check "lab's KBS refused it and audited foreign-node" \
	q jq -e 'any(.[]; .action == "peer-revoke" and .subject == "node h3" and .outcome == "foreign-node")' <<<"$(skb audit --limit 10000)"
no_h3() { ! skb events --wait 0 | grep -q '"value":"h3"'; }
check "  not on lab's GET /events" no_h3
sleep 2
check "h4 (lab) still has h3 established" [ "$(dp_peer h4 h3 state)" = established ]
check "metrics: a refused peer event" bash -c \
	"ip netns exec '$(netns_name h6)' curl -s http://127.0.0.1:9478/metrics | grep -q 'sealnet_kbs_peer_events_refused_total{domain=\"hospital\"} 1'"

# ---- 3. hospital withdraws: a signed bundle with no stage -----------------------------------------
t2=$(date +%s.%N)
bundle hospital hosp 2 --withdraw
for _ in $(seq 100); do [ "$(dp_peer h4 h2 state)" = revoked ] && break; sleep 0.05; done
check "h4 (lab) cut off h2 after hospital's withdrawal" [ "$(dp_peer h4 h2 state)" = revoked ]
check "  with the withdrawal as the reason" grep -q "domain hospital withdrawn" <<<"$(dp_peer h4 h2 reason)"
check "lab's KBS: hospital withdrawn" [ "$(state_at skb hospital)" = "withdrawn 2" ]
check "  audited (withdraw ok)" q jq -e 'any(.[]; .action == "withdraw" and .subject == "hospital" and .outcome == "ok")' <<<"$(skb audit --limit 10000)"
check "metrics: hospital withdrawn" bash -c \
	"ip netns exec '$(netns_name h6)' curl -s http://127.0.0.1:9478/metrics | grep -q 'sealnet_kbs_peer_bundle_state{domain=\"hospital\",state=\"withdrawn\"} 1'"

# ---- the figures --------------------------------------------------------------------------------
# the traffic runs on until 6 s after the withdrawal
udp_clock_stop_after "$t2" 6 "$STOP"
wait_rx() { for _ in $(seq 300); do [ -s "$T/h1.rx" ] && [ -s "$T/h2.rx" ] && [ -s "$T/h3.rx" ] && [ -s "$T/h4.rx" ] && return 0; sleep 0.1; done; return 1; }
check "the receivers finished" wait_rx
for f in h1 h2 h3 h4; do echo "   $f received: $(tr '\n' ';' <"$T/$f.rx")"; done
last() { awk -v s="$2" '$1 == s { print $4 }' "$T/$1.rx"; } # RECEIVER SRC
count() { awk -v s="$2" '$1 == s { print $2 }' "$T/$1.rx"; }
A1=$(netns_addr h1)
A2=$(netns_addr h2)
A3=$(netns_addr h3)
A4=$(netns_addr h4)
L=0
for x in "$(last h3 "$A1")" "$(last h4 "$A1")" "$(last h1 "$A3")" "$(last h1 "$A4")"; do
	[ -n "$x" ] && L=$(awk -v a="$L" -v b="$x" 'BEGIN { print (b > a) ? b : a }')
done
ms=$(awk -v l="$L" -v t="$t0" 'BEGIN { printf "%d", (l - t) * 1000 }')
echo "info: revoke on hospital's KBS -> last packet between h1 (hospital) and a lab node: $ms ms"
check "every cross-domain pair's receiver counted its traffic (50 or more)" \
	[ "$(count h3 "$A1")" -ge 50 -a "$(count h4 "$A1")" -ge 50 -a "$(count h1 "$A3")" -ge 50 -a \
	  "$(count h1 "$A4")" -ge 50 -a "$(count h4 "$A2")" -ge 50 -a "$(count h2 "$A4")" -ge 50 ]
check "h1 cut off from every lab node within 5 s of the revoke ($ms ms)" [ "$ms" -ge 0 -a "$ms" -le 5000 ]
check "h2 <-> h4 still carried traffic after the hostile revocation (until the withdrawal)" \
	awk -v a="$(last h4 "$A2")" -v b="$(last h2 "$A4")" -v t="$t1" 'BEGIN { exit !(a > t + 2 && b > t + 2) }'
L2=0
for x in "$(last h4 "$A2")" "$(last h2 "$A4")"; do
	[ -n "$x" ] && L2=$(awk -v a="$L2" -v b="$x" 'BEGIN { print (b > a) ? b : a }')
done
ms2=$(awk -v l="$L2" -v t="$t2" 'BEGIN { printf "%d", (l - t) * 1000 }')
echo "info: hospital's withdrawal bundle written -> last packet between h2 (hospital) and h4 (lab): $ms2 ms (lab's KBS refetches at most every peer_refresh_max_s = 1 s)"
check "h2 cut off from h4 within 5 s of the withdrawal ($ms2 ms)" [ "$ms2" -ge 0 -a "$ms2" -le 5000 ]

# ---- 4. re-admission: lift events, MAKE again without restarting sealnetd ---------------------
# new receivers and senders: h2 <-> h4 (re-admitted), h1 <-> h4 (h1 stays revoked)
STOP2=$T/traffic2.stop
RX2=()
for h in h1 h2 h4; do
	netns_exec $h python3 "$here/udp_clock.py" recv "$(netns_addr $h)" 7001 60 "$STOP2" \
		>"$T/$h.rx2" 2>"$T/$h.flowing2" &
	SN_NS_BGPIDS+=($!)
	RX2+=($!)
done
for h in h1 h2 h4; do netns_wait_listen $h 7001 udp; done
for pr in h2:h4 h4:h2 h1:h4 h4:h1; do
	netns_exec "${pr%:*}" python3 "$here/udp_clock.py" send "$(netns_addr "${pr#*:}")" 7001 10 60 "$STOP2" &
	SN_NS_BGPIDS+=($!)
done
t3=$(date +%s.%N)
check "lab's KBS: readmit hospital" q skb readmit hospital --reason "back (test)"
bundle hospital hosp 3
check "lab's KBS: hospital fresh again with bundle 3 (re-admission complete)" wait_fresh skb hospital "fresh 3"
check "lab's GET /events: lift events for h1 and h2 (op lift, naming the withdrawal's revocations)" \
	q jq -e '[.events[] | select(.op == "lift" and .domain == "hospital") | .value] == ["h1","h2"]' \
	<<<"$(skb events --wait 0)"
check "h4 re-admits h2 without a restart (MAKE established again)" dp_wait_peer h4 h2 established
t3m=$(date +%s.%N)
check "h2 <-> h4 traffic flows again (50 datagrams each way)" bash -c \
	"for _ in \$(seq 300); do grep -q flowing '$T/h4.flowing2' && grep -q flowing '$T/h2.flowing2' && exit 0; sleep 0.1; done; exit 1"
check "  h4 logged the lift" grep -q "lifted by the KBS" "$T/h4.log"
check "  h4 audited it (kbs-lift re-admitted h2)" grep -q . <<<"$(jq -c 'select(.event == "kbs-lift" and .outcome == "re-admitted" and .peer == "h2")' "$T/h4.state/audit.jsonl")"
check "  and the lift of h1's withdrawal revocation, h1 kept by another (kbs-lift lifted-still-revoked)" \
	grep -q . <<<"$(jq -c 'select(.event == "kbs-lift" and .outcome == "lifted-still-revoked" and .value == "h1")' "$T/h4.state/audit.jsonl")"
check "h1 stays revoked at h4 (hospital's own revocation of h1 is not lifted)" [ "$(dp_peer h4 h1 state)" = revoked ]
check "  its reason is that revocation" grep -q "compromised (test)" <<<"$(dp_peer h4 h1 reason)"
# h3 lifts h2 too; no MAKE with it though: h2 itself still refuses h3,
# which hospital's KBS revoked in step 2 (lab refused that, hospital did not)
check "h3 also lifted h2's revocation (no restart)" dp_wait_peer h3 h2 waiting
check "  h2 still refuses h3 (hospital's own revocation of h3)" [ "$(dp_peer h2 h3 state)" = revoked ]

# ---- 5. hospital revokes h2 after the lift: cut off again ---------------------------------------
t4=$(date +%s.%N)
check "hospital's KBS: revoke node h2 (after the lift)" q ska revoke node h2 --reason "again (test)"
check "h4 cuts h2 off again" dp_wait_peer h4 h2 revoked
udp_clock_stop_after "$t4" 4 "$STOP2"
check "the receivers finished (2)" wait "${RX2[@]}"
for f in h1 h2 h4; do echo "   $f received: $(tr '\n' ';' <"$T/$f.rx2")"; done
first2() { awk -v s="$2" '$1 == s { print $3 }' "$T/$1.rx2"; }
last2() { awk -v s="$2" '$1 == s { print $4 }' "$T/$1.rx2"; }
F=$(first2 h4 "$A2")
ms3=$(awk -v f="$F" -v t="$t3" 'BEGIN { printf "%d", (f - t) * 1000 }')
echo "info: readmit on lab's KBS -> first datagram h2 -> h4: $ms3 ms (re-admission needs hospital's bundle 3, fetched within peer_refresh_max_s = 1 s; then h2, the dialling side, redials after its backoff; h4 re-admitted h2 $(awk -v a="$t3m" -v t="$t3" 'BEGIN { printf "%d", (a - t) * 1000 }') ms after readmit, as seen by polling)"
check "h2 -> h4 and h4 -> h2 datagrams arrived after the readmit" \
	awk -v a="$F" -v b="$(first2 h2 "$A4")" -v t="$t3" 'BEGIN { exit !(a > t && b > t) }'
check "no datagram between h1 and h4 after the re-admission (h1 still revoked)" \
	[ -z "$(first2 h4 "$A1")" -a -z "$(first2 h1 "$A4")" ]
L3=0
for x in "$(last2 h4 "$A2")" "$(last2 h2 "$A4")"; do
	[ -n "$x" ] && L3=$(awk -v a="$L3" -v b="$x" 'BEGIN { print (b > a) ? b : a }')
done
ms4=$(awk -v l="$L3" -v t="$t4" 'BEGIN { printf "%d", (l - t) * 1000 }')
echo "info: revoke of h2 after the lift -> last datagram between h2 and h4: $ms4 ms"
check "h2 cut off from h4 within 5 s of the revoke after the lift ($ms4 ms)" [ "$ms4" -ge 0 -a "$ms4" -le 5000 ]

check "lab's KBS audit chain verifies" q skb audit verify
check "hospital's KBS stops cleanly" kstop hosp
check "lab's KBS stops cleanly" kstop lab
exit "$fails"
