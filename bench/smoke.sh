#!/bin/sh
# bench/smoke.sh - smoke test of the benchmark harness, run by make check.
# A ~1 s run against every server (zcserve, one zcserve per forced send
# strategy, nginx, lighttpd) on one file size; asserts that the CSV has a
# row for every server, each with requests and without errors. It never
# judges speed, and never installs anything: without wrk, nginx or
# lighttpd it is skipped (exit 77).
srcdir=${ZC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
ZCSERVE=${ZCSERVE:-$srcdir/src/zcserve}
PATH=$PATH:/usr/sbin:/sbin
for prog in python3 wrk nginx lighttpd timeout; do
	if ! command -v "$prog" >/dev/null 2>&1; then
		echo "SKIP: $prog is not installed (bench/run installs it: apt-get install nginx-light lighttpd wrk)"
		exit 77
	fi
done
if [ ! -x "$ZCSERVE" ]; then
	echo "FAIL: no zcserve binary at $ZCSERVE"
	exit 1
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/zcbench-smoke.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
trap 'exit 1' INT TERM HUP
timeout 120 python3 "$srcdir/bench/run" --quick --no-build --no-install --no-plots \
	--zcserve "$ZCSERVE" --out "$out" || { echo "FAIL: bench/run exited with $?"; exit 1; }
strategies=$("$ZCSERVE" -V | sed -n 's/^send paths compiled in: *//p')
python3 - "$out" $strategies <<'PY'
import csv, glob, sys
out, strategies = sys.argv[1], sys.argv[2:]
files = glob.glob(out + "/*-quick.csv")
if len(files) != 1:
    sys.exit("FAIL: expected one CSV in %s, found %s" % (out, files))
rows = list(csv.DictReader(open(files[0])))
want = ["zcserve", "nginx", "lighttpd"] + ["zcserve-" + s for s in strategies]
bad = 0
for server in want:
    mine = [r for r in rows if r["server"] == server]
    if not mine:
        print("FAIL: no row for %s" % server)
        bad += 1
    for r in mine:
        if int(r["requests"]) <= 0 or int(r["errors"]) != 0 or not r["cpu_s"]:
            print("FAIL: %s: requests %s, errors %s, cpu_s %r"
                  % (server, r["requests"], r["errors"], r["cpu_s"]))
            bad += 1
print("%d rows for %s: %s" % (len(rows), ", ".join(want), "FAIL" if bad else "ok"))
sys.exit(1 if bad else 0)
PY
