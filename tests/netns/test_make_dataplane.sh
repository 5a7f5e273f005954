#!/usr/bin/env bash
# MAKE with a data-plane measurement policy (make.allowed_dataplane): the
# peer's runtime measurement log (BPF object + the kernel's tags of the
# loaded programs), replayed from its evidence, must have an allowed digest.
#
#    h1 198.18.0.1 ---+    h1 allows only a digest that no node has;
#    h2 198.18.0.2 ---+-- br0   h3 allows the digest of this build;
#    h3 198.18.0.3 ---+         launch measurements: all allowed
#
# Expect: h3 and h2 keyed; h1 refuses h2 (and h3) on the data-plane
# measurement, installs no keys, and its packets to h2 are dropped.
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 3
H2=$(netns_addr h2)

# the digest of this build's data plane, from a node that runs it
dp_config h2 "h1" ''
dp_start h2
D=$(dp_status h2 | jq -r .mlog_digest)
dp_stop h2
check "the measurement log digest is a SHA-384 ($D)" grep -qE '^[0-9a-f]{96}$' <<<"$D"
wrong=$(printf '%s' "$D" | tr '0-9a-f' '1-9a-f0')

dp_sim_platform
r() { printf '{"peer":"%s","direction":"%s","protocol":"tcp","port":6000}' "$1" "$2"; }
dp_make_config h1 "h2 h3" "$(r h2 egress)" ", \"allowed_dataplane\": [\"$wrong\"]"
dp_make_config h2 "h1 h3" "$(r h1 ingress), $(r h3 ingress)"
dp_make_config h3 "h1 h2" "$(r h2 egress)" ", \"allowed_dataplane\": [\"$D\"]"
dp_policy h1 h2 h3
dp_start h2
dp_start h3
dp_start h1

check "h3 (allows this data plane) and h2 complete MAKE" dp_wait_peer h3 h2
check "h1 refuses h2" dp_wait_peer h1 h2 failed
a=$(dp_appraisal h1 h2)
echo "   h1's appraisal of h2: $a"
check "on the data-plane measurement" grep -q "runtime measurement log digest not allowed" <<<"$a"
check "h1 installed no keys for h2" [ "$(dp_peer h1 h2 tx_epoch)" = 0 ]
before=$(dp_drops h1 NO_KEY)
netns_exec h1 timeout 2 bash -c "echo x > /dev/tcp/$H2/6000" 2>/dev/null && r=0 || r=1
check "h1's packets to h2 are dropped (NO_KEY $before -> $(dp_drops h1 NO_KEY))" \
	[ "$r" = 1 -a "$(dp_drops h1 NO_KEY)" -gt "$before" ]
exit "$fails"
