#!/usr/bin/env python3
"""The process as a whole: descriptor limits (raised at start,
worker_rlimit_nofile, the open-file cache giving way to connections),
reload when a worker cannot open the root, log descriptors across
reloads, and a second instance on an address already served."""

import resource

from zctest import *


def _limit_nofile(n):
    """preexec: soft and hard limit n, so that raising soft to hard at
    start changes nothing and the test knows the budget exactly."""
    def f():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return f


def _fd_targets(pid):
    out = {}
    for d in os.listdir('/proc/%d/fd' % pid):
        try:
            out[int(d)] = os.readlink('/proc/%d/fd/%s' % (pid, d))
        except OSError:
            pass
    return out


def _reloaded(s, n):
    """Wait for the n-th 'configuration reloaded' line."""
    wait_for(lambda: s.output().count('configuration reloaded') >= n, timeout=3,
             msg='reload %d to be logged' % n)


# -- item 2: a worker that cannot open the new root at reload ---------------

@time_limit(40)
def test_reload_root_unopenable_then_served():
    limit = 40
    with Server(conf={'workers': '1', 'keepalive_timeout': '30s', 'header_timeout': '30s',
                      'file_leases': 'off'},
                preexec=_limit_nofile(limit)) as s:
        s.put('a.txt', b'old root\n')
        os.mkdir(s.tpath('www2'))
        write_file(s.tpath('www2/b.txt'), b'new root\n')
        crowd = []
        try:
            # exactly one descriptor left: the reload takes it for the new
            # access log, so the worker's open(root) meets EMFILE (the
            # fillers ask for a missing file: no cache entry to drop then)
            while limit - s.fd_count() > 1:
                c = s.conn()
                eq(c.request('/missing').status, 404, 'filler connection %d' % len(crowd))
                crowd.append(c)
            eq(limit - s.fd_count(), 1, 'free descriptors before the reload')
            s.write_config(dict(s.conf, root='www2', access_log=s.tpath('access.log')))
            s.send_signal(signal.SIGHUP)
            _reloaded(s, 1)
            wait_for(lambda: re.search(r'root "[^"]*www2": Too many open files', s.output()),
                     timeout=3, msg='the worker to fail opening the new root')
        finally:
            for c in crowd:
                c.close()
        # the connections that held the old config are gone: only the
        # new config is left to the worker
        wait_for(lambda: limit - s.fd_count() > 5, timeout=5, msg='descriptors to be freed')
        r = s.get('/b.txt')
        eq(r.status, 200, 'file of the new root once descriptors are free')
        eq(r.body, b'new root\n', 'body from the new root')
        eq(s.get('/a.txt').status, 404, 'the old root is no longer served')


if __name__ == '__main__':
    main()
