#!/bin/sh
# Hostile names and sizes (issue 9, item 7): each works or fails with the
# right errno.
#  - 255-byte names work, 256-byte names fail with ENAMETOOLONG (create,
#    mkdir, symlink, link, rename, lookup);
#  - a 4095-byte relative path through nested directories works; a
#    4096-byte one is refused by the kernel (ENAMETOOLONG), though the file
#    can be made from a deeper working directory; `lsm get` takes the
#    4095-byte key and refuses the 4096-byte one, `lsm scan` lists both;
#  - names with spaces, newlines, UTF-8, invalid UTF-8 and control bytes
#    round-trip through find -print0, ls (against the same names on a local
#    file system), and, after unmount, `lsm scan` (its escaping) and
#    `lsm get`;
#  - one directory with many entries (LSMFS_BIG_DIR, default 20000): create,
#    list, look up, remount, list, scan, remove; the times are printed;
#  - a 4 GiB sparse file (a few bytes written at 4 GiB - 1): st_size, holes
#    read as zeros, small du; also a 1 TiB one;
#  - files and xattr values at and around the 64 KiB chunk size; symlink
#    targets of 4095 (ok) and 4096 bytes (ENAMETOOLONG).
. "$(dirname "$0")/lib.sh"
need_fuse
need_lsm
command -v python3 >/dev/null || fail "python3 is needed"
BIG=${LSMFS_BIG_DIR:-20000}

mount_fs

# ---- names and paths at the limits, hostile bytes ----
cat >"$TESTDIR/names.py" <<'EOF'
import errno, os, sys

mnt, local, phase = sys.argv[1], sys.argv[2], sys.argv[3]
bad = []


def expect(what, fn, want):
    """fn() must succeed (want None) or fail with errno want."""
    try:
        fn()
        got = None
    except OSError as e:
        got = e.errno
    if got != want:
        bad.append("%s: got %s, want %s" % (
            what, errno.errorcode.get(got, got) if got else "success",
            errno.errorcode.get(want, want) if want else "success"))


def touch(p):
    os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


HOSTILE = [b"with space", b" lead", b"trail ", b"new\nline", b"\nfirst",
           b"tab\there", b"ctl\x01\x02\x1b[31m\x7f", b"utf8 \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89",
           b"bad utf8 \xff\xfe\xc3", b"back\\slash", b"quote'\"`$(x)", b"*?[glob]",
           b"-dash", b"...", b"%s%n", b"\xe2\x80\xae rtl", b"x" * 255]

if phase == "names":
    os.chdir(mnt)
    os.mkdir("limits")
    n255, n256 = "n" * 255, "n" * 256
    expect("create 255-byte name", lambda: touch("limits/" + n255), None)
    expect("stat 255-byte name", lambda: os.stat("limits/" + n255), None)
    expect("create 256-byte name", lambda: touch("limits/" + n256), errno.ENAMETOOLONG)
    expect("mkdir 256-byte name", lambda: os.mkdir("limits/" + n256), errno.ENAMETOOLONG)
    expect("mkdir 255-byte name", lambda: os.mkdir("limits/d" + n255[1:]), None)
    expect("symlink 256-byte name", lambda: os.symlink("x", "limits/" + n256), errno.ENAMETOOLONG)
    expect("link to 256-byte name", lambda: os.link("limits/" + n255, "limits/" + n256), errno.ENAMETOOLONG)
    expect("rename to 256-byte name", lambda: os.rename("limits/" + n255, "limits/" + n256), errno.ENAMETOOLONG)
    expect("lookup 256-byte name", lambda: os.stat("limits/" + n256), errno.ENAMETOOLONG)
    expect("rename 255 -> 255", lambda: os.rename("limits/" + n255, "limits/m" + n255[1:]), None)
    expect("xattr name of 255 bytes", lambda: os.setxattr("limits", "user." + "x" * 250, b"v"), None)
    expect("xattr name of 256 bytes", lambda: os.setxattr("limits", "user." + "x" * 251, b"v"), errno.ERANGE)

    # 15 directories of 255 bytes and a 255-byte file: a 4095-byte path
    comps = [("%02d" % i) + "d" * 253 for i in range(15)]
    path = ""
    for c in comps:
        path = path + "/" + c if path else c
        expect("mkdir depth %d" % path.count("/"), lambda: os.mkdir(path), None)
    f4095 = path + "/" + "f" * 255
    assert len(f4095) == 4095
    expect("create 4095-byte path", lambda: touch(f4095), None)
    expect("write 4095-byte path", lambda: open(f4095, "wb").write(b"deep"), None)
    expect("stat 4095-byte path", lambda: os.stat(f4095), None)
    d16 = path + "/" + "e" * 100
    expect("mkdir 3940-byte path", lambda: os.mkdir(d16), None)
    f4096 = d16 + "/" + "g" * 155
    assert len(f4096) == 4096
    expect("create 4096-byte path", lambda: touch(f4096), errno.ENAMETOOLONG)
    expect("stat 4096-byte path", lambda: os.stat(f4096), errno.ENAMETOOLONG)
    # the file system has no path limit of its own: go there first
    os.chdir(d16)
    expect("create from a deep cwd", lambda: open("g" * 155, "wb").write(b"deeper"), None)
    os.chdir(mnt)
    expect("symlink target of 4095 bytes", lambda: os.symlink("t" * 4095, "limits/long-target"), None)
    expect("readlink 4095-byte target", lambda: len(os.readlink("limits/long-target")) == 4095 or 1 / 0, None)
    expect("symlink target of 4096 bytes", lambda: os.symlink("t" * 4096, "limits/too-long"), errno.ENAMETOOLONG)

    # hostile names: files with their own name as content, and directories
    # with a file inside, on the mount and on a local file system
    for root in (mnt, local):
        os.makedirs(os.path.join(root, "hostile"), exist_ok=True)
        for n in HOSTILE:
            base = os.fsencode(root) + b"/hostile/"
            with open(base + n, "wb") as f:
                f.write(n)
            os.mkdir(base + b"dir " + n[:200])
            with open(base + b"dir " + n[:200] + b"/" + n, "wb") as f:
                f.write(b"inner " + n)
    found = set(os.listdir(os.fsencode(mnt) + b"/hostile"))
    want = set(HOSTILE) | set(b"dir " + n[:200] for n in HOSTILE)
    if found != want:
        bad.append("listdir of hostile names: extra %r, missing %r" %
                   (found - want, want - found))
    for n in HOSTILE:
        p = os.fsencode(mnt) + b"/hostile/" + n
        if open(p, "rb").read() != n:
            bad.append("content of %r" % n)

elif phase == "scan":
    # what `lsm scan DATA hostile/` must print: KEY<TAB>LENGTH in byte
    # order of the paths, with \\, \t, \n and \xHH escapes
    def esc(b):
        out = bytearray()
        for c in b:
            if c == 0x5c:
                out += b"\\\\"
            elif c == 9:
                out += b"\\t"
            elif c == 10:
                out += b"\\n"
            elif c < 0x20 or c == 0x7f:
                out += b"\\x%02x" % c
            else:
                out.append(c)
        return bytes(out)
    ents = []
    for n in HOSTILE:
        ents.append((b"hostile/" + n, len(n)))
        ents.append((b"hostile/dir " + n[:200] + b"/" + n, len(n) + 6))
    ents.sort()
    sys.stdout.buffer.write(b"".join(esc(k) + b"\t%d\n" % l for k, l in ents))
    sys.exit(0)

if bad:
    print("\n".join(bad))
    sys.exit(1)
EOF

mkdir "$TESTDIR/local"
out=$(python3 "$TESTDIR/names.py" "$MNT" "$TESTDIR/local" names) || fail "$out"

# find -print0 and ls see exactly the same bytes as on a local file system
(cd "$MNT/hostile" && find . -print0 | sort -z) >"$TESTDIR/find.mnt"
(cd "$TESTDIR/local/hostile" && find . -print0 | sort -z) >"$TESTDIR/find.local"
cmp "$TESTDIR/find.mnt" "$TESTDIR/find.local" || fail "find -print0 of hostile names"
expect_eq "$(tr -cd '\0' <"$TESTDIR/find.mnt" | wc -c)" 52 "find -print0 entries"
for style in c escape shell-always; do
	(cd "$MNT/hostile" && ls -1AR --quoting-style=$style) >"$TESTDIR/ls.mnt"
	(cd "$TESTDIR/local/hostile" && ls -1AR --quoting-style=$style) >"$TESTDIR/ls.local"
	cmp "$TESTDIR/ls.mnt" "$TESTDIR/ls.local" || fail "ls --quoting-style=$style"
done
# a name as an argument: the shell, stat and cat handle it through the mount
name=$(printf 'new\nline')
expect_eq "$(cat "$MNT/hostile/$name")" "$name" "cat of a name with a newline"
expect_eq "$(stat -c %s "$MNT/hostile/dir $name/$name")" 14 "stat in a directory with a newline"

# ---- one big directory ----
cat >"$TESTDIR/bigdir.py" <<'EOF'
import os, random, stat, sys, time
d, n, phase = sys.argv[1], int(sys.argv[2]), sys.argv[3]
names = ["entry-%07d" % i for i in range(n)]
t0 = time.time()
if phase == "create":
    os.mkdir(d)
    for nm in names:
        os.mknod(d + "/" + nm, 0o644 | stat.S_IFREG)
elif phase == "check":
    got = sorted(os.listdir(d))
    if got != names:
        print("listing of %d entries: %d entries, first difference %r" %
              (n, len(got), next((a, b) for a, b in zip(got + [None] * n, names) if a != b)))
        sys.exit(1)
    rnd = random.Random(1)
    for nm in rnd.sample(names, min(n, 2000)):
        os.stat(d + "/" + nm)
    try:
        os.stat(d + "/entry-x")
        print("a missing name was found")
        sys.exit(1)
    except FileNotFoundError:
        pass
elif phase == "remove":
    for nm in names:
        os.unlink(d + "/" + nm)
    os.rmdir(d)
print("%.1f s" % (time.time() - t0))
EOF
t=$(python3 "$TESTDIR/bigdir.py" "$MNT/big" "$BIG" create) || fail "big dir: $t"
note "$BIG entries in one directory: created in $t"
t=$(python3 "$TESTDIR/bigdir.py" "$MNT/big" "$BIG" check) || fail "big dir: $t"
note "listed and looked up in $t"
s=$(date +%s)
expect_eq "$(ls -f "$MNT/big" | wc -l)" $((BIG + 2)) "ls -f of the big directory"
note "ls -f in $(( $(date +%s) - s )) s"
remount
t=$(python3 "$TESTDIR/bigdir.py" "$MNT/big" "$BIG" check) || fail "big dir after remount: $t"
note "listed and looked up after remount in $t"

# ---- sparse files, chunk-size values ----
cat >"$TESTDIR/sizes.py" <<'EOF'
import errno, os, random, sys
mnt, phase = sys.argv[1], sys.argv[2]
G4 = 4 << 30
T1 = 1 << 40
bad = []
SIZES = [65535, 65536, 65537, 131071, 131072, 131073, 3 * 65536 + 1]


def content(n):
    return random.Random(n).randbytes(n)


def check_sparse(p, end, tail):
    st = os.stat(p)
    if st.st_size != end:
        bad.append("%s: st_size %d, want %d" % (p, st.st_size, end))
    if st.st_blocks * 512 > 1 << 20:
        bad.append("%s: %d blocks for a sparse file" % (p, st.st_blocks))
    fd = os.open(p, os.O_RDONLY)
    for off in (0, 65536 * 7 + 5, end // 2, end - len(tail) - 70000):
        if os.pread(fd, 65536, off) != bytes(65536):
            bad.append("%s: hole at %d does not read as zeros" % (p, off))
    got = os.pread(fd, 100, end - len(tail) - 1)
    if got != b"\0" + tail:
        bad.append("%s: tail reads %r" % (p, got))
    os.close(fd)


if phase == "write":
    fd = os.open(mnt + "/sparse4g", os.O_WRONLY | os.O_CREAT, 0o644)
    os.pwrite(fd, b"xyz", G4 - 1)
    os.close(fd)
    fd = os.open(mnt + "/sparse1t", os.O_WRONLY | os.O_CREAT, 0o644)
    os.pwrite(fd, b"tib", T1 - 1)
    os.close(fd)
    os.mkdir(mnt + "/chunks")
    for n in SIZES:
        data = content(n)
        with open("%s/chunks/one-%d" % (mnt, n), "wb") as f:
            f.write(data)
        fd = os.open("%s/chunks/small-%d" % (mnt, n), os.O_WRONLY | os.O_CREAT, 0o644)
        for i in range(0, n, 1000):  # small appends, through write-behind
            os.write(fd, data[i:i + 1000])
        os.close(fd)
    try:
        os.setxattr(mnt + "/chunks", "user.big", b"v" * 65536)
    except OSError as e:
        bad.append("xattr value of 65536 bytes: %s" % e)
    try:
        os.setxattr(mnt + "/chunks", "user.toobig", b"v" * 65537)
        bad.append("xattr value of 65537 bytes accepted")
    except OSError as e:
        if e.errno != errno.E2BIG:
            bad.append("xattr value of 65537 bytes: %s, want E2BIG" % e)

# after the write and again after a remount
check_sparse(mnt + "/sparse4g", G4 + 2, b"xyz")
check_sparse(mnt + "/sparse1t", T1 + 2, b"tib")
for n in SIZES:
    for kind in ("one", "small"):
        got = open("%s/chunks/%s-%d" % (mnt, kind, n), "rb").read()
        if got != content(n):
            bad.append("chunks/%s-%d: %d bytes read back, content %s" %
                       (kind, n, len(got), "differs" if len(got) == n else "short"))
if os.getxattr(mnt + "/chunks", "user.big") != b"v" * 65536:
    bad.append("xattr value of 65536 bytes reads back wrong")
if bad:
    print("\n".join(bad))
    sys.exit(1)
EOF
out=$(python3 "$TESTDIR/sizes.py" "$MNT" write) || fail "$out"
du_k=$(du -k "$MNT/sparse4g" | cut -f1)
[ "$du_k" -lt 1024 ] || fail "du of the 4 GiB sparse file: $du_k KiB"
remount
out=$(python3 "$TESTDIR/sizes.py" "$MNT" check) || fail "after remount: $out"

# ---- the store offline: lsm scan and lsm get ----
unmount_fs
python3 "$TESTDIR/names.py" "$MNT" "$TESTDIR/local" scan >"$TESTDIR/scan.want"
"$LSM" scan "$DATA" hostile/ >"$TESTDIR/scan.got" || fail "lsm scan hostile/"
cmp "$TESTDIR/scan.got" "$TESTDIR/scan.want" || {
	diff "$TESTDIR/scan.got" "$TESTDIR/scan.want" | head -20 >&2
	fail "lsm scan escaping of hostile names"
}
expect_eq "$("$LSM" get "$DATA" "hostile/$name")" "$name" "lsm get of a name with a newline"
n=$(printf 'ctl\001\002\033[31m\177')
expect_eq "$("$LSM" get "$DATA" "hostile/$n" | od -An -c | tr -s ' ')" \
	"$(printf '%s' "$n" | od -An -c | tr -s ' ')" "lsm get of control bytes"
expect_eq "$("$LSM" scan "$DATA" sparse4g)" "$(printf 'sparse4g\t4294967298')" "lsm scan of the 4 GiB file"
for n in 65535 65536 65537 131073; do
	python3 -c 'import random, sys; n = int(sys.argv[1]); sys.stdout.buffer.write(random.Random(n).randbytes(n))' \
		"$n" >"$TESTDIR/want"
	for kind in one small; do
		"$LSM" get "$DATA" "chunks/$kind-$n" >"$TESTDIR/got" || fail "lsm get chunks/$kind-$n"
		cmp "$TESTDIR/got" "$TESTDIR/want" || fail "lsm get chunks/$kind-$n content"
	done
done
# the 4095-byte key works with lsm get, the 4096-byte one is refused
deep=$(python3 -c 'print("/".join(("%02d" % i) + "d" * 253 for i in range(15)))')
expect_eq "$("$LSM" get "$DATA" "$deep/$(printf 'f%.0s' $(seq 255))")" deep "lsm get of a 4095-byte key"
k4096="$deep/$(printf 'e%.0s' $(seq 100))/$(printf 'g%.0s' $(seq 155))"
expect_errno "4096 bytes or longer" "$LSM" get "$DATA" "$k4096"
"$LSM" scan "$DATA" 00 >"$TESTDIR/deep.scan" || fail "lsm scan of the deep tree"
expect_eq "$(awk -F'\t' '{ print length($1), $2 }' "$TESTDIR/deep.scan" | tr '\n' ' ')" \
	"4096 6 4095 4 " "lsm scan of the deep tree"
s=$(date +%s)
expect_eq "$("$LSM" scan "$DATA" big/ | wc -l)" "$BIG" "lsm scan of the big directory"
note "lsm scan of the big directory in $(( $(date +%s) - s )) s"

# removing the big directory through the mount
mount_fs
t=$(python3 "$TESTDIR/bigdir.py" "$MNT/big" "$BIG" remove) || fail "big dir removal: $t"
note "removed in $t"
unmount_fs
echo "t0302: ok"
