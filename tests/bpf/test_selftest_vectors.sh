#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `sealnet selftest --vectors`: the generated vector file passes (exit 0);
# a copy with one valid vector's tag corrupted and one invalid vector
# marked valid fails (exit 1) naming both tcIds; usage errors exit 2.
set -u
sealnet=$1
vectors=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (BPF_PROG_TEST_RUN)"
	exit 77
fi

"$sealnet" selftest --vectors "$vectors" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ $rc -eq 0 ] || fail "good vector file: exit $rc, want 0"
grep -q "0 failed" "$tmp/out" || fail "no summary line"

"$sealnet" selftest --quiet >"$tmp/out" 2>&1 || fail "KAT: exit $?"
[ -s "$tmp/out" ] && fail "KAT --quiet printed: $(cat "$tmp/out")"

# the wrong file: tcId 1 (valid) gets a wrong tag, and the first invalid
# vector is relabelled valid
python3 - "$vectors" "$tmp/bad.json" <<'PY' || fail "cannot build the bad file"
import json, sys
d = json.load(open(sys.argv[1]))
tests = [t for g in d["testGroups"] for t in g["tests"]]
t1 = next(t for t in tests if t["tcId"] == 1)
t1["tag"] = ("0" if t1["tag"][0] != "0" else "1") + t1["tag"][1:]
inv = next(t for t in tests if t["result"] == "invalid")
inv["result"] = "valid"
open(sys.argv[2], "w").write(json.dumps(d))
print(inv["tcId"])
PY
bad_inv=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next(t["tcId"] for g in d["testGroups"] for t in g["tests"] if t["result"]=="invalid"))' "$vectors")
"$sealnet" selftest --vectors "$tmp/bad.json" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ $rc -eq 1 ] || fail "bad vector file: exit $rc, want 1"
grep -q "^FAIL tcId 1: " "$tmp/out" || fail "tcId 1 not named"
grep -q "^FAIL tcId $bad_inv: " "$tmp/out" || fail "tcId $bad_inv not named"
[ "$(grep -c '^FAIL ' "$tmp/out")" -eq 2 ] || fail "want exactly 2 failures"

"$sealnet" selftest --vectors "$tmp/missing.json" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "missing file: exit $rc, want 2"
echo '{"testGroups": [' >"$tmp/trunc.json"
"$sealnet" selftest --vectors "$tmp/trunc.json" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "malformed file: exit $rc, want 2"
"$sealnet" selftest --bogus >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "bad option: exit $rc, want 2"
"$sealnet" selftest --help | grep -q "exit status" || fail "--help"
echo "PASS"
