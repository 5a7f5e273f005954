#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `sealnet workflow` end to end, no network: init, keygen, lint, hash,
# sign, verify, compile, graph, and the exit codes of docs/workflow.md
# (0 ok, 1 failure, 2 usage, 3 invalid, 4 unsigned, 5 bad signature).
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
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
differ() { ! cmp -s "$1" "$2"; }
pubhex() { sed -n 's/^"ed25519": "\([0-9a-f]*\)"$/\1/p' "$TMP/out"; }

expect 0 "init" $SN workflow init w0.json
expect 1 "init refuses to overwrite" $SN workflow init w0.json
expect 0 "keygen hospital" $SN workflow keygen hospital.key; HK=$(pubhex)
expect 0 "keygen lab" $SN workflow keygen lab.key; LK=$(pubhex)
expect 0 "keygen other" $SN workflow keygen other.key
expect 1 "keygen refuses to overwrite" $SN workflow keygen lab.key
check "private key is mode 600" [ "$(stat -c %a lab.key)" = 600 ]
check "public key hex" [ ${#HK} -eq 64 ] && [ ${#LK} -eq 64 ]
sed -e "s/1111111111111111111111111111111111111111111111111111111111111111/$HK/" \
    -e "s/2222222222222222222222222222222222222222222222222222222222222222/$LK/" \
    w0.json >w.json

expect 0 "lint" $SN workflow lint w.json
expect 0 "hash" $SN workflow hash w.json; H=$(cat "$TMP/out")
check "hash is 96 hex digits" [ ${#H} -eq 96 ]
# the same manifest re-serialised: keys sorted, 4-space indent
jq -S --indent 4 . w.json >w-resorted.json
check "re-serialised copy differs byte-wise" differ w.json w-resorted.json
expect 0 "hash of the copy" $SN workflow hash w-resorted.json
check "same digest for the copy" [ "$(cat "$TMP/out")" = "$H" ]
expect 0 "canonical form" $SN workflow hash --canonical w.json
check "canonical form hashes to the digest" [ "$( (printf 'sealnet-workflow-v1\0'; cat "$TMP/out") | sha384sum | cut -d' ' -f1)" = "$H" ]

expect 4 "verify: no signature file = unsigned" $SN workflow verify w.json
expect 4 "compile refuses an unsigned manifest" $SN workflow compile w.json --node h2
expect 0 "compile --unsigned (draft)" $SN workflow compile w.json --node h2 --unsigned
expect 0 "sign hospital" $SN workflow sign w.json --domain hospital --key hospital.key
check "signature file next to the manifest" [ -s w.sig.json ]
expect 4 "verify: lab missing" $SN workflow verify w.json
check "verify names the missing domain" grep -q "^lab  *missing" "$TMP/out"
expect 1 "sign with a key lab does not list" $SN workflow sign w.json --domain lab --key other.key
expect 1 "sign with hospital's key for lab" $SN workflow sign w.json --domain lab --key hospital.key
cp -p lab.key lab-open.key; chmod 640 lab-open.key
expect 1 "sign refuses a key readable by others" $SN workflow sign w.json --domain lab --key lab-open.key
check "and says chmod 600" grep -q "chmod 600" "$TMP/out"
expect 2 "sign without --key" $SN workflow sign w.json --domain lab
expect 0 "sign lab" $SN workflow sign w.json --domain lab --key lab.key
expect 0 "verify: all signed" $SN workflow verify w.json
check "verify lists both domains signed" [ "$(grep -c '^[a-z]*  *signed$' "$TMP/out")" -eq 2 ]
expect 0 "verify the re-serialised copy with the same signatures" \
	$SN workflow verify w-resorted.json --sig w.sig.json

expect 0 "compile h2" $SN workflow compile w.json --node h2
check "h2: 2 peers, 3 rules" [ "$(jq -r '[(.config.peers | length), (.config.rules | length)] | @csv' "$TMP/out")" = 2,3 ]
check "h2: workflow digest" [ "$(jq -r .workflow_digest "$TMP/out")" = "$H" ]
check "h2: a policy per peer" [ "$(jq -r '.appraisal_policies | keys | join(",")' "$TMP/out")" = "h1,l1" ]
echo '{"interface":"lo","make":{"sim_platform":"/var/lib/sealnet/platform"}}' >local.json
expect 0 "compile --out-dir" $SN workflow compile w.json --node h2 --local local.json --out-dir compiled
check "sealnetd.json written with the local interface" [ "$(jq -r .interface compiled/sealnetd.json)" = lo ]
check "appraisal policy set" [ "$(jq -r .make.appraisal_policy compiled/sealnetd.json)" = "$(pwd -P)/compiled/policy.json" ]
check "sealnetd accepts the compiled configuration" \
	"${SEALNET_BUILD}/daemon/sealnetd" --config compiled/sealnetd.json --check
check "per-peer policies written" [ -s compiled/policy-h1.json ] && [ -s compiled/policy-l1.json ]
echo '{"rules":[]}' >local-bad.json
expect 2 "local members may not override the manifest" $SN workflow compile w.json --node h2 --local local-bad.json
expect 2 "compile an unknown node" $SN workflow compile w.json --node nope

# tampering
sed 's/"port": 5001/"port": 5000/' w.json >w-flipped.json
check "flipped copy differs" differ w.json w-flipped.json
expect 0 "the flipped manifest is itself valid" $SN workflow lint w-flipped.json
expect 5 "verify: manifest changed after signing" $SN workflow verify w-flipped.json --sig w.sig.json
expect 5 "compile refuses it" $SN workflow compile w-flipped.json --node h2 --sig w.sig.json
cp w.json w-flipped2.json
expect 5 "sign refuses a signature file of another manifest" \
	$SN workflow sign w-flipped.json --domain lab --key lab.key --sig w.sig.json
jq '.signatures[0].ed25519 |= (if startswith("0") then "1" else "0" end) + .[1:]' w.sig.json >bad.sig.json
expect 5 "verify: a signature altered" $SN workflow verify w.json --sig bad.sig.json
jq '.signatures[1].key = .signatures[0].key' w.sig.json >swap.sig.json
expect 5 "verify: lab's entry names the hospital's key" $SN workflow verify w.json --sig swap.sig.json
jq '.extra = 1' w.sig.json >extra.sig.json
expect 5 "verify: unknown member in the signature file" $SN workflow verify w.json --sig extra.sig.json
echo 'not json' >junk.sig.json
expect 5 "verify: garbage signature file" $SN workflow verify w.json --sig junk.sig.json
jq 'del(.signatures[1])' w.sig.json >one.sig.json
expect 4 "verify: one domain's signature removed" $SN workflow verify w.json --sig one.sig.json

# invalid manifests
jq '.bogus = 1 | .flows[0].to = "nowhere"' w.json >w-bad.json
expect 3 "lint: invalid" $SN workflow lint w-bad.json
check "lint names both paths" grep -q '\$\.bogus: unknown member' "$TMP/out"
check "lint names the flow" grep -q "\$\.flows\[0\]\.to: no stage named 'nowhere'" "$TMP/out"
expect 3 "verify: invalid before signatures" $SN workflow verify w-bad.json --sig w.sig.json
expect 3 "hash: invalid" $SN workflow hash w-bad.json
expect 2 "lint: missing file" $SN workflow lint nonexistent.json

# graph
expect 0 "graph" $SN workflow graph w.json
check "graph has the flows" grep -q '"align" -> "train" \[label="tcp/5002-5003"\]' "$TMP/out"
check "graph has the domains" grep -q 'subgraph "cluster_hospital"' "$TMP/out"
if command -v dot >/dev/null; then
	expect 0 "graph --svg" $SN workflow graph w.json --svg g.svg
	check "svg written" grep -q "<svg" g.svg
else
	expect 1 "graph --svg without Graphviz says so" env PATH=/nonexistent $SN workflow graph w.json --svg g.svg
fi

# usage
expect 2 "no subcommand" $SN workflow
expect 2 "unknown subcommand" $SN workflow frobnicate
for s in init lint hash keygen sign verify compile graph; do
	expect 0 "$s --help" $SN workflow $s --help
	check "$s --help documents the exit codes" grep -q "3 invalid manifest, 4 unsigned" "$TMP/out"
done
expect 0 "workflow --help" $SN workflow --help

exit $fail
