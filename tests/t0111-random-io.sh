#!/bin/sh
# A seeded random mix of writes, reads, truncates, reopens and fsyncs on
# one file, compared byte for byte with the same operations on a local file
# (exercises chunk merging and the write-behind chunk).
. "$(dirname "$0")/lib.sh"
need_fuse
mount_fs

run_random() {
	perl -e '
use strict; use warnings; use Fcntl qw(O_RDWR O_CREAT SEEK_SET);
use IO::Handle;
my ($a, $b, $seed, $ops) = @ARGV;
srand($seed);
my ($fa, $fb);
sub reopen {
	close($fa) if $fa; close($fb) if $fb;
	# make the next reads come from the store, not the page cache
	if (open(my $dc, ">", "/proc/sys/vm/drop_caches")) { print $dc "1\n"; close($dc); }
	sysopen($fa, $a, O_RDWR | O_CREAT) or die "open $a: $!";
	sysopen($fb, $b, O_RDWR | O_CREAT) or die "open $b: $!";
}
sub rd { my ($f, $off, $len) = @_; my $buf = "";
	sysseek($f, $off, SEEK_SET) or die "seek: $!";
	my $got = sysread($f, $buf, $len); die "read: $!" unless defined $got;
	return $buf; }
reopen();
for my $i (1 .. $ops) {
	my $r = rand();
	my $max = 400000;
	if ($r < 0.55) {
		my $off = int(rand($max));
		my $len = rand() < 0.7 ? 1 + int(rand(5000)) : 1 + int(rand(150000));
		my $data = join("", map { chr(int(rand(256))) } 1 .. ($len > 64 ? 64 : $len));
		$data = substr($data x (int($len / length($data)) + 1), 0, $len);
		for my $f ($fa, $fb) {
			sysseek($f, $off, SEEK_SET) or die "seek: $!";
			my $w = syswrite($f, $data); die "write $i: $!" unless defined $w && $w == $len;
		}
	} elsif ($r < 0.80) {
		my $off = int(rand($max)); my $len = 1 + int(rand(200000));
		# sometimes read from the store while a chunk is buffered
		if (rand() < 0.2 && open(my $dc, ">", "/proc/sys/vm/drop_caches")) { print $dc "1\n"; close($dc); }
		my ($x, $y) = (rd($fa, $off, $len), rd($fb, $off, $len));
		die "op $i: read at $off+$len differs (" . length($x) . " vs " . length($y) . " bytes)\n" unless $x eq $y;
	} elsif ($r < 0.88) {
		my $size = int(rand($max));
		truncate($fa, $size) or die "truncate: $!"; truncate($fb, $size) or die "truncate: $!";
	} elsif ($r < 0.95) {
		reopen();
	} else {
		$fa->sync or die "fsync: $!";
	}
	my @sa = stat($fa); my @sb = stat($fb);
	die "op $i: size $sa[7] vs $sb[7]\n" unless $sa[7] == $sb[7];
}
close($fa); close($fb);
' "$@"
}

for seed in 1 2 3; do
	run_random "$MNT/r$seed" "$TESTDIR/r$seed" "$seed" 400 ||
		fail "random operations, seed $seed"
	cmp "$MNT/r$seed" "$TESTDIR/r$seed" || fail "final content, seed $seed"
done
remount
for seed in 1 2 3; do
	cmp "$MNT/r$seed" "$TESTDIR/r$seed" || fail "content after remount, seed $seed"
done
# kill the daemon while a file is open with a buffered partial chunk: the
# fsync'ed prefix survives
exec 3>"$MNT/open"
head -c 100000 /dev/urandom >"$TESTDIR/pre"
cat "$TESTDIR/pre" >&3
perl -e 'open(my $f, ">>&=", 3) or die; $f->sync or die "fsync: $!"' ||
	fail "fsync of an open file"
echo "not synced" >&3
kill_fs
exec 3>&-
mount_fs
head -c 100000 "$MNT/open" | cmp - "$TESTDIR/pre" || fail "fsync'ed data after SIGKILL"
echo "t0111: ok"
