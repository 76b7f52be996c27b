#!/usr/bin/env python3
"""Basic serving: -V, files and their headers, HEAD, 404/405, content types,
index files, directory redirects, autoindex, path decoding, the status page,
and the shipped configuration."""

import html
import urllib.parse

from zctest import *


def test_version():
    r = run_tool(['-V'])
    eq(r.returncode, 0, 'zcserve -V exit status (output %r)' % (r.stdout + r.stderr))
    out = r.stdout + r.stderr
    with open(os.path.join(SRCDIR, 'configure.ac')) as f:
        m = re.search(r'AC_INIT\(\[zcserve\],\s*\[([^\]]+)\]', f.read())
    check(m, 'cannot find the version in configure.ac')
    check(m.group(1) in out, '-V does not print version %s: %r' % (m.group(1), out))
    for strategy in ('copy', 'sendfile'):
        check(strategy in out, '-V does not mention send path %r: %r' % (strategy, out))
    # what -V says about leases matches the kernel's own switch
    try:
        with open('/proc/sys/fs/leases-enable') as f:
            leases = f.read().strip() == '1'
    except OSError:
        leases = True
    m = re.search(r'^file leases: (yes|no); sock_diag for TCP: (yes|no)$', out, re.M)
    check(m, '-V does not report file leases and sock_diag: %r' % out)
    eq(m.group(1) == 'yes', leases, '-V file leases against /proc/sys/fs/leases-enable')


def test_get_file_and_standard_headers():
    with Server() as s:
        data = s.put('hello.txt', rand_bytes(1234))
        r = s.get('/hello.txt')
        eq(r.status, 200, 'status')
        eq(r.version, 'HTTP/1.1', 'response version')
        eq(r.body, data, 'body')
        assert_std_headers(r)
        eq(r.get('Content-Length'), '1234', 'Content-Length')
        eq(r.get('Content-Type'), 'text/plain; charset=utf-8', 'Content-Type of .txt')
        eq(r.get('Accept-Ranges'), 'bytes', 'Accept-Ranges')
        check(r.has('Last-Modified'), 'no Last-Modified')
        check(re.match(r'^"[^"\s]+"$', r.get('ETag') or ''),
              'ETag not a strong quoted tag: %r' % r.get('ETag'))
        date = parse_http_date(r.get('Date'))
        check(abs(date - time.time()) < 5, 'Date %r is not now' % r.get('Date'))
        check(r.get('Server'), 'empty Server header')


def test_date_header_is_current():
    with Server() as s:
        s.put('a.txt', b'a')
        for i in range(3):
            if i:
                time.sleep(1.1)
            r = s.get('/a.txt')
            d = parse_http_date(r.get('Date'))
            check(abs(d - time.time()) < 2, 'Date %r is %.1fs off the clock'
                  % (r.get('Date'), d - time.time()))


def test_last_modified_and_etag():
    with Server() as s:
        mtime = int(time.time()) - 86400 * 3 - 17
        s.put('a.bin', rand_bytes(100), mtime=mtime)
        s.put('b.bin', rand_bytes(100), mtime=mtime)
        ra = s.get('/a.bin')
        eq(ra.get('Last-Modified'), http_date(mtime), 'Last-Modified')
        rb = s.get('/b.bin')
        check(ra.get('ETag') != rb.get('ETag'),
              'two different files share ETag %s' % ra.get('ETag'))
        eq(s.get('/a.bin').get('ETag'), ra.get('ETag'), 'ETag is stable between requests')


def test_etag_changes_when_file_changes():
    with Server() as s:
        s.put('f.txt', b'version one\n', mtime=time.time() - 100)
        r1 = s.get('/f.txt')
        eq(r1.body, b'version one\n', 'first body')
        s.put('f.txt', b'version two, longer\n', mtime=time.time() - 10)
        # an open-file cache may keep the old metadata for a moment
        r2 = wait_for(lambda: (lambda r: r if r.body == b'version two, longer\n' else None)(
            s.get('/f.txt')), timeout=3, msg='the new content to be served')
        check(r2.get('ETag') != r1.get('ETag'), 'ETag unchanged after the file changed')
        check(r2.get('Last-Modified') != r1.get('Last-Modified'),
              'Last-Modified unchanged after the file changed')
        eq(r2.get('Content-Length'), str(len(b'version two, longer\n')), 'new Content-Length')


def test_head_matches_get():
    with Server() as s:
        data = s.put('page.html', b'<html>' + b'x' * 5000 + b'</html>')
        with s.conn() as c:
            h = c.request('/page.html', 'HEAD')
            # the GET on the same connection also proves HEAD sent no body
            g = c.request('/page.html', 'GET')
        eq(h.status, 200, 'HEAD status')
        eq(g.body, data, 'GET body after HEAD')

        def norm(r):
            return sorted((k.lower(), v) for k, v in r.headers if k.lower() != 'date')
        eq(norm(h), norm(g), 'HEAD headers vs GET headers')
        eq(h.get('Content-Length'), str(len(data)), 'HEAD Content-Length')
        # HEAD of a missing file: a 404 with no body, same headers as the GET
        with s.conn() as c:
            h = c.request('/missing.html', 'HEAD')
            eq(h.status, 404, 'HEAD of a missing file')
            g = c.request('/missing.html')
            eq(norm(h), norm(g), 'HEAD 404 headers vs GET 404 headers')
            eq(c.request('/page.html').body, data, 'GET after HEAD 404')


def test_not_found():
    with Server() as s:
        cases = Cases()
        for path in ('/nope.txt', '/no/such/dir/', '/no/such/file.html'):
            with cases.case():
                r = s.get(path)
                eq(r.status, 404, 'GET %s' % path)
                assert_std_headers(r, 'GET %s' % path)
                eq(int(r.get('Content-Length')), len(r.body), '404 Content-Length')
        cases.check()


def test_methods_not_allowed():
    with Server() as s:
        s.put('a.txt', b'hello\n')
        cases = Cases()
        for m in ('POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'):
            with cases.case():
                r = s.get('/a.txt', m)
                eq(r.status, 405, '%s /a.txt status' % m)
                eq(r.get('Allow'), 'GET, HEAD', '%s /a.txt Allow header' % m)
                assert_std_headers(r, '%s response' % m)
        cases.check()
        # a 405 does not break the connection for the next request
        with s.conn() as c:
            eq(c.request('/a.txt', 'POST').status, 405, 'POST on a keep-alive connection')
            closed, extra = c.wait_closed(0.2)
            if not closed:
                eq(c.request('/a.txt').body, b'hello\n', 'GET after a 405 on the same connection')
        eq(s.get('/a.txt').body, b'hello\n', 'file unchanged after PUT/DELETE')
        check(os.path.exists(s.path('a.txt')), 'DELETE removed the file')


def test_content_types_builtin():
    with Server() as s:
        cases = Cases()
        for name, ctype in (('p.html', 'text/html; charset=utf-8'),
                            ('p.txt', 'text/plain; charset=utf-8'),
                            ('p.css', 'text/css; charset=utf-8'),
                            ('p.png', 'image/png'),
                            ('p.jpg', 'image/jpeg'),
                            ('p.zzqqxx', 'application/octet-stream'),
                            ('noextension', 'application/octet-stream')):
            with cases.case():
                s.put(name, b'data')
                eq(s.get('/' + name).get('Content-Type'), ctype, 'Content-Type of %s' % name)
        cases.check()


def test_mime_types_file_and_default_type():
    s = Server(conf={'mime_types': 'my.types', 'default_type': 'application/x-zc-default'})
    with open(s.tpath('my.types'), 'w') as f:
        f.write('# test types\n'
                'text/html html htm\n'
                'text/plain txt\n'
                'image/png png\n'
                'application/x-zc-test zct zct2\n')
    with s:
        cases = Cases()
        for name, ctype in (('a.zct', 'application/x-zc-test'),
                            ('a.zct2', 'application/x-zc-test'),
                            ('A.ZCT', 'application/x-zc-test'),
                            ('x.tar.zct', 'application/x-zc-test'),
                            ('zct', 'application/x-zc-default'),
                            ('a.unknownext', 'application/x-zc-default'),
                            ('a.htm', 'text/html; charset=utf-8'),
                            ('a.png', 'image/png')):
            with cases.case():
                s.put(name, b'data')
                eq(s.get('/' + name).get('Content-Type'), ctype, 'Content-Type of %s' % name)
        cases.check()


def test_charset():
    with Server(conf={'charset': 'iso-8859-1'}) as s:
        s.put('a.html', b'x')
        s.put('a.png', b'x')
        eq(s.get('/a.html').get('Content-Type'), 'text/html; charset=iso-8859-1', 'charset NAME')
        eq(s.get('/a.png').get('Content-Type'), 'image/png', 'no charset on images')
    with Server(conf={'charset': 'off'}) as s:
        s.put('a.html', b'x')
        s.put('a.txt', b'x')
        eq(s.get('/a.html').get('Content-Type'), 'text/html', 'charset off (.html)')
        eq(s.get('/a.txt').get('Content-Type'), 'text/plain', 'charset off (.txt)')


def test_index_files():
    with Server() as s:
        s.put('index.html', b'root index\n')
        s.put('d/index.html', b'd index\n')
        eq(s.get('/').body, b'root index\n', 'GET /')
        r = s.get('/d/')
        eq(r.status, 200, 'GET /d/')
        eq(r.body, b'd index\n', 'GET /d/ body')
        eq(r.get('Content-Type'), 'text/html; charset=utf-8', 'index Content-Type')
    with Server(conf={'index': 'first.htm second.txt'}) as s:
        s.put('both/first.htm', b'first\n')
        s.put('both/second.txt', b'second\n')
        s.put('only2/second.txt', b'second only\n')
        s.put('neither/index.html', b'not an index here\n')
        eq(s.get('/both/').body, b'first\n', 'first index wins')
        r = s.get('/only2/')
        eq((r.status, r.body), (200, b'second only\n'), 'second index used')
        eq(r.get('Content-Type'), 'text/plain; charset=utf-8', 'Content-Type from the index name')
        is_in(s.get('/neither/').status, (403, 404), 'index.html is not an index any more')


def _location_path(r, sent_host='localhost'):
    loc = r.get('Location')
    check(loc, 'redirect without Location')
    check(not loc.startswith('//'), 'Location is protocol-relative: %r' % loc)
    check(not loc.startswith('/\\') and '\\' not in loc, 'Location has a backslash: %r' % loc)
    u = urllib.parse.urlsplit(loc)
    if u.scheme or u.netloc:
        eq(u.scheme, 'http', 'Location scheme (%r)' % loc)
        eq(u.hostname, sent_host, 'Location host (%r)' % loc)
    check(not u.path.startswith('//'), 'Location path starts with //: %r' % loc)
    return u.path, u.query


def test_directory_redirect():
    with Server() as s:
        s.put('sub/index.html', b'sub\n')
        s.put('sp ace/index.html', b'space\n')
        r = s.get('/sub')
        eq(r.status, 301, 'GET /sub')
        assert_std_headers(r, '301')
        eq(_location_path(r)[0], '/sub/', 'Location path')
        eq(int(r.get('Content-Length')), len(r.body), '301 Content-Length')
        r = s.get('/sp%20ace')
        eq(r.status, 301, 'GET /sp%20ace')
        path, _ = _location_path(r)
        check(' ' not in r.get('Location'), 'raw space in Location %r' % r.get('Location'))
        eq(urllib.parse.unquote(path), '/sp ace/', 'Location path of a name with a space')
        # HEAD gets the same redirect
        eq(s.get('/sub', 'HEAD').status, 301, 'HEAD /sub')


def test_redirect_never_protocol_relative():
    with Server() as s:
        s.put('evil.com/dir/index.html', b'x\n')
        cases = Cases()
        for target in ('//evil.com/dir', '///evil.com/dir', '/%2Fevil.com/dir',
                       '/%2f%2fevil.com/dir', '/./evil.com/dir', '//evil.com//dir'):
            with cases.case():
                r = s.get(target)
                if r.status == 301:
                    path, _ = _location_path(r)
                    eq(path, '/evil.com/dir/', 'Location path for %s' % target)
                else:
                    is_in(r.status, (400, 404), 'GET %s' % target)
        cases.check()


def test_directory_without_index():
    with Server() as s:
        s.put('empty/readme.txt', b'no index here\n')
        r = s.get('/empty/')
        is_in(r.status, (403, 404), 'directory without index, autoindex off')
        check(b'readme.txt' not in r.body, 'directory listed with autoindex off')


def test_autoindex():
    names = ['a.txt', '<b>&.txt', 'sp ace.txt', 'x" onmouseover="alert(1).txt', 'caf\u00e9.txt']
    with Server(conf={'autoindex': 'on'}) as s:
        content = {}
        for i, n in enumerate(names):
            content[n] = s.put('list/' + n, ('file %d\n' % i).encode())
        s.put('list/subdir/inner.txt', b'inner\n')
        s.put('list/.hidden', b'secret\n')
        r = s.get('/list/')
        eq(r.status, 200, 'autoindex status')
        check((r.get('Content-Type') or '').startswith('text/html'),
              'autoindex Content-Type %r' % r.get('Content-Type'))
        body = r.body.decode('utf-8', 'replace')
        check('<b>&' not in body, 'unescaped file name <b>& in the listing')
        check('&lt;b&gt;&amp;.txt' in body, 'escaped name &lt;b&gt;&amp;.txt missing')
        check('" onmouseover' not in body, 'unescaped quote from a file name in the listing')
        check('.hidden' not in body, 'dotfile listed with hidden_files off')
        check('subdir' in body, 'subdirectory not listed')
        hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', body)]
        targets = {}
        for h in hrefs:
            u = urllib.parse.urljoin('/list/', h)
            if u.startswith('/list/') and u != '/list/':
                targets[urllib.parse.unquote(u[len('/list/'):])] = u
        cases = Cases()
        for n in names:
            with cases.case():
                check(n in targets, 'no link to %r in listing (links: %r)' % (n, sorted(targets)))
                rr = s.get(targets[n])
                eq((rr.status, rr.body), (200, content[n]), 'following the link to %r' % n)
        cases.check()
        check('subdir/' in targets, 'no link to subdir/ (links %r)' % sorted(targets))
        eq(s.get(targets['subdir/']).status, 200, 'following the subdir link')
        # a directory with an index is served, not listed
        s.put('withindex/index.html', b'the index\n')
        eq(s.get('/withindex/').body, b'the index\n', 'index preferred to listing')


def test_autoindex_large_directory():
    with Server(conf={'autoindex': 'on'}) as s:
        names = ['%04d-%s.txt' % (i, 'n' * 200) for i in range(1500)]
        os.makedirs(s.path('big'))
        for n in names:
            with open(s.path('big/' + n), 'wb') as f:
                f.write(b'x')
        r = s.get('/big/', timeout=10)
        eq(r.status, 200, 'listing of 1500 files with 209-byte names')
        body = r.body.decode('utf-8', 'replace')
        missing = [n for n in names if n not in body]
        check(not missing, '%d of 1500 names missing from the listing (first %r)'
              % (len(missing), missing[:1]))
        s.serves_ok('after a large listing')


def test_percent_decoding_and_query():
    with Server() as s:
        s.put('a b.txt', b'space\n')
        s.put('a+b.txt', b'plus\n')
        s.put('a.txt', b'plain a\n')
        s.put('caf\u00e9.txt', b'utf8\n')
        cases = Cases()
        for target, body in (('/a%20b.txt', b'space\n'), ('/a+b.txt', b'plus\n'),
                             ('/a%2Bb.txt', b'plus\n'), ('/a%2bb.txt', b'plus\n'),
                             ('/%61.txt', b'plain a\n'), ('/%61%2E%74%78%74', b'plain a\n'),
                             ('/caf%C3%A9.txt', b'utf8\n'), ('/a.txt?x=1&y=%00', b'plain a\n'),
                             ('/a%20b.txt?q', b'space\n'), ('/a.txt?', b'plain a\n')):
            with cases.case():
                r = s.get(target)
                eq((r.status, r.body), (200, body), 'GET %s' % target)
        cases.check()


def test_dot_segments():
    with Server() as s:
        s.put('a.txt', b'A\n')
        s.put('sub/x.txt', b'X\n')
        cases = Cases()
        for target, body in (('/sub/../a.txt', b'A\n'), ('/./a.txt', b'A\n'),
                             ('/sub/./x.txt', b'X\n'), ('/sub/zz/../x.txt', b'X\n'),
                             ('//a.txt', b'A\n'), ('/sub//x.txt', b'X\n'),
                             ('/sub/%2e/x.txt', b'X\n'), ('/sub/%2e%2e/a.txt', b'A\n'),
                             ('/sub/.%2E/a.txt', b'A\n')):
            with cases.case():
                r = s.get(target)
                eq((r.status, r.body), (200, body), 'GET %s' % target)
        cases.check()


def test_status_json():
    with Server() as s:
        s.put('a.txt', b'a' * 100)
        r = s.get(s.status_path)
        eq(r.status, 200, 'status page')
        check((r.get('Content-Type') or '').startswith('application/json'),
              'status Content-Type %r' % r.get('Content-Type'))
        st = json.loads(r.body)
        for k in ('uptime_s', 'requests'):
            check(isinstance(st.get(k), int), 'status %s not an integer: %r' % (k, st.get(k)))
        for k in ('active', 'accepted'):
            check(isinstance(st['connections'].get(k), int), 'connections.%s missing' % k)
        for k in ('2xx', '3xx', '4xx', '5xx'):
            check(isinstance(st['responses'].get(k), int), 'responses.%s missing' % k)
        for k in ('copy', 'sendfile'):
            check(isinstance(st['send'][k].get('responses'), int), 'send.%s.responses' % k)
            check(isinstance(st['send'][k].get('bytes'), int), 'send.%s.bytes' % k)

        time.sleep(0.3)     # the startup probe connection must be counted before s1
        s1 = s.status()
        for _ in range(3):
            eq(s.get('/a.txt').status, 200, 'GET')
        eq(s.get('/a.txt', 'HEAD').status, 200, 'HEAD')
        for _ in range(2):
            eq(s.get('/missing').status, 404, 'GET missing')
        s.put('d/x', b'x')
        eq(s.get('/d').status, 301, 'redirect')
        time.sleep(0.2)     # workers may publish their counters a moment after responding
        s2 = s.status()

        def d(*keys):
            a, b = s1, s2
            for k in keys:
                a, b = a[k], b[k]
            return b - a
        is_in(d('requests'), (7, 8, 9), 'requests delta (7 requests + status pages)')
        is_in(d('responses', '2xx'), (4, 5, 6), '2xx delta')
        eq(d('responses', '3xx'), 1, '3xx delta')
        eq(d('responses', '4xx'), 2, '4xx delta')
        eq(d('responses', '5xx'), 0, '5xx delta')
        eq(d('connections', 'accepted'), 8, 'accepted connections delta')
        body_bytes = sum(d('send', k, 'bytes') for k in s2['send'])
        check(body_bytes >= 300, 'send bytes grew by %d, expected >= 300 (3 x 100-byte body)'
              % body_bytes)

        conns = [s.conn() for _ in range(3)]
        for c in conns:
            eq(c.request('/a.txt').status, 200, 'keep-alive request')
        st = s.status()
        check(st['connections']['active'] >= 4,
              'active connections %d with 3 idle keep-alive ones open'
              % st['connections']['active'])
        for c in conns:
            c.close()
        wait_for(lambda: s.status()['connections']['active'] == 1, timeout=3,
                 msg='active connections back to 1 after closing')
        u1 = s.status()['uptime_s']
        time.sleep(1.1)
        check(s.status()['uptime_s'] >= u1 + 1, 'uptime_s does not advance')


def _shipped_conf_copy(tmp, port):
    """conf/ copied to tmp/conf with one listen on our port, root at the
    repo's www, user dropped and absolute log/pid paths moved into tmp."""
    src = os.path.join(SRCDIR, 'conf', 'zcserve.conf')
    check(os.path.isfile(src), 'shipped config %s missing' % src)
    dst_dir = os.path.join(tmp, 'conf')
    shutil.copytree(os.path.join(SRCDIR, 'conf'), dst_dir)
    out, have_listen = [], False
    with open(src) as f:
        for line in f.read().splitlines():
            m = re.match(r'^\s*(\w+)\s+(.*?)\s*;\s*(#.*)?$', line)
            if m:
                d, v = m.group(1), m.group(2)
                if d == 'listen':
                    line = '' if have_listen else 'listen 127.0.0.1:%d;' % port
                    have_listen = True
                elif d == 'root':
                    line = 'root %s;' % os.path.join(SRCDIR, 'www')
                elif d == 'user':
                    line = '# ' + line
                elif d in ('pid_file', 'access_log', 'error_log') and v.startswith('/'):
                    parts = v.split()
                    parts[0] = os.path.join(tmp, d + '.out')
                    line = '%s %s;' % (d, ' '.join(parts))
            out.append(line)
    if not have_listen:
        out.append('listen 127.0.0.1:%d;' % port)
    path = os.path.join(dst_dir, 'zcserve.conf')
    with open(path, 'w') as f:
        f.write('\n'.join(out) + '\n')
    return path


def test_shipped_config_serves_www():
    index = os.path.join(SRCDIR, 'www', 'index.html')
    check(os.path.isfile(index), '%s missing' % index)
    with open(index, 'rb') as f:
        want = f.read()
    s = Server(base=False)
    path = _shipped_conf_copy(s.tmp, s.port)
    s.conf_path = path
    with s:
        r = s.get('/')
        eq(r.status, 200, 'GET / with the shipped config')
        eq(r.body, want, 'GET / body vs www/index.html')
        eq(r.get('Content-Type'), 'text/html; charset=utf-8', 'index.html Content-Type')
        r = s.get('/index.html')
        eq(r.body, want, 'GET /index.html')


if __name__ == '__main__':
    main()
