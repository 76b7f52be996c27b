#!/bin/sh
# tests/sanitize.sh - the unit and integration tests again, against a build
# with AddressSanitizer (LeakSanitizer included) and UndefinedBehaviorSanitizer.
#
# Run by `make check` (a TESTS entry), or by hand from the build tree:
#     sh tests/sanitize.sh
#
# 1. The sources are copied to BUILD/build-san/src: the files git knows
#    (tracked, and untracked ones git does not ignore) when the source tree
#    is a git checkout, else the whole tree minus build outputs; plus the
#    generated configure, Makefile.in, aclocal.m4 and build-aux/. A copy is
#    needed because autoconf refuses a VPATH build from a source tree that
#    is configured in place. Only changed files are copied again, so a
#    second run rebuilds only what changed.
# 2. BUILD/build-san/build is configured from the copy with the original
#    configure arguments plus --enable-sanitizers, and built (make -j).
# 3. `make check` runs there with TESTS set to the unit tests and the
#    integration tests only (no fuzzing smoke, man lint, benchmarks, VM
#    tests, and never this script: ZC_SANITIZE_NESTED stops a recursion).
#    ASAN_OPTIONS has detect_leaks=1: every server the tests stop with
#    SIGTERM runs LeakSanitizer at exit. Reports are written to
#    build-san/reports/ (log_path), so they survive the test harness's
#    temporary directories and killed servers; a sanitizer abort also makes
#    the server exit non-zero, which zctest's Server.stop() fails on.
# 4. The script fails when any test fails or any report file exists, and
#    prints the reports.
#
# Exit 77 (skip) when the compiler cannot build and run a program with
# -fsanitize=address,undefined, or when run nested.
# Environment: ZC_SAN_JOBS (build parallelism, default: number of CPUs),
# ZC_SAN_TESTS (override the test list, e.g. "tests/it/test_http.py").
# Delete BUILD/build-san to reclaim the space (make clean leaves it).

set -u

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

if [ -n "${ZC_SANITIZE_NESTED:-}" ]; then
	skip "already inside a sanitizer run"
fi

here=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${ZC_SRCDIR:-$(dirname "$here")}
SRCDIR=$(cd "$SRCDIR" && pwd)
# the build tree: where make check runs (ZCSERVE is BUILD/src/zcserve)
if [ -n "${ZC_BUILDDIR:-}" ]; then
	BUILD=$ZC_BUILDDIR
elif [ -n "${ZCSERVE:-}" ]; then
	BUILD=$(dirname "$(dirname "$ZCSERVE")")
else
	BUILD=$(pwd)
fi
BUILD=$(cd "$BUILD" && pwd)
[ -f "$BUILD/config.status" ] || fail "$BUILD is not a configured build tree (no config.status)"

MAKE=${ZC_MAKE:-${MAKE:-make}}
command -v "$MAKE" >/dev/null 2>&1 || MAKE="make"
# the makes below are independent builds: nothing of the calling make
# (jobserver, -k, command-line variables such as TESTS=) may leak into them
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
JOBS=${ZC_SAN_JOBS:-$(nproc 2>/dev/null || echo 2)}
SAN=$BUILD/build-san
COPY=$SAN/src
OBJ=$SAN/build
REPORTS=$SAN/reports

# ---- can this compiler sanitize? ----
CC=$(sed -n 's/^CC = //p' "$BUILD/Makefile" | head -n 1)
CC=${CC:-cc}
probe=$(mktemp -d "${TMPDIR:-/tmp}/zc-sanprobe.XXXXXX") || fail "mktemp"
trap 'rm -rf "$probe"' EXIT
cat > "$probe/t.c" <<'EOF'
#include <stdlib.h>
int main(void) { volatile char *p = malloc(4); p[0] = 1; free((void *)p); return 0; }
EOF
if ! $CC -fsanitize=address,undefined -fno-omit-frame-pointer -o "$probe/t" "$probe/t.c" \
	>"$probe/cc.log" 2>&1; then
	skip "$CC cannot build with -fsanitize=address,undefined: $(head -n 3 "$probe/cc.log")"
fi
if ! ASAN_OPTIONS=detect_leaks=1 "$probe/t" >"$probe/run.log" 2>&1; then
	skip "a -fsanitize=address,undefined program does not run here: $(head -n 3 "$probe/run.log")"
fi

mkdir -p "$SAN" || fail "mkdir $SAN"
# keep the whole directory out of `git status` when BUILD is the source tree
[ -f "$SAN/.gitignore" ] || printf '*\n' > "$SAN/.gitignore"

# ---- 1. copy the sources ----
# A file new to the copy keeps its modification time (so the generated
# autotools files stay newer than their inputs); a file whose content
# changed gets the current time (so make rebuilds from it, even when the
# change went back to an older version); files gone from the source go.
echo "sanitize: syncing $SRCDIR to $COPY"
list=$SAN/files.list
if command -v git >/dev/null 2>&1 && git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
	&& [ "$(git -C "$SRCDIR" rev-parse --show-toplevel)" = "$SRCDIR" ]; then
	git -C "$SRCDIR" ls-files -z --cached --others --exclude-standard > "$list.z" \
		|| fail "git ls-files"
	tr '\0' '\n' < "$list.z" > "$list.all"
	for f in configure Makefile.in aclocal.m4; do
		[ -f "$SRCDIR/$f" ] && echo "$f" >> "$list.all"
	done
	[ -d "$SRCDIR/build-aux" ] && (cd "$SRCDIR" && find build-aux -type f) >> "$list.all"
else
	(cd "$SRCDIR" && find . \( -name build-san -o -name .deps -o -name autom4te.cache \
		-o -path ./tests/fuzz/bin -o -name .git \) -prune -o -type f \
		! -name '*.o' ! -name '*.a' ! -name '*.log' ! -name '*.trs' ! -name .dirstamp \
		! -name config.status ! -name Makefile ! -path ./src/zcserve \
		! -path './src/llhttp_*.c' -print | sed 's|^\./||' \
		| grep -v -E '^tests/check_[a-z]+$') > "$list.all"
fi
# never the build tree's own outputs (BUILD may be the source tree)
grep -v -E '^build-san/' "$list.all" | sort -u > "$list"
mkdir -p "$COPY" || fail "mkdir $COPY"
n_new=0
n_changed=0
while IFS= read -r f; do
	src=$SRCDIR/$f
	dst=$COPY/$f
	[ -f "$src" ] || continue            # deleted from the work tree, still in the index
	if [ ! -e "$dst" ]; then
		mkdir -p "$(dirname "$dst")" && cp -p "$src" "$dst" || fail "copying $f"
		n_new=$((n_new + 1))
	elif ! cmp -s "$src" "$dst"; then
		rm -f "$dst" && cp "$src" "$dst" || fail "copying $f"
		n_changed=$((n_changed + 1))
	fi
done < "$list"
(cd "$COPY" && find . -type f | sed 's|^\./||' | sort) > "$list.copy"
comm -13 "$list" "$list.copy" | while IFS= read -r f; do rm -f "$COPY/$f"; done
echo "sanitize: $n_new new, $n_changed changed files"
if [ ! -x "$COPY/configure" ]; then
	echo "sanitize: no configure script: autoreconf -fi in the copy"
	(cd "$COPY" && autoreconf -fi) || fail "autoreconf in $COPY"
fi

# ---- 2. configure and build ----
mkdir -p "$OBJ" || fail "mkdir $OBJ"
if [ ! -f "$OBJ/Makefile" ]; then
	# the original configure arguments, plus the sanitizers
	args=$(cd "$BUILD" && ./config.status --config)
	echo "sanitize: configuring: $COPY/configure $args --enable-sanitizers"
	(cd "$OBJ" && eval "\"$COPY/configure\" $args --enable-sanitizers" > configure.out 2>&1) \
		|| { tail -n 30 "$OBJ/configure.out"; fail "configure --enable-sanitizers"; }
fi
grep -q -- '-fsanitize=address' "$OBJ/Makefile" || fail "$OBJ/Makefile has no -fsanitize flags"
echo "sanitize: building in $OBJ (make -j$JOBS)"
t0=$(date +%s)
(cd "$OBJ" && $MAKE -j"$JOBS" > make.out 2>&1) || { tail -n 40 "$OBJ/make.out"; fail "build"; }
(cd "$OBJ" && $MAKE -j"$JOBS" check TESTS= > make-check-build.out 2>&1) \
	|| { tail -n 40 "$OBJ/make-check-build.out"; fail "building the unit tests"; }
echo "sanitize: built in $(( $(date +%s) - t0 ))s"
nm "$OBJ/src/zcserve" 2>/dev/null | grep -q __asan_init \
	|| fail "$OBJ/src/zcserve is not built with AddressSanitizer"

# ---- 3. the tests ----
if [ -n "${ZC_SAN_TESTS:-}" ]; then
	tests=$ZC_SAN_TESTS
else
	tests=$(cd "$OBJ" && printf 'zc-san-list:\n\t@echo $(UNIT_TESTS) $(IT_TESTS)\n' \
		| $MAKE -s -f Makefile -f - zc-san-list) || fail "listing the tests"
fi
[ -n "$tests" ] || fail "no tests to run"
rm -rf "$REPORTS"
mkdir -p "$REPORTS" || fail "mkdir $REPORTS"
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$REPORTS/asan"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan"
LSAN_OPTIONS="log_path=$REPORTS/lsan"
ZC_SANITIZE_NESTED=1
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS ZC_SANITIZE_NESTED
# shorter load phases in the fault tests (the sanitized server is slower)
ZC_FAULT_SECONDS=${ZC_FAULT_SECONDS:-1.5}
export ZC_FAULT_SECONDS

echo "sanitize: running $(echo $tests | wc -w) test programs against $OBJ/src/zcserve"
t0=$(date +%s)
(cd "$OBJ" && $MAKE check TESTS="$tests" > check.out 2>&1)
rc=$?
echo "sanitize: tests took $(( $(date +%s) - t0 ))s"
grep -E '^(# |FAIL|ERROR|XPASS)' "$OBJ/check.out" | grep -v '^# XFAIL' | sed 's/^/sanitize: /'
status=0
if [ $rc -ne 0 ]; then
	echo "sanitize: failing test logs:"
	for t in $tests; do
		log=$OBJ/${t%.*}.log
		[ -f "$log" ] || continue
		if grep -q '^FAIL' "$log" 2>/dev/null || grep -qE '^:test-result: (FAIL|ERROR)' \
			"$OBJ/${t%.*}.trs" 2>/dev/null; then
			echo "---- $log"
			tail -n 60 "$log"
		fi
	done
	status=1
fi

# ---- 4. sanitizer reports ----
n=$(find "$REPORTS" -type f | wc -l)
if [ "$n" -gt 0 ]; then
	echo "sanitize: $n sanitizer report(s) in $REPORTS:"
	for f in "$REPORTS"/*; do
		echo "---- $f"
		head -n 80 "$f"
	done
	status=1
fi
if [ $status -eq 0 ]; then
	echo "sanitize: PASS: all tests passed under ASan+UBSan, no sanitizer reports (LeakSanitizer ran at every clean server exit)"
fi
exit $status
