#!/bin/sh
# Mount, basic file use, df, clean unmount; --help/--version; daemon mode;
# DATADIR creation; bad usage is refused.
. "$(dirname "$0")/lib.sh"
need_fuse

"$LSMFS" --help | grep -q 'DATADIR MOUNTPOINT' || fail "--help lacks usage"
"$LSMFS" --help | grep -q 'sync=always' || fail "--help lacks sync="
"$LSMFS" -V | grep -q '^lsmfs version' || fail "-V lacks version"
expect_errno "missing" "$LSMFS"
expect_errno "bad sync" "$LSMFS" -o sync=sometimes "$DATA" "$MNT"
expect_errno "bad compression" "$LSMFS" -o compression=brotli "$DATA" "$MNT"

DATA=$TESTDIR/new/deeper/data
mount_fs
[ -d "$DATA" ] || fail "DATADIR not created"
echo hello >"$MNT/greeting"
expect_eq "$(cat "$MNT/greeting")" hello "read back"
mkdir "$MNT/dir"
echo x >"$MNT/dir/f"
expect_eq "$(ls "$MNT")" "$(printf 'dir\ngreeting')" "ls"
# hidden from listings (as ZFS hides .zfs), reachable by name
! ls -a "$MNT" | grep -qx .lsm || fail ".lsm listed in the root"
[ -d "$MNT/.lsm" ] || fail ".lsm not reachable by name"
expect_errno "File exists" mkdir "$MNT/.lsm"
expect_errno "Read-only file system" touch "$MNT/.lsm/x"
df "$MNT" | grep -q lsmfs || fail "df does not show the mount"
df -i "$MNT" >/dev/null || fail "df -i"
stat -f -c '%l' "$MNT" | grep -qx 255 || fail "statfs namemax"
remount
expect_eq "$(cat "$MNT/greeting")" hello "after remount"
expect_eq "$(cat "$MNT/dir/f")" x "after remount"
unmount_fs

# daemon mode: the parent returns once the mount is up
"$LSMFS" "$DATA" "$MNT" || fail "daemon mode start"
is_mounted || fail "daemon mode: not mounted when lsmfs returned"
expect_eq "$(cat "$MNT/greeting")" hello "daemon mode read"
fusermount3 -u "$MNT"
# the daemon releases the store soon after the unmount
for _ in $(seq 100); do
	if "$LSMFS" -o sync=none "$DATA" "$MNT" 2>/dev/null; then
		break
	fi
	sleep 0.1
done
is_mounted || fail "remount after daemon unmount"
expect_eq "$(cat "$MNT/dir/f")" x "second daemon read"
# our daemon is the process whose command line names this test's DATADIR
daemon=$(pgrep -f -- "$DATA" || true)
[ -n "$daemon" ] || fail "cannot find the daemon"
fusermount3 -u "$MNT"
for _ in $(seq 100); do
	kill -0 $daemon 2>/dev/null || break
	sleep 0.1
done
kill -0 $daemon 2>/dev/null && fail "daemon still running 10 s after unmount"

# -o compression=lz4: compaction writes lz4 tables (.lsm says so), and every
# byte reads back, before and after a remount with the default (zstd)
DATA=$TESTDIR/lz4
mount_fs -o compression=lz4,write_buffer_size=256K
seq 1 400000 >"$TESTDIR/numbers"
for i in 1 2 3 4; do cp "$TESTDIR/numbers" "$MNT/n$i"; done
sync "$MNT/n4"
lz4_tables=0
for _ in $(seq 100); do
	lz4_tables=$(cat "$MNT"/.lsm/levels/L[1-6]/*.sst 2>/dev/null |
		grep -c '^compression lz4$' || true)
	[ "$lz4_tables" -gt 0 ] && break
	sleep 0.1
done
[ "$lz4_tables" -gt 0 ] || fail "no lz4 table after compaction"
for i in 1 2 3 4; do
	cmp -s "$TESTDIR/numbers" "$MNT/n$i" || fail "lz4: n$i differs"
done
remount
for i in 1 2 3 4; do
	cmp -s "$TESTDIR/numbers" "$MNT/n$i" || fail "lz4: n$i differs after remount"
done
unmount_fs
echo "t0100: ok"
