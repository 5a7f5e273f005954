#!/usr/bin/env python3
# bench/perf_classes.py [HZ [GB [N]]] — read `perf script -F comm,tid,ip,sym,dso`
# (recorded with -a -g) on stdin and sort the samples that belong to one
# network benchmark into cost classes by their leaf symbol: the BPF
# programs (ChaCha20 block, Poly1305, the rest), the helpers they call, the
# bridge and its netfilter hooks, TCP, IP, skb memory, copies, the netdev
# core, inter-processor interrupts (RPS), timers, softirq entry, the
# scheduler.  A sample is the benchmark's when its
# task is iperf3, sealnetd or a ksoftirqd thread, or its stack has
# net_rx_action, a BPF program or a tcp_ function (a receive softirq run
# on top of another engineer's compiler counts).  With HZ (the perf -F
# rate, default 999) and GB (gigabytes moved) each class is also given in
# CPU seconds per GB.  Then the N (default 30) hottest leaf symbols.
# Used by bench/profile_tcp; not a test.
import collections
import re
import sys

hz = float(sys.argv[1]) if len(sys.argv) > 1 else 999.0
gb = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
nleaf = int(sys.argv[3]) if len(sys.argv) > 3 else 30
HELPER = 'BPF helpers (load/store_bytes, change_tail, fib, csum, maps)'


def bucket(syms):
    leaf = syms[0]
    near = ' '.join(syms[:12])
    if 'sn_chacha20_block' in leaf:
        return 'BPF ChaCha20 block function'
    if 'poly1305' in leaf:
        return 'BPF Poly1305'
    if leaf.startswith('bpf_prog_'):
        return 'BPF other (entry programs, AEAD glue, loop callbacks)'
    if (leaf.startswith('bpf_') or 'csum' in leaf or leaf.startswith('fib_')
            or 'htab' in leaf or 'lookup_nulls' in leaf
            or 'array_map' in leaf or 'cls_bpf' in leaf):
        return HELPER
    for h in ('bpf_skb_change_tail', 'bpf_skb_store_bytes',
              'bpf_skb_load_bytes', 'pskb_expand_head', '__pskb_pull_tail'):
        if h in near:
            return HELPER
    if leaf.startswith(('br_nf', 'nf_', 'setup_pre_routing')):
        return 'bridge netfilter (br_nf_*, nf_*: br_netfilter loaded)'
    if leaf.startswith(('br_', '__br_', 'fdb_')):
        return 'bridge'
    if any(w in leaf for w in ('copy', 'memcpy', 'memmove', 'memset',
                               'check_object_size', 'virt_addr_valid')):
        return 'copies (user <-> kernel, skb)'
    if leaf.startswith(('tcp_', '__tcp', 'inet_csk', 'sk_', 'sock_', '__sk',
                        '__sock', 'lock_sock', 'release_sock', '__release_sock',
                        'bbr_')):
        return 'TCP, socket'
    if leaf.startswith(('ip_', '__ip', 'ipv4_', 'inet_', 'dst_', 'rt_',
                        'raw_local', 'ipv6_mod')):
        return 'IP'
    if any(w in leaf for w in ('slab', 'kmalloc', 'kmem', 'kfree', 'skb',
                               'page', 'folio', 'alloc', 'free')):
        return 'skb and memory alloc/free'
    if 'send_IPI' in near or 'net_rps_send_ipi' in near:
        return 'IPIs (RPS kicks: x2apic_send_IPI, an MSR write, a VM exit)'
    if any(w in leaf for w in ('hrtimer', 'write_msr', 'read_tsc', 'pvclock',
                               'ktime', 'clockevent', 'timer')):
        return 'timers (hrtimer, clock reads, APIC writes)'
    if 'softirq' in leaf or 'irq' in leaf:
        return 'softirq / irq entry (incl. time with irqs off)'
    if any(w in leaf for w in ('schedule', 'switch', 'wake', 'sched',
                               'enqueue', 'dequeue', 'update_')):
        return 'scheduler, wake-ups'
    if leaf.startswith(('netif', '__netif', 'net_', '__dev', 'dev_', 'veth',
                        'validate_xmit', 'sch_', 'tc_', '__tcf', 'tcf',
                        'process_backlog', 'napi', 'gro', 'eth_', 'rps',
                        'get_rps', 'skb_defer', 'enqueue_to_backlog')):
        return 'netdev core, veth, tc, RPS'
    return 'other kernel'


cats = collections.Counter()
leafs = collections.Counter()
tot = 0
allsamp = 0
cur = None
fr = []


def flush():
    global tot, allsamp
    if cur is None:
        return
    allsamp += 1
    syms = [f[0] for f in fr]
    s = ' '.join(syms)
    mine = (cur in ('iperf3', 'sealnetd') or cur.startswith('ksoftirqd')
            or 'net_rx_action' in s or 'bpf_prog_' in s or 'tcp_' in s)
    if not mine or not syms:
        return
    tot += 1
    if 'kernel' not in fr[0][1] and not syms[0].startswith('bpf_prog_'):
        b = 'user space (iperf3, sealnetd)'
    else:
        b = bucket(syms)
    cats[b] += 1
    leafs[syms[0]] += 1


for line in sys.stdin:
    if not line.strip():
        flush()
        cur = None
        fr = []
        continue
    if not line.startswith((' ', '\t')):
        cur = line.split()[0]
        fr = []
        continue
    m = re.match(r'\s+[0-9a-f]+ (.*) \((.*)\)$', line.rstrip())
    if m:
        fr.append((re.sub(r'\+0x[0-9a-f]+$', '', m.group(1)), m.group(2)))
flush()
if not tot:
    print('no benchmark samples')
    sys.exit(0)
print('benchmark samples: %d of %d (%.2f CPU s)%s' %
      (tot, allsamp, tot / hz,
       (', %.2f CPU s/GB' % (tot / hz / gb)) if gb else ''))
for k, v in cats.most_common():
    print('%6.1f%%  %-62s %s' % (100.0 * v / tot, k,
                                 ('%6.2f s/GB' % (v / hz / gb)) if gb else ''))
print('top leaf symbols:')
for k, v in leafs.most_common(nleaf):
    print('%6.1f%%  %s' % (100.0 * v / tot, k))
