#!/usr/bin/env bash
# sealnet-kbs and its peer domains (docs/federation.md "The KBS and its
# peers"): two key brokers, hospital (h1) and lab (h2), each with its own
# CA; the signed manifest lists both with kbs.url and
# kbs.trust_anchor_sha256.  Hospital's KBS fetches lab's bundle itself,
# refreshes it, refuses and audits every bad answer (rollback, forged,
# unlisted key, other workflow, expired, a certificate chain the manifest
# does not pin) keeping the last good bundle, serves the valid ones on GET
# /federation/bundles, re-publishes lab's revocations of lab's nodes and
# refuses lab's revocations of hospital's nodes and measurements, follows
# lab's token key rollover, honours a stale bundle until not_after and then
# calls it expired, and withdraws lab (all its nodes revoked).  Cloud's
# KBS, started without a manifest, follows the peers of the manifest an
# admin imports then (and stops following lab when a newer manifest drops
# lab's KBS), without a restart.  Lab is re-admitted (only with a bundle
# issued after its withdrawal; the withdrawal's revocations lifted, lab's
# own kept, one lift event each); a hostile lab KBS's lift of its own
# revocation is refused; then its KBS restarts on a fresh database:
# hospital notices the new event sequence and follows it from its start.
#
#    h1 198.18.0.1 hospital KBS :8443 --+
#    h2 198.18.0.2 lab KBS :8443 -------+-- br0
#    h3 198.18.0.3 admins (curl, sealnet kbs), cloud KBS :8443
set -eu
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/kbs_pki.sh"
kbs_test_init 3
A=$(netns_addr h1)
B=$(netns_addr h2)
C=$(netns_addr h3)

mk_ca adminca "kbs admin CA"
mk_leaf admin alice adminca "extendedKeyUsage=clientAuth"
for d in hca:hospital lca:lab otherca:other cca:cloud; do mk_ca "${d%%:*}" "${d#*:} CA"; done
mk_leaf csrv kbs-cloud cca "subjectAltName=IP:$C" "extendedKeyUsage=serverAuth"
mk_leaf hsrv kbs-hospital hca "subjectAltName=IP:$A" "extendedKeyUsage=serverAuth"
mk_leaf lsrv kbs-lab lca "subjectAltName=IP:$B" "extendedKeyUsage=serverAuth"
mk_leaf lbad kbs-lab otherca "subjectAltName=IP:$B" "extendedKeyUsage=serverAuth"
# each server sends its chain up to its trust anchor
cat "$T/hsrv.pem" "$T/hca.pem" >"$T/hchain.pem"
cat "$T/lsrv.pem" "$T/lca.pem" >"$T/lchain.pem"
cat "$T/lbad.pem" "$T/otherca.pem" >"$T/lbadchain.pem"
anchor() { openssl x509 -in "$T/$1.pem" -outform DER | sha256sum | cut -c1-64; }

# ---- the manifest: hospital (h1, h2 nodes: stages ingest, align), lab (l1, l2) --
pubhex() { sed -n 's/^"ed25519": "\([0-9a-f]*\)"$/\1/p' "$1"; }
"$SEALNET" workflow init "$T/w0.json" >/dev/null
"$SEALNET" workflow keygen "$T/hospital.key" >"$T/hk.txt"
"$SEALNET" workflow keygen "$T/lab.key" >"$T/lk.txt"
"$SEALNET" workflow keygen "$T/cloud.key" >"$T/ck.txt"
MH=$(printf '11%.0s' $(seq 48))
ML=$(printf '22%.0s' $(seq 48))
MS=$(printf '33%.0s' $(seq 48)) # listed by a stage of each domain
jq --arg hk "$(pubhex "$T/hk.txt")" --arg lk "$(pubhex "$T/lk.txt")" --arg ck "$(pubhex "$T/ck.txt")" \
	--arg ms "$MS" \
	--arg ha "$(anchor hca)" --arg la "$(anchor lca)" --arg A "$A" --arg B "$B" \
	--arg mh "$MH" --arg ml "$ML" '
	.domains[0].keys[0].ed25519 = $hk | .domains[1].keys[0].ed25519 = $lk |
	.domains[0].kbs = {url: "https://\($A):8443", trust_anchor_sha256: $ha} |
	.domains[1].kbs = {url: "https://\($B):8443", trust_anchor_sha256: $la} |
	.domains += [{id: "cloud", keys: [{id: "cloud-2026", ed25519: $ck}]}] |
	.stages |= map(.reference.measurements = [if .domain == "lab" then $ml else $mh end]) |
	.stages[1].reference.measurements += [$ms] | .stages[3].reference.measurements += [$ms]' \
	"$T/w0.json" >"$T/w.json"
# version 2: lab without its KBS (cloud's KBS then stops following it)
jq '.version = 2 | del(.domains[1].kbs)' "$T/w.json" >"$T/w2.json"
for d in hospital lab cloud; do
	"$SEALNET" workflow sign "$T/w.json" --domain $d --key "$T/$d.key" >/dev/null
	"$SEALNET" workflow sign "$T/w2.json" --domain $d --key "$T/$d.key" >/dev/null
done
check "the manifest verifies" "$SEALNET" workflow verify "$T/w.json"

kbs_conf() { # DIR DOMAIN ADDR CHAIN KEY
	mkdir -p "$T/$1"
	cp "$T/w.json" "$T/w.sig.json" "$T/$1/"
	cat >"$T/$1/kbs.json" <<JSON
{ "listen": "$3:8443", "domain": "$2",
  "tls_cert": "../$4.pem", "tls_key": "../$5.key", "admin_ca": "../adminca.pem",
  "database": "kbs.db", "token_key": "token.key", "token_key_next": "token-next.key",
  "manifest": "w.json", "bundle": "bundle.json", "trust_dir": "trust",
  "peer_refresh_max_s": 1, "request_timeout": 30 }
JSON
}
kbs_conf hosp hospital "$A" hchain hsrv
jq '. + {metrics_listen: "127.0.0.1:9478"}' "$T/hosp/kbs.json" >"$T/hosp/k.tmp" && mv "$T/hosp/k.tmp" "$T/hosp/kbs.json"
metric() { # STATE: hospital's metric of lab's bundle state is 1
	ip netns exec "$(netns_name h1)" curl -s http://127.0.0.1:9478/metrics |
		grep -q "^sealnet_kbs_peer_bundle_state{domain=\"lab\",state=\"$1\"} 1$"
}
kbs_conf lab lab "$B" lchain lsrv
declare -A PID
start() { # h1|h2 DIR
	ip netns exec "$(netns_name "$1")" "$KBS" --config "$T/$2/kbs.json" --verbose >>"$T/$2.log" 2>&1 &
	PID[$2]=$!
	SN_NS_BGPIDS+=($!)
}
stop() { # DIR: SIGTERM; fails unless the KBS exits 0 (ASan reports a leak
	# or error with another status)
	local rc=0
	kill -TERM "${PID[$1]}"
	wait "${PID[$1]}" || rc=$?
	[ "$rc" = 0 ] || { echo "  sealnet-kbs $1 exited $rc"; tail -5 "$T/$1.log"; }
	return "$rc"
}
ska() { netns_exec h3 "$SEALNET" kbs --server "$A:8443" --ca "$T/hca.pem" --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
skb() { netns_exec h3 "$SEALNET" kbs --server "$B:8443" --ca "$T/lca.pem" --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
skc() { netns_exec h3 "$SEALNET" kbs --server "$C:8443" --ca "$T/cca.pem" --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
q() { "$@" >/dev/null; }
not() { ! "$@"; }
says() { # PATTERN CMD...: CMD's output (stdout and stderr) matches
	local p=$1 out
	shift
	out=$("$@" 2>&1) || true
	grep -qE -- "$p" <<<"$out" || { echo "  output: ${out:0:300}"; return 1; }
}
lacks() { # PATTERN CMD...: CMD's output does not match
	local p=$1 out
	shift
	out=$("$@" 2>&1) || true
	! grep -qE -- "$p" <<<"$out" || { echo "  output: ${out:0:300}"; return 1; }
}
retry() { # CMD...: up to 5 s
	for _ in $(seq 50); do "$@" && return 0; sleep 0.1; done
	return 1
}
lab_state() { ska bundles --json | jq -r '.[] | select(.domain == "lab") | "\(.state) \(.sequence) \(.last_result)"'; }
wait_state() { # PATTERN [TRIES]: hospital's view of lab matches
	local s=""
	for _ in $(seq "${2:-100}"); do
		s=$(lab_state 2>/dev/null || true)
		[[ $s == $1 ]] && return 0
		sleep 0.1
	done
	echo "  lab's bundle at hospital: '$s', wanted '$1'"
	return 1
}
lex() { # SEQ VALID [ARGS...]: lab's bundle, served by lab's KBS
	local s=$1 v=$2
	shift 2
	"$SEALNET" federation export --manifest "$T/w.json" --domain lab --key "$T/lab.key" \
		--kbs-keys "$T/lab-jwks.json" --seq "$s" --valid "$v" -o "$T/lab/bundle.tmp" "$@" 2>/dev/null
	mv "$T/lab/bundle.tmp" "$T/lab/bundle.json"
}
forged() { # JQ-FILTER: lab's valid sequence 12, changed by the filter, served
	# in one rename (never the valid 12 in between: it would be fetched)
	"$SEALNET" federation export --manifest "$T/w.json" --domain lab --key "$T/lab.key" \
		--kbs-keys "$T/lab-jwks.json" --seq 12 --valid 3600 -o "$T/lab/valid.tmp" 2>/dev/null
	jq "$1" "$T/lab/valid.tmp" >"$T/lab/bundle.tmp" && mv "$T/lab/bundle.tmp" "$T/lab/bundle.json"
}
audited() { # ACTION OUTCOME
	ska audit --limit 10000 | jq -e --arg a "$1" --arg o "$2" 'any(.[]; .action == $a and .outcome == $o)' >/dev/null
}

start h2 lab
for _ in $(seq 100); do skb keys >/dev/null 2>&1 && break; sleep 0.1; done
skb keys >"$T/lab-jwks.json"
check "lab's GET /keys lists current and next (token_key_next)" [ "$(jq '.keys | length' "$T/lab-jwks.json")" = 2 ]
lex 10 3600
# a bundle of lab signed now, seen by an attacker, never served: after
# lab's withdrawal it is refused although its sequence is higher
"$SEALNET" federation export --manifest "$T/w.json" --domain lab --key "$T/lab.key" \
	--kbs-keys "$T/lab-jwks.json" --seq 30 --valid 3600 -o "$T/stolen.json" 2>/dev/null
start h1 hosp

# ---- fetch at start, refresh -------------------------------------------------
check "hospital fetched lab's bundle over pinned TLS (fresh, sequence 10)" wait_state "fresh 10 ok"
check "  metrics: fresh" metric fresh
check "  stored in hospital's database" q ska bundles
check "  audited (bundle-fetch ok)" audited bundle-fetch ok
check "sealnet kbs bundles: a table with lab fresh" says '^lab +fresh +10 ' ska bundles
curl_h() { netns_exec h3 curl -s --cacert "$T/hca.pem" "https://$A:8443$1"; }
curl_h /federation/bundles | jq -S -c '.bundles[0]' >"$T/served.json"
check "GET /federation/bundles (no client certificate): lab's signed bundle" \
	[ "$(cat "$T/served.json")" = "$(jq -S -c . "$T/lab/bundle.json")" ]
check "  which verifies against the manifest" "$SEALNET" federation verify "$T/served.json" --manifest "$T/w.json"
lex 11 3600
check "refresh: lab's sequence 11 is fetched" wait_state "fresh 11 ok"

# ---- refused answers: audited, the last good bundle kept --------------------------
refused() { # CODE: hospital refuses what lab serves now, keeps 11
	wait_state "stale 11 $1" 100 && audited bundle-fetch "$1"
}
lex 9 3600
check "lab serves sequence 9: rollback refused, 11 kept, stale" refused rollback
forged '.stages[0].reference.measurements = ["'"$MH"'"]'
check "a forged bundle: bad-signature" refused bad-signature
forged '.signature.key = "'"$(printf '0%.0s' $(seq 64))"'"'
check "signed by a key the manifest does not list: key-not-listed" refused key-not-listed
forged '.workflow = "other"'
check "another workflow's bundle: other-workflow" refused other-workflow
"$SEALNET" federation export --manifest "$T/w.json" --domain lab --key "$T/lab.key" \
	--kbs-keys "$T/lab-jwks.json" --seq 12 --valid 1 -o "$T/lab/valid.tmp" 2>/dev/null
sleep 1.2 # served once expired (never fetched while still valid)
mv "$T/lab/valid.tmp" "$T/lab/bundle.json"
check "an expired bundle: expired" refused expired
"$SEALNET" federation export --manifest "$T/w.json" --domain hospital --key "$T/hospital.key" \
	--kbs-keys "$T/lab-jwks.json" --seq 12 -o "$T/lab/bundle.json" 2>/dev/null
check "lab's KBS serving hospital's own bundle: own-domain" refused own-domain
"$SEALNET" federation export --manifest "$T/w.json" --domain cloud --key "$T/cloud.key" \
	--kbs-keys "$T/lab-jwks.json" --seq 12 -o "$T/lab/bundle.json" 2>/dev/null
check "lab's KBS serving domain cloud's (valid) bundle: other-domain" refused other-domain
check "the stored bundle is still 11" [ "$(ska bundles --json | jq '.[] | select(.domain == "lab") | .sequence')" = 11 ]
lex 13 3600
check "lab's sequence 13 accepted again" wait_state "fresh 13 ok"

# ---- a certificate chain the manifest does not pin ------------------------------------
check "lab's KBS stops cleanly" stop lab
jq '.tls_cert = "../lbadchain.pem" | .tls_key = "../lbad.key"' "$T/lab/kbs.json" >"$T/lab/k.tmp" && mv "$T/lab/k.tmp" "$T/lab/kbs.json"
start h2 lab
check "lab's KBS with another CA: tls-pin-mismatch, 13 kept" wait_state "stale 13 tls-pin-mismatch" 150
check "  audited" audited bundle-fetch tls-pin-mismatch
check "lab's KBS (other CA) stops cleanly" stop lab
jq '.tls_cert = "../lchain.pem" | .tls_key = "../lsrv.key"' "$T/lab/kbs.json" >"$T/lab/k.tmp" && mv "$T/lab/k.tmp" "$T/lab/kbs.json"
start h2 lab
check "lab's own chain again: fresh" wait_state "fresh 13 ok" 150

# ---- a KBS started without a manifest follows the peers of the one imported ---------
mkdir -p "$T/cloud"
cat >"$T/cloud/kbs.json" <<JSON
{ "listen": "$C:8443", "domain": "cloud", "workers": 2,
  "tls_cert": "../csrv.pem", "tls_key": "../csrv.key", "admin_ca": "../adminca.pem",
  "database": "kbs.db", "token_key": "token.key", "peer_refresh_max_s": 1, "request_timeout": 30 }
JSON
start h3 cloud
for _ in $(seq 100); do skc keys >/dev/null 2>&1 && break; sleep 0.1; done
check "cloud's KBS without a manifest follows no peer" says 'no manifest imported: no peer domain is followed' cat "$T/cloud.log"
check "  and holds no bundle" [ "$(skc bundles --json | jq length)" = 0 ]
cloud_lab() { skc bundles --json | jq -r '.[] | select(.domain == "lab") | "\(.state) \(.sequence) \(.last_result)"'; }
cloud_has() { [[ "$(cloud_lab 2>/dev/null)" == $1 ]]; }
evc() { netns_exec h3 curl -s --cacert "$T/cca.pem" "https://$C:8443/events?after=0&wait=0"; }
check "sealnet kbs import-manifest (cloud, 2 workers)" q skc import-manifest "$T/w.json"
check "  cloud fetches lab's bundle, no restart" retry cloud_has "fresh 13 ok"
check "  one follower per peer domain, not one per worker" \
	[ "$(grep -c 'federation: domain lab: fetching its bundle' "$T/cloud.log")" = 1 ]

# ---- revocations: lab's own nodes re-published, hospital's refused ------------------------
evh() { curl_h "/events?after=${1:-0}&wait=0"; }
t0=$(date +%s%N)
check "lab revokes its node l1" q skb revoke node l1 --reason "lab test"
rep() { for _ in $(seq 100); do evh | jq -e "$1" >/dev/null && return 0; sleep 0.05; done; return 1; }
check "hospital re-publishes it on GET /events with domain lab" \
	rep 'any(.events[]; .kind == "node" and .value == "l1" and .domain == "lab")'
echo "info: lab's revoke command -> on hospital's GET /events: $((($(date +%s%N) - t0) / 1000000)) ms"
check "  audited (peer-revoke ok)" audited peer-revoke ok
check "  cloud re-publishes it too" \
	retry says '"value":"l1","reason":"[^"]*","at":[0-9]+,"domain":"lab"' evc
check "cloud imports manifest version 2 (lab without a KBS)" q skc import-manifest "$T/w2.json"
check "  cloud no longer follows lab" \
	retry says "domain lab's KBS at https://$B:8443: no longer followed" cat "$T/cloud.log"
check "  still one follower of hospital" \
	[ "$(grep -c 'federation: domain hospital: fetching its bundle' "$T/cloud.log")" = 1 ]
check "lab (hostile) revokes hospital's node h1" q skb revoke node h1 --reason "hostile"
check "  refused and audited (foreign-node)" retry audited peer-revoke foreign-node
check "lab revokes a measurement of hospital's stages" q skb revoke measurement "$MH"
check "lab revokes a node the manifest does not name" q skb revoke node zz9
check "lab revokes its own stages' measurement" q skb revoke measurement "$ML"
check "  re-published" rep 'any(.events[]; .kind == "measurement" and .value == "'"$ML"'" and .domain == "lab")'
sleep 0.3
check "  but not by cloud, which no longer follows lab" lacks "$ML" evc
check "cloud's KBS stops cleanly (exit 0, no leak)" stop cloud
check "  foreign-measurement refused and audited" retry audited peer-revoke foreign-measurement
check "  unknown-node refused and audited" audited peer-revoke unknown-node
check "lab revokes a measurement a hospital stage lists too" q skb revoke measurement "$MS"
check "  refused and audited (shared-measurement)" retry audited peer-revoke shared-measurement
lab_audit_l1() { skb audit --limit 10000 | jq -e 'any(.[]; .action == "peer-revoke" and .subject == "node l1")' >/dev/null; }
check "lab ignores its own revocation re-published by hospital (second-hand)" not lab_audit_l1
check "hospital's GET /events has neither h1 nor hospital's measurement" \
	lacks '"value":"(h1|'"$MH"'|'"$MS"')"' evh
check "hospital's list has no revocation of h1" lacks '"value":"h1"' ska list

# ---- lab's token key rollover --------------------------------------------------------------
cur=$(jq -r '.keys[0].kid' "$T/lab-jwks.json")
nxt=$(jq -r '.keys[1].kid' "$T/lab-jwks.json")
check "lab's bundle lists current and next" [ "$(curl_h /federation/bundles | jq -r '.bundles[0].token_keys.next.kid')" = "$nxt" ]
# a node of lab (l2, stage merge in the manifest: the KBS refuses to
# attest a node the imported manifest does not give its stage) with a
# token signed by the key about to retire
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/n9.key" -out "$T/n9.pem" -days 1 -subj "/CN=n9" 2>/dev/null
"$SEALNET" sim-tee init "$T/plat" >"$T/plat.txt"
ARK=$(sed -n 's/.*sim_ark_spki_sha256"): \([0-9a-f]*\)$/\1/p' "$T/plat.txt")
M9=$(printf 'n9 image' | sha384sum | cut -c1-96)
printf '{"backends":["sim"],"measurements":["%s"],"sim_ark_spki_sha256":["%s"]}\n' "$M9" "$ARK" >"$T/policy.json"
echo "lab secret" >"$T/secret"
n9() { netns_exec h3 "$SEALNET" kbs --server "$B:8443" --ca "$T/lca.pem" --cert "$T/n9.pem" --key "$T/n9.key" "$@"; }
n9attest() { n9 attest --node l2 --platform "$T/plat" --measurement "$M9" --rek "$T/n9.rek" --token "$T/$1"; }
kid_of() { # TOKEN FILE: the kid of its JWS header
	local h
	h=$(cut -d. -f1 "$T/$1" | tr '_-' '/+')
	while [ $((${#h} % 4)) != 0 ]; do h="$h="; done
	base64 -d <<<"$h" | jq -r .kid
}
check "lab: enrol l2, reference, resource" q skb enrol l2 --stage merge --node-cert "$T/n9.pem"
q skb set-reference merge --policy "$T/policy.json"
q skb put-resource s/secret --stage merge --file "$T/secret"
check "l2 attests: a token signed by lab's current key" n9attest old.tok
check "  its kid is the current key" [ "$(kid_of old.tok)" = "$cur" ]
check "sealnet kbs rollover (lab)" q skb rollover
check "  GET /resource still accepts the token signed by the retiring key" \
	n9 fetch s/secret --token "$T/old.tok" --rek "$T/n9.rek" -o "$T/got1"
check "  and it opens" cmp -s "$T/got1" "$T/secret"
check "  a new token is signed by the new key" n9attest new.tok
check "  its kid is the former next key" [ "$(kid_of new.tok)" = "$nxt" ]
check "  and is accepted" n9 fetch s/secret --token "$T/new.tok" --rek "$T/n9.rek" -o "$T/got2"
skb keys >"$T/lab-jwks2.json"
check "  lab signs with the former next key, the former current still published" \
	[ "$(jq -r '[.keys[].kid] | join(" ")' "$T/lab-jwks2.json")" = "$nxt $cur" ]
check "  audited" says '"action":"rollover","subject":"'"$nxt"'"' skb audit
check "  rollover again without a next key: refused (no-next-key)" says no-next-key skb rollover
cp "$T/lab-jwks2.json" "$T/lab-jwks.json"
lex 14 3600
check "the new bundle (sequence 14: current = new key, old key listed) is fetched" wait_state "fresh 14 ok"
check "  hospital serves it with both keys" \
	[ "$(curl_h /federation/bundles | jq -r '.bundles[0].token_keys | "\(.current.kid) \(.next.kid)"')" = "$nxt $cur" ]

# ---- stale until not_after, then expired ------------------------------------------------------
lex 15 6
check "a bundle valid 6 s (sequence 15) is fetched" wait_state "fresh 15 ok"
check "lab's KBS stops cleanly" stop lab
check "lab's KBS stops: stale (unreachable), still served" wait_state "stale 15 unreachable" 50
check "  GET /federation/bundles still has it" [ "$(curl_h /federation/bundles | jq '.bundles | length')" = 1 ]
check "  metrics: stale" metric stale
check "  audited once (unreachable)" audited bundle-fetch unreachable
na=$(ska bundles --json | jq '.[] | select(.domain == "lab") | .not_after')
while [ "$(date +%s)" -lt "$na" ]; do sleep 0.2; done
check "after not_after: expired" wait_state "expired 15 *" 30
check "  GET /federation/bundles: none" [ "$(curl_h /federation/bundles | jq '.bundles | length')" = 0 ]
check "  metrics: expired" metric expired
check "  audited (bundle-expired)" retry audited bundle-expired expired
check "  sealnet kbs bundles says expired" says '^lab +expired +15 ' ska bundles

# ---- withdrawal by an admin -------------------------------------------------------------------
check "sealnet kbs withdraw lab" q ska withdraw lab --reason "contract ended"
check "  every lab node revoked on hospital's GET /events" \
	rep '[.events[] | select(.kind == "node" and .domain == "lab") | .value] | contains(["l1", "l2"])'
check "  state withdrawn" wait_state "withdrawn 15 *" 10
check "  withdraw again: refused (already-withdrawn)" says already-withdrawn ska withdraw lab
lex 16 3600
check "  import-bundle of lab afterwards: refused (withdrawn)" says 'refused.*withdrawn' ska import-bundle "$T/lab/bundle.json"
check "withdraw of a domain the manifest does not name: refused" says not-a-peer ska withdraw nowhere

# ---- re-admission ------------------------------------------------------------------------------
labnodes() { evh | jq -c '[.events[] | select(.kind == "node" and .domain == "lab" and .op == "revoke") | .value]'; }
# the lift events of lab's nodes: "VALUE lifts SEQ-OF-THE-REVOCATION-LIFTED" each
labnode_seqs() { evh | jq -c '[.events[] | select(.kind == "node" and .domain == "lab" and .op == "revoke") | .seq]'; }
lablifts() { evh | jq -c '[.events[] | select(.domain == "lab" and .op == "lift") | "\(.value) lifts \(.lifts)"]'; }
check "before: l1 (lab's own), l1 and l2 (withdrawal)" [ "$(labnodes)" = '["l1","l1","l2"]' ]
read -r _ w1 w2 < <(labnode_seqs | jq -r 'map(tostring) | join(" ")')
check "readmit a domain that never withdrew: refused (not-withdrawn)" says not-withdrawn ska readmit cloud
check "sealnet kbs readmit lab" q ska readmit lab --reason "new contract"
check "  audited (readmit ok)" audited readmit ok
check "  a bundle signed before the withdrawal (higher sequence): refused" \
	says 'issued-before-withdrawal' ska import-bundle "$T/stolen.json"
check "  the withdrawal's revocations stay until a new bundle" [ "$(labnodes)" = '["l1","l1","l2"]' ]
start h2 lab
check "lab's KBS serves sequence 16 (signed after the withdrawal): fetched, no restart" \
	wait_state "fresh 16 ok" 150
check "  the withdrawal's revocations are lifted, lab's own revocation of l1 kept" \
	retry eval '[ "$(labnodes)" = "[\"l1\"]" ]'
check "  GET /events: one lift event each, naming the withdrawal's revocations ($w1, $w2), after them" \
	[ "$(lablifts)" = "[\"l1 lifts $w1\",\"l2 lifts $w2\"]" ]
check "  the lift events come after the revocations they lift" \
	eval 'evh | jq -e "[.events[] | select(.op == \"lift\") | .seq > .lifts] | all and length == 2" >/dev/null'
check "sealnet kbs list: revocations carry their domain" \
	eval 'ska list | jq -e "any(.revocations[]; .value == \"l1\" and .domain == \"lab\")" >/dev/null'

# ---- a hostile lab KBS lifts its own revocation of l1: not followed ---------------------------
# (no KBS emits a peer-visible lift of its own revocation; a compromised
# one could: kbs_forged_events.py serves it with lab's certificate and key)
LE=$(skb events --wait 0 | jq -r .epoch)
LH=$(skb events --wait 0 | jq -r .head)
L1=$(skb events --wait 0 | jq -r '[.events[] | select(.op == "revoke" and .value == "l1")][0].seq')
check "lab's KBS stops cleanly" stop lab
ip netns exec "$(netns_name h2)" python3 "$here/kbs_forged_events.py" "$B" 8443 "$T/lchain.pem" "$T/lsrv.key" "$LE" \
	"[{\"seq\":$((LH + 1)),\"op\":\"lift\",\"lifts\":$L1,\"kind\":\"node\",\"value\":\"l1\",\"reason\":\"forged\",\"at\":0}]" \
	>>"$T/forged.log" 2>&1 &
FPID=$!
SN_NS_BGPIDS+=($!)
check "hospital refuses lab's lift of its own revocation of l1 (audited peer-lift not-followed)" \
	retry audited peer-lift not-followed
check "  l1 stays revoked at hospital" [ "$(labnodes)" = '["l1"]' ]
check "  nothing re-published (the lifts are still the re-admission's two)" [ "$(lablifts | jq length)" = 2 ]
kill "$FPID"
wait "$FPID" || true

# ---- lab's KBS on a fresh database: its event numbers start again ----------------------------
rm -f "$T/lab/kbs.db" "$T/lab/kbs.db-wal" "$T/lab/kbs.db-shm"
start h2 lab
for _ in $(seq 100); do skb keys >/dev/null 2>&1 && break; sleep 0.1; done
check "lab (fresh database) revokes l1 again and l2: its events 1 and 2" \
	eval 'skb revoke node l1 --reason again >/dev/null && skb revoke node l2 --reason "after the reset" | jq -e ".seq == 2" >/dev/null'
check "hospital notices the new sequence and re-publishes l2" \
	rep 'any(.events[]; .op == "revoke" and .kind == "node" and .value == "l2" and .domain == "lab")'
check "  audited (peer-events-reset)" audited peer-events-reset reset
check "  l1, revoked by lab before, is not recorded twice" [ "$(labnodes)" = '["l1","l2"]' ]
check "audit verify" q ska audit verify

check "hospital's KBS stops cleanly (exit 0, no leak)" stop hosp
[ "$fails" = 0 ] || { echo "--- hosp.log"; tail -30 "$T/hosp.log"; echo "--- lab.log"; tail -10 "$T/lab.log"; }
exit "$fails"
