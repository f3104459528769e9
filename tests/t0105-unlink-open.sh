#!/bin/sh
# An unlinked file stays readable and writable while open; its space is
# reclaimed once closed; an open-unlinked file does not survive a remount.
. "$(dirname "$0")/lib.sh"
need_fuse
mount_fs
cd "$MNT"

head -c 300000 /dev/urandom >"$TESTDIR/ref"
cp "$TESTDIR/ref" victim
exec 3<"$MNT/victim"
exec 4>>"$MNT/victim"
rm victim
[ ! -e victim ] || fail "name still there"
cmp - "$TESTDIR/ref" <&3 || fail "open file unreadable after unlink"
echo appended >&4
cat "$TESTDIR/ref" >"$TESTDIR/ref2"
echo appended >>"$TESTDIR/ref2"
# a fresh descriptor via /proc sees the appended data
cmp "/proc/$$/fd/3" "$TESTDIR/ref2" || fail "write to an unlinked open file"
exec 3<&- 4>&-
expect_eq "$(ls)" "" "directory after close"

# an unlinked file held open across an unmount is cleaned up by the mount
echo keep >other
exec 5<"$MNT/other"
rm other
exec 5<&-
cd /
remount
cd "$MNT"
expect_eq "$(ls)" "" "directory after remount"
echo "t0105: ok"
