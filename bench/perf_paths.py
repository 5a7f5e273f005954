#!/usr/bin/env python3
# bench/perf_paths.py COMMS [N] — read `perf script -F comm,tid,ip,sym,dso`
# (recorded with -g) on stdin; for the samples of the comma-separated
# COMMS (e.g. sealnetd,iperf3) print the share of samples per path: user
# space by library (libcrypto = the AEAD), kernel by the system call or
# entry on the stack (sendmmsg = the engine's UDP send with everything
# the stack runs inline: GSO, veth, bridge, the peer's receive softirq;
# write to TUN = the inner packet's receive, IP and TCP; ...), then the
# N (default 25) hottest leaf symbols.  Used by bench/profile_tcp.
import sys, re, collections
cats = collections.Counter(); leafs = collections.Counter(); total = 0
comms = set(sys.argv[1].split(',')) if len(sys.argv) > 1 else None
def classify(frames, comm):
    if not frames: return 'unknown'
    syms = [f[0] for f in frames]
    dsos = [f[1] for f in frames]
    leaf_dso = dsos[0] if dsos else ''
    s = ' '.join(syms)
    if 'libcrypto' in leaf_dso: return 'user: libcrypto (AEAD)'
    if 'kernel' not in leaf_dso:
        return 'user: ' + (syms[0] if syms[0] in ('sn_eng_csum_add','OPENSSL_cleanse') else 'other (%s)' % leaf_dso.split('/')[-1])
    # kernel: by syscall / entry
    for key, name in (('__x64_sys_sendmmsg', 'kernel: sendmmsg (UDP tx, GSO, veth, bridge, peer rx)'),
                      ('__x64_sys_recvmmsg', 'kernel: recvmmsg (UDP rx copy)'),
                      ('tun_chr_write_iter', 'kernel: write to TUN (inner rx: IP, TCP)'),
                      ('tun_chr_read_iter', 'kernel: read from TUN (copy)'),
                      ('__x64_sys_poll', 'kernel: poll'), ('__x64_sys_ppoll', 'kernel: poll'),
                      ('tcp_sendmsg', 'kernel: iperf3 send (TCP, TUN xmit)'),
                      ('tcp_recvmsg', 'kernel: iperf3 recv'),
                      ('schedule', 'kernel: scheduling'),
                      ('handle_softirqs', 'kernel: softirq (other)'),
                      ('asm_exc_page_fault', 'kernel: page faults'),
                      ('do_syscall_64', 'kernel: other syscalls')):
        if key in s: return name
    return 'kernel: other'
cur = None; frames = []
def flush():
    global total
    if cur is None: return
    if comms and cur not in comms: return
    total += 1
    cats[classify(frames, cur)] += 1
    if frames: leafs[frames[0][0] + ' [' + frames[0][1].split('/')[-1] + ']'] += 1
for line in sys.stdin:
    if not line.strip():
        flush(); cur = None; frames = []; continue
    if not line.startswith((' ', '\t')):
        cur = line.split()[0]; frames = []; continue
    m = re.match(r'\s+[0-9a-f]+ (.*) \((.*)\)$', line.rstrip())
    if m:
        sym = re.sub(r'\+0x[0-9a-f]+$', '', m.group(1)); frames.append((sym, m.group(2)))
flush()
print('samples: %d' % total)
for k, v in cats.most_common(): print('%6.1f%%  %s' % (100.0 * v / total, k))
print('top leaf symbols:')
for k, v in leafs.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 25): print('%6.1f%%  %s' % (100.0 * v / total, k))
