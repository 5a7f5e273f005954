#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `sealnet evidence verify` exit codes: 0 accept, 1 reject, 2 bad input.
set -u
SN=${SEALNET_BIN:-${SEALNET_BUILD:?}/cli/sealnet}
T=${SEALNET_TESTDATA:?}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
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

expect 0 "milan report accepted" $SN evidence verify "$T/snp/milan-report.hex" \
	--cert "$T/snp/milan-vcek.der" --cert "$T/snp/milan-ask-ark.pem"
expect 0 "certs in any order" $SN evidence verify "$T/snp/milan-report.hex" \
	--cert "$T/snp/milan-ask-ark.pem" --cert "$T/snp/milan-vcek.der"
expect 1 "invalid vcek rejected" $SN evidence verify "$T/snp/milan-report.hex" \
	--cert "$T/snp/invalid-vcek-new.der" --cert "$T/snp/milan-ask-ark.pem"
expect 0 "vlek as of 2025-06-01" $SN evidence verify "$T/snp/milan-vlek-report.bin" \
	--cert "$T/snp/milan-vlek.der" --cert "$T/roots/amd/ask_ark_milan_vlek.pem" \
	--at 2025-06-01T00:00:00Z
expect 1 "vlek expired in 2026" $SN evidence verify "$T/snp/milan-vlek-report.bin" \
	--cert "$T/snp/milan-vlek.der" --cert "$T/roots/amd/ask_ark_milan_vlek.pem" \
	--at 2026-01-01
cat >"$TMP/nodebug.json" <<'EOF'
{"backends": ["snp"], "allow_any_measurement": true, "allow_debug": false,
 "min_tcb": {"bootloader": 0, "tee": 0, "snp": 0, "microcode": 0}}
EOF
expect 1 "debug report rejected by policy" $SN evidence verify \
	"$T/snp/milan-debug-report.bin" --cert "$T/snp/milan-debug-vcek.der" \
	--cert "$T/roots/amd/ask_ark_milan.pem" --policy "$TMP/nodebug.json"
grep -q 'reason: debug' "$TMP/out" || { echo "FAIL: debug reason not printed"; fail=1; }
# deny by default (issue 9 item 8): a policy that names nothing is refused
echo '{}' >"$TMP/empty.json"
expect 2 "empty policy refused at load" $SN evidence verify "$T/snp/milan-report.hex" \
	--cert "$T/snp/milan-vcek.der" --cert "$T/snp/milan-ask-ark.pem" --policy "$TMP/empty.json"
grep -q '"backends" is required' "$TMP/out" || { echo "FAIL: empty policy error not explained"; fail=1; }
echo '{"backends": ["snp"], "measurements": ["'"$(printf '%096d' 0)"'"]}' >"$TMP/nofloor.json"
expect 2 "policy without TCB floor refused" $SN evidence verify "$T/snp/milan-report.hex" \
	--policy "$TMP/nofloor.json"
grep -q 'no complete TCB floor' "$TMP/out" || { echo "FAIL: TCB floor error not explained"; fail=1; }
expect 0 "genoa configfs-tsm json" $SN evidence verify "$T/snp/genoa-configfs-tsm-report.json"
expect 0 "tdx quote" $SN evidence verify "$T/tdx/spr-e4-quote-v4.dat"
# TDX with Intel PCS collateral (issue 9 item 9)
C="$TMP/coll"; mkdir "$C"
ln -s "$T/tdx/sample_tcbInfo_response" "$C/tcb_info.json"
ln -s "$T/tdx/sample_qeIdentity_response" "$C/qe_identity.json"
ln -s "$(cd "$(dirname "$0")" && pwd)/data/tdx-issuer-chain.pem" "$C/issuer_chain.pem"
ln -s "$T/tdx/pckcrl" "$C/pck_crl.der"
ln -s "$T/tdx/rootcrl.der" "$C/root_crl.der"
Q="$T/tdx/spr-e4-quote-v4.dat"
expect 0 "tdx collateral verifies" $SN evidence verify "$Q" --tdx-collateral "$C" --at 2023-06-20
grep -q 'platform NoMatchingTcbLevel.*QE UpToDate' "$TMP/out" || { echo "FAIL: tdx tcb status not printed"; fail=1; }
expect 1 "tdx collateral expired" $SN evidence verify "$Q" --tdx-collateral "$C" --at 2023-08-01
grep -q 'reason: collateral-expired' "$TMP/out" || { echo "FAIL: collateral-expired not printed"; fail=1; }
expect 2 "tdx collateral dir missing" $SN evidence verify "$Q" --tdx-collateral "$TMP/nope"
$SN evidence show "$Q" >"$TMP/show"
reg() { sed -n "s/^$1 \+//p" "$TMP/show"; }
cat >"$TMP/tdx.json" <<EOF
{"backends": ["tdx"], "measurements": ["$(sed -n 's/^measurement: *//p' "$TMP/show")"],
 "tdx": {"min_tee_tcb_svn": "$(reg tee_tcb_svn:)", "rtmr0": "$(reg rtmr0)",
  "rtmr1": "$(reg rtmr1)", "rtmr2": "$(reg rtmr2)", "rtmr3": "$(reg rtmr3)",
  "mrconfigid": "$(reg mrconfigid)", "mrowner": "$(reg mrowner)",
  "mrownerconfig": "$(reg mrownerconfig)", "collateral": "coll"}}
EOF
expect 1 "tdx policy: TCB level not supported" $SN evidence verify "$Q" --policy "$TMP/tdx.json" --at 2023-06-20
grep -q 'reason: tcb-status: .*platform TCB status NoMatchingTcbLevel' "$TMP/out" || { echo "FAIL: tcb-status not printed"; fail=1; }
grep -c 'reason:' "$TMP/out" | grep -qx 1 || { echo "FAIL: more reasons than tcb-status"; cat "$TMP/out"; fail=1; }
sed 's/"rtmr1": "[0-9a-f]*"/"rtmr1": "'"$(printf '%096d' 0)"'"/' "$TMP/tdx.json" >"$TMP/tdx-rtmr.json"
expect 1 "tdx policy: rtmr1 mismatch" $SN evidence verify "$Q" --policy "$TMP/tdx-rtmr.json" --at 2023-06-20
grep -q 'reason: rtmr-mismatch' "$TMP/out" || { echo "FAIL: rtmr-mismatch not printed"; fail=1; }
sed 's/, "collateral": "coll"//' "$TMP/tdx.json" >"$TMP/tdx-nocoll.json"
expect 1 "tdx policy without collateral" $SN evidence verify "$Q" \
	--policy "$TMP/tdx-nocoll.json" --at 2023-06-20
grep -q 'reason: collateral-missing' "$TMP/out" || { echo "FAIL: collateral-missing not printed"; fail=1; }
expect 1 "tdx policy, collateral from --tdx-collateral" $SN evidence verify "$Q" \
	--policy "$TMP/tdx-nocoll.json" --at 2023-06-20 --tdx-collateral "$C"
grep -q 'reason: tcb-status' "$TMP/out" || { echo "FAIL: tcb-status not printed"; fail=1; }
echo '{"backends": ["tdx"], "measurements": ["'"$(printf '%096d' 0)"'"]}' >"$TMP/tdx-mrtd.json"
expect 2 "tdx policy with only MRTD refused" $SN evidence verify "$Q" --policy "$TMP/tdx-mrtd.json"
expect 2 "garbage input" $SN evidence verify /etc/hostname
expect 2 "missing file" $SN evidence verify "$TMP/nope"
expect 2 "bad --at" $SN evidence verify "$T/tdx/spr-e4-quote-v4.dat" --at yesterday
expect 2 "no file" $SN evidence verify
expect 0 "--help" $SN evidence verify --help
expect 0 "show --json" $SN evidence show --json "$T/tdx/spr-e4-quote-v4.dat"

expect 0 "sim-tee init" $SN sim-tee init "$TMP/plat"
printf 'x' >"$TMP/m"
expect 0 "evidence make sim" $SN evidence make --backend sim --platform "$TMP/plat" \
	--report-data 00ff --measure "$TMP/m" -o "$TMP/ev.json"
expect 1 "sim not trusted without policy" $SN evidence verify "$TMP/ev.json"
printf '{"backends":["sim"],"sim_ark_spki_sha256":["%s"],"allow_any_measurement":true}\n' \
	"$(openssl x509 -in "$TMP/plat/ark.pem" -pubkey -noout |
	   openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)" >"$TMP/sim.json"
expect 0 "sim accepted by naming policy" $SN evidence verify "$TMP/ev.json" --policy "$TMP/sim.json"
expect 1 "make snp without configfs-tsm" $SN evidence make --backend snp \
	--tsm-root "$TMP/none" -o "$TMP/x.json"
exit $fail
