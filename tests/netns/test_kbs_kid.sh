#!/usr/bin/env bash
# A peer token naming a key (kid) sealnetd does not hold makes it refetch
# the KBS's JWKS only (GET /keys), at most every 5 s -- not a whole
# attestation and resource fetch (docs/sealnetd.md "KBS: tokens in
# MAKE").  Anyone who reaches the MAKE port can present such a token, so
# before, each one cost an attestation at the KBS (an audit row, a token
# record, a resource release).
#
#    h1 198.18.0.1  the intruder (no sealnetd): h1's address, its own key
#    h2 198.18.0.2  sealnetd, kbs, make_accept token
#    h3 198.18.0.3  sealnet-kbs :8443 (token lifetime 300 s: no renewal
#                   during the test)
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
. "$here/kbs_pki.sh"
kbs_test_init 3 sqlite3 python3 basenc
K=$(netns_addr h3)
SRV="$K:8443"

kbs_pki "$K"
for h in h2 intr; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/${h}tls.key" -out "$T/${h}tls.pem" -days 1 -subj "/CN=$h" 2>/dev/null
done
cat >"$T/kbs.json" <<JSON
{ "listen": "$SRV", "domain": "d1",
  "tls_cert": "server.pem", "tls_key": "server.key", "admin_ca": "adminca.pem",
  "database": "kbs.db", "token_key": "token.key", "request_timeout": 30,
  "token_lifetime": 300 }
JSON
ip netns exec "$(netns_name h3)" "$KBS" --config "$T/kbs.json" >"$T/kbs.log" 2>&1 &
SN_NS_BGPIDS+=($!)
sk() { netns_exec h3 "$SEALNET" kbs --server "$SRV" --ca "$T/ca.pem" "$@"; }
admin() { sk --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
for _ in $(seq 100); do sk keys >/dev/null 2>&1 && break; sleep 0.1; done
check "sealnet-kbs answers in h3" sk keys

dp_sim_platform
r() { printf '{"peer":"%s","direction":"%s","protocol":"udp","port":7001}' "$1" "$2"; }
dp_make_config h1 "h2" "$(r h2 egress)"
dp_make_config h2 "h1" "$(r h1 ingress)"
jq --arg url "https://$SRV" --arg ca "$T/ca.pem" --arg c "$T/h2tls.pem" --arg k "$T/h2tls.key" \
	'. + {kbs: {url: $url, ca: $ca, node_cert: $c, node_key: $k, make_accept: "token"}}' \
	"$T/h2.json" >"$T/h2.tmp" && mv "$T/h2.tmp" "$T/h2.json"
dp_policy h1 h2
check "admin: enrol h2" admin enrol h2 --stage S --node-cert "$T/h2tls.pem"
check "admin: enrol intr (the intruder's own key)" admin enrol intr --stage S --node-cert "$T/intrtls.pem"
check "admin: set-reference S" admin set-reference S --policy "$T/policy.json"
M1=$("$SEALNETD" --print-measurement --config "$T/h1.json")
check "the intruder gets a token of its own (to copy claims and signature from)" \
	sk --cert "$T/intrtls.pem" --key "$T/intrtls.key" attest --node intr \
	--platform "$DP_DIR/platform" --measurement "$M1" --rek "$T/intr.rek" --token "$T/intr.tok"

dp_start h2
wait_log() { # H TEXT [TENTHS]
	for _ in $(seq "${3:-150}"); do grep -q "$2" "$T/$1.log" && return 0; sleep 0.1; done
	echo "  $1's log has no \"$2\"" >&2; return 1
}
check "h2 got its token" wait_log h2 "kbs: token received"
t_tok=$(date +%s.%N)
attests() { sqlite3 "$T/kbs.db" "SELECT count(*) FROM audit WHERE action='attest' AND outcome='ok' AND subject='h2'"; }
A0=$(attests)
check "h2 attested once" [ "$A0" = 1 ]

# (past the 5 s after h2's own attestation in which the old code refused
# an unknown kid without refetching anything: h2 attested, and fetched
# the JWKS, before it logged its token)
netns_sleep_until "$t_tok" 5.5
# the intruder's token with a header naming a kid no KBS publishes
KID=$(head -c 32 /dev/urandom | basenc --base64url | tr -d =)
HDR=$(printf '{"alg":"ES256","kid":"%s","typ":"JWT"}' "$KID" | basenc --base64url | tr -d '=\n')
cut -d. -f2- "$T/intr.tok" | sed "s/^/$HDR./" >"$T/unknown-kid.tok"
for i in 1 2 3; do
	netns_exec h1 python3 "$here/make_intruder.py" token "$(netns_addr h2)" 51821 $((40100 + i)) 1 h1 \
		"$T/intrtls.pem" "$T/intrtls.key" "$T/unknown-kid.tok" 0 >"$T/intr$i.out" 2>&1 || true
done
sed 's/^/   intruder: /' "$T/intr1.out"
check "h2 refused the unknown kid" wait_log h2 "names a key not in the JWKS"
check "h2 refetched the JWKS (GET /keys)" wait_log h2 "kbs: JWKS refetched"
check "  ... once for 3 presentations within 5 s (rate limit)" \
	[ "$(grep -c 'names a key not in the JWKS: refetching it' "$T/h2.log")" = 1 ]
check "no verdict accepted the intruder" bash -c "! grep -q 'verdict accept' '$T'/intr?.out"
sleep 1
A1=$(attests)
echo "info: attestations of h2 at the KBS: $A0 before, $A1 after 3 unknown-kid tokens"
check "the unknown kid cost no attestation at the KBS" [ "$A1" = "$A0" ]
check "  ... and no new token of h2's (h2 kept its token)" \
	[ "$(grep -c 'kbs: token renewed' "$T/h2.log")" = 0 ]
exit "$fails"
