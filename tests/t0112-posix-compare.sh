#!/bin/sh
# A seeded random sequence of namespace and file operations runs on a local
# directory and on the mount; every return value, errno, stat field (but
# inode numbers, times, directory sizes and st_blocks), listing and content
# must agree.
. "$(dirname "$0")/lib.sh"
need_fuse
mount_fs

ops() {
	perl -e '
use strict; use warnings; use Fcntl qw(O_RDONLY O_WRONLY O_CREAT O_EXCL SEEK_SET);
use Errno;
my ($root, $seed, $n) = @ARGV;
srand($seed);
chdir($root) or die "chdir $root: $!";
my @names = qw(a b c);
sub path { my $d = 1 + int(rand(3)); join("/", map { $names[int(rand(@names))] } 1 .. $d) }
sub res { my ($ok) = @_; return $ok ? "ok" : "err " . ($!{ENOENT} ? "ENOENT" : ($! + 0) . " $!") }
sub st {
	my ($p) = @_;
	my @s = lstat($p);
	return res(0) unless @s;
	my $type = -l _ ? "l" : -d _ ? "d" : -f _ ? "f" : -p _ ? "p" : "?";
	my $size = $type eq "d" ? "-" : $s[7];
	return sprintf("%s mode=%o nlink=%d size=%s", $type, $s[2] & 07777, $s[3], $size);
}
for my $i (1 .. $n) {
	my $op = int(rand(14));
	my ($p, $q) = (path(), path());
	my $out;
	if ($op == 0) { $out = "mkdir $p " . res(mkdir($p, 0755)); }
	elsif ($op == 1) { $out = "rmdir $p " . res(rmdir($p)); }
	elsif ($op == 2) { my $fh; $out = "create $p " . res(sysopen($fh, $p, O_WRONLY|O_CREAT|O_EXCL, 0644)); close($fh) if $fh; }
	elsif ($op == 3) { $out = "unlink $p " . res(unlink($p)); }
	elsif ($op == 4 || $op == 5) { $out = "rename $p $q " . res(rename($p, $q)); }
	elsif ($op == 6) { $out = "link $p $q " . res(link($p, $q)); }
	elsif ($op == 7) { $out = "symlink $q $p " . res(symlink($q, $p)); }
	elsif ($op == 8) { my $s = int(rand(100000)); $out = "truncate $p $s " . res(truncate($p, $s)); }
	elsif ($op == 9) {
		my $fh; my $off = int(rand(80000)); my $len = 1 + int(rand(70000));
		if (sysopen($fh, $p, O_WRONLY)) {
			sysseek($fh, $off, SEEK_SET);
			my $w = syswrite($fh, chr(65 + $i % 26) x $len);
			$out = "write $p $off $len " . (defined $w ? "ok $w" : res(0));
			close($fh);
		} else { $out = "write $p " . res(0); }
	}
	elsif ($op == 10) {
		my $fh;
		if (sysopen($fh, $p, O_RDONLY)) {
			my $buf = ""; my $all = "";
			while (1) { my $r = sysread($fh, $buf, 65536); last unless $r; $all .= $buf; }
			$out = "read $p ok " . length($all) . " " . unpack("%32C*", $all);
			close($fh);
		} else { $out = "read $p " . res(0); }
	}
	elsif ($op == 11) { my $m = int(rand(01000)); $out = sprintf("chmod %s %o ", $p, $m) . res(chmod($m | 0700, $p)); }
	elsif ($op == 12) {
		my $d = rand() < 0.3 ? "." : $p;
		if (opendir(my $dh, $d)) { $out = "readdir $d " . join(",", sort grep { !/^\.\.?$/ } readdir($dh)); closedir($dh); }
		else { $out = "readdir $d " . res(0); }
	}
	else { my $t = readlink($p); $out = "readlink $p " . (defined $t ? "ok $t" : res(0)); }
	print "$i $out\n";
	print "  $p: " . st($p) . "\n";
	print "  $q: " . st($q) . "\n";
}
' "$@"
}

for seed in 11 12 13; do
	mkdir "$TESTDIR/local$seed" "$MNT/t$seed"
	ops "$TESTDIR/local$seed" "$seed" 600 >"$TESTDIR/want$seed" || fail "ops on the local fs"
	ops "$MNT/t$seed" "$seed" 600 >"$TESTDIR/got$seed" || fail "ops on the mount"
	if ! diff -u "$TESTDIR/want$seed" "$TESTDIR/got$seed" >"$TESTDIR/diff"; then
		head -40 "$TESTDIR/diff" >&2
		fail "seed $seed: the mount differs from the local file system"
	fi
done
remount
for seed in 11 12 13; do
	(cd "$TESTDIR/local$seed" && find . -printf '%p %y %m %n\n' | sort) >"$TESTDIR/a"
	(cd "$MNT/t$seed" && find . -printf '%p %y %m %n\n' | sort) >"$TESTDIR/b"
	diff -u "$TESTDIR/a" "$TESTDIR/b" >&2 || fail "seed $seed: tree after remount"
done
echo "t0112: ok"
