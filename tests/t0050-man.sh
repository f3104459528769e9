#!/bin/sh
# The man pages: every page in man/ passes `mandoc -T lint -W warning` (and
# `groff -ww -z`) silently; every option that `lsmfs --help`, `lsm --help`,
# `lsm help CMD` and `mount.lsmfs --help` print is in the matching page,
# with its default where the help gives one; each lsm command has its own
# subsection whose synopsis matches its usage line; the example of lsm(3)
# is tests/example.c; every page a page refers to exists. README.md's
# tables list every lsmfs option (with its default) and lsm command.
. "$(dirname "$0")/lib.sh"
need_lsm
[ -x "$LSMFS" ] || fail "lsmfs binary '$LSMFS' not built"
command -v mandoc >/dev/null ||
	fail "mandoc not found (Debian: apt-get install mandoc)"

SRC=${top_srcdir:-$(dirname "$0")/..}
MAN=$SRC/man
errors=0
err() {
	echo "FAIL: $TEST_NAME: $*" >&2
	errors=$((errors + 1))
}

pages=$(ls "$MAN"/*.[1-8] 2>/dev/null) || fail "no man pages in $MAN"
for p in lsmfs.1 lsm.1 lsm.3 lsmfs.5 mount.lsmfs.8; do
	[ -f "$MAN/$p" ] || err "man/$p is missing"
done

# --- lint -------------------------------------------------------------------
for p in $pages; do
	out=$(mandoc -T lint -W warning "$p" 2>&1) || true
	[ -z "$out" ] || err "mandoc -T lint -W warning $p: $out"
	if command -v groff >/dev/null; then
		out=$(groff -man -ww -z "$p" 2>&1) || true
		[ -z "$out" ] || err "groff -man -ww -z $p: $out"
	fi
done

# --- rendering helpers --------------------------------------------------------
# render PAGE: plain text, wide, no overstrike
render() {
	mandoc -T ascii -O width=250 "$1" | sed 's/.\x08//g'
}

# section TEXT HEADING: the lines of the subsection (.SS, indent 3) or
# section (.SH, indent 0) called HEADING, up to the next heading
section() {
	printf '%s\n' "$1" | awk -v h="$2" '
		on && /^(   )?[^ ]/ { exit }
		on { print }
		$0 == h || $0 == "   " h { on = 1 }'
}

# item TEXT REGEX: the first tagged paragraph (.TP, tag at indent 7) whose
# tag line matches REGEX, tag and body
item() {
	printf '%s\n' "$1" | awk -v re="$2" '
		on && /^ {0,7}[^ ]/ { exit }
		on { print; next }
		/^       [^ ]/ && $0 ~ re { on = 1; print }'
}

# has TEXT WORD: WORD occurs in TEXT, not as part of a longer option or word
has() {
	printf '%s\n' "$1" | tr -s ' \t' '  ' |
		grep -Eq -- "(^|[^A-Za-z0-9_-])$(printf '%s' "$2" |
			sed 's/[].[^$*+?(){}|\\]/\\&/g')([^A-Za-z0-9_-]|\$)"
}

# options TEXT: the -x, --long and "-o name" options of help lines (lines
# that start, after blanks, with "-")
options() {
	printf '%s\n' "$1" | grep -E '^[[:space:]]+-' |
		grep -Eo -- '(^|[ ,])(-o [a-z0-9_]+|--?[A-Za-z][A-Za-z0-9_-]*)' |
		sed 's/^[ ,]*//' | sort -u
}

# defaults TEXT: "OPTION<TAB>DEFAULT" for each help option line (joined with
# its continuation lines) that names a default: "(default X)",
# "(default: X)" or a final one-word "(X)"
defaults() {
	printf '%s\n' "$1" | awk '
		function flush() {
			if (opt == "")
				return
			d = ""
			if (match(text, /\(default:? [^);,]+/)) {
				d = substr(text, RSTART, RLENGTH)
				sub(/^\(default:? /, "", d)
			} else if (match(text, /\([^ ()]+\)$/)) {
				d = substr(text, RSTART + 1, RLENGTH - 2)
			}
			if (d != "")
				printf "%s\t%s\n", opt, d
			opt = ""
		}
		/^[ \t]+-/ {
			flush()
			text = $0
			sub(/^[ \t]+/, "", text)
			if (match(text, /-o [a-z0-9_]+/))
				opt = substr(text, RSTART + 3, RLENGTH - 3)
			else if (match(text, /--[a-z][a-z0-9-]*/))
				opt = substr(text, RSTART, RLENGTH)
			else if (match(text, /-[A-Za-z]/))
				opt = substr(text, RSTART, RLENGTH)
			next
		}
		/^[ \t]+[^ \t-]/ && opt != "" {
			t = $0
			sub(/^[ \t]+/, " ", t)
			text = text t
			next
		}
		{ flush() }
		END { flush() }' | sed 's/[[:space:]]*$//'
}

# --- lsmfs(1) -----------------------------------------------------------------
help=$("$LSMFS" --help) || err "lsmfs --help failed"
page=$(render "$MAN/lsmfs.1")
opts=$(options "$help")
[ -n "$opts" ] || err "no options found in lsmfs --help"
for o in $(printf '%s\n' "$opts" | sed 's/^-o /-o:/'); do
	case $o in
	-o:*) has "$page" "${o#-o:}" || err "lsmfs.1 lacks option -o ${o#-o:}" ;;
	*) has "$page" "$o" || err "lsmfs.1 lacks option $o" ;;
	esac
done
printf '%s\n' "$(defaults "$help")" | while IFS='	' read -r o d; do
	[ -n "$o" ] || continue
	case $o in -*) re="(^|[ ,])$o([=, ]|\$)" ;; *) re="-o $o([=, ]|\$)" ;; esac
	it=$(item "$page" "$re")
	if [ -z "$it" ]; then
		echo "FAIL: $TEST_NAME: lsmfs.1 has no item for option $o" >&2
		echo x >>"$TESTDIR/deferrors"
	elif ! has "$it" "$d"; then
		echo "FAIL: $TEST_NAME: lsmfs.1: option $o lacks its default '$d'" >&2
		echo x >>"$TESTDIR/deferrors"
	fi
done

# README.md's table of lsmfs options: a row per option, with its default
readme=$SRC/README.md
own=$(printf '%s\n' "$help" | sed -n '/^lsmfs options:/,/^$/p')
[ -n "$own" ] || err "no 'lsmfs options:' block in lsmfs --help"
printf '%s\n' "$own" | grep -Eo -- '-o [a-z0-9_]+' | sed 's/^-o //' |
	while read -r o; do
		grep -q "^| \`-o ${o}[=\`]" "$readme" || {
			echo "FAIL: $TEST_NAME: README.md has no row for -o $o" >&2
			echo x >>"$TESTDIR/deferrors"
		}
	done
printf '%s\n' "$(defaults "$own")" | while IFS='	' read -r o d; do
	[ -n "$o" ] || continue
	grep "^| \`-o ${o}[=\`]" "$readme" | grep -qF "| \`$d\` |" || {
		echo "FAIL: $TEST_NAME: README.md: -o $o lacks its default '$d'" >&2
		echo x >>"$TESTDIR/deferrors"
	}
done

# --- lsm(1) -------------------------------------------------------------------
help=$("$LSM" --help) || err "lsm --help failed"
page=$(render "$MAN/lsm.1")
for o in --help --version; do
	has "$page" "$o" || err "lsm.1 lacks option $o"
done
cmds=$(printf '%s\n' "$help" | awk '
	/^Commands:/ { on = 1; next }
	on && /^  [a-z]/ { print $1; next }
	on && /^$/ && n++ { exit }')
[ -n "$cmds" ] || err "no commands found in lsm --help"
for c in $cmds; do
	grep -q "^| \`lsm ${c}[ \`]" "$readme" ||
		err "README.md's table of lsm commands lacks '$c'"
done
for c in $cmds help; do
	sec=$(section "$page" "$c")
	if [ -z "$sec" ]; then
		err "lsm.1 has no subsection for command '$c'"
		continue
	fi
	[ "$c" = help ] && continue
	chelp=$("$LSM" help "$c") || {
		err "lsm help $c failed"
		continue
	}
	# the synopsis: "usage: lsm CMD ARGS" is the subsection's first line,
	# ignoring case and blanks
	want=$(printf '%s\n' "$chelp" | sed -n 's/^usage: //p' | head -n 1 |
		tr -d ' \t' | tr '[:upper:]' '[:lower:]')
	got=$(printf '%s\n' "$sec" | grep -m1 "lsm $c" | tr -d ' \t' |
		tr '[:upper:]' '[:lower:]')
	[ "$want" = "$got" ] ||
		err "lsm.1 synopsis of '$c' is '$got', usage says '$want'"
	for o in $(options "$chelp"); do
		has "$sec" "$o" || err "lsm.1 lacks option $o of 'lsm $c'"
	done
	printf '%s\n' "$(defaults "$chelp")" | while IFS='	' read -r o d; do
		[ -n "$o" ] || continue
		it=$(item "$sec" "(^|[ ,])$o([=, ]|\$)")
		if [ -z "$it" ]; then
			echo "FAIL: $TEST_NAME: lsm.1 has no item for $o of '$c'" >&2
			echo x >>"$TESTDIR/deferrors"
		elif ! has "$(printf '%s\n' "$it" | tr -s ' \n' '  ')" "$d"; then
			echo "FAIL: $TEST_NAME: lsm.1: $o of '$c' lacks its default '$d'" >&2
			echo x >>"$TESTDIR/deferrors"
		fi
	done
done

# --- mount.lsmfs(8) -----------------------------------------------------------
helper=$SRC/fs/mount.lsmfs
help=$(sh "$helper" --help) || err "mount.lsmfs --help failed"
page=$(render "$MAN/mount.lsmfs.8")
for o in $(options "$help") -h --help -V --version; do
	has "$page" "$o" || err "mount.lsmfs.8 lacks option $o"
done

# --- lsm(3): the example is tests/example.c ------------------------------------
sed -n '/^#include <errno.h>/,$p' "$SRC/tests/example.c" >"$TESTDIR/example.c"
awk '/^\.EX/ && seen { on = 1; next }
	/^\.I tests\/example\.c/ { seen = 1 }
	on && /^\.EE/ { exit }
	on { print }' "$MAN/lsm.3" |
	sed 's/\\e/\\/g; s/\\-/-/g; s/\\(aq/'"'"'/g' >"$TESTDIR/example.3"
[ -s "$TESTDIR/example.c" ] || err "tests/example.c has no #include <errno.h>"
diff -u "$TESTDIR/example.c" "$TESTDIR/example.3" >&2 ||
	err "the example in lsm.3 differs from tests/example.c"

# --- cross references ----------------------------------------------------------
for p in $pages; do
	for ref in $(render "$p" | grep -Eo '(lsm|lsmfs|mount\.lsmfs)\([1-8]\)' |
		sort -u); do
		name=${ref%%(*}
		sec=${ref#*(}
		sec=${sec%)}
		[ -f "$MAN/$name.$sec" ] ||
			err "$(basename "$p") refers to $ref, which is not in man/"
	done
done

[ ! -s "$TESTDIR/deferrors" ] ||
	errors=$((errors + $(wc -l <"$TESTDIR/deferrors")))
[ "$errors" -eq 0 ] || fail "$errors problem(s) in the man pages or README.md"
echo "t0050: ok"
