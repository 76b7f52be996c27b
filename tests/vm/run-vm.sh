#!/bin/sh
# tests/vm/run-vm.sh - boot zcserve in a QEMU guest, run a check from the host.
#
#   run-vm.sh SNIPPET [CHECK [ARG...]]
#       Boot a guest whose zcserve.conf is the base configuration plus the
#       directives in the file SNIPPET, wait until the server answers, run
#       CHECK (default: print the status JSON) with ZC_VM_HTTP, ZC_VM_HTTPS,
#       ZC_VM_CTL, ZC_VM_WWW, ZC_VM_FILES, ZC_VM_STATUS, ZC_VM_CONSOLE and
#       ZC_VM_CERT in its environment, print the final status JSON, stop the
#       guest. Exits with CHECK's status (77 when the VM cannot be had, 99
#       when the guest does not come up).
#   run-vm.sh --prepare         download/unpack the kernel and busybox into the cache
#   run-vm.sh --test-config SNIPPET
#       run "zcserve -t" on the configuration the guest would get
#
# ZCSERVE must name the zcserve binary; see vmlib.sh for the other settings.
# A check script can source vmlib.sh for vm_sh (run a command in the guest),
# vm_status, vm_json and vm_fetch_compare.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/vmlib.sh"

case ${1:-} in
--prepare)
	vm_prepare
	exit $?
	;;
--test-config)
	[ $# -eq 2 ] || { echo "usage: $0 --test-config SNIPPET" >&2; exit 2; }
	vm_test_config "$2"
	exit $?
	;;
"" | -*)
	sed -n '2,20s/^# \{0,1\}//p' "$0" >&2
	exit 2
	;;
esac

snippet=$1
shift
vm_prepare || exit $?
trap 'vm_stop' EXIT
trap 'exit 130' INT TERM
vm_boot "$snippet" || exit $?
if [ $# -gt 0 ]; then
	# the check gets what is left of ZC_VM_TIMEOUT
	left=$((${ZC_VM_TIMEOUT:-180} - ($(vm_now) - ZC_VM_START)))
	timeout "$left" "$@"
	rc=$?
	[ $rc = 124 ] && echo "vm: TIMEOUT: the check ran past ZC_VM_TIMEOUT=${ZC_VM_TIMEOUT:-180} s"
else
	curl -sS --max-time 20 "$ZC_VM_HTTP$ZC_VM_STATUS"
	rc=$?
fi
echo "vm: check exited with status $rc; final status JSON:"
curl -sS --max-time 20 "$ZC_VM_HTTP$ZC_VM_STATUS"
exit $rc
