#!/usr/bin/env python3
"""Resource limits: descriptor exhaustion (EMFILE) must not spin the loop
or stop service to connections already open, and service resumes once
descriptors are free again; the accept error is logged at most once per
second."""

import resource

from zctest import *


def _cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


LIMIT = 24     # descriptors: the server needs about 10 of its own


def _low_nofile():
    # hard limit too: the server raises its soft limit to the hard one.
    # Set before exec, since an armed io_uring accept keeps the limit it
    # was submitted with.
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def test_emfile_backoff():
    with Server(conf={'workers': '1', 'keepalive_timeout': '30s', 'header_timeout': '30s'},
                preexec=_low_nofile) as s:
        s.put('a.txt', b'limits\n')
        keeper = s.conn()
        eq(keeper.request('/a.txt').status, 200, 'first connection')
        soft, hard = resource.prlimit(s.pid, resource.RLIMIT_NOFILE)
        eq(soft, LIMIT, 'server started with the low limit')
        crowd = []
        try:
            for _ in range(LIMIT + 8):
                c = Conn(s.port, timeout=5)
                c.send_request('/a.txt')
                crowd.append(c)
            time.sleep(0.5)
            cpu0 = _cpu_seconds(s.pid)
            time.sleep(1.5)
            used = _cpu_seconds(s.pid) - cpu0
            check(used < 0.5, 'server used %.2f s CPU in 1.5 s at EMFILE (spinning?)' % used)
            # the connection that was already open is still served
            eq(keeper.request('/a.txt').body, b'limits\n', 'open connection served at EMFILE')
            errs = re.findall(r'accept: Too many open files', s.output())
            check(1 <= len(errs) <= 4, 'EMFILE logged %d times in ~2 s (want 1 per second)'
                  % len(errs))
        finally:
            for c in crowd:
                c.close()
            pass
        check(fd_count(s.pid) <= LIMIT, 'descriptors within the limit')
        wait_for(lambda: s.get('/a.txt').status == 200, timeout=3,
                 msg='service to resume once descriptors are free')
        keeper.close()


if __name__ == '__main__':
    main()
