# tests/netns/kbs_pki.sh — the opening and test certificates of the
# sealnet-kbs tests (source it after lib.sh or dp.sh).
#
#   kbs_test_init N [TOOL...]   the opening of a KBS test: SN_BUILD, SEALNET,
#                               KBS (sealnet-kbs) set; openssl, curl, jq and
#                               each TOOL present; then, with dp.sh sourced,
#                               dp_test_begin N and T=$DP_DIR; else T a new
#                               temp dir, netns_init, an EXIT trap that
#                               removes every host and T (kept with SN_KEEP
#                               set) whatever the outcome, netns_topology N
#   mk_ca NAME CN               a P-256 CA: $T/NAME.key, $T/NAME.pem
#   mk_leaf NAME CN CA EXT...   a P-256 leaf signed by $T/CA, with the
#                               given x509 extensions
#   kbs_pki ADDR                ca, adminca, server (IP:ADDR) and admin
#   mk_self NAME CN             a self-signed P-256 certificate (a node's
#                               TLS key pair): $T/NAME.key, $T/NAME.pem
#   kbs_config FILE LISTEN DOMAIN [MEMBERS]
#                               a sealnet-kbs configuration with kbs_pki's
#                               server certificate and admin CA, kbs.db and
#                               token.key (next to FILE); MEMBERS: more
#                               JSON members ("a": 1, "b": 2)
#   kbs_start H CONFIG [LOG [VAR]]
#                               start sealnet-kbs in host H (output appended
#                               to LOG, default $T/kbs.log; its PID in VAR,
#                               default KBS_PID) and wait until GET /keys
#                               answers at its listen address, up to 60 s;
#                               the test stops if it does not
#
# $T: the test's directory (set before calling); $KBS: sealnet-kbs.
kbs_test_init() { # N [TOOL...]
	local n=$1 c
	shift
	SN_BUILD=${SEALNET_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/test}
	SEALNET="$SN_BUILD/cli/sealnet"
	KBS="$SN_BUILD/kbs/sealnet-kbs"
	for c in openssl curl jq "$@"; do
		command -v "$c" >/dev/null || netns_fail "needs $c (scripts/setup installs it)"
	done
	if [ -n "${DP_DIR:-}" ]; then
		dp_test_begin "$n"
		T=$DP_DIR
		return 0
	fi
	T=$(mktemp -d "/tmp/sealnet-$(basename "$0" .sh).XXXXXX")
	netns_init
	trap 'rc=$?; netns_cleanup; [ -n "${SN_KEEP:-}" ] || rm -rf "$T"; netns_trap $rc' EXIT
	netns_topology "$n"
}
mk_ca() { # NAME CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.pem" -days 2 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
mk_leaf() { # NAME CN CA EXT...
	local n=$1 cn=$2 ca=$3
	shift 3
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$n.key" -out "$T/$n.csr" -subj "/CN=$cn" 2>/dev/null
	printf '%s\n' "$@" >"$T/$n.ext"
	openssl x509 -req -in "$T/$n.csr" -CA "$T/$ca.pem" -CAkey "$T/$ca.key" \
		-CAcreateserial -days 1 -extfile "$T/$n.ext" -out "$T/$n.pem" 2>/dev/null
}
kbs_pki() { # ADDR
	mk_ca ca "kbs test CA"
	mk_ca adminca "kbs admin CA"
	mk_leaf server kbs ca "subjectAltName=IP:$1" "extendedKeyUsage=serverAuth"
	mk_leaf admin alice adminca "extendedKeyUsage=clientAuth"
}
mk_self() { # NAME CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.pem" -days 1 -subj "/CN=$2" 2>/dev/null
}
kbs_config() { # FILE LISTEN DOMAIN [MEMBERS]
	cat >"$1" <<JSON
{ "listen": "$2", "domain": "$3",
  "tls_cert": "server.pem", "tls_key": "server.key", "admin_ca": "adminca.pem",
  "database": "kbs.db", "token_key": "token.key"${4:+,
  $4} }
JSON
}
kbs_start() { # H CONFIG [LOG [VAR]]
	local h=$1 conf=$2 log=${3:-$T/kbs.log} var=${4:-KBS_PID} pid srv
	command -v curl >/dev/null || netns_fail "needs curl (scripts/setup installs it)"
	srv=$(jq -r .listen "$conf")
	# a simple command, so $! is sealnet-kbs itself (ip netns exec execs it)
	ip netns exec "$(netns_name "$h")" "$KBS" --config "$conf" >>"$log" 2>&1 &
	pid=$!
	SN_NS_BGPIDS+=("$pid")
	printf -v "$var" %s "$pid"
	for _ in $(seq 600); do
		netns_exec "$h" curl -sf --cacert "$T/ca.pem" "https://$srv/keys" \
			>/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$log" >&2
	netns_fail "sealnet-kbs ($conf) did not answer at https://$srv/keys in $h"
}
