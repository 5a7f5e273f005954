#!/usr/bin/env python3
# bench/perf_pipe.py DIR/perf-TAG [...] — where the CPU of a pipeline run
# goes, from `bench/compare --perf` (perf record -a -g -e cpu-clock around
# one bench/pipeline_stage run, the benchmark's thread ids in TAG.tids).
# For each TAG (several are summed: e.g. the runs of one mode) the samples
# of the benchmark's own threads (.tids: sealnetd, stunnel, the stages),
# of the ksoftirqd threads and of the idle task are sorted by role and,
# within a role, by path: user space by library, kernel by the system
# call on the stack (sendmmsg = the engine's UDP send with all the stack
# runs inline in it: veth, bridge, the next host's IP/UDP receive;
# tcp_sendmsg = a TCP send with its inline transmit, ...).  Figures are
# CPU milliseconds per run (the sample periods of the cpu-clock event),
# then the N (default 20, --leaves=N) hottest kernel leaf symbols of the
# benchmark.  A sample counts as ours only by thread id, so others'
# sealnetd or stunnel on a shared machine are left out; softirq work that
# ran on our threads' time is ours whoever it was for (e.g. another
# engineer's BPF sealing), and ksoftirqd is anyone's.  Not a test.
import collections
import os
import re
import subprocess
import sys

args = [a for a in sys.argv[1:] if not a.startswith('--')]
nleaf = 20
for a in sys.argv[1:]:
    if a.startswith('--leaves='):
        nleaf = int(a.split('=', 1)[1])
if not args or '--help' in sys.argv:
    print(open(__file__).read().split('\nimport')[0].replace('# ', '')
          .replace('#!/usr/bin/env python3\n', ''))
    sys.exit(0 if '--help' in sys.argv else 2)

PATHS = (
    ('__x64_sys_sendmmsg', 'sendmmsg: UDP out, veth, bridge, next host\'s UDP receive (inline)'),
    ('__x64_sys_recvmmsg', 'recvmmsg: UDP receive, copy'),
    ('tun_chr_write_iter', 'write to TUN: inner IP + TCP receive, wake-up of the stage'),
    ('tun_chr_read_iter', 'read from TUN: copy'),
    ('tcp_sendmsg', 'TCP send + inline transmit (TUN, or veth/bridge/next host\'s TCP receive)'),
    ('tcp_recvmsg', 'TCP receive: copy, ACKs'),
    ('__x64_sys_poll', 'poll / epoll / select: wait'),
    ('__x64_sys_ppoll', 'poll / epoll / select: wait'),
    ('__x64_sys_epoll_wait', 'poll / epoll / select: wait'),
    ('__x64_sys_select', 'poll / epoll / select: wait'),
    ('__x64_sys_pselect6', 'poll / epoll / select: wait'),
    ('__x64_sys_futex', 'futex'),
    ('asm_exc_page_fault', 'page faults'),
    ('handle_softirqs', 'softirq run on this task (after an interrupt)'),
    ('schedule', 'scheduling'),
    ('do_syscall_64', 'other system calls'),
)


def classify(frames):
    if not frames:
        return 'unknown'
    syms = [f[0] for f in frames]
    leaf_dso = frames[0][1]
    if 'libcrypto' in leaf_dso:
        return 'user: libcrypto'
    if 'libssl' in leaf_dso:
        return 'user: libssl'
    if 'kernel' not in leaf_dso:
        return 'user: other'
    s = ' '.join(syms)
    for key, name in PATHS:
        if key in s:
            return 'kernel: ' + name
    return 'kernel: other'


def role(comm, tid, tids):
    if comm.startswith('ksoftirqd'):
        return 'ksoftirqd (anyone\'s)'
    if comm == 'swapper':
        return 'idle (swapper)'
    if tid in tids:
        if comm in ('sealnetd', 'stunnel', 'pipeline_stage'):
            return comm
        if comm.startswith('sn-') or comm.startswith('stunnel'):
            return comm
        return 'other of ours (%s)' % comm
    return None


table = collections.defaultdict(collections.Counter)
totals = collections.Counter()
leafs = collections.Counter()
runs = 0
for tag in args:
    tids = set()
    if os.path.exists(tag + '.tids'):
        tids = {int(x) for x in open(tag + '.tids').read().split() if x.isdigit()}
    runs += 1
    out = subprocess.run(['perf', 'script', '-i', tag + '.data', '-F',
                          'comm,tid,period,ip,sym,dso'],
                         capture_output=True, text=True).stdout
    cur = None
    fr = []

    def flush():
        if cur is None:
            return
        comm, tid, period = cur
        r = role(comm, tid, tids)
        totals['all'] += period
        if r is None:
            totals['others'] += period
            return
        p = classify(fr)
        table[r][p] += period
        totals[r] += period
        if r not in ('idle (swapper)',) and fr and 'kernel' in fr[0][1]:
            leafs[fr[0][0]] += period

    for line in out.splitlines():
        if not line.strip():
            flush()
            cur = None
            fr = []
            continue
        if not line.startswith((' ', '\t')):
            m = re.match(r'\s*(.+?)\s+(\d+)\s+(\d+)\s*$', line)
            if m:
                cur = (m.group(1), int(m.group(2)), int(m.group(3)))
            fr = []
            continue
        m = re.match(r'\s+[0-9a-f]+ (.*) \((.*)\)$', line.rstrip())
        if m:
            fr.append((re.sub(r'\+0x[0-9a-f]+$', '', m.group(1)), m.group(2)))
    flush()

ms = 1e6 * runs  # ns -> ms per run
print('runs: %d; per run: all CPU %.0f ms, of it other processes %.0f ms'
      % (runs, totals['all'] / ms, totals['others'] / ms))
order = sorted(table, key=lambda r: -totals[r])
for r in order:
    print('%-34s %7.1f ms' % (r, totals[r] / ms))
    for p, v in table[r].most_common():
        if v / ms >= 0.5:
            print('    %-88s %7.1f' % (p, v / ms))
print('hottest kernel leaf symbols (benchmark, ksoftirqd), ms per run:')
for k, v in leafs.most_common(nleaf):
    print('  %7.1f  %s' % (v / ms, k))
