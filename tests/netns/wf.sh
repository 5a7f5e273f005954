# shellcheck shell=bash
# tests/netns/wf.sh — workflow manifests (docs/workflow.md) for the netns
# tests and the demo.  Source after dp.sh; dp_sim_platform first.
#
#   wf_keys D...            an Ed25519 key pair per domain ($DP_DIR/keys/D.*);
#                           WF_PUB[D] = its raw public key (hex)
#   wf_local H [EXTRA]      H's node-local configuration $DP_DIR/H.local.json
#                           (interface, control socket, state_dir, sim
#                           platform); EXTRA: more members, each ending ","
#   wf_meas H               the launch measurement of H's local file
#   wf_domain D             a domain entry (its key)
#   wf_node H D             a node entry (id, address from the name)
#   wf_stage S D "H..." ID  a stage run by nodes H... (reference: their
#                           launch measurements, this sim platform); ID:
#                           its identity object
#   wf_flow FROM TO PROTO PORT
#   wf_write OUT NAME VERSION DOMAINS NODES STAGES FLOWS [LIFETIMES]
#   wf_sign FILE D...       each domain signs (FILE.sig.json)
#   wf_start H FILE         sealnetd --workflow FILE --node H --config
#                           H.local.json, wait until ready
declare -A WF_PUB

wf_keys() {
	local d
	mkdir -p "$DP_DIR/keys"
	for d in "$@"; do
		WF_PUB[$d]=$("$SEALNET" workflow keygen "$DP_DIR/keys/$d.key" \
			"$DP_DIR/keys/$d.pub" | grep -oE '[0-9a-f]{64}')
	done
}

wf_local() {
	local h=$1 extra=${2:-}
	cat >"$DP_DIR/$h.local.json" <<JSON
{ "interface": "eth0", "control_socket": "$DP_DIR/$h.sock", $extra
  "state_dir": "$DP_DIR/$h.state",
  "make": { "sim_platform": "$DP_DIR/platform" } }
JSON
}

wf_meas() {
	"$SEALNETD" --print-measurement --workflow /dev/null \
		--config "$DP_DIR/$1.local.json"
}

wf_domain() {
	printf '{"id":"%s","keys":[{"id":"%s-key","ed25519":"%s"}]}' \
		"$1" "$1" "${WF_PUB[$1]}"
}

wf_node() {
	printf '{"name":"%s","domain":"%s","id":%s,"address":"%s","tee":"sim"}' \
		"$1" "$2" "${1#h}" "$(netns_addr "$1")"
}

wf_stage() {
	local s=$1 d=$2 hs=$3 id=$4 h ns="" ms=""
	for h in $hs; do
		ns="$ns\"$h\","
		ms="$ms\"$(wf_meas "$h")\","
	done
	printf '{"name":"%s","domain":"%s","nodes":[%s],"identity":%s,' \
		"$s" "$d" "${ns%,}" "$id"
	printf '"reference":{"tee":"sim","measurements":[%s],"sim_ark_spki_sha256":["%s"]}}' \
		"${ms%,}" "$DP_ARK"
}

wf_flow() {
	printf '{"from":"%s","to":"%s","protocol":"%s","port":%s}' "$@"
}

wf_write() {
	local out=$1 name=$2 ver=$3 doms=$4 nodes=$5 stages=$6 flows=$7
	local life=${8:-'{"rekey_interval_s": 20, "session_lifetime_s": 60}'}
	cat >"$out" <<JSON
{ "sealnet_workflow": 1, "name": "$name", "version": $ver,
  "lifetimes": $life,
  "domains": [ $doms ],
  "nodes": [ $nodes ],
  "stages": [ $stages ],
  "flows": [ $flows ] }
JSON
}

wf_sign() {
	local f=$1 d
	shift
	rm -f "${f%.json}.sig.json"
	for d in "$@"; do
		"$SEALNET" workflow sign --domain "$d" --key "$DP_DIR/keys/$d.key" \
			"$f" >/dev/null || return 1
	done
}

wf_start() {
	dp_start "$1" --workflow "$2" --node "$1" --config "$DP_DIR/$1.local.json"
}
