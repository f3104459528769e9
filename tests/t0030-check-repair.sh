#!/bin/sh
# t0030-check-repair.sh - `lsm check` finds a corruption planted in any
# block of an SSTable and `lsm repair` recovers every undamaged key.
#
# A store is built with `lsm load` and `lsm compact` (several tables, each
# of many blocks). Then, for one data block at the start, the middle and the
# end of the biggest table, and for its filter, index and properties blocks
# and its footer, on a fresh copy of the store:
#   - one byte of that block is flipped;
#   - `lsm check` exits 1 and names the table;
#   - `lsm repair` exits 0 and moves the damaged table, unchanged, to lost/;
#   - the entries of every table of the repaired store (key, sequence,
#     type, value length, as `lsm dump-sst` prints them) are all entries of
#     the original store, and include every original entry except those of
#     the damaged data block (damage outside the data blocks loses nothing);
#   - `lsm check` exits 0 again, and when nothing was lost `lsm scan` and
#     `lsm get` give exactly what they gave on the original.
# Also: check on a clean store exits 0, and check and repair refuse to run
# while another process has the store open. No FUSE needed.
. "$(dirname "$0")/lib.sh"
need_lsm

# flip FILE OFFSET: XOR one byte with 0x55
flip() {
	b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
	[ -n "$b" ] || fail "flip: no byte at $2 of $1"
	# shellcheck disable=SC2059
	printf "\\$(printf '%03o' $((b ^ 85)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# entries DIR: every entry of every table in DIR, one per line, sorted
entries() {
	for t in "$1"/*.sst; do
		"$LSM" dump-sst "$t" || fail "dump-sst $t"
	done | grep "^  '" | LC_ALL=C sort -u
}

# ---- the store: three loads, compacted in between ----
for round in 1 2 3; do
	awk -v r=$round 'BEGIN {
		srand(r)
		for (i = 0; i < 1500; i++) {
			v = ""
			n = 20 + int(rand() * 40)
			for (j = 0; j < n; j++)
				v = v sprintf("%c", 97 + int(rand() * 26))
			printf "d%d/f%05d\tr%d-%s\n", i % 5, i + r * 700, r, v
		}
	}' | "$LSM" load "$DATA" >/dev/null || fail "load round $round"
	[ $round -eq 3 ] || "$LSM" compact "$DATA" || fail "compact"
done
# ---- the store lock: a loader waiting on a fifo keeps the store open ----
mkfifo "$TESTDIR/fifo"
"$LSM" load "$DATA" <"$TESTDIR/fifo" >/dev/null &
loader=$!
exec 3>"$TESTDIR/fifo"
# wait until the loader holds LOCK, without competing for it
for _ in $(seq 200); do
	ls -l "/proc/$loader/fd" 2>/dev/null | grep -q "$DATA/LOCK" && break
	sleep 0.05
done
expect_errno "in use" "$LSM" check "$DATA"
expect_errno "in use" "$LSM" repair "$DATA"
exec 3>&-
wait $loader || fail "the loader failed"

# ---- what the original holds ----
# The last command that opens $DATA: it flushes the last load's WAL into
# a table, so every entry is in a table. Opening may start compactions, so
# nothing opens $DATA after the references are taken.
"$LSM" scan "$DATA" >"$TESTDIR/scan.orig" || fail "scan"
SAMPLE="d0/f00700 d3/f01403 d4/f02599 d1/f03196"
for key in $SAMPLE; do
	"$LSM" get "$DATA" "$key" >"$TESTDIR/get.$(echo "$key" | tr / _)" ||
		fail "get $key"
done
nsst=$(ls "$DATA"/*.sst | wc -l)
[ "$nsst" -ge 2 ] || fail "want several tables, have $nsst"
entries "$DATA" >"$TESTDIR/entries.orig"

out=$("$LSM" check "$DATA") || fail "check of a clean store: $out"
case $out in *"0 problems"*) ;; *) fail "check summary: $out" ;; esac
# tables a compaction cut short may be left over (orphans): damage one the
# manifest names
orphans=$(echo "$out" | sed -n "s/^warning: '\([0-9]*\.sst\)'.*/\1/p" | tr "\n" " ")

# ---- damage, check, repair, compare ----
big=
for t in $(ls -S "$DATA"/*.sst); do
	t=$(basename "$t")
	case " $orphans " in *" $t "*) continue ;; esac
	big=$t
	break
done
"$LSM" dump-sst "$DATA/$big" >"$TESTDIR/dump" || fail "dump-sst $big"
nblocks=$(grep -c '^data block' "$TESTDIR/dump")
[ "$nblocks" -ge 8 ] || fail "$big has only $nblocks data blocks"

# offset_of WHAT: where a block starts ("data block 3", "index block", ...)
offset_of() {
	sed -n "s/^$1 at offset \\([0-9]*\\):.*/\\1/p" "$TESTDIR/dump"
}
# size_of WHAT: its stored size
size_of() {
	sed -n "s/^$1 at offset [0-9]*: stored \\([0-9]*\\) bytes.*/\\1/p" \
		"$TESTDIR/dump"
}
# block_entries N: the entries of data block N of the original table
block_entries() {
	awk -v n="data block $1 at offset" '
		index($0, n) == 1 { on = 1; next }
		on && /^  '\''/ { print; next }
		on { exit }' "$TESTDIR/dump" | LC_ALL=C sort -u
}

last=$((nblocks - 1))
mid=$((nblocks / 2))
for what in "data block 0" "data block $mid" "data block $last" \
	"filter block" "index block" "properties block" footer; do
	C=$TESTDIR/copy
	rm -rf "$C"
	cp -r "$DATA" "$C"
	off=$(offset_of "$what")
	[ -n "$off" ] || fail "no $what in $big"
	if [ "$what" = footer ]; then
		at=$((off + 20))
	else
		at=$((off + $(size_of "$what") / 2))
	fi
	flip "$C/$big" "$at"
	cp "$C/$big" "$TESTDIR/damaged"

	if out=$("$LSM" check "$C" 2>/dev/null); then
		fail "$what: check found nothing"
	fi
	case $out in
	*"'$big' at offset"*) ;;
	*) fail "$what: check does not name '$big' and an offset: $out" ;;
	esac

	"$LSM" repair "$C" >"$TESTDIR/repair.out" ||
		fail "$what: repair failed: $(cat "$TESTDIR/repair.out")"
	[ ! -e "$C/$big" ] || fail "$what: the damaged table is still in use"
	cmp -s "$C/lost/$big" "$TESTDIR/damaged" ||
		fail "$what: lost/$big is not the damaged table"

	entries "$C" >"$TESTDIR/entries.after"
	extra=$(LC_ALL=C comm -13 "$TESTDIR/entries.orig" \
		"$TESTDIR/entries.after" | head -n 3)
	[ -z "$extra" ] || fail "$what: entries that were never written: $extra"
	case $what in
	"data block "*) block_entries "${what#data block }" >"$TESTDIR/lost" ;;
	*) : >"$TESTDIR/lost" ;;
	esac
	[ -s "$TESTDIR/lost" ] || case $what in
		"data block "*) fail "$what: no entries found in the dump" ;;
		esac
	missing=$(LC_ALL=C comm -23 "$TESTDIR/entries.orig" \
		"$TESTDIR/entries.after" |
		LC_ALL=C comm -23 - "$TESTDIR/lost" | head -n 3)
	[ -z "$missing" ] || fail "$what: undamaged entries lost: $missing"

	out=$("$LSM" check "$C") || fail "$what: check after repair: $out"

	if [ ! -s "$TESTDIR/lost" ]; then
		"$LSM" scan "$C" >"$TESTDIR/scan.after" ||
			fail "$what: scan after repair"
		cmp -s "$TESTDIR/scan.orig" "$TESTDIR/scan.after" ||
			fail "$what: scan differs after repair"
		for key in $SAMPLE; do
			"$LSM" get "$C" "$key" >"$TESTDIR/get.after" ||
				fail "$what: get $key after repair"
			cmp -s "$TESTDIR/get.after" \
				"$TESTDIR/get.$(echo "$key" | tr / _)" ||
				fail "$what: $key differs after repair"
		done
	elif "$LSM" scan "$C" >"$TESTDIR/scan.after" 2>/dev/null; then
		# records of a file may be gone (a dentry without its inode
		# makes scan fail: that is for a file-system check); what is
		# listed was listed before
		extra=$(LC_ALL=C comm -13 "$TESTDIR/scan.orig" \
			"$TESTDIR/scan.after" | head -n 3)
		[ -z "$extra" ] || fail "$what: scan lists new files: $extra"
	fi
	note "$what of $big: check names it, repair keeps every other entry"
done
exit 0
