#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Checks the libexecutor man pages (run by `make -C man check`):
#  1. every public function and function-like macro declared in the installed headers
#     (lib/include/executor/*.h) has a page man3/NAME.3, a real one or a .so link;
#  2. every .so link names a page that exists;
#  3. every page renders with `groff -man -ww -z` without a single warning;
#  4. with MAN_PAGES set (the pages make installs), every page in man3/ and man7/ is installed.
#
# Usage: check-man3.sh [SRCDIR [HEADERDIR]]
#   SRCDIR    the man/ source directory (default: this script's directory)
#   HEADERDIR the public headers (default: SRCDIR/../lib/include/executor)
# Exit status: 0 all good, 1 a check failed, 77 skipped (groff missing).
#
# Why a declaration parser and not `nm`: the check must see the static inline helpers and the
# function-like macros too (they have no symbol), and must run before the library is built.

set -u

srcdir=${1:-$(dirname "$0")}
hdrdir=${2:-$srcdir/../lib/include/executor}

if ! command -v groff >/dev/null 2>&1; then
	echo "check-man3: SKIP: groff is not installed (Debian: apt-get install groff-base)"
	exit 77
fi

fail=0
err() {
	echo "check-man3: FAIL: $*" >&2
	fail=1
}

set -- "$hdrdir"/*.h
if [ ! -f "$1" ]; then
	err "no headers found in $hdrdir"
	exit 1
fi

# Names declared in the headers. The awk program strips comments (doc comments are full of
# example calls), skips the C++ guards and the bodies of multi-line macros, and splits what is
# left into top-level declarations (ending in ';' or '{' at brace depth 0). A declaration's name
# is its first identifier followed by '(' (typedefs are skipped: `ex_poll_t (*ex_poll_fn)(...)`
# declares a type, not a function). A function-like macro is `#define NAME(` with no space.
# Internal names (ex__*, EX__*) are left out; only ex_*/EX_* are public.
names=$(awk '
function take(stmt,   s, id) {
	s = stmt
	sub(/^[ \t]+/, "", s)
	if (s ~ /^typedef[ \t]/)
		return
	while (match(s, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
		id = substr(s, RSTART, RLENGTH)
		sub(/[ \t]*\($/, "", id)
		if (id != "__attribute__") {
			print id
			return
		}
		s = substr(s, RSTART + RLENGTH)
	}
}
FNR == 1 { incomment = 0; cont = 0; cxx = 0; depth = 0; stmt = "" }
{
	line = $0
	out = ""
	while (line != "") {
		if (incomment) {
			i = index(line, "*/")
			if (i == 0) { line = ""; break }
			line = substr(line, i + 2)
			incomment = 0
		} else {
			i = index(line, "/*")
			j = index(line, "//")
			if (j > 0 && (i == 0 || j < i)) { out = out substr(line, 1, j - 1); line = ""; break }
			if (i == 0) { out = out line; line = ""; break }
			out = out substr(line, 1, i - 1) " "
			line = substr(line, i + 2)
			incomment = 1
		}
	}
	# the body of a multi-line macro: not a declaration
	if (cont) {
		cont = (out ~ /\\[ \t]*$/)
		next
	}
	if (out ~ /^[ \t]*#/) {
		cont = (out ~ /\\[ \t]*$/)
		if (out ~ /^[ \t]*#[ \t]*ifdef[ \t]+__cplusplus/) { cxx = 1; next }
		if (cxx && out ~ /^[ \t]*#[ \t]*endif/) { cxx = 0; next }
		if (match(out, /^[ \t]*#[ \t]*define[ \t]+[A-Za-z_][A-Za-z0-9_]*\(/)) {
			id = substr(out, RSTART, RLENGTH - 1)
			sub(/^[ \t]*#[ \t]*define[ \t]+/, "", id)
			print id
		}
		next
	}
	if (cxx)
		next
	n = length(out)
	for (k = 1; k <= n; k++) {
		c = substr(out, k, 1)
		if (c == "{") {
			if (depth == 0) { take(stmt); stmt = "" }
			depth++
		} else if (c == "}") {
			depth--
		} else if (depth == 0) {
			if (c == ";") { take(stmt); stmt = "" } else stmt = stmt c
		}
	}
	if (depth == 0)
		stmt = stmt " "
}
' "$@" | grep -E '^(ex|EX)_' | grep -Ev '^(ex|EX)__' | sort -u)

count=$(printf '%s\n' "$names" | grep -c .)
if [ "$count" -lt 10 ]; then
	err "only $count public names found in $hdrdir: the header parser is broken"
	exit 1
fi

# 1. a page for every public name
for n in $names; do
	[ -f "$srcdir/man3/$n.3" ] || err "$n is declared in $hdrdir but has no page man3/$n.3"
done

# 2 and 3. .so targets exist; every page renders without warnings. groff resolves .so relative
# to the current directory, as man(1) does from the top of a man tree: run from $srcdir.
cd "$srcdir" || exit 1
pages=0
for p in man3/*.3 man7/*.7; do
	[ -f "$p" ] || continue
	pages=$((pages + 1))
	so=$(sed -n 's/^\.so[ \t][ \t]*//p' "$p")
	if [ -n "$so" ]; then
		[ -f "$so" ] || err "$p links to $so, which does not exist"
		[ "$(grep -c . "$p")" -eq 1 ] || err "$p: a .so link page must hold only the .so line"
		continue
	fi
	# -ww: all warnings; -z: no output. Any message on stderr is a failure.
	msg=$(groff -man -ww -z "$p" 2>&1) || err "$p: groff failed"
	[ -z "$msg" ] || err "$p: groff warns: $msg"
	grep -q '^\.SH NAME' "$p" || err "$p: no NAME section"
	grep -q '^\.SH SEE ALSO' "$p" || err "$p: no SEE ALSO section"
done

# 4. every page is installed (make passes the lists of dist_man3_MANS and dist_man7_MANS)
if [ -n "${MAN_PAGES:-}" ]; then
	for p in man3/*.3 man7/*.7; do
		[ -f "$p" ] || continue
		case " $MAN_PAGES " in
		*" $p "*) ;;
		*) err "$p is not listed in man/Makefile.am (dist_man3_MANS or dist_man7_MANS)" ;;
		esac
	done
fi

if [ "$fail" -ne 0 ]; then
	exit 1
fi
echo "check-man3: $count public names, all with a page; $pages pages render without warnings"
exit 0
