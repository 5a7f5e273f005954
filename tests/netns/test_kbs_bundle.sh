#!/usr/bin/env bash
# sealnet-kbs and trust bundles (docs/federation.md): the KBS of domain
# hospital (h1) serves its own bundle at GET /bundle and imports domain
# lab's bundles through POST /admin/bundle (admin certificate), checked
# against the signed manifest and the last accepted one; every refusal
# (rollback, bad signature, expired, invalid, own domain, unlisted
# domain, no admin certificate) is answered with its code and audited.
#
#    h1 198.18.0.1 (sealnet-kbs :8443) --- br0 --- h2 198.18.0.2 (clients)
set -eu
here=$(dirname "$0")
. "$here/lib.sh"
SN_BUILD=${SEALNET_BUILD:-$(cd "$here/../.." && pwd)/build/test}
SEALNET="$SN_BUILD/cli/sealnet"
KBS="$SN_BUILD/kbs/sealnet-kbs"
T=$(mktemp -d /tmp/sealnet-kbsb.XXXXXX)
for c in openssl curl jq; do
	command -v $c >/dev/null || netns_fail "needs $c (scripts/setup installs it)"
done
netns_init
trap 'rc=$?; netns_cleanup; rm -rf "$T"; netns_trap $rc' EXIT
netns_topology 2
K=$(netns_addr h1)
SRV="$K:8443"

. "$here/kbs_pki.sh"
kbs_pki "$K"

# ---- the manifest, signed by hospital and lab ------------------------------
pubhex() { sed -n 's/^"ed25519": "\([0-9a-f]*\)"$/\1/p' "$1"; }
"$SEALNET" workflow init "$T/w0.json" >/dev/null
"$SEALNET" workflow keygen "$T/hospital.key" >"$T/hk.txt"
"$SEALNET" workflow keygen "$T/lab.key" >"$T/lk.txt"
sed -e "s/1111111111111111111111111111111111111111111111111111111111111111/$(pubhex "$T/hk.txt")/" \
    -e "s/2222222222222222222222222222222222222222222222222222222222222222/$(pubhex "$T/lk.txt")/" \
    "$T/w0.json" >"$T/w.json"
"$SEALNET" workflow sign "$T/w.json" --domain hospital --key "$T/hospital.key" >/dev/null
"$SEALNET" workflow sign "$T/w.json" --domain lab --key "$T/lab.key" >/dev/null
# a second manifest where the "lab" domain is called "lab2": lab's bundle
# for it names a domain hospital's manifest does not list
sed 's/"lab"/"lab2"/g' "$T/w.json" >"$T/w2.json"
"$SEALNET" workflow sign "$T/w2.json" --domain hospital --key "$T/hospital.key" >/dev/null
"$SEALNET" workflow sign "$T/w2.json" --domain lab2 --key "$T/lab.key" >/dev/null

# lab's KBS token key, as a JWKS (P-256, kid = RFC 7638 thumbprint)
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
openssl ecparam -name prime256v1 -genkey -noout -out "$T/labtk.pem" 2>/dev/null
openssl ec -in "$T/labtk.pem" -pubout -outform DER 2>/dev/null | tail -c 64 >"$T/labtk.xy"
x=$(head -c 32 "$T/labtk.xy" | b64url); y=$(tail -c 32 "$T/labtk.xy" | b64url)
kid=$(printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" | openssl dgst -sha256 -binary | b64url)
printf '{"keys":[{"kty":"EC","crv":"P-256","x":"%s","y":"%s","kid":"%s"}]}' "$x" "$y" "$kid" >"$T/lab-jwks.json"

cat >"$T/kbs.json" <<JSON
{ "listen": "$SRV", "domain": "hospital",
  "tls_cert": "server.pem", "tls_key": "server.key", "admin_ca": "adminca.pem",
  "database": "kbs.db", "token_key": "token.key",
  "manifest": "w.json", "bundle": "hospital-bundle.json", "trust_dir": "trust" }
JSON
ip netns exec "$(netns_name h1)" "$KBS" --config "$T/kbs.json" >>"$T/kbs.log" 2>&1 &
KBS_PID=$!
SN_NS_BGPIDS+=($!)
for _ in $(seq 100); do
	netns_exec h2 curl -sf --cacert "$T/ca.pem" "https://$SRV/keys" >/dev/null 2>&1 && break
	sleep 0.1
done

sk() { netns_exec h2 "$SEALNET" kbs --server "$SRV" --ca "$T/ca.pem" "$@"; }
admin() { sk --cert "$T/admin.pem" --key "$T/admin.key" "$@"; }
curl_as() { # CERT ARGS...: the HTTP status
	local c=$1
	shift
	netns_exec h2 curl -s -o "$T/curl.out" -w '%{http_code}' --cacert "$T/ca.pem" \
		${c:+--cert "$T/$c.pem" --key "$T/$c.key"} "$@"
}
q() { "$@" >/dev/null; }
has_error() { # CODE: the last curl answer's error
	[ "$(jq -r .error "$T/curl.out" 2>/dev/null)" = "$1" ] ||
		{ echo "  answer: $(head -c 300 "$T/curl.out")"; return 1; }
}
post() { # BUNDLE [CERT]: POST /admin/bundle, the HTTP status
	curl_as "${2-admin}" -X POST --data-binary "@$1" "https://$SRV/admin/bundle"
}

# ---- GET /bundle: hospital's own, exported from the KBS's own keys ---------
check "GET /bundle before any export: 503" [ "$(curl_as "" "https://$SRV/bundle")" = 503 ]
sk keys >"$T/hospital-jwks.json"
check "export hospital's bundle from the KBS keys" \
	"$SEALNET" federation export --manifest "$T/w.json" --domain hospital \
	--key "$T/hospital.key" --kbs-keys "$T/hospital-jwks.json" -o "$T/hospital-bundle.json"
check "GET /bundle: 200" [ "$(curl_as "" "https://$SRV/bundle")" = 200 ]
check "GET /bundle serves the file" cmp -s "$T/curl.out" "$T/hospital-bundle.json"
cp "$T/curl.out" "$T/fetched.json"
check "the fetched bundle verifies" "$SEALNET" federation verify "$T/fetched.json" --manifest "$T/w.json"
check "its current key is the KBS's token key" \
	[ "$(jq -r .token_keys.current.kid "$T/fetched.json")" = "$(jq -r '.keys[0].kid' "$T/hospital-jwks.json")" ]
check "POST /bundle: 405" [ "$(curl_as "" -X POST "https://$SRV/bundle")" = 405 ]

# ---- POST /admin/bundle: lab's bundles -------------------------------------
lex() { # SEQ OUT [ARGS...]: lab's bundle
	local s=$1 o=$2
	shift 2
	"$SEALNET" federation export --manifest "$T/w.json" --domain lab --key "$T/lab.key" \
		--kbs-keys "$T/lab-jwks.json" --seq "$s" -o "$o" "$@" 2>/dev/null
}
lex 5 "$T/lab5.json"
lex 4 "$T/lab4.json"
lex 6 "$T/lab6.json" --valid 1
jq '.sequence = 9' "$T/lab5.json" >"$T/lab-forged.json"
jq '.extra = 1' "$T/lab5.json" >"$T/lab-extra.json"
"$SEALNET" federation export --manifest "$T/w2.json" --domain lab2 --key "$T/lab.key" \
	--kbs-keys "$T/lab-jwks.json" --seq 7 -o "$T/lab2.json" 2>/dev/null

check "import without an admin certificate: 403" [ "$(post "$T/lab5.json" "")" = 403 ]
check "  admin-required" has_error admin-required
check "import lab sequence 5: 200" [ "$(post "$T/lab5.json")" = 200 ]
check "  answer names domain and sequence" q jq -e '.domain == "lab" and .sequence == 5' "$T/curl.out"
check "  kept in the trust directory" cmp -s "$T/lab5.json" "$T/trust/lab.json"
check "the same bundle again: 200" [ "$(post "$T/lab5.json")" = 200 ]
check "sequence 4 after 5: 403" [ "$(post "$T/lab4.json")" = 403 ]
check "  rollback" has_error rollback
check "  trust directory unchanged" cmp -s "$T/lab5.json" "$T/trust/lab.json"
check "changed sequence: 403" [ "$(post "$T/lab-forged.json")" = 403 ]
check "  bad-signature" has_error bad-signature
check "unknown member: 400" [ "$(post "$T/lab-extra.json")" = 400 ]
check "  invalid-bundle" has_error invalid-bundle
check "a domain the manifest does not list: 403" [ "$(post "$T/lab2.json")" = 403 ]
check "  domain-not-in-manifest" has_error domain-not-in-manifest
check "hospital's own bundle: 403" [ "$(post "$T/hospital-bundle.json")" = 403 ]
check "  own-domain" has_error own-domain
sleep 2
check "an expired bundle (valid 1 s, 2 s ago): 403" [ "$(post "$T/lab6.json")" = 403 ]
check "  expired" has_error expired
check "  trust directory still sequence 5" cmp -s "$T/lab5.json" "$T/trust/lab.json"

# ---- the audit log ------------------------------------------------------------
admin audit --limit 10000 >"$T/audit.json"
for code in rollback bad-signature invalid-bundle domain-not-in-manifest own-domain expired admin-required; do
	check "audit: refusal $code" q jq -e --arg c "$code" 'any(.[]; .outcome == $c)' "$T/audit.json"
done
check "audit: lab's import by admin:alice" \
	q jq -e 'any(.[]; .action == "bundle-import" and .subject == "lab" and .outcome == "ok" and (.actor | startswith("admin:alice")))' "$T/audit.json"
check "audit verify" q admin audit verify

kill -TERM "$KBS_PID"
wait "$KBS_PID" && rc=0 || rc=$?
check "SIGTERM: clean exit 0 (no leak reported)" [ "$rc" = 0 ]
[ "$fails" = 0 ] || { echo "--- kbs.log"; tail -20 "$T/kbs.log"; }
exit "$fails"
