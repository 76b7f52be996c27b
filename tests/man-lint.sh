#!/bin/sh
# man-lint.sh - the manual pages must be clean mdoc and must document every
# configuration directive the parser knows (and no other).
#
# Environment (set by "make check"): ZC_SRCDIR, the source tree; MANDOC, the
# mandoc found by configure, empty when there is none.
# Exit: 0 pass, 1 fail, 77 skip (automake's code for a test that cannot run).
set -u
srcdir=${ZC_SRCDIR:-$(dirname "$0")/..}
cd "$srcdir" || { echo "man-lint: cannot cd to ZC_SRCDIR=$srcdir"; exit 1; }
pages="man/zcserve.8 man/zcserve.conf.5"
tmp=${TMPDIR:-/tmp}/zc-man-lint.$$
trap 'rm -f "$tmp".*' EXIT

# Directive names: rows of the cmds[] table in src/config.c, and ".It Ic"
# entries in the DIRECTIVES section of zcserve.conf(5). Checked first and
# without mandoc, so a missing mandoc cannot hide an undocumented directive.
sed -n '/^static const struct cmd cmds\[\] = {/,/^};/p' src/config.c |
	sed -n 's/^[[:space:]]*{ "\([a-z_]*\)",.*/\1/p' | sort >"$tmp.code"
sed -n '/^\.Sh DIRECTIVES/,/^\.Sh /p' man/zcserve.conf.5 |
	sed -n 's/^\.It Ic \([a-z_]*\).*/\1/p' | sort >"$tmp.man"
if [ ! -s "$tmp.code" ]; then
	echo "man-lint: found no directive table in src/config.c"
	exit 1
fi
if ! cmp -s "$tmp.code" "$tmp.man"; then
	echo "man-lint: directives in src/config.c (<) and man/zcserve.conf.5 (>) differ:"
	diff "$tmp.code" "$tmp.man" | grep '^[<>]'
	exit 1
fi
echo "man-lint: all $(wc -l <"$tmp.code") directives documented"

if [ -z "${MANDOC:-}" ]; then
	echo "man-lint: SKIP: MANDOC is not set (configure found no mandoc)"
	exit 77
fi
if ! command -v "$MANDOC" >/dev/null 2>&1; then
	echo "man-lint: SKIP: MANDOC=$MANDOC is not an executable"
	exit 77
fi

# -W warning: every warning or worse fails. Style messages are left out on
# purpose: "referenced manual not found" depends on the pages installed on
# the machine running the test, not on ours.
status=0
for p in $pages; do
	out=$("$MANDOC" -T lint -W warning "$p" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || [ -n "$out" ]; then
		echo "man-lint: $p: mandoc exit $rc"
		[ -n "$out" ] && echo "$out"
		status=1
	else
		echo "man-lint: $p: clean"
	fi
done
exit $status
