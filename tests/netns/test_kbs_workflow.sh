#!/usr/bin/env bash
# KBS tokens bound to the workflow manifest (issue 13 item 1 follow-up,
# docs/kbs-api.md "Manifest import", docs/protocol.md §3.1):
# `sealnet kbs import-manifest` refuses an unsigned, a badly signed and an
# older manifest and imports a signed one (this domain's stages' reference
# values, node -> stage); a node the manifest does not give its enrolled
# stage gets no token; two nodes running the manifest MAKE with tokens
# alone (make_accept token); a token for another manifest digest is
# refused in MAKE.
#
#    h1 198.18.0.1  stage A (domain d1), make_accept token
#    h2 198.18.0.2  stage B (domain d1), make_accept token
#    h3 198.18.0.3  sealnet-kbs :8443 (domain d1), token lifetime 12 s
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
. "$here/wf.sh"
. "$here/kbs_pki.sh"
kbs_test_init 3
K=$(netns_addr h3)
SRV="$K:8443"

kbs_pki "$K"
for h in h1 h2 hx; do mk_self "${h}tls" "$h"; done
kbs_config "$T/kbs.json" "$SRV" d1 '"request_timeout": 30, "token_lifetime": 12'
kbs_start h3 "$T/kbs.json"
sk() { netns_exec h3 "$SEALNET" kbs --server "$SRV" --ca "$T/ca.pem" "$@"; }
admin() { sk --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
check "sealnet-kbs answers in h3" sk keys

# ---- the manifest: d1 runs A on h1 and B on h2, A -> B udp/7001 ----------
dp_sim_platform
wf_keys d1
for h in h1 h2; do
	wf_local $h "\"kbs\": { \"url\": \"https://$SRV\", \"ca\": \"$T/ca.pem\",
	  \"node_cert\": \"$T/${h}tls.pem\", \"node_key\": \"$T/${h}tls.key\",
	  \"make_accept\": \"token\" },"
done
doms=$(wf_domain d1)
nodes="$(wf_node h1 d1), $(wf_node h2 d1)"
stages="$(wf_stage A d1 h1 '{"local_ports":[7001]}'),
  $(wf_stage B d1 h2 '{"local_ports":[7001]}')"
flow=$(wf_flow A B udp 7001)
W=$T/wf
mkdir "$W"
wf_write "$W/v1.json" kbswf 1 "$doms" "$nodes" "$stages" "$flow"
wf_write "$W/v2.json" kbswf 2 "$doms" "$nodes" "$stages" "$flow"
wf_sign "$W/v1.json" d1
wf_sign "$W/v2.json" d1
D1=$("$SEALNET" workflow hash "$W/v1.json" | grep -oE '[0-9a-f]{96}')
D2=$("$SEALNET" workflow hash "$W/v2.json" | grep -oE '[0-9a-f]{96}')

# ---- import: refusals first -------------------------------------------------
refused() { # NAME CODE ARGS...: exit 1 and the KBS's code on stderr
	local n=$1 code=$2 rc=0
	shift 2
	admin import-manifest "$@" >"$T/$n.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q "refused (HTTP [0-9]*): $code" "$T/$n.out" ||
		{ cat "$T/$n.out" >&2; return 1; }
}
jq '.signatures = []' "$W/v1.sig.json" >"$W/nosig.json"
check "import: unsigned manifest refused (manifest-unsigned)" \
	refused unsigned manifest-unsigned "$W/v1.json" "$W/nosig.json"
sed 's/"port":7001/"port":7002/' "$W/v1.json" >"$W/flip.json"
check "import: a byte changed after signing refused (bad-signature)" \
	refused flip bad-signature "$W/flip.json" "$W/v1.sig.json"
no_sig_file() {
	local rc=0
	admin import-manifest "$W/flip.json" >"$T/nosigfile.out" 2>&1 || rc=$?
	[ "$rc" = 2 ] && grep -q "signature file $W/flip.sig.json" "$T/nosigfile.out"
}
check "import: no signature file: refused before asking (exit 2)" no_sig_file
check "the refusals are audited" \
	[ "$(admin audit | jq '[.[] | select(.action == "import-manifest" and .outcome != "ok")] | length')" = 2 ]
check "nothing imported by the refusals" [ "$(admin list | jq -r .manifest)" = null ]
check "import v1" admin import-manifest "$W/v1.json"
check "  recorded: its digest, 2 stages" \
	[ "$(admin list | jq -r '.manifest.digest + " " + (.manifest.stages|tostring)')" = "$D1 2" ]
check "  stage A's reference values come from the manifest" \
	[ "$(admin list | jq -r '[.references[] | tostring] | join(" ")' | grep -c A)" -ge 1 ]

check "admin: enrol h1 (stage A)" admin enrol h1 --stage A --node-cert "$T/h1tls.pem"
check "admin: enrol h2 (stage B)" admin enrol h2 --stage B --node-cert "$T/h2tls.pem"
check "admin: enrol hx (stage A, which the manifest does not give it)" \
	admin enrol hx --stage A --node-cert "$T/hxtls.pem"
hx_refused() {
	local rc=0
	sk --cert "$T/hxtls.pem" --key "$T/hxtls.key" attest --node hx \
		--platform "$T/platform" --rek "$T/hx.rek" >"$T/hx.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q not-in-manifest "$T/hx.out" || { cat "$T/hx.out" >&2; return 1; }
}
check "a node the manifest does not give its stage gets no token (not-in-manifest)" hx_refused

# ---- token-only MAKE between the two workflow nodes ---------------------------
wait_log() { # H TEXT [TENTHS] [FROM-LINE]
	for _ in $(seq "${3:-150}"); do
		tail -n "+${4:-1}" "$T/$1.log" | grep -q -- "$2" && return 0
		sleep 0.1
	done
	echo "  $1's log has no \"$2\"" >&2; return 1
}
wf_start h1 "$W/v1.json"
check "h1's token carries its manifest: MAKE accepts token" \
	wait_log h1 "tokens carry this node's manifest: MAKE accepts token"
wf_start h2 "$W/v1.json"
check "h2's token carries its manifest: MAKE accepts token" \
	wait_log h2 "tokens carry this node's manifest: MAKE accepts token"
check "h1-h2 in MAKE" dp_wait_peer h1 h2
check "h1 accepted h2 by its token alone" wait_log h1 "h2 (id 2): token accepted ("
# h1 again, now that h2 takes tokens alone too
n=$(($(wc -l <"$T/h2.log") + 1))
dp_stop h1
wf_start h1 "$W/v1.json"
check "h2 accepted h1 by its token alone (after h1's restart)" \
	wait_log h2 "h1 (id 1): token accepted (" 200 "$n"
check "h1-h2 in MAKE again" dp_wait_peer h2 h1

# ---- another manifest's token ---------------------------------------------------
check "import v2" admin import-manifest "$W/v2.json"
check "import v1 again: refused, older (manifest-older)" \
	refused older manifest-older "$W/v1.json"
check "the KBS keeps v2" [ "$(admin list | jq -r .manifest.digest)" = "$D2" ]
# h2 restarts (still on v1): its new token is for v2; h1 (on v1) refuses it
n1=$(($(wc -l <"$T/h1.log") + 1))
dp_stop h2
wf_start h2 "$W/v1.json"
check "h2's token is for another manifest: it falls back to token-and-evidence" \
	wait_log h2 "token is for another manifest: MAKE accepts token-and-evidence"
check "h1 refuses h2's token for another manifest (token-refused)" \
	wait_log h1 "h2's token is for manifest ${D2:0:16}..., this node runs ${D1:0:16}" 200 "$n1"
status_reason() {
	for _ in $(seq 50); do
		dp_peer h1 h2 reason | grep -qi token && return 0
		sleep 0.1
	done
	echo "  h1 on h2: $(dp_peer h1 h2 reason)"; return 1
}
check "  h1's status names the reason" status_reason
exit "$fails"
