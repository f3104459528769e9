#!/bin/sh
# chmod/chown/utimens persist across remounts with nanoseconds; new files
# belong to the caller; with allow_other,default_permissions another user
# gets exactly what the modes allow.
. "$(dirname "$0")/lib.sh"
need_fuse
# chown and a second user need root; without it those parts are left out
# (and said so), the rest still runs
if [ "$(id -u)" -eq 0 ]; then
	ROOT=1
	MOPTS=allow_other,default_permissions
else
	ROOT=
	MOPTS=default_permissions
	note "not root: chown and other-user checks skipped"
fi
mount_fs -o "$MOPTS"
chmod 711 "$TESTDIR"
chmod 755 "$MNT"
cd "$MNT"

echo x >f
chmod 640 f
expect_eq "$(stat -c %a f)" 640 "chmod"
chmod 4755 f
expect_eq "$(stat -c %a f)" 4755 "chmod setuid"
if [ -n "$ROOT" ]; then
	chown 1234:5678 f
	expect_eq "$(stat -c '%u %g' f)" "1234 5678" "chown"
	chown :42 f
	expect_eq "$(stat -c '%u %g' f)" "1234 42" "chgrp keeps the owner"
fi
touch -d '2001-02-03 04:05:06.123456789' f
expect_eq "$(stat -c %y f)" "2001-02-03 04:05:06.123456789 +0000" "mtime with ns"
touch -a -d '1999-12-31 23:59:59.5' f
expect_eq "$(stat -c %x f)" "1999-12-31 23:59:59.500000000 +0000" "atime"
touch -m -d '2100-01-01 00:00:00' f
expect_eq "$(stat -c %Y f)" 4102444800 "mtime beyond 2038"
mkdir d
chmod 1777 d
ln -s f sl
before=$(stat -c '%n %a %u %g %X %Y' f d)
ctime1=$(stat -c %Z f)
sleep 1
chmod 600 f
[ "$(stat -c %Z f)" -gt "$ctime1" ] || fail "chmod did not update ctime"
chmod 4755 f
touch -m -d '2100-01-01 00:00:00' f
before=$(stat -c '%n %a %u %g %X %Y' f d)
cd /
remount -o "$MOPTS"
cd "$MNT"
expect_eq "$(stat -c '%n %a %u %g %X %Y' f d)" "$before" "attributes after remount"

# writes update mtime and ctime
m0=$(stat -c %Y f)
echo more >>f
[ "$(stat -c %Y f)" -lt "$m0" ] || fail "write did not update mtime"

if [ -z "$ROOT" ]; then
	echo "t0104: ok (without root-only parts)"
	exit 0
fi

# another user: ownership of new files and permission checks
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
as_nobody sh -c "echo mine >'$MNT/d/nobody-file'" || fail "nobody creates in a 1777 dir"
expect_eq "$(stat -c '%u %g' d/nobody-file)" "65534 65534" "owner of a new file"
as_nobody mkdir "$MNT/d/nobody-dir" || fail "nobody mkdir"
expect_eq "$(stat -c '%u %g' d/nobody-dir)" "65534 65534" "owner of a new directory"
echo secret >private
chmod 600 private
expect_errno "Permission denied" as_nobody cat "$MNT/private"
chmod 644 private
expect_eq "$(as_nobody cat "$MNT/private")" secret "read allowed by mode"
expect_errno "Permission denied" as_nobody sh -c "echo x >>'$MNT/private'"
expect_errno "Permission denied" as_nobody touch "$MNT/newfile"
# sticky directory: nobody cannot remove root's file in it
echo r >d/rootfile
expect_errno "Operation not permitted" as_nobody rm -f "$MNT/d/rootfile"
as_nobody rm "$MNT/d/nobody-file" || fail "nobody removes own file"
expect_errno "Operation not permitted" as_nobody chmod 777 "$MNT/private"

# a write by another user clears set-user-ID and set-group-ID
echo s >suid
chmod 6777 suid
as_nobody sh -c "echo more >>'$MNT/suid'" || fail "nobody appends to a 6777 file"
expect_eq "$(stat -c %a suid)" 777 "write by another user clears setuid/setgid"
# chown by root keeps, by the owner clears the set-user-ID bit
chown 65534:65534 suid
chmod 4755 suid
as_nobody chgrp 65534 "$MNT/suid" || fail "owner chgrp"
expect_eq "$(stat -c %a suid)" 755 "chown by the owner clears setuid"

# set-group-ID directory: new entries take its group
mkdir sg
chown :4321 sg
chmod 2775 sg
: >sg/f
mkdir sg/sub
expect_eq "$(stat -c %g sg/f)" 4321 "group from a setgid directory"
expect_eq "$(stat -c %g sg/sub)" 4321 "subdir group from a setgid directory"
expect_eq "$(stat -c %a sg/sub)" 2755 "setgid bit inherited by a subdirectory"
echo "t0104: ok"
