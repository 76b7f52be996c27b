#!/bin/sh
# The VM tests' choice of accelerator (vm_pick_accel, vm_boot in vmlib.sh),
# against stand-in qemu binaries: no real guest boots, so this runs anywhere
# in a few seconds.
#
# The case that broke CI: a /dev/kvm that opens and a qemu that starts with
# -accel kvm, but a KVM guest that never runs. The choice must come from a
# guest that reaches its console marker, fall back to TCG once if a KVM boot
# fails later, cache the verdict per host kernel and qemu version, and still
# obey ZC_VM_ACCEL.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/vmlib.sh"

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "SKIP: curl not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zcvm-accel.XXXXXX") || exit 99
trap 'vm_kill_guest; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The stand-in qemu. STANDIN_MODE says what a KVM guest does:
#   hang   starts and never prints anything (the broken hosts)
#   works  boots (the probe's marker; the real boot answers HTTP)
#   probe  the probe guest boots, the real guest hangs
# A TCG guest always works. Each start appends "ACCEL probe|boot" to STANDIN_LOG.
cat >"$tmp/qemu" <<'EOF'
#!/bin/sh
if [ "$1" = --version ]; then
	echo "QEMU emulator version ${STANDIN_VERSION:-9.9.9}"
	exit 0
fi
accel= serial= port= kind=boot
while [ $# -gt 0 ]; do
	case $1 in
	-accel) accel=$2; shift ;;
	-serial) serial=${2#file:}; shift ;;
	-append) case $2 in *zcvm.probe=1*) kind=probe ;; esac; shift ;;
	-netdev) port=$(echo "$2" | sed -n 's/.*hostfwd=tcp:127.0.0.1:\([0-9]*\)-:8080.*/\1/p'); shift ;;
	esac
	shift
done
echo "$accel $kind" >>"$STANDIN_LOG"
if [ "$accel" = kvm ]; then
	case $STANDIN_MODE in
	hang) exec sleep 600 ;;
	probe) [ $kind = probe ] || exec sleep 600 ;;
	esac
fi
if [ $kind = probe ]; then
	echo "ZCVM-PROBE-42" >>"$serial"
	exit 0
fi
echo "zcvm: kernel standin-1, 1 cpus" >>"$serial"
d=$(mktemp -d)
echo '{}' >"$d/zcserve-status"
exec python3 -m http.server --bind 127.0.0.1 --directory "$d" "$port" >/dev/null 2>&1
EOF
chmod 755 "$tmp/qemu"

# What the probe needs from the cache; the stand-in reads none of it.
fake_cache() {
	mkdir -p "$1/kernel/modroot/lib/modules"
	echo kernel >"$1/kernel/vmlinuz"
	echo busybox >"$1/busybox"
}

# A KVM device the test can "open": only its access rights are checked.
: >"$tmp/kvm"
export ZC_VM_QEMU="$tmp/qemu" ZC_VM_KVM_DEV="$tmp/kvm" STANDIN_LOG="$tmp/log"
unset ZC_VM_ACCEL STANDIN_VERSION
export ZC_VM_KVM_PROBE_TIMEOUT=3

bad=0
check() { # OK-STATUS WHAT
	if [ "$1" = 0 ]; then echo "ok   $2"; else echo "FAIL $2"; bad=1; fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
starts() { _n=$(grep -c "$1" "$STANDIN_LOG" 2>/dev/null); echo "${_n:-0}"; }

# pick CACHE: run vm_pick_accel; sets $got and $ms (how long the choice took).
pick() {
	ZC_VM_CACHE=$1
	: >"$STANDIN_LOG"
	_t=$(now_ms)
	got=$(vm_pick_accel 2>"$tmp/pick.err")
	ms=$(($(now_ms) - _t))
	sed 's/^/     /' "$tmp/pick.err"
}

echo "-- no usable KVM device: TCG without starting qemu"
fake_cache "$tmp/c0"
ZC_VM_KVM_DEV=$tmp/no-such-kvm pick "$tmp/c0"
[ "$got" = tcg ]; check $? "chose '$got' (want tcg)"
[ "$(starts .)" = 0 ]; check $? "qemu started $(starts .) times (want 0)"

echo "-- KVM starts but the guest hangs: TCG, within the probe deadline"
fake_cache "$tmp/c1"
STANDIN_MODE=hang pick "$tmp/c1"
[ "$got" = tcg ]; check $? "chose '$got' (want tcg)"
[ "$ms" -ge 2500 ] && [ "$ms" -le 6000 ]; check $? "the choice took $ms ms (want the 3 s probe deadline, at most 6 s)"
[ "$(starts 'kvm probe')" = 1 ]; check $? "one KVM probe boot ($(starts 'kvm probe'))"
f=$(ZC_VM_CACHE=$tmp/c1 vm_accel_cache_file)
[ "$(cat "$f" 2>/dev/null)" = tcg ]; check $? "verdict cached in $(basename "$f")"
case $f in *"$(uname -r)"*9.9.9*) r=0 ;; *) r=1 ;; esac
check $r "the cache file is named by host kernel and qemu version"

echo "-- the cached verdict is used without a probe"
STANDIN_MODE=hang pick "$tmp/c1"
[ "$got" = tcg ] && [ "$(starts .)" = 0 ] && [ "$ms" -lt 1000 ]; check $? "chose '$got' in $ms ms with $(starts .) qemu starts (want tcg, 0, < 1 s)"

echo "-- another qemu version probes again"
STANDIN_MODE=works STANDIN_VERSION=10.0.0 pick "$tmp/c1"
[ "$got" = kvm ]; check $? "chose '$got' (want kvm) for qemu 10.0.0"
[ "$(starts 'kvm probe')" = 1 ]; check $? "one KVM probe boot ($(starts 'kvm probe'))"

echo "-- a working KVM: chosen, quickly"
fake_cache "$tmp/c2"
STANDIN_MODE=works pick "$tmp/c2"
[ "$got" = kvm ]; check $? "chose '$got' (want kvm)"
[ "$ms" -le 2000 ]; check $? "the choice took $ms ms (want at most 2 s)"

echo "-- ZC_VM_ACCEL forces the choice"
ZC_VM_ACCEL=kvm STANDIN_MODE=hang pick "$tmp/c1"
[ "$got" = kvm ] && [ "$(starts .)" = 0 ]; check $? "ZC_VM_ACCEL=kvm: chose '$got' with $(starts .) qemu starts (want kvm, 0)"
ZC_VM_ACCEL=tcg STANDIN_MODE=works pick "$tmp/c2"
[ "$got" = tcg ]; check $? "ZC_VM_ACCEL=tcg: chose '$got' (want tcg)"

echo "-- a KVM boot that fails after the probe passed: TCG once, recorded"
if [ -n "${ZCSERVE:-}" ] && [ -x "$ZCSERVE" ]; then
	fake_cache "$tmp/c3"
	ZC_VM_CACHE=$tmp/c3
	: >"$STANDIN_LOG"
	echo "# snippet" >"$tmp/snippet"
	_t=$(now_ms)
	STANDIN_MODE=probe ZC_VM_KVM_BOOT_TIMEOUT=3 vm_boot "$tmp/snippet" >"$tmp/boot.out" 2>&1
	rc=$?
	ms=$(($(now_ms) - _t))
	sed 's/^/     /' "$tmp/boot.out"
	[ $rc = 0 ]; check $? "vm_boot succeeded (status $rc) in $ms ms"
	grep -q 'falling back to TCG' "$tmp/boot.out"; check $? "the fallback is logged"
	grep -q 'guest up after .*(tcg;' "$tmp/boot.out"; check $? "the guest came up under TCG"
	[ "$(tr '\n' ' ' <"$STANDIN_LOG")" = "kvm probe kvm boot tcg boot " ]
	check $? "qemu starts: $(tr '\n' ',' <"$STANDIN_LOG") (want kvm probe, kvm boot, tcg boot)"
	[ "$(cat "$(vm_accel_cache_file)")" = tcg ]; check $? "TCG recorded for later boots"
	vm_kill_guest
	rm -rf "$ZC_VM_WORK"
else
	echo "     (ZCSERVE unset: the boot fallback needs the binary for the guest tree; not run)"
	bad=1
fi

[ $bad = 0 ] && echo "PASS: the accelerator choice" || echo "FAIL: the accelerator choice"
exit $bad
