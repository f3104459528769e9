#!/bin/sh
# mkdir/rmdir (ENOTEMPTY), readdir, unlink, rename of files and directories
# (replacing targets, EISDIR/ENOTDIR/ENOTEMPTY/EINVAL), directory link
# counts, ENAMETOOLONG, a moved directory's "..".
. "$(dirname "$0")/lib.sh"
need_fuse
mount_fs
cd "$MNT"

mkdir a
mkdir a/b
echo f >a/b/file
expect_eq "$(stat -c %h a)" 3 "nlink of a directory with one subdirectory"
expect_eq "$(stat -c %h a/b)" 2 "nlink of a leaf directory"
expect_errno "Directory not empty" rmdir a
expect_errno "File exists" mkdir a
expect_errno "No such file or directory" rmdir nope
expect_errno "Not a directory" rmdir a/b/file
expect_errno "Is a directory" rm a/b
expect_errno "Not a directory" ls a/b/file/x

# readdir lists exactly the children
for i in $(seq 1 300); do : >"a/n$i"; done
expect_eq "$(ls a | wc -l)" 301 "readdir count"
expect_eq "$(ls -a a | head -2 | tr '\n' ' ')" ". .. " "dot entries"
expect_eq "$(find a -maxdepth 1 -name 'n*' | wc -l)" 300 "find count"
for i in $(seq 1 300); do rm "a/n$i"; done
expect_eq "$(ls a)" b "readdir after unlinks"

# rename a file, over a file, into another directory
echo one >one
echo two >two
mv one two
expect_eq "$(cat two)" one "rename over a file"
[ ! -e one ] || fail "source still exists"
mv two a/b/moved
expect_eq "$(cat a/b/moved)" one "rename into a directory"

# rename directories: move, replace an empty one, refuse a non-empty one
mkdir -p d1/sub e1
echo x >d1/sub/x
mv d1 e1/d1
expect_eq "$(cat e1/d1/sub/x)" x "moved directory content"
expect_eq "$(stat -c %h e1)" 3 "nlink of new parent"
expect_eq "$(stat -c %i e1/d1/sub/..)" "$(stat -c %i e1/d1)" "'..' of moved dir's child"
expect_eq "$(cd e1/d1 && stat -c %i ..)" "$(stat -c %i e1)" "'..' of moved dir"
mkdir empty
mv e1/d1 empty2
mv -T empty2 empty
expect_eq "$(cat empty/sub/x)" x "rename over an empty directory"
mkdir full
: >full/x
expect_errno "Directory not empty" perl -e 'rename($ARGV[0], $ARGV[1]) or die "$!\n"' empty full
expect_errno "Is a directory" perl -e 'rename($ARGV[0], $ARGV[1]) or die "$!\n"' a/b/moved full
expect_errno "Not a directory" perl -e 'rename($ARGV[0], $ARGV[1]) or die "$!\n"' full a/b/moved
expect_errno "Invalid argument" perl -e 'rename($ARGV[0], $ARGV[1]) or die "$!\n"' a a/b/inside
expect_errno "No such file" mv nope x

# renaming a name onto another name of the same inode does nothing
ln a/b/moved hard
perl -e 'rename($ARGV[0], $ARGV[1]) or die "$!\n"' hard a/b/moved
[ -e hard ] && [ -e a/b/moved ] || fail "rename between hard links removed a name"

# renameat2 flags (x86_64 syscall 316): NOREPLACE and EXCHANGE
if [ "$(uname -m)" = x86_64 ]; then
	renameat2() {
		perl -e 'syscall(316, -100, $ARGV[0], -100, $ARGV[1], $ARGV[2] + 0) == 0 or die "$!\n"' "$@"
	}
	echo x1 >x1
	echo x2 >x2
	expect_errno "File exists" renameat2 x1 x2 1
	renameat2 x1 x2 2 || fail "RENAME_EXCHANGE of files"
	expect_eq "$(cat x1)$(cat x2)" x2x1 "exchanged files"
	mkdir -p xd/sub
	renameat2 x1 xd 2 || fail "RENAME_EXCHANGE of a file and a directory"
	[ -d x1/sub ] && [ -f xd ] || fail "exchange of file and directory"
	# 2 + stored subdirectories (the virtual .lsm is not counted);
	# find counts "." and the stored subdirectories
	expect_eq "$(stat -c %h .)" "$(($(find . -maxdepth 1 -type d | wc -l) + 1))" "root nlink after exchange"
	expect_errno "No such file" renameat2 x2 nothere 2
	expect_errno "Invalid argument" renameat2 x2 x1 3
	rm -r x1 x2 xd
else
	note "renameat2 flags tested on x86_64 only"
fi

# directory times change when entries come and go
mkdir times
touch -d '2000-01-01' times
: >times/new
[ "$(stat -c %Y times)" -gt 946684800 ] || fail "create did not update dir mtime"
touch -d '2000-01-01' times
mv times/new times/renamed
[ "$(stat -c %Y times)" -gt 946684800 ] || fail "rename did not update dir mtime"
touch -d '2000-01-01' times
rm times/renamed
[ "$(stat -c %Y times)" -gt 946684800 ] || fail "unlink did not update dir mtime"
rmdir times

# names: 255 bytes are fine, 256 are too long
n255=$(printf '%0255d' 0)
n256=$(printf '%0256d' 0)
echo ok >"$n255"
expect_eq "$(cat "$n255")" ok "255-byte name"
expect_errno "File name too long" touch "$n256"
expect_errno "File name too long" mkdir "$n256"

# the tree survives a remount
cd /
remount
cd "$MNT"
expect_eq "$(cat empty/sub/x)" x "after remount"
expect_eq "$(stat -c %h empty)" 3 "nlink after remount"
expect_eq "$(ls)" "$(printf '%s\na\ne1\nempty\nfull\nhard' "$n255")" "root listing after remount"
rm -r a e1 empty full hard "$n255"
# .lsm is not listed (reachable by name only)
expect_eq "$(ls -A | tr '\n' ' ')" "" "empty root after rm -r"
expect_eq "$(stat -c %h .)" 2 "root nlink"
echo "t0102: ok"
