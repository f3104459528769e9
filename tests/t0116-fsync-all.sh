#!/bin/sh
# fsync or fdatasync of one file, and fsync of a directory, make everything
# written so far through the mount durable (issue 5): also the partial-chunk
# writes that the daemon still buffers for other files that are open
# (fs/file.c write-behind).
#
# One python process holds the other files open across a SIGKILL of the
# daemon. (Not shell redirections: every child that inherits such a
# descriptor closes it when it exits, and each close(2) sends FUSE a flush,
# which writes the buffer back and would hide the bug.)
. "$(dirname "$0")/lib.sh"
need_fuse
command -v python3 >/dev/null || fail "python3 is needed"

# holder.py MNT READY HOW: writes partial chunks to files it keeps open, then
# makes one other file durable by HOW (fsync, fdatasync, or dir: fsync of
# the mount's root directory), says READY and waits to be killed.
cat >"$TESTDIR/holder.py" <<'EOF'
import os, sys, time
mnt, ready, how = sys.argv[1:4]
def path(name):
    return os.path.join(mnt, name)
# b: a new file, 14 bytes, all of it buffered
b = os.open(path("b"), os.O_WRONLY | os.O_CREAT, 0o644)
os.write(b, b"buffered in b\n")
# c: 100000 synced bytes, then 5000 appended into its partial chunk 1
c = os.open(path("c"), os.O_WRONLY | os.O_APPEND)
os.write(c, bytes(range(250)) * 20)
# m00..m19: one partial chunk each, at offset 7 of chunk 0, 1 or 2
ms = []
for i in range(20):
    fd = os.open(path("m%02d" % i), os.O_WRONLY | os.O_CREAT, 0o644)
    os.pwrite(fd, b"m%02d" % i * 100, 65536 * (i % 3) + 7)
    ms.append(fd)
# big: over 4 MiB in one write(2), which reaches the daemon as 1 MiB
# requests that go to the store at once (fs/file.c, write_through), the
# last one a partial chunk that stays buffered
big = os.open(path("big"), os.O_WRONLY | os.O_CREAT, 0o644)
os.write(big, bytes(range(251)) * 16711)
if how == "dir":
    d = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(d)
    os.close(d)
else:
    a = os.open(path("a"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(a, b"a\n")
    (os.fsync if how == "fsync" else os.fdatasync)(a)
open(ready, "w").close()
time.sleep(120)  # keeps b, c and m* open until killed
EOF

# check.py MNT HOW: after the crash, everything holder.py wrote is there
cat >"$TESTDIR/check.py" <<'EOF'
import os, sys
mnt, how = sys.argv[1:3]
def read(name):
    with open(os.path.join(mnt, name), "rb") as f:
        return f.read()
def expect(name, want):
    got = read(name)
    if got != want:
        sys.exit("%s: file %s after the crash: %d bytes, want %d%s" %
                 (how, name, len(got), len(want),
                  "" if len(got) != len(want) else " (content differs)"))
if how != "dir":
    expect("a", b"a\n")
expect("b", b"buffered in b\n")
expect("c", bytes(range(200)) * 500 + bytes(range(250)) * 20)
for i in range(20):
    expect("m%02d" % i, b"\0" * (65536 * (i % 3) + 7) + b"m%02d" % i * 100)
expect("big", bytes(range(251)) * 16711)
EOF

for how in fsync fdatasync dir; do
	rm -rf "$DATA" "$TESTDIR/ready"
	mount_fs
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(200)) * 500)' >"$MNT/c"
	sync "$MNT/c" || fail "$how: sync c"
	python3 "$TESTDIR/holder.py" "$MNT" "$TESTDIR/ready" "$how" &
	holder=$!
	for _ in $(seq 400); do
		[ -e "$TESTDIR/ready" ] && break
		kill -0 "$holder" 2>/dev/null || fail "$how: holder.py died"
		sleep 0.05
	done
	[ -e "$TESTDIR/ready" ] || fail "$how: holder.py did not finish"
	# the daemon dies first, so that no close of the holder flushes
	kill_fs
	kill -9 "$holder"
	wait "$holder" 2>/dev/null || true
	mount_fs
	python3 "$TESTDIR/check.py" "$MNT" "$how" ||
		fail "$how: data of other open files lost"
	unmount_fs
done
echo "t0116: ok"
