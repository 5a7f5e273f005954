#!/usr/bin/env bash
# sealnet-kbs connections and workers (docs/kbs-api.md "Transport and
# authentication", "Workers"): the KBS in h1 with "workers": 2, clients in
# h2, sim evidence.
#
#    h1 198.18.0.1 (sealnet-kbs :8443, /metrics :9478) --- br0 --- h2 198.18.0.2
#
# HTTP/1.1 keep-alive: two requests on one TLS connection are both
# answered; sn_kbs_attest (bench/kbs_load, sealnetd's helper) makes one TLS
# connection per attestation, not two.  No TLS session resumption: the KBS
# issues no session tickets, so a client cannot skip the certificate (the
# key its evidence binds) on a later connection.  Workers: attestations
# whose challenge and POST /attest arrive on different connections (either
# worker) succeed, and one challenge presented concurrently on many
# connections is accepted exactly once.  A revocation committed by one
# worker is pushed to GET /events waiters on every worker.
set -eu
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/kbs_pki.sh"
kbs_test_init 2
LOAD="$SN_BUILD/bench/kbs_load"
K=$(netns_addr h1)
SRV="$K:8443"
MURL="http://$K:9478/metrics"

kbs_pki "$K"
for n in node1 node2; do mk_self $n $n; done
"$SEALNET" sim-tee init "$T/plat" >"$T/plat.txt"
ARK=$(sed -n 's/.*sim_ark_spki_sha256"): \([0-9a-f]*\)$/\1/p' "$T/plat.txt")
M1=$(printf 'stage A image' | sha384sum | cut -c1-96)
printf '{"backends":["sim"],"measurements":["%s"],"sim_ark_spki_sha256":["%s"]}\n' \
	"$M1" "$ARK" >"$T/policy.json"
kbs_config "$T/kbs.json" "$SRV" d1 '"workers": 2, "request_timeout": 10, "max_challenges_per_node": 16, "metrics_listen": "'"$K"':9478"'
kbs_start h1 "$T/kbs.json"

sk() { netns_exec h2 "$SEALNET" kbs --server "$SRV" --ca "$T/ca.pem" "$@"; }
admin() { sk --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
attest() { # NODE [ARGS...]
	local n=$1
	shift
	sk --cert "$T/$n.pem" --key "$T/$n.key" attest --node "$n" --platform "$T/plat" \
		--measurement "$M1" --rek "$T/$n.rek" "$@"
}
mval() { netns_exec h2 curl -sf --max-time 5 "$MURL" | grep -E "^$1(\{|\s)" | grep -F -- "${2:-}" | awk '{print $2}' | head -1; }
# the on-CPU time of the KBS's threads, ns, one line each
thread_ns() { cat /proc/"$KBS_PID"/task/*/schedstat | awk '{ print $1 }'; }

check "sealnet-kbs started with 2 workers" grep -q "2 workers" "$T/kbs.log"
check "it runs 2 threads" [ "$(ls /proc/"$KBS_PID"/task | wc -l)" = 2 ]
check "admin: enrol node1 (stage A)" admin enrol node1 --stage A --node-cert "$T/node1.pem"
check "admin: enrol node2 (stage A)" admin enrol node2 --stage A --node-cert "$T/node2.pem"
check "admin: set-reference A" admin set-reference A --policy "$T/policy.json"

# ---- keep-alive ------------------------------------------------------------
# two requests written at once on one TLS connection, the second asking to
# close: both answered (a server closing after the first answers once)
printf 'GET /challenge HTTP/1.1\r\nHost: kbs\r\n\r\nGET /challenge HTTP/1.1\r\nHost: kbs\r\nConnection: close\r\n\r\n' |
	netns_exec h2 timeout 20 openssl s_client -quiet -connect "$SRV" -CAfile "$T/ca.pem" \
		-cert "$T/node1.pem" -key "$T/node1.key" -verify_return_error >"$T/ka.out" 2>"$T/ka.err" || true
check "keep-alive: two requests on one connection, two 200 answers" \
	[ "$(grep -c '^HTTP/1.1 200' "$T/ka.out")" = 2 ]
check "keep-alive: two different challenges" \
	[ "$(grep -o '"challenge":"[^"]*"' "$T/ka.out" | sort -u | wc -l)" = 2 ]
c0=$(mval sealnet_kbs_tls_connections_total)
check "kbs_load: 5 attestations through sn_kbs_attest" netns_exec h2 "$LOAD" --server "$SRV" \
	--ca "$T/ca.pem" --cert "$T/node1.pem" --key "$T/node1.key" --node node1 \
	--platform "$T/plat" --measurement "$M1" -c 1 -n 5
c1=$(mval sealnet_kbs_tls_connections_total)
# (+1: kbs_load fetches GET /keys once at start to verify the tokens)
check "sn_kbs_attest: one TLS connection per attestation (5 for 5, not 10)" [ "$((c1 - c0 - 1))" = 5 ]

# ---- no session resumption ----------------------------------------------
# a TLS 1.3 resumption would skip the client certificate (the key the
# evidence binds); the KBS sends no tickets, so a second connection offered
# the first one's session is a new, full handshake
printf 'GET /keys HTTP/1.1\r\nHost: kbs\r\nConnection: close\r\n\r\n' |
	netns_exec h2 timeout 20 openssl s_client -ign_eof -connect "$SRV" -CAfile "$T/ca.pem" \
		-cert "$T/node1.pem" -key "$T/node1.key" -sess_out "$T/sess.pem" >"$T/s1.out" 2>&1 || true
# (s_client saves a TLS 1.3 session only when a ticket arrives: no file,
# nothing to resume; if there is one, offering it must not resume)
if [ -s "$T/sess.pem" ]; then
	printf 'GET /keys HTTP/1.1\r\nHost: kbs\r\nConnection: close\r\n\r\n' |
		netns_exec h2 timeout 20 openssl s_client -ign_eof -connect "$SRV" -CAfile "$T/ca.pem" \
			-cert "$T/node2.pem" -key "$T/node2.key" -sess_in "$T/sess.pem" >"$T/s2.out" 2>&1 || true
else
	echo "New, TLSv1.3 (no session saved: nothing to offer)" >"$T/s2.out"
fi
check "the first connection got an answer" grep -q '^HTTP/1.1 200' "$T/s1.out"
check "no session ticket was sent" bash -c "! grep -q 'TLS session ticket:' '$T/s1.out'"
check "a later connection is not resumed from the first one's session" \
	bash -c "grep -q '^New, TLSv1.3' '$T/s2.out' && ! grep -q '^Reused' '$T/s2.out' || { tail -20 '$T/s2.out'; exit 1; }"

# ---- workers share one challenge table ------------------------------------
# the CLI fetches the challenge and posts the evidence on two connections,
# each accepted by either worker: 8 clients at once, 4 attestations each,
# every one must get its token (a challenge known only to the worker that
# issued it would fail about half of them: challenge-unknown)
check "node1 attests (its rek created)" attest node1
t0=$(thread_ns | tr '\n' ' ')
P=()
for i in $(seq 8); do
	(rc=0; attest node1 --count 4 >"$T/par.$i.out" 2>&1 || rc=$?; echo $rc >"$T/par.$i.rc") &
	P+=($!)
done
wait "${P[@]}"
bad=0
for i in $(seq 8); do [ "$(cat "$T/par.$i.rc")" = 0 ] || { bad=$((bad + 1)); cat "$T/par.$i.out"; }; done
check "32 attestations from 8 concurrent clients, challenge and attest on separate connections: all accepted" [ "$bad" = 0 ]
t1=$(thread_ns | tr '\n' ' ')
busy=$(paste <(tr ' ' '\n' <<<"$t0") <(tr ' ' '\n' <<<"$t1") | awk 'NF == 2 && $2 - $1 > 20000000 { n++ } END { print n + 0 }')
check "both workers served them (each >= 20 ms of CPU)" [ "$busy" = 2 ]
check "metrics: the tokens counted across workers (>= 38)" [ "$(mval sealnet_kbs_tokens_issued_total)" -ge 38 ]

# one challenge, presented on 10 connections at once: accepted once
CH=$(netns_exec h2 curl -s --cacert "$T/ca.pem" --cert "$T/node1.pem" --key "$T/node1.key" "https://$SRV/challenge" | jq -r .challenge)
P=()
for i in $(seq 10); do
	(rc=0; attest node1 --challenge "$CH" >"$T/rep.$i.out" 2>&1 || rc=$?; echo $rc >"$T/rep.$i.rc") &
	P+=($!)
done
wait "${P[@]}"
won=0 used=0
for i in $(seq 10); do
	[ "$(cat "$T/rep.$i.rc")" = 0 ] && won=$((won + 1))
	grep -q 'refused (HTTP 403): challenge-used:' "$T/rep.$i.out" && used=$((used + 1))
done
check "one challenge on 10 concurrent connections: exactly one token" [ "$won" = 1 ]
check "and 9 refusals, challenge-used" [ "$used" = 9 ]

# ---- a revocation reaches the waiters of every worker -----------------------
last=$(netns_exec h2 curl -s --cacert "$T/ca.pem" "https://$SRV/events?after=0&wait=0" | jq .last)
P=()
for i in $(seq 6); do
	netns_exec h2 curl -s --max-time 15 --cacert "$T/ca.pem" \
		"https://$SRV/events?after=$last&wait=8" >"$T/ev.$i" &
	P+=($!)
done
for _ in $(seq 50); do [ "$(mval sealnet_kbs_event_waiters)" = 6 ] && break; sleep 0.1; done
check "6 GET /events waiting (over both workers)" [ "$(mval sealnet_kbs_event_waiters)" = 6 ]
t_rev=$(date +%s%N)
check "admin: revoke node2" admin revoke node node2
wait "${P[@]}"
t_done=$(date +%s%N)
got=0
for i in $(seq 6); do [ "$(jq -r '.events[0].value' "$T/ev.$i" 2>/dev/null)" = node2 ] && got=$((got + 1)); done
check "all 6 waiters got the revocation" [ "$got" = 6 ]
check "within 5 s of the revoke (not at their 8 s wait)" [ $(((t_done - t_rev) / 1000000)) -lt 5000 ]

check "sealnet-kbs stops cleanly on SIGTERM (workers joined)" bash -c \
	"kill -TERM $KBS_PID; for _ in \$(seq 50); do kill -0 $KBS_PID 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
# ---- a kept-alive connection the KBS closed while idle ------------------
# request_timeout 1 s; the client pauses 2.5 s between GET /challenge and
# POST /attest: the KBS has closed that connection, the client sees it
# and sends the POST on a new one (2 connections for 1 attestation)
jq '.request_timeout = 1' "$T/kbs.json" >"$T/kbs-t1.json"
kbs_start h1 "$T/kbs-t1.json"
# the restarted KBS holds no certificate: one attestation first (409
# certificates-unknown, then in full), so the next names them by reference
check "a first attestation after the restart" netns_exec h2 "$LOAD" --server "$SRV" \
	--ca "$T/ca.pem" --cert "$T/node1.pem" --key "$T/node1.key" --node node1 \
	--platform "$T/plat" --measurement "$M1" -c 1 -n 1
c0=$(mval sealnet_kbs_tls_connections_total)
check "an attestation pausing 2.5 s after its challenge (idle close at 1 s) succeeds" \
	netns_exec h2 "$LOAD" --server "$SRV" --ca "$T/ca.pem" --cert "$T/node1.pem" \
	--key "$T/node1.key" --node node1 --platform "$T/plat" --measurement "$M1" -c 1 -n 1 --gap 2500
c1=$(mval sealnet_kbs_tls_connections_total)
check "on a second connection" [ "$((c1 - c0 - 1))" = 2 ] # +1: GET /keys
check "sealnet-kbs stops on SIGTERM" bash -c \
	"kill -TERM $KBS_PID; for _ in \$(seq 50); do kill -0 $KBS_PID 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
check "no sanitizer or error report in its log" bash -c "! grep -qiE 'AddressSanitizer|runtime error|LeakSanitizer' '$T/kbs.log'"
exit "$fails"
