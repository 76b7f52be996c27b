#!/usr/bin/env python3
"""Hostile and malformed input: framing errors (Host, Content-Length,
Transfer-Encoding, obs-fold, bare CR), bodies and smuggling, header and URI
limits, slowloris timeouts, and path traversal in every encoding.  Each
protocol error must get one 4xx response and then a close, and the server
must keep serving new connections."""

from zctest import *

SECRET = b'TOP-SECRET-' + os.urandom(8).hex().encode() + b'\n'


def _send(c, data):
    """sendall, tolerating the server closing early (it may answer and
    close before a large request has been fully sent)."""
    try:
        c.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def expect_reject(s, data, statuses=(400,), what='request', allow_silent_close=False):
    """Send data on a new connection: expect one response with a status in
    statuses, then the connection closed; then the server still works."""
    with s.conn() as c:
        _send(c, data)
        try:
            r = c.read_response()
        except EOFError:
            if allow_silent_close and not c.buf:
                r = None
            else:
                raise AssertionError('%s: connection closed without a %s response'
                                     % (what, '/'.join(map(str, statuses))))
        if r is not None:
            is_in(r.status, statuses, '%s: status' % what)
            assert_std_headers(r, what)
            c.assert_closed(2, what)
    s.serves_ok('after ' + what)
    return r


def _hserver(**conf):
    s = Server(conf=conf or None)
    s.put('a.txt', b'plain a\n')
    s.put('secret', b'www/secret must not be served by a smuggled request\n')
    return s


def _reject_all(s, items):
    """items: (request bytes, what[, statuses[, allow_silent_close]])"""
    cases = Cases()
    for item in items:
        data, what = item[0], item[1]
        statuses = item[2] if len(item) > 2 else (400,)
        silent = item[3] if len(item) > 3 else False
        with cases.case():
            expect_reject(s, data, statuses, what, allow_silent_close=silent)
    cases.check()


def test_missing_host():
    with _hserver() as s:
        _reject_all(s, [
            (b'GET /a.txt HTTP/1.1\r\n\r\n', 'HTTP/1.1 without Host'),
            (b'GET /a.txt HTTP/1.1\r\nConnection: keep-alive\r\n\r\n',
             'HTTP/1.1 without Host (other headers)')])


def test_duplicate_host():
    with _hserver() as s:
        _reject_all(s, [
            (b'GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'two Host headers'),
            (b'GET /a.txt HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n', 'two identical Host headers')])


def test_invalid_host_value():
    """RFC 9110 7.2: a Host field with an invalid value MUST get a 400."""
    with _hserver() as s:
        _reject_all(s, [(b'GET /a.txt HTTP/1.1\r\nHost: ' + h + b'\r\n\r\n', 'Host: %r' % h)
                        for h in (b'a b', b'a/b', b'[::1', b'evil.com:80@x', b'a\\b', b'x:8o')])
        with s.conn() as c:
            for h in ('localhost', 'LocalHost:8080', '127.0.0.1', '[::1]:80', 'a-b.example.'):
                r = c.request('/a.txt', host=h)
                eq(r.status, 200, 'valid Host: %s' % h)


def test_space_before_colon():
    with _hserver() as s:
        _reject_all(s, [
            (b'GET /a.txt HTTP/1.1\r\nHost : x\r\n\r\n', '"Host : x"'),
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Foo\t: y\r\n\r\n', 'tab before colon')])


def test_obs_fold():
    with _hserver() as s:
        _reject_all(s, [
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', 'obs-fold (space)'),
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n', 'obs-fold (tab)'),
            (b'GET /a.txt HTTP/1.1\r\n Host: x\r\n\r\n', 'first header line starts with a space')])


def test_bare_cr_and_bad_header_bytes():
    with _hserver() as s:
        _reject_all(s, [
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n', 'bare CR in a header value'),
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', 'NUL in a header value'),
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n',
             'invalid character in a header name'),
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n', 'header line without a colon'),
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\n: novalue\r\n\r\n', 'empty header name')])


def test_bad_request_lines():
    with _hserver() as s:
        _reject_all(s, [
            (b'GET /a b.txt HTTP/1.1\r\nHost: x\r\n\r\n', 'space in target'),
            (b'GET /a\x00.txt HTTP/1.1\r\nHost: x\r\n\r\n', 'raw NUL in target'),
            (b'GET /a.txt HTTP/1.1 extra\r\nHost: x\r\n\r\n', 'junk after the version'),
            (b'GET /a.txt HTTX/1.1\r\nHost: x\r\n\r\n', 'bad protocol name'),
            (b'\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03' + os.urandom(64),
             'a TLS ClientHello', (400,), True)])


def test_http09_request():
    """README (Strict request parsing): HTTP/0.9 requests and unknown
    versions get 400 or 505 and the connection is closed; never a silent
    close, never the file."""
    with _hserver() as s:
        cases = Cases()
        for data, status, what in (
                (b'GET /a.txt\r\n', 400, 'HTTP/0.9 simple request'),
                (b'GET /a.txt\r\n\r\n', 400, 'HTTP/0.9 simple request and an empty line'),
                (b'GET /a.txt HTTP/0.9\r\n\r\n', 505, 'version HTTP/0.9'),
                (b'GET /a.txt HTTP/2.0\r\nHost: x\r\n\r\n', 505, 'version HTTP/2.0'),
                (b'GET /a.txt HTTP/3.0\r\nHost: x\r\n\r\n', (400, 505), 'version HTTP/3.0')):
            with cases.case(what):
                r = expect_reject(s, data, status if isinstance(status, tuple) else (status,),
                                  what)
                check(b'plain a' not in r.body, '%s served the file' % what)
        cases.check()


def test_content_length_and_transfer_encoding():
    with _hserver() as s:
        _reject_all(s, [
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
             b'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'Content-Length with Transfer-Encoding'),
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
             b'Content-Length: 5\r\n\r\n0\r\n\r\n', 'Transfer-Encoding with Content-Length'),
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n',
             'Transfer-Encoding not ending in chunked', (400, 501))])


def test_bad_content_length():
    items = [
        (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
         'two different Content-Length headers'),
        (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n',
         'duplicate Content-Length headers')]
    for v in (b'abc', b'-1', b'5 5', b'+5', b'0x10', b'', b'1.0'):
        items.append((b'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: ' + v + b'\r\n\r\n',
                      'Content-Length: %r' % v))
    items.append((b'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n',
                  'overflowing Content-Length', (400, 413)))
    with _hserver() as s:
        _reject_all(s, items)


def test_body_rejected_and_never_parsed():
    smuggled = build_request('/secret')
    with _hserver() as s:
        # the body is exactly a request
        data = build_request('/a.txt', headers=[('Content-Length', len(smuggled))]) + smuggled
        with s.conn() as c:
            _send(c, data)
            r = c.read_response()
            eq(r.status, 413, 'GET with a body and max_body_size 0')
            assert_std_headers(r, '413')
            check(b'must not be served' not in r.body, 'smuggled request served')
            c.assert_closed(2, 'after 413')
        # Content-Length: 20 and a longer body that starts another request
        data = build_request('/a.txt', headers=[('Content-Length', '20')]) + smuggled
        with s.conn() as c:
            _send(c, data)
            eq(c.read_response().status, 413, 'Content-Length 20, request-like body')
            c.assert_closed(2, 'after 413 (Content-Length 20)')
        # a chunked body carrying a request
        chunk = b'%x\r\n' % len(smuggled) + smuggled + b'\r\n0\r\n\r\n'
        data = build_request('/a.txt', headers=[('Transfer-Encoding', 'chunked')]) + chunk
        with s.conn() as c:
            _send(c, data)
            r = c.read_response()
            is_in(r.status, (400, 411, 413), 'GET with a chunked body')
            check(b'must not be served' not in r.body, 'smuggled request served')
            c.assert_closed(2, 'after rejecting a chunked body')
        # Content-Length: 0 is no body at all
        with s.conn() as c:
            r = c.request('/a.txt', headers=[('Content-Length', '0')])
            eq((r.status, r.body), (200, b'plain a\n'), 'GET with Content-Length: 0')
            eq(c.request('/a.txt').status, 200, 'next request on the same connection')
        s.serves_ok()


def test_max_body_size_discards_small_bodies():
    with _hserver(max_body_size='100') as s:
        smuggled = build_request('/secret')
        with s.conn() as c:
            c.send(build_request('/a.txt', headers=[('Content-Length', len(smuggled))]) +
                   smuggled + build_request('/a.txt'))
            r1 = c.read_response()
            eq((r1.status, r1.body), (200, b'plain a\n'), 'GET with a small allowed body')
            r2 = c.read_response()
            eq((r2.status, r2.body), (200, b'plain a\n'),
               'the request after the body (the body itself must not be parsed)')
        big = b'x' * 101
        with s.conn() as c:
            _send(c, build_request('/a.txt', headers=[('Content-Length', len(big))]) + big)
            eq(c.read_response().status, 413, 'body of 101 bytes with max_body_size 100')
            c.assert_closed(2, 'after 413')


def test_header_size_limits_default():
    with _hserver() as s:
        with s.conn() as c:
            r = c.request('/a.txt', headers=[('X-Big', 'b' * 6000)])
            eq(r.status, 200, '6000-byte header under the default limit')
        _reject_all(s, [
            (build_request('/a.txt', headers=[('X-Big', 'b' * 9000)]),
             'one 9000-byte header (default max_header_size 8k)', (431,)),
            (build_request('/a.txt', headers=[('X-H%d' % i, 'v' * 90) for i in range(95)]),
             '95 headers of 100 bytes (over 8k)', (431,)),
            (build_request('/' + 'u' * 9000), '9000-byte request target', (414,)),
            (b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Endless: ' + b'e' * 65536,
             'a 64k header line without CRLF', (431,))])


def test_header_count_limits():
    with _hserver() as s:
        ok = build_request('/a.txt', headers=[('X-N%d' % i, 'v') for i in range(99)])
        eq(s.raw_request(ok).status, 200, 'Host + 99 headers (= max_headers 100)')
        _reject_all(s, [
            (build_request('/a.txt', headers=[('X-N%d' % i, 'v') for i in range(100)]),
             'Host + 100 headers (over max_headers 100)', (431,))])


def test_configured_header_limits():
    with _hserver(max_header_size='1k', max_headers='10') as s:
        eq(s.raw_request(build_request('/a.txt', headers=[('X-A', 'a' * 800)])).status, 200,
           '~850-byte request with max_header_size 1k')
        eq(s.raw_request(build_request('/a.txt', headers=[('X-%d' % i, 'v') for i in range(9)])).status,
           200, 'Host + 9 headers with max_headers 10')
        _reject_all(s, [
            (build_request('/a.txt', headers=[('X-A', 'a' * 1100)]),
             '1100-byte header with max_header_size 1k', (431,)),
            (build_request('/' + 'u' * 1100), '1100-byte target with max_header_size 1k', (414,)),
            (build_request('/a.txt', headers=[('X-%d' % i, 'v') for i in range(10)]),
             'Host + 10 headers with max_headers 10', (431,))])
        # the boundary (zcserve.conf(5): the largest head, request line and
        # header fields, accepted): fields of exactly 1024 bytes pass, one
        # more byte is refused. The line ends after the last field are not
        # counted.
        base = b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Pad: '
        for size, want in ((1024, 200), (1025, 431)):
            head = base + b'p' * (size - len(base))
            eq(len(head), size, 'test request size')
            eq(s.raw_request(head + b'\r\n\r\n').status, want,
               'a %d-byte head with max_header_size 1k' % size)
        # a head that grows past the limit where no field is complete yet
        # (blanks after a colon): refused as the bytes arrive, not only once
        # the read buffer (max_header_size + 4 KiB) is full
        with s.conn(timeout=3) as c:
            c.send(b'GET /a.txt HTTP/1.1\r\nHost: x\r\nX:')
            for _ in range(11):
                c.send(b' ' * 100)
                time.sleep(0.01)
            r = c.read_response()
            eq(r.status, 431, '1.1 KB of blanks after a colon with max_header_size 1k')
            c.assert_closed(2, 'after the 431')


def _closed_within(c, seconds):
    """README (Limits and timeouts): a slow client is closed without a
    response (as nginx does on client_header_timeout)."""
    closed, extra = c.wait_closed(seconds)
    eq(extra, b'', 'bytes sent before the header timeout close')
    return closed


def test_header_timeout_partial_request():
    with _hserver(header_timeout='1s', keepalive_timeout='30s') as s:
        with s.conn() as c:
            c.send(b'GET /a.txt HTTP/1.1\r\nHost: x\r\n')
            t0 = time.monotonic()
            check(_closed_within(c, 2.5), 'partial request: still open %.1fs later with '
                  'header_timeout 1s' % (time.monotonic() - t0))
        s.serves_ok('after a slowloris close')


def test_header_timeout_pipelined_partial():
    """A partial head pipelined behind a complete request: header_timeout
    runs for it from its first byte (README), not keepalive_timeout."""
    with _hserver(header_timeout='1s', keepalive_timeout='30s') as s:
        with s.conn() as c:
            c.send(build_request('/a.txt') + b'GET /a.txt HTTP/1.1\r\nHost: x\r\n')
            eq(c.read_response().body, b'plain a\n', 'the complete request')
            t0 = time.monotonic()
            check(_closed_within(c, 2.5), 'pipelined partial request: still open %.1fs later '
                  'with header_timeout 1s' % (time.monotonic() - t0))
        s.serves_ok('after a pipelined partial request')


def test_header_timeout_silent_connection():
    with _hserver(header_timeout='1s', keepalive_timeout='30s') as s:
        with s.conn() as c:
            t0 = time.monotonic()
            check(_closed_within(c, 2.5), 'connection that sends nothing: still open %.1fs later'
                  ' with header_timeout 1s' % (time.monotonic() - t0))


def test_header_timeout_trickle():
    """One byte every 200ms: the timeout covers the whole header section."""
    with _hserver(header_timeout='1s', keepalive_timeout='30s') as s:
        req = build_request('/a.txt', headers=[('X-Pad', 'p' * 200)])
        with s.conn() as c:
            t0 = time.monotonic()
            closed = False
            for i in range(len(req) - 4):
                try:
                    c.send(req[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                c2, extra = c.wait_closed(0.2)
                eq(extra, b'', 'bytes sent to a trickling client (no response is due)')
                if c2:
                    closed = True
                    break
                if time.monotonic() - t0 > 3.0:
                    break
            dt = time.monotonic() - t0
            check(closed, 'byte-at-a-time client still connected after %.1fs with '
                  'header_timeout 1s' % dt)
            check(dt < 3.0, 'trickling client closed only after %.1fs' % dt)
        s.serves_ok('after a trickling client')


def _traversal_server():
    s = Server()
    with open(s.tpath('secret.txt'), 'wb') as f:
        f.write(SECRET)
    os.mkdir(s.tpath('outside'))
    with open(s.tpath('outside/secret.txt'), 'wb') as f:
        f.write(SECRET)
    s.put('sub/ok.txt', b'ok\n')
    s.put('a.txt', b'plain a\n')
    return s


TRAVERSALS = [
    '/../secret.txt', '/../../secret.txt', '/../../../../../../etc/passwd',
    '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/.%2e/secret.txt', '/%2e./secret.txt',
    '/..%2fsecret.txt', '/..%2Fsecret.txt', '/%2e%2e%2fsecret.txt', '/%2e%2e%2Fsecret.txt',
    '/sub/../../secret.txt', '/sub/%2e%2e/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret.txt',
    '/%252e%252e/secret.txt', '/%252e%252e%252fsecret.txt', '/sub/%252e%252e/%252e%252e/secret.txt',
    '/%c0%ae%c0%ae/secret.txt', '/%c0%ae%c0%ae%c0%afsecret.txt', '/%e0%80%ae%e0%80%ae/secret.txt',
    '/%c0%2e%c0%2e/secret.txt', '/..\\secret.txt', '/..%5csecret.txt', '/..%5Csecret.txt',
    '/sub\\..\\..\\secret.txt', '/sub%5c..%5c..%5csecret.txt', '/./../secret.txt',
    '/sub/..;/..;/secret.txt', '/.../secret.txt', '/outside/../../secret.txt',
    '/../outside/secret.txt', '/%2e%2e/outside/secret.txt', '/..%00/secret.txt',
    '/sub/../../outside/secret.txt', '/%2e%2e%5csecret.txt',
]


def test_path_traversal():
    with _traversal_server() as s:
        cases = Cases()
        for t in TRAVERSALS:
            with cases.case():
                r = s.get(t)
                check(SECRET not in r.body, 'GET %s leaked the secret file' % t)
                check(b'root:' not in r.body, 'GET %s leaked /etc/passwd' % t)
                is_in(r.status, (400, 403, 404), 'GET %s' % t)
        for t in ('../secret.txt', 'secret.txt', '*', '%2e%2e/secret.txt'):
            with cases.case():
                r = s.raw_request(build_request(t))
                check(SECRET not in r.body, 'target %r leaked the secret' % t)
                is_in(r.status, (400,), 'request target %r (not origin-form)' % t)
        s.serves_ok('after traversal attempts')
        cases.check()


def test_long_paths():
    with _traversal_server() as s:
        cases = Cases()
        deep = '/'.join(['d' * 200] * 22)
        for t in ('/' + 'a' * 255, '/' + 'a' * 256, '/' + 'a' * 4095, '/' + 'a' * 4096,
                  '/' + 'a' * 5000, '/' + deep, '/' + '%41' * 2500, '/' + 'a/' * 2000,
                  '/' + './' * 3000 + 'a.txt', '/' + 'x/../' * 1500 + 'a.txt'):
            with cases.case('GET of a %d-byte target' % len(t)):
                r = s.get(t)
                if t.endswith('a.txt') and r.status == 200:
                    eq(r.body, b'plain a\n', 'body')
                else:
                    is_in(r.status, (400, 403, 404, 414), 'status')
                s.check_alive()
        s.serves_ok('after long paths')
        cases.check()


def test_nul_and_control_characters():
    with _traversal_server() as s:
        cases = Cases()
        for t in ('/a%00.txt', '/a.txt%00', '/a.txt%00.html', '/sub/%00/../../a.txt', '/%00',
                  '/a%01.txt', '/a%1f.txt', '/a%7f.txt', '/a%0a.txt', '/a%0d%0aSet-Cookie:%20x=1',
                  '/a%09.txt'):
            with cases.case():
                r = s.get(t)
                check(not r.has('Set-Cookie'), 'header injection through %s' % t)
                eq(r.status, 400, 'GET %s' % t)
        for t in ('/a%zz.txt', '/a%.txt', '/a%4', '/a%'):
            with cases.case():
                eq(s.get(t).status, 400, 'bad percent-encoding GET %s' % t)
        s.serves_ok('after NUL/control characters')
        cases.check()


if __name__ == '__main__':
    main()
