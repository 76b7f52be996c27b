#!/usr/bin/env python3
"""Hardening: denial-of-service resistance and containment beyond
test_hostile.py.

- slowhttptest attacks (slow headers -H, slow read -X, range -R; skipped
  when slowhttptest is not installed): an ordinary request on a fresh
  connection is answered quickly during each attack, and the attack's idle
  connections are cut off by header_timeout / send_timeout;
- a client that stops reading is really disconnected at send_timeout (it
  sees the connection end; the kernel does not keep its unsent data);
- a pipeline flood from a client that never reads: bounded server memory,
  the connection dropped by send_timeout, other clients served;
- 10,000 idle connections: memory per connection (printed, and documented
  in SECURITY.md), service continues, descriptors return to the
  baseline;
- request smuggling variants and path containment in encodings that
  test_hostile.py does not try, /proc magic links, a symlink swapped in
  and out during requests, open redirects through absolute-form targets,
  and autoindex links; a secret file outside the root must never appear
  in any response."""

import resource
import shutil
import statistics
import urllib.parse

from zctest import *

MiB = 1 << 20
SECRET = b'OUTSIDE-SECRET-' + os.urandom(8).hex().encode() + b'\n'
SMUGGLED = b'SMUGGLED-REQUEST-SERVED-' + os.urandom(6).hex().encode() + b'\n'


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise AssertionError('no VmRSS for pid %d' % pid)


def active(s):
    """Open connections per the status page, not counting the one asking.
    The latency probe just before may still be open on the server (its
    close can be handled after the status request, on another worker), so
    the smaller of two samples 50 ms apart is taken."""
    first = s.status()['connections']['active'] - 1
    time.sleep(0.05)
    return min(first, s.status()['connections']['active'] - 1)


def server_sockets(port):
    """(state, tx_queue) of every TCP socket whose local port is port,
    listeners excluded, from /proc/net/tcp."""
    out = []
    with open('/proc/net/tcp') as f:
        next(f)
        for line in f:
            fl = line.split()
            lport = int(fl[1].split(':')[1], 16)
            st = int(fl[3], 16)
            if lport == port and st != 10:
                out.append((st, int(fl[4].split(':')[0], 16)))
    return out


def orphans_with_data(port):
    """Server sockets that were closed (FIN_WAIT1/CLOSING/LAST_ACK) with
    unsent data still queued: kernel memory the attacker still pins."""
    return [(st, q) for st, q in server_sockets(port) if st in (4, 9, 11) and q > 0]


def tcp_state(sock):
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def timed_get(port, path='/small.txt', timeout=3.0):
    """Seconds for one GET on a fresh connection (connect to last byte)."""
    t0 = time.monotonic()
    with Conn(port, timeout=timeout) as c:
        r = c.request(path)
    dt = time.monotonic() - t0
    eq(r.status, 200, 'ordinary request during the attack')
    return dt


# --------------------------------------------------------------------------
# slowhttptest

def _slowhttptest():
    exe = shutil.which('slowhttptest')
    if not exe:
        skip('slowhttptest is not installed (Debian package slowhttptest)')
    return exe


def _attack(s, args, seconds, path):
    """Run slowhttptest with args against s for up to `seconds`, sampling
    ordinary-request latency and the server's open connections. Returns
    (latencies, [(t, active)], rss_max_kib)."""
    exe = _slowhttptest()
    url = 'http://127.0.0.1:%d%s' % (s.port, path)
    s.attack_log = s.tpath('slowhttptest.out')
    with open(s.attack_log, 'wb') as logf:
        p = subprocess.Popen([exe] + args + ['-l', str(int(seconds)), '-u', url, '-p', '3'],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             cwd=s.tmp)
    lat, conns, rss = [], [], rss_kib(s.pid)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < seconds:
            lat.append(timed_get(s.port))
            conns.append((time.monotonic() - t0, active(s)))
            rss = max(rss, rss_kib(s.pid))
            if p.poll() is not None and conns[-1][1] == 0 and time.monotonic() - t0 > 1:
                break           # slowhttptest gave up: all its connections are closed
            time.sleep(0.15)
    finally:
        stopped = p.poll() is None     # still attacking: it certainly ran
        if stopped:
            p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    with open(s.attack_log, 'rb') as f:
        out = f.read().decode('latin-1')
    # slowhttptest exits at once on an option it refuses ("-a 0" in 1.8.2:
    # "Option - requires an argument"); that must fail, not pass vacuously.
    # (Its output is block-buffered: one stopped by SIGTERM may have
    # written nothing.)
    check((stopped or 'test type' in out) and 'requires an argument' not in out
          and 'Try \'slowhttptest -h\'' not in out,
          'slowhttptest did not run: %s' % srepr(out[-400:]))
    return lat, conns, rss


def _check_latency(lat, what):
    med, worst = statistics.median(lat), max(lat)
    print('# %s: %d ordinary requests, median %.1f ms, max %.1f ms'
          % (what, len(lat), med * 1000, worst * 1000))
    check(med <= 0.1, '%s: median latency of ordinary requests %.0f ms (> 100 ms)'
          % (what, med * 1000))
    check(worst <= 1.0, '%s: an ordinary request took %.0f ms (> 1 s)' % (what, worst * 1000))


def _check_cut_off(conns, by, who, timeout):
    """conns: [(t, open connections)]: none left from `by` seconds on."""
    zero = next((t for t, n in conns if n == 0 and t > 0.5), None)
    check(zero is not None and zero <= by and all(n == 0 for t, n in conns if t >= zero),
          '%s not cut off by %s within %.1f s of the attack\'s start (open connections: %s)'
          % (who, timeout, by, ' '.join('%.1fs:%d' % x for x in conns)))


def _attack_server(**conf):
    base = {'header_timeout': '2s', 'send_timeout': '2s', 'keepalive_timeout': '3s'}
    base.update(conf)
    s = Server(conf=base)
    s.put('small.txt', b'small\n')
    s.put('index.html', b'<p>index</p>\n')
    return s


@time_limit(25)
def test_slowloris_headers():
    _slowhttptest()
    with _attack_server() as s:
        lat, conns, _ = _attack(s, ['-H', '-c', '300', '-r', '300', '-i', '1', '-x', '24'],
                                9, '/index.html')
        peak = max(n for _, n in conns)
        print('# slow headers: peak %d connections; %s'
              % (peak, ' '.join('%.1fs:%d' % x for x in conns[::4])))
        check(peak >= 100, 'the attack never held 100 connections (peak %d)' % peak)
        _check_latency(lat, 'slow headers')
        # all are open after ~1 s; header_timeout 2s counts from acceptance
        _check_cut_off(conns, 1.0 + 2.0 + 1.5, 'slow-header connections', 'header_timeout 2s')
        s.serves_ok('after the slow headers attack')


@time_limit(25)
def test_slow_read():
    _slowhttptest()
    with _attack_server() as s:
        s.put('big.bin', rand_bytes(8 * MiB))
        # window of 1..512 bytes, a read every 10 s: stalled readers
        lat, conns, _ = _attack(s, ['-X', '-c', '100', '-r', '100', '-w', '1', '-y', '512',
                                    '-n', '10', '-z', '5', '-k', '3'], 8, '/big.bin')
        peak = max(n for _, n in conns)
        print('# slow read: peak %d connections; %s'
              % (peak, ' '.join('%.1fs:%d' % x for x in conns[::4])))
        check(peak >= 50, 'the attack never held 50 connections (peak %d)' % peak)
        _check_latency(lat, 'slow read')
        _check_cut_off(conns, 1.0 + 2.0 + 2.0, 'stalled readers', 'send_timeout 2s')
        s.serves_ok('after the slow read attack')


def _sent(st):
    """(responses, bytes) over every send strategy in a status snapshot."""
    send = st['send'].values()
    return sum(v['responses'] for v in send), sum(v['bytes'] for v in send)


@time_limit(25)
def test_range_attack():
    _slowhttptest()
    with _attack_server() as s:
        data = s.put('big.bin', rand_bytes(4 * MiB))
        rss0 = rss_kib(s.pid)
        st0 = s.status()
        # slowhttptest -R sends "Range: bytes=0-,5-0,5-1,...,5-999" (-a is
        # the left boundary; 1.8.2 refuses "-a 0"): the original exploit's
        # form, whose invalid "5-0" makes the server ignore the header
        lat, conns, rss = _attack(s, ['-R', '-c', '200', '-r', '100', '-a', '5', '-b', '1000',
                                      '-t', 'GET'], 5, '/big.bin')
        st1 = s.status()
        peak = max(n for _, n in conns)
        nreq = st1['requests'] - st0['requests']
        nresp, nbytes = (b - a for a, b in zip(_sent(st0), _sent(st1)))
        print('# range attack: %d requests, peak %d connections, RSS %d -> %d KiB, '
              '%d bytes in %d responses; connections %s'
              % (nreq, peak, rss0, rss, nbytes, nresp,
                 ' '.join('%.1fs:%d' % x for x in conns[::4])))
        check(nreq >= 100, 'the range attack made only %d requests' % nreq)
        check(peak >= 10, 'the range attack never held 10 connections (peak %d)' % peak)
        _check_latency(lat, 'range attack')
        check(rss - rss0 < 64 * 1024, 'RSS grew by %d KiB during the range attack'
              % (rss - rss0))
        # README: a response is never larger than the file plus framing
        check(nbytes <= nresp * (len(data) + 4096),
              '%d bytes sent in %d responses for a %d-byte file: ranges not bounded'
              % (nbytes, nresp, len(data)))
        # the same invalid header by hand: ignored whole, the file once (200)
        spec = 'bytes=0-,' + ','.join('5-%d' % i for i in range(1000))
        r = s.get('/big.bin', headers=[('Range', spec)])
        eq(r.status, 200, 'status for the exploit\'s header with an invalid 5-0')
        eq(r.body, data, 'body for the exploit\'s header')
        # README: "Range: bytes=0-,0-0,0-1,...,0-999" is served as one range
        spec = 'bytes=0-,' + ','.join('0-%d' % i for i in range(1000))
        r = s.get('/big.bin', headers=[('Range', spec)])
        eq(r.status, 206, 'status for 1001 overlapping ranges')
        eq(r.get('Content-Range'), 'bytes 0-%d/%d' % (len(data) - 1, len(data)),
           'coalesced Content-Range')
        eq(r.body, data, 'body for 1001 overlapping ranges')
        s.serves_ok('after the range attack')


# --------------------------------------------------------------------------
# clients that stop reading

@time_limit(30)
def test_stalled_reader_disconnected():
    """A client that stops reading is disconnected send_timeout after the
    last progress: the server frees the connection and the client sees it
    end (a reset: a FIN cannot pass a full receive window), and the kernel
    keeps no orphaned socket holding the unsent response."""
    cases = Cases()
    for strategy in ('copy', 'sendfile', 'auto'):
        with cases.case(strategy):
            with Server(conf={'send_timeout': '1s', 'keepalive_timeout': '30s',
                              'send_strategy': strategy}) as s:
                s.put('big.bin', rand_bytes(16 * MiB))
                c = Conn(s.port, rcvbuf=4096, timeout=5)
                with c:
                    c.send_request('/big.bin')
                    eq(Response.parse_head(c.read_head()).status, 200, 'status')
                    t0 = time.monotonic()
                    freed = ended = None
                    while time.monotonic() - t0 < 4.0:
                        if freed is None and active(s) == 0:
                            freed = time.monotonic() - t0
                        if ended is None and tcp_state(c.sock) != 1:
                            ended = time.monotonic() - t0
                        if freed is not None and ended is not None:
                            break
                        time.sleep(0.1)
                    orph = orphans_with_data(s.port)
                    check(freed is not None, 'server still holds the stalled connection 4 s '
                          'after its last progress (send_timeout 1s)')
                    check(ended is not None, 'the client still sees an open connection 4 s '
                          'after send_timeout 1s (server freed it after %.1fs): a graceful '
                          'close behind a full window never arrives' % freed)
                    check(not orph, 'closed server sockets still queue unsent data in the '
                          'kernel (state, bytes): %s' % orph)
                s.serves_ok('after a stalled reader')
    cases.check()


@time_limit(30)
def test_pipeline_flood_never_reads():
    n_req = 50000
    with Server(conf={'send_timeout': '2s', 'keepalive_timeout': '30s',
                      'send_strategy': 'copy'}) as s:
        data = s.put('f64k.bin', rand_bytes(64 * 1024))
        s.put('small.txt', b'small\n')
        eq(s.get('/f64k.bin').body, data, 'warm-up')
        time.sleep(0.2)
        rss0 = rss_kib(s.pid)
        one = build_request('/f64k.bin')
        flood = one * n_req
        c = Conn(s.port, rcvbuf=4096, timeout=5)
        c.sock.setblocking(False)
        sent, t0, last_progress = 0, time.monotonic(), time.monotonic()
        rss_max = rss0
        try:
            # send without ever reading until the server stops taking more
            while sent < len(flood) and time.monotonic() - last_progress < 1.0 \
                    and time.monotonic() - t0 < 8:
                try:
                    k = c.sock.send(flood[sent:sent + 65536])
                    sent += k
                    last_progress = time.monotonic()
                except BlockingIOError:
                    time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    break
                rss_max = max(rss_max, rss_kib(s.pid))
            t_flood = time.monotonic()
            # meanwhile others are served
            lat = [timed_get(s.port) for _ in range(10)]
            _check_latency(lat, 'pipeline flood')
            # send_timeout 2s after the last progress the server drops it
            freed = None
            while time.monotonic() - t_flood < 5.0:
                rss_max = max(rss_max, rss_kib(s.pid))
                if active(s) == 0:
                    freed = time.monotonic() - t_flood
                    break
                time.sleep(0.1)
        finally:
            c.close()
        print('# pipeline flood: %d of %d requests accepted by the kernel (%d bytes), RSS '
              '%d -> max %d KiB, connection freed %s'
              % (sent // len(one), n_req, sent, rss0, rss_max,
                 'after %.1fs' % freed if freed is not None else 'NOT within 5 s'))
        # README: "grows the server's RSS by about 0.1 MB" (default build;
        # AddressSanitizer's quarantine keeps freed memory, so only a loose
        # bound there)
        limit = 64 * 1024 if sanitized_build() else 256
        check(rss_max - rss0 <= limit, 'server RSS grew by %d KiB during the pipeline flood '
              '(README: about 0.1 MB; at most %d KiB allowed)' % (rss_max - rss0, limit))
        check(freed is not None, 'the flooding connection was not closed within 5 s '
              '(send_timeout 2s)')
        s.serves_ok('after the pipeline flood')


# --------------------------------------------------------------------------
# 10,000 idle connections

N_IDLE = 10000


def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@time_limit(50)
def test_10k_idle_connections():
    soft0, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < N_IDLE + 200:
        skip('RLIMIT_NOFILE hard limit %d < %d' % (hard, N_IDLE + 200))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks = []
    try:
        with Server(conf={'workers': '2', 'max_connections': '20000', 'header_timeout': '60s',
                          'keepalive_timeout': '60s'}, preexec=_raise_nofile) as s:
            s.put('small.txt', b'small\n')
            for _ in range(20):             # warm both workers, the file cache
                eq(s.get('/small.txt').status, 200, 'warm-up')
            time.sleep(0.3)
            base_fds = s.fd_count()
            rss0 = rss_kib(s.pid)
            t0 = time.monotonic()
            partial = b'GET /small.txt HTTP/1.1\r\n'
            # a partial request head on each: TCP_DEFER_ACCEPT holds silent
            # connections in the kernel, these are accepted and held
            for i in range(N_IDLE):
                so = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                so.settimeout(5)
                so.connect(('127.0.0.1', s.port))
                so.sendall(partial)
                socks.append(so)
            t_conn = time.monotonic() - t0
            wait_for(lambda: active(s) >= N_IDLE, timeout=15,
                     msg='%d connections accepted (status says %d)' % (N_IDLE, active(s)))
            time.sleep(0.5)
            rss1 = rss_kib(s.pid)
            fds1 = s.fd_count()
            per_conn = (rss1 - rss0) * 1024.0 / N_IDLE
            print('# %d idle connections (opened in %.1fs): server RSS %d -> %d KiB, %.0f bytes '
                  'per idle connection; descriptors %d -> %d'
                  % (N_IDLE, t_conn, rss0, rss1, per_conn, base_fds, fds1))
            # README (Memory per connection): 5,344 bytes, 7.2 KB under
            # AddressSanitizer; within a factor of two of that
            readme = 7200 if sanitized_build() else 5344
            check(readme / 2 <= per_conn <= readme * 2,
                  '%.0f bytes of RSS per idle connection; README says %d'
                  % (per_conn, readme))
            check(fds1 >= base_fds + N_IDLE - 10, 'descriptors with %d connections: %d (base %d)'
                  % (N_IDLE, fds1, base_fds))
            lat = [timed_get(s.port) for _ in range(10)]
            _check_latency(lat, '%d idle connections' % N_IDLE)
            for so in socks:
                so.close()
            socks = []
            wait_for(lambda: abs(s.fd_count() - base_fds) <= 4, timeout=10,
                     msg='descriptors back to the baseline %d (now %d)'
                     % (base_fds, s.fd_count()))
            wait_for(lambda: active(s) == 0, timeout=5, msg='no connections left')
            s.serves_ok('after 10,000 idle connections')
    finally:
        for so in socks:
            so.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft0, hard))


# --------------------------------------------------------------------------
# smuggling

def _smuggle_server():
    s = Server()
    with open(s.tpath('secret.txt'), 'wb') as f:
        f.write(SECRET)
    s.put('a.txt', b'plain a\n')
    s.put('smuggled.txt', SMUGGLED)
    return s


def _all_responses(c, wait=1.5):
    """Everything the server sends until it closes or is quiet for `wait`."""
    got = bytearray()
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        c.settimeout(wait)
        try:
            d = c.sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not d:
            break
        got += d
    return bytes(got)


SMUGGLE_REQ = b'GET /smuggled.txt HTTP/1.1\r\nHost: x\r\n\r\n'


def _cl(n=len(SMUGGLE_REQ)):
    return str(n).encode()


SMUGGLING = [
    # (what, request bytes whose tail is a request under some reading)
    ('two Transfer-Encoding headers',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
     b'Transfer-Encoding: identity\r\n\r\n0\r\n\r\n' + SMUGGLE_REQ),
    ('Transfer-Encoding: chunked, identity (chunked not last)',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n'
     b'0\r\n\r\n' + SMUGGLE_REQ),
    ('Transfer-Encoding: xchunked',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n' +
     SMUGGLE_REQ),
    ('Transfer-Encoding with a vertical tab',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n' +
     SMUGGLE_REQ),
    ('Transfer-Encoding with space before the colon',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n' +
     SMUGGLE_REQ),
    ('Content-Length with space before the colon',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length : ' + _cl() + b'\r\n\r\n' + SMUGGLE_REQ),
    ('Content-Length list 0, N',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0, ' + _cl() + b'\r\n\r\n' +
     SMUGGLE_REQ),
    ('Content-Length list N, N',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: ' + _cl() + b', ' + _cl() +
     b'\r\n\r\n' + SMUGGLE_REQ),
    ('Content-Length with leading zeros',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 000' + _cl() + b'\r\n\r\n' +
     SMUGGLE_REQ),
    ('Transfer-Encoding: chunked in HTTP/1.0',
     b'GET /a.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' + SMUGGLE_REQ),
    ('Content-Length in HTTP/1.0 with keep-alive',
     b'GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: ' + _cl() +
     b'\r\n\r\n' + SMUGGLE_REQ),
    ('chunk size overflowing 64 bits',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
     b'10000000000000000' + b'0' * 8 + b'\r\n' + SMUGGLE_REQ),
    ('bare LF line ends with Content-Length',
     b'GET /a.txt HTTP/1.1\nHost: x\nContent-Length: ' + _cl() + b'\n\n' + SMUGGLE_REQ),
    ('Content-Length after a bare-CR header',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX: a\rContent-Length: ' + _cl() + b'\r\n\r\n' +
     SMUGGLE_REQ),
    ('POST with a body that is a request',
     b'POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: ' + _cl() + b'\r\n\r\n' + SMUGGLE_REQ),
    ('tab-separated request line',
     b'GET\t/a.txt\tHTTP/1.1\r\nHost: x\r\nContent-Length: ' + _cl() + b'\r\n\r\n' +
     SMUGGLE_REQ),
    ('chunked body whose chunk data is a request',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
     b'%x\r\n' % len(SMUGGLE_REQ) + SMUGGLE_REQ + b'\r\n0\r\n\r\n'),
    ('Expect: 100-continue with a request as body',
     b'GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ' + _cl() +
     b'\r\n\r\n' + SMUGGLE_REQ),
]


def test_smuggling_variants():
    """Each request hides a second one (GET /smuggled.txt) where some
    parser would see a body boundary. The hidden request must never be
    answered; at most one response comes back."""
    with _smuggle_server() as s:
        cases = Cases()
        for what, data in SMUGGLING:
            with cases.case(what):
                with s.conn() as c:
                    try:
                        c.send(data)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    got = _all_responses(c)
                check(SMUGGLED not in got, 'the hidden request was served: %s' % srepr(got))
                check(SECRET not in got, 'leaked the secret')
                n = len(re.findall(rb'(?:^|\r\n)HTTP/1\.[01] [1-5]\d\d ', got))
                finals = re.findall(rb'HTTP/1\.[01] ([2-5]\d\d) ', got)
                check(len(finals) <= 1, '%d responses: %s' % (len(finals), srepr(got)))
                check(n >= 1, 'no response at all')
                if finals and finals[0].startswith(b'2'):
                    # accepted: then the tail was its body, discarded
                    check(b'plain a' in got, 'a 2xx without the file: %s' % srepr(got))
        s.serves_ok('after smuggling attempts')
        cases.check()


def test_reject_then_pipelined_request_ignored():
    """After a protocol error the server closes: a request pipelined behind
    the bad one in the same packet is never read."""
    bad = [b'GET /a.txt HTTP/1.1\r\n\r\n', b'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n',
           b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX(: y\r\n\r\n',
           b'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n', b'GET /../x HTTP/1.1\r\nHost: x\r\n\r\n',
           b'GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']
    with _smuggle_server() as s:
        cases = Cases()
        for b in bad:
            with cases.case(srepr(b, 60)):
                with s.conn() as c:
                    c.send(b + SMUGGLE_REQ)
                    got = _all_responses(c)
                check(SMUGGLED not in got, 'request after a rejected/closing one was served')
                eq(len(re.findall(rb'HTTP/1\.[01] \d\d\d ', got)), 1, 'responses')
        cases.check()


# --------------------------------------------------------------------------
# path containment

def _contain_server(**conf):
    s = Server(conf=conf or None)
    with open(s.tpath('secret.txt'), 'wb') as f:
        f.write(SECRET)
    with open(os.path.join(s.cwd, 'secret.txt'), 'wb') as f:     # the server's cwd
        f.write(SECRET)
    os.makedirs(s.tpath('outside'), exist_ok=True)
    with open(s.tpath('outside/secret.txt'), 'wb') as f:
        f.write(SECRET)
    s.put('sub/ok.txt', b'ok\n')
    s.put('a.txt', b'plain a\n')
    s.put('%2e%2e/secret.txt', b'literal percent dir\n')
    return s


def _no_leak(s, target, r_or_bytes, allowed=(400, 403, 404)):
    body = r_or_bytes if isinstance(r_or_bytes, bytes) else r_or_bytes.body
    check(SECRET not in body, '%s leaked the secret file' % target)
    check(b'root:x:0:0' not in body, '%s leaked /etc/passwd' % target)
    if not isinstance(r_or_bytes, bytes):
        is_in(r_or_bytes.status, allowed, 'GET %s' % target)


ENCODED_TRAVERSALS = [
    # encodings beyond test_hostile.TRAVERSALS
    '/%25%32%65%25%32%65/secret.txt', '/%25%32%65%25%32%65%25%32%66secret.txt',
    '/..%252fsecret.txt', '/..%255csecret.txt', '/sub/%2E%2e/%2e%2E/secret.txt',
    '/%c0%af../secret.txt', '/sub%c0%af..%c0%af..%c0%afsecret.txt',
    '/..%e0%80%afsecret.txt', '/%f0%80%80%ae%f0%80%80%ae/secret.txt',
    '/..%c1%9csecret.txt', '/%ef%bc%8e%ef%bc%8e/secret.txt', '/..%ef%bc%8fsecret.txt',
    '/%u002e%u002e/secret.txt', '/..%u2215secret.txt', '/%2e%2e%5c%2e%2e%5csecret.txt',
    '//..//secret.txt', '/sub//..//..//secret.txt', '/./sub/./../../secret.txt',
    '/sub/ok.txt/../../secret.txt', '/sub/ok.txt/%2e%2e/%2e%2e/secret.txt',
    '/sub/..%2f..%2f..%2f..%2f..%2f..%2fetc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/.%00./secret.txt', '/..%09/secret.txt', '/..%20/secret.txt', '/.. /secret.txt',
    '/sub/.%2e/.%2e/secret.txt', '/sub/%2e%2e%3b/%2e%2e%3b/secret.txt',
    '/sub/ok.txt%3f/../../secret.txt', '/sub/%3f/../../secret.txt',
]


def test_encoded_traversal():
    with _contain_server() as s:
        cases = Cases()
        for t in ENCODED_TRAVERSALS:
            with cases.case(t):
                try:
                    r = s.raw_request(build_request(t))
                except EOFError:
                    continue             # closed without a response: nothing leaked
                if r.status == 200:      # only the directory literally named "%2e%2e"
                    eq(r.body, b'literal percent dir\n', 'GET %s: 200 with' % t)
                _no_leak(s, t, r, allowed=(200, 400, 403, 404))
        # "%25" decodes once to a literal "%": the directory named "%2e%2e"
        r = s.get('/%252e%252e/secret.txt')
        eq((r.status, r.body), (200, b'literal percent dir\n'),
           'a directory literally named %2e%2e (decoded exactly once)')
        s.serves_ok('after encoded traversals')
        cases.check()


ABSOLUTE_FORM = [
    'http://localhost/../secret.txt', 'http://localhost/%2e%2e/secret.txt',
    'http://localhost:80/sub/../../secret.txt', 'HTTP://localhost/..%2fsecret.txt',
    'http://x@localhost/../secret.txt', 'http://localhost/sub/..%5c..%5csecret.txt',
    'http://..%2f..%2fsecret.txt', 'http://localhost..%2f..%2fsecret.txt',
    'https://localhost/../secret.txt', 'https://..%2f..%2fsecret.txt',
    'http://localhost', 'http://localhost?/../secret.txt', 'ftp://localhost/../secret.txt',
    'file:///etc/passwd', 'http:/../secret.txt', 'http:///../secret.txt',
]


def test_absolute_form_containment():
    with _contain_server() as s:
        cases = Cases()
        for t in ABSOLUTE_FORM:
            with cases.case(t):
                try:
                    r = s.raw_request(build_request(t))
                except EOFError:
                    continue
                _no_leak(s, t, r, allowed=(301, 400, 403, 404))
        cases.check()


def test_absolute_form_same_file():
    """An absolute-form target names the same resource as its origin-form
    (RFC 9112 3.2.2): a server that reads 'https://host/a' as the path
    '/host/a' serves a different file than any proxy in front of it
    would expect."""
    with _contain_server() as s:
        s.put('localhost/a.txt', b'WRONG: /localhost/a.txt\n')
        cases = Cases()
        for t in ('http://localhost/a.txt', 'HTTP://LOCALHOST/a.txt', 'https://localhost/a.txt',
                  'https://localhost:8443/a.txt', 'http://127.0.0.1:1/a.txt'):
            with cases.case(t):
                r = s.raw_request(build_request(t))
                eq((r.status, r.body), (200, b'plain a\n'), 'GET %s' % t)
        cases.check()


def _proc_links(s):
    links = {
        'procroot': '/proc/self/root',
        'proccwd': '/proc/self/cwd',
        'procfd': '/proc/self/fd',
        'procenv': '/proc/self/environ',
        'loop_a': 'loop_b',
        'loop_b': 'loop_a',
        'selfloop': 'selfloop',
        'deep': 'sub/../deep',
    }
    for name, target in links.items():
        os.symlink(target, s.path(name))


def test_symlink_magic_links_and_loops():
    with _contain_server() as s:
        _proc_links(s)
        secret_abs = s.tpath('secret.txt').lstrip('/')
        cases = Cases()
        targets = ['/procroot/' + secret_abs, '/procroot/etc/passwd', '/proccwd/secret.txt',
                   '/procenv', '/loop_a', '/loop_a/x', '/selfloop', '/deep/deep/deep/a.txt']
        targets += ['/procfd/%d' % i for i in range(0, 24)]
        for t in targets:
            with cases.case(t):
                t0 = time.monotonic()
                r = s.get(t, timeout=4)
                _no_leak(s, t, r, allowed=(403, 404))
                check(b'ZCSERVE' not in r.body and b'PATH=' not in r.body,
                      '%s served the environment' % t)
                check(time.monotonic() - t0 < 2, '%s took %.1fs' % (t, time.monotonic() - t0))
        s.check_alive()
        s.serves_ok('after magic links and loops')
        cases.check()


@time_limit(30)
def test_symlink_swap_race():
    """A directory is swapped with a symlink to outside the root, over and
    over, while the file beneath it is requested: containment that checks a
    path and then opens it (TOCTOU) leaks; openat2 RESOLVE_BENEATH never
    does."""
    with _contain_server(open_file_cache_valid='0') as s:
        inside = s.path('race.real')
        os.makedirs(inside)
        with open(os.path.join(inside, 'secret.txt'), 'wb') as f:
            f.write(b'inside, harmless\n')
        link_out = s.path('race.out')
        os.symlink(s.tpath('outside'), link_out)
        race = s.path('race')
        stop = threading.Event()
        flips = [0]

        def flipper():
            tmp_l, tmp_d = s.path('race.tmpl'), s.path('race.tmpd')
            while not stop.is_set():
                try:
                    os.symlink(s.tpath('outside'), tmp_l)
                    os.rename(tmp_l, race)          # race -> outside (symlink)
                    os.symlink('race.real', tmp_d)
                    os.rename(tmp_d, race)          # race -> race.real (inside)
                    flips[0] += 1
                except OSError:
                    for p in (tmp_l, tmp_d):
                        try:
                            os.unlink(p)
                        except OSError:
                            pass
        th = threading.Thread(target=flipper, daemon=True)
        th.start()
        seen = {}
        try:
            t0 = time.monotonic()
            with s.conn() as c:
                while time.monotonic() - t0 < 2.5:
                    r = c.request('/race/secret.txt')
                    check(SECRET not in r.body, 'the secret leaked through the swapped '
                          'symlink after %d flips' % flips[0])
                    seen[r.status] = seen.get(r.status, 0) + 1
                    if 'close' in r.conn_tokens():
                        break
        finally:
            stop.set()
            th.join(5)
        check(not th.is_alive(), 'the symlink swapper still runs 5 s after its stop')
        print('# %d swaps; statuses %s' % (flips[0], seen))
        check(flips[0] > 50, 'only %d swaps' % flips[0])
        check(seen.get(200, 0) > 0, 'the inside target was never served: %s' % seen)
        s.serves_ok('after the symlink race')


def test_open_redirect_absolute_form_and_encodings():
    """Directory redirects never produce a Location that leaves the site:
    no '//' or '/\\' prefix (browsers read both as another host), whatever
    the target form (test_basic covers the origin-form '//evil' cases)."""
    with _contain_server() as s:
        for d in ('evil.example/dir', 'evil/dir'):
            s.put(d + '/index.html', b'x\n')
        cases = Cases()
        for t in ('http://localhost//evil.example/dir', 'http://evil.example//evil.example/dir',
                  'http://localhost///evil/dir', 'http://localhost/%2f%2fevil/dir',
                  'http://localhost/%2F/evil/dir', '/%2f%2fevil/dir', '/%2F%2Fevil.example/dir',
                  '/.//evil/dir', '/%2e//evil/dir', '//evil/dir?//x', '/%5c%5cevil/dir',
                  '/%5cevil.example/dir', '/\\evil.example/dir', '/%09/evil/dir',
                  '///evil.example/dir#frag', '/evil/dir?%0d%0aLocation:%20//x'):
            with cases.case(t):
                try:
                    r = s.raw_request(build_request(t))
                except EOFError:
                    continue
                _no_leak(s, t, r, allowed=(301, 400, 404))
                for loc in r.all('Location'):
                    check(not loc.startswith('//') and not loc.startswith('/\\') and
                          '\\' not in loc, 'GET %s: Location %r leaves the site' % (t, loc))
                    u = urllib.parse.urlsplit(loc)
                    check(not u.netloc or u.hostname in ('localhost', '127.0.0.1'),
                          'GET %s: Location %r points at another host' % (t, loc))
                    check(not u.path.startswith('//'), 'GET %s: Location path %r' % (t, loc))
                check(len(r.all('Location')) <= 1, 'GET %s: several Location headers' % t)
        cases.check()


def test_autoindex_links_stay_on_site():
    """Listed names that look like URLs or markup are neither links to other
    hosts or schemes nor live HTML."""
    with _contain_server(autoindex='on') as s:
        names = ['javascript:alert(1)', 'http:evil.example', '<script>x</script>',
                 '"onmouseover=x', "'single", 'a&b', 'back\\slash', '%2e%2e']
        for n in names:
            s.put('list/' + n, b'n\n')
        r = s.get('/list/')
        eq(r.status, 200, 'listing')
        body = r.body.decode('utf-8', 'replace')
        check('<script>' not in body, 'raw <script> in the listing')
        check('"onmouseover' not in body, 'unescaped quote in the listing')
        for href in re.findall(r'href\s*=\s*"([^"]*)"', body, re.I):
            with_scheme = urllib.parse.urlsplit(href)
            check(not with_scheme.scheme and not with_scheme.netloc and
                  not href.startswith('//') and '\\' not in href,
                  'listing link %r leaves the directory' % href)
        for n in names:
            r = s.get('/list/' + urllib.parse.quote(n, safe=''))
            if '\\' in n:
                is_in(r.status, (400, 404), 'GET of a name with a backslash')
            else:
                eq((r.status, r.body), (200, b'n\n'), 'GET of the listed name %r' % n)


if __name__ == '__main__':
    main()
