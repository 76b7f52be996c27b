#!/bin/sh
# fuzz-smoke.sh - run the libFuzzer harnesses briefly and replay every
# regression input; fail on any crash, leak or invariant violation.
#
# Run by `make check` (and, with a longer FUZZ_TIME, by `make fuzz`).
# Exits 77 (skip) with the reason when clang or libFuzzer is not installed.
#
# Environment:
#   FUZZ_SMOKE_TIME  seconds per harness for `make check` (default 12)
#   FUZZ_TIME        overrides FUZZ_SMOKE_TIME (make fuzz passes it)
#   FUZZ_WORK        scratch directory for new corpus entries and crash
#                    files (default: a temporary one, kept only on failure)
#   FUZZ_CC          compiler (default clang)
#   FUZZ_NO_BUILD    set: the harnesses are already built
#   ZC_SRCDIR, ZC_BUILDDIR, ZC_MAKE  set by the Makefile's test environment
set -u

srcdir=${ZC_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${ZC_BUILDDIR:-$srcdir}
fuzzdir=$srcdir/tests/fuzz
bin=${FUZZ_BIN:-$builddir/tests/fuzz/bin}
cc=${FUZZ_CC:-clang}
secs=${FUZZ_TIME:-${FUZZ_SMOKE_TIME:-12}}
harnesses="fuzz_request fuzz_conn fuzz_config fuzz_range"

skip() {
	echo "fuzz-smoke: SKIP: $*"
	exit 77
}

# ---- is there a compiler with libFuzzer and the sanitizers? ----
command -v "$cc" >/dev/null 2>&1 ||
	skip "$cc not found (Debian: apt-get install clang libclang-rt-14-dev)"
probe=$(mktemp -d "${TMPDIR:-/tmp}/zcfuzz-probe-XXXXXX") || exit 99
cat >"$probe/p.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return n > 0 && d[0] == 1; }
EOF
if ! timeout 120 "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" \
	>"$probe/log" 2>&1; then
	sed 's/^/  /' "$probe/log" | head -5
	rm -rf "$probe"
	skip "$cc cannot build a libFuzzer program with ASan/UBSan" \
		"(Debian: apt-get install clang libclang-rt-14-dev)"
fi
rm -rf "$probe"

# ---- build (a no-op when up to date) ----
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
	# A fresh make: the jobserver of the make running the tests is not ours.
	if ! MAKEFLAGS= MFLAGS= timeout 1800 ${ZC_MAKE:-make} -s -C "$builddir" fuzz-build \
		FUZZ_CC="$cc"; then
		echo "fuzz-smoke: FAIL: building the harnesses"
		exit 1
	fi
fi

# ---- scratch space ----
if [ -n "${FUZZ_WORK:-}" ]; then
	work=$FUZZ_WORK
	keep=1
	mkdir -p "$work" || exit 99
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/zcfuzz-XXXXXX") || exit 99
	keep=
fi
# The harnesses build their document roots under TMPDIR.
mkdir -p "$work/tmp" || exit 99
TMPDIR=$work/tmp
export TMPDIR
# abort() on UB (already the compile default) and on ASan errors; leaks on.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

dict_of() {
	case $1 in
	fuzz_request | fuzz_conn) echo "$fuzzdir/http.dict" ;;
	fuzz_config) echo "$fuzzdir/conf.dict" ;;
	fuzz_range) echo "$fuzzdir/range.dict" ;;
	esac
}

# fuzz_conn reads the same input layout as fuzz_request: it takes its seeds
# too (the source tree's path must have no blanks for this)
corpus_of() {
	case $1 in
	fuzz_conn) echo "$fuzzdir/corpus/fuzz_conn $fuzzdir/corpus/fuzz_request" ;;
	*) echo "$fuzzdir/corpus/$1" ;;
	esac
}

failed=
for h in $harnesses; do
	exe=$bin/$h
	if [ ! -x "$exe" ]; then
		echo "fuzz-smoke: FAIL: $exe was not built"
		failed="$failed $h(missing)"
		continue
	fi
	# 1. every regression input, once each (one run per file, so that
	#    every failing one is named)
	for f in $(find "$fuzzdir/regress/$h" -type f ! -name '.*' ! -name 'README*' 2>/dev/null | sort); do
		log=$work/$h.regress.$(basename "$f").log
		if timeout 300 "$exe" -error_exitcode=1 -timeout=10 -rss_limit_mb=1024 "$f" \
			</dev/null >"$log" 2>&1; then
			echo "fuzz-smoke: $h: regress/$h/$(basename "$f"): ok"
			rm -f "$log"
		else
			grep -E 'INVARIANT|runtime error|ERROR: (Address|Leak|libFuzzer)|SUMMARY' "$log" |
				head -n 3 | sed 's/^/  /'
			echo "fuzz-smoke: FAIL: $h: regress/$h/$(basename "$f") (log: $log)"
			failed="$failed $h(regress/$(basename "$f"))"
			keep=1
		fi
	done
	# 2. fuzz from the seed corpus; new inputs go to scratch, never to the
	#    committed corpus (the first directory is the one libFuzzer writes)
	mkdir -p "$work/$h/corpus" || exit 99
	echo "fuzz-smoke: $h: fuzzing for ${secs}s"
	timeout $((secs + 120)) "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
		-dict="$(dict_of $h)" -artifact_prefix="$work/$h/" \
		"$work/$h/corpus" $(corpus_of $h) \
		</dev/null >"$work/$h.log" 2>&1
	rc=$?
	grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)' \
		"$work/$h.log" | sed "s/^/  $h: /"
	if [ $rc -ne 0 ]; then
		tail -n 60 "$work/$h.log"
		echo "fuzz-smoke: FAIL: $h exited $rc; crash input and log under $work/"
		failed="$failed $h"
		keep=1
	fi
done

# the harnesses' own scratch trees (left behind only when one crashed)
rm -rf "$work/tmp"
if [ -n "$failed" ]; then
	echo "fuzz-smoke: FAIL:$failed"
	exit 1
fi
[ -n "$keep" ] || rm -rf "$work"
echo "fuzz-smoke: PASS"
exit 0
