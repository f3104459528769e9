#!/bin/sh
# A 64 MiB file written with dd, overwritten in the middle, read back and
# checksummed, before and after a remount; shared writable mmap.
. "$(dirname "$0")/lib.sh"
need_fuse
mount_fs

R=$TESTDIR/ref
F=$MNT/big
dd if=/dev/urandom of="$R" bs=1M count=64 2>/dev/null
dd if="$R" of="$F" bs=1M 2>/dev/null || fail "dd write"
expect_eq "$(stat -c %s "$F")" 67108864 "size"
expect_eq "$(sha256sum <"$F")" "$(sha256sum <"$R")" "checksum after write"

head -c 1048576 /dev/urandom >"$TESTDIR/patch"
for f in "$F" "$R"; do
	dd if="$TESTDIR/patch" of="$f" bs=1M seek=30 conv=notrunc 2>/dev/null
	dd if="$TESTDIR/patch" of="$f" bs=5000 seek=40042000 oflag=seek_bytes count=1 conv=notrunc 2>/dev/null
	printf tail >>"$f"
done
expect_eq "$(sha256sum <"$F")" "$(sha256sum <"$R")" "checksum after overwrite"
# a cold read: drop the kernel's caches when allowed
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || note "cannot drop caches"
cmp "$F" "$R" || fail "content after overwrite"

if command -v python3 >/dev/null; then
	python3 - "$F" <<'PY' || fail "mmap write"
import mmap, sys
with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[5:10] = b"MMAP!"
    m[-4:] = b"TAIL"
    m.flush()
    m.close()
PY
	for f in "$R"; do
		printf 'MMAP!' | dd of="$f" bs=1 seek=5 conv=notrunc 2>/dev/null
		printf 'TAIL' | dd of="$f" bs=1 seek=67108864 conv=notrunc 2>/dev/null
	done
	cmp "$F" "$R" || fail "content after mmap write"
else
	note "python3 not installed: mmap part skipped"
fi

remount
expect_eq "$(sha256sum <"$F")" "$(sha256sum <"$R")" "checksum after remount"
# a 1 GiB sparse file: appending and writing in the middle are cheap
truncate -s 1G "$MNT/huge"
printf 'middle' | dd of="$MNT/huge" bs=1 seek=536870912 conv=notrunc 2>/dev/null
printf 'end' >>"$MNT/huge"
expect_eq "$(stat -c %s "$MNT/huge")" 1073741827 "huge size"
expect_eq "$(tail -c 3 "$MNT/huge")" end "huge tail"
expect_eq "$(dd if="$MNT/huge" bs=1 skip=536870912 count=6 2>/dev/null)" middle "huge middle"
rm "$MNT/huge" "$F"
expect_eq "$(ls "$MNT")" "" "after rm"
echo "t0109: ok"
