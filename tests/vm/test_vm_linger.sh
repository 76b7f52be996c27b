#!/bin/sh
# A slow client of a zero-copy response that ends the connection gets every
# byte (issue 11, item 1), proven in a VM (over loopback the kernel copies
# zero-copy sends, see vmlib.sh).
#
# Completions of MSG_ZEROCOPY / SEND_ZC sends come back only as the peer
# acknowledges the data. With the guest's net.ipv4.tcp_wmem at
# "4096 4194304 8388608" (a common tuning for high-bandwidth servers) megabytes
# stay queued after the server's last send; a client reading them at a few
# hundred KB/s needs longer than a fixed wait after the close (the server
# used to give up 12 s after its last send). For each of msg_zerocopy and
# send_zc (ZC_VM_STRATEGIES overrides), the host client
# sets SO_RCVBUF 32 KiB, asks for the first ZC_VM_LINGER_SIZE bytes of f20m
# (a Range request: 206) with "Connection: close" and reads 16 KiB at a time
# at ZC_VM_LINGER_RATE bytes/s. The body must be byte-exact and end in a FIN
# (not a timeout; QEMU's user networking turns the guest's reset into a
# FIN on the host, so the byte count is what shows a cut), and the bytes
# must have gone out by the strategy under test.
#
# Sizes: QEMU's user networking itself buffers up to about 4 MB towards the
# host client, and the guest queues about 3.6 MB more; the old fixed wait cut
# the body only when the client read the guest's queue slower than in 12 s
# and the file filled both buffers (8 MiB at 300 KB/s cut 140 KB, at
# 250 KB/s sometimes nothing). 8 MiB at 150 KB/s cuts reliably and takes
# about 56 s per strategy.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/vmlib.sh"

SIZE=${ZC_VM_LINGER_SIZE:-8388608}
RATE=${ZC_VM_LINGER_RATE:-150000}

vm_prepare || exit $?
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zcvm-linger.XXXXXX") || exit 99
trap 'vm_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# slow_get URL_PORT OUT: the paced client. Prints what it got and how the
# connection ended; 0 only for a complete 206 that ended in a FIN.
slow_get() {
	python3 - "$1" "$SIZE" "$RATE" "$2" <<'EOF'
import socket, sys, time
port, size, rate, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)   # before connect: the window
s.settimeout(30)
s.connect(('127.0.0.1', port))
s.sendall(b'GET /f20m HTTP/1.1\r\nHost: vm\r\nRange: bytes=0-%d\r\nConnection: close\r\n\r\n'
          % (size - 1))
buf = bytearray()
t0 = time.monotonic()
end = 'a FIN'
while True:
    try:
        d = s.recv(16384)
    except ConnectionResetError:
        end = 'a reset'
        break
    except socket.timeout:
        end = 'a timeout (30 s without data)'
        break
    if not d:
        break
    buf += d
    ahead = len(buf) / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
dt = time.monotonic() - t0
i = buf.find(b'\r\n\r\n')
head = bytes(buf[:i]) if i >= 0 else b''
body = bytes(buf[i + 4:]) if i >= 0 else b''
open(out, 'wb').write(body)
status = head.split(b'\r\n')[0].decode('latin-1')
print('     client: %r, %d of %d body bytes in %.1f s (%.0f KB/s), ended by %s'
      % (status, len(body), size, dt, len(buf) / dt / 1000 if dt else 0, end))
sys.exit(0 if status.startswith('HTTP/1.1 206') and len(body) == size and end == 'a FIN' else 1)
EOF
}

# A connection takes its first send buffer (tcp_wmem[1]) from its listener,
# which took it when it was made: so set tcp_wmem, then add a plain listener
# on the guest's 8443 (forwarded to ZC_VM_HTTPS's port; no TLS here) by a
# reload, and use that one.
big_wmem_listener() {
	vm_sh 'echo "4096 4194304 8388608" >/proc/sys/net/ipv4/tcp_wmem
echo "     guest tcp_wmem: $(cat /proc/sys/net/ipv4/tcp_wmem)"
echo "listen 0.0.0.0:8443;" >>/etc/zcserve/zcserve.conf
kill -HUP $(cat /run/zcserve.pid)'
	_i=0
	until curl -sf -o /dev/null --max-time 3 "http://127.0.0.1:${ZC_VM_HTTPS##*:}/f1"; do
		_i=$((_i + 1))
		[ $_i -lt 20 ] || { echo "FAIL no listener on the guest's 8443 after the reload"; return 1; }
		sleep 0.5
	done
}

run_one() {
	s=$1
	printf 'send_strategy %s;\n' "$s" >"$tmp/snippet.conf"
	vm_boot "$tmp/snippet.conf" || return $?
	rc=0
	big_wmem_listener || { vm_show_console 20; vm_stop; return 1; }
	vm_status "$tmp/s0.json" || rc=1
	t0=$(vm_now)
	slow_get "${ZC_VM_HTTPS##*:}" "$tmp/body" || rc=1
	if head -c "$SIZE" "$ZC_VM_WWW/f20m" | cmp -s - "$tmp/body"; then
		echo "ok   body byte-exact ($SIZE bytes, $(($(vm_now) - t0)) s)"
	else
		echo "FAIL body differs from the first $SIZE bytes of f20m ($(wc -c <"$tmp/body") bytes)"
		rc=1
	fi
	vm_status "$tmp/s1.json" || rc=1
	b0=$(vm_json "$tmp/s0.json" "send.$s.bytes" || echo 0)
	b1=$(vm_json "$tmp/s1.json" "send.$s.bytes" || echo 0)
	if [ $((b1 - b0)) -ge "$SIZE" ]; then
		echo "ok   send.$s.bytes grew by $((b1 - b0))"
	else
		echo "FAIL send.$s.bytes grew by $((b1 - b0)), want >= $SIZE (the strategy was not used)"
		rc=1
	fi
	[ $rc = 0 ] || vm_show_console 20
	vm_stop
	echo "send_strategy $s: $([ $rc = 0 ] && echo PASS || echo FAIL)"
	return $rc
}

fail=0
for s in ${ZC_VM_STRATEGIES:-msg_zerocopy send_zc}; do
	echo "=== send_strategy $s ==="
	run_one "$s"
	rc=$?
	[ $rc = 99 ] && exit 99
	[ $rc = 0 ] || fail=1
done
exit $fail
