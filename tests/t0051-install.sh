#!/bin/sh
# `make install DESTDIR=...` from the build tree installs the programs, the
# mount helper, the library, lsm.h, lsm.pc and the man pages where configure
# said; the installed programs run; a program built with
# `pkg-config --cflags --libs lsm` against the installed library runs;
# mount.lsmfs mounts a store, also as `mount -t lsmfs` and from an fstab
# line (in a private mount namespace, with the helper in a private /sbin);
# `make uninstall` leaves no file behind.
. "$(dirname "$0")/lib.sh"

SRC=${top_srcdir:-$(dirname "$0")/..}
case $SRC in /*) ;; *) SRC=$PWD/$SRC ;; esac
BUILD=$top_builddir
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
[ -f "$BUILD/Makefile" ] ||
	fail "no Makefile in '$BUILD': run from 'make check' or set top_builddir"
# Sub-makes of our own: not part of the make that runs this test (no
# jobserver, no inherited flags or variables).
mk() {
	MAKEFLAGS='' MFLAGS='' MAKELEVEL='' ${MAKE:-make} "$@"
}
DEST=$TESTDIR/dest

# The install directories, compiler and flags, as the Makefile has them.
cat >"$TESTDIR/vars.mk" <<'EOF'
lsmfs-test-vars:
	@echo "bindir='$(bindir)'"
	@echo "sbindir='$(sbindir)'"
	@echo "libdir='$(libdir)'"
	@echo "includedir='$(includedir)'"
	@echo "pkgconfigdir='$(pkgconfigdir)'"
	@echo "mandir='$(mandir)'"
	@echo "CC='$(CC)'"
	@echo "CFLAGS='$(CFLAGS)'"
	@echo "LDFLAGS='$(LDFLAGS)'"
EOF
vars=$(mk -s --no-print-directory -C "$BUILD" -f Makefile \
	-f "$TESTDIR/vars.mk" lsmfs-test-vars) || fail "cannot read the Makefile's variables"
eval "$(printf '%s\n' "$vars" | grep -E "^[A-Za-z]+='[^']*'\$")"
if [ -z "${bindir:-}" ] || [ -z "${libdir:-}" ]; then
	fail "cannot read the Makefile's variables: $vars"
fi
note "bindir=$bindir libdir=$libdir mandir=$mandir CC=$CC"

# --- install ----------------------------------------------------------------
mk -C "$BUILD" install DESTDIR="$DEST" >"$TESTDIR/install.log" 2>&1 || {
	tail -n 30 "$TESTDIR/install.log" >&2
	fail "make install DESTDIR=$DEST failed"
}
B=$DEST$bindir
S=$DEST$sbindir
L=$DEST$libdir
for f in "$B/lsmfs" "$B/lsm" "$S/mount.lsmfs"; do
	if [ ! -f "$f" ] || [ ! -x "$f" ]; then
		fail "not installed (or not executable): $f"
	fi
done
for f in "$L/liblsm.so" "$DEST$includedir/lsm.h" "$DEST$pkgconfigdir/lsm.pc" \
	"$DEST$mandir/man1/lsmfs.1" "$DEST$mandir/man1/lsm.1" \
	"$DEST$mandir/man3/lsm.3" "$DEST$mandir/man5/lsmfs.5" \
	"$DEST$mandir/man8/mount.lsmfs.8"; do
	[ -f "$f" ] || fail "not installed: $f"
done
cmp "$DEST$includedir/lsm.h" "$SRC/engine/lsm.h" || fail "installed lsm.h differs"
for p in lsmfs.1 lsm.1 lsm.3 lsmfs.5 mount.lsmfs.8; do
	cmp "$DEST$mandir/man${p##*.}/$p" "$SRC/man/$p" || fail "installed $p differs"
done
if command -v man >/dev/null; then
	for p in "$DEST$mandir"/man?/*; do
		out=$(MANWIDTH=80 man -l "$p" 2>&1 >/dev/null) || fail "man -l $p failed"
		[ -z "$out" ] || fail "man -l $p: $out"
	done
fi
# the shared library exports the API of lsm.h and nothing else
if command -v nm >/dev/null; then
	extra=$(nm -D --defined-only "$L/liblsm.so" |
		awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^lsm_/ { print $3 }')
	[ -z "$extra" ] || fail "liblsm.so exports non-API symbols: $extra"
fi

"$B/lsm" --version >/dev/null || fail "installed lsm --version"
"$B/lsmfs" --version >/dev/null || fail "installed lsmfs --version"
"$S/mount.lsmfs" --help >/dev/null || fail "installed mount.lsmfs --help"
"$B/lsm" put "$TESTDIR/tool-store" a/b "installed" || fail "installed lsm put"
expect_eq "$("$B/lsm" get "$TESTDIR/tool-store" a/b)" installed "installed lsm get"

# --- a program built with pkg-config against the installed library --------------
# PKG_CONFIG_SYSROOT_DIR points -I and -L into DESTDIR.
command -v pkg-config >/dev/null || fail "pkg-config not found"
pc=$(PKG_CONFIG_PATH=$DEST$pkgconfigdir PKG_CONFIG_SYSROOT_DIR=$DEST \
	pkg-config --cflags --libs lsm) || fail "pkg-config --cflags --libs lsm failed"
note "pkg-config: $pc"
# shellcheck disable=SC2086 # flag lists
$CC -std=c99 -Wall -Wextra -Werror $CFLAGS "$SRC/tests/example.c" $pc \
	$LDFLAGS -Wl,-rpath,"$L" -o "$TESTDIR/example" ||
	fail "cannot build tests/example.c against the installed library"
if command -v ldd >/dev/null; then
	ldd "$TESTDIR/example" | grep -q "$L/liblsm.so" ||
		fail "example does not use the installed liblsm: $(ldd "$TESTDIR/example")"
fi
want='apple: red
banana: not found
apple = red
cherry = dark red'
for run in first again; do
	out=$("$TESTDIR/example" "$TESTDIR/example-store") ||
		fail "example failed ($run run): $out"
	expect_eq "$out" "$want" "example output, $run run"
done

# --- mount.lsmfs -----------------------------------------------------------------
# Waits (10 s at most) until no process holds the store in $DATA.
wait_unlocked() {
	for _ in $(seq 100); do
		if command -v flock >/dev/null; then
			flock -n "$DATA/LOCK" true 2>/dev/null && return 0
		elif "$B/lsm" stats "$DATA" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	fail "the store in $DATA is still locked 10 s after unmounting"
}

if [ ! -e /dev/fuse ]; then
	note "/dev/fuse is absent: not testing mount.lsmfs"
else
	# options mount(8) passes to helpers, which lsmfs itself refuses
	"$S/mount.lsmfs" "$DATA" "$MNT" \
		-o rw,noexec,nosuid,nodev,defaults,noauto,user,_netdev,nofail,sync=always ||
		fail "mount.lsmfs DATADIR MNT -o ... failed"
	is_mounted || fail "mount.lsmfs returned but nothing is mounted"
	line=$(grep " $MNT " /proc/mounts)
	case $line in
	"$DATA $MNT fuse.lsmfs "*noexec*) ;;
	*) fail "mount.lsmfs mount is '$line', want source $DATA, type fuse.lsmfs, noexec" ;;
	esac
	echo helper >"$MNT/by-helper" || fail "write through mount.lsmfs mount"
	fusermount3 -u "$MNT" || fail "fusermount3 -u"
	wait_unlocked
	expect_eq "$("$B/lsm" get "$DATA" by-helper)" helper "file written through mount.lsmfs"
	note "mount.lsmfs works"

	if ! unshare -m true 2>/dev/null; then
		note "cannot unshare the mount namespace (not root?): not testing mount -t lsmfs"
	else
		# In a private mount namespace: a tmpfs over /sbin holding only
		# our helper, then mount -t lsmfs and mount -T FSTAB.
		cat >"$TESTDIR/ns.sh" <<'EOF'
set -eux
wait_unlocked() {
	i=0
	while ! flock -n "$DATA/LOCK" true; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { echo "store still locked" >&2; exit 1; }
		sleep 0.1
	done
}
trap 'umount -l "$MNT" 2>/dev/null || true' EXIT
mount -t tmpfs lsmfs-test-sbin /sbin
ln -s "$HELPER" /sbin/mount.lsmfs
mount -t lsmfs -o sync=always "$DATA" "$MNT"
grep " $MNT fuse.lsmfs " /proc/mounts
echo typed >"$MNT/by-type"
umount "$MNT"
wait_unlocked
printf '%s %s lsmfs defaults,noauto,nofail,_netdev,write_buffer_size=1M 0 0\n' \
	"$DATA" "$MNT" >"$FSTAB"
mount -T "$FSTAB" "$MNT"
grep "^$DATA $MNT fuse.lsmfs " /proc/mounts
test "$(cat "$MNT/by-type")" = typed
test "$(cat "$MNT/by-helper")" = helper
echo fstab >"$MNT/by-fstab"
umount "$MNT"
wait_unlocked
echo ns-ok
EOF
		st=0
		out=$(HELPER=$S/mount.lsmfs DATA=$DATA MNT=$MNT FSTAB=$TESTDIR/fstab \
			unshare -m sh "$TESTDIR/ns.sh" 2>&1 </dev/null) || st=$?
		case $st:$out in
		0:*ns-ok*) ;;
		*)
			printf '%s\n' "$out" >&2
			fail "mount -t lsmfs and an fstab line (private namespace) failed"
			;;
		esac
		expect_eq "$("$B/lsm" get "$DATA" by-fstab)" fstab \
			"file written through the fstab mount"
		note "mount -t lsmfs and an fstab line work"
	fi
fi

# --- uninstall ---------------------------------------------------------------------
mk -C "$BUILD" uninstall DESTDIR="$DEST" >"$TESTDIR/uninstall.log" 2>&1 || {
	tail -n 30 "$TESTDIR/uninstall.log" >&2
	fail "make uninstall DESTDIR=$DEST failed"
}
left=$(find "$DEST" ! -type d)
[ -z "$left" ] || fail "make uninstall left files behind: $left"
echo "t0051: ok"
