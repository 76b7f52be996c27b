#!/usr/bin/env python3
"""bench/profile/classify.py - where a server's CPU goes, in µs per response.

Reads a `perf record -e cpu-clock -F 4999 -g` profile of the server and
sorts every sample by its whole call stack into categories (the TCP send
and the loopback receive it runs inline, fstat, recv, io_uring, epoll, user
space, ...). Classifying by stack rather than by leaf symbol matters in a
VM, where cpu-clock charges interrupt-disabled time to the next point that
enables interrupts. Used by bench/profile/profile.sh."""
import collections
import re
import subprocess
import sys


def classify(frames, leaf_user):
    s = set(frames)
    def has(*n): return any(x in s for x in n)
    if has('__do_sys_newfstatat','__GI___fstatat64','vfs_fstat','__x64_sys_newfstatat'): return 'fstat'
    if has('tcp_sendmsg','tcp_sendmsg_locked'):
        return 'tcp_send: softirq (loopback rx side)' if has('net_rx_action') else 'tcp_send: tx path'
    if has('net_rx_action'): return 'softirq other (ACK rx etc.)'
    if has('do_sendfile','splice_direct_to_actor'): return 'sendfile: splice/page-cache (excl tcp)'
    if has('tcp_recvmsg','tcp_recvmsg_locked'): return 'tcp_recv'
    if has('__x64_sys_pread64','vfs_read','__x64_sys_read') : return 'read/pread (file or sock)'
    if has('io_arm_apoll','__io_arm_poll_handler','io_poll_wake','io_queue_async'): return 'io_uring: poll arm/wake'
    if has('__io_run_local_work','io_req_task_submit'): return 'io_uring: task work (other)'
    if has('__do_sys_io_uring_enter','io_submit_sqes','io_cqring_wait'): return 'io_uring: enter/submit/wait other'
    if has('do_epoll_wait','do_epoll_ctl','__x64_sys_epoll_wait','__x64_sys_epoll_ctl'): return 'epoll'
    if has('__x64_sys_writev','do_writev','sock_write_iter'): return 'writev other'
    if has('__x64_sys_setsockopt','do_sock_setsockopt'): return 'setsockopt (cork)'
    if has('do_syscall_64','entry_SYSCALL_64_after_hwframe'): return 'syscall entry/exit/other'
    if leaf_user: return 'user space'
    return 'kernel other (irq/timer)'


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: classify.py PERF.DATA RESPONSES  (perf record -e cpu-clock -F 4999 -g)')
    data, responses = sys.argv[1], float(sys.argv[2])
    out = subprocess.run(['perf', 'script', '-i', data, '-F', 'ip,sym,dso'],
                         capture_output=True, text=True).stdout
    cnt = collections.Counter()
    for block in out.split('\n\n'):
        lines = [l.strip() for l in block.strip().split('\n') if l.strip()]
        if not lines:
            continue
        frames = [re.sub(r'\+0x[0-9a-f]+$', '', l.split(None, 1)[1].rsplit(' (', 1)[0])
                  for l in lines if len(l.split(None, 1)) > 1]
        cnt[classify(frames, 'kernel.kallsyms' not in lines[0])] += 1
    per = 1e6 / 4999.0 / responses
    total = sum(cnt.values())
    for k, v in cnt.most_common():
        print('  %-44s %7.3f us/resp  %5.1f%%' % (k, v * per, 100.0 * v / total))
    print('  %-44s %7.3f us/resp' % ('total (server task)', total * per))


if __name__ == '__main__':
    main()
