#!/bin/sh
# lsm scan's range options (--prefix, --from included, --to excluded,
# --values) on a store, and lsm scan and lsm stats given the mount point of
# a mounted store: they read the mount, while the store directory itself
# stays refused with the lock message.
. "$(dirname "$0")/lib.sh"
need_fuse
need_lsm

# rows KEY VALUE...: the expected lines, "KEY<TAB>VALUE" each
rows() {
	while [ $# -ge 2 ]; do
		printf '%s\t%s\n' "$1" "$2"
		shift 2
	done
}

# scan ARGS...: runs lsm scan ARGS, failing on a nonzero status, and sets
# $got to its output (not in a $(...) subshell, where fail would not stop
# the test)
scan() {
	"$LSM" scan "$@" >"$TESTDIR/out" || fail "lsm scan $* failed"
	got=$(cat "$TESTDIR/out")
}

# expect_scan WANT ARGS...: lsm scan ARGS prints exactly WANT
expect_scan() {
	want=$1
	shift
	scan "$@"
	expect_eq "$got" "$want" "lsm scan $*"
}

# usage_error MSG ARGS...: lsm ARGS must exit 2, saying MSG on stderr
usage_error() {
	msg=$1
	shift
	st=0
	"$LSM" "$@" >/dev/null 2>"$TESTDIR/err" || st=$?
	expect_eq "$st" 2 "exit status of 'lsm $*'"
	grep -qF -- "$msg" "$TESTDIR/err" ||
		fail "'lsm $*' said '$(cat "$TESTDIR/err")', want '$msg'"
}

# --- offline: keys from lsm load and lsm put --------------------------------
# "a" is a directory: its keys sort as "a/...", after "a-b" and "a.b"
printf 'a-b\t2\na.b\t5\na/x\t3\na/y/z\t4\na0\tq\nb\ttab\there\\x\nc/d\tend\n' |
	"$LSM" load "$DATA" >/dev/null || fail "lsm load"
"$LSM" put "$DATA" "$(printf 'k\001')" v || fail "lsm put k^A"
"$LSM" put "$DATA" nl "$(printf 'two\nlines')" || fail "lsm put nl"

expect_scan "$(rows a-b 1 a.b 1 a/x 1 a/y/z 1 a0 1 b 10 c/d 3 'k\x01' 1 \
	nl 9)" "$DATA"
expect_scan "$(rows a-b 2 a.b 5 a/x 3 a/y/z 4 a0 q b 'tab\there\\x' c/d end \
	'k\x01' v nl 'two\nlines')" --values "$DATA"

# --from is included, --to excluded
expect_scan "$(rows a/x 1)" --from a/ --to a/y/z "$DATA"
expect_scan "$(rows a/x 1 a/y/z 1)" --from a/x --to a/y/z0 "$DATA"
expect_scan "$(rows a-b 1 a.b 1)" --to a/ "$DATA"
# directory "a" is before "a-c" by name but its keys are after it
expect_scan "$(rows a.b 1 a/x 1 a/y/z 1 a0 1 b 10 c/d 3 'k\x01' 1 nl 9)" \
	--from a-c "$DATA"
expect_scan "$(rows b 'tab\there\\x' c/d end)" --from b --to c/e --values \
	"$DATA"
expect_scan "$(rows 'k\x01' 1)" --from "$(printf 'k\001')" --to nl "$DATA"
expect_scan "" --from b --to b "$DATA"
expect_scan "" --from c --to b "$DATA"
expect_scan "" --from zz "$DATA"

# --prefix, and PREFIX its synonym
expect_scan "$(rows a/x 1 a/y/z 1)" --prefix a/ "$DATA"
expect_scan "$(rows a/x 1 a/y/z 1)" "$DATA" a/
expect_scan "$(rows a/x 1 a/y/z 1)" --prefix a/ "$DATA" a/
expect_scan "$(rows a-b 1 a.b 1 a/x 1 a/y/z 1 a0 1)" --prefix a "$DATA"
expect_scan "$(rows a/y/z 1 a0 1)" --prefix a --from a/y "$DATA"
expect_scan "$(rows a/x 1)" --prefix a/ --to a/y "$DATA"
expect_scan "$(rows c/d end)" --prefix=c/ --values "$DATA"
expect_scan "" --prefix nothing/ "$DATA"

usage_error "--prefix 'a/' and PREFIX 'b' differ" scan --prefix a/ "$DATA" b
usage_error "options come before DATADIR" scan "$DATA" --values
usage_error "unknown option '--bogus'" scan --bogus "$DATA"
usage_error "usage: lsm scan" scan "$DATA" a b
usage_error "usage: lsm scan" scan --to
"$LSM" scan --help | grep -q -- '--to=K' || fail "lsm scan --help lacks --to"

# --- a live mount: lsm scan/stats MOUNTPOINT -------------------------------
mount_fs
mkdir -p "$MNT/m/d/e" "$MNT/m/empty"
printf 1 >"$MNT/m/a"
printf 'x\ty' >"$MNT/m/d-g"
printf 22 >"$MNT/m/d/e/f"
ln "$MNT/m/a" "$MNT/m/d/hard"
ln -s a "$MNT/m/sym"
truncate -s 3 "$MNT/m/hole"

# the store itself is still refused while mounted
expect_errno "the store is in use (is it mounted?)" "$LSM" scan "$DATA"
expect_errno "the store is in use (is it mounted?)" "$LSM" stats "$DATA"

scan "$MNT"
mounted_all=$got
expect_eq "$mounted_all" "$(rows a-b 1 a.b 1 a/x 1 a/y/z 1 a0 1 b 10 c/d 3 \
	'k\x01' 1 m/a 1 m/d-g 3 m/d/e/f 2 m/d/hard 1 m/hole 3 nl 9)" \
	"scan of the mount"
scan --prefix m/ --values "$MNT"
mounted_m=$got
expect_eq "$mounted_m" "$(rows m/a 1 m/d-g 'x\ty' m/d/e/f 22 m/d/hard 1 \
	m/hole '\x00\x00\x00')" "scan --prefix m/ --values of the mount"
expect_scan "$(rows m/d-g 3 m/d/e/f 2)" --from m/d- --to m/d/hard "$MNT"
expect_scan "$(rows a.b 1 a/x 1 a/y/z 1 a0 1)" --from a-c --to b "$MNT"
expect_scan "$(rows a/x 1 a/y/z 1)" "$MNT" a/
usage_error "--prefix 'a' and PREFIX 'b' differ" scan --prefix a "$MNT" b

# lsm stats MOUNTPOINT is the text of .lsm/; its counters may move between
# two reads of a live mount, so a difference gets a few more tries
same_stats() {
	for _ in 1 2 3 4 5; do
		"$LSM" stats "$@" >"$TESTDIR/got" || fail "lsm stats $* failed"
		want_stats >"$TESTDIR/want"
		cmp -s "$TESTDIR/got" "$TESTDIR/want" && return 0
		sleep 0.2
	done
	diff "$TESTDIR/want" "$TESTDIR/got" >&2
	fail "lsm stats $* differs from the files of .lsm/"
}
want_stats() {
	cat "$MNT/.lsm/levels/summary"
	echo
	cat "$MNT/.lsm/stats"
}
same_stats "$MNT"
want_stats() { cat "$MNT/.lsm/stats.json"; }
same_stats --json "$MNT"
want_stats() { cat "$MNT/.lsm/metrics.prom"; }
same_stats --prometheus "$MNT"
"$LSM" stats "$MNT" | head -n 1 >"$TESTDIR/head"
"$LSM" stats --json "$MNT" | grep -q '"memtable_bytes"' ||
	fail "lsm stats --json of the mount lacks memtable_bytes"
unmount_fs

# offline again: the store lists what the mount listed
expect_scan "$mounted_all" "$DATA"
expect_scan "$mounted_m" --prefix m/ --values "$DATA"
expect_eq "$("$LSM" stats "$DATA" | head -n 1)" "$(cat "$TESTDIR/head")" \
	"the level table's header, offline and mounted"
expect_errno "no store there" "$LSM" scan "$MNT"
echo "t0115: ok"
