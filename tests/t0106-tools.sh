#!/bin/sh
# Ordinary tools on the mount: cp -r, tar c/x, rsync -a, git init/add/commit,
# find, du, sed -i, vim, mv and rm -r.
. "$(dirname "$0")/lib.sh"
need_fuse
mount_fs
export HOME="$TESTDIR"

# a source tree with files, an empty dir, a symlink, a hard link, modes
SRC=$TESTDIR/src
mkdir -p "$SRC/a/b/c" "$SRC/empty"
for i in 1 2 3 4 5 6 7 8 9; do
	head -c $((i * 7777)) /dev/urandom >"$SRC/a/file$i"
done
echo "hello world" >"$SRC/a/b/c/text"
ln -s a/b/c/text "$SRC/link"
ln "$SRC/a/file1" "$SRC/a/b/hardlink"
chmod 600 "$SRC/a/file2"
chmod 750 "$SRC/a/b"
touch -d '2010-10-10 10:10:10' "$SRC/a/file3"

listing() {
	# directory sizes are file-system specific: left out
	(cd "$1" && find . \( -type d -printf '%p d %m\n' \) -o \
		-printf '%p %y %m %s %l\n' | sort)
}

cp -r "$SRC" "$MNT/cp"
diff -r "$SRC" "$MNT/cp" || fail "cp -r content"

tar -C "$SRC" -cf "$TESTDIR/src.tar" .
mkdir "$MNT/tar"
tar -C "$MNT/tar" -xf "$TESTDIR/src.tar" || fail "tar x"
expect_eq "$(listing "$MNT/tar")" "$(listing "$SRC")" "tar x listing"
expect_eq "$(stat -c %Y "$MNT/tar/a/file3")" "$(stat -c %Y "$SRC/a/file3")" "tar x mtime"
expect_eq "$(stat -c %h "$MNT/tar/a/file1")" 2 "tar x hard link"
tar -C "$MNT/tar" -cf "$TESTDIR/back.tar" . || fail "tar c"
mkdir "$TESTDIR/back"
tar -C "$TESTDIR/back" -xf "$TESTDIR/back.tar"
diff -r "$SRC" "$TESTDIR/back" || fail "tar c content"

rsync -a "$SRC/" "$MNT/rsync/" || fail "rsync -a"
expect_eq "$(listing "$MNT/rsync")" "$(listing "$SRC")" "rsync listing"
diff -r "$SRC" "$MNT/rsync" || fail "rsync content"
echo changed >>"$SRC/a/file4"
rsync -a "$SRC/" "$MNT/rsync/" || fail "rsync -a update"
cmp "$SRC/a/file4" "$MNT/rsync/a/file4" || fail "rsync update content"

expect_eq "$(find "$MNT/cp" -type f | wc -l)" 11 "find -type f"
expect_eq "$(find "$MNT/cp" -name text)" "$MNT/cp/a/b/c/text" "find -name"
du -s "$MNT/rsync" >/dev/null || fail "du"
kb=$(du -sk "$MNT/rsync" | cut -f1)
[ "$kb" -ge 340 ] || fail "du reports only $kb KiB"

sed -i 's/world/there/' "$MNT/cp/a/b/c/text" || fail "sed -i"
expect_eq "$(cat "$MNT/cp/a/b/c/text")" "hello there" "sed -i result"
if command -v vim >/dev/null; then
	vim -Nu NONE -es -c '%s/there/vim/' -c 'wq' "$MNT/cp/a/b/c/text" </dev/null ||
		fail "vim"
	expect_eq "$(cat "$MNT/cp/a/b/c/text")" "hello vim" "vim result"
else
	note "vim not installed: vim part skipped"
fi

cd "$MNT"
git init -q repo || fail "git init"
cd repo
cp -r "$SRC/a" .
git add -A || fail "git add"
git -c user.name=t -c user.email=t@example.com commit -qm first || fail "git commit"
echo change >>a/file1
git -c user.name=t -c user.email=t@example.com commit -qam second || fail "git commit -a"
expect_eq "$(git log --oneline | wc -l)" 2 "git log"
git status --porcelain >"$TESTDIR/status"
[ ! -s "$TESTDIR/status" ] || fail "git status not clean: $(cat "$TESTDIR/status")"
git gc -q || fail "git gc"
git fsck --no-progress 2>/dev/null || fail "git fsck"
cd /

mv "$MNT/cp" "$MNT/moved"
diff -r "$SRC/a/b/c" "$MNT/moved/a/b/c" >/dev/null && fail "sed/vim edits lost after mv"
rm -r "$MNT/moved" "$MNT/tar" || fail "rm -r"
remount
diff -r "$SRC" "$MNT/rsync" || fail "rsync copy after remount"
(cd "$MNT/repo" && git fsck --no-progress 2>/dev/null && git log --oneline | wc -l) >"$TESTDIR/gitlog" ||
	fail "git after remount"
expect_eq "$(tail -1 "$TESTDIR/gitlog")" 2 "git log after remount"
echo "t0106: ok"
