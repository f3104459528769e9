#!/bin/sh
# Reads and writes at any offset, append, truncate/ftruncate, holes,
# st_size/st_blocks, fallocate; every step mirrored on a local reference file.
. "$(dirname "$0")/lib.sh"
need_fuse
mount_fs

F=$MNT/f
R=$TESTDIR/ref
same() {
	cmp "$F" "$R" || fail "content differs after $1"
	expect_eq "$(stat -c %s "$F")" "$(stat -c %s "$R")" "size after $1"
}
both() {
	# both CMD-with-@F@: runs the command on the mount and the reference
	what=$1
	shift
	sh -c "$(echo "$*" | sed "s|@F@|$F|g")" || fail "$what on mount"
	sh -c "$(echo "$*" | sed "s|@F@|$R|g")" || fail "$what on reference"
	same "$what"
}

both create 'printf "hello world" >@F@'
both "write at offset" 'printf XYZ | dd of=@F@ bs=1 seek=3 conv=notrunc 2>/dev/null'
both "write past EOF" 'printf tail | dd of=@F@ bs=1 seek=100 conv=notrunc 2>/dev/null'
both append 'echo appended >>@F@'
both "truncate down" 'truncate -s 5 @F@'
both "truncate up" 'truncate -s 70000 @F@'
head -c 100000 /dev/urandom >"$TESTDIR/rnd"
both "write across a chunk boundary" 'dd if=$TESTDIR/rnd of=@F@ bs=1000 seek=60 conv=notrunc 2>/dev/null'
both ftruncate 'perl -e "open(F, \"+<\", \$ARGV[0]) or die; truncate(F, 65536) or die \"\$!\"" @F@'
both "truncate to zero" ': >@F@'
both "O_APPEND writes" 'for i in 1 2 3; do echo line$i >>@F@; done'

# holes are not stored and read as zeros
truncate -s 1G "$MNT/sparse"
expect_eq "$(stat -c %s "$MNT/sparse")" 1073741824 "sparse size"
expect_eq "$(stat -c %b "$MNT/sparse")" 0 "sparse st_blocks"
expect_eq "$(du -k "$MNT/sparse" | cut -f1)" 0 "du of sparse file"
printf x | dd of="$MNT/sparse" bs=1 seek=536870912 conv=notrunc 2>/dev/null
expect_eq "$(dd if="$MNT/sparse" bs=1 skip=536870910 count=4 2>/dev/null | od -An -c | tr -s ' ')" ' \0 \0 x \0' "sparse read"
blocks=$(stat -c %b "$MNT/sparse")
[ "$blocks" -ge 1 ] && [ "$blocks" -le 256 ] || fail "st_blocks after one sparse write: $blocks"
head -c 200000 /dev/zero | tr '\0' 'a' >"$MNT/dense"
blocks=$(stat -c %b "$MNT/dense")
[ "$blocks" -ge 390 ] && [ "$blocks" -le 400 ] || fail "st_blocks of a 200000-byte file: $blocks"

# fallocate: allocation mode works, punching holes is not supported
fallocate -l 1000000 "$MNT/falloc" || fail "fallocate"
expect_eq "$(stat -c %s "$MNT/falloc")" 1000000 "fallocate size"
fallocate -n -l 2000000 "$MNT/falloc" || fail "fallocate keep-size"
expect_eq "$(stat -c %s "$MNT/falloc")" 1000000 "fallocate keep-size size"
expect_errno "supported" fallocate -p -o 0 -l 4096 "$MNT/falloc"

# a directory is not a file
expect_errno "Is a directory" sh -c "echo x >'$MNT'"

remount
same remount
expect_eq "$(stat -c %s "$MNT/sparse")" 1073741824 "sparse size after remount"
echo "t0101: ok"
