#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write a workflow manifest for N local nodes (sealnet deploy tests and
bench/cluster): a pipeline of one-node stages p1 -> p2 -> ... -> pK, whose
last stage sends to every node of an all-to-all stage `mesh` (M nodes,
every node to every other).  All sim TEE, one domain.

  gen_manifest.py N PUBHEX [--mesh M] [--measurements FILE] [--cgroup DIR]

PUBHEX: the domain's Ed25519 public key (sealnet workflow keygen).
--measurements: the JSON `sealnet deploy --print-measurements` printed
(ARK hash and each node's launch measurement); without it, placeholders
(enough for --print-measurements itself, which does not depend on them).
"""
import argparse
import json
import sys

ZERO48 = "00" * 48


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("pub")
    ap.add_argument("--mesh", type=int, default=None)
    ap.add_argument("--measurements")
    ap.add_argument("--name", default="bench")
    ap.add_argument("--cgroup", help="stage p1's identity: this cgroup v2 directory")
    a = ap.parse_args()
    n = a.n
    mesh = a.mesh if a.mesh is not None else min(10, n // 2)
    if n < 2 or mesh > n or n > 1000:
        sys.exit("gen_manifest: need 2 <= N <= 1000 and MESH <= N")
    meas, ark = {}, "00" * 32
    if a.measurements:
        m = json.load(open(a.measurements))
        meas, ark = m["measurements"], m["ark_spki_sha256"]
    names = [f"n{i + 1}" for i in range(n)]
    nodes = [{"name": nm, "domain": "d", "id": i + 1,
              "address": f"198.18.{i // 200}.{i % 200 + 1}", "tee": "sim"}
             for i, nm in enumerate(names)]

    def ref(ns):
        ms = sorted({meas.get(x, ZERO48) for x in ns})
        return {"tee": "sim", "measurements": ms, "sim_ark_spki_sha256": [ark]}

    k = n - mesh
    stages, flows = [], []
    for i in range(k):
        ident = {"local_ports": [7000 + i + 1]}
        if i == 0 and a.cgroup:
            ident = {"cgroup": a.cgroup}
        stages.append({"name": f"p{i + 1}", "domain": "d", "nodes": [names[i]],
                       "identity": ident,
                       "reference": ref([names[i]])})
        if i:
            flows.append({"from": f"p{i}", "to": f"p{i + 1}",
                          "protocol": "tcp" if i % 2 else "udp",
                          "port": 5000 + i})
    if mesh:
        mn = names[k:]
        stages.append({"name": "mesh", "domain": "d", "nodes": mn,
                       "identity": {"local_ports": [7999]},
                       "reference": ref(mn)})
        if k:
            flows.append({"from": f"p{k}", "to": "mesh", "protocol": "tcp",
                          "port": 6000})
        if mesh > 1:
            flows.append({"from": "mesh", "to": "mesh", "protocol": "udp",
                          "port": 6001})
    doc = {"sealnet_workflow": 1, "name": a.name, "version": 1,
           "lifetimes": {"rekey_interval_s": 120, "session_lifetime_s": 300},
           "domains": [{"id": "d", "keys": [{"id": "d-key", "ed25519": a.pub}]}],
           "nodes": nodes, "stages": stages, "flows": flows}
    json.dump(doc, sys.stdout, indent=1)
    print()


main()
