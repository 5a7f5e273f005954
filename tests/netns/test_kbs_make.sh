#!/usr/bin/env bash
# MAKE with KBS tokens (issue 13 item 4, docs/protocol.md §3.1,
# docs/sealnetd.md "KBS: tokens in MAKE"): nodes attest to their KBS at
# start and present the token in MAKE instead of raw evidence; a KBS-less
# node still makes with a node that accepts either; a node that requires a
# token refuses the KBS-less one; tokens are renewed before they expire; a
# revoked node's (still valid) token is no longer honoured; a replaced
# node certificate and key are used at the next renewal.
#
#    h1 198.18.0.1  kbs, make_accept token-or-evidence
#    h2 198.18.0.2  kbs, make_accept token
#    h3 198.18.0.3  no KBS (raw evidence, MAKE version 1)
#    h4 198.18.0.4  sealnet-kbs :8443, token lifetime 12 s
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
. "$here/kbs_pki.sh"
kbs_test_init 4
K=$(netns_addr h4)
SRV="$K:8443"

kbs_pki "$K"
for h in h1 h2; do mk_self "${h}tls" "$h"; done # the nodes' TLS key pairs: KBS attestation and MAKE
kbs_config "$T/kbs.json" "$SRV" d1 '"request_timeout": 30, "token_lifetime": 12'
kbs_start h4 "$T/kbs.json"
sk() { netns_exec h4 "$SEALNET" kbs --server "$SRV" --ca "$T/ca.pem" "$@"; }
admin() { sk --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
check "sealnet-kbs answers in h4" sk keys

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
kbs_member() { # H ACCEPT
	jq --arg url "https://$SRV" --arg ca "$T/ca.pem" --arg c "$T/${1}tls.pem" \
		--arg k "$T/${1}tls.key" --arg a "$2" \
		'. + {kbs: {url: $url, ca: $ca, node_cert: $c, node_key: $k, make_accept: $a}}' \
		"$T/$1.json" >"$T/$1.tmp"
	mv "$T/$1.tmp" "$T/$1.json"
}
for h in h1 h2 h3; do
	dp_make_config $h "$(echo h1 h2 h3 | tr ' ' '\n' | grep -v "^$h$" | tr '\n' ' ')" "$(rules $h)"
done
kbs_member h1 token-or-evidence
kbs_member h2 token
# h2 fetches its stage's secret with each token
jq '.kbs.resources = ["s/secret"]' "$T/h2.json" >"$T/h2.tmp" && mv "$T/h2.tmp" "$T/h2.json"
head -c 300 /dev/urandom >"$T/secret"
dp_policy h1 h2 h3
check "sealnetd --check accepts the kbs member" "$SEALNETD" --check --config "$T/h2.json"
check "admin: enrol h1" admin enrol h1 --stage S --node-cert "$T/h1tls.pem"
check "admin: enrol h2" admin enrol h2 --stage S --node-cert "$T/h2tls.pem"
check "admin: set-reference S" admin set-reference S --policy "$T/policy.json"
check "admin: put-resource s/secret (stage S)" admin put-resource s/secret --stage S --file "$T/secret"

wait_log() { # H TEXT [TENTHS]
	for _ in $(seq "${3:-150}"); do grep -q "$2" "$T/$1.log" && return 0; sleep 0.1; done
	echo "  $1's log has no \"$2\"" >&2; return 1
}
# h2 first, with its token before h1 dials it: h1 accepts a token or
# evidence, and h2 proves itself with evidence while it has no token yet
# (a loaded machine's slow attestation made that first MAKE one by
# evidence, and the check of h1 accepting h2's token failed)
dp_start h2
check "h2 got a token from the KBS" wait_log h2 "kbs: token received"
for h in h1 h3; do dp_start $h; done
check "h1 got a token from the KBS" wait_log h1 "kbs: token received"
check "h2 fetched its resource, opened with its key, mode 0600" \
	cmp "$T/secret" "$T/h2.state/resources/s%2Fsecret"
check "  (mode 0600)" [ "$(stat -c %a "$T/h2.state/resources/s%2Fsecret")" = 600 ]
check "h1-h2 in MAKE" dp_wait_peer h1 h2
check "h2 accepted h1 by its token (no evidence)" wait_log h2 "h1 (id 1): token accepted"
check "h1 accepted h2 by its token" wait_log h1 "h2 (id 2): token accepted"
check "h1-h3 in MAKE (raw evidence: h3 has no KBS)" dp_wait_peer h1 h3
check "h1 accepted h3's evidence" wait_log h1 "h3 (id 3): evidence accepted"
# (h2 dialled h3 before h3 listened: wait for a real attempt)
refuses_h3() {
	for _ in $(seq 150); do
		grep -q "accepts only a KBS token" <<<"$(dp_peer h2 h3 reason)" && return 0
		sleep 0.1
	done
	echo "  h2 on h3: $(dp_peer h2 h3 state): $(dp_peer h2 h3 reason)"
	return 1
}
check "h2 refuses h3's evidence: it accepts only a KBS token" refuses_h3
check "h2 and h3 have no keys" [ "$(dp_peer h2 h3 tx_epoch)" = 0 ]

# traffic between the token-mode pair
H2=$(netns_addr h2)
netns_exec h2 python3 "$here/udp_clock.py" recv "$H2" 7001 3 >"$T/h2.rx" &
SN_NS_BGPIDS+=($!)
netns_wait_listen h2 7001 udp
netns_exec h1 python3 "$here/udp_clock.py" send "$H2" 7001 20 2
sleep 1.2
check "h1 -> h2 datagrams arrive (sealed with token-MAKE keys)" \
	[ "$(awk '{ print $2 }' "$T/h2.rx")" -gt 50 ]

# renewal: lifetime 12 s, renewed after 8 s
check "h1 renews its token before it expires" wait_log h1 "kbs: token renewed" 150
check "h2 renews its token before it expires" wait_log h2 "kbs: token renewed" 50

# a hostile enrolled node (h5: its own valid token, bound to its own TLS
# key) connects to h2 from h1's address (an on-path attacker; modelled by
# a socket in h1 with sealnetd's control mark) with a HELLO that claims
# h1's node id under its own name: the token's sub matches the HELLO
# name, so only the HELLO name against the configured peer's name stops
# h5 from getting h1's keys
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/h5tls.key" -out "$T/h5tls.pem" -days 1 -subj "/CN=h5" 2>/dev/null
check "admin: enrol h5 (stage S)" admin enrol h5 --stage S --node-cert "$T/h5tls.pem"
M1=$("$SEALNETD" --print-measurement --config "$T/h1.json")
check "h5 gets its own token" sk --cert "$T/h5tls.pem" --key "$T/h5tls.key" attest \
	--node h5 --platform "$DP_DIR/platform" --measurement "$M1" --rek "$T/h5.rek" \
	--token "$T/h5.tok"
netns_exec h1 python3 "$here/make_intruder.py" token "$H2" 51821 40100 1 h5 \
	"$T/h5tls.pem" "$T/h5tls.key" "$T/h5.tok" 5e1a0001 >"$T/h5.out" 2>&1 || true
sed 's/^/   h5: /' "$T/h5.out"
check "h5 completed TLS with h2 as h1" grep -q "tls up" "$T/h5.out"
absent() { ! grep -q "$1" "$2"; }
check "h2 refuses h5's token under h1's node id (no accepting VERDICT)" \
	absent "verdict accept" "$T/h5.out"
check "h2 never accepted a token as h1 from h5" absent "h5 (id 1): token accepted" "$T/h2.log"
check "h2 derived no keys for h5 as h1" absent "keys ready" "$T/h5.out"

# a revoked node's valid token is no longer honoured
check "admin: revoke node h1" admin revoke node h1 --reason test
check "h2 cuts h1 off" dp_wait_peer h2 h1 revoked
# h1 dials h2 again with its still-valid token: refused at accept (node
# revoked) -- and a token check would refuse it too (kbs_token.c)
check "h2 refuses h1's new MAKE" wait_log h2 "peer h1: MAKE refused" 100
check "h1 cannot renew its token (node-revoked)" wait_log h1 "node-revoked" 150

# sealnetd keeps its KBS TLS context across helper runs and loads it again
# when a file changed: h2's certificate and key replaced by a key pair the
# KBS has not enrolled make its next renewal present the new key (refused:
# wrong-tls-key at POST /attest, or not-enrolled at GET /challenge where
# a challenge is issued to enrolled keys only); a context kept regardless
# would renew with the old one
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/h2new.key" -out "$T/h2new.pem" -days 1 -subj "/CN=h2" 2>/dev/null
mv "$T/h2new.key" "$T/h2tls.key"
mv "$T/h2new.pem" "$T/h2tls.pem"
check "h2's next renewal uses its replaced TLS key (refused: not enrolled)" \
	wait_log h2 "attestation failed: .*\(wrong-tls-key\|not-enrolled\)" 250
exit "$fails"
