#!/bin/sh
# The key space is the file tree: what the mount shows equals what
# 'lsm get/scan' show, and keys written with 'lsm put' appear as files.
. "$(dirname "$0")/lib.sh"
need_fuse
need_lsm

mount_fs
cd "$MNT"
echo hello >user:123
mkdir -p a/b dir/empty
printf 'no newline' >a/b/c
head -c 200000 /dev/urandom >a/big
: >a/empty-file
printf x >a.b
printf y >a-c
ln -s a/b/c symlink
ln a/b/c a/hardlink
truncate -s 100000 sparse
printf end | dd of=sparse bs=1 seek=99997 conv=notrunc 2>/dev/null
cd /

mount_listing() {
	(cd "$MNT" && find . -path ./.lsm -prune -o -type f -printf '%P\t%s\n' | sort)
}
want=$(mount_listing)
unmount_fs

# the store is locked while mounted; now it is free
expect_eq "$("$LSM" scan "$DATA")" "$want" "lsm scan = find -type f"
expect_eq "$("$LSM" scan "$DATA" a/)" "$(echo "$want" | grep '^a/')" "lsm scan a/"
expect_eq "$("$LSM" scan "$DATA" a)" "$(echo "$want" | grep '^a')" "lsm scan a"
expect_eq "$("$LSM" scan "$DATA" nothing/)" "" "lsm scan of a missing prefix"

mount_fs
for k in user:123 a/b/c a/big a/empty-file a.b a/hardlink sparse; do
	cp "$MNT/$k" "$TESTDIR/want"
	unmount_fs
	"$LSM" get "$DATA" "$k" >"$TESTDIR/got" || fail "lsm get $k"
	cmp "$TESTDIR/got" "$TESTDIR/want" || fail "lsm get $k differs from cat"
	mount_fs
done
unmount_fs

# keys written by lsm appear as files; parents are implied
"$LSM" put "$DATA" user:123 replaced || fail "lsm put existing"
"$LSM" put "$DATA" new/deep/key value || fail "lsm put new"
"$LSM" put "$DATA" a/b/c "via hard link" || fail "lsm put hard-linked"
"$LSM" del "$DATA" a.b || fail "lsm del"
for k in /abs a//b a/./b ../x .lsm/x a/ ""; do
	if "$LSM" put "$DATA" "$k" v 2>"$TESTDIR/err"; then
		fail "lsm put accepted key '$k'"
	fi
	[ -s "$TESTDIR/err" ] || fail "no message for bad key '$k'"
done
mount_fs
expect_eq "$(cat "$MNT/user:123")" replaced "lsm put over a file"
expect_eq "$(cat "$MNT/new/deep/key")" value "lsm put of a new key"
[ -d "$MNT/new/deep" ] || fail "implied directory missing"
expect_eq "$(cat "$MNT/a/hardlink")" "via hard link" "hard link after lsm put"
expect_eq "$(stat -c %h "$MNT/a/hardlink")" 2 "link count after lsm put"
[ ! -e "$MNT/a.b" ] || fail "lsm del did not remove the file"
expect_eq "$(readlink "$MNT/symlink")" a/b/c "symlink untouched"
want=$(mount_listing)
"$LSM" scan "$DATA" >/dev/null 2>&1 && fail "lsm opened a mounted store"
unmount_fs
expect_eq "$("$LSM" scan "$DATA")" "$want" "lsm scan after lsm writes"
echo "t0108: ok"
