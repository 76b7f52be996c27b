#!/usr/bin/env python3
"""File leases (src/lease.h): a file truncated in place while a response
that queued its pages by reference sits unread in a local client's receive
queue.

Over loopback, sendfile's page-cache pages go into the client's receive
queue as they are; truncating the file zeroes the part of the page past the
new end, under the client's feet. With file_leases on (the default) the
truncation waits until the client has read the response; with it off, the
client reads zeros in a complete response (the negative control). The wait
is bounded, and a writer that opens with O_NONBLOCK is told EAGAIN while the
lease is being given back."""

import errno
import hashlib
import shutil
import fcntl
import termios

from zctest import *

SIZE = 100 * 1024 + 123         # fits a raised receive buffer whole
NEW_END = 1000                  # inside the first page


def _queued(sock):
    """Bytes in the client socket's receive queue (FIONREAD)."""
    import array
    a = array.array('i', [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, a, True)
    return a[0]


def _request_unread(s, body):
    """Send GET /f.bin on a connection with a large receive buffer and wait
    until the whole response sits in that buffer, unread."""
    c = s.conn(rcvbuf=1 << 20)
    c.send_request('/f.bin')
    wait_for(lambda: _queued(c.sock) >= len(body), timeout=3,
             msg='the whole response queued at the client')
    return c


class Truncator(threading.Thread):
    def __init__(self, path, size):
        threading.Thread.__init__(self, daemon=True)
        self.path, self.size = path, size
        self.t0 = self.t1 = None
        self.error = None

    def run(self):
        self.t0 = time.monotonic()
        try:
            os.truncate(self.path, self.size)
        except OSError as e:
            self.error = e
        self.t1 = time.monotonic()


def _need_leases(s):
    """Skip (77) where this file system or kernel refuses leases: zcserve
    then logs 'cannot lease' once and sends unprotected."""
    if 'cannot lease' in s.output():
        skip('file leases refused here: %s' % s.output_tail(300).strip())


def _serve_and_truncate(leases):
    conf = {'send_strategy': 'sendfile', 'file_leases': 'on' if leases else 'off'}
    with Server(conf=conf) as s:
        body = rand_bytes(SIZE)
        s.put('f.bin', body)
        eq(s.get('/f.bin').body, body, 'first GET')
        c = _request_unread(s, body)
        t = Truncator(s.path('f.bin'), NEW_END)
        t.start()
        time.sleep(0.4)
        blocked = t.is_alive()
        r = c.read_response()
        c.close()
        t.join(10)
        if leases and not blocked:
            _need_leases(s)
        check(not t.is_alive(), 'truncate(2) still blocked after the client read')
        check(t.error is None, 'truncate failed: %s' % t.error)
        eq(r.status, 200, 'status')
        eq(len(r.body), SIZE, 'body length (Content-Length was sent before the truncation)')
        return s, blocked, r.body, body, t


def test_truncation_waits_until_local_client_read():
    s, blocked, got, body, t = _serve_and_truncate(True)
    check(blocked, 'truncate(2) went ahead while the response was unread: lease not held')
    eq(got == body, True, 'a complete response is exactly the file as it was')
    check(t.t1 - t.t0 >= 0.35, 'truncate(2) waited %.3fs' % (t.t1 - t.t0))


def test_truncation_without_leases_corrupts_unread_response():
    """Negative control: what the lease prevents does happen without it."""
    s, blocked, got, body, t = _serve_and_truncate(False)
    check(not blocked, 'truncate(2) blocked with file_leases off')
    if got == body:
        skip('this kernel did not share page-cache pages with the local client '
             '(nothing for a lease to prevent here)')
    first = next(i for i in range(SIZE) if got[i] != body[i])
    check(first >= NEW_END, 'bytes before the new end changed (first at %d)' % first)
    eq(got[NEW_END:4096], bytes(4096 - NEW_END), 'the rest of the first page reads as zeros')


def test_writer_wait_is_bounded():
    """A local client that never reads holds the writer for the grace
    period only (5 s, well inside the kernel's lease-break-time).
    keepalive_timeout is longer than that, so the connection is still
    there to be reset (a connection the server closed itself is only
    watched until then)."""
    with Server(conf={'send_strategy': 'sendfile', 'keepalive_timeout': '30s'}) as s:
        body = rand_bytes(SIZE)
        s.put('f.bin', body)
        c = _request_unread(s, body)
        _need_leases(s)
        t = Truncator(s.path('f.bin'), NEW_END)
        t.start()
        t.join(15)
        check(not t.is_alive(), 'truncate(2) blocked for more than 15 s')
        waited = t.t1 - t.t0
        check(3.0 <= waited <= 8.0, 'truncate(2) waited %.2fs, expected about 5 s' % waited)
        st = s.status()
        check(st['leases']['resets'] >= 1, 'the unread connection was reset: %s'
              % st['leases'])
        c.close()
        s.serves_ok('after a lease grace period ran out')


def test_nonblocking_writer_gets_eagain_once():
    """open(O_WRONLY|O_NONBLOCK) on a leased file fails with EAGAIN while
    the lease is given back (fcntl(2), "Leases"); the next open works."""
    with Server(conf={'send_strategy': 'sendfile'}) as s:
        body = rand_bytes(SIZE)
        s.put('f.bin', body)
        eq(s.get('/f.bin').body, body, 'GET')
        _need_leases(s)
        try:
            fd = os.open(s.path('f.bin'), os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
            fail_first = False
        except OSError as e:
            eq(e.errno, errno.EAGAIN, 'errno of the first open')
            fail_first = True
        check(fail_first, 'the first non-blocking open for writing did not see the lease')
        def opens():
            try:
                os.close(os.open(s.path('f.bin'), os.O_WRONLY | os.O_NONBLOCK))
                return True
            except OSError:
                return False
        # Under steady requests for the file, a retry still gets in: the
        # lease is not retaken at once after a break (file.c,
        # ZC_LEASE_RETRY_MS).
        stop = threading.Event()
        def load():
            with s.conn() as lc:
                while not stop.is_set():
                    lc.send_request('/f.bin')
                    lc.read_response()
        lt = threading.Thread(target=load, daemon=True)
        lt.start()
        try:
            time.sleep(2.5)     # past the retry delay: the lease is held again
            wait_for(opens, timeout=1.5, interval=0.1,
                     msg='a later open for writing succeeds while the file is requested')
        finally:
            stop.set()
            lt.join(5)
        check(not lt.is_alive(), 'the requesting thread still runs 5 s after its stop')
        st = s.status()
        check(st['leases']['breaks'] >= 1, 'lease breaks counted: %s'
              % st['leases'])
        # while a writer holds it open, responses are copied (exact), and
        # the new content is what is served
        with open(s.path('f.bin'), 'r+b') as w:
            w.write(b'x' * 10)
            w.flush()
            r = s.get('/f.bin')
            eq(r.body, b'x' * 10 + body[10:], 'body while a writer has the file open')
        st2 = s.status()
        check(st2['send']['copy']['bytes'] > st['send']['copy']['bytes'],
              'the response during the write was copied: %s' % st2['send'])


def _need_root_and_nobody():
    if os.geteuid() != 0:
        skip('needs root to test the user directive')
    import pwd
    try:
        pwd.getpwnam('nobody')
    except KeyError:
        skip('no user "nobody"')


def test_leases_kept_after_dropping_privileges():
    """With `user`, CAP_LEASE is kept so files owned by others are leased."""
    _need_root_and_nobody()
    s = Server(conf={'user': 'nobody', 'send_strategy': 'sendfile'})
    os.chmod(s.tmp, 0o755)
    body = rand_bytes(SIZE)
    s.put('f.bin', body)
    with s:
        eq(s.get('/f.bin').body, body, 'GET as nobody')
        c = _request_unread(s, body)
        t = Truncator(s.path('f.bin'), NEW_END)
        t.start()
        time.sleep(0.3)
        check(t.is_alive(), 'truncate(2) went ahead: no lease on a root-owned file')
        eq(c.read_response().body, body, 'exact body')
        c.close()
        t.join(10)
        check(not t.is_alive(), 'truncate(2) still blocked 10 s after the client read')
        with open(s.out_path, 'rb') as f:
            log = f.read().decode(errors='replace')
        check('cannot lease' not in log, 'lease refused:\n%s' % log[-2000:])
        caps = open('/proc/%d/status' % s.pid).read()
        eff = int(re.search(r'^CapEff:\s+(\w+)', caps, re.M).group(1), 16)
        eq(eff, 1 << 28, 'effective capabilities: CAP_LEASE (28) alone')


def _drop_cap_lease_from_bounding_set():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(24, 28, 0, 0, 0) != 0:       # PR_CAPBSET_DROP, CAP_LEASE
        os._exit(97)


def test_user_without_cap_lease_keeps_no_capability():
    """Where CAP_LEASE is not permitted (a container that withholds it),
    dropping privileges must still leave no capability at all."""
    _need_root_and_nobody()
    s = Server(conf={'user': 'nobody'}, preexec=_drop_cap_lease_from_bounding_set)
    os.chmod(s.tmp, 0o755)
    s.put('u.txt', b'no caps\n')
    with s:
        eq(s.get('/u.txt').body, b'no caps\n', 'GET as nobody without CAP_LEASE')
        for tid in os.listdir('/proc/%d/task' % s.pid):
            with open('/proc/%d/task/%s/status' % (s.pid, tid)) as f:
                st = f.read()
            for k in ('CapPrm', 'CapEff', 'CapInh'):
                v = int(re.search(r'^%s:\s+(\w+)' % k, st, re.M).group(1), 16)
                eq(v, 0, '%s of task %s' % (k, tid))
        check('CAP_LEASE is not permitted' in s.output(), 'the missing capability is reported:\n%s'
              % s.output_tail())


NETNS_CLIENT = r"""
import array, fcntl, hashlib, socket, sys, termios, time
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.connect((host, port))
s.sendall(b'GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\n')
def queued():
    a = array.array('i', [0])
    fcntl.ioctl(s.fileno(), termios.FIONREAD, a, True)
    return a[0]
t0 = time.time()
while queued() < size and time.time() - t0 < 5:
    time.sleep(0.01)
print('queued', queued(), flush=True)
sys.stdin.readline()
d = b''
while True:
    x = s.recv(1 << 20)
    if not x:
        break
    d += x
    head, _, body = d.partition(b'\r\n\r\n')
    if len(body) >= size:
        break
print('body', hashlib.sha256(d.partition(b'\r\n\r\n')[2][:size]).hexdigest(), flush=True)
"""


def test_peer_in_another_namespace_gets_copies():
    """A client on this host but in another network namespace (a container
    over veth) keeps our pages in a receive queue we cannot look up: it
    must get copies, so a truncation cannot change what it has queued."""
    if os.geteuid() != 0:
        skip('needs root to create a network namespace')
    if not shutil.which('ip'):
        skip('no ip(8) (iproute2)')
    ns = 'zcit%d' % os.getpid()
    a, b = 'zcA%d' % (os.getpid() % 100000), 'zcB%d' % (os.getpid() % 100000)
    net = '10.%d.%d.' % (200 + os.getpid() % 50, os.getpid() % 250)
    def ip(*args, ns_=None):
        cmd = (['ip', 'netns', 'exec', ns_] if ns_ else []) + ['ip'] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    if subprocess.run(['ip', 'netns', 'add', ns], capture_output=True, timeout=10).returncode:
        skip('cannot create a network namespace here')
    try:
        for args, where in ((('link', 'add', a, 'type', 'veth', 'peer', 'name', b), None),
                            (('link', 'set', b, 'netns', ns), None),
                            (('addr', 'add', net + '1/30', 'dev', a), None),
                            (('link', 'set', a, 'up'), None),
                            (('addr', 'add', net + '2/30', 'dev', b), ns),
                            (('link', 'set', b, 'up'), ns)):
            r = ip(*args, ns_=where)
            if r.returncode:
                skip('cannot set up a veth pair: %s' % r.stderr.strip())
        port2 = free_port()
        with Server(conf={'send_strategy': 'sendfile', 'keepalive_timeout': '30s'},
                    raw='listen %s1:%d;' % (net, port2)) as s:
            body = rand_bytes(SIZE)
            s.put('f.bin', body)
            eq(s.get('/f.bin').body, body, 'GET over loopback')
            _need_leases(s)
            p = subprocess.Popen(['ip', 'netns', 'exec', ns, sys.executable, '-c', NETNS_CLIENT,
                                  net + '1', str(port2), str(SIZE)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                line = p.stdout.readline()
                check(line.startswith('queued') and int(line.split()[1]) >= SIZE,
                      'the client in the namespace has the whole response queued: %r' % line)
                t = Truncator(s.path('f.bin'), NEW_END)
                t.start()
                t.join(8)
                check(not t.is_alive(), 'truncate(2) blocked')
                p.stdin.write('go\n')
                p.stdin.flush()
                line = p.stdout.readline()
            finally:
                p.kill()
                p.wait(5)
            eq(line.split()[-1] if line else '', hashlib.sha256(body).hexdigest(),
               'the body the hidden client read is the file as it was')
            st = s.status()['send']
            check(st['copy']['bytes'] >= SIZE and st['sendfile']['bytes'] == SIZE,
                  'the namespace client got a copy, only the loopback one sendfile: %s' % st)
    finally:
        subprocess.run(['ip', 'netns', 'del', ns], capture_output=True, timeout=10)
        subprocess.run(['ip', 'link', 'del', a], capture_output=True, timeout=10)


if __name__ == '__main__':
    main()
