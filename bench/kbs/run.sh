#!/usr/bin/env bash
# bench/kbs/run.sh — sealnet-kbs under load (issue 13 item 7): attestations
# per second with many concurrent clients (p50/p90/p99 latency), resources
# released per second, and a CPU profile of the KBS (perf) saying what
# limits it.  The KBS runs in one network namespace, the load generator
# (bench/kbs/kbs_load.c: one thread per client, each operation its own
# TLS 1.3 connections) in another, on this machine's cores.  Root.
#
#   bench/kbs/run.sh [BUILD]        (default build/bench, release)
# Environment: CLIENTS ("1 4 16 64"), N (attestations per client, 25),
# FETCH_N (fetches per client, 50), PROFILE (1: perf record the KBS
# during the 16-client run; needs perf), DB (database path; default in
# the temporary directory, i.e. /tmp).
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/netns/lib.sh"
B=${1:-$repo/build/bench}
mkdir -p "$B"; B=$(cd "$B" && pwd)
[ -x "$B/bench/kbs_load" ] || {
	meson setup "$B" "$repo" --buildtype=release -Dtests=true >/dev/null
	ninja -C "$B" kbs/sealnet-kbs cli/sealnet bench/kbs_load >/dev/null
}
SEALNET=$B/cli/sealnet; KBS=$B/kbs/sealnet-kbs; LOAD=$B/bench/kbs_load
T=$(mktemp -d /tmp/kbsbench.XXXXXX)
netns_init
trap 'rc=$?; netns_cleanup; rm -rf "$T"; netns_trap $rc' EXIT
netns_topology 2
K=$(netns_addr h1); SRV="$K:8443"
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=ca -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj /CN=kbs 2>/dev/null
printf 'subjectAltName=IP:%s\n' "$K" >ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out server.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout admin.key -out admin.csr -subj /CN=admin 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >aext
openssl x509 -req -in admin.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile aext -out admin.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout node.key -out node.pem -days 1 -subj /CN=node 2>/dev/null
"$SEALNET" sim-tee init plat >plat.txt
ARK=$(sed -n 's/.*sim_ark_spki_sha256"): \([0-9a-f]*\)$/\1/p' plat.txt)
M=$(printf x | sha384sum | cut -c1-96)
printf '{"backends":["sim"],"measurements":["%s"],"sim_ark_spki_sha256":["%s"]}\n' "$M" "$ARK" >pol.json
printf '{"listen":"%s","database":"%s","domain":"d1","tls_cert":"server.pem","tls_key":"server.key","admin_ca":"ca.pem","token_key":"token.key","max_challenges":100000,"max_event_waiters":4096}\n' \
	"$SRV" "${DB:-kbs.db}" >kbs.json
ip netns exec "$(netns_name h1)" "$KBS" --config kbs.json >kbs.log 2>&1 &
KPID=$!
SN_NS_BGPIDS+=($KPID)
sk() { netns_exec h2 "$SEALNET" kbs --server "$SRV" --ca ca.pem "$@"; }
for _ in $(seq 100); do sk keys >/dev/null 2>&1 && break; sleep 0.1; done
sk --cert admin.pem --key admin.key enrol node --stage A --node-cert node.pem >/dev/null
sk --cert admin.pem --key admin.key set-reference A --policy pol.json >/dev/null
sk --cert admin.pem --key admin.key put-resource a/s --stage A --file pol.json >/dev/null
load() { netns_exec h2 "$LOAD" --server "$SRV" --ca ca.pem --cert node.pem --key node.key \
	--node node --platform plat --measurement "$M" "$@"; }
cpu() { awk '{ print $14 + $15 }' "/proc/$KPID/stat"; } # KBS user+sys ticks
hz=$(getconf CLK_TCK)
echo "# $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(openssl version)"
load -c 2 -n 5 >/dev/null # warm-up
for C in ${CLIENTS:-1 4 16 64}; do
	c0=$(cpu)
	if [ "$C" = 16 ] && [ "${PROFILE:-0}" = 1 ] && command -v perf >/dev/null; then
		perf record -q -e cpu-clock --call-graph "${PERF_CG:-dwarf,16384}" -o "$T/perf.data" -p "$KPID" >/dev/null 2>&1 &
		PP=$!
		sleep 0.5
		r=$(load -c "$C" -n "${N:-25}")
		kill -INT $PP; wait $PP || true
	else
		r=$(load -c "$C" -n "${N:-25}")
	fi
	c1=$(cpu)
	ops=$(jq -r .ops <<<"$r")
	echo "$r" | jq -c --arg cpu "$(awk -v a="$c0" -v b="$c1" -v h="$hz" -v n="$ops" 'BEGIN { printf "%.2f", (b - a) / h * 1000 / n }')" \
		'. + {kbs_cpu_ms_per_op: ($cpu | tonumber)}'
done
for C in 4 16; do
	c0=$(cpu)
	r=$(load -c "$C" -n "${FETCH_N:-50}" --fetch a/s)
	c1=$(cpu)
	ops=$(jq -r .ops <<<"$r")
	echo "$r" | jq -c --arg cpu "$(awk -v a="$c0" -v b="$c1" -v h="$hz" -v n="$ops" 'BEGIN { printf "%.2f", (b - a) / h * 1000 / n }')" \
		'. + {kbs_cpu_ms_per_op: ($cpu | tonumber)}'
done
if [ -f "$T/perf.data" ]; then
	[ -z "${PERF_KEEP:-}" ] || cp "$T/perf.data" "$PERF_KEEP"
	echo "# perf: the KBS's CPU during the 16-client attestation run, by library (self)"
	perf report -q -i "$T/perf.data" --no-children -g none --sort dso 2>/dev/null | grep -v '^$' | head -12
	echo "# ... by symbol (top 25, self)"
	perf report -q -i "$T/perf.data" --no-children -g none --sort dso,symbol 2>/dev/null | grep -v '^$' | head -25
	echo "# ... by caller in sealnet-kbs (children: the request handlers' share)"
	perf report -q -i "$T/perf.data" --children -g none --sort symbol 2>/dev/null |
		grep -E 'kbs_attest|kbs_challenge|kbs_resource|sn_appraise|sn_kbs_token_record|SSL_write|SSL_read|sn_evidence_verify|sn_kbs_token_sign|sn_kbs_token_record|sqlite3_step|SSL_do_handshake|ossl_statem|sn_kbs_challenge|sn_policy' | head -20
fi
