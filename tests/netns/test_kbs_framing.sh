#!/usr/bin/env bash
# sealnet-kbs: requests that evhttp would refuse by itself, before any
# handler (docs/kbs-api.md "Request framing"), are refused by the KBS with
# a JSON error AND an audit row (actor: the TLS key shown, if any, and the
# source address), within the audit rate limit of unauthenticated clients.
# The KBS in h1, attackers and a node in h2, sim evidence.
#
#    h1 198.18.0.1 (sealnet-kbs :8443) --- br0 --- h2 198.18.0.2
#
# Attacks, each over TLS (tests/netns/kbs_raw.py): a 2 MiB body, 64 KiB
# of headers, a garbage request line, a 2 MiB chunked body, an unknown
# method, a garbage request pipelined after a good one, the KBS's internal
# path sent by a client (an ordinary bad-path); then a flood of
# garbage requests (N rows + an audit-suppressed row); the audit chain
# verifies and a node still attests.  Before the framer (kbs/framing.c)
# evhttp answered these itself (HTML 413/400/501 or nothing) and no audit
# row was written: the "audit row" checks fail on that code.
set -eu
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/kbs_pki.sh"
kbs_test_init 2 sqlite3 python3
RAW="$here/kbs_raw.py"
K=$(netns_addr h1)
A=$(netns_addr h2)
SRV="$K:8443"

kbs_pki "$K"
mk_self node1 node1
mk_self evil evil
"$SEALNET" sim-tee init "$T/plat" >"$T/plat.txt"
ARK=$(sed -n 's/.*sim_ark_spki_sha256"): \([0-9a-f]*\)$/\1/p' "$T/plat.txt")
M1=$(printf 'stage A image' | sha384sum | cut -c1-96)
printf '{"backends":["sim"],"measurements":["%s"],"sim_ark_spki_sha256":["%s"]}\n' \
	"$M1" "$ARK" >"$T/policy.json"
# 12 audit rows at once per source address, then 1 per second
kbs_config "$T/kbs.json" "$SRV" d1 '"audit_refusal_burst": 12, "audit_refusal_rate": 1'
kbs_start h1 "$T/kbs.json"

sk() { netns_exec h2 "$SEALNET" kbs --server "$SRV" --ca "$T/ca.pem" "$@"; }
admin() { sk --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
raw() { netns_exec h2 python3 "$RAW" "$SRV" "$T/ca.pem" "$@"; }
sq() { sqlite3 -cmd ".timeout 5000" "$T/kbs.db" "$@"; }
rows() { sq "SELECT count(*) FROM audit"; }
last() { sq "SELECT $1 FROM audit ORDER BY seq DESC LIMIT 1"; }
EVIL=$(openssl x509 -in "$T/evil.pem" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)

check "admin: enrol node1 (stage A)" admin enrol node1 --stage A --node-cert "$T/node1.pem"
check "admin: set-reference A" admin set-reference A --policy "$T/policy.json"

# ATTACK STATUS CODE [raw options]: the client reads STATUS {"error": CODE};
# one audit row more, outcome CODE, action "request"
attack() {
	local a=$1 st=$2 code=$3 r0 out
	shift 3
	r0=$(rows)
	out=$(raw "$@" "$a" | tr '\n' ' ')
	check "$a: the client is answered $st $code" [ "$out" = "$st $code " ]
	check "$a: one audit row (request, $code)" \
		[ "$(rows)" = "$((r0 + 1))" -a "$(last action)" = request -a "$(last outcome)" = "$code" ]
	echo "info: $a: answered '$out'; audit: $(last "actor || ' ' || detail")"
}
attack body2m 413 too-large --cert "$T/evil.pem" --key "$T/evil.key"
check "body2m: the audit row names the TLS key shown and the source address" \
	[ "$(last actor)" = "key:$EVIL@$A" ]
attack head64k 431 headers-too-large
check "head64k: without a certificate the actor is anonymous@address" \
	[ "$(last actor)" = "anonymous@$A" ]
attack garbage 400 bad-request --cert "$T/evil.pem" --key "$T/evil.key"
attack chunked 411 length-required
attack method 405 bad-method
# the internal request that stands for a refused one cannot be sent
attack internal 400 bad-path
r0=$(rows)
out=$(raw pipeline | tr '\n' ' ')
check "pipeline: the good request is answered, then the garbage one refused" [ "$out" = "200 - 400 bad-request " ]
check "pipeline: one audit row (bad-request)" [ "$(rows)" = "$((r0 + 1))" -a "$(last outcome)" = bad-request ]

# a real client: curl posting 2 MiB reads the 413 and its JSON
head -c 2097152 /dev/zero >"$T/big"
r0=$(rows)
out=$(netns_exec h2 curl -s --cacert "$T/ca.pem" -o "$T/curl.json" -w '%{http_code}' \
	-H 'Content-Type: application/json' --data-binary @"$T/big" "https://$SRV/attest" || true)
curl_413() { [ "$out" = 413 ] && jq -e '.error == "too-large" and (.message | test("limit"))' "$T/curl.json" >/dev/null 2>&1; }
check "curl, 2 MiB POST /attest: HTTP 413 too-large (JSON)" curl_413
check "curl, 2 MiB: audited" [ "$(rows)" = "$((r0 + 1))" -a "$(last outcome)" = too-large ]

check "the audit chain verifies" admin audit verify

# ---- a flood of them: rate-limited audit rows ------------------------------
sleep 3 # some tokens back
r0=$(rows)
raw --count 60 garbage >"$T/flood.out"
r1=$(rows)
echo "info: 60 garbage requests wrote $((r1 - r0)) audit rows; answers: $(sort "$T/flood.out" | uniq -c | tr -s " \n" " ")"
check "flood: all 60 answered 400 bad-request" [ "$(grep -c '^400 bad-request$' "$T/flood.out")" = 60 ]
check "flood: at most 20 of them audited" [ "$((r1 - r0))" -le 20 ]
check "flood: and some were" [ "$((r1 - r0))" -ge 1 ]

# ---- the KBS still serves ---------------------------------------------------
check "node1 attests afterwards" sk --cert "$T/node1.pem" --key "$T/node1.key" attest \
	--node node1 --platform "$T/plat" --measurement "$M1" --rek "$T/node1.rek"
check "GET /keys afterwards" netns_exec h2 curl -sf --cacert "$T/ca.pem" "https://$SRV/keys" -o /dev/null

kill -TERM "$KBS_PID"
wait "$KBS_PID" && rc=0 || rc=$?
check "SIGTERM: clean exit 0 (no leak reported)" [ "$rc" = 0 ]
check "flood: an audit-suppressed row counts the ones not audited" \
	[ "$(sq "SELECT coalesce(sum(CAST(detail AS INTEGER)), 0) FROM audit WHERE action='audit-suppressed'")" -ge "$((60 - (r1 - r0)))" ]
check "audit verify (the database file)" "$SEALNET" kbs audit verify --db "$T/kbs.db"
check "no sanitizer or error report in its log" bash -c "! grep -qiE 'AddressSanitizer|runtime error|LeakSanitizer' '$T/kbs.log'"
exit "$fails"
