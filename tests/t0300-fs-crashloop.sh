#!/bin/sh
# Filesystem crash loop (issue 9, item 2c). A writer works through the mount:
# atomic saves (write a temporary file, fsync it, rename it over the target,
# fsync the directory), plain creates (create, write, fsync, fsync the
# directory), renames and unlinks of those files (each followed by fsync of
# the directories). It logs each operation before it starts and after its
# last fsync returned, to a log outside the mount. The daemon is SIGKILLed
# at a random point; after the remount:
#  - every completed (fsync'ed) file is there with its exact content;
#  - the operation in flight is done entirely or not at all: a save target
#    holds its old or its new complete content, never neither (and never a
#    missing target once saved); a renamed file is under exactly one of its
#    two names; an unlinked file is gone or intact;
#  - no other file exists (nothing removed comes back, nothing appears).
#
# LSMFS_CRASH_CYCLES sets the number of kill/remount cycles (default 10;
# the long form is LSMFS_CRASH_CYCLES=1000). LSMFS_CRASH_SEED replays a run.
. "$(dirname "$0")/lib.sh"
need_fuse
command -v python3 >/dev/null || fail "python3 is needed"

CYCLES=${LSMFS_CRASH_CYCLES:-10}
STATE=$TESTDIR/state.json
OPLOG=$TESTDIR/ops.log

# writer MNT STATE LOG SEED: runs operations until the mount goes away;
# creates LOG.running once it has completed a few.
cat >"$TESTDIR/writer.py" <<'EOF'
import hashlib, json, os, random, sys

mnt, statef, logname, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
st = json.load(open(statef))
saves, plain, nxt = st["saves"], st["plain"], st["next"]
rnd = random.Random(seed)
log = open(logname, "a")
TARGETS = ["d%d/t%d" % (k % 2, k) for k in range(6)]


def note(line):
    log.write(line + "\n")
    log.flush()


def content():
    r = rnd.random()
    n = (0 if r < 0.05 else rnd.randint(1, 5000) if r < 0.6
         else rnd.randint(5000, 70000) if r < 0.9 else rnd.randint(70000, 300000))
    data = rnd.randbytes(n)
    return data, hashlib.sha256(data).hexdigest()[:16]


def write_file(path, data, flags):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o644)
    pos = 0
    while pos < len(data):  # in pieces, as an application would
        n = rnd.choice((1, 100, 4096, 10000, 65536, 200000))
        pos += os.write(fd, data[pos:pos + n])
    os.fsync(fd)
    os.close(fd)


def fsync_dir(path):
    fd = os.open(os.path.join(mnt, os.path.dirname(path) or "."),
                 os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)


def p(rel):
    return os.path.join(mnt, rel)


done = 0
try:
    while True:
        r = rnd.random()
        names = sorted(plain)
        if r < 0.4:
            t = rnd.choice(TARGETS)
            data, h = content()
            tmp = os.path.join(os.path.dirname(t), "." + os.path.basename(t) + ".tmp")
            note("S %s %s" % (t, h))
            write_file(p(tmp), data, os.O_TRUNC)
            os.rename(p(tmp), p(t))
            fsync_dir(t)
            note("S-done %s %s" % (t, h))
            saves[t] = h
        elif (r < 0.65 and len(names) < 40) or not names:
            name = "d%d/p%d" % (rnd.randrange(2), nxt)
            nxt += 1
            data, h = content()
            note("P %s %s" % (name, h))
            write_file(p(name), data, os.O_EXCL)
            fsync_dir(name)
            note("P-done %s %s" % (name, h))
            plain[name] = h
        elif r < 0.85:
            a = rnd.choice(names)
            b = "d%d/p%d" % (rnd.randrange(2), nxt)
            nxt += 1
            note("R %s %s" % (a, b))
            os.rename(p(a), p(b))
            fsync_dir(a)
            fsync_dir(b)
            note("R-done %s %s" % (a, b))
            plain[b] = plain.pop(a)
        else:
            a = rnd.choice(names)
            note("U %s" % a)
            os.unlink(p(a))
            fsync_dir(a)
            note("U-done %s" % a)
            del plain[a]
        done += 1
        if done == 5:
            open(logname + ".running", "w").close()
except OSError:
    sys.exit(0)  # the daemon is gone
EOF

# check MNT STATE LOG: verifies the tree against the state before the cycle
# and the log of the cycle, removes the leftovers of the operation in
# flight (durably), and writes the new state. Prints a summary.
cat >"$TESTDIR/check.py" <<'EOF'
import hashlib, json, os, re, sys

mnt, statef, logname = sys.argv[1], sys.argv[2], sys.argv[3]
st = json.load(open(statef))
saves, plain, nxt = st["saves"], st["plain"], st["next"]
errors = []
pending = None
ndone = 0
for line in open(logname):
    w = line.split()
    for name in w[1:]:
        m = re.match(r"d\d/p(\d+)$", name)
        if m:
            nxt = max(nxt, int(m.group(1)) + 1)
    if w[0].endswith("-done"):
        ndone += 1
        pending = None
        if w[0] == "S-done":
            saves[w[1]] = w[2]
        elif w[0] == "P-done":
            plain[w[1]] = w[2]
        elif w[0] == "R-done":
            plain[w[2]] = plain.pop(w[1])
        elif w[0] == "U-done":
            del plain[w[1]]
    else:
        pending = w

seen = {}
for d in ("d0", "d1"):
    for name in os.listdir(os.path.join(mnt, d)):
        rel = d + "/" + name
        data = open(os.path.join(mnt, rel), "rb").read()
        seen[rel] = hashlib.sha256(data).hexdigest()[:16]


def err(msg):
    errors.append(msg)


leftovers = []
outcome = "none"
if pending:
    kind = pending[0]
    if kind == "S":
        t, h = pending[1], pending[2]
        tmp = os.path.dirname(t) + "/." + os.path.basename(t) + ".tmp"
        old = saves.get(t)
        got = seen.pop(t, None)
        if got is None and old is not None:
            err("save of %s in flight: the target is gone (had %s)" % (t, old))
        elif got not in (old, h):
            err("save of %s in flight: target holds %s, want old %s or new %s"
                % (t, got, old, h))
        outcome = "new" if got == h else "old"
        if got is not None:
            saves[t] = got
        if tmp in seen:
            del seen[tmp]
            leftovers.append(tmp)
    elif kind == "P":
        name, h = pending[1], pending[2]
        if name in seen:
            outcome = "partial"
            got = seen.pop(name)
            if got == h:
                outcome = "new"
                plain[name] = h
            else:
                leftovers.append(name)
        else:
            outcome = "old"
    elif kind == "R":
        a, b = pending[1], pending[2]
        h = plain.pop(a)
        ga, gb = seen.pop(a, None), seen.pop(b, None)
        if (ga is None) == (gb is None):
            err("rename %s -> %s in flight: %s" %
                (a, b, "both names missing" if ga is None else "both names present"))
        elif (ga or gb) != h:
            err("rename %s -> %s in flight: content %s, want %s" % (a, b, ga or gb, h))
        outcome = "new" if gb else "old"
        plain[b if gb else a] = h
    elif kind == "U":
        a = pending[1]
        h = plain.pop(a)
        got = seen.pop(a, None)
        if got is not None and got != h:
            err("unlink of %s in flight: content %s, want %s" % (a, got, h))
        outcome = "old" if got else "new"
        if got:
            plain[a] = h

for t, h in sorted(saves.items()):
    if pending and pending[0] == "S" and pending[1] == t:
        continue
    got = seen.pop(t, None)
    if got != h:
        err("saved file %s: content %s, want %s" % (t, got, h))
for name, h in sorted(plain.items()):
    if pending and pending[0] in ("P", "R", "U") and name in pending[1:3]:
        continue
    got = seen.pop(name, None)
    if got != h:
        err("fsync'ed file %s: content %s, want %s" % (name, got, h))
for name in sorted(seen):
    err("unexpected file %s (content %s)" % (name, seen[name]))

if errors:
    print("\n".join(errors))
    print("in flight: %s" % " ".join(pending or ["none"]))
    sys.exit(1)
for name in leftovers:
    os.unlink(os.path.join(mnt, name))
for d in ("d0", "d1"):
    fd = os.open(os.path.join(mnt, d), os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)
json.dump({"saves": saves, "plain": plain, "next": nxt}, open(statef, "w"))
tag = "%s:%s" % (pending[0] if pending else "none", outcome)
with open(statef + ".outcomes", "a") as f:
    f.write(tag + "\n")
print("%d ops done, in flight %s, %d files" % (ndone, tag, len(saves) + len(plain)))
EOF

crash() {
	kill -9 "$LSMFS_PID"
	wait "$LSMFS_PID" 2>/dev/null || true
	LSMFS_PID=
	wait "$WPID" 2>/dev/null || true
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
}

seed=${LSMFS_CRASH_SEED:-$$}
note "seed $seed, $CYCLES cycles"
mount_fs
mkdir "$MNT/d0" "$MNT/d1"
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$MNT"
echo '{"saves": {}, "plain": {}, "next": 0}' >"$STATE"
rnd=$seed
total=0
for cycle in $(seq "$CYCLES"); do
	: >"$OPLOG"
	python3 "$TESTDIR/writer.py" "$MNT" "$STATE" "$OPLOG" "$((seed + cycle))" &
	WPID=$!
	for _ in $(seq 300); do
		[ -e "$OPLOG.running" ] && break
		sleep 0.05
	done
	rm -f "$OPLOG.running"
	kill -0 "$WPID" 2>/dev/null || fail "cycle $cycle: the writer stopped early"
	# then 0 .. 1.2 s more, in 0.1 s steps
	rnd=$(( (rnd * 1103515245 + 12345) % 2147483648 ))
	t=$(( rnd % 13 ))
	sleep "$((t / 10)).$((t % 10))"
	crash
	mount_fs
	res=$(python3 "$TESTDIR/check.py" "$MNT" "$STATE" "$OPLOG") ||
		fail "cycle $cycle (seed $seed): $res"
	done_ops=$(grep -c -- -done "$OPLOG" || true)
	total=$((total + done_ops))
	if [ "$CYCLES" -le 20 ] || [ $((cycle % 50)) -eq 0 ]; then
		note "cycle $cycle: $res"
	fi
	# now and then a clean unmount as well
	if [ $((cycle % 7)) -eq 0 ]; then
		remount
	fi
done
unmount_fs
# S/P/R/U: save, plain create, rename, unlink in flight at the kill;
# old/new/partial: what the remount found
summary=$(sort "$STATE.outcomes" | uniq -c | awk '{ printf " %s %s", $2, $1 }')
note "$CYCLES cycles, $total fsync'ed operations verified; in flight at the kill:$summary"
echo "t0300: ok"
