#!/usr/bin/env python3
"""Configuration: -t on good and bad files (FILE:LINE messages), startup
with a bad file, the shipped conf, relative paths, listen (several, IPv6),
workers, max_connections, access_log (combined format), error_log,
status_path, user."""

import datetime
import pwd

from zctest import *


def _write(dirpath, name, text):
    p = os.path.join(dirpath, name)
    with open(p, 'w') as f:
        f.write(text)
    return p


def test_check_good_config():
    tmp = tempfile.mkdtemp(prefix='zcit-')
    try:
        os.mkdir(os.path.join(tmp, 'www'))
        os.mkdir(os.path.join(tmp, 'logs'))
        _write(tmp, 'my.types', 'text/html html\napplication/x-zc zc\n')
        listen6 = '\nlisten [::1]:%d;' % free_port() if ipv6_loopback_ok() else ''
        conf = _write(tmp, 'good.conf', """# every directive, with units
listen 127.0.0.1:%d;   # trailing comment
listen 127.0.0.1:%d;%s
workers auto;
root www;
index index.html index.htm;
autoindex off;
mime_types my.types;
default_type application/x-zc-default;
charset utf-8;
symlinks inside;
hidden_files off;
access_log logs/access.log;
error_log logs/error.log warn;
keepalive_timeout 500ms;
header_timeout 2s;
send_timeout 1m;
shutdown_timeout 3s;
max_connections 100;
max_header_size 8k;
max_headers 50;
max_body_size 1m;
max_ranges 10;
send_strategy sendfile;
status_path /zc-status;
pid_file logs/zc.pid;

""" % (free_port(), free_port(), listen6))
        r = run_tool(['-t', '-c', conf])
        out = r.stdout + r.stderr
        eq(r.returncode, 0, '-t on a good config (output %r)' % out)
        check('configuration OK' in out, '-t output lacks "configuration OK": %r' % out)
        for alt in ('workers 3;', 'workers 1;', 'autoindex on;', 'symlinks off;',
                    'hidden_files on;', 'charset off;', 'send_strategy copy;',
                    'send_strategy auto;', 'access_log off;', 'access_log stderr;',
                    'error_log stderr;', 'keepalive_timeout 1m;', 'max_header_size 1m;'):
            key = alt.split()[0]
            text = open(conf).read()
            text = '\n'.join(alt if ln.split(' ')[0] == key and not ln.startswith('#') else ln
                             for ln in text.split('\n'))
            c2 = _write(tmp, 'alt.conf', text)
            r = run_tool(['-t', '-c', c2])
            eq(r.returncode, 0, '-t with %r (output %r)' % (alt, r.stdout + r.stderr))
            check('configuration OK' in r.stdout + r.stderr, '-t with %r' % alt)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


BAD = [  # (config text, line of the error, what)
    ('listen 127.0.0.1:%(p)d;\nroot www;\nbogus_directive on;\n', 3, 'unknown directive'),
    ('listen 127.0.0.1:%(p)d;\nworkers lots;\nroot www;\n', 2, 'workers lots'),
    ('listen 127.0.0.1:%(p)d;\n\n# comment\nroot www; # c\nheader_timeout 10parsecs;\n', 5,
     'bad duration'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nmax_header_size 8q;\n', 3, 'bad size'),
    ('root www;\nlisten 127.0.0.1:99999;\n', 2, 'port out of range'),
    ('root www;\nlisten 127.0.0.1:abc;\n', 2, 'port not a number'),
    ('root www;\nlisten [::1:%(p)d;\n', 2, 'bad IPv6 address'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nautoindex maybe;\n', 3, 'autoindex maybe'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nsend_strategy turbo;\n', 3, 'unknown send_strategy'),
    ('listen 127.0.0.1:%(p)d;\nroot;\n', 2, 'root without an argument'),
    ('listen 127.0.0.1:%(p)d;\nroot a b;\n', 2, 'root with two arguments'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nmime_types no-such-file.types;\n', 3,
     'missing mime_types file (the error must name the directive\'s FILE:LINE)'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nsymlinks sometimes;\n', 3, 'symlinks sometimes'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nhidden_files yes;\n', 3, 'hidden_files yes'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nkeepalive_timeout -1s;\n', 3, 'negative duration'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nmax_body_size 1z;\n', 3, 'bad max_body_size'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nindex;\n', 3, 'index without arguments'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nerror_log stderr loud;\n', 3, 'bad error_log level'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nmax_headers many;\n', 3, 'max_headers many'),
    ('listen 127.0.0.1:%(p)d;\nroot www;\nworkers 2 3;\n', 3, 'workers with two arguments'),
]


def _bad_configs(tmp):
    os.makedirs(os.path.join(tmp, 'www'), exist_ok=True)
    for i, (text, line, what) in enumerate(BAD):
        yield _write(tmp, 'bad%d.conf' % i, text % {'p': free_port()}), line, what


def test_check_bad_configs():
    tmp = tempfile.mkdtemp(prefix='zcit-')
    try:
        cases = Cases()
        for path, line, what in _bad_configs(tmp):
            with cases.case():
                r = run_tool(['-t', '-c', path])
                out = r.stdout + r.stderr
                check(r.returncode != 0, '-t exit status 0 for a bad config (%s): %r'
                      % (what, out))
                check('configuration OK' not in out, '-t says OK for %s' % what)
                check(re.search(r'%s:%d: \S' % (re.escape(path), line), r.stderr),
                      '-t on %s: stderr lacks "%s:%d: message": %r'
                      % (what, path, line, r.stderr))
        # missing semicolon at end of file: the error names the file and a line
        path = _write(tmp, 'nosemi.conf', 'listen 127.0.0.1:%d;\nroot www\n' % free_port())
        r = run_tool(['-t', '-c', path])
        check(r.returncode != 0, '-t accepts a directive without ";"')
        check(re.search(r'%s:[23]: \S' % re.escape(path), r.stderr),
              'missing ";": stderr %r' % r.stderr)
        # a missing file
        path = os.path.join(tmp, 'absent.conf')
        r = run_tool(['-t', '-c', path])
        check(r.returncode != 0, '-t on a missing file exits 0')
        check(path in r.stderr, '-t on a missing file does not name it: %r' % r.stderr)
        cases.check()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_start_with_bad_config_fails():
    tmp = tempfile.mkdtemp(prefix='zcit-')
    try:
        cases = Cases()
        for n, (path, line, what) in enumerate(_bad_configs(tmp)):
            if n % 4:
                continue
            with cases.case():
                _start_bad(tmp, path, line, what)
        cases.check()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _start_bad(tmp, path, line, what):
    p = subprocess.Popen([BINARY, '-c', path], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp)
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError('server with a bad config (%s) still running after 5s'
                             % what)
    err = err.decode('utf-8', 'replace')
    check(p.returncode != 0, 'server with a bad config (%s) exited 0' % what)
    check(re.search(r'%s:%d: \S' % (re.escape(path), line), err),
          'server with a bad config (%s): stderr lacks "%s:%d: ...": %r'
          % (what, path, line, err))


def test_command_line_errors():
    for args in (['-x'], ['-c'], ['--no-such-option'], ['-c', '/nonexistent/zc.conf']):
        r = run_tool(args, timeout=5)
        check(r.returncode != 0, 'zcserve %s exited 0' % ' '.join(args))
        check(r.stderr.strip(), 'zcserve %s printed nothing on stderr' % ' '.join(args))
    r = run_tool(['-c', '/nonexistent/zc.conf'], timeout=5)
    check('/nonexistent/zc.conf' in r.stderr, 'missing config not named: %r' % r.stderr)


def test_check_shipped_config():
    conf = os.path.join(SRCDIR, 'conf', 'zcserve.conf')
    check(os.path.isfile(conf), '%s missing' % conf)
    r = run_tool(['-t', '-c', conf], cwd=SRCDIR)
    out = r.stdout + r.stderr
    eq(r.returncode, 0, '-t on the shipped config (output %r)' % out)
    check('configuration OK' in out, '-t on the shipped config: %r' % out)


def test_relative_paths():
    """Relative paths resolve against the config file's directory, not the
    working directory."""
    s = Server(conf={'access_log': 'logs/access.log', 'mime_types': 'types/my.types',
                     'pid_file': 'run/zc.pid'})
    for d in ('logs', 'types', 'run'):
        os.mkdir(s.tpath(d))
    _write(s.tpath('types'), 'my.types', 'application/x-zc-rel zcrel\n')
    with s:
        s.put('f.zcrel', b'rel\n')
        r = s.get('/f.zcrel')
        eq((r.status, r.body), (200, b'rel\n'), 'file under a relative root')
        eq(r.get('Content-Type'), 'application/x-zc-rel', 'type from a relative mime_types')
        wait_for(lambda: os.path.exists(s.tpath('logs/access.log')) and
                 os.path.getsize(s.tpath('logs/access.log')) > 0, timeout=2,
                 msg='access log at a path relative to the config')
        check(os.path.exists(s.tpath('run/zc.pid')), 'pid file not at the relative path')
        eq(os.listdir(s.cwd), [], 'files created in the working directory')


def test_multiple_listen():
    with Server(nlisten=2) as s:
        s.put('a.txt', b'two ports\n')
        for p in s.ports:
            r = s.get('/a.txt', port=p)
            eq((r.status, r.body), (200, b'two ports\n'), 'GET on port %d' % p)


def test_ipv6_listen():
    if not ipv6_loopback_ok():
        skip('no IPv6 loopback on this machine')
    p6 = free_port(socket.AF_INET6, '::1')
    s = Server(raw='listen [::1]:%d;' % p6)
    s.start(wait=False)
    with s:
        s.wait_ready(addrs=[('127.0.0.1', s.port), ('::1', p6)])
        s.put('a.txt', b'v6\n')
        with Conn(p6, host='::1') as c:
            r = c.request('/a.txt', host='[::1]:%d' % p6)
            eq((r.status, r.body), (200, b'v6\n'), 'GET over IPv6')
        eq(s.get('/a.txt').body, b'v6\n', 'GET over IPv4 next to IPv6')


def _parallel_ok(s, n, path, body):
    conns = [s.conn() for _ in range(n)]
    try:
        for c in conns:
            c.send_request(path)
        for i, c in enumerate(conns):
            r = c.read_response()
            eq((r.status, r.body), (200, body), 'parallel connection %d' % i)
    finally:
        for c in conns:
            c.close()


def test_workers():
    for w in ('1', '3', 'auto'):
        with Server(conf={'workers': w}) as s:
            s.put('w.txt', b'workers %s\n' % w.encode())
            _parallel_ok(s, 30, '/w.txt', b'workers %s\n' % w.encode())
            st = s.status()
            check(st['connections']['accepted'] >= 30,
                  'workers %s: accepted %d < 30 (status must cover all workers)'
                  % (w, st['connections']['accepted']))


def test_max_connections():
    with Server(conf={'workers': '1', 'max_connections': '2'}) as s:
        s.put('a.txt', b'mc\n')
        time.sleep(0.3)     # let the server retire the startup probe connection
        c1, c2 = s.conn(), s.conn()
        try:
            eq(c1.request('/a.txt').status, 200, 'first connection')
            eq(c2.request('/a.txt').status, 200, 'second connection')
            c3 = Conn(s.port, timeout=3)
            try:
                c3.send_request('/a.txt')
                closed, extra = c3.wait_closed(1.0)
                check(not extra.startswith(b'HTTP/1.1 200'),
                      'third connection served with max_connections 2 (workers 1)')
                if extra:
                    check(extra.startswith(b'HTTP/1.1 503'),
                          'third connection got %s' % srepr(extra[:100]))
            finally:
                c3.close()
        finally:
            c1.close()
            c2.close()
        wait_for(lambda: s.get('/a.txt').status == 200, timeout=3,
                 msg='service after the connections closed')


LOG_RE = re.compile(r'^(\S+) - (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$')


def test_access_log_combined():
    with Server(conf={'access_log': 'access.log'}) as s:
        data = s.put('x.txt', rand_bytes(777))
        log = s.tpath('access.log')
        exp = []
        r = s.get('/x.txt?q=1', headers=[('User-Agent', 'zc-test/1.0'),
                                         ('Referer', 'http://ref.example/p')])
        eq(r.body, data, 'GET')
        exp.append(('GET /x.txt?q=1 HTTP/1.1', 200, 777, 'http://ref.example/p', 'zc-test/1.0'))
        r = s.get('/missing')
        exp.append(('GET /missing HTTP/1.1', 404, len(r.body), '-', '-'))
        s.get('/x.txt', 'HEAD', headers=[('User-Agent', 'head-agent')])
        exp.append(('HEAD /x.txt HTTP/1.1', 200, 0, '-', 'head-agent'))
        s.get('/x.txt', version='HTTP/1.0')
        exp.append(('GET /x.txt HTTP/1.0', 200, 777, '-', '-'))
        s.get('/x.txt', headers=[('User-Agent', 'evil" "injected'), ('Range', 'bytes=0-9')])
        # zcserve.conf(5): escaped as \xHH, so a client cannot forge fields
        exp.append(('GET /x.txt HTTP/1.1', 206, 10, '-', 'evil\\x22 \\x22injected'))

        def lines():
            try:
                with open(log, encoding='utf-8', errors='replace') as f:
                    return f.read().splitlines()
            except OSError:
                return []
        got = wait_for(lambda: len(lines()) >= len(exp) and lines(), timeout=2,
                       msg='%d access log lines' % len(exp))
        eq(len(got), len(exp), 'access log lines (%r)' % got)
        now = datetime.datetime.now(datetime.timezone.utc)
        # Each worker buffers its lines and writes them once per loop turn,
        # so lines of requests served by different workers may swap places:
        # pair each expectation with the line of its request.
        def request_of(ln):
            m = LOG_RE.match(ln)
            return m.group(4) if m else ln
        got = sorted(got, key=lambda ln: [e[0] for e in exp].index(request_of(ln))
                     if request_of(ln) in [e[0] for e in exp] else len(exp))
        for ln, (req, st, size, ref, ua) in zip(got, exp):
            m = LOG_RE.match(ln)
            check(m, 'access log line not in combined format: %r' % ln)
            ip, user, ts, rq, rst, rsize, rref, rua = m.groups()
            eq(ip, '127.0.0.1', 'remote address in %r' % ln)
            eq(user, '-', 'remote user in %r' % ln)
            t = datetime.datetime.strptime(ts, '%d/%b/%Y:%H:%M:%S %z')
            check(abs((t - now).total_seconds()) < 30, 'log time %r is not now' % ts)
            eq(rq, req, 'request line in %r' % ln)
            eq(int(rst), st, 'status in %r' % ln)
            eq(int(rsize), size, 'body bytes in %r' % ln)
            eq(rref, ref, 'referer in %r' % ln)
            eq(rua, ua, 'user agent in %r' % ln)


def test_access_log_stderr_and_off():
    with Server(conf={'access_log': 'stderr'}) as s:
        s.put('x.txt', b'x')
        s.get('/x.txt', headers=[('User-Agent', 'stderr-agent')])
        wait_for(lambda: re.search(r'"GET /x.txt HTTP/1.1" 200 1 "-" "stderr-agent"',
                                   s.output()), timeout=2, msg='access log line on stderr')
    with Server(conf={'access_log': 'off'}) as s:
        s.put('x.txt', b'x')
        s.get('/x.txt', headers=[('User-Agent', 'off-agent')])
        time.sleep(0.5)
        check('off-agent' not in s.output(), 'access_log off still logs to stderr')
        for dp, dn, fn in os.walk(s.tmp):
            for f in fn:
                if f != 'server.out':
                    with open(os.path.join(dp, f), 'rb') as fh:
                        check(b'off-agent' not in fh.read(), 'access_log off logged to %s' % f)


def test_error_log_file():
    """error_log PATH: a rejected reload is reported there with FILE:LINE."""
    s = Server(conf={'error_log': 'err.log'})
    with s:
        good = s.config_text()
        s.write_config(text=good + 'bogus_directive 1;\n')
        bad_line = len(good.splitlines()) + 1
        s.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(s.tpath('err.log')) and
                 '%s:%d:' % (s.conf_path, bad_line) in open(s.tpath('err.log')).read(),
                 timeout=3, msg='"%s:%d:" in the error_log file' % (s.conf_path, bad_line))
        s.put('a.txt', b'still\n')
        eq(s.get('/a.txt').body, b'still\n', 'serving after a rejected reload')


def test_status_path_config():
    with Server(conf={'status_path': '/my/status.json'}) as s:
        r = s.get('/my/status.json')
        eq(r.status, 200, 'custom status_path')
        json.loads(r.body)
        eq(s.get(STATUS_PATH).status, 404, 'default test status path when another is set')
    with Server(conf={'status_path': None}) as s:
        eq(s.get(STATUS_PATH).status, 404, 'status page without status_path')


def test_user_drops_privileges():
    if os.geteuid() != 0:
        skip('needs root to test the user directive')
    try:
        nobody = pwd.getpwnam('nobody')
    except KeyError:
        skip('no user "nobody"')
    s = Server(conf={'user': 'nobody'})
    os.chmod(s.tmp, 0o755)
    s.put('u.txt', b'as nobody\n')
    with s:
        r = s.get('/u.txt')
        eq((r.status, r.body), (200, b'as nobody\n'), 'GET after dropping privileges')
        for pid in [s.pid] + child_pids(s.pid):
            for tid in os.listdir('/proc/%d/task' % pid):
                with open('/proc/%d/task/%s/status' % (pid, tid)) as f:
                    st = f.read()
                uids = re.search(r'^Uid:\s+(.*)$', st, re.M).group(1).split()
                gids = re.search(r'^Gid:\s+(.*)$', st, re.M).group(1).split()
                eq(set(map(int, uids)), {nobody.pw_uid}, 'uids of task %s' % tid)
                eq(set(map(int, gids)), {nobody.pw_gid}, 'gids of task %s' % tid)


if __name__ == '__main__':
    main()
