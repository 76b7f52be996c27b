#!/usr/bin/env python3
"""File serving: byte-exact bodies under send_strategy copy, sendfile and
auto (with status counters), sparse files over 2 GiB, a file that shrinks
while it is sent, send_timeout, symlinks, hidden files, special files, and
descriptor leaks after a burst of connections."""

import stat

from zctest import *

MiB = 1 << 20
SIZES = [0, 1, 4095, 4096, 4097, 65536, MiB + 12345, 3 * MiB + 1]
FILE_STRATEGIES = ('copy', 'sendfile', 'mmap', 'splice', 'msg_zerocopy', 'send_zc')


def _bodies(strategy):
    with Server(conf={'send_strategy': strategy}) as s:
        files = {}
        for n in SIZES:
            files['/f%d.bin' % n] = s.put('f%d.bin' % n, rand_bytes(n))
        names = list(files)
        st0 = s.status()
        file_bytes = 0
        # 1. one connection per file
        for p in names:
            r = s.get(p)
            eq(r.status, 200, '%s GET %s' % (strategy, p))
            eq(r.body, files[p], '%s GET %s body' % (strategy, p))
            file_bytes += len(files[p])
        # 2. all of them on one keep-alive connection, with a HEAD between
        with s.conn() as c:
            for p in names:
                eq(c.request(p, 'HEAD').get('Content-Length'), str(len(files[p])), 'HEAD ' + p)
                r = c.request(p)
                eq(r.body, files[p], '%s keep-alive GET %s body' % (strategy, p))
                file_bytes += len(files[p])
        # 3. pipelined
        with s.conn() as c:
            c.send(b''.join(build_request(p) for p in names))
            for p in names:
                eq(c.read_response().body, files[p], '%s pipelined GET %s body' % (strategy, p))
                file_bytes += len(files[p])
        # 4. ranges: odd offsets, crossing page boundaries, multipart
        big = files['/f%d.bin' % (MiB + 12345)]
        with s.conn() as c:
            for spec, a, b in (('bytes=4000-4100', 4000, 4100), ('bytes=-7', len(big) - 7, len(big) - 1),
                               ('bytes=1048575-', 1048575, len(big) - 1),
                               ('bytes=1-1048576', 1, 1048576)):
                r = c.request('/f%d.bin' % (MiB + 12345), headers=[('Range', spec)])
                eq(r.status, 206, '%s Range %s' % (strategy, spec))
                eq(r.body, big[a:b + 1], '%s Range %s body' % (strategy, spec))
            r = c.request('/f%d.bin' % (MiB + 12345),
                          headers=[('Range', 'bytes=3-9,500000-600000,-100')])
            eq(r.status, 206, '%s multipart status' % strategy)
            parts = parse_byteranges(r)
            eq([p[:2] for p in parts], [(3, 9), (500000, 600000), (len(big) - 100, len(big) - 1)],
               '%s multipart parts' % strategy)
            for a, b, _, _, data in parts:
                eq(data, big[a:b + 1], '%s multipart part %d-%d' % (strategy, a, b))
        st1 = s.status()

        def delta(name, key):
            return st1['send'].get(name, {}).get(key, 0) - st0['send'].get(name, {}).get(key, 0)
        if strategy == 'auto':
            total = sum(delta(k, 'bytes') for k in st1['send'])
            check(total >= file_bytes, 'auto: %d bytes counted over all strategies, sent %d'
                  % (total, file_bytes))
            return
        check(delta(strategy, 'bytes') >= file_bytes,
              '%s: status send.%s.bytes grew by %d, but %d file bytes were sent (counters %r)'
              % (strategy, strategy, delta(strategy, 'bytes'), file_bytes, st1['send']))
        check(delta(strategy, 'responses') >= 3 * (len(SIZES) - 1),
              '%s: send.%s.responses grew by %d' % (strategy, strategy,
                                                   delta(strategy, 'responses')))
        for other in st1['send']:
            if other in FILE_STRATEGIES and other not in (strategy, 'copy'):
                eq(delta(other, 'bytes'), 0, 'send_strategy %s: bytes counted under %s'
                   % (strategy, other))
        if strategy != 'copy':
            check(delta('copy', 'bytes') < file_bytes // 10,
                  'send_strategy %s: %d bytes went through copy' % (strategy, delta('copy', 'bytes')))


def test_bodies_copy():
    _bodies('copy')


def test_bodies_sendfile():
    _bodies('sendfile')


def test_bodies_auto():
    _bodies('auto')


def test_parallel_downloads():
    for strategy in ('copy', 'sendfile'):
        with Server(conf={'send_strategy': strategy}) as s:
            data = s.put('p.bin', rand_bytes(3 * MiB + 7))
            errors = []

            def fetch(n):
                try:
                    with Conn(s.port, timeout=10) as c:
                        for _ in range(2):
                            r = c.request('/p.bin')
                            if r.status != 200 or r.body != data:
                                errors.append('client %d: %d, %d bytes' % (n, r.status, len(r.body)))
                except Exception as e:
                    errors.append('client %d: %s: %s' % (n, type(e).__name__, e))
            threads = [threading.Thread(target=fetch, args=(i,), daemon=True) for i in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(20)
                check(not t.is_alive(), '%s: a download still runs after 20 s' % strategy)
            check(not errors, '%s: %d of 32 parallel downloads failed: %s'
                  % (strategy, len(errors), errors[:5]))


def test_sparse_file_over_4gib():
    size = 2 ** 32 + 4096 * 5 + 17
    off = 2 ** 32 + 4096 + 5
    for strategy in ('copy', 'sendfile'):
        with Server(conf={'send_strategy': strategy}) as s:
            marker = b'FOURGIB' + os.urandom(57)
            path = s.path('huge.bin')
            with open(path, 'wb') as f:
                f.seek(off)
                f.write(marker)
            os.truncate(path, size)
            r = s.get('/huge.bin', 'HEAD')
            eq(r.get('Content-Length'), str(size), '%s HEAD Content-Length over 4 GiB' % strategy)
            r = s.get('/huge.bin', headers=[('Range', 'bytes=%d-%d' % (off, off + 63))])
            eq((r.status, r.get('Content-Range'), r.body),
               (206, 'bytes %d-%d/%d' % (off, off + 63, size), marker),
               '%s range above 4 GiB' % strategy)
            r = s.get('/huge.bin', headers=[('Range', 'bytes=-4')])
            eq((r.status, r.get('Content-Range'), r.body),
               (206, 'bytes %d-%d/%d' % (size - 4, size - 1, size), b'\0' * 4),
               '%s suffix range of a file over 4 GiB' % strategy)


def test_sparse_file_over_2gib():
    size = 2 ** 31 + 4096 * 3
    off = 2 ** 31 + 4096 + 123
    for strategy in ('copy', 'sendfile'):
        with Server(conf={'send_strategy': strategy}) as s:
            marker = b'MARK' + os.urandom(60)
            path = s.path('sparse.bin')
            with open(path, 'wb') as f:
                f.seek(off)
                f.write(marker)
            os.truncate(path, size)
            r = s.get('/sparse.bin', 'HEAD')
            eq(r.status, 200, '%s HEAD sparse' % strategy)
            eq(r.get('Content-Length'), str(size), '%s HEAD Content-Length' % strategy)
            with s.conn() as c:
                for spec, a, want in (
                        ('bytes=%d-%d' % (off, off + 63), off, marker),
                        ('bytes=%d-%d' % (off - 10, off + 73), off - 10,
                         b'\0' * 10 + marker + b'\0' * 10),
                        ('bytes=-10', size - 10, b'\0' * 10),
                        ('bytes=%d-%d' % (2 ** 31 - 5, 2 ** 31 + 4), 2 ** 31 - 5, b'\0' * 10),
                        ('bytes=%d-' % (size - 3), size - 3, b'\0' * 3)):
                    r = c.request('/sparse.bin', headers=[('Range', spec)])
                    eq(r.status, 206, '%s Range %s' % (strategy, spec))
                    eq(r.get('Content-Range'), 'bytes %d-%d/%d' % (a, a + len(want) - 1, size),
                       '%s Content-Range for %s' % (strategy, spec))
                    eq(r.body, want, '%s body for %s' % (strategy, spec))
                r = c.request('/sparse.bin', headers=[('Range', 'bytes=0-3,%d-%d' % (off, off + 63))])
                parts = parse_byteranges(r)
                eq([(p[0], p[4]) for p in parts], [(0, b'\0' * 4), (off, marker)],
                   '%s multipart over 2 GiB' % strategy)
                r = c.request('/sparse.bin', headers=[('Range', 'bytes=%d-' % (2 ** 32 + 5))])
                eq(r.status, 416, '%s Range beyond the end' % strategy)
                eq(r.get('Content-Range'), 'bytes */%d' % size, '%s 416 Content-Range' % strategy)


def _shrink(strategy):
    full = 20 * MiB
    with Server(conf={'send_strategy': strategy, 'send_timeout': '30s'}) as s:
        data = s.put('big.bin', rand_bytes(full))
        c = Conn(s.port, rcvbuf=64 * 1024, timeout=10)
        with c:
            c.send_request('/big.bin')
            head = Response.parse_head(c.read_head())
            eq(head.status, 200, 'status')
            eq(head.get('Content-Length'), str(full), 'Content-Length')
            got = bytearray(c.buf)
            c.buf.clear()
            while len(got) < 256 * 1024:
                d = c._recv(16384)
                check(d, 'connection closed early (%d bytes)' % len(got))
                got += d
                time.sleep(0.005)
            os.truncate(s.path('big.bin'), full // 2)
            t0 = time.monotonic()
            try:
                got += c.read_until_close(4, limit=full + 1)
            except AssertionError as e:
                raise AssertionError('%s: file truncated to %d bytes during a %d-byte response: '
                                     '%s (%d bytes received)' % (strategy, full // 2, full, e,
                                                                 len(got) + len(c.buf)))
            check(len(got) < full, '%s: all %d bytes arrived although the file shrank to %d '
                  '(padded?)' % (strategy, len(got), full // 2))
            eq(bytes(got), data[:len(got)], '%s: received bytes are a prefix of the file' % strategy)
        s.serves_ok('after a file shrank mid-response')
        wait_for(lambda: 'big.bin' in s.output(), timeout=2,
                 msg='the error log to name big.bin')


def test_file_shrinks_copy():
    _shrink('copy')


def test_file_shrinks_sendfile():
    _shrink('sendfile')


def test_file_shrinks_auto():
    _shrink('auto')


def test_send_timeout():
    with Server(conf={'send_timeout': '1s', 'keepalive_timeout': '30s'}) as s:
        full = 32 * MiB
        s.put('big.bin', rand_bytes(full))
        c = Conn(s.port, rcvbuf=32 * 1024, timeout=5)
        with c:
            c.send_request('/big.bin')
            eq(Response.parse_head(c.read_head()).status, 200, 'status')
            time.sleep(3)
            try:
                n = len(c.buf) + len(c.read_until_close(5, limit=full + 1))
            except AssertionError as e:
                raise AssertionError('stalled client not dropped after send_timeout 1s: %s' % e)
            check(n < full, 'stalled client got the whole file despite send_timeout 1s')
        s.serves_ok('after a send timeout')


@time_limit(30)
def test_send_timeout_counts_from_last_progress():
    """README: send_timeout bounds a response that makes no progress, not
    a whole response (nginx semantics: between two successive writes): a
    client that reads steadily gets the whole file although it takes
    several timeouts. (Progress is a write the socket accepted; a socket
    becomes writable again only once a third of its send buffer, up to
    tcp_wmem's 4 MB, has drained, so the reader here is slow in total but
    never stalls that long.)"""
    for strategy in ('copy', 'sendfile'):
        with Server(conf={'send_timeout': '1s', 'keepalive_timeout': '30s',
                          'send_strategy': strategy}) as s:
            data = s.put('slow.bin', rand_bytes(12 * MiB))
            c = Conn(s.port, timeout=5)
            with c:
                c.send_request('/slow.bin')
                r = Response.parse_head(c.read_head())
                eq(r.status, 200, 'status')
                got = bytearray(c.buf)
                c.buf.clear()
                t0 = time.monotonic()
                # at most 64 KiB per 16 ms, 4 MB/s: about 3 s in all
                while len(got) < len(data):
                    try:
                        d = c.sock.recv(min(64 * 1024, len(data) - len(got)))
                    except ConnectionResetError:
                        d = b''
                    check(d, '%s: a slow but steady reader was cut off at %d of %d bytes '
                          'after %.1f s (send_timeout 1s counts from the last progress)'
                          % (strategy, len(got), len(data), time.monotonic() - t0))
                    got += d
                    time.sleep(0.016)
                dt = time.monotonic() - t0
                eq(bytes(got), data, '%s: slow download' % strategy)
                check(dt > 2.0, '%s: the download took only %.1f s: not slow enough to show '
                      'anything' % (strategy, dt))
                print('# %s: %d MiB in %.1f s with send_timeout 1s'
                      % (strategy, len(data) // MiB, dt))


def _symlink_server(mode):
    s = Server(conf={'symlinks': mode})
    secret = b'SECRET-' + os.urandom(8).hex().encode()
    with open(s.tpath('secret.txt'), 'wb') as f:
        f.write(secret)
    os.mkdir(s.tpath('outside'))
    with open(s.tpath('outside/secret.txt'), 'wb') as f:
        f.write(secret)
    s.secret = secret
    s.put('sub/real.txt', b'real\n')
    links = {
        'link_rel.txt': 'sub/real.txt',
        'link_abs.txt': s.path('sub/real.txt'),
        'dirlink': 'sub',
        'chain.txt': 'link_rel.txt',
        'link_out.txt': '../secret.txt',
        'link_out_abs.txt': s.tpath('secret.txt'),
        'dirlink_out': '../outside',
        'passwd': '/etc/passwd',
        'sneaky.txt': 'sub/../../secret.txt',
        'chain_out.txt': 'link_out.txt',
        'dangling.txt': 'does-not-exist',
        'sub/up.txt': '../../secret.txt',
        'rootlink': '/',
    }
    for name, target in links.items():
        os.symlink(target, s.path(name))
    return s


INSIDE = ['/link_rel.txt', '/link_abs.txt', '/dirlink/real.txt', '/chain.txt']
OUTSIDE = ['/link_out.txt', '/link_out_abs.txt', '/dirlink_out/secret.txt', '/passwd',
           '/sneaky.txt', '/chain_out.txt', '/sub/up.txt', '/rootlink/etc/passwd',
           '/dirlink/../link_out.txt']


def test_symlinks_inside():
    with _symlink_server('inside') as s:
        cases = Cases()
        for p in INSIDE:
            with cases.case():
                r = s.get(p)
                eq((r.status, r.body), (200, b'real\n'), 'symlinks inside: GET %s' % p)
        for p in OUTSIDE:
            with cases.case():
                r = s.get(p)
                eq(r.status, 404, 'symlinks inside: GET %s (points outside root; README: 404)' % p)
                check(s.secret not in r.body and b'root:' not in r.body, 'GET %s leaked' % p)
        cases.check()
        eq(s.get('/dangling.txt').status, 404, 'dangling symlink')
        eq(s.get('/dirlink').status, 301, 'symlinked directory without slash')


def test_symlinks_off():
    with _symlink_server('off') as s:
        eq(s.get('/sub/real.txt').body, b'real\n', 'symlinks off: a plain file')
        cases = Cases()
        for p in INSIDE + OUTSIDE + ['/dangling.txt']:
            with cases.case():
                r = s.get(p)
                eq(r.status, 404, 'symlinks off: GET %s (README: a refused path gets 404)' % p)
                check(s.secret not in r.body and b'real\n' != r.body and b'root:' not in r.body,
                      'symlinks off: GET %s served a symlink' % p)
        cases.check()


HIDDEN = {'.htpasswd': b'user:hash\n', '.git/config': b'[core]\n', 'sub/.hidden': b'h\n',
          '.env': b'KEY=1\n', '.dir/inner.txt': b'inner\n'}


def test_hidden_files_off():
    with Server() as s:
        for n, d in HIDDEN.items():
            s.put(n, d)
        s.put('visible.txt', b'v\n')
        eq(s.get('/visible.txt').status, 200, 'visible file')
        cases = Cases()
        for p in ['/' + n for n in HIDDEN] + ['/%2ehtpasswd', '/%2Egit/config', '/.git/',
                                             '/.git', '/sub/%2ehidden', '/sub/../.env',
                                             '/.dir/inner.txt']:
            with cases.case():
                r = s.get(p)
                eq(r.status, 404, 'hidden_files off: GET %s' % p)
                for d in HIDDEN.values():
                    check(d not in r.body, 'GET %s leaked a hidden file' % p)
        cases.check()
        eq(s.get('/.htpasswd', 'HEAD').status, 404, 'HEAD of a dotfile')


def test_hidden_files_on():
    with Server(conf={'hidden_files': 'on'}) as s:
        for n, d in HIDDEN.items():
            s.put(n, d)
        cases = Cases()
        for n, d in HIDDEN.items():
            with cases.case():
                r = s.get('/' + n)
                eq((r.status, r.body), (200, d), 'hidden_files on: GET /%s' % n)
        cases.check()


def test_special_files():
    with Server() as s:
        os.mkfifo(s.path('fifo'))
        t0 = time.monotonic()
        r = s.get('/fifo', timeout=4)
        is_in(r.status, (403, 404), 'GET of a FIFO')
        check(time.monotonic() - t0 < 2, 'GET of a FIFO took %.1fs' % (time.monotonic() - t0))
        s.serves_ok('after GET of a FIFO')
        os.symlink('/dev/zero', s.path('zero'))
        is_in(s.get('/zero', timeout=4).status, (403, 404), 'symlink to /dev/zero')
        s.serves_ok('after GET of /dev/zero')


def test_device_node_refused():
    """README: only regular files and directories are served. A symlink
    to /dev/zero is already refused by containment, so this makes device
    nodes inside the root itself, where only the file-type rule stands
    between them and a response."""
    with Server(conf={'symlinks': 'off'}) as s:
        devs = {'null.dev': (stat.S_IFCHR, os.makedev(1, 3)),      # /dev/null
                'urandom.dev': (stat.S_IFCHR, os.makedev(1, 9))}   # /dev/urandom
        for name, (kind, dev) in devs.items():
            try:
                os.mknod(s.path(name), 0o644 | kind, dev)
            except PermissionError as e:
                skip('cannot create device nodes here (needs CAP_MKNOD): %s' % e)
        cases = Cases()
        for name in devs:
            with cases.case(name):
                t0 = time.monotonic()
                r = s.get('/' + name, timeout=4)
                is_in(r.status, (403, 404), 'GET of the device node /%s' % name)
                check(time.monotonic() - t0 < 2, 'GET of a device node took %.1fs'
                      % (time.monotonic() - t0))
        cases.check()
        s.serves_ok('after GET of device nodes')


def test_symlink_to_sibling_of_root():
    """symlinks inside: a target beside the root whose name starts with
    the root's name (<tmp>/www-evil next to <tmp>/www) is outside. The
    kernel's RESOLVE_BENEATH refuses these links, so only the server's own
    prefix check decides: it must compare whole path components."""
    s = Server(conf={'symlinks': 'inside'})
    evil = s.www + '-evil'
    secret = b'SIBLING-SECRET-' + os.urandom(8).hex().encode()
    write_file(os.path.join(evil, 'secret.txt'), secret)
    write_file(os.path.join(evil, 'sub', 'secret.txt'), secret)
    links = {'rel.txt': '../www-evil/secret.txt',
             'abs.txt': os.path.join(evil, 'secret.txt'),
             'evildir': '../www-evil',
             'evildir_abs': evil}
    for name, target in links.items():
        os.symlink(target, s.path(name))
    s.put('ok.txt', b'inside\n')
    os.symlink('ok.txt', s.path('ok_link.txt'))
    with s:
        eq(s.get('/ok_link.txt').body, b'inside\n', 'a link inside the root')
        cases = Cases()
        for p in ('/rel.txt', '/abs.txt', '/evildir/secret.txt', '/evildir/sub/secret.txt',
                  '/evildir_abs/secret.txt'):
            with cases.case(p):
                r = s.get(p)
                eq(r.status, 404, 'GET %s (link to a sibling of the root)' % p)
                check(secret not in r.body, 'GET %s served the sibling\'s file' % p)
        with cases.case('/evildir/'):
            r = s.get('/evildir/')
            eq(r.status, 404, 'GET /evildir/ (a sibling directory)')
            check(b'secret.txt' not in r.body, 'the sibling directory was listed')
        cases.check()


@time_limit(40)
def test_fd_count_after_burst():
    with Server() as s:
        data = s.put('m.bin', rand_bytes(MiB))
        s.put('s.txt', b'small\n')
        eq(s.get('/m.bin').body, data, 'warm-up')
        eq(s.get('/s.txt').body, b'small\n', 'warm-up')
        s.get('/missing')
        time.sleep(0.3)
        base = s.fd_count()
        conns = []
        for i in range(200):
            c = Conn(s.port, timeout=5)
            conns.append(c)
            k = i % 5
            if k == 1:
                eq(c.request('/s.txt').body, b'small\n', 'burst request %d' % i)
            elif k == 2:
                c.send_request('/m.bin')          # abandoned mid-download
                c.read_exact(100)
            elif k == 3:
                c.send(b'GET /s.txt HTTP/1.1\r\nHo')     # partial header
            elif k == 4:
                c.send(b'GET /s.txt HTTP/1.1\r\n\r\n')   # 400, no Host
        during = wait_for(lambda: (lambda n: n if n >= base + 120 else None)(s.fd_count()),
                          timeout=3, msg='~160 descriptors with 200 connections open (base %d):'
                          ' is fd counting right?' % base)
        for c in conns:
            c.close()
        try:
            wait_for(lambda: abs(s.fd_count() - base) <= 2, timeout=5,
                     msg='descriptor count back to the baseline')
        except AssertionError:
            fds = []
            for p in [s.pid] + child_pids(s.pid):
                for fd in os.listdir('/proc/%d/fd' % p):
                    try:
                        fds.append('%s -> %s' % (fd, os.readlink('/proc/%d/fd/%s' % (p, fd))))
                    except OSError:
                        pass
            raise AssertionError('descriptors: %d at baseline, %d with 200 connections, %d five '
                                 'seconds after closing them all:\n    %s'
                                 % (base, during, s.fd_count(), '\n    '.join(fds)))
        s.serves_ok('after the burst')


if __name__ == '__main__':
    main()
