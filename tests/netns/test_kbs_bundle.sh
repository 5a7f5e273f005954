#!/usr/bin/env bash
# sealnet-kbs and trust bundles (docs/federation.md): the KBS of domain
# hospital (h1) serves its own bundle at GET /bundle and imports domain
# lab's bundles through POST /admin/bundle (admin certificate), checked
# against the signed manifest and the last accepted one; every refusal
# (rollback, bad signature, expired, invalid, own domain, unlisted
# domain, no admin certificate) is answered with its code and audited.
# One manifest source (docs/kbs-api.md "Manifest import"): the
# configuration's "manifest" is imported at the first start; a KBS with
# none refuses bundles (no-manifest) until `sealnet kbs import-manifest`,
# then checks them against the imported one; a configured manifest that
# is not the imported one stops the KBS at start, saying so.
#
#    h1 198.18.0.1 (sealnet-kbs :8443) --- br0 --- h2 198.18.0.2 (clients)
set -eu
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/kbs_pki.sh"
kbs_test_init 2
K=$(netns_addr h1)
SRV="$K:8443"

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

kbs_config "$T/kbs.json" "$SRV" hospital \
	'"manifest": "w.json", "bundle": "hospital-bundle.json", "trust_dir": "trust"'
kbs_start h1 "$T/kbs.json"

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
# until the clock has passed its not_after (the KBS refuses from then on)
na=$(jq .not_after "$T/lab6.json")
for _ in $(seq 50); do [ "$(date +%s)" -ge "$na" ] && break; sleep 0.1; done
check "an expired bundle (valid 1 s, its not_after passed): 403" [ "$(post "$T/lab6.json")" = 403 ]
check "  expired" has_error expired
check "  trust directory still sequence 5" cmp -s "$T/lab5.json" "$T/trust/lab.json"

# ---- one source for the manifest: the imported one ------------------------------
D1=$("$SEALNET" workflow hash "$T/w.json" | grep -oE '[0-9a-f]{96}')
check "the configured manifest was imported at the first start" \
	[ "$(admin list | jq -r .manifest.digest)" = "$D1" ]
check "  audited as import-manifest by config:" \
	q jq -e 'any(.[]; .action == "import-manifest" and .outcome == "ok" and (.actor | startswith("config:")))' \
	<(admin audit --limit 10000)
cp "$T/kbs.json" "$T/kbs-other.json"
sed -i 's/"w.json"/"w2.json"/' "$T/kbs-other.json"
other_refused() {
	local rc=0
	"$KBS" --check --config "$T/kbs-other.json" >"$T/other.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q "is not the manifest this KBS imported" "$T/other.out" &&
		grep -q "import-manifest" "$T/other.out" || { cat "$T/other.out"; return 1; }
}
check "a configured manifest that is not the imported one: the KBS does not start" other_refused
check "  and the imported one stays" [ "$(admin list | jq -r .manifest.digest)" = "$D1" ]
# a second KBS (port 8444) with no configured manifest, only a trust_dir,
# and two workers: the manifest one worker imports is seen by the other
mkdir "$T/k2"
cat >"$T/k2/kbs.json" <<JSON
{ "listen": "$K:8444", "domain": "hospital",
  "tls_cert": "../server.pem", "tls_key": "../server.key", "admin_ca": "../adminca.pem",
  "database": "kbs.db", "token_key": "token.key", "trust_dir": "trust",
  "workers": 2 }
JSON
kbs_start h1 "$T/k2/kbs.json" "$T/kbs2.log" KBS2_PID
post2() { curl_as admin -X POST --data-binary "@$1" "https://$K:8444/admin/bundle"; }
check "KBS 2 (no manifest imported): a bundle is refused, 409" [ "$(post2 "$T/lab5.json")" = 409 ]
check "  no-manifest, pointing at import-manifest" \
	q jq -e '.error == "no-manifest" and (.message | test("import-manifest"))' "$T/curl.out"
check "KBS 2: import-manifest w.json" \
	netns_exec h2 "$SEALNET" kbs --server "$K:8444" --ca "$T/ca.pem" \
	--cert "$T/admin.pem" --key "$T/admin.key" import-manifest "$T/w.json"
posts_ok() { # each POST a new connection, so on either worker
	for _ in 1 2 3 4 5 6 7 8; do
		[ "$(post2 "$T/lab5.json")" = 200 ] || { cat "$T/curl.out"; return 1; }
	done
}
check "KBS 2: the bundle is now checked against the imported manifest: 200 (8 times, both workers)" \
	posts_ok
check "  kept in KBS 2's trust directory" cmp -s "$T/lab5.json" "$T/k2/trust/lab.json"
check "KBS 2: a bundle for a domain the imported manifest lacks: domain-not-in-manifest" \
	bash -c '[ "$1" = 403 ]' _ "$(post2 "$T/lab2.json")"
kill -TERM "$KBS2_PID"
wait "$KBS2_PID" && rc=0 || rc=$?
check "KBS 2: SIGTERM, exit 0" [ "$rc" = 0 ]

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
