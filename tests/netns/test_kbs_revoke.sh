#!/usr/bin/env bash
# Revocation at the nodes (issue 13 item 5, docs/sealnetd.md "kbs"): three
# nodes in MAKE follow their KBS's GET /events; `sealnet kbs revoke node
# h2` must cut h2 off from every peer within 5 s while h1 <-> h3 keeps
# working, h2 can no longer get a token, and a revoked measurement cuts
# off the peer whose last appraisal showed it.
#
#    h1 198.18.0.1 --+
#    h2 198.18.0.2 --+-- br0      UDP every 10 ms between every pair,
#    h3 198.18.0.3 --+            both ways (sealed by the data plane)
#    h4 198.18.0.4 --+  sealnet-kbs :8443 (and the admin)
#
# Printed: the time from the revoke command to the last datagram between
# h2 and any peer that a receiver got (all on this machine's clock).
# Then the KBS restarts on a fresh database: the nodes notice, read the
# full set again, apply the new revocation and drop the ones it no longer
# lists.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
. "$here/kbs_pki.sh"
kbs_test_init 4 python3
K=$(netns_addr h4)
SRV="$K:8443"

# ---- the KBS in h4 -------------------------------------------------------
kbs_pki "$K"
mk_ca otherca "another CA"
mk_self h2tls h2
kbs_config "$T/kbs.json" "$SRV" d1 '"request_timeout": 30'
kbs_start h4 "$T/kbs.json" "$T/kbs.log" KPID
sk() { netns_exec h4 "$SEALNET" kbs --server "$SRV" --ca "$T/ca.pem" "$@"; }
admin() { sk --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
check "sealnet-kbs answers in h4" sk keys

# ---- three MAKE nodes following the KBS ---------------------------------
dp_sim_platform
rules() { # H: UDP 7001 to and from every other node
	local h=$1 p sep=""
	for p in h1 h2 h3; do
		[ "$p" = "$h" ] && continue
		printf '%s{"peer":"%s","direction":"egress","protocol":"udp","port":7001},' "$sep" "$p"
		printf '{"peer":"%s","direction":"ingress","protocol":"udp","port":7001}' "$p"
		sep=,
	done
}
for h in h1 h2 h3; do
	dp_make_config $h "$(echo h1 h2 h3 | tr ' ' '\n' | grep -v "^$h$" | tr '\n' ' ')" "$(rules $h)"
	jq --arg url "https://$SRV" --arg ca "$T/${KBS_CA:-ca}.pem" \
		'. + {kbs: {url: $url, ca: $ca, poll_s: 20}}' "$T/$h.json" >"$T/$h.tmp"
	mv "$T/$h.tmp" "$T/$h.json"
done
dp_policy h1 h2 h3
M2=$("$SEALNETD" --print-measurement --config "$T/h2.json")
M3=$("$SEALNETD" --print-measurement --config "$T/h3.json")

# h2 is enrolled and can get a token before the revocation
check "admin: enrol h2 (stage S)" admin enrol h2 --stage S --node-cert "$T/h2tls.pem"
check "admin: set-reference S" admin set-reference S --policy "$T/policy.json"
h2attest() {
	sk --cert "$T/h2tls.pem" --key "$T/h2tls.key" attest --node h2 \
		--platform "$T/platform" --measurement "$M2" --rek "$T/h2.rek" "$@"
}
check "h2 gets a token before the revocation" h2attest --token "$T/h2.tok"

for h in h1 h2 h3; do dp_start $h; done
check "h1-h2 in MAKE" dp_wait_peer h1 h2
check "h1-h3 in MAKE" dp_wait_peer h1 h3
check "h2-h3 in MAKE" dp_wait_peer h2 h3
following() { # H: its log says so (up to 20 s: its GET /events may come after MAKE)
	for _ in $(seq 200); do grep -q "following revocations" "$T/$1.log" && return 0; sleep 0.1; done
	return 1
}
for h in h1 h2 h3; do
	check "$h follows the KBS's events" following $h
done

# ---- traffic, then revoke h2 ---------------------------------------------
# senders and receivers run until $T/traffic.stop exists (120 s at most):
# the revocation comes once every pair carries traffic, the stop 10 s after
# it, whatever the machine's load does to their start
STOP=$T/traffic.stop
for h in h1 h2 h3; do
	netns_exec $h python3 "$here/udp_clock.py" recv "$(netns_addr $h)" 7001 120 "$STOP" \
		>"$T/$h.rx" 2>"$T/$h.flowing" &
	SN_NS_BGPIDS+=($!)
done
for h in h1 h2 h3; do netns_wait_listen $h 7001 udp; done
for h in h1 h2 h3; do
	for p in h1 h2 h3; do
		[ "$p" = "$h" ] && continue
		netns_exec $h python3 "$here/udp_clock.py" send "$(netns_addr $p)" 7001 10 120 "$STOP" &
		SN_NS_BGPIDS+=($!)
	done
done
check "every pair had traffic before the revocation (50 datagrams each way)" udp_clock_flowing 6 h1 h2 h3
t0=$(date +%s.%N)
check "admin: revoke node h2" admin revoke node h2 --reason "compromised (test)"
# the traffic runs on until 10 s after the revoke command
udp_clock_stop_after "$t0" 10 "$STOP"
wait_rx() { for _ in $(seq 300); do [ -s "$T/h1.rx" ] && [ -s "$T/h2.rx" ] && [ -s "$T/h3.rx" ] && return 0; sleep 0.1; done; return 1; }
check "the receivers finished" wait_rx
sleep 0.3
A1=$(netns_addr h1)
A2=$(netns_addr h2)
A3=$(netns_addr h3)
last() { awk -v s="$2" '$1 == s { print $4 }' "$T/$1.rx"; } # RECEIVER SRC
count() { awk -v s="$2" '$1 == s { print $2 }' "$T/$1.rx"; }
for f in h1 h2 h3; do echo "   $f received: $(tr '\n' ';' <"$T/$f.rx")"; done
L=0
for x in "$(last h1 "$A2")" "$(last h3 "$A2")" "$(last h2 "$A1")" "$(last h2 "$A3")"; do
	[ -n "$x" ] && L=$(awk -v a="$L" -v b="$x" 'BEGIN { print (b > a) ? b : a }')
done
ms=$(awk -v l="$L" -v t="$t0" 'BEGIN { printf "%d", (l - t) * 1000 }')
echo "info: revoke command -> last packet between h2 and any peer: $ms ms"
check "every pair's receiver counted its traffic (50 or more)" \
	[ "$(count h1 "$A2")" -ge 50 -a "$(count h3 "$A2")" -ge 50 -a \
	  "$(count h2 "$A1")" -ge 50 -a "$(count h2 "$A3")" -ge 50 -a \
	  "$(count h1 "$A3")" -ge 50 -a "$(count h3 "$A1")" -ge 50 ]
check "h2 was cut off from every peer within 5 s of the revoke ($ms ms)" [ "$ms" -le 5000 ]
# the other pair keeps working until the end (the stop, 10 s after the revoke)
l13=$(last h3 "$A1")
l31=$(last h1 "$A3")
check "h1 <-> h3 still carried traffic 8 s after the revoke" \
	awk -v a="$l13" -v b="$l31" -v t="$t0" 'BEGIN { exit !(a > t + 8 && b > t + 8) }'

# ---- what the nodes say ----------------------------------------------------
for h in h1 h3; do
	check "$h: peer h2 is revoked" [ "$(dp_peer $h h2 state)" = revoked ]
	check "$h: with the KBS's reason in sealnet status" \
		grep -q "revoked by the KBS: node h2 (compromised (test))" <<<"$(dp_peer $h h2 reason)"
	check "$h: no key for h2" [ "$(dp_peer $h h2 tx_epoch)" = 0 ]
	check "$h: audited" grep -q . <<<"$(jq -c 'select(.event == "kbs-revocation" and .peer == "h2")' "$T/$h.state/audit.jsonl")"
	check "$h: logged" grep -q "peer h2: revoked by the KBS" "$T/$h.log"
done
check "h1-h3 still established" [ "$(dp_peer h1 h3 state)" = established ]
# h2 dials h3 again (lower id): refused
for _ in $(seq 200); do grep -q "peer h2: MAKE refused" "$T/h3.log" && break; sleep 0.1; done
check "h3 refuses h2's new MAKE" grep -q "peer h2: MAKE refused" "$T/h3.log"
check "h2 and h3 have no session" [ "$(dp_peer h2 h3 state)" != established ]
h2_refused() {
	local out
	out=$(h2attest 2>&1) && { echo "  attest succeeded: $out"; return 1; }
	grep -q "node-revoked" <<<"$out" || { echo "  $out"; return 1; }
}
check "h2 cannot get a new token (node-revoked)" h2_refused

# ---- a revoked measurement ------------------------------------------------
check "admin: revoke measurement of h3" admin revoke measurement "$M3" --reason "old image"
for _ in $(seq 200); do [ "$(dp_peer h1 h3 state)" = revoked ] && break; sleep 0.1; done
check "h1 revokes h3, whose last appraisal showed that measurement" [ "$(dp_peer h1 h3 state)" = revoked ]
check "with the measurement in the reason" grep -q "revoked by the KBS: measurement ${M3:0:16}" <<<"$(dp_peer h1 h3 reason)"

# ---- the KBS on a fresh database: its event numbers start again -------------
kill -TERM "$KPID"
wait "$KPID" || true
rm -f "$T/kbs.db" "$T/kbs.db-wal" "$T/kbs.db-shm"
ip netns exec "$(netns_name h4)" "$KBS" --config "$T/kbs.json" >>"$T/kbs.log" 2>&1 &
KPID=$!
SN_NS_BGPIDS+=($!)
for _ in $(seq 100); do sk keys >/dev/null 2>&1 && break; sleep 0.1; done
check "the KBS restarted on a fresh database revokes node h1 (its event 1)" \
	eval 'admin revoke node h1 --reason "after the reset" | jq -e ".seq == 1" >/dev/null'
for _ in $(seq 150); do [ "$(dp_peer h3 h1 state)" = revoked ] && break; sleep 0.1; done
check "h3 notices the new event sequence and revokes h1" \
	grep -q "revoked by the KBS: node h1 (after the reset)" <<<"$(dp_peer h3 h1 reason)"
check "  logged" grep -q "its event sequence restarted (another database" "$T/h3.log"
check "  audited" grep -q '"event":"kbs-events-reset"' "$T/h3.state/audit.jsonl"
# the full set read again: what the fresh database no longer lists (h2's
# revocation, h3's measurement) is dropped, as a restarted node would
# (docs/kbs-api.md "Following GET /events"), h1's new one holds
for _ in $(seq 100); do [ "$(dp_peer h3 h2 state)" != revoked ] && break; sleep 0.1; done
check "  h3 drops h2's revocation, which the fresh database does not list (MAKE allowed again)" \
	[ "$(dp_peer h3 h2 state)" != revoked ]
check "  audited (kbs-events-resynced: 2 dropped)" \
	grep -q . <<<"$(jq -c 'select(.event == "kbs-events-resynced" and .dropped == 2)' "$T/h3.state/audit.jsonl")"
check "  audited (kbs-lift re-admitted-after-resync for h2)" \
	grep -q . <<<"$(jq -c 'select(.event == "kbs-lift" and .outcome == "re-admitted-after-resync" and .peer == "h2")' "$T/h3.state/audit.jsonl")"
check "  h1 stays revoked at h3 (the new database's event 1)" [ "$(dp_peer h3 h1 state)" = revoked ]

# ---- the KBS's TLS certificate is verified against kbs.ca -----------------
check "h2 stops" dp_stop h2
jq --arg ca "$T/otherca.pem" '.kbs.ca = $ca' "$T/h2.json" >"$T/h2.tmp" && mv "$T/h2.tmp" "$T/h2.json"
: >"$T/h2.log"
dp_start h2
for _ in $(seq 200); do grep -q "GET /events failed" "$T/h2.log" && break; sleep 0.1; done
check "with another CA as kbs.ca, h2 does not accept the KBS's certificate" \
	grep -q "GET /events failed: certificate verify failed" "$T/h2.log"
check "and follows nothing" bash -c "! grep -q 'following revocations' '$T/h2.log'"
check "sealnetd --check refuses a kbs.url that is not https://HOST:PORT" bash -c \
	"jq '.kbs.url = \"http://$SRV\"' '$T/h1.json' >'$T/bad.json'; ! '$SEALNETD' --check --config '$T/bad.json' 2>'$T/bad.err' && grep -q 'kbs.url' '$T/bad.err'"
exit "$fails"
