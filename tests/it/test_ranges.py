#!/usr/bin/env python3
"""Range requests (RFC 9110 14): single, suffix, open-ended, multiple
(multipart/byteranges), unsatisfiable (416), coalescing of overlapping
ranges, max_ranges, invalid syntax, If-Range."""

from zctest import *

SIZE = 10007


def _rserver(**conf):
    s = Server(conf=conf or None)
    s.mtime = int(time.time()) - 86400
    s.data = s.put('r.bin', rand_bytes(SIZE), mtime=s.mtime)
    s.put('r.txt', (b'0123456789' * 20) + b'\n')
    return s


def _range(s, spec, method='GET', extra=()):
    return s.get('/r.bin', method, headers=[('Range', spec)] + list(extra))


def _single(r, start, end, data, what):
    eq(r.status, 206, what + ': status')
    eq(r.get('Content-Range'), 'bytes %d-%d/%d' % (start, end, len(data)), what + ': Content-Range')
    eq(r.get('Content-Length'), str(end - start + 1), what + ': Content-Length')
    eq(r.body, data[start:end + 1], what + ': body')
    eq(r.get('Content-Type'), 'application/octet-stream', what + ': Content-Type')
    check(r.has('ETag') and r.has('Last-Modified'), what + ': no validators on 206')
    assert_std_headers(r, what)


def test_single_ranges():
    with _rserver() as s:
        d = s.data
        n = len(d)
        cases = Cases()
        for spec, a, b in (('bytes=0-99', 0, 99), ('bytes=0-0', 0, 0), ('bytes=5-5', 5, 5),
                           ('bytes=100-4195', 100, 4195), ('bytes=-500', n - 500, n - 1),
                           ('bytes=-1', n - 1, n - 1), ('bytes=10000-', 10000, n - 1),
                           ('bytes=0-', 0, n - 1), ('bytes=9000-999999', 9000, n - 1),
                           ('bytes=-99999', 0, n - 1), ('bytes=%d-%d' % (n - 1, n - 1), n - 1, n - 1),
                           ('bytes= 1-2', 1, 2), ('bytes=1-2 ', 1, 2), ('BYTES=1-2', 1, 2)):
            with cases.case():
                _single(_range(s, spec), a, b, d, 'Range: %s' % spec)
        cases.check()
        # RFC 9110 14.2 defines Range for GET only (a server MUST ignore it on
        # HEAD); nginx answers 206.  Either way the headers must be coherent.
        r = _range(s, 'bytes=0-99', 'HEAD')
        is_in(r.status, (200, 206), 'HEAD with Range')
        if r.status == 206:
            eq((r.get('Content-Length'), r.get('Content-Range')), ('100', 'bytes 0-99/%d' % n),
               'HEAD with Range answered 206')
        else:
            eq((r.get('Content-Length'), r.get('Content-Range')), (str(n), None),
               'HEAD with Range answered 200')


def test_range_keepalive_sequence():
    """Several ranges in a row on one connection: each body exactly sized."""
    with _rserver() as s:
        with s.conn() as c:
            for a in range(0, SIZE, 997):
                r = c.request('/r.bin', headers=[('Range', 'bytes=%d-%d' % (a, a + 499))])
                b = min(a + 499, SIZE - 1)
                _single(r, a, b, s.data, 'keep-alive range %d' % a)


def test_multiple_ranges():
    with _rserver() as s:
        d = s.data
        cases = Cases()
        for spec, want in (('bytes=0-9,1000-1099,-10', [(0, 9), (1000, 1099), (SIZE - 10, SIZE - 1)]),
                           # parts come sorted (RFC 9110 15.3.7.2 allows it; README says so)
                           ('bytes=5000-5099, 0-9', [(0, 9), (5000, 5099)]),
                           ('bytes=1-1,3000-3000,6000-6000', [(1, 1), (3000, 3000), (6000, 6000)]),
                           ('bytes=9990-,0-0', [(0, 0), (9990, SIZE - 1)])):
            with cases.case():
                r = _range(s, spec)
                eq(r.status, 206, 'Range: %s' % spec)
                check(r.get('Content-Range') is None, 'multipart 206 with a top-level Content-Range')
                eq(int(r.get('Content-Length')), len(r.body), 'multipart Content-Length')
                parts = parse_byteranges(r)
                got = [(a, b) for a, b, _, _, _ in parts]
                eq(got, want, 'parts for %s' % spec)
                for a, b, t, ct, data in parts:
                    eq(t, SIZE, 'part total length')
                    eq(ct, 'application/octet-stream', 'part Content-Type')
                    eq(data, d[a:b + 1], 'part %d-%d bytes' % (a, b))
        cases.check()
        # text type parts carry the charset
        r = s.get('/r.txt', headers=[('Range', 'bytes=0-1,155-156')])
        eq(r.status, 206, 'multi-range on a text file')
        parts = parse_byteranges(r)
        eq([p[4] for p in parts], [b'01', b'56'], 'text part bodies')
        eq(parts[0][3], 'text/plain; charset=utf-8', 'text part Content-Type')
        # HEAD: range handling is defined for GET only, so Range is
        # ignored (RFC 9110 14.2) and HEAD describes the whole 200
        h = _range(s, 'bytes=0-9,100-199', 'HEAD')
        eq(h.status, 200, 'HEAD multi-range')
        eq(h.get('Content-Length'), str(SIZE), 'HEAD multi-range answered 200: Content-Length')
        check(not h.has('Content-Range'), 'Content-Range on a HEAD 200')


def test_multipart_boundary_new_per_response():
    """The boundary must not occur in any part (RFC 2046 5.1.1), and the
    parts are file bytes that whoever writes the files chooses: so it is
    random and new for each response, never derived from the file."""
    with _rserver() as s:
        seen = set()
        for _ in range(4):
            r = _range(s, 'bytes=0-9,100-109')
            eq(r.status, 206, 'multi-range status')
            m = re.search(r'boundary=("?)([^";\s]+)\1', r.get('Content-Type') or '')
            check(m, 'no boundary in %r' % r.get('Content-Type'))
            seen.add(m.group(2))
            parse_byteranges(r)
        eq(len(seen), 4, 'distinct boundaries in 4 responses for one file (%r)' % sorted(seen))
        for b in seen:
            check(len(b) >= 32, 'boundary %r shorter than 128 bits of hex' % b)

def test_unsatisfiable():
    with _rserver() as s:
        cases = Cases()
        for spec in ('bytes=%d-' % SIZE, 'bytes=20000-30000', 'bytes=%d-%d' % (SIZE, SIZE + 5),
                     'bytes=20000-,30000-', 'bytes=-0'):
            with cases.case():
                r = _range(s, spec)
                eq(r.status, 416, 'Range: %s' % spec)
                eq(r.get('Content-Range'), 'bytes */%d' % SIZE, '416 Content-Range for %s' % spec)
                assert_std_headers(r, '416')
                check(s.data[:50] not in r.body, '416 body contains file data')
        cases.check()
        # one satisfiable range among unsatisfiable ones is served
        r = _range(s, 'bytes=20000-30000,0-4')
        _single(r, 0, 4, s.data, 'unsatisfiable + satisfiable range')
        # the connection survives a 416
        with s.conn() as c:
            eq(c.request('/r.bin', headers=[('Range', 'bytes=50000-')]).status, 416, '416')
            eq(c.request('/r.bin').body, s.data, 'GET after 416 on the same connection')
        # an empty file has no satisfiable range
        s.put('empty.bin', b'')
        r = s.get('/empty.bin', headers=[('Range', 'bytes=0-0')])
        eq(r.status, 416, 'bytes=0-0 on an empty file')
        eq(r.get('Content-Range'), 'bytes */0', '416 Content-Range on an empty file')


def test_invalid_range_ignored():
    with _rserver() as s:
        cases = Cases()
        for spec in ('bytes=abc', 'bytes=', 'bytes=--5', 'bytes 0-5', 'items=0-5', 'bytes=5-1',
                     'bytes=1-2-3', 'bytes=0x10-20', 'bytes=-', 'bytes=1-2,abc', '=0-5',
                     'bytes=1-2;3-4', 'bytes=a-'):
            with cases.case():
                r = _range(s, spec)
                eq(r.status, 200, 'invalid Range: %r' % spec)
                eq(r.body, s.data, 'full body for invalid Range: %r' % spec)
                check(not r.has('Content-Range'), 'Content-Range on a 200')
        cases.check()
        # a first-pos too large for any file: unsatisfiable or ignored, never a crash
        r = _range(s, 'bytes=99999999999999999999999-')
        is_in(r.status, (200, 416), 'Range: bytes=99999999999999999999999-')
        s.serves_ok()


def test_overlapping_ranges_coalesced():
    """README (Ranges, CVE-2011-3192): overlapping or adjacent ranges are
    merged, so each of these is served as exactly one range (206), never
    as a 200 or as a multipart body of repeated parts."""
    with _rserver() as s:
        last = SIZE - 1
        specs = {   # name: (ranges, the one merged range)
            'many overlapping': (','.join('%d-%d' % (i, last) for i in range(0, 500)),
                                 (0, last)),
            'many identical': (','.join(['0-%d' % last] * 400), (0, last)),
            'many small overlapping': (','.join('%d-%d' % (i, i + 100)
                                                for i in range(0, 1000, 2)), (0, 1098)),
            # -5000 is 5007-10006, which overlaps 0-5100
            'suffix and prefix repeated': (','.join(['-5000', '0-5100'] * 200), (0, last)),
            'adjacent': ('0-9,10-19,20-29', (0, 29)),
            'adjacent out of order': ('20-29,0-9,10-19', (0, 29)),
            'CVE-2011-3192 form': ('0-,' + ','.join('0-%d' % i for i in range(1000)),
                                   (0, last)),
        }
        cases = Cases()
        for name, (spec, (a, b)) in specs.items():
            with cases.case(name):
                _single(_range(s, 'bytes=' + spec), a, b, s.data, name)
        # a gap of one byte keeps two parts: merging must not swallow it
        with cases.case('one-byte gap'):
            r = _range(s, 'bytes=0-9,11-19')
            eq(r.status, 206, 'status')
            eq([p[:2] for p in parse_byteranges(r)], [(0, 9), (11, 19)], 'parts')
        # a range contained in an earlier one leaves the earlier one's end
        with cases.case('contained range'):
            _single(_range(s, 'bytes=0-500,10-20'), 0, 500, s.data, 'contained range')
        cases.check()


def test_max_ranges():
    with _rserver(max_ranges='3') as s:
        r = _range(s, 'bytes=0-0,1000-1000,2000-2000')
        eq(r.status, 206, '3 ranges with max_ranges 3')
        eq(len(parse_byteranges(r)), 3, 'parts')
        r = _range(s, 'bytes=0-0,1000-1000,2000-2000,3000-3000')
        eq(r.status, 200, '4 disjoint ranges with max_ranges 3')
        eq(r.body, s.data, 'full body when over max_ranges')
        # overlapping ranges count after coalescing
        r = _range(s, 'bytes=0-5,1-6,2-7,3-8,1000-1000')
        eq(r.status, 206, '5 ranges coalescing to 2 with max_ranges 3')
    with _rserver() as s:      # default max_ranges: 100 disjoint ranges is too many
        r = _range(s, 'bytes=' + ','.join('%d-%d' % (i * 10, i * 10) for i in range(100)))
        is_in(r.status, (200, 206), '100 disjoint ranges')
        check(len(r.body) <= SIZE + 100 * 120, 'response for 100 ranges too large')


def test_if_range():
    with _rserver() as s:
        r = s.get('/r.bin')
        etag, lm = r.get('ETag'), r.get('Last-Modified')
        cases = Cases()
        for ir, want in ((etag, 206), ('"other"', 200), (lm, 206),
                         (http_date(s.mtime - 60), 200), (http_date(s.mtime + 60), 200),
                         ('W/' + etag, 200), ('garbage', 200)):
            with cases.case():
                r = _range(s, 'bytes=0-9', extra=[('If-Range', ir)])
                eq(r.status, want, 'If-Range: %s' % ir)
                if want == 206:
                    eq(r.body, s.data[:10], 'If-Range %s body' % ir)
                else:
                    eq(r.body, s.data, 'If-Range %s full body' % ir)
        cases.check()
        # If-Range without Range is ignored
        r = s.get('/r.bin', headers=[('If-Range', '"other"')])
        eq((r.status, r.body), (200, s.data), 'If-Range alone')


if __name__ == '__main__':
    main()
