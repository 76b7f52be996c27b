#!/bin/sh
# Real kernel TLS, proven in a VM whose kernel has tls.ko (the host's may not).
#
# Boot a guest whose zcserve also listens with TLS on 8443 ("ktls on") and
# fetch every test file over HTTPS from the host, byte-exact:
#  - TLS 1.2 (every file over one connection, the large files in parallel, a
#    range): the kernel must do the encryption: /proc/net/tls_stat TlsTxSw
#    grows by a connection each, the status JSON counts them in
#    tls.ktls_tx_connections (none in userspace_connections) and the large
#    files' bytes in send.ktls_sendfile;
#  - TLS 1.3 (every file, a range): byte-exact. kTLS is required only when the
#    guest kernel is 6.14 or later: older kernels refuse a TLS_TX rekey, so
#    zcserve keeps TLS 1.3 in user space there (see src/tls.c);
#  - plain HTTP next to TLS.
# Exits 77 when zcserve rejects a TLS configuration (built without TLS).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/vmlib.sh"

command -v openssl >/dev/null 2>&1 || { echo "SKIP: openssl not installed (needed for a test certificate)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zcvm-tls.XXXXXX") || exit 99
trap 'vm_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cat >"$tmp/snippet.conf" <<'EOF'
listen 0.0.0.0:8443 tls;
tls_certificate cert.pem;
tls_certificate_key key.pem;
ktls on;
EOF

vm_prepare || exit $?
# Built with TLS? Ask "zcserve -t" here, leaving out "ktls on": this host's
# kernel may lack kTLS, the guest's has it.
grep -v '^ktls' "$tmp/snippet.conf" >"$tmp/probe.conf"
if ! out=$(vm_test_config "$tmp/probe.conf"); then
	echo "$out"
	echo "SKIP: zcserve built without TLS support (zcserve -t rejects a TLS listen with a certificate)"
	exit 77
fi

vm_boot "$tmp/snippet.conf" || exit $?
rc=0
ulp=$(vm_sh 'cat /proc/sys/net/ipv4/tcp_available_ulp')
case " $ulp " in
*" tls "*) echo "ok   guest kernel offers tcp ulp: $ulp" ;;
*) echo "FAIL guest kernel has no tls ulp (tcp_available_ulp: $ulp)"; exit 99 ;;
esac
kver=$(vm_sh 'uname -r')
tls12="-k --tlsv1.2 --tls-max 1.2"
tls13="-k --tlsv1.3"

vm_sh 'cat /proc/net/tls_stat' >"$tmp/tls0.txt" || rc=1
vm_status "$tmp/s0.json" || rc=1
echo "--- TLS 1.2: one connection, parallel, a range"
vm_fetch_compare "$ZC_VM_HTTPS" "$tmp/out12" "$ZC_VM_FILES" $tls12 || rc=1
vm_fetch_parallel "$ZC_VM_HTTPS" "$tmp/par12" "$ZC_VM_LARGE_FILES" 2 $tls12 || rc=1
vm_range_compare "$ZC_VM_HTTPS" f20m 12345 16777999 "$tmp/range12" $tls12 || rc=1
vm_status "$tmp/s1.json" || rc=1
vm_sh 'cat /proc/net/tls_stat' >"$tmp/tls1.txt" || rc=1
echo "--- TLS 1.3: one connection, a range"
vm_fetch_compare "$ZC_VM_HTTPS" "$tmp/out13" "$ZC_VM_FILES" $tls13 || rc=1
vm_range_compare "$ZC_VM_HTTPS" f20m 4097 10485760 "$tmp/range13" $tls13 || rc=1
vm_status "$tmp/s2.json" || rc=1
vm_sh 'cat /proc/net/tls_stat' >"$tmp/tls2.txt" || rc=1
echo "--- plain HTTP next to TLS"
vm_fetch_compare "$ZC_VM_HTTP" "$tmp/plain" "f4097 f1m7" || rc=1
echo "status: $(cat "$tmp/s2.json")"
echo "guest /proc/net/tls_stat at the end:"
sed 's/^/     /' "$tmp/tls2.txt"
# large-file body bytes sent in each phase
large=$(vm_size "$ZC_VM_LARGE_FILES")
large12=$((large * 3 + 16777999 - 12345 + 1))
large13=$((large + 10485760 - 4097 + 1))

python3 - "$tmp" "$kver" "$large12" "$large13" <<'EOF' || rc=1
import json, re, sys
d, kver, large12, large13 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conns12, conns13 = 6, 2      # connections each phase opened
m = re.match(r"(\d+)\.(\d+)", kver)
rekey = bool(m) and (int(m.group(1)), int(m.group(2))) >= (6, 14)
def tls_stat(i):
    out = {}
    for line in open("%s/tls%d.txt" % (d, i)):
        p = line.split()
        if len(p) == 2 and p[1].isdigit():
            out[p[0]] = int(p[1])
    return out
t = [tls_stat(i) for i in range(3)]
s = [json.load(open("%s/s%d.json" % (d, i))) for i in range(3)]
bad = 0
def check(ok, what):
    global bad
    print(("ok   " if ok else "FAIL ") + what)
    bad |= not ok
def get(st, path):
    for k in path.split("."):
        if not isinstance(st, dict) or k not in st:
            return None
        st = st[k]
    return st
def delta(a, b, path):
    return get(s[b], path) - get(s[a], path)
missing = [p for p in ("send.ktls_sendfile.bytes", "tls.handshakes", "tls.failed_handshakes",
                       "tls.ktls_tx_connections", "tls.userspace_connections")
           if not all(isinstance(get(x, p), int) for x in s)]
check(not missing, "status JSON has " + (", ".join(missing) if missing else "every TLS counter"))
print("     tls: %s; send.ktls_sendfile: %s" % (json.dumps(get(s[2], "tls")),
                                             json.dumps(get(s[2], "send.ktls_sendfile"))))
tx = lambda i: t[i].get("TlsTxSw", 0)
print("--- TLS 1.2 phase")
check(tx(1) - tx(0) >= conns12, "guest TlsTxSw grew by %d >= %d" % (tx(1) - tx(0), conns12))
if not missing:
    check(delta(0, 1, "tls.ktls_tx_connections") >= conns12,
          "tls.ktls_tx_connections grew by %d >= %d" % (delta(0, 1, "tls.ktls_tx_connections"), conns12))
    check(delta(0, 1, "tls.userspace_connections") == 0,
          "tls.userspace_connections grew by %d (want 0)" % delta(0, 1, "tls.userspace_connections"))
    check(delta(0, 1, "send.ktls_sendfile.bytes") >= large12,
          "send.ktls_sendfile.bytes grew by %d >= %d (the large files)"
          % (delta(0, 1, "send.ktls_sendfile.bytes"), large12))
print("--- TLS 1.3 phase (guest kernel %s: %s)" % (kver, "kTLS required" if rekey else
      "no TLS_TX rekey before 6.14, so kTLS not required"))
if not missing:
    k13 = delta(1, 2, "tls.ktls_tx_connections")
    print("     TLS 1.3: %d kTLS connections, %d userspace, TlsTxSw +%d, ktls_sendfile +%d bytes"
          % (k13, delta(1, 2, "tls.userspace_connections"), tx(2) - tx(1),
             delta(1, 2, "send.ktls_sendfile.bytes")))
    if rekey:
        check(k13 >= conns13, "tls.ktls_tx_connections grew by %d >= %d" % (k13, conns13))
        check(delta(1, 2, "send.ktls_sendfile.bytes") >= large13,
              "send.ktls_sendfile.bytes grew by %d >= %d" % (delta(1, 2, "send.ktls_sendfile.bytes"), large13))
    check(delta(0, 2, "tls.handshakes") >= conns12 + conns13,
          "tls.handshakes grew by %d >= %d" % (delta(0, 2, "tls.handshakes"), conns12 + conns13))
    check(get(s[2], "tls.failed_handshakes") == 0,
          "tls.failed_handshakes = %d (want 0)" % get(s[2], "tls.failed_handshakes"))
sys.exit(bad)
EOF
[ $rc = 0 ] || vm_show_console 40
echo "ktls: $([ $rc = 0 ] && echo PASS || echo FAIL)"
exit $rc
