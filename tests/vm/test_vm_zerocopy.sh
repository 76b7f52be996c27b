#!/bin/sh
# Real zero copy, proven in a VM (see vmlib.sh for why not over loopback).
#
# For each send strategy (sendfile as the baseline, then msg_zerocopy and
# send_zc; ZC_VM_STRATEGIES overrides the list) boot a guest whose zcserve
# uses "send_strategy S;", fetch every test file from the host byte-exact
# (small files, then the large ones over one connection, in parallel, and a
# range), and check the status JSON:
#   send.S.bytes grew by at least the large files' size (they went that way);
#   for msg_zerocopy/send_zc: zerocopy.completions > zerocopy.copied overall,
#   and no completion of the large-file sends came back "copied";
#   and afterwards connections.active drops back to 1 (nothing leaked).
# A strategy that zcserve -V does not list as compiled in fails.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/vmlib.sh"

vm_prepare || exit $?
compiled=$("$ZCSERVE" -V | sed -n 's/^send paths compiled in: //p')
echo "zcserve -V: send paths compiled in: $compiled"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zcvm-zc.XXXXXX") || exit 99
trap 'vm_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# check_status STRATEGY BEFORE.json SMALL.json LARGE.json LARGE_BYTES
check_status() {
	python3 - "$@" <<'EOF'
import json, sys
strategy, f0, f1, f2, large = sys.argv[1:]
s0, s1, s2 = (json.load(open(f)) for f in (f0, f1, f2))
large = int(large)
bad = 0
def get(s, path):
    for k in path.split("."):
        if not isinstance(s, dict) or k not in s:
            return None
        s = s[k]
    return s
def check(ok, what):
    global bad
    print(("ok   " if ok else "FAIL ") + what)
    bad |= not ok
b0, b1, b2 = (get(s, "send.%s.bytes" % strategy) for s in (s0, s1, s2))
if b2 is None:
    check(False, "status has send.%s (send: %s)" % (strategy, json.dumps(s2.get("send"))))
    sys.exit(1)
check(b2 > 0, "send.%s.bytes = %d > 0" % (strategy, b2))
check(b2 - b1 >= large, "send.%s.bytes grew by %d >= %d while fetching the large files"
      % (strategy, b2 - b1, large))
if strategy in ("msg_zerocopy", "send_zc"):
    z0, z1, z2 = (get(s, "zerocopy") for s in (s0, s1, s2))
    if not isinstance(z2, dict):
        check(False, "status has a zerocopy object")
        sys.exit(1)
    print("     zerocopy: " + json.dumps(z2))
    try:
        check(z2["completions"] > z2["copied"], "zerocopy.completions %d > zerocopy.copied %d"
              % (z2["completions"], z2["copied"]))
        check(z2["completions"] - z1["completions"] > 0, "large files: %d zero-copy completions"
              % (z2["completions"] - z1["completions"]))
        check(z2["copied"] - z1["copied"] == 0, "large files: %d completions came back copied (want 0)"
              % (z2["copied"] - z1["copied"]))
        if z2.get("disabled_connections"):
            print("note zerocopy.disabled_connections = %d" % z2["disabled_connections"])
    except (KeyError, TypeError) as e:
        check(False, "zerocopy object has field %s" % e)
sys.exit(bad)
EOF
}

run_one() {
	s=$1
	printf 'send_strategy %s;\n' "$s" >"$tmp/snippet.conf"
	vm_boot "$tmp/snippet.conf" || return $?
	t0=$(vm_now)
	rc=0
	vm_status "$tmp/s0.json" || rc=1
	vm_fetch_compare "$ZC_VM_HTTP" "$tmp/out" "$ZC_VM_SMALL_FILES" || rc=1
	vm_status "$tmp/s1.json" || rc=1
	vm_fetch_compare "$ZC_VM_HTTP" "$tmp/out" "$ZC_VM_LARGE_FILES" || rc=1
	vm_fetch_parallel "$ZC_VM_HTTP" "$tmp/par" "$ZC_VM_LARGE_FILES" 2 || rc=1
	vm_range_compare "$ZC_VM_HTTP" f20m 12345 16777999 "$tmp/range" || rc=1
	vm_status "$tmp/s2.json" || rc=1
	# Every client has closed: the server should be down to one connection
	# (the status request) within a few seconds.
	i=0
	while :; do
		vm_status "$tmp/s3.json" && active=$(vm_json "$tmp/s3.json" connections.active) || active=?
		[ "$active" = 1 ] || [ $i -ge 10 ] && break
		sleep 0.5
		i=$((i + 1))
	done
	if [ "$active" = 1 ]; then
		echo "ok   connections released after the clients closed"
	else
		echo "FAIL connections.active = $active 5 s after every client closed (want 1: the status request)"
		rc=1
	fi
	# Everything large that went out in that phase: 3 times each large
	# file plus the range.
	large=$(($(vm_size "$ZC_VM_LARGE_FILES") * 3 + 16777999 - 12345 + 1))
	echo "status: $(cat "$tmp/s2.json")"
	check_status "$s" "$tmp/s0.json" "$tmp/s1.json" "$tmp/s2.json" "$large" || rc=1
	[ $rc = 0 ] || vm_show_console 30
	t1=$(vm_now)
	vm_stop
	[ $(($(vm_now) - t1)) -le 5 ] || echo "note: the guest took $(($(vm_now) - t1)) s to stop after SIGTERM to zcserve"
	echo "send_strategy $s: $([ $rc = 0 ] && echo PASS || echo FAIL) ($(($(vm_now) - t0)) s after boot)"
	return $rc
}

fail=0
for s in ${ZC_VM_STRATEGIES:-sendfile msg_zerocopy send_zc}; do
	echo "=== send_strategy $s ==="
	case " $compiled " in
	*" $s "*) ;;
	*)
		echo "FAIL: strategy $s not compiled in (zcserve -V lists: $compiled)"
		fail=1
		continue
		;;
	esac
	run_one "$s"
	rc=$?
	[ $rc = 99 ] && exit 99
	[ $rc = 0 ] || fail=1
done
exit $fail
