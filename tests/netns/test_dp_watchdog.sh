#!/usr/bin/env bash
# The measured data plane: sealnetd records the BPF object and the loaded
# programs in its measurement log and checks every second that the
# programs attached to its interface are still those.  Replacing the
# egress program on the fly must be detected and fail closed (keys
# revoked, traffic dropped, status TAMPERED).
#
#    h1 198.18.0.1 --- br0 --- h2 198.18.0.2     (sealnetd on both)
set -eu
here=$(dirname "$0")
. "$here/dp.sh"
dp_test_begin 2
H2=$(netns_addr h2)
dp_config h1 "h2" '{"peer":"h2","direction":"egress","protocol":"tcp","port":6000}'
dp_config h2 "h1" '{"peer":"h1","direction":"ingress","protocol":"tcp","port":6000},
	{"peer":"h1","direction":"egress","protocol":"tcp","port":40000}'
dp_start h1
dp_start h2

check "h1 reports a measured data plane" [ "$(dp_status h1 | jq -r .dataplane)" = measured ]
check "with 3 measurement events (object + 2 programs)" [ "$(dp_status h1 | jq -r .mlog_events)" = 3 ]
d1=$(dp_status h1 | jq -r .mlog_digest)
d2=$(dp_status h2 | jq -r .mlog_digest)
check "both nodes measured the same data plane ($d1)" [ "$d1" = "$d2" ]
netns_exec h2 python3 "$here/tcp_sink.py" serve "$H2" 6000 >"$DP_DIR/sink" &
sink=$!
netns_wait_listen h2 6000
want=$(netns_exec h1 python3 "$here/tcp_sink.py" send "$H2" 6000 100000 WATCHDOG)
wait $sink || true # the sink prints its digest as it exits
check "traffic flows before the change" [ -n "$want" -a "$want" = "$(cat "$DP_DIR/sink")" ]

# replace h1's egress program with a foreign one, at sealnet's own handle
dp_tamper h1 || true
check "the replacement is detected within 3 s" [ "$(dp_status h1 | jq -r .dataplane)" = TAMPERED ]
check "h1 revoked h2's keys" [ "$(dp_peer h1 h2 state)" = revoked ]
check "and said so in its log" grep -q "no longer the measured one" "$DP_DIR/h1.log"
before=$(dp_drops h1 NO_KEY)
# h2 -> h1:40000 (h2's policy lets it out, sealed)
netns_exec h2 timeout 3 python3 -c "
import socket; s=socket.socket(); s.settimeout(1)
try: s.connect(('$(netns_addr h1)', 40000))
except Exception: pass" || true
after=$(dp_drops h1 NO_KEY)
check "sealed traffic from h2 is now dropped at h1 (NO_KEY $before -> $after)" [ "$after" -gt "$before" ]
exit "$fails"
