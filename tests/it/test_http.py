#!/usr/bin/env python3
"""HTTP/1.x connection handling (keep-alive, HTTP/1.0, Connection: close,
pipelining, fragmented requests, keepalive_timeout) and conditional
requests (If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since)."""

from zctest import *


def test_keepalive_http11_default():
    with Server() as s:
        s.put('a.txt', b'AAA\n')
        s.put('b.txt', b'BBBB\n')
        with s.conn() as c:
            for i in range(5):
                r = c.request('/a.txt' if i % 2 == 0 else '/b.txt')
                eq(r.status, 200, 'request %d on one connection' % i)
                eq(r.body, b'AAA\n' if i % 2 == 0 else b'BBBB\n', 'body %d' % i)
                check('close' not in r.conn_tokens(), 'server announced close on HTTP/1.1')
            c.assert_open(0.3)


def test_http10_closes_by_default():
    with Server() as s:
        s.put('a.txt', b'hello 1.0\n')
        with s.conn() as c:
            c.send_request('/a.txt', version='HTTP/1.0')
            r = c.read_response()
            eq(r.status, 200, 'HTTP/1.0 GET')
            eq(r.body, b'hello 1.0\n', 'HTTP/1.0 body')
            check('keep-alive' not in r.conn_tokens(), 'keep-alive announced to a 1.0 client')
            c.assert_closed(2, 'HTTP/1.0 without keep-alive')
        # HTTP/1.0 without Host is fine
        with s.conn() as c:
            c.send_request('/a.txt', version='HTTP/1.0', host=None)
            eq(c.read_response().status, 200, 'HTTP/1.0 without Host')


def test_http10_keepalive():
    with Server() as s:
        s.put('a.txt', b'hello keep-alive\n')
        with s.conn() as c:
            for i in range(3):
                c.send_request('/a.txt', version='HTTP/1.0',
                               headers=[('Connection', 'keep-alive')])
                r = c.read_response()
                eq(r.status, 200, 'HTTP/1.0 keep-alive request %d' % i)
                eq(r.body, b'hello keep-alive\n', 'body %d' % i)
                check('keep-alive' in r.conn_tokens(),
                      'response %d to a 1.0 keep-alive request lacks Connection: keep-alive'
                      ' (headers %r)' % (i, r.headers))
            c.assert_open(0.3)


def test_connection_close_honoured():
    with Server() as s:
        s.put('a.txt', b'bye\n')
        cases = Cases()
        for value in ('close', 'CLOSE', 'foo, close', 'Close', 'keep-alive, close'):
            with cases.case():
                with s.conn() as c:
                    c.send_request('/a.txt', headers=[('Connection', value)])
                    r = c.read_response()
                    eq((r.status, r.body), (200, b'bye\n'), 'Connection: %s' % value)
                    check('close' in r.conn_tokens(),
                          'no Connection: close in the response to Connection: %s' % value)
                    c.assert_closed(2, 'after Connection: %s' % value)
        cases.check()
        # lower-case header names work too
        with s.conn() as c:
            c.send(b'GET /a.txt HTTP/1.1\r\nhOsT: x\r\nconnection: close\r\n\r\n')
            eq(c.read_response().body, b'bye\n', 'lower-case header names')
            c.assert_closed(2, 'after connection: close (lower case)')


def test_pipelining_50():
    with Server() as s:
        files = {}
        for i, size in enumerate((0, 1, 100, 4095, 4096, 4097, 70000, 3, 1000, 250000)):
            files['/f%d.bin' % i] = s.put('f%d.bin' % i, rand_bytes(size))
        plan = []
        names = sorted(files)
        for i in range(50):
            if i % 11 == 5:
                plan.append(('GET', '/missing%d' % i))
            elif i % 7 == 3:
                plan.append(('HEAD', names[i % len(names)]))
            else:
                plan.append(('GET', names[i % len(names)]))
        data = b''.join(build_request(p, m) for m, p in plan)
        with s.conn() as c:
            c.send(data)
            for i, (m, p) in enumerate(plan):
                r = c.read_response(m)
                what = 'pipelined response %d (%s %s)' % (i, m, p)
                if p.startswith('/missing'):
                    eq(r.status, 404, what)
                    continue
                eq(r.status, 200, what)
                eq(r.get('Content-Length'), str(len(files[p])), what + ' Content-Length')
                if m == 'GET':
                    eq(r.body, files[p], what + ' body')
            c.assert_open(0.2)
            eq(c.request(names[-1]).body, files[names[-1]], 'request after the pipeline')


def test_pipelining_1000_small():
    """More pipelined requests than any read buffer holds, sent at once."""
    with Server() as s:
        for i in range(10):
            s.put('p%d.txt' % i, b'pipelined %d\n' % i)
        with s.conn(timeout=10) as c:
            c.send(b''.join(build_request('/p%d.txt' % (i % 10)) for i in range(1000)))
            for i in range(1000):
                r = c.read_response()
                eq((r.status, r.body), (200, b'pipelined %d\n' % (i % 10)), 'response %d' % i)
            c.assert_open(0.2)


def test_half_close_still_answered():
    """A client that shuts down its sending side still gets its response."""
    with Server() as s:
        s.put('a.txt', b'half\n')
        with s.conn() as c:
            c.send_request('/a.txt')
            c.sock.shutdown(socket.SHUT_WR)
            r = c.read_response()
            eq((r.status, r.body), (200, b'half\n'), 'response after SHUT_WR')
            c.assert_closed(2, 'after the response to a half-closed connection')
        with s.conn() as c:
            c.send(build_request('/a.txt') + build_request('/a.txt'))
            c.sock.shutdown(socket.SHUT_WR)
            eq(c.read_response().body, b'half\n', 'first pipelined response after SHUT_WR')
            eq(c.read_response().body, b'half\n', 'second pipelined response after SHUT_WR')


def test_pipelining_stops_at_connection_close():
    with Server() as s:
        s.put('a.txt', b'A\n')
        s.put('b.txt', b'B\n')
        s.put('c.txt', b'C\n')
        with s.conn() as c:
            c.send(build_request('/a.txt') +
                   build_request('/b.txt', headers=[('Connection', 'close')]) +
                   build_request('/c.txt'))
            eq(c.read_response().body, b'A\n', 'first')
            eq(c.read_response().body, b'B\n', 'second (Connection: close)')
            c.assert_closed(2, 'third request after Connection: close must not be answered')


def test_fragmented_requests():
    """Requests split at awkward places, including inside CRLFCRLF."""
    with Server() as s:
        s.put('frag.txt', b'fragment ok\n')
        req = build_request('/frag.txt', headers=[('X-Pad', 'y' * 100)])
        with s.conn() as c:
            for cut in (1, 5, 17, len(req) - 3, len(req) - 2, len(req) - 1):
                c.send(req[:cut])
                time.sleep(0.02)
                c.send(req[cut:])
                eq(c.read_response().body, b'fragment ok\n', 'request split at byte %d' % cut)
            # byte by byte
            for i in range(0, len(req), 7):
                c.send(req[i:i + 7])
                time.sleep(0.002)
            eq(c.read_response().body, b'fragment ok\n', 'request sent 7 bytes at a time')
            # two requests in one packet, the second one split
            two = req + req
            c.send(two[:len(req) + 10])
            eq(c.read_response().body, b'fragment ok\n', 'first of two')
            time.sleep(0.05)
            c.send(two[len(req) + 10:])
            eq(c.read_response().body, b'fragment ok\n', 'second of two, completed later')


def test_keepalive_timeout():
    with Server(conf={'keepalive_timeout': '1s', 'header_timeout': '10s'}) as s:
        s.put('a.txt', b'a\n')
        with s.conn() as c:
            eq(c.request('/a.txt').status, 200, 'first request')
            t0 = time.monotonic()
            c.assert_open(0.5)
            closed, extra = c.wait_closed(3.0)
            dt = time.monotonic() - t0
            check(closed, 'idle keep-alive connection still open %.1fs after the response '
                  'with keepalive_timeout 1s' % dt)
            check(not extra.startswith(b'HTTP/1.1 2'), 'data on an idle connection %s' % srepr(extra))
    with Server(conf={'keepalive_timeout': '500ms', 'header_timeout': '10s'}) as s:
        s.put('a.txt', b'a\n')
        with s.conn() as c:
            eq(c.request('/a.txt').status, 200, 'first request')
            closed, _ = c.wait_closed(2.0)
            check(closed, 'keepalive_timeout 500ms: still open after 2s')
        # activity keeps it alive: requests every 300ms for 1.5s
        with s.conn() as c:
            for i in range(5):
                eq(c.request('/a.txt').status, 200, 'request %d every 300ms' % i)
                time.sleep(0.3)


def _cond_server():
    s = Server()
    s.mtime = int(time.time()) - 3 * 86400
    s.data = s.put('c.txt', rand_bytes(3000), mtime=s.mtime)
    return s


def _etag(s):
    r = s.get('/c.txt')
    eq(r.status, 200, 'plain GET')
    return r.get('ETag'), r.get('Last-Modified')


def test_if_none_match():
    with _cond_server() as s:
        etag, lm = _etag(s)
        cases = Cases()
        for inm, want in ((etag, 304), ('"nomatch"', 200), ('"nomatch", ' + etag, 304),
                          ('"x",' + etag, 304), (etag + ' , "y"', 304), ('*', 304),
                          ('W/' + etag, 304), ('"x", "y"', 200), (etag[:-2] + '"', 200)):
            with cases.case():
                r = s.get('/c.txt', headers=[('If-None-Match', inm)])
                eq(r.status, want, 'If-None-Match: %s' % inm)
                if want == 304:
                    eq(r.get('ETag'), etag, '304 ETag')
                    check(r.has('Date'), '304 without Date')
                else:
                    eq(r.body, s.data, '200 body')
        cases.check()
        # a 304 has no body: the next response on the connection must parse
        with s.conn() as c:
            for m in ('GET', 'HEAD', 'GET'):
                r = c.request('/c.txt', m, headers=[('If-None-Match', etag)])
                eq(r.status, 304, '%s with matching If-None-Match' % m)
            eq(c.request('/c.txt').body, s.data, 'GET after three 304s')
        # If-None-Match takes precedence over If-Modified-Since
        r = s.get('/c.txt', headers=[('If-None-Match', '"other"'), ('If-Modified-Since', lm)])
        eq(r.status, 200, 'non-matching If-None-Match with a matching If-Modified-Since')
        r = s.get('/c.txt', headers=[('If-None-Match', etag),
                                     ('If-Modified-Since', http_date(s.mtime - 86400))])
        eq(r.status, 304, 'matching If-None-Match with an old If-Modified-Since')


def test_if_modified_since():
    with _cond_server() as s:
        etag, lm = _etag(s)
        eq(lm, http_date(s.mtime), 'Last-Modified')
        t = s.mtime
        cases = Cases()
        for ims, want in ((lm, 304),
                          (http_date(t - 3600), 200),
                          (http_date(t + 60), 304),
                          ('not a date', 200),
                          (time.strftime('%A, %d-%b-%y %H:%M:%S GMT', time.gmtime(t)), 304),
                          (time.asctime(time.gmtime(t)), 304),
                          (time.asctime(time.gmtime(t - 1)), 200)):
            with cases.case():
                r = s.get('/c.txt', headers=[('If-Modified-Since', ims)])
                eq(r.status, want, 'If-Modified-Since: %s (Last-Modified %s)' % (ims, lm))
                if want == 200:
                    eq(r.body, s.data, 'body')
        cases.check()
        r = s.get('/c.txt', 'HEAD', headers=[('If-Modified-Since', lm)])
        eq(r.status, 304, 'HEAD with If-Modified-Since')
        # touching the file makes it modified again
        os.utime(s.path('c.txt'), (t + 7200, t + 7200))
        wait_for(lambda: s.get('/c.txt', headers=[('If-Modified-Since', lm)]).status == 200,
                 timeout=3, msg='200 after the file mtime moved past If-Modified-Since')


def test_conditionals_before_range():
    with _cond_server() as s:
        etag, lm = _etag(s)
        r = s.get('/c.txt', headers=[('If-None-Match', etag), ('Range', 'bytes=0-9')])
        eq(r.status, 304, 'matching If-None-Match with Range')
        r = s.get('/c.txt', headers=[('If-Match', '"nomatch"'), ('Range', 'bytes=0-9')])
        eq(r.status, 412, 'failing If-Match with Range')
        r = s.get('/c.txt', headers=[('If-Modified-Since', lm), ('Range', 'bytes=0-9')])
        eq(r.status, 304, 'matching If-Modified-Since with Range')
        r = s.get('/c.txt', headers=[('If-Match', etag), ('Range', 'bytes=0-9')])
        eq((r.status, r.body), (206, s.data[:10]), 'matching If-Match with Range')


def test_expect_100_continue_without_body():
    with Server() as s:
        s.put('a.txt', b'expect\n')
        with s.conn() as c:
            r = c.request('/a.txt', headers=[('Expect', '100-continue')])
            eq((r.status, r.body), (200, b'expect\n'), 'GET with Expect: 100-continue')
            eq(c.request('/a.txt').body, b'expect\n', 'next request on the connection')


def test_if_match_and_if_unmodified_since():
    with _cond_server() as s:
        etag, lm = _etag(s)
        t = s.mtime
        cases = Cases()
        for hdrs, want in (([('If-Match', etag)], 200),
                           ([('If-Match', '"nomatch"')], 412),
                           ([('If-Match', '*')], 200),
                           ([('If-Match', '"a", ' + etag)], 200),
                           ([('If-Match', 'W/' + etag)], 412),
                           ([('If-Unmodified-Since', http_date(t - 3600))], 412),
                           ([('If-Unmodified-Since', lm)], 200),
                           ([('If-Unmodified-Since', http_date(t + 3600))], 200),
                           ([('If-Unmodified-Since', 'garbage')], 200),
                           # If-Match present: If-Unmodified-Since is not evaluated
                           ([('If-Match', etag), ('If-Unmodified-Since', http_date(t - 3600))], 200),
                           # If-Match is evaluated before If-None-Match
                           ([('If-Match', '"nomatch"'), ('If-None-Match', etag)], 412)):
            with cases.case():
                r = s.get('/c.txt', headers=hdrs)
                eq(r.status, want, 'conditional %r' % hdrs)
                assert_std_headers(r, 'conditional %r' % hdrs)
                if want == 200:
                    eq(r.body, s.data, 'body for %r' % hdrs)
        cases.check()
        r = s.get('/c.txt', 'HEAD', headers=[('If-Match', '"nomatch"')])
        eq(r.status, 412, 'HEAD with failing If-Match')


if __name__ == '__main__':
    main()
