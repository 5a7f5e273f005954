#!/usr/bin/env bash
# bench/kbs/run.sh — sealnet-kbs under load (issue 13 item 7): attestations
# per second with many concurrent clients (p50/p90/p99 latency), resources
# released per second, and a CPU profile of the KBS (perf) saying what
# limits it.  The KBS runs in one network namespace, the load generator
# (bench/kbs/kbs_load.c: one thread per client; an attestation is one
# kept-alive TLS 1.3 connection, a fetch one connection) in another, on
# this machine's cores.  Root.  Prints one JSON line per run and a table:
# throughput and latency, the KBS's CPU per operation (all its threads,
# from /proc/PID/task/*/schedstat), the KBS capacity (operations per KBS
# CPU-second) and the load generator's CPU per operation.
#
#   bench/kbs/run.sh [BUILD]        (default build/bench, release)
# Environment: CLIENTS ("1 4 16 64"), N (attestations per client, 25),
# FETCH_N (fetches per client, 50), FETCH_CLIENTS ("4 16"), PROFILE (1:
# perf record -e cpu-clock the KBS during the 16-client run; needs perf;
# PERF_CG: call-graph mode, default dwarf; PERF_KEEP=FILE keeps the
# perf.data, FILE.load the load generator's), PROFILE_LOAD (1, with
# PROFILE=1: record the load generator of that run too), DB (database path; default in the temporary directory,
# i.e. /tmp), WORKERS (the KBS's "workers"; default its own: one per
# CPU).
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
printf '{"listen":"%s","database":"%s","domain":"d1","tls_cert":"server.pem","tls_key":"server.key","admin_ca":"ca.pem","token_key":"token.key","max_challenges":100000,"max_challenges_per_node":100000,"max_event_waiters":4096%s}\n' \
	"$SRV" "${DB:-kbs.db}" "${WORKERS:+,\"workers\":$WORKERS}" >kbs.json
ip netns exec "$(netns_name h1)" "$KBS" --config kbs.json >kbs.log 2>&1 &
KPID=$!
SN_NS_BGPIDS+=($KPID)
sk() { netns_exec h2 "$SEALNET" kbs --server "$SRV" --ca ca.pem "$@"; }
for _ in $(seq 100); do sk keys >/dev/null 2>&1 && break; sleep 0.1; done
sk --cert admin.pem --key admin.key enrol node --stage A --node-cert node.pem >/dev/null
sk --cert admin.pem --key admin.key set-reference A --policy pol.json >/dev/null
sk --cert admin.pem --key admin.key put-resource a/s --stage A --file pol.json >/dev/null
load() { netns_exec h2 ${PERF_LOAD:+perf record -q -e cpu-clock --call-graph "${PERF_CG:-dwarf,16384}" -o "$PERF_LOAD" --} "$LOAD" --server "$SRV" --ca ca.pem --cert node.pem --key node.key \
	--node node --platform plat --measurement "$M" "$@"; }
# the KBS's own CPU time so far, ns: on-CPU time of all its threads
cpu() { cat /proc/"$KPID"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }
echo "# $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(openssl version), KBS workers ${WORKERS:-default (one per CPU)}"
load -c 2 -n 5 >/dev/null # warm-up
RES=$T/results.jsonl
measure() { # CLIENTS N [--fetch PATH]: one JSON line, KBS CPU and capacity added
	local c0 c1 r
	c0=$(cpu)
	if [ "$1" = 16 ] && [ $# = 2 ] && [ "${PROFILE:-0}" = 1 ] && command -v perf >/dev/null; then
		perf record -q -e cpu-clock --call-graph "${PERF_CG:-dwarf,16384}" -o "$T/perf.data" -p "$KPID" >/dev/null 2>&1 &
		PP=$!
		sleep 0.5
		if [ "${PROFILE_LOAD:-0}" = 1 ]; then # the load generator too
			r=$(PERF_LOAD="$T/perf-load.data" load -c "$1" -n "$2") || true
		else
			r=$(load -c "$1" -n "$2") || true
		fi
		kill -INT $PP; wait $PP || true
	else
		r=$(load -c "$1" -n "$2" "${@:3}") || true # failures: in the line
	fi
	c1=$(cpu)
	# kbs_cpu_ms_per_op: the KBS process's CPU (all threads) per
	# operation; kbs_capacity_per_s: operations per KBS CPU-second, what
	# the KBS would do with a core to itself (clients elsewhere)
	jq -c --argjson ns "$((c1 - c0))" '. + {kbs_cpu_ms_per_op: (($ns / 1e6 / .ops) * 100 | round / 100),
		kbs_capacity_per_s: ((.ops / ($ns / 1e9)) | round)}' <<<"$r" | tee -a "$RES"
}
for C in ${CLIENTS:-1 4 16 64}; do measure "$C" "${N:-25}"; done
for C in ${FETCH_CLIENTS:-4 16}; do measure "$C" "${FETCH_N:-50}" --fetch a/s; done
echo "# summary (ops/s: measured on this machine with the load generator on the same cores;"
echo "# KBS capacity: operations per second of the KBS's own CPU time)"
echo "| mode | clients | ops | ops/s | p50 ms | p90 ms | p99 ms | KBS CPU ms/op | KBS capacity /CPU-s | load generator CPU ms/op |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
jq -r '"| \(.mode) | \(.clients) | \(.ops) | \(.ops_per_s) | \(.p50_ms) | \(.p90_ms) | \(.p99_ms) | \(.kbs_cpu_ms_per_op) | \(.kbs_capacity_per_s) | \(.load_cpu_ms_per_op) |"' "$RES"
if [ -f "$T/perf.data" ]; then
	[ -z "${PERF_KEEP:-}" ] || cp "$T/perf.data" "$PERF_KEEP"
	[ -z "${PERF_KEEP:-}" ] || [ ! -f "$T/perf-load.data" ] || cp "$T/perf-load.data" "$PERF_KEEP.load"
	echo "# perf: the KBS's CPU during the 16-client attestation run, by library (self)"
	perf report -q -i "$T/perf.data" --no-children -g none --sort dso 2>/dev/null | grep -v '^$' | head -12
	echo "# ... by symbol (top 25, self)"
	perf report -q -i "$T/perf.data" --no-children -g none --sort dso,symbol 2>/dev/null | grep -v '^$' | head -25
	echo "# ... by caller in sealnet-kbs (children: the request handlers' share)"
	perf report -q -i "$T/perf.data" --children -g none --sort symbol 2>/dev/null |
		grep -E 'kbs_attest|kbs_challenge|kbs_resource|sn_appraise|sn_kbs_token_record|SSL_write|SSL_read|sn_evidence_verify|sn_kbs_token_sign|sn_kbs_token_record|sqlite3_step|SSL_do_handshake|ossl_statem|sn_kbs_challenge|sn_policy' | head -20
fi
