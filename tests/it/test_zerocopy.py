#!/usr/bin/env python3
"""Zero-copy data paths over loopback: every strategy forced by config
serves byte-exact bodies and ranges, counted under that strategy and no
other; MSG_ZEROCOPY and SEND_ZC completions arrive and report copying
(loopback always copies); auto copies below zerocopy_min_size, uses
zero-copy above it and falls back to sendfile once a connection's sends
were copied; a file truncated under each strategy closes the connection.
Real (uncopied) zero copy is proven in tests/vm/."""

import test_files
from test_files import MiB, _bodies, _shrink
from zctest import *

SIZES = [0, 1, 4095, 4096, 4097, 65536, MiB + 7, 20 * MiB]
ZC = ('msg_zerocopy', 'send_zc')


def _exact(strategy):
    """Sizes and ranges of the issue, byte-exact, counted under strategy."""
    s = Server(conf={'send_strategy': strategy, 'zerocopy_min_size': '1'})
    with s:
        files = {n: s.put('z%d.bin' % n, rand_bytes(n)) for n in SIZES}
        sent = 0
        with s.conn(timeout=20) as c:
            for n, data in files.items():
                r = c.request('/z%d.bin' % n)
                eq((r.status, r.body == data), (200, True), '%s: GET z%d.bin' % (strategy, n))
                sent += n
                if n > 2:
                    a, b = n // 3, n - 2
                    r = c.request('/z%d.bin' % n, headers=[('Range', 'bytes=%d-%d' % (a, b))])
                    eq((r.status, r.body == data[a:b + 1]), (206, True),
                       '%s: range %d-%d of z%d.bin' % (strategy, a, b, n))
                    sent += b - a + 1
        time.sleep(0.3)
        st = s.status()
        eq(st['send'][strategy]['bytes'], sent, '%s: send.%s.bytes' % (strategy, strategy))
        for other, v in st['send'].items():
            if other != strategy:
                eq(v['bytes'], 0, '%s forced: bytes under %s' % (strategy, other))
        if strategy in ZC:
            # every zero-copy send completed, the connection is gone, and
            # the server stops at once: nothing waits for a completion that
            # was already received (zerocopy.c counts a completion range lo..hi)
            _all_completed_and_closed(s, strategy)
        return st


def _all_completed_and_closed(s, what):
    def settled():
        st = s.status()
        z = st['zerocopy']
        return st if (z['sends'] > 0 and z['completions'] == z['sends'] and
                      st['connections']['active'] == 1) else None
    try:
        wait_for(settled, timeout=1.5, msg='completions == sends and no open connection')
    except AssertionError as e:
        st = s.status()
        raise AssertionError('%s: %s: zerocopy %r, active connections %d (1 is the status '
                             'request)' % (what, e, st['zerocopy'], st['connections']['active']))
    t0 = time.monotonic()
    s.stop(timeout=STOP_TIMEOUT)
    dt = time.monotonic() - t0
    check(dt < 1.0, '%s: SIGTERM with no connection open took %.1f s' % (what, dt))


def test_exact_mmap():
    _exact('mmap')


def test_exact_splice():
    _exact('splice')


def test_exact_msg_zerocopy():
    st = _exact('msg_zerocopy')
    z = st['zerocopy']
    check(z['sends'] > 0, 'msg_zerocopy: no zero-copy sends counted: %r' % z)
    check(z['copied'] > 0, 'loopback must report copied zero-copy sends: %r' % z)


def test_exact_send_zc():
    st = _exact('send_zc')
    z = st['zerocopy']
    check(z['sends'] > 0 and z['completions'] > 0, 'send_zc: no notifications counted: %r' % z)
    check(z['copied'] > 0, 'loopback must report IORING_NOTIF_USAGE_ZC_COPIED: %r' % z)


def test_completions_match_sends():
    """Every zero-copy send is completed by the kernel (nothing leaks)."""
    for strategy in ZC:
        with Server(conf={'send_strategy': strategy}) as s:
            data = s.put('m.bin', rand_bytes(3 * MiB + 5))
            for _ in range(3):
                eq(s.get('/m.bin').body, data, strategy)
            _all_completed_and_closed(s, strategy)


def test_auto_threshold_and_copied_fallback():
    with Server(conf={'zerocopy_min_size': '64k'}) as s:
        small = s.put('small.bin', rand_bytes(64 * 1024 - 1))
        big = s.put('big.bin', rand_bytes(2 * MiB))
        st0 = s.status()
        eq(st0['zerocopy']['min_size'], 65536, 'configured min_size')
        eq(st0['zerocopy']['min_size_source'], 'config', 'min_size_source')
        with s.conn() as c:
            eq(c.request('/small.bin').body, small, 'small body')
            time.sleep(0.2)
            st1 = s.status()
            # (the status JSON read in between is itself a copied body)
            d = st1['send']['copy']['bytes'] - st0['send']['copy']['bytes']
            check(len(small) <= d < len(small) + 4096, 'below the break-even auto copies: %d' % d)
            for k in ('sendfile',) + ZC:
                eq(st1['send'][k]['bytes'], st0['send'][k]['bytes'], 'small body under %s' % k)
            eq(c.request('/big.bin').body, big, 'big body (first on the connection)')
            time.sleep(0.3)
            st2 = s.status()
            zc_bytes = sum(st2['send'][k]['bytes'] - st1['send'][k]['bytes'] for k in ZC)
            eq(zc_bytes, len(big), 'above the break-even auto uses zero-copy')
            wait_for(lambda: s.status()['zerocopy']['disabled_connections'] >= 1, timeout=2,
                     msg='the copied connection to be counted as disabled')
            eq(c.request('/big.bin').body, big, 'big body (after copying was reported)')
            time.sleep(0.3)
            st3 = s.status()
            eq(st3['send']['sendfile']['bytes'] - st2['send']['sendfile']['bytes'], len(big),
               'a connection whose zero-copy sends were copied uses sendfile')


def test_auto_measured_break_even():
    with Server(conf={'zerocopy_min_size': None}) as s:
        z = s.status()['zerocopy']
        eq(z['min_size_source'], 'measured', 'min_size_source')
        check(1024 <= z['min_size'] <= 256 * 1024, 'measured min_size in range: %r' % z)
        check(re.search(r'break-even measured: %d bytes' % z['min_size'], s.output()),
              'startup log states the measured break-even')


def test_calibrate_table():
    out = subprocess.run([BINARY, '--calibrate'], capture_output=True, text=True, timeout=30)
    eq(out.returncode, 0, 'zcserve --calibrate exit status')
    rows = re.findall(r'^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$', out.stdout, re.M)
    check(len(rows) >= 8, 'a row per size: %r' % out.stdout)
    check(re.search(r'^break-even: \d+ bytes', out.stdout, re.M), 'break-even line')


def test_shrink_mmap():
    _shrink('mmap')


def test_shrink_splice():
    _shrink('splice')


def test_shrink_msg_zerocopy():
    _shrink('msg_zerocopy')


def test_shrink_send_zc():
    _shrink('send_zc')


def test_version_lists_paths():
    out = subprocess.run([BINARY, '-V'], capture_output=True, text=True, timeout=10).stdout
    line = re.search(r'^send paths compiled in: (.*)$', out, re.M)
    check(line, '-V lists compiled-in paths: %r' % out)
    for st in ('copy', 'sendfile', 'mmap', 'splice', 'msg_zerocopy', 'send_zc'):
        check(st in line.group(1).split(), '-V lists %s' % st)
    check(re.search(r'^send paths available on this kernel: ', out, re.M), '-V lists runtime paths')


if __name__ == '__main__':
    main()
