#!/usr/bin/env bash
# The demo itself: $1 = build directory.
set -eu
B=$1
. tests/netns/lib.sh
netns_init
netns_topology 2
echo "== two hosts: h1 $(netns_addr h1), h2 $(netns_addr h2)"
netns_exec h1 ping -c 3 -i 0.2 "$(netns_addr h2)"
echo "== kernel AEAD self-test"
"$B/cli/sealnet" selftest
