#!/usr/bin/env python3
"""fsdiff.py - differential file system test (issue 9, item 6).

Applies one seeded random sequence of file system operations to two
directories, a directory on an lsmfs mount and a reference directory (tmpfs
or any local file system), and compares every result: the return value or
errno of each operation, the stat fields of the paths it touched, data read
back, directory listings, and at the end both trees byte for byte.

Operations: create, open (kept open in a few slots: write, read, append,
fsync, ftruncate, fstat and close through them, also after the name is gone),
write at an offset, append, truncate, read, rename (also renameat2 with
RENAME_NOREPLACE and RENAME_EXCHANGE), unlink, mkdir, rmdir, readdir,
stat/lstat, symlink, readlink, link, chmod, chown, utime, mkfifo, user.* extended
attributes, posix_fallocate, fsync of files and directories, and remount of
the lsmfs side (after which both trees are compared whole).

Stat fields compared: st_mode, st_nlink (directories included), st_uid,
st_gid, st_size (not for directories: lsmfs reports 0 for a directory, a
documented difference), and st_mtime under this rule: a time set by the
utime operation (all in 2001) must match to the nanosecond, otherwise both
sides must show a time after that (the operation ran at different moments on
the two sides). Never compared: st_ino, st_dev, st_atime, st_ctime,
st_blocks, st_blksize.

Usage: fsdiff.py [--seed N] [--ops N] [--state FILE] [--no-remount]
                 [--trace N] LSMDIR REFDIR

With --state, a remount operation makes fsdiff.py close its files, save its
position in FILE and exit with status 3: the caller remounts lsmfs and runs
the same command again, which resumes. Without --state (or with
--no-remount) remounts are skipped. Exit status 0: every result matched;
1: a mismatch (printed with the operations that led to it); 2: usage.
"""
import argparse
import errno
import hashlib
import os
import pickle
import random
import stat
import sys
from collections import deque

NAMES = ["a", "b", "c", "d", "\u00e9 x"]
EXPLICIT_LO = 1_000_000_000 * 10**9   # utime op times: 2001-09-09 ...
EXPLICIT_HI = 1_031_536_000 * 10**9   # ... to 2002-09-09
NSLOTS = 4
NB = os.O_NONBLOCK  # opening a FIFO must not wait for a partner
CS = 65536


class Mismatch(Exception):
    pass


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def call(fn, *args):
    """Runs fn; returns ("ok", value) or ("err", ERRNAME)."""
    try:
        return ("ok", fn(*args))
    except OSError as e:
        return ("err", ename(e))


def digest(b):
    return "%d:%s" % (len(b), hashlib.sha256(b).hexdigest()[:16])


def stat_key(st):
    """The comparable part of a stat result."""
    m = st.st_mtime_ns
    if EXPLICIT_LO <= m < EXPLICIT_HI:
        mt = m
    elif m >= EXPLICIT_HI:
        mt = "recent"
    else:
        mt = "old:%d" % m
    size = None if stat.S_ISDIR(st.st_mode) else st.st_size
    return (oct(st.st_mode), st.st_nlink, st.st_uid, st.st_gid, size, mt)


class Side:
    def __init__(self, root):
        self.root = root
        self.slots = [None] * NSLOTS  # fd or None

    def p(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

    def close_all(self):
        for i, fd in enumerate(self.slots):
            if fd is not None:
                os.close(fd)
                self.slots[i] = None


class Driver:
    def __init__(self, lsm, ref, seed, trace=40):
        self.sides = [Side(lsm), Side(ref)]
        self.rnd = random.Random(seed)
        self.i = 0
        self.trace = deque(maxlen=trace)
        self.counts = {}
        self.results = {}  # "ok"/"err" -> count
        self.files, self.dirs, self.known = [], [], []

    # ---- random parameters ----
    def refresh(self):
        """Lists the reference tree: paths are often drawn from it, so that
        most operations meet an existing entry of the right kind (refreshed
        every 16 operations and after a remount, so a resumed run draws the
        same paths)."""
        ref = self.sides[1].root
        self.files, self.dirs, self.known = [], [], []
        for dp, dns, fns in os.walk(ref):
            rel = os.path.relpath(dp, ref)
            for n in dns + fns:
                p = n if rel == "." else rel + "/" + n
                self.known.append(p)
                mode = os.lstat(os.path.join(ref, p)).st_mode
                if stat.S_ISDIR(mode):
                    self.dirs.append(p)
                elif stat.S_ISREG(mode):
                    self.files.append(p)
        for v in (self.files, self.dirs, self.known):
            v.sort()

    def path(self, kind="any"):
        """A path: mostly an existing file ("file"), directory ("dir"), any
        entry ("any") or a new name in an existing directory ("new"), else a
        random one of up to three components."""
        r = self.rnd
        if r.random() < 0.75:
            if kind == "new":
                base = r.choice(self.dirs + [""])
                if base.count("/") < 3:
                    return (base + "/" if base else "") + r.choice(NAMES)
            pool = {"file": self.files, "dir": self.dirs,
                    "any": self.known}.get(kind)
            if pool:
                return r.choice(pool)
        depth = r.choice((1, 1, 1, 2, 2, 3))
        return "/".join(r.choice(NAMES) for _ in range(depth))

    def size(self):
        r = self.rnd.random()
        if r < 0.4:
            return self.rnd.randint(0, 3000)
        if r < 0.7:
            return self.rnd.randint(0, 200000)
        if r < 0.95:  # around a chunk boundary
            return max(0, self.rnd.randint(1, 4) * CS + self.rnd.randint(-300, 300))
        return self.rnd.randint(0, 3 * 2**20)

    def data(self):
        r = self.rnd.random()
        n = (self.rnd.randint(1, 200) if r < 0.5 else
             self.rnd.randint(1, 20000) if r < 0.85 else
             self.rnd.randint(20000, 150000))
        return self.rnd.randbytes(n)

    def mode(self):
        m = self.rnd.choice((0o644, 0o755, 0o600, 0o700, 0o444, 0o777, 0o640))
        if self.rnd.random() < 0.1:
            m |= self.rnd.choice((0o1000, 0o2000, 0o4000))
        return m

    # ---- comparison ----
    def both(self, desc, fn):
        """Runs fn(side) on both sides and compares the results."""
        res = [call(fn, s) for s in self.sides]
        self.trace.append("%d %s -> %s" % (self.i, desc, res[1]))
        self.results[res[1][0]] = self.results.get(res[1][0], 0) + 1
        if res[0] != res[1]:
            raise Mismatch("%s: lsmfs %r, reference %r" % (desc, res[0], res[1]))
        return res[1]

    def lstat_paths(self, *paths):
        todo = set()
        for p in paths:
            todo.add(p)
            todo.add(os.path.dirname(p))
        for p in sorted(todo):
            keys = []
            for s in self.sides:
                try:
                    keys.append(stat_key(os.lstat(s.p(p))))
                except OSError as e:
                    keys.append(ename(e))
            if keys[0] != keys[1]:
                raise Mismatch("lstat %r: lsmfs %r, reference %r" % (p, keys[0], keys[1]))

    # ---- operations; each returns a comparable value or raises OSError ----
    def op(self):
        r = self.rnd
        ops = OPS
        name, weight, fn = None, None, None
        x = r.random() * TOTAL_WEIGHT
        for name, weight, fn in ops:
            x -= weight
            if x < 0:
                break
        self.counts[name] = self.counts.get(name, 0) + 1
        return name, fn(self)


def op_create(d):
    p, m = d.path("new"), d.mode()

    def f(s):
        fd = os.open(s.p(p), os.O_WRONLY | os.O_CREAT | os.O_EXCL, m)
        os.close(fd)
    d.both("create %r %o" % (p, m), f)
    d.lstat_paths(p)


def op_write(d):
    p, off, data = d.path("file"), d.size(), d.data()

    def f(s):
        fd = os.open(s.p(p), os.O_WRONLY | NB)
        try:
            return os.pwrite(fd, data, off)
        finally:
            os.close(fd)
    d.both("write %r off %d len %d" % (p, off, len(data)), f)
    d.lstat_paths(p)


def op_append(d):
    p, data = d.path("file"), d.data()

    def f(s):
        fd = os.open(s.p(p), os.O_WRONLY | os.O_APPEND | NB)
        try:
            return os.write(fd, data)
        finally:
            os.close(fd)
    d.both("append %r len %d" % (p, len(data)), f)
    d.lstat_paths(p)


def op_truncate(d):
    p, n = d.path("file"), d.size()
    d.both("truncate %r %d" % (p, n), lambda s: os.truncate(s.p(p), n))
    d.lstat_paths(p)


def op_read(d):
    p = d.path("file")
    whole = d.rnd.random() < 0.5
    off, n = d.size(), d.rnd.randint(1, 200000)

    def f(s):
        fd = os.open(s.p(p), os.O_RDONLY | NB)
        try:
            if whole:
                chunks = []
                while True:
                    b = os.read(fd, 1 << 20)
                    if not b:
                        break
                    chunks.append(b)
                return digest(b"".join(chunks))
            return digest(os.pread(fd, n, off))
        finally:
            os.close(fd)
    d.both("read %r %s" % (p, "all" if whole else "off %d len %d" % (off, n)), f)


def op_rename(d):
    a = d.path("any")
    b = d.path(d.rnd.choice(("new", "new", "any", "file", "dir")))
    d.both("rename %r %r" % (a, b), lambda s: os.rename(s.p(a), s.p(b)))
    d.lstat_paths(a, b)


def op_unlink(d):
    p = d.path(d.rnd.choice(("file", "any")))
    d.both("unlink %r" % p, lambda s: os.unlink(s.p(p)))
    d.lstat_paths(p)


def op_mkdir(d):
    p, m = d.path("new"), d.mode() | 0o700
    d.both("mkdir %r %o" % (p, m), lambda s: os.mkdir(s.p(p), m))
    d.lstat_paths(p)


def op_rmdir(d):
    p = d.path("dir")
    d.both("rmdir %r" % p, lambda s: os.rmdir(s.p(p)))
    d.lstat_paths(p)


def dtype(e):
    if e.is_symlink():
        return "l"
    if e.is_dir(follow_symlinks=False):
        return "d"
    if e.is_file(follow_symlinks=False):
        return "f"
    return "?"


def op_readdir(d):
    p = d.path("dir") if d.rnd.random() < 0.8 else ""

    def f(s):
        with os.scandir(s.p(p)) as it:
            return sorted((e.name, dtype(e)) for e in it)
    d.both("readdir %r" % p, f)


def op_stat(d):
    p = d.path("any")
    follow = d.rnd.random() < 0.5
    fn = os.stat if follow else os.lstat
    d.both("%s %r" % ("stat" if follow else "lstat", p),
           lambda s: stat_key(fn(s.p(p))))


def op_symlink(d):
    p = d.path("new")
    # relative targets without "..": a link stays inside the tree wherever
    # it is moved (the sides' surroundings differ)
    t = d.rnd.choice(("a", "b", "a/b", "zz", ".", "\u00e9 x/d", "b/c/d"))
    d.both("symlink %r -> %r" % (p, t), lambda s: os.symlink(t, s.p(p)))
    d.lstat_paths(p)


def op_readlink(d):
    p = d.path("any")
    d.both("readlink %r" % p, lambda s: os.readlink(s.p(p)))


def op_link(d):
    a, b = d.path("file"), d.path("new")
    d.both("link %r %r" % (a, b), lambda s: os.link(s.p(a), s.p(b)))
    d.lstat_paths(a, b)


def op_chmod(d):
    p, m = d.path("any"), d.mode()
    d.both("chmod %r %o" % (p, m), lambda s: os.chmod(s.p(p), m))
    d.lstat_paths(p)


def op_chown(d):
    p = d.path("any")
    uid, gid = d.rnd.choice((0, 1000, 1001, -1)), d.rnd.choice((0, 1000, 1001, -1))
    follow = d.rnd.random() < 0.5
    d.both("%s %r %d %d" % ("chown" if follow else "lchown", p, uid, gid),
           lambda s: os.chown(s.p(p), uid, gid, follow_symlinks=follow))
    d.lstat_paths(p)


def op_utime(d):
    p = d.path("any")
    at = EXPLICIT_LO + d.rnd.randrange(EXPLICIT_HI - EXPLICIT_LO)
    mt = EXPLICIT_LO + d.rnd.randrange(EXPLICIT_HI - EXPLICIT_LO)
    d.both("utime %r %d" % (p, mt),
           lambda s: os.utime(s.p(p), ns=(at, mt), follow_symlinks=False))
    d.lstat_paths(p)


def op_fsync(d):
    p = d.path("any") if d.rnd.random() < 0.8 else ""

    def f(s):
        fd = os.open(s.p(p), os.O_RDONLY | NB)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    d.both("fsync %r" % p, f)


OPEN_FLAGS = [
    ("r", os.O_RDONLY), ("w", os.O_WRONLY), ("rw", os.O_RDWR),
    ("rw|creat", os.O_RDWR | os.O_CREAT),
    ("w|creat|excl", os.O_WRONLY | os.O_CREAT | os.O_EXCL),
    ("rw|trunc", os.O_RDWR | os.O_TRUNC),
    ("w|append", os.O_WRONLY | os.O_APPEND),
    ("rw|append|creat", os.O_RDWR | os.O_APPEND | os.O_CREAT),
]


def op_open(d):
    slot = d.rnd.randrange(NSLOTS)
    p = d.path(d.rnd.choice(("file", "file", "new")))
    fname, flags = d.rnd.choice(OPEN_FLAGS)
    for s in d.sides:
        if s.slots[slot] is not None:
            os.close(s.slots[slot])
            s.slots[slot] = None

    def f(s):
        fd = os.open(s.p(p), flags | NB, 0o644)
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            # pipe I/O sets the times only in the kernel's inode on FUSE,
            # never in the daemon: FIFOs are opened, not used
            os.close(fd)
            return "fifo"
        s.slots[slot] = fd
        return "opened"
    res = d.both("open %d %r %s" % (slot, p, fname), f)
    if res[0] != "ok":
        for s in d.sides:
            if s.slots[slot] is not None:
                os.close(s.slots[slot])
                s.slots[slot] = None
    d.lstat_paths(p)


def slot_op(d, desc, fn):
    slot = d.rnd.randrange(NSLOTS)
    if d.sides[1].slots[slot] is None:
        return
    d.both("fd %d %s" % (slot, desc), lambda s: fn(s.slots[slot]))
    d.both("fstat %d" % slot, lambda s: stat_key(os.fstat(s.slots[slot])))


def op_fd_write(d):
    off, data = d.size(), d.data()
    if d.rnd.random() < 0.5:
        slot_op(d, "write len %d" % len(data), lambda fd: os.write(fd, data))
    else:
        slot_op(d, "pwrite off %d len %d" % (off, len(data)),
                lambda fd: os.pwrite(fd, data, off))


def op_fd_read(d):
    off, n = d.size(), d.rnd.randint(1, 150000)
    slot_op(d, "pread off %d len %d" % (off, n),
            lambda fd: digest(os.pread(fd, n, off)))


def op_fd_other(d):
    r = d.rnd.random()
    if r < 0.4:
        n = d.size()
        slot_op(d, "ftruncate %d" % n, lambda fd: os.ftruncate(fd, n))
    elif r < 0.7:
        slot_op(d, "fsync", os.fsync)
    else:
        slot = d.rnd.randrange(NSLOTS)
        for s in d.sides:
            if s.slots[slot] is not None:
                os.close(s.slots[slot])
                s.slots[slot] = None


_libc = None


def renameat2(a, b, flags):
    """renameat2(2) through libc (Python has no binding)."""
    global _libc
    if _libc is None:
        import ctypes
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p,
                                    ctypes.c_int, ctypes.c_char_p,
                                    ctypes.c_uint]
    import ctypes
    AT_FDCWD = -100
    if _libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b),
                       flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def op_rename2(d):
    a = d.path("any")
    b = d.path(d.rnd.choice(("new", "any", "file", "dir")))
    name, flags = d.rnd.choice((("noreplace", 1), ("exchange", 2)))
    d.both("rename %s %r %r" % (name, a, b),
           lambda s: renameat2(s.p(a), s.p(b), flags))
    d.lstat_paths(a, b)


def op_mkfifo(d):
    p = d.path("new")
    d.both("mkfifo %r" % p, lambda s: os.mkfifo(s.p(p), 0o640))
    d.lstat_paths(p)


def op_xattr(d):
    p = d.path(d.rnd.choice(("file", "dir", "any")))
    name = "user." + d.rnd.choice(("a", "b", "long" * 20))
    r = d.rnd.random()
    if r < 0.4:
        v = d.rnd.randbytes(d.rnd.choice((0, 1, 100, 3000)))
        flags = d.rnd.choice((0, 0, os.XATTR_CREATE, os.XATTR_REPLACE))
        d.both("setxattr %r %s len %d flags %d" % (p, name, len(v), flags),
               lambda s: os.setxattr(s.p(p), name, v, flags,
                                     follow_symlinks=False))
    elif r < 0.7:
        d.both("getxattr %r %s" % (p, name),
               lambda s: digest(os.getxattr(s.p(p), name,
                                            follow_symlinks=False)))
    elif r < 0.85:
        d.both("listxattr %r" % p,
               lambda s: sorted(os.listxattr(s.p(p), follow_symlinks=False)))
    else:
        d.both("removexattr %r %s" % (p, name),
               lambda s: os.removexattr(s.p(p), name, follow_symlinks=False))


def op_fallocate(d):
    p, off, n = d.path("file"), d.size(), d.rnd.randint(1, 300000)

    def f(s):
        fd = os.open(s.p(p), os.O_WRONLY | NB)
        try:
            os.posix_fallocate(fd, off, n)
        finally:
            os.close(fd)
    d.both("fallocate %r off %d len %d" % (p, off, n), f)
    d.lstat_paths(p)


def op_remount(d):
    raise Remount()


class Remount(Exception):
    pass


OPS = [
    ("create", 6, op_create), ("write", 8, op_write), ("append", 6, op_append),
    ("truncate", 4, op_truncate), ("read", 6, op_read), ("rename", 6, op_rename),
    ("unlink", 5, op_unlink), ("mkdir", 6, op_mkdir), ("rmdir", 4, op_rmdir),
    ("readdir", 4, op_readdir), ("stat", 5, op_stat), ("symlink", 3, op_symlink),
    ("readlink", 2, op_readlink), ("link", 3, op_link), ("chmod", 3, op_chmod),
    ("chown", 2, op_chown), ("utime", 3, op_utime), ("fsync", 2, op_fsync), ("open", 5, op_open),
    ("fd_write", 8, op_fd_write), ("fd_read", 4, op_fd_read),
    ("fd_other", 4, op_fd_other), ("rename2", 2, op_rename2),
    ("mkfifo", 1, op_mkfifo), ("xattr", 3, op_xattr),
    ("fallocate", 1, op_fallocate), ("remount", 0.04, op_remount),
]
TOTAL_WEIGHT = sum(w for _, w, _ in OPS)


def walk(root):
    """{relative path: comparable description} of a whole tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for n in dirnames + filenames:
            rp = n if rel == "." else rel + "/" + n
            full = os.path.join(root, rp)
            st = os.lstat(full)
            desc = [stat_key(st)]
            if stat.S_ISLNK(st.st_mode):
                desc.append(os.readlink(full))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    desc.append(hashlib.sha256(f.read()).hexdigest())
            out[rp] = desc
    return out


def compare_trees(lsm, ref):
    a, b = walk(lsm), walk(ref)
    bad = []
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            bad.append("%r: lsmfs %r, reference %r" % (p, a.get(p), b.get(p)))
    return bad, len(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ops", type=int, default=10000)
    ap.add_argument("--state", help="resume file; enables remounts (exit 3)")
    ap.add_argument("--no-remount", action="store_true")
    ap.add_argument("--trace", type=int, default=40,
                    help="operations shown with a mismatch (default 40)")
    ap.add_argument("lsmdir")
    ap.add_argument("refdir")
    a = ap.parse_args()

    d = Driver(a.lsmdir, a.refdir, a.seed, a.trace)
    if a.state and os.path.exists(a.state):
        with open(a.state, "rb") as f:
            saved = pickle.load(f)
        d.rnd.setstate(saved["rnd"])
        d.i, d.counts = saved["i"], saved["counts"]
        d.trace.extend(saved["trace"])
        d.results = saved["results"]
        os.unlink(a.state)
        try:
            bad, n = compare_trees(a.lsmdir, a.refdir)
            if bad:
                raise Mismatch("trees differ after the remount:\n  " +
                               "\n  ".join(bad[:30]))
        except Mismatch as e:
            print("fsdiff: seed %d, operation %d: %s" % (a.seed, d.i, e))
            return 1
    remounts = a.state and not a.no_remount
    try:
        d.refresh()
        while d.i < a.ops:
            d.i += 1
            if d.i % 16 == 0:
                d.refresh()
            try:
                d.op()
            except Remount:
                if not remounts:
                    d.refresh()
                    continue
                d.trace.append("%d remount" % d.i)
                for s in d.sides:
                    s.close_all()
                with open(a.state, "wb") as f:
                    pickle.dump({"rnd": d.rnd.getstate(), "i": d.i,
                                 "counts": d.counts, "trace": d.trace,
                                 "results": d.results}, f)
                return 3
        for s in d.sides:
            s.close_all()
        bad, n = compare_trees(a.lsmdir, a.refdir)
        if bad:
            raise Mismatch("final trees differ:\n  " + "\n  ".join(bad[:30]))
    except Mismatch as e:
        print("fsdiff: seed %d, operation %d: %s" % (a.seed, d.i, e))
        print("fsdiff: the last operations (result on the reference side):")
        for t in d.trace:
            print("  " + t)
        return 1
    print("fsdiff: seed %d: %d operations (%d calls succeeded, %d failed "
          "alike), trees equal (%d entries); %s" %
          (a.seed, d.i, d.results.get("ok", 0), d.results.get("err", 0), n,
           " ".join("%s=%d" % kv for kv in sorted(d.counts.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
