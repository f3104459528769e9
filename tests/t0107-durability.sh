#!/bin/sh
# fsync'ed data survives SIGKILL of the daemon; sync=always makes every write
# durable; a second mount of one DATADIR is refused; concurrent fsyncs.
. "$(dirname "$0")/lib.sh"
need_fuse

mount_fs
head -c 3000000 /dev/urandom >"$TESTDIR/ref"
dd if="$TESTDIR/ref" of="$MNT/synced" bs=64k conv=fsync 2>/dev/null || fail "dd conv=fsync"
mkdir -p "$MNT/dir/sub"
echo meta >"$MNT/dir/sub/file"
mv "$MNT/dir/sub" "$MNT/moved"
sync "$MNT/moved/file" || fail "sync FILE"
# several writers fsync at once (wait for them by pid: a bare wait would
# wait for the daemon too)
pids=
for i in 1 2 3 4 5 6 7 8; do
	dd if=/dev/zero of="$MNT/par$i" bs=4k count=64 conv=fsync 2>/dev/null &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || fail "parallel dd conv=fsync"
done
sync -f "$MNT" || fail "syncfs"

# a second mount of the same store is refused while the first runs
mkdir "$TESTDIR/mnt2"
st=0
out=$("$LSMFS" -f "$DATA" "$TESTDIR/mnt2" 2>&1) || st=$?
[ "$st" -ne 0 ] || fail "second mount of one DATADIR succeeded"
case $out in *"in use"*) ;; *) fail "second mount said '$out'" ;; esac
grep -qs " $TESTDIR/mnt2 " /proc/mounts && fail "second mount is mounted"
expect_eq "$(cat "$MNT/moved/file")" meta "first mount still serves"

kill_fs
mount_fs
cmp "$MNT/synced" "$TESTDIR/ref" || fail "fsync'ed file after SIGKILL"
expect_eq "$(cat "$MNT/moved/file")" meta "synced rename after SIGKILL"
[ ! -e "$MNT/dir/sub" ] || fail "rename half-applied after SIGKILL"
for i in 1 2 3 4 5 6 7 8; do
	expect_eq "$(stat -c %s "$MNT/par$i")" 262144 "par$i after SIGKILL"
done
unmount_fs

# with sync=always, a returned write is durable without fsync
mount_fs -o sync=always
echo durable >"$MNT/always"
mkdir "$MNT/always-dir"
kill_fs
mount_fs
expect_eq "$(cat "$MNT/always")" durable "sync=always write after SIGKILL"
[ -d "$MNT/always-dir" ] || fail "sync=always mkdir after SIGKILL"
cmp "$MNT/synced" "$TESTDIR/ref" || fail "old data after second SIGKILL"
echo "t0107: ok"
