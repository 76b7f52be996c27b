#!/bin/sh
# bench/profile/profile.sh - what one server does per response under wrk.
#
#   bench/profile/profile.sh NAME PORT URLPATH PID [PID...]
#
# Start the server pinned to CPU 0 first (bench/run --keep leaves the
# configs it used in its temporary directory), e.g.
#   taskset -c 0 src/zcserve -c zc.conf &
# then run this with the server's PIDs (all processes: nginx's master and
# worker). wrk runs on CPU 1 (-t1 -c32), three times:
#   1. /proc: the server's CPU time, and CPU 0 and CPU 1 busy time (the
#      client's CPU counts: on loopback a send also does receive work);
#   2. tracepoints (perf stat): syscalls, io_uring submissions, poll arms,
#      completions, packets and context switches per response;
#   3. perf record (cpu-clock; this VM has no hardware counters) sorted into
#      categories by bench/profile/classify.py, in µs per response.
# Output goes to stdout; perf data and wrk output to $OUT (/tmp/zcprof).
set -eu
[ $# -ge 4 ] || { sed -n 3,17p "$0"; exit 2; }
name=$1; port=$2; path=$3; shift 3; pids="$*"
OUT=${OUT:-/tmp/zcprof}; mkdir -p "$OUT"
here=$(cd "$(dirname "$0")" && pwd)
url="http://127.0.0.1:$port$path"
tag="$name-$(echo "$path" | tr -c 'A-Za-z0-9.\n' _)"

ticks() {       # utime + stime of the server's processes (all threads)
	t=0
	for p in $pids; do
		set -- $(sed 's/.*) //' "/proc/$p/stat")
		t=$((t + ${12} + ${13}))
	done
	echo $t
}
busy() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
responses() { awk '/requests in/ { print $1 }' "$1"; }
wrk_run() { timeout 30 taskset -c 1 wrk -t1 -c32 -d"$1" "$url" > "$2"; }

echo "== $name $path"
t0=$(ticks); a0=$(busy 0); b0=$(busy 1)
wrk_run 3 "$OUT/$tag.wrk1"
t1=$(ticks); a1=$(busy 0); b1=$(busy 1)
n=$(responses "$OUT/$tag.wrk1")
awk -v n="$n" -v s=$((t1 - t0)) -v c0=$((a1 - a0)) -v c1=$((b1 - b0)) 'BEGIN {
	printf "responses %d; server CPU %.2f s = %.2f us/resp; CPU0 busy %.2f s, CPU1 (wrk) %.2f s\n",
	       n, s / 100, s / 100 / n * 1e6, c0 / 100, c1 / 100 }'

ev=raw_syscalls:sys_enter,io_uring:io_uring_submit_req,io_uring:io_uring_complete
ev=$ev,io_uring:io_uring_poll_arm,net:net_dev_xmit,tcp:tcp_sendmsg_locked,sched:sched_switch
plist=$(echo $pids | tr ' ' ,)
timeout 20 perf stat -x, -e "$ev" -p "$plist" -o "$OUT/$tag.stat" &
sp=$!
sleep 0.5
wrk_run 3 "$OUT/$tag.wrk2"
sleep 0.3
kill -INT $sp 2>/dev/null || true
wait $sp 2>/dev/null || true
n=$(responses "$OUT/$tag.wrk2")
echo "per response (tracepoints, $n responses):"
awk -F, -v n="$n" '$3 ~ /:/ { printf "  %-32s %8.3f\n", $3, $1 / n }' "$OUT/$tag.stat"

wrk_run 5 "$OUT/$tag.wrk3" &
wp=$!
sleep 1
timeout 20 perf record -q -e cpu-clock -F 4999 -g -p "$plist" -o "$OUT/$tag.data" -- sleep 3 \
	2>/dev/null || true
wait $wp
# responses during the 3 s recorded, from wrk's rate over its 5 s
rate=$(awk '/Requests\/sec/ { print $2 }' "$OUT/$tag.wrk3")
echo "perf, by call stack (rate $rate/s):"
python3 "$here/classify.py" "$OUT/$tag.data" "$(awk -v r="$rate" 'BEGIN { print r * 3 }')"
