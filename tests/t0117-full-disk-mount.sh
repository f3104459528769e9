#!/bin/sh
# A mount whose store fills its disk: writes fail with ENOSPC, reported by
# write(2), or by the fsync or close(2) that writes buffered data back;
# never silently. Once space is freed the mount works again, and after a
# remount every file holds a prefix of what was written to it, never other
# bytes.
#
# The store lives on a 40 MiB tmpfs with a 12 MiB ballast file beside it
# (mounting it needs root; exits 77 only when that is impossible).
. "$(dirname "$0")/lib.sh"
need_fuse

DISK=$TESTDIR/disk
test_cleanup() { # lib.sh runs it on exit, after the unmount
	if grep -qs " $DISK " /proc/mounts; then
		umount "$DISK" 2>/dev/null || umount -l "$DISK"
	fi
}

mkdir "$DISK"
if ! mount -t tmpfs -o size=40m tmpfs "$DISK" 2>"$TESTDIR/mount.err"; then
	echo "SKIP: $TEST_NAME: cannot mount a tmpfs (needs root):" \
		"$(cat "$TESTDIR/mount.err")" >&2
	exit 77
fi
dd if=/dev/zero of="$DISK/ballast" bs=1M count=12 status=none ||
	fail "cannot write the ballast"
DATA=$DISK/data

# 96 MiB that does not compress, kept outside the small disk to compare with
python3 -c '
import random, sys
r = random.Random(117)
sys.stdout.buffer.write(r.randbytes(96 << 20))' >"$TESTDIR/pattern"

mount_fs -o write_buffer_size=4M
# 1 MiB writes (the early-answered kind) with an fsync at the end
if dd if="$TESTDIR/pattern" of="$MNT/big" bs=1M conv=fsync \
	2>"$TESTDIR/dd.err"; then
	fail "dd of 96 MiB onto a 40 MiB disk succeeded"
fi
grep -q "No space left on device" "$TESTDIR/dd.err" ||
	fail "dd: want ENOSPC, got: $(cat "$TESTDIR/dd.err")"
# small writes through cp, reported by write(2) or close(2)
if cp "$TESTDIR/pattern" "$MNT/copy" 2>"$TESTDIR/cp.err"; then
	fail "cp of 96 MiB onto a full disk succeeded"
fi
grep -q "No space left on device" "$TESTDIR/cp.err" ||
	fail "cp: want ENOSPC, got: $(cat "$TESTDIR/cp.err")"

# space again: the mount carries on by itself, once the engine's retry of
# its failed flush succeeds (backoff up to 5 s; writes that would wait
# for that flush get ENOSPC until then, RELIABILITY.md)
rm "$DISK/ballast"
ok=
for _ in $(seq 150); do
	if { echo after >"$MNT/after" && sync "$MNT/after"; } 2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || fail "still no space 15 s after freeing 12 MiB"
expect_eq "$(cat "$MNT/after")" after "a new file after freeing space"

remount -o write_buffer_size=4M
expect_eq "$(cat "$MNT/after")" after "after a remount"
for f in big copy; do
	[ -e "$MNT/$f" ] || continue
	size=$(stat -c %s "$MNT/$f")
	cmp -s -n "$size" "$MNT/$f" "$TESTDIR/pattern" ||
		fail "$f: its $size bytes are not a prefix of what was written"
	note "$f: $size bytes, a prefix of the 96 MiB written"
done
unmount_fs
echo "$TEST_NAME: ok"
