#!/bin/sh
# Extended attributes (user.*), FIFOs, sockets and device nodes.
. "$(dirname "$0")/lib.sh"
need_fuse
mount_fs
cd "$MNT"

echo x >f
setfattr -n user.color -v blue f || fail "setfattr"
setfattr -n user.empty f || fail "setfattr without value"
expect_eq "$(getfattr --only-values -n user.color f)" blue "getfattr"
expect_eq "$(getfattr -d --absolute-names f | grep -c '^user\.')" 2 "listxattr"
setfattr -n user.color -v red f
expect_eq "$(getfattr --only-values -n user.color f)" red "replace"
setfattr -x user.color f || fail "removexattr"
expect_errno "No such attribute" getfattr -n user.color f
expect_errno "No such attribute" setfattr -x user.color f
mkdir d
setfattr -n user.dir -v yes d
cd /
remount
cd "$MNT"
expect_eq "$(getfattr --only-values -n user.dir d)" yes "xattr after remount"
expect_eq "$(getfattr -d --absolute-names f | grep -c '^user\.')" 1 "list after remount"
cp --preserve=all f g || fail "cp --preserve=all"
rsync -aX f h || fail "rsync -X"
expect_eq "$(getfattr -d --absolute-names h | grep -c '^user\.')" 1 "rsync -X copies xattrs"

mkfifo fifo
expect_eq "$(stat -c %F fifo)" fifo "mkfifo"
(echo through >fifo &)
expect_eq "$(cat fifo)" through "data through a FIFO"
if [ "$(id -u)" -eq 0 ]; then
	mknod cdev c 1 3
	mknod bdev b 7 0
	expect_eq "$(stat -c '%F %t %T' cdev)" "character special file 1 3" "char device"
	expect_eq "$(stat -c '%F %t %T' bdev)" "block special file 7 0" "block device"
fi
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' sock 2>/dev/null ||
	note "no python3: socket node not tested"
[ ! -e sock ] || expect_eq "$(stat -c %F sock)" socket "socket node"
cd /
remount
cd "$MNT"
expect_eq "$(stat -c %F fifo)" fifo "fifo after remount"
[ "$(id -u)" -ne 0 ] || expect_eq "$(stat -c '%t %T' cdev)" "1 3" "rdev after remount"
echo "t0110: ok"
