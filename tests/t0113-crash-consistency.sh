#!/bin/sh
# Crash consistency of unsynced appends: writers append a known stream to
# several files through the mount (small writes, some crossing chunk
# boundaries, some closes, occasional fsyncs logged outside the mount) while
# the daemon is SIGKILLed at random points. After each remount, every file
# must hold exactly the first st_size bytes of its stream (never zeros where
# data was written: the stored size must not run ahead of the stored data)
# and at least every byte that was fsync'ed.
#
# LSMFS_CRASH_CYCLES (default 5) sets the number of kill/remount cycles.
. "$(dirname "$0")/lib.sh"
need_fuse
command -v python3 >/dev/null || fail "python3 is needed"

CYCLES=${LSMFS_CRASH_CYCLES:-5}
SYNCLOG=$TESTDIR/synced.log
: >"$SYNCLOG"

# The stream of file f: a random block of a prime length P repeated, so no
# byte is zero and a copy shifted by a multiple of the chunk size (65536 is
# not a multiple of P) does not match: lost and misplaced bytes both show.
cat >"$TESTDIR/stream.py" <<'EOF'
import random

P = 65521
_blocks = {}

def stream(f, start, n):
    """Bytes [start, start+n) of file f's stream."""
    if f not in _blocks:
        rnd = random.Random(f)
        _blocks[f] = rnd.randbytes(P).replace(b"\0", b"\1")
    blk = _blocks[f]
    s = start % P
    reps = (s + n) // P + 1
    return (blk * reps)[s:s + n]
EOF

# writer MNT SEED SYNCLOG: appends to MNT/f0..f3 until it is killed or the
# mount goes away; logs "f size" after each fsync that returned; creates
# SYNCLOG.running after its first 100 writes.
cat >"$TESTDIR/writer.py" <<'EOF'
import os, random, sys
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from stream import stream
mnt, seed, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(seed)
nfiles = 4
fds = [None] * nfiles
logf = open(log, "a")
nwrites = 0
try:
    while True:
        nwrites += 1
        if nwrites == 100:
            open(log + ".running", "w").close()  # tell the test
        f = rnd.randrange(nfiles)
        if fds[f] is None:
            fds[f] = os.open("%s/f%d" % (mnt, f),
                             os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        fd = fds[f]
        size = os.fstat(fd).st_size
        r = rnd.random()
        n = rnd.randint(1, 70000) if r < 0.05 else rnd.randint(1, 3000)
        os.write(fd, stream(f, size, n))
        r = rnd.random()
        if r < 0.02:
            os.fsync(fd)
            logf.write("%d %d\n" % (f, os.fstat(fd).st_size))
            logf.flush()
        elif r < 0.05:
            os.close(fd)
            fds[f] = None
except OSError:
    sys.exit(0)  # the daemon is gone
EOF

# check MNT SYNCLOG: every file is a prefix of its stream, and no shorter
# than its last fsync'ed size. Prints the total size.
cat >"$TESTDIR/check.py" <<'EOF'
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from stream import stream
mnt, log = sys.argv[1], sys.argv[2]
synced = {}
for line in open(log):
    f, s = map(int, line.split())
    synced[f] = max(synced.get(f, 0), s)
bad = 0
total = 0
for f in range(4):
    p = "%s/f%d" % (mnt, f)
    if not os.path.exists(p):
        if synced.get(f, 0):
            print("f%d: missing, %d bytes were fsync'ed" % (f, synced[f]))
            bad = 1
        continue
    data = open(p, "rb").read()
    size = os.stat(p).st_size
    total += size
    if len(data) != size:
        print("f%d: st_size %d but %d bytes read" % (f, size, len(data)))
        bad = 1
    want = stream(f, 0, len(data))
    if data != want:
        i = next(i for i in range(len(data)) if data[i] != want[i])
        j = i
        while j < len(data) and data[j] == 0:
            j += 1
        print("f%d: size %d differs from its stream at offset %d "
              "(%d zero bytes there)" % (f, size, i, j - i))
        bad = 1
    if size < synced.get(f, 0):
        print("f%d: size %d < fsync'ed size %d" % (f, size, synced[f]))
        bad = 1
print(total)
sys.exit(bad)
EOF

# SIGKILL the daemon while the writer runs, then let the writer fail and
# clear the dead mount
crash() {
	kill -9 "$LSMFS_PID"
	wait "$LSMFS_PID" 2>/dev/null || true
	LSMFS_PID=
	wait "$WPID" 2>/dev/null || true
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
}

seed=${LSMFS_CRASH_SEED:-$$}
note "seed $seed, $CYCLES cycles"
rnd=$seed
for cycle in $(seq "$CYCLES"); do
	mount_fs
	python3 "$TESTDIR/writer.py" "$MNT" "$((seed + cycle))" "$SYNCLOG" &
	WPID=$!
	# let it get going, then pick a pseudo-random moment
	for _ in $(seq 300); do
		[ -e "$SYNCLOG.running" ] && break
		sleep 0.1
	done
	rm -f "$SYNCLOG.running"
	# and then 0.3 .. 1.5 s
	rnd=$(( (rnd * 1103515245 + 12345) % 2147483648 ))
	t=$(( 3 + rnd % 13 ))
	sleep "$((t / 10)).$((t % 10))"
	kill -0 "$WPID" 2>/dev/null || fail "cycle $cycle: the writer stopped early"
	crash
	mount_fs
	total=$(python3 "$TESTDIR/check.py" "$MNT" "$SYNCLOG") ||
		fail "cycle $cycle: $total"
	note "cycle $cycle: $total bytes consistent"
	unmount_fs
done
echo "t0113: ok"
