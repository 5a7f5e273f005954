#!/usr/bin/env bash
# sealnet-kbs: certificates by reference in POST /attest (docs/kbs-api.md
# "Certificates by reference"), attacks first.  The KBS in h1, nodes in
# h2, two sim platforms (two chains, both roots trusted by stage A).
#
#    h1 198.18.0.1 (sealnet-kbs :8443) --- br0 --- h2 198.18.0.2
#
# A KBS that holds none of the referenced certificates answers 409
# certificates-unknown (audited); sn_kbs_attest (bench/kbs_load) then
# attests again with the table in full and gets its token, and from then
# on references resolve.  Malformed reference lists are 400 malformed
# (audited).  References never change a verdict: another chain's
# certificates under this chip's report, or certificates a new policy
# refuses, are refused as in full.  A restarted KBS holds nothing: 409,
# then the retry path works.  The string form of the evidence still works.
set -eu
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/kbs_pki.sh"
kbs_test_init 2 sqlite3
LOAD="$SN_BUILD/bench/kbs_load"
K=$(netns_addr h1)
SRV="$K:8443"

kbs_pki "$K"
for n in node1 node2; do mk_self $n $n; done
"$SEALNET" sim-tee init "$T/plat1" >"$T/plat1.txt"
"$SEALNET" sim-tee init "$T/plat2" >"$T/plat2.txt"
"$SEALNET" sim-tee init "$T/plat3" >"$T/plat3.txt" # a root nobody trusts
ark() { sed -n 's/.*sim_ark_spki_sha256"): \([0-9a-f]*\)$/\1/p' "$1"; }
ARK1=$(ark "$T/plat1.txt")
ARK2=$(ark "$T/plat2.txt")
M1=$(printf 'stage A image' | sha384sum | cut -c1-96)
pol() { # FILE ARK...
	local f=$1 a
	shift
	a=$(printf '"%s",' "$@")
	printf '{"backends":["sim"],"measurements":["%s"],"sim_ark_spki_sha256":[%s]}\n' "$M1" "${a%,}" >"$f"
}
pol "$T/both.json" "$ARK1" "$ARK2"
pol "$T/only2.json" "$ARK2"
kbs_config "$T/kbs.json" "$SRV" d1 '"max_challenges_per_node": 16'
kbs_start h1 "$T/kbs.json"

sk() { netns_exec h2 "$SEALNET" kbs --server "$SRV" --ca "$T/ca.pem" "$@"; }
admin() { sk --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
attest() { # NODE PLATFORM [ARGS...]: exit status; stderr in $T/err
	local n=$1 p=$2
	shift 2
	sk --cert "$T/$n.pem" --key "$T/$n.key" attest --node "$n" --platform "$T/$p" \
		--measurement "$M1" --rek "$T/$n.rek" "$@" >"$T/out" 2>"$T/err"
}
refused() { # CODE NODE PLATFORM [ARGS...]: refused (exit 1) with CODE
	local code=$1 rc
	shift
	attest "$@" && rc=0 || rc=$?
	[ "$rc" = 1 ] && grep -q -- "$code" "$T/err" || { cat "$T/err" >&2; return 1; }
}
load() { # NODE PLATFORM N
	netns_exec h2 "$LOAD" --server "$SRV" --ca "$T/ca.pem" --cert "$T/$1.pem" \
		--key "$T/$1.key" --node "$1" --platform "$T/$2" --measurement "$M1" -c 1 -n "$3"
}
# audit rows with this outcome
nrows() { sqlite3 "$T/kbs.db" "SELECT count(*) FROM audit WHERE action='attest' AND outcome='$1'"; }
# base64url SHA-256 of a PEM certificate's DER
ref() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='; }

check "admin: enrol node1 and node2 (stage A)" \
	admin enrol node1 --stage A --node-cert "$T/node1.pem"
check "  ..." admin enrol node2 --stage A --node-cert "$T/node2.pem"
check "admin: set-reference A (both platforms' roots)" admin set-reference A --policy "$T/both.json"

# ---- a KBS that holds nothing ------------------------------------------------
check "fresh KBS: certificates by reference -> 409 certificates-unknown" \
	refused certificates-unknown node1 plat1 --cert-refs auto
check "  ... the answer lists the 3 unknown references (nothing else)" \
	[ "$(grep -c 'reason certificate-unknown: ' "$T/err")" = 3 ]
check "  ... the VCEK's among them" grep -q -- "$(ref "$T/plat1/vcek.pem")" "$T/err"
check "  ... audited" [ "$(nrows certificates-unknown)" = 1 ]
check "sn_kbs_attest (kbs_load): 409, then in full: 3 tokens" load node1 plat1 3
check "  ... one more certificates-unknown, then references resolved" [ "$(nrows certificates-unknown)" = 2 ]
check "by reference now: a token" attest node1 plat1 --cert-refs auto
check "the string form (base64url of the evidence) still works" attest node1 plat1

# ---- malformed reference lists: 400, audited ---------------------------------
m0=$(nrows malformed)
short=$(printf 'x%.0s' $(seq 31) | base64 | tr '+/' '-_' | tr -d '=')
check "a reference of 31 bytes -> 400 malformed" refused malformed node1 plat1 --cert-refs "$short"
check "garbage -> 400 malformed" refused malformed node1 plat1 --cert-refs 'not*base64url'
r1=$(ref "$T/plat1/vcek.pem")
check "a duplicate reference -> 400 malformed" refused malformed node1 plat1 --cert-refs "$r1,$r1"
many=$(for i in $(seq 17); do printf '%s' "$i" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='; printf ,; done)
check "17 references -> 400 malformed" refused malformed node1 plat1 --cert-refs "${many%,}"
check "  ... each audited" [ "$(nrows malformed)" = "$((m0 + 4))" ]

# ---- references never change a verdict ---------------------------------------
check "a chain no policy trusts, in full -> 403 root-not-trusted" refused root-not-trusted node2 plat3
check "  ... its certificates were not taken: by reference -> 409 certificates-unknown" \
	refused certificates-unknown node2 plat3 --cert-refs auto
check "node2 attests with platform 2 (its chain now held)" load node2 plat2 2
refs2="$(ref "$T/plat2/vcek.pem"),$(ref "$T/plat2/ask.pem"),$(ref "$T/plat2/ark.pem")"
check "platform 1's report naming platform 2's (held, trusted) certificates -> 403 appraisal-failed" \
	refused appraisal-failed node1 plat1 --cert-refs "$refs2"
refs1="$(ref "$T/plat1/vcek.pem"),$(ref "$T/plat1/ask.pem"),$(ref "$T/plat1/ark.pem")"
check "platform 1's own references in the same order: a token" attest node1 plat1 --cert-refs "$refs1"
check "admin: set-reference A (platform 2's root only)" admin set-reference A --policy "$T/only2.json"
check "held certificates the new policy refuses, by reference -> 403 appraisal-failed" \
	refused appraisal-failed node1 plat1 --cert-refs auto
check "  ... root-not-trusted, as in full" grep -q root-not-trusted "$T/err"
check "  ... in full: the same" refused root-not-trusted node1 plat1
check "admin: set-reference A (both again)" admin set-reference A --policy "$T/both.json"

# ---- a restarted KBS holds nothing --------------------------------------------
kill -TERM "$KBS_PID"
wait "$KBS_PID" && rc=0 || rc=$?
check "SIGTERM: clean exit 0" [ "$rc" = 0 ]
kbs_start h1 "$T/kbs.json"
check "restarted: node2 by reference -> 409 certificates-unknown" \
	refused certificates-unknown node2 plat2 --cert-refs auto
check "restarted: sn_kbs_attest (kbs_load) retries in full: 2 tokens" load node2 plat2 2
check "  ... then by reference: a token" attest node2 plat2 --cert-refs auto
check "admin: revoke the measurement" admin revoke measurement "$M1"
check "by reference, a revoked measurement -> 403 measurement-revoked" \
	refused measurement-revoked node2 plat2 --cert-refs auto
check "audit verify" admin audit verify
kill -TERM "$KBS_PID"
wait "$KBS_PID" && rc=0 || rc=$?
check "SIGTERM: clean exit 0 (no leak reported)" [ "$rc" = 0 ]
check "no sanitizer or error report in its log" bash -c "! grep -qiE 'AddressSanitizer|runtime error|LeakSanitizer' '$T/kbs.log'"
exit "$fails"
