#!/usr/bin/env bash
# bench/kbs_quick.sh — a quick attestations/s loop against sealnet-kbs
# (sim evidence; the KBS in one namespace, CLI clients in another, all on
# this machine's cores).  Not the issue-13 benchmark (bench/kbs, p99,
# profile): a first figure.  Root.  Build first:
#   meson setup build/rel --buildtype=release -Dtests=false
#   ninja -C build/rel kbs/sealnet-kbs cli/sealnet
# Environment: SEALNET_BUILD (build/rel), CLIENTS ("1 4"), N (200 per
# client), DB (database path; default in the temporary directory).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/tests/netns/lib.sh"
B=${SEALNET_BUILD:-$repo/build/rel}
SEALNET=$B/cli/sealnet; KBS=$B/kbs/sealnet-kbs
T=$(mktemp -d /tmp/kbsbench.XXXXXX)
netns_init
trap 'rc=$?; netns_cleanup; rm -rf "$T"; netns_trap $rc' EXIT
netns_topology 2
K=$(netns_addr h1); SRV="$K:8443"
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=ca -addext basicConstraints=critical,CA:TRUE 2>/dev/null
cp ca.pem adminca.pem; cp ca.key adminca.key
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj /CN=kbs 2>/dev/null
printf 'subjectAltName=IP:%s\n' "$K" > ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out server.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout admin.key -out admin.csr -subj /CN=admin 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > aext
openssl x509 -req -in admin.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile aext -out admin.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout node.key -out node.pem -days 1 -subj /CN=node 2>/dev/null
$SEALNET sim-tee init plat > plat.txt
ARK=$(sed -n 's/.*sim_ark_spki_sha256"): \([0-9a-f]*\)$/\1/p' plat.txt)
M=$(printf x | sha384sum | cut -c1-96)
printf '{"backends":["sim"],"measurements":["%s"],"sim_ark_spki_sha256":["%s"]}\n' "$M" "$ARK" > pol.json
printf '{"listen":"%s","database":"%s","domain":"d1","tls_cert":"server.pem","tls_key":"server.key","admin_ca":"adminca.pem","token_key":"token.key","max_challenges":100000,"max_challenges_per_node":100000}\n' "$SRV" "${DB:-kbs.db}" > kbs.json
ip netns exec "$(netns_name h1)" "$KBS" --config kbs.json > kbs.log 2>&1 &
SN_NS_BGPIDS+=($!)
sleep 1
sk() { netns_exec h2 "$SEALNET" kbs --server "$SRV" --ca ca.pem "$@"; }
sk --cert admin.pem --key admin.key enrol node --stage A --node-cert node.pem >/dev/null
sk --cert admin.pem --key admin.key set-reference A --policy pol.json >/dev/null
sk --cert admin.pem --key admin.key put-resource a/s --stage A --file pol.json >/dev/null
for C in ${CLIENTS:-1 4}; do
  N=${N:-200}
  t0=$(date +%s%N)
  P=()
  for i in $(seq $C); do sk --cert node.pem --key node.key attest --node node --platform plat --measurement "$M" --rek node.rek --count $N >/dev/null 2>"c$i.err" & P+=($!); done
  for p in "${P[@]}"; do wait $p || true; done
  t1=$(date +%s%N)
  echo "clients $C x $N attestations: $(( C * N * 1000000000 / (t1 - t0) ))/s overall; per client: $(cat c*.err | tr '\n' ' ')"
done
sk --cert node.pem --key node.key attest --node node --platform plat --measurement "$M" --rek node.rek --token tok >/dev/null
t0=$(date +%s%N)
for i in $(seq 100); do sk --cert node.pem --key node.key fetch a/s --token tok --rek node.rek -o /dev/null; done
t1=$(date +%s%N)
echo "100 sequential fetches (one CLI process each): $(( 100 * 1000000000 / (t1 - t0) ))/s"
# the KBS's CPU time for all of the above
echo "sealnet-kbs CPU time: $(ps -o time= -p "${SN_NS_BGPIDS[0]}")"
