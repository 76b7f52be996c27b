#!/usr/bin/env python3
"""Signals: SIGTERM graceful stop (in-flight downloads, shutdown_timeout,
idle keep-alive connections), SIGHUP reload under load and with a bad
config, SIGUSR1 log reopening, pid_file."""

from zctest import *

MiB = 1 << 20


def _connect_refused_or_unserved(port):
    """True if a new connection to port is refused, or accepted and closed
    without a response."""
    try:
        c = Conn(port, timeout=2)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    try:
        try:
            c.send_request('/zc-alive.txt')
        except OSError:
            return True
        closed, extra = c.wait_closed(1.5)
        return closed and not extra.startswith(b'HTTP/1.1 200')
    finally:
        c.close()


@time_limit(30)
def test_sigint_graceful_like_sigterm():
    """README (Signals): INT is a graceful stop like TERM: a download in
    progress completes, new connections are not served, exit status 0."""
    with Server(conf={'shutdown_timeout': '8s', 'send_timeout': '10s'}) as s:
        data = s.put('big.bin', rand_bytes(8 * MiB))
        s.put('zc-alive.txt', b'alive\n')
        with Conn(s.port, rcvbuf=64 * 1024, timeout=10) as c:
            c.send_request('/big.bin')
            eq(Response.parse_head(c.read_head()).status, 200, 'download status')
            got = bytearray(c.buf)
            c.buf.clear()
            got += c.read_exact(256 * 1024)
            got += c.buf
            c.buf.clear()
            s.send_signal(signal.SIGINT)
            time.sleep(0.5)
            check(s.alive(), 'the server exited on SIGINT with a download in progress')
            check(_connect_refused_or_unserved(s.port), 'a new connection was served after '
                  'SIGINT')
            while len(got) < len(data):
                d = c._recv(256 * 1024)
                check(d, 'download cut off at %d of %d bytes after SIGINT'
                      % (len(got), len(data)))
                got += d
            eq(bytes(got), data, 'download completed across SIGINT')
        eq(s.wait_exit(3), 0, 'exit status 3 s after SIGINT and the download\'s end')


@time_limit(40)
def test_sigterm_graceful_inflight_download():
    with Server(conf={'shutdown_timeout': '8s', 'send_timeout': '10s'}) as s:
        data = s.put('big.bin', rand_bytes(16 * MiB))
        s.put('zc-alive.txt', b'alive\n')
        c = Conn(s.port, rcvbuf=64 * 1024, timeout=10)
        c.send_request('/big.bin')
        got = bytearray()
        head = Response.parse_head(c.read_head())
        eq(head.status, 200, 'download status')
        got += c.buf
        c.buf.clear()
        t_sig = None
        checked_refused = None
        while len(got) < len(data):
            d = c._recv(64 * 1024)
            if not d:
                raise AssertionError('download cut off at %d of %d bytes after SIGTERM%s'
                                     % (len(got), len(data), s.output_tail()))
            got += d
            time.sleep(0.006)
            if t_sig is None and len(got) >= MiB:
                s.send_signal(signal.SIGTERM)
                t_sig = time.monotonic()
            if t_sig and checked_refused is None and time.monotonic() - t_sig > 0.5:
                checked_refused = _connect_refused_or_unserved(s.port)
        t_done = time.monotonic()
        check(t_sig is not None, 'never sent SIGTERM')
        check(t_done - t_sig > 0.6, 'download finished too fast (%.2fs) to test a graceful stop'
              % (t_done - t_sig))
        eq(bytes(got), data, 'download completed across SIGTERM')
        rc = s.wait_exit(3)
        check(rc is not None, 'server still running 3s after the last in-flight download ended')
        eq(rc, 0, 'exit status after SIGTERM')
        check(checked_refused is not None, 'download ended before the refusal check')
        check(checked_refused, 'a new connection 0.5s after SIGTERM was not refused '
              '(served, or accepted and left hanging)')
        check(_connect_refused_or_unserved(s.port), 'connection accepted after exit')


@time_limit(30)
def test_sigterm_shutdown_timeout_expires():
    with Server(conf={'shutdown_timeout': '1s', 'send_timeout': '30s'}) as s:
        s.put('big.bin', rand_bytes(32 * MiB))
        c = Conn(s.port, rcvbuf=32 * 1024, timeout=5)
        c.send_request('/big.bin')
        eq(Response.parse_head(c.read_head()).status, 200, 'download status')
        time.sleep(0.3)          # the client stalls; the server's buffers fill
        t0 = time.monotonic()
        s.send_signal(signal.SIGTERM)
        rc = s.wait_exit(4)
        dt = time.monotonic() - t0
        check(rc is not None, 'server still running 4s after SIGTERM with shutdown_timeout 1s'
              ' and a stalled download')
        eq(rc, 0, 'exit status')
        check(dt > 0.5, 'server exited after %.2fs, before shutdown_timeout 1s' % dt)
        n = len(c.buf) + len(c.read_until_close(5, limit=40 * MiB))
        check(n < 32 * MiB, 'the stalled download completed (%d bytes)' % n)


def test_sigterm_closes_idle_keepalive():
    with Server(conf={'shutdown_timeout': '10s', 'keepalive_timeout': '30s'}) as s:
        s.put('a.txt', b'a\n')
        conns = [s.conn() for _ in range(3)]
        for c in conns:
            eq(c.request('/a.txt').status, 200, 'request')
        conns.append(s.conn())      # connected, never sent anything
        time.sleep(0.2)
        t0 = time.monotonic()
        s.send_signal(signal.SIGTERM)
        rc = s.wait_exit(3)
        check(rc is not None, 'server waits for idle keep-alive connections on SIGTERM '
              '(still running after 3s)')
        eq(rc, 0, 'exit status')
        for i, c in enumerate(conns[:3]):
            c.assert_closed(1, 'idle keep-alive connection %d after SIGTERM' % i)
            c.close()
        # the never-used one may still sit unaccepted (TCP_DEFER_ACCEPT keeps
        # it in SYN-RECV on the server side, so no FIN comes): a request on it
        # must be reset, never answered
        c = conns[3]
        try:
            c.send_request('/a.txt')
        except OSError:
            pass
        c.assert_closed(1, 'never-used connection after SIGTERM')
        c.close()


def _reload_conf(gen):
    return {'default_type': 'application/x-gen%d' % gen, 'index': 'i%d.html' % gen,
            'keepalive_timeout': '10s'}


@time_limit(40)
def test_sighup_reload_under_load():
    s = Server(conf=_reload_conf(0))
    data = s.put('data.bin', rand_bytes(20000))
    s.put('noext', b'no extension\n')
    for g in range(4):
        s.put('d/i%d.html' % g, b'index %d\n' % g)
    with s:
        pid = s.pid
        stop = threading.Event()
        failures, counts = [], {'ok': 0}
        lock = threading.Lock()

        def worker(n):
            c, used = None, 0
            while not stop.is_set():
                try:
                    if c is None:
                        c, used = Conn(s.port, timeout=5), 0
                    path = '/data.bin' if n % 2 == 0 else '/noext'
                    c.send_request(path)
                    r = c.read_response()
                # README: SIGHUP reloads "without dropping connections".
                # keepalive_timeout (10s) is longer than the test, so a
                # connection the server closes or resets was dropped.
                except Exception as e:
                    if c is not None:
                        c.close()
                    c = None
                    with lock:
                        failures.append('worker %d (request %d on its connection): '
                                        '%s: %s' % (n, used + 1, type(e).__name__, e))
                    continue
                used += 1
                want = data if path == '/data.bin' else b'no extension\n'
                with lock:
                    if r.status != 200 or r.body != want:
                        failures.append('worker %d: %s -> %d (%d bytes)'
                                        % (n, path, r.status, len(r.body)))
                    else:
                        counts['ok'] += 1
                if 'close' in r.conn_tokens():
                    with lock:
                        failures.append('worker %d: Connection: close on request %d'
                                        % (n, used))
                    c.close()
                    c = None
            if c is not None:
                c.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.4)
            for gen in (1, 2, 3):
                s.write_config(conf=_reload_conf(gen))
                s.send_signal(signal.SIGHUP)
                want = 'application/x-gen%d' % gen
                # Each worker takes the new configuration from its mailbox
                # in its own time: wait until fresh connections (SO_REUSEPORT
                # spreads them over both workers) all see it.
                def reloaded():
                    for _ in range(6):
                        if s.get('/noext').get('Content-Type') != want:
                            return False
                    return True
                wait_for(reloaded, timeout=3,
                         msg='default_type %s after SIGHUP %d' % (want, gen))
                r = s.get('/d/')
                eq((r.status, r.body), (200, b'index %d\n' % gen), 'index after reload %d' % gen)
                time.sleep(0.6)
        finally:
            stop.set()
            for t in threads:
                t.join(10)
                check(not t.is_alive(), 'a client thread still runs 10 s after the stop')
        s.check_alive()
        eq(s.pid, pid, 'server pid')
        check(not failures, '%d failed requests or dropped connections during reloads '
              '(%d ok):\n  %s' % (len(failures), counts['ok'], '\n  '.join(failures[:20])))
        check(counts['ok'] > 100, 'only %d requests completed during the test' % counts['ok'])
        print('# %d requests ok, no connection dropped' % counts['ok'])


@time_limit(30)
def test_sighup_during_download_and_root_change():
    s = Server(conf={'send_timeout': '10s'})
    os.mkdir(s.tpath('www2'))
    with open(s.tpath('www2/which.txt'), 'wb') as f:
        f.write(b'new root\n')
    with s:
        data = s.put('big.bin', rand_bytes(16 * MiB))
        s.put('which.txt', b'old root\n')
        c = Conn(s.port, rcvbuf=64 * 1024, timeout=10)
        with c:
            c.send_request('/big.bin')
            eq(Response.parse_head(c.read_head()).status, 200, 'download status')
            got = bytearray(c.buf)
            c.buf.clear()
            reloaded = False
            while len(got) < len(data):
                d = c._recv(64 * 1024)
                check(d, 'download cut off at %d of %d bytes by the reload' % (len(got), len(data)))
                got += d
                time.sleep(0.004)
                if not reloaded and len(got) > MiB:
                    s.write_config(conf=dict(s.conf, root='www2'))
                    s.send_signal(signal.SIGHUP)
                    wait_for(lambda: s.get('/which.txt').body == b'new root\n', timeout=3,
                             msg='the new root after SIGHUP')
                    reloaded = True
            eq(bytes(got), data, 'download across a reload')
            check(reloaded, 'download ended before the reload')
        eq(s.get('/big.bin').status, 404, 'old root no longer served')


def test_sighup_bad_config_keeps_old():
    with Server(conf={'default_type': 'application/x-old'}) as s:
        s.put('noext', b'n\n')
        eq(s.get('/noext').get('Content-Type'), 'application/x-old', 'before reload')
        bad = s.config_text(conf=dict(s.conf, default_type='application/x-new'))
        bad_line = len(bad.splitlines()) + 1
        s.write_config(text=bad + 'bogus_directive on;\n')
        s.send_signal(signal.SIGHUP)
        wait_for(lambda: '%s:%d:' % (s.conf_path, bad_line) in s.output(), timeout=3,
                 msg='"%s:%d:" logged for the bad config' % (s.conf_path, bad_line))
        s.check_alive()
        for _ in range(3):
            r = s.get('/noext')
            eq((r.status, r.get('Content-Type')), (200, 'application/x-old'),
               'old config still in effect after a rejected reload')
        # a fixed config is then accepted
        s.write_config(text=bad)
        s.send_signal(signal.SIGHUP)
        wait_for(lambda: s.get('/noext').get('Content-Type') == 'application/x-new', timeout=3,
                 msg='the corrected config to take effect')


def test_sigusr1_reopens_logs():
    with Server(conf={'access_log': 'access.log', 'error_log': 'error.log'}) as s:
        s.put('a.txt', b'a\n')
        log, err = s.tpath('access.log'), s.tpath('error.log')

        def has(path, text):
            try:
                with open(path, errors='replace') as f:
                    return text in f.read()
            except OSError:
                return False
        s.get('/a.txt?first')
        wait_for(lambda: has(log, '/a.txt?first'), timeout=2, msg='first access log line')
        os.rename(log, log + '.1')
        os.rename(err, err + '.1')
        s.send_signal(signal.SIGUSR1)
        wait_for(lambda: os.path.exists(log), timeout=2, msg='access.log re-created on SIGUSR1')
        s.get('/a.txt?second')
        wait_for(lambda: has(log, '/a.txt?second'), timeout=2,
                 msg='the next request in the new access.log')
        check(not has(log + '.1', '/a.txt?second'), 'request logged to the renamed file')
        check(not has(log, '/a.txt?first'), 'old line in the new file')
        # the error log is reopened too: whatever a rejected reload logs goes
        # to the new file (test_config checks that it names FILE:LINE)
        old_size = os.path.getsize(err + '.1')
        bad = s.config_text()
        s.write_config(text=bad + 'bogus_directive on;\n')
        s.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(err) and os.path.getsize(err) > 0, timeout=3,
                 msg='a rejected reload to be logged in the new error.log')
        eq(os.path.getsize(err + '.1'), old_size, 'size of the renamed error log')
        s.check_alive()


def test_pid_file():
    s = Server(conf={'pid_file': 'zc.pid'})
    with open(s.tpath('zc.pid'), 'w') as f:
        f.write('999999\n')             # stale file from an earlier run
    with s:
        pf = s.tpath('zc.pid')
        wait_for(lambda: os.path.exists(pf), timeout=2, msg='pid file')
        with open(pf) as f:
            eq(f.read().strip(), str(s.pid), 'pid file content')
        s.stop()
        check(not os.path.exists(pf), 'pid file left behind after exit')


if __name__ == '__main__':
    main()
