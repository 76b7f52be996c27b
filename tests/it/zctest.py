"""zctest - shared harness for the zcserve black-box integration tests.

Every test file does `from zctest import *` and ends with `main()`.

Environment:
  ZCSERVE    path of the binary under test (default <repo>/src/zcserve)
  ZC_SRCDIR  the source tree (default: two directories above this file)

A test starts the real binary on a free loopback port, with a config file
and a document root of its own in a temporary directory, and talks to it
over raw sockets.  Nothing here waits without a timeout.

Run a subset:  python3 tests/it/test_http.py test_pipelining_50 ...
"""

import contextlib
import datetime
import email.utils
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get('ZC_SRCDIR') or
                         os.path.dirname(os.path.dirname(HERE)))
BINARY = os.path.abspath(os.environ.get('ZCSERVE') or
                         os.path.join(SRCDIR, 'src', 'zcserve'))

SOCK_TIMEOUT = 5.0        # default for every client socket (never above 10)
START_TIMEOUT = 5.0       # server must accept connections within this
STOP_TIMEOUT = 6.0        # and exit within this after SIGTERM
TEST_TIMEOUT = 60         # hard limit per test function (SIGALRM)
STATUS_PATH = '/__zc_status'

SANITIZER_MARKERS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer',
                     'runtime error:', 'WARNING: ThreadSanitizer')


# --------------------------------------------------------------------------
# assertions

class Skip(Exception):
    """Raise (via skip()) to report a test as skipped."""


class TestTimeout(AssertionError):
    pass


def skip(reason):
    raise Skip(reason)


def srepr(x, n=300):
    """repr() cut to n characters, for messages about big bodies."""
    r = repr(x)
    if len(r) > n:
        r = r[:n] + '...(%d chars)' % len(r)
    return r


def check(cond, msg='check failed'):
    if not cond:
        raise AssertionError(msg)


def eq(got, expected, what='value'):
    if got != expected:
        if isinstance(got, (bytes, bytearray)) and isinstance(expected, (bytes, bytearray)):
            i = next((k for k in range(min(len(got), len(expected)))
                      if got[k] != expected[k]), min(len(got), len(expected)))
            raise AssertionError('%s: %d bytes, expected %d bytes; first difference at offset %d'
                                 % (what, len(got), len(expected), i))
        raise AssertionError('%s: expected %s, got %s' % (what, srepr(expected), srepr(got)))


def is_in(got, allowed, what='value'):
    if got not in allowed:
        raise AssertionError('%s: expected one of %s, got %s' % (what, srepr(allowed), srepr(got)))


def wait_for(pred, timeout=2.0, interval=0.05, msg='condition'):
    """Poll pred() until it returns a true value; return it or fail."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %.1fs waiting for %s' % (timeout, msg))
        time.sleep(interval)


class Cases:
    """Collect failures over a list of cases so one run reports all of them:
        cases = Cases()
        for x in ...:
            with cases.case():
                eq(...)
        cases.check()
    """

    def __init__(self):
        self.errors = []

    @contextlib.contextmanager
    def case(self, what=None):
        try:
            yield
        except (AssertionError, EOFError, OSError) as e:
            msg = str(e) if isinstance(e, AssertionError) else '%s: %s' % (type(e).__name__, e)
            self.errors.append(('%s: ' % what if what else '') + msg)

    def check(self):
        if len(self.errors) == 1:
            raise AssertionError(self.errors[0])
        if self.errors:
            raise AssertionError('%d cases failed:\n  - %s'
                                 % (len(self.errors), '\n  - '.join(self.errors)))


# --------------------------------------------------------------------------
# small utilities

_ports_given = set()


def free_port(family=socket.AF_INET, host='127.0.0.1'):
    # The kernel may hand the same ephemeral port out again once the probe
    # socket is closed; never give one twice in this process (two listens
    # of one server would otherwise collide).
    for _ in range(50):
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.bind((host, 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _ports_given:
            _ports_given.add(port)
            return port
    raise AssertionError('no fresh free port found')


def ipv6_loopback_ok():
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(('::1', 0))
        s.close()
        return True
    except OSError:
        return False


def rand_bytes(n):
    """n random bytes: file contents no implementation could guess."""
    return os.urandom(n)


def write_file(path, data, mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(path, 'wb') as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return data


def http_date(ts):
    """IMF-fixdate for a POSIX timestamp."""
    return email.utils.formatdate(ts, usegmt=True)


IMF_FIXDATE = re.compile(r'^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d '
                         r'(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) '
                         r'\d{4} \d\d:\d\d:\d\d GMT$')


def parse_http_date(s):
    """Parse an IMF-fixdate strictly; return a POSIX timestamp."""
    check(s is not None and IMF_FIXDATE.match(s), 'not an IMF-fixdate: %r' % (s,))
    return email.utils.parsedate_to_datetime(s).timestamp()


def child_pids(pid):
    """All descendants of pid (processes, not threads)."""
    kids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(')') + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def fd_count(pid):
    """Open descriptors of pid plus those of any child processes."""
    total = 0
    for p in [pid] + child_pids(pid):
        try:
            total += len(os.listdir('/proc/%d/fd' % p))
        except OSError:
            pass
    return total


# --------------------------------------------------------------------------
# HTTP client

def _b(x):
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    return str(x).encode('latin-1')


def build_request(target='/', method='GET', version='HTTP/1.1', host='localhost',
                  headers=(), body=b''):
    """Raw request bytes. host=None leaves the Host header out; headers is a
    list of (name, value) pairs sent in order (duplicates allowed)."""
    out = [_b(method) + b' ' + _b(target) + b' ' + _b(version)]
    if host is not None:
        out.append(b'Host: ' + _b(host))
    for k, v in headers:
        out.append(_b(k) + b': ' + _b(v))
    return b'\r\n'.join(out) + b'\r\n\r\n' + _b(body)


class Response:
    def __init__(self, version, status, reason, headers, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers      # list of (name, value), order and duplicates kept
        self.raw_head = raw_head
        self.body = b''

    @classmethod
    def parse_head(cls, head):
        lines = head.split(b'\r\n')
        m = re.match(rb'^(HTTP/\d\.\d) (\d{3}) ?(.*)$', lines[0])
        check(m, 'malformed status line from server: %s' % srepr(lines[0]))
        headers = []
        for ln in lines[1:]:
            check(b':' in ln and not ln[:1].isspace(),
                  'malformed header line from server: %s' % srepr(ln))
            k, v = ln.split(b':', 1)
            check(k == k.strip() and k, 'bad header name from server: %s' % srepr(ln))
            headers.append((k.decode('latin-1'), v.strip(b' \t').decode('latin-1')))
        return cls(m.group(1).decode(), int(m.group(2)), m.group(3).decode('latin-1'),
                   headers, head)

    def all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def get(self, name):
        """The single value of a header, None when absent; a duplicate fails."""
        vals = self.all(name)
        check(len(vals) <= 1, 'header %s sent %d times: %r' % (name, len(vals), vals))
        return vals[0] if vals else None

    def has(self, name):
        return bool(self.all(name))

    def conn_tokens(self):
        return {t.strip().lower() for v in self.all('Connection') for t in v.split(',')}

    def __repr__(self):
        return '<%s %d %s, %d body bytes>' % (self.version, self.status, self.headers,
                                             len(self.body))


class Conn:
    """One client connection with a read buffer, so responses can be read
    one at a time from keep-alive and pipelined exchanges."""

    def __init__(self, port, host='127.0.0.1', timeout=SOCK_TIMEOUT, rcvbuf=None):
        fam = socket.AF_INET6 if ':' in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(min(timeout, 10.0))
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def settimeout(self, t):
        self.sock.settimeout(min(t, 10.0))

    def send(self, data):
        self.sock.sendall(_b(data))
        return self

    def send_request(self, *a, **kw):
        return self.send(build_request(*a, **kw))

    def _recv(self, n=262144):
        if self.eof:
            return b''
        try:
            d = self.sock.recv(n)
        except ConnectionResetError:
            self.reset = True
            d = b''
        if not d:
            self.eof = True
        return d

    def _fill(self, what):
        try:
            d = self._recv()
        except socket.timeout:
            raise AssertionError('timed out waiting for %s (have %d bytes: %s)'
                                 % (what, len(self.buf), srepr(bytes(self.buf[:200])))) from None
        if not d:
            raise EOFError('connection %s by server while waiting for %s (have %d bytes: %s)'
                           % ('reset' if self.reset else 'closed', what, len(self.buf),
                              srepr(bytes(self.buf[:200]))))
        self.buf += d

    def read_exact(self, n, what='body'):
        while len(self.buf) < n:
            self._fill('%s (%d of %d bytes)' % (what, len(self.buf), n))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_head(self, limit=1 << 20):
        while True:
            i = self.buf.find(b'\r\n\r\n')
            if i >= 0:
                break
            check(len(self.buf) < limit, 'response head over %d bytes' % limit)
            self._fill('response head')
        head = bytes(self.buf[:i])
        del self.buf[:i + 4]
        return head

    def read_response(self, method='GET'):
        """Read exactly one response. method tells whether a body follows."""
        while True:
            r = Response.parse_head(self.read_head())
            if r.status >= 200 or r.status == 101:
                break
        if method == 'HEAD' or r.status in (204, 304) or r.status < 200:
            return r
        te = r.get('Transfer-Encoding')
        cl = r.get('Content-Length')
        if te is not None:
            check(cl is None, 'response has both Transfer-Encoding and Content-Length')
            check(te.lower() == 'chunked', 'unexpected Transfer-Encoding %r' % te)
            r.body = self._read_chunked()
        elif cl is not None:
            check(re.match(r'^\d+$', cl), 'bad Content-Length from server: %r' % cl)
            r.body = self.read_exact(int(cl))
        else:
            r.body = self.read_until_close()
        return r

    def read_responses(self, methods):
        return [self.read_response(m) for m in methods]

    def _read_chunked(self):
        out = bytearray()
        while True:
            while b'\r\n' not in self.buf:
                self._fill('chunk size')
            i = self.buf.find(b'\r\n')
            size = int(bytes(self.buf[:i]).split(b';')[0], 16)
            del self.buf[:i + 2]
            if size == 0:
                while True:          # trailers
                    while b'\r\n' not in self.buf:
                        self._fill('trailer')
                    i = self.buf.find(b'\r\n')
                    line = bytes(self.buf[:i])
                    del self.buf[:i + 2]
                    if not line:
                        return bytes(out)
            out += self.read_exact(size, 'chunk')
            eq(self.read_exact(2, 'chunk CRLF'), b'\r\n', 'chunk terminator')

    def read_until_close(self, timeout=SOCK_TIMEOUT, limit=None):
        """Everything until the server closes (EOF or reset). Fails if the
        connection is still open after timeout seconds."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('connection still open after %.1fs (%d bytes read)'
                                     % (timeout, len(self.buf)))
            self.sock.settimeout(min(left, 10.0))
            try:
                d = self._recv()
            except socket.timeout:
                continue
            self.buf += d
            if limit is not None and len(self.buf) > limit:
                raise AssertionError('more than %d bytes before close' % limit)
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def wait_closed(self, timeout=2.0):
        """(closed, extra): closed is True when the server closed or reset the
        connection within timeout; extra is any data that arrived first."""
        extra = bytearray(self.buf)
        self.buf.clear()
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, bytes(extra)
            self.sock.settimeout(min(left, 10.0))
            try:
                extra += self._recv()
            except socket.timeout:
                return False, bytes(extra)
        return True, bytes(extra)

    def assert_closed(self, timeout=2.0, what='connection'):
        closed, extra = self.wait_closed(timeout)
        check(not extra, '%s: unexpected data after the response: %s' % (what, srepr(extra)))
        check(closed, '%s: server did not close the connection within %.1fs' % (what, timeout))

    def assert_open(self, timeout=0.3):
        closed, extra = self.wait_closed(timeout)
        check(not extra, 'unexpected data: %s' % srepr(extra))
        check(not closed, 'server closed the connection')

    def request(self, target='/', method='GET', **kw):
        self.send_request(target, method, **kw)
        return self.read_response(method)


def parse_byteranges(resp):
    """Parse a multipart/byteranges body strictly. Returns a list of
    (start, end, total, content_type, data)."""
    ct = resp.get('Content-Type') or ''
    m = re.match(r'^multipart/byteranges;\s*boundary=("?)([^";\s]+)\1\s*$', ct)
    check(m, 'not multipart/byteranges with a boundary: %r' % ct)
    delim = b'--' + m.group(2).encode('latin-1')
    body = resp.body
    pos = body.find(delim + b'\r\n')
    check(pos >= 0, 'no opening boundary in multipart body')
    check(body[:pos].strip(b'\r\n') == b'', 'junk before first boundary: %s' % srepr(body[:pos]))
    pos += len(delim) + 2
    parts = []
    while True:
        hend = body.find(b'\r\n\r\n', pos)
        check(hend >= 0, 'part %d: no end of part headers' % len(parts))
        ph = Response.parse_head(b'HTTP/1.1 200 OK\r\n' + body[pos:hend]
                                 if body[pos:hend] else b'HTTP/1.1 200 OK')
        pos = hend + 4
        cr = ph.get('Content-Range')
        mm = re.match(r'^bytes (\d+)-(\d+)/(\d+)$', cr or '')
        check(mm, 'part %d: bad Content-Range %r' % (len(parts), cr))
        s, e, t = (int(x) for x in mm.groups())
        check(s <= e < t, 'part %d: nonsense Content-Range %r' % (len(parts), cr))
        data = body[pos:pos + e - s + 1]
        eq(len(data), e - s + 1, 'part %d data length' % len(parts))
        pos += e - s + 1
        parts.append((s, e, t, ph.get('Content-Type'), data))
        eq(body[pos:pos + 2 + len(delim)], b'\r\n' + delim,
           'part %d: delimiter after the data' % (len(parts) - 1))
        pos += 2 + len(delim)
        if body[pos:pos + 2] == b'--':
            pos += 2
            break
        eq(body[pos:pos + 2], b'\r\n', 'after boundary')
        pos += 2
    check(body[pos:].strip(b'\r\n') == b'', 'junk after closing boundary: %s' % srepr(body[pos:]))
    return parts


def assert_std_headers(r, what='response'):
    """Every response: Date, Server, Content-Length (unless 304/1xx/204),
    Content-Type (when a body is possible), each exactly once."""
    for h in ('Date', 'Server'):
        eq(len(r.all(h)), 1, '%s: number of %s headers' % (what, h))
    parse_http_date(r.get('Date'))
    if r.status != 304 and r.status >= 200 and r.status != 204:
        eq(len(r.all('Content-Length')), 1, '%s: number of Content-Length headers' % what)
        eq(len(r.all('Content-Type')), 1, '%s: number of Content-Type headers' % what)


# --------------------------------------------------------------------------
# the server under test

LIVE = []       # servers started by the running test, cleaned up after it
NOTES = []      # server output to print after a failing test's traceback

BASE_CONF = [   # (directive, value); value None drops it, a list repeats it
    ('workers', '2'),
    ('root', 'www'),
    ('error_log', 'stderr'),
    ('header_timeout', '5s'),
    ('keepalive_timeout', '5s'),
    ('send_timeout', '5s'),
    ('shutdown_timeout', '3s'),
    ('status_path', STATUS_PATH),
]


class ServerError(AssertionError):
    pass


class Server:
    """A zcserve instance in its own temp dir:
         <tmp>/zcserve.conf   the config (relative paths resolve here)
         <tmp>/www/           document root (root www;)
         <tmp>/cwd/           the server's working directory (empty)
         <tmp>/server.out     its stdout+stderr
    conf: dict of directive -> value overriding BASE_CONF (None removes);
    raw: extra config text appended verbatim; base=False uses raw only (with
    @PORT@ / @TMP@ substituted)."""

    def __init__(self, conf=None, raw='', base=True, files=None, nlisten=1, preexec=None):
        self.tmp = tempfile.mkdtemp(prefix='zcit-')
        LIVE.append(self)
        self.www = os.path.join(self.tmp, 'www')
        self.cwd = os.path.join(self.tmp, 'cwd')
        os.mkdir(self.www)
        os.mkdir(self.cwd)
        self.conf_path = os.path.join(self.tmp, 'test.conf')
        self.out_path = os.path.join(self.tmp, 'server.out')
        self.ports = [free_port() for _ in range(nlisten)]
        self.port = self.ports[0]
        self.conf = dict(conf or {})
        self.raw = raw
        self.base = base
        self.proc = None
        self.preexec = preexec   # run in the child before exec (limits)
        self.outf = None
        self.cleaned = False
        if files:
            for name, data in files.items():
                self.put(name, data)

    # -- files
    def path(self, rel):
        return os.path.join(self.www, rel.lstrip('/'))

    def put(self, rel, data, mtime=None):
        return write_file(self.path(rel), data, mtime)

    def tpath(self, rel):
        return os.path.join(self.tmp, rel)

    # -- config
    def config_text(self, conf=None, raw=None):
        conf = self.conf if conf is None else conf
        raw = self.raw if raw is None else raw
        raw = raw.replace('@PORT@', str(self.port)).replace('@TMP@', self.tmp)
        if not self.base:
            return raw
        items = [('listen', ['127.0.0.1:%d' % p for p in self.ports])]
        seen = set()
        for k, v in BASE_CONF:
            items.append((k, conf.get(k, v)))
            seen.add(k)
        items += [(k, v) for k, v in conf.items() if k not in seen and k != 'listen']
        if 'listen' in conf:
            items[0] = ('listen', conf['listen'])
        lines = ['# zcserve integration test config']
        for k, v in items:
            if v is None:
                continue
            for one in (v if isinstance(v, list) else [v]):
                lines.append('%s %s;' % (k, one))
        return '\n'.join(lines) + '\n' + raw + ('\n' if raw else '')

    def write_config(self, conf=None, raw=None, text=None):
        if text is None:
            text = self.config_text(conf, raw)
        tmpname = self.conf_path + '.new'
        with open(tmpname, 'w') as f:
            f.write(text)
        os.rename(tmpname, self.conf_path)
        return text

    @property
    def status_path(self):
        return self.conf.get('status_path', STATUS_PATH)

    # -- process
    @property
    def pid(self):
        return self.proc.pid

    def start(self, wait=True):
        if not os.path.exists(self.conf_path):
            self.write_config()
        for attempt in range(3):
            self.outf = open(self.out_path, 'ab')
            self.proc = subprocess.Popen([BINARY, '-c', self.conf_path],
                                         stdin=subprocess.DEVNULL, stdout=self.outf,
                                         stderr=self.outf, cwd=self.cwd,
                                         preexec_fn=self.preexec)
            if not wait:
                return self
            try:
                self.wait_ready()
                return self
            except ServerError:
                # A port picked by free_port() can be taken by someone else
                # before the server binds it: retry on fresh ports.
                if self.proc.poll() is not None and re.search(
                        r'(?i)in use|EADDRINUSE', self.output()) and self.base \
                        and 'listen' not in self.conf and attempt < 2:
                    self.outf.close()
                    self.ports = [free_port() for _ in self.ports]
                    self.port = self.ports[0]
                    self.write_config()
                    continue
                raise

    def wait_ready(self, timeout=START_TIMEOUT, addrs=None):
        addrs = addrs or [('127.0.0.1', p) for p in self.ports]
        deadline = time.monotonic() + timeout
        for host, port in addrs:
            while True:
                rc = self.proc.poll()
                if rc is not None:
                    raise ServerError('server exited with status %s during startup\n%s'
                                      % (rc, self.output_tail()))
                try:
                    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
                    s = socket.socket(fam, socket.SOCK_STREAM)
                    s.settimeout(0.5)
                    s.connect((host, port))
                    s.close()
                    break
                except OSError:
                    s.close()
                    if time.monotonic() > deadline:
                        raise ServerError('server not accepting on %s:%d after %.1fs\n%s'
                                          % (host, port, timeout, self.output_tail()))
                    time.sleep(0.02)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        rc = self.proc.poll()
        if rc is not None:
            raise ServerError('server died with status %s\n%s' % (rc, self.output_tail()))

    def send_signal(self, sig):
        self.check_alive()
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT, expect_rc=0):
        """SIGTERM and require exit status expect_rc within timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait(5)
            raise ServerError('server did not exit within %.1fs of %s\n%s'
                              % (timeout, signal.Signals(sig).name, self.output_tail()))
        self.check_sanitizers()
        if expect_rc is not None and rc != expect_rc:
            raise ServerError('server exited with status %s, expected %s\n%s'
                              % (rc, expect_rc, self.output_tail()))
        return rc

    def check_sanitizers(self):
        out = self.output()
        for m in SANITIZER_MARKERS:
            if m in out:
                raise ServerError('sanitizer report in server output\n%s' % self.output_tail(6000))

    def output(self):
        try:
            with open(self.out_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def output_tail(self, n=3000):
        out = self.output()
        if len(out) > n:
            out = '...' + out[-n:]
        return '---- server output (%s) ----\n%s\n---- end of server output ----' % (
            self.out_path, out.rstrip())

    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.outf:
            self.outf.close()
        if os.environ.get('ZC_KEEP_TMP'):
            print('# kept %s' % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self in LIVE:
            LIVE.remove(self)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, et, ev, tb):
        try:
            if et is None:
                self.stop()
            elif self.proc is not None and not isinstance(ev, ServerError):
                NOTES.append(self.output_tail())
        finally:
            self.cleanup()
        return False

    # -- client shortcuts
    def conn(self, **kw):
        return Conn(self.port, **kw)

    def get(self, target='/', method='GET', headers=(), version='HTTP/1.1',
            host='localhost', port=None, timeout=SOCK_TIMEOUT):
        """One request on a fresh connection; returns the Response."""
        with Conn(port or self.port, timeout=timeout) as c:
            c.send_request(target, method, version=version, host=host, headers=headers)
            return c.read_response(method)

    def raw_request(self, data, method="GET"):
        with Conn(self.port) as c:
            c.send(data)
            return c.read_response(method)

    def status(self):
        r = self.get(self.status_path)
        eq(r.status, 200, 'status page')
        return json.loads(r.body)

    def fd_count(self):
        return fd_count(self.pid)

    def serves_ok(self, what='after the previous request'):
        """A normal request on a new connection still works."""
        self.check_alive()
        self.put('zc-alive.txt', b'alive\n')
        r = self.get('/zc-alive.txt')
        eq(r.status, 200, 'normal request %s' % what)
        eq(r.body, b'alive\n', 'normal request body %s' % what)


_sanitized = None


def sanitized_build():
    """Whether the binary under test is built with AddressSanitizer
    (tests/sanitize.sh): memory figures measured on the default build
    (README) do not apply to it."""
    global _sanitized
    if _sanitized is None:
        try:
            with open(BINARY, 'rb') as f:
                _sanitized = b'__asan_init' in f.read()
        except OSError:
            _sanitized = False
    return _sanitized


def run_tool(args, timeout=10, cwd=None):
    """Run the binary with args; returns CompletedProcess (text)."""
    return subprocess.run([BINARY] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, errors='replace',
                          timeout=timeout, cwd=cwd or tempfile.gettempdir())


# --------------------------------------------------------------------------
# runner

def _alarm(signum, frame):
    raise TestTimeout('test exceeded its time limit')


def main(ns=None):
    if ns is None:
        ns = sys.modules['__main__'].__dict__
    only = sys.argv[1:]
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        print('ERROR: zcserve binary not found at %s (build it, or set ZCSERVE)' % BINARY,
              flush=True)
        sys.exit(99)
    tests = [(k, v) for k, v in ns.items()
             if k.startswith('test_') and callable(v) and (not only or k in only)]
    unknown = set(only) - {k for k, _ in tests}
    if unknown:
        print('ERROR: no such test: %s' % ', '.join(sorted(unknown)), flush=True)
        sys.exit(99)
    print('# binary %s, source %s' % (BINARY, SRCDIR), flush=True)
    signal.signal(signal.SIGALRM, _alarm)
    passed = failed = skipped = 0
    skips = []
    t_all = time.monotonic()
    for name, fn in tests:
        t0 = time.monotonic()
        signal.alarm(getattr(fn, 'timeout', TEST_TIMEOUT))
        try:
            fn()
            signal.alarm(0)
            res, why = 'PASS', ''
        except Skip as e:
            signal.alarm(0)
            res, why = 'SKIP', str(e)
        except KeyboardInterrupt:
            raise
        except BaseException as e:
            signal.alarm(0)
            res = 'FAIL'
            why = '%s: %s' % (type(e).__name__, e) if not isinstance(e, AssertionError) \
                else (str(e) or 'assertion failed')
            tb = traceback.format_exc()
        finally:
            signal.alarm(0)
            for s in list(LIVE):
                s.cleanup()
        dt = time.monotonic() - t0
        if res == 'PASS':
            passed += 1
            print('PASS %s (%.2fs)' % (name, dt), flush=True)
        elif res == 'SKIP':
            skipped += 1
            skips.append((name, why))
            print('SKIP %s: %s' % (name, why), flush=True)
        else:
            failed += 1
            print('FAIL %s: %s' % (name, why), flush=True)
            print('    ' + tb.rstrip().replace('\n', '\n    '), flush=True)
            for n in NOTES:
                print('    ' + n.replace('\n', '\n    '), flush=True)
        del NOTES[:]
    print('# total %.1fs' % (time.monotonic() - t_all))
    for name, why in skips:     # repeated at the end, where a log's tail shows them
        print('# skipped %s: %s' % (name, why))
    line = '%d passed, %d failed' % (passed, failed)
    if skipped:
        line += ', %d skipped' % skipped
    print(line, flush=True)
    if failed:
        sys.exit(1)
    if tests and skipped == len(tests):
        sys.exit(77)
    sys.exit(0)


def time_limit(seconds):
    """Decorator: per-test time limit other than TEST_TIMEOUT."""
    def deco(fn):
        fn.timeout = seconds
        return fn
    return deco


__all__ = [n for n in dir() if not n.startswith('_')] + ['_b']
