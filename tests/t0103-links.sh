#!/bin/sh
# symlink/readlink, hard links (nlink, one st_ino, data survives unlinking
# a name), unique inode numbers that stay the same across remounts.
. "$(dirname "$0")/lib.sh"
need_fuse
mount_fs
cd "$MNT"

echo data >target
ln -s target link
ln -s ../dangling/path dangle
expect_eq "$(readlink link)" target "readlink"
expect_eq "$(cat link)" data "read through a symlink"
expect_eq "$(stat -c %F link)" "symbolic link" "symlink type"
expect_eq "$(stat -c %s link)" 6 "symlink size"
expect_eq "$(readlink dangle)" ../dangling/path "dangling readlink"
expect_errno "No such file" cat dangle
long=$(printf '%04095d' 7)
ln -s "$long" longlink
expect_eq "$(readlink longlink)" "$long" "4095-byte symlink target"
mkdir dir
ln -s dir dirlink
echo in >dirlink/file
expect_eq "$(cat dir/file)" in "write through a directory symlink"

ln target hard
expect_eq "$(stat -c %h target)" 2 "nlink after link"
expect_eq "$(stat -c %i hard)" "$(stat -c %i target)" "same inode"
echo more >>hard
expect_eq "$(cat target)" "$(printf 'data\nmore')" "write through the other name"
rm target
expect_eq "$(cat hard)" "$(printf 'data\nmore')" "data after unlinking one name"
expect_eq "$(stat -c %h hard)" 1 "nlink after unlink"
expect_errno "Operation not permitted" perl -e 'link($ARGV[0], $ARGV[1]) or die "$!\n"' dir dirhard
expect_errno "File exists" ln hard dir/file

# unique and stable inode numbers
for i in 1 2 3 4 5; do echo "$i" >"f$i"; done
before=$(stat -c '%n %i' f1 f2 f3 f4 f5 hard dir dir/file link)
dups=$(stat -c %i f1 f2 f3 f4 f5 hard dir dir/file link | sort | uniq -d)
[ -z "$dups" ] || fail "duplicate inode numbers: $dups"
cd /
remount
cd "$MNT"
after=$(stat -c '%n %i' f1 f2 f3 f4 f5 hard dir dir/file link)
expect_eq "$after" "$before" "inode numbers across remount"
expect_eq "$(readlink link)" target "readlink after remount"
expect_eq "$(stat -c %h hard)" 1 "nlink after remount"
# new inodes never reuse old numbers, also after a remount
rm f5
echo new >f6
n6=$(stat -c %i f6)
echo "$before" | awk '{print $2}' | grep -qx "$n6" && fail "inode number reused"
echo "t0103: ok"
