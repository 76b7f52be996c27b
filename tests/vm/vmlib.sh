# tests/vm/vmlib.sh - boot zcserve in a QEMU guest and talk to it from the host.
# POSIX sh; sourced by run-vm.sh and the tests/vm/test_vm_*.sh tests.
#
# Why a VM: over loopback the kernel copies every MSG_ZEROCOPY/send_zc send
# (so "copied" is always set) and the host kernel may lack kernel TLS. The
# guest runs Debian's cloud kernel with a vmxnet3 NIC on QEMU user networking:
# vmxnet3 does scatter-gather, so zero-copy sends really are zero copy, and
# the kernel ships tls.ko. The guest gets that kernel's NIC, TLS and crypto
# modules with a modules.dep (busybox depmod), so the kernel can load the
# ciphers kTLS asks for (gcm, ctr, ghash...) through busybox modprobe; without
# them setsockopt(TLS_TX) fails with ENOENT and OpenSSL silently stays in
# user space.
#
# Files: the kernel package is fetched once with "apt-get download" (never
# installed); the kernel, modules and a static busybox (the host's, else
# busybox-static fetched the same way) are cached in ZC_VM_CACHE. Each boot
# builds a fresh uncompressed initramfs in a temporary work directory.
#
# Environment (all optional except ZCSERVE):
#   ZCSERVE         zcserve binary to run in the guest (from the build tree)
#   ZC_VM_CACHE     cache for the unpacked kernel and busybox
#                   (default: <dir of ZCSERVE>/../tests/vm/cache)
#   ZC_VM_KERNEL_DEB  a linux-image-*-cloud-amd64 .deb to use instead of apt-get download
#   ZC_VM_KERNEL_PKG  kernel package to download (default: what linux-image-cloud-amd64 depends on)
#   ZC_VM_SMP       guest CPUs (default 2)       ZC_VM_MEM  guest memory (default 512M)
#   ZC_VM_TIMEOUT   seconds before the guest is killed, whatever happens (default 180)
#   ZC_VM_BOOT_TIMEOUT  seconds to wait for the server to answer (default 60)
#   ZC_VM_KEEP=1    keep the work directory (console log, initramfs) after the run
#   ZC_VM_EXTRA     more host programs to copy into the guest (with their libraries)
#   ZC_VM_ACCEL     kvm or tcg: force the accelerator (default: chosen by a
#                   KVM boot probe, see vm_pick_accel)
#   ZC_VM_QEMU      the qemu-system-x86_64 to run (default: from PATH)
#   ZC_VM_KVM_PROBE_TIMEOUT  seconds for the probe guest's marker (default 15)
#   ZC_VM_KVM_BOOT_TIMEOUT   seconds a probed KVM guest gets to answer before
#                   the boot falls back to TCG (default 30)
#
# Use from a script:
#   . tests/vm/vmlib.sh
#   vm_prepare || exit $?           # 77 when qemu/kernel/busybox are unobtainable
#   vm_boot SNIPPET_FILE || exit $? # boots; sets ZC_VM_HTTP ZC_VM_HTTPS ZC_VM_CTL ...
#   ... curl "$ZC_VM_HTTP/f4096" ...; vm_sh 'cat /proc/net/tls_stat'
#   vm_stop
#
# Guest layout: /etc/zcserve/zcserve.conf is a base configuration (listen
# 0.0.0.0:8080, root ../../www = /www, status_path $ZC_VM_STATUS) followed by
# the snippet verbatim. Relative paths in the snippet are taken from
# /etc/zcserve, which also holds cert.pem and key.pem (self-signed, CN
# localhost), so "tls_certificate cert.pem;" works both in the guest and for
# "zcserve -t" on the host (vm_test_config). Host ports are forwarded to the
# guest's 8080 (ZC_VM_HTTP), 8443 (ZC_VM_HTTPS) and 9000 (ZC_VM_CTL, a
# busybox httpd whose /cgi-bin/sh runs the POSTed shell script as root).

ZC_VM_STATUS=/zcserve-status
# name:size pairs of the files served from /www (random content).
ZC_VM_FILESPEC="f0:0 f1:1 f4095:4095 f4096:4096 f4097:4097 f65536:65536 f1m7:1048583 f20m:20971520"
ZC_VM_FILES=""
for _s in $ZC_VM_FILESPEC; do ZC_VM_FILES="$ZC_VM_FILES ${_s%%:*}"; done
ZC_VM_FILES=${ZC_VM_FILES# }
ZC_VM_LARGE_FILES="f1m7 f20m"
ZC_VM_SMALL_FILES="f0 f1 f4095 f4096 f4097 f65536"

vm_log() { echo "vm: $*"; }
vm_skip() { echo "SKIP: $*"; return 77; }
vm_err() { echo "ERROR: $*"; return 99; }

vm_now() { date +%s; }

# Absolute cache directory.
vm_cache_dir() {
	if [ -n "${ZC_VM_CACHE:-}" ]; then
		echo "$ZC_VM_CACHE"
	else
		echo "$(cd "$(dirname "$ZCSERVE")/.." && pwd)/tests/vm/cache"
	fi
}

# vm_locked DIR CMD...: run CMD with DIR/.lock held (flock when available), so
# parallel tests (make -j check) do not download the kernel twice.
vm_locked() {
	_ld=$1; shift
	if command -v flock >/dev/null 2>&1; then
		( flock -w 300 9 || exit 99; "$@" ) 9>"$_ld/.lock"
	else
		"$@"
	fi
}

# Unpack one .deb's data into DIR.
vm_unpack_deb() {
	if command -v dpkg-deb >/dev/null 2>&1; then
		dpkg-deb -x "$1" "$2"
	else
		return 1
	fi
}

# Download package $1 into directory $2 with apt-get (as any user).
vm_apt_download() {
	command -v apt-get >/dev/null 2>&1 || return 1
	# A deb that apt already has lying around saves a download.
	for _d in /var/cache/apt/archives/"$1"_*.deb; do
		[ -f "$_d" ] && cp "$_d" "$2/" && return 0
	done
	( cd "$2" && chmod 755 . && timeout 180 apt-get -q download "$1" ) >"$2/apt.log" 2>&1 || {
		sed 's/^/vm:   apt: /' "$2/apt.log"
		return 1
	}
}

# Kernel modules the guest gets: the NIC, kTLS and the crypto it needs (the
# kernel loads gcm, ctr, aesni, chacha20poly1305... on demand through
# busybox modprobe, so every directory of ciphers comes along).
ZC_VM_MODULE_DIRS="drivers/net/vmxnet3 net/tls crypto arch/x86/crypto lib/crypto"

vm_fetch_kernel_locked() {
	_c=$1
	[ -f "$_c/kernel/ready.2" ] && return 0
	_t=$(mktemp -d "$_c/tmp.kernel.XXXXXX") || return 99
	_deb=${ZC_VM_KERNEL_DEB:-}
	if [ -z "$_deb" ]; then
		_pkg=${ZC_VM_KERNEL_PKG:-}
		if [ -z "$_pkg" ]; then
			command -v apt-cache >/dev/null 2>&1 || { rm -rf "$_t"; vm_skip "no apt-cache to find the kernel package (set ZC_VM_KERNEL_DEB)"; return 77; }
			_pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
				sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
			[ -n "$_pkg" ] || { rm -rf "$_t"; vm_skip "apt-cache does not know linux-image-cloud-amd64 (apt-get update? not Debian?)"; return 77; }
		fi
		vm_log "downloading kernel package $_pkg (once; cached in $_c)"
		vm_apt_download "$_pkg" "$_t" || { rm -rf "$_t"; vm_skip "cannot download kernel package $_pkg (offline?)"; return 77; }
		_deb=$(ls "$_t"/*.deb 2>/dev/null | head -n 1)
	fi
	[ -f "$_deb" ] || { rm -rf "$_t"; vm_skip "no kernel package file $_deb"; return 77; }
	vm_unpack_deb "$_deb" "$_t/x" || { rm -rf "$_t"; vm_skip "cannot unpack $_deb (no dpkg-deb?)"; return 77; }
	_vmlinuz=$(ls "$_t"/x/boot/vmlinuz-* 2>/dev/null | head -n 1)
	_mods=$(ls -d "$_t"/x/lib/modules/* "$_t"/x/usr/lib/modules/* 2>/dev/null | head -n 1)
	[ -f "$_vmlinuz" ] && [ -d "$_mods" ] || { rm -rf "$_t"; vm_err "no /boot/vmlinuz-* or /lib/modules/* in $_deb"; return 99; }
	_ver=$(basename "$_mods")
	_md=$_t/kernel/modroot/lib/modules/$_ver
	mkdir -p "$_md"
	cp "$_vmlinuz" "$_t/kernel/vmlinuz"
	echo "$_ver" >"$_t/kernel/version"
	for _m in $ZC_VM_MODULE_DIRS; do
		[ -d "$_mods/kernel/$_m" ] || continue
		mkdir -p "$_md/kernel/$_m" && cp -R "$_mods/kernel/$_m/." "$_md/kernel/$_m/" || return 99
	done
	cp "$_mods"/modules.builtin* "$_mods"/modules.order "$_md/" 2>/dev/null
	# busybox insmod/modprobe may not read compressed modules
	find "$_md" -name '*.ko.xz' -exec xz -d {} + &&
		find "$_md" -name '*.ko.zst' -exec zstd -q --rm -d {} + &&
		find "$_md" -name '*.ko.gz' -exec gzip -d {} + ||
		{ rm -rf "$_t"; vm_err "cannot decompress the kernel modules (xz-utils, zstd?)"; return 99; }
	for _m in vmxnet3 tls; do
		[ -n "$(find "$_md" -name "$_m.ko")" ] || { rm -rf "$_t"; vm_err "kernel package lacks $_m.ko"; return 99; }
	done
	"$_c/busybox" depmod -b "$_t/kernel/modroot" "$_ver" || { rm -rf "$_t"; vm_err "depmod failed"; return 99; }
	echo ok >"$_t/kernel/ready.2"
	rm -rf "$_c/kernel"
	mv "$_t/kernel" "$_c/kernel" && rm -rf "$_t"
	vm_log "kernel $(cat "$_c/kernel/version") cached"
}

vm_is_static() {
	# ldd says "not a dynamic executable" (glibc) or "statically linked".
	! ldd "$1" >/dev/null 2>&1 || ldd "$1" 2>&1 | grep -q 'statically linked'
}

vm_fetch_busybox_locked() {
	_c=$1
	[ -x "$_c/busybox" ] && return 0
	for _b in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null)"; do
		if [ -x "$_b" ] && vm_is_static "$_b"; then
			cp "$_b" "$_c/busybox.tmp" && mv "$_c/busybox.tmp" "$_c/busybox" && return 0
		fi
	done
	_t=$(mktemp -d "$_c/tmp.busybox.XXXXXX") || return 99
	vm_log "no static busybox installed; downloading busybox-static"
	vm_apt_download busybox-static "$_t" &&
		vm_unpack_deb "$(ls "$_t"/*.deb | head -n 1)" "$_t/x" &&
		[ -x "$_t/x/bin/busybox" ] || { rm -rf "$_t"; vm_skip "no static busybox (install busybox-static)"; return 77; }
	mv "$_t/x/bin/busybox" "$_c/busybox" && rm -rf "$_t"
}

# Check the host tools and fill the cache. Returns 0, 77 (skip) or 99.
vm_prepare() {
	[ -n "${ZCSERVE:-}" ] && [ -x "$ZCSERVE" ] || { vm_err "ZCSERVE is not set to the zcserve binary"; return 99; }
	[ "$(uname -m)" = x86_64 ] || { vm_skip "the VM tests need an x86_64 host"; return 77; }
	ZC_VM_QEMU=${ZC_VM_QEMU:-$(command -v qemu-system-x86_64 2>/dev/null)}
	[ -n "$ZC_VM_QEMU" ] || { vm_skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"; return 77; }
	for _t in python3 curl ldd timeout; do
		command -v $_t >/dev/null 2>&1 || { vm_skip "$_t not installed"; return 77; }
	done
	ZC_VM_CACHE=$(vm_cache_dir)
	mkdir -p "$ZC_VM_CACHE" || return 99
	vm_locked "$ZC_VM_CACHE" vm_fetch_busybox_locked "$ZC_VM_CACHE" || return $?
	vm_locked "$ZC_VM_CACHE" vm_fetch_kernel_locked "$ZC_VM_CACHE" || return $?
	return 0
}

# ---- building the guest ----

# Copy host file $1 (following links) to the same path under root $2.
vm_copy_same_path() {
	mkdir -p "$2$(dirname "$1")" && cp -L "$1" "$2$1"
}

vm_write_config() { # ROOT SNIPPET
	mkdir -p "$1/etc/zcserve" "$1/www"
	{
		echo "# generated by tests/vm/vmlib.sh: base configuration, then $2"
		echo "listen 0.0.0.0:8080;"
		echo "root ../../www;"
		echo "status_path $ZC_VM_STATUS;"
		echo "# ---- snippet ----"
		cat "$2"
	} >"$1/etc/zcserve/zcserve.conf"
}

vm_make_cert() { # DIR
	command -v openssl >/dev/null 2>&1 || return 0
	# One key per cache, regenerated daily (the certificate is valid two days).
	_c=$ZC_VM_CACHE
	if [ -z "$(find "$_c/cert.pem" -mmin -1440 2>/dev/null)" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
			-addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
			-keyout "$_c/key.pem.tmp" -out "$_c/cert.pem.tmp" >/dev/null 2>&1 &&
			mv "$_c/key.pem.tmp" "$_c/key.pem" && mv "$_c/cert.pem.tmp" "$_c/cert.pem" ||
			{ vm_log "openssl could not make a certificate"; return 0; }
	fi
	cp "$_c/cert.pem" "$_c/key.pem" "$1/"
}

# vm_test_config SNIPPET: "zcserve -t" on the configuration the guest would
# get; prints its output, returns its status.
vm_test_config() {
	ZC_VM_CACHE=${ZC_VM_CACHE:-$(vm_cache_dir)}
	mkdir -p "$ZC_VM_CACHE" || return 99
	_r=$(mktemp -d "${TMPDIR:-/tmp}/zcvm-t.XXXXXX") || return 99
	vm_write_config "$_r" "$1"
	vm_make_cert "$_r/etc/zcserve"
	"$ZCSERVE" -t -c "$_r/etc/zcserve/zcserve.conf" 2>&1
	_rc=$?
	rm -rf "$_r"
	return $_rc
}

# Write the newc cpio of directory $1 to $2 (uncompressed: the kernel takes
# it as is, and random test files do not compress anyway).
vm_cpio() {
	python3 - "$1" "$2" <<'EOF'
import os, stat, sys
src, out = sys.argv[1], sys.argv[2]
ino = [1000]
def hdr(f, name, mode, size, nlink=1):
    ino[0] += 1
    name = name.encode() + b"\0"
    h = b"070701" + b"".join(b"%08X" % v for v in
        (ino[0], mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name), 0))
    f.write(h + name + b"\0" * (-(len(h) + len(name)) % 4))
with open(out, "wb") as f:
    for d, dirs, files in os.walk(src):
        dirs.sort(); files.sort()
        rel = os.path.relpath(d, src)
        if rel != ".":
            hdr(f, rel, stat.S_IFDIR | 0o755, 0, 2)
        for n in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            p = os.path.join(d, n)
            name = os.path.normpath(os.path.join(rel, n))
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                t = os.readlink(p).encode()
                hdr(f, name, stat.S_IFLNK | 0o777, len(t)); f.write(t + b"\0" * (-len(t) % 4))
            elif stat.S_ISREG(st.st_mode):
                hdr(f, name, stat.S_IFREG | (st.st_mode & 0o7777), st.st_size)
                with open(p, "rb") as g:
                    while True:
                        b = g.read(1 << 20)
                        if not b: break
                        f.write(b)
                f.write(b"\0" * (-st.st_size % 4))
    hdr(f, "TRAILER!!!", 0, 0)
EOF
}

vm_write_init() { # ROOT
	cat >"$1/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "zcvm: kernel $(uname -r), $(nproc) cpus, $(sed -n 's/MemTotal: *//p' /proc/meminfo)"
for m in vmxnet3 tls; do modprobe "$m" || echo "zcvm: modprobe $m failed"; done
ip link set lo up
ifc=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip link set "$ifc" up && ip addr add 10.0.2.15/24 dev "$ifc" &&
	ip route add default via 10.0.2.2 || echo "zcvm: network setup on '$ifc' failed"
echo "zcvm: $ifc driver $(basename "$(readlink /sys/class/net/$ifc/device/driver)"), tcp ulp: $(cat /proc/sys/net/ipv4/tcp_available_ulp)"
httpd -p 9000 -h /vmctl
ulimit -l unlimited
ulimit -n 65536
echo "zcvm: starting zcserve"
/bin/zcserve -c /etc/zcserve/zcserve.conf &
pid=$!
echo "$pid" >/run/zcserve.pid
wait "$pid"
echo "zcvm: zcserve exited with status $?"
[ -e /proc/net/tls_stat ] && cat /proc/net/tls_stat
echo "zcvm: powering off"
sync
poweroff -f
EOF
	chmod 755 "$1/init"
	mkdir -p "$1/vmctl/cgi-bin"
	cat >"$1/vmctl/cgi-bin/sh" <<'EOF'
#!/bin/sh
# POST body = shell script to run; its stdout+stderr come back.
f=/tmp/vmctl.$$
head -c "${CONTENT_LENGTH:-0}" >"$f"
printf 'Content-Type: text/plain\r\n\r\n'
sh "$f" 2>&1
rm -f "$f"
EOF
	chmod 755 "$1/vmctl/cgi-bin/sh"
}

vm_make_files() { # WWWDIR
	for _s in $ZC_VM_FILESPEC; do
		head -c "${_s#*:}" /dev/urandom >"$1/${_s%%:*}" || return 99
	done
}

vm_build_root() { # ROOT SNIPPET
	_r=$1
	mkdir -p "$_r/bin" "$_r/www" "$_r/run" || return 99
	cp "$ZC_VM_CACHE/busybox" "$_r/bin/busybox"
	cp -R "$ZC_VM_CACHE/kernel/modroot/lib" "$_r/"
	cp "$ZCSERVE" "$_r/bin/zcserve"
	# Extra host programs for debugging (ZC_VM_EXTRA="/usr/bin/openssl ..."),
	# at the same paths; shared libraries and the dynamic loader likewise.
	for _p in ${ZC_VM_EXTRA:-}; do
		vm_copy_same_path "$_p" "$_r" || return 99
	done
	for _l in $(ldd "$ZCSERVE" ${ZC_VM_EXTRA:-} 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' | sort -u); do
		vm_copy_same_path "$_l" "$_r" || return 99
	done
	for _f in /etc/ssl/openssl.cnf /usr/lib/ssl/openssl.cnf /etc/mime.types; do
		[ -f "$_f" ] && vm_copy_same_path "$_f" "$_r"
	done
	printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$_r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$_r/etc/group"
	vm_write_config "$_r" "$2"
	vm_make_cert "$_r/etc/zcserve"
	vm_write_init "$_r"
	vm_make_files "$_r/www"
}

# ---- choosing the accelerator ----
#
# KVM when a KVM guest is proven to run, else TCG; ZC_VM_ACCEL=tcg or kvm
# forces one. Neither /dev/kvm opening nor "qemu -accel kvm -S" starting is
# proof: on some hosts (nested virtualisation) a KVM guest starts and then
# never runs: with -cpu host the serial console stays empty, with -cpu max it
# hangs after "Probing EDD". So the probe boots the guest kernel with a tiny
# initramfs whose /init prints a marker, with the same qemu options as the
# real boot, and counts KVM only if the marker reaches the console within
# ZC_VM_KVM_PROBE_TIMEOUT seconds (default 15; a KVM boot takes about 1 s).
# The verdict is cached per host kernel and qemu version
# (ZC_VM_CACHE/accel.KERNEL.QEMUVERSION), so the probe runs once per cache.
#
#   ZC_VM_KVM_DEV   the KVM device to check for access (default /dev/kvm)
#   ZC_VM_KVM_PROBE_TIMEOUT   seconds the probe guest has to print its marker

# The options every boot shares: the probe must test what the tests will run.
vm_qemu_base() { # ACCEL
	_cpu=max
	[ "$1" = kvm ] && _cpu=host
	echo "-nodefaults -no-user-config -display none -accel $1 -cpu $_cpu -smp ${ZC_VM_SMP:-2} -m ${ZC_VM_MEM:-512M} -no-reboot"
}

# The cache file for this host kernel and this qemu binary's version.
vm_accel_cache_file() {
	_qv=$("$ZC_VM_QEMU" --version 2>/dev/null | head -n 1 | tr -c 'A-Za-z0-9.\n' '_')
	echo "$ZC_VM_CACHE/accel.$(uname -r).${_qv:-unknown}"
}

# vm_kvm_boots: 0 when a KVM guest prints the marker in time. Needs the
# kernel and busybox in ZC_VM_CACHE (vm_prepare).
vm_kvm_boots() {
	_p=$(mktemp -d "${TMPDIR:-/tmp}/zcvm-probe.XXXXXX") || return 1
	mkdir -p "$_p/root/bin"
	cp "$ZC_VM_CACHE/busybox" "$_p/root/bin/busybox" || { rm -rf "$_p"; return 1; }
	# The marker is computed, so that it cannot appear on the console merely
	# because the kernel echoed its command line or the script.
	printf '#!/bin/busybox sh\n/bin/busybox echo "ZCVM-PROBE-$((40 + 2))"\n/bin/busybox poweroff -f\n' >"$_p/root/init"
	chmod 755 "$_p/root/init"
	vm_cpio "$_p/root" "$_p/initrd.cpio" || { rm -rf "$_p"; return 1; }
	: >"$_p/console"
	# shellcheck disable=SC2046
	"$ZC_VM_QEMU" $(vm_qemu_base kvm) \
		-kernel "$ZC_VM_CACHE/kernel/vmlinuz" -initrd "$_p/initrd.cpio" \
		-append "console=ttyS0 quiet panic=-1 zcvm.probe=1" \
		-serial "file:$_p/console" >"$_p/qemu.log" 2>&1 &
	_pid=$!
	# counted in 0.2 s steps: whole seconds of date +%s would cut the
	# deadline short by up to a second
	_steps=$((${ZC_VM_KVM_PROBE_TIMEOUT:-15} * 5))
	_ok=1
	while :; do
		if grep -q 'ZCVM-PROBE-42' "$_p/console" 2>/dev/null; then
			_ok=0
			break
		fi
		if ! kill -0 "$_pid" 2>/dev/null; then
			# the guest powers off right after its marker: look once more
			grep -q 'ZCVM-PROBE-42' "$_p/console" 2>/dev/null && _ok=0
			break
		fi
		_steps=$((_steps - 1))
		[ "$_steps" -le 0 ] && break
		sleep 0.2
	done
	if [ $_ok != 0 ]; then
		if kill -0 "$_pid" 2>/dev/null; then
			vm_log "KVM probe: no marker on the guest console within ${ZC_VM_KVM_PROBE_TIMEOUT:-15} s" >&2
		else
			vm_log "KVM probe: qemu exited without the marker: $(head -n 1 "$_p/qemu.log")" >&2
		fi
	fi
	kill "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	rm -rf "$_p"
	return $_ok
}

vm_pick_accel() {
	if [ -n "${ZC_VM_ACCEL:-}" ]; then
		echo "$ZC_VM_ACCEL"
		return
	fi
	_dev=${ZC_VM_KVM_DEV:-/dev/kvm}
	[ -r "$_dev" ] && [ -w "$_dev" ] || { echo tcg; return; }
	_f=$(vm_accel_cache_file)
	if [ ! -s "$_f" ]; then
		_t0=$(vm_now)
		if vm_kvm_boots; then echo kvm; else echo tcg; fi >"$_f"
		vm_log "accelerator: $(cat "$_f") (KVM boot probe, $(($(vm_now) - _t0)) s; cached in $_f)" >&2
	fi
	cat "$_f"
}

# vm_record_tcg REASON: a KVM guest chosen by the probe failed after all:
# record TCG for this host so that later boots do not try KVM again.
vm_record_tcg() {
	vm_log "KVM guest failed ($1); falling back to TCG, recorded in $(vm_accel_cache_file)"
	echo tcg >"$(vm_accel_cache_file)"
}

# Three free TCP ports on 127.0.0.1.
vm_free_ports() {
	python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}

vm_qemu_alive() { [ -n "${ZC_VM_QEMU_PID:-}" ] && kill -0 "$ZC_VM_QEMU_PID" 2>/dev/null; }

vm_show_console() {
	echo "---- guest console (${ZC_VM_CONSOLE:-}) ----"
	[ -f "${ZC_VM_CONSOLE:-}" ] && tail -n "${1:-60}" "$ZC_VM_CONSOLE" | tr -d '\r'
	echo "---- end of guest console ----"
}

# vm_boot SNIPPET: build the guest, start QEMU, wait for zcserve to answer.
# Exports ZC_VM_HTTP ZC_VM_HTTPS ZC_VM_CTL (URLs), ZC_VM_WWW (host copy of
# the served tree), ZC_VM_WORK, ZC_VM_CONSOLE, ZC_VM_CERT.
vm_boot() {
	[ -f "$1" ] || { vm_err "no snippet file $1"; return 99; }
	ZC_VM_START=$(vm_now)
	ZC_VM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/zcvm.XXXXXX") || return 99
	ZC_VM_WWW=$ZC_VM_WORK/root/www
	ZC_VM_CONSOLE=$ZC_VM_WORK/console.log
	ZC_VM_CERT=$ZC_VM_WORK/root/etc/zcserve/cert.pem
	export ZC_VM_WORK ZC_VM_WWW ZC_VM_CONSOLE ZC_VM_CERT ZC_VM_STATUS ZC_VM_FILES ZC_VM_LARGE_FILES ZC_VM_SMALL_FILES
	vm_build_root "$ZC_VM_WORK/root" "$1" || { vm_err "building the guest tree failed"; return 99; }
	vm_cpio "$ZC_VM_WORK/root" "$ZC_VM_WORK/initrd.cpio" || { vm_err "writing the initramfs failed"; return 99; }
	vm_log "initramfs: $(($(wc -c <"$ZC_VM_WORK/initrd.cpio") / 1048576)) MiB, built in $(($(vm_now) - ZC_VM_START)) s"
	_accel=$(vm_pick_accel)
	while :; do
		vm_start_qemu "$_accel" && vm_wait_up "$_accel" && return 0
		# A KVM that the probe (or its cached verdict) accepted failed after
		# all: fall back to TCG once, and record it, rather than fail the test.
		if [ "$_accel" = kvm ] && [ -z "${ZC_VM_ACCEL:-}" ]; then
			vm_show_console 5
			vm_kill_guest
			vm_record_tcg "$ZC_VM_FAILURE"
			_accel=tcg
			continue
		fi
		cat "$ZC_VM_WORK/qemu.log"
		vm_show_console
		vm_err "$ZC_VM_FAILURE"
		return 99
	done
}

# vm_start_qemu ACCEL: start the guest on free ports; sets ZC_VM_QEMU_PID and
# starts the watchdog. On failure returns 1 with ZC_VM_FAILURE set.
vm_start_qemu() {
	_sq_accel=$1
	_tries=0
	while :; do
		_tries=$((_tries + 1))
		set -- $(vm_free_ports)
		ZC_VM_HTTP=http://127.0.0.1:$1
		ZC_VM_HTTPS=https://127.0.0.1:$2
		ZC_VM_CTL=http://127.0.0.1:$3
		export ZC_VM_HTTP ZC_VM_HTTPS ZC_VM_CTL
		: >"$ZC_VM_CONSOLE"
		# shellcheck disable=SC2046
		"$ZC_VM_QEMU" $(vm_qemu_base "$_sq_accel") \
			-kernel "$ZC_VM_CACHE/kernel/vmlinuz" -initrd "$ZC_VM_WORK/initrd.cpio" \
			-append "console=ttyS0 quiet panic=-1" \
			-serial "file:$ZC_VM_CONSOLE" \
			-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$1-:8080,hostfwd=tcp:127.0.0.1:$2-:8443,hostfwd=tcp:127.0.0.1:$3-:9000" \
			-device vmxnet3,netdev=n0,romfile= \
			>"$ZC_VM_WORK/qemu.log" 2>&1 &
		ZC_VM_QEMU_PID=$!
		sleep 1
		vm_qemu_alive && break
		if grep -q 'hostfwd\|ould not set up host forwarding' "$ZC_VM_WORK/qemu.log" && [ $_tries -lt 3 ]; then
			continue   # lost a race for a port
		fi
		ZC_VM_FAILURE="qemu did not start with $_sq_accel: $(head -n 1 "$ZC_VM_WORK/qemu.log")"
		return 1
	done
	# Whatever happens, the guest dies after ZC_VM_TIMEOUT seconds, or
	# within a second of this shell dying without vm_stop.
	(
		_i=0
		while [ $_i -lt "${ZC_VM_TIMEOUT:-180}" ]; do
			kill -0 "$ZC_VM_QEMU_PID" 2>/dev/null || exit 0
			if ! kill -0 $$ 2>/dev/null; then
				kill "$ZC_VM_QEMU_PID" 2>/dev/null
				[ -n "${ZC_VM_KEEP:-}" ] || { sleep 1; rm -rf "$ZC_VM_WORK"; }
				exit 0
			fi
			sleep 1
			_i=$((_i + 1))
		done
		kill "$ZC_VM_QEMU_PID" 2>/dev/null &&
			echo "vm: TIMEOUT: killed the guest after $_i s"
	) &
	ZC_VM_WATCHDOG_PID=$!
}

# vm_wait_up ACCEL: wait until zcserve in the guest answers. A KVM guest that
# was not forced gets ZC_VM_KVM_BOOT_TIMEOUT (default 30 s; it boots in a
# few) before the caller falls back to TCG. On failure returns 1 with
# ZC_VM_FAILURE set.
vm_wait_up() {
	_limit=${ZC_VM_BOOT_TIMEOUT:-60}
	if [ "$1" = kvm ] && [ -z "${ZC_VM_ACCEL:-}" ] && [ "${ZC_VM_KVM_BOOT_TIMEOUT:-30}" -lt "$_limit" ]; then
		_limit=${ZC_VM_KVM_BOOT_TIMEOUT:-30}
	fi
	_deadline=$(($(vm_now) + _limit))
	while :; do
		if curl -sf -o /dev/null --max-time 3 "$ZC_VM_HTTP$ZC_VM_STATUS"; then
			vm_log "guest up after $(($(vm_now) - ZC_VM_START)) s ($1; $(grep -o 'kernel [^,]*' "$ZC_VM_CONSOLE" | head -n 1); $(grep -o '[a-z0-9]* driver [a-z0-9_]*' "$ZC_VM_CONSOLE" | head -n 1))"
			return 0
		fi
		if ! vm_qemu_alive; then
			ZC_VM_FAILURE="the guest stopped before zcserve answered ($1)"
			return 1
		fi
		if [ "$(vm_now)" -ge "$_deadline" ]; then
			ZC_VM_FAILURE="zcserve in the guest did not answer within $_limit s ($1)"
			return 1
		fi
		sleep 0.5
	done
}

# Kill the guest and its watchdog at once (no clean shutdown).
vm_kill_guest() {
	[ -n "${ZC_VM_QEMU_PID:-}" ] && kill "$ZC_VM_QEMU_PID" 2>/dev/null && wait "$ZC_VM_QEMU_PID" 2>/dev/null
	[ -n "${ZC_VM_WATCHDOG_PID:-}" ] && kill "$ZC_VM_WATCHDOG_PID" 2>/dev/null && wait "$ZC_VM_WATCHDOG_PID" 2>/dev/null
	ZC_VM_QEMU_PID= ZC_VM_WATCHDOG_PID=
}

# vm_sh SCRIPT: run a shell script in the guest, print its output.
vm_sh() {
	printf '%s\n' "$1" | curl -sS --max-time 30 --data-binary @- "$ZC_VM_CTL/cgi-bin/sh"
}

# Stop zcserve (SIGTERM, so it logs its exit) and the guest; clean up.
# Only the shell that called vm_boot owns the guest: elsewhere this does nothing.
vm_stop() {
	[ -n "${ZC_VM_QEMU_PID:-}" ] || return 0
	if vm_qemu_alive; then
		vm_sh 'kill $(cat /run/zcserve.pid)' >/dev/null 2>&1
		_i=0
		while vm_qemu_alive && [ $_i -lt 20 ]; do sleep 0.5; _i=$((_i + 1)); done
		vm_qemu_alive && kill "$ZC_VM_QEMU_PID" 2>/dev/null
		wait "$ZC_VM_QEMU_PID" 2>/dev/null
	fi
	if [ -n "${ZC_VM_WATCHDOG_PID:-}" ]; then
		kill "$ZC_VM_WATCHDOG_PID" 2>/dev/null
		wait "$ZC_VM_WATCHDOG_PID" 2>/dev/null
	fi
	ZC_VM_QEMU_PID= ZC_VM_WATCHDOG_PID=
	if [ -n "${ZC_VM_WORK:-}" ] && [ -d "$ZC_VM_WORK" ]; then
		if [ -n "${ZC_VM_KEEP:-}" ]; then
			vm_log "kept $ZC_VM_WORK"
		else
			rm -rf "$ZC_VM_WORK"
		fi
	fi
	ZC_VM_WORK=
}

# ---- checks ----

# vm_json FILE DOTTED.PATH: print the value (JSON-encoded for objects), or
# nothing and status 1 when absent.
vm_json() {
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    if not isinstance(v, dict) or k not in v: sys.exit(1)
    v = v[k]
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2"
}

# vm_status FILE: fetch the status JSON into FILE.
vm_status() {
	curl -sSf --max-time 20 -o "$1" "$ZC_VM_HTTP$ZC_VM_STATUS"
}

# vm_fetch_compare BASEURL OUTDIR "FILE..." [curl options...]: fetch the
# files one after another over one keep-alive connection and compare them
# with the originals. Prints a line per file; returns 1 on any mismatch.
vm_fetch_compare() {
	_base=$1 _out=$2 _files=$3; shift 3
	mkdir -p "$_out"
	_args=""
	for _f in $_files; do _args="$_args $_base/$_f -o $_out/$_f"; done
	rm -f "$_out"/*
	_t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	curl -sS --fail --max-time 120 "$@" $_args || { echo "FAIL: curl failed fetching from $_base"; return 1; }
	_t1=$(date +%s.%N)
	vm_compare "$_out" "$_files" || return 1
	echo "     ($(python3 -c "print('%.2f' % ($_t1 - $_t0))") s)"
}

# vm_compare DIR "FILE...": compare fetched copies with the originals.
vm_compare() {
	_bad=0
	for _f in $2; do
		if [ -f "$1/$_f" ] && cmp -s "$ZC_VM_WWW/$_f" "$1/$_f"; then
			echo "ok   $_f ($(wc -c <"$1/$_f") bytes, sha256 $(sha256sum <"$1/$_f" | cut -c1-16))"
		else
			echo "FAIL $_f differs: want sha256 $(sha256sum <"$ZC_VM_WWW/$_f" | cut -c1-16) ($(wc -c <"$ZC_VM_WWW/$_f") bytes), got $(sha256sum <"$1/$_f" 2>/dev/null | cut -c1-16) ($(wc -c <"$1/$_f" 2>/dev/null) bytes)"
			_bad=1
		fi
	done
	return $_bad
}

# vm_fetch_parallel BASEURL OUTDIR "FILE..." COPIES [curl options...]: fetch
# COPIES of each file at once, each on its own connection, and compare.
vm_fetch_parallel() {
	_base=$1 _out=$2 _files=$3 _n=$4; shift 4
	mkdir -p "$_out"
	rm -f "$_out"/*
	_args="" _all=""
	for _f in $_files; do
		_i=0
		while [ $_i -lt "$_n" ]; do
			_args="$_args $_base/$_f -o $_out/$_f.$_i"
			_all="$_all $_f.$_i"
			_i=$((_i + 1))
		done
	done
	_t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	curl -sS --no-progress-meter --fail --max-time 120 --parallel --parallel-immediate --parallel-max 8 "$@" $_args ||
		{ echo "FAIL: parallel curl failed fetching from $_base"; return 1; }
	_t1=$(date +%s.%N)
	_bad=0
	for _g in $_all; do
		cmp -s "$ZC_VM_WWW/${_g%.*}" "$_out/$_g" || { echo "FAIL $_g (parallel) differs"; _bad=1; }
	done
	[ $_bad = 0 ] && echo "ok   $_n parallel copies each of $_files ($(python3 -c "print('%.2f' % ($_t1 - $_t0))") s)"
	return $_bad
}

# vm_range_compare BASEURL FILE FIRST LAST OUTFILE [curl options...]
vm_range_compare() {
	_base=$1 _f=$2 _a=$3 _b=$4 _o=$5; shift 5
	curl -sS --fail --max-time 60 "$@" -r "$_a-$_b" -o "$_o" "$_base/$_f" || { echo "FAIL: range $_a-$_b of $_f"; return 1; }
	if tail -c +$((_a + 1)) "$ZC_VM_WWW/$_f" | head -c $((_b - _a + 1)) | cmp -s - "$_o"; then
		echo "ok   $_f bytes $_a-$_b"
	else
		echo "FAIL $_f bytes $_a-$_b differ"
		return 1
	fi
}

# vm_size "FILE...": their total size in bytes.
vm_size() {
	_t=0
	for _f in $1; do _t=$((_t + $(wc -c <"$ZC_VM_WWW/$_f"))); done
	echo $_t
}
