#!/bin/bash
# t0040-full-disk.sh - the store on a full disk (issue 9, part 4).
#
# A size-limited tmpfs holds the store and a ballast file placed first.
# KEY<TAB>VALUE lines (2000-byte values that compress poorly, so flushes
# and compactions need real space) go through `lsm load --sync --echo`
# until the disk is full. Then:
#  - the loader failed with ENOSPC, not with corruption or a crash;
#  - while the disk is still full the store either opens and reads, or
#    refuses to open with ENOSPC (recovery writes tables), nothing else;
#  - once the ballast is removed, every acknowledged key reads back with its
#    value, and the keys present are the acknowledged ones plus at most the
#    line in flight;
#  - loading more works, and after that the store reopens intact.
#
# Needs root to mount the tmpfs; exits 77 (skip) only when mounting a tmpfs
# is impossible, saying why. Needs ${top_builddir:-.}/tools/lsm (or $LSM).
# LSM_TEST_DISK_MB (default 32) and LSM_TEST_BALLAST_MB (default 10) size
# the disk; the ballast must hold two memtables (2 x 4 MiB), which is what
# recovery may have to write before it can delete a WAL segment.
set -euo pipefail
export LC_ALL=C

LSM=${LSM:-${top_builddir:-.}/tools/lsm}
DISK_MB=${LSM_TEST_DISK_MB:-32}
BALLAST_MB=${LSM_TEST_BALLAST_MB:-10}
name=$(basename "$0" .sh)

fail() {
	echo "FAIL: $name: $*" >&2
	exit 1
}

[ -x "$LSM" ] || fail "the lsm tool '$LSM' is not built"
case $LSM in /*) ;; *) LSM=$PWD/$LSM ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
mnt=$tmp/mnt
loader=
cleanup() {
	rc=$?
	set +e
	if [ -n "$loader" ]; then
		kill -9 "$loader" 2>/dev/null
		wait "$loader" 2>/dev/null
	fi
	cd /
	if grep -qs " $mnt " /proc/mounts; then
		umount "$mnt" 2>/dev/null || umount -l "$mnt"
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir "$mnt"
if ! mount -t tmpfs -o "size=${DISK_MB}m" tmpfs "$mnt" 2>"$tmp/mount.err"; then
	echo "SKIP: $name: cannot mount a tmpfs (needs root):" \
		"$(cat "$tmp/mount.err")" >&2
	exit 77
fi
store=$mnt/store

# the ballast comes first, so that removing it frees space later
dd if=/dev/zero of="$mnt/ballast" bs=1M count="$BALLAST_MB" status=none ||
	fail "cannot write the ballast"

# Lines of round r: keys rR/000000.. in input order, each value 2000
# letters cut from a 64 KiB random pool (poorly compressible in 4 KiB blocks).
make_input() {
	awk -v r="$1" -v n="$2" 'BEGIN {
		srand(r * 7919 + 1)
		for (j = 0; j < 65536; j++)
			pool = pool sprintf("%c", 97 + int(rand() * 26))
		for (i = 0; i < n; i++)
			printf "r%d/%06d\t%s\n", r, i,
				substr(pool, 1 + int(rand() * 63000), 2000)
	}'
}

# Checks that the keys of round r present in the store are exactly the
# acknowledged ones ($2, a file) plus at most the one in flight, and that a
# sample of them holds the right values.
check_round() {
	r=$1 acked=$2
	"$LSM" scan "$store" "r$r/" >"$tmp/scan" ||
		fail "round $r: scan failed"
	n_acked=$(wc -l <"$acked")
	n_present=$(wc -l <"$tmp/scan")
	[ "$n_present" -ge "$n_acked" ] ||
		fail "round $r: $n_acked keys acknowledged, $n_present present"
	[ "$n_present" -le $((n_acked + 1)) ] ||
		fail "round $r: $n_present keys present, $n_acked acknowledged"
	cmp -s <(cut -f1 "$tmp/scan" | head -n "$n_acked") "$acked" ||
		fail "round $r: the stored keys are not the acknowledged ones"
	awk -F '\t' '$2 != 2000 { print "bad length: " $0; exit 1 }' \
		"$tmp/scan" || fail "round $r: a value has the wrong length"
	{
		tail -n 3 "$acked"
		awk -v step=$(((n_acked + 39) / 40)) 'NR % step == 1' "$acked"
	} | sort -u >"$tmp/sample"
	while read -r key; do
		want=$(grep -m1 "^$key	" "$tmp/in$r" | cut -f2)
		got=$("$LSM" get "$store" "$key") ||
			fail "round $r: acknowledged key $key is missing"
		[ "$got" = "$want" ] || fail "round $r: $key has the wrong value"
	done <"$tmp/sample"
}

# --- round 1: fill the disk ---
make_input 1 30000 >"$tmp/in1"
status=0
"$LSM" load --sync --echo "$store" <"$tmp/in1" >"$tmp/acked1" \
	2>"$tmp/err1" || status=$?
[ "$status" -ne 0 ] ||
	fail "the disk never filled up (${DISK_MB} MiB, 60 MB of input)"
grep -q "No space left on device" "$tmp/err1" || {
	cat "$tmp/err1" >&2
	fail "the loader failed, but not with ENOSPC"
}
n1=$(wc -l <"$tmp/acked1")
[ "$n1" -ge 100 ] || fail "only $n1 keys loaded before the disk was full"
echo "# round 1: $n1 keys acknowledged, then:"
sed 's/^/#   /' "$tmp/err1"

# --- still full: reading works, or opening fails cleanly with ENOSPC ---
key=$(head -n 1 "$tmp/acked1")
if got=$("$LSM" get "$store" "$key" 2>"$tmp/err.full"); then
	want=$(head -n 1 "$tmp/in1" | cut -f2)
	[ "$got" = "$want" ] || fail "read while full: wrong value for $key"
	echo "# while full: the store opens and reads"
else
	grep -q "No space left on device" "$tmp/err.full" || {
		cat "$tmp/err.full" >&2
		fail "opening the full store failed, but not with ENOSPC"
	}
	echo "# while full: opening refused with ENOSPC (recovery writes tables)"
fi

# --- free space: everything acknowledged is there ---
rm -f "$mnt/ballast"
check_round 1 "$tmp/acked1"
echo "# after freeing ${BALLAST_MB} MiB: all $n1 acknowledged keys read back"

# --- loading more works ---
make_input 2 1000 >"$tmp/in2"
"$LSM" load --sync --echo "$store" <"$tmp/in2" >"$tmp/acked2" \
	2>"$tmp/err2" || {
	cat "$tmp/err2" >&2
	fail "loading after freeing space failed"
}
[ "$(wc -l <"$tmp/acked2")" -eq 1000 ] || fail "round 2 stored too little"

# --- and the store reopens intact ---
check_round 2 "$tmp/acked2"
check_round 1 "$tmp/acked1"
all=$("$LSM" scan "$store" | wc -l)
[ "$all" -ge $((n1 + 1000)) ] && [ "$all" -le $((n1 + 1001)) ] ||
	fail "$all keys in the store, want $((n1 + 1000)) (+1)"
echo "# ok: $all keys intact after the disk filled and was freed"
