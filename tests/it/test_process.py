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


# -- item 6: a log descriptor number stays valid across reloads ------------

def test_access_log_off_keeps_number_on_dev_null():
    with Server(conf={'workers': '1'}) as s:
        log = s.tpath('access.log')
        s.write_config(dict(s.conf, access_log=log))
        s.send_signal(signal.SIGHUP)
        _reloaded(s, 1)
        nums = [n for n, t in _fd_targets(s.pid).items() if t == log]
        eq(len(nums), 1, 'descriptors open on the access log')
        num = nums[0]
        base = s.fd_count()
        for i in range(3):
            # off: a worker may already have loaded the number; it must
            # never name a file or a client socket opened later
            s.write_config(dict(s.conf, access_log='off'))
            s.send_signal(signal.SIGHUP)
            _reloaded(s, 2 + 2 * i)
            crowd = [s.conn() for _ in range(3)]   # would take a freed number
            for c in crowd:
                eq(c.request('/missing').status, 404, 'request while the log is off')
            eq(_fd_targets(s.pid).get(num), '/dev/null',
               'descriptor %d after access_log off (cycle %d)' % (num, i))
            for c in crowd:
                c.close()
            s.write_config(dict(s.conf, access_log=log))
            s.send_signal(signal.SIGHUP)
            _reloaded(s, 3 + 2 * i)
            eq(s.get('/missing?%d' % i).status, 404, 'logged request')
            wait_for(lambda: ('/missing?%d' % i) in open(log).read(), timeout=2,
                     msg='the access log line of cycle %d' % i)
        wait_for(lambda: s.fd_count() <= base, timeout=3,
                 msg='no descriptor leaked by off/on cycles (%d at start)' % base)


# -- item 9: a second instance on the same address -------------------------

def test_second_instance_refused():
    with Server(conf={'pid_file': 'zc.pid'}) as s:
        s.put('who.txt', b'first\n')
        pid_path = s.tpath('zc.pid')
        eq(open(pid_path).read().strip(), str(s.pid), 'pid file of the first instance')
        out = s.tpath('second.out')
        with open(out, 'wb') as f:
            p = subprocess.Popen([BINARY, '-c', s.conf_path], stdin=subprocess.DEVNULL,
                                 stdout=f, stderr=f, cwd=s.cwd)
        try:
            rc = p.wait(5)
        except subprocess.TimeoutExpired:
            rc = None
            p.kill()
            p.wait(5)
        text = open(out, errors='replace').read()
        check(rc is not None, 'a second instance on the same address started and kept '
              'running; its output:\n' + text)
        check(rc != 0, 'second instance exited with status 0')
        eq(len(re.findall(r'Address already in use', text)), 1,
           '"Address already in use" lines in %r' % text)
        check('127.0.0.1:%d' % s.port in text, 'the message names the address: %r' % text)
        eq(open(pid_path).read().strip(), str(s.pid), 'pid file after the refused start')
        for _ in range(20):
            eq(s.get('/who.txt').body, b'first\n', 'served by the first instance')


# -- item 3: descriptor limits ---------------------------------------------

def _soft_nofile(n):
    def f():
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))
    return f


@time_limit(60)
def test_soft_limit_raised_3000_idle_connections():
    n = 3000
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < n + 1200:
        skip('hard RLIMIT_NOFILE %d is too low for %d connections here' % (hard, n))
    with Server(conf={'workers': '1', 'keepalive_timeout': '60s', 'header_timeout': '60s'},
                preexec=_soft_nofile(1024)) as s:
        s.put('a.txt', b'served\n')
        crowd = []
        try:
            for i in range(n):
                c = Conn(s.port, timeout=5)
                c.send_request('/a.txt')
                crowd.append(c)
            t0 = time.monotonic()
            r = s.get('/a.txt', timeout=5)
            eq(r.status, 200, 'request after %d idle connections' % n)
            check(time.monotonic() - t0 < 5, 'answered within 5 s')
        finally:
            for c in crowd:
                c.close()
        soft, shard = resource.prlimit(s.pid, resource.RLIMIT_NOFILE)
        eq(soft, shard, 'soft descriptor limit raised to the hard one')
        check(re.search(r'descriptors: limit %d' % soft, s.output()),
              'the descriptor budget is logged at start:\n' + s.output_tail())


def test_worker_rlimit_nofile():
    with Server(conf={'workers': '1', 'worker_rlimit_nofile': '2000'},
                preexec=_soft_nofile(1024)) as s:
        eq(resource.prlimit(s.pid, resource.RLIMIT_NOFILE)[0], 2000,
           'soft limit set by worker_rlimit_nofile')
        check(re.search(r'descriptors: limit 2000\b', s.output()),
              'the budget is logged:\n' + s.output_tail())
        eq(s.get('/missing').status, 404, 'serving')


@time_limit(40)
def test_emfile_evicts_idle_cache_entries():
    """Cold files in the open-file cache give their descriptors to new
    connections, and any idle one to a file asked for, instead of the
    connection waiting or the request getting 503."""
    limit, files = 128, 80
    with Server(conf={'workers': '1', 'worker_rlimit_nofile': str(limit),
                      'keepalive_timeout': '30s', 'header_timeout': '30s',
                      'file_leases': 'off'}) as s:
        for i in range(files):
            s.put('f%d.txt' % i, b'file %d\n' % i)
        s.put('late.txt', b'late\n')
        with s.conn() as c:
            for i in range(files):
                eq(c.request('/f%d.txt' % i).status, 200, 'f%d.txt' % i)
        base = s.fd_count()
        check(base >= files, 'the cache holds %d descriptors (%d open)' % (files, base))
        crowd = []
        try:
            # 40 connections more than there were free descriptors: each
            # is served (the status page opens no file), cold cached files
            # giving theirs; then fill what those left free
            want = limit - base + 40
            while len(crowd) < want or (s.fd_count() < limit and len(crowd) < 2 * limit):
                c = Conn(s.port, timeout=3)
                crowd.append(c)
                eq(c.request(s.status_path).status, 200,
                   'connection %d (%d descriptors were free)' % (len(crowd), limit - base))
            eq(s.fd_count(), limit, 'descriptors in use')
            r = crowd[0].request('/late.txt')
            eq(r.status, 200, 'a file opened with every descriptor in use')
            eq(r.body, b'late\n', 'its body')
        finally:
            for c in crowd:
                c.close()


if __name__ == '__main__':
    main()
