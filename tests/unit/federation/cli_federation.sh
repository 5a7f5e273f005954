#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `sealnet federation` end to end, no network: export, show, verify,
# import into a trust directory, and the exit code of every refusal
# (docs/federation.md, "Command line").
set -u
SN=${SEALNET_BIN:-${SEALNET_BUILD:?}/cli/sealnet}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
fail=0

expect() { # expected-rc description command...
	want=$1; what=$2; shift 2
	"$@" >"$TMP/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $what: exit $rc, expected $want"; sed 's/^/  /' "$TMP/out"
		fail=1
	else
		echo "ok: $what"
	fi
}
check() { # description command...: the command must succeed
	what=$1; shift
	if "$@" >/dev/null; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
pubhex() { sed -n 's/^"ed25519": "\([0-9a-f]*\)"$/\1/p' "$TMP/out"; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# a KBS token key as a JWK (P-256, kid = RFC 7638 thumbprint)
jwk() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$1.pem" 2>/dev/null
	openssl ec -in "$1.pem" -pubout -outform DER 2>/dev/null | tail -c 64 >"$1.xy"
	x=$(head -c 32 "$1.xy" | b64url); y=$(tail -c 32 "$1.xy" | b64url)
	kid=$(printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" |
		openssl dgst -sha256 -binary | b64url)
	printf '{"kty":"EC","crv":"P-256","x":"%s","y":"%s","kid":"%s","alg":"ES256","use":"sig"}' \
		"$x" "$y" "$kid"
}
sign_all() { # manifest [hospital-domain-name]
	rm -f "${1%.json}.sig.json"
	$SN workflow sign "$1" --domain "${2:-hospital}" --key hospital.key >/dev/null &&
	$SN workflow sign "$1" --domain lab --key lab.key >/dev/null
}

$SN workflow init w0.json >/dev/null
$SN workflow keygen hospital.key >"$TMP/out"; HK=$(pubhex)
$SN workflow keygen lab.key >"$TMP/out"; LK=$(pubhex)
$SN workflow keygen other.key >"$TMP/out"; OK=$(pubhex)
sed -e "s/1111111111111111111111111111111111111111111111111111111111111111/$HK/" \
    -e "s/2222222222222222222222222222222222222222222222222222222222222222/$LK/" \
    w0.json >w.json
cp w.json unsigned.json
check "manifest signed by both domains" sign_all w.json
printf '{"keys":[%s,%s]}' "$(jwk k1)" "$(jwk k2)" >jwks.json
printf '{"keys":[%s]}' "$(jwk k3)" >jwks1.json
NOW=$(date +%s)

expect 0 "--help" $SN federation --help
expect 0 "export --help" $SN federation export --help
expect 2 "unknown subcommand" $SN federation nosuch
expect 2 "export without --key" $SN federation export --manifest w.json --domain hospital --kbs-keys jwks.json
E="$SN federation export --manifest w.json --kbs-keys jwks.json"
expect 0 "export hospital, sequence 5" $E --domain hospital --key hospital.key --seq 5 -o b5.json
expect 0 "export a one-key bundle to stdout" $E --kbs-keys jwks1.json --domain hospital --key hospital.key --seq 3
check "stdout is the bundle" jq -e '.sequence == 3 and (.token_keys | has("next") | not)' "$TMP/out"
check "b5: current and next keys, hospital's two stages" \
	jq -e '.domain == "hospital" and .sequence == 5 and (.token_keys | has("next"))
		and ([.stages[].stage] == ["ingest", "align"])' b5.json
expect 1 "export with a key hospital does not list" $E --domain hospital --key other.key --seq 5
expect 1 "export with lab's key for hospital" $E --domain hospital --key lab.key --seq 5
expect 2 "export for a domain not in the manifest" $E --domain nosuch --key hospital.key
echo '{"keys":[]}' >nokeys.json
expect 2 "export with an empty JWKS" $SN federation export --manifest w.json --kbs-keys nokeys.json --domain hospital --key hospital.key
expect 4 "export from an unsigned manifest" $SN federation export --manifest unsigned.json --kbs-keys jwks.json --domain hospital --key hospital.key
expect 2 "export --valid 0" $E --domain hospital --key hospital.key --valid 0

expect 0 "show" $SN federation show b5.json
check "show: domain, sequence, not verified" sh -c "grep -q '^domain  *hospital' '$TMP/out' && grep -q '^sequence  *5' '$TMP/out' && grep -q 'not verified' '$TMP/out'"
expect 0 "verify" $SN federation verify b5.json --manifest w.json
jq -S --indent 4 . b5.json >b5-resorted.json
expect 0 "verify a re-serialised copy (canonical form)" $SN federation verify b5-resorted.json --manifest w.json

# the trust directory: import, idempotent, rollback refused
expect 0 "import sequence 5" $SN federation import b5.json --manifest w.json --trust-dir td
check "kept as td/hospital.json" cmp -s b5.json td/hospital.json
expect 0 "import the same bundle again" $SN federation import b5.json --manifest w.json --trust-dir td
expect 0 "export sequence 4" $E --domain hospital --key hospital.key --seq 4 -o b4.json
expect 0 "sequence 4 verifies alone" $SN federation verify b4.json --manifest w.json
expect 17 "import sequence 4 after 5: rollback" $SN federation import b4.json --manifest w.json --trust-dir td
check "says rollback" grep -q "REFUSED (rollback)" "$TMP/out"
check "trust dir unchanged" cmp -s b5.json td/hospital.json
expect 17 "verify against the trust dir: rollback" $SN federation verify b4.json --manifest w.json --trust-dir td
expect 0 "export another sequence 5 (other validity)" $E --domain hospital --key hospital.key --seq 5 --valid 500 -o b5b.json
expect 17 "same sequence, other content: rollback" $SN federation import b5b.json --manifest w.json --trust-dir td

# freshness
expect 0 "export sequence 6, valid 100 s" $E --domain hospital --key hospital.key --seq 6 --valid 100 -o b6.json
expect 16 "expired" $SN federation verify b6.json --manifest w.json --now $((NOW + 1000))
check "says expired" grep -q "REFUSED (expired)" "$TMP/out"
expect 15 "not yet valid" $SN federation verify b6.json --manifest w.json --now $((NOW - 1000))
expect 16 "import refuses an expired bundle" $SN federation import b6.json --manifest w.json --trust-dir td --now $((NOW + 1000))
check "trust dir unchanged" cmp -s b5.json td/hospital.json
expect 0 "import sequence 6" $SN federation import b6.json --manifest w.json --trust-dir td
check "td/hospital.json is sequence 6" cmp -s b6.json td/hospital.json

# wrongly signed
jq '.sequence = 7' b6.json >b7-forged.json
expect 13 "a changed sequence: bad signature" $SN federation verify b7-forged.json --manifest w.json
check "says bad-signature" grep -q "REFUSED (bad-signature)" "$TMP/out"
expect 13 "import refuses it" $SN federation import b7-forged.json --manifest w.json --trust-dir td
# a manifest where hospital also lists "other": a bundle signed with it
jq --arg k "$OK" '.domains[0].keys += [{"id": "other-key", "ed25519": $k}]' w.json >w2.json
check "w2 signed" sign_all w2.json
expect 0 "export signed with other (listed in w2)" $SN federation export --manifest w2.json --kbs-keys jwks.json --domain hospital --key other.key -o bo.json
expect 0 "verifies against w2" $SN federation verify bo.json --manifest w2.json
expect 12 "key not listed for hospital in w" $SN federation verify bo.json --manifest w.json
# the domain renamed: hospital's bundle is from a domain not listed
sed 's/"hospital"/"clinic"/g' w.json >w3.json
check "w3 signed" sign_all w3.json clinic
expect 10 "domain not in the manifest" $SN federation verify b5.json --manifest w3.json
jq '.name = "other-wf"' w.json >w4.json
check "w4 signed" sign_all w4.json
expect 11 "issued for another workflow" $SN federation verify b5.json --manifest w4.json
# invalid bundles, manifests
jq '.extra = 1' b5.json >bx.json
expect 3 "unknown member: invalid" $SN federation verify bx.json --manifest w.json
check "names the member" grep -q '\$.extra: unknown member' "$TMP/out"
expect 3 "show refuses it too" $SN federation show bx.json
expect 2 "unreadable bundle" $SN federation verify nosuch.json --manifest w.json
expect 4 "verify against an unsigned manifest" $SN federation verify b5.json --manifest unsigned.json
echo garbage >td/lab.json
$E --domain lab --key lab.key -o bl.json >/dev/null 2>&1
expect 3 "a corrupt trust dir entry" $SN federation import bl.json --manifest w.json --trust-dir td
exit $fail
